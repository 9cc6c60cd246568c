"""Solid (3D) builders for the continuum model, with the gmsh OpenCASCADE kernel.

The whole frame and bone as one conforming solid (build_frame_solid), and the
verification solids (a quarter thick-walled tube for Lamé's solution, a single wire
between two clamps). Each builder makes the geometry on rank 0,
meshes it with tetrahedra of the requested size, tags the facets the solver needs, and
distributes the mesh with dolfinx. Lengths in mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.ring_geometry import centreline_point, line_meets_centreline

QUARTER_INNER, QUARTER_OUTER, QUARTER_SYM_X, QUARTER_SYM_Y, QUARTER_ENDS = 1, 2, 3, 4, 5
WIRE_ENDS = 1
BODY = 1


@dataclass
class SolidMesh:
    mesh: object
    cell_tags: object
    facet_tags: object


class GeometryError(RuntimeError):
    """OpenCASCADE could not build or mesh the geometry; the message says which part."""


def _to_dolfinx(gmsh, comm, name: str) -> SolidMesh:
    from dolfinx.io import gmsh as gmshio

    data = gmshio.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=3)
    return SolidMesh(data.mesh, data.cell_tags, data.facet_tags)


def _run(comm, name: str, build) -> SolidMesh:
    from mpi4py import MPI

    from meshes.gmsh_session import gmsh_model

    comm = MPI.COMM_WORLD if comm is None else comm
    with gmsh_model(comm, name) as gmsh:
        error = None
        if comm.rank == 0:
            try:
                build(gmsh)
            except Exception as exc:  # noqa: BLE001 - OpenCASCADE raises plain Exceptions
                error = GeometryError(f"{name}: OpenCASCADE could not build or mesh the geometry: {exc}")
        error = comm.bcast(error, root=0)
        if error is not None:
            raise error
        return _to_dolfinx(gmsh, comm, name)


def quarter_tube(inner_radius_mm: float, outer_radius_mm: float, length_mm: float, size_mm: float,
                 comm=None, order: int = 1) -> SolidMesh:
    """A quarter of a thick-walled tube (x >= 0, y >= 0, 0 <= z <= length) with tagged
    inner, outer, symmetry (x = 0, y = 0) and end faces."""

    def build(gmsh):
        occ = gmsh.model.occ
        outer = occ.addCylinder(0, 0, 0, 0, 0, length_mm, outer_radius_mm)
        inner = occ.addCylinder(0, 0, 0, 0, 0, length_mm, inner_radius_mm)
        tube, _ = occ.cut([(3, outer)], [(3, inner)])
        box = occ.addBox(0, 0, 0, 2 * outer_radius_mm, 2 * outer_radius_mm, length_mm)
        quarter, _ = occ.intersect(tube, [(3, box)])
        occ.synchronize()
        vol = [t for d, t in quarter if d == 3]
        gmsh.model.addPhysicalGroup(3, vol, BODY)
        groups = {QUARTER_INNER: [], QUARTER_OUTER: [], QUARTER_SYM_X: [], QUARTER_SYM_Y: [], QUARTER_ENDS: []}
        for d, s in gmsh.model.getBoundary([(3, v) for v in vol], oriented=False):
            x, y, z = gmsh.model.occ.getCenterOfMass(2, s)
            r = (x * x + y * y) ** 0.5
            if abs(x) < 1e-6 * outer_radius_mm:
                groups[QUARTER_SYM_X].append(s)
            elif abs(y) < 1e-6 * outer_radius_mm:
                groups[QUARTER_SYM_Y].append(s)
            elif abs(z) < 1e-9 or abs(z - length_mm) < 1e-9:
                groups[QUARTER_ENDS].append(s)
            elif r < 0.5 * (inner_radius_mm + outer_radius_mm):
                groups[QUARTER_INNER].append(s)
            else:
                groups[QUARTER_OUTER].append(s)
        for tag, surfs in groups.items():
            gmsh.model.addPhysicalGroup(2, surfs, tag)
        gmsh.option.setNumber("Mesh.CharacteristicLengthMax", size_mm)
        gmsh.option.setNumber("Mesh.CharacteristicLengthMin", 0.5 * size_mm)
        gmsh.model.mesh.generate(3)
        if order > 1:
            gmsh.model.mesh.setOrder(order)

    return _run(comm, "quarter-tube", build)


def wire_solid(diameter_mm: float, span_mm: float, size_mm: float, comm=None, order: int = 2) -> SolidMesh:
    """A wire along x from 0 to span_mm, its two end faces tagged WIRE_ENDS (the clamps);
    order 2 (default) curves the tetrahedra onto the cylinder."""

    def build(gmsh):
        occ = gmsh.model.occ
        cyl = occ.addCylinder(0, 0, 0, span_mm, 0, 0, 0.5 * diameter_mm)
        occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [cyl], BODY)
        ends = []
        for d, s in gmsh.model.getBoundary([(3, cyl)], oriented=False):
            x, _, _ = gmsh.model.occ.getCenterOfMass(2, s)
            if abs(x) < 1e-9 or abs(x - span_mm) < 1e-9:
                ends.append(s)
        gmsh.model.addPhysicalGroup(2, ends, WIRE_ENDS)
        gmsh.option.setNumber("Mesh.CharacteristicLengthMax", size_mm)
        gmsh.option.setNumber("Mesh.CharacteristicLengthMin", 0.5 * size_mm)
        gmsh.model.mesh.generate(3)
        if order > 1:  # curved tetrahedra: the section's area and inertia are those of the circle
            gmsh.model.mesh.setOrder(order)

    return _run(comm, "wire", build)


# ----------------------------------------------------------------------------- whole frames
# who owns a volume shared by parts (first wins): a wire or pin bonded through the cortex
PRIORITY = ("wire", "half_pin", "clamp", "post", "rod", "plate", "ring", "regenerate", "gap", "bone", "cancellous")
from sim.geometry import WIRE_CLEARANCE_MM  # noqa: E402,F401  (the wire's lift off a ring face, both models)
BONE_DISTAL_END, BONE_PROXIMAL_END, GAP_DISTAL_FACE, GAP_PROXIMAL_FACE = 1, 2, 3, 4


@dataclass
class WireLine:
    """A wire's axis in the solid: from `start_mm` along the unit `direction` over
    `length_mm` (clamp to clamp); the bone's axis is closest at `bone_centre_mm` along it,
    and the wire is inside the cortex within `bone_half_chord_mm` of that; the clamp posts
    have radius `clamp_radius_mm` (see clamp_radius_mm)."""

    start_mm: tuple[float, float, float]
    direction: tuple[float, float, float]
    length_mm: float
    bone_centre_mm: float
    bone_half_chord_mm: float
    clamp_radius_mm: float
    diameter_mm: float


def _wire_line(s, w) -> WireLine:
    """A wire's axis in the solid: sim.geometry.wire_path's (the frame model's line network
    takes its wire points from the same function)."""
    from sim.geometry import wire_path

    ring = s.ring(w.ring)
    path = wire_path(s, w)
    centre = path.along_mm(path.crossing_mm)
    half = 0.0
    if path.cortex_mm is not None:
        half = 0.5 * float(np.linalg.norm(path.cortex_mm[1] - path.cortex_mm[0]))
    return WireLine(tuple(float(v) for v in path.start_mm), tuple(float(v) for v in path.direction),
                    path.length_mm, centre, half, clamp_radius_mm(w, ring), w.diameter_mm)


def _profile_between(s, z0: float, z1: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bone's profile stations from z0 to z1 (both included): z, outer and canal radius (mm)."""
    prof = s.bone_profile()
    z = np.asarray(prof.z_mm)
    z = np.concatenate([[z0], z[(z > z0 + 1e-6) & (z < z1 - 1e-6)], [z1]])
    radii = np.array([s.bone_radii_mm(float(zz)) for zz in z])
    return z, radii[:, 0], radii[:, 1]


