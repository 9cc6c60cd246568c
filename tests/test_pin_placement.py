"""Half pins as surgeons place them (issue 19, item 3): in any direction, several in one
clamp or cube, one geometry (sim.pin_geometry) for the frame model, the solid model and
validate. Closed forms of a tilted and an aimed pin, both builders against the geometry,
the pin-bone law along a tilted pin, the stiffness a tilted pin adds, and bad input."""

import math

import numpy as np
import pytest

from meshes.frame_network import plan_network
from meshes.tags import PartKind
from sim.geometry import segment_distance_3d
from sim.pin_geometry import TIP_INTO_CANAL_MM, TIP_PAST_FAR_CORTEX_MM, pin_path
from sim.scenario import ScenarioError, parse_scenario
from refusals import refused as bad

RO, RI = 12.0, 6.0  # the default bone: 24 mm outer, 12 mm inner diameter
RC = 0.5 * 160.0 + 0.5 * 16.0  # a default ring's centroid radius (88 mm)


def one_pin(**pin):
    """The default frame with one half pin on ring4 (z = 310 mm) at angle 0 (lateral)."""
    entry = {"name": "p", "ring": "ring4", "angle_deg": 0.0, "post_height_mm": 20.0, **pin}
    return parse_scenario({"half_pins": [entry]})




# ----------------------------------------------------------------- closed forms
def test_a_tilted_pin_crosses_the_cortices_where_the_closed_form_says():
    tilt = 20.0
    s = one_pin(tilt_deg=tilt, ring="ring3")
    path = pin_path(s, s.half_pins[0])
    c, t = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
    z0 = 220.0 + 20.0
    assert path.clamp_point == pytest.approx((RC, 0.0, z0))
    assert path.direction == pytest.approx((-c, 0.0, t))  # + tilt: the pin rises as it goes in
    # along the pin, plan distance / cos(tilt); the level rises by tan(tilt) per mm in plan
    for point, plan_x in ((path.near_outer, RO), (path.near_inner, RI), (path.far_inner, -RI),
                          (path.far_outer, -RO)):
        assert point == pytest.approx((plan_x, 0.0, z0 + (RC - plan_x) * t / c), abs=1e-6)
    assert path.cortex_lengths_mm == pytest.approx(((RO - RI) / c, (RO - RI) / c), abs=1e-6)
    assert path.t_tip == pytest.approx((RC + RO) / c + TIP_PAST_FAR_CORTEX_MM, abs=1e-6)
    lo, hi = path.z_range_mm
    assert (lo, hi) == pytest.approx((path.near_outer[2], path.tip[2]))


def test_a_pin_aimed_off_the_axis_and_the_same_pin_by_its_offset():
    aim, tilt = 3.0, -15.0  # - tilt: towards distal
    s = one_pin(aim_deg=aim, tilt_deg=tilt, bicortical=False, diameter_mm=4.0, post_height_mm=-20.0)
    path = pin_path(s, s.half_pins[0])
    d = RC * math.sin(math.radians(aim))  # the plan offset of its line from the bone's axis
    assert path.closest_mm == pytest.approx(d)
    c = math.cos(math.radians(tilt))
    along = RC * math.cos(math.radians(aim))  # plan distance from the clamp to the line's closest point
    t_out, t_in = (along - math.sqrt(RO ** 2 - d ** 2)) / c, (along - math.sqrt(RI ** 2 - d ** 2)) / c
    assert len(path.cortex_mm) == 1  # unicortical: the near cortex only
    assert path.cortex_mm[0] == pytest.approx((t_out, t_in), abs=1e-6)
    assert path.t_tip == pytest.approx(t_in + TIP_INTO_CANAL_MM, abs=1e-6)
    assert path.direction[2] == pytest.approx(math.sin(math.radians(tilt)))
    by_offset = one_pin(offset_mm=d, tilt_deg=tilt, bicortical=False, diameter_mm=4.0, post_height_mm=-20.0)
    other = pin_path(by_offset, by_offset.half_pins[0])
    assert other.direction == pytest.approx(path.direction)
    assert other.cortex_mm[0] == pytest.approx(path.cortex_mm[0])


