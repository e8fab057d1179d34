"""The codebook as a document: the team's shared reference and a thesis or report appendix.

The hierarchy as Heading 1-3 in codebook order; for each code its path, definition, inclusion and
exclusion criteria, example, memos and colour, and segments (participants) per timepoint including its
sub-codes, taken from the same matrix as the themes report. Archived codes are left out, as in analyses.
"""

from __future__ import annotations

from pathlib import Path

from exporters.data import ExportData, load_export_data
from exporters.filters import ExportFilters
from exporters.word_common import SMALL_STYLE, Progress, Report, new_report, title_page
from exporters.word_themes import count_text, describe_code, front_facts, summary_table
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
    facts = [*front_facts(data)[:4], ("Counts", "segments (distinct participants) per timepoint, with sub-codes")]
    title_page(report, data.project_name, "Codebook", facts)
    report.toc_placeholder()
    report.page_break()
    summary_table(report, data)
    shown = data.shown_code_ids
    for done, code_id in enumerate(shown, 1):
        code_entry(report, data, code_id)
        if progress:
            progress(done, len(shown), data.code_path(code_id))
    report.finish(out_path)
    return out_path


def code_entry(report: Report, data: ExportData, code_id: int) -> None:
    """One code: heading, path and colour, description, memos and counts."""
    report.heading(data.code_name(code_id), data.depth(code_id) + 1)
    code = data.tree.codes[code_id]
    report.paragraph(f"{data.code_path(code_id)} · colour {code.colour} · id {code.id}", style=SMALL_STYLE)
    if code_id not in data.in_scope:
        report.paragraph("Shown for context: only its sub-codes are part of this selection.", style=SMALL_STYLE)
        return
    describe_code(report, data, code_id, with_example=True)
    counts = " · ".join(f"{key}: {count_text(data, code_id, key)}" for key, _label in data.timepoints)
    report.paragraph(f"{counts} · total: {count_text(data, code_id, None)}", bold_prefix="Segments (participants): ")
