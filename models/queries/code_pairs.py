"""Co-occurrence: pairs of codes whose codings share text or a speaker turn, with the segment pairs behind
each count."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.queries.layouts import TranscriptLayout, load_layouts
from models.queries.retrieval import Segment, retrieve
from models.queries.rows import fetch_rows
from models.queries.scope import Scope, codebook_order, resolve_scope, selected_codes, where_codes
from models.schema import Coding, Transcript


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
    turns = (first.turn_index, second.turn_index, first.last_turn_index, second.last_turn_index)
    if turns[0] is not None and turns[1] is not None and turns[2] is not None and turns[3] is not None:
        low = max(turns[0], turns[1])
        high = min(turns[2], turns[3])
        shared = list(range(low, high + 1))
    if overlap is None and not shared:
        return None
    return SegmentPair(first, second, overlap, shared)
