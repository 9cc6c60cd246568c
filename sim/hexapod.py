"""Hexapod (Taylor Spatial Frame) kinematics and the correction schedule (pure numpy).

Geometry (docs/hexapod.md): the six struts join mounting points on the centroid circles
of the reference and the moving ring (`Scenario.hexapod`). The moving side of the limb
(the moving ring, its wires and the moving fragment) is placed by a rigid motion, a
`Pose`, written about a point o:

    x  ->  R (x - o) + o + t

applied to its position in the corrected (aligned) layout. Identity = corrected. Strut k
then has the length |pose(P_k) - B_k|, with B_k on the reference ring and P_k on the
moving ring in the corrected layout (inverse kinematics); `forward` finds the pose from
six lengths by Newton's method on the six closure equations.

Units: mm and degrees at the interface, radians inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.scenario import Deformity, Scenario, StrutSize


class KinematicsError(ValueError):
    """A pose the struts cannot reach, lengths no pose has, a strut no size fits..."""

    def __init__(self, field_path: str, message: str):
        self.field = field_path
        self.message = message
        super().__init__(f"{field_path}: {message}")


MAX_CORRECTION_DAYS = 365  # a correction planned over more than a year is staged, not scheduled


# ----------------------------------------------------------------------------- rotations
def rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _skew(w) -> np.ndarray:
    return np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])


def exp_rotation(w) -> np.ndarray:
    """Rotation matrix of the rotation vector w (axis * angle, rad): Rodrigues' formula."""
    w = np.asarray(w, float)
    a = float(np.linalg.norm(w))
    K = _skew(w)
    if a < 1e-12:
        return np.eye(3) + K + 0.5 * K @ K
    return np.eye(3) + math.sin(a) / a * K + (1.0 - math.cos(a)) / a ** 2 * K @ K


def log_rotation(R: np.ndarray) -> np.ndarray:
    """Rotation vector (rad) of a rotation matrix with angle below pi."""
    c = max(-1.0, min(1.0, 0.5 * (np.trace(R) - 1.0)))
    a = math.acos(c)
    v = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    if a < 1e-9:
        return 0.5 * v
    return a / (2.0 * math.sin(a)) * v


@dataclass(frozen=True)
class Pose:
    """x -> rotation (x - origin) + origin + translation (mm): the moving side's rigid motion."""

    rotation: np.ndarray
    translation_mm: np.ndarray
    origin_mm: np.ndarray

    @staticmethod
    def identity(origin_mm=(0.0, 0.0, 0.0)) -> Pose:
        return Pose(np.eye(3), np.zeros(3), np.asarray(origin_mm, float))

    def apply(self, x) -> np.ndarray:
        x = np.asarray(x, float)
        return (x - self.origin_mm) @ self.rotation.T + self.origin_mm + self.translation_mm

    def about(self, point_mm) -> Pose:
        """The same motion written about another point."""
        h = np.asarray(point_mm, float)
        return Pose(self.rotation, self.apply(h) - h, h)

    @property
    def angle_deg(self) -> float:
        return math.degrees(float(np.linalg.norm(log_rotation(self.rotation))))

    def distance_to(self, other: Pose, points) -> float:
        """Largest distance between the images of `points` under the two poses (mm)."""
        return float(np.max(np.linalg.norm(self.apply(points) - other.apply(points), axis=-1)))


def deformity_pose(d: Deformity, origin_mm) -> Pose:
    """The pose of the moving fragment described clinically (see `Deformity`)."""
    R = rot_z(math.radians(d.axial_rotation_deg)) @ rot_x(math.radians(d.lateral_angulation_deg)) \
        @ rot_y(math.radians(d.ap_angulation_deg))
    return Pose(R, np.array([d.ap_translation_mm, d.lateral_translation_mm, 0.0]), np.asarray(origin_mm, float))