def test_the_defaults_are_the_radial_horizontal_pin_of_old_files():
    s = one_pin()
    path = pin_path(s, s.half_pins[0])
    assert path.direction == pytest.approx((-1.0, 0.0, 0.0))
    assert path.near_outer == pytest.approx((RO, 0.0, 330.0))
    assert path.far_outer == pytest.approx((-RO, 0.0, 330.0))


def test_clamp_holes_axial_and_tangential():
    base = {"pin_clamps": [{"name": "c", "ring": "ring4", "angle_deg": 90, "post_height_mm": -20, "holes": 3,
                            "hole_spacing_mm": 12}],
            "half_pins": [{"name": "a", "clamp": "c", "hole": 1}, {"name": "b", "clamp": "c", "hole": 3}]}
    s = parse_scenario(base)
    a, b = (pin_path(s, p) for p in s.half_pins)
    assert a.clamp_point == pytest.approx((0.0, RC, 290.0))
    assert b.clamp_point == pytest.approx((0.0, RC, 266.0))  # a post below the ring: the row runs down
    assert s.half_pins[1].post_height_mm == pytest.approx(-44.0)  # filled in from the clamp
    assert a.direction == pytest.approx(b.direction)  # parallel by default
    # side by side along the ring: parallel pins 10 mm apart need a wider bone (40 mm) to stay off its edge
    base["pin_clamps"][0].update(row="tangential", post_height_mm=20, hole_spacing_mm=10)
    base["half_pins"][1]["hole"] = 2
    base["bone"] = {"outer_diameter_mm": 40, "inner_diameter_mm": 20}
    s = parse_scenario(base)
    a, b = (pin_path(s, p) for p in s.half_pins)
    assert b.clamp_point == pytest.approx((-10.0, RC, 330.0))  # counter-clockwise along the ring
    assert b.closest_mm == pytest.approx(-10.0)  # parallel to hole 1's pin, 10 mm to its side
    assert segment_distance_3d(a.clamp_point, a.tip, b.clamp_point, b.tip) == pytest.approx(10.0)


# ----------------------------------------------------------------- both models
FEMUR_LIKE = {
    "bone": {"length_mm": 430, "outer_diameter_mm": 28, "inner_diameter_mm": 14, "limb_diameter_mm": 140},
    "gap": {"level_mm": 215},
    "rings": [{"name": "r1", "level_mm": 80, "inner_diameter_mm": 200},
              {"name": "r2", "level_mm": 300, "inner_diameter_mm": 200}],
    "wires": [{"name": "w1", "ring": "r1", "angle_deg": 30, "face": "top"},
              {"name": "w2", "ring": "r1", "angle_deg": 150, "face": "bottom"}],
    "pin_clamps": [{"name": "clamp", "ring": "r2", "angle_deg": 0, "post_height_mm": 15, "holes": 2,
                    "hole_spacing_mm": 15}],
    "half_pins": [{"name": "low", "clamp": "clamp", "hole": 1, "tilt_deg": -10},
                  {"name": "high", "clamp": "clamp", "hole": 2, "tilt_deg": 10, "aim_deg": 2},
                  {"name": "uni", "ring": "r2", "angle_deg": 60, "post_height_mm": -15, "tilt_deg": -5,
                   "bicortical": False, "diameter_mm": 5}],
}


def _on_segment(point, a, b, tol=1e-6) -> bool:
    return segment_distance_3d(point, point, a, b) < tol


