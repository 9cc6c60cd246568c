"""Fuzzing the inputs (issue 14): every numeric field of a scenario, a sweep file and a
hexapod table gets random and extreme values (0, negative, 1e-300, 1e300, nan and inf,
huge integers, strings, booleans, lists, tables). Validation must refuse with a
ScenarioError / SweepError or accept, never raise anything else; values far outside any
physical range must be refused. A handful of accepted extreme inputs then run through
the real command line under a time limit: exit 0, 2 or 3, never a traceback or a hang.

Seeded: the same cases every run.
"""

import copy
import dataclasses
import functools
import math
import subprocess
import sys
import time
import tomllib
import types
import typing
from pathlib import Path

import numpy as np
import pytest

from sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from sim.sweep import SweepError, case_scenario, load_sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
EXTREMES = [0, 0.0, -1, -1.0, 1e-300, -1e-300, 1e300, -1e300, math.nan, math.inf, -math.inf, 2 ** 70, -(2 ** 70),
            "abc", "1e300", True, [], {}]
FAR = [1e300, -1e300, 2 ** 70, -(2 ** 70)]  # outside every physical range: must be refused


def _resolved(name: str, **changes) -> dict:
    data = load_scenario(SCENARIOS / name).to_dict()
    for path, value in changes.items():
        _set(data, path, value)
    return data


def bases() -> dict[str, dict]:
    """Resolved scenarios that together have every table of the schema (fresh copies)."""
    return copy.deepcopy(_bases())


@functools.cache
def _bases() -> dict[str, dict]:
    hexapod_lengths = _resolved("hexapod-correction.toml")
    hexapod_lengths["hexapod"].pop("deformity")
    hexapod_lengths["hexapod"].pop("mounting")  # the origin is given as a point here
    hexapod_lengths["hexapod"]["strut_lengths_mm"] = [150.0, 148.0, 152.0, 151.0, 149.0, 150.0]
    hexapod_lengths["hexapod"].update(origin_mm=[0.0, 0.0, 180.0], hinge_mm=[0.0, 0.0, 180.0], first_pair_deg=90.0)
    return {
        "standard": _resolved("standard-4ring.toml"),
        "regenerate": _resolved("standard-4ring.toml", **{"gap.regenerate": {"modulus_MPa": 100.0,
                                                                             "poisson_ratio": 0.3}}),
        "half_pins": _resolved("hybrid-halfpins.toml"),
        "frame_only": _resolved("frame-only.toml"),
        "distraction": _resolved("distraction-4cm.toml"),
        "transport": _resolved("bone-transport.toml"),
        "hexapod": _resolved("hexapod-correction.toml"),
        "hexapod_lengths": hexapod_lengths,
        "ring_held": _ring_held_base(),
        "hexapod_residual": _resolved("hexapod-residual.toml"),
        "hexapod_four_ring": _resolved("hexapod-four-ring.toml"),
        "five_eighths": _resolved("five-eighths-proximal.toml"),
        "tibial_plateau": _resolved("tibial-plateau-hybrid.toml"),  # wires inclined and on posts
        "femoral_arch": _femoral_arch_base(),
        "connections": _connections_base(),
        "femur_arch": _resolved("femur-arch.toml"),  # [[pin_clamps]], clamped and tilted half pins
        "pin_offset": _resolved("hybrid-halfpins.toml", **{"half_pins[0].offset_mm": 1.0}),
        "ankle_foot_plate": _resolved("ankle-foot-plate.toml"),  # a foot plate and a [hindfoot] block
        "butterfly": _resolved("butterfly-fracture.toml"),  # a [gap.butterfly] wedge fragment
        "plates": _plates_base(),
        # rings' holes (snap) with a ring's own hole count (32 is the 160 mm ring's own: nothing moves more)
        "ring_holes": _resolved("six-rods-holes.toml", **{"rings[0].hole_count": 32}),
    }


