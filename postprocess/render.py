"""Off-screen pictures of a solved frame: undeformed and deformed line network as tubes.

`render_frame` takes the dictionary of `FrameModel.gather_lines()` and the part table
(tag -> (name, kind)) and writes one PNG with views side by side (by default an oblique
3D view and an anterior view, camera on the +y side, z up). The undeformed frame is drawn
as thin, light grey, semi-transparent tubes; the deformed frame (nodes moved by
magnification x displacement) as tubes whose radius follows the real part. Wires are
coloured by their axial force (tension positive), bone, rings, rods, struts and pins
optionally by von Mises stress over their own yield, everything else in fixed neutral
colours. `render_scenes` draws several frames (runs, stages) on one set of colour scales.

PyVista draws the parts only; every text (header, captions, labels, colour bars) is laid
out by matplotlib at the written size (postprocess.layout), so none is cut and the tests
can measure it. Colour scales: postprocess.scales. Units: mm, N, MPa, %.

Nothing here needs a display: PyVista renders off-screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyvista as pv

pv.OFF_SCREEN = True
try:  # VTK warns on stderr that there is no X display; off-screen rendering does not need one
    from vtkmodules.vtkCommonCore import vtkLogger

    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)
except Exception:  # noqa: BLE001  (an older VTK without vtkLogger)
    pass

from postprocess.layout import Label, Panel, compose_picture, plan_layout
from postprocess.scales import STRESS_CMAP, WIRE_CMAP, ColourScale, stress_scale_MPa, tension_scale, utilisation_scale

__all__ = ["render_frame", "render_scenes", "Scene", "auto_magnification", "scene_scales", "WIRE_CMAP",
           "STRESS_CMAP", "TENSION_ARRAY"]

TENSION_ARRAY = "tension_N"
STRESS_ARRAY = "stress"
STRESS_COLOURED = ("BONE", "RING", "ROD", "STRUT", "POST", "HALF_PIN", "PLATE")
TARGET_FRACTION = 0.04  # the largest displacement is drawn as ~4 % of the model size
LINK_KINDS = ("WIRE_BONE_LINK", "CLAMP_LINK", "PIN_BONE_LINK", "GAP_CONTACT", "CLAMP_ARM", "ROD_RING_JOINT", "PIN_CLAMP",
              "HINGE", "PIN_CLAMP_BLOCK", "PLATE_BOLT")


@dataclass(frozen=True)
class _Style:
    color: str
    radius_mm: float
    n_sides: int = 16


# Deformed frame: neutral colours, tube radius roughly that of the real part.
STYLES: dict[str, _Style] = {
    "BONE": _Style("#e8dcc0", 12.0, 32),  # ivory / bone
    "REGENERATE": _Style("#4fa36c", 12.0, 32),  # green: not in the wires' colormap
    "RING": _Style("#4682b4", 4.0, 16),  # steel blue
    "ROD": _Style("#4d4d4d", 3.0, 16),  # dark grey
    "STRUT": _Style("#b8860b", 4.0, 16),  # dark golden: hexapod struts
    "HALF_PIN": _Style("#2f4f4f", 3.0, 16),  # dark slate
    "POST": _Style("#2f4f4f", 3.0, 16),
    "PLATE": _Style("#5f8fb4", 4.0, 4),  # a connection plate: a lighter steel blue, a square-ish tube
    "WIRE": _Style("#000000", 1.5, 12),  # coloured by tension
    "HINGE": _Style("#c0392b", 7.0, 16),  # red knuckle: an Ilizarov hinge's joint on its rod
    "LINK": _Style("#505050", 0.5, 8),  # all connector kinds
    "OTHER": _Style("#808080", 1.0, 8),  # unknown kinds
}
# draw order: big parts first, so the thin ones stay visible in the listing
_GROUP_ORDER = ("BONE", "REGENERATE", "RING", "ROD", "STRUT", "POST", "HALF_PIN", "PLATE", "WIRE", "HINGE", "LINK",
                "OTHER")

# name -> (label, camera direction, parallel projection)
VIEWS = {
    "oblique": ("Oblique view", (1.0, 1.3, 0.55), False),
    "anterior": ("Anterior view", (0.0, 1.0, 0.0), True),
    "lateral": ("Lateral view", (1.0, 0.0, 0.0), True),
    "axial": ("Axial view (from proximal)", (0.0, 0.0, 1.0), True),
}

UNDEFORMED_COLOR = "#b4b4b4"
UNDEFORMED_OPACITY = 0.35
UNDEFORMED_RADIUS_FACTOR = 0.5  # thinner than the deformed tubes

_NICE_MANTISSAS = (1.0, 2.0, 5.0)


def _nice_number(x: float) -> float:
    """The number of the 1-2-5 series closest to x (in log scale)."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    exp = math.floor(math.log10(x))
    candidates = [m * 10.0**e for e in (exp - 1, exp, exp + 1) for m in _NICE_MANTISSAS]
    best = min(candidates, key=lambda c: abs(math.log10(c) - math.log10(x)))
    return float(round(best, 12))


