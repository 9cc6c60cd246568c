"""Rings' holes (issue 19, item 1): a hole table, rings[].holes = "anywhere" | "check" |
"snap", one geometry for validate and both models, refusals with the field named."""

import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from refusals import refused
from sim import ring_holes
from sim.ring_geometry import centreline_point
from sim.scenario import Ring, ScenarioError, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
RINGS = ("ring1", "ring2", "ring3", "ring4")


def _standard(holes: str | None = None, **ring_keys) -> dict:
    data = tomllib.loads((ROOT / "scenarios" / "standard-4ring.toml").read_text())
    for r in data["rings"]:
        if holes is not None:
            r["holes"] = holes
        r.update(ring_keys)
    return data


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


# ------------------------------------------------------------------ the table
def test_the_hole_table_of_the_catalogue():
    table = {r["inner_diameter_mm"]: r for r in ring_holes.hole_table()}
    assert {d: r["full"] for d, r in table.items()} == {80: 16, 100: 24, 120: 24, 140: 32, 160: 32, 180: 40,
                                                        200: 40, 220: 48, 240: 48}
    assert (table[160]["two_thirds"], table[160]["five_eighths"], table[160]["half"]) == (21, 19, 15)
    for r in table.values():
        assert 15.0 <= r["pitch_mm"] <= 19.0  # about NOMINAL_PITCH_MM along the centroid circle
        assert r["full"] % 8 == 0 and r["pitch_deg"] == pytest.approx(360.0 / r["full"])
    assert table[160]["pitch_mm"] == pytest.approx(math.pi * 176.0 / 32)
    # the docs list the same numbers
    doc = (ROOT / "docs" / "frame-model.md").read_text()
    for r in table.values():
        assert (f"| {r['inner_diameter_mm']:g} mm | {r['full']} | {r['two_thirds']} | {r['five_eighths']} | "
                f"{r['half']} | {r['pitch_mm']:.1f} mm, {r['pitch_deg']:g} deg |") in doc


def test_a_rings_own_hole_count_wins():
    row = ring_holes.hole_row(Ring("r", 0.0, hole_count=24))
    assert row.count == 24 and row.angles_deg[:3] == (0.0, 15.0, 30.0)


def test_where_the_holes_are():
    full = ring_holes.hole_row(Ring("r", 0.0))
    assert full.angles_deg[0] == 0.0 and full.angles_deg[1] == pytest.approx(11.25) and full.count == 32
    # an open ring: the full ring's pitch, a hole at the middle of its arc (opposite the opening)
    five = Ring("r", 0.0, kind="five_eighths", opening_deg=270.0)
    row = ring_holes.hole_row(five)
    assert row.count == 19 and 90.0 in row.angles_deg
    assert set(row.angles_deg) <= set(full.angles_deg)  # the full rings' holes: rods run on both
    margin = max(0.5 * row.pitch_mm, 0.5 * five.width_mm)
    for p in row.positions_mm:
        assert margin - 1e-9 <= p <= math.radians(five.arc_deg) * five.centroid_radius_mm - margin + 1e-9
    assert row.angles_deg[0] == pytest.approx(348.75)  # hole 1: nearest the arc's start (337.5 deg)
    # a foot plate: symmetric about its heel (opening 90: the heel at 270 deg)
    plate = Ring("p", 0.0, kind="foot_plate", opening_deg=90.0, arm_length_mm=100.0)
    prow = ring_holes.hole_row(plate)
    assert 270.0 in prow.angles_deg and prow.count % 2 == 1
    for a, b in zip(prow.angles_deg, reversed(prow.angles_deg)):
        assert (a + b) % 360.0 == pytest.approx(180.0)  # mirror images about the heel's line (x = 0)
    steps = [q - p for p, q in zip(prow.positions_mm, prow.positions_mm[1:])]
    assert steps == pytest.approx([prow.pitch_mm] * len(steps))


# ------------------------------------------------------------- old files
def test_old_files_are_not_opted_in():
    s = load_scenario(ROOT / "scenarios" / "standard-4ring.toml")
    assert all(r.holes == "anywhere" and r.hole_count is None for r in s.rings)
    assert not ring_holes.uses_holes(s) and ring_holes.moves_of(s) == ()
    # a file with its parts off any hole is read as before: nothing moves, nothing is refused
    data = _standard()
    data["rods"][0]["angle_deg"] = 4.0
    assert parse_scenario(data).rods[0].angle_deg == 4.0


