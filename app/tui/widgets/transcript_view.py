"""The transcript coder's text: one ``ScrollView`` drawn with the Line API.

Why this shape (see shared/design/tui.md): a long interview is ~170,000 characters and thousands of coded
spans; one widget that wraps the text itself, keeps a table of visual lines and renders only the rows on
screen stays at a few milliseconds per keystroke where widget-per-turn or ``TextArea`` designs do not.
Rendered rows are cached, keyed on what can change on that row (selection, caret) and cleared when a
version number is bumped (codings, width, theme, hidden coders).

The widget owns the caret and selection. It knows nothing about the database: the coder screen gives it a
document and the codings, and reacts to its messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from app.tui.widgets.layout import (
    BLANK,
    FIRST,
    Block,
    LineIndex,
    SpanIndex,
    Units,
    VisualLine,
    assign_lanes,
    cluster_end,
    display_char,
    extend_lanes,
    is_single_cell,
    layout,
    offset_at_cell,
    text_cells,
    trim_span,
    word_units,
)
from models.workspace_queries import CodeInfo, CodingRow, TranscriptDoc

MAX_LANES = 5
INTERVIEWER_INDENT = 2


class TranscriptView(ScrollView, can_focus=True):
    """A whole transcript: speaker gutter, tinted coded text, and a margin of coding stripes."""

    ALLOW_SELECT = False  # our own selection; the screen-level text selection would fight it

    BINDINGS = [
        Binding("down,j", "move('sentence', 1)", "Next sentence", show=False),
        Binding("up,k", "move('sentence', -1)", "Prev sentence", show=False),
        Binding("shift+down,J", "extend('sentence', 1)", "Select sentence", show=True, key_display="⇧↓"),
        Binding("shift+up,K", "extend('sentence', -1)", "Select back by sentence", show=False),
        Binding("right,l,w", "move('word', 1)", "Next word", show=False),
        Binding("left,h,b", "move('word', -1)", "Prev word", show=False),
        Binding("shift+right,L,W", "extend('word', 1)", "Select word", show=False),
        Binding("shift+left,H,B", "extend('word', -1)", "Select back by word", show=False),
        Binding("right_square_bracket,ctrl+down", "move('turn', 1)", "Next turn", show=False),
        Binding("left_square_bracket,ctrl+up", "move('turn', -1)", "Prev turn", show=False),
        Binding("right_curly_bracket", "extend('turn', 1)", "Select turn", show=False),
        Binding("left_curly_bracket", "extend('turn', -1)", "Select back by turn", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("shift+pagedown", "page(1, True)", "Select page", show=False),
        Binding("shift+pageup", "page(-1, True)", "Select back a page", show=False),
        Binding("home,g", "edge(-1)", "Start", show=False),
        Binding("end,G", "edge(1)", "End", show=False),
        Binding("escape", "clear_selection", "Clear selection", show=False),
    ]

    COMPONENT_CLASSES = {
        "transcript-view--speaker",
        "transcript-view--interviewer-speaker",
        "transcript-view--interviewer",
        "transcript-view--selection",
        "transcript-view--caret",
        "transcript-view--current",
        "transcript-view--label",
    }

    DEFAULT_CSS = """
    TranscriptView {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;  /* always there, so the text width never changes when a short text grows */
    }
    TranscriptView > .transcript-view--speaker { color: $accent; text-style: bold; }
    TranscriptView > .transcript-view--interviewer-speaker { color: $text-muted; text-style: italic; }
    TranscriptView > .transcript-view--interviewer { color: $text-muted; }
    TranscriptView > .transcript-view--selection { background: $primary 60%; }
    TranscriptView > .transcript-view--caret { text-style: reverse; }
    TranscriptView > .transcript-view--current { text-style: bold; }
    TranscriptView > .transcript-view--label { color: $text-muted; }
    """

    class CursorMoved(Message):
        """The caret or selection changed; ``codings`` are the visible codings at the caret."""

        def __init__(self, view: TranscriptView, codings: list[CodingRow]) -> None:
            super().__init__()
            self.view = view
            self.codings = codings

        @property
        def control(self) -> TranscriptView:
            return self.view

    class SelectionMade(Message):
        """A mouse drag finished with a selection (the screen may offer to code it)."""

        def __init__(self, view: TranscriptView, start: int, end: int) -> None:
            super().__init__()
            self.view = view
            self.start = start
            self.end = end

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""
        self.blocks: list[Block] = []
        self.sentences = Units([])
        self.turns = Units([])
        self._words: Units | None = None
        self.codings: list[CodingRow] = []  # visible codings (hidden coders filtered out)
        self.all_codings: list[CodingRow] = []
        self.codes: dict[int, CodeInfo] = {}
        self.hidden_coders: set[int] = set()
        self.cursor = 0
        self.anchor: int | None = None
        self.exact_mouse = False
        self._lines: list[VisualLine] = []
        self._index = LineIndex([])
        self._spans = SpanIndex([])
        self._lanes: list[int] = []
        self._gutter = 10
        self._margin = 0
        self._lane_count = MAX_LANES
        self._label_width = 0
        self._text_width = 40
        self._wrapped_for = -1
        self._cache: dict[int, dict[tuple, Strip]] = {}  # row -> (selection, caret, sentence) -> strip
        self._tints: dict[tuple[str, bool], Style] = {}
        self._style_cache: dict[str, Style] = {}
        self._dragging = False
        self._drag_exact = False
        self._drag_origin = 0
        self._pending_view: tuple[int, bool] | None = None
        self._drag_moved = False
        self._last_cursor_codings: tuple[int, ...] | None = None

    # --- data ------------------------------------------------------------------------------------------

    def set_document(self, doc: TranscriptDoc) -> None:
        """Show a transcript (turns and sentences are fixed at import, so this is done once per open)."""
        self.text = doc.text
        blocks = [Block(t.index, t.speaker, t.role, t.start, t.end) for t in doc.turns]
        if not blocks:  # a file with no speaker turns is shown (and coded) as one block
            blocks = [Block(0, "", "participant", 0, len(doc.text))]
        self.blocks = blocks
        self.turns = Units((b.start, b.end) for b in blocks)
        self.sentences = Units(doc.sentences) if doc.sentences else self.turns
        self._words = None
        longest = max((len(b.speaker) for b in blocks), default=6)
        self._gutter = max(6, min(16, longest + 2))
        self.cursor = blocks[0].start
        self.anchor = None
        self._wrapped_for = -1
        self._lines, self._index = [], LineIndex([])
        if self.scrollable_content_region.width:  # otherwise wrapped once the widget has its size
            self._relayout()

    def set_codings(
        self, codings: Sequence[CodingRow], codes: dict[int, CodeInfo], hidden_coders: set[int] | None = None
    ) -> None:
        """Replace the codings drawn (after any change), redrawing only the rows whose codings changed.

        Lanes (stripe columns) are recomputed for all codings; a row is redrawn when a coding on it was
        added, removed or edited, or moved to another lane. A new codebook (names, colours) redraws all.
        """
        old = {c.id: (c, lane) for c, lane in zip(self.codings, self._lanes, strict=False)}
        full = codes is not self.codes or (hidden_coders is not None and set(hidden_coders) != self.hidden_coders)
        self.all_codings = list(codings)
        self.codes = codes
        if hidden_coders is not None:
            self.hidden_coders = set(hidden_coders)
        self.codings = [c for c in self.all_codings if c.coder_id not in self.hidden_coders]
        spans = [(c.start, c.end) for c in self.codings]
        self._spans = SpanIndex(spans)
        if full or not old:
            self._lanes = assign_lanes(spans)
        else:  # keep the stripes people have seen; only new or changed spans look for a free column
            kept: list[int | None] = []
            for c in self.codings:
                before = old.get(c.id)
                kept.append(before[1] if before is not None and before[0][3:5] == (c.start, c.end) else None)
            self._lanes = extend_lanes(spans, kept, self._spans)
        self._last_cursor_codings = None
        if full or not old:
            self.invalidate()
        else:
            changed: list[CodingRow] = []
            for c, lane in zip(self.codings, self._lanes, strict=True):
                before = old.pop(c.id, None)
                if before != (c, lane):
                    changed.append(c)
                    if before is not None:
                        changed.append(before[0])
            changed.extend(c for c, _ in old.values())
            self.invalidate_spans([(c.start, c.end) for c in changed])
        self._cursor_changed()

    def patch_codings(self, a: int, b: int, fresh: Sequence[CodingRow]) -> None:
        """Replace the codings that touch ``[a, b]`` with ``fresh`` (the database's rows for that window).

        A coding operation only changes codings touching its span (an applied code extends or absorbs the
        same coder's codings it overlaps or touches), so after one the screen re-reads that window and
        patches it in: linear in the number of codings with small constants, instead of re-reading them
        all (the difference between 5 and 100 ms at 10,000 codings). Other stripes keep their columns.
        """
        def outside(c: CodingRow) -> bool:
            return c.start > b or c.end < a

        old_lanes = {c.id: lane for c, lane in zip(self.codings, self._lanes, strict=True)}
        before = {c.id: c for c in self.all_codings if not outside(c)}
        merged = sorted([*(c for c in self.all_codings if outside(c)), *fresh], key=lambda c: (c.start, c.id))
        self.all_codings = merged
        self.codings = [c for c in merged if c.coder_id not in self.hidden_coders]
        spans = [(c.start, c.end) for c in self.codings]
        self._spans = SpanIndex(spans)
        moved = {c.id for c in fresh if c.id not in before or before[c.id][3:5] != (c.start, c.end)}
        lanes: list[int | None] = [None if c.id in moved else old_lanes.get(c.id) for c in self.codings]
        self._lanes = extend_lanes(spans, lanes, self._spans)
        self._last_cursor_codings = None
        now = {c.id: c for c in fresh}
        changed = [(c.start, c.end) for c in before.values() if now.get(c.id) != c]
        changed += [(c.start, c.end) for c in fresh if before.get(c.id) != c]
        self.invalidate_spans(changed)
        self._cursor_changed()

    @property
    def words(self) -> Units:
        if self._words is None:  # built on first word motion: most sessions move by sentence
            self._words = word_units(self.text, self.blocks)
        return self._words

    def invalidate(self) -> None:
        self._cache.clear()
        self.refresh()

    def invalidate_spans(self, spans: Sequence[tuple[int, int]]) -> None:
        """Forget the drawn rows showing these spans (and redraw those on screen)."""
        if len(spans) > 200:
            self.invalidate()
            return
        rows: set[int] = set()
        for a, b in spans:
            first, last = self._index.row_of(a), self._index.row_of(max(a, b - 1))
            rows.update(range(first, last + 1))
        for row in rows:
            self._cache.pop(row, None)
        self._refresh_rows(rows)

    # --- geometry --------------------------------------------------------------------------------------

    def _measure(self, width: int) -> None:
        """Split the width into gutter, text and stripes margin; narrow terminals lose labels first."""
        if width >= 90:
            self._lane_count, self._label_width = MAX_LANES, min(24, max(10, width // 5))
        elif width >= 60:
            self._lane_count, self._label_width = 4, max(12, width // 5)
        else:
            self._lane_count, self._label_width = 3, 0
        self._margin = self._lane_count + 1 + (self._label_width + 1 if self._label_width else 0)
        if width - self._gutter - self._margin < 30:
            self._gutter = min(self._gutter, 8)
        self._text_width = max(8, width - self._gutter - self._margin - 1)

    def _relayout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width or 80
        self._measure(width)
        self._lines = layout(self.text, self.blocks, self._text_width, self._text_width - INTERVIEWER_INDENT)
        self._index = LineIndex(self._lines)
        self._wrapped_for = width
        self.virtual_size = Size(width, len(self._lines))
        self._cache.clear()
        self.refresh()
        if self._pending_view is not None:
            start, center = self._pending_view
            self._pending_view = None
            self.call_after_refresh(self.scroll_to_offset, start, center)

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width and width != self._wrapped_for:
            row_before = self._index.row_of(self.cursor)
            offset_top = row_before - self.scroll_offset.y
            self._relayout()
            self.scroll_to(y=max(0, self._index.row_of(self.cursor) - offset_top), animate=False)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        self._tints.clear()
        self._style_cache = {}
        self.invalidate()

    # --- caret and selection ---------------------------------------------------------------------------

    @property
    def selection(self) -> tuple[int, int] | None:
        """The selected ``[start, end)`` without surrounding whitespace, or None."""
        if self.anchor is None or self.anchor == self.cursor:
            return None
        a, b = trim_span(self.text, min(self.anchor, self.cursor), max(self.anchor, self.cursor))
        return (a, b) if b > a else None

    def _units(self, unit: str) -> Units:
        return {"sentence": self.sentences, "turn": self.turns}.get(unit) or self.words

    def set_caret(self, offset: int, anchor: int | None = None, *, scroll: bool = True, center: bool = False) -> None:
        """Put the caret (and optionally the selection anchor) somewhere, redraw, and tell the screen."""
        old_rows = self._affected_rows()
        self.cursor = max(0, min(offset, len(self.text)))
        self.anchor = anchor
        self._refresh_rows(old_rows | self._affected_rows())
        if scroll:
            self.scroll_to_offset(self.cursor, center=center)
        self._cursor_changed()

    def select_span(self, start: int, end: int) -> None:
        """Select ``[start, end)`` and bring it into view (jumps from Retrieve and Search)."""
        self.set_caret(end, start, scroll=False)
        if self._lines:
            self.scroll_to_offset(start, center=True)
        else:
            self._pending_view = (start, True)

    def _affected_rows(self) -> set[int]:
        rows = {self._index.row_of(self.cursor)}
        if self.anchor is not None and self.anchor != self.cursor:
            a, b = sorted((self.anchor, self.cursor))
            ra, rb = self._index.row_of(a), self._index.row_of(b)
            top = self.scroll_offset.y
            bottom = top + self.scrollable_content_region.height
            rows.update(range(max(ra, top - 1), min(rb, bottom + 1) + 1))
        current = self.sentences.containing(self.cursor)
        if current:
            rows.update(range(self._index.row_of(current[0]), self._index.row_of(current[1]) + 1))
        return rows

    def _refresh_rows(self, rows: set[int]) -> None:
        """Repaint the rows whose caret/selection state changed (others come from the strip cache)."""
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        for row in rows:
            if top <= row < top + height:
                self.refresh_line(row - top)

    def scroll_to_offset(self, offset: int, center: bool = False) -> None:
        """Keep ``offset`` in view. When the caret leaves the screen the view jumps by a third of a page
        (like ``scrolljump`` in vi): a whole-screen redraw every few steps instead of on every step."""
        row = self._index.row_of(offset)
        height = self.scrollable_content_region.height or 1
        top = self.scroll_offset.y
        jump = max(1, height // 3)
        if center:
            self.scroll_to(y=max(0, row - jump), animate=False)
        elif row < top + 1:
            self.scroll_to(y=max(0, row - height + jump + 1), animate=False)
        elif row > top + height - 2:
            self.scroll_to(y=max(0, row - jump), animate=False)

    def codings_at(self, offset: int | None = None) -> list[CodingRow]:
        """Visible codings covering ``offset`` (the caret by default), innermost first."""
        pos = self.cursor if offset is None else offset
        found = [self.codings[i] for i in self._spans.overlapping(pos, pos)]
        if not found and pos > 0:  # caret just after a coded span's last character
            found = [self.codings[i] for i in self._spans.overlapping(pos - 1, pos - 1)]
        return sorted(found, key=lambda c: (c.end - c.start, c.id))

    def codings_in_selection(self) -> list[CodingRow]:
        sel = self.selection
        if sel is None:
            return self.codings_at()
        return [self.codings[i] for i in self._spans.overlapping(*sel)]

    def _cursor_changed(self) -> None:
        codings = self.codings_at()
        ids = tuple(c.id for c in codings)
        if ids != self._last_cursor_codings:
            self._last_cursor_codings = ids
            self.post_message(self.CursorMoved(self, codings))

    def action_move(self, unit: str, direction: int) -> None:
        units = self._units(unit)
        pos = units.next_start(self.cursor) if direction > 0 else units.prev_start(self.cursor)
        self.set_caret(pos)

    def action_extend(self, unit: str, direction: int) -> None:
        units = self._units(unit)
        anchor = self.cursor if self.anchor is None else self.anchor
        pos = units.next_end(self.cursor) if direction > 0 else units.prev_start(self.cursor)
        self.set_caret(pos, anchor)

    def action_page(self, direction: int, extend: bool = False) -> None:
        height = max(1, self.scrollable_content_region.height - 2)
        row = self._index.row_of(self.cursor) + direction * height
        row = max(0, min(row, len(self._lines) - 1))
        while 0 < row < len(self._lines) - 1 and self._lines[row].kind == BLANK:
            row += 1
        target = self._lines[row].start if self._lines else 0
        anchor = (self.cursor if self.anchor is None else self.anchor) if extend else None
        self.scroll_to(y=max(0, self.scroll_offset.y + direction * height), animate=False)
        self.set_caret(target, anchor)

    def action_edge(self, direction: int) -> None:
        if not self.blocks:
            return
        self.set_caret(self.blocks[0].start if direction < 0 else self.blocks[-1].end)

    def action_clear_selection(self) -> None:
        self.set_caret(self.cursor, None, scroll=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_selection":
            return self.anchor is not None  # otherwise escape goes on to the screen (back)
        return True

    # --- mouse -----------------------------------------------------------------------------------------

    def offset_at(self, x: int, y: int) -> int:
        """The text offset under a content-relative cell (gutter gives the line start)."""
        if not self._lines:
            return 0
        row = max(0, min(y + self.scroll_offset.y, len(self._lines) - 1))
        line = self._lines[row]
        if line.kind == BLANK:
            return line.start
        indent = INTERVIEWER_INDENT if self.blocks[line.block].role == "interviewer" else 0
        return offset_at_cell(self.text, line.start, line.end, x - self._gutter - indent)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if event.button != 1:
            return
        offset = self.offset_at(event.x, event.y)
        self._dragging = True
        self._drag_origin = offset
        self._drag_moved = False
        self._drag_exact = self.exact_mouse or event.ctrl or event.meta
        self.capture_mouse()
        self.focus()
        self.set_caret(offset, None, scroll=False)

    def _drag_span(self, offset: int) -> tuple[int, int]:
        """Both the pressed and the released character are selected (whole, with combining marks)."""
        lo, hi = sorted((self._drag_origin, offset))
        return lo, cluster_end(self.text, hi, len(self.text))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            offset = self.offset_at(event.x, event.y)
            if offset == self._drag_origin and not self._drag_moved:
                return
            self._drag_moved = True
            a, b = self._drag_span(offset)
            if offset >= self._drag_origin:
                self.set_caret(b, a, scroll=False)
            else:
                self.set_caret(a, b, scroll=False)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if not self._dragging:
            return
        self._dragging = False
        self.release_mouse()
        offset = self.offset_at(event.x, event.y)
        if offset == self._drag_origin and not self._drag_moved:  # a click: put the caret there
            self.set_caret(offset, None, scroll=False)
            return
        a, b = self._drag_span(offset)
        if not self._drag_exact:
            a, b = self.sentences.snap(a, b)
        self.set_caret(b, a, scroll=False)
        sel = self.selection
        if sel:
            self.post_message(self.SelectionMade(self, *sel))

    # --- drawing ---------------------------------------------------------------------------------------

    def _styles(self) -> dict[str, Style]:
        """Rich styles of the widget and its parts, combined once per theme (they are hot in every row)."""
        if not self._style_cache:
            base = self.rich_style
            get = self.get_component_rich_style
            parts = {name: get(f"transcript-view--{name}", partial=True) for name in (
                "speaker", "interviewer-speaker", "interviewer", "selection", "caret", "current", "label")}
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

    def render_line(self, y: int) -> Strip:
        row = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        if width != self._wrapped_for and width:
            self._relayout()
            row = y + self.scroll_offset.y
        if row >= len(self._lines):
            return Strip.blank(width, self._styles()["base"])
        line = self._lines[row]
        sel = None
        if self.anchor is not None and self.anchor != self.cursor:
            sa, sb = trim_span(self.text, min(self.anchor, self.cursor), max(self.anchor, self.cursor))
            if sa < line.end and sb > line.start:
                sel = (max(sa, line.start), min(sb, line.end))
        caret = self.cursor if self.has_focus and self._index.row_of(self.cursor) == row else None
        current = self.sentences.containing(self.cursor)
        cur = None
        if current and current[0] < line.end and current[1] > line.start:
            cur = (max(current[0], line.start), min(current[1], line.end))
        key = (sel, caret, cur)
        cached = self._cache.get(row)
        if cached is None:
            if len(self._cache) > 3000:
                self._cache.clear()
            cached = self._cache[row] = {}
        strip = cached.get(key)
        if strip is None:
            if len(cached) > 8:
                cached.clear()
            strip = cached[key] = self._render_row(line, sel, caret, cur, width)
        return strip

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
            segments.extend(self._render_margin(line, base))
            return Strip(segments).crop_extend(0, width, base).simplify()
        block = self.blocks[line.block]
        interviewer = block.role == "interviewer"
        indent = INTERVIEWER_INDENT if interviewer else 0
        if line.kind == FIRST and block.speaker:
            name = block.speaker if len(block.speaker) < gutter - 1 else block.speaker[: gutter - 2] + "…"
            segments.append(Segment(name.ljust(gutter + indent),
                                    styles["interviewer-speaker" if interviewer else "speaker"]))
        else:
            segments.append(Segment(" " * (gutter + indent), base))
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
        segments.extend(self._render_margin(line, base))
        return Strip(segments).crop_extend(0, width, base).simplify()

    def _render_margin(self, line: VisualLine, base: Style) -> list[Segment]:
        """Coding stripes: one column per lane, then the names of codes whose coding starts on this row."""
        lanes = self._lane_count
        out: list[Segment] = []
        by_lane: dict[int, CodingRow] = {}
        lane_of = self._lanes
        if line.kind == BLANK:  # between turns: only codings that run through the gap
            spans_idx = [i for i in self._spans.overlapping(max(0, line.start - 1), line.start + 1)
                         if self.codings[i].start < line.start < self.codings[i].end]
        else:
            spans_idx = self._spans.overlapping(line.start, max(line.end, line.start + 1))
        overflow = 0
        for i in spans_idx:
            lane = lane_of[i]
            if lane < lanes:
                by_lane.setdefault(lane, self.codings[i])
            else:
                overflow += 1
        codes = self.codes
        for lane in range(lanes):
            c = by_lane.get(lane)
            if c is None:
                out.append(Segment(" ", base))
                continue
            info = codes.get(c.code_id)
            starts = line.kind != BLANK and c.start >= line.start
            ends = line.kind != BLANK and c.end <= line.end
            glyph = "▪" if (starts and ends) else "╻" if starts else "╹" if ends else "┃"
            if lane == lanes - 1 and overflow:
                glyph = "+"
            out.append(Segment(glyph, self._stripe_style(info.colour if info else "#888888")))
        room = self._label_width
        if room:
            out.append(Segment(" ", base))
            starting: dict[int, list[CodingRow]] = {}
            if line.kind != BLANK:
                for i in spans_idx:
                    c = self.codings[i]
                    if c.start >= line.start:
                        starting.setdefault(c.code_id, []).append(c)
            for code_id, group in starting.items():
                if room <= 1:
                    break
                info = codes.get(code_id)
                name = (("★" if any(c.key_quote for c in group) else "") + (info.name if info else f"#{code_id}")
                        + ("✎" if any(c.memo for c in group) else "") + (f"×{len(group)}" if len(group) > 1 else ""))
                if text_cells(name) + 1 > room:
                    name = set_cell_size(name, max(1, room - 2)) + "…"
                out.append(Segment(name + " ", self._tint_label(info.colour if info else "#888888")))
                room -= text_cells(name) + 1
        return out

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
