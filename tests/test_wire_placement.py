"""Wires as surgeons place them (issue 19, item 2): inclined to the ring's plane, on posts
(drop wires), the olive's side, tensioned from one or both ends; one geometry
(sim.geometry.wire_path) for the frame model, the continuum model and validate."""

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from meshes.continuum import _wire_line, continuum_refusal
from meshes.frame_network import build_frame, plan_network
from sim.frame_model import FrameModel
from sim.geometry import WIRE_CLEARANCE_MM, wire_path
from sim.scenario import ScenarioError, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "continuum-small.toml"


def _small(*wires: dict, without=("d1",)) -> dict:
    """The small continuum frame (two rings at 40 and 120 mm on a 160 mm bone) with these
    wires added to its crossed ones (d1 top 45 deg and d2 bottom 135 deg on the distal
    ring, p1 and p2 alike on the proximal one) less those `without` (d1: the wires under
    test lie on the distal ring's top face)."""
    data = tomllib.loads(SMALL.read_text())
    defaults = [{"name": "d1", "ring": "ring_distal", "angle_deg": 45},
                {"name": "d2", "ring": "ring_distal", "angle_deg": 135, "face": "bottom"},
                {"name": "p1", "ring": "ring_proximal", "angle_deg": 45},
                {"name": "p2", "ring": "ring_proximal", "angle_deg": 135, "face": "bottom"}]
    data["wires"] = [*wires, *(w for w in defaults if w["name"] not in without)]
    return data


def _wire(s, name):
    return next(w for w in s.wires if w.name == name)


# ------------------------------------------------------------------ geometry from the closed form
def test_an_inclined_wire_rises_towards_its_end_by_tan_incline():
    """A wire at 20 deg to the distal ring's plane (level 40 mm, 6 mm thick, 1.8 mm wire,
    centroid radius 88 mm), direction 20 deg, 3 mm off the axis: it crosses the bone's
    axis on the top face (40 + 3.9 + 0.5 mm) and its clamps stand at
    44.4 +/- sqrt(88^2 - 3^2) tan 20 deg, the end (ahead) high, the start low."""
    wire = {"name": "inc", "ring": "ring_distal", "angle_deg": 20, "offset_mm": 3.0, "incline_deg": 20.0}
    s = parse_scenario(_small(wire))
    path = wire_path(s, _wire(s, "inc"))
    a, t20 = math.radians(20.0), math.tan(math.radians(20.0))
    d, foot = np.array([math.cos(a), math.sin(a)]), 3.0 * np.array([-math.sin(a), math.cos(a)])
    level = 40.0 + 0.5 * (6.0 + 1.8) + WIRE_CLEARANCE_MM
    half = math.sqrt(88.0 ** 2 - 3.0 ** 2)
    assert path.level_mm == pytest.approx(level)
    np.testing.assert_allclose(path.start_mm, [*(foot - half * d), level - half * t20], atol=1e-9)
    np.testing.assert_allclose(path.end_mm, [*(foot + half * d), level + half * t20], atol=1e-9)
    assert path.clamp_heights_mm == pytest.approx((level - half * t20 - 40.0, level + half * t20 - 40.0))
    np.testing.assert_allclose(path.direction, [math.cos(a) * math.cos(a), math.sin(a) * math.cos(a), math.sin(a)],
                               atol=1e-12)
    # it enters and leaves the 24 mm bone where its plan chord says, at the incline's heights
    c = math.sqrt(12.0 ** 2 - 3.0 ** 2)
    np.testing.assert_allclose(path.cortex_mm[0], [*(foot - c * d), level - c * t20], atol=1e-9)
    np.testing.assert_allclose(path.cortex_mm[1], [*(foot + c * d), level + c * t20], atol=1e-9)
    assert path.on_posts
    # a negative incline lowers its end
    s = parse_scenario(_small(dict(wire, incline_deg=-20.0)))
    assert wire_path(s, _wire(s, "inc")).end_mm[2] == pytest.approx(level - half * t20)


def test_a_drop_wire_lies_at_the_ring_level_plus_its_post_height():
    s = parse_scenario(_small({"name": "drop", "ring": "ring_distal", "angle_deg": 70, "offset_mm": -4.0,
                               "post_height_mm": -20.0}))
    path = wire_path(s, _wire(s, "drop"))
    assert path.level_mm == pytest.approx(20.0) and s.wire_level_mm(_wire(s, "drop")) == pytest.approx(20.0)
    assert path.clamp_heights_mm == pytest.approx((-20.0, -20.0))
    assert path.start_mm[2] == path.end_mm[2] == pytest.approx(20.0) and path.on_posts
    # the frame model builds its posts as beams from the ring's mid-plane to the wire
    plan = plan_network(s)
    post = plan.part("drop_posts")
    lines = [(plan.points[a], plan.points[b]) for a, b, tag, _ in plan.lines if tag == post.tag]
    assert len(lines) == 2
    for a, b in lines:
        assert a[2] == pytest.approx(40.0) and b[2] == pytest.approx(20.0 + 0.9)  # to the wire's upper side
        assert a[:2] == pytest.approx(b[:2])


