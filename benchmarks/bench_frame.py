"""Time the standard scenario: solver (pretension + all load cases, forms compiled) and
the whole `ilizarov run` command. Targets (issue 2): solve < 2 s on one core once forms
are compiled; `ilizarov run` < 15 s. Ratios are measured in one run; the machine is shared.

    python benchmarks/bench_frame.py [SCENARIO] [--repeat N]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "standard-4ring.toml"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from sim.run import solve_frame
    from sim.scenario import load_scenario

    s = load_scenario(args.scenario)
    solve_frame(s)  # compiles (or loads from the cache) every form
    solves, totals = [], []
    for _ in range(args.repeat):
        run = solve_frame(s)
        solves.append(run.results["timings_s"]["solve"])
        totals.append(run.results["timings_s"]["total"])
    print(f"scenario {s.name}: {run.results['mesh']['cells']} cells, {run.results['mesh']['dofs']} dofs")
    print(f"pretension + {len(s.loads.cases)} load cases (solve): median {statistics.median(solves):.3f} s, "
          f"min {min(solves):.3f} s over {args.repeat} runs (target < 2 s)")
    print(f"mesh + setup + solve in-process: median {statistics.median(totals):.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim.cli", "run", args.scenario, "--out", f"{tmp}/run", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        cli = time.perf_counter() - t0
    print(f"`ilizarov run` from the command line (with picture): {cli:.2f} s (target < 15 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
