"""The off-screen renderer on a small synthetic frame: a picture is written, it has the
requested size, it is not blank, and the wires are coloured from the data range."""

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.image import imread

from postprocess.render import WIRE_CMAP, auto_magnification, render_frame

WINDOW = (800, 500)
BONE, RING, WIRE_LOW, WIRE_HIGH, ROD, LINK = 1, 2, 3, 4, 5, 6
PARTS = {
    BONE: ("tibia", "BONE"),
    RING: ("ring_1", "RING"),
    WIRE_LOW: ("wire_a", "WIRE"),
    WIRE_HIGH: ("wire_b", "WIRE"),
    ROD: ("rod_1", "ROD"),
    LINK: ("wire_b_bone_link", "WIRE_BONE_LINK"),
}


def synthetic_frame() -> dict:
    """Ring (64 segments, r = 88 mm, z = 100), wires of 500 N and 1000 N across it,
    a bone along z from 0 to 360 and one rod from the ring upwards."""
    points, cells, tags, axial = [], [], [], []

    def add_points(xyz):
        start = len(points)
        points.extend(np.atleast_2d(xyz).tolist())
        return list(range(start, len(points)))

    def add_polyline(ids, tag, force=0.0):
        for a, b in zip(ids[:-1], ids[1:]):
            cells.append((a, b))
            tags.append(tag)
            axial.append(force)

    theta = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
    ring = add_points(np.column_stack([88 * np.cos(theta), 88 * np.sin(theta), np.full(64, 100.0)]))
    add_polyline(ring + ring[:1], RING)

    s = np.linspace(-88.0, 88.0, 9)[:, None]
    for tag, force, direction in ((WIRE_LOW, 500.0, (1.0, 0.0)), (WIRE_HIGH, 1000.0, (-0.6, 0.8))):
        xyz = np.hstack([s * np.array(direction), np.full((9, 1), 102.0 if tag == WIRE_HIGH else 98.0)])
        add_polyline(add_points(xyz), tag, force)

    bone = add_points(np.column_stack([np.zeros(37), np.zeros(37), np.linspace(0.0, 360.0, 37)]))
    add_polyline(bone, BONE, -200.0)
    add_polyline([bone[10], add_points([0.0, 0.0, 100.0])[0]], LINK)  # zero-length: must not break

    rod = add_points([[88.0, 0.0, 100.0], [88.0, 0.0, 250.0]])
    add_polyline([ring[0], rod[1]], ROD, 150.0)

    points = np.asarray(points)
    displacement = np.zeros_like(points)
    displacement[:, 2] = -0.5 * points[:, 2] / 360.0
    displacement[:, 0] = 0.2 * np.sin(np.pi * points[:, 2] / 360.0)
    forces = np.zeros((len(cells), 6))
    forces[:, 0] = axial
    return {
        "points_mm": points,
        "displacement_mm": displacement,
        "cells": np.asarray(cells, dtype=np.int64),
        "part_tag": np.asarray(tags, dtype=np.int32),
        "section_forces": forces,
    }


def _rgb(path):
    image = imread(path)
    rgb = image[..., :3]
    return (rgb * 255).round().astype(int) if rgb.dtype.kind == "f" else rgb.astype(int)


def _pixels_near(rgb, color, tol=40):
    return int(np.count_nonzero(np.linalg.norm(rgb - np.asarray(color), axis=-1) < tol))


@pytest.fixture(scope="module")
def frame():
    return synthetic_frame()


def test_auto_magnification_is_a_nice_number():
    points = np.array([[0.0, 0.0, 0.0], [180.0, 180.0, 360.0]])  # diagonal 441 mm
    u = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.9]])  # 4 % of 441 mm / 0.9 mm = 19.6
    assert auto_magnification(points, u) == 20
    assert auto_magnification(points, u * 100) == 1  # never below 1
    assert auto_magnification(points, 0 * u) == 1
    assert auto_magnification(points, u / 100) == 2000


