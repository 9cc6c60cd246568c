"""The hexapod prescription a patient and a nurse follow: per day, each strut's target
length and the change from the day before, strut swaps marked, as a CSV table, a
printable HTML page and a PDF (reportlab).

Pure output from the rows and summary of `sim.correction.run_hexapod`. Lengths are joint
centre to joint centre in mm, rounded to `DECIMALS`; each day's change is the difference
of the rounded lengths, so that the numbers a patient reads add up. Struts are numbered
1-6 (the correcting level; 7-12, 13-18 for further levels) and coloured in the rainbow
order red, orange, yellow, green, blue, purple (`STRUT_COLOURS`; docs/hexapod.md says
where this convention comes from and where it could not be confirmed).
"""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

DECIMALS = 1

# strut number -> (colour name, fill for a table cell or a line, text colour on that fill)
STRUT_COLOURS: dict[int, tuple[str, str, str]] = {
    1: ("red", "#d62728", "#ffffff"),
    2: ("orange", "#ff7f0e", "#000000"),
    3: ("yellow", "#ffd700", "#000000"),
    4: ("green", "#2ca02c", "#ffffff"),
    5: ("blue", "#1f77b4", "#ffffff"),
    6: ("purple", "#9467bd", "#ffffff"),
}
# yellow lines vanish on white paper: plots draw strut 3 in a darker gold
PLOT_COLOURS = tuple("#c9a800" if k == 3 else STRUT_COLOURS[k][1] for k in range(1, 7))

DISCLAIMER = ("Computed by the ilizarov toolkit, a research tool: a clinician must check every number (the frame's "
              "mounting, the deformity, the strut lengths on day 0) before a patient follows it.")


def strut_colour(k: int) -> tuple[str, str, str]:
    """(name, fill, text colour) of strut k (1-based); further levels repeat the six colours."""
    return STRUT_COLOURS[(k - 1) % 6 + 1]


def prescription_rows(schedule_rows: list[dict[str, Any]], decimals: int = DECIMALS) -> list[dict[str, Any]]:
    """One row per day: day, then for each strut k its target length strutk_mm (rounded),
    the change strutk_change_mm from the day before (of the rounded lengths; 0 on day 0),
    its size strutk_size and strutk_swap ("short -> medium" on the day it is swapped, else
    ""), then all the day's swaps in words."""
    out = []
    previous = None
    for r in schedule_rows:
        row: dict[str, Any] = {"day": r["day"]}
        swaps = {int(x.split(":")[0].split()[1]): x.split(": ", 1)[1] for x in filter(None, r["swaps"].split("; "))}
        lengths = [round(float(r[f"strut{k}_mm"]), decimals) for k in range(1, 7)]
        for k in range(1, 7):
            row[f"strut{k}_mm"] = lengths[k - 1]
            row[f"strut{k}_change_mm"] = round(lengths[k - 1] - previous[k - 1], decimals) if previous else 0.0
            row[f"strut{k}_size"] = r[f"strut{k}_size"]
            row[f"strut{k}_swap"] = swaps.get(k, "")
        row["swaps"] = r["swaps"]
        previous = lengths
        out.append(row)
    return out


def write_prescription_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    """The prescription as CSV (one row per day; columns as `prescription_rows`)."""
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _fmt(v: float, decimals: int = DECIMALS, sign: bool = False) -> str:
    text = f"{v:+.{decimals}f}" if sign else f"{v:.{decimals}f}"
    return "0.0" if sign and float(text) == 0 else text


def amount_words(value: float, unit: str, direction: str | None, spec: str = ".1f", after: str = "") -> str:
    """'12.0 deg varus': a magnitude with its unit and direction word; a value that prints as
    zero has no direction ('0 deg', never '0 deg internal'). `after` follows the direction
    word ('rotation')."""
    text = f"{abs(value):{spec}}"
    if float(text) == 0.0:
        return f"0 {unit}"
    return " ".join(filter(None, (text, unit, direction or "", after)))


