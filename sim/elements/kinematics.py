"""Finite rotations and the strains of a member in the frame model.

Every node carries a displacement u (mm) and a rotation parameter theta (rad). theta is
the Cayley (Gibbs-Rodrigues) vector scaled to match the rotation vector for small
angles: a rotation by phi about the unit axis n has

    theta = 2 tan(phi / 2) n,     R(theta) = I + c ([theta]x + [theta]x^2 / 2),   c = 4 / (4 + |theta|^2)

R is an exact rotation for every theta (a rational function: no trigonometry, no
singularity at theta = 0) and theta differs from the rotation vector phi n by
phi^3 / 12 (0.06 % at 5 degrees). The body (material) curvature of a member whose
rotation varies along it is then exactly

    [K]x = R^T R',    K = c (theta' - theta x theta' / 2)

(with ' = d/ds along the member). Strains are measured in the member's own material
frame: for the reference unit tangent t and the natural-length factor lambda0,

    stretch strain   eps   = |t + u'| / lambda0 - 1
    shear strain     Gamma = R^T (t + u') / lambda0 - t        (its components across t)
    curvature        K / lambda0                                (twist t.K, bending n_i.K)

All three vanish for any rigid motion u = (Q - I) X, R(theta) = Q, however large, and
are unchanged by a rigid rotation superposed on any deformed state: a frame turned as a
whole stores no energy, and a part held by links at two points (a bicortical half pin, an
olive wire) is not stretched as the bone turns. For small rotations they reduce to the
classical t.u', u' - theta x t and theta'. Sources: the Cayley parametrisation and its
curvature, e.g. Bauchau & Trainelli 2003 (Nonlinear Dyn 32:71) and Simo & Vu-Quoc 1986
for the geometrically exact (Reissner) beam these strains define.
"""

from __future__ import annotations

import numpy as np
import ufl


def skew(a):
    """[a]x as a UFL 3x3 matrix: skew(a) * b = a x b."""
    return ufl.as_matrix([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])


def rotation(theta):
    """R(theta) (UFL) of a Cayley rotation parameter vector (see the module docstring)."""
    S = skew(theta)
    c = 4.0 / (4.0 + ufl.dot(theta, theta))
    return ufl.Identity(3) + c * (S + 0.5 * S * S)


def rotated_minus(theta, a):
    """(R(theta) - I) a (UFL), without the round-off of subtracting a from R a."""
    c = 4.0 / (4.0 + ufl.dot(theta, theta))
    ta = ufl.cross(theta, a)
    return c * (ta + 0.5 * ufl.cross(theta, ta))


def body_curvature(theta, dtheta):
    """K with [K]x = R^T dR/ds (UFL), from theta and its derivative along the member."""
    c = 4.0 / (4.0 + ufl.dot(theta, theta))
    return c * (dtheta - 0.5 * ufl.cross(theta, dtheta))


def member_strains(u, theta, t, lam):
    """Stretch strain, material shear strain vector Gamma, material curvature vector and
    u' of a member with reference unit tangent t and natural-length factor lam (UFL)."""
    du = ufl.dot(ufl.grad(u), t)
    dth = ufl.dot(ufl.grad(theta), t)
    stretched = t + du
    R = rotation(theta)
    # written so that nothing of order 1 is subtracted (round-off stays relative to the strains,
    # which matters where links are 1e8 N stiff): |t + u'| - 1 = (2 t.u' + u'.u') / (|t + u'| + 1),
    # R^T (t + u') / lam - t = R^T (u' / lam + (1 / lam - 1) t - (R - I) t)
    stretch_minus_one = (2.0 * ufl.dot(t, du) + ufl.dot(du, du)) / (ufl.sqrt(ufl.dot(stretched, stretched)) + 1.0)
    eps = stretch_minus_one / lam + (1.0 / lam - 1.0)
    gamma = R.T * (du / lam + (1.0 / lam - 1.0) * t - rotated_minus(theta, t))
    kappa = body_curvature(theta, dth) / lam
    return eps, gamma, kappa, du


# ----------------------------------------------------------------------- numpy side
def skew_np(a) -> np.ndarray:
    a = np.asarray(a, float)
    return np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])


def rotation_matrix(theta) -> np.ndarray:
    """R(theta) of a Cayley parameter vector (numpy), shape (3, 3)."""
    theta = np.asarray(theta, float)
    S = skew_np(theta)
    return np.eye(3) + 4.0 / (4.0 + theta @ theta) * (S + 0.5 * S @ S)


def cayley_vector(R) -> np.ndarray:
    """The Cayley parameter vector theta of a rotation matrix (|angle| < 180 deg)."""
    R = np.asarray(R, float)
    trace = np.trace(R)
    if trace <= -1.0 + 1e-12:
        raise ValueError("a half-turn has no Cayley parameters")
    return 2.0 * np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / (1.0 + trace)


def _rescale(v, size_map) -> np.ndarray:
    """v (any leading shape, last 3) with its length |v| mapped to size_map(|v|) (a map
    with slope 1 at 0: the zero vector stays)."""
    v = np.asarray(v, float)
    size = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(size > 1e-300, size_map(size) / np.where(size > 0, size, 1.0), 1.0)
    return v * scale


def rotation_vector(theta) -> np.ndarray:
    """The rotation vector phi n (rad) of Cayley parameters theta (any leading shape, last 3)."""
    return _rescale(theta, lambda size: 2.0 * np.arctan(0.5 * size))


def cayley_from_rotation_vector(phi) -> np.ndarray:
    """Cayley parameters of a rotation vector phi n (rad, |phi| < pi)."""
    return _rescale(phi, lambda angle: 2.0 * np.tan(0.5 * angle))
