"""Intercoder agreement over a project: per code × transcript, roll-ups, the disagreement list, consensus.

The statistics themselves are pure functions in ``models.agreement``; this module decides *what* is
compared and how results are pooled, and writes consensus codings.

Scope. Coders are compared on the transcripts every one of them has coded (any coding at all), unless
transcripts are named: a coder who never opened a transcript has not disagreed about it. Codes are those
named (with their descendants), else every code any compared coder applied in those transcripts. Codings
whose position is uncertain after a merge (status ``needs_review``) are left out and counted.

Cells and roll-ups. A cell is one code in one transcript that at least one coder applied; a code nobody
applied in a transcript is agreement on absence and only enters the *pooled* figures. Each roll-up is
labelled with its method:
- pooled: the unit tables summed (and, for cu-α, the transcripts laid end to end in study order as one
  continuum per code; over codes α = 1 − ΣD_o/ΣD_e, Krippendorff 2004);
- mean: the unweighted mean of the cells' values, cells where a value is undefined left out;
- length-weighted mean: the same weighted by each cell's transcript length in characters.

Consensus. Settling a disagreement sets what the coder ``consensus`` holds over that stretch (one coder's
coding, the whole stretch, or nothing); each settlement is one undoable step and its event detail records
who settled what and when, and the consensus coding's memo says so too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import agreement as stats
from models.codes import CodeTree
from models.coding import apply_code_in_session, check_span, keep_as_project_memos, transcript_label
from models.errors import NotFoundError, WaveqdaError
from models.participants import find_coder, get_or_create_coder
from models.schema import Code, Coder, Coding, Event, Sentence, Transcript, Turn, utcnow
from models.store import Project
from models.transcripts import find_transcript, list_transcripts

UNITS = ("character", "sentence", "turn")
CONSENSUS_CODER = "consensus"
SETTLE_OPERATION = "agreement.settle"
ADOPT_OPERATION = "agreement.adopt"
UNION_WORDS = ("both", "union")
NONE_WORDS = ("none", "intersection")

POOLED = "pooled: unit tables summed; cu-α on the transcripts laid end to end (α = 1 − ΣD_o/ΣD_e over codes)"
MEAN = "mean: unweighted mean over cells where any coder applied the code; undefined cells left out"
WEIGHTED = "length-weighted mean: as mean, weighted by transcript length in characters"
CELL = "one code in one transcript"


# --- what is compared ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptInfo:
    id: int
    uuid: str
    label: str
    participant: str
    timepoint: str
    text: str


@dataclass(frozen=True)
class CodeInfo:
    id: int
    uuid: str
    path: str


@dataclass
class Comparison:
    """Everything loaded once: coders, codes, transcripts in study order, and each cell's spans per coder."""

    coders: list[Coder]
    codes: list[CodeInfo]
    transcripts: list[TranscriptInfo]
    spans: dict[tuple[int, int], list[list[stats.Span]]]  # (code id, transcript id) -> spans per coder
    excluded: int  # needs-review codings left out

    def cells(self) -> list[tuple[CodeInfo, TranscriptInfo, list[list[stats.Span]]]]:
        return [
            (code, transcript, self.spans[(code.id, transcript.id)])
            for code in self.codes
            for transcript in self.transcripts
            if (code.id, transcript.id) in self.spans
        ]


def _compared_coders(session: Session, names: Sequence[str]) -> list[Coder]:
    coders = [find_coder(session, name.strip()) for name in names]
    if len({c.id for c in coders}) != len(coders):
        raise WaveqdaError("a coder is named twice: give each coder once")
    if len(coders) < 2:
        raise WaveqdaError("agreement needs at least two coders: --coders A B")
    return coders


def _coding_rows(session: Session, coder_ids: list[int]) -> list[tuple[int, int, int, int, int, str]]:
    """``(code, transcript, coder, start, end, status)`` of every coding by these coders, as plain tuples."""
    c = Coding.__table__.c
    stmt = select(c.code_id, c.transcript_id, c.coder_id, c.start, c.end, c.status).where(c.coder_id.in_(coder_ids))
    return [tuple(row) for row in session.connection().execute(stmt)]


