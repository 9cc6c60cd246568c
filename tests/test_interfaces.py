"""Where real frames give way (issue 15): compliant joints, clamps that slip, members that
yield, load-unload cycles — each against a closed form of its own."""

import math
from pathlib import Path

import numpy as np
import pytest

from meshes.frame_network import NetworkPlan, mesh_plan
from meshes.tags import Marker, PartKind
from sim import verification as v
from sim.frame_model import FrameModel
from sim.interfaces import vesic_modulus_MPa
from sim.materials import MATERIALS, Material
from sim.run import solve_frame
from sim.scenario import Plasticity, Wire, parse_scenario

E, H, SY = 200_000.0, 1400.0, 690.0  # cold-worked 316L (sim.materials)


def _bar(length=100.0, d=1.8, cells=20):
    """A wire along x held at x = 0, pulled at its other end: elastoplastic."""
    plan = NetworkPlan()
    a, b = plan.add_point((0.0, 0.0, 0.0)), plan.add_point((length, 0.0, 0.0))
    tag = plan.add_part("wire", PartKind.WIRE, "wire")
    plan.add_line(a, b, tag, length / cells)
    plan.markers.update({Marker.SUPPORT_A: a, Marker.LOAD_POINT: b})
    s = v._bench_scenario(wires=(Wire("wire", "none", 0.0, 0.0, diameter_mm=d),), plasticity=Plasticity(wires=True))
    m = FrameModel(s, mesh_plan(plan, None, "bar"), supports=(Marker.SUPPORT_A,), load_point=(Marker.LOAD_POINT, True))
    m.solve_pretension()
    return m


def test_a_bar_yields_and_keeps_a_permanent_set():
    """Uniaxial: elastic to sigma_y A, then E H / (E + H); unloaded, the plastic strain stays."""
    length, d = 100.0, 1.8
    A = math.pi * d ** 2 / 4
    m = _bar(length, d)
    Fy = SY * A
    for F in (0.6 * Fy, 1.2 * Fy):
        m.restore(m._pretension_snapshot)
        u = m.solve_load(np.array([F, 0, 0, 0, 0, 0]), steps=4)[-1][0]
        exact = F * length / (E * A) if F <= Fy else Fy * length / (E * A) + (F - Fy) * length * (E + H) / (E * H * A)
        assert u == pytest.approx(exact, rel=1e-7)  # the yield surface is ON_SURFACE = 1e-9 wide
    m._step_to(np.array([1.2 * Fy, 0, 0, 0, 0, 0]), 1.0, 0.0, "unloading")
    set_mm = m.responses()[0]
    assert set_mm == pytest.approx(0.2 * Fy * length * (E + H) / (E * H * A) - 0.2 * Fy * length / (E * A), rel=1e-6)
    assert np.abs(m.plastic_strain.x.array).max() > 0


def test_a_yielding_section_bends_up_to_its_plastic_moment():
    """A cantilever wire under a tip load: elastic below the first-yield load P = sigma_y W / L
    (the fibres give the exact elastic stiffness), and its root moment can never exceed the
    fibre section's plastic moment, sigma_y times its plastic modulus (5 % below the exact
    d^3/6 of a solid circle with 8 x 3 fibres), plus hardening."""
    length, d = 60.0, 1.8
    plan = NetworkPlan()
    a, b = plan.add_point((0.0, 0.0, 0.0)), plan.add_point((0.0, 0.0, length))
    tag = plan.add_part("wire", PartKind.WIRE, "wire")
    plan.add_line(a, b, tag, length / 40)
    plan.markers.update({Marker.SUPPORT_A: a, Marker.LOAD_POINT: b})
    s = v._bench_scenario(wires=(Wire("wire", "none", 0.0, 0.0, diameter_mm=d),), plasticity=Plasticity(wires=True))
    m = FrameModel(s, mesh_plan(plan, None, "cantilever"), supports=(Marker.SUPPORT_A,),
                   load_point=(Marker.LOAD_POINT, True))
    m.solve_pretension()
    I = math.pi * d ** 4 / 64
    Py = SY * (I / (d / 2)) / length
    tip = m.solve_load(np.array([0.9 * Py, 0, 0, 0, 0, 0]), steps=2)[-1][0]
    # 4 mm over 60 mm: the geometric nonlinearity (a follower-free load on a turning tip) is 0.5 %
    assert tip == pytest.approx(0.9 * Py * length ** 3 / (3 * E * I), rel=1e-2)
    assert np.abs(m.plastic_strain.x.array).max() == 0.0
    m.restore(m._pretension_snapshot)
    m.solve_load(np.array([1.35 * Py, 0, 0, 0, 0, 0]), steps=6)
    assert np.abs(m.plastic_strain.x.array).max() > 1e-4
    root = np.abs(m.update_section_forces()[:, 5]).max()
    from sim.elements import fibres, plastic_beam
    Z = sum(area * abs(e) for e, area, _, _ in fibres.fibre_terms(plastic_beam.N_ANGLES, 0.0, d / 2, 0.0, 1.0, 0.0))
    assert Z == pytest.approx(d ** 3 / 6, rel=0.06)
    assert root < SY * Z * 1.05


