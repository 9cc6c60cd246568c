"""Sweep throughput: the same 200-case frame-model sweep on 1 and on 2 MPI ranks, measured
in one run (the machine is shared: compare the ratio, not the absolute numbers).
Targets (issue 5): 2 ranks at least 1.8x one rank, and at least one case per second per
rank once forms are compiled (the first case compiles or loads them; it is excluded).

    python benchmarks/bench_sweep.py [--cases 200]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(n_ranks: int, sweep: Path, out: Path) -> float:
    mpirun = Path(sys.executable).parent / "mpirun"
    cmd = [sys.executable, "-m", "sim.cli", "sweep", str(sweep), "--out", str(out), "--quiet", "--yes"]
    if n_ranks > 1:
        cmd = [str(mpirun), "-n", str(n_ranks), *cmd]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sweep = tmp / "bench.toml"
        sweep.write_text(f'''name = "bench"
base = "{ROOT / 'scenarios' / 'sweeps' / 'sweep-base.toml'}"
mode = "lhs"
samples = {args.cases}
seed = 1
[[parameters]]
path = "wires[*].tension_kgf"
min = 50
max = 130
[[parameters]]
path = "rings[*].inner_diameter_mm"
min = 150
max = 190
''')
        warm = tmp / "warm.toml"
        warm.write_text(sweep.read_text().replace(f"samples = {args.cases}", "samples = 2"))
        run(1, warm, tmp / "warm")  # compile (or load) the forms once
        walls = {n: run(n, sweep, tmp / f"out{n}") for n in (1, 2)}
        times = [json.loads(p.read_text())["time_s"] for p in (tmp / "out1" / "cases").glob("*.json")]
        busy = {}
        for n in (1, 2):
            per_rank: dict[int, float] = {}
            for p in (tmp / f"out{n}" / "cases").glob("*.json"):
                rec = json.loads(p.read_text())
                per_rank[rec["world_rank"]] = per_rank.get(rec["world_rank"], 0.0) + rec["time_s"]
            busy[n] = max(per_rank.values())
    per_min = {n: 60.0 * args.cases / w for n, w in walls.items()}
    print(f"{args.cases} frame-model cases (4-ring frame, axial 4 steps + bending + torsion):")
    for n in (1, 2):
        print(f"  {n} rank(s): {walls[n]:.1f} s wall, {per_min[n]:.0f} cases/min, "
              f"{per_min[n] / 60 / n:.2f} cases/s per rank")
    print(f"  speed-up on 2 ranks: {walls[1] / walls[2]:.2f}x wall clock (start-up of the processes included), "
          f"{busy[1] / busy[2]:.2f}x in the cases themselves (busiest rank's solving time); target >= 1.8x")
    print(f"  solving throughput: 1 rank {args.cases / busy[1]:.2f} cases/s, 2 ranks {args.cases / busy[2]:.2f} "
          "cases/s")
    print(f"  one case on one rank: median {sorted(times)[len(times) // 2]:.3f} s (target <= 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
