"""A vertical scrollbar that draws from remembered rows: the same pixels as Textual's, a fraction of the cost.

Why: every page down moves the thumb, and Textual redraws a scrollbar by rendering its Rich renderable and
passing each row through the styles pipeline (about 1 ms for a 40-row bar, a tenth of a keystroke's
budget). A row of a vertical bar is one segment (track above, thumb, track below, or a partial thumb glyph),
and what the pipeline makes of a row depends only on that segment and on the bar's context (size, styles,
theme, filters). So rows are drawn by Textual once per distinct segment and reused; any segment not seen in
this context sends the whole bar through Textual's own path again.
"""

from __future__ import annotations

from textual.color import Color
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip


class RowCachedScrollBar(ScrollBar):
    """``ScrollBar`` with rows reused by segment (see the module docstring). Vertical bars only."""

    _row_context: tuple[object, ...] | None = None
    _row_strips: dict[object, Strip] | None = None

    def _segments(self) -> list | None:
        """The bar's rows as ``ScrollBarRender.__rich_console__`` would produce them, or None."""
        renderable = self.render()
        if type(renderable) is not ScrollBarRender or not self.vertical:
            return None
        width, height = self.size
        style = renderable.style
        if isinstance(style, str):
            return None
        bar = renderable.render_bar(
            size=height,
            window_size=renderable.window_size,
            virtual_size=renderable.virtual_size,
            position=renderable.position,
            thickness=width,
            vertical=True,
            back_color=style.bgcolor or Color.parse("#555555"),  # type: ignore[arg-type]
            bar_color=style.color or Color.parse("bright_magenta"),  # type: ignore[arg-type]
        )
        return list(bar.segments)

    def _rows_key(self) -> tuple[object, ...]:
        styles = self.styles
        return (
            self.size,
            self.visual_style,
            self.background_colors,
            styles.tint,
            styles.opacity,
            styles.text_opacity,
            tuple(self.get_line_filters()),
            self.app.ansi_theme,
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        segments = self._segments()
        if segments is None or self.text_selection is not None:
            return super().render_lines(crop)
        context = self._rows_key()
        known = self._row_strips
        if context != self._row_context or known is None:
            known = self._row_strips = {}
            self._row_context = context
        if len(segments) != self.size.height or any(segment not in known for segment in segments):
            full = super().render_lines(self.size.region)
            if len(full) == len(segments):
                for segment, strip in zip(segments, full, strict=True):
                    known[segment] = strip
            strips = full
        else:
            strips = [known[segment] for segment in segments]
        strips = strips[crop.y : crop.bottom]
        if crop.column_span != (0, self.size.width):
            x1, x2 = crop.column_span
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips
