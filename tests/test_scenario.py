"""Scenario files: defaults, units, and every kind of bad input named clearly."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario, parse_scenario
from sim.units import N_PER_KGF
from refusals import refused as bad

ROOT = Path(__file__).resolve().parents[1]
STANDARD = ROOT / "scenarios" / "standard-4ring.toml"


def test_empty_file_gives_the_standard_frame():
    s = parse_scenario({})
    assert len(s.rings) == 4 and len(s.wires) == 8 and len(s.rods) == 4
    assert all(w.diameter_mm == 1.8 and w.tension_N == pytest.approx(90 * N_PER_KGF) for w in s.wires)
    assert s.gap.width_mm == 2.0


def test_shipped_standard_matches_defaults():
    s = load_scenario(STANDARD)
    d = parse_scenario({})
    assert [(w.angle_deg, w.tension_N, w.face) for w in s.wires] == [(w.angle_deg, w.tension_N, w.face) for w in d.wires]
    assert s.rings == d.rings


def test_tension_in_kgf_or_N():
    s = parse_scenario({"wires": [
        {"name": "a", "ring": "ring1", "angle_deg": 0, "tension_kgf": 100, "olive": True},
        {"name": "b", "ring": "ring3", "angle_deg": 0, "tension_N": 500, "olive": True},
    ]})
    assert s.wires[0].tension_N == pytest.approx(980.665)
    assert s.wires[1].tension_N == 500.0


def test_scenario_is_immutable():
    s = parse_scenario({})
    with pytest.raises(Exception):
        s.bone.length_mm = 10




def test_unknown_key_with_suggestion():
    bad({"bone": {"lenght_mm": 300}}, "bone.lenght_mm", "unknown key", "did you mean 'length_mm'")
    bad({"rings": [{"name": "r", "level_mm": 50, "colour": "red"}]}, "rings[0].colour", "unknown key")


def test_negative_or_zero_size():
    bad({"bone": {"outer_diameter_mm": -3}}, "bone.outer_diameter_mm", "-3 mm is not accepted", "accepted: 4 to 60 mm")
    bad({"rods": [{"name": "r", "angle_deg": 0, "diameter_mm": 0}]}, "rods[0].diameter_mm", "accepted: 3 to 16 mm")


def test_wrong_type():
    bad({"gap": {"width_mm": "two"}}, "gap.width_mm", "'two' is not a number")
    bad({"loads": {"axial": {"steps": 2.5}}}, "loads.axial.steps", "not a whole number")


def test_wire_that_misses_the_bone():
    bad({"wires": [{"name": "w", "ring": "ring1", "angle_deg": 0, "offset_mm": 13},
                   {"name": "v", "ring": "ring4", "angle_deg": 0}]},
        "wires[0].offset_mm", "misses the bone", "|offset| <= 9.3 mm")


def test_ring_that_leaves_no_room_for_the_limb():
    bad({"rings": [{"name": "a", "level_mm": 50, "inner_diameter_mm": 110}, {"name": "b", "level_mm": 300}]},
        "rings[0].inner_diameter_mm", "no room for the limb", "at least", "130 mm")


def test_rod_shorter_than_ring_spacing():
    bad({"rods": [{"name": "r", "angle_deg": 0, "length_mm": 100}]}, "rods[0].length_mm",
        "shorter than the spacing", "260 mm")


def test_two_parts_with_one_name():
    bad({"rings": [{"name": "ring1", "level_mm": 50}, {"name": "ring1", "level_mm": 300}]},
        "rings[1].name", "already the name of rings[0]")
    bad({"rods": [{"name": "ring1", "angle_deg": 0}]}, "rods[0].name", "already the name of rings[0]")


def test_tension_above_wire_yield():
    # 1.5 mm wire at 130 kgf is at yield (physics.md): rejected, with the limit given
    msg = bad({"wires": [{"name": "w", "ring": "ring1", "angle_deg": 0, "diameter_mm": 1.5, "tension_kgf": 130},
                         {"name": "v", "ring": "ring4", "angle_deg": 0}]},
              "wires[0].tension_kgf", "above the yield stress", "690 MPa", "accepted: at most")  # the key the file used
    assert "kgf" in msg
    # 1.8 mm at 130 kgf carries 501 MPa: accepted
    parse_scenario({"wires": [{"name": "w", "ring": "ring1", "angle_deg": 0, "tension_kgf": 130, "olive": True},
                              {"name": "v", "ring": "ring4", "angle_deg": 0, "olive": True}]})


def test_fragment_not_held():
    bad({"wires": [{"name": "w", "ring": "ring1", "angle_deg": 0}]}, "wires", "proximal fragment is held by no wire")


def test_unknown_material_and_setup():
    bad({"rings": [{"name": "a", "level_mm": 50, "material": "wood"}, {"name": "b", "level_mm": 300}]},
        "rings[0].material", "unknown material 'wood'", "aluminium")
    bad({"loads": {"setup": "cadaver"}}, "loads.setup", "'bone_bench'", "'frame_only'")


def test_malformed_toml(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("[bone\nlength_mm = 3")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(f)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("content, phrase", [
    ("[bone\n", "not valid TOML"),
    ("[bone]\nlength_mm = -1\n", "bone.length_mm"),
    ("[[wires]]\nname='w'\nring='ring1'\nangle_deg=0\ndiameter_mm=1.5\ntension_kgf=130\n", "yield"),
])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, content, phrase):
    f = tmp_path / "s.toml"
    f.write_text(content)
    out = tmp_path / "out"
    for cmd in (["validate", str(f)], ["run", str(f), "--out", str(out)], ["timeline", str(f), "--out", str(out)],
                ["hexapod", str(f), "--out", str(out)]):
        r = _cli(*cmd)
        assert r.returncode == 2, r.stderr
        assert phrase in r.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["s.toml"]


def test_cli_help_on_each_command():
    for cmd in ([], ["validate"], ["run"], ["timeline"], ["hexapod"]):
        r = _cli(*cmd, "-h")
        assert r.returncode == 0 and "usage" in r.stdout


def test_cli_refuses_foreign_output_directory(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    r = _cli("run", str(STANDARD), "--out", str(out))
    assert r.returncode == 2 and "holds files that ilizarov did not write (thesis.tex)" in r.stderr
    assert (out / "thesis.tex").read_text() == "precious"


def test_resolved_scenario_round_trips():
    s = load_scenario(STANDARD)
    plain = json.loads(json.dumps(s.to_dict()))
    plain["wires"] = [{k: v for k, v in w.items()} for w in plain["wires"]]
    plain["rings"] = [dict(r) for r in plain["rings"]]
    again = parse_scenario(plain, default_name=s.name)
    assert again == s


# ----------------------------------------------------------------------------- issue 14
def test_numbers_out_of_any_physical_range_are_refused_with_the_reason():
    """The issue's inputs that hung or ate memory are refused at once, naming the range."""
    bad({"bone": {"length_mm": 1e300}}, "bone.length_mm", "1e+300 mm is not accepted", "30 to 650 mm", "femur")
    bad({"rings": [{"name": "a", "level_mm": 50, "inner_diameter_mm": 1e6},
                   {"name": "b", "level_mm": 300, "inner_diameter_mm": 1e6}]},
        "rings[0].inner_diameter_mm", "50 to 300 mm", "real ring systems")
    bad({"mesh": {"element_size_mm": 0.01}}, "mesh.element_size_mm", "0.5 to 50 mm")
    bad({"wires": [{"name": "w", "ring": "ring1", "angle_deg": 1e300}]}, "wires[0].angle_deg", "-360 to 360 deg")
    bad({"half_pins": [{"name": "p", "ring": "ring1", "angle_deg": 0, "diameter_mm": 12}]},
        "half_pins[0].diameter_mm", "4 to 6.5 mm", "Schanz")
    bad({"loads": {"torsion": {"moment_Nm": 1e6}}}, "loads.torsion.moment_Nm", "at most 50 N*m")
    bad({"solver": {"max_step_cuts": 40}}, "solver.max_step_cuts", "0 to 12", "4096 sub-steps")


