"""Home: the study at a glance — participants down, timepoints across — and importing files.

Each cell is one interview: its words, its codings, and per coder the share of the participant's turns that
carry a code (how far coding has got). Enter or a click opens the interview in the coder.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from app.tui.screens.base import NavBar, Palette, WorkspaceScreen
from app.tui.widgets.footer import KeyBar
from models.workspace_queries import HomeCell, HomeCounts, HomeGrid, home_counts, home_grid, with_counts

log = logging.getLogger("waveqda.tui")

if TYPE_CHECKING:
    from textual.widgets import ProgressBar

    from app.tui.screens.import_dialog import ImportRequest


def cell_text(cell: HomeCell | None, palette: Palette, counted: bool = True) -> Text:
    if cell is None:
        return Text("—", style="dim")
    text = Text()
    text.append(f"{cell.words:,} w", style="bold")
    if not counted:  # painted first; the worker's counts follow within a moment
        text.append(" · counting…\n", style="dim")
        if cell.blind:
            text.append("blind", style=f"bold {palette.fair}")
        return text
    text.append(f" · {cell.codings} codings\n", style="")
    if cell.blind:  # a word, not a colour: blind coding hides the other coders' codings here
        text.append("blind ", style=f"bold {palette.fair}")
    if cell.progress:
        parts = sorted(cell.progress.items(), key=lambda item: -item[1])
        shown = parts[:2]
        text.append(" ".join(f"{name} {share:.0%}" for name, share in shown), style=palette.good)
        if len(parts) > 2:
            text.append(f" +{len(parts) - 2}", style="dim")
    else:
        text.append("not coded yet", style="dim")
    return text


class HomeScreen(WorkspaceScreen):
    """The participants x timepoints grid of transcripts."""

    AREA = "home"
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("i", "import_files", "Import…"),
        Binding("m", "app.merge_project", "Merge…", tooltip="Merge another coder's project into this one"),
        Binding("slash", "app.go('search')", "Search", key_display="/"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.grid: HomeGrid | None = None
        self._drawn_width = 0
        self._bar: ProgressBar | None = None  # the import progress bar, once an import started
        self._counts: HomeCounts | None = None  # the last codings and progress counted (shown until the next)

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        yield Static(id="home-title")
        yield DataTable(id="home-grid", cursor_type="cell", zebra_stripes=True)
        yield Static(id="home-hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self._seen_version = self.wq.data_version
        self.refresh_data()
        self.query_one(DataTable).focus()

    def refresh_data(self) -> None:
        """Paint the grid at once (names, words), then count codings and progress in a worker: on a big
        project the counts are most of the work. Until they come, the last counts (or "counting…") show."""
        grid = self.wq.read(home_grid, counted=False)
        if grid is None:
            return
        self.grid = with_counts(grid, self._counts) if self._counts is not None else grid
        self._draw()
        self.count_codings()

    @work(thread=True, exclusive=True, group="home-counts")
    def count_codings(self) -> None:
        try:
            with self.wq.project.read() as session:
                counts = home_counts(session)
        except Exception as exc:  # shown in one line; the grid stays painted
            log.error("home counts: %s", traceback.format_exc())
            self.post_message(self.Counted(None, f"{exc.__class__.__name__}: {exc}"))
            return
        self.post_message(self.Counted(counts, None))

    class Counted(Message):
        """The counting worker's codings and progress per transcript, or the one line why it failed."""

        def __init__(self, counts: HomeCounts | None, error: str | None) -> None:
            super().__init__()
            self.counts, self.error = counts, error

    def on_home_screen_counted(self, message: Counted) -> None:
        if message.counts is None:
            self.notify(f"Could not count the codings: {message.error}", severity="error", timeout=8)
            return
        self._counts = message.counts
        if self.grid is not None:
            self.grid = with_counts(self.grid, message.counts)
            self._draw()

    def _draw(self) -> None:
        grid = self.grid
        if grid is None:
            return
        table = self.query_one(DataTable)
        self._drawn_width = self.app.size.width
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column("Participant", key="participant", width=11)
        width = max(20, min(34, (self.app.size.width - 16) // max(1, len(grid.timepoints)) - 2))
        for key, label in grid.timepoints:
            table.add_column(Text.assemble((key, "bold"), f" {label}"), key=key, width=width)
        palette = Palette.of(self.app)
        for participant in grid.participants:
            row = [Text(participant, style="bold")]
            row += [cell_text(grid.cells.get((participant, key)), palette, grid.counted) for key, _ in grid.timepoints]
            table.add_row(*row, key=participant, height=2)
        if grid.participants:
            table.cursor_coordinate = cursor if cursor.row < len(grid.participants) else table.cursor_coordinate
            if table.cursor_coordinate.column == 0:
                table.move_cursor(column=1)
        n = len(grid.cells)
        words = sum(c.words for c in grid.cells.values())
        codings = sum(c.codings for c in grid.cells.values())
        title = Text()
        title.append(grid.project_name or "Project", style="bold")
        coded = f"{codings:,} codings" if grid.counted else "counting codings…"
        title.append(
            f"   {len(grid.participants)} participants · {n} transcripts · {words:,} words · {coded}",
            style="dim",
        )
        if grid.coding_now:
            title.append("   coding now: ", style="dim")
            title.append(", ".join(grid.coding_now[:4]) + (" …" if len(grid.coding_now) > 4 else ""), style="bold")
        self.query_one("#home-title", Static).update(title)
        hint = (
            "No transcripts yet: press i to import interview files (.docx, .txt, .vtt…)."
            if not grid.cells
            else "Arrows choose an interview · Enter or click opens it · i imports more files · ? lists every key"
            " · % = share of participant turns each coder has coded"
        )
        self.query_one("#home-hint", Static).update(Text(hint, style="dim"))

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.grid is not None and self._drawn_width != self.app.size.width:
            self._draw()

    def on_resize(self) -> None:
        """Column widths follow the terminal; only the visible home screen redraws (no query runs)."""
        if self.grid is not None and self.is_current:
            self._draw()

    def _selected_transcript(self) -> int | None:
        if self.grid is None or not self.grid.participants:
            return None
        table = self.query_one(DataTable)
        coord = table.cursor_coordinate
        if coord.column == 0 or coord.row >= len(self.grid.participants):
            return None
        participant = self.grid.participants[coord.row]
        key = self.grid.timepoints[coord.column - 1][0]
        cell = self.grid.cells.get((participant, key))
        return cell.transcript_id if cell else None

    def action_open(self) -> None:
        tid = self._selected_transcript()
        if tid is None:
            self.notify("No transcript here: choose a cell with words in it", severity="warning")
            return
        self.wq.open_transcript(tid)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.action_open()

    # --- import ----------------------------------------------------------------------------------------

    def action_import_files(self) -> None:
        from app.tui.screens.import_dialog import ImportDialog

        if self.wq.refused_in_browser("importing files"):
            return
        self.app.push_screen(ImportDialog(), self._import_chosen)

    def _import_chosen(self, request: ImportRequest | None) -> None:
        if request is not None and request.paths:
            if self._bar is None:  # made on first import: the launch to this screen need not build it
                from textual.widgets import ProgressBar

                self._bar = ProgressBar(id="import-progress", show_eta=False)
                self.mount(self._bar, before="#home-hint")
            self._bar.display = True
            self._bar.update(total=None, progress=0)
            self.run_import(request)

    @work(thread=True, exclusive=True, group="import")
    def run_import(self, request: ImportRequest) -> None:
        """Parse and store files off the event loop (spaCy sentence splitting is slow), showing progress.
        ``import_paths`` routes them as ``waveqda import`` does (a REFI-QDA project included)."""
        from importers.batch import RefiOptions, import_paths

        def progress(n: int, total: int, name: str) -> None:
            self.post_message(self.ImportProgress(n, total, name))

        try:
            result = import_paths(
                self.wq.project,
                request.paths,
                timepoint=request.timepoint,
                actor=self.wq.coder or None,
                progress=progress,
                refi=RefiOptions(participant_from_name=request.participant_from_name),
            )
        except Exception as exc:  # WaveqdaError or a bug: shown, never a traceback
            self.post_message(self.ImportDone(None, f"{exc}"))
            return
        self.post_message(self.ImportDone(result, None))

    class ImportProgress(Message):
        """The import worker finished one more file of ``total``."""

        def __init__(self, n: int, total: int, name: str) -> None:
            super().__init__()
            self.n, self.total, self.name = n, total, name

    class ImportDone(Message):
        """The import worker's result (``importers.batch.BatchResult``), or the one line saying why it failed."""

        def __init__(self, result: Any, error: str | None) -> None:
            super().__init__()
            self.result, self.error = result, error

    def on_home_screen_import_progress(self, message: ImportProgress) -> None:
        if self._bar is not None:
            self._bar.update(total=message.total, progress=message.n)
        self.query_one("#home-hint", Static).update(
            Text(f"Importing {message.n}/{message.total}: {message.name}", style="bold")
        )

    def on_home_screen_import_done(self, message: ImportDone) -> None:
        self._import_done(message.result, message.error)

    def _import_done(self, result: Any, error: str | None) -> None:
        if self._bar is not None:
            self._bar.display = False
        self.wq.changed()
        if error:
            self.notify(f"Import failed: {error}", severity="error", timeout=10)
            return
        self.notify(f"Import: {result.summary()}", severity="warning" if result.failed else "information")
        if result.failed or any(o.status == "skipped" for o in result.outcomes):
            body = Text()
            for outcome in result.outcomes:
                if outcome.status in ("failed", "skipped"):
                    palette = Palette.of(self.app)
                    body.append(
                        f"{outcome.status.upper():8}",
                        style=f"bold {palette.bad}" if outcome.status == "failed" else palette.fair,
                    )
                    body.append(f" {outcome.message}\n")
            from app.tui.screens.dialogs import MessageDialog

            self.app.push_screen(MessageDialog(f"Import: {result.summary()}", body))
