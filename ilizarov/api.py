"""The Python API: load a scenario, change it, run a model, read typed results.

Each function does what the command of the same name does (`ilizarov run`, `timeline`,
`hexapod`, `sweep`), in the calling process, and returns typed results instead of
printing them; with `out=` it also writes the same run directory as the command (all or
nothing, never over a user's own files: sim.outdir).

Errors: a scenario that does not hold raises `ScenarioError` (the message names the field,
the value and what is accepted, as `ilizarov validate` does); a solve that does not
converge raises `SolverError`; an output directory that cannot be used raises
`OutputDirError`. Under MPI every rank calls the same function (the results are on every
rank; files and states on rank 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import PrivateAttr

from ilizarov.results import HexapodSummary, RunResults, TimelineSummary

import sim.fenicsx  # noqa: F401  (FEniCSx import order: before dolfinx/petsc4py)
from sim.frame_model import SolverError
from sim.hexapod import KinematicsError
from sim.outdir import OutputDirError
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.sweep import SweepError

__all__ = ["load_scenario", "save_scenario", "run", "load_results", "load_timeline", "load_hexapod", "run_timeline", "run_hexapod",
           "run_sweep", "Results",
           "TimelineResults", "HexapodResults", "SweepResults", "Scenario", "ScenarioError", "SolverError",
           "OutputDirError", "KinematicsError", "SweepError"]

Progress = bool | Callable[[str], None]


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def save_scenario(scenario: Scenario, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write `scenario` as a scenario file (TOML: `Scenario.to_toml`, every value resolved)
    at `path`, e.g. after `Scenario.replace`, so that `ilizarov run` or a colleague can run it.

    The file is written whole or not at all (a temporary file beside it, then a rename).
    Returns the path written. Raises FileExistsError when `path` exists and `overwrite`
    is False, FileNotFoundError when its folder does not exist, and ValueError when `path`
    does not end in ".toml"."""
    import os
    import tempfile

    path = Path(path)
    if path.suffix != ".toml":
        raise ValueError(f"save_scenario: {str(path)!r} does not end in .toml; accepted: a path ending in .toml")
    if path.exists() and not overwrite:
        raise FileExistsError(f"save_scenario: {str(path)!r} exists; pass overwrite=True to replace it")
    if not path.absolute().parent.is_dir():
        raise FileNotFoundError(f"save_scenario: the folder {str(path.absolute().parent)!r} does not exist; accepted: "
                                "a path in an existing folder")
    text = scenario.to_toml()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _log(progress: Progress) -> Callable[[str], None] | None:
    if callable(progress):
        return progress
    return (lambda msg: print(msg, flush=True)) if progress else None


def _grid(states, name: str, parts: dict[int, tuple[str, str]] | None):
    from postprocess.paraview import state_grid

    return state_grid(states, name, parts)


class Results(RunResults):
    """The results of one run (`results.json`, typed: see ilizarov.results.RunResults) and,
    for the frame model, its solved states as PyVista meshes (`state_mesh(state)`)."""

    _states: Any = PrivateAttr(default=None)  # FrameRun.states or postprocess.states.SavedStates
    _parts: dict[int, tuple[str, str]] = PrivateAttr(default_factory=dict)
    _out: Path | None = PrivateAttr(default=None)

    @property
    def out(self) -> Path | None:
        """The run directory written (None if the run was not written)."""
        return self._out

    @property
    def state_names(self) -> list[str]:
        """The saved states: "pretension", each load case at full load ("axial", ...) and
        each of its load steps ("axial_step0", ...)."""
        if self._states is None:
            return []
        return list(self._states.names if hasattr(self._states, "names") else self._states)

    def state_mesh(self, state: str = "axial"):
        """The frame's line mesh in `state` as a `pyvista.UnstructuredGrid`: points in mm
        (undeformed), point data `displacement_mm` (3 components) and the other fields of
        the ParaView files, cell data `part_tag`, section forces and `von_mises_MPa`;
        `grid.warp_by_vector("displacement_mm", factor=...)` draws it deformed.

        Raises KeyError naming the saved states if `state` is not one of them, and
        ValueError for a continuum run (its fields are in the run directory's
        fields.xdmf, for ParaView or `pyvista.read`)."""
        if self.model != "frame":
            raise ValueError("a continuum run has no frame states: its fields are in the run directory's "
                             "fields.xdmf (ParaView, pyvista.read); state_mesh is for frame-model runs")
        if self._states is None:
            from mpi4py import MPI

            where = (f"this is MPI rank {MPI.COMM_WORLD.rank}: the states are kept on rank 0 only"
                     if MPI.COMM_WORLD.rank else "these results were read without their frame.npz")
            raise ValueError(f"no frame states here ({where}); accepted: state_mesh on rank 0 of a run, or "
                             "load_results on a run directory that holds frame.npz")
        if state not in self.state_names:
            raise KeyError(f"state {state!r}; accepted: {', '.join(self.state_names)}")
        return _grid(self._states, state, self._parts)


