"""The cost of the interface laws and plasticity (issue 15), measured in one run.

Solves a scenario (default: the standard frame) as the rigid idealisation and with every
interface compliant (rod-ring joints, wire clamps, wire-bone bearing, pin-bone foundation,
pin clamps) and plastic wires and pins, alternately in fresh processes, and prints the
median solve times and their ratio: the machine is shared, so only the ratio of times
measured in one run means anything. Target: at most 2x.

    python benchmarks/bench_interfaces.py [SCENARIO] [--repeat N] [--rounds R]
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, statistics, sys, tomllib
import sim.fenicsx  # noqa: F401
from sim.run import solve_frame
from sim.scenario import parse_scenario
data = tomllib.loads(open(sys.argv[1]).read())
if sys.argv[3] == "compliant":
    data["interfaces"] = {k: {"rigid": False} for k in ("rod_ring", "wire_clamp", "wire_bone", "pin_bone", "pin_clamp")}
    data["plasticity"] = {"wires": True, "half_pins": True}
s = parse_scenario(data)
solve_frame(s)
t = []
for _ in range(int(sys.argv[2])):
    r = solve_frame(s).results
    t.append(r["timings_s"]["solve"])
cases = {k: round(v.get("secant_stiffness_N_per_mm") or v.get("stiffness_Nm_per_deg"), 3)
         for k, v in r["load_cases"].items()}
print(json.dumps({"solve": statistics.median(t), "dofs": r["mesh"]["dofs"], "stiffness": cases,
                  "newton": sum(v["newton_iterations"] for v in r["load_cases"].values())}))
"""


def measure(scenario: str, repeat: int, variant: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, scenario, str(repeat), variant], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "standard-4ring.toml"))
    ap.add_argument("--repeat", type=int, default=3, help="timed solves per process (median taken)")
    ap.add_argument("--rounds", type=int, default=3, help="processes per variant, alternating (median taken)")
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {"rigid": [], "compliant": []}
    for k in range(args.rounds):
        for variant in runs:
            runs[variant].append(measure(str(Path(args.scenario).resolve()), args.repeat, variant))
            print(f"round {k + 1}/{args.rounds} {variant}: solve {runs[variant][-1]['solve']:.3f} s", flush=True)
    med = {v: statistics.median(r["solve"] for r in runs[v]) for v in runs}
    for v in runs:
        last = runs[v][-1]
        print(f"{v:9s}: solve {med[v]:.3f} s (median), {last['dofs']} dofs, {last['newton']} Newton iterations, "
              f"stiffnesses {last['stiffness']}")
    ratio = med["compliant"] / med["rigid"]
    print(f"all interfaces and plasticity / rigid idealisation: {ratio:.2f}x (target <= 2x)")
    return 0 if ratio <= 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
