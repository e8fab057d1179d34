"""What exporters read, loaded once per export from the domain layer, and text as exports write it.

``models.queries`` answers the questions (segments, the code x timepoint matrix, transcript layouts,
passages); this module gathers those answers for one export under one set of filters, adds the few lookups
the queries do not cover (memos attached to codes, codings and transcripts, participant attributes, who was
interviewed when), and owns the rule for text: a quote is the transcript sliced at the coding's offsets, and
with ``--anonymise`` it is the anonymised transcript sliced at the *mapped* offsets, so a name cut by a coding
boundary is replaced whole rather than leaking half of itself.

Reports quote *passages*, not codings: codings of one code that share text (two coders, or one coder's
overlapping codings) are one quote, labelled with every coder (``models.queries.group_passages``), and
counts say "passages". The codings tables keep one row per coding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from exporters.filters import (
    CONSENSUS_CODER,
    ExportFilters,
    choose_quotes,
    scope_code_ids,
    scoped_segments,
    scoped_spans,
)
from exporters.word_common import handout, made_on
from models.anonymise import Anonymiser, OffsetMap
from models.codes import CodeTree
from models.errors import WaveqdaError
from models.names import export_anonymiser
from models.participants import attribute_definitions
from models.queries import (
    Cell,
    CodedSpan,
    Matrix,
    MatrixRow,
    Segment,
    TranscriptLayout,
    TurnInfo,
    code_timepoint_matrix,
    group_passages,
    load_layouts,
    resolve_scope,
    segments_by_id,
    where_codes,
)
from models.schema import Coder, Coding, Memo, Participant, ParticipantAttribute, Timepoint, Transcript
from models.store import get_setting
from models.store import timepoints as project_timepoints

CHUNK = 500
SHORT = 300


class Texts:
    """Transcript text as exports write it: exact slices, anonymised through the register when asked."""

    def __init__(self, layouts: dict[int, TranscriptLayout], anonymiser: Anonymiser | None) -> None:
        self.layouts = layouts
        self.anonymiser = anonymiser if anonymiser else None
        self._mapped: dict[int, tuple[str, OffsetMap]] = {}
        self._short: dict[str, str] = {}

    def free(self, text: str | None) -> str:
        """Any other text written (memos, names, titles): anonymised when asked.

        Short strings (code paths, speakers, coders) repeat on every row, so their replacement is cached.
        """
        if not text or not self.anonymiser:
            return text or ""
        if len(text) > SHORT:
            return self.anonymiser.replace(text)
        if text not in self._short:
            self._short[text] = self.anonymiser.replace(text)
        return self._short[text]

    def slice(self, transcript_id: int, start: int, end: int) -> str:
        text = self.layouts[transcript_id].text
        if not self.anonymiser:
            return text[start:end]
        if transcript_id not in self._mapped:
            self._mapped[transcript_id] = self.anonymiser.replace_mapped(text)
        new_text, offsets = self._mapped[transcript_id]
        new_start, new_end = offsets.span(start, end)
        return new_text[new_start:new_end]

    def pieces(self, segment: Segment | CodedSpan | Quote, no_interviewer: bool) -> list[str]:
        """The quote as slices: the whole span, or with ``no_interviewer`` only its non-interviewer turns."""
        if not no_interviewer:
            return [self.slice(segment.transcript_id, segment.start, segment.end)]
        out = []
        for turn in self._turns(segment):
            start, end = max(segment.start, turn.start), min(segment.end, turn.end)
            if turn.role != "interviewer" and start < end:
                out.append(self.slice(segment.transcript_id, start, end))
        return out

    def question_before(self, segment: Segment) -> tuple[str, str] | None:
        """The interviewer turn before the segment's first turn: (speaker, text), for context."""
        layout = self.layouts[segment.transcript_id]
        found = layout.turn_range(segment.start, segment.end)
        if found is None:
            return None
        for turn in reversed(layout.turns[: found[0]]):
            if turn.role == "interviewer":
                return self.free(turn.speaker), self.slice(segment.transcript_id, turn.start, turn.end)
        return None

    def spoken(self, item: Segment | CodedSpan | Quote) -> list[tuple[TurnInfo | None, str]]:
        """The quote cut at speaker turns: ``(turn, text)`` per turn it touches (turn None for text outside
        any turn), so reports can print interviewer speech apart from the participant's."""
        turns = self._turns(item)
        if not turns:
            return [(None, self.slice(item.transcript_id, item.start, item.end))]
        out: list[tuple[TurnInfo | None, str]] = []
        for turn in turns:
            start, end = max(item.start, turn.start), min(item.end, turn.end)
            if start < end:
                out.append((turn, self.slice(item.transcript_id, start, end)))
        return out or [(None, self.slice(item.transcript_id, item.start, item.end))]

    def _turns(self, segment: Segment | CodedSpan | Quote) -> list[TurnInfo]:
        layout = self.layouts[segment.transcript_id]
        found = layout.turn_range(segment.start, segment.end)
        return layout.turns[found[0] : found[1] + 1] if found else []