def auto_magnification(points_mm: np.ndarray, displacement_mm: np.ndarray,
                       fraction: float = TARGET_FRACTION) -> float:
    """Deformation scale so that the largest displacement is ~`fraction` of the model size.

    Model size: diagonal of the bounding box of the undeformed nodes. Rounded to the
    1-2-5 series (1, 2, 5, 10, 20, 50, ...), never below 1.
    """
    points = np.asarray(points_mm, dtype=float).reshape(-1, 3)
    u = np.asarray(displacement_mm, dtype=float).reshape(-1, 3)
    if len(points) == 0 or len(u) == 0:
        return 1.0
    size = float(np.linalg.norm(points.max(axis=0) - points.min(axis=0)))
    u_max = float(np.max(np.linalg.norm(u, axis=1)))
    if size <= 0 or u_max <= 0 or not np.isfinite(u_max):
        return 1.0
    return max(1.0, _nice_number(fraction * size / u_max))


def _kind_name(kind) -> str:
    """'WIRE' from 'WIRE', 'wire', PartKind.WIRE, ..."""
    name = getattr(kind, "name", kind)
    return str(name).strip().upper()


def _group_of(kind) -> str:
    k = _kind_name(kind)
    if k == "HINGE":  # an Ilizarov hinge: a short joint cell on a rod, drawn as a visible knuckle
        return "HINGE"
    if k in LINK_KINDS or k.endswith("_LINK"):
        return "LINK"
    return k if k in STYLES else "OTHER"


def _lines_polydata(points: np.ndarray, cells: np.ndarray) -> pv.PolyData:
    """PolyData of 2-node line cells over the given points (unused points are dropped)."""
    used, inverse = np.unique(cells.ravel(), return_inverse=True)
    local = inverse.reshape(-1, 2)
    conn = np.column_stack([np.full(len(local), 2), local]).ravel()
    return pv.PolyData(points[used], lines=conn)


def _tubes(points: np.ndarray, cells: np.ndarray, radius: float, n_sides: int,
           cell_data: dict[str, np.ndarray] | None = None, join: bool = False,
           radii: np.ndarray | None = None) -> pv.PolyData | None:
    """Tubes around the line cells; zero-length cells are dropped.

    join: merge contiguous segments into polylines first (seamless rings and bones);
    only without cell data, which the merge would not keep per segment.
    radii: a radius per point (mm) instead of `radius` (a bone whose section varies).
    """
    if len(cells) == 0:
        return None
    lengths = np.linalg.norm(points[cells[:, 1]] - points[cells[:, 0]], axis=1)
    keep = lengths > 1e-9 * max(1.0, float(np.max(lengths, initial=0.0)))
    if not np.any(keep):
        return None
    poly = _lines_polydata(points, cells[keep])
    if radii is not None:
        poly.point_data["radius_mm"] = np.asarray(radii, float)[np.unique(cells[keep].ravel())]
    if cell_data:
        for name, values in cell_data.items():
            poly.cell_data[name] = np.asarray(values)[keep]
    elif join:
        poly = poly.strip(join=True)
    if radii is not None:
        tube = poly.tube(scalars="radius_mm", absolute=True, n_sides=n_sides, capping=True)
    else:
        tube = poly.tube(radius=radius, n_sides=n_sides, capping=True)
    return tube if tube.n_points else None


def _deformation_text(magnification: float, u_max: float) -> str:
    if u_max <= 0:
        return ""
    if magnification == 1.0:
        return f"True scale (largest displacement {u_max:.3g} mm); undeformed in light grey"
    return f"Deformation × {magnification:g} (largest displacement {u_max:.3g} mm); undeformed in light grey"


