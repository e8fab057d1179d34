"""Questions asked of the codings: retrieval, code x timepoint matrix, trajectories, co-occurrence, progress.

The TUI, the CLI and the exporters ask the same questions and must get the same answers, so they live here
once. Each function reads through the caller's ``Session`` with a handful of SQL queries (never one query
per code or per segment) and does the interval work in Python over sorted offsets (bisect, merges, sweep
lines). Results are plain dataclasses; ``as_dict()`` gives their JSON form.

A segment's speaker, role and turn are those of the turn containing its ``start``; a start that falls in
the ``Name:`` label between two turns belongs to the turn that follows.
"""

from __future__ import annotations

import codecs
import gc
import heapq
import json
import re
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import accumulate, combinations, groupby, islice
from operator import itemgetter, lt
from typing import Any, Literal, NamedTuple, TypeVar

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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """While building tens of thousands of result objects: the cyclic garbage collector would otherwise stop
    every 700 allocations to walk the young objects, and now and then the whole heap (a third of the time
    of ``coded_spans`` in a process holding a project's segments). Results hold no reference cycles; the
    collector runs again as soon as it is re-enabled. Left off if the caller had turned it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def driver_rows(session: Session, stmt: Select) -> list[tuple[Any, ...]]:
    """Rows as the database driver returns them: plain tuples, without SQLAlchemy's row objects and result
    processing, which cost as much again as the query on 50,000 codings. Only for statements whose
    columns need no conversion (integers and text; a Boolean column comes back as 0/1 and the caller
    converts it) and whose parameters are plain integers and strings (anything else goes through
    ``fetch_rows``). Runs on the session's connection, inside its transaction."""
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if not all(type(value) in (int, str) for value in params.values()):
        return [tuple(row) for row in fetch_rows(session, stmt)]
    values = [params[name] for name in compiled.positiontup or ()] if compiled.positional else params
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(compiled), values)
        return cursor.fetchall()
    finally:
        cursor.close()


def load_layouts(
    session: Session, transcript_ids: Iterable[int], sentences: bool = True, text: bool = True
) -> dict[int, TranscriptLayout]:
    """Layouts of several transcripts in three queries (texts, turns, sentences)."""
    ids = sorted(set(transcript_ids))
    if not ids:
        return {}
    texts = _texts(session, ids) if text else dict.fromkeys(ids, "")
    columns = _turn_columns(session, ids)
    bounds = _sentence_bounds(session, ids) if sentences else {}
    layouts = {}
    for tid in ids:
        found = columns.get(tid)
        turns = []
        if found is not None:
            turns = list(map(TurnInfo, found.index, found.speaker, found.role, found.start, found.end))
        starts, ends = bounds.get(tid, ((), ()))
        layouts[tid] = TranscriptLayout(texts.get(tid, ""), turns, list(starts), list(ends))
    return layouts


def _texts(session: Session, ids: list[int]) -> dict[int, str]:
    texts: dict[int, str] = dict.fromkeys(ids, "")
    texts.update(fetch_rows(session, select(Transcript.id, Transcript.text).where(Transcript.id.in_(ids))))
    return texts


@dataclass(frozen=True)
class _TurnColumns:
    """One transcript's turns as parallel tuples sorted by (start, index): cheaper than an object per turn."""

    start: tuple[int, ...]
    end: tuple[int, ...]
    index: tuple[int, ...]
    speaker: tuple[str, ...]
    role: tuple[str, ...]


_UNIT_SEPARATOR = "\x1f"  # joins speakers in one string; a speaker containing it is fetched row by row