@pytest.mark.parametrize("compliant", [False, True])
def test_the_frame_network_places_every_pin_on_its_path(compliant):
    data = dict(FEMUR_LIKE)
    if compliant:
        data["interfaces"] = {"pin_bone": {"rigid": False}, "pin_clamp": {"rigid": False}}
    s = parse_scenario(data)
    plan = plan_network(s)
    for pin in s.half_pins:
        path = pin_path(s, pin)
        pts = [np.asarray(plan.points[i]) for p0, p1, tag, _ in plan.lines
               if plan.parts[tag - 1].source == pin.name
               and plan.parts[tag - 1].kind in (PartKind.HALF_PIN, PartKind.PIN_CLAMP) for i in (p0, p1)]
        assert pts and all(_on_segment(q, path.clamp_point, path.tip) for q in pts), pin.name
        # the pin reaches from its clamp point into the cortices it engages
        assert any(np.allclose(q, path.clamp_point) for q in pts)
        wanted = path.bone_points if compliant else ([path.near_outer, path.far_outer] if pin.bicortical
                                                    else [path.near_outer])
        for q in wanted:
            assert any(np.allclose(q, r, atol=1e-9) for r in pts), (pin.name, q)
        links = [p for p in plan.parts if p.source == pin.name and p.kind == PartKind.PIN_BONE_LINK]
        assert links[0].axis_xyz == pytest.approx(path.direction)  # the joint's axis along the pin
    # the clamp: one post, one rigid block from its top to hole 2
    block = [p for p in plan.parts if p.kind == PartKind.PIN_CLAMP_BLOCK]
    assert [p.source for p in block] == ["clamp"]
    ends = [(plan.points[p0], plan.points[p1]) for p0, p1, tag, _ in plan.lines if tag == block[0].tag]
    high = pin_path(s, s.half_pins[1])
    assert ends == [(pytest.approx(pin_path(s, s.half_pins[0]).clamp_point), pytest.approx(high.clamp_point))]


def test_the_solid_builds_every_pin_on_the_same_path():
    """The continuum builder's pin cylinders (OpenCASCADE, no mesh): each from its clamp
    point to its tip, the volume of that cylinder; the frame network's cortex points lie
    on its axis (the previous test)."""
    from mpi4py import MPI

    from meshes.continuum import half_pin_pieces
    from meshes.gmsh_session import gmsh_model

    s = parse_scenario(FEMUR_LIKE)
    with gmsh_model(MPI.COMM_SELF, "pins") as gmsh:
        occ = gmsh.model.occ
        pieces = half_pin_pieces(occ, s)
        occ.synchronize()
        kinds = {name: kind for name, kind, _ in pieces}
        assert kinds == {"clamp_post": "post", "clamp": "clamp", "low": "half_pin", "high": "half_pin",
                         "uni_post": "post", "uni": "half_pin"}
        for name, kind, tag in pieces:
            if kind != "half_pin":
                continue
            pin = next(p for p in s.half_pins if p.name == name)
            path = pin_path(s, pin)
            a, b = np.asarray(path.clamp_point), np.asarray(path.tip)
            assert occ.getCenterOfMass(3, tag) == pytest.approx(tuple(0.5 * (a + b)), abs=1e-6)
            r = 0.5 * pin.diameter_mm
            assert occ.getMass(3, tag) == pytest.approx(math.pi * r * r * np.linalg.norm(b - a), rel=1e-6)
        # the block holds both holes of the clamp
        block = next(tag for name, kind, tag in pieces if kind == "clamp")
        x0, y0, z0, x1, y1, z1 = occ.getBoundingBox(3, block)
        for pin in s.half_pins[:2]:
            x, y, z = pin_path(s, pin).clamp_point
            assert x0 < x < x1 and y0 < y < y1 and z0 < z < z1


# ----------------------------------------------------------------- interface laws
def test_the_pin_bone_foundation_runs_along_a_tilted_pin():
    from sim.interfaces import connection_law, pin_cortex_length_mm

    laws = {"pin_bone": {"rigid": False}, "pin_clamp": {"rigid": False}}
    flat = parse_scenario({"half_pins": [{"name": "p", "ring": "ring3", "angle_deg": 0}], "interfaces": laws})
    tilted = parse_scenario({"half_pins": [{"name": "p", "ring": "ring3", "angle_deg": 0, "tilt_deg": 30}],
                             "interfaces": laws})
    assert pin_cortex_length_mm(flat, flat.half_pins[0]) == pytest.approx(RO - RI)
    assert pin_cortex_length_mm(tilted, tilted.half_pins[0]) == pytest.approx((RO - RI) / math.cos(math.radians(30)))
    out = {}
    for name, s in (("flat", flat), ("tilted", tilted)):
        parts = plan_network(s).parts
        bone = next(p for p in parts if p.kind == PartKind.PIN_BONE_LINK)
        clamp = next(p for p in parts if p.kind == PartKind.PIN_CLAMP)
        out[name] = connection_law(s, bone), connection_law(s, clamp)
        direction = pin_path(s, s.half_pins[0]).direction
        assert out[name][0].axis == pytest.approx(direction)  # along the pin, not the ring's plane
        assert out[name][1].axis == pytest.approx(direction)
    assert out["tilted"][0].k_axial == pytest.approx(out["flat"][0].k_axial / math.cos(math.radians(30)))
    assert out["tilted"][0].k_transverse > out["flat"][0].k_transverse


