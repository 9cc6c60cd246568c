"""The treatment timeline: latency, distraction (or bone transport) step by step,
consolidation day by day, on the frame model.

What happens each day (docs/timeline.md has the equations and their sources):

- Distraction: the moving rod segments (`Scenario.moving_rod_segments`) get a natural
  length longer (or, in transport, shorter) by the prescribed amount; the frame model
  finds where the fragments go. The gap resists with the soft tissue, a standard linear
  solid (a spring that stays in parallel with a spring that relaxes), and the regenerate;
  the frame gives way, so the wires bow and the gap opens by less than the rods.
- Between steps the relaxing force decays (exponential integrator over the interval).
- Every day ends with a weight-bearing check: weight_bearing_N on the proximal end of
  the bone, from the day's state, undone afterwards. It gives the interfragmentary
  motion, the regenerate's strain and pressure, and the load share of the frame.
- The regenerate's tissue then evolves (sim.regenerate) under that stimulus.

The gap is one line of cells whose axial law is reset before every solve to
N(L) = N_now + k (L - L_now) (tension positive, L the gap length in mm), with the
stiffness k that fits the event (instantaneous, relaxing, or the quasi-static check);
this is exact for the linear viscoelastic law over each event.

Everything here is collective under MPI: every rank runs the same loop on its part of
the mesh; the scalars that steer it are reduced over all ranks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from collections.abc import Callable
from typing import Any

import numpy as np
from mpi4py import MPI

from sim.frame_model import EA, EI1, EI2, EPS0, GA1, GA2, GJ, LAMBDA0, FrameModel, SolverError
from sim.materials import TISSUE_MODULI_MPa, regenerate_material
from sim.regenerate import advance, initial_state, with_gap
from sim.scenario import Regenerate, Scenario
from sim.sections import beam_properties, tube

HOURS_PER_DAY = 24.0
DOCKING_CONTACT_N = 0.5  # a docking site carrying more than this (N) has docked
TIMELINE_VERSION = 1


@dataclass
class CheckResult:
    """The weight-bearing check of one day (compression and closing positive)."""

    load_N: float  # the weight-bearing load on the proximal end (N)
    ifm_axial_mm: float
    ifm_shear_mm: float
    gap_strain: float
    interzone_strain: float
    pressure_MPa: float
    regenerate_load_share: float
    docking_load_share: float | None
    frame_load_share: float


@dataclass
class TimelineResult:
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per day
    step_rows: list[dict[str, Any]] = field(default_factory=list)  # one per distraction step
    summary: dict[str, Any] = field(default_factory=dict)
    snapshots: dict[int, dict] = field(default_factory=dict)  # day -> gather_lines() at the day's end (rank 0)
    parts: dict[int, tuple[str, str]] = field(default_factory=dict)


class TreatmentModel:
    """The frame model of a treatment scenario, with the gap's law and the moving rods in hand."""

    def __init__(self, scenario: Scenario, comm=None):
        from meshes.frame_network import build_frame

        comm = MPI.COMM_WORLD if comm is None else comm
        d = scenario.distraction
        e0 = TISSUE_MODULI_MPa[d.regenerate.initial_tissue]
        s = replace(scenario, gap=replace(scenario.gap, regenerate=Regenerate(modulus_MPa=e0)))
        self.scenario, self.comm = s, comm
        self.frame = build_frame(s, comm)
        self.model = m = FrameModel(s, self.frame)
        self.plan = self.frame.plan
        self.reg_tag = m.part_tag("regenerate")
        self.reg_cells = m.cells_of[self.reg_tag]
        self.dock_tag = m.part_tag("defect_contact")
        self.w0 = s.gap.width_mm
        r_out, r_in = s.bone_radii_mm(s.gap.level_mm)  # the bone's section at the gap
        self.section = tube(2 * r_out, 2 * r_in)
        self.area_mm2 = self.section.area_mm2
        # moving rod segments: local cells (owned and ghost) between the two rings
        self.rod_segments = []
        for rod, lo, hi, sign in s.moving_rod_segments():
            z_lo, z_hi = s.ring(lo).level_mm, s.ring(hi).level_mm
            cells = m.cells_of[m.part_tag(rod)]
            zc = m.cell_midpoint_mm[cells, 2]
            self.rod_segments.append((cells[(zc > z_lo) & (zc < z_hi)], z_hi - z_lo, sign))
        self.lines_parts = {p.tag: (p.name, p.kind.name) for p in self.frame.parts}

    # ------------------------------------------------------------------ measures
    def _distance(self, faces) -> tuple[float, np.ndarray]:
        vals = self.model.point_values(faces)
        x0, x1 = (np.asarray(self.plan.points[i]) for i in faces)
        d = (x1 + vals[1, :3]) - (x0 + vals[0, :3])
        return float(np.linalg.norm(d)), d

    def gap_length_mm(self) -> float:
        """Axial distance between the fragment ends across the gap (mm)."""
        return float(self._distance(self.plan.gap_faces)[1][2])

    def gap_vector_mm(self) -> np.ndarray:
        return self._distance(self.plan.gap_faces)[1]

    def docking_gap_mm(self) -> float | None:
        if self.plan.defect_faces is None:
            return None
        return float(self._distance(self.plan.defect_faces)[1][2])  # signed: < 0 once the faces overlap

    def forces(self) -> np.ndarray:
        """Section forces of the owned cells: a view that the next call overwrites."""
        return self.model.update_section_forces()

    def gap_force_N(self, forces) -> float:
        return self.model.part_axial_force_N(forces, self.reg_tag)

    def docking_force_N(self, forces) -> float:
        """Compression carried across the docking site (N, > 0 once docked)."""
        return 0.0 if self.dock_tag is None else -self.model.part_axial_force_N(forces, self.dock_tag)

    def wire_tension_and_deflection(self, forces, reference: np.ndarray) -> tuple[dict, dict]:
        """Mean tension (N) and bow (mm, + towards proximal) of each wire: axial motion of
        its bone crossing relative to its clamps, since the pretensioned state."""
        tension, _ = self.model.wire_tensions_N(forces)
        names = list(self.plan.wire_points)
        pts = [i for n in names for i in self.plan.wire_points[n]]
        vals = self.model.point_values(pts)[:, 2] - reference
        bow = {}
        for k, n in enumerate(names):
            v = vals[4 * k: 4 * k + 4]
            bow[n] = float(0.5 * (v[1] + v[2]) - 0.5 * (v[0] + v[3]))
        return tension, bow

    def wire_reference(self) -> np.ndarray:
        pts = [i for n in self.plan.wire_points for i in self.plan.wire_points[n]]
        return self.model.point_values(pts)[:, 2]

    # ------------------------------------------------------------------ controls
    def set_rod_change(self, change_mm: float) -> None:
        """Natural length of the moving rod segments: + sign x change_mm."""
        for cells, length, sign in self.rod_segments:
            self.model.set_cell_properties(cells, {LAMBDA0: 1.0 + sign * change_mm / length})

    def set_gap_law(self, stiffness_N_per_mm: float, force_now_N: float, length_now_mm: float,
                    tissue_modulus_MPa: float) -> None:
        """Axial law N(L) = force_now + k (L - length_now) across the gap; bending and shear
        from the regenerate's tissue over its current length."""
        k = max(stiffness_N_per_mm, 1e-9)
        natural = length_now_mm
        rest = length_now_mm - force_now_N / k
        bp = beam_properties(self.section, regenerate_material(tissue_modulus_MPa))
        self.model.set_cell_properties(self.reg_cells, {
            EA: k * natural, EPS0: rest / natural - 1.0, LAMBDA0: natural / self.w0,
            GA1: bp.GA1_N, GA2: bp.GA2_N, GJ: bp.GJ_Nmm2, EI1: bp.EI1_Nmm2, EI2: bp.EI2_Nmm2,
        })


