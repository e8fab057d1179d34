"""Retrieve: every segment of a code, grouped by timepoint, with who said it and the words around it.

Why paged: an ``OptionList`` measures every row up front (seconds at 20,000 multi-line rows), so results are
shown a page at a time; retrieval itself runs in a worker so a large code never freezes the keyboard.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Checkbox, Footer, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from app.tui.screens.base import NavBar, WorkspaceScreen
from app.tui.screens.code_picker import CodePicker, Picked
from models import coding as coding_ops
from models.queries import Segment, retrieve
from models.transcripts import turn_number
from models.workspace_queries import coder_names

PAGE = 250
CONTEXT_CHARS = 260


def segment_prompt(seg: Segment, show_code: bool) -> Text:
    """Participant, speaker, coder, then the context with the coded words highlighted."""
    text = Text()
    text.append(f"{seg.participant:<6}", style="bold")
    speaker = seg.speaker or "?"
    turn = f" turn {turn_number(seg.turn_index)}" if seg.turn_index is not None else ""
    text.append(f" {speaker}{turn}", style="italic")
    text.append(f" · {seg.coder}", style="dim")
    if show_code:
        text.append(f" · {seg.code}", style="cyan")
    if seg.key_quote:
        text.append(" ★", style="bold yellow")
    if seg.memo:
        text.append(" ✎", style="bold")
    text.append("\n")
    ctx, cs = seg.context, seg.context_start
    a, b = max(0, seg.start - cs), max(0, seg.end - cs)
    before, coded, after = ctx[:a], ctx[a:b], ctx[b:]
    if len(before) > CONTEXT_CHARS // 2:
        before = "…" + before[-CONTEXT_CHARS // 2 :]
    if len(after) > CONTEXT_CHARS // 2:
        after = after[: CONTEXT_CHARS // 2] + "…"
    if len(coded) > CONTEXT_CHARS * 2:
        coded = coded[:CONTEXT_CHARS] + " … " + coded[-CONTEXT_CHARS // 2 :]
    text.append("  " + before.replace("\n", " "), style="dim")
    text.append(coded.replace("\n", " "), style="bold reverse")
    text.append(after.replace("\n", " "), style="dim")
    return text


class RetrieveScreen(WorkspaceScreen):
    """A code's segments with filters; jump to one, recode, uncode, mark key quotes."""

    AREA = "retrieve"
    BINDINGS = [
        Binding("p,slash", "pick", "Pick code", key_display="p"),
        Binding("d", "toggle_descendants", "±Sub-codes", show=False),
        Binding("enter", "jump", "Open in transcript", show=False),
        Binding("o", "jump", "Open"),
        Binding("x", "uncode", "Uncode"),
        Binding("r", "recode", "Recode"),
        Binding("asterisk", "key_quote", "Key quote", key_display="*"),
        Binding("right_square_bracket", "page(1)", "Next page", show=False),
        Binding("left_square_bracket", "page(-1)", "Prev page", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.code_id: int | None = None
        self.segments: list[Segment] = []
        self.versions: dict[int, coding_ops.CodingVersion] = {}
        self._prompts: dict[int, Text] = {}
        self.page = 0
        self._filling = False

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        yield Static(id="retrieve-code")
        with Horizontal(id="retrieve-filters"):
            yield Checkbox("Sub-codes", True, id="descendants", classes="fit-compact")
            yield Select([], prompt="Time", id="f-timepoint", classes="fit-compact")
            yield Select([], prompt="Person", id="f-participant", classes="fit-compact")
            yield Select([], prompt="Coder", id="f-coder", classes="fit-compact")
            yield Input(placeholder="attr=value", id="f-attribute", classes="fit-compact")
        yield OptionList(id="retrieve-results")
        yield Static(id="retrieve-status")
        yield Footer(compact=True)

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
        """Show the code another screen asked for (codebook Enter, compare drill-in, palette)."""
        request, self.wq.pending_retrieve = self.wq.pending_retrieve, None
        if request is not None:
            self.show_code(*request)

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
        self.code_id = code_id
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
        if self.code_id is not None:
            self.run_query()

    def _show_header(self) -> None:
        text = Text()
        info = self.wq.codes().get(self.code_id) if self.code_id is not None else None
        if info is None:
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
        if not self._filling and self.code_id is not None:
            self.run_query()

    @on(Input.Submitted, "#f-attribute")
    def _attribute_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.code_id is not None:
            self.run_query()
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
        self._retrieve(self.code_id, self._filters())

    @work(thread=True, exclusive=True, group="retrieve")
    def _retrieve(self, code_id: int, filters: dict) -> None:
        try:
            with self.wq.project.read() as session:
                segments = retrieve(session, code_id, **filters)
                versions = coding_ops.coding_versions(session, [s.id for s in segments])
        except Exception as exc:  # a WaveqdaError (bad filter) or a bug: a message, never a traceback
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            segments, versions = [], {}
        show_code = len({s.code_id for s in segments}) > 1
        prompts = {s.id: segment_prompt(s, show_code) for s in segments}  # built here, off the event loop
        self.app.call_from_thread(self._show, segments, prompts, versions)

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

    def _draw_page(self, highlight: int | None = None) -> None:
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
            prompt = self._prompts.get(seg.id) or segment_prompt(seg, show_code)
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

    def current(self) -> Segment | None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        option = options.get_option_at_index(options.highlighted)
        if option.id is None:
            return None
        seg_id = int(option.id)
        return next((s for s in self.segments if s.id == seg_id), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("jump", "uncode", "recode", "key_quote"):
            return bool(self.segments) or None
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
        seg = self.current()
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
