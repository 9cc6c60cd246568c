"""Pictures of the continuum model: the deformed solid coloured by von Mises stress.

Pure rendering (PyVista, off-screen) of the data gathered by
sim.continuum_run.gather_solid: vertex coordinates and displacements (mm), tetrahedra,
a part tag and the von Mises stress (MPa) per cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyvista as pv

from postprocess.render import auto_magnification

STRESS_CMAP = "turbo"
STEEL_KINDS = ("wire", "clamp", "ring", "rod", "half_pin", "post")


def _grid(solid: dict, magnification: float, cell_mask: np.ndarray | None = None) -> pv.UnstructuredGrid:
    cells = np.asarray(solid["cells"], dtype=np.int64)
    points = np.asarray(solid["points_mm"], float) + magnification * np.asarray(solid["displacement_mm"], float)
    grid = pv.UnstructuredGrid({pv.CellType.TETRA: cells}, points)
    grid.cell_data["von_mises_MPa"] = np.asarray(solid["von_mises_MPa"], float)
    grid.cell_data["part_tag"] = np.asarray(solid["part_tag"], np.int64)
    if cell_mask is not None:
        grid = grid.extract_cells(np.flatnonzero(cell_mask))
    return grid


def render_solid(solid: dict, parts: dict[str, tuple[str, int]], out_png: str | Path, *, title: str = "",
                 magnification: float | None = None,
                 focus: tuple[tuple[float, float, float], tuple[float, float, float], str] | None = None,
                 window_size=(1800, 900)) -> Path:
    """Two panels in one PNG.

    Left: the whole construct, deformed (displacements magnified, the factor is written
    on the picture), coloured by von Mises stress on a scale up to the 99th percentile
    of the frame's cells (the few cells above it, at the clamps and where the wires
    enter the bone, are drawn in the top colour). Right (with `focus` = (point where a
    wire enters the bone, the wire's direction, label), mm): a close-up of the bone
    around that wire, undeformed, coloured on its own scale, the wire in grey, so that
    the stress concentration at the hole shows.
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
    steel = np.isin(kinds, STEEL_KINDS)
    clim_frame = (0.0, float(np.percentile(vm[steel], 99)) if steel.any() else float(vm.max()))
    bar = {"color": "black", "vertical": True, "position_x": 0.84, "position_y": 0.15, "height": 0.6,
           "fmt": "%.0f", "title_font_size": 16, "label_font_size": 14}

    pv.OFF_SCREEN = True
    plotter = pv.Plotter(shape=(1, 2) if focus else (1, 1), off_screen=True,
                         window_size=window_size if focus else (window_size[0] // 2, window_size[1]), border=False)
    plotter.set_background("white")
    plotter.subplot(0, 0)
    surf = _grid(solid, magnification, visible).extract_surface(algorithm="dataset_surface")
    plotter.add_mesh(surf, scalars="von_mises_MPa", cmap=STRESS_CMAP, clim=clim_frame,
                     scalar_bar_args={"title": "von Mises (MPa)", **bar})
    plotter.add_text(f"{title}\nDeformation x{magnification:g}", position="upper_left", font_size=11, color="black")
    plotter.view_vector((1.0, 1.3, 0.55), viewup=(0.0, 0.0, 1.0))
    plotter.reset_camera()
    plotter.camera.zoom(1.2)

    if focus:
        point, direction, label = focus
        p = np.asarray(point, float)
        a = np.asarray(direction, float) / np.linalg.norm(direction)
        centres = points[cells].mean(axis=1)
        near = np.linalg.norm(centres - p, axis=1) < 30.0
        plotter.subplot(0, 1)
        bone = near & np.isin(kinds, ("bone", "regenerate"))
        wire = near & (kinds == "wire")
        bone_grid = _grid(solid, 0.0, bone).extract_surface(algorithm="dataset_surface")
        clim_bone = (0.0, float(np.percentile(vm[bone], 99.5))) if bone.any() else (0.0, 1.0)
        plotter.add_mesh(bone_grid, scalars="von_mises_MPa", cmap=STRESS_CMAP, clim=clim_bone,
                         scalar_bar_args={"title": "bone von Mises (MPa)", **bar})
        if wire.any():
            plotter.add_mesh(_grid(solid, 0.0, wire).extract_surface(algorithm="dataset_surface"), color="#9a9a9a")
        plotter.add_text(f"Bone where {label} enters it\n(stress concentrates round the hole)",
                         position="upper_left", font_size=11, color="black")
        side = np.cross((0.0, 0.0, 1.0), a)
        eye = p - 70.0 * a + 35.0 * side + 30.0 * np.array([0.0, 0.0, 1.0])
        plotter.camera.position = tuple(eye)
        plotter.camera.focal_point = tuple(p)
        plotter.camera.up = (0.0, 0.0, 1.0)
    plotter.screenshot(str(out_png))
    plotter.close()
    return out_png
