"""Where a wire lies in 3D: one function, `wire_path`, for every builder and check.

The frame model's line network (meshes.frame_network), the continuum model's solid
(meshes.continuum) and `validate` (sim.scenario) all take a wire's clamp points, its
crossing of the bone's axis, where it enters and leaves the bone and the posts it is
clamped on from here, so the two models cannot place a wire differently (a test compares
the frame network's wire points with the solid's wire axis).

Coordinates as everywhere (sim.scenario): z along the bone axis, +z proximal; angles in a
ring's plane from +x towards +y. Lengths in mm, angles in degrees.

A wire runs along its direction angle_deg (in plan); its *start* is the clamp behind
(at -angle_deg), its *end* the clamp ahead (at +angle_deg). In plan it is the line at the
signed distance offset_mm from the bone axis (to the left of its direction). Its height:

- on a ring face (post_height_mm = None, the default): the wire lies on the face, its axis
  WIRE_CLEARANCE_MM above the face plus its radius (a washer's clearance: the continuum
  model cannot mesh a wire tangent to the face, and the frame model uses the same level);
- on posts (post_height_mm = h, a drop wire or a wire on offset blocks): at the ring's
  mid-plane + h (h > 0 above, < 0 below the ring);
- inclined (incline_deg = t): at that level where it passes closest to the bone axis (its
  crossing), rising towards its end: z(s) = level + s tan(t), s the distance in plan
  along the wire from the crossing. t > 0: the end (ahead, at angle_deg) is proximal
  (higher), the start distal; t < 0 the other way. Its ends are clamped on posts (or
  washers) at the heights where it meets the clamp positions on the ring's centroid
  circle.
- an end on a connection plate (start_plate/start_hole, end_plate/end_hole): that clamp
  stands in the plate's hole, where the wire's line passes nearest the hole in plan
  (sim.plate_geometry; validate keeps it within WIRE_ON_PLATE_REACH_MM), and the wire
  lies on the plate: its face level is raised by the plate's thickness (at a clamp on
  the ring, washers make up the difference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The wire's axis above a ring face: its radius plus this clearance (mm), in both models.
# The solid's mesher cannot mesh a wire cylinder tangent to the ring's face; the frame
# model's stiffness moves by less than 0.05 % for the 0.5 mm (the standard frame).
WIRE_CLEARANCE_MM = 0.5
# How far (mm, in plan) a wire may pass from the plate hole its clamp stands in: a wire-fixation
# bolt grips the wire under its head or through its slot, about its own radius from its axis
# (an M6 bolt: 3 mm). Assumed: no maker's figure was found.
WIRE_ON_PLATE_REACH_MM = 3.0


def wire_plate_ends(w) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """(plate, hole) of the wire's start and end clamps on connection plates, or None for a
    clamp on the ring."""
    out = []
    for plate, hole in ((getattr(w, "start_plate", None), getattr(w, "start_hole", None)),
                        (getattr(w, "end_plate", None), getattr(w, "end_hole", None))):
        out.append(None if plate is None else (plate, int(hole if hole is not None else 2)))
    return out[0], out[1]


def plate_lift_mm(s, w) -> float:
    """How much a wire with a clamp on a connection plate is raised (mm): the thickest of its
    plates (it lies on the plate; 0 for a wire clamped on the ring only)."""
    from sim.plate_geometry import plate_dims

    ends = [e for e in wire_plate_ends(w) if e is not None]
    return max((plate_dims(s.plate(p)).thickness_mm for p, _ in ends), default=0.0)


@dataclass(frozen=True)
class WirePath:
    """A wire's 3D geometry (mm). Points are numpy arrays (x, y, z).

    start_mm, end_mm: the axis at the two clamps (start behind, end ahead of angle_deg);
    direction: unit vector from start to end; crossing_mm: the point closest to the bone
    axis in plan, at `level_mm`; cortex_mm: (start side, end side) where the axis enters and
    leaves the bone's outer surface, None if the scenario has no bone; ring_mm: the two
    points on the ring's centreline (sim.ring_geometry), at its mid-plane, under (or over)
    the clamps;
    clamp_heights_mm: each clamp's height above the ring's mid-plane (negative = below);
    on_posts: the clamps stand on posts (a wire on posts or inclined), not on the face.
    """

    start_mm: np.ndarray
    end_mm: np.ndarray
    direction: np.ndarray
    crossing_mm: np.ndarray
    level_mm: float
    cortex_mm: tuple[np.ndarray, np.ndarray] | None
    ring_mm: tuple[np.ndarray, np.ndarray]
    clamp_heights_mm: tuple[float, float]
    on_posts: bool
    incline_deg: float

    @property
    def length_mm(self) -> float:
        """Clamp to clamp, along the wire."""
        return float(np.linalg.norm(self.end_mm - self.start_mm))

    def along_mm(self, point) -> float:
        """Distance from the start clamp along the wire to the projection of `point`."""
        return float((np.asarray(point, float) - self.start_mm) @ self.direction)

    @property
    def points_mm(self) -> tuple[np.ndarray, ...]:
        """The wire's points in order: start clamp, cortices (with a bone), end clamp."""
        inner = self.cortex_mm or ()
        return (self.start_mm, *inner, self.end_mm)


