"""Verification benches: single members against the closed forms of physics.md.

Each bench is a small line network solved by the same `FrameModel` as a whole frame:
- a wire clamped at both ends, pretensioned, under a central transverse load;
- a thin circular ring under diametral compression;
- a cantilever with a tip load.
"""

from __future__ import annotations

import math

import numpy as np

from meshes.frame_network import NetworkPlan, mesh_plan
from meshes.tags import Marker, PartKind
from sim.scenario import Loads, MeshSettings, Ring, Rod, Scenario, SolverSettings, Wire


def tensioned_wire_stiffness_N_per_mm(tension_N: float, span_mm: float, diameter_mm: float,
                                      youngs_modulus_MPa: float = 200_000.0) -> float:
    """Exact small-load stiffness of a clamped-clamped tensioned beam under a central load
    (at zero tension, the clamped beam's 192 EI / L^3)."""
    inertia = math.pi * diameter_mm ** 4 / 64
    beta = math.sqrt(tension_N / (youngs_modulus_MPa * inertia))
    x = beta * span_mm / 4
    if x < 1e-3:  # series of 1 - tanh(x)/x = x^2/3 - 2x^4/15: the beam limit, with the first tension term
        return 192 * youngs_modulus_MPa * inertia / span_mm ** 3 + 4.8 * tension_N / span_mm
    return (4 * tension_N / span_mm) / (1 - math.tanh(x) / x)


def string_load_N(deflection_mm: float, tension0_N: float, span_mm: float, diameter_mm: float,
                  youngs_modulus_MPa: float = 200_000.0) -> float:
    """Central load of a string with stretch (no bending) at a given central deflection."""
    a = span_mm / 2
    s = math.hypot(a, deflection_mm)
    area = math.pi * diameter_mm ** 2 / 4
    tension = tension0_N + youngs_modulus_MPa * area * (s - a) / a
    return 2 * tension * deflection_mm / s


def ring_diametral_deflection_mm(load_N: float, radius_mm: float, EI_Nmm2: float) -> float:
    """Change of a thin ring's diameter along two opposite compressive loads."""
    return (math.pi / 4 - 2 / math.pi) * load_N * radius_mm ** 3 / EI_Nmm2


def _bench_scenario(**kwargs) -> Scenario:
    base = dict(loads=Loads(setup="frame_only", cases=()), mesh=MeshSettings(),
                solver=SolverSettings(tensioning="initial_strain"))
    base.update(kwargs)
    return Scenario(name="bench", **base)


def wire_bench(span_mm: float, diameter_mm: float, tension_N: float, elements: int = 60, comm=None):
    """A wire along x clamped at both ends, load point at mid-span. Returns a FrameModel."""
    from sim.frame_model import FrameModel

    plan = NetworkPlan()
    a, m, b = (plan.add_point((x, 0.0, 0.0)) for x in (-span_mm / 2, 0.0, span_mm / 2))
    tag = plan.add_part("wire", PartKind.WIRE, "wire")
    for p0, p1 in ((a, m), (m, b)):
        plan.add_line(p0, p1, tag, span_mm / elements)
    plan.markers.update({Marker.SUPPORT_A: a, Marker.SUPPORT_B: b, Marker.LOAD_POINT: m})
    s = _bench_scenario(wires=(Wire("wire", "none", 0.0, tension_N, diameter_mm=diameter_mm),))
    return FrameModel(s, mesh_plan(plan, comm, "wire-bench"), supports=(Marker.SUPPORT_A, Marker.SUPPORT_B),
                      load_point=(Marker.LOAD_POINT, False))


