"""The continuum model's solver: total-Lagrangian 3D elasticity (Saint-Venant–Kirchhoff).

The solver under sim.continuum_run (the whole frame) and the verification problems. On
a tetrahedral mesh with a material per cell (units mm, N, MPa):

    F = I + grad u,   E = (F^T F - I) / 2,   S = lambda tr(E - E0) I + 2 mu (E - E0),   P = F S

with an initial (eigen)strain E0 per cell. A pretensioned wire along the unit axis a gets

    E0 = e (a (x) a - nu (I - a (x) a)),   e = -T / (E A)

which is exactly stress-free when the wire has shortened by e and thinned by -nu e: with
its ends held, the wire carries the uniaxial stress T/A and nothing else (the lateral
terms cancel: lambda (1 - 2 nu) = 2 mu nu). Large rotations are exact, so a tensioned
wire stiffens under transverse load as in physics.md.

Newton through PETSc SNES (line search "basic", load stepping outside); linear solves
with CG + algebraic multigrid (GAMG) given the six rigid-body modes as near-nullspace,
or MUMPS LU (the default below LU_MAX_DOFS unknowns); every option can be overridden.
Extra stored energies (the gap's contact layer) join the residual through `energies`.
"""

from __future__ import annotations

import numpy as np

import sim.fenicsx  # noqa: F401  (must precede dolfinx)
import ufl
from dolfinx import fem, la
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from sim.frame_model import SolverError

GAMG_OPTIONS = {
    "snes_type": "newtonls", "snes_linesearch_type": "basic", "snes_rtol": 1e-8, "snes_atol": 1e-4,
    "snes_max_it": 30, "snes_divergence_tolerance": 1e300,  # a contact step may overshoot first
    "ksp_type": "cg", "ksp_rtol": 1e-9, "pc_type": "gamg", "pc_gamg_type": "agg",
    "pc_gamg_coarse_eq_limit": 1000, "mg_levels_ksp_type": "chebyshev", "mg_levels_pc_type": "jacobi",
}
LU_OPTIONS = {
    "snes_type": "newtonls", "snes_linesearch_type": "basic", "snes_rtol": 1e-8, "snes_atol": 1e-4,
    "snes_max_it": 30, "snes_divergence_tolerance": 1e300,
    "ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
}


# "auto" picks MUMPS below this many unknowns: on the frame solids (steel, bone and a nearly
# void gap layer; slender wires) CG + GAMG needs hundreds of iterations with quadratic
# elements, and a factorisation is several times faster and fits in a workstation's memory
# (272 000 unknowns: 8 s and 1.9 GB per Newton iteration against 98 s for one GAMG solve).
LU_MAX_DOFS = 800_000


def rigid_body_modes(V) -> PETSc.NullSpace:
    """The six rigid-body modes of a blocked 3D vector space, orthonormalised (GAMG's
    near-nullspace): three translations and three rotations about the axes."""
    index_map, bs = V.dofmap.index_map, V.dofmap.index_map_bs
    n_local = index_map.size_local
    basis = [la.vector(index_map, bs=bs, dtype=PETSc.ScalarType) for _ in range(6)]
    x = V.tabulate_dof_coordinates()  # one row per node (block), owned then ghost
    b = [v.array.reshape(-1, bs) for v in basis]
    for i in range(3):
        b[i][:, i] = 1.0
    b[3][:, 0], b[3][:, 1] = -x[:, 1], x[:, 0]  # about z
    b[4][:, 0], b[4][:, 2] = x[:, 2], -x[:, 0]  # about y
    b[5][:, 1], b[5][:, 2] = -x[:, 2], x[:, 1]  # about x
    la.orthonormalize(basis)
    vecs = [PETSc.Vec().createWithArray(v.array[: bs * n_local], bsize=bs, comm=V.mesh.comm) for v in basis]
    return PETSc.NullSpace().create(vectors=vecs)


