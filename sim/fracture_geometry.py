"""The geometry of a butterfly (wedge) fragment, one place for both models and validate.

A wedge fracture (AO/OTA type B, e.g. 42-B2 at the tibial shaft) has two main fragments
that still touch after reduction and a third, wedge-shaped fragment on one side. The
wedge is idealised here as a prism of the cortex (`Butterfly` in sim.scenario):

- around the bone axis: the sector of the cortex within arc_deg / 2 of the direction
  side_deg (from +x towards +y, like Gap.obliquity_axis_deg), through the whole wall;
- along it: the levels level_mm +- length_mm / 2 of the gap, the same over the whole arc.

A real wedge is bounded by two oblique fracture lines meeting at the gap (the "Y" of a
bending fracture) and is shorter away from its apex; the prism removes the wedge's
largest extent from the main fragments over its whole arc, so with a free (loose)
fragment that carries nothing the models give a lower bound on the construct's
stiffness. A free fragment is not modelled at all: in both models its region is void,
and over the wedge's length the main fragments have a tube less the sector.

Section of a tube (radii r_i < r_o) less a sector of half-angle a (closed forms, in the
wedge's axes: u towards the wedge's side, v across; first and second moments about the
bone axis, not the centroid):

    A    = (pi - a) (r_o^2 - r_i^2)
    S_u  = -2/3 sin(a) (r_o^3 - r_i^3)          (S_v = 0; centroid e_u = S_u / A < 0)
    I_uu = (r_o^4 - r_i^4) / 4 [pi - (a + sin a cos a)]     (integral of u^2)
    I_vv = (r_o^4 - r_i^4) / 4 [pi - (a - sin a cos a)]     (integral of v^2; I_uv = 0)

An open (slit) tube's Saint-Venant torsion constant is that of a thin open section,
J = (2 pi - 2 a) r_m t^3 / 3 (r_m the mean radius, t the wall): far below the closed
tube's, a lower bound (the closed tube either side restrains the C-section's warping).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.sections import Section, tube


@dataclass(frozen=True)
class WedgeSection:
    """A tube less a wedge's sector, about the bone axis in the global (x, y) plane.

    area_mm2; first_moment_x/y_mm3 (integrals of x and y over the section); second
    moments about the axis, inertia_xx_mm4 (integral of x^2), inertia_yy_mm4 (of y^2),
    inertia_xy_mm4 (of x y); torsion_constant_mm4 (open section); the tube's radii."""

    area_mm2: float
    first_moment_x_mm3: float
    first_moment_y_mm3: float
    inertia_xx_mm4: float
    inertia_yy_mm4: float
    inertia_xy_mm4: float
    torsion_constant_mm4: float
    outer_radius_mm: float
    inner_radius_mm: float
    shear_coefficient: float

    @property
    def centroid_mm(self) -> tuple[float, float]:
        """(x, y) of the section's centroid (mm) off the bone axis."""
        return self.first_moment_x_mm3 / self.area_mm2, self.first_moment_y_mm3 / self.area_mm2

    def principal_centroidal_mm4(self) -> tuple[float, float]:
        """The (smaller, larger) second moment about axes through the centroid (mm^4)."""
        cx, cy = self.centroid_mm
        a = self.area_mm2
        m = np.array([[self.inertia_xx_mm4 - a * cx * cx, self.inertia_xy_mm4 - a * cx * cy],
                      [self.inertia_xy_mm4 - a * cx * cy, self.inertia_yy_mm4 - a * cy * cy]])
        lo, hi = np.linalg.eigvalsh(m)
        return float(lo), float(hi)

    def in_axes(self, n1, n2) -> dict[str, float]:
        """First and second moments about the bone axis in a cell's section axes n1, n2
        (unit vectors across the axis; their x, y components are used): S1 = integral of
        rho_1, S2 of rho_2, I11 of rho_1^2, I22 of rho_2^2, I12 of rho_1 rho_2 (mm^3, mm^4)."""
        a, b = np.asarray(n1, float)[:2], np.asarray(n2, float)[:2]
        s = np.array([self.first_moment_x_mm3, self.first_moment_y_mm3])
        m = np.array([[self.inertia_xx_mm4, self.inertia_xy_mm4], [self.inertia_xy_mm4, self.inertia_yy_mm4]])
        return {"S1": float(a @ s), "S2": float(b @ s), "I11": float(a @ m @ a), "I22": float(b @ m @ b),
                "I12": float(a @ m @ b)}

    def section(self) -> Section:
        """A sim.sections.Section for the link sizing and the peak stresses: area, shear
        areas, the open torsion constant, and second moments about the centroid's principal
        axes (the smaller one for both section moduli, over the farthest fibre from the
        centroid: conservative)."""
        lo, hi = self.principal_centroidal_mm4()
        c = self.outer_radius_mm + math.hypot(*self.centroid_mm)
        t = self.outer_radius_mm - self.inner_radius_mm
        ka = self.shear_coefficient * self.area_mm2
        return Section("open_tube", self.area_mm2, ka, ka, self.torsion_constant_mm4, lo, hi, lo / c, lo / c,
                       self.torsion_constant_mm4 / t)


