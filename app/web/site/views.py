"""What each page of the workshop site shows, read from the domain layer as plain frozen dataclasses.

The site asks the same questions as the CLI and the exports: the codebook tree (``models.codes``), the code x
timepoint matrix (``code_timepoint_matrix``, as ``waveqda matrix``), theme presence and trajectories
(``theme_presence``, as ``waveqda trajectories``), passages and their quotes (``exporters.data``, as the themes
report), scores beside themes (``exporters.joint.load_joint``, as ``--kind joint``), every memo
(``models.memo_list``) and the comments attached to codes and codings (``models.comments``). Text goes through
the same pseudonymisation register as an ``--anonymise`` export (``exporters.data.Texts``): a quote is the
anonymised transcript sliced at the mapped offsets, so a name cut by a coding boundary is replaced whole.

Templates receive these dataclasses only: no session, no ORM row, no SQL reaches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from exporters.data import Quote, Texts, participant_attributes, passage_spans, quotes_of
from exporters.word_common import handout, turn_label
from models.anonymise import Anonymiser
from models.codes import CodeTree
from models.comments import Comment, comments_on
from models.errors import WaveqdaError
from models.memo_list import all_memos
from models.names import export_anonymiser
from models.queries import (
    Segment,
    code_timepoint_matrix,
    coded_spans,
    hidden_codes,
    load_layouts,
    segments_by_id,
    theme_presence,
)
from models.store import get_setting
from models.store import timepoints as project_timepoints

PAGE_SIZE = 200  # quotes per page of a theme: a workshop reads a theme in one sitting, a handout prints it


@dataclass(frozen=True)
class Filters:
    """What a reader narrowed a page to: one timepoint, one ``NAME=VALUE`` attribute, one code (a theme's
    sub-code). Empty strings mean "all"."""

    timepoint: str = ""
    attribute: str = ""
    code: int | None = None
    page: int = 1

    def attribute_pair(self) -> tuple[str, str] | None:
        if not self.attribute:
            return None
        name, sep, value = self.attribute.partition("=")
        if not sep or not name.strip():
            raise WaveqdaError(f"an attribute filter is NAME=VALUE, not {self.attribute!r}")
        return name.strip(), value.strip()

    def query(self, **changes: object) -> dict[str, str]:
        """The filters as query parameters (for links that keep them), with ``changes`` applied."""
        values: dict[str, object] = {"timepoint": self.timepoint, "attribute": self.attribute, "code": self.code}
        values.update(changes)
        return {key: str(value) for key, value in values.items() if value not in ("", None)}


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FilterChoices:
    """The values a reader can filter by: timepoints, participant attributes, codes."""

    timepoints: tuple[Option, ...]
    attributes: tuple[Option, ...]
    codes: tuple[Option, ...] = ()


@dataclass(frozen=True)
class ThemeLink:
    """A code in the themes tree, with its definition and how much was said to it."""

    code_id: int
    name: str
    depth: int
    definition: str
    passages: int
    participants: int


@dataclass(frozen=True)
class ThemesIndex:
    project_name: str
    themes: tuple[ThemeLink, ...]


@dataclass(frozen=True)
class Spoken:
    """One turn's part of a quote: who spoke and what (``interviewer`` marks the interviewer's words)."""

    speaker: str
    text: str
    interviewer: bool


@dataclass(frozen=True)
class QuoteView:
    """One passage as the site shows it. ``id`` is its first coding: comments on the quote attach there."""

    id: int
    code: str
    participant: str
    timepoint: str
    label: str  # "P01 · T1 After training · Dana · turn 3 · coded by Ann and Ben · key quote"
    spoken: tuple[Spoken, ...]
    key_quote: bool
    memos: tuple[tuple[str, str], ...]  # (author, text) of memos written in the codings themselves
    comments: tuple[Comment, ...]


@dataclass(frozen=True)
class CountCell:
    timepoint: str
    label: str
    passages: int
    participants: int


@dataclass(frozen=True)
class ThemePage:
    project_name: str
    code_id: int
    name: str
    path: tuple[tuple[int, str], ...]  # ancestors then the code: (id, name), for the breadcrumb
    definition: str
    inclusion: str
    exclusion: str
    example: str
    memo: str
    comments: tuple[Comment, ...]
    sub_codes: tuple[ThemeLink, ...]
    counts: tuple[CountCell, ...]
    choices: FilterChoices
    filters: Filters
    quotes: tuple[QuoteView, ...]
    total: int  # passages under the filters (the page shows at most PAGE_SIZE of them)
    pages: int


@dataclass(frozen=True)
class MatrixCellView:
    segments: int
    passages: int
    participants: int


@dataclass(frozen=True)
class MatrixRowView:
    code_id: int
    name: str
    depth: int
    cells: tuple[MatrixCellView, ...]
    total: MatrixCellView


@dataclass(frozen=True)
class MatrixPage:
    project_name: str
    timepoints: tuple[Option, ...]
    rows: tuple[MatrixRowView, ...]
    interviews: tuple[str, ...]  # per timepoint: "4 of 6 coded"
    choices: FilterChoices
    filters: Filters


@dataclass(frozen=True)
class TrajectoryRowView:
    participant: str
    statuses: tuple[str, ...]  # per timepoint, in words
    pattern: str


@dataclass(frozen=True)
class ThemeTrajectories:
    code_id: int
    name: str
    rows: tuple[TrajectoryRowView, ...]


@dataclass(frozen=True)
class TrajectoriesPage:
    project_name: str
    timepoints: tuple[Option, ...]
    themes: tuple[ThemeTrajectories, ...]
    choices: FilterChoices
    filters: Filters


@dataclass(frozen=True)
class JointParticipant:
    participant: str
    scores: tuple[str, ...]
    change: str
    courses: tuple[str, ...]


@dataclass(frozen=True)
class JointWave:
    timepoint: str
    n: int
    mean: str
    voicing: tuple[str, ...]  # per theme: "3 of 5 (60%)"


@dataclass(frozen=True)
class JointMeasure:
    measure: str
    change_between: str
    participants: tuple[JointParticipant, ...]
    waves: tuple[JointWave, ...]


@dataclass(frozen=True)
class JointPage:
    project_name: str
    timepoints: tuple[Option, ...]
    themes: tuple[str, ...]
    measures: tuple[JointMeasure, ...]
    message: str  # why there is nothing to show ("no questionnaire scores yet"), else ""


@dataclass(frozen=True)
class MemoView:
    kind: str
    target: str
    target_code: int | None  # the theme page to link to, when the memo is on a code
    author: str
    updated: str
    title: str
    text: str


@dataclass(frozen=True)
class MemosPage:
    project_name: str
    memos: tuple[MemoView, ...]
    search: str
    kind: str


def anonymisation_note(session: Session) -> str:
    """What a reader should know about the pseudonyms on an anonymised page: the register replaces only the
    names someone reviewed, so say so while names found by a scan wait for review, or before any scan."""
    from models.names import entries, pending_count

    pending = pending_count(session)
    if pending:
        return (
            f"{pending} possible name{'s' if pending != 1 else ''} found by the last scan "
            f"{'are' if pending != 1 else 'is'} not reviewed yet and may show here as spoken "
            "until the study's owner reviews them (waveqda names PROJECT scan)."
        )
    if not entries(session):
        return (
            "No names are registered for pseudonymisation yet: names in quotes show as spoken until the "
            "study's owner scans for them (waveqda names PROJECT scan). Participants are always named by study ID."
        )
    return ""


class QuoteTexts(Texts):
    """``Texts`` for a page of quotes: the same slices, anonymised over the turns around each quote rather
    than over whole transcripts (a page quotes 200 passages from up to a hundred 10,000-word interviews;
    reading and replacing names in all of them was 0.5 s of a 0.7 s page).

    The text comes from the quotes' codings themselves (``segments_by_id`` with turn context gives each
    coding's whole turns), merged per transcript into stretches; names are replaced over a whole stretch, so a
    name cut by a quote's boundary is found whole and replaced whole, as over the whole transcript (a turn
    boundary is a line break and a speaker label: no name runs across one). A coding outside every turn has
    no such stretch: its transcript's whole text is loaded (``layouts``) and replaced around the quote with
    a margin. ``tests/web/test_site_views.py`` checks the slices equal ``Texts``' on every quote."""

    MARGIN = 200

    def __init__(self, anonymiser: Anonymiser | None) -> None:
        super().__init__({}, anonymiser)
        self.stretches: dict[int, list[tuple[int, str]]] = {}

    def add_contexts(self, segments: Iterable[Segment]) -> None:
        """Keep the segments' contexts, merged where they overlap or touch, per transcript."""
        by_transcript: dict[int, list[tuple[int, int, str]]] = {}
        for seg in segments:
            by_transcript.setdefault(seg.transcript_id, []).append((seg.context_start, seg.context_end, seg.context))
        for tid, found in by_transcript.items():
            merged: list[tuple[int, str]] = []
            for start, end, text in sorted(found):
                if merged and start <= merged[-1][0] + len(merged[-1][1]):
                    first, joined = merged[-1]
                    overlap = first + len(joined) - start
                    merged[-1] = (first, joined + text[overlap:]) if end > first + len(joined) else (first, joined)
                else:
                    merged.append((start, text))
            self.stretches[tid] = merged

    def slice(self, transcript_id: int, start: int, end: int) -> str:
        layout = self.layouts.get(transcript_id)
        if layout is not None and layout.text:
            return self._around(layout.text, start, end)
        for first, text in self.stretches.get(transcript_id, []):
            if first <= start and end <= first + len(text):
                if not self.anonymiser:
                    return text[start - first : end - first]
                replaced, offsets = self.anonymiser.replace_mapped(text)
                new_start, new_end = offsets.span(start - first, end - first)
                return replaced[new_start:new_end]
        raise WaveqdaError(f"the text of a quote ({start}:{end}) was not loaded")  # a bug, never a leak

    def _around(self, text: str, start: int, end: int) -> str:
        if not self.anonymiser:
            return text[start:end]
        low, high = max(0, start - self.MARGIN), min(len(text), end + self.MARGIN)
        while low > 0 and not text[low - 1].isspace():
            low -= 1
        while high < len(text) and not text[high].isspace():
            high += 1
        replaced, offsets = self.anonymiser.replace_mapped(text[low:high])
        new_start, new_end = offsets.span(start - low, end - low)
        return replaced[new_start:new_end]


