"""What a sweep means: ranking, effects of each parameter, sensitivity (tornado, Sobol'
indices or Morris screening), Pareto front.

`write_sweep_report(DIR)` reads the summary rows of `ilizarov sweep` (its index: one short
line per case, not the full records) and writes, into the sweep directory:
`ranking.csv`, `effects.png` (each stability number against each parameter, with the
mean per level), `tornado.png` (how far each parameter moves the objective, from its
worst to its best level, largest first), for a `sobol` or `morris` sweep
`sensitivity.csv` / `sensitivity.png` (variance-based indices with confidence intervals,
or elementary effects), `pareto.png` / `pareto.csv` (the designs no other design beats
in both the objective and the cost) and `sweep_report.html` with all of it. Nothing is
solved here.

Sensitivity is the main effect: the objective's mean at each level of a parameter
(continuous samples are binned into quintiles); the bar spans the worst and the best
level mean. Failed cases leave holes in the design that bias plain means per level, so
the level means are least-squares means of a main-effects model fitted to the
successful cases (`level_means`; on a complete grid they are the plain means), and the
failed cases are counted per level. Units are those of the metrics' names.

Sobol' indices (`sobol_indices`, SALib's estimators on Saltelli's design): S1 is the
share of the objective's variance that a parameter causes alone, ST the share it takes
part in (alone and with others); both with bootstrap confidence intervals (95 %). Morris
screening (`morris_indices`): mu* is the mean absolute change of the objective when a
parameter goes over its whole range (from one level to the next, scaled to the range),
sigma the spread of those changes (non-linearity or interaction), with a confidence
interval for mu*. A base point (Sobol') or trajectory (Morris) with a failed or missing
case is left out whole; how many is said.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path
import numpy as np

from postprocess.report import ReportError

CONF_LEVEL = 0.95

# metric -> +1 if higher is better, -1 if lower is better
DIRECTIONS = {
    "axial_initial_N_per_mm": 1, "axial_secant_N_per_mm": 1, "bending_ap_Nm_per_deg": 1, "bending_ml_Nm_per_deg": 1,
    "torsion_Nm_per_deg": 1, "ifm_axial_mm": -1, "ifm_shear_mm": -1, "gap_strain": -1,
    "max_von_mises_wires_MPa": -1, "max_von_mises_rings_MPa": -1, "frame_mass_kg": -1, "n_wires": -1,
    "n_half_pins": -1, "min_wire_tension_N": 1,
}
EFFECT_METRICS = ("axial_initial_N_per_mm", "axial_secant_N_per_mm", "bending_ap_Nm_per_deg", "torsion_Nm_per_deg",
                  "ifm_axial_mm", "max_von_mises_wires_MPa")


def load_records(sweep_dir: Path) -> tuple[dict, list[dict], list[dict]]:
    """(sweep.json, successful rows, failed rows): each row has the case's id, index,
    status, parameters, metrics and error (sim.sweep_store: read from the index)."""
    from sim.sweep_store import SweepStore

    sweep_dir = Path(sweep_dir)
    meta_path = sweep_dir / "sweep.json"
    if not meta_path.is_file():
        raise ReportError(f"{sweep_dir}: no sweep.json: not a sweep directory (run `ilizarov sweep SWEEP.toml --out "
                          f"{sweep_dir}` first)")
    ok, failed = [], []
    try:
        meta = json.loads(meta_path.read_text())
        for rec in SweepStore(sweep_dir).index_rows():
            (ok if rec["status"] == "ok" else failed).append(rec)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReportError(f"{sweep_dir}: a damaged sweep store ({type(exc).__name__}: {exc}); run the sweep into a "
                          "new directory") from None
    if not ok:
        raise ReportError(f"{sweep_dir}: no successful case recorded yet ({len(failed)} failed); run the sweep first")
    return meta, ok, failed


def ranking(records: list[dict], objective: str) -> list[dict]:
    direction = DIRECTIONS.get(objective, 1)
    have = [r for r in records if r["metrics"].get(objective) is not None]
    return sorted(have, key=lambda r: -direction * r["metrics"][objective])


def _levels(values: list) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """Level index of each case, the level labels, and the level positions (numbers, None
    for categories): the distinct values when there are at most 12, else quintiles."""
    try:
        x = np.array([float(v) for v in values])
    except (TypeError, ValueError):
        labels = sorted({str(v) for v in values})
        return np.array([labels.index(str(v)) for v in values]), labels, None
    uniq = np.unique(x)
    if len(uniq) <= 12:
        return np.searchsorted(uniq, x), [f"{u:g}" for u in uniq], uniq
    edges = np.quantile(x, np.linspace(0, 1, 6))
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 4)
    return idx, [f"{edges[k]:.3g}-{edges[k + 1]:.3g}" for k in range(5)], 0.5 * (edges[:-1] + edges[1:])


def level_means(records: list[dict], failed: list[dict], parameters: list[str], metric: str) -> dict[str, dict]:
    """Mean of a metric at each level of each parameter, not biased by missing cases.

    The cases that failed (and those without the metric) leave holes in the design; a
    plain mean per level then mixes in whatever the other parameters were in the cases
    that remain (1.5 mm wires fail at 130 kgf: the 130 kgf mean is then one of 1.8 mm
    wires only). Instead a main-effects model y = m + sum_p a_p[level] (deviation coding)
    is fitted by least squares over the successful cases and the level means are
    m + a_p[level] ("least-squares means"): the mean the level would have over a complete
    design if the parameters act additively. On a complete grid they equal the plain
    means. If the holes leave the model without a unique solution the plain means are
    returned with method "plain means (confounded)".

    Returns per parameter: labels, positions, means (NaN for a level with no
    successful case), ok and failed case counts per level, and the method used.
    """
    allrec = records + failed
    failed_mask = np.arange(len(allrec)) >= len(records)
    y_all = np.array([np.nan if bad or r.get("metrics", {}).get(metric) is None else float(r["metrics"][metric])
                      for r, bad in zip(allrec, failed_mask)], float)
    factors = {}
    for p in parameters:
        idx, labels, pos = _levels([r["parameters"].get(p) for r in allrec])
        factors[p] = (idx, labels, pos)
    have = np.isfinite(y_all)
    out = {}
    # columns of the design: intercept, then per parameter (levels with data - 1) deviation columns
    cols = [np.ones(int(have.sum()))]
    coding = {}
    for p, (idx, labels, _pos) in factors.items():
        present = [k for k in range(len(labels)) if np.any(have & (idx == k))]
        coding[p] = present
        i = idx[have]
        for k in present[:-1]:
            cols.append((i == k).astype(float) - (i == present[-1]).astype(float))
    X = np.column_stack(cols)
    y = y_all[have]
    coef = None
    if len(y) and np.linalg.matrix_rank(X) == X.shape[1]:
        coef = np.linalg.lstsq(X, y, rcond=None)[0]
    col = 1
    for p, (idx, labels, pos) in factors.items():
        present = coding[p]
        means = np.full(len(labels), np.nan)
        if coef is not None:
            dev = coef[col:col + len(present) - 1]
            col += len(present) - 1
            for j, k in enumerate(present):
                means[k] = coef[0] + (dev[j] if j < len(present) - 1 else -dev.sum())
            method = "least-squares means"
        else:
            for k in present:
                means[k] = float(np.mean(y_all[have & (idx == k)]))
            method = "plain means (confounded)"
        out[p] = {"labels": labels, "positions": pos, "means": means, "method": method,
                  "ok": [int(np.count_nonzero(have & (idx == k))) for k in range(len(labels))],
                  "failed": [int(np.count_nonzero(failed_mask & (idx == k))) for k in range(len(labels))]}
    return out


def sensitivity(records: list[dict], parameters: list[str], objective: str,
                failed: list[dict] | None = None) -> list[dict]:
    """Main effect of each parameter on the objective, largest first: the spread of its
    level means (least-squares means, see level_means), from the worst to the best level.
    Each entry also gives the successful and failed case counts per level."""
    direction = DIRECTIONS.get(objective, 1)
    means_by = level_means(records, failed or [], parameters, objective)
    out = []
    for p in parameters:
        m = means_by[p]
        means = np.asarray(m["means"], float)
        ok = np.isfinite(means)
        if ok.sum() < 1:
            continue
        vals = np.where(ok, means, np.nan)
        worst = int(np.nanargmin(vals) if direction > 0 else np.nanargmax(vals))
        best = int(np.nanargmax(vals) if direction > 0 else np.nanargmin(vals))
        out.append({"parameter": p, "effect": float(np.nanmax(vals) - np.nanmin(vals)),
                    "worst_level": m["labels"][worst], "best_level": m["labels"][best],
                    "worst_mean": float(vals[worst]), "best_mean": float(vals[best]),
                    "levels": m["labels"], "means": [None if not np.isfinite(v) else float(v) for v in means],
                    "ok_per_level": m["ok"], "failed_per_level": m["failed"], "method": m["method"]})
    return sorted(out, key=lambda e: -e["effect"])


def _objective_by_case(meta: dict, records: list[dict], objective: str) -> np.ndarray:
    """The objective of every case of the sweep in case order (NaN: failed or not yet run)."""
    y = np.full(int(meta["n_cases"]), np.nan)
    for r in records:
        v = r.get("metrics", {}).get(objective)
        if r.get("status", "ok") == "ok" and v is not None and 0 <= r.get("index", -1) < len(y):
            y[r["index"]] = float(v)
    return y


def _problem(design: dict) -> dict:
    names = [p["path"] for p in design["parameters"]]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def sobol_indices(meta: dict, records: list[dict], objective: str, conf_level: float = CONF_LEVEL,
                  seed: int = 0) -> dict | None:
    """First-order (S1) and total (ST) Sobol' indices of `objective` with confidence
    intervals (bootstrap, `conf_level`), from a sweep run in `sobol` mode (Saltelli's
    design: blocks of D + 2 cases per base point, SALib.analyze.sobol). Base points with a
    failed or missing case are left out whole. None if the sweep is not a sobol sweep;
    ReportError if fewer than 2 whole base points are left."""
    design = meta.get("design") or {}
    if design.get("mode") != "sobol":
        return None
    import warnings

    from SALib.analyze import sobol

    problem = _problem(design)
    d = problem["num_vars"]
    y = _objective_by_case(meta, records, objective).reshape(-1, d + 2)
    whole = np.all(np.isfinite(y), axis=1)
    if whole.sum() < 2:
        raise ReportError(f"Sobol' indices of {objective}: {int(whole.sum())} of {len(y)} base points have all their "
                          f"{d + 2} cases solved; accepted: at least 2 (run the rest of the sweep)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a part of a Sobol' sequence: SALib warns about its balance
        si = sobol.analyze(problem, y[whole].ravel(), calc_second_order=False, conf_level=conf_level, seed=seed)
    return {"method": "sobol", "objective": objective, "parameters": problem["names"], "conf_level": conf_level,
            "base_points": int(len(y)), "used": int(whole.sum()), "left_out": int(len(y) - whole.sum()),
            "S1": [float(v) for v in si["S1"]], "S1_conf": [float(v) for v in si["S1_conf"]],
            "ST": [float(v) for v in si["ST"]], "ST_conf": [float(v) for v in si["ST_conf"]]}


def morris_indices(meta: dict, records: list[dict], objective: str, conf_level: float = CONF_LEVEL,
                   seed: int = 0) -> dict | None:
    """Morris screening of `objective` from a sweep run in `morris` mode (SALib.analyze.morris
    on the design's unit-cube points): mu* (mean absolute elementary effect, in units of the
    objective per whole range of the parameter) with its confidence interval, mu and sigma.
    Trajectories with a failed or missing case are left out whole. None if the sweep is not
    a morris sweep; ReportError if fewer than 2 whole trajectories are left."""
    design = meta.get("design") or {}
    if design.get("mode") != "morris":
        return None
    from SALib.analyze import morris

    problem = _problem(design)
    d = problem["num_vars"]
    x = np.asarray(design["unit"], float).reshape(-1, d + 1, d)
    y = _objective_by_case(meta, records, objective).reshape(-1, d + 1)
    whole = np.all(np.isfinite(y), axis=1)
    if whole.sum() < 2:
        raise ReportError(f"Morris screening of {objective}: {int(whole.sum())} of {len(y)} trajectories have all "
                          f"their {d + 1} cases solved; accepted: at least 2 (run the rest of the sweep)")
    mi = morris.analyze(problem, x[whole].reshape(-1, d), y[whole].ravel(), conf_level=conf_level,
                        num_levels=int(design.get("levels", 4)), seed=seed)
    return {"method": "morris", "objective": objective, "parameters": problem["names"], "conf_level": conf_level,
            "trajectories": int(len(y)), "used": int(whole.sum()), "left_out": int(len(y) - whole.sum()),
            "mu_star": [float(v) for v in mi["mu_star"]], "mu_star_conf": [float(v) for v in mi["mu_star_conf"]],
            "mu": [float(v) for v in mi["mu"]], "sigma": [float(v) for v in mi["sigma"]]}


def sensitivity_indices(meta: dict, records: list[dict], objective: str) -> dict | None:
    """Sobol' indices or Morris screening, whichever the sweep's design allows (None for others)."""
    return sobol_indices(meta, records, objective) or morris_indices(meta, records, objective)


def pareto_front(records: list[dict], objective: str, cost: str) -> list[dict]:
    """Designs not beaten in both objective (per its direction) and cost (lower is better)."""
    d = DIRECTIONS.get(objective, 1)
    pts = [(d * r["metrics"][objective], -r["metrics"][cost], r) for r in records
           if r["metrics"].get(objective) is not None and r["metrics"].get(cost) is not None]
    front = []
    for a, b, r in pts:
        if not any((a2 >= a and b2 >= b) and (a2 > a or b2 > b) for a2, b2, _ in pts):
            front.append(r)
    return sorted(front, key=lambda r: r["metrics"][cost])


def _wrap(text: str, width_in: float, fontsize: float) -> str:
    """The text broken into lines that fit width_in inches in a font of fontsize points."""
    from postprocess.layout import DPI, wrap_text

    return "\n".join(wrap_text(text, width_in * DPI, fontsize))


def _num(value, spec: str = ".4g") -> str:
    return "n/a" if value is None else format(value, spec)


def _value(v) -> str:
    """A parameter's value as shown: sampled numbers to 5 significant digits."""
    return format(v, ".5g") if isinstance(v, float) else str(v)


