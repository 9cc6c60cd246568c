"""Mesh convergence of the standard frame's initial axial stiffness in the continuum model
(issue 3): the frame solid at successively finer meshes, pretensioned, then pushed with
50 N (before the gap closes); prints each level, the change between the last two meshes
and how far the scenario's default mesh is from the finest.

    python benchmarks/continuum_convergence.py [SCENARIO] [--degree 2] [--levels 16:1.8 12:0.9 10:0.7 8:0.6 6:0.45]
        [--linear-solver auto|lu|gamg]

A level is element_size_mm:wire_element_size_mm. Run it under mpirun -n N to use N ranks.
"""

import argparse
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEVELS = {1: ("12:1.8", "10:1.2", "8:0.9"), 2: ("16:1.8", "12:0.9", "10:0.7", "8:0.6", "6:0.45")}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "standard-4ring.toml"))
    ap.add_argument("--degree", type=int, default=2)
    ap.add_argument("--levels", nargs="+", default=None)
    ap.add_argument("--linear-solver", default="auto", choices=("auto", "lu", "gamg"))
    args = ap.parse_args()
    from mpi4py import MPI

    from meshes.continuum import wire_element_size_mm
    from sim.continuum_run import solve_continuum
    from sim.scenario import parse_scenario

    rank0 = MPI.COMM_WORLD.rank == 0
    data = tomllib.loads(Path(args.scenario).read_text())
    data.setdefault("loads", {}).update({"cases": ["axial"], "axial": {"force_N": 50.0, "steps": 1}})
    s0 = parse_scenario(data)
    default = s0.continuum
    wire_default = wire_element_size_mm(s0, default.wire_element_size_mm)
    rows = []
    for level in args.levels or LEVELS[args.degree]:
        size, wire = (float(v) for v in level.split(":"))
        data["continuum"] = {**data.get("continuum", {}), "element_degree": args.degree, "element_size_mm": size,
                             "wire_element_size_mm": wire, "linear_solver": args.linear_solver}
        t0 = time.perf_counter()
        r = solve_continuum(parse_scenario(data)).results
        a = r["load_cases"]["axial"]
        rows.append((size, wire, r["mesh"]["cells"], r["mesh"]["dofs"], a["secant_stiffness_N_per_mm"],
                     a["ifm_axial_mm"], time.perf_counter() - t0))
        if rank0:
            print(f"size {size:4.1f} mm, wires {wire:4.2f} mm, P{args.degree}: {rows[-1][2]:7d} cells, {rows[-1][3]:8d} "
                  f"unknowns, k = {rows[-1][4]:.2f} N/mm, IFM {rows[-1][5]:.4f} mm ({rows[-1][6]:.0f} s)", flush=True)
    if rank0 and len(rows) > 1:
        k = [row[4] for row in rows]
        print(f"change between the last two meshes: {100 * (k[-1] / k[-2] - 1):+.2f} %")
        for row in rows:
            if (row[0], row[1]) == (default.element_size_mm, wire_default):
                print(f"the default mesh ({row[0]:g}/{row[1]:g} mm) against the finest: {100 * (row[4] / k[-1] - 1):+.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
