"""Where parts meet a ring: one geometry of every ring's centreline for the frame network
(meshes.frame_network), the continuum solid (meshes.continuum) and validate (sim.scenario).

A ring's centreline lies in its plane z = level_mm:

- a full or open ring (kinds "full", "five_eighths", "two_thirds", "half",
  "femoral_arch"): its centroid circle, of radius `centroid_radius_mm` about `centre_xy_mm`
  (an open ring is an arc of it; whether a point lies on the arc or in the opening is
  `Ring.arc_position_deg`'s, checked by validate);
- a foot plate (kind "foot_plate"): a U, the semicircle of the same radius on the heel side
  (away from `opening_deg`) continued by two straight arms, parallel to `opening_deg` and
  `arm_length_mm` long, that end at the toes' side; the opening is between the arms' tips.

Every attachment is named by a direction about the ring's centre (rods, half-pin posts,
hexapod struts, test mounts: `centreline_point`) or by a line in the ring's plane (a
wire: `line_meets_centreline`). Angles in degrees from +x towards +y, lengths in mm.
"""

from __future__ import annotations

import math

TOL_MM = 1e-9


def _local(ring) -> tuple[float, float, float, float, float]:
    """(cx, cy, cos, sin of opening_deg, centroid radius)."""
    a = math.radians(ring.opening_deg or 0.0)
    return ring.centre_xy_mm[0], ring.centre_xy_mm[1], math.cos(a), math.sin(a), ring.centroid_radius_mm


def is_foot_plate(ring) -> bool:
    return ring.kind == "foot_plate"


def centreline_length_mm(ring) -> float:
    """The length of the ring's centreline (mm): its arc, plus both arms of a foot plate."""
    length = math.radians(ring.arc_deg) * ring.centroid_radius_mm
    if is_foot_plate(ring):
        length += 2.0 * float(ring.arm_length_mm or 0.0)
    return length


def centreline_point(ring, angle_deg: float) -> tuple[float, float] | None:
    """Where the ray from the ring's centre in direction angle_deg (deg) meets its
    centreline, (x, y) in mm. A circle's point for every ring but a foot plate (an open
    ring's opening is validate's to refuse). A foot plate: on the semicircle for
    directions at least 90 deg from opening_deg, on an arm for directions nearer to it
    (at R / tan(angle from opening_deg) along the arm), None for a direction between the
    arms' tips (the opening)."""
    cx, cy, c, s, r = _local(ring)
    a = math.radians(angle_deg)
    if not is_foot_plate(ring):
        return cx + r * math.cos(a), cy + r * math.sin(a)
    # local frame: u along the arms (opening_deg), v 90 deg counter-clockwise from it
    phi = math.atan2(math.sin(a) * c - math.cos(a) * s, math.cos(a) * c + math.sin(a) * s)
    if abs(phi) >= 0.5 * math.pi - 1e-12:
        u, v = r * math.cos(phi), r * math.sin(phi)
    else:
        t = math.tan(abs(phi))
        if t * float(ring.arm_length_mm) < r - TOL_MM:
            return None  # between the arms' tips
        u, v = r / t, math.copysign(r, phi)
    return cx + u * c - v * s, cy + u * s + v * c


def centreline_position_mm(ring, angle_deg: float) -> float | None:
    """How far along the centreline (mm, counter-clockwise from its start: an open ring's
    arc start, a foot plate's left arm's tip, 0 deg of a full ring) the direction
    angle_deg meets it; None for a foot plate's opening. Above centreline_length_mm: in an
    open ring's opening."""
    r = ring.centroid_radius_mm
    if not is_foot_plate(ring):
        return math.radians(ring.arc_position_deg(angle_deg)) * r
    point = centreline_point(ring, angle_deg)
    if point is None:
        return None
    cx, cy, c, s, _ = _local(ring)
    dx, dy = point[0] - cx, point[1] - cy
    u, v = dx * c + dy * s, -dx * s + dy * c
    arm = float(ring.arm_length_mm)
    if u > TOL_MM:  # on an arm
        return arm - u if v > 0 else arm + math.pi * r + u
    phi = math.atan2(v, u) % (2.0 * math.pi)  # pi/2 (left junction) to 3 pi/2 (right junction)
    return arm + r * (phi - 0.5 * math.pi)


