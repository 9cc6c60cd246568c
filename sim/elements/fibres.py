"""Fibres of an annular (or solid circular) section: where a section's strain is sampled.

A section between the radii r_in and r_out is sampled at n_angles angles times three
radii (Gauss-Lobatto in r: r_in, the mid-radius and r_out, so the rim itself is one):

    int f dA ~ sum_j A_j f(rho_j),   A_j = (2 pi / n) w_k (r_out - r_in) / 2 r_k

with w = (1/3, 4/3, 1/3). This integrates the area, the first and the second moments of
the annulus exactly (for n >= 3), so a linear strain field over the section gives the
exact axial force and bending moments (an elastic fibre section is exactly EA and EI).
The strain of the fibre at rho = r (cos a n1 + sin a n2) of a member with material strains
Gamma, K is eps(rho) = t.Gamma + (K x rho).t = t.Gamma + r (sin a K.n1 - cos a K.n2).
"""

from __future__ import annotations

import math

LOBATTO = ((0.0, 1.0 / 3.0), (0.5, 4.0 / 3.0), (1.0, 1.0 / 3.0))  # (position in [r_in, r_out], weight on [-1, 1])


def layout(n_angles: int) -> list[tuple[float, float, float, float]]:
    """(cos a, sin a, position in [0, 1] from r_in to r_out, weight) of each fibre."""
    return [(math.cos(2 * math.pi * j / n_angles), math.sin(2 * math.pi * j / n_angles), xi, wt)
            for j in range(n_angles) for xi, wt in LOBATTO]


def fibre_terms(n_angles: int, r_in, r_out, axial, k1, k2):
    """(strain, area, lever about n1, lever about n2) of every fibre, for the section's axial
    strain and its curvatures about n1 and n2 (UFL or numbers). The levers are the
    derivatives of the fibre strain by the curvatures: M1 = sum sigma A lever1, ..."""
    out = []
    h = 0.5 * (r_out - r_in)
    for cos, sin, xi, wt in layout(n_angles):
        r = r_in + xi * (r_out - r_in)
        area = 2 * math.pi / n_angles * wt * h * r
        out.append((axial + r * (sin * k1 - cos * k2), area, r * sin, -r * cos))
    return out
