"""What exporters read, loaded once per export from the domain layer, and text as exports write it.

``models.queries`` answers the questions (segments, the code x timepoint matrix, transcript layouts); this
module gathers those answers for one export under one set of filters, adds the few lookups the queries do
not cover (memos attached to codes and codings, participant attributes, who was interviewed when), and
owns the rule for text: a quote is the transcript sliced at the coding's offsets, and with ``--anonymise``
it is the anonymised transcript sliced at the *mapped* offsets, so a name cut by a coding boundary is
replaced whole rather than leaking half of itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

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
    load_layouts,
    resolve_scope,
    segments_by_id,
)
from models.schema import Coder, Memo, Participant, ParticipantAttribute, Timepoint, Transcript
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

    def pieces(self, segment: Segment | CodedSpan, no_interviewer: bool) -> list[str]:
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

    def _turns(self, segment: Segment | CodedSpan) -> list[TurnInfo]:
        layout = self.layouts[segment.transcript_id]
        found = layout.turn_range(segment.start, segment.end)
        return layout.turns[found[0] : found[1] + 1] if found else []


@dataclass
class ExportData:
    """Everything a report needs, under one set of filters (see ``exporters.filters``)."""

    project_name: str
    filters: ExportFilters
    tree: CodeTree
    code_ids: list[int]
    timepoints: list[tuple[str, str]]
    segments: list[Segment] | list[CodedSpan]  # every coding in scope: CodedSpans unless all are quotes
    quotes: list[Segment]
    matrix: Matrix
    texts: Texts
    coders: list[str]
    code_memos: dict[int, list[str]]
    coding_memos: dict[int, list[str]]
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
) -> ExportData:
    """Segments, chosen quotes, the matrix, memos and texts for one export (a handful of queries).

    ``with_matrix=False`` skips the counts (a codings table does not need them; they cost a pass over
    all coded text); ``with_words=False`` counts segments and participants but not words coded (the Word
    reports show no word counts: ``Cell.words`` stays 0); ``with_quotes=False`` chooses no quotes (the
    codebook and the matrix show counts only).

    Counting and choosing quotes need only each coding's code, participant, timepoint and coder, so
    ``segments`` are ``CodedSpan``s and full ``Segment``s (text, speaker, turn) are built for the chosen
    quotes alone: a themes report with ``--max-quotes 1`` shows 900 of 50,000 codings. Without
    ``--max-quotes`` every segment is a quote and ``segments`` are the full segments.
    """
    check_consensus(session, filters)
    tree = CodeTree.load(session)
    code_ids = scope_code_ids(tree, filters)
    every_segment = with_quotes and filters.max_quotes is None
    segments: list[Segment] | list[CodedSpan] = (
        scoped_segments(session, filters) if every_segment else scoped_spans(session, filters)
    )
    anonymiser = export_anonymiser(session, filters.anonymise, filters.anonymise_coders)
    texts = Texts({}, anonymiser)
    if filters.no_interviewer:  # a coding of a question and its answer keeps the answer
        texts.layouts = load_layouts(session, {s.transcript_id for s in segments}, sentences=False)
        segments = [s for s in segments if texts.pieces(s, no_interviewer=True)]  # type: ignore[assignment]
    quotes: list[Segment]
    if every_segment:
        quotes = segments  # type: ignore[assignment]
    elif with_quotes:
        chosen = choose_quotes(segments, filters.max_quotes, filters.seed)  # type: ignore[type-var]
        full = segments_by_id(session, [s.id for s in chosen], context="turn")
        quotes = [full[s.id] for s in chosen]
    else:
        quotes = []
    if not filters.no_interviewer:
        texts.layouts = load_layouts(session, {s.transcript_id for s in quotes}, sentences=False)
    matrix = (
        code_timepoint_matrix(
            session,
            filters.coder_names,
            filters.participants,
            filters.timepoints,
            filters.attributes or None,
            words=with_words,
        )
        if with_matrix
        else Matrix([], [], {}, Cell())
    )
    wanted = set(filters.timepoints or [])
    timepoints = [(tp.key, tp.label) for tp in project_timepoints(session) if not wanted or tp.key in wanted]
    return ExportData(
        project_name=texts.free(get_setting(session, "name", "waveqda project")),
        filters=filters,
        tree=tree,
        code_ids=code_ids,
        timepoints=[(key, texts.free(label)) for key, label in timepoints],
        segments=segments,
        quotes=quotes,
        matrix=matrix,
        texts=texts,
        coders=sorted({texts.free(s.coder) for s in segments}),
        code_memos=code_memos(session, tree, code_ids, texts),
        coding_memos=coding_memos(session, quotes, texts),
        made_on=date.today().isoformat(),
    )


def _attached(session: Session, target_type: str) -> dict[int, list[Memo]]:
    """Memos attached to objects of one type, in the order they were written (one query: memos are few)."""
    out: dict[int, list[Memo]] = defaultdict(list)
    rows = session.scalars(select(Memo).where(Memo.target_type == target_type).order_by(Memo.created_at, Memo.id))
    for memo in rows:
        out[memo.target_id].append(memo)
    return out


def _memo_text(memo: Memo) -> str:
    body = memo.text.strip()
    return f"{memo.title.strip()}: {body}" if memo.title.strip() else body


def code_memos(session: Session, tree: CodeTree, code_ids: list[int], texts: Texts) -> dict[int, list[str]]:
    """Per code: its own memo field, then memos attached to it."""
    attached = _attached(session, "code")
    out: dict[int, list[str]] = {}
    for cid in code_ids:
        found = [tree.codes[cid].memo.strip(), *(_memo_text(m) for m in attached.get(cid, []))]
        out[cid] = [texts.free(m) for m in found if m]
    return out


def coding_memos(session: Session, segments: list[Segment], texts: Texts) -> dict[int, list[str]]:
    """Per coding: its memo field, then memos attached to it."""
    attached = _attached(session, "coding")
    out: dict[int, list[str]] = {}
    for segment in segments:
        if segment.memo or segment.id in attached:
            found = [segment.memo.strip(), *(_memo_text(m) for m in attached.get(segment.id, []))]
            out[segment.id] = [texts.free(m) for m in found if m]
    return out


def participant_attributes(session: Session) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Attribute names in their defined order, and each participant's values (one query)."""
    names = [d.name for d in attribute_definitions(session)]
    values: dict[str, dict[str, str]] = defaultdict(dict)
    rows = session.execute(
        select(Participant.study_id, ParticipantAttribute.attribute_id, ParticipantAttribute.value).join(
            ParticipantAttribute, ParticipantAttribute.participant_id == Participant.id
        )
    )
    by_id = {d.id: d.name for d in attribute_definitions(session)}
    for study_id, attribute_id, value in rows:
        values[study_id][by_id[attribute_id]] = value or ""
    return names, values


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