def _turn_columns(session: Session, ids: list[int]) -> dict[int, _TurnColumns]:
    """Turns per transcript. A 1M-word corpus has ~20k turns: fetched as comma-joined columns, one row per
    transcript, which is about twice as fast as a row per turn, and parsed once per distinct answer."""
    stmt = (
        select(
            Turn.transcript_id,
            func.group_concat(Turn.start),
            func.group_concat(Turn.end),
            func.group_concat(Turn.index),
            func.group_concat(Turn.role),
            func.group_concat(Turn.speaker, _UNIT_SEPARATOR),
        )
        .where(Turn.transcript_id.in_(ids))
        .group_by(Turn.transcript_id)
    )
    out: dict[int, _TurnColumns] = {}
    odd: list[int] = []
    for tid, *joined in fetch_rows(session, stmt):
        found = _parsed(("turns", *joined), _parse_turns)
        if found is None:
            odd.append(tid)
        else:
            out[tid] = found
    if odd:  # a separator inside a speaker name: plain rows for those transcripts
        rows = fetch_rows(
            session,
            select(Turn.transcript_id, Turn.start, Turn.end, Turn.index, Turn.speaker, Turn.role).where(
                Turn.transcript_id.in_(odd)
            ),
        )
        per: dict[int, list[Any]] = defaultdict(list)
        for tid, *values in rows:
            per[tid].append(values)
        for tid, values in per.items():
            out[tid] = _sorted_turns(*zip(*values, strict=True))
    return out


def _parse_turns(_tag: str, starts: str, ends: str, indexes: str, roles: str, speakers: str) -> _TurnColumns | None:
    split_speakers, split_roles = speakers.split(_UNIT_SEPARATOR), roles.split(",")
    found = (_int_list(starts), _int_list(ends), _int_list(indexes), split_speakers, split_roles)
    if not len(found[0]) == len(split_speakers) == len(split_roles):
        return None
    return _sorted_turns(*found)


def _sorted_turns(*columns: Sequence[Any]) -> _TurnColumns:
    """Columns (start, end, index, speaker, role) in (start, index) order. SQLite reads turns in index
    order, which is start order for every imported transcript; anything else is sorted explicitly."""
    starts, indexes = columns[0], columns[2]
    if all(map(lt, starts, islice(starts, 1, None))):
        return _TurnColumns(*(tuple(column) for column in columns))
    order = sorted(range(len(starts)), key=lambda i: (starts[i], indexes[i]))
    return _TurnColumns(*(tuple(column[i] for i in order) for column in columns))


def _int_list(joined: str) -> list[int]:
    """``"3,17,42"`` (SQLite's ``group_concat`` of an integer column) -> ``[3, 17, 42]``; the JSON parser
    reads numbers in C, twice as fast as ``map(int, ...)``."""
    return json.loads(f"[{joined}]")


_PARSED: OrderedDict[tuple[str, ...], Any] = OrderedDict()
_PARSED_KEPT = 1024  # turns and sentences of 512 transcripts
_PARSED_LOCK = threading.Lock()  # the TUI runs queries in worker threads


def _parsed(joined: tuple[str, ...], parse: Callable[..., Any]) -> Any:
    """``parse(*joined)``, remembered per process for the exact strings the database returned (so never
    stale): reading the strings is most of the cost; parsing them again is not."""
    with _PARSED_LOCK:
        if joined in _PARSED:
            _PARSED.move_to_end(joined)
            return _PARSED[joined]
    found = parse(*joined)
    with _PARSED_LOCK:
        _PARSED[joined] = found
        while len(_PARSED) > _PARSED_KEPT:
            _PARSED.popitem(last=False)
    return found