def _plates_base() -> dict:
    """Connection plates (issue 19): the example's plates, one with every dimension given, a
    rod between plates on both rings, a wire clamped on plates at both ends, a half pin's
    post in a plate's hole."""
    from sim.scenario import parse_scenario

    data = _resolved("connection-plates.toml")
    data["plates"][0].update(holes=3, hole_pitch_mm=10.0, width_mm=16.0, thickness_mm=5.0, length_mm=40.0)
    data["plates"][1]["size"] = "medium"
    data["plates"] += [{"name": "plate_prox", "ring": "ring_proximal", "angle_deg": 0.0},
                       {"name": "plate_w1", "ring": "ring_distal", "angle_deg": 210.0},
                       {"name": "plate_w2", "ring": "ring_distal", "angle_deg": 30.0}]
    rod = data["rods"][0]
    rod.pop("to_ring")
    rod.update(to_plate="plate_prox", to_hole=2)
    data["wires"] = [w for w in data["wires"] if w["name"] != "ring_distal_wire1"]
    data["wires"].append({"name": "distal_plated", "ring": "ring_distal", "angle_deg": 30.0, "tension_N": 883.0,
                          "start_plate": "plate_w1", "start_hole": 2, "end_plate": "plate_w2", "end_hole": 2})
    data["half_pins"] = [{"name": "pin_ap", "plate": "plate_anterior", "hole": 4, "post_height_mm": 20.0,
                          "diameter_mm": 5.0}]
    return parse_scenario(data).to_dict()


def _connections_base() -> dict:
    """Hinges on the lateral and medial rods at the osteotomy, a telescopic posterior rod
    between the rings either side of it, an oblique fracture (issue 19)."""
    from sim.scenario import parse_scenario

    data = _resolved("hinged-correction.toml")
    rod = next(r for r in data["rods"] if r["name"] == "rod_posterior")
    rod.update(from_ring="ring2", to_ring="ring3", kind="telescopic", tube_diameter_mm=12.0, tube_inner_diameter_mm=7.0,
               tube_length_mm=50.0, overlap_mm=20.0)
    data["gap"].update(obliquity_deg=20.0, obliquity_axis_deg=90.0)
    return parse_scenario(data).to_dict()


def _femoral_arch_base() -> dict:
    """The standard frame's three lower rings and a 120 deg arch with two half pins on top."""
    from sim.scenario import parse_scenario

    data = _resolved("standard-4ring.toml")
    data["rings"][3].update(kind="femoral_arch", arch_deg=120.0, opening_deg=180.0)
    data["wires"] = [w for w in data["wires"] if w["ring"] != "ring4"]
    data["half_pins"] = [{"name": "arch_pin1", "ring": "ring4", "angle_deg": -20.0, "post_height_mm": -15.0},
                         {"name": "arch_pin2", "ring": "ring4", "angle_deg": 20.0, "post_height_mm": -30.0}]
    data["rods"] = [{"name": "rod_al", "angle_deg": 45.0}, {"name": "rod_pl", "angle_deg": -45.0},
                    {"name": "rod_am", "angle_deg": 135.0, "to_ring": "ring3"},
                    {"name": "rod_pm", "angle_deg": 225.0, "to_ring": "ring3"}]
    return parse_scenario(data).to_dict()


def _ring_held_base() -> dict:
    """A bone hanging on one ring bolted to the machine, with a material of the file's own."""
    from sim.scenario import parse_scenario

    data = {
        "materials": [{"name": "foam", "youngs_modulus_MPa": 284.0, "poisson_ratio": 0.3, "yield_stress_MPa": 8.4,
                       "density_kg_per_m3": 320.0, "source": "test", "ultimate_stress_MPa": 9.0,
                       "hardening_modulus_MPa": 10.0}],
        "bone": {"length_mm": 250, "outer_diameter_mm": 25, "inner_diameter_mm": 15, "intact": True,
                 "material": "foam", "limb_diameter_mm": 25, "min_skin_clearance_mm": 5},
        "loads": {"setup": "ring_held", "held_at_deg": [0.0, 120.0, 240.0], "cases": ["axial"],
                  "axial": {"force_N": 100.0, "steps": 2, "offset_mm": [5.0, 0.0]}},
        "rings": [{"name": "ring", "level_mm": 80, "inner_diameter_mm": 180, "width_mm": 20, "thickness_mm": 8}],
        "wires": [{"name": "w1", "ring": "ring", "angle_deg": 45, "tension_N": 800.0, "face": "top"},
                  {"name": "w2", "ring": "ring", "angle_deg": 135, "tension_N": 800.0, "face": "bottom"}],
    }
    return parse_scenario(data).to_dict()


def _get(data, path: str):
    for key in path.replace("]", "").replace("[", ".").split("."):
        data = data[int(key)] if isinstance(data, list) else data[key]
    return data


def _set(data, path: str, value) -> None:
    keys = path.replace("]", "").replace("[", ".").split(".")
    for key in keys[:-1]:
        data = data[int(key)] if isinstance(data, list) else data.setdefault(key, {})
    last = keys[-1]
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