@dataclass
class Scene:
    """One frame state to draw.

    lines: as `FrameModel.gather_lines()` ("points_mm" (n,3), "displacement_mm" (n,3),
    "cells" (m,2), "part_tag" (m,), "section_forces" (m,6) with the axial force N, tension
    > 0, in column 0, optionally "von_mises_MPa" (m,)); parts: tag -> (name, kind).
    caption: written over each of its views (with the view's name).
    magnification: deformation scale; None: a 1-2-5 number so that the largest
    displacement shows as ~4 % of the model size.
    colours: fixed colours by kind overriding STYLES (e.g. {"REGENERATE": "#d62728"}).
    labels: (point mm, text) written on the picture with a leader line; arrows: (tail
    point mm, vector mm, text) drawn as red arrows (loads).
    focus: (centre mm, half height mm): parallel views zoomed on a region (a close-up).
    hide_kinds: part kinds not drawn (e.g. rods in front of a close-up of the gap).
    yields_MPa: yield (or strength) per part tag; with it, stress is coloured as
    von Mises / yield in %, without it in MPa.
    part_colours: fixed colours by part name, overriding the kind's colour and the
    tension and stress colouring (e.g. hexapod struts in their prescription colours).
    bone_radius_mm: the bone's outer radius (mm) at a level z (mm), e.g.
    `lambda z: scenario.bone_radii_mm(z)[0]`: the bone and regenerate drawn with their
    real, varying radius (a template's metaphyses, a hindfoot block); None: a 12 mm tube.
    part_radius_mm: drawn radius (mm) by part name, overriding its kind's (e.g. a telescopic
    rod's tube and overlap, `<rod>_tube`, `<rod>_overlap`, drawn at the tube's radius).
    fracture_plane: (level mm, unit normal (3,), bone radius mm) of an oblique fracture
    (Gap.plane_normal): its plane drawn across the bone at the gap, where the deformed
    fragment ends are (the fragments' tubes themselves end square).
    hole_marks: (k, 3) points (mm) of rings' holes (sim.ring_holes.hole_points): drawn
    as small dark dots on the rings' top, moved with the nearest ring node's
    (magnified) displacement.
    butterfly: (lower level mm, upper level mm, side deg, arc deg, outer radius mm) of a
    butterfly fragment (sim.fracture_geometry): its wedge drawn beside the gap, where the
    deformed fragment ends are (a free fragment moves with neither).
    """

    lines: dict
    parts: dict
    caption: str = ""
    magnification: float | None = None
    colours: dict | None = None
    labels: list | None = None
    arrows: list | None = None
    focus: tuple | None = None
    hide_kinds: tuple = ()
    yields_MPa: dict | None = None
    part_colours: dict | None = None
    bone_radius_mm: Callable[[float], float] | None = None
    fracture_plane: tuple | None = None
    part_radius_mm: dict | None = None
    hole_marks: np.ndarray | None = None
    butterfly: tuple | None = None


@dataclass
class _Prepared:
    points: np.ndarray
    deformed: np.ndarray
    cells: np.ndarray
    axial: np.ndarray
    stress: np.ndarray  # per cell: % of yield or MPa on stressed parts, NaN elsewhere
    groups: dict
    magnification: float
    u_max: float
    part_colour: np.ndarray | None = None  # per cell: its part's fixed colour, "" for none
    tags: np.ndarray | None = None  # per cell: its part's tag


def _prepare(scene: Scene, colour_by_stress: bool, utilisation: bool) -> _Prepared:
    lines = scene.lines
    points = np.asarray(lines["points_mm"], dtype=float).reshape(-1, 3)
    disp = np.asarray(lines.get("displacement_mm", np.zeros_like(points)), dtype=float).reshape(-1, 3)
    cells = np.asarray(lines["cells"], dtype=np.int64).reshape(-1, 2)
    tags = np.asarray(lines["part_tag"], dtype=np.int64).reshape(-1)
    if len(tags) != len(cells):
        raise ValueError(f"part_tag has {len(tags)} entries for {len(cells)} cells")
    forces = lines.get("section_forces")
    axial = (np.asarray(forces, dtype=float).reshape(len(cells), -1)[:, 0]
             if forces is not None else np.zeros(len(cells)))
    magnification = auto_magnification(points, disp) if scene.magnification is None else float(scene.magnification)
    u_max = float(np.max(np.linalg.norm(disp, axis=1))) if len(disp) else 0.0
    hidden = {_kind_name(k) for k in scene.hide_kinds}
    group_of_tag = {int(t): ("HIDDEN" if _kind_name(kind) in hidden else _group_of(kind))
                    for t, (_name, kind) in scene.parts.items()}
    cell_group = np.array([group_of_tag.get(int(t), "OTHER") for t in tags], dtype=object)
    groups = {g: np.flatnonzero(cell_group == g) for g in _GROUP_ORDER}
    stress = np.full(len(cells), np.nan)
    if colour_by_stress:
        vm = np.asarray(lines.get("von_mises_MPa", np.zeros(len(cells))), dtype=float).reshape(-1)
        sel = np.concatenate([groups[g] for g in STRESS_COLOURED])
        if utilisation:
            yields = np.array([(scene.yields_MPa or {}).get(int(t), np.nan) for t in tags[sel]], float)
            stress[sel] = 100.0 * vm[sel] / yields
        else:
            stress[sel] = vm[sel]
    part_colour = None
    if scene.part_colours:
        colour_of_tag = {int(t): scene.part_colours.get(name, "") for t, (name, _kind) in scene.parts.items()}
        part_colour = np.array([colour_of_tag.get(int(t), "") for t in tags], dtype=object)
    return _Prepared(points, points + magnification * disp, cells, axial, stress, groups, magnification, u_max,
                     part_colour, tags)