def _cantilever(length, d, plastic):
    plan = NetworkPlan()
    a, b = plan.add_point((0.0, 0.0, 0.0)), plan.add_point((0.0, 0.0, length))
    tag = plan.add_part("wire", PartKind.WIRE, "wire")
    plan.add_line(a, b, tag, length / 40)
    plan.markers.update({Marker.SUPPORT_A: a, Marker.LOAD_POINT: b})
    s = v._bench_scenario(wires=(Wire("wire", "none", 0.0, 0.0, diameter_mm=d),), plasticity=Plasticity(wires=plastic))
    m = FrameModel(s, mesh_plan(plan, None, "cantilever"), supports=(Marker.SUPPORT_A,),
                   load_point=(Marker.LOAD_POINT, True))
    m.solve_pretension()
    return m


def test_a_yielded_wire_reports_its_fibres_stress_not_the_elastic_estimate():
    """Past yield, a plastic wire's peak von Mises stress is its fibres' (axial stress and
    the twist's shear): at most sigma_y + H |e_p| (linear kinematic hardening), so below
    the tensile strength here, where the section's elastic estimate M / W of the same
    cantilever's root is 1.35 sigma_y = 931 MPa, above the 860 MPa tensile strength."""
    length, d = 60.0, 1.8
    I = math.pi * d ** 4 / 64
    Py = SY * (I / (d / 2)) / length
    m = _cantilever(length, d, plastic=True)
    load = np.array([1.35 * Py, 0, 0, 0, 0, 0])
    m.solve_load(load, steps=6)
    forces = m.update_section_forces()
    peak = m.von_mises_by_part_MPa(forces)["wire"]
    ep = float(np.abs(m.plastic_strain.x.array).max())
    assert ep > 1e-4
    assert SY < peak <= SY + H * ep + 1e-6 * SY
    assert peak < MATERIALS["stainless_steel_cold_worked"].ultimate_stress_MPa
    assert m.peak_von_mises_MPa(forces)["wires"] == peak
    # a twisted plastic wire adds the twist's shear at the rim: sqrt(sigma^2 + 3 (T r / J)^2)
    from sim.elements import plastic_beam

    J = 2 * I
    sigma = np.zeros((1, plastic_beam.N_FIBRES))
    assert plastic_beam.fibre_von_mises_MPa(sigma, np.array([100.0]), 0.0, d / 2, J)[0] == pytest.approx(
        math.sqrt(3) * 100.0 * (d / 2) / J)


def test_an_elastic_wire_reports_the_sections_estimate():
    """Plasticity off: the peak is the section's elastic estimate at the cell's ends, as
    before (the root of a cantilever: P L / W, with the transverse shear 4/3 P / A)."""
    length, d = 60.0, 1.8
    I, A = math.pi * d ** 4 / 64, math.pi * d ** 2 / 4
    P = 0.9 * SY * (I / (d / 2)) / length
    m = _cantilever(length, d, plastic=False)
    m.solve_load(np.array([P, 0, 0, 0, 0, 0]), steps=2)
    peak = m.von_mises_by_part_MPa(m.update_section_forces())["wire"]
    assert peak == pytest.approx(math.sqrt((P * length / (I / (d / 2))) ** 2 + 3 * (4 / 3 * P / A) ** 2), rel=1e-2)


