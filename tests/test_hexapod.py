"""Hexapod frames (issue 7): kinematics, the correction schedule, strut sizes, mechanics."""

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.correction import classic_frame, clinical_parameters, run_hexapod
from sim.hexapod import (KinematicsError, Pose, assign_sizes, exp_rotation, hexapod_geometry, initial_pose,
                         origin_of, plan_correction, rot_z)
from sim.materials import MATERIALS, Material
from sim.run import solve_frame
from sim.scenario import Deformity, ScenarioError, StrutSize, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "scenarios" / "hexapod-correction.toml"


def hexapod_data(**hexapod):
    h = {"reference_ring": "proximal", "moving_ring": "distal", "deformity": {}}
    h.update(hexapod)
    return {
        "gap": {"level_mm": 180.0, "width_mm": 10.0},
        "rings": [{"name": "distal", "level_mm": 100.0}, {"name": "proximal", "level_mm": 260.0}],
        "hexapod": h,
    }


# ----------------------------------------------------------------------------- kinematics
def test_forward_and_inverse_kinematics_round_trip():
    s = load_scenario(SHIPPED)
    g = hexapod_geometry(s)
    o = origin_of(s)
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(300):
        pose = Pose(exp_rotation(rng.normal(size=3) * 0.15), rng.normal(size=3) * 8.0, o)
        back = g.forward(g.lengths_mm(pose), origin_mm=o)
        worst = max(worst, pose.distance_to(back, g.platform_mm))
    assert worst < 1e-9


def test_pure_lengthening_lengthens_all_struts_equally():
    s = parse_scenario(hexapod_data())
    g = hexapod_geometry(s)
    o = origin_of(s)
    neutral = g.lengths_mm(Pose.identity(o))
    longer = g.lengths_mm(Pose(np.eye(3), np.array([0.0, 0.0, -10.0]), o))  # distal ring 10 mm further away
    assert np.ptp(neutral) < 1e-9 and np.ptp(longer) < 1e-9
    assert longer[0] > neutral[0]
    # exact: the same chord across the rings, 10 mm more height
    chord2 = neutral[0] ** 2 - 160.0 ** 2
    assert longer[0] == pytest.approx(math.sqrt(chord2 + 170.0 ** 2), rel=1e-12)


def test_pure_axial_rotation_changes_struts_in_the_alternating_pattern():
    s = parse_scenario(hexapod_data())
    g = hexapod_geometry(s)
    o = origin_of(s)
    neutral = g.lengths_mm(Pose.identity(o))
    turned = g.lengths_mm(Pose(rot_z(math.radians(5.0)), np.zeros(3), o))
    change = turned - neutral
    assert np.all(np.abs(change) > 0.5)
    assert np.allclose(change[0::2], change[0], rtol=1e-12) and np.allclose(change[1::2], change[1], rtol=1e-12)
    assert np.sign(change[0]) == -np.sign(change[1])


def test_clinical_parameters_invert_the_deformity():
    defo = {"ap_angulation_deg": 12.0, "ap_translation_mm": 6.0, "lateral_angulation_deg": -8.0,
            "lateral_translation_mm": 3.0, "axial_rotation_deg": 15.0, "length_mm": -7.0}
    s = parse_scenario(hexapod_data(deformity=defo))
    g = hexapod_geometry(s)
    got = clinical_parameters(initial_pose(s, g), g.moving_side)
    for k, v in defo.items():
        assert got[k] == pytest.approx(v, abs=1e-9), k


