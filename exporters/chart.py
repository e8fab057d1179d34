"""Bar charts of passages and participants per timepoint, as PNG bytes with alt text, for the Word reports.

Every chart in a report shares one y axis (``ChartMaker(scale=...)``: the largest count in the report), so 9
and 95 passages never look alike; each bar carries its value and each chart a legend, and ``alt_text``
describes the same numbers for screen readers and for the PDF's structure tree.

matplotlib is optional at run time and costs a third of a second to import, so it is loaded once per process
and only when the first chart is drawn (``available`` tells whether it could be); without it the reports are
built without charts rather than failing. A report has one chart per code (hundreds), and drawing text is
most of a chart's cost, so matplotlib draws the figure (axes on the shared scale, legend, labels) once per
set of timepoints, and each chart is that picture with its bars painted as pixel rectangles where
matplotlib's transform puts them and its values stamped from glyphs rendered once per number (FreeType,
as matplotlib renders text); it is written as PNG directly (``png_rgba``): well under a millisecond of
drawing per chart instead of about fifteen.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Any

PASSAGE_COLOUR = "#2F5597"
PARTICIPANT_COLOUR = "#9DB9E3"
BAR_WIDTH = 0.38
_MATPLOTLIB: dict[str, Any] = {}  # loaded once per process: {"Figure": ..., "Canvas": ..., "version": ...}


def _matplotlib() -> dict[str, Any] | None:
    if "Figure" not in _MATPLOTLIB:
        try:
            import matplotlib

            matplotlib.use("Agg", force=True)
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            return None
        _MATPLOTLIB.update(Figure=Figure, Canvas=FigureCanvasAgg, version=matplotlib.__version__)
    return _MATPLOTLIB


def nice_top(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5, 10, 20, 25, 50, 100...)."""
    value = max(value, 1)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def alt_text(title: str, labels: Sequence[str], passages: Sequence[int], participants: Sequence[int]) -> str:
    """What the chart shows, in words: ``Bar chart, Supervision: T1 After training 3 passages from 2
    participants; ...``."""
    parts = [
        f"{label} {p} passage{'s' if p != 1 else ''} from {n} participant{'s' if n != 1 else ''}"
        for label, p, n in zip(labels, passages, participants, strict=True)
    ]
    return f"Bar chart, {title}: passages and participants per timepoint: " + "; ".join(parts) + "."


