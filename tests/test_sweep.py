"""Design sweeps (issue 5): expansion, the store, resume after a kill, failures,
ranking and sensitivity, serial = parallel, and the Slurm path for real."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from postprocess.sweep_report import pareto_front, ranking, sensitivity, write_sweep_report
from sim.sweep import SweepError, load_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "sweeps" / "sweep-base.toml"


def sweep_file(tmp: Path, body: str, name="s") -> Path:
    p = tmp / f"{name}.toml"
    p.write_text(f'name = "{name}"\nbase = "{BASE}"\n' + body)
    return p


TENSION = '''
[[parameters]]
path = "wires[*].tension_kgf"
values = [50, 90, 130]
'''


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, **kw)


# ----------------------------------------------------------------------------- the file
def test_expansion_modes(tmp_path):
    two = TENSION + '[[parameters]]\npath = "rings[*].inner_diameter_mm"\nvalues = [150, 180]\n'
    assert len(load_sweep(sweep_file(tmp_path, 'mode = "grid"\n' + two)).cases) == 6
    zipped = TENSION + '[[parameters]]\npath = "rings[*].inner_diameter_mm"\nvalues = [150, 165, 180]\n'
    z = load_sweep(sweep_file(tmp_path, 'mode = "zip"\n' + zipped)).cases
    assert [c["rings[*].inner_diameter_mm"] for c in z] == [150, 165, 180]
    lhs = load_sweep(sweep_file(tmp_path, 'mode = "lhs"\nsamples = 10\nseed = 3\n[[parameters]]\n'
                                          'path = "gap.width_mm"\nmin = 10\nmax = 30\n'))
    x = np.array([c["gap.width_mm"] for c in lhs.cases])
    assert sorted(np.floor((x - 10) / 2).astype(int)) == list(range(10))  # one sample per stratum
    again = load_sweep(sweep_file(tmp_path, 'mode = "lhs"\nsamples = 10\nseed = 3\n[[parameters]]\n'
                                            'path = "gap.width_mm"\nmin = 10\nmax = 30\n'))
    assert again.cases == lhs.cases  # the seed fixes the sample


def test_bad_sweeps_are_refused_before_any_case(tmp_path):
    with pytest.raises(SweepError, match="no 'tension_kgff'"):
        load_sweep(sweep_file(tmp_path, '[[parameters]]\npath = "wires[*].tension_kgff"\nvalues = [1]\n'))
    with pytest.raises(SweepError, match="empty range"):
        load_sweep(sweep_file(tmp_path, '[[parameters]]\npath = "gap.width_mm"\nvalues = []\n'))
    with pytest.raises(SweepError, match="empty range"):
        load_sweep(sweep_file(tmp_path, '[[parameters]]\npath = "gap.width_mm"\nmin = 5\nmax = 5\ncount = 2\n'))
    big = sweep_file(tmp_path, 'max_cases = 2\n' + TENSION, name="big")
    r = _cli("sweep", str(big), "--out", str(tmp_path / "big-out"))
    assert r.returncode == 2 and "3 cases" in r.stderr and "--yes" in r.stderr
    assert not (tmp_path / "big-out").exists()
    # an output directory holding another sweep
    small = sweep_file(tmp_path, '[[parameters]]\npath = "wires[*].tension_kgf"\nvalues = [90]\n', name="small")
    assert _cli("sweep", str(small), "--out", str(tmp_path / "o"), "--quiet").returncode == 0
    other = sweep_file(tmp_path, '[[parameters]]\npath = "wires[*].tension_kgf"\nvalues = [80]\n', name="other")
    r = _cli("sweep", str(other), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "holds a different sweep" in r.stderr


# ----------------------------------------------------------------------------- the store
def test_failures_are_recorded_and_the_others_finish(tmp_path):
    body = TENSION.replace("[50, 90, 130]", "[90, 130]") + \
        '[[parameters]]\npath = "wires[*].diameter_mm"\nvalues = [1.5, 1.8]\n'
    r = _cli("sweep", str(sweep_file(tmp_path, body)), "--out", str(tmp_path / "o"))
    # a case whose solve diverges (one Newton iteration allowed, no step cutting)
    diverge = '[[parameters]]\npath = "solver.newton_max_iterations"\nvalues = [1, 25]\n' \
        '[[parameters]]\npath = "solver.max_step_cuts"\nvalues = [0]\n'
    d = _cli("sweep", str(sweep_file(tmp_path, diverge, name="d")), "--out", str(tmp_path / "d"))
    assert d.returncode == 0, d.stderr
    with open(tmp_path / "d" / "summary.csv") as f:
        drows = {int(x["param:solver.newton_max_iterations"]): x for x in csv.DictReader(f)}
    assert drows[1]["status"] == "failed" and "did not converge" in drows[1]["error"]
    assert drows[25]["status"] == "ok"
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "o" / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    status = {(float(x["param:wires[*].tension_kgf"]), float(x["param:wires[*].diameter_mm"])): x for x in rows}
    bad = status[(130.0, 1.5)]
    assert bad["status"] == "failed" and "yield" in bad["error"]
    assert all(v["status"] == "ok" for k, v in status.items() if k != (130.0, 1.5))
    assert "failed" in r.stdout and "yield" in r.stdout
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "o" / "summary.parquet")
    assert table.num_rows == 4 and "axial_initial_N_per_mm" in table.column_names


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_sweep_resumes_without_rerunning(tmp_path, sig):
    # 16 cases: under CI load the sweep once finished all of 8 before the signal reached it
    body = '[[parameters]]\npath = "wires[*].tension_kgf"\nmin = 50\nmax = 130\ncount = 16\n'
    sw = sweep_file(tmp_path, body)
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(sw), "--out", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "cases").glob("*.json"))) < 2:
        time.sleep(0.02)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    first = {p.name: p.stat().st_mtime_ns for p in (out / "cases").glob("*.json")}
    assert 2 <= len(first) < 16
    for p in (out / "cases").glob("*.json"):
        json.loads(p.read_text())  # none corrupt
    r = _cli("sweep", str(sw), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"{len(first)} already recorded" in r.stdout
    after = {p.name: p.stat().st_mtime_ns for p in (out / "cases").glob("*.json")}
    assert len(after) == 16
    assert all(after[k] == v for k, v in first.items())  # no case ran twice
    assert not list((out / "cases").glob(".*"))  # no temporary left behind


# ----------------------------------------------------------------------------- meaning
def test_ranking_and_sensitivity_on_a_known_answer(tmp_path):
    body = TENSION + '[[parameters]]\npath = "bone.min_skin_clearance_mm"\nvalues = [15, 16]\n'
    out = tmp_path / "o"
    res = run_sweep(load_sweep(sweep_file(tmp_path, body)), out)
    assert res["ok"] == 6
    recs = [json.loads(p.read_text()) for p in (out / "cases").glob("*.json")]
    ranked = ranking(recs, "axial_initial_N_per_mm")
    tensions = [r["parameters"]["wires[*].tension_kgf"] for r in ranked]
    assert tensions == sorted(tensions, reverse=True)  # stiffness ranks by tension
    sens = sensitivity(recs, ["wires[*].tension_kgf", "bone.min_skin_clearance_mm"], "axial_initial_N_per_mm")
    assert sens[0]["parameter"] == "wires[*].tension_kgf" and sens[0]["best_level"] == "130"
    assert sens[1]["effect"] < 1e-6 * sens[0]["effect"]  # the skin clearance changes nothing mechanical
    front = pareto_front(recs, "axial_initial_N_per_mm", "frame_mass_kg")
    assert front and max(r["metrics"]["axial_initial_N_per_mm"] for r in front) == \
        max(r["metrics"]["axial_initial_N_per_mm"] for r in recs)
    page = write_sweep_report(out)
    assert page.exists() and (out / "tornado.png").stat().st_size > 5000
    r = _cli("report", str(out), "--objective", "nope")
    assert r.returncode == 2 and "accepted" in r.stderr


# ----------------------------------------------------------------------------- MPI and Slurm
@pytest.mark.mpi
def test_sweep_serial_equals_parallel(tmp_path_factory):
    world = MPI.COMM_WORLD
    tmp = Path(world.bcast(str(tmp_path_factory.mktemp("sweep")) if world.rank == 0 else None, root=0))
    if world.rank == 0:
        sweep_file(tmp, TENSION)
    world.Barrier()
    sw = load_sweep(tmp / "s.toml")
    run_sweep(sw, tmp / "parallel", world=world)
    if world.rank == 0:
        run_sweep(sw, tmp / "serial", world=MPI.COMM_SELF)
        for i in range(len(sw.cases)):
            a = json.loads((tmp / "parallel" / "cases" / f"{sw.case_id(i)}.json").read_text())
            b = json.loads((tmp / "serial" / "cases" / f"{sw.case_id(i)}.json").read_text())
            for k, v in a["metrics"].items():
                if v is not None:
                    assert v == pytest.approx(b["metrics"][k], rel=1e-9, abs=1e-12), k
    world.Barrier()


@pytest.mark.slow
def test_sweep_through_a_real_slurm(tmp_path):
    """Start a single-node Slurm (Debian's slurm-wlm and munge, installed if missing),
    submit the sweep as one allocation and as a job array, and check the records."""
    cluster = tmp_path / "cluster"
    r = subprocess.run(["bash", str(ROOT / "hpc" / "slurm_local.sh"), "start", str(cluster)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"could not start a local Slurm: {r.stderr.strip() or r.stdout.strip()}"
    env = {**os.environ, "SLURM_CONF": str(cluster / "slurm.conf"), "VENV": sys.prefix}
    sw = sweep_file(tmp_path, TENSION)
    try:
        for script, extra, out in (("sweep_allocation.sbatch", ["--ntasks=2"], tmp_path / "alloc"),
                                   ("sweep_array.sbatch", ["--array=0-1"], tmp_path / "array")):
            r = subprocess.run(["sbatch", "--wait", *extra, f"--chdir={tmp_path}",
                                f"--output={tmp_path}/%x-%j-%a.out", str(ROOT / "hpc" / script), str(sw), str(out)],
                               capture_output=True, text=True, timeout=600, env=env)
            logs = "\n".join(p.read_text() for p in tmp_path.glob("*.out"))
            assert r.returncode == 0, f"{script}: {r.stderr}\n{logs}"
            recs = [json.loads(p.read_text()) for p in (out / "cases").glob("*.json")]
            assert len(recs) == 3 and all(x["status"] == "ok" for x in recs), logs
        a = {p.name: json.loads(p.read_text())["metrics"] for p in (tmp_path / "alloc" / "cases").glob("*.json")}
        b = {p.name: json.loads(p.read_text())["metrics"] for p in (tmp_path / "array" / "cases").glob("*.json")}
        assert a.keys() == b.keys()
        for k in a:
            assert a[k]["axial_initial_N_per_mm"] == pytest.approx(b[k]["axial_initial_N_per_mm"], rel=1e-9)
    finally:
        subprocess.run(["bash", str(ROOT / "hpc" / "slurm_local.sh"), "stop", str(cluster)], timeout=60)
