"""Questions asked of the codings: retrieval, code x timepoint matrix, trajectories, co-occurrence, progress.

The TUI, the CLI and the exporters ask the same questions and must get the same answers, so they live here
once. Each function reads through the caller's ``Session`` with a handful of SQL queries (never one query
per code or per segment) and does the interval work in Python over sorted offsets (bisect, merges, sweep
lines). Results are plain dataclasses; ``as_dict()`` gives their JSON form.

A segment's speaker, role and turn are those of the turn containing its ``start``; a start that falls in
the ``Name:`` label between two turns belongs to the turn that follows.
"""

from __future__ import annotations

import heapq
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import nlp
from models.codes import CodeTree
from models.errors import NotFoundError, WaveqdaError
from models.participants import find_coder, find_participant
from models.schema import (
    AttributeDefinition,
    Coder,
    Coding,
    Participant,
    ParticipantAttribute,
    Sentence,
    Timepoint,
    Transcript,
    Turn,
)
from models.store import timepoints as project_timepoints
from models.transcripts import find_timepoint

ROLES = ("interviewer", "participant", "other")
Attribute = tuple[str, str]
Context = Literal["sentence", "turn"]


# --------------------------------------------------------------------------------------------- filters


@dataclass
class Scope:
    """Filters resolved to ids once, so a misspelt timepoint, participant or coder is an error, not silence."""

    timepoint_ids: list[int] | None = None
    participant_ids: list[int] | None = None
    coder_ids: list[int] | None = None
    transcript_ids: list[int] | None = None

    def apply(self, stmt: Select, with_coder: bool = True) -> Select:
        """Add the filters to a statement that joins ``Transcript`` (and ``Coding`` when ``with_coder``)."""
        if self.timepoint_ids is not None:
            stmt = stmt.where(Transcript.timepoint_id.in_(self.timepoint_ids))
        if self.participant_ids is not None:
            stmt = stmt.where(Transcript.participant_id.in_(self.participant_ids))
        if self.transcript_ids is not None:
            stmt = stmt.where(Transcript.id.in_(self.transcript_ids))
        if with_coder and self.coder_ids is not None:
            stmt = stmt.where(Coding.coder_id.in_(self.coder_ids))
        return stmt


def resolve_scope(
    session: Session,
    timepoints: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    coders: Sequence[str] | None = None,
    transcript_ids: Sequence[int] | None = None,
) -> Scope:
    """Turn user-facing names into ids; several attribute conditions must all hold."""
    scope = Scope(transcript_ids=list(transcript_ids) if transcript_ids is not None else None)
    if timepoints:
        scope.timepoint_ids = [find_timepoint(session, key).id for key in timepoints]
    if participants:
        scope.participant_ids = [find_participant(session, study_id).id for study_id in participants]
    if coders:
        scope.coder_ids = [find_coder(session, name).id for name in coders]
    for name, value in _attribute_conditions(attribute):
        matching = _participants_with(session, name, value)
        previous = scope.participant_ids if scope.participant_ids is not None else sorted(matching)
        scope.participant_ids = [p for p in previous if p in matching]
    return scope


def _attribute_conditions(attribute: Attribute | list[Attribute] | None) -> list[Attribute]:
    if attribute is None:
        return []
    if isinstance(attribute, tuple):
        return [attribute]
    return list(attribute)


def _participants_with(session: Session, name: str, value: str) -> set[int]:
    """Participants whose attribute ``name`` equals ``value`` (case and surrounding spaces ignored)."""
    definition = session.scalar(select(AttributeDefinition).where(AttributeDefinition.name == name))
    if definition is None:
        raise NotFoundError(f"no participant attribute {name!r}")
    wanted = value.strip().casefold()
    rows = session.execute(
        select(ParticipantAttribute.participant_id, ParticipantAttribute.value).where(
            ParticipantAttribute.attribute_id == definition.id
        )
    )
    return {pid for pid, stored in rows if (stored or "").strip().casefold() == wanted}


