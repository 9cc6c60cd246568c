"""The frame model against another structural code: OpenSees, node for node.

An independent cross-check of the frame model (sim/frame_model.py, sim/elements/) with
OpenSees (OpenSeesPy) on the same line network, the same sections, materials, initial
strains, supports and loads, under the `bone_bench` set-up (distal bone end held, loads
at the proximal end). For each scenario it prints the frame model's and OpenSees's
initial tangent stiffness (at the pretensioned state) and secant stiffness at full load
of every load case, and the wire tensions after pretension and at full load, with the
differences (docs/frame-model.md, "Cross-check with OpenSees", has the table).

    .venv/bin/python benchmarks/crosscheck_opensees.py [SCENARIO ...]
        [--opensees-python PATH] [--gap-width MM] [--steps N] [--size MM] [--wire-size MM]
        [--link-factor F] [--released-link-factor F] [--released-links corotational|zerolength]
        [--rigid-links beam|constraint] [--markdown] [--keep DIR]

SCENARIO: a TOML file, `standard` (the `parse_scenario` defaults) or `standard-olive`
(the same with olive wires); default: standard, scenarios/hybrid-halfpins.toml and
standard-olive. Every scenario gets a 14 mm gap (--gap-width; the widest that keeps the shipped half pins the
required 10 mm from it, and wide enough never to close,
so the frame model's gap contact stays open and OpenSees has none) and the bench loads
400 N axial, 10 N·m bending AP and ML, 5 N·m torsion, in 4 steps (--steps). About a
minute per scenario.

Installing OpenSeesPy (not a dependency of the project): it comes from PyPI as
`openseespy` (wheels for CPython 3.8-3.13 on Linux x86-64; 3.8.0 was used here). Put it
in a virtual environment of its own, so that its bundled libraries never meet PETSc's in
one process:

    python3 -m venv .venv-opensees && .venv-opensees/bin/pip install openseespy
    .venv/bin/python benchmarks/crosscheck_opensees.py --opensees-python .venv-opensees/bin/python

(OPENSEES_PYTHON=PATH does the same as the option; any Python 3.8+ with openseespy will
do, e.g. from pyenv's 3.12: `$(pyenv root)/versions/3.12.*/bin/python -m venv ...`.)
Without the option the script tries OPENSEES_PYTHON, the project's .venv-opensees, then
its own interpreter; if none imports openseespy it exits with status 2 and says how to
install it. The frame model runs in this process; the OpenSees part runs in that
interpreter (this same file with `--worker IN.json OUT.json`: standard library and
openseespy only), and the two exchange the network and the results as JSON files.

The exported network is checked against the frame model's own mesh and fields before
OpenSees sees it: every node, every cell and its part, section stiffnesses (EA, GA1,
GA2, GJ, EI1, EI2), the wires' initial strains and the section axes. The OpenSees model
(every element with the Corotational geometric transformation):
- beams (bone, rings, rods, half pins, posts): `forceBeamColumn` with an elastic section
  with Timoshenko shear areas (`section Elastic ... alphaY alphaZ`), 3 Lobatto points
  (exact for a prismatic elastic member); the section axis n1 (a ring's axis) is the
  local z axis, so Iz = I1, Iy = I2. (`elasticBeamColumn` has no shear deformation, and
  `ElasticTimoshenkoBeam` ignores the Corotational transformation.)
- wires: the same element with a fibre section: 8 fibres on the circle of radius
  sqrt(2 I / A) (exact A and I) of `InitStrainMaterial` (E, -eps0), eps0 being the frame
  model's own pretension result (`initial_strain` of each wire, simultaneous
  tensioning), aggregated with elastic shear (G As) and GJ. All wires are tensioned at
  once and OpenSees's achieved tensions are compared with the frame model's.
- rigid links (clamps, pin-bone, olive wires): stiff corotational `elasticBeamColumn`s,
  --link-factor (1000) times the stiffest part's EA and EI. `--rigid-links constraint`
  uses OpenSees's `rigidLink beam` instead: a constraint linear in the rotations, which
  stiffens a frame spuriously wherever a part is held at two points (a diagnostic).
- a smooth wire's bone link (sliding along and spinning about the wire free): a
  corotational `elasticBeamColumn` with no axial and no torsional stiffness, as the link
  lies along the wire (offset 0), so the released directions turn with the bone as in
  the frame model; its stiffness across the wire is --released-link-factor (10) times the
  stiffest part's EI (100 changes nothing by 0.005 % but makes OpenSees's Newton cut its
  steps). With `--released-links zerolength` (and for a link off the wire axis) it is a
  rigid arm and a `zeroLength` element with stiff springs across the wire and none along
  and about it: small-rotation, its axes stay fixed in space.
- the gap: nothing.
- loads: nodal force and moments at the proximal bone end in the same steps, Newton;
  OpenSees's moments keep their axis. The frame model's moment does work on its Cayley
  rotation parameters (a quasi-follower moment, larger by phi^2/4 about a fixed axis:
  0.17 % at 4.8 deg), so each moment case is also solved at full load under the
  equivalent spatial moment (rows "same, under the frame model's moment").
- responses from the pretensioned state; the load node's rotation from two stiff
  unloaded arms at the load node (an exact rotation matrix, not OpenSees's summed
  rotation increments); initial stiffness by central differences at +-1e-3 of the load.

Exit status: 0 done, 2 bad input or OpenSeesPy missing, 3 a solver that diverged (or an
exported network that is not the frame model's).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCENARIOS = ("standard", str(ROOT / "scenarios" / "hybrid-halfpins.toml"), "standard-olive")
LOAD_CASES = ("axial", "bending_ap", "bending_ml", "torsion")
BENCH_LOADS = {"axial": 400.0, "bending_ap": 10.0, "bending_ml": 10.0, "torsion": 5.0}  # N, N*m
CENTRAL_DIFFERENCE = 1e-3  # of the full load, for the initial tangent stiffness
PROBE_ARM_MM = 50.0
NODE_TOLERANCE_MM = 1e-5  # gmsh places arc nodes to about 1e-7 mm of the exact circle
INSTALL_HINT = ("install OpenSeesPy in a virtual environment of its own:\n"
                "    python3 -m venv .venv-opensees && .venv-opensees/bin/pip install openseespy\n"
                "and run this script with --opensees-python .venv-opensees/bin/python (or set OPENSEES_PYTHON)")


# ===================================================================== OpenSees side
# Standard library and openseespy only: this part runs in the OpenSees interpreter.

def _sub(a, b):
    return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _unit(a):
    n = math.sqrt(_dot(a, a))
    return [c / n for c in a]


def _perpendicular(a):
    """A unit vector across the unit vector a."""
    ref = [0.0, 0.0, 1.0] if abs(a[2]) < 0.9 else [1.0, 0.0, 0.0]
    return _unit(_sub(ref, [_dot(ref, a) * c for c in a]))


def _rotation_vector(R):
    """Rotation vector (rad) of a 3x3 rotation matrix (rows), via its quaternion."""
    tr = R[0][0] + R[1][1] + R[2][2]
    w = 0.5 * math.sqrt(max(1.0 + tr, 0.0))
    v = [(R[2][1] - R[1][2]) / (4 * w), (R[0][2] - R[2][0]) / (4 * w), (R[1][0] - R[0][1]) / (4 * w)]
    s = math.sqrt(_dot(v, v))
    if s < 1e-300:
        return [0.0, 0.0, 0.0]
    angle = 2.0 * math.atan2(s, w)
    return [angle * c / s for c in v]


class OpenSeesFrame:
    """The exported line network as an OpenSees model (one load case per instance)."""

    def __init__(self, net: dict, options: dict):
        import openseespy.opensees as ops

        self.ops, self.net, self.opt = ops, net, options
        ops.wipe()
        ops.model("basic", "-ndm", 3, "-ndf", 6)
        nodes = net["nodes"]
        for k, xyz in enumerate(nodes):
            ops.node(k + 1, *xyz)
        self.next_node = len(nodes) + 1
        self.next_tag = 1
        ops.fix(net["support_node"] + 1, 1, 1, 1, 1, 1, 1)
        self.rigid = net["rigid"]
        self.wire_elements: dict[str, list[tuple[int, float]]] = {}
        for e in net["elements"]:
            self._element(e)
        # probe arms: stiff and unloaded, their ends give the load node's rotation exactly
        self.load_node = net["load_node"] + 1
        x0 = nodes[net["load_node"]]
        self.arms = []
        for axis in ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]):
            end = self._new_node([x0[i] + PROBE_ARM_MM * axis[i] for i in range(3)])
            self._rigid_beam(self.load_node, end, _perpendicular(axis))
            self.arms.append(end)
        ops.constraints("Transformation" if options.get("rigid_links") == "constraint" else "Plain")
        ops.numberer("RCM")
        ops.system("UmfPack")
        ops.test("NormDispIncr", options.get("tolerance", 1e-10), 60)
        ops.algorithm("Newton")
        self.iterations = 0

    # ---------------------------------------------------------------- building
    def _tag(self) -> int:
        self.next_tag += 1
        return self.next_tag

    def _new_node(self, xyz) -> int:
        tag = self.next_node
        self.ops.node(tag, *xyz)
        self.next_node += 1
        return tag

    def _transf(self, vecxz) -> int:
        tag = self._tag()
        self.ops.geomTransf("Corotational", tag, *vecxz)
        return tag

    def _rigid_beam(self, i: int, j: int, vecxz, axial: bool = True, torsion: bool = True, stiffness=None) -> int:
        """A stiff corotational elastic beam (E = G = 1: section values are stiffnesses)."""
        stiffness = self.rigid if stiffness is None else stiffness
        ea, ei = stiffness["EA_N"], stiffness["EI_Nmm2"]
        tag = self._tag()
        self.ops.element("elasticBeamColumn", tag, i, j, ea if axial else 0.0, 1.0, 1.0, ei if torsion else 0.0,
                         ei, ei, self._transf(vecxz))
        return tag

    def _element(self, e: dict) -> None:
        ops = self.ops
        i, j = e["nodes"][0] + 1, e["nodes"][1] + 1
        kind = e["kind"]
        if kind == "rigid_link":
            if self.opt.get("rigid_links", "beam") == "constraint":
                ops.rigidLink("beam", i, j)  # a linear multi-point constraint (small rotations)
            else:
                self._rigid_beam(i, j, e["n1"])
        elif kind == "released_link":
            axis = e["release_axis"]
            t = _unit(_sub(self.net["nodes"][e["nodes"][1]], self.net["nodes"][e["nodes"][0]]))
            along = abs(abs(_dot(t, axis)) - 1.0) < 1e-9
            if along and self.opt.get("released_links", "corotational") == "corotational":
                # the link lies along the released axis: no axial (slide) and no torsional (spin) stiffness
                self._rigid_beam(i, j, e["n1"], axial=False, torsion=False, stiffness=self.net["released"])
            else:
                # a rigid arm to a node at the cortex, then springs across the axis only
                arm_end = self._new_node(self.net["nodes"][e["nodes"][1]])
                self._rigid_beam(i, arm_end, e["n1"])
                k_t, k_r = self.rigid["EA_N"], self.rigid["EI_Nmm2"]  # per mm of a 1 mm link
                mt, mr = self._tag(), self._tag()
                ops.uniaxialMaterial("Elastic", mt, k_t)
                ops.uniaxialMaterial("Elastic", mr, k_r)
                y = _perpendicular(axis)
                ops.element("zeroLength", self._tag(), arm_end, j, "-mat", mt, mt, mr, mr, "-dir", 2, 3, 5, 6,
                            "-orient", *axis, *y)
        elif kind in ("beam", "wire"):
            p = e["section"]
            E, G, A = p["E_MPa"], p["G_MPa"], p["A_mm2"]
            sec = self._tag()
            if kind == "beam":
                ops.section("Elastic", sec, E, A, p["I1_mm4"], p["I2_mm4"], G, p["J_mm4"],
                            p["As2_mm2"] / A, p["As1_mm2"] / A)
            else:
                # fibres of E with an initial strain -eps0 (tension): exact A and I with 8 fibres
                base, pre = self._tag(), self._tag()
                ops.uniaxialMaterial("Elastic", base, E)
                ops.uniaxialMaterial("InitStrainMaterial", pre, base, -e["eps0"])
                fib = self._tag()
                ops.section("Fiber", fib, "-GJ", G * p["J_mm4"])
                radius = math.sqrt(2.0 * p["I1_mm4"] / A)
                for k in range(8):
                    phi = 2.0 * math.pi * k / 8
                    ops.fiber(radius * math.cos(phi), radius * math.sin(phi), A / 8.0, pre)
                vy, vz = self._tag(), self._tag()
                ops.uniaxialMaterial("Elastic", vy, G * p["As2_mm2"])
                ops.uniaxialMaterial("Elastic", vz, G * p["As1_mm2"])
                ops.section("Aggregator", sec, vy, "Vy", vz, "Vz", "-section", fib)
            integ = self._tag()
            ops.beamIntegration("Lobatto", integ, sec, 3)
            tag = self._tag()
            ops.element("forceBeamColumn", tag, i, j, self._transf(e["n1"]), integ)
            if kind == "wire" and e.get("span", True):
                self.wire_elements.setdefault(e["wire"], []).append((tag, e["length_mm"]))
        else:
            raise ValueError(f"unknown element kind {kind!r}")

    # ---------------------------------------------------------------- solving
    def _analyze(self, dlam: float, steps: int, context: str, equilibrate: bool = False) -> None:
        """Advance the load factor by steps * dlam, halving a step that fails (up to 8 times);
        with `equilibrate`, one Newton solve at the present load factor."""
        ops = self.ops
        if equilibrate:
            ops.integrator("LoadControl", 0.0)
            ops.analysis("Static")
            if ops.analyze(1) != 0:
                raise RuntimeError(f"OpenSees: Newton did not converge ({context})")
            self.iterations += ops.testIter()
            return
        for _ in range(steps):
            remaining, size, cuts = dlam, dlam, 0
            while abs(remaining) > 1e-14 * max(abs(dlam), 1e-300):
                size = remaining if abs(size) > abs(remaining) else size
                ops.integrator("LoadControl", size)
                ops.analysis("Static")
                if ops.analyze(1) == 0:
                    self.iterations += ops.testIter()
                    remaining -= size
                    continue
                cuts += 1
                if cuts > 8:
                    raise RuntimeError(f"OpenSees: Newton did not converge ({context})")
                size *= 0.5

    def pretension(self) -> None:
        """Equilibrium with the wires' initial strains and no load; the reference state."""
        self._analyze(0.0, 1, "pretension", equilibrate=True)
        self.ops.loadConst("-time", 0.0)
        self.reference = self.state()

    def state(self) -> dict:
        ops = self.ops
        u = ops.nodeDisp(self.load_node)
        x0 = [a + b for a, b in zip(ops.nodeCoord(self.load_node), u[:3])]
        ends = [[a + b for a, b in zip(ops.nodeCoord(n), ops.nodeDisp(n)[:3])] for n in self.arms]
        e1 = _unit(_sub(ends[0], x0))
        e2 = _sub(ends[1], x0)
        e2 = _unit(_sub(e2, [_dot(e2, e1) * c for c in e1]))
        e3 = _cross(e1, e2)
        R = [[e1[r], e2[r], e3[r]] for r in range(3)]  # columns: the turned x, y, z axes
        return {"u": u[:3], "R": R, "summed_rotations": u[3:]}

    def motion(self, state: dict) -> list[float]:
        """[u (mm), rotation vector (rad)] of the load point from the pretensioned state."""
        ref = self.reference
        R, R0 = state["R"], ref["R"]
        rel = [[sum(R[a][k] * R0[b][k] for k in range(3)) for b in range(3)] for a in range(3)]  # R R0^T
        return [state["u"][k] - ref["u"][k] for k in range(3)] + _rotation_vector(rel)

    def wire_tensions_N(self) -> dict[str, float]:
        """Length-weighted mean axial force of each wire over its spans between the clamps and
        the bone, as in the frame model (N, tension positive)."""
        out = {}
        for name, elements in self.wire_elements.items():
            total = sum(self.ops.eleResponse(tag, "basicForce")[0] * length for tag, length in elements)
            out[name] = total / sum(length for _, length in elements)
        return out

    def load_case(self, case: dict) -> dict:
        ops = self.ops
        ts, pat = self._tag(), self._tag()
        ops.timeSeries("Linear", ts)
        ops.pattern("Plain", pat, ts)
        ops.load(self.load_node, *case["vector"])
        c, sign = case["component"], case["sign"]

        def response() -> float:
            return sign * self.motion(self.state())[c]

        h = CENTRAL_DIFFERENCE
        self._analyze(h, 1, f"{case['name']}, +{h:g} of the load")
        plus = response()
        self._analyze(-2 * h, 1, f"{case['name']}, -{h:g} of the load")
        minus = response()
        self._analyze(h, 1, f"{case['name']}, back to the pretensioned state")
        steps = []
        for k in range(case["steps"]):
            self._analyze(1.0 / case["steps"], 1, f"{case['name']}, step {k + 1}/{case['steps']}")
            steps.append({"load_factor": (k + 1) / case["steps"], "response": response()})
        final = self.state()
        out = {"initial_compliance": (plus - minus) / (2 * h * case["magnitude_internal"]),
               "response": steps[-1]["response"], "steps": steps,
               "summed_rotations_rad": [a - b for a, b in zip(final["summed_rotations"],
                                                              self.reference["summed_rotations"])],
               "wire_tension_N": self.wire_tensions_N()}
        if c >= 3:
            out["response_cayley_moment"] = self._cayley_moment(case["vector"], case["name"], response)
        return out

    def _cayley_moment(self, vector, name: str, response) -> float:
        """The response at full load under the frame model's moment instead of a fixed one.

        The frame model's moment M does work on the load node's Cayley parameters theta;
        the spatial moment with the same virtual work is m = M + a x M + a (a.M), a = theta/2
        (for theta along M, M (1 + |theta|^2 / 4)). It is found by fixed-point iteration on
        an extra constant load pattern m - M at full load."""
        ops = self.ops
        M = list(vector[3:])
        extra = None
        for _ in range(20):
            R = self.state()["R"]
            tr = R[0][0] + R[1][1] + R[2][2]
            a = [(R[2][1] - R[1][2]) / (1 + tr), (R[0][2] - R[2][0]) / (1 + tr), (R[1][0] - R[0][1]) / (1 + tr)]
            axm, am = _cross(a, M), _dot(a, M)
            delta = [axm[k] + am * a[k] for k in range(3)]
            if extra is not None:
                ops.remove("loadPattern", extra[0])
                if max(abs(d - e) for d, e in zip(delta, extra[1])) <= 1e-10 * math.sqrt(_dot(M, M)):
                    extra = None
                    break
            ts, tag = self._tag(), self._tag()
            ops.timeSeries("Constant", ts)
            ops.pattern("Plain", tag, ts)
            ops.load(self.load_node, 0.0, 0.0, 0.0, *delta)
            extra = (tag, delta)
            self._analyze(0.0, 1, f"{name}, the frame model's moment", equilibrate=True)
        else:
            raise RuntimeError(f"OpenSees: the frame model's moment did not settle ({name})")
        return response()


