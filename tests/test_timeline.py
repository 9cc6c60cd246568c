"""The treatment timeline (issue 6): distraction, relaxation, consolidation, bone transport.

The checks tie the timeline to the static frame model and to closed forms: a rigid
frame passes the whole rod lengthening to the gap; a compliant one loses exactly the
distraction force over its own axial stiffness; the resting distraction force is the
soft tissue's spring times the achieved lengthening.
"""

import math
from pathlib import Path

import numpy as np
import pytest

from meshes.frame_network import build_frame
from sim.frame_model import FrameModel
from sim.materials import MATERIALS, Material
from sim.regenerate import (CONNECTIVE, ENDOCHONDRAL, INTRAMEMBRANOUS, RegenerateState, advance, classify,
                            initial_state, with_gap)
from sim.scenario import RegenerateModel, ScenarioError, parse_scenario
from sim.timeline import run_timeline
from refusals import refused as bad

ROD_NAMES = (("rod_lateral", 0.0), ("rod_anterior", 90.0), ("rod_medial", 180.0), ("rod_posterior", 270.0))
COARSE = {"element_size_mm": 10.0, "wire_element_size_mm": 5.0}


def lengthening(rod_material="stainless_steel", **distraction):
    d = {"lengthening_mm": 4.0, "latency_days": 1, "consolidation_max_days": 0}
    d.update(distraction)
    return {
        "gap": {"width_mm": 1.0},
        "rods": [{"name": n, "angle_deg": a, "length_mm": 320.0, "material": rod_material} for n, a in ROD_NAMES],
        "mesh": COARSE,
        "distraction": d,
    }


def run(data):
    return run_timeline(parse_scenario(data))


# ----------------------------------------------------------------------------- mechanics
def test_rigid_frame_without_soft_tissue_opens_the_gap_by_the_rod_lengthening(monkeypatch):
    monkeypatch.setitem(MATERIALS, "rigid", Material("rigid", 2.0e8, 0.3, 1.0e9, 8000.0))
    data = lengthening("rigid", lengthening_mm=3.0,
                       soft_tissue={"stiffness_N_per_mm": 0.0, "relaxing_stiffness_N_per_mm": 0.0})
    data["rings"] = [{"name": f"ring{i + 1}", "level_mm": z, "material": "rigid"}
                     for i, z in enumerate((50.0, 140.0, 220.0, 310.0))]
    data["wires"] = [{"name": f"ring{i + 1}_w{k}", "ring": f"ring{i + 1}", "angle_deg": a, "face": f,
                      "material": "rigid"}
                     for i in range(4) for k, (a, f) in enumerate(((45.0, "top"), (135.0, "bottom")))]
    r = run(data)
    last = r.rows[-1]
    assert last["rod_lengthening_mm"] == pytest.approx(3.0)
    assert last["achieved_lengthening_mm"] == pytest.approx(3.0, abs=2e-4)


def test_compliant_frame_loses_the_force_over_its_own_stiffness():
    """Deficit (rods minus gap opening) = distraction force / the frame's static axial
    compliance under the same force, pulling the fragments apart."""
    data = lengthening(lengthening_mm=10.0, rate_mm_per_day=2.0, latency_days=0)
    r = run(data)
    last = r.rows[-1]
    force, deficit = last["distraction_force_N"], last["lengthening_deficit_mm"]
    assert force > 50.0 and deficit > 0.3

    static = parse_scenario({k: v for k, v in data.items() if k != "distraction"})
    model = FrameModel(static, build_frame(static))
    model.solve_pretension()
    stretch_mm = model.solve_load([0.0, 0.0, force, 0.0, 0.0, 0.0], steps=4)[-1][2]
    assert deficit == pytest.approx(stretch_mm, rel=0.03)