def scene_scales(scenes: list[Scene], colour_by_stress: bool = False,
                 wire_tension_range_N: tuple[float, float] | None = None,
                 stress_range: tuple[float, float] | None = None) -> tuple[ColourScale | None, ColourScale | None]:
    """The colour scales shared by the scenes: wire tension (None without wires) and
    stress (None unless colour_by_stress): % of yield when every scene has yields_MPa,
    MPa otherwise. wire_tension_range_N / stress_range: the values to span instead of the
    scenes' own (still widened to the minimum meaningful span of postprocess.scales)."""
    utilisation = bool(scenes) and all(s.yields_MPa is not None for s in scenes)
    preps = [_prepare(s, colour_by_stress, utilisation) for s in scenes]
    wire_values = np.concatenate([p.axial[p.groups["WIRE"]] for p in preps]) if preps else np.zeros(0)
    wire_scale = None
    if wire_tension_range_N is not None:
        wire_scale = tension_scale(wire_tension_range_N)
    elif len(wire_values):
        wire_scale = tension_scale(wire_values)
    stress_scale = None
    if colour_by_stress:
        values = np.concatenate([p.stress[np.isfinite(p.stress)] for p in preps]) if preps else np.zeros(0)
        if stress_range is not None:
            lo, hi = float(stress_range[0]), float(stress_range[1])
            label = ("von Mises stress / yield of the part [%]" if utilisation else "von Mises stress [MPa]")
            stress_scale = ColourScale(lo, hi if hi > lo else lo + 1.0, STRESS_CMAP, label)
        elif len(values):
            stress_scale = utilisation_scale(values) if utilisation else stress_scale_MPa(values)
    return wire_scale, stress_scale


def _project(renderer, point, col: int, panel_w: int, panel_h: int) -> tuple[float, float]:
    """Pixel position (x right, y down, from the panel's top-left) of a 3D point."""
    renderer.SetWorldPoint(float(point[0]), float(point[1]), float(point[2]), 1.0)
    renderer.WorldToDisplay()
    x, y, _z = renderer.GetDisplayPoint()
    return float(x) - col * panel_w, float(panel_h) - float(y)