def worker(path_in: str, path_out: str) -> int:
    """The OpenSees part: read the exported network, solve every case, write the results."""
    try:
        import openseespy.opensees as ops
    except ImportError as exc:
        print(f"error: openseespy cannot be imported by {sys.executable} ({exc}); {INSTALL_HINT}", file=sys.stderr)
        return 2
    job = json.loads(Path(path_in).read_text())
    net, options = job["network"], job["options"]
    out = {"cases": {}, "opensees_version": ops.version() if hasattr(ops, "version") else None}
    t0 = time.perf_counter()
    try:
        for case in job["cases"]:
            frame = OpenSeesFrame(net, options)
            frame.pretension()
            if "pretension_N" not in out:
                out["pretension_N"] = frame.wire_tensions_N()
            result = frame.load_case(case)
            result["newton_iterations"] = frame.iterations
            out["cases"][case["name"]] = result
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    out["solve_time_s"] = time.perf_counter() - t0
    Path(path_out).write_text(json.dumps(out))
    return 0


# ===================================================================== project side

def bench_loads(steps: int) -> dict:
    return {"setup": "bone_bench", "cases": list(LOAD_CASES),
            "axial": {"force_N": BENCH_LOADS["axial"], "steps": steps},
            **{name: {"moment_Nm": BENCH_LOADS[name], "steps": steps} for name in LOAD_CASES[1:]}}