def _transcripts(
    session: Session, refs: Sequence[str] | None, coder_ids: list[int], rows: list[tuple]
) -> list[TranscriptInfo]:
    """Named transcripts, or those every compared coder coded, in study order (participant, timepoint)."""
    if refs:
        wanted = {find_transcript(session, ref).id for ref in refs}
    else:
        coded_by: dict[int, set[int]] = defaultdict(set)
        for _code, tid, coder, _s, _e, _status in rows:
            coded_by[tid].add(coder)
        wanted = {tid for tid, who in coded_by.items() if who >= set(coder_ids)}
    return [
        TranscriptInfo(t.id, t.uuid, transcript_label(t), t.participant.study_id, t.timepoint.key, t.text)
        for t in list_transcripts(session)
        if t.id in wanted
    ]


def _codes(tree: CodeTree, refs: Sequence[str] | None, used: set[int]) -> list[CodeInfo]:
    """Named codes with their descendants, or every code used, in codebook order."""
    if refs:
        wanted: set[int] = set()
        for ref in refs:
            code = tree.find(ref)
            wanted.update([code.id, *tree.descendants(code.id)])
    else:
        wanted = used
    return [CodeInfo(cid, tree.codes[cid].uuid, tree.path(cid)) for cid, _ in tree.walk() if cid in wanted]


def load_comparison(
    session: Session,
    coders: Sequence[str],
    codes: Sequence[str] | None = None,
    transcripts: Sequence[str] | None = None,
) -> Comparison:
    """Resolve the names and load every coding in scope, each coder's spans normalised per cell.

    Transcripts being coded blind are refused for anyone but the owner: with the others' codings hidden,
    agreement there would compare a coder with nothing."""
    from models.blind import refuse_blind_reading

    named = [find_transcript(session, ref).id for ref in transcripts] if transcripts else None
    refuse_blind_reading(session, named, "agreement")
    coder_rows = _compared_coders(session, coders)
    coder_ids = [c.id for c in coder_rows]
    rows = _coding_rows(session, coder_ids)
    scope = _transcripts(session, transcripts, coder_ids, rows)
    if not scope:
        names = ", ".join(c.name for c in coder_rows)
        raise WaveqdaError(f"no transcript was coded by all of {names}; name transcripts with --transcripts")
    in_scope = {t.id for t in scope}
    placed = [r for r in rows if r[1] in in_scope and r[5] != "needs_review"]
    code_infos = _codes(CodeTree.load(session), codes, {r[0] for r in placed})
    wanted_codes = {c.id for c in code_infos}
    position = {cid: i for i, cid in enumerate(coder_ids)}
    raw: dict[tuple[int, int], list[list[stats.Span]]] = {}
    for code, tid, coder, start, end, _status in placed:
        if code in wanted_codes:
            raw.setdefault((code, tid), [[] for _ in coder_ids])[position[coder]].append((start, end))
    lengths = {t.id: len(t.text) for t in scope}
    spans = {key: [stats.normalise(s, 0, lengths[key[1]]) for s in per_coder] for key, per_coder in raw.items()}
    excluded = sum(1 for r in rows if r[1] in in_scope and r[5] == "needs_review")
    return Comparison(coder_rows, code_infos, scope, spans, excluded)


def _unit_spans(session: Session, unit: str, transcript_ids: list[int]) -> dict[int, stats.UnitBounds]:
    """Sentence or turn boundaries per transcript, in text order (read with Core: tens of thousands of rows)."""
    table = (Sentence if unit == "sentence" else Turn).__table__
    starts: dict[int, list[int]] = {tid: [] for tid in transcript_ids}
    ends: dict[int, list[int]] = {tid: [] for tid in transcript_ids}
    rows = session.connection().execute(
        select(table.c.transcript_id, table.c.start, table.c.end)
        .where(table.c.transcript_id.in_(transcript_ids))
        .order_by(table.c.transcript_id, table.c.start)
    )
    for tid, start, end in rows:
        starts[tid].append(start)
        ends[tid].append(end)
    return {tid: stats.UnitBounds(starts[tid], ends[tid]) for tid in transcript_ids}


# --- results -------------------------------------------------------------------------------------------


STATISTICS = ("percent_agreement", "kappa", "alpha_binary", "cu_alpha")


