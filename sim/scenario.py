"""Scenario files: TOML in, a validated immutable `Scenario` out.

Coordinates (used everywhere in the toolkit): the bone axis is the z axis, z = 0 at the
distal end of the bone and +z towards proximal; x is medio-lateral (+x the patient's right:
lateral on a right limb, the default `bone.side`, medial on a left one), y is
antero-posterior (+y anterior). Angles in a ring's plane are measured from +x towards +y
(counter-clockwise seen from proximal). Lengths in mm, forces in N, moments in N*m in
the file (N*mm inside the solver), tensions in N or kgf.

Every error is a `ScenarioError` naming the field (as a path like ``wires[2].offset_mm``),
the value, and what would be accepted.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import json
import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import ConfigDict, TypeAdapter, ValidationError

from sim import ring_geometry
from sim.geometry import WIRE_CLEARANCE_MM, plan_chord, segment_distance_3d, wire_path
from sim.geometry import wire_plate_ends as _wire_plate_ends
from sim.materials import ALIASES, MATERIALS, TISSUE_MODULI_MPa, Material, material
from sim.units import N_PER_KGF

LOAD_CASES = ("axial", "bending_ap", "bending_ml", "torsion")
LoadSetup = Literal["bone_bench", "frame_only", "ring_held"]
Tensioning = Literal["sequential", "simultaneous", "initial_strain"]
Face = Literal["top", "bottom"]
WireEnd = Literal["start", "end"]


class ScenarioError(ValueError):
    """A scenario value that cannot be accepted. `field` is its path in the file."""

    def __init__(self, field_path: str, message: str):
        self.field = field_path
        self.message = message
        super().__init__(f"{field_path}: {message}" if field_path else message)


# --------------------------------------------------------------------------- parts
@dataclass(frozen=True)
class Regenerate:
    """Tissue filling the osteotomy gap: a named tissue or an explicit modulus."""

    tissue: str | None = None
    modulus_MPa: float | None = None
    poisson_ratio: float = 0.3

    @property
    def youngs_modulus_MPa(self) -> float:
        if self.modulus_MPa is not None:
            return self.modulus_MPa
        return TISSUE_MODULI_MPa[self.tissue]


@dataclass(frozen=True)
class Bone:
    """The bone along the z axis from z = 0 (distal end) to z = length_mm.

    Its shape (sim.bones, docs/bones.md): a uniform cortical tube (outer_diameter_mm,
    inner_diameter_mm) by default; an anatomical `template` ("tibia", "femur") whose shaft
    has these mid-shaft diameters and flares into its metaphyses, where the cortex thins
    and the canal is filled with cancellous bone (`cancellous_material`); or a `surface`
    read from a file (STL, OBJ, PLY; mm, long axis along z; a relative path is relative to
    the scenario file), from which both models take the section along z, with a canal of
    `canal_ratio` x the outer radius (a surface gives the outer shape only; length_mm then
    defaults to the surface's length). Ask the radii at a level through
    `Scenario.bone_radii_mm(z)`. side: the limb, "right" (default) or "left": +x points to
    the patient's right, so +x is lateral on a right limb and medial on a left one.

    intact: a whole bone with no osteotomy (a bench test of how a frame holds a bone, e.g.
    Khurana et al. 2010); the [gap] table then does not apply and a file that gives one
    is refused.
    """

    length_mm: float = 360.0
    outer_diameter_mm: float = 24.0
    inner_diameter_mm: float = 12.0
    material: str = "cortical_bone"
    limb_diameter_mm: float = 100.0  # soft-tissue envelope of the limb around the bone
    min_skin_clearance_mm: float = 15.0  # room needed between skin and ring (swelling)
    intact: bool = False
    template: Literal["tibia", "femur"] | None = None
    side: Literal["right", "left"] | None = None  # default: the hexapod's side, else right
    surface: str | None = None
    canal_ratio: float = 0.5  # canal radius / outer radius of an imported surface
    cancellous_material: str = "cancellous_bone"  # fills a template's metaphyseal canal


@dataclass(frozen=True)
class Hindfoot:
    """The hindfoot under an ankle frame (talus and calcaneus), as the bottom of the bone:
    from z = 0 (under the heel) up to height_mm the bone is a solid block width_mm across
    (a calcaneus is about 40 mm wide medio-lateral, its body about 48 mm tall), where the
    foot plate's wires and pins cross it; above it the tibia's tube. Only the radius steps
    (`hindfoot_radii_mm`): the block keeps the bone's material, and the frame model's bone
    beam keeps the tube's section (docs/frame-model.md, "Foot plates")."""

    height_mm: float = 50.0
    width_mm: float = 40.0


@dataclass(frozen=True)
class Butterfly:
    """A butterfly (wedge) fragment of a wedge fracture (AO/OTA type B), beside the gap.

    side_deg: the direction in the transverse plane where the wedge sits (deg, from +x
    towards +y, like Gap.obliquity_axis_deg); arc_deg: the cortex it takes round the bone;
    length_mm: its extent along the bone at the surface, centred on the gap's level. The
    wedge is the prism of the cortex within arc_deg / 2 of side_deg between those levels
    (sim.fracture_geometry). free = true: a loose fragment that carries no load (the lower
    bound); a fragment fixed by a lag screw is not built (refused)."""

    side_deg: float = 0.0
    arc_deg: float = 120.0
    length_mm: float = 30.0
    free: bool = True


@dataclass(frozen=True)
class Gap:
    """The osteotomy or fracture gap: centre level (from the distal end) and width."""

    level_mm: float = 180.0
    width_mm: float = 2.0
    regenerate: Regenerate | None = None
    # an oblique fracture: the plane's angle to the transverse plane (0: transverse) and the
    # direction in the transverse plane towards which it descends (see `Gap.plane_normal`)
    obliquity_deg: float = 0.0
    obliquity_axis_deg: float = 0.0
    # Coulomb friction between the fragment ends once they touch (frame model; 0: frictionless,
    # the upper bound of interfragmentary shear): sim.elements.contact, docs/frame-model.md
    friction_coefficient: float = 0.0
    butterfly: Butterfly | None = None  # a wedge fracture's third fragment ([gap.butterfly])

    def plane_normal(self) -> tuple[float, float, float]:
        """The unit normal of the fracture plane, pointing proximally (+z side).

        The plane through the gap's centre on the bone axis descends towards the direction
        obliquity_axis_deg (from +x towards +y) by obliquity_deg: z - level_mm =
        -tan(obliquity) (x cos(axis) + y sin(axis)). width_mm is the gap's extent along the
        bone axis (its thickness across the plane is width_mm cos(obliquity))."""
        a, b = math.radians(self.obliquity_deg), math.radians(self.obliquity_axis_deg)
        return (math.sin(a) * math.cos(b), math.sin(a) * math.sin(b), math.cos(a))

    def axial_reach_mm(self, radius_mm: float) -> float:
        """How far (mm, along z) the fracture plane reaches above and below the gap's centre
        level at a radius radius_mm from the bone axis: radius tan(obliquity)."""
        return radius_mm * math.tan(math.radians(self.obliquity_deg))


RingKind = Literal["full", "five_eighths", "two_thirds", "half", "femoral_arch", "foot_plate"]
HoleMode = Literal["anywhere", "check", "snap"]  # how parts relate to a ring's holes (sim.ring_holes)
# The arc each kind of ring covers (deg): an open ring is an arc of a full ring's centroid
# circle, the rest of the circle is its opening. A femoral arch gives its own (arch_deg).
RING_ARC_DEG: dict[str, float] = {"full": 360.0, "five_eighths": 225.0, "two_thirds": 240.0, "half": 180.0,
                                  "foot_plate": 180.0}  # a foot plate's semicircle; its arms are straight


@dataclass(frozen=True)
class Ring:
    """A ring in the plane z = level_mm; width is radial, thickness axial.

    kind: "full" (the default), or an open ring: "five_eighths" (an arc of 225 deg),
    "two_thirds" (240 deg), "half" (180 deg) or "femoral_arch" (arch_deg) of the same
    centroid circle, with the same section. opening_deg: the direction the opening faces
    (the middle of the missing arc, angles as everywhere from +x towards +y; e.g. 270,
    posterior, for a proximal tibial 5/8 ring that lets the knee flex; 180 for an arch
    centred laterally); required for an open ring, not accepted on a full one. arch_deg:
    the arc a femoral arch covers; required for kind "femoral_arch" only. Wires, rods,
    half-pin posts, hexapod struts and test-machine mounts attach only on the arc
    (validate refuses one in the opening).

    kind "foot_plate": the U-shaped plate of Ilizarov and TSF foot frames, a semicircle of
    the ring's centroid circle round the heel continued by two straight parallel arms,
    arm_length_mm long (required), towards the toes; opening_deg is the direction the arms
    point (e.g. 90, anterior); the same section all along. Its inner width between the arms
    is inner_diameter_mm. Parts attach on its U centreline (sim.ring_geometry), never
    between the arms' tips.

    holes: how parts relate to the ring's holes (sim.ring_holes: one row at a constant
    pitch on the centroid circle, hole 1 at angle 0 on a full ring, an open ring's
    symmetric about its arc's middle): "anywhere" (the default: parts attach where their
    angles say), "check" (validate refuses a rod, half-pin post, pin clamp or wire post
    off a hole, a wire end farther than half a pitch from a free hole, and two parts in
    one hole) or "snap" (rods, half-pin posts and pin clamps move to the nearest free hole
    when the scenario is read; validate says what moved). hole_count: the holes of a full
    ring of this size (an open ring is cut from it); default: the assumed catalogue rule
    of sim.ring_holes (about 16 mm pitch, a multiple of 8: 32 holes at 160 mm).
    """

    name: str
    level_mm: float
    inner_diameter_mm: float = 160.0
    width_mm: float = 16.0
    thickness_mm: float = 6.0
    material: str = "stainless_steel"
    centre_xy_mm: tuple[float, float] = (0.0, 0.0)
    kind: RingKind = "full"
    opening_deg: float | None = None
    arch_deg: float | None = None
    arm_length_mm: float | None = None
    holes: HoleMode = "anywhere"
    hole_count: int | None = None

    @property
    def centroid_radius_mm(self) -> float:
        return 0.5 * self.inner_diameter_mm + 0.5 * self.width_mm

    @property
    def arc_deg(self) -> float:
        """The arc the ring covers (deg): 360 for a full ring."""
        if self.kind == "femoral_arch":
            return float(self.arch_deg or 0.0)
        return RING_ARC_DEG[self.kind]

    @property
    def is_open(self) -> bool:
        return self.arc_deg < 360.0

    @property
    def arc_start_deg(self) -> float:
        """Where the arc begins, in [0, 360) deg; it runs counter-clockwise (seen from
        proximal) over arc_deg. 0 for a full ring."""
        if not self.is_open:
            return 0.0
        return (float(self.opening_deg or 0.0) + 0.5 * (360.0 - self.arc_deg)) % 360.0

    def arc_position_deg(self, angle_deg: float) -> float:
        """How far along the arc (deg, from its start, counter-clockwise) the direction
        angle_deg lies, in [0, 360); above arc_deg: in the opening."""
        return (angle_deg - self.arc_start_deg) % 360.0


@dataclass(frozen=True)
class Wire:
    """A Kirschner wire across a ring, clamped at both ends on one face of the ring.

    angle_deg: direction of the wire in the ring plane; offset_mm: signed perpendicular
    distance of the wire from the bone axis, positive to the left of its direction.
    tension_N: the target pretension (positive = tension). transfixion_pin: a thicker
    smooth pin (Steinmann pin, 2.5-6.5 mm) through both cortices and clamped to the ring at
    both ends, usually untensioned (veterinary and some human frames); the mechanics are a
    wire's.

    Where it lies (sim.geometry.wire_path, used by both models and by validate): the wire's
    *start* is its clamp behind its direction angle_deg, its *end* the clamp ahead.
    incline_deg: the angle of the wire to the ring's plane (0, the default: in the plane);
    the wire passes its crossing of the bone axis at the ring-face level (or the posts'
    level) and rises towards its end: > 0 the end is proximal (+z), < 0 distal; its ends
    are clamped on posts or washers at the heights where it meets the clamp positions.
    post_height_mm: a drop wire, or a wire on offset blocks: both ends clamped on posts
    (wire-fixation bolts on posts) with the wire's axis at the ring's mid-plane +
    post_height_mm (> 0 above the ring, < 0 below; face is then not used); None (the
    default): on the face, as `face` says. The posts are parts of both models (a beam
    with the solid's clamp-post section in the frame model, a cylinder in the solid).
    olive_side: which end's side the olive is on, "start" or "end" (needs olive = true):
    the olive bears on that side's cortex, and only that cortex holds the bone along the
    wire (the wire slides through the other); olive = true without olive_side keeps the
    olive wire held along it at both cortices. tensioned_from: "both_ends" (the default:
    two tensioners, or one end then the other), "start" or "end" (one tensioner, the other
    end clamped first). A smooth wire slides through the bone, so one tension runs from
    clamp to clamp whichever end is pulled; an olive wire pulled from the end away from
    its olive presses the olive on the cortex, which carries the difference into the
    bone: the span between the olive and its clamp is not pretensioned by the tensioner
    (how olive wires pull fragments), and the wire's reported tension is the pulled
    span's (what the tensioner reads).

    start_plate and start_hole, end_plate and end_hole: that end's clamp stands in a hole
    (2 to the plate's holes) of a connection plate ([[plates]]) bolted to this wire's ring
    on its face, e.g. across an open ring's opening or beyond a small ring; the wire's line
    (angle_deg, offset_mm) must pass within sim.geometry.WIRE_ON_PLATE_REACH_MM of the hole
    in plan, and the wire lies on the plate (its face level raised by the plate's
    thickness; washers under a clamp on the ring). Not with post_height_mm or incline_deg.
    """

    name: str
    ring: str
    angle_deg: float
    tension_N: float
    diameter_mm: float = 1.8
    offset_mm: float = 0.0
    face: Face = "top"
    olive: bool = False
    material: str = "stainless_steel"
    transfixion_pin: bool = False
    incline_deg: float = 0.0
    post_height_mm: float | None = None
    olive_side: WireEnd | None = None
    tensioned_from: Literal["both_ends", "start", "end"] = "both_ends"
    start_plate: str | None = None
    start_hole: int | None = None
    end_plate: str | None = None
    end_hole: int | None = None

    @property
    def tension_kgf(self) -> float:
        return self.tension_N / N_PER_KGF


@dataclass(frozen=True)
class Rod:
    """A threaded connecting rod parallel to the bone, bolted to every ring it passes.

    It runs from ring `from_ring` to ring `to_ring` (default: lowest to highest) at the
    angle angle_deg on the rings' centroid circle. inner_diameter_mm > 0: a hollow
    connector (a tube, e.g. the TSF's tube connectors; 0: a solid threaded rod, whose
    diameter_mm is then its root, not its nominal, diameter for stiffness).

    An end on a connection plate ([[plates]]): from_plate (instead of from_ring) and
    from_hole, or to_plate and to_hole: that end is bolted in the plate's hole (2 to the
    plate's holes; hole 1 is the plate's bolt), and the rod runs straight between its two
    ends (leaning up to ROD_LEAN_MAX_DEG), bolted to no ring in between. angle_deg places
    an end on a ring; with both ends on plates leave it out (it is then the direction of
    the lower end's hole from the bone's axis, for the pictures and the lists).
    """

    name: str
    angle_deg: float | None = None
    diameter_mm: float = 6.0
    material: str = "stainless_steel"
    inner_diameter_mm: float = 0.0
    from_ring: str | None = None
    to_ring: str | None = None
    length_mm: float | None = None
    # a telescopic rod (kind = "telescopic"): a tube from the lower ring over this rod (the
    # inner section, diameter_mm) from the upper ring; see `telescopic_sections`
    kind: RodKind = "threaded"
    tube_diameter_mm: float | None = None
    tube_inner_diameter_mm: float | None = None
    tube_length_mm: float | None = None
    overlap_mm: float | None = None
    from_plate: str | None = None
    from_hole: int | None = None
    to_plate: str | None = None
    to_hole: int | None = None

    def telescopic_sections(self, span_mm: float) -> tuple[float, float, float]:
        """A telescopic rod's three lengths along its axis (mm), from its lower ring: the
        tube alone, the overlap (the inner rod inside the tube, the two in parallel), the
        inner rod alone; they add up to span_mm, the distance between the rings' points.
        The tube runs tube_length_mm from the lower ring; the inner rod reaches overlap_mm
        into it."""
        tube, overlap = float(self.tube_length_mm), float(self.overlap_mm)
        return tube - overlap, overlap, span_mm - tube


RodKind = Literal["threaded", "telescopic"]


@dataclass(frozen=True)
class Hinge:
    """An Ilizarov hinge: it interrupts each of its rods at level_mm with a revolute joint
    whose axis, common to all of them, runs horizontally in the direction axis_deg (from +x
    towards +y) through the rods' points at that level (the hinges sit on the rods' line).
    The parts above turn about that axis relative to those below, held only by what else
    crosses the level (e.g. a distraction rod or a motor, as in a gradual angular
    correction): see `validate` (a hinged frame that nothing else closes is refused).
    """

    name: str
    rods: tuple[str, ...]
    level_mm: float
    axis_deg: float

    def axis(self) -> tuple[float, float, float]:
        a = math.radians(self.axis_deg)
        return (math.cos(a), math.sin(a), 0.0)


@dataclass(frozen=True)
class HalfPin:
    """A threaded half pin (Schanz screw) from a post on a ring, or from a hole of a
    multi-pin clamp or Rancho cube ([[pin_clamps]]), into the bone.

    The post stands on the ring at angle_deg (on its centroid circle); the pin leaves it
    at post_height_mm above the ring's mid-plane (negative = below). Its direction
    (sim.pin_geometry, where both models and validate place it): tilt_deg: its
    inclination to the ring's plane, + towards proximal (the pin rises, +z, as it goes
    into the bone), - towards distal; a pin's divergence in the sagittal or coronal plane;
    aim_deg: its direction in plan view relative to the radial direction, counter-
    clockwise seen from proximal (0: aimed at the bone's axis); offset_mm: instead of
    aim_deg, the plan distance at which its axis passes the bone's axis (signed, + to the
    left of its direction, as a wire's). Defaults: the radial, horizontal pin.
    bicortical: the pin engages both cortices, its tip 2 mm past the far one; otherwise
    the near cortex only, its tip 1 mm into the medullary canal.
    clamp: the name of the [[pin_clamps]] entry that holds it (its ring, angle_deg, post
    and the height of its hole then come from the clamp: leave them out); hole: which of
    the clamp's holes (1 = on the clamp's post), required when the clamp has several.
    plate: the name of the connection plate ([[plates]]) whose hole `hole` (2 to its holes)
    its post stands in, instead of the ring (its ring and angle_deg then come from the
    plate: leave them out); post_height_mm is still measured from the ring's mid-plane and
    must put the pin beyond the plate's outer face.
    """

    name: str
    ring: str | None = None
    angle_deg: float | None = None
    diameter_mm: float = 6.0
    post_height_mm: float = 20.0
    post_diameter_mm: float = 12.0
    bicortical: bool = True
    material: str = "stainless_steel"
    inner_diameter_mm: float = 0.0  # > 0: a cannulated pin
    tilt_deg: float = 0.0
    aim_deg: float = 0.0
    offset_mm: float | None = None
    clamp: str | None = None
    hole: int | None = None
    plate: str | None = None


PinClampKind = Literal["multi_pin_clamp", "rancho_cube"]
PinRow = Literal["axial", "tangential"]


@dataclass(frozen=True)
class PinClampBlock:
    """A block that holds several half pins on one post of a ring ([[pin_clamps]]): a
    multi-pin clamp, or a Rancho cube (a cube bolted to the ring or to a post, its holes
    taking 4-6 mm half pins through centring sleeves). Both models make it one rigid block
    (the frame model: stiff links from the post's top to each pin; the solid: a box).

    The post stands on ring `ring` at angle_deg and carries the block at post_height_mm
    above the ring's mid-plane (negative = below). holes: how many pin holes it has,
    hole_spacing_mm apart along its row: "axial" (stacked along the bone, away from the
    ring) or "tangential" (side by side along the ring, counter-clockwise); hole 1 is on
    the post. Each pin gives its own tilt_deg and aim_deg, so pins in one clamp are
    parallel or diverge. block_mm: the block's size across its row.
    """

    name: str
    ring: str
    angle_deg: float
    kind: PinClampKind = "multi_pin_clamp"
    holes: int = 3
    hole_spacing_mm: float = 12.0
    row: PinRow = "axial"
    post_height_mm: float = 20.0
    post_diameter_mm: float = 12.0
    block_mm: float = 20.0
    material: str = "stainless_steel"


PlateDirection = Literal["radial", "inward", "tangential"]


@dataclass(frozen=True)
class Plate:
    """A connection plate ([[plates]]): a straight bar with a row of holes, bolted through
    its hole 1 to ring `ring` at angle_deg (over the ring's centreline) and lying on the
    ring's `face`; the rest of it reaches beyond the ring and holds rods (Rod.from_plate,
    to_plate), wire clamps (Wire.start_plate, end_plate) and half pins' posts
    (HalfPin.plate) where the ring has no hole: outside a smaller ring, across an open
    ring's opening, between rings of different sizes.

    direction: where its row of holes runs in the ring's plane from hole 1: "radial"
    (outward along the ring's radius, the default), "inward" (towards the ring's centre),
    "tangential" (counter-clockwise along the ring, seen from proximal), or a number: that
    direction in degrees (from +x towards +y). size: a catalogue plate
    (sim.plate_geometry.PLATE_SIZES: "short" 3 holes, "medium" 5, "long" 8, "extra_long"
    12; 16 x 5 mm section, 10 mm pitch: assumed, no maker's catalogue with dimensions was
    found); holes, hole_pitch_mm, width_mm (in the ring's plane), thickness_mm (along the
    bone) and length_mm (default (holes - 1) x pitch + width: half the width beyond each
    end hole, centred on the holes) override it. Hole k
    is (k - 1) x hole_pitch_mm from hole 1 (sim.plate_geometry.plate_path); hole 1 holds
    the bolt, parts use holes 2 to holes, one part a hole. material: from the ring
    materials' catalogue (sim.materials; "stainless_steel" as a ring's, annealed).
    Both models bolt it rigidly to the ring at hole 1 (docs/frame-model.md, "Connection
    plates").
    """

    name: str
    ring: str
    angle_deg: float
    direction: PlateDirection | float = "radial"
    size: str = "short"
    holes: int | None = None
    hole_pitch_mm: float | None = None
    width_mm: float | None = None
    thickness_mm: float | None = None
    length_mm: float | None = None
    face: Face = "top"
    material: str = "stainless_steel"


@dataclass(frozen=True)
class AxialLoad:
    """Axial compression (weight bearing), force_N > 0 pushes proximal towards distal.
    cycles > 1: loaded and unloaded that many times (the tension the wires keep after each
    cycle shows what clamp slip and yield cost). offset_mm = (x, y): eccentric compression,
    the force acting that far from the bone's axis (frame_only: from the loaded ring's
    centre), in mm; the shortening is then measured at that point."""

    force_N: float = 1000.0
    steps: int = 10
    cycles: int = 1
    offset_mm: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class MomentLoad:
    """A bending or torsional moment in N*m applied in `steps` equal increments (loaded
    and unloaded `cycles` times when cycles > 1)."""

    moment_Nm: float = 10.0
    steps: int = 4
    cycles: int = 1


@dataclass(frozen=True)
class Loads:
    """Bench set-up and load cases.

    setup "bone_bench": distal end of the bone held, loads on the proximal end.
    setup "frame_only": no bone; bottom ring held, loads spread over the top ring.
    setup "ring_held": the ring `held_ring` (default: the lowest) is held on the test
    machine, at every point or, with `held_at_deg`, bolted at those angles only (a
    mount's bolts: the ring gives way between them); the loads act on the bone's proximal
    end and its distal end is free: the bone hangs on the frame (Khurana et al. 2010:
    "custom mounts attach the bone rigidly to one end of the machine and the ring to the
    other").
    bending_ap bends in the antero-posterior (sagittal) plane, i.e. the moment acts about
    the medio-lateral x axis; bending_ml bends in the coronal plane (moment about y);
    torsion is about the bone axis z. Positive moments follow the right-hand rule.
    """

    setup: LoadSetup = "bone_bench"
    held_ring: str | None = None
    held_at_deg: tuple[float, ...] = ()
    cases: tuple[str, ...] = LOAD_CASES
    axial: AxialLoad = AxialLoad()
    bending_ap: MomentLoad = MomentLoad(10.0, 4)
    bending_ml: MomentLoad = MomentLoad(10.0, 4)
    torsion: MomentLoad = MomentLoad(5.0, 4)


@dataclass(frozen=True)
class Defect:
    """A segmental bone defect (bone missing) from level_mm - length_mm/2 to level_mm + length_mm/2.

    With bone transport, the segment between the corticotomy (`gap`) and the defect is
    carried across it; its far face is the docking site.
    """

    level_mm: float
    length_mm: float


@dataclass(frozen=True)
class SoftTissue:
    """Resistance of the soft tissues (and young regenerate) to lengthening across the gap.

    A standard linear solid in N and mm: a spring of stiffness_N_per_mm that stays (the
    force that builds up over the lengthening) in parallel with a spring of
    relaxing_stiffness_N_per_mm that relaxes with relaxation_time_h (the jump of force at
    each distraction step that decays before the next one). The regenerate's own
    stiffness joins the relaxing arm during distraction (it remodels at its new length).
    Defaults: ~300 N after 40 mm of adult tibial lengthening (Simpson, Cunningham &
    Kenwright 1996).
    """

    stiffness_N_per_mm: float = 7.5
    relaxing_stiffness_N_per_mm: float = 30.0
    relaxation_time_h: float = 1.0


@dataclass(frozen=True)
class RegenerateModel:
    """How the regenerate's tissue evolves day by day (sim.regenerate; docs/timeline.md).

    rule "claes_heigele": the interzone tissue class follows the strain and pressure it
    sees under the daily weight-bearing check and the distraction steps (Claes & Heigele
    1999 thresholds); bone advances from both fragment ends only while the class allows
    ossification. rule "time": bone advances at front_speed_mm_per_day whatever the
    mechanics (a reference without mechano-regulation).
    """

    rule: Literal["claes_heigele", "time"] = "claes_heigele"
    initial_tissue: str = "granulation"
    tissue_time_constant_days: float = 7.0
    front_speed_mm_per_day: float = 0.25
    endochondral_front_speed_mm_per_day: float = 0.15
    bone_maturation_days: float = 40.0
    intramembranous_strain_limit: float = 0.05
    endochondral_strain_limit: float = 0.15
    pressure_limit_MPa: float = 0.15


@dataclass(frozen=True)
class Distraction:
    """The treatment: latency, distraction (or bone transport), consolidation.

    Lengthening: the rods named in `rods` (default: every rod that joins a ring below
    the gap to a ring above it) lengthen between the two rings around the gap by
    rate_mm_per_day, in steps_per_day equal steps, after latency_days, until
    lengthening_mm. Bone transport: `transport_ring` carries the segment between the
    corticotomy (`gap`) and the `defect` towards the docking site; the rods on the
    corticotomy side of it lengthen and on the defect side shorten by the same amount;
    when the plan takes the segment to the docking site (lengthening_mm = the defect's
    length), the transport goes on until the docking site touches (making up for the
    frame's give) and then by docking_compression_mm to compress it.
    Every day the frame is checked under a weight-bearing load of weight_bearing_N on the
    proximal end. Consolidation goes on until the frame's load share under that load
    falls below removal_load_share (the frame may come off) or consolidation_max_days.
    """

    lengthening_mm: float = 40.0
    rate_mm_per_day: float = 1.0
    steps_per_day: int = 4
    latency_days: int = 7
    rods: tuple[str, ...] = ()
    transport_ring: str | None = None
    docking_compression_mm: float = 1.0
    weight_bearing_N: float = 200.0
    removal_load_share: float = 0.10
    consolidation_max_days: int = 300
    soft_tissue: SoftTissue = SoftTissue()
    regenerate: RegenerateModel = RegenerateModel()


# The clinical names of each deformity and mounting parameter: (the direction counted
# positive in `Deformity.signed` / `Mounting.signed`, the other one).
DEFORMITY_TERMS: dict[str, tuple[str, str]] = {
    "ap_angulation": ("varus", "valgus"),
    "ap_translation": ("lateral", "medial"),
    "lateral_angulation": ("procurvatum", "recurvatum"),
    "lateral_translation": ("anterior", "posterior"),
    "axial_rotation": ("internal", "external"),
    "length": ("long", "short"),
}
MOUNTING_TERMS: dict[str, tuple[str, str]] = {
    "ap_offset": ("lateral", "medial"),
    "lateral_offset": ("anterior", "posterior"),
    "axial_offset": ("proximal", "distal"),
    "rotary_offset": ("internal", "external"),
}
DEFORMITY_UNITS = {"ap_angulation": "deg", "ap_translation": "mm", "lateral_angulation": "deg",
                   "lateral_translation": "mm", "axial_rotation": "deg", "length": "mm",
                   "ap_offset": "mm", "lateral_offset": "mm", "axial_offset": "mm", "rotary_offset": "deg"}


def _signed(obj: Any, terms: dict[str, tuple[str, str]]) -> dict[str, float]:
    out = {}
    for key, (plus, _minus) in terms.items():
        unit = DEFORMITY_UNITS[key]
        value = getattr(obj, f"{key}_{unit}")
        name = getattr(obj, key)
        out[f"{key}_{unit}"] = value if name in (None, plus) else -value
    return out


@dataclass(frozen=True)
class Deformity:
    """The moving fragment's position relative to the reference fragment, as read on two films.

    Each parameter is a magnitude (>= 0) and its clinical name, as a planner writes it:
    the angulation between the fragments' axes *as projected* on the AP film (coronal,
    x-z plane: varus / valgus) and on the lateral film (sagittal, y-z plane: procurvatum /
    recurvatum); the translation of the moving fragment's corresponding point from the
    origin on each film (medial / lateral, anterior / posterior); the axial rotation of
    the moving fragment about its own axis (internal / external); and the length along
    the reference fragment's axis (short: the fragments overlap or approach; long). The
    names mean the same on a left and a right limb (`Hexapod.side` turns them into the
    scenario's axes). Translation and rotation are those of the moving fragment relative
    to the reference one. Angles in degrees, lengths in mm. docs/hexapod.md gives the
    exact construction and the sign conventions.
    """

    ap_angulation_deg: float = 0.0
    ap_angulation: Literal["varus", "valgus"] | None = None
    ap_translation_mm: float = 0.0
    ap_translation: Literal["medial", "lateral"] | None = None
    lateral_angulation_deg: float = 0.0
    lateral_angulation: Literal["procurvatum", "recurvatum"] | None = None
    lateral_translation_mm: float = 0.0
    lateral_translation: Literal["anterior", "posterior"] | None = None
    axial_rotation_deg: float = 0.0
    axial_rotation: Literal["internal", "external"] | None = None
    length_mm: float = 0.0
    length: Literal["short", "long"] | None = None

    def signed(self) -> dict[str, float]:
        """Signed values: + varus, lateral, procurvatum, anterior, internal, long (deg, mm)."""
        return _signed(self, DEFORMITY_TERMS)

    @staticmethod
    def from_signed(values: dict[str, float]) -> Deformity:
        """The deformity with these signed values (see `signed`)."""
        kwargs: dict[str, Any] = {}
        for key, (plus, minus) in DEFORMITY_TERMS.items():
            field_name = f"{key}_{DEFORMITY_UNITS[key]}"
            v = float(values.get(field_name, 0.0))
            kwargs[field_name] = abs(v)
            kwargs[key] = plus if v >= 0 else minus
        return Deformity(**kwargs)


@dataclass(frozen=True)
class Mounting:
    """Where the reference ring sits relative to the deformity's origin, as read on the films.

    The reference ring's centre lies ap_offset_mm medial or lateral of the origin (AP
    film), lateral_offset_mm anterior or posterior of it (lateral film) and its mid-plane
    axial_offset_mm proximal or distal of it; its master tab (the middle of the mounts of
    struts 1 and 2) is turned rotary_offset_deg from anterior, internal (towards medial)
    or external. Magnitudes >= 0 with their names, mm and degrees.
    """

    ap_offset_mm: float = 0.0
    ap_offset: Literal["medial", "lateral"] | None = None
    lateral_offset_mm: float = 0.0
    lateral_offset: Literal["anterior", "posterior"] | None = None
    axial_offset_mm: float = 0.0
    axial_offset: Literal["proximal", "distal"] | None = None
    rotary_offset_deg: float = 0.0
    rotary_offset: Literal["internal", "external"] | None = None

    def signed(self) -> dict[str, float]:
        """Signed values: + lateral, anterior, proximal, internal (mm, deg)."""
        return _signed(self, MOUNTING_TERMS)


@dataclass(frozen=True)
class StrutSize:
    """A strut size and the length range between its joint centres (mm)."""

    name: str
    min_length_mm: float
    max_length_mm: float


# Representative ranges of the standard struts of a commercial hexapod (joint centre to
# joint centre); set your own in [[hexapod.strut_sizes]].
STANDARD_STRUT_SIZES = (
    StrutSize("x_short", 91.0, 121.0),
    StrutSize("short", 116.0, 152.0),
    StrutSize("medium", 142.0, 205.0),
    StrutSize("long", 191.0, 291.0),
)


@dataclass(frozen=True)
class FixedLevel:
    """A further hexapod level between two rings of one fragment: six struts held at the
    lengths of the rings as placed (a four-ring hexapod has one below and one above the
    correcting level). Mounts as in `Hexapod` (pairs on the centroid circles, or
    strut_mounts_deg); `rings` = [lower ring, upper ring] by name."""

    rings: tuple[str, str]
    first_pair_deg: float = 90.0
    pair_separation_deg: float = 30.0
    strut_mounts_deg: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True)