def make_scenario(spec: str, gap_width_mm: float, steps: int, size_mm: float | None = None,
                  wire_size_mm: float | None = None):
    """The scenario `spec` ("standard", "standard-olive" or a TOML path) with the bench
    loads, the given gap width and (if given) element sizes. ScenarioError on bad input."""
    import dataclasses
    import tomllib

    from sim.scenario import ScenarioError, parse_scenario, validate

    if spec in ("standard", "standard-olive"):
        data, name = {}, "standard"
    else:
        path = Path(spec)
        if not path.is_file():
            raise ScenarioError("", f"{spec}: no such scenario file; accepted: a TOML file, 'standard' or "
                                "'standard-olive'")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ScenarioError("", f"{path}: not a valid TOML file: {exc}") from None
        name = data.get("name", path.stem)
    data["gap"] = {**data.get("gap", {}), "width_mm": gap_width_mm}
    data["loads"] = bench_loads(steps)
    mesh = data.setdefault("mesh", {})
    for key, value in (("element_size_mm", size_mm), ("wire_element_size_mm", wire_size_mm)):
        if value is not None:
            mesh[key] = value
    data["name"] = f"{name} (gap {gap_width_mm:g} mm)"
    s = parse_scenario(data)
    if spec == "standard-olive":
        s = dataclasses.replace(s, name=f"standard, olive wires (gap {gap_width_mm:g} mm)",
                                wires=tuple(dataclasses.replace(w, olive=True) for w in s.wires))
        validate(s)
    if s.hexapod is not None or s.gap.regenerate is not None or s.defect is not None:
        raise ScenarioError("", f"{spec}: this cross-check takes frames without a hexapod, regenerate or defect "
                            "(an empty gap that stays open)")
    return s


