"""Geometrically exact 3D beams (Reissner-Timoshenko) of the frame model.

Energy per meshed length of a member with reference tangent t and section axes n1, n2
(strains from `sim.elements.kinematics.member_strains`, natural-length factor lambda0):

    W = lambda0 / 2 [EA (eps - eps0)^2 + GA1 (n1.Gamma)^2 + GA2 (n2.Gamma)^2
                     + GJ (t.K)^2 + EI1 (n1.K)^2 + EI2 (n2.K)^2]

A section whose centroid is off the member's line (the bone beside a butterfly fragment,
sim.fracture_geometry) adds the couplings of an eccentric section, with the first moments
ES_i = E * integral of rho_i and the product EI12 = E * integral of rho_1 rho_2 about the
line (EI1, EI2 then about the line too: the strain at rho is eps + K1 rho_2 - K2 rho_1):

    W += lambda0 [(eps - eps0) (ES2 n1.K - ES1 n2.K) - EI12 (n1.K)(n2.K)]

(zero for every other member). eps0 < 0 is a wire's pretension (an initial strain that shortens it between its clamps).
A hexapod strut has EA only (pinned at both ends: axial force only). Shear terms are
integrated with one point (reduced integration: no shear locking of thin wires).

Section forces (material frame, tension and the right-hand rule positive):
N = EA (eps - eps0), V_i = GA_i n_i.Gamma, T = GJ t.K, M_i = EI_i n_i.K. With linear
elements they are constant over a cell; the bending moment varies along the cell with
the shear force, dM1/ds = V2 and dM2/ds = -V1 (beam equilibrium), so the peak at a
clamp or a joint is recovered at the cell's ends (`end_moments`).
"""

from __future__ import annotations

import numpy as np
import ufl

# columns of the per-cell beam parameter field
EA, GA1, GA2, GJ, EI1, EI2, EPS0, LAMBDA0, ES1, ES2, EI12 = range(11)
N_COLUMNS = 11


def energy_density(p, eps, gamma, kappa, t, n1, n2):
    """Stored energy per meshed length (UFL); `p` is the beam parameter field."""
    return 0.5 * p[LAMBDA0] * (p[EA] * (eps - p[EPS0]) ** 2 + p[GA1] * ufl.dot(gamma, n1) ** 2
                               + p[GA2] * ufl.dot(gamma, n2) ** 2 + p[GJ] * ufl.dot(kappa, t) ** 2
                               + p[EI1] * ufl.dot(kappa, n1) ** 2 + p[EI2] * ufl.dot(kappa, n2) ** 2
                               + 2 * (eps - p[EPS0]) * (p[ES2] * ufl.dot(kappa, n1) - p[ES1] * ufl.dot(kappa, n2))
                               - 2 * p[EI12] * ufl.dot(kappa, n1) * ufl.dot(kappa, n2))


def section_forces(p, eps, gamma, kappa, t, n1, n2):
    """[N, V1, V2, T (N), M1, M2 (N*mm)] of a beam cell (UFL vector)."""
    k1, k2, e = ufl.dot(kappa, n1), ufl.dot(kappa, n2), eps - p[EPS0]
    return ufl.as_vector([p[EA] * e + p[ES2] * k1 - p[ES1] * k2, p[GA1] * ufl.dot(gamma, n1),
                          p[GA2] * ufl.dot(gamma, n2), p[GJ] * ufl.dot(kappa, t),
                          p[EI1] * k1 + p[ES2] * e - p[EI12] * k2, p[EI2] * k2 - p[ES1] * e - p[EI12] * k1])


def end_moments(forces: np.ndarray, half_length_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Section forces at the two ends of each cell, shape (n, 6) each, from the cell's
    constant forces (n, 6) and its half (natural) length (n,): the bending moments change
    along the cell by the shear force times the distance (dM1/ds = V2, dM2/ds = -V1)."""
    f = np.asarray(forces, float)
    h = np.asarray(half_length_mm, float)
    delta = np.zeros_like(f)
    delta[:, 4] = f[:, 2] * h
    delta[:, 5] = -f[:, 1] * h
    return f - delta, f + delta