def check_roles(roles: Sequence[str] | None) -> set[str] | None:
    if not roles:
        return None
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise WaveqdaError(f"unknown speaker role {unknown[0]!r}; roles are: {', '.join(ROLES)}")
    return set(roles)


def hidden_codes(tree: CodeTree, under: int | None = None) -> set[int]:
    """Archived codes and everything under them: out of analyses unless asked for. With ``under``, only
    within that code's subtree (a code named explicitly is shown with its live sub-codes even if archived)."""
    ids = tree.descendants(under) if under is not None else [cid for cid, _depth in tree.walk()]
    hidden: set[int] = set()
    for code_id in ids:  # parents come before their children
        code = tree.codes[code_id]
        if code.archived or code.parent_id in hidden:
            hidden.add(code_id)
    return hidden


def selected_codes(
    tree: CodeTree, code_ref: str | int | None, with_descendants: bool, include_archived: bool
) -> list[int]:
    """The codes a query covers: one code (and its visible descendants) or every visible code."""
    if code_ref is None:
        hidden = set() if include_archived else hidden_codes(tree)
        return [cid for cid, _ in tree.walk() if cid not in hidden]
    code = tree.find(code_ref)
    if not with_descendants:
        return [code.id]
    hidden = set() if include_archived else hidden_codes(tree, under=code.id)
    return [code.id, *(cid for cid in tree.descendants(code.id) if cid not in hidden)]


def where_codes(stmt: Select, tree: CodeTree, code_ids: Iterable[int]) -> Select:
    """Limit a codings statement to some codes: ``IN`` for a few (index lookups), ``NOT IN`` the others when
    most are wanted, because a scan of the codings is then several times faster than thousands of lookups."""
    wanted = set(code_ids)
    if len(wanted) * 2 < len(tree.codes):
        return stmt.where(Coding.code_id.in_(sorted(wanted)))
    others = sorted(cid for cid in tree.codes if cid not in wanted)
    return stmt.where(Coding.code_id.not_in(others)) if others else stmt


def codebook_order(tree: CodeTree) -> dict[int, int]:
    return {cid: i for i, (cid, _depth) in enumerate(tree.walk())}


# --------------------------------------------------------------------------------------------- layouts


@dataclass
class TurnInfo:
    index: int
    speaker: str
    role: str
    start: int
    end: int


@dataclass
class TranscriptLayout:
    """A transcript's turns and sentences as sorted offsets, to bisect spans into them."""

    text: str
    turns: list[TurnInfo]
    sentence_starts: list[int] = field(default_factory=list)
    sentence_ends: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._turn_starts = [t.start for t in self.turns]
        self._turn_ends = [t.end for t in self.turns]

    def turn_range(self, start: int, end: int) -> tuple[int, int] | None:
        """Positions (first, last) of the turns a span touches; a span inside a label joins the next turn."""
        if not self.turns:
            return None
        first = min(bisect_right(self._turn_ends, start), len(self.turns) - 1)
        last = bisect_left(self._turn_starts, end) - 1
        return first, max(first, last)

    def context(self, start: int, end: int, unit: Context) -> tuple[int, int]:
        """The whole sentence(s) or turn(s) a span sits in; the span itself when there are none."""
        if unit == "sentence":
            first = bisect_right(self.sentence_ends, start)
            last = bisect_left(self.sentence_starts, end) - 1
            if first <= last:
                return min(start, self.sentence_starts[first]), max(end, self.sentence_ends[last])
        found = self.turn_range(start, end)
        if found is None:
            return start, end
        first, last = found
        return min(start, self.turns[first].start), max(end, self.turns[last].end)


def fetch_rows(session: Session, stmt: Select) -> Sequence[Any]:
    """Plain rows through Core: several times cheaper than ORM result processing for bulk offsets."""
    return session.connection().execute(stmt).all()


