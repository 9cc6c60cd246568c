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

The deformity is entered as a planner reads it on two films (`sim.scenario.Deformity`):
`deformity_pose` builds the pose whose moving-fragment axis projects on the AP (x-z) and
lateral (y-z) planes at exactly the entered angles, then turns the fragment about its own
axis by the axial rotation (a tilt-and-twist decomposition, docs/hexapod.md);
`clinical_parameters` is its exact inverse.

Units: mm and degrees at the interface, radians inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.scenario import Deformity, Scenario, StrutSize, hexapod_origin_mm


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

    @property
    def matrix(self) -> np.ndarray:
        """4 x 4 homogeneous matrix of the motion on scenario coordinates (mm)."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.origin_mm + self.translation_mm - self.rotation @ self.origin_mm
        return m

    @property
    def matrix_about_origin(self) -> np.ndarray:
        """4 x 4 matrix of the motion on coordinates measured from `origin_mm`: [[R, t], [0, 1]]."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.translation_mm
        return m

    @staticmethod
    def from_matrix(m, origin_mm) -> Pose:
        """The motion of a 4 x 4 matrix on scenario coordinates, written about `origin_mm`."""
        m = np.asarray(m, float)
        o = np.asarray(origin_mm, float)
        R = m[:3, :3]
        return Pose(R.copy(), m[:3, 3] - o + R @ o, o)

    def then(self, other: Pose) -> Pose:
        """`other` applied after this motion (other o self), about this pose's origin."""
        return Pose.from_matrix(other.matrix @ self.matrix, self.origin_mm)

    def inverse(self) -> Pose:
        return Pose.from_matrix(np.linalg.inv(self.matrix), self.origin_mm)


def tilt_rotation(axis) -> np.ndarray:
    """The shortest rotation that carries +z onto the unit vector `axis` (no twist about it)."""
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a)
    v = np.cross([0.0, 0.0, 1.0], a)
    c = float(a[2])
    if c <= -1.0 + 1e-12:
        raise ValueError("axis opposite to +z: the tilt is not unique")
    K = _skew(v)
    return np.eye(3) + K + K @ K / (1.0 + c)


def deformity_pose(d: Deformity | dict[str, float], side_sign: float, moving_side: float, origin_mm) -> Pose:
    """The pose of the moving fragment (corrected -> deformed) of a deformity in clinical terms.

    d: a `Deformity`, or its signed values (`Deformity.signed`: + varus, lateral,
    procurvatum, anterior, internal, long). side_sign: +1 right limb, -1 left (the x
    component of "lateral"). moving_side: -1 if the moving fragment is distal, +1 if
    proximal. The moved fragment's axis a = R e_z is fixed by the projected angles,
    a ~ (tan x, tan y, 1) with tan x = -moving_side * side_sign * tan(AP angle) (varus:
    apex lateral) and tan y = -moving_side * tan(lateral angle) (procurvatum: apex
    anterior); R = tilt(e_z -> a) . Rz(axial rotation * side_sign) (internal: the anterior
    surface turns medially). Translation (side_sign * AP, lateral, moving_side * length).
    Raises ValueError for projected angles of 90 deg or more (no pose has them).
    """
    v = d.signed() if isinstance(d, Deformity) else d
    ap, lat = (math.radians(v.get(k, 0.0)) for k in ("ap_angulation_deg", "lateral_angulation_deg"))
    if abs(ap) >= math.pi / 2 or abs(lat) >= math.pi / 2:
        raise ValueError("a projected angle of 90 deg or more: no pose has it")
    axis = np.array([-moving_side * side_sign * math.tan(ap), -moving_side * math.tan(lat), 1.0])
    R = tilt_rotation(axis) @ rot_z(math.radians(side_sign * v.get("axial_rotation_deg", 0.0)))
    t = np.array([side_sign * v.get("ap_translation_mm", 0.0), v.get("lateral_translation_mm", 0.0),
                  moving_side * v.get("length_mm", 0.0)])
    return Pose(R, t, np.asarray(origin_mm, float))


def projected_angles_deg(rotation: np.ndarray) -> tuple[float, float]:
    """Angles (deg) of the moved axis a = R e_z from e_z as projected on the x-z plane (AP
    film) and the y-z plane (lateral film): atan2(a_x, a_z) and atan2(a_y, a_z)."""
    a = np.asarray(rotation, float)[:, 2]
    return math.degrees(math.atan2(a[0], a[2])), math.degrees(math.atan2(a[1], a[2]))


