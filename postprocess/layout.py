"""Text and layout of the pictures: every title, caption, label and colour bar is laid out
by matplotlib at the size the picture is written, so that its extent is known.

- `wrap_text` breaks a line at spaces so that it fits a width in pixels.
- `compose_picture` puts rendered 3D panels (images from PyVista, which draws no text)
  under a header, with a caption over each panel, labels with leader lines on the
  panels, and horizontal colour bars under them, into one PNG of an exact size.
- `text_problems` and `scale_problems` check a figure as it will be written: every drawn
  text inside the picture and clear of the other texts and of legends; every colour bar
  with a span that is not degenerate. The tests run them on every picture the commands
  write (tests/test_pictures.py).

Units: pixels (px) and points (pt) at `DPI` dots per inch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from postprocess.scales import ColourScale

DPI = 100
MARGIN_PX = 8
MIN_SCALE_SPAN_FRACTION = 0.05  # a colour bar spanning less than 5 % of its largest value is degenerate

__all__ = ["DPI", "Panel", "Label", "PictureLayout", "compose_picture", "plan_layout", "text_problems",
           "scale_problems", "edge_ink_fraction", "wrap_text", "text_width_px"]


def _renderer():
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(16, 16, DPI)


def text_width_px(text: str, fontsize_pt: float, weight: str = "normal") -> float:
    """Width in pixels of one line of text in matplotlib's default font (DejaVu Sans) at DPI."""
    from matplotlib.font_manager import FontProperties

    w, _h, _d = _renderer().get_text_width_height_descent(text, FontProperties(size=fontsize_pt, weight=weight),
                                                          ismath=False)
    return float(w)


