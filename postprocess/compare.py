"""`ilizarov compare RUN_DIR RUN_DIR ... --out DIR`: frames side by side on one scale.

comparison.png shows every run's frame under its full axial load in the same views, with
one deformation magnification, one wire-tension colour scale and one stress colour scale
for all; comparison.csv (and the terminal) lists the stability numbers with the best of
each row marked. "Best" is the stiffer frame, the smaller motion and stress, the larger
safety factor, and only when the difference is meaningful: values within 1 % of each
other (or within the row's resolution, e.g. 0.001 mm, 0.5 MPa) tie; a row in which all
runs tie is marked "tie" and has no best.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from postprocess.report import ReportError, check_rendering, load_run

# (label, unit, getter, better: +1 higher is better, -1 lower is better)
METRICS = (
    ("axial stiffness, initial", "N/mm", lambda r: r["load_cases"].get("axial", {}).get("initial_stiffness_N_per_mm"), 1),
    ("gap closes at", "N", lambda r: r["load_cases"].get("axial", {}).get("gap_closed_at_N"), 1),
    ("axial stiffness, secant", "N/mm", lambda r: r["load_cases"].get("axial", {}).get("secant_stiffness_N_per_mm"), 1),
    ("axial IFM at full load", "mm", lambda r: r["load_cases"].get("axial", {}).get("ifm_axial_mm"), -1),
    ("shear IFM at full load", "mm", lambda r: r["load_cases"].get("axial", {}).get("ifm_shear_mm"), -1),
    ("gap strain", "%", lambda r: None if r["load_cases"].get("axial", {}).get("gap_strain") is None
     else 100 * r["load_cases"]["axial"]["gap_strain"], -1),
    ("bending AP stiffness", "N*m/deg", lambda r: r["load_cases"].get("bending_ap", {}).get("stiffness_Nm_per_deg"), 1),
    ("bending ML stiffness", "N*m/deg", lambda r: r["load_cases"].get("bending_ml", {}).get("stiffness_Nm_per_deg"), 1),
    ("torsional stiffness", "N*m/deg", lambda r: r["load_cases"].get("torsion", {}).get("stiffness_Nm_per_deg"), 1),
    ("peak wire stress", "MPa", lambda r: r.get("max_von_mises_MPa", {}).get("wires"), -1),
    ("wire safety factor", "", lambda r: r.get("safety_factor", {}).get("wires"), 1),
    ("peak ring stress", "MPa", lambda r: r.get("max_von_mises_MPa", {}).get("rings"), -1),
)


# Two values of a row are a tie when they differ by less than TIE_RELATIVE of the larger
# one, or by less than the row's resolution (what the table prints and the model resolves).
TIE_RELATIVE = 0.01
RESOLUTION = {"N/mm": 0.1, "mm": 0.001, "%": 0.05, "N*m/deg": 0.005, "MPa": 0.5, "": 0.005}


def tied(a: float, b: float, unit: str) -> bool:
    """True when a and b are not meaningfully different (within 1 % or the resolution)."""
    return abs(a - b) <= max(TIE_RELATIVE * max(abs(a), abs(b)), RESOLUTION.get(unit, 0.0))


def comparison_rows(results: list[dict]) -> list[dict]:
    """One row per metric: its values (None where a run lacks it) and which are best.

    best[i] is True for the best value and every value tied with it; when all known
    values tie (or only one run has the number) no value is best and tie is True.
    """
    rows = []
    for label, unit, get, better in METRICS:
        values = [get(r) for r in results]
        values = [None if v is None else (0.0 if abs(v) < 1e-9 else float(v)) for v in values]
        known = [v for v in values if v is not None]
        if not known:
            continue
        best = (max if better > 0 else min)(known)
        best_flags = [v is not None and tied(v, best, unit) for v in values]
        tie = len(known) < 2 or all(best_flags[i] for i, v in enumerate(values) if v is not None)
        rows.append({"metric": label, "unit": unit, "values": values, "tie": tie,
                     "best": [False] * len(values) if tie else best_flags})
    return rows


def format_table(names: list[str], rows: list[dict]) -> str:
    width = max(12, *(len(n) + 2 for n in names))
    head = f"{'':32s}" + "".join(f"{n:>{width}s}" for n in names)
    lines = [head]
    for r in rows:
        cells = []
        for v, b in zip(r["values"], r["best"]):
            text = "n/a" if v is None else f"{v:.3g}"
            cells.append(f"{(text + (' *' if b else '  ')):>{width}s}")
        metric = r["metric"] + (" [" + r["unit"] + "]" if r["unit"] else "")
        lines.append(f"{metric:32s}" + "".join(cells) + ("   tie" if r["tie"] and len(names) > 1 else ""))
    lines.append(f"(* best of the row; values within {100 * TIE_RELATIVE:g} % of each other (or the row's "
                 "resolution) tie, and a row where all tie has no best)")
    return "\n".join(lines)


def write_comparison(run_dirs: list[Path], out: Path) -> tuple[str, Path]:
    """Render and tabulate; returns (the table as text, comparison.png)."""
    from postprocess.render import Scene, auto_magnification, render_scenes, scene_scales
    from postprocess.scales import part_yields_MPa
    from sim.run import publish_atomically

    if len(run_dirs) < 2:
        raise ReportError("compare: give at least two run directories")
    loaded = [load_run(d, need_states=True) for d in run_dirs]
    check_rendering()
    names = [r["scenario"] if [x[0]["scenario"] for x in loaded].count(r["scenario"]) == 1 else Path(d).name
             for d, (r, _s, _c) in zip(run_dirs, loaded)]
    scenes = []
    for name, (results, states, scenario) in zip(names, loaded):
        case = "axial" if "axial" in states.names else next(n for n in states.names if "step" not in n)
        lines = states.lines(case)
        u_max = float(np.max(np.linalg.norm(lines["displacement_mm"], axis=1)))
        scenes.append(Scene(lines, states.parts, caption=f"{name} ({case.replace('_', ' ')}, largest displacement "
                                                         f"{u_max:.3g} mm)",
                            yields_MPa=part_yields_MPa(scenario, states.parts) if scenario else None))
    # one scale for all
    mag = min(auto_magnification(s.lines["points_mm"], s.lines["displacement_mm"]) for s in scenes)
    for s in scenes:
        s.magnification = mag
    wire_scale, stress_scale = scene_scales(scenes, colour_by_stress=True)
    rows = comparison_rows([x[0] for x in loaded])
    table = format_table(names, rows)

    def fill(staging: Path) -> None:
        header = (f"{len(scenes)} frames under their full load: the same deformation magnification (× {mag:g}), "
                  "the same wire-tension and stress colour scales; undeformed in light grey")
        render_scenes(scenes, staging / "comparison.png", header=header, window_size=(1100 * len(scenes), 840),
                      views=("oblique", "anterior"), colour_by_stress=True, wire_scale=wire_scale,
                      stress_scale=stress_scale)
        with open(staging / "comparison.csv", "w", newline="", encoding="utf-8") as f:
            wr = csv.writer(f)
            wr.writerow(["metric", "unit", *names, "best"])
            for r in rows:
                best = "tie" if r["tie"] else "; ".join(n for n, b in zip(names, r["best"]) if b)
                wr.writerow([r["metric"], r["unit"], *("" if v is None else f"{v:.6g}" for v in r["values"]), best])
        (staging / "comparison.txt").write_text(table + "\n")

    final = publish_atomically(out, fill, command="compare")
    return table, final / "comparison.png"
