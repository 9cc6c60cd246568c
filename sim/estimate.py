"""How big a run will be, before it starts: cells, unknowns, solves, memory and time.

Every command that solves estimates its size from the scenario alone and refuses (exit
2) what will not fit this machine's memory, or asks for `--yes` when it would take longer
than the time budget (`check_fits`). The numbers come from:

- the frame model: the exact line network (`meshes.frame_network.plan_network` counts
  its elements without meshing), 6 unknowns per node; time per load step measured on
  this kind of machine (about 1.2e-5 s per unknown, a few Newton iterations each) and
  memory as a base of the Python/PETSc process plus about 2 kB per unknown (MUMPS on a
  line network hardly fills in) plus the states kept for pictures; a case with
  `cycles` = n > 1 is n loadings and n unloadings, 2 n times its steps;
- the continuum model: tetrahedra counted part by part as about 6 V/h^3 for a part of
  volume V meshed at size h (h: the element size, the wire size near wires and pins,
  at most an eighth of a cylinder's circumference, at most a ring's thickness), fitted to
  meshes of the standard and two-ring frames (sizes 4-24 mm, 0.45-1.8 mm near the
  wires) within 3.5 % (the hybrid frame with half pins: +17 %),
  unknowns 3 x (vertices + edges) for quadratic tetrahedra; memory and time of MUMPS
  grow like n^(4/3) and n^(3/2) from the measured 3.7 GB and 700 s (572 031 unknowns,
  one rank, docs/continuum.md);
- a treatment: the most days it can last (latency, distraction at its rate, the docking
  catch-up, consolidation_max_days), two solves a day plus two per distraction step;
- a hexapod: the planned days and four frame solves (start, middle, end, classic frame).

The budgets: the memory available to this process (MemAvailable, or the cgroup's limit
under a batch system), or ILIZAROV_MEMORY_GB; the time budget ILIZAROV_TIME_BUDGET_S
(default one hour). Estimates are rough (a factor of about 1.5 either way for time).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIME_BUDGET_S = 3600.0
FRAME_BASE_GB = 0.25  # the Python, dolfinx and PETSc process itself
FRAME_BYTES_PER_UNKNOWN = 2000.0
FRAME_S_PER_UNKNOWN_STEP = 1.2e-5
FRAME_SETUP_S = 2.0
STATE_BYTES_PER_CELL = 200.0  # one gathered state of the frame (pictures, animations, ParaView)
CONTINUUM_CELLS_PER_H3 = 6.2  # bulk parts: cells = 6.2 V / h^3
CONTINUUM_WIRE_CELLS_PER_H3 = 5.2  # inside wires and pins
CONTINUUM_ZONE = 48.0  # the refined zone where a wire or pin passes through bone and clamps
CONTINUUM_BASE_GB = 0.5  # per rank: the process, the mesh and the forms
CONTINUUM_LU_GB = 3.2  # MUMPS at the reference size (572 031 unknowns), beyond the base
CONTINUUM_LU_S_PER_UNKNOWN_IT = 3.6e-5  # one rank, at the reference size
CONTINUUM_GAMG_BYTES_PER_UNKNOWN = 4000.0
CONTINUUM_GAMG_S_PER_UNKNOWN_IT = 3.6e-4  # hundreds of CG iterations per solve on these solids
CONTINUUM_REFERENCE_UNKNOWNS = 572_031
CONTINUUM_ITERATIONS_PER_STEP = 3.4
AUTO_LU_MAX_UNKNOWNS = 800_000  # sim.continuum.LU_MAX_DOFS ("auto": MUMPS below it)


class SizeError(ValueError):
    """A run that will not fit this machine's memory, or (without --yes) its time budget."""


@dataclass(frozen=True)
class SizeEstimate:
    """The estimated size of one command's work."""

    what: str  # "frame model run", "continuum model run", "treatment timeline", "hexapod correction"
    cells: int
    unknowns: int
    solves: int  # load steps (frame) or Newton iterations (continuum)
    memory_GB: float
    seconds: float
    days: int | None = None
    hint: str = ""  # which fields make it smaller

    def summary(self) -> str:
        days = f", up to {self.days} days" if self.days is not None else ""
        return (f"{self.what}: about {self.cells:,} cells, {self.unknowns:,} unknowns, {self.solves:,} solves"
                f"{days}; about {self.memory_GB:.1f} GB and {_duration(self.seconds)}")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# ----------------------------------------------------------------------------- the frame model