def test_the_standard_frame_is_on_holes_and_its_results_are_identical():
    """The standard frame's parts are on holes of 32-hole rings (rods at 0/90/180/270 deg,
    wire ends at 45/135/225/315 deg): opting in with "check" moves nothing, refuses nothing
    and the frame model's numbers are identical; the results gain a ring_holes entry."""
    from sim.run import solve_frame

    plain = solve_frame(parse_scenario(_standard())).results
    notes = []
    checked = parse_scenario(_standard("check"), notes=notes)
    assert any("has 32 holes" in n for n in notes)
    on = solve_frame(checked).results
    assert "ring_holes" not in plain
    for case in ("axial", "bending_ap", "bending_ml", "torsion"):
        a, b = plain["load_cases"][case], on["load_cases"][case]
        key = "secant_stiffness_N_per_mm" if case == "axial" else "stiffness_Nm_per_deg"
        assert a[key] == b[key], case
    holes = on["ring_holes"]
    assert holes["snapped"] == [] and holes["rings"]["ring1"]["hole_count"] == 32
    taken = {p["hole"]: p["part"] for p in holes["rings"]["ring1"]["parts"]}
    assert taken[1] == "rod 'rod_lateral'" and taken[5].startswith("the end clamp of wire 'ring1_wire1'")


# -------------------------------------------------------------------- snap
def test_snap_moves_rods_to_holes_and_says_so():
    notes = []
    s = load_scenario(ROOT / "scenarios" / "six-rods-holes.toml", notes=notes)
    assert [r.angle_deg for r in s.rods] == [0.0, 56.25, 123.75, 180.0, 236.25, 303.75]
    moved = [n for n in notes if n.startswith("holes: rod")]
    assert len(moved) == 4
    assert ("holes: rod 'rod2' (rods[1].angle_deg) moved from 60 to 56.25 deg (-3.75 deg), into hole 6 of ring "
            "'ring1', hole 6 of ring 'ring2', hole 6 of ring 'ring3', hole 6 of ring 'ring4'") in moved
    assert [m.path for m in ring_holes.moves_of(s)] == [f"rods[{k}].angle_deg" for k in (1, 2, 4, 5)]
    # snapping a snapped scenario moves nothing (its parts are on holes)
    again = s.replace({"gap.width_mm": 2.0})
    assert [r.angle_deg for r in again.rods] == [r.angle_deg for r in s.rods] and ring_holes.moves_of(again) == ()


def test_both_models_and_validate_see_the_snapped_positions():
    from meshes.continuum import rod_axis_points
    from meshes.frame_network import plan_network

    s = load_scenario(ROOT / "scenarios" / "six-rods-holes.toml")
    plan = plan_network(s)
    row = ring_holes.hole_row(s.ring("ring1"))
    for rod in s.rods:
        solid = rod_axis_points(s, rod)
        tag = plan.part(rod.name).tag
        ends = {plan.points[p] for p0, p1, t, _ in plan.lines if t == tag for p in (p0, p1)}
        assert rod.angle_deg % 360.0 in row.angles_deg
        for ring, point in zip(s.rod_rings(rod), solid):
            x, y = centreline_point(ring, rod.angle_deg)
            assert point == pytest.approx((x, y, ring.level_mm), abs=1e-12)
            assert any(math.dist(e, point) < 1e-9 for e in ends), (rod.name, ring.name)


def test_snap_moves_half_pin_posts_and_pin_clamps_to_free_holes():
    data = _standard("snap")
    data["half_pins"] = [{"name": "pin_a", "ring": "ring4", "angle_deg": 120.0, "post_height_mm": -20},
                         {"name": "pin_b", "ring": "ring1", "angle_deg": 93.0, "post_height_mm": 20}]
    notes = []
    s = parse_scenario(data, notes=notes)
    # pin_b's nearest hole (90 deg) holds rod_anterior: the nearest free one is 101.25 deg
    assert [p.angle_deg for p in s.half_pins] == [123.75, 101.25]
    assert any("pin_b" in n and "into hole 10 of ring 'ring1'" in n for n in notes)
    data["half_pins"] = []
    data["pin_clamps"] = [{"name": "cube", "ring": "ring4", "angle_deg": 250.0, "holes": 1, "post_height_mm": -20}]
    data["half_pins"] = [{"name": "pin_c", "clamp": "cube"}]
    s = parse_scenario(data)
    assert s.pin_clamps[0].angle_deg == 247.5


