"""Sweeps on a cluster (issue 17): launchers started together on one store, killed and
rerun, claims of dead processes taken over, summaries rebuilt at the same moment, and
variance-based sensitivity checked against functions whose indices are known.

Launchers are real `ilizarov sweep` processes; a start gate (every process imports first,
then waits for the others) makes them reach the store in the same millisecond."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from postprocess.report import ReportError
from postprocess.sweep_report import load_records, morris_indices, sobol_indices, write_sweep_report
from sim import sharedfs
from sim.outdir import foreign_entries, read_manifest
from sim.sweep import SweepError, load_sweep, prepare_store, rebuild_summary, run_sweep
from sim.sweep_store import SweepStore, store_entry

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "sweep-tiny.toml"

GATE = r'''
import os, sys, time
import sim.fenicsx  # noqa: F401 - the slow imports come before the gate
import dolfinx  # noqa: F401
import sim.sweep  # noqa: F401
from sim.cli import main
gate, k, n, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
worst = 0
for rep in range(reps):  # each repetition: every process passes its gate, then all start at once
    open(os.path.join(gate, f"ready-{rep}-{k}"), "w").close()
    deadline = time.time() + 300
    while sum(f.startswith(f"ready-{rep}-") for f in os.listdir(gate)) < n and time.time() < deadline:
        time.sleep(0.0005)
    rc = main([a.replace("{rep}", str(rep)) for a in sys.argv[5:]])
    open(os.path.join(gate, f"rc-{rep}-{k}"), "w").write(str(rc))
    worst = worst or rc
sys.exit(worst)
'''


def sweep_file(tmp: Path, body: str, name: str = "s") -> Path:
    p = tmp / f"{name}.toml"
    p.write_text(f'name = "{name}"\nbase = "{TINY}"\n' + body)
    return p


def gap_sweep(tmp: Path, n: int) -> Path:
    return sweep_file(tmp, f'[[parameters]]\npath = "gap.width_mm"\nmin = 2\nmax = 8\ncount = {n}\n')


def launch_together(commands: list[list[str]], gate: Path, reps: int = 1) -> list[subprocess.Popen]:
    """One process per command, each running `ilizarov` (sim.cli.main) `reps` times ("{rep}"
    in a command: the repetition's number); in every repetition all pass the gate at the
    same moment. Each repetition's exit status is left in gate/rc-<rep>-<process>."""
    gate.mkdir()
    return [subprocess.Popen([sys.executable, "-c", GATE, str(gate), str(k), str(len(commands)), str(reps),
                              *map(str, cmd)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for k, cmd in enumerate(commands)]


def index_lines(out: Path) -> list[dict]:
    return [json.loads(line) for f in sorted((out / "index").glob("*.jsonl"))
            for line in f.read_text().splitlines()]


def assert_recorded_once(out: Path, sw) -> dict[str, dict]:
    """Every case of the sweep has one record, made by one completed run (one 'run' line in
    the index, none discarded), by its newest claim; the summary lists each case once; the
    store holds nothing the tool does not account for."""
    ids = {sw.case_id(i) for i in range(len(sw.cases))}
    records = {p.stem: json.loads(p.read_text()) for p in (out / "cases").glob("*.json")}
    assert set(records) == ids
    lines = index_lines(out)
    # one 'run' line per case, written by its launcher just after the record; a launcher
    # killed between the two leaves none, and the next summary adds a 'record' line instead
    runs = Counter(x["id"] for x in lines if x["source"] == "run")
    assert max(runs.values(), default=1) == 1
    assert {x["id"] for x in lines if x["source"] in ("run", "record")} == ids
    assert not [x for x in lines if x["source"] == "duplicate"]
    for cid, rec in records.items():
        claims = sorted((out / "claims").glob(f"{cid}.*"))
        assert rec["attempt"] == len(claims) >= 1, (cid, claims)
        assert json.loads(claims[-1].read_text())["owner"] == rec["owner"]
    with open(out / "summary.csv", newline="", encoding="utf-8") as f:
        summary = list(csv.DictReader(f))
    assert sorted(row["id"] for row in summary) == sorted(ids)
    assert foreign_entries(out, read_manifest(out), store_entry) == []
    hidden = [p for d in ("cases", "claims", "owners", "index") for p in (out / d).iterdir() if p.name.startswith(".")]
    assert hidden == [] and not [p for p in out.parent.iterdir() if "ilizarov-partial" in p.name]
    return records


# ----------------------------------------------------------------------------- launchers started together
@pytest.mark.slow
@pytest.mark.parametrize("n_shards", [2, 4])
def test_shards_started_together_record_every_case_once(tmp_path, n_shards):
    """Ten repetitions of N shards of one sweep started in the same millisecond on a new
    store (the start-up race of issue 17): no task exits non-zero, every case is recorded
    once, by its shard, at the first attempt."""
    sweep = gap_sweep(tmp_path, 4)
    sw = load_sweep(sweep)
    reps = 10
    gate = tmp_path / "gate"
    procs = launch_together([["sweep", sweep, "--out", tmp_path / "out{rep}", "--shard", f"{k}/{n_shards}",
                              "--quiet"] for k in range(n_shards)], gate, reps=reps)
    said = [p.communicate(timeout=600) for p in procs]
    for p, (_o, err) in zip(procs, said):
        assert p.returncode == 0, err
    for rep in range(reps):
        assert [(gate / f"rc-{rep}-{k}").read_text() for k in range(n_shards)] == ["0"] * n_shards, rep
        records = assert_recorded_once(tmp_path / f"out{rep}", sw)
        assert all(r["attempt"] == 1 for r in records.values())  # shards never share a case
        assert sorted(r["index"] % n_shards for r in records.values()) == sorted(i % n_shards for i in range(4))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_two_copies_started_together_one_killed_and_rerun(tmp_path, sig):
    """Two full launchers of one sweep: they share the cases; one is killed mid-way; the
    survivor takes over the case the killed one was solving (its process is gone: no
    waiting for a timeout); a rerun finds nothing left. Every case is recorded once."""
    sweep = gap_sweep(tmp_path, 12)
    sw = load_sweep(sweep)
    out = tmp_path / "o"
    a, b = launch_together([["sweep", sweep, "--out", out]] * 2, tmp_path / "gate")
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "cases").glob("*.json"))) < 3:
        time.sleep(0.02)
    a.send_signal(sig)
    _o, a_err = a.communicate(timeout=120)
    assert a.returncode == (143 if sig == signal.SIGTERM else -signal.SIGKILL), a_err
    b_out, b_err = b.communicate(timeout=600)
    assert b.returncode == 0, b_err
    rerun = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(sweep), "--out", str(out)],
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    records = assert_recorded_once(out, sw)

    owners = {p.stem: json.loads(p.read_text()) for p in (out / "owners").glob("*.json")}
    killed = next(k for k, o in owners.items() if o["process"]["pid"] == a.pid)
    if sig == signal.SIGTERM:
        assert owners[killed]["how"] == "interrupted"  # its claims were free at once
    claims = [json.loads(p.read_text()) for p in (out / "claims").iterdir()]
    interrupted = {c["case"] for c in claims if c["owner"] == killed} - \
        {cid for cid, r in records.items() if r["owner"] == killed}
    assert len(interrupted) <= 1  # one case at a time
    for cid in interrupted:  # the case it was solving: started again by another launcher, recorded once
        first = next(c for c in claims if c["case"] == cid and c["attempt"] == 1)
        assert first["owner"] == killed
        assert records[cid]["attempt"] == 2 and records[cid]["owner"] != killed
        assert records[cid]["started"] >= first["claimed"]
    ran = {k: sum(r["owner"] == k for r in records.values()) for k in owners}
    assert sum(ran.values()) == 12 and ran[killed] < 12
    assert "0 to run" in rerun.stdout or "0 cases run" in rerun.stdout


