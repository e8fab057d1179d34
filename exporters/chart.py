"""Bar charts of passages and participants per timepoint, as PNG bytes with alt text, for the Word reports.

Every chart in a report shares one y axis (``ChartMaker(scale=...)``: the largest count in the report), so 9
and 95 passages never look alike; each bar carries its value and each chart a legend, and ``alt_text``
describes the same numbers for screen readers and for the PDF's structure tree.

matplotlib is optional at run time and costs a third of a second to import, so it is loaded once per process
and only when the first chart is drawn (``available`` tells whether it could be); without it the reports are
built without charts rather than failing. A report has one chart per code (hundreds): the figure, axes,
legend and labels are built once per (timepoints, scale), and everything but the bars and their values is
kept as a pixel buffer; each chart restores that buffer, draws its bars, values and the axis line, and is
written as PNG directly (``png_rgba``).
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
        self._bars: list[Any] = []
        self._values: list[Any] = []
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
        """Axes (on the shared scale), legend, timepoint labels and value texts (rebuilt only when the
        timepoints change), and the pixels of everything but the bars, their values and the axis line."""
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
        self._bars = [*passages, *people]
        self._values = [axes.text(0, 0, "", ha="center", va="bottom", fontsize=font - 1) for _bar in self._bars]
        drawn_each_time = [*self._bars, *self._values, axes.spines["bottom"]]
        for artist in drawn_each_time:
            artist.set_visible(False)
        self._canvas.draw()
        self._background = self._canvas.copy_from_bbox(figure.bbox)
        for artist in drawn_each_time:
            artist.set_visible(True)

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
        axes = self._axes
        pad = self.top * 0.02
        for bar, text, value in zip(self._bars, self._values, values, strict=True):
            bar.set_height(value)
            text.set_text(str(value))
            text.set_position((bar.get_x() + bar.get_width() / 2, value + pad))
        self._canvas.restore_region(self._background)
        for bar in self._bars:  # patches, then texts and the spine: the order of a full draw
            axes.draw_artist(bar)
        for text in self._values:
            axes.draw_artist(text)
        axes.draw_artist(axes.spines["bottom"])
        width, height = self._canvas.get_width_height(physical=True)
        return png_rgba(self._canvas.buffer_rgba(), width, height, self._figure.dpi, self._software)


def png_rgba(pixels: Any, width: int, height: int, dpi: float, software: str) -> bytes:
    """A PNG of 8-bit RGBA rows (top row first), as matplotlib's ``savefig`` describes it (pixel density
    and a ``Software`` note) but written directly: no row filters (Pillow tries five filters on every row,
    two thirds of its time here) and the fastest deflate."""
    data = memoryview(pixels).cast("B")
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
