"""Matrix coding as a file: any two dimensions (codes, timepoints, participants, coders, attribute values) as
rows and columns, one cell measure, written as CSV, XLSX or Word (issue 15).

The cells are ``models.queries.crosstab``'s, the ones ``waveqda matrix --rows/--columns`` prints and the
workspace's matrix view colours, so a file and the screen never disagree. CSV and XLSX hold the numbers as
numbers (coverage as a percentage of the crossing's interview text, two decimals) with the row labels in the
first column, the layout NVivo's and MAXQDA's matrix exports use, ready for a spreadsheet or R. The Word table
is for reading in a workshop: a caption saying what the rows, columns and cells are and which filters
apply, numbers right-aligned, the header row repeated on every page, landscape when the columns do not fit
a portrait page, and split into column groups (each with the row labels again) when they do not fit a
landscape page either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from exporters.data import Texts, check_consensus
from exporters.filters import ExportFilters
from exporters.word_common import (
    CELL_STYLE,
    PT_PER_CM,
    SMALL_STYLE,
    Progress,
    Report,
    made_on,
    new_report,
    text_width_em,
)
from models.errors import WaveqdaError
from models.names import export_anonymiser
from models.queries.crosstab import CrossCell, crosstab, matrix_dimensions
from models.store import Project, get_setting

MEASURES = ("segments", "participants", "words", "coverage")
MEASURE_WORDS = {
    "segments": "segments (codings)",
    "participants": "participants (distinct people whose codings are in the cell)",
    "words": "words coded (each word once however many codings cover it)",
    "coverage": "% coverage (coded characters over the characters of the interviews at that crossing)",
}
LABEL_CM = 5.6  # the row labels' column
NUMBER_CM = 1.9  # each count's column


@dataclass(frozen=True)
class MatrixCoding:
    """What a matrix coding export writes: labels, one number per cell, and the words that say what it is."""

    project_name: str
    rows_dimension: str
    columns_dimension: str
    rows_label: str  # "Codes", "Attribute: site"
    columns_label: str
    measure: str
    rows: tuple[str, ...]  # as written (anonymised when asked)
    depths: tuple[int, ...]  # a code's depth in the codebook (0 for other dimensions)
    columns: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]
    filters: tuple[str, ...]

    def caption(self) -> str:
        codes = " Codes include their sub-codes." if "codes" in (self.rows_dimension, self.columns_dimension) else ""
        return (
            f"Rows: {self.rows_label}. Columns: {self.columns_label}. Cells: {MEASURE_WORDS[self.measure]}.{codes} "
            f"Filters: {'; '.join(self.filters)}."
        )


def check_measure(measure: str | None) -> str:
    """The cell measure (default segments), or a one-line error naming the choices."""
    measure = (measure or "segments").strip().lower()
    if measure not in MEASURES:
        raise WaveqdaError(f"cannot show {measure!r} in the cells: use {', '.join(MEASURES)}")
    return measure


def load_matrix_coding(
    project: Project, filters: ExportFilters, rows: str, columns: str, measure: str = "segments"
) -> MatrixCoding:
    """The matrix under the export filters (codes, timepoints, participants, attributes, coders)."""
    measure = check_measure(measure)
    with project.read() as session:
        check_consensus(session, filters)
        table = crosstab(
            session,
            rows,
            columns,
            filters.timepoints,
            filters.participants,
            filters.attributes or None,
            filters.coder_names,
            words=measure == "words",
            codes=filters.codes,
        )
        labels = dict(matrix_dimensions(session))
        texts = Texts({}, export_anonymiser(session, filters.anonymise, filters.anonymise_coders))
        project_name = texts.free(get_setting(session, "name", "waveqda project"))

    return MatrixCoding(
        project_name=project_name,
        rows_dimension=rows,
        columns_dimension=columns,
        rows_label=texts.free(labels.get(rows, rows)),
        columns_label=texts.free(labels.get(columns, columns)),
        measure=measure,
        rows=tuple(texts.free(r) for r in table.rows),
        depths=tuple(r.count("/") if rows == "codes" else 0 for r in table.rows),
        columns=tuple(texts.free(c) for c in table.columns),
        values=tuple(tuple(cell_number(cell, measure) for cell in row) for row in table.cells),
        filters=tuple(filters.describe()),
    )


def cell_number(cell: CrossCell, measure: str) -> float:
    """A cell's number: a count, or coverage as a percentage rounded to two decimals."""
    if measure == "coverage":
        return round(cell.coverage * 100, 2)
    return float(getattr(cell, measure))