def _solve(tm: TreatmentModel, context: str, apply: Callable[[float], None], previous: Callable[[], None]) -> None:
    """Equilibrate after `apply(1.0)`; if Newton fails, reach it in smaller fractions."""
    m = tm.model
    saved = m.w.x.array.copy()
    try:
        apply(1.0)
        m.equilibrate(context)
        return
    except SolverError:
        m.w.x.array[:] = saved
        m.w.x.scatter_forward()
    cuts = tm.scenario.solver.max_step_cuts
    n = 2
    for _ in range(cuts):
        try:
            previous()
            m.w.x.array[:] = saved
            for k in range(1, n + 1):
                apply(k / n)
                m.equilibrate(f"{context} (fraction {k}/{n})")
            return
        except SolverError:
            n *= 2
    raise SolverError(f"{context}: Newton did not converge even in {n // 2} sub-steps; the frame may be unable to "
                      "carry the distraction (a slack or broken wire, a rod out of travel)")


def run_timeline(scenario: Scenario, comm=None, log: Callable[[str], None] | None = None,
                 snapshots: bool = False) -> TimelineResult:
    """Follow the treatment of `scenario` day by day; see the module docstring."""
    comm = MPI.COMM_WORLD if comm is None else comm
    say = (lambda msg: log(msg)) if log and comm.rank == 0 else (lambda msg: None)
    d = scenario.distraction
    st, params = d.soft_tissue, d.regenerate
    t_start = time.perf_counter()
    tm = TreatmentModel(scenario, comm)
    m = tm.model
    t_mesh = time.perf_counter() - t_start
    say(f"mesh: {m.num_cells} cells, {m.num_dofs} dofs; treatment: "
        f"{'bone transport' if d.transport_ring else 'lengthening'} of {d.lengthening_mm:g} mm at "
        f"{d.rate_mm_per_day:g} mm/day in {d.steps_per_day} steps a day after {d.latency_days} day{'s' if d.latency_days != 1 else ''} of latency")
    pre = m.solve_pretension()
    wire_ref = tm.wire_reference()
    out = TimelineResult(parts=tm.lines_parts)

    tau_h = st.relaxation_time_h
    k_inf, k_1 = st.stiffness_N_per_mm, st.relaxing_stiffness_N_per_mm
    L_surgery = tm.gap_length_mm()
    regen = initial_state(L_surgery, params)
    forces0 = tm.forces()
    relaxing_N, regenerate_N = 0.0, tm.gap_force_N(forces0)
    ctrl = {"rod_mm": 0.0, "k_frame": math.inf}

    def soft_N(L):
        return k_inf * (L - L_surgery)

    def k_reg():
        return regen.axial_stiffness_N_per_mm(tm.area_mm2)

    def total_gap_force(L):
        return soft_N(L) + relaxing_N + regenerate_N

    def relax(hours: float, distracting: bool, context: str) -> None:
        """Let the relaxing force decay over `hours` with the rods fixed.

        The frame (tangent stiffness k_f between the fragments, measured at the last step)
        in series with the gap's standard linear solid relaxes with one time constant,
        tau (1 + k_arm / (k_f + k_lasting)): the relaxing force at the end of the
        interval is known exactly, and the solve finds where the fragments settle.
        """
        nonlocal relaxing_N, regenerate_N
        arm = k_1 + (k_reg() if distracting else 0.0)
        lasting = k_inf + (0.0 if distracting else k_reg())
        k_f = ctrl["k_frame"]
        tau_eff = tau_h * (1.0 + (arm / (k_f + lasting) if math.isfinite(k_f) else 0.0))
        decayed = relaxing_N * math.exp(-hours / tau_eff)
        L0 = tm.gap_length_mm()
        law = (lasting, soft_N(L0) + decayed + regenerate_N, L0, regen.effective_modulus_MPa)
        prev = (k_inf + k_1 + k_reg(), total_gap_force(L0), L0, regen.effective_modulus_MPa)
        _solve(tm, context, lambda f: tm.set_gap_law(*[a + f * (b - a) for a, b in zip(prev, law)]),
               lambda: tm.set_gap_law(*prev))
        dL = tm.gap_length_mm() - L0
        relaxing_N = decayed
        if not distracting:
            regenerate_N += k_reg() * dL

    def distraction_step(change_mm: float, context: str) -> float:
        """Move the rods by change_mm (instantaneous); return the gap's opening (mm)."""
        nonlocal relaxing_N
        L0 = tm.gap_length_mm()
        arm = k_1 + k_reg()
        k_inst = k_inf + arm
        tm.set_gap_law(k_inst, total_gap_force(L0), L0, regen.effective_modulus_MPa)
        old = ctrl["rod_mm"]
        _solve(tm, context, lambda f: tm.set_rod_change(old + f * change_mm), lambda: tm.set_rod_change(old))
        ctrl["rod_mm"] = old + change_mm
        dL = tm.gap_length_mm() - L0
        relaxing_N += arm * dL
        # the frame's stiffness between the fragments: the gap's force over what the frame gave
        given = abs(change_mm) - dL
        ctrl["k_frame"] = k_inst * dL / given if given > 1e-9 * abs(change_mm) else math.inf
        return dL

    def check(context: str) -> CheckResult:
        """Weight-bearing check from the current state; the state is restored afterwards."""
        W = d.weight_bearing_N
        saved = m.w.x.array.copy()
        saved_props = m.cell_properties(tm.reg_cells)
        L0 = tm.gap_length_mm()
        v0 = tm.gap_vector_mm()
        f0 = tm.forces()  # a view of the model's section forces: read it now
        dock0, gap0 = tm.docking_force_N(f0), tm.gap_force_N(f0)
        kr = k_reg()
        tm.set_gap_law(k_inf + kr, total_gap_force(L0), L0, regen.effective_modulus_MPa)
        m._step_to(np.array([0.0, 0.0, -W, 0.0, 0.0, 0.0]), 0.0, 1.0, context)
        L1 = tm.gap_length_mm()
        v1 = tm.gap_vector_mm()
        f1 = tm.forces()
        dock1, gap1 = tm.docking_force_N(f1), tm.gap_force_N(f1)
        m.w.x.array[:] = saved
        m.w.x.scatter_forward()
        m.set_cell_properties(tm.reg_cells, {c: saved_props[:, c] for c in range(saved_props.shape[1])})
        m.load.value[:] = 0.0
        closing = L0 - L1
        through_gap = gap0 - gap1  # compression added across the gap (N)
        reg_force = through_gap - k_inf * closing  # ... less the soft tissue's share: the regenerate's
        stress = reg_force / tm.area_mm2
        interzone = regen.interzone_mm
        # series tissues: the interzone takes the closing that the bone part does not
        bone_part = stress * min(regen.bone_mm, regen.gap_mm) / regen.bone_modulus_MPa
        interzone_strain = (closing - bone_part) / interzone if interzone > 1e-9 else 0.0
        gap_share = through_gap / W
        dock_share = (dock1 - dock0) / W if tm.dock_tag is not None else None
        through_bone = gap_share if dock_share is None else min(gap_share, dock_share)
        return CheckResult(W, closing, float(np.linalg.norm((v1 - v0)[:2])), closing / L0, interzone_strain,
                           stress, reg_force / W, dock_share, 1.0 - through_bone)

    wire_names = list(tm.plan.wire_points)
    step_mm = d.rate_mm_per_day / d.steps_per_day
    step_h = HOURS_PER_DAY / d.steps_per_day
    transport = d.transport_ring is not None
    to_dock = transport and d.lengthening_mm >= scenario.defect.length_mm - 1e-9
    extra_limit_mm = max(5.0, 0.25 * d.lengthening_mm)  # catch-up for the frame's deficit before docking
    docked_day, compression_left = None, d.docking_compression_mm
    removal_day, distraction_end_day = None, None
    peak_force_N = 0.0
    t_solve0 = time.perf_counter()

    def record(day: int, phase: str, c: CheckResult, day_peak_N: float, day_step_strain: float) -> dict:
        f = tm.forces()
        tension, bow = tm.wire_tension_and_deflection(f, wire_ref)
        L = tm.gap_length_mm()
        row = {
            "day": day, "phase": phase,
            "rod_lengthening_mm": ctrl["rod_mm"],
            "gap_length_mm": L,
            "achieved_lengthening_mm": L - L_surgery,
            "lengthening_deficit_mm": ctrl["rod_mm"] - (L - L_surgery),
            "distraction_force_N": tm.gap_force_N(f),
            "distraction_force_peak_N": day_peak_N,
            "soft_tissue_force_N": soft_N(L) + relaxing_N,
        }
        if transport:
            dock_gap = tm.docking_gap_mm()
            row["segment_motion_mm"] = scenario.defect.length_mm - dock_gap
            row["docking_gap_mm"] = max(dock_gap, 0.0)
            row["docking_force_N"] = tm.docking_force_N(f)
        row.update({
            "wb_load_N": c.load_N, "ifm_axial_mm": c.ifm_axial_mm, "ifm_shear_mm": c.ifm_shear_mm,
            "regenerate_strain": c.gap_strain, "interzone_strain": c.interzone_strain,
            "distraction_step_strain": day_step_strain, "regenerate_pressure_MPa": c.pressure_MPa,
            "tissue_class": regen.tissue_class, "regenerate_modulus_MPa": regen.effective_modulus_MPa,
            "interzone_modulus_MPa": regen.interzone_modulus_MPa, "bone_fraction": regen.bone_fraction,
            "frame_load_share": c.frame_load_share, "regenerate_load_share": c.regenerate_load_share,
        })
        if transport:
            row["docking_load_share"] = c.docking_load_share
        for n in wire_names:
            row[f"{n}_tension_N"] = tension[n]
        for n in wire_names:
            row[f"{n}_deflection_mm"] = bow[n]
        if snapshots:
            lines = m.gather_lines()
            if comm.rank == 0:
                out.snapshots[day] = lines
        return row

    c = check("day 0: weight-bearing check")
    out.rows.append(record(0, "surgery", c, 0.0, 0.0))
    say(f"day 0: pretension reached {min(pre.achieved_N.values()):.0f}-{max(pre.achieved_N.values()):.0f} N; "
        f"IFM {c.ifm_axial_mm:.2f} mm under {d.weight_bearing_N:g} N, frame load share {c.frame_load_share:.2f}")

    day, consolidation_days = 0, 0
    while True:
        day += 1
        step_strain, day_peak = 0.0, 0.0
        planned_left = d.lengthening_mm - ctrl["rod_mm"]
        distracting = day > d.latency_days and distraction_end_day is None
        if distracting:
            phase = "transport" if transport else "distraction"
            for j in range(d.steps_per_day):
                if planned_left > 1e-9:
                    change = min(step_mm, planned_left)
                elif to_dock and docked_day is None and ctrl["rod_mm"] < d.lengthening_mm + extra_limit_mm:
                    change = step_mm  # the segment has not reached the docking site yet
                elif to_dock and docked_day is not None and compression_left > 1e-9:
                    change = min(step_mm, compression_left)
                    compression_left -= change
                else:
                    break
                interzone_before = max(regen.interzone_mm, 1e-6)
                opened = distraction_step(change, f"day {day}, step {j + 1}")
                planned_left = d.lengthening_mm - ctrl["rod_mm"]
                regen = with_gap(regen, tm.gap_length_mm())
                step_strain = max(step_strain, opened / interzone_before)
                peak = tm.gap_force_N(tm.forces())
                peak_force_N = max(peak_force_N, peak)
                day_peak = max(day_peak, peak)
                relax(step_h, True, f"day {day}, after step {j + 1}")
                regen = with_gap(regen, tm.gap_length_mm())
                forces = tm.forces()
                relaxed = tm.gap_force_N(forces)
                srow = {"day": day, "step": j + 1, "time_h": (day - 1) * HOURS_PER_DAY + j * step_h,
                        "rod_lengthening_mm": ctrl["rod_mm"], "gap_length_mm": tm.gap_length_mm(),
                        "distraction_force_peak_N": peak, "distraction_force_relaxed_N": relaxed}
                if transport:
                    dock = tm.docking_force_N(forces)
                    srow["docking_gap_mm"] = max(tm.docking_gap_mm(), 0.0)
                    srow["docking_force_N"] = dock
                    if docked_day is None and dock > DOCKING_CONTACT_N:
                        docked_day = day
                        say(f"day {day}: the segment docked after {ctrl['rod_mm']:.2f} mm of transport")
                out.step_rows.append(srow)
            remaining = (planned_left > 1e-9
                         or (to_dock and docked_day is None and ctrl["rod_mm"] < d.lengthening_mm + extra_limit_mm)
                         or (to_dock and docked_day is not None and compression_left > 1e-9))
            if not remaining:
                distraction_end_day = day
        elif day <= d.latency_days:
            phase = "latency"
            relax(HOURS_PER_DAY, False, f"day {day} (latency)")
            regen = with_gap(regen, tm.gap_length_mm())
        else:
            phase = "consolidation"
            consolidation_days += 1
            relax(HOURS_PER_DAY, False, f"day {day} (consolidation)")
            regen = with_gap(regen, tm.gap_length_mm())
        c = check(f"day {day}: weight-bearing check")
        stimulus = max(abs(c.interzone_strain), step_strain)
        regen = advance(regen, stimulus, c.pressure_MPa, 1.0, params)
        row = record(day, phase, c, day_peak, step_strain)
        out.rows.append(row)
        if day == 1 or day % 5 == 0 or phase == "consolidation" and c.frame_load_share < d.removal_load_share:
            say(f"day {day:3d} {phase:13s} rods {ctrl['rod_mm']:+6.2f} mm, gap {row['gap_length_mm']:6.2f} mm, "
                f"force {row['distraction_force_N']:6.1f} N, IFM {c.ifm_axial_mm:5.2f} mm, strain "
                f"{100 * c.gap_strain:5.1f} %, frame share {c.frame_load_share:.2f}, {regen.tissue_class}, "
                f"bone {100 * regen.bone_fraction:3.0f} %")
        if phase == "consolidation" and c.frame_load_share < d.removal_load_share:
            removal_day = day
            break
        if phase == "consolidation" and consolidation_days >= d.consolidation_max_days:
            break
        if d.consolidation_max_days == 0 and distraction_end_day is not None:
            break
    t_solve = time.perf_counter() - t_solve0

    rows = out.rows
    achieved = rows[-1]["achieved_lengthening_mm"]
    end_row = next((r for r in rows if r["day"] == distraction_end_day), rows[-1])
    tensions = [(r[f"{n}_tension_N"], r["day"], n) for r in rows for n in wire_names]
    out.summary = {
        "timeline_version": TIMELINE_VERSION,
        "model": "frame",
        "scenario": scenario.name,
        "treatment": "bone_transport" if transport else "lengthening",
        "mesh": {"cells": m.num_cells, "dofs": m.num_dofs},
        "protocol": {"latency_days": d.latency_days, "rate_mm_per_day": d.rate_mm_per_day,
                     "steps_per_day": d.steps_per_day, "lengthening_mm": d.lengthening_mm,
                     "weight_bearing_N": d.weight_bearing_N, "removal_load_share": d.removal_load_share,
                     "regenerate_rule": params.rule},
        "pretension": {"wires": [{"name": n, "target_N": pre.target_N[n], "achieved_N": pre.achieved_N[n]}
                                 for n in pre.target_N]},
        "days": len(rows) - 1,
        "distraction_end_day": distraction_end_day,
        "rod_change_mm": ctrl["rod_mm"],
        "achieved_lengthening_mm": achieved,
        "lengthening_deficit_mm_at_end_of_distraction": end_row["lengthening_deficit_mm"],
        "distraction_force_at_end_of_distraction_N": end_row["distraction_force_N"],
        "distraction_force_peak_N": peak_force_N,
        "frame_removal_day": removal_day,
        "frame_load_share_final": rows[-1]["frame_load_share"],
        "healing_index_days_per_cm": (removal_day / (achieved / 10.0)) if removal_day and achieved > 0 else None,
        "wire_tension_min": dict(zip(("tension_N", "day", "wire"), min(tensions))) if tensions else None,
        "wire_tension_max": dict(zip(("tension_N", "day", "wire"), max(tensions))) if tensions else None,
        "max_wire_deflection_mm": max((abs(r[f"{n}_deflection_mm"]) for r in rows for n in wire_names), default=0.0),
        "timings_s": {"mesh_and_forms": t_mesh, "pretension": pre.solve_time_s, "days": t_solve,
                      "per_day": t_solve / max(len(rows) - 1, 1), "total": time.perf_counter() - t_start},
        "mpi_ranks": comm.size,
    }
    if transport:
        out.summary["docking_day"] = docked_day
        out.summary["docking_force_N"] = rows[-1].get("docking_force_N")
        out.summary["transport_segment_motion_mm"] = rows[-1]["segment_motion_mm"]
    return out


