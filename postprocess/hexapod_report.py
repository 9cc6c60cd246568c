"""Pictures of a hexapod correction: the frame at start, middle and end, the strut
lengths day by day with their size ranges and swaps, and the stiffness comparison.

Pure output from the rows and summary of `sim.correction.run_hexapod` (mm, N, degrees).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from postprocess.prescription import PLOT_COLOURS, STRUT_COLOURS, deformity_words

# the residual deformity's signed curves: + varus, procurvatum, internal, lateral, anterior, long
SIGNED_NAMES = {"ap_angulation": "varus", "lateral_angulation": "procurvatum", "axial_rotation": "internal",
                "ap_translation": "lateral", "lateral_translation": "anterior", "length": "long"}


def _signed(rows: list[dict[str, Any]], key: str, unit: str) -> list[float]:
    plus = SIGNED_NAMES[key]
    return [float(r[f"{key}_{unit}"]) * (1.0 if r[key] == plus else -1.0) for r in rows]


def plot_struts(rows: list[dict[str, Any]], summary: dict[str, Any], sizes, path: Path) -> Path:
    """Strut lengths against the day, the size ranges as bands, swaps marked; below, the
    residual deformity and the daily motion of the structure at risk."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    day = np.array([r["day"] for r in rows], float)
    fig, (ax, ax2, ax3) = plt.subplots(3, 1, figsize=(11, 12), sharex=True, constrained_layout=True,
                                       gridspec_kw={"height_ratios": [3, 2, 1.3]})
    fig.suptitle(f"{summary['scenario']}: hexapod correction in {summary['days']} days "
                 f"(at most {summary['max_rate_mm_per_day']:g} mm/day at the structure at risk)", fontsize=13)
    lengths = np.array([[r[f"strut{k + 1}_mm"] for k in range(6)] for r in rows])
    lo, hi = lengths.min() - 10.0, lengths.max() + 10.0
    greys = ("#f2f2f2", "#e0e0e0")
    for i, z in enumerate(sizes):
        if z.max_length_mm > lo and z.min_length_mm < hi:
            ax.axhspan(z.min_length_mm, z.max_length_mm, color=greys[i % 2], zorder=0, alpha=0.8)
            ax.text(day[0], min(max(0.5 * (z.min_length_mm + z.max_length_mm), lo), hi), f" {z.name}",
                    va="center", fontsize=8, color="#606060")
    for k in range(6):
        ax.plot(day, lengths[:, k], color=PLOT_COLOURS[k], lw=2, label=f"strut {k + 1} ({STRUT_COLOURS[k + 1][0]})")
    for r in rows:
        for swap in filter(None, r["swaps"].split("; ")):
            k = int(swap.split(":")[0].split()[1]) - 1
            ax.plot(r["day"], r[f"strut{k + 1}_mm"], "v", ms=10, color=PLOT_COLOURS[k], mec="k")
            ax.annotate(swap.split(": ")[1], (r["day"], r[f"strut{k + 1}_mm"]), textcoords="offset points",
                        xytext=(4, 8), fontsize=7)
    ax.set_ylim(lo, hi)
    ax.set_ylabel("strut length [mm]")
    ax.set_title("Strut lengths (bands: strut sizes; triangles: swap to another size)")
    ax.legend(ncol=3, fontsize=8, loc="upper center")
    ax.grid(True, alpha=0.3)

    for key, label, style in (("ap_angulation", "AP angulation [deg, + varus]", "-"),
                              ("lateral_angulation", "lateral angulation [deg, + procurvatum]", "--"),
                              ("axial_rotation", "axial rotation [deg, + internal]", ":")):
        ax2.plot(day, _signed(rows, key, "deg"), style, lw=2, label=label, color="k")
    ax2b = ax2.twinx()
    for key, label, style in (("ap_translation", "AP translation [mm, + lateral]", "-"),
                              ("lateral_translation", "lateral translation [mm, + anterior]", "--"),
                              ("length", "length [mm, + long]", ":")):
        ax2b.plot(day, _signed(rows, key, "mm"), style, lw=1.5, label=label, color="#1f77b4")
    ax2.set_ylabel("angle [deg] (black)")
    ax2b.set_ylabel("translation [mm] (blue)", color="#1f77b4")
    ax2.set_title("Residual deformity of the moving fragment (0 = corrected)")
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax2b.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, fontsize=8, ncol=2)
    ax2.grid(True, alpha=0.3)

    ax3.bar(day, [r["structure_at_risk_motion_mm"] for r in rows], color="#7f7f7f", width=0.8)
    ax3.axhline(summary["max_rate_mm_per_day"], color="#d62728", ls="--", lw=1)
    ax3.set_ylabel("motion [mm/day]")
    ax3.set_xlabel("day of correction")
    ax3.set_title("Daily motion of the structure at risk (dashed: the limit)")
    ax3.grid(True, alpha=0.3)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


STIFFNESS_QUANTITIES = (("axial_initial_N_per_mm", "axial, initial", "N/mm"),
                        ("axial_secant_N_per_mm", "axial, secant", "N/mm"),
                        ("bending_ap_Nm_per_deg", "bending AP", "N*m/deg"),
                        ("bending_ml_Nm_per_deg", "bending ML", "N*m/deg"),
                        ("torsion_Nm_per_deg", "torsion", "N*m/deg"))


