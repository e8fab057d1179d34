"""Names review: the candidates a scan found, each in the words around it, decided one key at a time.

Why a screen of its own: pseudonymising a study is a long sitting of small judgements ("is *Willow* a ward or
a tree?"). Each candidate is shown in its speaker's turn, larger than the list can show it; ``a`` accepts it as
a register entry (or as a variant of the entry it resembles), ``r`` rejects it (remembered: later scans do not
ask again), ``m`` maps it to an existing entry, ``e`` changes its category or replacement first. Every
decision is its own committed, undoable step (ctrl+z). The register itself is the second tab.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

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
    DataTable,
    Footer,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
    TabbedContent,
    TabPane,
)

from app.tui.screens.base import NavBar, Palette, WorkspaceScreen
from app.tui.screens.dialogs import ChoiceDialog, ConfirmDialog
from models import names
from models.store import Project
from models.transcripts import turn_number as number_of_turn
from models.workspace_queries import TranscriptDoc, load_document

SOURCES = {
    "speaker-label": ("speaker label", "a participant's name used as the speaker label"),
    "name": ("name", "a name from the name lists, or a capitalised word that is no English word"),
    "title": ("after a title", "the name after Dr, Nurse, Mr… (the title stays in the text)"),
    "place": ("place", "a name with a generic head (Ward, House, Road, Surgery…) or that name's first word alone"),
    "pattern": ("pattern", "an e-mail address, phone number, postcode or date of birth"),
    "fuzzy": ("misspelling", "spelt almost like another name found or registered"),
    "ner": ("spaCy NER", "spaCy's statistical named-entity recogniser (a trained pipeline is installed)"),
    # candidates stored by older versions
    "heuristic": ("capital letter", "a capitalised word that is not a common English word"),
    "entity-ruler": ("entity rules", "spaCy's rules for titled people, wards and organisations"),
    "register-fuzzy": ("near a register term", "spelt almost like a term already in the register"),
}
WINDOW = 700  # most characters of a turn shown around the candidate


# --- reads (run through app.read) -------------------------------------------------------------------------


@dataclass
class ReviewData:
    pending: list[names.CandidateRow]
    entries: list[names.EntryRow]
    accepted: int
    rejected: int


def review_data(session: Session) -> ReviewData:
    everyone = names.candidate_rows(session, None)
    return ReviewData(
        [r for r in everyone if r.status == "pending"],
        names.entry_rows(session),
        sum(1 for r in everyone if r.status == "accepted"),
        sum(1 for r in everyone if r.status == "rejected"),
    )


@dataclass
class Occurrence:
    """Where a candidate was found: the speaker's turn (or a window of it) with the candidate's place in it."""

    transcript_id: int
    label: str  # P01/T2
    speaker: str
    turn_number: int  # 1-based
    text: str  # the shown window of the transcript
    start: int  # the candidate's span within ``text`` (empty for a speaker label)
    end: int
    span: tuple[int, int]  # the candidate's span in the transcript
    cut_before: bool
    cut_after: bool


def occurrence_in(doc: TranscriptDoc, start: int, end: int) -> Occurrence:
    """The speaker's turn around ``[start, end)`` (its "Name:" label included), cut to ``WINDOW`` characters."""
    if not doc.turns:
        return Occurrence(
            doc.id, doc.label, "", 0, doc.text[:WINDOW], start, end, (start, end), False, len(doc.text) > WINDOW
        )
    index = max(0, bisect.bisect_right([t.start for t in doc.turns], start) - 1)
    turn = doc.turns[index]
    previous_end = doc.turns[index - 1].end if index else 0
    line_start = doc.text.rfind("\n", 0, turn.start) + 1  # the "Name:" label belongs with the turn
    lo, hi = max(previous_end, line_start), max(turn.end, end)
    cut_before = cut_after = False
    if hi - lo > WINDOW:
        new_lo = max(lo, start - WINDOW // 2)
        new_hi = min(hi, new_lo + WINDOW)
        cut_before, cut_after = new_lo > lo, new_hi < hi
        lo, hi = new_lo, new_hi
    return Occurrence(
        doc.id,
        doc.label,
        turn.speaker,
        number_of_turn(turn.index),
        doc.text[lo:hi],
        start - lo,
        end - lo,
        (start, end),
        cut_before,
        cut_after,
    )


def reject_candidates(project: Project, actor: str, ids: list[int]) -> bool:
    """``names.reject`` answering True, so the caller can tell success from a notified error (None)."""
    names.reject(project, actor, ids)
    return True


# --- drawing ----------------------------------------------------------------------------------------------


def context_text(row: names.CandidateRow, occurrence: Occurrence | None) -> Text:
    """The candidate, what accepting it would do, and its turn with every mention of it marked."""
    text = Text()
    text.append(row.text, style="bold reverse")
    source, source_help = SOURCES.get(row.source, (row.source, ""))
    text.append(f"  {row.category} · found {row.occurrences}× · {source_help or source}\n", style="dim")
    if row.variant_of:
        text.append("a: ", style="bold")
        text.append(f"add as a spelling of {row.variant_of!r} (same replacement)\n")
    elif row.speaker_replacement:
        text.append("a: ", style="bold")
        text.append(f"new register entry, replaced by the study ID {row.speaker_replacement}\n")
    else:
        text.append("a: ", style="bold")
        text.append(
            f"new register entry ({row.category}), numbered replacement such as "
            f"[{names.LABEL_PREFIX.get(row.category, 'Name')} …]; e to change first\n"
        )
    text.append("\n")
    if occurrence is None:
        context = row.context
        text.append(context or "(no context recorded)")
        return text
    where = f"{occurrence.label} · turn {occurrence.turn_number}"
    if occurrence.speaker:
        where += f" · {occurrence.speaker}"
    text.append(where + "\n", style="bold underline")
    body = occurrence.text.replace("\n", " ")
    shown = Text(("…" if occurrence.cut_before else "") + body + ("…" if occurrence.cut_after else ""))
    shift = 1 if occurrence.cut_before else 0
    for match in _mentions(body, row.text):
        shown.stylize("bold underline", match[0] + shift, match[1] + shift)
    if occurrence.start < occurrence.end:
        shown.stylize("bold reverse", occurrence.start + shift, occurrence.end + shift)
    text.append_text(shown)
    return text


def _mentions(body: str, term: str) -> list[tuple[int, int]]:
    """Every whole-word mention of ``term`` (any case, possessives included) in ``body``."""
    if not term.strip():
        return []
    pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
    return [(m.start(), m.end()) for m in pattern.finditer(body)]


# --- the entry dialog -------------------------------------------------------------------------------------


class EntryDialog(ModalScreen[dict | None]):
    """Category and replacement of a register entry: before accepting a candidate, or for a new term.

    Returns ``{"term", "variants", "category", "replacement"}`` (replacement ``None`` = assigned automatically).
    """

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(
        self, title: str, term: str | None = None, category: str = "person", replacement: str = "", note: str = ""
    ) -> None:
        super().__init__()
        self.title_text = title
        self.term = term  # None: ask for the term and its variants (a new entry)
        self.category = category if category in names.CATEGORIES else "other"
        self.replacement = replacement
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="entry-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            if self.term is None:
                yield Input(placeholder="The name as written, e.g. Sandra", id="entry-term")
                yield Input(
                    placeholder="Other spellings, comma-separated (optional), e.g. Sandy, Sandrah", id="entry-variants"
                )
            if self.note:
                yield Static(self.note, classes="dialog-help")
            yield Label("Category")
            with RadioSet(id="entry-category"):
                for category in names.CATEGORIES:
                    yield RadioButton(category, value=category == self.category, name=category)
            yield Label("Replacement in anonymised exports")
            yield Input(
                self.replacement, placeholder="empty: automatic ([Person A], [Place 1]…)", id="entry-replacement"
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#entry-term" if self.term is None else "#entry-replacement", Input).focus()

    def _category(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else self.category

    def action_save(self) -> None:
        term = self.term
        variants: list[str] = []
        if term is None:
            term = self.query_one("#entry-term", Input).value.strip()
            if not term:
                self.notify("Write the name first", severity="warning")
                self.query_one("#entry-term", Input).focus()
                return
            raw = self.query_one("#entry-variants", Input).value
            variants = [v.strip() for v in raw.split(",") if v.strip()]
        replacement = self.query_one("#entry-replacement", Input).value.strip() or None
        self.dismiss({"term": term, "variants": variants, "category": self._category(), "replacement": replacement})

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)


# --- the screen -------------------------------------------------------------------------------------------


class NamesReviewScreen(WorkspaceScreen):
    """Pending name candidates with their context, and the register of identifying terms."""

    AREA = "names"
    CSS_PATH = "names_review.tcss"
    BINDINGS = [
        Binding("a", "accept", "Accept"),
        Binding("r", "reject", "Reject"),
        Binding("m", "map", "Map to entry…"),
        Binding("e", "edit", "Edit & accept…"),
        Binding("A", "accept_all", "Accept all…", show=False),
        Binding("o", "open", "Open in transcript", show=False),
        Binding("n", "add", "Add name…", show=False),
        Binding("s", "scan", "Scan again"),
        Binding("t", "switch_tab", "Candidates/Register"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data = ReviewData([], [], 0, 0)
        self.scanning = False
        self._docs: dict[int, TranscriptDoc] = {}  # transcripts never change after import

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA, "Names review")
        yield Static(id="names-title")
        with TabbedContent(id="names-tabs", initial="candidates"):
            with TabPane("Candidates", id="candidates"):
                yield DataTable(id="names-candidates", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="names-context"):
                    yield Static(id="names-context-text")
            with TabPane("Register", id="register"):
                yield DataTable(id="names-register", cursor_type="row", zebra_stripes=True)
        yield Static(id="names-hint")
        yield Footer()

    @property
    def candidates_table(self) -> DataTable:
        return self.query_one("#names-candidates", DataTable)

    @property
    def register_table(self) -> DataTable:
        return self.query_one("#names-register", DataTable)

    def on_mount(self) -> None:
        self.query_one("#names-context").border_title = "In context"
        self._seen_version = self.wq.data_version
        self.refresh_data()
        self.candidates_table.focus()

    # --- data ------------------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self._docs.clear()  # a redaction (waveqda redact) is the one thing that changes stored text
        data = self.wq.read(review_data)
        if data is None:
            return
        self.data = data
        self._fill_candidates()
        self._fill_register()
        self._show_title()
        self.refresh_bindings()

    def _fill_candidates(self) -> None:
        palette = Palette.of(self.app)
        table = self.candidates_table
        row_index = table.cursor_row
        table.clear(columns=True)
        table.add_column("Name", key="text")
        table.add_column("Category", key="category")
        table.add_column("Found by", key="source")
        table.add_column("Times", key="times")
        table.add_column("Variant of", key="variant")
        for row in self.data.pending:
            table.add_row(
                Text(row.text, style="bold"),
                row.category,
                SOURCES.get(row.source, (row.source, ""))[0],
                Text(str(row.occurrences), justify="right"),
                Text(row.variant_of or "", style=palette.accent),
                key=str(row.id),
            )
        if self.data.pending:
            table.move_cursor(row=min(max(row_index, 0), len(self.data.pending) - 1))
        self._show_context()

    def _fill_register(self) -> None:
        palette = Palette.of(self.app)
        table = self.register_table
        row_index = table.cursor_row
        table.clear(columns=True)
        table.add_column("Term", key="term")
        table.add_column("Other spellings", key="variants")
        table.add_column("Category", key="category")
        table.add_column("Replaced by", key="replacement")
        for entry in self.data.entries:
            table.add_row(
                Text(entry.term, style="bold"),
                ", ".join(entry.variants),
                entry.category,
                Text(entry.replacement, style=palette.good),
                key=str(entry.id),
            )
        if self.data.entries:
            table.move_cursor(row=min(max(row_index, 0), len(self.data.entries) - 1))

    def _show_title(self) -> None:
        data = self.data
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("candidates").label = f"Candidates ({len(data.pending)})"
        tabs.get_tab("register").label = f"Register ({len(data.entries)})"
        title = Text()
        title.append("Identifying names", style="bold")
        title.append(
            f"   {len(data.pending)} waiting · {data.accepted} accepted · {data.rejected} rejected · "
            f"{len(data.entries)} register entries",
            style="dim",
        )
        self.query_one("#names-title", Static).update(title)
        if self.scanning:
            hint = "Scanning the transcripts for names…"
        elif not data.pending and not (data.accepted or data.rejected):
            hint = "No candidates yet: press s to scan the transcripts for names (it takes a few seconds)."
        elif not data.pending:
            hint = "Nothing waiting. s scans again (decided names are not asked again) · t shows the register"
        else:
            hint = (
                "a accepts · r rejects · m maps to an existing entry · e edits before accepting · "
                "every decision is saved at once, ctrl+z undoes it"
            )
        self.query_one("#names-hint", Static).update(Text(hint, style="dim"))

    def current(self) -> names.CandidateRow | None:
        """The highlighted pending candidate (only while the candidates tab is shown)."""
        if self.query_one(TabbedContent).active != "candidates" or not self.data.pending:
            return None
        row = self.candidates_table.cursor_row
        return self.data.pending[row] if 0 <= row < len(self.data.pending) else None

    def _show_context(self) -> None:
        widget = self.query_one("#names-context-text", Static)
        table = self.candidates_table
        row_index = table.cursor_row
        if not self.data.pending or not 0 <= row_index < len(self.data.pending):
            widget.update(Text("No candidate selected.", style="dim"))
            return
        row = self.data.pending[row_index]
        widget.update(context_text(row, self.occurrence(row)))

    def occurrence(self, row: names.CandidateRow) -> Occurrence | None:
        """Where the scan first found the candidate, in its speaker's turn (None when not in a transcript)."""
        transcript_id, start, end = row.transcript_id, row.start, row.end
        if transcript_id is None or start is None or end is None:
            return None
        if transcript_id not in self._docs:
            doc = self.wq.read(load_document, transcript_id)
            if doc is None:
                return None
            self._docs[transcript_id] = doc
        return occurrence_in(self._docs[transcript_id], start, end)

    @on(DataTable.RowHighlighted, "#names-candidates")
    def _candidate_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_context()
        self.refresh_bindings()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        table = self.candidates_table if event.pane.id == "candidates" else self.register_table
        table.focus()
        self.refresh_bindings()

    # --- actions ---------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("accept", "reject", "map", "edit", "open"):
            return self.current() is not None and not self.scanning or None
        if action == "accept_all":
            return bool(self.data.pending) and not self.scanning or None
        if action == "scan":
            return not self.scanning or None
        return True

    @property
    def actor(self) -> str:
        return self.wq.coder or "coder"

    def action_switch_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "register" if tabs.active == "candidates" else "candidates"

    def action_accept(self) -> None:
        row = self.current()
        if row is None:
            return
        if self.wq.change(names.accept, self.wq.project, self.actor, [row.id]) is not None:
            where = f" as a spelling of {row.variant_of}" if row.variant_of else ""
            self.notify(f"Accepted {row.text}{where}", timeout=3)

    def action_reject(self) -> None:
        row = self.current()
        if row is None:
            return
        if self.wq.change(reject_candidates, self.wq.project, self.actor, [row.id]):
            self.notify(f"Rejected {row.text}: not a name to replace (ctrl+z undoes)", timeout=3)

    def action_map(self) -> None:
        row = self.current()
        if row is None:
            return
        if not self.data.entries:
            self.notify("The register is empty: accept a first name with a, or add one (n)", severity="warning")
            return
        palette = Palette.of(self.app)
        choices: list[tuple[str, object]] = []
        for entry in self.data.entries:
            prompt = Text()
            prompt.append(entry.term, style="bold")
            if entry.variants:
                prompt.append(f" ({', '.join(entry.variants)})", style="dim")
            prompt.append(f"  → {entry.replacement}", style=palette.good)
            prompt.append(f"  {entry.category}", style="dim")
            choices.append((str(entry.id), prompt))

        def chosen(entry_id: str | None) -> None:
            if entry_id is None:
                return
            done = self.wq.change(names.accept, self.wq.project, self.actor, [row.id], as_entry=int(entry_id))
            if done is not None:
                term = next((e.term for e in self.data.entries if e.id == int(entry_id)), entry_id)
                self.notify(f"{row.text} is now a spelling of {term}", timeout=3)

        self.app.push_screen(ChoiceDialog(f"{row.text} is another spelling of…", choices), chosen)

    def action_edit(self) -> None:
        row = self.current()
        if row is None:
            return
        note = ""
        if row.variant_of:
            note = (
                f"Found as a likely spelling of {row.variant_of}: accepting adds it there and uses that "
                f"entry's replacement. To keep it apart, reject it and add it with n."
            )
        elif row.speaker_replacement:
            note = f"A participant's own name: by default replaced by their study ID {row.speaker_replacement}."

        def edited(answer: dict | None) -> None:
            if answer is None:
                return
            done = self.wq.change(
                names.accept,
                self.wq.project,
                self.actor,
                [row.id],
                category=answer["category"],
                replacement=answer["replacement"],
            )
            if done is not None:
                self.notify(f"Accepted {row.text}", timeout=3)

        self.app.push_screen(
            EntryDialog(f"Accept {row.text!r} as…", term=row.text, category=row.category, note=note), edited
        )

    def action_accept_all(self) -> None:
        n = len(self.data.pending)
        if not n:
            return

        def confirmed(ok: bool | None) -> None:
            if ok and self.wq.change(names.accept, self.wq.project, self.actor, all_pending=True) is not None:
                self.notify(f"Accepted {n} names (ctrl+z undoes all of them)", timeout=4)

        self.app.push_screen(
            ConfirmDialog(
                f"Accept all {n} waiting candidates?\n\nEach becomes a register entry (or a spelling of "
                "the entry it resembles) and is replaced in anonymised exports. One step: ctrl+z undoes it.",
                "Accept all",
            ),
            confirmed,
        )

    def action_add(self) -> None:
        def added(answer: dict | None) -> None:
            if answer is None:
                return
            done = self.wq.change(
                names.add_entry,
                self.wq.project,
                self.actor,
                answer["term"],
                answer["variants"],
                answer["category"],
                answer["replacement"],
            )
            if done is not None:
                self.notify(f"Added {answer['term']} to the register", timeout=3)

        self.app.push_screen(EntryDialog("Add a name to the register"), added)

    def action_open(self) -> None:
        row = self.current()
        if row is None:
            return
        occurrence = self.occurrence(row)
        if occurrence is None:
            self.notify("No position recorded for this candidate", severity="warning")
            return
        start, end = occurrence.span
        self.wq.open_transcript(occurrence.transcript_id, select=(start, end) if start < end else None)

    # --- scanning --------------------------------------------------------------------------------------

    def action_scan(self) -> None:
        if self.scanning:
            return
        self.scanning = True
        self.candidates_table.loading = True
        self._show_title()
        self.refresh_bindings()
        self.run_scan(self.actor)

    @work(thread=True, exclusive=True, group="names-scan")
    def run_scan(self, actor: str) -> None:
        """Detection loads spaCy and reads every transcript: off the event loop, like imports."""
        try:
            rows = names.scan(self.wq.project, actor)
        except Exception as exc:  # WaveqdaError or a bug: a notification, never a traceback
            self.post_message(self.Scanned(None, f"{exc}"))
            return
        self.post_message(self.Scanned(rows, None))

    class Scanned(Message):
        """The scan worker's pending candidates, or the one line saying why the scan failed."""

        def __init__(self, rows: list[names.CandidateRow] | None, error: str | None) -> None:
            super().__init__()
            self.rows, self.error = rows, error

    def on_names_review_screen_scanned(self, message: Scanned) -> None:
        self._scan_done(message.rows, message.error)

    def _scan_done(self, rows: list[names.CandidateRow] | None, error: str | None) -> None:
        self.scanning = False
        self.candidates_table.loading = False
        self.wq.changed()
        if error is not None:
            self.notify(f"Scan failed: {error}", severity="error", timeout=10)
        else:
            self.notify(f"Scan found {len(rows or [])} names waiting for a decision", timeout=4)
        self._show_title()
        self.refresh_bindings()
