"""One case end to end: scenario -> mesh -> pretension and load cases -> results."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mpi4py import MPI

from sim.outdir import OutputDir, OutputDirError  # noqa: F401  (OutputDirError: re-exported)
from sim.scenario import Scenario


@dataclass
class FrameRun:
    results: dict[str, Any]
    model: Any  # FrameModel, left in the state of the last load case
    cases: dict[str, Any]
    picture_case: str | None = None
    picture_state: Any = None  # local solution array at the end of picture_case
    # rank 0: gather_lines() after pretension, at the end of each case, and at every step of every case
    states: dict[str, Any] | None = None


def yield_by_group(scenario: Scenario) -> dict[str, float]:
    """The lowest yield stress (MPa) in each group of parts (each part's material in the
    condition its kind is made in; see sim.materials)."""
    groups = {
        "bone": [(scenario.bone.material, None)] if scenario.has_bone else [],
        "wires": [(w.material, "wire") for w in scenario.wires],
        "rings": [(r.material, "ring") for r in scenario.rings],
        "rods": [(r.material, "rod") for r in scenario.rods],
        "struts": [(scenario.hexapod.strut_material, "strut")] if scenario.hexapod is not None else [],
        "half_pins": [(p.material, u) for p in scenario.half_pins for u in ("half_pin", "post")]
        + [(c.material, "post") for c in scenario.pin_clamps],  # a pin clamp's post is in the half pins' group
        "plates": [(p.material, "ring") for p in scenario.plates],  # connection plates: ring stock
    }
    return {g: min(scenario.material(m, use).yield_stress_MPa for m, use in names) for g, names in groups.items() if names}


def frame_assumptions(scenario: Scenario, model) -> dict[str, Any]:
    """What stands behind the frame model's numbers: how the parts hold one another, the
    gap's contact, the tensioning, the kinematics, and every material with its source."""
    from sim.elements.contact import CONTACT_LENGTH_MM, N_ANGLES

    smooth = [w.name for w in scenario.wires if not w.olive]
    olive = [w.name for w in scenario.wires if w.olive]
    mats = {}
    for part, mat in model.part_materials().items():
        entry = mats.setdefault(mat.name, {"youngs_modulus_MPa": mat.youngs_modulus_MPa,
                                           "poisson_ratio": mat.poisson_ratio,
                                           "yield_stress_MPa": mat.yield_stress_MPa,
                                           "source": mat.source, "parts": []})
        entry["parts"].append(part)
    it, pl = scenario.interfaces, scenario.plasticity

    def law(kind: str, rigid_words: str) -> str:
        """The idealisation's words, or the compliant law's parameters (docs/interfaces.md)."""
        lw = getattr(it, kind)
        if lw.rigid:
            return rigid_words
        values = ", ".join(f"{f.name} = {getattr(lw, f.name):g}" for f in dataclasses.fields(lw) if f.name != "rigid")
        return f"compliant ({values}; docs/interfaces.md)"

    overrides = [o.part for o in it.override]
    plastic = [g for g in ("wires", "half_pins") if getattr(pl, g)]
    one_side = [w.name for w in scenario.wires if w.olive and w.olive_side is not None]
    pulled = [w.name for w in one_side_pulled(scenario)]
    placement = ((f"; olive on one side (held along the wire at that cortex only, sliding through the other): "
                  f"{', '.join(one_side)}" if one_side else "")
                 + (f"; pulled from the end away from the olive (the olive's span not pretensioned by the "
                    f"tensioner, its tension the pulled span's): {', '.join(pulled)}" if pulled else ""))
    shaped = {}
    if scenario.has_bone and (scenario.bone.template is not None or scenario.bone.surface is not None):
        from sim.bones import describe_bone

        shaped["bone"] = describe_bone(scenario)  # the bone's shape (sim.bones); a uniform tube says nothing new
    if scenario.has_bone and scenario.bone_breaks() and scenario.gap.butterfly is not None:
        from sim.fracture_geometry import describe_butterfly

        shaped["butterfly"] = describe_butterfly(scenario, "frame")
    return {
        **shaped,
        "wire_bone": law("wire_bone", "smooth wires slide freely along their axis through the bone and let it turn "
                         "about them (no friction), held rigidly across it; olive wires are bonded to the bone at "
                         "both cortices") + (f"; smooth: {len(smooth)}, olive: {len(olive)}" if scenario.wires else "")
                     + placement,
        "half_pin_bone": law("pin_bone", "bonded rigidly to the bone at the cortices they engage (no thread or bone "
                             "compliance)") + "; clamps: " + law("pin_clamp", "rigid")
                         + (f"; multi-pin clamps and cubes ({len(scenario.pin_clamps)}): rigid blocks"
                            if scenario.pin_clamps else ""),
        "wire_clamps": law("wire_clamp", "rigid: the wire's ends are fixed to the ring's centroid at the clamp (no "
                           "slip)"),
        "joints": ("rods to rings: " + law("rod_ring", "bolted rigidly to every ring they pass (no nut, washer or "
                                          "thread compliance)")
                   + "; hexapod struts pinned at both ends (axial force only), "
                   + law("strut", "their tubes alone (no joint or thread compliance)")
                   + (f"; per-part overrides: {', '.join(overrides)}" if overrides else "")
                   + (f"; connection plates ({len(scenario.plates)}): beams of their rectangular section, each bolted "
                      "rigidly to its ring at hole 1 (a stiff link, no bolt slip or turning); the parts in their "
                      "holes held as on a ring" if scenario.plates else "")),
        "gap_contact": ((f"frictionless penalty contact of the fragment ends over the cortical section "
                         f"({N_ANGLES} x 3 points), as stiff as {CONTACT_LENGTH_MM:g} mm of bone once closed; no shear "
                         "passes" if not scenario.gap.friction_coefficient else
                         f"penalty contact of the fragment ends over the cortical section ({N_ANGLES} x 3 points), as "
                         f"stiff as {CONTACT_LENGTH_MM:g} mm of bone once closed, with Coulomb friction (coefficient "
                         f"{scenario.gap.friction_coefficient:g}, stick-slip at each point)")
                        if scenario.has_bone else "no bone"),
        "tensioning": scenario.solver.tensioning,
        "kinematics": ("geometrically exact beams and links (finite rotations, exact wire stretch), "
                       + (f"elastoplastic {' and '.join(plastic)} (fibre sections, kinematic hardening), the other "
                          "members linear elastic" if plastic else
                          "linear elastic materials: stresses above yield are reported, not followed")),
        "plasticity": {"wires": pl.wires, "half_pins": pl.half_pins},
        "responses": "measured from the pretensioned state",
        "materials": mats,
    }


