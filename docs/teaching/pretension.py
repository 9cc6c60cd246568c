"""Teaching demo: what wire pretension does to an Ilizarov frame (docs/teaching/pretension.md).

Runs scenarios/teaching/pretension-{0,50,90,130}kgf.toml, compares them side by side on
one colour scale, and plots their load-displacement curves with the single wire's exact
stiffness against tension (physics.md). Writes into OUT (default out/teaching) only; with
--update-docs it also copies the two pictures next to this file (docs/teaching/, tracked
in git: `make teaching-docs`).

    python docs/teaching/pretension.py [OUT] [--update-docs]
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TENSIONS_KGF = (0, 50, 90, 130)


def ilizarov(*args):
    r = subprocess.run([sys.executable, "-m", "sim.cli", *args], cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr)
    return r.stdout


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.verification import tensioned_wire_stiffness_N_per_mm

    args = [a for a in sys.argv[1:] if a != "--update-docs"]
    update_docs = "--update-docs" in sys.argv[1:]
    out = Path(args[0]) if args else ROOT / "out" / "teaching"
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for kgf in TENSIONS_KGF:
        run = out / f"pretension-{kgf}kgf"
        ilizarov("run", str(ROOT / "scenarios" / "teaching" / f"pretension-{kgf}kgf.toml"), "--out", str(run),
                 "--quiet")
        runs.append(run)
        print(f"ran {run.name}")
    print(ilizarov("compare", *map(str, runs), "--out", str(out / "compare")))

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    rows = []
    for kgf, run in zip(TENSIONS_KGF, runs):
        res = json.loads((run / "results.json").read_text())
        a = res["load_cases"]["axial"]
        ax.plot(a["displacement_mm"], a["load_N"], "o-", ms=3, lw=2, label=f"{kgf} kgf")
        rows.append((kgf, a["initial_stiffness_N_per_mm"], a["secant_stiffness_N_per_mm"],
                     a["tangent_stiffness_N_per_mm"], a["ifm_axial_mm"],
                     res["load_cases"]["bending_ap"]["stiffness_Nm_per_deg"],
                     res["load_cases"]["torsion"]["stiffness_Nm_per_deg"]))
    ax.set_xlabel("axial shortening [mm]")
    ax.set_ylabel("axial load [N]")
    ax.set_title("The same frame, four wire tensions (20 mm gap: the frame alone)")
    ax.grid(True, alpha=0.3)
    ax.legend(title="pretension")
    tension = [9.80665 * k for k in range(0, 141, 5)]
    ax2.plot([t / 9.80665 for t in tension], [tensioned_wire_stiffness_N_per_mm(t, 150.0, 1.8) for t in tension],
             lw=2, color="k")
    ax2.set_xlabel("wire tension [kgf]")
    ax2.set_ylabel("stiffness under a central load [N/mm]")
    ax2.set_title("One 1.8 mm wire over 150 mm: exact tensioned-beam stiffness")
    ax2.grid(True, alpha=0.3)
    fig.savefig(out / "pretension_curves.png", dpi=100)
    plt.close(fig)

    table = ["| pretension | axial initial N/mm | secant N/mm | tangent N/mm | IFM at 400 N mm | bending N*m/deg "
             "| torsion N*m/deg |", "|---|---|---|---|---|---|---|"]
    table += [f"| {k} kgf | {a:.1f} | {b:.1f} | {c:.1f} | {d:.2f} | {e:.2f} | {f:.2f} |" for k, a, b, c, d, e, f in rows]
    (out / "table.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    if update_docs:
        for name, src in (("pretension_curves.png", out / "pretension_curves.png"),
                          ("pretension_compare.png", out / "compare" / "comparison.png")):
            shutil.copy(src, HERE / name)
        print(f"copied the pictures into {HERE}")
    print(f"runs, comparison, pictures and table in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