def test_a_clamp_that_slips_caps_the_tension_and_loses_it_for_good():
    """A wire between two clamps that slip at F_s, loaded across its middle: its tension
    never exceeds F_s; unloaded, it has lost exactly the slip times the stiffness of the
    wire and its clamps in series."""
    span, d, T0, Fs, kc = 150.0, 1.8, 700.0, 900.0, 20_000.0
    model = _clamped_wire(span, d, T0, Fs, kc)
    pre = model.solve_pretension()
    assert pre.achieved_N["wire"] == pytest.approx(T0, rel=1e-6)
    peak = 0.0
    model.restore(model._pretension_snapshot)
    load = np.array([0.0, 0.0, -160.0, 0.0, 0.0, 0.0])
    from dolfinx import fem

    for k in range(1, 7):
        model._step_to(load, (k - 1) / 6, k / 6, "loading")
        n = model.num_owned_cells
        grip = fem.assemble_vector(model.joint_force_form).array[:n] / model.cell_length_mm[:n]
        peak = max(peak, float(np.abs(grip).max()))
    assert peak == pytest.approx(Fs, rel=1e-6)  # the clamps' grip reached the slip force and stayed there
    slip = model.joint_slip.x.array
    assert np.abs(slip).max() > 0.01
    model._step_to(load, 1.0, 0.0, "unloading")
    tension, _ = model.wire_tensions_N(model.update_section_forces())
    total_slip = float(np.abs(slip).sum())  # both clamps
    A = math.pi * d ** 2 / 4
    series = 1.0 / (span / (E * A) + 2.0 / kc)
    assert tension["wire"] == pytest.approx(T0 - series * total_slip, rel=2e-3)
    assert tension["wire"] < T0 - 50.0


def _clamped_wire(span, d, T0, Fs, kc):
    """A wire along x between two clamps on rigid supports (sim.elements.joint), loaded at
    its middle. The clamps' links lie along the wire, so that nothing but the clamps'
    stiffness is in series with the wire (a link across the wire would add its bending)."""
    plan = NetworkPlan()
    ga, gb = plan.add_point((-span / 2 - 5.0, 0.0, 0.0)), plan.add_point((span / 2 + 5.0, 0.0, 0.0))
    a, m, b = (plan.add_point((x, 0.0, 0.0)) for x in (-span / 2, 0.0, span / 2))
    tag = plan.add_part("wire", PartKind.WIRE, "wire")
    clamp = plan.add_part("wire_clamps", PartKind.CLAMP_LINK, "wire", axis=(1.0, 0.0, 0.0))
    for p0, p1 in ((a, m), (m, b)):
        plan.add_line(p0, p1, tag, span / 60)
    plan.add_line(ga, a, clamp, None)
    plan.add_line(gb, b, clamp, None)
    plan.markers.update({Marker.SUPPORT_A: ga, Marker.SUPPORT_B: gb, Marker.LOAD_POINT: m})
    from sim.scenario import Interfaces, SolverSettings, WireClamp

    s = v._bench_scenario(wires=(Wire("wire", "none", 0.0, T0, diameter_mm=d),),
                          interfaces=Interfaces(wire_clamp=WireClamp(rigid=False, slip_force_N=Fs, stiffness_N_per_mm=kc)),
                          solver=SolverSettings(tensioning="simultaneous"))
    return FrameModel(s, mesh_plan(plan, None, "clamped-wire"), supports=(Marker.SUPPORT_A, Marker.SUPPORT_B),
                      load_point=(Marker.LOAD_POINT, False))


