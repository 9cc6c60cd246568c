"""The `ilizarov` command line.

    ilizarov validate SCENARIO.toml
    ilizarov run SCENARIO.toml --out DIR [--model frame|continuum] [--no-picture] [--yes]
    ilizarov timeline SCENARIO.toml --out DIR [--no-pictures] [--yes]
    ilizarov hexapod SCENARIO.toml --out DIR [--no-mechanics] [--no-pictures] [--yes]
    ilizarov report RUN_DIR | SWEEP_DIR
    ilizarov sweep SWEEP.toml --out DIR [--ranks-per-case K] [--yes] [--shard I/N]
    ilizarov compare RUN_DIR RUN_DIR ... --out DIR
    ilizarov validation-suite --out DIR [--only PATTERN] [--models bench,idealised]
    ilizarov examples [--out DIR]
    ilizarov --version

Bad input (a malformed or invalid scenario, an --out that cannot be used) prints one
clear line and exits with status 2, writing nothing; the --out is checked before any
solving. An --out is only ever replaced if it is an earlier output of the same command
that holds nothing else (sim.outdir). Exit statuses: 0 done, 2 bad input, 3 a solver that
did not converge, 130 Ctrl-C, 143 SIGTERM (both leave the previous output or nothing),
1 an unexpected error (one line; ILIZAROV_TRACEBACK=1 shows the traceback). A run whose
estimated size (sim.estimate) will not fit this machine's memory is refused (exit 2), and
one that would take longer than the time budget needs --yes.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_SOLVER_FAILED = 3


def _rank0() -> bool:
    from mpi4py import MPI

    return MPI.COMM_WORLD.rank == 0


def _error(msg: str, code: int = EXIT_BAD_INPUT) -> int:
    if _rank0():
        print(f"ilizarov: error: {msg}", file=sys.stderr, flush=True)
    return code


def _note(od) -> None:
    """Say where the output went if it could not replace --out (sim.outdir)."""
    if od is not None and od.note and _rank0():
        print(f"ilizarov: note: {od.note}", file=sys.stderr, flush=True)


class _BadInput(Exception):
    """Carries the exit status of a refused input up to the command."""

    def __init__(self, code: int):
        self.code = code


def _load(path: str, notes: list[str] | None = None):
    """The scenario; _BadInput (exit 2, message printed) if it is refused. `notes` collects
    what validation has to say about an accepted file (defaults replaced, ...)."""
    from sim.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path, notes=notes)
    except ScenarioError as exc:
        if _looks_like_sweep(path):
            raise _BadInput(_error(f"{path}: a sweep file (it has base and [[parameters]]), not a scenario; run it "
                                   f"with `ilizarov sweep {path} --out DIR`")) from None
        raise _BadInput(_error(_at_path(path, exc) + _shipped_hint(path))) from None
    except OSError as exc:
        raise _BadInput(_error(f"{path}: cannot be read ({exc.strerror or exc}){_shipped_hint(path)}")) from None


def _shipped_hint(path) -> str:
    """For a scenario file that does not exist but has the name of a shipped one (a README
    command typed outside a checkout): where the installed copy is."""
    from sim.shipped import ShippedFilesMissing, shipped_dir, shipped_files

    if Path(path).exists():
        return ""
    try:
        root = shipped_dir("scenarios")
        same = [root / f for f in shipped_files("scenarios") if f.name == Path(path).name]
    except ShippedFilesMissing:
        return ""
    if not same:
        return ""
    return (f"; a shipped scenario of that name is {same[0]} (`ilizarov examples --out DIR` copies the shipped "
            "scenarios into DIR/scenarios)")


def _at_path(path, exc) -> str:
    """'PATH: message' of a refused file, the path once (the file-level refusals of
    load_scenario, no such file or not valid TOML, name it already)."""
    from pathlib import Path

    text = str(exc)
    return text if text.startswith(f"{Path(path)}: ") else f"{path}: {text}"


def _looks_like_sweep(path) -> bool:
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return "base" in data and "parameters" in data


def _claim_out(args, command: str):
    """Check and lock the output directory before any solving (sim.outdir); _BadInput
    (exit 2, message printed) if it cannot be used."""
    from sim.outdir import OutputDir, OutputDirError

    try:
        return OutputDir(args.out, command).claim()
    except OutputDirError as exc:
        raise _BadInput(_error(str(exc))) from None


def _check_size(s, command: str, args, **options) -> int | None:
    """Estimate the command's size before it starts (sim.estimate); the exit status if it
    is refused (it will not fit this machine's memory, or it would take longer than the
    time budget without --yes), else None. Decided on rank 0 for every rank."""
    from mpi4py import MPI

    from sim.estimate import SizeError, check_fits, estimate_command

    comm = MPI.COMM_WORLD
    message, summary = None, None
    if comm.rank == 0:
        try:
            estimate = estimate_command(s, command, ranks=comm.size, **options)
            if estimate is not None:
                summary = estimate.summary()
                check_fits(estimate, yes=getattr(args, "yes", False))
        except SizeError as exc:
            message = str(exc)
    message, summary = comm.bcast((message, summary), root=0)
    if message is not None:
        return _error(f"{args.scenario}: {message}")
    args.estimate = summary  # printed once the --out is claimed (`_log_estimate`)
    return None


def _log_estimate(args) -> None:
    log = _progress_log(args)
    if log and _rank0() and getattr(args, "estimate", None):
        log(f"estimate: {args.estimate}")


def _estimates(s) -> list[str]:
    """The size estimates of the commands that can run this scenario (sim.estimate)."""
    from sim.estimate import (continuum_buildable, estimate_continuum_run, estimate_frame_run, estimate_hexapod,
                              estimate_timeline)

    out = [estimate_frame_run(s).summary()]
    if continuum_buildable(s):
        out.append(estimate_continuum_run(s).summary())
    if s.distraction is not None:
        out.append(estimate_timeline(s).summary())
    if s.hexapod is not None:
        out.append(estimate_hexapod(s).summary())
    return out


def _progress_log(args):
    """The progress printer of a long command (None with --quiet)."""
    return (lambda m: print(f"[ilizarov] {m}", flush=True)) if not args.quiet else None


def cmd_validate(args) -> int:
    if _looks_like_sweep(args.scenario):
        return _validate_sweep(args.scenario)
    notes: list[str] = []
    try:
        s = _load(args.scenario, notes)
        if s.continuum is not None and s.continuum.petsc_options:
            _check_petsc(args.scenario, s)
    except _BadInput as bad:
        return bad.code
    print(f"{args.scenario}: valid scenario '{s.name}' ({s.loads.setup}): {len(s.rings)} rings, {len(s.wires)} wires, "
          f"{len(s.rods)} rods, {len(s.half_pins)} half pins; load cases: {', '.join(s.loads.cases)}")
    for note in notes:
        print(f"  {note}")
    for r in s.rings:
        if r.kind == "foot_plate":
            print(f"  ring {r.name!r} is a foot plate: a semicircle round the heel and two straight arms of "
                  f"{r.arm_length_mm:g} mm pointing to {r.opening_deg:g} deg, {r.inner_diameter_mm:g} mm apart inside; "
                  "open between the arms' tips")
        elif r.is_open:
            print(f"  ring {r.name!r} is open (kind = {r.kind!r}): an arc of {r.arc_deg:g} deg, counter-clockwise from "
                  f"{r.arc_start_deg:g} to {(r.arc_start_deg + r.arc_deg) % 360.0:g} deg; its opening faces "
                  f"{r.opening_deg:g} deg")
    if s.has_bone:
        from sim.bones import describe_bone

        print(f"  bone: {describe_bone(s)}")
        if s.bone_breaks() and s.gap.obliquity_deg:
            g = s.gap
            print(f"  gap: an oblique fracture, its plane at {g.obliquity_deg:g} deg to the transverse plane, "
                  f"descending towards {g.obliquity_axis_deg:g} deg; it spans z = "
                  f"{g.level_mm - g.axial_reach_mm(s.bone_radii_mm(g.level_mm)[0]):.1f} to "
                  f"{g.level_mm + g.axial_reach_mm(s.bone_radii_mm(g.level_mm)[0]):.1f} mm across the bone")
        if s.bone_breaks() and s.gap.butterfly is not None:
            b = s.gap.butterfly
            print(f"  gap: a free butterfly fragment, {b.arc_deg:g} deg of cortex about {b.side_deg:g} deg, from z = "
                  f"{s.gap.level_mm - b.length_mm / 2:g} to {s.gap.level_mm + b.length_mm / 2:g} mm; the main "
                  "fragments touch outside its arc only")
        if s.bone_breaks() and s.gap.friction_coefficient:
            print(f"  gap: Coulomb friction {s.gap.friction_coefficient:g} between the fragment ends once they touch "
                  f"(they slide only where the plane is steeper than "
                  f"{math.degrees(math.atan(s.gap.friction_coefficient)):.1f} deg; frame model)")
        print("  every piece of bone is held in all six directions by its wires and pins")
    print(f"  models: {_models(s)}")
    for line in _estimates(s):
        print(f"  estimate of {line}")
    return 0


def _models(s) -> str:
    """Which models run a valid scenario: the frame model always; the continuum model unless
    its builder does not build the scenario (meshes.continuum.continuum_refusal)."""
    from meshes.continuum import continuum_refusal

    refusal = continuum_refusal(s)
    if refusal is None:
        return "the frame model (run) and the continuum model (run --model continuum) can run it"
    return f"the frame model (run) can run it; the continuum model cannot ({str(refusal).split('; accepted')[0]})"


def _validate_sweep(path: str) -> int:
    """`validate` on a sweep file: check it as a sweep and point at `ilizarov sweep`."""
    from sim.scenario import ScenarioError
    from sim.sweep import SweepError, case_scenario, load_sweep

    try:
        sw = load_sweep(path, yes=True)
    except SweepError as exc:
        return _error(f"{path}: a sweep file (it has base and [[parameters]]), and it is not valid: {exc}")
    bad = []
    many = len(sw.cases) > sw.max_cases
    for i in range(0 if many else len(sw.cases)):
        try:
            case_scenario(sw, i)
        except (ScenarioError, SweepError) as exc:
            bad.append(f"{sw.case_id(i)} {sw.cases[i]}: {exc}")
    print(f"{path}: a sweep file, not a scenario: sweep '{sw.name}', {sw.mode} over {len(sw.parameters)} "
          f"parameter(s), {len(sw.cases)} cases on base scenario {sw.base_path.name}"
          + (f"; {len(bad)} of the cases will be recorded as failed:" if bad else "; every case is a valid scenario"))
    if many:
        print(f"  {len(sw.cases)} cases is more than its max_cases = {sw.max_cases}: `ilizarov sweep` needs --yes "
              "to run them (the cases were not checked one by one)")
    for line in bad[:10]:
        print(f"  {line}")
    if len(bad) > 10:
        print(f"  ... and {len(bad) - 10} more")
    print(f"Run it with: ilizarov sweep {path} --out DIR")
    return 0


def _check_petsc(path: str, s) -> None:
    """The [continuum] table's PETSc options, tried on a tiny system before any meshing;
    _BadInput naming the option if PETSc refuses it or never reads it."""
    from sim.continuum_run import check_petsc_options
    from sim.scenario import ScenarioError

    try:
        check_petsc_options(s.continuum)
    except ScenarioError as exc:
        raise _BadInput(_error(f"{path}: {exc}")) from None


def cmd_run(args) -> int:
    try:
        s = _load(args.scenario)
        if args.model == "continuum":
            _check_petsc(args.scenario, s)
    except _BadInput as bad:
        return bad.code
    refused = _check_size(s, "run", args, model=args.model, pictures=not args.no_picture)
    if refused is not None:
        return refused
    try:
        od = _claim_out(args, "run")
    except _BadInput as bad:
        return bad.code
    _log_estimate(args)
    with od:
        if args.model == "continuum":
            return _run_continuum(s, od, args)
        return _run_frame(s, od, args)


def _run_frame(s, od, args) -> int:
    from postprocess.summary import stability_summary
    from sim.frame_model import SolverError
    from sim.run import solve_frame, write_run

    log = _progress_log(args)
    try:
        run = solve_frame(s, log=log, keep_states=True)
    except SolverError as exc:
        return _error(str(exc), EXIT_SOLVER_FAILED)
    path = write_run(od, s, run, picture=not args.no_picture)
    if _rank0():
        print(stability_summary(run.results))
        print(f"Wrote {path}" + (f" and {path.parent / 'frame.png'}" if not args.no_picture else ""))
        if run.results.get("paraview"):
            print(f"ParaView: {', '.join(str(path.parent / f) for f in run.results['paraview'].values())}")
    _note(od)
    return 0


def _run_continuum(s, od, args) -> int:
    """`run --model continuum`: solve, then write results.json, the fields (XDMF, in
    parallel) and the picture, all or nothing."""
    from meshes.continuum import GeometryError
    from postprocess.summary import stability_summary
    from sim.continuum_run import continuum_writer, solve_continuum
    from sim.frame_model import SolverError

    log = _progress_log(args)
    try:
        run = solve_continuum(s, log=log)
    except GeometryError as exc:
        return _error(f"{args.scenario}: {exc}")
    except SolverError as exc:
        return _error(str(exc), EXIT_SOLVER_FAILED)
    path = continuum_writer(od, s, run, picture=not args.no_picture, log=log)
    if _rank0():
        print(stability_summary(run.results))
        print(f"Wrote {path}, the fields in {path.parent / 'fields.xdmf'} (ParaView)"
              + (f" and {path.parent / 'continuum.png'}" if not args.no_picture else ""))
    _note(od)
    return 0


def cmd_timeline(args) -> int:
    try:
        s = _load(args.scenario)
        if s.distraction is None:
            return _error(f"{args.scenario}: distraction: the scenario has no [distraction] table, so there is no "
                          "treatment to follow; accepted: a scenario with a [distraction] table (see "
                          "scenarios/distraction-4cm.toml and scenarios/bone-transport.toml)")
        refused = _check_size(s, "timeline", args, pictures=not args.no_pictures)
        if refused is not None:
            return refused
        od = _claim_out(args, "timeline")
    except _BadInput as bad:
        return bad.code
    _log_estimate(args)

    from postprocess.timeline_report import timeline_summary_text
    from sim.frame_model import SolverError
    from sim.timeline import run_timeline, write_timeline

    log = _progress_log(args)
    with od:
        try:
            result = run_timeline(s, log=log, snapshots=True)  # the animation and the ParaView series
        except SolverError as exc:
            return _error(str(exc), EXIT_SOLVER_FAILED)
        if _rank0() and log:
            log("writing tables" + (", plots and the animation" if not args.no_pictures else ""))
        path = write_timeline(od, s, result, pictures=not args.no_pictures)
    if _rank0():
        print(timeline_summary_text(result.summary))
        print(f"Wrote {path} and {', '.join(f for f in result.summary['files'] if f != 'timeline.csv')} "
              f"in {path.parent}")
    _note(od)
    return 0


def cmd_hexapod(args) -> int:
    from sim.hexapod import KinematicsError

    try:
        s = _load(args.scenario)
        if s.hexapod is None:
            return _error(f"{args.scenario}: hexapod: the scenario has no [hexapod] table; accepted: a scenario with "
                          "a [hexapod] table (see scenarios/hexapod-correction.toml)")
        refused = _check_size(s, "hexapod", args, mechanics=not args.no_mechanics)
        if refused is not None:
            return refused
        od = _claim_out(args, "hexapod")
    except _BadInput as bad:
        return bad.code
    _log_estimate(args)

    from postprocess.hexapod_report import hexapod_summary_text
    from sim.correction import run_hexapod, write_hexapod
    from sim.frame_model import SolverError

    log = _progress_log(args)
    with od:
        try:
            result = run_hexapod(s, log=log, mechanics=not args.no_mechanics, pictures=not args.no_pictures)
        except KinematicsError as exc:
            return _error(f"{args.scenario}: {exc}")
        except SolverError as exc:
            return _error(str(exc), EXIT_SOLVER_FAILED)
        path = write_hexapod(od, s, result, pictures=not args.no_pictures)
    if _rank0():
        print(hexapod_summary_text(result.summary))
        print(f"Wrote {path} and {', '.join(f for f in result.summary['files'] if f != 'schedule.csv')} "
              f"in {path.parent}")
    _note(od)
    return 0


def cmd_report(args) -> int:
    from postprocess.report import ReportError, write_report
    from sim.outdir import OutputDirError

    log = _progress_log(args)
    try:
        if (Path(args.run_dir) / "sweep.json").is_file():
            from postprocess.sweep_report import write_sweep_report

            path = write_sweep_report(Path(args.run_dir), objective=args.objective, cost=args.cost)
        else:
            path = write_report(Path(args.run_dir), log=log)
    except (ReportError, OutputDirError) as exc:
        return _error(str(exc))
    print(f"Wrote {path}")
    return 0


def cmd_compare(args) -> int:
    from postprocess.compare import write_comparison
    from postprocess.report import ReportError, load_run

    if len(args.run_dirs) < 2:
        return _error("compare: give at least two run directories")
    try:
        for d in args.run_dirs:  # readable runs, before anything is claimed or drawn
            load_run(Path(d), need_states=True)
        od = _claim_out(args, "compare")
    except ReportError as exc:
        return _error(str(exc))
    except _BadInput as bad:
        return bad.code
    with od:
        try:
            table, path = write_comparison([Path(d) for d in args.run_dirs], od)
        except ReportError as exc:
            return _error(str(exc))
    print(table)
    print(f"Wrote {path} and {path.parent / 'comparison.csv'}")
    _note(od)
    return 0


def cmd_sweep(args) -> int:
    from mpi4py import MPI

    from sim.sweep import SweepError, load_sweep, run_sweep

    rank0 = _rank0()
    try:
        shard = None
        if args.shard:
            try:
                k, n = (int(x) for x in args.shard.split("/"))
                assert 0 <= k < n
            except (ValueError, AssertionError):
                raise SweepError(f"--shard {args.shard!r}; accepted: I/N with 0 <= I < N (e.g. a job-array task "
                                 "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)") from None
            shard = (k, n)
        if args.ranks_per_case < 1:
            raise SweepError(f"--ranks-per-case {args.ranks_per_case}; accepted: >= 1")
        if args.claim_timeout is not None and not 1.0 <= args.claim_timeout <= 7 * 86400:
            raise SweepError(f"--claim-timeout {args.claim_timeout:g}; accepted: seconds from 1 to 604800 (a week): "
                             "how long a claim of a silent process on another node is honoured")
        sw = load_sweep(args.sweep, yes=args.yes)
        if rank0:
            print(f"{args.sweep}: sweep {sw.name!r}, {sw.mode} over {len(sw.parameters)} parameter(s): "
                  f"{len(sw.cases)} cases", flush=True)
        _check_sweep_time(sw, args, MPI.COMM_WORLD.size)
        log = (lambda m: print(f"[sweep] {m}", flush=True)) if not args.quiet else None
        result = run_sweep(sw, Path(args.out), args.ranks_per_case, log=log, shard=shard,
                           claim_timeout_s=args.claim_timeout)
    except SweepError as exc:
        return _error(str(exc))
    if rank0:
        out = result.get("out", Path(args.out))
        others = (f"; {result['left_to_others']} being solved by other processes"
                  if result.get("left_to_others") else "")
        if result["ok"] is None:
            print(f"{result['ran']} cases run in {result['wall_s']:.1f} s; {result['recorded']} of {len(sw.cases)} "
                  f"recorded{others}; another process is rebuilding {out / 'summary.csv'} (with these cases)")
        else:
            print(f"{result['ran']} cases run in {result['wall_s']:.1f} s; recorded {result['ok']} ok and "
                  f"{result['failed']} failed of {len(sw.cases)}{others}; summary in {out / 'summary.csv'}")
        if result["failed"]:
            from sim.sweep_store import SweepStore

            shown = 0
            for row in SweepStore(out).index_rows():
                if row.get("status") != "ok":
                    if shown == 20:
                        print(f"  ... and {result['failed'] - shown} more failed cases (summary.csv)")
                        break
                    print(f"  failed {row['id']} {row['parameters']}: {row.get('error')}")
                    shown += 1
    return 0


YES_HELP = ("run even if the estimated time is beyond the time budget (ILIZAROV_TIME_BUDGET_S, default 1 h); a run "
            "that will not fit the memory is refused anyway")


def _check_sweep_time(sw, args, world_size: int) -> None:
    """SweepError (without --yes) if the cases, estimated from the base scenario, would
    take longer than the time budget on these ranks."""
    from sim.estimate import _duration, estimate_command, time_budget_s
    from sim.scenario import ScenarioError, parse_scenario
    from sim.sweep import SweepError

    try:
        base = parse_scenario(sw.base)
    except ScenarioError:
        return
    groups = max(1, world_size // max(1, args.ranks_per_case))
    case = estimate_command(base, "run", ranks=args.ranks_per_case, model=sw.model)
    if case is None:
        return
    total = case.seconds * len(sw.cases) / groups
    if total > time_budget_s() and not args.yes:
        raise SweepError(f"{len(sw.cases)} cases of about {_duration(case.seconds)} each ({case.summary()}) would take "
                         f"about {_duration(total)} on {groups} group(s) of ranks, longer than the time budget of "
                         f"{_duration(time_budget_s())} (ILIZAROV_TIME_BUDGET_S); accepted: --yes to run them anyway, "
                         "more ranks, or fewer cases")


def cmd_validation_suite(args) -> int:
    """Run the validation suite (validation/*.toml) and write its table and plot."""
    from sim.shipped import ShippedFilesMissing
    from sim.validation_suite import (SuiteError, load_suite, markdown_table, parse_models, run_suite, summary_text,
                                      write_suite)

    try:
        models = parse_models(args.models)
        tests = load_suite(only=args.only)
    except (SuiteError, ShippedFilesMissing) as exc:
        return _error(str(exc))
    try:
        od = _claim_out(args, "validation-suite")
    except _BadInput as bad:
        return bad.code
    log = _progress_log(args)
    with od:
        suite = run_suite(tests, models, log=log)
        path = od.publish(lambda d: write_suite(suite, d))
    if _rank0():
        print(summary_text(suite))
        if not args.quiet:
            print(markdown_table(suite))
        print(f"Wrote suite.json, table.csv, table.md and validation.png in {path}")
    _note(od)
    failed = [f"{r['test']} {r['cell']} ({m}): {r[m + '_error']}" for r in suite["cells"] for m in models
              if f"{m}_error" in r]
    if failed:
        if _rank0():
            print(f"ilizarov: error: {len(failed)} cell(s) could not be solved (their rows say 'failed'):\n  "
                  + "\n  ".join(failed), file=sys.stderr)
        return EXIT_SOLVER_FAILED
    return 0


def cmd_bone_surface(args) -> int:
    """Write an anatomical template's outer surface as a binary STL (sim.bones), to be read
    back through a scenario's `[bone] surface`."""
    from sim.bones import TEMPLATES, template_surface, write_surface

    t = TEMPLATES[args.template]
    length = t.typical_length_mm if args.length_mm is None else args.length_mm
    shaft = t.typical_shaft_diameter_mm if args.shaft_diameter_mm is None else args.shaft_diameter_mm
    for option, value, (lo, hi) in (("--length-mm", length, t.length_range_mm),
                                    ("--shaft-diameter-mm", shaft, t.shaft_diameter_range_mm)):
        if not lo <= value <= hi:
            return _error(f"{option} {value:g}: accepted for the {t.name} template: {lo:g} to {hi:g} mm (the adult "
                          "range its profile is drawn from, docs/bones.md)")
    if not 8 <= args.segments <= 256:
        return _error(f"--segments {args.segments}: accepted: 8 to 256 points round each section")
    if not 2 <= args.levels <= 1000:
        return _error(f"--levels {args.levels}: accepted: 2 to 1000 levels along the bone (besides the template's "
                      "stations)")
    surface = template_surface(t.name, length, shaft, side=args.side, segments=args.segments, levels=args.levels)
    name = f"{t.name}-template.stl"
    try:
        od = _claim_out(args, "bone-surface")
    except _BadInput as bad:
        return bad.code
    with od:
        path = od.publish(lambda d: write_surface(surface, d / name))
    if _rank0():
        print(f"Wrote {path / name}: the {t.name} template ({length:g} mm long, {shaft:g} mm shaft, {args.side} limb), "
              f"{len(surface.triangles)} triangles; use it as [bone] surface = \"{name}\"")
    _note(od)
    return 0


def cmd_examples(args) -> int:
    """List the shipped scenarios, sweeps, validation files and Slurm scripts, or copy them
    into --out (scenarios/, validation/, hpc/ as in a source checkout)."""
    import shutil

    from sim.about import tool_version
    from sim.shipped import KINDS, ShippedFilesMissing, describe, shipped_dir, shipped_files

    try:
        found = {kind: (shipped_dir(kind), shipped_files(kind)) for kind in KINDS}
    except ShippedFilesMissing as exc:
        return _error(str(exc))
    if args.out is None:
        print(f"Shipped with ilizarov {tool_version()}:")
        for kind, (root, files) in found.items():
            print(f"{kind}/ ({len(files)} files, in {root})")
            width = max(len(str(f)) for f in files)
            for f in files:
                print(f"  {str(f):<{width}}  {describe(root / f)}".rstrip())
        print("Copy them into a folder of your own with: ilizarov examples --out DIR")
        return 0
    try:
        od = _claim_out(args, "examples")
    except _BadInput as bad:
        return bad.code

    def fill(staging: Path) -> None:
        for kind, (root, files) in found.items():
            for f in files:
                (staging / kind / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / f, staging / kind / f)
                if f.suffix in (".sh", ".sbatch"):  # a wheel does not keep the executable bit
                    (staging / kind / f).chmod(0o755)

    with od:
        path = od.publish(fill)
    n = sum(len(files) for _, files in found.values())
    if _rank0():
        print(f"Wrote {n} files into {path}: {', '.join(f'{k}/' for k in KINDS)} (try: ilizarov validate "
              f"{path / 'scenarios' / 'standard-4ring.toml'})")
    _note(od)
    return 0


class _VersionAction(argparse.Action):
    """--version: the versions of ilizarov, dolfinx, PETSc, gmsh and Python (sim.about),
    found only when asked (importing dolfinx takes a moment); exits 0."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from sim.about import version_text

        print(version_text(), flush=True)
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ilizarov", description="Finite-element simulation of circular external "
                                "fixators (Ilizarov frames) on bone.")
    p.add_argument("--version", action=_VersionAction,
                   help="print the versions of ilizarov, dolfinx, PETSc, gmsh and Python, and exit")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a scenario file and print what it describes")
    v.add_argument("scenario", help="scenario file (TOML)")
    v.set_defaults(func=cmd_validate)
    r = sub.add_parser("run", help="solve a scenario: pretension, then each load case")
    r.add_argument("scenario", help="scenario file (TOML)")
    r.add_argument("--out", required=True, help="output directory (results.json, frame.png, frame.npz, the ParaView "
                   "series in paraview/, scenario.resolved.json)")
    r.add_argument("--model", choices=("frame", "continuum"), default="frame",
                   help="frame: 3D beams on a line network (default); continuum: 3D solids")
    r.add_argument("--no-picture", action="store_true", help="skip the rendered picture")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.add_argument("--yes", action="store_true", help=YES_HELP)
    r.set_defaults(func=cmd_run)
    t = sub.add_parser("timeline", help="follow a treatment day by day: latency, distraction or bone transport, "
                       "consolidation")
    t.add_argument("scenario", help="scenario file (TOML) with a [distraction] table")
    t.add_argument("--out", required=True, help="output directory (timeline.csv, steps.csv, timeline.json, "
                   "timeline.png, timeline.gif)")
    t.add_argument("--no-pictures", action="store_true", help="skip the plots and the animation")
    t.add_argument("--quiet", action="store_true", help="no progress lines")
    t.add_argument("--yes", action="store_true", help=YES_HELP)
    t.set_defaults(func=cmd_timeline)
    h = sub.add_parser("hexapod", help="plan a hexapod (Taylor Spatial Frame) correction day by day and compare its "
                       "stiffness with a classic frame")
    h.add_argument("scenario", help="scenario file (TOML) with a [hexapod] table")
    h.add_argument("--out", required=True, help="output directory (prescription.html, .pdf and .csv, "
                   "schedule.csv, stiffness.csv, hexapod.json, struts.png, stiffness.png, frames.png)")
    h.add_argument("--no-mechanics", action="store_true", help="plan only: no frame-model solves")
    h.add_argument("--no-pictures", action="store_true", help="skip the plots and pictures")
    h.add_argument("--quiet", action="store_true", help="no progress lines")
    h.add_argument("--yes", action="store_true", help=YES_HELP)
    h.set_defaults(func=cmd_hexapod)
    rp = sub.add_parser("report", help="write report.html (numbers, pictures, plots, animation, interactive 3D view) "
                        "into a run directory")
    rp.add_argument("run_dir", help="a directory written by `ilizarov run` (report.html) or `ilizarov sweep` "
                    "(summary.csv of every case recorded so far, and sweep_report.html: ranking, effects, "
                    "sensitivity, Sobol' indices or Morris screening, Pareto front)")
    rp.add_argument("--objective", default="axial_initial_N_per_mm", help="sweeps: the number to rank by "
                    "(default axial_initial_N_per_mm)")
    rp.add_argument("--cost", default=None, help="sweeps: the cost of the Pareto front (default "
                    "frame_mass_kg; n_wires, n_half_pins...)")
    rp.add_argument("--quiet", action="store_true", help="no progress lines")
    rp.set_defaults(func=cmd_report)
    cp = sub.add_parser("compare", help="compare run directories side by side: pictures on one colour scale and a "
                        "table of the stability numbers with the best marked")
    cp.add_argument("run_dirs", nargs="+", help="two or more directories written by `ilizarov run`")
    cp.add_argument("--out", required=True, help="output directory (comparison.png, comparison.csv)")
    cp.set_defaults(func=cmd_compare)
    sw = sub.add_parser("sweep", help="run every variant of a sweep file (serially or under mpirun), resumable")
    sw.add_argument("sweep", help="sweep file (TOML): base scenario and parameters to vary")
    sw.add_argument("--out", required=True, help="sweep directory (sweep.json, cases/, summary.csv)")
    sw.add_argument("--ranks-per-case", type=int, default=1, help="MPI ranks that solve one case together (default 1)")
    sw.add_argument("--yes", action="store_true", help="run even if there are more cases than max_cases, or the "
                    "estimated time is beyond the time budget (ILIZAROV_TIME_BUDGET_S, default 1 h)")
    sw.add_argument("--shard", help="run only the cases I, I+N, I+2N... (I/N), e.g. one task of a job array (without "
                    "it, tasks started together share the cases one by one)")
    sw.add_argument("--claim-timeout", type=float, default=None, metavar="SECONDS",
                    help="a case claimed by a process on another node whose heartbeat has been silent this long is "
                    "run again (default 600; a process on this node is checked directly)")
    sw.add_argument("--quiet", action="store_true", help="no progress lines")
    sw.set_defaults(func=cmd_sweep)
    vs = sub.add_parser("validation-suite", help="run the frame model against the published bench tests shipped "
                        "with the tool (validation/ of a checkout, listed by `ilizarov examples`) and write a table "
                        "(calibrated and predicted apart) and a plot")
    vs.add_argument("--out", required=True, help="output directory (suite.json, table.csv, table.md, validation.png)")
    vs.add_argument("--only", help="only the tests whose file name matches this pattern (e.g. 'khurana*')")
    vs.add_argument("--models", default="bench,idealised",
                    help="bench: the interfaces and plasticity each test file asks for; idealised: every "
                    "interface rigid, elastic members (default: both)")
    vs.add_argument("--quiet", action="store_true", help="no progress lines and no table on the screen")
    vs.set_defaults(func=cmd_validation_suite)
    bs = sub.add_parser("bone-surface", help="write an anatomical bone template's outer surface as STL (to read back "
                        "through [bone] surface)")
    bs.add_argument("--template", required=True, choices=("tibia", "femur"), help="the template (docs/bones.md)")
    bs.add_argument("--out", required=True, help="output directory (TEMPLATE-template.stl)")
    bs.add_argument("--length-mm", type=float, default=None, help="the bone's length (default: the template's typical)")
    bs.add_argument("--shaft-diameter-mm", type=float, default=None, help="the mid-shaft outer diameter (default: the "
                    "template's typical)")
    bs.add_argument("--side", choices=("right", "left"), default="right", help="the limb (+x is lateral on a right "
                    "limb, medial on a left one)")
    bs.add_argument("--segments", type=int, default=24, help="points round each section (default 24)")
    bs.add_argument("--levels", type=int, default=41, help="levels along the bone besides the template's stations "
                    "(default 41)")
    bs.set_defaults(func=cmd_bone_surface)
    ex = sub.add_parser("examples", help="list the scenarios, sweeps, validation files, Slurm scripts, Python "
                        "examples (jupytext notebooks) and JSON Schemas shipped with the tool, or copy them into a "
                        "folder to start from")
    ex.add_argument("--out", default=None, help="copy them into this directory (scenarios/, validation/, hpc/, "
                    "examples/, schemas/); "
                    "without it, list them and where they are installed")
    ex.set_defaults(func=cmd_examples)
    return p




class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that staging directories and locks are cleaned up."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _abort_other_ranks(code: int) -> None:
    """Under MPI, a rank that stops on its own would leave the others waiting in a collective."""
    from mpi4py import MPI

    if MPI.COMM_WORLD.size > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(code)


def _stopped(code: int, what: str) -> int:
    """After Ctrl-C or SIGTERM (the staging directory and the lock are gone by now): one
    line, and under MPI rank 0 ends every rank (the others may wait in a collective that
    will never complete); the other ranks give it time to clean up first."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if comm.rank == 0:
        print(f"ilizarov: {what}: stopped; no partial output was left (an existing --out keeps its earlier "
              "contents)", file=sys.stderr, flush=True)
    if comm.size > 1:
        if comm.rank != 0:
            from sim.outdir import abandon_all, wait_while_root_writes

            try:
                wait_while_root_writes()
            except BaseException:  # noqa: BLE001 - a second Ctrl-C: end now
                pass

            abandon_all()  # rank 0 did not end us: it may wait in a collective we left
            print(f"ilizarov: {what}: stopped (rank {comm.rank}); no partial output was left", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        comm.Abort(code)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status: 0 done, 2 bad input (nothing written), 3 a solver
    that did not converge, 130 Ctrl-C (SIGINT), 143 SIGTERM (both leave the previous
    output or nothing, never half of one), 1 an unexpected error (a bug: one line, and the
    traceback with ILIZAROV_TRACEBACK=1)."""
    import os
    import signal
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage message on bad arguments
    if args.command not in ("validate", "report", "examples"):
        import sim.fenicsx  # noqa: F401  (PETSc installs its own SIGTERM handler when it starts: ours goes after)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return _stopped(130, "interrupted (Ctrl-C)")
    except _Terminated:
        return _stopped(143, "terminated (SIGTERM)")
    except BrokenPipeError:  # e.g. `ilizarov validate x | head -1`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, not a traceback
        if os.environ.get("ILIZAROV_TRACEBACK"):
            import traceback

            traceback.print_exc()
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"ilizarov: internal error: {type(exc).__name__}: {msg} (a bug in ilizarov: please report it with the "
              "command and its input files; ILIZAROV_TRACEBACK=1 shows where it happened)", file=sys.stderr, flush=True)
        _abort_other_ranks(1)
        return 1
    finally:
        if main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
