"""Butterfly (wedge) fragments (issue 19, item 5): [gap.butterfly].

A free wedge carries nothing: beside it the main fragments are a tube less the wedge's
sector (an eccentric section about the bone axis in the frame model, a void in the
solid), and they touch across the gap only outside the wedge's arc. Checked here: the
sector's section against closed forms and a quadrature, the contact's fibres, the trends
(an eccentric load over the wedge's side is carried worse than one over the intact
cortex; the butterfly lowers the axial stiffness once the gap has closed; a vanishing
arc gives the transverse fracture back), the solid's void, and the refusals."""

import dataclasses
import math

import numpy as np
import pytest

from meshes.frame_network import build_frame
from sim.elements import contact
from sim.fracture_geometry import points_in_wedge, sector_fraction_outside, wedge_section
from sim.frame_model import FrameModel
from sim.scenario import Butterfly, load_scenario, parse_scenario
from refusals import refused

TWO_RING = "scenarios/two-ring.toml"
RO, RI = 12.0, 6.0


def quadrature(ro, ri, arc_deg, side_deg, n=800):
    """Area, first and second moments of the tube less the sector by a midpoint rule in (r,
    phi) over the cortex that is kept, from the wedge's edge round to its other edge."""
    a, side = math.radians(arc_deg) / 2, math.radians(side_deg)
    dr, dphi = (ro - ri) / n, (2 * math.pi - 2 * a) / (4 * n)
    r = ri + (np.arange(n) + 0.5) * dr
    phi = side + a + (np.arange(4 * n) + 0.5) * dphi
    R, P = np.meshgrid(r, phi)
    da = R * dr * dphi
    x, y = R * np.cos(P), R * np.sin(P)
    return da.sum(), (x * da).sum(), (y * da).sum(), (x * x * da).sum(), (y * y * da).sum(), (x * y * da).sum()


@pytest.mark.parametrize("arc_deg, side_deg", [(120.0, 90.0), (60.0, 30.0), (180.0, -135.0)])
def test_the_sector_section_matches_its_closed_forms(arc_deg, side_deg):
    w = wedge_section(RO, RI, arc_deg, side_deg)
    q = quadrature(RO, RI, arc_deg, side_deg)
    got = (w.area_mm2, w.first_moment_x_mm3, w.first_moment_y_mm3, w.inertia_xx_mm4, w.inertia_yy_mm4,
           w.inertia_xy_mm4)
    scale = (q[0], 2e3, 2e3, q[3], q[4], q[3])
    for g, e, sc in zip(got, q, scale):
        assert abs(g - e) < 2e-4 * sc, (got, q)
    # the centroid lies away from the wedge, on the line of its side: e = -2/3 sin(a)(ro^3 - ri^3) / A
    a = math.radians(arc_deg) / 2
    e = -2 / 3 * math.sin(a) * (RO ** 3 - RI ** 3) / ((math.pi - a) * (RO ** 2 - RI ** 2))
    cx, cy = w.centroid_mm
    assert (cx, cy) == pytest.approx((e * math.cos(math.radians(side_deg)), e * math.sin(math.radians(side_deg))))
    # a half tube (180 deg): the textbook semicircular annulus, I about its centroid parallel to the cut
    if arc_deg == 180.0:
        lo, _ = w.principal_centroidal_mm4()
        ybar = 4 * (RO ** 3 - RI ** 3) / (3 * math.pi * (RO ** 2 - RI ** 2))
        assert lo == pytest.approx(math.pi / 8 * (RO ** 4 - RI ** 4) - w.area_mm2 * ybar ** 2, rel=1e-12)


def test_a_vanishing_arc_is_the_tube():
    w = wedge_section(RO, RI, 0.0, 40.0)
    assert w.area_mm2 == pytest.approx(math.pi * (RO ** 2 - RI ** 2))
    assert w.inertia_xx_mm4 == pytest.approx(math.pi / 4 * (RO ** 4 - RI ** 4))
    assert w.inertia_xy_mm4 == pytest.approx(0.0, abs=1e-9)
    assert w.centroid_mm == pytest.approx((0.0, 0.0), abs=1e-12)
    # the slit tube is open: its torsion constant is the thin open section's, far below the closed tube's
    assert w.torsion_constant_mm4 == pytest.approx(2 * math.pi * 9.0 * 6.0 ** 3 / 3)
    assert w.torsion_constant_mm4 < 0.3 * math.pi / 2 * (RO ** 4 - RI ** 4)