def _keep_in_view(plotter, points: np.ndarray, col: int, panel_w: int, panel_h: int, margin: float = 0.03) -> None:
    """Zoom the current view out until every point (mm; the frame's undeformed and deformed
    line points) projects inside its panel with `margin` of its size to spare: the default
    zoom crops frames that reach far to one side (a foot plate's arms in the oblique view)."""
    renderer = plotter.renderer
    step = max(1, len(points) // 2000)
    for _ in range(12):
        xy = np.array([_project(renderer, p, col, panel_w, panel_h) for p in points[::step]])
        inside = ((xy[:, 0] >= margin * panel_w) & (xy[:, 0] <= (1 - margin) * panel_w)
                  & (xy[:, 1] >= margin * panel_h) & (xy[:, 1] <= (1 - margin) * panel_h))
        if inside.all():
            return
        plotter.camera.zoom(0.92)


def _fracture_disc(prep: _Prepared, level_mm: float, normal, radius_mm: float) -> pv.PolyData:
    """The oblique fracture's plane across the bone: a disc of 1.3 radius_mm about the bone's
    axis lifted onto the plane n . (p - c) = 0 (its intersection with the bone's cylinder, an
    ellipse), centred where the deformed fragment ends are (the mean deformed position of the
    axis points nearest the gap's level)."""
    n = np.asarray(normal, float)
    # a little wider than the bone, so that its slanted rim shows round the fragments as the fracture line
    disc = pv.Disc(center=(0.0, 0.0, 0.0), inner=0.0, outer=1.3 * radius_mm, normal=(0.0, 0.0, 1.0), c_res=64)
    pts = np.asarray(disc.points, float).copy()
    pts[:, 2] = -(n[0] * pts[:, 0] + n[1] * pts[:, 1]) / n[2]
    on_axis = np.flatnonzero(np.hypot(prep.points[:, 0], prep.points[:, 1]) < 1e-6)
    near = on_axis[np.argsort(np.abs(prep.points[on_axis, 2] - level_mm))[:2]] if on_axis.size else []
    centre = (prep.deformed[near].mean(axis=0) if len(near) else np.array([0.0, 0.0, level_mm]))
    disc.points = pts + centre
    return disc


HOLE_MARK_COLOR = "#1a1a1a"
HOLE_MARK_PX = 8.0


def _hole_marks(scene: Scene, prep: _Prepared) -> pv.PolyData | None:
    """The rings' holes as points on top of the ring tubes, moved with the nearest ring
    node (its magnified displacement); None without hole_marks or rings."""
    if scene.hole_marks is None or len(scene.hole_marks) == 0 or len(prep.groups["RING"]) == 0:
        return None
    marks = np.asarray(scene.hole_marks, float).reshape(-1, 3)
    nodes = np.unique(prep.cells[prep.groups["RING"]].ravel())
    near = nodes[np.argmin(np.linalg.norm(prep.points[nodes][None, :, :] - marks[:, None, :], axis=2), axis=1)]
    lift = np.array([0.0, 0.0, STYLES["RING"].radius_mm])
    return pv.PolyData(marks + (prep.deformed[near] - prep.points[near]) + lift)


BUTTERFLY_COLOR = "#ff7f0e"


def butterfly_wedge(z0_mm: float, z1_mm: float, side_deg: float, arc_deg: float, outer_radius_mm: float,
                    inner_radius_mm: float = 0.0, centre=(0.0, 0.0, 0.0)) -> pv.PolyData:
    """The closed surface of a butterfly fragment's prism (sim.fracture_geometry): the
    sector arc_deg wide about side_deg between the radii and the levels z0_mm..z1_mm, moved
    by `centre` (mm)."""
    a = math.radians(arc_deg) / 2
    phi = math.radians(side_deg) + np.linspace(-a, a, max(4, int(arc_deg / 5)))
    n = len(phi)
    pts = np.array([(r * math.cos(p) + centre[0], r * math.sin(p) + centre[1], z + centre[2])
                    for z in (z0_mm, z1_mm) for r in (max(inner_radius_mm, 1e-3), outer_radius_mm) for p in phi])

    def at(zi, ri, k):  # point index: level zi, radius ri (0 inner, 1 outer), angle k
        return (2 * zi + ri) * n + k

    quads = []
    for k in range(n - 1):
        for ri in (0, 1):  # the inner and outer curved faces
            quads.append((at(0, ri, k), at(0, ri, k + 1), at(1, ri, k + 1), at(1, ri, k)))
        for zi in (0, 1):  # the two ends
            quads.append((at(zi, 0, k), at(zi, 0, k + 1), at(zi, 1, k + 1), at(zi, 1, k)))
    for k in (0, n - 1):  # the two flat sides
        quads.append((at(0, 0, k), at(0, 1, k), at(1, 1, k), at(1, 0, k)))
    return pv.PolyData(pts, np.array([[4, *q] for q in quads]).ravel())


def _butterfly_mesh(prep: _Prepared, z0: float, z1: float, side_deg: float, arc_deg: float,
                    radius_mm: float) -> pv.PolyData:
    """The wedge, slightly proud of the bone, centred where the deformed fragment ends are."""
    level = 0.5 * (z0 + z1)
    on_axis = np.flatnonzero(np.hypot(prep.points[:, 0], prep.points[:, 1]) < 1e-6)
    near = on_axis[np.argsort(np.abs(prep.points[on_axis, 2] - level))[:2]] if on_axis.size else []
    centre = (prep.deformed[near].mean(axis=0) if len(near) else np.array([0.0, 0.0, level]))
    return butterfly_wedge(z0 - level, z1 - level, side_deg, arc_deg, 1.15 * radius_mm, 0.5 * radius_mm, centre)


def _render_panels(scene: Scene, prep: _Prepared, views: tuple[str, ...], panel_size: tuple[int, int],
                   wire_scale: ColourScale | None, stress_scale: ColourScale | None) -> list[Panel]:
    """The scene's views, rendered off-screen without text, one Panel each."""
    panel_w, panel_h = panel_size
    undeformed_meshes, deformed_meshes = [], []
    for g in _GROUP_ORDER:
        idx = prep.groups[g]
        if len(idx) == 0:
            continue
        style = STYLES[g]
        radii = None
        if g in ("BONE", "REGENERATE") and scene.bone_radius_mm is not None:
            radii = np.array([scene.bone_radius_mm(float(z)) for z in prep.points[:, 2]])
        if g != "LINK":
            und = _tubes(prep.points, prep.cells[idx], UNDEFORMED_RADIUS_FACTOR * style.radius_mm,
                         max(8, style.n_sides // 2), join=True,
                         radii=None if radii is None else UNDEFORMED_RADIUS_FACTOR * radii)
            if und is not None:
                undeformed_meshes.append(und)
        if prep.part_colour is not None:  # parts of a fixed colour of their own
            own = prep.part_colour[idx]
            for colour in sorted(set(own) - {""}):
                tube = _tubes(prep.deformed, prep.cells[idx[own == colour]], style.radius_mm, style.n_sides, join=True)
                if tube is not None:
                    deformed_meshes.append((tube, dict(color=colour, ambient=0.25, diffuse=0.75, specular=0.3,
                                                       specular_power=20)))
            idx = idx[own == ""]
            if len(idx) == 0:
                continue
        if scene.part_radius_mm and g not in ("BONE", "REGENERATE", "WIRE"):  # parts drawn at a radius of their own
            radius_of_tag = {int(tag): scene.part_radius_mm[name] for tag, (name, _kind) in scene.parts.items()
                             if name in scene.part_radius_mm}
            own_r = np.array([radius_of_tag.get(int(tag), np.nan) for tag in prep.tags[idx]])
            for r in sorted(set(own_r[np.isfinite(own_r)])):
                sub = idx[own_r == r]
                sub_finite = np.isfinite(prep.stress[sub]) if stress_scale is not None else np.zeros(len(sub), bool)
                if sub_finite.any():
                    tube = _tubes(prep.deformed, prep.cells[sub[sub_finite]], r, style.n_sides,
                                  cell_data={STRESS_ARRAY: prep.stress[sub[sub_finite]]})
                    deformed_meshes.append((tube, dict(scalars=STRESS_ARRAY, preference="cell", cmap=stress_scale.cmap,
                                                       clim=(stress_scale.lo, stress_scale.hi), show_scalar_bar=False,
                                                       ambient=0.3, diffuse=0.7, specular=0.1)))
                if (~sub_finite).any():
                    tube = _tubes(prep.deformed, prep.cells[sub[~sub_finite]], r, style.n_sides, join=True)
                    deformed_meshes.append((tube, dict(color=(scene.colours or {}).get(g, style.color), ambient=0.25,
                                                       diffuse=0.75, specular=0.3, specular_power=20)))
            idx = idx[~np.isfinite(own_r)]
            if len(idx) == 0:
                continue
        finite = np.isfinite(prep.stress[idx]) if stress_scale is not None else np.zeros(len(idx), bool)
        if g == "WIRE" and wire_scale is not None:
            tube = _tubes(prep.deformed, prep.cells[idx], style.radius_mm, style.n_sides,
                          cell_data={TENSION_ARRAY: prep.axial[idx]})
            if tube is not None:
                deformed_meshes.append((tube, dict(scalars=TENSION_ARRAY, preference="cell", cmap=wire_scale.cmap,
                                                   clim=(wire_scale.lo, wire_scale.hi), show_scalar_bar=False,
                                                   ambient=0.35, diffuse=0.65, specular=0.1)))
            continue
        plain = idx[~finite]
        if finite.any():
            tube = _tubes(prep.deformed, prep.cells[idx[finite]], style.radius_mm, style.n_sides,
                          cell_data={STRESS_ARRAY: prep.stress[idx[finite]]}, radii=radii)
            if tube is not None:
                deformed_meshes.append((tube, dict(scalars=STRESS_ARRAY, preference="cell", cmap=stress_scale.cmap,
                                                   clim=(stress_scale.lo, stress_scale.hi), show_scalar_bar=False,
                                                   ambient=0.3, diffuse=0.7, specular=0.1)))
        if len(plain):
            tube = _tubes(prep.deformed, prep.cells[plain], style.radius_mm, style.n_sides, join=True, radii=radii)
            if tube is not None:
                deformed_meshes.append((tube, dict(color=(scene.colours or {}).get(g, style.color), ambient=0.25,
                                                   diffuse=0.75, specular=0.3 if g not in ("BONE", "REGENERATE")
                                                   else 0.05, specular_power=20)))
    if scene.fracture_plane is not None:
        deformed_meshes.append((_fracture_disc(prep, *scene.fracture_plane),
                                dict(color="#d62728", ambient=0.3, diffuse=0.7, opacity=0.95)))
    marks = _hole_marks(scene, prep)
    if marks is not None:
        deformed_meshes.append((marks, dict(color=HOLE_MARK_COLOR, render_points_as_spheres=True,
                                            point_size=HOLE_MARK_PX, ambient=0.4, diffuse=0.6)))
    if scene.butterfly is not None:
        deformed_meshes.append((_butterfly_mesh(prep, *scene.butterfly),
                                dict(color=BUTTERFLY_COLOR, ambient=0.3, diffuse=0.7, opacity=0.9)))
    undeformed = pv.merge(undeformed_meshes) if undeformed_meshes else None

    plotter = pv.Plotter(off_screen=True, shape=(1, len(views)), window_size=(panel_w * len(views), panel_h),
                         border=False)
    panels = []
    try:
        for col, name in enumerate(views):
            _label, direction, parallel = VIEWS[name]
            plotter.subplot(0, col)
            plotter.set_background("white")
            if undeformed is not None:
                plotter.add_mesh(undeformed, color=UNDEFORMED_COLOR, opacity=UNDEFORMED_OPACITY,
                                 smooth_shading=True, lighting=True)
            for mesh, kwargs in deformed_meshes:
                plotter.add_mesh(mesh.copy(deep=False), smooth_shading=True, **kwargs)
            for tail, vec, _text in scene.arrows or ():
                vec = np.asarray(vec, float)
                plotter.add_mesh(pv.Arrow(start=tail, direction=vec, scale=float(np.linalg.norm(vec)),
                                          tip_length=0.25, tip_radius=0.08, shaft_radius=0.03), color="#d62728")
            if parallel:
                plotter.enable_parallel_projection()
            plotter.view_vector(direction, viewup=(0.0, 1.0, 0.0) if direction == (0.0, 0.0, 1.0) else (0.0, 0.0, 1.0))
            plotter.reset_camera()
            plotter.camera.zoom(1.1 if parallel else 1.25)
            if scene.focus is None:
                _keep_in_view(plotter, np.vstack([prep.points, prep.deformed]), col, panel_w, panel_h)
            if scene.focus is not None:
                centre, half = np.asarray(scene.focus[0], float), float(scene.focus[1])
                d = np.asarray(direction, float) / np.linalg.norm(direction)
                plotter.camera.focal_point = tuple(centre)
                plotter.camera.position = tuple(centre + d * 2000.0)
                plotter.enable_parallel_projection()
                plotter.camera.parallel_scale = half
                plotter.renderer.ResetCameraClippingRange()
        plotter.enable_depth_peeling()
        try:
            plotter.enable_anti_aliasing("ssaa", all_renderers=True)
        except Exception:  # noqa: BLE001  (older VTK / pyvista: keep going without)
            pass
        image = np.asarray(plotter.screenshot(return_img=True, window_size=(panel_w * len(views), panel_h)))
        for col, name in enumerate(views):
            renderer = plotter.renderers[col]
            labels = []
            for point, text in scene.labels or ():
                x, y = _project(renderer, point, col, panel_w, panel_h)
                if 0 <= x <= panel_w and 0 <= y <= panel_h:
                    labels.append(Label(x, y, text, "part"))
            for tail, vec, text in scene.arrows or ():
                if text:
                    x, y = _project(renderer, np.asarray(tail, float) + 0.5 * np.asarray(vec, float), col,
                                    panel_w, panel_h)
                    labels.append(Label(x, y, text, "load"))
            if not scene.caption or col > 0:
                caption = VIEWS[name][0]
            elif len(views) == 1:
                caption = scene.caption
            else:
                caption = f"{scene.caption} — {VIEWS[name][0].lower()}"
            panels.append(Panel(image[:, col * panel_w:(col + 1) * panel_w, :3].copy(), caption, labels))
    finally:
        plotter.close()
    return panels


def render_scenes(scenes: list[Scene], out_png: str | Path, *, header: str = "", window_size=(1600, 1000),
                  views: tuple[str, ...] = ("oblique", "anterior"), colour_by_stress: bool = False,
                  wire_scale: ColourScale | None = None, stress_scale: ColourScale | None = None) -> Path:
    """Render the scenes side by side (each in `views`) on one pair of colour scales into a
    PNG of exactly window_size px; return its path.

    wire_scale / stress_scale: the colour scales; None: made from all the scenes' values
    (scene_scales). The colour bars are drawn under the views, the header over them.
    ValueError for an unknown view or a size too small for the panels.
    """
    unknown = [v for v in views if v not in VIEWS]
    if unknown or not views:
        raise ValueError(f"views {unknown or views}: accepted: {', '.join(VIEWS)}")
    if not scenes:
        raise ValueError("render_scenes: no scene to draw")
    utilisation = all(s.yields_MPa is not None for s in scenes)
    own_wire, own_stress = scene_scales(scenes, colour_by_stress)
    wire_scale = wire_scale or own_wire
    stress_scale = (stress_scale or own_stress) if colour_by_stress else None
    preps = [_prepare(s, colour_by_stress, utilisation) for s in scenes]
    if not any(len(p.groups["WIRE"]) for p in preps):
        wire_scale = None
    if stress_scale is not None and not any(np.isfinite(p.stress).any() for p in preps):
        stress_scale = None
    bars = [b for b in (stress_scale, wire_scale) if b is not None]
    width, height = int(window_size[0]), int(window_size[1])
    n_panels = len(scenes) * len(views)
    probe = plan_layout((width, height), header, n_panels, len(bars))
    from postprocess.layout import wrap_text

    bar_w = min(0.40 * width, 560.0, (width - 16 - (len(bars) - 1) * 60) / max(1, len(bars)))
    label_lines = max([len(wrap_text(b.label + (f"; {b.note}" if b.note else ""), bar_w, probe.caption_pt))
                       for b in bars], default=1)
    layout = plan_layout((width, height), header, n_panels, len(bars), bar_label_lines=label_lines)
    panels: list[Panel] = []
    for scene, prep in zip(scenes, preps):
        panels += _render_panels(scene, prep, tuple(views), layout.panel_size, wire_scale, stress_scale)
    return compose_picture(out_png, layout, panels, bars)


def render_frame(lines: dict, parts: dict[int, tuple[str, str]], out_png: str | Path, *,
                 title: str = "", magnification: float | None = None,
                 wire_tension_range_N: tuple[float, float] | None = None,
                 window_size=(1600, 1000), colours: dict[str, str] | None = None,
                 views: tuple[str, ...] = ("oblique", "anterior"), colour_by_stress: bool = False,
                 stress_range_MPa: tuple[float, float] | None = None,
                 focus: tuple[tuple[float, float, float], float] | None = None,
                 labels: list[tuple[tuple[float, float, float], str]] | None = None,
                 arrows: list[tuple[tuple[float, float, float], tuple[float, float, float], str]] | None = None,
                 yields_MPa: dict[int, float] | None = None, hide_kinds: tuple[str, ...] = (),
                 wire_scale: ColourScale | None = None, stress_scale: ColourScale | None = None,
                 bone_radius_mm: Callable[[float], float] | None = None, fracture_plane: tuple | None = None,
                 part_radius_mm: dict[str, float] | None = None, hole_marks: np.ndarray | None = None,
                 butterfly: tuple | None = None) -> Path:
    """Render the undeformed and deformed frame into a PNG of window_size px; return its path.

    lines, parts, magnification, colours, focus, labels, arrows, hide_kinds, yields_MPa,
    bone_radius_mm, fracture_plane, part_radius_mm, hole_marks, butterfly: as for `Scene`. views: which views,
    side by side, from VIEWS (oblique, anterior, lateral, axial). The header holds the title and the deformation
    scale.
    wire_tension_range_N: the tensions (N) the wire colour scale spans (None: the wires'
    own), widened to at least 10 % of the typical tension (postprocess.scales).
    colour_by_stress: colour bone, rings, rods, struts and pins by their peak von Mises
    stress per cell (lines["von_mises_MPa"]) over their own yield in % (with yields_MPa)
    or in MPa (without). stress_range_MPa: the range of that stress scale (in % of yield
    when yields_MPa is given; None: 0 to the peak, see postprocess.scales).
    wire_scale / stress_scale: ready-made scales (shared by several pictures) instead.
    ValueError: an unknown view, part_tag and cells of different lengths.
    """
    scene = Scene(lines, parts, magnification=magnification, colours=colours, labels=labels, arrows=arrows,
                  focus=focus, hide_kinds=tuple(hide_kinds), yields_MPa=yields_MPa, bone_radius_mm=bone_radius_mm,
                  fracture_plane=fracture_plane, part_radius_mm=part_radius_mm, hole_marks=hole_marks,
                  butterfly=butterfly)
    own_wire, own_stress = scene_scales([scene], colour_by_stress, wire_tension_range_N, stress_range_MPa)
    prep = _prepare(scene, False, False)
    header = "\n".join(x for x in (title, _deformation_text(prep.magnification, prep.u_max)) if x)
    return render_scenes([scene], out_png, header=header, window_size=window_size, views=views,
                         colour_by_stress=colour_by_stress, wire_scale=wire_scale or own_wire,
                         stress_scale=stress_scale or own_stress)
