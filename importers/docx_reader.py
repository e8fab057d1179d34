"""Word transcripts (``.docx``): body paragraphs and tables in document order.

The canonical text is the document's paragraphs joined by ``\\n`` (a line break inside a paragraph is a
``\\n`` too), so a label alone on its line works whether the author pressed Enter or Shift+Enter. Speaker
labels are found by ``importers.labels``; Word adds one signal plain text lacks: a bold run at the start
of a paragraph. Transcription-service tables (a header row naming Speaker, Time and Text columns) are read
as one turn per row, laid out as ``Speaker: Text`` lines with the time kept on the turn.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.oxml.text.run import CT_R
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from importers.labels import Label, Line, find_turns, split_lines
from importers.safety import DOCX_ERRORS, safe_docx_open
from models.errors import ImportRefused
from models.parsed import LabelRules, ParsedTranscript

_SPEAKER_HEADERS = {"speaker", "speaker name", "name"}
_TIME_HEADERS = {"time", "timestamp", "time stamp", "timecode", "start", "start time"}
_TEXT_HEADERS = {"text", "transcript", "transcription", "speech", "utterance"}

# A paragraph's text is its ``w:r`` and ``w:hyperlink`` children's (python-docx's ``CT_P.text``), a run's is
# its ``w:br | w:cr | w:noBreakHyphen | w:ptab | w:t | w:tab`` children's, each rendered by python-docx's own
# ``__str__`` (``CT_R.text``). Selecting those children by tag instead of through python-docx's proxies and
# XPath queries (lxml compiles an XPath on every call) gives the same text several times faster.
_RUN = qn("w:r")
_HYPERLINK = qn("w:hyperlink")
_RUN_TEXT_TAGS = frozenset(qn(f"w:{name}") for name in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab"))


@dataclass
class _Block:
    """One paragraph (or table row) before it is placed in the text."""

    text: str
    heading: bool = False
    bold: int = 0
    fixed: bool = False
    label: Label | None = None


def parse_docx(path: Path, rules: LabelRules) -> ParsedTranscript:
    """A ``.docx`` transcript; a damaged document is refused, never raised as a library error."""
    document = safe_docx_open(path)
    try:
        blocks = list(_body_blocks(document, _Styles.of(document)))
        stored_title = document.core_properties.title
    except DOCX_ERRORS as exc:
        raise ImportRefused(f"{path.name}: not a readable Word document ({exc})") from exc
    finally:
        # python-docx's package and its parts refer to each other, so a Document (~5 MB of parsed XML,
        # mostly styles) waits for the cyclic garbage collector, and with spaCy loaded a full collection
        # is rare: a batch import held a dozen finished documents at a time (peak 231 MB for 96 files).
        # The document is still young: collecting the young generations frees it for ~2 ms (peak 143 MB).
        del document
        gc.collect(1)
    text, lines = _layout(blocks)
    heading = next((b.text.strip() for b in blocks if b.heading and b.text.strip()), "")
    title = heading or stored_title or path.stem
    return ParsedTranscript(text, find_turns(lines, rules), path.name, "docx", title=title)


def _layout(blocks: list[_Block]) -> tuple[str, list[Line]]:
    """Join blocks with ``\\n`` and cut them into lines; a block's bold prefix and label go to its first
    line, and a table row's later lines are fixed as continuation (no label guessing inside a cell)."""
    lines: list[Line] = []
    start = 0
    for block in blocks:
        for number, (offset, text) in enumerate(split_lines(block.text, start)):
            first = number == 0
            lines.append(
                Line(
                    offset,
                    text,
                    heading=block.heading,
                    bold=min(block.bold, len(text)) if first else 0,
                    fixed=block.fixed,
                    label=block.label if first else None,
                )
            )
        start += len(block.text) + 1
    # Trailing empty paragraphs are dropped; turns end at non-blank text, so no span reaches past this.
    return "\n".join(block.text for block in blocks).rstrip(), lines


