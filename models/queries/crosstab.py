"""Matrix coding: any two of codes, timepoints, participants, attribute values and coders as rows and columns
(issue 15; NVivo's matrix coding query, MAXQDA's code matrix browser).

Each cell holds the codings at that crossing: how many (``segments``), how many participants they come from,
and the share of the crossing's interview text they cover (``coverage``: coded characters, each counted once
however many codings cover it, over the characters of the interviews in that row and column). A code stands
for itself and its sub-codes (rolled up, as NVivo aggregates). ``segment_ids`` lets a caller open a cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.errors import WaveqdaError
from models.queries.rows import collector_paused, driver_rows, fetch_rows
from models.queries.scope import Attribute, resolve_scope, selected_codes, where_codes
from models.queries.words import WordRanks, word_ranks
from models.schema import AttributeDefinition, Coder, Coding, Participant, ParticipantAttribute, Timepoint, Transcript

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
    tree = CodeTree.load(session)
    visible = selected_codes(tree, None, True, False)  # archived codes (and theirs) are left out, as everywhere
    chosen = _chosen_codes(tree, codes)
    shown_codes = [cid for cid in visible if chosen is None or cid in chosen]
    transcripts = _transcripts(session, timepoints, participants, attribute)
    spans = _span_rows(session, tree, shown_codes, timepoints, participants, attribute, coders)
    coder_names = dict(fetch_rows(session, select(Coder.id, Coder.name)))
    study = dict(fetch_rows(session, select(Participant.id, Participant.study_id)))
    values = {name: attribute_values(session, name) for name in (row_name, col_name) if name}
    used_coders = sorted({coder_names[coder_id] for _id, _code, _tid, coder_id, _s, _e in spans})
    row_labels = _labels(session, tree, row_kind, row_name, transcripts, shown_codes, values, study, used_coders)
    col_labels = _labels(session, tree, col_kind, col_name, transcripts, shown_codes, values, study, used_coders)

    row_field, row_keys = _key_function(row_kind, row_name, tree, transcripts, values, study, coder_names, spans)
    col_field, col_keys = _key_function(col_kind, col_name, tree, transcripts, values, study, coder_names, spans)
    row_index = _indexed(row_keys, row_labels)
    col_index = _indexed(col_keys, col_labels)
    ranks = word_ranks(session, {row[2] for row in spans}) if words else None
    width = len(col_labels)
    found: list[list[Any] | None] = [None] * (len(row_labels) * width)
    # Each cell is [coding ids, participants, covered, words, run's transcript, run's start, run's end]: filled
    # span by span in transcript and offset order, so the union of its spans (coverage and words count each
    # character once however many codings cover it) is one open run, with no lists of spans to sort and merge.
    for span in spans:
        coding_id, _code, tid, _coder, start, end = span
        if tid not in transcripts:
            continue
        participant = transcripts[tid][0]
        columns_here = col_index[span[col_field]]
        for r in row_index[span[row_field]]:
            base = r * width
            for c in columns_here:
                cell = found[base + c]
                if cell is None:
                    cell = found[base + c] = [[], set(), 0, 0, -1, -1, -1]
                cell[0].append(coding_id)
                cell[1].add(participant)
                if tid == cell[4] and start <= cell[6]:  # touches or overlaps the open run: extend it
                    if end > cell[6]:
                        cell[6] = end
                    continue
                if cell[4] >= 0:
                    _close_run(cell, ranks)
                cell[4], cell[5], cell[6] = tid, start, end
    text_of = _text_lengths(transcripts, values, study, row_kind, row_name, col_kind, col_name)
    cells = tuple(
        tuple(_finished(found[r * width + c], text_of(row, column), ranks) for c, column in enumerate(col_labels))
        for r, row in enumerate(row_labels)
    )
    return CrossTab(rows, columns, tuple(row_labels), tuple(col_labels), cells)


def _indexed(keys: dict[int, Sequence[str]], labels: list[str]) -> dict[int, tuple[int, ...]]:
    """Each key's labels as positions among the labels shown (a label not shown, such as the parent of a
    code outside ``--codes``, is left out)."""
    position = {label: i for i, label in enumerate(labels)}
    return {key: tuple(position[found] for found in values if found in position) for key, values in keys.items()}


def _close_run(cell: list[Any], ranks: dict[int, WordRanks] | None) -> None:
    cell[2] += cell[6] - cell[5]
    if ranks is not None:  # the words starting inside the run, so a word coded twice counts once
        found = ranks[cell[4]]
        cell[3] += found.rank(cell[6]) - found.rank(cell[5])


def _finished(cell: list[Any] | None, characters: int, ranks: dict[int, WordRanks] | None) -> CrossCell:
    if cell is None:
        return CrossCell()
    _close_run(cell, ranks)
    return CrossCell(
        segments=len(cell[0]),
        participants=len(cell[1]),
        coverage=cell[2] / characters if characters else 0.0,
        segment_ids=sorted(cell[0]),
        words=cell[3],
    )


def _span_rows(
    session: Session,
    tree: CodeTree,
    code_ids: list[int],
    timepoints: Sequence[str] | None,
    participants: Sequence[str] | None,
    attribute: Attribute | list[Attribute] | None,
    coders: Sequence[str] | None,
) -> list[tuple[int, int, int, int, int, int]]:
    """``(coding id, code, transcript, coder, start, end)`` of the codings in scope, in transcript and offset
    order: the columns a matrix needs, straight from the driver (no object per coding)."""
    if not code_ids:
        return []
    scope = resolve_scope(session, timepoints, participants, attribute, coders)
    stmt = select(Coding.id, Coding.code_id, Coding.transcript_id, Coding.coder_id, Coding.start, Coding.end).join(
        Transcript, Transcript.id == Coding.transcript_id
    )
    stmt = scope.apply(where_codes(stmt, tree, code_ids)).order_by(Coding.transcript_id, Coding.start)
    with collector_paused():
        return driver_rows(session, stmt)


def _chosen_codes(tree: CodeTree, codes: Sequence[str] | None) -> set[int] | None:
    """The codes named and their visible sub-codes (an unknown one is a one-line error), or None for all."""
    if not codes:
        return None
    chosen: set[int] = set()
    for ref in codes:
        chosen.update(selected_codes(tree, ref, True, False))
    return chosen


CODE, TRANSCRIPT, CODER = 1, 2, 3  # positions in a ``_span_rows`` row


def _key_function(
    kind: str,
    name: str | None,
    tree: CodeTree,
    transcripts: dict[int, tuple[int, str, int]],
    values: dict[str, dict[int, str]],
    study: dict[int, str],
    coder_names: dict[int, str],
    spans: list[tuple[int, int, int, int, int, int]],
) -> tuple[int, dict[int, Sequence[str]]]:
    """What a coding counts for along one dimension, as ``(the row position it is read from, {value: labels})``:
    its code and each ancestor's path, its timepoint, participant, coder, or its participant's value of an
    attribute. Chosen once per dimension, looked up per coding."""
    if kind == "codes":  # a code counts for itself and each ancestor
        codes = {code_id for _id, code_id, _tid, _coder, _s, _e in spans}
        return CODE, {code_id: [tree.path(c) for c in tree.ancestors_and_self(code_id)] for code_id in codes}
    if kind == "coders":
        return CODER, {coder_id: (found,) for coder_id, found in coder_names.items()}
    if kind == "timepoints":
        return TRANSCRIPT, {tid: (key,) for tid, (_pid, key, _len) in transcripts.items()}
    if kind == "participants":
        return TRANSCRIPT, {tid: (study[pid],) for tid, (pid, _key, _len) in transcripts.items()}
    of_participant = values[name or ""]
    return TRANSCRIPT, {tid: (of_participant.get(pid, "(none)"),) for tid, (pid, _key, _len) in transcripts.items()}


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
    code_ids: list[int],
    values: dict[str, dict[int, str]],
    study: dict[int, str],
    coders: list[str],
) -> list[str]:
    if kind == "codes":
        return [tree.path(code_id) for code_id in code_ids]
    if kind == "timepoints":
        keys = {key for _pid, key, _len in transcripts.values()}
        return [t.key for t in session.scalars(select(Timepoint).order_by(Timepoint.position)) if t.key in keys]
    if kind == "participants":
        return sorted({study[pid] for pid, _key, _len in transcripts.values()})
    if kind == "coders":
        return coders
    found = values[name or ""]
    return sorted({found.get(pid, "(none)") for pid, _key, _len in transcripts.values()})


def _text_lengths(
    transcripts: dict[int, tuple[int, str, int]],
    values: dict[str, dict[int, str]],
    study: dict[int, str],
    row_kind: str,
    row_name: str | None,
    col_kind: str,
    col_name: str | None,
) -> Callable[[str, str], int]:
    """The characters of the interviews at a crossing (codes and coders do not narrow the interviews)."""

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
