"""Cases: the case sheet, participants × attributes (NVivo's classification sheet, MAXQDA's document variables).

Each cell is edited in place (Enter or e): the value is checked against the attribute's type as it is typed,
set by ``models.case_sheet.set_case_value`` as one undoable step (ctrl+z), and refused in one line when
another writer changed that cell since the sheet was read. ``i`` imports a CSV/XLSX sheet and ``w`` writes
one, through the same functions ``waveqda attributes`` and ``waveqda export --kind attributes`` use.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from app.tui.screens.base import NavBar, WorkspaceScreen
from app.tui.widgets.footer import KeyBar
from app.tui.widgets.sheet_grid import SheetGrid
from app.tui.widgets.sheet_table import column_widths
from models.case_sheet import CaseAttribute, CaseSheet, case_sheet, set_case_value
from models.errors import WaveqdaError
from models.participants import check_attribute_value

log = logging.getLogger("waveqda.tui")
CELL_WIDTH = 16


def column_header(attribute: CaseAttribute) -> str:
    """The attribute's name with its type as a mark (``age #``, ``joined date``, ``site ▾``)."""
    return attribute.name + {"number": " #", "date": " date", "choice": " ▾"}.get(attribute.type, "")


@dataclass(frozen=True)
class CellEdit:
    participant: str
    attribute: CaseAttribute
    value: str