def plot_stiffness(stiffness_rows: list[dict[str, Any]], path: Path) -> Path:
    """Grouped bars on one shared scale: each stiffness of the hexapod (start / middle /
    end) in per cent of the classic frame's (the last row of `stiffness_rows` that is not a
    hexapod; the first row if there is none), the absolute values written on the bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reference = next((r for r in reversed(stiffness_rows) if r["frame"] != "hexapod"), stiffness_rows[0])
    rows = [r for r in stiffness_rows if r is not reference] + [reference]
    golds = ("#f0d58c", "#d4a72c", "#9c7412", "#6e520d")
    colours = [golds[min(k, len(golds) - 1)] for k in range(len(rows) - 1)] + ["#4d4d4d"]
    names = [f"hexapod day {r['day']} ({r['stage']})" if r["frame"] == "hexapod" else f"{r['frame']}, {r['stage']}"
             for r in rows]
    fig, ax = plt.subplots(figsize=(12, 5.6), constrained_layout=True)
    width = 0.8 / len(rows)
    ticks = []
    top = 100.0
    for q, (key, label, unit) in enumerate(STIFFNESS_QUANTITIES):
        ref = reference.get(key)
        ticks.append(f"{label}\n(classic {ref:.3g} {unit})" if ref else f"{label}\n(classic n/a)")
        for k, r in enumerate(rows):
            v = r.get(key)
            if v is None or not ref:
                continue
            pct = 100.0 * v / ref
            top = max(top, pct)
            x = q + (k - (len(rows) - 1) / 2) * width
            ax.bar(x, pct, width * 0.92, color=colours[k], label=names[k] if q == 0 else None)
            ax.text(x, pct, f"{v:.3g}", ha="center", va="bottom", fontsize=7, rotation=90 if len(rows) > 5 else 0)
    ax.axhline(100.0, color="k", lw=0.8, ls="--")
    ax.set_xticks(range(len(STIFFNESS_QUANTITIES)), ticks, fontsize=9)
    ax.set_ylim(0, 1.18 * top)
    ax.set_ylabel("stiffness, % of the classic frame's")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, ncol=len(rows))
    ax.set_title("Hexapod against a classic frame of the same rings (frame model): one scale for all, in % of the "
                 "classic frame (numbers on the bars: N/mm or N*m/deg)", fontsize=10)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def render_stages(pictures: dict[str, dict], parts: dict[str, dict], path: Path, name: str) -> Path:
    """The frame at each stage (oblique view, true scale), side by side in one PNG with one
    wire-tension colour scale for all stages; each strut in its prescription colour
    (strut k: PLOT_COLOURS, struts 7-12 and 13-18 of further levels repeat them)."""
    from postprocess.render import Scene, render_scenes

    def strut_colours(stage_parts):
        return {name: PLOT_COLOURS[(int(name[len("strut"):]) - 1) % 6] for name, kind in stage_parts.values()
                if kind == "STRUT" and name.startswith("strut") and name[len("strut"):].isdigit()}

    scenes = [Scene(lines, parts[label], caption=label, magnification=1.0, part_colours=strut_colours(parts[label]))
              for label, lines in pictures.items()]
    header = (f"{name}: the hexapod at each stage of the correction (true scale; struts in their prescription "
              "colours; one colour scale for all stages)")
    return render_scenes(scenes, path, header=header, window_size=(700 * len(scenes), 900), views=("oblique",))


def hexapod_summary_text(summary: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    what = "Residual (new films)" if summary.get("plan") == "residual" else "Deformity"
    words = ", ".join(f"{film} {text}" for film, text in deformity_words(summary["deformity"], " / ")) or "none"
    lines = [f"Hexapod correction of '{summary['scenario']}': {summary['side']} limb, reference ring "
             f"{summary['reference_ring']} ({summary['reference_fragment']} fragment), moving ring "
             f"{summary['moving_ring']}",
             f"  {what}: {words} ({summary['deformity_angle_deg']:.1f} deg in all)",
             f"  Schedule: {summary['days']} days, the structure at risk moving at most "
             f"{summary['largest_daily_motion_at_risk_mm']:.3f} mm a day (limit {summary['max_rate_mm_per_day']:g})",
             "  Struts (mm), start -> end: " + ", ".join(
                 f"{a:.1f}->{b:.1f}" for a, b in zip(summary["strut_lengths_start_mm"], summary["strut_lengths_end_mm"])),
             "  Sizes at start: " + ", ".join(summary["strut_sizes_start"])
             + (f"; swaps: {', '.join(f'day {s['day']} {s['swap']}' for s in summary['swaps'])}"
                if summary["swaps"] else "; no swaps")]
    for level in summary.get("fixed_levels") or []:
        lines.append(f"  Further level {' - '.join(level['rings'])}: struts {level['struts'][0]}-{level['struts'][-1]} "
                     "held at " + ", ".join(f"{x:.1f}" for x in level["strut_lengths_mm"]) + " mm")
    if summary["stiffness"]:
        lines.append("  Stiffness (frame model)        axial init  secant   bend AP  bend ML  torsion")
        for r in summary["stiffness"]:
            label = f"hexapod day {r['day']} ({r['stage']})" if r["frame"] == "hexapod" else r["frame"]
            vals = [r[k] for k in ("axial_initial_N_per_mm", "axial_secant_N_per_mm", "bending_ap_Nm_per_deg",
                                   "bending_ml_Nm_per_deg", "torsion_Nm_per_deg")]
            lines.append(f"    {label:28s}" + "".join(f"{v:9.2f}" if v is not None else "      n/a" for v in vals))
        lines.append("    (N/mm for axial, N*m/deg for bending and torsion)")
    return "\n".join(lines)
