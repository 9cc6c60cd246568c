"""`ilizarov compare RUN_DIR RUN_DIR ... --out DIR`: frames side by side on one scale.

comparison.png shows every run's frame under its full axial load in the same views, with
one deformation magnification, one wire-tension colour scale and one stress colour scale
for all; comparison.csv (and the terminal) lists the stability numbers with the best of
each row marked. "Best" is the stiffer frame, the smaller motion and stress, the larger
safety factor.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np

from postprocess.report import ReportError, check_rendering, load_run

# (label, unit, getter, better: +1 higher is better, -1 lower is better)
METRICS = (
    ("axial stiffness, initial", "N/mm", lambda r: r["load_cases"].get("axial", {}).get("initial_stiffness_N_per_mm"), 1),
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


def comparison_rows(results: list[dict]) -> list[dict]:
    rows = []
    for label, unit, get, better in METRICS:
        values = [get(r) for r in results]
        values = [None if v is None else (0.0 if abs(v) < 1e-9 else float(v)) for v in values]
        known = [v for v in values if v is not None]
        if not known:
            continue
        best = (max if better > 0 else min)(known)
        rows.append({"metric": label, "unit": unit, "values": values,
                     "best": [v is not None and np.isclose(v, best, rtol=1e-9, atol=0.0) and len(known) > 1 for v in values]})
    return rows


def format_table(names: list[str], rows: list[dict]) -> str:
    width = max(12, *(len(n) + 2 for n in names))
    head = f"{'':28s}" + "".join(f"{n:>{width}s}" for n in names)
    lines = [head]
    for r in rows:
        cells = []
        for v, b in zip(r["values"], r["best"]):
            text = "n/a" if v is None else f"{v:.3g}"
            cells.append(f"{(text + (' *' if b else '  ')):>{width}s}")
        lines.append(f"{r['metric'] + (' [' + r['unit'] + ']' if r['unit'] else ''):28s}" + "".join(cells))
    lines.append("(* best of the row)")
    return "\n".join(lines)


def write_comparison(run_dirs: list[Path], out: Path) -> tuple[str, Path]:
    """Render and tabulate; returns (the table as text, comparison.png)."""
    from PIL import Image, ImageDraw

    from postprocess.render import STRESS_COLOURED, _group_of, auto_magnification, render_frame
    from sim.run import publish_atomically

    if len(run_dirs) < 2:
        raise ReportError("compare: give at least two run directories")
    loaded = [load_run(d, need_states=True) for d in run_dirs]
    check_rendering()
    names = [r["scenario"] if [x[0]["scenario"] for x in loaded].count(r["scenario"]) == 1 else Path(d).name
             for d, (r, _s, _c) in zip(run_dirs, loaded)]
    lines = []
    for results, states, _scen in loaded:
        case = "axial" if "axial" in states.names else next(n for n in states.names if "step" not in n)
        lines.append((states.lines(case), states.parts))
    # one scale for all
    mag = min(auto_magnification(ln["points_mm"], ln["displacement_mm"]) for ln, _ in lines)
    tmin, tmax, smax = np.inf, -np.inf, 0.0
    for ln, parts in lines:
        group = np.array([_group_of(parts.get(int(t), ("", "OTHER"))[1]) for t in ln["part_tag"]], dtype=object)
        w = group == "WIRE"
        if w.any():
            tmin, tmax = min(tmin, ln["section_forces"][w, 0].min()), max(tmax, ln["section_forces"][w, 0].max())
        st = np.isin(group, STRESS_COLOURED)
        if st.any():
            smax = max(smax, float(ln["von_mises_MPa"][st].max()))
    rows = comparison_rows([x[0] for x in loaded])
    table = format_table(names, rows)

    def fill(staging: Path) -> None:
        images = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, ((ln, parts), name) in enumerate(zip(lines, names)):
                png = render_frame(ln, parts, Path(tmp) / f"{i}.png", title=name, magnification=mag,
                                   wire_tension_range_N=(tmin, tmax) if np.isfinite(tmin) else None,
                                   colour_by_stress=True, stress_range_MPa=(0.0, smax or 1.0),
                                   views=("oblique", "anterior"), window_size=(1100, 800))
                with Image.open(png) as im:
                    images.append(im.convert("RGB"))
        width = sum(im.width for im in images)
        canvas = Image.new("RGB", (width, images[0].height + 40), "white")
        x = 0
        for im in images:
            canvas.paste(im, (x, 40))
            x += im.width
        ImageDraw.Draw(canvas).text((10, 10), f"Same magnification (x{mag:g}), wire tension {tmin:.0f}-{tmax:.0f} N "
                                    f"and stress 0-{smax:.0f} MPa colour scales for all frames", fill="black")
        canvas.save(staging / "comparison.png")
        with open(staging / "comparison.csv", "w", newline="", encoding="utf-8") as f:
            wr = csv.writer(f)
            wr.writerow(["metric", "unit", *names, "best"])
            for r in rows:
                best = [n for n, b in zip(names, r["best"]) if b]
                wr.writerow([r["metric"], r["unit"], *("" if v is None else f"{v:.6g}" for v in r["values"]),
                             "; ".join(best)])
        (staging / "comparison.txt").write_text(table + "\n")

    final = publish_atomically(out, fill, command="compare")
    return table, final / "comparison.png"
