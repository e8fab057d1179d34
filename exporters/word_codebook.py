"""The codebook as a document: the team's shared reference and a thesis or report appendix.

A summary table (each code's colour, name, definition and passages per timepoint), then the hierarchy as
Heading 1-3 in codebook order: for each code its colour, path, definition, inclusion and exclusion
criteria, example, memos and passages (participants) per timepoint including its sub-codes, from the same
matrix as the themes report. Archived codes are left out, as in analyses. No colour codes or database ids
are printed: a code's colour is shown as a swatch.
"""

from __future__ import annotations

from pathlib import Path

from exporters.data import ExportData, load_export_data
from exporters.filters import ExportFilters
from exporters.word_common import CELL_STYLE, SMALL_STYLE, Progress, Report, joined, new_report, plural, title_page
from exporters.word_themes import describe_code
from models.store import Project


def export_codebook(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    large_print: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write the codebook document to ``out_path`` (.docx) and return it."""
    with project.read() as session:
        data = load_export_data(session, filters, with_quotes=False, with_words=False)  # counts only
    report = new_report(f"{data.project_name}: codebook", large_print)
    facts = [
        ("Made on", data.made_on),
        ("Coders", joined(data.coders) or "none in this selection"),
        ("Timepoints", ", ".join(f"{key} {label}" for key, label in data.timepoints)),
        ("Filters", "; ".join(data.filters.describe())),
        ("Counts", "passages (distinct participants) per timepoint, each code including its sub-codes"),
    ]
    title_page(report, data.project_name, "Codebook", facts)
    report.contents()
    report.page_break()
    summary_table(report, data)
    shown = data.shown_code_ids
    for done, code_id in enumerate(shown, 1):
        code_entry(report, data, code_id)
        if progress:
            progress(done, len(shown), data.code_path(code_id))
    report.finish(out_path)
    return out_path


def count_text(data: ExportData, code_id: int, key: str | None) -> str:
    """``"12 (5)"``: passages (distinct participants), from the matrix row; None key for the total."""
    row = data.row(code_id)
    if row is None:
        return ""
    cell = row.total if key is None else row.cells[key]
    return f"{cell.passages} ({cell.participants})"


def summary_table(report: Report, data: ExportData) -> None:
    """The codebook at a glance: colour and name, definition, passages (participants) per timepoint."""
    report.heading("Codebook summary", 1)
    report.paragraph("Each count is passages (distinct participants), including sub-codes.", style=SMALL_STYLE,
                     keep_next=True)  # fmt: skip
    keys = [key for key, _label in data.timepoints]
    shown = data.shown_code_ids
    if report.look.large:
        for code_id in shown:
            counts = ", ".join(f"{key}: {count_text(data, code_id, key)}" for key in keys)
            report.paragraph(counts, bold_prefix=f"{data.code_name(code_id)}: ", indent_cm=0.6 * data.depth(code_id))
        return
    wide = len(keys) > 3
    report.landscape(wide)
    rows = [
        [
            "   " * data.depth(cid) + data.code_name(cid),
            data.texts.free(data.tree.codes[cid].definition),
            *(count_text(data, cid, key) for key in keys),
            count_text(data, cid, None),
        ]
        for cid in shown
    ]
    name_cm, number_cm = 4.8, 1.6
    definition_cm = max(4.0, report.usable_width_cm() - name_cm - number_cm * (len(keys) + 1))
    report.table(
        ["Code", "Definition", *keys, "Total"],
        rows,
        [name_cm, definition_cm, *[number_cm] * (len(keys) + 1)],
        style=CELL_STYLE,
        bold_first=[data.depth(cid) == 0 for cid in shown],
        swatches=[data.colour(cid) for cid in shown],
    )
    report.landscape(False)


def code_entry(report: Report, data: ExportData, code_id: int) -> None:
    """One code: heading with its colour, path, description, memos and counts."""
    report.heading(data.code_name(code_id), data.depth(code_id) + 1, colour=data.colour(code_id))
    if data.depth(code_id):
        report.paragraph(data.code_path(code_id).replace("/", " › "), style=SMALL_STYLE, keep_next=True)
    if code_id not in data.in_scope:
        report.paragraph("Shown for context: only its sub-codes are part of this selection.", style=SMALL_STYLE)
        return
    describe_code(report, data, code_id, with_example=True)
    row = data.row(code_id)
    if row is None:
        return
    counts = "; ".join(
        f"{key} {plural(row.cells[key].passages, 'passage')} ({row.cells[key].participants})"
        for key, _label in data.timepoints
    )
    report.paragraph(
        f"{counts}; all: {plural(row.total.passages, 'passage')} ({row.total.participants})",
        bold_prefix="Passages (participants): ",
    )
