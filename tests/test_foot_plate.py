"""Foot plates (issue 19): the U of Ilizarov and TSF foot frames, a semicircle round the heel
and two straight arms towards the toes, on one centreline geometry (sim.ring_geometry) that
the frame network, the continuum solid and validate share."""

import math
from pathlib import Path

import numpy as np
import pytest

from sim import ring_geometry as rg
from sim.scenario import Ring, ScenarioError, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
ANKLE = ROOT / "scenarios" / "ankle-foot-plate.toml"


def plate(**kw) -> Ring:
    args = dict(name="foot", level_mm=25.0, inner_diameter_mm=160.0, width_mm=16.0, thickness_mm=6.0,
                kind="foot_plate", opening_deg=90.0, arm_length_mm=120.0)
    args.update(kw)
    return Ring(**args)


def test_centreline_points_on_the_semicircle_and_the_arms():
    """Closed form: R = 88 mm; the semicircle for directions at least 90 deg from the arms',
    the arm x = +-R at y = R / tan(angle from the arms' direction) for the others, nothing
    between the tips (atan(R / L) = 36.25 deg either side of anterior)."""
    r = plate()
    R = r.centroid_radius_mm
    assert R == 88.0
    for a in (180.0, 210.0, 270.0, 330.0, 360.0):  # the semicircle (posterior half)
        assert rg.centreline_point(r, a) == pytest.approx((R * math.cos(math.radians(a)),
                                                           R * math.sin(math.radians(a))), abs=1e-9)
    for a, x in ((45.0, R), (135.0, -R), (20.0, R), (160.0, -R)):  # the arms
        y = R * math.tan(math.radians(a)) if x > 0 else -R * math.tan(math.radians(a))
        assert rg.centreline_point(r, a) == pytest.approx((x, y), abs=1e-9)
    tip = math.degrees(math.atan2(120.0, 88.0))  # 53.75 deg: the lateral arm's tip seen from the centre
    assert rg.centreline_point(r, tip - 0.01) is not None and rg.centreline_point(r, tip + 0.01) is None
    assert rg.centreline_point(r, 90.0) is None
    # positions along the U: left (medial, +x is lateral) tip 0, junctions L and L + pi R, right tip 2L + pi R
    assert rg.centreline_length_mm(r) == pytest.approx(240.0 + math.pi * R)
    assert rg.centreline_position_mm(r, 180.0) == pytest.approx(120.0)
    assert rg.centreline_position_mm(r, 270.0) == pytest.approx(120.0 + 0.5 * math.pi * R)
    assert rg.centreline_position_mm(r, 0.0) == pytest.approx(120.0 + math.pi * R)
    assert rg.centreline_position_mm(r, 45.0) == pytest.approx(120.0 + math.pi * R + 88.0)
    for pos in (0.0, 50.0, 120.0, 200.0, 300.0, 500.0):
        xy = rg.point_at_position(r, pos)
        assert rg.centreline_position_mm(r, rg.direction_deg(r, xy)) == pytest.approx(pos, abs=1e-9)
    # a plate turned and moved: the same U about its centre
    r2 = plate(opening_deg=0.0, centre_xy_mm=(5.0, -3.0))
    assert rg.centreline_point(r2, 45.0) == pytest.approx((5.0 + R, -3.0 + R), abs=1e-9)


def test_a_line_meets_the_u_twice_or_the_plate_refuses_it():
    r = plate()
    R = r.centroid_radius_mm
    # across the arms 50 mm anterior of the centre: x = -88 and +88
    t1, t2 = rg.line_meets_centreline(r, (0.0, 50.0), (1.0, 0.0))
    assert (t1, t2) == pytest.approx((-R, R))
    # through the centre at 45 deg: the lateral arm at y = 88 and the semicircle at 225 deg
    t1, t2 = rg.line_meets_centreline(r, (0.0, 0.0), (math.sqrt(0.5), math.sqrt(0.5)))
    assert t1 == pytest.approx(-R) and t2 == pytest.approx(R * math.sqrt(2.0))
    with pytest.raises(ValueError, match="opening"):
        rg.line_meets_centreline(r, (0.0, 0.0), (0.0, 1.0))  # along the arms: out between the tips


def _ankle_data(**wire_changes):
    import tomllib

    data = tomllib.loads(ANKLE.read_text())
    data["wires"][0].update(wire_changes)
    return data


