"""Stability numbers from solved load cases: pure functions, no solving.

Sign conventions of the results (units in the key names):
- axial load_N > 0 is compression (proximal pushed towards distal); displacement_mm > 0
  is shortening of the construct at the load point.
- ifm_axial_mm > 0 closes the gap; gap_strain = ifm_axial_mm / gap width (> 0 in
  compression); ifm_shear_mm is the transverse relative motion of the gap faces.
- wire tension > 0 in tension. Rotations in degrees about the moment's axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.units import N_PER_KGF

RESULTS_VERSION = 1


def _stiffness_pair(load: np.ndarray, disp: np.ndarray) -> tuple[float | None, float | None]:
    """Secant (last point) and tangent (last increment) stiffness of a curve."""
    secant = float(load[-1] / disp[-1]) if abs(disp[-1]) > 0 else None
    dd = disp[-1] - disp[-2]
    tangent = float((load[-1] - load[-2]) / dd) if len(load) > 1 and abs(dd) > 0 else None
    return secant, tangent


def _gap_closure_load(load: np.ndarray, ifm: np.ndarray, width: float) -> float | None:
    """Load at which the axial IFM reaches the gap width (linear interpolation)."""
    closed = np.flatnonzero(ifm >= width * (1 - 1e-6))
    if closed.size == 0:
        return None
    k = int(closed[0])
    if k == 0:
        return 0.0
    f = (width - ifm[k - 1]) / (ifm[k] - ifm[k - 1])
    return float(load[k - 1] + f * (load[k] - load[k - 1]))


def axial_metrics(case, gap_width_mm: float | None, has_regenerate: bool) -> dict[str, Any]:
    steps = case.steps
    load = np.array([s.load for s in steps])
    disp = np.array([s.response for s in steps])
    secant, tangent = _stiffness_pair(load, disp)
    last = steps[-1]
    out: dict[str, Any] = {
        "load_N": load.tolist(),
        "displacement_mm": disp.tolist(),
        "secant_stiffness_N_per_mm": secant,
        "tangent_stiffness_N_per_mm": tangent,
        "initial_stiffness_N_per_mm": float(load[1] / disp[1]) if len(load) > 1 and disp[1] else None,
        "wire_tension_N": last.wire_tension_N,
        "wire_tension_max_N": last.wire_tension_max_N,
        "wire_tension_history_N": {n: [s.wire_tension_N[n] for s in steps] for n in last.wire_tension_N},
        "max_von_mises_MPa": last.max_von_mises_MPa,
    }
    if last.gap_motion_mm is not None and gap_width_mm:
        ifm_axial = np.array([-s.gap_motion_mm[2] for s in steps])
        ifm_shear = np.array([float(np.hypot(*s.gap_motion_mm[:2])) for s in steps])
        through_gap = np.array([-(s.regenerate_force_N or 0.0) for s in steps])
        out.update({
            "ifm_axial_mm": float(ifm_axial[-1]),
            "ifm_shear_mm": float(ifm_shear[-1]),
            "gap_strain": float(ifm_axial[-1] / gap_width_mm),
            "ifm_axial_history_mm": ifm_axial.tolist(),
            "ifm_shear_history_mm": ifm_shear.tolist(),
            "load_through_gap_N": float(through_gap[-1]),
            "frame_load_share": float(1.0 - through_gap[-1] / load[-1]) if load[-1] else None,
            "gap_closed_at_N": None if has_regenerate else _gap_closure_load(load, ifm_axial, gap_width_mm),
        })
    else:
        out.update({"ifm_axial_mm": None, "ifm_shear_mm": None, "gap_strain": None, "frame_load_share": None})
    return out


def moment_metrics(case) -> dict[str, Any]:
    steps = case.steps
    moment = np.array([s.load for s in steps])
    rotation = np.array([s.response for s in steps])
    secant, tangent = _stiffness_pair(moment, rotation)
    last = steps[-1]
    out = {
        "moment_Nm": moment.tolist(),
        "rotation_deg": rotation.tolist(),
        "stiffness_Nm_per_deg": secant,
        "tangent_stiffness_Nm_per_deg": tangent,
        "wire_tension_N": last.wire_tension_N,
        "max_von_mises_MPa": last.max_von_mises_MPa,
    }
    if last.gap_motion_mm is not None:
        out["ifm_shear_mm"] = float(np.hypot(*last.gap_motion_mm[:2]))
        out["ifm_axial_mm"] = float(-last.gap_motion_mm[2])
    return out


def safety_factors(max_von_mises_MPa: dict[str, float], yield_by_group_MPa: dict[str, float]) -> dict[str, float | None]:
    """Yield stress over peak von Mises stress, per group of parts (None if unloaded)."""
    return {g: (yield_by_group_MPa[g] / s if s > 0 else None)
            for g, s in max_von_mises_MPa.items() if g in yield_by_group_MPa}


def build_results(scenario, pretension, cases: dict, *, cells: int, dofs: int, timings_s: dict,
                  yield_by_group_MPa: dict[str, float]) -> dict[str, Any]:
    """The results.json document (contract of architecture.md section 3, plus extras)."""
    gap_width = scenario.gap.width_mm if scenario.has_bone else None
    results: dict[str, Any] = {
        "results_version": RESULTS_VERSION,
        "model": "frame",
        "scenario": scenario.name,
        "setup": scenario.loads.setup,
        "mesh": {"cells": cells, "dofs": dofs},
        "pretension": {
            "mode": pretension.mode,
            "wires": [{
                "name": n,
                "target_N": pretension.target_N[n],
                "achieved_N": pretension.achieved_N[n],
                "target_kgf": pretension.target_N[n] / N_PER_KGF,
                "achieved_kgf": pretension.achieved_N[n] / N_PER_KGF,
                "uncorrected_N": pretension.uncorrected_N.get(n),
                "initial_strain": pretension.initial_strain[n],
            } for n in pretension.target_N],
        },
        "load_cases": {},
        "timings_s": timings_s,
    }
    worst: dict[str, float] = {}
    for name, case in cases.items():
        if name == "axial":
            m = axial_metrics(case, gap_width, scenario.gap.regenerate is not None)
        else:
            m = moment_metrics(case)
        m["safety_factor"] = safety_factors(m["max_von_mises_MPa"], yield_by_group_MPa)
        m["newton_iterations"] = sum(s.newton_iterations for s in case.steps)
        results["load_cases"][name] = m
        for g, v in m["max_von_mises_MPa"].items():
            worst[g] = max(worst.get(g, 0.0), v)
    results["max_von_mises_MPa"] = worst
    results["safety_factor"] = safety_factors(worst, yield_by_group_MPa)
    return results
