"""Trustworthy runs (issue 14, part A): the command line never deletes or overwrites a file
it did not write, finds an unusable --out before solving, stops cleanly on Ctrl-C and
SIGTERM, keeps one consistent run when two write into one --out, and turns bad input into
one line and exit status 2 instead of a traceback.

Real subprocesses, real signals, real concurrent processes."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.outdir import MARKER, OutputDir, OutputDirError, foreign_entries, read_manifest

ROOT = Path(__file__).resolve().parents[1]
TWO_RING = ROOT / "scenarios" / "two-ring.toml"
STANDARD = ROOT / "scenarios" / "standard-4ring.toml"
SMALL_CONTINUUM = ROOT / "tests" / "data" / "continuum-small.toml"


def _cli(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def _snapshot(d: Path) -> dict[str, str]:
    """Every entry under d (hidden ones too): relative path -> content hash, link target or 'dir'."""
    out = {}
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            p = Path(root) / name
            rel = p.relative_to(d).as_posix()
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _assert_one_line_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr


def _is_complete_run(d: Path) -> dict:
    """The directory holds one whole output of the tool: its manifest matches every file."""
    m = read_manifest(d)
    assert m is not None, sorted(os.listdir(d))
    assert foreign_entries(d, m) == []
    for rel in m["files"]:
        assert (d / rel).is_file(), rel
    return m


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory):
    """An earlier output of `ilizarov run` (two rings, no picture)."""
    out = tmp_path_factory.mktemp("earlier") / "run"
    r = _cli("run", TWO_RING, "--out", out, "--no-picture", "--quiet")
    assert r.returncode == 0, r.stderr
    return out


# ----------------------------------------------------------------------------- --out: the user's files
def test_the_issue_example_keeps_the_thesis(tmp_path):
    p = tmp_path / "p"
    p.mkdir()
    (p / "results.json").write_text("{}")
    (p / "thesis.docx").write_text("x")
    (p / "data").mkdir()
    before = _snapshot(tmp_path)
    r = _cli("run", TWO_RING, "--out", p)
    assert r.returncode == 2
    _assert_one_line_no_traceback(r.stderr)
    assert "holds files that ilizarov did not write (data/, results.json, thesis.docx)" in r.stderr
    assert "[ilizarov] mesh" not in r.stdout  # refused before any solving
    assert _snapshot(tmp_path) == before  # nothing deleted, nothing added (no lock, no staging left)


def _put_file(d, name="notes.txt"):
    (d / name).write_text("mine")


def _put_nested(d):
    (d / "data").mkdir()
    (d / "data" / "trial.csv").write_text("1,2\n")


def _put_empty_dir(d):
    (d / "data").mkdir()


def _put_symlink(d):
    target = d.parent / "elsewhere.txt"
    target.write_text("mine, outside")
    (d / "link.txt").symlink_to(target)


def _change_results(d):
    (d / "results.json").write_text('{"edited": "by hand"}')


@pytest.mark.parametrize("add, named", [
    (_put_file, "notes.txt"),
    (lambda d: _put_file(d, ".notes"), ".notes"),
    (_put_nested, "data/"),
    (_put_empty_dir, "data/"),
    (_put_symlink, "link.txt (a symbolic link)"),
    (_change_results, "results.json (changed since ilizarov wrote it)"),
], ids=["top-level", "hidden", "nested-dir", "empty-dir", "symlink", "changed-file"])
def test_an_earlier_run_plus_the_users_files_is_refused(tmp_path, earlier_run, add, named):
    out = tmp_path / "run"
    shutil.copytree(earlier_run, out, symlinks=True)
    add(out)
    before = _snapshot(tmp_path)
    r = _cli("run", TWO_RING, "--out", out, "--no-picture")
    assert r.returncode == 2, r.stderr
    _assert_one_line_no_traceback(r.stderr)
    assert "an earlier output of `ilizarov run`, but it also holds what ilizarov did not write" in r.stderr
    assert named in r.stderr
    assert _snapshot(tmp_path) == before


def test_files_named_like_a_run_without_the_marker_are_not_a_run(tmp_path, earlier_run):
    out = tmp_path / "copy"
    shutil.copytree(earlier_run, out)
    (out / MARKER).unlink()  # e.g. copied without hidden files: no longer recognisably the tool's own
    before = _snapshot(tmp_path)
    r = _cli("run", TWO_RING, "--out", out, "--no-picture")
    assert r.returncode == 2 and "holds files that ilizarov did not write" in r.stderr
    assert _snapshot(tmp_path) == before


def test_an_out_that_is_a_symlink_or_a_file_is_refused(tmp_path, earlier_run):
    link = tmp_path / "link"
    link.symlink_to(earlier_run)
    afile = tmp_path / "afile"
    afile.write_text("mine")
    before = _snapshot(tmp_path), _snapshot(earlier_run)
    r = _cli("run", TWO_RING, "--out", link, "--no-picture")
    assert r.returncode == 2 and "is a symbolic link" in r.stderr
    r = _cli("run", TWO_RING, "--out", afile, "--no-picture")
    assert r.returncode == 2 and "exists and is a file" in r.stderr
    _assert_one_line_no_traceback(r.stderr)
    assert (_snapshot(tmp_path), _snapshot(earlier_run)) == before


def test_another_commands_output_is_not_replaced(tmp_path):
    out = tmp_path / "tl"
    with OutputDir(out, "timeline").claim() as od:
        od.publish(lambda st: (st / "timeline.csv").write_text("day\n0\n"))
    before = _snapshot(tmp_path)
    r = _cli("run", TWO_RING, "--out", out, "--no-picture")
    assert r.returncode == 2 and "holds the output of `ilizarov timeline`, not of `ilizarov run`" in r.stderr
    assert _snapshot(tmp_path) == before


def test_an_earlier_run_is_replaced_and_only_its_files_go(tmp_path, earlier_run):
    out = tmp_path / "run"
    shutil.copytree(earlier_run, out)
    (tmp_path / "beside.txt").write_text("mine")
    old = read_manifest(out)
    r = _cli("run", TWO_RING, "--out", out, "--no-picture", "--quiet")
    assert r.returncode == 0, r.stderr
    new = _is_complete_run(out)
    assert new["run_id"] != old["run_id"]
    assert sorted(os.listdir(tmp_path)) == ["beside.txt", "run"]  # no staging, old copy or lock left
    assert (tmp_path / "beside.txt").read_text() == "mine"
    # an empty directory is accepted too
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _cli("run", TWO_RING, "--out", empty, "--no-picture", "--quiet")
    assert r.returncode == 0, r.stderr
    _is_complete_run(empty)


def test_files_that_appear_during_the_run_make_it_write_beside(tmp_path, earlier_run):
    """The check before solving passed; the user drops a file in meanwhile: nothing of
    theirs is replaced, the new output goes beside, with a note."""
    out = tmp_path / "run"
    shutil.copytree(earlier_run, out)
    od = OutputDir(out, "run").claim()
    try:
        (out / "late.txt").write_text("mine")
        final = od.publish(lambda st: (st / "results.json").write_text("{}"))
    finally:
        od.release()
    assert final == tmp_path / "run-2" and "written beside it" in od.note
    assert (out / "late.txt").read_text() == "mine"
    assert _snapshot(out).keys() >= {"results.json", "frame.npz", "late.txt"}
    _is_complete_run(final)


def test_a_report_never_replaces_a_users_file(tmp_path, earlier_run):
    """(test_report.py checks that a report's files join the run's manifest.)"""
    out = tmp_path / "run"
    shutil.copytree(earlier_run, out)
    (out / "views.png").write_bytes(b"my own picture")
    before = _snapshot(tmp_path)
    t0 = time.perf_counter()
    r = _cli("report", out)
    assert r.returncode == 2
    _assert_one_line_no_traceback(r.stderr)
    assert "views.png would be replaced, but ilizarov did not write it" in r.stderr
    assert _snapshot(tmp_path) == before
    assert time.perf_counter() - t0 < 60  # refused before drawing


def test_a_sweep_store_refuses_the_users_files(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'base = "{ROOT / "scenarios" / "two-ring.toml"}"\n[[parameters]]\npath = "gap.width_mm"\n'
                     "values = [2]\n")
    out = tmp_path / "o"
    r = _cli("sweep", sweep, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    m = read_manifest(out)
    assert m["command"] == "sweep" and "summary.csv" in m["files"]
    (out / "cases" / "mine.json").write_text("{}")
    before = _snapshot(tmp_path)
    r = _cli("sweep", sweep, "--out", out, "--quiet")
    assert r.returncode == 2 and "cases/mine.json" in r.stderr
    assert _snapshot(tmp_path) == before
    (out / "cases" / "mine.json").unlink()
    (out / "summary.csv").write_text("edited")
    r = _cli("sweep", sweep, "--out", out, "--quiet")
    assert r.returncode == 2 and "summary.csv (changed since ilizarov wrote it)" in r.stderr
    # a run directory is not a sweep store, and the other way round
    r = _cli("run", TWO_RING, "--out", out, "--no-picture")
    assert r.returncode == 2 and "holds the output of `ilizarov sweep`" in r.stderr


# ----------------------------------------------------------------------------- unusable --out, before solving
@pytest.mark.parametrize("where, phrase", [
    ("afile/sub", "afile is a file, not a directory"),
    ("/proc/x", "cannot create anything in /proc"),
    ("afile", "exists and is a file"),
], ids=["under-a-file", "proc", "a-file"])
def test_an_unusable_out_is_found_before_solving(tmp_path, where, phrase):
    (tmp_path / "afile").write_text("mine")
    for cmd in (["run", TWO_RING], ["timeline", ROOT / "scenarios" / "distraction-4cm.toml"],
                ["hexapod", ROOT / "scenarios" / "hexapod-correction.toml"]):
        t0 = time.perf_counter()
        r = _cli(*cmd, "--out", where, cwd=tmp_path)
        assert r.returncode == 2, (cmd, r.stderr)
        _assert_one_line_no_traceback(r.stderr)
        assert phrase in r.stderr
        assert "[ilizarov]" not in r.stdout  # no progress: nothing was solved
        assert time.perf_counter() - t0 < 60
    assert sorted(os.listdir(tmp_path)) == ["afile"]


def test_an_unwritable_parent_is_found_before_solving(tmp_path):
    """A parent directory nothing can be created in: read-only by its mode, or (as root,
    whom modes do not stop) immutable (chattr +i)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    immutable = False
    try:
        if os.access(ro, os.W_OK):  # root
            if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode:
                pytest.skip("running as root on a file system without chattr +i: nothing makes a directory unwritable")
            immutable = True
        r = _cli("run", TWO_RING, "--out", ro / "out" / "deeper")
        assert r.returncode == 2, r.stderr
        _assert_one_line_no_traceback(r.stderr)
        assert f"cannot create anything in {ro} (" in r.stderr
        assert ("Operation not permitted" if immutable else "Permission denied") in r.stderr
        assert "[ilizarov]" not in r.stdout
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(ro)], check=True)
        ro.chmod(0o755)
    assert os.listdir(ro) == []


