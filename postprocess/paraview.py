"""The frame model's states for ParaView: VTU files with a PVD index, written with meshio.

A series is one PVD file (``paraview/<name>.pvd``) listing one VTU file per state
(``paraview/<name>/step_000.vtu`` ...). `ilizarov run` writes one series per load case
(every recorded load step, step 0 being the pretensioned, unloaded frame); `ilizarov
timeline` writes one series ``days`` (the frame at the end of each day). ParaView opens
the PVD directly and steps through it with its time controls; PyVista reads it with
`pyvista.read` (a `pyvista.PVDReader`), meshio reads each VTU.

Every VTU is the line network in its reference (unloaded, untensioned) position, in mm,
two-node line cells, with

point data
    ``displacement_mm``   nodal displacement (x, y, z), mm, from the reference position
                          (use "Warp By Vector" to draw the deformed frame)
    ``rotation_rad``      nodal rotation vector (axis times angle, rad, right-handed),
                          from the reference orientation
cell data (one value per cell, at its midpoint)
    ``part_tag``          the part's tag (``parts.csv`` beside the PVDs names it)
    ``part_kind``         the part's kind (meshes.tags.PartKind: 1 bone, 2 regenerate,
                          3 ring, 4 wire, 5 rod, 6 half pin, 7 post, 8-15 connections,
                          12 strut)
    ``axial_force_N``     section normal force, N, tension positive (a wire's tension)
    ``shear_force_1_N``, ``shear_force_2_N``
                          section shear forces along the section's axes 1 and 2, N
    ``torsion_Nmm``       twisting moment about the cell's axis, N*mm
    ``bending_moment_1_Nmm``, ``bending_moment_2_Nmm``
                          bending moments about the section's axes 1 and 2, N*mm
    ``von_mises_MPa``     peak von Mises stress over the cell's section, MPa

The series' time (the PVD ``timestep``) is, for a load case, the load factor along the
load path: 0 to 1 over the first loading; with load-unload cycles it goes on growing by
the load factor's change (1 to 2 unloading, 2 to 3 loading again, ...), so that every
state has its own time. For the timeline it is the day. A table beside each PVD,
``paraview/<name>.csv``, gives per state its file, time and what the state is (load case:
``load_factor`` and ``load_N`` or ``load_Nm``, the applied force in N or moment in N*m;
timeline: ``day`` and the phase). (meshio's VTU writer keeps no field data, hence the table.)
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PARAVIEW_DIR = "paraview"
PARTS_FILE = "parts.csv"
SECTION_FORCE_NAMES = ("axial_force_N", "shear_force_1_N", "shear_force_2_N", "torsion_Nmm",
                       "bending_moment_1_Nmm", "bending_moment_2_Nmm")  # the columns of section_forces


@dataclass
class SeriesState:
    """One state of a series: its time in the PVD, the gathered lines (FrameModel.gather_lines
    or SavedStates.lines) and what to say of it in the series' table."""

    time: float
    lines: dict
    table: dict[str, float | int | str] = field(default_factory=dict)  # this state's row of <name>.csv


def _part_kinds(lines: dict, parts: Mapping[int, tuple[str, str]] | None) -> np.ndarray | None:
    if not parts:
        return None
    from meshes.tags import PartKind

    codes = {tag: int(PartKind[kind]) for tag, (_, kind) in parts.items()}
    return np.array([codes.get(int(t), 0) for t in lines["part_tag"]], dtype=np.int32)


def lines_mesh(lines: dict, parts: Mapping[int, tuple[str, str]] | None = None):
    """A meshio.Mesh of one state of the line network (see the module docstring for the
    arrays). `lines`: a dict with points_mm, cells, part_tag, displacement_mm,
    section_forces, von_mises_MPa and, if present, rotation_rad; `parts`: tag -> (name,
    kind name) for the part_kind array. Raises KeyError naming a missing array."""
    import meshio

    missing = [k for k in ("points_mm", "cells", "part_tag", "displacement_mm", "section_forces", "von_mises_MPa")
               if k not in lines]
    if missing:
        raise KeyError(f"the state lacks {', '.join(missing)}; accepted: a dict of FrameModel.gather_lines() "
                       "or SavedStates.lines()")
    point_data = {"displacement_mm": np.asarray(lines["displacement_mm"], dtype=np.float64)}
    if "rotation_rad" in lines:
        point_data["rotation_rad"] = np.asarray(lines["rotation_rad"], dtype=np.float64)
    forces = np.asarray(lines["section_forces"], dtype=np.float64)
    cell_data = {"part_tag": [np.asarray(lines["part_tag"], dtype=np.int32)]}
    kinds = _part_kinds(lines, parts)
    if kinds is not None:
        cell_data["part_kind"] = [kinds]
    for j, name in enumerate(SECTION_FORCE_NAMES):
        cell_data[name] = [np.ascontiguousarray(forces[:, j])]
    cell_data["von_mises_MPa"] = [np.asarray(lines["von_mises_MPa"], dtype=np.float64)]
    return meshio.Mesh(np.asarray(lines["points_mm"], dtype=np.float64),
                       [("line", np.asarray(lines["cells"], dtype=np.int64))],
                       point_data=point_data, cell_data=cell_data)


