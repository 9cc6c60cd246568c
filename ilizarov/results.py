"""Typed results: the `results.json` of a frame or continuum run as pydantic models.

The models describe the contract of `results.json` (architecture.md, section 3) with the
field names, units and sign conventions of the file itself; a run's document validates
against them, and `schemas/results.schema.json` (shipped, generated from these models by
`python -m ilizarov.schema`) lets other tools check a file without Python.

Conventions (all fields): units are in the names (`_N`, `_mm`, `_Nm`, `_deg`, `_MPa`);
responses (displacements, rotations, interfragmentary motion) are measured from the
pretensioned state (the `*_absolute_*` fields from the unloaded, untensioned frame);
axial load and displacement are positive in compression (shortening); `ifm_axial_mm` is
positive when the gap closes. A field the model could not give (no gap, no load case) is
`None`. More fields than listed here may be present (they are kept, untyped): the
document grows, these names do not change.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RESULTS_VERSION = 2  # postprocess.metrics.RESULTS_VERSION (checked in the tests)


class _Doc(BaseModel):
    """A part of results.json: typed where listed, other keys kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Mesh(_Doc):
    cells: int = Field(description="number of cells (frame: beam and link elements; continuum: tetrahedra)")
    dofs: int = Field(description="number of degrees of freedom")


class WirePretension(_Doc):
    name: str = Field(description="the wire's name in the scenario")
    target_N: float = Field(description="the tension asked for (N)")
    achieved_N: float = Field(description="the tension in the wire once every wire is tensioned and clamped (N)")
    target_kgf: float | None = Field(None, description="target_N in kilogram-force (1 kgf = 9.80665 N)")
    achieved_kgf: float | None = Field(None, description="achieved_N in kilogram-force")
    start_span_N: float | None = Field(None, description="frame model: the tension of the wire's span between its "
                                       "start clamp and the bone (N; its start: the clamp behind its angle_deg)")
    end_span_N: float | None = Field(None, description="frame model: the tension of the wire's span between the "
                                     "bone and its end clamp (N); differs from start_span_N for an olive wire "
                                     "pulled from the end away from its olive (Wire.tensioned_from)")


class Pretension(_Doc):
    mode: str = Field(description="how the wires were tensioned: 'simultaneous' or 'sequential'")
    wires: list[WirePretension]


class CriticalPart(_Doc):
    part: str = Field(description="the part with the smallest safety factor of its group")
    safety_factor: float = Field(description="yield stress over peak von Mises stress (-)")
    von_mises_MPa: float = Field(description="the part's peak von Mises stress (MPa)")
    yield_MPa: float = Field(description="the yield stress of the part's material, in the condition it is made in (MPa)")


class Event(_Doc):
    part: str = Field(description="what happened where: 'gap_contact', or the part that first yields")
    load: float = Field(description="the load at the event (N for the axial case, N*m for moments)")
    load_factor: float = Field(description="the load over the case's full load (-)")
    step: int = Field(description="the index of the event's own step in the case's step lists")


class CycleSummary(_Doc):
    """Load-unload cycles of a case (`loads.<case>.cycles`)."""

    cycles: list[dict[str, Any]] = Field(description="per cycle: the response and the wires' tension at full load "
                                                      "and unloaded")
    wire_tension_loss_N: dict[str, float] = Field(description="per wire: tension lost since pretension after the "
                                                              "last cycle (N)")
    wire_tension_loss_percent: dict[str, float] = Field(description="the same in % of the achieved pretension")
    permanent_set: float = Field(description="the response left unloaded after the last cycle (mm or deg)")


class _Case(_Doc):
    wire_tension_N: dict[str, float] = Field(description="per wire: tension at full load (N, positive in tension)")
    max_von_mises_MPa: dict[str, float] = Field(description="per group of parts (bone, wires, rings, rods, "
                                                            "half_pins, struts): peak von Mises stress (MPa)")
    safety_factor: dict[str, float | None] = Field(default_factory=dict, description="per group: the smallest "
                                                   "yield/peak stress of its parts (None: unloaded)")
    critical_parts: dict[str, CriticalPart] = Field(default_factory=dict)
    first_yield_part: str | None = Field(None, description="the part that yields first in this case, if any")
    newton_iterations: int | None = Field(None, description="Newton iterations over the case")
    contact_events: list[Event] = Field(default_factory=list)
    cyclic: CycleSummary | None = None
    warnings: list[str] = Field(default_factory=list)


