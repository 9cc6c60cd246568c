"""Scenario files that extend another, and the one-line patterns of parts (issue 19, item 6;
sim/composition.py): the merge rule, the errors naming the file a key came from, the
patterns expanding to the parts a file would write out by hand, old files unchanged."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sim.composition import load_composed
from sim.scenario import ScenarioError, load_scenario, parse_scenario
from sim.units import N_PER_KGF

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
STANDARD = SCENARIOS / "standard-4ring.toml"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def _files(tmp_path: Path, **files: str) -> Path:
    """Write the files (name -> text) beside a copy of the standard frame; the first one's path."""
    (tmp_path / "standard-4ring.toml").write_text(STANDARD.read_text())
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text)
    return tmp_path / f"{next(iter(files))}.toml"


def _error(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value)


# ----------------------------------------------------------------------------- extends
def test_a_chain_of_bases_merges_tables_key_by_key_and_the_extending_file_wins(tmp_path):
    top = _files(tmp_path,
                 top='extends = "sub/mid.toml"\n[loads.axial]\nforce_N = 600\n[bone]\nlength_mm = 330\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mid.toml").write_text('extends = "../standard-4ring.toml"\ndescription = "mid"\n'
                                               '[bone]\nlength_mm = 340\nouter_diameter_mm = 22\n')
    base, s = load_scenario(STANDARD), load_scenario(top)
    assert s.name == "top"  # the file's stem, never the base's name
    assert s.description == "extends mid.toml: mid"
    assert s.bone.length_mm == 330 and s.bone.outer_diameter_mm == 22  # the top wins, the middle's other key stays
    assert s.bone.inner_diameter_mm == base.bone.inner_diameter_mm
    assert s.loads.axial.force_N == 600 and s.loads.axial.steps == base.loads.axial.steps
    assert (s.rings, s.wires, s.rods, s.gap) == (base.rings, base.wires, base.rods, base.gap)
    assert load_scenario(tmp_path / "sub" / "mid.toml").name == "mid"


def test_parts_merge_by_name_a_new_name_adds_a_part_remove_leaves_one_out(tmp_path):
    f = _files(tmp_path, pin='extends = "standard-4ring.toml"\nremove = ["ring3_wire2"]\n'
               '[[wires]]\nname = "ring2_wire1"\ntension_kgf = 110\n'
               '[[rings]]\nname = "ring4"\nthickness_mm = 8\n'
               '[[half_pins]]\nname = "pin1"\nring = "ring2"\nangle_deg = 90\n')
    base, notes = load_scenario(STANDARD), []
    s = load_scenario(f, notes=notes)
    assert [w.name for w in s.wires] == [w.name for w in base.wires if w.name != "ring3_wire2"]
    changed = s.wires[2]
    assert changed.name == "ring2_wire1" and changed.tension_N == pytest.approx(110 * N_PER_KGF)
    assert changed == base.wires[2].__class__(**{**base.wires[2].__dict__, "tension_N": 110 * N_PER_KGF})
    assert [w for w in s.wires if w.name != "ring2_wire1"] == [w for w in base.wires
                                                               if w.name not in ("ring2_wire1", "ring3_wire2")]
    assert s.rings[3].thickness_mm == 8 and s.rings[3].level_mm == base.rings[3].level_mm
    assert s.rings[:3] == base.rings[:3]
    assert [p.name for p in s.half_pins] == ["pin1"]
    assert notes[0] == "extends standard-4ring.toml; removed: ring3_wire2; changed: ring4, ring2_wire1; added: pin1"


def test_removing_a_part_and_giving_it_anew_replaces_it_whole(tmp_path):
    f = _files(tmp_path, w='extends = "standard-4ring.toml"\nremove = ["ring1_wire1"]\n'
               '[[wires]]\nname = "ring1_wire1"\nring = "ring1"\nangle_deg = 30\nolive = true\n')
    s = load_scenario(f)
    w = next(w for w in s.wires if w.name == "ring1_wire1")
    assert (w.angle_deg, w.olive, w.face, w.tension_N) == (30, True, "top", 90 * N_PER_KGF)
    assert s.wires[-1] is w  # a new part goes last


def test_a_tension_given_in_kgf_replaces_the_bases_tension_in_N(tmp_path):
    f = _files(tmp_path, n='extends = "standard-4ring.toml"\n[[wires]]\nname = "ring1_wire1"\ntension_N = 1000\n')
    g = tmp_path / "k.toml"
    g.write_text('extends = "n.toml"\n[[wires]]\nname = "ring1_wire1"\ntension_kgf = 100\n')
    assert load_scenario(f).wires[0].tension_N == 1000
    assert load_scenario(g).wires[0].tension_N == pytest.approx(100 * N_PER_KGF)