def test_rods_between_rings_of_different_sizes_take_a_hole_of_each():
    """A 160 mm ring (32 holes, every 11.25 deg) and a 200 mm one (40, every 9 deg) share a
    hole every 45 deg: a snapped rod goes to the nearest shared free hole."""
    data = {"rings": [{"name": "lower", "level_mm": 60, "holes": "snap"},
                      {"name": "upper", "level_mm": 300, "inner_diameter_mm": 200, "holes": "snap"}],
            "wires": [{"name": f"{r}_w{k}", "ring": r, "angle_deg": a, "face": f}
                      for r in ("lower", "upper") for k, a, f in ((1, 45, "top"), (2, 135, "bottom"))],
            "rods": [{"name": f"rod{k}", "angle_deg": a} for k, a in enumerate((10, 100, 190, 280))]}
    s = parse_scenario(data)
    assert [r.angle_deg for r in s.rods] == [0.0, 90.0, 180.0, 270.0]
    for rod in s.rods:
        for ring in s.rod_rings(rod):
            assert rod.angle_deg % 360.0 in ring_holes.hole_row(ring).angles_deg


# ---------------------------------------------------------------- refusals
def test_a_rod_off_a_hole_is_refused_with_the_nearest_holes():
    data = _standard("check")
    data["rods"][1]["angle_deg"] = 94.0
    refused(data, "rods[1].angle_deg", "rod 'rod_anterior' at 94 deg is not on a hole of ring 'ring1'",
            "(6.1 mm from the nearest; within 0.5 mm of a hole's centre; holes = 'check', 32 holes every 17.3 mm)",
            "accepted: 90 deg (hole 9) or 101.25 deg (hole 10), or holes = 'snap' on the ring")


def test_a_half_pin_post_or_pin_clamp_off_a_hole_is_refused():
    data = _standard("check")
    data["half_pins"] = [{"name": "pin_a", "ring": "ring4", "angle_deg": 120.0, "post_height_mm": -20}]
    refused(data, "half_pins[0].angle_deg", "the post of half pin 'pin_a' at 120 deg is not on a hole of ring "
            "'ring4'", "accepted: 123.75 deg (hole 12) or 112.5 deg (hole 11)")
    data["half_pins"] = [{"name": "pin_c", "clamp": "cube"}]
    data["pin_clamps"] = [{"name": "cube", "ring": "ring4", "angle_deg": 250.0, "holes": 1, "post_height_mm": -20}]
    refused(data, "pin_clamps[0].angle_deg", "the post of pin clamp 'cube' at 250 deg is not on a hole",
            "accepted: 247.5 deg (hole 23) or 258.75 deg (hole 24)")


def test_a_wire_post_off_a_hole_is_refused_and_snap_does_not_move_wires():
    data = _standard("snap")
    data["wires"][6]["post_height_mm"] = -20.0  # ring4_wire1 on posts ...
    data["wires"][6]["angle_deg"] = 40.0  # ... its ends at 40 and 220 deg
    data["wires"][6].pop("face", None)
    msg = refused(data, "wires[6].angle_deg", "the start post of wire 'ring4_wire1' at 220 deg is not on a hole "
                  "of ring 'ring4'", "accepted: 225 deg (hole 21) or 213.75 deg (hole 20)",
                  "a wire's posts stand at its ends: set the wire's angle_deg or offset_mm so that both are on "
                  "holes (snap does not move wires)")
    assert "holes = 'snap' on the ring" not in msg
    data["wires"][6]["angle_deg"] = 45.0  # posts at 45 and 225 deg: on holes
    assert parse_scenario(data).wires[6].post_height_mm == -20.0


def test_two_parts_in_one_hole_are_refused():
    data = _standard("check")
    data["half_pins"] = [{"name": "pin_a", "ring": "ring2", "angle_deg": 90.0, "post_height_mm": 20}]
    refused(data, "half_pins[0].angle_deg", "the post of half pin 'pin_a' would take hole 9 of ring 'ring2' (at "
            "90 deg), which rod 'rod_anterior' (rods[1].angle_deg) takes already: one part per hole",
            "accepted: another hole, e.g. 101.25 deg (hole 10) or 78.75 deg (hole 8), or holes = 'snap'")
    # a rod where a wire's clamp is: the wire's bolt holds the hole first
    data = _standard("check")
    data["rods"][0]["angle_deg"] = 45.0
    refused(data, "rods[0].angle_deg", "rod 'rod_lateral' would take hole 5 of ring 'ring1' (at 45 deg), which the "
            "end clamp of wire 'ring1_wire1' (wires[0].angle_deg) takes already")


