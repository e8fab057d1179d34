"""Retrieval: codings as ``Segment`` (text, speaker, turn and context), or as the lighter ``CodedSpan`` when
only counts and the choice of quotes need them, in codebook, timepoint, participant and offset order.

A segment's speaker, role and turn are those of the turn containing its ``start``; a start that falls in
the ``Name:`` label between two turns belongs to the turn that follows."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.errors import WaveqdaError
from models.queries.layouts import TurnColumns, sentence_bounds, transcript_texts, turn_columns
from models.queries.rows import ID_CHUNK, collector_paused, driver_rows, fetch_rows
from models.queries.scope import (
    Attribute,
    Context,
    Scope,
    check_roles,
    codebook_order,
    resolve_scope,
    selected_codes,
    where_codes,
)
from models.schema import Coder, Coding, Participant, Timepoint, Transcript


@dataclass
class Segment:
    """One coding with everything a reader needs: who said it, when, and the text around it."""

    id: int
    uuid: str
    transcript_id: int
    participant: str
    timepoint: str
    timepoint_label: str
    timepoint_position: int
    code_id: int
    code: str
    coder: str
    start: int
    end: int
    text: str
    memo: str
    key_quote: bool
    status: str
    speaker: str
    role: str
    turn_index: int | None
    last_turn_index: int | None
    context_start: int
    context_end: int
    context: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_SEGMENT_COLUMNS = (
    Coding.id,
    Coding.uuid,
    Coding.transcript_id,
    Coding.code_id,
    Coding.coder_id,
    Coding.start,
    Coding.end,
    Coding.memo,
    Coding.key_quote,
    Coding.status,
)
_CODING_ORDER = (Coding.code_id, Coding.transcript_id, Coding.start, Coding.end, Coding.id)


def _coding_rows(session: Session, tree: CodeTree, code_ids: list[int], scope: Scope, key_only: bool) -> Sequence[Any]:
    """The codings, ordered by code, transcript and offsets (SQLite's sort is far cheaper than Python's)."""
    stmt = select(*_SEGMENT_COLUMNS).join(Transcript, Transcript.id == Coding.transcript_id)
    stmt = where_codes(stmt, tree, code_ids)
    if key_only:
        stmt = stmt.where(Coding.key_quote.is_(True))
    return driver_rows(session, scope.apply(stmt).order_by(*_CODING_ORDER))


def _transcript_labels(session: Session, ids: list[int]) -> dict[int, tuple[str, str, str, int]]:
    """``{transcript id: (participant study id, timepoint key, timepoint label, timepoint position)}``."""
    stmt = (
        select(Transcript.id, Participant.study_id, Timepoint.key, Timepoint.label, Timepoint.position)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .where(Transcript.id.in_(ids))
    )
    return {tid: (study_id, key, label, position) for tid, study_id, key, label, position in fetch_rows(session, stmt)}


def _segments_of(
    rows: Sequence[Any],
    path: str,
    text: str,
    labels: tuple[str, str, str, int],
    coders: dict[int, str],
    turns: TurnColumns | None,
    sentence_bounds: tuple[Sequence[int], Sequence[int]] | None,
    roles: set[str] | None,
) -> list[Segment]:
    """Segments of one code in one transcript: ``TranscriptLayout.turn_range`` and ``context`` worked over
    parallel lists, a handful of bisects per coding and no intermediate objects."""
    study_id, key, label, position = labels
    t_starts = turns.start if turns else []
    t_ends = turns.end if turns else []
    last_turn = len(t_starts) - 1
    s_starts, s_ends = sentence_bounds if sentence_bounds else ([], [])
    out = []
    turn_index: int | None
    last_turn_index: int | None
    for cid, uuid, tid, code_id, coder_id, start, end, memo, key_quote, status in rows:
        if turns is not None and last_turn >= 0:
            first = bisect_right(t_ends, start)
            if first > last_turn:
                first = last_turn
            last = bisect_left(t_starts, end) - 1
            if last < first:
                last = first
            role = turns.role[first]
            if roles is not None and role not in roles:
                continue
            speaker, turn_index, last_turn_index = turns.speaker[first], turns.index[first], turns.index[last]
        else:
            if roles is not None:  # no turn, no role
                continue
            speaker = role = ""
            turn_index = last_turn_index = None
        context_start, context_end = start, end
        in_sentences = False
        if sentence_bounds is not None:
            first_sentence = bisect_right(s_ends, start)
            last_sentence = bisect_left(s_starts, end) - 1
            if first_sentence <= last_sentence:
                in_sentences = True
                if s_starts[first_sentence] < start:
                    context_start = s_starts[first_sentence]
                if s_ends[last_sentence] > end:
                    context_end = s_ends[last_sentence]
        if not in_sentences and turn_index is not None:
            if t_starts[first] < start:
                context_start = t_starts[first]
            if t_ends[last] > end:
                context_end = t_ends[last]
        quote = text[start:end]
        out.append(
            Segment(
                cid,
                uuid,
                tid,
                study_id,
                key,
                label,
                position,
                code_id,
                path,
                coders[coder_id],
                start,
                end,
                quote,
                memo,
                bool(key_quote),  # 0/1 from the driver, as SQLAlchemy's Boolean would convert it
                status,
                speaker,
                role,
                turn_index,
                last_turn_index,
                context_start,
                context_end,
                quote if context_start == start and context_end == end else text[context_start:context_end],
            )
        )
    return out


def retrieve(
    session: Session,
    code_ref: str | int | None = None,
    with_descendants: bool = True,
    timepoints: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    coders: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
    transcript_ids: Sequence[int] | None = None,
    key_only: bool = False,
    context: Context = "sentence",
    include_archived: bool = False,
) -> list[Segment]:
    """Coded segments with their context, in codebook order, then timepoint, participant and offset.

    Without ``code_ref`` every visible code is covered. ``roles`` keeps segments whose starting turn has one
    of the roles. Archived codes (and codes under them) are left out unless named, or ``include_archived``.

    The codings arrive sorted by code, transcript and offsets; each (code, transcript) run is turned into
    segments against that transcript's turns and sentences, and the runs are put in codebook, timepoint and
    participant order, which gives the documented order without sorting the segments themselves.
    """
    if context not in ("sentence", "turn"):
        raise WaveqdaError(f"unknown context {context!r}: use sentence or turn")
    wanted_roles = check_roles(roles)
    tree = CodeTree.load(session)
    code_ids = selected_codes(tree, code_ref, with_descendants, include_archived)
    scope = resolve_scope(session, timepoints, participants, attribute, coders, transcript_ids)
    with collector_paused():  # the rows and segments are most of the allocations
        rows = _coding_rows(session, tree, code_ids, scope, key_only)
        return _segments_in_order(session, tree, rows, context, wanted_roles)


def _segments_in_order(
    session: Session, tree: CodeTree, rows: Sequence[Any], context: Context, roles: set[str] | None
) -> list[Segment]:
    """Segments of coding rows sorted by code, transcript and offsets, in ``retrieve``'s order."""
    if not rows:
        return []
    ids = sorted({row[2] for row in rows})
    labels = _transcript_labels(session, ids)
    coder_names = dict(fetch_rows(session, select(Coder.id, Coder.name)))
    texts = transcript_texts(session, ids)
    turns = turn_columns(session, ids)
    sentences = sentence_bounds(session, ids) if context == "sentence" else None
    paths: dict[int, str] = {}
    runs = []
    with collector_paused():
        for (code_id, tid), run in groupby(rows, key=itemgetter(3, 2)):
            if code_id not in paths:
                paths[code_id] = tree.path(code_id)
            found = _segments_of(
                list(run),
                paths[code_id],
                texts[tid],
                labels[tid],
                coder_names,
                turns.get(tid),
                sentences.get(tid, ([], [])) if sentences is not None else None,
                roles,
            )
            runs.append((code_id, tid, found))
        return _in_retrieval_order(tree, labels, runs)


