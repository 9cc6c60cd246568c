"""Links: stiff connections between a part and what holds it.

A link is a short cell from a point of one part to a point of another (the bone's axis to
where a wire or a half pin crosses the cortex; a ring's centroid to a wire's clamped end).
It penalises every relative motion of its two ends that is not rigid, measured with the
exact material strains of `sim.elements.kinematics` (so a link turned as a whole, by any
angle, stores nothing):

    W = 1/2 [k (|Gamma|^2 - r (a.Gamma)^2) + k_r (|K|^2 - r (a.K)^2)]

with r = 1 for a released link (a smooth wire in the bone: sliding along and spinning
about its reference axis a are free, both measured in the link's material frame, so the
freedom turns with the bone) and r = 0 for a rigid one. k and k_r are LINK_STIFFNESS_FACTOR
times the stiffest member's EA and EI: stiff enough to act as rigid (ten times stiffer
links change the shipped frames' stiffnesses by less than 0.02 %; ten times softer, by up
to 0.2 %) and soft enough for Newton: a Newton update is linear in the rotations, so it
violates a link at second order, and a stiffer penalty makes that error costlier to undo.
"""

from __future__ import annotations

import ufl

# columns of the per-cell link parameter field
K_LINK, KR_LINK, RELEASE = range(3)
N_COLUMNS = 3
LINK_STIFFNESS_FACTOR = 10.0


def energy_density(p, axis, gamma, kappa):
    """Stored energy per meshed length (UFL); `p` is the link parameter field, `axis` the
    released direction (reference frame) of each cell."""
    return 0.5 * (p[K_LINK] * (ufl.dot(gamma, gamma) - p[RELEASE] * ufl.dot(axis, gamma) ** 2)
                  + p[KR_LINK] * (ufl.dot(kappa, kappa) - p[RELEASE] * ufl.dot(axis, kappa) ** 2))
