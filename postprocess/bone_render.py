"""Pictures of bones: the shape both models take from a scenario's [bone] table (sim.bones).

`render_bones` draws bones side by side, each seen from the front (camera on the +y,
anterior, side, z up) and cut open along its mid-plane y = 0: the back half of its outer
surface, the canal's surface, and the cut (cortex ivory, cancellous bone tan, an empty
canal left open). An imported surface is drawn as its triangles; a butterfly fragment
whole, in orange. The picture is laid out
like the frame pictures (postprocess.layout): PyVista draws the bones off-screen,
matplotlib writes the texts. Units: mm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyvista as pv

from postprocess.layout import Label, Panel, compose_picture, plan_layout

pv.OFF_SCREEN = True

CORTEX = "#e8dcc0"  # the frame pictures' bone colour
CANCELLOUS = "#c8a26a"
CANAL = "#8c7b61"


def _surface_polydata(points: np.ndarray, triangles: np.ndarray) -> pv.PolyData:
    faces = np.column_stack([np.full(len(triangles), 3), triangles]).ravel()
    return pv.PolyData(np.asarray(points, float), faces)


def _band(z: np.ndarray, r_a: np.ndarray, r_b: np.ndarray, sign: float, y: float) -> pv.PolyData | None:
    """The strip between radii r_a <= r_b along z in the plane y (x = sign * r), as
    quadrilaterals split into triangles."""
    keep = r_b - r_a > 1e-9
    if not np.any(keep):
        return None
    pts, faces = [], []
    for k in range(len(z) - 1):
        if not (keep[k] or keep[k + 1]):
            continue
        base = len(pts)
        pts += [(sign * r_a[k], y, z[k]), (sign * r_b[k], y, z[k]), (sign * r_b[k + 1], y, z[k + 1]),
                (sign * r_a[k + 1], y, z[k + 1])]
        faces += [3, base, base + 1, base + 2, 3, base, base + 2, base + 3]
    return pv.PolyData(np.array(pts, float), np.array(faces)) if pts else None


def _bone_actors(plotter: pv.Plotter, s) -> None:
    from sim.bones import profile_surface, read_surface

    prof = s.bone_profile()
    z = np.asarray(prof.z_mm)
    if prof.kind == "surface":
        surf = read_surface(s.bone.surface)
        p = surf.points.copy()
        p[:, 2] -= p[:, 2].min()
        outer = _surface_polydata(p, surf.triangles)
        # the levels at which the profile is known: slices, finer than the stations
        z = np.unique(np.concatenate([z, np.linspace(0.0, s.bone.length_mm, 200)]))
        show_edges = True
    else:
        outer = _surface_polydata(*_arrays(profile_surface(prof, 96)))
        z = np.unique(np.concatenate([z, np.linspace(0.0, s.bone.length_mm, 200)]))
        show_edges = False
    radii = np.array([s.bone_radii_mm(float(zz)) for zz in z])
    ro, ri = radii[:, 0], radii[:, 1]
    back = outer.clip(normal=(0.0, 1.0, 0.0), origin=(0.0, 0.0, 0.0), invert=True)
    plotter.add_mesh(back, color=CORTEX, show_edges=show_edges, edge_color="#9a8f78", line_width=0.5,
                     smooth_shading=not show_edges)
    if ri.max() > 0:
        from sim.bones import BoneProfile

        canal = profile_surface(BoneProfile("tube", tuple(z), tuple(np.maximum(ri, 1e-3)), tuple(0 * ri)), 96)
        plotter.add_mesh(_surface_polydata(*_arrays(canal)).clip(normal=(0.0, 1.0, 0.0), origin=(0.0, 0.0, 0.0),
                                                                 invert=True), color=CANAL, smooth_shading=True)
    y = 0.05  # the cut, just in front of the clipped surfaces
    spongy = np.array([prof.cancellous_at(float(zz)) for zz in z])
    for sign in (1.0, -1.0):
        band = _band(z, ri, ro, sign, y)
        if band is not None:
            plotter.add_mesh(band, color=CORTEX, lighting=False)
        core = _band(z, np.zeros_like(ri), np.where(spongy, ri, 0.0), sign, y)
        if core is not None:
            plotter.add_mesh(core, color=CANCELLOUS, lighting=False)


def _butterfly_actor(plotter: pv.Plotter, s) -> None:
    """A butterfly fragment (sim.fracture_geometry) drawn whole, in the frame pictures'
    colour: the prism of cortex it takes (in front of the cut when it is anterior)."""
    from postprocess.render import BUTTERFLY_COLOR, butterfly_wedge
    from sim.fracture_geometry import butterfly_picture

    wedge = butterfly_picture(s)
    if wedge is None:
        return
    z0, z1, side, arc, _ = wedge
    ro, ri = s.bone_radii_mm(0.5 * (z0 + z1))
    plotter.add_mesh(butterfly_wedge(z0, z1, side, arc, ro, ri), color=BUTTERFLY_COLOR, smooth_shading=True)


def _arrays(surface) -> tuple[np.ndarray, np.ndarray]:
    return surface.points, surface.triangles


def render_bones(bones: list[tuple[str, object]], out_png: str | Path, *, header: str = "",
                 window_size=(1800, 1100)) -> Path:
    """One PNG of window_size px: a panel per (caption, Scenario) in `bones`, each bone cut
    open along y = 0 and seen from the front, proximal up, on one scale (mm); the medial and
    lateral sides are labelled from each bone's side (+x is the patient's right). Returns
    the path."""
    out_png = Path(out_png)
    layout = plan_layout(window_size, header, len(bones), 0)
    pw, ph = layout.panel_size
    longest = max(s.bone.length_mm for _, s in bones)
    panels = []
    for caption, s in bones:
        plotter = pv.Plotter(off_screen=True, window_size=(pw, ph))
        plotter.set_background("white")
        _bone_actors(plotter, s)
        _butterfly_actor(plotter, s)
        L = s.bone.length_mm
        plotter.camera.position = (0.0, 4.0 * longest, 0.5 * L)
        plotter.camera.focal_point = (0.0, 0.0, 0.5 * L)
        plotter.camera.up = (0.0, 0.0, 1.0)
        plotter.enable_parallel_projection()
        plotter.camera.parallel_scale = 0.6 * longest
        image = plotter.screenshot(return_img=True)
        plotter.close()
        # seen from the front (+y), the patient's right (+x) is on the viewer's left
        right_words = "lateral" if s.limb_side == "right" else "medial"
        left_words = "medial" if s.limb_side == "right" else "lateral"
        labels = [Label(0.08 * pw, 0.5 * ph, f"{right_words} (+x)"), Label(0.74 * pw, 0.5 * ph, left_words),
                  Label(0.36 * pw, 0.02 * ph, "proximal"), Label(0.36 * pw, 0.95 * ph, "distal")]
        panels.append(Panel(image, caption, labels))
    return compose_picture(out_png, layout, panels)
