"""What each connection of a frame is made of: a stiff link, or a compliant joint.

The scenario's [interfaces] table (sim.scenario.Interfaces) says, per kind of connection
and per part, whether it is rigid (the first frame model's idealisation: a stiff link,
sim.elements.link) or compliant (sim.elements.joint) and with which stiffnesses and slip
forces. This module turns that into the element each connection cell gets:

- a wire clamp (CLAMP_LINK): along the wire it sticks, then slips at the clamp's slip
  force; across the wire the clamp's bolt bears; it does not let the wire rock or twist;
- a wire where it crosses a cortex (WIRE_BONE_LINK): the bone bears on it across its axis
  over the cortex's wall (bearing stiffness, and the rocking stiffness of that bearing over
  the wall's thickness); a smooth wire is held along its axis by friction up to the
  friction force (0: it slides freely), an olive wire is held; the wire spins freely;
- a half pin in the bone (PIN_BONE_LINK, one cell at each surface of each cortex it
  engages): the bone's foundation modulus over half the length of pin inside the cortex
  (the wall's thickness for a radial horizontal pin, wall / cos(tilt) for a tilted one:
  pin_cortex_length_mm), across the pin and along it (its thread), the joint's axis
  along the pin; the pin's clamp (PIN_CLAMP) rocks with its bending stiffness about
  axes across the pin and is stiff otherwise;
- a rod's bolted joint with a ring (ROD_RING_JOINT: two cells, one per nut, in parallel
  between the rod and the ring): half of each of the joint's stiffnesses each.
- an Ilizarov hinge on a rod (HINGE: one cell across the hinge, along the rod): a revolute
  joint, free to turn about the hinge's axis (twist 0 about it), stiff in every other
  direction.

A stiff component of a compliant joint is as stiff as a link (LINK_STIFFNESS_FACTOR
times the stiffest member's EA or EI over the cell's length). The foundation modulus of
bone under a pin or wire, when the scenario leaves it 0, is Vesic's (1961): for a beam of
width d and bending stiffness EI on an isotropic elastic solid of modulus E_s and
Poisson's ratio nu_s,

    k_s = 0.65 (E_s d^4 / (E I))^(1/12) E_s / (1 - nu_s^2)      (N/mm per mm of length)

(Vesic A.B., Bending of beams resting on isotropic elastic solid, J Eng Mech Div ASCE
87(EM2):35-53, 1961): for a 1.8 mm steel wire in cortical bone (17 GPa) about 12 700
N/mm per mm, 76 000 N/mm over a 6 mm cortex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshes.tags import PartKind
from sim.materials import material
from sim.sections import circle, tube


@dataclass(frozen=True)
class JointLaw:
    """The parameters of one compliant joint cell (sim.elements.joint): N/mm for the
    translations, N*mm/rad for the rotations, N for the slip force (0: no slip)."""

    k_axial: float
    k_transverse: float
    k_twist: float
    k_bending: float
    slip_force_N: float
    axis: tuple[float, float, float]


RIGID = float("inf")  # replaced by the link penalty of the cell


def vesic_modulus_MPa(diameter_mm: float, EI_Nmm2: float, E_bone_MPa: float, nu_bone: float) -> float:
    """Vesic's (1961) foundation modulus of an elastic solid under a beam (N/mm per mm)."""
    return 0.65 * (E_bone_MPa * diameter_mm ** 4 / EI_Nmm2) ** (1.0 / 12.0) * E_bone_MPa / (1.0 - nu_bone ** 2)


def _wall_mm(s, z_mm: float) -> float:
    """The cortex's thickness at level z (mm): Scenario.bone_radii_mm."""
    r_out, r_in = s.bone_radii_mm(z_mm)
    return r_out - r_in


def pin_cortex_length_mm(s, pin) -> float:
    """The length of a half pin's thread inside one cortex (mm), the mean over the cortices
    it engages, along the pin as sim.pin_geometry places it: the wall's thickness for a
    radial, horizontal pin in a tube; longer for a tilted one (wall / cos(tilt)) or one
    aimed off the bone's axis (the chord through the wall)."""
    from sim.pin_geometry import pin_path

    lengths = pin_path(s, pin).cortex_lengths_mm
    return sum(lengths) / len(lengths)