def part_section(s, part):
    """(Section, Material) of a beam part, from the scenario with sim.sections and
    sim.materials (an independent reading of what the frame model should use)."""
    from meshes.tags import PartKind
    from sim.materials import material
    from sim.sections import circle, rectangle, tube

    k = part.kind
    if k == PartKind.BONE:
        return tube(s.bone.outer_diameter_mm, s.bone.inner_diameter_mm), material(s.bone.material)
    if k == PartKind.RING:
        r = s.ring(part.source)
        return rectangle(r.width_mm, r.thickness_mm), material(r.material, "ring")
    if k == PartKind.WIRE:
        w = next(w for w in s.wires if w.name == part.source)
        return circle(w.diameter_mm), material(w.material, "wire")
    if k == PartKind.ROD:
        r = next(r for r in s.rods if r.name == part.source)
        return circle(r.diameter_mm), material(r.material, "rod")
    if k in (PartKind.HALF_PIN, PartKind.POST):
        pin = next(p for p in s.half_pins if p.name == part.source)
        if k == PartKind.HALF_PIN:
            return circle(pin.diameter_mm), material(pin.material, "half_pin")
        return circle(pin.post_diameter_mm), material(pin.material, "post")
    raise ValueError(f"part {part.name}: kind {k.name} is not a beam this cross-check knows")