# ----------------------------------------------------------------------------- Ctrl-C and SIGTERM
def _start(tmp_path, out, *extra, scenario=STANDARD):
    return subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(scenario), "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)


@pytest.mark.parametrize("sig, code, name", [(signal.SIGINT, 130, "interrupted (Ctrl-C)"),
                                             (signal.SIGTERM, 143, "terminated (SIGTERM)")], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", ["solving", "writing"])
def test_a_signal_leaves_the_previous_run_or_nothing(tmp_path, earlier_run, sig, code, name, phase):
    out = tmp_path / "run"
    shutil.copytree(earlier_run, out)
    previous = read_manifest(out)["run_id"]
    proc = _start(tmp_path, out)
    if phase == "solving":
        line = proc.stdout.readline()  # the size estimate, then: the mesh is built, the solve starts
        if line.startswith("[ilizarov] estimate"):
            line = proc.stdout.readline()
        assert "[ilizarov] mesh" in line, line + proc.stderr.read()
    else:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if any(".ilizarov-partial-" in n for n in os.listdir(tmp_path)):
                break
            time.sleep(0.002)
        assert proc.poll() is None, "the run ended before it wrote anything"
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == code, err
    _assert_one_line_no_traceback(err)
    assert name in err
    m = _is_complete_run(out)
    if phase == "solving":
        assert m["run_id"] == previous
    assert sorted(os.listdir(tmp_path)) == ["run"]  # no staging directory, no lock left


@pytest.mark.parametrize("sig, code, name, phase", [(signal.SIGINT, 130, "interrupted (Ctrl-C)", "solving"),
                                                   (signal.SIGTERM, 143, "terminated (SIGTERM)", "writing")],
                         ids=["SIGINT-solving", "SIGTERM-writing"])
def test_a_signal_to_mpirun_leaves_the_previous_run_or_nothing(tmp_path, earlier_run, sig, code, name, phase):
    """Under `mpirun -n 2` a rank may wait in a collective that the interrupted ranks left:
    rank 0 (or, failing it, another rank) cleans up and ends them all with MPI_Abort."""
    mpirun = Path(sys.executable).parent / "mpirun"
    out = tmp_path / "run"
    shutil.copytree(earlier_run, out)
    previous = read_manifest(out)["run_id"]
    proc = subprocess.Popen([str(mpirun), "-n", "2", sys.executable, "-m", "sim.cli", "run", str(STANDARD), "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    if phase == "solving":
        line = proc.stdout.readline()
        if line.startswith("[ilizarov] estimate"):
            line = proc.stdout.readline()
        assert "[ilizarov] mesh" in line
    else:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if any(".ilizarov-partial-" in n for n in os.listdir(tmp_path)):
                break
            time.sleep(0.002)
        assert proc.poll() is None, "the run ended before it wrote anything"
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == code, err
    assert "Traceback" not in err and name in err, err
    m = _is_complete_run(out)
    if phase == "solving":
        assert m["run_id"] == previous
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_ctrl_c_during_a_sweep_exits_130_and_leaves_no_temporary(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'base = "{STANDARD}"\n[[parameters]]\npath = "wires[*].tension_kgf"\nmin = 50\nmax = 130\n'
                     "count = 6\n")
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(sweep), "--out", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "cases").glob("*.json"))) < 1:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _o, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    _assert_one_line_no_traceback(err)
    assert not list((out / "cases").glob(".*")) and not [n for n in os.listdir(tmp_path) if n.startswith(".")]
    r = _cli("sweep", sweep, "--out", out, "--quiet")  # and it resumes
    assert r.returncode == 0, r.stderr


