"""Mesh convergence of the standard frame's initial axial stiffness in the continuum model
(issue 3): the frame solid at successively finer meshes, pretensioned, then pushed with
50 N; prints each level and the change between the last two.

    python benchmarks/continuum_convergence.py [SCENARIO] [--degree 1]
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ((12.0, 1.8), (10.0, 1.2), (8.0, 0.9))  # (size_mm, wire_size_mm)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "standard-4ring.toml"))
    ap.add_argument("--degree", type=int, default=1)
    args = ap.parse_args()
    from sim.continuum import continuum_axial_stiffness
    from sim.scenario import load_scenario

    s = load_scenario(args.scenario)
    rows = []
    for size, wire in LEVELS:
        r = continuum_axial_stiffness(s, 50.0, size_mm=size, wire_size_mm=wire, degree=args.degree)
        rows.append(r)
        print(f"size {size:4.1f} mm, wires {wire:3.1f} mm, P{args.degree}: {r['cells']:7d} cells, {r['dofs']:7d} "
              f"unknowns, k = {r['axial_initial_N_per_mm']:.2f} N/mm (mesh {r['mesh_s']:.0f} s, solve "
              f"{r['solve_s']:.0f} s)", flush=True)
    k = [r["axial_initial_N_per_mm"] for r in rows]
    print(f"change between the last two meshes: {100 * (k[-1] / k[-2] - 1):+.2f} %; the coarsest against the "
          f"finest: {100 * (k[0] / k[-1] - 1):+.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
