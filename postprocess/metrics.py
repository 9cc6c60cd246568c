"""Stability numbers from solved load cases: pure functions, no solving.

Every displacement, rotation and interfragmentary motion is measured from the
pretensioned state (the frame as the surgeon leaves it); the same from the unloaded,
untensioned mesh is kept in fields named *_absolute_*. No number depends on the load
steps: stiffnesses called initial and tangent come from the tangent stiffness matrix at
the pretensioned state and at full load, and the load at which a gap closes is found
exactly during the solve (it is a step of its own, `contact_events`).

Sign conventions of the results (units in the key names):
- axial load_N > 0 is compression (proximal pushed towards distal); displacement_mm > 0
  is shortening of the construct at the load point.
- ifm_axial_mm > 0 closes the gap; ifm_shear_mm is the transverse relative motion of the
  gap faces. gap_strain = ifm_axial_mm / gap width (> 0 in compression) is reported only
  for a gap filled with tissue (Perren's strain describes tissue; an empty gap has none).
- wire tension > 0 in tension. Rotations in degrees about the moment's axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.units import N_PER_KGF

RESULTS_VERSION = 2


def _secant(load: np.ndarray, disp: np.ndarray) -> float | None:
    """Secant stiffness from the pretensioned state to full load."""
    return float(load[-1] / disp[-1]) if abs(disp[-1]) > 0 else None


def _gap_closure_load(load: np.ndarray, ifm: np.ndarray, width: float) -> float | None:
    """Load at which the axial IFM reaches `width` (linear interpolation between steps;
    the continuum model's estimate, whose contact layer closes gradually)."""
    closed = np.flatnonzero(ifm >= width * (1 - 1e-6))
    if closed.size == 0:
        return None
    k = int(closed[0])
    if k == 0:
        return 0.0
    f = (width - ifm[k - 1]) / (ifm[k] - ifm[k - 1])
    return float(load[k - 1] + f * (load[k] - load[k - 1]))


def _event(case, part: str) -> dict | None:
    return next((e for e in getattr(case, "contact_events", []) if e["part"] == part), None)


def _tangents(case) -> tuple[float | None, float | None]:
    return getattr(case, "initial_stiffness", None), getattr(case, "final_tangent_stiffness", None)


def _loading(case) -> list:
    """The steps of the first loading branch (a cyclic case goes on unloading and reloading)."""
    n = getattr(case, "loading_steps", 0)
    return case.steps[: n + 1] if n else case.steps


def cycle_metrics(case, pretension_N: dict[str, float]) -> dict[str, Any] | None:
    """Per load-unload cycle: the response and the wires' tension at full load and
    unloaded, and each wire's tension lost since pretension (N and %)."""
    cycles = getattr(case, "cycles", [])
    if not cycles:
        return None
    last = cycles[-1]["wire_tension_unloaded_N"]
    return {
        "cycles": [dict(c) for c in cycles],
        "wire_tension_loss_N": {n: pretension_N[n] - last[n] for n in last},
        "wire_tension_loss_percent": {n: 100.0 * (pretension_N[n] - last[n]) / pretension_N[n]
                                      for n in last if pretension_N[n] > 0},
        "permanent_set": cycles[-1]["response_unloaded"],
    }


def axial_metrics(case, gap_width_mm: float | None, has_regenerate: bool) -> dict[str, Any]:
    steps = _loading(case)
    load = np.array([s.load for s in steps])
    disp = np.array([s.response for s in steps])
    initial, tangent = _tangents(case)
    last = steps[-1]
    out: dict[str, Any] = {
        "load_N": load.tolist(),
        "displacement_mm": disp.tolist(),
        "displacement_absolute_mm": [s.response_absolute for s in steps] if hasattr(last, "response_absolute")
        else None,
        "secant_stiffness_N_per_mm": _secant(load, disp),
        "tangent_stiffness_N_per_mm": tangent,
        "initial_stiffness_N_per_mm": initial,
        "wire_tension_N": last.wire_tension_N,
        "wire_tension_max_N": last.wire_tension_max_N,
        "wire_tension_history_N": {n: [s.wire_tension_N[n] for s in steps] for n in last.wire_tension_N},
        "max_von_mises_MPa": last.max_von_mises_MPa,
    }
    events = getattr(case, "contact_events", [])
    if events:
        out["contact_events"] = [dict(e) for e in events]
    if last.gap_motion_mm is not None and gap_width_mm:
        ifm_axial = np.array([-s.gap_motion_mm[2] for s in steps])
        ifm_shear = np.array([float(np.hypot(*s.gap_motion_mm[:2])) for s in steps])
        through_gap = np.array([-(s.regenerate_force_N or 0.0) for s in steps])
        out.update({
            "ifm_axial_mm": float(ifm_axial[-1]),
            "ifm_shear_mm": float(ifm_shear[-1]),
            "gap_strain": float(ifm_axial[-1] / gap_width_mm) if has_regenerate else None,
            "ifm_axial_history_mm": ifm_axial.tolist(),
            "ifm_shear_history_mm": ifm_shear.tolist(),
            "load_through_gap_N": float(through_gap[-1]),
            "frame_load_share": float(1.0 - through_gap[-1] / load[-1]) if load[-1] else None,
            "gap_closed_at_N": None,
        })
        if getattr(last, "gap_motion_absolute_mm", None) is not None:
            out["ifm_axial_absolute_mm"] = float(-last.gap_motion_absolute_mm[2])
            out["ifm_axial_absolute_history_mm"] = [float(-s.gap_motion_absolute_mm[2]) for s in steps]
        closure = _event(case, "gap_contact")
        if closure is not None and not has_regenerate:
            k = closure["step"]
            out.update({
                "gap_closed_at_N": closure["load"],
                "shortening_at_gap_closure_mm": float(disp[k]),
                # the frame's own stiffness up to contact, and the construct's once the ends touch
                "stiffness_before_contact_N_per_mm": float(load[k] / disp[k]) if disp[k] > 0 else None,
                "stiffness_in_contact_N_per_mm": tangent,
            })
    else:
        out.update({"ifm_axial_mm": None, "ifm_shear_mm": None, "gap_strain": None, "frame_load_share": None})
    return out


def moment_metrics(case) -> dict[str, Any]:
    steps = _loading(case)
    moment = np.array([s.load for s in steps])
    rotation = np.array([s.response for s in steps])
    initial, tangent = _tangents(case)
    last = steps[-1]
    out = {
        "moment_Nm": moment.tolist(),
        "rotation_deg": rotation.tolist(),
        "stiffness_Nm_per_deg": _secant(moment, rotation),
        "initial_stiffness_Nm_per_deg": initial,
        "tangent_stiffness_Nm_per_deg": tangent,
        "wire_tension_N": last.wire_tension_N,
        "max_von_mises_MPa": last.max_von_mises_MPa,
    }
    if hasattr(last, "response_absolute"):
        out["rotation_absolute_deg"] = [s.response_absolute for s in steps]
    if last.gap_motion_mm is not None:
        out["ifm_shear_mm"] = float(np.hypot(*last.gap_motion_mm[:2]))
        out["ifm_axial_mm"] = float(-last.gap_motion_mm[2])
    closure = _event(case, "gap_contact")
    if closure is not None:
        out["gap_rim_closed_at_Nm"] = closure["load"]
    events = getattr(case, "contact_events", [])
    if events:
        out["contact_events"] = [dict(e) for e in events]
    return out


def safety_factors(max_von_mises_MPa: dict[str, float], yield_by_group_MPa: dict[str, float]) -> dict[str, float | None]:
    """Yield stress over peak von Mises stress, per group of parts (None if unloaded)."""
    return {g: (yield_by_group_MPa[g] / s if s > 0 else None)
            for g, s in max_von_mises_MPa.items() if g in yield_by_group_MPa}


def part_safety_factors(von_mises_by_part_MPa: dict[str, float],
                        part_yield_MPa: dict[str, tuple[str, float]]) -> tuple[dict[str, float | None], dict]:
    """Safety factor of every part against its own material's yield, and per group the
    smallest of its parts' factors with the part it belongs to:
    ({group: factor}, {group: {"part", "safety_factor", "von_mises_MPa", "yield_MPa"}})."""
    groups: dict[str, float | None] = {}
    critical: dict[str, dict] = {}
    for part, (group, yield_MPa) in part_yield_MPa.items():
        vm = von_mises_by_part_MPa.get(part, 0.0)
        sf = yield_MPa / vm if vm > 0 else None
        groups.setdefault(group, None)
        if sf is not None and (groups[group] is None or sf < groups[group]):
            groups[group] = sf
            critical[group] = {"part": part, "safety_factor": sf, "von_mises_MPa": vm, "yield_MPa": yield_MPa}
    return groups, critical


def build_results(scenario, pretension, cases: dict, *, cells: int, dofs: int, timings_s: dict,
                  yield_by_group_MPa: dict[str, float], part_yield_MPa: dict[str, tuple[str, float]] | None = None,
                  assumptions: dict | None = None) -> dict[str, Any]:
    """The results.json document (contract of architecture.md section 3, plus extras).

    With `part_yield_MPa` ({part: (group, yield MPa)}) the safety factors are per part
    against its own material (from the steps' peak stress per part); otherwise per group
    against `yield_by_group_MPa`."""
    gap_width = scenario.gap.width_mm if scenario.has_bone and not scenario.bone.intact else None
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
                **({"start_span_N": pretension.span_N[n][0], "end_span_N": pretension.span_N[n][1]}
                   if n in getattr(pretension, "span_N", {}) else {}),
            } for n in pretension.target_N],
        },
        "load_cases": {},
        "timings_s": timings_s,
    }
    worst: dict[str, float] = {}
    worst_by_part: dict[str, float] = {}
    warnings: list[str] = []
    for name, case in cases.items():
        if name == "axial":
            m = axial_metrics(case, gap_width, scenario.gap.regenerate is not None)
        else:
            m = moment_metrics(case)
        by_part = None
        if getattr(case.steps[-1], "von_mises_by_part_MPa", None):  # the peak over the case (cycles too)
            by_part = {k: max(st.von_mises_by_part_MPa.get(k, 0.0) for st in case.steps)
                       for k in case.steps[-1].von_mises_by_part_MPa}
        if part_yield_MPa and by_part:
            m["safety_factor"], m["critical_parts"] = part_safety_factors(by_part, part_yield_MPa)
            for part, v in by_part.items():
                worst_by_part[part] = max(worst_by_part.get(part, 0.0), v)
        else:
            m["safety_factor"] = safety_factors(m["max_von_mises_MPa"], yield_by_group_MPa)
        fy = getattr(case, "first_yield", None)
        unit = "N" if name == "axial" else "Nm"
        m[f"first_yield_at_{unit}"] = None if fy is None else fy["load"]
        m["first_yield_part"] = None if fy is None else fy["part"]
        m["newton_iterations"] = sum(s.newton_iterations for s in case.steps)
        cyc = cycle_metrics(case, pretension.achieved_N)
        if cyc is not None:
            m["cyclic"] = cyc
        m["warnings"] = list(getattr(case, "warnings", []))
        warnings += m["warnings"]
        results["load_cases"][name] = m
        for g, v in m["max_von_mises_MPa"].items():
            worst[g] = max(worst.get(g, 0.0), v)
    results["max_von_mises_MPa"] = worst
    if part_yield_MPa and worst_by_part:
        results["safety_factor"], results["critical_parts"] = part_safety_factors(worst_by_part, part_yield_MPa)
        results["max_von_mises_by_part_MPa"] = worst_by_part
    else:
        results["safety_factor"] = safety_factors(worst, yield_by_group_MPa)
    over = [g for g, f in results["safety_factor"].items() if f is not None and f < 1.0]
    plastic = {"wires": scenario.plasticity.wires, "half_pins": scenario.plasticity.half_pins}
    elastic = [g for g in over if not plastic.get(g, False)]
    if elastic:
        at_rest = [name for name, m in results["load_cases"].items()
                   if m.get("first_yield_at_N", m.get("first_yield_at_Nm")) == 0.0]
        warnings.append(f"above yield in {', '.join(elastic)} (the model is elastic; expect permanent deformation "
                        "there)" + (" — already at pretension, before any load" if at_rest else ""))
    _ring_holes_entry(scenario, results, warnings)
    results["warnings"] = warnings
    if assumptions is not None:
        results["assumptions"] = assumptions
    return results


def _ring_holes_entry(scenario, results: dict[str, Any], warnings: list[str]) -> None:
    """results["ring_holes"] (sim.ring_holes.results_entry) and a warning per part that
    snapping moved, only when a ring opts in (holes = "check" or "snap")."""
    from sim import ring_holes

    if not ring_holes.uses_holes(scenario):
        return
    moves = ring_holes.moves_of(scenario)
    results["ring_holes"] = ring_holes.results_entry(scenario, moves)
    warnings.extend(m.words() for m in moves)
