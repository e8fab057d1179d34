"""The agreement computation as it was before the interval-sweep rewrite (issue 20), kept as a slow reference.

Verbatim copies of the old unit-table and cu-α arithmetic of ``models/agreement.py`` and of the old loading and
roll-ups of ``models/agreement_report.py`` (main at 4f65417), the statistics of a finished table included.
``tests/test_agreement_reference.py`` checks that the current implementation gives exactly the same report
(every count, every float, the JSON) on randomised projects. Only the result dataclasses, the reasons' wording
and the name lookups are taken from ``models``.

Also a command, to compare both on a real project (the benchmark's, say):

    .venv/bin/python -m tests.agreement_reference PROJECT --coders coder_a coder_b --unit sentence
"""

from __future__ import annotations

import argparse
import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import accumulate, combinations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import agreement as stats
from models import agreement_report as ar
from models.agreement import Span, UnitizingTerms, UnitTable
from models.codes import CodeTree
from models.coding import transcript_label
from models.schema import Coding, Sentence, Turn
from models.store import Project
from models.transcripts import find_transcript, list_transcripts

# --- models/agreement.py, as it was -----------------------------------------------------------------------


def normalise(spans: Iterable[Span], begin: int, end: int) -> list[Span]:
    spans = sorted(spans)
    if len(spans) == 1:
        s, e = max(spans[0][0], begin), min(spans[0][1], end)
        return [(s, e)] if s < e else []
    out: list[Span] = []
    for s, e in spans:
        s, e = max(s, begin), min(e, end)
        if s >= e:
            continue
        if out and s < out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
            continue
        out.append((s, e))
    return out


def sweep(coders: Sequence[Sequence[Span]]) -> list[tuple[int, int, int]]:
    toggles = sorted((pos, 1 << i) for i, spans in enumerate(coders) for s, e in spans for pos in (s, e))
    out: list[tuple[int, int, int]] = []
    mask, prev = 0, None
    for pos, bit in toggles:
        if prev is not None and pos != prev:
            if out and out[-1][2] == mask and out[-1][1] == prev:
                out[-1] = (out[-1][0], pos, mask)
            else:
                out.append((prev, pos, mask))
        mask ^= bit
        prev = pos
    return out


def character_table(coders: Sequence[Sequence[Span]], length: int) -> UnitTable:
    spans = [normalise(s, 0, length) for s in coders]
    counts: dict[int, int] = defaultdict(int)
    for s, e, mask in sweep(spans):
        counts[mask] += e - s
    counts[0] += length - sum(counts.values())
    return UnitTable(len(coders), {m: n for m, n in counts.items() if n})


def unit_table(coders: Sequence[Sequence[Span]], units: Sequence[Span]) -> UnitTable:
    unit_starts = [s for s, _ in units]
    unit_ends = [e for _, e in units]
    limit = max(unit_ends, default=0)
    masks: dict[int, int] = {}
    for i, spans in enumerate(coders):
        bit = 1 << i
        for start, end in normalise(spans, 0, limit):
            for k in range(bisect_right(unit_ends, start), bisect_left(unit_starts, end)):
                masks[k] = masks.get(k, 0) | bit
    counts: dict[int, int] = defaultdict(int)
    for mask in masks.values():
        counts[mask] += 1
    if len(units) > len(masks):
        counts[0] += len(units) - len(masks)
    return UnitTable(len(coders), dict(counts))


def _segments(spans: Sequence[Span], begin: int, end: int) -> list[tuple[int, int, bool]]:
    out: list[tuple[int, int, bool]] = []
    pos = begin
    for s, e in spans:
        if s > pos:
            out.append((pos, s, False))
        out.append((s, e, True))
        pos = e
    if pos < end:
        out.append((pos, end, False))
    return out


def _distance(g: tuple[int, int, bool], h: tuple[int, int, bool]) -> int:
    (bg, eg, unit_g), (bh, eh, unit_h) = g, h
    if unit_g and unit_h:
        return (bg - bh) ** 2 + (eg - eh) ** 2
    if unit_g and not unit_h and bh <= bg and eg <= eh:
        return (eg - bg) ** 2
    if unit_h and not unit_g and bg <= bh and eh <= eg:
        return (eh - bh) ** 2
    return 0


def _pair_disagreement(a: list[tuple[int, int, bool]], b: list[tuple[int, int, bool]]) -> int:
    total, i, j = 0, 0, 0
    while i < len(a) and j < len(b):
        total += _distance(a[i], b[j])
        a_end, b_end = a[i][1], b[j][1]
        i += a_end <= b_end
        j += b_end <= a_end
    return total


