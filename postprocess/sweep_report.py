"""What a sweep means: ranking, effects of each parameter, sensitivity (tornado), Pareto front.

`write_sweep_report(DIR)` reads the case records of `ilizarov sweep` and writes, into the
sweep directory: `ranking.csv`, `effects.png` (each stability number against each
parameter, with the mean per level), `tornado.png` (how far each parameter moves the
objective, from its worst to its best level, largest first), `pareto.png` / `pareto.csv`
(the designs no other design beats in both the objective and the cost) and
`sweep_report.html` with all of it. Nothing is solved here.

Sensitivity is the main effect: the objective's mean at each level of a parameter
(continuous samples are binned into quintiles); the bar spans the worst and the best
level mean. Failed cases leave holes in the design that bias plain means per level, so
the level means are least-squares means of a main-effects model fitted to the
successful cases (`level_means`; on a complete grid they are the plain means), and the
failed cases are counted per level. Units are those of the metrics' names.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path
import numpy as np

from postprocess.report import ReportError

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
    sweep_dir = Path(sweep_dir)
    meta_path = sweep_dir / "sweep.json"
    if not meta_path.is_file():
        raise ReportError(f"{sweep_dir}: no sweep.json: not a sweep directory (run `ilizarov sweep SWEEP.toml --out "
                          f"{sweep_dir}` first)")
    ok, failed = [], []
    try:
        meta = json.loads(meta_path.read_text())
        for p in sorted((sweep_dir / "cases").glob("*.json")):
            rec = json.loads(p.read_text())
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


def _png(path: Path) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}" style="max-width:100%">'


SWEEP_REPORT_FILES = ("ranking.csv", "effects.png", "tornado.png", "pareto.csv", "pareto.png", "sweep_report.html")


def write_sweep_report(sweep_dir, objective: str = "axial_initial_N_per_mm", cost: str = "frame_mass_kg") -> Path:
    """Write the sweep's report files into its directory (an output of `ilizarov sweep`,
    sim.outdir): drawn in a staging folder, moved in at the end, never replacing a file of
    the same name that ilizarov did not write. Returns sweep_report.html's path."""
    from sim.outdir import OutputDir

    sweep_dir = Path(sweep_dir)
    meta, ok, failed = load_records(sweep_dir)
    known = set(ok[0]["metrics"])
    for name, what in ((objective, "--objective"), (cost, "--cost")):
        if name not in known:
            raise ReportError(f"{what} {name!r} is not a recorded number; accepted: {', '.join(sorted(known))}")
    with OutputDir(sweep_dir, "report").claim(existing_only=True, accept=("sweep",)) as od:
        od.add_files(lambda staging: _draw(staging, meta, ok, failed, objective, cost), SWEEP_REPORT_FILES)
    return sweep_dir / "sweep_report.html"


def _draw(sweep_dir: Path, meta: dict, ok: list[dict], failed: list[dict], objective: str, cost: str) -> Path:
    """The report files, into `sweep_dir` (the staging folder)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = meta["parameters"]
    known = set(ok[0]["metrics"])
    ranked = ranking(ok, objective)
    with open(sweep_dir / "ranking.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["rank", "id", *params, objective, cost])
        for k, r in enumerate(ranked, 1):
            w.writerow([k, r["id"], *(r["parameters"][p] for p in params), r["metrics"][objective], r["metrics"][cost]])

    metrics = [m for m in EFFECT_METRICS if m in known]
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

    front = pareto_front(ok, objective, cost)
    with open(sweep_dir / "pareto.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", *params, objective, cost])
        for r in front:
            w.writerow([r["id"], *(r["parameters"][p] for p in params), r["metrics"][objective], r["metrics"][cost]])
    fig, ax = plt.subplots(figsize=(8, 5.5), constrained_layout=True)
    both = [r for r in ok if r["metrics"].get(cost) is not None and r["metrics"].get(objective) is not None]
    ax.plot([r["metrics"][cost] for r in both], [r["metrics"][objective] for r in both], "o", color="#9e9e9e", ms=4,
            label="designs")
    ax.plot([r["metrics"][cost] for r in front], [r["metrics"][objective] for r in front], "o-", color="#d62728",
            ms=6, label="Pareto front")
    ax.set_xlabel(f"{cost} (cost: lower is better)")
    ax.set_ylabel(objective)
    ax.set_title("Stability against cost")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.savefig(sweep_dir / "pareto.png", dpi=90)
    plt.close(fig)

    top = "".join(f"<tr><td>{k}</td><td>{html.escape(r['id'])}</td>"
                  + "".join(f"<td>{html.escape(str(r['parameters'][p]))}</td>" for p in params)
                  + f"<td>{r['metrics'][objective]:.4g}</td><td>{_num(r['metrics'].get(cost))}</td></tr>"
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
cost {html.escape(cost)}.</p>
<h2>Ranking (best 15 by {html.escape(objective)})</h2>
<table><tr><th>rank</th><th>case</th>{head}<th>{html.escape(objective)}</th><th>{html.escape(cost)}</th></tr>{top}</table>
<h2>Which parameters matter</h2>
<p>Each parameter's effect is the spread of its level means. With failed cases the design has holes, so
the level means are least-squares means of a main-effects model fitted to the successful cases (the mean
a level would have over the complete design), not plain averages; see docs/sweeps.md.</p>
<table><tr><th>parameter</th><th>effect on {html.escape(objective)}</th><th>worst level</th><th>best level</th>
<th>failed cases per level</th><th>level means</th></tr>
{sens_rows}</table>
{_png(sweep_dir / 'tornado.png')}
<h2>Pareto front: {html.escape(objective)} against {html.escape(cost)}</h2>
{_png(sweep_dir / 'pareto.png')}
<h2>Every number against every parameter</h2>
{_png(sweep_dir / 'effects.png')}
<h2>Failed cases</h2><ul>{fails or '<li>none</li>'}</ul>
</body></html>"""
    out = sweep_dir / "sweep_report.html"
    out.write_text(page, encoding="utf-8")
    return out


__all__ = ["DIRECTIONS", "pareto_front", "ranking", "sensitivity", "write_sweep_report"]
