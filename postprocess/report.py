"""Reports of a run directory: plots, pictures, animation, and one self-contained HTML page.

`write_report(run_dir)` reads `results.json` and `frame.npz` (the solved states) that
`ilizarov run` wrote, and writes into the same directory:

- `views.png`: the frame under the full axial load in four views (oblique, anterior,
  lateral, along the axis), deformation magnified (factor on the picture) over the
  undeformed frame in grey; wires coloured by tension, bone/rings/rods/pins by von Mises
  stress over their own yield (%), each with its colour bar (postprocess.scales);
- `gap.png`: the fragment ends at true scale, unloaded, just before the gap closes and at
  full load, with the axial and shear motion;
- `teaching.png`: the parts labelled and the load drawn as an arrow;
- `load_displacement.png`, `wire_tension.png`, `ifm.png`, `moments.png`: curves against load;
- `loading.gif`: the axial load rising step by step;
- `report.html`: all of the above in one page with the numbers, the scenario and an
  interactive 3D view (vtk.js, embedded: the page needs no server and no network).

Nothing is solved here. Units: mm, N, MPa, N*m, degrees.
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from postprocess.metrics import RESULTS_VERSION
from postprocess.states import STATES_FILE, STATES_VERSION, SavedStates

STATIC = Path(__file__).with_name("static")
STRAIN_BANDS = ((0.0, 2.0, "#c8e6c9", "bone (< 2 %)"), (2.0, 10.0, "#fff3bf", "cartilage / fibrous (2-10 %)"),
                (10.0, 100.0, "#ffd6d6", "granulation (10-100 %)"))


class ReportError(ValueError):
    """A run directory that cannot be reported on; the message says what is missing and how to get it."""


# ----------------------------------------------------------------------------- input
def load_run(run_dir: Path, need_states: bool = False) -> tuple[dict[str, Any], SavedStates | None, dict[str, Any]]:
    """results.json, the saved states and the resolved scenario of a run directory. The
    states are None for a continuum-model run (it keeps its fields in fields.xdmf);
    need_states: ReportError for such a run. ReportError names what is missing and how
    to get it."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: no such run directory; accepted: a directory written by "
                          "`ilizarov run SCENARIO --out DIR`")
    res_path = run_dir / "results.json"
    if not res_path.is_file():
        accepted = "accepted: a directory written by `ilizarov run` (`ilizarov report` also takes one of `ilizarov sweep`)"
        if (run_dir / "timeline.csv").is_file():
            raise ReportError(f"{run_dir}: a treatment timeline (timeline.csv), not a run: its plots are already "
                              f"there (timeline.png, timeline.gif, timeline.json); {accepted}")
        if (run_dir / "schedule.csv").is_file():
            raise ReportError(f"{run_dir}: a hexapod correction (schedule.csv), not a run: its printable page and "
                              f"pictures are already there (prescription.html, prescription.pdf, struts.png, "
                              f"stiffness.png, frames.png); {accepted}")
        raise ReportError(f"{run_dir}: no results.json here; run `ilizarov run SCENARIO --out {run_dir}` first")
    try:
        results = json.loads(res_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{res_path}: not a readable results file ({exc}); run `ilizarov run` again") from None
    if not isinstance(results, dict):
        raise ReportError(f"{res_path}: not a results file of ilizarov (no results_version); run `ilizarov run` again")
    version = results.get("results_version")
    if version != RESULTS_VERSION:
        raise ReportError(f"{res_path}: results_version {version!r} was written by another version of ilizarov "
                          f"(this one reads {RESULTS_VERSION}); run `ilizarov run SCENARIO --out {run_dir}` again")
    scen_path = run_dir / "scenario.resolved.json"
    try:
        scenario = json.loads(scen_path.read_text()) if scen_path.is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{scen_path}: not readable ({exc}); run `ilizarov run` again") from None
    if results.get("model") == "continuum":
        if need_states:
            raise ReportError(f"{run_dir}: a continuum-model run (`--model continuum`): it has no frame.npz of "
                              "frame-model states to draw; accepted here: runs of the frame model (`ilizarov run` "
                              "without --model); a continuum run has its own `ilizarov report` and fields.xdmf for "
                              "ParaView")
        return results, None, scenario
    states_path = run_dir / results.get("states_file", STATES_FILE)
    if not states_path.is_file():
        raise ReportError(f"{run_dir}: no {STATES_FILE} (the solved states) beside results.json: the run was written "
                          f"by an older version; run `ilizarov run SCENARIO --out {run_dir}` again")
    try:
        states = SavedStates(states_path)
    except Exception as exc:  # noqa: BLE001 - numpy/zipfile raise many kinds on a damaged file
        raise ReportError(f"{states_path}: not readable ({type(exc).__name__}: {exc}); run `ilizarov run SCENARIO "
                          f"--out {run_dir}` again") from None
    if states.version != STATES_VERSION:
        raise ReportError(f"{states_path}: states version {states.version} is not {STATES_VERSION}; run again")
    return results, states, scenario


def check_rendering() -> None:
    """ReportError naming the missing piece if PyVista cannot render off-screen here."""
    try:
        import pyvista as pv

        import postprocess.render  # noqa: F401  (quiets VTK's warning about the missing X display)
    except ImportError as exc:
        raise ReportError(f"PyVista is not installed ({exc}); install it with `pip install pyvista` "
                          "(make venv does)") from None
    try:
        pl = pv.Plotter(off_screen=True, window_size=(64, 64))
        pl.add_mesh(pv.Sphere())
        img = pl.screenshot(return_img=True)
        pl.close()
    except Exception as exc:  # noqa: BLE001 - VTK raises many kinds
        raise ReportError(f"off-screen rendering failed ({type(exc).__name__}: {exc}). PyVista needs an OpenGL "
                          "library: on Debian/Ubuntu `apt-get install libgl1 libegl1` (or libosmesa6 for software "
                          "rendering); on a cluster load an OpenGL/Mesa module or use the VTK OSMesa wheel") from None
    if img is None or np.asarray(img).std() == 0:
        raise ReportError("off-screen rendering produced an empty picture: the OpenGL library draws nothing here; "
                          "install Mesa (Debian: apt-get install libgl1-mesa-dri libegl1) or use VTK's OSMesa build")


# ----------------------------------------------------------------------------- plots
def _num(value, spec: str) -> str:
    """A number formatted, or "n/a" for None (a quantity the run could not give)."""
    return "n/a" if value is None else format(value, spec)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_load_displacement(results: dict, path: Path) -> Path | None:
    a = results["load_cases"].get("axial")
    if a is None:
        return None
    plt = _plt()
    load, disp = np.array(a["load_N"], dtype=float), np.array(a["displacement_mm"], dtype=float)
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    ax.plot(disp, load, "o-", color="k", lw=2, ms=4, label="frame model")
    if a.get("secant_stiffness_N_per_mm"):
        ax.plot([0, disp[-1]], [0, load[-1]], "--", color="#1f77b4",
                label=f"secant {a['secant_stiffness_N_per_mm']:.1f} N/mm")
    if a.get("tangent_stiffness_N_per_mm") and len(disp) > 1:
        k = a["tangent_stiffness_N_per_mm"]
        x = np.array([disp[-2], disp[-1]])
        xs = np.array([x[0] - 0.25 * (x[1] - x[0]), x[1] + 0.25 * (x[1] - x[0])])
        ax.plot(xs, load[-1] + k * (xs - disp[-1]), "-", color="#d62728", lw=3, alpha=0.7,
                label=f"tangent {k:.1f} N/mm (last step)")
    if a.get("initial_stiffness_N_per_mm"):
        k0 = a["initial_stiffness_N_per_mm"]
        xm = min(disp[-1], load[-1] / k0)
        ax.plot([0, xm], [0, k0 * xm], ":", color="#2ca02c", lw=2, label=f"initial {k0:.1f} N/mm")
    if a.get("gap_closed_at_N"):
        ax.axhline(a["gap_closed_at_N"], color="#7f7f7f", lw=1, ls="-.")
        ax.text(0, a["gap_closed_at_N"], " gap closes", va="bottom", fontsize=8, color="#555555")
    ax.set_xlabel("axial shortening at the load point [mm]")
    ax.set_ylabel("axial load [N]")
    ax.set_title(f"{results['scenario']}: axial load-displacement")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_wire_tension(results: dict, path: Path) -> Path | None:
    a = results["load_cases"].get("axial")
    if a is None or not a.get("wire_tension_history_N"):
        return None
    plt = _plt()
    load = np.array(a["load_N"])
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    for name, t in a["wire_tension_history_N"].items():
        ax.plot(load, t, lw=1.6, label=name)
    for w in results["pretension"]["wires"][:1]:
        ax.axhline(w["target_N"], color="k", ls="--", lw=0.8)
    ax.set_xlabel("axial load [N]")
    ax.set_ylabel("wire tension [N]")
    ax.set_title("Wire tension against load (dashed: pretension target)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_ifm(results: dict, path: Path) -> Path | None:
    a = results["load_cases"].get("axial")
    if a is None or a.get("ifm_axial_history_mm") is None:
        return None
    plt = _plt()
    load = np.array(a["load_N"], dtype=float)
    ifm = np.array(a["ifm_axial_history_mm"], dtype=float)  # None (no gap at a step) -> NaN
    shear = np.array(a.get("ifm_shear_history_mm") or [None] * len(ifm), dtype=float)
    width = a["ifm_axial_mm"] / a["gap_strain"] if a.get("gap_strain") else None
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    ax.plot(load, ifm, "o-", lw=2, ms=3, label="axial")
    ax.plot(load, shear, "s-", lw=1.5, ms=3, label="shear")
    ax.axhspan(0.2, 1.0, color="#c8e6c9", alpha=0.5, zorder=0, label="0.2-1 mm: stimulates healing")
    ax.axhline(3.0, color="#d62728", ls="--", lw=1, label="3 mm: non-union (Claes 2000)")
    ax.set_xlabel("axial load [N]")
    ax.set_ylabel("interfragmentary motion [mm]")
    ax.set_title("IFM against load")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    if width:
        for lo, hi, colour, label in STRAIN_BANDS:
            ax2.axhspan(lo, hi, color=colour, alpha=0.8, zorder=0, label=label)
        ax2.plot(load, 100 * ifm / width, "o-", color="k", lw=2, ms=3, label="gap strain")
        ax2.set_ylim(0, max(12.0, min(110.0, 1.1 * float(np.nanmax(100 * ifm / width, initial=0.0)))))
        ax2.set_title(f"Gap strain (IFM / {width:g} mm) with Perren's bands")
        ax2.legend(fontsize=8)
    else:
        ax2.set_title("Gap strain: not given by this run (n/a)")
    ax2.set_xlabel("axial load [N]")
    ax2.set_ylabel("gap strain [%]")
    ax2.grid(True, alpha=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_moments(results: dict, path: Path) -> Path | None:
    cases = {k: v for k, v in results["load_cases"].items() if k != "axial"}
    if not cases:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    for name, c in cases.items():
        ax.plot(np.array(c["rotation_deg"], dtype=float), np.array(c["moment_Nm"], dtype=float), "o-", lw=2, ms=3,
                label=f"{name.replace('_', ' ')}: {_num(c.get('stiffness_Nm_per_deg'), '.2f')} N*m/deg")
    ax.set_xlabel("rotation at the load point [deg]")
    ax.set_ylabel("moment [N*m]")
    ax.set_title("Bending and torsion")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- pictures
def _part_points(states: SavedStates, lines: dict, kind: str, name: str | None = None) -> list[np.ndarray]:
    """Deformed mid-points of the cells of parts of a kind (optionally one name)."""
    tags = [t for t, (n, k) in states.parts.items() if k == kind and (name is None or n == name)]
    sel = np.isin(lines["part_tag"], tags)
    x = lines["points_mm"] + lines["displacement_mm"]
    c = lines["cells"][sel]
    return 0.5 * (x[c[:, 0]] + x[c[:, 1]])


def teaching_labels(states: SavedStates, lines: dict, scenario: dict) -> list[tuple]:
    """Labels for the main parts: each ring, one wire, one rod, bone fragments, the gap."""
    out = []
    for t, (name, kind) in sorted(states.parts.items()):
        if kind == "RING":
            pts = _part_points(states, lines, kind, name)
            if len(pts):
                out.append((tuple(pts[np.argmax(pts[:, 0])]), name))
    for kind, text in (("WIRE", "tensioned wire"), ("ROD", "threaded rod"), ("HALF_PIN", "half pin"),
                       ("STRUT", "strut")):
        pts = _part_points(states, lines, kind)
        if len(pts):
            out.append((tuple(pts[np.argmin(pts[:, 1])]), text))
    for kind, text in (("REGENERATE", "regenerate"), ("GAP_CONTACT", "gap")):
        pts = _part_points(states, lines, kind)
        if len(pts):
            out.append((tuple(pts.mean(axis=0)), text))
    bone = _part_points(states, lines, "BONE")
    if len(bone):
        out.append((tuple(bone[np.argmax(bone[:, 2])] - np.array([0, 0, 20.0])), "bone"))
    return out


def _bone_centre_at(lines: dict, parts: dict, level_mm: float, half_mm: float) -> np.ndarray:
    """Mean deformed position (mm) of the bone nodes within half_mm of a level."""
    tags = [t for t, (_n, k) in parts.items() if k in ("BONE", "REGENERATE")]
    cells = lines["cells"][np.isin(lines["part_tag"], tags)]
    nodes = np.unique(cells.ravel())
    x = lines["points_mm"][nodes]
    near = nodes[np.abs(x[:, 2] - level_mm) <= half_mm]
    if len(near) == 0:
        return np.array([0.0, 0.0, level_mm])
    return (lines["points_mm"][near] + lines["displacement_mm"][near]).mean(axis=0)


GAP_HIDDEN_KINDS = ("RING", "ROD", "STRUT", "POST", "WIRE", "WIRE_BONE_LINK", "CLAMP_LINK", "CLAMP_ARM", "PIN_BONE_LINK",
                    "GAP_CONTACT")


def gap_states(results: dict, states: SavedStates, width_mm: float) -> list[tuple[str, str, float | None]]:
    """The states the gap close-up shows: (state name, caption, gap left open in mm).

    Unloaded (after pretension); when the gap closes under the axial load, the last load
    step at which it is still open; and the full load. The gap left open is the gap width
    less the axial IFM of that step from the unloaded mesh (ifm_axial_absolute_history_mm;
    the pretension alone moves the gap faces a little).
    """
    a = results["load_cases"].get("axial") or {}
    load = list(a.get("load_N") or [])
    ifm = a.get("ifm_axial_absolute_history_mm") or a.get("ifm_axial_history_mm")
    steps = states.axial_steps()
    out = []
    if "pretension" in states.names:
        out.append(("pretension", f"unloaded (pretensioned): gap {width_mm:.2f} mm", width_mm))
    if ifm is None or len(steps) != len(load) or not load:
        if "axial" in states.names:
            out.append(("axial", "full load", None))
        return out
    left = [width_mm - float(i) for i in ifm]
    closed_at = a.get("gap_closed_at_N")
    if closed_at is not None:
        open_steps = [k for k in range(1, len(load)) if load[k] < closed_at and left[k] > 0.01 * width_mm]
        if open_steps:
            k = open_steps[-1]
            out.append((steps[k], f"at {load[k]:.0f} N: gap {max(left[k], 0.0):.2f} mm (axial IFM {ifm[k]:.2f} mm)",
                        left[k]))
        out.append((steps[-1], f"at {load[-1]:.0f} N: closed (touching from {closed_at:.1f} N)", 0.0))
    else:
        out.append((steps[-1], f"at {load[-1]:.0f} N: gap {max(left[-1], 0.0):.2f} mm (axial IFM {ifm[-1]:.2f} mm)",
                    left[-1]))
    return out


def render_gap(results: dict, states: SavedStates, scenario: dict, path: Path) -> Path | None:
    """gap.png: the two fragment ends at true scale (anterior view) unloaded, just before
    the gap closes (if it does) and at full load, with rings, rods and wires left out so
    that nothing stands in front of the gap. None without a gap or an axial case."""
    from postprocess.render import Scene, render_scenes

    a = results["load_cases"].get("axial")
    gap = scenario.get("gap") or {}
    width = float(gap.get("width_mm") or 0.0)
    if a is None or width <= 0 or "level_mm" not in gap:
        return None
    chosen = gap_states(results, states, width)
    if not chosen:
        return None
    bone_d = float((scenario.get("bone") or {}).get("outer_diameter_mm") or 24.0)
    n = len(chosen)
    size = (max(1400, 480 * n), 820)
    panel_ratio = ((size[1] - 180) / (size[0] / n))  # height / width of a panel, roughly
    half = max(5.0 * width, 0.8 * bone_d * panel_ratio, 12.0)
    level = float(gap["level_mm"])
    scenes = []
    for name, caption, left in chosen:
        lines = states.lines(name)
        centre = _bone_centre_at(lines, states.parts, level, max(2.0 * width, 5.0))
        mark = ("the gap" if left is None else f"gap {left:.2f} mm" if left > 0.01 * width else "in contact")
        scenes.append(Scene(lines, states.parts, caption=caption, magnification=1.0, focus=(tuple(centre), half),
                            hide_kinds=GAP_HIDDEN_KINDS, labels=[(tuple(centre - [0.5 * bone_d, 0.0, 0.0]), mark)]))  # -x: right in the anterior view
    strain = a.get("gap_strain")
    numbers = [f"axial IFM {a['ifm_axial_mm']:.3f} mm" if a.get("ifm_axial_mm") is not None else "",
               f"shear IFM {a['ifm_shear_mm']:.3f} mm" if a.get("ifm_shear_mm") is not None else "",
               f"gap strain {100 * strain:.1f} %" if strain is not None else ""]
    numbers = ", ".join(x for x in numbers if x)
    header = (f"{results['scenario']}: the {width:g} mm gap at {level:g} mm, anterior view at true scale (bone only)"
              + (f"\nAt {a['load_N'][-1]:.0f} N: {numbers}" if numbers else ""))
    return render_scenes(scenes, path, header=header, window_size=size, views=("anterior",))


def render_pictures(results: dict, states: SavedStates, scenario: dict, out: Path) -> dict[str, Path]:
    from postprocess.render import auto_magnification, render_frame
    from postprocess.scales import part_yields_MPa

    pics: dict[str, Path] = {}
    case = "axial" if "axial" in states.names else next((n for n in states.names if "step" not in n), None)
    if case is None:
        return pics
    lines = states.lines(case)
    yields = part_yields_MPa(scenario, states.parts) if scenario else None
    mag = auto_magnification(lines["points_mm"], lines["displacement_mm"])
    a = results["load_cases"].get("axial")
    load = f" ({a['load_N'][-1]:.0f} N)" if a is not None and case == "axial" else ""
    title = f"{results['scenario']}: {case.replace('_', ' ')} load case at full load{load}"
    pics["views"] = render_frame(lines, states.parts, out / "views.png", title=title, magnification=mag,
                                 colour_by_stress=True, yields_MPa=yields,
                                 views=("oblique", "anterior", "lateral", "axial"), window_size=(2200, 900),
                                 hole_marks=_hole_marks(scenario))
    gap_png = render_gap(results, states, scenario, out / "gap.png")
    if gap_png is not None:
        pics["gap"] = gap_png
    arrows = []
    if a is not None:
        top = lines["points_mm"][np.argmax(lines["points_mm"][:, 2])]
        arrows = [(tuple(top + np.array([0.0, 0.0, 70.0])), (0.0, 0.0, -60.0), f"{a['load_N'][-1]:.0f} N")]
    pics["teaching"] = render_frame(lines, states.parts, out / "teaching.png", magnification=mag,
                                    title=f"{results['scenario']}: the parts and the load",
                                    labels=teaching_labels(states, lines, scenario), arrows=arrows,
                                    views=("oblique",), window_size=(1100, 1000))
    return pics


def _hole_marks(scenario: dict | None):
    """The holes of the rings that opt in (sim.ring_holes.hole_points) of the resolved
    scenario (scenario.resolved.json's data); None without."""
    from types import SimpleNamespace

    from sim import ring_holes
    from sim.scenario import Ring

    if not scenario or not any(r.get("holes", "anywhere") != "anywhere" for r in scenario.get("rings", [])):
        return None
    rings = tuple(Ring(**{**r, "centre_xy_mm": tuple(r.get("centre_xy_mm", (0.0, 0.0)))}) for r in scenario["rings"])
    return ring_holes.hole_points(SimpleNamespace(rings=rings))


def animate_loading(results: dict, states: SavedStates, path: Path, frame_ms: int = 350,
                    scenario: dict | None = None) -> Path | None:
    """GIF of the axial load rising step by step (one magnification and one pair of colour
    scales for all frames)."""
    import tempfile

    from PIL import Image

    from postprocess.render import Scene, auto_magnification, render_frame, scene_scales
    from postprocess.scales import part_yields_MPa

    steps = states.axial_steps()
    if len(steps) < 2:
        return None
    last = states.lines(steps[-1])
    mag = auto_magnification(last["points_mm"], last["displacement_mm"])
    yields = part_yields_MPa(scenario, states.parts) if scenario else None
    wire_scale, stress_scale = scene_scales([Scene(states.lines(n), states.parts, yields_MPa=yields) for n in steps],
                                            colour_by_stress=True)
    load = results["load_cases"]["axial"]["load_N"]
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, n in enumerate(steps):
            png = render_frame(states.lines(n), states.parts, Path(tmp) / f"{n}.png", magnification=mag,
                               title=f"{results['scenario']}: axial load {load[k]:.0f} N (step {k}/{len(steps) - 1})",
                               colour_by_stress=True, yields_MPa=yields, wire_scale=wire_scale,
                               stress_scale=stress_scale, window_size=(1200, 750))
            with Image.open(png) as im:
                frames.append(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=255))
    frames += [frames[-1]] * 3  # hold the full load
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0, optimize=True)
    return path


# ----------------------------------------------------------------------------- the 3D scene
def scene_json(states: SavedStates, case: str, scenario: dict | None = None) -> dict:
    """Tubes of the deformed frame as triangle meshes with one RGB colour per triangle
    (wires by tension, other parts by von Mises stress over their yield, on the scales of
    the pictures: postprocess.scales), for the vtk.js view."""
    import matplotlib

    from postprocess.render import STYLES, Scene, _prepare, _tubes, scene_scales
    from postprocess.scales import part_yields_MPa

    lines = states.lines(case)
    yields = part_yields_MPa(scenario, states.parts) if scenario else None
    scene = Scene(lines, states.parts, yields_MPa=yields)
    wire_scale, stress_scale = scene_scales([scene], colour_by_stress=True)
    prep = _prepare(scene, True, yields is not None)
    parts = []
    for g, idx in prep.groups.items():
        if len(idx) == 0:
            continue
        style = STYLES[g]
        colours = np.tile(matplotlib.colors.to_rgb(style.color), (len(idx), 1))
        if g == "WIRE" and wire_scale is not None:
            colours = matplotlib.colormaps[wire_scale.cmap](wire_scale.normalised(prep.axial[idx]))[:, :3]
        elif stress_scale is not None and np.isfinite(prep.stress[idx]).any():
            finite = np.isfinite(prep.stress[idx])
            colours[finite] = matplotlib.colormaps[stress_scale.cmap](
                stress_scale.normalised(prep.stress[idx][finite]))[:, :3]
        tube = _tubes(prep.deformed, prep.cells[idx], style.radius_mm if g != "LINK" else 0.6,
                      min(style.n_sides, 12), cell_data={"rgb": (255 * colours).astype(np.uint8)})
        if tube is None:
            continue
        tri = tube.triangulate()
        faces = tri.faces.reshape(-1, 4)
        parts.append({
            "name": g.lower(),
            "points": base64.b64encode(np.asarray(tri.points, np.float32).tobytes()).decode(),
            "polys": base64.b64encode(faces.astype(np.uint32).tobytes()).decode(),
            "colors": base64.b64encode(np.asarray(tri.cell_data["rgb"], np.uint8).tobytes()).decode(),
        })

    def describe(scale):
        if scale is None:
            return ""
        return f"{scale.label} {scale.lo:.0f}&ndash;{scale.hi:.0f}" + (f" ({scale.note})" if scale.note else "")

    return {"parts": parts, "magnification": prep.magnification, "case": case,
            "tension_scale": describe(wire_scale), "stress_scale": describe(stress_scale)}


VIEWER_JS = r"""
(function () {
  function b64(s) { const b = atob(s); const a = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) a[i] = b.charCodeAt(i); return a.buffer; }
  const container = document.getElementById('viewer');
  const rw = vtk.Rendering.Misc.vtkFullScreenRenderWindow.newInstance({
    rootContainer: container, containerStyle: { width: '100%', height: '100%', position: 'relative' },
    background: [1, 1, 1] });
  const renderer = rw.getRenderer();
  for (const part of SCENE.parts) {
    const pd = vtk.Common.DataModel.vtkPolyData.newInstance();
    pd.getPoints().setData(new Float32Array(b64(part.points)), 3);
    pd.getPolys().setData(new Uint32Array(b64(part.polys)));
    const rgb = vtk.Common.Core.vtkDataArray.newInstance({ name: 'rgb', numberOfComponents: 3,
      values: new Uint8Array(b64(part.colors)) });
    pd.getCellData().setScalars(rgb);
    const mapper = vtk.Rendering.Core.vtkMapper.newInstance();
    mapper.setInputData(pd);
    mapper.setColorModeToDirectScalars();
    mapper.setScalarModeToUseCellData();
    const actor = vtk.Rendering.Core.vtkActor.newInstance();
    actor.setMapper(mapper);
    renderer.addActor(actor);
  }
  const cam = renderer.getActiveCamera();
  cam.setPosition(1.0, 1.3, 0.55); cam.setFocalPoint(0, 0, 0); cam.setViewUp(0, 0, 1);
  renderer.resetCamera();
  rw.getRenderWindow().render();
  document.getElementById('viewer-status').textContent = 'drag to rotate, scroll to zoom, shift-drag to pan';
  window.ILIZAROV_VIEW_READY = true;
})();
"""


def _img(path: Path | None, alt: str) -> str:
    if path is None or not Path(path).is_file():
        return ""
    mime = "image/gif" if str(path).endswith(".gif") else "image/png"
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<figure><img src="data:{mime};base64,{data}" alt="{html.escape(alt)}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _numbers_table(results: dict) -> str:
    from postprocess.summary import stability_summary

    rows = []
    cases = results["load_cases"]
    if "axial" in cases:
        a = cases["axial"]

        def f(v, spec=".1f"):
            return "n/a" if v is None else format(v, spec)

        rows += [("Axial stiffness, initial (tangent at the pretensioned state)",
                  f(a.get("initial_stiffness_N_per_mm")), "N/mm")]
        if a.get("gap_closed_at_N") is not None:
            rows += [("Gap closes at", f(a["gap_closed_at_N"]), "N"),
                     ("Axial stiffness up to contact (frame alone, secant)",
                      f(a.get("stiffness_before_contact_N_per_mm")), "N/mm"),
                     ("Axial stiffness in contact (tangent at full load)", f(a.get("stiffness_in_contact_N_per_mm")),
                      "N/mm")]
        rows += [("Axial stiffness, secant to full load", f(a["secant_stiffness_N_per_mm"]), "N/mm"),
                 ("Axial stiffness, tangent at full load", f(a["tangent_stiffness_N_per_mm"]), "N/mm"),
                 ("Axial IFM at full load", f(a.get("ifm_axial_mm"), ".3f"), "mm"),
                 ("Shear IFM at full load", f(a.get("ifm_shear_mm"), ".3f"), "mm"),
                 ("Gap strain", f(None if a.get("gap_strain") is None else 100 * a["gap_strain"]), "%"),
                 ("Frame load share", f(None if a.get("frame_load_share") is None else 100 * a["frame_load_share"],
                                        ".0f"), "%")]
    for name in ("bending_ap", "bending_ml", "torsion"):
        if name in cases:
            c = cases[name]
            initial = c.get("initial_stiffness_Nm_per_deg")
            rows.append((f"{name.replace('_', ' ').capitalize()} stiffness (secant; initial)",
                         _num(c.get("stiffness_Nm_per_deg"), ".2f") + (f"; {initial:.2f}" if initial else ""),
                         "N*m/deg"))
    for g, v in results.get("max_von_mises_MPa", {}).items():
        sf = results.get("safety_factor", {}).get(g)
        if v:
            rows.append((f"Peak von Mises, {g}", f"{v:.0f}" + (f" (safety factor {sf:.2f})" if sf else ""), "MPa"))
    body = "".join(f"<tr><td>{html.escape(a)}</td><td class=num>{html.escape(b)}</td><td>{c}</td></tr>"
                   for a, b, c in rows)
    wires = "".join(f"<tr><td>{html.escape(w['name'])}</td><td class=num>{w['target_N']:.0f}</td>"
                    f"<td class=num>{w['achieved_N']:.0f}</td></tr>" for w in results["pretension"]["wires"])
    return (f"<table><tr><th>Stability</th><th>value</th><th>unit</th></tr>{body}</table>"
            f"<table><tr><th>Wire</th><th>target N</th><th>achieved N</th></tr>{wires}</table>"
            f"<pre>{html.escape(stability_summary(results))}</pre>")


def _scenario_table(scenario: dict) -> str:
    if not scenario:
        return "<p>(no resolved scenario in the run directory)</p>"
    out = []
    for key in ("bone", "gap", "loads"):
        if key in scenario:
            out.append(f"<h4>{key}</h4><pre>{html.escape(json.dumps(scenario[key], indent=1))}</pre>")
    for key in ("rings", "wires", "rods", "half_pins", "pin_clamps", "plates"):
        items = scenario.get(key) or []
        if items:
            cols = list(items[0])
            head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(str(it.get(c, '')))}</td>" for c in cols) + "</tr>"
                           for it in items)
            out.append(f"<h4>{key} ({len(items)})</h4><table class=small><tr>{head}</tr>{body}</table>")
    return "".join(out)


