"""Elastoplastic beams: wires and pins that yield (fibre sections, kinematic hardening).

A member whose material may yield (a wire at a bench load, a half pin) has its section's
axial force and bending moments from fibres (sim.elements.fibres: 8 angles x 3 radii),
each a bar of the member's material with linear kinematic hardening (modulus H, the
Bauschinger effect of cyclic loading) and yield stress sigma_y:

    e      = eps - eps0 + (K x rho).t                  (the fibre's mechanical strain)
    xi     = E (e - e_p,n) - H e_p,n                   (trial stress less the back stress)
    W_f    = 1/2 E (e - e_p,n)^2 - <|xi| - sigma_y>^2 / (2 (E + H))

W_f is the incremental (backward-Euler) potential of the return mapping: its derivative
is the fibre's return-mapped stress, its second derivative the consistent tangent
(E, or E H / (E + H) while yielding), and it is C1; e_p,n, the fibre's plastic strain at
the last converged step, is a history field, updated after each converged step by
e_p = e_p,n + <|xi| - sigma_y> / (E + H) sign(xi). Shear and twist stay elastic (GA, GJ):
a wire's torsion and shear stresses are small beside its axial and bending ones.
With sigma_y beyond reach the section is exactly the elastic beam's (EA, EI): the fibres
integrate the area and second moments exactly. The stretch strain eps and eps0 (a wire's
pretension) are the elastic beam's (sim.elements.beam). Sources of E, sigma_y and H:
sim.materials.
"""

from __future__ import annotations

import ufl

from sim.elements import fibres
from sim.elements.beam import EPS0, GA1, GA2, GJ, LAMBDA0

# columns of the per-cell plastic parameter field
YOUNGS, HARDENING, YIELD, R_INNER, R_OUTER = range(5)
N_COLUMNS = 5
N_ANGLES = 8
N_FIBRES = N_ANGLES * len(fibres.LOBATTO)


def _terms(q, p, eps, kappa, t, n1, n2):
    return fibres.fibre_terms(N_ANGLES, q[R_INNER], q[R_OUTER], eps - p[EPS0], ufl.dot(kappa, n1), ufl.dot(kappa, n2))


# The history update returns a yielding fibre to the yield stress itself, the energy lets it
# yield only from ON_SURFACE above it: so the next step starts inside the elastic range, with
# the elastic tangent (at the surface itself the tangent would be decided by round-off,
# fibre by fibre, and an unloading step predicted with the plastic one, 1/140 as stiff).
ON_SURFACE = 1e-9


def _fibre(q, e, ep_n, margin=ON_SURFACE):
    E, H, sy = q[YOUNGS], q[HARDENING], q[YIELD]
    xi = E * (e - ep_n) - H * ep_n
    over = ufl.max_value(abs(xi) - sy * (1.0 + margin), 0.0)
    return E, H, xi, over


def energy_density(p, q, plastic_n, eps, gamma, kappa, t, n1, n2):
    """Stored (incremental) energy per meshed length (UFL): `p` the beam parameters (shear,
    twist, eps0, lambda0), `q` the plastic parameters, `plastic_n` the fibres' plastic
    strains (a vector of N_FIBRES)."""
    W = 0
    for j, (e, area, _, _) in enumerate(_terms(q, p, eps, kappa, t, n1, n2)):
        E, H, xi, over = _fibre(q, e, plastic_n[j])
        W += area * (0.5 * E * (e - plastic_n[j]) ** 2 - over ** 2 / (2 * (E + H)))
    W += 0.5 * (p[GA1] * ufl.dot(gamma, n1) ** 2 + p[GA2] * ufl.dot(gamma, n2) ** 2 + p[GJ] * ufl.dot(kappa, t) ** 2)
    return p[LAMBDA0] * W


def _stress(q, e, ep_n):
    """The fibre's return-mapped axial stress (MPa): the derivative of W_f by e."""
    E, H, xi, over = _fibre(q, e, ep_n)
    return E * (e - ep_n) - E * over / (E + H) * ufl.sign(xi)


def fibre_stresses(p, q, plastic_n, eps, gamma, kappa, t, n1, n2):
    """The axial stress of every fibre (MPa, tension positive; UFL vector of N_FIBRES, in
    the order of sim.elements.fibres.layout): on the yield surface of a yielding fibre,
    |sigma - H e_p| = sigma_y, so |sigma| <= sigma_y + H |e_p|."""
    return ufl.as_vector([_stress(q, e, plastic_n[j])
                          for j, (e, _, _, _) in enumerate(_terms(q, p, eps, kappa, t, n1, n2))])


def fibre_radii(r_in: float, r_out: float) -> list[float]:
    """The radius of every fibre (mm), in the order of `fibre_stresses`."""
    return [r_in + xi * (r_out - r_in) for _, _, xi, _ in fibres.layout(N_ANGLES)]


def fibre_von_mises_MPa(sigma, torque_Nmm, r_in: float, r_out: float, torsion_constant_mm4: float):
    """Peak von Mises stress of yielding sections (numpy): the largest over the fibres of
    sqrt(sigma^2 + 3 tau^2), sigma the fibres' axial stresses (n, N_FIBRES; MPa) and tau
    the shear stress of the (elastic) twisting moment at the fibre's radius, T r / J
    (torque_Nmm: (n,); J in mm^4). The transverse shear is left out, as the fibres
    leave it out: a wire's is small beside its axial and bending stresses."""
    import numpy as np

    sigma = np.asarray(sigma, float)
    tau = np.abs(np.asarray(torque_Nmm, float))[:, None] * np.asarray(fibre_radii(r_in, r_out))[None, :] \
        / torsion_constant_mm4
    return np.sqrt(sigma ** 2 + 3.0 * tau ** 2).max(axis=1) if sigma.size else np.zeros(len(sigma))


def section_forces(p, q, plastic_n, eps, gamma, kappa, t, n1, n2):
    """[N, 0, 0, 0, M1, M2] (N, N*mm; UFL vector) from the fibres: the shear forces and the
    twisting moment are the elastic beam's (sim.elements.beam.section_forces of the same
    cell, whose EA and EI are zero on a yielding member)."""
    N, M1, M2 = 0, 0, 0
    for j, (e, area, lever1, lever2) in enumerate(_terms(q, p, eps, kappa, t, n1, n2)):
        sigma = _stress(q, e, plastic_n[j])
        N += sigma * area
        M1 += sigma * area * lever1
        M2 += sigma * area * lever2
    return ufl.as_vector([N, 0.0, 0.0, 0.0, M1, M2])


def updated_plastic_strains(p, q, plastic_n, eps, gamma, kappa, t, n1, n2):
    """The fibres' plastic strains after a converged step (UFL vector of N_FIBRES)."""
    out = []
    for j, (e, _, _, _) in enumerate(_terms(q, p, eps, kappa, t, n1, n2)):
        E, H, xi, over = _fibre(q, e, plastic_n[j], margin=0.0)  # back to the yield stress itself
        out.append(plastic_n[j] + over / (E + H) * ufl.sign(xi))
    return ufl.as_vector(out)
