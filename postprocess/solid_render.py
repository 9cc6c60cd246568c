"""Pictures of the continuum model: the deformed solid coloured by von Mises stress.

Pure rendering (PyVista, off-screen) of the data gathered by
sim.continuum_run.gather_solid: vertex coordinates and displacements (mm), tetrahedra,
a part tag and the von Mises stress (MPa) per cell. PyVista draws the solid only; the
header, captions and colour bars are laid out by matplotlib at the written size
(postprocess.layout), so no text is cut.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyvista as pv

from postprocess.layout import Panel, compose_picture, plan_layout
from postprocess.render import auto_magnification
from postprocess.scales import ColourScale, utilisation_scale

STRESS_CMAP = "turbo"
STEEL_KINDS = ("wire", "clamp", "ring", "rod", "half_pin", "post")
NEUTRAL = "#c8c8c8"  # parts without a known yield (regenerate tissue)


def solid_part_yields_MPa(scenario: dict, parts: dict[str, tuple[str, int]]) -> dict[int, float]:
    """Yield (strength for bone) in MPa of each part tag of the solid, from the resolved
    scenario's materials; clamp posts are stainless steel; the gap and the regenerate
    (tissue, no yield) are left out."""
    from sim.materials import ALIASES, MATERIALS, material

    by_name: dict[str, str] = {}
    for key in ("rings", "rods", "wires", "half_pins", "pin_clamps", "plates"):
        for item in scenario.get(key) or []:
            if isinstance(item, dict) and "name" in item and "material" in item:
                by_name[item["name"]] = item["material"]
    bone = (scenario.get("bone") or {}).get("material")
    out = {}
    for name, (kind, tag) in parts.items():
        if kind == "bone":
            mat = bone
        elif kind == "cancellous":  # a template's metaphyseal canal (sim.bones)
            mat = (scenario.get("bone") or {}).get("cancellous_material")
        elif kind == "clamp":
            mat = "stainless_steel"
        elif kind == "post":
            mat = by_name.get(name.rsplit("_post", 1)[0])
        else:
            mat = by_name.get(name)
        own = {m.get("name"): m for m in scenario.get("materials") or [] if isinstance(m, dict)}
        if mat in own and isinstance(own[mat].get("yield_stress_MPa"), (int, float)):
            out[int(tag)] = float(own[mat]["yield_stress_MPa"])  # the scenario's own [[materials]]
        elif mat in MATERIALS or mat in ALIASES:  # an alias ("stainless_steel") means what the part's kind uses
            use = kind if kind in ("wire", "half_pin", "ring", "rod", "strut", "post", "clamp") else None
            out[int(tag)] = float(material(mat, use).yield_stress_MPa)
    return out


def _grid(solid: dict, magnification: float, cell_mask: np.ndarray | None = None) -> pv.UnstructuredGrid:
    cells = np.asarray(solid["cells"], dtype=np.int64)
    points = np.asarray(solid["points_mm"], float) + magnification * np.asarray(solid["displacement_mm"], float)
    grid = pv.UnstructuredGrid({pv.CellType.TETRA: cells}, points)
    grid.cell_data["von_mises_MPa"] = np.asarray(solid["von_mises_MPa"], float)
    grid.cell_data["part_tag"] = np.asarray(solid["part_tag"], np.int64)
    if "utilisation_percent" in solid:
        grid.cell_data["utilisation_percent"] = np.asarray(solid["utilisation_percent"], float)
    if cell_mask is not None:
        grid = grid.extract_cells(np.flatnonzero(cell_mask))
    return grid


def render_solid(solid: dict, parts: dict[str, tuple[str, int]], out_png: str | Path, *, title: str = "",
                 magnification: float | None = None,
                 focus: tuple[tuple[float, float, float], tuple[float, float, float], str] | None = None,
                 window_size=(1800, 900), yields_MPa: dict[int, float] | None = None) -> Path:
    """Two panels in one PNG of window_size px.

    Left: the whole construct, deformed (displacements magnified, the factor is written
    on the picture). With yields_MPa (yield or strength per part tag, MPa; see
    solid_part_yields_MPa) every part is coloured by its von Mises stress over its own
    yield in % (the scale of postprocess.scales.utilisation_scale; parts without a yield
    in grey); without, by von Mises stress in MPa up to the 99th percentile of the
    frame's cells (the few cells above it, at the clamps and where the wires enter the
    bone, are drawn in the top colour). Right (with `focus` = (point where a wire enters
    the bone, the wire's direction, label), mm): a close-up of the bone around that wire,
    undeformed, coloured in MPa on its own scale, the wire in grey, so that the stress
    concentration at the hole shows.
    """
    out_png = Path(out_png)
    kind_of_tag = {tag: kind for kind, tag in parts.values()}
    tags = np.asarray(solid["part_tag"])
    kinds = np.array([kind_of_tag.get(int(t), "") for t in tags])
    vm = np.asarray(solid["von_mises_MPa"], float)
    points = np.asarray(solid["points_mm"], float)
    cells = np.asarray(solid["cells"], dtype=np.int64)
    if magnification is None:
        magnification = auto_magnification(points, np.asarray(solid["displacement_mm"], float))
    visible = kinds != "gap"
    if yields_MPa is not None:
        y = np.array([yields_MPa.get(int(t), np.nan) for t in tags], float)
        util = 100.0 * vm / y
        solid = {**solid, "utilisation_percent": util}
        left_scale = utilisation_scale(util[visible & np.isfinite(util)])
        left_array = "utilisation_percent"
        coloured = visible & np.isfinite(util)
    else:
        steel = np.isin(kinds, STEEL_KINDS)
        top = float(np.percentile(vm[steel], 99)) if steel.any() else float(vm.max())
        left_scale = ColourScale(0.0, max(top, 1e-9), STRESS_CMAP, "von Mises stress [MPa] (top colour: "
                                 "99th percentile of the frame and above)")
        left_array = "von_mises_MPa"
        coloured = visible
    left_scale = ColourScale(left_scale.lo, left_scale.hi, STRESS_CMAP, left_scale.label, left_scale.note)
    bars = [left_scale]
    bone_scale = None
    if focus:
        point, direction, label = focus
        centres = points[cells].mean(axis=1)
        near = np.linalg.norm(centres - np.asarray(point, float), axis=1) < 30.0
        bone = near & np.isin(kinds, ("bone", "regenerate"))
        wire = near & (kinds == "wire")
        top = float(np.percentile(vm[bone], 99.5)) if bone.any() else 1.0
        bone_scale = ColourScale(0.0, max(top, 1e-9), STRESS_CMAP, f"bone near {label}: von Mises stress [MPa] "
                                 "(top colour: 99.5th percentile and above)")
        bars.append(bone_scale)
    header = f"{title}\nDeformation × {magnification:g} (left); the bone near the wire undeformed (right)" if focus \
        else f"{title}\nDeformation × {magnification:g}"
    layout = plan_layout(tuple(window_size), header, 2 if focus else 1, len(bars), bar_label_lines=2)
    pw, ph = layout.panel_size

    pv.OFF_SCREEN = True
    plotter = pv.Plotter(shape=(1, 2) if focus else (1, 1), off_screen=True,
                         window_size=(pw * (2 if focus else 1), ph), border=False)
    try:
        plotter.set_background("white")
        plotter.subplot(0, 0)
        plotter.set_background("white")
        surf = _grid(solid, magnification, coloured).extract_surface(algorithm="dataset_surface")
        plotter.add_mesh(surf, scalars=left_array, cmap=STRESS_CMAP, clim=(left_scale.lo, left_scale.hi),
                         show_scalar_bar=False)
        grey = visible & ~coloured
        if grey.any():
            plotter.add_mesh(_grid(solid, magnification, grey).extract_surface(algorithm="dataset_surface"),
                             color=NEUTRAL)
        plotter.view_vector((1.0, 1.3, 0.55), viewup=(0.0, 0.0, 1.0))
        plotter.reset_camera()
        plotter.camera.zoom(1.2)
        captions = ["Oblique view, " + ("stress over yield" if yields_MPa is not None else "von Mises stress")]
        if focus:
            point, direction, label = focus
            p = np.asarray(point, float)
            a = np.asarray(direction, float) / np.linalg.norm(direction)
            plotter.subplot(0, 1)
            plotter.set_background("white")
            plotter.add_mesh(_grid(solid, 0.0, bone).extract_surface(algorithm="dataset_surface"),
                             scalars="von_mises_MPa", cmap=STRESS_CMAP, clim=(bone_scale.lo, bone_scale.hi),
                             show_scalar_bar=False)
            if wire.any():
                plotter.add_mesh(_grid(solid, 0.0, wire).extract_surface(algorithm="dataset_surface"),
                                 color="#9a9a9a")
            side = np.cross((0.0, 0.0, 1.0), a)
            eye = p - 70.0 * a + 35.0 * side + 30.0 * np.array([0.0, 0.0, 1.0])
            plotter.camera.position = tuple(eye)
            plotter.camera.focal_point = tuple(p)
            plotter.camera.up = (0.0, 0.0, 1.0)
            captions.append(f"Bone where {label} enters it (stress concentrates round the hole)")
        image = np.asarray(plotter.screenshot(return_img=True, window_size=(pw * len(captions), ph)))
    finally:
        plotter.close()
    panels = [Panel(image[:, k * pw:(k + 1) * pw, :3].copy(), cap) for k, cap in enumerate(captions)]
    return compose_picture(out_png, layout, panels, bars)