def load_layouts(
    session: Session, transcript_ids: Iterable[int], sentences: bool = True, text: bool = True
) -> dict[int, TranscriptLayout]:
    """Layouts of several transcripts in three queries (texts, turns, sentences)."""
    ids = sorted(set(transcript_ids))
    if not ids:
        return {}
    texts: dict[int, str] = dict.fromkeys(ids, "")
    if text:
        texts.update(fetch_rows(session, select(Transcript.id, Transcript.text).where(Transcript.id.in_(ids))))
    turns: dict[int, list[TurnInfo]] = defaultdict(list)
    turn_stmt = select(Turn.transcript_id, Turn.index, Turn.speaker, Turn.role, Turn.start, Turn.end)
    for tid, index, speaker, role, start, end in fetch_rows(session, turn_stmt.where(Turn.transcript_id.in_(ids))):
        turns[tid].append(TurnInfo(index, speaker, role, start, end))
    bounds = _sentence_bounds(session, ids) if sentences else {}
    layouts = {}
    for tid in ids:
        turns[tid].sort(key=lambda t: (t.start, t.index))
        layouts[tid] = TranscriptLayout(texts[tid], turns[tid], *bounds.get(tid, ([], [])))
    return layouts


def _sentence_bounds(session: Session, ids: list[int]) -> dict[int, tuple[list[int], list[int]]]:
    """Sentence starts and ends per transcript. A 1M-word corpus has ~100k sentences: fetched as one
    comma-joined string per transcript and parsed in C, which is several times faster than row by row."""
    stmt = (
        select(Sentence.transcript_id, func.group_concat(Sentence.start), func.group_concat(Sentence.end))
        .where(Sentence.transcript_id.in_(ids))
        .group_by(Sentence.transcript_id)
    )
    bounds = {}
    for tid, starts_text, ends_text in fetch_rows(session, stmt):
        starts, ends = list(map(int, starts_text.split(","))), list(map(int, ends_text.split(",")))
        if starts != sorted(starts):  # SQLite walks the (transcript_id, start) index, but does not promise it
            pairs = sorted(zip(starts, ends, strict=True))
            starts, ends = [s for s, _ in pairs], [e for _, e in pairs]
        bounds[tid] = (starts, ends)
    return bounds