class PassageSpan(NamedTuple):
    """A passage before its text is loaded: what counting and choosing quotes read (``choose_quotes`` takes
    these as it takes ``CodedSpan``s: id, code, participant, timepoint, key flag)."""

    id: int  # the lowest coding id: stable from export to export
    code_id: int
    transcript_id: int
    participant: str
    timepoint: str
    timepoint_position: int
    start: int
    end: int
    key_quote: bool
    coding_ids: tuple[int, ...]


def passage_spans(items: Sequence[Segment | CodedSpan]) -> list[PassageSpan]:
    """Each code's passages (codings of the code that share text), in the items' order of codes."""
    by_code: dict[int, list] = defaultdict(list)
    for item in items:
        by_code[item.code_id].append(item)
    out = []
    for code_id, found in by_code.items():
        for group in group_passages(found):
            first = group[0]
            out.append(
                PassageSpan(
                    min(c.id for c in group), code_id, first.transcript_id, first.participant, first.timepoint,
                    first.timepoint_position, first.start, max(c.end for c in group),
                    any(c.key_quote for c in group), tuple(sorted(c.id for c in group)),
                )
            )  # fmt: skip
    return out


@dataclass
class Quote:
    """One passage as reports print it: the text from the first coding's start to the last one's end, the
    codings behind it (one per coder, or overlapping codings of one coder), and who coded it."""

    code_id: int
    codings: list[Segment]
    start: int
    end: int

    @property
    def id(self) -> int:
        return min(c.id for c in self.codings)

    @property
    def first(self) -> Segment:
        return self.codings[0]

    @property
    def transcript_id(self) -> int:
        return self.first.transcript_id

    @property
    def participant(self) -> str:
        return self.first.participant

    @property
    def timepoint(self) -> str:
        return self.first.timepoint

    @property
    def timepoint_label(self) -> str:
        return self.first.timepoint_label

    @property
    def timepoint_position(self) -> int:
        return self.first.timepoint_position

    @property
    def speaker(self) -> str:
        return self.first.speaker

    @property
    def role(self) -> str:
        return self.first.role

    @property
    def turn_index(self) -> int | None:
        return self.first.turn_index

    @property
    def last_turn_index(self) -> int | None:
        found = [c.last_turn_index for c in self.codings if c.last_turn_index is not None]
        return max(found) if found else None

    @property
    def coders(self) -> list[str]:
        return sorted({c.coder for c in self.codings})

    @property
    def codes(self) -> list[int]:
        return list(dict.fromkeys(c.code_id for c in self.codings))

    @property
    def key_quote(self) -> bool:
        return any(c.key_quote for c in self.codings)

    @property
    def needs_review(self) -> bool:
        return any(c.status == "needs_review" for c in self.codings)


def quotes_of(passages: list[PassageSpan], full: dict[int, Segment]) -> list[Quote]:
    """Quotes for passages whose codings' full segments are in ``full``."""
    out = []
    for passage in passages:
        codings = sorted((full[i] for i in passage.coding_ids if i in full), key=lambda c: (c.start, c.end, c.id))
        if codings:
            out.append(Quote(passage.code_id, codings, passage.start, passage.end))
    return out


