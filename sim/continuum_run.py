"""The continuum model of a whole scenario (`ilizarov run --model continuum`).

The frame and bone as one conforming solid (meshes.continuum.build_frame_solid), solved
with the total-Lagrangian SVK solver of sim.continuum, in the frame model's bench
set-up: the bone's distal end held, the loads on its proximal end face as dead
tractions. Units mm, N, MPa.

Loads on the proximal end face (area A, second moments I_xx = int y^2, I_yy = int x^2,
polar J = I_xx + I_yy about the bone axis):

    axial force F (compression > 0):  t = (0, 0, -F/A)
    moment M_x (bending_ap):          t_z = M_x y / I_xx
    moment M_y (bending_ml):          t_z = -M_y x / I_yy
    torque M_z (torsion):             t = M_z / J (-y, x, 0)

and the responses are their work conjugates over the face (mean axial displacement;
rotations int u_z y / I_xx, -int u_z x / I_yy, int (x u_y - y u_x) / J).

Measured as in the frame model (postprocess.metrics builds results.json from the same
records):

- wire tension: the axial force of the wire's free spans (between the clamp posts and
  the bone, one wire diameter clear of both), N = A_mesh <t . P a>, where P is the first
  Piola-Kirchhoff stress, a the wire's axis in the reference state, t = F a / |F a| the
  deformed axis, <> the mean over the span's cells and A_mesh the wire's meshed section;
- interfragmentary motion: the mean displacement of the proximal gap face minus that of
  the distal one;
- load through the gap: the mean axial stress P_zz of the regenerate (or the contact
  layer of an empty gap) times its section;
- von Mises stress of the Cauchy stress at every cell's midpoint, the peak per group of
  parts, the peak in the bone within two wire diameters of each wire, and the axial
  strain of the regenerate.

Pretension ("simultaneous"): the wires' initial strains start from the frame model's
(which already make up for the rings' give) and are corrected by a secant iteration
that starts from the frame model's influence matrix and improves it with Broyden's
update from each solve's observed tensions (ContinuumFrame._correct_pretension), until
every wire is within `continuum.pretension_tolerance` of its target. An empty gap
gets a contact layer: a nearly void solid (1e-6 of the bone's modulus) that resists,
once the gap is closed to `gap_contact_residual` of its width, with the bone's modulus
(frictionless: only its axial thickness is penalised).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import sim.fenicsx  # noqa: F401  (must precede dolfinx)
import ufl
from dolfinx import fem
from mpi4py import MPI

from sim.continuum import ContinuumProblem
from sim.frame_model import (FrameModel, LoadCaseResult, PretensionResult, SolverError, StepRecord, load_case_vector,
                              signed_response)
from sim.scenario import Scenario

STRESS_GROUPS = {"bone": "bone", "regenerate": "regenerate", "wire": "wires", "clamp": "clamps", "ring": "rings",
                 "rod": "rods", "half_pin": "half_pins", "post": "half_pins", "plate": "plates"}
GAP_LAYER_MODULUS_FRACTION = 1e-6  # of the bone's modulus: the empty gap's layer before contact


PETSC_ERRORS = {56: "not supported here", 60: "an argument out of range", 62: "a wrong argument",
                63: "a value out of range", 86: "an unknown type (misspelt, or not built into this PETSc)"}


def _try_petsc_options(options: dict, prefix: str) -> tuple[str | None, set[str]]:
    """Set up a Newton solver (SNES, KSP, PC, factorisation) with `options` on a tiny system
    on this process alone; (PETSc's complaint or None, the option names it never read)."""
    from petsc4py import PETSc

    db = PETSc.Options()
    for k, v in options.items():
        db[prefix + k] = v
    comm = PETSc.COMM_SELF
    n = 6
    A = PETSc.Mat().createAIJ([n, n], nnz=3, comm=comm)
    for i in range(n):
        A[i, i] = 4.0
        if i:
            A[i, i - 1] = -1.0
        if i < n - 1:
            A[i, i + 1] = -1.0
    A.assemble()
    b = A.createVecLeft()
    snes = PETSc.SNES().create(comm)
    complaint = None
    try:
        snes.setOptionsPrefix(prefix)
        snes.setFunction(lambda _s, x, f: A.mult(x, f), b)
        snes.setJacobian(lambda *_a: None, A, A)
        snes.setFromOptions()
        snes.setUp()
        ksp = snes.getKSP()
        ksp.setOperators(A, A)
        ksp.setUp()
    except PETSc.Error as exc:
        complaint = PETSC_ERRORS.get(exc.ierr, f"PETSc error {exc.ierr}")
    finally:
        unused = {k for k in options if not db.used(prefix + k)}
        for k in options:
            db.delValue(prefix + k)
        snes.destroy()
        A.destroy()
        b.destroy()
    return complaint, unused


def check_petsc_options(settings) -> None:
    """The [continuum] table's petsc_options, tried before any meshing on the solver set-ups
    that `linear_solver` can pick (MUMPS LU, CG + GAMG). ScenarioError naming the option if
    PETSc refuses its value or no set-up ever reads it (a misspelt name)."""
    from sim.continuum import GAMG_OPTIONS, LU_OPTIONS
    from sim.scenario import ScenarioError

    user = dict(settings.petsc_options or {})
    if not user:
        return
    field = "continuum.petsc_options"
    bases = {"lu": [LU_OPTIONS], "gamg": [GAMG_OPTIONS]}.get(settings.linear_solver, [LU_OPTIONS, GAMG_OPTIONS])
    read: set[str] = set()
    for n, base in enumerate(bases):
        prefix = f"ilizarov_check{n}_"
        complaint, unused = _try_petsc_options({**base, **user}, prefix)
        if complaint is not None:
            culprits = [k for k in user if _try_petsc_options({**base, k: user[k]}, prefix)[0] is not None]
            named = ", ".join(f"{k} = {user[k]!r}" for k in (culprits or user))
            raise ScenarioError(f"{field}.{culprits[0]}" if len(culprits) == 1 else field,
                                f"PETSc refuses {named}: {complaint}; accepted: options of PETSc's SNES, KSP and PC "
                                "with valid values (e.g. ksp_type = 'cg', pc_type = 'gamg', ksp_rtol = 1e-8)")
        read |= set(user) - unused
    never = [k for k in user if k not in read]
    if never:
        raise ScenarioError(f"{field}.{never[0]}" if len(never) == 1 else field,
                            f"{'' if len(never) == 1 else ', '.join(never) + ': '}PETSc's Newton and linear solvers never read "
                            f"{'this option' if len(never) == 1 else 'these options'} (misspelt, or not an option of "
                            "SNES, KSP, PC or the factorisation; write names without the leading '-'); accepted: e.g. "
                            "ksp_type, ksp_rtol, pc_type, snes_rtol, snes_max_it, mat_mumps_icntl_14")


@dataclass
class ContinuumRun:
    results: dict[str, Any]
    frame: "ContinuumFrame"
    cases: dict[str, LoadCaseResult]
    snapshots: dict[str, np.ndarray] = field(default_factory=dict)  # local displacement arrays per state


class ContinuumFrame:
    """The solid, its materials, pretension and loads, and what is measured on it."""

    def __init__(self, scenario: Scenario, comm=None, log=None):
        from meshes.continuum import (BONE_DISTAL_END, BONE_PROXIMAL_END, GAP_DISTAL_FACE, GAP_PROXIMAL_FACE,
                                      build_frame_solid)
        from sim.materials import material, regenerate_material

        self.scenario = s = scenario
        self.comm = comm = MPI.COMM_WORLD if comm is None else comm
        self.say = (lambda m: log(m) if log and comm.rank == 0 else None)
        c = s.continuum
        t0 = time.perf_counter()
        self.solid = solid = build_frame_solid(s, comm=comm, size_mm=c.element_size_mm,
                                               wire_size_mm=c.wire_element_size_mm, order=c.element_degree)
        self.mesh = mesh = solid.mesh
        self.mesh_time_s = time.perf_counter() - t0
        mesh.topology.create_connectivity(2, 3)
        self.prob = prob = ContinuumProblem(mesh, degree=c.element_degree, linear_solver=c.linear_solver,
                                            petsc_options=c.petsc_options)
        tdim = 3
        imap = mesh.topology.index_map(tdim)
        self.num_owned_cells = imap.size_local
        n_local = imap.size_local + imap.num_ghosts
        self.part_of_cell = np.zeros(n_local, dtype=np.int32)
        self.part_of_cell[solid.cell_tags.indices] = solid.cell_tags.values
        self.kind_of_tag = {tag: kind for _, (kind, tag) in solid.parts.items()}
        self.name_of_tag = {tag: name for name, (_, tag) in solid.parts.items()}

        # cell midpoints and volumes (owned cells)
        from dolfinx.mesh import compute_midpoints

        owned = np.arange(self.num_owned_cells, dtype=np.int32)
        self.midpoints = compute_midpoints(mesh, tdim, owned)
        Q0 = fem.functionspace(mesh, ("DG", 0))
        self.Q0 = Q0
        vol = fem.assemble_vector(fem.form(ufl.TestFunction(Q0) * ufl.dx(domain=mesh)))
        self.volume = vol.array[: self.num_owned_cells].copy()

        # materials and pretension strains
        wires = {w.name: w for w in s.wires}
        rods = {r.name: r for r in s.rods}
        pins = {p.name: p for p in (*s.half_pins, *s.pin_clamps)}  # a pin clamp's post: the clamp's material
        self.bone_material = s.material(s.bone.material)
        self.wire_axis = {}
        for name, (kind, tag) in solid.parts.items():
            cells = solid.cell_tags.find(tag)
            if kind == "bone":
                mat = self.bone_material
            elif kind == "cancellous":  # a metaphysis's canal (sim.bones)
                mat = s.material(s.bone.cancellous_material)
            elif kind == "regenerate":
                r = s.gap.regenerate
                mat = regenerate_material(r.youngs_modulus_MPa, r.poisson_ratio)
            elif kind == "gap":
                mat = regenerate_material(GAP_LAYER_MODULUS_FRACTION * self.bone_material.youngs_modulus_MPa, 0.0)
            elif kind == "wire":
                mat = s.material(wires[name].material, "wire")
                self.wire_axis[name] = np.array(solid.wires[name].direction)
            elif kind == "ring":
                mat = s.material(s.ring(name).material, "ring")
            elif kind == "rod":
                mat = s.material(rods[name].material, "rod")
            elif kind in ("half_pin", "post"):
                mat = s.material(pins[name.removesuffix("_post")].material, kind)
            elif kind == "plate":  # a connection plate: ring stock
                mat = s.material(s.plate(name).material, "ring")
            else:  # clamps: steel
                mat = material("stainless_steel", "clamp")
            prob.set_material(cells, mat.youngs_modulus_MPa, mat.poisson_ratio)
        self.wire_material = {n: s.material(w.material, "wire") for n, w in wires.items()}
        self._wire_cells = {n: solid.cell_tags.find(solid.parts[n][1]) for n in wires}
        self._wire_span_cells()

        # contact layer of an empty gap (frictionless: the axial stretch only)
        self.gap_tag = next((t for t, k in self.kind_of_tag.items() if k in ("regenerate", "gap")), None)
        if self.gap_tag is not None and self.kind_of_tag[self.gap_tag] == "gap":
            marker = fem.Function(Q0)
            marker.x.array[solid.cell_tags.find(self.gap_tag)] = 1.0
            marker.x.scatter_forward()
            k_contact = self.bone_material.youngs_modulus_MPa
            lam_c = c.gap_contact_residual

            normal = ufl.as_vector(s.gap.plane_normal())  # the fracture plane's normal (the bone axis: transverse)

            def contact_energy(u, dx, marker=marker, normal=normal):
                # the layer's thickness over its width, across the fracture plane, signed: shear along the
                # plane leaves it alone (frictionless) and it goes on resisting if a step overshoots past closure
                thickness = 1.0 + ufl.dot(normal, ufl.grad(u) * normal)
                return marker * 0.5 * k_contact * ufl.max_value(lam_c - thickness, 0.0) ** 2 * dx

            prob.energies.append(contact_energy)
            thickness = 1.0 + ufl.dot(normal, ufl.grad(prob.u) * normal)
            # the contact's pressure across the fracture plane: its stress is contact_stress m (x) m
            self.contact_stress = -marker * k_contact * ufl.max_value(lam_c - thickness, 0.0)
        else:
            self.contact_stress = 0.0
        self.gap_normal = ufl.as_vector(s.gap.plane_normal())

        # loads on the proximal end face, responses there
        ds = ufl.Measure("ds", domain=mesh, subdomain_data=solid.facet_tags)
        self.ds_load = ds(BONE_PROXIMAL_END)
        x = ufl.SpatialCoordinate(mesh)
        area = self._sum(fem.assemble_scalar(fem.form(1.0 * self.ds_load)))
        ixx = self._sum(fem.assemble_scalar(fem.form(x[1] ** 2 * self.ds_load)))
        iyy = self._sum(fem.assemble_scalar(fem.form(x[0] ** 2 * self.ds_load)))
        if area <= 0:
            raise SolverError("continuum mesh: the bone's proximal end face is missing")
        jp = ixx + iyy
        self.load = fem.Constant(mesh, np.zeros(6))  # [Fx, Fy, Fz (N), Mx, My, Mz (N*mm)]
        L = self.load
        traction = ufl.as_vector([L[0] / area - L[5] * x[1] / jp, L[1] / area + L[5] * x[0] / jp,
                                  L[2] / area + L[3] * x[1] / ixx - L[4] * x[0] / iyy])
        prob.tractions.append((traction, self.ds_load))
        u = prob.u

        def responses(u):
            return [fem.form(e * self.ds_load) for e in (
                u[0] / area, u[1] / area, u[2] / area, u[2] * x[1] / ixx, -u[2] * x[0] / iyy,
                (x[0] * u[1] - x[1] * u[0]) / jp)]

        self.response_forms = responses(u)
        # tangent stiffness: the load of a unit load component, and the response of a solution
        self.load_direction = Ld = fem.Constant(mesh, np.zeros(6))
        unit = ufl.as_vector([Ld[0] / area - Ld[5] * x[1] / jp, Ld[1] / area + Ld[5] * x[0] / jp,
                              Ld[2] / area + Ld[3] * x[1] / ixx - Ld[4] * x[0] / iyy])
        self.load_rhs_form = fem.form(ufl.inner(unit, ufl.TestFunction(prob.V)) * self.ds_load)
        self.delta = fem.Function(prob.V)
        self.delta_response_forms = responses(self.delta)
        prob.clamp(solid.facet_tags.find(BONE_DISTAL_END))

        # gap faces (interior facets between the bone and the gap's tissue or layer)
        dS = ufl.Measure("dS", domain=mesh, subdomain_data=solid.facet_tags)
        self.gap_face_forms = []
        for tag in (GAP_DISTAL_FACE, GAP_PROXIMAL_FACE):
            a_face = self._sum(fem.assemble_scalar(fem.form(1.0 * dS(tag))))
            if a_face <= 0:
                raise SolverError("continuum mesh: a gap face is missing")
            self.gap_face_forms.append([fem.form(u("+")[i] / a_face * dS(tag)) for i in range(3)])

        # cell-wise quantities at the midpoints: von Mises, wire axial stress, P_zz, E_zz
        self._cell_fields()
        self._pretension_compliance = None
        self.say(f"continuum mesh: {self.num_cells} cells, {prob.num_dofs} unknowns (P{c.element_degree}), "
                 f"{self.mesh_time_s:.1f} s")

    # ------------------------------------------------------------------ helpers
    def _sum(self, value):
        return self.comm.allreduce(value, op=MPI.SUM)

    @property
    def num_cells(self) -> int:
        return self.mesh.topology.index_map(3).size_global

    def _wire_span_cells(self) -> None:
        """The owned cells of each wire's two free spans, one diameter clear of the clamp
        posts and of the bone."""
        self.span_cells: dict[str, list[np.ndarray]] = {}
        self.near_wire_bone: dict[str, np.ndarray] = {}
        bone_tags = [t for t, k in self.kind_of_tag.items() if k == "bone"]
        bone_cells = np.flatnonzero(np.isin(self.part_of_cell[: self.num_owned_cells], bone_tags))
        for name, cells in self._wire_cells.items():
            line = self.solid.wires[name]
            cells = cells[cells < self.num_owned_cells]
            p0, a = np.array(line.start_mm), np.array(line.direction)
            t = (self.midpoints[cells] - p0) @ a
            d = line.diameter_mm
            lo_in = line.bone_centre_mm - line.bone_half_chord_mm - d
            hi_in = line.bone_centre_mm + line.bone_half_chord_mm + d
            first = (t > line.clamp_radius_mm + d) & (t < lo_in)
            second = (t > hi_in) & (t < line.length_mm - line.clamp_radius_mm - d)
            self.span_cells[name] = [cells[first], cells[second]]
            # bone within two diameters of the wire's axis
            rel = self.midpoints[bone_cells] - p0
            along = rel @ a
            dist = np.linalg.norm(rel - np.outer(along, a), axis=1)
            self.near_wire_bone[name] = bone_cells[dist < 2.0 * d + 0.5 * d]
        # the rods' cells level with the gap, and each rod's meshed section (for the axial force
        # the rods carry past the gap: with the gap's, it balances the applied load)
        g = self.scenario.gap
        lo, hi = g.level_mm - g.width_mm / 2, g.level_mm + g.width_mm / 2
        self.rod_gap_cells, self.rod_area_mm2 = {}, {}
        for tag, kind in self.kind_of_tag.items():
            if kind != "rod":
                continue
            cells = np.flatnonzero(self.part_of_cell[: self.num_owned_cells] == tag)
            z = self.midpoints[cells, 2]
            name = self.name_of_tag[tag]
            rod = next(r for r in self.scenario.rods if r.name == name)
            rings = self.scenario.rod_rings(rod)
            top, bottom = rings[-1], rings[0]
            length = (top.level_mm + top.thickness_mm / 2) - (bottom.level_mm - bottom.thickness_mm / 2)
            if rod.from_plate is not None or rod.to_plate is not None:  # from end face to end face, along z
                from meshes.continuum import plate_rod_extent

                _, _, z_lo, z_hi = plate_rod_extent(self.scenario, rod)
                length = z_hi - z_lo
            self.rod_area_mm2[name] = self._sum(float(self.volume[cells].sum())) / length
            self.rod_gap_cells[name] = cells[(z > lo - 2.0) & (z < hi + 2.0)]
        # the meshed section of each wire: its volume over its length
        self.wire_area_mm2 = {}
        for name, cells in self._wire_cells.items():
            owned = cells[cells < self.num_owned_cells]
            self.wire_area_mm2[name] = self._sum(float(self.volume[owned].sum())) / self.solid.wires[name].length_mm

    def _cell_fields(self) -> None:
        prob = self.prob
        Q0 = self.Q0
        T0v = fem.functionspace(self.mesh, ("DG", 0, (3,)))
        axis = fem.Function(T0v)
        arr = axis.x.array.reshape(-1, 3)
        for name, cells in self._wire_cells.items():
            arr[cells] = self.wire_axis[name]
        axis.x.scatter_forward()
        F, S = prob.stress_PK2(prob.u)
        P = F * S
        J = ufl.det(F)
        sigma = P * F.T / J
        dev = sigma - ufl.tr(sigma) / 3 * ufl.Identity(3)
        vm = ufl.sqrt(1.5 * ufl.inner(dev, dev))
        Fa = F * axis
        axial = ufl.dot(Fa, P * axis) / ufl.sqrt(ufl.dot(Fa, Fa) + 1e-300)
        E = 0.5 * (F.T * F - ufl.Identity(3))
        E_dev = E - ufl.tr(E) / 3 * ufl.Identity(3)
        self.fields = {}
        pts = Q0.element.interpolation_points
        for key, expr in (("von_mises_MPa", vm), ("wire_axial_stress_MPa", axial),
                          ("P_zz_MPa", P[2, 2] + self.contact_stress * self.gap_normal[2] ** 2),
                          # the axial traction on planes parallel to the fracture plane (the gap's force)
                          ("P_gap_MPa", (P * self.gap_normal)[2] + self.contact_stress * self.gap_normal[2]),
                          ("E_zz", E[2, 2]), ("shear_strain", ufl.sqrt(2.0 / 3.0 * ufl.inner(E_dev, E_dev)))):
            f = fem.Function(Q0, name=key)
            self.fields[key] = (f, fem.Expression(expr, pts))

    def update_cell_fields(self) -> dict[str, np.ndarray]:
        out = {}
        for key, (f, expr) in self.fields.items():
            f.interpolate(expr)
            out[key] = f.x.array[: self.num_owned_cells]
        return out

    # ------------------------------------------------------------------ measures
    def wire_tensions_N(self, cf) -> tuple[dict[str, float], dict[str, float]]:
        """Mean of the two free spans' axial force, and the larger, per wire (N)."""
        mean, peak = {}, {}
        q, vol = cf["wire_axial_stress_MPa"], self.volume
        for name, spans in self.span_cells.items():
            forces = []
            for cells in spans:
                num, den = self._sum(float(q[cells] @ vol[cells])), self._sum(float(vol[cells].sum()))
                if den > 0:
                    forces.append(num / den * self.wire_area_mm2[name])
            if not forces:
                raise SolverError(f"wire {name}: no free span between its clamps and the bone is meshed")
            mean[name], peak[name] = float(np.mean(forces)), float(np.max(forces))
        return mean, peak

    def peak_von_mises_MPa(self, cf) -> dict[str, float]:
        vm = cf["von_mises_MPa"]
        peaks: dict[str, float] = {}
        tags = self.part_of_cell[: self.num_owned_cells]
        for tag, kind in self.kind_of_tag.items():
            group = STRESS_GROUPS.get(kind)
            if group is None:
                continue
            sel = vm[tags == tag]
            peaks[group] = max(peaks.get(group, 0.0), float(sel.max()) if sel.size else 0.0)
        return {g: self.comm.allreduce(v, op=MPI.MAX) for g, v in sorted(peaks.items())}

    def bone_stress_at_wires_MPa(self, cf) -> dict[str, float]:
        vm = cf["von_mises_MPa"]
        return {n: self.comm.allreduce(float(vm[c].max()) if c.size else 0.0, op=MPI.MAX)
                for n, c in self.near_wire_bone.items()}

    def gap_values(self, cf) -> dict[str, float] | None:
        """Axial force through the gap (N, tension > 0) and, with a regenerate, its strains."""
        if self.gap_tag is None:
            return None
        tags = self.part_of_cell[: self.num_owned_cells]
        cells = np.flatnonzero(tags == self.gap_tag)
        vol = self.volume[cells]
        total = self._sum(float(vol.sum()))
        # the traction on the planes parallel to the fracture plane, through the layer's thickness across them
        # (width_mm cos(obliquity)); a transverse gap: P_zz over its width
        across = self.scenario.gap.width_mm * self.scenario.gap.plane_normal()[2]
        out = {"force_N": self._sum(float(cf["P_gap_MPa"][cells] @ vol)) / across}
        rods = 0.0
        for name, rc in self.rod_gap_cells.items():
            v = self._sum(float(self.volume[rc].sum()))
            if v > 0:
                rods += self._sum(float(cf["P_zz_MPa"][rc] @ self.volume[rc])) / v * self.rod_area_mm2[name]
        out["rods_force_N"] = rods
        if self.kind_of_tag[self.gap_tag] == "regenerate":
            out["mean_axial_strain"] = self._sum(float(cf["E_zz"][cells] @ vol)) / total
            out["peak_shear_strain"] = self.comm.allreduce(float(cf["shear_strain"][cells].max()) if cells.size
                                                           else 0.0, op=MPI.MAX)
        return out

    def responses(self) -> np.ndarray:
        return np.array([self._sum(fem.assemble_scalar(f)) for f in self.response_forms])

    def tangent_compliance(self) -> np.ndarray:
        """6x6 tangent compliance at the current state: column i is the motion of the loaded
        end [u (mm), rotation (rad)] per unit load component i (N, N*mm); one factorisation
        (or six Krylov solves) of the tangent matrix. Collective."""
        from dolfinx.fem import petsc as fem_petsc
        from petsc4py import PETSc

        prob = self.prob
        if prob.problem is None:
            prob._build()
        A = prob.problem.A
        A.zeroEntries()
        fem_petsc.assemble_matrix(A, prob.problem.J, bcs=prob.bcs)
        A.assemble()
        ksp = prob.problem.solver.getKSP()
        ksp.setOperators(A)
        out = np.zeros((6, 6))
        b = fem_petsc.create_vector(prob.V)
        x = b.duplicate()
        for i in range(6):
            self.load_direction.value[:] = np.eye(6)[i]
            with b.localForm() as loc:
                loc.set(0.0)
            fem_petsc.assemble_vector(b, self.load_rhs_form)
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            fem_petsc.set_bc(b, prob.bcs)
            ksp.solve(b, x)
            if ksp.getConvergedReason() < 0:
                raise SolverError(f"continuum tangent stiffness: the linear solve failed (KSP reason "
                                  f"{ksp.getConvergedReason()})")
            self.delta.x.petsc_vec.array[:] = x.array
            self.delta.x.scatter_forward()
            out[:, i] = [self._sum(fem.assemble_scalar(f)) for f in self.delta_response_forms]
        b.destroy()
        x.destroy()
        return out

    def gap_motion_mm(self) -> np.ndarray:
        d, p = ([self._sum(fem.assemble_scalar(f)) for f in forms] for forms in self.gap_face_forms)
        return np.array(p) - np.array(d)

    # ------------------------------------------------------------------ solves
    def _set_strains(self, eps: dict[str, float]) -> None:
        for name, cells in self._wire_cells.items():
            self.prob.set_axial_initial_strain(cells, self.wire_axis[name], eps.get(name, 0.0),
                                               self.wire_material[name].poisson_ratio)

    def solve_pretension(self) -> PretensionResult:
        """Tension the wires (see the module's docstring); the state becomes the reference."""
        from meshes.frame_network import build_frame

        t0 = time.perf_counter()
        s = self.scenario
        mode = s.solver.tensioning
        target = {w.name: w.tension_N for w in s.wires}
        names = [n for n in target]
        # the frame model of the same scenario: its initial strains and influence matrix
        fm = FrameModel(s, build_frame(s, self.comm))
        pre = fm.solve_pretension()
        eps = {n: pre.initial_strain.get(n, 0.0) for n in names}
        nominal = {n: -(target[n] or 100.0) / fm.wire_EA_N[n] for n in names}
        A = fm.influence_matrix(names, nominal) if mode == "simultaneous" and names else None
        self._set_strains(eps)
        self.prob.strain_factor.value = 0.0
        self.prob.load_factor.value = 1.0
        self.load.value[:] = 0.0
        self.prob.u.x.array[:] = 0.0
        for k in (1, 2):
            self.prob.strain_factor.value = k / 2
            self.prob.newton(f"continuum pretension, step {k}/2")
        self.prob.strain_factor.value = 1.0
        cf = self.update_cell_fields()
        achieved, _ = self.wire_tensions_N(cf)
        uncorrected = dict(achieved)
        tol = s.continuum.pretension_tolerance
        iterations = 0
        if A is not None:
            eps, achieved, iterations = self._correct_pretension(names, target, eps, achieved, A, tol)
        self.pretension_corrections = iterations
        self.pretensioned_state = self.prob.u.x.array.copy()
        self._reference_raw = self.responses()
        self._reference_gap = self.gap_motion_mm()
        self.first_solve_N = uncorrected  # with the frame model's initial strains, before any correction
        # "sequential" and "initial_strain" keep the frame model's strains as they are
        return PretensionResult(target, achieved, eps, mode, {},
                                time.perf_counter() - t0)

    def _correct_pretension(self, names, target, eps, achieved, A, tol):
        """Correct the wires' initial strains until every wire is within `tol` of its target.

        A secant (quasi-Newton) iteration on T(e) = target, T the wires' tensions (N) and e
        their initial strains (negative = shortened): de = -J^-1 (T - target), starting from
        the frame model's influence matrix J = A (N per unit strain) and improving J after
        every solve with Broyden's "good" rank-one update from the observed change of the
        tensions (C. G. Broyden, "A class of methods for solving nonlinear simultaneous
        equations", Math. Comp. 19 (1965) 577-593; Dennis & Schnabel, "Numerical methods
        for unconstrained optimization and nonlinear equations", SIAM 1996, sec. 8.1):

            J <- J + (dT - J de) de^T / (de^T de).

        The first secant is the solve already done: from e = 0 (no tension) to the frame
        model's strains. Where the two models' compliances differ (wires on posts or
        inclined: the frame model's rings give more under the posts' moments than the
        solid's), the frame model's A alone over- or under-corrects without end. Safeguards
        (a step cut, Dennis & Schnabel sec. 6.3): a correction whose Newton solve fails, or
        after which the worst error grows, is undone (state and strains), J is updated with
        what it showed where a solve gave tensions, and the step is halved; at most
        continuum.max_pretension_iterations corrections are solved in all.
        Returns (strains, achieved tensions N, corrections solved). Raises SolverError if the
        tolerance is not reached within that many corrections or a halved step still fails."""
        s = self.scenario
        J = np.array(A, dtype=float)
        e = np.array([eps[n] for n in names])
        T = np.array([achieved[n] for n in names])
        tgt = np.array([target[n] for n in names])
        scale = np.array([max(target[n], 1.0) for n in names])

        def broyden(de, dT):
            nd = float(de @ de)
            if nd > 0:
                J[:] += np.outer(dT - J @ de, de) / nd

        broyden(e, T)  # the ramp from rest: T(0) = 0 (no load acts during the pretension)
        iterations, cut = 0, 1.0
        while True:
            err = tgt - T
            worst = float(np.max(np.abs(err) / scale))
            self.say(f"pretension: worst wire {100 * worst:.2f} % from its target")
            if worst < tol:
                break
            if iterations >= s.continuum.max_pretension_iterations:
                raise SolverError(f"continuum pretension: the wire tensions are still {100 * worst:.1f} % from "
                                  f"their targets after {iterations} corrections; accepted: a looser "
                                  "continuum.pretension_tolerance, more continuum.max_pretension_iterations or a "
                                  "finer mesh near the wires")
            try:
                de = cut * np.linalg.solve(J, err)
            except np.linalg.LinAlgError:
                raise SolverError("continuum pretension: the wires' influence matrix became singular; accepted: a "
                                  "finer mesh near the wires or solver.tensioning = \"initial_strain\"") from None
            state = self.prob.u.x.array.copy()
            self._set_strains(dict(zip(names, e + de)))
            iterations += 1
            try:
                self.prob.newton(f"continuum pretension, correction {iterations}")
            except SolverError as exc:  # newton() restored the state; undo the strains and halve the step
                self._set_strains(dict(zip(names, e)))
                if cut < 1 / 8 or iterations >= s.continuum.max_pretension_iterations:
                    raise
                cut /= 2
                self.say(f"pretension: correction {iterations} failed ({exc}); halving the step")
                continue
            new, _ = self.wire_tensions_N(self.update_cell_fields())
            Tn = np.array([new[n] for n in names])
            broyden(de, Tn - T)
            after = float(np.max(np.abs(tgt - Tn) / scale))
            if after > worst and cut > 1 / 8:
                self.say(f"pretension: correction {iterations} took the worst wire to {100 * after:.2f} %; undone, "
                         "retried with the updated influence matrix and half the step")
                self.prob.u.x.array[:] = state  # worse: undo, and retry with the updated J and a shorter step
                self.prob.u.x.scatter_forward()
                self._set_strains(dict(zip(names, e)))
                cut /= 2
                continue
            e, T, cut = e + de, Tn, min(1.0, 2 * cut)
        self.update_cell_fields()
        return dict(zip(names, e)), dict(zip(names, T)), iterations

    def _record(self, lam, magnitude, component, sign, iterations) -> StepRecord:
        cf = self.update_cell_fields()
        mean, peak = self.wire_tensions_N(cf)
        raw = self.responses()
        gap = self.gap_values(cf)
        motion = self.gap_motion_mm()
        rec = StepRecord(lam, lam * magnitude, signed_response(raw - self._reference_raw, component, sign), mean, peak,
                         self.peak_von_mises_MPa(cf), motion - self._reference_gap,
                         None if gap is None else gap["force_N"], iterations,
                         response_absolute=signed_response(raw, component, sign), gap_motion_absolute_mm=motion)
        rec.bone_stress_at_wires_MPa = self.bone_stress_at_wires_MPa(cf)
        rec.gap = gap
        return rec

    def solve_load_case(self, name: str) -> LoadCaseResult:
        """Load the pretensioned solid step by step (the scenario's steps); record every step
        and the tangent stiffness at the pretensioned state and at full load."""
        t0 = time.perf_counter()
        spec = getattr(self.scenario.loads, name)
        component, sign, magnitude, full = load_case_vector(self.scenario, name)  # as in the frame model
        result = LoadCaseResult(name, component=component, sign=sign)
        self.prob.u.x.array[:] = self.pretensioned_state
        self.prob.u.x.scatter_forward()
        self.load.value[:] = 0.0
        if self._pretension_compliance is None:
            self._pretension_compliance = self.tangent_compliance()
        result.initial_compliance = self._pretension_compliance
        result.steps.append(self._record(0.0, magnitude, component, sign, 0))
        for k in range(1, spec.steps + 1):
            self.load.value[:] = full * k / spec.steps
            its = self.prob.newton(f"continuum load case {name!r}, step {k}/{spec.steps}")
            result.steps.append(self._record(k / spec.steps, magnitude, component, sign, its))
            unit = ("N", "mm") if name == "axial" else ("N*m", "deg")
            self.say(f"{name} step {k}/{spec.steps}: {result.steps[-1].load:.4g} {unit[0]}, response "
                     f"{result.steps[-1].response:.4g} {unit[1]}, {its} Newton iterations "
                     f"({time.perf_counter() - t0:.0f} s)")
        result.final_compliance = self.tangent_compliance()
        result.solve_time_s = time.perf_counter() - t0
        return result


def solve_continuum(scenario: Scenario, comm=None, log=None, field_writer=None) -> ContinuumRun:
    """Build, pretension and load the continuum model; return results.json data.

    field_writer(frame, label): called collectively after pretension and each load case
    (to write field files). Raises ScenarioError for PETSc options that PETSc refuses or
    never reads (check_petsc_options, before any meshing), GeometryError, SolverError."""
    from postprocess.metrics import build_results
    from sim.run import yield_by_group

    check_petsc_options(scenario.continuum)
    comm = MPI.COMM_WORLD if comm is None else comm
    say = (lambda m: log(m) if log and comm.rank == 0 else None)
    t0 = time.perf_counter()
    frame = ContinuumFrame(scenario, comm, log)
    t_mesh = time.perf_counter() - t0
    pre = frame.solve_pretension()
    say(f"pretension ({pre.mode}, {frame.pretension_corrections} corrections) in {pre.solve_time_s:.1f} s: "
        + ", ".join(f"{n} {pre.achieved_N[n]:.0f}/{pre.target_N[n]:.0f} N" for n in pre.target_N))
    snapshots = {"pretension": frame.prob.u.x.array.copy()}
    if field_writer:
        field_writer(frame, "pretension")
    cases = {}
    for name in scenario.loads.cases:
        cases[name] = frame.solve_load_case(name)
        snapshots[name] = frame.prob.u.x.array.copy()
        if field_writer:
            field_writer(frame, name)
        last = cases[name].steps[-1]
        say(f"load case {name}: {len(cases[name].steps) - 1} steps in {cases[name].solve_time_s:.1f} s "
            f"(response {last.response:.4g} {'mm' if name == 'axial' else 'deg'})")
    t_solve = time.perf_counter() - t0 - t_mesh
    timings = {"mesh": frame.mesh_time_s, "setup": t_mesh - frame.mesh_time_s, "solve": t_solve,
               "total": time.perf_counter() - t0, "pretension": pre.solve_time_s,
               **{f"load_case_{k}": v.solve_time_s for k, v in cases.items()}}
    from sim.materials import material

    groups = {**yield_by_group(scenario), "clamps": material("stainless_steel", "clamp").yield_stress_MPa}
    results = build_results(scenario, pre, cases, cells=frame.num_cells, dofs=frame.prob.num_dofs, timings_s=timings,
                            yield_by_group_MPa=groups)
    results["model"] = "continuum"
    if scenario.has_bone and scenario.bone_breaks() and scenario.gap.butterfly is not None:
        from sim.fracture_geometry import describe_butterfly

        results.setdefault("assumptions", {})["butterfly"] = describe_butterfly(scenario, "continuum")
    for w in results["pretension"]["wires"]:
        w["first_solve_N"] = frame.first_solve_N[w["name"]]
    results["mpi_ranks"] = comm.size
    c = scenario.continuum
    results["mesh"].update({"element_degree": c.element_degree, "element_size_mm": c.element_size_mm,
                            "wire_element_size_mm": frame.solid.wire_size_mm})
    results["solver"] = {"linear_solver": frame.prob.options.get("pc_type"), "ksp_type": frame.prob.options.get(
        "ksp_type"), "newton_iterations": frame.prob.newton_iterations,
        "krylov_iterations": frame.prob.krylov_iterations, "pretension_corrections": frame.pretension_corrections}
    if "axial" in cases and frame.gap_tag is not None and frame.kind_of_tag[frame.gap_tag] == "gap":
        from postprocess.metrics import _gap_closure_load

        m = results["load_cases"]["axial"]
        touch = scenario.gap.width_mm * (1.0 - c.gap_contact_residual)  # the contact layer's closure
        closing = np.array([-st.gap_motion_absolute_mm[2] for st in cases["axial"].steps])
        m["gap_closed_at_N"] = _gap_closure_load(np.array(m["load_N"]), closing, touch)
        m["gap_closed_at_N_method"] = ("linear interpolation between load steps (the continuum model's contact "
                                       "layer closes gradually): refine loads.axial.steps for a closer value")
    for name, case in cases.items():
        last = case.steps[-1]
        m = results["load_cases"][name]
        m["bone_stress_at_wires_MPa"] = last.bone_stress_at_wires_MPa
        if last.gap is not None:
            m["load_through_rods_N"] = -last.gap["rods_force_N"]
        if last.gap is not None and "mean_axial_strain" in last.gap:
            m["regenerate_mean_axial_strain"] = last.gap["mean_axial_strain"]
            m["regenerate_peak_shear_strain"] = last.gap["peak_shear_strain"]
    return ContinuumRun(results, frame, cases, snapshots)


def gather_solid(frame: ContinuumFrame, state: np.ndarray | None = None) -> dict | None:
    """The solid on rank 0 (None elsewhere), for pictures: vertex coordinates and
    displacements (mm; quadratic fields at the vertices), tetrahedra (vertex indices),
    the part tag and von Mises stress (MPa) of every cell. `state`: a local displacement
    array to show (default the current one). Collective."""
    prob = frame.prob
    if state is not None:
        prob.u.x.array[:] = state
    cf = frame.update_cell_fields()
    V1 = fem.functionspace(frame.mesh, ("Lagrange", 1, (3,)))
    u1 = fem.Function(V1)
    u1.interpolate(prob.u)
    imap = V1.dofmap.index_map
    n_owned = imap.size_local
    coords = V1.tabulate_dof_coordinates()[:n_owned]
    values = u1.x.array.reshape(-1, 3)[:n_owned]
    global_nodes = imap.local_range[0] + np.arange(n_owned)
    cells = imap.local_to_global(V1.dofmap.list[: frame.num_owned_cells].ravel()).reshape(-1, 4)
    tags = frame.part_of_cell[: frame.num_owned_cells]
    parts = frame.comm.gather((global_nodes, coords, values, cells, tags, cf["von_mises_MPa"].copy()), root=0)
    if frame.comm.rank != 0:
        return None
    n = imap.size_global
    X, U = np.zeros((n, 3)), np.zeros((n, 3))
    for g, c, v, *_ in parts:
        X[g], U[g] = c, v
    return {"points_mm": X, "displacement_mm": U, "cells": np.vstack([p[3] for p in parts]),
            "part_tag": np.concatenate([p[4] for p in parts]),
            "von_mises_MPa": np.concatenate([p[5] for p in parts])}


def write_fields(frame: ContinuumFrame, snapshots: dict[str, np.ndarray], path) -> list[str]:
    """ParaView field files (XDMF + HDF5), written in parallel: the mesh with its part
    tags, and for every state (pretension, then each load case at full load, as time
    steps 0, 1, ...) the displacement (mm) and the von Mises stress (MPa). Collective;
    returns the states' labels in order."""
    from dolfinx.io import XDMFFile

    prob = frame.prob
    vm = frame.fields["von_mises_MPa"][0]
    current = prob.u.x.array.copy()
    with XDMFFile(frame.comm, str(path), "w") as f:
        f.write_mesh(frame.mesh)
        frame.solid.cell_tags.name = "part"
        f.write_meshtags(frame.solid.cell_tags, frame.mesh.geometry)
        for k, (label, state) in enumerate(snapshots.items()):
            prob.u.x.array[:] = state
            frame.update_cell_fields()
            f.write_function(prob.u, float(k))
            f.write_function(vm, float(k))
    prob.u.x.array[:] = current
    return list(snapshots)


def continuum_writer(out, scenario: Scenario, run: ContinuumRun, picture: bool = True, log=None):
    """Write a continuum run directory, all or nothing: results.json, the resolved
    scenario, fields.xdmf/.h5 (in parallel; see write_fields) and continuum.png (the
    picture of the axial case, or of the first case). Collective; returns results.json's path."""
    import json
    from pathlib import Path

    from sim.run import publish_atomically

    frame = run.frame
    write = scenario.continuum.write_fields
    case = "axial" if "axial" in run.snapshots else next((k for k in run.snapshots if k != "pretension"), "pretension")
    solid = gather_solid(frame, run.snapshots[case]) if picture else None  # collective

    def collective(staging: Path) -> None:
        if write:
            labels = write_fields(frame, run.snapshots, staging / "fields.xdmf")
            run.results["fields"] = {"file": "fields.xdmf", "states": labels,
                                     "functions": ["displacement_mm", "von_mises_MPa"], "cell_tags": "part"}

    def fill(staging: Path) -> None:
        (staging / "scenario.resolved.json").write_text(json.dumps(scenario.to_dict(), indent=2))
        if picture:
            from postprocess.solid_render import render_solid, solid_part_yields_MPa

            at_wires = run.results["load_cases"].get(case, {}).get("bone_stress_at_wires_MPa") or {}
            focus = None
            if at_wires:
                name = max(at_wires, key=at_wires.get)
                line = frame.solid.wires[name]
                entry = np.array(line.start_mm) + (line.bone_centre_mm - line.bone_half_chord_mm) * np.array(
                    line.direction)
                focus = (tuple(entry), line.direction, name)
            pic = render_solid(solid, frame.solid.parts, staging / "continuum.png",
                               title=f"{scenario.name}: continuum model, {case} at full load", focus=focus,
                               yields_MPa=solid_part_yields_MPa(scenario.to_dict(), frame.solid.parts))
            run.results["pictures"] = [pic.name]
        run.results["parts"] = {name: {"kind": kind, "tag": tag} for name, (kind, tag) in frame.solid.parts.items()}
        (staging / "results.json").write_text(json.dumps(run.results, indent=2))

    final = publish_atomically(out, fill, frame.comm, collective=collective)
    if log and frame.comm.rank == 0:
        log(f"wrote {final}")
    return final / "results.json"