def _png(path: Path) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}" style="max-width:100%">'


SWEEP_REPORT_FILES = ("ranking.csv", "effects.png", "tornado.png", "sensitivity.csv", "sensitivity.png", "pareto.csv",
                      "pareto.png", "sweep_report.html")
DEFAULT_COST = "frame_mass_kg"


def write_sweep_report(sweep_dir, objective: str = "axial_initial_N_per_mm", cost: str | None = None) -> Path:
    """Write the sweep's report files into its directory (an output of `ilizarov sweep`,
    sim.outdir, shared: sweep tasks may still be writing into it): drawn in a staging
    folder, moved in under the store's lock, never replacing a file of the same name that
    ilizarov did not write. `cost`: the Pareto front's cost (default frame_mass_kg, left
    out if the cases do not record it). ReportError naming the accepted numbers for an
    objective or cost that is not recorded. summary.csv is rebuilt first (every case
    recorded so far). Returns sweep_report.html's path."""
    from sim.outdir import OutputDir
    from sim.sweep_store import store_entry

    sweep_dir = Path(sweep_dir)
    meta, ok, failed = load_records(sweep_dir)
    known = {m for r in ok for m in r["metrics"]}
    if cost is None:
        cost = DEFAULT_COST if DEFAULT_COST in known else None
    for name, what in ((objective, "--objective"), (cost, "--cost")):
        if name is not None and name not in known:
            raise ReportError(f"{what} {name!r} is not a recorded number; accepted: {', '.join(sorted(known))}")
    od = OutputDir(sweep_dir, "report", allow=store_entry, shared=True)
    with od.claim(existing_only=True, accept=("sweep",)):
        from sim.sweep import SweepError, rebuild_summary

        try:  # summary.csv of every case recorded so far (after a job array: the final one)
            rebuild_summary(sweep_dir)
        except SweepError as exc:
            raise ReportError(str(exc)) from None
        try:  # before the lock: SALib's bootstrap takes a moment
            sens = sensitivity_indices(meta, ok, objective)
        except ReportError as exc:  # a design not yet run far enough: the rest of the report is still useful
            sens = {"method": "none", "note": str(exc)}
        with od.locked():
            od.add_files(lambda staging: _draw(staging, meta, ok, failed, objective, cost, sens), SWEEP_REPORT_FILES)
    return sweep_dir / "sweep_report.html"


