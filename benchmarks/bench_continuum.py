"""Speed and memory of the continuum model (issue 3) on this machine.

The standard scenario's axial case, pretension included, on the scenario's default
continuum mesh (quadratic tetrahedra), on 1 and on 2 MPI ranks; and, in the same run, a
plain elasticity cube with about as many unknowns solved with the same solver settings
(the best this solver stack does per unknown). Prints, per run: unknowns, Newton and
linear (Krylov) iterations, wall time, peak memory summed over the ranks; then the
speed-up from 1 to 2 ranks and the frame's time per unknown and Newton iteration over
the cube's, against the issue's targets.

The cube is solved with CG + GAMG (given the rigid-body modes): on a compact, uniform
cube that is what this stack does best. A MUMPS factorisation of the cube, the frame's
default solver, needs more than this machine's 24 GB at the frame's size (a compact
3D body fills in far more than the slender frame), so it is not the fair yardstick.

    python benchmarks/bench_continuum.py [SCENARIO] [--ranks 1 2] [--degree 2]

Each run is a separate `mpirun -n N` process (so the memory is that run's own).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"wall_2_ranks_s": 15 * 60, "memory_GB": 8.0, "speedup": 1.6, "per_unknown_ratio": 2.0}


def _peak_memory_GB(comm) -> float:
    import resource

    from mpi4py import MPI

    return comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, op=MPI.SUM)


def worker_frame(scenario: str, degree: int | None) -> dict:
    import tomllib

    from mpi4py import MPI

    from sim.continuum_run import solve_continuum
    from sim.scenario import parse_scenario

    data = tomllib.loads(Path(scenario).read_text())
    data.setdefault("loads", {})["cases"] = ["axial"]
    if degree is not None:
        data.setdefault("continuum", {})["element_degree"] = degree
    s = parse_scenario(data)
    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    run = solve_continuum(s, comm, log=lambda m: print(f"  [{time.perf_counter() - t0:7.1f} s] {m}", flush=True))
    wall = time.perf_counter() - t0
    r = run.results
    a = r["load_cases"]["axial"]
    return {"kind": "frame", "ranks": comm.size, "unknowns": r["mesh"]["dofs"], "cells": r["mesh"]["cells"],
            "newton_iterations": r["solver"]["newton_iterations"], "krylov_iterations": r["solver"]["krylov_iterations"],
            "linear_solver": r["solver"]["linear_solver"], "wall_s": wall, "mesh_s": r["timings_s"]["mesh"],
            "solve_s": r["timings_s"]["solve"], "memory_GB": _peak_memory_GB(comm),
            "axial_initial_N_per_mm": a["initial_stiffness_N_per_mm"], "ifm_axial_mm": a["ifm_axial_history_mm"][1],
            "first_load_N": a["load_N"][1], "degree": s.continuum.element_degree}


def worker_cube(unknowns: int, degree: int, linear_solver: str) -> dict:
    """A steel cube, clamped at its base and pulled on its top, as the same SVK problem
    with the same Newton options as the frame."""
    import numpy as np
    from mpi4py import MPI

    import sim.fenicsx  # noqa: F401
    from dolfinx import mesh
    from sim.continuum import ContinuumProblem

    comm = MPI.COMM_WORLD
    # P2 tetrahedra on an n^3 box: (2n + 1)^3 nodes, 3 unknowns each
    n = max(2, round(((unknowns / 3) ** (1 / 3) - 1) / degree))
    t0 = time.perf_counter()
    box = mesh.create_box(comm, [np.zeros(3), np.ones(3) * 100.0], [n, n, n], mesh.CellType.tetrahedron)
    prob = ContinuumProblem(box, degree=degree, linear_solver=linear_solver)
    im = box.topology.index_map(3)
    prob.set_material(np.arange(im.size_local + im.num_ghosts), 200000.0, 0.3)
    box.topology.create_connectivity(2, 3)
    bottom = mesh.locate_entities_boundary(box, 2, lambda x: np.isclose(x[2], 0.0))
    top = mesh.locate_entities_boundary(box, 2, lambda x: np.isclose(x[2], 100.0))
    tags = mesh.meshtags(box, 2, np.sort(top), np.full(len(top), 1, dtype=np.int32))
    prob.clamp(bottom)
    prob.add_traction(tags, 1, np.array([10.0, 0.0, -50.0]))
    prob._build()  # forms compiled and matrices created outside the timed solve
    t_setup = time.perf_counter() - t0
    t1 = time.perf_counter()
    prob.solve(1, context="cube")
    solve = time.perf_counter() - t1
    return {"kind": "cube", "ranks": comm.size, "unknowns": prob.num_dofs, "newton_iterations": prob.newton_iterations,
            "krylov_iterations": prob.krylov_iterations, "wall_s": t_setup + solve, "solve_s": solve,
            "memory_GB": _peak_memory_GB(comm)}


def _spawn(ranks: int, args: list[str]) -> dict:
    mpirun = Path(sys.executable).with_name("mpirun")
    cmd = [str(mpirun) if mpirun.exists() else "mpirun", "-n", str(ranks), sys.executable, __file__, "--worker", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    result = None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        print(line, end="", flush=True)
    if proc.wait() != 0 or result is None:
        raise SystemExit(f"benchmark run failed: {' '.join(cmd)}")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "standard-4ring.toml"))
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--degree", type=int, default=None, help="element degree (default: the scenario's)")
    ap.add_argument("--worker", choices=("frame", "cube"), help=argparse.SUPPRESS)
    ap.add_argument("--unknowns", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--linear-solver", default="lu", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        from mpi4py import MPI

        if args.worker == "frame":
            out = worker_frame(args.scenario, args.degree)
        else:
            out = worker_cube(args.unknowns, args.degree or 2, args.linear_solver)
        if MPI.COMM_WORLD.rank == 0:
            print("RESULT " + json.dumps(out), flush=True)
        return 0

    rows = []
    for n in args.ranks:
        print(f"== the frame, {n} rank(s)", flush=True)
        f = _spawn(n, ["frame", args.scenario] + (["--degree", str(args.degree)] if args.degree else []))
        rows.append(f)
        print(f"== a plain elasticity cube of about {f['unknowns']} unknowns, {n} rank(s)", flush=True)
        rows.append(_spawn(n, ["cube", "--unknowns", str(f["unknowns"]), "--degree", str(f["degree"]),
                               "--linear-solver", "gamg"]))
    print("\n| run | ranks | unknowns | Newton its | linear its | wall s | solve s | memory GB | s per unknown and "
          "Newton it |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        per = r["solve_s"] / (r["unknowns"] * max(r["newton_iterations"], 1))
        r["per_unknown_s"] = per
        print(f"| {r['kind']} | {r['ranks']} | {r['unknowns']} | {r['newton_iterations']} | {r['krylov_iterations']} | "
              f"{r['wall_s']:.0f} | {r['solve_s']:.0f} | {r['memory_GB']:.2f} | {per:.2e} |")
    frames = {r["ranks"]: r for r in rows if r["kind"] == "frame"}
    cubes = {r["ranks"]: r for r in rows if r["kind"] == "cube"}
    f0 = next(iter(frames.values()))
    print(f"\nfirst axial step {f0['first_load_N']:.0f} N: initial axial stiffness {f0['axial_initial_N_per_mm']:.2f} "
          f"N/mm, axial IFM {f0['ifm_axial_mm']:.4f} mm")
    if 2 in frames:
        f2 = frames[2]
        print(f"2 ranks: wall {f2['wall_s'] / 60:.1f} min (target < {TARGETS['wall_2_ranks_s'] / 60:.0f}), memory "
              f"{f2['memory_GB']:.2f} GB (target < {TARGETS['memory_GB']:.0f})")
    if 1 in frames and 2 in frames:
        print(f"speed-up 1 -> 2 ranks: {frames[1]['wall_s'] / frames[2]['wall_s']:.2f}x (target >= "
              f"{TARGETS['speedup']})")
    for n in frames:
        if n in cubes:
            print(f"{n} rank(s): time per unknown and Newton iteration, frame / cube = "
                  f"{frames[n]['per_unknown_s'] / cubes[n]['per_unknown_s']:.2f} (target <= "
                  f"{TARGETS['per_unknown_ratio']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