def test_a_thick_wire_gets_the_diameter_range_not_a_negative_offset():
    msg = bad({"wires": [{"name": "w", "ring": "ring1", "angle_deg": 0, "diameter_mm": 30}]},
              "wires[0].diameter_mm", "30 mm is not accepted", "1 to 2.5 mm", "a thicker one is a pin (transfixion_pin = true")
    assert "offset" not in msg


def test_the_accepted_keys_of_a_wire_include_tension_kgf():
    bad({"wires": [{"name": "w", "ring": "ring1", "angle_deg": 0, "tension_kfg": 90}]}, "wires[0].tension_kfg",
        "did you mean 'tension_kgf'", "tension_N", "tension_kgf")


def test_an_exact_duplicate_wire_is_refused():
    wires = [{"name": "a", "ring": "ring1", "angle_deg": 45}, {"name": "b", "ring": "ring1", "angle_deg": 135,
                                                              "face": "bottom"},
             {"name": "c", "ring": "ring4", "angle_deg": 45}, {"name": "d", "ring": "ring4", "angle_deg": 135,
                                                              "face": "bottom"}]
    bad({"wires": wires + [{"name": "a2", "ring": "ring1", "angle_deg": 45}]}, "wires[4]",
        "duplicates wire 'a'", "ring 'ring1'", "face 'top'")
    # the same line written from the other end (225 deg, offset negated)
    bad({"wires": wires + [{"name": "a2", "ring": "ring1", "angle_deg": 225, "offset_mm": 0.0}]}, "wires[4]",
        "duplicates wire 'a'")
    bad({"wires": wires + [{"name": "a2", "ring": "ring1", "angle_deg": 45, "offset_mm": 1.0}]},
        "wires[4].offset_mm", "overlap", "1.8 mm apart")
    parse_scenario({"wires": wires + [{"name": "a2", "ring": "ring1", "angle_deg": 45, "offset_mm": 5.0}]})


