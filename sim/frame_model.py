"""The frame model: geometrically nonlinear 3D Timoshenko beams on a line network.

Unknowns at every node: displacement u (mm) and small rotation theta (rad), P1 on each
line cell. Along a member with unit tangent t and section axes n1, n2 (u' = du/ds):

    axial strain     eps   = |t + u'| - 1          (exact stretch: tension stiffening)
    shear strains    g_i   = n_i . (u' - theta x t)
    twist, bending   k_t   = t . theta',  k_i = n_i . theta'

    axial force      N     = EA (eps - eps0)      (eps0 < 0: wire pretension)

A member may also have a natural length lambda0 times its meshed length (a threaded rod
lengthened by turning its nuts, a regenerate that has grown in a widening gap). Its
strains are then measured per natural length, eps = |t + u'| / lambda0 - 1,
g_i = n_i . (u' / lambda0 - theta x t), k = theta' / lambda0, and its energy per meshed
length is lambda0 times the energy density: a 120 mm rod meshed on an 80 mm segment is
as compliant as a 120 mm rod. lambda0 = 1 everywhere unless the timeline sets it.

The axial strain is the exact stretch of the member's axis, so a wire carries its
tension into the transverse direction (string effect) and stiffens as it deflects: the
large-deflection string solution of physics.md is exact for it, and for small
deflections it equals the Green-Lagrange strain t.u' + |u'|^2/2 to second order.
Bending and shear use the small-rotation (moderate rotation) theory, which is all a
fixator's members see. Shear terms are integrated with one point (reduced integration,
free of shear locking for thin wires).

Connections (wire to bone, wire clamps, half pin to bone) are stiff link cells that
penalise relative motion; a smooth wire's link leaves sliding along and spinning about
the wire's axis free. Pretension is an initial strain eps0 in each wire, found so that
the wires reach their targets as they are clamped (see `SolverSettings.tensioning`).
Newton with load stepping (automatic step cutting) and a direct LU solver.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

import sim.fenicsx  # noqa: F401  (must precede dolfinx)
import ufl
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from meshes.frame_network import FrameMesh
from meshes.tags import Marker, PartKind
from sim.materials import Material, material, regenerate_material
from sim.scenario import Scenario
from sim.sections import BeamProperties, Section, beam_properties, circle, rectangle, tube, von_mises_MPa
from sim.units import NMM_PER_NM

# layout of the per-cell property field
EA, GA1, GA2, GJ, EI1, EI2, EPS0, K_LINK, KR_LINK, RELEASE, K_CONTACT, LAMBDA0, CONTACT_GAP = range(13)
N_PROPS = 13
CONTACT_LENGTH_MM = 10.0  # contact stiffness = EA of the bone over this length
# a soft-tissue-filled gap cannot be squeezed to nothing: the fragment ends touch when
# it is down to this fraction of its meshed length (and the tissue cell never inverts)
REGENERATE_MIN_LENGTH_FRACTION = 0.1
LINK_STIFFNESS_FACTOR = 1e2  # links are this many times stiffer than the stiffest part

STRESS_GROUPS = {
    PartKind.BONE: "bone",
    PartKind.WIRE: "wires",
    PartKind.RING: "rings",
    PartKind.ROD: "rods",
    PartKind.HALF_PIN: "half_pins",
    PartKind.POST: "half_pins",
    PartKind.STRUT: "struts",
}


class SolverError(RuntimeError):
    """The nonlinear or linear solve failed; the message says where and what to change."""


@dataclass
class StepRecord:
    """State of the frame at one converged load step (units in the key names)."""

    load_factor: float
    load: float  # N for axial, N*m for moments
    response: float  # mm (axial shortening) or deg (rotation)
    wire_tension_N: dict[str, float]
    wire_tension_max_N: dict[str, float]
    max_von_mises_MPa: dict[str, float]
    gap_motion_mm: np.ndarray | None  # proximal minus distal gap face displacement (x, y, z)
    regenerate_force_N: float | None  # axial force through the gap (negative = compression)
    newton_iterations: int


@dataclass
class LoadCaseResult:
    name: str
    steps: list[StepRecord] = field(default_factory=list)
    solve_time_s: float = 0.0


@dataclass
class PretensionResult:
    target_N: dict[str, float]
    achieved_N: dict[str, float]
    initial_strain: dict[str, float]
    mode: str
    uncorrected_N: dict[str, float]  # tension if eps0 = -T/(EA) were applied (ring compliance loss)
    solve_time_s: float = 0.0


LOAD_DIRECTIONS = {  # load case -> (component of [Fx, Fy, Fz, Mx, My, Mz], sign)
    "axial": (2, -1.0),  # force along -z, magnitude in N
    "bending_ap": (3, 1.0),  # moment about x
    "bending_ml": (4, 1.0),  # moment about y
    "torsion": (5, 1.0),  # moment about z
}


def load_case_vector(scenario: Scenario, name: str) -> tuple[int, float, float, np.ndarray]:
    """Load case `name` of the scenario at full load: the component and sign of its load,
    its magnitude (N for axial, N*m for the moments) and the load vector
    [Fx, Fy, Fz (N), Mx, My, Mz (N*mm)] at the load point. Shared by both models."""
    spec = getattr(scenario.loads, name)
    component, sign = LOAD_DIRECTIONS[name]
    magnitude = spec.force_N if name == "axial" else spec.moment_Nm
    vector = np.zeros(6)
    vector[component] = sign * magnitude * (1.0 if name == "axial" else NMM_PER_NM)
    return component, sign, magnitude, vector


def signed_response(responses: np.ndarray, component: int, sign: float) -> float:
    """The response of a load case from the six work-conjugate displacements (mm, rad):
    along the load (mm; compression > 0 for axial) or about it (deg)."""
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

        # geometry of every local cell: tangent, section axes, length
        x = mesh.geometry.x
        nodes = mesh.geometry.dofmaps[0][:num_cells]
        d = x[nodes[:, 1]] - x[nodes[:, 0]]
        self.cell_length_mm = np.linalg.norm(d, axis=1)
        self.cell_midpoint_mm = 0.5 * (x[nodes[:, 0]] + x[nodes[:, 1]])
        t = d / self.cell_length_mm[:, None]
        ez, ex = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
        ref = np.where((np.abs(t[:, 2]) < 0.9)[:, None], ez, ex)
        n1 = ref - np.sum(ref * t, axis=1)[:, None] * t
        n1 /= np.linalg.norm(n1, axis=1)[:, None]
        n2 = np.cross(t, n1)

        self.V = fem.functionspace(mesh, ("Lagrange", 1, (6,)))
        V0v = fem.functionspace(mesh, ("DG", 0, (3,)))
        self.t, self.n1, self.n2, self.release_axis = (fem.Function(V0v) for _ in range(4))
        for f, arr in ((self.t, t), (self.n1, n1), (self.n2, n2)):
            f.x.array[: 3 * num_cells] = arr.ravel()
        self.props = fem.Function(fem.functionspace(mesh, ("DG", 0, (N_PROPS,))))
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

    # ------------------------------------------------------------------ setup
    def _section_and_material(self, part) -> tuple[Section, Material]:
        s = self.scenario
        if part.kind == PartKind.BONE:
            return tube(s.bone.outer_diameter_mm, s.bone.inner_diameter_mm), material(s.bone.material)
        if part.kind == PartKind.REGENERATE:
            reg = s.gap.regenerate
            mat = regenerate_material(reg.youngs_modulus_MPa, reg.poisson_ratio)
            return tube(s.bone.outer_diameter_mm, s.bone.inner_diameter_mm, mat.poisson_ratio), mat
        if part.kind == PartKind.RING:
            r = s.ring(part.source)
            return rectangle(r.width_mm, r.thickness_mm), material(r.material)
        if part.kind == PartKind.WIRE:
            w = next(w for w in s.wires if w.name == part.source)
            return circle(w.diameter_mm), material(w.material)
        if part.kind == PartKind.ROD:
            rod = next(r for r in s.rods if r.name == part.source)
            return circle(rod.diameter_mm), material(rod.material)
        if part.kind == PartKind.STRUT:
            return circle(s.hexapod.strut_diameter_mm), material(s.hexapod.strut_material)
        pin = next(p for p in s.half_pins if p.name == part.source)
        if part.kind == PartKind.HALF_PIN:
            return circle(pin.diameter_mm), material(pin.material)
        if part.kind == PartKind.POST:
            return circle(pin.post_diameter_mm), material(pin.material)
        raise KeyError(part.kind)

    def _assign_properties(self, num_cells: int) -> None:
        self.sections: dict[int, Section] = {}
        self.materials: dict[int, Material] = {}
        beam: dict[int, BeamProperties] = {}
        for tag, part in self.parts.items():
            if not part.is_link and part.kind != PartKind.GAP_CONTACT:
                sec, mat = self._section_and_material(part)
                self.sections[tag], self.materials[tag] = sec, mat
                beam[tag] = beam_properties(sec, mat)
        k_link = LINK_STIFFNESS_FACTOR * max(b.EA_N for b in beam.values())
        kr_link = LINK_STIFFNESS_FACTOR * max(max(b.EI1_Nmm2, b.EI2_Nmm2) for b in beam.values())
        props = np.zeros((num_cells, N_PROPS))
        props[:, LAMBDA0] = 1.0
        axis = np.zeros((num_cells, 3))
        self.cells_of: dict[int, np.ndarray] = {}
        for tag, part in self.parts.items():
            cells = np.flatnonzero(self.cell_part_tag == tag)
            self.cells_of[tag] = cells
            if part.kind in (PartKind.GAP_CONTACT, PartKind.REGENERATE):
                # the fragment ends touch once the gap (empty or filled with soft tissue) has closed
                bone = beam_properties(tube(self.scenario.bone.outer_diameter_mm, self.scenario.bone.inner_diameter_mm),
                                       material(self.scenario.bone.material))
                props[cells, K_CONTACT] = bone.EA_N * self.cell_length_mm[cells] / CONTACT_LENGTH_MM
                if part.kind == PartKind.REGENERATE:
                    props[cells, CONTACT_GAP] = REGENERATE_MIN_LENGTH_FRACTION
            if part.kind == PartKind.GAP_CONTACT:
                pass
            elif part.is_link:
                props[cells, K_LINK] = k_link
                props[cells, KR_LINK] = kr_link
                if part.release_axis_xyz is not None:
                    props[cells, RELEASE] = 1.0
                    axis[cells] = part.release_axis_xyz
            elif part.kind == PartKind.STRUT:  # pinned at both ends (universal joints): axial force only
                props[cells, EA] = beam[tag].EA_N
            else:
                bp = beam[tag]
                props[cells, EA:EI2 + 1] = (bp.EA_N, bp.GA1_N, bp.GA2_N, bp.GJ_Nmm2, bp.EI1_Nmm2, bp.EI2_Nmm2)
        self.props.x.array[: N_PROPS * num_cells] = props.ravel()
        self.release_axis.x.array[: 3 * num_cells] = axis.ravel()
        self.props.x.scatter_forward()
        self.release_axis.x.scatter_forward()
        self.wire_tags = {p.source: tag for tag, p in self.parts.items() if p.kind == PartKind.WIRE}
        self.wire_EA_N = {name: beam[tag].EA_N for name, tag in self.wire_tags.items()}

    def _strains(self, w):
        """Axial strain, shear strain vector, curvature vector and u' of the state w."""
        t, lam = self.t, self.props[LAMBDA0]
        u, th = ufl.as_vector([w[0], w[1], w[2]]), ufl.as_vector([w[3], w[4], w[5]])
        du = ufl.dot(ufl.grad(u), t)
        dth = ufl.dot(ufl.grad(th), t)
        stretch = ufl.sqrt(ufl.dot(t + du, t + du))
        gamma = du / lam - ufl.cross(th, t)
        return stretch / lam - 1.0, gamma, dth / lam, du

    def _build_forms(self) -> None:
        p, a = self.props, self.release_axis
        eps, gamma, dth, du = self._strains(self.w)
        n1, n2, t = self.n1, self.n2, self.t
        beam_energy = 0.5 * p[LAMBDA0] * (p[EA] * (eps - p[EPS0]) ** 2 + p[GA1] * ufl.dot(gamma, n1) ** 2
                             + p[GA2] * ufl.dot(gamma, n2) ** 2 + p[GJ] * ufl.dot(dth, t) ** 2
                             + p[EI1] * ufl.dot(dth, n1) ** 2 + p[EI2] * ufl.dot(dth, n2) ** 2)
        link_energy = 0.5 * (p[K_LINK] * (ufl.dot(gamma, gamma) - p[RELEASE] * ufl.dot(a, gamma) ** 2)
                             + p[KR_LINK] * (ufl.dot(dth, dth) - p[RELEASE] * ufl.dot(a, dth) ** 2))
        # a closed gap: penalty on the overlap of the fragment faces, c - (closure + 1) > 0, where
        # c = 0 for an empty gap and a small remaining thickness for one filled with tissue
        closure = ufl.dot(du, t)
        self.overlap = ufl.max_value(p[CONTACT_GAP] - (closure + 1.0), 0.0)
        contact_energy = 0.5 * p[K_CONTACT] * self.overlap ** 2
        self.dx = ufl.Measure("dx", domain=self.mesh, subdomain_data=self.frame.cell_tags,
                              metadata={"quadrature_degree": 1})
        v = ufl.TestFunction(self.V)
        dw = ufl.TrialFunction(self.V)

        # generalised displacements work-conjugate to self.load
        self.response_exprs, self.response_measure = self._response_definitions()
        internal = ufl.derivative((beam_energy + link_energy + contact_energy) * self.dx, self.w, v)
        external = sum(self.load[i] * self._response_of(v, i) for i in range(6))
        F = internal - external
        self.F_form = fem.form(F)
        self.J_form = fem.form(ufl.derivative(F, self.w, dw))
        self.response_forms = [fem.form(self._response_of(self.w, i)) for i in range(6)]
        forces = ufl.as_vector([p[EA] * (eps - p[EPS0]) - p[K_CONTACT] * self.overlap, p[GA1] * ufl.dot(gamma, n1), p[GA2] * ufl.dot(gamma, n2),
                                p[GJ] * ufl.dot(dth, t), p[EI1] * ufl.dot(dth, n1), p[EI2] * ufl.dot(dth, n2)])
        self.section_forces = fem.Function(fem.functionspace(self.mesh, ("DG", 0, (6,))))
        self.section_forces_expr = fem.Expression(forces, np.array([[0.5]]))

    def _response_definitions(self):
        """Integrands D_i(w) such that the load does work sum_i P_i * D_i.

        bone_bench: the displacement and rotation of the proximal end of the bone.
        frame_only: the rigid motion of the top ring that is work-conjugate to a load
        spread over it (mean axial displacement; rotations from the ring's tilt and twist).
        """
        mesh = self.mesh
        if self.load_point is not None:
            marker, at_end = self.load_point
            if at_end:
                return [lambda w, i=i: w[i] for i in range(6)], ufl.Measure(
                    "ds", domain=mesh, subdomain_data=self.frame.facet_tags)(int(marker))
            return [lambda w, i=i: w("+")[i] for i in range(6)], ufl.Measure(
                "dS", domain=mesh, subdomain_data=self.frame.facet_tags)(int(marker))
        if self.scenario.has_bone:
            ds = ufl.Measure("ds", domain=mesh, subdomain_data=self.frame.facet_tags)
            measure = ds(int(Marker.BONE_PROXIMAL_END))
            return [lambda w, i=i: w[i] for i in range(6)], measure
        top = self.scenario.rings_by_level()[-1]
        tag = next(tag for tag, p in self.parts.items() if p.kind == PartKind.RING and p.source == top.name)
        measure = ufl.Measure("dx", domain=mesh, subdomain_data=self.frame.cell_tags)(tag)
        xs = ufl.SpatialCoordinate(mesh)
        cx, cy = top.centre_xy_mm
        X, Y = xs[0] - cx, xs[1] - cy

        def integral(e):
            return self.comm.allreduce(fem.assemble_scalar(fem.form(e * measure)), op=MPI.SUM)

        length, ixx, iyy = integral(1.0), integral(Y * Y), integral(X * X)
        ipp = ixx + iyy
        exprs = [
            lambda w: w[0] / length,
            lambda w: w[1] / length,
            lambda w: w[2] / length,
            lambda w: w[2] * Y / ixx,
            lambda w: -w[2] * X / iyy,
            lambda w: (X * w[1] - Y * w[0]) / ipp,
        ]
        return exprs, measure

    def _response_of(self, w, i):
        return self.response_exprs[i](w) * self.response_measure

    def _build_bcs(self) -> None:
        if self.supports is not None:
            facets = np.concatenate([self.frame.facet_tags.find(int(m)) for m in self.supports])
            dofs = fem.locate_dofs_topological(self.V, 0, facets)
        elif self.scenario.has_bone:
            facets = self.frame.facet_tags.find(int(Marker.BONE_DISTAL_END))
            dofs = fem.locate_dofs_topological(self.V, 0, facets)
        else:
            bottom = self.scenario.rings_by_level()[0]
            tag = next(tag for tag, p in self.parts.items() if p.kind == PartKind.RING and p.source == bottom.name)
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
        """Displacement (mm) and rotation (rad) of plan points, (k, 6), on every rank (collective)."""
        vals = self.w.x.array.reshape(-1, 6)
        local = np.zeros((len(point_indices), 6))
        for k, idx in enumerate(point_indices):
            node = self._owned_node_of_point(int(idx))
            if node >= 0:
                local[k] = vals[node]
        return self.comm.allreduce(local, op=MPI.SUM)

    def set_cell_properties(self, cells: np.ndarray, values: dict[int, float | np.ndarray]) -> None:
        """Set property columns (EA, EPS0, LAMBDA0, ...) of local cells (owned and ghost).

        Every rank must call it with its own local cells of the same parts (collective)."""
        arr = self.props.x.array.reshape(-1, N_PROPS)
        for column, value in values.items():
            arr[cells, column] = value
        self.props.x.scatter_forward()

    def cell_properties(self, cells: np.ndarray) -> np.ndarray:
        return self.props.x.array.reshape(-1, N_PROPS)[cells].copy()

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
        if solver != "petsc":
            pc.setFactorSolverType(solver)
        return ksp

    # ------------------------------------------------------------------ algebra
    def _assemble_residual(self) -> PETSc.Vec:
        b = self.b
        with b.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b, self.F_form)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        b.scale(-1.0)
        fem_petsc.set_bc(b, self.bcs)
        return b

    def _assemble_jacobian(self) -> None:
        self.A.zeroEntries()
        fem_petsc.assemble_matrix(self.A, self.J_form, bcs=self.bcs)
        self.A.assemble()

    def _linear_solve(self, b: PETSc.Vec, context: str) -> PETSc.Vec:
        self.ksp.setOperators(self.A)
        try:
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
            self.w.x.petsc_vec.axpy(1.0, dw)
            self.w.x.scatter_forward()
            self.newton_iterations_total += 1
            if dw.norm() <= 1e-10 * max(1.0, self.w.x.petsc_vec.norm()) and it > 0:
                return True, it + 1, r
        return False, sv.newton_max_iterations, r

    def _step_to(self, load_vector: np.ndarray, lam0: float, lam1: float, context: str) -> int:
        """Advance the load factor from lam0 to lam1, halving the increment on failure."""
        max_cuts = self.scenario.solver.max_step_cuts
        lam, dlam, cuts, iterations = lam0, lam1 - lam0, 0, 0
        while lam < lam1 - 1e-14 * max(1.0, abs(lam1)):
            saved = self.w.x.array.copy()
            target = min(lam + dlam, lam1)
            self.load.value[:] = target * load_vector
            ok, its, res = self._newton(context)
            iterations += its
            if ok:
                lam = target
                continue
            self.w.x.array[:] = saved
            cuts += 1
            if cuts > max_cuts:
                raise SolverError(
                    f"{context}: Newton did not converge at load factor {target:.4g} (residual {res:.3g} after "
                    f"{its} iterations, {max_cuts} step cuts). Use more load steps, a smaller load, or check for a "
                    "part that is barely held (a slack wire, a wire off the bone)")
            dlam *= 0.5
        return iterations

    # ------------------------------------------------------------------ measures
    def update_section_forces(self) -> np.ndarray:
        """Section forces [N, V1, V2, T (N), M1, M2 (N*mm)] of the owned cells."""
        self.section_forces.interpolate(self.section_forces_expr)
        return self.section_forces.x.array.reshape(-1, 6)[: self.num_owned_cells]

    def _allsum(self, value):
        return self.comm.allreduce(value, op=MPI.SUM)

    def wire_tensions_N(self, forces: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
        """Length-weighted mean and peak axial force of each wire (N, tension positive)."""
        mean, peak = {}, {}
        length = self.cell_length_mm[: self.num_owned_cells]
        for name, tag in self.wire_tags.items():
            cells = self.cells_of[tag]
            cells = cells[cells < self.num_owned_cells]
            n = forces[cells, 0]
            mean[name] = self._allsum(float(np.dot(n, length[cells]))) / self._allsum(float(length[cells].sum()))
            peak[name] = self.comm.allreduce(float(n.max()) if n.size else -np.inf, op=MPI.MAX)
        return mean, peak

    def peak_von_mises_MPa(self, forces: np.ndarray) -> dict[str, float]:
        """Peak von Mises stress per group of parts (bone, wires, rings, rods, half_pins)."""
        peaks = {g: 0.0 for g in STRESS_GROUPS.values()}
        for tag, part in self.parts.items():
            group = STRESS_GROUPS.get(part.kind)
            if group is None:
                continue
            cells = self.cells_of[tag]
            cells = cells[cells < self.num_owned_cells]
            if cells.size:
                f = forces[cells]
                vm = von_mises_MPa(self.sections[tag], f[:, 0], f[:, 1], f[:, 2], f[:, 3], f[:, 4], f[:, 5])
                peaks[group] = max(peaks[group], float(vm.max()))
        return {g: self.comm.allreduce(v, op=MPI.MAX) for g, v in peaks.items()}

    def responses(self) -> np.ndarray:
        return np.array([self._allsum(fem.assemble_scalar(f)) for f in self.response_forms])

    def gap_motion_mm(self) -> np.ndarray | None:
        """Displacement of the proximal gap face relative to the distal one (mm)."""
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

    # ------------------------------------------------------------------ pretension
    def _set_initial_strains(self, eps0: dict[str, float]) -> None:
        arr = self.props.x.array.reshape(-1, N_PROPS)
        for name, tag in self.wire_tags.items():
            arr[self.cells_of[tag], EPS0] = eps0.get(name, 0.0)
        self.props.x.scatter_forward()

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

    def solve_pretension(self) -> PretensionResult:
        """Tension the wires and clamp them; the state becomes the reference for loads."""
        t0 = time.perf_counter()
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
        self._set_initial_strains(eps0)
        self.w.x.array[:] = 0.0
        self._step_to(np.zeros(6), 0.0, 1.0, "pretension")
        if mode == "simultaneous" and names:
            for _ in range(5):  # correct for the (small) nonlinearity of clamping
                mean, _ = self.wire_tensions_N(self.update_section_forces())
                err = np.array([target[n] - mean[n] for n in names])
                if np.max(np.abs(err)) < 1e-6 * max(target.values()):
                    break
                de = np.linalg.solve(A, err)
                eps0 = {n: eps0[n] + de[k] for k, n in enumerate(names)}
                self._set_initial_strains(eps0)
                self._step_to(np.zeros(6), 0.0, 1.0, "pretension")
        achieved, _ = self.wire_tensions_N(self.update_section_forces())
        self.pretensioned_state = self.w.x.array.copy()
        if mode == "initial_strain":
            uncorrected = dict(achieved)
        return PretensionResult(target, achieved, {n: float(eps0[n]) for n in names}, mode,
                                {n: float(v) for n, v in uncorrected.items()}, time.perf_counter() - t0)

    # ------------------------------------------------------------------ load cases
    def solve_load_case(self, name: str, on_step=None) -> LoadCaseResult:
        """Load the pretensioned frame step by step; record every step.

        on_step(k, record): called on every rank after step k (0 = unloaded), collectively."""
        t0 = time.perf_counter()
        spec = getattr(self.scenario.loads, name)
        component, sign, magnitude, load_vector = load_case_vector(self.scenario, name)
        self.w.x.array[:] = self.pretensioned_state
        result = LoadCaseResult(name)
        result.steps.append(self._record(0.0, magnitude, component, sign, 0))
        if on_step is not None:
            on_step(0, result.steps[-1])
        for k in range(1, spec.steps + 1):
            lam0, lam1 = (k - 1) / spec.steps, k / spec.steps
            its = self._step_to(load_vector, lam0, lam1, f"load case {name!r}, step {k}/{spec.steps}")
            result.steps.append(self._record(lam1, magnitude, component, sign, its))
            if on_step is not None:
                on_step(k, result.steps[-1])
        result.solve_time_s = time.perf_counter() - t0
        return result

    def solve_load(self, load_vector, steps: int = 1, context: str = "load") -> list[np.ndarray]:
        """Load the current state by [Fx, Fy, Fz (N), Mx, My, Mz (N*mm)] at the load point
        in equal steps; return the work-conjugate displacements (mm, rad) after each step."""
        load_vector = np.asarray(load_vector, dtype=float)
        out = []
        for k in range(1, steps + 1):
            self._step_to(load_vector, (k - 1) / steps, k / steps, f"{context}, step {k}/{steps}")
            out.append(self.responses())
        return out

    def _record(self, lam, magnitude, component, sign, iterations) -> StepRecord:
        forces = self.update_section_forces()
        mean, peak = self.wire_tensions_N(forces)
        resp = signed_response(self.responses(), component, sign)
        return StepRecord(lam, lam * magnitude, resp, mean, peak, self.peak_von_mises_MPa(forces),
                          self.gap_motion_mm(), self.regenerate_force_N(forces), iterations)

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
        vm = np.zeros(self.num_owned_cells)
        for tag, section in self.sections.items():
            c = self.cells_of[tag]
            c = c[c < self.num_owned_cells]
            if c.size:
                f = forces[c]
                vm[c] = von_mises_MPa(section, f[:, 0], f[:, 1], f[:, 2], f[:, 3], f[:, 4], f[:, 5])
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
            "rotation_rad": U[:, 3:],
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
