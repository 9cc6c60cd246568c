"""The frame model: geometrically exact 3D beams on a line network, with links and contact.

Unknowns at every node: displacement u (mm) and rotation parameters theta (the Cayley
vector, equal to the rotation vector for small angles; see sim.elements.kinematics), P1
on each line cell. The model composes element kinds, each with its own energy, its own
per-cell parameters and its own cells (sim.elements):

- beams (bone, regenerate, rings, wires, rods, half pins, posts, struts): Reissner-
  Timoshenko beams with the exact stretch |t + u'| as axial strain, so a wire carries its
  tension into the transverse direction and stiffens as it deflects (the string solution
  of physics.md is exact for it), and exact finite rotations for shear and curvature;
- links (wire to bone, wire clamps, half pin to bone): stiff, exact under any rigid
  rotation; a smooth wire's link leaves sliding along and spinning about the wire free;
- contact across an empty gap (and a docking site, and a tissue-filled gap squeezed
  thin): frictionless, over the fragment ends' cortical section.

A member may also have a natural length lambda0 times its meshed length (a threaded rod
lengthened by turning its nuts, a regenerate that has grown in a widening gap): its
strains are then per natural length and its energy is lambda0 times the density, so a
120 mm rod meshed on an 80 mm segment is as compliant as a 120 mm rod.

Pretension is an initial strain eps0 in each wire, found so that the wires reach their
targets as they are clamped (see `SolverSettings.tensioning`); the pretensioned state is
the reference from which every response of a load case is measured. Newton with load
stepping (automatic step cutting) and a direct LU solver. Where a contact first closes
during a load case, the load is found exactly (to 1e-7 of the step) and recorded as a
step of its own; initial and final tangent stiffnesses come from the tangent matrix, not
from load steps, so no reported number depends on how many steps were asked for.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

import sim.fenicsx  # noqa: F401  (must precede dolfinx)
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from meshes.frame_network import FrameMesh
from meshes.tags import Marker, PartKind
from sim import frame_forms
from sim.elements import beam, contact, joint, link, plastic_beam
from sim.elements.beam import EA, EI1, EI2, EPS0, GA1, GA2, GJ, LAMBDA0  # noqa: F401 (the timeline sets them)
from sim.elements.kinematics import cayley_vector, rotation_matrix, rotation_vector
from sim.frame_forms import compiled_frame_forms
from sim.interfaces import connection_law, joint_columns
from sim.materials import Material, material, regenerate_material
from sim.scenario import Scenario
from sim.sections import BeamProperties, Section, beam_properties, circle, concentric, rectangle, tube, von_mises_MPa
from sim.units import NMM_PER_NM

# a soft-tissue-filled gap cannot be squeezed to nothing: the fragment ends touch when it
# is down to this fraction of its meshed length (and the tissue cell never inverts)
REGENERATE_MIN_LENGTH_FRACTION = 0.1
CONTACT_KINDS = (PartKind.GAP_CONTACT, PartKind.REGENERATE)
EVENT_TOLERANCE = 1e-7  # contact events are located to this fraction of a load step (and of the gap)
YIELD_EVENT_TOLERANCE = 1e-4  # the first yield is located where the highest stress is this close to its yield
# the pretension's load factor is the fraction of the wires' tensioning strain (_ramp_initial_strains)
PRETENSION_CONTEXT = "pretension (load factor: the fraction of the wires' tensioning strain)"
MAX_ROTATION_INCREMENT_RAD = 0.05  # Newton updates are scaled down to turn no node by more than this
# a solution is outside the model's range (a frame that is barely held) when the loaded end
# turns more than this, relative to the pretensioned state ...
MAX_ROTATION_DEG = 10.0
# ... and refused when a point moves further than this fraction of the frame's size
MAX_DISPLACEMENT_FRACTION = 0.25

STRESS_GROUPS = {
    PartKind.BONE: "bone",
    PartKind.WIRE: "wires",
    PartKind.RING: "rings",
    PartKind.ROD: "rods",
    PartKind.HALF_PIN: "half_pins",
    PartKind.POST: "half_pins",
    PartKind.STRUT: "struts",
}
MATERIAL_USE = {PartKind.WIRE: "wire", PartKind.RING: "ring", PartKind.ROD: "rod", PartKind.HALF_PIN: "half_pin",
                PartKind.POST: "post", PartKind.STRUT: "strut"}


def rod_section(rod, part_name: str) -> Section:
    """The section of a rod's part: a telescopic rod's tube (part `<rod>_tube`), its overlap
    (`<rod>_overlap`: the tube and the inner rod bound together, in parallel), else the rod
    itself (a threaded rod, or a telescopic rod's inner rod)."""
    inner = tube(rod.diameter_mm, rod.inner_diameter_mm)
    if rod.kind != "telescopic" or part_name == rod.name:
        return inner
    bore = rod.tube_inner_diameter_mm if rod.tube_inner_diameter_mm is not None else rod.diameter_mm
    outer = tube(rod.tube_diameter_mm, bore)
    if part_name == f"{rod.name}_tube":
        return outer
    return concentric(outer, inner, 0.5 * rod.tube_diameter_mm)


class SolverError(RuntimeError):
    """The nonlinear or linear solve failed; the message says where and what to change."""


@dataclass
class StepRecord:
    """State of the frame at one converged load step (units in the key names).

    response and gap_motion_mm are measured from the pretensioned state; the *_absolute
    fields from the unloaded, untensioned mesh."""

    load_factor: float
    load: float  # N for axial, N*m for moments
    response: float  # mm (axial shortening) or deg (rotation), from the pretensioned state
    wire_tension_N: dict[str, float]
    wire_tension_max_N: dict[str, float]
    max_von_mises_MPa: dict[str, float]
    gap_motion_mm: np.ndarray | None  # proximal minus distal gap face displacement (x, y, z), from pretension
    regenerate_force_N: float | None  # axial force through the gap (negative = compression)
    newton_iterations: int
    response_absolute: float = 0.0
    gap_motion_absolute_mm: np.ndarray | None = None
    von_mises_by_part_MPa: dict[str, float] = field(default_factory=dict)
    event: str | None = None  # "contact: <part>" when this step is where a contact closed


@dataclass
class LoadCaseResult:
    name: str
    steps: list[StepRecord] = field(default_factory=list)
    solve_time_s: float = 0.0
    component: int = 2
    sign: float = -1.0
    initial_compliance: np.ndarray | None = None  # 6x6: motion (mm, rad) per unit load (N, N*mm), at pretension
    final_compliance: np.ndarray | None = None  # the same at full load, loading on (FrameModel.loading_tangent_compliance)
    contact_events: list[dict] = field(default_factory=list)  # {"part", "load", "load_factor", "step"}
    first_yield: dict | None = None  # {"part", "load", "load_factor", "step"}; load 0: already at pretension
    warnings: list[str] = field(default_factory=list)
    cycles: list[dict] = field(default_factory=list)  # per load-unload cycle: the state at full load and unloaded
    loading_steps: int = 0  # steps[:loading_steps + 1] are the first loading branch
    direction: np.ndarray | None = None  # an eccentric axial load's direction (see `response_direction`)

    def _stiffness(self, compliance: np.ndarray | None) -> float | None:
        if compliance is None:
            return None
        if self.direction is not None:
            c = float(self.direction @ compliance @ self.direction)
        else:
            c = float(compliance[self.component, self.component])
        if not c > 0:
            return None
        k = 1.0 / c  # N/mm, or N*mm/rad
        return k if self.component < 3 else k / NMM_PER_NM * np.pi / 180.0

    @property
    def initial_stiffness(self) -> float | None:
        """Tangent stiffness at the pretensioned state: N/mm (axial) or N*m/deg (moments)."""
        return self._stiffness(self.initial_compliance)

    @property
    def final_tangent_stiffness(self) -> float | None:
        """Tangent stiffness at full load: N/mm or N*m/deg."""
        return self._stiffness(self.final_compliance)


@dataclass
class PretensionResult:
    target_N: dict[str, float]
    achieved_N: dict[str, float]
    initial_strain: dict[str, float]
    mode: str
    uncorrected_N: dict[str, float]  # tension if eps0 = -T/(EA) were applied (ring compliance loss)
    solve_time_s: float = 0.0
    span_N: dict[str, tuple[float, float]] = field(default_factory=dict)  # (start span, end span) tensions


LOAD_DIRECTIONS = {  # load case -> (component of [Fx, Fy, Fz, Mx, My, Mz], sign)
    "axial": (2, -1.0),  # force along -z, magnitude in N
    "bending_ap": (3, 1.0),  # moment about x
    "bending_ml": (4, 1.0),  # moment about y
    "torsion": (5, 1.0),  # moment about z
}


MAX_SHEAR_FRACTION = 0.25  # fragment ends slid across each other by more than this fraction of the bone's
# diameter no longer overlap as the gap's contact assumes (its fibres stay where the ends met): a warning


def load_case_vector(scenario: Scenario, name: str) -> tuple[int, float, float, np.ndarray]:
    """Load case `name` of the scenario at full load: the component and sign of its load,
    its magnitude (N for axial, N*m for the moments) and the load vector
    [Fx, Fy, Fz (N), Mx, My, Mz (N*mm)] at the load point. Shared by both models."""
    spec = getattr(scenario.loads, name)
    component, sign = LOAD_DIRECTIONS[name]
    magnitude = spec.force_N if name == "axial" else spec.moment_Nm
    vector = np.zeros(6)
    vector[component] = sign * magnitude * (1.0 if name == "axial" else NMM_PER_NM)
    d = response_direction(scenario, name)
    if d is not None:
        vector = magnitude * d
    return component, sign, magnitude, vector


def response_direction(scenario: Scenario, name: str) -> np.ndarray | None:
    """For an eccentric axial load (loads.axial.offset_mm = (ex, ey), mm from the bone's
    axis, or the loaded ring's centre): d = (0, 0, -1, -ey, ex, 0), so that the load is
    force_N * d ([Fx, Fy, Fz (N), Mx, My, Mz (N*mm)]: the force along -z at the offset
    point) and d . motion is the shortening at that point (mm, small rotations: u_z +
    (theta x r)_z). None for a centred load or a moment."""
    if name != "axial":
        return None
    ex, ey = scenario.loads.axial.offset_mm
    if ex == 0.0 and ey == 0.0:
        return None
    return np.array([0.0, 0.0, -1.0, -ey, ex, 0.0])


def signed_response(responses: np.ndarray, component: int, sign: float, direction: np.ndarray | None = None) -> float:
    """The response of a load case from the six work-conjugate motions (mm, rad):
    along the load (mm; compression > 0 for axial; at the load's point when it is
    eccentric, `direction`) or about it (deg)."""
    if direction is not None:
        return float(direction @ responses)
    value = float(responses[component]) * sign
    return float(np.degrees(value)) if component >= 3 else value


class FrameModel:
    """Forms, fields and solvers of the frame model of one scenario on one mesh."""

    def __init__(self, scenario: Scenario, frame: FrameMesh, *, supports: tuple[Marker, ...] | None = None,
                 load_point: tuple[Marker, bool] | None = None):
        """`supports` and `load_point` (marker, is_end_of_a_line) override the scenario's
        bench set-up: the marked points are clamped, and the load acts at one marked point.
        """
        self.scenario, self.frame = scenario, frame
        self.supports, self.load_point = supports, load_point
        self.mesh = mesh = frame.mesh
        self.comm = mesh.comm
        tdim = mesh.topology.dim
        mesh.topology.create_connectivity(tdim - 1, tdim)
        self.num_owned_cells = mesh.topology.index_map(tdim).size_local
        num_cells = self.num_owned_cells + mesh.topology.index_map(tdim).num_ghosts

        # part of every local cell
        self.cell_part_tag = np.zeros(num_cells, dtype=np.int32)
        self.cell_part_tag[frame.cell_tags.indices] = frame.cell_tags.values
        self.parts = {p.tag: p for p in frame.parts}
        self.cells_of: dict[int, np.ndarray] = {tag: np.flatnonzero(self.cell_part_tag == tag) for tag in self.parts}

        # geometry of every local cell: tangent, section axes, length
        x = mesh.geometry.x
        nodes = mesh.geometry.dofmaps[0][:num_cells]
        d = x[nodes[:, 1]] - x[nodes[:, 0]]
        self.cell_length_mm = np.linalg.norm(d, axis=1)
        self.cell_midpoint_mm = 0.5 * (x[nodes[:, 0]] + x[nodes[:, 1]])
        t = d / self.cell_length_mm[:, None]
        n1 = self._section_axes(t)
        n2 = np.cross(t, n1)

        self.V = fem.functionspace(mesh, ("Lagrange", 1, (6,)))
        V0v = fem.functionspace(mesh, ("DG", 0, (3,)))
        self.t, self.n1, self.n2, self.release_axis = (fem.Function(V0v) for _ in range(4))
        for f, arr in ((self.t, t), (self.n1, n1), (self.n2, n2)):
            f.x.array[: 3 * num_cells] = arr.ravel()
        self.props = fem.Function(fem.functionspace(mesh, ("DG", 0, (beam.N_COLUMNS,))))
        self.link_props = fem.Function(fem.functionspace(mesh, ("DG", 0, (link.N_COLUMNS,))))
        self.contact_props = fem.Function(fem.functionspace(mesh, ("DG", 0, (contact.N_COLUMNS,))))
        self.joint_props = fem.Function(fem.functionspace(mesh, ("DG", 0, (joint.N_COLUMNS,))))
        self.joint_axis = fem.Function(V0v)
        self.plastic_props = fem.Function(fem.functionspace(mesh, ("DG", 0, (plastic_beam.N_COLUMNS,))))
        # history of the path-dependent elements, updated after every converged step
        self.joint_slip = fem.Function(fem.functionspace(mesh, ("DG", 0)), name="joint_slip_mm")
        self.plastic_strain = fem.Function(fem.functionspace(mesh, ("DG", 0, (plastic_beam.N_FIBRES,))),
                                           name="plastic_strain")
        self.contact_slip = fem.Function(fem.functionspace(mesh, ("DG", 0, (contact.friction_slip_size(),))),
                                         name="contact_slip")  # friction across the gap (sim.elements.contact)
        self._assign_properties(num_cells)

        # state and forms
        self.w = fem.Function(self.V, name="displacement_rotation")
        self.load = fem.Constant(mesh, np.zeros(6))  # [Fx, Fy, Fz (N), Mx, My, Mz (N*mm)]
        self._build_forms()
        self._build_bcs()
        self._build_probes()
        self.A = fem_petsc.create_matrix(self.J_form)
        self.b = fem_petsc.create_vector(self.V)
        self.dw = fem_petsc.create_vector(self.V)
        self.ksp = self._make_ksp()
        self.newton_iterations_total = 0
        self.pretensioned_state = np.zeros_like(self.w.x.array)
        self._pretension_compliance = None
        self._reference_raw = None

    # ------------------------------------------------------------------ setup
    def _section_axes(self, t: np.ndarray) -> np.ndarray:
        """n1 of every local cell: a ring's own axis (the normal of its plane, so a tilted
        ring's rectangular section is not turned about its tangent), else z or x across t."""
        normals = getattr(self.frame.plan, "section_normals", {})
        ez, ex = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
        ref = np.where((np.abs(t[:, 2]) < 0.9)[:, None], ez, ex)
        for tag, normal in normals.items():
            cells = self.cells_of.get(tag)
            if cells is not None and cells.size:
                ref[cells] = normal
        n1 = ref - np.sum(ref * t, axis=1)[:, None] * t
        return n1 / np.linalg.norm(n1, axis=1)[:, None]

    def _section_and_material(self, part) -> tuple[Section, Material]:
        s = self.scenario
        use = MATERIAL_USE.get(part.kind)
        if part.kind == PartKind.BONE:  # at mid-length; each cell's own: _bone_cell_sections
            ro, ri = s.bone_radii_mm(0.5 * s.bone.length_mm)
            return tube(2 * ro, 2 * ri), s.material(s.bone.material)
        if part.kind == PartKind.REGENERATE:
            reg = s.gap.regenerate
            mat = regenerate_material(reg.youngs_modulus_MPa, reg.poisson_ratio)
            ro, ri = s.bone_radii_mm(s.gap.level_mm)
            return tube(2 * ro, 2 * ri, mat.poisson_ratio), mat
        if part.kind == PartKind.RING:
            r = s.ring(part.source)
            return rectangle(r.width_mm, r.thickness_mm), s.material(r.material, use)
        if part.kind == PartKind.WIRE:
            w = next(w for w in s.wires if w.name == part.source)
            return circle(w.diameter_mm), s.material(w.material, use)
        if part.kind == PartKind.ROD:
            rod = next(r for r in s.rods if r.name == part.source)
            return rod_section(rod, part.name), s.material(rod.material, use)
        if part.kind == PartKind.STRUT:
            return circle(s.hexapod.strut_diameter_mm), s.material(s.hexapod.strut_material, use)
        if part.kind == PartKind.PLATE:  # a connection plate: ring stock (sim.plate_geometry)
            from sim.plate_geometry import plate_dims

            plate = s.plate(part.source)
            dims = plate_dims(plate)
            return rectangle(dims.width_mm, dims.thickness_mm), s.material(plate.material, "ring")
        if part.kind == PartKind.POST and any(w.name == part.source for w in s.wires):
            # a wire's posts: the section of the solid's clamp posts (meshes.continuum.clamp_radius_mm)
            from meshes.continuum import clamp_radius_mm

            w = next(w for w in s.wires if w.name == part.source)
            return circle(2.0 * clamp_radius_mm(w, s.ring(w.ring))), s.material("stainless_steel", use)
        pin = next((p for p in s.half_pins if p.name == part.source), None)
        if pin is None and part.kind == PartKind.POST:  # a pin clamp's post
            c = s.pin_clamp(part.source)
            return circle(c.post_diameter_mm), s.material(c.material, use)
        if part.kind == PartKind.HALF_PIN:
            return tube(pin.diameter_mm, pin.inner_diameter_mm), s.material(pin.material, use)
        if part.kind == PartKind.POST:
            return circle(pin.post_diameter_mm), s.material(pin.material, use)
        raise KeyError(part.kind)

    def _bone_cell_sections(self, props: dict) -> dict[int, dict[int, Section]]:
        """The section of each of this rank's bone and regenerate cells at its midpoint's level
        (the bone's radii vary along it: Scenario.bone_radii_mm, sim.bones.bone_section):
        tag -> {local cell: Section}, in the part's material (self.materials)."""
        from sim.bones import bone_section

        s = self.scenario
        out: dict[int, dict[int, Section]] = {}
        for tag, part in self.parts.items():
            if part.kind not in (PartKind.BONE, PartKind.REGENERATE) or tag not in props:
                continue
            mat = self.materials[tag]
            secs = {}
            for c in self.cells_of[tag]:
                z = float(self.cell_midpoint_mm[c, 2])
                if part.kind == PartKind.BONE and self._in_butterfly(z):  # a tube less the wedge's sector
                    secs[int(c)] = self._butterfly_section(z, mat).section()
                elif part.kind == PartKind.BONE:
                    secs[int(c)] = bone_section(s, z, mat, s.material(s.bone.cancellous_material))
                else:
                    ro, ri = s.bone_radii_mm(z)
                    secs[int(c)] = tube(2 * ro, 2 * ri, mat.poisson_ratio)
            out[tag] = secs
        return out

    def _assign_bone_cells(self, bp: np.ndarray, cp: np.ndarray) -> None:
        """The bone's beam properties cell by cell from `self.cell_sections` (tag -> {local
        cell: Section}, also used for the stresses), and the radii of the contact cells across
        a gap or a defect at their level."""
        s = self.scenario
        for tag, part in self.parts.items():
            cells = self.cells_of[tag]
            if part.kind == PartKind.GAP_CONTACT or (part.kind == PartKind.REGENERATE and cells.size):
                for c in cells:
                    ro, ri = s.bone_radii_mm(float(self.cell_midpoint_mm[c, 2]))
                    cp[c, contact.R_INNER], cp[c, contact.R_OUTER] = ri, ro
            for c, sec in self.cell_sections.get(tag, {}).items():
                b = beam_properties(sec, self.materials[tag])
                bp[c, EA:EI2 + 1] = (b.EA_N, b.GA1_N, b.GA2_N, b.GJ_Nmm2, b.EI1_Nmm2, b.EI2_Nmm2)

    def _in_butterfly(self, z_mm: float) -> bool:
        """Whether a bone cell at level z_mm lies beside the butterfly fragment (its levels)."""
        from sim.fracture_geometry import butterfly_z_range_mm

        zr = butterfly_z_range_mm(self.scenario)
        return zr is not None and zr[0] < z_mm < zr[1]

    def _butterfly_section(self, z_mm: float, mat: Material):
        """The main fragment's section at level z_mm beside the wedge (sim.fracture_geometry)."""
        from sim.fracture_geometry import wedge_section

        b = self.scenario.gap.butterfly
        ro, ri = self.scenario.bone_radii_mm(z_mm)
        return wedge_section(ro, ri, b.arc_deg, b.side_deg, mat.poisson_ratio)

    def _assign_butterfly(self, bp: np.ndarray, cp: np.ndarray) -> None:
        """Beside a butterfly fragment: the main fragments' cells take the tube less the
        wedge's sector as an eccentric section about the bone's axis (EA, EI about the axis,
        the first moments ES1, ES2 and the product EI12: sim.elements.beam; the open
        section's GJ), and the gap's contact fibres inside the wedge's arc are removed."""
        from sim.fracture_geometry import sector_fraction_outside

        s = self.scenario
        b = s.gap.butterfly if s.has_bone and not s.bone.intact else None
        if b is None:
            return
        n1 = self.n1.x.array.reshape(-1, 3)
        n2 = self.n2.x.array.reshape(-1, 3)
        self.butterfly_centroids: dict[int, tuple[float, float]] = {}  # cell -> (c1, c2) mm, for the stresses
        for tag, part in self.parts.items():
            if part.kind == PartKind.BONE:
                mat = self.materials[tag]
                E, G = mat.youngs_modulus_MPa, mat.shear_modulus_MPa
                for c in self.cells_of[tag]:
                    z = float(self.cell_midpoint_mm[c, 2])
                    if not self._in_butterfly(z):
                        continue
                    w = self._butterfly_section(z, mat)
                    m = w.in_axes(n1[c], n2[c])
                    sec = w.section()
                    bp[c, EA:EI2 + 1] = (E * w.area_mm2, G * sec.shear_area_1_mm2, G * sec.shear_area_2_mm2,
                                         G * w.torsion_constant_mm4, E * m["I22"], E * m["I11"])
                    bp[c, beam.ES1], bp[c, beam.ES2], bp[c, beam.EI12] = E * m["S1"], E * m["S2"], E * m["I12"]
                    self.butterfly_centroids[int(c)] = (m["S1"] / w.area_mm2, m["S2"] / w.area_mm2)
            elif part.kind == PartKind.GAP_CONTACT and part.source == "gap":
                for c in self.cells_of[tag]:
                    side = math.radians(b.side_deg)
                    u = np.array([math.cos(side), math.sin(side), 0.0])
                    side_in_cell = math.atan2(float(u @ n2[c]), float(u @ n1[c]))
                    outside = sector_fraction_outside(contact.fibre_angles_rad(), math.pi / contact.N_ANGLES,
                                                      side_in_cell, math.radians(b.arc_deg) / 2)
                    cp[c, contact.REMOVED:contact.REMOVED + contact.N_ANGLES] = 1.0 - outside

    def _about_centroid(self, forces: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Section forces (n, 6) of cells with their bending moments taken about each
        section's centroid instead of the bone's axis (only beside a butterfly fragment,
        where the centroid is off the axis by (c1, c2) in the cell's axes: M1 - N c2,
        M2 + N c1); the others unchanged."""
        offsets = getattr(self, "butterfly_centroids", {})
        if not offsets:
            return forces
        out = np.array(forces, float, copy=True)
        for k, c in enumerate(cells):
            c1, c2 = offsets.get(int(c), (0.0, 0.0))
            out[k, 4] -= out[k, 0] * c2
            out[k, 5] += out[k, 0] * c1
        return out

    def _assign_properties(self, num_cells: int) -> None:
        self.sections: dict[int, Section] = {}
        self.materials: dict[int, Material] = {}
        props: dict[int, BeamProperties] = {}
        for tag, part in self.parts.items():
            if not part.is_link and part.kind != PartKind.GAP_CONTACT:
                sec, mat = self._section_and_material(part)
                self.sections[tag], self.materials[tag] = sec, mat
                props[tag] = beam_properties(sec, mat)
        # the links are LINK_STIFFNESS_FACTOR times stiffer than the stiffest beam, the bone's cells
        # with their own sections included (a template's metaphysis, a hindfoot block: _assign_bone_cells)
        self.cell_sections = self._bone_cell_sections(props)
        stiffest = [(b.EA_N, max(b.EI1_Nmm2, b.EI2_Nmm2)) for b in props.values()]
        stiffest += [(b.EA_N, max(b.EI1_Nmm2, b.EI2_Nmm2))
                     for tag, secs in self.cell_sections.items() if self.parts[tag].kind == PartKind.BONE
                     for b in (beam_properties(sec, self.materials[tag]) for sec in secs.values())]
        k_link = link.LINK_STIFFNESS_FACTOR * self.comm.allreduce(max(ea for ea, _ in stiffest), op=MPI.MAX)
        kr_link = link.LINK_STIFFNESS_FACTOR * self.comm.allreduce(max(ei for _, ei in stiffest), op=MPI.MAX)
        bp = np.zeros((num_cells, beam.N_COLUMNS))
        bp[:, LAMBDA0] = 1.0
        lp = np.zeros((num_cells, link.N_COLUMNS))
        cp = np.zeros((num_cells, contact.N_COLUMNS))
        cp[:, contact.NORMAL_T] = 1.0  # a transverse contact plane unless the fracture is oblique
        jp = np.zeros((num_cells, joint.N_COLUMNS))
        pp = np.zeros((num_cells, plastic_beam.N_COLUMNS))
        axis = np.zeros((num_cells, 3))
        jaxis = np.zeros((num_cells, 3))
        s = self.scenario
        self.joint_laws: dict[int, object] = {}
        self.plastic_tags: set[int] = set()
        for tag, part in self.parts.items():
            cells = self.cells_of[tag]
            law = connection_law(s, part) if part.is_link else None
            if law is not None:  # a compliant joint (sim.elements.joint, sim.interfaces)
                self.joint_laws[tag] = law
                length = self.cell_length_mm[cells]
                jp[cells] = joint_columns(law, k_link / length, kr_link / length)
                jaxis[cells] = law.axis
                continue
            if part.kind in CONTACT_KINDS:
                # the fragment ends touch once the gap (empty or filled with soft tissue) has closed
                E_bone = s.material(s.bone.material).youngs_modulus_MPa
                cp[cells, contact.STIFFNESS] = E_bone * self.cell_length_mm[cells] / contact.CONTACT_LENGTH_MM
                cp[cells, contact.R_INNER] = 0.5 * s.bone.inner_diameter_mm
                cp[cells, contact.R_OUTER] = 0.5 * s.bone.outer_diameter_mm
                if part.kind == PartKind.REGENERATE:
                    cp[cells, contact.CLOSED_FRACTION] = REGENERATE_MIN_LENGTH_FRACTION
                if part.kind == PartKind.GAP_CONTACT and part.source == "gap":  # bone on bone: Coulomb friction
                    cp[cells, contact.FRICTION] = s.gap.friction_coefficient
                if part.source == "gap" and s.gap.obliquity_deg:  # the fracture plane's normal in each cell's axes
                    m = np.asarray(s.gap.plane_normal())
                    for col, f in ((contact.NORMAL_T, self.t), (contact.NORMAL_1, self.n1), (contact.NORMAL_2, self.n2)):
                        cp[cells, col] = f.x.array.reshape(-1, 3)[cells] @ m
            if part.kind == PartKind.GAP_CONTACT:
                continue
            if part.is_link:
                lp[cells, link.K_LINK] = k_link
                lp[cells, link.KR_LINK] = kr_link
                if part.release_axis_xyz is not None:
                    lp[cells, link.RELEASE] = 1.0
                    axis[cells] = part.release_axis_xyz
            elif part.kind == PartKind.STRUT:  # pinned at both ends (universal joints): axial force only
                bp[cells, EA] = props[tag].EA_N
                joints = s.interfaces.strut
                if not joints.rigid:  # the strut's joints and thread in series with its tube (one cell a strut)
                    length = self.cell_length_mm[cells]
                    bp[cells, EA] = length / (length / props[tag].EA_N + 1.0 / joints.axial_stiffness_N_per_mm)
            else:
                b = props[tag]
                bp[cells, EA:EI2 + 1] = (b.EA_N, b.GA1_N, b.GA2_N, b.GJ_Nmm2, b.EI1_Nmm2, b.EI2_Nmm2)
                if self._yields(part):  # axial force and bending from elastoplastic fibres instead
                    self.plastic_tags.add(tag)
                    mat, sec = self.materials[tag], self.sections[tag]
                    bp[cells, EA] = bp[cells, EI1] = bp[cells, EI2] = 0.0
                    pp[cells] = (mat.youngs_modulus_MPa, mat.hardening_modulus_MPa, mat.yield_stress_MPa,
                                 *self._section_radii(part))
        self._assign_bone_cells(bp, cp)
        self._assign_butterfly(bp, cp)
        for f, arr in ((self.props, bp), (self.link_props, lp), (self.contact_props, cp), (self.release_axis, axis),
                       (self.joint_props, jp), (self.joint_axis, jaxis), (self.plastic_props, pp)):
            f.x.array[: arr.size] = arr.ravel()
            f.x.scatter_forward()
        self.wire_tags = {p.source: tag for tag, p in self.parts.items() if p.kind == PartKind.WIRE}
        # the spans a wire's tension is read on: both; an olive wire pulled from one end, the pulled span
        # (what the tensioner reads; the span on the olive's side is not pretensioned by it)
        self.wire_span_cells = {name: self._span_cells(name, self.cells_of[tag],
                                                       (self._olive_pull(name) or (None,))[0])
                                for name, tag in self.wire_tags.items()}
        self.wire_EA_N = {name: props[tag].EA_N for name, tag in self.wire_tags.items()}
        self.contact_tags = [tag for tag, p in self.parts.items() if p.kind in CONTACT_KINDS]

    def _yields(self, part) -> bool:
        """Whether a member is elastoplastic (the scenario's [plasticity] table)."""
        pl = self.scenario.plasticity
        return (part.kind == PartKind.WIRE and pl.wires) or (part.kind == PartKind.HALF_PIN and pl.half_pins)

    def _section_radii(self, part) -> tuple[float, float]:
        """Inner and outer radius of a yielding member's round section (mm)."""
        s = self.scenario
        if part.kind == PartKind.WIRE:
            return 0.0, 0.5 * next(w for w in s.wires if w.name == part.source).diameter_mm
        pin = next(p for p in s.half_pins if p.name == part.source)
        return 0.5 * pin.inner_diameter_mm, 0.5 * pin.diameter_mm

    def _span_cells(self, name: str, cells: np.ndarray, side: str | None = None) -> np.ndarray:
        """The cells of a wire outside the bone: between its clamps and the cortices (its
        passage through the bone, from cortex to cortex, left out); side "start" or "end":
        only that span (the start span from the start clamp to the first cortex)."""
        chain = self.frame.plan.wire_points.get(name, ())
        if len(chain) != 4:
            return cells
        c0, c1 = (np.asarray(self.frame.plan.points[i]) for i in chain[1:3])
        d = c1 - c0
        s = (self.cell_midpoint_mm[cells] - c0) @ d / float(d @ d)
        if side == "start":
            return cells[s < 0.0]
        if side == "end":
            return cells[s > 1.0]
        return cells[(s < 0.0) | (s > 1.0)]

    def _olive_pull(self, name: str) -> tuple[str, str] | None:
        """(pulled side, olive side) of an olive wire tensioned from the end away from its
        olive (Wire.tensioned_from, Wire.olive_side); None for any other wire."""
        w = next((w for w in self.scenario.wires if w.name == name), None)
        if (w is None or not w.olive or w.olive_side is None or w.tensioned_from == "both_ends"
                or w.tensioned_from == w.olive_side or not self.scenario.has_bone):
            return None
        return w.tensioned_from, w.olive_side

    def wire_span_tensions_N(self, forces: np.ndarray) -> dict[str, tuple[float, float]]:
        """Each wire's tension in its start span and in its end span (N, length-weighted
        means over the cells between its clamp and the cortex on that side; wires without
        a bone: the whole wire for both). Collective."""
        out = {}
        length = self.cell_length_mm[: self.num_owned_cells]
        for name, tag in self.wire_tags.items():
            cells = self.cells_of[tag]
            cells = cells[cells < self.num_owned_cells]
            values = []
            for side in ("start", "end"):
                c = self._span_cells(name, cells, side)
                values.append(self._allsum(float(np.dot(forces[c, 0], length[c])))
                              / max(self._allsum(float(length[c].sum())), 1e-300))
            out[name] = tuple(values)
        return out

    def _response_kind(self) -> str:
        if self.load_point is not None:
            return "load_point_end" if self.load_point[1] else "load_point_interior"
        return "bone_end" if self.scenario.has_bone else "ring"

    def _owned_cells_of(self, kinds) -> np.ndarray:
        return self._owned_cells_of_tags([tag for tag, p in self.parts.items() if p.kind in kinds])

    def _owned_cells_of_tags(self, tags) -> np.ndarray:
        tags = list(tags)
        cells = np.concatenate([self.cells_of[t] for t in tags]) if tags else np.zeros(0, dtype=np.int32)
        return np.sort(cells[cells < self.num_owned_cells]).astype(np.int32)

    def _build_forms(self) -> None:
        """Bind the compiled frame forms (sim.frame_forms) to this mesh, its fields and its cells."""
        kind = self._response_kind()
        self.response_at_node = kind != "ring"
        forms = self._forms = compiled_frame_forms(self.comm, kind, self.mesh.ufl_domain().ufl_coordinate_element())
        joints, plastic = set(self.joint_laws), self.plastic_tags
        links = {t for t, p in self.parts.items() if p.is_link} - joints
        beams = {t for t, p in self.parts.items() if not p.is_link and p.kind != PartKind.GAP_CONTACT} - plastic
        cells = {frame_forms.BEAM: self._owned_cells_of_tags(beams), frame_forms.LINK: self._owned_cells_of_tags(links),
                 frame_forms.JOINT: self._owned_cells_of_tags(joints),
                 frame_forms.PLASTIC: self._owned_cells_of_tags(plastic),
                 frame_forms.CONTACT: self._owned_cells_of(CONTACT_KINDS),
                 frame_forms.ALL: np.arange(self.num_owned_cells, dtype=np.int32),
                 frame_forms.LOADED: np.zeros(0, dtype=np.int32)}
        self.ring_constants = fem.Constant(self.mesh, np.ones(6))
        facets = None
        if kind == "ring":
            cells[frame_forms.LOADED] = self._loaded_ring_cells()
        elif kind == "bone_end":
            facets = self.frame.facet_tags.find(int(Marker.BONE_PROXIMAL_END))
        else:
            facets = self.frame.facet_tags.find(int(self.load_point[0]))
        self._domains = frame_forms.integration_domains(self.mesh, cells, facets, kind)
        self.load_direction = fem.Constant(self.mesh, np.zeros(6))
        self.delta = fem.Function(self.V)
        c, k = forms.coefficients, forms.constants
        self._coefficient_map = {c["w"]: self.w, c["delta"]: self.delta, c["t"]: self.t, c["n1"]: self.n1,
                                 c["n2"]: self.n2, c["axis"]: self.release_axis, c["beam"]: self.props,
                                 c["link"]: self.link_props, c["contact"]: self.contact_props,
                                 c["joint"]: self.joint_props, c["joint_axis"]: self.joint_axis, c["slip"]: self.joint_slip,
                                 c["plastic"]: self.plastic_props, c["plastic_strain"]: self.plastic_strain,
                                 c["contact_slip"]: self.contact_slip}
        self._constant_map = {k["load"]: self.load, k["load_direction"]: self.load_direction,
                              k["ring"]: self.ring_constants}
        V = self.V
        Q6 = fem.functionspace(self.mesh, ("DG", 0, (6,)))
        Qf = fem.functionspace(self.mesh, ("DG", 0, (len(contact.fibres()),)))
        self.F_form = self._bind(forms.forms["residual"], [V])
        self.J_form = self._bind(forms.forms["jacobian"], [V, V])
        self.load_rhs_form = self._bind(forms.forms["load_rhs"], [V])
        self.response_forms = [self._bind(f, []) for f in forms.forms["responses"]]
        delta_map = dict(self._coefficient_map)
        delta_map[c["w"]] = self.delta
        self.delta_response_forms = [self._bind(f, [], delta_map) for f in forms.forms["responses"]]
        self.section_forces_form = self._bind(forms.forms["section_forces"], [Q6])
        self.fibre_gap_form = self._bind(forms.forms["fibre_gaps"], [Qf])
        Q1, Qp = self.joint_slip.function_space, self.plastic_strain.function_space
        self.slips = any(law.slip_force_N > 0 for law in self.joint_laws.values())
        self.slip_update_form = self._bind(forms.forms["slip_update"], [Q1]) if self.slips else None
        self.joint_force_form = self._bind(forms.forms["joint_force"], [Q1]) if self.joint_laws else None
        self.plastic_update_form = self._bind(forms.forms["plastic_update"], [Qp]) if self.plastic_tags else None
        self.fibre_stress_form = (self._bind(forms.compiled("fibre_stresses", self.comm), [Qp])
                                  if self.plastic_tags else None)
        self.friction = self.comm.allreduce(bool(np.any(self.contact_props.x.array.reshape(-1, contact.N_COLUMNS)
                                                        [:, contact.FRICTION] > 0)), op=MPI.LOR)
        self.friction_update_form = self.friction_forms = None
        if self.friction:  # compiled on first use: a frame without friction never pays for them
            self.friction_update_form = self._bind(forms.compiled("friction_update", self.comm),
                                                   [self.contact_slip.function_space])
            self.friction_forms = (self._bind(forms.compiled("friction_residual", self.comm), [V]),
                                   self._bind(forms.compiled("friction_jacobian", self.comm), [V, V]),
                                   self._bind(forms.compiled("friction_section_forces", self.comm), [Q6]))
        self._energy_forms = None

    def _bind(self, compiled, spaces, coefficient_map=None):
        return self._forms.bind(compiled, spaces, self.mesh, self._domains,
                                self._coefficient_map if coefficient_map is None else coefficient_map,
                                self._constant_map)

    def _loaded_ring_cells(self) -> np.ndarray:
        """The owned cells of the top ring (frame-only bench test), and its length and second
        moments about its centre as the constants of the ring's response forms (exact for
        straight cells: int y^2 ds = L (y0^2 + y0 y1 + y1^2) / 3)."""
        top = self.scenario.rings_by_level()[-1]
        tag = self._ring_tag(top.name)
        cells = self.cells_of[tag]
        cells = cells[cells < self.num_owned_cells].astype(np.int32)
        x = self.mesh.geometry.x
        nodes = self.mesh.geometry.dofmaps[0][cells]
        cx, cy = top.centre_xy_mm
        L = self.cell_length_mm[cells]
        X0, X1 = x[nodes[:, 0], 0] - cx, x[nodes[:, 1], 0] - cx
        Y0, Y1 = x[nodes[:, 0], 1] - cy, x[nodes[:, 1], 1] - cy
        length = self._allsum(float(L.sum()))
        ixx = self._allsum(float(np.sum(L * (Y0 ** 2 + Y0 * Y1 + Y1 ** 2) / 3)))
        iyy = self._allsum(float(np.sum(L * (X0 ** 2 + X0 * X1 + X1 ** 2) / 3)))
        self.ring_constants.value[:] = [length, ixx, iyy, ixx + iyy, cx, cy]
        return cells

    def _ring_tag(self, name: str) -> int:
        """The part tag of ring `name`."""
        return next(tag for tag, p in self.parts.items() if p.kind == PartKind.RING and p.source == name)

    def _build_bcs(self) -> None:
        if self.supports is not None:
            facets = np.concatenate([self.frame.facet_tags.find(int(m)) for m in self.supports])
            dofs = fem.locate_dofs_topological(self.V, 0, facets)
        elif self.scenario.loads.setup == "ring_held" and self.scenario.loads.held_at_deg:  # bolted at its mounts
            facets = self.frame.facet_tags.find(int(Marker.RING_MOUNTS))
            dofs = fem.locate_dofs_topological(self.V, 0, facets)
        elif self.scenario.loads.setup == "bone_bench":
            facets = self.frame.facet_tags.find(int(Marker.BONE_DISTAL_END))
            dofs = fem.locate_dofs_topological(self.V, 0, facets)
        else:  # frame_only, or ring_held without mounts: the held ring at every point (default the lowest)
            tag = self._ring_tag(self.scenario.held_ring.name)
            dofs = fem.locate_dofs_topological(self.V, 1, self.frame.cell_tags.find(tag))
        self.bcs = [fem.dirichletbc(np.zeros(6), dofs, self.V)]

    def _build_probes(self) -> None:
        """Local node indices of the gap faces (owned nodes only)."""
        self._probe_cache: dict[int, int] = {}
        plan = self.frame.plan
        self.gap_nodes = None if plan.gap_faces is None else list(plan.gap_faces)

    def _owned_node_of_point(self, idx: int) -> int:
        """Local index of the owned node at plan point idx, or -1 if another rank owns it."""
        if idx not in self._probe_cache:
            coords = self.V.tabulate_dof_coordinates()
            n_owned = self.V.dofmap.index_map.size_local
            dist = np.linalg.norm(coords[:n_owned] - np.asarray(self.frame.plan.points[idx]), axis=1)
            hit = np.flatnonzero(dist < 1e-8)
            self._probe_cache[idx] = int(hit[0]) if hit.size else -1
        return self._probe_cache[idx]

    def point_values(self, point_indices) -> np.ndarray:
        """Displacement (mm) and rotation parameters of plan points, (k, 6), on every rank (collective)."""
        vals = self.w.x.array.reshape(-1, 6)
        local = np.zeros((len(point_indices), 6))
        for k, idx in enumerate(point_indices):
            node = self._owned_node_of_point(int(idx))
            if node >= 0:
                local[k] = vals[node]
        return self.comm.allreduce(local, op=MPI.SUM)

    def set_cell_properties(self, cells: np.ndarray, values: dict[int, float | np.ndarray]) -> None:
        """Set beam parameter columns (EA, EPS0, LAMBDA0, ...) of local cells (owned and ghost).

        Every rank must call it with its own local cells of the same parts (collective)."""
        arr = self.props.x.array.reshape(-1, beam.N_COLUMNS)
        for column, value in values.items():
            arr[cells, column] = value
        self.props.x.scatter_forward()

    def cell_properties(self, cells: np.ndarray) -> np.ndarray:
        return self.props.x.array.reshape(-1, beam.N_COLUMNS)[cells].copy()

    def equilibrate(self, context: str, load_vector=None) -> int:
        """Newton at a fixed load (default none) after properties changed; SolverError if it fails."""
        vec = np.zeros(6) if load_vector is None else np.asarray(load_vector, float)
        self.load.value[:] = vec
        ok, its, res = self._newton(context)
        if not ok:
            raise SolverError(f"{context}: Newton did not converge (residual {res:.3g} after {its} iterations)")
        return its

    def _make_ksp(self) -> PETSc.KSP:
        ksp = PETSc.KSP().create(self.comm)
        ksp.setType("preonly")
        pc = ksp.getPC()
        pc.setType("lu")
        solver = self.scenario.solver.linear_solver
        if solver == "auto":  # PETSc's own sparse LU serially (3x faster than MUMPS here), MUMPS in parallel
            solver = "petsc" if self.comm.size == 1 else "mumps"
        if solver == "petsc":
            pc.setFactorOrdering("nd")
        else:
            pc.setFactorSolverType(solver)
        return ksp

    # ------------------------------------------------------------------ history
    def _histories(self) -> tuple:
        return self.joint_slip, self.plastic_strain, self.contact_slip

    def snapshot(self) -> tuple:
        """The state, the history of the path-dependent elements, and the history the last
        converged step started from (`loading_tangent_compliance`), as local arrays."""
        return (self.w.x.array.copy(), *(f.x.array.copy() for f in self._histories()),
                getattr(self, "_step_start_history", None))

    def restore(self, snap) -> None:
        """Go back to a `snapshot`."""
        for f, arr in zip((self.w, *self._histories()), snap[:4]):
            f.x.array[:] = arr
            f.x.scatter_forward()
        self._step_start_history = snap[4]

    def _set_histories(self, arrays) -> None:
        for f, arr in zip(self._histories(), arrays):
            f.x.array[:] = arr
            f.x.scatter_forward()

    def loading_tangent_compliance(self) -> np.ndarray:
        """`tangent_compliance` at the current state for a load that goes on growing: the
        path-dependent elements (joints that slip, fibres that yield, a gap's friction) take
        the history their last converged step started from, so that a joint or fibre that
        was slipping or yielding gives its consistent (slipping, elastoplastic) tangent. With
        the history just committed the state sits on the slip or yield surface and the
        elastic branch gives the unloading tangent instead (a sliding fracture's tangent was
        reported 20 times too stiff; fresh-user trial). Collective."""
        start = getattr(self, "_step_start_history", None)
        if not self.path_dependent or start is None:
            return self.tangent_compliance()
        committed = [f.x.array.copy() for f in self._histories()]
        self._set_histories(start)
        try:
            return self.tangent_compliance()
        finally:
            self._set_histories(committed)

    def commit_history(self) -> None:
        """After a converged step: the joints' slip and the fibres' plastic strains of the
        state just reached become the history the next step starts from. Collective."""
        n = self.num_owned_cells
        length = self.cell_length_mm[:n]
        if self.slip_update_form is not None:
            vals = fem.assemble_vector(self.slip_update_form).array[:n] / length
            self.joint_slip.x.array[:n] = vals
            self.joint_slip.x.scatter_forward()
        if self.plastic_update_form is not None:
            nf = plastic_beam.N_FIBRES
            vals = fem.assemble_vector(self.plastic_update_form).array[: nf * n].reshape(-1, nf) / length[:, None]
            self.plastic_strain.x.array[: nf * n] = vals.ravel()
            self.plastic_strain.x.scatter_forward()
        if self.friction_update_form is not None:
            ns = contact.friction_slip_size()
            vals = fem.assemble_vector(self.friction_update_form).array[: ns * n].reshape(-1, ns) / length[:, None]
            contact_cells = self.contact_props.x.array.reshape(-1, contact.N_COLUMNS)[:n, contact.STIFFNESS] > 0
            current = self.contact_slip.x.array[: ns * n].reshape(-1, ns)
            current[contact_cells] = vals[contact_cells]  # the form is zero elsewhere
            self.contact_slip.x.scatter_forward()

    @property
    def path_dependent(self) -> bool:
        """Whether the frame has joints that slip, members that yield or a gap with friction."""
        return (self.slip_update_form is not None or self.plastic_update_form is not None
                or self.friction_update_form is not None)

    # ------------------------------------------------------------------ algebra
    def _assemble_residual(self) -> PETSc.Vec:
        b = self.b
        with b.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b, self.F_form)
        if self.friction_forms is not None:
            fem_petsc.assemble_vector(b, self.friction_forms[0])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        b.scale(-1.0)
        fem_petsc.set_bc(b, self.bcs)
        return b

    def _assemble_jacobian(self) -> None:
        self.A.zeroEntries()
        fem_petsc.assemble_matrix(self.A, self.J_form, bcs=self.bcs)
        if self.friction_forms is not None:  # added (PETSc: a flush between the diagonal's insert and these adds);
            self.A.assemble(PETSc.Mat.AssemblyType.FLUSH)  # fixed dofs' rows and columns zeroed, their diagonal 1
            fem_petsc.assemble_matrix(self.A, self.friction_forms[1], bcs=self.bcs)
        self.A.assemble()

    def _linear_solve(self, b: PETSc.Vec, context: str) -> PETSc.Vec:
        self.ksp.setOperators(self.A)
        try:
            self.ksp.solve(b, self.dw)
            if self.ksp.getConvergedReason() < 0 and self.ksp.getPC().getFactorSolverType() == "petsc":
                # PETSc's own LU does not pivot: on a nearly singular (very soft) frame it can meet a zero
                # pivot where MUMPS, which pivots, does not. Go on with MUMPS.
                self.ksp.getPC().setFactorSolverType("mumps")
                self.ksp.setOperators(self.A)
                self.ksp.solve(b, self.dw)
        except PETSc.Error as exc:
            raise SolverError(f"{context}: the linear solve failed (PETSc error {exc.ierr}); the stiffness matrix "
                              "is singular: some part of the frame is free to move (a mechanism)") from None
        if self.ksp.getConvergedReason() < 0 or not np.isfinite(self.dw.norm()):
            raise SolverError(f"{context}: the linear solve failed (reason {self.ksp.getConvergedReason()}); the "
                              "stiffness matrix is singular: some part of the frame is free to move (a mechanism)")
        return self.dw

    def _newton(self, context: str) -> tuple[bool, int, float]:
        """Newton iterations at the current load; returns (converged, iterations, residual)."""
        sv = self.scenario.solver
        r0 = None
        for it in range(sv.newton_max_iterations + 1):
            b = self._assemble_residual()
            r = b.norm()
            if not np.isfinite(r):
                return False, it, r
            if r0 is None:
                r0 = r
            if r <= max(sv.newton_rtol * r0, sv.newton_atol_N):
                return True, it, r
            if it == sv.newton_max_iterations:
                return False, it, r
            self._assemble_jacobian()
            dw = self._linear_solve(b, context)
            self.w.x.petsc_vec.axpy(self._damping(dw), dw)
            self.w.x.scatter_forward()
            self.newton_iterations_total += 1
            if dw.norm() <= 1e-10 * max(1.0, self.w.x.petsc_vec.norm()) and it > 0:
                return True, it + 1, r
        return False, sv.newton_max_iterations, r

    def _damping(self, dw: PETSc.Vec) -> float:
        """The fraction of a Newton update to take: all of it, unless it would turn some node
        by more than MAX_ROTATION_INCREMENT_RAD. The links are stiff penalties, and an
        update that turns a part by several degrees violates them at second order (the
        update is linear in the rotation), which can throw Newton far off on a soft frame."""
        local = dw.array.reshape(-1, 6)[:, 3:]
        largest = self.comm.allreduce(float(np.abs(local).max()) if local.size else 0.0, op=MPI.MAX)
        return min(1.0, MAX_ROTATION_INCREMENT_RAD / largest) if largest > 0 else 1.0

    def _step_to(self, load_vector: np.ndarray, lam0: float, lam1: float, context: str, apply=None) -> int:
        """Move the load factor from lam0 to lam1 (either way), halving the increment on failure.
        `apply(lam)`, if given, puts what the load factor scales in place instead of the load
        vector (the wires' tensioning strains: `_ramp_initial_strains`)."""
        max_cuts = self.scenario.solver.max_step_cuts
        lam, dlam, cuts, iterations = lam0, lam1 - lam0, 0, 0
        way = 1.0 if lam1 >= lam0 else -1.0
        while way * (lam1 - lam) > 1e-14 * max(1.0, abs(lam1)):
            saved = self.snapshot()
            target = min(lam + dlam, lam1) if way > 0 else max(lam + dlam, lam1)
            if apply is None:
                self.load.value[:] = target * load_vector
            else:
                apply(target)
            ok, its, res = self._newton(context)
            iterations += its
            if ok:
                lam = target
                if self.path_dependent:  # the history this step started from: the loading tangent's
                    self._step_start_history = [f.x.array.copy() for f in self._histories()]
                self.commit_history()
                continue
            self.restore(saved)
            cuts += 1
            if cuts > max_cuts:
                raise SolverError(
                    f"{context}: Newton did not converge at load factor {target:.4g} (residual {res:.3g} after "
                    f"{its} iterations, {max_cuts} step cuts). Use more load steps, a smaller load, or check for a "
                    "part that is barely held (a slack wire, a wire off the bone)")
            dlam *= 0.5
        return iterations

    def _solve_at(self, load_vector: np.ndarray, lam: float, start, lam_start: float, context: str) -> int:
        """The equilibrium at load factor lam, reached from the snapshot `start` at lam_start."""
        self.restore(start)
        return self._step_to(load_vector, lam_start, lam, context)

    # ------------------------------------------------------------------ tangents
    def tangent_compliance(self) -> np.ndarray:
        """6x6 tangent compliance at the current state and load: column i is the motion
        [u (mm), rotation (rad)] of the load point per unit load component i
        ([Fx, Fy, Fz] in N, [Mx, My, Mz] in N*mm), from the tangent stiffness matrix (one
        factorisation, six back-substitutions). Rotations are rotation vectors (radians),
        not Cayley parameters. Collective."""
        self._assemble_jacobian()
        raw = np.zeros((6, 6))
        for i in range(6):
            dw = self._linear_solve(self._load_rhs(np.eye(6)[i]), "tangent stiffness")
            self.delta.x.petsc_vec.array[:] = dw.array
            self.delta.x.scatter_forward()
            raw[:, i] = [self._allsum(fem.assemble_scalar(f)) for f in self.delta_response_forms]
        return self._motion_jacobian(self.raw_responses()) @ raw

    def _load_rhs(self, load_vector) -> PETSc.Vec:
        """The right-hand side of a tangent solve: the nodal loads of the load vector
        [Fx, Fy, Fz (N), Mx, My, Mz (N*mm)] at the load point, zero where the frame is held."""
        self.load_direction.value[:] = load_vector
        b = self.b
        with b.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b, self.load_rhs_form)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(b, self.bcs)
        return b

    def _motion_jacobian(self, raw: np.ndarray) -> np.ndarray:
        """d(motion)/d(raw response) at `raw` (6x6): identity for displacements; for a load
        point that is a node, the map from its Cayley parameters to its rotation vector."""
        jac = np.eye(6)
        if self.response_at_node:
            h = 1e-7
            for j in range(3):
                e = np.zeros(3)
                e[j] = h
                jac[3:, 3 + j] = (rotation_vector(raw[3:] + e) - rotation_vector(raw[3:] - e)) / (2 * h)
        return jac

    # ------------------------------------------------------------------ measures
    def update_section_forces(self) -> np.ndarray:
        """Section forces [N, V1, V2, T (N), M1, M2 (N*mm)] of the owned cells, at their midpoints."""
        vec = fem.assemble_vector(self.section_forces_form)  # cell values times the cell's length
        if self.friction_forms is not None:
            vec.array[:] += fem.assemble_vector(self.friction_forms[2]).array
        n = self.num_owned_cells
        return vec.array[: 6 * n].reshape(-1, 6) / self.cell_length_mm[:n, None]

    def _allsum(self, value):
        return self.comm.allreduce(value, op=MPI.SUM)

    def wire_tensions_N(self, forces: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
        """Tension of each wire, the length-weighted mean over its spans between the clamps
        and the bone (what a tensioner and a strain gauge on the wire read), and the peak
        axial force anywhere along it (N, tension positive). A smooth wire slides through
        the bone and carries one tension; an olive wire, held at both cortices, can carry
        another in its passage through the bone."""
        mean, peak = {}, {}
        length = self.cell_length_mm[: self.num_owned_cells]
        for name, tag in self.wire_tags.items():
            cells = self.cells_of[tag]
            cells = cells[cells < self.num_owned_cells]
            spans = self.wire_span_cells[name]
            spans = spans[spans < self.num_owned_cells]
            n = forces[cells, 0]
            mean[name] = (self._allsum(float(np.dot(forces[spans, 0], length[spans])))
                          / self._allsum(float(length[spans].sum())))
            peak[name] = self.comm.allreduce(float(n.max()) if n.size else -np.inf, op=MPI.MAX)
        return mean, peak

    def cell_von_mises_MPa(self, forces: np.ndarray, fibres: bool = True) -> np.ndarray:
        """Peak von Mises stress of every owned beam cell (MPa). An elastic member's: the
        section's estimate from its forces (sim.sections.von_mises_MPa) at the larger of its
        two ends, where the bending moment is recovered from the shear force
        (sim.elements.beam). A member that may yield: its fibres' own stresses, the largest
        over the section of the return-mapped axial stress with the shear of the twisting
        moment (sim.elements.plastic_beam.fibre_von_mises_MPa), which the hardening law
        bounds (the elastic estimate of a yielded section can exceed the tensile strength).
        fibres=False: the section's elastic estimate for every member (what first yield is
        located on: before anything yields it is the exact peak, at the cell's ends).
        Collective when the frame has members that may yield."""
        vm = np.zeros(self.num_owned_cells)
        lam = self.props.x.array.reshape(-1, beam.N_COLUMNS)[: self.num_owned_cells, LAMBDA0]
        half = 0.5 * self.cell_length_mm[: self.num_owned_cells] * lam
        sigma = self._fibre_stresses_MPa() if fibres else None
        for tag, section in self.sections.items():
            c = self.cells_of[tag]
            c = c[c < self.num_owned_cells]
            if not c.size:
                continue
            if tag in self.cell_sections:  # the bone: each cell's own section (its level's)
                ends = beam.end_moments(self._about_centroid(forces[c], c), half[c])
                secs = self.cell_sections[tag]
                vm[c] = [max(float(von_mises_MPa(secs[int(ci)], *f[k])) for f in ends) for k, ci in enumerate(c)]
            elif sigma is not None and tag in self.plastic_tags:
                vm[c] = plastic_beam.fibre_von_mises_MPa(sigma[c], forces[c, 3], *self._section_radii(self.parts[tag]),
                                                         section.torsion_constant_mm4)
            else:
                ends = beam.end_moments(forces[c], half[c])
                vm[c] = np.max([von_mises_MPa(section, *f.T) for f in ends], axis=0)
        return vm

    def _fibre_stresses_MPa(self) -> np.ndarray | None:
        """The axial stress of every fibre of the owned cells of yielding members at the
        current state, (cells, N_FIBRES) in MPa (zero elsewhere); None without such members."""
        if self.fibre_stress_form is None:
            return None
        n, nf = self.num_owned_cells, plastic_beam.N_FIBRES
        vals = fem.assemble_vector(self.fibre_stress_form).array[: nf * n].reshape(-1, nf)
        return vals / self.cell_length_mm[:n, None]

    def von_mises_by_part_MPa(self, forces: np.ndarray, fibres: bool = True) -> dict[str, float]:
        """Peak von Mises stress of every beam part, by part name (MPa; `fibres`: see
        cell_von_mises_MPa). Collective."""
        vm = self.cell_von_mises_MPa(forces, fibres)
        out = {}
        for tag in self.sections:
            c = self.cells_of[tag]
            c = c[c < self.num_owned_cells]
            out[self.parts[tag].name] = self.comm.allreduce(float(vm[c].max()) if c.size else 0.0, op=MPI.MAX)
        return out

    def peak_von_mises_MPa(self, forces: np.ndarray, by_part: dict[str, float] | None = None) -> dict[str, float]:
        """Peak von Mises stress per group of parts (bone, wires, rings, rods, half_pins, struts,
        wire_posts when wires stand on posts, plates when the frame has connection plates)."""
        by_part = self.von_mises_by_part_MPa(forces) if by_part is None else by_part
        peaks = {g: 0.0 for g in STRESS_GROUPS.values()}
        for tag, part in self.parts.items():
            group = self._stress_group(part)
            if group is not None and part.name in by_part:
                peaks[group] = max(peaks.get(group, 0.0), by_part[part.name])
        return peaks

    def _stress_group(self, part) -> str | None:
        """The group a part's stress is reported in (STRESS_GROUPS); the posts a wire is
        clamped on (a drop wire, an inclined wire) in their own group, "wire_posts", not
        with the half pins' posts."""
        if part.kind == PartKind.POST and any(w.name == part.source for w in self.scenario.wires):
            return "wire_posts"
        if part.kind == PartKind.PLATE:  # connection plates: their own group, only when the frame has them
            return "plates"
        return STRESS_GROUPS.get(part.kind)

    def part_yield_MPa(self) -> dict[str, tuple[str, float]]:
        """(group, yield stress in MPa) of every part that has a stress group, by part name."""
        return {p.name: (self._stress_group(p), self.materials[tag].yield_stress_MPa)
                for tag, p in self.parts.items() if p.kind in STRESS_GROUPS or p.kind == PartKind.PLATE}

    def part_materials(self) -> dict[str, Material]:
        """The material of every beam part, by part name."""
        return {self.parts[tag].name: m for tag, m in self.materials.items()}

    def raw_responses(self) -> np.ndarray:
        """The six work-conjugate generalised displacements of the load point (mm; Cayley
        parameters at a node, linear tilts for a loaded ring). Collective."""
        return np.array([self._allsum(fem.assemble_scalar(f)) for f in self.response_forms])

    def motion(self, raw: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        """[u (mm), rotation vector (rad)] of the load point from raw responses, relative to
        the raw responses `reference` (a rotation relative to a rotation: exact)."""
        raw = np.asarray(raw, float)
        ref = np.zeros(6) if reference is None else np.asarray(reference, float)
        out = raw - ref
        if self.response_at_node:
            R = rotation_matrix(raw[3:]) @ rotation_matrix(ref[3:]).T
            out[3:] = rotation_vector(cayley_vector(R))
        return out

    def responses(self) -> np.ndarray:
        """Motion of the load point from the unloaded mesh: [u (mm), rotation (rad)]."""
        return self.motion(self.raw_responses())

    def gap_motion_mm(self) -> np.ndarray | None:
        """Displacement of the proximal gap face relative to the distal one (mm), from the
        unloaded mesh."""
        if self.gap_nodes is None:
            return None
        faces = self.point_values(self.gap_nodes)
        return faces[1, :3] - faces[0, :3]

    def part_axial_force_N(self, forces: np.ndarray, tag: int) -> float:
        """Length-weighted mean axial force of one part (N, tension positive; collective)."""
        cells = self.cells_of[tag]
        cells = cells[cells < self.num_owned_cells]
        length = self.cell_length_mm[cells]
        return self._allsum(float(np.dot(forces[cells, 0], length))) / self._allsum(float(length.sum()))

    def part_tag(self, name: str) -> int | None:
        return next((t for t, p in self.parts.items() if p.name == name), None)

    def regenerate_force_N(self, forces: np.ndarray) -> float | None:
        """Axial force through the gap: in the regenerate, or in contact once it closed (N)."""
        tag = self.part_tag("regenerate") or self.part_tag("gap_contact")
        return None if tag is None else self.part_axial_force_N(forces, tag)

    def contact_gaps(self) -> dict[int, float]:
        """The smallest fibre gap of every contact part (per cell length: > 0 open, <= 0
        touching), by part tag. Collective."""
        if not self.contact_tags:
            return {}
        nf = len(contact.fibres())
        n = self.num_owned_cells
        gaps = fem.assemble_vector(self.fibre_gap_form).array[: nf * n].reshape(-1, nf) / self.cell_length_mm[:n, None]
        removed = self.contact_props.x.array.reshape(-1, contact.N_COLUMNS)[:n, contact.REMOVED:contact.REMOVED + contact.N_ANGLES]
        gaps[np.repeat(removed, len(contact.LOBATTO), axis=1) >= 1.0 - 1e-12] = np.inf  # inside a butterfly's arc
        out = {}
        for tag in self.contact_tags:
            c = self.cells_of[tag]
            c = c[c < self.num_owned_cells]
            out[tag] = self.comm.allreduce(float(gaps[c].min()) if c.size else np.inf, op=MPI.MIN)
        return out

    def stored_energy(self) -> dict[str, float]:
        """Stored energy of each element kind (N*mm): beam, plastic, link, joint, contact
        (the incremental potentials of the path-dependent ones). Collective."""
        if self._energy_forms is None:  # compiled on first use (checks and tests)
            self._energy_forms = {k: self._bind(self._forms.compiled(f"energy_{k}", self.comm), [])
                                  for k in ("beam", "plastic", "link", "joint", "contact")}
        return {k: self._allsum(fem.assemble_scalar(f)) for k, f in self._energy_forms.items()}

    def internal_forces(self) -> np.ndarray:
        """The internal force vector (no load, no boundary conditions) of the current state:
        the owned entries. Zero at equilibrium wherever nothing holds the frame."""
        saved = self.load.value.copy()
        self.load.value[:] = 0.0
        b = self.b
        with b.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b, self.F_form)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        self.load.value[:] = saved
        return b.array.copy()

    # ------------------------------------------------------------------ pretension
    def _set_initial_strains(self, eps0: dict[str, float], olive_passages: bool = False) -> None:
        """The initial (tensioning) strain of each wire's cells. An olive wire is bonded to
        the bone at both cortices once clamped, so its passage through the bone keeps the
        tension it had while it slid through the drilled holes during tensioning: the
        target (`olive_passages`: strain -T/EA there, not the wire's eps0, which also makes
        up for the clamps' and rings' give and would over-tension a bonded passage)."""
        arr = self.props.x.array.reshape(-1, beam.N_COLUMNS)
        for name, tag in self.wire_tags.items():
            cells = self.cells_of[tag]
            arr[cells, EPS0] = eps0.get(name, 0.0)
            pull = self._olive_pull(name)
            if pull is not None:
                # pulled from the end away from its olive: the tensioner stretches the wire from its
                # clamp through the bone to the olive; the span from the olive to its own clamp (clamped
                # first) is not pretensioned: the olive bears on the cortex and carries the difference
                arr[self._span_cells(name, cells, pull[1]), EPS0] = 0.0
            if name in self._olive_passage_cells:
                inner = self._olive_passage_cells[name]
                arr[inner, EPS0] = -self._olive_target_N[name] / self.wire_EA_N[name] if olive_passages else 0.0
        self.props.x.scatter_forward()

    @property
    def _olive_passage_cells(self) -> dict[str, np.ndarray]:
        """The cells of each olive wire's passage through the bone (all local cells)."""
        if not hasattr(self, "_olive_passages"):
            self._olive_passages = {}
            self._olive_target_N = {}
            for w in self.scenario.wires:
                # an olive wire bonded at both cortices (olive_side: held at one, it slides through the other)
                if w.olive and w.olive_side is None and w.name in self.wire_tags and self.scenario.has_bone:
                    cells = self.cells_of[self.wire_tags[w.name]]
                    self._olive_passages[w.name] = np.setdiff1d(cells, self._span_cells(w.name, cells))
                    self._olive_target_N[w.name] = w.tension_N
        return self._olive_passages

    def influence_matrix(self, names: list[str], nominal: dict[str, float]) -> np.ndarray:
        """A[k, j]: mean tension of wire k per unit initial strain of wire j (linear, at rest)."""
        self.w.x.array[:] = 0.0
        self._set_initial_strains({})
        self._assemble_jacobian()
        A = np.zeros((len(names), len(names)))
        for j, name in enumerate(names):
            self.w.x.array[:] = 0.0
            self._set_initial_strains({name: nominal[name]})
            b = self._assemble_residual()
            dw = self._linear_solve(b, "pretension (influence of wire tension)")
            self.w.x.petsc_vec.array[:] = dw.array
            self.w.x.scatter_forward()
            mean, _ = self.wire_tensions_N(self.update_section_forces())
            A[:, j] = [mean[k] / nominal[name] for k in names]
        self.w.x.array[:] = 0.0
        self._set_initial_strains({})
        return A

    def _ramp_initial_strains(self, start: np.ndarray, context: str) -> int:
        """Equilibrium with the beams' initial strains (the EPS0 column) now set, reached from
        the equilibrium with `start` (the column before) by `_step_to` on the factor lam of
        EPS0 = start + lam (set - start): all at once if Newton converges, else in halved
        steps. Tensioning is the pretension's load: a step cut that did not scale it would
        only repeat the same failed solve (an open foot plate turns the frame above it by
        0.03 rad under its wires' pull, too far for one Newton solve from rest)."""
        arr = self.props.x.array.reshape(-1, beam.N_COLUMNS)
        target = arr[:, EPS0].copy()
        step = target - start

        def apply(lam: float) -> None:
            arr[:, EPS0] = target if lam == 1.0 else start + lam * step
            self.props.x.scatter_forward()

        try:
            return self._step_to(np.zeros(6), 0.0, 1.0, context, apply=apply)
        finally:
            apply(1.0)  # the strains the caller set, whatever happened

    def solve_pretension(self) -> PretensionResult:
        """Tension the wires and clamp them; the state becomes the reference for loads.

        Members that may yield are tensioned elastically first and then let yield (a
        tensioned wire is elastic: its target is below yield, which validation checks):
        Newton's first iterates on the way there are not physical, and a fibre "yielding"
        in them would give Newton a plastic tangent to start from."""
        t0 = time.perf_counter()
        yields = self._suspend_yield()
        mode = self.scenario.solver.tensioning
        names = list(self.wire_tags)
        target = {w.name: w.tension_N for w in self.scenario.wires if w.name in self.wire_tags}
        # an untensioned wire (target 0) still needs a unit of strain for its influence column
        nominal = {n: -(target[n] or 100.0) / self.wire_EA_N[n] for n in names}
        uncorrected = {}
        if mode == "initial_strain" or not names:
            eps0 = {n: -target[n] / self.wire_EA_N[n] for n in names}
        else:
            A = self.influence_matrix(names, nominal)
            T = np.array([target[n] for n in names])
            uncorrected = dict(zip(names, A @ np.array([nominal[n] for n in names])))
            if mode == "sequential":
                # wire k is tensioned to its target with wires 0..k-1 already clamped
                e = np.zeros(len(names))
                for k in range(len(names)):
                    e[k] = (T[k] - A[k, :k] @ e[:k]) / A[k, k]
            else:
                e = np.linalg.solve(A, T)
            eps0 = {n: e[k] for k, n in enumerate(names)}
        start = self.props.x.array.reshape(-1, beam.N_COLUMNS)[:, EPS0].copy()
        self._set_initial_strains(eps0, olive_passages=True)
        self.w.x.array[:] = 0.0
        self._ramp_initial_strains(start, PRETENSION_CONTEXT)
        if mode == "simultaneous" and names:
            for _ in range(5):  # correct for the (small) nonlinearity of clamping
                mean, _ = self.wire_tensions_N(self.update_section_forces())
                err = np.array([target[n] - mean[n] for n in names])
                if np.max(np.abs(err)) < 1e-6 * max(target.values()):
                    break
                de = np.linalg.solve(A, err)
                eps0 = {n: eps0[n] + de[k] for k, n in enumerate(names)}
                start = self.props.x.array.reshape(-1, beam.N_COLUMNS)[:, EPS0].copy()
                self._set_initial_strains(eps0, olive_passages=True)
                self._ramp_initial_strains(start, PRETENSION_CONTEXT)
        if yields is not None:  # now let them yield (they do not, below their yield stress)
            self._resume_yield(yields)
            self._step_to(np.zeros(6), 0.0, 1.0, "pretension (members that may yield)")
        forces = self.update_section_forces()
        achieved, _ = self.wire_tensions_N(forces)
        spans = self.wire_span_tensions_N(forces)
        self.pretensioned_state = self.w.x.array.copy()
        self._pretension_snapshot = self.snapshot()
        self._pretension_compliance = None
        self._reference_raw = self.raw_responses()
        self._reference_gap = self.gap_motion_mm()
        if mode == "initial_strain":
            uncorrected = dict(achieved)
        return PretensionResult(target, achieved, {n: float(eps0[n]) for n in names}, mode,
                                {n: float(v) for n, v in uncorrected.items()}, time.perf_counter() - t0, spans)

    def _suspend_yield(self) -> np.ndarray | None:
        """Make the yielding members elastic for now; their yield stresses to resume with."""
        if not self.plastic_tags:
            return None
        arr = self.plastic_props.x.array.reshape(-1, plastic_beam.N_COLUMNS)
        saved = arr[:, plastic_beam.YIELD].copy()
        arr[:, plastic_beam.YIELD] = np.where(saved > 0, 1e30, 0.0)
        self.plastic_props.x.scatter_forward()
        return saved

    def _resume_yield(self, saved: np.ndarray) -> None:
        self.plastic_props.x.array.reshape(-1, plastic_beam.N_COLUMNS)[:, plastic_beam.YIELD] = saved
        self.plastic_props.x.scatter_forward()

    def pretension_compliance(self) -> np.ndarray:
        """The tangent compliance (see `tangent_compliance`) at the pretensioned state, unloaded."""
        if self._pretension_compliance is None:
            self.restore(self._pretension_snapshot)
            self.load.value[:] = 0.0
            self._pretension_compliance = self.tangent_compliance()
        return self._pretension_compliance

    # ------------------------------------------------------------------ load cases
    def solve_load_case(self, name: str, on_step=None) -> LoadCaseResult:
        """Load the pretensioned frame step by step; record every step, and the exact
        load at which a contact closes as a step of its own.

        on_step(k, record): called on every rank after each recorded step (0 = unloaded),
        collectively."""
        t0 = time.perf_counter()
        spec = getattr(self.scenario.loads, name)
        component, sign, magnitude, load_vector = load_case_vector(self.scenario, name)
        result = LoadCaseResult(name, component=component, sign=sign,
                                direction=response_direction(self.scenario, name))
        self._response_direction = result.direction
        result.initial_compliance = self.pretension_compliance()
        self.restore(self._pretension_snapshot)
        self.load.value[:] = 0.0

        def record(lam, its, event=None):
            rec = self._record(lam, magnitude, component, sign, its)
            rec.event = event
            result.steps.append(rec)
            if on_step is not None:
                on_step(len(result.steps) - 1, rec)

        record(0.0, 0)
        open_gaps = {tag for tag, g in self.contact_gaps().items() if g > 0}
        ratio0, part0 = self.yield_ratio()
        yielded = ratio0 >= 1.0
        if yielded:
            result.first_yield = {"part": part0, "load": 0.0, "load_factor": 0.0, "step": 0}
        for k in range(1, spec.steps + 1):
            lam0, lam1 = (k - 1) / spec.steps, k / spec.steps
            context = f"load case {name!r}, step {k}/{spec.steps}"
            start = self.snapshot()
            its = self._step_to(load_vector, lam0, lam1, context)
            end = self.snapshot()
            events = []  # (load factor, state, kind, what): recorded in the order of the load
            gaps = self.contact_gaps()
            closed = [tag for tag in open_gaps if gaps[tag] <= 0]
            lam_a, state_a = lam0, start
            while closed:
                lam_e, state_e, tag = self._locate_contact(load_vector, lam_a, state_a, lam1, closed, context)
                events.append((lam_e, state_e, "contact", tag))
                self.restore(state_e)
                self.load.value[:] = lam_e * load_vector
                open_gaps.discard(tag)
                closed = [t for t in closed if t != tag and self.contact_gaps()[t] > 0]
                lam_a, state_a = lam_e, state_e
            if events:
                self.restore(end)
                self.load.value[:] = lam1 * load_vector
            if not yielded:
                ratio1, _ = self.yield_ratio()
                if ratio1 >= 1.0:
                    lam_y, part = self._locate_yield(load_vector, lam0, start, lam1, ratio1, context)
                    events.append((lam_y, self.snapshot(), "yield", part))
                    yielded = True
                    self.restore(end)
                    self.load.value[:] = lam1 * load_vector
            for lam_e, state_e, kind, what in sorted(events, key=lambda e: e[0]):
                self.restore(state_e)
                self.load.value[:] = lam_e * load_vector
                if kind == "contact":
                    part = self.parts[what].name
                    record(lam_e, 0, f"contact: {part}")
                    result.contact_events.append({"part": part, "load": lam_e * magnitude, "load_factor": lam_e,
                                                  "step": len(result.steps) - 1})
                else:
                    record(lam_e, 0, f"first yield: {what}")
                    result.first_yield = {"part": what, "load": lam_e * magnitude, "load_factor": lam_e,
                                          "step": len(result.steps) - 1}
            if events:
                self.restore(end)
                self.load.value[:] = lam1 * load_vector
            open_gaps = {tag for tag in open_gaps if gaps[tag] > 0}
            record(lam1, its)
        result.loading_steps = len(result.steps) - 1
        result.final_compliance = self.loading_tangent_compliance()
        if spec.cycles > 1:
            self._cycle(result, spec, load_vector, magnitude, component, sign, record)
        result.warnings = self._validity_warnings(result)
        result.solve_time_s = time.perf_counter() - t0
        return result

    def _cycle(self, result: LoadCaseResult, spec, load_vector, magnitude, component, sign, record) -> None:
        """Unload, and load and unload again, until `spec.cycles` load-unload cycles are done;
        record every step and, per cycle, the wires' tension and the load point's response
        at full load and unloaded. The frame ends unloaded."""
        for c in range(1, spec.cycles + 1):
            if c > 1:  # load again
                for k in range(1, spec.steps + 1):
                    its = self._step_to(load_vector, (k - 1) / spec.steps, k / spec.steps,
                                        f"load case {result.name!r}, cycle {c}, loading step {k}/{spec.steps}")
                    record(k / spec.steps, its)
            full = result.steps[-1]
            for k in range(spec.steps - 1, -1, -1):
                its = self._step_to(load_vector, (k + 1) / spec.steps, k / spec.steps,
                                    f"load case {result.name!r}, cycle {c}, unloading step {spec.steps - k}/{spec.steps}")
                record(k / spec.steps, its)
            unloaded = result.steps[-1]
            result.cycles.append({"cycle": c, "response_at_full_load": full.response,
                                  "response_unloaded": unloaded.response,
                                  "wire_tension_at_full_load_N": dict(full.wire_tension_N),
                                  "wire_tension_unloaded_N": dict(unloaded.wire_tension_N)})

    def _locate_contact(self, load_vector, lam_a, state_a, lam_b, tags, context):
        """The load factor in (lam_a, lam_b] at which the first of the contact parts `tags`
        (open at lam_a, closed at lam_b) closes, its state, and that part's tag.

        A Newton iteration on the load factor from the open side (the gap's rate from the
        tangent, one back-substitution), bracketed and falling back to bisection: the
        gap closes within EVENT_TOLERANCE of the step and of the cell's length."""
        a, wa, b = lam_a, state_a, lam_b
        step = lam_b - lam_a

        def first_gap():
            gaps = self.contact_gaps()
            tag = min(tags, key=lambda t: gaps[t])
            return gaps[tag], tag

        self.restore(wa)
        self.load.value[:] = a * load_vector
        ga, tag = first_gap()
        for _ in range(60):
            if ga <= EVENT_TOLERANCE or b - a <= EVENT_TOLERANCE * step:
                break
            rate = self._gap_rate(load_vector, tags)
            candidate = a - ga / rate if rate < 0 else 0.5 * (a + b)
            if not a < candidate < b:
                candidate = 0.5 * (a + b)
            self._solve_at(load_vector, candidate, wa, a, f"{context} (finding where the gap closes)")
            g, t = first_gap()
            if g > 0:
                a, wa, ga, tag = candidate, self.snapshot(), g, t
            else:
                b = candidate
                self.restore(wa)
                self.load.value[:] = a * load_vector
        return a, wa, tag

    def _forces_and_stresses(self) -> tuple[np.ndarray, dict[str, float]]:
        """Section forces and peak von Mises stress by part at the current state, computed
        once per state (a step's record and its yield check share them). Collective."""
        key = (hash(self.w.x.array.tobytes()), hash(self.plastic_strain.x.array.tobytes()),
               hash(self.joint_slip.x.array.tobytes()), hash(self.contact_slip.x.array.tobytes()))
        cached = getattr(self, "_stress_cache", None)
        if cached is None or cached[0] != key:
            forces = self.update_section_forces()
            by_part = self.von_mises_by_part_MPa(forces)
            elastic = self.von_mises_by_part_MPa(forces, fibres=False) if self.plastic_tags else by_part
            cached = self._stress_cache = (key, forces, by_part, elastic)
        return cached[1], cached[2]

    def yield_ratio(self) -> tuple[float, str | None]:
        """The highest ratio of peak von Mises stress to the part's own yield over the
        frame's metal parts (not the bone), and that part (collective). The peak is the
        sections' elastic estimate at the cells' ends for every member, members that may
        yield too: first yield is where it reaches yield, located exactly whatever the load
        steps (the fibres' return-mapped stresses, reported as the peaks, level off at yield
        and sit at the cells' quadrature points)."""
        self._forces_and_stresses()
        by_part = self._stress_cache[3]
        yields = self._frame_yields()
        best, where = 0.0, None
        for part, (_, y) in yields.items():
            r = by_part.get(part, 0.0) / y
            if r > best:
                best, where = r, part
        return best, where

    def _frame_yields(self) -> dict[str, tuple[str, float]]:
        if not hasattr(self, "_frame_yield_cache"):
            self._frame_yield_cache = {n: gy for n, gy in self.part_yield_MPa().items() if gy[0] != "bone"}
        return self._frame_yield_cache

    def _locate_yield(self, load_vector, lam_a, state_a, lam_b, ratio_b, context) -> tuple[float, str]:
        """The load factor in (lam_a, lam_b] at which the highest stress first reaches its
        part's yield (below at lam_a, at or above at lam_b): the Illinois variant of
        regula falsi on (stress / yield - 1), to YIELD_EVENT_TOLERANCE; leaves the model at
        that state. Each trial is an equilibrium solved from the highest load known to be
        below the first yield (nothing has yielded there, so the path does not matter and
        no member carries a plastic history across trials)."""
        a, b, wa = lam_a, lam_b, state_a
        self.restore(state_a)
        self.load.value[:] = a * load_vector
        fa, _ = self.yield_ratio()
        fa, fb = fa - 1.0, ratio_b - 1.0
        side = 0
        lam, part = b, None
        for _ in range(60):
            lam = b - fb * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
            if not a < lam < b:
                lam = 0.5 * (a + b)
            self._solve_at(load_vector, lam, wa, a, f"{context} (finding where the frame first yields)")
            r, part = self.yield_ratio()
            f = r - 1.0
            if abs(f) <= YIELD_EVENT_TOLERANCE or b - a <= EVENT_TOLERANCE * (lam_b - lam_a):
                break
            if f < 0:
                a, fa, wa = lam, f, self.snapshot()
                if side == -1:
                    fb *= 0.5
                side = -1
            else:
                b, fb = lam, f
                if side == 1:
                    fa *= 0.5
                side = 1
        return lam, part

    def _gap_rate(self, load_vector, tags) -> float:
        """d(smallest fibre gap of `tags`)/d(load factor) at the current state (collective)."""
        gaps0 = self.contact_gaps()
        self._assemble_jacobian()
        dw = self._linear_solve(self._load_rhs(load_vector), "contact event (gap rate)")
        saved = self.w.x.array.copy()
        h = 1e-6
        self.w.x.petsc_vec.axpy(h, dw)
        self.w.x.scatter_forward()
        gaps1 = self.contact_gaps()
        self.w.x.array[:] = saved
        self.w.x.scatter_forward()
        first = min(tags, key=lambda t: gaps0[t])
        return (gaps1[first] - gaps0[first]) / h

    def _validity_warnings(self, result: LoadCaseResult) -> list[str]:
        """What puts a load case outside the model's range: a loaded end that turns far
        more than in bench tests (a frame that is barely held). SolverError if a point of
        the frame moved further than MAX_DISPLACEMENT_FRACTION of the frame's size (a
        mechanism, not a frame)."""
        out = []
        size = self._frame_size_mm()
        u = self.w.x.array.reshape(-1, 6)[: self.V.dofmap.index_map.size_local, :3]
        largest = self.comm.allreduce(float(np.linalg.norm(u, axis=1).max()) if len(u) else 0.0, op=MPI.MAX)
        if largest > MAX_DISPLACEMENT_FRACTION * size:
            raise SolverError(
                f"load case {result.name!r}: a point of the frame moved {largest:.0f} mm, more than "
                f"{100 * MAX_DISPLACEMENT_FRACTION:.0f} % of the frame's size ({size:.0f} mm): the bone is barely "
                "held (a mechanism or nearly one). Hold each fragment with wires at two angles, an olive wire "
                "or a half pin, or lower the load")
        motion = self.motion(self.raw_responses(), self._reference_raw)
        turn = float(np.degrees(np.linalg.norm(motion[3:])))
        if turn > MAX_ROTATION_DEG:
            out.append(f"load case {result.name!r}: the loaded end turns {turn:.1f} deg, beyond the "
                       f"{MAX_ROTATION_DEG:g} deg of bench tests: the frame is barely held, and real wires would "
                       "yield or slip long before")
        g = self.gap_motion_mm() if self.scenario.has_bone else None
        if g is not None:
            shear = float(np.hypot(g[0], g[1]))
            diameter = 2.0 * self.scenario.bone_radii_mm(self.scenario.gap.level_mm)[0]
            if shear > MAX_SHEAR_FRACTION * diameter:
                out.append(f"load case {result.name!r}: the fragment ends slid {shear:.1f} mm across each other, "
                           f"more than {100 * MAX_SHEAR_FRACTION:.0f} % of the bone's diameter ({diameter:.0f} mm): "
                           "the contact keeps the ends' whole overlap and does not follow their shrinking contact "
                           "area, so the numbers past that point are an idealisation (an oblique fracture without "
                           "friction is the upper bound of shear: [gap] friction_coefficient)")
        return out

    def _frame_size_mm(self) -> float:
        pts = np.asarray(self.frame.plan.points)
        return float(np.max(pts.max(axis=0) - pts.min(axis=0)))

    def solve_load(self, load_vector, steps: int = 1, context: str = "load") -> list[np.ndarray]:
        """Load the current state by [Fx, Fy, Fz (N), Mx, My, Mz (N*mm)] at the load point
        in equal steps; return the motion [u (mm), rotation (rad)] of the load point from
        the unloaded mesh after each step."""
        load_vector = np.asarray(load_vector, dtype=float)
        out = []
        for k in range(1, steps + 1):
            self._step_to(load_vector, (k - 1) / steps, k / steps, f"{context}, step {k}/{steps}")
            out.append(self.responses())
        return out

    def _record(self, lam, magnitude, component, sign, iterations) -> StepRecord:
        forces, by_part = self._forces_and_stresses()
        mean, peak = self.wire_tensions_N(forces)
        raw = self.raw_responses()
        gap = self.gap_motion_mm()
        gap_rel = None if gap is None else gap - self._reference_gap
        d = getattr(self, "_response_direction", None)
        return StepRecord(lam, lam * magnitude,
                          signed_response(self.motion(raw, self._reference_raw), component, sign, d),
                          mean, peak, self.peak_von_mises_MPa(forces, by_part), gap_rel,
                          self.regenerate_force_N(forces), iterations,
                          response_absolute=signed_response(self.motion(raw), component, sign, d),
                          gap_motion_absolute_mm=gap, von_mises_by_part_MPa=by_part)

    # ------------------------------------------------------------------ output
    def gather_lines(self) -> dict | None:
        """Nodes, cells, part tags, displacements, section forces and peak von Mises stress per
        cell on rank 0 (None elsewhere). Collective."""
        imap = self.V.dofmap.index_map
        n_owned = imap.size_local
        coords = self.V.tabulate_dof_coordinates()[:n_owned]
        values = self.w.x.array.reshape(-1, 6)[:n_owned]
        global_nodes = imap.local_range[0] + np.arange(n_owned)
        cells_local = self.V.dofmap.list[: self.num_owned_cells]
        cells = imap.local_to_global(cells_local.ravel()).reshape(-1, 2)
        forces = self.update_section_forces()
        tags = self.cell_part_tag[: self.num_owned_cells]
        vm = self.cell_von_mises_MPa(forces)
        parts = self.comm.gather((global_nodes, coords, values, cells, tags, forces.copy(), vm), root=0)
        if self.comm.rank != 0:
            return None
        n = imap.size_global
        X, U = np.zeros((n, 3)), np.zeros((n, 6))
        for g, c, v, *_ in parts:
            X[g], U[g] = c, v
        return {
            "points_mm": X,
            "displacement_mm": U[:, :3],
            "rotation_rad": rotation_vector(U[:, 3:]),
            "cells": np.vstack([p[3] for p in parts]),
            "part_tag": np.concatenate([p[4] for p in parts]),
            "section_forces": np.vstack([p[5] for p in parts]),
            "von_mises_MPa": np.concatenate([p[6] for p in parts]),
        }

    @property
    def num_dofs(self) -> int:
        return self.V.dofmap.index_map.size_global * self.V.dofmap.index_map_bs

    @property
    def num_cells(self) -> int:
        return self.mesh.topology.index_map(1).size_global
