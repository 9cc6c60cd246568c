"""The continuum model against the frame model on one scenario, with the frame model's
wire-bone links both ways (issue 3: "the difference explained").

The frame model's smooth wire lets the bone slide along it and spin about it (the
link releases that direction); an olive wire's link holds it. The continuum model
bonds every wire to the cortex it crosses. This script solves the frame model twice —
the wires as the scenario has them, and every wire bonded (olive = true) — and the
continuum model once, on the same loads, and prints the initial axial stiffness, the
axial IFM at the first load step and the bending and torsional stiffness of the three
(secant, at the first load step and at full load).

    python benchmarks/continuum_vs_frame.py [SCENARIO] [--degree 1|2] [--size MM] [--wire-size MM]
        [--cases axial bending_ap torsion]

Run it under mpirun -n N to give the continuum solve N ranks. On the standard frame
with the default quadratic mesh it takes about 15 minutes on 2 ranks; `--degree 1`
gives the same picture in a few minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def summary(results: dict) -> dict[str, float]:
    """Initial axial stiffness (N/mm), axial IFM at the first step (mm), and the secant
    stiffness (N·m/deg) of each moment case in results.json data."""
    out = {}
    for name, case in results["load_cases"].items():
        if name == "axial":
            out["axial initial stiffness, N/mm"] = case["initial_stiffness_N_per_mm"]
            out[f"axial IFM at {case['load_N'][1]:g} N, mm"] = case["ifm_axial_history_mm"][1]
        else:
            moment, rotation = case["moment_Nm"], case["rotation_deg"]
            if len(moment) > 2:
                out[f"{name} at {moment[1]:g} N·m, N·m/deg"] = moment[1] / rotation[1]
            out[f"{name} at {moment[-1]:g} N·m, N·m/deg"] = case["stiffness_Nm_per_deg"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "standard-4ring.toml"))
    ap.add_argument("--degree", type=int, default=None, help="element degree (default: the scenario's)")
    ap.add_argument("--size", type=float, default=None, help="element_size_mm (default: the scenario's)")
    ap.add_argument("--wire-size", type=float, default=None, help="wire_element_size_mm (default: the scenario's)")
    ap.add_argument("--cases", nargs="+", default=["axial", "bending_ap", "torsion"])
    args = ap.parse_args()
    from mpi4py import MPI

    from sim.continuum_run import solve_continuum
    from sim.run import solve_frame
    from sim.scenario import parse_scenario

    comm = MPI.COMM_WORLD
    rank0 = comm.rank == 0
    data = tomllib.loads(Path(args.scenario).read_text())
    data.setdefault("loads", {})["cases"] = args.cases
    continuum = data.setdefault("continuum", {})
    for key, value in (("element_degree", args.degree), ("element_size_mm", args.size),
                       ("wire_element_size_mm", args.wire_size)):
        if value is not None:
            continuum[key] = value
    scenario = parse_scenario(data)
    bonded = dataclasses.replace(scenario, wires=[dataclasses.replace(w, olive=True) for w in scenario.wires])

    columns = {}
    if rank0:  # the frame model is small: rank 0 alone
        for label, s in (("frame, wires as given", scenario), ("frame, wires bonded", bonded)):
            columns[label] = summary(solve_frame(s, MPI.COMM_SELF).results)
    t0 = time.perf_counter()
    log = (lambda m: print(f"  [{time.perf_counter() - t0:7.1f} s] {m}", flush=True)) if rank0 else None
    run = solve_continuum(scenario, comm, log=log)
    mesh = run.results["mesh"]
    columns[f"continuum P{scenario.continuum.element_degree}"] = summary(run.results)
    if rank0:
        print(f"\n{Path(args.scenario).name}: continuum mesh {mesh['cells']} cells, {mesh['dofs']} unknowns, "
              f"{time.perf_counter() - t0:.0f} s on {comm.size} rank(s)\n")
        labels = list(columns)
        print(f"{'':34s}" + "".join(f"{c:>24s}" for c in labels))
        for row in columns[labels[0]]:
            print(f"{row:34s}" + "".join(f"{columns[c].get(row, float('nan')):24.3f}" for c in labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