@dataclass(frozen=True)
class Figures:
    """One set of statistics (``values``, keyed as ``STATISTICS``), labelled with how it was obtained."""

    method: str
    cells: int
    table: stats.UnitTable | None
    values: dict[str, stats.Estimate]
    cu_terms: stats.UnitizingTerms | None = None

    def as_json(self, coders: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "cells": self.cells}
        if self.table is not None:
            out["table"] = table_json(self.table, coders)
        out.update({name: e.value for name, e in self.values.items()})
        if self.cu_terms is not None:
            out["cu_alpha_terms"] = {"observed": self.cu_terms.observed, "expected": self.cu_terms.expected}
        undefined = {name: e.reason for name, e in self.values.items() if e.value is None}
        if undefined:
            out["undefined"] = undefined
        return out


def table_json(table: stats.UnitTable, coders: list[str]) -> dict[str, Any]:
    """``{"units", "all", "none", "partial": [{"coded_by": [...], "units": n}]}`` for any number of coders."""
    partial = [
        {"coded_by": [name for i, name in enumerate(coders) if mask >> i & 1], "units": n}
        for mask, n in sorted(table.counts.items())
        if mask not in (0, table.full)
    ]
    return {
        "units": table.total,
        "all": table.counts.get(table.full, 0),
        "none": table.counts.get(0, 0),
        "partial": partial,
    }


def pooled_figures(
    tables: Sequence[stats.UnitTable], terms: Sequence[stats.UnitizingTerms], cells: int, method: str = POOLED
) -> Figures:
    """Statistics of summed tables, and cu-α as 1 − ΣD_o/ΣD_e."""
    table = stats.UnitTable.pooled(tables)
    values = {
        "percent_agreement": stats.percent_agreement(table),
        "kappa": stats.table_kappa(table),
        "alpha_binary": stats.binary_alpha(table),
        "cu_alpha": stats.unitizing_alpha(terms),
    }
    combined = stats.UnitizingTerms(sum(t.observed for t in terms), sum(t.expected for t in terms))
    return Figures(method, cells, table, values, combined)


def _average(cells: Sequence[CellResult], name: str, weights: list[float]) -> stats.Estimate:
    total = weight = 0.0
    for cell, w in zip(cells, weights, strict=True):
        value = cell.figures.values[name].value
        if value is not None:
            total += value * w
            weight += w
    if weight == 0:
        return stats.Estimate.undefined("undefined in every cell")
    return stats.Estimate(total / weight)


def averaged_figures(cells: Sequence[CellResult], weighted: bool) -> Figures:
    """The mean (or transcript-length-weighted mean) of the cells' values, undefined cells left out."""
    weights = [float(c.length) if weighted else 1.0 for c in cells]
    values = {name: _average(cells, name, weights) for name in STATISTICS}
    return Figures(WEIGHTED if weighted else MEAN, len(cells), None, values)


@dataclass(frozen=True)
class CellResult:
    code: CodeInfo
    transcript: TranscriptInfo
    length: int
    figures: Figures

    @property
    def table(self) -> stats.UnitTable:
        """The cell's own coding table (a cell's figures are pooled from it, so it is always there)."""
        assert self.figures.table is not None
        return self.figures.table

    @property
    def cu_terms(self) -> stats.UnitizingTerms:
        """The cell's cu-α terms (computed for every cell)."""
        assert self.figures.cu_terms is not None
        return self.figures.cu_terms

    def as_json(self, coders: list[str]) -> dict[str, Any]:
        return {
            "code": self.code.path,
            "code_id": self.code.id,
            "transcript": self.transcript.label,
            "transcript_id": self.transcript.id,
            "participant": self.transcript.participant,
            "timepoint": self.transcript.timepoint,
            **{k: v for k, v in self.figures.as_json(coders).items() if k not in ("method", "cells")},
        }


@dataclass(frozen=True)
class RollUp:
    """One row of a roll-up (a code, a transcript, or everything) with its labelled figures."""

    label: str
    ident: int | None
    figures: list[Figures]


