"""The README's commands work exactly as typed (issue 14).

The commands are read from README.md's indented code blocks (those starting with
`.venv/bin/` or `make `) and run in the README's order, each with bash in a fresh
environment (PATH without the virtual environment), in a temporary copy of the project
with this checkout's `.venv` linked in. What is not run, and why, is listed in NOT_RUN;
the synopsis lines with placeholders (SCENARIO.toml, DIR, [options]) are not commands.
The shipped treatments are shortened in the copy (2 mm instead of 40 mm, a few days of
consolidation): the commands are the same; the treatments themselves are tested in
test_timeline.py. `make teaching` must write into out/ only, never into docs/.
"""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

NOT_RUN = {
    "make test": "the test-suite itself",
    "make timeline": "the same `ilizarov timeline` as the bone-transport line, on a longer treatment",
    ".venv/bin/ilizarov run scenarios/standard-4ring.toml --out out/std-solid --model continuum":
        "minutes; the small continuum line below it shows the same command on a small frame",
    ".venv/bin/mpirun -n 2 .venv/bin/ilizarov run scenarios/standard-4ring.toml --out out/std-solid --model continuum":
        "minutes; the small continuum line below it shows the same command on a small frame",
    ".venv/bin/ilizarov validation-suite --out out/validation":
        "a minute and more; tests/test_validation_suite.py runs this very command on a subset of the files",
    ".venv/bin/ilizarov run tests/data/continuum-small.toml --out out/continuum-small --model continuum":
        "80 s; test_continuum_run.py runs this very command (its small_run fixture)",
}
SHORTEN = {"lengthening_mm = 40": "lengthening_mm = 2", "consolidation_max_days = 300": "consolidation_max_days = 3",
           "latency_days = 7": "latency_days = 1"}
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]+\b|\[|\||\.\.\.")


def readme_commands() -> list[str]:
    """The shell commands of README.md, in order (not the demo's printed output)."""
    cmds, fenced = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or not line.startswith("    "):
            continue
        cmd = line.split("#")[0].strip()
        if cmd.startswith((".venv/bin/", "make ")):
            cmds.append(cmd)
    return cmds


def _fresh_env() -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
            "TMPDIR": os.environ.get("TMPDIR", "/tmp")}


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    """The project's files (tracked and new, not ignored) with mtimes kept, and .venv linked."""
    if not (ROOT / ".venv" / "bin" / "ilizarov").exists():
        pytest.skip("no .venv here (make venv)")
    dest = tmp_path_factory.mktemp("clone") / "ilizarov"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file() and not rel.startswith(("out/", ".venv/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    # The copy's make must not reinstall: .venv is this checkout's own, and `pip install -e`
    # from the copy (make does it when pyproject.toml is newer than .venv/.installed) would
    # point this checkout's environment at the copy, deleted after the tests.
    installed = (ROOT / ".venv" / ".installed").stat().st_mtime
    os.utime(dest / "pyproject.toml", (installed - 1.0, installed - 1.0))
    for name in ("distraction-4cm.toml", "bone-transport.toml"):
        f = dest / "scenarios" / name
        text = f.read_text()
        for old, new in SHORTEN.items():
            assert f"\n{old}\n" in text, (name, old)
            text = text.replace(f"\n{old}\n", f"\n{new}\n")
        f.write_text(text)
    return dest


def test_readme_lists_the_commands_this_test_expects():
    cmds = readme_commands()
    for must in ("make demo", ".venv/bin/ilizarov validate scenarios/standard-4ring.toml",
                 ".venv/bin/ilizarov compare out/standard-4ring out/two-ring --out out/compare"):
        assert must in cmds, must
    assert any(c.startswith(".venv/bin/mpirun -n 2 .venv/bin/ilizarov sweep") for c in cmds)
    for cmd in NOT_RUN:
        assert cmd in cmds, f"NOT_RUN names a command the README no longer has: {cmd}"
    for cmd in cmds:  # nothing typed without its path: `ilizarov` alone is "command not found" after make demo
        assert not re.search(r"(^|\s)(ilizarov|mpirun) ", cmd), cmd


@pytest.mark.slow
def test_readme_commands_run_as_typed(project_copy):
    ran = []
    for cmd in readme_commands():
        if cmd in NOT_RUN or PLACEHOLDER.search(cmd.replace(".venv/bin/", "")):
            continue
        t0 = time.perf_counter()
        r = subprocess.run(["bash", "-c", cmd], cwd=project_copy, env=_fresh_env(), capture_output=True, text=True,
                           timeout=900)
        assert r.returncode == 0, f"`{cmd}` exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        assert "Traceback" not in r.stderr and "command not found" not in r.stderr, r.stderr
        ran.append((cmd, round(time.perf_counter() - t0, 1)))
    kinds = " ".join(c for c, _ in ran)
    for word in ("make demo", "validate", " run ", "report", "compare", "timeline", "hexapod", "sweep", "mpirun"):
        assert word in kinds, f"no README command with {word!r} was run"
    out = project_copy / "out"
    assert (out / "standard-4ring" / "report.html").is_file()
    assert (out / "compare" / "comparison.png").is_file()
    assert json.loads((out / "sweep" / "sweep.json").read_text())["n_cases"] == 30
    ranks = {json.loads(p.read_text())["world_rank"] for p in (out / "sweep" / "cases").glob("*.json")}
    assert ranks == {0, 1}  # mpirun started two ranks and both solved cases
    assert (out / "sweep" / "sweep_report.html").is_file()
    assert (out / "bone-transport" / "timeline.csv").is_file()
    assert (out / "hexapod-correction" / "schedule.csv").is_file()
    print("\n".join(f"{t:7.1f} s  {c}" for c, t in ran))


@pytest.mark.slow
def test_make_teaching_writes_into_out_only(project_copy):
    docs = {p.relative_to(project_copy): p.read_bytes() for p in (project_copy / "docs").rglob("*") if p.is_file()}
    r = subprocess.run(["make", "teaching"], cwd=project_copy, env=_fresh_env(), capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    after = {p.relative_to(project_copy): p.read_bytes() for p in (project_copy / "docs").rglob("*") if p.is_file()}
    assert after.keys() == docs.keys() and all(after[k] == docs[k] for k in docs), "make teaching changed docs/"
    assert (project_copy / "out" / "teaching" / "pretension_curves.png").is_file()
    assert (project_copy / "out" / "teaching" / "compare" / "comparison.png").is_file()