# ----------------------------------------------------------------------------- claims and records
def _store(tmp: Path, timeout: float = 60.0) -> tuple:
    sw = load_sweep(gap_sweep(tmp, 3))
    out = tmp / "o"
    prepare_store(sw, out)
    return sw, out, SweepStore(out, claim_timeout_s=timeout)


def _foreign_owner(out: Path, process: dict) -> str:
    tok = sharedfs.token()
    (out / "owners" / f"{tok}.json").write_text(json.dumps({"owner": tok, "process": process, "ended": None}))
    return tok


def _foreign_claim(out: Path, cid: str, owner: str, attempt: int = 1) -> None:
    (out / "claims" / f"{cid}.{attempt}").write_text(json.dumps({"case": cid, "attempt": attempt, "owner": owner,
                                                                 "claimed": time.time()}))


def test_a_claim_is_taken_over_only_when_its_owner_is_dead(tmp_path):
    sw, out, store = _store(tmp_path, timeout=60.0)
    store.start()
    cid = [sw.case_id(i) for i in range(3)]
    # a process on another node, heartbeat fresh: left alone
    far = _foreign_owner(out, {"host": "node-b", "boot_id": "x", "pid_ns": "pid:[1]", "pid": 4242})
    _foreign_claim(out, cid[0], far)
    assert store.claim(cid[0]) == ("busy", 1)
    # ... silent for longer than the timeout by the file server's clock: taken over, by one process only
    old = sharedfs.server_now(out) - 61
    os.utime(out / "owners" / f"{far}.json", (old, old))
    assert store.claim(cid[0]) == ("claimed", 2)
    other = SweepStore(out, claim_timeout_s=60.0)
    other.start()
    assert other.claim(cid[0]) == ("busy", 2)  # now ours, and we are alive
    # a process of this node that is gone (the pid's start time tells a reused pid too)
    child = subprocess.run([sys.executable, "-c", "import json; from sim.sharedfs import process_identity; "
                            "print(json.dumps(process_identity()))"], capture_output=True, text=True, check=True)
    gone = _foreign_owner(out, json.loads(child.stdout))
    _foreign_claim(out, cid[1], gone)
    assert store.claim(cid[1]) == ("claimed", 2)
    reused = dict(sharedfs.process_identity(), start_ticks=1)
    assert sharedfs.process_gone(reused) and not sharedfs.process_gone(sharedfs.process_identity())
    # a live process of this node: left alone, however old its heartbeat
    alive = _foreign_owner(out, sharedfs.process_identity())
    _foreign_claim(out, cid[2], alive)
    old = sharedfs.server_now(out) - 3600
    os.utime(out / "owners" / f"{alive}.json", (old, old))
    assert store.claim(cid[2]) == ("busy", 1)
    # ... until it says it ended (a clean exit, Ctrl-C, SIGTERM)
    body = json.loads((out / "owners" / f"{alive}.json").read_text())
    (out / "owners" / f"{alive}.json").write_text(json.dumps(dict(body, ended=time.time(), how="interrupted")))
    alive_now, who = store.claim_holder(cid[2], 1)
    assert not alive_now and "ended: interrupted" in who
    assert store.claim(cid[2]) == ("claimed", 2)
    store.finish()
    other.finish()


