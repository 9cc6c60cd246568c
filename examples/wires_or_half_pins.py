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
# # Wires or half pins? A design comparison, idealised and with the bench interfaces
#
# The standard four-ring frame holds each fragment with two tensioned 1.8 mm wires per
# ring; the hybrid frame (`scenarios/hybrid-halfpins.toml`) holds the proximal fragment
# with one wire and one 6 mm half pin per ring. Which is stiffer, and by how much?
#
# The frame model's default is its verified idealisation: every joint, clamp and
# bone-implant interface rigid. Real frames give way there (docs/interfaces.md,
# docs/bench-validation.md), and the half pin's thread in bone gives way more than a
# tensioned wire does. So the comparison is run twice: idealised, and with every
# interface law switched on (`Scenario.replace`, validated like a file).
#
# Run as a script (`python examples/wires_or_half_pins.py`) or open as a notebook
# (`jupytext --to notebook examples/wires_or_half_pins.py`). Writes its picture into
# `out/examples/wires-or-half-pins` (or `$ILIZAROV_EXAMPLE_OUT`).

# %%
import os
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import ilizarov
from sim.shipped import shipped_dir

SCENARIOS = shipped_dir("scenarios")  # the checkout's scenarios/, or an installed copy
OUT = Path(os.environ.get("ILIZAROV_EXAMPLE_OUT", Path("out") / "examples" / "wires-or-half-pins"))
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## 1. Two frames, two models
# `BENCH` switches on the compliant laws with their default parameters (their sources are
# in docs/interfaces.md: the rod-ring joint's axial stiffness is calibrated on a published
# frame test; the others are physical estimates).

# %%
BENCH = {f"interfaces.{law}.rigid": False for law in ("rod_ring", "wire_clamp", "wire_bone", "pin_bone", "pin_clamp")}
frames = {"wires (standard)": ilizarov.load_scenario(SCENARIOS / "standard-4ring.toml"),
          "hybrid (half pins)": ilizarov.load_scenario(SCENARIOS / "hybrid-halfpins.toml")}
runs = {}
for frame, s in frames.items():
    runs[frame, "idealised"] = ilizarov.run(s)
    runs[frame, "bench interfaces"] = ilizarov.run(s.replace(BENCH))

# %% [markdown]
# ## 2. The stability table
# Axial stiffness of the pretensioned frame (before the 2 mm gap closes), the load at which
# the fragment ends touch, bending (antero-posterior) and torsional stiffness.

# %%
print(f"{'frame':20s} {'model':17s} {'axial N/mm':>10s} {'gap closes N':>12s} {'bending':>8s} {'torsion':>8s}"
      " (N*m/deg)")
for (frame, model), r in runs.items():
    print(f"{frame:20s} {model:17s} {r.axial.initial_stiffness_N_per_mm:10.1f} {r.axial.gap_closed_at_N:12.0f} "
          f"{r.bending_ap.stiffness_Nm_per_deg:8.2f} {r.torsion.stiffness_Nm_per_deg:8.2f}")

# %% [markdown]
# ## 3. How much stiffer is the hybrid?
# The hybrid over the standard frame, per measure, in each model. The idealisation
# flatters the half pins: bonded rigidly to the cortices and welded to their posts, they
# lose nothing; with the bone's give along the thread and the pin clamp's rocking, part of
# their advantage goes.

# %%
measures = {"axial": lambda r: r.axial.initial_stiffness_N_per_mm,
            "bending AP": lambda r: r.bending_ap.stiffness_Nm_per_deg,
            "torsion": lambda r: r.torsion.stiffness_Nm_per_deg}
advantage = {model: {m: f(runs["hybrid (half pins)", model]) / f(runs["wires (standard)", model])
                     for m, f in measures.items()} for model in ("idealised", "bench interfaces")}
fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
x = np.arange(len(measures))
for k, (model, ratios) in enumerate(advantage.items()):
    ax.bar(x + (k - 0.5) * 0.38, [100 * (v - 1) for v in ratios.values()], 0.38, label=model)
ax.set_xticks(x, list(measures))
ax.set_ylabel("hybrid stiffer than wires by [%]")
ax.set_title("Half pins' advantage, idealised and with the bench interfaces")
ax.grid(True, axis="y", alpha=0.3)
ax.legend()
fig.savefig(OUT / "hybrid_advantage.png", dpi=100)

# %% [markdown]
# ## 4. Where the frame works: the hybrid under the axial load
# `state_mesh` gives any solved state as a PyVista mesh (displacement, section forces,
# von Mises stress, part tags); here the loaded hybrid, deformed 20x, coloured by stress.

# %%
import pyvista as pv

grid = runs["hybrid (half pins)", "bench interfaces"].state_mesh("axial")
plotter = pv.Plotter(off_screen="ipykernel" not in sys.modules, window_size=(900, 700))
plotter.add_mesh(grid.warp_by_vector("displacement_mm", factor=20.0), scalars="von_mises_MPa", cmap="viridis",
                 line_width=5, render_lines_as_tubes=True, scalar_bar_args={"title": "von Mises [MPa]"})
plotter.view_isometric()
plotter.screenshot(OUT / "hybrid_axial.png")
plotter.close()

# %% [markdown]
# ## 5. The numbers this example checks
# The hybrid's torsional and axial advantage in each model (ratio to the standard frame).

# %%
for model, ratios in advantage.items():
    print(f"{model:17s} hybrid/standard: " + ", ".join(f"{m} {v:.2f}" for m, v in ratios.items()))