def _ring_held_axial(pins, pin_clamps=()):
    """Axial stiffness (N/mm) of an intact bone held by half pins only, on one ring held on
    the test machine (as in Khurana et al. 2010's bench): the pins' own stiffness."""
    from sim.run import solve_frame

    data = {"bone": {"length_mm": 250, "intact": True, "limb_diameter_mm": 30, "min_skin_clearance_mm": 5},
            "loads": {"setup": "ring_held", "cases": ["axial"], "axial": {"force_N": 200.0, "steps": 2}},
            "rings": [{"name": "ring", "level_mm": 80}], "wires": [], "half_pins": pins,
            "pin_clamps": list(pin_clamps)}
    return solve_frame(parse_scenario(data)).results["load_cases"]["axial"]["secant_stiffness_N_per_mm"]


def test_tilted_pins_carry_axial_load_along_themselves_and_stiffen_the_frame():
    """A horizontal pin takes the bone's axial load in bending only; a tilted one partly
    along its axis. Guided-cantilever estimate for a 6 mm steel pin 76 mm from clamp to
    bone, tilted 15 deg: k_z = 12 EI cos^5 / L^3 + EA sin^2 cos / L, about 7 times the
    horizontal pin's 355 N/mm. Three pins around the bone (45, 135 and 270 deg), all
    rising 15 deg into it, leave the bone no way to dodge along them: the frame is about
    twice as stiff axially as on the same pins horizontal (measured: 931 and 1978 N/mm)."""
    def pins(tilt):
        return [{"name": f"p{k}", "ring": "ring", "angle_deg": a, "post_height_mm": h, "tilt_deg": tilt}
                for k, (a, h) in enumerate(((45, 15), (135, 30), (270, 45)))]

    flat, tilted = _ring_held_axial(pins(0.0)), _ring_held_axial(pins(15.0))
    assert tilted > 1.5 * flat, (flat, tilted)


def test_two_pins_diverging_from_one_clamp_let_the_bone_rock_about_the_clamp():
    """Two pins from one clamp diverging in one plane (one tilted distally, one
    proximally): their axes meet at the clamp, so the bone can turn about it, held by the
    pins' bending only; two parallel horizontal pins resist that turn by their axial
    stiffness. Under a centred axial load the diverging pair is the softer (measured: 216
    and 429 N/mm); docs/frame-model.md, "Half pins"."""
    clamp = {"name": "c", "ring": "ring", "angle_deg": 0, "post_height_mm": 15, "holes": 2, "hole_spacing_mm": 20}

    def pins(tilt):
        return [{"name": "p1", "clamp": "c", "hole": 1, "tilt_deg": -tilt},
                {"name": "p2", "clamp": "c", "hole": 2, "tilt_deg": tilt}]

    parallel, diverging = _ring_held_axial(pins(0.0), [clamp]), _ring_held_axial(pins(15.0), [clamp])
    assert diverging < 0.7 * parallel, (parallel, diverging)