REPORT_FILES = ("views.png", "gap.png", "teaching.png", "load_displacement.png", "wire_tension.png", "ifm.png",
                "moments.png", "loading.gif", "report.html")


def write_report(run_dir, log=None) -> Path:
    """Write the pictures, plots, animation and report.html into a run directory; return
    the report's path.

    The directory must be an output of `ilizarov run` (sim.outdir's marker); the files are
    written into a staging folder and moved in at the end, and a file of the same name that
    ilizarov did not write is never replaced (ReportError or OutputDirError naming it). A
    continuum-model run gets the numbers, the curves, its continuum.png and the scenario
    (its fields are in fields.xdmf, for ParaView)."""
    from sim.outdir import OutputDir

    t0 = time.perf_counter()
    run_dir = Path(run_dir)
    results, states, scenario = load_run(run_dir)
    say = log or (lambda m: None)
    with OutputDir(run_dir, "report").claim(existing_only=True, accept=("run",)) as od:
        od.check_names(REPORT_FILES)
        if states is None:
            return _write_continuum_report(od, results, scenario, say, t0)
        check_rendering()

        def fill(staging: Path) -> None:
            pics = render_pictures(results, states, scenario, staging)
            say(f"pictures rendered ({time.perf_counter() - t0:.1f} s)")
            plots = _plots(results, staging)
            gif = animate_loading(results, states, staging / "loading.gif", scenario=scenario)
            say(f"plots and animation ({time.perf_counter() - t0:.1f} s)")
            case = "axial" if "axial" in states.names else states.names[-1]
            scene = scene_json(states, case, scenario)
            vtkjs = (STATIC / "vtk.js").read_text(encoding="utf-8")
            intro = (f"Frame model, {results['mesh']['cells']} cells, {results['mesh']['dofs']} unknowns; set-up "
                     f"{html.escape(results['setup'])}.\n3D view: the {html.escape(case)} case at full load, deformation "
                     f"&times;{scene['magnification']:g};\nwires coloured by {scene['tension_scale'] or 'tension'} "
                     f"(plasma),\nother parts by {scene['stress_scale'] or 'von Mises stress'} (blue to red).\n"
                     '<span id="viewer-status">loading the 3D view&hellip;</span>')
            pictures = "\n".join([
                _img(pics.get('views'), 'Four views under the full axial load: wires by tension, other parts by von '
                     'Mises stress over their yield; grey: undeformed'),
                _img(pics.get('gap'), 'The gap, true scale'),
                _img(pics.get('teaching'), 'The parts of the frame and the load'),
                _img(gif, 'The axial load rising step by step')])
            viewer = (f'<div id="viewer"></div>', f"<script>{vtkjs}</script>\n<script>const SCENE = "
                      f"{json.dumps(scene)};</script>\n<script>{VIEWER_JS}</script>")
            (staging / "report.html").write_text(_page(results, scenario, "frame stability report", intro, viewer,
                                                       pictures, plots), encoding="utf-8")

        od.add_files(fill, REPORT_FILES)
    say(f"report written ({time.perf_counter() - t0:.1f} s)")
    return run_dir / "report.html"