def test_a_wire_end_between_taken_holes_is_refused():
    """A wire end is held by a wire-fixation bolt in a free hole within half a pitch."""
    data = _standard("check")
    data["wires"][1]["angle_deg"] = 47.0  # ring1_wire2 ends at 47 and 227 deg, next to ring1_wire1's 45 and 225
    refused(data, "wires[1].angle_deg", "the start clamp of wire 'ring1_wire2' would take hole 21 of ring 'ring1' "
            "(at 225 deg), which the start clamp of wire 'ring1_wire1' (wires[0].angle_deg) takes already",
            "accepted: the wire's angle_deg or offset_mm set so that its end meets the ring by a free hole, e.g. "
            "236.25 deg (hole 22) or 213.75 deg (hole 20)")


@pytest.mark.parametrize("key, value, field, words", [
    ("hole_count", 4, "rings[0].hole_count", ("4 is not accepted; accepted: 8 to 120",)),
    ("hole_count", 12.5, "rings[0].hole_count", ("12.5",)),
    ("holes", "sometimes", "rings[0].holes", ("'sometimes'", "'anywhere'", "'check'", "'snap'")),
])
def test_bad_hole_settings_are_refused(key, value, field, words):
    data = _standard()
    data["rings"][0][key] = value
    refused(data, field, *words)


def test_validate_says_what_moved_and_writes_nothing(tmp_path):
    r = _cli("validate", ROOT / "scenarios" / "six-rods-holes.toml")
    assert r.returncode == 0, r.stderr
    assert ("ring 'ring1' has 32 holes (assumed, sim.ring_holes), every 11.25 deg (17.3 mm on its centroid "
            "circle) from hole 1 at 0 deg; holes = 'snap'") in r.stdout
    assert "holes: rod 'rod6' (rods[5].angle_deg) moved from 300 to 303.75 deg (+3.75 deg)" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "%s"\n[[rods]]\nname = "rod1"\nangle_deg = 5\n\n[[rings]]\nname = "ring1"\n'
                   'holes = "check"\n' % (ROOT / "scenarios" / "standard-4ring.toml").as_posix())
    r = _cli("run", bad, "--out", tmp_path / "out")
    assert r.returncode == 2
    assert "rods[4].angle_deg: rod 'rod1' at 5 deg is not on a hole of ring 'ring1'" in r.stderr
    assert "[rods[4] is 'rod1', from bad.toml]" in r.stderr
    assert not (tmp_path / "out").exists()


# -------------------------------------------------------- the shipped example
def test_the_shipped_example_runs_and_reports_what_moved(tmp_path):
    from sim.run import picture_state, solve_frame

    s = load_scenario(ROOT / "scenarios" / "six-rods-holes.toml")
    run = solve_frame(s)
    d = run.results
    assert [m["part"] for m in d["ring_holes"]["snapped"]] == [f"rods[{k}].angle_deg" for k in (1, 2, 4, 5)]
    assert sum(w.startswith("holes: rod") for w in d["warnings"]) == 4
    base = solve_frame(load_scenario(ROOT / "scenarios" / "six-rods.toml")).results
    k0 = base["load_cases"]["axial"]["secant_stiffness_N_per_mm"]
    k1 = d["load_cases"]["axial"]["secant_stiffness_N_per_mm"]
    assert k1 == pytest.approx(k0, rel=1e-3)  # rods 5.8 mm along the ring: the axial stiffness barely moves
    assert json.loads(json.dumps(d))["ring_holes"]["rings"]["ring4"]["hole_count"] == 32
    # the picture draws the holes: dark dots on the rings
    from postprocess.render import _hole_marks, _prepare, Scene

    lines = picture_state(run)
    parts = {p.tag: (p.name, p.kind.name) for p in run.model.frame.parts}
    points = ring_holes.hole_points(s)
    assert points.shape == (4 * 32, 3)
    scene = Scene(lines, parts, hole_marks=points)
    marks = _hole_marks(scene, _prepare(scene, False, False))
    assert marks.n_points == 128
    assert _hole_marks(Scene(lines, parts), _prepare(Scene(lines, parts), False, False)) is None