def test_a_claim_of_an_earlier_run_of_the_same_slurm_task_is_taken_over(tmp_path, monkeypatch):
    """A requeued array task (preempted, or its node failed) finds the claim of its own
    earlier run, on another node with a fresh heartbeat: Slurm has ended that run, so the
    case is taken over at once; another task's claim, or one of the same run, is left alone."""
    sw, out, store = _store(tmp_path, timeout=600.0)
    cid = [sw.case_id(i) for i in range(3)]
    far = {"host": "node-b", "boot_id": "x", "pid_ns": "pid:[1]", "pid": 4242}
    for k, (task, restarts) in enumerate((("3", "0"), ("4", "0"), ("3", "1"))):
        owner = _foreign_owner(out, dict(far, slurm={"job": "900", "array_job": "77", "array_task": task,
                                                     "restarts": restarts}))
        _foreign_claim(out, cid[k], owner)
    for var, value in (("SLURM_JOB_ID", "903"), ("SLURM_ARRAY_JOB_ID", "77"), ("SLURM_ARRAY_TASK_ID", "3"),
                       ("SLURM_RESTART_COUNT", "1")):
        monkeypatch.setenv(var, value)
    store.start()
    alive, who = store.claim_holder(cid[0], 1)
    assert not alive and who.endswith("(an earlier run of this Slurm task, since requeued)")
    assert store.claim(cid[0]) == ("claimed", 2)
    assert store.claim(cid[1]) == ("busy", 1)  # task 4 of the array: another task, alive
    assert store.claim(cid[2]) == ("busy", 1)  # the same run of task 3 (another launcher in it)
    monkeypatch.delenv("SLURM_RESTART_COUNT")
    assert not sharedfs.earlier_incarnation(dict(far, slurm={"array_job": "77", "array_task": "3", "restarts": "0"}))
    store.finish()


