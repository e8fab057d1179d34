"""Matrix coding (Compare, m): any two of codes, timepoints, participants, coders and attribute values as rows
and columns, each cell's segments, participants, words or % coverage as a heat map; Enter on a cell reads its
codings in Retrieve. NVivo's matrix coding query and MAXQDA's code matrix browser, over
``models.queries.crosstab``: the same cells ``waveqda matrix --rows/--columns`` prints.
"""

from __future__ import annotations

import logging
import traceback

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Select, Static

from app.tui.screens.base import NavBar, WorkspaceScreen
from app.tui.screens.compare import heat
from app.tui.widgets.footer import KeyBar
from app.tui.widgets.sheet_table import SheetTable
from models.errors import WaveqdaError
from models.queries.crosstab import CrossCell, CrossTab, crosstab, matrix_dimensions

log = logging.getLogger("waveqda.tui")
MEASURES = ("segments", "participants", "words", "coverage")
MEASURE_LABEL = {"segments": "segments", "participants": "participants", "words": "words", "coverage": "% coverage"}
LABEL_WIDTH = 36
CELL_WIDTH = 12


def cell_value(cell: CrossCell, measure: str) -> float:
    return cell.coverage * 100 if measure == "coverage" else float(getattr(cell, measure))


def cell_text(value: float, measure: str) -> str:
    if not value:
        return "·"
    if measure == "coverage":
        return f"{value:.2f}%" if value < 1 else f"{value:.1f}%"  # a little coded text is never "0.0%"
    return f"{int(value):,}"


def row_label(dimension: str, label: str) -> Text:
    """A code's row as its name indented under its parents (the whole path is in the line under the table)."""
    if dimension == "codes":
        depth = label.count("/")
        return Text("  " * depth + label.rsplit("/", 1)[-1], style="bold" if depth == 0 else "")
    return Text(label, style="bold")


