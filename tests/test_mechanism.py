"""Mechanisms found before solving (issue 14): every piece of bone held in all six
directions by its wires and pins (sim.mechanism), and a frame that is one piece."""

import math
import subprocess
import sys

import numpy as np
import pytest

from sim.mechanism import piece_holds, strut_rank
from sim.scenario import ScenarioError, parse_scenario
import refusals

TWO_RINGS = [{"name": "ring1", "level_mm": 60.0}, {"name": "ring2", "level_mm": 300.0}]


def wire(name, ring, angle, **more):
    return {"name": name, "ring": ring, "angle_deg": angle, **more}


def refused(data, *words, field="wires"):
    return refusals.refused(data, field, *words)


def test_one_smooth_wire_per_fragment_is_a_mechanism():
    """The issue's frame: `run` exited 0 with a shortening of 133 mm; at 45/135 deg it
    exited 3 after Newton gave up. Both are refused before solving, naming the fragment,
    the free motions and what would hold it."""
    for a1, a2 in ((0.0, 90.0), (45.0, 135.0)):
        data = {"rings": TWO_RINGS, "wires": [wire("ring1_wire1", "ring1", a1), wire("ring2_wire1", "ring2", a2)]}
        refused(data, "the distal fragment", "4 of six directions", "slides along wire ring1_wire1", "turns about it",
                "a second wire at another angle, an olive wire, or a half pin on the distal fragment")
    msg = refused({"rings": TWO_RINGS, "wires": [wire("a", "ring1", 0.0), wire("b", "ring1", 90.0, face="bottom"),
                                                 wire("c", "ring2", 90.0)]}, "the proximal fragment")
    assert "slides along wire c (y direction)" in msg