def test_section_moments_in_a_cells_axes_are_invariant():
    w = wedge_section(RO, RI, 100.0, 70.0)
    c, s = math.cos(0.3), math.sin(0.3)
    m = w.in_axes((c, s, 0.0), (-s, c, 0.0))
    assert m["I11"] + m["I22"] == pytest.approx(w.inertia_xx_mm4 + w.inertia_yy_mm4)
    assert math.hypot(m["S1"], m["S2"]) == pytest.approx(math.hypot(w.first_moment_x_mm3, w.first_moment_y_mm3))


@pytest.mark.parametrize("side_deg", [0.0, 135.0])
def test_an_eccentric_cantilever_pulled_on_its_axis_bends(side_deg):
    """A bar whose whole length is the tube less a 120 deg sector, clamped at z = 0 and
    pulled by P at its tip on the bone axis (off its centroid by e): linear closed forms of
    a uniform moment P e about the centroid, tip rotation P e L / (E I_c), tip deflection
    P e L^2 / (2 E I_c) away from the wedge's side (the centroid's side is the concave
    one), and the axis's stretch P L / (E A) + P e^2 L / (E I_c). Checks the beam's
    eccentric couplings (ES1, ES2, EI12) in cells whose axes are turned to the wedge."""
    from sim.scenario import Bone, Gap
    from sim.verification import bone_bench

    length, P = 200.0, 1.0  # small: the tension on the deflected bar (P delta) stays below 1e-3
    model = bone_bench(Bone(length_mm=length), elements=20)
    s = dataclasses.replace(model.scenario, gap=Gap(level_mm=length / 2, width_mm=1.0, butterfly=Butterfly(
        side_deg=side_deg, arc_deg=120.0, length_mm=length + 2.0)),
        loads=dataclasses.replace(model.scenario.loads, setup="bone_bench"))  # a bone, and broken
    model = FrameModel(s, model.frame, supports=model.supports, load_point=model.load_point)
    model.solve_pretension()
    r = model.solve_load(np.array([0.0, 0.0, P, 0.0, 0.0, 0.0]))[-1]
    w = wedge_section(RO, RI, 120.0, side_deg)
    E = s.material(s.bone.material).youngs_modulus_MPa
    a = math.radians(60.0)
    e = 2 / 3 * math.sin(a) * (RO ** 3 - RI ** 3) / w.area_mm2  # |centroid| off the axis
    i_c = (RO ** 4 - RI ** 4) / 4 * (math.pi - (a + math.sin(a) * math.cos(a))) - w.area_mm2 * e ** 2
    side = np.array([math.cos(math.radians(side_deg)), math.sin(math.radians(side_deg))])
    assert r[:2] @ side == pytest.approx(-P * e * length ** 2 / (2 * E * i_c), rel=1e-3)
    assert abs(r[:2] @ np.array([-side[1], side[0]])) < 1e-6 * abs(r[:2] @ side)
    assert r[2] == pytest.approx(P * length / (E * w.area_mm2) + P * e ** 2 * length / (E * i_c), rel=1e-3)
    tilt = np.array([r[4], -r[3]])  # the rotation vector's (y, -x): the direction the tip turns towards
    assert tilt @ side == pytest.approx(-P * e * length / (E * i_c), rel=1e-3)


def test_the_contact_fibres_inside_the_arc_are_removed():
    """The fraction of the contact's area kept is the cortex outside the arc, whatever the
    wedge's side relative to the fibres (16 angles)."""
    angles = contact.fibre_angles_rad()
    half = math.pi / contact.N_ANGLES
    for arc in (20.0, 120.0, 180.0):
        for side in (0.0, 0.1, 0.7, 2.5):
            kept = sector_fraction_outside(angles, half, side, math.radians(arc) / 2)
            assert kept.sum() / contact.N_ANGLES == pytest.approx(1 - arc / 360, rel=1e-12)
            assert ((kept >= 0) & (kept <= 1)).all()
    kept = sector_fraction_outside(angles, half, 0.0, 0.0)
    assert (kept == 1.0).all()


