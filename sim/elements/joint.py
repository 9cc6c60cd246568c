"""Compliant joints: where real frames give way (physics.md section 3).

A joint is a short cell between a point of one part and a point of another (a rod and
the ring it is bolted to, a wire and its clamp, a wire and the bone around it, a half
pin and the bone or its clamp). Its two ends move relative to each other by

    delta = L Gamma    (mm: the relative displacement, in the joint's material frame)
    phi   = L K        (rad: the relative rotation)

with Gamma and K the exact strains of `sim.elements.kinematics` over the cell's length L,
and it resists with springs along and across its axis a (a unit vector in the reference
frame: the rod's, the wire's, the pin's direction), measured in its material frame so
that they turn with the parts:

    W = W_a(a.delta) + 1/2 k_t |delta - (a.delta) a|^2 + 1/2 k_w (a.phi)^2 + 1/2 k_b |phi - (a.phi) a|^2

k_t (N/mm) across the axis, k_w (N*mm/rad) about it (twist), k_b (N*mm/rad) about the
axes across it (rocking). Along the axis the joint is elastic, W_a = 1/2 k_a z^2 with
z = a.delta, or, with a slip force F_s > 0, a stick-slip (Coulomb) joint: it sticks with
the stiffness k_a until the force along the axis reaches F_s, then slips. Rate-independent
slip is written as its incremental potential (backward Euler):

    z = a.delta - s_n,   W_a = 1/2 k_a z^2                     if k_a |z| <= F_s
                         W_a = F_s |z| - F_s^2 / (2 k_a)         otherwise

(C1: its derivative is the return-mapped force, its second derivative the consistent
tangent), with s_n the slip accumulated over the converged steps (a history field,
updated after each converged step: s_{n+1} = s_n + (|z| - F_s / k_a) sign(z) when it
slips). A wire that slips in its clamp loses tension for good; a wire that slips along the
bone carries the frame's load by friction. Any stiffness may be zero (free); a joint with
every stiffness zero transmits nothing.
"""

from __future__ import annotations

import ufl

# columns of the per-cell joint parameter field
K_AXIAL, K_TRANSVERSE, K_TWIST, K_BENDING, SLIP_FORCE = range(5)
N_COLUMNS = 5


def relative_motion(gamma, kappa, length):
    """(delta, phi): relative displacement (mm) and rotation (rad) of the joint's ends."""
    return length * gamma, length * kappa


def axial_slip(p, axis, delta, slip_n):
    """z = a.delta - s_n: the elastic part of the relative motion along the axis (mm)."""
    return ufl.dot(axis, delta) - slip_n


# the slip update returns a slipping joint to the slip force itself, the energy lets it slip
# only from ON_LIMIT above it: the next step starts sticking, with the sticking stiffness
ON_LIMIT = 1e-9


def _limit(p, margin=ON_LIMIT):
    """The elastic range of z (mm)."""
    k, fs = p[K_AXIAL], p[SLIP_FORCE]
    return fs * (1.0 + margin) / ufl.max_value(k, 1e-300)


def _axial_potential(p, z):
    k, fs = p[K_AXIAL], p[SLIP_FORCE]
    elastic = 0.5 * k * z ** 2
    # with a slip force: the incremental potential of rate-independent slip (the elastic branch
    # while |k z| <= F_s); the guard keeps k = 0 (free along the axis) finite
    zy = _limit(p)
    slipping = k * zy * abs(z) - 0.5 * k * zy ** 2
    return ufl.conditional(ufl.And(ufl.gt(fs, 0.0), ufl.gt(abs(z), zy)), slipping, elastic)


def energy_density(p, axis, gamma, kappa, slip_n, length):
    """Stored (incremental) energy per meshed length (UFL); `p` is the joint parameter
    field, `axis` the joint's axis, `slip_n` its accumulated slip (mm), `length` the cell's."""
    delta, phi = relative_motion(gamma, kappa, length)
    da, pa = ufl.dot(axis, delta), ufl.dot(axis, phi)
    across = delta - da * axis
    rock = phi - pa * axis
    W = (_axial_potential(p, da - slip_n) + 0.5 * p[K_TRANSVERSE] * ufl.dot(across, across)
         + 0.5 * p[K_TWIST] * pa ** 2 + 0.5 * p[K_BENDING] * ufl.dot(rock, rock))
    return W / length


def axial_force(p, axis, gamma, kappa, slip_n, length):
    """The force along the joint's axis (N; tension of the joint positive), return-mapped."""
    delta, _ = relative_motion(gamma, kappa, length)
    z = ufl.dot(axis, delta) - slip_n
    k, fs = p[K_AXIAL], p[SLIP_FORCE]
    zy = _limit(p)
    return ufl.conditional(ufl.And(ufl.gt(fs, 0.0), ufl.gt(abs(z), zy)), k * zy * ufl.sign(z), k * z)


def updated_slip(p, axis, gamma, kappa, slip_n, length):
    """The accumulated slip after a converged step (mm)."""
    delta, _ = relative_motion(gamma, kappa, length)
    z = ufl.dot(axis, delta) - slip_n
    k, fs = p[K_AXIAL], p[SLIP_FORCE]
    zy = _limit(p, margin=0.0)
    return slip_n + ufl.conditional(ufl.And(ufl.gt(fs, 0.0), ufl.gt(abs(z), zy)), (abs(z) - zy) * ufl.sign(z), 0.0)
