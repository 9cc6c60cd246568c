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
is closed it is as stiff as CONTACT_LENGTH_MM of bone. Friction: see below (none by
default).

An oblique fracture (Gap.obliquity_deg) cuts the ends along a plane of unit normal
m = m_t t + m_1 n1 + m_2 n2 (m_t = cos of the obliquity): the fibres lie on that plane,
rho' = rho + z t with z = -(m_1 rho.n1 + m_2 rho.n2) / m_t (an ellipse's annulus of area
A / m_t), and the gap is measured along m,

    g(rho') = m.(t + Gamma + K x rho') - c m_t        (per cell length; m_t at rest)

so that the ends slide freely along the plane and push only across it: under axial
compression an oblique fracture's normal force has a component across the bone that the
frame must carry (the fragments shear). The transverse plane (m = t) is the case above.

Coulomb friction (coefficient mu, column FRICTION; 0 by default, the frictionless upper
bound of interfragmentary shear). Each fibre's relative motion across the plane, per cell
length, d = P (Gamma + K x rho'), P = I - m m^T, less its slip s_n accumulated over the
converged steps (a history field of 3 components per fibre), z = d - s_n, is resisted by
a tangential penalty of the normal one's stiffness, f_trial = S A z, up to the fibre's
Coulomb limit mu f_n, f_n = S A <-g> its normal force:

    f = f_trial                      if |f_trial| < mu f_n  (it sticks)
    f = mu f_n z / |z|               otherwise              (it slips; return mapping)

Its work f . delta d joins the residual (not an energy: the limit depends on the normal
force of the same state, so the tangent is the residual's own derivative, unsymmetric).
After every converged step s_{n+1} = s_n + (1 - mu f_n / (S A |z|)) z for the fibres that
slip (`friction_slip_update`). Rate independent and backward Euler: under a monotone load
the slip does not depend on the load steps. |z| is regularised by FRICTION_EPS (per cell
length) so that a fibre with no normal force (mu f_n = 0) carries nothing and has no
tangent. A fibre with an open gap carries no friction.

Beside a butterfly fragment (sim.fracture_geometry) the main fragments touch only outside
the wedge's arc: the fibres of the j-th angle keep the fraction 1 - REMOVED_j of their
area (REMOVED_j: the part of the angle's sector, 2 pi / N_ANGLES wide, inside the arc; 0
without a wedge).
"""

from __future__ import annotations

import math

import numpy as np
import ufl

# columns of the per-cell contact parameter field
STIFFNESS, CLOSED_FRACTION, R_INNER, R_OUTER, NORMAL_T, NORMAL_1, NORMAL_2 = range(7)
CONTACT_LENGTH_MM = 10.0  # closed contact is as stiff as this length of bone
N_ANGLES = 16
REMOVED = 7  # REMOVED + j: the fraction of the j-th angle's fibres inside a butterfly's arc (no contact)
FRICTION = REMOVED + N_ANGLES  # the Coulomb coefficient of the touching fibres (0: frictionless, the default)
N_COLUMNS = FRICTION + 1  # NORMAL_*: the fracture plane's unit normal in the cell's (t, n1, n2); (1, 0, 0) transverse
LOBATTO = ((0.0, 1.0 / 3.0), (0.5, 4.0 / 3.0), (1.0, 1.0 / 3.0))  # (position in [r_in, r_out], weight on [-1, 1])


FRICTION_EPS = 1e-12  # regularises |z| (per cell length) in the slip direction z / |z|


def fibres() -> list[tuple[float, float, float]]:
    """(cos phi, sin phi, position in [0, 1] from the inner to the outer radius, weight) of each fibre."""
    return [(math.cos(2 * math.pi * j / N_ANGLES), math.sin(2 * math.pi * j / N_ANGLES), xi, wt)
            for j in range(N_ANGLES) for xi, wt in LOBATTO]


def fibre_areas_mm2(r_inner_mm: float, r_outer_mm: float) -> np.ndarray:
    """Area of each fibre (numpy): they sum to the annulus's area exactly."""
    h = 0.5 * (r_outer_mm - r_inner_mm)
    return np.array([2 * math.pi / N_ANGLES * wt * h * (r_inner_mm + xi * (r_outer_mm - r_inner_mm))
                     for _, _, xi, wt in fibres()])


def fibre_angles_rad() -> np.ndarray:
    """The angle (rad, from n1 towards n2) of each of the N_ANGLES fibre directions."""
    return 2 * math.pi * np.arange(N_ANGLES) / N_ANGLES


def _fibre_terms(p, gamma, kappa, t, n1, n2):
    """(gap, area, position rho', normal m) of every fibre (UFL): gap = m.(t + Gamma + K x
    rho') - c m_t, per cell length (> 0 open); area on the fracture plane."""
    out = []
    h = 0.5 * (p[R_OUTER] - p[R_INNER])
    mt, m1, m2 = p[NORMAL_T], p[NORMAL_1], p[NORMAL_2]
    m = mt * t + m1 * n1 + m2 * n2
    along = ufl.dot(m, t + gamma)
    for k, (cos, sin, xi, wt) in enumerate(fibres()):
        r = p[R_INNER] + xi * (p[R_OUTER] - p[R_INNER])
        z = -r * (m1 * cos + m2 * sin) / mt  # the fibre's height on the fracture plane
        rho = r * cos * n1 + r * sin * n2 + z * t
        area = 2 * math.pi / N_ANGLES * wt * h * r / mt * (1.0 - p[REMOVED + k // len(LOBATTO)])
        gap = along + ufl.dot(kappa, ufl.cross(rho, m)) - p[CLOSED_FRACTION] * mt  # m.(K x rho) = K.(rho x m)
        out.append((gap, area, rho, m))
    return out


def energy_density(p, gamma, kappa, t, n1, n2):
    """Stored energy per meshed length (UFL); `p` is the contact parameter field."""
    total = 0
    for gap, area, _, _ in _fibre_terms(p, gamma, kappa, t, n1, n2):
        total += 0.5 * p[STIFFNESS] * area * ufl.max_value(-gap, 0.0) ** 2
    return total


def fibre_gaps(p, gamma, kappa, t, n1, n2):
    """Gap of every fibre (UFL vector, per cell length along the bone axis: the normal gap
    over m_t; > 0 open, <= 0 touching)."""
    return ufl.as_vector([gap / p[NORMAL_T] for gap, _, _, _ in _fibre_terms(p, gamma, kappa, t, n1, n2)])


def section_forces(p, gamma, kappa, t, n1, n2):
    """[N, V1, V2, T, M1, M2] carried by the contact in the cell's (t, n1, n2) (UFL vector;
    N < 0 in compression; V and T are zero on a transverse plane)."""
    F = ufl.as_vector([0.0, 0.0, 0.0])
    M = ufl.as_vector([0.0, 0.0, 0.0])
    for gap, area, rho, m in _fibre_terms(p, gamma, kappa, t, n1, n2):
        force = -p[STIFFNESS] * area * ufl.max_value(-gap, 0.0)  # along m; compression: negative
        F = F + force * m
        M = M + force * ufl.cross(rho, m)  # dW/dK: d gap / dK = rho x m
    return ufl.as_vector([ufl.dot(F, t), ufl.dot(F, n1), ufl.dot(F, n2), ufl.dot(M, t), ufl.dot(M, n1),
                          ufl.dot(M, n2)])


def friction_slip_size() -> int:
    """Components of the friction history field: 3 (x, y, z of the accumulated slip, per
    cell length) per fibre."""
    return 3 * len(fibres())


def _friction_terms(p, gamma, kappa, t, n1, n2, slip):
    """Per fibre (UFL): (force f (N, 3-vector on the plane), tangential motion d (per cell
    length), elastic part z = d - s_n, whether it sticks, stick stiffness S A, limit mu f_n)."""
    out = []
    for j, (gap, area, rho, m) in enumerate(_fibre_terms(p, gamma, kappa, t, n1, n2)):
        motion = gamma + ufl.cross(kappa, rho)
        d = motion - ufl.dot(m, motion) * m
        s = ufl.as_vector([slip[3 * j + i] for i in range(3)])
        z = d - s
        k = p[STIFFNESS] * area
        limit = p[FRICTION] * k * ufl.max_value(-gap, 0.0)
        size = ufl.sqrt(ufl.dot(z, z) + FRICTION_EPS ** 2)
        sticks = ufl.lt(k * size, limit)
        f = ufl.conditional(sticks, k * z, limit / size * z)
        out.append((f, d, z, sticks, k, limit, size, rho))
    return out


def friction_residual(p, gamma, kappa, t, n1, n2, slip, w, v):
    """The friction forces' virtual work per meshed length (UFL scalar): sum over the fibres of
    f . (d d/d w)[v]."""
    total = 0
    for f, d, *_ in _friction_terms(p, gamma, kappa, t, n1, n2, slip):
        total += ufl.dot(f, ufl.derivative(d, w, v))
    return total


def friction_slip_update(p, gamma, kappa, t, n1, n2, slip):
    """The fibres' slip after a converged step (UFL vector of friction_slip_size()): s_n plus,
    where a fibre slips, the part of z beyond its stick range."""
    comps = []
    for j, (f, d, z, sticks, k, limit, size, _) in enumerate(_friction_terms(p, gamma, kappa, t, n1, n2, slip)):
        s = ufl.as_vector([slip[3 * j + i] for i in range(3)])
        new = ufl.conditional(sticks, s, s + (1.0 - limit / (k * size + FRICTION_EPS)) * z)
        comps += [new[i] for i in range(3)]
    return ufl.as_vector(comps)


def friction_section_forces(p, gamma, kappa, t, n1, n2, slip):
    """[N, V1, V2, T, M1, M2] of the friction forces alone in the cell's (t, n1, n2) (UFL),
    as `section_forces`: add the two for the contact's total."""
    F = ufl.as_vector([0.0, 0.0, 0.0])
    M = ufl.as_vector([0.0, 0.0, 0.0])
    for f, *_, rho in _friction_terms(p, gamma, kappa, t, n1, n2, slip):
        F = F + f  # conjugate to Gamma (as section_forces: dW/dGamma), f being conjugate to d = P(Gamma + K x rho)
        M = M + ufl.cross(rho, f)  # conjugate to K: f . (dK x rho) = dK . (rho x f)
    return ufl.as_vector([ufl.dot(F, t), ufl.dot(F, n1), ufl.dot(F, n2), ufl.dot(M, t), ufl.dot(M, n1),
                          ufl.dot(M, n2)])