@dataclass
class ExportData:
    """Everything a report needs, under one set of filters (see ``exporters.filters``)."""

    project_name: str
    filters: ExportFilters
    tree: CodeTree
    code_ids: list[int]
    timepoints: list[tuple[str, str]]
    segments: Sequence[Segment | CodedSpan]  # every coding in scope: CodedSpans unless all are quotes
    passages: list[PassageSpan]  # every passage in scope, per code (what "3 of 24 shown" counts)
    quotes: list[Quote]  # the passages chosen to print, with their codings' segments
    codings: list[Segment]  # the codings of the chosen passages, in retrieval order (the codings tables)
    matrix: Matrix
    texts: Texts
    coders: list[str]
    code_memos: dict[int, list[tuple[str, str]]]  # (author, text)
    coding_memos: dict[int, list[tuple[str, str]]]
    transcript_memos: dict[int, list[tuple[str, str]]]
    made_on: str
    matrix_rows: dict[int, MatrixRow] = field(init=False)
    in_scope: set[int] = field(init=False)

    @property
    def shown_code_ids(self) -> list[int]:
        """Codes in scope plus their ancestors (headings only), so the hierarchy reads in codebook order."""
        wanted = set(self.code_ids)
        for cid in self.code_ids:
            parent = self.tree.codes[cid].parent_id
            while parent is not None and parent in self.tree.codes:
                wanted.add(parent)
                parent = self.tree.codes[parent].parent_id
        return [cid for cid, _depth in self.tree.walk() if cid in wanted]

    def depth(self, code_id: int) -> int:
        depth, parent = 0, self.tree.codes[code_id].parent_id
        while parent is not None and parent in self.tree.codes:
            depth, parent = depth + 1, self.tree.codes[parent].parent_id
        return depth

    def colour(self, code_id: int) -> str:
        return self.tree.codes[code_id].colour

    def memos_of(self, quote: Quote) -> list[tuple[str, str]]:
        """The memos of every coding behind a quote, each once."""
        found: list[tuple[str, str]] = []
        for coding in quote.codings:
            for memo in self.coding_memos.get(coding.id, []):
                if memo not in found:
                    found.append(memo)
        return found

    def code_name(self, code_id: int) -> str:
        return self.texts.free(self.tree.codes[code_id].name)

    def code_path(self, code_id: int) -> str:
        return self.texts.free(self.tree.path(code_id))

    def row(self, code_id: int) -> MatrixRow | None:
        """The code's matrix row (rolled up over its descendants); None for a hidden (archived) code."""
        return self.matrix_rows.get(code_id)

    def __post_init__(self) -> None:
        self.matrix_rows = {row.code_id: row for row in self.matrix.rows}
        self.in_scope = set(self.code_ids)


def check_consensus(session: Session, filters: ExportFilters) -> None:
    if filters.consensus_only and session.scalar(select(Coder.id).where(Coder.name == CONSENSUS_CODER)) is None:
        raise WaveqdaError("no consensus codings yet: settle disagreements first (waveqda agreement ...)")