class ContinuumProblem:
    """A total-Lagrangian SVK solid: materials per cell, initial strains, Dirichlet conditions,
    dead tractions; `solve(steps)` ramps the tractions (and the initial strains) in steps."""

    def __init__(self, mesh, degree: int = 2, *, linear_solver: str = "auto", petsc_options: dict | None = None,
                 prefix: str = "ilizarov_continuum_"):
        self.mesh = mesh
        self.comm = mesh.comm
        self.V = fem.functionspace(mesh, ("Lagrange", degree, (3,)))
        self.u = fem.Function(self.V, name="displacement_mm")
        Q0 = fem.functionspace(mesh, ("DG", 0))
        T0 = fem.functionspace(mesh, ("DG", 0, (3, 3)))
        self.E_MPa, self.nu = fem.Function(Q0), fem.Function(Q0)
        self.E0 = fem.Function(T0, name="initial_strain")
        self.load_factor = fem.Constant(mesh, PETSc.ScalarType(1.0))
        self.strain_factor = fem.Constant(mesh, PETSc.ScalarType(1.0))
        self.bcs: list = []
        self.tractions: list = []  # (vector constant, measure)
        self.energies: list = []  # extra stored energies (ufl forms of u), e.g. contact
        self.newton_iterations = 0  # totals over every Newton solve
        self.krylov_iterations = 0
        self.degree = degree
        self.prefix = prefix
        self.linear_solver = linear_solver
        self.extra_options = dict(petsc_options or {})
        self.problem = None

    # ------------------------------------------------------------------ set-up
    def set_material(self, cells: np.ndarray, youngs_modulus_MPa: float, poisson_ratio: float) -> None:
        self.E_MPa.x.array[cells] = youngs_modulus_MPa
        self.nu.x.array[cells] = poisson_ratio
        self.E_MPa.x.scatter_forward()
        self.nu.x.scatter_forward()

    def set_wire_pretension(self, cells: np.ndarray, axis, tension_N: float, area_mm2: float,
                            youngs_modulus_MPa: float, poisson_ratio: float) -> float:
        """Initial strain of a wire along `axis` that carries tension_N once its ends are held;
        returns the axial initial strain e = -T/(E A)."""
        e = -tension_N / (youngs_modulus_MPa * area_mm2)
        self.set_axial_initial_strain(cells, axis, e, poisson_ratio)
        return e

    def set_axial_initial_strain(self, cells: np.ndarray, axis, strain: float, poisson_ratio: float) -> None:
        """E0 = e (a (x) a - nu (I - a (x) a)) on the given cells: stress-free when the part has
        changed its length along the unit axis a by e (and its section by -nu e)."""
        a = np.asarray(axis, float) / np.linalg.norm(axis)
        aa = np.outer(a, a)
        E0 = strain * (aa - poisson_ratio * (np.eye(3) - aa))
        arr = self.E0.x.array.reshape(-1, 9)
        arr[cells] = E0.ravel()
        self.E0.x.scatter_forward()

    def clamp(self, facets: np.ndarray, components=(0, 1, 2)) -> None:
        fdim = self.mesh.topology.dim - 1
        for c in components:
            dofs = fem.locate_dofs_topological(self.V.sub(c), fdim, facets)
            self.bcs.append(fem.dirichletbc(PETSc.ScalarType(0.0), dofs, self.V.sub(c)))

    def add_traction(self, facet_tags, tag: int, traction_MPa) -> fem.Constant:
        """A dead traction (MPa, per reference area) on the facets tagged `tag`; it is
        multiplied by the load factor."""
        t = fem.Constant(self.mesh, np.asarray(traction_MPa, dtype=PETSc.ScalarType))
        ds = ufl.Measure("ds", domain=self.mesh, subdomain_data=facet_tags)(tag)
        self.tractions.append((t, ds))
        return t

    def add_body_force(self, cells: np.ndarray, force_N: np.ndarray) -> fem.Function:
        """A uniform body force over the given local cells whose resultant is force_N (N):
        force per volume = force_N / (their total volume); multiplied by the load factor."""
        Q0v = fem.functionspace(self.mesh, ("DG", 0, (3,)))
        b = fem.Function(Q0v)
        marker = fem.Function(fem.functionspace(self.mesh, ("DG", 0)))
        marker.x.array[cells] = 1.0
        marker.x.scatter_forward()
        volume = self.comm.allreduce(fem.assemble_scalar(fem.form(marker * ufl.dx(domain=self.mesh))), op=MPI.SUM)
        if volume <= 0:
            raise ValueError("add_body_force: no cells selected")
        b.x.array.reshape(-1, 3)[cells] = np.asarray(force_N, float) / volume
        b.x.scatter_forward()
        self.tractions.append((b, ufl.dx(domain=self.mesh)))
        return b

    def add_pressure(self, facet_tags, tag: int, pressure_MPa: float) -> None:
        """A dead pressure (MPa) on the reference normal of the tagged facets."""
        n = ufl.FacetNormal(self.mesh)
        p = fem.Constant(self.mesh, PETSc.ScalarType(pressure_MPa))
        ds = ufl.Measure("ds", domain=self.mesh, subdomain_data=facet_tags)(tag)
        self.tractions.append((-p * n, ds))

    # ------------------------------------------------------------------ forms
    def stress_PK2(self, u):
        d = len(u)
        I = ufl.Identity(d)
        F = I + ufl.grad(u)
        E = 0.5 * (F.T * F - I)
        Ee = E - self.strain_factor * self.E0
        E_, nu = self.E_MPa, self.nu
        lmbda = E_ * nu / ((1 + nu) * (1 - 2 * nu))
        mu = E_ / (2 * (1 + nu))
        return F, lmbda * ufl.tr(Ee) * I + 2 * mu * Ee

    def _build(self) -> None:
        v = ufl.TestFunction(self.V)
        F, S = self.stress_PK2(self.u)
        qdeg = 2 * self.degree
        dx = ufl.Measure("dx", domain=self.mesh, metadata={"quadrature_degree": qdeg})
        R = ufl.inner(F * S, ufl.grad(v)) * dx
        for energy in self.energies:
            R += ufl.derivative(energy(self.u, dx), self.u, v)
        for t, ds in self.tractions:
            R -= self.load_factor * ufl.inner(t, v) * ds
        n_dofs = self.V.dofmap.index_map.size_global * 3
        solver = self.linear_solver
        if solver not in ("auto", "lu", "gamg"):
            raise ValueError(f"linear_solver {solver!r}; accepted: auto, lu, gamg")
        if solver == "auto":
            solver = "lu" if n_dofs < LU_MAX_DOFS else "gamg"
        options = dict(LU_OPTIONS if solver == "lu" else GAMG_OPTIONS)
        options.update(self.extra_options)
        self.options = options
        self.problem = fem_petsc.NonlinearProblem(R, self.u, bcs=self.bcs, petsc_options_prefix=self.prefix,
                                                  petsc_options=options)
        if options.get("pc_type") == "gamg":
            self.problem.A.setNearNullSpace(rigid_body_modes(self.V))

    def solve(self, steps: int = 1, ramp_initial_strain: bool = False, context: str = "continuum") -> list[int]:
        """Ramp the loads (and, if asked, the initial strains) in equal steps; Newton
        iterations per step (also added to `newton_iterations` and, of the linear solver,
        `krylov_iterations`). SolverError if SNES does not converge."""
        if self.problem is None:
            self._build()
        its = []
        for k in range(1, steps + 1):
            self.load_factor.value = k / steps
            if ramp_initial_strain:
                self.strain_factor.value = k / steps
            its.append(self.newton(f"{context}, step {k}/{steps}"))
        return its

    def newton(self, context: str = "continuum") -> int:
        """One Newton solve from the current state; its iterations. SolverError (saying
        whether Newton diverged or the linear solver stalled, and what to change) if it fails."""
        if self.problem is None:
            self._build()
        backup = self.u.x.array.copy()
        self.problem.solve()
        snes = self.problem.solver
        reason = snes.getConvergedReason()
        n = snes.getIterationNumber()
        self.newton_iterations += n
        self.krylov_iterations += snes.getLinearSolveIterations()
        if reason <= 0:
            self.u.x.array[:] = backup
            ksp_reason = snes.getKSP().getConvergedReason()
            if ksp_reason < 0 or reason == PETSc.SNES.ConvergedReason.DIVERGED_LINEAR_SOLVE:
                what = (f"the linear solver stalled (KSP reason {ksp_reason}, {snes.getKSP().getIterationNumber()} "
                        "iterations); try continuum.linear_solver = \"lu\" or a looser ksp_rtol in "
                        "continuum.petsc_options")
            else:
                what = (f"Newton did not converge (SNES reason {reason}, {n} iterations, residual "
                        f"{snes.getFunctionNorm():.3g} N); try more load steps (loads.<case>.steps) or a "
                        "coarser gap contact (continuum.gap_contact_residual)")
            raise SolverError(f"{context}: {what}")
        return n

    @property
    def num_dofs(self) -> int:
        return self.V.dofmap.index_map.size_global * self.V.dofmap.index_map_bs

    def probe(self, points: np.ndarray) -> np.ndarray:
        """Displacement (mm) at points (k, 3), on every rank (collective)."""
        from dolfinx import geometry

        points = np.asarray(points, float).reshape(-1, 3)
        tree = geometry.bb_tree(self.mesh, self.mesh.topology.dim)
        cand = geometry.compute_collisions_points(tree, points)
        hits = geometry.compute_colliding_cells(self.mesh, cand, points)
        local = np.zeros((len(points), 3))
        found = np.zeros(len(points))
        n_owned = self.mesh.topology.index_map(self.mesh.topology.dim).size_local
        for i in range(len(points)):
            cells = [c for c in hits.links(i) if c < n_owned]
            if cells:
                local[i] = self.u.eval(points[i], cells[0])
                found[i] = 1.0
        total = self.comm.allreduce(local, op=MPI.SUM)
        count = self.comm.allreduce(found, op=MPI.SUM)
        if np.any(count == 0):
            raise ValueError("a probe point is outside the mesh")
        return total / count[:, None]