def one_side_pulled(scenario: Scenario) -> list:
    """Olive wires tensioned from the end away from their olive (Wire.tensioned_from)."""
    return [w for w in scenario.wires if w.olive and w.olive_side is not None
            and w.tensioned_from not in ("both_ends", w.olive_side)]


def solve_frame(scenario: Scenario, comm=None, log=None, pose=None, keep_states: bool = False) -> FrameRun:
    """Build, pretension and load the frame model; return results.json data.

    pose: for a hexapod, the moving side's pose (sim.hexapod.Pose; default the initial one).
    keep_states: gather the line states (rank 0) after pretension, at the end of each case
    (``<case>``) and at every recorded step of every case (``<case>_step<k>``), for the
    run directory's frame.npz (pictures, reports, animations) and its ParaView series.
    """
    from meshes.frame_network import build_frame
    from postprocess.metrics import build_results
    from sim.frame_model import FrameModel

    comm = MPI.COMM_WORLD if comm is None else comm
    say = (lambda msg: log(msg) if log and comm.rank == 0 else None)
    t0 = time.perf_counter()
    frame = build_frame(scenario, comm, pose)
    t_mesh = time.perf_counter() - t0
    model = FrameModel(scenario, frame)
    t_setup = time.perf_counter() - t0 - t_mesh
    say(f"mesh: {model.num_cells} cells, {model.num_dofs} dofs ({t_mesh:.2f} s); forms ready ({t_setup:.2f} s"
        + ("; compiled once for this environment, cached for the next runs" if t_setup > 5.0 else "") + ")")
    t1 = time.perf_counter()
    pre = model.solve_pretension()
    say(f"pretension ({pre.mode}) solved in {pre.solve_time_s:.2f} s")
    cases = {}
    picture_case, picture = None, None
    states: dict[str, Any] = {}
    if keep_states:
        states["pretension"] = model.gather_lines()

    def keeper(name):
        def keep_step(k, _record):
            lines = model.gather_lines()
            if lines is not None:
                states[f"{name}_step{k}"] = lines
        return keep_step

    for name in scenario.loads.cases:
        cases[name] = model.solve_load_case(name, on_step=keeper(name) if keep_states else None)
        if keep_states:
            states[name] = model.gather_lines()
        say(f"load case {name}: {len(cases[name].steps) - 1} steps in {cases[name].solve_time_s:.2f} s")
        if picture_case is None or name == "axial":  # the picture shows the axial case if there is one
            picture_case, picture = name, model.w.x.array.copy()
    t_solve = time.perf_counter() - t1
    timings = {"mesh": t_mesh, "setup": t_setup, "solve": t_solve, "total": time.perf_counter() - t0,
               "pretension": pre.solve_time_s, **{f"load_case_{k}": v.solve_time_s for k, v in cases.items()}}
    results = build_results(scenario, pre, cases, cells=model.num_cells, dofs=model.num_dofs, timings_s=timings,
                            yield_by_group_MPa=yield_by_group(scenario), part_yield_MPa=model.part_yield_MPa(),
                            assumptions=frame_assumptions(scenario, model))
    results["mpi_ranks"] = comm.size
    return FrameRun(results, model, cases, picture_case, picture, states if comm.rank == 0 and keep_states else None)


