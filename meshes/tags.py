"""Tags of the frame line network: part kinds and the marked points (facets).

Every part of a scenario (each bone fragment, the regenerate, each ring, wire, rod,
half pin, post, and each connection) becomes one physical group whose tag is the
part's `tag`; the part's `kind` says how the solver treats it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class PartKind(IntEnum):
    BONE = 1
    REGENERATE = 2
    RING = 3
    WIRE = 4
    ROD = 5
    HALF_PIN = 6
    POST = 7
    WIRE_BONE_LINK = 8  # wire to bone where it crosses the cortex
    CLAMP_LINK = 9  # wire clamp: wire to the ring's centroid, offset by the clamp
    PIN_BONE_LINK = 10  # threaded half pin to the bone
    GAP_CONTACT = 11  # an empty gap: the fragment faces touch when it closes
    STRUT = 12  # a hexapod strut: pinned at both ends, axial load only (one cell)
    ROD_RING_JOINT = 13  # a threaded rod's bolted joint with a ring (two cells: one per nut)
    PIN_CLAMP = 14  # a half pin held in its clamp on the post
    CLAMP_ARM = 15  # a compliant wire clamp's rigid arm from the ring to its joint (which lies along the wire)
    HINGE = 16  # an Ilizarov hinge on a rod: a revolute joint, free to turn about the hinge's axis only
    PIN_CLAMP_BLOCK = 17  # a multi-pin clamp or cube: stiff links from its post's top to each pin's hole
    PLATE = 18  # a connection plate: a beam of rectangular section along its row of holes
    PLATE_BOLT = 19  # a plate's bolt to its ring: a stiff link from the ring's centroid to the plate's hole 1


LINK_KINDS = (PartKind.WIRE_BONE_LINK, PartKind.CLAMP_LINK, PartKind.PIN_BONE_LINK, PartKind.ROD_RING_JOINT,
              PartKind.PIN_CLAMP, PartKind.CLAMP_ARM, PartKind.HINGE, PartKind.PIN_CLAMP_BLOCK, PartKind.PLATE_BOLT)


class Marker(IntEnum):
    """Tags of marked points (facets of the 1D mesh)."""

    BONE_DISTAL_END = 1
    BONE_PROXIMAL_END = 2
    # verification benches (a wire, a ring, a cantilever on their own)
    SUPPORT_A = 11
    SUPPORT_B = 12
    LOAD_POINT = 13
    # the held ring's mounting points on the test machine (loads.setup = "ring_held")
    RING_MOUNTS = 14


@dataclass(frozen=True)
class Part:
    """One tagged part of the line network.

    source: the scenario part it belongs to (a link's wire or pin; the bone for
    fragments). release_axis_xyz: for a link, a unit direction along which relative
    sliding and spinning are free (a smooth wire slides along its own axis), or None
    for a rigid link. axis_xyz: for a connection, the direction of the part it holds (the
    wire's, the rod's, the pin's): a compliant joint's axis (sim.elements.joint).
    """

    name: str
    kind: PartKind
    tag: int
    source: str
    release_axis_xyz: tuple[float, float, float] | None = None
    axis_xyz: tuple[float, float, float] | None = None

    @property
    def is_link(self) -> bool:
        return self.kind in LINK_KINDS