# the films and their terms: (film, [(key, unit, word after the direction)])
FILMS = (("AP film", (("ap_angulation", "deg", ""), ("ap_translation", "mm", ""))),
         ("lateral film", (("lateral_angulation", "deg", ""), ("lateral_translation", "mm", ""))),
         ("axial", (("axial_rotation", "deg", "rotation"), ("length", "mm", ""))))


def deformity_words(d: dict[str, Any], separator: str = ", ") -> list[tuple[str, str]]:
    """(film, words) of a deformity or residual given as magnitude and name columns, its
    terms that print as zero left out (a film with none left is left out: [] when there
    is nothing to correct)."""
    out = []
    for film, terms in FILMS:
        words = [amount_words(d[f"{key}_{unit}"], unit, d[key], after=after) for key, unit, after in terms]
        words = [w for w in words if w not in ("0 deg", "0 mm")]
        if words:
            out.append((film, separator.join(words)))
    return out


def _header_facts(summary: dict[str, Any], scenario) -> list[tuple[str, str]]:
    h = scenario.hexapod
    rings = {r.name: r for r in scenario.rings}
    plan = {"residual": "residual correction from the struts in place",
            "deformity": "correction of the deformity as mounted",
            "strut lengths": "correction from the strut lengths as mounted"}[summary["plan"]]
    facts = [("limb", f"{summary['side']}, reference fragment {summary['reference_fragment']}"),
             ("plan", f"{plan}: {summary['days']} days, at most {summary['max_rate_mm_per_day']:g} mm a day at the "
                      "structure at risk")]
    label = "residual (new films)" if summary["plan"] == "residual" else "deformity"
    words = deformity_words(summary["deformity"])
    facts += [(f"{label}, {film}", text) for film, text in words] or [(label, "none")]
    ref, mov = rings[h.reference_ring], rings[h.moving_ring]
    facts.append(("frame", f"reference ring {ref.name} ({ref.inner_diameter_mm:g} mm), moving ring {mov.name} "
                           f"({mov.inner_diameter_mm:g} mm); struts 1-6 numbered counter-clockwise seen from "
                           "proximal"))
    m = summary["mounting"]
    if m.get("offsets"):
        o = m["offsets"]
        offset = [amount_words(o[f"{k}_mm"], "mm", o[k], "g") for k in ("ap_offset", "lateral_offset", "axial_offset")]
        facts.append(("mounting", f"reference ring {', '.join(offset)} of the origin; rotary offset "
                                  f"{amount_words(o['rotary_offset_deg'], 'deg', o['rotary_offset'], 'g')}"))
    facts.append(("sizes on day 0", ", ".join(f"strut {k + 1}: {z}" for k, z in enumerate(summary["strut_sizes_start"]))))
    return facts


def prescription_html(summary: dict[str, Any], rows: list[dict[str, Any]], scenario) -> str:
    """A self-contained printable page (A4): facts, the daily table, the swaps, further levels."""
    e = html.escape
    head_cells = "".join(
        f'<th class="strut" style="background:{fill};color:{ink}">strut {k}<br><span>{name}</span></th>'
        for k, (name, fill, ink) in STRUT_COLOURS.items())
    body = []
    for r in rows:
        cells = []
        for k in range(1, 7):
            change = r[f"strut{k}_change_mm"]
            swap = r[f"strut{k}_swap"]
            klass = ' class="swap"' if swap else ""
            note = f'<div class="swapnote">&#10033; swap: {e(swap).replace("-&gt;", "&rarr;")}</div>' if swap else ""
            change_text = "as mounted" if r["day"] == 0 else f"{_fmt(change, sign=True)} mm"
            cells.append(f'<td{klass}><div class="len">{_fmt(r[f"strut{k}_mm"])}</div>'
                         f'<div class="chg">{change_text}</div>{note}</td>')
        day = "0<br><span>check</span>" if r["day"] == 0 else str(r["day"])
        body.append(f'<tr><th class="day">{day}</th>{"".join(cells)}</tr>')
    swaps = [(r["day"], k, r[f"strut{k}_swap"], r[f"strut{k}_mm"]) for r in rows for k in range(1, 7)
             if r[f"strut{k}_swap"]]
    swap_rows = "".join(
        f'<tr><td>{d}</td><td style="background:{strut_colour(k)[1]};color:{strut_colour(k)[2]}">strut {k} '
        f'({strut_colour(k)[0]})</td><td>{e(w).replace("-&gt;", "&rarr;")}</td><td>{_fmt(L)} mm</td></tr>'
        for d, k, w, L in swaps)
    swap_table = (f'<h2>Strut swaps</h2><table class="small"><tr><th>day</th><th>strut</th><th>size</th>'
                  f'<th>set the new strut to</th></tr>{swap_rows}</table>' if swaps else
                  "<h2>Strut swaps</h2><p>None: every strut stays within its size.</p>")
    fixed = ""
    if summary.get("fixed_levels"):
        items = []
        for level in summary["fixed_levels"]:
            cells = ", ".join(f"strut {k} ({strut_colour(k)[0]}) {_fmt(L)} mm"
                              for k, L in zip(level["struts"], level["strut_lengths_mm"]))
            items.append(f"<li>rings {e(' - '.join(level['rings']))}: {cells}</li>")
        fixed = ("<h2>Further levels: do not turn</h2><p>These struts hold the rings of one fragment and keep their "
                 f"length for the whole correction:</p><ul>{''.join(items)}</ul>")
    facts = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _header_facts(summary, scenario))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Strut prescription - {e(summary['scenario'])}</title>
