"""Search: find words across every transcript (with lemma and typo-tolerant matching) and code what is found.

A hit can be coded as just the matched words, its sentence, or its whole turn; "code all" applies a code to
every hit as one undoable step after showing how many codings it will make.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from app.tui.screens.base import NavBar, WorkspaceScreen
from app.tui.screens.code_picker import CodePicker, Picked
from app.tui.screens.dialogs import ConfirmDialog
from app.tui.widgets.footer import KeyBar
from models import coding as coding_ops
from models.codebook import add_code

PAGE = 400
CONTEXT = 110


def hit_prompt(hit: Any, text: str | None = None) -> Text:
    """Who said it, then the hit in its context (the matched words highlighted)."""
    out = Text()
    out.append(f"{hit.participant}/{hit.timepoint}", style="bold")
    speaker = getattr(hit, "speaker", "") or ""
    if speaker:
        out.append(f" {speaker}", style="italic")
    out.append("\n  ")
    context = getattr(hit, "context", None)
    cs = getattr(hit, "context_start", None)
    if context is not None and cs is not None:
        a, b = hit.start - cs, hit.end - cs
        before, found, after = context[:a], context[a:b], context[b:]
    else:
        before, found, after = "", getattr(hit, "text", ""), ""
    if len(before) > CONTEXT:
        before = "…" + before[-CONTEXT:]
    if len(after) > CONTEXT:
        after = after[:CONTEXT] + "…"
    out.append(before.replace("\n", " "), style="dim")
    out.append(found.replace("\n", " "), style="bold reverse")
    out.append(after.replace("\n", " "), style="dim")
    return out


class SearchScreen(WorkspaceScreen):
    """Full-text search with lemma and fuzzy toggles, filters, and coding from the results."""

    AREA = "search"
    BINDINGS = [
        Binding("slash", "focus_query", "New search", key_display="/"),
        Binding("ctrl+f", "toggle('fuzzy')", "Typos on/off", show=False),
        Binding("ctrl+l", "toggle('lemma')", "Lemma on/off", show=False),
        Binding("enter", "jump", "Open in transcript", show=False),
        Binding("o", "jump", "Open"),
        Binding("c", "code('hit')", "Code hit"),
        Binding("s", "code('sentence')", "Code sentence"),
        Binding("t", "code('turn')", "Code turn"),
        Binding("A", "code_all", "Code all hits"),
        Binding("right_square_bracket", "page(1)", "Next page", show=False),
        Binding("left_square_bracket", "page(-1)", "Prev page", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[Any] = []
        self.page = 0
        self.last_query = ""

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        with Horizontal(id="search-filters"):
            yield Input(placeholder='Words or "a phrase", Enter', id="search-query", classes="fit-compact")
            yield Checkbox("Lemma", True, id="lemma", classes="fit-compact")
            yield Checkbox("Typos", False, id="fuzzy", classes="fit-compact")
            yield Select([], prompt="Time", id="s-timepoint", classes="fit-compact")
            yield Select(
                [("Participants", "participant"), ("Interviewers", "interviewer")],
                prompt="Who",
                id="s-role",
                classes="fit-compact",
            )
        yield OptionList(id="search-results")
        yield Static(id="search-status")
        yield KeyBar()

    def on_mount(self) -> None:
        from models.store import timepoints

        tps = self.wq.read(timepoints) or []
        self.query_one("#s-timepoint", Select).set_options([(f"{t.key} {t.label}", t.key) for t in tps])
        self._status(
            "Type words and press Enter. Lemma finds other forms (support → supported); Typos finds misspellings."
        )
        self.query_one("#search-query", Input).focus()

    def refresh_data(self) -> None:
        if self.last_query:
            self.run_search()

    def _status(self, message: str) -> None:
        self.query_one("#search-status", Static).update(Text(message, style="bold"))

    def action_focus_query(self) -> None:
        self.query_one("#search-query", Input).focus()

    @on(Input.Submitted, "#search-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.last_query = event.value.strip()
        self.run_search()
        self.query_one(OptionList).focus()

    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _filters_changed(self) -> None:
        if self.last_query:
            self.run_search()

    def _filters(self) -> dict:
        tp = self.query_one("#s-timepoint", Select).value
        role = self.query_one("#s-role", Select).value
        return {
            "fuzzy": self.query_one("#fuzzy", Checkbox).value,
            "lemma": self.query_one("#lemma", Checkbox).value,
            "timepoints": [tp] if isinstance(tp, str) else None,
            "roles": [role] if isinstance(role, str) else None,
        }

    def run_search(self) -> None:
        if not self.last_query:
            return
        self._status("Searching…")
        self._search(self.last_query, self._filters())

    @work(thread=True, exclusive=True, group="search")
    def _search(self, query: str, filters: dict) -> None:
        """Lemma and fuzzy search load spaCy's tables on first use: never on the event loop."""
        try:
            from models.search import search

            with self.wq.project.read() as session:
                hits = search(session, query, **filters)
        except ImportError:
            self.post_message(self.Searched([], "Search is not available in this version"))
            return
        except Exception as exc:  # WaveqdaError (bad query) or a bug: a message, never a traceback
            self.post_message(self.Searched([], str(exc)))
            return
        self.post_message(self.Searched(hits, None))

    class Searched(Message):
        """The search worker's hits, or the one line saying why there are none."""

        def __init__(self, hits: list[Any], error: str | None) -> None:
            super().__init__()
            self.hits, self.error = hits, error

    def on_search_screen_searched(self, message: Searched) -> None:
        if message.error:
            self.notify(message.error, severity="error")
        self._show(message.hits)

    def _show(self, hits: list[Any]) -> None:
        self.hits = hits
        self.page = 0
        self._draw_page()

    def _draw_page(self) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        pages = max(1, (len(self.hits) + PAGE - 1) // PAGE)
        self.page = max(0, min(self.page, pages - 1))
        chunk = list(enumerate(self.hits))[self.page * PAGE : (self.page + 1) * PAGE]
        options.add_options([Option(hit_prompt(h), id=str(i)) for i, h in chunk])
        if chunk:
            options.highlighted = 0
        transcripts = len({h.transcript_id for h in self.hits})
        status = f"{len(self.hits)} hits in {transcripts} transcripts for “{self.last_query}”"
        if pages > 1:
            status += f" · page {self.page + 1}/{pages} (] next, [ previous)"
        if self.hits:
            status += " · c code hit · s its sentence · t its turn · A all hits"
        elif not self.query_one("#fuzzy", Checkbox).value:
            status += " · ctrl+f also finds misspellings (Typos)"
        self._status(status)

    def action_toggle(self, which: str) -> None:
        box = self.query_one(f"#{which}", Checkbox)
        box.value = not box.value

    def current(self) -> Any | None:
        options = self.query_one(OptionList)
        if options.highlighted is None or not self.hits:
            return None
        option = options.get_option_at_index(options.highlighted)
        return self.hits[int(option.id)] if option.id is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("jump", "code", "code_all"):
            return bool(self.hits) or None
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_jump()

    def action_page(self, delta: int) -> None:
        self.page += delta
        self._draw_page()

    def action_jump(self) -> None:
        hit = self.current()
        if hit is not None:
            self.wq.open_transcript(hit.transcript_id, select=(hit.start, hit.end))

    def _pick(self, title: str, then) -> None:  # type: ignore[no-untyped-def]
        def picked(answer: Picked | None) -> None:
            if answer is None:
                return
            code_id = answer.code_id
            if answer.new_path:
                done = self.wq.change(add_code, self.wq.project, self.wq.coder, answer.new_path)
                code_id = None if done is None else done.value
            if code_id is not None:
                then(code_id)

        self.app.push_screen(CodePicker(list(self.wq.codes().values()), title=title), picked)

    def action_code(self, unit: str) -> None:
        hit = self.current()
        if hit is None:
            return

        def apply(code_id: int) -> None:
            from models.search import unit_span

            span = unit_span(hit, unit)  # type: ignore[arg-type]
            ids = self.wq.change(
                coding_ops.apply_codes,
                self.wq.project,
                self.wq.coder,
                hit.transcript_id,
                [code_id],
                self.wq.coder,
                *span,
            )
            if ids is not None:
                self.wq.note_recent([code_id])
                info = self.wq.codes().get(code_id)
                self.notify(f"Coded the {unit} as {info.path if info else code_id} (ctrl+z to undo)", timeout=4)

        self._pick(f"Code this {unit}", apply)

    def action_code_all(self) -> None:
        if not self.hits:
            return
        from app.tui.screens.dialogs import ChoiceDialog

        def unit_chosen(unit: str | None) -> None:
            if unit:
                self._pick(f"Code all {len(self.hits)} hits ({unit}s)", lambda code_id: confirm(code_id, unit))

        def confirm(code_id: int, unit: str) -> None:
            from models.search import autocode

            kwargs = dict(code_ref=code_id, coder=self.wq.coder, unit=unit, **self._filters())
            try:
                preview = autocode(self.wq.project, self.wq.coder, self.last_query, dry_run=True, **kwargs)
            except Exception as exc:  # WaveqdaError: shown as a message
                self.notify(str(exc), severity="error")
                return
            question = (
                f"Code {preview.hits} hits ({unit}s) as {preview.code}?\n\n"
                f"{preview.created} new codings, {preview.extended} extended, {preview.absorbed} joined "
                "with overlapping ones. One step: ctrl+z takes all of it back."
            )
            self.app.push_screen(
                ConfirmDialog(question, "Code all"),
                lambda ok: (
                    ok
                    and self.wq.change_in_background(  # thousands of hits take seconds: keys keep working
                        autocode, self.wq.project, self.wq.coder, self.last_query, **kwargs
                    )
                ),
            )

        self.app.push_screen(
            ChoiceDialog(
                "Code every hit as…",
                [("hit", "the matched words"), ("sentence", "its sentence"), ("turn", "its whole turn")],
            ),
            unit_chosen,
        )