def discretise(plan) -> tuple[list, list]:
    """Nodes and two-node cells of a network plan, as gmsh meshes it: each line in n equal
    cells, each circle arc in n cells of equal angle (straight chords). Returns
    (nodes [xyz], cells [(i, j, part tag)])."""
    import numpy as np

    index: dict[int, int] = {}
    nodes: list = []

    def plan_node(p: int) -> int:
        if p not in index:
            index[p] = len(nodes)
            nodes.append(tuple(plan.points[p]))
        return index[p]

    def new_node(xyz) -> int:
        nodes.append(tuple(float(c) for c in xyz))
        return len(nodes) - 1

    cells = []
    for p0, p1, tag, n in plan.lines:
        a, b = np.asarray(plan.points[p0]), np.asarray(plan.points[p1])
        chain = [plan_node(p0)] + [new_node(a + (b - a) * k / n) for k in range(1, n)] + [plan_node(p1)]
        cells += [(i, j, tag) for i, j in zip(chain, chain[1:])]
    for p0, pc, p1, tag, n in plan.arcs:
        a, c, b = (np.asarray(plan.points[p]) for p in (p0, pc, p1))
        r = np.linalg.norm(a - c)
        u = (a - c) / r
        w = (b - c) / np.linalg.norm(b - c)
        angle = math.acos(max(-1.0, min(1.0, float(u @ w))))
        v = w - (u @ w) * u
        v /= np.linalg.norm(v)
        chain = [plan_node(p0)] + [new_node(c + r * (math.cos(angle * k / n) * u + math.sin(angle * k / n) * v))
                                   for k in range(1, n)] + [plan_node(p1)]
        cells += [(i, j, tag) for i, j in zip(chain, chain[1:])]
    return nodes, cells


def section_axis(t, normal):
    """n1 of a cell with unit tangent t: the part's own normal (a ring's axis), else z, or
    x for a cell along z (the frame model's rule)."""
    import numpy as np

    ref = np.asarray(normal if normal is not None else ((0.0, 0.0, 1.0) if abs(t[2]) < 0.9 else (1.0, 0.0, 0.0)))
    n1 = ref - (ref @ t) * t
    return n1 / np.linalg.norm(n1)


def export_network(s, eps0: dict[str, float], link_factor: float, released_factor: float) -> dict:
    """The scenario's line network, node for node, with every cell's kind and properties."""
    import numpy as np

    from meshes.frame_network import plan_network
    from meshes.tags import Marker, PartKind
    from sim.sections import beam_properties

    plan = plan_network(s)
    nodes, cells = discretise(plan)
    parts = {p.tag: p for p in plan.parts}
    props = {}
    for tag, part in parts.items():
        if not part.is_link and part.kind != PartKind.GAP_CONTACT:
            sec, mat = part_section(s, part)
            props[tag] = (sec, mat, beam_properties(sec, mat))
    max_EA = max(b.EA_N for _, _, b in props.values())
    max_EI = max(max(b.EI1_Nmm2, b.EI2_Nmm2) for _, _, b in props.values())
    rigid = {"EA_N": link_factor * max_EA, "EI_Nmm2": link_factor * max_EI}
    released = {"EA_N": released_factor * max_EA, "EI_Nmm2": released_factor * max_EI}
    elements = []
    X = np.asarray(nodes)
    for i, j, tag in cells:
        part = parts[tag]
        if part.kind == PartKind.GAP_CONTACT:
            continue  # an open gap: nothing passes
        d = X[j] - X[i]
        length = float(np.linalg.norm(d))
        n1 = section_axis(d / length, plan.section_normals.get(tag))
        e = {"nodes": [i, j], "part": part.name, "tag": tag, "n1": n1.tolist(), "length_mm": length}
        if part.is_link:
            if part.release_axis_xyz is None:
                e["kind"] = "rigid_link"
            else:
                e["kind"] = "released_link"
                e["release_axis"] = list(part.release_axis_xyz)
        else:
            sec, mat, _ = props[tag]
            e["kind"] = "wire" if part.kind == PartKind.WIRE else "beam"
            e["section"] = {"E_MPa": mat.youngs_modulus_MPa, "G_MPa": mat.shear_modulus_MPa, "A_mm2": sec.area_mm2,
                            "As1_mm2": sec.shear_area_1_mm2, "As2_mm2": sec.shear_area_2_mm2,
                            "J_mm4": sec.torsion_constant_mm4, "I1_mm4": sec.inertia_1_mm4,
                            "I2_mm4": sec.inertia_2_mm4, "material": mat.name, "kind": sec.kind}
            if part.kind == PartKind.WIRE:
                e["wire"] = part.source
                e["eps0"] = float(eps0[part.source])
                # spans between the clamps and the bone (the frame model's wire tension is their mean)
                chain = plan.wire_points.get(part.source, ())
                if len(chain) == 4:
                    c0, c1 = (np.asarray(plan.points[k]) for k in chain[1:3])
                    t = float((0.5 * (X[i] + X[j]) - c0) @ (c1 - c0) / ((c1 - c0) @ (c1 - c0)))
                    e["span"] = not 0.0 < t < 1.0
                else:
                    e["span"] = True
        elements.append(e)
    used = {i for e in elements for i in e["nodes"]}
    support, load = plan.markers[Marker.BONE_DISTAL_END], plan.markers[Marker.BONE_PROXIMAL_END]
    support_node = next(k for k, xyz in enumerate(nodes) if xyz == tuple(plan.points[support]))
    load_node = next(k for k, xyz in enumerate(nodes) if xyz == tuple(plan.points[load]))
    # renumber: only the nodes that carry an element
    keep = sorted(used | {support_node, load_node})
    new = {old: k for k, old in enumerate(keep)}
    for e in elements:
        e["nodes"] = [new[i] for i in e["nodes"]]
    return {"nodes": [list(nodes[k]) for k in keep], "elements": elements, "rigid": rigid, "released": released,
            "support_node": new[support_node], "load_node": new[load_node],
            "parts": {p.name: p.kind.name for p in parts.values()}}