# ----------------------------------------------------------------------------- the frame
@dataclass(frozen=True)
class HexapodGeometry:
    """Mounting points (mm): base on the reference ring, platform on the moving ring in
    the corrected layout; strut k joins base[k] to platform[k]."""

    base_mm: np.ndarray
    platform_mm: np.ndarray
    base_angles_deg: tuple[float, ...]
    platform_angles_deg: tuple[float, ...]
    moving_side: float  # -1 if the moving ring is below (distal to) the gap, +1 above

    def lengths_mm(self, pose: Pose) -> np.ndarray:
        """Inverse kinematics: the six strut lengths that put the moving side at `pose`."""
        return np.linalg.norm(pose.apply(self.platform_mm) - self.base_mm, axis=1)

    def forward(self, lengths_mm, guess: Pose | None = None, origin_mm=None, tol_mm: float = 1e-12,
                max_iterations: int = 50) -> Pose:
        """Forward kinematics: the pose with these strut lengths, nearest `guess` (Newton).

        Raises KinematicsError if Newton does not converge (no pose has these lengths, or
        the frame is at a singular pose)."""
        L = np.asarray(lengths_mm, float)
        origin = np.zeros(3) if origin_mm is None else np.asarray(origin_mm, float)
        pose = Pose.identity(origin) if guess is None else guess
        R, t = pose.rotation.copy(), pose.translation_mm.copy()
        o = pose.origin_mm
        a = self.platform_mm - o
        for _ in range(max_iterations):
            x = a @ R.T + o + t
            v = x - self.base_mm
            n = np.linalg.norm(v, axis=1)
            f = n - L
            if np.max(np.abs(f)) < tol_mm:
                return Pose(R, t, o)
            u = v / n[:, None]
            Ra = a @ R.T
            J = np.hstack([np.cross(Ra, u), u])  # d f / d (omega, t), omega a left rotation increment
            try:
                step = np.linalg.solve(J, -f)
            except np.linalg.LinAlgError:
                break
            R = exp_rotation(step[:3]) @ R
            t = t + step[3:]
            if not np.all(np.isfinite(t)) or np.linalg.norm(t) > 1e4:
                break
        raise KinematicsError("hexapod.strut_lengths_mm", f"no pose of the moving ring has the strut lengths "
                              f"{', '.join(f'{x:.2f}' for x in L)} mm (forward kinematics did not converge); "
                              "accepted: lengths the frame can assemble")


def hexapod_geometry(s: Scenario) -> HexapodGeometry:
    """Mounting points of the struts in the standard alternating pattern (see `Hexapod`)."""
    h = s.hexapod
    ref, mov = s.ring(h.reference_ring), s.ring(h.moving_ring)
    half = 0.5 * h.pair_separation_deg
    base_angles, platform_angles = [], []
    for j in range(3):
        c = h.first_pair_deg + 120.0 * j
        # reference pair at c -/+ half; the zig-zag reaches the moving pairs at c -/+ 60
        base_angles += [c - half, c + half]
        platform_angles += [c - 60.0 + half, c + 60.0 - half]

    def points(ring, angles):
        r = ring.centroid_radius_mm
        cx, cy = ring.centre_xy_mm
        return np.array([[cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a)), ring.level_mm]
                         for a in angles])

    side = -1.0 if mov.level_mm < ref.level_mm else 1.0
    return HexapodGeometry(points(ref, base_angles), points(mov, platform_angles), tuple(base_angles),
                           tuple(platform_angles), side)


def origin_of(s: Scenario) -> np.ndarray:
    h = s.hexapod
    return np.asarray(h.origin_mm if h.origin_mm is not None else (0.0, 0.0, s.gap.level_mm), float)


def initial_pose(s: Scenario, geom: HexapodGeometry | None = None) -> Pose:
    """The moving side's pose on the day the frame goes on (from the deformity or the lengths)."""
    h = s.hexapod
    geom = geom or hexapod_geometry(s)
    o = origin_of(s)
    if h.deformity is not None:
        d = h.deformity
        pose = deformity_pose(d, o)
        # length: the moving fragment further from (+) or nearer to (-) the reference one
        pose = Pose(pose.rotation, pose.translation_mm + np.array([0.0, 0.0, geom.moving_side * d.length_mm]), o)
        return pose
    return geom.forward(h.strut_lengths_mm, origin_mm=o)


# ----------------------------------------------------------------------------- the schedule
def correction_path(start: Pose, hinge_mm):
    """Poses from `start` (s = 0) to the identity (s = 1): rotation about an axis through
    the hinge by a fraction of the angle, translation of the hinge point in a straight line."""
    about = start.about(hinge_mm)
    w = log_rotation(about.rotation)
    t = about.translation_mm

    def at(s: float) -> Pose:
        return Pose(exp_rotation((1.0 - s) * w), (1.0 - s) * t, about.origin_mm)

    return at