def test_points_in_the_wedge():
    s = parse_scenario({"gap": {"butterfly": {"side_deg": 90.0, "arc_deg": 90.0, "length_mm": 30.0}}})
    p = np.array([[0.0, 10.0, 180.0], [0.0, -10.0, 180.0], [0.0, 10.0, 196.0], [7.0, 7.2, 170.0]])
    assert points_in_wedge(s, p).tolist() == [True, False, False, True]


def frame_axial(butterfly, offset=(0.0, 0.0), force_N=600.0):
    """(secant stiffness N/mm, final tangent stiffness N/mm, gap motion mm) of the two-ring
    frame with a 0.3 mm gap that closes under the load; butterfly: a Butterfly or None
    (set on the validated scenario, so that arcs below the accepted range can be tried)."""
    s = load_scenario(TWO_RING).replace({"gap.width_mm": 0.3, "loads.cases": ["axial"],
                                         "loads.axial.force_N": force_N, "loads.axial.offset_mm": list(offset)})
    s = dataclasses.replace(s, gap=dataclasses.replace(s.gap, butterfly=butterfly))
    model = FrameModel(s, build_frame(s))
    model.solve_pretension()
    r = model.solve_load_case("axial")
    return force_N / abs(r.steps[-1].response), r.final_tangent_stiffness, np.asarray(r.steps[-1].gap_motion_mm)


@pytest.fixture(scope="module")
def cases():
    wedge = Butterfly(side_deg=90.0, arc_deg=120.0, length_mm=30.0)
    return {"transverse": frame_axial(None), "butterfly": frame_axial(wedge),
            "tiny": frame_axial(dataclasses.replace(wedge, arc_deg=1e-4)),
            "over_wedge": frame_axial(wedge, (0.0, 2.0)), "over_cortex": frame_axial(wedge, (0.0, -2.0)),
            "transverse_plus": frame_axial(None, (0.0, 2.0)), "transverse_minus": frame_axial(None, (0.0, -2.0))}


def test_a_butterfly_lowers_the_stiffness_once_the_gap_has_closed(cases):
    """Once the 0.3 mm gap has closed the fragments bear on the cortex outside the arc only,
    off the axis: the construct is less stiff than with the transverse fracture's whole
    annulus in contact, and the fragments tilt (shear at the gap) towards the wedge."""
    _, k_t, g_t = cases["transverse"]
    _, k_b, g_b = cases["butterfly"]
    assert g_t[2] < -0.29 and g_b[2] < -0.29  # closed
    assert k_b < 0.9 * k_t, (k_b, k_t)
    assert abs(g_b[1]) > 10 * abs(g_t[1])


def test_a_vanishing_arc_gives_the_transverse_fracture_back(cases):
    for a, b in zip(cases["tiny"][:2], cases["transverse"][:2]):
        assert a == pytest.approx(b, rel=2e-3)
    assert cases["tiny"][2] == pytest.approx(cases["transverse"][2], abs=2e-3)


def test_an_eccentric_load_over_the_wedge_is_carried_worse(cases):
    """Compression 2 mm off the axis towards the wedge's side bends the fragments towards
    the side where nothing bears (they hinge on the contact's edge); 2 mm towards the
    intact cortex, near the centroid of the contact outside the arc, it bears there at once.
    The transverse fracture is the same both ways (symmetric). Tangent stiffness at 600 N:
    7,900 N/mm over the wedge, 13,200 over the cortex, 13,600 transverse (both ways)."""
    k_over_wedge, k_over_cortex = cases["over_wedge"][1], cases["over_cortex"][1]
    assert k_over_wedge < 0.7 * k_over_cortex, (k_over_wedge, k_over_cortex)
    assert abs(cases["over_wedge"][2][1]) > 3 * abs(cases["over_cortex"][2][1])
    assert cases["transverse_plus"][1] == pytest.approx(cases["transverse_minus"][1], rel=1e-3)


