"""Files and pictures of a treatment timeline: CSV tables, plots against time, animation.

Pure output: everything here takes the rows and summary of `sim.timeline.run_timeline`
(plain dictionaries, units in the keys) and writes files. Sign conventions are the
timeline's: distraction force > 0 resists the lengthening (tension across the gap);
interfragmentary motion and strains > 0 close the gap (compression); wire deflection
> 0 towards proximal.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

# Perren's interfragmentary strain bands (physics.md section 2)
STRAIN_BANDS = ((0.0, 2.0, "#c8e6c9", "bone (< 2 %)"), (2.0, 10.0, "#fff3bf", "cartilage / fibrous (2-10 %)"),
                (10.0, 100.0, "#ffd6d6", "granulation (10-100 %)"))
PHASE_COLOURS = {"latency": "#eeeeee", "distraction": "#e3f2fd", "transport": "#e3f2fd", "consolidation": "#f1f8e9"}
TISSUE_COLOURS = {"granulation": "#d62728", "connective": "#ff7f0e", "endochondral": "#1f77b4",
                  "intramembranous": "#2ca02c"}


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    """One row per dictionary; the columns are the union of keys in first-seen order."""
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else ("" if v is None else v)) for k, v in r.items()})
    return path


def _wire_names(rows) -> list[str]:
    return [k[: -len("_tension_N")] for k in rows[0] if k.endswith("_tension_N")]


def _shade_phases(ax, days, phases) -> None:
    start = 0
    for i in range(1, len(days) + 1):
        if i == len(days) or phases[i] != phases[start]:
            colour = PHASE_COLOURS.get(phases[start])
            if colour:
                ax.axvspan(days[start] - 0.5, days[i - 1] + 0.5, color=colour, zorder=0, lw=0)
            start = i


def plot_timeline(rows: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> Path:
    """Eight panels against the day of treatment; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    day = np.array([r["day"] for r in rows], float)
    phases = [r["phase"] for r in rows]
    col = {k: np.array([np.nan if r.get(k) is None else r[k] for r in rows], float)
           for k in rows[0] if k not in ("phase", "tissue_class")}
    wires = _wire_names(rows)
    transport = summary.get("treatment") == "bone_transport"
    removal = summary.get("frame_removal_day")

    fig, axes = plt.subplots(4, 2, figsize=(14, 15), sharex=True, constrained_layout=True)
    fig.suptitle(f"{summary['scenario']}: {'bone transport' if transport else 'lengthening'} of "
                 f"{summary['protocol']['lengthening_mm']:g} mm at {summary['protocol']['rate_mm_per_day']:g} mm/day "
                 f"({summary['protocol']['steps_per_day']} steps a day), daily check under "
                 f"{summary['protocol']['weight_bearing_N']:g} N", fontsize=13)
    for ax in axes.flat:
        _shade_phases(ax, day, phases)
        ax.grid(True, alpha=0.3)
        if removal:
            ax.axvline(removal, color="k", ls=":", lw=1)

    ax = axes[0, 0]
    ax.plot(day, col["rod_lengthening_mm"], label="rods (prescribed)", lw=2, color="#555555")
    ax.plot(day, col["achieved_lengthening_mm"], label="gap opening (achieved)", lw=2, color="#1f77b4")
    if transport:
        ax.plot(day, col["segment_motion_mm"], label="segment motion", lw=1.5, color="#2ca02c", ls="--")
    ax.set_ylabel("lengthening [mm]")
    ax.set_title("Prescribed and achieved lengthening")
    ax.legend(loc="lower right")

    ax = axes[0, 1]
    ax.plot(day, col["distraction_force_N"], label="at the daily check (relaxed)", lw=2, color="#d62728")
    peak = np.where(col["distraction_force_peak_N"] > 0, col["distraction_force_peak_N"], np.nan)
    ax.plot(day, peak, ".", ms=4, label="peak after a step", color="#ff9896")
    if transport and "docking_force_N" in col:
        ax.plot(day, col["docking_force_N"], label="docking-site compression", lw=1.5, color="#9467bd")
    ax.set_ylabel("force [N]")
    ax.set_title("Distraction force across the gap")
    ax.legend(loc="center right")

    ax = axes[1, 0]
    for n in wires:
        ax.plot(day, col[f"{n}_tension_N"], lw=1.4, label=n)
    for w in summary["pretension"]["wires"][:1]:
        ax.axhline(w["target_N"], color="k", ls="--", lw=0.8)
    ax.set_ylabel("tension [N]")
    ax.set_title("Wire tension (dashed: pretension target)")
    ax.legend(fontsize=7, ncol=2)

    ax = axes[1, 1]
    for n in wires:
        ax.plot(day, col[f"{n}_deflection_mm"], lw=1.4, label=n)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("deflection [mm]")
    ax.set_title("Wire bow at the bone relative to its clamps (+ proximal)")

    ax = axes[2, 0]
    ax.plot(day, col["ifm_axial_mm"], lw=2, label="axial", color="#1f77b4")
    ax.plot(day, col["ifm_shear_mm"], lw=1.5, label="shear", color="#ff7f0e")
    ax.axhspan(0.0, 0.5, color="#c8e6c9", alpha=0.5, zorder=0.5)
    ax.axhline(3.0, color="#d62728", ls="--", lw=1)
    ax.text(day[0], 3.0, " 3 mm: non-union (Claes 2000)", va="bottom", ha="left", fontsize=8, color="#d62728")
    ax.set_ylabel("IFM [mm]")
    ax.set_title("Interfragmentary motion under the weight-bearing check")
    ax.legend(loc="upper right")

    ax = axes[2, 1]
    floor = 0.05  # % : the log axis starts here
    for lo, hi, colour, label in STRAIN_BANDS:
        ax.axhspan(max(lo, floor), hi, color=colour, alpha=0.7, zorder=0.5, label=label)
    for key, style, label in (("regenerate_strain", dict(lw=2, color="k"), "gap strain (IFM / gap)"),
                              ("interzone_strain", dict(lw=1.2, color="#7f7f7f", ls="--"), "interzone strain"),
                              ("distraction_step_strain", dict(lw=1, color="#9467bd", ls=":"),
                               "distraction step strain")):
        values = 100 * np.abs(col[key])
        ax.semilogy(day, np.where(values > floor, values, np.nan), label=label, **style)
    ax.set_ylim(floor, 200.0)
    ax.set_ylabel("strain [%] (log scale)")
    ax.set_title("Regenerate strain with Perren's healing bands")
    ax.legend(fontsize=7, loc="upper right")

    ax = axes[3, 0]
    ax.plot(day, 100 * col["frame_load_share"], lw=2, color="#1f77b4", label="frame")
    ax.axhline(100 * summary["protocol"]["removal_load_share"], color="#d62728", ls="--", lw=1)
    ax.text(day[0], 100 * summary["protocol"]["removal_load_share"], " frame may come off below this",
            va="bottom", fontsize=8, color="#d62728")
    ax.set_ylim(0, 105)
    ax.set_ylabel("frame load share [%]")
    ax.set_xlabel("day of treatment")
    ax.set_title("Load share of the frame" + (f" (below the limit on day {removal})" if removal else ""))

    ax = axes[3, 1]
    classes = [r["tissue_class"] for r in rows]
    ax.semilogy(day, col["regenerate_modulus_MPa"], lw=2, color="k", label="regenerate (effective)")
    ax.semilogy(day, col["interzone_modulus_MPa"], lw=1, color="#7f7f7f", ls="--", label="interzone")
    for cls, colour in TISSUE_COLOURS.items():
        sel = np.array([c == cls for c in classes])
        if sel.any():
            ax.semilogy(day[sel], col["regenerate_modulus_MPa"][sel], "o", ms=3, color=colour, label=cls)
    ax.set_ylabel("modulus [MPa]")
    ax.set_xlabel("day of treatment")
    ax.set_title("Regenerate tissue (colour: daily tissue class)")
    ax2 = ax.twinx()
    ax2.plot(day, 100 * col["bone_fraction"], color="#2ca02c", lw=1, alpha=0.6)
    ax2.set_ylabel("ossified length [%]", color="#2ca02c")
    ax2.set_ylim(0, 105)
    ax.legend(fontsize=7, loc="upper left")

    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def regenerate_colour(modulus_MPa: float) -> str:
    """Red for granulation tissue (0.2 MPa) through orange and green to bone ivory (6000 MPa),
    on a log scale of the regenerate's effective modulus."""
    stops = ((0.2, (214, 39, 40)), (2.0, (255, 127, 14)), (100.0, (44, 160, 44)), (6000.0, (232, 220, 192)))
    x = float(np.clip(modulus_MPa, stops[0][0], stops[-1][0]))
    for (e0, c0), (e1, c1) in zip(stops, stops[1:]):
        if x <= e1:
            f = (np.log(x) - np.log(e0)) / (np.log(e1) - np.log(e0))
            rgb = [round(a + f * (b - a)) for a, b in zip(c0, c1)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#e8dcc0"


def animate_timeline(snapshots: dict[int, dict], rows: list[dict[str, Any]], parts: dict[int, tuple[str, str]],
                     path: Path, max_frames: int = 24, frame_ms: int = 400) -> Path:
    """GIF of the frame through the treatment (true scale), wires coloured by tension and the
    regenerate by its stiffness (red: granulation tissue, green: early bone, ivory: bone)."""
    import tempfile

    from PIL import Image

    from postprocess.render import render_frame

    days = sorted(snapshots)
    if len(days) > max_frames:
        picks = np.unique(np.round(np.linspace(0, len(days) - 1, max_frames)).astype(int))
        days = [days[i] for i in picks]
    by_day = {r["day"]: r for r in rows}
    wire_tags = {t for t, (_n, kind) in parts.items() if kind == "WIRE"}
    lo, hi = np.inf, -np.inf
    for d in days:
        s = snapshots[d]
        sel = np.isin(s["part_tag"], list(wire_tags))
        if sel.any():
            lo, hi = min(lo, float(s["section_forces"][sel, 0].min())), max(hi, float(s["section_forces"][sel, 0].max()))
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in days:
            r = by_day[d]
            share = "n/a" if r.get("frame_load_share") is None else f"{100 * r['frame_load_share']:.0f} %"
            title = (f"Day {d} ({r['phase']})\nrods {r['rod_lengthening_mm']:+.1f} mm, gap {r['gap_length_mm']:.1f} mm, "
                     f"force {r['distraction_force_N'] + 0.0 if abs(r['distraction_force_N']) >= 0.5 else 0.0:.0f} N\n"
                     f"frame carries {share} of "
                     f"{r['wb_load_N']:.0f} N; regenerate {r['tissue_class']}, {r['regenerate_modulus_MPa']:.3g} MPa, "
                     f"{100 * r['bone_fraction']:.0f} % bone")
            png = render_frame(snapshots[d], parts, Path(tmp) / f"day{d:04d}.png", title=title, magnification=1.0,
                               wire_tension_range_N=(lo, hi) if np.isfinite(lo) else None, window_size=(1200, 750),
                               colours={"REGENERATE": regenerate_colour(r["regenerate_modulus_MPa"])})
            with Image.open(png) as im:
                frames.append(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=255))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0, optimize=True)
    return path


