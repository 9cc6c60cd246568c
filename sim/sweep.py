"""Design sweeps: many variants of one scenario, farmed over MPI, stored case by case.

A sweep file (TOML) names a base scenario and the parameters to vary, each by its path
in the resolved scenario (``rings[*].inner_diameter_mm``, ``wires[0].tension_kgf``,
``gap.width_mm``; ``[*]`` is every entry of a list; ``tension_kgf`` is converted to
``tension_N``):

    name = "tension-and-rings"
    base = "standard-4ring.toml"      # relative to the sweep file
    mode = "grid"                     # grid | zip | lhs | random
    samples = 20                      # lhs / random
    seed = 1
    max_cases = 2000                  # more needs --yes

    [[parameters]]
    path = "wires[*].tension_kgf"
    values = [50, 90, 130]            # or min, max (and count for grid / zip)

The store (`DIR/`): `sweep.json` (the expanded definition and its fingerprint),
`cases/<id>.json` one record per case, written to a temporary name and renamed (a case
is either fully recorded or not at all), and `summary.csv` / `summary.parquet` rebuilt
from the records. Running the same command again skips recorded cases; a different sweep
in the same directory is refused.

Under MPI the world is split into groups of `ranks_per_case` ranks; a dispatcher thread
on world rank 0 hands out the next case to whichever group asks first (dynamic load
balancing: a slow case never idles the others), and counts what comes back.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import itertools
import json
import math
import os
import re
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.scenario import ScenarioError, load_scenario, parse_scenario
from sim.units import N_PER_KGF

SWEEP_VERSION = 1
DEFAULT_MAX_CASES = 2000
MODES = ("grid", "zip", "lhs", "random")


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

    @property
    def fingerprint(self) -> str:
        data = {"base": self.base, "cases": self.cases}
        if self.model != "frame":  # the frame model's stores keep their fingerprint
            data["model"] = self.model
        blob = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def case_id(self, index: int) -> str:
        blob = json.dumps(self.cases[index], sort_keys=True, default=str)
        return f"case{index:05d}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


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
    allowed = {"name", "description", "base", "mode", "samples", "seed", "max_cases", "parameters", "model"}
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
    except ScenarioError as exc:
        raise SweepError(f"base: {base_path}: {exc}") from None
    model = data.get("model", "frame")
    if model not in ("frame", "continuum"):
        raise SweepError(f"model: {model!r}; accepted: 'frame' (3D beams, seconds per case) or 'continuum' (3D "
                         "solids, minutes per case; the base scenario's [continuum] table sets the mesh)")
    mode = data.get("mode", "grid")
    if mode not in MODES:
        raise SweepError(f"mode: {mode!r}; accepted: {', '.join(MODES)}")
    seed = _whole("seed", data.get("seed"), 0, default=0, high=MAX_SEED)
    samples = _whole("samples", data.get("samples"), 0, default=0)
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
               max_cases=max_cases, model=model)
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
    if sw.samples < 1:
        raise SweepError(f"samples: {sw.samples}; accepted: a whole number >= 1 in {sw.mode} mode")
    rng = np.random.default_rng(sw.seed)
    n = sw.samples
    cases = [{} for _ in range(n)]
    for p in ps:
        if sw.mode == "lhs":  # one sample in each of n equal strata, strata shuffled per parameter
            u = (rng.permutation(n) + rng.random(n)) / n
        else:
            u = rng.random(n)
        for k in range(n):
            if p.values is not None:
                cases[k][p.path] = p.values[min(int(u[k] * len(p.values)), len(p.values) - 1)]
            else:
                cases[k][p.path] = float(p.low + u[k] * (p.high - p.low))
    return cases


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

    mm3 = 1e-9  # m^3 per mm^3
    total = 0.0
    for r in s.rings:
        total += 2 * math.pi * r.centroid_radius_mm * r.width_mm * r.thickness_mm * mm3 * s.material(r.material).density_kg_per_m3
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


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary name beside `path`, then rename: the file is there whole or not
    at all (the temporary is removed on any error or interrupt)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


_RECORD = re.compile(r"case\d{5}-[0-9a-f]{8}\.json")
_RECORD_TMP = re.compile(r"\.case\d{5}-[0-9a-f]{8}\.json\.\d+\.tmp")


def _store_entry(rel: str, is_dir: bool) -> bool:
    """The case records (and their temporaries) in a sweep store are the tool's own
    without being listed in its manifest (sim.outdir)."""
    if is_dir:
        return rel == "cases"
    folder, _, name = rel.partition("/")
    return folder == "cases" and "/" not in name and bool(_RECORD.fullmatch(name) or _RECORD_TMP.fullmatch(name))


def store_dir(out: Path):
    """The sweep store as a sim.outdir.OutputDir (rank-0 work only)."""
    from mpi4py import MPI

    from sim.outdir import OutputDir

    return OutputDir(out, "sweep", comm=MPI.COMM_SELF, allow=_store_entry)


def prepare_store(sw: Sweep, out: Path) -> None:
    """Create or reopen the store; SweepError if it holds another sweep or anything that
    ilizarov did not write (sim.outdir: nothing in it is ever replaced or deleted)."""
    from sim.outdir import OutputDirError

    try:
        with store_dir(out).claim(wait=True) as od:
            if od.state == "previous":
                meta = out / "sweep.json"
                try:
                    old = json.loads(meta.read_text())
                except (OSError, ValueError):
                    old = {}
                if old.get("fingerprint") != sw.fingerprint:
                    raise SweepError(f"--out {out}: holds a different sweep ({old.get('name')!r}, "
                                     f"{old.get('n_cases')} cases); accepted: a new directory, or the same sweep "
                                     "file to resume it")
                for p in (out / "cases").glob(".case*.tmp"):  # left by a killed run (we hold the lock)
                    if _RECORD_TMP.fullmatch(p.name):
                        p.unlink()
                return

            def fill(staging: Path) -> None:
                (staging / "cases").mkdir()
                (staging / "sweep.json").write_text(json.dumps({
                    "sweep_version": SWEEP_VERSION, "name": sw.name, "fingerprint": sw.fingerprint, "mode": sw.mode,
                    "base": str(sw.base_path), "parameters": [p.path for p in sw.parameters],
                    "n_cases": len(sw.cases), "cases": [{"id": sw.case_id(i), **c} for i, c in enumerate(sw.cases)]},
                    indent=1, default=str))

            od.publish(fill)
    except OutputDirError as exc:
        raise SweepError(str(exc)) from None


def record_path(out: Path, sw: Sweep, index: int) -> Path:
    return out / "cases" / f"{sw.case_id(index)}.json"


def done_cases(sw: Sweep, out: Path) -> set[int]:
    done = set()
    for i in range(len(sw.cases)):
        p = record_path(out, sw, i)
        if p.is_file():
            try:
                json.loads(p.read_text())
                done.add(i)
            except (json.JSONDecodeError, UnicodeDecodeError):
                p.unlink()  # cannot happen with the atomic rename; a hand-damaged record is redone
    return done


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


def rebuild_summary(sw: Sweep, out: Path) -> tuple[int, int]:
    """summary.csv (and summary.parquet when pyarrow is there) from the records; (ok, failed)."""
    rows, ok, failed = [], 0, 0
    for i in range(len(sw.cases)):
        p = record_path(out, sw, i)
        if not p.is_file():
            continue
        rec = json.loads(p.read_text())
        row = {"id": rec["id"], "status": rec["status"], **{f"param:{k}": v for k, v in rec["parameters"].items()},
               **rec.get("metrics", {}), "time_s": rec.get("time_s"), "error": rec.get("error", "")}
        rows.append(row)
        ok += rec["status"] == "ok"
        failed += rec["status"] != "ok"
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]

    def fill(staging: Path) -> None:
        with open(staging / "summary.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=columns)
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if v is None else v) for k, v in r.items()})
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            return
        table = {}
        for c in columns:
            values = [None if r.get(c) in ("",) else r.get(c) for r in rows]
            try:
                table[c] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column of mixed kinds: kept as text
                table[c] = pa.array([None if v is None else str(v) for v in values])
        pq.write_table(pa.table(table), staging / "summary.parquet")

    from sim.outdir import OutputDirError

    od = store_dir(out)
    try:
        with od.locked(wait=True):
            od.add_files(fill, ("summary.csv", "summary.parquet"))
    except OutputDirError as exc:
        raise SweepError(str(exc)) from None
    return ok, failed


# ----------------------------------------------------------------------------- farming
TAG_REQUEST, TAG_CASE = 71, 72


def _dispatcher(comm, todo: list[int], n_groups: int, progress) -> None:
    """World rank 0's thread: hand out cases on request until none is left, then stop every group."""
    from mpi4py import MPI

    queue = list(todo)
    stopped = 0
    status = MPI.Status()
    while stopped < n_groups:
        # poll with a nap: a blocking receive would spin a core that a group needs
        while not comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_REQUEST, status=status):
            time.sleep(0.005)
        report = comm.recv(source=status.Get_source(), tag=TAG_REQUEST)
        if report is not None:
            progress(report)
        if queue:
            comm.send(queue.pop(0), dest=status.Get_source(), tag=TAG_CASE)
        else:
            comm.send(None, dest=status.Get_source(), tag=TAG_CASE)
            stopped += 1


