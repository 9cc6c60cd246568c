"""Every shipped scenario runs from the command line and writes the results contract."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def run_cli(scenario, out, *extra):
    return subprocess.run([sys.executable, "-m", "sim.cli", "run", str(scenario), "--out", str(out), *extra],
                          capture_output=True, text=True)


def check_schema(d):
    """The document holds the shipped JSON Schema and the API's typed model."""
    import jsonschema

    from ilizarov.results import RunResults

    jsonschema.validate(d, json.loads((ROOT / "schemas" / "results.schema.json").read_text()))
    RunResults.model_validate(d)


def check_contract(d):
    check_schema(d)
    assert d["model"] == "frame"
    assert d["mesh"]["cells"] > 0 and d["mesh"]["dofs"] > 0
    for w in d["pretension"]["wires"]:
        assert {"name", "target_N", "achieved_N"} <= w.keys()
    cases = d["load_cases"]
    a = cases["axial"]
    for key in ("load_N", "displacement_mm", "secant_stiffness_N_per_mm", "tangent_stiffness_N_per_mm",
                "ifm_axial_mm", "ifm_shear_mm", "gap_strain", "wire_tension_N", "max_von_mises_MPa"):
        assert key in a, key
    assert {"bone", "wires", "rings", "rods"} <= a["max_von_mises_MPa"].keys()
    for name in ("bending_ap", "bending_ml", "torsion"):
        assert {"moment_Nm", "rotation_deg", "stiffness_Nm_per_deg"} <= cases[name].keys()
        assert cases[name]["stiffness_Nm_per_deg"] > 0
    assert {"mesh", "solve", "total"} <= d["timings_s"].keys()


def check_paraview(d, run_dir):
    """One ParaView series per load case, as results.json lists them (docs/paraview.md)."""
    assert d["paraview"].keys() == d["load_cases"].keys()
    for pvd in d["paraview"].values():
        assert (run_dir / pvd).is_file() and (run_dir / pvd).with_suffix("").is_dir()


def test_standard_scenario_end_to_end(tmp_path):
    out = tmp_path / "run"
    r = run_cli(ROOT / "scenarios" / "standard-4ring.toml", out)
    assert r.returncode == 0, r.stderr
    assert "Axial 1000 N" in r.stdout and "Torsion" in r.stdout
    d = json.loads((out / "results.json").read_text())
    check_contract(d)
    assert d["load_cases"]["axial"]["secant_stiffness_N_per_mm"] > 0
    for w in d["pretension"]["wires"]:
        assert w["achieved_N"] == pytest.approx(w["target_N"], rel=1e-4)  # simultaneous tensioning
    assert (out / "frame.png").stat().st_size > 10_000
    assert (out / "scenario.resolved.json").exists()
    check_paraview(d, out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging directory or lock left
    # a second run into the same directory replaces it
    r = run_cli(ROOT / "scenarios" / "standard-4ring.toml", out, "--no-picture", "--quiet")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.stem != "standard-4ring"], ids=lambda p: p.stem)
def test_shipped_scenario_runs(tmp_path, scenario):
    r = run_cli(scenario, tmp_path / "run", "--no-picture", "--quiet")
    assert r.returncode == 0, r.stderr
    d = json.loads((tmp_path / "run" / "results.json").read_text())
    check_paraview(d, tmp_path / "run")
    if d["setup"] == "frame_only":
        check_schema(d)
        assert d["load_cases"]["axial"]["ifm_axial_mm"] is None
    else:
        check_contract(d)


def test_ankle_foot_plate_runs_and_says_what_its_plate_is(tmp_path):
    """The foot-plate example (issue 19): validate describes the plate; the frame model runs
    it, the olive wires through the hindfoot reach their tension on the plate."""
    scenario = ROOT / "scenarios" / "ankle-foot-plate.toml"
    r = subprocess.run([sys.executable, "-m", "sim.cli", "validate", str(scenario)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "ring 'foot_plate' is a foot plate: a semicircle round the heel and two straight arms of 120 mm pointing " \
           "to 90 deg, 160 mm apart inside; open between the arms' tips" in r.stdout
    r = run_cli(scenario, tmp_path / "run", "--no-picture", "--quiet")
    assert r.returncode == 0, r.stderr
    d = json.loads((tmp_path / "run" / "results.json").read_text())
    check_contract(d)
    plate_wires = {w["name"]: w for w in d["pretension"]["wires"] if w["name"].startswith("calcaneus")}
    assert len(plate_wires) == 2
    for w in plate_wires.values():
        assert w["achieved_N"] == pytest.approx(w["target_N"], rel=1e-3)


def test_imported_bone_runs_from_a_copy_of_the_examples(tmp_path):
    """scenarios/imported-bone.toml reads its surface (scenarios/bones/tibia-template.stl)
    relative to itself: it runs from `ilizarov examples --out` as from the checkout, and the
    resolved scenario names the surface it read."""
    ex = subprocess.run([sys.executable, "-m", "sim.cli", "examples", "--out", str(tmp_path / "ex")],
                        capture_output=True, text=True)
    assert ex.returncode == 0, ex.stderr
    copied = tmp_path / "ex" / "scenarios" / "imported-bone.toml"
    assert (copied.parent / "bones" / "tibia-template.stl").is_file()
    r = run_cli(copied, tmp_path / "run", "--no-picture", "--quiet")
    assert r.returncode == 0, r.stderr
    d = json.loads((tmp_path / "run" / "results.json").read_text())
    check_contract(d)
    assert "tibia-template.stl" in d["assumptions"]["bone"]
    resolved = json.loads((tmp_path / "run" / "scenario.resolved.json").read_text())
    assert Path(resolved["bone"]["surface"]) == (copied.parent / "bones" / "tibia-template.stl").absolute()
def test_femoral_arch_runs_with_its_clamped_and_diverging_pins(tmp_path):
    """scenarios/femur-arch.toml (issue 19): the arch's four half pins, two in one
    multi-pin clamp, carry load in the frame model, and its picture is drawn."""
    r = run_cli(ROOT / "scenarios" / "femur-arch.toml", tmp_path / "run")
    assert r.returncode == 0, r.stderr
    d = json.loads((tmp_path / "run" / "results.json").read_text())
    check_contract(d)
    peaks = d["load_cases"]["axial"]["max_von_mises_MPa"]
    assert peaks["half_pins"] > 10.0  # the pins hold the proximal fragment
    resolved = json.loads((tmp_path / "run" / "scenario.resolved.json").read_text())
    assert [p["clamp"] for p in resolved["half_pins"]].count("lateral_clamp") == 2
    assert (tmp_path / "run" / "frame.png").stat().st_size > 10_000