def test_rod_ring_joints_in_series_with_the_rods(monkeypatch):
    """Two rigid rings joined by four rods through compliant bolted joints, pulled apart
    axially: each rod is its steel between the rings' faces in series with a joint at each
    ring (two nuts in parallel)."""
    monkeypatch.setitem(MATERIALS, "rigid", Material("rigid", 2.0e9, 0.3, 1.0e12, 8000.0))
    k_joint = 2000.0
    spacing, t, rod_d = 100.0, 6.0, 6.0
    data = {"loads": {"setup": "frame_only", "cases": ["axial"], "axial": {"force_N": 100.0, "steps": 1}},
            "rings": [{"name": "r1", "level_mm": 0.0, "material": "rigid"},
                      {"name": "r2", "level_mm": spacing, "material": "rigid"}],
            "wires": [{"name": f"w{k}", "ring": r, "angle_deg": a, "face": f, "material": "rigid"}
                      for k, (r, a, f) in enumerate((("r1", 45, "top"), ("r1", 135, "bottom"),
                                                     ("r2", 45, "top"), ("r2", 135, "bottom")))],
            "interfaces": {"rod_ring": {"rigid": False, "axial_stiffness_N_per_mm": k_joint}}}
    a = solve_frame(parse_scenario(data)).results["load_cases"]["axial"]
    EA = 200_000.0 * math.pi * rod_d ** 2 / 4
    per_rod = 1.0 / ((spacing - t) / EA + 2.0 / k_joint)
    assert a["initial_stiffness_N_per_mm"] == pytest.approx(4 * per_rod, rel=2e-3)


def test_vesic_foundation_modulus():
    """Vesic (1961) for a 1.8 mm steel wire in cortical bone: about 12 700 N/mm per mm."""
    I = math.pi * 1.8 ** 4 / 64
    assert vesic_modulus_MPa(1.8, 200_000.0 * I, 17_000.0, 0.3) == pytest.approx(12_700.0, rel=0.01)


def test_a_rigid_interface_is_the_exact_idealisation():
    """The interfaces set rigid (the default until calibrated) give the first model's network:
    the verification tests hold with them; compliant ones make the frame softer."""
    loads = {"cases": ["axial", "torsion"], "axial": {"force_N": 100.0, "steps": 1}, "torsion": {"steps": 1}}
    rigid = solve_frame(parse_scenario({"loads": loads, "gap": {"width_mm": 20.0}})).results["load_cases"]
    soft = solve_frame(parse_scenario({"loads": loads, "gap": {"width_mm": 20.0},
                                       "interfaces": {"wire_clamp": {"rigid": False}, "wire_bone": {"rigid": False}}})
                       ).results["load_cases"]
    assert soft["axial"]["initial_stiffness_N_per_mm"] < rigid["axial"]["initial_stiffness_N_per_mm"]
    assert soft["torsion"]["initial_stiffness_Nm_per_deg"] < rigid["torsion"]["initial_stiffness_Nm_per_deg"]


def test_cycles_report_the_tension_lost():
    data = {"interfaces": {"wire_clamp": {"rigid": False, "slip_force_N": 1000.0}}, "plasticity": {"wires": True},
            "gap": {"width_mm": 20.0},
            "loads": {"cases": ["axial"], "axial": {"force_N": 400.0, "steps": 4, "cycles": 2}}}
    r = solve_frame(parse_scenario(data)).results
    a = r["load_cases"]["axial"]
    cyc = a["cyclic"]
    # the metrics are the first loading branch's: 0, 100, ..., 400 N and the first yield, a step of its own
    assert len(cyc["cycles"]) == 2 and a["load_N"] == sorted(a["load_N"]) and a["load_N"][-1] == 400.0
    assert len(a["load_N"]) == 5 + (a["first_yield_at_N"] is not None)
    assert all(0.5 < loss < 20.0 for loss in cyc["wire_tension_loss_percent"].values())
    assert cyc["permanent_set"] > 0.0
    # the summary says what the cycles cost: the tension lost after each cycle and the permanent set
    from postprocess.summary import stability_summary

    pre = {w["name"]: w["achieved_N"] for w in r["pretension"]["wires"]}
    mean = [sum(100 * (pre[n] - c["wire_tension_unloaded_N"][n]) / pre[n] for n in pre) / len(pre)
            for c in cyc["cycles"]]
    most = max(cyc["wire_tension_loss_percent"], key=cyc["wire_tension_loss_percent"].get)
    line = (f"    2 load-unload cycles: wire tension lost since pretension after cycle 1: {mean[0]:.1f} %, 2: "
            f"{mean[1]:.1f} % (mean of {len(pre)} wires; most {most}: {cyc['wire_tension_loss_percent'][most]:.1f} %, "
            f"{cyc['wire_tension_loss_N'][most]:.0f} N); permanent set {cyc['permanent_set']:.3f} mm")
    assert line in stability_summary(r).splitlines()