@dataclass
class _Styles:
    """Style facts looked up once: python-docx's ``paragraph.style`` and ``run.style`` rescan every style
    in the document on each call (about 1 ms each), which made a long transcript take minutes."""

    names: dict[str, str]
    bold: set[str]

    @classmethod
    def of(cls, document: Document) -> _Styles:
        styles = list(document.styles)
        names = {style.style_id: style.name or "" for style in styles}
        bold = {style.style_id for style in styles if style.type == WD_STYLE_TYPE.CHARACTER and style.font.bold}
        return cls(names, bold)

    def is_heading(self, paragraph: Paragraph) -> bool:
        """Word's Title and Heading n styles (by name, which stays English in localised Word)."""
        return self.names.get(paragraph._p.style or "", "").startswith(("Heading", "Title"))

    def is_bold(self, r: CT_R) -> bool:
        """Bold set on the run (``w:r``), or through its character style (Word's "Strong"); what python-docx's
        ``Run.bold`` reads (``w:rPr/w:b/@w:val``), without building the proxies."""
        rpr = r.rPr
        b = None if rpr is None else rpr.b
        bold = None if b is None else b.val
        return bool(bold or (bold is None and r.style in self.bold))


def _body_blocks(container: Document | _Cell, styles: _Styles) -> Iterator[_Block]:
    for item in container.iter_inner_content():
        if isinstance(item, Paragraph):
            yield _paragraph_block(item, styles)
        else:
            yield from _table_blocks(item, styles)


def _paragraph_block(paragraph: Paragraph, styles: _Styles) -> _Block:
    """The paragraph's text (``paragraph.text``, ``\\r`` as ``\\n``) and the length of the bold text it
    starts with (blank runs before or inside it count), each run's text read once."""
    items = [child for child in paragraph._p if child.tag == _RUN or child.tag == _HYPERLINK]
    texts = [_run_text(item) if item.tag == _RUN else item.text for item in items]
    raw = "".join(texts)
    heading = styles.is_heading(paragraph)
    bold = 0
    for item, text in zip(items, texts, strict=True):
        if not (item.tag == _RUN and (styles.is_bold(item) or not text.strip())):
            break
        bold += len(text)
    return _Block(raw.replace("\r", "\n"), heading=heading, bold=bold if raw[:bold].strip() else 0)


def _run_text(r: CT_R) -> str:
    """``r.text`` (python-docx's ``CT_R.text``): its text children in document order, each as python-docx
    renders it (``w:tab`` as ``\\t``, a line break as ``\\n``, a page break as nothing ...)."""
    return "".join([str(child) for child in r if child.tag in _RUN_TEXT_TAGS])


def _table_blocks(table: Table, styles: _Styles) -> Iterator[_Block]:
    rows = list(table.rows)
    columns = _transcript_columns(rows[0].cells) if rows else None
    if columns is None:
        yield from _plain_table_blocks(table, styles)
        return
    for row in rows[1:]:
        block = _row_block(row.cells, *columns)
        if block is not None:
            yield block


def _transcript_columns(header: tuple[_Cell, ...]) -> tuple[int, int | None, int] | None:
    """(speaker, time, text) column indexes when the header row names them, in any order."""
    names = [cell.text.strip().lower() for cell in header]
    speaker = next((i for i, name in enumerate(names) if name in _SPEAKER_HEADERS), None)
    time = next((i for i, name in enumerate(names) if name in _TIME_HEADERS), None)
    text = next((i for i, name in enumerate(names) if name in _TEXT_HEADERS), None)
    if speaker is None or text is None:
        return None
    return speaker, time, text


def _row_block(cells: tuple[_Cell, ...], speaker_at: int, time_at: int | None, text_at: int) -> _Block | None:
    """``Speaker: Text`` for one row; a row with no speaker is more speech from the previous row."""

    def cell_text(index: int | None) -> str:
        return cells[index].text.strip() if index is not None and index < len(cells) else ""

    speaker, speech = cell_text(speaker_at), cell_text(text_at)
    if not speech:
        return None
    if not speaker:
        return _Block(speech, fixed=True)
    prefix = f"{speaker}: "
    label = Label(speaker, len(prefix), cell_text(time_at) or None, "row")
    return _Block(prefix + speech, fixed=True, label=label)


def _plain_table_blocks(table: Table, styles: _Styles) -> Iterator[_Block]:
    """Cell contents in reading order; a merged cell (repeated by python-docx per grid column) once."""
    seen: set[object] = set()
    for row in table.rows:
        for cell in row.cells:
            if cell._tc not in seen:  # the cell's XML element: the only identity merged cells share
                seen.add(cell._tc)
                yield from _body_blocks(cell, styles)