def _draw(sweep_dir: Path, meta: dict, ok: list[dict], failed: list[dict], objective: str, cost: str | None,
          sens_indices: dict | None = None) -> Path:
    """The report files, into `sweep_dir` (the staging folder)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = meta["parameters"]
    known = {m for r in ok for m in r["metrics"]}
    ranked = ranking(ok, objective)
    with open(sweep_dir / "ranking.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["rank", "id", *params, objective, *([cost] if cost else [])])
        for k, r in enumerate(ranked, 1):
            w.writerow([k, r["id"], *(r["parameters"][p] for p in params), r["metrics"][objective],
                        *([r["metrics"].get(cost)] if cost else [])])

    metrics = [m for m in EFFECT_METRICS if m in known] or [objective]
    fig, axes = plt.subplots(len(metrics), len(params), figsize=(4.2 * len(params), 3.0 * len(metrics)),
                             squeeze=False, constrained_layout=True)
    for i, m in enumerate(metrics):
        y = np.array([r["metrics"][m] if r["metrics"].get(m) is not None else np.nan for r in ok], float)
        means = level_means(ok, failed, params, m)
        for j, p in enumerate(params):
            ax = axes[i, j]
            lm = means[p]
            try:
                x = np.array([float(r["parameters"][p]) for r in ok])
            except (TypeError, ValueError):
                x = np.array([lm["labels"].index(str(r["parameters"][p])) for r in ok], float)
                ax.set_xticks(range(len(lm["labels"])), lm["labels"])
            ax.plot(x, y, "o", ms=3, alpha=0.5, color="#1f77b4")
            pos = lm["positions"] if lm["positions"] is not None else np.arange(len(lm["labels"]), dtype=float)
            ax.plot(pos, lm["means"], "-", color="k", lw=2)
            bad = [k for k, n in enumerate(lm["failed"]) if n]
            if bad:
                ax.plot(pos[bad], np.asarray(lm["means"])[bad], "o", mfc="white", mec="#d62728", ms=7, mew=1.5)
            if i == len(metrics) - 1:
                ax.set_xlabel(p)
            if j == 0:
                ax.set_ylabel(m)
            ax.grid(True, alpha=0.3)
    lost = (f"; {len(failed)} failed cases are left out, and the level means are least-squares means (not "
            "biased by the missing cases; red rings: levels with failed cases)") if failed else ""
    fig.suptitle(_wrap(f"Sweep {meta['name']!r}: every stability number against every parameter "
                       f"(points: cases; line: mean per level{lost})", 4.2 * len(params) - 0.3, 11), fontsize=11)
    fig.savefig(sweep_dir / "effects.png", dpi=80)
    plt.close(fig)

    sens = sensitivity(ok, params, objective, failed)
    overall = float(np.mean([r["metrics"][objective] for r in ok if r["metrics"].get(objective) is not None]))
    fig, ax = plt.subplots(figsize=(10, 1.9 + 0.75 * len(sens)), constrained_layout=True)

    def level_text(e, level):
        k = e["levels"].index(level)
        return f" {level}" + (f" ({e['failed_per_level'][k]} failed)" if e["failed_per_level"][k] else "") + " "

    for k, e in enumerate(reversed(sens)):
        lo, hi = sorted((e["worst_mean"], e["best_mean"]))
        ax.barh(k, hi - lo, left=lo, color="#b8860b")
        rising = e["worst_mean"] <= e["best_mean"]
        ax.text(e["worst_mean"], k, level_text(e, e["worst_level"]), va="center", ha="right" if rising else "left",
                fontsize=8)
        ax.text(e["best_mean"], k, level_text(e, e["best_level"]), va="center", ha="left" if rising else "right",
                fontsize=8)
    ax.axvline(overall, color="k", lw=1)
    lo = min([min(e["worst_mean"], e["best_mean"]) for e in sens], default=0.0)
    hi = max([max(e["worst_mean"], e["best_mean"]) for e in sens], default=1.0)
    pad = 0.35 * (hi - lo) if hi > lo else 1.0
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(-0.6, len(sens) - 0.4)
    ax.set_yticks(range(len(sens)), [e["parameter"] for e in reversed(sens)])
    ax.set_xlabel(f"{objective}: mean at the level (least-squares mean over the successful cases)")
    n_failed = (f" {len(failed)} of {len(ok) + len(failed)} cases failed; the failed cases are counted at "
                "each level.") if failed else ""
    fig.suptitle(_wrap("Sensitivity: each parameter from its worst to its best level (vertical line: mean of all "
                       f"successful cases).{n_failed}", 10 - 0.3, 11), fontsize=11)
    fig.savefig(sweep_dir / "tornado.png", dpi=90)
    plt.close(fig)

    indices_html = _draw_indices(sweep_dir, sens_indices, plt)

    front = pareto_front(ok, objective, cost) if cost else []
    if cost:
        with open(sweep_dir / "pareto.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["id", *params, objective, cost])
            for r in front:
                w.writerow([r["id"], *(r["parameters"][p] for p in params), r["metrics"][objective],
                            r["metrics"][cost]])
        fig, ax = plt.subplots(figsize=(8, 5.5), constrained_layout=True)
        both = [r for r in ok if r["metrics"].get(cost) is not None and r["metrics"].get(objective) is not None]
        ax.plot([r["metrics"][cost] for r in both], [r["metrics"][objective] for r in both], "o", color="#9e9e9e",
                ms=4, label="designs")
        ax.plot([r["metrics"][cost] for r in front], [r["metrics"][objective] for r in front], "o-",
                color="#d62728", ms=6, label="Pareto front")
        ax.set_xlabel(f"{cost} (cost: lower is better)")
        ax.set_ylabel(objective)
        ax.set_title("Stability against cost")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.savefig(sweep_dir / "pareto.png", dpi=90)
        plt.close(fig)
        pareto_html = (f"<h2>Pareto front: {html.escape(objective)} against {html.escape(cost)}</h2>\n"
                       f"{_png(sweep_dir / 'pareto.png')}")
    else:
        pareto_html = (f"<h2>Pareto front</h2><p>Not drawn: the cases record no {DEFAULT_COST} (give a recorded "
                       "number with --cost).</p>")

    top = "".join(f"<tr><td>{k}</td><td>{html.escape(r['id'])}</td>"
                  + "".join(f"<td>{html.escape(_value(r['parameters'][p]))}</td>" for p in params)
                  + f"<td>{r['metrics'][objective]:.4g}</td>"
                  + (f"<td>{_num(r['metrics'].get(cost))}</td>" if cost else "") + "</tr>"
                  for k, r in enumerate(ranked[:15], 1))
    head = "".join(f"<th>{html.escape(p)}</th>" for p in params)
    fails = "".join(f"<li>{html.escape(r['id'])} {html.escape(json.dumps(r['parameters']))}: "
                    f"{html.escape(r['error'])}</li>" for r in failed)
    sens_rows = "".join(f"<tr><td>{html.escape(e['parameter'])}</td><td>{e['effect']:.4g}</td>"
                        f"<td>{html.escape(e['worst_level'])}</td><td>{html.escape(e['best_level'])}</td>"
                        f"<td>{html.escape(', '.join(f'{lv}: {n}' for lv, n in zip(e['levels'], e['failed_per_level']) if n) or 'none')}</td>"
                        f"<td>{html.escape(e['method'])}</td></tr>"
                        for e in sens)
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>sweep {html.escape(meta['name'])}</title>
<style>body{{font-family:sans-serif;margin:1em 2em}} table{{border-collapse:collapse;margin:0.5em 0}}
td,th{{border:1px solid #ddd;padding:2px 8px}}</style></head><body>
<h1>Sweep {html.escape(meta['name'])}: {len(ok)} designs solved, {len(failed)} failed, of {meta['n_cases']}</h1>
<p>Mode {html.escape(meta['mode'])}; base scenario {html.escape(meta['base'])}; objective {html.escape(objective)};
cost {html.escape(cost or 'none')}.</p>
<h2>Ranking (best 15 by {html.escape(objective)})</h2>
<table><tr><th>rank</th><th>case</th>{head}<th>{html.escape(objective)}</th>{f"<th>{html.escape(cost)}</th>" if cost else ""}</tr>{top}</table>
<h2>Which parameters matter</h2>
<p>Each parameter's effect is the spread of its level means. With failed cases the design has holes, so
the level means are least-squares means of a main-effects model fitted to the successful cases (the mean
a level would have over the complete design), not plain averages; see docs/sweeps.md.</p>
<table><tr><th>parameter</th><th>effect on {html.escape(objective)}</th><th>worst level</th><th>best level</th>
<th>failed cases per level</th><th>level means</th></tr>
{sens_rows}</table>
<div style="display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start">
<div style="flex:1 1 480px">{_png(sweep_dir / 'tornado.png')}</div>
{indices_html}
</div>
{pareto_html}
<h2>Every number against every parameter</h2>
{_png(sweep_dir / 'effects.png')}
<h2>Failed cases</h2><ul>{fails or '<li>none</li>'}</ul>
</body></html>"""
    out = sweep_dir / "sweep_report.html"
    out.write_text(page, encoding="utf-8")
    return out