def test_the_assumptions_in_the_results_say_which_interfaces_and_plasticity_were_used():
    """results.json names the compliant laws with their numbers, and the summary does not
    call a model with plastic wires elastic."""
    from postprocess.summary import stability_summary as summary_text

    data = {"interfaces": {"rod_ring": {"rigid": False}, "wire_clamp": {"rigid": False, "slip_force_N": 1200.0}},
            "plasticity": {"wires": True}, "loads": {"cases": ["bending_ap"], "bending_ap": {"moment_Nm": 8.0, "steps": 4}}}
    r = solve_frame(parse_scenario(data)).results
    assert r["safety_factor"]["wires"] < 1.0  # the wires yield
    a = r["assumptions"]
    assert a["wire_clamps"].startswith("compliant (slip_force_N = 1200")
    assert "rods to rings: compliant (axial_stiffness_N_per_mm = 660" in a["joints"]
    assert a["kinematics"].startswith("geometrically exact") and "elastoplastic wires" in a["kinematics"]
    assert a["plasticity"] == {"wires": True, "half_pins": False}
    text = summary_text(r)
    assert "wires (the model is elastic" not in text and "wires yielded (plasticity on)" in text
    # the peak of a yielded wire is its fibres' stress, which the hardening law keeps below the tensile strength
    assert ("wires yielded (plasticity on): their peak is the largest fibre stress (axial stress with the twist's "
            "shear, as the hardening law allows past yield)") in text
    strength = MATERIALS["stainless_steel_cold_worked"].ultimate_stress_MPa
    assert 690.0 < r["max_von_mises_MPa"]["wires"] < strength
    worst = r["critical_parts"]["wires"]
    assert worst["von_mises_MPa"] == r["max_von_mises_by_part_MPa"][worst["part"]] == r["max_von_mises_MPa"]["wires"]
    assert worst["safety_factor"] == pytest.approx(690.0 / worst["von_mises_MPa"])
    rigid = solve_frame(parse_scenario({"loads": data["loads"]})).results["assumptions"]
    assert rigid["wire_clamps"].startswith("rigid") and "linear elastic materials" in rigid["kinematics"]


@pytest.mark.slow
def test_first_yield_of_plastic_wires_does_not_depend_on_the_load_steps():
    """Before anything yields a plastic wire is elastic: its first yield is the elastic
    frame's, located exactly at any step count (the fibres' return-mapped stresses level off
    at yield and must not be what the event is located on: 4.75-4.83 N*m at 4-32 steps)."""
    from sim.scenario import load_scenario
    from sim.run import solve_frame

    base = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "standard-4ring.toml").replace(
        {"loads.cases": ["bending_ap"], "loads.bending_ap.moment_Nm": 8})
    elastic = solve_frame(base).results["load_cases"]["bending_ap"]
    for steps in (4, 16):
        plastic = solve_frame(base.replace({"plasticity.wires": True, "loads.bending_ap.steps": steps})
                              ).results["load_cases"]["bending_ap"]
        assert plastic["first_yield_part"] == elastic["first_yield_part"]
        assert plastic["first_yield_at_Nm"] == pytest.approx(elastic["first_yield_at_Nm"], rel=1e-3)
        assert plastic["max_von_mises_MPa"]["wires"] < 700.0  # the reported peak is still the fibres'
