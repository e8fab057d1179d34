"""Retrieve: every segment of a code, grouped by timepoint, with who said it and the words around it; the
result of a coding query (``"A" AND NOT "B"``, ``"A" NEAR/sentence "B"``: the language of ``waveqda query``);
or the codings of one matrix cell.

Why paged: an ``OptionList`` measures every row up front (seconds at 20,000 multi-line rows), so results are
shown a page at a time; retrieval and queries run in workers, which post their results as messages, so a
large code never freezes the keyboard.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from app.tui.screens.base import NavBar, Palette, WorkspaceScreen
from app.tui.screens.code_picker import CodePicker, Picked
from app.tui.widgets.footer import KeyBar
from models import coding as coding_ops
from models.errors import WaveqdaError
from models.queries import Segment, retrieve
from models.queries.coding_query import QueryHit
from models.transcripts import turn_number
from models.workspace_queries import coder_names

PAGE = 250
CONTEXT_CHARS = 260
WIDE_CONTEXT_CHARS = 3000  # either side of a result whose context was widened to turns
MEMO_CHARS = 300
QUERY_CONTEXTS: tuple[Literal["segment", "sentence", "turn"], ...] = ("segment", "sentence", "turn")
CODE_CONTEXTS: tuple[Literal["sentence", "turn"], ...] = ("sentence", "turn")
Mode = Literal["code", "query", "cell"]
log = logging.getLogger("waveqda.tui")


def _in_context(text: Text, context: str, start: int, end: int, context_start: int, wide: bool = False) -> None:
    """The context with the coded words highlighted, indented. A sentence's context is one line, long stretches
    shortened; a widened one (turns) keeps its line breaks, one turn a line, and is shortened only far out."""
    a, b = max(0, start - context_start), max(0, end - context_start)
    before, coded, after = context[:a], context[a:b], context[b:]
    side = WIDE_CONTEXT_CHARS if wide else CONTEXT_CHARS // 2
    if len(before) > side:
        before = "…" + before[-side:]
    if len(after) > side:
        after = after[:side] + "…"
    if len(coded) > CONTEXT_CHARS * 2 and not wide:
        coded = coded[:CONTEXT_CHARS] + " … " + coded[-CONTEXT_CHARS // 2 :]
    breaks = "\n  " if wide else " "
    text.append("  " + before.replace("\n", breaks), style="dim")
    text.append(coded.replace("\n", breaks), style="bold reverse")
    text.append(after.replace("\n", breaks), style="dim")


def _memo_lines(text: Text, memos: list[str]) -> None:
    """Memo text under a segment (what coders noted there), each memo on its own line, shortened."""
    for memo in memos:
        flat = " ".join(memo.split())
        if len(flat) > MEMO_CHARS:
            flat = flat[:MEMO_CHARS] + "…"
        text.append("\n  ✎ ", style="bold")
        text.append(flat, style="italic")


def hit_prompt(hit: QueryHit, wide: bool = False) -> Text:
    """A query result: participant and timepoint, its context with the result highlighted, memos under it."""
    text = Text()
    text.append(f"{hit.participant:<6}", style="bold")
    text.append(f" {hit.timepoint}", style="italic")
    text.append(f" · {len(hit.text.split())} words", style="dim")
    text.append("\n")
    _in_context(text, hit.context, hit.start, hit.end, hit.context_start, wide)
    _memo_lines(text, list(hit.memos))
    return text


def segment_prompt(seg: Segment, show_code: bool, wide: bool = False, palette: Palette | None = None) -> Text:
    """Participant, speaker, coder, then the context with the coded words highlighted."""
    text = Text()
    text.append(f"{seg.participant:<6}", style="bold")
    speaker = seg.speaker or "?"
    turn = f" turn {turn_number(seg.turn_index)}" if seg.turn_index is not None else ""
    text.append(f" {speaker}{turn}", style="italic")
    text.append(f" · {seg.coder}", style="dim")
    if show_code:
        text.append(f" · {seg.code}", style=palette.accent if palette else "bold")
    if seg.key_quote:
        text.append(" ★", style=f"bold {palette.fair}" if palette else "bold")
    text.append("\n")
    _in_context(text, seg.context, seg.start, seg.end, seg.context_start, wide)
    _memo_lines(text, [seg.memo] if seg.memo else [])
    return text


class RetrieveScreen(WorkspaceScreen):
    """A code's segments, a coding query's results or a matrix cell's codings, with filters; jump to one,
    recode, uncode, mark key quotes; widen the context; code a query's results; keep queries by name."""

    AREA = "retrieve"
    BINDINGS = [
        Binding("p,slash", "pick", "Pick code", key_display="p"),
        Binding("q", "query", "Query"),
        Binding("c", "context", "Context"),
        Binding("plus,equals_sign", "turns(1)", "+1 turn", key_display="+"),
        Binding("minus", "turns(-1)", "-1 turn", key_display="-"),
        Binding("a", "save_as_code", "Save as code"),
        Binding("n", "save_query", "Name query", show=False),
        Binding("l", "saved_queries", "Saved queries", show=False),
        Binding("escape", "results", "Back to the results", show=False),
        Binding("d", "toggle_descendants", "±Sub-codes", show=False),
        Binding("enter", "jump", "Open in transcript", show=False),
        Binding("o", "jump", "Open"),
        Binding("x", "uncode", "Uncode"),
        Binding("r", "recode", "Recode"),
        Binding("asterisk", "key_quote", "Key quote", key_display="*"),
        Binding("right_square_bracket", "page(1)", "Next page", show=False),
        Binding("left_square_bracket", "page(-1)", "Prev page", show=False),
    ]

    class QueryDone(Message):
        """A coding query's results (from the worker), or the one-line reason it could not run."""

        def __init__(
            self,
            generation: int,
            query: tuple[str, str | None],
            hits: list[QueryHit] | None,
            prompts: dict[int, Text],
            error: str,
        ) -> None:
            super().__init__()
            self.generation, self.query, self.hits, self.prompts, self.error = generation, query, hits, prompts, error

    class CellDone(Message):
        """A matrix cell's codings as segments (from the worker)."""

        def __init__(
            self,
            segments: list[Segment],
            prompts: dict[int, Text],
            versions: dict[int, coding_ops.CodingVersion],
            error: str,
        ) -> None:
            super().__init__()
            self.segments, self.prompts, self.versions, self.error = segments, prompts, versions, error

    def __init__(self) -> None:
        super().__init__()
        self.mode: Mode = "code"
        self.code_id: int | None = None
        self.expression = ""  # the query shown (mode "query")
        self.saved_name: str | None = None  # the saved query being shown, run with its own filters
        self.hits: list[QueryHit] = []
        self.cell: tuple[str, list[int]] | None = None  # (what the cell is, its coding ids) (mode "cell")
        self.context: str = "sentence"
        self.turns_around = 0
        self._generation = 0
        self._hit_prompts: dict[int, Text] = {}
        self.segments: list[Segment] = []
        self.versions: dict[int, coding_ops.CodingVersion] = {}
        self._prompts: dict[int, Text] = {}
        self.page = 0
        self._filling = False

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        yield Static(id="retrieve-code")
        yield Input(
            placeholder='q: query, e.g. "Supervision" AND NOT "Peer supervision" · Enter runs',
            id="query",
            classes="fit-compact",
        )
        with Horizontal(id="retrieve-filters"):
            yield Checkbox("Sub-codes", True, id="descendants", classes="fit-compact")
            yield Select([], prompt="Time", id="f-timepoint", classes="fit-compact")
            yield Select([], prompt="Person", id="f-participant", classes="fit-compact")
            yield Select([], prompt="Coder", id="f-coder", classes="fit-compact")
            yield Input(placeholder="attr=value", id="f-attribute", classes="fit-compact")
        yield OptionList(id="retrieve-results")
        yield Static(id="retrieve-status")
        yield KeyBar()

    def on_mount(self) -> None:
        self._seen_version = self.wq.data_version
        self._fill_filters()
        self._show_header()
        self.query_one(OptionList).focus()
        self.take_pending()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.is_mounted:
            self.take_pending()

    def take_pending(self) -> None:
        """Show the code another screen asked for (codebook Enter, compare drill-in, palette), or the codings
        of a matrix cell (the Matrix coding screen's Enter)."""
        request, self.wq.pending_retrieve = self.wq.pending_retrieve, None
        if request is not None:
            self.show_code(*request)
        cell, self.wq.pending_cell = self.wq.pending_cell, None
        if cell is not None:
            self.show_cell(*cell)

    def _fill_filters(self) -> None:
        from models.participants import list_participants
        from models.store import timepoints

        self._filling = True
        tps = self.wq.read(timepoints) or []
        self.query_one("#f-timepoint", Select).set_options([(f"{t.key} {t.label}", t.key) for t in tps])
        parts = self.wq.read(list_participants) or []
        self.query_one("#f-participant", Select).set_options([(p.study_id, p.study_id) for p in parts])
        coders = self.wq.read(coder_names) or {}
        self.query_one("#f-coder", Select).set_options([(n, n) for n in coders.values()])
        self.call_after_refresh(setattr, self, "_filling", False)

    def show_code(self, code_id: int, timepoint: str | None = None) -> None:
        """Show a code's segments (from the codebook, compare or the palette), optionally at one timepoint."""
        self.mode, self.code_id = "code", code_id
        self.context = "sentence" if self.context == "segment" else self.context
        self._filling = True
        select = self.query_one("#f-timepoint", Select)
        if timepoint:
            select.value = timepoint
        else:
            select.clear()
        self.call_after_refresh(setattr, self, "_filling", False)
        self.run_query()

    def refresh_data(self) -> None:
        self._fill_filters()
        self._run_current()

    def _run_current(self) -> None:
        """Run again what the screen shows: a query, a matrix cell or a code's segments."""
        if self.mode == "query" and self.expression:
            self.run_coding_query()
        elif self.mode == "cell" and self.cell is not None:
            self.show_cell(*self.cell)
        elif self.code_id is not None:
            self.run_query()

    def _context_label(self) -> str:
        label = {"segment": "the result alone", "sentence": "its sentence", "turn": "its turn"}[self.context]
        if self.turns_around:
            label += f" ±{self.turns_around} turn{'s' if self.turns_around > 1 else ''}"
        return label

    def _show_header(self) -> None:
        # a matrix cell is its own selection: the filters do not apply to it, so they are not shown
        self.query_one("#retrieve-filters").display = self.mode != "cell"
        text = Text()
        info = self.wq.codes().get(self.code_id) if self.code_id is not None else None
        if self.mode == "query":
            text.append("Query ", style="bold")
            if self.saved_name:
                text.append(f"{self.saved_name!r} ", style="bold")
            text.append(self.expression, style="bold")
            text.append(f"  context: {self._context_label()} (c, + -)", style="dim")
        elif self.mode == "cell" and self.cell is not None:
            text.append("Matrix cell ", style="bold")
            text.append(self.cell[0], style="bold")
            text.append(f"  {len(self.cell[1])} codings · context: {self._context_label()} (c)", style="dim")
        elif info is None:
            text.append("Press p to pick a code and see all its segments.", style="dim")
        else:
            text.append("█ ", style=info.colour)
            text.append(info.path, style="bold")
            if info.definition:
                text.append("  " + info.definition.splitlines()[0][:120], style="dim")
        self.query_one("#retrieve-code", Static).update(text)

    # --- filters ---------------------------------------------------------------------------------------

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _filter_changed(self) -> None:
        if self._filling:
            return
        if self.mode == "query" and self.expression:
            self.run_coding_query(self.expression, None)  # the filters on screen apply from now on
        elif self.mode == "code" and self.code_id is not None:
            self.run_query()

    @on(Input.Submitted, "#f-attribute")
    def _attribute_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._filter_changed()
        self.query_one(OptionList).focus()

    def _filters(self) -> dict:
        def value(selector: str) -> str | None:
            v = self.query_one(selector, Select).value
            return v if isinstance(v, str) else None

        attribute = None
        raw = self.query_one("#f-attribute", Input).value.strip()
        if raw:
            name, _, val = raw.partition("=")
            if not val:
                self.notify("Attribute filter: write name=value, e.g. site=North", severity="warning")
            else:
                attribute = (name.strip(), val.strip())
        tp, participant, coder = value("#f-timepoint"), value("#f-participant"), value("#f-coder")
        return {
            "with_descendants": self.query_one("#descendants", Checkbox).value,
            "timepoints": [tp] if tp else None,
            "participants": [participant] if participant else None,
            "coders": [coder] if coder else None,
            "attribute": attribute,
        }

    def run_query(self) -> None:
        self._show_header()
        if self.code_id is None:
            return
        self.query_one("#retrieve-status", Static).update(Text("Retrieving…", style="bold"))
        self._retrieve(self.code_id, self._filters(), self.context)

    @work(thread=True, exclusive=True, group="retrieve")
    def _retrieve(self, code_id: int, filters: dict, context: Any = "sentence") -> None:
        try:
            with self.wq.project.read() as session:
                segments = retrieve(session, code_id, **filters, context=context)
                versions = coding_ops.coding_versions(session, [s.id for s in segments])
        except Exception as exc:  # a WaveqdaError (bad filter) or a bug: a message, never a traceback
            self.post_message(self.Retrieved([], {}, {}, str(exc)))
            return
        show_code = len({s.code_id for s in segments}) > 1
        palette = Palette.of(self.app)
        prompts = {s.id: segment_prompt(s, show_code, context == "turn", palette) for s in segments}  # off the loop
        self.post_message(self.Retrieved(segments, prompts, versions, None))

    class Retrieved(Message):
        """The retrieval worker's segments, their drawn prompts and versions (or the one line why none)."""

        def __init__(
            self,
            segments: list[Segment],
            prompts: dict[int, Text],
            versions: dict[int, coding_ops.CodingVersion],
            error: str | None,
        ) -> None:
            super().__init__()
            self.segments, self.prompts, self.versions, self.error = segments, prompts, versions, error

    def on_retrieve_screen_retrieved(self, message: Retrieved) -> None:
        if message.error:
            self.notify(message.error, severity="error")
        self._show(message.segments, message.prompts, message.versions)

    def _show(
        self,
        segments: list[Segment],
        prompts: dict[int, Text] | None = None,
        versions: dict[int, coding_ops.CodingVersion] | None = None,
    ) -> None:
        self.segments = segments
        self.versions = versions or {}  # each listed coding as shown: an edit expects it still is so
        self._prompts = prompts or {}
        self.page = 0
        self._draw_page()

    # --- coding queries ----------------------------------------------------------------------------------

    def action_query(self) -> None:
        self.query_one("#query", Input).focus()

    def action_results(self) -> None:
        self.query_one(OptionList).focus()

    @on(Input.Submitted, "#query")
    def _query_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.start_query(event.value.strip(), saved=None)

    def start_query(self, expression: str, saved: str | None) -> None:
        """Run ``expression`` (as ``waveqda query`` reads it). A mistake in it is one line in a notification
        and nothing else changes: the results, header and filters stay as they were."""
        from models.queries.coding_query import parse

        if not expression:
            return
        try:
            parse(expression)
        except WaveqdaError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        if self.context not in QUERY_CONTEXTS:
            self.context = "sentence"
        self.run_coding_query(expression, saved)
        self.query_one(OptionList).focus()

    def _query_arguments(self, saved_name: str | None) -> dict[str, Any]:
        """The query's filters: a saved query's own (as saved), else the filters on screen."""
        if saved_name is not None:
            from models.query_actions import saved_query

            saved = saved_query(self.wq.project, saved_name)
            return {
                "timepoints": list(saved.timepoints) or None,
                "participants": list(saved.participants) or None,
                "attribute": list(saved.attributes) or None,
                "coders": list(saved.coders) or None,
                "roles": list(saved.roles) or None,
            }
        filters = self._filters()
        return {key: filters[key] for key in ("timepoints", "participants", "attribute", "coders")}

    def run_coding_query(self, expression: str | None = None, saved: str | None = None) -> None:
        """Run a query (by default the one shown, again: after a filter or the context changed). What is shown
        changes only when it has run: a query that fails leaves the screen as it was."""
        if expression is None:
            expression, saved = self.expression, self.saved_name
        self._generation += 1
        try:
            arguments = self._query_arguments(saved)
        except WaveqdaError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.query_one("#retrieve-status", Static).update(Text("Running the query…", style="bold"))
        query = (expression, saved)
        self._coding_query(self._generation, query, arguments, self.context, self.turns_around)

    @work(thread=True, exclusive=True, group="retrieve")
    def _coding_query(
        self, generation: int, query: tuple[str, str | None], arguments: dict[str, Any], context: Any, turns: int
    ) -> None:
        from models.queries.coding_query import run_query

        try:
            with self.wq.project.read() as session:
                hits = run_query(session, query[0], **arguments, context=context, turns_around=turns)
        except WaveqdaError as exc:
            self.post_message(self.QueryDone(generation, query, None, {}, str(exc)))
            return
        except Exception as exc:  # a bug: one line, the results as they were
            log.error("query failed: %s", traceback.format_exc())
            error = f"Unexpected error ({type(exc).__name__}: {exc})"
            self.post_message(self.QueryDone(generation, query, None, {}, error))
            return
        wide = context == "turn" or turns > 0
        prompts = {n: hit_prompt(hit, wide) for n, hit in enumerate(hits)}  # built here, off the event loop
        self.post_message(self.QueryDone(generation, query, hits, prompts, ""))

    def on_retrieve_screen_query_done(self, message: QueryDone) -> None:
        if message.generation != self._generation:  # an older run finished after a newer one started
            return
        if message.hits is None:
            self.notify(message.error, severity="error", timeout=8)
            self._draw_page()  # the status line as it was
            return
        self.mode = "query"
        self.expression, self.saved_name = message.query
        self.hits, self._hit_prompts = message.hits, message.prompts
        self.segments, self.versions, self._prompts = [], {}, {}
        self.page = 0
        self._show_header()
        self._draw_page()

    def action_context(self) -> None:
        """Widen or narrow what is shown around each result: the result alone, its sentence, its turn."""
        choices = QUERY_CONTEXTS if self.mode == "query" else CODE_CONTEXTS
        position = choices.index(self.context) if self.context in choices else -1
        self.context = choices[(position + 1) % len(choices)]
        self._rerun()

    def action_turns(self, delta: int) -> None:
        """±N whole turns around each query result (a code's segments show their sentence or turn)."""
        if self.mode != "query":
            self.notify("± turns widen a query's results: q to write a query; c switches sentence/turn here")
            return
        self.turns_around = max(0, min(20, self.turns_around + delta))
        self._rerun()

    def _rerun(self) -> None:
        self._show_header()
        self._run_current()

    def action_save_as_code(self) -> None:
        """Code every result at a code (made if new): one undoable step."""
        from app.tui.screens.dialogs import TextPrompt
        from models.query_actions import save_as_code

        if self.mode != "query" or not self.hits:
            self.notify("Save as code codes a query's results: q to write a query first", severity="warning")
            return
        hits = list(self.hits)

        def chosen(path: str | None) -> None:
            if not path:
                return
            done = self.wq.change(save_as_code, self.wq.project, self.wq.coder, hits, path, self.wq.coder)
            if done is not None:
                self.notify(f"Coded {done.value} result(s) at {path} (ctrl+z to undo)", timeout=6)

        self.app.push_screen(
            TextPrompt(
                f"Code the {len(hits)} result(s) at… (a code path; made if new)",
                placeholder="e.g. Query results/Supervision not peer",
                help_text=f"Query: {self.expression}. Each result is coded as you ({self.wq.coder}); ctrl+z undoes "
                "it in one step.",
            ),
            chosen,
        )

    def action_save_query(self) -> None:
        """Keep the query and the filters on screen under a name, to run again (l, or waveqda query --saved)."""
        from app.tui.screens.dialogs import TextPrompt
        from models.query_actions import SavedQuery, save_query

        if not self.expression:
            self.notify("No query to name: q to write one", severity="warning")
            return
        filters = self._filters()
        query = SavedQuery(
            self.expression,
            timepoints=tuple(filters["timepoints"] or ()),
            participants=tuple(filters["participants"] or ()),
            attributes=(filters["attribute"],) if filters["attribute"] else (),
            coders=tuple(filters["coders"] or ()),
            context=self.context,
            turns_around=self.turns_around,
        )

        def named(name: str | None) -> None:
            if name and self.wq.change(save_query, self.wq.project, self.wq.coder, name, query) is not None:
                self.saved_name = name
                self._show_header()
                self.notify(f"Saved the query as {name!r}: l runs it again", timeout=5)

        self.app.push_screen(
            TextPrompt("Save this query as…", value=self.saved_name or "", help_text=self.expression), named
        )

    def action_saved_queries(self) -> None:
        """Choose a saved query and run it as it was saved (its own filters and context)."""
        from app.tui.screens.dialogs import ChoiceDialog
        from models.query_actions import saved_queries

        try:
            found = saved_queries(self.wq.project)
        except WaveqdaError as exc:
            self.notify(str(exc), severity="error")
            return
        if not found:
            self.notify("No saved queries yet: write one (q), then n to name it", severity="warning")
            return

        def run(name: str | None) -> None:
            if name is not None:
                self.run_saved(name)

        choices = [(name, Text.assemble((name, "bold"), "  ", (q.expression, "dim"))) for name, q in found.items()]
        self.app.push_screen(ChoiceDialog("Run a saved query", choices), run)

    def run_saved(self, name: str) -> None:
        """Run the query saved under ``name`` (for the command palette and tests)."""
        from models.query_actions import saved_query

        saved = saved_query(self.wq.project, name)
        self.context, self.turns_around = saved.context, saved.turns_around
        self.query_one("#query", Input).value = saved.expression
        self.start_query(saved.expression, saved=name)

    # --- a matrix cell -------------------------------------------------------------------------------------

    def show_cell(self, title: str, coding_ids: list[int]) -> None:
        """The codings of one matrix cell, as segments (uncode, recode, key quote work on them as on a code's)."""
        self.mode, self.cell = "cell", (title, list(coding_ids))
        if self.context not in CODE_CONTEXTS:
            self.context = "sentence"
        self._show_header()
        self.query_one("#retrieve-status", Static).update(Text("Retrieving…", style="bold"))
        self._cell_segments(list(coding_ids), self.context)

    @work(thread=True, exclusive=True, group="retrieve")
    def _cell_segments(self, coding_ids: list[int], context: Any) -> None:
        from models.queries.retrieval import segments_by_id

        try:
            with self.wq.project.read() as session:
                found = segments_by_id(session, coding_ids, context)
                versions = coding_ops.coding_versions(session, list(found))
        except WaveqdaError as exc:
            self.post_message(self.CellDone([], {}, {}, str(exc)))
            return
        segments = [found[i] for i in coding_ids if i in found]
        show_code = len({s.code_id for s in segments}) > 1
        prompts = {s.id: segment_prompt(s, show_code, context == "turn", Palette.of(self.app)) for s in segments}
        self.post_message(self.CellDone(segments, prompts, versions, ""))

    def on_retrieve_screen_cell_done(self, message: CellDone) -> None:
        if message.error:
            self.notify(message.error, severity="error", timeout=8)
        if self.mode == "cell":
            self._show(message.segments, message.prompts, message.versions)

    def _draw_page(self, highlight: int | None = None) -> None:
        if self.mode == "query":
            self._draw_hits(highlight)
            return
        options = self.query_one(OptionList)
        options.clear_options()
        pages = max(1, (len(self.segments) + PAGE - 1) // PAGE)
        self.page = max(0, min(self.page, pages - 1))
        chunk = self.segments[self.page * PAGE : (self.page + 1) * PAGE]
        show_code = len({s.code_id for s in self.segments}) > 1
        items: list[Option] = []
        last_tp = None
        counts: dict[str, int] = {}
        for s in self.segments:
            counts[s.timepoint] = counts.get(s.timepoint, 0) + 1
        first_segment = None
        for seg in sorted(chunk, key=lambda s: (s.timepoint_position, s.participant, s.start)):
            if seg.timepoint != last_tp:
                last_tp = seg.timepoint
                items.append(
                    Option(
                        Text(
                            f"── {seg.timepoint} {seg.timepoint_label} · {counts.get(seg.timepoint, 0)} segments ──",
                            style="bold",
                        ),
                        disabled=True,
                    )
                )
            prompt = self._prompts.get(seg.id) or segment_prompt(seg, show_code, palette=Palette.of(self.app))
            items.append(Option(prompt, id=str(seg.id)))
            if first_segment is None:
                first_segment = len(items) - 1
        options.add_options(items)
        if highlight is not None and highlight < len(items):
            options.highlighted = highlight
        elif first_segment is not None:
            options.highlighted = first_segment
        n = len(self.segments)
        participants = len({s.participant for s in self.segments})
        status = f"{n} segments from {participants} participants"
        if pages > 1:
            status += f" · page {self.page + 1}/{pages} (] next, [ previous)"
        if not n and self.code_id is not None:
            status = "No segments with these filters"
        self.query_one("#retrieve-status", Static).update(Text(status, style="bold"))

    # --- actions on a segment --------------------------------------------------------------------------

    def _draw_hits(self, highlight: int | None = None) -> None:
        """A query's results, a page at a time, under a line per timepoint."""
        options = self.query_one(OptionList)
        options.clear_options()
        pages = max(1, (len(self.hits) + PAGE - 1) // PAGE)
        self.page = max(0, min(self.page, pages - 1))
        first = self.page * PAGE
        counts: dict[str, int] = {}
        for hit in self.hits:
            counts[hit.timepoint] = counts.get(hit.timepoint, 0) + 1
        items: list[Option] = []
        last_tp = None
        first_hit = None
        for n, hit in enumerate(self.hits[first : first + PAGE], start=first):
            if hit.timepoint != last_tp:
                last_tp = hit.timepoint
                line = f"── {hit.timepoint} · {counts[hit.timepoint]} results ──"
                items.append(Option(Text(line, style="bold"), disabled=True))
            items.append(Option(self._hit_prompts.get(n) or hit_prompt(hit), id=f"h{n}"))
            first_hit = len(items) - 1 if first_hit is None else first_hit
        options.add_options(items)
        if highlight is not None and highlight < len(items):
            options.highlighted = highlight
        elif first_hit is not None:
            options.highlighted = first_hit
        participants = len({hit.participant for hit in self.hits})
        status = f"{len(self.hits)} results from {participants} participants"
        if pages > 1:
            status += f" · page {self.page + 1}/{pages} (] next, [ previous)"
        if not self.hits:
            status = "The query found nothing with these filters"
        status += " · a: save as code · n: name the query"
        self.query_one("#retrieve-status", Static).update(Text(status, style="bold"))

    def _highlighted_id(self) -> str | None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id

    def current(self) -> Segment | None:
        option_id = self._highlighted_id()
        if option_id is None or self.mode == "query":
            return None
        seg_id = int(option_id)
        return next((s for s in self.segments if s.id == seg_id), None)

    def current_hit(self) -> QueryHit | None:
        option_id = self._highlighted_id()
        if self.mode != "query" or option_id is None or not option_id.startswith("h"):
            return None
        return self.hits[int(option_id[1:])]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "jump":
            return bool(self.hits if self.mode == "query" else self.segments) or None
        if action in ("uncode", "recode", "key_quote"):
            return (self.mode != "query" and bool(self.segments)) or None
        if action == "save_as_code":
            return (self.mode == "query" and bool(self.hits)) or None
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_jump()

    def action_pick(self) -> None:
        def picked(answer: Picked | None) -> None:
            if answer and answer.code_id is not None:
                self.show_code(answer.code_id, timepoint=None)

        self.app.push_screen(CodePicker(list(self.wq.codes().values()), title="Retrieve code", allow_new=False), picked)

    def action_toggle_descendants(self) -> None:
        box = self.query_one("#descendants", Checkbox)
        box.value = not box.value

    def action_page(self, delta: int) -> None:
        self.page += delta
        self._draw_page()

    def action_jump(self) -> None:
        seg = self.current() or self.current_hit()
        if seg is not None:
            self.wq.open_transcript(seg.transcript_id, select=(seg.start, seg.end))

    def action_uncode(self) -> None:
        seg = self.current()
        if (
            seg is not None
            and self.wq.change(
                coding_ops.remove_coding, self.wq.project, self.wq.coder, seg.id, self.versions.get(seg.id)
            )
            is not None
        ):
            self.notify(f"Removed coding of {seg.code} (ctrl+z to undo)", timeout=4)

    def action_key_quote(self) -> None:
        seg = self.current()
        if seg is not None:
            self.wq.change(
                coding_ops.set_key_quote,
                self.wq.project,
                self.wq.coder,
                seg.id,
                not seg.key_quote,
                self.versions.get(seg.id),
            )

    def action_recode(self) -> None:
        seg = self.current()
        if seg is None:
            return

        def picked(answer: Picked | None) -> None:
            if not answer or answer.code_id is None or answer.code_id == seg.code_id:
                return
            if (
                self.wq.change(
                    coding_ops.recode_coding,
                    self.wq.project,
                    self.wq.coder,
                    seg.id,
                    answer.code_id,
                    self.versions.get(seg.id),
                )
                is not None
            ):
                self.notify("Recoded (ctrl+z to undo)", timeout=4)

        self.app.push_screen(
            CodePicker(
                list(self.wq.codes().values()),
                title=f"Recode as… (was {seg.code})",
                allow_new=False,
                exclude={seg.code_id},
            ),
            picked,
        )