class CellEditor(ModalScreen[str | None]):
    """One cell's new value: checked against the attribute's type while typed; an empty value clears it."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, participant: str, attribute: CaseAttribute, value: str) -> None:
        super().__init__()
        self.participant, self.attribute, self.value = participant, attribute, value

    def compose(self) -> ComposeResult:
        kind = self.attribute.type
        about = {
            "number": "A number (e.g. 34 or 2.5).",
            "date": "A date as YYYY-MM-DD.",
            "text": "Any text on one line.",
            "choice": "One of: " + ", ".join(self.attribute.choices) + " (a new value is added to the choices).",
        }[kind]
        with Vertical(classes="dialog"):
            yield Label(f"{self.participant}: {self.attribute.name} ({kind})", classes="dialog-title")
            yield Input(self.value, id="cell-input")
            yield Static("", id="cell-error", classes="dialog-error")
            yield Static(about, classes="dialog-help")
            yield Static("Enter to set · empty clears · Esc to cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#cell-error", Static).display = False
        self.query_one(Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._check(event.value)

    def _check(self, value: str) -> str | None:
        error = self.query_one("#cell-error", Static)
        try:
            checked = check_attribute_value(self.attribute.name, self.attribute.type, value)
        except WaveqdaError as exc:
            error.update(str(exc))
            error.display = True
            return None
        error.display = False
        return checked

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        checked = self._check(event.value)
        if checked is not None:
            self.dismiss(checked)


class CasesScreen(WorkspaceScreen):
    """Participants down, attributes across; edit, import and export the sheet."""

    AREA = "cases"
    BINDINGS = [
        Binding("e", "edit", "Edit"),
        Binding("delete", "clear", "Clear cell", show=False),
        Binding("i", "import_sheet", "Import CSV/XLSX"),
        Binding("w", "export_sheet", "Export CSV/XLSX"),
    ]

    class Loaded(Message):
        """The sheet, read in a worker (or the reason it could not be)."""

        def __init__(self, sheet: CaseSheet | None, widths: list[int] | None = None, error: str = "") -> None:
            super().__init__()
            self.sheet, self.widths, self.error = sheet, widths or [], error

    def __init__(self) -> None:
        super().__init__()
        self.sheet: CaseSheet | None = None
        self.widths: list[int] = []

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        yield Static(id="cases-title")
        yield SheetGrid(id="cases-table")
        yield Static(id="cases-hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self._seen_version = self.wq.data_version
        self.query_one("#cases-title", Static).update(Text("Reading the case sheet…", style="bold"))
        self.query_one(SheetGrid).focus()
        self.refresh_data()

    def refresh_data(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="cases")
    def load(self) -> None:
        try:
            with self.wq.project.read() as session:
                sheet = case_sheet(session)
        except WaveqdaError as exc:
            self.post_message(self.Loaded(None, error=str(exc)))
            return
        except Exception as exc:  # a bug: a message, never a traceback over the screen
            log.error("case sheet: %s", traceback.format_exc())
            self.post_message(self.Loaded(None, error=f"Unexpected error ({exc.__class__.__name__}: {exc})"))
            return
        header = ["Participant", *(column_header(a) for a in sheet.attributes)]
        widths = column_widths(header, ((row.participant, *row.values) for row in sheet.rows))
        self.post_message(self.Loaded(sheet, widths))

    def on_cases_screen_loaded(self, message: Loaded) -> None:
        if message.sheet is None:
            self.notify(message.error, severity="error", timeout=8)
            return
        self.sheet, self.widths = message.sheet, message.widths
        self._draw()

    def _draw(self) -> None:
        sheet = self.sheet
        if sheet is None:
            return
        grid = self.query_one(SheetGrid)
        headers = ["Participant", *(column_header(a) for a in sheet.attributes)]
        grid.set_data(headers, [(row.participant, *row.values) for row in sheet.rows], self.widths)
        if sheet.rows and sheet.attributes and grid.cursor[1] == 0:
            grid.cursor = (grid.cursor[0], 1)  # on a value, not on the participant
        title = Text()
        title.append(f"Case sheet: {len(sheet.rows)} participants × {len(sheet.attributes)} attributes", style="bold")
        title.append("  # number · date · ▾ choice", style="dim")
        self.query_one("#cases-title", Static).update(title)
        if not sheet.attributes:
            hint = "No attributes yet: i imports a CSV/XLSX sheet with a participant column and one column each."
        else:
            hint = "e/Enter edit · del clear · i import CSV/XLSX · w export · ctrl+z undo"
        self.query_one("#cases-hint", Static).update(Text(hint, style="dim"))

    # --- editing -----------------------------------------------------------------------------------------

    def _current(self) -> tuple[str, CaseAttribute, str] | None:
        sheet = self.sheet
        if sheet is None or not sheet.rows or not sheet.attributes:
            return None
        row_index, column = self.query_one(SheetGrid).cursor
        if not (0 <= row_index < len(sheet.rows) and 1 <= column <= len(sheet.attributes)):
            return None
        row = sheet.rows[row_index]
        return row.participant, sheet.attributes[column - 1], row.values[column - 1]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "clear"):
            return self._current() is not None or None
        return True

    def on_sheet_grid_cell_selected(self, event: SheetGrid.CellSelected) -> None:
        event.stop()
        self.action_edit()

    def action_edit(self) -> None:
        current = self._current()
        if current is None:
            return
        participant, attribute, shown = current
        self.app.push_screen(
            CellEditor(participant, attribute, shown),
            lambda value: value is not None and self.set_value(participant, attribute, value, shown),
        )

    def action_clear(self) -> None:
        current = self._current()
        if current is not None and current[2]:
            self.set_value(current[0], current[1], "", current[2])

    def set_value(self, participant: str, attribute: CaseAttribute, value: str, shown: str) -> None:
        """One undoable change through the domain; the value shown is what the cell is expected to hold."""
        if value == shown:
            return
        done = self.wq.change(set_case_value, self.wq.project, self.wq.coder, participant, attribute.name, value, shown)
        if done is not None:
            what = f"{attribute.name} = {value}" if value else f"{attribute.name} cleared"
            self.notify(f"{participant}: {what} (ctrl+z to undo)", timeout=4)

    # --- import and export -------------------------------------------------------------------------------

    def action_import_sheet(self) -> None:
        from app.tui.screens.dialogs import TextPrompt

        if self.wq.refused_in_browser("importing a sheet"):
            return
        self.app.push_screen(
            TextPrompt(
                "Import attributes from a CSV or XLSX sheet…",
                placeholder="e.g. ~/study/attributes.xlsx",
                help_text="A participant column (participant, participant_id, study_id or id) and one column per "
                "attribute; each column's type is inferred. Values given replace those in the sheet; empty "
                "cells leave them as they are. One undoable step.",
            ),
            lambda path: path and self.import_sheet(Path(path).expanduser()),
        )

    def import_sheet(self, path: Path) -> None:
        from importers.batch import import_attributes

        def imported(done: object) -> None:
            if done is not None:
                self.notify(f"Imported attributes from {path.name} (ctrl+z to undo)", timeout=6)

        self.wq.change_in_background(import_attributes, self.wq.project, path, self.wq.coder, then=imported)

    def action_export_sheet(self) -> None:
        from app.tui.screens.dialogs import TextPrompt

        default = "cases.xlsx"
        if self.wq.browser is not None:  # downloaded: a file name is all there is to choose
            default = "cases.xlsx"
        elif self.wq.project.path is not None:
            default = str(Path(self.wq.project.path).with_name(Path(self.wq.project.path).stem + "-cases.xlsx"))
        self.app.push_screen(
            TextPrompt(
                "Export the case sheet to… (.xlsx or .csv)",
                value=default,
                help_text="One row per participant, one column per attribute (XLSX: numbers and dates typed). "
                "The same file imports back here or with waveqda attributes.",
            ),
            lambda path: path and self._export_sheet_to(path),
        )

    def _export_sheet_to(self, raw: str) -> None:
        if self.wq.browser is None:
            self.export_sheet(Path(raw).expanduser())
            return
        try:
            self.export_sheet(self.wq.browser.download_path(raw))
        except WaveqdaError as exc:
            self.notify(str(exc), severity="error", timeout=6)

    @work(thread=True, exclusive=True, group="cases-export")
    def export_sheet(self, path: Path) -> None:
        from exporters.dispatch import run_export
        from exporters.filters import ExportFilters

        try:
            lines = run_export(self.wq.project, path, "attributes", ExportFilters())
        except WaveqdaError as exc:
            self.post_message(self.SheetExported(str(exc), error=True))
            return
        except Exception as exc:
            log.error("case sheet: %s", traceback.format_exc())
            self.post_message(
                self.SheetExported(f"Unexpected error ({exc.__class__.__name__}: {exc}); nothing was written", True)
            )
            return
        self.post_message(self.SheetExported(lines[0] if lines else f"Wrote {path}", error=False, path=path))

    class SheetExported(Message):
        """The export worker's one line: what was written, or why nothing was."""

        def __init__(self, line: str, error: bool, path: Path | None = None) -> None:
            super().__init__()
            self.line, self.error, self.path = line, error, path

    def on_cases_screen_sheet_exported(self, message: SheetExported) -> None:
        if message.error:
            self.notify(message.line, severity="error", timeout=8)
        elif self.wq.browser is not None and message.path is not None:
            self.wq.deliver(message.path)
            self.notify(f"Downloading {message.path.name} to your browser", timeout=6)
        else:
            self.notify(message.line, timeout=6)