@dataclass
class Schedule:
    days: list[int]
    fractions: list[float]  # correction fraction s of each day (0 start, 1 corrected)
    poses: list[Pose]
    lengths_mm: np.ndarray  # (days, 6)
    risk_motion_mm: np.ndarray  # the structure at risk's displacement on each day (day 0: 0)
    sizes: list[list[str]]  # per day, the size of each strut
    swaps: list[list[str]]  # per day, the swaps made that day ("strut 3: short -> medium")


def plan_schedule(geom: HexapodGeometry, start: Pose, hinge_mm, risk_point_mm, rate_mm_per_day: float,
                  sizes: tuple[StrutSize, ...], samples: int = 4000) -> Schedule:
    """Day-by-day correction with the structure at risk moving at most rate_mm_per_day.

    The fraction of correction is spread so that the structure at risk travels equal
    arc lengths along its (curved) path each day; its daily chord is then at most the
    rate, which is checked on the final schedule.
    """
    path = correction_path(start, hinge_mm)
    q = np.asarray(risk_point_mm, float)
    s_grid = np.linspace(0.0, 1.0, samples + 1)
    pts = np.array([path(s).apply(q) for s in s_grid])
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    total = float(arc[-1])
    n_days = max(1, math.ceil(total / rate_mm_per_day - 1e-9))
    if n_days > MAX_CORRECTION_DAYS:
        raise KinematicsError("hexapod.max_rate_mm_per_day", f"the structure at risk travels {total:.1f} mm: at "
                              f"{rate_mm_per_day:g} mm/day the correction would take {n_days} days; accepted: a rate "
                              f"or a deformity that corrects within {MAX_CORRECTION_DAYS} days (stage a larger "
                              "correction)")
    while True:
        targets = np.linspace(0.0, total, n_days + 1)
        fractions = np.interp(targets, arc, s_grid) if total > 0 else np.linspace(0.0, 1.0, n_days + 1)
        fractions[0], fractions[-1] = 0.0, 1.0
        poses = [path(float(s)) for s in fractions]
        where = np.array([p.apply(q) for p in poses])
        motion = np.concatenate([[0.0], np.linalg.norm(np.diff(where, axis=0), axis=1)])
        if np.all(motion <= rate_mm_per_day * (1.0 + 1e-12)):
            break
        n_days += 1
        if n_days > MAX_CORRECTION_DAYS:
            raise KinematicsError("hexapod.max_rate_mm_per_day", f"at {rate_mm_per_day:g} mm/day the correction "
                                  f"would take more than {MAX_CORRECTION_DAYS} days; accepted: a faster rate or a "
                                  "smaller correction per stage")
    lengths = np.array([geom.lengths_mm(p) for p in poses])
    size_names, swaps = assign_sizes(lengths, sizes)
    return Schedule(list(range(n_days + 1)), [float(s) for s in fractions], poses, lengths, motion, size_names, swaps)


def assign_sizes(lengths_mm: np.ndarray, sizes: tuple[StrutSize, ...]) -> tuple[list[list[str]], list[list[str]]]:
    """Strut sizes day by day: each strut keeps a size while its length fits, then swaps
    to the size that fits longest from that day on. KinematicsError if none fits."""
    n_days = lengths_mm.shape[0]
    names = [[""] * 6 for _ in range(n_days)]
    swaps: list[list[str]] = [[] for _ in range(n_days)]

    def fits(size, length):
        return size.min_length_mm - 1e-9 <= length <= size.max_length_mm + 1e-9

    for k in range(6):
        current = None
        for day in range(n_days):
            L = lengths_mm[day, k]
            if current is None or not fits(current, L):
                candidates = [z for z in sizes if fits(z, L)]
                if not candidates:
                    ranges = ", ".join(f"{z.name} {z.min_length_mm:g}-{z.max_length_mm:g}" for z in sizes)
                    raise KinematicsError("hexapod.strut_sizes", f"strut {k + 1} must be {L:.1f} mm long on day {day}, "
                                          f"outside every strut size ({ranges} mm); accepted: a deformity, ring "
                                          "spacing or mounting that keeps the struts within the sizes, or a size "
                                          "that covers it")

                def run_length(z):
                    n = 0
                    while day + n < n_days and fits(z, lengths_mm[day + n, k]):
                        n += 1
                    return n

                new = max(candidates, key=run_length)
                if current is not None:
                    swaps[day].append(f"strut {k + 1}: {current.name} -> {new.name}")
                current = new
            names[day][k] = current.name
    return names, swaps