# ----------------------------------------------------------------------------- concurrent runs
def test_two_runs_into_one_out_end_with_one_consistent_run(tmp_path):
    variant = tmp_path / "variant.toml"
    variant.write_text(TWO_RING.read_text().replace('name = "two-ring"', 'name = "two-ring-variant"', 1))
    out = tmp_path / "run"
    for _round in range(2):
        procs = [subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(s), "--out", str(out), "--quiet",
                                   "--no-picture"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for s in (TWO_RING, variant)]
        results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
        codes = [c for _o, _e, c in results]
        assert 0 in codes, results
        for _o, e, c in results:
            assert c == 0 or (c == 2 and "another ilizarov command is writing into it" in e), e
        _is_complete_run(out)
        res = json.loads((out / "results.json").read_text())
        scen = json.loads((out / "scenario.resolved.json").read_text())
        assert res["scenario"] == scen["name"]  # both files from the same run
        assert sorted(os.listdir(tmp_path)) == ["run", "variant.toml"]


def test_staging_names_are_unique_per_process(tmp_path):
    seen = []
    od = OutputDir(tmp_path / "x", "run").claim()
    try:
        od.publish(lambda st: seen.append(st.name) or (st / "a").write_text("1"))
    finally:
        od.release()
    assert seen[0].startswith(".x.ilizarov-partial-") and str(os.getpid()) in seen[0]