def _expected_numerator(units: list[int], gaps: list[int]) -> int:
    gaps = sorted(gaps)
    suffix = list(accumulate(reversed(gaps)))[::-1] + [0]
    total = 0
    for length in units:
        k = bisect_left(gaps, length)
        fitting = len(gaps) - k
        total += (len(units) - 1) * (2 * length**3 - 3 * length**2 + length) // 3
        total += length * length * (suffix[k] - (length - 1) * fitting)
    return total


def unitizing_terms(coders: Sequence[Sequence[Span]], begin: int, end: int) -> UnitizingTerms:
    m, length = len(coders), end - begin
    if m < 2 or length <= 0:
        return UnitizingTerms(0.0, 0.0)
    spans = [normalise(s, begin, end) for s in coders]
    segments = [_segments(s, begin, end) for s in spans]
    observed = sum(_pair_disagreement(segments[i], segments[j]) for i, j in combinations(range(m), 2))
    units = [e - s for coder in spans for s, e in coder]
    if not units:
        return UnitizingTerms(0.0, 0.0)
    gaps = [e - s for coder in segments for s, e, is_unit in coder if not is_unit]
    squared = sum(u * (u - 1) for u in units)
    denominator = length * (m * length * (m * length - 1) - squared)
    return UnitizingTerms(
        observed=2 * observed / (m * (m - 1) * length * length),
        expected=2 * _expected_numerator(units, gaps) / denominator,
    )


def percent_agreement(table: UnitTable) -> stats.Estimate:
    if table.total == 0:
        return stats.Estimate.undefined(stats.NO_UNITS)
    agreeing = table.counts.get(0, 0) + table.counts.get(table.full, 0)
    return stats.Estimate(100.0 * agreeing / table.total)


def cohen_kappa(matrix: Sequence[Sequence[float]]) -> stats.Estimate:
    n = sum(sum(row) for row in matrix)
    if n == 0:
        return stats.Estimate.undefined(stats.NO_UNITS)
    diagonal = sum(matrix[i][i] for i in range(len(matrix)))
    rows = [sum(row) for row in matrix]
    cols = [sum(row[j] for row in matrix) for j in range(len(matrix))]
    chance_products = sum(r * c for r, c in zip(rows, cols, strict=True))
    if n * n == chance_products:
        return stats.Estimate.undefined(stats.NO_VARIATION)
    return stats.Estimate((n * diagonal - chance_products) / (n * n - chance_products))


def table_kappa(table: UnitTable) -> stats.Estimate:
    if table.coders != 2:
        return stats.Estimate.undefined(stats.NOT_TWO_CODERS)
    c = table.counts
    return cohen_kappa([[c.get(0b11, 0), c.get(0b01, 0)], [c.get(0b10, 0), c.get(0b00, 0)]])


def alpha_from_coincidences(coincidences: dict[tuple[int, int], float]) -> stats.Estimate:
    totals: dict[int, float] = defaultdict(float)
    for (c, _k), o in coincidences.items():
        totals[c] += o
    n = sum(totals.values())
    if n <= 1:
        return stats.Estimate.undefined(stats.NO_PAIRABLE)
    observed = sum(o for (c, k), o in coincidences.items() if c != k)
    expected = n * n - sum(t * t for t in totals.values())
    if expected == 0:
        return stats.Estimate.undefined(stats.NO_VARIATION)
    return stats.Estimate(1.0 - (n - 1) * observed / expected)


def binary_alpha(table: UnitTable) -> stats.Estimate:
    m = table.coders
    if m < 2 or table.total == 0:
        return stats.Estimate.undefined(stats.NO_UNITS if table.total == 0 else stats.NO_PAIRABLE)
    o11 = o00 = o01 = 0.0
    for mask, count in table.counts.items():
        ones = mask.bit_count()
        zeros = m - ones
        o11 += count * ones * (ones - 1) / (m - 1)
        o00 += count * zeros * (zeros - 1) / (m - 1)
        o01 += count * ones * zeros / (m - 1)
    return alpha_from_coincidences({(1, 1): o11, (0, 0): o00, (0, 1): o01, (1, 0): o01})


def unitizing_alpha(terms: Iterable[UnitizingTerms]) -> stats.Estimate:
    terms = list(terms)
    expected = sum(t.expected for t in terms)
    if expected == 0:
        return stats.Estimate.undefined(stats.NOBODY_CODED)
    return stats.Estimate(1.0 - sum(t.observed for t in terms) / expected)


# --- models/agreement_report.py, as it was -----------------------------------------------------------------


def _coding_rows(session: Session, coder_ids: list[int]) -> list[tuple[int, int, int, int, int, str]]:
    stmt = select(Coding.code_id, Coding.transcript_id, Coding.coder_id, Coding.start, Coding.end, Coding.status)
    return [tuple(row) for row in session.execute(stmt.where(Coding.coder_id.in_(coder_ids)))]


