"""Rings' holes: where parts may attach to a ring, one geometry for validate and both
models (the snapping is done when a scenario is read, so the frame network, the solid
and validate all see the same positions).

A ring system's rings carry one circular row of equally spaced holes; a part (a rod, a
half pin's post, a pin clamp, a wire's post) is bolted through one hole, and a wire end
is clamped by a wire-fixation bolt in the nearest hole (a cannulated or slotted bolt:
the wire passes beside or through the bolt). A ring opts in with `holes` (sim.scenario
Ring): "anywhere" (the default: every part attaches where its angle says, as before),
"check" (validate refuses a part off a hole, and two parts in one hole) or "snap" (rods,
half-pin posts and pin clamps move to the nearest free hole when the scenario is read;
what moved is said by `ilizarov validate` and in results.json).

The holes lie on the ring's centroid circle (where every part attaches in this project,
sim.ring_geometry), at a constant pitch along it:

- a full ring of a given size has `full_ring_hole_count` holes (the ring's `hole_count`
  when the file gives one); hole 1 is at the ring's angle 0 (+x), the others follow
  counter-clockwise (seen from proximal) every 360 / count deg;
- an open ring (5/8, 2/3, half ring, femoral arch) and a foot plate have the full ring's
  pitch (in mm along the centreline: the same ring size, cut), one hole at the middle of
  their centreline (the middle of the arc, opposite the opening; a foot plate's heel) and
  as many either side as fit at least half a pitch (and half the ring's width, validate's
  margin) from either end. With the opening facing a multiple of 45 deg, an open ring's
  holes are then those of the full rings of its size (rods run from one to the other on
  holes of both). Hole 1 is the one nearest the start of the centreline (an arc's
  counter-clockwise start, `Ring.arc_start_deg`; a foot plate's left arm's tip).

Hole counts (assumed: no maker's table was found). Searches of public pages for Smith &
Nephew Ilizarov and Taylor Spatial Frame ring brochures and catalogues (2026-11) found the
ring sizes (Ilizarov rings 80-240 mm inner diameter: Wheeless' Textbook of Orthopaedics,
"Ring characteristics") and that fixator rings have "at least one circular row of equally
spaced holes", a sectional ring's count including the holes missing at its joints (the
open-source hexapod fixator software of the Laboratory for Microenterprise, "Ring
parameters", laboratoryformicroenterprise.org/camlab/hexapodfixator), but no hole count
or pitch of any size. The rule here: a pitch of about NOMINAL_PITCH_MM (16 mm) along the
centroid circle, which leaves a 6 mm hole for an M6 bolt about 10 mm of metal between
holes, the count rounded to a multiple of 8 so that the anatomical directions (0, 45, 90
deg ...) fall on holes and a ring cuts into 5/8, half and quarter rings between holes;
TSF rings take the Ilizarov parts (assumed: the same pattern). Give a ring's real count
with `hole_count` (holes of the full ring of that size).

Angles in degrees from +x towards +y, lengths in mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim import ring_geometry

HOLE_MODES = ("anywhere", "check", "snap")
# assumed (see the module docstring): the pitch of the holes along the centroid circle
NOMINAL_PITCH_MM = 16.0
HOLE_MULTIPLE = 8
MIN_HOLES = 8
# a part counts as on a hole within this distance (mm, along the centreline) of its centre:
# the play of an M6 bolt in its hole (assumed: a 6.5-7 mm hole)
HOLE_TOLERANCE_MM = 0.5
# the catalogue's sizes (inner diameters, mm: Wheeless, "Ring characteristics") and the
# default width (sim.scenario.Ring) for which `hole_table` lists the counts
CATALOGUE_INNER_DIAMETERS_MM = (80.0, 100.0, 120.0, 140.0, 160.0, 180.0, 200.0, 220.0, 240.0)
CATALOGUE_WIDTH_MM = 16.0


def full_ring_hole_count(inner_diameter_mm: float, width_mm: float) -> int:
    """The number of holes of a full ring of this size (assumed rule of the module
    docstring): its centroid circle's length over NOMINAL_PITCH_MM, rounded to a
    multiple of 8, at least 8."""
    circumference = math.pi * (inner_diameter_mm + width_mm)
    return max(MIN_HOLES, HOLE_MULTIPLE * round(circumference / (HOLE_MULTIPLE * NOMINAL_PITCH_MM)))


def hole_table() -> list[dict]:
    """The catalogue's hole counts (assumed rule, module docstring): for each inner
    diameter of CATALOGUE_INNER_DIAMETERS_MM at width CATALOGUE_WIDTH_MM, the holes of a
    full ring, a 2/3, 5/8 and half ring (openings facing a multiple of 45 deg), the pitch
    in mm along the centroid circle and in deg. docs/frame-model.md, "Ring holes", lists it."""
    from sim.scenario import Ring

    rows = []
    for d in CATALOGUE_INNER_DIAMETERS_MM:
        full = hole_row(Ring("r", 0.0, inner_diameter_mm=d, width_mm=CATALOGUE_WIDTH_MM))
        row = {"inner_diameter_mm": d, "full": full.count}
        for kind in ("two_thirds", "five_eighths", "half"):
            ring = Ring("r", 0.0, inner_diameter_mm=d, width_mm=CATALOGUE_WIDTH_MM, kind=kind, opening_deg=270.0)
            row[kind] = hole_row(ring).count
        row["pitch_mm"], row["pitch_deg"] = full.pitch_mm, full.pitch_deg
        rows.append(row)
    return rows


@dataclass(frozen=True)
class HoleRow:
    """A ring's holes: `count_full` holes in the full ring of its size, `pitch_mm` apart
    along the centroid circle (`pitch_deg` about the centre); `angles_deg[k]` is hole
    k + 1's direction about the ring's centre, in [0, 360), `positions_mm[k]` its place
    along the centreline (from its start, ring_geometry.centreline_position_mm)."""

    ring: str
    mode: str
    count_full: int
    pitch_mm: float
    pitch_deg: float
    angles_deg: tuple[float, ...]
    positions_mm: tuple[float, ...]

    @property
    def count(self) -> int:
        return len(self.angles_deg)


MAX_HOLES = 1000  # more holes than any ring could have (LIMITS: 8 to 120): not built, refused by validate


def hole_row(ring) -> HoleRow:
    """The holes of `ring` (a sim.scenario.Ring; see the module docstring for where they
    are). Raises ValueError for an open ring without opening_deg or a foot plate without
    arm_length_mm (validate's to refuse first)."""
    if ring.is_open and ring.opening_deg is None:
        raise ValueError(f"ring {ring.name!r} is open and has no opening_deg")
    if ring.kind == "foot_plate" and ring.arm_length_mm is None:
        raise ValueError(f"foot plate {ring.name!r} has no arm_length_mm")
    n_full = ring.hole_count or full_ring_hole_count(ring.inner_diameter_mm, ring.width_mm)
    if not isinstance(n_full, int) or not 1 <= n_full <= MAX_HOLES:
        # read before validate (snapping): a count out of any range is validate's to refuse, not to build
        # (a fuzzed hole_count of 1e12 made a tuple of that many angles and ran CI out of memory)
        raise ValueError(f"ring {ring.name!r}: {n_full!r} holes")
    r = ring.centroid_radius_mm
    pitch_mm = 2.0 * math.pi * r / n_full
    pitch_deg = 360.0 / n_full
    mode = getattr(ring, "holes", "anywhere")
    if not ring.is_open:
        angles = tuple(_norm(k * pitch_deg) for k in range(n_full))
        return HoleRow(ring.name, mode, n_full, pitch_mm, pitch_deg, angles,
                       tuple(math.radians(a) * r for a in angles))
    length = ring_geometry.centreline_length_mm(ring)
    margin = max(0.5 * pitch_mm, 0.5 * ring.width_mm)
    if length < 2.0 * margin:
        positions: tuple[float, ...] = ()
    else:
        side = int(math.floor((0.5 * length - margin) / pitch_mm + 1e-9))
        positions = tuple(0.5 * length + k * pitch_mm for k in range(-side, side + 1))
    if ring.kind == "foot_plate":
        angles = tuple(_norm(ring_geometry.direction_deg(ring, ring_geometry.point_at_position(ring, s)))
                       for s in positions)
    else:
        angles = tuple(_norm(ring.arc_start_deg + math.degrees(s / r)) for s in positions)
    return HoleRow(ring.name, mode, n_full, pitch_mm, pitch_deg, angles, positions)


def _norm(angle_deg: float) -> float:
    """An angle in [0, 360), rounded to 1e-9 deg (359.9999999999 is 0)."""
    a = round(angle_deg % 360.0, 9)
    return 0.0 if a >= 360.0 else a + 0.0


def position_mm(ring, angle_deg: float) -> float | None:
    """Where the direction angle_deg meets the ring's centreline, in mm along it from its
    start (in [0, length) for a full ring; None in a foot plate's opening; beyond the
    length in an open ring's opening)."""
    if not ring.is_open:
        return math.radians(angle_deg % 360.0) * ring.centroid_radius_mm
    return ring_geometry.centreline_position_mm(ring, angle_deg)


def hole_distances_mm(ring, row: HoleRow, angle_deg: float) -> list[tuple[float, int]]:
    """(distance in mm along the centreline, hole index from 0) of every hole from the
    attachment at angle_deg, nearest first; [] for a direction with no centreline point."""
    s = position_mm(ring, angle_deg)
    if s is None:
        return []
    length = 2.0 * math.pi * ring.centroid_radius_mm if not ring.is_open else None
    out = []
    for k, p in enumerate(row.positions_mm):
        d = abs(p - s)
        if length is not None:
            d = min(d, length - d)
        out.append((d, k))
    return sorted(out)


def _angular(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _nearness(hole_deg: float, angle_deg: float) -> tuple[float, bool]:
    """Sort key of a hole seen from angle_deg: nearest first, a tie to the counter-clockwise one."""
    return round(_angular(hole_deg, angle_deg), 9), not ((hole_deg - angle_deg) % 360.0 < 180.0)


def nearest_angles_words(row: HoleRow, angle_deg: float, n: int = 2) -> str:
    """The nearest holes' angles as accepted values: "at 11.25 deg (hole 2) or at 0 deg (hole 1)"."""
    near = sorted(range(row.count), key=lambda k: _nearness(row.angles_deg[k], angle_deg))[:n]
    return " or ".join(f"{row.angles_deg[k]:.6g} deg (hole {k + 1})" for k in near)


def describe_row(ring, row: HoleRow) -> str:
    """One line about a ring's holes, for validate's output."""
    own = "the file's hole_count" if ring.hole_count else "assumed, sim.ring_holes"
    if not ring.is_open:
        return (f"ring {ring.name!r} has {row.count} holes ({own}), every {row.pitch_deg:.6g} deg "
                f"({row.pitch_mm:.1f} mm on its centroid circle) from hole 1 at 0 deg; holes = {row.mode!r}")
    return (f"ring {ring.name!r} has {row.count} holes ({row.count_full} in a full ring of its size, {own}), every "
            f"{row.pitch_mm:.1f} mm along its centreline, hole 1 at {row.angles_deg[0]:.6g} deg, hole {row.count} at "
            f"{row.angles_deg[-1]:.6g} deg; holes = {row.mode!r}")


# ------------------------------------------------------------------ attachments
@dataclass(frozen=True)
class Attachment:
    """A part that takes a hole of an opted-in ring: `path` the field that places it,
    `what` its words, `kind` "rod" | "half_pin" | "pin_clamp" | "wire_post" | "wire_end",
    `index` its position in its list, `angle_deg` where it is about the ring's centre."""

    path: str
    what: str
    kind: str
    index: int
    ring: str
    angle_deg: float


def _wire_ends(s, w) -> list[float]:
    """The directions (deg) of a wire's two clamps about its ring's centre; [] if the
    wire misses its ring (validate's to refuse)."""
    from sim.geometry import wire_path

    try:
        path = wire_path(s, w)
    except (ArithmeticError, AttributeError, ValueError, TypeError, KeyError, StopIteration):
        return []  # a wire validate refuses (it is read before validate runs)
    if path is None:
        return []
    ring = s.ring(w.ring)
    return [ring_geometry.direction_deg(ring, (float(p[0]), float(p[1]))) for p in (path.start_mm, path.end_mm)]


def attachments(s, rows: dict[str, HoleRow]) -> list[Attachment]:
    """Every attachment on a ring that has holes other than "anywhere" (in `rows`): wire
    ends (a wire on posts: its posts), rods on each such ring they pass, half-pin posts
    and pin clamps (a hinge sits on its rods: their holes are its). Hexapod struts (on the
    rings' tabs) and test-machine mounts are not placed on holes."""
    out: list[Attachment] = []
    names = {r.name for r in s.rings}
    for i, w in enumerate(s.wires):
        if w.ring not in rows:
            continue
        kind = "wire_post" if w.post_height_mm is not None else "wire_end"
        for end, a in zip(("start", "end"), _wire_ends(s, w)):
            if getattr(w, f"{end}_plate", None) is not None:
                continue  # that end's clamp stands in a connection plate's hole, not the ring's
            what = f"the {end} {'post' if kind == 'wire_post' else 'clamp'} of wire {w.name!r}"
            out.append(Attachment(f"wires[{i}].angle_deg", what, kind, i, w.ring, a))
    for i, rod in enumerate(s.rods):
        if any(end is not None and end not in names for end in (rod.from_ring, rod.to_ring)):
            continue
        on_plates = {s.plate(p).ring for p in (getattr(rod, "from_plate", None), getattr(rod, "to_plate", None))
                     if p is not None and p in {x.name for x in s.plates}}
        for ring in s.rod_rings(rod):
            if ring.name in rows and ring.name not in on_plates and rod.angle_deg is not None:
                out.append(Attachment(f"rods[{i}].angle_deg", f"rod {rod.name!r}", "rod", i, ring.name, rod.angle_deg))
    for i, plate in enumerate(getattr(s, "plates", ())):
        if plate.ring in rows:  # its bolt (hole 1) in a ring hole; a plate is not moved by snapping
            out.append(Attachment(f"plates[{i}].angle_deg", f"the bolt of plate {plate.name!r}", "plate", i,
                                  plate.ring, plate.angle_deg))
    for i, pin in enumerate(s.half_pins):
        if getattr(pin, "plate", None) is not None:
            continue  # its post stands in a connection plate's hole
        if pin.clamp is None and pin.ring in rows and pin.angle_deg is not None:
            out.append(Attachment(f"half_pins[{i}].angle_deg", f"the post of half pin {pin.name!r}", "half_pin", i,
                                  pin.ring, pin.angle_deg))
    for i, c in enumerate(s.pin_clamps):
        if c.ring in rows:
            out.append(Attachment(f"pin_clamps[{i}].angle_deg", f"the post of pin clamp {c.name!r}", "pin_clamp", i,
                                  c.ring, c.angle_deg))
    return out


def hole_rows(s) -> dict[str, HoleRow]:
    """The hole rows of the scenario's rings that opted in (holes != "anywhere"); rings
    whose kind lacks what it needs are left out (validate refuses them)."""
    rows = {}
    for ring in s.rings:
        if getattr(ring, "holes", "anywhere") == "anywhere":
            continue
        try:
            rows[ring.name] = hole_row(ring)
        except (ValueError, TypeError, OverflowError):
            continue
    return rows


def uses_holes(s) -> bool:
    return any(getattr(r, "holes", "anywhere") != "anywhere" for r in s.rings)


# ---------------------------------------------------------------------- snapping
@dataclass(frozen=True)
class Move:
    """A part snap moved: its field, words, from and to angle (deg), the rings and holes."""

    path: str
    what: str
    from_deg: float
    to_deg: float
    holes: tuple[tuple[str, int], ...]  # (ring, hole number from 1)

    def words(self) -> str:
        where = ", ".join(f"hole {k} of ring {r!r}" for r, k in self.holes)
        return (f"holes: {self.what} ({self.path}) moved from {self.from_deg:g} to {self.to_deg:.6g} deg "
                f"({self.to_deg - self.from_deg:+.3g} deg), into {where}")


def snap_to_holes(s):
    """`s` with every rod, half-pin post and pin clamp on a ring with holes = "snap" moved
    to the nearest free hole, and the moves made ((scenario, [Move])).

    Wires are not moved: their ends take the nearest free holes first (a wire's line
    decides where it crosses the bone). Then the parts in the file's order: a rod takes
    the nearest angle that is a hole of every opted-in ring it passes and free in all of
    them (rods between rings of different sizes: each end in a hole of its own ring),
    a post or clamp the nearest free hole of its ring. A part with no free hole, or one
    on a ring with holes = "check", stays where it is: validate (`check_holes`) refuses
    what is then off a hole or in a taken hole. Ties go to the counter-clockwise hole."""
    import dataclasses

    rows = {n: row for n, row in hole_rows(s).items() if row.mode == "snap"}
    if not rows:
        return s, []
    all_rows = hole_rows(s)
    taken: set[tuple[str, int]] = set()
    by_name = {r.name: r for r in s.rings}
    atts = attachments(s, all_rows)
    movable = {(a.kind, a.index) for a in atts if a.kind not in ("wire_end", "wire_post", "plate") and a.ring in rows}
    # wires first, and the parts that do not move (on "check" rings only) where they are
    for a in atts:
        near = hole_distances_mm(by_name[a.ring], all_rows[a.ring], a.angle_deg)
        if (a.kind, a.index) not in movable:
            for d, k in near:
                if (a.ring, k) not in taken and d <= _reach_mm(a, all_rows[a.ring]):
                    taken.add((a.ring, k))
                    break
    rods, pins, clamps = list(s.rods), list(s.half_pins), list(s.pin_clamps)
    moves: list[Move] = []
    done: set[tuple[str, int]] = set()
    # parts already on free holes keep them (a part moved later cannot take them: fresh-user trial)
    for key in dict.fromkeys((b.kind, b.index) for b in atts if (b.kind, b.index) in movable):
        parts = [b for b in atts if (b.kind, b.index) == key]
        holes = []
        for b in parts:
            d, k = (hole_distances_mm(by_name[b.ring], all_rows[b.ring], b.angle_deg) or [(math.inf, -1)])[0]
            if d > HOLE_TOLERANCE_MM or (b.ring, k) in taken:
                break
            holes.append((b.ring, k))
        else:
            taken.update(holes)
            done.add(key)
    for a in atts:
        if a.kind in ("wire_end", "wire_post", "plate") or (a.kind, a.index) in done:
            continue
        done.add((a.kind, a.index))
        parts = [b for b in atts if b.kind == a.kind and b.index == a.index]
        if (a.kind, a.index) not in movable:
            continue
        choice = _free_common_hole(by_name, all_rows, parts, taken)
        reach = snap_reach_deg([all_rows[b.ring] for b in parts])
        if choice is None or _angular(choice[0], a.angle_deg) > reach + 1e-9:
            continue
        angle, holes = choice
        taken.update(holes)
        if _angular(angle, a.angle_deg) < 1e-9:
            continue
        new_angle = _same_turn(a.angle_deg, angle)
        moves.append(Move(a.path, a.what, a.angle_deg, new_angle, tuple((r, k + 1) for r, k in holes)))
        if a.kind == "rod":
            rods[a.index] = dataclasses.replace(rods[a.index], angle_deg=new_angle)
        elif a.kind == "half_pin":
            pins[a.index] = dataclasses.replace(pins[a.index], angle_deg=new_angle)
        else:
            clamps[a.index] = dataclasses.replace(clamps[a.index], angle_deg=new_angle)
    if not moves:
        return s, []
    return dataclasses.replace(s, rods=tuple(rods), half_pins=tuple(pins), pin_clamps=tuple(clamps)), moves


def _same_turn(old: float, new: float) -> float:
    """`new` (in [0, 360)) written with the sign of `old` (a file's -50 becomes -54, not
    306), always within -360 to 360 deg."""
    out = new if old >= 0.0 or new == 0.0 else new - 360.0
    return round(out, 9) + 0.0


def snap_reach_deg(rows: list[HoleRow]) -> float:
    """How far (deg) snap may move a part on these rings: two pitches of the coarsest,
    or half the spacing of the holes they share (rings of different sizes share fewer:
    a 32- and a 40-hole ring one every 45 deg), whichever is more. Farther, the part
    stays where it is and validate refuses it (a silent move of a rod by a quarter of the
    ring would change the frame)."""
    counts = [r.count_full for r in rows]
    return max(2.0 * max(r.pitch_deg for r in rows), 0.5 * 360.0 / math.gcd(*counts))


def _reach_mm(a: Attachment, row: HoleRow) -> float:
    """How far from a hole's centre an attachment may be and still be held by it: a wire
    end half a pitch (its wire-fixation bolt in the nearest hole, the wire beside it),
    anything else HOLE_TOLERANCE_MM."""
    if a.kind == "wire_end":
        return 0.5 * row.pitch_mm + HOLE_TOLERANCE_MM
    return HOLE_TOLERANCE_MM


def _free_common_hole(by_name, rows, parts: list[Attachment], taken) -> tuple[float, list[tuple[str, int]]] | None:
    """The angle nearest to the parts' angle that is a free hole of every ring in
    `parts` (each ring's hole index), or None."""
    angle = parts[0].angle_deg
    first = parts[0]
    best = None
    for k in range(rows[first.ring].count):
        cand = rows[first.ring].angles_deg[k]
        holes = []
        for b in parts:
            ring, row = by_name[b.ring], rows[b.ring]
            near = hole_distances_mm(ring, row, cand)
            if not near or near[0][0] > HOLE_TOLERANCE_MM or (b.ring, near[0][1]) in taken:
                holes = None
                break
            holes.append((b.ring, near[0][1]))
        if holes is None:
            continue
        key = _nearness(cand, angle)
        if best is None or key < best[0]:
            best = (key, cand, holes)
    return None if best is None else (best[1], best[2])


# ----------------------------------------------------------------------- checks
def check_holes(s, error) -> list[tuple[Attachment, int]]:
    """Refuse (raise error(path, message), sim.scenario.ScenarioError) a part on a ring
    with holes != "anywhere" that is not on a hole (within HOLE_TOLERANCE_MM; a wire end
    within half a pitch, its bolt's reach), or in a hole another part takes. Returns each
    attachment with its hole index (from 0)."""
    rows = hole_rows(s)
    if not rows:
        return []
    by_name = {r.name: r for r in s.rings}
    taken: dict[tuple[str, int], Attachment] = {}
    out = []
    atts = attachments(s, rows)
    # wire ends first: their bolts go in the nearest free hole within reach
    order = [a for a in atts if a.kind == "wire_end"] + [a for a in atts if a.kind != "wire_end"]
    for a in order:
        ring, row = by_name[a.ring], rows[a.ring]
        if row.count == 0:
            raise error(a.path, f"{a.what} would attach to ring {a.ring!r}, which has no hole (holes = {row.mode!r}; "
                        f"its centreline is shorter than one pitch, {row.pitch_mm:.1f} mm); accepted: holes = "
                        "'anywhere' on this ring, or a larger ring")
        near = hole_distances_mm(ring, row, a.angle_deg)
        reach = _reach_mm(a, row)
        within = [(d, k) for d, k in near if d <= reach]
        free = [(d, k) for d, k in within if (a.ring, k) not in taken]
        if free:
            taken[(a.ring, free[0][1])] = a
            out.append((a, free[0][1]))
            continue
        if within:  # on a hole another part takes
            d, k = within[0]
            other = taken[(a.ring, k)]
            target = ("another hole, e.g. " if a.kind not in ("wire_end", "wire_post") else
                      "the wire's angle_deg or offset_mm set so that its end meets the ring by a free hole, e.g. ")
            raise error(a.path, f"{a.what} would take hole {k + 1} of ring {a.ring!r} (at {row.angles_deg[k]:.6g} "
                        f"deg), which {other.what} ({other.path}) takes already: one part per hole; accepted: "
                        f"{target}{_free_words(row, a, {**taken, **_on_holes_of_others(by_name, rows, atts, a)})}"
                        + (", or holes = 'snap' (it moves to the nearest free hole)" if a.kind not in
                           ("wire_end", "wire_post", "plate") and row.mode == "check" else ""))
        what = ("a wire end is held by a wire-fixation bolt in a hole within half a pitch, "
                f"{0.5 * row.pitch_mm:.1f} mm" if a.kind == "wire_end" else
                f"within {HOLE_TOLERANCE_MM:g} mm of a hole's centre")
        dist = near[0][0] if near else float("nan")
        hint = {"wire_post": "; a wire's posts stand at its ends: set the wire's angle_deg or offset_mm so that both "
                             "are on holes (snap does not move wires)",
                "wire_end": "",
                "plate": "; snap does not move plates (the parts in their holes would move with them): set the "
                         "plate's angle_deg to a hole",
                }.get(a.kind, ", or holes = 'snap' on the ring (it moves to the nearest free hole)"
                      if row.mode == "check" else "")
        accepted = _free_words(row, a, {**taken, **_on_holes_of_others(by_name, rows, atts, a)})
        parts = [b for b in atts if (b.kind, b.index) == (a.kind, a.index)]
        if a.kind not in ("wire_end", "wire_post", "plate") and any(rows[b.ring].mode == "snap" for b in parts):
            reach = snap_reach_deg([rows[b.ring] for b in parts])
            hint = (f"; snap did not move it: no hole free on all its rings within {reach:.6g} deg (the nearer ones "
                    "hold wires' clamps or other parts): move it, or the parts in the way, yourself")
            accepted = f"a free hole, e.g. {_free_common_words(by_name, rows, parts, taken)}"
        raise error(a.path, f"{a.what} at {a.angle_deg % 360.0:.6g} deg is not on a hole of ring {a.ring!r} "
                    f"({dist:.1f} mm from the nearest; {what}; holes = {row.mode!r}, {row.count} holes every "
                    f"{row.pitch_mm:.1f} mm); accepted: {accepted}{hint}")
    return out


def _free_common_words(by_name, rows, parts: list[Attachment], taken) -> str:
    """The two angles nearest to the parts' that are free holes of all their rings."""
    found = []
    blocked = set(taken)
    for _ in range(2):
        choice = _free_common_hole(by_name, rows, parts, blocked)
        if choice is None:
            break
        found.append(choice[0])
        blocked.update(choice[1])
    return " or ".join(f"{x:.6g} deg" for x in found) or "none is free"


def _on_holes(by_name, rows, atts) -> dict[tuple[str, int], Attachment]:
    """The holes (ring, index) that attachments sit on already (within HOLE_TOLERANCE_MM),
    by the attachment on each: holes not to offer another part."""
    out = {}
    for b in atts:
        near = hole_distances_mm(by_name[b.ring], rows[b.ring], b.angle_deg)
        if near and near[0][0] <= HOLE_TOLERANCE_MM:
            out.setdefault((b.ring, near[0][1]), b)
    return out


def _on_holes_of_others(by_name, rows, atts, a: Attachment) -> dict[tuple[str, int], Attachment]:
    """`_on_holes` without part `a`'s own attachments."""
    return {hole: b for hole, b in _on_holes(by_name, rows, atts).items() if (b.kind, b.index) != (a.kind, a.index)}


def _free_words(row: HoleRow, a: Attachment, taken) -> str:
    free = [k for k in range(row.count) if (a.ring, k) not in taken]
    free.sort(key=lambda k: _nearness(row.angles_deg[k], a.angle_deg))
    return " or ".join(f"{row.angles_deg[k]:.6g} deg (hole {k + 1})" for k in free[:2]) or "none is free"


def hole_points(s):
    """The holes of the rings with holes != "anywhere" as an (n, 3) array of points (mm)
    on their centrelines at their rings' mid-planes (for the pictures)."""
    import numpy as np

    pts = []
    rows = hole_rows(s)
    for ring in s.rings:
        row = rows.get(ring.name)
        if row is None:
            continue
        for a in row.angles_deg:
            x, y = ring_geometry.attachment_xy(ring, a)
            pts.append((x, y, ring.level_mm))
    return np.array(pts, dtype=float).reshape(-1, 3)


# ---------------------------------------------------------------------- results
def results_entry(s, moves: list[Move] | tuple[Move, ...] = ()) -> dict:
    """results.json's "ring_holes": per opted-in ring its mode, hole count and pitch, and
    which part is in which hole (numbered from 1), and what snapping moved."""
    rows = hole_rows(s)
    placed = check_holes(s, lambda path, msg: ValueError(f"{path}: {msg}"))
    rings = {}
    for name, row in rows.items():
        rings[name] = {"holes": row.mode, "hole_count": row.count, "full_ring_hole_count": row.count_full,
                       "pitch_mm": row.pitch_mm, "hole_angles_deg": list(row.angles_deg),
                       "parts": []}
    for a, k in sorted(placed, key=lambda ak: (ak[0].ring, ak[1])):
        rings[a.ring]["parts"].append({"hole": k + 1, "angle_deg": rows[a.ring].angles_deg[k], "part": a.what,
                                       "field": a.path})
    return {"rings": rings,
            "snapped": [{"part": m.path, "what": m.what, "from_deg": m.from_deg, "to_deg": m.to_deg,
                         "holes": [f"{r} hole {k}" for r, k in m.holes]} for m in moves],
            "source": "hole counts assumed (sim.ring_holes: about 16 mm pitch, counts a multiple of 8) unless the "
                      "file gives hole_count"}


def moves_of(s) -> tuple[Move, ...]:
    """The moves made when `s` was read (kept on the Scenario object by sim.scenario;
    a scenario built from it anew has nothing left to move)."""
    return getattr(s, "_hole_moves", ())
