"""Write the JSON Schema of results.json: `python -m ilizarov.schema [FOLDER]` (default:
the checkout's schemas/). The shipped copy is checked against a fresh one in the tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ilizarov.results import results_json_schema

RESULTS_SCHEMA_FILE = "results.schema.json"


def schema_text() -> str:
    """The schema as the shipped file holds it (sorted keys, 2-space indent, final newline)."""
    return json.dumps(results_json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "schemas"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RESULTS_SCHEMA_FILE
    path.write_text(schema_text())
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
