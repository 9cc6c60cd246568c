"""Cross-section properties of beam parts (mm, mm^2, mm^4, mm^3).

Local axes of a member: t along it, n1 and n2 across it. For a ring, n1 is the ring's
axis (z, across its thickness) and n2 is radial (across its width): inertia_1 resists
bending about n1 (in the ring's plane), inertia_2 bending about n2 (out of its plane).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.materials import Material


@dataclass(frozen=True)
class Section:
    """Beam section with the moduli needed for the peak von Mises stress.

    area_mm2: A; shear_area_1/2_mm2: shear areas (kappa*A) along n1/n2;
    torsion_constant_mm4: J (St Venant); inertia_1/2_mm4: second moments about n1/n2;
    section_modulus_1/2_mm3: I/c about n1/n2; torsion_modulus_mm3: T/tau_max.
    """

    kind: str
    area_mm2: float
    shear_area_1_mm2: float
    shear_area_2_mm2: float
    torsion_constant_mm4: float
    inertia_1_mm4: float
    inertia_2_mm4: float
    section_modulus_1_mm3: float
    section_modulus_2_mm3: float
    torsion_modulus_mm3: float


def circle(diameter_mm: float, poisson_ratio: float = 0.3) -> Section:
    """Solid circle (wires, rods, pins, posts)."""
    return tube(diameter_mm, 0.0, poisson_ratio)


def tube(outer_diameter_mm: float, inner_diameter_mm: float, poisson_ratio: float = 0.3) -> Section:
    """Circular tube (bone). Shear coefficient of Cowper (1966)."""
    ro, ri = outer_diameter_mm / 2, inner_diameter_mm / 2
    area = math.pi * (ro ** 2 - ri ** 2)
    inertia = math.pi / 4 * (ro ** 4 - ri ** 4)
    m = ri / ro
    nu = poisson_ratio
    kappa = 6 * (1 + nu) * (1 + m ** 2) ** 2 / ((7 + 6 * nu) * (1 + m ** 2) ** 2 + (20 + 12 * nu) * m ** 2)
    j = 2 * inertia
    return Section("tube" if ri > 0 else "circle", area, kappa * area, kappa * area, j, inertia, inertia,
                   inertia / ro, inertia / ro, j / ro)


def concentric(outer: Section, inner: Section, outer_radius_mm: float) -> Section:
    """Two concentric sections bound together (a telescopic rod's tube over its inner rod,
    where they overlap): areas, shear areas, torsion constants and second moments add, and
    the peak stress is at the outer section's rim (radius outer_radius_mm)."""
    i1, i2 = outer.inertia_1_mm4 + inner.inertia_1_mm4, outer.inertia_2_mm4 + inner.inertia_2_mm4
    j = outer.torsion_constant_mm4 + inner.torsion_constant_mm4
    return Section("concentric", outer.area_mm2 + inner.area_mm2, outer.shear_area_1_mm2 + inner.shear_area_1_mm2,
                   outer.shear_area_2_mm2 + inner.shear_area_2_mm2, j, i1, i2, i1 / outer_radius_mm,
                   i2 / outer_radius_mm, j / outer_radius_mm)


def rectangle(width_mm: float, thickness_mm: float) -> Section:
    """Rectangle: `width_mm` along n2 (ring's radial direction), `thickness_mm` along n1.

    Bending about n1 (in the ring's plane) uses width^3; about n2 (out of plane)
    thickness^3. St Venant torsion constant with Roark's series approximation.
    """
    b, t = width_mm, thickness_mm
    area = b * t
    i1 = t * b ** 3 / 12  # about n1: lever arm along n2 (width)
    i2 = b * t ** 3 / 12  # about n2: lever arm along n1 (thickness)
    long, short = max(b, t), min(b, t)
    j = long * short ** 3 * (1 / 3 - 0.21 * short / long * (1 - short ** 4 / (12 * long ** 4)))
    tau_modulus = j / short  # tau_max = T * short / J (within a few % of the exact factor)
    return Section("rectangle", area, 5 / 6 * area, 5 / 6 * area, j, i1, i2, i1 / (b / 2), i2 / (t / 2), tau_modulus)


@dataclass(frozen=True)
class BeamProperties:
    """Section stiffnesses in N and N*mm^2 (EA, kGA, GJ, EI) of one part."""

    EA_N: float
    GA1_N: float
    GA2_N: float
    GJ_Nmm2: float
    EI1_Nmm2: float
    EI2_Nmm2: float


def beam_properties(section: Section, mat: Material) -> BeamProperties:
    E, G = mat.youngs_modulus_MPa, mat.shear_modulus_MPa
    return BeamProperties(E * section.area_mm2, G * section.shear_area_1_mm2, G * section.shear_area_2_mm2,
                          G * section.torsion_constant_mm4, E * section.inertia_1_mm4, E * section.inertia_2_mm4)


def von_mises_MPa(section: Section, N, V1, V2, T, M1, M2):
    """Peak von Mises stress on a section from its stress resultants (numpy arrays).

    Conservative combination: the axial stress |N|/A plus the peak bending stress (the
    resultant moment for round sections, the two moments added for a rectangle), and the
    shear stress of torsion plus the peak transverse shear (4/3 V/A for solid circles,
    2 V/A for tubes, 3/2 V/A for rectangles).
    """
    import numpy as np

    A = section.area_mm2
    if section.kind == "rectangle":
        sigma = np.abs(N) / A + np.abs(M1) / section.section_modulus_1_mm3 + np.abs(M2) / section.section_modulus_2_mm3
        shear_factor = 1.5
    else:
        sigma = np.abs(N) / A + np.hypot(M1, M2) / section.section_modulus_1_mm3
        shear_factor = 4 / 3 if section.kind == "circle" else 2.0
    tau = np.abs(T) / section.torsion_modulus_mm3 + shear_factor * np.hypot(V1, V2) / A
    return np.sqrt(sigma ** 2 + 3 * tau ** 2)
