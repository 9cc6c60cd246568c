"""The Python API (issue 18): typed results, the README's notebook example, the shipped
results.json schema, the examples as jupytext scripts, the API page."""

import json
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

import ilizarov
from ilizarov.results import RESULTS_VERSION, RunResults
from sim.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "results.schema.json"


def readme_python_blocks() -> list[str]:
    """The README's fenced ```python blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S | re.M)


@pytest.fixture(scope="module")
def frame_only():
    return ilizarov.run(ROOT / "scenarios" / "frame-only.toml")


def test_results_version_is_the_writers():
    from postprocess.metrics import RESULTS_VERSION as written

    assert RESULTS_VERSION == written


def test_the_readme_notebook_example_runs(tmp_path, monkeypatch):
    """Every ```python block of the README runs as typed, from the checkout's root."""
    blocks = readme_python_blocks()
    assert blocks, "README.md has no ```python block"
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block.replace("out/", f"{tmp_path}/"), "README.md", "exec"), namespace)
    r = namespace["r"]
    assert isinstance(r, ilizarov.Results)
    assert r.axial.initial_stiffness_N_per_mm > 0


def test_results_are_typed_and_equal_the_written_file(tmp_path):
    out = tmp_path / "run"
    r = ilizarov.run(ROOT / "scenarios" / "standard-4ring.toml", out=out, pictures=False)
    doc = json.loads((out / "results.json").read_text())
    assert r.axial.initial_stiffness_N_per_mm == doc["load_cases"]["axial"]["initial_stiffness_N_per_mm"]
    assert r.torsion.stiffness_Nm_per_deg == doc["load_cases"]["torsion"]["stiffness_Nm_per_deg"]
    assert r.critical_parts["wires"].part == doc["critical_parts"]["wires"]["part"]
    assert r.wire_tensions_N() == {w["name"]: w["achieved_N"] for w in doc["pretension"]["wires"]}
    assert r.out == out
    assert r.mesh.cells == doc["mesh"]["cells"] and r.mesh.dofs == doc["mesh"]["dofs"]
    # read back from the directory: the same numbers and the same states
    back = ilizarov.load_results(out)
    assert back.axial.displacement_mm == r.axial.displacement_mm
    assert back.state_names == r.state_names
    assert "axial" in back.state_names and "pretension" in back.state_names
    # frozen: results are a record of a run, not a place to write
    with pytest.raises(Exception):
        r.axial.secant_stiffness_N_per_mm = 1.0


def test_a_state_is_a_pyvista_mesh_with_the_solvers_displacement(frame_only):
    import pyvista as pv

    grid = frame_only.state_mesh("axial")
    assert isinstance(grid, pv.UnstructuredGrid)
    u = np.asarray(grid.point_data["displacement_mm"])
    assert np.array_equal(u, frame_only._states["axial"]["displacement_mm"])
    # every step of the case is there, the last one the case's end (tests/test_paraview.py checks
    # these states against results.json's displacements)
    steps = [n for n in frame_only.state_names if n.startswith("axial_step")]
    assert len(steps) == len(frame_only.axial.load_N)
    assert np.array_equal(np.asarray(frame_only.state_mesh(steps[-1]).point_data["displacement_mm"]), u)
    with pytest.raises(KeyError, match="accepted: pretension"):
        frame_only.state_mesh("axial_step99")


def test_bad_input_raises_with_the_field_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "scenarios" / "two-ring.toml").read_text() + "\n[mesh]\nelement_size_mm = -3\n")
    with pytest.raises(ScenarioError, match="element_size_mm"):
        ilizarov.run(bad)
    with pytest.raises(ValueError, match="model 'fem'; accepted: 'frame' or 'continuum'"):
        ilizarov.run(ROOT / "scenarios" / "two-ring.toml", model="fem")
    with pytest.raises(ScenarioError, match=r"distraction: the scenario has no \[distraction\] table"):
        ilizarov.run_timeline(ROOT / "scenarios" / "two-ring.toml")
    with pytest.raises(ScenarioError, match=r"hexapod: the scenario has no \[hexapod\] table"):
        ilizarov.run_hexapod(ROOT / "scenarios" / "two-ring.toml")
    assert not list(tmp_path.glob("*/"))  # nothing written


