"""The code x timepoint matrix: per code (rolled up over its sub-codes) and timepoint, segments, passages,
participants and words coded, with the interviews coded per timepoint. Coverage per transcript is a bit
mask over the transcript's words (``models.queries.words``), so overlaps count once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.queries.rows import collector_paused, driver_rows, fetch_rows
from models.queries.scope import (
    Attribute,
    Scope,
    hidden_codes,
    resolve_scope,
    selected_codes,
    transcripts_coded,
    where_codes,
)
from models.queries.spans import joined_spans
from models.queries.words import LOW_BITS, WordRanks, word_ranks
from models.schema import Coding, Timepoint, Transcript
from models.store import timepoints as project_timepoints


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
                    passages[tid] = joined_spans(mine + theirs)
            else:
                counts[tid] = n
                masks[tid] = other.masks[tid]
                passages[tid] = other.passages[tid]


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
    with collector_paused():
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
    for _tid, key, coded in transcripts_coded(session, scope):
        if key in found:
            found[key].transcripts += 1
            found[key].coded += coded
    return found


def _own_coverage(rows: Sequence[Any], ranks: dict[int, WordRanks] | None) -> dict[int, _Coverage]:
    """Each code's own codings per transcript. Rows come sorted by code, transcript and start, so the
    spans of a (code, transcript) merge into disjoint runs on the way and each run's words become one
    block of bits (``WordRanks.rank``, inlined: this loop sees every coding). Without ``ranks``, counts
    only (empty masks)."""
    own: dict[int, _Coverage] = defaultdict(_Coverage)
    if ranks is None:
        for (code_id, tid), run in groupby(rows, key=itemgetter(0, 1)):
            coverage = own[code_id]
            joined: list[tuple[int, int]] = []  # ``joined_spans`` inlined: rows come in start order
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
    low_bits = LOW_BITS
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
        coverage.passages[tid] = joined_spans(spans, ordered=True)
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
