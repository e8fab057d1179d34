"""Compare timepoints: the code x timepoint matrix as a heat table, and participant trajectories.

The longitudinal question of the study — what appeared, persisted or faded between waves — is answered by
reading across a row; Enter drills into a cell's segments, t shows each participant's course for the code.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.widgets import DataTable, Static

from app.tui.screens.base import NavBar, Palette, WorkspaceScreen
from app.tui.screens.dialogs import MessageDialog
from app.tui.widgets.footer import KeyBar
from models.queries import Matrix, code_timepoint_matrix, trajectories

MEASURES = ("segments", "participants", "words")


def status_style(status: str, palette: Palette) -> str:
    """A trajectory point's style, from the theme: emerged, persisted, returned and faded stand out."""
    return {
        "emerged": f"bold {palette.good}",
        "persisted": f"bold {palette.accent}",
        "returned": f"bold {palette.note}",
        "faded": f"bold {palette.bad}",
        "absent": "dim",
        "missing": "dim italic",
        "not coded yet": f"italic {palette.fair}",
    }.get(status, "")


STATUS_TEXT = {"missing": "not interviewed"}


def column_label(key: str, label: str, width: int = 14) -> Text:
    """A timepoint column's header: its key in bold and as much of its label as fits, cut with "…" (the
    full labels are in the line under the table)."""
    rest = f" {label}"
    if len(key) + len(rest) > width:
        rest = rest[: max(0, width - len(key) - 1)].rstrip() + "…"
    return Text.assemble((key, "bold"), rest)


def heat(value: float, top: float, base: Color, hot: Color) -> str:
    """A cell's background: the theme's surface blended toward its primary colour by the value's share."""
    share = 0.0 if top <= 0 else min(1.0, value / top)
    return base.blend(hot, 0.15 + 0.75 * share).hex if value else base.hex


class CompareScreen(WorkspaceScreen):
    """Codes down, timepoints across; segments, participants or words per cell."""

    AREA = "compare"
    BINDINGS = [
        Binding("s", "measure", "Segments/participants/words"),
        Binding("enter", "drill", "Segments of cell", show=False),
        Binding("o", "drill", "Drill in"),
        Binding("t", "trajectories", "Trajectories"),
        Binding("m", "matrix", "Matrix coding"),
        Binding("q", "app.scores", "Scores", tooltip="Questionnaire scores beside the themes"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.matrix: Matrix | None = None
        self.measure = "segments"

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        yield Static(id="compare-title")
        yield DataTable(id="compare-table", cursor_type="cell")
        yield Static(id="compare-hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self._seen_version = self.wq.data_version
        self.refresh_data()
        self.query_one(DataTable).focus()

    def refresh_data(self) -> None:
        matrix = self.wq.read(code_timepoint_matrix)
        if matrix is None:
            return
        self.matrix = matrix
        self._draw()

    def _draw(self) -> None:
        matrix = self.matrix
        if matrix is None:
            return
        table = self.query_one(DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column("Code", key="code")
        for key, label in matrix.timepoints:
            table.add_column(column_label(key, label), key=key, width=15)
        table.add_column("All", key="all", width=7)
        values = [getattr(row.cells[k], self.measure) for row in matrix.rows for k, _ in matrix.timepoints]
        top = max(values, default=0)
        colours = self.app.get_css_variables()  # the theme's variables as the stylesheet sees them (a theme
        base, hot = Color.parse(colours["surface"]), Color.parse(colours["primary"])  # may leave surface unset)
        for row in matrix.rows:
            name = Text("  " * row.depth + row.name, style="bold" if row.depth == 0 else "")
            cells = []
            for key, _ in matrix.timepoints:
                value = getattr(row.cells[key], self.measure)
                bg = heat(value, top, base, hot)
                fg = Color.parse(bg).get_contrast_text(1.0).hex
                cells.append(Text(f"{value:>6}" if value else "     ·", style=f"{fg} on {bg}"))
            cells.append(Text(f"{getattr(row.total, self.measure):>6}", style="bold"))
            table.add_row(name, *cells, key=str(row.code_id))
        if matrix.rows:
            table.cursor_coordinate = cursor if cursor.row < len(matrix.rows) else table.cursor_coordinate
            if table.cursor_coordinate.column == 0:
                table.move_cursor(column=1)
        title = Text()
        title.append(f"Codes × timepoints: {self.measure}", style="bold")
        title.append(" per cell (rows include their sub-codes). s switches the measure. ", style="dim")
        title.append(" · ".join(f"{key} {label}" for key, label in matrix.timepoints), style="dim italic")
        self.query_one("#compare-title", Static).update(title)
        coded = " · ".join(
            f"{key}: {found.coded} of {found.transcripts} interviews coded"
            for key, found in matrix.interviews.items()
            if found.coded < found.transcripts
        )
        hint = (
            "No codings yet."
            if not matrix.rows
            else "Enter: the segments of a cell · t: each participant's trajectory for the code · m: matrix coding"
            + (f"\nNot coded yet (not absent): {coded}" if coded else "")
        )
        self.query_one("#compare-hint", Static).update(Text(hint, style="dim"))

    def _current(self) -> tuple[int, str | None] | None:
        if self.matrix is None or not self.matrix.rows:
            return None
        coord = self.query_one(DataTable).cursor_coordinate
        if coord.row >= len(self.matrix.rows):
            return None
        row = self.matrix.rows[coord.row]
        keys = [k for k, _ in self.matrix.timepoints]
        key = keys[coord.column - 1] if 0 < coord.column <= len(keys) else None
        return row.code_id, key

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("drill", "trajectories"):
            return self._current() is not None or None
        return True

    def action_measure(self) -> None:
        self.measure = MEASURES[(MEASURES.index(self.measure) + 1) % len(MEASURES)]
        self._draw()

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.action_drill()

    def action_drill(self) -> None:
        current = self._current()
        if current is not None:
            self.wq.retrieve_code(current[0], timepoint=current[1])

    def action_matrix(self) -> None:
        """Matrix coding: any two of codes, timepoints, participants, coders and attribute values."""
        from app.tui.screens.matrix import MatrixScreen

        self.app.push_screen(MatrixScreen())

    def action_trajectories(self) -> None:
        current = self._current()
        if current is None:
            return
        code_id = current[0]
        found = self.wq.read(trajectories, code_id)
        if found is None:
            return
        info = self.wq.codes().get(code_id)
        table = Table(box=None, expand=True)
        table.add_column("Participant", style="bold")
        keys = [p.timepoint for p in found[0].points] if found else []
        for key in keys:
            table.add_column(key)
        table.add_column("Pattern (+ present, - absent, ? not coded yet, . not interviewed)", style="dim")
        palette = Palette.of(self.app)
        for traj in found:
            cells = []
            for point in traj.points:
                label = STATUS_TEXT.get(point.status, point.status) + (
                    f" ({len(point.segments)})" if point.segments else ""
                )
                cells.append(Text(label, style=status_style(point.status, palette)))
            table.add_row(traj.participant, *cells, traj.pattern)
        self.app.push_screen(MessageDialog(f"Trajectories: {info.path if info else code_id}", table))