def test_the_cli_refuses_a_mechanism_and_writes_nothing(tmp_path):
    f = tmp_path / "one-wire.toml"
    f.write_text('[[rings]]\nname = "ring1"\nlevel_mm = 60\n[[rings]]\nname = "ring2"\nlevel_mm = 300\n'
                 '[[wires]]\nname = "w1"\nring = "ring1"\nangle_deg = 0\n'
                 '[[wires]]\nname = "w2"\nring = "ring2"\nangle_deg = 90\n')
    for cmd in (["validate", str(f)], ["run", str(f), "--out", str(tmp_path / "out")]):
        r = subprocess.run([sys.executable, "-m", "sim.cli", *cmd], capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, r.stderr
        assert "slides along wire w1 (x direction) and turns about it" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one-wire.toml"]


def test_parallel_wires_leave_the_fragment_sliding_along_them():
    data = {"rings": [{"name": "ring1", "level_mm": 60.0}, {"name": "ring2", "level_mm": 140.0},
                      {"name": "ring3", "level_mm": 300.0}],
            "wires": [wire("a", "ring1", 30.0), wire("b", "ring2", 30.0), wire("c", "ring3", 0.0),
                      wire("d", "ring3", 90.0, face="bottom")]}
    refused(data, "the distal fragment", "5 of six directions", "slides along wire a (direction (0.87, 0.50, 0.00))")


def test_what_holds_a_fragment():
    smooth_pair = [wire("c", "ring2", 0.0), wire("d", "ring2", 60.0, face="bottom")]
    held = [
        [wire("a", "ring1", 0.0, olive=True)],  # an olive wire holds at its cortex
        [wire("a", "ring1", 0.0), wire("b", "ring1", 90.0, face="bottom")],  # two crossing smooth wires
        [wire("a", "ring1", 20.0), wire("b", "ring1", 35.0, face="bottom")],  # even at a small angle
    ]
    for distal in held:
        s = parse_scenario({"rings": TWO_RINGS, "wires": distal + smooth_pair})
        assert all(p.is_held and p.rank == 6 for p in piece_holds(s))
    # a half pin alone holds a fragment
    s = parse_scenario({"rings": TWO_RINGS, "wires": smooth_pair,
                        "half_pins": [{"name": "p", "ring": "ring1", "angle_deg": 90.0, "post_height_mm": 20.0}]})
    assert [p.rank for p in piece_holds(s)] == [6, 6]


def test_the_free_motions_of_one_smooth_wire_are_its_slide_and_its_spin():
    """The null space of one smooth wire's rows is exactly sliding along its axis and turning
    about it (the frame model's released link), computed independently here."""
    s = parse_scenario({"rings": TWO_RINGS, "wires": [wire("a", "ring1", 30.0, offset_mm=4.0, olive=True),
                                                      wire("c", "ring2", 0.0), wire("d", "ring2", 60.0, face="bottom")]})
    from sim.mechanism import wire_hold
    import dataclasses

    w = dataclasses.replace(s.wires[0], olive=False)
    ref = np.array([0.0, 0.0, 90.0])
    hold = wire_hold(s, w, ref, 12.0)
    a = math.radians(30.0)
    d = np.array([math.cos(a), math.sin(a), 0.0])
    foot = 4.0 * np.array([-math.sin(a), math.cos(a), 0.0]) + np.array([0.0, 0.0, s.wire_level_mm(w)]) - ref
    slide = np.concatenate([d, np.zeros(3)])
    spin = np.concatenate([np.cross(foot, d), 12.0 * d])  # rotation about the wire's line
    assert np.linalg.matrix_rank(hold.rows, tol=1e-9) == 4
    assert np.allclose(hold.rows @ slide, 0.0) and np.allclose(hold.rows @ spin, 0.0)
    olive = wire_hold(s, s.wires[0], ref, 12.0)
    assert np.linalg.matrix_rank(olive.rows, tol=1e-9) == 6


def test_a_transport_segment_on_one_smooth_wire_is_refused():
    data = {
        "gap": {"level_mm": 250.0, "width_mm": 1.0},
        "defect": {"level_mm": 130.0, "length_mm": 40.0},
        "rings": [{"name": "ring1", "level_mm": 50.0}, {"name": "ring2", "level_mm": 90.0},
                  {"name": "ring3", "level_mm": 200.0}, {"name": "ring4", "level_mm": 310.0}],
        "wires": [wire("a", "ring1", 45.0), wire("b", "ring1", 135.0, face="bottom"), wire("c", "ring2", 45.0),
                  wire("s", "ring3", 45.0), wire("e", "ring4", 45.0), wire("f", "ring4", 135.0, face="bottom")],
        "distraction": {"transport_ring": "ring3", "lengthening_mm": 40.0},
    }
    refused(data, "the transport segment", "slides along wire s")


def test_a_frame_in_two_pieces_is_refused():
    rods = [{"name": f"r{k}_{a:.0f}", "angle_deg": a, "from_ring": lo, "to_ring": hi}
            for k, (lo, hi) in enumerate((("ring1", "ring2"), ("ring3", "ring4"))) for a in (0.0, 90.0, 180.0)]
    refused({"rods": rods}, "2 pieces", "{ring1, ring2} and {ring3, ring4}", field="rods")
    data = {"rods": rods, "loads": {"setup": "frame_only"}}
    refused(data, "2 pieces", field="rods")


def test_strut_matrix_rank():
    """Six struts of the standard pattern hold the moving ring; six parallel struts do not."""
    angles = np.radians(np.arange(6) * 60.0)
    base = np.column_stack([80 * np.cos(angles), 80 * np.sin(angles), np.zeros(6)])
    top = np.column_stack([80 * np.cos(angles + 0.6), 80 * np.sin(angles + 0.6), np.full(6, 150.0)])
    top[1::2] = np.column_stack([80 * np.cos(angles[1::2] - 0.6), 80 * np.sin(angles[1::2] - 0.6), np.full(3, 150.0)])
    c = np.array([0.0, 0.0, 150.0])
    assert strut_rank(base - c, top - c, 80.0)[0] == 6
    parallel = base + [0.0, 0.0, 150.0]
    assert strut_rank(base - c, parallel - c, 80.0)[0] == 3  # only z and the tilts