def test_render_frame_writes_a_picture_coloured_by_wire_tension(frame, tmp_path):
    out = render_frame(frame, PARTS, tmp_path / "sub" / "frame.png", title="Synthetic frame",
                       window_size=WINDOW)
    assert out.exists() and out.suffix == ".png"
    rgb = _rgb(out)
    assert rgb.shape[:2] == (WINDOW[1], WINDOW[0])

    # not blank: white background, but many colours from the shaded tubes
    white = np.all(rgb >= 250, axis=-1)
    assert 0.3 < white.mean() < 0.99
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 500

    # The range comes from the wires (500 .. 1000 N): the 1000 N wire takes the top colour
    # of the colormap. The colour bar (right view only) shows that colour too, so count in
    # the oblique (left) view, and compare with a range that puts both wires far below it.
    top = np.array(colormaps[WIRE_CMAP](1.0)[:3]) * 255
    left = slice(0, WINDOW[0] // 2)
    near_top = _pixels_near(rgb[:, left], top)
    wide = _rgb(render_frame(frame, PARTS, tmp_path / "wide.png", window_size=WINDOW,
                             wire_tension_range_N=(0.0, 5000.0), magnification=20))
    assert near_top > 50, near_top
    assert _pixels_near(wide[:, left], top) < 5
    assert _pixels_near(wide, top) > 50  # the colour bar still has its top colour


def test_render_colours_parts_by_von_mises_stress(frame, tmp_path):
    """With colour_by_stress, the most stressed ring takes the top colour of the stress
    colormap (only in the oblique view, where its colour bar also is); a wider range
    takes it away."""
    from postprocess.render import STRESS_CMAP

    vm = np.zeros(len(frame["cells"]))
    vm[frame["part_tag"] == RING] = 300.0
    vm[frame["part_tag"] == BONE] = 10.0
    data = {**frame, "von_mises_MPa": vm}
    top = np.array(colormaps[STRESS_CMAP](1.0)[:3]) * 255
    right = slice(WINDOW[0] // 2, WINDOW[0])
    hot = _rgb(render_frame(data, PARTS, tmp_path / "hot.png", window_size=WINDOW, colour_by_stress=True))
    cool = _rgb(render_frame(data, PARTS, tmp_path / "cool.png", window_size=WINDOW, colour_by_stress=True,
                             stress_range_MPa=(0.0, 3000.0)))
    assert _pixels_near(hot[:, right], top) > 50
    assert _pixels_near(cool[:, right], top) < 5


def test_render_close_up_labels_and_arrows(frame, tmp_path):
    wide = _rgb(render_frame(frame, PARTS, tmp_path / "wide.png", window_size=WINDOW, views=("anterior",)))
    close = _rgb(render_frame(frame, PARTS, tmp_path / "close.png", window_size=WINDOW, views=("anterior",),
                              focus=((0.0, 0.0, 100.0), 15.0),
                              labels=[((0.0, 0.0, 100.0), "ring")], arrows=[((0.0, 0.0, 420.0), (0, 0, -50), "load")]))
    # zoomed on 30 mm of the model, the parts fill most of the view (the middle of the
    # picture, between the header and the colour bar)
    middle = (slice(WINDOW[1] // 4, 3 * WINDOW[1] // 4), slice(WINDOW[0] // 8, 7 * WINDOW[0] // 8))
    filled_close = np.mean(np.any(close[middle] < 245, axis=-1))
    filled_wide = np.mean(np.any(wide[middle] < 245, axis=-1))
    assert filled_close > 0.6 and filled_close > 3 * filled_wide
    arrow = _rgb(render_frame(frame, PARTS, tmp_path / "arrow.png", window_size=WINDOW, views=("anterior",),
                              arrows=[((0.0, 0.0, 420.0), (0, 0, -50), "1000 N")]))
    def reddish(rgb):
        return int(np.count_nonzero((rgb[..., 0] > 140) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)))

    assert reddish(arrow) > 30 and reddish(wide) < 5  # the red load arrow


def test_hexapod_struts_are_drawn_in_their_prescription_colours(frame, tmp_path):
    """frames.png (postprocess.hexapod_report.render_stages): strut k in PLOT_COLOURS[k - 1],
    red for strut 1 and blue for strut 5 here, not the struts' golden kind colour."""
    from postprocess.hexapod_report import render_stages
    from postprocess.prescription import PLOT_COLOURS

    points = np.vstack([frame["points_mm"], [[60.0, -60.0, 100.0], [60.0, 60.0, 250.0],
                                             [-60.0, 60.0, 100.0], [-60.0, -60.0, 250.0]]])
    n = len(frame["points_mm"])
    data = {**frame, "points_mm": points, "displacement_mm": np.zeros_like(points),
            "cells": np.vstack([frame["cells"], [[n, n + 1], [n + 2, n + 3]]]),
            "part_tag": np.concatenate([frame["part_tag"], [7, 8]]),
            "section_forces": np.vstack([frame["section_forces"], np.zeros((2, 6))])}
    parts = {**PARTS, 7: ("strut1", "STRUT"), 8: ("strut5", "STRUT")}
    rgb = _rgb(render_stages({"day 0": data}, {"day 0": parts}, tmp_path / "frames.png", "hexapod"))
    for k in (1, 5):
        colour = np.array([int(PLOT_COLOURS[k - 1][i:i + 2], 16) for i in (1, 3, 5)])
        assert _pixels_near(rgb, colour, tol=30) > 50, k  # none before (golden struts)


def test_the_bone_is_drawn_with_its_radius_along_it():
    """A bone whose radius varies (a template's metaphysis, a hindfoot block) is drawn with
    the radius of each level (bone_radius_mm), not the default 12 mm tube: the tube round a
    bone axis from z = 0 (radius 30 mm) to z = 100 mm (radius 10 mm) is 60 mm across at its
    bottom and 20 mm at its top."""
    from postprocess.render import _tubes

    points = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 50.0], [0.0, 0.0, 100.0]])
    cells = np.array([[0, 1], [1, 2]])
    radius = lambda z: 30.0 - 0.2 * z  # noqa: E731
    tube = _tubes(points, cells, 12.0, 32, join=True, radii=np.array([radius(z) for z in points[:, 2]]))
    for z, r in ((0.0, 30.0), (100.0, 10.0)):
        ring = tube.points[np.abs(tube.points[:, 2] - z) < 1e-6]
        assert np.max(np.hypot(ring[:, 0], ring[:, 1])) == pytest.approx(r, rel=1e-3)
    plain = _tubes(points, cells, 12.0, 32, join=True)
    assert np.max(np.hypot(plain.points[:, 0], plain.points[:, 1])) == pytest.approx(12.0, rel=1e-3)