class AxialCase(_Case):
    """The axial (weight-bearing) case: compression along the bone, positive in compression."""

    load_N: list[float] = Field(description="the load at each step (N), from 0 to the full load")
    displacement_mm: list[float] = Field(description="the shortening of the construct at each step (mm), from the "
                                                     "pretensioned state")
    secant_stiffness_N_per_mm: float | None = Field(description="full load over full displacement (N/mm)")
    tangent_stiffness_N_per_mm: float | None = Field(None, description="the tangent stiffness at full load (N/mm)")
    initial_stiffness_N_per_mm: float | None = Field(None, description="the tangent stiffness at the pretensioned "
                                                                       "state (N/mm)")
    wire_tension_max_N: dict[str, float] = Field(default_factory=dict, description="per wire: the largest tension "
                                                 "along it at full load (N)")
    ifm_axial_mm: float | None = Field(description="interfragmentary motion along the bone at full load (mm, "
                                                   "positive closing the gap); None without a gap")
    ifm_shear_mm: float | None = Field(description="interfragmentary motion across the bone at full load (mm)")
    gap_strain: float | None = Field(description="ifm_axial_mm over the gap's width (-), with tissue in the gap; "
                                                 "None for an empty gap")
    frame_load_share: float | None = Field(None, description="the share of the load the frame carries (-)")
    load_through_gap_N: float | None = Field(None, description="the load carried across the gap (N)")
    gap_closed_at_N: float | None = Field(None, description="the load at which the fragment ends touch (N)")
    stiffness_before_contact_N_per_mm: float | None = Field(None, description="the frame's stiffness until the "
                                                            "ends touch (N/mm)")
    stiffness_in_contact_N_per_mm: float | None = Field(None, description="the construct's tangent stiffness once "
                                                        "the ends touch (N/mm)")
    first_yield_at_N: float | None = Field(None, description="the load at which a part first yields (N)")


class MomentCase(_Case):
    """A bending (about the medio-lateral or antero-posterior axis) or torsion case."""

    moment_Nm: list[float] = Field(description="the moment at each step (N*m)")
    rotation_deg: list[float] = Field(description="the rotation of the loaded end about the moment's axis (deg), "
                                                  "from the pretensioned state")
    stiffness_Nm_per_deg: float | None = Field(description="full moment over full rotation (N*m/deg)")
    initial_stiffness_Nm_per_deg: float | None = Field(None, description="tangent at the pretensioned state")
    tangent_stiffness_Nm_per_deg: float | None = Field(None, description="tangent at full load")
    ifm_axial_mm: float | None = None
    ifm_shear_mm: float | None = None
    gap_rim_closed_at_Nm: float | None = Field(None, description="the moment at which the gap's rim first closes")
    first_yield_at_Nm: float | None = Field(None, description="the moment at which a part first yields (N*m)")


class LoadCases(_Doc):
    axial: AxialCase | None = None
    bending_ap: MomentCase | None = Field(None, description="bending in the sagittal plane (antero-posterior)")
    bending_ml: MomentCase | None = Field(None, description="bending in the coronal plane (medio-lateral)")
    torsion: MomentCase | None = Field(None, description="torsion about the bone's axis")


