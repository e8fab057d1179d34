"""The file picker for importing interviews: browse folders, mark files (or whole folders), import.

Why a modal with a typed path too: a tree is discoverable for people new to terminals, and a typed or pasted
path is quicker for everyone else. File names say who and when (``P07_T2.docx``); the importer routes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DirectoryTree, Input, Label, Static

from app.tui.screens.base import Palette
from importers.formats import IMPORT_FORMATS, format_of

# What can be imported: the registry ``waveqda import`` routes by (``importers.formats``), REFI-QDA included.
SUFFIXES = ", ".join(f.suffix for f in IMPORT_FORMATS)


@dataclass(frozen=True)
class ImportRequest:
    """What to import: the marked paths, and what ``waveqda import`` takes as ``--timepoint`` and (for a
    REFI-QDA project whose sources do not say who they are) ``--participant-from-name``."""

    paths: list[Path]
    timepoint: str | None = None
    participant_from_name: bool = False


class ImportDialog(ModalScreen[ImportRequest | None]):
    """Choose files and folders to import; returns them with the import's options."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("space", "toggle", "Mark/unmark"),
        Binding("ctrl+s", "start", "Import marked"),
    ]

    def __init__(self, start: Path | None = None) -> None:
        super().__init__()
        self.start = start or Path.cwd()
        self.marked: list[Path] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide dialog-tall", id="import-dialog"):
            yield Label("Import interview files", classes="dialog-title")
            yield Static(
                f"Name files like P07_T2.docx (participant, timepoint). Imports {SUFFIXES}. Space marks a "
                "file or folder; ctrl+s imports. Or type a path and press Enter.",
                classes="dialog-help",
            )
            yield Input(placeholder="Type or paste a file or folder path, Enter to mark it", id="import-path")
            yield DirectoryTree(str(self.start), id="import-tree")
            yield Static(id="import-marked")
            with Horizontal(id="import-options"):
                yield Input(placeholder="Timepoint, e.g. T1", id="import-timepoint")
                yield Checkbox("REFI-QDA: participant = source name", id="import-names")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import marked (ctrl+s)", id="start", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self._show_marked()
        self.query_one(DirectoryTree).focus()

    def _mark(self, path: Path) -> None:
        path = path.expanduser()
        if not path.exists():
            self.notify(f"{path}: no such file or folder", severity="error")
            return
        if path.is_file() and format_of(path) is None:
            self.notify(f"{path.name}: not a file waveqda imports ({SUFFIXES})", severity="error")
            return
        if path in self.marked:
            self.marked.remove(path)
        else:
            self.marked.append(path)
        self._show_marked()

    def _show_marked(self) -> None:
        palette = Palette.of(self.app)
        text = Text()
        if not self.marked:
            text.append("Nothing marked yet.", style="dim")
        for path in self.marked[-6:]:
            text.append(f"✔ {path}\n", style=palette.good)
        if len(self.marked) > 6:
            text.append(f"… and {len(self.marked) - 6} more", style="dim")
        self.query_one("#import-marked", Static).update(text)

    def action_toggle(self) -> None:
        tree = self.query_one(DirectoryTree)
        node = tree.cursor_node
        if node is not None and node.data is not None:
            self._mark(Path(node.data.path))

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self._mark(Path(event.path))

    @on(Input.Submitted, "#import-path")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self._mark(Path(event.value.strip()))
            event.input.value = ""

    def action_start(self) -> None:
        if not self.marked:
            self.notify("Mark files or folders first (space)", severity="warning")
            return
        timepoint = self.query_one("#import-timepoint", Input).value.strip() or None
        from_names = self.query_one("#import-names", Checkbox).value
        self.dismiss(ImportRequest(list(self.marked), timepoint, from_names))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        else:
            self.dismiss(None)