def numeric_leaves(data, prefix: str = "") -> list[str]:
    """Paths of every int/float (not bool) value in plain scenario data."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        path = f"{prefix}[{key}]" if isinstance(data, list) else (f"{prefix}.{key}" if prefix else key)
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out.append(path)
        elif isinstance(value, (dict, list)):
            out.extend(numeric_leaves(value, path))
    return out


def _schema_key(path: str) -> str:
    """rings[2].level_mm -> rings[].level_mm; centre_xy_mm[1] -> centre_xy_mm[]."""
    import re

    return re.sub(r"\[\d+\]", "[]", path)


def schema_numeric_fields(cls=Scenario, prefix: str = "") -> set[str]:
    """Every numeric field of the scenario schema, as schema keys."""
    out = set()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        path = f"{prefix}.{f.name}" if prefix else f.name
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        origin = typing.get_origin(tp)
        if tp in (int, float):
            out.add(path)
        elif origin is tuple:
            inner = typing.get_args(tp)[0]
            if inner in (int, float):
                out.add(path + "[]")
            elif dataclasses.is_dataclass(inner):
                out |= schema_numeric_fields(inner, path + "[]")
        elif dataclasses.is_dataclass(tp):
            out |= schema_numeric_fields(tp, path)
    return out


def unique_cases() -> list[tuple[str, str]]:
    """(base, path): every numeric schema key once, on the first base that has it (the
    first entry of a list stands for all)."""
    seen: set[str] = set()
    cases = []
    for name, data in bases().items():
        for path in numeric_leaves(data):
            key = _schema_key(path)
            if key not in seen:
                seen.add(key)
                cases.append((name, path))
    return cases


def validate_or_refuse(data) -> str:
    """'ok' or the refused field; any other exception fails the test with the input that raised it."""
    try:
        parse_scenario(data)
        return "ok"
    except ScenarioError as exc:
        assert str(exc) and exc.field is not None
        return exc.field


# ----------------------------------------------------------------------------- in process
def test_the_fuzz_reaches_every_numeric_field_of_the_schema():
    covered = {_schema_key(p) for data in bases().values() for p in numeric_leaves(data)}
    missing = schema_numeric_fields() - covered
    assert not missing, f"numeric fields no fuzz base holds: {sorted(missing)}"


@pytest.mark.parametrize("base, path", unique_cases())
def test_extreme_values_of_every_numeric_field(base, path):
    data = bases()[base]
    for value in EXTREMES:
        trial = copy.deepcopy(data)
        _set(trial, path, value)
        outcome = validate_or_refuse(trial)
        if value in FAR and not isinstance(value, bool):  # refused by the field's own range check
            assert outcome != "ok" and path.startswith(outcome), \
                f"{base}: {path} = {value!r}: {outcome}: every number needs a range of its own"
    if path.endswith("tension_N"):  # the same through tension_kgf
        for value in EXTREMES:
            trial = copy.deepcopy(data)
            wire = _get(trial, path.rsplit(".", 1)[0])
            wire.pop("tension_N")
            wire["tension_kgf"] = value
            validate_or_refuse(trial)


def test_random_values_everywhere():
    """1000 seeded random scenarios: 1 to 4 numeric fields scaled, negated, zeroed or
    replaced, on a random base."""
    rng = np.random.default_rng(20240614)
    all_bases = bases()
    leaves = {name: numeric_leaves(data) for name, data in all_bases.items()}
    names = [n for n in all_bases if not n.startswith("hexapod")]  # the hexapod bases plan (slower): fewer draws
    outcomes = {"ok": 0, "refused": 0}
    t0 = time.perf_counter()
    for k in range(1000):
        name = str(rng.choice(names)) if k % 10 else str(rng.choice(["hexapod", "hexapod_lengths"]))
        trial = copy.deepcopy(all_bases[name])
        for path in rng.choice(leaves[name], size=int(rng.integers(1, 5))):
            old = _get(trial, str(path))
            kind = rng.integers(6)
            if kind == 0:
                new = old * 10.0 ** rng.uniform(-3, 3)
            elif kind == 1:
                new = -old
            elif kind == 2:
                new = 0
            elif kind == 3:
                new = old + rng.normal() * (abs(old) + 1.0)
            elif kind == 4:
                new = float(rng.choice([1e-300, 1e300, -1e300, math.nan, math.inf]))
            else:
                new = int(old * rng.uniform(0.5, 2.0)) if isinstance(old, int) else old * rng.uniform(0.9, 1.1)
            _set(trial, str(path), new)
        outcomes["ok" if validate_or_refuse(trial) == "ok" else "refused"] += 1
    assert outcomes["ok"] > 50 and outcomes["refused"] > 50, outcomes  # both sides exercised
    assert time.perf_counter() - t0 < 60.0


def _sweep_file(tmp_path, text: str) -> Path:
    f = tmp_path / "sweep.toml"
    f.write_text(f'base = "{(SCENARIOS / "sweeps" / "sweep-base.toml").as_posix()}"\n' + text)
    return f


SWEEP_VALUES = ["0", "-1", "1e-300", "1e300", "-1e300", "nan", "inf", "-inf", "99999999999999999", "-5",
                '"abc"', "true", "[]", "[1, 2]", "{}", "2.5"]


def test_sweep_files_refuse_or_accept(tmp_path):
    """Every setting and parameter key of a sweep file with extreme values and wrong types:
    load_sweep raises SweepError or accepts; every case of an accepted sweep validates or
    raises ScenarioError / SweepError."""
    templates = [
        'mode = "random"\nsamples = {v}\n[[parameters]]\npath = "gap.width_mm"\nmin = 5\nmax = 30\n',
        'mode = "lhs"\nsamples = 3\nseed = {v}\n[[parameters]]\npath = "gap.width_mm"\nmin = 5\nmax = 30\n',
        'max_cases = {v}\n[[parameters]]\npath = "gap.width_mm"\nvalues = [5, 10]\n',
        '[[parameters]]\npath = "gap.width_mm"\nmin = 5\nmax = 30\ncount = {v}\n',
        '[[parameters]]\npath = "gap.width_mm"\nmin = {v}\nmax = 30\ncount = 3\n',
        '[[parameters]]\npath = "gap.width_mm"\nmin = 1\nmax = {v}\ncount = 3\n',
        '[[parameters]]\npath = "gap.width_mm"\nvalues = [{v}, 10]\n',
        '[[parameters]]\npath = "wires[*].tension_kgf"\nvalues = [{v}]\n',
        '[[parameters]]\npath = "rings[*].inner_diameter_mm"\nvalues = [{v}, 160]\n',
        '[[parameters]]\npath = "mesh.element_size_mm"\nvalues = [{v}]\n',
        '[[parameters]]\npath = "loads.axial.steps"\nvalues = [{v}]\n',
        '[[parameters]]\npath = {v}\nvalues = [1]\n',
        'mode = "grid"\n' + "".join(f'[[parameters]]\npath = "{p}"\nmin = 1\nmax = 2\ncount = {{v}}\n'
                                    for p in ("gap.width_mm", "bone.length_mm", "gap.level_mm", "mesh.element_size_mm")),
    ]
    accepted = refused = 0
    for template in templates:
        for v in SWEEP_VALUES:
            f = _sweep_file(tmp_path, template.replace("{v}", v).replace("{{v}}", v))
            try:
                sw = load_sweep(f)
            except SweepError:
                refused += 1
                continue
            accepted += 1
            for i in range(min(len(sw.cases), 3)):
                try:
                    case_scenario(sw, i)
                except (ScenarioError, SweepError):
                    pass
    assert accepted > 10 and refused > 10


def test_sweeps_too_big_to_expand_are_refused_at_once(tmp_path):
    """A grid of 10 000 ^ 4 cases was expanded before anything was checked."""
    text = "".join(f'[[parameters]]\npath = "{p}"\nmin = 1\nmax = 2\ncount = 10000\n'
                   for p in ("gap.width_mm", "bone.length_mm", "gap.level_mm", "mesh.element_size_mm"))
    t0 = time.perf_counter()
    with pytest.raises(SweepError, match=r"more than ilizarov runs in one sweep \(100000\)"):
        load_sweep(_sweep_file(tmp_path, text))
    assert time.perf_counter() - t0 < 5.0
    with pytest.raises(SweepError, match="seed"):
        load_sweep(_sweep_file(tmp_path, 'seed = "abc"\n[[parameters]]\npath = "gap.width_mm"\nvalues = [5]\n'))
    with pytest.raises(SweepError, match="nan for gap.width_mm; accepted: finite numbers"):
        load_sweep(_sweep_file(tmp_path, '[[parameters]]\npath = "gap.width_mm"\nvalues = [5, nan]\n'))


# ----------------------------------------------------------------------------- real commands
def _cli(args, timeout_s: float, env=None):
    import os

    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, timeout=timeout_s,
                       env={**os.environ, **(env or {})})
    return r, time.perf_counter() - t0


def _toml(data: dict) -> str:
    """Plain scenario data as TOML (tables, arrays of tables, numbers, strings, booleans)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace('"', '\\"') + '"'
        if isinstance(v, float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return str(v)

    lines = []

    def table(d, name):
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict) and not (isinstance(v, list) and v and
                                                                                  isinstance(v[0], dict))}
        if name:
            lines.append(f"[{name}]")
        lines.extend(f"{k} = {value(v)}" for k, v in scalars.items())
        for k, v in d.items():
            if isinstance(v, dict) and k != "petsc_options":
                table(v, f"{name}.{k}" if name else k)
            elif isinstance(v, dict):
                lines.append(f"{k} = {value(v)}")
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                for entry in v:
                    lines.append(f"[[{name + '.' if name else ''}{k}]]")
                    for kk, vv in entry.items():
                        lines.append(f"{kk} = {value(vv)}")

    table(data, "")
    return "\n".join(lines) + "\n"


