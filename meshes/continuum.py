"""Solid (3D) builders for the continuum model, with the gmsh OpenCASCADE kernel.

Foundation of issue 3: the verification solids (a quarter thick-walled tube for Lamé's
solution, a single wire between two clamps). Each builder makes the geometry on rank 0,
meshes it with tetrahedra of the requested size, tags the facets the solver needs, and
distributes the mesh with dolfinx. Lengths in mm.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    import sim.fenicsx  # noqa: F401
    import gmsh

    comm = MPI.COMM_WORLD if comm is None else comm
    started = False
    error = None
    if comm.rank == 0:
        if not gmsh.isInitialized():
            gmsh.initialize(interruptible=False)
            started = True
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add(name)
        try:
            build(gmsh)
        except Exception as exc:  # noqa: BLE001 - OpenCASCADE raises plain Exceptions
            error = GeometryError(f"{name}: OpenCASCADE could not build or mesh the geometry: {exc}")
    error = comm.bcast(error, root=0)
    try:
        if error is not None:
            raise error
        return _to_dolfinx(gmsh, comm, name)
    finally:
        if comm.rank == 0:
            gmsh.model.remove()
            if started:
                gmsh.finalize()


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
