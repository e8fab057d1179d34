"""Bar charts of passages and participants per timepoint, as PNG bytes with alt text, for the Word reports.

Every chart in a report shares one y axis (``ChartMaker(scale=...)``: the largest count in the report), so 9
and 95 passages never look alike; each bar carries its value, each chart a legend and gridlines on the
shared scale, and ``alt_text`` describes the same numbers for screen readers and the PDF's structure tree.

Drawn with Pillow (bars, lines and FreeType text), which loads in a few hundredths of a second: matplotlib
took a third to half a second to import, a third of a whole themes report's budget, for charts this simple.
Pillow is imported once per process and only when the first chart is drawn; without it (or without FreeType)
the reports are built without charts rather than failing. A report has one chart per code (hundreds): the
axes, gridlines, labels and legend are drawn once per set of timepoints, and each chart is a copy of that
picture with its bars and values drawn on (about a millisecond, most of it PNG compression).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Any

PASSAGE_COLOUR = (0x2F, 0x55, 0x97)
PARTICIPANT_COLOUR = (0x9D, 0xB9, 0xE3)
GRID_COLOUR = (0xDD, 0xDD, 0xDD)
TEXT_COLOUR = (0x20, 0x20, 0x20)
DPI = 150
LARGE_WIDTH_CM = 15.0  # shown at this width, so the chart's 16 pt text prints at 16 pt
_PILLOW: dict[str, Any] = {}  # loaded once per process


def _pillow() -> dict[str, Any] | None:
    if "Image" not in _PILLOW:
        try:
            from PIL import Image, ImageDraw, ImageFont, features

            if not features.check("freetype2"):
                return None
        except ImportError:
            return None
        _PILLOW.update(Image=Image, ImageDraw=ImageDraw, ImageFont=ImageFont)
    return _PILLOW


def nice_top(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5, 10, 20, 50, 100...)."""
    value = max(value, 1)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def alt_text(title: str, labels: Sequence[str], passages: Sequence[int], participants: Sequence[int]) -> str:
    """What the chart shows, in words: ``Bar chart, Supervision: passages and participants per timepoint:
    T1 After training 3 passages from 2 participants; ...``."""
    parts = [
        f"{label} {p} passage{'s' if p != 1 else ''} from {n} participant{'s' if n != 1 else ''}"
        for label, p, n in zip(labels, passages, participants, strict=True)
    ]
    return f"Bar chart, {title}: passages and participants per timepoint: " + "; ".join(parts) + "."