@dataclass
class AgreementReport:
    unit: str
    coders: list[str]
    transcripts: list[TranscriptInfo]
    excluded: int
    cells: list[CellResult]
    per_code: list[RollUp]
    per_transcript: list[RollUp]
    overall: list[Figures]

    def as_json(self) -> dict[str, Any]:
        """The documented JSON: unit, coders, per_code_transcript, per_code, per_transcript, overall."""

        def rollup(r: RollUp, key: str) -> dict[str, Any]:
            return {key: r.label, f"{key}_id": r.ident, **{_json_key(f): f.as_json(self.coders) for f in r.figures}}

        return {
            "unit": self.unit,
            "coders": self.coders,
            "transcripts": [t.label for t in self.transcripts],
            "excluded_needs_review": self.excluded,
            "per_code_transcript": [c.as_json(self.coders) for c in self.cells],
            "per_code": [rollup(r, "code") for r in self.per_code],
            "per_transcript": [rollup(r, "transcript") for r in self.per_transcript],
            "overall": {_json_key(f): f.as_json(self.coders) for f in self.overall},
        }


def _json_key(figures: Figures) -> str:
    return {POOLED: "pooled", MEAN: "mean", WEIGHTED: "length_weighted_mean"}[figures.method]


# --- computing -----------------------------------------------------------------------------------------


def _cell(
    code: CodeInfo, transcript: TranscriptInfo, spans: list[list[stats.Span]], units: stats.UnitBounds | None
) -> CellResult:
    length = len(transcript.text)
    if units is None:
        table = stats.character_table(spans, length, normalised=True)
    else:
        table = stats.unit_table(spans, units, normalised=True)
    terms = stats.unitizing_terms(spans, 0, length, normalised=True)
    return CellResult(code, transcript, length, _cell_figures(table, terms))


def _cell_figures(table: stats.UnitTable, terms: stats.UnitizingTerms) -> Figures:
    """``pooled_figures([table], [terms], 1, CELL)`` without pooling one table with itself (every cell)."""
    values = {
        "percent_agreement": stats.percent_agreement(table),
        "kappa": stats.table_kappa(table),
        "alpha_binary": stats.binary_alpha(table),
        "cu_alpha": stats.unitizing_alpha([terms]),
    }
    return Figures(CELL, 1, table, values, terms)


def _empty_table(coders: int, units: int) -> stats.UnitTable:
    """Cells nobody coded: every unit agreed absent."""
    return stats.UnitTable(coders, {0: units} if units else {})


def _end_to_end_terms(comparison: Comparison, code: CodeInfo) -> stats.UnitizingTerms:
    """cu-α terms of one code on all transcripts laid end to end in study order (one continuum)."""
    per_coder: list[list[stats.Span]] = [[] for _ in comparison.coders]
    offset = 0
    for transcript in comparison.transcripts:
        for i, spans in enumerate(comparison.spans.get((code.id, transcript.id), [])):
            per_coder[i].extend((s + offset, e + offset) for s, e in spans)
        offset += len(transcript.text)
    # each transcript's spans are normalised within it and the transcripts follow each other: already normalised
    return stats.unitizing_terms(per_coder, 0, offset, normalised=True)


def agreement_report(
    project: Project,
    coders: Sequence[str],
    codes: Sequence[str] | None = None,
    transcripts: Sequence[str] | None = None,
    unit: str = "character",
) -> AgreementReport:
    """Agreement of the named coders per code × transcript, per code, per transcript and overall."""
    if unit not in UNITS:
        raise WaveqdaError(f"unknown unit {unit!r}: use one of {', '.join(UNITS)}")
    with project.read() as session:
        comparison = load_comparison(session, coders, codes, transcripts)
        ids = [t.id for t in comparison.transcripts]
        units = None if unit == "character" else _unit_spans(session, unit, ids)
    return build_report(comparison, unit, units)


def build_report(comparison: Comparison, unit: str, units: dict[int, stats.UnitBounds] | None) -> AgreementReport:
    """The report from loaded spans (separate from loading so the arithmetic can be timed on its own)."""
    sizes = {t.id: len(t.text) if units is None else len(units[t.id]) for t in comparison.transcripts}
    cells = [
        _cell(code, transcript, spans, None if units is None else units[transcript.id])
        for code, transcript, spans in comparison.cells()
    ]
    code_terms = {code.id: _end_to_end_terms(comparison, code) for code in comparison.codes}
    m = len(comparison.coders)
    uncovered = sum(sizes.values()) * len(comparison.codes) - sum(c.table.total for c in cells)
    overall = [
        pooled_figures([*(c.table for c in cells), _empty_table(m, uncovered)], list(code_terms.values()), len(cells)),
        *_means(cells),
    ]
    return AgreementReport(
        unit,
        [c.name for c in comparison.coders],
        comparison.transcripts,
        comparison.excluded,
        cells,
        _per_code(comparison, cells, sizes, code_terms),
        _per_transcript(comparison, cells, sizes),
        overall,
    )


