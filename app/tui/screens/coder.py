"""The transcript coder: read a whole interview and code it from the keyboard or the mouse.

The screen wires the ``TranscriptView`` (caret, selection, drawing) to the domain (``models.coding``) and keeps
the per-session conveniences: recent codes on number keys, repeat the last code, resize mode, hidden coders.
Every code applied is committed at once; ctrl+z takes it back.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from app.tui.screens.base import NavBar, WorkspaceScreen
from app.tui.screens.code_picker import CodePicker, Picked
from app.tui.screens.dialogs import ChoiceDialog, MemoDialog
from app.tui.widgets.codes_panel import CodesPanel
from app.tui.widgets.footer import KeyBar
from app.tui.widgets.transcript_view import TranscriptView
from models import coding as coding_ops
from models.codebook import add_code
from models.comments import Comment, comments_in_transcript
from models.workspace_queries import (
    CodingRow,
    TranscriptDoc,
    coder_names,
    load_codings,
    load_codings_touching,
    load_document,
    transcript_memo,
)


class CodersDialog(ModalScreen[set[int] | None]):
    """Show or hide each coder's codings (e.g. to compare with a colleague, or to see only one's own)."""

    BINDINGS = [Binding("escape,ctrl+s", "done", "Close")]

    def __init__(self, coders: dict[int, str], hidden: set[int]) -> None:
        super().__init__()
        self.coders = coders
        self.hidden = hidden

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Show codings by (space or Enter toggles, Esc closes)", classes="dialog-title")
            yield SelectionList[int](
                *[Selection(name, cid, cid not in self.hidden) for cid, name in self.coders.items()]
            )

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_done(self) -> None:
        shown = set(self.query_one(SelectionList).selected)
        self.dismiss({cid for cid in self.coders if cid not in shown})


class CoderScreen(WorkspaceScreen):
    """One transcript, its coded spans and stripes, the codes at the caret, and coding keys."""

    AREA = "home"

    BINDINGS = [
        Binding("c,enter", "code", "Code…", key_display="c"),
        Binding("full_stop", "repeat", "Repeat last", key_display=".", show=False),
        Binding("x,delete", "uncode", "Uncode"),
        Binding("r", "resize", "Resize"),
        Binding("m", "memo", "Memo"),
        Binding("M", "transcript_memo", "Transcript memo", show=False),
        Binding("asterisk", "key_quote", "Key quote", key_display="*", show=False),
        Binding("v", "coders", "Coders shown", show=False),
        Binding("i", "line_codings", "Codings on this line", show=False),
        Binding("p", "toggle_panel", "Side panel", show=False),
        Binding("e", "toggle_exact", "Exact mouse", show=False),
        Binding("escape", "back", "Back"),
        *[Binding(str(n), f"recent({n})", f"Recent code {n}", show=False) for n in range(1, 10)],
    ]

    def __init__(self, transcript_id: int, select: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.transcript_id = transcript_id
        self.initial_selection = select
        self.doc: TranscriptDoc | None = None
        self.coders: dict[int, str] = {}
        self.hidden_coders: set[int] = set()
        self.resizing: int | None = None
        self._window: tuple[int, int] | None = None  # the span a coding change can affect (see refresh_data)
        self.memo_text = ""
        self.comments: dict[int, list[Comment]] = {}  # memos attached to this transcript's codings
        self._at_caret: list[CodingRow] = []
        self._recent_text: Text | None = None

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        with Horizontal(id="coder-body"):
            yield TranscriptView(id="transcript")
            yield CodesPanel(id="codes-panel")
        yield Static(id="recent-bar")
        yield KeyBar()

    @property
    def view(self) -> TranscriptView:
        return self.query_one(TranscriptView)

    def on_mount(self) -> None:
        doc = self.wq.read(load_document, self.transcript_id)
        if doc is None:
            self.app.pop_screen()
            return
        self.doc = doc
        self.query_one(NavBar).update_bar(f"{doc.label}  {doc.title}")
        self.view.cursor_listener = self._show_panel  # same repaint as the caret (see TranscriptView)
        self.view.set_document(doc)
        self._seen_version = self.wq.data_version
        self.refresh_data()
        if self.initial_selection:
            self.view.select_span(*self.initial_selection)
        self.view.focus()
        if self.app.size.width < 100:
            self.query_one(CodesPanel).display = False

    def data_changed(self) -> None:
        """After an undo or redo of codings only (``WaveqdaApp.changed``'s windows), re-read just the codings
        of this transcript in the window it touched, as after applying a code: when this screen showed the
        state just before that step, nothing else on it can have changed."""
        windows = self.wq.step_windows
        if windows is not None and self._seen_version == self.wq.data_version - 1 and self.coders:
            self._seen_version = self.wq.data_version
            window = windows.get(self.transcript_id)
            if window is not None:  # else the step changed other transcripts only
                self._window = window
                self.refresh_data()
            return
        super().data_changed()

    def refresh_data(self) -> None:
        """Reload this transcript's codings (after any change: here, an undo, a merge elsewhere).

        After a change to codings only, the codebook, coders and memo are not re-read unless needed.
        """
        if self.doc is None:
            return
        window, self._window = self._window, None
        self.comments = self.wq.read(comments_in_transcript, self.transcript_id) or {}
        if window is not None and not self.wq.last_change_codebook and self.coders:
            fresh = self.wq.read(load_codings_touching, self.transcript_id, *window) or []
            if any(c.coder_id not in self.coders for c in fresh):
                self.coders = self.wq.read(coder_names) or {}
            self.view.patch_codings(*window, fresh)
            return
        codings = self.wq.read(load_codings, self.transcript_id) or []
        full = self.wq.last_change_codebook or not self.coders
        if full or any(c.coder_id not in self.coders for c in codings):
            self.coders = self.wq.read(coder_names) or {}
        if full:
            self.memo_text = self.wq.read(transcript_memo, self.transcript_id) or ""
        self.view.set_codings(codings, self.wq.codes(), self.hidden_coders)
        self._show_panel(self.view.codings_at())
        self._show_recent()

    # --- panel and recent codes ------------------------------------------------------------------------

    def on_transcript_view_selection_made(self, event: TranscriptView.SelectionMade) -> None:
        if self.resizing is None:
            self.notify("Press c to code the selection, or a number for a recent code", timeout=3)

    def _show_panel(self, codings: list[CodingRow]) -> None:
        self._at_caret = codings
        panel = self.query_one(CodesPanel)
        if panel.display:
            panel.show(codings, self.wq.codes(), self.coders, self.memo_text, self.comments)

    def _show_recent(self) -> None:
        codes = self.wq.codes()
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.resizing is not None:
            text.append(" RESIZE ", style="reverse bold")
            text.append(" shift+arrows or drag to adjust · Enter to resize · Esc to cancel")
        elif not self.wq.recent_codes:
            text.append(" Recent codes appear here, on keys 1–9 · . repeats the last code", style="dim")
        else:
            for n, cid in enumerate(self.wq.recent_codes, start=1):
                info = codes.get(cid)
                if info is None:
                    continue
                text.append(f" {n} ", style="bold reverse")
                text.append("█", style=info.colour)
                text.append(f"{info.name} ")
        if self.view.exact_mouse:
            text.append("  [exact mouse]", style="bold")
        if self.hidden_coders:
            text.append(f"  [{len(self.hidden_coders)} coder(s) hidden]", style="bold")
        if text == self._recent_text:  # the same bar (as after most codings): nothing to repaint
            return
        self._recent_text = text
        self.query_one("#recent-bar", Static).update(text, layout=False)

    # --- coding ----------------------------------------------------------------------------------------

    def _coding_change(self, window: tuple[int, int], fn, *args):  # type: ignore[no-untyped-def]
        """Run a change to codings within ``window`` (so only that window is re-read afterwards)."""
        self._window = window
        try:
            return self.wq.change(fn, self.wq.project, self.wq.coder, *args, codebook=False)
        finally:
            self._window = None

    def _target_span(self) -> tuple[int, int] | None:
        """The selection, or else the sentence at the caret (so c on a sentence codes that sentence)."""
        sel = self.view.selection
        if sel:
            return sel
        return self.view.sentences.containing(self.view.cursor)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # uncode/resize/memo/key quote stay enabled: re-computing the footer on every caret step costs more
        # than the whole step; without a coding under the caret they say so in a notification.
        if action == "repeat":
            return bool(self.wq.recent_codes) or None
        if action == "recent":
            n = int(parameters[0]) if parameters else 0  # type: ignore[call-overload]
            return n <= len(self.wq.recent_codes)
        return True

    def action_code(self) -> None:
        if self.resizing is not None:
            self._finish_resize()
            return
        span = self._target_span()
        if span is None:
            self.notify("Put the caret in some speech or select text first", severity="warning")
            return
        self.app.push_screen(
            CodePicker(list(self.wq.codes().values()), title=self._picker_title(span)),
            lambda picked: self._picked(picked, span),
        )

    def _picker_title(self, span: tuple[int, int]) -> str:
        assert self.doc is not None
        snippet = self.doc.text[span[0] : span[1]].replace("\n", " ")
        if len(snippet) > 60:
            snippet = snippet[:57] + "…"
        return f"Code “{snippet}”"

    def _picked(self, picked: Picked | None, span: tuple[int, int]) -> None:
        if picked is None:
            return
        code_id = picked.code_id
        if picked.new_path:
            done = self.wq.change(add_code, self.wq.project, self.wq.coder, picked.new_path)
            if done is None:
                return
            code_id = done.value
            self.notify(f"Created code {picked.new_path}", timeout=3)
        if code_id is not None:
            self.apply([code_id], span)

    def apply(self, code_ids: list[int], span: tuple[int, int] | None = None) -> list[int] | None:
        """Apply codes to a span (the selection by default) as this coder; one undoable step."""
        span = span or self._target_span()
        if span is None:
            self.notify("Select some text first", severity="warning")
            return None
        # The codings at the caret change twice (the new coding, then the caret moving to the span's start):
        # the panel is drawn once, after both.
        view = self.view
        listener, view.cursor_listener = view.cursor_listener, None
        done = None
        try:
            done = self._coding_change(
                span, coding_ops.apply_codes, self.transcript_id, code_ids, self.wq.coder, span[0], span[1]
            )
            if done is not None:
                view.set_caret(span[0], None)
        finally:
            view.cursor_listener = listener
        self._show_panel(view.codings_at())
        if done is None:
            return None
        known = len(self.wq.recent_codes)
        self.wq.note_recent(code_ids)
        self._show_recent()
        if len(self.wq.recent_codes) != known:  # number keys (un)grey only when the list grows
            self.refresh_bindings()
        return done.value

    def action_recent(self, n: int) -> None:
        if 0 < n <= len(self.wq.recent_codes):
            self.apply([self.wq.recent_codes[n - 1]])

    def action_repeat(self) -> None:
        if self.wq.recent_codes:
            self.apply([self.wq.recent_codes[0]])

    def _choose_coding(self, title: str, then) -> None:  # type: ignore[no-untyped-def]
        """The coding under the caret, asking which one when codes overlap there."""
        codings = self.view.codings_in_selection() if self.view.selection else self._at_caret
        if not codings:
            self.notify("No coding under the caret", severity="warning")
            return
        if len(codings) == 1:
            then(codings[0])
            return
        codes = self.wq.codes()
        by_id = {str(c.id): c for c in codings}
        choices = []
        for c in codings:
            info = codes.get(c.code_id)
            prompt = Text()
            prompt.append("█ ", style=info.colour if info else "")
            prompt.append(info.path if info else str(c.code_id))
            prompt.append(f"  by {self.coders.get(c.coder_id, '?')}  {c.start}:{c.end}", style="dim")
            choices.append((str(c.id), prompt))
        self.app.push_screen(ChoiceDialog(title, choices), lambda key: key and then(by_id[key]))

    def action_uncode(self) -> None:
        def remove(c: CodingRow) -> None:
            info = self.wq.codes().get(c.code_id)
            done = self._coding_change((c.start, c.end), coding_ops.remove_coding, c.id, c.version)
            if done is not None:
                self.notify(f"Removed {info.path if info else 'coding'} (ctrl+z to undo)", timeout=4)

        self._choose_coding("Remove which coding?", remove)

    def action_resize(self) -> None:
        if self.resizing is not None:
            self._finish_resize()
            return

        def start(c: CodingRow) -> None:
            self.resizing = c.id
            self.view.set_caret(c.end, c.start)
            self._show_recent()
            self.refresh_bindings()

        self._choose_coding("Resize which coding?", start)

    def _finish_resize(self) -> None:
        coding_id, self.resizing = self.resizing, None
        span = self.view.selection
        old = next((c for c in self.view.all_codings if c.id == coding_id), None)
        if (
            coding_id is not None
            and span
            and old is not None
            and self._coding_change(
                (min(span[0], old.start), max(span[1], old.end)),
                coding_ops.resize_coding,
                coding_id,
                *span,
                old.version,
            )
            is not None
        ):
            self.notify("Coding resized (ctrl+z to undo)", timeout=3)
        self._show_recent()
        self.refresh_bindings()

    def action_memo(self) -> None:
        def edit(c: CodingRow) -> None:
            assert self.doc is not None
            info = self.wq.codes().get(c.code_id)
            context = f"{info.path if info else ''}: “{self.doc.text[c.start : c.end][:200]}”"

            def save(text: str | None) -> None:
                if text is not None:
                    self._coding_change((c.start, c.end), coding_ops.set_coding_memo, c.id, text, c.version)

            self.app.push_screen(MemoDialog("Memo on this coding", c.memo, context), save)

        self._choose_coding("Memo on which coding?", edit)

    def action_transcript_memo(self) -> None:
        assert self.doc is not None
        self.app.push_screen(
            MemoDialog(f"Memo on transcript {self.doc.label}", self.memo_text),
            lambda text: (
                text is not None
                and self.wq.change(
                    coding_ops.set_transcript_memo, self.wq.project, self.wq.coder, self.transcript_id, text
                )
            ),
        )

    def action_key_quote(self) -> None:
        def toggle(c: CodingRow) -> None:
            flag = not c.key_quote
            if self._coding_change((c.start, c.end), coding_ops.set_key_quote, c.id, flag, c.version) is not None:
                self.notify("Key quote marked ★" if not c.key_quote else "Key quote unmarked", timeout=3)

        self._choose_coding("Key quote: which coding?", toggle)

    def action_line_codings(self) -> None:
        self._list_codings(self.view.codings_on_caret_line())

    def on_transcript_view_stripes_clicked(self, event: TranscriptView.StripesClicked) -> None:
        self._list_codings(event.codings)

    def _list_codings(self, codings: list[CodingRow]) -> None:
        """Every coding drawn on a line (stripes, labels that had to be shortened, the "+" of a crowded
        row) with its full code path, coder and words; choosing one selects its text."""
        if not codings:
            self.notify("No codings on this line", timeout=3)
            return
        assert self.doc is not None
        codes = self.wq.codes()
        by_id = {str(c.id): c for c in codings}
        choices = []
        for c in codings:
            info = codes.get(c.code_id)
            prompt = Text()
            prompt.append("█ ", style=info.colour if info else "")
            prompt.append(info.path if info else str(c.code_id), style="bold")
            prompt.append(f"  by {self.coders.get(c.coder_id, '?')}", style="dim")
            if c.key_quote:
                prompt.append("  ★ key quote")
            snippet = self.doc.text[c.start : c.end].replace("\n", " ")
            prompt.append(f"\n  “{snippet[:70]}{'…' if len(snippet) > 70 else ''}”", style="italic")
            choices.append((str(c.id), prompt))

        def chosen(key: str | None) -> None:
            if key:
                self.view.set_caret(by_id[key].end, by_id[key].start)

        self.app.push_screen(ChoiceDialog(f"{len(codings)} coding(s) on this line", choices), chosen)

    def action_coders(self) -> None:
        def chosen(hidden: set[int] | None) -> None:
            if hidden is not None:
                self.hidden_coders = hidden
                self.refresh_data()

        if not self.coders:
            self.notify("No codings yet", severity="warning")
            return
        self.app.push_screen(CodersDialog(self.coders, self.hidden_coders), chosen)

    def action_toggle_panel(self) -> None:
        panel = self.query_one(CodesPanel)
        panel.display = not panel.display
        if panel.display:
            self._show_panel(self._at_caret)

    def action_toggle_exact(self) -> None:
        self.view.exact_mouse = not self.view.exact_mouse
        self.notify(
            "Mouse selects exact characters" if self.view.exact_mouse else "Mouse selection snaps to sentences",
            timeout=3,
        )
        self._show_recent()

    def action_back(self) -> None:
        if self.resizing is not None:
            self.resizing = None
            self.view.set_caret(self.view.cursor, None)
            self._show_recent()
            self.refresh_bindings()
            return
        self.app.pop_screen()
