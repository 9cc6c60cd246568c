"""Materials of fixator parts and bone.

Units: MPa for moduli and stresses, kg/m^3 for density. Sources are in physics.md
(section 3); the values are the ones used by the bench-test literature.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Material:
    """An isotropic linear-elastic material.

    youngs_modulus_MPa: E; poisson_ratio: nu; yield_stress_MPa: the stress used for
    safety factors (yield for metals, strength for composites and bone).
    """

    name: str
    youngs_modulus_MPa: float
    poisson_ratio: float
    yield_stress_MPa: float
    density_kg_per_m3: float

    @property
    def shear_modulus_MPa(self) -> float:
        return self.youngs_modulus_MPa / (2.0 * (1.0 + self.poisson_ratio))


MATERIALS: dict[str, Material] = {
    # Cold-worked 316L: wires and threaded rods; rings of steel are taken the same.
    "stainless_steel": Material("stainless_steel", 200_000.0, 0.30, 690.0, 8000.0),
    # Ti-6Al-4V (half pins, some rings).
    "titanium": Material("titanium", 110_000.0, 0.34, 880.0, 4430.0),
    # 6061-T6 / 2024 aluminium alloy rings.
    "aluminium": Material("aluminium", 70_000.0, 0.33, 275.0, 2700.0),
    # Carbon-fibre composite rings: an effective in-plane modulus; constructs with
    # them are 16-55 % as stiff as aluminium ones (physics.md section 3).
    "carbon_fibre": Material("carbon_fibre", 40_000.0, 0.30, 600.0, 1600.0),
    # Cortical bone along the shaft; yield is the tensile strength.
    "cortical_bone": Material("cortical_bone", 17_000.0, 0.30, 115.0, 1900.0),
    "cancellous_bone": Material("cancellous_bone", 500.0, 0.30, 5.0, 600.0),
}

# Callus / regenerate tissue moduli in MPa (Lacroix & Prendergast 2002).
TISSUE_MODULI_MPa: dict[str, float] = {
    "granulation": 0.2,
    "fibrous": 2.0,
    "cartilage": 10.0,
    "immature_bone": 1000.0,
    "woven_bone": 6000.0,
}


def material(name: str) -> Material:
    """Look up a material by name; KeyError lists the accepted names."""
    try:
        return MATERIALS[name]
    except KeyError:
        raise KeyError(f"unknown material {name!r}; accepted: {', '.join(sorted(MATERIALS))}") from None


def regenerate_material(modulus_MPa: float, poisson_ratio: float = 0.3) -> Material:
    """A soft tissue of given modulus filling the gap (its strength is not checked)."""
    return Material("regenerate", modulus_MPa, poisson_ratio, float("inf"), 1100.0)
