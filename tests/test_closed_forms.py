"""Verification ladder, step 1: single members against the closed forms of physics.md."""

import math

import numpy as np
import pytest

from sim import verification as v


def test_reference_value_of_physics_md():
    # 1.8 mm wire, L = 150 mm, E = 200 GPa, T = 1275 N: k0 = 44.7 N/mm
    assert v.tensioned_wire_stiffness_N_per_mm(1275.0, 150.0, 1.8) == pytest.approx(44.7, abs=0.05)


def test_tensioned_wire_small_load_stiffness_within_2_percent():
    exact = v.tensioned_wire_stiffness_N_per_mm(1275.0, 150.0, 1.8)
    model = v.wire_small_load_stiffness(150.0, 1.8, 1275.0)
    assert model == pytest.approx(exact, rel=0.02)
    # the common shortcut 4T/L + 192EI/L^3 is ~12 % off: the model must not agree with it
    shortcut = 4 * 1275.0 / 150 + 192 * 200_000 * math.pi * 1.8 ** 4 / 64 / 150 ** 3
    assert abs(model / shortcut - 1) > 0.08


def test_pretension_stiffens_the_wire():
    """Linear elasticity would give one stiffness at every tension; the model does not."""
    k = [v.wire_small_load_stiffness(150.0, 1.8, t) for t in (50.0, 490.0, 1275.0)]
    assert k[0] < k[1] < k[2]
    for t, kk in zip((50.0, 490.0, 1275.0), k):
        assert kk == pytest.approx(v.tensioned_wire_stiffness_N_per_mm(t, 150.0, 1.8), rel=0.02)


def test_thin_wire_large_deflection_matches_string_with_stretch():
    span, d, t0, p_max = 150.0, 0.1, 5.0, 5.0
    model = v.wire_bench(span, d, t0, elements=150)
    model.solve_pretension()
    responses = model.solve_load(np.array([0, 0, -p_max, 0, 0, 0]), steps=5)
    deflections = [-r[2] for r in responses]
    assert deflections[-1] / (span / 2) > 0.1  # a large deflection: > 10 % of the half span
    for k, delta in enumerate(deflections):
        load = p_max * (k + 1) / 5
        assert v.string_load_N(delta, t0, span, d) == pytest.approx(load, rel=0.02)
    # self-stiffening: equal load increments give shrinking deflection increments
    inc = np.diff([0.0] + deflections)
    assert np.all(np.diff(inc) < 0)


def test_ring_under_diametral_compression():
    radius, b, t, load = 100.0, 4.0, 4.0, 10.0
    model = v.ring_bench(radius, b, t)
    model.solve_pretension()
    r = model.solve_load(np.array([-load, 0, 0, 0, 0, 0]))[-1]
    EI = 200_000.0 * t * b ** 3 / 12
    assert -r[0] == pytest.approx(v.ring_diametral_deflection_mm(load, radius, EI), rel=0.02)


def test_cantilever_tip_load():
    length, d, load = 100.0, 6.0, 1.0
    model = v.cantilever_bench(length, d)
    model.solve_pretension()
    r = model.solve_load(np.array([load, 0, 0, 0, 0, 0]))[-1]
    EI = 200_000.0 * math.pi * d ** 4 / 64
    assert r[0] == pytest.approx(load * length ** 3 / (3 * EI), rel=0.02)
    assert r[4] == pytest.approx(load * length ** 2 / (2 * EI), rel=0.02)  # tip slope about y
