"""Fit one interface parameter to one calibration cell of the validation suite.

    python benchmarks/calibrate_interfaces.py validation/henderson2017-ilizarov-frame-only.toml axial \
        interfaces.rod_ring.axial_stiffness_N_per_mm 10 1e5

Bisection in log space between the two bounds (the model's value must be monotonic in
the parameter over them); prints each trial and the fitted value. The fitted value is
copied by hand into the interface's default (sim/scenario.py) with the cell named as its
source, and the cell is marked role = "calibration" in its file: every other cell stays a
prediction. Nothing here changes the project's files.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mpi4py import MPI  # noqa: E402

from sim.run import solve_frame  # noqa: E402
from sim.scenario import parse_scenario  # noqa: E402
from sim.validation_suite import cell_data, load_test, metric_value, set_table_key  # noqa: E402


def model_value(test, cell, path: str, value: float) -> float:
    data = cell_data(test, cell, "bench")
    set_table_key(data, path, value)  # interface tables may leave the parameter at its default
    run = solve_frame(parse_scenario(data), comm=MPI.COMM_SELF)
    return metric_value(run.results, cell.case, cell.metric)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("cell")
    ap.add_argument("path", help="scenario path of the parameter, e.g. interfaces.rod_ring.axial_stiffness_N_per_mm")
    ap.add_argument("low", type=float)
    ap.add_argument("high", type=float)
    ap.add_argument("--rel-tol", type=float, default=1e-3, help="stop when the model is this close to the target")
    args = ap.parse_args()
    test = load_test(Path(args.file))
    cell = next((c for c in test.cells if c.name == args.cell), None)
    if cell is None:
        print(f"{args.file}: no cell {args.cell!r}; accepted: {', '.join(c.name for c in test.cells)}", file=sys.stderr)
        return 2
    target = cell.published
    lo, hi = math.log(args.low), math.log(args.high)
    f_lo, f_hi = (model_value(test, cell, args.path, math.exp(x)) - target for x in (lo, hi))
    print(f"{args.path} = {args.low:g}: {f_lo + target:.5g}; = {args.high:g}: {f_hi + target:.5g}; target {target:g}")
    if f_lo * f_hi > 0:
        print("the target is not between the bounds; widen them", file=sys.stderr)
        return 1
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        f = model_value(test, cell, args.path, math.exp(mid)) - target
        print(f"  {args.path} = {math.exp(mid):.6g}: {f + target:.6g}", flush=True)
        if abs(f) <= args.rel_tol * abs(target):
            break
        if f * f_lo > 0:
            lo, f_lo = mid, f
        else:
            hi = mid
    print(f"fitted {args.path} = {math.exp(mid):.4g} (model {f + target:.5g} against {target:g}, {cell.name} of "
          f"{test.citation})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
