"""Charts of questionnaire scores for the joint report, as PNG bytes with alt text (issue 17).

Two pictures, drawn with Pillow like the report's bar charts (``exporters.chart``):

* a spaghetti plot: every participant's scores across the timepoints as a thin grey line, the mean at each
  timepoint with its 95% CI as a thick line with error bars, and the norm (when the user entered one) as a
  dashed line, so readers see spread and individual courses, not only the mean;
* small multiples: one small panel per participant with their scores over the waves and, under it, one row
  per theme with a filled square at each wave where they voiced it (hollow: interviewed, not voiced; a dot:
  not coded yet; nothing: not interviewed), so a score's turn can be read beside what they talked about.

Both return None when Pillow (with FreeType) is missing: the report is written without its charts then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from exporters.chart import DPI, GRID_COLOUR, TEXT_COLOUR, _pillow, png_rgb

LINE_GREY = (0xB0, 0xB0, 0xB0)
MEAN_COLOUR = (0x2F, 0x55, 0x97)
NORM_COLOUR = (0xC0, 0x50, 0x20)
THEME_COLOUR = (0x2F, 0x55, 0x97)


@dataclass(frozen=True)
class Panel:
    """One participant's small multiple: scores per timepoint and each theme's status per timepoint."""

    participant: str
    scores: tuple[float | None, ...]
    themes: tuple[str, ...]  # per theme, its pattern: one mark per timepoint (+ - ? .), as models.scores gives
    caption: str  # e.g. "reliably better"


def _axis(low: float, high: float) -> tuple[float, float]:
    """A little room above and below the data."""
    if high <= low:
        return low - 1, high + 1
    pad = (high - low) * 0.08
    return low - pad, high + pad


def spaghetti(
    labels: Sequence[str],
    lines: Sequence[Sequence[float | None]],
    means: Sequence[float | None],
    cis: Sequence[tuple[float | None, float | None]],
    norm: float | None,
    measure: str,
    large: bool = False,
) -> bytes | None:
    """Every participant's course, the mean with its 95% CI, and the norm line."""
    pil = _pillow()
    if pil is None or not labels:
        return None
    width_cm, height_cm = (15.0, 9.0) if large else (15.0, 7.0)
    width, height = round(width_cm / 2.54 * DPI), round(height_cm / 2.54 * DPI)
    points = (16 if large else 8) * DPI / 72
    font = pil["ImageFont"].load_default(size=points)
    image = pil["Image"].new("RGB", (width, height), "white")
    draw = pil["ImageDraw"].Draw(image)
    values = [v for line in lines for v in line if v is not None]
    values += [v for pair in cis for v in pair if v is not None]
    if norm is not None:
        values.append(norm)
    low, high = _axis(min(values, default=0.0), max(values, default=1.0))
    left, right, top, bottom = int(width * 0.1), width - int(points * 2), int(points * 2.2), height - int(points * 2.4)

    def y_of(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    step = (right - left) / max(1, len(labels))
    xs = [left + step * (i + 0.5) for i in range(len(labels))]
    for i in range(5):
        value = low + (high - low) * i / 4
        y = y_of(value)
        draw.line([(left, y), (right, y)], fill=GRID_COLOUR, width=1)
        draw.text((left - 6, y), f"{value:.0f}" if high - low >= 8 else f"{value:.1f}", fill=TEXT_COLOUR, font=font,
                  anchor="rm")  # fmt: skip
    for x, label in zip(xs, labels, strict=True):
        draw.text((x, bottom + 6), label, fill=TEXT_COLOUR, font=font, anchor="ma")
    for line in lines:
        _polyline(draw, xs, [None if v is None else y_of(v) for v in line], LINE_GREY, 2, dot=4)
    if norm is not None:
        y = y_of(norm)
        x = float(left)
        while x < right:
            draw.line([(x, y), (min(x + 14, right), y)], fill=NORM_COLOUR, width=3)
            x += 24
    for x, (ci_low, ci_high) in zip(xs, cis, strict=True):
        if ci_low is not None and ci_high is not None:
            draw.line([(x, y_of(ci_low)), (x, y_of(ci_high))], fill=MEAN_COLOUR, width=3)
            for end in (ci_low, ci_high):
                draw.line([(x - 8, y_of(end)), (x + 8, y_of(end))], fill=MEAN_COLOUR, width=3)
    _polyline(draw, xs, [None if m is None else y_of(m) for m in means], MEAN_COLOUR, 5, dot=8)
    legend = [(LINE_GREY, "each participant"), (MEAN_COLOUR, "mean with 95% CI")]
    if norm is not None:
        legend.append((NORM_COLOUR, f"norm {norm:g}"))
    x = left
    for colour, text in legend:
        draw.line([(x, points), (x + points * 1.6, points)], fill=colour, width=4)
        draw.text((x + points * 2, points), text, fill=TEXT_COLOUR, font=font, anchor="lm")
        x += int(points * (3 + 0.62 * len(text)))
    draw.text((right, points), measure, fill=TEXT_COLOUR, font=font, anchor="rm")
    return png_rgb(image.tobytes(), width, height)


def _polyline(draw, xs: Sequence[float], ys: Sequence[float | None], colour, width: int, dot: int) -> None:
    """Lines between consecutive known points (a missed wave breaks the line), a dot at each point."""
    for (x0, y0), (x1, y1) in zip(zip(xs, ys, strict=True), zip(xs[1:], ys[1:], strict=True), strict=False):
        if y0 is not None and y1 is not None:
            draw.line([(x0, y0), (x1, y1)], fill=colour, width=width)
    for x, y in zip(xs, ys, strict=True):
        if y is not None:
            draw.ellipse([x - dot / 2, y - dot / 2, x + dot / 2, y + dot / 2], fill=colour)


def small_multiples(
    labels: Sequence[str], panels: Sequence[Panel], themes: Sequence[str], low: float, high: float, large: bool = False
) -> bytes | None:
    """A grid of panels (three across, four in large print is too small: two), one per participant."""
    pil = _pillow()
    if pil is None or not panels:
        return None
    across = 2 if large else 3
    points = (16 if large else 8) * DPI / 72
    font = pil["ImageFont"].load_default(size=points)
    width = round(15.0 / 2.54 * DPI)
    panel_w = width // across
    plot_h = int(points * 6)
    theme_h = int(points * 1.3)
    panel_h = int(points * 2) + plot_h + theme_h * len(themes) + int(points * 1.6)
    rows = -(-len(panels) // across)
    image = pil["Image"].new("RGB", (width, panel_h * rows), "white")
    draw = pil["ImageDraw"].Draw(image)
    low, high = _axis(low, high)
    for index, panel in enumerate(panels):
        ox, oy = (index % across) * panel_w, (index // across) * panel_h
        left, right = ox + int(points * 1.2), ox + panel_w - int(points * 1.2)
        top, bottom = oy + int(points * 2), oy + int(points * 2) + plot_h
        draw.text((left, oy + points * 0.9), f"{panel.participant}  {panel.caption}", fill=TEXT_COLOUR, font=font,
                  anchor="lm")  # fmt: skip
        draw.rectangle([left, top, right, bottom], outline=GRID_COLOUR, width=1)
        step = (right - left) / max(1, len(labels))
        xs = [left + step * (i + 0.5) for i in range(len(labels))]
        ys = [None if v is None else bottom - (v - low) / (high - low) * (bottom - top) for v in panel.scores]
        _polyline(draw, xs, ys, MEAN_COLOUR, 3, dot=7)
        for x, value, y in zip(xs, panel.scores, ys, strict=True):
            if value is not None and y is not None:
                draw.text((x, y - 6), f"{value:g}", fill=TEXT_COLOUR, font=font, anchor="md")
        for row, pattern in enumerate(panel.themes):
            cy = bottom + theme_h * (row + 0.5) + 2
            size = points * 0.45
            for x, mark in zip(xs, pattern, strict=True):
                box = [x - size, cy - size, x + size, cy + size]
                if mark == "+":
                    draw.rectangle(box, fill=THEME_COLOUR)
                elif mark == "-":
                    draw.rectangle(box, outline=THEME_COLOUR, width=2)
                elif mark == "?":
                    draw.ellipse([x - 2, cy - 2, x + 2, cy + 2], fill=TEXT_COLOUR)
        for x, label in zip(xs, labels, strict=True):
            draw.text((x, bottom + theme_h * len(themes) + 4), label, fill=TEXT_COLOUR, font=font, anchor="ma")
    return png_rgb(image.tobytes(), *image.size)


def theme_key(themes: Sequence[str]) -> str:
    """The order of the theme rows under each panel, for the caption and alt text."""
    return "; ".join(f"row {i}: {theme}" for i, theme in enumerate(themes, 1))