def check_against_model(net: dict, model) -> list[str]:
    """Compare the exported network with the frame model's own mesh and cell fields:
    the same nodes, the same cells with the same parts, section stiffnesses, initial
    strains and section axes. Returns what differs (empty: node for node the same)."""
    import numpy as np

    from sim.elements import beam

    problems = []
    mesh = model.mesh
    x = mesh.geometry.x
    n_cells = model.num_owned_cells
    conn = mesh.geometry.dofmaps[0][:n_cells]
    # a node is its position and the parts that meet there (a wire passes through the bone
    # axis node at its level without being joined to it: two nodes at one point)
    mesh_parts = [set() for _ in range(len(x))]
    for c, (a, b) in enumerate(conn):
        mesh_parts[a].add(int(model.cell_part_tag[c]))
        mesh_parts[b].add(int(model.cell_part_tag[c]))
    our_parts = [set() for _ in net["nodes"]]
    for e in net["elements"]:
        for i in e["nodes"]:
            our_parts[i].add(e["tag"])
    gap_tags = {t for t, p in model.parts.items() if p.kind.name == "GAP_CONTACT"}
    ours = {}
    for k, p in enumerate(net["nodes"]):
        near = np.flatnonzero(np.linalg.norm(x - np.asarray(p), axis=1) < NODE_TOLERANCE_MM)
        hits = [m for m in near if mesh_parts[m] - gap_tags == our_parts[k]]
        if len(hits) != 1:
            problems.append(f"node {k} at {p} (parts {sorted(our_parts[k])}) matches {len(hits)} nodes of the "
                            "frame model's mesh")
            continue
        ours[k] = int(hits[0])
    cell_of = {frozenset((int(a), int(b))): c for c, (a, b) in enumerate(conn)}
    bp = model.props.x.array.reshape(-1, beam.N_COLUMNS)
    n1 = model.n1.x.array.reshape(-1, 3)
    matched = set()
    for e in net["elements"]:
        c = cell_of.get(frozenset(ours.get(i, -1 - i) for i in e["nodes"]))
        if c is None:
            problems.append(f"element of {e['part']} between nodes {e['nodes']} is not a cell of the mesh")
            continue
        matched.add(c)
        if int(model.cell_part_tag[c]) != e["tag"]:
            problems.append(f"cell {c}: part tag {model.cell_part_tag[c]} in the frame model, {e['tag']} here")
        if e["kind"] in ("beam", "wire"):
            p = e["section"]
            E, G = p["E_MPa"], p["G_MPa"]
            mine = [E * p["A_mm2"], G * p["As1_mm2"], G * p["As2_mm2"], G * p["J_mm4"], E * p["I1_mm4"],
                    E * p["I2_mm4"], e.get("eps0", 0.0)]
            theirs = bp[c, [beam.EA, beam.GA1, beam.GA2, beam.GJ, beam.EI1, beam.EI2, beam.EPS0]]
            if not np.allclose(mine, theirs, rtol=1e-12, atol=1e-15):
                problems.append(f"{e['part']}: section {np.round(mine, 6).tolist()} here, "
                                f"{np.round(theirs, 6).tolist()} in the frame model")
            if abs(abs(float(np.dot(n1[c], e["n1"]))) - 1.0) > 1e-9:
                problems.append(f"{e['part']}: section axis n1 {e['n1']} here, {n1[c].tolist()} in the frame model")
    contact = sum(1 for c in range(n_cells) if model.parts[int(model.cell_part_tag[c])].kind.name == "GAP_CONTACT")
    if len(matched) + contact != n_cells:
        problems.append(f"{n_cells - contact} cells in the frame model (without the gap contact), "
                        f"{len(matched)} matched here")
    return list(dict.fromkeys(problems))  # one line per distinct problem