class ChartMaker:
    """Draws charts on one shared scale onto one reused figure; ``available`` is False without matplotlib."""

    def __init__(self, large: bool = False, scale: int = 1) -> None:
        self.large = large
        self.top = nice_top(scale)
        self._figure: Any = None
        self._canvas: Any = None
        self._software = ""
        self._background: Any = None
        self._labels: tuple[str, ...] = ()
        self._slots: list[tuple[int, int]] = []  # pixel columns of each bar
        self._zero = 0  # pixel row just above the axis line
        self._per_unit = 1.0  # pixels per count
        self._glyphs: dict[str, Any] = {}
        self._font: Any = None
        self._cache: dict[tuple[tuple[Any, ...], ...], bytes] = {}
        self._loaded: bool | None = None

    @property
    def available(self) -> bool:
        if self._loaded is None:
            found = _matplotlib()
            self._loaded = found is not None
            if found:
                width, height = (11.0, 4.6) if self.large else (8.6, 3.6)  # cm
                self._figure = found["Figure"](figsize=(width / 2.54, height / 2.54), dpi=150)
                self._canvas = found["Canvas"](self._figure)
                self._software = f"Matplotlib version{found['version']}, https://matplotlib.org/"  # as savefig's
        return self._loaded

    def _layout(self, labels: tuple[str, ...]) -> None:
        """Axes (on the shared scale), legend and timepoint labels (drawn only when the timepoints change),
        and where the bars go, in pixels."""
        figure = self._figure
        figure.clear()
        font = 9 if self.large else 7
        figure.subplots_adjust(left=0.13, right=0.98, bottom=0.16, top=0.80)
        axes = figure.add_subplot(1, 1, 1)
        positions = list(range(len(labels)))
        zeros = [0] * len(labels)
        passages = axes.bar([p - BAR_WIDTH / 2 for p in positions], zeros, BAR_WIDTH, label="Passages",
                            color=PASSAGE_COLOUR)  # fmt: skip
        people = axes.bar([p + BAR_WIDTH / 2 for p in positions], zeros, BAR_WIDTH, label="Participants",
                          color=PARTICIPANT_COLOUR)  # fmt: skip
        axes.set_xticks(positions, list(labels), fontsize=font)
        axes.tick_params(axis="x", length=0)
        axes.set_ylim(0, self.top * 1.18)
        ticks = [0, self.top // 2, self.top] if self.top >= 2 else [0, self.top]
        axes.set_yticks(ticks, [str(t) for t in ticks], fontsize=font - 1)
        axes.set_ylabel("count", fontsize=font - 1)
        axes.yaxis.grid(True, color="#DDDDDD", linewidth=0.6)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        figure.legend(loc="upper center", ncol=2, fontsize=font, frameon=False, bbox_to_anchor=(0.55, 1.0),
                      handlelength=1.0, columnspacing=1.2)  # fmt: skip
        self._axes, self._labels = axes, labels
        bars = [*passages, *people]
        self._canvas.draw()
        import numpy as np

        height = self._canvas.get_width_height(physical=True)[1]
        self._background = np.array(self._canvas.buffer_rgba())  # a copy: the canvas buffer is reused
        to_pixels = axes.transData.transform
        (_x, zero), (_x1, one) = to_pixels([(0, 0), (0, 1)])
        self._per_unit = one - zero
        self._zero = height - int(round(zero)) - 2  # leave the axis line showing
        self._slots = []
        for bar in bars:
            (x0, _y0), (x1, _y1) = to_pixels([(bar.get_x(), 0), (bar.get_x() + bar.get_width(), 0)])
            self._slots.append((int(round(x0)), int(round(x1))))
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font

        self._font = FT2Font(font_manager.findfont(font_manager.FontProperties()))
        self._font.set_size(font - 1, self._figure.dpi)
        self._glyphs = {}

    def passages_and_participants(
        self, labels: Sequence[str], passages: Sequence[int], participants: Sequence[int]
    ) -> bytes | None:
        """Grouped bars per timepoint with their values; None when plotting is unavailable."""
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
        colours = [_rgb(PASSAGE_COLOUR)] * len(labels) + [_rgb(PARTICIPANT_COLOUR)] * len(labels)
        for (x0, x1), value, colour in zip(self._slots, values, colours, strict=True):
            top = self._zero - int(round(value * self._per_unit))
            if value:
                image[max(top, 0) : self._zero, x0:x1, :3] = colour
            self._stamp(image, str(value), (x0 + x1) // 2, top - 3)
        height, width = image.shape[:2]
        return png_rgba(image, width, height, self._figure.dpi, self._software)

    def _stamp(self, image: Any, text: str, centre: int, bottom: int) -> None:
        """Black text centred at ``centre`` with its baseline at row ``bottom`` (glyphs rendered once)."""
        mask = self._glyphs.get(text)
        if mask is None:
            import numpy as np

            self._font.set_text(text, 0.0)
            self._font.draw_glyphs_to_bitmap(antialiased=True)
            mask = self._glyphs[text] = np.asarray(self._font.get_image(), dtype=np.float32)[..., None] / 255.0
        rows, cols = mask.shape[:2]
        top, left = max(bottom - rows, 0), max(centre - cols // 2, 0)
        region = image[top : top + rows, left : left + cols, :3]
        part = mask[: region.shape[0], : region.shape[1]]
        region[...] = (region * (1.0 - part)).astype(image.dtype)


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def png_rgba(pixels: Any, width: int, height: int, dpi: float, software: str) -> bytes:
    """A PNG of 8-bit RGBA rows (top row first), as matplotlib's ``savefig`` describes it (pixel density
    and a ``Software`` note) but written directly: no row filters (Pillow tries five filters on every row,
    two thirds of its time here) and the fastest deflate."""
    data = memoryview(pixels).cast("B") if not hasattr(pixels, "tobytes") else memoryview(pixels.tobytes())
    stride = width * 4
    rows = b"".join(b"\x00" + data[i : i + stride] for i in range(0, stride * height, stride))
    per_metre = int(dpi / 0.0254 + 0.5)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),
        _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        _chunk(b"tEXt", b"Software\x00" + software.encode("latin-1", "replace")),
        _chunk(b"IDAT", zlib.compress(rows, 1)),
        _chunk(b"IEND", b""),
    ))  # fmt: skip


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
