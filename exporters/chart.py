"""A small bar chart of segments and participants per timepoint, as PNG bytes for the Word reports.

matplotlib is optional at run time: it is imported lazily (Agg backend, no display needed) and when it
cannot be imported the reports are built without charts rather than failing. A report has one chart per
code (hundreds), so the figure and bars are built once and only the bar heights change from chart to
chart; a fixed layout (no ``tight_layout``), little text and fast PNG compression keep each chart to about
ten milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any

SEGMENT_COLOUR = "#2F5597"
PARTICIPANT_COLOUR = "#A9C4EB"
BAR_WIDTH = 0.38


class ChartMaker:
    """Draws charts onto one reused figure; ``available`` is False when matplotlib cannot be loaded."""

    def __init__(self, large: bool = False) -> None:
        self.large = large
        self._figure: Any = None
        self._labels: tuple[str, ...] = ()
        self._bars: list[Any] = []
        self._cache: dict[tuple[tuple[Any, ...], ...], bytes] = {}
        self.available = self._load()

    def _load(self) -> bool:
        try:
            import matplotlib

            matplotlib.use("Agg", force=True)
            from matplotlib.figure import Figure
        except ImportError:
            return False
        self._figure = Figure(figsize=(4.6, 1.7) if self.large else (3.6, 1.3), dpi=120)
        self._figure.subplots_adjust(left=0.02, right=0.98, bottom=0.2, top=0.95)
        return True

    def _layout(self, labels: tuple[str, ...]) -> None:
        """Axes, bars, value labels and legend for these timepoints (rebuilt only when they change)."""
        figure = self._figure
        figure.clear()
        axes = figure.add_subplot(1, 1, 1)
        font = 9 if self.large else 7
        positions = list(range(len(labels)))
        zeros = [0] * len(labels)
        segments = axes.bar([p - BAR_WIDTH / 2 for p in positions], zeros, BAR_WIDTH, label="Segments",
                            color=SEGMENT_COLOUR)  # fmt: skip
        people = axes.bar([p + BAR_WIDTH / 2 for p in positions], zeros, BAR_WIDTH, label="Participants",
                          color=PARTICIPANT_COLOUR)  # fmt: skip
        axes.set_xticks(positions, list(labels), fontsize=font)
        axes.tick_params(axis="x", length=0)
        axes.set_yticks([])
        for side in ("top", "right", "left"):
            axes.spines[side].set_visible(False)
        self._axes, self._labels = axes, labels
        self._bars = [*segments, *people]

    def segments_and_participants(
        self, labels: Sequence[str], segments: Sequence[int], participants: Sequence[int]
    ) -> bytes | None:
        """Grouped bars per timepoint; None when plotting is unavailable.

        No numbers, legend or y axis: the counts table beside each chart has the numbers and the caption
        names the colours, and text is most of the drawing time.
        """
        if not self.available:
            return None
        key = (tuple(labels), tuple(segments), tuple(participants))
        if key not in self._cache:  # identical charts are drawn once (and stored once in the .docx)
            self._cache[key] = self._draw(tuple(labels), [*segments, *participants])
        return self._cache[key]

    def _draw(self, labels: tuple[str, ...], values: list[int]) -> bytes:
        if labels != self._labels:
            self._layout(labels)
        for bar, value in zip(self._bars, values, strict=True):
            bar.set_height(value)
        self._axes.set_ylim(0, max([*values, 1]) * 1.05)
        out = BytesIO()
        self._figure.savefig(out, format="png", pil_kwargs={"compress_level": 1})
        return out.getvalue()