def test_hexapod_plan_is_typed(tmp_path):
    h = ilizarov.run_hexapod(ROOT / "scenarios" / "hexapod-correction.toml", tmp_path / "hx", mechanics=False,
                             pictures=False)
    assert len(h.summary.strut_lengths_start_mm) == 6
    assert h.summary.deformity_angle_deg > 0
    assert len(h.schedule) >= 2
    assert h.stiffness == []
    back = ilizarov.load_hexapod(tmp_path / "hx")  # read back from disk: the same plan
    assert back.summary == h.summary and back.stiffness == []
    assert len(back.schedule) == len(h.schedule)
    key = next(k for k, v in h.schedule[0].items() if isinstance(v, float))
    assert [r[key] for r in back.schedule] == pytest.approx([r[key] for r in h.schedule], rel=1e-5, abs=1e-6)


def test_results_schema_is_shipped_fresh_and_holds_for_the_runs(frame_only):
    import jsonschema

    from ilizarov.schema import schema_text

    assert SCHEMA.read_text() == schema_text(), "schemas/results.schema.json is stale: python -m ilizarov.schema"
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = json.loads(frame_only.model_dump_json())
    jsonschema.validate(doc, schema)
    broken = {**doc, "load_cases": {**doc["load_cases"], "axial": {**doc["load_cases"]["axial"]}}}
    broken["load_cases"]["axial"]["secant_stiffness_N_per_mm"] = "stiff"
    with pytest.raises(jsonschema.ValidationError, match="secant_stiffness_N_per_mm|'stiff'"):
        jsonschema.validate(broken, schema)
    with pytest.raises(jsonschema.ValidationError, match="'model' is a required property"):
        jsonschema.validate({k: v for k, v in doc.items() if k != "model"}, schema)


EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_examples_open_as_notebooks():
    import jupytext

    assert len(EXAMPLES) >= 3
    for path in EXAMPLES:
        nb = jupytext.read(path)
        kinds = [c.cell_type for c in nb.cells]
        assert kinds.count("markdown") >= 3 and kinds.count("code") >= 3, path.name