def _per_code(
    comparison: Comparison,
    cells: list[CellResult],
    sizes: dict[int, int],
    code_terms: dict[int, stats.UnitizingTerms],
) -> list[RollUp]:
    """Each code over the transcripts: pooled (transcripts it was not applied in count as agreed absence),
    mean and length-weighted mean over its cells."""
    by_code: dict[int, list[CellResult]] = defaultdict(list)
    for cell in cells:
        by_code[cell.code.id].append(cell)
    out = []
    for code in comparison.codes:
        mine = by_code[code.id]
        absent = sum(sizes[t.id] for t in comparison.transcripts if (code.id, t.id) not in comparison.spans)
        tables = [c.table for c in mine] + [_empty_table(len(comparison.coders), absent)]
        out.append(
            RollUp(code.path, code.id, [pooled_figures(tables, [code_terms[code.id]], len(mine)), *_means(mine)])
        )
    return out


def _per_transcript(comparison: Comparison, cells: list[CellResult], sizes: dict[int, int]) -> list[RollUp]:
    """Each transcript over the codes: pooled (α = 1 − ΣD_o/ΣD_e for cu-α) and the mean over its cells."""
    by_transcript: dict[int, list[CellResult]] = defaultdict(list)
    for cell in cells:
        by_transcript[cell.transcript.id].append(cell)
    out = []
    for transcript in comparison.transcripts:
        mine = by_transcript[transcript.id]
        absent = sizes[transcript.id] * (len(comparison.codes) - len(mine))
        tables = [c.table for c in mine] + [_empty_table(len(comparison.coders), absent)]
        terms = [c.cu_terms for c in mine]
        out.append(
            RollUp(
                transcript.label,
                transcript.id,
                [pooled_figures(tables, terms, len(mine)), averaged_figures(mine, False)],
            )
        )
    return out


def _means(cells: list[CellResult]) -> list[Figures]:
    return [averaged_figures(cells, False), averaged_figures(cells, True)]


# --- the disagreement list -----------------------------------------------------------------------------

KEY_RE = re.compile(r"^(?P<transcript>[0-9a-fA-F-]{36})/(?P<code>[0-9a-fA-F-]{36})/(?P<start>\d+)-(?P<end>\d+)$")


@dataclass(frozen=True)
class Disagreement:
    """A maximal stretch of text that some compared coders coded with a code and others did not."""

    key: str
    transcript_id: int
    transcript: str
    participant: str
    timepoint: str
    code_id: int
    code: str
    start: int
    end: int
    text: str
    coded_by: list[str]
    not_coded_by: list[str]
    settled: str | None

    def as_row(self) -> dict[str, Any]:
        """A flat row for CSV/Word exports of the disagreement list."""
        return {
            "key": self.key,
            "transcript": self.transcript,
            "participant": self.participant,
            "timepoint": self.timepoint,
            "code": self.code,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "coded_by": ", ".join(self.coded_by),
            "not_coded_by": ", ".join(self.not_coded_by),
            "settled": self.settled or "",
        }


def make_key(transcript_uuid: str, code_uuid: str, start: int, end: int) -> str:
    """Stable across sessions and machines: UUIDs survive merges, offsets into immutable text stay valid."""
    return f"{transcript_uuid}/{code_uuid}/{start}-{end}"


def _settlements(session: Session) -> dict[str, str]:
    """The latest standing decision per disagreement key (undone settlements do not count)."""
    rows = session.scalars(
        select(Event.detail).where(Event.operation == SETTLE_OPERATION, Event.state == "done").order_by(Event.id)
    )
    return {d["key"]: d["decision"] for d in rows if d and "key" in d}