class RunResults(_Doc):
    """The results.json of `ilizarov run` (frame or continuum model)."""

    results_version: int = Field(description=f"the document's version ({RESULTS_VERSION})")
    model: Literal["frame", "continuum"]
    scenario: str = Field(description="the scenario's name")
    setup: str | None = Field(None, description="the test set-up: bone_bench, frame_only, ring_held, ...")
    mesh: Mesh
    pretension: Pretension | None = None
    load_cases: LoadCases
    timings_s: dict[str, float] = Field(description="wall-clock seconds: mesh, solve, total and per stage")
    max_von_mises_MPa: dict[str, float] = Field(default_factory=dict, description="per group, over all cases (MPa)")
    max_von_mises_by_part_MPa: dict[str, float] = Field(default_factory=dict)
    safety_factor: dict[str, float | None] = Field(default_factory=dict)
    critical_parts: dict[str, CriticalPart] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    assumptions: dict[str, Any] = Field(default_factory=dict, description="how wires and pins hold the bone, joints, "
                                        "contact, tensioning, kinematics, materials with their sources")
    mpi_ranks: int | None = None

    # shortcuts a notebook user reaches for first
    @property
    def axial(self) -> AxialCase | None:
        """`load_cases.axial`."""
        return self.load_cases.axial

    @property
    def bending_ap(self) -> MomentCase | None:
        """`load_cases.bending_ap`."""
        return self.load_cases.bending_ap

    @property
    def bending_ml(self) -> MomentCase | None:
        """`load_cases.bending_ml`."""
        return self.load_cases.bending_ml

    @property
    def torsion(self) -> MomentCase | None:
        """`load_cases.torsion`."""
        return self.load_cases.torsion

    def wire_tensions_N(self) -> dict[str, float]:
        """Each wire's tension after pretensioning (N), by name."""
        return {w.name: w.achieved_N for w in (self.pretension.wires if self.pretension else [])}


class TimelineSummary(_Doc):
    """timeline.json of `ilizarov timeline` (a treatment followed day by day)."""

    timeline_version: int
    model: Literal["frame"]
    scenario: str
    treatment: Literal["lengthening", "bone_transport"]
    days: int = Field(description="days followed after surgery")
    distraction_end_day: int | None = None
    achieved_lengthening_mm: float
    lengthening_deficit_mm_at_end_of_distraction: float | None = None
    distraction_force_at_end_of_distraction_N: float | None = None
    distraction_force_peak_N: float | None = None
    frame_removal_day: int | None = Field(None, description="the first day the frame's share of the weight-bearing "
                                          "load falls below protocol.removal_load_share")
    frame_load_share_final: float | None = None
    healing_index_days_per_cm: float | None = None
    max_wire_deflection_mm: float | None = None
    docking_day: int | None = None
    timings_s: dict[str, float] = Field(default_factory=dict)


class HexapodSummary(_Doc):
    """hexapod.json of `ilizarov hexapod` (the correction plan and its mechanics)."""

    deformity_angle_deg: float = Field(description="the angle of the deformity's single rotation (deg)")
    largest_daily_motion_at_risk_mm: float = Field(description="the largest daily motion of the structure at risk")
    strut_lengths_start_mm: list[float]
    strut_lengths_end_mm: list[float]
    residual_at_end: dict[str, Any] = Field(default_factory=dict)
    stiffness: list[dict[str, Any]] = Field(default_factory=list)
    timings_s: dict[str, float] = Field(default_factory=dict)


def _field_lines(cls: type[BaseModel]) -> str:
    """The fields of a model as text for help(): name, type and description (units in the
    names); pydantic keeps the descriptions in model_fields, where help() does not look."""
    lines = []
    for name, f in cls.model_fields.items():
        kind = getattr(f.annotation, "__name__", None) or str(f.annotation).replace("typing.", "")
        lines.append(f"    {name} ({kind}){': ' + f.description if f.description else ''}")
    return "\n\nFields:\n" + "\n".join(lines) if lines else ""


def _subclasses(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


for _cls in _subclasses(_Doc):
    if not _cls.__name__.startswith("_") and "\n\nFields:\n" not in (_cls.__doc__ or ""):
        _cls.__doc__ = (_cls.__doc__ or _cls.__name__) + _field_lines(_cls)


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of results.json, from `RunResults`."""
    schema = RunResults.model_json_schema(mode="serialization")
    for name, definition in [("RunResults", schema), *schema.get("$defs", {}).items()]:
        text = definition.get("description", "").split("\n\nFields:\n")[0]  # help()'s field list: in properties
        if text and text != name:
            definition["description"] = text
        else:
            definition.pop("description", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "results.json of ilizarov run (frame or continuum model)"
    schema["description"] = (__doc__ or "").strip()
    return schema
