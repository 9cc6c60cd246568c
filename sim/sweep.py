"""Design sweeps: many variants of one scenario, farmed over MPI, stored case by case.

A sweep file (TOML) names a base scenario and the parameters to vary, each by its path
in the resolved scenario (``rings[*].inner_diameter_mm``, ``wires[0].tension_kgf``,
``gap.width_mm``; ``[*]`` is every entry of a list; ``tension_kgf`` is converted to
``tension_N``):

    name = "tension-and-rings"
    base = "standard-4ring.toml"      # relative to the sweep file
    mode = "grid"                     # grid | zip | random | lhs | halton | sobol-sequence
                                      # | sobol (Sobol' indices) | morris (screening)
    samples = 20                      # sampled modes (sobol: base points, morris: trajectories)
    seed = 1
    max_cases = 2000                  # more needs --yes

    [[parameters]]
    path = "wires[*].tension_kgf"
    values = [50, 90, 130]            # or min, max (and count for grid / zip)

Sampling plans: `lhs`, `halton` and `sobol-sequence` are scipy.stats.qmc's Latin
hypercube, scrambled Halton and scrambled Sobol' sequences; `sobol` is Saltelli's design
for Sobol' indices (SALib: N*(D+2) cases for N = samples and D parameters) and `morris`
Morris' trajectories (SALib: N*(D+1) cases); the report computes the indices from them.
Each draws points in the unit cube, mapped onto [min, max] or onto the list of values
(equal shares of the cube for each value).

The store (`DIR/`, sim.sweep_store): `sweep.json` (the expanded definition, its
fingerprint and design), `cases/<id>.json` one record per case (created exclusively: a
case is recorded whole, once, or not at all), `claims/` (who started which case), an
index (one summary row per recorded case) and `summary.csv` / `summary.parquet`.
Running the same command again, or many at once (job-array tasks, a second launcher),
runs each case once: a case is claimed before it runs, and a claim whose process died is
taken over. A different sweep in the same directory is refused.

Under MPI the world is split into groups of `ranks_per_case` ranks; a dispatcher thread
on world rank 0 claims the next case and hands it to whichever group asks first (dynamic
load balancing: a slow case never idles the others), and counts what comes back.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import csv
import hashlib
import itertools
import json
import math
import os
import re
import secrets
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim import sharedfs
from sim.scenario import ScenarioError, load_scenario, parse_scenario
from sim.sweep_store import (FOLDERS, STORE_VERSION, SweepStore, record_times, store_entry, summary_arrow,
                              summary_row)
from sim.units import N_PER_KGF

SWEEP_VERSION = 2
DEFAULT_MAX_CASES = 2000
MODES = ("grid", "zip", "random", "lhs", "halton", "sobol-sequence", "sobol", "morris")
SAMPLED = ("random", "lhs", "halton", "sobol-sequence", "sobol", "morris")
ALIASES = {"saltelli": "sobol"}  # Saltelli's design is the one Sobol' indices are computed from
SENSITIVITY_MODES = ("sobol", "morris")  # designs the report computes indices from


class SweepError(ValueError):
    """A sweep that cannot run; the message names the field and what is accepted."""


@dataclass
class Parameter:
    path: str
    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    count: int | None = None


@dataclass
class Sweep:
    name: str
    base_path: Path
    base: dict[str, Any]  # the resolved base scenario (plain data)
    mode: str
    parameters: list[Parameter]
    cases: list[dict[str, Any]] = field(default_factory=list)  # parameter path -> value
    seed: int = 0
    samples: int = 0
    max_cases: int = DEFAULT_MAX_CASES
    model: str = "frame"  # "frame" or "continuum": which model solves every case
    levels: int = 4  # morris: the grid levels of each parameter
    unit: list[list[float]] | None = None  # sampled modes: each case's point in the unit cube
    _ids: list[str] | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        data = {"base": self.base, "cases": self.cases}
        if self.model != "frame":  # the frame model's stores keep their fingerprint
            data["model"] = self.model
        blob = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def case_id(self, index: int) -> str:
        if self._ids is None or len(self._ids) != len(self.cases):
            self._ids = [f"case{i:05d}-{hashlib.sha256(json.dumps(c, sort_keys=True, default=str).encode()).hexdigest()[:8]}"
                         for i, c in enumerate(self.cases)]
        return self._ids[index]

    def design(self) -> dict[str, Any]:
        """What sweep.json keeps of the design: enough to compute sensitivity indices from
        the records (the parameters' ranges, and each case's point in the unit cube)."""
        out: dict[str, Any] = {"mode": self.mode, "samples": self.samples, "seed": self.seed, "parameters": [
            {"path": p.path, **({"values": p.values} if p.values is not None else {"min": p.low, "max": p.high})}
            for p in self.parameters]}
        if self.mode == "morris":
            out["levels"] = self.levels
        if self.mode in SENSITIVITY_MODES and self.unit is not None:
            out["unit"] = self.unit
        return out


# ----------------------------------------------------------------------------- paths
_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[(\*|\d+)\])?")


def _tokens(path: str) -> list[tuple[str, str | None]]:
    out = []
    for part in path.split("."):
        m = _TOKEN.fullmatch(part)
        if not m:
            raise SweepError(f"parameters: path {path!r}: {part!r} is not a key or key[index]; accepted: "
                             "e.g. rings[*].inner_diameter_mm, wires[0].tension_kgf, gap.width_mm")
        out.append((m.group(1), m.group(3)))
    return out


def set_path(data: dict, path: str, value: Any, check_only: bool = False) -> None:
    """Set `path` in the plain scenario data; SweepError if the path does not exist."""
    tokens = _tokens(path)
    key, index = tokens[-1]
    if key == "tension_kgf":
        tokens[-1] = ("tension_N", index)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SweepError(f"parameters: path {path!r}: {value!r} is not a number (a tension in kgf)")
            value = float(value) * N_PER_KGF
    targets = [data]
    for i, (k, idx) in enumerate(tokens):
        last = i == len(tokens) - 1
        nxt = []
        for t in targets:
            if not isinstance(t, dict) or k not in t:
                known = ", ".join(sorted(t)) if isinstance(t, dict) else "(not a table)"
                raise SweepError(f"parameters: path {path!r}: no {k!r} in the scenario here; accepted keys: {known}")
            if idx is None:
                if last:
                    if not check_only:
                        t[k] = value
                else:
                    nxt.append(t[k])
            else:
                seq = t[k]
                if not isinstance(seq, list):
                    raise SweepError(f"parameters: path {path!r}: {k!r} is not a list, so [{idx}] does not apply")
                items = range(len(seq)) if idx == "*" else [int(idx)]
                for j in items:
                    if j >= len(seq):
                        raise SweepError(f"parameters: path {path!r}: {k!r} has {len(seq)} entries; index {j} is "
                                         f"out of range")
                    if last:
                        if not check_only:
                            seq[j] = value
                    else:
                        nxt.append(seq[j])
        targets = nxt


# ----------------------------------------------------------------------------- reading
HARD_MAX_CASES = 100_000  # even with --yes: the case list must fit in memory (split larger sweeps: shards, files)
MAX_LEVELS = 10_000  # values of one parameter, or the count of a min/max range
MAX_SEED = 2 ** 63 - 1


def get_path(data: dict, path: str) -> list[Any]:
    """The values at `path` in the plain scenario data (one per `[*]` entry); SweepError
    if the path does not exist. `tension_kgf` reads `tension_N`."""
    set_path(copy.deepcopy(data), path, None, check_only=True)
    targets = [data]
    for k, idx in _tokens(path):
        k = "tension_N" if k == "tension_kgf" else k
        nxt = []
        for t in targets:
            v = t[k]
            if idx is None:
                nxt.append(v)
            else:
                nxt += v if idx == "*" else [v[int(idx)]]
        targets = nxt
    return targets


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _check_values(where: str, path: str, values: list[Any], base: dict) -> None:
    """Each value of a parameter must be of the kind the base scenario has at its path
    (a number where it has a number...), and a finite number; SweepError naming the value."""
    kinds = {_kind(v) for v in get_path(base, path) if v is not None}
    for j, v in enumerate(values):
        if isinstance(v, float) and not math.isfinite(v):
            raise SweepError(f"{where}.values[{j}]: {v!r} for {path}; accepted: finite numbers")
        if isinstance(v, (list, dict)) and not kinds & {"a list", "a table"}:
            raise SweepError(f"{where}.values[{j}]: {v!r} for {path} is {_kind(v)}; accepted: single values")
        if kinds and _kind(v) not in kinds:
            raise SweepError(f"{where}.values[{j}]: {v!r} for {path} is {_kind(v)}, but {path} is "
                             f"{' or '.join(sorted(kinds))} in the base scenario; accepted: {' or '.join(sorted(kinds))}")
    if len({_kind(v) for v in values}) > 1:
        raise SweepError(f"{where}.values: {values!r} mixes {', '.join(sorted({_kind(v) for v in values}))}; "
                         "accepted: values of one kind")


def _whole(name: str, value: Any, low: int, default: int | None = None, high: int = HARD_MAX_CASES) -> int:
    """A whole number >= low from the sweep file (SweepError otherwise)."""
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SweepError(f"{name}: {value!r}; accepted: a whole number from {low} to {high}")
    return value


def load_sweep(path: str | Path, yes: bool = False) -> Sweep:
    """Read and check a sweep file and expand its cases. SweepError (naming the key, the
    value and what is accepted) for a bad file, and for more cases than `max_cases` unless
    `yes` (never more than HARD_MAX_CASES)."""
    path = Path(path)
    if not path.is_file():
        raise SweepError(f"{path}: no such sweep file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise SweepError(f"{path}: not a text (UTF-8) file") from None
    except OSError as exc:
        raise SweepError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    allowed = {"name", "description", "base", "mode", "samples", "seed", "max_cases", "parameters", "model", "levels"}
    for key in data:
        if key not in allowed:
            hint = " (a scenario key: a sweep file names its base scenario with base = \"file.toml\")" \
                if key in ("bone", "gap", "rings", "wires", "rods", "half_pins", "loads") else ""
            raise SweepError(f"{key}: unknown key{hint}; accepted: {', '.join(sorted(allowed))}")
    if "base" not in data:
        raise SweepError("base: required: the base scenario file (relative to the sweep file)")
    for key in ("name", "description", "base", "mode", "model"):
        if key in data and not isinstance(data[key], str):
            raise SweepError(f"{key}: {data[key]!r}; accepted: a string")
    base_path = (path.parent / data["base"]).resolve()
    try:
        base = load_scenario(base_path).to_dict()
    except ScenarioError as exc:  # file-level refusals (no such file, not valid TOML) name the path already
        text = str(exc)
        said = text if text.startswith(f"{base_path}: ") else f"{base_path}: {text}"
        raise SweepError(f"base: {said}") from None
    model = data.get("model", "frame")
    if model not in ("frame", "continuum"):
        raise SweepError(f"model: {model!r}; accepted: 'frame' (3D beams, seconds per case) or 'continuum' (3D "
                         "solids, minutes per case; the base scenario's [continuum] table sets the mesh)")
    mode = data.get("mode", "grid")
    mode = ALIASES.get(mode, mode)
    if mode not in MODES:
        raise SweepError(f"mode: {mode!r}; accepted: {', '.join(MODES)} (saltelli: the same as sobol)")
    seed = _whole("seed", data.get("seed"), 0, default=0, high=MAX_SEED)
    samples = _whole("samples", data.get("samples"), 0, default=0)
    levels = _whole("levels (morris: grid levels of each parameter)", data.get("levels"), 2, default=4, high=100)
    if "levels" in data and mode != "morris":
        raise SweepError(f"levels: {levels}; accepted only with mode = \"morris\" (the grid levels of its trajectories)")
    if mode == "morris" and levels % 2:
        raise SweepError(f"levels: {levels}; accepted: an even number (Morris' design: 4 is usual)")
    max_cases = _whole("max_cases", data.get("max_cases"), 1, default=DEFAULT_MAX_CASES)
    params_raw = data.get("parameters")
    if not isinstance(params_raw, list) or not params_raw:
        raise SweepError("parameters: at least one [[parameters]] table with a path and values (or min/max)")
    params = []
    for i, p in enumerate(params_raw):
        where = f"parameters[{i}]"
        if not isinstance(p, dict) or "path" not in p:
            raise SweepError(f"{where}.path: required (e.g. 'wires[*].tension_kgf')")
        if not isinstance(p["path"], str):
            raise SweepError(f"{where}.path: {p['path']!r}; accepted: a string such as 'wires[*].tension_kgf'")
        if any(q.path == p["path"] for q in params):
            raise SweepError(f"{where}.path: {p['path']!r} is varied twice; accepted: each path once")
        extra = set(p) - {"path", "values", "min", "max", "count"}
        if extra:
            raise SweepError(f"{where}: unknown keys {sorted(extra)}; accepted: path, values, min, max, count")
        set_path(copy.deepcopy(base), p["path"], None, check_only=True)
        if "values" in p:
            vals = p["values"]
            if not isinstance(vals, list) or not vals:
                raise SweepError(f"{where}.values: an empty range; accepted: a non-empty list")
            if len(vals) > MAX_LEVELS:
                raise SweepError(f"{where}.values: {len(vals)} values; accepted: at most {MAX_LEVELS}")
            _check_values(where, p["path"], vals, base)
            params.append(Parameter(p["path"], values=list(vals)))
        elif "min" in p and "max" in p:
            lo, hi = p["min"], p["max"]
            numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in (lo, hi))
            if not numbers or not lo < hi:
                raise SweepError(f"{where}.min/max: {lo!r} to {hi!r} is an empty range; accepted: finite numbers, "
                                 "min < max")
            _check_values(where, p["path"], [lo, hi], base)
            count = p.get("count")
            if mode in ("grid", "zip") or count is not None:
                count = _whole(f"{where}.count (required with min/max in {mode} mode)", count, 1, high=MAX_LEVELS)
            params.append(Parameter(p["path"], low=float(lo), high=float(hi), count=count))
        else:
            raise SweepError(f"{where}: give values = [...] or min and max")
    sw = Sweep(data.get("name", path.stem), base_path, base, mode, params, seed=seed, samples=samples,
               max_cases=max_cases, model=model, levels=levels)
    n = count_cases(sw)
    if n > HARD_MAX_CASES:
        raise SweepError(f"{n} cases is more than ilizarov runs in one sweep ({HARD_MAX_CASES}); accepted: fewer "
                         "levels or samples (or several sweeps)")
    if n > max_cases and not yes:
        raise SweepError(f"{n} cases is more than max_cases = {max_cases}; accepted: --yes to run them anyway, or "
                         "fewer levels / samples")
    sw.cases = expand(sw)
    return sw


def count_cases(sw: Sweep) -> int:
    """The number of cases, without expanding them (SweepError for zip lists of unequal length)."""
    levels = [len(p.values) if p.values is not None else (p.count or 0) for p in sw.parameters]
    if sw.mode == "grid":
        return math.prod(levels)
    if sw.mode == "zip":
        if len(set(levels)) != 1:
            raise SweepError(f"parameters: zip mode needs lists of one length; got {levels}")
        return levels[0]
    d = len(sw.parameters)
    if sw.mode in ("sobol", "sobol-sequence"):
        n = sw.samples
        if n < 2 or n & (n - 1):
            what = (f"base points of Saltelli's design (it runs samples x (parameters + 2) = {n} x {d + 2} cases)"
                    if sw.mode == "sobol" else "points of the Sobol' sequence")
            raise SweepError(f"samples: {n}; accepted: a power of 2 from 2 up (e.g. 64, 128, 256) in {sw.mode} mode: "
                             f"the {what}; a Sobol' sequence keeps its balance only at powers of 2")
        return n * (d + 2) if sw.mode == "sobol" else n
    if sw.mode == "morris":
        if sw.samples < 2:
            raise SweepError(f"samples: {sw.samples}; accepted: a whole number >= 2 in morris mode: the trajectories "
                             f"(it runs samples x (parameters + 1) = {sw.samples} x {d + 1} cases)")
        return sw.samples * (d + 1)
    if sw.samples < 1:
        raise SweepError(f"samples: {sw.samples}; accepted: a whole number >= 1 in {sw.mode} mode")
    return sw.samples


def _levels(p: Parameter) -> list[Any]:
    if p.values is not None:
        return p.values
    return [float(x) for x in np.linspace(p.low, p.high, p.count)]


def expand(sw: Sweep) -> list[dict[str, Any]]:
    """The cases: parameter path -> value, in a fixed order."""
    ps = sw.parameters
    if sw.mode == "grid":
        return [dict(zip((p.path for p in ps), combo)) for combo in itertools.product(*(_levels(p) for p in ps))]
    if sw.mode == "zip":
        levels = [_levels(p) for p in ps]
        n = {len(v) for v in levels}
        if len(n) != 1:
            raise SweepError(f"parameters: zip mode needs lists of one length; got {[len(v) for v in levels]}")
        return [dict(zip((p.path for p in ps), combo)) for combo in zip(*levels)]
    count_cases(sw)  # checks samples for the mode
    unit = unit_design(sw)
    sw.unit = unit.tolist()
    cases = [{} for _ in range(len(unit))]
    for j, p in enumerate(ps):
        u = unit[:, j]
        if p.values is not None:  # equal shares of [0, 1] for each value
            idx = np.minimum((u * len(p.values)).astype(int), len(p.values) - 1)
            for k in range(len(unit)):
                cases[k][p.path] = p.values[idx[k]]
        else:
            x = p.low + u * (p.high - p.low)
            for k in range(len(unit)):
                cases[k][p.path] = float(x[k])
    return cases


def unit_design(sw: Sweep) -> np.ndarray:
    """The sampled modes' points in the unit cube, one row per case, one column per
    parameter: numpy's generator (random), scipy.stats.qmc (lhs, halton, sobol-sequence:
    scrambled, seeded), SALib (sobol: Saltelli's design without second-order terms;
    morris: trajectories on `levels` levels)."""
    d, n = len(sw.parameters), sw.samples
    rng = np.random.default_rng(sw.seed)
    if sw.mode == "random":  # column by column (as in earlier versions: the same seed, the same cases)
        return np.column_stack([rng.random(n) for _ in range(d)])
    if sw.mode in ("lhs", "halton", "sobol-sequence"):
        from scipy.stats import qmc

        if sw.mode == "lhs":  # one sample in each of n equal strata of every parameter
            return qmc.LatinHypercube(d=d, rng=rng).random(n)
        if sw.mode == "halton":
            return qmc.Halton(d=d, scramble=True, rng=rng).random(n)
        return qmc.Sobol(d=d, scramble=True, rng=rng).random_base2(int(n).bit_length() - 1)
    problem = {"num_vars": d, "names": [p.path for p in sw.parameters], "bounds": [[0.0, 1.0]] * d}
    if sw.mode == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, n, calc_second_order=False, seed=rng)
    if sw.mode == "morris":
        from SALib.sample import morris

        return morris.sample(problem, n, num_levels=sw.levels, seed=sw.seed % 2 ** 32)
    raise SweepError(f"mode: {sw.mode!r}; accepted: {', '.join(MODES)}")


def case_scenario(sw: Sweep, index: int):
    """The validated Scenario of one case (ScenarioError if the variant is invalid)."""
    data = copy.deepcopy(sw.base)
    for path, value in sw.cases[index].items():
        set_path(data, path, value)
    data["name"] = f"{sw.name}-{sw.case_id(index)}"
    return parse_scenario(data)


# ----------------------------------------------------------------------------- the store
def frame_mass_kg(s) -> float:
    """Mass of rings, wires, rods, half pins and posts (kg), from sections and densities."""
    from sim.materials import material
    from sim.ring_geometry import centreline_length_mm  # a foot plate's arms too

    mm3 = 1e-9  # m^3 per mm^3
    total = 0.0
    for r in s.rings:
        total += centreline_length_mm(r) * r.width_mm * r.thickness_mm * mm3 * s.material(r.material).density_kg_per_m3
    for w in s.wires:
        ring = s.ring(w.ring)
        length = 2 * (ring.centroid_radius_mm - 0.5 * ring.width_mm)
        total += math.pi / 4 * w.diameter_mm ** 2 * length * mm3 * s.material(w.material).density_kg_per_m3
    for rod in s.rods:
        rings = s.rod_rings(rod)
        length = rod.length_mm or (rings[-1].level_mm - rings[0].level_mm)
        total += math.pi / 4 * (rod.diameter_mm ** 2 - rod.inner_diameter_mm ** 2) * length * mm3 * s.material(rod.material).density_kg_per_m3
    for p in s.half_pins:
        rho = s.material(p.material).density_kg_per_m3
        total += math.pi / 4 * (p.diameter_mm ** 2 * 60.0 + p.post_diameter_mm ** 2 * abs(p.post_height_mm)) * mm3 * rho
    return total


def case_metrics(results: dict, s) -> dict[str, Any]:
    """The flat numbers of one case for summary.csv."""
    out: dict[str, Any] = {"n_wires": len(s.wires), "n_rings": len(s.rings), "n_half_pins": len(s.half_pins),
                           "frame_mass_kg": frame_mass_kg(s)}
    cases = results["load_cases"]
    if "axial" in cases:
        a = cases["axial"]
        out.update({"axial_initial_N_per_mm": a.get("initial_stiffness_N_per_mm"),
                    "axial_secant_N_per_mm": a.get("secant_stiffness_N_per_mm"),
                    "ifm_axial_mm": a.get("ifm_axial_mm"), "ifm_shear_mm": a.get("ifm_shear_mm"),
                    "gap_strain": a.get("gap_strain"), "frame_load_share": a.get("frame_load_share")})
    for name in ("bending_ap", "bending_ml", "torsion"):
        if name in cases:
            out[f"{name}_Nm_per_deg"] = cases[name]["stiffness_Nm_per_deg"]
    for g, v in results.get("max_von_mises_MPa", {}).items():
        out[f"max_von_mises_{g}_MPa"] = v
    out["min_wire_tension_N"] = min((w["achieved_N"] for w in results["pretension"]["wires"]), default=None)
    return out


def store_dir(out: Path):
    """The sweep store as a shared sim.outdir.OutputDir (many processes at once; rank-0 work)."""
    from mpi4py import MPI

    from sim.outdir import OutputDir

    return OutputDir(out, "sweep", comm=MPI.COMM_SELF, allow=store_entry, shared=True)


def _sweep_meta(sw: Sweep) -> dict[str, Any]:
    return {"sweep_version": SWEEP_VERSION, "store_version": STORE_VERSION, "name": sw.name,
            "fingerprint": sw.fingerprint, "mode": sw.mode, "base": str(sw.base_path),
            "parameters": [p.path for p in sw.parameters], "n_cases": len(sw.cases), "design": sw.design(),
            "cases": [{"id": sw.case_id(i), **c} for i, c in enumerate(sw.cases)]}


def prepare_store(sw: Sweep, out: Path) -> str:
    """Create the store, or check that the one there holds this sweep: "new" or "previous".
    Any number of processes may do this at once (job-array tasks starting together): the
    store is written whole in a staging directory and renamed into place only if nothing
    is there yet; a process that finds one (made meanwhile or earlier) checks it. SweepError
    if it holds another sweep or anything that ilizarov did not write (sim.outdir: nothing
    in it is ever replaced or deleted)."""
    from sim.outdir import OutputDirError

    def fill(staging: Path) -> None:
        for folder in FOLDERS:
            (staging / folder).mkdir()
        (staging / "sweep.json").write_text(json.dumps(_sweep_meta(sw), indent=1, default=str))

    summary = {"name": sw.name, "fingerprint": sw.fingerprint, "n_cases": len(sw.cases)}
    try:
        for _attempt in range(5):
            with store_dir(out).claim() as od:
                if od.state in ("new", "empty"):
                    if od.create(fill, manifest_extra={"sweep": summary}):
                        return "new"
                    continue  # another task made it first: look at theirs
                old = (od.manifest or {}).get("sweep")
                if not isinstance(old, dict):  # a store of an earlier version: its sweep.json says
                    try:
                        old = json.loads((out / "sweep.json").read_text())
                    except (OSError, ValueError):
                        old = {}
                if old.get("fingerprint") != sw.fingerprint:
                    raise SweepError(f"--out {out}: holds a different sweep ({old.get('name')!r}, "
                                     f"{old.get('n_cases')} cases); accepted: a new directory, or the same sweep "
                                     "file to resume it")
                SweepStore(out).make_folders()  # a store of version 1 gains claims/, owners/, index/
                return "previous"
        raise SweepError(f"--out {out}: appeared and vanished while this sweep started; accepted: a directory that "
                         "nothing else removes")
    except OutputDirError as exc:
        raise SweepError(str(exc)) from None


def run_case(sw: Sweep, index: int, comm) -> dict[str, Any]:
    """Solve one case on `comm`; the record (on every rank of comm)."""
    from meshes.continuum import GeometryError
    from sim.frame_model import SolverError
    from sim.run import solve_frame

    t0 = time.perf_counter()
    rec: dict[str, Any] = {"id": sw.case_id(index), "index": index, "parameters": sw.cases[index],
                           "ranks": comm.size, "model": sw.model}
    from sim.estimate import SizeError, check_memory, estimate_command

    try:
        s = case_scenario(sw, index)
        estimate = estimate_command(s, "run", ranks=comm.size, model=sw.model)
        if estimate is not None:
            check_memory(estimate)
        if sw.model == "continuum":
            from sim.continuum_run import solve_continuum

            run = solve_continuum(s, comm=comm)
        else:
            run = solve_frame(s, comm=comm)
        rec.update(status="ok", metrics=case_metrics(run.results, s), results=run.results,
                   scenario=s.to_dict())
    except (ScenarioError, SolverError, SweepError, GeometryError, SizeError) as exc:
        rec.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    except (ArithmeticError, ValueError, TypeError, KeyError, IndexError, MemoryError) as exc:
        # a variant the checks let through and the model could not handle: recorded, the sweep goes on
        rec.update(status="failed", error=f"unexpected {type(exc).__name__}: {exc}")
    rec["time_s"] = time.perf_counter() - t0
    return rec




def rebuild_summary(out: Path, store: SweepStore | None = None,
                    since: float | None = None) -> tuple[int, int] | None:
    """summary.csv and summary.parquet from the store's index, under the store's lock
    (several tasks may finish together); (ok, failed) of the summary written or found.

    `since` (a task's end: the file server's time after this process's last record): the
    summary need only hold what was recorded before it, and nobody waits for another's
    rebuild. A summary read after `since` is kept as it is; if another process is
    rebuilding it right now, this one marks that a summary is wanted (index/summary-wanted,
    made anew with a token of its own) and leaves (None): every rebuilder, once it has let
    go of the lock, looks at that mark and rebuilds again if another process made it after
    what it read. So of
    many tasks that finish together one rebuilds (twice at most), and the last summary
    holds every record. Without `since` (a report, a user): wait for the lock and rebuild."""
    from sim.outdir import OutputDirBusy, OutputDirError, read_manifest

    store = store or SweepStore(out)
    od = store_dir(out)
    wanted = out / "index" / SUMMARY_WANTED
    try:
        while True:
            mine = None
            if since is not None:  # our mark: a new file with our token (its time: the file server's)
                mine = sharedfs.token()
                sharedfs.replace_atomically(wanted, mine)
            try:
                with od.locked(wait=since is None, purpose="summary"):
                    done = (read_manifest(out) or {}).get("sweep_summary")
                    if (since is not None and isinstance(done, dict) and done.get("read_at", 0.0) > since
                            and (out / "summary.csv").is_file()):
                        read_at, ok, failed = done["read_at"], done["ok"], done["failed"]
                    else:
                        read_at = sharedfs.server_now(out)
                        table = summary_arrow(store)  # fast; None: values the columnar reader cannot type
                        rows = store.rows() if table is None else table
                        n = len(rows)
                        ok = (sum(r.get("status") == "ok" for r in rows) if table is None else
                              table.column("status").to_pylist().count("ok") if "status" in table.column_names else 0)
                        failed = n - ok
                        od.add_files(lambda staging: write_summary(staging, rows), ("summary.csv", "summary.parquet"),
                                     manifest_extra={"sweep_summary": {"read_at": read_at, "ok": ok,
                                                                       "failed": failed, "rows": n}})
            except OutputDirBusy as exc:
                if getattr(exc, "purpose", "") == "summary":
                    return None  # its holder rebuilds again after it lets go (it sees our mark)
                with od.locked(wait=True):  # a short update of another kind: wait for it, then try again
                    pass
                continue
            mark = sharedfs.fresh_mtime(wanted)
            if mark is None or mark < read_at or (mine is not None and _read_text(wanted) == mine):
                return ok, failed  # no mark since what we read or found (ours is covered by it)
            since = read_at  # records came in while we were at it: once more, without waiting
    except OutputDirError as exc:
        raise SweepError(str(exc)) from None


SUMMARY_WANTED = "summary-wanted"  # index/summary-wanted: its time says when a summary was last asked for


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def summary_table(rows) -> tuple[list[str], dict[str, list]]:
    """The summary's columns (id, status, param:..., the metrics, time_s, attempt, error)
    and their values, one per recorded case; `rows`: summary rows, or a pyarrow table of
    them (sim.sweep_store.summary_arrow: its columns are taken whole)."""
    if not isinstance(rows, list):
        return _summary_columns_arrow(rows)
    params: dict[str, None] = {}
    metrics: dict[str, None] = {}
    pvals = [r.get("parameters") or {} for r in rows]
    mvals = [r.get("metrics") or {} for r in rows]
    for d in pvals:
        params.update(dict.fromkeys(d))
    for d in mvals:
        metrics.update(dict.fromkeys(d))
    cols: dict[str, list] = {"id": [r["id"] for r in rows], "status": [r.get("status") for r in rows]}
    for p in params:
        cols[f"param:{p}"] = [d.get(p) for d in pvals]
    for m in metrics:
        if f"param:{m}" not in cols:
            cols[m] = [d.get(m) for d in mvals]
    cols["time_s"] = [r.get("time_s") for r in rows]
    cols["attempt"] = [r.get("attempt") for r in rows]
    cols["error"] = [r.get("error") or "" for r in rows]
    return list(cols), cols


def _summary_columns_arrow(table) -> tuple[list[str], dict[str, Any]]:
    import pyarrow as pa

    n = table.num_rows
    cols: dict[str, Any] = {}

    def column(name, kind=None):
        if name in table.column_names:
            return table.column(name)
        return pa.nulls(n, type=kind or pa.string())

    cols["id"] = column("id")
    cols["status"] = column("status")
    for struct, prefix in (("parameters", "param:"), ("metrics", "")):
        if struct in table.column_names and pa.types.is_struct(table.column(struct).type):
            flat = table.select([struct]).flatten()
            for field_name, col in zip(flat.column_names, flat.columns):
                name = prefix + field_name.split(".", 1)[1]
                if prefix or f"param:{name}" not in cols:
                    cols[name] = col
    cols["time_s"] = column("time_s", pa.float64())
    cols["attempt"] = column("attempt", pa.int64())
    cols["error"] = column("error").fill_null("")
    return list(cols), cols


def write_summary(folder: Path, rows) -> None:
    """summary.csv and summary.parquet of these rows into `folder` (pyarrow: a column of
    mixed kinds is kept as text; empty fields are missing values)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    names, cols = summary_table(rows)
    table = {}
    for c in names:
        values = cols[c]
        if not isinstance(values, list):  # a pyarrow column already
            table[c] = values.cast(pa.string()) if pa.types.is_null(values.type) else values
            continue
        try:
            table[c] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column of mixed kinds: kept as text
            table[c] = pa.array([None if v is None else str(v) for v in values])
        if pa.types.is_null(table[c].type):  # nothing recorded in it: an empty text column
            table[c] = pa.array(values, type=pa.string())
    table = pa.table(table)
    pa_csv.write_csv(table, folder / "summary.csv", pa_csv.WriteOptions(quoting_style="needed"))
    pq.write_table(table, folder / "summary.parquet")


# ----------------------------------------------------------------------------- farming
TAG_REQUEST, TAG_CASE = 71, 72


class CaseSource:
    """World rank 0: the cases this process may run, each claimed before it is handed out
    (sim.sweep_store). Cases another live process runs are passed over, and looked at once
    more at the end (their process may have died meanwhile); none is waited for."""

    def __init__(self, store: SweepStore, sw: Sweep, todo: list[int]):
        self.store, self.sw = store, sw
        start = secrets.randbelow(len(todo)) if todo else 0  # tasks started together begin apart
        self.queue = collections.deque(todo[start:] + todo[:start])
        self.busy: list[int] = []
        self.rechecked = False
        self.recorded_meanwhile = 0
        self.taken_over = 0
        self._lock = threading.Lock()

    def next(self) -> tuple[int, int] | None:
        """(case index, attempt) claimed for this process, or None when nothing is left."""
        with self._lock:
            while True:
                if not self.queue:
                    if self.busy and not self.rechecked:
                        self.queue.extend(self.busy)
                        self.busy, self.rechecked = [], True
                        continue
                    return None
                i = self.queue.popleft()
                state, attempt = self.store.claim(self.sw.case_id(i))
                if state == "claimed":
                    self.taken_over += attempt > 1
                    return i, attempt
                if state == "busy":
                    self.busy.append(i)
                else:
                    self.recorded_meanwhile += 1


def _dispatcher(comm, source: CaseSource, n_groups: int, progress) -> None:
    """World rank 0's thread: hand out claimed cases on request until none is left, then stop every group."""
    from mpi4py import MPI

    stopped = 0
    status = MPI.Status()
    while stopped < n_groups:
        # poll with a nap: a blocking receive would spin a core that a group needs
        while not comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_REQUEST, status=status):
            time.sleep(0.005)
        report = comm.recv(source=status.Get_source(), tag=TAG_REQUEST)
        if report is not None:
            progress(report)
        nxt = source.next()
        comm.send(nxt, dest=status.Get_source(), tag=TAG_CASE)
        if nxt is None:
            stopped += 1