def state_grid(states, name: str, parts: Mapping[int, tuple[str, str]] | None = None):
    """The state `name` of a run as a pyvista.UnstructuredGrid (line cells in the reference
    position, mm, with the point and cell data of the module docstring), e.g.
    ``state_grid(SavedStates(run / "frame.npz"), "axial_step3").warp_by_vector("displacement_mm")``.

    states: a postprocess.states.SavedStates (its part table gives part_kind), or a
    mapping of state names to gathered lines (sim.run.FrameRun.states; pass `parts`, tag ->
    (name, kind name), for part_kind). Raises KeyError naming the saved states when `name`
    is not one of them."""
    import pyvista as pv

    if hasattr(states, "lines"):
        lines = states.lines(name)
        parts = getattr(states, "parts", None) if parts is None else parts
    else:
        if name not in states:
            raise KeyError(f"state {name!r} is not saved; saved: {', '.join(states)}")
        lines = states[name]
    return pv.from_meshio(lines_mesh(lines, parts))


def write_series(directory: Path, name: str, series: Sequence[SeriesState],
                 parts: Mapping[int, tuple[str, str]] | None = None) -> Path:
    """Write `series` as ``directory/name/step_NNN.vtu``, the index ``directory/name.pvd``
    (times strictly increasing: ValueError otherwise) and its table ``directory/name.csv``
    (step, file, time and each state's `table` entries); with `parts`, also
    ``directory/parts.csv`` (tag, name, the kind's code as in the cells' part_kind, and
    its name in lower case, e.g. clamp_link). Returns the PVD's path."""
    import meshio

    times = [s.time for s in series]
    if not series or any(b <= a for a, b in zip(times, times[1:])):
        raise ValueError(f"series {name!r}: times must be strictly increasing and not empty; got {times}")
    directory = Path(directory)
    (directory / name).mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(len(series) - 1)))
    root = ET.Element("VTKFile", type="Collection", version="0.1", byte_order="LittleEndian")
    coll = ET.SubElement(root, "Collection")
    rows = []
    for k, s in enumerate(series):
        rel = f"{name}/step_{k:0{width}d}.vtu"
        meshio.write(directory / rel, lines_mesh(s.lines, parts), file_format="vtu")
        ET.SubElement(coll, "DataSet", timestep=repr(float(s.time)), group="", part="0", file=rel)
        rows.append({"step": k, "file": rel, "time": float(s.time), **s.table})
    ET.indent(root)
    pvd = directory / f"{name}.pvd"
    ET.ElementTree(root).write(pvd, xml_declaration=True, encoding="utf-8")
    with open(directory / f"{name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        w.writeheader()
        w.writerows(rows)
    if parts:
        with open(directory / PARTS_FILE, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["part_tag", "name", "part_kind", "kind"])
            from meshes.tags import PartKind

            for tag in sorted(parts):
                name, kind = parts[tag]
                w.writerow([tag, name, int(PartKind[kind]), kind.lower()])
    return pvd


def read_series(pvd: Path) -> list[tuple[float, Path]]:
    """(time, VTU path) of every state listed in a PVD file, in its order."""
    pvd = Path(pvd)
    root = ET.parse(pvd).getroot()
    return [(float(d.get("timestep")), pvd.parent / d.get("file")) for d in root.iter("DataSet")]


def load_path_times(load_factors: Sequence[float]) -> list[float]:
    """The series' times of a load case: the load factor's accumulated change along the
    load path (equal to the load factor over the first loading). A state recorded at the
    same load factor as the one before it gets a time 1e-9 later, so every time is its own."""
    times: list[float] = []
    for k, lam in enumerate(load_factors):
        t = 0.0 if k == 0 else times[-1] + abs(lam - load_factors[k - 1])
        if k and t <= times[-1]:
            t = times[-1] + 1e-9
        times.append(float(t))
    return times


def write_load_cases(directory: Path, states: Mapping[str, dict], cases: Mapping[str, object],
                     parts: Mapping[int, tuple[str, str]]) -> dict[str, str]:
    """One series per load case from a run's states (``<case>_step<k>`` for every recorded
    step k of cases[case].steps, sim.frame_model.LoadCaseResult). Returns case -> PVD path
    relative to the run directory (``paraview/<case>.pvd``); `directory` is the run's
    ``paraview/`` folder."""
    out = {}
    for case_name, case in cases.items():
        steps = case.steps
        names = [f"{case_name}_step{k}" for k in range(len(steps))]
        if not all(n in states for n in names):
            continue
        unit = "load_N" if case.component < 3 else "load_Nm"
        times = load_path_times([s.load_factor for s in steps])
        series = [SeriesState(t, states[n], {"load_factor": s.load_factor, unit: s.load, "event": s.event or ""})
                  for t, n, s in zip(times, names, steps)]
        pvd = write_series(directory, case_name, series, parts)
        out[case_name] = f"{directory.name}/{pvd.name}"
    return out