def test_the_solids_wedge_is_void_and_its_gap_layer_outside_the_arc():
    """Continuum model (coarse): the gap layer keeps the cortex outside the 120 deg arc (2/3
    of the annulus, within the faceting of a 12 mm mesh) with its centroid off the axis
    away from the wedge, and no bone cell lies in the wedge's prism."""
    import sim.fenicsx  # noqa: F401
    import ufl
    from dolfinx import fem
    from dolfinx.mesh import compute_midpoints

    from meshes.continuum import build_frame_solid

    def layer(butterfly):
        s = load_scenario("tests/data/continuum-small.toml")
        if butterfly:
            s = s.replace({"gap.butterfly": butterfly})
        solid = build_frame_solid(s, size_mm=12.0, wire_size_mm=1.8)
        dx = ufl.Measure("dx", domain=solid.mesh, subdomain_data=solid.cell_tags)
        x = ufl.SpatialCoordinate(solid.mesh)
        tag = solid.parts["gap_contact"][1]
        vol = fem.assemble_scalar(fem.form(1.0 * dx(tag)))
        cy = fem.assemble_scalar(fem.form(x[1] * dx(tag))) / vol
        bone = np.concatenate([solid.cell_tags.find(solid.parts[n][1]) for n in ("bone_distal", "bone_proximal")])
        mid = compute_midpoints(solid.mesh, 3, bone)
        return s, vol, cy, mid

    _, v0, _, _ = layer(None)
    s, v, cy, mid = layer({"side_deg": 90.0, "arc_deg": 120.0, "length_mm": 30.0})
    assert v / v0 == pytest.approx(2 / 3, rel=0.05)
    assert cy == pytest.approx(wedge_section(RO, RI, 120.0, 90.0).centroid_mm[1], rel=0.1)
    assert not points_in_wedge(s, mid).any()


def test_butterfly_bad_input():
    ok = {"side_deg": 90.0, "arc_deg": 120.0, "length_mm": 30.0}
    parse_scenario({"gap": {"butterfly": ok}})
    refused({"gap": {"butterfly": {**ok, "arc_deg": 200.0}}}, "gap.butterfly.arc_deg", "20 to 180 deg",
            "main fragments in contact")
    refused({"gap": {"butterfly": {**ok, "arc_deg": 10.0}}}, "gap.butterfly.arc_deg", "20 to 180 deg")
    refused({"gap": {"butterfly": {**ok, "length_mm": 400.0}}}, "gap.butterfly.length_mm", "5 to 150 mm")
    refused({"gap": {"butterfly": {**ok, "side_deg": 400.0}}}, "gap.butterfly.side_deg", "-360 to 360")
    refused({"gap": {"butterfly": {**ok, "free": False}}}, "gap.butterfly.free", "lag screw", "free = true")
    refused({"gap": {"width_mm": 6.0, "butterfly": {**ok, "length_mm": 7.0}}}, "gap.butterfly.length_mm",
            "not longer than the gap", "at least 8 mm")
    refused({"gap": {"butterfly": ok, "regenerate": {"tissue": "granulation"}}}, "gap.butterfly",
            "with a regenerate", "without [gap.regenerate]")
    refused({"gap": {"butterfly": ok}, "loads": {"setup": "frame_only"}}, "gap.butterfly",
            "a frame-only test has no bone", "bone_bench")
    refused({"gap": {"butterfly": ok}, "distraction": {"rate_mm_per_day": 1.0, "lengthening_mm": 10.0}},
            "gap.butterfly", "with a distraction")
    # the standard frame's wires at 140 and 220 mm: a 90 mm wedge about 180 mm reaches them
    refused({"gap": {"butterfly": {**ok, "length_mm": 90.0}}}, "wires[2].ring", "butterfly fragment",
            "at least 10 mm")
    # a tibial template's metaphysis is filled with cancellous bone: the wedge's section is the shaft's only
    refused({"bone": {"template": "tibia"}, "gap": {"level_mm": 60.0, "butterfly": {**ok, "length_mm": 100.0}},
             "rings": [{"name": "a", "level_mm": 200.0}, {"name": "b", "level_mm": 300.0}]},
            "gap.butterfly.length_mm", "not a cortical tube")


@pytest.mark.parametrize("scenario, before, words", [
    ("bone-transport.toml", "[defect]", "not built with a bone transport"),
    ("hexapod-correction.toml", "[[rings]]", "not built with a hexapod correction"),
    ("distraction-4cm.toml", "[[rods]]", "not built with a distraction")])
def test_a_butterfly_is_refused_in_a_treatment_exit_2(tmp_path, capsys, scenario, before, words):
    """`ilizarov validate` of a shipped treatment with a butterfly fragment added: exit 2,
    the field named, nothing written."""
    from sim.cli import main

    f = tmp_path / "t.toml"
    text = open(f"scenarios/{scenario}").read()
    assert before in text
    f.write_text(text.replace(before, f"[gap.butterfly]\nlength_mm = 12\n\n{before}", 1))
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "gap.butterfly" in err and words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.toml"]


