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

from sim.hexapod import HexapodGeometry, Pose, Schedule, origin_of, plan_correction, risk_point_of
from sim.scenario import Rod, Scenario

HEXAPOD_VERSION = 1
STIFFNESS_KEYS = ("axial_initial_N_per_mm", "axial_secant_N_per_mm", "bending_ap_Nm_per_deg",
                  "bending_ml_Nm_per_deg", "torsion_Nm_per_deg")


def clinical_parameters(pose: Pose, moving_side: float) -> dict[str, float]:
    """A pose about the deformity's origin as the deformity's clinical parameters (inverse of
    `sim.hexapod.deformity_pose`: R = Rz(axial) Rx(lateral) Ry(AP))."""
    R = pose.rotation
    lateral = math.asin(max(-1.0, min(1.0, R[2, 1])))
    ap = math.atan2(-R[2, 0], R[2, 2])
    axial = math.atan2(-R[0, 1], R[1, 1])
    t = pose.translation_mm
    return {"ap_angulation_deg": math.degrees(ap), "ap_translation_mm": float(t[0]),
            "lateral_angulation_deg": math.degrees(lateral), "lateral_translation_mm": float(t[1]),
            "axial_rotation_deg": math.degrees(axial), "length_mm": float(t[2] * moving_side)}


def classic_frame(s: Scenario) -> Scenario:
    """The same rings, wires and pins with four threaded rods (0, 90, 180, 270 deg) between
    the two hexapod rings instead of the struts, in the corrected position."""
    h = s.hexapod
    diameter = max([r.diameter_mm for r in s.rods], default=6.0)
    rods = s.rods + tuple(Rod(f"classic_rod{k + 1}", a, diameter, from_ring=h.reference_ring, to_ring=h.moving_ring)
                          for k, a in enumerate((0.0, 90.0, 180.0, 270.0)))
    return dataclasses.replace(s, hexapod=None, rods=rods, name=f"{s.name}-classic")


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
    for day in sched.days:
        pose = sched.poses[day].about(origin)
        row: dict[str, Any] = {"day": day, "correction_fraction": sched.fractions[day]}
        row.update(clinical_parameters(pose, geom.moving_side))
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
            run = solve_frame(s, comm=comm, pose=sched.poses[day])
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
    result.summary = {
        "hexapod_version": HEXAPOD_VERSION,
        "scenario": s.name,
        "reference_ring": h.reference_ring,
        "moving_ring": h.moving_ring,
        "mounting": {"reference_angles_deg": list(geom.base_angles_deg),
                     "moving_angles_deg": list(geom.platform_angles_deg),
                     "reference_points_mm": geom.base_mm.tolist(), "moving_points_mm": geom.platform_mm.tolist()},
        "origin_mm": origin.tolist(),
        "hinge_mm": list(h.hinge_mm) if h.hinge_mm is not None else origin.tolist(),
        "structure_at_risk_mm": risk_point_of(s).tolist(),
        "max_rate_mm_per_day": h.max_rate_mm_per_day,
        "days": n,
        "deformity": {k: first[k] for k in ("ap_angulation_deg", "ap_translation_mm", "lateral_angulation_deg",
                                            "lateral_translation_mm", "axial_rotation_deg", "length_mm")},
        "residual_at_end": {k: last[k] for k in ("ap_angulation_deg", "ap_translation_mm", "lateral_angulation_deg",
                                                 "lateral_translation_mm", "axial_rotation_deg", "length_mm")},
        "deformity_angle_deg": sched.poses[0].angle_deg,
        "largest_daily_motion_at_risk_mm": float(sched.risk_motion_mm.max()),
        "strut_lengths_start_mm": sched.lengths_mm[0].tolist(),
        "strut_lengths_end_mm": sched.lengths_mm[-1].tolist(),
        "neutral_strut_length_mm": neutral.tolist(),
        "strut_sizes_start": sched.sizes[0],
        "swaps": [{"day": d, "swap": x} for d in sched.days for x in sched.swaps[d]],
        "stiffness": result.stiffness_rows,
        "timings_s": {"plan": t_plan, "mechanics": t_mech, "total": time.perf_counter() - t0},
        "mpi_ranks": comm.size,
    }
    return result


def write_hexapod(out, s: Scenario, result: HexapodResult, pictures: bool = True, comm=None) -> Path:
    """schedule.csv, stiffness.csv, hexapod.json, the resolved scenario and (with pictures)
    frames.png, struts.png and stiffness.png into `out`; all or nothing."""
    from postprocess.hexapod_report import plot_stiffness, plot_struts, render_stages
    from postprocess.timeline_report import write_csv
    from sim.run import publish_atomically

    def fill(staging: Path) -> None:
        (staging / "scenario.resolved.json").write_text(json.dumps(s.to_dict(), indent=2))
        write_csv(result.rows, staging / "schedule.csv")
        files = ["schedule.csv"]
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


__all__ = ["HexapodResult", "classic_frame", "clinical_parameters", "run_hexapod", "write_hexapod"]
