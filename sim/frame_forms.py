"""The frame model's variational forms, built and compiled once per process.

The forms of `sim.frame_model.FrameModel` do not depend on the scenario: every part's
parameters are per-cell fields, and which cells are beams, links or contacts is decided
when a form is bound to a mesh (integration domains by subdomain id). So the UFL forms
are written once on an abstract interval mesh in 3D, compiled once (FFCx, with the disk
cache), and bound to each new mesh cheaply: a sweep of hundreds of frames, a hexapod
plan of several, or a treatment day by day pays for the symbolic work once.

Subdomain ids of the cell integrals: BEAM (elastic members), PLASTIC (members that may
yield), LINK (stiff links), JOINT (compliant joints), CONTACT (gap, docking site and
regenerate), ALL (every cell: section forces) and LOADED (the loaded ring of a frame-only
bench test); the facet integrals' LOADED is the load point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import sim.fenicsx  # noqa: F401  (must precede dolfinx)
import basix.ufl
import ufl
from dolfinx import cpp
from dolfinx.fem import IntegralType
from dolfinx.fem import forms as dolfinx_forms
from mpi4py import MPI

from sim.elements import beam, contact, joint, link, plastic_beam
from sim.elements.kinematics import member_strains

BEAM, LINK, CONTACT, ALL, LOADED, JOINT, PLASTIC = 1, 2, 3, 4, 5, 6, 7
RESPONSE_KINDS = ("bone_end", "load_point_end", "load_point_interior", "ring")
ON_FIRST_USE = ("fibre_stresses", "friction_update", "friction_residual", "friction_jacobian",
                "friction_section_forces")  # compiled only for frames that need them (and the energy_* forms)


@dataclass
class CompiledFrameForms:
    """The compiled forms of one kind of load point, and the abstract coefficients and
    constants they are written with (keys: w, delta, t, n1, n2, axis, beam, link, contact,
    joint, joint_axis, slip, plastic, plastic_strain, contact_slip; load, load_direction, ring)."""

    response_kind: str
    coefficients: dict
    constants: dict
    forms: dict  # name -> CompiledForm (lists for the six responses)
    symbolic: dict = field(default_factory=dict)  # name -> UFL form, compiled on first use
    _orders: dict = field(default_factory=dict)  # id(compiled) -> (coefficient order, constant order)

    def compiled(self, name: str, comm) -> object:
        """A form compiled on first use (collective over comm)."""
        if name not in self.forms:
            self.forms[name] = dolfinx_forms.compile_form(comm, self.symbolic[name])
        return self.forms[name]

    def bind(self, compiled, spaces, mesh, subdomains, coefficient_map, constant_map):
        """A dolfinx Form of `compiled` on `mesh` (as dolfinx.fem.create_form, with the
        coefficient and constant orders of the compiled form extracted only once)."""
        key = id(compiled)
        if key not in self._orders:
            coefficients = ufl.algorithms.extract_coefficients(compiled.ufl_form)
            constants = ufl.algorithms.analysis.extract_constants(compiled.ufl_form)
            ufcx = compiled.ufcx_form
            order = [coefficients[ufcx.original_coefficient_positions[i]] for i in range(ufcx.num_coefficients)]
            self._orders[key] = (order, constants)
        order, constants = self._orders[key]
        data = {t: sorted(v, key=lambda x: x[0]) for t, v in subdomains.items()}
        ftype = dolfinx_forms.form_cpp_creator(compiled.dtype)
        f = ftype(compiled.module.ffi.cast("uintptr_t", compiled.module.ffi.addressof(compiled.ufcx_form)),
                  [V._cpp_object for V in spaces],
                  {f"w{i}": coefficient_map[c]._cpp_object for i, c in enumerate(order)},
                  {f"c{i}": constant_map[c]._cpp_object for i, c in enumerate(constants)},
                  data, [], mesh._cpp_object)
        return dolfinx_forms.Form(f, compiled.ufcx_form, compiled.code)


_CACHE: dict[str, CompiledFrameForms] = {}


def compiled_frame_forms(comm, response_kind: str, coordinate_element) -> CompiledFrameForms:
    """The frame model's compiled forms for a kind of load point, on meshes with the given
    coordinate element (collective over comm: compiled together unless every rank
    already has them)."""
    if response_kind not in RESPONSE_KINDS:
        raise ValueError(f"response kind {response_kind!r}; accepted: {', '.join(RESPONSE_KINDS)}")
    key = f"{response_kind} {coordinate_element!r}"
    everywhere = comm.allreduce(key in _CACHE, op=MPI.LAND)
    if not everywhere:
        _CACHE[key] = _build(comm, response_kind, coordinate_element)
    return _CACHE[key]


def _build(comm, kind: str, coordinate_element) -> CompiledFrameForms:
    cell = "interval"
    domain = ufl.Mesh(coordinate_element)

    def space(family, degree, n):
        return ufl.FunctionSpace(domain, basix.ufl.element(family, cell, degree, shape=(n,)))

    V = space("Lagrange", 1, 6)
    c = {"w": ufl.Coefficient(V), "delta": ufl.Coefficient(V),
         "t": ufl.Coefficient(space("DG", 0, 3)), "n1": ufl.Coefficient(space("DG", 0, 3)),
         "n2": ufl.Coefficient(space("DG", 0, 3)), "axis": ufl.Coefficient(space("DG", 0, 3)),
         "beam": ufl.Coefficient(space("DG", 0, beam.N_COLUMNS)),
         "link": ufl.Coefficient(space("DG", 0, link.N_COLUMNS)),
         "contact": ufl.Coefficient(space("DG", 0, contact.N_COLUMNS)),
         "joint": ufl.Coefficient(space("DG", 0, joint.N_COLUMNS)),
         "joint_axis": ufl.Coefficient(space("DG", 0, 3)),
         "slip": ufl.Coefficient(ufl.FunctionSpace(domain, basix.ufl.element("DG", cell, 0))),
         "plastic": ufl.Coefficient(space("DG", 0, plastic_beam.N_COLUMNS)),
         "plastic_strain": ufl.Coefficient(space("DG", 0, plastic_beam.N_FIBRES)),
         "contact_slip": ufl.Coefficient(space("DG", 0, contact.friction_slip_size()))}
    k = {"load": ufl.Constant(domain, shape=(6,)), "load_direction": ufl.Constant(domain, shape=(6,)),
         "ring": ufl.Constant(domain, shape=(6,))}  # frame-only: [length, Ixx, Iyy, Ipp, cx, cy] of the loaded ring
    w, t, n1, n2 = c["w"], c["t"], c["n1"], c["n2"]
    u, th = ufl.as_vector([w[i] for i in range(3)]), ufl.as_vector([w[i] for i in range(3, 6)])
    eps, gamma, kappa, _ = member_strains(u, th, t, c["beam"][beam.LAMBDA0])
    dx = ufl.Measure("dx", domain=domain, metadata={"quadrature_degree": 1})
    length = ufl.CellVolume(domain)
    pb, pl, ep = c["beam"], c["plastic"], c["plastic_strain"]
    jp, ja, slip = c["joint"], c["joint_axis"], c["slip"]
    densities = {
        "beam": (beam.energy_density(pb, eps, gamma, kappa, t, n1, n2), BEAM),
        "plastic": (plastic_beam.energy_density(pb, pl, ep, eps, gamma, kappa, t, n1, n2), PLASTIC),
        "link": (link.energy_density(c["link"], c["axis"], gamma, kappa), LINK),
        "joint": (joint.energy_density(jp, ja, gamma, kappa, slip, length), JOINT),
        "contact": (contact.energy_density(c["contact"], gamma, kappa, t, n1, n2), CONTACT),
    }
    energy = sum(density * dx(sid) for density, sid in densities.values())

    if kind == "ring":
        xs = ufl.SpatialCoordinate(domain)
        r = k["ring"]
        X, Y = xs[0] - r[4], xs[1] - r[5]
        exprs = [lambda f: f[0] / r[0], lambda f: f[1] / r[0], lambda f: f[2] / r[0], lambda f: f[2] * Y / r[1],
                 lambda f: -f[2] * X / r[2], lambda f: (X * f[1] - Y * f[0]) / r[3]]
        measure = ufl.Measure("dx", domain=domain)(LOADED)  # exact for the linear tilts
    elif kind == "load_point_interior":
        exprs = [lambda f, i=i: f("+")[i] for i in range(6)]
        measure = ufl.Measure("dS", domain=domain)(LOADED)
    else:
        exprs = [lambda f, i=i: f[i] for i in range(6)]
        measure = ufl.Measure("ds", domain=domain)(LOADED)

    v = ufl.TestFunction(V)
    cs = c["contact_slip"]
    internal = ufl.derivative(energy, w, v)
    F = internal - sum(k["load"][i] * exprs[i](v) * measure for i in range(6))
    J = ufl.derivative(F, w, ufl.TrialFunction(V))
    rhs = sum(k["load_direction"][i] * exprs[i](v) * measure for i in range(6))
    q6 = ufl.TestFunction(space("DG", 0, 6))
    friction_work = contact.friction_residual(c["contact"], gamma, kappa, t, n1, n2, cs, w, v) * dx(CONTACT)
    forces = (beam.section_forces(pb, eps, gamma, kappa, t, n1, n2)
              + contact.section_forces(c["contact"], gamma, kappa, t, n1, n2))
    nf = len(contact.fibres())
    qf = ufl.TestFunction(space("DG", 0, nf))
    gaps = contact.fibre_gaps(c["contact"], gamma, kappa, t, n1, n2)
    plastic_forces = plastic_beam.section_forces(pb, pl, ep, eps, gamma, kappa, t, n1, n2)
    qp = ufl.TestFunction(space("DG", 0, plastic_beam.N_FIBRES))
    q1 = ufl.TestFunction(ufl.FunctionSpace(domain, basix.ufl.element("DG", cell, 0)))
    symbolic = {
        "residual": F, "jacobian": J, "load_rhs": rhs,
        "responses": [exprs[i](w) * measure for i in range(6)],
        # the elastic beams' forces on every cell (zero where a part has none), the contact's and
        # the yielding members' (their shear and twist are the elastic beam's)
        "section_forces": ufl.inner(forces, q6) * dx(ALL) + ufl.inner(plastic_forces, q6) * dx(PLASTIC),
        "fibre_gaps": ufl.inner(gaps, qf) * dx(CONTACT),
        "slip_update": joint.updated_slip(jp, ja, gamma, kappa, slip, length) * q1 * dx(JOINT),
        # friction across the gap (compiled on first use, for frames with it): not an energy (its limit
        # depends on the normal force), so its virtual work and that work's own derivative, unsymmetric;
        # added to the residual, the Jacobian and the section forces
        "friction_residual": friction_work,
        "friction_jacobian": ufl.derivative(friction_work, w, ufl.TrialFunction(V)),
        "friction_section_forces": ufl.inner(contact.friction_section_forces(c["contact"], gamma, kappa, t, n1, n2,
                                                                              cs), q6) * dx(CONTACT),
        "friction_update": ufl.inner(contact.friction_slip_update(c["contact"], gamma, kappa, t, n1, n2, cs),
                                     ufl.TestFunction(space("DG", 0, contact.friction_slip_size()))) * dx(CONTACT),
        "joint_force": joint.axial_force(jp, ja, gamma, kappa, slip, length) * q1 * dx(JOINT),
        "plastic_update": ufl.inner(plastic_beam.updated_plastic_strains(pb, pl, ep, eps, gamma, kappa, t, n1, n2),
                                    qp) * dx(PLASTIC),
        # the yielding members' fibre stresses (their peak von Mises stress), compiled on first use
        "fibre_stresses": ufl.inner(plastic_beam.fibre_stresses(pb, pl, ep, eps, gamma, kappa, t, n1, n2),
                                    qp) * dx(PLASTIC),
        **{f"energy_{name}": density * dx(sid) for name, (density, sid) in densities.items()},
    }
    compiled = {name: ([dolfinx_forms.compile_form(comm, f) for f in form] if isinstance(form, list)
                       else dolfinx_forms.compile_form(comm, form))
                for name, form in symbolic.items() if not name.startswith("energy_") and name not in ON_FIRST_USE}
    return CompiledFrameForms(kind, c, k, compiled, symbolic)


def integration_domains(mesh, cells_by_id: dict[int, np.ndarray], load_facets: np.ndarray | None,
                        kind: str) -> dict:
    """Integration entities of the frame forms: owned cells by subdomain id, and the load
    point's (cell, local facet) pair (exterior) or quadruple (interior)."""
    topology = mesh.topology
    out = {IntegralType.cell: [(sid, np.asarray(cells, dtype=np.int32)) for sid, cells in cells_by_id.items()]}
    if kind != "ring":
        tdim = topology.dim
        topology.create_connectivity(tdim - 1, tdim)
        topology.create_connectivity(tdim, tdim - 1)
        facets = np.asarray(load_facets if load_facets is not None else [], dtype=np.int32)
        if kind == "load_point_interior":
            integral = IntegralType.interior_facet
        else:
            integral = IntegralType.exterior_facet
            facets = np.intersect1d(facets, cpp.mesh.exterior_facet_indices(topology._cpp_object)).astype(np.int32)
        entities = np.asarray(cpp.fem.compute_integration_domains(integral, topology._cpp_object, facets))
        out[integral] = [(LOADED, entities)]
    return out