def test_a_base_with_default_parts_gives_them_by_name(tmp_path):
    """An empty base is the standard frame: its default wires can be changed by name."""
    (tmp_path / "empty.toml").write_text("")
    f = tmp_path / "f.toml"
    f.write_text('extends = "empty.toml"\n[[wires]]\nname = "ring4_wire2"\ndiameter_mm = 1.5\n')
    s, base = load_scenario(f), load_scenario(tmp_path / "empty.toml")
    assert len(s.wires) == 8 and s.wires[7].diameter_mm == 1.5 and s.wires[:7] == base.wires[:7]


def test_a_cycle_is_refused_naming_the_files(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    (tmp_path / "self.toml").write_text('extends = "self.toml"\n')
    text = _error(tmp_path / "a.toml")
    assert text.startswith("extends: the base scenario ") and "b.toml" in text
    assert "extends: a cycle: a.toml extends b.toml extends a.toml" in text
    assert "extends: a cycle: self.toml extends self.toml" in _error(tmp_path / "self.toml")


def test_a_missing_base_is_refused_naming_extends_and_the_path_tried(tmp_path):
    f = _files(tmp_path, f='extends = "standard-4rings.toml"\n')
    text = _error(f)
    assert text == (f"extends: 'standard-4rings.toml': no such scenario file {tmp_path / 'standard-4rings.toml'} "
                    f"(the path is relative to f.toml, in {tmp_path})")
    (tmp_path / "g.toml").write_text("extends = 4\n")
    assert _error(tmp_path / "g.toml").startswith("extends: 4 is not accepted; accepted: the path of a scenario file")


def test_a_bad_key_in_the_base_is_named_with_the_base_file(tmp_path):
    (tmp_path / "base.toml").write_text('[bone]\nlenght_mm = 300\n')
    f = _files(tmp_path, f='extends = "base.toml"\n')
    assert _error(f) == (f"extends: the base scenario {tmp_path / 'base.toml'}: bone.lenght_mm: unknown key "
                         "(did you mean 'length_mm'?); accepted keys: " + _error(tmp_path / "base.toml").split(
                             "accepted keys: ")[1])


def test_a_bad_key_in_an_inherited_part_names_the_part_and_both_files(tmp_path):
    f = _files(tmp_path, f='extends = "standard-4ring.toml"\n[[wires]]\nname = "ring2_wire1"\nolvie = true\n')
    text = _error(f)
    assert text.startswith("wires[2].olvie: unknown key (did you mean 'olive'?)")
    assert text.endswith("[wires[2] is 'ring2_wire1', from standard-4ring.toml; olvie given in f.toml]")
    g = _files(tmp_path, g='extends = "standard-4ring.toml"\n[[wires]]\nname = "ring2_wire1"\ntension_kgf = 400\n')
    text = _error(g)
    assert text.startswith("wires[2].tension_kgf: 3923 N (400 kgf) stresses the 1.8 mm wire")
    assert text.endswith("[wires[2] is 'ring2_wire1', from standard-4ring.toml; tension_kgf given in g.toml]")
    h = _files(tmp_path, h='extends = "standard-4ring.toml"\n[bone]\nlength_mm = 1e5\n')
    assert _error(h).endswith("[bone.length_mm given in h.toml]")


def test_remove_names_a_part_there_is(tmp_path):
    f = _files(tmp_path, f='extends = "standard-4ring.toml"\nremove = ["ring9_wire1"]\n')
    assert _error(f).startswith("remove[0]: 'ring9_wire1' is no part of the base scenario standard-4ring.toml; "
                                "accepted: one of ring1, ring2, ring3, ring4, ring1_wire1,")
    g = _files(tmp_path, g='extends = "standard-4ring.toml"\nremove = "ring1_wire1"\n')
    assert _error(g).startswith("remove: 'ring1_wire1' is not accepted; accepted: a list of part names")
    with pytest.raises(ScenarioError, match="^remove: leaves out parts of the scenario this file extends, and it "
                       "extends none"):
        parse_scenario({"remove": ["ring1_wire1"]})
    h = _files(tmp_path, h='extends = "standard-4ring.toml"\n[[wires]]\nring = "ring1"\nangle_deg = 10\n')
    assert _error(h) == "wires[8].name: is required (a string)"  # a new part: no name, no file to guess


def test_only_a_file_can_extend_another():
    with pytest.raises(ScenarioError, match="^extends: only a scenario file can extend another"):
        parse_scenario({"extends": "standard-4ring.toml"})
    for key in ("extends", "remove", "wire_pairs", "rods_evenly.count"):
        with pytest.raises(ScenarioError, match=rf"^{key}: a key of a scenario file .*; accepted: the paths of the "):
            load_scenario(STANDARD).replace({key: 4})


# ----------------------------------------------------------------------------- patterns
def test_a_wire_pair_on_every_ring_is_the_standard_frame():
    assert parse_scenario({"wire_pairs": [{"crossing_deg": 90}]}) == parse_scenario({})
    assert parse_scenario({"wire_pairs": [{"crossing_deg": 90, "tension_kgf": 90, "diameter_mm": 1.8,
                                           "rings": ["ring1", "ring2", "ring3", "ring4"]}]}) == parse_scenario({})


def test_the_shipped_variants_are_their_files_written_out_by_hand():
    """crossing-60 and tension-130kgf were whole files; they now extend the standard frame."""
    base = load_scenario(STANDARD)
    by_hand = {f"wires[{2 * k + 1}].angle_deg": 105 for k in range(4)}
    assert load_scenario(SCENARIOS / "crossing-60.toml") == base.replace(
        by_hand, name="crossing-60", description="standard frame with the wires of each ring crossing at 60 degrees")
    assert load_scenario(SCENARIOS / "tension-130kgf.toml") == base.replace(
        {"wires[*].tension_kgf": 130}, name="tension-130kgf",
        description="standard frame with all wires tensioned to 130 kgf")


def test_a_wire_pair_replaces_the_wires_of_its_rings_only_and_keeps_their_place(tmp_path):
    f = _files(tmp_path, f='extends = "standard-4ring.toml"\n[[wire_pairs]]\nrings = ["ring2"]\ncrossing_deg = 60\n'
               'about_deg = 0\nolive = true\n[[wires]]\nname = "ring2_wire2"\nolive = false\n')
    base, s = load_scenario(STANDARD), load_scenario(f)
    assert [w.name for w in s.wires] == [w.name for w in base.wires]
    w1, w2 = s.wires[2], s.wires[3]
    assert (w1.angle_deg, w1.face, w1.olive) == (-30, "top", True)
    assert (w2.angle_deg, w2.face, w2.olive) == (30, "bottom", False)  # the file's [[wires]] entry changes it
    assert s.wires[:2] + s.wires[4:] == base.wires[:2] + base.wires[4:]
    assert s.to_dict()["wires"][2]["angle_deg"] == -30  # scenario.resolved.json lists the parts made


def test_rods_evenly_are_the_rods_written_out_by_hand():
    hand = [{"name": f"rod{k + 1}", "angle_deg": a, "diameter_mm": 8} for k, a in enumerate((30, 150, 270))]
    assert parse_scenario({"rods_evenly": {"count": 3, "start_deg": 30, "diameter_mm": 8}}) == \
        parse_scenario({"rods": hand})
    six = load_scenario(SCENARIOS / "six-rods.toml")
    assert [(r.name, r.angle_deg) for r in six.rods] == [(f"rod{k + 1}", 60.0 * k) for k in range(6)]
    assert [w.name for w in six.wires if w.olive] == ["ring2_wire1", "ring3_wire1"]
    wrapped = parse_scenario({"rods_evenly": {"count": 4, "start_deg": 300}})
    assert [r.angle_deg for r in wrapped.rods] == [300, 30, 120, 210]


@pytest.mark.parametrize("data, message", [
    ({"wire_pairs": [{"crosing_deg": 60}]}, "wire_pairs[0].crosing_deg: unknown key (did you mean 'crossing_deg'?)"),
    ({"wire_pairs": [{"crossing_deg": 0}]}, "wire_pairs[0].crossing_deg: 0 deg is not accepted; accepted: more than "
                                            "0 and less than 180 deg"),
    ({"wire_pairs": [{"crossing_deg": 60, "rings": ["ring7"]}]},
     "wire_pairs[0].rings[0]: 'ring7' is no ring of the scenario; its rings: ring1, ring2, ring3, ring4"),
    ({"wire_pairs": [{"crossing_deg": 60, "rings": ["ring1"]}, {"crossing_deg": 90, "rings": ["ring1"]}]},
     "wire_pairs[1].rings[0]: ring 'ring1' already has a pair of wires from another [[wire_pairs]] entry"),
    ({"wire_pairs": [{"crossing_deg": 60, "tension_N": 900, "tension_kgf": 90}]},
     "wire_pairs[0].tension_kgf: give the tension once"),
    ({"wire_pairs": {"crossing_deg": 60}}, "wire_pairs: must be an array of tables"),
    ({"wire_pairs": [{"crossing_deg": 60, "diameter_mm": 4}]},
     "wires[0].diameter_mm: 4 mm is not accepted; accepted: 1 to 2.5 mm"),
    ({"rods_evenly": {"count": 0}}, "rods_evenly.count: 0 is not accepted; accepted: 1 to 64 rods"),
    ({"rods_evenly": {"count": 2.5}}, "rods_evenly.count: 2.5 is not a whole number"),
    ({"rods_evenly": {"count": 4, "start_deg": 400}}, "rods_evenly.start_deg: 400 deg is not accepted"),
])
def test_a_bad_pattern_is_refused_with_its_path(data, message):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert str(info.value).startswith(message), str(info.value)


def test_an_error_in_a_part_made_by_a_pattern_names_the_pattern():
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"wire_pairs": [{"crossing_deg": 60, "diameter_mm": 4}]})
    assert str(info.value).endswith("[wires[0] is 'ring1_wire1', from wire_pairs[0] of the scenario]")


