"""The validation suite: the frame model against published bench tests (issue 15).

Each file in `validation/` (shipped inside the package by a wheel: sim.shipped) describes one published test series: its `[source]` (citation,
DOI, where in the paper the numbers are, and `assumed`: what the paper does not say),
a base scenario (`[scenario]`, a scenario file's content), and its cells: one published
number each (`[[cells]]`: load case, metric of results.json, published mean and spread,
the changes to the base scenario as `set = { "path" = value }` with the sweep's paths)
and `[[trends]]`: ratios between two cells (e.g. 45 over 90 degree crossing).

Every cell carries a role: "calibration" (an interface parameter was fitted to it, or it
is a component test that sets one) or "prediction" (nothing was fitted to it). The table
keeps them apart, and the summary counts them apart: a model judged on what it was fitted
to proves nothing.

Each cell is solved twice: as the file describes it ("bench model": the interfaces and
plasticity the file asks for) and as the rigid idealisation (every interface rigid,
elastic members: the model before issue 15), so the table shows what the interfaces do.

Targets (issue 15): an absolute value is inside when the model is within 25 % of the
published mean, or within the published spread if that is wider; a trend (a ratio
between two cells, as a percentage change) is inside when the model's change is within
10 percentage points of the published one.

Errors: SuiteError names the file and the field (exit 2 from the command line).
"""

from __future__ import annotations

import copy
import csv
import fnmatch
import io
import json
import math
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROLES = ("calibration", "prediction")
MODELS = ("bench", "idealised")
ABSOLUTE_BAND = 0.25  # +-25 % of the published mean (or the published spread if wider)
TREND_BAND_PP = 10.0  # +-10 percentage points


class SuiteError(ValueError):
    """A validation file that cannot be used: names the file and the field."""


def parse_models(text: str) -> tuple[str, ...]:
    """The models of `--models`: a comma-separated list of MODELS, each at most once.
    SuiteError names the option, the value and what is accepted."""
    models = tuple(m.strip() for m in text.split(",") if m.strip())
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise SuiteError(f"--models {text!r}; accepted: a comma-separated list of {', '.join(MODELS)}")
    twice = sorted({m for m in models if models.count(m) > 1})
    if twice:
        raise SuiteError(f"--models {text!r} names {', '.join(twice)} more than once (each model would be solved "
                         f"again for nothing); accepted: each of {', '.join(MODELS)} at most once")
    return models