def run_example(name: str, tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("ILIZAROV_EXAMPLE_OUT", str(tmp_path))
    monkeypatch.delenv("ILIZAROV_UPDATE_DOCS", raising=False)
    return runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")


def _docs_table(path: Path) -> dict[str, list[float]]:
    rows = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\| (\d+) kgf \| (.*) \|$", line)
        if m:
            rows[int(m.group(1))] = [float(x) for x in m.group(2).split(" | ")]
    return rows


@pytest.mark.slow
def test_teaching_example_reproduces_its_page(tmp_path, monkeypatch):
    """The teaching demo's numbers rise with tension and equal the table of its docs page."""
    g = run_example("teaching_pretension.py", tmp_path, monkeypatch)
    k = [g["initial_N_per_mm"][t] for t in (0, 50, 90, 130)]
    assert all(b > 1.2 * a for a, b in zip(k, k[1:]))
    ifm = [g["ifm_mm"][t] for t in (0, 50, 90, 130)]
    assert all(b < 0.9 * a for a, b in zip(ifm, ifm[1:]))
    page = _docs_table(ROOT / "docs" / "teaching" / "pretension.md")
    assert page == _docs_table(tmp_path / "table.md"), "docs/teaching/pretension.md's table is stale: make teaching-docs"
    assert (tmp_path / "pretension_curves.png").stat().st_size > 20_000
    assert (tmp_path / "compare" / "comparison.png").is_file()


def test_api_page_is_generated_from_the_docstrings(tmp_path):
    """pdoc renders the public API; every public function and result type has a docstring
    with units or errors."""
    import pdoc

    for name in ilizarov.__all__:
        obj = getattr(ilizarov, name)
        if callable(obj) and name not in ("Scenario", "ScenarioError"):
            assert obj.__doc__ and len(obj.__doc__) > 60, name
    pdoc.pdoc("ilizarov", "ilizarov.results", output_directory=tmp_path)  # as make api-docs
    html = (tmp_path / "ilizarov.html").read_text()
    assert "run_timeline" in html and "initial_stiffness_N_per_mm" in (tmp_path / "ilizarov" / "results.html").read_text()


@pytest.mark.slow
def test_hexapod_example_corrects_the_deformity(tmp_path, monkeypatch):
    g = run_example("hexapod_correction.py", tmp_path, monkeypatch)
    assert g["residual_deg"] < 1e-6 and g["residual_mm"] < 1e-6
    assert g["plan"].summary.largest_daily_motion_at_risk_mm <= 1.0 + 1e-9  # the scenario's rate at risk
    assert g["torsion_ratio"] > 1.0  # six inclined struts resist torsion better than four parallel rods
    assert (tmp_path / "strut_lengths_example.png").stat().st_size > 10_000
    assert (tmp_path / "hexapod" / "schedule.csv").is_file()  # the same directory as `ilizarov hexapod`
    run_example("hexapod_correction.py", tmp_path, monkeypatch)  # and again: a re-run replaces its outputs


@pytest.mark.slow
def test_wires_or_half_pins_example(tmp_path, monkeypatch):
    """The hybrid is stiffer than the wire frame in every measure, and its advantage shrinks
    once the interfaces give way (the idealisation flatters bonded pins: issue 15)."""
    g = run_example("wires_or_half_pins.py", tmp_path, monkeypatch)
    ideal, bench = g["advantage"]["idealised"], g["advantage"]["bench interfaces"]
    for m in ("axial", "bending AP", "torsion"):
        assert ideal[m] > 1.05 and bench[m] > 1.0, m
    assert bench["axial"] < ideal["axial"] - 0.1
    assert (tmp_path / "hybrid_advantage.png").stat().st_size > 10_000
    assert (tmp_path / "hybrid_axial.png").stat().st_size > 20_000


@pytest.mark.slow
def test_timeline_through_the_api(tmp_path):
    """A short lengthening (the shipped protocol, shortened with Scenario.replace): typed
    summary, daily rows, a day's mesh, and the run directory of `ilizarov timeline`."""
    s = ilizarov.load_scenario(ROOT / "scenarios" / "distraction-4cm.toml").replace(
        {"distraction.lengthening_mm": 2, "distraction.latency_days": 1, "distraction.consolidation_max_days": 2})
    t = ilizarov.run_timeline(s, out=tmp_path / "tl", pictures=False)
    assert t.summary.treatment == "lengthening" and t.summary.days == len(t.days) - 1
    assert t.summary.achieved_lengthening_mm == pytest.approx(t.column("achieved_lengthening_mm")[-1])
    assert 1.0 < t.summary.achieved_lengthening_mm <= 2.0 + 1e-9
    assert max(t.column("distraction_force_N")) > 0
    grid = t.state_mesh(t.days[-1]["day"])
    assert grid.n_cells > 100 and "displacement_mm" in grid.point_data
    with pytest.raises(KeyError, match="column 'force'; accepted: day"):
        t.column("force")
    assert (tmp_path / "tl" / "timeline.csv").is_file() and (tmp_path / "tl" / "paraview" / "days.pvd").is_file()
    # read back from disk: the same summary, the same rows (numbers as numbers), a day's mesh from the series
    back = ilizarov.load_timeline(tmp_path / "tl")
    assert back.summary == t.summary
    assert back.column("achieved_lengthening_mm") == pytest.approx(t.column("achieved_lengthening_mm"), rel=1e-5, abs=1e-6)
    assert [r["day"] for r in back.days] == [r["day"] for r in t.days] and isinstance(back.days[0]["day"], int)
    day = t.days[-1]["day"]
    np.testing.assert_allclose(back.state_mesh(day).point_data["displacement_mm"],
                               grid.point_data["displacement_mm"], atol=1e-9)
    with pytest.raises(KeyError, match="day 999; accepted: 0"):
        back.state_mesh(999)
    with pytest.raises(FileNotFoundError, match="no results.json.*load_timeline"):
        ilizarov.load_results(tmp_path / "tl")
    with pytest.raises(FileNotFoundError, match="no hexapod.json.*it holds timeline.json"):
        ilizarov.load_hexapod(tmp_path / "tl")


@pytest.mark.slow
def test_sweep_through_the_api(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'name = "api"\nbase = "{ROOT / "scenarios" / "sweeps" / "sweep-base.toml"}"\n'
                     '[[parameters]]\npath = "wires[*].tension_kgf"\nvalues = [50, 130]\n')
    sw = ilizarov.run_sweep(sweep, tmp_path / "out")
    rows = sw.rows
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows)
    by_kgf = {r["param:wires[*].tension_kgf"]: r for r in rows}
    assert set(by_kgf) == {50, 130}
    # more tension, a stiffer frame (the teaching demo's trend, through the sweep's columns)
    assert by_kgf[130]["axial_initial_N_per_mm"] > 1.5 * by_kgf[50]["axial_initial_N_per_mm"]
    assert sw.table.num_rows == 2 and (tmp_path / "out" / "summary.csv").is_file()


