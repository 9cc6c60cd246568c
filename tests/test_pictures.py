"""Legible pictures with honest colour scales (issue 14, "Pictures").

Every picture the commands write (`run`, `report`, `compare`, `timeline`, `hexapod`, the
sweep report) is checked at the size it is written: each figure passes through
matplotlib's savefig, where `text_problems` measures every drawn title, label, caption
and tick label against the picture's edges, the other texts and the legends, and
`scale_problems` checks that no colour bar spans a degenerate range. A picture written
any other way (PyVista screenshots with VTK text, PIL headers) cannot be measured and
fails the test. Then the meaning: gap.png shows the gap open before it closes, wire
tension that varies by a few newtons is "uniform", `compare` calls a 4th-digit
difference a tie, and the sweep's main effects are not biased by failed cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
QUICK_LOADS = ("axial = { force_N = 1000, steps = 5 }\nbending_ap = { moment_Nm = 10, steps = 2 }\n"
               "bending_ml = { moment_Nm = 10, steps = 2 }\ntorsion = { moment_Nm = 5, steps = 2 }\n")
SHORT_TIMELINE = (Path(__file__).resolve().parent / "data" / "short-timeline.toml").read_text()


# ----------------------------------------------------------------------------- the checks themselves
def test_text_problems_finds_cut_titles_and_overlapping_labels():
    from matplotlib.figure import Figure

    from postprocess.layout import text_problems

    fig = Figure(figsize=(4, 3), dpi=100)
    ax = fig.add_subplot()
    ax.set_title("a title far too long to fit in a four-inch picture at this size, so it is cut")
    assert any("reaches outside" in p and "far too long" in p for p in text_problems(fig))

    fig = Figure(figsize=(4, 3), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.bar(range(3), [1, 2, 3])
    ax.set_xticks(range(3), ["hexapod day 13 (end)", "classic (4 rods) same rings", "x"])
    assert any("overlap" in p for p in text_problems(fig))

    fig = Figure(figsize=(6, 4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="axial")
    ax.legend(loc="upper right")
    ax.text(1.0, 0.98, "3 mm: non-union (Claes 2000)", ha="right", va="top")
    assert any("under a legend" in p or "overlap" in p for p in text_problems(fig))

    fig = Figure(figsize=(6, 4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_title("a short title")
    ax.set_xlabel("load [N]")
    assert text_problems(fig) == []


def test_scale_problems_finds_a_colour_bar_that_makes_noise_dramatic():
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    from postprocess.layout import scale_problems

    def bar(lo, hi):
        fig = Figure(figsize=(4, 2), dpi=100)
        cax = fig.add_axes((0.1, 0.5, 0.8, 0.1))
        fig.colorbar(ScalarMappable(Normalize(lo, hi), matplotlib.colormaps["plasma"]), cax=cax,
                     orientation="horizontal", label="wire tension [N]")
        return scale_problems(fig)

    assert bar(919.0, 922.0) and "spans 0.3 %" in bar(919.0, 922.0)[0]
    assert bar(874.0, 966.0) == []
    assert bar(0.0, 20.0) == []


def test_tension_scale_has_a_meaningful_span_and_says_uniform():
    from postprocess.scales import TENSION_MIN_SPAN_FRACTION, tension_scale

    s = tension_scale([919.0, 920.2, 921.4, 922.0])
    assert s.span >= TENSION_MIN_SPAN_FRACTION * 920.0 - 1e-9 and s.lo < 919.0 and s.hi > 922.0
    assert "uniform" in s.note and "919-922 N" in s.note
    assert s.normalised([919.0]).item() > 0.45 and s.normalised([922.0]).item() < 0.55  # all one colour
    wide = tension_scale([500.0, 1000.0])
    assert (wide.lo, wide.hi, wide.note) == (500.0, 1000.0, "")  # a real spread is drawn over the whole map
    zero = tension_scale([0.0, 0.5])
    assert zero.span >= 20.0


def test_utilisation_scale_is_not_set_by_the_wires():
    from postprocess.scales import part_yields_MPa, utilisation_scale

    assert (utilisation_scale([3.0, 9.4]).lo, utilisation_scale([3.0, 9.4]).hi) == (0.0, 20.0)
    assert utilisation_scale([41.0]).hi == 50.0
    assert utilisation_scale([160.0]).hi == 100.0 and "above yield" in utilisation_scale([160.0]).note
    scenario = {"bone": {"material": "cortical_bone"}, "rings": [{"name": "r1", "material": "aluminium"}],
                "rods": [{"name": "rod1", "material": "stainless_steel"}]}
    parts = {1: ("r1", "RING"), 2: ("rod1", "ROD"), 3: ("bone_distal", "BONE"), 4: ("w", "WIRE")}
    # "stainless_steel" rods are annealed (190 MPa), wires cold-worked (690 MPa): docs/materials.md
    assert part_yields_MPa(scenario, parts) == {1: 276.0, 2: 190.0, 3: 114.0}
    scenario["wires"] = [{"name": "w", "material": "stainless_steel"}]
    assert part_yields_MPa(scenario, parts)[4] == 690.0


def test_wrap_text_fits_the_width():
    from postprocess.layout import text_width_px, wrap_text

    lines = wrap_text("The gap at 1000 N (true scale): axial IFM 2.001 mm, shear IFM 0.000 mm, gap strain 100.1 %",
                      300, 12)
    assert len(lines) > 1 and all(text_width_px(x, 12) <= 300 for x in lines)
    assert " ".join(lines).split() == "The gap at 1000 N (true scale): axial IFM 2.001 mm, shear IFM 0.000 mm, gap " \
                                      "strain 100.1 %".split()


# ----------------------------------------------------------------------------- meaning
def test_compare_calls_a_fourth_digit_difference_a_tie():
    from postprocess.compare import comparison_rows, format_table

    def res(stiff, wire_stress, shear):
        return {"load_cases": {"axial": {"initial_stiffness_N_per_mm": stiff, "ifm_shear_mm": shear}},
                "max_von_mises_MPa": {"wires": wire_stress}}

    rows = {r["metric"]: r for r in comparison_rows([res(64.7, 1221.0, 0.0), res(87.2, 1220.0, 2e-12),
                                                     res(87.0, 1262.0, 0.0)])}
    stiff = rows["axial stiffness, initial"]
    assert stiff["best"] == [False, True, True] and not stiff["tie"]  # 87.2 and 87.0 are within 1 %
    wire = rows["peak wire stress"]
    assert wire["best"] == [True, True, False]  # 1220 and 1221 tie for best, 1262 is 3 % worse
    shear = rows["shear IFM at full load"]
    assert shear["tie"] and shear["best"] == [False, False, False]
    table = format_table(["a", "b", "c"], [shear])
    assert "tie" in table and "*" not in table.splitlines()[1]


def _grid_records(effect_a, effect_b, fail):
    """Records of a 3 x 2 grid y = 10 + a[i] + b[j]; (i, j) in `fail` failed."""
    ok, failed = [], []
    for i, a in enumerate((50, 90, 130)):
        for j, b in enumerate((1.5, 1.8)):
            rec = {"id": f"c{i}{j}", "parameters": {"tension": a, "diameter": b}}
            if (i, j) in fail:
                failed.append({**rec, "status": "failed", "error": "yield"})
            else:
                ok.append({**rec, "status": "ok", "metrics": {"stiffness": 10 + effect_a[i] + effect_b[j]}})
    return ok, failed


def test_sweep_effects_are_not_biased_by_failed_cases():
    from postprocess.sweep_report import level_means, sensitivity

    a, b = (0.0, 20.0, 40.0), (0.0, -30.0)  # the thick wire is 30 lower in this made-up number
    ok, failed = _grid_records(a, b, fail={(2, 0)})  # the thin wire fails at 130
    means = level_means(ok, failed, ["tension", "diameter"], "stiffness")
    # least-squares means recover the additive effects exactly: 130 is 40 above 50
    t = means["tension"]["means"]
    assert t[2] - t[0] == pytest.approx(40.0) and t[1] - t[0] == pytest.approx(20.0)
    assert means["tension"]["failed"] == [0, 0, 1] and means["tension"]["ok"] == [2, 2, 1]
    # a plain mean at 130 (only the thick wire left) would say 130 is 25 above 50
    plain_130 = np.mean([r["metrics"]["stiffness"] for r in ok if r["parameters"]["tension"] == 130])
    plain_50 = np.mean([r["metrics"]["stiffness"] for r in ok if r["parameters"]["tension"] == 50])
    assert plain_130 - plain_50 == pytest.approx(25.0)
    sens = {e["parameter"]: e for e in sensitivity(ok, ["tension", "diameter"], "stiffness", failed)}
    assert sens["tension"]["effect"] == pytest.approx(40.0) and sens["diameter"]["effect"] == pytest.approx(30.0)
    assert sens["tension"]["failed_per_level"] == [0, 0, 1]
    # on a complete grid the least-squares means are the plain means
    ok_all, _ = _grid_records(a, b, fail=set())
    full = level_means(ok_all, [], ["tension", "diameter"], "stiffness")
    for k, level in enumerate((50, 90, 130)):
        plain = np.mean([r["metrics"]["stiffness"] for r in ok_all if r["parameters"]["tension"] == level])
        assert full["tension"]["means"][k] == pytest.approx(plain)
    # a level with no successful case has no mean and is not the best
    ok2, failed2 = _grid_records(a, b, fail={(2, 0), (2, 1)})
    e = {x["parameter"]: x for x in sensitivity(ok2, ["tension", "diameter"], "stiffness", failed2)}["tension"]
    assert e["means"][2] is None and e["best_level"] == "90" and e["failed_per_level"][2] == 2


# ----------------------------------------------------------------------------- every picture, as written
class FigureLog:
    """Every matplotlib figure saved while active: its file and its text/scale problems,
    measured at the dpi it is written with."""

    def __init__(self):
        self.entries: list[tuple[Path, list[str]]] = []

    def names(self) -> set[str]:
        return {p.name for p, _ in self.entries}

    def problems(self) -> list[str]:
        return [f"{p.name}: {x}" for p, probs in self.entries for x in probs]


@pytest.fixture(scope="module")
def figures():
    from matplotlib.figure import Figure

    from postprocess.layout import scale_problems, text_problems

    log = FigureLog()
    original = Figure.savefig

    def checked(self, fname, *args, **kwargs):
        dpi = kwargs.get("dpi")
        if dpi not in (None, "figure"):
            self.set_dpi(dpi)
        log.entries.append((Path(str(fname)), text_problems(self) + scale_problems(self)))
        return original(self, fname, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "savefig", checked)
        yield log


def _cli(*args) -> int:
    from sim.cli import main

    return main([*args])


def _pictures(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.png"))


def _check_written(directory: Path, log: FigureLog, start: int) -> None:
    """Each PNG in the directory was drawn through a checked figure, without problems, and
    nothing runs off its edges."""
    from postprocess.layout import edge_ink_fraction

    entries = log.entries[start:]
    checked = {p.name for p, _ in entries}
    pictures = _pictures(directory)
    assert pictures, f"no pictures in {directory}"
    unmeasured = [p.name for p in pictures if p.name not in checked]
    assert not unmeasured, f"{unmeasured}: not drawn through a figure whose text can be measured"
    problems = [f"{p.name}: {x}" for p, probs in entries for x in probs]
    assert not problems, "\n".join(problems)
    for p in pictures:
        with Image.open(p) as im:
            rgb = np.asarray(im.convert("RGB"))
        assert edge_ink_fraction(rgb) < 0.0005, f"{p.name}: something runs off the edge of the picture"


def _scenario(tmp: Path, name: str, kgf: float) -> Path:
    text = f'name = "{name}"\n[loads]\n{QUICK_LOADS}'
    text += "".join(f"""