def _sentence_bounds(session: Session, ids: list[int]) -> dict[int, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Sentence starts and ends per transcript. A 1M-word corpus has ~100k sentences: fetched as one
    comma-joined string per transcript and parsed in C, which is several times faster than row by row."""
    stmt = (
        select(Sentence.transcript_id, func.group_concat(Sentence.start), func.group_concat(Sentence.end))
        .where(Sentence.transcript_id.in_(ids))
        .group_by(Sentence.transcript_id)
    )
    rows = fetch_rows(session, stmt)
    return {tid: _parsed(("sentences", starts, ends), _parse_sentences) for tid, starts, ends in rows}


def _parse_sentences(_tag: str, starts_text: str, ends_text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    starts, ends = _int_list(starts_text), _int_list(ends_text)
    if starts != sorted(starts):  # SQLite walks the (transcript_id, start) index, but does not promise it
        pairs = sorted(zip(starts, ends, strict=True))
        starts, ends = [s for s, _ in pairs], [e for _, e in pairs]
    return tuple(starts), tuple(ends)


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


class WordRanks:
    """How many words of one transcript start before each offset: ``rank(p) == bisect_left(starts, p)`` for
    the transcript's ``word_starts``, so the words starting in ``[a, b)`` are ``rank(a)`` to ``rank(b)``.

    Kept as a bit set (2 bits per character, the low one set where a word starts, 32 characters per 64-bit
    block) with a running count per block. Built with C-level string and integer operations (no Python
    object per word), it costs about a sixth of ``word_starts`` and a fifth of its memory.
    """

    __slots__ = ("blocks", "before")

    def __init__(self, starts_bits: int, length: int) -> None:
        size = (length >> 5) + 1  # a block for offset ``length`` itself
        self.blocks = array("Q", starts_bits.to_bytes(size * 8, "little"))
        self.before = list(accumulate(map(int.bit_count, self.blocks), initial=0))

    def rank(self, offset: int) -> int:
        block = offset >> 5
        return self.before[block] + (self.blocks[block] & _LOW_BITS[offset & 31]).bit_count()

    @classmethod
    def of(cls, text: str) -> WordRanks:
        if nlp.WORD_RE.pattern != _WORD_PATTERN:  # the word rule changed: find the words one by one
            digits = bytearray(b"0" * len(text))
            for match in nlp.WORD_RE.finditer(text):
                digits[len(text) - 1 - match.start()] = 0x31
            return cls(int(digits, 4) if text else 0, len(text))
        return cls(_word_start_bits(text), len(text))


_LOW_BITS = [(1 << (2 * i)) - 1 for i in range(32)]
_WORD_PATTERN = r"\w+(?:['’]\w+)*"  # nlp.WORD_RE, which _word_start_bits implements with bit operations
_WORD_CHAR = re.compile(r"\w")
_WORD, _APOSTROPHE, _OTHER = b"\x80", b"\x81", b"\x82"  # classes of non-ASCII characters, while encoding


def _class_digits() -> bytes:
    """A ``bytes.translate`` table to one base-4 digit per character: 1 word character, 2 apostrophe, 0
    anything else (non-ASCII characters arrive as the class bytes above)."""
    table = bytearray(b"0" * 256)
    for code in range(0x80):
        if _WORD_CHAR.match(chr(code)):
            table[code] = ord("1")
    table[ord("'")] = table[_APOSTROPHE[0]] = ord("2")
    table[_WORD[0]] = ord("1")
    return bytes(table)


_CLASS_DIGITS = _class_digits()
_NON_ASCII_CLASS: dict[str, bytes] = {}


def _classify_non_ascii(error: UnicodeEncodeError) -> tuple[bytes, int]:
    """Codec error handler: the class byte of each character ASCII cannot encode (é is a word character)."""
    out = []
    for char in error.object[error.start : error.end]:
        found = _NON_ASCII_CLASS.get(char)
        if found is None:
            found = _APOSTROPHE if char == "’" else _WORD if _WORD_CHAR.match(char) else _OTHER
            _NON_ASCII_CLASS[char] = found
        out.append(found)
    return b"".join(out), error.end


codecs.register_error("waveqda.word_class", _classify_non_ascii)


def _word_start_bits(text: str) -> int:
    """Bit ``2i`` set where a word (``\\w+(?:['’]\\w+)*``) starts at ``text[i]``: a word character whose
    previous character is neither a word character nor an apostrophe that follows a word character."""
    if not text:
        return 0
    # The curly apostrophe is most of the non-ASCII text in real transcripts: swapped for its ASCII
    # equivalent (same length, same class) it needs no call of the error handler.
    digits = text.replace("’", "'").encode("ascii", "waveqda.word_class").translate(_CLASS_DIGITS)
    classes = int(digits[::-1], 4)  # character i is base-4 digit i
    evens = ((1 << (2 * len(text))) - 1) // 3  # 0b0101...01
    word = classes & evens
    apostrophe = (classes >> 1) & evens
    return word & ~(word << 2) & ~((apostrophe << 2) & (word << 4))


_WORD_RANKS: OrderedDict[str, WordRanks] = OrderedDict()


def word_ranks(session: Session, transcript_ids: Iterable[int]) -> dict[int, WordRanks]:
    """``WordRanks`` per transcript, kept per process by text SHA-256 like ``word_starts``."""
    ids = sorted(set(transcript_ids))
    if not ids:
        return {}
    shas = dict(fetch_rows(session, select(Transcript.id, Transcript.sha256).where(Transcript.id.in_(ids))))
    with _WORD_STARTS_LOCK:
        found = {sha: _WORD_RANKS[sha] for sha in shas.values() if sha in _WORD_RANKS}
    missing = [tid for tid, sha in shas.items() if sha not in found]
    if missing:
        stmt = select(Transcript.sha256, Transcript.text).where(Transcript.id.in_(missing))
        for sha, text in fetch_rows(session, stmt):
            found[sha] = WordRanks.of(text)
    with _WORD_STARTS_LOCK:
        for sha, ranks in found.items():
            _WORD_RANKS[sha] = ranks
            _WORD_RANKS.move_to_end(sha)
        while len(_WORD_RANKS) > _WORD_STARTS_KEPT:
            _WORD_RANKS.popitem(last=False)
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
    turns: _TurnColumns | None,
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
    with _collector_paused():  # the rows and segments are most of the allocations
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
    texts = _texts(session, ids)
    turns = _turn_columns(session, ids)
    sentences = _sentence_bounds(session, ids) if context == "sentence" else None
    paths: dict[int, str] = {}
    runs = []
    with _collector_paused():
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
    for i in range(0, len(wanted), _ID_CHUNK):
        stmt = select(*_SEGMENT_COLUMNS).join(Transcript, Transcript.id == Coding.transcript_id)
        rows += driver_rows(session, stmt.where(Coding.id.in_(wanted[i : i + _ID_CHUNK])))
    rows.sort(key=itemgetter(3, 2, 5, 6, 0))  # code, transcript, start, end, id: _CODING_ORDER
    return {segment.id: segment for segment in _segments_in_order(session, CodeTree.load(session), rows, context, None)}


_ID_CHUNK = 5000  # ids per IN (...) list, well under SQLite's limit on bound parameters


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
    with _collector_paused():
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


# --------------------------------------------------------------------------------------------- matrix


@dataclass
class Cell:
    """``segments``: codings (each coder's coding counts); ``passages``: stretches of text coded, however many
    coders or sub-codes coded them (codings that share text are one passage; see ``group_passages``)."""

    segments: int = 0
    participants: int = 0
    words: int = 0
    passages: int = 0


@dataclass
class Interviews:
    """Transcripts at one timepoint in scope, and how many of them anyone (among the coders in scope) has
    coded: a theme absent from an uncoded interview is "not coded yet", not "absent"."""

    transcripts: int = 0
    coded: int = 0


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
    interviews: dict[str, Interviews] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "timepoints": [{"key": key, "label": label} for key, label in self.timepoints],
            "rows": [asdict(row) for row in self.rows],
            "totals": {key: asdict(cell) for key, cell in self.totals.items()},
            "total": asdict(self.total),
            "interviews": {key: asdict(found) for key, found in self.interviews.items()},
        }


@dataclass
class _Coverage:
    """A code's (or a subtree's) codings per transcript: how many, and the words they cover as a bit mask
    (bit i = the transcript's i-th word). A union of codings is then an OR of masks and its word count a
    popcount, so overlaps are never counted twice and rolling up a tree is cheap."""

    counts: dict[int, int] = field(default_factory=dict)
    masks: dict[int, int] = field(default_factory=dict)
    passages: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # sorted, none overlapping

    def add(self, other: _Coverage) -> None:
        counts, masks, passages = self.counts, self.masks, self.passages
        for tid, n in other.counts.items():
            if tid in counts:
                counts[tid] += n
                masks[tid] |= other.masks[tid]
                mine, theirs = passages[tid], other.passages[tid]
                if not mine or not theirs:
                    passages[tid] = mine or theirs
                elif mine[-1][1] <= theirs[0][0]:  # one after the other: nothing to join
                    passages[tid] = mine + theirs
                elif theirs[-1][1] <= mine[0][0]:
                    passages[tid] = theirs + mine
                else:
                    passages[tid] = _joined(mine + theirs)
            else:
                counts[tid] = n
                masks[tid] = other.masks[tid]
                passages[tid] = other.passages[tid]


def _joined(spans: list[tuple[int, int]], ordered: bool = False) -> list[tuple[int, int]]:
    """Spans joined where they share text (``start < end`` of the run so far; touching spans stay apart).
    ``ordered``: already sorted by start (a coding query's order), so not sorted again."""
    if not ordered:
        spans = sorted(spans)
    out: list[tuple[int, int]] = []
    append = out.append
    first = high = -1
    for start, end in spans:
        if start < high:
            if end > high:
                high = end
            continue
        if high >= 0:
            append((first, high))
        first, high = start, end
    if high >= 0:
        append((first, high))
    return out


class _Located(NamedTuple):
    transcript_id: int
    start: int
    end: int


Item = TypeVar("Item", bound=_Located | Any)


def group_passages(items: Iterable[Item]) -> list[list[Item]]:
    """Codings (anything with ``transcript_id``, ``start`` and ``end``) grouped into passages: in each
    transcript, codings that share at least one character are one passage (a passage coded by two coders,
    or by a code and its sub-code, is one stretch of text). Touching codings stay apart. Passages come in
    transcript and text order; the codings of each in ``start``, ``end`` order."""
    ordered = sorted(items, key=lambda i: (i.transcript_id, i.start, i.end))
    out: list[list[Item]] = []
    transcript, high = None, -1
    for item in ordered:
        if item.transcript_id == transcript and item.start < high:
            out[-1].append(item)
            high = max(high, item.end)
            continue
        out.append([item])
        transcript, high = item.transcript_id, item.end
    return out


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
    words: bool = True,
    code_refs: Sequence[str | int] | None = None,
) -> Matrix:
    """Per code and timepoint: segments, distinct participants and words coded, rolled up the tree.

    A row counts its own codings and all its descendants'; words are those of the union of their spans in
    each transcript, so overlapping codings (or a code and its child on the same words) count once.
    One query for the codings (in code, transcript and start order: a scan of the covering index
    ``ix_codings_code_transcript``) and three for transcripts and timepoints; the rest is bit masks.
    ``words=False`` leaves every ``words`` at 0 and skips the word offsets and masks (a third of the time,
    half on a first call): for reports that show segments and participants only. ``code_refs`` limits the
    rows (and the totals) to those codes and their sub-codes, as a report filtered with ``--codes`` shows.
    """
    tree = CodeTree.load(session)
    hidden = set() if include_archived else hidden_codes(tree)
    tops = [root for root in tree.children.get(None, []) if root not in hidden]
    if code_refs:
        selected = {cid for ref in code_refs for cid in selected_codes(tree, ref, True, include_archived)}
        hidden |= set(tree.codes) - selected
        tops = [cid for cid in selected if tree.codes[cid].parent_id not in selected]
    scope = resolve_scope(session, timepoints, participants, attribute, coders)
    stmt = select(Coding.code_id, Coding.transcript_id, Coding.start, Coding.end).join(
        Transcript, Transcript.id == Coding.transcript_id
    )
    stmt = scope.apply(where_codes(stmt, tree, (c for c in tree.codes if c not in hidden)))
    with _collector_paused():
        rows = driver_rows(session, stmt.order_by(Coding.code_id, Coding.transcript_id, Coding.start))
        transcript_ids = {row[1] for row in rows}
        ranks = word_ranks(session, transcript_ids) if words else None
        rolled = _roll_up(tree, hidden, _own_coverage(rows, ranks))
    everything = _Coverage()
    for top in tops:
        everything.add(rolled[top])
    keys = [(tp.key, tp.label) for tp in project_timepoints(session) if timepoints is None or tp.key in timepoints]
    column = {key: i for i, (key, _label) in enumerate(keys)}
    facts = {tid: (column[key], pid) for tid, (pid, key) in _transcript_facts(session, transcript_ids).items()}
    matrix_rows = [
        MatrixRow(cid, tree.path(cid), tree.codes[cid].name, depth, *_cells(rolled[cid], facts, keys))
        for cid, depth in tree.walk()
        if cid not in hidden
    ]
    return Matrix(keys, matrix_rows, *_cells(everything, facts, keys), interviews_coded(session, scope, keys))


def interviews_coded(session: Session, scope: Scope, keys: list[tuple[str, str]]) -> dict[str, Interviews]:
    """Per timepoint key: transcripts in scope, and those with at least one coding by a coder in scope."""
    found = {key: Interviews() for key, _label in keys}
    for _tid, key, coded in _transcripts_coded(session, scope):
        if key in found:
            found[key].transcripts += 1
            found[key].coded += coded
    return found


def _transcripts_coded(session: Session, scope: Scope) -> list[tuple[int, str, bool]]:
    """``(transcript id, timepoint key, coded by anyone in scope)`` for every transcript in scope."""
    any_coding = select(Coding.id).where(Coding.transcript_id == Transcript.id)
    if scope.coder_ids is not None:
        any_coding = any_coding.where(Coding.coder_id.in_(scope.coder_ids))
    stmt = select(Transcript.id, Timepoint.key, any_coding.exists()).join(
        Timepoint, Timepoint.id == Transcript.timepoint_id
    )
    return [(tid, key, bool(coded)) for tid, key, coded in fetch_rows(session, scope.apply(stmt, with_coder=False))]


def _own_coverage(rows: Sequence[Any], ranks: dict[int, WordRanks] | None) -> dict[int, _Coverage]:
    """Each code's own codings per transcript. Rows come sorted by code, transcript and start, so the
    spans of a (code, transcript) merge into disjoint runs on the way and each run's words become one
    block of bits (``WordRanks.rank``, inlined: this loop sees every coding). Without ``ranks``, counts
    only (empty masks)."""
    own: dict[int, _Coverage] = defaultdict(_Coverage)
    if ranks is None:
        for (code_id, tid), run in groupby(rows, key=itemgetter(0, 1)):
            coverage = own[code_id]
            joined: list[tuple[int, int]] = []  # ``_joined`` inlined: rows come in start order
            n, first, high = 0, -1, -1
            for _code, _tid, start, end in run:
                n += 1
                if start < high:
                    if end > high:
                        high = end
                    continue
                if high >= 0:
                    joined.append((first, high))
                first, high = start, end
            joined.append((first, high))
            coverage.counts[tid] = n
            coverage.masks[tid] = 0
            coverage.passages[tid] = joined
        return own
    low_bits = _LOW_BITS
    for (code_id, tid), run in groupby(rows, key=itemgetter(0, 1)):
        found = ranks[tid]
        blocks, before = found.blocks, found.before
        n = mask = 0
        low = high = -1
        spans = []
        for _code, _tid, start, end in run:
            n += 1
            spans.append((start, end))
            if start <= high:
                if end > high:
                    high = end
                continue
            if high >= 0:
                first = before[low >> 5] + (blocks[low >> 5] & low_bits[low & 31]).bit_count()
                last = before[high >> 5] + (blocks[high >> 5] & low_bits[high & 31]).bit_count()
                mask |= ((1 << (last - first)) - 1) << first
            low, high = start, end
        first = before[low >> 5] + (blocks[low >> 5] & low_bits[low & 31]).bit_count()
        last = before[high >> 5] + (blocks[high >> 5] & low_bits[high & 31]).bit_count()
        coverage = own[code_id]
        coverage.counts[tid] = n
        coverage.masks[tid] = mask | ((1 << (last - first)) - 1) << first
        coverage.passages[tid] = _joined(spans, ordered=True)
    return own


def _roll_up(tree: CodeTree, hidden: set[int], own: dict[int, _Coverage]) -> dict[int, _Coverage]:
    """Each visible code's coverage including its descendants (children are finished before parents).
    A code with a single contributor (its own codings or one child) shares that coverage: none is changed
    after it is built."""
    rolled: dict[int, _Coverage] = {}
    for code_id, _depth in reversed(tree.walk()):
        if code_id in hidden:
            continue
        parts = [own[code_id]] if code_id in own else []
        parts += [rolled[child] for child in tree.children.get(code_id, []) if child not in hidden]
        if len(parts) == 1:
            rolled[code_id] = parts[0]
            continue
        coverage = _Coverage()
        if parts:
            coverage.counts, coverage.masks = dict(parts[0].counts), dict(parts[0].masks)
            coverage.passages = dict(parts[0].passages)
        for part in parts[1:]:
            coverage.add(part)
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
    coverage: _Coverage, facts: dict[int, tuple[int, int]], keys: list[tuple[str, str]]
) -> tuple[dict[str, Cell], Cell]:
    """``facts``: ``{transcript id: (column of its timepoint in keys, participant id)}``."""
    segments = [0] * len(keys)
    words = [0] * len(keys)
    passages = [0] * len(keys)
    people: list[set[int]] = [set() for _key in keys]
    masks, joined = coverage.masks, coverage.passages
    for tid, n in coverage.counts.items():
        column, participant_id = facts[tid]
        segments[column] += n
        words[column] += masks[tid].bit_count()
        passages[column] += len(joined[tid])
        people[column].add(participant_id)
    cells = {
        key: Cell(segments=segments[i], participants=len(people[i]), words=words[i], passages=passages[i])
        for i, (key, _label) in enumerate(keys)
    }
    total = Cell(segments=sum(segments), participants=len(set().union(*people)), words=sum(words),
                 passages=sum(passages))  # fmt: skip
    return cells, total


# --------------------------------------------------------------------------------------------- trajectories

EMERGED, PERSISTED, FADED, RETURNED, ABSENT, MISSING, NOT_CODED = (
    "emerged",
    "persisted",
    "faded",
    "returned",
    "absent",
    "missing",
    "not coded yet",
)
UNCODED = "uncoded"  # presence of a wave whose transcript nobody (among the coders asked about) has coded


@dataclass
class TrajectoryPoint:
    """One wave of one participant's course for a code. ``coded``: someone (among the coders asked about)
    has coded this interview at all; when nobody has, the status is "not coded yet", never "absent".
    ``passages``: stretches of text coded with the code or its sub-codes (see ``group_passages``)."""

    timepoint: str
    label: str
    interviewed: bool
    present: bool
    status: str
    segments: list[Segment]
    coded: bool = True
    passages: int = 0


@dataclass
class Trajectory:
    """One participant's course for a code; ``pattern`` has one mark per timepoint: + present, - absent,
    ? not coded yet, . not interviewed (e.g. ``+-+`` for a code that faded and returned)."""

    participant: str
    pattern: str
    points: list[TrajectoryPoint]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def trajectory_labels(presence: list[bool | str | None]) -> list[str]:
    """Label each wave from presence: True, False, ``None`` (not interviewed) or ``UNCODED`` (interviewed but
    nobody has coded it yet). Waves not interviewed or not coded yet change nothing for the waves after.

    emerged: present for the first time; persisted: present and present at the last known wave; returned:
    present again after an absence; faded: absent after being present at the last known wave; absent:
    otherwise absent; missing: not interviewed; not coded yet: interviewed, not coded.
    """
    labels: list[str] = []
    ever = False
    previous = False
    for present in presence:
        if present is None:
            labels.append(MISSING)
            continue
        if present == UNCODED:
            labels.append(NOT_CODED)
            continue
        if present:
            labels.append(PERSISTED if previous else RETURNED if ever else EMERGED)
        else:
            labels.append(FADED if previous else ABSENT)
        ever = ever or bool(present)
        previous = bool(present)
    return labels


@dataclass
class ThemePresence:
    """Who spoke to one code (with its sub-codes) at which timepoint: a trajectory per participant."""

    code_id: int
    code: str
    name: str
    trajectories: list[Trajectory]

    def status_counts(self) -> dict[str, dict[str, int]]:
        """Per timepoint key: how many participants have each status (``emerged``, ``faded``...)."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for trajectory in self.trajectories:
            for point in trajectory.points:
                out[point.timepoint][point.status] += 1
        return {key: dict(counts) for key, counts in out.items()}

    def as_dict(self) -> dict[str, Any]:
        return {"code_id": self.code_id, "code": self.code, "name": self.name,
                "trajectories": [t.as_dict() for t in self.trajectories], "statuses": self.status_counts()}  # fmt: skip


def theme_presence(
    session: Session,
    code_refs: Sequence[str | int] | None = None,
    with_descendants: bool = True,
    coders: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    timepoints: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    spans: Sequence[CodedSpan | Segment] | None = None,
) -> list[ThemePresence]:
    """For each code (the top-level visible codes when none are named), each participant's course wave by
    wave: present (with how many passages), absent, not coded yet or not interviewed.

    One query for the codings of all the codes (``coded_spans``), one for the transcripts in scope and
    whether anyone among ``coders`` coded them; ``trajectories`` asks the same for one code. A caller that
    already holds the codings under the same filters (an export) passes them as ``spans``."""
    tree = CodeTree.load(session)
    if code_refs is None:
        hidden = hidden_codes(tree)
        roots = [cid for cid in tree.children.get(None, []) if cid not in hidden]
    else:
        roots = [tree.find(ref).id for ref in code_refs]
    members = {root: selected_codes(tree, root, with_descendants, False) for root in roots}
    theme_of: dict[int, list[int]] = defaultdict(list)
    for root, ids in members.items():
        for cid in ids:
            theme_of[cid].append(root)
    if spans is None:
        spans = coded_spans(session, None, coders=coders, participants=participants, timepoints=timepoints,
                            attribute=attribute, include_archived=True) if roots else []  # fmt: skip
    found: dict[int, dict[tuple[str, str], list[Any]]] = {root: defaultdict(list) for root in roots}
    for span in spans:
        for root in theme_of.get(span.code_id, ()):
            found[root][(span.participant, span.timepoint)].append(span)
    keys, waves = _waves(session, coders, participants, timepoints, attribute)
    return [
        ThemePresence(
            root,
            tree.path(root),
            tree.codes[root].name,
            [_trajectory(study_id, waves[study_id], found[root], keys) for study_id in sorted(waves)],
        )
        for root in roots
    ]


def _waves(
    session: Session,
    coders: Sequence[str] | None,
    participants: Sequence[str] | None,
    timepoints: Sequence[str] | None,
    attribute: Attribute | list[Attribute] | None,
) -> tuple[list[tuple[str, str]], dict[str, dict[str, bool]]]:
    """The timepoints asked about, and per participant in scope ``{timepoint key: coded by anyone}``."""
    scope = resolve_scope(session, timepoints, participants, attribute, coders)
    study_ids = dict(fetch_rows(session, select(Transcript.id, Participant.study_id).join(
        Participant, Participant.id == Transcript.participant_id)))  # fmt: skip
    waves: dict[str, dict[str, bool]] = defaultdict(dict)
    for tid, key, coded in _transcripts_coded(session, scope):
        waves[study_ids[tid]][key] = waves[study_ids[tid]].get(key, False) or coded
    keys = [(tp.key, tp.label) for tp in project_timepoints(session) if not timepoints or tp.key in timepoints]
    return keys, waves


def trajectories(
    session: Session,
    code_ref: str | int,
    with_descendants: bool = True,
    coders: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
) -> list[Trajectory]:
    """For every participant with a transcript: where the code is present, wave by wave, with segments.

    The same answer as ``theme_presence`` for one code, with each wave's segments (text and context)."""
    [presence] = theme_presence(session, [code_ref], with_descendants, coders, participants)
    segments = retrieve(session, code_ref, with_descendants, participants=participants, coders=coders)
    by_wave: dict[tuple[str, str], list[Segment]] = defaultdict(list)
    for segment in segments:
        by_wave[(segment.participant, segment.timepoint)].append(segment)
    for trajectory in presence.trajectories:
        for point in trajectory.points:
            point.segments = by_wave.get((trajectory.participant, point.timepoint), [])
    return presence.trajectories


def _trajectory(
    study_id: str,
    waves: dict[str, bool],
    found: dict[tuple[str, str], list[CodedSpan]],
    keys: list[tuple[str, str]],
) -> Trajectory:
    presence: list[bool | str | None] = []
    for key, _label in keys:
        if key not in waves:
            presence.append(None)
        elif not waves[key]:
            presence.append(UNCODED)
        else:
            presence.append(bool(found.get((study_id, key))))
    labels = trajectory_labels(presence)
    points = [
        TrajectoryPoint(
            key,
            label,
            present is not None,
            present is True,
            status,
            [],
            present != UNCODED,
            len(group_passages(found.get((study_id, key), []))),
        )  # fmt: skip
        for (key, label), present, status in zip(keys, presence, labels, strict=True)
    ]
    marks = {None: ".", UNCODED: "?", True: "+", False: "-"}
    pattern = "".join(marks[p] for p in presence)
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
