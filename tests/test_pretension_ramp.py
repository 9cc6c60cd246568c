"""The pretension's load is the wires' tensioning strain: when Newton fails to reach it in
one solve from rest, a step cut must scale that strain (it used to repeat the same
full-strain solve, so the ankle foot plate's pretension failed after the bone got its
hindfoot section cell by cell: issue 19)."""

from pathlib import Path

import numpy as np
import pytest

import sim.fenicsx  # noqa: F401  (before dolfinx)
from meshes.frame_network import build_frame
from sim.elements import beam
from sim.frame_model import FrameModel
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _model(name: str) -> FrameModel:
    s = load_scenario(ROOT / "scenarios" / name)
    return FrameModel(s, build_frame(s))


def test_a_step_cut_in_pretension_halves_the_wires_tensioning_strain():
    """The small case: the standard frame, its first pretension Newton solve made to fail.
    The next attempt must see half of each wire's tensioning strain (not the same strain
    again), and the pretension then reaches the same tensions as without the failure."""
    reference = _model("standard-4ring.toml").solve_pretension().achieved_N
    m = _model("standard-4ring.toml")
    wire = next(iter(m.wire_tags))
    cell = m.cells_of[m.wire_tags[wire]][0]
    seen, real = [], m._newton

    def newton(context):
        seen.append(float(m.props.x.array.reshape(-1, beam.N_COLUMNS)[cell, beam.EPS0]))
        if len(seen) == 1:
            return False, 0, float("nan")  # the first full-strain solve "fails"
        return real(context)

    m._newton = newton
    achieved = m.solve_pretension().achieved_N
    assert seen[0] < 0.0
    assert seen[1] == pytest.approx(0.5 * seen[0], rel=1e-12)
    for name, value in reference.items():
        assert achieved[name] == pytest.approx(value, rel=1e-6)


def test_ankle_foot_plate_pretension_converges():
    """The shipped ankle frame (an open foot plate, two 70 kgf wires and a half pin in the
    40 mm hindfoot block): its one-solve pretension from rest does not converge (the plate
    turns the frame above it by 0.03 rad); tensioned in steps, every wire reaches its target."""
    m = _model("ankle-foot-plate.toml")
    r = m.solve_pretension()
    for name, target in r.target_N.items():
        assert r.achieved_N[name] == pytest.approx(target, rel=1e-5), name
    rotations = np.abs(m.w.x.array.reshape(-1, 6)[:, 3:]).max()
    assert 0.01 < rotations < 0.1  # the open plate's give: a few degrees, not a collapse


def test_tibial_plateau_hybrid_on_the_tibia_template_pretension_converges():
    """The same failure on a frame without a foot plate: the hybrid frame on the tibia
    template (a 60 mm plateau under the 5/8 ring) did not converge in one pretension solve
    either; in steps, every wire reaches its target."""
    import tomllib

    from sim.scenario import parse_scenario

    data = tomllib.loads((ROOT / "scenarios" / "tibial-plateau-hybrid.toml").read_text())
    data["bone"]["template"] = "tibia"
    s = parse_scenario(data)
    r = FrameModel(s, build_frame(s)).solve_pretension()
    for name, target in r.target_N.items():
        assert r.achieved_N[name] == pytest.approx(target, rel=1e-5), name


def test_ankle_foot_plate_pretension_converges_at_90_kgf():
    """The foot plate's wires at 90 kgf (docs/frame-model.md used to list this frame as not
    converging there): tensioned in steps, both reach 883 N."""
    import tomllib

    from sim.scenario import parse_scenario

    data = tomllib.loads((ROOT / "scenarios" / "ankle-foot-plate.toml").read_text())
    for w in data["wires"]:
        if w["ring"] == "foot_plate":
            w["tension_kgf"] = 90
    s = parse_scenario(data)
    r = FrameModel(s, build_frame(s)).solve_pretension()
    for name, target in r.target_N.items():
        assert r.achieved_N[name] == pytest.approx(target, rel=1e-5), name
    assert r.target_N["calcaneus_wire1"] == pytest.approx(90 * 9.80665)


def test_a_pretension_that_never_converges_says_what_its_load_factor_is():
    from sim.frame_model import SolverError

    m = _model("standard-4ring.toml")
    m._newton = lambda context: (False, 25, 1.0e5)
    with pytest.raises(SolverError, match=r"^pretension \(load factor: the fraction of the wires' tensioning "
                                          r"strain\): Newton did not converge at load factor 0\.01562 .*6 step cuts"):
        m.solve_pretension()
