"""The export dialog: choose what to export, where, and for which codes and timepoints; watch it being written.

Why a dialog over the same entry point as the CLI: ``exporters.dispatch.run_export`` is what
``waveqda export`` calls, so a report made here and one made from the command line with the same choices are
the same file. The export runs in a worker with a progress bar (a large themes report takes seconds), and
the dialog stays open afterwards to say exactly where the file was written.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from sqlalchemy.orm import Session
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    ProgressBar,
    Select,
    SelectionList,
    Static,
)
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from app.tui.screens.base import Palette
from app.tui.screens.dialogs import ConfirmDialog
from exporters.kinds import WORKSPACE_KINDS, ExportKind
from models.errors import WaveqdaError

if TYPE_CHECKING:
    from app.tui.app import WaveqdaApp

log = logging.getLogger("waveqda.tui")


# The kinds offered here: the registry's (``exporters.kinds``), so the dialog and the CLI never drift apart.
KINDS = WORKSPACE_KINDS
KIND_BY_KEY = {k.key: k for k in KINDS}


def transcript_labels(session: Session) -> list[str]:
    from models.coding import transcript_label
    from models.transcripts import list_transcripts

    return [transcript_label(t) for t in list_transcripts(session)]


def timepoint_keys(session: Session) -> list[tuple[str, str]]:
    from models.store import timepoints

    return [(t.key, t.label) for t in timepoints(session)]


def default_name(stem: str, kind: ExportKind) -> str:
    return f"{stem}-{kind.kind}{kind.suffix}"


class ExportDialog(ModalScreen[Path | None]):
    """Kind, output file and filters; Export runs it with a progress bar; returns the file written (or None)."""

    CSS_PATH = "export_dialog.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+s", "export", "Export"),
    ]

    def __init__(
        self, kind: str = "themes", folder: Path | None = None, matrix: tuple[str, str, str] | None = None
    ) -> None:
        super().__init__()
        self.kind = KIND_BY_KEY.get(kind, KINDS[0])
        # Matrix coding's rows, columns and cell measure: the matrix view's (e there), else codes × timepoints.
        self.matrix = matrix or ("codes", "timepoints", "segments")
        self.folder = folder
        self.running = False
        self.written: Path | None = None
        self._auto_name = ""

    @property
    def wq(self) -> WaveqdaApp:
        return cast("WaveqdaApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide", id="export-dialog"):
            yield Label("Export: a report for a workshop, a table, or the whole project", classes="dialog-title")
            # Anonymising comes first and is on: at 80x24 it is seen before anything else is chosen.
            with Horizontal(id="exp-privacy"):
                yield Checkbox("Anonymise names", value=True, id="exp-anonymise", compact=True)
                yield Checkbox("Coders as Coder 1, 2…", id="exp-anonymise-coders", compact=True)
            # Where the file goes and the options are never below the fold (at 80x24 too): only the lists
            # of kinds, codes and timepoints scroll.
            with Horizontal(id="exp-path-row"):
                yield Label("Save as ", classes="exp-label", id="exp-path-label")
                yield Input(id="exp-path", compact=True)
                yield Input(placeholder="Max quotes (all)", type="integer", id="exp-max-quotes", compact=True)
            with Horizontal(id="exp-options"):
                yield Checkbox("Key quotes only", id="exp-key-only", compact=True)
                yield Checkbox("Large print", id="exp-large-print", compact=True)
                yield Checkbox("Even with unreviewed names", id="exp-accept-risk", compact=True)
            with VerticalScroll(id="exp-form"):
                with Horizontal(id="exp-top"):
                    with Vertical(id="exp-kind-box"):
                        yield Label("What", classes="exp-label")
                        yield OptionList(*[Option(k.label, id=k.key) for k in KINDS], id="exp-kind")
                    with Vertical(id="exp-scope"):
                        yield Label("Codes (none ticked: all; a theme brings its sub-codes)", classes="exp-label")
                        yield SelectionList[str](id="exp-codes")
                        yield Label("Timepoints", classes="exp-label")
                        yield SelectionList[str](id="exp-timepoints")
                yield Select[str]([], prompt="Choose the transcript to print", id="exp-transcript")
                yield Static(id="exp-matrix")
            yield ProgressBar(id="exp-progress", show_eta=False)
            yield Static(id="exp-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export (ctrl+s)", id="exp-run", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="exp-close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#exp-progress").display = False
        from models.workspace_queries import codebook_order

        codes = self.wq.codes()
        order = self.wq.read(codebook_order) or list(codes)
        self.query_one("#exp-codes", SelectionList).add_options(
            [
                Selection("  " * codes[cid].depth + codes[cid].name, codes[cid].path, False)
                for cid in order
                if cid in codes and not codes[cid].archived
            ]
        )
        self.query_one("#exp-timepoints", SelectionList).add_options(
            [Selection(f"{key} {label}", key, True) for key, label in self.wq.read(timepoint_keys) or []]
        )
        self.query_one("#exp-transcript", Select).set_options(
            [(label, label) for label in self.wq.read(transcript_labels) or []]
        )
        kinds = self.query_one("#exp-kind", OptionList)
        kinds.highlighted = KINDS.index(self.kind)
        self._set_path(self.kind)
        self._apply_kind()
        self._show_status(
            Text("Choose what to export (↑↓), tick codes and timepoints (Tab, space), then ctrl+s.", style="dim")
        )
        kinds.focus()

    # --- choices ---------------------------------------------------------------------------------------

    def _folder(self) -> Path:
        if self.folder is not None:
            return self.folder
        project_path = getattr(self.wq, "project_path", None)
        if project_path and not str(project_path).startswith(("sqlite:", "postgresql:")):
            return Path(project_path).expanduser().resolve().parent
        return Path.cwd()

    def _stem(self) -> str:
        project_path = getattr(self.wq, "project_path", None)
        return Path(str(project_path)).stem if project_path else "waveqda"

    def _set_path(self, kind: ExportKind) -> None:
        """Follow the kind in the file name: a name we proposed is replaced, a typed one only gets the suffix."""
        field = self.query_one("#exp-path", Input)
        new_name = default_name(self._stem(), kind)
        current = field.value.strip()
        if not current:
            field.value = new_name if self.wq.browser is not None else str(self._folder() / new_name)
        elif Path(current).name == self._auto_name:
            field.value = str(Path(current).with_name(new_name))
        else:
            field.value = str(Path(current).with_suffix(kind.suffix))
        self._auto_name = new_name
        self.call_after_refresh(self._show_file_name)

    def _show_file_name(self) -> None:
        """Scroll the path to its end: on a narrow terminal the file's name is what must be seen."""
        field = self.query_one("#exp-path", Input)
        field.cursor_position = 0
        field.action_end()

    @on(OptionList.OptionHighlighted, "#exp-kind")
    def _kind_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        kind = KIND_BY_KEY.get(event.option.id or "", self.kind)
        if kind is not self.kind:
            self.kind = kind
            self._set_path(kind)
            self._apply_kind()

    @on(OptionList.OptionSelected, "#exp-kind")
    def _kind_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#exp-codes").focus()

    def _apply_kind(self) -> None:
        """Grey out what does not apply to this kind, so nothing chosen is silently ignored."""
        kind = self.kind
        for selector in ("#exp-codes", "#exp-timepoints"):
            self.query_one(selector).disabled = not kind.scope
        for selector in ("#exp-key-only", "#exp-max-quotes"):
            self.query_one(selector).disabled = not kind.quotes
        self.query_one("#exp-large-print").disabled = not kind.layout
        self.query_one("#exp-transcript").display = kind.kind == "transcript"
        matrix = self.query_one("#exp-matrix", Static)
        matrix.display = kind.kind == "matrix-coding"
        rows, columns, measure = self.matrix
        matrix.update(
            Text.assemble(
                ("Matrix: ", "bold"),
                f"rows {rows}, columns {columns}, {measure} per cell",
                (" (choose them in Compare › m, then e)", "dim"),
            )
        )

    @on(Checkbox.Changed, "#exp-anonymise")
    def _anonymise_changed(self, event: Checkbox.Changed) -> None:
        risk = self.query_one("#exp-accept-risk", Checkbox)
        risk.disabled = not event.value
        if not event.value:
            risk.value = False
            self._show_status(
                Text(
                    "Not anonymised: names in the transcripts will be in the file as they are.",
                    style=f"bold {Palette.of(self.app).fair}",
                )
            )

    def _show_status(self, text: Text | str) -> None:
        self.query_one("#exp-status", Static).update(text)

    # --- running ---------------------------------------------------------------------------------------

    def request(self) -> tuple[Path, object, object]:
        """``(path, filters, options)`` from the form; a ``WaveqdaError`` says what to fix."""
        from exporters.dispatch import ExportOptions, check_request
        from exporters.filters import ExportFilters

        raw = self.query_one("#exp-path", Input).value.strip()
        if not raw:
            raise WaveqdaError("write where to save the file")
        browser = self.wq.browser
        if browser is not None:  # written to a private folder, then downloaded by the browser
            path = browser.download_path(raw)
        else:
            path = Path(raw).expanduser()
            if not path.is_absolute():
                path = self._folder() / path
        kind = self.kind
        if path.suffix.lower() != kind.suffix:
            raise WaveqdaError(
                f"{kind.label} is written as {kind.suffix}: change the file name to end in {kind.suffix}"
            )
        check_request(path, kind.kind)
        privacy = {
            "anonymise": self.query_one("#exp-anonymise", Checkbox).value,
            "anonymise_coders": self.query_one("#exp-anonymise-coders", Checkbox).value,
        }
        privacy["accept_risk"] = privacy["anonymise"] and self.query_one("#exp-accept-risk", Checkbox).value
        options = ExportOptions()
        if not kind.scope:
            return path, ExportFilters(**privacy), options
        codes = list(self.query_one("#exp-codes", SelectionList).selected)
        tp_list = self.query_one("#exp-timepoints", SelectionList)
        timepoints = list(tp_list.selected)
        if not timepoints:
            raise WaveqdaError("tick at least one timepoint")
        max_quotes = None
        if kind.quotes:
            text = self.query_one("#exp-max-quotes", Input).value.strip()
            if text:
                try:
                    max_quotes = int(text)
                except ValueError:
                    raise WaveqdaError(f"max quotes must be a whole number, not {text!r}") from None
        filters = ExportFilters(
            codes=codes or None,
            timepoints=None if len(timepoints) == tp_list.option_count else timepoints,
            key_only=kind.quotes and self.query_one("#exp-key-only", Checkbox).value,
            max_quotes=max_quotes,
            **privacy,
        )
        options.large_print = kind.layout and self.query_one("#exp-large-print", Checkbox).value
        if kind.kind == "matrix-coding":
            options.rows, options.columns, options.cell_measure = self.matrix
        if kind.kind == "transcript":
            chosen = self.query_one("#exp-transcript", Select).value
            if not isinstance(chosen, str):
                raise WaveqdaError("choose the transcript to export")
            options.transcript = chosen
        return path, filters, options

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "export":
            return not self.running or None
        return True

    def action_export(self) -> None:
        if self.running:
            return
        try:
            path, filters, options = self.request()
        except WaveqdaError as exc:
            self._show_status(Text(str(exc), style=f"bold {Palette.of(self.app).bad}"))
            self.notify(str(exc), severity="error", timeout=6)
            return
        if path.exists() and self.wq.browser is None:
            self.app.push_screen(
                ConfirmDialog(f"{path.name} already exists in {path.parent}.\n\nReplace it?", "Replace"),
                lambda ok: ok and self._start(path, filters, options),
            )
            return
        self._start(path, filters, options)

    def _start(self, path: Path, filters: object, options: object) -> None:
        self.running = True
        self.refresh_bindings()
        self.query_one("#exp-run", Button).disabled = True
        bar = self.query_one("#exp-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self._show_status(Text(f"Exporting {self.kind.label} to {path}…", style="bold"))
        self.run_export(path, self.kind.kind, filters, options)

    @work(thread=True, exclusive=True, group="export")
    def run_export(self, path: Path, kind: str, filters: object, options: object) -> None:
        from exporters.dispatch import run_export

        def progress(done: int, total: int, label: str) -> None:
            self.post_message(self.Progress(done, total, label))

        from models.name_check import UnreviewedNamesError

        try:
            lines = run_export(self.wq.project, path, kind, filters, options, progress)  # type: ignore[arg-type]
        except UnreviewedNamesError as exc:
            message = (
                f"not written: {len(exc.names)} name(s) in its text are not reviewed ({exc.examples}). "
                "Review them in Names (F7, after Esc), or tick “Even with unreviewed names”."
            )
            self.post_message(self.Done(path, None, message))
            return
        except WaveqdaError as exc:
            self.post_message(self.Done(path, None, str(exc)))
            return
        except Exception as exc:  # a bug: plainly said, logged, the dialog stays usable
            log.error("export failed: %s", traceback.format_exc())
            self.post_message(self.Done(path, None, f"unexpected error ({exc.__class__.__name__}: {exc})"))
            return
        self.post_message(self.Done(path, lines, None))

    class Progress(Message):
        """The export worker's progress: ``done`` of ``total`` (sections, codes or rows), at ``label``."""

        def __init__(self, done: int, total: int, label: str) -> None:
            super().__init__()
            self.done, self.total, self.label = done, total, label

    class Done(Message):
        """The export worker's result: the lines describing what was written, or the one line why not."""

        def __init__(self, path: Path, lines: list[str] | None, error: str | None) -> None:
            super().__init__()
            self.path, self.lines, self.error = path, lines, error

    def on_export_dialog_progress(self, message: Progress) -> None:
        self._progress(message.done, message.total, message.label)

    def on_export_dialog_done(self, message: Done) -> None:
        self._done(message.path, message.lines, message.error)

    def _progress(self, done: int, total: int, label: str) -> None:
        self.query_one("#exp-progress", ProgressBar).update(total=max(total, 1), progress=done)
        if label:
            self._show_status(Text(f"Exporting: {label} {done}/{total}", style="bold"))

    def _done(self, path: Path, lines: list[str] | None, error: str | None) -> None:
        self.running = False
        self.refresh_bindings()
        self.query_one("#exp-run", Button).disabled = False
        bar = self.query_one("#exp-progress", ProgressBar)
        if error is not None:
            bar.display = False
            self._show_status(Text(f"Export failed: {error}", style=f"bold {Palette.of(self.app).bad}"))
            self.notify(f"Export failed: {error}", severity="error", timeout=10)
            return
        bar.update(total=1, progress=1)
        self.written = path
        text = Text()
        if self.wq.browser is not None:  # the server's folder is nobody's business: the browser saves it
            self.wq.deliver(path)
            text.append("Downloading: ", style=f"bold {Palette.of(self.app).good}")
            text.append(path.name, style="bold")
        else:
            text.append("Written: ", style=f"bold {Palette.of(self.app).good}")
            text.append(str(path), style="bold")
        for line in lines or []:
            if not line.startswith("Wrote "):
                text.append("\n" + line, style="dim")
        text.append("\nEsc closes; change anything and ctrl+s exports again.", style="dim")
        self._show_status(text)
        for selector, label in (("#exp-run", "Export again (ctrl+s)"), ("#exp-close", "Close (esc)")):
            button = self.query_one(selector, Button)
            button.label = label
            button.refresh(layout=True)
        self.notify(f"Exported to {path.name if self.wq.browser is not None else path}", timeout=6)

    def action_close(self) -> None:
        if self.running:
            self.notify("The export is still being written: wait for it to finish", severity="warning")
            return
        self.dismiss(self.written)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "exp-run":
            self.action_export()
        else:
            self.action_close()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_export()