def disagreements(
    project: Project,
    coders: Sequence[str],
    codes: Sequence[str] | None = None,
    transcripts: Sequence[str] | None = None,
    pending_only: bool = False,
) -> list[Disagreement]:
    """Every disagreement, ordered for a consensus meeting: transcript in study order, position, codebook."""
    with project.read() as session:
        comparison = load_comparison(session, coders, codes, transcripts)
        settled = _settlements(session)
    names = [c.name for c in comparison.coders]
    full = (1 << len(names)) - 1
    out: list[Disagreement] = []
    for code, transcript, spans in comparison.cells():
        for start, end, mask in stats.sweep(spans):
            if mask in (0, full):
                continue
            key = make_key(transcript.uuid, code.uuid, start, end)
            out.append(
                Disagreement(
                    key,
                    transcript.id,
                    transcript.label,
                    transcript.participant,
                    transcript.timepoint,
                    code.id,
                    code.path,
                    start,
                    end,
                    transcript.text[start:end],
                    [n for i, n in enumerate(names) if mask >> i & 1],
                    [n for i, n in enumerate(names) if not mask >> i & 1],
                    settled.get(key),
                )
            )
    order = {t.id: i for i, t in enumerate(comparison.transcripts)}
    code_order = {c.id: i for i, c in enumerate(comparison.codes)}
    out.sort(key=lambda d: (order[d.transcript_id], d.start, code_order[d.code_id], d.end))
    return [d for d in out if not (pending_only and d.settled)]