# --------------------------------------------------------------------------------------------- spans


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of spans as sorted, disjoint spans (touching spans join)."""
    if len(spans) < 2:
        return spans
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


_WORD_STARTS: OrderedDict[str, array[int]] = OrderedDict()
_WORD_STARTS_KEPT = 512
_WORD_STARTS_LOCK = threading.Lock()  # the TUI runs queries in worker threads


def word_starts(session: Session, transcript_ids: Iterable[int]) -> dict[int, array[int]]:
    """Where each word of each transcript starts (words as ``models.nlp`` counts them).

    Scanning a 1M-word corpus takes a few hundred milliseconds, and a transcript's text never changes after
    import, so the offsets are kept per process, keyed by the text's SHA-256 (the same text always gives the
    same offsets, whichever project it is in). Only texts not seen before are loaded.
    """
    ids = sorted(set(transcript_ids))
    shas = dict(fetch_rows(session, select(Transcript.id, Transcript.sha256).where(Transcript.id.in_(ids))))
    with _WORD_STARTS_LOCK:
        found = {sha: _WORD_STARTS[sha] for sha in shas.values() if sha in _WORD_STARTS}
    missing = [tid for tid, sha in shas.items() if sha not in found]
    if missing:
        stmt = select(Transcript.sha256, Transcript.text).where(Transcript.id.in_(missing))
        for sha, text in fetch_rows(session, stmt):
            # nlp's own word pattern, so counts agree with Transcript.word_count
            found[sha] = array("l", (m.start() for m in nlp.WORD_RE.finditer(text)))
    with _WORD_STARTS_LOCK:
        for sha, starts in found.items():
            _WORD_STARTS[sha] = starts
            _WORD_STARTS.move_to_end(sha)
        while len(_WORD_STARTS) > _WORD_STARTS_KEPT:
            _WORD_STARTS.popitem(last=False)
    return {tid: found[sha] for tid, sha in shas.items()}


# --------------------------------------------------------------------------------------------- retrieval


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


def _coding_rows(session: Session, tree: CodeTree, code_ids: list[int], scope: Scope, key_only: bool) -> Sequence[Any]:
    stmt = (
        select(
            Coding.id,
            Coding.uuid,
            Coding.transcript_id,
            Participant.study_id,
            Timepoint.key,
            Timepoint.label,
            Timepoint.position,
            Coding.code_id,
            Coder.name,
            Coding.start,
            Coding.end,
            Coding.memo,
            Coding.key_quote,
            Coding.status,
        )
        .join(Transcript, Transcript.id == Coding.transcript_id)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .join(Coder, Coder.id == Coding.coder_id)
    )
    stmt = where_codes(stmt, tree, code_ids)
    if key_only:
        stmt = stmt.where(Coding.key_quote.is_(True))
    return fetch_rows(session, scope.apply(stmt))


def _segment(row: Any, path: str, layout: TranscriptLayout, context: Context) -> Segment:
    cid, uuid, tid, study_id, key, label, position, code_id, coder, start, end, memo, key_quote, status = row
    found = layout.turn_range(start, end)
    turn = layout.turns[found[0]] if found else None
    context_start, context_end = layout.context(start, end, context)
    return Segment(
        id=cid,
        uuid=uuid,
        transcript_id=tid,
        participant=study_id,
        timepoint=key,
        timepoint_label=label,
        timepoint_position=position,
        code_id=code_id,
        code=path,
        coder=coder,
        start=start,
        end=end,
        text=layout.text[start:end],
        memo=memo,
        key_quote=key_quote,
        status=status,
        speaker=turn.speaker if turn else "",
        role=turn.role if turn else "",
        turn_index=turn.index if turn else None,
        last_turn_index=layout.turns[found[1]].index if found else None,
        context_start=context_start,
        context_end=context_end,
        context=layout.text[context_start:context_end],
    )


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
    """
    if context not in ("sentence", "turn"):
        raise WaveqdaError(f"unknown context {context!r}: use sentence or turn")
    wanted_roles = check_roles(roles)
    tree = CodeTree.load(session)
    code_ids = selected_codes(tree, code_ref, with_descendants, include_archived)
    scope = resolve_scope(session, timepoints, participants, attribute, coders, transcript_ids)
    rows = _coding_rows(session, tree, code_ids, scope, key_only)
    layouts = load_layouts(session, (r.transcript_id for r in rows), sentences=context == "sentence")
    paths = {cid: tree.path(cid) for cid in code_ids}
    segments = [_segment(r, paths[r.code_id], layouts[r.transcript_id], context) for r in rows]
    if wanted_roles is not None:
        segments = [s for s in segments if s.role in wanted_roles]
    order = codebook_order(tree)
    segments.sort(key=lambda s: (order[s.code_id], s.timepoint_position, s.participant, s.start, s.end, s.id))
    return segments


# --------------------------------------------------------------------------------------------- matrix


@dataclass
class Cell:
    segments: int = 0
    participants: int = 0
    words: int = 0


@dataclass
class MatrixRow:
    code_id: int
    code: str
    name: str
    depth: int
    cells: dict[str, Cell]
    total: Cell


@dataclass
class Matrix:
    """Rows in codebook order, each rolled up over its descendants; ``cells`` keyed by timepoint key."""

    timepoints: list[tuple[str, str]]
    rows: list[MatrixRow]
    totals: dict[str, Cell]
    total: Cell

    def as_dict(self) -> dict[str, Any]:
        return {
            "timepoints": [{"key": key, "label": label} for key, label in self.timepoints],
            "rows": [asdict(row) for row in self.rows],
            "totals": {key: asdict(cell) for key, cell in self.totals.items()},
            "total": asdict(self.total),
        }


