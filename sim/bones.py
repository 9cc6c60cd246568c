"""The bone's shape: a uniform tube, an anatomical template, or a surface read from a file.

Every builder and check asks one place for the bone at a level: `Scenario.bone_radii_mm(z)`
(the outer radius and the radius of the medullary canal, mm) and, for the frame model's
section, `bone_section(s, z)`. Both come from the `BoneProfile` of the scenario's [bone]
table (`bone_profile`):

- no template and no surface: a uniform cortical tube (outer_diameter_mm, inner_diameter_mm);
- `template = "tibia" | "femur"`: a body of revolution whose outer radius and cortex
  follow published anthropometry along the bone (TEMPLATES, docs/bones.md): the shaft
  (outer_diameter_mm and inner_diameter_mm are its mid-shaft diameters) tapers and flares
  into its metaphyses, where the cortex thins and the canal closes into cancellous bone
  (`cancellous_bone` of sim.materials fills the canal there);
- `surface = "file.stl"` (STL, OBJ or PLY, read with meshio): a closed, oriented,
  single-solid triangulated surface in mm with its long axis along z. It is sliced at
  levels along z (`slice_surface`); each slice's area gives the outer radius of the circle
  of the same area, and its centroid and second moments are checked and reported. A surface
  gives only the outer shape: the canal is `canal_ratio` x the outer radius.

Coordinates as everywhere (sim.scenario): z along the bone from its distal end, x
medio-lateral, y antero-posterior; +x points to the patient's right (lateral on a right
limb, medial on a left one). The templates are bodies of revolution (circular sections of
the area of the published ML x AP widths' ellipse), so mirroring them for a left limb
changes nothing; an imported surface is taken as given, in the scenario's axes.

Lengths in mm, areas in mm^2, second moments in mm^4. Errors are sim.scenario.ScenarioError
naming the field (``bone.template``, ``bone.surface``, ``bone.length_mm``...).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Template:
    """An anatomical template: stations (fraction of the length from the distal end, outer
    diameter / mid-shaft outer diameter, cortical thickness / mid-shaft cortical thickness)
    and the fractions of the length below and above which the canal is filled with
    cancellous bone (the metaphyses). Ranges: the adult sizes the profile is drawn from."""

    name: str
    description: str
    stations: tuple[tuple[float, float, float], ...]
    cancellous_below: float
    cancellous_above: float
    length_range_mm: tuple[float, float]
    shaft_diameter_range_mm: tuple[float, float]
    typical_length_mm: float
    typical_shaft_diameter_mm: float
    sources: tuple[str, ...]


# Outer diameters are those of the circle with the area of the ML x AP ellipse (sqrt(ML*AP)).
TEMPLATES: dict[str, Template] = {
    "tibia": Template(
        "tibia",
        "adult tibia: pilon (distal metaphysis with the medial malleolus) flaring to about 1.7 x the shaft, a "
        "diaphysis narrowest in its distal third, the proximal metaphysis flaring to the tibial plateau (about "
        "2.5 x the shaft)",
        stations=((0.00, 1.70, 0.25), (0.04, 1.62, 0.25), (0.09, 1.35, 0.40), (0.15, 1.10, 0.70),
                  (0.22, 1.00, 1.00), (0.55, 1.00, 1.00), (0.70, 1.08, 0.95), (0.80, 1.35, 0.55),
                  (0.88, 1.85, 0.30), (0.95, 2.35, 0.25), (1.00, 2.50, 0.25)),
        cancellous_below=0.12, cancellous_above=0.80,
        length_range_mm=(250.0, 480.0), shaft_diameter_range_mm=(15.0, 35.0),
        typical_length_mm=360.0, typical_shaft_diameter_mm=24.0,
        sources=(
            "tibial plateau: ML 75-80 mm, AP 47-51 mm in men (CT: Cheng et al., Kwak et al.; Indian CT series 75.2 x "
            "47.2 mm; table 5 of PMC9703208): sqrt(76 x 49) = 61 mm = 2.5 x a 24 mm shaft",
            "mid-shaft: outer diameter and cortex are the scenario's outer_diameter_mm and inner_diameter_mm (the "
            "project's default 24/12 mm: a 6 mm cortex; the diaphyseal cortex varies by region: Maeda et al. 2020, "
            "J Exp Orthop 7:78); the metaphyses have a thin cortex, the greatest diameters and nearly circular "
            "sections, the diaphysis a thick cortex (pQCT of 67 tibiae: Breda et al. 2016, J Orthop Res Physiother); "
            "the metaphyseal cortex as a quarter of the diaphyseal one (1.5 mm) is our estimate, no measured value "
            "found",
            "distal tibia (pilon with the medial malleolus, about 50 mm ML x 35 mm AP: 1.7 x the shaft) and the "
            "levels of the transitions: no measured source found; textbook proportions",
        )),
    "femur": Template(
        "femur",
        "adult femur without head and neck: condyles at the distal end (about 2.6 x the shaft), a long cylindrical "
        "diaphysis, the proximal metaphysis (trochanteric region, about 1.9 x the shaft)",
        stations=((0.00, 2.55, 0.25), (0.06, 2.40, 0.25), (0.12, 1.85, 0.30), (0.18, 1.35, 0.50),
                  (0.26, 1.05, 0.90), (0.33, 1.00, 1.00), (0.75, 1.00, 1.00), (0.84, 1.12, 0.80),
                  (0.92, 1.55, 0.40), (1.00, 1.90, 0.30)),
        cancellous_below=0.16, cancellous_above=0.86,
        length_range_mm=(320.0, 560.0), shaft_diameter_range_mm=(18.0, 40.0),
        typical_length_mm=450.0, typical_shaft_diameter_mm=28.0,
        sources=(
            "distal femur: bicondylar width 88.6 mm (men) and 78.5 mm (women), condylar depth 61 mm (men) (Terzidis "
            "et al. 2012, Anat Res Int 679658, 360 dried femora); epicondylar width 82.7 mm in men (Kapur et al., "
            "Folia Medica); sqrt(86 x 61) = 72 mm = 2.55 x a 28 mm shaft",
            "proximal metaphysis (trochanteric region without head and neck, about 1.9 x the shaft) and the levels "
            "of the transitions: no measured source found; textbook proportions",
        )),
}

TEMPLATE_NAMES = tuple(TEMPLATES)

# the canal's radius / the outer radius of an imported surface (a surface gives the outer shape only)
CANAL_RATIO_RANGE = (0.0, 0.8)
# size of an imported surface that can be a long bone in mm (the units check)
SURFACE_LENGTH_RANGE_MM = (30.0, 650.0)
SURFACE_WIDTH_RANGE_MM = (4.0, 150.0)
SURFACE_LEVELS = 96  # slices of an imported surface along z (a scanned surface)
MAX_VERTEX_LEVELS = 400  # a surface with its vertices on at most this many levels is sliced at them
SURFACE_AXIS_ASPECT = 2.0  # the extent along z over the largest extent across it, at least


# --------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class BoneProfile:
    """The bone along z: outer and canal radius at stations (mm, linear between), and the
    levels below/above which the canal is filled with cancellous bone (-inf / +inf: none).
    `sections`: of an imported surface, the slices (z, area mm^2, centroid x, y mm, Ixx,
    Iyy, Ixy mm^4 about the centroid); empty otherwise."""

    kind: str  # "tube" | "template" | "surface"
    z_mm: tuple[float, ...]
    outer_radius_mm: tuple[float, ...]
    inner_radius_mm: tuple[float, ...]
    cancellous_below_mm: float = -math.inf
    cancellous_above_mm: float = math.inf
    sections: tuple[tuple[float, ...], ...] = ()

    @property
    def length_mm(self) -> float:
        return self.z_mm[-1] - self.z_mm[0]

    def radii(self, z_mm: float) -> tuple[float, float]:
        """(outer, canal) radius at level z (mm); constant beyond the ends."""
        return (float(np.interp(z_mm, self.z_mm, self.outer_radius_mm)),
                float(np.interp(z_mm, self.z_mm, self.inner_radius_mm)))

    def cancellous_at(self, z_mm: float) -> bool:
        """Whether the canal at level z is filled with cancellous bone (a metaphysis)."""
        return z_mm < self.cancellous_below_mm or z_mm > self.cancellous_above_mm

    @property
    def max_outer_radius_mm(self) -> float:
        return float(max(self.outer_radius_mm))

    @property
    def min_outer_radius_mm(self) -> float:
        return float(min(self.outer_radius_mm))

    def min_cortex_mm(self) -> float:
        return float(min(o - i for o, i in zip(self.outer_radius_mm, self.inner_radius_mm)))


def _error(field: str, message: str):
    from sim.scenario import ScenarioError

    return ScenarioError(field, message)


def template_profile(name: str, length_mm: float, shaft_outer_mm: float, shaft_inner_mm: float,
                     n: int = 2) -> BoneProfile:
    """The profile of template `name` for a bone of this length and mid-shaft diameters (mm),
    at its stations and n levels evenly spaced (the ratios are linear between the stations,
    so n = 2 gives the same profile with the fewest stations, unless the canal closes
    completely: then 241 levels follow its closing)."""
    t = TEMPLATES[name]
    st = np.array(t.stations)
    if n < 241 and np.any(st[:, 1] * shaft_outer_mm - st[:, 2] * (shaft_outer_mm - shaft_inner_mm) <= 0):
        n = 241
    st = np.array(t.stations)
    s = np.unique(np.concatenate([np.linspace(0.0, 1.0, n), st[:, 0]]))
    ratio_out = np.interp(s, st[:, 0], st[:, 1])
    ratio_cortex = np.interp(s, st[:, 0], st[:, 2])
    r_out = 0.5 * shaft_outer_mm * ratio_out
    cortex = 0.5 * (shaft_outer_mm - shaft_inner_mm) * ratio_cortex
    r_in = np.clip(r_out - cortex, 0.0, None)
    return BoneProfile("template", tuple(float(v) for v in s * length_mm), tuple(float(v) for v in r_out),
                       tuple(float(v) for v in r_in), t.cancellous_below * length_mm, t.cancellous_above * length_mm)


# --------------------------------------------------------------------------- surfaces
@dataclass(frozen=True)
class Surface:
    """A checked closed triangulated surface: points (n, 3) mm and triangles (m, 3), outward."""

    points: np.ndarray
    triangles: np.ndarray


def read_surface(path: str | Path, field: str = "bone.surface") -> Surface:
    """Read a bone surface (STL, OBJ, PLY; meshio) and check it: triangles, closed (every
    edge in exactly two triangles), consistently oriented (each edge run once each way),
    a single connected solid, a plausible size in mm and its long axis along z. Returns it
    with outward normals (an inward-oriented surface is turned). Raises ScenarioError at
    `field` naming the problem and what is accepted."""
    import meshio

    path = Path(path)
    if path.suffix.lower() not in (".stl", ".obj", ".ply"):
        raise _error(field, f"{str(path)!r}: accepted: a surface file ending .stl, .obj or .ply")
    if not path.is_file():
        raise _error(field, f"{str(path)!r} is not a file (a relative path is relative to the scenario file)")
    try:
        m = meshio.read(path)
    except Exception as exc:  # noqa: BLE001 - meshio raises several kinds
        raise _error(field, f"{str(path)!r} could not be read as a surface ({type(exc).__name__}: {exc}); accepted: "
                     "an STL (binary or ASCII), OBJ or PLY file of triangles") from None
    tris = [c.data for c in m.cells if c.type == "triangle"]
    others = sorted({c.type for c in m.cells if c.type != "triangle"})
    if not tris or others:
        got = f"cells of type {', '.join(others)}" if others else "no triangles"
        raise _error(field, f"{path.name}: {got}; accepted: a surface of triangles only")
    pts = np.asarray(m.points, float)[:, :3]
    tri = np.concatenate(tris).astype(np.int64)
    if not np.all(np.isfinite(pts)):
        raise _error(field, f"{path.name}: points that are not finite numbers")
    # merge coincident points (STL repeats every vertex per facet)
    scale = max(float(np.ptp(pts, axis=0).max()), 1e-12)
    key = np.round(pts / (1e-7 * scale)).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    pts, tri = pts[first], inverse.reshape(-1)[tri]
    tri = tri[(tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])]
    if len(tri) < 4:
        raise _error(field, f"{path.name}: {len(tri)} triangles; accepted: a closed surface (at least 4)")
    directed = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    undirected = np.sort(directed, axis=1)
    edges, counts = np.unique(undirected, axis=0, return_counts=True)
    if np.any(counts != 2):
        open_edges = int(np.sum(counts == 1))
        many = int(np.sum(counts > 2))
        what = (f"{open_edges} edges belong to one triangle only (holes)" if open_edges else "") + \
               ("; " if open_edges and many else "") + \
               (f"{many} edges are shared by more than two triangles" if many else "")
        raise _error(field, f"{path.name} is not closed: {what}; accepted: a closed (watertight) surface, every edge "
                     "in exactly two triangles")
    _, dcount = np.unique(directed, axis=0, return_counts=True)
    if np.any(dcount != 1):
        raise _error(field, f"{path.name} is not consistently oriented: {int(np.sum(dcount > 1))} edges are run the "
                     "same way by both their triangles; accepted: every triangle's vertices in the same turning "
                     "sense (outward normals)")
    # connected components of triangles over shared edges (union-find)
    parent = np.arange(len(tri))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tri_of_edge = np.concatenate([np.arange(len(tri))] * 3)
    eid = np.unique(undirected, axis=0, return_inverse=True)[1].reshape(-1)
    by_edge = np.argsort(eid, kind="stable")
    pairs = tri_of_edge[by_edge].reshape(-1, 2)
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    roots = {find(i) for i in range(len(tri))}
    if len(roots) != 1:
        raise _error(field, f"{path.name} holds {len(roots)} separate closed surfaces; accepted: a single solid (one "
                     "bone; fragments are made by the [gap] table)")
    volume = _signed_volume(pts, tri)
    if volume < 0:
        tri = tri[:, ::-1].copy()
        volume = -volume
    ext = np.ptp(pts, axis=0)
    width = float(max(ext[0], ext[1]))
    if ext[2] < SURFACE_AXIS_ASPECT * width:
        raise _error(field, f"{path.name} is {ext[2]:.4g} mm along z and {width:.4g} mm across: its long axis is not "
                     f"along z; accepted: a bone with its long axis along z (z from distal to proximal), at least "
                     f"{SURFACE_AXIS_ASPECT:g} x longer than wide")
    lo, hi = SURFACE_LENGTH_RANGE_MM
    if not lo <= ext[2] <= hi:
        raise _error(field, f"{path.name} is {ext[2]:.4g} long along z; accepted: {lo:g} to {hi:g} mm (a long bone "
                     "in millimetres, its long axis along z; a file in metres or inches must be scaled)")
    wlo, whi = SURFACE_WIDTH_RANGE_MM
    if not wlo <= width <= whi:
        raise _error(field, f"{path.name} is {width:.4g} wide across z; accepted: {wlo:g} to {whi:g} mm (a long bone "
                     "in millimetres)")
    return Surface(pts, tri)


def _signed_volume(pts: np.ndarray, tri: np.ndarray) -> float:
    a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def slice_surface(surface: Surface, z_mm: float) -> tuple[float, float, float, float, float, float]:
    """The cross-section of a closed outward-oriented surface at level z: (area mm^2,
    centroid x, y mm, Ixx, Iyy, Ixy mm^4 about the centroid), from the oriented segments
    where the triangles cross the plane (Green's theorem; holes count negative)."""
    p, t = surface.points, surface.triangles
    zs = p[t, 2] - z_mm  # (m, 3)
    above = zs > 0
    n_above = above.sum(axis=1)
    crossing = (n_above == 1) | (n_above == 2)
    segs = []
    tt, zz = t[crossing], zs[crossing]
    pa = p[tt]
    for k in range(len(tt)):
        q = []
        for i in range(3):
            j = (i + 1) % 3
            zi, zj = zz[k, i], zz[k, j]
            if (zi > 0) != (zj > 0):
                f = zi / (zi - zj)
                q.append(pa[k, i] + f * (pa[k, j] - pa[k, i]))
        if len(q) != 2:
            continue
        a, b = q[0][:2], q[1][:2]
        normal = np.cross(pa[k, 1] - pa[k, 0], pa[k, 2] - pa[k, 0])[:2]
        d = b - a
        if d[1] * normal[0] - d[0] * normal[1] < 0:  # outward normal on the right of a counter-clockwise run
            a, b = b, a
        segs.append((a, b))
    if not segs:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    s = np.array(segs)
    x1, y1, x2, y2 = s[:, 0, 0], s[:, 0, 1], s[:, 1, 0], s[:, 1, 1]
    cr = x1 * y2 - x2 * y1
    area = 0.5 * cr.sum()
    cx = ((x1 + x2) * cr).sum() / (6 * area)
    cy = ((y1 + y2) * cr).sum() / (6 * area)
    ixx = ((y1 * y1 + y1 * y2 + y2 * y2) * cr).sum() / 12 - area * cy * cy  # about x (y^2 dA)
    iyy = ((x1 * x1 + x1 * x2 + x2 * x2) * cr).sum() / 12 - area * cx * cx
    ixy = ((x1 * y2 + 2 * x1 * y1 + 2 * x2 * y2 + x2 * y1) * cr).sum() / 24 - area * cx * cy
    return float(area), float(cx), float(cy), float(ixx), float(iyy), float(ixy)


def surface_profile(path: str | Path, canal_ratio: float, levels: int = SURFACE_LEVELS,
                    field: str = "bone.surface") -> BoneProfile:
    """The profile of an imported surface: read and checked (`read_surface`), shifted so
    that its distal end is at z = 0 and its sections' mean centroid on the z axis, sliced at
    the levels of `surface_levels`. Outer radius: the circle of the
    slice's area; canal radius: canal_ratio x that. Raises ScenarioError at `field` if a
    slice is empty, or its centroid lies so far off the axis that a straight bone axis
    leaves the bone (more than half the local radius)."""
    surf = read_surface(path, field)
    p = surf.points.copy()
    p[:, 2] -= p[:, 2].min()
    length = float(p[:, 2].max())
    zs = surface_levels(p[:, 2], length, levels)
    raw = [slice_surface(Surface(p, surf.triangles), z) for z in zs]
    areas = np.array([r[0] for r in raw])
    if np.any(areas <= 0):
        z_bad = zs[int(np.argmin(areas))]
        raise _error(field, f"{Path(path).name} has no section at z = {z_bad:.1f} mm from its distal end; accepted: "
                     "one solid along its whole length")
    cxy = np.array([[r[1], r[2]] for r in raw])
    shift = (areas[:, None] * cxy).sum(axis=0) / areas.sum()
    p[:, :2] -= shift
    surf = Surface(p, surf.triangles)
    sections = [slice_surface(surf, z) for z in zs]
    r_out = np.sqrt(np.array([sec[0] for sec in sections]) / math.pi)
    off = np.hypot([sec[1] for sec in sections], [sec[2] for sec in sections])
    bad = np.flatnonzero(off > 0.5 * r_out)
    if bad.size:
        k = int(bad[0])
        raise _error(field, f"{Path(path).name}: the section at z = {zs[k]:.1f} mm is centred {off[k]:.1f} mm off the "
                     f"bone's axis (its radius {r_out[k]:.1f} mm); accepted: a bone straight enough for one axis along "
                     "z (every section's centroid within half its radius of the axis through the sections' mean "
                     "centroid)")
    z_all, r_all = _stations(zs, r_out, length)
    return BoneProfile("surface", tuple(float(v) for v in z_all), tuple(float(v) for v in r_all),
                       tuple(float(v) for v in canal_ratio * r_all),
                       sections=tuple((float(z), *sec) for z, sec in zip(zs, sections)))


def _stations(zs: np.ndarray, r: np.ndarray, length: float) -> tuple[np.ndarray, np.ndarray]:
    """Profile stations from slices: the ends at 0 and `length` with their nearest slice's
    radius, and a pair of slices just either side of a vertex level (surface_levels) merged
    into one station at the level unless the radius steps there (more than 0.1 %): a
    body of revolution's profile then has one station per ring of vertices."""
    z_out, r_out = [0.0], [float(r[0])]
    k, n = 0, len(zs)
    close = 3e-4 * length  # slices this close are one pair (2 x 1e-4 of the length apart)
    while k < n:
        if k + 1 < n and zs[k + 1] - zs[k] < close:
            zm = 0.5 * (zs[k] + zs[k + 1])
            if abs(r[k + 1] - r[k]) <= 1e-3 * max(r[k], r[k + 1]):
                z_out.append(float(zm))
                r_out.append(float(0.5 * (r[k] + r[k + 1])))
            else:
                z_out += [float(zs[k]), float(zs[k + 1])]
                r_out += [float(r[k]), float(r[k + 1])]
            k += 2
            continue
        z_out.append(float(zs[k]))
        r_out.append(float(r[k]))
        k += 1
    z_out.append(length)
    r_out.append(float(r[-1]))
    z, rr = np.array(z_out), np.array(r_out)
    # drop interior stations within 1e-3 of the length of an end (the ends' own slices)
    keep = np.ones(len(z), bool)
    keep[1:-1] = (z[1:-1] > 1e-3 * length) & (z[1:-1] < length * (1 - 1e-3))
    return z[keep], rr[keep]


def surface_levels(z_points: np.ndarray, length_mm: float, levels: int = SURFACE_LEVELS) -> np.ndarray:
    """Where a surface is sliced (mm from its distal end): just either side of each level
    its vertices lie on when there are at most MAX_VERTEX_LEVELS of them (a body of
    revolution or a stack of prisms: the profile between is then exact, steps included),
    else `levels` levels evenly spaced; the ends 0.5 % of the length inside."""
    eps = 0.005 * length_mm
    tol = 1e-6 * length_mm
    vz = np.unique(np.round(z_points / tol)) * tol
    if len(vz) <= MAX_VERTEX_LEVELS:
        delta = 1e-4 * length_mm
        zs = np.concatenate([vz - delta, vz + delta])
        zs = zs[(zs > 0) & (zs < length_mm)]
        return np.unique(zs)
    return np.linspace(eps, length_mm - eps, levels)


@functools.lru_cache(maxsize=16)
def _cached_surface_profile(path: str, canal_ratio: float, mtime: float) -> BoneProfile:
    return surface_profile(path, canal_ratio)


@functools.lru_cache(maxsize=64)
def _cached_template_profile(name: str, length_mm: float, outer_mm: float, inner_mm: float) -> BoneProfile:
    return template_profile(name, length_mm, outer_mm, inner_mm)


def bone_profile(bone) -> BoneProfile:
    """The profile of a [bone] table (sim.scenario.Bone): a uniform tube, a template or an
    imported surface (read once per file and modification time)."""
    if getattr(bone, "surface", None):
        path = Path(bone.surface)
        mtime = path.stat().st_mtime if path.is_file() else -1.0
        return _cached_surface_profile(str(path), float(bone.canal_ratio), mtime)
    if getattr(bone, "template", None):
        return _cached_template_profile(bone.template, float(bone.length_mm), float(bone.outer_diameter_mm),
                                        float(bone.inner_diameter_mm))
    ro, ri = 0.5 * bone.outer_diameter_mm, 0.5 * bone.inner_diameter_mm
    return BoneProfile("tube", (0.0, bone.length_mm), (ro, ro), (ri, ri))


# --------------------------------------------------------------------------- frame sections
def bone_section(s, z_mm: float, cortical=None, cancellous=None, poisson_ratio: float | None = None):
    """The frame model's section of the bone at level z (sim.sections.Section), in the
    cortical material: the cortical tube of `Scenario.bone_radii_mm(z)`, plus, where the
    canal is filled with cancellous bone, the cancellous core transformed by the modular
    ratio E_cancellous / E_cortical (a composite beam's transformed section: its EA, EI and
    GJ are the sum of the two materials'; its stresses those of the cortex)."""
    from sim.sections import Section, tube

    ro, ri = s.bone_radii_mm(z_mm)
    nu = 0.3 if poisson_ratio is None else poisson_ratio
    sec = tube(2 * ro, 2 * ri, nu)
    prof = bone_profile(s.bone)
    if ri <= 0 or not prof.cancellous_at(z_mm) or cortical is None or cancellous is None:
        return sec
    n = cancellous.youngs_modulus_MPa / cortical.youngs_modulus_MPa
    core = tube(2 * ri, 0.0, cancellous.poisson_ratio)
    a = sec.area_mm2 + n * core.area_mm2
    i = sec.inertia_1_mm4 + n * core.inertia_1_mm4
    j = sec.torsion_constant_mm4 + n * core.torsion_constant_mm4
    ka = sec.shear_area_1_mm2 + n * core.shear_area_1_mm2
    return Section("tube", a, ka, ka, j, i, i, i / ro, i / ro, j / ro)


# --------------------------------------------------------------------------- writing surfaces
def profile_surface(profile: BoneProfile, segments: int = 24, side: str = "right") -> Surface:
    """The outer surface of a profile as a closed outward triangulated body of revolution:
    `segments` points round each station (a polygon with the area of the station's circle),
    a fan at each end. A left limb is the mirror image
    x -> -x (the same for these bodies of revolution)."""
    z = np.asarray(profile.z_mm)
    # each polygon has the area of its circle (an inscribed polygon has less)
    r = np.asarray(profile.outer_radius_mm) * math.sqrt(2 * math.pi / (segments * math.sin(2 * math.pi / segments)))
    th = 2 * math.pi * np.arange(segments) / segments
    ring = np.stack([np.cos(th), np.sin(th)], axis=1)
    pts = [np.column_stack([ri * ring, np.full(segments, zi)]) for zi, ri in zip(z, r)]
    p = np.concatenate(pts + [np.array([[0.0, 0.0, z[0]], [0.0, 0.0, z[-1]]])])
    tris = []
    ns = len(z)
    for k in range(ns - 1):
        a0, b0 = k * segments, (k + 1) * segments
        for i in range(segments):
            j = (i + 1) % segments
            tris += [(a0 + i, a0 + j, b0 + j), (a0 + i, b0 + j, b0 + i)]
    bottom, top = ns * segments, ns * segments + 1
    last = (ns - 1) * segments
    for i in range(segments):
        j = (i + 1) % segments
        tris.append((bottom, j, i))
        tris.append((top, last + i, last + j))
    t = np.array(tris, dtype=np.int64)
    if side == "left":
        p[:, 0] *= -1.0
        t = t[:, ::-1].copy()
    return Surface(p, t)


def write_surface(surface: Surface, path: str | Path) -> None:
    """Write a surface with meshio (binary STL for .stl; the format from the suffix)."""
    import meshio

    path = Path(path)
    mesh = meshio.Mesh(surface.points, [("triangle", surface.triangles)])
    if path.suffix.lower() == ".stl":
        meshio.write(path, mesh, file_format="stl", binary=True)
    else:
        meshio.write(path, mesh)


def template_surface(template: str, length_mm: float | None = None, shaft_diameter_mm: float | None = None,
                     shaft_inner_diameter_mm: float | None = None, side: str = "right",
                     segments: int = 24, levels: int = 41) -> Surface:
    """The outer surface of a template (default: its typical sizes) as a closed triangulated
    surface, e.g. to write to STL and read back through `bone.surface`."""
    t = TEMPLATES[template]
    length = t.typical_length_mm if length_mm is None else length_mm
    d = t.typical_shaft_diameter_mm if shaft_diameter_mm is None else shaft_diameter_mm
    di = 0.5 * d if shaft_inner_diameter_mm is None else shaft_inner_diameter_mm
    return profile_surface(template_profile(template, length, d, di, levels), segments, side)


def describe_bone(s) -> str:
    """One line on the bone's shape for `validate` and results.json's assumptions."""
    b, prof = s.bone, s.bone_profile()
    d_min, d_max = 2 * prof.min_outer_radius_mm, 2 * prof.max_outer_radius_mm
    side = f"{s.limb_side} limb (+x {'lateral' if s.limb_side == 'right' else 'medial'})"
    if prof.kind == "tube":
        return (f"a uniform cortical tube, {b.outer_diameter_mm:g}/{b.inner_diameter_mm:g} mm, {b.length_mm:g} mm "
                f"long; {side}")
    if prof.kind == "template":
        canc = s.material(b.cancellous_material)
        return (f"the {b.template} template (docs/bones.md), {b.length_mm:g} mm long, mid-shaft "
                f"{b.outer_diameter_mm:g}/{b.inner_diameter_mm:g} mm, outer diameter {d_min:.1f} to {d_max:.1f} mm "
                f"along it, the canal filled with {canc.name} (E {canc.youngs_modulus_MPa:g} MPa) below "
                f"{prof.cancellous_below_mm:.0f} mm and above {prof.cancellous_above_mm:.0f} mm (a body of revolution; "
                f"frame model: the transformed section cell by cell); {side}")
    return (f"the surface {Path(b.surface).name} ({len(prof.sections)} slices along z), {b.length_mm:.1f} mm long, "
            f"outer diameter {d_min:.1f} to {d_max:.1f} mm along it (the circle of each slice's area, in both models), "
            f"canal {b.canal_ratio:g} x the outer radius (a surface gives the outer shape only); {side}")