def telescopic_radii_mm(scenario: Scenario) -> dict[str, float] | None:
    """The drawn radius (mm) of every telescopic rod's tube and overlap parts (the line
    network's `<rod>_tube`, `<rod>_overlap`): the tube's; None without telescopic rods."""
    out = {f"{r.name}_{piece}": r.tube_diameter_mm / 2 for r in scenario.rods if r.kind == "telescopic"
           for piece in ("tube", "overlap")}
    return out or None


def picture_state(run: FrameRun) -> dict | None:
    """Gather the deformed state of the picture's load case on rank 0 (collective)."""
    if run.picture_state is not None:
        run.model.w.x.array[:] = run.picture_state
    return run.model.gather_lines()


def publish_atomically(out, fill, comm=None, collective=None, command: str = "run") -> Path:
    """Run `collective(staging_dir)` on every rank (parallel field files), then
    `fill(staging_dir)` on rank 0, then put the staging directory in place of `out`.

    `out`: the OutputDir the command claimed before solving, or a path (checked and
    locked here, for `command`). All or nothing, and only ever replacing an earlier
    output of the same command (sim.outdir): on any error or interrupt the staging
    directory is removed and `out` is left as it was. Returns the directory written
    (`out`, or beside it if `out` gained files the tool did not write meanwhile).
    Raises OutputDirError (a path that cannot be used) or the error of `fill`/`collective`.
    """
    if isinstance(out, OutputDir):
        return out.publish(fill, collective)
    with OutputDir(out, command, comm).claim() as od:
        return od.publish(fill, collective)


def _hole_marks(scenario: Scenario):
    """The holes of the rings that opt in (sim.ring_holes.hole_points), None if none does."""
    from sim import ring_holes

    return ring_holes.hole_points(scenario) if ring_holes.uses_holes(scenario) else None


def write_run(out, scenario: Scenario, run: FrameRun, picture: bool = True, comm=None) -> Path:
    """Write results.json, the resolved scenario, the saved states and the picture; all
    or nothing (see publish_atomically; `out`: a claimed OutputDir or a path). Returns
    the path of results.json.
    """
    lines = picture_state(run) if picture else None  # collective

    def fill(staging: Path) -> None:
        (staging / "scenario.resolved.json").write_text(json.dumps(scenario.to_dict(), indent=2))
        if picture:
            from postprocess.render import render_frame
            from sim.fracture_geometry import butterfly_picture

            parts = {p.tag: (p.name, p.kind.name) for p in run.model.frame.parts}
            case = run.picture_case or "pretension"
            g = scenario.gap
            oblique = scenario.has_bone and bool(scenario.bone_breaks()) and g.obliquity_deg
            pic = render_frame(lines, parts, staging / "frame.png", title=f"{scenario.name}: {case} at full load",
                               bone_radius_mm=(lambda z: scenario.bone_radii_mm(z)[0]) if scenario.has_bone else None,
                               fracture_plane=(g.level_mm, g.plane_normal(), scenario.bone_radii_mm(g.level_mm)[0])
                               if oblique else None, part_radius_mm=telescopic_radii_mm(scenario),
                               hole_marks=_hole_marks(scenario), butterfly=butterfly_picture(scenario))
            run.results["pictures"] = [pic.name]
        if run.states:
            from postprocess.states import STATES_FILE, save_states

            parts = {p.tag: (p.name, p.kind.name) for p in run.model.frame.parts}
            save_states(staging / STATES_FILE, run.states, parts)
            run.results["states_file"] = STATES_FILE
            from postprocess.paraview import PARAVIEW_DIR, write_load_cases

            series = write_load_cases(staging / PARAVIEW_DIR, run.states, run.cases, parts)
            if series:
                run.results["paraview"] = series
        (staging / "results.json").write_text(json.dumps(run.results, indent=2))

    return publish_atomically(out, fill, comm) / "results.json"