def connection_law(s, part) -> JointLaw | None:
    """The compliant joint of a connection part, or None if it is a stiff link (rigid,
    or a smooth wire's sliding link). RIGID marks a component the caller makes a penalty."""
    laws = s.interfaces
    axis = part.axis_xyz or (0.0, 0.0, 1.0)
    bone = s.material(s.bone.material) if s.has_bone else None
    if part.kind == PartKind.CLAMP_LINK:
        c = laws.law("wire_clamp", part.source)
        if c.rigid:
            return None
        return JointLaw(c.stiffness_N_per_mm, c.transverse_stiffness_N_per_mm, RIGID, RIGID, c.slip_force_N, axis)
    if part.kind == PartKind.WIRE_BONE_LINK:
        c = laws.law("wire_bone", part.source)
        if c.rigid:
            return None
        wire = next(w for w in s.wires if w.name == part.source)
        wall = _wall_mm(s, s.wire_level_mm(wire))
        k_s = _foundation(c.bearing_stiffness_N_per_mm / wall if c.bearing_stiffness_N_per_mm else 0.0,
                          wire.diameter_mm, s.material(wire.material, "wire"), bone)
        bearing = k_s * wall
        rocking = k_s * wall ** 3 / 12.0
        if wire.olive and part.release_axis_xyz is None:  # the olive's cortex (every cortex without olive_side)
            return JointLaw(RIGID, bearing, 0.0, rocking, 0.0, axis)
        friction = c.friction_force_N
        return JointLaw(bearing if friction > 0 else 0.0, bearing, 0.0, rocking, friction, axis)
    if part.kind == PartKind.PIN_BONE_LINK:
        c = laws.law("pin_bone", part.source)
        if c.rigid:
            return None
        pin = next(p for p in s.half_pins if p.name == part.source)
        k_s = _foundation(c.foundation_modulus_MPa, pin.diameter_mm, s.material(pin.material, "half_pin"), bone)
        share = k_s * 0.5 * pin_cortex_length_mm(s, pin)
        return JointLaw(share, share, 0.0, 0.0, 0.0, axis)
    if part.kind == PartKind.PIN_CLAMP:
        c = laws.law("pin_clamp", part.source)
        return JointLaw(RIGID, RIGID, RIGID, c.bending_stiffness_Nmm_per_rad, 0.0, axis)
    if part.kind == PartKind.HINGE:
        # a revolute joint: free to turn about the hinge's axis; otherwise as stiff as the length of rod
        # its cell stands in for (HINGE_JOINT_LENGTH_MM), so that a hinge adds no stiffness to its rod
        from meshes.frame_network import HINGE_JOINT_LENGTH_MM

        rod = next(r for r in s.rods if r.name == part.source)
        sec, mat = tube(rod.diameter_mm, rod.inner_diameter_mm), s.material(rod.material, "rod")
        E = mat.youngs_modulus_MPa
        k = E * sec.area_mm2 / HINGE_JOINT_LENGTH_MM
        return JointLaw(k, k, 0.0, E * sec.inertia_1_mm4 / HINGE_JOINT_LENGTH_MM, 0.0, axis)
    if part.kind == PartKind.ROD_RING_JOINT:
        c = laws.law("rod_ring", part.source)
        return JointLaw(0.5 * c.axial_stiffness_N_per_mm, 0.5 * c.shear_stiffness_N_per_mm,
                        0.5 * c.twist_stiffness_Nmm_per_rad, 0.5 * c.bending_stiffness_Nmm_per_rad, 0.0, axis)
    return None


def _foundation(given_MPa: float, diameter_mm: float, mat, bone) -> float:
    """The foundation modulus (N/mm per mm): as given, or Vesic's for the bone."""
    if given_MPa > 0:
        return given_MPa
    sec = circle(diameter_mm)
    return vesic_modulus_MPa(diameter_mm, mat.youngs_modulus_MPa * sec.inertia_1_mm4, bone.youngs_modulus_MPa,
                             bone.poisson_ratio)


def joint_columns(law: JointLaw, rigid_translation: np.ndarray, rigid_rotation: np.ndarray) -> np.ndarray:
    """(n, 5) joint parameter rows of cells with this law; RIGID components take the cells'
    penalty stiffnesses (N/mm and N*mm/rad, per cell)."""
    from sim.elements import joint

    n = len(rigid_translation)
    out = np.zeros((n, joint.N_COLUMNS))
    for col, value, rigid in ((joint.K_AXIAL, law.k_axial, rigid_translation),
                              (joint.K_TRANSVERSE, law.k_transverse, rigid_translation),
                              (joint.K_TWIST, law.k_twist, rigid_rotation),
                              (joint.K_BENDING, law.k_bending, rigid_rotation)):
        out[:, col] = rigid if value == RIGID else value
    out[:, joint.SLIP_FORCE] = law.slip_force_N
    return out
