"""Size estimates before a run (issue 14): exact for the frame model, rough for the
continuum model, and refusals (exit 2) of what will not fit the memory or the time
budget (--yes for the time)."""

import dataclasses
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sim.estimate import (AUTO_LU_MAX_UNKNOWNS, SizeError, check_fits, continuum_cells, estimate_frame_run,
                          estimate_timeline, frame_counts)
from sim.scenario import ContinuumSettings, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("name", ["standard-4ring.toml", "hybrid-halfpins.toml", "hexapod-correction.toml",
                                  "bone-transport.toml", "frame-only.toml"])
def test_frame_counts_are_those_of_the_mesh(name):
    from meshes.frame_network import build_frame
    from sim.frame_model import FrameModel

    s = load_scenario(SCENARIOS / name)
    model = FrameModel(s, build_frame(s))
    assert frame_counts(s) == (model.num_cells, model.num_dofs)


def test_the_timeline_estimate_counts_the_regenerate_and_the_days():
    from sim.timeline import TreatmentModel

    s = load_scenario(SCENARIOS / "distraction-4cm.toml")
    tm = TreatmentModel(s)
    est = estimate_timeline(s)
    assert (est.cells, est.unknowns) == (tm.model.num_cells, tm.model.num_dofs)
    d = s.distraction
    assert est.days == d.latency_days + 40 + d.consolidation_max_days


# measured by meshing (`meshes.continuum.build_frame_solid`): docs/continuum.md's convergence
# table for the standard frame (bulk / near-wire size, mm), and three more meshes
MEASURED_CELLS = [
    ("standard-4ring.toml", 16.0, 1.8, 84_708), ("standard-4ring.toml", 12.0, 0.9, 98_646),
    ("standard-4ring.toml", 10.0, 0.7, 112_672), ("standard-4ring.toml", 8.0, 0.6, 149_094),
    ("standard-4ring.toml", 6.0, 0.45, 305_860), ("two-ring.toml", 12.0, 0.9, 50_358),
    ("standard-4ring.toml", 4.0, 0.9, 120_750), ("standard-4ring.toml", 24.0, 0.9, 97_021),
    ("standard-4ring.toml", 12.0, 0.5, 223_953), ("hybrid-halfpins.toml", 12.0, 0.9, 110_995),
]


@pytest.mark.parametrize("name, size, wire_size, cells", MEASURED_CELLS)
def test_continuum_cells_within_a_fifth_of_the_mesh(name, size, wire_size, cells):
    s = load_scenario(SCENARIOS / name)
    s = dataclasses.replace(s, continuum=ContinuumSettings(element_size_mm=size, wire_element_size_mm=wire_size))
    assert continuum_cells(s) == pytest.approx(cells, rel=0.2)


def test_the_estimate_knows_the_continuum_solver_switch():
    from sim.continuum import LU_MAX_DOFS

    assert AUTO_LU_MAX_UNKNOWNS == LU_MAX_DOFS


def test_check_fits_memory_always_time_unless_yes(monkeypatch):
    est = estimate_frame_run(load_scenario(SCENARIOS / "standard-4ring.toml"))
    assert est.cells == 1341 and est.unknowns == 7836
    check_fits(est)
    monkeypatch.setenv("ILIZAROV_TIME_BUDGET_S", "0.5")
    with pytest.raises(SizeError, match="--yes to run it anyway"):
        check_fits(est)
    check_fits(est, yes=True)
    monkeypatch.setenv("ILIZAROV_MEMORY_GB", "0.05")
    with pytest.raises(SizeError, match="more than the 0.1 GB of memory available"):
        check_fits(est, yes=True)


def test_commands_refuse_what_does_not_fit_before_starting(tmp_path):
    out = tmp_path / "out"
    two = str(SCENARIOS / "two-ring.toml")
    r = _cli("run", two, "--out", str(out), env={"ILIZAROV_TIME_BUDGET_S": "0.5"})
    assert r.returncode == 2 and "longer than the time budget" in r.stderr and "--yes" in r.stderr, r.stderr
    r = _cli("run", two, "--out", str(out), "--yes", env={"ILIZAROV_MEMORY_GB": "0.05"})
    assert r.returncode == 2 and "memory available" in r.stderr, r.stderr
    r = _cli("hexapod", str(SCENARIOS / "hexapod-correction.toml"), "--out", str(out),
             env={"ILIZAROV_TIME_BUDGET_S": "0.5"})
    assert r.returncode == 2 and "hexapod correction" in r.stderr, r.stderr
    assert not out.exists()


def test_a_slow_treatment_asks_for_yes(tmp_path):
    """200 mm at 0.1 mm/day in 24 steps a day: 2000 days of distraction, ~100 000 solves."""
    text = (SCENARIOS / "distraction-4cm.toml").read_text().replace("length_mm = 320", "length_mm = 600")
    text = _with(text, rate_mm_per_day="0.1", steps_per_day="24", lengthening_mm="200")
    data = tomllib.loads(text)
    assert data["distraction"]["rate_mm_per_day"] == 0.1
    parse_scenario(data)  # valid
    f = tmp_path / "slow.toml"
    f.write_text(text)
    r = _cli("timeline", str(f), "--out", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert "treatment timeline" in r.stderr and "days" in r.stderr and "--yes" in r.stderr
    r = _cli("validate", str(f))
    assert r.returncode == 0 and "estimate of treatment timeline" in r.stdout


def _with(text: str, **values) -> str:
    """Set existing keys of the [distraction] table in a TOML text."""
    lines, table = [], None
    for line in text.splitlines():
        if line.startswith("["):
            table = line.strip()
        key = line.split("=")[0].strip()
        if table == "[distraction]" and key in values:
            line = f"{key} = {values[key]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_a_sweep_case_that_will_not_fit_is_recorded_as_failed(monkeypatch):
    from mpi4py import MPI

    from sim.sweep import load_sweep, run_case

    sw = load_sweep(SCENARIOS / "sweeps" / "tension-rings.toml")
    monkeypatch.setenv("ILIZAROV_MEMORY_GB", "0.05")
    rec = run_case(sw, 0, MPI.COMM_SELF)
    assert rec["status"] == "failed" and "SizeError" in rec["error"] and "memory" in rec["error"]


def test_a_sweep_beyond_the_time_budget_asks_for_yes(tmp_path):
    r = _cli("sweep", str(SCENARIOS / "sweeps" / "tension-rings.toml"), "--out", str(tmp_path / "sw"),
             env={"ILIZAROV_TIME_BUDGET_S": "1"})
    assert r.returncode == 2 and "longer than the time budget" in r.stderr and "--yes" in r.stderr, r.stderr
    assert not (tmp_path / "sw").exists()


def test_the_run_estimate_counts_every_cycle():
    """loads.<case>.cycles = n loads and unloads a case n times: 2 n times its steps, as the
    frame model solves them (the estimate said `steps` whatever the cycles)."""
    from sim.run import solve_frame

    def scenario(cycles):
        axial = {"force_N": 100.0, "steps": 2, "cycles": cycles}
        return parse_scenario({"loads": {"cases": ["axial"], "axial": axial}})

    once, thrice = estimate_frame_run(scenario(1)), estimate_frame_run(scenario(3))
    assert thrice.solves - once.solves == 2 * 2 * 3 - 2
    case = solve_frame(scenario(3)).cases["axial"]
    events = len(case.contact_events) + (case.first_yield is not None and case.first_yield["step"] > 0)
    assert len(case.steps) - 1 - events == 2 * 2 * 3
