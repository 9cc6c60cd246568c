# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A hexapod correction: the strut schedule and the frame's stiffness along the way
#
# A two-ring hexapod (Taylor Spatial Frame type) on a right tibia corrects, after a
# mid-shaft osteotomy, 12 deg of varus with 6 mm of lateral translation (AP film), 8 deg of
# procurvatum (lateral film), 10 deg of internal rotation and 8 mm of shortening
# (`scenarios/hexapod-correction.toml`). The plan turns the distal fragment about the
# osteotomy's centre at most 1 mm a day at the structure at risk.
#
# Run as a script (`python examples/hexapod_correction.py`) or open as a notebook
# (`jupytext --to notebook examples/hexapod_correction.py`). Writes the same run directory
# as `ilizarov hexapod` into `out/examples/hexapod-correction/hexapod` and its own plot beside
# it (or into `$ILIZAROV_EXAMPLE_OUT`).

# %%
import os
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

import ilizarov
from sim.shipped import shipped_dir

SCENARIOS = shipped_dir("scenarios")  # the checkout's scenarios/, or an installed copy
OUT = Path(os.environ.get("ILIZAROV_EXAMPLE_OUT", Path("out") / "examples" / "hexapod-correction"))

# %% [markdown]
# ## 1. Load the scenario and plan the correction
# `run_hexapod` plans the daily strut lengths (inverse kinematics along the correction's
# screw motion, at most `max_rate_mm_per_day` at the structure at risk) and, with
# `mechanics=True`, solves the frame model at the start, the middle and the end of the
# correction and a classic four-rod frame on the same rings.

# %%
s = ilizarov.load_scenario(SCENARIOS / "hexapod-correction.toml")
plan = ilizarov.run_hexapod(s, out=OUT / "hexapod")  # what `ilizarov hexapod --out` writes
print(f"deformity: a single rotation of {plan.summary.deformity_angle_deg:.1f} deg; "
      f"{len(plan.schedule) - 1} days of correction; largest daily motion at the structure at risk "
      f"{plan.summary.largest_daily_motion_at_risk_mm:.2f} mm")

# %% [markdown]
# ## 2. The prescription: each strut's length day by day
# The patient turns each strut to the day's length; a strut that leaves its size's range is
# swapped (none here).

# %%
days = [row["day"] for row in plan.schedule]
fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
for k in range(1, 7):
    ax.plot(days, [row[f"strut{k}_mm"] for row in plan.schedule], "o-", ms=3, label=f"strut {k}")
ax.set_xlabel("day of correction")
ax.set_ylabel("strut length [mm]")
ax.set_title("Hexapod correction: the six strut lengths")
ax.grid(True, alpha=0.3)
ax.legend(ncol=3)
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "strut_lengths_example.png", dpi=100)

# %% [markdown]
# ## 3. How the deformity goes away
# The clinical parameters (as read on the films) of the remaining deformity each day.

# %%
for row in plan.schedule[:: max(1, len(plan.schedule) // 5)] + [plan.schedule[-1]]:
    print(f"day {row['day']:2d}: {row['ap_angulation_deg']:5.1f} deg {row['ap_angulation']:7s} "
          f"{row['lateral_angulation_deg']:5.1f} deg {row['lateral_angulation']:11s} "
          f"{row['axial_rotation_deg']:5.1f} deg rotation, {row['length_mm']:4.1f} mm length")

# %% [markdown]
# ## 4. Is the frame stable enough along the way?
# The hexapod's stiffness at the start, middle and end of the correction, and the classic
# four-rod frame on the same rings (idealised joints: the model's verified idealisation;
# docs/bench-validation.md says how far real joints soften it).

# %%
print(f"{'frame':18s} {'stage':24s} {'axial N/mm':>10s} {'bending AP':>10s} {'torsion':>8s} (N*m/deg)")
for row in plan.stiffness:
    print(f"{row['frame']:18s} {row['stage']:24s} {row['axial_initial_N_per_mm']:10.1f} "
          f"{row['bending_ap_Nm_per_deg']:10.2f} {row['torsion_Nm_per_deg']:8.2f}")

# %% [markdown]
# ## 5. The numbers this example checks
# The residual deformity at the end (deg, mm) and the hexapod's torsional stiffness over the
# classic frame's at the end.

# %%
residual = plan.schedule[-1]
residual_deg = max(abs(residual[k]) for k in ("ap_angulation_deg", "lateral_angulation_deg", "axial_rotation_deg"))
residual_mm = max(abs(residual[k]) for k in ("ap_translation_mm", "lateral_translation_mm", "length_mm"))
end = next(r for r in plan.stiffness if r["stage"] == "end")
classic = next(r for r in plan.stiffness if r["frame"].startswith("classic"))
torsion_ratio = end["torsion_Nm_per_deg"] / classic["torsion_Nm_per_deg"]
print(f"residual at the end: {residual_deg:.2g} deg, {residual_mm:.2g} mm; hexapod/classic torsion "
      f"{torsion_ratio:.2f}")
