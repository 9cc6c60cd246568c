"""Off-screen pictures of a solved frame: undeformed and deformed line network as tubes.

`render_frame` takes the dictionary of `FrameModel.gather_lines()` and the part table
(tag -> (name, kind)) and writes one PNG with two views side by side: an oblique 3D view
and an anterior view (camera on the +y side, z up). The undeformed frame is drawn as
thin, light grey, semi-transparent tubes; the deformed frame (nodes moved by
magnification x displacement) as tubes whose radius follows the real part. Wires are
coloured by their axial force (tension positive), everything else in fixed neutral
colours. Units: mm and N.

Nothing here needs a display: PyVista renders off-screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyvista as pv

pv.OFF_SCREEN = True
try:  # VTK warns on stderr that there is no X display; off-screen rendering does not need one
    from vtkmodules.vtkCommonCore import vtkLogger

    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)
except Exception:  # noqa: BLE001  (an older VTK without vtkLogger)
    pass

__all__ = ["render_frame", "auto_magnification", "WIRE_CMAP", "TENSION_ARRAY"]

WIRE_CMAP = "plasma"
TENSION_ARRAY = "tension_N"
STRESS_CMAP = "coolwarm"
STRESS_ARRAY = "von_mises_MPa"
STRESS_COLOURED = ("BONE", "RING", "ROD", "STRUT", "POST", "HALF_PIN")
TARGET_FRACTION = 0.04  # the largest displacement is drawn as ~4 % of the model size
LINK_KINDS = ("WIRE_BONE_LINK", "CLAMP_LINK", "PIN_BONE_LINK", "GAP_CONTACT")


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
    "WIRE": _Style("#000000", 1.5, 12),  # coloured by tension
    "LINK": _Style("#505050", 0.5, 8),  # all connector kinds
    "OTHER": _Style("#808080", 1.0, 8),  # unknown kinds
}
# draw order: big parts first, so the thin ones stay visible in the listing
_GROUP_ORDER = ("BONE", "REGENERATE", "RING", "ROD", "STRUT", "POST", "HALF_PIN", "WIRE", "LINK", "OTHER")

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
TEXT_COLOR = "black"

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
           cell_data: dict[str, np.ndarray] | None = None, join: bool = False) -> pv.PolyData | None:
    """Tubes around the line cells; zero-length cells are dropped.

    join: merge contiguous segments into polylines first (seamless rings and bones);
    only without cell data, which the merge would not keep per segment.
    """
    if len(cells) == 0:
        return None
    lengths = np.linalg.norm(points[cells[:, 1]] - points[cells[:, 0]], axis=1)
    keep = lengths > 1e-9 * max(1.0, float(np.max(lengths, initial=0.0)))
    if not np.any(keep):
        return None
    poly = _lines_polydata(points, cells[keep])
    if cell_data:
        for name, values in cell_data.items():
            poly.cell_data[name] = np.asarray(values)[keep]
    elif join:
        poly = poly.strip(join=True)
    tube = poly.tube(radius=radius, n_sides=n_sides, capping=True)
    return tube if tube.n_points else None


def _font_file() -> str | None:
    """A full sans-serif TrueType font (DejaVu Sans, shipped with matplotlib).

    VTK's built-in 'Arial' draws square brackets like parentheses ("[N]" reads "(N)").
    """
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    except Exception:  # noqa: BLE001
        return None
    return str(path) if path.is_file() else None


def _use_font_file(text_property, font_file: str | None) -> None:
    if font_file is not None:
        text_property.SetFontFamily(4)  # VTK_FONT_FILE
        text_property.SetFontFile(font_file)


def _nice_bar_labels(bar, clim: tuple[float, float]) -> None:
    """Round tick values (e.g. 800, 900, ...) on the colour bar instead of clim/4 steps."""
    try:
        from matplotlib.ticker import MaxNLocator
        from vtkmodules.vtkCommonCore import vtkDoubleArray
    except Exception:  # noqa: BLE001
        return
    lo, hi = clim
    eps = 1e-9 * abs(hi - lo)
    ticks = [t for t in MaxNLocator(nbins=6).tick_values(lo, hi) if lo - eps <= t <= hi + eps]
    if len(ticks) < 2:
        return
    values = vtkDoubleArray()
    for t in ticks:
        values.InsertNextValue(float(t))
    step = ticks[1] - ticks[0]
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    bar.SetLabelFormat(f"%.{decimals}f")
    bar.SetCustomLabels(values)
    bar.SetUseCustomLabels(True)


def _deformation_label(magnification: float, u_max: float) -> str:
    mag = f"{magnification:g}"
    return f"Deformation x {mag}   (largest displacement {u_max:.3g} mm)"


def render_frame(lines: dict, parts: dict[int, tuple[str, str]], out_png: str | Path, *,
                 title: str = "", magnification: float | None = None,
                 wire_tension_range_N: tuple[float, float] | None = None,
                 window_size=(1600, 1000), colours: dict[str, str] | None = None,
                 views: tuple[str, ...] = ("oblique", "anterior"), colour_by_stress: bool = False,
                 stress_range_MPa: tuple[float, float] | None = None,
                 focus: tuple[tuple[float, float, float], float] | None = None,
                 labels: list[tuple[tuple[float, float, float], str]] | None = None,
                 arrows: list[tuple[tuple[float, float, float], tuple[float, float, float], str]] | None = None) -> Path:
    """Render the undeformed and deformed frame into a PNG with two views; return its path.

    lines: "points_mm" (n,3), "displacement_mm" (n,3), "cells" (m,2) node indices,
    "part_tag" (m,), "section_forces" (m,6) with the axial force N (tension positive)
    in column 0. parts: tag -> (name, kind), kind one of BONE, REGENERATE, RING, WIRE,
    ROD, HALF_PIN, POST or a *_LINK kind (drawn as thin dark connectors); cells whose
    tag is missing from `parts` are drawn thin in grey.
    magnification: deformation scale; None picks a 1-2-5 number so the largest
    displacement appears as ~4 % of the model size (at least 1).
    wire_tension_range_N: colour range of the wires; None uses min/max over wire cells.
    colours: overrides of the fixed colours by kind (e.g. {"REGENERATE": "#d62728"}).
    views: which views, side by side, from VIEWS (oblique, anterior, lateral, axial).
    focus: (centre, half height) in mm: zoom parallel views on a region (a close-up).
    labels: (point, text) pairs written on the picture (teaching); arrows: (tail point,
    vector in mm, text) drawn as red arrows (loads).
    colour_by_stress: colour bone, rings, rods, struts and pins by their peak von Mises
    stress per cell (lines["von_mises_MPa"], MPa) over stress_range_MPa (None: 0 to the
    largest), with a second colour bar; wires stay coloured by tension.
    Left: oblique 3D view. Right: anterior view (camera on the +y side looking towards
    -y, z up, parallel projection).
    """
    points = np.asarray(lines["points_mm"], dtype=float).reshape(-1, 3)
    disp = np.asarray(lines.get("displacement_mm", np.zeros_like(points)), dtype=float).reshape(-1, 3)
    cells = np.asarray(lines["cells"], dtype=np.int64).reshape(-1, 2)
    tags = np.asarray(lines["part_tag"], dtype=np.int64).reshape(-1)
    forces = lines.get("section_forces")
    axial = (np.asarray(forces, dtype=float).reshape(len(cells), -1)[:, 0]
             if forces is not None else np.zeros(len(cells)))
    if len(tags) != len(cells):
        raise ValueError(f"part_tag has {len(tags)} entries for {len(cells)} cells")

    if magnification is None:
        magnification = auto_magnification(points, disp)
    magnification = float(magnification)
    u_max = float(np.max(np.linalg.norm(disp, axis=1))) if len(disp) else 0.0
    deformed = points + magnification * disp

    # cells grouped by drawing style
    group_of_tag = {int(t): _group_of(kind) for t, (_name, kind) in parts.items()}
    cell_group = np.array([group_of_tag.get(int(t), "OTHER") for t in tags], dtype=object)
    groups = {g: np.flatnonzero(cell_group == g) for g in _GROUP_ORDER}

    wire_cells = groups["WIRE"]
    if wire_tension_range_N is not None:
        clim = (float(wire_tension_range_N[0]), float(wire_tension_range_N[1]))
    elif len(wire_cells):
        clim = (float(axial[wire_cells].min()), float(axial[wire_cells].max()))
    else:
        clim = (0.0, 1.0)
    if not clim[1] > clim[0]:  # one value only: a small band around it
        half = max(1.0, 0.05 * abs(clim[0]))
        clim = (clim[0] - half, clim[1] + half)

    vm = np.asarray(lines.get("von_mises_MPa", np.zeros(len(cells))), dtype=float).reshape(-1)
    stressed = [g for g in STRESS_COLOURED if len(groups[g])] if colour_by_stress else []
    if stressed:
        sel = np.concatenate([groups[g] for g in stressed])
        sclim = (float(stress_range_MPa[0]), float(stress_range_MPa[1])) if stress_range_MPa is not None \
            else (0.0, max(float(vm[sel].max()), 1e-9))
        if not sclim[1] > sclim[0]:
            sclim = (sclim[0], sclim[0] + 1.0)

    # meshes, built once and shared by both views
    undeformed_meshes = []
    deformed_meshes = []  # (tubes, add_mesh kwargs, "wire" | "stress" | "plain")
    for g in _GROUP_ORDER:
        idx = groups[g]
        if len(idx) == 0:
            continue
        style = STYLES[g]
        is_wire = g == "WIRE"
        if g != "LINK":
            und = _tubes(points, cells[idx], UNDEFORMED_RADIUS_FACTOR * style.radius_mm,
                         max(8, style.n_sides // 2), join=True)
            if und is not None:
                undeformed_meshes.append(und)
        is_stressed = g in stressed
        data = {TENSION_ARRAY: axial[idx]} if is_wire else ({STRESS_ARRAY: vm[idx]} if is_stressed else None)
        tube = _tubes(deformed, cells[idx], style.radius_mm, style.n_sides, cell_data=data,
                      join=not (is_wire or is_stressed))
        if tube is None:
            continue
        if is_wire:
            kwargs = dict(scalars=TENSION_ARRAY, preference="cell", cmap=WIRE_CMAP, clim=clim,
                          ambient=0.35, diffuse=0.65, specular=0.1)
        elif is_stressed:
            kwargs = dict(scalars=STRESS_ARRAY, preference="cell", cmap=STRESS_CMAP, clim=sclim,
                          ambient=0.3, diffuse=0.7, specular=0.1)
        else:
            kwargs = dict(color=(colours or {}).get(g, style.color), ambient=0.25, diffuse=0.75,
                          specular=0.3 if g not in ("BONE", "REGENERATE") else 0.05, specular_power=20)
        deformed_meshes.append((tube, kwargs, "wire" if is_wire else ("stress" if is_stressed else "plain")))
    undeformed = pv.merge(undeformed_meshes) if undeformed_meshes else None

    width, height = int(window_size[0]), int(window_size[1])
    font_title = max(10, round(height / 55))
    font_small = max(8, round(height / 80))
    font_file = _font_file()

    unknown = [v for v in views if v not in VIEWS]
    if unknown or not views:
        raise ValueError(f"views {unknown or views}: accepted: {', '.join(VIEWS)}")
    last = len(views) - 1
    plotter = pv.Plotter(off_screen=True, shape=(1, len(views)), window_size=(width, height), border=False)
    try:
        plotter.set_background("white")
        for col, (label, direction, parallel) in enumerate(VIEWS[v] for v in views):
            plotter.subplot(0, col)
            plotter.set_background("white")
            if undeformed is not None:
                plotter.add_mesh(undeformed, color=UNDEFORMED_COLOR, opacity=UNDEFORMED_OPACITY,
                                 smooth_shading=True, lighting=True)
            stress_bar_done = False
            for mesh, kwargs, kind in deformed_meshes:
                extra = {}
                is_wire = kind == "wire"
                if kind == "stress":
                    extra["show_scalar_bar"] = col == 0 and not stress_bar_done
                    if extra["show_scalar_bar"]:
                        stress_bar_done = True
                        extra["scalar_bar_args"] = dict(
                            title="von Mises [MPa]\n", vertical=True, position_x=0.83, position_y=0.22,
                            width=0.08, height=0.55, color=TEXT_COLOR, title_font_size=font_title + 2,
                            label_font_size=font_title - 2, n_labels=5, fmt="%.0f", font_family="arial",
                            bold=False, unconstrained_font_size=True,
                        )
                    else:
                        extra["show_scalar_bar"] = False
                if is_wire:
                    extra["show_scalar_bar"] = col == last
                    if col == last:
                        extra["scalar_bar_args"] = dict(
                            title="Wire tension [N]\n", vertical=True, position_x=0.83, position_y=0.22,
                            width=0.08, height=0.55, color=TEXT_COLOR, title_font_size=font_title + 2,
                            label_font_size=font_title - 2, n_labels=5, fmt="%.0f", font_family="arial",
                            bold=False, unconstrained_font_size=True,
                        )
                plotter.add_mesh(mesh.copy(deep=False), smooth_shading=True, **kwargs, **extra)
                if extra.get("show_scalar_bar"):
                    bar = plotter.scalar_bars[extra["scalar_bar_args"]["title"]]
                    _use_font_file(bar.GetTitleTextProperty(), font_file)
                    _use_font_file(bar.GetLabelTextProperty(), font_file)
                    _nice_bar_labels(bar, clim if is_wire else sclim)
            plotter.add_text(label, position="lower_left", font_size=font_small, color=TEXT_COLOR,
                             font_file=font_file)
            if col == 0:
                label_d = _deformation_label(magnification, u_max) if u_max > 0 else ""
                header = "\n".join(x for x in (title, label_d) if x)
                plotter.add_text(header, position="upper_left", font_size=font_title, color=TEXT_COLOR,
                                 font_file=font_file)
            if col == last and u_max > 0:
                plotter.add_text("undeformed: light grey", position="upper_right",
                                 font_size=font_small, color="#707070", font_file=font_file)
            for tail, vec, text in arrows or ():
                vec = np.asarray(vec, float)
                length = float(np.linalg.norm(vec))
                plotter.add_mesh(pv.Arrow(start=tail, direction=vec, scale=length, tip_length=0.25,
                                          tip_radius=0.08, shaft_radius=0.03), color="#d62728")
                if text:
                    plotter.add_point_labels([np.asarray(tail) + vec * 1.05], [text], font_size=font_title,
                                             text_color="#d62728", shape=None, show_points=False,
                                             always_visible=True)
            if labels:
                plotter.add_point_labels([p for p, _ in labels], [t for _, t in labels], font_size=font_small + 2,
                                         text_color="black", shape_color="white", shape_opacity=0.75,
                                         point_size=6, point_color="black", always_visible=True)
            if parallel:
                plotter.enable_parallel_projection()
            plotter.view_vector(direction, viewup=(0.0, 1.0, 0.0) if direction == (0.0, 0.0, 1.0) else (0.0, 0.0, 1.0))
            plotter.reset_camera()
            plotter.camera.zoom(1.1 if parallel else 1.25)
            if focus is not None:
                centre, half = np.asarray(focus[0], float), float(focus[1])
                d = np.asarray(direction, float) / np.linalg.norm(direction)
                plotter.camera.focal_point = tuple(centre)
                plotter.camera.position = tuple(centre + d * 2000.0)
                plotter.enable_parallel_projection()
                plotter.camera.parallel_scale = half
        plotter.enable_depth_peeling()
        try:
            plotter.enable_anti_aliasing("ssaa", all_renderers=True)
        except Exception:  # noqa: BLE001  (older VTK / pyvista: keep going without)
            pass

        out = Path(out_png)
        out.parent.mkdir(parents=True, exist_ok=True)
        plotter.screenshot(str(out), window_size=(width, height))
    finally:
        plotter.close()
    return out
