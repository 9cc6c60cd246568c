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
# # Teaching demo: what wire pretension does to an Ilizarov frame
#
# One frame, four wire tensions (docs/teaching/pretension.md explains the pictures). The
# standard four-ring frame (160 mm steel rings, two 1.8 mm wires per ring crossing at
# 90 deg, four rods) holds a tibia-sized bone with a 20 mm gap: under the 400 N test load
# the fragments never touch, so every millimetre is the frame's own. Only the wires'
# pretension changes: `scenarios/teaching/pretension-{0,50,90,130}kgf.toml`.
#
# Run it as a script (`python examples/teaching_pretension.py`, or `make teaching`) or open
# it as a notebook (`jupytext --to notebook examples/teaching_pretension.py`). It writes into
# `out/teaching` of the current directory (or `$ILIZAROV_EXAMPLE_OUT`); with `ILIZAROV_UPDATE_DOCS=1` it also copies
# its two pictures into docs/teaching/.

# %%
import os
import shutil
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # a script writes files; a notebook shows the figures
import matplotlib.pyplot as plt

import ilizarov
from sim.shipped import shipped_dir
from postprocess.compare import write_comparison
from sim.units import N_PER_KGF
from sim.verification import tensioned_wire_stiffness_N_per_mm

SCENARIOS = shipped_dir("scenarios")  # the checkout's scenarios/, or an installed copy
OUT = Path(os.environ.get("ILIZAROV_EXAMPLE_OUT", Path("out") / "teaching"))
OUT.mkdir(parents=True, exist_ok=True)
TENSIONS_KGF = (0, 50, 90, 130)

# %% [markdown]
# ## 1. Four runs of the frame model
# `ilizarov.run` solves a scenario (pretension, then each load case) and returns typed
# results; `out=` also writes the run directory `ilizarov run --out` writes.

# %%
runs = {}
for kgf in TENSIONS_KGF:
    runs[kgf] = ilizarov.run(SCENARIOS / "teaching" / f"pretension-{kgf}kgf.toml",
                             out=OUT / f"pretension-{kgf}kgf")
    print(f"{kgf:3d} kgf: initial axial stiffness {runs[kgf].axial.initial_stiffness_N_per_mm:6.1f} N/mm")

# %% [markdown]
# ## 2. A wire is a string, not a beam
# Left: the four frames' load-displacement curves. Right: one 1.8 mm wire clamped over
# 150 mm, pushed at its middle: its exact tensioned-beam stiffness (physics.md) grows
# almost in proportion to the tension. Linear elasticity alone would give one curve.

# %%
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
for kgf, r in runs.items():
    ax.plot(r.axial.displacement_mm, r.axial.load_N, "o-", ms=3, lw=2, label=f"{kgf} kgf")
ax.set_xlabel("axial shortening [mm]")
ax.set_ylabel("axial load [N]")
ax.set_title("The same frame, four wire tensions (20 mm gap: the frame alone)")
ax.grid(True, alpha=0.3)
ax.legend(title="pretension")
tension_N = [N_PER_KGF * k for k in range(0, 141, 5)]
ax2.plot([t / N_PER_KGF for t in tension_N], [tensioned_wire_stiffness_N_per_mm(t, 150.0, 1.8) for t in tension_N],
         lw=2, color="k")
ax2.set_xlabel("wire tension [kgf]")
ax2.set_ylabel("stiffness under a central load [N/mm]")
ax2.set_title("One 1.8 mm wire over 150 mm: exact tensioned-beam stiffness")
ax2.grid(True, alpha=0.3)
fig.savefig(OUT / "pretension_curves.png", dpi=100)

# %% [markdown]
# ## 3. The stability table
# "Initial" is the tangent stiffness of the pretensioned frame, "tangent" the same at full
# load, "secant" full load over the shortening; all from the pretensioned frame.

# %%
table = ["| pretension | axial initial N/mm | secant N/mm | tangent N/mm | IFM at 400 N mm | bending N*m/deg "
         "| torsion N*m/deg |", "|---|---|---|---|---|---|---|"]
for kgf, r in runs.items():
    a = r.axial
    table.append(f"| {kgf} kgf | {a.initial_stiffness_N_per_mm:.1f} | {a.secant_stiffness_N_per_mm:.1f} | "
                 f"{a.tangent_stiffness_N_per_mm:.1f} | {a.ifm_axial_mm:.2f} | "
                 f"{r.bending_ap.stiffness_Nm_per_deg:.2f} | {r.torsion.stiffness_Nm_per_deg:.2f} |")
(OUT / "table.md").write_text("\n".join(table) + "\n")
print("\n".join(table))

# %% [markdown]
# ## 4. The four frames on one colour scale
# `write_comparison` (the `ilizarov compare` command) draws them under full load with one
# magnification, one wire-tension scale and one stress scale.

# %%
text, picture = write_comparison([r.out for r in runs.values()], OUT / "compare")
print(text)

# %% [markdown]
# ## 5. The numbers this demo teaches
# Initial axial stiffness (N/mm) for 0, 50, 90 and 130 kgf, and the interfragmentary motion
# under 400 N (mm): more tension, a stiffer frame from the first newton, less motion.

# %%
initial_N_per_mm = {kgf: r.axial.initial_stiffness_N_per_mm for kgf, r in runs.items()}
ifm_mm = {kgf: r.axial.ifm_axial_mm for kgf, r in runs.items()}
print("initial stiffness N/mm:", {k: round(v, 1) for k, v in initial_N_per_mm.items()})
print("IFM at 400 N, mm:", {k: round(v, 2) for k, v in ifm_mm.items()})
if os.environ.get("ILIZAROV_UPDATE_DOCS") == "1":
    docs = Path(__file__).resolve().parents[1] / "docs" / "teaching"  # in a checkout
    shutil.copy(OUT / "pretension_curves.png", docs / "pretension_curves.png")
    shutil.copy(OUT / "compare" / "comparison.png", docs / "pretension_compare.png")
    print(f"copied the pictures into {docs}")