def wedge_section(outer_radius_mm: float, inner_radius_mm: float, arc_deg: float, side_deg: float,
                  poisson_ratio: float = 0.3) -> WedgeSection:
    """The section of a cortical tube less the sector arc_deg wide centred on side_deg
    (deg, from +x towards +y), by the closed forms of the module's docstring. arc_deg = 0
    gives the tube's area and second moments (and the open slit tube's torsion constant).
    Raises ValueError for radii or an arc out of range."""
    ro, ri = float(outer_radius_mm), float(inner_radius_mm)
    if not (0.0 <= ri < ro):
        raise ValueError(f"radii {ri:g} and {ro:g} mm; accepted: 0 <= inner < outer")
    if not (0.0 <= arc_deg < 360.0):
        raise ValueError(f"arc_deg = {arc_deg:g}; accepted: 0 <= arc < 360")
    a = math.radians(arc_deg) / 2
    th = math.radians(side_deg)
    area = (math.pi - a) * (ro ** 2 - ri ** 2)
    s_u = -2.0 / 3.0 * math.sin(a) * (ro ** 3 - ri ** 3)
    q = (ro ** 4 - ri ** 4) / 4
    i_uu = q * (math.pi - (a + math.sin(a) * math.cos(a)))
    i_vv = q * (math.pi - (a - math.sin(a) * math.cos(a)))
    c, s = math.cos(th), math.sin(th)
    rm, t = 0.5 * (ro + ri), ro - ri
    j_open = (2 * math.pi - 2 * a) * rm * t ** 3 / 3
    kappa = tube(2 * ro, 2 * ri, poisson_ratio).shear_area_1_mm2 / (math.pi * (ro ** 2 - ri ** 2))
    return WedgeSection(area, s_u * c, s_u * s, i_uu * c * c + i_vv * s * s, i_uu * s * s + i_vv * c * c,
                        (i_uu - i_vv) * s * c, j_open, ro, ri, kappa)


def butterfly_z_range_mm(s) -> tuple[float, float] | None:
    """(lower, upper) level (mm) of a scenario's butterfly fragment, or None without one."""
    b = s.gap.butterfly if s.has_bone and not s.bone.intact else None
    if b is None:
        return None
    return s.gap.level_mm - b.length_mm / 2, s.gap.level_mm + b.length_mm / 2


def angle_in_wedge(s, angle_rad) -> np.ndarray:
    """Whether directions at angle_rad (from +x towards +y; numpy broadcast) lie within the
    butterfly's arc (False everywhere without one)."""
    b = s.gap.butterfly
    ang = np.asarray(angle_rad, float)
    if b is None:
        return np.zeros_like(ang, dtype=bool)
    d = np.angle(np.exp(1j * (ang - math.radians(b.side_deg))))
    return np.abs(d) <= math.radians(b.arc_deg) / 2


def points_in_wedge(s, points_mm) -> np.ndarray:
    """Whether points (n, 3) in mm lie in the butterfly fragment's prism (its arc, its
    levels, between the bone axis and any radius): a boolean per point."""
    p = np.atleast_2d(np.asarray(points_mm, float))
    zr = butterfly_z_range_mm(s)
    if zr is None:
        return np.zeros(len(p), dtype=bool)
    inside = (p[:, 2] >= zr[0]) & (p[:, 2] <= zr[1])
    return inside & angle_in_wedge(s, np.arctan2(p[:, 1], p[:, 0]))


def sector_fraction_outside(centre_rad: np.ndarray, half_width_rad: float, side_rad: float,
                            half_arc_rad: float) -> np.ndarray:
    """The fraction of each angular sector [centre - half_width, centre + half_width] that
    lies outside the arc [side - half_arc, side + half_arc] (all in rad; arcs below pi)."""
    c = np.asarray(centre_rad, float)
    d = np.abs(np.angle(np.exp(1j * (c - side_rad))))  # angular distance in [0, pi]
    lo, hi = d - half_width_rad, d + half_width_rad
    inside = np.clip(np.minimum(hi, half_arc_rad) - np.maximum(lo, -half_arc_rad), 0.0, None)
    # the part of the sector that wraps past pi onto the arc's other side (never with arcs below pi - width)
    return 1.0 - inside / (2 * half_width_rad)


def butterfly_picture(s) -> tuple[float, float, float, float, float] | None:
    """(lower level mm, upper level mm, side deg, arc deg, outer radius mm) of a scenario's
    butterfly fragment for the pictures (postprocess.render.Scene.butterfly), or None."""
    zr = butterfly_z_range_mm(s)
    if zr is None:
        return None
    b = s.gap.butterfly
    return zr[0], zr[1], b.side_deg, b.arc_deg, max(s.bone_radii_mm(zr[0])[0], s.bone_radii_mm(zr[1])[0])


def describe_butterfly(s, model: str) -> str:
    """What the results' assumptions say of a butterfly fragment (model: "frame" or
    "continuum")."""
    b = s.gap.butterfly
    z0, z1 = butterfly_z_range_mm(s)
    words = (f"a free butterfly fragment ({b.arc_deg:g} deg of cortex about {b.side_deg:g} deg, z = {z0:g} to "
             f"{z1:g} mm) carries no load: the lower bound; idealised as a prism of the cortex over its whole "
             "length (sim.fracture_geometry); the main fragments touch across the gap outside its arc only")
    if model == "frame":
        words += ("; beside it their beam cells are the tube less the wedge's sector, an eccentric section about "
                  "the bone axis (its first moments couple stretch and bending), with the open section's "
                  "Saint-Venant torsion constant (a lower bound: the closed tube either side restrains warping)")
    else:
        words += "; its region is void in the solid"
    return words