def _revolve(occ, rz: list[tuple[float, float]]) -> int:
    """The solid (OpenCASCADE volume tag) of a closed polygon in the xz half-plane
    (x >= 0: (radius, z) points) revolved about the z axis."""
    pts = [occ.addPoint(r, 0.0, z) for r, z in rz]
    lines = [occ.addLine(pts[i], pts[(i + 1) % len(pts)]) for i in range(len(pts))]
    face = occ.addPlaneSurface([occ.addCurveLoop(lines)])
    out = occ.revolve([(2, face)], 0, 0, 0, 0, 0, 1, 2 * math.pi)
    return next(t for d, t in out if d == 3)


def _bone_piece(occ, s, z0: float, z1: float) -> int:
    """The bone's cortex from z0 to z1 (mm): its outer surface minus the canal, the profile
    (Scenario.bone_radii_mm, linear between its stations) revolved about z."""
    z, ro, ri = _profile_between(s, z0, z1)
    rz = [(float(r), float(zz)) for r, zz in zip(ro, z)]
    rz += [(float(max(r, 0.0)), float(zz)) for r, zz in zip(ri[::-1], z[::-1])]
    if ri.max() <= 0:  # a solid bone: its axis closes the polygon
        rz = [(0.0, float(z[0]))] + rz[:len(z)] + [(0.0, float(z[-1]))]
    return _revolve(occ, rz)


def _cancellous_cores(occ, s, z0: float, z1: float) -> list[int]:
    """The canal's volumes filled with cancellous bone between z0 and z1 (the metaphyses of
    a template: sim.bones.BoneProfile.cancellous_at), revolved like the cortex."""
    prof = s.bone_profile()
    out = []
    for a, b in ((z0, min(z1, prof.cancellous_below_mm)), (max(z0, prof.cancellous_above_mm), z1)):
        if b - a <= 1e-6:
            continue
        z, _, ri = _profile_between(s, a, b)
        if ri.max() <= 0:
            continue
        rz = [(0.0, float(z[0]))] + [(float(r), float(zz)) for r, zz in zip(ri, z)] + [(0.0, float(z[-1]))]
        out.append(_revolve(occ, rz))
    return out


BONE_CORTEX, BONE_CANCELLOUS = 1, 2


def bone_solid(s, size_mm: float = 4.0, comm=None) -> SolidMesh:
    """The bone of scenario `s` alone, whole (no gap), as the frame-solid builder makes it
    (`_bone_piece`, `_cancellous_cores`: the profile revolved): cell tags BONE_CORTEX and
    BONE_CANCELLOUS; linear tetrahedra of `size_mm`. A check of the solid's sections
    against Scenario.bone_radii_mm, and the bone's picture."""

    def build(gmsh):
        occ = gmsh.model.occ
        length = s.bone.length_mm
        cortex = _bone_piece(occ, s, 0.0, length)
        cores = _cancellous_cores(occ, s, 0.0, length)
        pieces = [(3, cortex)] + [(3, c) for c in cores]
        _, mapping = occ.fragment(pieces, [])
        occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [t for d, t in mapping[0] if d == 3], BONE_CORTEX, name="cortex")
        spongy = [t for m in mapping[1:] for d, t in m if d == 3]
        if spongy:
            gmsh.model.addPhysicalGroup(3, spongy, BONE_CANCELLOUS, name="cancellous")
        gmsh.option.setNumber("Mesh.CharacteristicLengthMax", size_mm)
        gmsh.option.setNumber("Mesh.CharacteristicLengthMin", 0.25 * size_mm)
        gmsh.model.mesh.generate(3)

    return _run(comm, f"bone-{s.name}", build)