def frame_counts(s, pose=None) -> tuple[int, int]:
    """(cells, unknowns) of the frame model of `s`, exactly, from its line-network plan."""
    from meshes.frame_network import plan_network

    plan = plan_network(s, pose)
    used: set[int] = set()
    cells = interior = 0
    for p0, p1, _tag, n in plan.lines:
        used.update((p0, p1))
        cells += n
        interior += n - 1
    for p0, _c, p1, _tag, n in plan.arcs:
        used.update((p0, p1))
        cells += n
        interior += n - 1
    return cells, 6 * (len(used) + interior)


def _case_steps(spec) -> int:
    """The load steps solved for one load case: its steps, or with `cycles` = n > 1 the
    steps of n loadings and n unloadings (sim.frame_model.FrameModel._cycle)."""
    return spec.steps * (2 * spec.cycles if spec.cycles > 1 else 1)


def _load_steps(s, cycles: bool = True) -> int:
    """The load steps of every load case; `cycles` False: the first loading only (the
    continuum model does not cycle)."""
    return sum(_case_steps(getattr(s.loads, case)) if cycles else getattr(s.loads, case).steps
               for case in s.loads.cases)


def _pretension_steps(s) -> int:
    return 3 + (len(s.wires) if s.solver.tensioning == "sequential" else 0)


def _frame_memory_GB(unknowns: int, cells: int, states: int) -> float:
    return FRAME_BASE_GB + (FRAME_BYTES_PER_UNKNOWN * unknowns + STATE_BYTES_PER_CELL * cells * states) / 1e9


def _frame_seconds(unknowns: int, solves: int, ranks: int) -> float:
    return FRAME_SETUP_S + FRAME_S_PER_UNKNOWN_STEP * unknowns * solves / max(1, ranks) ** 0.8


FRAME_HINT = ("a coarser mesh (mesh.element_size_mm, mesh.wire_element_size_mm), fewer load steps "
              "(loads.*.steps) or cycles (loads.*.cycles), or a smaller frame")


def estimate_frame_run(s, ranks: int = 1, keep_states: bool = True) -> SizeEstimate:
    """`ilizarov run` with the frame model (keep_states: the states kept for the pictures and
    the ParaView series: pretension, every step of every load case and each case's end)."""
    cells, unknowns = frame_counts(s)
    solves = _load_steps(s) + _pretension_steps(s)
    states = (1 + 2 * len(s.loads.cases) + _load_steps(s)) if keep_states else 0
    return SizeEstimate("frame model run", cells, unknowns, solves, _frame_memory_GB(unknowns, cells, states),
                        _frame_seconds(unknowns, solves, ranks), hint=FRAME_HINT)


# ----------------------------------------------------------------------------- the continuum model
def continuum_cells(s) -> int:
    """A rough count of the tetrahedra of the continuum model of `s` (see the module docstring)."""
    from meshes.continuum import _wire_line
    from sim.pin_geometry import pin_path

    c = s.continuum
    size = c.element_size_mm
    thinnest = min([w.diameter_mm for w in s.wires] + [p.diameter_mm for p in s.half_pins], default=1.8)
    hw = c.wire_element_size_mm or 0.5 * thinnest

    def around(r: float) -> float:  # gmsh puts 8 elements round a cylinder
        return 2.0 * math.pi * r / 8.0

    wires = zone = bulk = 0.0
    for w in s.wires:
        r = 0.5 * w.diameter_mm
        line = _wire_line(s, w)
        wires += math.pi * r * r * line.length_mm / min(hw, around(r)) ** 3
        zone += (2.0 * line.bone_half_chord_mm + 4.0 * line.clamp_radius_mm) * r / hw ** 2
    for p in s.half_pins:
        r = 0.5 * p.diameter_mm
        path = pin_path(s, p)
        length = path.t_tip  # from its clamp point to its tip, as the solid builds it
        wires += math.pi * r * r * length / min(hw, around(r)) ** 3
        zone += 2.0 * s.bone_radii_mm(path.near_outer[2])[0] * r / hw ** 2  # the bone it crosses, at its level
        rp = 0.5 * p.post_diameter_mm
        bulk += math.pi * rp * rp * (abs(p.post_height_mm) + p.diameter_mm) / min(size, around(rp)) ** 3
    prof = s.bone_profile()
    n_slabs = 64
    dz = s.bone.length_mm / n_slabs
    for k in range(n_slabs):  # the bone's cortex (and a metaphysis's cancellous core) slab by slab
        z = (k + 0.5) * dz
        ro, ri = s.bone_radii_mm(z)
        h_bone = min(size, ro - ri, around(ri) if ri > 0 else around(ro))
        bulk += math.pi * (ro * ro - ri * ri) * dz / h_bone ** 3
        if ri > 0 and prof.cancellous_at(z):
            bulk += math.pi * ri * ri * dz / min(size, around(ri)) ** 3
    for ring in s.rings:
        r_in = 0.5 * ring.inner_diameter_mm
        volume = math.pi * ((r_in + ring.width_mm) ** 2 - r_in ** 2) * ring.thickness_mm * ring.arc_deg / 360.0
        if ring.kind == "foot_plate":  # and its two straight arms
            volume += 2.0 * float(ring.arm_length_mm) * ring.width_mm * ring.thickness_mm
        bulk += volume / min(size, ring.thickness_mm) ** 3
    for rod in s.rods:
        rings = s.rod_rings(rod)
        length = rings[-1].level_mm - rings[0].level_mm + 0.5 * (rings[0].thickness_mm + rings[-1].thickness_mm)
        r = 0.5 * rod.diameter_mm
        bulk += math.pi * r * r * length / min(size, around(r)) ** 3
    return int(CONTINUUM_WIRE_CELLS_PER_H3 * wires + CONTINUUM_ZONE * zone + CONTINUUM_CELLS_PER_H3 * bulk)