def line_meets_centreline(ring, origin_xy, direction_xy) -> tuple[float, float]:
    """The parameters t1 < t2 (mm along the unit direction_xy from origin_xy) where a line
    in the ring's plane meets its centreline: the centroid circle's two points, or a foot
    plate's two points on its U. Raises ValueError if the line misses the circle, or
    leaves a foot plate through its opening (meets the U once or not at all)."""
    ox, oy = float(origin_xy[0]), float(origin_xy[1])
    dx, dy = float(direction_xy[0]), float(direction_xy[1])
    cx, cy, c, s, r = _local(ring)
    px, py = ox - cx, oy - cy
    b = dx * px + dy * py
    disc = b * b - (px * px + py * py - r * r)
    if not is_foot_plate(ring):
        if disc <= 0:
            raise ValueError("the line misses the ring's centroid circle")
        root = math.sqrt(disc)
        return -b - root, -b + root
    arm = float(ring.arm_length_mm)
    # in the local frame (u along the arms)
    pu, pv = px * c + py * s, -px * s + py * c
    du, dv = dx * c + dy * s, -dx * s + dy * c
    hits: list[float] = []
    if disc > 0:
        root = math.sqrt(disc)
        hits += [t for t in (-b - root, -b + root) if pu + t * du <= TOL_MM]  # the semicircle, u <= 0
    if abs(dv) > 1e-15:
        for side in (r, -r):  # the arms: v = +-R, 0 <= u <= arm
            t = (side - pv) / dv
            if -TOL_MM <= pu + t * du <= arm + TOL_MM:
                hits.append(t)
    hits.sort()
    unique = [t for k, t in enumerate(hits) if k == 0 or t - hits[k - 1] > 1e-7]
    if len(unique) != 2:
        raise ValueError("the line leaves the foot plate through its opening, between the arms' tips")
    return unique[0], unique[1]


def centreline_corners_mm(ring) -> list[float]:
    """A foot plate's positions along its centreline (mm) where its pieces meet: the left
    arm's tip, the two junctions of arms and semicircle, the right arm's tip."""
    arm, r = float(ring.arm_length_mm), ring.centroid_radius_mm
    return [0.0, arm, arm + math.pi * r, 2.0 * arm + math.pi * r]


def point_at_position(ring, position_mm: float) -> tuple[float, float]:
    """The foot plate's centreline point (x, y) at position_mm along it (the inverse of
    centreline_position_mm)."""
    cx, cy, c, s, r = _local(ring)
    arm = float(ring.arm_length_mm)
    if position_mm <= arm:
        u, v = arm - position_mm, r
    elif position_mm >= arm + math.pi * r:
        u, v = position_mm - arm - math.pi * r, -r
    else:
        phi = 0.5 * math.pi + (position_mm - arm) / r
        u, v = r * math.cos(phi), r * math.sin(phi)
    return cx + u * c - v * s, cy + u * s + v * c


def direction_deg(ring, xy) -> float:
    """The direction (deg, in [0, 360)) of point xy seen from the ring's centre."""
    return math.degrees(math.atan2(xy[1] - ring.centre_xy_mm[1], xy[0] - ring.centre_xy_mm[0])) % 360.0


def attachment_xy(ring, angle_deg: float) -> tuple[float, float]:
    """`centreline_point`, or for a direction into a foot plate's opening the centroid
    circle's point: a place to measure from while validate is still checking (it refuses
    such an attachment, sim.scenario._validate_ring_openings); no builder sees one."""
    point = centreline_point(ring, angle_deg)
    if point is None:
        a = math.radians(angle_deg)
        r = ring.centroid_radius_mm
        return ring.centre_xy_mm[0] + r * math.cos(a), ring.centre_xy_mm[1] + r * math.sin(a)
    return point