@dataclass
class _Coverage:
    """A code's (or a subtree's) codings per transcript: how many, and the words they cover as a bit mask
    (bit i = the transcript's i-th word). A union of codings is then an OR of masks and its word count a
    popcount, so overlaps are never counted twice and rolling up a tree is cheap."""

    counts: dict[int, int] = field(default_factory=dict)
    masks: dict[int, int] = field(default_factory=dict)

    def add(self, other: _Coverage) -> None:
        for tid, n in other.counts.items():
            self.counts[tid] = self.counts.get(tid, 0) + n
        for tid, mask in other.masks.items():
            self.masks[tid] = self.masks.get(tid, 0) | mask


def word_mask(starts: Sequence[int], start: int, end: int) -> int:
    """The words that start inside ``[start, end)``, as bits of the transcript's word sequence."""
    first, last = bisect_left(starts, start), bisect_left(starts, end)
    return ((1 << (last - first)) - 1) << first


def code_timepoint_matrix(
    session: Session,
    coders: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    timepoints: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    include_archived: bool = False,
) -> Matrix:
    """Per code and timepoint: segments, distinct participants and words coded, rolled up the tree.

    A row counts its own codings and all its descendants'; words are those of the union of their spans in
    each transcript, so overlapping codings (or a code and its child on the same words) count once.
    One query for the codings and three for transcripts and timepoints; the rest is bit masks.
    """
    tree = CodeTree.load(session)
    hidden = set() if include_archived else hidden_codes(tree)
    scope = resolve_scope(session, timepoints, participants, attribute, coders)
    stmt = select(Coding.code_id, Coding.transcript_id, Coding.start, Coding.end).join(
        Transcript, Transcript.id == Coding.transcript_id
    )
    rows = fetch_rows(session, scope.apply(where_codes(stmt, tree, (c for c in tree.codes if c not in hidden))))
    starts = word_starts(session, {row[1] for row in rows})
    own: dict[int, _Coverage] = defaultdict(_Coverage)
    for code_id, tid, start, end in rows:
        coverage = own[code_id]
        coverage.counts[tid] = coverage.counts.get(tid, 0) + 1
        coverage.masks[tid] = coverage.masks.get(tid, 0) | word_mask(starts[tid], start, end)
    rolled = _roll_up(tree, hidden, own)
    everything = _Coverage()
    for root in tree.children.get(None, []):
        if root not in hidden:
            everything.add(rolled[root])
    facts = _transcript_facts(session, starts)
    keys = [(tp.key, tp.label) for tp in project_timepoints(session) if timepoints is None or tp.key in timepoints]
    matrix_rows = [
        MatrixRow(cid, tree.path(cid), tree.codes[cid].name, depth, *_cells(rolled[cid], facts, keys))
        for cid, depth in tree.walk()
        if cid not in hidden
    ]
    return Matrix(keys, matrix_rows, *_cells(everything, facts, keys))


def _roll_up(tree: CodeTree, hidden: set[int], own: dict[int, _Coverage]) -> dict[int, _Coverage]:
    """Each visible code's coverage including its descendants (children are finished before parents)."""
    rolled: dict[int, _Coverage] = {}
    for code_id, _depth in reversed(tree.walk()):
        if code_id in hidden:
            continue
        coverage = _Coverage()
        coverage.add(own.get(code_id, coverage))
        for child in tree.children.get(code_id, []):
            if child not in hidden:
                coverage.add(rolled[child])
        rolled[code_id] = coverage
    return rolled