def _texts(session: Session, anonymise: bool) -> QuoteTexts:
    return QuoteTexts(export_anonymiser(session, anonymise))


def _project_name(session: Session, texts: Texts) -> str:
    return texts.free(get_setting(session, "name", "waveqda project") or "waveqda project")


def filter_choices(session: Session, texts: Texts) -> FilterChoices:
    """Every timepoint and every attribute value held by some participant (as ``NAME=VALUE``)."""
    timepoints = tuple(Option(tp.key, f"{tp.key} {texts.free(tp.label)}".strip()) for tp in project_timepoints(session))
    names, values = participant_attributes(session)
    pairs = sorted({(name, str(v)) for found in values.values() for name, v in found.items() if str(v).strip()})
    order = {name: i for i, name in enumerate(names)}
    pairs.sort(key=lambda pair: (order.get(pair[0], len(order)), pair[1]))
    attributes = tuple(Option(f"{name}={value}", f"{texts.free(name)}: {texts.free(value)}") for name, value in pairs)
    return FilterChoices(timepoints, attributes)


def _check_filters(choices: FilterChoices, filters: Filters) -> None:
    """A filter value the project does not hold is a bad request, said in one line (never an empty page)."""
    if filters.timepoint and filters.timepoint not in {o.value for o in choices.timepoints}:
        raise WaveqdaError(f"no timepoint {filters.timepoint!r} in this project")
    if filters.attribute:
        filters.attribute_pair()
        if filters.attribute not in {o.value for o in choices.attributes}:
            raise WaveqdaError(f"no participant has the attribute value {filters.attribute!r}")
    if filters.page < 1:
        raise WaveqdaError("pages are numbered from 1")