def test_toml_writer_round_trips():
    for data in bases().values():
        assert parse_scenario(tomllib.loads(_toml(data))) == parse_scenario(data)


def _extreme_runs() -> list[tuple[str, list[str], dict]]:
    """Accepted inputs at the edges of their ranges, each run by a real command."""
    b = bases()
    big = copy.deepcopy(b["standard"])  # the longest bone, the largest rings, the coarsest mesh
    big["bone"].update(length_mm=650.0, limb_diameter_mm=250.0, min_skin_clearance_mm=20.0)
    big["gap"]["level_mm"] = 325.0
    for ring, z in zip(big["rings"], (60.0, 250.0, 400.0, 590.0)):
        ring.update(level_mm=z, inner_diameter_mm=300.0, width_mm=40.0)
    big["mesh"] = {"element_size_mm": 50.0, "wire_element_size_mm": 25.0}
    big["loads"] = {"cases": ["axial", "torsion"], "axial": {"force_N": 5000.0, "steps": 2},
                    "torsion": {"moment_Nm": 50.0, "steps": 1}}
    slack = copy.deepcopy(b["standard"])  # thinnest wires, no tension, one load step each
    for w in slack["wires"]:
        w.update(diameter_mm=1.0, tension_N=0.0)
    for case in ("axial", "bending_ap", "bending_ml", "torsion"):
        slack["loads"][case]["steps"] = 1
    frame = copy.deepcopy(b["frame_only"])
    frame["loads"] = {"setup": "frame_only", "cases": ["bending_ml"], "bending_ml": {"moment_Nm": 50.0, "steps": 1}}
    fast = copy.deepcopy(b["distraction"])  # fastest distraction, 24 steps a day, no consolidation
    fast["distraction"].update(rate_mm_per_day=3.0, steps_per_day=24, lengthening_mm=3.0, latency_days=0,
                               consolidation_max_days=0)
    fine = copy.deepcopy(b["standard"])  # the finest continuum mesh that validates: refused by its size
    fine["continuum"].update(element_size_mm=1.0, wire_element_size_mm=0.1)
    hexapod = copy.deepcopy(b["hexapod"])  # the largest accepted rotation at the fastest rate, plan only
    hexapod["hexapod"]["deformity"] = {"axial_rotation_deg": 59.0, "axial_rotation": "internal",
                                       "ap_angulation_deg": 20.0, "ap_angulation": "varus"}
    hexapod["hexapod"]["max_rate_mm_per_day"] = 3.0
    return [("run-big", ["run", "--no-picture"], big), ("run-slack", ["run"], slack),
            ("run-frame-only", ["run", "--no-picture"], frame), ("timeline-fast", ["timeline", "--no-pictures"], fast),
            ("run-continuum-fine", ["run", "--model", "continuum"], fine),
            ("hexapod-rotation", ["hexapod", "--no-mechanics", "--no-pictures"], hexapod)]


@pytest.mark.slow
@pytest.mark.parametrize("name, command, data", _extreme_runs(), ids=[r[0] for r in _extreme_runs()])
def test_extreme_accepted_inputs_run_or_are_refused_cleanly(tmp_path, name, command, data):
    f = tmp_path / f"{name}.toml"
    f.write_text(_toml(data))
    out = tmp_path / "out"
    r, seconds = _cli([command[0], str(f), "--out", str(out), "--quiet", *command[1:]], timeout_s=90.0)
    assert r.returncode in (0, 2, 3), r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    if r.returncode:
        assert r.stderr.startswith("ilizarov: error:") and not out.exists(), r.stderr
    if name == "run-continuum-fine":  # 0.1 mm near every wire: millions of unknowns, refused before meshing
        assert r.returncode == 2 and "memory" in r.stderr and seconds < 30.0, r.stderr