def write_timeline(out, scenario: Scenario, result: TimelineResult, pictures: bool = True, comm=None):
    """Write timeline.csv, steps.csv, timeline.json, the resolved scenario, (with
    pictures) timeline.png and timeline.gif, and (with snapshots) the frame at the end of
    each day for ParaView (paraview/days.pvd, postprocess.paraview) into `out`; all or
    nothing."""
    import json
    from pathlib import Path

    from postprocess.timeline_report import animate_timeline, plot_timeline, write_csv
    from sim.run import publish_atomically

    def fill(staging: Path) -> None:
        (staging / "scenario.resolved.json").write_text(json.dumps(scenario.to_dict(), indent=2))
        write_csv(result.rows, staging / "timeline.csv")
        if result.step_rows:
            write_csv(result.step_rows, staging / "steps.csv")
        files = ["timeline.csv"] + (["steps.csv"] if result.step_rows else [])
        if pictures:
            plot_timeline(result.rows, result.summary, staging / "timeline.png")
            files.append("timeline.png")
            if result.snapshots:
                animate_timeline(result.snapshots, result.rows, result.parts, staging / "timeline.gif")
                files.append("timeline.gif")
        if result.snapshots:
            from postprocess.paraview import PARAVIEW_DIR, SeriesState, write_series

            phase = {r["day"]: r["phase"] for r in result.rows}
            series = [SeriesState(float(day), lines, {"day": day, "phase": phase.get(day, "")})
                      for day, lines in sorted(result.snapshots.items())]
            pvd = write_series(staging / PARAVIEW_DIR, "days", series, result.parts)
            result.summary["paraview"] = {"days": f"{PARAVIEW_DIR}/{pvd.name}"}
            files.append(result.summary["paraview"]["days"])
        result.summary["files"] = files
        (staging / "timeline.json").write_text(json.dumps(result.summary, indent=2))

    return publish_atomically(out, fill, comm, command="timeline") / "timeline.csv"
