"""A short stability summary for the terminal, from a results.json document."""

from __future__ import annotations

from typing import Any


def _fmt(value, spec: str = ".1f", unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:{spec}}{(' ' + unit) if unit else ''}"


def _cycle_lines(case: dict[str, Any], pretension_N: dict[str, float], unit: str) -> list[str]:
    """The lines of a load case loaded and unloaded more than once (its `cyclic` metrics):
    the wires' tension lost since pretension after each cycle (mean over the tensioned
    wires, %; the first three and the last two of a long series), the wire that lost the
    most, and the permanent set (the response left unloaded, in `unit`)."""
    cyc = case.get("cyclic")
    if not cyc:
        return []
    cycles = cyc["cycles"]
    head = f"    {len(cycles)} load-unload cycles: "
    tensioned = {n: t for n, t in pretension_N.items() if t > 0}
    if tensioned:
        def loss(c):
            after = c["wire_tension_unloaded_N"]
            return sum(100.0 * (t - after[n]) / t for n, t in tensioned.items()) / len(tensioned)

        shown = [(c["cycle"], loss(c)) for c in cycles]
        parts = [f"{k}: {v:.1f} %" for k, v in shown]
        if len(parts) > 5:
            parts = parts[:3] + ["..."] + parts[-2:]
        lost = cyc["wire_tension_loss_percent"]
        most = max(lost, key=lost.get)
        head += (f"wire tension lost since pretension after cycle {', '.join(parts)} (mean of {len(tensioned)} "
                 f"wires; most {most}: {lost[most]:.1f} %, {cyc['wire_tension_loss_N'][most]:.0f} N); ")
    return [head + f"permanent set {cyc['permanent_set']:.3f} {unit}"]


