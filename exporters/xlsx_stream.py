"""A streaming XLSX writer for large tables: rows go straight into the zip as SpreadsheetML, in constant memory.

Why not a library: issue 20 asks for a 50,000-row codings table (about a million cells) in at most 3 s. On
this project's 2-core machine openpyxl's write-only mode took 12.4 s of CPU for the cells alone and
XlsxWriter's constant-memory mode 9.0 s (``docs/benchmarks.md``): both spend microseconds per cell in
generic Python. A table export needs only a small, fixed part of the format, written here once per row:

- numbers as numbers, dates and date-times as dates (serial days with a date format), text as inline
  strings, so text starting with "=" stays text and is never a formula;
- characters XML cannot hold replaced by a visible mark (``clean_text``), cells cut at Excel's limit of
  32,767 characters with a note;
- a bold, frozen header row with an AutoFilter, column widths, and further small sheets ("About").

Cells carry no ``r`` reference (optional in ECMA-376; a row's cells are written in order, an empty one as
``<c/>``), which saves a fifth of the time. The tests read every cell back with openpyxl.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from exporters.word_common import clean_text

CELL_LIMIT = 32_767  # Excel refuses longer cells
TRUNCATED = " […truncated: longer than an Excel cell allows]"
EPOCH = date(1899, 12, 30)
STYLE_PLAIN, STYLE_BOLD, STYLE_DATE, STYLE_DATETIME = 0, 1, 2, 3
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
{sheets}<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
</Types>"""  # noqa: E501
SHEET_TYPE = '<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\n'  # noqa: E501
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
</Relationships>"""  # noqa: E501
STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/><numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd hh:mm"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""  # noqa: E501
CORE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{title}</dc:title><dc:creator>waveqda</dc:creator><dc:language>en-GB</dc:language><dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>"""  # noqa: E501


FROZEN_HEADER = (
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
    'state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>'
)


def column_letter(n: int) -> str:
    """1 -> A, 27 -> AA."""
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def text_cell(value: str, style: int = STYLE_PLAIN) -> str:
    """An inline-string cell (no ``r`` reference: cells of a row are written in order, empty ones as ``<c/>``)."""
    text = value if value.isprintable() else clean_text(value)
    if len(text) > CELL_LIMIT:
        text = text[: CELL_LIMIT - len(TRUNCATED)] + TRUNCATED
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() or "\n" in text else ""
    styled = f' s="{style}"' if style else ""
    return f'<c{styled} t="inlineStr"><is><t{space}>{text.translate(_ESCAPES)}</t></is></c>'


class CellWriter:
    """Cells as XML, the short strings that repeat down a column (codes, coders, participants) built once."""

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}

    def row(self, values: Sequence[Any]) -> str:
        out: list[str] = []
        append = out.append
        strings = self._strings
        for value in values:
            kind = type(value)
            if kind is str:
                if not value:
                    append("<c/>")
                    continue
                found = strings.get(value)
                if found is None:
                    found = text_cell(value)
                    if len(value) <= 120 and len(strings) < 100_000:
                        strings[value] = found
                append(found)
            elif kind is int or kind is float:
                append(f"<c><v>{value!r}</v></c>")
            elif value is None:
                append("<c/>")
            else:
                append(cell_xml(value))
        return "".join(out)


def cell_xml(value: Any) -> str:
    """One cell: numbers and dates typed, anything else text (``None`` is an empty cell)."""
    if value is None or value == "":
        return "<c/>"
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f"<c><v>{value!r}</v></c>"
    if isinstance(value, datetime):
        serial = (value.replace(tzinfo=None) - datetime(1899, 12, 30)).total_seconds() / 86400
        return f'<c s="{STYLE_DATETIME}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c s="{STYLE_DATE}"><v>{(value - EPOCH).days}</v></c>'
    return text_cell(str(value))


class Sheet:
    """A table to write: its name, headers, rows (any iterable; consumed once), column widths."""

    def __init__(self, name: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[float] = (),
                 freeze: bool = True, filter: bool = True) -> None:  # fmt: skip
        self.name, self.headers, self.rows = name[:31], list(headers), rows
        self.widths = list(widths)
        self.freeze, self.filter = freeze, filter


def write_workbook(path: Path, sheets: Sequence[Sheet], title: str = "", progress: Any = None, total: int = 0) -> int:
    """Write the sheets to ``path``; returns how many rows the first sheet got."""
    now = datetime.now().replace(microsecond=0).isoformat() + "Z"
    first_count = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        types = "".join(SHEET_TYPE.format(n=n) for n in range(1, len(sheets) + 1))
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(sheets=types))
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("docProps/core.xml", CORE.format(title=escape(clean_text(title)), now=now))
        archive.writestr("xl/styles.xml", STYLES)
        archive.writestr("xl/workbook.xml", _workbook(sheets))
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
        for n, sheet in enumerate(sheets, 1):
            with archive.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as out:
                count = _write_sheet(out, sheet, progress if n == 1 else None, total)
            if n == 1:
                first_count = count
    return first_count


def _workbook(sheets: Sequence[Sheet]) -> str:
    entries = "".join(
        f'<sheet name="{escape(clean_text(s.name), {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
        for n, s in enumerate(sheets, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"<sheets>{entries}</sheets></workbook>"
    )


def _workbook_rels(count: int) -> str:
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, count + 1)
    )
    styles = (
        f'<Relationship Id="rId{count + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/styles" Target="styles.xml"/>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{rels}{styles}</Relationships>"
    )


def _write_sheet(out: Any, sheet: Sheet, progress: Any, total: int) -> int:
    letters = [column_letter(i) for i in range(1, len(sheet.headers) + 1)]
    head = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">']  # fmt: skip
    if sheet.freeze:
        head.append(FROZEN_HEADER)
    if sheet.widths:
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>' for i, w in enumerate(sheet.widths, 1)
        )
        head.append(f"<cols>{cols}</cols>")
    header_cells = "".join(text_cell(clean_text(h), STYLE_BOLD) for h in sheet.headers)
    head.append(f'<sheetData><row r="1">{header_cells}</row>')
    out.write("".join(head).encode("utf-8"))
    count = 0
    chunk: list[str] = []
    row_number = 1
    cells = CellWriter()
    for count, values in enumerate(sheet.rows, 1):
        row_number = count + 1
        chunk.append(f'<row r="{row_number}">{cells.row(values)}</row>')
        if len(chunk) >= 1000:
            out.write("".join(chunk).encode("utf-8"))
            chunk = []
            if progress:
                progress(count, total, "rows")
    tail = "".join(chunk) + "</sheetData>"
    if sheet.filter and letters:
        tail += f'<autoFilter ref="A1:{letters[-1]}{row_number}"/>'
    out.write((tail + "</worksheet>").encode("utf-8"))
    return count