def clinical_parameters(pose: Pose, side_sign: float, moving_side: float) -> dict[str, float]:
    """The signed clinical parameters (see `deformity_pose`, whose exact inverse this is) of
    a pose written about the deformity's origin."""
    R = pose.rotation
    a = R[:, 2]
    ap = math.atan2(-moving_side * side_sign * a[0], a[2])
    lat = math.atan2(-moving_side * a[1], a[2])
    twist = tilt_rotation(a).T @ R
    axial = math.atan2(twist[1, 0], twist[0, 0])
    t = pose.translation_mm
    return {"ap_angulation_deg": math.degrees(ap), "ap_translation_mm": float(side_sign * t[0]),
            "lateral_angulation_deg": math.degrees(lat), "lateral_translation_mm": float(t[1]),
            "axial_rotation_deg": math.degrees(side_sign * axial), "length_mm": float(moving_side * t[2])}


# ----------------------------------------------------------------------------- the frame
@dataclass(frozen=True)
class HexapodGeometry:
    """Mounting points (mm): base on the reference ring, platform on the moving ring in
    the corrected layout; strut k joins base[k] to platform[k]."""

    base_mm: np.ndarray
    platform_mm: np.ndarray
    base_angles_deg: tuple[float, ...]  # around each ring, in [0, 360) from +x towards +y (`ring_angle_deg`)
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


def ring_angle_deg(angle_deg: float) -> float:
    """An angle around a ring (deg, from +x towards +y) in [0, 360): 375 is 15, -10 is 350."""
    a = float(angle_deg) % 360.0
    return 0.0 if a >= 360.0 else a  # -1e-15 % 360 rounds to 360.0


def pairs_layout(first_pair_deg: float, pair_separation_deg: float) -> tuple[list[float], list[float]]:
    """Mount angles (deg) of the standard alternating pattern: reference pairs centred at
    first_pair_deg + 0/120/240, pair_separation_deg apart; moving pairs turned by 60 deg."""
    half = 0.5 * pair_separation_deg
    base, platform = [], []
    for j in range(3):
        c = first_pair_deg + 120.0 * j
        # reference pair at c -/+ half; the zig-zag reaches the moving pairs at c -/+ 60
        base += [c - half, c + half]
        platform += [c - 60.0 + half, c + 60.0 - half]
    return base, platform


def level_geometry(s: Scenario, reference: str, moving: str, base_angles, platform_angles) -> HexapodGeometry:
    """Mounting points of six struts between two rings at these angles (on the rings'
    centrelines: centroid circles, a foot plate's U)."""
    ref, mov = s.ring(reference), s.ring(moving)

    def points(ring, angles):  # on the ring's centreline (a foot plate's U: sim.ring_geometry)
        from sim.ring_geometry import attachment_xy

        return np.array([[*attachment_xy(ring, a), ring.level_mm] for a in angles])

    side = -1.0 if mov.level_mm < ref.level_mm else 1.0
    base_angles = tuple(ring_angle_deg(a) for a in base_angles)
    platform_angles = tuple(ring_angle_deg(a) for a in platform_angles)
    return HexapodGeometry(points(ref, base_angles), points(mov, platform_angles), base_angles, platform_angles, side)


def master_tab_deg(s: Scenario) -> float:
    """Direction (deg, from +x towards +y) of the reference ring's master tab, the middle of
    the mounts of struts 1 and 2: first_pair_deg, else anterior (90) turned by the
    mounting's rotary offset (internal: towards medial); in [0, 360)."""
    h = s.hexapod
    if h.first_pair_deg is not None:
        return ring_angle_deg(h.first_pair_deg)
    rotary = h.mounting.signed()["rotary_offset_deg"] if h.mounting is not None else 0.0
    return ring_angle_deg(90.0 + h.side_sign * rotary)


def hexapod_geometry(s: Scenario) -> HexapodGeometry:
    """Mounting points of the correcting level's struts (see `Hexapod`)."""
    h = s.hexapod
    if h.strut_mounts_deg is not None:
        base, platform = [m[0] for m in h.strut_mounts_deg], [m[1] for m in h.strut_mounts_deg]
    else:
        base, platform = pairs_layout(master_tab_deg(s), h.pair_separation_deg)
    return level_geometry(s, h.reference_ring, h.moving_ring, base, platform)


def fixed_level_geometries(s: Scenario) -> list[HexapodGeometry]:
    """Mounting points of each further level (`Hexapod.fixed_levels`), rings as placed."""
    out = []
    for level in s.hexapod.fixed_levels:
        if level.strut_mounts_deg is not None:
            base, platform = [m[0] for m in level.strut_mounts_deg], [m[1] for m in level.strut_mounts_deg]
        else:
            base, platform = pairs_layout(level.first_pair_deg, level.pair_separation_deg)
        out.append(level_geometry(s, level.rings[0], level.rings[1], base, platform))
    return out


def origin_of(s: Scenario) -> np.ndarray:
    """The deformity's origin (mm, scenario axes): see `sim.scenario.hexapod_origin_mm`."""
    return np.asarray(hexapod_origin_mm(s), float)