# ----------------------------------------------------------------------------- schedule
def test_schedule_respects_the_rate_and_ends_corrected():
    defo = {"ap_angulation_deg": 15.0, "ap_translation_mm": 5.0, "lateral_angulation_deg": 10.0,
            "axial_rotation_deg": -12.0, "length_mm": -6.0}
    s = parse_scenario(hexapod_data(deformity=defo, structure_at_risk_mm=[15.0, 10.0, 120.0],
                                    max_rate_mm_per_day=0.75))
    result = run_hexapod(s, mechanics=False)
    rows = result.rows
    assert max(r["structure_at_risk_motion_mm"] for r in rows) <= 0.75 + 1e-9
    # not needlessly slow: the structure at risk moves close to the limit every day, and the
    # days are at least its straight-line travel over the rate
    sched0 = result.schedule
    q = np.array([15.0, 10.0, 120.0])
    travel = float(np.linalg.norm(sched0.poses[0].apply(q) - q))
    assert len(rows) - 1 >= travel / 0.75
    assert np.mean([r["structure_at_risk_motion_mm"] for r in rows[1:]]) > 0.9 * 0.75
    for k, v in defo.items():
        assert rows[0][k] == pytest.approx(v, abs=1e-6), k
    for k in ("ap_angulation_deg", "lateral_angulation_deg", "axial_rotation_deg"):
        assert abs(rows[-1][k]) < 0.1
    for k in ("ap_translation_mm", "lateral_translation_mm", "length_mm"):
        assert abs(rows[-1][k]) < 0.1
    # day 0 lengths put the ring at the deformity; the last at the neutral frame
    g, sched = result.geometry, result.schedule
    np.testing.assert_allclose(sched.lengths_mm[-1], g.lengths_mm(Pose.identity(origin_of(s))), atol=1e-9)
    back = g.forward(sched.lengths_mm[0], origin_mm=origin_of(s))
    assert back.distance_to(initial_pose(s, g), g.platform_mm) < 1e-6


def test_frame_given_by_strut_lengths():
    s = parse_scenario(hexapod_data())
    g = hexapod_geometry(s)
    pose = Pose(exp_rotation([0.05, -0.1, 0.08]), np.array([3.0, -2.0, 4.0]), origin_of(s))
    lengths = g.lengths_mm(pose).tolist()
    data = hexapod_data(strut_lengths_mm=lengths)
    del data["hexapod"]["deformity"]
    s2 = parse_scenario(data)
    assert initial_pose(s2).distance_to(pose, g.platform_mm) < 1e-9


def test_strut_swaps_are_flagged_and_impossible_sizes_rejected():
    lengths = np.array([[100.0] * 6, [130.0] * 6, [160.0] * 6])
    sizes = (StrutSize("a", 90.0, 135.0), StrutSize("b", 125.0, 170.0))
    names, swaps = assign_sizes(lengths, sizes)
    assert names[0] == ["a"] * 6 and names[2] == ["b"] * 6
    # day 1 fits both; a swap is only made when the length leaves the size
    assert swaps[1] == [] and swaps[2] == [f"strut {k + 1}: a -> b" for k in range(6)]
    with pytest.raises(KinematicsError) as err:
        assign_sizes(np.array([[100.0] * 6, [200.0] * 6]), sizes)
    assert err.value.field == "hexapod.strut_sizes" and "200.0 mm" in str(err.value)


# ----------------------------------------------------------------------------- bad input
def refused_twice(data, field, *words):
    """`validate` (as `ilizarov validate` runs it) and `plan_correction` (as `ilizarov hexapod`
    runs it) refuse the same frame with the same field and words."""
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == field, str(err.value)
    for w in words:
        assert w in str(err.value), str(err.value)
    valid = parse_scenario(hexapod_data())
    h = data["hexapod"]
    deformity = Deformity(**h["deformity"]) if "deformity" in h else None
    unchecked = dataclasses.replace(valid, hexapod=dataclasses.replace(
        valid.hexapod, deformity=deformity, strut_lengths_mm=tuple(h["strut_lengths_mm"]) if "strut_lengths_mm" in h
        else None, pair_separation_deg=h.get("pair_separation_deg", 30.0),
        max_rate_mm_per_day=h.get("max_rate_mm_per_day", 1.0)))
    with pytest.raises(KinematicsError) as kerr:
        plan_correction(unchecked)
    assert kerr.value.field == field and kerr.value.message == err.value.message