def test_distraction_force_rises_and_relaxes_between_steps():
    r = run(lengthening(lengthening_mm=4.0, rate_mm_per_day=1.0))
    steps = r.step_rows
    assert len(steps) == 16
    peaks = np.array([s["distraction_force_peak_N"] for s in steps])
    relaxed = np.array([s["distraction_force_relaxed_N"] for s in steps])
    assert np.all(peaks > relaxed + 1.0)  # each step's jump decays before the next one
    assert np.all(np.diff(relaxed) > 0)  # and the resting force builds up
    # at rest the soft tissue's lasting spring carries k * achieved lengthening
    last = r.rows[-1]
    k = 7.5  # default soft_tissue.stiffness_N_per_mm
    assert last["distraction_force_N"] == pytest.approx(k * last["achieved_lengthening_mm"], rel=0.05)


def test_slower_relaxation_keeps_more_force_between_steps():
    quick = run(lengthening(lengthening_mm=2.0, soft_tissue={"relaxation_time_h": 0.05}))
    slow = run(lengthening(lengthening_mm=2.0, soft_tissue={"relaxation_time_h": 12.0}))
    q = np.array([s["distraction_force_relaxed_N"] for s in quick.step_rows])
    w = np.array([s["distraction_force_relaxed_N"] for s in slow.step_rows])
    assert np.all(w > q + 1.0)
    # relaxing quickly (even slowed down by the frame in series), only the lasting spring is left
    k = 7.5
    for s in quick.step_rows:
        achieved = s["gap_length_mm"] - quick.rows[0]["gap_length_mm"]
        assert s["distraction_force_relaxed_N"] == pytest.approx(k * achieved, rel=1e-3)


def test_faster_distraction_strains_the_regenerate_more():
    slow = run(lengthening(lengthening_mm=4.0, rate_mm_per_day=1.0))
    fast = run(lengthening(lengthening_mm=4.0, rate_mm_per_day=2.0))

    def step_strain(r):
        return max(row["distraction_step_strain"] for row in r.rows)

    assert step_strain(fast) > 1.5 * step_strain(slow)


def test_consolidation_lowers_motion_and_frame_load_share_monotonically():
    r = run(lengthening(lengthening_mm=5.0, rate_mm_per_day=1.0, consolidation_max_days=120, weight_bearing_N=100.0))
    cons = [row for row in r.rows if row["phase"] == "consolidation"]
    assert len(cons) > 5
    ifm = np.array([row["ifm_axial_mm"] for row in cons])
    share = np.array([row["frame_load_share"] for row in cons])
    assert np.all(np.diff(ifm) <= 1e-9) and np.all(np.diff(share) <= 1e-9)
    assert r.summary["frame_removal_day"] == cons[-1]["day"]
    assert share[-1] < 0.10 <= share[-2]


def test_bone_transport_docks_the_segment():
    data = {
        "gap": {"level_mm": 250.0, "width_mm": 1.0},
        "defect": {"level_mm": 175.0, "length_mm": 8.0},
        "rings": [{"name": "ring1", "level_mm": 50.0}, {"name": "ring2", "level_mm": 140.0},
                  {"name": "ring3", "level_mm": 215.0}, {"name": "ring4", "level_mm": 310.0}],
        "mesh": COARSE,
        "distraction": {"transport_ring": "ring3", "lengthening_mm": 8.0, "latency_days": 0,
                        "rate_mm_per_day": 2.0, "docking_compression_mm": 1.0, "consolidation_max_days": 2},
    }
    r = run(data)
    s = r.summary
    assert s["treatment"] == "bone_transport"
    assert s["docking_day"] is not None
    # the segment crossed the whole defect and presses on the docking site
    assert s["transport_segment_motion_mm"] == pytest.approx(8.0, abs=0.05)
    assert s["docking_force_N"] > 10.0
    # the ring travelled further than the segment: the frame gave way to the soft tissue
    assert s["rod_change_mm"] > 8.0 + 0.9
    apart = [row for row in r.rows if row["docking_gap_mm"] > 2.0]  # more than the check's motion
    after = [row for row in r.rows if row["day"] > s["docking_day"]]
    assert apart and all(row["frame_load_share"] == pytest.approx(1.0) for row in apart)  # nothing crosses
    assert all(row["frame_load_share"] < 0.99 for row in after)  # the docked segment carries load