def test_an_oblique_fracture_is_drawn_on_its_plane():
    """The fracture plane of an oblique gap (Gap.plane_normal) drawn across the bone: every
    point of the disc on the plane through the fragment ends' mean deformed position, its
    rise across the bone 2 x 1.3 r x tan(obliquity)."""
    import math

    from postprocess.render import _fracture_disc, _Prepared
    from sim.scenario import Gap

    gap = Gap(level_mm=100.0, width_mm=1.0, obliquity_deg=30.0, obliquity_axis_deg=90.0)
    n = np.asarray(gap.plane_normal())
    points = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 99.5], [0.0, 0.0, 100.5], [0.0, 0.0, 200.0], [50.0, 0.0, 100.0]])
    moved = points + np.array([1.0, 2.0, -0.5])
    prep = _Prepared(points, moved, np.zeros((0, 2), int), np.zeros(0), np.zeros(0), {}, 1.0, 0.0)
    disc = _fracture_disc(prep, 100.0, n, 12.0)
    centre = np.array([1.0, 2.0, 99.5])
    assert np.max(np.abs((disc.points - centre) @ n)) < 1e-4
    rise = disc.points[:, 2].max() - disc.points[:, 2].min()
    assert rise == pytest.approx(2 * 1.3 * 12.0 * math.tan(math.radians(30.0)), rel=1e-3)


def test_a_part_drawn_at_a_radius_of_its_own(frame, tmp_path):
    """part_radius_mm draws a part thicker than its kind (a telescopic rod's tube): the rod's
    dark grey covers half as many pixels again at 8 mm as at the rods' 3 mm (measured 1.56x: shading)."""
    rod_grey = (0x4d, 0x4d, 0x4d)
    thin = _pixels_near(_rgb(render_frame(frame, PARTS, tmp_path / "thin.png", window_size=WINDOW)), rod_grey, 30)
    thick = _pixels_near(_rgb(render_frame(frame, PARTS, tmp_path / "thick.png", window_size=WINDOW,
                                           part_radius_mm={"rod_1": 8.0})), rod_grey, 30)
    assert thick > 1.4 * thin > 0, (thin, thick)


def test_telescopic_rods_are_drawn_at_their_tubes_radius():
    from sim.run import telescopic_radii_mm
    from sim.scenario import load_scenario

    s = load_scenario("tests/data/continuum-telescopic-small.toml")
    assert telescopic_radii_mm(s) == {f"{r.name}_{piece}": 5.0 for r in s.rods for piece in ("tube", "overlap")}
    assert telescopic_radii_mm(load_scenario("scenarios/standard-4ring.toml")) is None


def test_every_frame_part_of_the_solid_has_its_yield():
    """The continuum picture colours each part by stress over its own yield: the parts named
    by "stainless_steel" (an alias: annealed for rings, rods and clamps, cold-worked for
    wires) get theirs; a part without one would be drawn grey (fresh-user trial)."""
    from postprocess.solid_render import solid_part_yields_MPa
    from sim.materials import material
    from sim.scenario import load_scenario

    s = load_scenario("tests/data/continuum-small.toml").to_dict()
    parts = {"bone_distal": ("bone", 1), "ring_distal": ("ring", 2), "ring_distal_wire1": ("wire", 3),
             "ring_distal_wire1_clamp1": ("clamp", 4), "rod_lateral": ("rod", 5), "gap_contact": ("gap", 6)}
    y = solid_part_yields_MPa(s, parts)
    assert y[2] == material("stainless_steel", "ring").yield_stress_MPa
    assert y[3] == material("stainless_steel", "wire").yield_stress_MPa > y[2]
    assert 4 in y and 5 in y and 6 not in y and y[1] == material("cortical_bone").yield_stress_MPa
