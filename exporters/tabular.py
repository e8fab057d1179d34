"""CSV and XLSX exports: one row per coding, and the code x timepoint matrix.

The codings table carries every field a secondary analysis needs (transcript, participant, each attribute
as its own column, timepoint, speaker, turn, code path, coder, offsets, text, memo, key quote), so the data
can leave for R, SPSS or a spreadsheet without a second export. CSV is UTF-8 with a byte order mark, so
Excel shows accents and curly quotes correctly; Python's ``csv`` reads it back with ``encoding="utf-8-sig"``.
CSV keeps every character of the text: ``text`` is exactly the stored slice and its length is end - start.
XLSX cannot hold some control characters (form feed, vertical tab...): they are replaced with a visible mark
(the Unicode control picture, e.g. ␌), never dropped. XLSX numbers and dates are typed cells (attributes of
type number or date included), text is text (a quote starting with "=" stays a quote, never a formula), and
the "About" sheet's date is a date. Turns are numbered from 1, as the workspace and the reports show them.
Offsets are always the project's, so a row can be found again in the project even when its text was
anonymised.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from exporters.data import ExportData, load_export_data, participant_attributes, transcript_sources, typed_value
from exporters.filters import ExportFilters
from exporters.word_common import Progress
from exporters.word_themes import GAP
from models.store import Project, get_setting
from models.transcripts import turn_number

CODING_COLUMNS = [
    "coding_id", "transcript", "title", "source", "participant", "timepoint", "timepoint_label", "speaker",
    "role", "turn", "code", "coder", "start", "end", "text", "memo", "key_quote", "status",
]  # fmt: skip
ATTRIBUTES_AFTER = "participant"  # attribute columns follow the participant column


def export_codings(project: Project, out_path: Path, filters: ExportFilters, progress: Progress | None = None) -> Path:
    """One row per coded segment (after the filters, including ``--max-quotes``), as .csv or .xlsx."""
    with project.read() as session:
        data = load_export_data(session, filters, with_matrix=False, one_per_coding=True)
        names, values = participant_attributes(session, typed=out_path.suffix.lower() == ".xlsx")
        sources = transcript_sources(session, {s.transcript_id for s in data.codings})
    headers = coding_headers(names)
    rows = coding_rows(data, names, values, sources)
    write_table(out_path, headers, rows, "Codings", about(data), len(data.codings), progress)
    return out_path


def coding_headers(attribute_names: list[str]) -> list[str]:
    """The fixed columns with one column per attribute after ``participant`` (renamed if a name clashes)."""
    at = CODING_COLUMNS.index(ATTRIBUTES_AFTER) + 1
    attributes = [f"attribute {n}" if n in CODING_COLUMNS else n for n in attribute_names]
    return [*CODING_COLUMNS[:at], *attributes, *CODING_COLUMNS[at:]]


def coding_rows(
    data: ExportData,
    attribute_names: list[str],
    values: dict[str, dict[str, Any]],
    sources: dict[int, tuple[str, str]],
) -> Iterable[list[Any]]:
    free = data.texts.free
    for s in data.codings:
        title, source = sources[s.transcript_id]
        attributes = [_free_value(free, values.get(s.participant, {}).get(name, "")) for name in attribute_names]
        yield [
            s.id, f"{s.participant}/{s.timepoint}", free(title), free(source), s.participant, *attributes,
            s.timepoint, free(s.timepoint_label), free(s.speaker), s.role,
            None if s.turn_index is None else turn_number(s.turn_index), free(s.code), free(s.coder), s.start, s.end,
            GAP.join(data.texts.pieces(s, data.filters.no_interviewer)),
            "\n\n".join(text for _author, text in data.coding_memos.get(s.id, [])), "yes" if s.key_quote else "no",
            s.status,
        ]  # fmt: skip


def _free_value(free: Any, value: Any) -> Any:
    """Attribute values: text through the anonymiser, typed numbers and dates as they are."""
    return free(value) if isinstance(value, str) else value


def export_matrix(project: Project, out_path: Path, filters: ExportFilters, progress: Progress | None = None) -> Path:
    """The code x timepoint matrix (segments, participants, words; rolled up over sub-codes)."""
    with project.read() as session:
        data = load_export_data(session, filters, with_quotes=False)  # counts only
    keys = [key for key, _label in data.timepoints]
    measures = ("segments", "passages", "participants", "words")
    headers = ["code_id", "code", "depth", *(f"{k} {m}" for k in keys for m in measures),
               *(f"total {m}" for m in measures)]  # fmt: skip
    rows = [matrix_row(data, row.code_id, keys) for row in data.matrix.rows if row.code_id in data.in_scope]
    write_table(out_path, headers, rows, "Matrix", about(data), len(rows), progress)
    return out_path


def matrix_row(data: ExportData, code_id: int, keys: list[str]) -> list[Any]:
    row = data.row(code_id)
    assert row is not None  # asked for the codes in scope only, which all have a row
    cells = [row.cells[k] for k in keys] + [row.total]
    return [code_id, data.code_path(code_id), row.depth,
            *(value for c in cells for value in (c.segments, c.passages, c.participants, c.words))]  # fmt: skip


def export_attributes(
    project: Project, out_path: Path, filters: ExportFilters, progress: Progress | None = None
) -> Path:
    """The case sheet: one row per participant, one column per attribute, in the layout ``waveqda attributes``
    and the workspace's case sheet import read back (XLSX cells typed: numbers as numbers, dates as dates)."""
    from models.case_sheet import case_sheet

    typed = out_path.suffix.lower() == ".xlsx"
    with project.read() as session:
        sheet = case_sheet(session)
        project_name = get_setting(session, "name", "waveqda project")
    kinds = [a.type for a in sheet.attributes]
    headers = ["participant", *(f"attribute {a.name}" if a.name == "participant" else a.name for a in sheet.attributes)]
    rows = (
        [row.participant, *(typed_value(k, v) if typed else v for k, v in zip(kinds, row.values, strict=True))]
        for row in sheet.rows
    )
    facts = [("Project", project_name), ("Made on", date.today()),
             ("Types", "; ".join(f"{a.name}: {a.type}" for a in sheet.attributes))]  # fmt: skip
    write_table(out_path, headers, rows, "Cases", facts, len(sheet.rows), progress)
    return out_path


