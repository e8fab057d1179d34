"""A ``DataTable`` for large sheets whose column widths are known before the rows are added.

Why: after rows are added, ``DataTable`` measures every cell of every new row (a Rich render each) to size its
columns, even when each column has a fixed width and the measurement is thrown away: 13,000 cells of a case
sheet took most of a second. Here, when every column has a fixed width and no row needs its height measured,
only the virtual size is updated; the rows are rendered when they are scrolled into view, as always.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


def column_widths(header: Sequence[str], rows: Iterable[Sequence[str]], cap: int = 40) -> list[int]:
    """Each column's width: its longest value or header in terminal cells, at most ``cap`` (longer values end
    in "…" on screen; the whole value is in the cell editor and the export)."""
    widths = [cell_len(h) for h in header]
    for row in rows:
        for n, value in enumerate(row):
            if len(value) > widths[n] or not value.isascii():
                widths[n] = max(widths[n], cell_len(value))
    return [min(cap, max(1, w)) for w in widths]


class SheetTable(DataTable):
    """``DataTable`` that skips measuring cells when every column's width was given (see the module note)."""

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        new_rows = list(new_rows)
        measured = any(column.auto_width for column in self.columns.values())
        labelled = any(self.rows[k].label is not None or self.rows[k].auto_height for k in new_rows if k in self.rows)
        if measured or labelled:
            super()._update_dimensions(new_rows)
            return
        width = sum(column.get_render_width(self) for column in self.columns.values()) + self._row_label_column_width
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, self._total_row_height + header)