[[wires]]
name = "r{i}w{k}"
ring = "ring{i}"
angle_deg = {45 + 90 * (k - 1)}
face = "{'top' if k == 1 else 'bottom'}"
tension_kgf = {kgf}
""" for i in range(1, 5) for k in (1, 2))
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def reported_runs(tmp_path_factory, figures):
    tmp = tmp_path_factory.mktemp("pictures")
    runs = {}
    for name, kgf in (("frame-50kgf", 50.0), ("frame-130kgf", 130.0)):
        start = len(figures.entries)
        assert _cli("run", str(_scenario(tmp, name, kgf)), "--out", str(tmp / name), "--quiet") == 0
        assert _cli("report", str(tmp / name), "--quiet") == 0
        runs[name] = (tmp / name, start)
    return tmp, runs


@pytest.mark.slow
def test_run_and_report_pictures_fit_at_their_size(reported_runs, figures):
    _tmp, runs = reported_runs
    run, start = runs["frame-130kgf"]
    _check_written(run, figures, start)
    assert {"frame.png", "views.png", "gap.png", "teaching.png", "load_displacement.png", "ifm.png"} <= figures.names()
    frames = [p for p, _ in figures.entries[start:] if p.name.startswith("axial_step")]
    assert len(frames) >= 6  # the animation's frames were measured too
    with Image.open(run / "views.png") as im:
        assert im.size == (2200, 900)


@pytest.mark.slow
def test_views_colour_wire_tension_as_uniform_and_stress_over_yield(reported_runs):
    """The eight wires of the symmetric frame differ by a few newtons: the bar says uniform
    and spans at least 10 % of the tension; the stress bar is % of yield and not set by
    the wires (a scale of at most twice the frame parts' peak utilisation)."""
    from postprocess.render import Scene, scene_scales
    from postprocess.report import load_run
    from postprocess.scales import part_yields_MPa

    run, _ = reported_runs[1]["frame-130kgf"]
    results, states, scenario = load_run(run)
    scene = Scene(states.lines("axial"), states.parts, yields_MPa=part_yields_MPa(scenario, states.parts))
    wire, stress = scene_scales([scene], colour_by_stress=True)
    t = list(results["load_cases"]["axial"]["wire_tension_N"].values())
    assert max(t) - min(t) < 0.01 * np.median(t)
    assert "uniform" in wire.note and wire.span >= 0.099 * np.median(t)
    assert stress.label.startswith("von Mises stress / yield") and stress.lo == 0.0
    # rings and rods of "stainless_steel" are annealed: 190 MPa (docs/materials.md)
    peak_frame = max(results["load_cases"]["axial"]["max_von_mises_MPa"][g] / 190.0 * 100 for g in ("rings", "rods"))
    assert stress.hi <= max(20.0, 2 * peak_frame)  # the wires' 600+ MPa do not set it


@pytest.mark.slow
def test_gap_picture_shows_the_gap_open_then_closed(reported_runs):
    """gap.png: at true scale, a band of background between the two fragment ends while
    the gap is open (about as high as the gap), none once it has closed."""
    from postprocess.layout import MARGIN_PX
    from postprocess.report import gap_states, load_run

    run, _ = reported_runs[1]["frame-130kgf"]
    results, states, scenario = load_run(run)
    chosen = gap_states(results, states, scenario["gap"]["width_mm"])
    assert chosen[0][2] == pytest.approx(2.0) and "unloaded" in chosen[0][1]
    closes = results["load_cases"]["axial"].get("gap_closed_at_N")
    with Image.open(run / "gap.png") as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    panel_w = (rgb.shape[1] - 2 * MARGIN_PX) // len(chosen)

    def open_band(k):
        """Longest run of white rows between bone rows near the centre column of panel k."""
        x = MARGIN_PX + k * panel_w + panel_w // 2
        col = rgb[:, x - 20:x + 20]
        bone = np.all(col < 235, axis=-1).mean(axis=1) > 0.9
        rows = np.flatnonzero(bone)
        if len(rows) < 2:
            return 0
        gaps = np.diff(rows) - 1
        return int(gaps.max())

    assert open_band(0) > 15  # 2 mm at true scale is tens of pixels
    if closes is not None:
        assert "closed" in chosen[-1][1] and f"{closes:.1f} N" in chosen[-1][1]
        assert open_band(len(chosen) - 1) <= 2


@pytest.mark.slow
def test_compare_picture_has_a_legible_header_and_one_scale(reported_runs, figures, tmp_path):
    tmp, runs = reported_runs
    start = len(figures.entries)
    out = tmp_path / "cmp"
    assert _cli("compare", str(runs["frame-50kgf"][0]), str(runs["frame-130kgf"][0]), "--out", str(out)) == 0
    _check_written(out, figures, start)
    rows = (out / "comparison.csv").read_text().splitlines()
    shear = next(r for r in rows if r.startswith("shear IFM"))
    assert shear.endswith(",tie")


@pytest.mark.slow
def test_timeline_hexapod_and_sweep_pictures_fit(tmp_path, figures):
    start = len(figures.entries)
    scen = tmp_path / "short.toml"
    scen.write_text(SHORT_TIMELINE)
    assert _cli("timeline", str(scen), "--out", str(tmp_path / "tl"), "--quiet") == 0
    _check_written(tmp_path / "tl", figures, start)
    assert any(p.name.startswith("day") for p, _ in figures.entries[start:])  # the GIF's frames

    start = len(figures.entries)
    assert _cli("hexapod", str(ROOT / "scenarios" / "hexapod-correction.toml"), "--out", str(tmp_path / "hx"),
                "--quiet") == 0
    _check_written(tmp_path / "hx", figures, start)

    sweep = tmp_path / "s.toml"
    sweep.write_text(f'name = "s"\nbase = "{ROOT / "scenarios" / "sweeps" / "sweep-base.toml"}"\nmode = "grid"\n'
                     '[[parameters]]\npath = "wires[*].tension_kgf"\nvalues = [50, 130]\n'
                     '[[parameters]]\npath = "wires[*].diameter_mm"\nvalues = [1.5, 1.8]\n')
    assert _cli("sweep", str(sweep), "--out", str(tmp_path / "sw")) == 0
    start = len(figures.entries)
    assert _cli("report", str(tmp_path / "sw")) == 0
    _check_written(tmp_path / "sw", figures, start)
    page = (tmp_path / "sw" / "sweep_report.html").read_text()
    assert "least-squares means" in page and "130: 1" in page  # the failed 1.5 mm / 130 kgf case is counted


@pytest.mark.slow
def test_report_tolerates_numbers_the_run_could_not_give(reported_runs, tmp_path):
    """results.json may hold null where a quantity does not exist (gap_strain of an empty
    gap, a stiffness that could not be measured): the report says n/a and draws the rest."""
    import shutil

    from postprocess.report import write_report

    run = tmp_path / "nulls"
    shutil.copytree(reported_runs[1]["frame-50kgf"][0], run)
    res = json.loads((run / "results.json").read_text())
    a = res["load_cases"]["axial"]
    a["gap_strain"] = None
    a["ifm_shear_history_mm"] = [None] * len(a["ifm_shear_history_mm"])
    res["load_cases"]["bending_ap"]["stiffness_Nm_per_deg"] = None
    (run / "results.json").write_text(json.dumps(res))
    page = write_report(run).read_text()
    assert "n/a" in page and (run / "gap.png").is_file() and (run / "ifm.png").is_file()
