"""One geometry, two models, one check (issue 19, item 7): the frame model's line network
and the continuum model's solid place every part alike, and `ilizarov validate` refuses,
with exit 2 and the field named, what either builder cannot build, before any meshing."""

import dataclasses
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from sim.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "continuum-small.toml"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, timeout=1200)


def _small(**changes):
    """The small continuum frame (two rings, a 160 mm bone), validated, with `changes`
    made afterwards without validation (what the Python API accepts as a Scenario)."""
    s = parse_scenario(tomllib.loads(SMALL.read_text()))
    return dataclasses.replace(s, **changes)


def _unequal_rings(s, proximal_inner_mm=180.0, centre=(0.0, 0.0)):
    rings = (s.rings[0], dataclasses.replace(s.rings[1], inner_diameter_mm=proximal_inner_mm, centre_xy_mm=centre))
    return dataclasses.replace(s, rings=rings)


# ----------------------------------------------------------------------------- 1. rods
def _frame_rod_points(s, rod):
    """The frame model's nodes of a rod (meshes.frame_network.plan_network), by level."""
    from meshes.frame_network import plan_network

    plan = plan_network(s)
    tag = plan.part(rod.name).tag
    idx = {i for p0, p1, t, _ in plan.lines if t == tag for i in (p0, p1)}
    levels = {r.level_mm for r in s.rings}
    return sorted((plan.points[i] for i in idx if any(abs(plan.points[i][2] - z) < 1e-9 for z in levels)),
                  key=lambda p: p[2])


def _solid_rod_sections(s, rod):
    """The centre and area of the continuum builder's rod (meshes.continuum._rod_solid)
    cut by each ring's mid-plane, and its volume within each ring's thickness; OpenCASCADE
    only, no meshing."""
    from meshes.continuum import _rod_solid
    from meshes.gmsh_session import gmsh_model

    out = []
    with gmsh_model(MPI.COMM_SELF, "rod") as gmsh:
        occ = gmsh.model.occ
        vol = _rod_solid(occ, s, rod)
        for r in s.rod_rings(rod):
            z0 = r.level_mm - r.thickness_mm / 2
            slab = occ.addBox(-1000, -1000, z0, 2000, 2000, r.thickness_mm)
            thin = occ.addBox(-1000, -1000, r.level_mm - 0.005, 2000, 2000, 0.01)
            inside, _ = occ.intersect([(3, vol)], [(3, slab)], removeObject=False)
            section, _ = occ.intersect([(3, vol)], [(3, thin)], removeObject=False)
            occ.synchronize()
            centre = occ.getCenterOfMass(3, section[0][1])
            out.append((centre, occ.getMass(3, section[0][1]) / 0.01, occ.getMass(3, inside[0][1])))
        occ.synchronize()
        total = occ.getMass(3, vol)
    return out, total