def test_a_script_piped_into_head_gets_pythons_broken_pipe_not_petscs_abort():
    """PETSc's SIGPIPE handler printed "Caught signal number 13 Broken Pipe" and called
    MPI_Abort when a script using the API was piped into `head`; the interpreter's own
    behaviour (BrokenPipeError, which a script can catch) is restored after PETSc starts."""
    import subprocess
    import sys

    script = ("import sim.fenicsx\nimport sys\ntry:\n    for i in range(10 ** 6):\n        print('line', i)\n"
              "except BrokenPipeError:\n    sys.stderr.write('caught BrokenPipeError\\n'); sys.stdout = None\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout.readline().startswith(b"line 0")
    proc.stdout.close()  # what `head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "PETSC ERROR" not in err and "MPI_Abort" not in err, err
    assert "caught BrokenPipeError" in err


def test_help_on_a_result_model_lists_its_fields_with_their_units():
    import pydoc

    from ilizarov.results import AxialCase, Event

    text = pydoc.render_doc(AxialCase, renderer=pydoc.plaintext)
    assert "secant_stiffness_N_per_mm (float | None): full load over full displacement (N/mm)" in text
    assert "step (int): the index of the event's own step" in pydoc.render_doc(Event, renderer=pydoc.plaintext)


def test_replace_names_a_part_by_its_name():
    """`[name]` in a replace path: the part of that name (a file that extends another need not
    count its parts); an unknown name lists the parts."""
    s = ilizarov.load_scenario(ROOT / "scenarios" / "tibial-plateau-hybrid.toml")
    t = s.replace({"wires[plateau_drop].post_height_mm": -25})
    drop = next(w for w in t.wires if w.name == "plateau_drop")
    assert drop.post_height_mm == -25
    assert [w.post_height_mm for w in t.wires if w.name != "plateau_drop"] == \
        [w.post_height_mm for w in s.wires if w.name != "plateau_drop"]
    with pytest.raises(ScenarioError, match=r"wires has no part named 'plateau_dorp'; accepted: 'plateau_inclined'"):
        s.replace({"wires[plateau_dorp].post_height_mm": -25})


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "scenarios").glob("*.toml")))
def test_a_saved_scenario_reads_back_equal(name, tmp_path):
    """save_scenario writes every shipped scenario (extends, patterns, surfaces, hexapods,
    timelines) as a file that reads back to an equal Scenario, from another directory."""
    s = ilizarov.load_scenario(ROOT / "scenarios" / name)
    out = ilizarov.save_scenario(s, tmp_path / "saved.toml")
    assert ilizarov.load_scenario(out) == s
    assert "extends" not in out.read_text()


def test_save_scenario_keeps_a_changed_value_and_refuses_to_overwrite(tmp_path):
    s = ilizarov.load_scenario(ROOT / "scenarios" / "standard-4ring.toml").replace({"wires[*].tension_kgf": 130})
    path = ilizarov.save_scenario(s, tmp_path / "t130.toml")
    back = ilizarov.load_scenario(path)
    assert [w.tension_N for w in back.wires] == pytest.approx([130 * 9.80665] * len(s.wires))
    before = path.read_text()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ilizarov.save_scenario(s.replace(name="other"), path)
    assert path.read_text() == before  # nothing written over it
    ilizarov.save_scenario(s.replace(name="other"), path, overwrite=True)
    assert ilizarov.load_scenario(path).name == "other"
    with pytest.raises(ValueError, match=r"\.toml"):
        ilizarov.save_scenario(s, tmp_path / "t130.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ilizarov.save_scenario(s, tmp_path / "no-such-folder" / "t.toml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t130.toml"]  # no temporary file left