def _plots(results: dict, out: Path) -> dict[str, Path | None]:
    return {
        "load_displacement": plot_load_displacement(results, out / "load_displacement.png"),
        "wire_tension": plot_wire_tension(results, out / "wire_tension.png"),
        "ifm": plot_ifm(results, out / "ifm.png"),
        "moments": plot_moments(results, out / "moments.png"),
    }


def _write_continuum_report(od, results: dict, scenario: dict, say, t0: float) -> Path:
    """report.html of a continuum-model run: numbers, curves, continuum.png, the scenario."""
    run_dir = od.path

    def fill(staging: Path) -> None:
        plots = _plots(results, staging)
        degree = results["mesh"].get("element_degree")
        intro = (f"Continuum model (3D solids{f', degree {degree} tetrahedra' if degree else ''}), "
                 f"{results['mesh']['cells']} cells, {results['mesh']['dofs']} unknowns; set-up "
                 f"{html.escape(results['setup'])}. The displacement and von Mises fields of every state are in "
                 "<code>fields.xdmf</code> beside this page (open it in ParaView); this page has no interactive "
                 "view, gap close-up or animation, which are drawn from the frame model's states.")
        pic = run_dir / "continuum.png"
        pictures = _img(pic, "The continuum model under the full load (continuum.png)")
        (staging / "report.html").write_text(_page(results, scenario, "continuum model report", intro, ("", ""),
                                                   pictures, plots), encoding="utf-8")

    od.add_files(fill, REPORT_FILES)
    say(f"report written ({time.perf_counter() - t0:.1f} s)")
    return run_dir / "report.html"


