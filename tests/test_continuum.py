"""The continuum model's foundation (issue 3): the total-Lagrangian SVK solver against
Lamé's thick cylinder (convergence rates) and a pretensioned 3D wire against the exact
tensioned-beam stiffness of physics.md; serial equals parallel."""

from pathlib import Path

import numpy as np
import pytest
import ufl
from mpi4py import MPI

import sim.fenicsx  # noqa: F401
from dolfinx import fem
from dolfinx.mesh import compute_midpoints
from meshes.continuum import QUARTER_ENDS, QUARTER_INNER, QUARTER_SYM_X, QUARTER_SYM_Y, WIRE_ENDS, quarter_tube, wire_solid
from sim.continuum import ContinuumProblem
from sim.verification import tensioned_wire_stiffness_N_per_mm

A, B, L, E, NU, P = 5.0, 10.0, 2.0, 1000.0, 0.3, 1.0e-3  # small load: the linear Lamé solution applies


def _all_cells(mesh):
    im = mesh.topology.index_map(3)
    return np.arange(im.size_local + im.num_ghosts)


def lame_error(h: float, degree: int, comm=MPI.COMM_WORLD) -> float:
    sm = quarter_tube(A, B, L, h, comm=comm, order=degree)
    prob = ContinuumProblem(sm.mesh, degree=degree, linear_solver="lu")
    prob.set_material(_all_cells(sm.mesh), E, NU)
    ft = sm.facet_tags
    prob.clamp(ft.find(QUARTER_SYM_X), (0,))
    prob.clamp(ft.find(QUARTER_SYM_Y), (1,))
    prob.clamp(ft.find(QUARTER_ENDS), (2,))  # plane strain
    prob.add_pressure(ft, QUARTER_INNER, P)
    prob.solve(1)
    x = ufl.SpatialCoordinate(sm.mesh)
    r = ufl.sqrt(x[0] ** 2 + x[1] ** 2)
    ur = (1 + NU) * P * A ** 2 / (E * (B ** 2 - A ** 2)) * ((1 - 2 * NU) * r + B ** 2 / r)
    exact = ufl.as_vector([ur * x[0] / r, ur * x[1] / r, 0.0])
    dx = ufl.dx(domain=sm.mesh, metadata={"quadrature_degree": 6})

    def integral(e):
        return comm.allreduce(fem.assemble_scalar(fem.form(e * dx)), op=MPI.SUM)

    return float(np.sqrt(integral(ufl.inner(prob.u - exact, prob.u - exact)) / integral(ufl.inner(exact, exact))))


@pytest.mark.parametrize("degree, rate", [(1, 2.0), (2, 3.0)])
def test_lame_thick_cylinder_converges_at_the_expected_rate(degree, rate):
    e_coarse, e_fine = lame_error(0.8, degree), lame_error(0.4, degree)
    observed = np.log2(e_coarse / e_fine)
    assert observed == pytest.approx(rate, abs=0.4), (e_coarse, e_fine)
    assert e_fine < (5e-3 if degree == 1 else 1e-4)


def wire_stiffness(comm=MPI.COMM_WORLD, size_mm: float = 0.9, linear_solver: str = "lu") -> tuple[float, int]:
    """A 1.8 mm wire over 150 mm at 1275 N, clamped at both ends (two quadratic elements
    across), under 1 N spread over the middle 4 mm: small-load stiffness (N/mm)."""
    d, span, e_mod, nu, tension = 1.8, 150.0, 200000.0, 0.3, 1275.0
    sm = wire_solid(d, span, size_mm, comm=comm)
    cells = _all_cells(sm.mesh)
    prob = ContinuumProblem(sm.mesh, degree=2, linear_solver=linear_solver)
    prob.set_material(cells, e_mod, nu)
    prob.set_wire_pretension(cells, (1.0, 0.0, 0.0), tension, np.pi * d ** 2 / 4, e_mod, nu)
    prob.clamp(sm.facet_tags.find(WIRE_ENDS))
    mid = compute_midpoints(sm.mesh, 3, cells.astype(np.int32))
    load = prob.add_body_force(cells[np.abs(mid[:, 0] - span / 2) < 2.0], np.array([0.0, -1.0, 0.0]))
    saved = load.x.array.copy()
    load.x.array[:] = 0.0
    prob.solve(1, ramp_initial_strain=True)  # pretension: the ends held, the wire in uniaxial tension
    before = prob.probe(np.array([[span / 2, 0.0, 0.0]]))[0]
    load.x.array[:] = saved
    prob.solve(1)
    after = prob.probe(np.array([[span / 2, 0.0, 0.0]]))[0]
    return 1.0 / (before[1] - after[1]), prob.num_dofs


@pytest.mark.parametrize("solver", ["lu", "gamg"])
def test_pretensioned_wire_in_3d_matches_the_exact_stiffness(solver):
    """MUMPS, and CG with algebraic multigrid given the rigid-body modes, agree."""
    k, dofs = wire_stiffness(linear_solver=solver)
    exact = tensioned_wire_stiffness_N_per_mm(1275.0, 150.0, 1.8)  # 44.7 N/mm
    assert k == pytest.approx(exact, rel=0.05), (k, exact, dofs)
    assert abs(k / exact - 1) < 0.01  # in fact within 1 % (0.08 % measured)


@pytest.mark.mpi
def test_continuum_serial_equals_parallel():
    parallel, _ = wire_stiffness(MPI.COMM_WORLD, size_mm=1.2)
    serial, _ = wire_stiffness(MPI.COMM_SELF, size_mm=1.2)
    assert parallel == pytest.approx(serial, rel=1e-6)


@pytest.mark.slow
def test_standard_frame_continuum_against_frame_model():
    """The whole standard frame as a conforming solid (coarse preview: linear tetrahedra,
    one across a wire) against the frame model under 50 N, before the gap closes:
    axial stiffness and IFM within 15 % (issue 3's target; docs/continuum.md explains
    the differences)."""
    import tomllib

    from sim.continuum_run import solve_continuum
    from sim.run import solve_frame
    from sim.scenario import parse_scenario

    data = tomllib.loads((Path(__file__).resolve().parents[1] / "scenarios" / "standard-4ring.toml").read_text())
    data["loads"].update({"cases": ["axial"], "axial": {"force_N": 50.0, "steps": 1}})
    data["continuum"] = {"element_degree": 1, "element_size_mm": 12.0, "wire_element_size_mm": 1.8}
    s = parse_scenario(data)
    solid = solve_continuum(s).results["load_cases"]["axial"]
    frame = solve_frame(s).results["load_cases"]["axial"]
    for key in ("secant_stiffness_N_per_mm", "ifm_axial_mm"):
        assert solid[key] == pytest.approx(frame[key], rel=0.15), (key, solid[key], frame[key])