CONTINUUM_HINT = ("a coarser solid (continuum.element_size_mm, continuum.wire_element_size_mm, or "
                  "continuum.element_degree = 1 for a preview), fewer load steps (loads.*.steps), or more MPI ranks "
                  "on a bigger machine")


def estimate_continuum_run(s, ranks: int = 1) -> SizeEstimate:
    """`ilizarov run --model continuum`."""
    cells = continuum_cells(s)
    c = s.continuum
    nodes = (1.95 if c.element_degree == 2 else 0.34) * cells
    unknowns = int(3 * nodes)
    iterations = int(CONTINUUM_ITERATIONS_PER_STEP * (_load_steps(s, cycles=False) + 3))
    solver = c.linear_solver
    if solver == "auto":
        solver = "lu" if unknowns < AUTO_LU_MAX_UNKNOWNS else "gamg"
    ratio = unknowns / CONTINUUM_REFERENCE_UNKNOWNS
    scale = max(1, ranks) ** 0.75
    if solver == "lu":
        memory = CONTINUUM_BASE_GB * max(1, ranks) + CONTINUUM_LU_GB * ratio ** (4.0 / 3.0)
        seconds = CONTINUUM_LU_S_PER_UNKNOWN_IT * unknowns * ratio ** 0.5 * iterations / scale
    else:
        memory = CONTINUUM_BASE_GB * max(1, ranks) + CONTINUUM_GAMG_BYTES_PER_UNKNOWN * unknowns / 1e9
        seconds = CONTINUUM_GAMG_S_PER_UNKNOWN_IT * unknowns * iterations / scale
    seconds += 20.0 + 2e-4 * cells  # meshing on rank 0
    return SizeEstimate(f"continuum model run ({solver.upper()})", cells, unknowns, iterations, memory, seconds,
                        hint=CONTINUUM_HINT)


# ----------------------------------------------------------------------------- treatments
def treatment_days(s) -> tuple[int, int, int]:
    """(latency, most distraction days, consolidation_max_days) of a treatment."""
    d = s.distraction
    travel = d.lengthening_mm
    if d.transport_ring is not None and s.defect is not None and d.lengthening_mm >= s.defect.length_mm - 1e-9:
        travel += max(5.0, 0.25 * d.lengthening_mm) + d.docking_compression_mm  # catch-up before docking
    return d.latency_days, math.ceil(travel / d.rate_mm_per_day - 1e-9), d.consolidation_max_days


def estimate_timeline(s, ranks: int = 1, pictures: bool = True) -> SizeEstimate:
    """`ilizarov timeline`: the longest the treatment can last."""
    from sim.scenario import Regenerate

    d = s.distraction
    with_regenerate = dataclasses.replace(s, gap=dataclasses.replace(s.gap, regenerate=Regenerate(modulus_MPa=1.0)))
    cells, unknowns = frame_counts(with_regenerate)
    latency, distraction, consolidation = treatment_days(s)
    days = latency + distraction + consolidation
    solves = _pretension_steps(s) + 2 + 2 * latency + (2 * d.steps_per_day + 1) * distraction + 2 * consolidation
    states = days + 1  # a state per day, for the animation and the ParaView series
    return SizeEstimate("treatment timeline", cells, unknowns, solves, _frame_memory_GB(unknowns, cells, states),
                        _frame_seconds(unknowns, solves, ranks), days=days,
                        hint="a faster rate (distraction.rate_mm_per_day), fewer steps a day, a shorter "
                             "consolidation (distraction.consolidation_max_days), --no-pictures, or a coarser mesh "
                             "(mesh.element_size_mm)")


