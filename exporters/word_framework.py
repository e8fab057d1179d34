"""The Framework method's charting matrix: per theme, participants x timepoints, on landscape pages.

Each theme (a top-level code, or each code named with ``--codes``) gets a landscape table: one row per
participant in scope, one column per timepoint, each cell that participant's segments for the theme and
its sub-codes at that timepoint. A long cell shows a count and the first key quote instead, so the
longitudinal picture of a theme stays on one page. "Not interviewed" and "nothing coded" are different
findings and are shown differently. In large print the tables become headed lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from exporters.data import ExportData, interviewed, load_export_data
from exporters.filters import ExportFilters
from exporters.word_common import (
    CELL_STYLE,
    LABEL_STYLE,
    QUOTE_STYLE,
    SMALL_STYLE,
    Progress,
    Report,
    add_run,
    new_report,
    title_page,
)
from exporters.word_themes import GAP, front_facts
from models.queries import CodedSpan, Segment
from models.store import Project

CELL_LIMIT_CHARS = 700  # more text than this in a cell: show a count and the first key quote
CELL_LIMIT_SEGMENTS = 3
NOT_INTERVIEWED = "not interviewed"
NOTHING_CODED = "–"
Item = TypeVar("Item", Segment, CodedSpan)


def export_framework(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    large_print: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write the framework matrix to ``out_path`` (.docx) and return it."""
    with project.read() as session:
        data = load_export_data(session, filters, with_words=False)  # no word counts shown
        people = interviewed(session, filters)
    report = new_report(f"{data.project_name}: framework matrix", large_print)
    facts = [
        *front_facts(data)[:4],
        (
            "Cells",
            "each participant's segments for the theme (with its sub-codes); "
            "a long cell shows how many and the first key quote",
        ),
    ]
    title_page(report, data.project_name, "Framework matrix", facts)
    report.toc_placeholder()
    themes = theme_ids(data)
    cells = cells_by_theme(data, themes, data.quotes)
    totals = cells_by_theme(data, themes, data.segments)
    for done, theme in enumerate(themes, 1):
        if report.look.large:
            report.page_break()
            theme_list(report, data, theme, cells[theme], people, totals[theme])
        else:
            report.landscape(True)
            if done > 1:
                report.page_break()
            theme_table(report, data, theme, cells[theme], people, totals[theme])
        if progress:
            progress(done, len(themes), data.code_path(theme))
    report.finish(out_path)
    return out_path


def theme_ids(data: ExportData) -> list[int]:
    """The top of the selection: codes in scope whose parent is not (top-level codes without --codes)."""
    return [cid for cid in data.code_ids if data.tree.codes[cid].parent_id not in data.in_scope]


def cells_by_theme(
    data: ExportData, themes: list[int], segments: Sequence[Item]
) -> dict[int, dict[tuple[str, str], list[Item]]]:
    """Per theme, (participant, timepoint) -> the given segments of the theme's subtree."""
    theme_of: dict[int, int] = {}
    for theme in themes:
        for cid in (theme, *data.tree.descendants(theme)):
            theme_of.setdefault(cid, theme)
    out: dict[int, dict[tuple[str, str], list[Item]]] = {t: defaultdict(list) for t in themes}
    for segment in segments:
        theme = theme_of.get(segment.code_id)
        if theme is not None:
            out[theme][(segment.participant, segment.timepoint)].append(segment)
    return out


def theme_heading(report: Report, data: ExportData, theme: int) -> None:
    report.heading(data.code_name(theme), 1)
    definition = data.tree.codes[theme].definition
    if definition:
        report.paragraph(data.texts.free(definition), style=SMALL_STYLE)