class Hexapod:
    """A hexapod (Taylor Spatial Frame type) between two rings.

    Six struts, pinned at both ends (universal joints: they carry axial load only), join
    mounting points on the rings' centroid circles in the standard alternating pattern:
    on the reference ring three pairs centred at first_pair_deg + 0/120/240 degrees (the
    first pair, struts 1 and 2, at the master tab), the two points of a pair
    pair_separation_deg apart; on the moving ring the pairs are turned by 60 degrees.
    Strut k joins reference point k to the moving point that makes the zig-zag, so
    neighbouring struts lean opposite ways; numbers rise counter-clockwise seen from
    proximal. strut_mounts_deg gives the six (reference, moving) mount angles instead.

    side: the limb ("left" or "right"). The scenario's axes are a right-handed world:
    +x points to the patient's right (lateral on a right limb, medial on a left one), +y
    anterior, +z proximal. The frame is mounted on the deformed limb: the moving ring sits
    on the moving fragment, at the `deformity` (clinical terms) relative to the reference
    ring, or at the pose that `strut_lengths_mm` gives; with `residual` as well, the
    lengths are the struts in place and the residual is what new films show.
    `ilizarov hexapod` plans the correction back to alignment about the hinge (default:
    the origin), at most max_rate_mm_per_day at the structure at risk (a point of the
    moving fragment, in its corrected position). The origin is `origin_mm`, or follows
    from `mounting` (offsets of the reference ring from it), or lies on the bone axis at
    the gap.
    """

    reference_ring: str
    moving_ring: str
    side: Literal["left", "right"]
    reference_fragment: Literal["proximal", "distal"] | None = None  # default: the reference ring's
    deformity: Deformity | None = None
    strut_lengths_mm: tuple[float, ...] | None = None
    residual: Deformity | None = None
    mounting: Mounting | None = None
    origin_mm: tuple[float, float, float] | None = None  # default: from mounting, else bone axis at the gap
    hinge_mm: tuple[float, float, float] | None = None  # default: the origin
    structure_at_risk_mm: tuple[float, float, float] | None = None  # default: the moving fragment's end at the gap
    max_rate_mm_per_day: float = 1.0
    first_pair_deg: float | None = None  # default: 90 (anterior), turned by mounting.rotary_offset
    pair_separation_deg: float = 30.0
    strut_mounts_deg: tuple[tuple[float, float], ...] | None = None
    fixed_levels: tuple[FixedLevel, ...] = ()
    strut_diameter_mm: float = 8.0
    strut_material: str = "stainless_steel"
    strut_sizes: tuple[StrutSize, ...] = STANDARD_STRUT_SIZES

    @property
    def side_sign(self) -> float:
        """+1 on a right limb, -1 on a left one: the x component of 'lateral'."""
        return 1.0 if self.side == "right" else -1.0


MAX_RATE_MM_PER_DAY = 3.0  # above 2 mm/day the regenerate starves (physics.md section 4)
MAX_LENGTHENING_MM = 200.0  # 18-20 cm per segment (physics.md section 4)


@dataclass(frozen=True)
class MeshSettings:
    element_size_mm: float = 5.0  # bone, rings, rods, pins
    wire_element_size_mm: float = 2.5


@dataclass(frozen=True)
class SolverSettings:
    """Newton with load stepping and a direct (LU) solver.

    tensioning: "simultaneous" (default) finds the initial strains with which every wire
    carries its target tension once all are clamped; "sequential" tensions and clamps
    the wires one after another in file order, each to its target, so that tensioning a
    later wire changes the earlier ones through the ring (as in surgery);
    "initial_strain" applies eps0 = -T/(E*A) and lets ring compliance lower the tension.
    linear_solver "auto": PETSc's own sparse LU on one process, MUMPS on several.
    """

    tensioning: Tensioning = "simultaneous"
    newton_rtol: float = 1e-8
    newton_atol_N: float = 1e-6
    newton_max_iterations: int = 25
    max_step_cuts: int = 6
    linear_solver: Literal["auto", "mumps", "superlu_dist", "petsc"] = "auto"


@dataclass(frozen=True)
class ContinuumSettings:
    """The continuum model (`ilizarov run --model continuum`): mesh and solver.

    element_degree 2 (quadratic tetrahedra, curved onto the wires) is the default; 1 is a
    quick preview. element_size_mm away from the wires; wire_element_size_mm near them
    (0: half the thinnest wire's diameter, i.e. two elements across). linear_solver
    "auto" picks MUMPS LU below 800 000 unknowns and CG + GAMG above; petsc_options
    override any PETSc option of the Newton (SNES) or linear (KSP/PC) solver, e.g.
    {ksp_rtol = 1e-8}. pretension_tolerance: relative error at which the wire
    tensions count as reached. gap_contact_residual: an empty gap touches when closed
    to this fraction of its width (frictionless, through a contact layer).
    write_fields: ParaView field files (XDMF) of every load case.
    """

    element_degree: int = 2
    element_size_mm: float = 12.0
    wire_element_size_mm: float = 0.0
    linear_solver: Literal["auto", "gamg", "lu"] = "auto"
    petsc_options: dict[str, str | float | int | bool] = dataclasses.field(default_factory=dict)
    pretension_tolerance: float = 0.005
    max_pretension_iterations: int = 10  # open rings and wires on posts took 6-9 (docs/continuum.md)
    gap_contact_residual: float = 0.02
    write_fields: bool = True


@dataclass(frozen=True)
class RodRingJoint:
    """The bolted joint of a threaded rod and a ring: a nut on each face of the ring, the
    thread, the washers and the hole (sim.elements.joint). rigid: the rod shares a node
    with the ring (the idealisation of the first frame model). Stiffnesses of the whole
    joint (both nuts together); docs/interfaces.md has their sources: the axial stiffness
    is calibrated on the four-ring Ilizarov frame alone of Henderson et al. 2017 (axial
    1269 N/mm; validation/henderson2017-ilizarov-frame-only.toml, fitted with
    benchmarks/calibrate_interfaces.py): it lumps everything the model leaves rigid between
    rod and ring (nuts, washers, thread, the ring's hole and the bench's bolts). The
    shear, bending and twist stiffnesses have no published source (assumed)."""

    rigid: bool = True
    axial_stiffness_N_per_mm: float = 660.0
    shear_stiffness_N_per_mm: float = 660.0
    bending_stiffness_Nmm_per_rad: float = 2.0e6
    twist_stiffness_Nmm_per_rad: float = 1.0e5


@dataclass(frozen=True)
class WireClamp:
    """A wire fixation bolt holding a wire on a ring: it sticks with `stiffness_N_per_mm`
    along the wire until the wire's pull on it reaches `slip_force_N`, then the wire slips
    through it (and loses tension). rigid: the wire's end is fixed to the ring.

    Sources (docs/interfaces.md): the slip force of a wire fixation bolt grows with its
    torque, about 110 N per N*m for 1.5-1.6 mm wires (900 N at 8-9 N*m; Vet Surg
    2002;31:571); surgeons apply 5-10 N*m and should apply at least 10 (Mullins et al.
    2003, Injury). 2000 N is assumed for a 1.8 mm wire in a human Ilizarov bolt at 10 N*m
    or more (no published number reachable): above the 130 kgf (1275 N) pretension. The
    stiffnesses have no published source (assumed)."""

    rigid: bool = True
    slip_force_N: float = 2000.0
    stiffness_N_per_mm: float = 5000.0
    transverse_stiffness_N_per_mm: float = 5000.0


@dataclass(frozen=True)
class WireBone:
    """A wire where it crosses a cortex: the bone bears on it across its axis
    (`bearing_stiffness_N_per_mm` per cortex; 0: from the bone's modulus by Vesic's
    formula, docs/interfaces.md) and, for a smooth wire, holds it along its axis by
    friction up to `friction_force_N` per cortex (0: it slides freely). An olive wire is
    held along its axis. rigid: smooth wires slide freely, olive wires are bonded, and
    the bone bears rigidly (the first frame model's idealisation)."""

    rigid: bool = True
    bearing_stiffness_N_per_mm: float = 0.0
    friction_force_N: float = 0.0


@dataclass(frozen=True)
class PinBone:
    """A half pin's thread in the bone: a beam on an elastic foundation over each cortex it
    engages (`foundation_modulus_MPa`: N/mm of pin length per mm of deflection; 0: from
    the bone's modulus by Vesic's formula). rigid: bonded to the bone at the cortices."""

    rigid: bool = True
    foundation_modulus_MPa: float = 0.0


@dataclass(frozen=True)
class PinClamp:
    """A half pin held in its clamp on the post: rocking stiffness of the clamp
    (`bending_stiffness_Nmm_per_rad`) over `length_mm` of the pin. rigid: welded."""

    rigid: bool = True
    bending_stiffness_Nmm_per_rad: float = 5.0e5
    length_mm: float = 10.0


@dataclass(frozen=True)
class StrutJoints:
    """A hexapod strut's own give: its two universal joints, its thread and its quick-
    release, in series with the strut's tube (axial, N/mm for the whole strut). rigid: the
    strut is a steel bar pinned at both ends. The default is calibrated on the four-ring
    Taylor Spatial Frame alone of Henderson et al. 2017 (axial 645 +- 57 N/mm;
    validation/henderson2017-tsf-frame-only.toml, benchmarks/calibrate_interfaces.py); a
    strut's backlash (play before it takes load) is not modelled."""

    rigid: bool = True
    axial_stiffness_N_per_mm: float = 419.0


@dataclass(frozen=True)
class InterfaceOverride:
    """Different interface values for one part: e.g. part = "ring1_wire1",
    wire_clamp = {slip_force_N = 1200}."""

    part: str
    rod_ring: dict[str, float | int | bool] = dataclasses.field(default_factory=dict)
    wire_clamp: dict[str, float | int | bool] = dataclasses.field(default_factory=dict)
    wire_bone: dict[str, float | int | bool] = dataclasses.field(default_factory=dict)
    pin_bone: dict[str, float | int | bool] = dataclasses.field(default_factory=dict)
    pin_clamp: dict[str, float | int | bool] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Interfaces:
    """Where real frames give way: the joints, clamps and bone interfaces of the frame model
    (docs/interfaces.md: what each law is, its parameters and their sources)."""

    rod_ring: RodRingJoint = RodRingJoint()
    wire_clamp: WireClamp = WireClamp()
    wire_bone: WireBone = WireBone()
    pin_bone: PinBone = PinBone()
    pin_clamp: PinClamp = PinClamp()
    strut: StrutJoints = StrutJoints()
    override: tuple[InterfaceOverride, ...] = ()

    def law(self, kind: str, part: str):
        """The interface `kind` ("rod_ring", "wire_clamp", ...) of one part, with its overrides."""
        base = getattr(self, kind)
        changes = {}
        for o in self.override:
            if o.part == part:
                changes.update(getattr(o, kind))
        return dataclasses.replace(base, **changes) if changes else base


@dataclass(frozen=True)
class Plasticity:
    """Members that may yield (sim.elements.plastic_beam): fibre sections of their material
    with linear kinematic hardening (sim.materials). Off: every member is elastic."""

    wires: bool = False
    half_pins: bool = False


@dataclass(frozen=True)
class Scenario:
    """A scenario file: the bone and its gap, the frame's parts, the loads, and the settings
    of the models and the treatment. Lengths in mm, forces in N, moments in N*m, angles in
    degrees (README, "Scenario files"; docs/validation.md for what is accepted).

    Build one with `load_scenario` / `parse_scenario`, change one with `Scenario.replace`
    (both validate); `dataclasses.replace` does not validate.
    """

    name: str = "scenario"
    description: str = ""
    bone: Bone = Bone()
    gap: Gap = Gap()
    rings: tuple[Ring, ...] = ()
    wires: tuple[Wire, ...] = ()
    rods: tuple[Rod, ...] = ()
    half_pins: tuple[HalfPin, ...] = ()
    hinges: tuple[Hinge, ...] = ()
    pin_clamps: tuple[PinClampBlock, ...] = ()
    plates: tuple[Plate, ...] = ()
    loads: Loads = Loads()
    mesh: MeshSettings = MeshSettings()
    solver: SolverSettings = SolverSettings()
    continuum: ContinuumSettings = ContinuumSettings()
    interfaces: Interfaces = Interfaces()
    plasticity: Plasticity = Plasticity()
    defect: Defect | None = None
    distraction: Distraction | None = None
    hexapod: Hexapod | None = None
    materials: tuple[Material, ...] = ()
    hindfoot: Hindfoot | None = None

    @property
    def has_bone(self) -> bool:
        return self.loads.setup in ("bone_bench", "ring_held")

    @property
    def held_ring(self) -> Ring:
        """The ring held on the test machine ("ring_held" and "frame_only" set-ups)."""
        if self.loads.held_ring is not None:
            return self.ring(self.loads.held_ring)
        return self.rings_by_level()[0]

    def material(self, name: str, use: str | None = None) -> Material:
        """A material by name: the file's own ([[materials]]) or the catalogue's
        (sim.materials.material, where `use` decides what "stainless_steel" means)."""
        for m in self.materials:
            if m.name == name:
                return m
        return material(name, use)

    def ring(self, name: str) -> Ring:
        return next(r for r in self.rings if r.name == name)

    def pin_clamp(self, name: str) -> PinClampBlock:
        """The [[pin_clamps]] entry of this name."""
        return next(c for c in self.pin_clamps if c.name == name)

    def plate(self, name: str) -> Plate:
        """The [[plates]] entry of this name."""
        return next(p for p in self.plates if p.name == name)

    def rings_by_level(self) -> list[Ring]:
        return sorted(self.rings, key=lambda r: r.level_mm)

    def rod_rings(self, rod: Rod) -> list[Ring]:
        """The rings a rod is bolted to, from its lowest to its highest. A rod with an end
        on a connection plate (from_plate, to_plate) joins the rings of its two ends only
        (a plate's ring for that end): it stands beyond the rings in between."""
        rings = self.rings_by_level()
        if rod.from_plate is not None or rod.to_plate is not None:
            return sorted({self.ring(name).name: self.ring(name) for name in rod_end_rings(self, rod)}.values(),
                          key=lambda r: r.level_mm)
        lo = self.ring(rod.from_ring).level_mm if rod.from_ring else rings[0].level_mm
        hi = self.ring(rod.to_ring).level_mm if rod.to_ring else rings[-1].level_mm
        lo, hi = min(lo, hi), max(lo, hi)
        return [r for r in rings if lo - 1e-9 <= r.level_mm <= hi + 1e-9]

    def wire_level_mm(self, wire: Wire) -> float:
        """Height of the wire axis where it crosses the bone axis (mm): on the ring face, its
        radius and sim.geometry.WIRE_CLEARANCE_MM above/below the face, or on posts the
        ring's mid-plane + post_height_mm (sim.geometry.face_level_mm)."""
        from sim.geometry import face_level_mm

        return face_level_mm(self, wire)

    def bone_radii_mm(self, z_mm: float) -> tuple[float, float]:
        """The bone's outer and inner (medullary canal) radius at level z_mm (mm), (r_out,
        r_in). Every builder and check asks here, so the frame model, the solid model and
        validate see one bone: a uniform tube (the [bone] table's diameters), a template's
        profile or an imported surface's (sim.bones.bone_profile; constant beyond the ends),
        and a [hindfoot] block below its height (`hindfoot_radii_mm`)."""
        block = hindfoot_radii_mm(self, z_mm)
        if block is not None:
            return block
        if self.bone.template is None and self.bone.surface is None:
            return 0.5 * self.bone.outer_diameter_mm, 0.5 * self.bone.inner_diameter_mm
        return self.bone_profile().radii(z_mm)

    def bone_profile(self):
        """The bone's profile along z (sim.bones.BoneProfile)."""
        from sim.bones import bone_profile

        return bone_profile(self.bone)

    @property
    def limb_side(self) -> str:
        """"right" or "left": the bone's side, else the hexapod's, else right."""
        if self.bone.side is not None:
            return self.bone.side
        return self.hexapod.side if self.hexapod is not None else "right"

    def bone_breaks(self) -> list[tuple[float, float, str]]:
        """Discontinuities of the bone, (lower z, upper z, "gap" | "defect"), by level (none
        in an intact bone)."""
        if self.bone.intact:
            return []
        g = self.gap
        out = [(g.level_mm - g.width_mm / 2, g.level_mm + g.width_mm / 2, "gap")]
        if self.defect is not None:
            d = self.defect
            out.append((d.level_mm - d.length_mm / 2, d.level_mm + d.length_mm / 2, "defect"))
        return sorted(out)

    def transport_direction(self) -> float:
        """+1 if the transported segment moves proximally (+z), -1 distally (bone transport only)."""
        return 1.0 if self.defect.level_mm > self.gap.level_mm else -1.0

    def moving_rod_segments(self) -> list[tuple[str, str, str, float]]:
        """Rod segments the treatment changes: (rod, lower ring, upper ring, sign).

        Their length changes by sign x the day's lengthening: +1 lengthens. Lengthening:
        the segment of each distraction rod between the rings either side of the gap.
        Bone transport: the two segments either side of the transport ring, the one on
        the corticotomy side lengthening and the one on the defect side shortening.
        """
        d = self.distraction
        if d is None:
            return []
        by_name = {r.name: r for r in self.rods}
        out = []
        if d.transport_ring is None:
            z = self.gap.level_mm
            names = d.rods or tuple(r.name for r in self.rods if _rod_crosses(self, r, z))
            for name in names:
                rings = self.rod_rings(by_name[name])
                below = [r for r in rings if r.level_mm < z]
                above = [r for r in rings if r.level_mm > z]
                out.append((name, below[-1].name, above[0].name, 1.0))
            return out
        m = self.transport_direction()
        names = d.rods or tuple(r.name for r in self.rods
                                if d.transport_ring in (x.name for x in self.rod_rings(r)))
        for name in names:
            rings = self.rod_rings(by_name[name])
            k = [r.name for r in rings].index(d.transport_ring)
            out.append((name, rings[k - 1].name, d.transport_ring, m))
            out.append((name, d.transport_ring, rings[k + 1].name, -m))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data (TOML/JSON-able) of the resolved scenario, tension in N."""
        return _to_plain(self)

    def to_toml(self) -> str:
        """The resolved scenario as the text of a scenario file (TOML, written with tomli_w).

        Every value is written out (no `extends`, no patterns: the parts they made, as in
        scenario.resolved.json), tensions in N, an imported bone surface by its absolute
        path; keys that are not set (None) are left out, as a file leaves them out. Read
        back (`load_scenario`, `parse_scenario`) it gives an equal Scenario."""
        import tomli_w  # only here: writing scenario files is the one use

        return (f"# scenario {self.name!r} written by ilizarov (Scenario.to_toml): every value resolved\n"
                + tomli_w.dumps(self.to_dict()))

    def replace(self, changes: dict[str, Any] | None = None, /, **fields: Any) -> Scenario:
        """A new scenario with these values, validated as a file with them would be.

        `changes` maps paths to values, the paths as in the error messages:
        ``{"wires[0].tension_N": 900, "bone.length_mm": 380, "hexapod.strut_lengths_mm[2]": 150}``;
        ``[*]`` stands for every entry of a list (``{"wires[*].tension_kgf": 130}``), as in sweep files;
        ``[name]`` for the part of that name (``{"wires[plateau_drop].post_height_mm": -25}``);
        a whole table or list may be given (``{"gap": {"width_mm": 3}}``), and an alias
        key such as ``wires[0].tension_kgf`` replaces the value it stands for. Keyword
        arguments set top-level keys (``s.replace(name="b")``). The parts stay the
        scenario's own (no default is added). Raises ScenarioError, with the message a
        file with the same values gets.
        """
        return replace_scenario(self, {**(changes or {}), **fields})


def hindfoot_radii_mm(s: Scenario, z_mm: float) -> tuple[float, float] | None:
    """The hindfoot block's (outer, inner) radius at level z_mm (mm): (width/2, 0), a solid
    block, from z = 0 up to hindfoot.height_mm; None above it or without a [hindfoot]."""
    h = s.hindfoot
    if h is None or z_mm > h.height_mm:
        return None
    return 0.5 * h.width_mm, 0.0


def _to_plain(obj: Any) -> Any:
    """A scenario's dataclasses as the plain tables and lists of a file (other values as
    they are)."""
    if isinstance(obj, list):
        return [_to_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj):
        out = {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
               if getattr(obj, f.name) is not None}
        if isinstance(obj, HalfPin) and obj.clamp is not None:
            for key in CLAMPED_PIN_KEYS:  # the clamp's, filled in when read: a changed clamp moves its pins
                out.pop(key, None)
        if isinstance(obj, HalfPin) and obj.plate is not None:
            for key in ("ring", "angle_deg"):  # the plate's, filled in when read (sim.plate_checks)
                out.pop(key, None)
        return out
    if isinstance(obj, tuple):
        return [_to_plain(x) for x in obj]
    return obj


def _rod_crosses(s: Scenario, rod: Rod, z: float) -> bool:
    levels = [r.level_mm for r in s.rod_rings(rod)]
    return min(levels) < z < max(levels)


# --------------------------------------------------------------------- defaults
def standard_rings() -> tuple[Ring, ...]:
    """Four steel rings of 160 mm inner diameter: two per fragment."""
    return tuple(Ring(name=f"ring{i + 1}", level_mm=z) for i, z in enumerate((50.0, 140.0, 220.0, 310.0)))


def standard_wires(rings: tuple[Ring, ...]) -> tuple[Wire, ...]:
    """Two 1.8 mm smooth wires per ring at 90 kgf, crossing at 90 degrees."""
    wires = []
    for ring in rings:
        wires.append(Wire(f"{ring.name}_wire1", ring.name, 45.0, 90.0 * N_PER_KGF, face="top"))
        wires.append(Wire(f"{ring.name}_wire2", ring.name, 135.0, 90.0 * N_PER_KGF, face="bottom"))
    return tuple(wires)


def standard_rods() -> tuple[Rod, ...]:
    names = ("rod_lateral", "rod_anterior", "rod_medial", "rod_posterior")
    return tuple(Rod(name, angle) for name, angle in zip(names, (0.0, 90.0, 180.0, 270.0)))


# --------------------------------------------------------------------- parsing
# The types of a scenario file are checked by pydantic (https://docs.pydantic.dev) on the
# dataclasses above, as JSON values in strict mode: a number is an integer or a decimal
# (never a string or true/false), a whole number is an integer, a list of fixed length has
# that length, a table has only the dataclass's keys, and every number is finite. Its
# errors become ScenarioError with the field's path, the value and what is accepted
# (`_scenario_error`). The ranges (LIMITS) and the checks of parts against each other are
# `validate`'s. JSON mode because pydantic's strict Python mode takes a dataclass only as an
# instance and a tuple only as a tuple, where a file gives tables and arrays.
SCHEMA_CONFIG = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
# Keys a file may give besides a dataclass's fields: alias -> the field it sets.
KEY_ALIASES: dict[type, dict[str, str]] = {Wire: {"tension_kgf": "tension_N"}}
PART_GROUPS = ("rings", "wires", "rods", "half_pins", "hinges", "pin_clamps", "plates")


def _optional_inner(tp: Any) -> Any:
    """X for `X | None`; any other annotation unchanged."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def schema_classes(tp: Any = None, found: dict[type, None] | None = None) -> list[type]:
    """Every dataclass of the scenario file's schema (Scenario's fields, recursively)."""
    tp = Scenario if tp is None else tp
    found = {} if found is None else found
    if get_origin(tp) is not None:
        for arg in get_args(tp):
            schema_classes(arg, found)
    elif dataclasses.is_dataclass(tp) and tp not in found:
        found[tp] = None
        for hint in _hints(tp).values():
            schema_classes(hint, found)
    return list(found)


