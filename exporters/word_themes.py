"""The themes report: the handout for an interpretive workshop.

Title page (project, date, coders, filters), a table of contents, a codebook summary table, then one
section per theme and sub-section per code in codebook order: definition, inclusion and exclusion, memos,
segments and distinct participants per timepoint (a table and a small chart), and quotes grouped by
timepoint, each labelled with participant, timepoint, speaker and turn. Counts come from the code x
timepoint matrix (rolled up over sub-codes); quotes are each code's own codings, sliced from the
transcript, chosen by ``--key-only`` / ``--max-quotes``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from exporters.chart import ChartMaker
from exporters.data import ExportData, load_export_data
from exporters.filters import ExportFilters
from exporters.word_common import (
    LABEL_STYLE,
    MEMO_STYLE,
    QUESTION_STYLE,
    QUOTE_STYLE,
    SMALL_STYLE,
    Progress,
    Report,
    add_run,
    new_report,
    title_page,
)
from models.queries import CodedSpan, Segment
from models.store import Project

GAP = " […] "


def export_themes(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    large_print: bool = False,
    with_questions: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write the themes report to ``out_path`` (.docx) and return it."""
    with project.read() as session:
        data = load_export_data(session, filters, with_words=False)  # no word counts shown
    report = new_report(f"{data.project_name}: themes report", large_print)
    title_page(report, data.project_name, "Themes report", front_facts(data))
    report.toc_placeholder()
    report.page_break()
    summary_table(report, data)
    charts = ChartMaker(large_print)
    by_code = group_by_code(data.quotes)
    totals = segment_totals(data.segments)
    shown = data.shown_code_ids
    for done, code_id in enumerate(shown, 1):
        code_section(report, data, code_id, by_code.get(code_id, []), totals, charts, with_questions)
        if progress:
            progress(done, len(shown), data.code_path(code_id))
    report.finish(out_path)
    return out_path


def front_facts(data: ExportData) -> list[tuple[str, str]]:
    timepoints = ", ".join(f"{key} {label}" for key, label in data.timepoints)
    return [
        ("Made on", data.made_on),
        ("Coders", ", ".join(data.coders) or "none in this selection"),
        ("Timepoints", timepoints),
        ("Filters", "; ".join(data.filters.describe())),
        ("Counts", "segments and distinct participants per timepoint, each code including its sub-codes"),
        ("Quotes", "the transcript text at each coding's offsets, labelled participant · timepoint · speaker · turn"),
    ]


def group_by_code(segments: list[Segment]) -> dict[int, list[Segment]]:
    out: dict[int, list[Segment]] = defaultdict(list)
    for segment in segments:
        out[segment.code_id].append(segment)
    return out


def segment_totals(segments: list[Segment] | list[CodedSpan]) -> dict[tuple[int, str], int]:
    """Own segments per (code, timepoint) before the quote choice, for "3 of 12 shown"."""
    out: dict[tuple[int, str], int] = defaultdict(int)
    for segment in segments:
        out[(segment.code_id, segment.timepoint)] += 1
    return out


# --- summary -----------------------------------------------------------------------------------------------


def count_text(data: ExportData, code_id: int, key: str | None) -> str:
    """``"12 (5)"``: segments (distinct participants), from the matrix row; None key for the total."""
    row = data.row(code_id)
    if row is None:
        return ""
    cell = row.total if key is None else row.cells[key]
    return f"{cell.segments} ({cell.participants})"


def summary_table(report: Report, data: ExportData) -> None:
    """The codebook at a glance: name, definition, segments (participants) per timepoint."""
    report.heading("Codebook summary", 1)
    report.paragraph("Each count is segments (distinct participants), including sub-codes.", style=SMALL_STYLE)
    keys = [key for key, _label in data.timepoints]
    shown = data.shown_code_ids
    if report.look.large:
        for code_id in shown:
            counts = ", ".join(f"{key}: {count_text(data, code_id, key)}" for key in keys)
            para = report.paragraph(counts, bold_prefix=f"{data.code_name(code_id)}  ")
            para.paragraph_format.left_indent = _indent(data.depth(code_id))
        return
    wide = len(keys) > 3
    report.landscape(wide)
    rows = [
        [
            data.code_name(cid),
            data.texts.free(data.tree.codes[cid].definition),
            *(count_text(data, cid, key) for key in keys),
            count_text(data, cid, None),
        ]
        for cid in shown
    ]
    name_cm, number_cm = 4.5, 1.6
    definition_cm = max(4.0, report.usable_width_cm() - name_cm - number_cm * (len(keys) + 1))
    table = report.table(
        ["Code", "Definition", *keys, "Total"], rows, [name_cm, definition_cm, *[number_cm] * (len(keys) + 1)]
    )
    for row, code_id in zip(table.rows[1:], shown, strict=True):
        row.cells[0].paragraphs[0].paragraph_format.left_indent = _indent(data.depth(code_id))
        if data.depth(code_id) == 0:
            for run in row.cells[0].paragraphs[0].runs:
                run.bold = True
    report.landscape(False)


def _indent(depth: int):  # noqa: ANN202 - a docx Length
    from docx.shared import Cm

    return Cm(0.4 * depth)


# --- one code ----------------------------------------------------------------------------------------------