def segment_distance(p0, p1, q0, q1) -> float:
    """Shortest distance between segments p0-p1 and q0-q1 (mm)."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a, e, f = float(d1 @ d1), float(d2 @ d2), float(d2 @ r)
    c, b = float(d1 @ r), float(d1 @ d2)
    denom = a * e - b * b
    s = np.clip((b * f - c * e) / denom, 0.0, 1.0) if denom > 1e-12 else 0.0
    t = (b * s + f) / e
    if t < 0.0:
        t, s = 0.0, np.clip(-c / a, 0.0, 1.0)
    elif t > 1.0:
        t, s = 1.0, np.clip((b - c) / a, 0.0, 1.0)
    return float(np.linalg.norm(p0 + s * d1 - (q0 + t * d2)))


def check_struts_clear(geom: HexapodGeometry, poses: list[Pose], diameter_mm: float) -> None:
    """KinematicsError if two struts touch on any day of the schedule."""
    for day, pose in enumerate(poses):
        top = pose.apply(geom.platform_mm)
        for i in range(6):
            for j in range(i + 1, 6):
                d = segment_distance(geom.base_mm[i], top[i], geom.base_mm[j], top[j])
                if d < diameter_mm:
                    raise KinematicsError("hexapod.deformity", f"struts {i + 1} and {j + 1} come {d:.1f} mm apart "
                                          f"on day {day}, less than the strut diameter: they would cross or clash; "
                                          "accepted: a smaller correction per stage, or a larger "
                                          "pair_separation_deg, or another first_pair_deg")


def check_reachable(geom: HexapodGeometry, pose: Pose, field_path: str = "hexapod.deformity") -> None:
    """KinematicsError if the moving ring would reach or pass the reference ring's plane."""
    top = pose.apply(geom.platform_mm)
    rise = (top[:, 2] - geom.base_mm[:, 2]) * geom.moving_side
    if np.any(rise <= 10.0):
        raise KinematicsError(field_path, f"the moving ring would come within {rise.min():.1f} mm of the reference "
                              "ring's plane (or pass it); accepted: a deformity the frame can hold with both rings "
                              "apart")


def risk_point_of(s: Scenario) -> np.ndarray:
    h = s.hexapod
    if h.structure_at_risk_mm is not None:
        return np.asarray(h.structure_at_risk_mm, float)
    z = s.gap.level_mm + hexapod_geometry(s).moving_side * 0.5 * s.gap.width_mm
    return np.array([0.5 * s.bone.outer_diameter_mm, 0.0, z])  # lateral cortex of the moving fragment's end


def plan_correction(s: Scenario) -> tuple[HexapodGeometry, Schedule]:
    """The schedule of a scenario's hexapod, checked: reachable, sizes, struts clear."""
    h = s.hexapod
    geom = hexapod_geometry(s)
    start = initial_pose(s, geom)
    field_path = "hexapod.deformity" if h.deformity is not None else "hexapod.strut_lengths_mm"
    check_reachable(geom, start, field_path)
    hinge = h.hinge_mm if h.hinge_mm is not None else origin_of(s)
    schedule = plan_schedule(geom, start, hinge, risk_point_of(s), h.max_rate_mm_per_day, h.strut_sizes)
    for pose in schedule.poses:
        check_reachable(geom, pose, field_path)
    check_struts_clear(geom, schedule.poses, h.strut_diameter_mm)
    return geom, schedule


__all__ = ["KinematicsError", "Pose", "HexapodGeometry", "Schedule", "check_reachable",
           "check_struts_clear", "correction_path", "deformity_pose", "hexapod_geometry", "initial_pose",
           "plan_correction", "plan_schedule", "assign_sizes"]