for _cls in schema_classes():
    _cls.__pydantic_config__ = SCHEMA_CONFIG  # pydantic's config of a stdlib dataclass


@functools.cache
def scenario_adapter() -> TypeAdapter:
    """pydantic's validator of a Scenario (and its JSON Schema: sim.schema); built on first use."""
    return TypeAdapter(Scenario)


@functools.cache
def _scalar_adapter(tp: Any) -> TypeAdapter:
    return TypeAdapter(tp, config=SCHEMA_CONFIG)


def _as_json(value: Any) -> str:
    """TOML data as JSON text (TOML's dates and times as their ISO strings)."""
    return json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else repr(v))


def _type_name(tp: Any) -> str:
    tp = _optional_inner(tp)
    if tp is float:
        return "a number"
    if tp is int:
        return "a whole number"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if get_origin(tp) in (typing.Union, types.UnionType):  # the values of a free table: "a string, number or boolean"
        words = {str: "string", float: "number", int: "number", bool: "boolean"}
        names = list(dict.fromkeys(words.get(a, str(a)) for a in get_args(tp)))
        return "a " + (", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0])
    if get_origin(tp) is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return "a list"
        each = {float: "numbers", int: "whole numbers", str: "strings", bool: "true or false values"}
        return f"a list of {len(args)} {each.get(args[0], 'values')}"
    if get_origin(tp) is dict or dataclasses.is_dataclass(tp):
        return "a table"
    return str(tp)


def _locate(loc: tuple, root: Any, prefix: str) -> tuple[str, Any, Any]:
    """The path (as in a file), the annotation and the enclosing type of a pydantic error
    location. The annotation is None for an unknown key."""
    path, tp, parent = prefix, root, None
    for key in loc:
        tp = _optional_inner(tp)
        if get_origin(tp) in (typing.Union, types.UnionType) and isinstance(key, str):
            continue  # pydantic names the member of a union it tried
        parent = tp
        if isinstance(key, int):
            path += f"[{key}]"
            args = get_args(tp)
            tp = args[0] if len(args) == 2 and args[1] is Ellipsis else (args[key] if key < len(args) else None)
        else:
            path = f"{path}.{key}" if path else str(key)
            if dataclasses.is_dataclass(tp):
                tp = _hints(tp).get(key)
            elif get_origin(tp) is dict:
                tp = get_args(tp)[1]
            else:
                tp = None
    return path, tp, parent


_NOT_A = {"float_type": "is not a number", "float_parsing": "is not a number",
          "finite_number": "is not a finite number", "int_type": "is not a whole number",
          "int_from_float": "is not a whole number", "int_parsing": "is not a whole number",
          "bool_type": "is not true or false", "bool_parsing": "is not true or false",
          "string_type": "is not a string", "dataclass_type": "is not a table", "dict_type": "is not a table",
          "tuple_type": "is not a list", "list_type": "is not a list"}


def _scenario_error(exc: ValidationError, root: Any = None, prefix: str = "") -> ScenarioError:
    """The ScenarioError of pydantic's first error: an unknown key, then a list of the wrong
    length, then a wrong value, a missing key last (a misspelt key is reported as such, not
    as the key it misses)."""
    root = Scenario if root is None else root

    def rank(e: dict) -> int:
        if e["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
            return 0
        if e["type"] in ("too_short", "too_long") or (e["type"] == "missing" and isinstance(e["loc"][-1], int)):
            return 1
        return 3 if e["type"] == "missing" else 2

    err = min(exc.errors(include_url=False), key=rank)
    kind, loc, value = err["type"], tuple(err["loc"]), err["input"]
    path, tp, parent = _locate(loc, root, prefix)
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        accepted = [f.name for f in dataclasses.fields(parent)] + list(KEY_ALIASES.get(parent, {}))
        close = difflib.get_close_matches(str(loc[-1]), accepted, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return ScenarioError(path, f"unknown key{hint}; accepted keys: {', '.join(accepted)}")
    if get_origin(parent) is tuple and isinstance(loc[-1], int) and kind == "missing":
        path, tp, _ = _locate(loc[:-1], root, prefix)  # a list of fixed length given too few entries
        kind = "too_short"
    if kind in ("too_short", "too_long") and get_origin(_optional_inner(tp)) is tuple:
        return ScenarioError(path, f"{value!r} must have {len(get_args(_optional_inner(tp)))} entries")
    if kind == "missing":
        return ScenarioError(path, f"is required ({_type_name(tp)})")
    inner = _optional_inner(tp)
    if get_origin(inner) in (typing.Union, types.UnionType):  # a value of a free table (petsc_options, ...)
        non_finite = isinstance(value, float) and not math.isfinite(value)
        if non_finite or (isinstance(value, str) and str not in get_args(inner)):
            return ScenarioError(path, f"{value!r} is not a finite number")
        return ScenarioError(path, f"{value!r} is not accepted; accepted: {_type_name(inner)}")
    if kind in _NOT_A:
        return ScenarioError(path, f"{value!r} {_NOT_A[kind]}")
    if kind == "literal_error":
        close = difflib.get_close_matches(str(value), [str(a) for a in get_args(inner)], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return ScenarioError(path, f"{value!r} is not accepted{hint}; accepted: {_type_name(inner)}")
    return ScenarioError(path, f"{value!r} is not accepted: {err['msg']}; accepted: {_type_name(inner)}")


def _check_value(tp: Any, value: Any, path: str) -> Any:
    """One value checked as a field of type `tp` is (ScenarioError at `path`)."""
    try:
        return _scalar_adapter(tp).validate_json(_as_json(value))
    except ValidationError as exc:
        raise _scenario_error(exc, tp, path) from None


def _table_list(data: dict, key: str) -> list[dict]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(key, f"must be an array of tables ([[{key}]] entries), got {value!r}")
    return value


def _wire_entry(entry: dict, path: str) -> dict:
    """A [[wires]] entry with its tension in N: tension_kgf converted, 90 kgf if none."""
    entry = dict(entry)
    has_N, has_kgf = "tension_N" in entry, "tension_kgf" in entry
    if has_N and has_kgf:
        raise ScenarioError(path + ".tension_kgf", "give the tension once, as tension_N or tension_kgf, not both")
    if has_kgf:
        kgf = _check_value(float, entry.pop("tension_kgf"), path + ".tension_kgf")
        if kgf < 0:
            raise ScenarioError(path + ".tension_kgf", f"{kgf:g} kgf is not accepted; accepted: a tension >= 0 kgf "
                                "(0: an untensioned wire)")
        entry["tension_N"] = kgf * N_PER_KGF
    elif not has_N:
        entry["tension_N"] = 90.0 * N_PER_KGF
    return entry


def _typed_scenario(data: dict[str, Any]) -> Scenario:
    """The Scenario of plain data, its types checked (pydantic), not yet validated."""
    try:
        return scenario_adapter().validate_json(_as_json(data))
    except ValidationError as exc:
        raise _scenario_error(exc) from None


_PATH_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def _path_loc(path: str) -> tuple[str | int, ...]:
    """``wires[0].tension_N`` -> ("wires", 0, "tension_N")."""
    loc: list[str | int] = []
    for part in path.split("."):
        m = _PATH_PART.fullmatch(part)
        if m is None:
            raise ScenarioError(path, f"{part!r} is not a key or key[index]; accepted: a path such as "
                                "wires[0].tension_N or bone.length_mm")
        loc += [m.group(1), *(int(i) for i in re.findall(r"\d+", m.group(2)))]
    return tuple(loc)


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` (``wires[0].tension_N``, ``bone.length_mm``) in plain scenario data.
    Missing tables on the way are created (an unknown key is then the schema's to refuse);
    an alias (tension_kgf) replaces the field it stands for (tension_N), and the reverse."""
    loc = _path_loc(path)
    target: Any = data
    for k, step in enumerate(loc):
        where = _locate(loc[:k], Scenario, "")[0] or "the scenario"
        if isinstance(step, int):
            if not isinstance(target, list):
                raise ScenarioError(path, f"{where} is not a list, so [{step}] does not apply")
            if step >= len(target):
                raise ScenarioError(path, f"{where} has {len(target)} entries; index {step} is out of range")
        elif not isinstance(target, dict):
            raise ScenarioError(path, f"{where} is not a table, so {step!r} does not apply")
        if k < len(loc) - 1:
            target = target.setdefault(step, {}) if isinstance(step, str) else target[step]
    aliases = KEY_ALIASES.get(_optional_inner(_locate(loc, Scenario, "")[2]), {})
    for alias, field_name in aliases.items():
        if loc[-1] in (alias, field_name):  # one value, given once
            target.pop(field_name if loc[-1] == alias else alias, None)
    target[loc[-1]] = value


_NAMED_ENTRY = re.compile(r"\[([A-Za-z_][A-Za-z0-9_\-]*)\]")


def _resolve_names(data: dict[str, Any], path: str) -> str:
    """`path` with each ``[name]`` after a list of named parts replaced by that part's index
    (``wires[plateau_drop].post_height_mm`` -> ``wires[2].post_height_mm``): a file that
    extends another need not count its parts. ScenarioError naming the parts of the list
    if no part has that name."""
    while (m := _NAMED_ENTRY.search(path)) is not None:
        head = path[:m.start()]
        target: Any = data
        for step in _path_loc(head) if head else []:
            target = (target[step] if isinstance(target, list) and isinstance(step, int) and step < len(target)
                      else target.get(step) if isinstance(target, dict) else None)
        names = [e.get("name") for e in target] if isinstance(target, list) else []
        if m.group(1) not in names:
            raise ScenarioError(path, f"{head or 'the scenario'} has no part named {m.group(1)!r}; accepted: "
                                + (", ".join(repr(n) for n in names if n) or "none (the list is empty)")
                                + ", or an index such as [0]")
        path = f"{head}[{names.index(m.group(1))}]{path[m.end():]}"
    return path


def _expand_path(data: dict[str, Any], path: str) -> list[str]:
    """`path` with each ``[*]`` replaced by every index of its list in `data`
    (``wires[*].tension_kgf`` -> ``wires[0].tension_kgf``, ...), as sweep paths are."""
    head, star, tail = path.partition("[*]")
    if not star:
        return [path]
    target: Any = data
    for step in _path_loc(head) if head else []:
        if isinstance(step, int):
            target = target[step] if isinstance(target, list) and step < len(target) else None
        else:
            target = target.get(step) if isinstance(target, dict) else None
    if not isinstance(target, list):
        raise ScenarioError(path, f"{head or 'the scenario'} is not a list of the scenario, so [*] does not apply; "
                            "accepted: [*] after a list such as wires, rings, rods or half_pins")
    if not target:
        raise ScenarioError(path, f"{head} has no entries, so [*] would change nothing; accepted: [*] after a list "
                            "with entries (add the parts first)")
    return [p for j in range(len(target)) for p in _expand_path(data, f"{head}[{j}]{tail}")]


def replace_scenario(s: Scenario, changes: dict[str, Any]) -> Scenario:
    """`s` with `changes` (paths to values, see `Scenario.replace`; ``[*]`` stands for every
    entry of a list, as in sweep files), validated as a file."""
    data = copy.deepcopy(s.to_dict())
    for m in data.get("materials", []):
        if m.get("ultimate_stress_MPa") == math.inf:  # the default: never let yield (not a number a file gives)
            del m["ultimate_stress_MPa"]
    from sim.composition import COMPOSE_KEYS

    concrete: dict[str, tuple[str, Any]] = {}  # each concrete path -> (the path given, the value)
    for path, value in changes.items():
        if (top := _PATH_PART.match(path)) and top.group(1) in COMPOSE_KEYS:
            raise ScenarioError(path, "a key of a scenario file (it extends or expands into parts when the file is "
                                "read), not of a scenario; accepted: the paths of the scenario's parts, such as "
                                "wires[*].tension_kgf or rods[2].angle_deg")
        for one in _expand_path(data, _resolve_names(data, path)):
            concrete[one] = (path, _to_plain(value))
    # a value given twice, under a key and its alias (tension_N and tension_kgf): as in a file, refused
    for one, (path, _value) in concrete.items():
        head, _, key = one.rpartition(".")
        if key == "tension_kgf" and f"{head}.tension_N" in concrete:
            raise ScenarioError(path, "give the tension once, as tension_N or tension_kgf, not both")
    for one, (_path, value) in concrete.items():
        _set_path(data, one, value)
    return parse_scenario(data, default_name=s.name)


DEFAULT_PARTS = {
    "rings": "the standard four rings (160 mm inner diameter at 50, 140, 220 and 310 mm)",
    "wires": "two 1.8 mm smooth wires per ring at 90 kgf (45 deg on the top face, 135 deg on the bottom face)",
    "rods": "four rods at 0, 90, 180 and 270 deg from the lowest ring to the highest",
}


def parse_scenario(data: dict[str, Any], default_name: str = "scenario", notes: list[str] | None = None) -> Scenario:
    """Build and validate a Scenario from the plain data of a TOML file.

    Parts the file does not list are the defaults (`DEFAULT_PARTS`): the standard rings,
    the standard wires on every ring, four rods (none with one ring or a hexapod). A
    file that lists any [[wires]] (or [[rods]]) gets only those: no default is added.
    The patterns ([[wire_pairs]], [rods_evenly], `remove`) are expanded first
    (sim.composition); `extends` needs a file (`load_scenario`).
    `notes`, if given, receives one line per group saying what was built and from what.
    Raises ScenarioError (an error about a default part says that it is one).
    """
    if not isinstance(data, dict):
        raise ScenarioError("", f"a scenario is a table of keys, not {type(data).__name__}")
    if "extends" in data:
        raise ScenarioError("extends", "only a scenario file can extend another (its path is relative to the file): "
                            "load it with load_scenario; accepted here: the keys of a scenario without extends")
    from sim.composition import COMPOSE_KEYS, compose

    if any(k in data for k in COMPOSE_KEYS):
        data, origins = compose(data, "the scenario")
        return parse_checked(data, origins, default_name, notes)
    return _parse_plain(data, default_name, notes)


def parse_checked(data: dict[str, Any], origins: Any, default_name: str = "scenario",
                  notes: list[str] | None = None) -> Scenario:
    """`_parse_plain` of composed data (sim.composition): an error says which part and file
    it concerns (`origins`, None: as it is), `notes` first get what the composition did."""
    said: list[str] = []
    try:
        s = _parse_plain(data, default_name, said)
    except ScenarioError as exc:
        raise (origins.explain(exc, data) if origins is not None else exc) from None
    if notes is not None:
        if origins is not None and origins.default is not None:  # the parts are the file's and its bases'
            said = [re.sub(r" from the file(; they replace the default wires \(none is added\))?",
                           " from the file and its bases", line) for line in said]
        notes.extend([*(origins.notes if origins is not None else []), *said])
    return s


def _parse_plain(data: dict[str, Any], default_name: str, notes: list[str] | None) -> Scenario:
    """`parse_scenario` of data with neither extends nor patterns."""
    data = dict(data)
    for group in PART_GROUPS:
        if group in data:
            _table_list(data, group)
    given_kgf = None
    if "wires" in data:
        given_kgf = {i for i, e in enumerate(data["wires"]) if isinstance(e, dict) and "tension_kgf" in e}
        data["wires"] = [_wire_entry(e, f"wires[{i}]") for i, e in enumerate(data["wires"])]
    data.setdefault("name", default_name)
    scenario = _typed_scenario(data)
    scenario = _surface_length(scenario, data)
    said: list[str] = []
    defaulted: set[str] = set()
    if "rings" in data:
        rings = scenario.rings
        said.append(f"rings: {len(rings)} from the file")
    else:
        rings = standard_rings()
        defaulted.add("rings")
        said.append(f"rings: the file has no [[rings]]: {DEFAULT_PARTS['rings']}")
    if "wires" in data:
        wires = scenario.wires
        bare = [r.name for r in rings if not any(w.ring == r.name for w in wires)]
        said.append(f"wires: {len(wires)} from the file; they replace the default wires (none is added)"
                    + (f"; rings with no wire: {', '.join(bare)}" if bare else ""))
    else:
        wires = standard_wires(rings)
        defaulted.add("wires")
        said.append(f"wires: the file has no [[wires]]: {DEFAULT_PARTS['wires']} ({len(wires)} wires)")
    if "rods" in data:
        rods = scenario.rods
        said.append(f"rods: {len(rods)} from the file")
    elif "hexapod" in data:
        rods = ()
        said.append("rods: none (the file has no [[rods]]; the hexapod's struts join its rings)")
    elif len(rings) < 2:
        rods = ()
        said.append("rods: none (the file has no [[rods]], and one ring needs none)")
    else:
        rods = standard_rods()
        defaulted.add("rods")
        said.append(f"rods: the file has no [[rods]]: {DEFAULT_PARTS['rods']}")
    pins = _resolve_clamped_pins(data, scenario)
    if any(_on_plate(r) for r in rods):  # a rod on two plates takes its angle from its lower hole
        from sim.plate_checks import resolve_plate_rods

        rods = resolve_plate_rods(dataclasses.replace(scenario, rings=rings), rods)
    if pins:
        said.append(f"half pins: {len(pins)} from the file"
                    + (f", {len(scenario.pin_clamps)} pin clamps" if scenario.pin_clamps else ""))
    scenario = dataclasses.replace(scenario, rings=rings, wires=wires, rods=rods, half_pins=pins)
    scenario, _moves = _snap_to_holes(scenario, said)
    try:
        validate(scenario)
    except ScenarioError as exc:
        m = re.fullmatch(r"wires\[(\d+)\]\.tension_N", exc.field)
        if m and given_kgf is not None and int(m.group(1)) in given_kgf:  # name the key the file used
            raise ScenarioError(exc.field.replace("tension_N", "tension_kgf"), exc.message) from None
        group = exc.field.split("[")[0].split(".")[0]
        if group in defaulted:
            which = f"the {group} are" if exc.field == group else f"{exc.field.split('.')[0]} is one of"
            raise ScenarioError(exc.field, f"{exc.message} [{which} the default {group}, {DEFAULT_PARTS[group]}, "
                                f"used because the file has no [[{group}]]; give your own [[{group}]]]") from None
        raise
    if notes is not None:
        notes.extend(said)
    return scenario


def _snap_to_holes(scenario: Scenario, said: list[str]) -> tuple[Scenario, list]:
    """Rings with holes = "snap": their rods, half-pin posts and pin clamps moved to the
    nearest free holes (sim.ring_holes.snap_to_holes), one line per move in `said`; the
    moves are kept on the returned Scenario (sim.ring_holes.moves_of)."""
    from sim import ring_holes

    if not ring_holes.uses_holes(scenario):
        return scenario, []
    scenario, moves = ring_holes.snap_to_holes(scenario)
    for ring in scenario.rings:
        if ring.holes != "anywhere":
            try:
                said.append(ring_holes.describe_row(ring, ring_holes.hole_row(ring)))
            except (ValueError, TypeError, OverflowError):
                pass  # a ring kind without what it needs: validate refuses it
    said.extend(m.words() for m in moves)
    object.__setattr__(scenario, "_hole_moves", tuple(moves))
    return scenario, moves


def _surface_length(scenario: Scenario, data: dict[str, Any]) -> Scenario:
    """An imported bone surface's length as bone.length_mm when the file does not give one."""
    bone = data.get("bone")
    if scenario.bone.surface is None or (isinstance(bone, dict) and "length_mm" in bone):
        return scenario
    from sim.bones import bone_profile

    length = bone_profile(scenario.bone).length_mm
    return dataclasses.replace(scenario, bone=dataclasses.replace(scenario.bone, length_mm=float(length)))


def _resolve_surface(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """bone.surface relative to the scenario file's folder (`base`), made absolute."""
    bone = data.get("bone")
    if isinstance(bone, dict) and isinstance(bone.get("surface"), str) and not Path(bone["surface"]).is_absolute():
        data = dict(data)
        data["bone"] = {**bone, "surface": str((base / bone["surface"]).absolute())}
    return data


# What a half pin in a [[pin_clamps]] entry takes from its clamp (_resolve_clamped_pins).
CLAMPED_PIN_KEYS = ("ring", "angle_deg", "post_height_mm", "post_diameter_mm")


def clamp_hole_height_mm(clamp: PinClampBlock, hole: int) -> float:
    """The height (mm) of hole `hole` of a [[pin_clamps]] block above its ring's mid-plane:
    hole 1 on the post's top; an "axial" row runs away from the ring, hole_spacing_mm a
    hole; a "tangential" row stays at the post's height (sim.pin_geometry.hole_point)."""
    if clamp.row != "axial":
        return clamp.post_height_mm
    return clamp.post_height_mm + math.copysign((hole - 1) * clamp.hole_spacing_mm,
                                                clamp.post_height_mm if clamp.post_height_mm else 1.0)


def _resolve_clamped_pins(data: dict[str, Any], scenario: Scenario) -> tuple[HalfPin, ...]:
    """The half pins with their ring, angle and post filled in: a pin held by a
    [[pin_clamps]] entry takes its ring, angle_deg, post_diameter_mm and post_height_mm
    (its hole's height) from the clamp; a value the file gives must agree with the clamp's
    (a pin naming another ring than its clamp's is refused). Raises ScenarioError."""
    raw = data.get("half_pins") or []
    clamps = {c.name: (j, c) for j, c in enumerate(scenario.pin_clamps)}
    out = []
    for i, pin in enumerate(scenario.half_pins):
        p = f"half_pins[{i}]"
        given = raw[i] if i < len(raw) and isinstance(raw[i], dict) else {}
        if pin.plate is not None:  # its post in a connection plate's hole
            from sim.plate_checks import resolve_plate_pin

            out.append(resolve_plate_pin(scenario, pin, p, given))
            continue
        if pin.clamp is None:
            if pin.hole is not None:
                raise ScenarioError(f"{p}.hole", f"half pin {pin.name!r} is on its own post (no clamp), so a hole does "
                                    "not apply; accepted: remove hole, or clamp = the name of a [[pin_clamps]] entry")
            for key, what in (("ring", "the ring whose post holds it"), ("angle_deg", "its post's angle on the ring")):
                if getattr(pin, key) is None:
                    raise ScenarioError(f"{p}.{key}", f"is required for half pin {pin.name!r} ({what}); accepted: a "
                                        f"value, or clamp = the name of a [[pin_clamps]] entry that holds the pin")
            out.append(pin)
            continue
        if pin.clamp not in clamps:
            names = ", ".join(repr(n) for n in clamps) or "none (the file has no [[pin_clamps]])"
            raise ScenarioError(f"{p}.clamp", f"{pin.clamp!r} is not a pin clamp; accepted: one of {names}")
        j, c = clamps[pin.clamp]
        _limit("pin_clamps[].holes", f"pin_clamps[{j}].holes", c.holes)  # before its holes are counted
        hole = pin.hole
        if hole is None:
            if c.holes > 1:
                raise ScenarioError(f"{p}.hole", f"is required: clamp {c.name!r} has {c.holes} holes; accepted: "
                                    f"hole = 1 to {c.holes} (1 is on the clamp's post)")
            hole = 1
        if not 1 <= hole <= c.holes:
            raise ScenarioError(f"{p}.hole", f"{hole} is not a hole of clamp {c.name!r}; accepted: 1 to {c.holes}")
        resolved = dict(zip(CLAMPED_PIN_KEYS, (c.ring, c.angle_deg, clamp_hole_height_mm(c, hole),
                                               c.post_diameter_mm)))
        for key, value in resolved.items():
            if key not in given or given[key] == value or (
                    isinstance(given[key], (int, float)) and isinstance(value, float)
                    and abs(given[key] - value) < 1e-9):
                continue
            if key == "ring":
                raise ScenarioError(f"{p}.ring", f"{given[key]!r}: half pin {pin.name!r} is held by clamp {c.name!r} "
                                    f"(pin_clamps[{j}]), which stands on ring {c.ring!r}; a clamp holds pins on its own "
                                    f"ring only; accepted: ring = {c.ring!r}, or leave ring out")
            raise ScenarioError(f"{p}.{key}", f"{given[key]!r}: half pin {pin.name!r} is held by clamp {c.name!r}, "
                                f"whose {key} is {value:g} for hole {hole}; a pin in a clamp takes it from the clamp; "
                                f"accepted: leave {key} out (set it on pin_clamps[{j}])")
        out.append(dataclasses.replace(pin, hole=hole, **resolved))
    return tuple(out)


def load_scenario(path: str | Path, notes: list[str] | None = None) -> Scenario:
    """Read, parse and validate a scenario file (`notes`: see `parse_scenario`). A file may
    extend another (`extends = "base.toml"`, relative to the file) and use the patterns
    of parts (sim.composition, which merges and expands them). Raises ScenarioError for a
    missing or unreadable file, invalid TOML, and any value that cannot be accepted (the
    message names the field, the value and what is accepted)."""
    from sim.composition import load_composed

    path = Path(path)
    data, origins = load_composed(path)
    data = _resolve_surface(data, path.parent)
    if origins is None:
        return parse_scenario(data, default_name=path.stem, notes=notes)
    return parse_checked(data, origins, default_name=path.stem, notes=notes)


# --------------------------------------------------------------------- validation
@dataclass(frozen=True)
class Limit:
    """The accepted range of a number, with the reason shown in the error message."""

    low: float
    high: float
    unit: str = "mm"
    why: str = ""
    low_open: bool = False  # the low end itself is not accepted

    def accepts(self, value: float) -> bool:
        return (value > self.low if self.low_open else value >= self.low) and value <= self.high

    def words(self) -> str:
        u = f" {self.unit}" if self.unit else ""
        if self.low_open:
            text = f"more than {self.low:g}{u} and at most {self.high:g}{u}"
        else:
            text = f"{self.low:g} to {self.high:g}{u}"
        return text + (f" ({self.why})" if self.why else "")


# a telescopic rod's inner rod keeps at least this many of its diameters inside the tube
# (assumed: a sliding fit shorter than about two diameters does not hold the rod's alignment)
TELESCOPIC_MIN_OVERLAP_DIAMETERS = 2.0
# a hinge keeps this much rod between it and each ring of the span it interrupts (assumed:
# an Ilizarov hinge's two halves, plates or posts, stand about 20-30 mm tall together)
HINGE_RING_CLEARANCE_MM = 10.0
ANGLE = Limit(-360.0, 360.0, "deg", "a direction in the ring's plane; angles repeat every 360 deg")
POINT_XY = Limit(-300.0, 300.0, "mm", "within the reach of the largest ring")

# The physical range of every number of a scenario: what a clinician or an engineer would
# accept, and why. Keys are field paths with [] for any entry of a list.
LIMITS: dict[str, Limit] = {
    "bone.length_mm": Limit(30.0, 650.0, "mm", "long bones from a rat's tibia (about 35 mm) to a tall adult's femur "
                            "(about 500 mm)"),
    "bone.outer_diameter_mm": Limit(4.0, 60.0, "mm", "diaphyses from a rabbit's tibia to a horse's cannon bone; an "
                                    "adult tibia is about 20-25 mm"),
    "bone.canal_ratio": Limit(0.0, 0.8, "", "the medullary canal's radius over the bone's outer radius: about 0.5 "
                              "in a diaphysis, 0 for a solid bone"),
    "bone.limb_diameter_mm": Limit(4.0, 300.0, "mm", "the limb must fit inside the largest ring, 300 mm"),
    "bone.min_skin_clearance_mm": Limit(0.0, 50.0, "mm", "15-20 mm between skin and ring is usual"),
    "gap.width_mm": Limit(0.1, 50.0, "mm", "from a saw cut to an acute fracture gap; a larger loss of bone is a "
                          "[defect]"),
    "gap.regenerate.modulus_MPa": Limit(0.01, 30000.0, "MPa", "from granulation tissue, 0.2 MPa, to cortical bone, "
                                        "17 000 MPa"),
    # Ring sizes and where they come from: docs/validation.md, "Ring sizes". 240-300 mm has no catalogue behind it.
    "rings[].inner_diameter_mm": Limit(50.0, 300.0, "mm", "the ring sizes of real ring systems: veterinary rings from "
                                       "50 mm, Ilizarov rings 80-240 mm, 150-160 mm for an adult's tibia"),
    "rings[].width_mm": Limit(5.0, 40.0, "mm", "the radial width of real rings is 10-25 mm"),
    "rings[].thickness_mm": Limit(2.0, 25.0, "mm", "steel rings are 5-6 mm thick, carbon-fibre rings up to about "
                                  "15 mm"),
    "rings[].opening_deg": Limit(-360.0, 360.0, "deg", "a direction in the ring's plane; angles repeat every 360 deg"),
    # no maker's catalogue of foot plates' arm lengths was reachable (docs/frame-model.md, "Foot plates")
    "rings[].arm_length_mm": Limit(20.0, 250.0, "mm", "a foot plate's arms reach from the heel's semicircle towards "
                                   "the toes: shorter than 20 mm is a half ring (kind = 'half'); an adult foot is "
                                   "about 250-270 mm long, and arms beyond the toes hold nothing"),
    # the calcaneus: body height about 48 mm (J Foot Ankle Surg 2020;59:949); docs/frame-model.md, "Foot plates"
    "hindfoot.height_mm": Limit(10.0, 150.0, "mm", "the talus and calcaneus stand about 70-90 mm under the ankle "
                                "joint; the calcaneus's body is about 48 mm tall"),
    "hindfoot.width_mm": Limit(10.0, 80.0, "mm", "a calcaneus is about 40 mm wide medio-lateral (a child's or an "
                               "animal's less)"),
    "rings[].arch_deg": Limit(30.0, 180.0, "deg", "a femoral arch is at most a half ring (a longer arc is a 5/8 or 2/3 "
                              "ring); no maker's catalogue of arch angles was found"),
    "rings[].level_mm": Limit(-1000.0, 1000.0, "mm", "a frame on a bench is at most a metre long"),
    # ring holes: docs/frame-model.md, "Ring holes" (no maker's count was found; sim.ring_holes)
    "rings[].hole_count": Limit(8.0, 120.0, "", "the holes of a full ring of this size: assumed about one every "
                                "16 mm on the centroid circle (32 on a 160 mm ring); a real ring's count, 8 to 120"),
    "wires[].diameter_mm": Limit(1.0, 2.5, "mm", "Kirschner wires for ring fixators are 1-2 mm, 1.5 and 1.8 mm in "
                                 "adults; a thicker one is a pin (transfixion_pin = true, or a half pin)"),
    # Inclined wires: no published range of inclines was found; 30 deg is what a wire-fixation bolt on a post
    # still grips square (docs/frame-model.md, "Wires as surgeons place them").
    "wires[].incline_deg": Limit(-30.0, 30.0, "deg", "the angle of the wire to the ring's plane; anatomical wire "
                                 "positions are inclined up to about 30 deg, its ends clamped on posts or washers"),
    "wires[].post_height_mm": Limit(-120.0, 120.0, "mm", "drop wires hang from posts or offset blocks up to about "
                                    "100 mm above or below the ring, as half pins' posts do"),
    "wires[].transfixion_pin_diameter_mm": Limit(2.5, 6.5, "mm", "smooth transfixion (Steinmann) pins, 1/8 to "
                                                 "1/4 inch"),
    "rods[].diameter_mm": Limit(3.0, 16.0, "mm", "threaded rods are M4 to M8, telescopic rods up to about 16 mm"),
    "rods[].length_mm": Limit(1.0, 1000.0, "mm", "no rod is longer than a metre"),
    # telescopic rods: no maker's catalogue of tube sizes was found (docs/frame-model.md, "Telescopic rods")
    "rods[].tube_diameter_mm": Limit(6.0, 25.0, "mm", "assumed: the tubes of telescopic rods and of hexapod struts "
                                     "are about 10-16 mm across; no maker's catalogue was found"),
    "rods[].tube_length_mm": Limit(10.0, 600.0, "mm", "assumed: from a short tube to the longest rods"),
    "rods[].overlap_mm": Limit(5.0, 600.0, "mm", "the length of the inner rod inside the tube; at least "
                               f"{TELESCOPIC_MIN_OVERLAP_DIAMETERS:g} inner-rod diameters (assumed)"),
    "hinges[].level_mm": Limit(-1000.0, 1000.0, "mm", "a frame on a bench is at most a metre long"),
    "gap.friction_coefficient": Limit(0.0, 1.0, "", "0: frictionless (the default, the upper bound of shear); "
                                      "bone on bone after an osteotomy was measured by Von Fraunhofer et al. 1985 "
                                      "(Surface Technology 25:377), no value read here: choose one and say so"),
    "gap.obliquity_deg": Limit(0.0, 60.0, "deg", "0: a transverse fracture; the AO/OTA classification calls a "
                               "diaphyseal fracture line of 30 deg or more oblique; a steeper plane runs along the shaft "
                               "for more than 1.7 diameters and is usually spiral (not built)"),
    # a butterfly fragment (docs/bones.md, "Butterfly fragments")
    "gap.butterfly.arc_deg": Limit(20.0, 180.0, "deg", "a wedge (AO/OTA type B) leaves the main fragments in contact "
                                   "after reduction (Meinberg et al. 2018, the AO/OTA compendium), so it takes at "
                                   "most half the cortex (assumed: 180 deg); below 20 deg it is a crack, not a "
                                   "fragment (assumed)"),
    "gap.butterfly.length_mm": Limit(5.0, 150.0, "mm", "assumed: a bending wedge's two lines run at about 45 deg to "
                                     "the transverse split, so a wedge across half the bone is about one diameter "
                                     "long; up to 150 mm for long spiral wedges"),
    # Half pins: docs/frame-model.md, "Half pins", has the sources of these ranges.
    "half_pins[].diameter_mm": Limit(4.0, 6.5, "mm", "Ilizarov half pins are 4.0, 5.0 and 6.0 mm and Rancho cubes take "
                                     "those three (Wheeless' Textbook of Orthopaedics, 'Ilizarov half pin "
                                     "characteristics'); Schanz screws come up to 6.5 mm"),
    "half_pins[].post_height_mm": Limit(-120.0, 120.0, "mm", "posts and cubes on real rings stand up to about "
                                        "100 mm"),
    "half_pins[].post_diameter_mm": Limit(5.0, 30.0, "mm", "posts and cubes are 10-20 mm across"),
    "half_pins[].tilt_deg": Limit(-60.0, 60.0, "deg", "half pins diverge by up to 60 deg in the sagittal and "
                                  "coronal planes (Lenarz et al. 2008, Clin Orthop Relat Res 466:2933): up to 60 "
                                  "deg to the ring's plane; steeper, a pin runs along the bone, not across it"),
    "half_pins[].aim_deg": Limit(-45.0, 45.0, "deg", "a pin aimed more than 45 deg off the bone's axis meets the "
                                 "cortex at a glancing angle"),
    "half_pins[].offset_mm": Limit(-30.0, 30.0, "mm", "a pin passes within the bone: at most a femur's radius from "
                                   "its axis"),
    "pin_clamps[].post_height_mm": Limit(-120.0, 120.0, "mm", "posts and cubes on real rings stand up to about "
                                         "100 mm"),
    "pin_clamps[].post_diameter_mm": Limit(5.0, 30.0, "mm", "posts and cubes are 10-20 mm across"),
    "pin_clamps[].holes": Limit(1, 6, "", "multi-pin clamps take 2-5 pins; a Rancho cube one or two"),
    "pin_clamps[].hole_spacing_mm": Limit(6.0, 40.0, "mm", "no maker's hole spacing was found (assumed): at least a "
                                          "6.5 mm pin's width, at most a long clamp's"),
    "pin_clamps[].block_mm": Limit(8.0, 60.0, "mm", "Rancho cubes and pin clamps are about 10-30 mm across"),
    # connection plates (sim.plate_geometry: no maker's dimensions were found, the ranges are assumed)
    "plates[].holes": Limit(2, 20, "", "connection plates have 2 to about 15 holes (assumed)"),
    "plates[].hole_pitch_mm": Limit(6.0, 40.0, "mm", "a hole's nut and the next one's side by side (assumed)"),
    "plates[].width_mm": Limit(8.0, 40.0, "mm", "plates are cut from ring stock, 10-25 mm wide (assumed)"),
    "plates[].thickness_mm": Limit(2.0, 20.0, "mm", "plates are as thick as ring stock, 3-10 mm (assumed)"),
    "plates[].length_mm": Limit(10.0, 300.0, "mm", "connection plates are up to about 200 mm long (assumed)"),
    "loads.axial.force_N": Limit(0.0, 5000.0, "N", "bench tests use 400-1000 N; walking loads a leg with a few "
                                 "times body weight", low_open=True),
    "loads.moment_Nm": Limit(0.0, 50.0, "N*m", "bench tests use 2-20 N*m", low_open=True),
    "loads.steps": Limit(1, 500, "", "load steps per case"),
    "materials.youngs_modulus_MPa": Limit(0.1, 1.0e6, "MPa", "from soft foams to tungsten carbide", low_open=False),
    "materials.yield_stress_MPa": Limit(0.01, 5000.0, "MPa", "the stress a part's safety factor is taken against"),
    "materials.density_kg_per_m3": Limit(1.0, 25000.0, "kg/m3", "from foams to the densest metals"),
    "materials.hardening_modulus_MPa": Limit(0.0, 1.0e6, "MPa", "the slope after yield: 0 (perfectly plastic) to "
                                             "about E"),
    "loads.axial.offset_mm": Limit(0.0, 150.0, "mm", "eccentric compression: from the bone's axis to a ring's rim"),
    "loads.cycles": Limit(1, 1000, "", "load-unload cycles: bench tests run up to a few hundred (450 in La Russa et al. "
                          "2011)"),
    "mesh.element_size_mm": Limit(0.5, 50.0, "mm", "finer than 0.5 mm adds nothing to beams whose sections are "
                                  "several mm"),
    "mesh.wire_element_size_mm": Limit(0.25, 25.0, "mm", "finer than 0.25 mm adds nothing to a 1-2.5 mm wire"),
    "solver.newton_rtol": Limit(1e-14, 1e-2, "", "tighter is below round-off, looser is no converged solution"),
    "solver.newton_atol_N": Limit(1e-12, 10.0, "N", "tighter is below round-off, looser is no converged solution"),
    "solver.newton_max_iterations": Limit(1, 200, "", "Newton converges in a few iterations or not at all"),
    "solver.max_step_cuts": Limit(0, 12, "", "each cut halves the load step: 12 cuts make 4096 sub-steps"),
    "continuum.element_size_mm": Limit(1.0, 50.0, "mm", "the solid's element size away from the wires"),
    "interfaces.rod_ring.axial_stiffness_N_per_mm": Limit(1.0, 1e7, "N/mm", "a bolted rod-ring joint gives way by "
                                                          "a few micrometres per 10 N: 1e2-1e5 N/mm", low_open=False),
    "interfaces.rod_ring.shear_stiffness_N_per_mm": Limit(1.0, 1e7, "N/mm", "the rod bearing in the ring's hole"),
    "interfaces.rod_ring.bending_stiffness_Nmm_per_rad": Limit(1e2, 1e11, "N*mm/rad", "the nuts rocking on the "
                                                               "ring's faces"),
    "interfaces.rod_ring.twist_stiffness_Nmm_per_rad": Limit(0.0, 1e11, "N*mm/rad", "the rod turning in the "
                                                             "clamped hole (0: free)"),
    "interfaces.wire_clamp.slip_force_N": Limit(0.0, 1e4, "N", "a wire fixation bolt at 5-10 N*m holds about "
                                                "600-1100 N (0: it never slips)"),
    "interfaces.wire_clamp.stiffness_N_per_mm": Limit(1.0, 1e7, "N/mm", "the clamp's grip along the wire"),
    "interfaces.wire_clamp.transverse_stiffness_N_per_mm": Limit(1.0, 1e7, "N/mm", "the clamp's bolt bearing "
                                                                 "across the wire"),
    "interfaces.wire_bone.bearing_stiffness_N_per_mm": Limit(0.0, 1e7, "N/mm", "per cortex (0: from the bone's "
                                                             "modulus, Vesic 1961)"),
    "interfaces.wire_bone.friction_force_N": Limit(0.0, 1e4, "N", "per cortex (0: the smooth wire slides freely)"),
    "interfaces.pin_bone.foundation_modulus_MPa": Limit(0.0, 1e6, "MPa", "N/mm per mm of pin (0: from the bone's "
                                                        "modulus, Vesic 1961)"),
    "interfaces.pin_clamp.bending_stiffness_Nmm_per_rad": Limit(1e2, 1e11, "N*mm/rad", "the pin rocking in its "
                                                                "clamp"),
    "interfaces.pin_clamp.length_mm": Limit(1.0, 50.0, "mm", "the length of pin a clamp grips"),
    "interfaces.strut.axial_stiffness_N_per_mm": Limit(1.0, 1e7, "N/mm", "a hexapod strut's joints and thread in "
                                                      "series with its tube"),
    "defect.length_mm": Limit(0.0, MAX_LENGTHENING_MM, "mm", "18-20 cm is the most bone transport regenerates in one "
                              "segment", low_open=True),
    "distraction.rate_mm_per_day": Limit(0.1, MAX_RATE_MM_PER_DAY, "mm/day", "the Ilizarov rate is 1 mm/day; much "
                                         "slower rates consolidate the regenerate early, above 2 mm/day it starves"),
    "distraction.weight_bearing_N": Limit(0.0, 2000.0, "N", "partial weight bearing during a treatment is a few "
                                          "hundred newtons", low_open=True),
    "distraction.soft_tissue.stiffness_N_per_mm": Limit(0.0, 1000.0, "N/mm", "about 7.5 N/mm in adult tibial "
                                                        "lengthening"),
    "distraction.soft_tissue.relaxing_stiffness_N_per_mm": Limit(0.0, 1000.0, "N/mm", "about 30 N/mm in adult "
                                                                 "tibial lengthening"),
    "distraction.soft_tissue.relaxation_time_h": Limit(0.01, 1000.0, "h", "tissues relax over minutes to hours"),
    "distraction.regenerate.tissue_time_constant_days": Limit(0.1, 365.0, "days", "tissues differentiate over days "
                                                              "to weeks"),
    "distraction.regenerate.front_speed_mm_per_day": Limit(0.0, 5.0, "mm/day", "bone fronts advance a fraction of "
                                                           "a mm a day"),
    "distraction.regenerate.endochondral_front_speed_mm_per_day": Limit(0.0, 5.0, "mm/day", "bone fronts advance a "
                                                                        "fraction of a mm a day"),
    "distraction.regenerate.bone_maturation_days": Limit(1.0, 3650.0, "days", "woven bone matures over weeks to "
                                                         "months"),
    "distraction.regenerate.intramembranous_strain_limit": Limit(0.0, 1.0, "", "a strain (0.05 after Claes & "
                                                                 "Heigele)", low_open=True),
    "distraction.regenerate.endochondral_strain_limit": Limit(0.0, 1.0, "", "a strain (0.15 after Claes & "
                                                              "Heigele)", low_open=True),
    "distraction.regenerate.pressure_limit_MPa": Limit(0.0, 10.0, "MPa", "0.15 MPa after Claes & Heigele",
                                                       low_open=True),
    "hexapod.deformity.translation_mm": Limit(0.0, 200.0, "mm", "a hexapod's struts travel at most 200 mm, "
                                              "from the shortest to the longest standard strut"),
    "hexapod.mounting.offset_mm": Limit(0.0, 300.0, "mm", "the reference ring's centre is at most a ring's "
                                        "radius from the bone"),
    "hexapod.strut_lengths_mm[]": Limit(50.0, 600.0, "mm", "the lengths of real hexapod struts"),
    "hexapod.max_rate_mm_per_day": Limit(0.1, MAX_RATE_MM_PER_DAY, "mm/day", "1 mm/day is usual; slower "
                                         "corrections take months"),
    "hexapod.strut_diameter_mm": Limit(4.0, 30.0, "mm", "hexapod struts are about 8-16 mm across"),
    "hexapod.strut_sizes[].length_mm": Limit(20.0, 1000.0, "mm", "the lengths of real hexapod struts"),
}

MAX_RINGS = 12  # the longest bones carry at most about six rings; 12 is generous
MAX_WIRES_PER_RING = 8  # a ring's holes and clamps take 2-4 wires, rarely more
MAX_PINS_PER_RING = 8
MAX_RODS = 64
MAX_STRUT_SIZES = 20
# Wires and pins keep clear of the osteotomy (and of a defect's ends): at least this much
# bone between the edge of a wire or pin and the gap's face. The AO Surgery Reference asks
# for at least 1 cm between a Schanz screw and the fracture line (external fixation of the
# paediatric humerus); we apply the same rule to wires: a wire closer to the gap would
# pass through the fracture haematoma or the regenerate and split the fragment's end.
GAP_CLEARANCE_MM = 10.0


def _limit(key: str, path: str, value: float, limit: Limit | None = None) -> None:
    """ScenarioError at `path` if `value` is outside LIMITS[key] (or `limit`)."""
    lim = limit or LIMITS[key]
    if not lim.accepts(value):
        u = f" {lim.unit}" if lim.unit else ""
        raise ScenarioError(path, f"{value:g}{u} is not accepted; accepted: {lim.words()}")


def _positive(path: str, value: float, unit: str = "mm") -> None:
    if not value > 0:
        raise ScenarioError(path, f"{value:g} {unit} is not accepted; accepted: a value > 0 {unit}")


def _material(path: str, name: str, s: Scenario | None = None) -> None:
    own = tuple(m.name for m in s.materials) if s is not None else ()
    if name not in MATERIALS and name not in ALIASES and name not in own:
        known = sorted((*MATERIALS, *ALIASES, *own))
        raise ScenarioError(path, f"unknown material {name!r}; accepted: {', '.join(known)} (or a [[materials]] "
                            "entry of your own)")


def _validate_materials(s: Scenario) -> None:
    """The file's own materials: plain names not in the catalogue, physical numbers, a source."""
    seen: set[str] = set()
    for i, m in enumerate(s.materials):
        p = f"materials[{i}]"
        if not m.name.replace("_", "").isalnum():
            raise ScenarioError(f"{p}.name", f"{m.name!r}; accepted: letters, digits and underscores")
        if m.name in MATERIALS or m.name in ALIASES or m.name in seen:
            raise ScenarioError(f"{p}.name", f"{m.name!r} is already a material (the catalogue's, docs/materials.md, "
                                "or another entry); accepted: a new name")
        seen.add(m.name)
        _limit("materials.youngs_modulus_MPa", f"{p}.youngs_modulus_MPa", m.youngs_modulus_MPa)
        if not 0 <= m.poisson_ratio < 0.5:
            raise ScenarioError(f"{p}.poisson_ratio", f"{m.poisson_ratio:g}; accepted: 0 <= nu < 0.5")
        _limit("materials.yield_stress_MPa", f"{p}.yield_stress_MPa", m.yield_stress_MPa)
        _limit("materials.density_kg_per_m3", f"{p}.density_kg_per_m3", m.density_kg_per_m3)
        if not m.source.strip():
            raise ScenarioError(f"{p}.source", "is required: where the numbers come from (a datasheet, a standard, "
                                "a paper, or 'measured: ...'); it is recorded with every result")
        if m.ultimate_stress_MPa != float("inf"):
            _limit("materials.yield_stress_MPa", f"{p}.ultimate_stress_MPa", m.ultimate_stress_MPa)
        _limit("materials.hardening_modulus_MPa", f"{p}.hardening_modulus_MPa", m.hardening_modulus_MPa)
        if not m.ultimate_stress_MPa >= m.yield_stress_MPa:
            raise ScenarioError(f"{p}.ultimate_stress_MPa", f"{m.ultimate_stress_MPa:g} MPa below the yield stress "
                                f"{m.yield_stress_MPa:g} MPa; accepted: ultimate >= yield (leave it out for a "
                                "material that is never let yield)")


def validate(s: Scenario) -> None:
    """Check sizes, names, geometry, holds and loads; raise ScenarioError on the first problem.

    Every number is checked against its physical range (`LIMITS`) before it is used in
    geometry; then the parts are checked against each other (wires through the bone and
    clear of the gap, rods parallel to the bone, no duplicate parts), every piece of
    bone is checked to be held in all six directions (`sim.mechanism`), what the frame
    and continuum models cannot build alike is refused (`_validate_builds`: wires grazing
    the cortex, rings too narrow or crowded to mesh, parts running through each other),
    and a hexapod's correction is planned (the same kinematics as `ilizarov hexapod`).
    """
    _validate_materials(s)
    _validate_bone_and_gap(s)
    _validate_hindfoot(s)
    _validate_names(s)
    _validate_rings(s)
    _validate_ring_kinds(s)
    if (s.plates or any(r.from_plate is not None or r.to_plate is not None for r in s.rods)
            or any(any(_wire_plate_ends(w)) for w in s.wires) or any(p.plate is not None for p in s.half_pins)):
        from sim.plate_checks import validate_plates

        validate_plates(s)
    if s.hexapod is not None:
        _validate_hexapod(s)
    _validate_wires(s)
    _validate_rods(s)
    _validate_hinges(s)
    _validate_pin_clamps(s)
    _validate_pins(s)
    if s.plates:
        from sim.plate_checks import validate_plate_geometry

        validate_plate_geometry(s)
    _validate_ring_openings(s)
    _validate_ring_holes(s)
    if s.has_bone:
        _validate_defect(s)
        _validate_clearance(s)
        for fragment, z_lo, z_hi in _bone_pieces(s):
            held = [w.name for w in s.wires if z_lo < s.wire_level_mm(w) < z_hi]
            held += [p.name for p in s.half_pins if z_lo < pin_entry_level_mm(s, p) < z_hi]
            if not held:
                raise ScenarioError("wires", f"the {fragment} is held by no wire or half pin (none between {z_lo:g} "
                                    f"and {z_hi:g} mm); accepted: at least one wire or half pin on every piece of bone")
        _validate_holds(s)
    elif len(s.rings) < 2:
        raise ScenarioError("rings", "a frame-only bench test needs at least two rings (bottom held, top loaded)")
    _validate_loads_and_settings(s)
    _validate_held_ring(s)
    _validate_interfaces(s)
    _validate_builds(s)
    if s.distraction is not None:
        _validate_distraction(s)
    if s.hexapod is not None:
        _validate_hexapod_kinematics(s)


def _validate_held_ring(s: Scenario) -> None:
    names = [r.name for r in s.rings]
    if s.loads.held_ring is not None:
        if s.loads.setup != "ring_held":
            raise ScenarioError("loads.held_ring", f"applies to setup = \"ring_held\" only (this is "
                                f"{s.loads.setup!r}); accepted: remove it, or setup = \"ring_held\"")
        if s.loads.held_ring not in names:
            raise ScenarioError("loads.held_ring", f"{s.loads.held_ring!r} is not a ring; accepted: one of "
                                f"{', '.join(names)}")
    if s.loads.held_at_deg:
        if s.loads.setup != "ring_held":
            raise ScenarioError("loads.held_at_deg", f"applies to setup = \"ring_held\" only (this is "
                                f"{s.loads.setup!r}); accepted: remove it, or setup = \"ring_held\"")
        for i, a in enumerate(s.loads.held_at_deg):
            _limit("angle", f"loads.held_at_deg[{i}]", a, ANGLE)
        angles = [a % 360.0 for a in s.loads.held_at_deg]
        if len(set(angles)) != len(angles):
            raise ScenarioError("loads.held_at_deg", f"{list(s.loads.held_at_deg)}; accepted: distinct finite "
                                "angles in degrees (the mount's bolts on the held ring)")
    if s.bone.intact and not s.has_bone:
        raise ScenarioError("bone.intact", "a frame-only test has no bone; accepted: setup = \"bone_bench\" or "
                            "\"ring_held\"")
    if s.bone.intact and s.loads.setup == "bone_bench":
        raise ScenarioError("bone.intact", "an intact bone held at one end and loaded at the other tests the bone, "
                            "not the frame; accepted: setup = \"ring_held\" (the frame holds the bone) or a gap")


INTERFACE_KINDS = ("rod_ring", "wire_clamp", "wire_bone", "pin_bone", "pin_clamp", "strut")
OVERRIDE_KINDS = INTERFACE_KINDS[:5]  # per part; a hexapod's struts share one law


def _validate_interfaces(s: Scenario) -> None:
    """Every interface number in its range (overrides too), overrides naming real parts and
    real keys, and no wire tensioned beyond its clamps' slip force."""
    it = s.interfaces
    for kind in INTERFACE_KINDS:
        law = getattr(it, kind)
        for f in dataclasses.fields(law):
            if f.name != "rigid":
                _limit(f"interfaces.{kind}.{f.name}", f"interfaces.{kind}.{f.name}", getattr(law, f.name))
    parts = {p.name: group for group in ("wires", "rods", "half_pins") for p in getattr(s, group)}
    rings = {r.name for r in s.rings}
    applies = {"rod_ring": "rods", "wire_clamp": "wires", "wire_bone": "wires", "pin_bone": "half_pins",
               "pin_clamp": "half_pins"}
    for i, o in enumerate(it.override):
        path = f"interfaces.override[{i}]"
        if o.part not in parts:
            what = ("a ring, which has no interface of its own (a rod's joints with the rings are set on the rod: "
                    "rod_ring)" if o.part in rings else "not a wire, rod or half pin of the frame")
            raise ScenarioError(f"{path}.part", f"{o.part!r} is {what}; accepted: the name of a wire, rod or half "
                                f"pin ({', '.join(sorted(parts))})")
        for kind in OVERRIDE_KINDS:
            values = getattr(o, kind)
            if not values:
                continue
            if parts[o.part] != applies[kind]:
                raise ScenarioError(f"{path}.{kind}", f"{o.part!r} is one of the {parts[o.part]}, which have no "
                                    f"{kind.replace('_', '-')} interface; accepted: {kind} for one of the "
                                    f"{applies[kind]}")
            fields = {f.name: f for f in dataclasses.fields(getattr(it, kind))}
            for key, value in values.items():
                if key not in fields:
                    raise ScenarioError(f"{path}.{kind}.{key}", f"unknown key; accepted keys: {', '.join(fields)}")
                if key == "rigid":
                    if not isinstance(value, bool):
                        raise ScenarioError(f"{path}.{kind}.rigid", f"{value!r} is not true or false")
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise ScenarioError(f"{path}.{kind}.{key}", f"{value!r} is not a finite number")
                _limit(f"interfaces.{kind}.{key}", f"{path}.{kind}.{key}", float(value))
    for i, w in enumerate(s.wires):
        clamp = it.law("wire_clamp", w.name)
        if not clamp.rigid and clamp.slip_force_N > 0 and w.tension_N >= clamp.slip_force_N:
            F = clamp.slip_force_N
            source = next((f"interfaces.override[{j}].wire_clamp.slip_force_N" for j in reversed(range(len(it.override)))
                           if it.override[j].part == w.name and "slip_force_N" in it.override[j].wire_clamp),
                          "interfaces.wire_clamp.slip_force_N")
            raise ScenarioError(f"wires[{i}].tension_N", f"{w.tension_N:.0f} N ({w.tension_kgf:.0f} kgf) is at or "
                                f"above the slip force of its clamps ({F:.0f} N, {F / N_PER_KGF:.0f} kgf; {source}): "
                                f"the wire would slip as it is clamped; accepted: a tension below {F:.0f} N "
                                f"({F / N_PER_KGF:.1f} kgf), or clamps that hold more ({source}: a tighter bolt)")
    for key, group, use in (("wires", "wires", "wire"), ("half_pins", "half_pins", "half_pin")):
        if getattr(s.plasticity, key):
            for i, part in enumerate(getattr(s, group)):
                mat = s.material(part.material, use)
                if not mat.ultimate_stress_MPa > mat.yield_stress_MPa or mat.hardening_modulus_MPa < 0:
                    raise ScenarioError(f"{group}[{i}].material", f"{mat.name}: a yield stress of "
                                        f"{mat.yield_stress_MPa:g} MPa, a tensile strength of "
                                        f"{mat.ultimate_stress_MPa:g} MPa and hardening {mat.hardening_modulus_MPa:g} "
                                        "MPa: a member that yields needs a tensile strength above its yield stress "
                                        "and hardening >= 0; accepted: such a material, or plasticity off")


def _validate_bone_shape(s: Scenario) -> None:
    """A template's sizes within the adult range it is drawn from, an imported surface
    readable and sound (sim.bones.read_surface), the limb's side agreeing with a hexapod's."""
    from sim.bones import TEMPLATES

    b = s.bone
    if b.template is not None and b.surface is not None:
        raise ScenarioError("bone.surface", "a bone is a template or an imported surface, not both; accepted: "
                            "bone.template or bone.surface")
    if b.template is not None:
        t = TEMPLATES[b.template]
        for key, (lo, hi), what in (("length_mm", t.length_range_mm, "adult bones"),
                                    ("outer_diameter_mm", t.shaft_diameter_range_mm, "mid-shaft diameters of adult "
                                     "bones")):
            v = getattr(b, key)
            if not lo <= v <= hi:
                raise ScenarioError(f"bone.{key}", f"{v:g} mm for the {b.template} template; accepted: {lo:g} to "
                                    f"{hi:g} mm ({what}: the range its profile is drawn from, docs/bones.md)")
    _limit("bone.canal_ratio", "bone.canal_ratio", b.canal_ratio)  # in range, if only an imported surface uses it
    if b.surface is not None:
        prof = s.bone_profile()
        if abs(prof.length_mm - b.length_mm) > max(0.5, 0.002 * b.length_mm):
            raise ScenarioError("bone.length_mm", f"{b.length_mm:g} mm, but the surface {Path(b.surface).name} is "
                                f"{prof.length_mm:.1f} mm long along z; accepted: the surface's length (leave "
                                "length_mm out to take it)")
    if b.template is not None or b.surface is not None:
        _material("bone.cancellous_material", b.cancellous_material, s)
    if b.side is not None and s.hexapod is not None and b.side != s.hexapod.side:
        raise ScenarioError("bone.side", f"{b.side!r} but hexapod.side is {s.hexapod.side!r}; accepted: the same "
                            "limb in both (or leave bone.side out)")


def _validate_bone_and_gap(s: Scenario) -> None:
    b, g = s.bone, s.gap
    for key in ("length_mm", "outer_diameter_mm", "limb_diameter_mm", "min_skin_clearance_mm"):
        _limit(f"bone.{key}", f"bone.{key}", getattr(b, key))
    if not 0 <= b.inner_diameter_mm < b.outer_diameter_mm:
        raise ScenarioError("bone.inner_diameter_mm", f"{b.inner_diameter_mm:g} mm is not accepted; accepted: "
                            f"0 <= inner diameter < outer diameter ({b.outer_diameter_mm:g} mm)")
    _validate_bone_shape(s)
    widest = 2 * s.bone_profile().max_outer_radius_mm
    if b.limb_diameter_mm < widest:
        raise ScenarioError("bone.limb_diameter_mm", f"{b.limb_diameter_mm:g} mm is smaller than the bone "
                            f"({widest:g} mm at its widest); accepted: >= the bone's widest diameter")
    _material("bone.material", b.material, s)
    if b.intact:
        for field, present, what in (("gap", g != Gap(), "a [gap] table"), ("defect", s.defect is not None, "a defect"),
                                     ("distraction", s.distraction is not None, "a distraction"),
                                     ("hexapod", s.hexapod is not None, "a hexapod correction")):
            if present:
                raise ScenarioError(field, f"bone.intact = true (a whole bone) and {what} contradict each other; "
                                    "accepted: an intact bone without it, or bone.intact = false")
        return
    _limit("gap.width_mm", "gap.width_mm", g.width_mm)
    lo, hi = g.level_mm - g.width_mm / 2, g.level_mm + g.width_mm / 2
    if not (0 < lo and hi < b.length_mm):
        raise ScenarioError("gap.level_mm", f"a gap from {lo:g} to {hi:g} mm is not inside the bone; accepted: "
                            f"width/2 < level < bone.length_mm - width/2 ({g.width_mm / 2:g} to "
                            f"{b.length_mm - g.width_mm / 2:g} mm)")
    _validate_obliquity(s)
    _validate_butterfly(s)
    if g.regenerate is not None:
        r = g.regenerate
        if (r.tissue is None) == (r.modulus_MPa is None):
            raise ScenarioError("gap.regenerate", "give exactly one of tissue or modulus_MPa")
        if r.tissue is not None and r.tissue not in TISSUE_MODULI_MPa:
            raise ScenarioError("gap.regenerate.tissue", f"unknown tissue {r.tissue!r}; accepted: "
                                f"{', '.join(TISSUE_MODULI_MPa)}")
        if r.modulus_MPa is not None:
            _limit("gap.regenerate.modulus_MPa", "gap.regenerate.modulus_MPa", r.modulus_MPa)
        if not 0 <= r.poisson_ratio < 0.5:
            raise ScenarioError("gap.regenerate.poisson_ratio", f"{r.poisson_ratio:g}; accepted: 0 <= nu < 0.5")


def _validate_hindfoot(s: Scenario) -> None:
    """A [hindfoot] block: sizes in range, wider than the tibia, below the gap."""
    h = s.hindfoot
    if h is None:
        return
    if not s.has_bone:
        raise ScenarioError("hindfoot", "a frame-only test has no bone; accepted: remove [hindfoot], or setup = "
                            "\"bone_bench\" or \"ring_held\"")
    _limit("hindfoot.height_mm", "hindfoot.height_mm", h.height_mm)
    _limit("hindfoot.width_mm", "hindfoot.width_mm", h.width_mm)
    if h.width_mm < s.bone.outer_diameter_mm:
        raise ScenarioError("hindfoot.width_mm", f"{h.width_mm:g} mm is narrower than the tibia above it "
                            f"(bone.outer_diameter_mm = {s.bone.outer_diameter_mm:g} mm); accepted: at least "
                            f"{s.bone.outer_diameter_mm:g} mm")
    if h.width_mm > s.bone.limb_diameter_mm:
        raise ScenarioError("hindfoot.width_mm", f"{h.width_mm:g} mm is wider than the limb "
                            f"(bone.limb_diameter_mm = {s.bone.limb_diameter_mm:g} mm); accepted: at most "
                            f"{s.bone.limb_diameter_mm:g} mm")
    lowest = min((lo for lo, _, _ in s.bone_breaks()), default=s.bone.length_mm)
    if h.height_mm >= lowest - GAP_CLEARANCE_MM:
        raise ScenarioError("hindfoot.height_mm", f"{h.height_mm:g} mm reaches the gap or defect at {lowest:g} mm; "
                            f"accepted: a hindfoot below it, at most {lowest - GAP_CLEARANCE_MM:g} mm (the gap's "
                            f"face less {GAP_CLEARANCE_MM:g} mm: an ankle frame's gap is the arthrodesis above the "
                            "hindfoot)")


def _validate_obliquity(s: Scenario) -> None:
    """An oblique fracture plane: its angle in range, inside the bone, and only where the
    models build it (a fracture on the bench, not a distraction, a transport or a hexapod)."""
    g = s.gap
    _limit("gap.obliquity_deg", "gap.obliquity_deg", g.obliquity_deg)
    _limit("angle", "gap.obliquity_axis_deg", g.obliquity_axis_deg, ANGLE)
    _limit("gap.friction_coefficient", "gap.friction_coefficient", g.friction_coefficient)
    if g.friction_coefficient > 0:
        for field, present, what in (("gap.regenerate", g.regenerate is not None, "a regenerate (soft tissue, not "
                                      "bone, fills the gap)"), ("distraction", s.distraction is not None,
                                      "a distraction"), ("defect", s.defect is not None, "a bone transport")):
            if present:
                raise ScenarioError("gap.friction_coefficient", f"{g.friction_coefficient:g}: friction between "
                                    f"the fragment ends is not built with {what}; accepted: 0 with a [{field}] "
                                    "table")
    if g.obliquity_deg == 0.0:
        return
    for field, present, what in (("distraction", s.distraction is not None, "a distraction (a corticotomy is "
                                  "transverse)"), ("defect", s.defect is not None, "a bone transport"),
                                 ("hexapod", s.hexapod is not None, "a hexapod correction")):
        if present:
            raise ScenarioError("gap.obliquity_deg", f"an oblique fracture ({g.obliquity_deg:g} deg) is not built "
                                f"with {what}; accepted: obliquity_deg = 0 with a [{field}] table")
    reach = g.axial_reach_mm(s.bone_radii_mm(g.level_mm)[0])
    lo, hi = g.level_mm - g.width_mm / 2 - reach, g.level_mm + g.width_mm / 2 + reach
    if not (0 < lo and hi < s.bone.length_mm):
        raise ScenarioError("gap.level_mm", f"an oblique fracture plane at {g.obliquity_deg:g} deg reaches from "
                            f"{lo:.1f} to {hi:.1f} mm along the bone; accepted: inside the bone (0 to "
                            f"{s.bone.length_mm:g} mm)")


def _validate_butterfly(s: Scenario) -> None:
    """A butterfly fragment: sizes in range, a free fragment, beside a transverse fracture on
    the bench (not a distraction, a transport, a hexapod or a tissue-filled gap), longer than
    the gap and inside the bone's cortical shaft (sim.fracture_geometry)."""
    g = s.gap
    b = g.butterfly
    if b is None:
        return
    if not s.has_bone:
        raise ScenarioError("gap.butterfly", "a frame-only test has no bone to break; accepted: remove "
                            "[gap.butterfly], or setup = \"bone_bench\" or \"ring_held\"")
    _limit("angle", "gap.butterfly.side_deg", b.side_deg, ANGLE)
    _limit("gap.butterfly.arc_deg", "gap.butterfly.arc_deg", b.arc_deg)
    _limit("gap.butterfly.length_mm", "gap.butterfly.length_mm", b.length_mm)
    if not b.free:
        raise ScenarioError("gap.butterfly.free", "a butterfly fragment fixed to a main fragment (by a lag screw) "
                            "is not built: neither model has a screw's hold; accepted: free = true (a loose "
                            "fragment that carries no load: the lower bound of the construct's stiffness)")
    for field, present, what in (("defect", s.defect is not None, "a bone transport"),
                                 ("distraction", s.distraction is not None, "a distraction (a corticotomy is a "
                                  "transverse cut)"),
                                 ("hexapod", s.hexapod is not None, "a hexapod correction"),
                                 ("gap.regenerate", g.regenerate is not None, "a regenerate (tissue) in the gap")):
        if present:
            raise ScenarioError("gap.butterfly", f"a butterfly fragment is not built with {what}; accepted: a "
                                f"fracture on the bench, without [{field}]")
    if g.obliquity_deg:
        raise ScenarioError("gap.butterfly", f"a butterfly fragment beside an oblique fracture (obliquity_deg = "
                            f"{g.obliquity_deg:g}) is not built; accepted: obliquity_deg = 0 (a transverse main "
                            "fracture line)")
    if b.length_mm < g.width_mm + 2.0:
        raise ScenarioError("gap.butterfly.length_mm", f"{b.length_mm:g} mm is not longer than the gap it sits "
                            f"in (width_mm = {g.width_mm:g} mm); accepted: at least {g.width_mm + 2.0:g} mm (the "
                            "gap's width + 2 mm)")
    lo, hi = g.level_mm - b.length_mm / 2, g.level_mm + b.length_mm / 2
    if not (0 < lo and hi < s.bone.length_mm):
        raise ScenarioError("gap.butterfly.length_mm", f"a butterfly fragment from z = {lo:g} to {hi:g} mm is not "
                            f"inside the bone (0 to {s.bone.length_mm:g} mm); accepted: at most "
                            f"{2 * min(g.level_mm, s.bone.length_mm - g.level_mm):g} mm here")
    from sim.bones import bone_profile

    prof = bone_profile(s.bone)
    for z in (lo + (hi - lo) * k / 8 for k in range(9)):
        ro, ri = s.bone_radii_mm(float(z))
        if ri <= 0 or prof.cancellous_at(float(z)) or (s.hindfoot is not None and z <= s.hindfoot.height_mm):
            raise ScenarioError("gap.butterfly.length_mm", f"the butterfly fragment reaches z = {z:.1f} mm, where "
                                "the bone is not a cortical tube (a metaphysis filled with cancellous bone, or the "
                                "hindfoot): the wedge's section is built for the shaft's cortex only; accepted: "
                                "a shorter fragment, or a gap in the diaphysis")


def _validate_names(s: Scenario) -> None:
    """Unique, plain names across all parts, and not too many parts."""
    seen: dict[str, str] = {}
    reserved = {"bone_proximal", "bone_distal", "bone_segment", "regenerate", "gap_contact", "defect_contact"}
    for group in ("rings", "wires", "rods", "half_pins", "hinges", "pin_clamps", "plates"):
        for i, part in enumerate(getattr(s, group)):
            path = f"{group}[{i}].name"
            if not part.name or not part.name.replace("_", "").replace("-", "").isalnum() or not part.name.isascii():
                raise ScenarioError(path, f"{part.name!r} is not accepted; accepted: letters, digits, '_' and '-'")
            if len(part.name) > 64:
                raise ScenarioError(path, f"a name of {len(part.name)} characters; accepted: at most 64")
            if part.name in reserved:
                raise ScenarioError(path, f"{part.name!r} is reserved for the bone; choose another name")
            if part.name in seen:
                raise ScenarioError(path, f"{part.name!r} is already the name of {seen[part.name]}; "
                                    "accepted: a name no other part has")
            seen[part.name] = f"{group}[{i}]"
    if not s.rings:
        raise ScenarioError("rings", "a frame needs at least one ring")
    if len(s.rings) > MAX_RINGS:
        raise ScenarioError("rings", f"{len(s.rings)} rings; accepted: at most {MAX_RINGS} (the longest bones carry "
                            "about six)")
    if len(s.rods) > MAX_RODS:
        raise ScenarioError("rods", f"{len(s.rods)} rods; accepted: at most {MAX_RODS}")
    for group, limit in (("wires", MAX_WIRES_PER_RING), ("half_pins", MAX_PINS_PER_RING)):
        per_ring: dict[str, int] = {}
        for i, part in enumerate(getattr(s, group)):
            per_ring[part.ring] = per_ring.get(part.ring, 0) + 1
            if per_ring[part.ring] > limit:
                raise ScenarioError(f"{group}[{i}].ring", f"ring {part.ring!r} would carry {per_ring[part.ring]} "
                                    f"{group.replace('_', ' ')}; accepted: at most {limit} per ring (a ring's holes "
                                    "and clamps take two to four)")


def _validate_rings(s: Scenario) -> None:
    b = s.bone
    ring_names = {r.name: i for i, r in enumerate(s.rings)}
    for i, r in enumerate(s.rings):
        p = f"rings[{i}]"
        for key in ("inner_diameter_mm", "width_mm", "thickness_mm"):
            _limit(f"rings[].{key}", f"{p}.{key}", getattr(r, key))
        if r.hole_count is not None:
            _limit("rings[].hole_count", f"{p}.hole_count", r.hole_count)
            if r.holes == "anywhere":
                raise ScenarioError(f"{p}.hole_count", f"{r.hole_count} holes are given, and ring {r.name!r} has "
                                    "holes = 'anywhere' (parts attach anywhere on it, so its holes would not be "
                                    "used); accepted: holes = 'check' or 'snap' with it, or leave hole_count out")
        _material(f"{p}.material", r.material, s)
        cx, cy = r.centre_xy_mm
        if s.has_bone:
            if not 0 < r.level_mm < b.length_mm:
                raise ScenarioError(f"{p}.level_mm", f"{r.level_mm:g} mm is outside the bone; accepted: "
                                    f"0 < level < {b.length_mm:g} mm")
            needed = b.limb_diameter_mm + 2 * b.min_skin_clearance_mm
            if r.inner_diameter_mm < needed:
                raise ScenarioError(f"{p}.inner_diameter_mm", f"{r.inner_diameter_mm:g} mm leaves no room for the "
                                    f"limb around the bone; accepted: at least bone.limb_diameter_mm + "
                                    f"2 x bone.min_skin_clearance_mm = {needed:g} mm")
            if math.hypot(cx, cy) + b.limb_diameter_mm / 2 + b.min_skin_clearance_mm > r.inner_diameter_mm / 2:
                raise ScenarioError(f"{p}.centre_xy_mm", f"({cx:g}, {cy:g}) mm puts the ring too close to the limb; "
                                    "accepted: a centre offset that keeps the clearance all round")
        else:
            _limit("rings[].level_mm", f"{p}.level_mm", r.level_mm)
            if math.hypot(cx, cy) > r.inner_diameter_mm / 2 - 10.0:
                raise ScenarioError(f"{p}.centre_xy_mm", f"({cx:g}, {cy:g}) mm puts the bone axis (x = y = 0, where "
                                    "the wires are laid out) outside ring; accepted: a centre within the inner "
                                    f"radius less 10 mm ({r.inner_diameter_mm / 2 - 10.0:g} mm) of the axis")
    levels = sorted((r.level_mm, r.name, r.thickness_mm) for r in s.rings)
    for (z0, n0, t0), (z1, n1, t1) in zip(levels, levels[1:]):
        if z1 - z0 < 0.5 * (t0 + t1) + 5.0:
            raise ScenarioError(f"rings[{ring_names[n1]}].level_mm", f"ring {n1!r} at {z1:g} mm clashes with ring "
                                f"{n0!r} at {z0:g} mm; accepted: rings at least their half thicknesses + 5 mm apart")


def _validate_ring_kinds(s: Scenario) -> None:
    """An open ring names where its opening faces; a full ring has none."""
    open_kinds = ", ".join(repr(k) for k in get_args(RingKind) if k != "full")
    for i, r in enumerate(s.rings):
        p = f"rings[{i}]"
        if r.kind == "femoral_arch":
            if r.arch_deg is None:
                raise ScenarioError(f"{p}.arch_deg", f"ring {r.name!r} is kind = 'femoral_arch' and needs the arc it "
                                    f"covers; accepted: {LIMITS['rings[].arch_deg'].words()}")
            _limit("rings[].arch_deg", f"{p}.arch_deg", r.arch_deg)
        elif r.arch_deg is not None:
            raise ScenarioError(f"{p}.arch_deg", f"applies to kind = 'femoral_arch' only (ring {r.name!r} is kind = "
                                f"{r.kind!r}, an arc of {r.arc_deg:g} deg); accepted: remove it, or kind = "
                                "'femoral_arch'")
        if r.is_open and r.opening_deg is None:
            raise ScenarioError(f"{p}.opening_deg", f"ring {r.name!r} is kind = {r.kind!r} (an arc of {r.arc_deg:g} "
                                "deg) and needs the direction its opening faces; accepted: an angle in degrees from "
                                "+x towards +y, e.g. opening_deg = 270 (posterior) for a proximal tibial ring")
        if not r.is_open and r.opening_deg is not None:
            raise ScenarioError(f"{p}.opening_deg", f"ring {r.name!r} is a full ring: it has no opening; accepted: "
                                f"remove opening_deg, or an open kind ({open_kinds})")
        if r.opening_deg is not None:
            _limit("rings[].opening_deg", f"{p}.opening_deg", r.opening_deg)
        _validate_foot_plate_kind(r, p)


def _validate_foot_plate_kind(r: Ring, p: str) -> None:
    """A foot plate gives its arms' length; no other kind has arms."""
    if r.kind == "foot_plate":
        if r.arm_length_mm is None:
            raise ScenarioError(f"{p}.arm_length_mm", f"ring {r.name!r} is kind = 'foot_plate' and needs the length of "
                                f"its two straight arms (from the semicircle's ends towards the toes); accepted: "
                                f"{LIMITS['rings[].arm_length_mm'].words()}")
        _limit("rings[].arm_length_mm", f"{p}.arm_length_mm", r.arm_length_mm)
    elif r.arm_length_mm is not None:
        raise ScenarioError(f"{p}.arm_length_mm", f"applies to kind = 'foot_plate' only (ring {r.name!r} is kind = "
                            f"{r.kind!r}, which has no arms); accepted: remove it, or kind = 'foot_plate'")


def ring_attachments(s: Scenario) -> list[tuple[str, str, str, float]]:
    """Every point where a part attaches to a ring: (field path, what, ring name, angle
    in deg about the ring's centre). Wires at both ends, rods on every ring they pass,
    half-pin posts, hexapod struts, and the test machine's mounts of a held ring."""
    out: list[tuple[str, str, str, float]] = []
    by_name = {r.name: r for r in s.rings}
    for i, w in enumerate(s.wires):
        ring = by_name.get(w.ring)
        if ring is None:
            continue
        ends = _wire_chord(s, w)
        if ends is None:
            continue  # a wire that misses the ring is _validate_wires' (a foot plate's: _validate_ring_openings')
        for (x, y), on_plate in zip(ends, _wire_plate_ends(w)):
            if on_plate is not None:
                continue  # in a plate's hole: the plate's bolt is the attachment (below)
            out.append((f"wires[{i}].angle_deg", f"a clamp of wire {w.name!r}", ring.name,
                        ring_geometry.direction_deg(ring, (x, y))))
    for i, rod in enumerate(s.rods):
        if _on_plate(rod):  # only its ends on rings (an end on a plate: the plate's bolt, below)
            for key, plate, ring in (("from_ring", rod.from_plate, rod.from_ring), ("to_ring", rod.to_plate, rod.to_ring)):
                if plate is None and ring in by_name:
                    out.append((f"rods[{i}].angle_deg", f"rod {rod.name!r}", ring, rod.angle_deg))
            continue
        for ring in s.rod_rings(rod):
            out.append((f"rods[{i}].angle_deg", f"rod {rod.name!r}", ring.name, rod.angle_deg))
    for i, plate in enumerate(s.plates):
        if plate.ring in by_name:
            out.append((f"plates[{i}].angle_deg", f"the bolt of plate {plate.name!r}", plate.ring, plate.angle_deg))
    for i, pin in enumerate(s.half_pins):
        if pin.ring in by_name and pin.clamp is None and pin.plate is None:
            out.append((f"half_pins[{i}].angle_deg", f"the post of half pin {pin.name!r}", pin.ring, pin.angle_deg))
    for i, c in enumerate(s.pin_clamps):
        if c.ring in by_name:
            out.append((f"pin_clamps[{i}].angle_deg", f"the post of pin clamp {c.name!r}", c.ring, c.angle_deg))
    if s.hexapod is not None:
        from sim.hexapod import fixed_level_geometries, hexapod_geometry

        hx = s.hexapod
        levels = [("hexapod", hx.reference_ring, hx.moving_ring, hexapod_geometry(s))]
        levels += [(f"hexapod.fixed_levels[{k}]", lv.rings[0], lv.rings[1], g)
                   for k, (lv, g) in enumerate(zip(hx.fixed_levels, fixed_level_geometries(s)))]
        for path, lower, upper, geom in levels:
            for k in range(6):
                out.append((f"{path}.first_pair_deg", f"strut {k + 1}", lower, geom.base_angles_deg[k]))
                out.append((f"{path}.first_pair_deg", f"strut {k + 1}", upper, geom.platform_angles_deg[k]))
    if s.loads.setup == "ring_held" and s.loads.held_at_deg:
        for a in s.loads.held_at_deg:
            out.append(("loads.held_at_deg", "a test-machine mount", s.held_ring.name, a))
    return out


def _validate_ring_openings(s: Scenario) -> None:
    """Nothing attaches in an open ring's opening: every hole is on the arc, at least half
    the ring's width (measured along its centroid circle) from either end."""
    by_name = {r.name: r for r in s.rings}
    if not any(r.is_open for r in s.rings):
        return
    _validate_foot_plate_wires(s)
    for path, what, name, angle in ring_attachments(s):
        ring = by_name[name]
        if not ring.is_open:
            continue
        if ring.kind == "foot_plate":
            _check_on_foot_plate(path, what, ring, angle)
            continue
        margin = math.degrees(0.5 * ring.width_mm / ring.centroid_radius_mm)
        if margin <= ring.arc_position_deg(angle) <= ring.arc_deg - margin:
            continue
        start, end = ring.arc_start_deg, (ring.arc_start_deg + ring.arc_deg) % 360.0
        raise ScenarioError(path, f"{what} would attach to ring {name!r} at {angle % 360.0:.1f} deg, in its opening "
                            f"or at its very end (kind = {ring.kind!r}: the ring runs counter-clockwise from "
                            f"{start:.1f} to {end:.1f} deg, its opening faces {ring.opening_deg:g} deg); accepted: an "
                            f"attachment on the arc, from {(start + margin) % 360:.1f} to {(end - margin) % 360:.1f} "
                            f"deg counter-clockwise (half the ring's width, {margin:.1f} deg, clear of its ends), or "
                            "another opening_deg or kind")


def _validate_ring_holes(s: Scenario) -> None:
    """Parts on rings with holes = "check" or "snap" are on holes, one part per hole
    (sim.ring_holes.check_holes)."""
    from sim import ring_holes

    ring_holes.check_holes(s, ScenarioError)


def _validate_foot_plate_wires(s: Scenario) -> None:
    """A wire on a foot plate meets its U twice: a wire that would leave the plate between
    its arms' tips (through the toes' side) has nowhere to be clamped."""
    for i, w in enumerate(s.wires):
        ring = s.ring(w.ring)
        if ring.kind != "foot_plate" or _wire_chord(s, w) is not None:
            continue
        raise ScenarioError(f"wires[{i}].angle_deg", f"wire {w.name!r} at {w.angle_deg:g} deg, offset "
                            f"{w.offset_mm:g} mm, misses foot plate {ring.name!r}: its line leaves the plate between "
                            f"the arms' tips (the opening faces {ring.opening_deg:g} deg, the arms are "
                            f"{ring.arm_length_mm:g} mm long), so one end has nothing to be clamped to; accepted: a "
                            "wire across the plate that meets the semicircle or an arm at both ends (e.g. at "
                            f"{(ring.opening_deg + 90.0) % 360.0:g} deg, across the arms), or longer arms")


def _check_on_foot_plate(path: str, what: str, ring: Ring, angle: float) -> None:
    """An attachment on a foot plate: on its U centreline, at least half the plate's width
    (along the centreline) from either arm's tip."""
    position = ring_geometry.centreline_position_mm(ring, angle)
    total = ring_geometry.centreline_length_mm(ring)
    margin = 0.5 * ring.width_mm
    if position is not None and margin <= position <= total - margin:
        return
    r, arm = ring.centroid_radius_mm, ring.arm_length_mm
    tip = math.degrees(math.atan2(r, arm))  # the arms' tips, seen from the centre
    where = "between its arms' tips (its opening)" if position is None else "at the very tip of an arm"
    raise ScenarioError(path, f"{what} would attach to foot plate {ring.name!r} at {angle % 360.0:.1f} deg, {where} "
                        f"(the arms point to {ring.opening_deg:g} deg and are {arm:g} mm long: their tips are "
                        f"{tip:.1f} deg either side of it, seen from the plate's centre); accepted: an attachment on "
                        f"the plate's semicircle or arms, at least half the plate's width ({margin:g} mm) from an "
                        "arm's tip, or longer arms (arm_length_mm)")


def _line_key(w: Wire) -> tuple[float, float]:
    """A wire's line in its ring's plane as (angle in [0, 180) deg, signed offset)."""
    a = w.angle_deg % 360.0
    if a >= 180.0 - 1e-9:
        return a - 180.0, -w.offset_mm
    return a, w.offset_mm


def _validate_wires(s: Scenario) -> None:
    b, g = s.bone, s.gap
    ring_names = {r.name: i for i, r in enumerate(s.rings)}
    for i, w in enumerate(s.wires):
        p = f"wires[{i}]"
        if w.ring not in ring_names:
            raise ScenarioError(f"{p}.ring", f"{w.ring!r} is not a ring; accepted: {', '.join(ring_names)}")
        _limit("wires[].transfixion_pin_diameter_mm" if w.transfixion_pin else "wires[].diameter_mm",
               f"{p}.diameter_mm", w.diameter_mm)
        _limit("angle", f"{p}.angle_deg", w.angle_deg, ANGLE)
        if w.tension_N < 0:
            raise ScenarioError(f"{p}.tension_N", f"{w.tension_N:g} N is not accepted; accepted: a tension >= 0 N "
                                "(0: an untensioned wire)")
        _material(f"{p}.material", w.material, s)
        mat = s.material(w.material, "wire")
        area = math.pi * w.diameter_mm ** 2 / 4
        stress = w.tension_N / area
        if stress > mat.yield_stress_MPa:
            max_N = mat.yield_stress_MPa * area
            raise ScenarioError(f"{p}.tension_N", f"{w.tension_N:.0f} N ({w.tension_kgf:.0f} kgf) stresses the "
                                f"{w.diameter_mm:g} mm wire to {stress:.0f} MPa, above the yield stress of "
                                f"{w.material} ({mat.yield_stress_MPa:g} MPa); accepted: at most {max_N:.0f} N "
                                f"({max_N / N_PER_KGF:.1f} kgf)")
        ring = s.rings[ring_names[w.ring]]
        cx, cy = ring.centre_xy_mm
        # perpendicular distance of the wire line from the ring centre
        a = math.radians(w.angle_deg)
        d_centre = abs(w.offset_mm - (-math.sin(a) * cx + math.cos(a) * cy))
        if d_centre > ring.inner_diameter_mm / 2 - 10.0:
            raise ScenarioError(f"{p}.offset_mm", f"{w.offset_mm:g} mm puts the wire outside ring {w.ring!r}; "
                                f"accepted: a wire crossing the ring at least 10 mm inside its inner edge")
        _validate_wire_placement(s, i, w)
        if s.has_bone:
            z = s.wire_level_mm(w)
            r_out, _ = s.bone_radii_mm(z)
            if abs(w.offset_mm) >= r_out - 0.5 * w.diameter_mm:
                most = r_out - (0.5 + WIRE_BONE_LIGAMENT_DIAMETERS) * w.diameter_mm  # as _validate_builds asks
                raise ScenarioError(f"{p}.offset_mm", f"{w.offset_mm:g} mm: the wire misses the bone (outer radius "
                                    f"{r_out:g} mm); accepted: |offset| <= {max(most, 0.0):g} mm (one wire diameter "
                                    "of bone left between the wire and the bone's surface)")
            if not 0 < z < b.length_mm:
                if w.post_height_mm is not None:
                    ring = s.ring(w.ring)
                    top = LIMITS["wires[].post_height_mm"].high
                    lo, hi = max(-ring.level_mm, -top), min(b.length_mm - ring.level_mm, top)
                    raise ScenarioError(f"{p}.post_height_mm", f"{w.post_height_mm:g} mm puts the wire on its posts at "
                                        f"z = {z:g} mm, off the bone (0 to {b.length_mm:g} mm): it misses the bone; "
                                        f"accepted: a post height between {lo:g} and {hi:g} mm (on the bone, and "
                                        f"posts of at most {top:g} mm)")
                raise ScenarioError(f"{p}.face", f"the wire at z = {z:g} mm is off the bone (0 to {b.length_mm:g} mm)")
            path = wire_path(s, w)
            if path is not None and path.cortex_mm is not None and w.incline_deg:
                zs = [float(c[2]) for c in path.cortex_mm]
                if not all(0 < zc < b.length_mm for zc in zs):
                    raise ScenarioError(f"{p}.incline_deg", f"{w.incline_deg:g} deg: the inclined wire meets the bone's "
                                        f"surface at z = {zs[0]:.1f} and {zs[1]:.1f} mm, beyond the bone (0 to "
                                        f"{b.length_mm:g} mm); accepted: a smaller incline")
    # two wires on one face of a ring along one line (or closer than their diameters): they clash
    # (wires on posts or inclined: _validate_builds measures their distance in space)
    seen: dict[tuple[str, str], list[tuple[int, Wire]]] = {}
    for i, w in enumerate(s.wires):
        if _on_posts(w):
            continue
        a, o = _line_key(w)
        for j, other in seen.get((w.ring, w.face), []):
            a2, o2 = _line_key(other)
            da = abs(a - a2)
            if min(da, 180.0 - da) > 1e-6:
                continue
            if a2 > a + 90.0 or a > a2 + 90.0:  # 0 and 179.999... deg: the same line, offsets opposite
                o2 = -o2
            gap = abs(o - o2)
            if gap < 1e-9:
                raise ScenarioError(f"wires[{i}]", f"wire {w.name!r} duplicates wire {other.name!r}: the same ring "
                                    f"{w.ring!r}, face {w.face!r}, angle {w.angle_deg:g} deg and offset "
                                    f"{w.offset_mm:g} mm; accepted: one wire per line (another angle, offset or face)")
            if gap < 0.5 * (w.diameter_mm + other.diameter_mm):
                raise ScenarioError(f"wires[{i}].offset_mm", f"wire {w.name!r} runs {gap:g} mm from wire "
                                    f"{other.name!r}, parallel to it on the same face of ring {w.ring!r}: they "
                                    f"overlap; accepted: at least {0.5 * (w.diameter_mm + other.diameter_mm):g} mm "
                                    "apart, or the other face")
        seen.setdefault((w.ring, w.face), []).append((i, w))


def _on_posts(w: Wire) -> bool:
    """A wire clamped on posts (post_height_mm) or inclined to its ring's plane."""
    return w.post_height_mm is not None or w.incline_deg != 0.0


def _validate_wire_placement(s: Scenario, i: int, w: Wire) -> None:
    """A wire's incline, posts, olive side and tensioning end (sim.geometry.wire_path)."""
    p = f"wires[{i}]"
    _limit("wires[].incline_deg", f"{p}.incline_deg", w.incline_deg)
    if w.olive_side is not None and not w.olive:
        raise ScenarioError(f"{p}.olive_side", f"{w.olive_side!r} on a smooth wire (olive = false); accepted: "
                            "olive_side only on an olive wire (olive = true), or leave olive_side out")
    if w.olive and w.olive_side is None and w.tensioned_from != "both_ends":
        raise ScenarioError(f"{p}.tensioned_from", f"{w.tensioned_from!r} on an olive wire without olive_side: "
                            "which cortex the olive bears on decides what pulling from one end does; accepted: "
                            "olive_side = \"start\" or \"end\" with it, or tensioned_from = \"both_ends\"")
    ring = s.ring(w.ring)
    clear = 0.5 * (ring.thickness_mm + w.diameter_mm) + WIRE_CLEARANCE_MM
    if w.post_height_mm is not None:
        _limit("wires[].post_height_mm", f"{p}.post_height_mm", w.post_height_mm)
        if abs(w.post_height_mm) < clear - 1e-9:
            raise ScenarioError(f"{p}.post_height_mm", f"{w.post_height_mm:g} mm puts the wire inside ring "
                                f"{w.ring!r} ({ring.thickness_mm:g} mm thick); accepted: |post_height_mm| >= "
                                f"{clear:g} mm (half the ring's thickness, the wire's radius and "
                                f"{WIRE_CLEARANCE_MM:g} mm), or no post_height_mm for a wire on the face")
    if not _on_posts(w):
        return
    path = wire_path(s, w)
    if path is None:
        return  # a wire that misses its ring: the offset check says so
    field = f"{p}.incline_deg" if w.incline_deg else f"{p}.post_height_mm"
    # over the ring (from its inner edge to the clamp) the wire is clear of the ring's slab
    inner = plan_chord(ring, w.angle_deg, w.offset_mm, 0.5 * ring.inner_diameter_mm)
    tan_t = math.tan(math.radians(w.incline_deg))
    for k, (end, name) in enumerate(((path.start_mm, "start"), (path.end_mm, "end"))):
        h_clamp = path.clamp_heights_mm[k]
        h_inner = path.level_mm + (inner[k] if inner else 0.0) * tan_t - ring.level_mm
        if abs(h_clamp) > LIMITS["wires[].post_height_mm"].high:
            raise ScenarioError(field, f"{w.incline_deg:g} deg puts the wire's {name} clamp {h_clamp:.1f} mm from ring "
                                f"{w.ring!r}'s mid-plane, on a post taller than "
                                f"{LIMITS['wires[].post_height_mm'].high:g} mm; accepted: a smaller incline")
        if not (min(h_clamp, h_inner) >= clear - 1e-9 or max(h_clamp, h_inner) <= -clear + 1e-9):
            most = None
            if w.incline_deg:
                # the smallest incline of this sign that takes the start/end past the far face
                need = (clear + abs(path.level_mm - ring.level_mm)) / max(abs(inner[k] if inner else 1.0), 1e-9)
                most = math.degrees(math.atan(need))
            hint = (f"an incline of at least {most:.1f} deg in size (the wire's {name} then passes the ring's "
                    f"other face), or post_height_mm to lift the wire" if most is not None else
                    "a taller post")
            raise ScenarioError(field, f"the wire's {name} runs through ring {w.ring!r} between its inner edge and "
                                f"its clamp ({h_inner:.1f} to {h_clamp:.1f} mm from the ring's mid-plane; the ring and "
                                f"the wire need {clear:g} mm); accepted: {hint}")


ROD_LEAN_MAX_DEG = 10.0  # assumed: a pair of conical and spherical washers seats a rod this far off
# its hole's axis (no published limit reachable; docs/validation.md)


def _rod_points(s: Scenario, rod: Rod) -> list[tuple[Ring, float, float]]:
    if rod.from_plate is not None or rod.to_plate is not None:  # an end on a plate: its hole (sim.plate_geometry)
        return [(s.ring(ring), *xyz[:2]) for ring, xyz in rod_end_points(s, rod)]
    return [(r, *ring_geometry.attachment_xy(r, rod.angle_deg)) for r in s.rod_rings(rod)]


def _on_plate(rod: Rod) -> bool:
    """A rod with an end on a connection plate."""
    return rod.from_plate is not None or rod.to_plate is not None


def _plate_end_on(rod: Rod, ring_name: str, s: Scenario) -> bool:
    """Whether the rod's end at ring `ring_name` is on a connection plate (not in the ring)."""
    return any(plate is not None and s.plate(plate).ring == ring_name for plate in (rod.from_plate, rod.to_plate))


def rod_end_rings(s: Scenario, rod: Rod) -> tuple[str, str]:
    """The rings of a rod's two ends (from, to): a plate's ring for an end on a plate, else
    from_ring / to_ring (default: the lowest and the highest ring)."""
    rings = s.rings_by_level()
    lo = s.plate(rod.from_plate).ring if rod.from_plate else (rod.from_ring or rings[0].name)
    hi = s.plate(rod.to_plate).ring if rod.to_plate else (rod.to_ring or rings[-1].name)
    return lo, hi


def rod_end_points(s: Scenario, rod: Rod) -> list[tuple[str, tuple[float, float, float]]]:
    """A rod's two ends (ring name, (x, y, z) in mm), from the lower to the higher: a
    plate's hole at the plate's mid-plane (sim.plate_geometry), or the ring's centreline
    point at angle_deg at the ring's mid-plane. Both models place a rod on plates here."""
    from sim.plate_geometry import plate_hole_point

    ends = []
    for (plate, hole), ring_name in zip(((rod.from_plate, rod.from_hole), (rod.to_plate, rod.to_hole)),
                                        rod_end_rings(s, rod)):
        if plate is not None:
            ends.append((ring_name, plate_hole_point(s, plate, int(hole or 2))))
        else:
            r = s.ring(ring_name)
            ends.append((ring_name, (*ring_geometry.attachment_xy(r, rod.angle_deg), r.level_mm)))
    return sorted(ends, key=lambda e: e[1][2])


def _validate_rods(s: Scenario) -> None:
    ring_names = {r.name: i for i, r in enumerate(s.rings)}
    if len(s.rings) > 1 and not s.rods and s.hexapod is None:
        raise ScenarioError("rods", "a frame of several rings needs connecting rods")
    for i, rod in enumerate(s.rods):
        p = f"rods[{i}]"
        _limit("rods[].diameter_mm", f"{p}.diameter_mm", rod.diameter_mm)
        if not 0 <= rod.inner_diameter_mm < rod.diameter_mm:
            raise ScenarioError(f"{p}.inner_diameter_mm", f"{rod.inner_diameter_mm:g} mm; accepted: 0 (a solid rod) "
                                f"<= inner diameter < diameter ({rod.diameter_mm:g} mm)")
        if rod.angle_deg is None:  # a rod on two plates has it filled in (sim.plate_checks.resolve_plate_rods)
            raise ScenarioError(f"{p}.angle_deg", f"rod {rod.name!r} has no angle_deg; accepted: the angle (deg) "
                                "where it meets its rings, or both ends on connection plates (from_plate, to_plate)")
        _limit("angle", f"{p}.angle_deg", rod.angle_deg, ANGLE)
        _material(f"{p}.material", rod.material, s)
        for key in ("from_ring", "to_ring"):
            ref = getattr(rod, key)
            if ref is not None and ref not in ring_names:
                raise ScenarioError(f"{p}.{key}", f"{ref!r} is not a ring; accepted: {', '.join(ring_names)}")
        rings = s.rod_rings(rod)
        if len(rings) < 2:
            raise ScenarioError(f"{p}.to_ring", "the rod must join at least two rings; accepted: two different rings")
        span = rings[-1].level_mm - rings[0].level_mm
        if rod.length_mm is not None:
            _limit("rods[].length_mm", f"{p}.length_mm", rod.length_mm)
            if rod.length_mm < span:
                raise ScenarioError(f"{p}.length_mm", f"{rod.length_mm:g} mm is shorter than the spacing of rings "
                                    f"{rings[0].name!r} and {rings[-1].name!r} ({span:g} mm); accepted: at least "
                                    f"{span:g} mm")
        _validate_rod_kind(s, rod, p, rings)
        # a rod runs straight from its first ring to its last: between rings of different sizes
        # or centres it leans, seated on conical washers, up to ROD_LEAN_MAX_DEG; a ring in
        # between must lie on that straight line (a threaded rod does not bend round it)
        pts = _rod_points(s, rod)
        (r0, x0, y0), (rn, xn, yn) = pts[0], pts[-1]
        dz = rn.level_mm - r0.level_mm
        lean = math.degrees(math.atan2(math.hypot(xn - x0, yn - y0), dz)) if dz > 0 else 0.0
        if lean > ROD_LEAN_MAX_DEG:
            raise ScenarioError(p, f"rod {rod.name!r} at {rod.angle_deg:g} deg joins ring {r0.name!r} (inner "
                                f"diameter {r0.inner_diameter_mm:g} mm, width {r0.width_mm:g} mm, centre "
                                f"{r0.centre_xy_mm}) and ring {rn.name!r} ({rn.inner_diameter_mm:g} mm, "
                                f"{rn.width_mm:g} mm, {rn.centre_xy_mm}) {dz:g} mm apart: it would lean {lean:.1f} "
                                f"deg from the bone's axis; accepted: at most {ROD_LEAN_MAX_DEG:g} deg (what conical "
                                "washers seat), e.g. rings further apart or of closer sizes (from_ring and to_ring "
                                "choose the rings a rod joins)")
        for r1, x1, y1 in pts[1:-1]:
            t = (r1.level_mm - r0.level_mm) / dz
            off = math.hypot(x1 - (x0 + t * (xn - x0)), y1 - (y0 + t * (yn - y0)))
            if off > 0.5:
                raise ScenarioError(p, f"rod {rod.name!r} at {rod.angle_deg:g} deg joins ring {r0.name!r} (inner "
                                    f"diameter {r0.inner_diameter_mm:g} mm, width {r0.width_mm:g} mm, centre "
                                    f"{r0.centre_xy_mm}) and ring {rn.name!r} ({rn.inner_diameter_mm:g} mm, "
                                    f"{rn.width_mm:g} mm, {rn.centre_xy_mm}) through ring {r1.name!r} "
                                    f"({r1.inner_diameter_mm:g} mm, {r1.centre_xy_mm}), whose hole is {off:.1f} mm "
                                    "off the straight line between them in plan view: the rod would have to bend; "
                                    "accepted: rings in between on the rod's line (of sizes and centres that line "
                                    "up), or separate rods (from_ring and to_ring choose the rings a rod joins)")
        # two rods through one hole
        for j, other in enumerate(s.rods[:i]):
            if _on_plate(rod) or _on_plate(other):
                continue  # a plate's holes: sim.plate_checks
            da = abs((rod.angle_deg - other.angle_deg + 180.0) % 360.0 - 180.0)
            arc = math.radians(da) * pts[0][0].centroid_radius_mm
            if arc < 0.5 * (rod.diameter_mm + other.diameter_mm):
                shared = {r.name for r in rings} & {r.name for r in s.rod_rings(other)}
                lo = max(rings[0].level_mm, s.rod_rings(other)[0].level_mm)
                hi = min(rings[-1].level_mm, s.rod_rings(other)[-1].level_mm)
                if len(shared) > 1 and hi > lo:
                    raise ScenarioError(f"{p}.angle_deg", f"rod {rod.name!r} at {rod.angle_deg:g} deg lies on rod "
                                        f"{other.name!r} at {other.angle_deg:g} deg between rings "
                                        f"{', '.join(sorted(shared))}; accepted: rods at least their diameters apart")
    # every ring joined to the rest: a frame in two pieces is a mechanism
    groups = {r.name: {r.name} for r in s.rings}

    def join(names):
        merged = set().union(*(groups[n] for n in names))
        for n in merged:
            groups[n] = merged

    for rod in s.rods:
        join([r.name for r in s.rod_rings(rod)])
    if s.hexapod is not None:
        join([s.hexapod.reference_ring, s.hexapod.moving_ring])
        for level in s.hexapod.fixed_levels:
            join(list(level.rings))
    if len(s.rings) > 1:
        for i, r in enumerate(s.rings):
            if len(groups[r.name]) == 1:
                raise ScenarioError(f"rings[{i}]", f"ring {r.name!r} is joined to the frame by no rod or strut; "
                                    "accepted: every ring on at least one rod")
        pieces = {frozenset(g) for g in groups.values()}
        if len(pieces) > 1:
            words = " and ".join("{" + ", ".join(sorted(g)) + "}" for g in sorted(pieces, key=sorted))
            raise ScenarioError("rods", f"the frame is in {len(pieces)} pieces that no rod or strut joins: rings "
                                f"{words}; each piece would move on its own; accepted: rods that join every ring to "
                                "the others")


TELESCOPIC_FIELDS = ("tube_diameter_mm", "tube_inner_diameter_mm", "tube_length_mm", "overlap_mm")


def _validate_rod_kind(s: Scenario, rod: Rod, p: str, rings: list[Ring]) -> None:
    """A threaded rod has no tube; a telescopic rod has one, between two rings, that fits."""
    if rod.kind == "threaded":
        given = [f for f in TELESCOPIC_FIELDS if getattr(rod, f) is not None]
        if given:
            raise ScenarioError(f"{p}.{given[0]}", f"belongs to a telescopic rod, and rod {rod.name!r} is threaded "
                                '(kind = "threaded", the default); accepted: kind = "telescopic" with it, or leave '
                                "it out")
        return
    missing = [f for f in ("tube_diameter_mm", "tube_length_mm", "overlap_mm") if getattr(rod, f) is None]
    if missing:
        raise ScenarioError(f"{p}.{missing[0]}", "is required for a telescopic rod (kind = \"telescopic\"); "
                            "accepted: tube_diameter_mm, tube_length_mm and overlap_mm (tube_inner_diameter_mm "
                            "defaults to the inner rod's diameter_mm)")
    if len(rings) != 2:
        raise ScenarioError(f"{p}.kind", f"a telescopic rod joins two rings, and rod {rod.name!r} joins "
                            f"{len(rings)} ({', '.join(r.name for r in rings)}); accepted: from_ring and to_ring "
                            "of two neighbouring rings, or kind = \"threaded\"")
    if rod.length_mm is not None:
        raise ScenarioError(f"{p}.length_mm", "is a threaded rod's length set by its nuts; a telescopic rod's "
                            "sections are tube_length_mm and overlap_mm; accepted: leave length_mm out")
    if s.distraction is not None:
        raise ScenarioError(f"{p}.kind", "telescopic rods are not built in a distraction treatment (the timeline "
                            "lengthens threaded rods); accepted: kind = \"threaded\" with [distraction]")
    for key in ("tube_diameter_mm", "tube_length_mm", "overlap_mm"):
        _limit(f"rods[].{key}", f"{p}.{key}", getattr(rod, key))
    bore = rod.tube_inner_diameter_mm if rod.tube_inner_diameter_mm is not None else rod.diameter_mm
    if not rod.diameter_mm <= bore < rod.tube_diameter_mm:
        raise ScenarioError(f"{p}.tube_inner_diameter_mm", f"{bore:g} mm; accepted: the inner rod's diameter "
                            f"({rod.diameter_mm:g} mm) <= the tube's bore < the tube's diameter "
                            f"({rod.tube_diameter_mm:g} mm)")
    span = math.dist(*_rod_points_xyz(s, rod)[::len(rings) - 1])
    tube_alone, overlap, rod_alone = rod.telescopic_sections(span)
    least = TELESCOPIC_MIN_OVERLAP_DIAMETERS * rod.diameter_mm
    if overlap < least:
        raise ScenarioError(f"{p}.overlap_mm", f"{overlap:g} mm of the {rod.diameter_mm:g} mm inner rod inside the "
                            f"tube; accepted: at least {least:g} mm ({TELESCOPIC_MIN_OVERLAP_DIAMETERS:g} diameters, "
                            "assumed: a shorter sliding fit does not hold the rod's alignment)")
    if tube_alone < 0:
        raise ScenarioError(f"{p}.overlap_mm", f"{overlap:g} mm is longer than the tube ({rod.tube_length_mm:g} mm); "
                            "accepted: overlap_mm <= tube_length_mm")
    if rod_alone <= 0:
        raise ScenarioError(f"{p}.tube_length_mm", f"a {rod.tube_length_mm:g} mm tube from ring {rings[0].name!r} "
                            f"reaches ring {rings[1].name!r} ({span:.1f} mm away); accepted: a tube shorter than "
                            f"{span:.1f} mm (the inner rod bolts to the upper ring)")


def _hinge_point(s: Scenario, rod: Rod, z: float):
    """Where a rod's line (between its rings' points) passes level z (mm)."""
    import numpy as np

    pts = [np.asarray(p, float) for p in _rod_points_xyz(s, rod)]
    for p0, p1 in zip(pts, pts[1:]):
        if p0[2] <= z <= p1[2]:
            return p0 + (z - p0[2]) / (p1[2] - p0[2]) * (p1 - p0)
    raise ValueError(z)


def hinge_points(s: Scenario, hinge: Hinge) -> dict[str, tuple[float, float, float]]:
    """Where hinge `hinge` interrupts each of its rods: the rod's point at its level (mm)."""
    by_name = {r.name: r for r in s.rods}
    return {name: tuple(float(c) for c in _hinge_point(s, by_name[name], hinge.level_mm)) for name in hinge.rods}


def _validate_hinges(s: Scenario) -> None:
    """Hinges on existing rods, between two rings, on one common axis, and a frame that
    something else closes across each hinge's level (sim.mechanism.hinge_level_motion)."""
    import numpy as np

    from sim.mechanism import direction_words, hinge_level_motion

    by_name = {r.name: r for r in s.rods}
    hinged: dict[str, int] = {}
    for i, h in enumerate(s.hinges):
        p = f"hinges[{i}]"
        if s.distraction is not None or s.hexapod is not None:
            which = "distraction" if s.distraction is not None else "hexapod"
            raise ScenarioError(p, f"hinges are not built with a [{which}] table (the timeline and the hexapod "
                                "plan move rods and struts, not hinges); accepted: hinges in a frame loaded on the "
                                "bench")
        _limit("hinges[].level_mm", f"{p}.level_mm", h.level_mm)
        _limit("angle", f"{p}.axis_deg", h.axis_deg, ANGLE)
        if not h.rods:
            raise ScenarioError(f"{p}.rods", "a hinge interrupts at least one rod; accepted: a list of rod names")
        points = []
        for k, name in enumerate(h.rods):
            q = f"{p}.rods[{k}]"
            if name not in by_name:
                raise ScenarioError(q, f"{name!r} is not a rod; accepted: {', '.join(by_name) or 'none'}")
            if name in hinged:
                raise ScenarioError(q, f"rod {name!r} already has a hinge (hinges[{hinged[name]}]); accepted: one "
                                    "hinge per rod")
            hinged[name] = i
            rod = by_name[name]
            if rod.kind == "telescopic":
                raise ScenarioError(q, f"rod {name!r} is telescopic; hinges are built on threaded rods; accepted: a "
                                    "threaded rod")
            rings = s.rod_rings(rod)
            below = [r for r in rings if r.level_mm < h.level_mm]
            above = [r for r in rings if r.level_mm > h.level_mm]
            if not below or not above:
                raise ScenarioError(f"{p}.level_mm", f"{h.level_mm:g} mm is not between the rings rod {name!r} joins "
                                    f"({', '.join(f'{r.name} at {r.level_mm:g} mm' for r in rings)}); accepted: a "
                                    "level between two of them")
            lo, hi = below[-1], above[0]
            clear = min(h.level_mm - lo.level_mm - 0.5 * lo.thickness_mm, hi.level_mm - 0.5 * hi.thickness_mm - h.level_mm)
            if clear < HINGE_RING_CLEARANCE_MM:
                raise ScenarioError(f"{p}.level_mm", f"{h.level_mm:g} mm is {clear:.1f} mm from the face of ring "
                                    f"{lo.name if h.level_mm - lo.level_mm < hi.level_mm - h.level_mm else hi.name!r}"
                                    f"; accepted: at least {HINGE_RING_CLEARANCE_MM:g} mm of rod between a hinge and "
                                    f"the rings (assumed: a hinge's two halves stand about 20-30 mm tall), i.e. "
                                    f"{lo.level_mm + 0.5 * lo.thickness_mm + HINGE_RING_CLEARANCE_MM:g} to "
                                    f"{hi.level_mm - 0.5 * hi.thickness_mm - HINGE_RING_CLEARANCE_MM:g} mm")
            points.append(_hinge_point(s, rod, h.level_mm))
        d = np.array(h.axis())
        for name, pt in zip(h.rods[1:], points[1:]):
            v = pt - points[0]
            off = float(abs(v[0] * d[1] - v[1] * d[0]))
            if off > 0.5:
                line = math.degrees(math.atan2(v[1], v[0])) % 180.0
                raise ScenarioError(f"{p}.axis_deg", f"{h.axis_deg:g} deg: the hinges on rods {h.rods[0]!r} and "
                                    f"{name!r} at {h.level_mm:g} mm are {float(np.hypot(*v[:2])):.1f} mm apart on a "
                                    f"line at {line:.1f} deg, and an axis at {h.axis_deg:g} deg through the first "
                                    f"misses the second by {off:.1f} mm: two hinges on different axes lock each "
                                    f"other; accepted: axis_deg = {line:.1f} (or {line + 180:.1f}), or rods whose "
                                    "points at the level lie on one line")
    for i, h in enumerate(s.hinges):
        free = hinge_level_motion(s, h.level_mm)
        if free is not None:
            crossing = [r.name for r in s.rods if s.rod_rings(r)[0].level_mm < h.level_mm < s.rod_rings(r)[-1].level_mm]
            hinged_here = [n for n in crossing if any(n in g.rods and g.level_mm == h.level_mm for g in s.hinges)]
            others = [n for n in crossing if n not in hinged_here]
            raise ScenarioError(f"hinges[{i}]", f"across {h.level_mm:g} mm the frame is joined only by the hinged "
                                f"rod{'s' if len(hinged_here) > 1 else ''} {', '.join(hinged_here)}"
                                + (f" and {', '.join(others)}" if others else "")
                                + f": the rings above turn freely about the hinge axis ({direction_words(free)}), a "
                                "mechanism the frame model cannot solve; accepted: a rod across the level without a "
                                "hinge (a distraction rod or motor on the far side of the axis, as in a gradual "
                                "angular correction), or no hinge")


# Two half pins keep this much room between their surfaces (mm): drilled holes closer than
# this split the cortex between them, and the solid's mesher cannot mesh pins whose
# surfaces touch (as RING_EDGE_MM for the parts in a ring's holes).
PIN_CLEARANCE_MM = 1.0
# A half pin keeps at least this many of its own diameters of bone between its surface and
# the bone's outer surface, on either side: a centred pin no wider than a third of the
# bone (the usual rule for a pin's size) leaves one diameter; a pin off the bone's axis
# leaves less on one side and grazes the cortex (see _validate_pins).
PIN_BONE_LIGAMENT_DIAMETERS = 1.0


def pin_entry_level_mm(s: Scenario, pin: HalfPin) -> float:
    """The level (mm) where a half pin enters the bone (sim.pin_geometry): the piece of
    bone it holds. Off the bone's geometry (no bone, or a pin that misses it): the level
    of its clamp point."""
    from sim.pin_geometry import PinGeometryError, pin_path

    try:
        return pin_path(s, pin).near_outer[2]
    except PinGeometryError:
        return s.ring(pin.ring).level_mm + pin.post_height_mm


def _validate_pin_clamps(s: Scenario) -> None:
    """[[pin_clamps]]: on a ring, in range, each hole used once, each clamp used."""
    ring_names = [r.name for r in s.rings]
    for j, c in enumerate(s.pin_clamps):
        p = f"pin_clamps[{j}]"
        if c.ring not in ring_names:
            raise ScenarioError(f"{p}.ring", f"{c.ring!r} is not a ring; accepted: {', '.join(ring_names)}")
        for key in ("post_height_mm", "post_diameter_mm", "holes", "hole_spacing_mm", "block_mm"):
            _limit(f"pin_clamps[].{key}", f"{p}.{key}", getattr(c, key))
        _limit("angle", f"{p}.angle_deg", c.angle_deg, ANGLE)
        _material(f"{p}.material", c.material, s)
        if c.block_mm < c.post_diameter_mm:
            raise ScenarioError(f"{p}.block_mm", f"{c.block_mm:g} mm is narrower than the clamp's post "
                                f"({c.post_diameter_mm:g} mm); accepted: at least post_diameter_mm")
        held = [(i, pin) for i, pin in enumerate(s.half_pins) if pin.clamp == c.name]
        if not held:
            raise ScenarioError(p, f"pin clamp {c.name!r} holds no half pin; accepted: clamp = {c.name!r} on the half "
                                "pins it holds, or remove it")
        seen: dict[int, str] = {}
        for i, pin in held:
            if pin.hole in seen:
                used = {q.hole for _, q in held}
                free = [str(k) for k in range(1, c.holes + 1) if k not in used]
                raise ScenarioError(f"half_pins[{i}].hole", f"hole {pin.hole} of clamp {c.name!r} holds half pin "
                                    f"{seen[pin.hole]!r} already; half pin {pin.name!r} cannot use it too; accepted: "
                                    + (f"hole = {' or '.join(free)} (the clamp's free holes)" if free else
                                       f"a clamp with more holes (pin_clamps[{j}].holes = {c.holes + 1} or more)"))
            seen[pin.hole] = pin.name
        widest = max(q.diameter_mm for _, q in held)
        if widest + 2 * RING_EDGE_MM > c.block_mm:
            raise ScenarioError(f"{p}.block_mm", f"{c.block_mm:g} mm is too narrow for a {widest:g} mm pin; "
                                f"accepted: at least {widest + 2 * RING_EDGE_MM:g} mm ({RING_EDGE_MM:g} mm of "
                                "block either side of the pin)")


def _validate_pins(s: Scenario) -> None:
    """Half pins: sizes and directions in range; with a bone, each pin placed as both models
    place it (sim.pin_geometry.pin_path) enters the bone across its cortex (not grazing
    it), a unicortical pin ends in the canal, a pin stays in the bone's length, and no
    two pins cross or touch."""
    from sim.pin_geometry import PinGeometryError, pin_path

    b = s.bone
    ring_names = {r.name: i for i, r in enumerate(s.rings)}
    paths = {}
    for i, pin in enumerate(s.half_pins):
        p = f"half_pins[{i}]"
        if pin.ring not in ring_names:
            raise ScenarioError(f"{p}.ring", f"{pin.ring!r} is not a ring; accepted: {', '.join(ring_names)}")
        for key in ("diameter_mm", "post_diameter_mm", "post_height_mm", "tilt_deg", "aim_deg"):
            _limit(f"half_pins[].{key}", f"{p}.{key}", getattr(pin, key))
        if pin.offset_mm is not None:
            _limit("half_pins[].offset_mm", f"{p}.offset_mm", pin.offset_mm)
            if pin.aim_deg != 0.0:
                raise ScenarioError(f"{p}.offset_mm", f"half pin {pin.name!r} gives both aim_deg ({pin.aim_deg:g} deg) "
                                    "and offset_mm: they say the same thing (where the pin passes the bone's axis); "
                                    "accepted: one of them")
        _limit("angle", f"{p}.angle_deg", pin.angle_deg, ANGLE)
        _material(f"{p}.material", pin.material, s)
        if not 0 <= pin.inner_diameter_mm < pin.diameter_mm:
            raise ScenarioError(f"{p}.inner_diameter_mm", f"{pin.inner_diameter_mm:g} mm; accepted: 0 (a solid pin) "
                                f"<= cannulation < diameter ({pin.diameter_mm:g} mm)")
        if pin.post_diameter_mm < pin.diameter_mm:
            raise ScenarioError(f"{p}.post_diameter_mm", f"{pin.post_diameter_mm:g} mm is thinner than the pin "
                                f"({pin.diameter_mm:g} mm) it holds; accepted: at least the pin's diameter")
        if not s.has_bone:
            continue
        z = s.ring(pin.ring).level_mm + pin.post_height_mm
        if not 0 < z < b.length_mm:
            raise ScenarioError(f"{p}.post_height_mm", f"the pin at z = {z:g} mm is off the bone")
        ro = s.bone_radii_mm(z)[0]
        if pin.diameter_mm >= 2 * ro:
            raise ScenarioError(f"{p}.diameter_mm", f"{pin.diameter_mm:g} mm; accepted: less than the bone's "
                                f"outer diameter ({2 * ro:g} mm)")
        way = "offset_mm" if pin.offset_mm is not None else "aim_deg"
        try:
            path = pin_path(s, pin)
        except PinGeometryError as exc:
            raise ScenarioError(f"{p}.{exc.field}", exc.message) from None
        paths[pin.name] = path
        _check_pin_in_bone(s, p, pin, path, way)
    if not s.has_bone:
        return
    for i, pin in enumerate(s.half_pins):
        a = paths[pin.name]
        for other in s.half_pins[:i]:
            o = paths[other.name]
            gap = segment_distance_3d(a.clamp_point, a.tip, o.clamp_point, o.tip)
            need = 0.5 * (pin.diameter_mm + other.diameter_mm) + PIN_CLEARANCE_MM
            if gap < need - 1e-9:
                raise ScenarioError(f"half_pins[{i}]", f"half pin {pin.name!r} and half pin {other.name!r} cross or "
                                    f"touch: their axes come {gap:.2f} mm apart (from clamp to tip); accepted: axes at "
                                    f"least their radii + {PIN_CLEARANCE_MM:g} mm ({need:g} mm) apart: another "
                                    "tilt_deg, aim_deg, angle_deg, post height or clamp hole for one of them")


def _check_pin_in_bone(s: Scenario, p: str, pin: HalfPin, path, way: str) -> None:
    """A pin through the bone as a surgeon drives it: across the cortex, not along its edge;
    a unicortical pin's tip in the canal; within the bone's length."""
    b = s.bone
    z_entry = path.near_outer[2]
    ro = s.bone_radii_mm(z_entry)[0]
    need = PIN_BONE_LIGAMENT_DIAMETERS * pin.diameter_mm
    shell = ro - abs(path.closest_mm) - 0.5 * pin.diameter_mm
    if shell < need - 1e-9:
        most = ro - 0.5 * pin.diameter_mm - need
        if most < 0:
            raise ScenarioError(f"{p}.diameter_mm", f"{pin.diameter_mm:g} mm: a pin this thick through a {2 * ro:g} mm "
                                f"bone leaves less than one pin diameter of bone either side of it; accepted: a pin of "
                                f"at most {2 * ro / (1 + 2 * PIN_BONE_LIGAMENT_DIAMETERS):.2f} mm (a third of the bone's "
                                "diameter) through this bone")
        rho = math.hypot(path.clamp_point[0], path.clamp_point[1])
        if way == "offset_mm":
            accepted = f"|offset_mm| <= {most:.2f} mm"
        else:
            accepted = f"|aim_deg| <= {math.degrees(math.asin(min(1.0, most / rho))):.2f} deg (an offset of at most " \
                       f"{most:.2f} mm from the bone's axis)"
        raise ScenarioError(f"{p}.{way}", f"{getattr(pin, way):g}: half pin {pin.name!r} ({pin.diameter_mm:g} mm) "
                            f"passes {abs(path.closest_mm):.2f} mm from the bone's axis and grazes the cortex, "
                            f"{max(shell, 0.0):.2f} mm under the bone's surface (outer radius {ro:g} mm); accepted: "
                            f"{accepted}, which leaves at least one pin diameter ({need:g} mm) of bone beside the pin "
                            "(a pin along the cortex's edge splits it, and the solid model meshes a thin shell with "
                            "slivers)")
    if not pin.bicortical and not math.isfinite(path.t_tip):
        raise ScenarioError(f"{p}.bicortical", f"half pin {pin.name!r} is unicortical (bicortical = false) but its "
                            "axis never reaches the medullary canal, so its tip would end in the far side's cortex; "
                            "accepted: bicortical = true, or a pin aimed at the canal")
    lo, hi = path.z_range_mm
    if not (0 < lo and hi < b.length_mm):
        raise ScenarioError(f"{p}.tilt_deg", f"{pin.tilt_deg:g} deg: half pin {pin.name!r} runs in the bone from z = "
                            f"{path.near_outer[2]:g} to its tip at z = {path.tip[2]:g} mm, out of the bone's end (0 to "
                            f"{b.length_mm:g} mm); accepted: a pin whose tip stays in the bone's length (less tilt, or "
                            "another post height)")


def _validate_clearance(s: Scenario) -> None:
    """Wires and pins keep GAP_CLEARANCE_MM of bone between them and the gap or a defect."""
    breaks = s.bone_breaks()

    def check(path: str, what: str, z: float, radius: float) -> None:
        where = (f"at z = {round(z, 1):g} mm" if radius < 10.0 else
                 f"from z = {round(z - radius, 1):g} to {round(z + radius, 1):g} mm (with its radius)")
        for lo, hi, kind in breaks:
            name = "gap" if kind == "gap" else "defect"
            if kind == "gap" and s.gap.obliquity_deg:  # an oblique plane reaches further at the cortex
                reach = s.gap.axial_reach_mm(s.bone_radii_mm(z)[0])
                lo, hi = lo - reach, hi + reach
                name = f"oblique fracture (its plane at {s.gap.obliquity_deg:g} deg, across the bone)"
            if kind == "gap" and s.gap.butterfly is not None:  # the wedge's levels are broken bone too
                lo = min(lo, s.gap.level_mm - s.gap.butterfly.length_mm / 2)
                hi = max(hi, s.gap.level_mm + s.gap.butterfly.length_mm / 2)
                name = "butterfly fragment (gap.butterfly, its levels)"
            if lo - radius < z < hi + radius and lo < z + radius and z - radius < hi:
                raise ScenarioError(path, f"the {what} {where} passes through the {name} ({round(lo, 1):g} to {round(hi, 1):g} "
                                    f"mm); accepted: a level at least {GAP_CLEARANCE_MM:g} mm of bone clear of it")
            clear = (lo - z if z < lo else z - hi) - radius
            if clear < GAP_CLEARANCE_MM:
                raise ScenarioError(path, f"the {what} {where} is {max(clear, 0.0):.1f} mm from the {name} ({round(lo, 1):g} "
                                    f"to {round(hi, 1):g} mm); accepted: at least {GAP_CLEARANCE_MM:g} mm of bone between a wire "
                                    "or pin and the gap or a defect (a wire or pin at the gap passes through the "
                                    "fracture haematoma and splits the fragment's end; the AO Surgery Reference asks "
                                    "for at least 1 cm between a Schanz screw and the fracture line)")

    for i, w in enumerate(s.wires):
        # an inclined wire rises and falls by tan(incline) x its half chord inside the bone
        half = math.sqrt(max(s.bone_radii_mm(s.wire_level_mm(w))[0] ** 2 - w.offset_mm ** 2, 0.0))
        reach = 0.5 * w.diameter_mm + abs(math.tan(math.radians(w.incline_deg))) * half
        check(f"wires[{i}].ring", "wire", s.wire_level_mm(w), reach)
    from sim.pin_geometry import pin_path

    for i, pin in enumerate(s.half_pins):
        # a tilted pin spans the levels from its entry to its tip; its section reaches r / cos(tilt) above and below
        path = pin_path(s, pin)
        lo, hi = path.z_range_mm
        reach = 0.5 * pin.diameter_mm / max(math.cos(math.radians(pin.tilt_deg)), 1e-6)
        field = "tilt_deg" if pin.tilt_deg and pin.clamp is None else ("hole" if pin.clamp else "post_height_mm")
        check(f"half_pins[{i}].{field}", "tilted pin" if pin.tilt_deg else "pin", 0.5 * (lo + hi), 0.5 * (hi - lo) + reach)


# What stands in a ring's holes (a rod, a wire clamp's bolt, a half pin's post) keeps at least
# this much of the ring on either side. A ring is drilled with holes narrower than its width;
# and the continuum model cannot mesh a part flush with the ring's edges (an 8 mm wire clamp
# on an 8 mm ring stopped TetGen: "a segment and a facet intersect") and meshes slivers within
# 0.5 mm of them (1 mm meshes as well as a wide ring).
RING_EDGE_MM = 1.0
# A wire through the bone keeps at least this many of its own diameters of bone between its
# surface and the bone's outer surface (see _validate_builds).
WIRE_BONE_LIGAMENT_DIAMETERS = 1.0


def _wire_chord(s: Scenario, w: Wire) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """A wire's two clamp points (x, y) in mm: where its line meets its ring's centroid
    circle, as both builders place them; None if it does not meet it."""
    path = wire_path(s, w)
    if path is None:
        return None
    return tuple((float(p[0]), float(p[1])) for p in (path.start_mm, path.end_mm))


def _segment_distance_2d(p0, p1, q0, q1) -> float:
    """The shortest distance between the segments p0-p1 and q0-q1 in the plane (mm)."""
    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    d1, d2, d3, d4 = cross(q0, q1, p0), cross(q0, q1, p1), cross(p0, p1, q0), cross(p0, p1, q1)
    if d1 * d2 < 0 and d3 * d4 < 0:
        return 0.0

    def to_segment(x, a, b):
        ux, uy = b[0] - a[0], b[1] - a[1]
        t = max(0.0, min(1.0, ((x[0] - a[0]) * ux + (x[1] - a[1]) * uy) / (ux * ux + uy * uy or 1.0)))
        return math.hypot(x[0] - a[0] - t * ux, x[1] - a[1] - t * uy)

    return min(to_segment(p0, q0, q1), to_segment(p1, q0, q1), to_segment(q0, p0, p1), to_segment(q1, p0, p1))


def _validate_builds(s: Scenario) -> None:
    """Parts that the two models cannot build alike (the frame model's line network,
    meshes.frame_network, and the continuum model's solid, meshes.continuum), refused
    before any meshing:

    - a wire that grazes the cortex: its surface closer to the bone's outer surface than
      WIRE_BONE_LIGAMENT_DIAMETERS x its diameter. A surgeon drives a wire through the
      bone, not along its edge: a drill-tipped wire meeting the cortex at a glancing angle
      skids off it, and a thin shell of cortex outside the wire cracks and lets the wire
      cut out once it is tensioned and loaded across. The solid's mesher needs the same
      room: its elements near a wire are half the wire's diameter (two across the wire,
      by default), so one diameter of bone holds two of them; a thinner shell is meshed
      with flat slivers (measured on the small test frame at its default sizes: the worst
      tetrahedron's quality, 0.042 with a central wire, fell to 0.018 for a 1.8 mm wire
      11.0 mm off the axis of a 24 mm bone, 0.1 mm under the surface, which was accepted
      before, and to 0.0001 at 0.01 mm). The frame model links each cortex point to the
      bone's axis and never sees the shell.
    - a ring too narrow for what stands in its holes: every rod, half pin's post and
      wire clamp keeps RING_EDGE_MM of ring either side (a wire clamp is at least
      RING_EDGE_MM wider than its wire all round: meshes.continuum.clamp_radius_mm).
    - parts standing in one ring whose edges touch in plan view (_validate_footprints).
    - two wires that cross on one face of a ring: both lie at the same height, so they
      would run through each other; the frame model lets them pass, the solid bonds them
      where they cross.
    - a wire and a half pin that cross: the same (the pin runs from its post to the bone's
      axis and beyond it if bicortical).
    """
    if s.has_bone:
        for i, w in enumerate(s.wires):
            ro = s.bone_radii_mm(s.wire_level_mm(w))[0]
            need = WIRE_BONE_LIGAMENT_DIAMETERS * w.diameter_mm
            shell = ro - abs(w.offset_mm) - 0.5 * w.diameter_mm
            if shell < need - 1e-9:
                most = ro - 0.5 * w.diameter_mm - need
                if most < 0:
                    thickest = ro / (0.5 + WIRE_BONE_LIGAMENT_DIAMETERS)
                    raise ScenarioError(f"wires[{i}].diameter_mm", f"{w.diameter_mm:g} mm: a wire this thick through a "
                                        f"{2 * ro:g} mm bone leaves less than one wire diameter of "
                                        f"bone between it and the bone's surface at any offset; accepted: a wire of "
                                        f"at most {thickest:.2f} mm through this bone")
                raise ScenarioError(f"wires[{i}].offset_mm", f"{w.offset_mm:g} mm: the {w.diameter_mm:g} mm wire grazes "
                                    f"the cortex, {max(shell, 0.0):.2f} mm under the bone's surface (outer radius "
                                    f"{ro:g} mm); accepted: |offset| <= {most:g} mm, which leaves at least one wire "
                                    f"diameter ({need:g} mm) of bone between the wire and the bone's surface (a "
                                    "wire along the bone's edge skids off the cortex or cuts out of it, and the "
                                    "continuum model meshes a thin shell with flat slivers)")
    for i, ring in enumerate(s.rings):
        standing = [(rod.diameter_mm, f"rod {rod.name!r}", "rod") for rod in s.rods
                    if ring.name in (r.name for r in s.rod_rings(rod)) and not _on_plate(rod)]
        standing += [(pin.post_diameter_mm, f"the post of half pin {pin.name!r}", "post (post_diameter_mm)")
                     for pin in s.half_pins if pin.ring == ring.name and pin.plate is None]
        # a wire's clamp: at least RING_EDGE_MM wider than the wire all round
        standing += [(w.diameter_mm + 2 * RING_EDGE_MM, f"the clamps of wire {w.name!r} ({w.diameter_mm:g} mm wire)",
                      "wire") for w in s.wires if w.ring == ring.name]
        if not standing:
            continue
        widest, what, thinner = max(standing, key=lambda x: x[0])
        need = widest + 2 * RING_EDGE_MM
        if ring.width_mm < need - 1e-9:
            raise ScenarioError(f"rings[{i}].width_mm", f"{ring.width_mm:g} mm is too narrow for {what}, "
                                f"{widest:g} mm across, standing in ring {ring.name!r}; accepted: at least "
                                f"{need:g} mm ({RING_EDGE_MM:g} mm of ring either side of it: a ring's holes are "
                                f"narrower than the ring, and the continuum model cannot mesh a part flush with "
                                f"the ring's edges), or a thinner {thinner}")
    chords = {w.name: _wire_chord(s, w) for w in s.wires}
    _validate_footprints(s, chords)
    _validate_wires_in_space(s)
    for i, w in enumerate(s.wires):
        ends = chords[w.name]
        for other in s.wires[:i]:
            if other.ring != w.ring or other.face != w.face or chords[other.name] is None or ends is None:
                continue
            if _on_posts(w) or _on_posts(other):
                continue  # _validate_wires_in_space
            if _segment_distance_2d(*ends, *chords[other.name]) < 0.5 * (w.diameter_mm + other.diameter_mm) - 1e-9:
                da = abs((w.angle_deg - other.angle_deg + 90.0) % 180.0 - 90.0)
                if da < 1e-6:
                    continue  # parallel wires: _validate_wires says whether they overlap
                opposite = "bottom" if w.face == "top" else "top"
                z1, z2 = s.wire_level_mm(w), s.wire_level_mm(other)
                levels = f"both lie at z = {z1:g} mm" if abs(z1 - z2) < 1e-9 else f"they lie at z = {z1:g} and {z2:g} mm"
                raise ScenarioError(f"wires[{i}].face", f"wire {w.name!r} crosses wire {other.name!r} on the {w.face} "
                                    f"face of ring {w.ring!r}: {levels}, so they "
                                    f"would run through each other; accepted: crossing wires on opposite faces of "
                                    f"the ring (face = {opposite!r} for one of them)")
    if s.has_bone:
        from sim.pin_geometry import pin_path

        for i, pin in enumerate(s.half_pins):
            path = pin_path(s, pin)
            z_p = path.clamp_point[2]
            for w in s.wires:
                ends = chords[w.name]
                if ends is None:
                    continue
                wpath = wire_path(s, w)
                z_w = s.wire_level_mm(w)
                reach = 0.5 * (w.diameter_mm + pin.diameter_mm)
                gap = segment_distance_3d(path.clamp_point, path.tip, wpath.start_mm, wpath.end_mm)
                if gap < reach - 1e-9:
                    free = z_w + math.copysign(reach, z_p - z_w) - s.ring(pin.ring).level_mm
                    raise ScenarioError(f"half_pins[{i}].post_height_mm", f"half pin {pin.name!r} at z = {z_p:g} mm "
                                        f"crosses wire {w.name!r} at z = {z_w:g} mm: they would run "
                                        f"through each other; accepted: a post height that puts the pin at least "
                                        f"{reach:g} mm (their radii) above or below the wire (e.g. "
                                        f"post_height_mm = {free:g}), or another angle or tilt")


def _validate_wires_in_space(s: Scenario) -> None:
    """Wires on posts or inclined (sim.geometry.wire_path) keep their diameters apart in
    space from every other wire of their ring: the frame model lets wires pass through
    each other, the solid would bond them where they meet."""
    paths = {w.name: wire_path(s, w) for w in s.wires}
    for i, w in enumerate(s.wires):
        for other in s.wires[:i]:
            if other.ring != w.ring or not (_on_posts(w) or _on_posts(other)):
                continue
            pw, po = paths[w.name], paths[other.name]
            if pw is None or po is None:
                continue
            gap = segment_distance_3d(pw.start_mm, pw.end_mm, po.start_mm, po.end_mm)
            need = 0.5 * (w.diameter_mm + other.diameter_mm)
            if gap < need - 1e-9:
                k, v, u = (i, w, other) if _on_posts(w) else (s.wires.index(other), other, w)
                field = "incline_deg" if v.incline_deg else "post_height_mm"
                raise ScenarioError(f"wires[{k}].{field}", f"wire {v.name!r} passes {gap:.2f} mm from wire "
                                    f"{u.name!r} on ring {w.ring!r}: they would run through each other; "
                                    f"accepted: axes at least {need:g} mm apart (their radii): another post height, "
                                    "incline, face or angle")


def _validate_footprints(s: Scenario, chords: dict) -> None:
    """No two parts standing in one ring (rods, wire clamps, half pins' posts) whose edges
    touch in plan view: the continuum model's mesher stops where two cylinders are
    tangent (a wire's 8 mm clamp 7 mm from a 6 mm rod's axis, or 1 mm from it, stopped
    TetGen: "overlapping facets", "a segment and a facet intersect"), and meshes slivers
    where they nearly are. Parts well apart, on one axis, or overlapping well inside one
    another are built (the solid merges what overlaps)."""
    from meshes.continuum import clamp_radius_mm

    for ring in s.rings:
        feet = []  # (x, y, radius, what, field, owner)
        for j, rod in enumerate(s.rods):
            for r, (x, y, _) in zip(s.rod_rings(rod), _rod_points_xyz(s, rod)):
                if r.name == ring.name and not _plate_end_on(rod, ring.name, s):
                    feet.append((x, y, 0.5 * rod.diameter_mm, f"rod {rod.name!r}", f"rods[{j}].angle_deg", rod.name))
        for j, w in enumerate(s.wires):
            if w.ring == ring.name and chords[w.name] is not None:
                for x, y in chords[w.name]:
                    feet.append((x, y, clamp_radius_mm(w, ring), f"a clamp of wire {w.name!r}",
                                 f"wires[{j}].angle_deg", w.name))
        for j, pin in enumerate(s.half_pins):
            if pin.ring == ring.name and pin.clamp is None and pin.plate is None:
                a = math.radians(pin.angle_deg)
                x = ring.centre_xy_mm[0] + ring.centroid_radius_mm * math.cos(a)
                y = ring.centre_xy_mm[1] + ring.centroid_radius_mm * math.sin(a)
                feet.append((x, y, 0.5 * pin.post_diameter_mm, f"the post of half pin {pin.name!r}",
                             f"half_pins[{j}].angle_deg", pin.name))
        for j, c in enumerate(s.pin_clamps):
            if c.ring == ring.name:
                a = math.radians(c.angle_deg)
                x = ring.centre_xy_mm[0] + ring.centroid_radius_mm * math.cos(a)
                y = ring.centre_xy_mm[1] + ring.centroid_radius_mm * math.sin(a)
                feet.append((x, y, 0.5 * c.post_diameter_mm, f"the post of pin clamp {c.name!r}",
                             f"pin_clamps[{j}].angle_deg", c.name))
        for k, (x1, y1, r1, what1, _, owner1) in enumerate(feet):
            for x2, y2, r2, what2, field, owner2 in feet[k + 1:]:
                if owner1 == owner2:
                    continue
                c = math.hypot(x2 - x1, y2 - y1)
                outside = abs(c - (r1 + r2)) < RING_EDGE_MM
                inside = c > 1e-6 and abs(c - abs(r1 - r2)) < RING_EDGE_MM
                if outside or inside:
                    raise ScenarioError(field, f"{what2} ({2 * r2:g} mm across) and {what1} ({2 * r1:g} mm) on ring "
                                        f"{ring.name!r} have their axes {c:.2f} mm apart, so their edges touch; the "
                                        "continuum model cannot mesh two parts whose edges meet; accepted: axes at "
                                        f"least {r1 + r2 + RING_EDGE_MM:g} mm apart (their radii + "
                                        f"{RING_EDGE_MM:g} mm): another angle_deg (or a wire's offset_mm)")


def _rod_points_xyz(s: Scenario, rod: Rod) -> list[tuple[float, float, float]]:
    """Where a rod meets each ring it joins: at its angle on the ring's centroid circle
    (as meshes.continuum.rod_axis_points and the frame model place it)."""
    return [(x, y, r.level_mm) for r, x, y in _rod_points(s, rod)]


def _validate_holds(s: Scenario) -> None:
    """Every piece of bone held in all six directions (sim.mechanism)."""
    from sim.mechanism import mechanism_message, piece_holds

    for piece in piece_holds(s):
        if not piece.is_held:
            raise ScenarioError("wires", mechanism_message(piece))


def _validate_loads_and_settings(s: Scenario) -> None:
    ld = s.loads
    for i, case in enumerate(ld.cases):
        if case not in LOAD_CASES:
            raise ScenarioError(f"loads.cases[{i}]", f"unknown load case {case!r}; accepted: {', '.join(LOAD_CASES)}")
    if len(set(ld.cases)) != len(ld.cases):
        raise ScenarioError("loads.cases", "a load case is listed twice")
    _limit("loads.axial.force_N", "loads.axial.force_N", ld.axial.force_N)
    if not all(math.isfinite(v) for v in ld.axial.offset_mm):
        raise ScenarioError("loads.axial.offset_mm", f"{list(ld.axial.offset_mm)}; accepted: two finite numbers (mm)")
    _limit("loads.axial.offset_mm", "loads.axial.offset_mm", math.hypot(*ld.axial.offset_mm))
    for case in ("bending_ap", "bending_ml", "torsion"):
        _limit("loads.moment_Nm", f"loads.{case}.moment_Nm", getattr(ld, case).moment_Nm)
    for case in LOAD_CASES:
        _limit("loads.steps", f"loads.{case}.steps", getattr(ld, case).steps)
        _limit("loads.cycles", f"loads.{case}.cycles", getattr(ld, case).cycles)
    _limit("mesh.element_size_mm", "mesh.element_size_mm", s.mesh.element_size_mm)
    _limit("mesh.wire_element_size_mm", "mesh.wire_element_size_mm", s.mesh.wire_element_size_mm)
    c = s.continuum
    if c.element_degree not in (1, 2):
        raise ScenarioError("continuum.element_degree", f"{c.element_degree}; accepted: 1 (linear tetrahedra, a quick "
                            "preview) or 2 (quadratic, the default)")
    _limit("continuum.element_size_mm", "continuum.element_size_mm", c.element_size_mm)
    if c.wire_element_size_mm != 0 and not 0.1 <= c.wire_element_size_mm <= c.element_size_mm:
        raise ScenarioError("continuum.wire_element_size_mm", f"{c.wire_element_size_mm:g} mm; accepted: 0 (half the "
                            f"thinnest wire's diameter) or 0.1 mm to continuum.element_size_mm "
                            f"({c.element_size_mm:g} mm)")
    if not 0 < c.pretension_tolerance < 0.2:
        raise ScenarioError("continuum.pretension_tolerance", f"{c.pretension_tolerance:g}; accepted: 0 < tolerance "
                            "< 0.2 (relative)")
    if not 1 <= c.max_pretension_iterations <= 20:
        raise ScenarioError("continuum.max_pretension_iterations", f"{c.max_pretension_iterations}; accepted: 1 to 20")
    if not 0 < c.gap_contact_residual < 0.5:
        raise ScenarioError("continuum.gap_contact_residual", f"{c.gap_contact_residual:g}; accepted: 0 < fraction "
                            "< 0.5 of the gap width")
    sv = s.solver
    _limit("solver.newton_rtol", "solver.newton_rtol", sv.newton_rtol)
    _limit("solver.newton_atol_N", "solver.newton_atol_N", sv.newton_atol_N)
    _limit("solver.newton_max_iterations", "solver.newton_max_iterations", sv.newton_max_iterations)
    _limit("solver.max_step_cuts", "solver.max_step_cuts", sv.max_step_cuts)


def _bone_pieces(s: Scenario) -> list[tuple[str, float, float]]:
    """(name, lower z, upper z) of each piece of bone between the gap and the defect."""
    from sim.mechanism import bone_pieces

    return bone_pieces(s)


def _validate_defect(s: Scenario) -> None:
    d = s.defect
    if d is None:
        return
    _limit("defect.length_mm", "defect.length_mm", d.length_mm)
    lo, hi = d.level_mm - d.length_mm / 2, d.level_mm + d.length_mm / 2
    if not (0 < lo and hi < s.bone.length_mm):
        raise ScenarioError("defect.level_mm", f"a defect from {lo:g} to {hi:g} mm is not inside the bone (0 to "
                            f"{s.bone.length_mm:g} mm); accepted: a level that keeps it inside")
    g = s.gap
    if lo - 1.0 < g.level_mm + g.width_mm / 2 and g.level_mm - g.width_mm / 2 < hi + 1.0:
        raise ScenarioError("defect.level_mm", f"the defect ({lo:g} to {hi:g} mm) overlaps the gap at "
                            f"{g.level_mm:g} mm; accepted: a defect clear of the gap (the corticotomy)")


def _validate_distraction(s: Scenario) -> None:
    d = s.distraction
    p = "distraction"
    if not s.has_bone:
        raise ScenarioError("loads.setup", "a treatment timeline needs the bone; accepted: 'bone_bench'")
    _limit(f"{p}.rate_mm_per_day", f"{p}.rate_mm_per_day", d.rate_mm_per_day)
    if not 1 <= d.steps_per_day <= 24:
        raise ScenarioError(f"{p}.steps_per_day", f"{d.steps_per_day}; accepted: 1 to 24 steps a day")
    if not 0 <= d.latency_days <= 30:
        raise ScenarioError(f"{p}.latency_days", f"{d.latency_days} days is not accepted; accepted: 0 to 30 days "
                            "(5-10 is usual)")
    if not 0 < d.lengthening_mm <= MAX_LENGTHENING_MM:
        raise ScenarioError(f"{p}.lengthening_mm", f"{d.lengthening_mm:g} mm is not accepted; accepted: more than 0 "
                            f"and at most {MAX_LENGTHENING_MM:g} mm per segment")
    _limit(f"{p}.weight_bearing_N", f"{p}.weight_bearing_N", d.weight_bearing_N)
    if not 0 <= d.docking_compression_mm <= 5:
        raise ScenarioError(f"{p}.docking_compression_mm", f"{d.docking_compression_mm:g} mm; accepted: 0 to 5 mm")
    if not 0 < d.removal_load_share < 1:
        raise ScenarioError(f"{p}.removal_load_share", f"{d.removal_load_share:g}; accepted: between 0 and 1 "
                            "(0.10 is the clinical criterion)")
    if not 0 <= d.consolidation_max_days <= 2000:
        raise ScenarioError(f"{p}.consolidation_max_days", f"{d.consolidation_max_days}; accepted: 0 to 2000 days")
    st = d.soft_tissue
    for key in ("stiffness_N_per_mm", "relaxing_stiffness_N_per_mm", "relaxation_time_h"):
        _limit(f"{p}.soft_tissue.{key}", f"{p}.soft_tissue.{key}", getattr(st, key))
    rg = d.regenerate
    if rg.initial_tissue not in TISSUE_MODULI_MPa:
        raise ScenarioError(f"{p}.regenerate.initial_tissue", f"unknown tissue {rg.initial_tissue!r}; accepted: "
                            f"{', '.join(TISSUE_MODULI_MPa)}")
    for key in ("tissue_time_constant_days", "bone_maturation_days", "intramembranous_strain_limit",
                "endochondral_strain_limit", "pressure_limit_MPa", "front_speed_mm_per_day",
                "endochondral_front_speed_mm_per_day"):
        _limit(f"{p}.regenerate.{key}", f"{p}.regenerate.{key}", getattr(rg, key))

    rods = {r.name: r for r in s.rods}
    for i, name in enumerate(d.rods):
        if name not in rods:
            raise ScenarioError(f"{p}.rods[{i}]", f"{name!r} is not a rod; accepted: {', '.join(rods)}")
    if d.transport_ring is None:
        if s.defect is not None:
            raise ScenarioError(f"{p}.transport_ring", "the bone has a defect: name the ring that carries the "
                                "transport segment; accepted: one of the rings on the segment")
        for i, name in enumerate(d.rods):
            if not _rod_crosses(s, rods[name], s.gap.level_mm):
                raise ScenarioError(f"{p}.rods[{i}]", f"rod {name!r} does not join a ring below the gap to one above "
                                    "it, so lengthening it does not open the gap")
        if not s.moving_rod_segments():
            raise ScenarioError(f"{p}.rods", "no rod joins a ring below the gap to one above it; accepted: a frame "
                                "with rods across the gap")
    else:
        if d.transport_ring not in {r.name for r in s.rings}:
            raise ScenarioError(f"{p}.transport_ring", f"{d.transport_ring!r} is not a ring; accepted: "
                                f"{', '.join(r.name for r in s.rings)}")
        if s.defect is None:
            raise ScenarioError("defect", "bone transport needs a defect to carry the segment across; accepted: a "
                                "[defect] table with level_mm and length_mm")
        (_, seg_lo, seg_hi) = _bone_pieces(s)[1]
        if not seg_lo < s.ring(d.transport_ring).level_mm < seg_hi:
            raise ScenarioError(f"{p}.transport_ring", f"ring {d.transport_ring!r} is not on the transport segment "
                                f"({seg_lo:g} to {seg_hi:g} mm); accepted: the ring whose wires hold the segment")
        for i, w in enumerate(s.wires):
            if seg_lo < s.wire_level_mm(w) < seg_hi and w.ring != d.transport_ring:
                raise ScenarioError(f"wires[{i}].ring", f"wire {w.name!r} holds the transport segment from ring "
                                    f"{w.ring!r}, which does not move; accepted: only the transport ring's wires on "
                                    "the segment")
        for i, pin in enumerate(s.half_pins):
            if seg_lo < pin_entry_level_mm(s, pin) < seg_hi and pin.ring != d.transport_ring:
                raise ScenarioError(f"half_pins[{i}].ring", f"half pin {pin.name!r} holds the transport segment "
                                    "from a ring that does not move")
        if d.lengthening_mm > s.defect.length_mm:
            raise ScenarioError(f"{p}.lengthening_mm", f"{d.lengthening_mm:g} mm would carry the segment past the "
                                f"docking site: the defect is {s.defect.length_mm:g} mm long; accepted: at most "
                                f"{s.defect.length_mm:g} mm")
        for i, name in enumerate(d.rods):
            ring_names = [r.name for r in s.rod_rings(rods[name])]
            if d.transport_ring not in ring_names[1:-1]:
                raise ScenarioError(f"{p}.rods[{i}]", f"rod {name!r} does not pass through the transport ring with a "
                                    "ring on each side of it")
        segs = s.moving_rod_segments()
        if not segs:
            raise ScenarioError(f"{p}.transport_ring", "no rod passes through the transport ring")
        for name, lo_name, hi_name, sign in segs:
            lo_r, hi_r = s.ring(lo_name), s.ring(hi_name)
            if sign < 0:
                room = hi_r.level_mm - lo_r.level_mm - 0.5 * (lo_r.thickness_mm + hi_r.thickness_mm) - 5.0
                if d.lengthening_mm > room:
                    raise ScenarioError(f"{p}.lengthening_mm", f"{d.lengthening_mm:g} mm of transport would drive "
                                        f"ring {d.transport_ring!r} into ring "
                                        f"{hi_name if hi_name != d.transport_ring else lo_name!r} along rod "
                                        f"{name!r} ({room:g} mm of room); accepted: at most {room:g} mm")
    # threaded rods need free thread for the lengthening (in transport the ring slides along them)
    for name, lo_name, hi_name, sign in s.moving_rod_segments():
        if d.transport_ring is not None:
            break
        rod = rods[name]
        i = list(rods).index(name)
        rings = s.rod_rings(rod)
        span = rings[-1].level_mm - rings[0].level_mm
        if rod.length_mm is None:
            raise ScenarioError(f"rods[{i}].length_mm", f"rod {name!r} lengthens in the treatment: give its threaded "
                                f"length so its travel can be checked; accepted: at least {span:g} mm (the ring "
                                f"spacing) + {d.lengthening_mm:g} mm (the lengthening)")
        if rod.length_mm - span < d.lengthening_mm:
            raise ScenarioError(f"{p}.lengthening_mm", f"{d.lengthening_mm:g} mm is beyond the travel of rod {name!r}: "
                                f"{rod.length_mm:g} mm long over a {span:g} mm span leaves {rod.length_mm - span:g} mm "
                                f"of thread; accepted: at most {rod.length_mm - span:g} mm, or a longer rod")


def _validate_hexapod(s: Scenario) -> None:
    h = s.hexapod
    p = "hexapod"
    names = {r.name: r for r in s.rings}
    for key in ("reference_ring", "moving_ring"):
        if getattr(h, key) not in names:
            raise ScenarioError(f"{p}.{key}", f"{getattr(h, key)!r} is not a ring; accepted: {', '.join(names)}")
    if h.reference_ring == h.moving_ring:
        raise ScenarioError(f"{p}.moving_ring", "the moving ring is the reference ring; accepted: another ring")
    if s.distraction is not None:
        raise ScenarioError("distraction", "a hexapod correction and a distraction timeline in one scenario are not "
                            "supported; accepted: one of [hexapod] or [distraction]")
    z_ref, z_mov = names[h.reference_ring].level_mm, names[h.moving_ring].level_mm
    if s.has_bone:
        z_gap = s.gap.level_mm
        if (z_ref - z_gap) * (z_mov - z_gap) >= 0:
            raise ScenarioError(f"{p}.moving_ring", f"rings {h.reference_ring!r} ({z_ref:g} mm) and {h.moving_ring!r} "
                                f"({z_mov:g} mm) are on the same side of the gap ({z_gap:g} mm); accepted: one ring on "
                                "each fragment")
        for i, rod in enumerate(s.rods):
            levels = [r.level_mm for r in s.rod_rings(rod)]
            if min(levels) < z_gap < max(levels):
                raise ScenarioError(f"rods[{i}]", f"rod {rod.name!r} crosses the gap and would lock the hexapod; "
                                    "accepted: rods within one fragment's rings (from_ring/to_ring)")
        if s.defect is not None:
            raise ScenarioError("defect", "a hexapod correction with a bone defect is not supported")
        if s.gap.regenerate is not None:
            raise ScenarioError("gap.regenerate", "a hexapod scenario models the osteotomy as an open gap (the "
                                "fragments move past each other during the correction, and the frame's own "
                                "stiffness is what is compared); accepted: no regenerate")
    fragment = "proximal" if z_ref > z_mov else "distal"
    if h.reference_fragment is not None and h.reference_fragment != fragment:
        raise ScenarioError(f"{p}.reference_fragment", f"{h.reference_fragment!r}, but the reference ring "
                            f"{h.reference_ring!r} ({z_ref:g} mm) is on the {fragment} side of the moving ring "
                            f"{h.moving_ring!r} ({z_mov:g} mm); accepted: {fragment!r} (or leave it out)")
    if (h.deformity is None) == (h.strut_lengths_mm is None):
        raise ScenarioError(f"{p}.deformity", "give the frame's state once: either a [hexapod.deformity] table or "
                            "hexapod.strut_lengths_mm (six lengths, with a [hexapod.residual] table for a residual "
                            "correction)")
    if h.residual is not None and h.strut_lengths_mm is None:
        raise ScenarioError(f"{p}.residual", "a residual correction starts from the struts in place; accepted: "
                            "hexapod.strut_lengths_mm (the six lengths now on the frame) with the [hexapod.residual] "
                            "table, instead of [hexapod.deformity]")
    if h.strut_lengths_mm is not None:
        if len(h.strut_lengths_mm) != 6:
            raise ScenarioError(f"{p}.strut_lengths_mm", f"{len(h.strut_lengths_mm)} lengths; accepted: six")
        for i, length in enumerate(h.strut_lengths_mm):
            _limit("hexapod.strut_lengths_mm[]", f"{p}.strut_lengths_mm[{i}]", length)
    for table in ("deformity", "residual"):
        if getattr(h, table) is not None:
            _validate_clinical(getattr(h, table), f"{p}.{table}", DEFORMITY_TERMS)
    if h.mounting is not None:
        _validate_clinical(h.mounting, f"{p}.mounting", MOUNTING_TERMS)
        if h.origin_mm is not None:
            raise ScenarioError(f"{p}.origin_mm", "give the origin once: either hexapod.origin_mm or the "
                                "[hexapod.mounting] offsets of the reference ring from it; accepted: one of them")
        if h.first_pair_deg is not None and h.mounting.rotary_offset_deg != 0:
            raise ScenarioError(f"{p}.first_pair_deg", "give the master tab's direction once: either "
                                "hexapod.first_pair_deg or hexapod.mounting.rotary_offset_deg; accepted: one of them")
    z_limit = Limit(-300.0, s.bone.length_mm + 300.0, "mm", "from 300 mm below the bone's distal end to 300 mm "
                    "above its proximal end")
    for key in ("origin_mm", "hinge_mm", "structure_at_risk_mm"):
        point = getattr(h, key)
        if point is not None:
            for k, c in enumerate(point):
                _limit(key, f"{p}.{key}[{k}]", c, POINT_XY if k < 2 else z_limit)
    origin = hexapod_origin_mm(s)
    if h.mounting is not None and not z_limit.accepts(origin[2]):
        m = h.mounting
        raise ScenarioError(f"{p}.mounting.axial_offset_mm", f"{m.axial_offset_mm:g} mm {m.axial_offset or 'proximal'}"
                            f" puts the origin at z = {origin[2]:g} mm; accepted: an offset that puts the origin "
                            f"{z_limit.words()}")
    for name in (h.reference_ring, h.moving_ring):
        ring = names[name]
        off = math.hypot(origin[0] - ring.centre_xy_mm[0], origin[1] - ring.centre_xy_mm[1])
        if off >= 0.5 * ring.inner_diameter_mm:
            if h.mounting is not None:
                m = h.mounting
                key = "ap_offset_mm" if m.ap_offset_mm >= m.lateral_offset_mm else "lateral_offset_mm"
                where = (f"{p}.mounting.{key}", f"the mounting offsets ({m.ap_offset_mm:g} mm "
                         f"{m.ap_offset or 'lateral'} on the AP film, {m.lateral_offset_mm:g} mm "
                         f"{m.lateral_offset or 'anterior'} on the lateral film)")
            else:
                where = (f"{p}.origin_mm", f"origin_mm ({origin[0]:g}, {origin[1]:g}, {origin[2]:g})")
            raise ScenarioError(where[0], f"{where[1]} put the origin {off:.1f} mm from the centre of ring {name!r}, "
                                f"outside its inner circle ({0.5 * ring.inner_diameter_mm:g} mm radius): the origin is "
                                "a point of the bone, which passes through the rings; accepted: offsets that put the "
                                f"origin inside both hexapod rings (less than {0.5 * ring.inner_diameter_mm:g} mm "
                                "from the ring's centre in plan view)")
    _validate_mounts(h.strut_mounts_deg, f"{p}.strut_mounts_deg",
                     h.first_pair_deg is not None or h.pair_separation_deg != 30.0
                     or (h.mounting is not None and h.mounting.rotary_offset_deg != 0))
    corrected = {frozenset((h.reference_ring, h.moving_ring))}
    for i, level in enumerate(h.fixed_levels):
        q = f"{p}.fixed_levels[{i}]"
        for k, ring_name in enumerate(level.rings):
            if ring_name not in names:
                raise ScenarioError(f"{q}.rings[{k}]", f"{ring_name!r} is not a ring; accepted: {', '.join(names)}")
        if level.rings[0] == level.rings[1]:
            raise ScenarioError(f"{q}.rings", f"both ends on ring {level.rings[0]!r}; accepted: two rings")
        pair = frozenset(level.rings)
        if pair in corrected:
            raise ScenarioError(f"{q}.rings", f"rings {', '.join(sorted(pair))} already have a hexapod level; "
                                "accepted: one level between two rings")
        corrected.add(pair)
        z0, z1 = names[level.rings[0]].level_mm, names[level.rings[1]].level_mm
        z_split = s.gap.level_mm if s.has_bone else 0.5 * (z_ref + z_mov)
        if (z0 - z_split) * (z1 - z_split) <= 0:
            where = f"the gap ({z_split:g} mm)" if s.has_bone else f"the correcting level ({z_split:g} mm)"
            raise ScenarioError(f"{q}.rings", f"rings {level.rings[0]!r} ({z0:g} mm) and {level.rings[1]!r} "
                                f"({z1:g} mm) are on either side of {where}: a second correcting level is not "
                                "supported (the bone has one osteotomy and the frame model moves one fragment by "
                                "one pose); accepted: two rings of one fragment")
        _limit("angle", f"{q}.first_pair_deg", level.first_pair_deg, ANGLE)
        if not 5.0 <= level.pair_separation_deg <= 50.0:
            raise ScenarioError(f"{q}.pair_separation_deg", f"{level.pair_separation_deg:g} deg; accepted: 5 to 50 "
                                "deg")
        _validate_mounts(level.strut_mounts_deg, f"{q}.strut_mounts_deg",
                         level.first_pair_deg != 90.0 or level.pair_separation_deg != 30.0)
    _limit("hexapod.max_rate_mm_per_day", f"{p}.max_rate_mm_per_day", h.max_rate_mm_per_day)
    if h.first_pair_deg is not None:
        _limit("angle", f"{p}.first_pair_deg", h.first_pair_deg, ANGLE)
    if not 5.0 <= h.pair_separation_deg <= 50.0:
        raise ScenarioError(f"{p}.pair_separation_deg", f"{h.pair_separation_deg:g} deg; accepted: 5 to 50 deg")
    _limit("hexapod.strut_diameter_mm", f"{p}.strut_diameter_mm", h.strut_diameter_mm)
    _material(f"{p}.strut_material", h.strut_material, s)
    if not h.strut_sizes:
        raise ScenarioError(f"{p}.strut_sizes", "no strut sizes; accepted: at least one size")
    if len(h.strut_sizes) > MAX_STRUT_SIZES:
        raise ScenarioError(f"{p}.strut_sizes", f"{len(h.strut_sizes)} sizes; accepted: at most {MAX_STRUT_SIZES}")
    for i, size in enumerate(h.strut_sizes):
        for key in ("min_length_mm", "max_length_mm"):
            _limit("hexapod.strut_sizes[].length_mm", f"{p}.strut_sizes[{i}].{key}", getattr(size, key))
        if not 0 < size.min_length_mm < size.max_length_mm:
            raise ScenarioError(f"{p}.strut_sizes[{i}]", f"{size.min_length_mm:g} to {size.max_length_mm:g} mm; "
                                "accepted: 0 < min_length_mm < max_length_mm")


def hexapod_origin_mm(s: Scenario) -> tuple[float, float, float]:
    """The deformity's origin in the scenario's axes (mm): hexapod.origin_mm, or the point the
    [hexapod.mounting] offsets put it at (the reference ring's centre less its offsets), or
    the bone axis at the gap."""
    h = s.hexapod
    if h.origin_mm is not None:
        return tuple(float(c) for c in h.origin_mm)
    if h.mounting is not None:
        m = h.mounting.signed()
        ring = s.ring(h.reference_ring)
        return (ring.centre_xy_mm[0] - h.side_sign * m["ap_offset_mm"], ring.centre_xy_mm[1] - m["lateral_offset_mm"],
                ring.level_mm - m["axial_offset_mm"])
    return (0.0, 0.0, s.gap.level_mm)


# Angles no pose has: an axis at 90 deg or more from the reference fragment's axis on a film.
PROJECTED_ANGLE_LIMIT_DEG = 90.0
STAGED_ANGLE_DEG = 60.0  # larger corrections are staged


def _validate_clinical(obj: Any, path: str, terms: dict[str, tuple[str, str]]) -> None:
    """Magnitudes >= 0 with their clinical names; angles a pose has; translations in range."""
    for key, (plus, minus) in terms.items():
        unit = DEFORMITY_UNITS[key]
        field_name = f"{key}_{unit}"
        value, name = getattr(obj, field_name), getattr(obj, key)
        if value < 0:
            raise ScenarioError(f"{path}.{field_name}", f"{value:g} {unit} is not accepted; accepted: a magnitude >= 0, "
                                f"its direction given by {path}.{key} = {plus!r} or {minus!r}")
        if value > 0 and name is None:
            raise ScenarioError(f"{path}.{key}", f"the direction of the {value:g} {unit} is missing; accepted: "
                                f"{path}.{key} = {plus!r} or {minus!r}")
        if key in ("ap_angulation", "lateral_angulation"):
            film = "AP" if key.startswith("ap") else "lateral"
            if value >= PROJECTED_ANGLE_LIMIT_DEG:
                raise ScenarioError(f"{path}.{field_name}", f"{value:g} deg on the {film} film: no pose of the moving "
                                    "fragment has it (its axis would lie across the film, at 90 deg or more from the "
                                    f"reference fragment's); accepted: less than {PROJECTED_ANGLE_LIMIT_DEG:g} deg, and "
                                    f"less than {STAGED_ANGLE_DEG:g} deg for one stage of correction")
            if value >= STAGED_ANGLE_DEG:
                raise ScenarioError(f"{path}.{field_name}", f"{value:g} deg; accepted: less than {STAGED_ANGLE_DEG:g} "
                                    "deg (a larger deformity needs staged correction)")
        elif key in ("axial_rotation", "rotary_offset"):
            limit = STAGED_ANGLE_DEG if key == "axial_rotation" else 180.0
            if value >= limit:
                why = "a larger deformity needs staged correction" if key == "axial_rotation" else \
                    "a ring turned further is turned the other way"
                raise ScenarioError(f"{path}.{field_name}", f"{value:g} deg; accepted: less than {limit:g} deg ({why})")
        elif key in DEFORMITY_TERMS:
            _limit("hexapod.deformity.translation_mm", f"{path}.{field_name}", value)
        else:
            _limit("hexapod.mounting.offset_mm", f"{path}.{field_name}", value)


def _validate_mounts(mounts: tuple[tuple[float, float], ...] | None, path: str, layout_given: bool) -> None:
    if mounts is None:
        return
    if layout_given:
        raise ScenarioError(path, "give the strut mounts once: either strut_mounts_deg or the pairs layout "
                            "(first_pair_deg, pair_separation_deg, the mounting's rotary offset); accepted: one of them")
    if len(mounts) != 6:
        raise ScenarioError(path, f"{len(mounts)} struts; accepted: six [reference, moving] angle pairs")
    for k, pair in enumerate(mounts):
        for j, angle in enumerate(pair):
            _limit("angle", f"{path}[{k}][{j}]", angle, ANGLE)


def _validate_hexapod_kinematics(s: Scenario) -> None:
    """Plan the correction as `ilizarov hexapod` does (reachable poses, strut sizes, struts
    clear of each other, at most MAX_CORRECTION_DAYS days) and check that the six struts
    hold the moving ring at the start and at the end (no singular pose)."""
    from sim.hexapod import KinematicsError, plan_correction
    from sim.mechanism import strut_rank

    try:
        geom, schedule = plan_correction(s)
    except KinematicsError as exc:
        raise ScenarioError(exc.field, exc.message) from None
    ring = s.ring(s.hexapod.moving_ring)
    for day in (0, len(schedule.poses) - 1):
        top = schedule.ring_poses[day].apply(geom.platform_mm)
        centre = top.mean(axis=0)
        rank, _ = strut_rank(geom.base_mm - centre, top - centre, ring.centroid_radius_mm)
        if rank < 6:
            raise ScenarioError("hexapod", f"on day {day} the six struts hold the moving ring in only {rank} of six "
                                "directions (a singular pose: the ring can move without any strut changing length); "
                                "accepted: another mounting (first_pair_deg, pair_separation_deg) or deformity")