def _in_retrieval_order(
    tree: CodeTree, labels: dict[int, tuple[str, str, str, int]], runs: list[tuple[int, int, list[Any]]]
) -> list[Any]:
    """Runs of one code in one transcript (each already in offset order) put in codebook order, then
    timepoint position and participant: ``retrieve``'s order without sorting every item. Items are
    ``Segment`` or ``CodedSpan``."""
    order = codebook_order(tree)
    runs.sort(key=lambda run: (order[run[0]], labels[run[1]][3], labels[run[1]][0]))
    found = [item for _code, _tid, items in runs for item in items]
    if len({(position, study_id) for study_id, _key, _label, position in labels.values()}) < len(labels):
        # two transcripts with the same participant and timepoint position: their runs interleave
        found.sort(key=lambda s: (order[s.code_id], s.timepoint_position, s.participant, s.start, s.end, s.id))
    return found


def segments_by_id(session: Session, coding_ids: Iterable[int], context: Context = "sentence") -> dict[int, Segment]:
    """Full segments of some codings (any code, archived or not), by coding id: for instance the quotes
    chosen from ``coded_spans``, without building a ``Segment`` for every coding in scope."""
    if context not in ("sentence", "turn"):
        raise WaveqdaError(f"unknown context {context!r}: use sentence or turn")
    wanted = sorted(set(coding_ids))
    rows: list[Any] = []
    for i in range(0, len(wanted), ID_CHUNK):
        stmt = select(*_SEGMENT_COLUMNS).join(Transcript, Transcript.id == Coding.transcript_id)
        rows += driver_rows(session, stmt.where(Coding.id.in_(wanted[i : i + ID_CHUNK])))
    rows.sort(key=itemgetter(3, 2, 5, 6, 0))  # code, transcript, start, end, id: _CODING_ORDER
    return {segment.id: segment for segment in _segments_in_order(session, CodeTree.load(session), rows, context, None)}