def _transcript_facts(session: Session, ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """``{transcript id: (participant id, timepoint key)}``."""
    stmt = (
        select(Transcript.id, Transcript.participant_id, Timepoint.key)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .where(Transcript.id.in_(sorted(ids)))
    )
    return {tid: (pid, key) for tid, pid, key in fetch_rows(session, stmt)}


def _cells(
    coverage: _Coverage, facts: dict[int, tuple[int, str]], keys: list[tuple[str, str]]
) -> tuple[dict[str, Cell], Cell]:
    cells = {key: Cell() for key, _label in keys}
    people: dict[str, set[int]] = defaultdict(set)
    for tid, n in coverage.counts.items():
        participant_id, key = facts[tid]
        cell = cells[key]
        cell.segments += n
        cell.words += coverage.masks[tid].bit_count()
        people[key].add(participant_id)
    for key, cell in cells.items():
        cell.participants = len(people[key])
    total = Cell(
        segments=sum(c.segments for c in cells.values()),
        participants=len(set().union(*people.values())),
        words=sum(c.words for c in cells.values()),
    )
    return cells, total


# --------------------------------------------------------------------------------------------- trajectories

EMERGED, PERSISTED, FADED, RETURNED, ABSENT, MISSING = (
    "emerged",
    "persisted",
    "faded",
    "returned",
    "absent",
    "missing",
)


@dataclass
class TrajectoryPoint:
    timepoint: str
    label: str
    interviewed: bool
    present: bool
    status: str
    segments: list[Segment]


@dataclass
class Trajectory:
    """One participant's course for a code; ``pattern`` has one mark per timepoint: + present, - absent,
    . not interviewed (e.g. ``+-+`` for a code that faded and returned)."""

    participant: str
    pattern: str
    points: list[TrajectoryPoint]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def trajectory_labels(presence: list[bool | None]) -> list[str]:
    """Label each wave from presence (``None`` = not interviewed, which changes nothing).

    emerged: present for the first time; persisted: present and present at the last interviewed wave;
    returned: present again after an absence; faded: absent after being present at the last interviewed
    wave; absent: otherwise absent; missing: not interviewed.
    """
    labels: list[str] = []
    ever = False
    previous = False
    for present in presence:
        if present is None:
            labels.append(MISSING)
            continue
        if present:
            labels.append(PERSISTED if previous else RETURNED if ever else EMERGED)
        else:
            labels.append(FADED if previous else ABSENT)
        ever = ever or present
        previous = present
    return labels


def trajectories(
    session: Session,
    code_ref: str | int,
    with_descendants: bool = True,
    coders: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
) -> list[Trajectory]:
    """For every participant with a transcript: where the code is present, wave by wave, with segments."""
    segments = retrieve(session, code_ref, with_descendants, participants=participants, coders=coders)
    scope = resolve_scope(session, participants=participants)
    interviewed = session.execute(
        scope.apply(
            select(Participant.study_id, Timepoint.key)
            .join(Transcript, Transcript.participant_id == Participant.id)
            .join(Timepoint, Timepoint.id == Transcript.timepoint_id),
            with_coder=False,
        )
    ).all()
    waves: dict[str, set[str]] = defaultdict(set)
    for study_id, key in interviewed:
        waves[study_id].add(key)
    found: dict[tuple[str, str], list[Segment]] = defaultdict(list)
    for segment in segments:
        found[(segment.participant, segment.timepoint)].append(segment)
    keys = [(tp.key, tp.label) for tp in project_timepoints(session)]
    return [_trajectory(study_id, waves[study_id], found, keys) for study_id in sorted(waves)]


def _trajectory(
    study_id: str,
    interviewed: set[str],
    found: dict[tuple[str, str], list[Segment]],
    keys: list[tuple[str, str]],
) -> Trajectory:
    presence = [bool(found.get((study_id, key))) if key in interviewed else None for key, _label in keys]
    labels = trajectory_labels(presence)
    points = [
        TrajectoryPoint(key, label, present is not None, bool(present), status, found.get((study_id, key), []))
        for (key, label), present, status in zip(keys, presence, labels, strict=True)
    ]
    pattern = "".join("." if p is None else "+" if p else "-" for p in presence)
    return Trajectory(study_id, pattern, points)


# --------------------------------------------------------------------------------------------- co-occurrence


@dataclass
class _Span:
    coding_id: int
    code_id: int
    transcript_id: int
    start: int
    end: int


def _overlapping_pairs(spans: list[_Span]) -> Iterable[tuple[_Span, _Span]]:
    """Pairs of spans (of one transcript) that share at least one character: a sweep over starts."""
    active: list[tuple[int, int, _Span]] = []  # (end, tiebreak, span) heap of spans still open
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        while active and active[0][0] <= span.start:
            heapq.heappop(active)
        for _end, _tie, other in active:
            yield other, span
        heapq.heappush(active, (span.end, span.coding_id, span))


def _code_spans(session: Session, tree: CodeTree, code_of: dict[int, int], scope: Scope) -> dict[int, list[_Span]]:
    """Codings of the given codes per transcript, each labelled with the code it counts for."""
    stmt = select(Coding.id, Coding.code_id, Coding.transcript_id, Coding.start, Coding.end).join(
        Transcript, Transcript.id == Coding.transcript_id
    )
    stmt = where_codes(stmt, tree, code_of)
    spans: dict[int, list[_Span]] = defaultdict(list)
    for cid, code_id, tid, start, end in fetch_rows(session, scope.apply(stmt)):
        spans[tid].append(_Span(cid, code_of[code_id], tid, start, end))
    return spans


def _code_mapping(
    tree: CodeTree, code_refs: Sequence[str | int] | None, with_descendants: bool, include_archived: bool
) -> dict[int, int]:
    """Which code each coded code counts for: itself, or the named code above it."""
    if code_refs is None:
        return {cid: cid for cid in selected_codes(tree, None, False, include_archived)}
    mapping: dict[int, int] = {}
    for ref in code_refs:
        ids = selected_codes(tree, ref, with_descendants, include_archived)
        for cid in ids:
            mapping.setdefault(cid, ids[0])
    return mapping


def cooccurrence(
    session: Session,
    code_refs: Sequence[str | int] | None = None,
    coders: Sequence[str] | None = None,
    with_descendants: bool = False,
    include_archived: bool = False,
) -> list[dict[str, Any]]:
    """Pairs of codes found together: overlapping span pairs, and turns where both occur.

    Each result: ``code_a``, ``code_b`` (paths, in codebook order), ``code_a_id``, ``code_b_id``,
    ``overlaps`` (pairs of codings sharing text) and ``turns`` (turns touched by both codes). Codings of the
    same code never pair. With ``code_refs`` and ``with_descendants`` a named code stands for its subtree.
    """
    tree = CodeTree.load(session)
    code_of = _code_mapping(tree, code_refs, with_descendants, include_archived)
    spans = _code_spans(session, tree, code_of, resolve_scope(session, coders=coders))
    layouts = load_layouts(session, spans, sentences=False, text=False)
    order = codebook_order(tree)
    overlaps: dict[tuple[int, int], int] = defaultdict(int)
    turns: dict[tuple[int, int], int] = defaultdict(int)
    for tid, transcript_spans in spans.items():
        for a, b in _overlapping_pairs(transcript_spans):
            if a.code_id != b.code_id:
                overlaps[_pair(a.code_id, b.code_id, order)] += 1
        for codes in _codes_per_turn(transcript_spans, layouts[tid]).values():
            for a_id, b_id in combinations(sorted(codes, key=order.__getitem__), 2):
                turns[(a_id, b_id)] += 1
    pairs = sorted(set(overlaps) | set(turns), key=lambda p: (order[p[0]], order[p[1]]))
    paths = {cid: tree.path(cid) for cid in set(code_of.values())}
    return [
        {
            "code_a": paths[a],
            "code_b": paths[b],
            "code_a_id": a,
            "code_b_id": b,
            "overlaps": overlaps.get((a, b), 0),
            "turns": turns.get((a, b), 0),
        }
        for a, b in pairs
    ]


def _pair(a: int, b: int, order: dict[int, int]) -> tuple[int, int]:
    return (a, b) if order[a] < order[b] else (b, a)


def _codes_per_turn(spans: list[_Span], layout: TranscriptLayout) -> dict[int, set[int]]:
    per_turn: dict[int, set[int]] = defaultdict(set)
    for span in spans:
        found = layout.turn_range(span.start, span.end)
        if found is not None:
            for position in range(found[0], found[1] + 1):
                per_turn[position].add(span.code_id)
    return per_turn


@dataclass
class SegmentPair:
    """Two segments of different codes in one transcript: overlapping text and/or shared turns."""

    first: Segment
    second: Segment
    overlap: tuple[int, int] | None
    shared_turns: list[int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cooccurrence_segments(
    session: Session,
    code_a: str | int,
    code_b: str | int,
    coders: Sequence[str] | None = None,
    with_descendants: bool = False,
) -> list[SegmentPair]:
    """The pairs behind a co-occurrence count: segments of ``code_a`` and ``code_b`` that meet."""
    firsts = retrieve(session, code_a, with_descendants, coders=coders)
    seconds = retrieve(session, code_b, with_descendants, coders=coders)
    by_transcript: dict[int, list[Segment]] = defaultdict(list)
    for segment in seconds:
        by_transcript[segment.transcript_id].append(segment)
    pairs: list[SegmentPair] = []
    for first in firsts:
        for second in by_transcript.get(first.transcript_id, []):
            pair = _meeting(first, second)
            if pair is not None:
                pairs.append(pair)
    return pairs


def _meeting(first: Segment, second: Segment) -> SegmentPair | None:
    if first.id == second.id:
        return None
    start, end = max(first.start, second.start), min(first.end, second.end)
    overlap = (start, end) if start < end else None
    shared: list[int] = []
    if first.turn_index is not None and second.turn_index is not None:
        low = max(first.turn_index, second.turn_index)
        high = min(first.last_turn_index, second.last_turn_index)  # type: ignore[type-var]
        shared = list(range(low, high + 1))
    if overlap is None and not shared:
        return None
    return SegmentPair(first, second, overlap, shared)


# --------------------------------------------------------------------------------------------- progress


def coding_progress(session: Session) -> list[dict[str, Any]]:
    """Per transcript and coder: how many participant turns carry at least one of the coder's codes.

    Each row: ``transcript_id``, ``participant``, ``timepoint``, ``coder``, ``participant_turns``,
    ``coded_turns``, ``share`` (0..1). Every coder appears for every transcript, so untouched work shows.
    """
    transcripts = session.execute(
        select(Transcript.id, Participant.study_id, Timepoint.key)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .order_by(Participant.study_id, Timepoint.position)
    ).all()
    coders = session.execute(select(Coder.id, Coder.name).order_by(Coder.name)).all()
    starts: dict[int, list[int]] = defaultdict(list)
    ends: dict[int, list[int]] = defaultdict(list)
    turn_stmt = select(Turn.transcript_id, Turn.start, Turn.end).where(Turn.role == "participant")
    for tid, start, end in sorted(fetch_rows(session, turn_stmt)):
        starts[tid].append(start)
        ends[tid].append(end)
    coded: dict[tuple[int, int], set[int]] = defaultdict(set)
    coding_stmt = select(Coding.transcript_id, Coding.coder_id, Coding.start, Coding.end)
    for tid, coder_id, start, end in fetch_rows(session, coding_stmt):
        # participant turns sharing text with [start, end): sorted and disjoint, so two bisects
        touched = range(bisect_right(ends[tid], start), bisect_left(starts[tid], end))
        coded[(tid, coder_id)].update(touched)
    return [
        _progress_row(tid, study_id, key, name, len(starts[tid]), len(coded[(tid, coder_id)]))
        for tid, study_id, key in transcripts
        for coder_id, name in coders
    ]


def _progress_row(tid: int, study_id: str, key: str, coder: str, total: int, done: int) -> dict[str, Any]:
    return {
        "transcript_id": tid,
        "participant": study_id,
        "timepoint": key,
        "coder": coder,
        "participant_turns": total,
        "coded_turns": done,
        "share": round(done / total, 4) if total else 0.0,
    }