def test_both_models_put_a_wires_clamps_and_a_rods_foot_at_the_same_points():
    from meshes.continuum import _wire_line, rod_axis_points
    from meshes.frame_network import plan_network

    s = load_scenario(ANKLE)
    plan = plan_network(s)
    for w in (w for w in s.wires if w.ring == "foot_plate"):
        line = _wire_line(s, w)
        start = np.array(line.start_mm)
        solid_ends = [start[:2], start[:2] + line.length_mm * np.array(line.direction[:2])]
        chain = plan.wire_points[w.name]
        frame_ends = [np.array(plan.points[chain[0]][:2]), np.array(plan.points[chain[-1]][:2])]
        assert np.allclose(solid_ends, frame_ends, atol=1e-9)
        # and on the U: one clamp on an arm (x = +-88), one on the semicircle (r = 88)
        on_arm = [abs(abs(p[0]) - 88.0) < 1e-9 and p[1] > 0 for p in frame_ends]
        on_circle = [abs(np.hypot(*p) - 88.0) < 1e-9 and p[1] <= 0 for p in frame_ends]
        assert sorted(on_arm) == [False, True] and sorted(on_circle) == [False, True]
    rod = s.rods[0]
    assert np.allclose(rod_axis_points(s, rod)[0][:2], rg.centreline_point(s.ring("foot_plate"), rod.angle_deg))


@pytest.mark.parametrize("direction", ["along", "across"])
def test_the_u_plates_frame_model_matches_castigliano(direction):
    """The plate clamped at its right (lateral) arm's tip, a small in-plane load at the
    other tip. Castigliano with bending (in-plane, EI = E t w^3/12), axial and shear energy:
    along the arms  delta = P [R^3 3pi/2 + 4 R^2 L]/EI + 2 L/EA + pi R/2 (1/EA + 1/kGA);
    across them     delta = P [2 L^3/3 + pi R L^2 + 4 L R^2 + pi R^3/2]/EI + 2 L/kGA
                            + pi R/2 (1/EA + 1/kGA)
    (L = 0: the half ring's formulas of test_ring_kinds)."""
    from meshes.frame_network import NetworkPlan, _plan_foot_plate, _RingPoints, mesh_plan
    from meshes.tags import Marker, PartKind
    from sim import verification as v
    from sim.frame_model import FrameModel

    L = 120.0
    ring = plate(level_mm=0.0, arm_length_mm=L)
    R = ring.centroid_radius_mm
    plan = NetworkPlan()
    rp = _RingPoints(plan, ring)
    tag = plan.add_part("foot", PartKind.RING, "foot")
    plan.section_normals[tag] = (0.0, 0.0, 1.0)
    held = rg.point_at_position(ring, rg.centreline_length_mm(ring))
    loaded = rg.point_at_position(ring, 0.0)
    assert held == pytest.approx((R, L)) and loaded == pytest.approx((-R, L))
    plan.markers.update({Marker.SUPPORT_A: rp.at(math.atan2(held[1], held[0])),
                         Marker.LOAD_POINT: rp.at(math.atan2(loaded[1], loaded[0]))})
    _plan_foot_plate(plan, ring, rp, tag, 2.0)
    assert plan.lines and plan.arcs  # straight arms and a curved heel
    s = v._bench_scenario(rings=(ring,))
    model = FrameModel(s, mesh_plan(plan, None, "foot-plate-bench"), supports=(Marker.SUPPORT_A,),
                       load_point=(Marker.LOAD_POINT, True))
    model.solve_pretension()
    P = 1.0
    E, G = 200_000.0, 200_000.0 / 2.6
    EI, EA, kGA = E * 6.0 * 16.0 ** 3 / 12, E * 96.0, G * 5 / 6 * 96.0
    if direction == "along":  # +y, the arms' direction
        got = model.solve_load(np.array([0, P, 0, 0, 0, 0]))[-1][1]
        expected = P * ((1.5 * math.pi * R ** 3 + 4 * R * R * L) / EI + 2 * L / EA
                        + math.pi * R / 2 * (1 / EA + 1 / kGA))
    else:  # across the arms
        got = model.solve_load(np.array([P, 0, 0, 0, 0, 0]))[-1][0]
        expected = P * ((2 * L ** 3 / 3 + math.pi * R * L * L + 4 * L * R * R + math.pi * R ** 3 / 2) / EI
                        + 2 * L / kGA + math.pi * R / 2 * (1 / EA + 1 / kGA))
    assert got == pytest.approx(expected, rel=0.002)  # 0.02 % and 0.01 % when written


def test_the_continuum_solid_is_the_u():
    """The solid's volume and centre of mass: half annulus + two arms (no mesh)."""
    from meshes.continuum import ring_solid_volume_mm3

    r = plate()
    rin, w, t, L = 80.0, 16.0, 6.0, 120.0
    half = 0.5 * math.pi * ((rin + w) ** 2 - rin ** 2) * t
    arms = 2 * L * w * t
    volume, (x, y, z) = ring_solid_volume_mm3(r)
    assert volume == pytest.approx(half + arms, rel=1e-6)
    # centre of mass on the arms' axis: the half annulus's at -4(R2^3 - R1^3)/(3pi(R2^2 - R1^2)), arms' at L/2
    y_half = -4 * ((rin + w) ** 3 - rin ** 3) / (3 * math.pi * ((rin + w) ** 2 - rin ** 2))
    assert (x, y, z) == pytest.approx((0.0, (half * y_half + arms * L / 2) / (half + arms), 25.0), abs=1e-6)