def test_unreachable_lengths_and_deformities_are_refused():
    data = hexapod_data(strut_lengths_mm=[60.0, 60.0, 60.0, 400.0, 400.0, 400.0])
    del data["hexapod"]["deformity"]
    refused_twice(data, "hexapod.strut_lengths_mm", "no pose")
    # the moving ring pushed through the reference ring
    refused_twice(hexapod_data(deformity={"length_mm": -170.0}), "hexapod.deformity", "reference ring")
    # struts mounted so close that they clash
    refused_twice(hexapod_data(deformity={"axial_rotation_deg": 30.0}, pair_separation_deg=5.0), "hexapod.deformity",
                  "struts 1 and 2", "cross or clash")
    # lengths that fit no strut size (validate accepted these before; `hexapod` refused them)
    data = hexapod_data(strut_lengths_mm=[300.0] * 6)
    del data["hexapod"]["deformity"]
    refused_twice(data, "hexapod.strut_sizes", "outside every strut size")


def test_a_correction_that_would_take_years_is_refused_quickly():
    """max_rate_mm_per_day = 1e-6 used to plan for minutes while memory grew by 12 MB/s."""
    bad(hexapod_data(max_rate_mm_per_day=1e-6), "hexapod.max_rate_mm_per_day", "1e-06 mm/day", "0.1 to 3 mm/day")
    refused_twice(hexapod_data(max_rate_mm_per_day=0.1, deformity={"ap_translation_mm": 50.0}),
                  "hexapod.max_rate_mm_per_day", "days", "365")


def bad(data, field, *words):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == field, str(err.value)
    for w in words:
        assert w in str(err.value)


def test_bad_hexapod_scenarios_name_the_field():
    bad(hexapod_data(moving_ring="nope"), "hexapod.moving_ring", "'nope' is not a ring")
    bad(hexapod_data(deformity={"ap_angulation_deg": 70.0}), "hexapod.deformity.ap_angulation_deg", "60 deg")
    data = hexapod_data()
    data["rings"][0]["level_mm"] = 200.0
    bad(data, "hexapod.moving_ring", "same side of the gap")
    data = hexapod_data()
    data["rods"] = [{"name": "r", "angle_deg": 0.0}]
    bad(data, "rods[0]", "crosses the gap")
    data = hexapod_data(strut_lengths_mm=[150.0] * 6)
    bad(data, "hexapod.deformity", "either")
    bad(hexapod_data(max_rate_mm_per_day=0.0), "hexapod.max_rate_mm_per_day", "accepted: 0.1 to 3 mm/day")
    bad(hexapod_data(structure_at_risk_mm=[0.0, 0.0, 1e300]), "hexapod.structure_at_risk_mm[2]", "-300 to 660 mm")
    bad(hexapod_data(deformity={"ap_translation_mm": 1e6}), "hexapod.deformity.ap_translation_mm", "-200 to 200 mm")


