"""The solved states of a run, saved beside results.json as frame.npz.

One file holds the line network (points in mm, 2-node cells, part tag per cell), the
part table (tag, name, kind) and, for every saved state (``pretension``, each load case
at the end of its steps, and ``<case>_step0`` ... at every recorded step of every load
case), the nodal displacement (mm), the nodal rotation vector (rad, ``rotation_rad``),
the section forces per cell ([N, V1, V2 (N), T, M1, M2 (N*mm)]) and the peak von Mises
stress per cell (MPa). Reports, comparisons and animations are drawn from it without
solving again; the same states are written for ParaView (postprocess.paraview).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

STATES_FILE = "frame.npz"
STATES_VERSION = 1


def save_states(path: Path, states: dict[str, dict], parts: dict[int, tuple[str, str]]) -> Path:
    any_state = next(iter(states.values()))
    data = {
        "states_version": np.array(STATES_VERSION),
        "points_mm": any_state["points_mm"],
        "cells": any_state["cells"],
        "part_tag": any_state["part_tag"],
        "part_tags": np.array(sorted(parts), dtype=np.int64),
        "part_names": np.array([parts[t][0] for t in sorted(parts)]),
        "part_kinds": np.array([parts[t][1] for t in sorted(parts)]),
        "state_names": np.array(list(states)),
    }
    for name, s in states.items():
        data[f"{name}__displacement_mm"] = s["displacement_mm"]
        data[f"{name}__section_forces"] = s["section_forces"]
        data[f"{name}__von_mises_MPa"] = s["von_mises_MPa"]
        if "rotation_rad" in s:
            data[f"{name}__rotation_rad"] = s["rotation_rad"]
    np.savez_compressed(path, **data)
    return path


class SavedStates:
    """frame.npz read back: `lines(name)` gives the dictionary render_frame takes."""

    def __init__(self, path: Path):
        with np.load(path, allow_pickle=False) as f:
            self.data = {k: f[k] for k in f.files}
        self.version = int(self.data["states_version"])
        self.names = [str(n) for n in self.data["state_names"]]
        self.parts = {int(t): (str(n), str(k)) for t, n, k in
                      zip(self.data["part_tags"], self.data["part_names"], self.data["part_kinds"])}

    def lines(self, name: str) -> dict:
        if name not in self.names:
            raise KeyError(f"state {name!r} is not saved; saved: {', '.join(self.names)}")
        d = self.data
        lines = {"points_mm": d["points_mm"], "cells": d["cells"], "part_tag": d["part_tag"],
                 "displacement_mm": d[f"{name}__displacement_mm"], "section_forces": d[f"{name}__section_forces"],
                 "von_mises_MPa": d[f"{name}__von_mises_MPa"]}
        if f"{name}__rotation_rad" in d:  # files written before the rotations were kept lack it
            lines["rotation_rad"] = d[f"{name}__rotation_rad"]
        return lines

    def axial_steps(self) -> list[str]:
        return self.steps("axial")

    def steps(self, case: str) -> list[str]:
        """The saved step states of load case `case` (``<case>_step<k>``), in load order."""
        prefix = f"{case}_step"
        steps = [n for n in self.names if n.startswith(prefix) and n[len(prefix):].isdigit()]
        return sorted(steps, key=lambda n: int(n[len(prefix):]))