def face_level_mm(s, w) -> float:
    """The height of a wire's axis where it crosses the bone's axis (mm): on the ring face
    (w.face) its radius and WIRE_CLEARANCE_MM above (or below) the face; on posts the
    ring's mid-plane + post_height_mm."""
    ring = s.ring(w.ring)
    if getattr(w, "post_height_mm", None) is not None:
        return ring.level_mm + w.post_height_mm
    sign = 1.0 if w.face == "top" else -1.0
    lift = plate_lift_mm(s, w) if any(wire_plate_ends(w)) else 0.0
    return ring.level_mm + sign * (0.5 * (ring.thickness_mm + w.diameter_mm) + WIRE_CLEARANCE_MM + lift)


def plan_chord(ring, angle_deg: float, offset_mm: float, radius_mm: float) -> tuple[float, float] | None:
    """Plan parameters (s1 < s2, mm from the wire's crossing along its direction) where the
    wire's line in plan meets the circle of `radius_mm` about the ring's centre; None if it
    misses it."""
    a = math.radians(angle_deg)
    dx, dy = math.cos(a), math.sin(a)
    ox, oy = -offset_mm * dy - ring.centre_xy_mm[0], offset_mm * dx - ring.centre_xy_mm[1]
    b = dx * ox + dy * oy
    disc = b * b - (ox * ox + oy * oy - radius_mm ** 2)
    if disc <= 0:
        return None
    root = math.sqrt(disc)
    return -b - root, -b + root


def wire_path(s, w) -> WirePath | None:
    """The 3D path of wire `w` of scenario `s` (see the module's docstring), or None if its
    line misses its ring's centreline (the centroid circle, or a foot plate's U: validate
    refuses such a wire)."""
    from sim.ring_geometry import line_meets_centreline

    ring = s.ring(w.ring)
    a = math.radians(w.angle_deg)
    d2 = np.array([math.cos(a), math.sin(a)])
    foot = w.offset_mm * np.array([-math.sin(a), math.cos(a)])
    on_plates = wire_plate_ends(w)
    try:  # where the line meets the ring's centreline: a circle, or a foot plate's U (sim.ring_geometry)
        chord = line_meets_centreline(ring, foot, d2)
    except ValueError:
        if not all(on_plates):
            return None
        chord = (0.0, 0.0)
    if any(on_plates):  # a clamp in a plate's hole: where the line passes nearest the hole
        from sim.plate_geometry import plate_hole_point

        chord = tuple(chord[k] if e is None else float((np.asarray(plate_hole_point(s, *e)[:2]) - foot) @ d2)
                      for k, e in enumerate(on_plates))
    level = face_level_mm(s, w)
    incline = float(getattr(w, "incline_deg", 0.0) or 0.0)
    tan_t = math.tan(math.radians(incline))

    def at(sp: float) -> np.ndarray:
        xy = foot + sp * d2
        return np.array([xy[0], xy[1], level + sp * tan_t])

    start, end = at(chord[0]), at(chord[1])
    direction = (end - start) / np.linalg.norm(end - start)
    cortex = None
    if s.has_bone:
        r_out, _ = s.bone_radii_mm(level)
        half = math.sqrt(max(r_out ** 2 - w.offset_mm ** 2, 0.0))
        cortex = (at(-half), at(half))
    ring_pts = tuple(np.array([p[0], p[1], ring.level_mm]) for p in (start, end))
    heights = (float(start[2] - ring.level_mm), float(end[2] - ring.level_mm))
    on_posts = getattr(w, "post_height_mm", None) is not None or incline != 0.0
    return WirePath(start, end, direction, at(0.0), level, cortex, ring_pts, heights, on_posts, incline)


def segment_distance_3d(p0, p1, q0, q1) -> float:
    """The shortest distance between the segments p0-p1 and q0-q1 in space (mm)
    (Ericson, Real-Time Collision Detection, 2005, section 5.1.9)."""
    p0, p1, q0, q1 = (np.asarray(v, float) for v in (p0, p1, q0, q1))
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a, e, f = float(d1 @ d1), float(d2 @ d2), float(d2 @ r)
    eps = 1e-12

    def clip(x: float) -> float:
        return min(1.0, max(0.0, x))

    if a <= eps and e <= eps:
        return float(np.linalg.norm(r))
    if a <= eps:
        sc, tc = 0.0, clip(f / e)
    else:
        c = float(d1 @ r)
        if e <= eps:
            sc, tc = clip(-c / a), 0.0
        else:
            b = float(d1 @ d2)
            den = a * e - b * b
            sc = clip((b * f - c * e) / den) if den > eps * a * e else 0.0
            tc = (b * sc + f) / e
            if tc < 0.0:
                sc, tc = clip(-c / a), 0.0
            elif tc > 1.0:
                sc, tc = clip((b - c) / a), 1.0
    return float(np.linalg.norm(p0 + sc * d1 - q0 - tc * d2))
