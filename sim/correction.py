"""`ilizarov hexapod`: the correction schedule of a hexapod frame and its mechanics.

plan (sim.hexapod) -> one row per day: the residual deformity in clinical terms, the
structure at risk's motion, the six strut lengths and sizes, the swaps; then the frame
model's stiffness of the hexapod at the start, middle and end of the correction, next to
a classic frame built from the same rings with four threaded rods instead of the struts.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mpi4py import MPI

from sim.hexapod import (HexapodGeometry, Pose, Schedule, check_fixed_levels, clinical_parameters, master_tab_deg,
                         origin_of, plan_correction, projected_angles_deg, risk_point_of)
from sim.scenario import DEFORMITY_TERMS, DEFORMITY_UNITS, Rod, Scenario

HEXAPOD_VERSION = 2  # 2: deformity in clinical terms (magnitude + name), deformity_pose.matrix, prescription
STIFFNESS_KEYS = ("axial_initial_N_per_mm", "axial_secant_N_per_mm", "bending_ap_Nm_per_deg",
                  "bending_ml_Nm_per_deg", "torsion_Nm_per_deg")


def clinical_row(signed: dict[str, float]) -> dict[str, Any]:
    """Signed clinical values (`sim.scenario.Deformity.signed`) as magnitude and name
    columns, the way the scenario file takes them: {"ap_angulation_deg": 12.0,
    "ap_angulation": "varus", ...} (a zero gets the first name)."""
    row: dict[str, Any] = {}
    for key, (plus, minus) in DEFORMITY_TERMS.items():
        name = f"{key}_{DEFORMITY_UNITS[key]}"
        v = signed[name]
        row[name] = abs(v)
        row[key] = plus if v >= 0 else minus
    return row


def signed_from_row(row: dict[str, Any]) -> dict[str, float]:
    """The inverse of `clinical_row`."""
    out = {}
    for key, (plus, _minus) in DEFORMITY_TERMS.items():
        name = f"{key}_{DEFORMITY_UNITS[key]}"
        out[name] = float(row[name]) * (1.0 if row[key] == plus else -1.0)
    return out


def classic_frame(s: Scenario) -> Scenario:
    """The same rings, wires and pins with four threaded rods (0, 90, 180, 270 deg) between
    the two rings of every hexapod level instead of the struts, in the corrected position."""
    h = s.hexapod
    diameter = max([r.diameter_mm for r in s.rods], default=6.0)
    pairs = [(h.reference_ring, h.moving_ring)] + [tuple(level.rings) for level in h.fixed_levels]
    rods = list(s.rods)
    for i, (a, b) in enumerate(pairs):
        prefix = "classic_rod" if i == 0 else f"classic_level{i + 1}_rod"
        rods += [Rod(f"{prefix}{k + 1}", angle, diameter, from_ring=a, to_ring=b)
                 for k, angle in enumerate((0.0, 90.0, 180.0, 270.0))]
    return dataclasses.replace(s, hexapod=None, rods=tuple(rods), name=f"{s.name}-classic")


def _stiffness(results: dict[str, Any]) -> dict[str, float | None]:
    cases = results["load_cases"]
    out: dict[str, float | None] = dict.fromkeys(STIFFNESS_KEYS)
    if "axial" in cases:
        a = cases["axial"]
        out["axial_initial_N_per_mm"] = a["initial_stiffness_N_per_mm"]  # tangent at the pretensioned state
        out["axial_secant_N_per_mm"] = a["secant_stiffness_N_per_mm"]
    for case, key in (("bending_ap", "bending_ap_Nm_per_deg"), ("bending_ml", "bending_ml_Nm_per_deg"),
                      ("torsion", "torsion_Nm_per_deg")):
        if case in cases:
            out[key] = cases[case]["stiffness_Nm_per_deg"]
    return out


@dataclass
class HexapodResult:
    geometry: HexapodGeometry
    schedule: Schedule
    rows: list[dict[str, Any]] = field(default_factory=list)
    stiffness_rows: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    pictures: dict[str, dict] = field(default_factory=dict)  # label -> gather_lines() (rank 0)
    parts: dict[str, dict[int, tuple[str, str]]] = field(default_factory=dict)


def run_hexapod(s: Scenario, comm=None, log=None, mechanics: bool = True, pictures: bool = True) -> HexapodResult:
    """Plan the correction of `s` and (with `mechanics`) solve the frame at its start,
    middle and end and the classic frame of the same rings."""
    from sim.run import solve_frame

    comm = MPI.COMM_WORLD if comm is None else comm
    say = (lambda msg: log(msg)) if log and comm.rank == 0 else (lambda msg: None)
    t0 = time.perf_counter()
    h = s.hexapod
    geom, sched = plan_correction(s)
    n = len(sched.days) - 1
    origin = origin_of(s)
    say(f"correction planned: {n} days at most {h.max_rate_mm_per_day:g} mm/day at the structure at risk; "
        f"{sum(len(x) for x in sched.swaps)} strut swaps")
    result = HexapodResult(geom, sched)
    side = h.side_sign
    for day in sched.days:
        pose = sched.poses[day].about(origin)
        row: dict[str, Any] = {"day": day, "correction_fraction": sched.fractions[day]}
        row.update(clinical_row(clinical_parameters(pose, side, geom.moving_side)))
        row["structure_at_risk_motion_mm"] = float(sched.risk_motion_mm[day])
        for k in range(6):
            row[f"strut{k + 1}_mm"] = float(sched.lengths_mm[day, k])
        for k in range(6):
            prev = sched.lengths_mm[day - 1, k] if day else sched.lengths_mm[day, k]
            row[f"strut{k + 1}_change_mm"] = float(sched.lengths_mm[day, k] - prev)
        for k in range(6):
            row[f"strut{k + 1}_size"] = sched.sizes[day][k]
        row["swaps"] = "; ".join(sched.swaps[day])
        result.rows.append(row)
    t_plan = time.perf_counter() - t0

    t1 = time.perf_counter()
    if mechanics:
        picks = sorted({0, n // 2, n})
        labels = {0: "start", n // 2: "middle", n: "end"}
        for day in picks:
            run = solve_frame(s, comm=comm, pose=sched.ring_poses[day])
            st = _stiffness(run.results)
            result.stiffness_rows.append({"frame": "hexapod", "day": day, "stage": labels[day], **st})
            say(f"hexapod on day {day} ({labels[day]}): axial {st['axial_initial_N_per_mm'] or 0:.1f} N/mm initial, "
                f"bending {st['bending_ap_Nm_per_deg'] or 0:.2f}/{st['bending_ml_Nm_per_deg'] or 0:.2f} N*m/deg, "
                f"torsion {st['torsion_Nm_per_deg'] or 0:.2f} N*m/deg")
            if pictures:
                run.model.w.x.array[:] = 0.0
                lines = run.model.gather_lines()
                if comm.rank == 0:
                    result.pictures[f"day {day} ({labels[day]})"] = lines
                    result.parts[f"day {day} ({labels[day]})"] = {p.tag: (p.name, p.kind.name)
                                                                  for p in run.model.frame.parts}
        classic = classic_frame(s)
        run = solve_frame(classic, comm=comm)
        st = _stiffness(run.results)
        result.stiffness_rows.append({"frame": "classic (4 rods)", "day": n, "stage": "same rings, corrected", **st})
        say(f"classic frame of the same rings: axial {st['axial_initial_N_per_mm'] or 0:.1f} N/mm initial, bending "
            f"{st['bending_ap_Nm_per_deg'] or 0:.2f}/{st['bending_ml_Nm_per_deg'] or 0:.2f} N*m/deg, torsion "
            f"{st['torsion_Nm_per_deg'] or 0:.2f} N*m/deg")
    t_mech = time.perf_counter() - t1

    first, last = result.rows[0], result.rows[-1]
    neutral = geom.lengths_mm(Pose.identity(origin))
    keys = [k for term, unit in DEFORMITY_UNITS.items() if term in DEFORMITY_TERMS for k in (f"{term}_{unit}", term)]
    start = sched.poses[0].about(origin)
    ap_proj, lat_proj = projected_angles_deg(start.rotation)
    fixed = check_fixed_levels(s)
    result.summary = {
        "hexapod_version": HEXAPOD_VERSION,
        "scenario": s.name,
        "side": h.side,
        "reference_ring": h.reference_ring,
        "moving_ring": h.moving_ring,
        "reference_fragment": "proximal" if geom.moving_side < 0 else "distal",
        "plan": "residual" if h.residual is not None else ("deformity" if h.deformity is not None else "strut lengths"),
        "mounting": {"master_tab_deg": master_tab_deg(s) if h.strut_mounts_deg is None else None,
                     "reference_angles_deg": list(geom.base_angles_deg),
                     "moving_angles_deg": list(geom.platform_angles_deg),
                     "reference_points_mm": geom.base_mm.tolist(), "moving_points_mm": geom.platform_mm.tolist(),
                     "offsets": None if h.mounting is None else dataclasses.asdict(h.mounting)},
        "origin_mm": origin.tolist(),
        "hinge_mm": list(h.hinge_mm) if h.hinge_mm is not None else origin.tolist(),
        "structure_at_risk_mm": risk_point_of(s).tolist(),
        "max_rate_mm_per_day": h.max_rate_mm_per_day,
        "days": n,
        "deformity": {k: first[k] for k in keys},
        "deformity_pose": {
            "matrix": start.matrix_about_origin.tolist(),
            "matrix_scenario_coordinates": start.matrix.tolist(),
            "about": "matrix: 4x4 [[R, t], [0, 0, 0, 1]] on coordinates measured from origin_mm (mm, scenario axes: "
                     "x to the patient's right, y anterior, z proximal); it carries the moving fragment from its "
                     "corrected position to its deformed one. matrix_scenario_coordinates: the same motion on "
                     "scenario coordinates.",
            "projected_angles_deg": {"ap_film_xz": ap_proj, "lateral_film_yz": lat_proj},
            "angle_deg": start.angle_deg,
        },
        "residual_at_end": {k: last[k] for k in keys},
        "deformity_angle_deg": sched.poses[0].angle_deg,
        "largest_daily_motion_at_risk_mm": float(sched.risk_motion_mm.max()),
        "strut_lengths_start_mm": sched.lengths_mm[0].tolist(),
        "strut_lengths_end_mm": sched.lengths_mm[-1].tolist(),
        "neutral_strut_length_mm": neutral.tolist(),
        "strut_sizes_start": sched.sizes[0],
        "swaps": [{"day": d, "swap": x} for d in sched.days for x in sched.swaps[d]],
        "fixed_levels": [{"rings": list(level.rings), "struts": list(range(6 * (i + 1) + 1, 6 * (i + 2) + 1)),
                          "strut_lengths_mm": lengths.tolist()}
                         for i, (level, lengths) in enumerate(zip(h.fixed_levels, fixed))],
        "stiffness": result.stiffness_rows,
        "timings_s": {"plan": t_plan, "mechanics": t_mech, "total": time.perf_counter() - t0},
        "mpi_ranks": comm.size,
    }
    if h.residual is not None:
        ring = sched.ring_poses[0].about(origin)
        result.summary["frame_pose_start"] = {
            "matrix": ring.matrix_about_origin.tolist(),
            "about": "the moving ring's pose that the struts in place give (forward kinematics), as deformity_pose; "
                     "it differs from deformity_pose (what the new films show) by the mounting error the residual "
                     "reveals, which the plan carries along"}
        result.summary["strut_lengths_in_place_mm"] = list(h.strut_lengths_mm)
    return result


def write_hexapod(out, s: Scenario, result: HexapodResult, pictures: bool = True, comm=None) -> Path:
    """schedule.csv, the prescription (prescription.csv, .html, .pdf), stiffness.csv,
    hexapod.json, the resolved scenario and (with pictures) frames.png, struts.png and
    stiffness.png into `out`; all or nothing."""
    from postprocess.hexapod_report import plot_stiffness, plot_struts, render_stages
    from postprocess.prescription import (prescription_html, prescription_rows, write_prescription_csv,
                                          write_prescription_pdf)
    from postprocess.timeline_report import write_csv
    from sim.run import publish_atomically

    def fill(staging: Path) -> None:
        (staging / "scenario.resolved.json").write_text(json.dumps(s.to_dict(), indent=2))
        write_csv(result.rows, staging / "schedule.csv")
        files = ["schedule.csv"]
        rx = prescription_rows(result.rows)
        write_prescription_csv(rx, staging / "prescription.csv")
        (staging / "prescription.html").write_text(prescription_html(result.summary, rx, s), encoding="utf-8")
        write_prescription_pdf(result.summary, rx, s, staging / "prescription.pdf")
        files += ["prescription.csv", "prescription.html", "prescription.pdf"]
        if result.stiffness_rows:
            write_csv(result.stiffness_rows, staging / "stiffness.csv")
            files.append("stiffness.csv")
        if pictures:
            plot_struts(result.rows, result.summary, s.hexapod.strut_sizes, staging / "struts.png")
            files.append("struts.png")
            if result.stiffness_rows:
                plot_stiffness(result.stiffness_rows, staging / "stiffness.png")
                files.append("stiffness.png")
            if result.pictures:
                render_stages(result.pictures, result.parts, staging / "frames.png", s.name)
                files.append("frames.png")
        result.summary["files"] = files
        (staging / "hexapod.json").write_text(json.dumps(result.summary, indent=2))

    return publish_atomically(out, fill, comm, command="hexapod") / "schedule.csv"


__all__ = ["HexapodResult", "classic_frame", "clinical_row", "run_hexapod", "signed_from_row", "write_hexapod"]
