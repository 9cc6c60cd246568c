"""The files shipped with the tool: scenarios, the validation suite's test files, Slurm
scripts, the examples (jupytext scripts) and the JSON Schemas.

In a source checkout they live in the top-level folders `scenarios/`, `validation/` and
`hpc/`, `examples/`, `schemas/`. A wheel (`pip install .`, `pip wheel .`) carries the same files inside the `sim`
package, as `sim/_shipped/<folder>/` (pyproject.toml maps each folder there with
`package-dir`), so an installed tool finds them without a checkout and whatever the
current directory is.

    shipped_dir("validation")   -> the folder of the validation files
    shipped_files("scenarios")  -> every shipped scenario, as paths relative to that folder

Lookup order: the package's own copy (an installed wheel), then the checkout's folder
beside the package (an editable install, or PYTHONPATH pointing at a checkout; only if a
pyproject.toml is there too, so that a folder `validation/` of another distribution in
site-packages is never taken for ours). Neither
there: ShippedFilesMissing, naming both places. An installation from a zip file (a
zipped egg, zipimport) is not supported: the files must be on the file system.
"""

from __future__ import annotations

from pathlib import Path

KINDS = ("scenarios", "validation", "hpc", "examples", "schemas")
PACKAGE_DIR = Path(__file__).resolve().parent
PATTERNS = {"scenarios": ("*.toml", "sweeps/*.toml", "teaching/*.toml", "bones/*.stl"), "validation": ("*.toml",),
            "hpc": ("README.md", "*.sh", "*.sbatch"), "examples": ("*.py",), "schemas": ("*.json",)}


class ShippedFilesMissing(FileNotFoundError):
    """The shipped files of a kind are neither in the installed package nor in a checkout."""


def _places(kind: str) -> tuple[Path, Path]:
    if kind not in KINDS:
        raise ValueError(f"shipped file kind {kind!r}; accepted: {', '.join(KINDS)}")
    return PACKAGE_DIR / "_shipped" / kind, PACKAGE_DIR.parent / kind


def shipped_dir(kind: str) -> Path:
    """The folder of the shipped `kind` ("scenarios", "validation" or "hpc"): the installed
    package's copy, else the source checkout's top-level folder. ValueError for another
    kind; ShippedFilesMissing if neither exists (a wheel built without its data)."""
    packaged, checkout = _places(kind)
    if packaged.is_dir():
        return packaged
    # a checkout only: beside an installed package, a folder of that name is someone else's
    if checkout.is_dir() and (checkout.parent / "pyproject.toml").is_file():
        return checkout
    raise ShippedFilesMissing(f"the shipped {kind} are missing: neither {packaged} (an installed wheel) nor {checkout} "
                              "(a source checkout, beside its pyproject.toml) exists; reinstall ilizarov (pip install ilizarov or a wheel built "
                              "with `pip wheel .` from a checkout)")


def shipped_files(kind: str) -> list[Path]:
    """The shipped files of `kind`, relative to shipped_dir(kind), sorted; in a checkout
    only those a wheel would carry (PATTERNS, the same globs as pyproject.toml)."""
    root = shipped_dir(kind)
    found = {p.relative_to(root) for pattern in PATTERNS[kind] for p in root.glob(pattern) if p.is_file()}
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def describe(path: Path) -> str:
    """One line saying what a shipped file is: a scenario's or sweep's `description`, a
    validation file's `[source] title`, an example's (jupytext) title, else its first comment
    or heading line; '' if none."""
    if path.suffix == ".json":  # a JSON Schema: its title
        import json

        try:
            title = json.loads(path.read_text(encoding="utf-8")).get("title", "")
        except (OSError, ValueError, AttributeError):
            title = ""
        return title if isinstance(title, str) else ""
    if path.suffix == ".stl":  # a bone surface (sim.bones): binary, no text to show
        return "bone surface (STL), read by a scenario's [bone] surface"
    if path.suffix == ".py":  # a jupytext example: its first markdown heading "# # Title"
        try:
            title = next((ln[4:].strip() for ln in path.read_text(encoding="utf-8").splitlines()
                          if ln.startswith("# # ")), "")
        except OSError:
            title = ""
        return title
    if path.suffix == ".toml":
        import tomllib

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        source = data.get("source")
        for text in (data.get("description"), source.get("title") if isinstance(source, dict) else None):
            if isinstance(text, str) and text.strip():
                return text.strip()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    for line in lines:
        line = line.strip()
        if line.startswith(("#!", "#:")) or not line:  # a shebang, an editor directive (#:schema)
            continue
        if not line.startswith("#"):
            return ""
        text = line.lstrip("#").strip()
        if text:
            return text
    return ""
