"""docs/hexapod.md as typed (issue 16): its commands run and write what the page says, and
its TOML examples are the shipped scenarios' values, so the page cannot rot.

The commands are the `.venv/bin/ilizarov` lines of the page's fenced code blocks, run in
the page's order with bash in a fresh environment, in a temporary directory holding links
to this checkout's `scenarios/` and `.venv` (the commands write into its `out/`).
"""

import json
import os
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "hexapod.md"


def fenced_blocks(language: str = "") -> list[str]:
    """The page's fenced code blocks opened with ```<language>."""
    blocks, current = [], None
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is None:
                current = [] if line[3:].strip() == language else False
            else:
                if current is not False:
                    blocks.append("\n".join(current))
                current = None
            continue
        if isinstance(current, list):
            current.append(line)
    return blocks


def page_commands() -> list[str]:
    return [line.strip() for block in fenced_blocks() for line in block.splitlines()
            if line.strip().startswith(".venv/bin/ilizarov ")]


def test_the_page_lists_the_commands_this_test_expects():
    cmds = page_commands()
    for must in ("validate scenarios/hexapod-correction.toml", "hexapod scenarios/hexapod-correction.toml",
                 "hexapod scenarios/hexapod-residual.toml", "hexapod scenarios/hexapod-four-ring.toml",
                 "run scenarios/hexapod-correction.toml"):
        assert any(must in c for c in cmds), must


@pytest.mark.slow
def test_the_page_commands_run_as_typed(tmp_path):
    if not (ROOT / ".venv" / "bin" / "ilizarov").exists():
        pytest.skip("no .venv here (make venv)")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
           "TMPDIR": os.environ.get("TMPDIR", "/tmp")}
    ran = []
    for cmd in page_commands():
        t0 = time.perf_counter()
        r = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"`{cmd}` exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        assert "Traceback" not in r.stderr, r.stderr
        ran.append((cmd, round(time.perf_counter() - t0, 1)))
    out = tmp_path / "out"
    for name in ("prescription.html", "prescription.pdf", "prescription.csv", "schedule.csv", "stiffness.csv",
                 "hexapod.json", "struts.png", "stiffness.png", "frames.png"):
        assert (out / "hexapod-correction" / name).is_file(), name
    shipped = json.loads((out / "hexapod-correction" / "hexapod.json").read_text())
    assert shipped["days"] == 13 and [s["swap"] for s in shipped["swaps"]] == ["strut 3: short -> medium"]
    assert max(shipped["neutral_strut_length_mm"]) == pytest.approx(166.4, abs=0.05)  # the page's closed form
    residual = json.loads((out / "hexapod-residual" / "hexapod.json").read_text())
    assert residual["plan"] == "residual" and residual["strut_lengths_in_place_mm"] == [166.4] * 6
    four = json.loads((out / "hexapod-four-ring" / "hexapod.json").read_text())
    assert [lv["struts"] for lv in four["fixed_levels"]] == [list(range(7, 13)), list(range(13, 19))]
    assert (out / "hx-static" / "results.json").is_file()
    print("\n".join(f"{t:7.1f} s  {c}" for c, t in ran))


def test_the_page_toml_is_the_shipped_scenario():
    """The deformity and mounting tables on the page are the shipped correction's; the
    further levels are the four-ring scenario's."""
    shipped = load_scenario(ROOT / "scenarios" / "hexapod-correction.toml").hexapod
    four = load_scenario(ROOT / "scenarios" / "hexapod-four-ring.toml").hexapod
    checked = set()
    for block in fenced_blocks("toml"):
        if "..." in block:
            continue
        data = tomllib.loads(block).get("hexapod", {})
        for table, obj in (("deformity", shipped.deformity), ("mounting", shipped.mounting)):
            for key, value in data.get(table, {}).items():
                assert getattr(obj, key) == value, (table, key, value)
                checked.add(table)
        for key in ("side", "reference_ring", "moving_ring", "reference_fragment", "max_rate_mm_per_day"):
            if key in data:
                assert getattr(shipped, key) == data[key], key
                checked.add(key)
        if "structure_at_risk_mm" in data:
            assert list(shipped.structure_at_risk_mm) == data["structure_at_risk_mm"]
        if "fixed_levels" in data:
            assert [list(lv["rings"]) for lv in data["fixed_levels"]] == [list(lv.rings) for lv in four.fixed_levels]
            checked.add("fixed_levels")
    assert {"deformity", "mounting", "side", "fixed_levels"} <= checked, checked