# ----------------------------------------------------------------- shipped example
def test_the_femoral_arch_example_holds_diverging_pins_in_one_clamp():
    from pathlib import Path

    from sim.scenario import load_scenario

    s = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "femur-arch.toml")
    arch = s.ring("arch")
    assert (arch.kind, arch.opening_deg) == ("femoral_arch", 180.0)  # opening medial
    assert arch.level_mm > s.gap.level_mm > max(r.level_mm for r in s.rings if r.kind == "full")
    clamp = next(c for c in s.pin_clamps if c.kind == "multi_pin_clamp")
    held = [p for p in s.half_pins if p.clamp == clamp.name]
    assert len(held) >= 2 and len(s.half_pins) in (3, 4)
    dirs = [np.asarray(pin_path(s, p).direction) for p in held]
    assert math.degrees(math.acos(float(dirs[0] @ dirs[1]))) > 5.0  # diverging
    assert all(pin_path(s, p).direction[0] < 0 for p in s.half_pins)  # all from the lateral side (+x)


# ----------------------------------------------------------------- bad input
CLAMP = {"name": "c", "ring": "ring4", "angle_deg": 0, "post_height_mm": 20, "holes": 2, "hole_spacing_mm": 12}


def test_pins_that_miss_or_graze_the_bone_are_refused_with_the_accepted_aim():
    pin = {"name": "p", "ring": "ring4", "angle_deg": 0}
    msg = bad({"half_pins": [{**pin, "aim_deg": 5}]}, "half_pins[0].aim_deg", "grazes the cortex",
              "|aim_deg| <= 1.95 deg", "offset of at most 3.00 mm")
    assert "7.67 mm from the bone's axis" in msg
    bad({"half_pins": [{**pin, "offset_mm": 3.5}]}, "half_pins[0].offset_mm", "|offset_mm| <= 3.00 mm")
    bad({"half_pins": [{**pin, "aim_deg": 20}]}, "half_pins[0].aim_deg", "misses the bone")
    bad({"half_pins": [{**pin, "aim_deg": 2, "offset_mm": 1}]}, "half_pins[0].offset_mm", "one of them")
    bad({"half_pins": [{**pin, "aim_deg": 50}]}, "half_pins[0].aim_deg", "-45 to 45 deg")
    bad({"half_pins": [{**pin, "tilt_deg": 70}]}, "half_pins[0].tilt_deg", "-60 to 60 deg", "Lenarz")


def test_half_pin_diameters_outside_the_catalogue_are_refused():
    for d in (3.5, 7.0):
        bad({"half_pins": [{"name": "p", "ring": "ring4", "angle_deg": 0, "diameter_mm": d}]},
            "half_pins[0].diameter_mm", "4 to 6.5 mm", "4.0, 5.0 and 6.0 mm", "Wheeless")


def test_a_unicortical_pin_must_reach_the_canal_and_a_pin_stay_in_the_bone():
    thick = {"bone": {"inner_diameter_mm": 4.0}}  # a 2 mm canal
    bad({**thick, "half_pins": [{"name": "p", "ring": "ring4", "angle_deg": 0, "offset_mm": 2.5,
                                 "bicortical": False, "diameter_mm": 4}]},
        "half_pins[0].bicortical", "never reaches the medullary canal")
    bad({"half_pins": [{"name": "p", "ring": "ring4", "angle_deg": 0, "post_height_mm": 30, "tilt_deg": 15}]},
        "half_pins[0].tilt_deg", "out of the bone's end (0 to 360 mm)")
    msg = bad({"half_pins": [{"name": "p", "ring": "ring3", "angle_deg": 0, "post_height_mm": -10,
                              "tilt_deg": -12}]}, "half_pins[0].tilt_deg", "from the gap")
    assert "at least 10 mm of bone" in msg


def test_pins_that_cross_or_touch_are_refused_naming_both():
    msg = bad({"half_pins": [{"name": "a", "ring": "ring4", "angle_deg": 0},
                             {"name": "b", "ring": "ring4", "angle_deg": 90}]},
              "half_pins[1]", "half pin 'b' and half pin 'a' cross or touch", "0.00 mm apart", "7 mm")
    assert "tilt_deg" in msg
    # the same pins 10 mm apart in level pass; converging tilts in one clamp do not
    parse_scenario({"half_pins": [{"name": "a", "ring": "ring4", "angle_deg": 0},
                                  {"name": "b", "ring": "ring4", "angle_deg": 90, "post_height_mm": 30}]})
    bad({"pin_clamps": [CLAMP], "half_pins": [{"name": "a", "clamp": "c", "hole": 1, "tilt_deg": 6},
                                              {"name": "b", "clamp": "c", "hole": 2, "tilt_deg": -6}]},
        "half_pins[1]", "half pin 'b' and half pin 'a' cross or touch")


