"""Codebook: the tree of themes and codes with segment counts per timepoint, and every refinement.

Refining a codebook (rename, move, merge, split, archive) is the heart of thematic analysis, so each is one
key, asks before anything that rewrites many codings, and is one undoable step (ctrl+z).
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from app.tui.screens.base import NavBar, WorkspaceScreen
from app.tui.screens.code_picker import CodePicker, Picked
from app.tui.screens.dialogs import ChoiceDialog, ConfirmDialog, MemoDialog, MessageDialog, TextPrompt
from app.tui.widgets.footer import KeyBar
from models import codebook as ops
from models.comments import Comment, comments_on_codes
from models.history import HistoryRow, history
from models.store import timepoints


def history_table(rows: list[HistoryRow]) -> Table:
    table = Table(box=None, expand=True, show_edge=False, pad_edge=False)
    table.add_column("#", style="dim", justify="right")
    table.add_column("When", style="dim", no_wrap=True)
    table.add_column("Who", no_wrap=True)
    table.add_column("What")
    table.add_column("State", no_wrap=True)
    for row in reversed(rows):
        state = row.state
        style = "dim strike" if state in ("undone", "discarded") else ""
        table.add_row(str(row.id), row.at.replace("T", " ")[:16], row.actor, Text(row.summary, style=style), state)
    return table


class CodebookScreen(WorkspaceScreen):
    """The codebook tree (one row per code) with its details beside it."""

    AREA = "codebook"
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("r", "rename", "Rename"),
        Binding("e", "describe", "Definition"),
        Binding("m", "move", "Move under…"),
        Binding("M", "merge", "Merge into…"),
        Binding("s", "split", "Split…", show=False),
        Binding("x", "archive", "Archive"),
        Binding("D", "delete", "Delete", show=False),
        Binding("c", "recolour", "Colour", show=False),
        Binding("ctrl+up,shift+up,K", "reorder(-1)", "Move up", show=False),
        Binding("ctrl+down,shift+down,J", "reorder(1)", "Move down", show=False),
        Binding("shift+left,less_than_sign", "outdent", "Move out a level", show=False),
        Binding("h", "history", "History"),
        Binding("t", "toggle_archived", "Show archived", show=False),
        Binding("enter", "retrieve", "Retrieve", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ops.CodeRow] = []
        self.show_archived = False

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        with Horizontal(id="codebook-body"):
            yield DataTable(id="codebook-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="codebook-detail"):
                yield Static(id="codebook-detail-text")
        yield KeyBar()

    def on_mount(self) -> None:
        self._seen_version = self.wq.data_version
        self.refresh_data()
        self.query_one(DataTable).focus()

    def refresh_data(self, select_id: int | None = None) -> None:
        table = self.query_one(DataTable)
        current = select_id if select_id is not None else self.current_id()
        rows = self.wq.read(ops.codebook_rows) or []
        self.comments: dict[int, list[Comment]] = self.wq.read(comments_on_codes) or {}
        keys = [t.key for t in (self.wq.read(timepoints) or [])]
        self.rows = [r for r in rows if self.show_archived or not r.archived]
        table.clear(columns=True)
        table.add_column("Code", key="code")
        for key in keys:
            table.add_column(key, key=key, width=5)
        table.add_column("All", key="all", width=5)
        for row in self.rows:
            name = Text("  " * row.depth)
            name.append("█ ", style=row.colour)
            name.append(row.name, style="bold" if row.depth == 0 else "")
            if row.archived:
                name.append(" (archived)", style="dim italic")
            counts = [Text(str(row.counts.get(k, 0) or "·"), justify="right") for k in keys]
            total = sum(row.counts.values())
            table.add_row(name, *counts, Text(str(total or "·"), justify="right"), key=str(row.id))
        if not self.rows:
            self.query_one("#codebook-detail-text", Static).update(
                Text(
                    "No codes yet. Press a to add one (Theme/Subtheme/Code makes the parents too), "
                    "or create codes from the code picker while coding.",
                    style="dim",
                )
            )
            return
        index = next((i for i, r in enumerate(self.rows) if r.id == current), 0)
        table.move_cursor(row=index)
        self._show_detail()

    def current(self) -> ops.CodeRow | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def current_id(self) -> int | None:
        row = self.current()
        return row.id if row else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_retrieve()

    def _show_detail(self) -> None:
        row = self.current()
        if row is None:
            return
        text = Text()
        text.append("█ ", style=row.colour)
        text.append(row.path + "\n", style="bold")
        if row.archived:
            merged = f" (merged into {row.merged_into})" if row.merged_into else ""
            text.append(f"Archived{merged}\n", style="italic")
        for label, key in (
            ("Definition", "definition"),
            ("Include when", "inclusion"),
            ("Exclude when", "exclusion"),
            ("Example", "example"),
            ("Memo", "memo"),
        ):
            if getattr(row, key):
                text.append(f"\n{label}\n", style="bold underline")
                text.append(getattr(row, key).strip() + "\n")
        if not row.definition:
            text.append("\nNo definition yet: press e to write one.\n", style="dim")
        comments = getattr(self, "comments", {}).get(row.id, [])
        if comments:
            text.append(f"\nComments ({len(comments)})\n", style="bold underline")
            for comment in comments:
                text.append(f"{comment.author or 'someone'}, {comment.written}: ", style="bold")
                text.append(comment.text.strip() + "\n", style="italic")
        counts = " · ".join(f"{k} {n}" for k, n in row.counts.items())
        text.append(f"\nSegments (this code only): {counts}\n", style="dim")
        text.append("Enter: retrieve its segments", style="dim")
        self.query_one("#codebook-detail-text", Static).update(text)

    # --- actions ---------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add", "history", "toggle_archived"):
            return True
        return self.current() is not None or None

    def _do(self, fn, *args, select: int | None = None, **kwargs):  # type: ignore[no-untyped-def]
        result = self.wq.change(fn, self.wq.project, self.wq.coder or "coder", *args, **kwargs)
        return result

    def action_add(self) -> None:
        row = self.current()
        prefix = f"{row.path}/" if row and row.depth == 0 else ""

        def add(path: str | None) -> None:
            if path:
                done = self._do(ops.add_code, path)
                if done is not None:
                    self.refresh_data(select_id=done.value)
                    self.notify(f"Added {path}", timeout=3)

        self.app.push_screen(TextPrompt("New code (Theme/Subtheme/Code creates the parents too)", prefix), add)

    def action_rename(self) -> None:
        row = self.current()
        if row is None:
            return
        self.app.push_screen(
            TextPrompt(f"Rename {row.path}", row.name),
            lambda name: name and name != row.name and self._do(ops.rename_code, row.id, name),
        )

    def action_describe(self) -> None:
        row = self.current()
        if row is None:
            return
        self.app.push_screen(
            MemoDialog(
                f"Definition of {row.path}",
                row.definition or "",
                "What this code means, so every coder applies it the same way.",
            ),
            lambda text: text is not None and self._do(ops.describe_code, row.id, definition=text),
        )

    def action_recolour(self) -> None:
        row = self.current()
        if row is None:
            return
        self.app.push_screen(
            TextPrompt(f"Colour of {row.path} (#RRGGBB)", row.colour),
            lambda colour: colour and self._do(ops.recolour_code, row.id, colour),
        )

    def _codes_for_picker(self) -> list:  # type: ignore[type-arg]
        return list(self.wq.codes().values())

    def action_move(self) -> None:
        row = self.current()
        if row is None:
            return

        def moved(picked: Picked | None) -> None:
            if picked and picked.code_id is not None:
                self._do(ops.move_code, row.id, picked.code_id)

        self.app.push_screen(
            CodePicker(
                self._codes_for_picker(),
                title=f"Move {row.path} under… (shift+left: out a level)",
                allow_new=False,
                exclude={row.id},
            ),
            moved,
        )

    def action_outdent(self) -> None:
        row = self.current()
        if row is None or row.parent_id is None:
            return
        parent = next((r for r in self.rows if r.id == row.parent_id), None)
        grand = parent.parent_id if parent else None
        self._do(ops.move_code, row.id, grand)

    def action_reorder(self, delta: int) -> None:
        row = self.current()
        if row is None:
            return
        siblings = [r for r in self.rows if r.parent_id == row.parent_id]
        siblings.sort(key=lambda r: r.position)
        index = next(i for i, r in enumerate(siblings) if r.id == row.id)
        target = index + delta
        if 0 <= target < len(siblings) and self._do(ops.reorder_code, row.id, target) is not None:
            self.refresh_data(select_id=row.id)

    def action_merge(self) -> None:
        row = self.current()
        if row is None:
            return

        def picked(answer: Picked | None) -> None:
            if not answer or answer.code_id is None:
                return
            target = self.wq.codes().get(answer.code_id)
            question = (
                f"Merge {row.path} into {target.path if target else answer.code_id}?\n\n"
                f"All its codings move to the target; overlapping ones by the same coder are joined. "
                f"{row.name} is archived. Ctrl+z undoes the whole merge."
            )
            self.app.push_screen(
                ConfirmDialog(question, "Merge"),
                lambda ok: ok and self._do(ops.merge_codes, row.id, answer.code_id),
            )

        self.app.push_screen(
            CodePicker(self._codes_for_picker(), title=f"Merge {row.path} into…", allow_new=False, exclude={row.id}),
            picked,
        )

    def action_split(self) -> None:
        row = self.current()
        if row is None:
            return
        keys = list(row.counts.keys())
        choices = [(f"tp:{k}", f"Codings at timepoint {k}") for k in keys]
        choices.append(("match", "Codings whose text contains…"))

        def by(choice: str | None) -> None:
            if not choice:
                return
            if choice == "match":
                self.app.push_screen(
                    TextPrompt("Split off codings whose text contains"), lambda text: text and ask_path(match=text)
                )
            else:
                ask_path(timepoint=choice[3:])

        def ask_path(**criteria: str) -> None:
            self.app.push_screen(
                TextPrompt("Path of the new code", f"{row.path} (split)"),
                lambda path: path and self._do(ops.split_code, row.id, path, **criteria),
            )

        self.app.push_screen(ChoiceDialog(f"Split {row.path}: which codings move?", choices), by)

    def action_archive(self) -> None:
        row = self.current()
        if row is None:
            return
        if row.archived:
            self._do(ops.unarchive_code, row.id)
            return
        self.app.push_screen(
            ConfirmDialog(f"Archive {row.path}?\n\nIt is hidden from coding; its codings and history stay.", "Archive"),
            lambda ok: ok and self._do(ops.archive_code, row.id),
        )

    def action_delete(self) -> None:
        row = self.current()
        if row is None:
            return
        self.app.push_screen(
            ConfirmDialog(
                f"Delete {row.path}?\n\nOnly a code without codings can be deleted; archive it otherwise.",
                "Delete",
                danger=True,
            ),
            lambda ok: ok and self._do(ops.delete_code, row.id),
        )

    def action_history(self) -> None:
        rows = self.wq.read(history, 300) or []
        self.app.push_screen(
            MessageDialog("History (newest first; ctrl+z undoes your own newest done step)", history_table(rows))
        )

    def action_toggle_archived(self) -> None:
        self.show_archived = not self.show_archived
        self.refresh_data()

    def action_retrieve(self) -> None:
        code_id = self.current_id()
        if code_id is not None:
            self.wq.retrieve_code(code_id)
