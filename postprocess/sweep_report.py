"""What a sweep means: ranking, effects of each parameter, sensitivity (tornado), Pareto front.

`write_sweep_report(DIR)` reads the case records of `ilizarov sweep` and writes, into the
sweep directory: `ranking.csv`, `effects.png` (each stability number against each
parameter, with the mean per level), `tornado.png` (how far each parameter moves the
objective, from its worst to its best level, largest first), `pareto.png` / `pareto.csv`
(the designs no other design beats in both the objective and the cost) and
`sweep_report.html` with all of it. Nothing is solved here.

Sensitivity is the main effect: the objective's mean over the cases at each level of a
parameter (continuous samples are binned into quintiles); the bar spans the worst and the
best level mean. Units are those of the metrics' names.
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


def _levels(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Level index of each case: its distinct value, or its quintile if there are many."""
    uniq = np.unique(values)
    if len(uniq) <= 12:
        idx = np.searchsorted(uniq, values)
        return idx, [f"{u:g}" for u in uniq]
    edges = np.quantile(values, np.linspace(0, 1, 6))
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, 4)
    return idx, [f"{edges[k]:.3g}-{edges[k + 1]:.3g}" for k in range(5)]


def sensitivity(records: list[dict], parameters: list[str], objective: str) -> list[dict]:
    """Main effect of each parameter on the objective, largest first."""
    direction = DIRECTIONS.get(objective, 1)
    y = np.array([r["metrics"][objective] for r in records], float)
    out = []
    for p in parameters:
        try:
            x = np.array([float(r["parameters"][p]) for r in records])
        except (TypeError, ValueError):
            continue
        idx, labels = _levels(x)
        means = np.array([y[idx == k].mean() for k in range(len(labels))])
        worst, best = (means.argmin(), means.argmax()) if direction > 0 else (means.argmax(), means.argmin())
        out.append({"parameter": p, "effect": float(means.max() - means.min()), "worst_level": labels[worst],
                    "best_level": labels[best], "worst_mean": float(means[worst]), "best_mean": float(means[best]),
                    "levels": labels, "means": means.tolist()})
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
        y = np.array([r["metrics"][m] if r["metrics"][m] is not None else np.nan for r in ok], float)
        for j, p in enumerate(params):
            ax = axes[i, j]
            try:
                x = np.array([float(r["parameters"][p]) for r in ok])
            except (TypeError, ValueError):
                continue
            ax.plot(x, y, "o", ms=3, alpha=0.5, color="#1f77b4")
            uniq = np.unique(x)
            if len(uniq) <= 12:
                ax.plot(uniq, [np.nanmean(y[x == u]) for u in uniq], "-", color="k", lw=2)
            if i == len(metrics) - 1:
                ax.set_xlabel(p)
            if j == 0:
                ax.set_ylabel(m)
            ax.grid(True, alpha=0.3)
    fig.suptitle(f"Sweep {meta['name']!r}: every stability number against every parameter (line: mean per level)")
    fig.savefig(sweep_dir / "effects.png", dpi=80)
    plt.close(fig)

    sens = sensitivity(ok, params, objective)
    overall = float(np.mean([r["metrics"][objective] for r in ok]))
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.7 * len(sens)), constrained_layout=True)
    for k, e in enumerate(reversed(sens)):
        lo, hi = sorted((e["worst_mean"], e["best_mean"]))
        ax.barh(k, hi - lo, left=lo, color="#b8860b")
        ax.text(e["worst_mean"], k, f" {e['worst_level']} ", va="center",
                ha="right" if e["worst_mean"] <= e["best_mean"] else "left", fontsize=8)
        ax.text(e["best_mean"], k, f" {e['best_level']} ", va="center",
                ha="left" if e["worst_mean"] <= e["best_mean"] else "right", fontsize=8)
    ax.axvline(overall, color="k", lw=1)
    ax.margins(x=0.12)
    ax.set_yticks(range(len(sens)), [e["parameter"] for e in reversed(sens)])
    ax.set_xlabel(f"{objective} (mean over the cases at the level)")
    ax.set_title("Sensitivity: each parameter from its worst to its best level (line: mean of all cases)")
    fig.savefig(sweep_dir / "tornado.png", dpi=90)
    plt.close(fig)

    front = pareto_front(ok, objective, cost)
    with open(sweep_dir / "pareto.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", *params, objective, cost])
        for r in front:
            w.writerow([r["id"], *(r["parameters"][p] for p in params), r["metrics"][objective], r["metrics"][cost]])
    fig, ax = plt.subplots(figsize=(8, 5.5), constrained_layout=True)
    ax.plot([r["metrics"][cost] for r in ok], [r["metrics"][objective] for r in ok], "o", color="#9e9e9e", ms=4,
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
                  + f"<td>{r['metrics'][objective]:.4g}</td><td>{r['metrics'][cost]:.4g}</td></tr>"
                  for k, r in enumerate(ranked[:15], 1))
    head = "".join(f"<th>{html.escape(p)}</th>" for p in params)
    fails = "".join(f"<li>{html.escape(r['id'])} {html.escape(json.dumps(r['parameters']))}: "
                    f"{html.escape(r['error'])}</li>" for r in failed)
    sens_rows = "".join(f"<tr><td>{html.escape(e['parameter'])}</td><td>{e['effect']:.4g}</td>"
                        f"<td>{html.escape(e['worst_level'])}</td><td>{html.escape(e['best_level'])}</td></tr>"
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
<table><tr><th>parameter</th><th>effect on {html.escape(objective)}</th><th>worst level</th><th>best level</th></tr>
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