def run_sweep(sw: Sweep, out: Path, ranks_per_case: int = 1, world=None, log=None, shard: tuple[int, int] | None = None,
              claim_timeout_s: float | None = None, evaluate=None) -> dict[str, Any]:
    """Run every case not yet recorded (of `shard` = (I, N): cases I, I+N, ... only) that no
    live process runs; returns counts and timings (on world rank 0). Any number of these
    may run at once on one store. `claim_timeout_s`: after how long a silent claim of a
    process on another node is taken over (sim.sweep_store). `evaluate(sw, index, comm)`
    gives a case's record (default run_case: the frame or continuum model)."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD if world is None else world
    evaluate = evaluate or run_case
    say = (lambda m: log(m)) if log and world.rank == 0 else (lambda m: None)
    if world.size % ranks_per_case:
        raise SweepError(f"--ranks-per-case {ranks_per_case}: {world.size} ranks do not split into groups of "
                         f"{ranks_per_case}; accepted: a divisor of the number of ranks")
    error, todo, owner, store, n_done = None, None, None, None, 0
    if world.rank == 0:
        try:
            prepare_store(sw, out)
            store = SweepStore(out, claim_timeout_s)
            store.remove_temporaries()
            done = store.recorded_ids()
            n_done = sum(sw.case_id(i) in done for i in range(len(sw.cases)))
            todo = [i for i in range(len(sw.cases)) if sw.case_id(i) not in done]
            if shard is not None:
                k, n = shard
                todo = [i for i in todo if i % n == k]
            owner = store.start()
        except SweepError as exc:
            error = exc
    error = world.bcast(error, root=0)
    if error:
        raise error
    todo, owner = world.bcast((todo, owner), root=0)
    n_groups = world.size // ranks_per_case
    group = world.Split(world.rank // ranks_per_case, world.rank)
    leader = group.rank == 0
    writer = store if world.rank == 0 else (SweepStore(out, owner=owner, rank=world.rank) if leader else None)
    say(f"sweep {sw.name!r}: {len(sw.cases)} cases, {n_done} already recorded, {len(todo)} to run"
        + (f" (shard {shard[0]}/{shard[1]})" if shard else "") + f" on {n_groups} group(s) of {ranks_per_case} "
        "rank(s)")
    t0 = time.perf_counter()
    counts = {"ok": 0, "failed": 0, "discarded": 0}
    lock = threading.Lock()

    def progress(report):
        with lock:
            if report.get("discarded"):
                counts["discarded"] += 1
                say(f"{report['id']} was recorded by another process meanwhile (its claim was taken over while this "
                    "process was silent for longer than the claim timeout); this result is discarded")
                return
            counts["ok" if report["status"] == "ok" else "failed"] += 1
            n = counts["ok"] + counts["failed"]
            elapsed = time.perf_counter() - t0
            left = max(0, len(todo) - n) * elapsed / n
            say(f"[{n}/{len(todo)}] {report['id']} {report['status']} in {report['time_s']:.2f} s; done "
                f"{counts['ok']}, failed {counts['failed']}; about {left:.0f} s left")

    source = CaseSource(store, sw, todo) if world.rank == 0 else None
    chan = world.Dup()
    thread = None
    finished = "interrupted"
    try:
        if world.rank == 0 and world.size > 1:
            thread = threading.Thread(target=_dispatcher, args=(chan, source, n_groups, progress), daemon=True)
            thread.start()
        report = None
        while True:
            if world.size == 1:
                nxt = source.next()
            else:
                if leader:
                    chan.send(report, dest=0, tag=TAG_REQUEST)
                    nxt = chan.recv(source=0, tag=TAG_CASE)
                nxt = group.bcast(nxt if leader else None, root=0)
            if nxt is None:
                break
            index, attempt = nxt
            started = time.time()
            rec = evaluate(sw, index, group)
            if leader:
                rec.update(attempt=attempt, owner=owner, world_rank=world.rank, host=writer.identity["host"],
                           pid=writer.identity["pid"], **record_times(started, time.time()))
                if "slurm" in writer.identity:
                    rec["slurm"] = writer.identity["slurm"]
                kept = writer.write_record(rec, summary_row(rec))
                report = {"id": rec["id"], "status": rec["status"], "time_s": rec["time_s"], "discarded": not kept}
                if world.size == 1:
                    progress(report)
                    report = None
        if thread is not None:
            thread.join()
        finished = "done"
    finally:
        if writer is not None and writer is not store:
            writer.close_index()
        if store is not None:
            store.finish(finished)
    world.Barrier()
    chan.Free()
    group.Free()
    result = {"ran": counts["ok"] + counts["failed"], "discarded": counts["discarded"], "to_run": len(todo),
              "wall_s": time.perf_counter() - t0, "out": out}
    error = None
    if world.rank == 0:
        left = len(source.busy)
        result.update(left_to_others=left, taken_over=source.taken_over)
        if left:
            say(f"{left} case(s) are being solved by other processes (claims in {out / 'claims'}); not waiting for "
                "them")
        try:
            counts_now = rebuild_summary(out, store, since=sharedfs.server_now(out))
            if counts_now is None:  # another process is rebuilding it, and will again with our records
                result.update(ok=None, failed=None, recorded=len(store.recorded_ids()))
            else:
                result.update(ok=counts_now[0], failed=counts_now[1], recorded=sum(counts_now))
        except SweepError as exc:
            error = exc
    result, error = world.bcast((result, error), root=0)
    if error is not None:
        raise error
    return result
