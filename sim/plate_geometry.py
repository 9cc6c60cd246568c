"""Where a connection plate and its holes are: one geometry for the frame model
(meshes.frame_network, whose plate beams the pictures draw), the continuum solid
(meshes.continuum) and validate (sim.scenario, sim.plate_checks).

A connection plate ([[plates]], sim.scenario.Plate) is a straight flat bar with a row of
holes, bolted through its first hole to a ring's hole and lying on the ring's face; the
rest of the plate reaches beyond the ring (outside it, inwards, or along it) and holds a
rod, a wire's clamp or a half pin's post where the ring has no hole (outside a smaller
ring, across a 5/8 ring's opening, between rings of different sizes).

Geometry (coordinates as everywhere, sim.scenario: z along the bone, +z proximal; angles
in a ring's plane from +x towards +y; lengths in mm):

- hole 1 (the bolt) lies over the ring's centreline (sim.ring_geometry.attachment_xy) at
  the plate's angle_deg;
- the plate lies on the ring's face (`face`): its mid-plane is the ring's mid-plane
  +-(ring thickness + plate thickness) / 2;
- its holes run from hole 1 along the plate's direction in the ring's plane at the
  hole pitch: hole k is (k - 1) x pitch from hole 1. direction "radial": outward along
  the ring's radius through hole 1; "inward": towards the ring's centre; "tangential":
  counter-clockwise along the ring's tangent at hole 1 (seen from proximal); a number:
  that direction (deg) in the ring's plane;
- the plate's length is centred on its row of holes (equal ends beyond hole 1 and the
  last hole).

Plate sizes (PLATE_SIZES): no maker's catalogue with dimensions was reachable (searched:
Smith & Nephew Ilizarov "connection plate", "short plate", "long plate", "twisted
plate"); the sizes are assumed: the section of the Ilizarov system's ring stock (16 mm
wide, 5 mm thick: the same bar the rings are bent from) and a hole pitch that keeps two
M6 nuts side by side (10 mm). docs/frame-model.md, "Connection plates", has the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlateSize:
    """A catalogue plate: holes, hole pitch, section (width in the ring's plane, thickness
    along the bone) in mm, and where the numbers come from."""

    holes: int
    hole_pitch_mm: float
    width_mm: float
    thickness_mm: float
    source: str


_ASSUMED = ("assumed: no maker's catalogue with dimensions was reachable; the Ilizarov ring stock's section "
            "(16 x 5 mm) and a 10 mm pitch (two M6 nuts side by side)")
PLATE_SIZES: dict[str, PlateSize] = {
    "short": PlateSize(3, 10.0, 16.0, 5.0, _ASSUMED),
    "medium": PlateSize(5, 10.0, 16.0, 5.0, _ASSUMED),
    "long": PlateSize(8, 10.0, 16.0, 5.0, _ASSUMED),
    "extra_long": PlateSize(12, 10.0, 16.0, 5.0, _ASSUMED),
}


@dataclass(frozen=True)
class PlateDims:
    """A plate's resolved dimensions (mm): the catalogue size's, with the plate's own
    values where it gives them."""

    holes: int
    hole_pitch_mm: float
    width_mm: float
    thickness_mm: float
    length_mm: float

    @property
    def row_mm(self) -> float:
        """From hole 1 to the last hole."""
        return (self.holes - 1) * self.hole_pitch_mm

    @property
    def end_mm(self) -> float:
        """The plate beyond each end hole (half of what the row leaves of its length)."""
        return 0.5 * (self.length_mm - self.row_mm)


def plate_dims(plate) -> PlateDims:
    """The dimensions of [[plates]] entry `plate`: its catalogue size's (PLATE_SIZES),
    overridden by holes, hole_pitch_mm, width_mm, thickness_mm where given; length_mm
    defaults to (holes - 1) x pitch + width (half the width beyond each end hole). KeyError for a size not
    in the catalogue (validate refuses it first)."""
    size = PLATE_SIZES[plate.size]
    holes = int(plate.holes if plate.holes is not None else size.holes)
    pitch = float(plate.hole_pitch_mm if plate.hole_pitch_mm is not None else size.hole_pitch_mm)
    width = float(plate.width_mm if plate.width_mm is not None else size.width_mm)
    thick = float(plate.thickness_mm if plate.thickness_mm is not None else size.thickness_mm)
    length = float(plate.length_mm if plate.length_mm is not None else (holes - 1) * pitch + width)
    return PlateDims(holes, pitch, width, thick, length)


@dataclass(frozen=True)
class PlatePath:
    """One plate's geometry (mm). `bolt_base`: the ring's centreline point under hole 1,
    at the ring's mid-plane (where the frame model's ring node is); `origin`: hole 1 at
    the plate's mid-plane; `direction`: the unit vector (horizontal) along the row of
    holes; `level_mm`: the plate's mid-plane; `start`, `end`: the plate's centreline ends
    (its length, centred on the row of holes)."""

    name: str
    ring: str
    bolt_base: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, float, float]
    level_mm: float
    dims: PlateDims
    start: tuple[float, float, float]
    end: tuple[float, float, float]

    def hole(self, k: int) -> tuple[float, float, float]:
        """Hole k (1-based) at the plate's mid-plane."""
        t = (k - 1) * self.dims.hole_pitch_mm
        return tuple(float(o + t * d) for o, d in zip(self.origin, self.direction))

    def along_mm(self, point) -> float:
        """How far along the plate's row (mm, from hole 1) the projection of `point` is."""
        return float((np.asarray(point, float) - np.asarray(self.origin)) @ np.asarray(self.direction))

    @property
    def normal_xy(self) -> tuple[float, float]:
        """The horizontal unit vector across the plate (90 deg counter-clockwise from its row)."""
        return (-self.direction[1], self.direction[0])


