"""Time the frame model on a scenario, optionally against an earlier revision in the same run.

Measures, in fresh processes (forms compiled or loaded from the cache by a warm-up solve):
the solve (pretension and every load case), the set-up (forms and fields) and mesh +
set-up + solve, as medians over repeated solves; then the whole `ilizarov run` command.
With --baseline REV the same measurements run on that git revision (checked out in a
temporary worktree) alternately with the working tree, and the ratios are printed: the
machine is shared, so only ratios measured in one run mean anything.

    python benchmarks/bench_frame.py [SCENARIO] [--repeat N] [--rounds R] [--baseline REV]

Targets: solve < 2 s on one core; `ilizarov run` < 15 s; against the revision before
issue 13 (exact rotations, contact over the section, tangents and contact events), the
solve no slower than 1.2x.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, statistics, sys
import sim.fenicsx  # noqa: F401
from sim.run import solve_frame
from sim.scenario import load_scenario
s = load_scenario(sys.argv[1])
solve_frame(s)
t = {"solve": [], "setup": [], "total": []}
for _ in range(int(sys.argv[2])):
    r = solve_frame(s).results
    for k in t:
        t[k].append(r["timings_s"][k])
    cells, dofs = r["mesh"]["cells"], r["mesh"]["dofs"]
print(json.dumps({k: statistics.median(v) for k, v in t.items()} | {"cells": cells, "dofs": dofs}))
"""


def measure(tree: Path, scenario: str, repeat: int) -> dict:
    env = {"PYTHONPATH": str(tree), "PATH": str(Path(sys.executable).parent)}
    out = subprocess.run([sys.executable, "-c", CHILD, scenario, str(repeat)], capture_output=True, text=True,
                         cwd=tree, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "standard-4ring.toml"))
    ap.add_argument("--repeat", type=int, default=5, help="timed solves per process (median taken)")
    ap.add_argument("--rounds", type=int, default=3, help="processes per tree, alternating (median taken)")
    ap.add_argument("--baseline", help="a git revision to compare with (e.g. 0cb1d33)")
    args = ap.parse_args()
    scenario = str(Path(args.scenario).resolve())

    trees = {"working tree": ROOT}
    tmp = None
    if args.baseline:
        tmp = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tmp / "tree"),
                        args.baseline], check=True)
        trees = {f"baseline {args.baseline}": tmp / "tree", **trees}
    try:
        runs: dict[str, list[dict]] = {k: [] for k in trees}
        for r in range(args.rounds):
            for name, tree in trees.items():
                runs[name].append(measure(tree, scenario, args.repeat))
                m = runs[name][-1]
                print(f"round {r + 1}, {name}: solve {m['solve']:.3f} s, setup {m['setup']:.3f} s, "
                      f"total {m['total']:.3f} s", flush=True)
    finally:
        if tmp is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "tree")], check=False)
    med = {name: {k: statistics.median(m[k] for m in ms) for k in ("solve", "setup", "total")}
           for name, ms in runs.items()}
    last = runs["working tree"][-1]
    print(f"\nscenario {Path(scenario).name}: {last['cells']} cells, {last['dofs']} dofs")
    for name, m in med.items():
        print(f"{name:>28}: solve {m['solve']:.3f} s (target < 2 s), set-up {m['setup']:.3f} s, "
              f"mesh + set-up + solve {m['total']:.3f} s")
    if args.baseline:
        base, new = med[f"baseline {args.baseline}"], med["working tree"]
        print(f"ratio working tree / baseline: solve {new['solve'] / base['solve']:.2f} (target <= 1.2), "
              f"total {new['total'] / base['total']:.2f}")
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim.cli", "run", scenario, "--out", f"{out}/run", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        cli = time.perf_counter() - t0
    print(f"`ilizarov run` from the command line (with picture): {cli:.2f} s (target < 15 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