class CodedSpan(NamedTuple):
    """A coding without its text and context: what counts and the choice of quotes need."""

    id: int
    code_id: int
    transcript_id: int
    participant: str
    timepoint: str
    timepoint_position: int
    coder: str
    start: int
    end: int
    key_quote: bool


def coded_spans(
    session: Session,
    code_ref: str | int | None = None,
    with_descendants: bool = True,
    timepoints: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    coders: Sequence[str] | None = None,
    transcript_ids: Sequence[int] | None = None,
    key_only: bool = False,
    include_archived: bool = False,
) -> list[CodedSpan]:
    """The codings ``retrieve`` would return, in the same order, without text, turns or context: several
    times cheaper for the 50,000 codings of a whole project when only a few will be shown (fetch those with
    ``segments_by_id``). Filters as for ``retrieve`` (no ``roles``: they need the turns)."""
    tree = CodeTree.load(session)
    code_ids = selected_codes(tree, code_ref, with_descendants, include_archived)
    scope = resolve_scope(session, timepoints, participants, attribute, coders, transcript_ids)
    stmt = select(
        Coding.id, Coding.transcript_id, Coding.code_id, Coding.coder_id, Coding.start, Coding.end, Coding.key_quote
    ).join(Transcript, Transcript.id == Coding.transcript_id)
    stmt = where_codes(stmt, tree, code_ids)
    if key_only:
        stmt = stmt.where(Coding.key_quote.is_(True))
    with collector_paused():
        rows = driver_rows(session, scope.apply(stmt).order_by(*_CODING_ORDER))
        if not rows:
            return []
        labels = _transcript_labels(session, sorted({row[1] for row in rows}))
        coder_names = dict(fetch_rows(session, select(Coder.id, Coder.name)))
        runs = []
        for (code_id, tid), run in groupby(rows, key=itemgetter(2, 1)):
            study_id, key, _label, position = labels[tid]
            spans = [
                CodedSpan(cid, code_id, tid, study_id, key, position, coder_names[coder_id], start, end, bool(flag))
                for cid, _tid, _code, coder_id, start, end, flag in run
            ]
            runs.append((code_id, tid, spans))
        return _in_retrieval_order(tree, labels, runs)
