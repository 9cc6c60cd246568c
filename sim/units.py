"""The one unit system of the toolkit, stated once.

Inside the code: millimetre, newton, megapascal (N/mm^2), radian. Stiffness is N/mm,
moments N*mm. Reports give bending and torsion stiffness in N*m/deg, as the
literature does, and wire tension in N (with kgf alongside where surgeons expect it).
"""

import math

STANDARD_GRAVITY_M_PER_S2 = 9.80665
N_PER_KGF = STANDARD_GRAVITY_M_PER_S2  # 1 kgf = 9.80665 N
NMM_PER_NM = 1000.0
DEG_PER_RAD = 180.0 / math.pi


def kgf_to_N(force_kgf: float) -> float:
    return force_kgf * N_PER_KGF


def N_to_kgf(force_N: float) -> float:
    return force_N / N_PER_KGF