<style>
@page {{ size: A4; margin: 12mm; }}
body {{ font-family: Helvetica, Arial, sans-serif; font-size: 10pt; color: #111; max-width: 190mm; margin: auto; }}
h1 {{ font-size: 15pt; margin: 0 0 4pt 0; }}
h2 {{ font-size: 12pt; margin: 12pt 0 4pt 0; }}
table {{ border-collapse: collapse; width: 100%; }}
.facts th {{ text-align: left; width: 32%; font-weight: normal; color: #555; padding: 1pt 4pt; }}
.facts td {{ padding: 1pt 4pt; }}
.rx {{ table-layout: fixed; }}
.rx th.day {{ width: 10%; }}
.rx th, .rx td {{ border: 1px solid #999; text-align: center; padding: 2pt; }}
.rx thead {{ display: table-header-group; }}
.rx tr {{ page-break-inside: avoid; }}
.rx th.strut span, th.day span {{ font-size: 8pt; font-weight: normal; }}
.rx .len {{ font-size: 11pt; font-weight: bold; }}
.rx .chg {{ font-size: 8pt; color: #444; }}
.rx td.swap {{ background: #fff3b0; outline: 2px solid #b00; }}
.swapnote {{ font-size: 8pt; color: #b00; font-weight: bold; }}
.small th, .small td {{ border: 1px solid #999; padding: 2pt 4pt; text-align: left; }}
.note {{ font-size: 8.5pt; color: #333; }}
.warn {{ font-size: 8.5pt; color: #800; border: 1px solid #800; padding: 4pt; margin-top: 8pt; }}
</style></head><body>
<h1>Strut prescription: {e(summary['scenario'])}</h1>
<table class="facts">{facts}</table>
<p class="note">Once a day, set each strut to the length in that day's row (mm, joint centre to joint centre: read
it on the strut's scale as your surgeon showed you). The small number is the change from the day before (+ longer,
&minus; shorter). Day 0 is the frame as mounted: check that the struts read these lengths before you start.
&#10033; marks a strut to swap for another size that day (table below the schedule).</p>
<table class="rx"><thead><tr><th class="day">day</th>{head_cells}</tr></thead>
<tbody>{''.join(body)}</tbody></table>
{swap_table}
{fixed}
<p class="warn">{e(DISCLAIMER)}</p>
</body></html>
"""


def write_prescription_pdf(summary: dict[str, Any], rows: list[dict[str, Any]], scenario, path: Path) -> Path:
    """The same prescription as a PDF (A4, the table's header repeated on every page)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8.5, leading=10.5)
    cell = styles["BodyText"].clone("cell", fontSize=8, leading=9.5, alignment=1)
    e = html.escape
    story: list[Any] = [Paragraph(f"Strut prescription: {e(summary['scenario'])}", styles["Title"])]
    facts = Table([[Paragraph(e(k), small), Paragraph(e(v), small)] for k, v in _header_facts(summary, scenario)],
                  colWidths=[45 * mm, 135 * mm])
    facts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TEXTCOLOR", (0, 0), (0, -1), colors.grey),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    story += [facts, Spacer(1, 3 * mm), Paragraph(
        "Once a day, set each strut to the length in that day's row (mm, joint centre to joint centre). The small "
        "number is the change from the day before (+ longer, - shorter). Day 0 is the frame as mounted: check that "
        "the struts read these lengths before you start. * marks a strut to swap for another size that day.", small),
        Spacer(1, 3 * mm)]
    header = ["day"] + [f"strut {k}\n{name}" for k, (name, _f, _i) in STRUT_COLOURS.items()]
    data = [header]
    style = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("ALIGN", (0, 0), (-1, -1), "CENTER"),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
             ("FONTSIZE", (0, 0), (-1, -1), 9)]
    for k, (_name, fill, ink) in STRUT_COLOURS.items():
        style += [("BACKGROUND", (k, 0), (k, 0), colors.HexColor(fill)),
                  ("TEXTCOLOR", (k, 0), (k, 0), colors.HexColor(ink))]
    for i, r in enumerate(rows, start=1):
        line = [str(r["day"]) if r["day"] else "0 (check)"]
        for k in range(1, 7):
            change = "as mounted" if r["day"] == 0 else f"{_fmt(r[f'strut{k}_change_mm'], sign=True)} mm"
            swap = r[f"strut{k}_swap"]
            text = f"<b>{_fmt(r[f'strut{k}_mm'])}</b><br/><font size=7>{change}</font>"
            if swap:
                text += f"<br/><font size=7 color='#b00000'><b>* swap: {e(swap)}</b></font>"
                style += [("BACKGROUND", (k, i), (k, i), colors.HexColor("#fff3b0")),
                          ("BOX", (k, i), (k, i), 1.5, colors.HexColor("#b00000"))]
            line.append(Paragraph(text, cell))
        data.append(line)
    table = Table(data, colWidths=[18 * mm] + [27 * mm] * 6, repeatRows=1)
    table.setStyle(TableStyle(style))
    story.append(table)
    swaps = [(r["day"], k, r[f"strut{k}_swap"], r[f"strut{k}_mm"]) for r in rows for k in range(1, 7)
             if r[f"strut{k}_swap"]]
    story += [Spacer(1, 4 * mm), Paragraph("Strut swaps", styles["Heading2"])]
    if swaps:
        t = Table([["day", "strut", "size", "set the new strut to"]]
                  + [[str(d), f"strut {k} ({strut_colour(k)[0]})", w, f"{_fmt(L)} mm"] for d, k, w, L in swaps],
                  repeatRows=1)
        sw_style = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 9),
                    ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold")]
        for i, (_d, k, _w, _L) in enumerate(swaps, start=1):
            sw_style += [("BACKGROUND", (1, i), (1, i), colors.HexColor(strut_colour(k)[1])),
                         ("TEXTCOLOR", (1, i), (1, i), colors.HexColor(strut_colour(k)[2]))]
        t.setStyle(TableStyle(sw_style))
        story.append(t)
    else:
        story.append(Paragraph("None: every strut stays within its size.", small))
    for level in summary.get("fixed_levels") or []:
        story += [Spacer(1, 3 * mm), Paragraph(
            f"Further level, rings {e(' - '.join(level['rings']))}: do not turn. " + ", ".join(
                f"strut {k} ({strut_colour(k)[0]}) {_fmt(L)} mm" for k, L in zip(level["struts"],
                                                                                   level["strut_lengths_mm"])), small)]
    story += [Spacer(1, 5 * mm), Paragraph(e(DISCLAIMER), small)]
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=12 * mm,
                            bottomMargin=12 * mm, title=f"Strut prescription - {summary['scenario']}",
                            author="ilizarov toolkit", invariant=1)
    doc.build(story)
    return Path(path)


__all__ = ["DISCLAIMER", "PLOT_COLOURS", "STRUT_COLOURS", "amount_words", "deformity_words", "prescription_html",
           "prescription_rows", "strut_colour", "write_prescription_csv", "write_prescription_pdf"]
