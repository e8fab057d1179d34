"""The transcript coder's text: one ``ScrollView`` drawn with the Line API.

Why this shape (see shared/design/tui.md): a long interview is ~170,000 characters and thousands of coded
spans; one widget that wraps the text itself, keeps a table of visual lines and renders only the rows on
screen stays at a few milliseconds per keystroke where widget-per-turn or ``TextArea`` designs do not.
Rendered rows are cached, keyed on what can change on that row (selection, caret) and cleared when a
version number is bumped (codings, width, theme, hidden coders).

The widget owns the caret and selection. It knows nothing about the database: the coder screen gives it a
document and the codings, and reacts to its messages. Three modules along the seams: this one holds the
state (document, codings and their stripe columns, line table, caret, selection) and the bindings;
``transcript_paint`` draws it; ``transcript_input`` turns keys and the mouse into caret moves; the pure
layout (wrapping, offsets, motions, span indexes) is ``layout``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from operator import attrgetter

from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar

from app.tui.widgets.layout import (
    BLANK,
    Block,
    LineIndex,
    SortedSpanIndex,
    Units,
    VisualLine,
    assign_lanes,
    block_width,
    estimate_rows,
    extend_lanes,
    layout_blocks,
    trim_span,
    word_units,
    wrap_span,
)
from app.tui.widgets.scrollbar import RowCachedScrollBar
from app.tui.widgets.transcript_input import TranscriptInput
from app.tui.widgets.transcript_paint import INTERVIEWER_INDENT, TranscriptPainting
from models.workspace_queries import CodeInfo, CodingRow, TranscriptDoc

MAX_LANES = 5
_START_ID = attrgetter("start", "id")


class TranscriptView(TranscriptPainting, TranscriptInput, ScrollView, can_focus=True):
    """A whole transcript: speaker gutter, tinted coded text, and a margin of coding stripes."""

    ALLOW_SELECT = False  # our own selection; the screen-level text selection would fight it

    BINDINGS = [
        Binding("down,j", "move('sentence', 1)", "Next sentence", show=False),
        Binding("up,k", "move('sentence', -1)", "Prev sentence", show=False),
        Binding("shift+down,J", "extend('sentence', 1)", "Select sentence", show=True, key_display="⇧↓/J"),
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
        Binding("shift+pagedown,ctrl+d", "page(1, True)", "Select page", show=False),
        Binding("shift+pageup,ctrl+u", "page(-1, True)", "Select back a page", show=False),
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

    class StripesClicked(Message):
        """The stripes margin was clicked: ``codings`` are those drawn on that row (the screen lists them)."""

        def __init__(self, view: TranscriptView, codings: list[CodingRow]) -> None:
            super().__init__()
            self.view = view
            self.codings = codings

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""
        self.blocks: list[Block] = []
        self.sentences = Units([])
        self.turns = Units([])
        self._words: Units | None = None
        self.codings: list[CodingRow] = []  # visible codings (hidden coders filtered out)
        self._hidden_rows: list[CodingRow] = []  # codings of hidden coders, (start, id) order
        self.codes: dict[int, CodeInfo] = {}
        self.hidden_coders: set[int] = set()
        self.cursor = 0
        self.anchor: int | None = None
        self.exact_mouse = False
        # The line table, its index and the codings' stripe columns. Opening lays out only the turns
        # of the first screens (``_rest`` is then the first turn not laid out) and the rest after the
        # first paint; reading them through ``_lines``, ``_index`` and ``_lanes`` lays the rest out first.
        self._table: list[VisualLine] = []
        self._line_index = LineIndex([])
        self._lane_list: list[int] = []
        self._rest: int | None = None
        self._block_starts: list[int] = []
        self._block_wraps: dict[int, list[tuple[int, int]]] = {}
        self._spans = SortedSpanIndex([])
        self._gutter = 10
        self._margin = 0
        self._lane_count = MAX_LANES
        self._label_width = 0
        self._text_width = 40
        self._wrapped_for = -1
        # row -> (selection, caret, sentence) -> [row strip, finished strip (see render_lines) or None]
        self._cache: dict[int, dict[tuple, list]] = {}
        self._finish_context: tuple[object, ...] | None = None
        self._tints: dict[tuple[str, bool], Style] = {}
        self._style_cache: dict[str, Style] = {}
        self._dragging = False
        self._drag_exact = False
        self._drag_origin = 0
        self._pending_view: tuple[int, bool] | None = None
        self._drag_moved = False
        self._last_cursor_codings: tuple[int, ...] | None = None
        # Called at once with the codings at the caret when they change (``CursorMoved`` is posted too): a
        # panel updated here is drawn in the same repaint as the transcript, not in a second one.
        self.cursor_listener: Callable[[list[CodingRow]], None] | None = None
        self._frame: tuple[int, int, tuple[int, int] | None, int, tuple[int, int] | None] | None = None

    @property
    def _lines(self) -> list[VisualLine]:
        """The visual lines of the whole transcript (laid out now if only the first screens were)."""
        if self._rest is not None:
            self._finish_layout()
        return self._table

    @property
    def _index(self) -> LineIndex:
        if self._rest is not None:
            self._finish_layout()
        return self._line_index

    @property
    def _lanes(self) -> list[int]:
        """The stripe column of each visible coding (all of them exact once the layout is whole)."""
        if self._rest is not None:
            self._finish_layout()
        return self._lane_list

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """Textual's scrollbar, drawn from remembered rows (``RowCachedScrollBar``): a page down moves it."""
        bar = super().vertical_scrollbar
        if type(bar) is ScrollBar:
            bar.__class__ = RowCachedScrollBar
        return bar

    # --- data ------------------------------------------------------------------------------------------

    def set_document(self, doc: TranscriptDoc) -> None:
        """Show a transcript (turns and sentences are fixed at import, so this is done once per open)."""
        self.text = doc.text
        blocks = [Block(t.index, t.speaker, t.role, t.start, t.end) for t in doc.turns]
        if not blocks:  # a file with no speaker turns is shown (and coded) as one block
            blocks = [Block(0, "", "participant", 0, len(doc.text))]
        self.blocks = blocks
        self._block_starts = [b.start for b in blocks]
        self.turns = Units((b.start, b.end) for b in blocks)
        self.sentences = Units(doc.sentences) if doc.sentences else self.turns
        self._words = None
        longest = max((len(b.speaker) for b in blocks), default=6)
        self._gutter = max(6, min(16, longest + 2))
        self.cursor = blocks[0].start
        self.anchor = None
        self._wrapped_for = -1
        self._table, self._line_index, self._rest, self._block_wraps = [], LineIndex([]), None, {}
        if self.scrollable_content_region.width:  # otherwise wrapped once the widget has its size
            self._relayout(first_screens=True)

    @property
    def all_codings(self) -> list[CodingRow]:
        """Every coding of the transcript, hidden coders' too, in ``(start, id)`` order."""
        if not self._hidden_rows:
            return list(self.codings)
        return sorted([*self.codings, *self._hidden_rows], key=_START_ID)

    def set_codings(
        self, codings: Sequence[CodingRow], codes: dict[int, CodeInfo], hidden_coders: set[int] | None = None
    ) -> None:
        """Replace the codings drawn (after any change), redrawing only the rows whose codings changed.

        Lanes (stripe columns) are recomputed for all codings; a row is redrawn when a coding on it was
        added, removed or edited, or moved to another lane. A new codebook (names, colours) redraws all.
        """
        old = {c.id: (c, lane) for c, lane in zip(self.codings, self._lanes, strict=False)}  # whole layout
        full = codes is not self.codes or (hidden_coders is not None and set(hidden_coders) != self.hidden_coders)
        rows = sorted(codings, key=_START_ID)  # as load_codings gives them: then this is one pass
        self.codes = codes
        if hidden_coders is not None:
            self.hidden_coders = set(hidden_coders)
        hidden = self.hidden_coders
        self.codings = [c for c in rows if c.coder_id not in hidden] if hidden else rows
        self._hidden_rows = [c for c in rows if c.coder_id in hidden] if hidden else []
        spans = [(c.start, c.end) for c in self.codings]
        self._spans = SortedSpanIndex(spans)
        row_spans = [self._row_span(a, b) for a, b in spans]
        if full or not old:
            self._lane_list = assign_lanes(row_spans)
        else:  # keep the stripes people have seen; only new or changed spans look for a free column
            kept: list[int | None] = []
            for c in self.codings:
                before = old.get(c.id)
                kept.append(before[1] if before is not None and before[0][3:5] == (c.start, c.end) else None)
            self._lane_list = extend_lanes(row_spans, kept, self._spans)
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
        patches it in place: the few codings that touch it leave the sorted lists (and the span index), the
        fresh ones go in at their places, and only codings that are new or moved look for a stripe column
        (others keep theirs). The cost follows the size of the change, not the number of codings.
        """
        codings, lanes, index, hidden = self.codings, self._lanes, self._spans, self.hidden_coders  # whole layout
        touching = index.overlapping(a - 1, b + 1)  # start <= b and end >= a
        before = {codings[k].id: codings[k] for k in touching}
        old_lane = {codings[k].id: lanes[k] for k in touching}
        if self._hidden_rows:
            before.update((c.id, c) for c in self._hidden_rows if not (c.start > b or c.end < a))
            self._hidden_rows = [c for c in self._hidden_rows if c.start > b or c.end < a]
        for k in reversed(touching):
            del codings[k]
            del lanes[k]
            index.delete(k)
        fresh = sorted(fresh, key=_START_ID)
        needs_lane: list[CodingRow] = []
        for c in fresh:
            if c.coder_id in hidden:
                bisect.insort(self._hidden_rows, c, key=_START_ID)
                continue
            k = self._position(c)
            codings.insert(k, c)
            index.insert(k, c.start, c.end)
            prev = before.get(c.id)
            lane = old_lane.get(c.id) if prev is not None and prev[3:5] == (c.start, c.end) else None
            lanes.insert(k, lane)  # type: ignore[arg-type]
            if lane is None:
                needs_lane.append(c)
        for k in sorted(self._position(c) for c in needs_lane):  # in list order, as extend_lanes would
            s, e = self._row_span(codings[k].start, codings[k].end)
            taken = {lanes[j] for j in index.overlapping(s, e) if j != k and lanes[j] is not None}
            lane = 0
            while lane in taken:
                lane += 1
            lanes[k] = lane
        self._last_cursor_codings = None
        now = {c.id: c for c in fresh}
        changed = [(c.start, c.end) for c in before.values() if now.get(c.id) != c]
        changed += [(c.start, c.end) for c in fresh if before.get(c.id) != c]
        self.invalidate_spans(changed)
        self._cursor_changed()

    def _row_span(self, start: int, end: int) -> tuple[int, int]:
        """``[start, end)`` widened to the whole rows it is drawn on. Stripe columns are given out on these:
        two codings drawn on one row never share a column (even when their characters do not overlap), so
        one's end mark never hides the other's start and each has its own stripe. Before the text is laid
        out, the span itself."""
        if not self._table:
            return start, end
        return min(start, self._line_around(start)[0]), max(end, self._line_around(max(start, end - 1))[1])

    def _line_around(self, offset: int) -> tuple[int, int]:
        """``[start, end)`` of the visual line showing ``offset`` (``LineIndex.row_of``'s line). Past the
        turns laid out so far, the turn holding ``offset`` is wrapped on its own (each turn wraps alone)."""
        rest = self._rest
        if rest is None or offset < self._block_starts[rest]:
            line = self._table[self._line_index.row_of(offset)]
            return line.start, line.end
        bi = bisect.bisect_right(self._block_starts, offset) - 1
        wraps = self._block_wraps.get(bi)
        if wraps is None:
            block = self.blocks[bi]
            width = block_width(block, self._text_width, self._text_width - INTERVIEWER_INDENT)
            wraps = self._block_wraps[bi] = wrap_span(self.text, block.start, block.end, width)
        k = bisect.bisect_right(wraps, (offset, len(self.text) + 1)) - 1
        return wraps[max(k, 0)]

    def _assign_all_lanes(self) -> None:
        """Stripe columns for all codings from the whole layout (``_row_span`` inlined: thousands of calls)."""
        table, index = self._table, self._line_index
        if self._rest is not None or not index.rows:
            self._lane_list = assign_lanes([self._row_span(c.start, c.end) for c in self.codings])
            return
        rows, starts, right = index.rows, index.starts, bisect.bisect_right
        first_row = rows[0]

        def line(offset: int) -> VisualLine:  # LineIndex.row_of
            i = right(starts, offset) - 1
            return table[rows[i] if i >= 0 else first_row]

        spans = []
        for c in self.codings:
            a, b = c.start, c.end
            spans.append((min(a, line(a).start), max(b, line(b - 1 if b > a else a).end)))
        self._lane_list = assign_lanes(spans)

    def _assign_first_lanes(self) -> None:
        """Stripe columns for the codings that start in the turns laid out so far (the others get theirs
        with the rest of the layout). They are the columns the whole layout gives them: ``assign_lanes``
        hands out columns in order of row-span start, every coding starting in a later turn comes after
        these, and a column depends only on the codings before it; the row-span ends of codings running
        past the laid-out turns come from wrapping their last turn alone (``_line_around``)."""
        assert self._rest is not None
        first = bisect.bisect_left(self._spans.starts, self._block_starts[self._rest])
        lanes = assign_lanes([self._row_span(c.start, c.end) for c in self.codings[:first]])
        self._lane_list = lanes + [0] * (len(self.codings) - first)

    def _position(self, c: CodingRow) -> int:
        """Where ``c`` is (or goes) in the ``(start, id)``-ordered visible codings."""
        codings = self.codings
        k = self._spans.position(c.start)
        while k < len(codings) and codings[k].start == c.start and codings[k].id < c.id:
            k += 1
        return k

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

    def _relayout(self, first_screens: bool = False) -> None:
        """Wrap the transcript for the current width. With ``first_screens`` (a transcript just opened at
        its top) only the turns of the first two screens are laid out now and the rest after the first
        paint (``_finish_layout``); those rows, and the stripes drawn on them, are the ones the whole
        layout has, and the scrollbar is sized on an estimate of the rest until then."""
        width = self.scrollable_content_region.width or self.size.width or 80
        self._measure(width)
        self._block_wraps = {}
        min_rows = None
        if first_screens and self._pending_view is None:
            min_rows = self.scroll_offset.y + 2 * max(self.scrollable_content_region.height, 24)
        lines, rest = layout_blocks(
            self.text, self.blocks, self._text_width, self._text_width - INTERVIEWER_INDENT, 0, min_rows
        )
        self._table, self._line_index = lines, LineIndex(lines)
        self._rest = rest if rest < len(self.blocks) else None
        self._wrapped_for = width
        if self._rest is None:
            self._assign_all_lanes()  # rows moved: who shares a row changed
            self.virtual_size = Size(width, len(lines))
        else:
            self._assign_first_lanes()
            self.virtual_size = Size(width, len(lines) + estimate_rows(self.blocks, self._text_width, self._rest))
            self.call_after_refresh(self._finish_layout)
        self._cache.clear()
        self.refresh()
        if self._pending_view is not None:
            start, center = self._pending_view
            self._pending_view = None
            self.call_after_refresh(self.scroll_to_offset, start, center)

    def _finish_layout(self) -> None:
        """Lay out the turns not laid out at open. The rows already drawn stay as they are (each turn
        wraps on its own) and so do their stripes (see ``_assign_first_lanes``): only the scrollbar may
        change, from the estimate to the exact size."""
        rest = self._rest
        if rest is None:
            return
        self._rest = None
        more, _ = layout_blocks(self.text, self.blocks, self._text_width, self._text_width - INTERVIEWER_INDENT, rest)
        self._table.extend(more)
        self._line_index = LineIndex(self._table)
        self._block_wraps = {}
        self._assign_all_lanes()
        self.virtual_size = Size(self._wrapped_for, len(self._table))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        if self._rest is not None:  # scrolled (wheel, scrollbar) before the rest was laid out
            self._finish_layout()
        super().watch_scroll_y(old_value, new_value)

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width and self._wrapped_for == -1:  # the first layout of a transcript just opened
            self._relayout(first_screens=True)
        elif width and width != self._wrapped_for:
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
        """Repaint the rows whose caret/selection state changed (others come from the strip cache).

        ``rows`` are rows of the whole transcript; those on screen are repainted in runs (``refresh_lines``
        takes rows of the whole transcript too: it subtracts the scroll offset itself)."""
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        visible = sorted(row for row in rows if top <= row < top + height)
        i = 0
        while i < len(visible):
            j = i
            while j + 1 < len(visible) and visible[j + 1] == visible[j] + 1:
                j += 1
            self.refresh_lines(visible[i], j - i + 1)
            i = j + 1

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

    def codings_on_row(self, row: int) -> list[CodingRow]:
        """The visible codings drawn on a row of the view (its stripes), in stripe order."""
        if not 0 <= row < len(self._lines):
            return []
        line = self._lines[row]
        if line.kind == BLANK:
            found = [i for i in self._spans.overlapping(line.start - 1, line.start + 1)
                     if self.codings[i].start < line.start < self.codings[i].end]  # fmt: skip
        else:
            found = self._spans.overlapping(line.start, max(line.end, line.start + 1))
        return [self.codings[i] for i in sorted(found, key=lambda i: (self._lanes[i], i))]

    def codings_on_caret_line(self) -> list[CodingRow]:
        return self.codings_on_row(self._index.row_of(self.cursor))

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
            if self.cursor_listener is not None:
                self.cursor_listener(codings)
            self.post_message(self.CursorMoved(self, codings))