def theme_table(
    report: Report,
    data: ExportData,
    theme: int,
    cells: dict[tuple[str, str], list[Segment]],
    people: dict[str, set[str]],
    totals: dict[tuple[str, str], list[Segment]],
) -> None:
    theme_heading(report, data, theme)
    keys = [key for key, _label in data.timepoints]
    first_cm = 2.2
    other_cm = (report.usable_width_cm() - first_cm) / max(1, len(keys))
    headers = ["Participant", *(f"{key} {label}" for key, label in data.timepoints)]
    table = report.table(
        headers, [[p, *[""] * len(keys)] for p in sorted(people)], [first_cm, *[other_cm] * len(keys)], style=CELL_STYLE
    )
    for row, participant in zip(table.rows[1:], sorted(people), strict=True):
        for cell, key in zip(row.cells[1:], keys, strict=True):
            found = cells.get((participant, key), [])
            if not found and totals.get((participant, key)):
                add_run(cell.paragraphs[0], not_chosen(len(totals[(participant, key)])), italic=True)
            else:
                fill_cell(report, cell, data, theme, found, key in people[participant])


def not_chosen(count: int) -> str:
    """A cell whose segments all fell outside ``--max-quotes`` / ``--key-only``: not the same as none."""
    return f"{count} segment{'s' if count > 1 else ''}, none among the chosen quotes"


def fill_cell(
    report: Report, cell: Any, data: ExportData, theme: int, segments: list[Segment], was_interviewed: bool
) -> None:
    """Segments as short paragraphs, or a count and the first key quote when the cell would be long."""
    first = cell.paragraphs[0]
    if not segments:
        add_run(first, NOTHING_CODED if was_interviewed else NOT_INTERVIEWED, italic=not was_interviewed)
        return
    texts = [GAP.join(data.texts.pieces(s, data.filters.no_interviewer)) for s in segments]
    long = len(segments) > CELL_LIMIT_SEGMENTS or sum(map(len, texts)) > CELL_LIMIT_CHARS
    if long:
        pick = next((i for i, s in enumerate(segments) if s.key_quote), 0)
        kind = "key quote" if segments[pick].key_quote else "first segment"
        add_run(first, f"{len(segments)} segments; {kind}:", bold=True)
        _segment_paragraph(report.styled(cell.add_paragraph(), CELL_STYLE), data, theme, segments[pick], texts[pick])
        return
    _segment_paragraph(first, data, theme, segments[0], texts[0])
    for segment, text in zip(segments[1:], texts[1:], strict=True):
        _segment_paragraph(report.styled(cell.add_paragraph(), CELL_STYLE), data, theme, segment, text)


def _segment_paragraph(paragraph: Any, data: ExportData, theme: int, segment: Segment, text: str) -> None:
    add_run(paragraph, text)
    where = [f"turn {segment.turn_index}"] if segment.turn_index is not None else []
    if segment.code_id != theme:
        where.append(data.code_name(segment.code_id))
    if segment.key_quote:
        where.append("key quote")
    if where:
        add_run(paragraph, f" ({', '.join(where)})", italic=True)


def theme_list(
    report: Report,
    data: ExportData,
    theme: int,
    cells: dict[tuple[str, str], list[Segment]],
    people: dict[str, set[str]],
    totals: dict[tuple[str, str], list[Segment]],
) -> None:
    """Large print: the same content as headed lists (participant, then timepoint), no dense table."""
    theme_heading(report, data, theme)
    for participant in sorted(people):
        report.heading(participant, 2)
        for key, label in data.timepoints:
            segments = cells.get((participant, key), [])
            report.paragraph(bold_prefix=f"{key} · {label}")
            if not segments:
                missing = key not in people[participant]
                hidden = len(totals.get((participant, key), []))
                text = NOT_INTERVIEWED if missing else not_chosen(hidden) if hidden else "nothing coded"
                report.paragraph(text, style=SMALL_STYLE)
            for segment in segments:
                report.paragraph(GAP.join(data.texts.pieces(segment, data.filters.no_interviewer)), style=QUOTE_STYLE)
                label_parts = [f"turn {segment.turn_index}"] if segment.turn_index is not None else []
                if segment.code_id != theme:
                    label_parts.append(data.code_name(segment.code_id))
                report.paragraph(" · ".join(label_parts), style=LABEL_STYLE)