def test_clamp_holes_rings_and_names_are_checked():
    two = [{"name": "a", "clamp": "c", "hole": 1}, {"name": "b", "clamp": "c", "hole": 1}]
    bad({"pin_clamps": [CLAMP], "half_pins": two}, "half_pins[1].hole", "hole 1 of clamp 'c' holds half pin 'a'",
        "cannot use it too", "accepted: hole = 2 (the clamp's free holes)")
    bad({"pin_clamps": [CLAMP], "half_pins": [{"name": "a", "clamp": "c"}]}, "half_pins[0].hole",
        "clamp 'c' has 2 holes", "hole = 1 to 2")
    bad({"pin_clamps": [CLAMP], "half_pins": [{"name": "a", "clamp": "c", "hole": 3}]}, "half_pins[0].hole",
        "accepted: 1 to 2")
    bad({"pin_clamps": [CLAMP], "half_pins": [{"name": "a", "clamp": "c", "hole": 1, "ring": "ring3"}]},
        "half_pins[0].ring", "clamp 'c' (pin_clamps[0]), which stands on ring 'ring4'", "ring = 'ring4'")
    bad({"pin_clamps": [CLAMP], "half_pins": [{"name": "a", "clamp": "c", "hole": 2, "post_height_mm": 20}]},
        "half_pins[0].post_height_mm", "is 32 for hole 2", "leave post_height_mm out")
    bad({"pin_clamps": [CLAMP], "half_pins": [{"name": "a", "clamp": "x", "hole": 1}]}, "half_pins[0].clamp",
        "'x' is not a pin clamp", "'c'")
    bad({"pin_clamps": [{**CLAMP, "ring": "nowhere"}], "half_pins": [{"name": "a", "clamp": "c", "hole": 1}]},
        "pin_clamps[0].ring", "'nowhere' is not a ring")
    bad({"pin_clamps": [CLAMP, {**CLAMP, "name": "d", "angle_deg": 180}],
         "half_pins": [{"name": "a", "clamp": "c", "hole": 1}]}, "pin_clamps[1]", "holds no half pin")
    bad({"pin_clamps": [CLAMP], "half_pins": [{"name": "a", "ring": "ring4"}]}, "half_pins[0].angle_deg",
        "is required", "clamp =")
    bad({"half_pins": [{"name": "a", "ring": "ring4", "angle_deg": 0, "hole": 1}]}, "half_pins[0].hole",
        "no clamp")
    bad({"pin_clamps": [{**CLAMP, "holes": 9}], "half_pins": [{"name": "a", "clamp": "c", "hole": 1}]},
        "pin_clamps[0].holes", "1 to 6")


def test_a_resolved_clamped_pin_round_trips():
    s = parse_scenario({"pin_clamps": [CLAMP], "half_pins": [{"name": "a", "clamp": "c", "hole": 2, "tilt_deg": 5}]})
    again = s.replace({"half_pins[0].tilt_deg": 8})
    assert again.half_pins[0].post_height_mm == pytest.approx(32.0) and again.half_pins[0].tilt_deg == 8


def test_changing_a_clamp_moves_its_pins():
    s = parse_scenario({"pin_clamps": [CLAMP], "half_pins": [{"name": "a", "clamp": "c", "hole": 2}]})
    assert "post_height_mm" not in s.to_dict()["half_pins"][0]  # the clamp's, not the pin's
    moved = s.replace({"pin_clamps[0].post_height_mm": 30})
    assert moved.half_pins[0].post_height_mm == pytest.approx(42.0)
    assert pin_path(moved, moved.half_pins[0]).clamp_point[2] == pytest.approx(310.0 + 42.0)