# ----------------------------------------------------------------------------- the tissue rule
def test_claes_heigele_classes():
    p = RegenerateModel()
    assert classify(0.01, 0.05, p) == INTRAMEMBRANOUS
    assert classify(0.10, 0.5, p) == ENDOCHONDRAL
    assert classify(0.30, 0.5, p) == CONNECTIVE
    assert classify(0.01, -0.5, p) == CONNECTIVE  # tension: no endochondral ossification


def test_regenerate_series_stiffness_and_growth():
    p = RegenerateModel()
    s = initial_state(1.0, p)
    assert s.effective_modulus_MPa == pytest.approx(0.2)
    s = RegenerateState(10.0, 5.0, 10.0, 1000.0)
    # two tissues in series: 10 / (5/1000 + 5/10)
    assert s.effective_modulus_MPa == pytest.approx(10.0 / (5.0 / 1000.0 + 0.5))
    opened = with_gap(s, 12.0)  # 2 mm of fresh granulation tissue joins the interzone
    assert opened.interzone_mm == pytest.approx(7.0)
    assert opened.interzone_modulus_MPa == pytest.approx(7.0 / (5.0 / 10.0 + 2.0 / 0.2))
    # a quiet day ossifies from both ends; a violent one does not
    quiet = advance(s, 0.01, 0.01, 1.0, p)
    violent = advance(s, 0.5, 0.01, 1.0, p)
    assert quiet.bone_mm == pytest.approx(5.0 + 2 * p.front_speed_mm_per_day)
    assert violent.bone_mm == pytest.approx(5.0) and violent.tissue_class == CONNECTIVE
    assert violent.interzone_modulus_MPa < s.interzone_modulus_MPa  # towards fibrous tissue, 2 MPa
    # log-linear approach to the target with the time constant
    expected = math.exp(math.log(10.0) + (1 - math.exp(-1.0 / p.tissue_time_constant_days)) * (math.log(2.0) - math.log(10.0)))
    assert violent.interzone_modulus_MPa == pytest.approx(expected)


# ----------------------------------------------------------------------------- bad input


def test_bad_protocols_name_the_field():
    bad(lengthening(rate_mm_per_day=0.0), "distraction.rate_mm_per_day", "0 mm/day", "0.1 to 3 mm/day")
    bad(lengthening(rate_mm_per_day=5.0), "distraction.rate_mm_per_day", "0.1 to 3 mm/day")
    bad(lengthening(latency_days=-2), "distraction.latency_days", "-2 days", "0 to 30")
    bad(lengthening(lengthening_mm=80.0), "distraction.lengthening_mm", "beyond the travel", "rod_lateral",
        "at most 60 mm")
    bad(lengthening(steps_per_day=0), "distraction.steps_per_day", "1 to 24")
    bad(lengthening(rods=["rod_nope"]), "distraction.rods[0]", "'rod_nope' is not a rod")
    data = lengthening()
    data["rods"][0].pop("length_mm")
    bad(data, "rods[0].length_mm", "threaded length")


def test_bad_transport_names_the_field():
    base = {
        "gap": {"level_mm": 250.0, "width_mm": 1.0},
        "defect": {"level_mm": 130.0, "length_mm": 40.0},
        "rings": [{"name": "ring1", "level_mm": 50.0}, {"name": "ring2", "level_mm": 90.0},
                  {"name": "ring3", "level_mm": 200.0}, {"name": "ring4", "level_mm": 310.0}],
        "distraction": {"transport_ring": "ring3", "lengthening_mm": 40.0},
    }
    parse_scenario(base)  # valid
    too_far = {**base, "distraction": {"transport_ring": "ring3", "lengthening_mm": 45.0}}
    bad(too_far, "distraction.lengthening_mm", "past the docking site", "at most 40 mm")
    wrong_ring = {**base, "distraction": {"transport_ring": "ring4", "lengthening_mm": 40.0}}
    bad(wrong_ring, "distraction.transport_ring", "not on the transport segment")
    no_defect = {k: v for k, v in base.items() if k != "defect"}
    bad(no_defect, "defect", "needs a defect")
    wire_in_defect = {**base, "rings": [{"name": "ring1", "level_mm": 50.0}, {"name": "ring2", "level_mm": 130.0},
                                        {"name": "ring3", "level_mm": 200.0}, {"name": "ring4", "level_mm": 310.0}]}
    bad(wire_in_defect, "wires[2].ring", "passes through the defect")