def test_a_failed_write_leaves_nothing_not_even_the_parents(tmp_path):
    od = OutputDir(tmp_path / "a" / "b" / "run", "run").claim()
    try:
        with pytest.raises(ZeroDivisionError):
            od.publish(lambda st: (st / "results.json").write_text("{}") and 1 / 0)
    finally:
        od.release()
    assert os.listdir(tmp_path) == []


def test_a_second_claim_is_refused_while_the_first_holds_the_lock(tmp_path):
    first = OutputDir(tmp_path / "x", "run").claim()
    try:
        with pytest.raises(OutputDirError, match="another ilizarov command is writing into it"):
            OutputDir(tmp_path / "x", "run").claim()
    finally:
        first.release()
    OutputDir(tmp_path / "x", "run").claim().release()
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- tracebacks
def _sweep_file(tmp_path, body: str) -> Path:
    f = tmp_path / "s.toml"
    f.write_text(f'base = "{TWO_RING}"\n' + body)
    return f


def test_a_sweep_value_of_the_wrong_kind_is_refused_at_load(tmp_path):
    f = _sweep_file(tmp_path, '[[parameters]]\npath = "gap.width_mm"\nvalues = [-1, 0, 2, "abc"]\n')
    r = _cli("sweep", f, "--out", tmp_path / "o")
    assert r.returncode == 2
    _assert_one_line_no_traceback(r.stderr)
    assert "parameters[0].values[3]: 'abc' for gap.width_mm is a string, but gap.width_mm is a number" in r.stderr
    assert not (tmp_path / "o").exists()
    f = _sweep_file(tmp_path, '[[parameters]]\npath = "wires[*].tension_kgf"\nvalues = [90, "abc"]\n')
    r = _cli("sweep", f, "--out", tmp_path / "o")
    assert r.returncode == 2 and "'abc' for wires[*].tension_kgf is a string" in r.stderr


