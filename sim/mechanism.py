"""Mechanisms found before solving: is every piece of bone held in all six directions?

A piece of bone (a fragment, or a transport segment) moves as a rigid body relative to
the frame. Its six rigid-body motions are written as a twist x = (v, L*omega): v the
velocity of a reference point on the bone axis at the piece's mid-level (mm), omega the
angular velocity (rad) scaled by a length L (the bone's outer radius) so that the
columns are of one size. Each hold of the frame model (docs/frame-model.md) forbids some
relative motions between the bone and the frame, one row of the constraint matrix A per
forbidden motion:

- a smooth wire slides along its own axis and spins about it: at each cortex point c
  the bone may not move across the wire (two rows n . (v + omega x c) = 0, n normal to
  the wire) nor turn about an axis across it (two rows n . omega = 0);
- an olive wire is held at its first cortex (all six rows there) and slides at the other;
- a half pin (mono- or bicortical) is held rigidly where it enters the bone (six rows).

The piece is held when A has rank 6; the null space of A is the set of motions nothing
holds (a mechanism), which the frame model would turn into nonsense or a Newton failure.
The gap's contact does not count (it pushes only, once the gap has closed), nor does a
regenerate (granulation tissue is a thousandth of a wire's stiffness). Everything here
is plain numpy on the scenario's geometry: no mesh, no solve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RANK_TOL = 1e-8  # singular values below this (relative to the largest) count as zero


@dataclass(frozen=True)
class Hold:
    """One wire or half pin holding a piece of bone, and the rows it adds to A."""

    name: str  # the wire's or pin's name
    kind: str  # "smooth wire", "olive wire", "half pin"
    point_mm: np.ndarray  # where it enters the bone (first cortex), relative to the piece's reference point
    axis: np.ndarray  # unit direction of the wire or pin
    rows: np.ndarray  # (k, 6)


@dataclass(frozen=True)
class PieceHolds:
    """A piece of bone, its holds and the free motions they leave (empty when held)."""

    name: str  # "distal fragment", "transport segment", "proximal fragment"
    z_low_mm: float
    z_high_mm: float
    reference_mm: np.ndarray  # the twist's reference point (on the bone axis)
    scale_mm: float  # L
    holds: tuple[Hold, ...]
    rank: int
    free: np.ndarray  # (6, 6 - rank): a basis of the free twists

    @property
    def is_held(self) -> bool:
        return self.rank == 6


def _point_rows(c: np.ndarray, normals, scale: float) -> list[np.ndarray]:
    """Rows n . (v + omega x c) = 0, i.e. [n, (c x n) / L] . (v, L omega)."""
    return [np.concatenate([n, np.cross(c, n) / scale]) for n in normals]


def _rotation_rows(axes) -> list[np.ndarray]:
    return [np.concatenate([np.zeros(3), m]) for m in axes]


def _normals(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors normal to d and to each other."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    n1 = np.cross(d, helper)
    n1 /= np.linalg.norm(n1)
    return n1, np.cross(d, n1)


def wire_hold(s, wire, reference_mm: np.ndarray, scale: float) -> Hold:
    """The rows of a wire (smooth: 4 independent; olive: 6) as the frame model links it
    (where it lies: sim.geometry.wire_path, inclined or on posts)."""
    from sim.geometry import wire_path

    path = wire_path(s, wire)
    d = path.direction
    cortex = [c - reference_mm for c in path.cortex_mm]
    n1, n2 = _normals(d)
    rows: list[np.ndarray] = []
    if wire.olive:  # held at its olive's cortex (the first without olive_side) in all six directions
        held = cortex[1] if wire.olive_side == "end" else cortex[0]
        rows += _point_rows(held, np.eye(3), scale) + _rotation_rows(np.eye(3))
    for c in cortex:  # slides along and spins about its axis
        rows += _point_rows(c, (n1, n2), scale) + _rotation_rows((n1, n2))
    return Hold(wire.name, "olive wire" if wire.olive else "smooth wire", cortex[0], d, np.array(rows))


def pin_hold(s, pin, reference_mm: np.ndarray, scale: float) -> Hold:
    """The rows of a half pin: rigid where it enters the bone (6), along its own axis
    (sim.pin_geometry: tilted or aimed as the scenario says)."""
    from sim.pin_geometry import pin_path

    path = pin_path(s, pin)
    near = np.asarray(path.near_outer) - reference_mm
    rows = _point_rows(near, np.eye(3), scale) + _rotation_rows(np.eye(3))
    return Hold(pin.name, "half pin", near, np.asarray(path.direction), np.array(rows))


def bone_pieces(s) -> list[tuple[str, float, float]]:
    """(name, lower z, upper z) of each piece of bone between the gap and a defect (mm)."""
    breaks = s.bone_breaks()
    edges = [0.0] + [z for lo, hi, _ in breaks for z in (lo, hi)] + [s.bone.length_mm]
    if not breaks:
        return [("bone", 0.0, s.bone.length_mm)]
    names = ["distal fragment"] + (["transport segment"] if len(breaks) > 1 else []) + ["proximal fragment"]
    return [(n, edges[2 * i], edges[2 * i + 1]) for i, n in enumerate(names)]


def piece_holds(s) -> list[PieceHolds]:
    """Every piece of bone of a bone-bench scenario with its holds, rank and free motions."""
    from sim.scenario import pin_entry_level_mm

    out = []
    scale = s.bone_radii_mm(0.5 * s.bone.length_mm)[0]  # a length to make rotations comparable with moves
    for name, lo, hi in bone_pieces(s):
        ref = np.array([0.0, 0.0, 0.5 * (lo + hi)])
        holds = [wire_hold(s, w, ref, scale) for w in s.wires if lo < s.wire_level_mm(w) < hi]
        holds += [pin_hold(s, p, ref, scale) for p in s.half_pins if lo < pin_entry_level_mm(s, p) < hi]
        A = np.vstack([h.rows for h in holds]) if holds else np.zeros((0, 6))
        rank, free = _rank_and_null_space(A)
        out.append(PieceHolds(name, lo, hi, ref, scale, tuple(holds), rank, free))
    return out


def _rank_and_null_space(A: np.ndarray) -> tuple[int, np.ndarray]:
    if A.shape[0] == 0:
        return 0, np.eye(6)
    _, sv, vt = np.linalg.svd(A)
    rank = int(np.sum(sv > RANK_TOL * sv[0]))
    return rank, vt[rank:].T


def hinge_level_motion(s, level_mm: float) -> np.ndarray | None:
    """The free rotation axis (a unit vector) of the rings above level_mm relative to those
    below when the rods across that level leave one, else None.

    The rings on either side are taken as two rigid bodies joined by every rod that crosses
    the level: a rod without a hinge there holds all six relative motions at its point on
    the level (as the existing check that every ring is on a rod assumes), a hinged rod
    all but the rotation about its hinge's axis (three point rows and two rotation rows).
    Neither the bone (an empty gap pushes only) nor the wires count: a hinged frame must
    be closed by its own rods, as a distraction rod or motor closes an angular correction.
    """
    from sim.scenario import hinge_points

    rows: list[np.ndarray] = []
    crossing = [r for r in s.rods if s.rod_rings(r)[0].level_mm < level_mm < s.rod_rings(r)[-1].level_mm]
    if not crossing:
        return None
    hinged = {}
    for h in s.hinges:
        if abs(h.level_mm - level_mm) < 1e-9:
            for name, point in hinge_points(s, h).items():
                hinged[name] = (np.asarray(point), np.asarray(h.axis()))
    pts = []
    for rod in crossing:
        if rod.name in hinged:
            pts.append((hinged[rod.name][0], hinged[rod.name][1]))
            continue
        a = math.radians(rod.angle_deg)
        ring_pts = [np.array([r.centre_xy_mm[0] + r.centroid_radius_mm * math.cos(a),
                              r.centre_xy_mm[1] + r.centroid_radius_mm * math.sin(a), r.level_mm])
                    for r in s.rod_rings(rod)]
        if rod.from_plate is not None or rod.to_plate is not None:  # an end in a connection plate's hole
            from sim.scenario import rod_end_points

            ring_pts = [np.array(p, float) for _, p in rod_end_points(s, rod)]
        for p0, p1 in zip(ring_pts, ring_pts[1:]):
            if p0[2] <= level_mm <= p1[2]:
                pts.append((p0 + (level_mm - p0[2]) / (p1[2] - p0[2]) * (p1 - p0), None))
                break
    ref = np.mean([p for p, _ in pts], axis=0)
    scale = max(1.0, float(np.mean([np.linalg.norm(p - ref) for p, _ in pts])))
    for p, axis in pts:
        rows += _point_rows(p - ref, np.eye(3), scale)
        rows += _rotation_rows(np.eye(3) if axis is None else _normals(axis))
    rank, free = _rank_and_null_space(np.array(rows))
    if rank == 6:
        return None
    w = free[3:, 0]
    return w / np.linalg.norm(w) if np.linalg.norm(w) > 1e-9 else free[:3, 0] / np.linalg.norm(free[:3, 0])


# ----------------------------------------------------------------------------- words
def direction_words(u: np.ndarray) -> str:
    """A direction in the scenario's axes: 'x direction' (x medio-lateral, y antero-
    posterior, z along the bone), or its components."""
    u = u / np.linalg.norm(u)
    k = int(np.argmax(np.abs(u)))
    if abs(u[k]) > 0.999:
        return f"{'xyz'[k]} direction"
    return "direction ({:.2f}, {:.2f}, {:.2f})".format(*(0.0 if abs(c) < 5e-3 else c for c in u))


def _in_span(basis: np.ndarray, x: np.ndarray) -> bool:
    x = x / np.linalg.norm(x)
    return bool(np.linalg.norm(x - basis @ (basis.T @ x)) < 1e-6)


def _slide(d) -> np.ndarray:
    return np.concatenate([d, np.zeros(3)])


def _turn(point, d, scale) -> np.ndarray:
    """Twist of a rotation about the line through `point` along d: omega = d, v = point x d."""
    return np.concatenate([np.cross(point, d), scale * d])


def free_motion_words(piece: PieceHolds) -> list[str]:
    """The free motions of a piece in words, e.g. ['slides along wire w1 (x direction)',
    'turns about wire w1']; motions no single hold explains are named by direction."""
    if piece.is_held:
        return []
    free = piece.free
    scale = piece.scale_mm
    candidates: list[tuple[str, np.ndarray]] = []
    for h in piece.holds:
        if h.kind == "smooth wire":
            candidates.append((f"slides along wire {h.name} ({direction_words(h.axis)})", _slide(h.axis)))
            candidates.append((f"turns about wire {h.name}", _turn(h.point_mm, h.axis, scale)))
    for k in range(3):
        e = np.eye(3)[k]
        candidates.append((f"slides in the {direction_words(e)}", _slide(e)))
    for k, label in ((2, "the bone axis"), (0, "an x axis through its middle"),
                     (1, "a y axis through its middle")):
        candidates.append((f"turns about {label}", _turn(np.zeros(3), np.eye(3)[k], scale)))
    words: list[str] = []
    chosen = np.zeros((6, 0))
    for text, x in candidates:
        if chosen.shape[1] == free.shape[1]:
            break
        if _in_span(free, x) and (chosen.shape[1] == 0 or not _in_span(np.linalg.qr(chosen)[0], x)):
            chosen = np.hstack([chosen, (x / np.linalg.norm(x))[:, None]])
            words.append(text)
    if chosen.shape[1] < free.shape[1]:  # the rest: screw motions named by their axis
        q = np.linalg.qr(chosen)[0] if chosen.shape[1] else np.zeros((6, 0))
        rest = free - q @ (q.T @ free)
        u, sv, _ = np.linalg.svd(rest)
        for x in u[:, : free.shape[1] - chosen.shape[1]].T:
            v, w = x[:3], x[3:] / scale
            if np.linalg.norm(w) * scale < 1e-9 * np.linalg.norm(x):
                words.append(f"slides in the {direction_words(v)}")
            else:
                p = np.cross(w, v) / float(w @ w) + piece.reference_mm
                words.append(f"turns about an axis in the {direction_words(w)} through ({p[0]:.0f}, {p[1]:.0f}, "
                             f"{p[2]:.0f}) mm")
    return words


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def mechanism_message(piece: PieceHolds) -> str:
    """What is free and what would hold it, for a piece that is not held."""
    words = free_motion_words(piece)
    # "slides along wire w and turns about wire w" reads better as "... and turns about it"
    for i in range(1, len(words)):
        prev = words[i - 1]
        if prev.startswith("slides along wire ") and words[i] == "turns about wire " + prev.split()[3]:
            words[i] = "turns about it"
    held_by = ", ".join(f"{h.kind} {h.name}" for h in piece.holds) or "nothing"
    return (f"the {piece.name} ({piece.z_low_mm:g} to {piece.z_high_mm:g} mm) is held in only {piece.rank} of six "
            f"directions (by {held_by}): it {_join(words)}, a mechanism the frame model cannot solve; accepted: a "
            f"second wire at another angle, an olive wire, or a half pin on the {piece.name}")


def strut_matrix(base_mm: np.ndarray, top_mm: np.ndarray, scale: float) -> np.ndarray:
    """The 6 x 6 matrix of six pinned struts: each strut forbids stretching along itself,
    one row [u, (p x u) / L] per strut (u its unit direction, p its top end)."""
    rows = []
    for b, p in zip(base_mm, top_mm):
        u = (p - b) / np.linalg.norm(p - b)
        rows.append(np.concatenate([u, np.cross(p, u) / scale]))
    return np.array(rows)


def strut_rank(base_mm: np.ndarray, top_mm: np.ndarray, scale: float) -> tuple[int, float]:
    """Rank and condition number of a hexapod's strut matrix (rank < 6: the rings move)."""
    sv = np.linalg.svd(strut_matrix(base_mm, top_mm, scale), compute_uv=False)
    rank = int(np.sum(sv > RANK_TOL * sv[0]))
    return rank, float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf


__all__ = ["Hold", "PieceHolds", "bone_pieces", "direction_words", "free_motion_words", "hinge_level_motion",
           "mechanism_message",
           "piece_holds", "pin_hold", "strut_matrix", "strut_rank", "wire_hold"]
