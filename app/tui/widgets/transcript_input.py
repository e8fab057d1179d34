"""Moving the caret and selecting in the transcript view: the motion actions and the mouse.

Why a module of its own: these turn keys and clicks into caret and selection changes (``set_caret``), and
nothing else; the view owns the state and the painting draws it. ``TranscriptInput`` is mixed into
``TranscriptView`` (its key bindings are declared there, with the widget).
"""

from __future__ import annotations

from textual import events

from app.tui.widgets.layout import BLANK, cluster_end, offset_at_cell
from app.tui.widgets.transcript_paint import INTERVIEWER_INDENT


class TranscriptInput:
    """Keys and mouse of ``TranscriptView`` (a mixin: the attributes it uses are the view's)."""

    # --- motions ---------------------------------------------------------------------------------------

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
        if self._lines and event.x >= self._gutter + self._text_width + 1:  # the stripes margin
            row = max(0, min(event.y + self.scroll_offset.y, len(self._lines) - 1))
            self.post_message(self.StripesClicked(self, self.codings_on_row(row)))
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
