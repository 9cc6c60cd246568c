"""Materials of fixator parts and bone, with their sources.

Units: MPa for moduli and stresses, kg/m^3 for density. `yield_stress_MPa` is the stress
a part's safety factor is taken against: the 0.2 % proof stress of metals, the strength
of composites and bone. docs/materials.md has the same table.

"stainless_steel" (what scenario files name by default) is implant-grade 316L in the
condition the part is made in: Kirschner wires and half pins are cold-drawn
(cold-worked), rings, threaded rods, struts and posts are machined from annealed stock.
Name "stainless_steel_cold_worked" or "stainless_steel_annealed" to choose the
condition yourself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Material:
    """An isotropic linear-elastic material.

    youngs_modulus_MPa: E; poisson_ratio: nu; yield_stress_MPa: the stress used for
    safety factors (0.2 % proof stress for metals, strength for composites and bone);
    source: where the numbers come from. ultimate_stress_MPa: tensile strength;
    hardening_modulus_MPa: the slope of the stress-strain curve after yield, taken as
    linear from the yield stress to the tensile strength at the elongation at break
    (a lower bound of the hardening), for members that may yield.
    """

    name: str
    youngs_modulus_MPa: float
    poisson_ratio: float
    yield_stress_MPa: float
    density_kg_per_m3: float
    source: str = ""
    ultimate_stress_MPa: float = float("inf")
    hardening_modulus_MPa: float = 0.0  # linear kinematic hardening after yield (sim.elements.plastic_beam)

    @property
    def shear_modulus_MPa(self) -> float:
        return self.youngs_modulus_MPa / (2.0 * (1.0 + self.poisson_ratio))


_STEEL_E = ("E 200 GPa, nu 0.3 (316L, 193-200 GPa: physics.md section 4; the tensioned-wire closed forms "
            "use 200 GPa)")

MATERIALS: dict[str, Material] = {
    "stainless_steel_cold_worked": Material(
        "stainless_steel_cold_worked", 200_000.0, 0.30, 690.0, 8000.0,
        "ISO 5832-1 / ASTM F138 316L, cold-worked: 0.2 % proof stress >= 690 MPa, tensile strength >= 860 MPa, "
        f"elongation >= 12 % (the minimum of the standard): hardening (860 - 690) / 0.12 = 1400 MPa; {_STEEL_E}",
        ultimate_stress_MPa=860.0, hardening_modulus_MPa=1400.0),
    "stainless_steel_annealed": Material(
        "stainless_steel_annealed", 200_000.0, 0.30, 190.0, 8000.0,
        "ISO 5832-1 316L, annealed: 0.2 % proof stress >= 190 MPa, tensile strength 490-690 MPa (ASTM F138 "
        f"annealed: >= 170 MPa), elongation >= 40 %: hardening (490 - 190) / 0.40 = 750 MPa; {_STEEL_E}. No "
        "source gives the condition of a particular maker's rings and rods: annealed is the lower bound",
        ultimate_stress_MPa=490.0, hardening_modulus_MPa=750.0),
    # Ti-6Al-4V ELI (half pins, some rings and rods)
    "titanium": Material(
        "titanium", 110_000.0, 0.34, 795.0, 4430.0,
        "ASTM F136 Ti-6Al-4V ELI, annealed: 0.2 % proof stress >= 795 MPa, tensile strength >= 860 MPa, "
        "elongation >= 10 %: hardening (860 - 795) / 0.10 = 650 MPa; E 110 GPa (physics.md section 4)",
        ultimate_stress_MPa=860.0, hardening_modulus_MPa=650.0),
    # aluminium alloy rings (6061-T6 is the common grade)
    "aluminium": Material(
        "aluminium", 70_000.0, 0.33, 276.0, 2700.0,
        "6061-T6 aluminium alloy: 0.2 % proof stress 276 MPa, tensile strength 310 MPa, elongation 12 % (ASM "
        "Handbook vol. 2, typical values): hardening (310 - 276) / 0.12 = 280 MPa; E 70 GPa (physics.md section 4)",
        ultimate_stress_MPa=310.0, hardening_modulus_MPa=280.0),
    # carbon-fibre composite rings: a quasi-isotropic laminate's in-plane properties
    "carbon_fibre": Material(
        "carbon_fibre", 52_000.0, 0.31, 445.0, 1600.0,
        "quasi-isotropic [0/45/-45/90]s laminate of standard-modulus carbon/epoxy: classical lamination theory on "
        "the unidirectional ply of Performance Composites Ltd's table of typical values (E1 135 GPa, E2 10 GPa, G12 "
        "5 GPa, nu12 0.30, Vf 60 %; a supplier's table, not a standard) gives E 52 GPa, nu 0.31 (density 1.6 g/cm3 "
        "at Vf 60 %: Hull, An Introduction to Composite Materials, 1992); "
        "strength: the 0-deg plies fail at their compressive strain 0.85 %, 445 MPa (in tension the 90-deg plies "
        "crack at 0.5 %, 260 MPa, the laminate breaks at 1.05 %, 550 MPa). No ring maker publishes its laminate; "
        "constructs with such rings are 16-55 % as stiff as aluminium ones (physics.md section 4)"),
    # bone surrogates and the plastics of bench tests (elastic; strength = tensile strength)
    "composite_cortical_bone": Material(
        "composite_cortical_bone", 16_000.0, 0.30, 106.0, 1640.0,
        "4th-generation composite bone, cortical wall (short-glass-fibre-filled epoxy): longitudinal tensile modulus "
        "16.0 GPa, tensile strength 106 MPa, density 1.64 g/cm3 (Sawbones product data; Heiner 2008, J Biomech "
        "41:3282)"),
    "acetal": Material(
        "acetal", 3_100.0, 0.35, 70.0, 1420.0,
        "polyoxymethylene homopolymer (Delrin 150; the 'Delrin rods' of veterinary ring tests): tensile modulus "
        "about 3.1 GPa, yield stress about 70 MPa (DuPont Delrin product data, ISO 527)"),
    "pvc": Material(
        "pvc", 2_900.0, 0.38, 48.0, 1400.0,
        "rigid PVC pipe compound (the 'PVC tube' bone models): ASTM D1784 cell class 12454 minimum tensile "
        "modulus 2.76 GPa and tensile strength 48.3 MPa; 2.9 GPa taken as typical"),
    "acrylic": Material(
        "acrylic", 3_200.0, 0.37, 70.0, 1190.0,
        "cast PMMA (the 'acrylic pipe' fracture models, Henderson et al. 2017): tensile modulus 3.2-3.3 GPa, "
        "tensile strength 70-75 MPa (Plexiglas/Perspex product data, ISO 527)"),
    "cortical_bone": Material(
        "cortical_bone", 17_000.0, 0.30, 114.0, 1900.0,
        "human femoral cortical bone along the shaft: E 17 GPa, tensile yield 114 MPa (ultimate 133 MPa) - "
        "Reilly & Burstein 1975, J Biomech 8:393"),
    "cancellous_bone": Material(
        "cancellous_bone", 500.0, 0.30, 5.0, 600.0,
        "E 0.1-1 GPa (physics.md section 4); strength about 5 MPa (typical of human cancellous bone; no single "
        "source)"),
}

# what "stainless_steel" means for each kind of part (see the module docstring)
STEEL_CONDITION_BY_USE: dict[str, str] = {
    "wire": "stainless_steel_cold_worked",
    "half_pin": "stainless_steel_cold_worked",
    "ring": "stainless_steel_annealed",
    "rod": "stainless_steel_annealed",
    "strut": "stainless_steel_annealed",
    "post": "stainless_steel_annealed",
    "clamp": "stainless_steel_annealed",
}
ALIASES = ("stainless_steel",)

# Callus / regenerate tissue moduli in MPa (Lacroix & Prendergast 2002).
TISSUE_MODULI_MPa: dict[str, float] = {
    "granulation": 0.2,
    "fibrous": 2.0,
    "cartilage": 10.0,
    "immature_bone": 1000.0,
    "woven_bone": 6000.0,
}


def material(name: str, use: str | None = None) -> Material:
    """Look up a material by name for a part of kind `use` ("wire", "half_pin", "ring",
    "rod", "strut", "post", "clamp"; it decides what "stainless_steel" means).
    KeyError lists the accepted names."""
    if name == "stainless_steel":
        name = STEEL_CONDITION_BY_USE.get(use or "ring", "stainless_steel_annealed")
    try:
        return MATERIALS[name]
    except KeyError:
        raise KeyError(f"unknown material {name!r}; accepted: {', '.join(sorted((*MATERIALS, *ALIASES)))}") from None


def regenerate_material(modulus_MPa: float, poisson_ratio: float = 0.3) -> Material:
    """A soft tissue of given modulus filling the gap (its strength is not checked)."""
    return Material("regenerate", modulus_MPa, poisson_ratio, float("inf"), 1100.0,
                    "callus tissue moduli: Lacroix & Prendergast 2002")
