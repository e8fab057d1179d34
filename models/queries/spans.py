"""Interval arithmetic on ``[start, end)`` spans: unions (``merge_spans``: touching spans join), passages
(``joined_spans`` and ``group_passages``: only spans that share text join)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, TypeVar


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


def joined_spans(spans: list[tuple[int, int]], ordered: bool = False) -> list[tuple[int, int]]:
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
