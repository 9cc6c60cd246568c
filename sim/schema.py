"""The JSON Schema of the scenario file, for editors that complete and check TOML keys.

Generated from the scenario's own schema (pydantic's JSON Schema of `sim.scenario.Scenario`,
the validator that `load_scenario` uses), then made fit for a TOML file:

- a field that may be left out (``X | None``) is simply X (TOML has no null);
- a wire may give its tension as ``tension_N`` or ``tension_kgf`` (once; neither: 90 kgf);
- every field gets a description: the comment beside it in sim/scenario.py, its unit
  (from the key's suffix: ``_mm``, ``_N``, ``_deg``, ...) and its accepted range;
- minimum / maximum from `sim.scenario.LIMITS` where a limit is a plain range of one field
  (the ranges that depend on other fields, and every check of parts against each other,
  stay `validate`'s: a file the schema accepts may still be refused by ``ilizarov validate``).

Draft-07 (Taplo / Even Better TOML and the `jsonschema` package read it). Shipped as
schemas/scenario.schema.json, and schemas/validation-test.schema.json for the files of
validation/ (whose [scenario] table is a scenario). Regenerate both with
``python -m sim.schema`` (``--check``: exit 1 if the shipped files are out of date).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import inspect
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from sim import scenario as sc
from sim.materials import Material

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "schemas"
SCENARIO_SCHEMA = "scenario.schema.json"
VALIDATION_SCHEMA = "validation-test.schema.json"
DRAFT = "http://json-schema.org/draft-07/schema#"

# Units by the key's suffix (longest first).
UNITS = (("_Nmm_per_rad", "N*mm/rad"), ("_N_per_mm", "N/mm"), ("_mm_per_day", "mm/day"), ("_kg_per_m3", "kg/m3"),
         ("_Nm", "N*m"), ("_MPa", "MPa"), ("_mm", "mm"), ("_deg", "deg"), ("_kgf", "kgf"), ("_N", "N"),
         ("_days", "days"), ("_h", "h"))

# LIMITS whose key is not a field's path: the fields each applies to, as (class, field).
LIMIT_FIELDS: dict[str, list[tuple[type, str]]] = {
    "loads.moment_Nm": [(sc.MomentLoad, "moment_Nm")],
    "loads.steps": [(sc.AxialLoad, "steps"), (sc.MomentLoad, "steps")],
    "loads.cycles": [(sc.AxialLoad, "cycles"), (sc.MomentLoad, "cycles")],
    "materials.youngs_modulus_MPa": [(Material, "youngs_modulus_MPa")],
    "materials.yield_stress_MPa": [(Material, "yield_stress_MPa")],
    "materials.density_kg_per_m3": [(Material, "density_kg_per_m3")],
    "materials.hardening_modulus_MPa": [(Material, "hardening_modulus_MPa")],
    "hexapod.strut_lengths_mm[]": [(sc.Hexapod, "strut_lengths_mm")],
    "hexapod.strut_sizes[].length_mm": [(sc.StrutSize, "min_length_mm"), (sc.StrutSize, "max_length_mm")],
}
# Not a plain range of the field: wires[].diameter_mm depends on transfixion_pin, the
# axial offset is a distance from (x, y), the deformity's and mounting's ranges apply to
# several fields with their directions.
CONDITIONAL_LIMITS = {"wires[].diameter_mm", "wires[].transfixion_pin_diameter_mm", "loads.axial.offset_mm",
                      "hexapod.deformity.translation_mm", "hexapod.mounting.offset_mm"}
ANGLE_FIELDS = [(sc.Wire, "angle_deg"), (sc.Rod, "angle_deg"), (sc.HalfPin, "angle_deg"), (sc.Plate, "angle_deg"),
                (sc.Hexapod, "first_pair_deg"), (sc.FixedLevel, "first_pair_deg"), (sc.Loads, "held_at_deg")]


def _field_comments(cls: type) -> dict[str, str]:
    """What the class says of each field: the comment beside it in the source
    (``x: float = 1.0  # what x is``), else the docstring's ``x: what x is;`` phrase."""
    out = {}
    doc = " ".join((cls.__doc__ or "").split())
    for f in dataclasses.fields(cls):
        m = re.search(rf"(?<![\w.`]){f.name}: (.+?)(?:;|\.\s|\.$)", doc)
        if m and len(m.group(1)) > 4 and not m.group(1).startswith("e.g"):
            out[f.name] = m.group(1).strip()
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return out
    for line in source.splitlines():
        m = re.match(r"\s+(\w+):[^#]*#\s*(.+)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _unit(name: str) -> str | None:
    return next((u for suffix, u in UNITS if name.endswith(suffix)), None)


def _limit_fields() -> dict[tuple[type, str], sc.Limit]:
    """(class, field) -> its plain range from LIMITS (and the angle range)."""
    out: dict[tuple[type, str], sc.Limit] = {f: sc.ANGLE for f in ANGLE_FIELDS}
    for key, limit in sc.LIMITS.items():
        if key in CONDITIONAL_LIMITS:
            continue
        if key in LIMIT_FIELDS:
            for target in LIMIT_FIELDS[key]:
                out[target] = limit
            continue
        cls: Any = sc.Scenario
        *tables, last = key.replace("[]", "").split(".")
        for name in tables:
            cls = _dataclass_of(sc._hints(cls)[name])
        if last not in sc._hints(cls):
            raise KeyError(f"LIMITS[{key!r}] names no field; add it to LIMIT_FIELDS or CONDITIONAL_LIMITS")
        out[(cls, last)] = limit
    return out


def _dataclass_of(tp: Any) -> type:
    """The dataclass in an annotation (Bone, tuple[Ring, ...], Gap | None, ...)."""
    tp = sc._optional_inner(tp)
    if dataclasses.is_dataclass(tp):
        return tp
    return next(_dataclass_of(a) for a in getattr(tp, "__args__", ()) if a is not Ellipsis)


def _drop_null(prop: dict[str, Any]) -> dict[str, Any]:
    """``X | None`` -> X: a TOML file leaves a key out, it never gives null."""
    members = prop.get("anyOf")
    if members and {"type": "null"} in members:
        rest = [m for m in members if m != {"type": "null"}]
        prop = {k: v for k, v in prop.items() if k != "anyOf"}
        if len(rest) == 1:
            prop.update(rest[0])
        else:
            prop["anyOf"] = rest
        if prop.get("default", 0) is None:
            del prop["default"]
    return prop


def _draft07(node: Any) -> Any:
    """pydantic writes 2020-12 tuples (prefixItems); draft-07 lists the items."""
    if isinstance(node, dict):
        node = {k: _draft07(v) for k, v in node.items()}
        if "prefixItems" in node:
            node["items"] = node.pop("prefixItems")
            node["additionalItems"] = False
        return node
    if isinstance(node, list):
        return [_draft07(v) for v in node]
    return node


def _numbers(prop: dict[str, Any]) -> list[dict[str, Any]]:
    """The number schemas in a property: itself, or its list's items."""
    if prop.get("type") in ("number", "integer"):
        return [prop]
    items = prop.get("items")
    if isinstance(items, dict):
        return _numbers(items)
    if isinstance(items, list):
        return [n for i in items for n in _numbers(i)]
    return []


def _describe(cls: type, name: str, prop: dict[str, Any], limit: sc.Limit | None, comments: dict[str, str]) -> None:
    words = []
    if name in comments:
        words.append(comments[name][0].upper() + comments[name][1:].rstrip(".") + ".")
    unit = _unit(name)
    if unit:
        words.append(f"Unit: {unit}.")
    if limit is not None:
        words.append(f"Accepted: {limit.words()}.")
        for number in _numbers(prop):
            number["maximum"] = limit.high
            if limit.low_open:
                number["exclusiveMinimum"] = limit.low
            else:
                number["minimum"] = limit.low
    if words:
        prop["description"] = " ".join(words)


# Arrays of tables that a file extending another merges by name (sim.composition).
NAMED_TABLES = {"rings": "Ring", "wires": "Wire", "rods": "Rod", "half_pins": "HalfPin", "pin_clamps": "PinClampBlock",
                "plates": "Plate", "materials": "Material"}


def _composition(root: dict[str, Any], tables: dict[str, Any]) -> None:
    """The keys of sim.composition: `extends`, `remove` and the patterns. In a file that
    extends another or uses a pattern, an entry of [[rings]], [[wires]], ... may change a
    part by its name alone (<Part>Change: only `name` required); in any other file it is a
    whole part (the `else` below)."""
    props = root["properties"]
    props["extends"] = {"type": "string", "description": "The scenario file this one starts from, its path relative "
                        "to this file; its tables merge key by key, its parts by name (docs/validation.md, section 9)."}
    props["remove"] = {"type": "array", "items": {"type": "string"}, "description": "Parts of the base scenario "
                       "(extends) left out, by name."}
    props["wire_pairs"] = {"type": "array", "items": {"$ref": "#/$defs/WirePair"}, "description": "Two wires "
                           "crossing at the bone axis on each ring named (R_wire1 and R_wire2), in place of its wires."}
    props["rods_evenly"] = {"$ref": "#/$defs/RodsEvenly", "description": "The frame's rods, rod1 ... rodN, evenly "
                            "spaced around the rings, in place of any rods."}
    strict = {}
    for group, title in NAMED_TABLES.items():
        change = copy.deepcopy(tables[title])
        change["required"] = ["name"]
        change["description"] = (f"A {title} in a file that extends another or uses a pattern: with the name of a "
                                 "part there, the keys given change it; with a new name, a whole new part.")
        tables[f"{title}Change"] = change
        props[group]["items"] = {"$ref": f"#/$defs/{title}Change"}
        strict[group] = {"items": {"$ref": f"#/$defs/{title}"}}
    root["if"] = {"anyOf": [{"required": [key]} for key in ("extends", "wire_pairs", "rods_evenly")]}
    root["else"] = {"properties": strict}


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a scenario file."""
    from sim import composition as comp

    schema = copy.deepcopy(sc.scenario_adapter().json_schema())
    limits = _limit_fields()
    limits[(comp.WirePair, "about_deg")] = limits[(comp.RodsEvenly, "start_deg")] = sc.ANGLE
    limits[(comp.RodsEvenly, "count")] = sc.Limit(1, sc.MAX_RODS, "", "rods evenly spaced around the rings")
    classes = {cls.__name__: cls for cls in (*sc.schema_classes(), comp.WirePair, comp.RodsEvenly)}
    tables = dict(schema.pop("$defs"))
    tables["Scenario"] = schema
    for cls in (comp.WirePair, comp.RodsEvenly):
        tables[cls.__name__] = copy.deepcopy(comp.pattern_adapter(cls).json_schema())
    for title, table in tables.items():
        cls = classes[title]
        comments = _field_comments(cls)
        for name, prop in list(table["properties"].items()):
            prop = _drop_null(prop)
            prop.pop("title", None)
            default = prop.get("default")
            if isinstance(default, float) and not math.isfinite(default):
                del prop["default"]  # JSON has no infinity (Material.ultimate_stress_MPa: never yields)
            _describe(cls, name, prop, limits.get((cls, name)), comments)
            table["properties"][name] = prop
    wire = tables["Wire"]
    wire["properties"]["tension_kgf"] = {
        "type": "number", "minimum": 0,
        "description": "The target pretension in kgf (1 kgf = 9.80665 N), instead of tension_N. Unit: kgf."}
    wire["properties"]["tension_N"]["description"] = ("The target pretension (positive = tension), or give "
                                                      "tension_kgf; neither: 90 kgf. Unit: N.")
    wire["required"] = [k for k in wire["required"] if k != "tension_N"]
    wire["not"] = {"required": ["tension_N", "tension_kgf"]}
    root = tables.pop("Scenario")
    _composition(root, tables)
    crossing = tables["WirePair"]["properties"]["crossing_deg"]  # open at both ends: Limit has no such range
    crossing.update(exclusiveMinimum=0.0, exclusiveMaximum=180.0)
    crossing["description"] = "The angle between the two wires. Unit: deg. Accepted: more than 0 and less than 180 deg."
    out = {"$schema": DRAFT, "$id": f"https://ilizarov.invalid/schemas/{SCENARIO_SCHEMA}",
           "title": "ilizarov scenario file", **{k: v for k, v in root.items() if k != "title"},
           "$defs": dict(sorted(tables.items()))}
    out["description"] = ("A scenario of the ilizarov toolkit (TOML): " + root["description"] +
                          " Generated by `python -m sim.schema` from sim/scenario.py; `ilizarov validate` checks "
                          "more (ranges that depend on other keys, parts against each other, the holds).")
    return _draft07(out)


def validation_file_schema() -> dict[str, Any]:
    """The JSON Schema of a file of validation/ (sim.validation_suite.load_test): the
    published source, the scenario, the cells compared with the publication and trends."""
    from sim.validation_suite import ROLES

    scen = scenario_json_schema()
    defs = scen.pop("$defs")
    for key in ("$schema", "$id"):
        scen.pop(key)
    del scen["properties"]["extends"]  # a test's scenario is a table of the test's file, it extends none
    scen["if"] = {"anyOf": [c for c in scen["if"]["anyOf"] if c != {"required": ["extends"]}]}
    text = {"type": "string"}
    number = {"type": "number"}
    return {
        "$schema": DRAFT, "$id": f"https://ilizarov.invalid/schemas/{VALIDATION_SCHEMA}",
        "title": "ilizarov validation test",
        "description": "One published test series (validation/*.toml, `ilizarov validation-suite`): where the "
                       "numbers come from, the scenario of the test, and the cells (the published measurements the "
                       "model is compared with). Generated by `python -m sim.schema`.",
        "type": "object", "required": ["source", "scenario", "cells"], "additionalProperties": False,
        "properties": {
            "source": {"type": "object", "required": ["title", "citation", "where"], "properties": {
                "title": text, "citation": text, "doi": text, "where": text,
                "assumed": {"type": "array", "items": text}}},
            "scenario": scen,
            "cells": {"type": "array", "items": {
                "type": "object", "required": ["name", "role", "case", "metric"], "additionalProperties": False,
                "properties": {
                    "name": text, "role": {"enum": list(ROLES)}, "case": text, "metric": text,
                    "published": number, "spread": {"type": "number", "minimum": 0}, "spread_kind": text,
                    "set": {"type": "object", "description": "Changes of the scenario for this cell: paths "
                            "(wires[0].tension_kgf) or keys of a table (interfaces.wire_clamp.rigid) to values."},
                    "note": text}}},
            "trends": {"type": "array", "items": {
                "type": "object", "required": ["name", "ratio"], "properties": {
                    "name": text, "ratio": {"type": "array", "items": text, "minItems": 2, "maxItems": 2},
                    "published_change_percent": number}}},
        },
        "$defs": defs,
    }


def schemas() -> dict[str, dict[str, Any]]:
    """The shipped schemas by file name."""
    return {SCENARIO_SCHEMA: scenario_json_schema(), VALIDATION_SCHEMA: validation_file_schema()}


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _write(path: Path, text: str) -> None:
    """Write whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.schema", description="Write the JSON Schemas of the "
                                     f"scenario file ({SCENARIO_SCHEMA}) and of a validation test "
                                     f"({VALIDATION_SCHEMA}), for TOML editors (docs/scenarios.md).")
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help="directory to write them in (default: the "
                        "project's schemas/)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files in --out differ "
                        "from freshly generated ones")
    args = parser.parse_args(argv)
    stale = []
    for name, schema in schemas().items():
        path = args.out / name
        text = schema_text(schema)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        _write(path, text)
        print(f"wrote {path}")
    if stale:
        print(f"out of date (regenerate with python -m sim.schema): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