def disagreement_rows(
    project: Project,
    coders: Sequence[str],
    codes: Sequence[str] | None = None,
    transcripts: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The disagreement list as flat rows (for ``export --kind disagreements``)."""
    return [d.as_row() for d in disagreements(project, coders, codes, transcripts)]


# --- consensus -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    key: str
    decision: str
    coded: list[stats.Span]  # what the consensus coder now holds inside the stretch
    summary: str


def _parse_key(key: str) -> re.Match[str]:
    match = KEY_RE.match(key.strip())
    if not match or int(match["start"]) >= int(match["end"]):
        raise WaveqdaError(
            f"invalid disagreement key {key!r}: copy it from `waveqda disagreements` (TRANSCRIPT/CODE/START-END)"
        )
    return match


def _by_uuid(session: Session, model: type[Transcript] | type[Code], uuid: str, what: str) -> Any:
    found = session.scalar(select(model).where(func.lower(model.uuid) == uuid.lower()))
    if found is None:
        raise NotFoundError(f"no {what} {uuid} in this project (is the key from another project?)")
    return found


def _coverage(
    session: Session, coder_id: int, transcript_id: int, code_id: int, start: int, end: int
) -> list[stats.Span]:
    """What one coder coded with a code within ``[start, end)`` of a transcript (placed codings only)."""
    rows = session.execute(
        select(Coding.start, Coding.end).where(
            Coding.coder_id == coder_id,
            Coding.transcript_id == transcript_id,
            Coding.code_id == code_id,
            Coding.status != "needs_review",
        )
    )
    return stats.normalise([(s, e) for s, e in rows], start, end)


def _clear(session: Session, coder_id: int, transcript_id: int, code_id: int, start: int, end: int) -> None:
    """Remove the consensus coder's coverage of this code within ``[start, end)``: trim, split or delete."""
    rows = session.scalars(
        select(Coding).where(
            Coding.coder_id == coder_id,
            Coding.transcript_id == transcript_id,
            Coding.code_id == code_id,
            Coding.start < end,
            Coding.end > start,
        )
    )
    for row in list(rows):
        if row.end > end and row.start < start:  # straddles the stretch: keep both sides
            session.add(
                Coding(
                    transcript_id=transcript_id,
                    code_id=code_id,
                    coder_id=coder_id,
                    start=end,
                    end=row.end,
                    memo=row.memo,
                    key_quote=row.key_quote,
                )
            )
        if row.start < start:
            row.end, row.updated_at = start, utcnow()
        elif row.end > end:
            row.start, row.updated_at = end, utcnow()
        else:
            keep_as_project_memos(session, [row.id])
            session.delete(row)
    session.flush()


def _decision(session: Session, decision: str) -> tuple[str, Coder | None]:
    """``("union" | "none" | "keep NAME", coder)`` from the words a user types."""
    word = decision.strip()
    if word.casefold() in UNION_WORDS:
        return "union", None
    if word.casefold() in NONE_WORDS:
        return "none", None
    try:
        coder = find_coder(session, word)
    except NotFoundError:
        raise NotFoundError(
            f"no coder {word!r}: decide with a coder's name, both (or union), or none (or intersection)"
        ) from None
    if coder.name == CONSENSUS_CODER:
        raise WaveqdaError("keep a coder's coding, not the consensus itself: name one of the compared coders")
    return f"keep {coder.name}", coder


def _in_words(label: str) -> str:
    if label == "union":
        return "coded the whole stretch"
    if label == "none":
        return "left it uncoded"
    return f"kept {label.removeprefix('keep ')}'s coding"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def settle(project: Project, actor: str, disagreement_key: str, decision: str) -> Settlement:
    """Settle one disagreement as one undoable step.

    ``decision``: a coder's name (keep what that coder coded in the stretch), ``both``/``union`` (code the
    whole stretch) or ``none``/``intersection`` (leave it uncoded). The consensus coder is created on first
    use; whatever it held in the stretch before is replaced, so a stretch can be settled again.
    """
    match = _parse_key(disagreement_key)
    start, end = int(match["start"]), int(match["end"])
    with project.change(actor, SETTLE_OPERATION) as session:
        from models.blind import refuse_revealing_change

        transcript = _by_uuid(session, Transcript, match["transcript"], "transcript")
        refuse_revealing_change(project, session, actor, [transcript.id], "settling disagreements")
        code = _by_uuid(session, Code, match["code"], "code")
        check_span(transcript, start, end)
        label, kept = _decision(session, decision)
        if label == "union":
            target = [(start, end)]
        elif kept is None:
            target = []
        else:
            target = _coverage(session, kept.id, transcript.id, code.id, start, end)
        consensus = get_or_create_coder(session, CONSENSUS_CODER)
        _clear(session, consensus.id, transcript.id, code.id, start, end)
        note = f"Consensus {_stamp()}, settled by {actor}: {start}–{end} {_in_words(label)}"
        for s, e in target:
            apply_code_in_session(session, transcript.id, code.id, consensus.id, s, e, note)
        key = make_key(transcript.uuid, code.uuid, start, end)
        path = CodeTree.load(session).path(code.id)
        summary = f"Consensus on {path} in {transcript_label(transcript)} {start}:{end}: {label}"
        session.info["summary"] = summary
        session.info["detail"] = {
            "key": key,
            "decision": label,
            "transcript": transcript_label(transcript),
            "code": path,
            "start": start,
            "end": end,
            "coded": target,
            "settled_by": actor,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    return Settlement(key, label, target, summary)


def adopt_agreements(
    project: Project,
    actor: str,
    coders: Sequence[str],
    codes: Sequence[str] | None = None,
    transcripts: Sequence[str] | None = None,
) -> int:
    """Copy every stretch that all compared coders coded into the consensus coder, as one undoable step.

    Settling covers the disagreements; this covers the rest, so the consensus coder ends up holding the
    whole agreed coding. Stretches it already holds are left alone. Returns how many stretches were added.
    """
    if CONSENSUS_CODER in [c.strip() for c in coders]:
        raise WaveqdaError("compare the original coders, not the consensus coder")
    added = 0
    from models.blind import refuse_revealing_change

    with project.change(actor, ADOPT_OPERATION) as session:
        named = [find_transcript(session, ref).id for ref in transcripts] if transcripts else None
        refuse_revealing_change(project, session, actor, named, "adopting agreed stretches")
        comparison = load_comparison(session, coders, codes, transcripts)
        consensus = get_or_create_coder(session, CONSENSUS_CODER)
        full = (1 << len(comparison.coders)) - 1
        names = ", ".join(c.name for c in comparison.coders)
        note = f"Consensus {_stamp()}, adopted by {actor}: coded by all of {names}"
        for code, transcript, spans in comparison.cells():
            held = _coverage(session, consensus.id, transcript.id, code.id, 0, len(transcript.text))
            for s, e, mask in stats.sweep(spans):
                if mask == full and stats.normalise(held, s, e) != [(s, e)]:
                    apply_code_in_session(session, transcript.id, code.id, consensus.id, s, e, note)
                    added += 1
        session.info["summary"] = f"Consensus: adopted {added} stretches coded by all of {names}"
        session.info["detail"] = {"added": added, "coders": [c.name for c in comparison.coders]}
    return added