def _results(doc: dict[str, Any], states=None, parts=None, out=None) -> Results:
    r = Results.model_validate(doc)
    r._states, r._parts, r._out = states, parts or {}, None if out is None else Path(out)
    return r


def run(scenario: Scenario | str | Path, out: str | Path | None = None, *, model: str = "frame",
        progress: Progress = False, pictures: bool = True) -> Results:
    """Solve `scenario` (a Scenario, or the path of a scenario file) with the frame model
    (3D beams, seconds) or the continuum model (3D solids, minutes) under its load cases.

    out: a run directory to write as `ilizarov run --out` does (results.json, states,
    ParaView files, pictures); None writes nothing. progress: True prints the progress
    lines of the command line; a callable receives them. pictures: draw the PNG(s) when
    writing. Returns `Results` (typed results.json; `.state_mesh(state)` for the frame model).
    Raises ScenarioError, SolverError (sim.frame_model), OutputDirError (sim.outdir).
    """
    s = _scenario(scenario)
    log = _log(progress)
    if model == "frame":
        from sim.run import solve_frame, write_run

        fr = solve_frame(s, log=log, keep_states=True)
        if out is not None:
            write_run(out, s, fr, picture=pictures)
        parts = {p.tag: (p.name, p.kind.name) for p in fr.model.frame.parts}
        return _results(fr.results, fr.states, parts, out)
    if model == "continuum":
        from sim.continuum_run import continuum_writer, solve_continuum
        from sim.continuum_run import check_petsc_options

        check_petsc_options(s.continuum)
        cr = solve_continuum(s, log=log)
        if out is not None:
            from sim.outdir import OutputDir

            with OutputDir(out, "run").claim() as od:
                continuum_writer(od, s, cr, picture=pictures, log=log)
        return _results(cr.results, out=out)
    raise ValueError(f"model {model!r}; accepted: 'frame' or 'continuum'")


def load_results(run_dir: str | Path) -> Results:
    """The results of a run directory written earlier (results.json, and frame.npz's
    states if present). Raises FileNotFoundError if `run_dir` has no results.json and
    pydantic.ValidationError if it does not hold the results contract."""
    run_dir = Path(run_dir)
    if not (run_dir / "results.json").is_file():
        others = [f for f in ("timeline.json", "hexapod.json", "summary.csv") if (run_dir / f).is_file()]
        loader = {"timeline.json": "load_timeline", "hexapod.json": "load_hexapod",
                  "summary.csv": "pyarrow.parquet.read_table on its summary.parquet"}
        raise FileNotFoundError(f"{run_dir}: no results.json, so not a run directory of `ilizarov run`"
                                + (f" (it holds {others[0]}: read it with {loader[others[0]]})" if others else ""))
    doc = json.loads((run_dir / "results.json").read_text())
    states, parts = None, {}
    npz = run_dir / doc.get("states_file", "frame.npz")
    if doc.get("model") == "frame" and npz.is_file():
        from postprocess.states import SavedStates

        states = SavedStates(npz)
        parts = states.parts
    return _results(doc, states, parts, run_dir)


