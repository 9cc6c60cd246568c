"""The regenerate over time: a lumped, mechano-regulated tissue model (pure Python).

The regenerate fills the gap between the fragment ends. It is modelled along the bone
axis as two tissues in series (docs/timeline.md):

- bone advancing from both fragment ends (the mineralisation fronts), laid down as
  immature bone (1000 MPa) and maturing towards woven bone (6000 MPa) with the time
  constant `bone_maturation_days`;
- the interzone between the fronts: soft tissue whose modulus moves (on a log scale,
  time constant `tissue_time_constant_days`) towards the modulus of the tissue class its
  mechanics call for. Every distraction step adds freshly stretched granulation tissue
  (0.2 MPa) to it.

Mechano-regulation (rule "claes_heigele", Claes & Heigele 1999, physics.md section 2):
each day the interzone's strain and pressure under the weight-bearing check, and the
strain of the day's distraction steps, classify it:

    |strain| < 5 %  and |pressure| < 0.15 MPa      -> intramembranous ossification
    pressure > 0.15 MPa (compressive), |strain| < 15 % -> endochondral ossification
    otherwise                                      -> connective tissue

Intramembranous: the fronts advance at `front_speed_mm_per_day` each; endochondral: at
`endochondral_front_speed_mm_per_day` (cartilage first) and the interzone tends to
cartilage (10 MPa); connective: the fronts stop and the interzone tends to fibrous
tissue (2 MPa). Rule "time" advances the fronts at `front_speed_mm_per_day` whatever the
mechanics (a reference without mechano-regulation). Pressure is taken equal to the
axial stress (a laterally confined, nearly incompressible tissue).

Units: mm, MPa, days. Strains are positive in compression (the gap closing), as the
gap strain of the stability report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from sim.materials import TISSUE_MODULI_MPa
from sim.scenario import RegenerateModel

INTRAMEMBRANOUS, ENDOCHONDRAL, CONNECTIVE = "intramembranous", "endochondral", "connective"
TARGET_MODULUS_MPa = {
    INTRAMEMBRANOUS: TISSUE_MODULI_MPa["cartilage"],  # the unmineralised template between the fronts
    ENDOCHONDRAL: TISSUE_MODULI_MPa["cartilage"],
    CONNECTIVE: TISSUE_MODULI_MPa["fibrous"],
}
NEW_BONE_MPa = TISSUE_MODULI_MPa["immature_bone"]
MATURE_BONE_MPa = TISSUE_MODULI_MPa["woven_bone"]
DISTRACTED_TISSUE_MPa = TISSUE_MODULI_MPa["granulation"]


@dataclass(frozen=True)
class RegenerateState:
    """The regenerate at one moment.

    gap_mm: its length (the gap between the fragment ends); bone_mm: the length already
    ossified from the two ends together; moduli in MPa; tissue_class: the last
    classification (or the initial tissue's name).
    """

    gap_mm: float
    bone_mm: float
    interzone_modulus_MPa: float
    bone_modulus_MPa: float = NEW_BONE_MPa
    tissue_class: str = "granulation"

    @property
    def interzone_mm(self) -> float:
        return max(self.gap_mm - self.bone_mm, 0.0)

    @property
    def bone_fraction(self) -> float:
        return min(self.bone_mm / self.gap_mm, 1.0) if self.gap_mm > 0 else 1.0

    @property
    def bridged(self) -> bool:
        return self.interzone_mm <= 1e-9

    @property
    def effective_modulus_MPa(self) -> float:
        """Modulus of a uniform bar as stiff as the two tissues in series."""
        bone = min(self.bone_mm, self.gap_mm)
        compliance = bone / self.bone_modulus_MPa + self.interzone_mm / self.interzone_modulus_MPa
        return self.gap_mm / compliance if compliance > 0 else self.bone_modulus_MPa

    def axial_stiffness_N_per_mm(self, area_mm2: float) -> float:
        return self.effective_modulus_MPa * area_mm2 / self.gap_mm


def initial_state(gap_mm: float, params: RegenerateModel) -> RegenerateState:
    """The regenerate right after the osteotomy: the initial tissue over the whole gap."""
    return RegenerateState(gap_mm, 0.0, TISSUE_MODULI_MPa[params.initial_tissue],
                           tissue_class=params.initial_tissue)


def _series_modulus(length_a: float, modulus_a: float, length_b: float, modulus_b: float) -> float:
    total = length_a + length_b
    return total / (length_a / modulus_a + length_b / modulus_b) if total > 0 else modulus_a


def with_gap(state: RegenerateState, gap_mm: float) -> RegenerateState:
    """The regenerate after the gap changed to gap_mm.

    Opening: the new length is freshly distracted granulation tissue added to the
    interzone. Closing (the frame springing back): the interzone shortens.
    """
    opening = gap_mm - state.gap_mm
    if opening > 0:
        modulus = _series_modulus(state.interzone_mm, state.interzone_modulus_MPa, opening, DISTRACTED_TISSUE_MPa)
        return replace(state, gap_mm=gap_mm, interzone_modulus_MPa=modulus)
    return replace(state, gap_mm=gap_mm, bone_mm=min(state.bone_mm, gap_mm))


def classify(strain: float, pressure_MPa: float, params: RegenerateModel) -> str:
    """Claes & Heigele (1999) tissue class from interzone strain and pressure (compression > 0)."""
    if abs(strain) < params.intramembranous_strain_limit and abs(pressure_MPa) < params.pressure_limit_MPa:
        return INTRAMEMBRANOUS
    if pressure_MPa > params.pressure_limit_MPa and abs(strain) < params.endochondral_strain_limit:
        return ENDOCHONDRAL
    return CONNECTIVE


def _relax_log(value: float, target: float, dt_days: float, tau_days: float) -> float:
    """Move value towards target on a log scale with time constant tau (exact for constant target)."""
    f = math.exp(-dt_days / tau_days)
    return math.exp(f * math.log(value) + (1.0 - f) * math.log(target))


def advance(state: RegenerateState, strain: float, pressure_MPa: float, dt_days: float,
            params: RegenerateModel) -> RegenerateState:
    """The regenerate dt_days later, under the mechanical stimulus of the day.

    strain: the interzone's strain (the larger of the weight-bearing strain and the
    distraction steps' strain); pressure_MPa: its pressure under the weight-bearing check.
    """
    if params.rule == "time":
        tissue_class = INTRAMEMBRANOUS
    else:
        tissue_class = classify(strain, pressure_MPa, params)
    speed = {INTRAMEMBRANOUS: params.front_speed_mm_per_day,
             ENDOCHONDRAL: params.endochondral_front_speed_mm_per_day, CONNECTIVE: 0.0}[tissue_class]
    interzone = _relax_log(state.interzone_modulus_MPa, TARGET_MODULUS_MPa[tissue_class], dt_days,
                           params.tissue_time_constant_days)
    bone_old = min(state.bone_mm, state.gap_mm)
    bone_new = min(state.gap_mm, bone_old + 2.0 * speed * dt_days)
    bone_modulus = _relax_log(state.bone_modulus_MPa, MATURE_BONE_MPa, dt_days, params.bone_maturation_days)
    bone_modulus = _series_modulus(bone_old, bone_modulus, bone_new - bone_old, NEW_BONE_MPa) \
        if bone_new > 0 else bone_modulus
    return RegenerateState(state.gap_mm, bone_new, interzone, bone_modulus, tissue_class)