def frame_results(s) -> tuple[dict, object]:
    """The frame model's numbers on the scenario (sim.run.solve_frame) and its model."""
    from mpi4py import MPI

    from sim.run import solve_frame

    run = solve_frame(s, MPI.COMM_SELF)
    r = run.results
    out = {"pretension_N": {w["name"]: w["achieved_N"] for w in r["pretension"]["wires"]},
           "eps0": {w["name"]: w["initial_strain"] for w in r["pretension"]["wires"]}, "cases": {},
           "cells": r["mesh"]["cells"], "solve_time_s": r["timings_s"]["total"]}
    for name in LOAD_CASES:
        c = r["load_cases"][name]
        if c.get("contact_events"):
            raise RuntimeError(f"{s.name}: the gap closed in the frame model's {name} case; widen it (--gap-width)")
        if name == "axial":
            out["cases"][name] = {"initial": c["initial_stiffness_N_per_mm"], "secant": c["secant_stiffness_N_per_mm"],
                                  "response": c["displacement_mm"][-1], "wire_tension_N": c["wire_tension_N"]}
        else:
            out["cases"][name] = {"initial": c["initial_stiffness_Nm_per_deg"], "secant": c["stiffness_Nm_per_deg"],
                                  "response": c["rotation_deg"][-1], "wire_tension_N": c["wire_tension_N"]}
    return out, run.model


def opensees_jobs(s, net: dict) -> list[dict]:
    from sim.frame_model import load_case_vector

    jobs = []
    for name in LOAD_CASES:
        component, sign, magnitude, vector = load_case_vector(s, name)
        jobs.append({"name": name, "component": component, "sign": sign, "magnitude": magnitude,
                     "magnitude_internal": magnitude * (1.0 if name == "axial" else 1000.0),
                     "vector": [float(v) for v in vector], "steps": getattr(s.loads, name).steps})
    return jobs


def opensees_stiffness(name: str, compliance_or_response: float, magnitude: float, initial: bool) -> float:
    """N/mm, or N*m/deg, from a compliance (mm/N, rad/(N*mm)) or a response (mm, rad)."""
    if initial:
        k = 1.0 / compliance_or_response
        return k if name == "axial" else k / 1000.0 * math.pi / 180.0
    if name == "axial":
        return magnitude / compliance_or_response
    return magnitude / math.degrees(compliance_or_response)