def plate_direction_deg(ring, angle_deg: float, direction) -> float:
    """The plan direction (deg) of a plate's row of holes: see the module's docstring.
    `direction` is "radial", "inward", "tangential" or a number (deg)."""
    from sim.ring_geometry import attachment_xy

    if not isinstance(direction, str):
        return float(direction)
    x, y = attachment_xy(ring, angle_deg)
    radial = math.degrees(math.atan2(y - ring.centre_xy_mm[1], x - ring.centre_xy_mm[0]))
    return {"radial": radial, "inward": radial + 180.0, "tangential": radial + 90.0}[direction]


def plate_path(s, plate) -> PlatePath:
    """The geometry of [[plates]] entry `plate` of scenario `s` (see PlatePath)."""
    from sim.ring_geometry import attachment_xy

    ring = s.ring(plate.ring)
    dims = plate_dims(plate)
    x0, y0 = attachment_xy(ring, plate.angle_deg)
    sign = 1.0 if plate.face == "top" else -1.0
    level = ring.level_mm + sign * 0.5 * (ring.thickness_mm + dims.thickness_mm)
    a = math.radians(plate_direction_deg(ring, plate.angle_deg, plate.direction))
    d = (math.cos(a), math.sin(a), 0.0)
    origin = (float(x0), float(y0), float(level))
    start = tuple(float(o - dims.end_mm * c) for o, c in zip(origin, d))
    end = tuple(float(o + (dims.row_mm + dims.end_mm) * c) for o, c in zip(origin, d))
    return PlatePath(plate.name, ring.name, (float(x0), float(y0), float(ring.level_mm)), origin, d, float(level),
                     dims, start, end)


def plate_hole_point(s, plate_name: str, hole: int) -> tuple[float, float, float]:
    """Hole `hole` of the plate named `plate_name`, at the plate's mid-plane (mm)."""
    return plate_path(s, s.plate(plate_name)).hole(hole)


def plan_distance_to_axis_mm(path: PlatePath) -> float:
    """The least plan distance (mm) of the plate's outline (its centreline less half its
    width) from the bone's axis (x = y = 0): what validate keeps clear of the limb."""
    p0, p1 = np.asarray(path.start[:2]), np.asarray(path.end[:2])
    d = p1 - p0
    t = float(np.clip(-(p0 @ d) / (d @ d), 0.0, 1.0))
    return float(np.linalg.norm(p0 + t * d)) - 0.5 * path.dims.width_mm


def line_crosses_plate(path: PlatePath, foot_xy, direction_xy) -> float | None:
    """Where (mm along the plate's row from hole 1) the plan line foot + s direction
    crosses the plate's centreline; None if it runs parallel to the plate."""
    d = np.asarray(direction_xy, float)
    u = np.asarray(path.direction[:2])
    o = np.asarray(path.origin[:2])
    f = np.asarray(foot_xy, float)
    den = float(u[0] * d[1] - u[1] * d[0])
    if abs(den) < 1e-9:
        return None
    r = f - o
    return float((r[0] * d[1] - r[1] * d[0]) / den)
