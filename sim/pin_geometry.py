"""Where a half pin is: one geometry for the frame model, the solid model and validate.

`pin_path(s, pin)` places a half pin (Schanz screw) from a scenario: the post it stands
on (or the multi-pin clamp or Rancho cube that holds it), the point where it leaves its
clamp, its axis, the points where it crosses the cortices, and its tip. The frame model's
line network (meshes.frame_network), the continuum model's solid (meshes.continuum),
the mechanism check (sim.mechanism), the pin-bone law (sim.interfaces) and the scenario's
checks (sim.scenario) all read it from here, so they place every pin alike.

Coordinates as everywhere (sim.scenario): z along the bone (0 at its distal end, +z
proximal), x medio-lateral (+x lateral), y antero-posterior (+y anterior); angles in a
ring's plane from +x towards +y. Lengths in mm.

A pin's direction, from its clamp point towards the bone:

- in plan view it is parallel to the line from its post to the bone's axis (through the
  axis for a pin on its own post, or in a clamp's hole 1), turned by `aim_deg`
  counter-clockwise seen from proximal (0: aimed at the axis); or it passes `offset_mm`
  from the axis (signed, + to the left of its direction, as a wire's offset): for a pin
  on its post at distance rho from the axis, aim = asin(offset / rho);
- it is inclined to the ring plane by `tilt_deg`: + towards proximal (the pin rises, +z,
  as it goes into the bone; a pin from a distal ring aimed up the bone), - towards distal.
  The unit direction is (cos(tilt) u_plan, sin(tilt)).

The bone is asked for its radii at each level (`Scenario.bone_radii_mm(z)`), so a bone
whose section varies along its length is crossed where it is. A bicortical pin's tip is
TIP_PAST_FAR_CORTEX_MM past the far cortex's outer surface; a unicortical pin's tip is
TIP_INTO_CANAL_MM into the medullary canal past the near cortex (both along the pin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TIP_PAST_FAR_CORTEX_MM = 2.0  # a bicortical pin's tip beyond the far cortex (its thread engages the whole cortex)
TIP_INTO_CANAL_MM = 1.0  # a unicortical pin's tip beyond the near cortex, in the canal
_SEARCH_STEP_MM = 0.25  # the step of the search for where the pin crosses the bone's surfaces
_MAX_REACH_MM = 600.0  # no pin reaches further than this from its clamp


Vec = tuple[float, float, float]


@dataclass(frozen=True)
class PinPath:
    """One half pin's geometry (mm). Points are (x, y, z); `direction` is a unit vector
    from the clamp point towards the bone; parameters `t` are mm along the pin from the
    clamp point.

    post_base: on the ring's centroid circle at the post's angle, in the ring's mid-plane (a
    post in a connection plate's hole: at the hole, in the plate's mid-plane).
    post_top: the top of the post (a clamp's: where its block sits).
    clamp_point: where the pin leaves its post or its clamp's hole.
    cortex_mm: the stretches of the pin inside the cortex, (t_in, t_out), from the clamp
    point to the tip: one per cortex crossed ([near] for a unicortical pin, [near, far]
    for a bicortical one; one stretch if the pin never enters the canal).
    tip: the pin's end; t_tip its parameter.
    closest_mm: the plan distance of the pin's line from the bone's axis (signed, + to the
    left of its direction).
    """

    name: str
    post_base: Vec
    post_top: Vec
    clamp_point: Vec
    direction: Vec
    cortex_mm: tuple[tuple[float, float], ...]
    t_tip: float
    closest_mm: float
    clamp: str | None = None  # the [[pin_clamps]] entry holding the pin, None: its own post

    def at(self, t: float) -> Vec:
        """The point t mm along the pin from its clamp point."""
        return tuple(float(c + t * d) for c, d in zip(self.clamp_point, self.direction))

    @property
    def tip(self) -> Vec:
        return self.at(self.t_tip)

    @property
    def near_outer(self) -> Vec:
        """Where the pin enters the bone (the near cortex's outer surface)."""
        return self.at(self.cortex_mm[0][0])

    @property
    def near_inner(self) -> Vec:
        """Where it leaves the near cortex (into the canal)."""
        return self.at(self.cortex_mm[0][1])

    @property
    def far_inner(self) -> Vec | None:
        """Where it enters the far cortex (None: unicortical, or no canal crossed)."""
        return self.at(self.cortex_mm[1][0]) if len(self.cortex_mm) > 1 else None

    @property
    def far_outer(self) -> Vec | None:
        """Where it leaves the bone (None: unicortical, or no canal crossed)."""
        return self.at(self.cortex_mm[1][1]) if len(self.cortex_mm) > 1 else None

    @property
    def cortex_lengths_mm(self) -> tuple[float, ...]:
        """The length of pin inside each cortex it crosses (for a pin inclined by tilt in a
        uniform tube: the wall thickness / cos(tilt) for a pin aimed at the axis)."""
        return tuple(b - a for a, b in self.cortex_mm)

    @property
    def bone_points(self) -> tuple[Vec, ...]:
        """Every cortex surface the pin crosses, from the near outer to the tip's side."""
        return tuple(self.at(t) for seg in self.cortex_mm for t in seg)

    @property
    def z_range_mm(self) -> tuple[float, float]:
        """The lowest and highest level of the pin inside the bone (entry to tip)."""
        z0, z1 = self.near_outer[2], self.tip[2]
        return min(z0, z1), max(z0, z1)


class PinGeometryError(ValueError):
    """A pin that cannot be placed: (field, message) as a ScenarioError would give them."""

    def __init__(self, field_path: str, message: str):
        self.field = field_path
        self.message = message
        super().__init__(f"{field_path}: {message}")


def hole_point(s, clamp, hole: int) -> Vec:
    """Where hole `hole` (1 = on the post) of a [[pin_clamps]] block is (mm): hole k lies
    (k - 1) x hole_spacing_mm from hole 1 along the block's row, "axial" away from the
    ring (up for a post above it, down for one below), "tangential" counter-clockwise
    along the ring (seen from proximal)."""
    from sim.ring_geometry import attachment_xy

    ring = s.ring(clamp.ring)
    a = math.radians(clamp.angle_deg)
    x0, y0 = attachment_xy(ring, clamp.angle_deg)  # on the ring's centreline (a foot plate's U too)
    z0 = ring.level_mm + clamp.post_height_mm
    step = (hole - 1) * clamp.hole_spacing_mm
    if clamp.row == "axial":
        return (x0, y0, z0 + math.copysign(step, clamp.post_height_mm if clamp.post_height_mm else 1.0))
    return (x0 - step * math.sin(a), y0 + step * math.cos(a), z0)


def pin_direction(post_xy: tuple[float, float], clamp_xy: tuple[float, float], tilt_deg: float, aim_deg: float,
                  offset_mm: float | None) -> tuple[Vec, float]:
    """The pin's unit direction (x, y, z) and its plan aim (deg), from the plan positions of
    its post and of its clamp point (they differ for a clamp's tangential holes), its
    tilt, and its aim or offset (see the module's docstring). Aim 0 is parallel to the
    line from the post to the bone's axis (through the axis for a pin on its own post).
    Raises PinGeometryError("offset_mm") for an offset the pin cannot reach from there."""
    post = np.asarray(post_xy, float)
    rho = float(np.hypot(*post))
    if rho < 1e-9:
        raise PinGeometryError("angle_deg", "the post stands on the bone's axis; accepted: a post on a ring")
    n = -post / rho  # towards the bone's axis
    left = np.array([-n[1], n[0]])
    if offset_mm is not None:
        c = np.asarray(clamp_xy, float)
        c_n, c_l = float(c @ n), float(c @ left)
        reach = math.hypot(c_n, c_l)
        if abs(offset_mm) >= reach:
            raise PinGeometryError("offset_mm", f"{offset_mm:g} mm: the pin's clamp point is {reach:.1f} mm from the "
                                   "bone's axis; accepted: |offset| well under that")
        # the line's signed offset is -c_n sin(aim) + c_l cos(aim) = reach cos(aim + beta)
        beta = math.atan2(c_n, c_l)
        options = [math.degrees(sg * math.acos(offset_mm / reach) - beta) for sg in (1.0, -1.0)]
        aim = min(((o + 180.0) % 360.0 - 180.0 for o in options), key=abs)
    else:
        aim = float(aim_deg or 0.0)
    g = math.radians(aim)
    u = n * math.cos(g) + left * math.sin(g)
    t = math.radians(tilt_deg)
    d = (float(u[0] * math.cos(t)), float(u[1] * math.cos(t)), float(math.sin(t)))
    return d, aim


def _crossings(s, p0: np.ndarray, d: np.ndarray, which: int, t_max: float, reach_mm: float) -> list[float]:
    """Parameters t in (0, t_max) where the pin's line crosses the bone's outer (which = 0)
    or inner (1) surface: |xy(t)| = radius(z(t)). Searched in steps where the line is
    within `reach_mm` (the bone's largest radius) of the axis, then bisected; exact for a
    uniform tube (the closed form is tested against it)."""
    def g(t: float) -> float:
        q = p0 + t * d
        return float(math.hypot(q[0], q[1]) - s.bone_radii_mm(float(q[2]))[which])

    dxy, pxy = d[:2], p0[:2]
    a, b, c = float(dxy @ dxy), 2.0 * float(pxy @ dxy), float(pxy @ pxy) - reach_mm ** 2
    disc = b * b - 4.0 * a * c
    if a <= 0 or disc <= 0:
        return []
    lo = max(0.0, (-b - math.sqrt(disc)) / (2.0 * a))
    hi = min(t_max, (-b + math.sqrt(disc)) / (2.0 * a))
    if hi <= lo:
        return []
    n = max(2, int(math.ceil((hi - lo) / _SEARCH_STEP_MM)))
    ts = np.linspace(lo, hi, n + 1)
    # also look at the closest approach to the axis: a chord shorter than a step is not missed
    tc = -0.5 * b / a
    if lo < tc < hi:
        ts = np.sort(np.append(ts, tc))
    out = []
    vals = [g(t) for t in ts]
    for (ta, va), (tb, vb) in zip(zip(ts, vals), zip(ts[1:], vals[1:])):
        if va == 0.0:
            out.append(float(ta))
            continue
        if va * vb < 0:
            lo_, hi_ = float(ta), float(tb)
            for _ in range(50):
                mid = 0.5 * (lo_ + hi_)
                if g(mid) * va > 0:
                    lo_ = mid
                else:
                    hi_ = mid
            out.append(0.5 * (lo_ + hi_))
    return out


_PATHS: dict = {}  # pin_path's results by what they depend on (validate asks for each pin several times)


def pin_path(s, pin) -> PinPath:
    """The geometry of half pin `pin` of scenario `s` (see PinPath; the module's docstring
    for the conventions). Raises PinGeometryError naming the pin's field if the pin's line
    misses the bone, or a unicortical pin never reaches the canal."""
    try:
        key = (s.bone, s.rings, s.pin_clamps, getattr(s, "plates", ()), pin)
        hash(key)
    except TypeError:  # a part that cannot be hashed: no cache
        return _pin_path(s, pin)
    if key not in _PATHS:
        if len(_PATHS) > 4096:
            _PATHS.clear()
        _PATHS[key] = _pin_path(s, pin)
    return _PATHS[key]


def _pin_path(s, pin) -> PinPath:
    from sim.ring_geometry import attachment_xy

    if pin.clamp is not None:
        clamp = next(c for c in s.pin_clamps if c.name == pin.clamp)
        ring = s.ring(clamp.ring)
        angle, post_h = clamp.angle_deg, clamp.post_height_mm
        start = np.array(hole_point(s, clamp, pin.hole or 1))
    else:
        ring = s.ring(pin.ring)
        angle, post_h = pin.angle_deg, pin.post_height_mm
        start = np.array([*attachment_xy(ring, angle), ring.level_mm + post_h])
    base = (*attachment_xy(ring, angle), ring.level_mm)  # on the ring's centreline (sim.ring_geometry)
    if getattr(pin, "plate", None) is not None:  # a post in a connection plate's hole, from the plate's mid-plane
        from sim.plate_geometry import plate_hole_point

        base = plate_hole_point(s, pin.plate, int(pin.hole))
        start = np.array([base[0], base[1], ring.level_mm + post_h])
    top = (base[0], base[1], ring.level_mm + post_h)
    d_tuple, _aim = pin_direction(base[:2], (float(start[0]), float(start[1])), pin.tilt_deg, pin.aim_deg,
                                  pin.offset_mm)
    d = np.array(d_tuple)
    # signed plan distance of the line from the axis, + to the left of its plan direction
    u = d[:2] / (np.linalg.norm(d[:2]) or 1.0)
    closest = float(-start[0] * u[1] + start[1] * u[0])
    t_max = min(_MAX_REACH_MM, 2.0 * float(np.hypot(*start[:2])) + 100.0)
    # the bone's largest radius (sampled along it) bounds where the pin can meet it
    reach = max(s.bone_radii_mm(z)[0] for z in np.linspace(0.0, s.bone.length_mm, 41)) + 1.0
    outer = _crossings(s, start, d, 0, t_max, reach)
    if len(outer) < 2:
        raise PinGeometryError("aim_deg" if pin.offset_mm is None else "offset_mm",
                               f"half pin {pin.name!r} misses the bone: its axis passes {abs(closest):.1f} mm from "
                               "the bone's axis in plan (tilt " f"{pin.tilt_deg:g} deg) and never enters the cortex")
    t_in, t_out = outer[0], outer[1]
    inner = [t for t in _crossings(s, start, d, 1, t_max, reach) if t_in < t < t_out]
    if len(inner) >= 2:
        near = (t_in, inner[0])
        far = (inner[-1], t_out)
    else:
        near = (t_in, t_out)
        far = None
    if pin.bicortical:
        cortex = (near, far) if far is not None else (near,)
        t_tip = t_out + TIP_PAST_FAR_CORTEX_MM
    else:
        cortex = (near,)
        if far is None:
            t_tip = float("nan")  # a unicortical pin that never reaches the canal: validate refuses it
        else:
            t_tip = min(near[1] + TIP_INTO_CANAL_MM, 0.5 * (near[1] + far[0]))
    return PinPath(pin.name, tuple(float(c) for c in base), tuple(float(c) for c in top),
                   tuple(float(c) for c in start), d_tuple, tuple((float(a0), float(b0)) for a0, b0 in cortex),
                   float(t_tip), closest, pin.clamp)
