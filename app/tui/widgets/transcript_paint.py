"""Painting the transcript view: rows of text tinted by code, the caret and selection, the stripes margin.

Why a module of its own: this is the per-keystroke hot path (see ``render_lines``: rows are cached and the
finished strips skip Textual's per-line styles pass), and it only reads the view's state (text, line table,
codings and their stripe columns, caret, selection); it never changes it. ``TranscriptPainting`` is mixed
into ``TranscriptView``, which owns that state.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.geometry import Region
from textual.strip import Strip
from textual.style import Style as TextualStyle

from app.tui.widgets.layout import (
    BLANK,
    FIRST,
    VisualLine,
    abbreviate,
    cluster_end,
    display_char,
    is_single_cell,
    text_cells,
    trim_span,
)
from models.workspace_queries import CodingRow

INTERVIEWER_INDENT = 2

MIN_LABEL = 4  # the narrowest abbreviation worth showing ("PeSu", "Hope"); narrower: "+N" instead
CACHED_ROWS = 1500  # rows kept drawn (about 40 screens): revisits are free, memory and GC work stay small


def styles_bold(style: Style) -> Style:
    return style + Style(bold=True)


def fit_labels(labels: Sequence[tuple[str, str, str, str]], room: int) -> list[tuple[str, str]]:
    """The names of codes starting on a row, as ``(text, colour)``, fitted into ``room`` cells (a space after
    each): whole names when they fit; otherwise each gets an equal share and is abbreviated legibly
    (``abbreviate``); when even that is too tight, as many as fit and ``+N`` for the rest. ``labels`` are
    ``(prefix, name, suffix, colour)``: the prefix (★) and suffix (✎, ×2) are kept whole."""
    if not labels or room <= 1:
        return []
    whole = [prefix + name + suffix for prefix, name, suffix, _ in labels]
    if sum(text_cells(t) + 1 for t in whole) <= room:
        return [(t, colour) for t, (*_, colour) in zip(whole, labels, strict=True)]
    count = len(labels)
    while count:
        more = len(labels) - count
        tail = f"+{more}" if more else ""
        share = (room - (text_cells(tail) + 1 if tail else 0)) // count - 1
        if share >= MIN_LABEL or count == 1:
            out = []
            for prefix, name, suffix, colour in labels[:count]:
                fixed = text_cells(prefix) + text_cells(suffix)
                if share - fixed < MIN_LABEL - 1:
                    suffix = ""  # the marks go before the name does
                    fixed = text_cells(prefix)
                out.append((prefix + abbreviate(name, max(1, share - fixed)) + suffix, colour))
            if tail:
                out.append((tail, ""))
            return out
        count -= 1
    return [(f"+{len(labels)}", "")] if room > len(str(len(labels))) + 1 else []


class TranscriptPainting:
    """The drawing half of ``TranscriptView`` (a mixin: the attributes it reads are the view's)."""

    # --- drawing ---------------------------------------------------------------------------------------

    def _styles(self) -> dict[str, Style]:
        """Rich styles of the widget and its parts, combined once per theme (they are hot in every row)."""
        if not self._style_cache:
            base = self.rich_style
            get = self.get_component_rich_style
            parts = {
                name: get(f"transcript-view--{name}", partial=True)
                for name in ("speaker", "interviewer-speaker", "interviewer", "selection", "caret", "current", "label")
            }
            self._style_cache = {
                "base": base,
                "speaker": base + parts["speaker"],
                "interviewer-speaker": base + parts["interviewer-speaker"],
                "interviewer": base + parts["interviewer"],
                "selection": parts["selection"],
                "caret": parts["caret"],
                "current": parts["current"],
            }
        return self._style_cache

    def _tint(self, colour: str, overlap: bool) -> Style:
        key = (colour, overlap)
        style = self._tints.get(key)
        if style is None:
            base_bg = self.styles.background if self.styles.background.a else Color(0, 0, 0)
            try:
                code = Color.parse(colour)
            except Exception:
                code = Color(136, 136, 136)
            hc = self.app.theme == "waveqda-high-contrast"
            bg = code if hc else base_bg.blend(code, 0.45 if self.app.current_theme.dark else 0.35)
            fg = bg.get_contrast_text(1.0)
            style = Style(bgcolor=bg.rich_color, color=fg.rich_color, underline=overlap)
            self._tints[key] = style
        return style

    def _stripe_style(self, colour: str) -> Style:
        key = ("stripe", colour)
        style = self._tints.get(key)  # type: ignore[call-overload]
        if style is None:
            try:
                rich_colour = Color.parse(colour).rich_color
            except Exception:
                rich_colour = Color(136, 136, 136).rich_color
            style = self._styles()["base"] + Style(color=rich_colour, bold=True)
            self._tints[key] = style  # type: ignore[index]
        return style

    def render_lines(self, crop: Region) -> list[Strip]:
        """One compositor pass over the rows on screen.

        What every row depends on (width, scroll, caret, selection) is worked out once here rather than
        per row (each is a region lookup or a bisect). With a plain box (no border, padding, tint or
        opacity: the transcript has none) the finished rows also skip Textual's per-line styles pass: what
        that pass would add (the cell under the scrollbar, the line filters) is done once per cached row,
        so a row seen before costs a lookup, also after a scroll (when Textual repaints every line).
        """
        self._frame = self._frame_state()
        try:
            if not self._plain_box():
                return super().render_lines(crop)
            width = self.size.width
            base_background, background = self.background_colors
            inner = TextualStyle(background=base_background + background).rich_style
            filters = tuple(self.get_line_filters())
            context = (width, inner, filters, background)
            if context != self._finish_context:
                self._cache.clear()
                self._finish_context = context
            strips = []
            for y in crop.line_range:
                entry = self._cached_row(y, raw=False)
                final = entry[1]
                if final is None:
                    final = entry[0].adjust_cell_length(width, inner)
                    for line_filter in filters:
                        final = final.apply_filter(line_filter, background)
                    # keep only the finished strip: each Strip carries seven small caches, and thousands
                    # of them made every full garbage collection walk 150,000 objects (60 ms, mid-keystroke)
                    entry[:] = [None, final]
                strips.append(final)
            if crop.column_span != (0, width):
                x1, x2 = crop.column_span
                strips = [strip.crop(x1, x2) for strip in strips]
            return strips
        finally:
            self._frame = None

    def _plain_box(self) -> bool:
        """No border, outline, padding, tint, opacity or hatch: nothing Textual's styles pass would add
        to a row beyond padding it to the widget's width and the line filters."""
        styles = self.styles
        return (
            not any(edge for edge, _ in styles.border)
            and not any(edge for edge, _ in styles.outline)
            and not any(styles.padding)
            and not styles.tint.a
            and styles.opacity == 1
            and styles.text_opacity == 1
            and not (styles.has_rule("hatch") and styles.hatch != "none")
        )

    def _frame_state(self) -> tuple[int, int, tuple[int, int] | None, int, tuple[int, int] | None]:
        """``(width, top row, selection, caret row or -1, current sentence)`` as drawn now."""
        width = self.scrollable_content_region.width
        if width != self._wrapped_for and width:
            self._relayout(first_screens=self._wrapped_for == -1)
        sel = None
        if self.anchor is not None and self.anchor != self.cursor:
            sel = trim_span(self.text, min(self.anchor, self.cursor), max(self.anchor, self.cursor))
        # the line table as laid out so far: painting the first screens must not lay out the rest
        caret_row = self._line_index.row_of(self.cursor) if self.has_focus else -1
        return width, self.scroll_offset.y, sel, caret_row, self.sentences.containing(self.cursor)

    def render_line(self, y: int) -> Strip:
        return self._cached_row(y)[0]

    def _cached_row(self, y: int, raw: bool = True) -> list:
        """``[row strip or None, finished strip or None]`` for content line ``y``, from the cache when drawn
        before with the same selection, caret and current sentence on it; with ``raw`` the row strip is
        there (drawn again if only the finished one was kept)."""
        width, top, selection, caret_row, current = self._frame or self._frame_state()
        row = y + top
        table = self._table
        if row >= len(table):
            return [Strip.blank(width, self._styles()["base"]), None]
        line = table[row]
        start, end = line.start, line.end
        sel = None
        if selection is not None and selection[0] < end and selection[1] > start:
            sel = (max(selection[0], start), min(selection[1], end))
        caret = self.cursor if caret_row == row else None
        cur = None
        if current and current[0] < end and current[1] > start:
            cur = (max(current[0], start), min(current[1], end))
        key = (sel, caret, cur)
        cached = self._cache.get(row)
        if cached is None:
            if len(self._cache) > CACHED_ROWS:
                self._cache.clear()
            cached = self._cache[row] = {}
        entry = cached.get(key)
        if entry is None:
            if len(cached) > 8:
                cached.clear()
            entry = cached[key] = [None, None]
        if entry[0] is None and (raw or entry[1] is None):
            entry[0] = self._render_row(line, sel, caret, cur, width)
        return entry

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def _render_row(
        self,
        line: VisualLine,
        sel: tuple[int, int] | None,
        caret: int | None,
        current: tuple[int, int] | None,
        width: int,
    ) -> Strip:
        """One visual row: speaker gutter, tinted text (selection, caret), a gap, then the stripes margin."""
        styles = self._styles()
        base = styles["base"]
        gutter = self._gutter
        segments: list[Segment] = []
        if line.kind == BLANK:
            segments.append(Segment(" " * (gutter + self._text_width + 1), base))
            return self._finish_row(segments, gutter + self._text_width + 1, line, base, width)
        block = self.blocks[line.block]
        interviewer = block.role == "interviewer"
        indent = INTERVIEWER_INDENT if interviewer else 0
        if line.kind == FIRST and block.speaker:
            name = block.speaker if len(block.speaker) < gutter - 1 else block.speaker[: gutter - 2] + "…"
            name = name.ljust(gutter + indent)
            segments.append(Segment(name, styles["interviewer-speaker" if interviewer else "speaker"]))
            used = cell_len(name)
        else:
            segments.append(Segment(" " * (gutter + indent), base))
            used = gutter + indent
        text_style = styles["interviewer"] if interviewer else base
        a, b = line.start, line.end
        overlapping = [self.codings[i] for i in self._spans.overlapping(a, b)] if b > a else []
        cuts = {a, b}
        for c in overlapping:
            cuts.add(max(a, c.start))
            cuts.add(min(b, c.end))
        if sel:
            cuts.update(sel)
        if current:
            cuts.update(current)
        if caret is not None and a <= caret < b:
            cuts.update((caret, cluster_end(self.text, caret, b)))
        points = sorted(p for p in cuts if a <= p <= b)
        exact = True
        text = self.text
        cells = 0
        limit = self._text_width - indent
        codes = self.codes
        for s, e in zip(points, points[1:], strict=False):
            if e <= s or cells >= limit:
                continue
            chunk = text[s:e]
            if is_single_cell(chunk):
                w = len(chunk)
                if cells + w > limit:
                    chunk = chunk[: limit - cells]
                    w = len(chunk)
            else:
                chunk = "".join(display_char(ch) for ch in chunk)
                w = text_cells(chunk)
                exact = False  # emoji sequences: Rich may measure them otherwise; count as it does
                if cells + w > limit:
                    chunk = set_cell_size(chunk, limit - cells)
                    w = limit - cells
            style = text_style
            if overlapping:
                covering = [c for c in overlapping if c.start <= s < c.end]
                if covering:
                    inner = min(covering, key=lambda c: (c.end - c.start, c.id))
                    info = codes.get(inner.code_id)
                    style = style + self._tint(info.colour if info else "#888888", len(covering) > 1)
            if current and current[0] <= s < current[1]:
                style = style + styles["current"]
            if sel and sel[0] <= s < sel[1]:
                style = style + styles["selection"]
            if caret is not None and s == caret:
                style = style + styles["caret"]
            segments.append(Segment(chunk, style))
            cells += w
        if caret is not None and caret >= b and cells < limit:
            segments.append(Segment(" ", base + styles["caret"]))
            cells += 1
        segments.append(Segment(" " * (limit - cells + 1), base))
        return self._finish_row(segments, used + limit + 1 if exact else -1, line, base, width)

    def _finish_row(self, segments: list[Segment], cells: int, line: VisualLine, base: Style, width: int) -> Strip:
        """Add the stripes margin and make the row exactly ``width`` cells, as one ``Strip`` (building
        strips is what drawing a row costs most: no intermediate ones). ``cells`` is the width of the
        segments so far, or -1 to have Rich measure them."""
        margin, margin_cells = self._render_margin(line, base)
        segments.extend(margin)
        if cells < 0:
            cells = sum(cell_len(segment.text) for segment in segments)
        else:
            cells += margin_cells
        if cells < width:
            segments.append(Segment(" " * (width - cells), base))
        elif cells > width:  # a narrow terminal: cut (rare, so the general path)
            return Strip(segments).crop_extend(0, width, base).simplify()
        return Strip(Segment.simplify(segments), width)

    def _render_margin(self, line: VisualLine, base: Style) -> tuple[list[Segment], int]:
        """Coding stripes: one column per lane, then the names of codes whose coding starts on this row
        (and how many cells they take)."""
        lanes = self._lane_count
        out: list[Segment] = []
        by_lane: dict[int, CodingRow] = {}
        lane_of = self._lane_list
        if line.kind == BLANK:  # between turns: only codings that run through the gap
            spans_idx = [
                i
                for i in self._spans.overlapping(max(0, line.start - 1), line.start + 1)
                if self.codings[i].start < line.start < self.codings[i].end
            ]
        else:
            spans_idx = self._spans.overlapping(line.start, max(line.end, line.start + 1))
        for i in spans_idx:
            if lane_of[i] < lanes:
                by_lane[lane_of[i]] = self.codings[i]  # lanes are per row: no two codings on a row share one
        overflow = any(lane_of[i] >= lanes for i in spans_idx)
        codes = self.codes
        for lane in range(lanes):
            c = by_lane.get(lane)
            if lane == lanes - 1 and overflow:  # more codings on this row than columns: i lists them all
                out.append(Segment("+", styles_bold(self._styles()["base"])))
                continue
            if c is None:
                out.append(Segment(" ", base))
                continue
            info = codes.get(c.code_id)
            starts = line.kind != BLANK and c.start >= line.start
            ends = line.kind != BLANK and c.end <= line.end
            glyph = "▪" if (starts and ends) else "╻" if starts else "╹" if ends else "┃"
            out.append(Segment(glyph, self._stripe_style(info.colour if info else "#888888")))
        room = self._label_width
        cells = lanes
        if room:
            out.append(Segment(" ", base))
            cells += 1
            starting: dict[int, list[CodingRow]] = {}
            if line.kind != BLANK:
                for i in spans_idx:
                    c = self.codings[i]
                    if c.start >= line.start:
                        starting.setdefault(c.code_id, []).append(c)
            labels = []
            for code_id, group in starting.items():
                info = codes.get(code_id)
                labels.append(
                    (
                        ("★" if any(c.key_quote for c in group) else ""),
                        (info.name if info else f"#{code_id}"),
                        ("✎" if any(c.memo for c in group) else "") + (f"×{len(group)}" if len(group) > 1 else ""),
                        info.colour if info else "#888888",
                    )
                )
            for text, colour in fit_labels(labels, room):
                style = self._tint_label(colour) if colour else self._styles()["base"]
                out.append(Segment(text + " ", style))
                cells += cell_len(text) + 1
        return out, cells

    def _tint_label(self, colour: str) -> Style:
        key = ("label", colour)
        style = self._tints.get(key)  # type: ignore[call-overload]
        if style is None:
            try:
                rich_colour = Color.parse(colour).rich_color
            except Exception:
                rich_colour = Color(136, 136, 136).rich_color
            style = self._styles()["base"] + Style(color=rich_colour)
            self._tints[key] = style  # type: ignore[index]
        return style