def _clinical_pose(s: Scenario, d: Deformity, geom: HexapodGeometry, field_path: str) -> Pose:
    try:
        return deformity_pose(d, s.hexapod.side_sign, geom.moving_side, origin_of(s))
    except ValueError as exc:
        raise KinematicsError(field_path, f"{exc}; accepted: projected angles below 90 deg") from None


def initial_pose(s: Scenario, geom: HexapodGeometry | None = None) -> Pose:
    """The moving fragment's pose on the first day of the plan (corrected -> as it is): the
    deformity, the residual seen on new films, or the pose the strut lengths give."""
    h = s.hexapod
    geom = geom or hexapod_geometry(s)
    if h.deformity is not None:
        return _clinical_pose(s, h.deformity, geom, "hexapod.deformity")
    if h.residual is not None:
        return _clinical_pose(s, h.residual, geom, "hexapod.residual")
    return geom.forward(h.strut_lengths_mm, origin_mm=origin_of(s))


def frame_offset(s: Scenario, geom: HexapodGeometry | None = None) -> Pose:
    """E with ring pose = fragment pose o E: the identity, except for a residual correction,
    where the struts in place put the ring at P = forward(lengths) while the films show the
    fragment at D: E = D^-1 o P (the mounting error the residual reveals)."""
    h = s.hexapod
    geom = geom or hexapod_geometry(s)
    o = origin_of(s)
    if h.residual is None:
        return Pose.identity(o)
    in_place = geom.forward(h.strut_lengths_mm, origin_mm=o)
    return in_place.then(initial_pose(s, geom).inverse())


def initial_frame_pose(s: Scenario, geom: HexapodGeometry | None = None) -> Pose:
    """The moving ring's pose on the first day of the plan (what the frame model places)."""
    geom = geom or hexapod_geometry(s)
    return frame_offset(s, geom).then(initial_pose(s, geom))


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
    poses: list[Pose]  # the moving fragment's pose each day (corrected -> that day)
    lengths_mm: np.ndarray  # (days, 6)
    risk_motion_mm: np.ndarray  # the structure at risk's displacement on each day (day 0: 0)
    sizes: list[list[str]]  # per day, the size of each strut
    swaps: list[list[str]]  # per day, the swaps made that day ("strut 3: short -> medium")
    ring_poses: list[Pose] = field(default_factory=list)  # the moving ring's pose each day (= poses unless residual)


def plan_schedule(geom: HexapodGeometry, start: Pose, hinge_mm, risk_point_mm, rate_mm_per_day: float,
                  sizes: tuple[StrutSize, ...], samples: int = 4000, offset: Pose | None = None,
                  size_field: str = "hexapod.strut_sizes") -> Schedule:
    """Day-by-day correction with the structure at risk moving at most rate_mm_per_day.

    The fraction of correction is spread so that the structure at risk travels equal
    arc lengths along its (curved) path each day; its daily chord is then at most the
    rate, which is checked on the final schedule. `offset` (default identity): the ring's
    pose is the fragment's pose o offset (`frame_offset`). A strut no size fits raises a
    KinematicsError naming `size_field`.
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
    ring_poses = poses if offset is None else [offset.then(p) for p in poses]
    lengths = np.array([geom.lengths_mm(p) for p in ring_poses])
    size_names, swaps = assign_sizes(lengths, sizes, size_field)
    return Schedule(list(range(n_days + 1)), [float(s) for s in fractions], poses, lengths, motion, size_names, swaps,
                    ring_poses)


def assign_sizes(lengths_mm: np.ndarray, sizes: tuple[StrutSize, ...], field_path: str = "hexapod.strut_sizes",
                 first: int = 1) -> tuple[list[list[str]], list[list[str]]]:
    """Strut sizes day by day: each strut keeps a size while its length fits, then swaps
    to the size that fits longest from that day on. KinematicsError at `field_path` if
    none fits. Struts are numbered from `first`."""
    n_days, n_struts = lengths_mm.shape
    names = [[""] * n_struts for _ in range(n_days)]
    swaps: list[list[str]] = [[] for _ in range(n_days)]

    def fits(size, length):
        return size.min_length_mm - 1e-9 <= length <= size.max_length_mm + 1e-9

    for k in range(n_struts):
        current = None
        for day in range(n_days):
            L = lengths_mm[day, k]
            if current is None or not fits(current, L):
                candidates = [z for z in sizes if fits(z, L)]
                if not candidates:
                    ranges = ", ".join(f"{z.name} {z.min_length_mm:g}-{z.max_length_mm:g}" for z in sizes)
                    raise KinematicsError(field_path, f"strut {k + first} must be {L:.1f} mm long on day {day}, "
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
                    swaps[day].append(f"strut {k + first}: {current.name} -> {new.name}")
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


def check_struts_clear(geom: HexapodGeometry, poses: list[Pose], diameter_mm: float,
                       field_path: str = "hexapod.deformity", first: int = 1) -> None:
    """KinematicsError if two struts touch on any day of the schedule (struts numbered from `first`)."""
    for day, pose in enumerate(poses):
        top = pose.apply(geom.platform_mm)
        for i in range(6):
            for j in range(i + 1, 6):
                d = segment_distance(geom.base_mm[i], top[i], geom.base_mm[j], top[j])
                if d < diameter_mm:
                    raise KinematicsError(field_path, f"struts {i + first} and {j + first} come {d:.1f} mm apart "
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
    """The structure at risk (mm): hexapod.structure_at_risk_mm, or the lateral cortex of the
    moving fragment's end at the gap."""
    h = s.hexapod
    if h.structure_at_risk_mm is not None:
        return np.asarray(h.structure_at_risk_mm, float)
    z = s.gap.level_mm + hexapod_geometry(s).moving_side * 0.5 * s.gap.width_mm
    return np.array([h.side_sign * s.bone_radii_mm(z)[0], 0.0, z])


def state_field(s: Scenario) -> str:
    """The scenario field that sets the frame's state (named in errors about the plan)."""
    h = s.hexapod
    if h.deformity is not None:
        return "hexapod.deformity"
    return "hexapod.residual" if h.residual is not None else "hexapod.strut_lengths_mm"


def check_fixed_levels(s: Scenario) -> list[np.ndarray]:
    """Each further level's strut lengths (mm), checked: a size fits, struts clear, and the
    six struts hold their rings (no singular layout). KinematicsError naming the level."""
    from sim.mechanism import strut_rank

    h = s.hexapod
    out = []
    for i, g in enumerate(fixed_level_geometries(s)):
        path = f"hexapod.fixed_levels[{i}]"
        first = 6 * (i + 1) + 1
        identity = Pose.identity(origin_of(s))
        lengths = g.lengths_mm(identity)
        assign_sizes(lengths[None, :], h.strut_sizes, path, first)
        check_struts_clear(g, [identity], h.strut_diameter_mm, path, first)
        centre = g.platform_mm.mean(axis=0)
        radius = float(np.max(np.linalg.norm(g.platform_mm - centre, axis=1)))
        rank, _ = strut_rank(g.base_mm - centre, g.platform_mm - centre, radius)
        if rank < 6:
            raise KinematicsError(path, f"the six struts of this level hold rings {', '.join(h.fixed_levels[i].rings)} "
                                  f"in only {rank} of six directions (a singular layout); accepted: mounts in the "
                                  "alternating pattern (first_pair_deg, pair_separation_deg) or another strut_mounts_deg")
        out.append(lengths)
    return out


def plan_correction(s: Scenario) -> tuple[HexapodGeometry, Schedule]:
    """The schedule of a scenario's hexapod, checked: reachable, sizes, struts clear, and the
    further levels (`check_fixed_levels`)."""
    h = s.hexapod
    geom = hexapod_geometry(s)
    field_path = state_field(s)
    if h.residual is not None:  # the lengths in place must be lengths of the sizes at hand
        assign_sizes(np.asarray(h.strut_lengths_mm, float)[None, :], h.strut_sizes, "hexapod.strut_lengths_mm")
    start = initial_pose(s, geom)
    offset = frame_offset(s, geom)
    check_reachable(geom, offset.then(start), field_path)
    hinge = h.hinge_mm if h.hinge_mm is not None else origin_of(s)
    size_field = "hexapod.residual" if h.residual is not None else "hexapod.strut_sizes"
    schedule = plan_schedule(geom, start, hinge, risk_point_of(s), h.max_rate_mm_per_day, h.strut_sizes,
                             offset=None if h.residual is None else offset, size_field=size_field)
    for pose in schedule.ring_poses:
        check_reachable(geom, pose, field_path)
    check_struts_clear(geom, schedule.ring_poses, h.strut_diameter_mm, field_path)
    check_fixed_levels(s)
    return geom, schedule


__all__ = ["KinematicsError", "Pose", "HexapodGeometry", "Schedule", "assign_sizes", "check_fixed_levels",
           "check_reachable", "check_struts_clear", "clinical_parameters", "correction_path", "deformity_pose",
           "fixed_level_geometries", "frame_offset", "hexapod_geometry", "initial_frame_pose", "initial_pose",
           "master_tab_deg", "origin_of", "pairs_layout", "plan_correction", "plan_schedule", "projected_angles_deg",
           "ring_angle_deg", "risk_point_of", "state_field", "tilt_rotation"]