def test_snap_keeps_a_negative_angle_negative_and_never_moves_a_part_far():
    data = tomllib.loads((ROOT / "scenarios" / "femur-arch.toml").read_text())
    for r in data["rings"]:
        r["holes"] = "snap"
    s = parse_scenario(data)
    angles = {r.name: r.angle_deg for r in s.rods}
    assert angles["rod_anterolateral"] == 54.0 and angles["rod_posterolateral"] == -54.0  # 40-hole rings: 9 deg
    assert {c.name: c.angle_deg for c in s.pin_clamps}["posterolateral_cube"] == -36.0
    # the plateau's 5/8 ring: the holes near 345 deg hold the olive wire's, the drop wire's and the inclined
    # wire's clamps; the nearest hole free on all three rings is 37.5 deg away: snap leaves the rod, validate
    # refuses it
    data = tomllib.loads((ROOT / "scenarios" / "tibial-plateau-hybrid.toml").read_text())
    for r in data["rings"]:
        r["holes"] = "snap"
    refused(data, "rods[0].angle_deg", "rod 'rod_posterolateral' at 345 deg is not on a hole of ring 'ring_distal'",
            "accepted: a free hole, e.g. 22.5 deg or 33.75 deg; snap did not move it: no hole free on all its rings "
            "within 22.5 deg (the nearer ones hold wires' clamps or other parts)")


def test_the_report_draws_the_holes_of_a_resolved_scenario():
    """`ilizarov report` reads the resolved scenario (scenario.resolved.json), a dict."""
    from postprocess.report import _hole_marks

    s = load_scenario(ROOT / "scenarios" / "six-rods-holes.toml")
    resolved = json.loads(json.dumps(s.to_dict()))
    assert _hole_marks(resolved).shape == (128, 3)
    assert _hole_marks(json.loads(json.dumps(load_scenario(ROOT / "scenarios" / "six-rods.toml").to_dict()))) is None
    assert _hole_marks({}) is None


def test_connection_plates_take_a_ring_hole_and_their_parts_are_on_the_plate():
    """A plate's bolt is an attachment of its ring (checked, not moved by snap); the rods,
    wire ends and pin posts standing in the plate's holes are not the ring's."""
    from sim.ring_holes import attachments, hole_rows

    s = load_scenario(ROOT / "scenarios" / "connection-plates.toml").replace({"rings[*].holes": "check"})
    atts = attachments(s, hole_rows(s))
    assert sorted(a.path for a in atts if a.kind == "plate") == [f"plates[{i}].angle_deg" for i in range(4)]
    assert not any(a.kind == "rod" and a.ring == "ring_distal" for a in atts)  # the rods' distal ends: on plates
    assert sum(a.kind == "rod" and a.ring == "ring_proximal" for a in atts) == 4
    with pytest.raises(ScenarioError) as e:
        s.replace({"rings[*].holes": "snap", "plates[0].angle_deg": 3.0})
    assert e.value.field == "plates[0].angle_deg"
    assert "snap does not move plates" in str(e.value) and "0 deg (hole 1)" in str(e.value)


def test_snap_keeps_parts_already_on_holes_and_offers_only_free_holes():
    """(fresh-user trial) With 8 holes per ring a rod moved off its hole is snapped to a free
    hole, never to one another rod stands in; a refusal offers only holes no part takes."""
    s = load_scenario(ROOT / "scenarios" / "standard-4ring.toml")
    moved = s.replace({"rings[*].holes": "snap", "rings[*].hole_count": 8, "rods[1].angle_deg": 80.0})
    angles = sorted(r.angle_deg % 360.0 for r in moved.rods)
    assert angles == [0.0, 90.0, 180.0, 270.0]  # rod_anterior back to 90, the others kept
    with pytest.raises(ScenarioError) as e:  # no free hole near 357: refused for the rod moved, not another's
        s.replace({"rings[*].holes": "snap", "rings[*].hole_count": 8, "rods[1].angle_deg": 357.0})
    assert e.value.field == "rods[1].angle_deg"
    with pytest.raises(ScenarioError) as e:
        s.replace({"rings[*].holes": "check", "rings[*].hole_count": 8, "rods[0].angle_deg": 20.0})
    msg = str(e.value)
    assert "accepted: 0 deg (hole 1)" in msg and "45 deg" not in msg and "90 deg" not in msg  # wire's, rod's


def test_a_hole_count_needs_a_ring_that_uses_its_holes():
    refused({"rings": [{"name": "a", "level_mm": 100.0, "hole_count": 30},
                       {"name": "b", "level_mm": 250.0}]}, "rings[0].hole_count", "holes = 'anywhere'",
            "holes = 'check' or 'snap'")