def code_section(
    report: Report,
    data: ExportData,
    code_id: int,
    quotes: list[Segment],
    totals: dict[tuple[int, str], int],
    charts: ChartMaker,
    with_questions: bool,
) -> None:
    report.heading(data.code_name(code_id), data.depth(code_id) + 1)
    if code_id not in data.in_scope:  # an ancestor of the selection, shown for the hierarchy
        report.paragraph("Shown for context: only its sub-codes are part of this selection.", style=SMALL_STYLE)
        return
    describe_code(report, data, code_id)
    counts_block(report, data, code_id, charts)
    quotes_block(report, data, code_id, quotes, totals, with_questions)


def describe_code(report: Report, data: ExportData, code_id: int, with_example: bool = False) -> None:
    """Definition, inclusion, exclusion (and example), then the code's memos."""
    code = data.tree.codes[code_id]
    fields = [
        ("Definition", code.definition or "not written yet"),
        ("Include", code.inclusion),
        ("Exclude", code.exclusion),
    ]
    if with_example:
        fields.append(("Example", code.example))
    written = [report.paragraph(data.texts.free(value), bold_prefix=f"{name}: ") for name, value in fields if value]
    written += [report.paragraph(memo, style=MEMO_STYLE, bold_prefix="Memo: ")
                for memo in data.code_memos.get(code_id, [])]  # fmt: skip
    for paragraph in written:  # the description stays on the page of its counts
        paragraph.paragraph_format.keep_with_next = True


def counts_block(report: Report, data: ExportData, code_id: int, charts: ChartMaker | None) -> None:
    """Segments and distinct participants per timepoint: a table (sentences in large print) and a chart."""
    row = data.row(code_id)
    if row is None:
        return
    has_children = bool(data.tree.children.get(code_id))
    scope = " (including sub-codes)" if has_children else ""
    cells = [(key, label, row.cells[key]) for key, label in data.timepoints]
    if report.look.large:
        for key, label, cell in cells:
            report.paragraph(
                f"{cell.segments} segments from {cell.participants} participants{scope}", bold_prefix=f"{key} {label}: "
            )
    else:
        table_rows = [[f"{key} {label}", str(cell.segments), str(cell.participants)] for key, label, cell in cells]
        table_rows.append(["All timepoints", str(row.total.segments), str(row.total.participants)])
        report.table(["Timepoint", f"Segments{scope}", "Participants"], table_rows, [5.0, 4.5, 3.0], keep_together=True)
    if charts is not None and row.total.segments:
        png = charts.segments_and_participants(
            [key for key, _l, _c in cells], [c.segments for _k, _l, c in cells], [c.participants for *_x, c in cells]
        )
        if png:
            report.picture(png, 11.0 if report.look.large else 8.0)
            report.paragraph("Segments (dark) and participants (light) per timepoint", style=SMALL_STYLE)


def quotes_block(
    report: Report,
    data: ExportData,
    code_id: int,
    quotes: list[Segment],
    totals: dict[tuple[int, str], int],
    with_questions: bool,
) -> None:
    """The code's own quotes, grouped by timepoint, key quotes first."""
    if not quotes:
        report.paragraph("No quotes coded directly with this code in this selection.", style=SMALL_STYLE)
        return
    by_timepoint: dict[str, list[Segment]] = defaultdict(list)
    for segment in quotes:
        by_timepoint[segment.timepoint].append(segment)
    for key, label in data.timepoints:
        group = by_timepoint.get(key)
        if not group:
            continue
        total = totals[(code_id, key)]
        shown = f"{len(group)} of {total} quotes" if total > len(group) else f"{total} quotes" if total > 1 else ""
        para = report.paragraph(f"  {shown}" if shown else "", bold_prefix=f"{key} · {label}")
        para.paragraph_format.keep_with_next = True
        for segment in sorted(group, key=lambda s: not s.key_quote):
            write_quote(report, data, segment, with_questions)


def quote_label(data: ExportData, segment: Segment) -> str:
    """``P01 · T1 After training · Dana · turn 3 · key quote``: who, when and where to find it."""
    parts = [segment.participant, f"{segment.timepoint} {data.texts.free(segment.timepoint_label)}"]
    if segment.speaker:
        parts.append(data.texts.free(segment.speaker))
    if segment.turn_index is not None:
        last = segment.last_turn_index
        parts.append(f"turn {segment.turn_index}" + (f"–{last}" if last not in (None, segment.turn_index) else ""))
    if len(data.coders) > 1:
        parts.append(f"coded by {data.texts.free(segment.coder)}")
    if segment.key_quote:
        parts.append("key quote")
    return " · ".join(parts)


def write_quote(report: Report, data: ExportData, segment: Segment, with_questions: bool) -> None:
    """Optional question, the quote (exact slices), its label, and a key quote's memos."""
    if with_questions:
        question = data.texts.question_before(segment)
        if question:
            report.paragraph(question[1], style=QUESTION_STYLE, bold_prefix=f"{question[0]}: ")
    para = report.new_paragraph(QUOTE_STYLE)
    for i, piece in enumerate(data.texts.pieces(segment, data.filters.no_interviewer)):
        if i:
            add_run(para, GAP, italic=True)
        add_run(para, piece)
    report.paragraph(quote_label(data, segment), style=LABEL_STYLE)
    if segment.key_quote:
        for memo in data.coding_memos.get(segment.id, []):
            report.paragraph(memo, style=MEMO_STYLE, bold_prefix="Memo: ")