@pytest.mark.parametrize("inner, centre", [(180.0, (0.0, 0.0)), (160.0, (6.0, -4.0)), (160.0, (0.0, 0.0))])
def test_both_models_place_a_rod_on_the_same_points(inner, centre):
    """A rod between rings of 160 and 180 mm (or off-centre rings) leans in the frame
    model; the solid's rod runs through the very same points at each ring's mid-plane,
    through each ring's whole thickness, and ends flush with the outer faces."""
    from meshes.continuum import rod_axis_points

    s = _unequal_rings(_small(), inner, centre)
    for rod in s.rods:
        frame = _frame_rod_points(s, rod)
        expected = rod_axis_points(s, rod)
        assert np.allclose(frame, expected, atol=1e-9), (rod.name, frame, expected)
        sections, total = _solid_rod_sections(s, rod)
        (x0, y0, z0), (x1, y1, z1) = expected
        slope = math.hypot(x1 - x0, y1 - y0) / (z1 - z0)
        area = math.pi * rod.diameter_mm ** 2 / 4
        for (centre_xyz, section_area, volume), point, ring in zip(sections, expected, s.rod_rings(rod)):
            assert np.allclose(centre_xyz, point, atol=1e-3), (rod.name, centre_xyz, point)
            # an inclined cylinder's horizontal section is an ellipse of area A / cos(theta)
            assert section_area == pytest.approx(area * math.hypot(1.0, slope), rel=1e-3)
            assert volume == pytest.approx(section_area * ring.thickness_mm, rel=1e-3)
        # flat ends flush with the outer rings' outer faces: the volume is the section times that height
        r0, r1 = s.rod_rings(rod)[0], s.rod_rings(rod)[-1]
        height = r1.level_mm + r1.thickness_mm / 2 - (r0.level_mm - r0.thickness_mm / 2)
        assert total == pytest.approx(area * math.hypot(1.0, slope) * height, rel=1e-3)
    if inner != 160.0 or centre != (0.0, 0.0):
        lateral = s.rods[0]  # at 0 deg: 88 mm on the distal ring, 98 mm (or 94 mm) on the proximal one
        (x0, _, _), (x1, _, _) = rod_axis_points(s, lateral)
        assert x1 - x0 == pytest.approx(inner / 2 - 80.0 + centre[0])


def test_a_rod_through_three_rings_of_different_sizes_meets_each():
    """A rod joining three rings whose points do not lie on one line: each span is placed
    between its two rings' points, and the fused rod passes every ring at its point."""
    s = _small()
    middle = dataclasses.replace(s.rings[0], name="ring_mid", level_mm=80.0, inner_diameter_mm=200.0)
    s = dataclasses.replace(s, rings=(s.rings[0], middle, dataclasses.replace(s.rings[1], inner_diameter_mm=180.0)))
    from meshes.continuum import rod_axis_points

    rod = s.rods[0]
    expected = rod_axis_points(s, rod)
    assert [round(p[0], 6) for p in expected] == [88.0, 108.0, 98.0]
    assert np.allclose(_frame_rod_points(s, rod), expected, atol=1e-9)
    sections, _ = _solid_rod_sections(s, rod)
    for (centre_xyz, _, volume), point in zip(sections, expected):
        assert volume > 0.9 * math.pi * rod.diameter_mm ** 2 / 4 * 6.0
    # the outer rings are each crossed by one span: their sections are centred on the points
    for k in (0, 2):
        assert np.allclose(sections[k][0], expected[k], atol=1e-3)


@pytest.mark.slow
def test_a_frame_of_160_and_180_mm_rings_solves_with_the_continuum_model():
    """The small frame with its proximal ring 180 mm across (the rods lean from 88 to
    98 mm off the axis): the solid meshes, the pretension and an axial load solve, and
    every ring moves by a small, finite amount (a ring no rod met would float: a singular
    system or a huge displacement)."""
    import sim.fenicsx  # noqa: F401
    from dolfinx import fem

    from sim.continuum_run import solve_continuum

    s = _unequal_rings(_small())
    s = dataclasses.replace(s, loads=dataclasses.replace(s.loads, cases=("axial",), axial=dataclasses.replace(
        s.loads.axial, steps=2)), continuum=dataclasses.replace(s.continuum, write_fields=False))
    run = solve_continuum(s, MPI.COMM_SELF)
    axial = run.results["load_cases"]["axial"]
    assert 0 < axial["secant_stiffness_N_per_mm"] < 1e5
    frame = run.frame
    V = frame.prob.V
    u = frame.prob.u.x.array.reshape(-1, 3)
    for ring in s.rings:
        kind, tag = frame.solid.parts[ring.name]
        assert kind == "ring"
        dofs = fem.locate_dofs_topological(V, 3, frame.solid.cell_tags.find(tag))
        moved = np.linalg.norm(u[dofs], axis=1)
        assert np.all(np.isfinite(moved)) and 0 < moved.max() < 2.0, (ring.name, moved.max())
    for rod in s.rods:
        assert frame.solid.parts[rod.name][0] == "rod"


