"""Frictionless contact of the fragment ends across a gap, over the cortical section.

The gap (or a defect's docking site, or the least thickness a tissue-filled gap can be
squeezed to) is a line of cells between the two fragment ends on the bone's axis. The
ends are rigid sections (an annulus between the bone's inner and outer radii), so the
axial distance between them at a point rho of the section is, per cell length,

    1 + eps(rho),   eps(rho) = t.Gamma + (K x rho).t

with Gamma and K the exact material strains of `sim.elements.kinematics`: the distance
along the distal end's normal, opened or closed by the relative tilt of the two ends. The
ends touch where it falls below the fraction c of the cell's length (c = 0 for an empty
gap, REGENERATE_MIN_LENGTH_FRACTION for one filled with soft tissue) and resist with a
penalty over the section,

    W = sum_j 1/2 S A_j <c - 1 - eps(rho_j)>^2,    S = E_bone L / CONTACT_LENGTH_MM

at "fibres" rho_j: 16 angles x 3 radii (Gauss-Lobatto in r, with the rim itself), whose
areas A_j integrate the annulus's area and second moments exactly. Once one side of the
rim touches, the contact carries a moment about the contact line; when the whole section
is closed it is as stiff as CONTACT_LENGTH_MM of bone. No shear or friction passes.
"""

from __future__ import annotations

import math

import numpy as np
import ufl

# columns of the per-cell contact parameter field
STIFFNESS, CLOSED_FRACTION, R_INNER, R_OUTER = range(4)
N_COLUMNS = 4
CONTACT_LENGTH_MM = 10.0  # closed contact is as stiff as this length of bone
N_ANGLES = 16
LOBATTO = ((0.0, 1.0 / 3.0), (0.5, 4.0 / 3.0), (1.0, 1.0 / 3.0))  # (position in [r_in, r_out], weight on [-1, 1])


def fibres() -> list[tuple[float, float, float]]:
    """(cos phi, sin phi, position in [0, 1] from the inner to the outer radius, weight) of each fibre."""
    return [(math.cos(2 * math.pi * j / N_ANGLES), math.sin(2 * math.pi * j / N_ANGLES), xi, wt)
            for j in range(N_ANGLES) for xi, wt in LOBATTO]


def fibre_areas_mm2(r_inner_mm: float, r_outer_mm: float) -> np.ndarray:
    """Area of each fibre (numpy): they sum to the annulus's area exactly."""
    h = 0.5 * (r_outer_mm - r_inner_mm)
    return np.array([2 * math.pi / N_ANGLES * wt * h * (r_inner_mm + xi * (r_outer_mm - r_inner_mm))
                     for _, _, xi, wt in fibres()])


def _fibre_terms(p, gamma, kappa, t, n1, n2):
    """(gap, area, lever n1, lever n2) of every fibre (UFL): gap = 1 + eps - c (> 0 open)."""
    out = []
    h = 0.5 * (p[R_OUTER] - p[R_INNER])
    axial = ufl.dot(gamma, t)
    k1, k2 = ufl.dot(kappa, n1), ufl.dot(kappa, n2)
    for cos, sin, xi, wt in fibres():
        r = p[R_INNER] + xi * (p[R_OUTER] - p[R_INNER])
        eps = axial + r * (sin * k1 - cos * k2)  # (K x rho).t with rho = r (cos n1 + sin n2)
        area = 2 * math.pi / N_ANGLES * wt * h * r
        out.append((1.0 + eps - p[CLOSED_FRACTION], area, r * sin, -r * cos))
    return out


def energy_density(p, gamma, kappa, t, n1, n2):
    """Stored energy per meshed length (UFL); `p` is the contact parameter field."""
    total = 0
    for gap, area, _, _ in _fibre_terms(p, gamma, kappa, t, n1, n2):
        total += 0.5 * p[STIFFNESS] * area * ufl.max_value(-gap, 0.0) ** 2
    return total


def fibre_gaps(p, gamma, kappa, t, n1, n2):
    """Gap of every fibre (UFL vector, per cell length, > 0 open, <= 0 touching)."""
    return ufl.as_vector([gap for gap, _, _, _ in _fibre_terms(p, gamma, kappa, t, n1, n2)])


def section_forces(p, gamma, kappa, t, n1, n2):
    """[N, 0, 0, 0, M1, M2] carried by the contact (UFL vector; N < 0 in compression)."""
    N, M1, M2 = 0, 0, 0
    for gap, area, lever1, lever2 in _fibre_terms(p, gamma, kappa, t, n1, n2):
        force = -p[STIFFNESS] * area * ufl.max_value(-gap, 0.0)  # compression: negative
        N += force
        # dW/dK: d eps / dK = rho x t = r (sin n1 - cos n2)
        M1 += force * lever1
        M2 += force * lever2
    return ufl.as_vector([N, 0.0, 0.0, 0.0, M1, M2])