def test_a_late_result_never_replaces_a_record(tmp_path):
    """A process frozen past the claim timeout finishes after its case was run again: the
    first record stays, the late one is discarded and said so in its index."""
    sw, out, first = _store(tmp_path)
    first.start()
    late = SweepStore(out)
    late.start()
    cid = sw.case_id(0)
    rec = {"id": cid, "index": 0, "parameters": sw.cases[0], "status": "ok", "metrics": {"x": 1.0}, "attempt": 2}
    assert first.write_record(rec, dict(rec)) is True
    assert late.write_record(dict(rec, metrics={"x": 2.0}, attempt=1), dict(rec)) is False
    assert json.loads((out / "cases" / f"{cid}.json").read_text())["metrics"] == {"x": 1.0}
    first.finish()
    late.finish()
    assert [x["source"] for x in index_lines(out)] in (["run", "duplicate"], ["duplicate", "run"])
    rows = SweepStore(out).index_rows()
    assert len(rows) == 1 and rows[0]["metrics"] == {"x": 1.0}


def test_records_without_an_index_line_are_summarised(tmp_path):
    """A launcher killed between its record and its index line: the next summary reads that
    record (and adds its line), so nothing recorded is missing from summary.csv."""
    sw, out, store = _store(tmp_path)
    cid = sw.case_id(1)
    rec = {"id": cid, "index": 1, "parameters": sw.cases[1], "status": "ok", "metrics": {"x": 3.0}, "attempt": 1}
    assert sharedfs.create_exclusive(out / "cases" / f"{cid}.json", json.dumps(rec))
    assert rebuild_summary(out) == (1, 0)
    assert "x" in (out / "summary.csv").read_text().splitlines()[0]
    assert [x["source"] for x in index_lines(out)] == ["record"]


WORKER = r'''
import os, sys, time
from pathlib import Path
from sim.sweep import load_sweep, prepare_store, rebuild_summary, run_sweep
sweep, out, gate, k, n, role = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
sw = load_sweep(sweep)
open(os.path.join(gate, f"ready-{k}"), "w").close()
while sum(f.startswith("ready-") for f in os.listdir(gate)) < n:
    time.sleep(0.0005)
if role == "open":  # start-up checks while the others rewrite the summary and its manifest entry
    for _ in range(15):
        assert prepare_store(sw, out) in ("new", "previous")
else:
    def evaluate(sw, i, comm):
        return {"id": sw.case_id(i), "index": i, "parameters": sw.cases[i], "status": "ok",
                "metrics": {"width_squared": sw.cases[i]["gap.width_mm"] ** 2}, "time_s": 0.0}
    run_sweep(sw, out, shard=(k, 4), evaluate=evaluate)
    for _ in range(8):
        rebuild_summary(out)
'''


@pytest.mark.slow
def test_stores_opened_and_summaries_rebuilt_together_never_collide(tmp_path):
    """Four processes record cases and rebuild the summary over and over while two others
    open the store again and again (its check reads the manifest the rebuilds rewrite),
    all from the same moment, the store made by whichever comes first."""
    sweep = gap_sweep(tmp_path, 40)
    out, gate = tmp_path / "o", tmp_path / "gate"
    gate.mkdir()
    roles = ["run"] * 4 + ["open"] * 2
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(sweep), str(out), str(gate), str(k), str(len(roles)),
                               role], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, role in enumerate(roles)]
    for p in procs:
        _o, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    assert rebuild_summary(out) == (40, 0)
    assert_recorded_once(out, load_sweep(sweep))


