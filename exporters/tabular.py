"""CSV and XLSX exports: one row per coded segment, and the code x timepoint matrix.

The codings table carries every field a secondary analysis needs (transcript, participant, each attribute
as its own column, timepoint, speaker, turn, code path, coder, offsets, text, memo, key quote), so the data
can leave for R, SPSS or a spreadsheet without a second export. CSV is UTF-8 with a byte order mark, so
Excel shows accents and curly quotes correctly; Python's ``csv`` reads it back with ``encoding="utf-8-sig"``.
XLSX cells are written as text (a quote starting with "=" stays a quote, never a formula) and cleaned of
characters XML cannot hold. Offsets are always the project's, so a row can be found again in the project
even when its text was anonymised.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from exporters.data import ExportData, load_export_data, participant_attributes, transcript_sources
from exporters.filters import ExportFilters
from exporters.word_common import Progress, clean_text
from exporters.word_themes import GAP
from models.store import Project

XLSX_CELL_LIMIT = 32_767  # Excel refuses longer cells
TRUNCATED = " […truncated: longer than an Excel cell allows]"
CODING_COLUMNS = [
    "coding_id", "transcript", "title", "source", "participant", "timepoint", "timepoint_label", "speaker",
    "role", "turn", "code", "coder", "start", "end", "text", "memo", "key_quote", "status",
]  # fmt: skip
ATTRIBUTES_AFTER = "participant"  # attribute columns follow the participant column


def export_codings(project: Project, out_path: Path, filters: ExportFilters, progress: Progress | None = None) -> Path:
    """One row per coded segment (after the filters, including ``--max-quotes``), as .csv or .xlsx."""
    with project.read() as session:
        data = load_export_data(session, filters, with_matrix=False)
        names, values = participant_attributes(session)
        sources = transcript_sources(session, {s.transcript_id for s in data.quotes})
    headers = coding_headers(names)
    rows = coding_rows(data, names, values, sources)
    write_table(out_path, headers, rows, "Codings", about(data), len(data.quotes), progress)
    return out_path


def coding_headers(attribute_names: list[str]) -> list[str]:
    """The fixed columns with one column per attribute after ``participant`` (renamed if a name clashes)."""
    at = CODING_COLUMNS.index(ATTRIBUTES_AFTER) + 1
    attributes = [f"attribute {n}" if n in CODING_COLUMNS else n for n in attribute_names]
    return [*CODING_COLUMNS[:at], *attributes, *CODING_COLUMNS[at:]]


def coding_rows(
    data: ExportData,
    attribute_names: list[str],
    values: dict[str, dict[str, str]],
    sources: dict[int, tuple[str, str]],
) -> Iterable[list[Any]]:
    free = data.texts.free
    for s in data.quotes:
        title, source = sources[s.transcript_id]
        attributes = [free(values.get(s.participant, {}).get(name, "")) for name in attribute_names]
        yield [
            s.id, f"{s.participant}/{s.timepoint}", free(title), free(source), s.participant, *attributes,
            s.timepoint, free(s.timepoint_label), free(s.speaker), s.role, s.turn_index, free(s.code),
            free(s.coder), s.start, s.end, GAP.join(data.texts.pieces(s, data.filters.no_interviewer)),
            "\n\n".join(data.coding_memos.get(s.id, [])), "yes" if s.key_quote else "no", s.status,
        ]  # fmt: skip


def export_matrix(project: Project, out_path: Path, filters: ExportFilters, progress: Progress | None = None) -> Path:
    """The code x timepoint matrix (segments, participants, words; rolled up over sub-codes)."""
    with project.read() as session:
        data = load_export_data(session, filters, with_quotes=False)  # counts only
    keys = [key for key, _label in data.timepoints]
    measures = ("segments", "participants", "words")
    headers = ["code_id", "code", "depth", *(f"{k} {m}" for k in keys for m in measures),
               *(f"total {m}" for m in measures)]  # fmt: skip
    rows = [matrix_row(data, row.code_id, keys) for row in data.matrix.rows if row.code_id in data.in_scope]
    write_table(out_path, headers, rows, "Matrix", about(data), len(rows), progress)
    return out_path


def matrix_row(data: ExportData, code_id: int, keys: list[str]) -> list[Any]:
    row = data.row(code_id)
    cells = [row.cells[k] for k in keys] + [row.total]
    return [code_id, data.code_path(code_id), row.depth,
            *(value for c in cells for value in (c.segments, c.participants, c.words))]  # fmt: skip


def about(data: ExportData) -> list[tuple[str, str]]:
    """What a table holds, for the XLSX "About" sheet."""
    return [
        ("Project", data.project_name),
        ("Made on", data.made_on),
        ("Filters", "; ".join(data.filters.describe())),
        ("Offsets", "start and end are character offsets into the project's stored transcript text"),
    ]


# --- writers -----------------------------------------------------------------------------------------------


def write_table(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet: str,
    facts: Sequence[tuple[str, str]],
    total: int,
    progress: Progress | None = None,
) -> None:
    """CSV or XLSX by the file's suffix."""
    if path.suffix.lower() == ".xlsx":
        write_xlsx(path, headers, rows, sheet, facts, total, progress)
    else:
        write_csv(path, headers, rows, total, progress)


def write_csv(
    path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]], total: int, progress: Progress | None
) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        for done, row in enumerate(rows, 1):
            writer.writerow([clean_text(v) if isinstance(v, str) else "" if v is None else v for v in row])
            if progress and done % 1000 == 0:
                progress(done, total, "rows")
    if progress:
        progress(total, total, "rows")


def write_xlsx(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet: str,
    facts: Sequence[tuple[str, str]],
    total: int,
    progress: Progress | None,
) -> None:
    """A write-only workbook (constant memory): the table with a frozen, filterable header, and "About"."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    table = book.create_sheet(sheet)
    table.freeze_panes = "A2"
    for i, header in enumerate(headers, 1):
        table.column_dimensions[get_column_letter(i)].width = 60 if header in ("text", "memo", "code") else 14
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(table, clean_text(header))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    table.append(header_cells)
    count = 0
    for count, row in enumerate(rows, 1):
        table.append([_xlsx_cell(table, v, WriteOnlyCell) for v in row])
        if progress and count % 1000 == 0:
            progress(count, total, "rows")
    table.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"
    info = book.create_sheet("About")
    for name, value in facts:
        info.append([clean_text(name), clean_text(value)])
    book.save(str(path))
    if progress:
        progress(total, total, "rows")


def _xlsx_cell(sheet: Any, value: Any, cell_class: Any) -> Any:
    """A value as a cell: text stays text (never a formula), cleaned and cut to Excel's cell limit."""
    if not isinstance(value, str):
        return value
    text = clean_text(value)
    if len(text) > XLSX_CELL_LIMIT:
        text = text[: XLSX_CELL_LIMIT - len(TRUNCATED)] + TRUNCATED
    if not text.startswith("="):
        return text
    cell = cell_class(sheet, text)
    cell.data_type = "s"
    return cell