@pytest.mark.parametrize("change, field, words", [
    ({"arm_length_mm": None}, "rings[0].arm_length_mm", "is kind = 'foot_plate' and needs the length of its two "
                                                        "straight arms"),
    ({"arm_length_mm": 10}, "rings[0].arm_length_mm", "10 mm is not accepted; accepted: 20 to 250 mm"),
    ({"arm_length_mm": 400}, "rings[0].arm_length_mm", "400 mm is not accepted; accepted: 20 to 250 mm"),
    ({"opening_deg": None}, "rings[0].opening_deg", "needs the direction its opening faces"),
    ({"inner_diameter_mm": 120}, "rings[0].inner_diameter_mm", "120 mm leaves no room for the limb"),
])
def test_bad_foot_plates_are_refused_naming_the_field(change, field, words):
    import tomllib

    data = tomllib.loads(ANKLE.read_text())
    for k, v in change.items():
        if v is None:
            data["rings"][0].pop(k)
        else:
            data["rings"][0][k] = v
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == field
    assert words in err.value.message


def test_arms_on_another_kind_are_refused():
    import tomllib

    data = tomllib.loads(ANKLE.read_text())
    data["rings"][1]["arm_length_mm"] = 100
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == "rings[1].arm_length_mm"
    assert "applies to kind = 'foot_plate' only (ring 'tibia_distal' is kind = 'full'" in err.value.message


def test_a_wire_that_leaves_the_plate_between_its_arms_is_refused():
    """A wire along the arms (anterior-posterior) through the heel leaves between the arms' tips."""
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_ankle_data(angle_deg=90))
    assert err.value.field == "wires[0].angle_deg"
    assert "wire 'calcaneus_wire1' at 90 deg, offset 0 mm, misses foot plate 'foot_plate': its line leaves the " \
           "plate between the arms' tips" in err.value.message


def test_a_rod_in_the_opening_is_refused():
    import tomllib

    data = tomllib.loads(ANKLE.read_text())
    data["rods"].append({"name": "rod_anterior", "angle_deg": 90})
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == "rods[4].angle_deg"
    assert "rod 'rod_anterior' would attach to foot plate 'foot_plate' at 90.0 deg, between its arms' tips (its " \
           "opening)" in err.value.message


def test_the_hindfoot_block_widens_the_bone_where_the_plate_holds_it():
    """[hindfoot]: Scenario.bone_radii_mm is a solid 40 mm block up to 50 mm, and both
    models cross it: the frame network's cortex points and the solid's chord are at its
    radius, 20 mm, not the tibia's 12 mm."""
    from meshes.continuum import _wire_line
    from meshes.frame_network import plan_network

    s = load_scenario(ANKLE)
    assert s.bone_radii_mm(25.0) == (20.0, 0.0) and s.bone_radii_mm(50.0) == (20.0, 0.0)
    assert s.bone_radii_mm(50.1) == (12.0, 6.0)
    plan = plan_network(s)
    for w in s.wires:
        chain = plan.wire_points[w.name]
        half = math.dist(plan.points[chain[1]], plan.points[chain[2]]) / 2
        expected = 20.0 if w.ring == "foot_plate" else 12.0
        assert half == pytest.approx(expected) and _wire_line(s, w).bone_half_chord_mm == pytest.approx(expected)
    # a wire 15 mm off the axis: inside the block, off the tibia's 24 mm tube
    s.replace({"wires[0].offset_mm": 15})
    with pytest.raises(ScenarioError) as err:
        s.replace({"wires[0].offset_mm": 15, "hindfoot": None})
    assert err.value.field == "wires[0].offset_mm" and "the wire misses the bone (outer radius 12 mm)" in err.value.message


@pytest.mark.parametrize("change, words", [
    ({"width_mm": 20}, "20 mm is narrower than the tibia above it (bone.outer_diameter_mm = 24 mm); accepted: at "
                       "least 24 mm"),
    ({"width_mm": 90}, "90 mm is not accepted; accepted: 10 to 80 mm"),
    ({"height_mm": 75}, "75 mm reaches the gap or defect at 79 mm; accepted: a hindfoot below it, at most 69 mm"),
])
def test_a_bad_hindfoot_is_refused_naming_the_field(change, words):
    import tomllib

    data = tomllib.loads(ANKLE.read_text())
    data["hindfoot"].update(change)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == f"hindfoot.{next(iter(change))}"
    assert words in err.value.message