def set_table_key(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the dotted key `path` (tables only, no [index]) in plain scenario data, creating
    the tables a base leaves at their defaults; ValueError if a step is not a table."""
    *tables, key = path.split(".")
    where = data
    for t in tables:
        where = where.setdefault(t, {})
        if not isinstance(where, dict):
            raise ValueError(f"{path!r} is not a table's key")
    where[key] = value


@dataclass(frozen=True)
class Cell:
    """One published number: `metric` of load case `case` in results.json (published None:
    a reference cell, only a term of a published trend)."""

    name: str
    role: str
    case: str
    metric: str
    published: float | None
    spread: float
    spread_kind: str
    set: dict[str, Any]
    note: str = ""


@dataclass(frozen=True)
class Trend:
    """A published ratio between two cells, as a change in percent: 100 (a / b - 1); from
    the cells' published values, or given (`published_change_percent`) when the paper
    reports the change only."""

    name: str
    numerator: str
    denominator: str
    published_change_percent: float | None = None


@dataclass(frozen=True)
class Test:
    """One published test series (one file)."""

    file: Path
    key: str
    title: str
    citation: str
    doi: str
    where: str
    assumed: tuple[str, ...]
    scenario: dict[str, Any]
    cells: tuple[Cell, ...]
    trends: tuple[Trend, ...] = ()


def _need(table: dict, key: str, kind, where: str):
    if key not in table:
        raise SuiteError(f"{where}.{key}: missing; accepted: a {kind.__name__ if isinstance(kind, type) else kind}")
    value = table[key]
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SuiteError(f"{where}.{key}: {value!r} is not a finite number")
        return float(value)
    if not isinstance(value, kind):
        raise SuiteError(f"{where}.{key}: {value!r} is not a {kind.__name__}")
    return value


def load_test(path: Path) -> Test:
    """Read one validation file; SuiteError naming the file and field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SuiteError(f"{path.name}: cannot be read: {exc}") from None
    where = path.name
    src = _need(data, "source", dict, where)
    scen = _need(data, "scenario", dict, where)
    cells = []
    for i, c in enumerate(_need(data, "cells", list, where)):
        w = f"{where}: cells[{i}]"
        role = _need(c, "role", str, w)
        if role not in ROLES:
            raise SuiteError(f"{w}.role: {role!r}; accepted: {', '.join(ROLES)}")
        published = _need(c, "published", float, w) if "published" in c else None
        spread = float(c.get("spread", 0.0))
        if published == 0 or spread < 0:
            raise SuiteError(f"{w}: published must be non-zero and spread >= 0")
        unknown = set(c) - {"name", "role", "case", "metric", "published", "spread", "spread_kind", "set", "note"}
        if unknown:
            raise SuiteError(f"{w}: unknown keys {sorted(unknown)}; accepted: name, role, case, metric, published, "
                             "spread, spread_kind, set, note")
        cells.append(Cell(_need(c, "name", str, w), role, _need(c, "case", str, w), _need(c, "metric", str, w),
                          published, spread, str(c.get("spread_kind", "SD")), dict(c.get("set", {})),
                          str(c.get("note", ""))))
    names = [c.name for c in cells]
    if len(set(names)) != len(names):
        raise SuiteError(f"{where}: cells: duplicate names")
    trends = []
    for i, t in enumerate(data.get("trends", [])):
        w = f"{where}: trends[{i}]"
        ratio = _need(t, "ratio", list, w)
        if len(ratio) != 2 or any(r not in names for r in ratio):
            raise SuiteError(f"{w}.ratio: {ratio!r}; accepted: two cell names of this file")
        given = _need(t, "published_change_percent", float, w) if "published_change_percent" in t else None
        if given is None and any(next(c for c in cells if c.name == r).published is None for r in ratio):
            raise SuiteError(f"{w}: its cells have no published values; accepted: published_change_percent")
        trends.append(Trend(_need(t, "name", str, w), ratio[0], ratio[1], given))
    return Test(path, path.stem, _need(src, "title", str, f"{where}: source"),
                _need(src, "citation", str, f"{where}: source"), str(src.get("doi", "")),
                _need(src, "where", str, f"{where}: source"), tuple(src.get("assumed", ())), scen, tuple(cells),
                tuple(trends))


def load_suite(directory: Path | None = None, only: str | None = None) -> list[Test]:
    """Every validation file in `directory` (default: the shipped ones, sim.shipped; sorted),
    or those whose name matches `only` (a glob on the file's stem, e.g. "khurana*").
    SuiteError if none; sim.shipped.ShippedFilesMissing if the shipped files are missing."""
    if directory is None:
        from sim.shipped import shipped_dir

        directory = shipped_dir("validation")
    files = sorted(directory.glob("*.toml"))
    if only:
        files = [f for f in files if fnmatch.fnmatch(f.stem, only)]
    if not files:
        raise SuiteError(f"no validation file{' matching ' + repr(only) if only else ''} in {directory}")
    return [load_test(f) for f in files]


def cell_data(test: Test, cell: Cell, model: str) -> dict[str, Any]:
    """The plain scenario data of a cell: the base with the cell's changes; for the
    idealised model every interface rigid and plasticity off."""
    from sim.sweep import SweepError, set_path

    from sim.units import N_PER_KGF

    data = copy.deepcopy(test.scenario)
    data["name"] = f"{test.key}-{cell.name}"
    for w in data.get("wires", []):  # one unit, so that a cell can set either (as a sweep does)
        if isinstance(w, dict) and "tension_kgf" in w and "tension_N" not in w:
            w["tension_N"] = float(w.pop("tension_kgf")) * N_PER_KGF
    for path, value in cell.set.items():
        if "[" not in path:  # a table's key, which the base may leave at its default
            try:
                set_table_key(data, path, value)
            except ValueError as exc:
                raise SuiteError(f"{test.file.name}: cell {cell.name!r}: set: {exc}") from None
            continue
        try:
            set_path(data, path, value)
        except SweepError as exc:
            raise SuiteError(f"{test.file.name}: cell {cell.name!r}: set: {exc}") from None
    if model == "idealised":
        from sim.scenario import INTERFACE_KINDS

        data.pop("plasticity", None)
        data["interfaces"] = {k: {"rigid": True} for k in INTERFACE_KINDS}
    return data


def metric_value(results: dict, case: str, metric: str) -> float:
    try:
        value = results["load_cases"][case][metric]
    except KeyError:
        raise SuiteError(f"results have no {case}.{metric}") from None
    if value is None:
        raise SuiteError(f"results give no value for {case}.{metric}")
    return float(value)


def solve_cell(test: Test, cell: Cell, model: str, comm=None) -> dict[str, Any]:
    """Solve one cell with one model; a row: value, or the error that stopped it."""
    from sim.frame_model import SolverError
    from sim.run import solve_frame
    from sim.scenario import ScenarioError, parse_scenario

    t0 = time.perf_counter()
    row: dict[str, Any] = {"model": model}
    try:
        s = parse_scenario(cell_data(test, cell, model))
        run = solve_frame(s, comm=comm)
        row["value"] = metric_value(run.results, cell.case, cell.metric)
        row["warnings"] = run.results.get("warnings", [])
    except (ScenarioError, SolverError, SuiteError) as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
    row["time_s"] = time.perf_counter() - t0
    return row


def inside_band(value: float, cell: Cell) -> bool | None:
    if cell.published is None:
        return None
    band = max(ABSOLUTE_BAND * abs(cell.published), cell.spread)
    return abs(value - cell.published) <= band


def change_percent(a: float, b: float) -> float:
    return 100.0 * (a / b - 1.0)


def run_suite(tests: list[Test], models=MODELS, log: Callable[[str], None] | None = None, comm=None) -> dict:
    """Solve every cell of every test with each model; the suite's results (plain data)."""
    rows, trends = [], []
    total = sum(len(t.cells) for t in tests) * len(models)
    done = 0
    t0 = time.perf_counter()
    for test in tests:
        values: dict[tuple[str, str], float] = {}
        for cell in test.cells:
            row = {"test": test.key, "cell": cell.name, "role": cell.role, "case": cell.case, "metric": cell.metric,
                   "published": cell.published, "spread": cell.spread, "spread_kind": cell.spread_kind,
                   "source": test.citation, "note": cell.note}
            for model in models:
                r = solve_cell(test, cell, model, comm)
                done += 1
                if "value" in r:
                    values[(cell.name, model)] = r["value"]
                    row[f"{model}_value"] = r["value"]
                    if cell.published is not None:
                        row[f"{model}_ratio"] = r["value"] / cell.published
                        row[f"{model}_inside"] = inside_band(r["value"], cell)
                else:
                    row[f"{model}_error"] = r["error"]
                if log:
                    shown = f"{r['value']:.4g}" if "value" in r else r["error"]
                    against = "a trend's term" if cell.published is None else f"{cell.published:g}"
                    log(f"[{done}/{total}] {test.key} {cell.name} ({model}): {shown} against {against} "
                        f"({r['time_s']:.1f} s, {time.perf_counter() - t0:.0f} s so far)")
            rows.append(row)
        by_name = {c.name: c for c in test.cells}
        for tr in test.trends:
            a, b = by_name[tr.numerator], by_name[tr.denominator]
            role = "calibration" if "calibration" in (a.role, b.role) else "prediction"
            published = (tr.published_change_percent if tr.published_change_percent is not None
                         else change_percent(a.published, b.published))
            entry = {"test": test.key, "trend": tr.name, "role": role, "numerator": a.name, "denominator": b.name,
                     "published_change_percent": published, "source": test.citation}
            for model in models:
                if (a.name, model) in values and (b.name, model) in values:
                    ch = change_percent(values[(a.name, model)], values[(b.name, model)])
                    entry[f"{model}_change_percent"] = ch
                    entry[f"{model}_inside"] = abs(ch - entry["published_change_percent"]) <= TREND_BAND_PP
            trends.append(entry)
    return {"models": list(models), "cells": rows, "trends": trends, "time_s": time.perf_counter() - t0,
            "bands": {"absolute_fraction": ABSOLUTE_BAND, "trend_percentage_points": TREND_BAND_PP},
            "tests": [{"key": t.key, "title": t.title, "citation": t.citation, "doi": t.doi, "where": t.where,
                       "assumed": list(t.assumed)} for t in tests]}


def tally(suite: dict, model: str = "bench") -> dict[str, dict[str, int]]:
    """Inside / total per role, for cells and trends."""
    out: dict[str, dict[str, int]] = {}
    for kind in ("cells", "trends"):
        for role in ROLES:
            items = [r for r in suite[kind] if r["role"] == role and (kind == "trends" or r["published"] is not None)]
            out[f"{kind}_{role}"] = {"inside": sum(bool(r.get(f"{model}_inside")) for r in items), "total": len(items)}
    return out


def _fmt(v, digits=3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.{digits}g}"


def markdown_table(suite: dict) -> str:
    """The cells (calibrated and predicted apart) and the trends as Markdown tables."""
    models = suite["models"]
    out = io.StringIO()
    for role in ROLES:
        rows = [r for r in suite["cells"] if r["role"] == role and r["published"] is not None]
        if not rows:
            continue
        out.write(f"\n### {'Calibrated' if role == 'calibration' else 'Predicted'} ({len(rows)} cells)\n\n")
        head = ["test", "cell", "case.metric", "published (spread)"]
        for m in models:
            head += [f"{m}", f"{m} ratio", f"{m} inside"]
        out.write("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
        for r in rows:
            line = [r["test"], r["cell"], f"{r['case']}.{r['metric']}",
                    f"{_fmt(r['published'])} ({_fmt(r['spread'], 2)} {r['spread_kind']})" if r["spread"] > 0
                    else f"{_fmt(r['published'])} (no spread given)"]
            for m in models:
                if f"{m}_value" in r:
                    line += [_fmt(r[f"{m}_value"]), _fmt(r[f"{m}_ratio"], 2), _fmt(r[f"{m}_inside"])]
                else:
                    line += ["failed", "-", "no"]
            out.write("| " + " | ".join(line) + " |\n")
    refs = [r for r in suite["cells"] if r["published"] is None]
    if refs:
        out.write("\n### Terms of published trends (the paper gives the change only)\n\n")
        head = ["test", "cell", "case.metric"] + list(models)
        out.write("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
        for r in refs:
            line = [r["test"], r["cell"], f"{r['case']}.{r['metric']}"]
            line += [_fmt(r.get(f"{m}_value")) if f"{m}_value" in r else "failed" for m in models]
            out.write("| " + " | ".join(line) + " |\n")
    if suite["trends"]:
        out.write("\n### Trends (change in %, model within 10 percentage points)\n\n")
        head = ["test", "trend", "role", "published %"] + [f"{m} %" for m in models] + [f"{m} inside" for m in models]
        out.write("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
        for t in suite["trends"]:
            line = [t["test"], t["trend"], t["role"], f"{t['published_change_percent']:+.1f}"]
            line += [f"{t[f'{m}_change_percent']:+.1f}" if f"{m}_change_percent" in t else "-" for m in models]
            line += [_fmt(t.get(f"{m}_inside")) for m in models]
            out.write("| " + " | ".join(line) + " |\n")
    return out.getvalue()


def summary_text(suite: dict) -> str:
    lines = []
    for model in suite["models"]:
        t = tally(suite, model)
        parts = [f"{k.replace('_', ' ')}: {v['inside']}/{v['total']}" for k, v in t.items() if v["total"]]
        lines.append(f"{model} model inside the bands - " + ", ".join(parts))
    return "\n".join(lines)


def write_csv(suite: dict, path: Path) -> None:
    keys = ["test", "cell", "role", "case", "metric", "published", "spread", "spread_kind"]
    for m in suite["models"]:
        keys += [f"{m}_value", f"{m}_ratio", f"{m}_inside", f"{m}_error"]
    keys += ["source", "note"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in suite["cells"]:
            w.writerow(r)


def plot(suite: dict, path: Path) -> None:
    """Model against published, log-log, with each cell's band (the larger of +-25 % and
    its spread) as an error bar; calibrated cells hollow, predicted filled; one colour per
    model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 6.5), dpi=120, gridspec_kw={"width_ratios": [1.0, 1.1]})
    colours = {"bench": "tab:blue", "idealised": "tab:grey"}
    values = []
    for m in suite["models"]:
        for role in ROLES:
            rows = [r for r in suite["cells"] if r["role"] == role and f"{m}_ratio" in r]
            if not rows:
                continue
            x = [r["published"] for r in rows]
            y = [r[f"{m}_value"] for r in rows]
            xerr = [max(ABSOLUTE_BAND * r["published"], r["spread"]) for r in rows]
            values += x + y
            ax.errorbar(x, y, xerr=xerr, fmt="o", ms=6, capsize=2, color=colours.get(m, "tab:red"),
                        mfc="white" if role == "calibration" else colours.get(m, "tab:red"), alpha=0.9,
                        label=f"{m} model, {'calibrated' if role == 'calibration' else 'predicted'}")
    if values:
        lo, hi = min(v for v in values if v > 0) / 2, max(values) * 2
        xs = [lo, hi]
        ax.plot(xs, xs, "k-", lw=1, label="model = published")
        ax.fill_between(xs, [v * (1 - ABSOLUTE_BAND) for v in xs], [v * (1 + ABSOLUTE_BAND) for v in xs],
                        color="tab:green", alpha=0.12, label="within 25 %")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("published (bars: the band, 25 % or the published spread)")
    ax.set_ylabel("model")
    ax.set_title("Frame model against published bench tests\n(stiffnesses in N/mm and N·m/deg; log scales)",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    # right: model over published per cell, grouped by test
    tests = list(dict.fromkeys(r["test"] for r in suite["cells"]))
    for m in suite["models"]:
        for role in ROLES:
            pts = [(tests.index(r["test"]) + (0.12 if m == "bench" else -0.12), r[f"{m}_ratio"]) for r in suite["cells"]
                   if r["role"] == role and f"{m}_ratio" in r]
            if pts:
                bx.plot([p[0] for p in pts], [p[1] for p in pts], "o", ms=5, color=colours.get(m, "tab:red"),
                        mfc="white" if role == "calibration" else colours.get(m, "tab:red"), alpha=0.8)
    bx.axhspan(1 - ABSOLUTE_BAND, 1 + ABSOLUTE_BAND, color="tab:green", alpha=0.12)
    bx.axhline(1.0, color="k", lw=1)
    bx.set_yscale("log")
    bx.set_xticks(range(len(tests)))
    bx.set_xticklabels(tests, rotation=20, ha="right", fontsize=7)
    bx.set_ylabel("model / published")
    bx.set_title("Each cell: model over published (band: 25 %)", fontsize=10)
    bx.grid(True, which="both", axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_suite(suite: dict, directory: Path) -> list[str]:
    """suite.json, table.csv, table.md and validation.png in `directory` (a staging dir)."""
    (directory / "suite.json").write_text(json.dumps(suite, indent=1), encoding="utf-8")
    write_csv(suite, directory / "table.csv")
    (directory / "table.md").write_text(summary_text(suite) + "\n" + markdown_table(suite), encoding="utf-8")
    plot(suite, directory / "validation.png")
    return ["suite.json", "table.csv", "table.md", "validation.png"]