def clamp_radius_mm(wire, ring) -> float:
    """The radius of a wire's clamp posts in the solid (mm): twice the wire's diameter and
    at least 4 mm, but no wider than the ring less RING_EDGE_MM of ring either side (a post
    flush with the ring's edges cannot be meshed; sim.scenario refuses a ring too narrow
    to keep RING_EDGE_MM round the wire as well)."""
    from sim.scenario import RING_EDGE_MM

    return min(max(2.0 * wire.diameter_mm, 4.0), 0.5 * ring.width_mm - RING_EDGE_MM)


def rod_axis_points(s, rod) -> list[tuple[float, float, float]]:
    """Where a rod meets each ring it joins (mm), from its lowest ring to its highest: the
    point at `rod.angle_deg` on the ring's centroid circle, at the ring's mid-plane.

    The frame model's line network puts its rod nodes on the same points
    (meshes.frame_network: the ring's centroid circle at the rod's angle), so the two
    models place a rod alike; between rings of different sizes or centres the points
    differ in plan view and the rod is inclined, meeting every ring it joins.
    """
    return [(*centreline_point(r, rod.angle_deg), r.level_mm) for r in s.rod_rings(rod)]


def _rod_solid(occ, s, rod) -> int:
    """The rod as one OpenCASCADE volume (its tag): straight between the points of
    `rod_axis_points`, through the whole thickness of every ring it joins, its end faces
    flush with the outer rings' outer faces (as a vertical rod's are). A rod whose points
    lie on one vertical line is one vertical cylinder; otherwise each span between two
    rings is a cylinder along the line joining their points, cut to the slab from the lower
    ring's bottom face to the upper ring's top face, and the spans are fused."""
    rings = s.rod_rings(rod)
    pts = [np.asarray(p, float) for p in rod_axis_points(s, rod)]
    radius = rod.diameter_mm / 2
    z_lo = rings[0].level_mm - rings[0].thickness_mm / 2
    z_hi = rings[-1].level_mm + rings[-1].thickness_mm / 2
    if all(np.hypot(*(p[:2] - pts[0][:2])) < 1e-9 for p in pts):
        return occ.addCylinder(pts[0][0], pts[0][1], z_lo, 0, 0, z_hi - z_lo, radius)
    spans = []
    reach = 2.0 * max(float(np.abs(p).max()) for p in pts) + z_hi - z_lo  # the slab holds the whole rod
    for (r0, p0), (r1, p1) in zip(zip(rings, pts), zip(rings[1:], pts[1:])):
        axis = p1 - p0
        za, zb = r0.level_mm - r0.thickness_mm / 2, r1.level_mm + r1.thickness_mm / 2
        # long enough to cross the slab's faces whatever its slope, then cut flush with them
        over = (max(r0.thickness_mm, r1.thickness_mm) + 2 * radius) / axis[2] + 0.1
        start = p0 - over * axis
        cyl = occ.addCylinder(*start, *((1 + 2 * over) * axis), radius)
        slab = occ.addBox(-reach, -reach, za, 2 * reach, 2 * reach, zb - za)
        cut, _ = occ.intersect([(3, cyl)], [(3, slab)])
        spans += cut
    if len(spans) == 1:
        return spans[0][1]
    fused, _ = occ.fuse(spans[:1], spans[1:])
    return fused[0][1]


def _telescopic_rod_solid(occ, s, rod) -> int:
    """A telescopic rod as one OpenCASCADE volume (its tag), along the line of its two
    rings' points (`rod_axis_points`, as the frame model's): from its lower ring, the tube
    (tube_diameter_mm) for tube_length_mm - overlap_mm, its bore (tube_inner_diameter_mm,
    default the inner rod's diameter) open from the lower ring's upper face; over
    overlap_mm the inner rod (diameter_mm) locked in the tube, a solid of the tube's
    diameter; then the inner rod alone to the upper ring, through the whole thickness of
    both rings and cut flush with their outer faces (as `_rod_solid`).

    With the bore equal to the inner rod's diameter (the default) the overlap's section is
    the frame model's tube and rod in parallel (sim.sections.concentric) exactly; with a
    wider bore the clearance is filled there (a locking sleeve, the lock nut's grip), stiffer
    than the frame model's overlap by the clearance's area, over overlap_mm only."""
    lo, hi = s.rod_rings(rod)
    p0, p1 = (np.asarray(p, float) for p in rod_axis_points(s, rod))
    span = float(np.linalg.norm(p1 - p0))
    a = (p1 - p0) / span
    tube_alone, overlap, _rod_alone = rod.telescopic_sections(span)
    R_tube = rod.tube_diameter_mm / 2
    r_bore = (rod.tube_inner_diameter_mm if rod.tube_inner_diameter_mm is not None else rod.diameter_mm) / 2
    r_rod = rod.diameter_mm / 2
    za, zb = lo.level_mm - lo.thickness_mm / 2, hi.level_mm + hi.thickness_mm / 2
    over = (max(lo.thickness_mm, hi.thickness_mm) + 2 * R_tube) / a[2] + 1.0  # beyond the rings' outer faces
    bore_from = (lo.thickness_mm / 2) / a[2]  # the lower ring's upper face, along the rod from its point
    tube_end = tube_alone + overlap
    tube = occ.addCylinder(*(p0 - over * a), *((over + tube_end) * a), R_tube)
    if r_bore > 0 and tube_alone > bore_from + 1e-6:
        bore = occ.addCylinder(*(p0 + bore_from * a), *((tube_alone - bore_from) * a), r_bore)
        cut, _ = occ.cut([(3, tube)], [(3, bore)])
        tube = cut[0][1]
    inner = occ.addCylinder(*(p0 + tube_alone * a), *((span - tube_alone + over) * a), r_rod)
    fused, _ = occ.fuse([(3, tube)], [(3, inner)])
    reach = 2.0 * max(float(np.abs(p0).max()), float(np.abs(p1).max())) + zb - za
    slab = occ.addBox(-reach, -reach, za, 2 * reach, 2 * reach, zb - za)
    cut, _ = occ.intersect(fused, [(3, slab)])
    return cut[0][1]