class MatrixScreen(WorkspaceScreen):
    """Rows × columns chosen from the domain's dimensions; a heat map of one measure; Enter reads a cell."""

    AREA = "compare"
    BINDINGS = [
        Binding("s", "measure", "Measure"),
        Binding("x", "swap", "Swap rows/columns"),
        Binding("r", "choose('rows')", "Rows…"),
        Binding("c", "choose('columns')", "Columns…"),
        Binding("enter", "open_cell", "Segments of cell", show=False),
        Binding("o", "open_cell", "Read cell"),
        Binding("e", "export", "Export…"),
        Binding("escape", "back", "Back to Compare"),
    ]

    class Computed(Message):
        """The matrix (from the worker), or the one-line reason it could not be computed."""

        def __init__(self, generation: int, table: CrossTab | None, error: str = "") -> None:
            super().__init__()
            self.generation, self.table, self.error = generation, table, error

    def __init__(self, rows: str = "codes", columns: str = "timepoints") -> None:
        super().__init__()
        self.rows_by, self.columns_by = rows, columns
        self.measure = "segments"
        self.table: CrossTab | None = None
        self.dimensions: list[tuple[str, str]] = []
        self._generation = 0
        self._filling = False

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA, "Matrix coding")
        self.dimensions = self.wq.read(matrix_dimensions) or [("codes", "Codes"), ("timepoints", "Timepoints")]
        with Horizontal(id="matrix-choices"):
            for name, side, value in (("rows", "Rows", self.rows_by), ("columns", "Columns", self.columns_by)):
                yield Select(
                    [(f"{side}: {label}", spec) for spec, label in self.dimensions],
                    value=value,
                    allow_blank=False,
                    id=f"matrix-{name}",
                    classes="fit-compact",
                )
        yield Static(id="matrix-title")
        yield SheetTable(id="matrix-table", cursor_type="cell")
        yield Static(id="matrix-hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self._seen_version = self.wq.data_version
        self.query_one(DataTable).focus()
        self.watch(self.app, "theme", lambda _theme: self._draw(), init=False)  # the heat map's colours
        self.refresh_data()

    def refresh_data(self) -> None:
        self.dimensions = self.wq.read(matrix_dimensions) or []
        specs = [spec for spec, _label in self.dimensions]
        if self.rows_by not in specs:
            self.rows_by = "codes"
        if self.columns_by not in specs or self.columns_by == self.rows_by:
            self.columns_by = next(s for s in specs if s != self.rows_by)
        self._filling = True
        for selector, value, side in (
            ("#matrix-rows", self.rows_by, "Rows"),
            ("#matrix-columns", self.columns_by, "Columns"),
        ):
            select = self.query_one(selector, Select)
            select.set_options([(f"{side}: {label}", spec) for spec, label in self.dimensions])
            select.value = value
        self.call_after_refresh(setattr, self, "_filling", False)
        self.compute()

    @on(Select.Changed)
    def _choice_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.query_one(DataTable).focus()
        if self._filling or not isinstance(event.value, str):
            return
        rows, columns = self.rows_by, self.columns_by
        if event.select.id == "matrix-rows":
            rows = event.value
            if rows == columns:  # choosing the columns' dimension as rows swaps the two
                columns = self.rows_by
        else:
            columns = event.value
            if columns == rows:
                rows = self.columns_by
        self.rows_by, self.columns_by = rows, columns
        self._filling = True
        self.query_one("#matrix-rows", Select).value = rows
        self.query_one("#matrix-columns", Select).value = columns
        self.call_after_refresh(setattr, self, "_filling", False)
        self.compute()

    def compute(self) -> None:
        self._generation += 1
        self.query_one("#matrix-title", Static).update(Text("Computing the matrix…", style="bold"))
        self._compute(self._generation, self.rows_by, self.columns_by)

    @work(thread=True, exclusive=True, group="matrix")
    def _compute(self, generation: int, rows: str, columns: str) -> None:
        try:
            with self.wq.project.read() as session:
                table = crosstab(session, rows, columns, words=True)
        except WaveqdaError as exc:
            self.post_message(self.Computed(generation, None, str(exc)))
            return
        except Exception as exc:  # a bug: one line, the screen stays usable
            log.error("matrix coding failed: %s", traceback.format_exc())
            self.post_message(self.Computed(generation, None, f"Unexpected error ({type(exc).__name__}: {exc})"))
            return
        self.post_message(self.Computed(generation, table))

    def on_matrix_screen_computed(self, message: Computed) -> None:
        if message.generation != self._generation:
            return
        if message.table is None:
            self.notify(message.error, severity="error", timeout=8)
            return
        self.table = message.table
        self._draw()

    def _draw(self) -> None:
        found = self.table
        if found is None:
            return
        table = self.query_one(DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        labels = [row_label(found.rows_dimension, r) for r in found.rows]
        width = min(LABEL_WIDTH, max([cell_len(t.plain) for t in labels] + [len(self._label(self.rows_by))]))
        table.add_column(Text(self._label(self.rows_by), style="bold"), key="_row", width=max(8, width))
        for column in found.columns:
            table.add_column(Text(column, style="bold"), key=column, width=min(CELL_WIDTH, max(7, cell_len(column))))
        values = [cell_value(cell, self.measure) for row in found.cells for cell in row]
        top = max(values, default=0.0)
        colours = self.app.get_css_variables()  # the theme's variables, as the stylesheet sees them
        base, hot = Color.parse(colours["surface"]), Color.parse(colours["primary"])
        rows = []
        for label, cells in zip(labels, found.cells, strict=True):
            shown = []
            for cell in cells:
                value = cell_value(cell, self.measure)
                bg = heat(value, top, base, hot)
                fg = Color.parse(bg).get_contrast_text(1.0).hex
                shown.append(Text(cell_text(value, self.measure).rjust(6), style=f"{fg} on {bg}", justify="right"))
            rows.append((label, *shown))
        table.add_rows(rows)
        if found.rows and found.columns:
            row = min(cursor.row, len(found.rows) - 1)
            column = min(max(cursor.column, 1), len(found.columns))
            table.cursor_coordinate = cursor._replace(row=row, column=column)
        title = Text()
        title.append(f"{self._label(self.rows_by)} × {self._label(self.columns_by)}: ", style="bold")
        title.append(f"{MEASURE_LABEL[self.measure]} per cell", style="bold")
        title.append("  (r/c: rows/columns, s: measure, x: swap, Enter: read a cell, e: export)", style="dim")
        self.query_one("#matrix-title", Static).update(title)
        self._show_hint()

    def _label(self, spec: str) -> str:
        return dict(self.dimensions).get(spec, spec)

    def _current(self) -> tuple[str, str, CrossCell] | None:
        found = self.table
        if found is None or not found.rows or not found.columns:
            return None
        coord = self.query_one(DataTable).cursor_coordinate
        if not (0 <= coord.row < len(found.rows) and 1 <= coord.column <= len(found.columns)):
            return None
        return found.rows[coord.row], found.columns[coord.column - 1], found.cells[coord.row][coord.column - 1]

    def _show_hint(self) -> None:
        current = self._current()
        hint = Text()
        if current is None:
            hint.append("No codings to cross yet." if self.table is not None else "", style="dim")
        else:
            row, column, cell = current
            hint.append(f"{row} × {column}: ", style="bold")
            hint.append(
                f"{cell.segments} segments · {cell.participants} participants · {cell.words} words · "
                f"{cell.coverage * 100:.1f}% coverage",
                style="dim",
            )
            if self.rows_by == "codes" or self.columns_by == "codes":
                hint.append("  (codes include their sub-codes)", style="dim italic")
        self.query_one("#matrix-hint", Static).update(hint)

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._show_hint()

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.action_open_cell()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_cell":
            return self._current() is not None or None
        return True

    def action_measure(self) -> None:
        self.measure = MEASURES[(MEASURES.index(self.measure) + 1) % len(MEASURES)]
        self._draw()

    def action_choose(self, side: str) -> None:
        """Open the rows' or the columns' list of dimensions (Enter picks one, Esc leaves it as it is)."""
        select = self.query_one(f"#matrix-{side}", Select)
        select.focus()
        select.expanded = True

    def action_swap(self) -> None:
        self.rows_by, self.columns_by = self.columns_by, self.rows_by
        self._filling = True
        self.query_one("#matrix-rows", Select).value = self.rows_by
        self.query_one("#matrix-columns", Select).value = self.columns_by
        self.call_after_refresh(setattr, self, "_filling", False)
        self.compute()

    def action_open_cell(self) -> None:
        current = self._current()
        if current is None:
            return
        row, column, cell = current
        if not cell.segment_ids:
            self.notify(f"No codings at {row} × {column}", severity="warning", timeout=4)
            return
        self.wq.retrieve_cell(f"{row} × {column}", cell.segment_ids)

    def action_export(self) -> None:
        """This matrix (rows, columns, measure) as Word, CSV or Excel, through the export dialog: the same
        exporter and worker as every other export."""
        from app.tui.screens.export_dialog import ExportDialog

        self.app.push_screen(ExportDialog("matrix-coding-docx", matrix=(self.rows_by, self.columns_by, self.measure)))

    def action_back(self) -> None:
        self.app.pop_screen()