def estimate_hexapod(s, ranks: int = 1, mechanics: bool = True) -> SizeEstimate:
    """`ilizarov hexapod`: the plan, and (mechanics) three hexapod solves and a classic frame."""
    from sim.correction import classic_frame
    from sim.hexapod import plan_correction

    _geom, schedule = plan_correction(s)
    days = len(schedule.days) - 1
    cells, unknowns = frame_counts(s)
    if not mechanics:
        return SizeEstimate("hexapod correction (plan only)", cells, unknowns, 0, FRAME_BASE_GB,
                            1.0 + 0.01 * days, days=days)
    classic_cells, classic_unknowns = frame_counts(classic_frame(s))
    per_run = _load_steps(s) + _pretension_steps(s)
    solves = 4 * per_run
    seconds = 3 * _frame_seconds(unknowns, per_run, ranks) + _frame_seconds(classic_unknowns, per_run, ranks)
    memory = _frame_memory_GB(max(unknowns, classic_unknowns), max(cells, classic_cells), 4)
    return SizeEstimate("hexapod correction", cells, unknowns, solves, memory, seconds, days=days, hint=FRAME_HINT)


def continuum_buildable(s) -> bool:
    """Whether the continuum builder takes this scenario (meshes.continuum.continuum_refusal:
    the bone bench, no hexapod, no defect...); the others are refused by the builder with its
    own message, before any estimate."""
    from meshes.continuum import continuum_refusal

    return continuum_refusal(s) is None


def estimate_command(s, command: str, ranks: int = 1, model: str = "frame", pictures: bool = True,
                     mechanics: bool = True) -> SizeEstimate | None:
    """The estimate of `ilizarov COMMAND` on `s` ("run", "timeline" or "hexapod"); None for
    a continuum run the builder will refuse anyway."""
    if command == "run":
        if model == "continuum":
            return estimate_continuum_run(s, ranks) if continuum_buildable(s) else None
        return estimate_frame_run(s, ranks)
    if command == "timeline":
        return estimate_timeline(s, ranks, pictures)
    if command == "hexapod":
        return estimate_hexapod(s, ranks, mechanics)
    raise ValueError(f"no estimate for command {command!r}")


# ----------------------------------------------------------------------------- budgets
def _cgroup_free_bytes() -> float | None:
    """Memory left under the cgroup's limit (a batch job's allocation), if there is one."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = float(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return float(limit) - used
    except (OSError, ValueError):
        return None


def available_memory_GB() -> float:
    """Memory this run may use (GB): ILIZAROV_MEMORY_GB, else what the system (and the
    cgroup of a batch job) says is available."""
    env = os.environ.get("ILIZAROV_MEMORY_GB")
    if env:
        try:
            return float(env)
        except ValueError:
            pass
    free = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = float(line.split()[1]) * 1024.0
                break
    except OSError:
        pass
    if free is None:
        try:
            free = float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            return math.inf
    cgroup = _cgroup_free_bytes()
    if cgroup is not None:
        free = min(free, cgroup)
    return free / 1e9


def time_budget_s() -> float:
    """ILIZAROV_TIME_BUDGET_S, or one hour."""
    try:
        return float(os.environ.get("ILIZAROV_TIME_BUDGET_S", DEFAULT_TIME_BUDGET_S))
    except ValueError:
        return DEFAULT_TIME_BUDGET_S


def check_memory(estimate: SizeEstimate) -> None:
    """SizeError if the estimate needs more than 90 % of the memory available."""
    memory = available_memory_GB()
    if estimate.memory_GB > 0.9 * memory:
        raise SizeError(f"{estimate.summary()}: more than the {memory:.1f} GB of memory available here "
                        f"(ILIZAROV_MEMORY_GB sets it); accepted: {estimate.hint or 'a smaller problem'}")


def check_fits(estimate: SizeEstimate, yes: bool = False) -> None:
    """SizeError if the estimate does not fit the memory available (always), or takes
    longer than the time budget (unless `yes`)."""
    check_memory(estimate)
    budget = time_budget_s()
    if estimate.seconds > budget and not yes:
        raise SizeError(f"{estimate.summary()}: longer than the time budget of {_duration(budget)} "
                        f"(ILIZAROV_TIME_BUDGET_S sets it); accepted: --yes to run it anyway, or "
                        f"{estimate.hint or 'a smaller problem'}")


__all__ = ["SizeError", "SizeEstimate", "available_memory_GB", "check_fits", "check_memory", "continuum_buildable", "continuum_cells",
           "estimate_command", "estimate_continuum_run", "estimate_frame_run", "estimate_hexapod",
           "estimate_timeline", "frame_counts", "time_budget_s", "treatment_days"]