# ----------------------------------------------------------------------------- mechanics
def test_struts_carry_axial_load_only_closed_form(monkeypatch):
    """Rigid rings on a frame-only bench: the hexapod's axial and torsional stiffness are
    the sums over the struts of EA/L times the squared projection of the motion on the
    strut: k_axial = sum EA/L (dz/L)^2, k_torsion = sum EA/L (e . (z x r))^2."""
    monkeypatch.setitem(MATERIALS, "rigid", Material("rigid", 2.0e9, 0.3, 1.0e12, 8000.0))
    data = hexapod_data(strut_diameter_mm=8.0)
    data["rings"] = [{"name": "distal", "level_mm": 100.0, "material": "rigid"},
                     {"name": "proximal", "level_mm": 260.0, "material": "rigid"}]
    data["wires"] = []
    data["loads"] = {"setup": "frame_only", "cases": ["axial", "torsion"], "axial": {"force_N": 200.0, "steps": 1},
                     "torsion": {"moment_Nm": 1.0, "steps": 1}}
    s = parse_scenario(data)
    res = solve_frame(s, pose=Pose.identity(origin_of(s))).results["load_cases"]
    g = hexapod_geometry(s)
    ea = 200000.0 * math.pi * 8.0 ** 2 / 4
    e = g.base_mm - g.platform_mm
    L = np.linalg.norm(e, axis=1)
    e /= L[:, None]
    centre = np.array([0.0, 0.0, 260.0])
    k_axial = float(np.sum(ea / L * e[:, 2] ** 2))
    k_torsion = float(np.sum(ea / L * np.einsum("ij,ij->i", e, np.cross([0.0, 0.0, 1.0], g.base_mm - centre)) ** 2))
    axial = res["axial"]["load_N"][1] / res["axial"]["displacement_mm"][1]
    torsion_Nmm_per_rad = 1000.0 * res["torsion"]["moment_Nm"][1] / math.radians(res["torsion"]["rotation_deg"][1])
    assert axial == pytest.approx(k_axial, rel=0.01)
    assert torsion_Nmm_per_rad == pytest.approx(k_torsion, rel=0.01)


def test_hexapod_and_classic_frame_side_by_side():
    s = load_scenario(SHIPPED)
    result = run_hexapod(s, pictures=False)
    rows = {(r["frame"], r["stage"]): r for r in result.stiffness_rows}
    assert len(rows) == 4
    start, end = rows[("hexapod", "start")], rows[("hexapod", "end")]
    classic = next(r for (f, _), r in rows.items() if f.startswith("classic"))
    for r in (start, end, classic):
        assert all(r[k] > 0 for k in ("axial_initial_N_per_mm", "bending_ap_Nm_per_deg", "torsion_Nm_per_deg"))
    # the struts' axial stiffness resists the rings' twist: the hexapod is stiffer in torsion
    assert end["torsion_Nm_per_deg"] > 1.1 * classic["torsion_Nm_per_deg"]
    # at the deformed start the struts lean further from the axis: axially softer than at the end
    assert start["axial_initial_N_per_mm"] < end["axial_initial_N_per_mm"]
    assert classic_frame(s).hexapod is None and len(classic_frame(s).rods) == 4


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True)


def test_cli_hexapod_writes_schedule_and_pictures(tmp_path):
    from PIL import Image

    out = tmp_path / "hx"
    r = _cli("hexapod", str(SHIPPED), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "Schedule:" in r.stdout and "classic (4 rods)" in r.stdout
    import csv

    with open(out / "schedule.csv") as f:
        rows = list(csv.DictReader(f))
    assert {"day", "strut1_mm", "strut6_mm", "strut1_size", "swaps", "structure_at_risk_motion_mm",
            "ap_angulation_deg"} <= rows[0].keys()
    assert max(float(x["structure_at_risk_motion_mm"]) for x in rows) <= 1.0 + 1e-9
    summary = json.loads((out / "hexapod.json").read_text())
    assert summary["days"] == len(rows) - 1
    for name in ("frames.png", "struts.png", "stiffness.png"):
        with Image.open(out / name) as im:
            assert im.size[0] > 800 and len(np.unique(np.asarray(im.convert("L")))) > 50, name


def test_cli_hexapod_bad_input_exits_2(tmp_path):
    plain = tmp_path / "plain.toml"
    plain.write_text("name = 'plain'\n")
    r = _cli("hexapod", str(plain), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "[hexapod]" in r.stderr
    text = SHIPPED.read_text().replace("length_mm = -8", "length_mm = -175")
    far = tmp_path / "far.toml"
    far.write_text(text)
    r = _cli("hexapod", str(far), "--out", str(tmp_path / "y"))
    assert r.returncode == 2 and "hexapod.deformity" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["far.toml", "plain.toml"]