def themes_index(session: Session, anonymise: bool) -> ThemesIndex:
    """The codebook tree (archived codes left out) with each code's definition and passages coded."""
    texts = _texts(session, anonymise)
    tree = CodeTree.load(session)
    matrix = code_timepoint_matrix(session, words=False)
    rows = {row.code_id: row for row in matrix.rows}
    hidden = hidden_codes(tree)
    themes = tuple(
        ThemeLink(
            cid,
            texts.free(tree.codes[cid].name),
            depth,
            texts.free(handout(tree.codes[cid].definition)),
            rows[cid].total.passages if cid in rows else 0,
            rows[cid].total.participants if cid in rows else 0,
        )
        for cid, depth in tree.walk()
        if cid not in hidden
    )
    return ThemesIndex(_project_name(session, texts), themes)


def theme_page(session: Session, code_id: int, filters: Filters, anonymise: bool) -> ThemePage:
    """One theme: its definition, memos and comments, counts per timepoint, and its quotes (passages of the
    code and its sub-codes, or of the one sub-code chosen), under the reader's filters, a page at a time."""
    tree = CodeTree.load(session)
    hidden = hidden_codes(tree)
    if code_id not in tree.codes or code_id in hidden:
        raise LookupError(f"no theme with id {code_id}")
    texts = _texts(session, anonymise)
    choices = filter_choices(session, texts)
    members = [cid for cid in [code_id, *tree.descendants(code_id)] if cid not in hidden]
    code_options = tuple(
        Option(str(cid), "  " * (_depth(tree, cid) - _depth(tree, code_id)) + texts.free(tree.codes[cid].name))
        for cid, _d in tree.walk()
        if cid in members
    )
    choices = FilterChoices(choices.timepoints, choices.attributes, code_options)
    _check_filters(choices, filters)
    if filters.code is not None and filters.code not in members:
        raise WaveqdaError(f"code {filters.code} is not part of this theme")
    chosen = filters.code if filters.code is not None else code_id
    timepoints = [filters.timepoint] if filters.timepoint else None
    attribute = filters.attribute_pair()
    spans = coded_spans(session, chosen, True, timepoints=timepoints, attribute=attribute)
    passages = passage_spans(spans)
    pages = max(1, -(-len(passages) // PAGE_SIZE))
    shown = passages[(filters.page - 1) * PAGE_SIZE : filters.page * PAGE_SIZE]
    full = segments_by_id(session, [i for p in shown for i in p.coding_ids], context="turn")
    quotes = quotes_of(shown, full)
    across_turns = {q.transcript_id for q in quotes if q.last_turn_index not in (None, q.turn_index)}
    texts.layouts = load_layouts(session, across_turns, sentences=False, text=False)  # to cut quotes at turns
    outside_turns = {seg.transcript_id for seg in full.values() if seg.turn_index is None}
    texts.layouts.update(load_layouts(session, outside_turns, sentences=False))
    texts.add_contexts(full.values())
    comments = comments_on(session, "coding", [q.id for q in quotes])
    matrix = code_timepoint_matrix(session, words=False, code_refs=[chosen], attribute=attribute)
    row = next((r for r in matrix.rows if r.code_id == chosen), None)
    counts = tuple(
        CountCell(
            key,
            f"{key} {texts.free(label)}".strip(),
            row.cells[key].passages if row else 0,
            row.cells[key].participants if row else 0,
        )
        for key, label in matrix.timepoints
        if not filters.timepoint or key == filters.timepoint
    )
    code = tree.codes[code_id]
    coders = {c for q in quotes for c in q.coders}
    return ThemePage(
        project_name=_project_name(session, texts),
        code_id=code_id,
        name=texts.free(code.name),
        path=tuple((cid, texts.free(tree.codes[cid].name)) for cid in tree.ancestors_and_self(code_id)[::-1]),
        definition=texts.free(handout(code.definition)),
        inclusion=texts.free(handout(code.inclusion)),
        exclusion=texts.free(handout(code.exclusion)),
        example=texts.free(handout(code.example)),
        memo=texts.free(handout(code.memo)),
        comments=tuple(_free_comment(c, texts) for c in comments_on(session, "code", [code_id]).get(code_id, [])),
        sub_codes=tuple(
            ThemeLink(cid, texts.free(tree.codes[cid].name), 0, texts.free(handout(tree.codes[cid].definition)), 0, 0)
            for cid in tree.children.get(code_id, [])
            if cid not in hidden
        ),
        counts=counts,
        choices=choices,
        filters=filters,
        quotes=tuple(_quote_view(q, tree, texts, comments, len(coders) > 1) for q in quotes),
        total=len(passages),
        pages=pages,
    )


def _depth(tree: CodeTree, code_id: int) -> int:
    return len(tree.ancestors_and_self(code_id)) - 1


def _free_comment(comment: Comment, texts: Texts) -> Comment:
    """A comment as the site shows it: its text through the register like every other text."""
    from dataclasses import replace

    return replace(comment, text=texts.free(comment.text))


def _quote_view(
    quote: Quote, tree: CodeTree, texts: Texts, comments: dict[int, list[Comment]], many: bool
) -> QuoteView:
    parts = [quote.participant, f"{quote.timepoint} {texts.free(quote.timepoint_label)}".strip()]
    speaker = texts.free(quote.speaker) if quote.speaker else ""
    if speaker and speaker != quote.participant:  # pseudonymised, the participant's name is their study ID
        parts.append(speaker)
    if quote.turn_index is not None:
        parts.append(turn_label(quote.turn_index, quote.last_turn_index))
    if many:
        parts.append("coded by " + ", ".join(texts.free(c) for c in quote.coders))
    if quote.key_quote:
        parts.append("key quote")
    if quote.transcript_id in texts.layouts:  # a quote across turns, cut at each
        spoken = tuple(
            Spoken(texts.free(turn.speaker) if turn else "", text, bool(turn and turn.role == "interviewer"))
            for turn, text in texts.spoken(quote)
        )
    else:
        text = texts.slice(quote.transcript_id, quote.start, quote.end)
        spoken = (Spoken(texts.free(quote.speaker), text, quote.role == "interviewer"),)
    memos: list[tuple[str, str]] = []
    for coding in quote.codings:
        if coding.memo and (coding.coder, coding.memo) not in memos:
            memos.append((coding.coder, coding.memo))
    return QuoteView(
        id=quote.id,
        code=texts.free(tree.codes[quote.code_id].name),
        participant=quote.participant,
        timepoint=quote.timepoint,
        label=" · ".join(parts),
        spoken=spoken,
        key_quote=quote.key_quote,
        memos=tuple((texts.free(author), texts.free(handout(text))) for author, text in memos),
        comments=tuple(_free_comment(c, texts) for c in comments.get(quote.id, [])),
    )


def matrix_page(session: Session, filters: Filters, anonymise: bool) -> MatrixPage:
    """The code x timepoint matrix, as ``waveqda matrix`` computes it, under an attribute filter."""
    texts = _texts(session, anonymise)
    choices = filter_choices(session, texts)
    _check_filters(choices, filters)
    matrix = code_timepoint_matrix(session, attribute=filters.attribute_pair(), words=False)
    keys = [key for key, _label in matrix.timepoints]

    def cell(found: object) -> MatrixCellView:
        return MatrixCellView(found.segments, found.passages, found.participants)  # type: ignore[attr-defined]

    rows = tuple(
        MatrixRowView(
            row.code_id, texts.free(row.name), row.depth, tuple(cell(row.cells[k]) for k in keys), cell(row.total)
        )
        for row in matrix.rows
    )
    interviews = tuple(
        f"{matrix.interviews[k].coded} of {matrix.interviews[k].transcripts} coded" if k in matrix.interviews else ""
        for k in keys
    )
    return MatrixPage(
        _project_name(session, texts),
        tuple(Option(key, f"{key} {texts.free(label)}".strip()) for key, label in matrix.timepoints),
        rows,
        interviews,
        choices,
        filters,
    )


STATUS_WORDS = {
    "missing": "not interviewed",
    "absent": "not voiced",
}


def trajectories_page(session: Session, filters: Filters, anonymise: bool) -> TrajectoriesPage:
    """Each top-level theme's course per participant, wave by wave (``waveqda trajectories``), or one code's."""
    texts = _texts(session, anonymise)
    choices = filter_choices(session, texts)
    _check_filters(choices, filters)
    tree = CodeTree.load(session)
    if filters.code is not None and (filters.code not in tree.codes or filters.code in hidden_codes(tree)):
        raise WaveqdaError(f"no code with id {filters.code}")
    refs: Sequence[int] | None = [filters.code] if filters.code is not None else None
    found = theme_presence(session, refs, attribute=filters.attribute_pair())
    keys = [(tp.key, tp.label) for tp in project_timepoints(session)]
    themes = tuple(
        ThemeTrajectories(
            presence.code_id,
            texts.free(presence.name),
            tuple(
                TrajectoryRowView(
                    t.participant,
                    tuple(
                        f"{STATUS_WORDS.get(p.status, p.status)}" + (f" ({p.passages})" if p.present else "")
                        for p in t.points
                    ),
                    t.pattern,
                )
                for t in presence.trajectories
            ),
        )
        for presence in found
    )
    code_options = tuple(
        Option(str(cid), texts.free(tree.codes[cid].name))
        for cid in tree.children.get(None, [])
        if cid not in hidden_codes(tree)
    )
    return TrajectoriesPage(
        _project_name(session, texts),
        tuple(Option(key, f"{key} {texts.free(label)}".strip()) for key, label in keys),
        themes,
        FilterChoices(choices.timepoints, choices.attributes, code_options),
        filters,
    )


def joint_page(session: Session, anonymise: bool) -> JointPage:
    """Scores beside themes (issue 17's joint display, as ``waveqda joint``) for every measure, with the
    top-level themes, when the project has scores."""
    from models.scores import joint_display, measure_names

    texts = _texts(session, anonymise)
    name = _project_name(session, texts)
    keys = tuple(Option(tp.key, f"{tp.key} {texts.free(tp.label)}".strip()) for tp in project_timepoints(session))
    tree = CodeTree.load(session)
    hidden = hidden_codes(tree)
    themes = [tree.codes[cid].name for cid in tree.children.get(None, []) if cid not in hidden]
    measures_known = measure_names(session)
    if not measures_known:
        return JointPage(name, keys, (), (), "No questionnaire scores in this project yet")
    if len(keys) < 2 or not themes:
        return JointPage(name, keys, (), (), "Scores beside themes need two or more timepoints and some codes")
    measures = []
    for measure in measures_known:
        display = joint_display(session, measure, themes)
        participants = tuple(
            JointParticipant(
                row.participant,
                tuple("–" if row.scores.get(k.value) is None else f"{row.scores[k.value]:g}" for k in keys),
                "not computed" if row.change is None else f"{row.change.category} ({row.change.difference:+g})",
                tuple(course.pattern for course in row.themes),
            )
            for row in display.participants
        )
        waves = tuple(
            JointWave(
                wave.timepoint,
                wave.n,
                "–"
                if wave.mean is None
                else f"{wave.mean:.1f}"
                + (
                    ""
                    if wave.ci_low is None or wave.ci_high is None
                    else f" (95% CI {wave.ci_low:.1f} to {wave.ci_high:.1f})"
                ),
                tuple(f"{round(100 * wave.voicing.get(theme, 0.0))}%" for theme in themes),
            )
            for wave in display.timepoints
        )
        measures.append(JointMeasure(display.measure, f"{display.from_} to {display.to}", participants, waves))
    return JointPage(name, keys, tuple(texts.free(t) for t in themes), tuple(measures), "")


def memos_page(session: Session, search: str, kind: str, anonymise: bool) -> MemosPage:
    """Every memo (journal, transcripts, participants, codes, codings and the comments left here)."""
    texts = _texts(session, anonymise)
    found = all_memos(session, search or None, [kind] if kind else None)
    memos = tuple(
        MemoView(
            m.kind,
            texts.free(m.target),
            m.target_id if m.kind == "code" else None,
            texts.free(m.author),
            m.updated,
            texts.free(m.title),
            texts.free(handout(m.text)),
        )
        for m in found
    )
    return MemosPage(_project_name(session, texts), memos, search, kind)


def comment_target_page(session: Session, target: str, target_id: int, anonymise: bool) -> tuple[Comment, ...]:
    """The comments on one code or coding (what the page shows again after a comment is added)."""
    texts = _texts(session, anonymise)
    if target not in ("code", "coding"):
        raise WaveqdaError(f"a comment goes on a code or a coding, not {target!r}")
    found = comments_on(session, target, [target_id])  # type: ignore[arg-type]
    return tuple(_free_comment(c, texts) for c in found.get(target_id, []))
