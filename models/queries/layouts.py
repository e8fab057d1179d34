"""Transcript layouts: each transcript's turns and sentences as sorted offsets (``TranscriptLayout``), loaded
for many transcripts in three queries, with the per-process cache of parsed ``group_concat`` columns
(``_PARSED``, keyed by the exact strings the database returned, so never stale)."""

from __future__ import annotations

import json
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import lt
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from models.queries.rows import fetch_rows
from models.queries.scope import Context
from models.schema import Sentence, Transcript, Turn


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

    def in_sentences(self, start: int, end: int) -> bool:
        """Whether a span touches a sentence (else its sentence context falls back to its turn)."""
        return bisect_right(self.sentence_ends, start) <= bisect_left(self.sentence_starts, end) - 1

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


def load_layouts(
    session: Session, transcript_ids: Iterable[int], sentences: bool = True, text: bool = True, turns: bool = True
) -> dict[int, TranscriptLayout]:
    """Layouts of several transcripts in three queries (texts, turns, sentences); ``turns=False`` leaves the
    turns out (a caller that needs only text and sentences)."""
    ids = sorted(set(transcript_ids))
    if not ids:
        return {}
    texts = transcript_texts(session, ids) if text else dict.fromkeys(ids, "")
    columns = turn_columns(session, ids) if turns else {}
    bounds = sentence_bounds(session, ids) if sentences else {}
    layouts = {}
    for tid in ids:
        found = columns.get(tid)
        infos = []
        if found is not None:
            infos = list(map(TurnInfo, found.index, found.speaker, found.role, found.start, found.end))
        starts, ends = bounds.get(tid, ((), ()))
        layouts[tid] = TranscriptLayout(texts.get(tid, ""), infos, list(starts), list(ends))
    return layouts


def transcript_texts(session: Session, ids: list[int]) -> dict[int, str]:
    texts: dict[int, str] = dict.fromkeys(ids, "")
    texts.update(fetch_rows(session, select(Transcript.id, Transcript.text).where(Transcript.id.in_(ids))))
    return texts


@dataclass(frozen=True)
class TurnColumns:
    """One transcript's turns as parallel tuples sorted by (start, index): cheaper than an object per turn."""

    start: tuple[int, ...]
    end: tuple[int, ...]
    index: tuple[int, ...]
    speaker: tuple[str, ...]
    role: tuple[str, ...]


_UNIT_SEPARATOR = "\x1f"  # joins speakers in one string; a speaker containing it is fetched row by row


class joined_text(FunctionElement[str]):
    """A column's values of a group joined into one string (``","`` unless given): SQLite's
    ``group_concat``, PostgreSQL's ``string_agg`` over the values as text."""

    type = String()
    inherit_cache = True
    name = "joined_text"


@compiles(joined_text)
def _joined_sqlite(element: joined_text, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)})"


@compiles(joined_text, "postgresql")
def _joined_postgresql(element: joined_text, compiler: Any, **kw: Any) -> str:
    column, *separator = list(element.clauses)
    sep = compiler.process(separator[0], **kw) if separator else "','"
    return f"string_agg(CAST({compiler.process(column, **kw)} AS TEXT), {sep})"


def turn_columns(session: Session, ids: list[int]) -> dict[int, TurnColumns]:
    """Turns per transcript. A 1M-word corpus has ~20k turns: fetched as comma-joined columns, one row per
    transcript, which is about twice as fast as a row per turn, and parsed once per distinct answer."""
    stmt = (
        select(
            Turn.transcript_id,
            joined_text(Turn.start),
            joined_text(Turn.end),
            joined_text(Turn.index),
            joined_text(Turn.role),
            joined_text(Turn.speaker, _UNIT_SEPARATOR),
        )
        .where(Turn.transcript_id.in_(ids))
        .group_by(Turn.transcript_id)
    )
    out: dict[int, TurnColumns] = {}
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


def _parse_turns(_tag: str, starts: str, ends: str, indexes: str, roles: str, speakers: str) -> TurnColumns | None:
    split_speakers, split_roles = speakers.split(_UNIT_SEPARATOR), roles.split(",")
    found = (_int_list(starts), _int_list(ends), _int_list(indexes), split_speakers, split_roles)
    if not len(found[0]) == len(split_speakers) == len(split_roles):
        return None
    return _sorted_turns(*found)


def _sorted_turns(*columns: Sequence[Any]) -> TurnColumns:
    """Columns (start, end, index, speaker, role) in (start, index) order. SQLite reads turns in index
    order, which is start order for every imported transcript; anything else is sorted explicitly."""
    starts, indexes = columns[0], columns[2]
    if all(map(lt, starts, islice(starts, 1, None))):
        return TurnColumns(*(tuple(column) for column in columns))
    order = sorted(range(len(starts)), key=lambda i: (starts[i], indexes[i]))
    return TurnColumns(*(tuple(column[i] for i in order) for column in columns))


def _int_list(joined: str) -> list[int]:
    """``"3,17,42"`` (``joined_text`` of an integer column) -> ``[3, 17, 42]``; the JSON parser
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


def sentence_bounds(session: Session, ids: list[int]) -> dict[int, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Sentence starts and ends per transcript. A 1M-word corpus has ~100k sentences: fetched as one
    comma-joined string per transcript and parsed in C, which is several times faster than row by row."""
    stmt = (
        select(Sentence.transcript_id, joined_text(Sentence.start), joined_text(Sentence.end))
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