# ------------------------------------------------------------------- refused by validate
def _wire_block(name, ring, angle, face="top", offset=0.0, diameter=1.8, extra=""):
    return (f'\n[[wires]]\nname = "{name}"\nring = "{ring}"\nangle_deg = {angle}\ntension_kgf = 90\n'
            f'face = "{face}"\noffset_mm = {offset}\ndiameter_mm = {diameter}\n{extra}')


def _file(tmp_path, wires=None, pins="", rings=None):
    """The small continuum frame with these wires (default: two crossed wires per ring)
    and half pins, as a scenario file."""
    wires = wires if wires is not None else [("d1", "ring_distal", 45), ("d2", "ring_distal", 135, "bottom"),
                                             ("p1", "ring_proximal", 45), ("p2", "ring_proximal", 135, "bottom")]
    text = SMALL.read_text()
    if rings:
        for old, new in rings:
            text = text.replace(old, new)
    text += "".join(_wire_block(*w) if isinstance(w, tuple) else w for w in wires) + pins
    path = tmp_path / "frame.toml"
    path.write_text(text)
    return path


def _refused(tmp_path, path, *words):
    """`ilizarov validate` exits 2 naming the field and the accepted range; `ilizarov run`
    (either model) exits 2 too and writes nothing."""
    proc = _cli("validate", str(path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for w in words:
        assert w in proc.stderr, (w, proc.stderr)
    for model in ("frame", "continuum"):
        out = tmp_path / f"out-{model}"
        proc = _cli("run", str(path), "--out", str(out), "--model", model)
        assert proc.returncode == 2 and words[0] in proc.stderr, proc.stderr
        assert "continuum mesh" not in proc.stdout and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    return proc.stderr


def test_a_wire_grazing_the_cortex_is_refused(tmp_path):
    """A 1.8 mm wire 11.0 mm off the axis of a 24 mm bone passes 0.1 mm under the bone's
    surface: accepted before (the continuum model meshed slivers there); now refused:
    at least one wire diameter of bone between the wire and the surface."""
    wires = [("d1", "ring_distal", 45), ("d2", "ring_distal", 135, "bottom", 11.0),
             ("p1", "ring_proximal", 45), ("p2", "ring_proximal", 135, "bottom")]
    _refused(tmp_path, _file(tmp_path, wires), "wires[1].offset_mm", "11 mm: the 1.8 mm wire grazes the cortex",
             "0.10 mm under the bone's surface", "accepted: |offset| <= 9.3 mm",
             "at least one wire diameter (1.8 mm) of bone")
    data = tomllib.loads(SMALL.read_text())
    data["wires"] = [{"name": n, "ring": r, "angle_deg": a, "face": f, "offset_mm": o} for n, r, a, f, o in (
        ("d1", "ring_distal", 45, "top", 0.0), ("d2", "ring_distal", 135, "bottom", 9.3),
        ("p1", "ring_proximal", 45, "top", -9.3), ("p2", "ring_proximal", 135, "bottom", 0.0))]
    parse_scenario(data)  # the limit itself is accepted
    from sim.scenario import ScenarioError

    for offset, words in ((9.31, "grazes the cortex"), (-10.0, "grazes the cortex"),
                          (11.1, "misses the bone (outer radius 12 mm); accepted: |offset| <= 9.3 mm")):
        data["wires"][1]["offset_mm"] = offset
        with pytest.raises(ScenarioError) as err:
            parse_scenario(data)
        assert err.value.field == "wires[1].offset_mm" and words in str(err.value)
    # a transfixion pin too thick for the bone at any offset: the diameter is named
    data["wires"][1].update(offset_mm=0.0, diameter_mm=6.0, transfixion_pin=True)
    data["wires"][2]["offset_mm"] = 0.0
    data["bone"] = {"length_mm": 160, "outer_diameter_mm": 16, "inner_diameter_mm": 8}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == "wires[1].diameter_mm"
    assert "accepted: a wire of at most 5.33 mm through this bone" in str(err.value)


def test_wires_crossing_on_one_face_of_a_ring_are_refused(tmp_path):
    """Two wires crossing on the top face lie at one height and would run through each
    other (the frame model let them pass, the solid bonded them)."""
    wires = [("d1", "ring_distal", 45), ("d2", "ring_distal", 135),
             ("p1", "ring_proximal", 45), ("p2", "ring_proximal", 135, "bottom")]
    _refused(tmp_path, _file(tmp_path, wires), "wires[1].face", "wire 'd2' crosses wire 'd1' on the top face of "
             "ring 'ring_distal'", "both lie at z = 44.4 mm", "accepted: crossing wires on opposite faces of the "
             "ring (face = 'bottom' for one of them)")
    # parallel wires on one face do not cross (and two clear of each other are accepted)
    data = tomllib.loads(SMALL.read_text())
    data["wires"] = [{"name": n, "ring": r, "angle_deg": a, "face": f, "offset_mm": o} for n, r, a, f, o in (
        ("d1", "ring_distal", 45, "top", 0.0), ("d2", "ring_distal", 225, "top", 5.0),
        ("d3", "ring_distal", 135, "bottom", 0.0), ("p1", "ring_proximal", 45, "top", 0.0),
        ("p2", "ring_proximal", 135, "bottom", 0.0))]
    parse_scenario(data)


def test_a_half_pin_crossing_a_wire_is_refused(tmp_path):
    """A half pin 4.5 mm above the distal ring runs through the wire on its top face
    (z = 44.4 mm: the face, the wire's radius and sim.geometry.WIRE_CLEARANCE_MM); 8.3 mm
    above it clears the wire by their radii."""
    pin = ('\n[[half_pins]]\nname = "pin"\nring = "ring_distal"\nangle_deg = 100\npost_height_mm = {h}\n'
           'diameter_mm = 6\n')
    _refused(tmp_path, _file(tmp_path, pins=pin.format(h=4.5)), "half_pins[0].post_height_mm",
             "half pin 'pin' at z = 44.5 mm crosses wire 'd1' at z = 44.4 mm",
             "accepted: a post height that puts the pin at least 3.9 mm (their radii) above or below the wire",
             "post_height_mm = 8.3")
    data = tomllib.loads(SMALL.read_text())
    data["half_pins"] = [{"name": "pin", "ring": "ring_distal", "angle_deg": 100, "post_height_mm": 8.3}]
    parse_scenario(data)


# ------------------------------------------------------------------ 3. rings too small to mesh
def test_a_ring_too_narrow_for_its_rods_and_clamps_is_refused(tmp_path):
    """An 8 mm wire clamp on an 8 mm ring stopped the continuum model's mesher (the clamp's
    edges flush with the ring's); a 5 mm ring, 2 mm thick, under 6 mm rods crashed the
    mesh's distribution. Everything standing in a ring keeps 1 mm of ring either side."""
    narrow = [(f'level_mm = {z}\n', f'level_mm = {z}\nwidth_mm = 7\n') for z in (40, 120)]
    _refused(tmp_path, _file(tmp_path, rings=narrow), "rings[0].width_mm", "7 mm is too narrow for rod 'rod_lateral', "
             "6 mm across, standing in ring 'ring_distal'", "accepted: at least 8 mm (1 mm of ring either side of it",
             "or a thinner rod")
    from sim.scenario import ScenarioError

    data = tomllib.loads(SMALL.read_text())
    for ring in data["rings"]:
        ring["width_mm"] = 8.0
    parse_scenario(data)  # 6 mm rods in an 8 mm ring: accepted (its clamps are narrowed to fit)
    data["half_pins"] = [{"name": "pin", "ring": "ring_distal", "angle_deg": 100, "post_height_mm": 20}]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == "rings[0].width_mm" and "the post of half pin 'pin', 12 mm across" in str(err.value)
    assert "at least 14 mm" in str(err.value) and "a thinner post (post_diameter_mm)" in str(err.value)


def test_parts_whose_edges_touch_on_a_ring_are_refused(tmp_path):
    """A wire at 4.56 deg puts its 8 mm clamp 7 mm from the 6 mm lateral rod's axis (their
    edges touch): the mesher stopped ("overlapping facets"); so it did 1 mm from it
    (0.65 deg). A clamp on the rod's axis, or clear of it, is built."""
    wires = [("d1", "ring_distal", 4.5588), ("d2", "ring_distal", 94.5588, "bottom"),
             ("p1", "ring_proximal", 45), ("p2", "ring_proximal", 135, "bottom")]
    _refused(tmp_path, _file(tmp_path, wires), "wires[0].angle_deg", "a clamp of wire 'd1' (8 mm across) and rod "
             "'rod_lateral' (6 mm) on ring 'ring_distal' have their axes 7.00 mm apart, so their edges touch",
             "accepted: axes at least 8 mm apart (their radii + 1 mm)")
    from sim.scenario import ScenarioError

    data = tomllib.loads(SMALL.read_text())
    data["wires"] = [{"name": n, "ring": r, "angle_deg": a, "face": f} for n, r, a, f in (
        ("d1", "ring_distal", 0.651, "top"), ("d2", "ring_distal", 90.651, "bottom"),
        ("p1", "ring_proximal", 45, "top"), ("p2", "ring_proximal", 135, "bottom"))]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == "wires[0].angle_deg" and "axes 1.00 mm apart" in str(err.value)
    for angle in (0.0, 5.22):  # on the rod's axis; 8.0 mm from it
        data["wires"][0]["angle_deg"], data["wires"][1]["angle_deg"] = angle, angle + 90.0
        parse_scenario(data)


@pytest.mark.slow
def test_the_narrowest_ring_and_closest_clamp_accepted_are_meshed():
    """An 8 mm ring under 6 mm rods (its clamps narrowed to 6 mm), one clamp 8 mm from a
    rod's axis: the solid is built and meshed (no sliver flatter than the small frame's
    usual worst, quality 6*sqrt(2)*V/l_max^3 > 0.005)."""
    import sim.fenicsx  # noqa: F401

    from meshes.continuum import build_frame_solid

    data = tomllib.loads(SMALL.read_text())
    for ring in data["rings"]:
        ring["width_mm"] = 8.0
    data["wires"] = [{"name": n, "ring": r, "angle_deg": a, "face": f} for n, r, a, f in (
        ("d1", "ring_distal", 45, "top"), ("d2", "ring_distal", 135, "bottom"),
        ("p1", "ring_proximal", 5.22, "top"), ("p2", "ring_proximal", 95.22, "bottom"))]
    s = parse_scenario(data)
    solid = build_frame_solid(s, MPI.COMM_SELF, size_mm=12.0, wire_size_mm=1.8, order=1)
    x = solid.mesh.geometry.x[solid.mesh.geometry.dofmaps[0][:, :4]]
    edges = [x[:, j] - x[:, i] for i, j in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))]
    volume = np.abs(np.einsum("ij,ij->i", edges[0], np.cross(edges[1], edges[2]))) / 6
    longest = np.max([np.linalg.norm(e, axis=1) for e in edges], axis=0)
    assert (6 * np.sqrt(2) * volume / longest ** 3).min() > 0.005
    assert {f"{w}_clamp{k}" for w in ("d1", "d2") for k in (1, 2)} <= set(solid.parts)


def test_validate_says_which_models_can_run_the_scenario():
    r = _cli("validate", str(SMALL))
    assert r.returncode == 0 and "models: the frame model (run) and the continuum model (run --model continuum) " \
                                 "can run it" in r.stdout
    r = _cli("validate", str(ROOT / "scenarios" / "frame-only.toml"))
    assert r.returncode == 0 and "models: the frame model (run) can run it; the continuum model cannot " \
                                 "(loads.setup: the continuum model runs the bone bench" in r.stdout
