"""A grid of text cells for large sheets (the case sheet): only the rows on screen are ever drawn.

Why not ``DataTable``: it builds a row object per row and renders each visible cell through Rich, and its
first use in a session re-parses the whole stylesheet for its default styles. A 1,000-participant case sheet
took most of its 300 ms budget in those. Here the rows are plain tuples of strings and each visible line is
one ``Strip`` of a few segments, built when it is drawn. The header row and the first column (the
participant) stay in place while the rest scrolls. Styles come from the theme through component classes in
``waveqda.tcss``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = 2  # blank cells between columns


def fit(value: str, width: int) -> str:
    """``value`` in exactly ``width`` terminal cells: padded, or cut with "…"."""
    if cell_len(value) <= width:
        return set_cell_size(value, width)
    return set_cell_size(value, max(0, width - 1)) + "…"


class SheetGrid(ScrollView, can_focus=True):
    """Rows × columns of text with a cell cursor; Enter or a click selects the cell under the cursor."""

    COMPONENT_CLASSES = {"sheet--header", "sheet--fixed", "sheet--cursor", "sheet--stripe"}
    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(-1)", "First row", show=False),
        Binding("end", "edge(1)", "Last row", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    cursor: reactive[tuple[int, int]] = reactive((0, 0), always_update=True)

    class CellSelected(Message):
        """Enter or a click on a cell: ``row`` and ``column`` (0 is the first, fixed, column)."""

        def __init__(self, grid: SheetGrid, row: int, column: int) -> None:
            super().__init__()
            self.grid, self.row, self.column = grid, row, column

        @property
        def control(self) -> SheetGrid:
            return self.grid

    class CursorMoved(Message):
        def __init__(self, grid: SheetGrid, row: int, column: int) -> None:
            super().__init__()
            self.grid, self.row, self.column = grid, row, column

        @property
        def control(self) -> SheetGrid:
            return self.grid

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.headers: list[str] = []
        self.rows: Sequence[Sequence[str]] = []
        self.widths: list[int] = []
        self._starts: list[int] = []  # each scrolling column's x in the scrolled part

    # --- data ----------------------------------------------------------------------------------------------

    def set_data(self, headers: list[str], rows: Sequence[Sequence[str]], widths: list[int]) -> None:
        """Show ``rows`` (each as many strings as ``headers``) in columns ``widths`` cells wide; the cursor
        stays where it was as far as the new data allows."""
        self.headers, self.rows, self.widths = headers, rows, widths
        self._starts = []
        x = 0
        for width in widths[1:]:
            self._starts.append(x)
            x += width + GAP
        self.virtual_size = Size(self._fixed_width + x, len(rows) + 1)
        row, column = self.cursor
        self.cursor = (max(0, min(row, len(rows) - 1)), max(0, min(column, len(headers) - 1)))
        self.refresh()

    @property
    def _fixed_width(self) -> int:
        return (self.widths[0] + GAP) if self.widths else 0

    def cell(self, row: int, column: int) -> str:
        return self.rows[row][column]

    # --- drawing -------------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if not self.widths:
            return Strip.blank(width, self.rich_style)
        if y == 0:
            return self._line(self.headers, width, -1)
        row = self.scroll_offset.y + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        return self._line(self.rows[row], width, row)

    def _line(self, values: Sequence[str], width: int, row: int) -> Strip:
        base = self.rich_style
        header = self.get_component_rich_style("sheet--header")
        style = header if row < 0 else base
        if row >= 0 and row % 2:
            style = base + self.get_component_rich_style("sheet--stripe")
        cursor = self.get_component_rich_style("sheet--cursor")
        fixed = header if row < 0 else style + self.get_component_rich_style("sheet--fixed")
        on_row = row == self.cursor[0]
        segments = [Segment(fit(values[0], self.widths[0]), cursor if on_row and self.cursor[1] == 0 else fixed)]
        segments.append(Segment(" " * GAP, style))
        scrolled: list[Segment] = []
        for n in range(1, len(values)):
            cell_style = cursor if on_row and self.cursor[1] == n else style
            scrolled.append(Segment(fit(values[n], self.widths[n]), cell_style))
            scrolled.append(Segment(" " * GAP, style))
        rest = Strip(scrolled).crop(self.scroll_offset.x, self.scroll_offset.x + width - self._fixed_width)
        line = Strip([*segments, *rest])
        return line.extend_cell_length(width, style).crop(0, width)

    # --- the cursor ----------------------------------------------------------------------------------------

    def watch_cursor(self, old: tuple[int, int], new: tuple[int, int]) -> None:
        self._refresh_row(old[0])
        self._refresh_row(new[0])
        self._scroll_to_cursor()
        self.post_message(self.CursorMoved(self, *new))

    def _refresh_row(self, row: int) -> None:
        y = row - self.scroll_offset.y + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _scroll_to_cursor(self) -> None:
        row, column = self.cursor
        height = max(1, self.scrollable_content_region.height - 1)
        top = self.scroll_offset.y
        if row < top:
            top = row
        elif row >= top + height:
            top = row - height + 1
        left = self.scroll_offset.x
        if column >= 1 and self._starts:
            start, end = self._starts[column - 1], self._starts[column - 1] + self.widths[column]
            room = self.scrollable_content_region.width - self._fixed_width
            if start < left:
                left = start
            elif end > left + room:  # scroll by whole columns, so no column shows only its tail
                left = next((x for x in self._starts if end - x <= room and x <= start), start)
        if (left, top) != tuple(self.scroll_offset):
            self.scroll_to(left, top, animate=False, immediate=True)

    def action_move(self, rows: int, columns: int) -> None:
        if not self.rows:
            return
        row, column = self.cursor
        self.cursor = (
            max(0, min(len(self.rows) - 1, row + rows)),
            max(0, min(len(self.headers) - 1, column + columns)),
        )

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 2), 0)

    def action_edge(self, direction: int) -> None:
        self.action_move(direction * len(self.rows), 0)

    def action_select(self) -> None:
        if self.rows:
            self.post_message(self.CellSelected(self, *self.cursor))

    def on_click(self, event: events.Click) -> None:
        found = self._cell_at(event.offset)
        if found is None:
            return
        again = found == self.cursor  # as in DataTable: a click on the cell under the cursor selects it
        self.cursor = found
        if event.chain >= 2 or again:
            self.post_message(self.CellSelected(self, *found))
        self.focus()

    def _cell_at(self, offset: Offset) -> tuple[int, int] | None:
        row = self.scroll_offset.y + offset.y - 1
        if offset.y < 1 or not (0 <= row < len(self.rows)) or not self.widths:
            return None
        if offset.x < self._fixed_width:
            return row, 0
        x = offset.x - self._fixed_width + self.scroll_offset.x
        for n, start in enumerate(self._starts, start=1):
            if start <= x < start + self.widths[n] + GAP:
                return row, n
        return None
