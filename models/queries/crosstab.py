"""Matrix coding: any two of codes, timepoints, participants, attribute values and coders as rows and columns
(issue 15; NVivo's matrix coding query, MAXQDA's code matrix browser).

Each cell holds the codings at that crossing: how many (``segments``), how many participants they come from,
and the share of the crossing's interview text they cover (``coverage``: coded characters, each counted once
however many codings cover it, over the characters of the interviews in that row and column). A code stands
for itself and its sub-codes (rolled up, as NVivo aggregates). ``segment_ids`` lets a caller open a cell.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.errors import WaveqdaError
from models.queries.retrieval import coded_spans
from models.queries.scope import Attribute, resolve_scope, selected_codes
from models.queries.spans import merge_spans
from models.queries.words import WordRanks, word_ranks
from models.schema import AttributeDefinition, ParticipantAttribute, Timepoint, Transcript

DIMENSIONS = ("codes", "timepoints", "participants", "coders", "attribute")


@dataclass
class CrossCell:
    segments: int = 0
    participants: int = 0
    coverage: float = 0.0
    segment_ids: list[int] = field(default_factory=list)
    words: int = 0  # words coded (each once however many codings cover it); counted when asked (``words=True``)

    def as_dict(self) -> dict[str, Any]:
        return {
            "segments": self.segments,
            "participants": self.participants,
            "coverage": round(self.coverage, 6),
            "words": self.words,
            "segment_ids": self.segment_ids,
        }


@dataclass(frozen=True)
class CrossTab:
    rows_dimension: str
    columns_dimension: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[CrossCell, ...], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_dimension": self.rows_dimension,
            "columns_dimension": self.columns_dimension,
            "rows": list(self.rows),
            "columns": list(self.columns),
            "cells": [[cell.as_dict() for cell in row] for row in self.cells],
        }


def matrix_dimensions(session: Session) -> list[tuple[str, str]]:
    """What can be rows or columns, as ``(spec for crosstab, label)``: the fixed dimensions, then one per
    participant attribute (``attribute:NAME``), in the attributes' defined order."""
    from models.participants import attribute_definitions

    fixed = [("codes", "Codes"), ("timepoints", "Timepoints"), ("participants", "Participants"), ("coders", "Coders")]
    return fixed + [(f"attribute:{d.name}", f"Attribute: {d.name}") for d in attribute_definitions(session)]


def _dimension(spec: str) -> tuple[str, str | None]:
    kind, _, name = spec.partition(":")
    if kind not in DIMENSIONS or (kind == "attribute") != bool(name):
        raise WaveqdaError(
            f"cannot use {spec!r} as rows or columns: use codes, timepoints, participants, coders or attribute:NAME"
        )
    return kind, name or None


def crosstab(
    session: Session,
    rows: str,
    columns: str,
    timepoints: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    coders: Sequence[str] | None = None,
    words: bool = False,
    codes: Sequence[str] | None = None,
) -> CrossTab:
    """The matrix of ``rows`` × ``columns`` (each ``codes``, ``timepoints``, ``participants``, ``coders`` or
    ``attribute:NAME``), over the codings the filters select. ``words`` also counts each cell's coded words
    (the transcripts' word offsets are read for that: the workspace asks, the budgeted CLI default does not).
    ``codes`` (paths or ids) keeps the codings of those codes and their sub-codes, and only those codes as
    rows or columns (an export's ``--codes``)."""
    row_kind, row_name = _dimension(rows)
    col_kind, col_name = _dimension(columns)
    if (row_kind, row_name) == (col_kind, col_name):
        raise WaveqdaError("rows and columns must be two different things")
    tree = CodeTree.load(session, include_archived=False)
    chosen = _chosen_codes(tree, codes)
    spans = coded_spans(session, None, True, timepoints, participants, attribute, coders)
    if chosen is not None:
        spans = [span for span in spans if span.code_id in chosen]
    transcripts = _transcripts(session, timepoints, participants, attribute)
    values = {name: attribute_values(session, name) for name in (row_name, col_name) if name}
    row_labels = _labels(session, tree, row_kind, row_name, transcripts, spans, values, chosen)
    col_labels = _labels(session, tree, col_kind, col_name, transcripts, spans, values, chosen)

    row_keys = _key_function(row_kind, row_name, tree, transcripts, values)
    col_keys = _key_function(col_kind, col_name, tree, transcripts, values)
    hits: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for span in spans:
        if span.transcript_id not in transcripts:
            continue
        columns_here = col_keys(span)
        for r in row_keys(span):
            for c in columns_here:
                hits[(r, c)].append(span)
    text_of = _text_lengths(session, transcripts, values, row_kind, row_name, col_kind, col_name)
    ranks = word_ranks(session, {span.transcript_id for span in spans}) if words else None
    cells = tuple(tuple(_cell(hits.get((r, c), []), text_of(r, c), ranks) for c in col_labels) for r in row_labels)
    return CrossTab(rows, columns, tuple(row_labels), tuple(col_labels), cells)


def _chosen_codes(tree: CodeTree, codes: Sequence[str] | None) -> set[int] | None:
    """The codes named and their visible sub-codes (an unknown one is a one-line error), or None for all."""
    if not codes:
        return None
    chosen: set[int] = set()
    for ref in codes:
        chosen.update(selected_codes(tree, ref, True, False))
    return chosen