def ring_bench(radius_mm: float, width_mm: float, thickness_mm: float, elements: int = 128, comm=None):
    """A ring in the xy plane, clamped at (-R, 0, 0), loaded at (R, 0, 0)."""
    from sim.frame_model import FrameModel

    plan = NetworkPlan()
    angles = [k * math.pi / 2 for k in range(4)]
    pts = [plan.add_point((radius_mm * math.cos(t), radius_mm * math.sin(t), 0.0)) for t in angles]
    centre = plan.add_point((0.0, 0.0, 0.0))
    tag = plan.add_part("ring", PartKind.RING, "ring")
    for k in range(4):
        plan.arcs.append((pts[k], centre, pts[(k + 1) % 4], tag, elements // 4))
    plan.markers.update({Marker.SUPPORT_A: pts[2], Marker.LOAD_POINT: pts[0]})
    inner = 2 * radius_mm - width_mm
    s = _bench_scenario(rings=(Ring("ring", 0.0, inner, width_mm, thickness_mm),))
    return FrameModel(s, mesh_plan(plan, comm, "ring-bench"), supports=(Marker.SUPPORT_A,),
                      load_point=(Marker.LOAD_POINT, False))


def cantilever_bench(length_mm: float, diameter_mm: float, elements: int = 40, comm=None):
    """A round rod along z clamped at z = 0, loaded at its tip z = length."""
    from sim.frame_model import FrameModel

    plan = NetworkPlan()
    a, b = plan.add_point((0.0, 0.0, 0.0)), plan.add_point((0.0, 0.0, length_mm))
    tag = plan.add_part("rod", PartKind.ROD, "rod")
    plan.add_line(a, b, tag, length_mm / elements)
    plan.markers.update({Marker.SUPPORT_A: a, Marker.LOAD_POINT: b})
    s = _bench_scenario(rods=(Rod("rod", 0.0, diameter_mm=diameter_mm),))
    return FrameModel(s, mesh_plan(plan, comm, "cantilever-bench"), supports=(Marker.SUPPORT_A,),
                      load_point=(Marker.LOAD_POINT, True))


def wire_small_load_stiffness(span_mm=150.0, diameter_mm=1.8, tension_N=1275.0, elements=60, comm=None) -> float:
    """Model stiffness (N/mm) of the tensioned wire bench at a 1 N central load."""
    model = wire_bench(span_mm, diameter_mm, tension_N, elements, comm)
    model.solve_pretension()
    load = 1.0
    resp = model.solve_load(np.array([0.0, 0.0, -load, 0.0, 0.0, 0.0]), steps=1, context="wire bench")[-1]
    return load / -resp[2]


def bone_bench(bone, elements: int = 40, comm=None):
    """The bone alone along z (sim.scenario.Bone: a tube, a template or an imported surface),
    clamped at its distal end z = 0 and loaded at its proximal end: its sections cell by cell
    as in a whole frame (the frame model's `_assign_bone_cells`). Returns a FrameModel."""
    from sim.frame_model import FrameModel

    plan = NetworkPlan()
    a, b = plan.add_point((0.0, 0.0, 0.0)), plan.add_point((0.0, 0.0, bone.length_mm))
    tag = plan.add_part("bone", PartKind.BONE, "bone")
    plan.add_line(a, b, tag, bone.length_mm / elements)
    plan.markers.update({Marker.SUPPORT_A: a, Marker.LOAD_POINT: b})
    s = _bench_scenario(bone=bone)
    return FrameModel(s, mesh_plan(plan, comm, "bone-bench"), supports=(Marker.SUPPORT_A,),
                      load_point=(Marker.LOAD_POINT, True))


def plate_bench(s: Scenario, plate: str, hole: int, comm=None):
    """A connection plate of scenario `s` alone, as the frame model builds it
    (meshes.frame_network: the plate's beams and its bolt to the ring), clamped where its
    bolt meets the ring's centreline and loaded at hole `hole` (a node of the plate: hole 1,
    the last hole, or a hole a part uses). Returns a FrameModel; its closed form is the
    cantilever's from hole 1 (test_plates.py)."""
    import dataclasses

    from meshes.frame_network import plan_network
    from sim.frame_model import FrameModel

    full = plan_network(s)
    keep = {p.tag: p for p in full.parts if p.source == plate and p.kind in (PartKind.PLATE, PartKind.PLATE_BOLT)}
    plan = NetworkPlan()
    index: dict[int, int] = {}

    def point(i: int) -> int:
        if i not in index:
            index[i] = plan.add_point(full.points[i])
        return index[i]

    tags = {}
    for tag, part in keep.items():
        tags[tag] = plan.add_part(part.name, part.kind, part.source)
        if tag in full.section_normals:
            plan.section_normals[tags[tag]] = full.section_normals[tag]
    bolt_base = None
    for p0, p1, tag, n in full.lines:
        if tag in keep:
            plan.lines.append((point(p0), point(p1), tags[tag], n))
            if keep[tag].kind == PartKind.PLATE_BOLT:
                bolt_base = p0
    plan.markers.update({Marker.SUPPORT_A: point(bolt_base), Marker.LOAD_POINT: point(full.plate_holes[(plate, hole)])})
    bench = dataclasses.replace(s, loads=Loads(setup="frame_only", cases=()), wires=(), half_pins=(),
                                solver=SolverSettings(tensioning="initial_strain"))
    return FrameModel(bench, mesh_plan(plan, comm, "plate-bench"), supports=(Marker.SUPPORT_A,),
                      load_point=(Marker.LOAD_POINT, False))