def load_export_data(
    session: Session,
    filters: ExportFilters,
    with_matrix: bool = True,
    with_quotes: bool = True,
    with_words: bool = True,
    one_per_coding: bool = False,
) -> ExportData:
    """Segments, chosen quotes, the matrix, memos and texts for one export (a handful of queries).

    ``with_matrix=False`` skips the counts (a codings table does not need them; they cost a pass over
    all coded text); ``with_words=False`` counts segments and participants but not words coded (the Word
    reports show no word counts: ``Cell.words`` stays 0); ``with_quotes=False`` chooses no quotes (the
    codebook and the matrix show counts only); ``one_per_coding`` is for the codings tables, which need
    ``codings`` only (passages are still built to choose them under ``--max-quotes``).

    Counting and choosing quotes need only each coding's code, participant, timepoint and coder, so
    ``segments`` are ``CodedSpan``s and full ``Segment``s (text, speaker, turn) are built for the chosen
    quotes alone: a themes report with ``--max-quotes 1`` shows 900 of 50,000 codings. Without
    ``--max-quotes`` every segment is a quote and ``segments`` are the full segments.
    """
    check_consensus(session, filters)
    tree = CodeTree.load(session)
    code_ids = scope_code_ids(tree, filters)
    every_segment = with_quotes and filters.max_quotes is None
    segments: Sequence[Segment | CodedSpan] = []
    if with_quotes:
        segments = scoped_segments(session, filters) if every_segment else scoped_spans(session, filters)
    anonymiser = export_anonymiser(session, filters.anonymise, filters.anonymise_coders)
    texts = Texts({}, anonymiser)
    if filters.no_interviewer:  # a coding of a question and its answer keeps the answer
        texts.layouts = load_layouts(session, {s.transcript_id for s in segments}, sentences=False)
        segments = [s for s in segments if texts.pieces(s, no_interviewer=True)]
    passages = passage_spans(segments) if with_quotes and not (one_per_coding and every_segment) else []
    quotes: list[Quote] = []
    codings: list[Segment] = []
    if every_segment:  # the segments are full segments (see above)
        codings = cast(list[Segment], segments)
        if not one_per_coding:  # a codings table needs no passages
            quotes = quotes_of(passages, {s.id: s for s in codings})
    elif with_quotes:
        chosen = choose_quotes(passages, filters.max_quotes, filters.seed)
        wanted = [i for p in chosen for i in p.coding_ids]
        full = segments_by_id(session, wanted, context="turn")
        quotes = quotes_of(chosen, full)
        order = {s.id: n for n, s in enumerate(segments)}
        codings = sorted(full.values(), key=lambda s: order.get(s.id, 0))
    if not filters.no_interviewer:
        texts.layouts = load_layouts(session, {s.transcript_id for s in codings}, sentences=False)
    matrix = (
        code_timepoint_matrix(
            session,
            filters.coder_names,
            filters.participants,
            filters.timepoints,
            filters.attributes or None,
            words=with_words,
            code_refs=filters.codes,
        )
        if with_matrix
        else Matrix([], [], {}, Cell())
    )
    wanted_keys = set(filters.timepoints or [])
    timepoints = [(tp.key, tp.label) for tp in project_timepoints(session) if not wanted_keys or tp.key in wanted_keys]
    return ExportData(
        project_name=texts.free(get_setting(session, "name", "waveqda project")),
        filters=filters,
        tree=tree,
        code_ids=code_ids,
        timepoints=[(key, texts.free(label)) for key, label in timepoints],
        segments=segments,
        passages=passages,
        quotes=quotes,
        codings=codings,
        matrix=matrix,
        texts=texts,
        coders=sorted(
            {
                texts.free(c)
                for c in (
                    coders_in_scope(session, tree, code_ids, filters)
                    if not with_quotes
                    else {s.coder for s in segments}
                )
            }
        ),  # fmt: skip
        code_memos=code_memos(session, tree, code_ids, texts),
        coding_memos=coding_memos(session, codings, texts),
        transcript_memos=transcript_memos(session, {s.transcript_id for s in segments}, texts),
        made_on=made_on(),
    )


def coders_in_scope(session: Session, tree: CodeTree, code_ids: list[int], filters: ExportFilters) -> set[str]:
    """Who coded anything in scope (one query; for exports that load no codings, such as the codebook)."""
    scope = resolve_scope(
        session, filters.timepoints, filters.participants, filters.attributes or None, filters.coder_names
    )
    stmt = (
        select(Coder.name)
        .distinct()
        .join(Coding, Coding.coder_id == Coder.id)
        .join(Transcript, Transcript.id == Coding.transcript_id)
    )
    return set(session.scalars(scope.apply(where_codes(stmt, tree, code_ids))))


def _attached(session: Session, target_type: str) -> dict[int, list[Memo]]:
    """Memos attached to objects of one type, in the order they were written (one query: memos are few)."""
    out: dict[int, list[Memo]] = defaultdict(list)
    rows = session.scalars(select(Memo).where(Memo.target_type == target_type).order_by(Memo.created_at, Memo.id))
    for memo in rows:
        if memo.target_id is not None:  # a memo on an object always names it
            out[memo.target_id].append(memo)
    return out


def _memo_text(memo: Memo, generic_title: str = "") -> str:
    """A memo's text, with its title in front unless the title only says what it is attached to."""
    body = handout(memo.text)
    title = handout(memo.title)
    return f"{title}: {body}" if title and title != generic_title and body else body or title