def _key_function(
    kind: str,
    name: str | None,
    tree: CodeTree,
    transcripts: dict[int, tuple[int, str, int]],
    values: dict[str, dict[int, str]],
) -> Callable[[Any], Sequence[str]]:
    """What a coded span counts for along one dimension: its code and each ancestor's path, its timepoint,
    participant, coder, or its participant's value of an attribute. Chosen once, looked up per span."""
    if kind == "codes":
        lineage: dict[int, list[str]] = {}  # a code counts for itself and each ancestor

        def codes(span: Any) -> Sequence[str]:
            found = lineage.get(span.code_id)
            if found is None:
                found = lineage[span.code_id] = [tree.path(c) for c in tree.ancestors_and_self(span.code_id)]
            return found

        return codes
    if kind == "timepoints":
        return lambda span: (span.timepoint,)
    if kind == "participants":
        return lambda span: (span.participant,)
    if kind == "coders":
        return lambda span: (span.coder,)
    of_participant = values[name or ""]
    by_transcript = {tid: (of_participant.get(found[0], "(none)"),) for tid, found in transcripts.items()}
    return lambda span: by_transcript[span.transcript_id]


def _cell(spans: list[Any], characters: int, ranks: dict[int, WordRanks] | None = None) -> CrossCell:
    if not spans:
        return CrossCell()
    per_transcript: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for span in spans:
        per_transcript[span.transcript_id].append((span.start, span.end))
    merged = {tid: merge_spans(found) for tid, found in per_transcript.items()}
    covered = sum(e - s for found in merged.values() for s, e in found)
    words = 0
    if ranks is not None:  # the words starting inside each disjoint run, so a word coded twice counts once
        words = sum(ranks[tid].rank(e) - ranks[tid].rank(s) for tid, found in merged.items() for s, e in found)
    return CrossCell(
        segments=len(spans),
        participants=len({span.participant for span in spans}),
        coverage=covered / characters if characters else 0.0,
        segment_ids=sorted(span.id for span in spans),
        words=words,
    )


def _transcripts(
    session: Session,
    timepoints: Sequence[str] | None,
    participants: Sequence[str] | None,
    attribute: Attribute | list[Attribute] | None,
) -> dict[int, tuple[int, str, int]]:
    """transcript id -> (participant id, timepoint key, length) for the transcripts in scope."""
    scope = resolve_scope(session, timepoints, participants, attribute)
    stmt = select(Transcript.id, Transcript.participant_id, Timepoint.key, func.length(Transcript.text)).join(
        Timepoint, Timepoint.id == Transcript.timepoint_id
    )
    return {tid: (pid, key, length) for tid, pid, key, length in session.execute(scope.apply(stmt, with_coder=False))}


def attribute_values(session: Session, name: str) -> dict[int, str]:
    """participant id -> the attribute's value as text ("(none)" for an empty one); one line if unknown."""
    definition = session.scalar(select(AttributeDefinition).where(AttributeDefinition.name == name))
    if definition is None:
        raise WaveqdaError(f"no attribute named {name!r}")
    rows = session.execute(
        select(ParticipantAttribute.participant_id, ParticipantAttribute.value).where(
            ParticipantAttribute.attribute_id == definition.id
        )
    )
    return {pid: str(value) if value not in (None, "") else "(none)" for pid, value in rows}


def _labels(
    session: Session,
    tree: CodeTree,
    kind: str,
    name: str | None,
    transcripts: dict[int, tuple[int, str, int]],
    spans: Sequence[Any],
    values: dict[str, dict[int, str]],
    chosen: set[int] | None = None,
) -> list[str]:
    if kind == "codes":
        return [tree.path(code_id) for code_id, _depth in tree.walk() if chosen is None or code_id in chosen]
    if kind == "timepoints":
        keys = {key for _pid, key, _len in transcripts.values()}
        return [t.key for t in session.scalars(select(Timepoint).order_by(Timepoint.position)) if t.key in keys]
    if kind == "participants":
        return sorted({span.participant for span in spans} | _study_ids(session, transcripts))
    if kind == "coders":
        return sorted({span.coder for span in spans})
    found = values[name or ""]
    return sorted({found.get(pid, "(none)") for pid, _key, _len in transcripts.values()})


def _study_ids(session: Session, transcripts: dict[int, tuple[int, str, int]]) -> set[str]:
    from models.schema import Participant

    ids = {pid for pid, _key, _len in transcripts.values()}
    return {sid for pid, sid in session.execute(select(Participant.id, Participant.study_id)) if pid in ids}


def _text_lengths(
    session: Session,
    transcripts: dict[int, tuple[int, str, int]],
    values: dict[str, dict[int, str]],
    row_kind: str,
    row_name: str | None,
    col_kind: str,
    col_name: str | None,
) -> Any:
    """The characters of the interviews at a crossing (codes and coders do not narrow the interviews)."""
    from models.schema import Participant

    study = {pid: sid for pid, sid in session.execute(select(Participant.id, Participant.study_id))}

    def matches(kind: str, name: str | None, label: str, pid: int, key: str) -> bool:
        if kind == "timepoints":
            return key == label
        if kind == "participants":
            return study.get(pid) == label
        if kind == "attribute":
            return values[name or ""].get(pid, "(none)") == label
        return True

    cache: dict[tuple[str, str], int] = {}

    def length(r: str, c: str) -> int:
        key_r = r if row_kind not in ("codes", "coders") else "*"
        key_c = c if col_kind not in ("codes", "coders") else "*"
        if (key_r, key_c) not in cache:
            cache[(key_r, key_c)] = sum(
                n
                for pid, key, n in transcripts.values()
                if matches(row_kind, row_name, r, pid, key) and matches(col_kind, col_name, c, pid, key)
            )
        return cache[(key_r, key_c)]

    return length