def cell_text(value: float, measure: str) -> str:
    """As printed in Word: counts with thousands separators, coverage with a % sign, nothing as an en dash."""
    if not value:
        return "–"
    if measure == "coverage":
        return f"{value:.2f}%" if value < 1 else f"{value:.1f}%"  # a little coded text is never "0.0%"
    return f"{int(value):,}"


# --- CSV and XLSX ------------------------------------------------------------------------------------------


def export_matrix_coding_table(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    rows: str,
    columns: str,
    measure: str,
    progress: Progress | None = None,
) -> Path:
    """The matrix as a table: the rows' labels, then one column per column label, one number per cell."""
    from exporters.tabular import write_table

    found = load_matrix_coding(project, filters, rows, columns, measure)
    whole = found.measure != "coverage"
    headers = [found.rows_label, *found.columns]
    body = [
        [label, *(int(v) if whole else v for v in values)]
        for label, values in zip(found.rows, found.values, strict=True)
    ]
    facts: list[tuple[str, Any]] = [
        ("Project", found.project_name),
        ("Made on", date.today()),
        ("Rows", found.rows_label),
        ("Columns", found.columns_label),
        ("Cells", MEASURE_WORDS[found.measure]),
        ("Filters", "; ".join(found.filters)),
    ]
    if "codes" in (rows, columns):
        facts.append(("Codes", "each code's cells include its sub-codes; codes are written as Theme/Sub/Code paths"))
    write_table(out_path, headers, body, "Matrix coding", facts, len(body), progress)
    return out_path


# --- Word --------------------------------------------------------------------------------------------------


def export_matrix_coding_docx(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    rows: str,
    columns: str,
    measure: str,
    large_print: bool = False,
    progress: Progress | None = None,
) -> Path:
    """A titled, captioned table (or column groups of it) on as few pages as reading allows."""
    found = load_matrix_coding(project, filters, rows, columns, measure)
    report = new_report(f"{found.project_name}: matrix coding", large_print)
    title = f"{found.rows_label} × {found.columns_label}"
    headers = [column_header(found.columns_dimension, c) for c in found.columns]
    size = report.look.small_pt
    widest = max((text_width_em(w, bold=True) for h in headers for w in h.split()), default=0.0) * size / PT_PER_CM
    number_cm = min(3.2, max(NUMBER_CM * (1.3 if large_print else 1), widest + 0.45))
    label_cm = LABEL_CM * (1.3 if large_print else 1)
    portrait_fits = int((report.usable_width_cm() - label_cm) // number_cm)
    if len(found.columns) > portrait_fits:
        report.start_landscape()
    report.paragraph(f"{found.project_name}: matrix coding", style="Title")
    report.paragraph(f"{title}, {found.measure} per cell. Made on {made_on()}.", style="Subtitle")
    if not found.rows or not found.columns:
        report.paragraph(found.caption())
        report.paragraph("Nothing to show: no rows or no columns under these filters.")
        report.finish(out_path)
        return out_path
    fits = max(1, int((report.usable_width_cm() - label_cm) // number_cm))
    groups = [list(range(at, min(at + fits, len(found.columns)))) for at in range(0, len(found.columns), fits)]
    for number, chosen in enumerate(groups, 1):
        if number > 1:
            report.paragraph("")  # a line between the parts
        caption = found.caption()
        if len(groups) > 1:
            caption += (
                f" Columns {chosen[0] + 1}–{chosen[-1] + 1} of {len(found.columns)} (part {number} of {len(groups)})."
            )
        matrix_table(report, found, headers, chosen, caption, label_cm, number_cm)
        if progress:
            progress(number, len(groups), "columns")
    report.finish(out_path)
    return out_path


def column_header(dimension: str, label: str) -> str:
    """A column's header: a code's path with spaced separators, so it wraps between words."""
    return label.replace("/", " › ") if dimension == "codes" else label


def matrix_table(
    report: Report,
    found: MatrixCoding,
    headers: list[str],
    chosen: list[int],
    caption: str,
    label_cm: float,
    number_cm: float,
) -> None:
    """The caption, then the rows' labels and the chosen columns; a code is indented under its parent."""
    report.paragraph(caption, style=SMALL_STYLE, keep_next=True)
    indent = found.rows_dimension == "codes"
    labels = [
        "   " * depth + label.rsplit("/", 1)[-1] if indent else label
        for label, depth in zip(found.rows, found.depths, strict=True)
    ]
    body = [
        [label, *(cell_text(values[i], found.measure) for i in chosen)]
        for label, values in zip(labels, found.values, strict=True)
    ]
    report.table(
        [found.rows_label, *(headers[i] for i in chosen)],
        body,
        [label_cm, *[number_cm] * len(chosen)],
        style=CELL_STYLE,
        bold_first=[indent and depth == 0 for depth in found.depths],
        right=[False, *[True] * len(chosen)],
    )