def test_wires_and_pins_keep_clear_of_the_gap():
    """A ring at the osteotomy level put its wires 4.4 mm from the gap's centre."""
    msg = bad({"rings": [{"name": "ring1", "level_mm": 50}, {"name": "ring2", "level_mm": 180},
                         {"name": "ring3", "level_mm": 310}]},
              "wires[2].ring", "the wire at z = 184.4 mm is 2.5 mm from the gap", "at least 10 mm",
              "AO Surgery Reference")
    assert "default wires" in msg  # and says the wire is a default one
    bad({"half_pins": [{"name": "p", "ring": "ring3", "angle_deg": 90, "post_height_mm": -30}]},
        "half_pins[0].post_height_mm", "the pin at z = 190 mm is 6.0 mm from the gap")
    # 10 mm of bone between the pin's edge and the gap is accepted
    parse_scenario({"half_pins": [{"name": "p", "ring": "ring3", "angle_deg": 90, "post_height_mm": -26}]})


def test_rods_between_rings_of_different_sizes_lean_within_conical_washers():
    rings = [{"name": "a", "level_mm": 50}, {"name": "b", "level_mm": 140}, {"name": "c", "level_mm": 220},
             {"name": "d", "level_mm": 310, "inner_diameter_mm": 180}]
    # the default rods run a -> d through b and c: b and c are off the straight line
    msg = bad({"rings": rings}, "rods[0]", "through ring 'b'", "off the straight line", "would have to bend")
    assert "default rods" in msg
    # a -> c straight, c -> d leaning 6.3 deg (10 mm over 90 mm): accepted
    rods = [{"name": f"r{a}", "angle_deg": a, "to_ring": "c"} for a in (0, 90, 180, 270)]
    rods += [{"name": f"t{a}", "angle_deg": a, "from_ring": "c", "to_ring": "d"} for a in (45, 135, 225, 315)]
    s = parse_scenario({"rings": rings, "rods": rods})
    assert len(s.rods) == 8
    # 160 mm to 200 mm rings 40 mm apart: 26.6 deg, refused
    rings[3] = {"name": "d", "level_mm": 260, "inner_diameter_mm": 200}
    bad({"rings": rings, "rods": rods}, "rods[4]", "rod 't45'", "would lean 26.6 deg", "at most 10 deg")
    # a ring off centre along a straight rod between two rings leans it too (5 mm over 90 mm: accepted)
    rings[3] = {"name": "d", "level_mm": 310, "centre_xy_mm": [5.0, 0.0]}
    parse_scenario({"rings": rings, "rods": rods})