def _draw_indices(folder: Path, ind: dict | None, plt) -> str:
    """sensitivity.csv and sensitivity.png for Sobol' indices or Morris screening; the HTML
    that shows them beside the tornado ('' when the sweep has neither)."""
    if ind is None:
        return ""
    if ind["method"] == "none":
        return f'<div style="flex:1 1 420px"><h3>Sensitivity indices</h3><p>Not computed: {html.escape(ind["note"])}</p></div>'
    names = ind["parameters"]
    pct = f"{ind['conf_level'] * 100:.0f} %"
    y = np.arange(len(names))[::-1]
    fig, ax = plt.subplots(figsize=(8, 1.9 + 0.75 * len(names)), constrained_layout=True)
    with open(folder / "sensitivity.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if ind["method"] == "sobol":
            half = f"half-width of the {pct} confidence interval"
            w.writerow(["parameter", "S1", f"S1_conf ({half})", "ST", f"ST_conf ({half})"])
            for k, n in enumerate(names):
                w.writerow([n, ind["S1"][k], ind["S1_conf"][k], ind["ST"][k], ind["ST_conf"][k]])
            ax.barh(y + 0.2, ind["S1"], height=0.38, xerr=ind["S1_conf"], color="#1f77b4", capsize=3,
                    label="S1: alone")
            ax.barh(y - 0.2, ind["ST"], height=0.38, xerr=ind["ST_conf"], color="#ff7f0e", capsize=3,
                    label="ST: alone and with others")
            ax.set_xlabel(f"share of the variance of {ind['objective']} (bars: {pct} confidence intervals)")
            title = (f"Sobol' indices from {ind['used']} of {ind['base_points']} base points (Saltelli's design, "
                     f"SALib)" + (f"; {ind['left_out']} left out: a failed or missing case" if ind["left_out"] else ""))
            rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{ind['S1'][k]:.3f} ± {ind['S1_conf'][k]:.3f}</td>"
                           f"<td>{ind['ST'][k]:.3f} ± {ind['ST_conf'][k]:.3f}</td></tr>" for k, n in enumerate(names))
            table = f"<table><tr><th>parameter</th><th>S1 ± {pct} CI</th><th>ST ± {pct} CI</th></tr>{rows}</table>"
            what = ("S1: the share of the variance of the objective a parameter causes alone; ST: the share it takes "
                    "part in, alone and with the others. ST much above S1: interactions.")
        else:
            half = f"half-width of the {pct} confidence interval"
            w.writerow(["parameter", "mu_star", f"mu_star_conf ({half})", "mu", "sigma"])
            for k, n in enumerate(names):
                w.writerow([n, ind["mu_star"][k], ind["mu_star_conf"][k], ind["mu"][k], ind["sigma"][k]])
            ax.barh(y + 0.2, ind["mu_star"], height=0.38, xerr=ind["mu_star_conf"], color="#2ca02c", capsize=3,
                    label="mu*: mean |elementary effect|")
            ax.barh(y - 0.2, ind["sigma"], height=0.38, color="#9467bd", label="sigma: their spread")
            ax.set_xlabel(f"change of {ind['objective']} over the parameter's range (bars: {pct} CI of mu*)")
            title = (f"Morris screening from {ind['used']} of {ind['trajectories']} trajectories (SALib)"
                     + (f"; {ind['left_out']} left out: a failed or missing case" if ind["left_out"] else ""))
            rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{ind['mu_star'][k]:.4g} ± {ind['mu_star_conf'][k]:.3g}"
                           f"</td><td>{ind['sigma'][k]:.4g}</td></tr>" for k, n in enumerate(names))
            table = f"<table><tr><th>parameter</th><th>mu* ± {pct} CI</th><th>sigma</th></tr>{rows}</table>"
            what = ("mu*: how much the objective moves, on average, when the parameter alone crosses its range; "
                    "sigma large against mu*: the effect depends on the other parameters (or is not linear).")
    ax.set_yticks(y, names)
    ax.axvline(0, color="k", lw=0.8)
    ax.grid(True, axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8)
    fig.suptitle(_wrap(title, 8 - 0.3, 11), fontsize=11)
    fig.savefig(folder / "sensitivity.png", dpi=90)
    plt.close(fig)
    heading = "Sobol' indices" if ind["method"] == "sobol" else "Morris screening"
    return (f'<div style="flex:1 1 420px"><h3>{heading}</h3>{_png(folder / "sensitivity.png")}'
            f"<p>{html.escape(what)}</p>{table}</div>")


__all__ = ["DIRECTIONS", "load_records", "morris_indices", "pareto_front", "ranking", "sensitivity",
           "sensitivity_indices", "sobol_indices", "write_sweep_report"]