def _transcripts(
    session: Session, refs: Sequence[str] | None, coder_ids: list[int], rows: list[tuple]
) -> list[ar.TranscriptInfo]:
    if refs:
        wanted = {find_transcript(session, ref).id for ref in refs}
    else:
        coded_by: dict[int, set[int]] = defaultdict(set)
        for _code, tid, coder, _s, _e, _status in rows:
            coded_by[tid].add(coder)
        wanted = {tid for tid, who in coded_by.items() if who >= set(coder_ids)}
    return [
        ar.TranscriptInfo(t.id, t.uuid, transcript_label(t), t.participant.study_id, t.timepoint.key, t.text)
        for t in list_transcripts(session)
        if t.id in wanted
    ]


def _codes(tree: CodeTree, refs: Sequence[str] | None, used: set[int]) -> list[ar.CodeInfo]:
    if refs:
        wanted: set[int] = set()
        for ref in refs:
            code = tree.find(ref)
            wanted.update([code.id, *tree.descendants(code.id)])
    else:
        wanted = used
    return [ar.CodeInfo(cid, tree.codes[cid].uuid, tree.path(cid)) for cid, _ in tree.walk() if cid in wanted]


def _unit_spans(session: Session, unit: str, transcript_ids: list[int]) -> dict[int, list[Span]]:
    table = Sentence if unit == "sentence" else Turn
    out: dict[int, list[Span]] = {tid: [] for tid in transcript_ids}
    rows = session.execute(
        select(table.transcript_id, table.start, table.end)
        .where(table.transcript_id.in_(transcript_ids))
        .order_by(table.transcript_id, table.start)
    )
    for tid, start, end in rows:
        out[tid].append((start, end))
    return out


def load_comparison(
    session: Session,
    coders: Sequence[str],
    codes: Sequence[str] | None = None,
    transcripts: Sequence[str] | None = None,
) -> ar.Comparison:
    coder_rows = ar._compared_coders(session, coders)
    coder_ids = [c.id for c in coder_rows]
    rows = _coding_rows(session, coder_ids)
    scope = _transcripts(session, transcripts, coder_ids, rows)
    in_scope = {t.id for t in scope}
    placed = [r for r in rows if r[1] in in_scope and r[5] != "needs_review"]
    code_infos = _codes(CodeTree.load(session), codes, {r[0] for r in placed})
    wanted_codes = {c.id for c in code_infos}
    position = {cid: i for i, cid in enumerate(coder_ids)}
    raw: dict[tuple[int, int], list[list[Span]]] = {}
    for code, tid, coder, start, end, _status in placed:
        if code in wanted_codes:
            raw.setdefault((code, tid), [[] for _ in coder_ids])[position[coder]].append((start, end))
    lengths = {t.id: len(t.text) for t in scope}
    spans = {key: [normalise(s, 0, lengths[key[1]]) for s in per_coder] for key, per_coder in raw.items()}
    excluded = sum(1 for r in rows if r[1] in in_scope and r[5] == "needs_review")
    return ar.Comparison(coder_rows, code_infos, scope, spans, excluded)


def pooled_figures(
    tables: Sequence[UnitTable], terms: Sequence[UnitizingTerms], cells: int, method: str = ar.POOLED
) -> ar.Figures:
    table = UnitTable.pooled(tables)
    values = {
        "percent_agreement": percent_agreement(table),
        "kappa": table_kappa(table),
        "alpha_binary": binary_alpha(table),
        "cu_alpha": unitizing_alpha(terms),
    }
    combined = UnitizingTerms(sum(t.observed for t in terms), sum(t.expected for t in terms))
    return ar.Figures(method, cells, table, values, combined)


def _average(cells: Sequence[ar.CellResult], name: str, weights: list[float]) -> stats.Estimate:
    total = weight = 0.0
    for cell, w in zip(cells, weights, strict=True):
        value = cell.figures.values[name].value
        if value is not None:
            total += value * w
            weight += w
    if weight == 0:
        return stats.Estimate.undefined("undefined in every cell")
    return stats.Estimate(total / weight)


def averaged_figures(cells: Sequence[ar.CellResult], weighted: bool) -> ar.Figures:
    weights = [float(c.length) if weighted else 1.0 for c in cells]
    values = {name: _average(cells, name, weights) for name in ar.STATISTICS}
    return ar.Figures(ar.WEIGHTED if weighted else ar.MEAN, len(cells), None, values)