def run_sweep(sw: Sweep, out: Path, ranks_per_case: int = 1, world=None, log=None, shard: tuple[int, int] | None = None
              ) -> dict[str, Any]:
    """Run every case not yet recorded; returns counts and timings (on world rank 0)."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD if world is None else world
    say = (lambda m: log(m)) if log and world.rank == 0 else (lambda m: None)
    if world.size % ranks_per_case:
        raise SweepError(f"--ranks-per-case {ranks_per_case}: {world.size} ranks do not split into groups of "
                         f"{ranks_per_case}; accepted: a divisor of the number of ranks")
    error = None
    if world.rank == 0:
        try:
            prepare_store(sw, out)
        except SweepError as exc:
            error = exc
    error = world.bcast(error, root=0)
    if error:
        raise error
    todo = None
    if world.rank == 0:
        done = done_cases(sw, out)
        todo = [i for i in range(len(sw.cases)) if i not in done]
        if shard is not None:
            k, n = shard
            todo = [i for i in todo if i % n == k]
    todo = world.bcast(todo, root=0)
    n_groups = world.size // ranks_per_case
    group = world.Split(world.rank // ranks_per_case, world.rank)
    leader = group.rank == 0
    say(f"sweep {sw.name!r}: {len(sw.cases)} cases, {len(sw.cases) - len(todo)} already recorded, {len(todo)} to "
        f"run on {n_groups} group(s) of {ranks_per_case} rank(s)")
    t0 = time.perf_counter()
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()

    def progress(report):
        with lock:
            counts["ok" if report["status"] == "ok" else "failed"] += 1
            n = counts["ok"] + counts["failed"]
            elapsed = time.perf_counter() - t0
            left = (len(todo) - n) * elapsed / n
            say(f"[{n}/{len(todo)}] {report['id']} {report['status']} in {report['time_s']:.2f} s; done "
                f"{counts['ok']}, failed {counts['failed']}; about {left:.0f} s left")

    chan = world.Dup()
    thread = None
    if world.rank == 0 and world.size > 1:
        thread = threading.Thread(target=_dispatcher, args=(chan, todo, n_groups, progress), daemon=True)
        thread.start()
    local_queue = list(todo) if world.size == 1 else None
    report = None
    while True:
        if world.size == 1:
            index = local_queue.pop(0) if local_queue else None
        else:
            if leader:
                chan.send(report, dest=0, tag=TAG_REQUEST)
                index = chan.recv(source=0, tag=TAG_CASE)
            index = group.bcast(index if leader else None, root=0)
        if index is None:
            break
        rec = run_case(sw, index, group)
        rec["world_rank"] = world.rank
        if leader:
            write_atomically(record_path(out, sw, index), json.dumps(rec, indent=1, default=float))
            report = {"id": rec["id"], "status": rec["status"], "time_s": rec["time_s"]}
            if world.size == 1:
                progress(report)
                report = None
    if thread is not None:
        thread.join()
    world.Barrier()
    chan.Free()
    group.Free()
    result = {"ran": len(todo), "wall_s": time.perf_counter() - t0, "out": out}
    error = None
    if world.rank == 0:
        try:
            ok, failed = rebuild_summary(sw, out)
            result.update(ok=ok, failed=failed)
        except SweepError as exc:
            error = exc
    result, error = world.bcast((result, error), root=0)
    if error is not None:
        raise error
    return result