# ----------------------------------------------------------------------------- command line
def _cli(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True)


def _write_toml(path, text):
    path.write_text(text)
    return path


SHORT = (Path(__file__).resolve().parent / "data" / "short-timeline.toml").read_text()  # a quick treatment


def test_cli_timeline_writes_tables_plots_and_animation(tmp_path):
    from PIL import Image

    scenario = _write_toml(tmp_path / "short.toml", SHORT)
    out = tmp_path / "tl"
    r = _cli("timeline", str(scenario), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "Distraction ended on day 3" in r.stdout and "healing index" not in r.stderr
    import csv
    import json

    with open(out / "timeline.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(x["day"]) for x in rows] == list(range(len(rows)))
    assert {"rod_lengthening_mm", "gap_length_mm", "distraction_force_N", "ring1_wire1_tension_N",
            "ring1_wire1_deflection_mm", "ifm_axial_mm", "regenerate_strain", "tissue_class",
            "frame_load_share"} <= rows[0].keys()
    assert float(rows[-1]["rod_lengthening_mm"]) == pytest.approx(2.0)
    with open(out / "steps.csv") as f:
        steps = list(csv.DictReader(f))
    assert len(steps) == 8
    summary = json.loads((out / "timeline.json").read_text())
    assert summary["distraction_end_day"] == 3 and summary["days"] == 5
    with Image.open(out / "timeline.png") as im:
        assert im.size[0] > 800 and len(np.unique(np.asarray(im.convert("L")))) > 50  # not blank
    with Image.open(out / "timeline.gif") as gif:
        assert gif.n_frames == len(rows)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging directory or lock left


def test_cli_timeline_needs_a_treatment(tmp_path):
    plain = _write_toml(tmp_path / "plain.toml", "name = 'plain'\n")
    r = _cli("timeline", str(plain), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "distraction" in r.stderr and "[distraction]" in r.stderr
    bad_rate = _write_toml(tmp_path / "bad.toml", SHORT.replace("lengthening_mm = 2", "lengthening_mm = 2\nrate_mm_per_day = 0"))
    r = _cli("timeline", str(bad_rate), "--out", str(tmp_path / "y"))
    assert r.returncode == 2 and "distraction.rate_mm_per_day" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "plain.toml"]


# ----------------------------------------------------------------------------- shipped treatments
@pytest.mark.slow
def test_shipped_lengthening_reproduces_the_published_force_and_consolidates():
    from pathlib import Path

    from sim.scenario import load_scenario

    s = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "distraction-4cm.toml")
    r = run_timeline(s)
    sm = r.summary
    # about 300 N at the end of an adult tibial lengthening (Simpson, Cunningham & Kenwright 1996)
    assert 200.0 < sm["distraction_force_at_end_of_distraction_N"] < 400.0
    assert 0.0 < sm["lengthening_deficit_mm_at_end_of_distraction"] < 0.15 * 40.0
    assert sm["frame_removal_day"] is not None
    assert 25.0 < sm["healing_index_days_per_cm"] < 60.0  # clinical healing indices, days per cm
    # the distraction force pulls the fragments together: the wires bow towards the gap
    last = r.rows[sm["distraction_end_day"]]
    assert last["ring1_wire1_deflection_mm"] > 0.5 and last["ring4_wire1_deflection_mm"] < -0.5
    assert max(last[f"ring{i}_wire{k}_tension_N"] for i in range(1, 5) for k in (1, 2)) > 900.0