def test_one_ring_gets_no_default_rods():
    notes = []
    with pytest.raises(ScenarioError) as err:
        parse_scenario({"rings": [{"name": "only", "level_mm": 100}]}, notes=notes)
    assert "rods" not in err.value.field and "to_ring" not in str(err.value)
    assert "proximal fragment is held by no wire" in str(err.value)
    # a frame-only bench needs two rings: refused for that reason, not for rods
    bad({"rings": [{"name": "only", "level_mm": 100}], "loads": {"setup": "frame_only"}}, "rings", "two rings")


def test_what_validate_built_from_defaults_is_said():
    notes = []
    parse_scenario({"wires": [{"name": "a", "ring": "ring1", "angle_deg": 45},
                              {"name": "b", "ring": "ring1", "angle_deg": 135, "face": "bottom"},
                              {"name": "c", "ring": "ring4", "angle_deg": 45},
                              {"name": "d", "ring": "ring4", "angle_deg": 135, "face": "bottom"}]}, notes=notes)
    text = "\n".join(notes)
    assert "the file has no [[rings]]: the standard four rings" in text
    assert "wires: 4 from the file; they replace the default wires (none is added); rings with no wire: ring2, " \
           "ring3" in text
    assert "rods: the file has no [[rods]]: four rods" in text
    r = _cli("validate", str(ROOT / "scenarios" / "two-ring.toml"))
    assert r.returncode == 0, r.stderr
    assert "wires: the file has no [[wires]]: two 1.8 mm smooth wires per ring" in r.stdout
    assert "held in all six directions" in r.stdout
    assert "estimate of frame model run: about 699 cells, 4,104 unknowns" in r.stdout
    assert "estimate of continuum model run" in r.stdout


def test_the_ranges_are_documented():
    from sim.scenario import LIMITS

    doc = (ROOT / "docs" / "validation.md").read_text()
    for key, limit in LIMITS.items():
        assert f"| `{key}` | {limit.words().split(' (')[0]} |" in doc, key


def test_clamp_slip_refusal_names_the_key_and_the_slip_force_the_file_used():
    """A tension given in kgf is refused under that key; a slip force from a per-part
    override is named as that override (fresh-user trial)."""
    wires = [{"name": "w", "ring": "ring1", "angle_deg": 0, "tension_kgf": 90, "olive": True},
             {"name": "v", "ring": "ring4", "angle_deg": 0, "tension_N": 500, "olive": True}]
    msg = bad({"wires": wires, "interfaces": {"wire_clamp": {"rigid": False},
                                              "override": [{"part": "w", "wire_clamp": {"slip_force_N": 800}}]}},
              "wires[0].tension_kgf", "883 N (90 kgf) is at or above the slip force of its clamps (800 N, 82 kgf; "
              "interfaces.override[0].wire_clamp.slip_force_N)", "accepted: a tension below 800 N (81.6 kgf)")
    assert "interfaces.wire_clamp.slip_force_N" not in msg
    bad({"wires": wires, "interfaces": {"wire_clamp": {"rigid": False, "slip_force_N": 450}}},
        "wires[0].tension_kgf", "(450 N, 46 kgf; interfaces.wire_clamp.slip_force_N)")


def test_an_interface_override_on_a_ring_says_rings_have_none():
    msg = bad({"interfaces": {"override": [{"part": "ring1", "wire_clamp": {"slip_force_N": 1500}}]}},
              "interfaces.override[0].part", "'ring1' is a ring, which has no interface of its own",
              "accepted: the name of a wire, rod or half pin")
    listed = msg.rsplit("(", 1)[1].rstrip(")").split(", ")
    assert "ring_lateral" not in listed and "rod_lateral" in listed and not {"ring1", "ring2"} & set(listed)
    bad({"interfaces": {"override": [{"part": "ring9_wire1"}]}}, "interfaces.override[0].part",
        "'ring9_wire1' is not a wire, rod or half pin of the frame")