def test_a_butterfly_is_refused_beside_a_half_pin():
    """A half pin 18 mm from the gap's level clears a transverse gap (10 mm of bone) but
    passes through the levels of a 30 mm wedge."""
    pin = {"name": "p", "ring": "ring2", "angle_deg": 90.0, "post_height_mm": 22.0}
    parse_scenario({"half_pins": [pin]})
    refused({"half_pins": [pin], "gap": {"butterfly": {"length_mm": 30.0}}}, "half_pins[0].post_height_mm",
            "butterfly fragment", "at least 10 mm")


def test_frame_and_continuum_agree_on_a_butterfly():
    """The small frame (tests/data/continuum-small.toml) with a 0.3 mm gap and a 120 deg
    wedge 30 mm long at +y, 400 N axial, both models (the continuum on its coarse mesh,
    about 20 s). Measured: secant stiffness 1,266 (frame) and 1,293 N/mm (continuum), 2 %
    apart; tangent stiffness at full load, after the gap has closed, 24,650 and 26,160
    N/mm, 6 % apart (the transverse fracture: 34,000 and 34,210). Margins: 5 % and 10 %."""
    import tomllib

    from sim.continuum_run import solve_continuum
    from sim.run import solve_frame

    data = tomllib.loads(open("tests/data/continuum-small.toml").read())
    data["gap"].update(width_mm=0.3, butterfly={"side_deg": 90.0, "arc_deg": 120.0, "length_mm": 30.0})
    data["loads"] = {"cases": ["axial"], "axial": {"force_N": 400.0, "steps": 4}}
    s = parse_scenario(data)
    import json

    import jsonschema

    schema = json.loads(open("schemas/results.schema.json").read())
    results = {"frame": solve_frame(s).results, "continuum": solve_continuum(s).results}
    for model, r in results.items():  # both say what they assumed of the wedge, in the results contract
        assert "free butterfly fragment" in r["assumptions"]["butterfly"], model
        jsonschema.validate(json.loads(json.dumps(r, default=float)), schema)
    frame, solid = (results[m]["load_cases"]["axial"] for m in ("frame", "continuum"))
    assert frame["ifm_axial_mm"] > 0.29 and solid["ifm_axial_mm"] > 0.28  # closed in both
    assert frame["secant_stiffness_N_per_mm"] == pytest.approx(solid["secant_stiffness_N_per_mm"], rel=0.05)
    assert frame["tangent_stiffness_N_per_mm"] == pytest.approx(solid["tangent_stiffness_N_per_mm"], rel=0.10)


def test_the_wedge_is_drawn(tmp_path):
    """The frame picture draws the wedge in orange beside the gap (postprocess.render), and
    the bone picture draws it whole (postprocess.bone_render)."""
    from PIL import Image

    from postprocess.bone_render import render_bones
    from postprocess.render import BUTTERFLY_COLOR, render_frame
    from sim.fracture_geometry import butterfly_picture
    from sim.run import picture_state, solve_frame

    orange = np.array([int(BUTTERFLY_COLOR[i:i + 2], 16) for i in (1, 3, 5)])

    def orange_pixels(png):
        img = np.asarray(Image.open(png).convert("RGB")).astype(int)
        return int((np.abs(img - orange).max(axis=2) < 40).sum())

    counts = {}
    for name, extra in (("with", {"gap.butterfly": {"side_deg": 90.0, "arc_deg": 120.0, "length_mm": 30.0}}),
                        ("without", {})):
        s = load_scenario(TWO_RING).replace({"loads.cases": ["axial"], **extra})
        run = solve_frame(s)
        parts = {p.tag: (p.name, p.kind.name) for p in run.model.frame.parts}
        png = render_frame(picture_state(run), parts, tmp_path / f"{name}.png", butterfly=butterfly_picture(s),
                           bone_radius_mm=lambda z: s.bone_radii_mm(z)[0], window_size=(800, 500))
        bone = render_bones([("bone", s)], tmp_path / f"{name}-bone.png", window_size=(600, 500))
        counts[name] = (orange_pixels(png), orange_pixels(bone))
    # (the wire tensions' colour scale has a few orange pixels of its own)
    assert counts["with"][0] > counts["without"][0] + 100 and counts["with"][1] > 100, counts
    assert counts["without"][1] == 0, counts
