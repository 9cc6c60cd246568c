"""The scenario's schema (issue 18): the JSON Schema shipped for editors cannot go stale and
accepts every shipped scenario; Scenario.replace validates as loading a file does."""

import copy
import dataclasses
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest

from sim import schema as schema_module
from sim.scenario import ScenarioError, load_scenario, parse_scenario
from sim.units import N_PER_KGF

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
SCENARIO_FILES = sorted(p for p in (ROOT / "scenarios").rglob("*.toml")
                        if "parameters" not in tomllib.loads(p.read_text()))  # not the sweep files
VALIDATION_FILES = sorted((ROOT / "validation").glob("*.toml"))


def _validator(name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads((SCHEMAS / name).read_text()))


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=cwd)


# ----------------------------------------------------------------------------- the shipped schema
def test_the_shipped_schemas_are_freshly_generated():
    for name, schema in schema_module.schemas().items():
        jsonschema.Draft7Validator.check_schema(schema)
        assert (SCHEMAS / name).read_text() == schema_module.schema_text(schema), \
            f"schemas/{name} is out of date: regenerate it with python -m sim.schema"


def test_the_schema_command_writes_and_checks(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sim.schema", "--check", "--out", str(tmp_path)], capture_output=True,
                       text=True)
    assert r.returncode == 1 and "out of date" in r.stderr and not list(tmp_path.iterdir())
    r = subprocess.run([sys.executable, "-m", "sim.schema", "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.schema.json", "validation-test.schema.json"]
    r = subprocess.run([sys.executable, "-m", "sim.schema", "--check", "--out", str(tmp_path)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("path", SCENARIO_FILES + VALIDATION_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_scenario_names_its_schema_and_meets_it(path):
    name = "validation-test.schema.json" if path.parent.name == "validation" else "scenario.schema.json"
    first = path.read_text().splitlines()[0]
    assert first.startswith("#:schema "), f"{path.name}: the first line is not Taplo's #:schema directive"
    target = (path.parent / first.removeprefix("#:schema ").strip()).resolve()
    assert target == (SCHEMAS / name).resolve()
    data = tomllib.loads(path.read_text())
    errors = [f"{list(e.path)}: {e.message}" for e in _validator(name).iter_errors(data)]
    assert not errors, errors


def test_a_misspelt_key_fails_the_schema_and_validate_suggests_the_key(tmp_path):
    data = {"bone": {"lenght_mm": 300}}
    errors = list(_validator("scenario.schema.json").iter_errors(data))
    assert errors and "'lenght_mm' was unexpected" in errors[0].message and list(errors[0].path) == ["bone"]
    f = tmp_path / "s.toml"
    f.write_text("#:schema ../schemas/scenario.schema.json\n[bone]\nlenght_mm = 300\n")
    r = _cli("validate", str(f))
    assert r.returncode == 2
    assert "bone.lenght_mm: unknown key (did you mean 'length_mm'?)" in r.stderr


def test_the_schema_knows_the_alias_keys_types_and_ranges():
    v = _validator("scenario.schema.json")
    wire = {"name": "w", "ring": "ring1", "angle_deg": 0}
    assert v.is_valid({"wires": [dict(wire, tension_kgf=90)]})
    assert v.is_valid({"wires": [dict(wire, tension_N=900)]})
    assert v.is_valid({"wires": [wire]})  # 90 kgf
    assert not v.is_valid({"wires": [dict(wire, tension_kgf=90, tension_N=900)]})  # the tension twice
    assert not v.is_valid({"wires": [dict(wire, tension_kfg=90)]})
    assert not v.is_valid({"bone": {"length_mm": 1e300}})  # LIMITS: 30 to 650 mm
    assert not v.is_valid({"gap": {"width_mm": "two"}})
    assert not v.is_valid({"loads": {"setup": "cadaver"}})
    assert not v.is_valid({"rings": [{"name": "r", "level_mm": 50, "centre_xy_mm": [0, 0, 0]}]})
    bone = v.schema["$defs"]["Bone"]["properties"]["length_mm"]
    assert bone["minimum"] == 30 and bone["maximum"] == 650 and "Unit: mm" in bone["description"]
    assert "femur" in bone["description"]


def test_what_validate_accepts_the_schema_accepts():
    """The resolved scenarios of the fuzz bases (every table, every default) meet the schema:
    the schema's ranges are never narrower than validate's."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_fuzz import bases

    v = _validator("scenario.schema.json")
    for name, data in bases().items():
        parse_scenario(copy.deepcopy(data))
        errors = [f"{list(e.path)}: {e.message}" for e in v.iter_errors(json.loads(json.dumps(data)))]
        assert not errors, (name, errors)


# ----------------------------------------------------------------------------- Scenario.replace
WIRES_15 = ROOT / "scenarios" / "wires-1.5mm.toml"


def _file_error(tmp_path, old: str, new: str) -> str:
    """The error of wires-1.5mm.toml with its first `old` line replaced by `new`."""
    text = WIRES_15.read_text()
    assert old in text
    f = tmp_path / "wires-1.5mm.toml"
    f.write_text(text.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    return str(info.value)


@pytest.mark.parametrize("changes, old, new", [
    ({"wires[0].tension_kgf": 200}, "tension_kgf = 90", "tension_kgf = 200"),  # above the 1.5 mm wire's yield
    ({"bone.length_mm": "long"}, "length_mm = 360", 'length_mm = "long"'),
    ({"bone.length_mm": 1e300}, "length_mm = 360", "length_mm = 1e300"),
    ({"bone.lenght_mm": 300}, "length_mm = 360", "length_mm = 360\nlenght_mm = 300"),
    ({"wires[0].tension_kfg": 90}, "tension_kgf = 90", "tension_kgf = 90\ntension_kfg = 90"),
    ({"rings[0].inner_diameter_mm": 1e6}, "inner_diameter_mm = 160", "inner_diameter_mm = 1e6"),
])
def test_replace_refuses_a_bad_value_as_a_file_does(tmp_path, changes, old, new):
    s = load_scenario(WIRES_15)
    with pytest.raises(ScenarioError) as info:
        s.replace(changes)
    assert str(info.value) == _file_error(tmp_path, old, new)
    assert info.value.field.split(".")[0] == next(iter(changes)).split(".")[0]  # the field named


def test_replace_makes_a_validated_copy():
    s = load_scenario(WIRES_15)
    t = s.replace({"wires[0].tension_kgf": 100, "bone.length_mm": 340, "gap": {"level_mm": 170, "width_mm": 3}},
                  description="changed")
    assert t.wires[0].tension_N == pytest.approx(100 * N_PER_KGF) and t.wires[1] == s.wires[1]
    assert t.bone.length_mm == 340 and t.gap.width_mm == 3 and t.description == "changed"
    assert s.wires[0].tension_kgf == pytest.approx(90) and s.bone.length_mm == 360  # the original unchanged
    assert s.replace({}) == s
    assert t.replace({"wires[0].tension_N": 500}).wires[0].tension_N == 500  # N after kgf: one tension
    # dataclasses.replace builds without checking; Scenario.replace refuses
    loose = dataclasses.replace(s, bone=dataclasses.replace(s.bone, length_mm=-1))
    assert loose.bone.length_mm == -1
    with pytest.raises(ScenarioError, match="bone.length_mm: -1 mm is not accepted; accepted: 30 to 650 mm"):
        s.replace({"bone.length_mm": -1})


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_replace_with_no_change_gives_the_same_scenario(path):
    s = load_scenario(path)
    assert s.replace({}) == s


@pytest.mark.parametrize("path, phrase", [
    ("wires[9].tension_N", "wires[9].tension_N: wires has 8 entries; index 9 is out of range"),
    ("bone[0]", "bone[0]: bone is not a list, so [0] does not apply"),
    ("bone.length_mm.x", "bone.length_mm.x: bone.length_mm is not a table, so 'x' does not apply"),
    ("bone..length_mm", "bone..length_mm: '' is not a key or key[index]"),
])
def test_replace_names_a_path_that_does_not_exist(path, phrase):
    with pytest.raises(ScenarioError) as info:
        load_scenario(WIRES_15).replace({path: 1})
    assert phrase in str(info.value)


# ----------------------------------------------------------------------------- pydantic's errors, in our words
@pytest.mark.parametrize("data, message", [
    ({"bone": {"lenght_mm": 300}}, "bone.lenght_mm: unknown key (did you mean 'length_mm'?); accepted keys: "
     "length_mm, outer_diameter_mm, inner_diameter_mm, material, limb_diameter_mm, min_skin_clearance_mm, intact"),
    ({"bonee": {}}, "bonee: unknown key (did you mean 'bone'?)"),
    ({"gap": {"width_mm": "two"}}, "gap.width_mm: 'two' is not a number"),
    ({"gap": {"width_mm": True}}, "gap.width_mm: True is not a number"),
    ({"gap": {"width_mm": float("nan")}}, "gap.width_mm: nan is not a finite number"),
    ({"bone": {"length_mm": 10 ** 400}}, "bone.length_mm: 1000000"),
    ({"loads": {"axial": {"steps": 2.5}}}, "loads.axial.steps: 2.5 is not a whole number"),
    ({"bone": {"intact": "yes"}}, "bone.intact: 'yes' is not true or false"),
    ({"name": 3}, "name: 3 is not a string"),
    ({"loads": {"setup": "cadaver"}}, "loads.setup: 'cadaver' is not accepted; accepted: one of 'bone_bench', "
     "'frame_only', 'ring_held'"),
    ({"loads": {"cases": "axial"}}, "loads.cases: 'axial' is not a list"),
    ({"loads": {"cases": ["axial", 3]}}, "loads.cases[1]: 3 is not a string"),
    ({"gap": {"regenerate": 3}}, "gap.regenerate: 3 is not a table"),
    ({"rings": [{"name": "a", "level_mm": 50, "centre_xy_mm": [1.0]}]},
     "rings[0].centre_xy_mm: [1.0] must have 2 entries"),
    ({"rings": [{"name": "a", "level_mm": 50, "centre_xy_mm": [[1, 2]]}]},
     "rings[0].centre_xy_mm: [[1, 2]] must have 2 entries"),
    ({"rings": [{"name": "a"}]}, "rings[0].level_mm: is required (a number)"),
    ({"hexapod": {"side": "left"}}, "hexapod.reference_ring: is required (a string)"),
    ({"rings": 3}, "rings: must be an array of tables ([[rings]] entries), got 3"),
    ({"wires": [{"name": "w", "ring": "ring1", "angle_deg": 0, "tension_kgf": "x"}]},
     "wires[0].tension_kgf: 'x' is not a number"),
    ({"wires": [{"name": "w", "ring": "ring1", "angle_deg": 0, "tension_kgf": 90, "tension_N": 900}]},
     "wires[0].tension_kgf: give the tension once, as tension_N or tension_kgf, not both"),
    ({"continuum": {"petsc_options": {"ksp_rtol": [1]}}},
     "continuum.petsc_options.ksp_rtol: [1] is not accepted; accepted: a string, number or boolean"),
    ({"interfaces": {"override": [{"part": "ring1_wire1", "wire_clamp": {"slip_force_N": "abc"}}]}},
     "interfaces.override[0].wire_clamp.slip_force_N: 'abc' is not a finite number"),
    ({"interfaces": {"override": [{"part": "ring1_wire1", "wire_clamp": {"rigid": 1}}]}},
     "interfaces.override[0].wire_clamp.rigid: 1 is not true or false"),
])
def test_type_errors_name_the_field_the_value_and_what_is_accepted(data, message):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert str(info.value).startswith(message), str(info.value)


def test_replace_refuses_what_a_file_refuses_and_takes_the_scenarios_own_parts():
    """Found by a fresh-user trial: the tension given twice, [*] on an empty list, and the
    scenario's own Wire objects given back with one more."""
    from sim.scenario import ScenarioError, load_scenario

    s = load_scenario(ROOT / "scenarios" / "standard-4ring.toml")
    with pytest.raises(ScenarioError, match="give the tension once, as tension_N or tension_kgf, not both"):
        s.replace({"wires[0].tension_kgf": 100, "wires[0].tension_N": 900})
    with pytest.raises(ScenarioError, match=r"half_pins\[\*\]\.diameter_mm: half_pins has no entries"):
        s.replace({"half_pins[*].diameter_mm": 5})
    extra = {"name": "ring1_wire3", "ring": "ring1", "angle_deg": 45, "face": "top", "offset_mm": 6, "olive": True}
    t = s.replace(wires=[*s.wires, extra])
    assert len(t.wires) == len(s.wires) + 1 and t.wires[:-1] == s.wires
