"""Scenario files that extend another, and one-line patterns of common parts.

A scenario file may start from another (README, "Scenario files"; docs/validation.md,
section 9):

    extends = "standard-4ring.toml"   # relative to this file; the base may extend another
    remove = ["ring2_wire2"]          # parts of the base left out, by name

    [bone]
    length_mm = 340                   # tables merge key by key; a key given here wins

    [[wires]]
    name = "ring1_wire1"              # a part of the base: these keys change it
    tension_kgf = 110

    [[half_pins]]
    name = "pin1"                     # a new name: a part added to the base's
    ring = "ring2"
    angle_deg = 90

The base is loaded and validated as a scenario of its own, with every part it has (its
default parts too), and the file is merged onto it in this order: `remove`, then the
file's [[rings]], then the patterns, then the file's [[wires]], [[rods]], [[half_pins]]
and [[materials]] by name; any other table merges key by key, any other list (loads.cases,
centre_xy_mm, [[hexapod.strut_sizes]], ...) is replaced whole. `name` is the file's own
(its stem if not given), never the base's; `description` if not given says which file it
extends. Removing a part and giving one of the same name replaces that part whole.

Patterns, expanded into ordinary parts before validation (every check applies; the
resolved scenario, scenario.resolved.json, lists the parts they made):

    [[wire_pairs]]                    # two wires crossing at the bone axis on each ring named
    rings = ["ring1", "ring2"]        # default: every ring
    crossing_deg = 60                 # the angle between the two wires
    about_deg = 90                    # the direction that halves it (default 90: antero-posterior)
    tension_kgf = 90                  # and diameter_mm, tension_N, olive, material: as a wire's

makes, on each ring R, ``R_wire1`` at about_deg - crossing_deg/2 on the top face and
``R_wire2`` at about_deg + crossing_deg/2 on the bottom face (the standard wires' names),
in place of the wires R had;

    [rods_evenly]
    count = 6                         # rods evenly spaced around the rings
    start_deg = 0                     # the first rod's direction; and diameter_mm, material, ...

makes the frame's rods (in place of any it had): ``rod1`` ... ``rodN`` at start_deg +
(k - 1) * 360/count. The file's own [[wires]] / [[rods]] entries then change the parts
made by name (``name = "ring1_wire1"``, ``olive = true``). A file without `extends`
that gives wire_pairs gives its wires: as with [[wires]], the default wires are not added.

Errors keep their path in the resolved scenario (``wires[3].tension_kgf``) and say, for a
file that extends another or a part made by a pattern, which part it is and which file
gave the part and the key.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sim.scenario import (ANGLE, KEY_ALIASES, MAX_RODS, PART_GROUPS, SCHEMA_CONFIG, Scenario, ScenarioError, Wire,
                          _as_json, _limit, _scenario_error, standard_rings)

PATTERN_KEYS = ("wire_pairs", "rods_evenly")
COMPOSE_KEYS = ("extends", "remove", *PATTERN_KEYS)
NAMED_LISTS = (*PART_GROUPS, "materials")  # arrays of tables merged by name


@dataclass(frozen=True)
class WirePair:
    """Two wires crossing at the bone axis on each ring named (one pattern of [[wire_pairs]]).

    crossing_deg: the angle between the two wires; about_deg: the direction in the ring's
    plane that halves it. Ring R gets R_wire1 at about_deg - crossing_deg/2 on the top face
    and R_wire2 at about_deg + crossing_deg/2 on the bottom face, in place of its wires.
    """

    crossing_deg: float  # the angle between the two wires
    rings: tuple[str, ...] | None = None  # the rings that carry a pair (default: every ring)
    about_deg: float = 90.0  # the direction that halves the crossing angle (90: antero-posterior)
    diameter_mm: float | None = None  # each wire's (default: a wire's, 1.8 mm)
    tension_N: float | None = None  # each wire's target pretension (or tension_kgf; neither: 90 kgf)
    tension_kgf: float | None = None  # each wire's target pretension in kgf, instead of tension_N
    olive: bool | None = None  # olive wires (default: smooth)
    material: str | None = None  # each wire's (default: stainless_steel)


@dataclass(frozen=True)
class RodsEvenly:
    """The frame's rods, evenly spaced around the rings ([rods_evenly]): rod1 ... rodN at
    start_deg + (k - 1) * 360/count, in place of any rods the frame had."""

    count: int  # how many rods, 1 to 64
    start_deg: float = 0.0  # the direction of rod1 (0: lateral, 90: anterior)
    diameter_mm: float | None = None  # each rod's (default: a rod's, 6 mm)
    material: str | None = None  # each rod's (default: stainless_steel)
    inner_diameter_mm: float | None = None  # > 0: hollow connectors (tubes)
    from_ring: str | None = None  # default: the lowest ring
    to_ring: str | None = None  # default: the highest ring


for _cls in (WirePair, RodsEvenly):
    _cls.__pydantic_config__ = SCHEMA_CONFIG


@functools.cache
def pattern_adapter(cls: type) -> TypeAdapter:
    """pydantic's validator of a pattern's table (and its JSON Schema: sim.schema)."""
    return TypeAdapter(cls)


def _check_pattern(cls: type, value: Any, path: str) -> Any:
    """A pattern's table, its keys and types checked as a part's are (ScenarioError at `path`)."""
    try:
        return pattern_adapter(cls).validate_json(_as_json(value))
    except ValidationError as exc:
        raise _scenario_error(exc, cls, path) from None


@dataclass
class Origins:
    """Where the parts and keys of a composed scenario come from, for the error messages.

    `default`: the file that gave whatever is not recorded (the first base of a chain);
    `parts`: (group, name) -> the file (or pattern) that made the part; `keys`: a key's
    path, (group, name, key) for a part's or (table, ..., key) for a table's -> the file."""

    default: str | None = None
    parts: dict[tuple[str, str], str] = field(default_factory=dict)
    keys: dict[tuple, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def explain(self, exc: ScenarioError, data: dict[str, Any]) -> ScenarioError:
        """`exc` with the part and the files it concerns added to its message, if known."""
        words = self._words(exc.field, data)
        return ScenarioError(exc.field, f"{exc.message} [{words}]") if words else exc

    def _words(self, path: str, data: dict[str, Any]) -> str:
        m = re.match(r"(\w+)\[(\d+)\](?:\.(\w+))?", path)
        if m and m.group(1) in NAMED_LISTS:
            group, k, key = m.group(1), int(m.group(2)), m.group(3)
            entries = data.get(group)
            if not isinstance(entries, list) or k >= len(entries) or not isinstance(entries[k], dict):
                return ""
            name = entries[k].get("name")
            if not isinstance(name, str):  # an entry without a name is a new part (the error says what is amiss)
                return ""
            made = self.parts.get((group, name), self.default)
            key_from = self.keys.get((group, name, key)) if key else None
            if made is None and key_from is None:
                return ""
            said = f"{group}[{k}] is {name!r}" + (f", from {made}" if made else "")
            if key_from and key_from != made:
                said += f"; {key} given in {key_from}"
            return said
        if self.default is None:  # a file that extends none: only the parts its patterns made are news
            return ""
        parts = path.split(".")
        for n in range(len(parts), 0, -1):
            if tuple(parts[:n]) in self.keys:
                return f"{path} given in {self.keys[tuple(parts[:n])]}"
        return f"{path} from {self.default}" if self.default and path else ""


def _part_alias_drop(group: str, key: str) -> str | None:
    """The key a key given replaces (tension_kgf <-> tension_N of a wire), if any."""
    if group != "wires":
        return None
    for alias, field_name in KEY_ALIASES[Wire].items():
        if key == alias:
            return field_name
        if key == field_name:
            return alias
    return None


def _merge_table(base: dict, own: dict, where: tuple, source: str, origins: Origins) -> dict:
    """`own` onto `base`, key by key (tables deep, anything else replaced)."""
    out = dict(base)
    for key, value in own.items():
        path = (*where, key)
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_table(out[key], value, path, source, origins)
        else:
            out[key] = copy.deepcopy(value)
            origins.keys[path] = source
    return out


def _merge_parts(group: str, prior: list[dict], entries: Any, source: str, origins: Origins,
                 changed: list[str], added: list[str]) -> list[dict]:
    """`entries` (a file's [[group]]) onto `prior` by name: an entry with the name of a prior
    part changes its keys, any other entry is added."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ScenarioError(group, f"must be an array of tables ([[{group}]] entries), got {entries!r}")
    out = [dict(p) for p in prior]
    index = {p.get("name"): k for k, p in enumerate(out) if isinstance(p.get("name"), str)}
    for entry in entries:
        name = entry.get("name")
        if isinstance(name, str) and name in index:
            target = out[index[name]]
            for key, value in entry.items():
                drop = _part_alias_drop(group, key)
                if drop is not None and drop not in entry:
                    target.pop(drop, None)
                target[key] = copy.deepcopy(value)
                origins.keys[(group, name, key)] = source
            changed.append(name)
        else:
            out.append(copy.deepcopy(entry))
            if isinstance(name, str):
                origins.parts[(group, name)] = source
                for key in entry:
                    origins.keys.pop((group, name, key), None)
            added.append(str(name))
    return out


def _wire_pairs(value: Any, rings: list[str], prior: list[dict], source: str, origins: Origins) -> list[dict]:
    """The wires after [[wire_pairs]]: each ring named gets its pair in place of its wires."""
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise ScenarioError("wire_pairs", f"must be an array of tables ([[wire_pairs]] entries), got {value!r}")
    pairs: dict[str, list[dict]] = {}
    for i, entry in enumerate(value):
        path = f"wire_pairs[{i}]"
        pattern = _check_pattern(WirePair, entry, path)
        if not 0.0 < pattern.crossing_deg < 180.0:
            raise ScenarioError(f"{path}.crossing_deg", f"{pattern.crossing_deg:g} deg is not accepted; accepted: "
                                "more than 0 and less than 180 deg (the angle between the two wires)")
        _limit("", f"{path}.about_deg", pattern.about_deg, ANGLE)
        if pattern.tension_N is not None and pattern.tension_kgf is not None:
            raise ScenarioError(f"{path}.tension_kgf", "give the tension once, as tension_N or tension_kgf, not both")
        on = list(pattern.rings) if pattern.rings is not None else rings
        for j, ring in enumerate(on):
            where = f"{path}.rings[{j}]" if pattern.rings is not None else f"{path}.rings"
            if ring not in rings:
                raise ScenarioError(where, f"{ring!r} is no ring of the scenario; its rings: {', '.join(rings)}")
            if ring in pairs:
                raise ScenarioError(where, f"ring {ring!r} already has a pair of wires from another [[wire_pairs]] "
                                    "entry; accepted: each ring in one entry")
            half = 0.5 * pattern.crossing_deg
            keys = {k: entry[k] for k in ("diameter_mm", "tension_N", "tension_kgf", "olive", "material") if k in entry}
            made = []
            for n, (angle, face) in enumerate(((pattern.about_deg - half, "top"),
                                               (pattern.about_deg + half, "bottom")), start=1):
                name = f"{ring}_wire{n}"
                made.append({"name": name, "ring": ring, "angle_deg": angle, "face": face, **keys})
                origins.parts[("wires", name)] = f"{path} of {source}"
                for key in made[-1]:
                    origins.keys.pop(("wires", name, key), None)
            pairs[ring] = made
        origins.notes.append(f"{path}: wires crossing at {pattern.crossing_deg:g} deg about {pattern.about_deg:g} deg "
                             f"on {', '.join(on)} ({2 * len(on)} wires, in place of the wires of those rings)")
    out: list[dict] = []
    done: set[str] = set()
    for wire in prior:
        ring = wire.get("ring")
        if ring in pairs:
            if ring not in done:
                out += pairs[ring]
                done.add(ring)
        else:
            out.append(wire)
    for ring in rings:
        if ring in pairs and ring not in done:
            out += pairs[ring]
    return out


def _rods_evenly(value: Any, source: str, origins: Origins) -> list[dict]:
    """The rods of [rods_evenly]."""
    if not isinstance(value, dict):
        raise ScenarioError("rods_evenly", f"must be a table ([rods_evenly] with count = ...), got {value!r}")
    pattern = _check_pattern(RodsEvenly, value, "rods_evenly")
    if not 1 <= pattern.count <= MAX_RODS:
        raise ScenarioError("rods_evenly.count", f"{pattern.count} is not accepted; accepted: 1 to {MAX_RODS} rods")
    _limit("", "rods_evenly.start_deg", pattern.start_deg, ANGLE)
    keys = {k: value[k] for k in ("diameter_mm", "material", "inner_diameter_mm", "from_ring", "to_ring")
            if k in value}
    rods = []
    for k in range(pattern.count):
        angle = pattern.start_deg + k * 360.0 / pattern.count
        angle = angle - 360.0 if angle >= 360.0 else angle
        name = f"rod{k + 1}"
        rods.append({"name": name, "angle_deg": angle, **keys})
        origins.parts[("rods", name)] = f"rods_evenly of {source}"
    which = f"{pattern.count} rods rod1 ... rod{pattern.count}, every {360.0 / pattern.count:g} deg from" \
        if pattern.count > 1 else "1 rod, rod1, at"
    origins.notes.append(f"rods_evenly: {which} {pattern.start_deg:g} deg (in place of any rods)")
    return rods


def compose(own: dict[str, Any], source: str, base: dict[str, Any] | None = None, base_name: str = "",
            origins: Origins | None = None) -> tuple[dict[str, Any], Origins]:
    """The plain data of a scenario: `own` (a file's data, `source` its name) merged onto
    `base` (the resolved data of the scenario it extends, file `base_name`, or None), its `remove` applied
    and its patterns expanded (module docstring). Raises ScenarioError."""
    origins = origins if origins is not None else Origins()
    data: dict[str, Any] = copy.deepcopy(base) if base is not None else {}
    first_note = len(origins.notes)
    own = {k: v for k, v in own.items() if k != "extends"}
    if base is not None:
        data.pop("name", None)
        description = data.pop("description", "")
        if "description" not in own:
            data["description"] = f"extends {base_name}" + (f": {description}" if description else "")
    changed: list[str] = []
    added: list[str] = []
    removed = own.pop("remove", None)
    if removed is not None:
        if not isinstance(removed, list) or not all(isinstance(n, str) for n in removed):
            raise ScenarioError("remove", f"{removed!r} is not accepted; accepted: a list of part names "
                                '(remove = ["ring2_wire1"])')
        if base is None:
            raise ScenarioError("remove", "leaves out parts of the scenario this file extends, and it extends none; "
                                'accepted: remove with extends = "base.toml" (a file without extends lists the parts '
                                "it has)")
        for i, name in enumerate(removed):
            groups = [g for g in NAMED_LISTS if any(p.get("name") == name for p in data.get(g, []))]
            if not groups:
                known = [p.get("name") for g in NAMED_LISTS for p in data.get(g, [])]
                raise ScenarioError(f"remove[{i}]", f"{name!r} is no part of the base scenario {base_name}; accepted: "
                                    f"one of {', '.join(map(str, known)) or 'none'}")
            for g in groups:
                data[g] = [p for p in data[g] if p.get("name") != name]
    pattern_wires, pattern_rods = own.pop("wire_pairs", None), own.pop("rods_evenly", None)
    for key, value in own.items():
        if key in NAMED_LISTS:
            continue
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = _merge_table(data[key], value, (key,), source, origins)
        else:
            data[key] = copy.deepcopy(value)
            origins.keys[(key,)] = source
    if "rings" in own:
        data["rings"] = _merge_parts("rings", data.get("rings", []), own["rings"], source, origins, changed, added)
    if pattern_wires is not None:
        rings = data.get("rings") if "rings" in data else [{"name": r.name} for r in standard_rings()]
        names = [r.get("name") for r in rings if isinstance(r, dict) and isinstance(r.get("name"), str)]
        data["wires"] = _wire_pairs(pattern_wires, names, data.get("wires", []), source, origins)
    if pattern_rods is not None:
        data["rods"] = _rods_evenly(pattern_rods, source, origins)
    for group in NAMED_LISTS[1:]:
        if group in own:
            data[group] = _merge_parts(group, data.get(group, []), own[group], source, origins, changed, added)
    if base is not None:
        said = [f"extends {base_name}"]
        for what, names in (("removed", removed or []), ("changed", changed), ("added", added)):
            if names:
                said.append(f"{what}: {', '.join(names)}")
        origins.notes.insert(first_note, "; ".join(said))
    return data, origins


# --------------------------------------------------------------------- files
def read_toml(path: Path) -> dict[str, Any]:
    """A scenario file's TOML data; ScenarioError naming the file if it cannot be read."""
    if not path.is_file():
        raise ScenarioError("", f"{path}: no such scenario file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError("", f"{path}: not a text (UTF-8) file") from None
    except OSError as exc:
        raise ScenarioError("", f"{path}: cannot be read ({exc.strerror or exc})") from None


def file_data(s: Scenario) -> dict[str, Any]:
    """The plain data of a scenario as a file would give it (no infinite number)."""
    data = copy.deepcopy(s.to_dict())
    for m in data.get("materials", []):
        if m.get("ultimate_stress_MPa") == math.inf:  # the default: never yields (not a number a file gives)
            del m["ultimate_stress_MPa"]
    return data


def load_composed(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Origins | None]:
    """The plain data of the scenario file `path` with its base (`extends`, recursively)
    merged in and its patterns expanded; Origins None for a file that uses neither (its
    data untouched). `chain`: the files that extend this one. Raises ScenarioError."""
    from sim.scenario import _resolve_surface, parse_checked

    raw = read_toml(path)
    if isinstance(raw, dict):  # a bone surface's path is relative to the file that gives it
        raw = _resolve_surface(raw, path.parent)
    if not isinstance(raw, dict) or not any(k in raw for k in COMPOSE_KEYS):
        return raw, None
    if "extends" not in raw:
        return compose(raw, path.name, origins=Origins())
    value = raw["extends"]
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError("extends", f"{value!r} is not accepted; accepted: the path of a scenario file, relative "
                            "to this one (a string, extends = \"standard-4ring.toml\")")
    base_path = (path.parent / value).resolve()
    here = path.resolve()
    if base_path in (*chain, here):
        ring = [*chain, here]
        cycle = ring[ring.index(base_path):] + [base_path]
        raise ScenarioError("extends", "a cycle: " + " extends ".join(p.name for p in cycle) + "; accepted: a chain "
                            f"of bases that ends in a file without extends (in {base_path.parent})")
    if not base_path.is_file():
        raise ScenarioError("extends", f"{value!r}: no such scenario file {base_path} (the path is relative to "
                            f"{path.name}, in {path.parent.resolve()})")
    try:
        base_data, base_origins = load_composed(base_path, (*chain, here))
        base = parse_checked(base_data, base_origins, default_name=base_path.stem)
    except ScenarioError as exc:
        text = str(exc)
        said = text if text.startswith(f"{base_path}: ") else f"{base_path}: {text}"
        raise ScenarioError("extends", f"the base scenario {said}") from None
    origins = base_origins or Origins()
    origins.default = origins.default or base_path.name
    origins.notes = [*origins.notes]
    return compose(raw, path.name, base=file_data(base), base_name=base_path.name, origins=origins)