def code_memos(session: Session, tree: CodeTree, code_ids: list[int], texts: Texts) -> dict[int, list[tuple[str, str]]]:
    """Per code: its own memo field, then memos attached to it, as (author, text) in handout form."""
    attached = _attached(session, "code")
    out: dict[int, list[tuple[str, str]]] = {}
    for cid in code_ids:
        found = [("", handout(tree.codes[cid].memo)), *((m.author, _memo_text(m)) for m in attached.get(cid, []))]
        out[cid] = [(texts.free(author), texts.free(text)) for author, text in found if text]
    return out


def coding_memos(session: Session, segments: list[Segment], texts: Texts) -> dict[int, list[tuple[str, str]]]:
    """Per coding: its memo field (written by its coder), then memos attached to it."""
    attached = _attached(session, "coding")
    out: dict[int, list[tuple[str, str]]] = {}
    for segment in segments:
        if segment.memo or segment.id in attached:
            found = [(segment.coder, handout(segment.memo)),
                     *((m.author or segment.coder, _memo_text(m)) for m in attached.get(segment.id, []))]  # fmt: skip
            out[segment.id] = [(texts.free(author), texts.free(text)) for author, text in found if text]
    return out


def transcript_memos(session: Session, transcript_ids: Iterable[int], texts: Texts) -> dict[int, list[tuple[str, str]]]:
    """Per transcript (of those given): memos attached to it, as (author, text)."""
    wanted = set(transcript_ids)
    attached = _attached(session, "transcript")
    return {
        tid: [(texts.free(m.author), texts.free(_memo_text(m, m.title))) for m in memos if handout(m.text)]
        for tid, memos in attached.items()
        if tid in wanted
    }


def participant_attributes(session: Session, typed: bool = False) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Attribute names in their defined order, and each participant's values (one query). ``typed`` gives
    number attributes as numbers and date attributes as dates (for spreadsheets); text otherwise."""
    definitions = attribute_definitions(session)
    names = [d.name for d in definitions]
    values: dict[str, dict[str, Any]] = defaultdict(dict)
    rows = session.execute(
        select(Participant.study_id, ParticipantAttribute.attribute_id, ParticipantAttribute.value).join(
            ParticipantAttribute, ParticipantAttribute.participant_id == Participant.id
        )
    )
    by_id = {d.id: d for d in definitions}
    for study_id, attribute_id, value in rows:
        definition = by_id[attribute_id]
        values[study_id][definition.name] = typed_value(definition.type, value or "") if typed else value or ""
    return names, values


def typed_value(kind: str, value: str) -> Any:
    """A stored attribute value as its type: ``"34"`` -> 34, ``"2026-03-01"`` -> a date; text otherwise."""
    from datetime import date

    text = value.strip()
    if not text:
        return ""
    try:
        if kind == "number":
            number = float(text.replace(",", ""))
            return int(number) if number.is_integer() and "." not in text else number
        if kind == "date":
            return date.fromisoformat(text)
    except ValueError:
        return value
    return value


def interviewed(session: Session, filters: ExportFilters) -> dict[str, set[str]]:
    """Per participant in scope, the timepoint keys they have a transcript for."""
    scope = resolve_scope(
        session, filters.timepoints, filters.participants, filters.attributes or None, filters.coder_names
    )
    rows = session.execute(
        scope.apply(
            select(Participant.study_id, Timepoint.key)
            .join(Transcript, Transcript.participant_id == Participant.id)
            .join(Timepoint, Timepoint.id == Transcript.timepoint_id),
            with_coder=False,
        )
    )
    out: dict[str, set[str]] = defaultdict(set)
    for study_id, key in rows:
        out[study_id].add(key)
    return dict(out)


def transcript_sources(session: Session, transcript_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Per transcript: (title, source file name)."""
    ids = sorted(set(transcript_ids))
    out: dict[int, tuple[str, str]] = {}
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Transcript.id, Transcript.title, Transcript.source_name).where(Transcript.id.in_(ids[i : i + CHUNK]))
        )
        out.update({tid: (title, source) for tid, title, source in rows})
    return out