def test_a_sweep_of_whole_and_decimal_numbers_writes_its_parquet_summary(tmp_path):
    f = _sweep_file(tmp_path, '[[parameters]]\npath = "gap.width_mm"\nvalues = [-1, 2, 2.5]\n')
    r = _cli("sweep", f, "--out", tmp_path / "o", "--quiet")
    assert r.returncode == 0, r.stderr
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "o" / "summary.parquet")
    assert table.num_rows == 3
    status = dict(zip(table.column("param:gap.width_mm").to_pylist(), table.column("status").to_pylist()))
    assert status == {-1.0: "failed", 2.0: "ok", 2.5: "ok"}  # -1 mm is refused by the scenario's check


PARAM = '[[parameters]]\npath = "gap.width_mm"\nvalues = [2]\n'


@pytest.mark.parametrize("top, params, phrase", [
    ('seed = "x"\n', PARAM, "seed: 'x'; accepted: a whole number from 0 to"),
    ('mode = "lhs"\nsamples = 1.5\n', PARAM, "samples: 1.5; accepted: a whole number from 0 to 100000"),
    ("max_cases = true\n", PARAM, "max_cases: True; accepted: a whole number from 1 to 100000"),
    ("", "[[parameters]]\npath = 5\nvalues = [1]\n", "parameters[0].path: 5; accepted: a string"),
    ("", '[[parameters]]\npath = "gap.width_mm"\nvalues = [nan]\n',
     "parameters[0].values[0]: nan for gap.width_mm; accepted: finite numbers"),
    ("", '[[parameters]]\npath = "gap.width_mm"\nmin = 1\nmax = 3\ncount = 1000000000000\n',
     "count (required with min/max in grid mode): 1000000000000; accepted: a whole number from 1 to 10000"),
    ("", "".join(f'[[parameters]]\npath = "{p}"\nmin = 1\nmax = 3\ncount = 100\n'
                 for p in ("gap.width_mm", "bone.outer_diameter_mm", "wires[*].diameter_mm")),
     "1000000 cases is more than ilizarov runs in one sweep"),
    ("", '[[parameters]]\npath = "gap.width_mm"\nmin = 1\nmax = 3\ncount = 2.5\n', "count"),
    ("", '[[parameters]]\npath = "wires[*].olive"\nvalues = [true, 1]\n',
     "values[1]: 1 for wires[*].olive is a number"),
    ("", PARAM + "[bone]\nlength_mm = 200\n", "bone: unknown key (a scenario key"),
], ids=["seed", "samples", "max_cases", "path", "nan", "huge-count", "huge-grid", "decimal-count", "bool-vs-number",
        "scenario-key"])
def test_bad_sweep_fields_give_one_line_and_exit_2(tmp_path, top, params, phrase):
    f = _sweep_file(tmp_path, top + params)
    t0 = time.perf_counter()
    r = _cli("sweep", f, "--out", tmp_path / "o")
    assert r.returncode == 2, r.stderr
    _assert_one_line_no_traceback(r.stderr)
    assert phrase in r.stderr
    assert time.perf_counter() - t0 < 60  # refused, not expanded
    assert not (tmp_path / "o").exists()


def _continuum_file(tmp_path, options: str) -> Path:
    f = tmp_path / "c.toml"
    f.write_text(SMALL_CONTINUUM.read_text() + f"petsc_options = {{{options}}}\n")
    return f