@pytest.mark.parametrize("wire", [
    {"name": "w", "ring": "ring_distal", "angle_deg": 10, "offset_mm": 2.0},
    {"name": "w", "ring": "ring_distal", "angle_deg": 10, "offset_mm": 2.0, "incline_deg": 15.0},
    {"name": "w", "ring": "ring_distal", "angle_deg": 170, "offset_mm": -3.0, "incline_deg": -25.0},
    {"name": "w", "ring": "ring_proximal", "angle_deg": 80, "post_height_mm": 25.0},
    {"name": "w", "ring": "ring_proximal", "angle_deg": 80, "post_height_mm": -25.0, "incline_deg": 12.0},
])
def test_both_models_put_the_wire_on_one_axis(wire):
    """The frame network's wire points (clamps and cortices) lie on the solid's wire axis
    at the distances the solid uses for its clamps and its passage through the bone."""
    s = parse_scenario(_small(wire, without=("d1",) if wire["ring"] == "ring_distal" else ()))
    line = _wire_line(s, _wire(s, "w"))
    p0, d = np.array(line.start_mm), np.array(line.direction)
    expected = [p0, p0 + (line.bone_centre_mm - line.bone_half_chord_mm) * d,
                p0 + (line.bone_centre_mm + line.bone_half_chord_mm) * d, p0 + line.length_mm * d]
    plan = plan_network(s)
    got = [np.array(plan.points[i]) for i in plan.wire_points["w"]]
    assert len(got) == 4
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, atol=1e-9)
    # and validate checks the same points (its clamp positions in plan)
    from sim.scenario import _wire_chord

    np.testing.assert_allclose(np.array(_wire_chord(s, _wire(s, "w"))), np.array([got[0][:2], got[3][:2]]),
                               atol=1e-9)


# ------------------------------------------------------------------ tensioned from one end
def _pretension(*wires, half_pins=()):
    data = _small(*wires)
    data["half_pins"] = list(half_pins)
    s = parse_scenario(data)
    model = FrameModel(s, build_frame(s))
    return s, model.solve_pretension()


def test_a_smooth_wire_pulled_from_one_end_carries_one_tension_and_an_olive_wire_pulls_the_bone():
    """A smooth wire slides through the bone: pulled from its end, its two spans carry the
    same tension. An olive wire with its olive at its start, pulled from its end: the
    tensioner reads its target on the end span; the start span, clamped first, is not
    pretensioned by the tensioner: the olive pulls the bone towards the end, the frame
    (which rests on the bone through its wires and pins) follows, and the start span is
    stretched by the frame's motion, short of the target by what the frame's other holds
    carry: about 4 N with the small frame's wires only, about 26 N with a half pin on the
    ring (Antoci et al. 2005 measured different tensions at the two ends of olive wires
    pulled from one end)."""
    smooth = {"name": "t", "ring": "ring_distal", "angle_deg": 20, "offset_mm": 4.0, "tensioned_from": "end",
              "tension_kgf": 90}
    s, pre = _pretension(smooth)
    start, end = pre.span_N["t"]
    assert end == pytest.approx(pre.target_N["t"], rel=1e-3)
    assert start == pytest.approx(end, rel=1e-5)
    # an olive at the start, pulled from the end
    olive = dict(smooth, olive=True, olive_side="start")
    s, pre = _pretension(olive)
    start, end = pre.span_N["t"]
    assert pre.achieved_N["t"] == pytest.approx(end)  # the tension reported is the pulled span's
    assert end == pytest.approx(pre.target_N["t"], rel=1e-3)
    assert 2.0 < end - start < 8.0, (start, end)
    pin = {"name": "hp", "ring": "ring_distal", "angle_deg": 300, "post_height_mm": 20.0}
    s, pre = _pretension(olive, half_pins=[pin])
    start_pinned, end_pinned = pre.span_N["t"]
    assert 15.0 < end_pinned - start_pinned < 40.0, (start_pinned, end_pinned)
    # the olive at the end, pulled from the start: the mirror image
    s, pre = _pretension(dict(olive, olive_side="end", tensioned_from="start"))
    start2, end2 = pre.span_N["t"]
    assert start2 == pytest.approx(pre.target_N["t"], rel=1e-3) and 2.0 < start2 - end2 < 8.0
    # pulled from its olive's own end, or from both: the olive does not bear; one tension
    for pulled in ("start", "both_ends"):
        s, pre = _pretension(dict(olive, tensioned_from=pulled))
        start, end = pre.span_N["t"]
        assert start == pytest.approx(end, rel=1e-3), pulled  # the olive bonded: within 0.3 N


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("wire, field, words", [
    ({"olive_side": "start"}, "wires[0].olive_side", "on a smooth wire (olive = false); accepted: olive_side only on "
                                                      "an olive wire"),
    ({"olive": True, "tensioned_from": "end"}, "wires[0].tensioned_from", "accepted: olive_side = \"start\" or "
                                                                           "\"end\" with it"),
    ({"incline_deg": 40.0}, "wires[0].incline_deg", "40 deg is not accepted; accepted: -30 to 30 deg"),
    ({"post_height_mm": 3.0}, "wires[0].post_height_mm", "puts the wire inside ring 'ring_distal'"),
    ({"post_height_mm": 130.0}, "wires[0].post_height_mm", "130 mm is not accepted; accepted: -120 to 120 mm"),
    ({"post_height_mm": -60.0}, "wires[0].post_height_mm", "off the bone (0 to 160 mm): it misses the bone; "
                                                           "accepted: a post height between -40 and 120 mm"),
    ({"offset_mm": 11.0, "post_height_mm": 20.0}, "wires[0].offset_mm", "grazes the cortex"),
    ({"incline_deg": 2.0}, "wires[0].incline_deg", "the wire's start runs through ring 'ring_distal'"),
    ({"olive_side": "middle", "olive": True}, "wires[0].olive_side", "accepted: one of 'start', 'end'"),
])
def test_bad_wire_placements_are_refused_naming_the_field(wire, field, words):
    data = _small({"name": "w", "ring": "ring_distal", "angle_deg": 20, "offset_mm": 3.0, **wire})
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == field, str(err.value)
    assert words in str(err.value)


