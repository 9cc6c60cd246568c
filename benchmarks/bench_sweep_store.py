"""The sweep store at scale (issue 17): a synthetic store of 10^5 recorded cases, then the
times of what a job array does with it: start-up (read the sweep file, check the store,
list what is recorded), resume (run the cases that are left), summary (summary.csv and
summary.parquet from the index) and the command line as a user calls it. Target: start-up
plus summary under 10 s. For contrast, the time to parse every record (what each start
and end of a sweep did before the index).

    python benchmarks/bench_sweep_store.py [--cases 100000] [--left 200] [--unindexed 1000]
                                           [--dir DIR] [--keep] [--no-contrast]

How the store is made: one case of the shipped sweep base is solved with the frame model,
and its record (about 21 kB: the case's full results and resolved scenario) is copied for
every case of a 10^5-point Latin-hypercube sweep, with the case's own id, parameters and
metrics; the store itself (sweep.json, the marker and manifest) is made by
sim.sweep.prepare_store, as a launcher makes it. The records are spread over 64
"array tasks" as a finished job array leaves them: a claim per case, an owner file per
task (ended), an index file per task. `--unindexed` records have no index line (tasks
killed between a record and its line); `--left` cases are not recorded yet (the resume
runs them, with a stand-in evaluation of a microsecond, so what is timed is the store's
bookkeeping, not the mechanics). The files are in the page cache when timed (just
written): on a cluster file system a cold listing adds the server's latency per
directory read, not per record.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sim.fenicsx  # noqa: E402,F401  (FEniCSx import order)
from mpi4py import MPI  # noqa: E402

from sim import sharedfs  # noqa: E402
from sim.sweep import load_sweep, prepare_store, rebuild_summary, run_case, run_sweep  # noqa: E402
from sim.sweep_store import SweepStore, record_times, summary_row  # noqa: E402

N_TASKS = 64


def sweep_text(n: int) -> str:
    return f'''name = "store-bench"
base = "{ROOT / 'scenarios' / 'sweeps' / 'sweep-base.toml'}"
mode = "lhs"
samples = {n}
seed = 7
max_cases = {n}
[[parameters]]
path = "wires[*].tension_kgf"
min = 50
max = 130
[[parameters]]
path = "rings[*].inner_diameter_mm"
min = 150
max = 190
'''


def make_store(sw, out: Path, n_left: int, n_unindexed: int) -> dict:
    """The synthetic store (see the module's docstring); what was made."""
    prepare_store(sw, out)
    template = run_case(sw, 0, MPI.COMM_SELF)
    assert template["status"] == "ok", template.get("error")
    base_metrics = dict(template["metrics"])
    owners = [sharedfs.token() for _ in range(N_TASKS)]
    t_start = time.time() - 3600.0
    for k, tok in enumerate(owners):
        body = {"owner": tok, "process": {"host": f"node{k // 4:03d}", "pid": 1000 + k}, "started": t_start,
                "ended": t_start + 3000.0, "how": "done"}
        (out / "owners" / f"{tok}.json").write_text(json.dumps(body))
    placeholder = dict(template, id="@ID@", index=-1, parameters="@PARAMETERS@", metrics="@METRICS@",
                       attempt=1, owner="@OWNER@", world_rank=0, host="@HOST@", pid=0,
                       **record_times(t_start, t_start + 1.0))
    text = json.dumps(placeholder, indent=1, default=float)
    head, rest = text.split('"@ID@"', 1)
    mid1, rest = rest.split('"@PARAMETERS@"', 1)
    mid2, rest = rest.split('"@METRICS@"', 1)
    mid3, rest = rest.split('"@OWNER@"', 1)
    mid4, tail = rest.split('"@HOST@"', 1)
    mid1 = mid1.replace('"index": -1', '"index": @INDEX@')
    n = len(sw.cases)
    recorded = n - n_left
    segments = [open(out / "index" / f"{tok}-r0.jsonl", "w", encoding="utf-8") for tok in owners]
    size = 0
    try:
        for i in range(recorded):
            cid, k = sw.case_id(i), i % N_TASKS
            scale = 1.0 + 0.001 * (i % 997)
            metrics = {m: (v * scale if isinstance(v, float) else v) for m, v in base_metrics.items()}
            rec_text = (head + json.dumps(cid) + mid1.replace("@INDEX@", str(i)) + json.dumps(sw.cases[i]) + mid2
                        + json.dumps(metrics) + mid3 + json.dumps(owners[k]) + mid4 + json.dumps(f"node{k // 4:03d}")
                        + tail)
            (out / "cases" / f"{cid}.json").write_text(rec_text)
            size += len(rec_text)
            (out / "claims" / f"{cid}.1").write_text(json.dumps({"case": cid, "attempt": 1, "owner": owners[k],
                                                                 "claimed": t_start}))
            if i % max(1, recorded // max(1, n_unindexed)) != 1 or n_unindexed == 0:
                rec = json.loads(rec_text) if i < 2 else {"id": cid, "index": i, "status": "ok",
                                                           "parameters": sw.cases[i], "metrics": metrics,
                                                           "time_s": template["time_s"], "attempt": 1,
                                                           "owner": owners[k], "model": "frame", "ranks": 1, "world_rank": 0,
                                                           **record_times(t_start, t_start + 1.0)}
                segments[k].write(json.dumps(dict(summary_row(rec), source="run"), default=float,
                                             separators=(",", ":")) + "\n")
    finally:
        for f in segments:
            f.close()
    return {"recorded": recorded, "record_kB": size / recorded / 1e3, "store_GB": size / 1e9}


def timed(what: str, fn, times: dict):
    t0 = time.perf_counter()
    value = fn()
    times[what] = time.perf_counter() - t0
    print(f"  {what}: {times[what]:.2f} s", flush=True)
    return value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100_000, help="cases in the sweep (default 100000)")
    ap.add_argument("--left", type=int, default=200, help="cases left for the resume to run (default 200)")
    ap.add_argument("--unindexed", type=int, default=1000, help="records without an index line (default 1000)")
    ap.add_argument("--dir", help="where to make the store (default: a temporary directory, removed at the end)")
    ap.add_argument("--keep", action="store_true", help="keep the store")
    ap.add_argument("--no-contrast", action="store_true", help="skip parsing every record (the old way)")
    args = ap.parse_args()
    where = Path(args.dir or tempfile.mkdtemp(prefix="ilizarov-store-bench-"))
    where.mkdir(parents=True, exist_ok=True)
    sweep = where / "bench.toml"
    sweep.write_text(sweep_text(args.cases))
    out = where / "store"
    times: dict[str, float] = {}
    try:
        print(f"making a store of {args.cases} cases in {out} ...", flush=True)
        t0 = time.perf_counter()
        sw = load_sweep(sweep, yes=True)
        made = make_store(sw, out, args.left, args.unindexed)
        print(f"  made in {time.perf_counter() - t0:.0f} s: {made['recorded']} records of {made['record_kB']:.1f} kB "
              f"({made['store_GB']:.2f} GB), {args.unindexed} without an index line, {args.left} cases left",
              flush=True)

        print("start-up (what every task of an array does first):", flush=True)
        sw = timed("read the sweep file and expand its cases (load_sweep)", lambda: load_sweep(sweep, yes=True), times)
        timed("check the store (prepare_store: an existing store of this sweep)", lambda: prepare_store(sw, out), times)
        store = SweepStore(out)
        done = timed("list the recorded cases (one listing of cases/)", store.recorded_ids, times)
        assert len(done) == made["recorded"]
        todo = [i for i in range(len(sw.cases)) if sw.case_id(i) not in done]
        assert len(todo) == args.left

        print(f"resume (run the {args.left} cases left, stand-in evaluation; includes start-up and the summary):",
              flush=True)

        def evaluate(sw, i, comm):
            return {"id": sw.case_id(i), "index": i, "parameters": sw.cases[i], "status": "ok", "model": "frame",
                    "metrics": {"axial_initial_N_per_mm": 1.0}, "time_s": 1e-6}

        res = timed("run_sweep", lambda: run_sweep(sw, out, world=MPI.COMM_SELF, evaluate=evaluate), times)
        assert res["ran"] == args.left and res["ok"] == len(sw.cases), res

        print("summary (summary.csv and summary.parquet of every case, under the store's lock):", flush=True)
        shutil.rmtree(out / "index")  # the worst case: no index at all (an index lost, or a store of version 1)
        (out / "index").mkdir()
        timed("rebuild_summary with no index at all (every record parsed once, index made again)",
              lambda: rebuild_summary(out), times)
        timed("rebuild_summary from the index", lambda: rebuild_summary(out), times)
        rows = (out / "summary.csv").read_text().count("\n") - 1
        assert rows == len(sw.cases), rows

        print("the command line (a fresh process: imports, start-up, nothing left to run, summary):", flush=True)
        cli = [sys.executable, "-m", "sim.cli", "sweep", str(sweep), "--out", str(out), "--yes", "--quiet"]
        r = timed("ilizarov sweep on the complete store", lambda: subprocess.run(cli, capture_output=True, text=True,
                                                                                  cwd=ROOT), times)
        assert r.returncode == 0, r.stderr
        imp = [sys.executable, "-c", "import sim.fenicsx, dolfinx, sim.sweep, sim.cli"]
        timed("  of which Python imports (dolfinx, mpi4py...)", lambda: subprocess.run(imp, check=True), times)

        if not args.no_contrast:
            print("contrast: parse every record (each start and end of a sweep before the index):", flush=True)

            def parse_all():
                for p in (out / "cases").iterdir():
                    if p.suffix == ".json":
                        json.loads(p.read_bytes())
            timed("parse every record", parse_all, times)

        startup = sum(times[k] for k in times if k.startswith(("read the sweep", "check the store", "list the")))
        summary = times["rebuild_summary from the index"]
        print(f"\nstart-up {startup:.2f} s + summary {summary:.2f} s = {startup + summary:.2f} s for "
              f"{len(sw.cases)} cases (target < 10 s); the command line end to end "
              f"{times['ilizarov sweep on the complete store']:.2f} s")
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(where, ignore_errors=True)
        elif args.keep:
            print(f"kept: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
