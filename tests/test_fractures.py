"""Oblique fractures (issue 19): [gap] obliquity_deg and obliquity_axis_deg.

Frame model: the gap's contact pushes along the fracture plane's normal only, so under
axial compression the fragments slide along the plane and the frame carries the shear.
Continuum model: the gap layer is a slab between two inclined planes. A butterfly fragment
beside an oblique fracture is refused (tests/test_butterfly.py has the butterfly)."""

import math

import numpy as np
import pytest

from meshes.frame_network import build_frame
from sim.frame_model import FrameModel
from sim.scenario import ScenarioError, load_scenario, parse_scenario
from refusals import refused

TWO_RING = "scenarios/two-ring.toml"


def axial(obliquity_deg: float, axis_deg: float = 30.0, force_N: float = 100.0):
    """(gap motion (x, y, z) mm, contact forces [N, V1, V2] N) of the two-ring frame with a
    0.3 mm gap (it closes under the load) at full axial load."""
    s = load_scenario(TWO_RING).replace({"gap.width_mm": 0.3, "gap.obliquity_deg": obliquity_deg,
                                         "gap.obliquity_axis_deg": axis_deg, "loads.cases": ["axial"],
                                         "loads.axial.force_N": force_N})
    model = FrameModel(s, build_frame(s))
    model.solve_pretension()
    result = model.solve_load_case("axial")
    forces = model.update_section_forces()
    cell = model.cells_of[model.part_tag("gap_contact")][0]
    return np.asarray(result.steps[-1].gap_motion_mm), forces[cell, :3]


@pytest.fixture(scope="module")
def by_obliquity():
    return {a: axial(a) for a in (0.0, 5.0, 15.0)}


def test_an_oblique_contact_pushes_along_the_planes_normal(by_obliquity):
    """Frictionless: the force across the bone over the force along it is tan(obliquity)
    (the normal's own ratio), to round-off; a transverse gap carries no shear."""
    for a, (_, f) in by_obliquity.items():
        N, V1, V2 = f
        assert N < 0  # the gap has closed: compression
        assert math.hypot(V1, V2) / abs(N) == pytest.approx(math.tan(math.radians(a)), abs=1e-9)


def test_oblique_fragments_slide_down_the_plane(by_obliquity):
    """Interfragmentary shear grows with obliquity from zero (transverse) over the range
    where the frame's shear compliance governs it (Metcalfe, Saleh & Yang 2005: oblique
    fractures in a ring fixator displace more than transverse ones), and the proximal
    fragment slides towards the direction the plane descends (obliquity_axis_deg, 30 deg).
    The axial motion grows too: the plane lets the fragment slide past its closure."""
    shear = {a: float(np.hypot(*g[:2])) for a, (g, _) in by_obliquity.items()}
    axial_ifm = {a: float(-g[2]) for a, (g, _) in by_obliquity.items()}
    assert shear[0.0] < 1e-9
    assert 0.1 < shear[5.0] < shear[15.0]
    assert axial_ifm[0.0] < axial_ifm[5.0] < axial_ifm[15.0]
    for a in (5.0, 15.0):
        g = by_obliquity[a][0]
        assert math.degrees(math.atan2(g[1], g[0])) == pytest.approx(30.0, abs=0.5)




def test_oblique_fractures_bad_input():
    refused({"gap": {"obliquity_deg": 70.0}}, "gap.obliquity_deg", "0 to 60 deg", "AO/OTA")
    refused({"gap": {"obliquity_deg": 30.0, "obliquity_axis_deg": 400.0}}, "gap.obliquity_axis_deg", "-360 to 360")
    refused({"bone": {"length_mm": 60.0}, "gap": {"level_mm": 10.0, "obliquity_deg": 45.0},
             "rings": [{"name": "a", "level_mm": 40.0}]}, "gap.level_mm", "oblique fracture plane at 45 deg reaches")
    # a wire 14 mm of bone clear of a transverse gap is 2 mm from a plane at 45 deg (it reaches 12 mm further)
    rings = [{"name": "r1", "level_mm": 50.0}, {"name": "r2", "level_mm": 160.0}, {"name": "r3", "level_mm": 220.0},
             {"name": "r4", "level_mm": 310.0}]
    parse_scenario({"rings": rings})
    refused({"rings": rings, "gap": {"obliquity_deg": 45.0}}, "wires[2].ring", "oblique fracture", "at least 10 mm")
    refused({"gap": {"obliquity_deg": 20.0}, "distraction": {"rate_mm_per_day": 1.0, "lengthening_mm": 10.0}},
            "gap.obliquity_deg", "not built with a distraction")


def test_a_butterfly_fragment_beside_an_oblique_fracture_is_refused():
    """A butterfly fragment is built beside a transverse fracture only (tests/test_butterfly.py)."""
    refused({"gap": {"obliquity_deg": 20.0, "butterfly": {"length_mm": 20.0}}}, "gap.butterfly",
            "beside an oblique fracture", "accepted: obliquity_deg = 0")


def test_the_continuum_gap_layer_is_an_inclined_slab():
    """The solid's gap layer between two planes at 30 deg descending towards +y: its cells
    reach 1 + 12 tan 30 = 7.9 mm above and below the gap's level, their height falls with y,
    and the two faces have the same area (an ellipse's annulus, 1/cos 30 of the transverse
    one on the same mesh)."""
    import sim.fenicsx  # noqa: F401
    import ufl
    from dolfinx import fem
    from dolfinx.mesh import compute_midpoints

    from meshes.continuum import GAP_DISTAL_FACE, GAP_PROXIMAL_FACE, build_frame_solid

    def layer(obliquity):
        s = load_scenario("tests/data/continuum-small.toml").replace({"gap.obliquity_deg": obliquity,
                                                                        "gap.obliquity_axis_deg": 90.0})
        solid = build_frame_solid(s, size_mm=12.0, wire_size_mm=1.8)
        _, tag = solid.parts["gap_contact"]
        mid = compute_midpoints(solid.mesh, 3, solid.cell_tags.find(tag))
        dS = ufl.Measure("dS", domain=solid.mesh, subdomain_data=solid.facet_tags)
        areas = [fem.assemble_scalar(fem.form(1.0 * dS(t))) for t in (GAP_DISTAL_FACE, GAP_PROXIMAL_FACE)]
        return mid, areas

    mid, areas = layer(30.0)
    reach = 1.0 + 12.0 * math.tan(math.radians(30.0))
    assert 80.0 - reach <= mid[:, 2].min() < 80.0 - 0.5 * reach and 80.0 + 0.5 * reach < mid[:, 2].max() <= 80.0 + reach
    assert np.corrcoef(mid[:, 1], mid[:, 2])[0, 1] < -0.95
    flat_mid, flat_areas = layer(0.0)
    assert flat_mid[:, 2].max() - flat_mid[:, 2].min() < 2.0
    assert areas[0] == pytest.approx(areas[1], rel=1e-6)
    assert areas[0] / flat_areas[0] == pytest.approx(1.0 / math.cos(math.radians(30.0)), rel=0.05)
