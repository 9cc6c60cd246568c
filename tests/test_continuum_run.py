"""`ilizarov run --model continuum` (issue 3) on a small frame with linear tetrahedra:
the results.json contract, field files and picture, pretension reached, equilibrium of
the gap and rods, gap contact, clear errors with nothing written; serial equals
parallel."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "continuum-small.toml"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("continuum") / "run"
    proc = _cli("run", str(SMALL), "--out", str(out), "--model", "continuum")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text()), proc.stdout


@pytest.mark.slow
def test_results_json_contract(small_run):
    out, r, stdout = small_run
    assert r["model"] == "continuum"
    import jsonschema

    from ilizarov import load_results

    jsonschema.validate(r, json.loads((Path(__file__).resolve().parents[1] / "schemas" / "results.schema.json")
                                      .read_text()))
    typed = load_results(out)  # the typed API reads a continuum run as well (no frame states)
    assert typed.axial.secant_stiffness_N_per_mm == r["load_cases"]["axial"]["secant_stiffness_N_per_mm"]
    assert typed.state_names == []
    assert r["mesh"]["cells"] > 10_000 and r["mesh"]["dofs"] > 10_000 and r["mesh"]["element_degree"] == 1
    assert {"mesh", "solve", "total"} <= set(r["timings_s"])
    assert set(r["load_cases"]) == {"axial", "bending_ap", "torsion"}
    a = r["load_cases"]["axial"]
    for key in ("load_N", "displacement_mm", "secant_stiffness_N_per_mm", "tangent_stiffness_N_per_mm", "ifm_axial_mm",
                "ifm_shear_mm", "gap_strain", "wire_tension_N", "max_von_mises_MPa", "bone_stress_at_wires_MPa"):
        assert key in a, key
    assert len(a["load_N"]) == 5 and a["load_N"][-1] == pytest.approx(400.0)
    assert {"bone", "wires", "rings", "rods"} <= set(a["max_von_mises_MPa"])
    assert set(a["wire_tension_N"]) == set(a["bone_stress_at_wires_MPa"]) == {
        "ring_distal_wire1", "ring_distal_wire2", "ring_proximal_wire1", "ring_proximal_wire2"}
    for case in ("bending_ap", "torsion"):
        c = r["load_cases"][case]
        assert c["stiffness_Nm_per_deg"] > 0 and len(c["moment_Nm"]) == 2
    assert "Continuum model of 'continuum-small'" in stdout


@pytest.mark.slow
def test_field_files_and_picture(small_run):
    out, r, _ = small_run
    assert r["fields"]["file"] == "fields.xdmf" and r["fields"]["states"] == ["pretension", "axial", "bending_ap",
                                                                               "torsion"]
    xdmf = (out / "fields.xdmf").read_text()
    assert xdmf.count('Attribute Name="displacement_mm"') == 4 and xdmf.count('Attribute Name="von_mises_MPa"') == 4
    assert 'Name="part"' in xdmf and (out / "fields.h5").stat().st_size > 100_000
    from PIL import Image

    img = np.asarray(Image.open(out / "continuum.png").convert("RGB")).astype(int)
    assert img.shape[1] >= 1600
    # both panels are drawn (not blank)
    for half in (img[:, : img.shape[1] // 2], img[:, img.shape[1] // 2:]):
        assert (np.abs(half - 255).sum(axis=2) > 60).mean() > 0.05


@pytest.mark.slow
def test_report_on_a_continuum_run(small_run, tmp_path):
    """`ilizarov report` on a continuum run: the numbers, curves and continuum.png (not
    "written by an older version"); `compare` says it draws frame-model runs."""
    import shutil

    out, r, _ = small_run
    run = tmp_path / "run"
    shutil.copytree(out, run)
    rep = _cli("report", str(run), "--quiet")
    assert rep.returncode == 0, rep.stderr
    page = (run / "report.html").read_text()
    assert "continuum-small: continuum model report" in page and "fields.xdmf" in page
    assert "Axial stiffness, secant" in page and page.count("data:image/png;base64") >= 3  # picture and curves
    assert "older version" not in rep.stdout + rep.stderr
    assert (run / "load_displacement.png").is_file() and not (run / "views.png").exists()
    cmp_ = _cli("compare", str(run), str(run), "--out", str(tmp_path / "cmp"))
    assert cmp_.returncode == 2 and "a continuum-model run" in cmp_.stderr and "Traceback" not in cmp_.stderr
    assert not (tmp_path / "cmp").exists()


@pytest.mark.slow
def test_pretension_reaches_its_target(small_run):
    _, r, _ = small_run
    for w in r["pretension"]["wires"]:
        assert w["achieved_N"] == pytest.approx(w["target_N"], rel=0.005)
        # the frame model's initial strains alone leave the linear tetrahedra's wires short
        assert w["first_solve_N"] < w["achieved_N"]


@pytest.mark.slow
def test_pretension_of_wires_on_posts_and_inclined_converges(tmp_path):
    """A drop wire on 20 mm posts and a wire inclined 20 deg (issue 19): the frame model's
    influence matrix is only approximate for them (it keeps 26 % and 19 % of their tension
    without re-tensioning, the solid 46 % and 34 %). Corrected with it alone, the worst
    wire went from 121 % off its target to 200 % after 5 corrections (exit 3); with the
    Broyden update every wire reaches its target within continuum.pretension_tolerance."""
    out = tmp_path / "run"
    proc = _cli("run", str(ROOT / "tests" / "data" / "continuum-small-offface.toml"), "--out", str(out),
                "--model", "continuum")
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads((out / "results.json").read_text())
    tol = 0.005  # continuum.pretension_tolerance's default
    wires = {w["name"]: w for w in r["pretension"]["wires"]}
    assert set(wires) == {"distal_drop", "distal_inclined", "proximal_wire1", "proximal_wire2"}
    for w in wires.values():
        assert abs(w["achieved_N"] - w["target_N"]) < tol * w["target_N"], w
    # the frame model's strains alone leave the solid's off-face wires far from their targets
    off = [abs(wires[n]["first_solve_N"] / wires[n]["target_N"] - 1) for n in ("distal_drop", "distal_inclined")]
    assert max(off) > 0.3
    assert 1 <= r["solver"]["pretension_corrections"] <= 5


@pytest.mark.slow
def test_gap_closes_and_load_balances(small_run):
    """The 2 mm gap closes (contact), the wires pull harder under load, and the load through
    the gap plus the load through the rods balances the applied load (equilibrium of
    the cut through the gap: a check of the stress measures)."""
    _, r, _ = small_run
    a = r["load_cases"]["axial"]
    width = 2.0
    assert 0.95 * width < a["ifm_axial_mm"] < width
    assert a["gap_closed_at_N"] is not None and 40 < a["gap_closed_at_N"] < 200
    assert a["tangent_stiffness_N_per_mm"] > 20 * a["initial_stiffness_N_per_mm"]  # the bone carries, once closed
    assert a["load_through_gap_N"] > 0.5 * 400
    assert a["load_through_gap_N"] + a["load_through_rods_N"] == pytest.approx(400.0, rel=0.03)
    pre = {w["name"]: w["achieved_N"] for w in r["pretension"]["wires"]}
    assert all(a["wire_tension_N"][n] > pre[n] for n in pre)


def test_continuum_refuses_what_it_cannot_build(tmp_path):
    out = tmp_path / "run"
    proc = _cli("run", str(ROOT / "scenarios" / "hexapod-correction.toml"), "--out", str(out), "--model", "continuum")
    assert proc.returncode == 2
    assert "hexapod" in proc.stderr and "--model frame" in proc.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_continuum_settings_are_validated(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.read_text().replace("element_degree = 1", "element_degree = 3"))
    proc = _cli("validate", str(bad))
    assert proc.returncode == 2 and "continuum.element_degree" in proc.stderr


@pytest.mark.slow
def test_a_solver_failure_exits_3_and_writes_nothing(tmp_path):
    bad = tmp_path / "diverges.toml"
    bad.write_text(SMALL.read_text() + "petsc_options = { snes_max_it = 1 }\n")
    out = tmp_path / "run"
    proc = _cli("run", str(bad), "--out", str(out), "--model", "continuum")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "Newton did not converge" in proc.stderr and "pretension" in proc.stderr
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["diverges.toml"]


@pytest.mark.mpi
def test_continuum_run_serial_equals_parallel():
    """The same small frame on one rank and on all ranks (mpirun -n 2): every measured
    number agrees to solver tolerance."""
    from sim.continuum_run import solve_continuum
    from sim.scenario import parse_scenario

    data = tomllib.loads(SMALL.read_text())
    data["loads"] = {"cases": ["axial", "torsion"], "axial": {"force_N": 100.0, "steps": 1},
                     "torsion": {"moment_Nm": 2.0, "steps": 1}}
    s = parse_scenario(data)
    par = solve_continuum(s, MPI.COMM_WORLD).results
    ser = solve_continuum(s, MPI.COMM_SELF).results if MPI.COMM_WORLD.rank == 0 else None
    ser = MPI.COMM_WORLD.bcast(ser, root=0)
    assert par["mesh"]["dofs"] == ser["mesh"]["dofs"]
    for case, keys in (("axial", ("secant_stiffness_N_per_mm", "ifm_axial_mm", "load_through_gap_N")),
                       ("torsion", ("stiffness_Nm_per_deg",))):
        for k in keys:
            assert par["load_cases"][case][k] == pytest.approx(ser["load_cases"][case][k], rel=1e-6), (case, k)
        for n, t in ser["load_cases"][case]["wire_tension_N"].items():
            assert par["load_cases"][case]["wire_tension_N"][n] == pytest.approx(t, rel=1e-6)
    for a, b in zip(par["pretension"]["wires"], ser["pretension"]["wires"]):
        assert a["achieved_N"] == pytest.approx(b["achieved_N"], rel=1e-6)


@pytest.mark.slow
def test_half_pins_are_built_through_the_bone():
    """Each half pin is its own part, bonded through both cortices (bicortical): it owns its
    whole cylinder, from its post's axis to 2 mm beyond the far cortex, and its post
    stands on the ring."""
    import sim.fenicsx  # noqa: F401
    from dolfinx import fem

    from meshes.continuum import build_frame_solid
    from sim.scenario import load_scenario

    s = load_scenario(ROOT / "scenarios" / "hybrid-halfpins.toml")
    solid = build_frame_solid(s, MPI.COMM_SELF, size_mm=12.0, wire_size_mm=1.8, order=1)
    import ufl

    for pin in s.half_pins:
        kind, tag = solid.parts[pin.name]
        assert kind == "half_pin" and solid.parts[f"{pin.name}_post"][0] == "post"
        dx = ufl.Measure("dx", domain=solid.mesh, subdomain_data=solid.cell_tags)
        volume = fem.assemble_scalar(fem.form(1.0 * dx(tag)))
        ring = s.ring(pin.ring)
        length = ring.centroid_radius_mm + s.bone.outer_diameter_mm / 2 + 2.0
        assert volume == pytest.approx(np.pi * pin.diameter_mm ** 2 / 4 * length, rel=0.05)


@pytest.mark.slow
def test_a_sweep_runs_its_cases_with_the_continuum_model(tmp_path):
    """`model = "continuum"` in a sweep file: every case is solved as 3D solids, and more
    tension gives a stiffer frame there too."""
    base = tmp_path / "base.toml"
    base.write_text(SMALL.read_text().replace('cases = ["axial", "bending_ap", "torsion"]', 'cases = ["axial"]')
                    .replace("axial = { force_N = 400, steps = 4 }", "axial = { force_N = 50, steps = 1 }")
                    .replace("element_size_mm = 12", "element_size_mm = 16"))
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('base = "base.toml"\nmodel = "continuum"\n[[parameters]]\npath = "wires[*].tension_kgf"\n'
                     "values = [50, 110]\n")
    proc = _cli("sweep", str(sweep), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    import csv

    rows = list(csv.DictReader(open(tmp_path / "out" / "summary.csv")))
    assert [r["status"] for r in rows] == ["ok", "ok"]
    k = [float(r["axial_secant_N_per_mm"]) for r in rows]
    assert k[1] > k[0]
    rec = json.loads(next((tmp_path / "out").rglob("case00000-*.json")).read_text())
    assert rec["model"] == "continuum" and rec["results"]["model"] == "continuum"


@pytest.mark.slow
def test_bending_of_a_four_ring_frame_is_the_wire_bone_bond():
    """The continuum model bonds every wire to the cortex; the frame model holds an olive
    wire and lets the bone slide along a smooth one. Two rings per fragment resist
    bending by in-plane couples, which a bonded wire takes along its axis: the continuum
    model is then an order of magnitude stiffer in bending than the frame model with
    smooth wires and close to it with olive wires, while torsion (the bone turning
    across the wires) hardly depends on the bond. Measured (N·m/deg): bending 1.38
    sliding, 22.8 bonded, 29.2 continuum (coarse linear tetrahedra are stiff in bending);
    torsion 1.89, 1.89, 2.03."""
    import dataclasses

    from sim.continuum_run import solve_continuum
    from sim.run import solve_frame
    from sim.scenario import load_scenario

    s = load_scenario(ROOT / "tests" / "data" / "continuum-4ring-small.toml")
    assert not any(w.olive for w in s.wires)
    bonded = dataclasses.replace(s, wires=[dataclasses.replace(w, olive=True) for w in s.wires])

    def stiffness(results):
        return {k: v["stiffness_Nm_per_deg"] for k, v in results["load_cases"].items()}

    sliding_frame = stiffness(solve_frame(s, MPI.COMM_SELF).results)
    bonded_frame = stiffness(solve_frame(bonded, MPI.COMM_SELF).results)
    solid = stiffness(solve_continuum(s, MPI.COMM_SELF).results)
    assert solid["bending_ap"] > 10 * sliding_frame["bending_ap"]
    assert 0.9 < solid["bending_ap"] / bonded_frame["bending_ap"] < 1.4
    for frame in (sliding_frame, bonded_frame):
        assert solid["torsion"] == pytest.approx(frame["torsion"], rel=0.12)