def test_a_small_incline_says_which_incline_clears_the_ring():
    data = _small({"name": "w", "ring": "ring_distal", "angle_deg": 20, "offset_mm": 3.0, "incline_deg": 2.0})
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert "accepted: an incline of at least" in err.value.message and "or post_height_mm" in err.value.message
    # the incline it names is accepted
    most = float(err.value.message.split("at least ")[1].split(" deg")[0])
    data["wires"][0]["incline_deg"] = math.ceil(most * 10) / 10
    parse_scenario(data)


def test_a_post_wire_crossing_another_wire_in_space_is_refused():
    """A drop wire 4.4 mm above the ring runs through the crossing wire on the top face."""
    data = _small({"name": "w", "ring": "ring_distal", "angle_deg": 20, "post_height_mm": 4.4}, without=())
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == "wires[0].post_height_mm"
    assert "passes 0.00 mm from wire 'd1'" in err.value.message


def test_the_continuum_model_refuses_an_olive_wire_pulled_from_one_end():
    s = parse_scenario(_small({"name": "w", "ring": "ring_distal", "angle_deg": 20, "offset_mm": 3.0,
                               "olive": True, "olive_side": "start", "tensioned_from": "end"}))
    err = continuum_refusal(s)
    assert err is not None and "wires[0].tensioned_from" in str(err) and "use --model frame" in str(err)
    s = parse_scenario(_small({"name": "w", "ring": "ring_distal", "angle_deg": 20, "offset_mm": 3.0,
                               "olive": True, "olive_side": "start"}))
    assert continuum_refusal(s) is None


def test_validate_exits_2_naming_the_post_that_misses_the_bone(tmp_path):
    """`ilizarov validate` refuses a drop wire whose posts put it off the bone: exit 2, the
    field and the accepted post heights; nothing written."""
    import subprocess
    import sys

    text = SMALL.read_text() + ('\n[[wires]]\nname = "drop"\nring = "ring_distal"\nangle_deg = 20\n'
                                'post_height_mm = -60\n')
    path = tmp_path / "drop.toml"
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "wires[0].post_height_mm: -60 mm puts the wire on its posts at z = -20 mm, off the bone" in proc.stderr
    assert "accepted: a post height between -40 and 120 mm" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drop.toml"]


def test_results_say_which_olive_wires_were_pulled_from_one_end():
    from sim.run import solve_frame

    data = _small({"name": "t", "ring": "ring_distal", "angle_deg": 20, "offset_mm": 4.0, "tensioned_from": "end",
                   "olive": True, "olive_side": "start"})
    data["loads"] = {"cases": ["axial"], "axial": {"force_N": 100.0, "steps": 1}}
    results = solve_frame(parse_scenario(data)).results
    words = results["assumptions"]["wire_bone"]
    assert "olive on one side (held along the wire at that cortex only, sliding through the other): t" in words
    assert "pulled from the end away from the olive" in words
    wire = results["pretension"]["wires"][0]
    assert wire["achieved_N"] == pytest.approx(wire["end_span_N"]) and wire["start_span_N"] < wire["end_span_N"]