def find_opensees_python(given: str | None) -> str:
    """The interpreter that runs the OpenSees part: `given`, else OPENSEES_PYTHON, the
    project's .venv-opensees, this interpreter. SystemExit(2) with instructions if none
    of them imports openseespy."""
    import shutil

    if given:
        candidates = [given]
    else:
        candidates = [c for c in (os.environ.get("OPENSEES_PYTHON"), str(ROOT / ".venv-opensees" / "bin" / "python"),
                                  sys.executable) if c and shutil.which(c)]
    tried = []
    for py in candidates:
        try:
            proc = subprocess.run([py, "-c", "import openseespy.opensees"], capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            tried.append(f"{py}: {exc}")
            continue
        if proc.returncode == 0:
            return py
        tried.append(f"{py}: no openseespy")
    print(f"error: OpenSeesPy is not available ({'; '.join(tried)}); {INSTALL_HINT}", file=sys.stderr)
    raise SystemExit(2)


def run_opensees(python: str, s, net: dict, options: dict, workdir: Path) -> dict:
    stem = "".join(c if c.isalnum() else "_" for c in s.name)
    path_in, path_out = workdir / f"{stem}.network.json", workdir / f"{stem}.opensees.json"
    path_in.write_text(json.dumps({"network": net, "cases": opensees_jobs(s, net), "options": options}))
    proc = subprocess.run([python, str(Path(__file__).resolve()), "--worker", str(path_in), str(path_out)],
                          capture_output=True, text=True)
    (workdir / f"{stem}.opensees.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        print(f"error: the OpenSees part failed on {s.name} (exit {proc.returncode}):\n{tail}", file=sys.stderr)
        raise SystemExit(proc.returncode if proc.returncode in (2, 3) else 3)
    return json.loads(path_out.read_text())


def compare(s, fm: dict, os_: dict) -> list[tuple[str, float, float]]:
    """Rows (label, frame model, OpenSees) of one scenario."""
    rows = []
    unit = {"axial": "N/mm"}
    for name in LOAD_CASES:
        f, o = fm["cases"][name], os_["cases"][name]
        u = unit.get(name, "N·m/deg")
        magnitude = BENCH_LOADS[name]
        rows.append((f"{name} initial, {u}", f["initial"],
                     opensees_stiffness(name, o["initial_compliance"], magnitude, True)))
        rows.append((f"{name} secant at {magnitude:g} {'N' if name == 'axial' else 'N·m'}, {u}", f["secant"],
                     opensees_stiffness(name, o["response"], magnitude, False)))
        if "response_cayley_moment" in o:
            rows.append(("  same, under the frame model's moment", f["secant"],
                         opensees_stiffness(name, o["response_cayley_moment"], magnitude, False)))
    return rows


def tension_rows(fm: dict, os_: dict) -> list[tuple]:
    """(state, largest difference N, its %, its wire, the frame model's lowest and highest
    tension N) of the wire tensions after pretension and at full load of each case."""
    out = []
    states = [("after pretension", fm["pretension_N"], os_["pretension_N"])]
    states += [(f"{name} at full load", fm["cases"][name]["wire_tension_N"], os_["cases"][name]["wire_tension_N"])
               for name in LOAD_CASES]
    for label, a, b in states:
        worst = max(a, key=lambda n: abs(a[n] - b[n]))
        out.append((label, a[worst] - b[worst], 100.0 * (a[worst] - b[worst]) / b[worst], worst,
                    min(a.values()), max(a.values())))
    return out


def print_tables(results: list, markdown: bool) -> None:
    """One table of stiffnesses and one of wire tensions (text, or markdown with a
    scenario column)."""
    if markdown:
        print("\n| frame | quantity | frame model | OpenSees | difference |\n|---|---|---:|---:|---:|")
        for s, fm, os_, _ in results:
            for k, (label, a, b) in enumerate(compare(s, fm, os_)):
                print(f"| {s.name if k == 0 else ''} | {label.strip()} | {a:#.4g} | {b:#.4g} | "
                      f"{100 * (a - b) / b:+.2f} % |")
        print("\n| frame | wire tensions | frame model, N | largest difference (frame model − OpenSees) |\n"
              "|---|---|---:|---:|")
        for s, fm, os_, _ in results:
            for k, (label, d, pct, wire, lo, hi) in enumerate(tension_rows(fm, os_)):
                span = f"{lo:.1f}" if abs(hi - lo) < 0.05 else f"{lo:.1f}–{hi:.1f}"
                print(f"| {s.name if k == 0 else ''} | {label} | {span} | {d:+.2f} N ({pct:+.3f} %, {wire}) |")
        print()
        for s, fm, os_, extra in results:
            print(f"{s.name}: {fm['cells']} cells; frame model {fm['solve_time_s']:.1f} s, "
                  f"OpenSees {os_['solve_time_s']:.1f} s{extra}  ")
        return
    for s, fm, os_, extra in results:
        print(f"\n{s.name}: {fm['cells']} cells; frame model {fm['solve_time_s']:.1f} s, "
              f"OpenSees {os_['solve_time_s']:.1f} s{extra}")
        print(f"  {'quantity':38s}{'frame model':>13s}{'OpenSees':>13s}{'difference':>12s}")
        for label, a, b in compare(s, fm, os_):
            print(f"  {label:38s}{a:13.4f}{b:13.4f}{100 * (a - b) / b:+11.2f} %")
        print("  wire tensions (frame model range; largest difference frame model - OpenSees):")
        for label, d, pct, wire, lo, hi in tension_rows(fm, os_):
            print(f"    {label:28s}{lo:9.1f} - {hi:7.1f} N   {d:+9.3f} N ({pct:+.3f} %, {wire})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="*", default=list(DEFAULT_SCENARIOS),
                    help="scenario TOML files, or 'standard' / 'standard-olive' (default: the standard frame, "
                         "hybrid-halfpins and the standard frame with olive wires)")
    ap.add_argument("--opensees-python", default=None, help="a Python with openseespy (default: OPENSEES_PYTHON, "
                                                            ".venv-opensees/bin/python, this interpreter)")
    ap.add_argument("--gap-width", type=float, default=14.0, help="gap width, mm (default 14: the gap stays open)")
    ap.add_argument("--steps", type=int, default=4, help="load steps of every case (default 4)")
    ap.add_argument("--size", type=float, default=None, help="mesh.element_size_mm (default: the scenario's)")
    ap.add_argument("--wire-size", type=float, default=None,
                    help="mesh.wire_element_size_mm (default: the scenario's)")
    ap.add_argument("--link-factor", type=float, default=1000.0,
                    help="OpenSees's rigid links: this times the stiffest part's EA and EI (default 1000)")
    ap.add_argument("--released-link-factor", type=float, default=10.0,
                    help="a smooth wire's corotational bone link: this times the stiffest part's EI across the wire "
                         "(default 10, as the frame model's links; stiffer ones stall OpenSees's Newton)")
    ap.add_argument("--released-links", choices=("corotational", "zerolength"), default="corotational",
                    help="a smooth wire's bone link in OpenSees (default corotational: objective)")
    ap.add_argument("--rigid-links", choices=("beam", "constraint"), default="beam",
                    help="OpenSees's rigid links: stiff corotational beams (default) or rigidLink constraints "
                         "(linear in the rotations: a diagnostic)")
    ap.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    ap.add_argument("--keep", type=Path, default=None, help="keep the exchanged JSON files in this directory")
    args = ap.parse_args(argv)
    if args.steps < 1:
        print(f"error: --steps {args.steps}; accepted: a whole number >= 1", file=sys.stderr)
        return 2
    for key in ("link_factor", "released_link_factor"):
        if not getattr(args, key) > 0:
            print(f"error: --{key.replace('_', '-')} {getattr(args, key):g}; accepted: a number > 0", file=sys.stderr)
            return 2
    if not 0 < args.gap_width:
        print(f"error: --gap-width {args.gap_width:g} mm; accepted: a width > 0 mm", file=sys.stderr)
        return 2
    python = find_opensees_python(args.opensees_python)

    sys.path.insert(0, str(ROOT))
    from sim.frame_model import SolverError
    from sim.scenario import ScenarioError

    try:
        scenarios = [make_scenario(spec, args.gap_width, args.steps, args.size, args.wire_size)
                     for spec in args.scenarios]
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = {"released_links": args.released_links, "rigid_links": args.rigid_links}
    results = []
    with tempfile.TemporaryDirectory(prefix="crosscheck-opensees-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for s in scenarios:
            try:
                fm, model = frame_results(s)
            except SolverError as exc:
                print(f"error: the frame model diverged on {s.name}: {exc}", file=sys.stderr)
                return 3
            except RuntimeError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            net = export_network(s, fm["eps0"], args.link_factor, args.released_link_factor)
            problems = check_against_model(net, model)
            if problems:
                print(f"error: {s.name}: the exported network differs from the frame model's:\n  "
                      + "\n  ".join(problems[:20]), file=sys.stderr)
                return 3
            os_ = run_opensees(python, s, net, options, workdir)
            extra = f"; {len(net['nodes'])} nodes, {len(net['elements'])} elements, node for node"
            results.append((s, fm, os_, extra))
            print(f"{s.name}: done", file=sys.stderr, flush=True)
    print_tables(results, args.markdown)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        sys.exit(worker(sys.argv[2], sys.argv[3]))
    sys.exit(main())