# ----------------------------------------------------------------------------- old files
@pytest.mark.parametrize("path", sorted(p for p in SCENARIOS.glob("*.toml")
                                        if not {"extends", "wire_pairs", "rods_evenly", "remove"}
                                        & tomllib.loads(p.read_text()).keys()), ids=lambda p: p.stem)
def test_a_file_without_extends_or_patterns_loads_as_before(path):
    data = tomllib.loads(path.read_text())
    assert load_composed(path) == (data, None)  # untouched
    assert load_scenario(path) == parse_scenario(data, default_name=path.stem)


# ----------------------------------------------------------------------------- command line
BAD = {
    "missing": ('extends = "nothere.toml"\n', "extends: 'nothere.toml': no such scenario file"),
    "cycle": ('extends = "cycle.toml"\n', "extends: a cycle: cycle.toml extends cycle.toml"),
    "bad_key": ('extends = "standard-4ring.toml"\n[[wires]]\nname = "ring1_wire1"\ntensoin_kgf = 90\n',
                "wires[0].tensoin_kgf: unknown key (did you mean 'tension_kgf'?)"),
    "bad_base": ('extends = "base-typo.toml"\n', "base-typo.toml: gap.widht_mm: unknown key (did you mean "
                                                 "'width_mm'?)"),
    "remove": ('extends = "standard-4ring.toml"\nremove = ["rod_top"]\n', "remove[0]: 'rod_top' is no part"),
    "pattern": ('extends = "standard-4ring.toml"\n[[wire_pairs]]\ncrossing_deg = 180\n',
                "wire_pairs[0].crossing_deg: 180 deg is not accepted; accepted: more than 0 and less than 180 deg"),
}