def _page(results: dict, scenario: dict, kind: str, intro: str, viewer: tuple[str, str], pictures: str,
          plots: dict[str, Path | None]) -> str:
    title = f"ilizarov report: {results['scenario']}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 0 2em 2em 2em; color: #222; }}
#viewer {{ width: 100%; height: 620px; border: 1px solid #ccc; position: relative; }}
table {{ border-collapse: collapse; margin: 0.5em 1em 1em 0; display: inline-table; vertical-align: top; }}
td, th {{ border: 1px solid #ddd; padding: 3px 8px; }} td.num {{ text-align: right; }}
table.small td, table.small th {{ font-size: 0.8em; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }} figcaption {{ color: #555; font-size: 0.9em; }}
pre {{ background: #f7f7f7; padding: 0.5em; overflow-x: auto; }}
</style></head><body>
<h1>{html.escape(results['scenario'])}: {kind}</h1>
<p>{intro}</p>
{viewer[0]}
<h2>Stability numbers</h2>
{_numbers_table(results)}
<h2>Pictures</h2>
{pictures}
<h2>Curves</h2>
{''.join(_img(p, k.replace('_', ' ')) for k, p in plots.items())}
<h2>Scenario</h2>
{_scenario_table(scenario)}
<p style="color:#777">Written by ilizarov{'; 3D view by vtk.js (BSD-3-Clause, Kitware), embedded' if viewer[1] else ''}.</p>
{viewer[1]}
</body></html>
"""


__all__ = ["ReportError", "check_rendering", "load_run", "scene_json", "write_report"]