# ----------------------------------------------------------------------------- sampling plans
def test_sampling_plans_and_their_limits(tmp_path):
    two = ('[[parameters]]\npath = "gap.width_mm"\nmin = 2\nmax = 8\n'
           '[[parameters]]\npath = "wires[*].tension_kgf"\nvalues = [60, 90, 120]\n')
    sob = load_sweep(sweep_file(tmp_path, 'mode = "sobol"\nsamples = 8\nseed = 4\n' + two))
    assert len(sob.cases) == 8 * (2 + 2) and np.asarray(sob.unit).shape == (32, 2)
    assert load_sweep(sweep_file(tmp_path, 'mode = "saltelli"\nsamples = 8\nseed = 4\n' + two)).cases == sob.cases
    assert {c["wires[*].tension_kgf"] for c in sob.cases} <= {60, 90, 120}
    mor = load_sweep(sweep_file(tmp_path, 'mode = "morris"\nsamples = 5\nlevels = 4\nseed = 1\n' + two))
    assert len(mor.cases) == 5 * 3
    for mode in ("lhs", "halton", "sobol-sequence"):
        sw = load_sweep(sweep_file(tmp_path, f'mode = "{mode}"\nsamples = 16\nseed = 2\n' + two))
        x = np.array([c["gap.width_mm"] for c in sw.cases])
        assert len(x) == 16 and 2 <= x.min() and x.max() <= 8
        if mode != "halton":  # Latin hypercube and Sobol' points: one in each sixteenth of the range
            assert sorted(np.floor((x - 2) / 6 * 16).astype(int)) == list(range(16)), mode
    for body, phrase in (
            ('mode = "sobol"\nsamples = 12\n', "samples: 12; accepted: a power of 2 from 2 up"),
            ('mode = "sobol-sequence"\nsamples = 6\n', "samples: 6; accepted: a power of 2"),
            ('mode = "morris"\nsamples = 1\n', "samples: 1; accepted: a whole number >= 2 in morris mode"),
            ('mode = "morris"\nsamples = 4\nlevels = 3\n', "levels: 3; accepted: an even number"),
            ('mode = "lhs"\nsamples = 4\nlevels = 4\n', 'levels: 4; accepted only with mode = "morris"'),
            ('mode = "fast"\nsamples = 4\n', "mode: 'fast'; accepted: grid, zip, random, lhs, halton")):
        with pytest.raises(SweepError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
            load_sweep(sweep_file(tmp_path, body + two))


# ----------------------------------------------------------------------------- sensitivity against known answers
def _function_sweep(tmp: Path, mode: str, samples: int, bounds, function, fail=()):
    """Run a sweep whose cases are evaluated by `function` of the parameters (instead of the
    frame model) through run_sweep, the store and the report's reader."""
    paths = ["gap.width_mm", "gap.level_mm", "bone.min_skin_clearance_mm"][:len(bounds)]
    body = f'mode = "{mode}"\nsamples = {samples}\nseed = 11\nmax_cases = 100000\n' + "".join(
        f'[[parameters]]\npath = "{p}"\nmin = {lo!r}\nmax = {hi!r}\n' for p, (lo, hi) in zip(paths, bounds))
    sw = load_sweep(sweep_file(tmp, body, name=mode), yes=True)

    def evaluate(sw, i, comm):
        rec = {"id": sw.case_id(i), "index": i, "parameters": sw.cases[i], "time_s": 0.0}
        if i in fail:
            return dict(rec, status="failed", error="SolverError: made to fail")
        return dict(rec, status="ok", metrics={"y": function(*(sw.cases[i][p] for p in paths))})

    out = tmp / f"{mode}-out"
    res = run_sweep(sw, out, evaluate=evaluate)
    assert res["ok"] == len(sw.cases) - len(fail)
    return out


def test_sobol_indices_of_the_ishigami_function(tmp_path):
    """Ishigami (a = 7, b = 0.1, inputs uniform on [-pi, pi]): S1 = (0.314, 0.442, 0),
    ST = (0.558, 0.442, 0.244), analytically. Two failed cases leave out their base points."""
    a, b = 7.0, 0.1
    v1, v2, v13 = 0.5 * (1 + b * math.pi ** 4 / 5) ** 2, a ** 2 / 8, b ** 2 * math.pi ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    s1, st = [v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v]

    def ishigami(x1, x2, x3):
        return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3 ** 4 * math.sin(x1)

    out = _function_sweep(tmp_path, "sobol", 256, [(-math.pi, math.pi)] * 3, ishigami, fail={7, 600})
    meta, ok, failed = load_records(out)
    ind = sobol_indices(meta, ok, "y")
    assert ind["base_points"] == 256 and ind["left_out"] == 2 and len(failed) == 2
    for k in range(3):
        assert 0 < ind["S1_conf"][k] < 0.2 and 0 < ind["ST_conf"][k] < 0.2
        assert abs(ind["S1"][k] - s1[k]) <= ind["S1_conf"][k] + 0.03, (k, ind)
        assert abs(ind["ST"][k] - st[k]) <= ind["ST_conf"][k] + 0.03, (k, ind)
    assert ind["ST"][2] - ind["S1"][2] > 0.15  # x3 acts only with x1
    page = write_sweep_report(out, objective="y")
    text = page.read_text()
    assert text.index("display:flex") < text.index("Sobol' indices</h3>")  # beside the tornado
    rows = (out / "sensitivity.csv").read_text().splitlines()
    assert rows[0].startswith("parameter,S1,S1_conf") and len(rows) == 4
    assert (out / "sensitivity.png").stat().st_size > 5000
    assert "Pareto front</h2><p>Not drawn" in text  # no frame mass in these records


def test_morris_screening_of_a_linear_function(tmp_path):
    """y = 2 x1 - 0.5 x2 (x3 unused), x1 on [0, 10], x2 on [-4, 4]: every elementary
    effect over the whole range is exact, mu* = (20, 4, 0) and sigma = 0."""
    out = _function_sweep(tmp_path, "morris", 10, [(0.0, 10.0), (-4.0, 4.0), (0.0, 1.0)],
                          lambda x1, x2, x3: 2 * x1 - 0.5 * x2, fail={3})
    meta, ok, _failed = load_records(out)
    ind = morris_indices(meta, ok, "y")
    assert ind["trajectories"] == 10 and ind["left_out"] == 1
    assert ind["mu_star"] == pytest.approx([20.0, 4.0, 0.0], abs=1e-9)
    assert ind["mu"] == pytest.approx([20.0, -4.0, 0.0], abs=1e-9)
    assert ind["sigma"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    write_sweep_report(out, objective="y")
    assert "Morris screening" in (out / "sweep_report.html").read_text()


def test_the_columnar_summary_equals_the_row_by_row_one(tmp_path):
    """summary_arrow (pyarrow's JSON reader, used at scale) and rows() give the same
    summary: failed cases without metrics, a discarded late result, a record without an
    index line, a line cut short by a killed writer."""
    out = _function_sweep(tmp_path, "lhs", 12, [(0.0, 1.0), (2.0, 3.0)], lambda x1, x2: x1 * x2, fail={2, 5})
    store = SweepStore(out)
    sw = load_sweep(tmp_path / "lhs.toml", yes=True)
    late = SweepStore(out)
    late.start()
    assert not late.write_record({"id": sw.case_id(0), "index": 0, "status": "ok", "metrics": {"y": -1.0}}, {})
    late.finish()
    segment = next(p for p in (out / "index").glob("*.jsonl") if sw.case_id(3) in p.read_text())
    kept = [line for line in segment.read_text().splitlines(keepends=True) if sw.case_id(3) not in line]
    segment.write_text("".join(kept) + '{"id": "case00001-')  # case 3 without its line; a killed writer's last line
    from sim.sweep import write_summary
    from sim.sweep_store import summary_arrow

    table = summary_arrow(store, add_missing=False)
    assert table is not None and table.num_rows == 12
    for name, rows in (("rows", store.rows(add_missing=False)), ("arrow", table)):
        (tmp_path / name).mkdir()
        write_summary(tmp_path / name, rows)
    with open(tmp_path / "rows" / "summary.csv") as a, open(tmp_path / "arrow" / "summary.csv") as b:
        assert list(csv.DictReader(a)) == list(csv.DictReader(b))
    by_id = {r["id"]: r for r in csv.DictReader(open(tmp_path / "arrow" / "summary.csv"))}
    assert by_id[sw.case_id(2)]["status"] == "failed" and by_id[sw.case_id(2)]["y"] == ""
    assert by_id[sw.case_id(2)]["error"] == "SolverError: made to fail"
    assert float(by_id[sw.case_id(3)]["y"]) == pytest.approx(np.prod(list(sw.cases[3].values())))
    assert float(by_id[sw.case_id(0)]["y"]) == pytest.approx(np.prod(list(sw.cases[0].values())))  # not the late one


def test_a_design_run_too_little_for_indices_is_said_so_in_the_report(tmp_path):
    """Two Morris trajectories, one with a failed case: the indices need two whole ones;
    the report is still written, and says why there are no indices."""
    out = _function_sweep(tmp_path, "morris", 2, [(0.0, 1.0), (0.0, 1.0)], lambda x1, x2: x1 + x2, fail={0})
    meta, ok, _failed = load_records(out)
    with pytest.raises(ReportError, match="Morris screening of y: 1 of 2 trajectories have all their 3 cases solved; "
                       "accepted: at least 2"):
        morris_indices(meta, ok, "y")
    text = write_sweep_report(out, objective="y").read_text()
    assert "Not computed: Morris screening of y: 1 of 2 trajectories" in text
    assert not (out / "sensitivity.csv").exists() and (out / "tornado.png").is_file()


@pytest.mark.slow
def test_a_sobol_sweep_of_the_frame_reports_its_indices(tmp_path):
    """The frame model through the command line: a Saltelli design over the wire tension
    and the gap (which the frame's initial stiffness does not feel: the fragments do not
    touch), indices in the report beside the tornado."""
    sweep = sweep_file(tmp_path, 'mode = "sobol"\nsamples = 4\nseed = 3\n[[parameters]]\npath = '
                       '"wires[*].tension_kgf"\nmin = 50\nmax = 130\n[[parameters]]\npath = "gap.width_mm"\n'
                       "min = 2\nmax = 8\n")
    out = tmp_path / "o"
    r = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(sweep), "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "sim.cli", "report", str(out)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    rows = [line.split(",") for line in (out / "sensitivity.csv").read_text().splitlines()[1:]]
    by = {row[0]: [float(x) for x in row[1:]] for row in rows}
    assert by["wires[*].tension_kgf"][2] > 0.5  # ST: the tension carries the variance
    assert abs(by["gap.width_mm"][2]) < 1e-6  # ST: nothing
    html = (out / "sweep_report.html").read_text()
    flex = html.index("display:flex")
    assert flex < html.index("Sobol' indices") and html.count("data:image/png") >= 4


# ----------------------------------------------------------------------------- a real Slurm job array
@pytest.fixture(scope="module")
def local_slurm(tmp_path_factory):
    """A single-node Slurm on this machine (hpc/slurm_local.sh), stopped at the end."""
    cluster = tmp_path_factory.mktemp("slurm")
    r = subprocess.run(["bash", str(ROOT / "hpc" / "slurm_local.sh"), "start", str(cluster)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"could not start a local Slurm: {r.stderr.strip() or r.stdout.strip()}"
    try:
        yield {**os.environ, "SLURM_CONF": str(cluster / "slurm.conf"), "VENV": sys.prefix}
    finally:
        subprocess.run(["bash", str(ROOT / "hpc" / "slurm_local.sh"), "stop", str(cluster)], timeout=60)


def _slurm(env, *args) -> str:
    r = subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, f"{' '.join(args)}: {r.stderr}"
    return r.stdout.strip()


def _wait_for_job(env, job: str, timeout: float = 300.0) -> None:
    deadline = time.time() + timeout
    while _slurm(env, "squeue", "-h", "-j", job, "-o", "%i"):
        assert time.time() < deadline, _slurm(env, "squeue", "-h", "-j", job, "-o", "%i %T %r")
        time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["requeue", "kill"])
def test_a_slurm_array_started_together_with_one_task_stopped_mid_way(tmp_path, local_slurm, how):
    """hpc/sweep_array.sbatch as an array of two tasks that start together on a new store.
    Task 0 is stopped mid-way: 'requeue' as a preemption does it (scontrol requeue: SIGTERM,
    then the same task runs again with SLURM_RESTART_COUNT 1), 'kill' by SIGKILL to its
    batch step, then resubmitted alone (SHARDS=2 sbatch --array=0). Every case is recorded
    once; the case task 0 was solving is recorded by its second start (attempt 2)."""
    env = local_slurm
    sweep = gap_sweep(tmp_path, 40)
    sw = load_sweep(sweep)
    out = tmp_path / "o"

    def submit(array: str, **extra) -> str:
        return _slurm({**env, **extra}, "sbatch", "--parsable", f"--array={array}", f"--chdir={tmp_path}",
                      f"--output={tmp_path}/task-%A_%a.out", str(ROOT / "hpc" / "sweep_array.sbatch"), str(sweep),
                      str(out)).split(";")[0]

    job = submit("0-1")
    deadline = time.time() + 120
    while True:  # mid-way: task 0 has recorded some of its 20 cases
        mine = [r for r in (sharedfs.read_json(p) for p in out.glob("cases/*.json")) if r and r["index"] % 2 == 0]
        if len(mine) >= 3:
            break
        assert time.time() < deadline, "task 0 recorded nothing within 120 s"
        time.sleep(0.05)
    if how == "requeue":
        _slurm(env, "scontrol", "requeue", f"{job}_0")
        deadline = time.time() + 60
        while "PENDING" not in _slurm(env, "squeue", "-h", "-j", f"{job}_0", "-o", "%T"):
            assert time.time() < deadline
            time.sleep(0.2)
        _slurm(env, "scontrol", "update", f"JobId={job}_0", "StartTime=now")  # Slurm delays a requeued job ~2 min
        _wait_for_job(env, job)
    else:
        _slurm(env, "scancel", "--full", "--signal=KILL", f"{job}_0")
        _wait_for_job(env, job)
        _wait_for_job(env, submit("0", SHARDS="2"))
    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("task-*.out")))
    records = assert_recorded_once(out, sw)

    owners = [json.loads(p.read_text()) for p in (out / "owners").glob("*.json")]
    first_run = [o for o in owners if o["process"]["slurm"]["array_job"] == job
                 and o["process"]["slurm"].get("restarts", "0") == "0"]
    starts = sorted(o["started"] for o in first_run)
    assert len(starts) == 2 and starts[1] - starts[0] < 5.0, (starts, logs)  # the two tasks started together
    first = [o for o in first_run if o["process"]["slurm"]["array_task"] == "0"]
    stopped = first[0]["owner"] if len(first) == 1 else None
    assert stopped is not None, owners
    if how == "requeue":
        assert owners[[o["owner"] for o in owners].index(stopped)]["how"] == "interrupted", logs
        assert "restart 1" in logs
    by_task = Counter((r["slurm"]["array_task"], r["index"] % 2) for r in records.values())
    assert set(by_task) == {("0", 0), ("1", 1)} and sum(by_task.values()) == 40  # each task ran its shard only
    interrupted = [r for r in records.values() if r["attempt"] > 1]
    assert len(interrupted) <= 1, interrupted
    for r in interrupted:  # the case task 0 was solving: started again by its next run, once
        claim = json.loads((out / "claims" / f"{r['id']}.1").read_text())
        assert claim["owner"] == stopped and r["owner"] != stopped and r["attempt"] == 2
    assert any(r["owner"] == stopped for r in records.values())


def test_a_task_end_keeps_a_newer_summary_and_never_waits_for_a_rebuilder(tmp_path):
    """At a task's end: a summary read after its last record is kept (not rebuilt again);
    a summary being rebuilt by another process is left to it (no waiting), with a mark
    that makes that process rebuild once more."""
    sw, out, _store_ = _store(tmp_path)
    rec = {"id": sw.case_id(0), "index": 0, "parameters": sw.cases[0], "status": "ok", "metrics": {"x": 1.0}}
    assert sharedfs.create_exclusive(out / "cases" / f"{sw.case_id(0)}.json", json.dumps(rec))
    since = sharedfs.server_now(out)
    assert rebuild_summary(out, since=since) == (1, 0)
    read_at = read_manifest(out)["sweep_summary"]["read_at"]
    assert read_at > since
    assert rebuild_summary(out, since=since) == (1, 0)
    assert read_manifest(out)["sweep_summary"]["read_at"] == read_at  # kept
    lock = sharedfs.FileLock(out / ".ilizarov-lock", purpose="summary").acquire()
    try:
        t0 = time.monotonic()
        assert rebuild_summary(out, since=sharedfs.server_now(out)) is None
        assert time.monotonic() - t0 < 5
        mark = (out / "index" / "summary-wanted").read_text()
    finally:
        lock.release()
    assert rebuild_summary(out) == (1, 0)  # the rebuilder (here: a report) sees a mark that is not its own
    assert (out / "index" / "summary-wanted").read_text() == mark
    assert foreign_entries(out, read_manifest(out), store_entry) == []