def wrap_text(text: str, width_px: float, fontsize_pt: float, weight: str = "normal") -> list[str]:
    """The lines of `text` (its own newlines kept) broken at spaces so that each fits
    width_px; a single word wider than the width is broken at its last character that fits."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split(" ")
        line = ""
        for word in words:
            candidate = word if not line else f"{line} {word}"
            if text_width_px(candidate, fontsize_pt, weight) <= width_px or not line:
                line = candidate
            else:
                out.append(line)
                line = word
            while text_width_px(line, fontsize_pt, weight) > width_px and len(line) > 1:
                cut = len(line) - 1
                while cut > 1 and text_width_px(line[:cut], fontsize_pt, weight) > width_px:
                    cut -= 1
                out.append(line[:cut])
                line = line[cut:]
        out.append(line)
    return out


def line_height_px(fontsize_pt: float) -> float:
    return 1.3 * fontsize_pt * DPI / 72.0


@dataclass(frozen=True)
class Label:
    """A text written on a panel at (x, y) px from the panel's top-left corner.

    kind: "part" (black on a white box, with a leader line from the point) or "load"
    (red, no box, beside the arrow's head)."""

    x: float
    y: float
    text: str
    kind: str = "part"


@dataclass
class Panel:
    """One rendered view: an RGB image (h, w, 3), a caption over it, labels on it."""

    image: np.ndarray
    caption: str = ""
    labels: list[Label] = field(default_factory=list)


@dataclass(frozen=True)
class PictureLayout:
    """Where things go in a picture of size (width, height) px: the header lines (wrapped),
    the caption row, the panels (each panel_size px) and the colour-bar row."""

    size: tuple[int, int]
    header_lines: tuple[str, ...]
    header_pt: float
    caption_pt: float
    header_px: float
    caption_px: float
    bars_px: float
    n_panels: int
    panel_size: tuple[int, int]


def _font_sizes(size: tuple[int, int]) -> tuple[float, float]:
    width, height = size
    header = float(np.clip(min(height / 62.0, width / 70.0), 9.0, 15.0))
    return header, max(8.0, round(0.82 * header, 1))


def plan_layout(size: tuple[int, int], header: str, n_panels: int, n_bars: int, bar_label_lines: int = 1,
                captions: bool = True) -> PictureLayout:
    """Sizes of the header, caption row, panels and colour-bar row of a picture.

    size: (width, height) px of the written picture. The header is wrapped to the width;
    the panels share what is left, side by side. ValueError if nothing is left for them.
    """
    width, height = int(size[0]), int(size[1])
    header_pt, caption_pt = _font_sizes((width, height))
    lines = tuple(wrap_text(header, width - 2 * MARGIN_PX, header_pt)) if header else ()
    header_px = MARGIN_PX + len(lines) * line_height_px(header_pt) + (MARGIN_PX // 2 if lines else 0)
    caption_px = line_height_px(caption_pt) + 4 if captions else 0.0
    bars_px = 0.0
    if n_bars:
        bars_px = 16 + line_height_px(caption_pt) * (1 + bar_label_lines) + MARGIN_PX + 6
    panel_w = int((width - 2 * MARGIN_PX) // max(1, n_panels))
    panel_h = int(height - header_px - caption_px - bars_px - MARGIN_PX)
    if panel_w < 40 or panel_h < 40:
        raise ValueError(f"picture size {width}x{height} px leaves {panel_w}x{panel_h} px per panel "
                         f"for {n_panels} panels; accepted: a larger size or fewer panels")
    return PictureLayout((width, height), lines, header_pt, caption_pt, header_px, caption_px, bars_px,
                         n_panels, (panel_w, panel_h))


def _place_labels(ax, labels: Sequence[Label], panel_w: int, panel_h: int, fontsize: float) -> None:
    """Write the labels on a panel's axes (pixel data coordinates, y down), part labels
    moved off each other and into the panel, each with a leader line to its point."""
    placed = []  # (x0, y0, x1, y1) boxes in panel pixels
    pad = 3.0
    h = line_height_px(fontsize)
    for lab in sorted(labels, key=lambda lb: (lb.kind != "load", lb.y)):
        w = text_width_px(lab.text, fontsize) + 2 * pad
        if lab.kind == "load":
            x0, y0 = lab.x + 8, lab.y - h / 2
        else:
            x0, y0 = lab.x + 14, lab.y - h - 6
        x0 = float(np.clip(x0, 2, panel_w - w - 2))
        y0 = float(np.clip(y0, 2, panel_h - h - 2))
        for _ in range(60):  # slide down (then up) until clear of the labels already placed
            box = (x0, y0, x0 + w, y0 + h)
            hit = next((b for b in placed if box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]), None)
            if hit is None:
                break
            y0 = hit[3] + 1 if hit[3] + 1 + h < panel_h - 2 else max(2.0, hit[1] - h - 1)
            if hit[3] + 1 + h >= panel_h - 2 and y0 == 2.0:
                x0 = float(np.clip(hit[2] + 2, 2, panel_w - w - 2))
        placed.append((x0, y0, x0 + w, y0 + h))
        if lab.kind == "load":
            ax.text(x0 + pad, y0 + h / 2, lab.text, fontsize=fontsize, color="#d62728", fontweight="bold",
                    va="center", ha="left")
        else:
            ax.plot([lab.x, x0], [lab.y, y0 + h / 2], color="black", lw=0.8)
            ax.plot([lab.x], [lab.y], "o", color="black", ms=3)
            ax.text(x0 + pad, y0 + h / 2, lab.text, fontsize=fontsize, color="black", va="center", ha="left",
                    bbox=dict(boxstyle="square,pad=0.15", fc="white", ec="#555555", lw=0.6, alpha=0.9))


def compose_picture(out_png: str | Path, layout: PictureLayout, panels: Sequence[Panel],
                    bars: Sequence[ColourScale] = (), bar_ticks: dict[str, Sequence[float]] | None = None):
    """Write the picture: header, captions, panels and colour bars; return the path.

    The figure is built at exactly layout.size px (matplotlib, DPI) and written as PNG.
    Returns the Path of the PNG.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    width, height = layout.size
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    lh = line_height_px(layout.header_pt)
    for i, line in enumerate(layout.header_lines):
        fig.text(MARGIN_PX / width, 1 - (MARGIN_PX + i * lh) / height, line, fontsize=layout.header_pt,
                 fontweight="bold" if i == 0 else "normal", va="top", ha="left")
    pw, ph = layout.panel_size
    top = layout.header_px + layout.caption_px
    for k, panel in enumerate(panels):
        x0 = MARGIN_PX + k * pw
        ax = fig.add_axes((x0 / width, 1 - (top + ph) / height, pw / width, ph / height))
        img = np.asarray(panel.image)
        ax.imshow(img, extent=(0, img.shape[1], img.shape[0], 0), interpolation="nearest", aspect="auto")
        ax.set_xlim(0, pw)
        ax.set_ylim(ph, 0)
        ax.set_axis_off()
        if panel.caption:
            size = layout.caption_pt
            while size > 7.0 and text_width_px(panel.caption, size) > pw - 8:
                size -= 0.5
            cap = panel.caption
            if text_width_px(cap, size) > pw - 8:  # still too long: shorten at a word, say so
                cap = wrap_text(cap, pw - 8 - text_width_px(" …", size), size)[0] + " …"
            fig.text((x0 + 4) / width, 1 - (top - 2) / height, cap, fontsize=size, va="bottom",
                     ha="left", color="#333333")
        if panel.labels:
            _place_labels(ax, panel.labels, pw, ph, max(8.0, layout.caption_pt - 1))
    if bars:
        n = len(bars)
        bar_w = min(0.40 * width, 560.0, (width - 2 * MARGIN_PX - (n - 1) * 60) / n)
        total = n * bar_w + (n - 1) * 60
        y_bar = height - layout.bars_px + 6
        for k, scale in enumerate(bars):
            bx = (width - total) / 2 + k * (bar_w + 60)
            cax = fig.add_axes((bx / width, 1 - (y_bar + 14) / height, bar_w / width, 14 / height))
            sm = ScalarMappable(norm=Normalize(scale.lo, scale.hi), cmap=matplotlib.colormaps[scale.cmap])
            cb = fig.colorbar(sm, cax=cax, orientation="horizontal")
            cb.ax.tick_params(labelsize=layout.caption_pt - 1)
            ticks = (bar_ticks or {}).get(scale.label)
            if ticks is not None:
                cb.set_ticks(list(ticks))
            label = scale.label + (f"; {scale.note}" if scale.note else "")
            cb.set_label("\n".join(wrap_text(label, bar_w, layout.caption_pt)), fontsize=layout.caption_pt,
                         labelpad=2)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI, facecolor="white")
    return out


# ----------------------------------------------------------------------------- checks
def _drawn_texts(fig):
    """(renderer, [Text artists drawn]) after drawing the figure at its own dpi with Agg.

    Text.draw is watched while the figure draws, so only the texts that are drawn count
    (not the tick labels outside the axis limits, not empty or hidden texts)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    drawn = []
    original = Text.draw

    def record(self, rend, *args, **kwargs):
        if self.get_visible() and self.get_text().strip() and self not in drawn:
            drawn.append(self)
        return original(self, rend, *args, **kwargs)

    Text.draw = record
    try:
        fig.draw(renderer)
    finally:
        Text.draw = original
    return renderer, drawn


def text_problems(fig, tolerance_px: float = 1.0) -> list[str]:
    """What is wrong with the text of a matplotlib figure as drawn at its dpi: texts that
    reach outside the picture, texts that overlap each other, texts under a legend that is
    not theirs. An empty list when all text is legible."""
    from matplotlib.legend import Legend

    renderer, texts = _drawn_texts(fig)
    width, height = fig.bbox.width, fig.bbox.height
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    problems = []
    for t, b in boxes:
        if b.x0 < -tolerance_px or b.y0 < -tolerance_px or b.x1 > width + tolerance_px or b.y1 > height + tolerance_px:
            problems.append(f"text {t.get_text()!r} reaches outside the {width:.0f}x{height:.0f} px picture "
                            f"(x {b.x0:.0f}..{b.x1:.0f}, y {b.y0:.0f}..{b.y1:.0f})")
    for i, (t1, b1) in enumerate(boxes):
        for t2, b2 in boxes[i + 1:]:
            dx = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
            dy = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
            if dx > tolerance_px and dy > tolerance_px:
                problems.append(f"texts {t1.get_text()!r} and {t2.get_text()!r} overlap ({dx:.0f}x{dy:.0f} px)")
    for legend in fig.findobj(Legend):
        if not legend.get_visible():
            continue
        own = set(legend.get_texts()) | {legend.get_title()}
        lb = legend.get_window_extent(renderer)
        for t, b in boxes:
            if t in own:
                continue
            dx = min(lb.x1, b.x1) - max(lb.x0, b.x0)
            dy = min(lb.y1, b.y1) - max(lb.y0, b.y0)
            if dx > tolerance_px and dy > tolerance_px:
                problems.append(f"text {t.get_text()!r} is under a legend ({dx:.0f}x{dy:.0f} px)")
    return problems


def scale_problems(fig) -> list[str]:
    """Colour bars of a figure whose scale is degenerate: not finite, empty, or spanning
    less than MIN_SCALE_SPAN_FRACTION of its largest absolute value (noise made dramatic)."""
    problems = []
    for ax in fig.axes:
        cb = getattr(ax, "_colorbar", None)
        if cb is None:
            continue
        lo, hi = float(cb.norm.vmin), float(cb.norm.vmax)
        label = ax.get_xlabel() or ax.get_ylabel()
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
            problems.append(f"colour bar {label!r}: empty scale {lo:g}..{hi:g}")
        elif hi - lo < MIN_SCALE_SPAN_FRACTION * max(abs(lo), abs(hi)):
            problems.append(f"colour bar {label!r}: {lo:g}..{hi:g} spans {100 * (hi - lo) / max(abs(lo), abs(hi)):.1f} % "
                            f"of its values (at least {100 * MIN_SCALE_SPAN_FRACTION:.0f} % needed)")
    return problems


def edge_ink_fraction(rgb: np.ndarray, border_px: int = 2, background: int = 245) -> float:
    """Fraction of the pixels in the outer border of an image that are not background
    (white): text or parts running off the edge of the picture."""
    a = np.asarray(rgb)[..., :3].astype(int)
    mask = np.zeros(a.shape[:2], bool)
    mask[:border_px, :] = mask[-border_px:, :] = True
    mask[:, :border_px] = mask[:, -border_px:] = True
    ink = np.any(a < background, axis=-1)
    return float(np.count_nonzero(ink & mask)) / float(np.count_nonzero(mask))