def _plate_solid(occ, s, plate) -> int:
    """A connection plate (OpenCASCADE volume tag): a box of its width and thickness along
    its centreline (sim.plate_geometry.plate_path), on its ring's face. Where it lies on
    the ring the two share a face and are bonded (the frame model bolts it rigidly at
    hole 1: docs/continuum.md, "Connection plates")."""
    from sim.plate_geometry import plate_path

    path = plate_path(s, plate)
    d = path.dims
    box = occ.addBox(0.0, -0.5 * d.width_mm, -0.5 * d.thickness_mm, d.length_mm, d.width_mm, d.thickness_mm)
    occ.rotate([(3, box)], 0, 0, 0, 0, 0, 1, math.atan2(path.direction[1], path.direction[0]))
    occ.translate([(3, box)], *path.start)
    return box


def plate_rod_extent(s, rod) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A rod with an end on a connection plate in the solid: its two end points (lower,
    upper; sim.scenario.rod_end_points, as the frame model's) and the levels of its end
    faces (mm): flush with the outer face of the ring or plate at each end."""
    from sim.plate_geometry import plate_dims
    from sim.scenario import rod_end_points

    on_plate = {s.plate(p).ring: plate_dims(s.plate(p)).thickness_mm for p in (rod.from_plate, rod.to_plate) if p}
    (r0, p0), (r1, p1) = rod_end_points(s, rod)
    t0 = on_plate.get(r0, s.ring(r0).thickness_mm)
    t1 = on_plate.get(r1, s.ring(r1).thickness_mm)
    return np.asarray(p0, float), np.asarray(p1, float), float(p0[2] - 0.5 * t0), float(p1[2] + 0.5 * t1)


def _plate_rod_solid(occ, s, rod) -> int:
    """A rod with an end on a plate (OpenCASCADE volume tag): straight between its ends
    (`plate_rod_extent`), through the plate's or ring's whole thickness at each end, its
    end faces flush with their outer faces: a vertical cylinder, or an inclined one cut to
    the slab between those faces."""
    p0, p1, z_lo, z_hi = plate_rod_extent(s, rod)
    radius = rod.diameter_mm / 2
    if np.hypot(*(p1[:2] - p0[:2])) < 1e-9:
        return occ.addCylinder(p0[0], p0[1], z_lo, 0, 0, z_hi - z_lo, radius)
    axis = p1 - p0
    over = (p0[2] - z_lo + z_hi - p1[2] + 2 * radius) / axis[2] + 0.1
    cyl = occ.addCylinder(*(p0 - over * axis), *((1 + 2 * over) * axis), radius)
    reach = 2.0 * float(max(np.abs(p0).max(), np.abs(p1).max())) + z_hi - z_lo
    slab = occ.addBox(-reach, -reach, z_lo, 2 * reach, 2 * reach, z_hi - z_lo)
    cut, _ = occ.intersect([(3, cyl)], [(3, slab)])
    return cut[0][1]


def _foot_plate_solid(occ, r) -> int:
    """A foot plate's solid (OpenCASCADE volume tag): the half annulus of its section round
    the heel fused with the two straight arms (boxes of the plate's width and thickness,
    arm_length_mm long) towards opening_deg: the U of sim.ring_geometry, swept by its
    section."""
    rin = r.inner_diameter_mm / 2
    cx, cy = r.centre_xy_mm
    z0 = r.level_mm - r.thickness_mm / 2
    arm = float(r.arm_length_mm)
    # built with the arms along +x, then turned to opening_deg about the plate's centre
    outer = occ.addCylinder(cx, cy, z0, 0, 0, r.thickness_mm, rin + r.width_mm, angle=math.pi)
    inner = occ.addCylinder(cx, cy, z0, 0, 0, r.thickness_mm, rin, angle=math.pi)
    half, _ = occ.cut([(3, outer)], [(3, inner)])
    occ.rotate(half, cx, cy, z0, 0, 0, 1, 0.5 * math.pi)  # the semicircle on the -x side
    left = occ.addBox(cx, cy + rin, z0, arm, r.width_mm, r.thickness_mm)
    right = occ.addBox(cx, cy - rin - r.width_mm, z0, arm, r.width_mm, r.thickness_mm)
    plate, _ = occ.fuse(half, [(3, left), (3, right)])
    occ.removeAllDuplicates()
    tag = plate[0][1]
    occ.rotate([(3, tag)], cx, cy, z0, 0, 0, 1, math.radians(r.opening_deg))
    return tag


def _oblique_pieces(occ, s, tube) -> tuple[int, int, int]:
    """An oblique fracture's three volumes (OpenCASCADE tags): the distal fragment below the
    fracture plane through the gap's lower level on the axis, the gap layer between the two
    parallel planes (Gap.plane_normal; width_mm along the axis, width_mm cos(obliquity)
    across the plane) and the proximal fragment above. Each plane is a horizontal box face
    turned by the obliquity about the horizontal line through its level on the axis."""
    g, b = s.gap, s.bone
    m = np.asarray(g.plane_normal())
    turn = np.cross([0.0, 0.0, 1.0], m)
    turn /= np.linalg.norm(turn)
    angle = math.radians(g.obliquity_deg)
    reach = b.length_mm + 2.0 * b.outer_diameter_mm
    lo, hi = g.level_mm - g.width_mm / 2, g.level_mm + g.width_mm / 2

    def half_space(z, below):
        box = occ.addBox(-reach, -reach, z - reach if below else z, 2 * reach, 2 * reach, reach)
        occ.rotate([(3, box)], 0.0, 0.0, z, *turn, angle)
        return box

    distal, _ = occ.intersect([(3, tube(0.0, b.length_mm))], [(3, half_space(lo, True))])
    proximal, _ = occ.intersect([(3, tube(0.0, b.length_mm))], [(3, half_space(hi, False))])
    layer, _ = occ.cut([(3, tube(0.0, b.length_mm))], [(3, half_space(lo, True)), (3, half_space(hi, False))])
    return distal[0][1], layer[0][1], proximal[0][1]


def _cut_butterfly(occ, s, volumes: tuple[int, ...]) -> tuple[int, ...]:
    """The bone's volumes (OpenCASCADE tags) less a butterfly fragment's prism: the sector
    arc_deg wide about side_deg, from the bone's axis out past its surface, between the
    levels gap.level_mm +- length_mm / 2 (sim.fracture_geometry). A free fragment carries
    nothing, so its region is left void; the gap layer keeps only the cortex outside the arc
    (the main fragments touch there only)."""
    from sim.fracture_geometry import butterfly_z_range_mm

    b = s.gap.butterfly
    z0, z1 = butterfly_z_range_mm(s)
    reach = 2.0 * max(s.bone_radii_mm(z0 + (z1 - z0) * k / 8)[0] for k in range(9)) + 1.0
    arc = math.radians(b.arc_deg)
    out = []
    for v in volumes:
        wedge = occ.addCylinder(0, 0, z0, 0, 0, z1 - z0, reach, angle=arc)
        occ.rotate([(3, wedge)], 0, 0, z0, 0, 0, 1, math.radians(b.side_deg) - arc / 2)
        cut, _ = occ.cut([(3, v)], [(3, wedge)])
        solids = [t for d, t in cut if d == 3]
        if len(solids) != 1:
            raise GeometryError(f"gap.butterfly: the butterfly fragment's cut leaves {len(solids)} pieces of a "
                                "bone volume; accepted: a wedge that leaves each main fragment whole")
        out.append(solids[0])
    return tuple(out)


def _ring_solid(occ, r) -> int:
    """A ring's solid (OpenCASCADE volume tag): the annulus of its rectangular section; an
    open ring (r.is_open) is the sector of it from r.arc_start_deg over r.arc_deg; a foot
    plate its U (_foot_plate_solid)."""
    import math

    if r.kind == "foot_plate":
        return _foot_plate_solid(occ, r)
    rin = r.inner_diameter_mm / 2
    cx, cy = r.centre_xy_mm
    z0 = r.level_mm - r.thickness_mm / 2
    if not r.is_open:
        outer = occ.addCylinder(cx, cy, z0, 0, 0, r.thickness_mm, rin + r.width_mm)
        inner = occ.addCylinder(cx, cy, z0, 0, 0, r.thickness_mm, rin)
    else:  # cylinder sectors open from the local x axis; turned to the arc's start
        arc = math.radians(r.arc_deg)
        outer = occ.addCylinder(cx, cy, z0, 0, 0, r.thickness_mm, rin + r.width_mm, angle=arc)
        inner = occ.addCylinder(cx, cy, z0, 0, 0, r.thickness_mm, rin, angle=arc)
    out, _ = occ.cut([(3, outer)], [(3, inner)])
    tag = out[0][1]
    if r.is_open:
        occ.rotate([(3, tag)], cx, cy, z0, 0, 0, 1, math.radians(r.arc_start_deg))
    return tag


def ring_solid_volume_mm3(r, comm=None) -> tuple[float, tuple[float, float, float]]:
    """The volume (mm^3) and centre of mass (mm) of ring r's solid as the continuum builder
    makes it (OpenCASCADE's, no mesh): a check of its geometry without meshing or solving."""
    from mpi4py import MPI

    from meshes.gmsh_session import gmsh_model

    comm = MPI.COMM_SELF if comm is None else comm
    with gmsh_model(comm, f"ring-{r.name}") as gmsh:
        occ = gmsh.model.occ
        tag = _ring_solid(occ, r)
        occ.synchronize()
        return occ.getMass(3, tag), tuple(occ.getCenterOfMass(3, tag))


def rod_solid_volume_mm3(s, rod, comm=None) -> float:
    """The volume (mm^3) of rod `rod`'s solid as the continuum builder makes it (threaded or
    telescopic; OpenCASCADE's, no mesh): a check of its geometry without meshing."""
    from mpi4py import MPI

    from meshes.gmsh_session import gmsh_model

    comm = MPI.COMM_SELF if comm is None else comm
    with gmsh_model(comm, f"rod-{rod.name}") as gmsh:
        occ = gmsh.model.occ
        tag = _telescopic_rod_solid(occ, s, rod) if rod.kind == "telescopic" else _rod_solid(occ, s, rod)
        occ.synchronize()
        return occ.getMass(3, tag)


def half_pin_pieces(occ, s) -> list[tuple[str, str, int]]:
    """The half pins of a scenario as OpenCASCADE volumes, (part name, kind, tag): each pin a
    cylinder from its clamp point to its tip along its axis, each pin's own post, each
    [[pin_clamps]] entry's post and block, all placed by sim.pin_geometry.pin_path (as
    the frame model and validate place them)."""
    from sim.pin_geometry import pin_path

    pieces: list[tuple[str, str, int]] = []
    built_posts: set[str] = set()
    for pin in s.half_pins:
        path = pin_path(s, pin)
        if pin.clamp is None and pin.name not in built_posts:
            built_posts.add(pin.name)
            pieces.append((f"{pin.name}_post", "post", _post_solid(occ, path, pin.post_diameter_mm, pin.diameter_mm)))
        elif pin.clamp is not None and pin.clamp not in built_posts:
            built_posts.add(pin.clamp)
            clamp = s.pin_clamp(pin.clamp)
            pieces.append((f"{clamp.name}_post", "post", _post_solid(occ, path, clamp.post_diameter_mm, 0.0)))
            pieces.append((clamp.name, "clamp", _clamp_block_solid(occ, s, clamp)))
        # from the clamp point along the pin to its tip (2 mm out of the far cortex, or 1 mm into the canal)
        start, tip = np.array(path.clamp_point), np.array(path.tip)
        pieces.append((pin.name, "half_pin", occ.addCylinder(*start, *(tip - start), pin.diameter_mm / 2)))
    return pieces


def _post_solid(occ, path, post_diameter_mm: float, cap_mm: float) -> int:
    """A post (OpenCASCADE volume tag): a vertical cylinder from the ring's mid-plane to
    the post's top, `cap_mm` beyond it (a pin's own post caps the pin by its diameter)."""
    x, y, z0 = path.post_base
    top = path.post_top[2] + math.copysign(cap_mm, path.post_top[2] - z0 or 1.0)
    zb, zt = sorted((z0, top))
    return occ.addCylinder(x, y, zb, 0, 0, zt - zb, post_diameter_mm / 2)


def _clamp_block_solid(occ, s, clamp) -> int:
    """A multi-pin clamp or cube (OpenCASCADE volume tag): a box block_mm across, spanning
    its holes along its row with half a block beyond the end holes, centred on the post's
    axis at hole 1 and turned to the post's angle (sim.pin_geometry.hole_point)."""
    from sim.pin_geometry import hole_point

    first = np.array(hole_point(s, clamp, 1))
    last = np.array(hole_point(s, clamp, clamp.holes))
    w = clamp.block_mm
    span = float(np.linalg.norm(last - first))
    a = math.radians(clamp.angle_deg)
    if clamp.row == "axial":
        z0 = min(first[2], last[2]) - 0.5 * w
        box = occ.addBox(-0.5 * w, -0.5 * w, z0, w, w, span + w)
    else:  # along the ring's tangent: the box's local y, before it is turned to the post's angle
        box = occ.addBox(-0.5 * w, -0.5 * w, first[2] - 0.5 * w, w, span + w, w)
    occ.rotate([(3, box)], 0, 0, 0, 0, 0, 1, a)
    occ.translate([(3, box)], first[0], first[1], 0.0)
    return box


def wire_element_size_mm(s, requested_mm: float | None = None) -> float:
    """The element size near wires and half pins (mm): `requested_mm`, or if that is 0 or
    None half the thinnest wire or pin diameter (two elements across)."""
    return requested_mm or 0.5 * min([w.diameter_mm for w in s.wires] + [p.diameter_mm for p in s.half_pins])


def continuum_refusal(s) -> GeometryError | None:
    """Why the continuum builder does not build scenario `s` (a GeometryError naming the
    field, raised by build_frame_solid before any meshing), or None if it does. These are
    the model's limits, not bad input: the frame model runs such scenarios."""
    if s.loads.setup != "bone_bench":
        return GeometryError(f"loads.setup: the continuum model runs the bone bench (the bone held at its distal end); "
                             f"{s.loads.setup!r} is not built; accepted: setup = \"bone_bench\" (use --model frame "
                             "for the other set-ups)")
    hollow = [p.name for p in (*s.rods, *s.half_pins) if p.inner_diameter_mm > 0]
    if hollow:
        return GeometryError(f"rods/half_pins: the continuum builder makes solid rods and pins; {', '.join(hollow)} "
                             "is hollow (inner_diameter_mm > 0); accepted: solid parts (use --model frame for tube "
                             "connectors and cannulated pins)")
    if s.gap.friction_coefficient > 0:
        return GeometryError(f"gap.friction_coefficient: the continuum model's gap contact is frictionless; "
                             f"{s.gap.friction_coefficient:g} is not built; accepted: 0 (use --model frame for "
                             "friction between the fragments)")
    if s.hinges:
        return GeometryError(f"hinges: the continuum builder does not build hinges (a revolute joint in a bonded "
                             f"solid); {', '.join(h.name for h in s.hinges)} is one; accepted: a frame without "
                             "[[hinges]] (use --model frame for hinged frames)")
    if s.loads.axial.offset_mm != (0.0, 0.0):
        return GeometryError("loads.axial.offset_mm: the continuum model loads the bone's end centred; accepted: "
                             "offset_mm = [0, 0] (use --model frame for eccentric compression)")
    if s.hexapod is not None:
        return GeometryError("hexapod: the continuum builder does not build hexapod struts; accepted: a frame of "
                             "rings, wires, rods and half pins (use --model frame for hexapods)")
    if s.defect is not None:
        return GeometryError("defect: the continuum builder does not build a bone defect; accepted: a bone with "
                             "one gap (use --model frame for bone transport)")
    for i, w in enumerate(s.wires):
        if w.olive and w.olive_side is not None and w.tensioned_from not in ("both_ends", w.olive_side):
            return GeometryError(f"wires[{i}].tensioned_from: the continuum model bonds every wire to the bone at both "
                                 f"cortices and pretensions it from clamp to clamp, so it cannot leave the span on the "
                                 f"olive's side of olive wire {w.name!r} unpretensioned (pulled from "
                                 f"{w.tensioned_from!r}, its olive on the {w.olive_side!r} side); accepted: "
                                 "tensioned_from = \"both_ends\" (use --model frame for olive wires pulled from one "
                                 "end)")
    return None


def build_frame_solid(s, comm=None, size_mm: float = 12.0, wire_size_mm: float | None = None,
                      order: int = 1) -> SolidMesh:
    """A conforming tetrahedral mesh of a scenario's bone and frame: rings with their
    section, wires through the bone held by clamp posts on the rings, rods (through the
    frame model's points, `rod_axis_points`: inclined between rings of different sizes or
    centres), half pins on their posts, and in the gap the regenerate or (an empty gap) a
    contact layer. Refuses (GeometryError, before any meshing) what the continuum model
    does not build: `continuum_refusal`.

    Every part is one physical volume group (`solid.parts`: name -> (kind, tag)); facet
    tags: the bone's distal and proximal end faces (1, 2) and the gap's distal and
    proximal faces (3, 4). Where a wire or pin passes through the bone it owns the
    shared volume (bonded). Sizes: `wire_size_mm` (default half the thinnest wire's
    diameter: two elements across; `solid.wire_size_mm`) near the wires, `size_mm`
    elsewhere. `solid.wires`: each wire's axis (WireLine).
    """
    import math

    import numpy as np

    refusal = continuum_refusal(s)
    if refusal is not None:
        raise refusal
    d_min = min([w.diameter_mm for w in s.wires] + [p.diameter_mm for p in s.half_pins])
    hw = wire_element_size_mm(s, wire_size_mm)
    parts: dict[str, tuple[str, int]] = {}
    wires = {w.name: _wire_line(s, w) for w in s.wires}

    def build(gmsh):
        occ = gmsh.model.occ
        pieces: list[tuple[str, str, int]] = []  # (part name, kind, occ volume tag)
        b = s.bone
        uniform = b.template is None and b.surface is None
        ro, ri = s.bone_radii_mm(0.5 * b.length_mm)

        def tube(z0, z1):
            if not uniform:  # the profile revolved (the same radii as the frame model's)
                return _bone_piece(occ, s, z0, z1)
            outer = occ.addCylinder(0, 0, z0, 0, 0, z1 - z0, ro)
            if ri > 0:
                inner = occ.addCylinder(0, 0, z0, 0, 0, z1 - z0, ri)
                out, _ = occ.cut([(3, outer)], [(3, inner)])
                return out[0][1]
            return outer

        g = s.gap
        lo, hi = g.level_mm - g.width_mm / 2, g.level_mm + g.width_mm / 2
        if g.obliquity_deg:
            distal, gap_layer, proximal = _oblique_pieces(occ, s, tube)
        else:
            distal, gap_layer, proximal = tube(0.0, lo), tube(lo, hi), tube(hi, b.length_mm)
        if g.butterfly is not None:  # a free wedge's region is void (sim.fracture_geometry)
            distal, gap_layer, proximal = _cut_butterfly(occ, s, (distal, gap_layer, proximal))
        if s.hindfoot is not None:  # the hindfoot's solid block under the tibia's tube (sim.scenario.Hindfoot)
            block = occ.addCylinder(0, 0, 0, 0, 0, s.hindfoot.height_mm, 0.5 * s.hindfoot.width_mm)
            fused, _ = occ.fuse([(3, distal)], [(3, block)])
            occ.removeAllDuplicates()
            distal = fused[0][1]
        pieces.append(("bone_distal", "bone", distal))
        pieces.append(("bone_proximal", "bone", proximal))
        if g.regenerate is not None:
            pieces.append(("regenerate", "regenerate", gap_layer))
        else:
            pieces.append(("gap_contact", "gap", gap_layer))
        if not uniform:  # a metaphysis's canal filled with cancellous bone
            for name, z0, z1 in (("bone_distal", 0.0, lo), ("bone_proximal", hi, b.length_mm)):
                for k, core in enumerate(_cancellous_cores(occ, s, z0, z1)):
                    pieces.append((f"{name}_cancellous{k + 1}", "cancellous", core))
        from sim.geometry import wire_plate_ends
        from sim.plate_geometry import plate_path

        for r in s.rings:
            pieces.append((r.name, "ring", _ring_solid(occ, r)))
        for w in s.wires:
            ring = s.ring(w.ring)
            line = wires[w.name]
            p0, direction = np.array(line.start_mm), np.array(line.direction)
            wire = occ.addCylinder(*p0, *(line.length_mm * direction), w.diameter_mm / 2)
            pieces.append((w.name, "wire", wire))
            # each clamp: a post from the ring's mid-plane to the wire's axis at that end (on the face, a
            # short one; on posts or inclined, as tall as the wire is high there: sim.geometry.wire_path)
            on_plates = wire_plate_ends(w)
            for k, e in enumerate((p0, p0 + line.length_mm * direction)):
                base = ring.level_mm if on_plates[k] is None else plate_path(s, s.plate(on_plates[k][0])).level_mm
                post_z0, post_z1 = sorted((base, float(e[2])))
                post = occ.addCylinder(e[0], e[1], post_z0, 0, 0, post_z1 - post_z0, line.clamp_radius_mm)
                pieces.append((f"{w.name}_clamp{k + 1}", "clamp", post))
        pieces += half_pin_pieces(occ, s)
        for plate in s.plates:  # connection plates on their rings' faces (sim.plate_geometry)
            pieces.append((plate.name, "plate", _plate_solid(occ, s, plate)))
        for rod in s.rods:  # where the frame model puts it: rod_axis_points
            if rod.from_plate is not None or rod.to_plate is not None:
                pieces.append((rod.name, "rod", _plate_rod_solid(occ, s, rod)))
                continue
            solid = _telescopic_rod_solid(occ, s, rod) if rod.kind == "telescopic" else _rod_solid(occ, s, rod)
            pieces.append((rod.name, "rod", solid))
        tags = [(3, t) for _, _, t in pieces]
        _, mapping = occ.fragment(tags, [])
        occ.synchronize()
        owner: dict[int, tuple[str, str]] = {}
        for (name, kind, _), children in zip(pieces, mapping):
            for dim, t in children:
                if dim != 3:
                    continue
                if t not in owner or PRIORITY.index(kind) < PRIORITY.index(owner[t][1]):
                    owner[t] = (name, kind)
        by_part: dict[str, list[int]] = {}
        for t, (name, kind) in owner.items():
            by_part.setdefault(name, []).append(t)
        kinds = {name: kind for name, kind, _ in pieces}
        missing = [name for name in kinds if name not in by_part]
        if missing:
            raise RuntimeError(f"{', '.join(missing)}: swallowed by other parts (no volume of their own)")
        for k, (name, vols) in enumerate(sorted(by_part.items()), start=1):
            gmsh.model.addPhysicalGroup(3, vols, k, name=name)
            parts[name] = (kinds[name], k)
        # the bone's end faces and the gap's faces
        faces = {BONE_DISTAL_END: [], BONE_PROXIMAL_END: [], GAP_DISTAL_FACE: [], GAP_PROXIMAL_FACE: []}
        for dim, sface in gmsh.model.getEntities(2):
            x, y, zc = occ.getCenterOfMass(2, sface)
            if math.hypot(x, y) < s.bone_radii_mm(zc)[0] + 1e-6:
                for level, tag in ((0.0, BONE_DISTAL_END), (b.length_mm, BONE_PROXIMAL_END), (lo, GAP_DISTAL_FACE),
                                   (hi, GAP_PROXIMAL_FACE)):
                    if abs(zc - level) < 1e-6:
                        faces[tag].append(sface)
        names = {BONE_DISTAL_END: "bone_distal_end", BONE_PROXIMAL_END: "bone_proximal_end",
                 GAP_DISTAL_FACE: "gap_distal_face", GAP_PROXIMAL_FACE: "gap_proximal_face"}
        for tag, fs in faces.items():
            gmsh.model.addPhysicalGroup(2, fs, tag, name=names[tag])
        # sizes: fine near the wires and pins, coarse elsewhere
        fine_surfaces = []
        for name, vols in by_part.items():
            if kinds[name] in ("wire", "half_pin"):
                for dim, sf in gmsh.model.getBoundary([(3, v) for v in vols], oriented=False):
                    fine_surfaces.append(abs(sf))
        f_dist = gmsh.model.mesh.field.add("Distance")
        gmsh.model.mesh.field.setNumbers(f_dist, "SurfacesList", fine_surfaces)
        f_th = gmsh.model.mesh.field.add("Threshold")
        gmsh.model.mesh.field.setNumber(f_th, "InField", f_dist)
        gmsh.model.mesh.field.setNumber(f_th, "SizeMin", hw)
        gmsh.model.mesh.field.setNumber(f_th, "SizeMax", size_mm)
        gmsh.model.mesh.field.setNumber(f_th, "DistMin", 0.5 * d_min)
        gmsh.model.mesh.field.setNumber(f_th, "DistMax", size_mm)  # grows from wire_size to size within size_mm
        gmsh.model.mesh.field.setAsBackgroundMesh(f_th)
        gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 8)  # rods and posts: 8 elements round
        gmsh.option.setNumber("Mesh.Algorithm3D", 1)  # Delaunay
        try:
            gmsh.model.mesh.generate(3)
        except Exception as exc:  # noqa: BLE001
            import re

            where = []
            for num in re.findall(r"surface (\d+)", str(exc))[:1]:
                sf = int(num)
                vols = [name for name, v in by_part.items() for vv in v
                        if any(abs(t) == sf for _, t in gmsh.model.getBoundary([(3, vv)], oriented=False))]
                x, y, zc = occ.getCenterOfMass(2, sf)
                where.append(f"surface {sf} at ({x:.1f}, {y:.1f}, {zc:.1f}) mm, on {', '.join(vols) or '?'}")
            raise RuntimeError(f"{exc} ({'; '.join(where)}); try another continuum.element_size_mm or "
                               "continuum.wire_element_size_mm") from None
        if order > 1:
            gmsh.model.mesh.setOrder(order)

    solid = _run(comm, f"frame-solid-{s.name}", build)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    solid.parts = comm.bcast(parts, root=0)
    solid.wires = wires
    solid.wire_size_mm = hw
    return solid
