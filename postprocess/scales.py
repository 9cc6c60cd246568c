"""Colour scales of the pictures, chosen so that differences that matter show and noise does not.

Two quantities are coloured on the frame:

- wire tension (N): the scale spans the wires' range, but never less than
  `TENSION_MIN_SPAN_FRACTION` (10 %) of the typical tension (the median over the wires,
  at least `TENSION_MIN_SPAN_N`). Eight wires at 919-922 N are drawn in one colour on an
  874-966 N scale and the bar says "uniform" instead of spreading 3 N of numerical noise
  over the whole colormap. Clinically a tension change of less than a few per cent is
  within what a tensioner sets and the wire relaxes in a day.
- stress: von Mises stress over the yield (or strength) of each part's own material, in
  per cent ("utilisation"), so that a steel rod, an aluminium ring and the bone are read
  on one bar against what each can take. The scale runs from 0 to the peak utilisation
  rounded up, never below `UTILISATION_MIN_TOP_PERCENT` (20 %: below that every part is
  far from yielding and the differences do not matter) and never above 100 % (at or
  above yield: the top colour). Wires are coloured by tension, so their high stress does
  not set the scale of the rings.

Pictures that are compared (the steps of an animation, the runs of `compare`, the stages
of a hexapod correction) share one scale made from all their values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

TENSION_MIN_SPAN_FRACTION = 0.10
TENSION_MIN_SPAN_N = 20.0
UNIFORM_SPREAD_FRACTION = 0.01  # a spread below 1 % of the typical tension is called uniform
UTILISATION_MIN_TOP_PERCENT = 20.0
UTILISATION_MAX_TOP_PERCENT = 100.0
WIRE_CMAP = "plasma"
STRESS_CMAP = "coolwarm"

__all__ = ["ColourScale", "tension_scale", "utilisation_scale", "stress_scale_MPa", "part_yields_MPa",
           "TENSION_MIN_SPAN_FRACTION", "UTILISATION_MIN_TOP_PERCENT", "WIRE_CMAP", "STRESS_CMAP"]


@dataclass(frozen=True)
class ColourScale:
    """A colour bar: values lo..hi (the unit is in `label`) on the colormap `cmap`.

    note: a short remark printed under the bar (for example "uniform: 919-922 N").
    """

    lo: float
    hi: float
    cmap: str
    label: str
    note: str = ""

    @property
    def span(self) -> float:
        return self.hi - self.lo

    def normalised(self, values) -> np.ndarray:
        """Values mapped to 0..1 (clipped)."""
        return np.clip((np.asarray(values, float) - self.lo) / self.span, 0.0, 1.0)


def _finite(values: Iterable[float]) -> np.ndarray:
    a = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float).ravel()
    return a[np.isfinite(a)]


def _nice_ceil(x: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10 x 10^k at or above x (x > 0)."""
    exp = math.floor(math.log10(x))
    for m in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * 10.0**exp >= x * (1 - 1e-12):
            return float(round(m * 10.0**exp, 12))
    return float(10.0 ** (exp + 1))


def tension_scale(tensions_N: Iterable[float], reference_N: float | None = None) -> ColourScale:
    """Scale of the wire tension (N, tension > 0) over the given values.

    reference_N: the typical tension the minimum span is measured against; None: the
    median of |tension|. The span is at least max(TENSION_MIN_SPAN_FRACTION x reference,
    TENSION_MIN_SPAN_N), centred on the values when they spread less than that.
    """
    t = _finite(tensions_N)
    if len(t) == 0:
        return ColourScale(0.0, TENSION_MIN_SPAN_N, WIRE_CMAP, "wire tension [N]")
    lo, hi = float(t.min()), float(t.max())
    ref = abs(float(np.median(np.abs(t)))) if reference_N is None else abs(float(reference_N))
    min_span = max(TENSION_MIN_SPAN_FRACTION * ref, TENSION_MIN_SPAN_N)
    note = ""
    if hi - lo < UNIFORM_SPREAD_FRACTION * max(ref, TENSION_MIN_SPAN_N / TENSION_MIN_SPAN_FRACTION):
        note = (f"uniform: {lo:.0f} N" if round(lo) == round(hi) else f"uniform: {lo:.0f}-{hi:.0f} N")
    if hi - lo < min_span:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - 0.5 * min_span, mid + 0.5 * min_span
        if not note:
            note = f"all wires {t.min():.0f}-{t.max():.0f} N"
    return ColourScale(lo, hi, WIRE_CMAP, "wire tension [N]", note)


def utilisation_scale(utilisation_percent: Iterable[float]) -> ColourScale:
    """Scale of von Mises stress over yield (%): 0 to the peak rounded up, within 20-100 %."""
    u = _finite(utilisation_percent)
    peak = float(u.max()) if len(u) else 0.0
    top = min(UTILISATION_MAX_TOP_PERCENT, max(UTILISATION_MIN_TOP_PERCENT, _nice_ceil(peak) if peak > 0 else 0.0))
    note = f"peak {peak:.0f} % of yield" + (" (above yield: top colour)" if peak > 100.0 else "")
    return ColourScale(0.0, top, STRESS_CMAP, "von Mises stress / yield of the part [%]", note)


def stress_scale_MPa(stress_MPa: Iterable[float], top_MPa: float | None = None) -> ColourScale:
    """Scale of von Mises stress in MPa (when the parts' yields are not known): 0 to the
    peak (or top_MPa)."""
    s = _finite(stress_MPa)
    top = float(top_MPa) if top_MPa is not None else (float(s.max()) if len(s) else 1.0)
    return ColourScale(0.0, max(top, 1e-9), STRESS_CMAP, "von Mises stress [MPa]")


def part_yields_MPa(scenario: dict, parts: dict[int, tuple[str, str]]) -> dict[int, float]:
    """Yield (strength for bone) in MPa of each part tag, from the resolved scenario's
    materials (scenario.resolved.json). Parts whose material is not known are left out.
    """
    from sim.materials import material

    own = {m.get("name"): m for m in scenario.get("materials") or [] if isinstance(m, dict)}

    def strength(name, use=None):
        if name in own and isinstance(own[name].get("yield_stress_MPa"), (int, float)):
            return float(own[name]["yield_stress_MPa"])  # the scenario's own [[materials]]
        try:
            return float(material(name, use).yield_stress_MPa) if isinstance(name, str) else None
        except KeyError:
            return None

    by_name: dict[str, str] = {}
    for key in ("rings", "rods", "wires", "half_pins", "pin_clamps", "plates"):
        for item in scenario.get(key) or []:
            if isinstance(item, dict) and "name" in item and "material" in item:
                by_name[item["name"]] = item["material"]
    bone = (scenario.get("bone") or {}).get("material")
    strut = (scenario.get("hexapod") or {}).get("strut_material")
    out: dict[int, float] = {}
    for tag, (name, kind) in parts.items():
        kind = str(kind).upper()
        if kind == "BONE":
            y = strength(bone)
        elif kind == "STRUT":
            y = strength(strut, "strut")
        elif kind == "POST":
            y = strength(by_name.get(name.removesuffix("_post")), "post")
        else:  # "stainless_steel" is cold-worked for wires and pins, annealed for rings and rods
            y = strength(by_name.get(name), kind.lower())
        if y:
            out[int(tag)] = y
    return out