def stability_summary(results: dict[str, Any]) -> str:
    lines = [f"{results.get('model', 'frame').capitalize()} model of '{results['scenario']}' ({results['setup']}): "
             f"{results['mesh']['cells']} cells, {results['mesh']['dofs']} dofs"]
    wires = results["pretension"]["wires"]
    if wires:
        lo = min(w["achieved_N"] for w in wires)
        hi = max(w["achieved_N"] for w in wires)
        tgt = sorted({round(w["target_N"]) for w in wires})
        lines.append(f"  Pretension ({results['pretension']['mode']}): target {', '.join(map(str, tgt))} N, "
                     f"achieved {lo:.0f}-{hi:.0f} N in {len(wires)} wires")
        unc = [w["uncorrected_N"] for w in wires if w.get("uncorrected_N") is not None]
        if unc and results["pretension"]["mode"] != "initial_strain" and sum(w["target_N"] for w in wires) > 0:
            loss = 100 * (1 - sum(unc) / sum(w["target_N"] for w in wires))
            lines.append(f"    (ring compliance would cost {loss:.0f} % of the tension without re-tensioning)")
    cases = results["load_cases"]
    pretension_N = {w["name"]: w["achieved_N"] for w in wires}
    if "axial" in cases:
        a = cases["axial"]
        lines.append(f"  Axial {a['load_N'][-1]:.0f} N: shortening {a['displacement_mm'][-1]:.3f} mm from the "
                     f"pretensioned frame, initial stiffness {_fmt(a.get('initial_stiffness_N_per_mm'))} N/mm")
        if a.get("gap_closed_at_N") is not None and a.get("shortening_at_gap_closure_mm") is None:
            lines.append(f"    the gap closes at about {a['gap_closed_at_N']:.0f} N (between load steps); secant "
                         f"{_fmt(a['secant_stiffness_N_per_mm'])} N/mm to full load, tangent at full load "
                         f"{_fmt(a['tangent_stiffness_N_per_mm'])} N/mm")
        elif a.get("gap_closed_at_N") is not None:
            lines.append(f"    the gap closes at {a['gap_closed_at_N']:.1f} N (shortening "
                         f"{a['shortening_at_gap_closure_mm']:.3f} mm); up to it the frame alone carries the load: "
                         f"{_fmt(a.get('stiffness_before_contact_N_per_mm'))} N/mm")
            lines.append(f"    with the fragments touching: {_fmt(a.get('stiffness_in_contact_N_per_mm'), '.0f')} N/mm "
                         f"(tangent at full load); secant over the whole load {_fmt(a['secant_stiffness_N_per_mm'])} "
                         "N/mm")
        else:
            lines.append(f"    secant {_fmt(a['secant_stiffness_N_per_mm'])} N/mm to full load, tangent at full load "
                         f"{_fmt(a['tangent_stiffness_N_per_mm'])} N/mm")
        if a.get("ifm_axial_mm") is not None:
            strain = (f", gap strain {100 * a['gap_strain']:.1f} %" if a.get("gap_strain") is not None
                      else " (empty gap: no tissue strain)")
            share = a["frame_load_share"]
            lines.append(f"    gap: axial IFM {a['ifm_axial_mm']:.3f} mm, shear IFM {a['ifm_shear_mm']:.3f} mm"
                         f"{strain}, frame load share {_fmt(100 * share if share is not None else None, '.0f', '%')}")
        t = a["wire_tension_N"]
        if t:
            name = max(t, key=t.get)
            lines.append(f"    wire tension {min(t.values()):.0f}-{max(t.values()):.0f} N (highest: {name})")
        if a.get("first_yield_at_N") is not None:
            lines.append(f"    first yield at {a['first_yield_at_N']:.1f} N ({a['first_yield_part']})"
                         if a["first_yield_at_N"] > 0 else
                         f"    above yield already at pretension ({a['first_yield_part']})")
        lines += _cycle_lines(a, pretension_N, "mm")
    for key, label in (("bending_ap", "Bending AP"), ("bending_ml", "Bending ML"), ("torsion", "Torsion")):
        if key in cases:
            c = cases[key]
            lines.append(f"  {label} {c['moment_Nm'][-1]:.1f} N*m: rotation {c['rotation_deg'][-1]:.3f} deg, "
                         f"stiffness {_fmt(c['stiffness_Nm_per_deg'], '.2f')} N*m/deg (initial "
                         f"{_fmt(c.get('initial_stiffness_Nm_per_deg'), '.2f')})")
            if c.get("gap_rim_closed_at_Nm") is not None:
                lines.append(f"    the rim of the gap closes at {c['gap_rim_closed_at_Nm']:.2f} N*m")
            if c.get("first_yield_at_Nm") is not None:
                lines.append(f"    first yield at {c['first_yield_at_Nm']:.2f} N*m ({c['first_yield_part']})"
                             if c["first_yield_at_Nm"] > 0 else
                             f"    above yield already at pretension ({c['first_yield_part']})")
            lines += _cycle_lines(c, pretension_N, "deg")
    vm = results.get("max_von_mises_MPa", {})
    sf = results.get("safety_factor", {})
    crit = results.get("critical_parts", {})
    parts = [f"{g} {vm[g]:.0f} MPa (SF {_fmt(sf.get(g), '.2f')})" for g in vm if vm[g] > 0]
    if parts:
        lines.append("  Peak von Mises over all cases: " + ", ".join(parts))
        if crit:
            lines.append("    (each part against its own material's yield; lowest factor in each group: "
                         + ", ".join(f"{g} {c['part']}" for g, c in crit.items()) + ")")
        over = [g for g in sf if sf.get(g) is not None and sf[g] < 1.0]
        plastic = {g for g, on in (results.get("assumptions", {}).get("plasticity") or {}).items() if on}
        elastic = [g for g in over if g not in plastic]
        yielded = [g for g in over if g in plastic]
        if elastic and not any(w.startswith("above yield") for w in results.get("warnings", [])):
            lines.append(f"  WARNING: above yield in {', '.join(elastic)} (the model is elastic; expect "
                         "permanent deformation there)")  # results.json written before it listed this warning
        if yielded:
            lines.append(f"  {', '.join(yielded)} yielded (plasticity on): their peak is the largest fibre stress "
                         "(axial stress with the twist's shear, as the hardening law allows past yield)")
    for w in results.get("warnings", []):
        lines.append(f"  WARNING: {w}")
    tm = results.get("timings_s", {})
    lines.append(f"  Time: mesh {tm.get('mesh', 0):.2f} s, solve {tm.get('solve', 0):.2f} s, "
                 f"total {tm.get('total', 0):.2f} s")
    return "\n".join(lines)