def about(data: ExportData) -> list[tuple[str, Any]]:
    """What a table holds, for the XLSX "About" sheet ("Made on" a date cell)."""
    return [
        ("Project", data.project_name),
        ("Made on", date.today()),
        ("Filters", "; ".join(data.filters.describe())),
        ("Offsets", "start and end are character offsets into the project's stored transcript text"),
    ]


# --- writers -----------------------------------------------------------------------------------------------


def write_table(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet: str,
    facts: Sequence[tuple[str, Any]],
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
    """Every character kept: a quote's text is exactly the transcript's slice (form feeds and all)."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        for done, row in enumerate(rows, 1):
            writer.writerow(["" if v is None else v for v in row])
            if progress and done % 1000 == 0:
                progress(done, total, "rows")
    if progress:
        progress(total, total, "rows")


def write_xlsx(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet: str,
    facts: Sequence[tuple[str, Any]],
    total: int,
    progress: Progress | None,
) -> None:
    """The table (frozen, filterable header) and an "About" sheet, streamed in constant memory."""
    from exporters.xlsx_stream import Sheet, write_workbook

    widths = [60 if h in ("text", "memo", "code") else 14 for h in headers]
    table = Sheet(sheet, headers, rows, widths)
    info = Sheet("About", ["About this table", ""], [list(f) for f in facts], [16, 100], freeze=False, filter=False)
    write_workbook(path, [table, info], title=sheet, progress=progress, total=total)
    if progress:
        progress(total, total, "rows")
