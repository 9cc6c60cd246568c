"""The line-network builder of the frame model.

A scenario in, a tagged 1D gmsh model in 3D space out, converted to a dolfinx mesh:

- the bone: a line along the z axis in two fragments, broken at the gap (a regenerate
  line fills the gap when the scenario has one; an empty gap has a single contact cell
  that carries load only once the gap has closed); with a defect, a third piece (the
  transport segment) and a contact cell across the defect (the docking site);
- each ring: its centroidal circle, as circle arcs between the points where wires, rods
  and posts attach (a foot plate: its U, arcs on the semicircle and straight lines on the
  arms; every ring's points from sim.ring_geometry, as the continuum builder's);
- each wire: a straight line between its two clamps, broken where it enters and leaves
  the bone's outer surface; the clamps are short links from the ring's centroid to the
  wire on the ring face; the cortex points are linked to the bone axis;
- each rod: lines between the rings it joins (a telescopic rod: its tube, overlap and
  inner rod sections; a rod a hinge interrupts: a hinge joint cell there); each half pin:
  a post on the ring and a pin from the top of the post to the bone, linked to the bone axis at the cortices, in
  any direction (sim.pin_geometry places it); a multi-pin clamp or cube: one post and
  stiff links from its top to each of its pins' holes (the rigid block).

`plan_network` is plain Python (the same on every MPI rank); `build_frame` meshes the
plan with gmsh on rank 0 and distributes it with dolfinx.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from meshes.tags import Marker, Part, PartKind
from sim import ring_geometry
from sim.scenario import Scenario

ANGLE_TOL_RAD = 1e-7
CLAMP_JOINT_LENGTH_MM = 1.0  # a compliant wire clamp's joint cell, along the wire
MAX_BRANCHES = 12


@dataclass
class NetworkPlan:
    """Points, straight lines, ring arcs and parts of a frame line network."""

    points: list[tuple[float, float, float]] = field(default_factory=list)
    lines: list[tuple[int, int, int, int]] = field(default_factory=list)  # (p0, p1, part tag, elements)
    arcs: list[tuple[int, int, int, int, int]] = field(default_factory=list)  # (p0, centre, p1, tag, elements)
    parts: list[Part] = field(default_factory=list)
    markers: dict[int, int] = field(default_factory=dict)  # Marker -> point index
    gap_faces: tuple[int, int] | None = None  # (distal face, proximal face) point indices
    defect_faces: tuple[int, int] | None = None  # the defect's (distal, proximal) faces
    wire_points: dict[str, tuple[int, ...]] = field(default_factory=dict)  # clamp ends and cortex points
    ring_mounts: list[int] = field(default_factory=list)  # the held ring's mounting points (Marker.RING_MOUNTS)
    # a part's section axis n1 where the default (z, or x along z) is wrong: a ring's own axis
    section_normals: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    plate_holes: dict[tuple[str, int], int] = field(default_factory=dict)  # (plate, hole) -> point index

    def add_point(self, xyz) -> int:
        self.points.append(tuple(float(c) for c in xyz))
        return len(self.points) - 1

    def add_part(self, name: str, kind: PartKind, source: str, release_axis=None, axis=None) -> int:
        tag = len(self.parts) + 1

        def vec(v):
            return None if v is None else tuple(float(c) for c in v)

        self.parts.append(Part(name, kind, tag, source, vec(release_axis), vec(axis)))
        return tag

    def add_line(self, p0: int, p1: int, tag: int, size_mm: float | None) -> None:
        length = math.dist(self.points[p0], self.points[p1])
        n = 1 if size_mm is None else max(1, math.ceil(length / size_mm - 1e-9))
        self.lines.append((p0, p1, tag, n))

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    def parts_of(self, kind: PartKind) -> list[Part]:
        return [p for p in self.parts if p.kind == kind]


class _RingPoints:
    """Points on a ring's centreline (its centroidal circle, a foot plate's U:
    sim.ring_geometry.centreline_point), created once per angle about its centre."""

    def __init__(self, plan: NetworkPlan, ring):
        self.plan, self.ring, self.z = plan, ring, ring.level_mm
        self.centre, self.radius = np.asarray(ring.centre_xy_mm, float), ring.centroid_radius_mm
        self.by_angle: dict[float, int] = {}

    def at(self, angle_rad: float) -> int:
        angle = angle_rad % (2 * math.pi)
        for a, idx in self.by_angle.items():
            d = abs(a - angle)
            if min(d, 2 * math.pi - d) < ANGLE_TOL_RAD:
                return idx
        xy = ring_geometry.centreline_point(self.ring, math.degrees(angle))
        if xy is None:
            raise ValueError(f"ring {self.ring.name!r}: {math.degrees(angle):g} deg points into its opening")
        idx = self.plan.add_point((xy[0], xy[1], self.z))
        self.by_angle[angle] = idx
        return idx


def plan_network(s: Scenario, pose=None) -> NetworkPlan:
    """Lay out the line network of a scenario (pure geometry, no gmsh).

    With a hexapod, `pose` (a sim.hexapod.Pose; None: the scenario's initial pose) places
    the moving side — every point on the moving ring's side of the gap — by a rigid
    motion from the corrected layout; the struts join the two sides.
    """
    plan = NetworkPlan()
    h, hw = s.mesh.element_size_mm, s.mesh.wire_element_size_mm
    ring_pts = {r.name: _RingPoints(plan, r) for r in s.rings}
    bone_nodes: dict[float, int] = {}  # z level -> point on the bone axis

    def bone_node(z: float) -> int:
        for zz, idx in bone_nodes.items():
            if abs(zz - z) < 1e-9:
                return idx
        idx = plan.add_point((0.0, 0.0, z))
        bone_nodes[z] = idx
        return idx

    # connection plates: beams along their holes, bolted to their rings (sim.plate_geometry)
    if s.plates:
        _plan_plates(plan, s, ring_pts)

    # wires: where they lie is sim.geometry.wire_path's (the continuum builder and validate use it too)
    for w in s.wires:
        _plan_wire(plan, s, w, ring_pts, bone_node)

    # half pins (only with a bone to hold), placed by sim.pin_geometry as the solid and validate place them
    if s.has_bone:
        from sim.pin_geometry import pin_path

        clamp_tops: dict[str, tuple[int, int]] = {}  # a pin clamp's post top and block part, built once
        for pin in s.half_pins:
            path = pin_path(s, pin)
            toward = tuple(float(c) for c in path.direction)
            owner = pin.name if pin.clamp is None else pin.clamp
            ring_name = pin.ring if pin.clamp is None else s.pin_clamp(pin.clamp).ring
            angle = pin.angle_deg if pin.clamp is None else s.pin_clamp(pin.clamp).angle_deg
            if owner not in clamp_tops:
                base = (ring_pts[ring_name].at(math.radians(angle)) if pin.plate is None
                        else plan.plate_holes[(pin.plate, int(pin.hole))])  # a post in a plate's hole
                top = base
                if abs(path.post_top[2] - path.post_base[2]) > 1e-9:
                    top = plan.add_point(path.post_top)
                    post_tag = plan.add_part(f"{owner}_post", PartKind.POST, owner)
                    plan.add_line(base, top, post_tag, h)
                block_tag = (plan.add_part(f"{owner}_block", PartKind.PIN_CLAMP_BLOCK, owner)
                             if pin.clamp is not None else 0)
                clamp_tops[owner] = (top, block_tag)
            top, block_tag = clamp_tops[owner]
            hole = top
            if math.dist(path.clamp_point, plan.points[top]) > 1e-9:  # a clamp's other holes: the rigid block
                hole = plan.add_point(path.clamp_point)
                plan.add_line(top, hole, block_tag, None)
            near = plan.add_point(path.near_outer)
            pin_tag = plan.add_part(pin.name, PartKind.HALF_PIN, pin.name)
            start = hole
            if not s.interfaces.law("pin_clamp", pin.name).rigid:
                # the clamp holds the pin over its length: a joint along the pin from its hole to there
                reach = math.dist(path.clamp_point, path.near_outer)
                grip = min(s.interfaces.law("pin_clamp", pin.name).length_mm, 0.5 * reach)
                start = plan.add_point(path.at(grip))
                clamp_tag = plan.add_part(f"{pin.name}_clamp", PartKind.PIN_CLAMP, pin.name, axis=toward)
                plan.add_line(hole, start, clamp_tag, None)
            plan.add_line(start, near, pin_tag, h)
            link_tag = plan.add_part(f"{pin.name}_bone_link", PartKind.PIN_BONE_LINK, pin.name, axis=toward)
            if s.interfaces.law("pin_bone", pin.name).rigid:
                # bonded where it enters the bone and, bicortical, where it leaves it
                held = [near]
                if pin.bicortical:
                    far = plan.add_point(path.at(path.cortex_mm[-1][1]))
                    plan.add_line(near, far, pin_tag, h)
                    held.append(far)
            else:
                # a beam on an elastic foundation: held at the outer and inner surface of each cortex it engages
                held = [near] + [plan.add_point(q) for q in path.bone_points[1:]]
                for p0, p1 in zip(held, held[1:]):
                    plan.add_line(p0, p1, pin_tag, h)
            for q in held:  # each cortex point linked to the bone's axis at its own level
                plan.add_line(bone_node(plan.points[q][2]), q, link_tag, None)

    # hexapod struts: one cell each, between mounting points on the two rings' centroid circles
    # (the correcting level's struts 1-6, then 7-12, 13-18... of any further level)
    if s.hexapod is not None:
        from sim.hexapod import fixed_level_geometries, hexapod_geometry

        hx = s.hexapod
        levels = [(hx.reference_ring, hx.moving_ring, hexapod_geometry(s))]
        levels += [(lv.rings[0], lv.rings[1], g) for lv, g in zip(hx.fixed_levels, fixed_level_geometries(s))]
        for i, (lower, upper, geom) in enumerate(levels):
            for k in range(6):
                name = f"strut{6 * i + k + 1}"
                tag = plan.add_part(name, PartKind.STRUT, name)
                a = ring_pts[lower].at(math.radians(geom.base_angles_deg[k]))
                b = ring_pts[upper].at(math.radians(geom.platform_angles_deg[k]))
                plan.lines.append((a, b, tag, 1))

    # rods: through the rings' points (rigid), or held by a nut on each face of each ring
    for rod in s.rods:
        if rod.from_plate is not None or rod.to_plate is not None:
            _plan_plate_rod(plan, s, rod, ring_pts, h)
            continue
        tag = plan.add_part(rod.name, PartKind.ROD, rod.name)
        a = math.radians(rod.angle_deg)
        rings = s.rod_rings(rod)
        pts = [ring_pts[r.name].at(a) for r in rings]
        span = _RodSpan(plan, s, rod, tag, h, pts)
        if s.interfaces.law("rod_ring", rod.name).rigid:
            for p0, p1 in zip(pts, pts[1:]):
                span.add(p0, p1)
            continue
        joint_tag = plan.add_part(f"{rod.name}_joints", PartKind.ROD_RING_JOINT, rod.name, axis=(0.0, 0.0, 1.0))
        ends = []
        for ring, p in zip(rings, pts):
            x, y, z = plan.points[p]
            below = plan.add_point((x, y, z - 0.5 * ring.thickness_mm))
            above = plan.add_point((x, y, z + 0.5 * ring.thickness_mm))
            plan.add_line(below, p, joint_tag, None)
            plan.add_line(p, above, joint_tag, None)
            plan.add_line(below, above, tag, None)  # the rod through the ring's hole
            ends.append((below, above))
        for (_, lo_top), (hi_bottom, _) in zip(ends, ends[1:]):
            span.add(lo_top, hi_bottom)

    # the held ring's mounting points on the test machine
    if s.loads.setup == "ring_held" and s.loads.held_at_deg:
        plan.ring_mounts = [ring_pts[s.held_ring.name].at(math.radians(a)) for a in s.loads.held_at_deg]

    # rings: arcs between attachment points (each arc < 90 degrees)
    for ring in s.rings:
        rp = ring_pts[ring.name]
        tag = plan.add_part(ring.name, PartKind.RING, ring.name)
        plan.section_normals[tag] = (0.0, 0.0, 1.0)
        if ring.kind == "foot_plate":
            _plan_foot_plate(plan, ring, rp, tag, h)
            continue
        if ring.is_open:
            _plan_open_ring(plan, ring, rp, tag, h)
            continue
        if not rp.by_angle:
            rp.at(0.0)
        angles = sorted(rp.by_angle)
        filled = []
        for i, a0 in enumerate(angles):
            a1 = angles[(i + 1) % len(angles)] + (2 * math.pi if i + 1 == len(angles) else 0.0)
            n_sub = max(1, math.ceil((a1 - a0) / (math.pi / 2) - 1e-9))
            filled += [a0 + k * (a1 - a0) / n_sub for k in range(n_sub)]
        pts = [rp.at(a) for a in filled]
        centre = plan.add_point((*ring.centre_xy_mm, ring.level_mm))
        for i, p0 in enumerate(pts):
            p1 = pts[(i + 1) % len(pts)]
            a0, a1 = filled[i], filled[(i + 1) % len(filled)] + (2 * math.pi if i + 1 == len(filled) else 0.0)
            n = max(1, math.ceil(ring.centroid_radius_mm * (a1 - a0) / h - 1e-9))
            plan.arcs.append((p0, centre, p1, tag, n))

    # bone: fragments (and a transport segment) between the gap and the defect
    if s.has_bone:
        breaks = s.bone_breaks()
        for z in (0.0, s.bone.length_mm, *(z for lo, hi, _ in breaks for z in (lo, hi))):
            bone_node(z)
        if breaks and s.gap.butterfly is not None:  # the levels of a butterfly fragment's ends (sim.fracture_geometry)
            for z in (s.gap.level_mm - s.gap.butterfly.length_mm / 2, s.gap.level_mm + s.gap.butterfly.length_mm / 2):
                bone_node(z)
        piece_names = ((["bone_distal"] + (["bone_segment"] if len(breaks) > 1 else []) + ["bone_proximal"])
                       if breaks else ["bone"])
        piece_tags = [plan.add_part(n, PartKind.BONE, "bone") for n in piece_names]
        break_tags = {}
        for lo, hi, kind in breaks:
            if kind == "gap" and s.hexapod is not None:
                continue  # the fragments move past each other in a correction: no contact cell
            if kind == "gap" and s.gap.regenerate:
                break_tags[kind] = plan.add_part("regenerate", PartKind.REGENERATE, "gap")
            else:
                name = "gap_contact" if kind == "gap" else "defect_contact"
                break_tags[kind] = plan.add_part(name, PartKind.GAP_CONTACT, kind)
        levels = sorted(bone_nodes)
        for z0, z1 in zip(levels, levels[1:]):
            zm = 0.5 * (z0 + z1)
            inside = [(lo, hi, kind) for lo, hi, kind in breaks if lo - 1e-9 <= zm <= hi + 1e-9]
            if not inside:
                piece = sum(1 for lo, hi, _ in breaks if hi <= zm)
                plan.add_line(bone_nodes[z0], bone_nodes[z1], piece_tags[piece], h)
            elif inside[0][2] == "gap" and s.gap.regenerate:
                plan.add_line(bone_nodes[z0], bone_nodes[z1], break_tags["gap"],
                              min(h, max(s.gap.width_mm / 4, 0.25)))
            elif inside[0][2] in break_tags:  # one contact cell across an empty gap or a defect
                plan.add_line(bone_nodes[z0], bone_nodes[z1], break_tags[inside[0][2]], None)
        plan.markers[Marker.BONE_DISTAL_END] = bone_nodes[levels[0]]
        plan.markers[Marker.BONE_PROXIMAL_END] = bone_nodes[levels[-1]]
        for lo, hi, kind in breaks:
            faces = (bone_node(lo), bone_node(hi))
            if kind == "gap":
                plan.gap_faces = faces
            else:
                plan.defect_faces = faces
    if s.hexapod is not None:
        _place_moving_side(plan, s, pose)
    return plan


HINGE_JOINT_LENGTH_MM = 1.0  # a hinge's joint cell, along the rod it interrupts


class _RodSpan:
    """A rod's lines between two rings: one beam, or a telescopic rod's three sections (the
    tube alone, the overlap where tube and inner rod act in parallel, the inner rod alone:
    Rod.telescopic_sections), broken by a hinge's joint cell where a [[hinges]] entry
    interrupts the rod."""

    def __init__(self, plan: NetworkPlan, s: Scenario, rod, tag: int, h: float, ring_points: list[int]):
        self.plan, self.rod, self.tag, self.h = plan, rod, tag, h
        ends = [np.asarray(plan.points[i]) for i in ring_points]
        self.sections = None
        if rod.kind == "telescopic":  # lengths along the rod from its lower ring's point
            lengths = rod.telescopic_sections(float(np.linalg.norm(ends[-1] - ends[0])))
            tube = plan.add_part(f"{rod.name}_tube", PartKind.ROD, rod.name)
            overlap = plan.add_part(f"{rod.name}_overlap", PartKind.ROD, rod.name)
            self.sections = (ends[0], ends[-1], [(lengths[0], tube), (lengths[0] + lengths[1], overlap)])
        self.hinge = None
        for hinge in s.hinges:
            if rod.name in hinge.rods:
                hinge_tag = plan.add_part(f"{hinge.name}_{rod.name}", PartKind.HINGE, rod.name, axis=hinge.axis())
                self.hinge = (hinge.level_mm, hinge_tag)

    def add(self, p0: int, p1: int) -> None:
        """The lines from point p0 to point p1 (both on the rod, p1 above p0)."""
        A, B = np.asarray(self.plan.points[p0]), np.asarray(self.plan.points[p1])
        length = float(np.linalg.norm(B - A))
        u = (B - A) / length
        cuts: list[tuple[float, int, float | None]] = []  # (end along A->B (mm), tag of the piece ending there, size)
        if self.sections is not None:
            E0, E1, bounds = self.sections
            d = (E1 - E0) / np.linalg.norm(E1 - E0)
            offset = float((A - E0) @ d)  # where A lies along the rod from its lower ring's point
            cuts += [(b - offset, tag, self.h) for b, tag in bounds if 1e-6 < b - offset < length - 1e-6]
        if self.hinge is not None and A[2] < self.hinge[0] < B[2]:
            at = (self.hinge[0] - A[2]) / (B[2] - A[2]) * length
            half = 0.5 * HINGE_JOINT_LENGTH_MM
            before = self._tag_at(cuts, at - half)
            cuts += [(at - half, before, self.h), (at + half, self.hinge[1], None)]
        cuts.sort(key=lambda c: c[0])
        start = p0
        for end, tag, size in cuts:
            q = self.plan.add_point(A + end * u)
            self.plan.add_line(start, q, tag, size)
            start = q
        self.plan.add_line(start, p1, self._tag_at(cuts, length), self.h)

    def _tag_at(self, cuts, position: float) -> int:
        """The part tag of the rod at `position` along the current line (before the hinge
        is added: the telescopic section there)."""
        for end, tag, _ in sorted(cuts, key=lambda c: c[0]):
            if position <= end:
                return tag
        return self.tag


def _plan_wire(plan: NetworkPlan, s: Scenario, w, ring_pts: dict, bone_node) -> None:
    """A wire's lines: from clamp to clamp through its cortex points (sim.geometry.wire_path),
    the clamps linked to the ring's centroid (on the face), or to the top of a post standing
    on the ring's centroid (a wire on posts or inclined: a POST beam of the solid's clamp
    post section), and the cortex points linked to the bone axis. A smooth wire's bone links
    let the bone slide along it; an olive wire's hold it along the wire at both cortices, or
    with olive_side only at the olive's (`{name}_bone_link`; the other cortex slides:
    `{name}_bone_link_sliding`)."""
    from sim.geometry import wire_path, wire_plate_ends

    ring = s.ring(w.ring)
    path = wire_path(s, w)
    d3 = path.direction
    along = tuple(float(c) for c in d3)
    wire_tag = plan.add_part(w.name, PartKind.WIRE, w.name)
    clamp_tag = plan.add_part(f"{w.name}_clamps", PartKind.CLAMP_LINK, w.name, axis=along)
    compliant = not s.interfaces.law("wire_clamp", w.name).rigid
    arm_tag = plan.add_part(f"{w.name}_clamp_arms", PartKind.CLAMP_ARM, w.name) if compliant else None
    post_tag = plan.add_part(f"{w.name}_posts", PartKind.POST, w.name) if path.on_posts else None
    ends = []
    on_plates = wire_plate_ends(w)
    for k, (xyz, on_centroid, outward) in enumerate(((path.start_mm, path.ring_mm[0], -1.0),
                                                     (path.end_mm, path.ring_mm[1], 1.0))):
        if on_plates[k] is not None:  # the clamp in a plate's hole: held by the plate's node there
            on_ring = plan.plate_holes[on_plates[k]]
        else:
            on_ring = ring_pts[w.ring].at(math.atan2(xyz[1] - ring.centre_xy_mm[1], xyz[0] - ring.centre_xy_mm[0]))
        end = plan.add_point(xyz)
        holder = on_ring
        if post_tag is not None:
            # the post from the ring's mid-plane to the wire's near side; the clamp spans the wire's radius
            h = float(xyz[2] - on_centroid[2])
            top = plan.add_point((xyz[0], xyz[1], xyz[2] - math.copysign(0.5 * w.diameter_mm, h)))
            plan.add_line(on_ring, top, post_tag, s.mesh.element_size_mm)
            holder = top
        if compliant:
            # the joint lies along the wire (its pull has no lever about it, so the clamp's offset from
            # the ring's centroid loads the ring, not the wire), held by a stiff arm from the ring
            grip = plan.add_point(np.asarray(xyz) + outward * CLAMP_JOINT_LENGTH_MM * d3)
            plan.add_line(holder, grip, arm_tag, None)
            plan.add_line(grip, end, clamp_tag, None)
        else:
            plan.add_line(holder, end, clamp_tag, None)
        ends.append(end)
    if path.cortex_mm is not None:
        cortex = [plan.add_point(c) for c in path.cortex_mm]
        chain = [ends[0], cortex[0], cortex[1], ends[1]]
        if w.olive and w.olive_side is not None:
            held = 0 if w.olive_side == "start" else 1
            link_tag = plan.add_part(f"{w.name}_bone_link", PartKind.WIRE_BONE_LINK, w.name, None, axis=along)
            slide_tag = plan.add_part(f"{w.name}_bone_link_sliding", PartKind.WIRE_BONE_LINK, w.name, along,
                                      axis=along)
            tags = [link_tag, slide_tag] if held == 0 else [slide_tag, link_tag]
        else:
            # a smooth wire: the bone slides along it and turns about it; an olive wire is held at both cortices
            link_tag = plan.add_part(f"{w.name}_bone_link", PartKind.WIRE_BONE_LINK, w.name,
                                     None if w.olive else along, axis=along)
            tags = [link_tag, link_tag]
        for c, c_xyz, tag in zip(cortex, path.cortex_mm, tags):
            # linked to the bone axis at the cortex point's own level (an inclined wire's two levels differ)
            plan.add_line(bone_node(float(c_xyz[2])), c, tag, None)
    else:
        chain = [ends[0], ends[1]]
    plan.wire_points[w.name] = tuple(chain)
    for p0, p1 in zip(chain, chain[1:]):
        plan.add_line(p0, p1, wire_tag, s.mesh.wire_element_size_mm)


def _plan_plates(plan: NetworkPlan, s: Scenario, ring_pts: dict) -> None:
    """Each connection plate (sim.plate_geometry.plate_path): its bolt, a stiff link
    (PLATE_BOLT) from the ring's centreline point under hole 1 to hole 1 at the plate's
    mid-plane, and the plate, a beam of its rectangular section (width in the ring's
    plane, thickness along z: section normal z, as a ring's) from end to end with a node
    at hole 1, at its last hole and at every hole a part uses (plan.plate_holes); the
    ends beyond the end holes carry nothing (they are there to be drawn)."""
    from sim.geometry import wire_plate_ends
    from sim.plate_geometry import plate_path

    used: dict[str, set[int]] = {}
    for rod in s.rods:
        for plate, hole in ((rod.from_plate, rod.from_hole), (rod.to_plate, rod.to_hole)):
            if plate is not None:
                used.setdefault(plate, set()).add(int(hole))
    for w in s.wires:
        for end in wire_plate_ends(w):
            if end is not None:
                used.setdefault(end[0], set()).add(end[1])
    for pin in s.half_pins:
        if pin.plate is not None:
            used.setdefault(pin.plate, set()).add(int(pin.hole))
    h = s.mesh.element_size_mm
    for plate in s.plates:
        path = plate_path(s, plate)
        base = ring_pts[plate.ring].at(math.radians(plate.angle_deg))
        first = plan.add_point(path.origin)
        plan.add_line(base, first, plan.add_part(f"{plate.name}_bolt", PartKind.PLATE_BOLT, plate.name), None)
        tag = plan.add_part(plate.name, PartKind.PLATE, plate.name)
        plan.section_normals[tag] = (0.0, 0.0, 1.0)
        plan.plate_holes[(plate.name, 1)] = first
        plan.add_line(plan.add_point(path.start), first, tag, None)  # its free ends: the whole plate is drawn
        prev = first
        for k in sorted(used.get(plate.name, set()) | {path.dims.holes}):
            if k == 1:
                continue
            q = plan.add_point(path.hole(k))
            plan.plate_holes[(plate.name, k)] = q
            plan.add_line(prev, q, tag, h)
            prev = q
        plan.add_line(prev, plan.add_point(path.end), tag, None)


def _plan_plate_rod(plan: NetworkPlan, s: Scenario, rod, ring_pts: dict, h: float) -> None:
    """A rod with an end on a connection plate: one straight rod between its two ends
    (sim.scenario.rod_end_points: a plate's hole node, or the ring's centreline point),
    through a ring's or plate's hole held rigidly, or with the compliant rod_ring joint
    (a nut on each face: two joint cells across the ring's or plate's thickness)."""
    from sim.plate_geometry import plate_dims
    from sim.scenario import rod_end_points

    tag = plan.add_part(rod.name, PartKind.ROD, rod.name)
    ends = []  # (point on the ring's or plate's mid-plane, thickness)
    by_ring = {}
    for plate in (rod.from_plate, rod.to_plate):
        if plate is not None:
            p = s.plate(plate)
            by_ring[p.ring] = (p, int(rod.from_hole if plate == rod.from_plate else rod.to_hole))
    for ring_name, xyz in rod_end_points(s, rod):
        if ring_name in by_ring:
            p, hole = by_ring[ring_name]
            ends.append((plan.plate_holes[(p.name, hole)], plate_dims(p).thickness_mm))
        else:
            ring = s.ring(ring_name)
            ends.append((ring_pts[ring_name].at(math.radians(rod.angle_deg)), ring.thickness_mm))
    span = _RodSpan(plan, s, rod, tag, h, [e[0] for e in ends])
    if s.interfaces.law("rod_ring", rod.name).rigid:
        span.add(ends[0][0], ends[1][0])
        return
    joint_tag = plan.add_part(f"{rod.name}_joints", PartKind.ROD_RING_JOINT, rod.name, axis=(0.0, 0.0, 1.0))
    through = []
    for p, thickness in ends:
        x, y, z = plan.points[p]
        below = plan.add_point((x, y, z - 0.5 * thickness))
        above = plan.add_point((x, y, z + 0.5 * thickness))
        plan.add_line(below, p, joint_tag, None)
        plan.add_line(p, above, joint_tag, None)
        plan.add_line(below, above, tag, None)
        through.append((below, above))
    span.add(through[0][1], through[1][0])


def _plan_open_ring(plan: NetworkPlan, ring, rp: _RingPoints, tag: int, h: float) -> None:
    """An open ring's arcs: from its start counter-clockwise over ring.arc_deg, through its
    attachment points, with no element across the opening (validate keeps every
    attachment on the arc)."""
    start, span = math.radians(ring.arc_start_deg), math.radians(ring.arc_deg)
    rp.at(start)
    rp.at(start + span)
    along = sorted(min((a - start) % (2 * math.pi), span) for a in rp.by_angle)
    filled = []
    for a0, a1 in zip(along, along[1:]):
        n_sub = max(1, math.ceil((a1 - a0) / (math.pi / 2) - 1e-9))
        filled += [a0 + k * (a1 - a0) / n_sub for k in range(n_sub)]
    filled.append(along[-1])
    pts = [rp.at(start + a) for a in filled]
    centre = plan.add_point((*ring.centre_xy_mm, ring.level_mm))
    for (a0, p0), (a1, p1) in zip(zip(filled, pts), zip(filled[1:], pts[1:])):
        n = max(1, math.ceil(ring.centroid_radius_mm * (a1 - a0) / h - 1e-9))
        plan.arcs.append((p0, centre, p1, tag, n))


def _plan_foot_plate(plan: NetworkPlan, ring, rp: _RingPoints, tag: int, h: float) -> None:
    """A foot plate's beams along its U (sim.ring_geometry): straight lines on the arms and
    circle arcs (each < 90 deg) on the semicircle, through its attachment points, from one
    arm's tip to the other's, with no element across the opening."""
    corners = ring_geometry.centreline_corners_mm(ring)
    for pos in corners:
        xy = ring_geometry.point_at_position(ring, pos)
        rp.at(math.atan2(xy[1] - ring.centre_xy_mm[1], xy[0] - ring.centre_xy_mm[0]))
    r = ring.centroid_radius_mm
    arc_lo, arc_hi = corners[1], corners[2]
    along = sorted((ring_geometry.centreline_position_mm(ring, math.degrees(a)), idx) for a, idx in rp.by_angle.items())
    # the semicircle's pieces split into arcs of less than 90 deg
    filled: list[tuple[float, int]] = []
    for (s0, p0), (s1, p1) in zip(along, along[1:]):
        filled.append((s0, p0))
        if arc_lo - 1e-9 <= s0 and s1 <= arc_hi + 1e-9:
            n_sub = max(1, math.ceil((s1 - s0) / r / (math.pi / 2) - 1e-9))
            for k in range(1, n_sub):
                sk = s0 + k * (s1 - s0) / n_sub
                xy = ring_geometry.point_at_position(ring, sk)
                filled.append((sk, rp.at(math.atan2(xy[1] - ring.centre_xy_mm[1], xy[0] - ring.centre_xy_mm[0]))))
    filled.append(along[-1])
    centre = plan.add_point((*ring.centre_xy_mm, ring.level_mm))
    for (s0, p0), (s1, p1) in zip(filled, filled[1:]):
        if arc_lo - 1e-9 <= s0 and s1 <= arc_hi + 1e-9:
            plan.arcs.append((p0, centre, p1, tag, max(1, math.ceil((s1 - s0) / h - 1e-9))))
        else:
            plan.add_line(p0, p1, tag, h)


def _place_moving_side(plan: NetworkPlan, s: Scenario, pose) -> None:
    """Move every point on the moving ring's side of the gap by the hexapod's pose."""
    from sim.hexapod import hexapod_geometry, initial_frame_pose

    geom = hexapod_geometry(s)
    pose = initial_frame_pose(s, geom) if pose is None else pose
    z_split = s.gap.level_mm if s.has_bone else 0.5 * (s.ring(s.hexapod.reference_ring).level_mm
                                                        + s.ring(s.hexapod.moving_ring).level_mm)
    pts = np.asarray(plan.points)
    moving = (pts[:, 2] - z_split) * geom.moving_side > 0
    pts[moving] = pose.apply(pts[moving])
    plan.points = [tuple(float(c) for c in p) for p in pts]
    def turn(v):
        return tuple(float(c) for c in pose.rotation @ np.asarray(v, float))

    # the ring each part hangs from: its side of the gap decides whether it moves
    ring_of = {r.name: r.name for r in s.rings}
    ring_of.update({w.name: w.ring for w in s.wires})
    ring_of.update({p.name: p.ring for p in s.half_pins})
    ring_of.update({c.name: c.ring for c in s.pin_clamps})
    ring_of.update({p.name: p.ring for p in s.plates})
    ring_of.update({rod.name: s.rod_rings(rod)[0].name for rod in s.rods})
    for k, part in enumerate(plan.parts):  # the moving rings' planes and the parts' axes turn with them
        ring = ring_of.get(part.source)
        if ring is None or (s.ring(ring).level_mm - z_split) * geom.moving_side <= 0:
            continue
        if part.tag in plan.section_normals:
            plan.section_normals[part.tag] = turn(plan.section_normals[part.tag])
        if part.release_axis_xyz is not None:
            part = plan.parts[k] = dataclasses.replace(part, release_axis_xyz=turn(part.release_axis_xyz))
        if part.axis_xyz is not None:
            plan.parts[k] = dataclasses.replace(part, axis_xyz=turn(part.axis_xyz))


@dataclass
class FrameMesh:
    """A dolfinx line mesh of a frame with its tags and the plan it came from."""

    mesh: object  # dolfinx.mesh.Mesh
    cell_tags: object  # dolfinx.mesh.MeshTags
    facet_tags: object  # dolfinx.mesh.MeshTags (marked points)
    plan: NetworkPlan

    @property
    def parts(self) -> list[Part]:
        return self.plan.parts


def build_gmsh_model(plan: NetworkPlan, gmsh) -> None:
    """Create and mesh the plan in the current gmsh model (geo kernel, transfinite lines)."""
    geo = gmsh.model.geo
    used = set()
    for p0, p1, _, _ in plan.lines:
        used.update((p0, p1))
    for p0, c, p1, _, _ in plan.arcs:
        used.update((p0, c, p1))
    for idx in used:
        geo.addPoint(*plan.points[idx], tag=idx + 1)
    curves_by_tag: dict[int, list[int]] = {}
    for p0, p1, tag, n in plan.lines:
        c = geo.addLine(p0 + 1, p1 + 1)
        geo.mesh.setTransfiniteCurve(c, n + 1)
        curves_by_tag.setdefault(tag, []).append(c)
    for p0, centre, p1, tag, n in plan.arcs:
        c = geo.addCircleArc(p0 + 1, centre + 1, p1 + 1)
        geo.mesh.setTransfiniteCurve(c, n + 1)
        curves_by_tag.setdefault(tag, []).append(c)
    geo.synchronize()
    for part in plan.parts:
        if part.tag in curves_by_tag:
            gmsh.model.addPhysicalGroup(1, curves_by_tag[part.tag], tag=part.tag, name=part.name)
    for marker, idx in plan.markers.items():
        gmsh.model.addPhysicalGroup(0, [idx + 1], tag=int(marker), name=marker.name.lower())
    if plan.ring_mounts:
        gmsh.model.addPhysicalGroup(0, [i + 1 for i in plan.ring_mounts], tag=int(Marker.RING_MOUNTS),
                                    name="ring_mounts")
    gmsh.model.mesh.generate(1)


def build_frame(s: Scenario, comm=None, pose=None) -> FrameMesh:
    """Build the frame model's line mesh of a scenario, distributed over `comm` (a hexapod's
    moving side at `pose`, default its initial pose)."""
    return mesh_plan(plan_network(s, pose), comm, name=f"frame-{s.name}")


def mesh_plan(plan: NetworkPlan, comm=None, name: str = "frame") -> FrameMesh:
    """Mesh a line-network plan with gmsh on rank 0 and distribute it over `comm`."""
    from mpi4py import MPI

    import dolfinx.mesh
    from dolfinx.io import gmsh as gmshio

    from meshes.gmsh_session import gmsh_model

    comm = MPI.COMM_WORLD if comm is None else comm
    with gmsh_model(comm, name) as gmsh:
        if comm.rank == 0:
            build_gmsh_model(plan, gmsh)
        # ghosting across shared facets (vertices) lets loads act at interior points in parallel
        # a line network branches: up to MAX_BRANCHES cells meet at a node
        partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, MAX_BRANCHES)
        data = gmshio.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=3,
                                    partitioner=partitioner, max_facet_to_cell_links=MAX_BRANCHES)
    return FrameMesh(data.mesh, data.cell_tags, data.facet_tags, plan)
