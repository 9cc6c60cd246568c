"""The checks of connection plates ([[plates]], sim.scenario.Plate) and of the parts on
them, called by sim.scenario.validate: every error a ScenarioError naming the field, the
value and what would be accepted. The geometry is sim.plate_geometry's (the builders' too).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sim.plate_geometry import PLATE_SIZES, plan_distance_to_axis_mm, plate_dims, plate_path

# A plate's bolt through its hole 1 into the ring's hole (assumed: an M6 bolt, as the rods' thread).
PLATE_BOLT_DIAMETER_MM = 6.0

# The ends of a rod that may sit on a plate: (plate field, hole field, ring field).
ROD_PLATE_ENDS = (("from_plate", "from_hole", "from_ring"), ("to_plate", "to_hole", "to_ring"))


def resolve_plate_rods(s, rods):
    """Rods on two plates with no angle_deg get the direction (deg) of their lower end's
    hole from the bone's axis (what the pictures and lists show for a rod). References
    that are not yet valid are left for `validate_plates` to name."""
    from sim.scenario import rod_end_points

    out = []
    for rod in rods:
        if rod.angle_deg is None and rod.from_plate is not None and rod.to_plate is not None:
            try:
                (_, (x, y, _)), _ = rod_end_points(dataclasses.replace(s, rods=(rod,)), rod)
            except (StopIteration, KeyError, TypeError, ValueError):
                out.append(rod)
                continue
            rod = dataclasses.replace(rod, angle_deg=round(math.degrees(math.atan2(y, x)) % 360.0, 6))
        out.append(rod)
    return tuple(out)


def resolve_plate_pin(s, pin, p: str, given: dict):
    """A half pin whose post stands in a plate's hole (HalfPin.plate, hole) with its ring
    and angle_deg filled in from the plate: the plate's ring, and the direction of the hole
    from the ring's centre. A ring or angle the file gives must agree. Raises ScenarioError
    for an unknown plate, a clamp as well, or a hole that is not given."""
    from sim.scenario import ScenarioError

    plates = {q.name: q for q in s.plates}
    if pin.plate not in plates:
        names = ", ".join(repr(n) for n in plates) or "none (the file has no [[plates]])"
        raise ScenarioError(f"{p}.plate", f"{pin.plate!r} is not a plate; accepted: {names}")
    if pin.clamp is not None:
        raise ScenarioError(f"{p}.plate", f"half pin {pin.name!r} gives both clamp ({pin.clamp!r}) and plate "
                            f"({pin.plate!r}); accepted: one of them")
    plate = plates[pin.plate]
    if pin.hole is None:
        raise ScenarioError(f"{p}.hole", f"the post of half pin {pin.name!r} on plate {plate.name!r} needs the hole it "
                            f"stands in; accepted: hole 2 to {plate_dims(plate).holes} (hole 1 holds the plate's "
                            "bolt)")
    ring = next((r for r in s.rings if r.name == plate.ring), None)
    if ring is None:  # validate_plates names the plate's ring
        return dataclasses.replace(pin, ring=plate.ring, angle_deg=plate.angle_deg)
    hole = int(pin.hole)
    if 1 <= hole <= plate_dims(plate).holes:
        x, y, _ = plate_path(s, plate).hole(hole)
        angle = round(math.degrees(math.atan2(y - ring.centre_xy_mm[1], x - ring.centre_xy_mm[0])) % 360.0, 9)
    else:  # out of range: validate_plates names it
        angle = plate.angle_deg
    resolved = {"ring": plate.ring, "angle_deg": angle}
    for key, value in resolved.items():
        if key in given and given[key] != value and not (
                isinstance(given[key], (int, float)) and isinstance(value, float) and abs(given[key] - value) < 1e-6):
            raise ScenarioError(f"{p}.{key}", f"{given[key]!r}: the post of half pin {pin.name!r} stands in hole "
                                f"{hole} of plate {plate.name!r} (on ring {plate.ring!r}), which gives it; "
                                f"accepted: leave {key} out")
    return dataclasses.replace(pin, **resolved)


def validate_plates(s) -> None:
    """[[plates]] and the parts on them: a plate on a ring, of catalogue size, in range,
    clear of the limb and of the wires on its face; every reference to a plate names one,
    and a hole from 2 to its holes (hole 1 is the plate's bolt); one part a hole."""
    from sim.scenario import LIMITS, ScenarioError, _limit, _material, ANGLE

    rings = {r.name: r for r in s.rings}
    plates = {}
    for j, plate in enumerate(s.plates):
        p = f"plates[{j}]"
        if plate.ring not in rings:
            raise ScenarioError(f"{p}.ring", f"{plate.ring!r} is not a ring; accepted: {', '.join(rings)}")
        if plate.size not in PLATE_SIZES:
            raise ScenarioError(f"{p}.size", f"{plate.size!r} is not a catalogue plate; accepted: "
                                f"{', '.join(PLATE_SIZES)} (sim.plate_geometry.PLATE_SIZES), with holes, "
                                "hole_pitch_mm, width_mm, thickness_mm or length_mm to change it")
        _limit("angle", f"{p}.angle_deg", plate.angle_deg, ANGLE)
        if not isinstance(plate.direction, str):
            _limit("angle", f"{p}.direction", float(plate.direction), ANGLE)
        dims = plate_dims(plate)
        for key in ("holes", "hole_pitch_mm", "width_mm", "thickness_mm", "length_mm"):
            _limit(f"plates[].{key}", f"{p}.{key}", getattr(dims, key))
        if dims.length_mm < dims.row_mm + dims.width_mm - 1e-9:
            raise ScenarioError(f"{p}.length_mm", f"{dims.length_mm:g} mm is too short for {dims.holes} holes "
                                f"{dims.hole_pitch_mm:g} mm apart ({dims.row_mm:g} mm from the first to the last); "
                                f"accepted: at least {dims.row_mm + dims.width_mm:g} mm (half the plate's width, "
                                f"{0.5 * dims.width_mm:g} mm, beyond each end hole), or fewer holes")
        _material(f"{p}.material", plate.material, s)
        plates[plate.name] = (j, plate, dims)
    _check_references(s, plates)  # every hole in range before any geometry uses it


def validate_plate_geometry(s) -> None:
    """Where the plates and the parts on them are (called once the wires, rods and pins
    have passed their own checks): each plate clear of the limb and of the wires on its
    face; a wire over its plate's hole, its start clamp behind its end clamp; a half pin's
    post beyond its plate's face."""
    from sim.scenario import ScenarioError

    plates = {plate.name: (j, plate, plate_dims(plate)) for j, plate in enumerate(s.plates)}
    for i, w in enumerate(s.wires):
        _check_wire_over_its_holes(s, plates, i, w)
    for i, pin in enumerate(s.half_pins):
        if pin.plate is None:
            continue
        plate, dims = plates[pin.plate][1], plates[pin.plate][2]
        ring = s.ring(plate.ring)
        sign = 1.0 if plate.face == "top" else -1.0
        least = 0.5 * ring.thickness_mm + dims.thickness_mm + 0.5 * pin.diameter_mm  # beyond the plate's outer face
        if sign * pin.post_height_mm < least - 1e-9:
            raise ScenarioError(f"half_pins[{i}].post_height_mm", f"{pin.post_height_mm:g} mm puts half pin "
                                f"{pin.name!r} inside plate {plate.name!r} or ring {plate.ring!r} (the plate lies on "
                                f"the ring's {plate.face} face); accepted: post_height_mm {'>=' if sign > 0 else '<='} "
                                f"{sign * least:g} mm (half the ring's thickness, the plate's and the pin's radius, "
                                "from the ring's mid-plane)")
    _check_bolts_in_free_holes(s)
    for j, plate in enumerate(s.plates):
        p = f"plates[{j}]"
        dims = plates[plate.name][2]
        path = plate_path(s, plate)
        if s.has_bone:
            b = s.bone
            need = 0.5 * b.limb_diameter_mm + b.min_skin_clearance_mm
            have = plan_distance_to_axis_mm(path)
            if have < need - 1e-9:
                raise ScenarioError(f"{p}.direction", f"plate {plate.name!r} ({plate.direction!r} from ring "
                                    f"{plate.ring!r} at {plate.angle_deg:g} deg, {dims.length_mm:g} mm long, "
                                    f"{dims.width_mm:g} mm wide) comes {have:.1f} mm from the bone's axis and cuts "
                                    f"the limb; accepted: at least {need:g} mm (bone.limb_diameter_mm / 2 + "
                                    "bone.min_skin_clearance_mm, as for a ring's inner edge): another direction "
                                    "(\"radial\", outward), a shorter plate, or fewer holes")
        _check_plate_clear_of_wires(s, j, plate, path)


def _check_references(s, plates) -> None:
    """Every rod end, wire clamp and half pin's post on a plate: the plate exists, the hole
    is in range and holds one part (`_check_hole`), and what else each part needs."""
    from sim.scenario import ScenarioError

    used: dict[tuple[str, int], str] = {}
    for i, rod in enumerate(s.rods):
        for plate_key, hole_key, ring_key in ROD_PLATE_ENDS:
            name = getattr(rod, plate_key)
            if name is None:
                if getattr(rod, hole_key) is not None:
                    raise ScenarioError(f"rods[{i}].{hole_key}", f"rod {rod.name!r} has {hole_key} but no "
                                        f"{plate_key}; accepted: {plate_key} = the name of a [[plates]] entry, or no "
                                        f"{hole_key}")
                continue
            p = f"rods[{i}].{plate_key}"
            if getattr(rod, ring_key) is not None:
                raise ScenarioError(p, f"rod {rod.name!r} gives both {ring_key} ({getattr(rod, ring_key)!r}) and "
                                    f"{plate_key} ({name!r}) for one end; accepted: one of them (the plate's ring "
                                    "is that end's ring)")
            hole = getattr(rod, hole_key)
            _check_hole(s, plates, used, p, f"rods[{i}].{hole_key}", f"rod {rod.name!r}", name, hole)
        if rod.from_plate is not None or rod.to_plate is not None:
            for k, h in enumerate(s.hinges):
                if rod.name in h.rods:
                    raise ScenarioError(f"hinges[{k}].rods", f"rod {rod.name!r} stands on a connection plate; hinges "
                                        "are built on rods between rings; accepted: a rod bolted to rings at both "
                                        "ends")
    for i, w in enumerate(s.wires):
        _check_wire_on_plates(s, plates, used, i, w)
    for i, pin in enumerate(s.half_pins):
        if pin.plate is None:
            continue
        _check_hole(s, plates, used, f"half_pins[{i}].plate", f"half_pins[{i}].hole", f"the post of half pin "
                    f"{pin.name!r}", pin.plate, pin.hole)


WIRE_PLATE_ENDS = (("start_plate", "start_hole", "start"), ("end_plate", "end_hole", "end"))


def _check_wire_on_plates(s, plates, used, i: int, w) -> None:
    """A wire's clamps in plate holes: the plate exists and stands on the wire's ring and
    face, the hole is free and in range, the wire's line passes over the hole (within
    WIRE_ON_PLATE_REACH_MM in plan, `_check_wire_over_its_holes`), and the start clamp
    stays behind the end clamp."""
    from sim.scenario import ScenarioError

    p = f"wires[{i}]"
    for plate_key, hole_key, which in WIRE_PLATE_ENDS:
        name, hole = getattr(w, plate_key), getattr(w, hole_key)
        if name is None:
            if hole is not None:
                raise ScenarioError(f"{p}.{hole_key}", f"wire {w.name!r} has {hole_key} but no {plate_key}; "
                                    f"accepted: {plate_key} = the name of a [[plates]] entry, or no {hole_key}")
            continue
        _check_hole(s, plates, used, f"{p}.{plate_key}", f"{p}.{hole_key}", f"the {which} clamp of wire {w.name!r}",
                    name, hole)
        plate = plates[name][1]
        if plate.ring != w.ring:
            raise ScenarioError(f"{p}.{plate_key}", f"plate {name!r} is bolted to ring {plate.ring!r}, wire "
                                f"{w.name!r} is on ring {w.ring!r}; accepted: a plate on ring {w.ring!r}")
        if plate.face != w.face:
            raise ScenarioError(f"{p}.{plate_key}", f"plate {name!r} lies on the {plate.face} face of ring "
                                f"{plate.ring!r}, wire {w.name!r} on the {w.face} face; accepted: the wire on the "
                                f"plate's face (face = {plate.face!r}), or the plate on the wire's")
        if w.post_height_mm is not None or w.incline_deg:
            key = "post_height_mm" if w.post_height_mm is not None else "incline_deg"
            raise ScenarioError(f"{p}.{key}", f"wire {w.name!r} has a clamp on plate {name!r}: a wire on a plate "
                                "lies on the plate's face; accepted: no post_height_mm and incline_deg = 0 for a "
                                "wire clamped on a plate")


def _check_wire_over_its_holes(s, plates, i: int, w) -> None:
    """A wire's line passes within WIRE_ON_PLATE_REACH_MM of each plate hole its clamps
    stand in, and its start clamp lies behind its end clamp."""
    from sim.geometry import WIRE_ON_PLATE_REACH_MM
    from sim.scenario import ScenarioError

    p = f"wires[{i}]"
    ends = [(which, plate_key, getattr(w, plate_key), int(getattr(w, hole_key)))
            for plate_key, hole_key, which in WIRE_PLATE_ENDS if getattr(w, plate_key) is not None]
    if not ends:
        return
    a = np.radians(w.angle_deg)
    d2, left = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    along = {}
    for which, plate_key, name, hole in ends:
        xy = np.asarray(plate_path(s, plates[name][1]).hole(hole)[:2])
        off = float(xy @ left) + 0.0  # the offset of a wire through the hole's centre (+ 0.0: no "-0")
        if abs(off - w.offset_mm) > WIRE_ON_PLATE_REACH_MM + 1e-9:
            raise ScenarioError(f"{p}.offset_mm", f"wire {w.name!r} at {w.angle_deg:g} deg, offset {w.offset_mm:g} "
                                f"mm, passes {abs(off - w.offset_mm):.1f} mm from hole {hole} of plate {name!r} "
                                f"(its {which} clamp); accepted: the wire within {WIRE_ON_PLATE_REACH_MM:g} mm of the "
                                f"hole (a bolt grips the wire beside it): offset_mm = {round(off, 1) + 0.0:.1f} puts it through the "
                                "hole's centre, or another hole or plate")
        along[which] = float(xy @ d2)
    if len(along) == 2 and along["start"] >= along["end"]:
        raise ScenarioError(f"{p}.start_plate", f"wire {w.name!r}'s start clamp (on plate {w.start_plate!r}) lies "
                            f"ahead of its end clamp (on plate {w.end_plate!r}) along its direction {w.angle_deg:g} "
                            "deg; accepted: the start behind (swap start_plate and end_plate, or turn angle_deg by "
                            "180)")


def _check_hole(s, plates, used, plate_field: str, hole_field: str, what: str, name: str, hole) -> None:
    """A reference to hole `hole` of plate `name`: the plate exists, the hole is 2 to its
    holes, and no other part uses it."""
    from sim.scenario import ScenarioError

    if name not in plates:
        names = ", ".join(repr(n) for n in plates) or "none (the file has no [[plates]])"
        raise ScenarioError(plate_field, f"{name!r} is not a plate; accepted: {names}")
    j, plate, dims = plates[name]
    if hole is None:
        raise ScenarioError(hole_field, f"{what} on plate {name!r} needs the hole it is bolted in; accepted: hole 2 to "
                            f"{dims.holes} (hole 1 holds the plate's bolt to ring {plate.ring!r})")
    if not 2 <= int(hole) <= dims.holes:
        raise ScenarioError(hole_field, f"hole {hole} of plate {name!r} is out of range; accepted: 2 to {dims.holes} "
                            f"(plates[{j}] has {dims.holes} holes; hole 1 holds its bolt to ring {plate.ring!r})")
    key = (name, int(hole))
    if key in used:
        raise ScenarioError(hole_field, f"hole {hole} of plate {name!r} already holds {used[key]}; accepted: one part "
                            f"a hole: another hole (2 to {dims.holes}) or another plate")
    used[key] = what


def _check_plate_clear_of_wires(s, j: int, plate, path) -> None:
    """A wire on the plate's face of its ring would run through the plate: the wire's
    span between its clamps keeps half the plate's width and the wire's radius from the
    plate's centreline in plan view."""
    from sim.geometry import wire_path
    from sim.scenario import ScenarioError, _segment_distance_2d, _on_posts

    for w in s.wires:
        if w.ring != plate.ring or w.face != plate.face or _on_posts(w):
            continue
        if plate.name in (w.start_plate, w.end_plate):
            continue  # clamped on this plate
        wp = wire_path(s, w)
        if wp is None:
            continue
        d = _segment_distance_2d(tuple(wp.start_mm[:2]), tuple(wp.end_mm[:2]), path.start[:2], path.end[:2])
        need = 0.5 * path.dims.width_mm + 0.5 * w.diameter_mm
        if d < need - 1e-9:
            other = "bottom" if plate.face == "top" else "top"
            raise ScenarioError(f"plates[{j}].face", f"plate {plate.name!r} on the {plate.face} face of ring "
                                f"{plate.ring!r} lies {max(float(np.round(d, 1)), 0.0):g} mm from wire {w.name!r} on "
                                f"the same face (plan view): they would run through each other; accepted: the plate "
                                f"on the {other} face (face = {other!r}), or another angle_deg, at least {need:g} mm "
                                "(half the plate's width and the wire's radius) clear of the wire")


def _check_bolts_in_free_holes(s) -> None:
    """A plate's bolt takes a ring hole of its own: no rod, wire clamp, half pin's post, pin
    clamp's post or other plate's bolt on the same ring within the sum of their radii in
    plan (they would stand in one hole)."""
    from sim.ring_geometry import attachment_xy
    from sim.geometry import wire_plate_ends
    from sim.scenario import ScenarioError, _wire_chord, rod_end_rings

    for j, plate in enumerate(s.plates):
        ring = s.ring(plate.ring)
        bolt = np.asarray(attachment_xy(ring, plate.angle_deg))
        others = []  # (x, y, radius, what)
        for rod in s.rods:
            if rod.from_plate is None and rod.to_plate is None:
                on = {r.name for r in s.rod_rings(rod)}
            else:  # only its ends on rings
                on = {name for name, plate in zip(rod_end_rings(s, rod), (rod.from_plate, rod.to_plate))
                      if plate is None}
            if ring.name in on:
                others.append((*attachment_xy(ring, rod.angle_deg), 0.5 * rod.diameter_mm, f"rod {rod.name!r}"))
        for w in s.wires:
            chord = _wire_chord(s, w) if w.ring == ring.name else None
            if chord is not None:
                for xy, on_plate in zip(chord, wire_plate_ends(w)):
                    if on_plate is None:
                        others.append((*xy, 0.5 * w.diameter_mm, f"a clamp of wire {w.name!r}"))
        for pin in s.half_pins:
            if pin.ring == ring.name and pin.clamp is None and pin.plate is None:
                others.append((*attachment_xy(ring, pin.angle_deg), 0.5 * pin.post_diameter_mm,
                               f"the post of half pin {pin.name!r}"))
        for c in s.pin_clamps:
            if c.ring == ring.name:
                others.append((*attachment_xy(ring, c.angle_deg), 0.5 * c.post_diameter_mm,
                               f"the post of pin clamp {c.name!r}"))
        for other in s.plates[:j]:
            if other.ring == ring.name:
                others.append((*attachment_xy(ring, other.angle_deg), 0.5 * PLATE_BOLT_DIAMETER_MM,
                               f"the bolt of plate {other.name!r}"))
        for x, y, r, what in others:
            gap = float(np.hypot(x - bolt[0], y - bolt[1]))
            need = r + 0.5 * PLATE_BOLT_DIAMETER_MM
            if gap < need - 1e-9:
                raise ScenarioError(f"plates[{j}].angle_deg", f"the bolt of plate {plate.name!r} ({plate.angle_deg:g} "
                                    f"deg on ring {ring.name!r}) stands {gap:.1f} mm from {what}: they would share "
                                    f"one of the ring's holes; accepted: axes at least {need:g} mm apart (another "
                                    "angle_deg), or the part in one of the plate's holes")