@pytest.mark.parametrize("options, phrase", [
    ('ksp_type = "bogus"', "continuum.petsc_options.ksp_type: PETSc refuses ksp_type = 'bogus': an unknown type"),
    ('ksp_tpye = "cg"', "continuum.petsc_options.ksp_tpye: PETSc's Newton and linear solvers never read this option"),
    ('ksp_rtol = "abc"', "PETSc refuses ksp_rtol = 'abc'"),
], ids=["bad-value", "misspelt-name", "not-a-number"])
def test_a_bad_petsc_option_is_named_before_meshing(tmp_path, options, phrase):
    f = _continuum_file(tmp_path, options)
    for cmd in (["validate", f], ["run", f, "--out", tmp_path / "o", "--model", "continuum"]):
        r = _cli(*cmd)
        assert r.returncode == 2, r.stderr
        _assert_one_line_no_traceback(r.stderr)
        assert phrase in r.stderr
        assert "[ilizarov] mesh" not in r.stdout
    assert sorted(os.listdir(tmp_path)) == ["c.toml"]


def test_good_petsc_options_pass_the_check():
    from sim.continuum_run import check_petsc_options
    from sim.scenario import load_scenario

    s = load_scenario(SMALL_CONTINUUM)
    for opts in ({"ksp_rtol": 1e-9}, {"mat_mumps_icntl_14": 50}, {"pc_gamg_threshold": 0.01},
                 {"snes_linesearch_type": "bt"}):
        check_petsc_options(type(s.continuum)(petsc_options=opts))


def test_validate_on_a_sweep_file_says_it_is_a_sweep(tmp_path):
    sweep = ROOT / "scenarios" / "sweeps" / "tension-rings.toml"
    r = _cli("validate", sweep)
    assert r.returncode == 0, r.stderr
    assert "a sweep file, not a scenario: sweep 'tension-rings', grid over 3 parameter(s), 30 cases" in r.stdout
    assert "Run it with: ilizarov sweep" in r.stdout
    assert "unknown key" not in r.stdout + r.stderr
    r = _cli("run", sweep, "--out", tmp_path / "o")
    assert r.returncode == 2 and "a sweep file (it has base and [[parameters]]), not a scenario; run it with " \
        "`ilizarov sweep" in r.stderr
    _assert_one_line_no_traceback(r.stderr)


def test_damaged_run_directories_give_one_line(tmp_path, earlier_run):
    bad = tmp_path / "bad"
    shutil.copytree(earlier_run, bad)
    (bad / "frame.npz").write_bytes(b"not a zip")
    r = _cli("report", bad)
    assert r.returncode == 2 and "frame.npz: not readable" in r.stderr
    _assert_one_line_no_traceback(r.stderr)
    (bad / "results.json").write_text("[1, 2]")
    r = _cli("report", bad)
    assert r.returncode == 2 and "not a results file" in r.stderr
    r = _cli("compare", earlier_run, "--out", tmp_path / "c")
    assert r.returncode == 2 and "at least two run directories" in r.stderr
    r = _cli("run", tmp_path, "--out", tmp_path / "o")  # a directory given as the scenario
    assert r.returncode == 2 and "no such scenario file" in r.stderr
    _assert_one_line_no_traceback(r.stderr)


def test_an_unexpected_error_is_one_line_and_exit_1(monkeypatch, capsys):
    import sim.cli

    def broken(_args):
        raise RuntimeError("something the checks did not foresee\nsecond line")

    parser = sim.cli.build_parser()
    monkeypatch.setattr(sim.cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["validate"].set_defaults(func=broken)
    assert sim.cli.main(["validate", str(TWO_RING)]) == 1
    err = capsys.readouterr().err
    _assert_one_line_no_traceback(err)
    assert "internal error: RuntimeError: something the checks did not foresee (a bug in ilizarov" in err


def test_a_file_that_cannot_be_read_is_named_once(tmp_path, capsys):
    """'PATH: not valid TOML', not 'PATH: PATH: not valid TOML' (and the same for a missing
    file, and a sweep's base scenario)."""
    from sim.cli import main

    f = tmp_path / "broken.toml"
    f.write_text("[bone\nlength_mm = 3")
    missing = tmp_path / "missing.toml"
    for args, said in ((["validate", str(f)], f"{f}: not valid TOML: "),
                       (["run", str(f), "--out", str(tmp_path / "o")], f"{f}: not valid TOML: "),
                       (["validate", str(missing)], f"{missing}: no such scenario file")):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"ilizarov: error: {said}") and err.count(str(tmp_path)) == 1, err
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('base = "broken.toml"\n[[parameters]]\npath = "bone.length_mm"\nvalues = [300, 320]\n')
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert f"base: {f}: not valid TOML: " in err and err.count(str(tmp_path)) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.toml", "sweep.toml"]