class ChartMaker:
    """Draws charts on one shared scale; ``available`` is False when Pillow (with FreeType) is missing."""

    def __init__(self, large: bool = False, scale: int = 1) -> None:
        self.large = large
        self.top = nice_top(scale)
        width_cm, height_cm = (LARGE_WIDTH_CM, 7.0) if large else (8.6, 3.6)
        self.size = (round(width_cm / 2.54 * DPI), round(height_cm / 2.54 * DPI))
        self._labels: tuple[str, ...] | None = None
        self._background: Any = None
        self._slots: list[tuple[int, int]] = []
        self._zero = 0
        self._per_unit = 1.0
        self._font: Any = None
        self._cache: dict[tuple[tuple[Any, ...], ...], bytes] = {}
        self._loaded: bool | None = None

    @property
    def available(self) -> bool:
        if self._loaded is None:
            self._loaded = _pillow() is not None
        return self._loaded

    def _layout(self, labels: tuple[str, ...]) -> None:
        """Axes on the shared scale, gridlines, tick labels, timepoint labels and legend; where bars go."""
        pil = _PILLOW
        width, height = self.size
        points = (16 if self.large else 7) * DPI / 72  # large print: no text below 16 pt, in charts too
        font = pil["ImageFont"].load_default(size=points)
        small = font if self.large else pil["ImageFont"].load_default(size=points * 0.9)
        image = pil["Image"].new("RGB", self.size, "white")
        draw = pil["ImageDraw"].Draw(image)
        left, right, top, bottom = int(width * 0.12), width - 8, int(height * 0.24), height - int(points * 1.9)
        self._zero = bottom
        self._per_unit = (bottom - top) / (self.top * 1.12)
        ticks = [0, self.top // 2, self.top] if self.top >= 2 else [0, self.top]
        for tick in ticks:
            y = bottom - round(tick * self._per_unit)
            if tick:
                draw.line([(left, y), (right, y)], fill=GRID_COLOUR, width=1)
            draw.text((left - 6, y), str(tick), fill=TEXT_COLOUR, font=small, anchor="rm")
        label = pil["Image"].new("RGB", (int(points * 4), int(points * 1.4)), "white")
        pil["ImageDraw"].Draw(label).text((0, 0), "count", fill=TEXT_COLOUR, font=small)
        label = label.rotate(90, expand=True)
        image.paste(label, (2, (top + bottom) // 2 - label.size[1] // 2))
        draw.line([(left, top - 4), (left, bottom)], fill=TEXT_COLOUR, width=2)
        group = (right - left) / max(1, len(labels))
        bar = int(group * 0.36)
        self._slots = []
        for i, text in enumerate(labels):
            centre = left + group * (i + 0.5)
            self._slots.append((int(centre) - bar, int(centre)))
            draw.text((centre, bottom + 4), text, fill=TEXT_COLOUR, font=font, anchor="ma")
        for i in range(len(labels)):
            centre = left + group * (i + 0.5)
            self._slots.append((int(centre), int(centre) + bar))
        legend_y = int(points * 0.9)
        x = width // 2 - int(points * 7)
        for colour, text in ((PASSAGE_COLOUR, "Passages"), (PARTICIPANT_COLOUR, "Participants")):
            draw.rectangle([x, legend_y - points * 0.4, x + points * 0.9, legend_y + points * 0.4], fill=colour)
            draw.text((x + points * 1.3, legend_y), text, fill=TEXT_COLOUR, font=font, anchor="lm")
            x += int(points * 7.5)
        self._background = image
        self._font = small
        self._labels = labels

    def passages_and_participants(
        self, labels: Sequence[str], passages: Sequence[int], participants: Sequence[int]
    ) -> bytes | None:
        """Grouped bars per timepoint with their values; None when charts cannot be drawn."""
        if not self.available:
            return None
        key = (tuple(labels), tuple(passages), tuple(participants))
        if key not in self._cache:  # identical charts are drawn once (and stored once in the .docx)
            self._cache[key] = self._draw(tuple(labels), [*passages, *participants])
        return self._cache[key]

    def _draw(self, labels: tuple[str, ...], values: list[int]) -> bytes:
        if labels != self._labels:
            self._layout(labels)
        image = self._background.copy()
        draw = _PILLOW["ImageDraw"].Draw(image)
        colours = [PASSAGE_COLOUR] * len(labels) + [PARTICIPANT_COLOUR] * len(labels)
        for (x0, x1), value, colour in zip(self._slots, values, colours, strict=True):
            top = self._zero - max(round(value * self._per_unit), 1 if value else 0)  # a small count still shows
            if value:
                draw.rectangle([x0, top, x1 - 1, self._zero - 1], fill=colour)
            draw.text(((x0 + x1) / 2, top - 2), str(value), fill=TEXT_COLOUR, font=self._font, anchor="md")
        draw.line([(self._slots[0][0] - 12, self._zero), (image.size[0] - 8, self._zero)], fill=TEXT_COLOUR,
                  width=2)  # fmt: skip
        return png_rgb(image.tobytes(), *image.size)


def png_rgb(pixels: bytes, width: int, height: int) -> bytes:
    """A PNG of 8-bit RGB rows written directly: no row filters (Pillow tries them on every row) and the
    fastest deflate, a third of the time of ``Image.save`` for these pictures."""
    stride = width * 3
    rows = b"".join(b"\x00" + pixels[i : i + stride] for i in range(0, stride * height, stride))
    per_metre = int(DPI / 0.0254 + 0.5)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
        _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        _chunk(b"IDAT", zlib.compress(rows, 1)),
        _chunk(b"IEND", b""),
    ))  # fmt: skip


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