@pytest.mark.parametrize("case", BAD)
def test_validate_refuses_each_bad_file_with_exit_2_and_the_message(tmp_path, case):
    text, message = BAD[case]
    f = _files(tmp_path, **{case: text})
    (tmp_path / "base-typo.toml").write_text("[gap]\nwidht_mm = 2\n")
    r = _cli("validate", f)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{f}: " in r.stderr and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["standard-4ring.toml", "base-typo.toml",
                                                                 f"{case}.toml"])  # nothing written


def test_validate_says_what_the_file_extends_and_changes():
    r = _cli("validate", SCENARIOS / "six-rods.toml")
    assert r.returncode == 0, r.stderr
    assert "  extends standard-4ring.toml; changed: ring2_wire1, ring3_wire1\n" in r.stdout
    assert "  rods_evenly: 6 rods rod1 ... rod6, every 60 deg from 0 deg (in place of any rods)\n" in r.stdout


def test_a_sweep_may_start_from_a_file_that_extends_another(tmp_path):
    """A sweep's base and a scenario's extends are both relative to the file that names them."""
    from sim.sweep import expand, load_sweep

    (tmp_path / "scenarios").mkdir()
    for name in ("standard-4ring.toml", "crossing-60.toml"):
        (tmp_path / "scenarios" / name).write_text((SCENARIOS / name).read_text())
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('base = "scenarios/crossing-60.toml"\n[[parameters]]\npath = "wires[*].tension_kgf"\n'
                     "values = [80, 100]\n")
    sw = load_sweep(sweep)
    assert [w["angle_deg"] for w in sw.base["wires"]][:2] == [45, 105]
    assert len(expand(sw)) == 2