@dataclass
class TimelineResults:
    """A treatment followed day by day (`ilizarov timeline`).

    summary: timeline.json, typed (ilizarov.results.TimelineSummary). days: one row per
    day (the columns of timeline.csv: day, phase, lengthening and its deficit in mm,
    distraction force in N, each wire's tension in N, the weight-bearing check's gap
    strain and load shares). steps: one row per distraction step (steps.csv)."""

    summary: TimelineSummary
    days: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    out: Path | None = None
    _snapshots: dict[int, dict] = field(default_factory=dict, repr=False)
    _parts: dict[int, tuple[str, str]] = field(default_factory=dict, repr=False)
    _series: Path | None = field(default=None, repr=False)  # paraview/days.pvd of a loaded directory

    def column(self, name: str) -> list[Any]:
        """One column of `days` (e.g. "distraction_force_N"); KeyError names the columns."""
        if not self.days or name not in self.days[0]:
            raise KeyError(f"column {name!r}; accepted: {', '.join(self.days[0]) if self.days else 'none (no days)'}")
        return [row[name] for row in self.days]

    def state_mesh(self, day: int):
        """The frame on `day` (the state after that day's distraction) as a PyVista mesh, as
        Results.state_mesh; KeyError names the days kept (run with snapshots, the default)."""
        if day in self._snapshots:
            return _grid({day: self._snapshots[day]}, day, self._parts)
        if self._series is not None:
            import pyvista as pv

            reader = pv.get_reader(str(self._series))
            days = [int(round(t)) for t in reader.time_values]
            if day in days:
                reader.set_active_time_value(reader.time_values[days.index(day)])
                return reader.read()[0]
            raise KeyError(f"day {day}; accepted: {', '.join(map(str, days)) or 'none kept'} (the days in "
                           f"{self._series})")
        raise KeyError(f"day {day}; accepted: {', '.join(map(str, self._snapshots)) or 'none kept'}")


def run_timeline(scenario: Scenario | str | Path, out: str | Path | None = None, *, progress: Progress = False,
                 pictures: bool = True) -> TimelineResults:
    """Follow the treatment of `scenario` (its [distraction] table) day by day: latency,
    distraction, consolidation, frame removal. Writes `out` as `ilizarov timeline` does.
    Raises ScenarioError (no [distraction] table, or a bad one), SolverError, OutputDirError."""
    from sim.timeline import run_timeline as _run, write_timeline

    s = _scenario(scenario)
    if s.distraction is None:
        raise ScenarioError("distraction", "the scenario has no [distraction] table, so there is no treatment to "
                            "follow; accepted: a scenario with a [distraction] table (see "
                            "scenarios/distraction-4cm.toml)")
    res = _run(s, log=_log(progress), snapshots=True)
    if out is not None:
        write_timeline(out, s, res, pictures=pictures)
    return TimelineResults(TimelineSummary.model_validate(res.summary), res.rows, res.step_rows,
                           None if out is None else Path(out), res.snapshots, res.parts)