def timeline_summary_text(summary: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    p = summary["protocol"]
    transport = summary["treatment"] == "bone_transport"
    lines = [f"Treatment timeline of '{summary['scenario']}' (frame model, {summary['mesh']['cells']} cells): "
             f"{'bone transport' if transport else 'lengthening'} of {p['lengthening_mm']:g} mm at "
             f"{p['rate_mm_per_day']:g} mm/day, {p['steps_per_day']} steps a day, latency {p['latency_days']} days"]
    lines.append(f"  Distraction ended on day {summary['distraction_end_day']}: rods moved "
                 f"{summary['rod_change_mm']:.2f} mm, the gap opened {summary['achieved_lengthening_mm']:.2f} mm "
                 f"(the frame gave {summary['lengthening_deficit_mm_at_end_of_distraction']:.2f} mm)")
    lines.append(f"  Distraction force: {summary['distraction_force_at_end_of_distraction_N']:.0f} N at the end "
                 f"(peak {summary['distraction_force_peak_N']:.0f} N just after a step)")
    if transport:
        dock = summary.get("docking_day")
        lines.append(f"  Docking: {'day ' + str(dock) if dock else 'not reached'}; segment moved "
                     f"{summary['transport_segment_motion_mm']:.2f} mm; docking-site compression "
                     f"{summary.get('docking_force_N') or 0.0:.0f} N")
    tmin, tmax = summary["wire_tension_min"], summary["wire_tension_max"]
    if tmin:
        lines.append(f"  Wire tension ranged {tmin['tension_N']:.0f} N ({tmin['wire']}, day {tmin['day']}) to "
                     f"{tmax['tension_N']:.0f} N ({tmax['wire']}, day {tmax['day']}); largest wire bow "
                     f"{summary['max_wire_deflection_mm']:.2f} mm")
    removal = summary["frame_removal_day"]
    if removal:
        lines.append(f"  Frame load share fell below {100 * p['removal_load_share']:.0f} % on day {removal}: "
                     f"healing index {summary['healing_index_days_per_cm']:.0f} days/cm")
    else:
        lines.append(f"  Frame load share still {100 * summary['frame_load_share_final']:.0f} % after "
                     f"{summary['days']} days: the regenerate has not consolidated")
    if p["rate_mm_per_day"] > 2.0:
        lines.append("  Warning: above 2 mm/day the regenerate is at risk of starving (physics.md section 4)")
    t = summary["timings_s"]
    lines.append(f"  Solved {summary['days']} days in {t['days']:.1f} s ({1000 * t['per_day']:.0f} ms a day)")
    return "\n".join(lines)