def _cell(
    code: ar.CodeInfo, transcript: ar.TranscriptInfo, spans: list[list[Span]], units: list[Span] | None
) -> ar.CellResult:
    length = len(transcript.text)
    table = character_table(spans, length) if units is None else unit_table(spans, units)
    terms = unitizing_terms(spans, 0, length)
    return ar.CellResult(code, transcript, length, pooled_figures([table], [terms], 1, method=ar.CELL))


def _empty_table(coders: int, units: int) -> UnitTable:
    return UnitTable(coders, {0: units} if units else {})


def _end_to_end_terms(comparison: ar.Comparison, code: ar.CodeInfo) -> UnitizingTerms:
    per_coder: list[list[Span]] = [[] for _ in comparison.coders]
    offset = 0
    for transcript in comparison.transcripts:
        for i, spans in enumerate(comparison.spans.get((code.id, transcript.id), [])):
            per_coder[i].extend((s + offset, e + offset) for s, e in spans)
        offset += len(transcript.text)
    return unitizing_terms(per_coder, 0, offset)


def _means(cells: list[ar.CellResult]) -> list[ar.Figures]:
    return [averaged_figures(cells, False), averaged_figures(cells, True)]


def _per_code(
    comparison: ar.Comparison,
    cells: list[ar.CellResult],
    sizes: dict[int, int],
    code_terms: dict[int, UnitizingTerms],
) -> list[ar.RollUp]:
    by_code: dict[int, list[ar.CellResult]] = defaultdict(list)
    for cell in cells:
        by_code[cell.code.id].append(cell)
    out = []
    for code in comparison.codes:
        mine = by_code[code.id]
        absent = sum(sizes[t.id] for t in comparison.transcripts if (code.id, t.id) not in comparison.spans)
        tables = [c.table for c in mine] + [_empty_table(len(comparison.coders), absent)]
        out.append(
            ar.RollUp(code.path, code.id, [pooled_figures(tables, [code_terms[code.id]], len(mine)), *_means(mine)])
        )
    return out


def _per_transcript(comparison: ar.Comparison, cells: list[ar.CellResult], sizes: dict[int, int]) -> list[ar.RollUp]:
    by_transcript: dict[int, list[ar.CellResult]] = defaultdict(list)
    for cell in cells:
        by_transcript[cell.transcript.id].append(cell)
    out = []
    for transcript in comparison.transcripts:
        mine = by_transcript[transcript.id]
        absent = sizes[transcript.id] * (len(comparison.codes) - len(mine))
        tables = [c.table for c in mine] + [_empty_table(len(comparison.coders), absent)]
        terms = [c.cu_terms for c in mine]
        out.append(
            ar.RollUp(
                transcript.label,
                transcript.id,
                [pooled_figures(tables, terms, len(mine)), averaged_figures(mine, False)],
            )
        )
    return out


def build_report(comparison: ar.Comparison, unit: str, units: dict[int, list[Span]] | None) -> ar.AgreementReport:
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
    return ar.AgreementReport(
        unit,
        [c.name for c in comparison.coders],
        comparison.transcripts,
        comparison.excluded,
        cells,
        _per_code(comparison, cells, sizes, code_terms),
        _per_transcript(comparison, cells, sizes),
        overall,
    )


def reference_report(
    project: Project,
    coders: Sequence[str],
    codes: Sequence[str] | None = None,
    transcripts: Sequence[str] | None = None,
    unit: str = "character",
) -> ar.AgreementReport:
    """``agreement_report`` as it was (without the blind-coding refusal, which is not arithmetic)."""
    with project.read() as session:
        comparison = load_comparison(session, coders, codes, transcripts)
        ids = [t.id for t in comparison.transcripts]
        units = None if unit == "character" else _unit_spans(session, unit, ids)
    return build_report(comparison, unit, units)


def main(argv: list[str] | None = None) -> int:
    """Compare the current report with the reference on a project: exit 1 when their JSON differs."""
    from models.store import open_project

    parser = argparse.ArgumentParser(prog="python -m tests.agreement_reference", description=main.__doc__)
    parser.add_argument("project")
    parser.add_argument("--coders", nargs="+", required=True)
    parser.add_argument("--unit", choices=ar.UNITS, nargs="+", default=list(ar.UNITS))
    args = parser.parse_args(argv)
    project = open_project(args.project)
    same = True
    try:
        for unit in args.unit:
            new = json.dumps(ar.agreement_report(project, args.coders, unit=unit).as_json(), sort_keys=True)
            old = json.dumps(reference_report(project, args.coders, unit=unit).as_json(), sort_keys=True)
            print(f"{unit}: {'identical' if new == old else 'DIFFERENT'} ({len(new):,} characters of JSON)")
            same &= new == old
    finally:
        project.close()
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