def _read_csv(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV the commands wrote, numbers as int or float, True/False as bools,
    empty cells as None, anything else as text."""
    import csv

    def typed(text: str) -> Any:
        if text == "":
            return None
        if text in ("True", "False"):
            return text == "True"
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return [{k: typed(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _command_dir(out: str | Path, document: str, command: str) -> tuple[Path, dict]:
    out = Path(out)
    if not (out / document).is_file():
        found = [f for f in ("results.json", "timeline.json", "hexapod.json") if (out / f).is_file()]
        raise FileNotFoundError(f"{out}: no {document}, so not an output directory of `ilizarov {command}`"
                                + (f" (it holds {found[0]})" if found else ""))
    return out, json.loads((out / document).read_text())


def load_timeline(out: str | Path) -> TimelineResults:
    """A treatment followed earlier (`ilizarov timeline --out DIR`, or run_timeline with
    out=): timeline.json typed, timeline.csv's days and steps.csv's steps as rows (numbers
    as numbers), and `state_mesh(day)` from the days ParaView series (paraview/days.pvd)
    if it was written. Raises FileNotFoundError if `out` has no timeline.json and
    pydantic.ValidationError if the file does not hold the timeline contract."""
    out, doc = _command_dir(out, "timeline.json", "timeline")
    series = (doc.get("paraview") or {}).get("days")
    return TimelineResults(TimelineSummary.model_validate(doc), _read_csv(out / "timeline.csv"),
                           _read_csv(out / "steps.csv"), out,
                           _series=out / series if series and (out / series).is_file() else None)


@dataclass
class HexapodResults:
    """A hexapod correction planned (`ilizarov hexapod`).

    summary: hexapod.json, typed (ilizarov.results.HexapodSummary). schedule: one row
    per day with each strut's length in mm and size (the columns of schedule.csv).
    stiffness: the frame's stiffness at the start, middle and end of the correction and the
    classic frame's (rows of stiffness.csv; empty without mechanics)."""

    summary: HexapodSummary
    schedule: list[dict[str, Any]]
    stiffness: list[dict[str, Any]]
    out: Path | None = None


def load_hexapod(out: str | Path) -> HexapodResults:
    """A hexapod correction planned earlier (`ilizarov hexapod --out DIR`, or run_hexapod
    with out=): hexapod.json typed, schedule.csv and stiffness.csv as rows (numbers as
    numbers; stiffness empty if planned without mechanics). Raises FileNotFoundError if
    `out` has no hexapod.json and pydantic.ValidationError if the file does not hold the
    hexapod contract."""
    out, doc = _command_dir(out, "hexapod.json", "hexapod")
    return HexapodResults(HexapodSummary.model_validate(doc), _read_csv(out / "schedule.csv"),
                          _read_csv(out / "stiffness.csv"), out)


def run_hexapod(scenario: Scenario | str | Path, out: str | Path | None = None, *, mechanics: bool = True,
                progress: Progress = False, pictures: bool = True) -> HexapodResults:
    """Plan the correction of a hexapod scenario (its [hexapod] table): the daily strut
    lengths and swaps, and (mechanics) the frame model's stiffness along the way. Writes
    `out` as `ilizarov hexapod` does. Raises ScenarioError (no [hexapod] table),
    sim.hexapod.KinematicsError (a pose the struts cannot reach), SolverError, OutputDirError."""
    from sim.correction import run_hexapod as _run, write_hexapod

    s = _scenario(scenario)
    if s.hexapod is None:
        raise ScenarioError("hexapod", "the scenario has no [hexapod] table; accepted: a scenario with a [hexapod] "
                            "table (see scenarios/hexapod-correction.toml)")
    res = _run(s, log=_log(progress), mechanics=mechanics, pictures=pictures and out is not None)
    if out is not None:
        write_hexapod(out, s, res, pictures=pictures)
    return HexapodResults(HexapodSummary.model_validate(res.summary), res.rows, res.stiffness_rows,
                          None if out is None else Path(out))


@dataclass
class SweepResults:
    """A design sweep (`ilizarov sweep`): `table` is summary.parquet as a pyarrow Table
    (one row per case: its parameters, status and flat metrics with units in the column
    names); `rows` the same as dictionaries; `out` the sweep's directory."""

    table: Any
    out: Path
    counts: dict[str, Any]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()


def run_sweep(sweep: str | Path, out: str | Path, *, progress: Progress = False, yes: bool = False) -> SweepResults:
    """Run every case of the sweep file `sweep` not yet recorded in `out` (resumable, as
    `ilizarov sweep`), then read its summary. yes: run even if the estimate is beyond the
    time budget. Raises sim.sweep.SweepError naming the bad field or option."""
    import pyarrow.parquet as pq

    from sim.sweep import load_sweep, run_sweep as _run

    sw = load_sweep(sweep, yes=yes)
    counts = _run(sw, Path(out), log=_log(progress))
    folder = Path(counts.get("out", out))
    return SweepResults(pq.read_table(folder / "summary.parquet"), folder, counts)
