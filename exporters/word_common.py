"""Word scaffolding shared by every .docx export: styles, page set-up, contents, tables, pictures and text.

Workshop handouts are read on paper and on projectors and are handed out unedited, so every document:

- uses real Word styles (Heading 1-3 for the navigation pane, a table style, quote and memo styles) on A4
  pages with "Page N of M" in the footer, and landscape sections where tables are wide;
- opens with a contents list whose entries are links to bookmarks on the headings, each with a ``PAGEREF``
  field: LibreOffice lays those out live (the right page numbers without pressing anything, and links in a
  PDF made from it); Word shows the cached number, which ``Pager`` estimates from the same layout rules
  (fonts, sizes, spacing, tables, pictures), and replaces it with the exact page when it prints or saves a
  PDF. No ``updateFields`` setting, which would make Word ask a question on opening;
- keeps table rows, charts with their tables and captions, and headings with what follows on one page;
- holds no internal text: ``handout`` strips Markdown markers and database ids from memos, and every
  character XML cannot hold is replaced with a visible mark (``clean_text``) rather than dropped;
- has document properties of its own (title, today's date, British English), not the template's.

``--large-print`` uses at least 16 pt for every piece of text, more spacing, and no dense tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:  # python-docx is imported lazily: the CLI starts without it
    from docx.document import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

Progress = Callable[[int, int, str], None]

# Characters XML 1.0 cannot hold (C0 controls except tab/newline/CR, lone surrogates, U+FFFE/U+FFFF).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = "\ufffd"

FONT = "Arial"  # ships with Word; LibreOffice substitutes the metric-compatible Liberation Sans
LANGUAGE = "en-GB"
A4_WIDTH_TWIPS, A4_HEIGHT_TWIPS = 11906, 16838
MARGIN_TWIPS = 1134  # 2 cm
TABLE_STYLE = "Table Grid"
TWIPS_PER_CM = 566.93
PT_PER_CM = 28.3465
W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
HEADER_FILL = "D9E2F3"
HEADING_COLOUR = "1F3A68"
QUOTE_STYLE, LABEL_STYLE, QUESTION_STYLE, MEMO_STYLE, SMALL_STYLE, CELL_STYLE, CODE_NOTE_STYLE = (
    "Quote",
    "Quote Label",
    "Interviewer Question",
    "Memo",
    "Small Note",
    "Table Text",
    "Code Note",
)
CAPTION_STYLE = "Caption"
TURN_NUMBER_STYLE, CODING_MARK_STYLE = "Turn Number", "Coding Mark"  # character styles: margin marks, not text
SWATCH = "\u25a0"  # a filled square in the code's colour, printed before a code's name


def visible_mark(match: re.Match[str]) -> str:
    """A control character as its Unicode "control picture" (U+240C ␌ for a form feed), so the reader sees
    that something was there; a lone surrogate or a non-character as U+FFFD."""
    char = match.group()
    return chr(0x2400 + ord(char)) if ord(char) < 0x20 else REPLACEMENT


def clean_text(text: str | None) -> str:
    """The text with every character XML cannot hold replaced by a visible mark (never dropped, never a crash).

    ``isprintable`` is a fast C check that is true for most one-line text, which then needs no regex.
    """
    if not text:
        return ""
    return text if text.isprintable() else _ILLEGAL_XML.sub(visible_mark, text)


_MARKDOWN_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_IDS = re.compile(r"\s*\((?:code|coding|id|transcript) ?#?\d+\)|\s*#\d+\b")


def handout(text: str | None) -> str:
    """Free text (memos, definitions) as a reader should see it: no Markdown heading markers or bold
    markers, no database ids such as "(code #14)" (older projects wrote them into merge notes)."""
    if not text:
        return ""
    text = _MARKDOWN_HEADING.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    return _IDS.sub("", text).strip()


_MARKDOWN_LABEL = re.compile(r"(?m)^(?:\*\*|__)([^*_\n]{1,80}?)(?:\*\*|__)(?=\s|$)")
_MARKDOWN_LINE = re.compile(r"(?m)^(?:#{1,6}[ \t]+|[*_](?=\S)(.*?\S)[*_][ \t]*$)")


def unmark(text: str) -> str:
    """Transcript text as a handout shows it: Markdown speaker labels (``**Dana:**``), heading markers and
    whole-line emphasis of a transcript imported from ``.md`` lose their markers (Word reports only: the
    stored text and the CSV keep every character)."""
    if "*" not in text and "#" not in text and "_" not in text:
        return text
    text = _MARKDOWN_LABEL.sub(r"\1", text)
    return _MARKDOWN_LINE.sub(lambda m: m.group(1) or "", text)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 passage``, ``3 passages``, ``2 people`` (with ``many``)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def joined(names: Sequence[str]) -> str:
    """``Ann``, ``Ann and Ben``, ``Ann, Ben and Cy``."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}" if names else ""


def turn_label(index: int | None, last: int | None = None) -> str:
    """How every report names a speaker turn ("turn 12", "turns 12–14"): counted from 1, as the workspace
    shows them, from the stored index (which counts from 0)."""
    from models.transcripts import turn_number

    if index is None:
        return ""
    if last is not None and last != index:
        return f"turns {turn_number(index)}–{turn_number(last)}"
    return f"turn {turn_number(index)}"


def light(colour: str, share: float = 0.72) -> str:
    """A code colour (``#4e79a7``) mixed with white, as an RRGGBB fill that keeps black text readable."""
    value = colour.lstrip("#")
    if len(value) != 6:
        return "FFF2CC"
    rgb = [int(value[i : i + 2], 16) for i in (0, 2, 4)]
    return "".join(f"{round(c + (255 - c) * share):02X}" for c in rgb)


def word_colour(colour: str) -> str:
    value = colour.lstrip("#").upper()
    return value if re.fullmatch(r"[0-9A-F]{6}", value) else "808080"


@dataclass(frozen=True)
class Look:
    """Type sizes and spacing; ``large`` for workshop participants who find dense print hard (>= 16 pt)."""

    large: bool = False

    @property
    def body_pt(self) -> float:
        return 16 if self.large else 10.5

    @property
    def small_pt(self) -> float:
        return 16 if self.large else 8.5

    @property
    def line_spacing(self) -> float:
        return 1.5 if self.large else 1.15

    @property
    def space_after_pt(self) -> float:
        return 10 if self.large else 4

    def heading_pt(self, level: int) -> float:
        sizes = (28, 24, 20) if self.large else (17, 14, 12)
        return sizes[min(level, 3) - 1]

    @property
    def title_pt(self) -> float:
        return 36 if self.large else 25


# --- estimated layout ------------------------------------------------------------------------------------

# Advance widths of Liberation Sans (metric-compatible with Arial) for ASCII 32-126, in 1/1000 em.
_REGULAR = (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 556 556 556 556 278 "
    "278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722 778 667 778 722 667 611 722 "
    "667 944 667 667 611 278 278 278 469 556 333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 "
    "556 333 500 278 556 500 722 500 500 500 334 260 334 584"
)
_BOLD = (
    "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 556 556 556 556 556 333 "
    "333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 611 833 722 778 667 778 722 667 611 722 "
    "667 944 667 667 611 333 278 333 584 556 333 556 611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 "
    "611 389 556 333 611 556 778 556 556 500 389 280 389 584"
)
_WIDTHS = {
    bold: {chr(32 + i): int(w) / 1000 for i, w in enumerate(table.split())} for bold, table in ((False, _REGULAR),
                                                                                               (True, _BOLD))
}  # fmt: skip
LINE_EM = 1.149  # Liberation Sans: ascent + descent + line gap, in em
AVERAGE_EM = 0.5  # the average advance of English prose in Liberation Sans, spaces included


def text_width_em(text: str, bold: bool = False) -> float:
    widths = _WIDTHS[bold]
    return sum(widths.get(char, 0.56) for char in text)


_WORD_WIDTHS: dict[bool, dict[str, float]] = {False: {}, True: {}}


def _word_em(word: str, bold: bool) -> float:
    """A word's width in em, remembered (transcripts repeat their words)."""
    cache = _WORD_WIDTHS[bold]
    found = cache.get(word)
    if found is None:
        widths = _WIDTHS[bold]
        found = sum(widths.get(char, 0.56) for char in word)
        if len(cache) < 200_000:
            cache[word] = found
    return found


def line_count(text: str, size_pt: float, width_pt: float, bold: bool = False) -> int:
    """Lines a paragraph takes when words wrap at ``width_pt`` (greedy, as Word and LibreOffice do)."""
    if width_pt <= 0:
        return 1
    width_em = width_pt / size_pt
    if len(text) > 400 and "\n" not in text:  # long prose: its average width (0.5 em a character) is close
        return 1 + int(len(text) * AVERAGE_EM * 1.03 // width_em)
    total = 0
    space = _WIDTHS[bold][" "]
    for line in text.split("\n"):
        count, used = 1, 0.0
        for word in line.split(" "):
            w = _word_em(word, bold)
            if used and used + space + w > width_em:
                count += 1 + int(w // width_em)
                used = w % width_em
            else:
                used += (space if used else 0) + w
        total += count
    return total


@dataclass
class Entry:
    """A heading as the contents list shows it: level, text, its bookmark, and its (estimated) page."""

    level: int
    text: str
    bookmark: str
    page: int = 1


@dataclass
class Pager:
    """Where the text has got to on the page, in points, so the contents list can carry page numbers that Word
    shows before it repaginates. An estimate from the same rules the documents are written with (A4, 2 cm
    margins, Liberation Sans metrics, the styles' sizes and spacing, rows kept whole, headings kept with
    what follows); LibreOffice computes the real pages itself."""

    page: int = 1
    used: float = 0.0
    height: float = (A4_HEIGHT_TWIPS - 2 * MARGIN_TWIPS) / 20 - 28  # less the footer
    kept: list[tuple[float, list[Entry]]] = field(default_factory=list)  # heights kept with the next block

    def new_page(self) -> None:
        self.page += 1
        self.used = 0.0

    def place(self, height: float, splittable: bool = False, keep_next: bool = False, entry: Entry | None = None,
              line: float = 0.0) -> None:  # fmt: skip
        """A block of ``height`` points; kept blocks move to the next page with the first block that does
        not fit after them."""
        kept_height = sum(h for h, _ in self.kept)
        fits = self.used + kept_height + height <= self.height
        if not fits and splittable and line and self.used + kept_height + 2 * line <= self.height:
            fits = True  # a long paragraph starts here and runs on
        if not fits and self.used > 0:
            self.new_page()
            for h, entries in self.kept:
                for moved in entries:
                    moved.page = self.page
                self.used += h
        elif self.kept:
            self.used += kept_height
        self.kept = []
        if entry is not None:
            entry.page = self.page
        if keep_next:
            self.kept.append((height, [entry] if entry else []))
            return
        self.used += height
        while self.used > self.height:  # a paragraph or picture longer than what is left runs on
            self.used -= self.height
            self.page += 1


@dataclass
class Report:
    """A document being written: the python-docx document, its look, and the contents entries."""

    document: Document
    look: Look
    headings: list[Entry] = field(default_factory=list)
    pager: Pager = field(default_factory=Pager)
    _contents_anchor: Paragraph | None = None
    _style_ids: dict[str, str] = field(default_factory=dict)
    _shape_ids: int = 0
    _sect_pr: Any = None
    _images: dict[bytes, tuple[str, Any]] = field(default_factory=dict)
    _image_numbers: set[int] | None = None
    _next_image: int = 1
    _next_rel: int = 1
    _width_pt: float = (A4_WIDTH_TWIPS - 2 * MARGIN_TWIPS) / 20
    _pending: list[str] = field(default_factory=list)  # paragraphs written as XML, parsed together

    def style_id(self, name: str) -> str:
        """A style's id, looked up once: python-docx's lookup by name costs a millisecond each time."""
        if name not in self._style_ids:
            self._style_ids[name] = self.document.styles[name].style_id
        return self._style_ids[name]

    def styled(self, paragraph: Paragraph, style: str | None) -> Paragraph:
        if style:
            set_style_id(paragraph._p, self.style_id(style))
        return paragraph

    # --- text -----------------------------------------------------------------------------------------

    def new_paragraph(self, style: str | None = None) -> Paragraph:
        """An empty paragraph at the end of the body.

        python-docx's ``add_paragraph`` finds the body's closing ``sectPr`` by scanning every child, which
        makes a long report quadratic; we keep that element and insert before it directly.
        """
        from docx.oxml import OxmlElement
        from docx.text.paragraph import Paragraph

        element = OxmlElement("w:p")
        self._end().addprevious(element)
        return self.styled(Paragraph(element, self.document._body), style)

    def _end(self) -> Any:
        """The body's closing section properties, before which everything is inserted (pending XML
        paragraphs are put in place first, so the order of the document is the order of the calls)."""
        if self._sect_pr is None:
            self._sect_pr = self.document.element.body.sectPr
        if self._pending:
            self._flush()
        return self._sect_pr

    def _flush(self) -> None:
        from docx.oxml import parse_xml

        wrapper = parse_xml(f"<w:body {W_NS}>{''.join(self._pending)}</w:body>")
        self._pending = []
        for child in list(wrapper):
            self._sect_pr.addprevious(child)

    def runs(self, runs: Sequence[tuple[str, bool, bool]], style: str | None = None, keep_next: bool = False,
             indent_cm: float = 0) -> None:  # fmt: skip
        """A paragraph of ``(text, bold, italic)`` runs, written as XML and parsed with its neighbours in one
        go: building a paragraph element by element through python-docx costs several times more."""
        properties = f'<w:pStyle w:val="{self.style_id(style)}"/>' if style else ""
        if keep_next:
            properties += "<w:keepNext/><w:keepLines/>"
        if indent_cm:
            properties += f'<w:ind w:left="{int(indent_cm * TWIPS_PER_CM)}"/>'
        body = "".join(run_xml(text, bold, italic) for text, bold, italic in runs if text)
        self._pending.append(f"<w:p>{'<w:pPr>' + properties + '</w:pPr>' if properties else ''}{body}</w:p>")
        if len(self._pending) > 200:
            self._end()

    def heading(self, text: str, level: int, colour: str | None = None, in_contents: bool = True) -> None:
        """Heading 1-3 (deeper levels are shown as Heading 3 so the navigation pane keeps them), bookmarked
        for the contents list; ``colour`` puts the code's swatch before the text."""
        level = max(1, min(level, 3))
        text = clean_text(text)
        mark = swatch_xml(colour) if colour else ""
        entry = None
        body = run_xml(text)
        if in_contents:
            number = len(self.headings) + 1
            entry = Entry(level, text, f"_Toc{number:05d}")
            self.headings.append(entry)
            body = (f'<w:bookmarkStart w:id="{number}" w:name="{entry.bookmark}"/>{body}'
                    f'<w:bookmarkEnd w:id="{number}"/>')  # fmt: skip
        style = self.style_id(f"Heading {level}")
        self._pending.append(f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>{mark}{body}</w:p>')
        size = self.look.heading_pt(level)
        before = 18 if level == 1 else 12
        lines = self._lines(text, size, bold=True)
        self.pager.place(lines * size * LINE_EM * self.look.line_spacing + before + 6, keep_next=True, entry=entry)

    def paragraph(
        self, text: str = "", style: str | None = None, bold_prefix: str = "", keep_next: bool = False,
        indent_cm: float = 0,
    ) -> None:  # fmt: skip
        """A paragraph; ``bold_prefix`` (e.g. ``"Definition: "``) is written bold before the text. A kept
        paragraph is kept whole too: LibreOffice may otherwise leave a heading above a split paragraph."""
        self.runs([(bold_prefix, True, False), (text, False, False)], style, keep_next, indent_cm)
        self.account(bold_prefix + text, style, keep_next, indent_cm)

    def account(self, text: str, style: str | None = None, keep_next: bool = False, indent_cm: float = 0) -> None:
        """Tell the pager about a paragraph written some other way."""
        size, indent, after = self._metrics(style)
        lines = self._lines(text, size, indent_cm + indent)
        spacing = self.look.line_spacing * LINE_EM * size
        self.pager.place(lines * spacing + after, splittable=lines > 3, keep_next=keep_next, line=spacing)

    def _metrics(self, style: str | None) -> tuple[float, float, float]:
        look = self.look
        if style in (QUOTE_STYLE,):
            return look.body_pt, 1.5, 1
        if style in (LABEL_STYLE, MEMO_STYLE, CODE_NOTE_STYLE, QUESTION_STYLE, CAPTION_STYLE):
            return look.small_pt, 1.0, look.space_after_pt + 3
        if style in (SMALL_STYLE, CELL_STYLE):
            return look.small_pt, 0, look.space_after_pt
        if style == "Title":
            return look.title_pt, 0, 12
        if style in ("Subtitle", "TOC Heading"):
            return look.heading_pt(1), 0, 12
        return look.body_pt, 0, look.space_after_pt

    def _lines(self, text: str, size: float, indent_cm: float = 0, bold: bool = False) -> int:
        return line_count(text, size, self._width_pt - indent_cm * PT_PER_CM, bold)

    def page_break(self) -> None:
        from docx.enum.text import WD_BREAK

        self.new_paragraph().add_run().add_break(WD_BREAK.PAGE)
        self.pager.place(0)
        self.pager.new_page()

    def picture(self, png: bytes, width_cm: float, alt: str, paragraph: Paragraph | None = None) -> Paragraph:
        """An inline picture with alt text, in ``paragraph`` or its own new paragraph.

        Built here rather than with ``add_picture``, whose shape id scans the whole document for the
        largest id: hundreds of charts in a long report made that quadratic. Our pictures are the only
        drawings, so a counter gives unique ids.
        """
        from docx.oxml.shape import CT_Inline
        from docx.shared import Cm

        found = self._images.get(png)
        if found is None:
            found = self._images[png] = self._add_image(png)
        rel_id, image = found
        cx, cy = image.scaled_dimensions(Cm(width_cm), None)
        self._shape_ids += 1
        inline = CT_Inline.new_pic_inline(self._shape_ids, rel_id, image.filename, cx, cy)
        doc_pr = inline.docPr
        doc_pr.set("descr", clean_text(alt))
        doc_pr.set("name", f"Chart {self._shape_ids}")
        para = paragraph if paragraph is not None else self.new_paragraph()
        para.add_run()._r.add_drawing(inline)
        if paragraph is None:
            self.pager.place(cy / 12700 + self.look.space_after_pt)
        return para

    def _add_image(self, png: bytes) -> tuple[str, Any]:
        """The image part for a new picture and its relationship id.

        python-docx's ``get_or_add_image`` hashes every image already in the package to find a duplicate,
        parses every image part name to find a free number and compares every relationship: quadratic over
        hundreds of charts.
        Identical pictures are found here by their bytes (``picture``), and new parts get the name
        python-docx would give (the lowest free ``/word/media/imageN``), found with a counter.
        """
        from docx.image.image import Image
        from docx.opc.constants import RELATIONSHIP_TYPE
        from docx.opc.packuri import PackURI
        from docx.parts.image import ImagePart

        part = self.document.part
        images = part.package.image_parts
        if self._image_numbers is None:
            self._image_numbers = {image_part.partname.idx for image_part in images}
        number = self._next_image
        while number in self._image_numbers:
            number += 1
        self._image_numbers.add(number)
        self._next_image = number + 1
        image = Image.from_blob(png)
        image_part = ImagePart.from_image(image, PackURI(f"/word/media/image{number}.{image.ext}"))
        images.append(image_part)
        # ``part.relate_to`` would first look through every relationship for one to this new part; the id
        # is the lowest free ``rIdN``, as python-docx numbers them (relationships are only ever added).
        rels = part.rels
        while f"rId{self._next_rel}" in rels:
            self._next_rel += 1
        rel_id = f"rId{self._next_rel}"
        rels.add_relationship(RELATIONSHIP_TYPE.IMAGE, image_part, rel_id)
        return rel_id, image

    # --- tables ---------------------------------------------------------------------------------------

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths_cm: Sequence[float] = (),
        style: str | None = None,
        keep_together: bool = False,
        fills: Sequence[Sequence[str | None]] | None = None,
        bold_first: Sequence[bool] | None = None,
        swatches: Sequence[str | None] | None = None,
        groups: Sequence[tuple[str, int]] = (),
        right: Sequence[bool] = (),
    ) -> Table:
        """A styled, fixed-width table whose header row repeats on every page and whose rows never split
        across pages; cell text is cleaned. ``keep_together`` keeps a small table on one page with what
        follows. ``fills`` shades cells (RRGGBB, None for none); ``bold_first`` makes a row's first cell
        bold; ``swatches`` puts a code's colour square before a row's first cell; ``groups`` adds a header
        row above the headers whose cells span several columns (``(title, columns)``); ``right`` aligns
        the columns marked True to the right (numbers), header included.

        Written as one XML string and parsed once: python-docx's cell-by-cell API made hundreds of small
        tables a large share of a report's time.
        """
        element = self.table_element(
            headers, rows, widths_cm, style, keep_together, fills, bold_first, swatches, groups=groups, right=right
        )
        self._end().addprevious(element)
        from docx.table import Table as make_table

        return make_table(element, self.document._body)

    def table_element(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths_cm: Sequence[float] = (),
        style: str | None = None,
        keep_together: bool = False,
        fills: Sequence[Sequence[str | None]] | None = None,
        bold_first: Sequence[bool] | None = None,
        swatches: Sequence[str | None] | None = None,
        account: bool = True,
        groups: Sequence[tuple[str, int]] = (),
        right: Sequence[bool] = (),
    ) -> Any:
        from docx.oxml import parse_xml

        widths = list(widths_cm) or [self.usable_width_cm() / len(headers)] * len(headers)
        twips = [int(w * TWIPS_PER_CM) for w in widths]
        style_xml = f'<w:pStyle w:val="{self.style_id(style)}"/>' if style else ""
        plain = f"<w:pPr>{style_xml}</w:pPr>" if style else ""
        kept = f"<w:pPr>{style_xml}<w:keepNext/></w:pPr>"
        body = [_group_row_xml(groups, twips, kept)] if groups else []
        body.append(_row_xml(headers, twips, kept if rows else plain, header=True, right=right))
        for i, values in enumerate(rows):
            last = i == len(rows) - 1
            body.append(
                _row_xml(
                    values,
                    twips,
                    kept if keep_together and not last else plain,
                    fills=fills[i] if fills else None,
                    bold_first=bool(bold_first and bold_first[i]),
                    swatch_colour=swatches[i] if swatches else None,
                    right=right,
                )
            )
        grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in twips)
        element = parse_xml(
            f'<w:tbl {W_NS}><w:tblPr><w:tblStyle w:val="{self.style_id(TABLE_STYLE)}"/>'
            f'<w:tblW w:w="{sum(twips)}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" '
            f'w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>{"".join(body)}</w:tbl>'
        )
        if account:
            self._account_table(headers, rows, widths, style, keep_together)
        return element

    def table_height(self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
                     style: str | None) -> tuple[float, list[float]]:  # fmt: skip
        """Estimated heights of the header row and of each row, in points."""
        size = self.look.small_pt if style == CELL_STYLE else self.look.body_pt
        spacing = self.look.line_spacing * LINE_EM * size
        padding = 2 + (2 if style == CELL_STYLE else self.look.space_after_pt)

        def row_height(values: Sequence[str], bold: bool = False) -> float:
            lines = max(
                (line_count(str(v), size, w * PT_PER_CM - 11, bold) for v, w in zip(values, widths, strict=True)),
                default=1,
            )
            return lines * spacing + padding

        return row_height(headers, bold=True), [row_height(values) for values in rows]

    def _account_table(self, headers, rows, widths, style, keep_together) -> None:  # noqa: ANN001
        header, heights = self.table_height(headers, rows, widths, style)
        if keep_together:
            self.pager.place(header + sum(heights))
            return
        self.pager.place(header + (heights[0] if heights else 0))
        for height in heights[1:]:
            if self.pager.used + height > self.pager.height:
                self.pager.new_page()
                self.pager.used += header
            self.pager.place(height)

    def layout_row(self, cells: Sequence[tuple[float, Callable[[Any], float]]]) -> None:
        """A borderless one-row table that never splits: each ``(width_cm, fill)`` cell is filled by
        ``fill(cell)``, which returns the height it wrote in points. Keeps a chart with its table and
        caption on one page in Word and LibreOffice alike."""
        from docx.oxml import parse_xml
        from docx.table import Table as make_table

        twips = [int(w * TWIPS_PER_CM) for w, _fill in cells]
        grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in twips)
        tcs = "".join(f'<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/></w:tcPr></w:tc>' for w in twips)
        element = parse_xml(
            f'<w:tbl {W_NS}><w:tblPr><w:tblW w:w="{sum(twips)}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
            '<w:tblBorders><w:top w:val="nil"/><w:left w:val="nil"/><w:bottom w:val="nil"/><w:right w:val="nil"/>'
            '<w:insideH w:val="nil"/><w:insideV w:val="nil"/></w:tblBorders>'
            '<w:tblCellMar><w:left w:w="0" w:type="dxa"/><w:right w:w="113" w:type="dxa"/></w:tblCellMar>'
            f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid><w:tr><w:trPr><w:cantSplit/></w:trPr>{tcs}</w:tr></w:tbl>"
        )
        self._end().addprevious(element)
        table = make_table(element, self.document._body)
        heights = [fill(cell) for cell, (_w, fill) in zip(table.rows[0].cells, cells, strict=True)]
        for cell in table.rows[0].cells:  # a cell must end with a paragraph
            if cell._tc[-1].tag.endswith("}tbl"):
                cell._tc.append(parse_xml(f"<w:p {W_NS}/>"))
        self.pager.place(max(heights, default=0) + self.look.space_after_pt)

    # --- sections and the contents list ----------------------------------------------------------------

    def landscape(self, on: bool) -> None:
        """Start a new section in landscape (``on``) or portrait; footers carry on from the previous one."""
        from docx.enum.section import WD_ORIENT, WD_SECTION

        current = self.document.sections[-1]
        if (current.orientation == WD_ORIENT.LANDSCAPE) == on:
            return
        section = self.document.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE if on else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = section.page_height, section.page_width
        self._sect_pr = None
        self._width_pt = (section.page_width - section.left_margin - section.right_margin) / 12700
        self.pager.place(0)
        self.pager.new_page()
        self.pager.height = (section.page_height - section.top_margin - section.bottom_margin) / 12700 - 28

    def start_landscape(self) -> None:
        """Turn the first section landscape before anything is written (``landscape`` would leave an empty
        portrait page in front): for a document that is one wide table."""
        from docx.enum.section import WD_ORIENT

        section: Any = self.document.sections[0]  # lengths typed Optional: set on every section we write
        if section.orientation == WD_ORIENT.LANDSCAPE:
            return
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
        self._width_pt = (section.page_width - section.left_margin - section.right_margin) / 12700
        self.pager.height = (section.page_height - section.top_margin - section.bottom_margin) / 12700 - 28

    def usable_width_cm(self) -> float:
        """Text width of the current (last) section."""
        return self._width_pt / PT_PER_CM

    def contents(self, title: str = "Contents") -> None:
        """Mark where the contents list goes; ``finish`` fills it once all headings are known. The list
        takes the rest of its page (one line per heading, with room for its own page or pages)."""
        self.paragraph(title, style="TOC Heading")
        self._contents_anchor = self.new_paragraph()

    def finish(self, path: Path) -> None:
        """Write the contents list (links with page numbers) and save."""
        self._end()
        if self._contents_anchor is not None:
            write_contents(self, self._contents_anchor)
        self.document.save(str(path))


def new_report(title: str, large_print: bool = False) -> Report:
    """A blank A4 document with the project's styles, a footer page number and its own properties."""
    from docx import Document as make_document

    document = make_document()
    look = Look(large_print)
    _page_setup(document)
    _styles(document, look)
    _footer_page_number(document, look)
    _properties(document, title)
    return Report(document, look)


def _properties(document: Document, title: str) -> None:
    """Title, author, today's date and British English (the template says 2013 and en-US)."""
    from docx.oxml.ns import qn

    now = datetime.now(UTC).replace(microsecond=0)
    props = document.core_properties
    props.title = clean_text(title)[:250]
    props.author = props.last_modified_by = "waveqda"
    props.comments = props.subject = props.keywords = props.category = ""
    props.created = props.modified = now
    for element in props._element.findall(qn("cp:lastPrinted")):  # the template's 2013 date
        props._element.remove(element)
    props.revision = 1
    props.language = LANGUAGE
    settings = document.settings.element
    for element in settings.iter(qn("w:themeFontLang")):
        element.set(qn("w:val"), LANGUAGE)
    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        for lang in defaults.iter(qn("w:lang")):
            lang.set(qn("w:val"), LANGUAGE)


def _page_setup(document: Document) -> None:
    from docx.shared import Twips

    section = document.sections[0]
    section.page_width, section.page_height = Twips(A4_WIDTH_TWIPS), Twips(A4_HEIGHT_TWIPS)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Twips(MARGIN_TWIPS))


def _styles(document: Document, look: Look) -> None:
    """Fonts and spacing of the built-in styles, plus the few paragraph styles the reports add."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Cm, Pt, RGBColor

    styles = document.styles
    normal = styles["Normal"]
    _font(normal, look.body_pt)
    normal.paragraph_format.space_after = Pt(look.space_after_pt)
    normal.paragraph_format.line_spacing = look.line_spacing
    normal.paragraph_format.widow_control = True
    heading_colour = RGBColor.from_string(HEADING_COLOUR)
    for level in (1, 2, 3):
        style = styles[f"Heading {level}"]
        _font(style, look.heading_pt(level), bold=True, colour=heading_colour)
        style.paragraph_format.space_before = Pt(18 if level == 1 else 12)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = True
        style.paragraph_format.keep_together = True
    for name in ("Title", "Subtitle", "TOC Heading"):
        _font(styles[name], look.title_pt if name == "Title" else look.heading_pt(1), colour=heading_colour)
        styles[name].paragraph_format.space_after = Pt(12)
    quote = styles[QUOTE_STYLE]
    _font(quote, look.body_pt, italic=False, colour=RGBColor(0, 0, 0))
    quote.paragraph_format.left_indent = Cm(1)
    quote.paragraph_format.right_indent = Cm(0.5)
    quote.paragraph_format.space_after = Pt(1)
    quote.paragraph_format.keep_with_next = True
    caption = styles[CAPTION_STYLE]
    _font(caption, look.small_pt, bold=False, italic=False, colour=RGBColor(0x40, 0x40, 0x40))
    added = {
        LABEL_STYLE: (look.small_pt, False, RGBColor(0x40, 0x40, 0x40), Cm(1), Pt(look.space_after_pt + 4)),
        QUESTION_STYLE: (look.small_pt, True, RGBColor(0x55, 0x55, 0x55), Cm(1), Pt(1)),
        MEMO_STYLE: (look.small_pt, True, RGBColor(0x5A, 0x3E, 0x00), Cm(1), Pt(look.space_after_pt + 2)),
        SMALL_STYLE: (look.small_pt, False, RGBColor(0x40, 0x40, 0x40), Cm(0), Pt(look.space_after_pt)),
        CELL_STYLE: (look.small_pt, False, RGBColor(0, 0, 0), Cm(0), Pt(2)),
        CODE_NOTE_STYLE: (look.small_pt, False, RGBColor(0x40, 0x40, 0x40), Cm(1), Pt(look.space_after_pt)),
    }
    for name, (size, italic, colour, indent, after) in added.items():
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.quick_style = True
        _font(style, size, italic=italic, colour=colour)
        style.paragraph_format.left_indent = indent
        style.paragraph_format.space_after = after
    styles[QUESTION_STYLE].paragraph_format.keep_with_next = True
    character_styles: tuple[tuple[str, RGBColor | None], ...] = (
        (TURN_NUMBER_STYLE, RGBColor(0x7F, 0x7F, 0x7F)),
        (CODING_MARK_STYLE, None),
    )
    for name, mark_colour in character_styles:
        style = styles.add_style(name, WD_STYLE_TYPE.CHARACTER)
        style.font.size = Pt(look.small_pt)
        if mark_colour is not None:
            style.font.color.rgb = mark_colour
    for level in (1, 2, 3):
        toc = styles.add_style(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH)
        toc.base_style = normal
        toc.paragraph_format.left_indent = Cm(0.6 * (level - 1))
        toc.paragraph_format.space_after = Pt(2)
        _font(toc, look.body_pt, bold=level == 1)


def _font(style: Any, size: float, bold: bool | None = None, italic: bool | None = None, colour: Any = None) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    font = style.font
    font.name = FONT
    font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if italic is not None:
        font.italic = italic
    if colour is not None:
        font.color.rgb = colour
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)


def _footer_page_number(document: Document, look: Look) -> None:
    """'Page N of M' centred in the footer, through PAGE and NUMPAGES fields."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    para = document.sections[0].footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.add_run("Page ").font.size = Pt(look.small_pt)
    add_field(para, "PAGE", "1", look.small_pt)
    para.add_run(" of ").font.size = Pt(look.small_pt)
    add_field(para, "NUMPAGES", "1", look.small_pt)


def add_field(paragraph: Paragraph, instruction: str, result: str, size_pt: float | None = None) -> None:
    """A complex field (begin / instruction / separate / cached result / end) inside one paragraph."""
    from docx.shared import Pt

    runs = [paragraph.add_run() for _ in range(5)]
    _field_char(runs[0], "begin")
    _instruction(runs[1], instruction)
    _field_char(runs[2], "separate")
    runs[3].text = result
    _field_char(runs[4], "end")
    if size_pt:
        for run in runs:
            run.font.size = Pt(size_pt)


def _field_char(run: Any, kind: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement("w:fldChar")
    element.set(qn("w:fldCharType"), kind)
    run._r.append(element)


def _instruction(run: Any, text: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement("w:instrText")
    element.set(qn("xml:space"), "preserve")
    element.text = f" {text} "
    run._r.append(element)


def write_contents(report: Report, anchor: Paragraph) -> None:
    """One paragraph per heading: a link to its bookmark, a dot leader and a ``PAGEREF`` field.

    Deliberately not inside a ``TOC`` field: LibreOffice would show a TOC field's cached text as it is,
    while a bare ``PAGEREF`` is a live cross-reference it lays out itself; Word updates it when printing."""
    from docx.oxml import parse_xml

    tab = int(report.usable_width_cm() * TWIPS_PER_CM) - 10
    entries = report.headings
    # The list is written before the headings it lists: pages after it move on by the pages it takes.
    lines_per_page = max(1, int(report.pager.height // (report.look.body_pt * report.look.line_spacing * 1.35)))
    extra = max(0, (len(entries) - 1) // lines_per_page)
    for entry in entries:
        page = entry.page + extra
        style = report.style_id(f"toc {entry.level}")
        xml = (
            f'<w:p {W_NS}><w:pPr><w:pStyle w:val="{style}"/><w:tabs><w:tab w:val="right" w:leader="dot" '
            f'w:pos="{tab}"/></w:tabs></w:pPr><w:hyperlink w:anchor={quoteattr(entry.bookmark)} w:history="1">'
            f'<w:r><w:t xml:space="preserve">{escape(entry.text)}</w:t></w:r><w:r><w:tab/></w:r>'
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r><w:instrText xml:space="preserve"> PAGEREF {entry.bookmark} \\h </w:instrText></w:r>'
            f'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>{page}</w:t></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:hyperlink></w:p>'
        )
        anchor._p.addprevious(parse_xml(xml))
    if not entries:
        anchor._p.addprevious(parse_xml(f"<w:p {W_NS}><w:r><w:t>No sections in this selection.</w:t></w:r></w:p>"))
    anchor._p.getparent().remove(anchor._p)


# --- runs and cells ----------------------------------------------------------------------------------------


def _row_xml(
    values: Sequence[str],
    twips: Sequence[int],
    paragraph_style: str,
    header: bool = False,
    fills: Sequence[str | None] | None = None,
    bold_first: bool = False,
    swatch_colour: str | None = None,
    right: Sequence[bool] = (),
) -> str:
    """One table row that never splits across pages; a header row is shaded, bold and repeated; the cells
    of columns marked in ``right`` are aligned right."""
    row_properties = "<w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>" if header else "<w:trPr><w:cantSplit/></w:trPr>"
    cells = []
    for i, (value, width) in enumerate(zip(values, twips, strict=True)):
        fill = HEADER_FILL if header else (fills[i] if fills else None)
        shading = f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else ""
        bold = header or (bold_first and i == 0)
        run_properties = "<w:rPr><w:b/></w:rPr>" if bold else ""
        if fill and not header and _dark(fill):
            run_properties = f'<w:rPr>{"<w:b/>" if bold else ""}<w:color w:val="FFFFFF"/></w:rPr>'
        lines = clean_text(value).split("\n") if value else [""]
        properties = _aligned_right(paragraph_style) if i < len(right) and right[i] else paragraph_style
        paragraphs = []
        for j, line in enumerate(lines):
            mark = ""
            if j == 0 and i == 0 and swatch_colour:
                mark = f'<w:r><w:rPr><w:color w:val="{word_colour(swatch_colour)}"/></w:rPr><w:t xml:space="preserve">{SWATCH} </w:t></w:r>'  # noqa: E501
            text = f'<w:r>{run_properties}<w:t xml:space="preserve">{escape(line)}</w:t></w:r>' if line else ""
            paragraphs.append(f"<w:p>{properties}{mark}{text}</w:p>")
        cells.append(f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shading}</w:tcPr>{"".join(paragraphs)}</w:tc>')
    return f"<w:tr>{row_properties}{''.join(cells)}</w:tr>"


def _aligned_right(paragraph_style: str) -> str:
    """A paragraph's properties with right alignment (``w:jc`` comes after the style and keep marks)."""
    if not paragraph_style:
        return '<w:pPr><w:jc w:val="right"/></w:pPr>'
    return paragraph_style.replace("</w:pPr>", '<w:jc w:val="right"/></w:pPr>')


def _group_row_xml(groups: Sequence[tuple[str, int]], twips: Sequence[int], paragraph_style: str) -> str:
    """A repeated header row whose cells span columns: ``(title, how many columns)``."""
    cells, at = [], 0
    for title, span in groups:
        width = sum(twips[at : at + span])
        at += span
        text = f'<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">{escape(clean_text(title))}</w:t></w:r>'
        cells.append(
            f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/><w:gridSpan w:val="{span}"/>'
            f'<w:shd w:val="clear" w:color="auto" w:fill="{HEADER_FILL}"/></w:tcPr>'
            f"<w:p>{paragraph_style}{text if title else ''}</w:p></w:tc>"
        )
    return f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{''.join(cells)}</w:tr>"


def _dark(fill: str) -> bool:
    r, g, b = (int(fill[i : i + 2], 16) for i in (0, 2, 4))
    return 0.299 * r + 0.587 * g + 0.114 * b < 128


def run_xml(text: str, bold: bool = False, italic: bool = False) -> str:
    """A run as WordprocessingML: cleaned, escaped text; line breaks as ``w:br``, tabs as ``w:tab``."""
    properties = ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "")
    out = [f"<w:r><w:rPr>{properties}</w:rPr>" if properties else "<w:r>"]
    for i, line in enumerate(escape(clean_text(text)).split("\n")):
        if i:
            out.append("<w:br/>")
        for j, piece in enumerate(line.split("\t")):
            if j:
                out.append("<w:tab/>")
            if piece:
                out.append(f'<w:t xml:space="preserve">{piece}</w:t>')
    out.append("</w:r>")
    return "".join(out)


def add_run(paragraph: Paragraph, text: str, bold: bool = False, italic: bool = False, colour: str | None = None,
            size_pt: float | None = None, superscript: bool = False, shade: str | None = None,
            underline: bool = False, style_id: str | None = None) -> Any:  # fmt: skip
    """Append a run of cleaned text: line breaks become ``w:br`` and tabs ``w:tab``, as in Word.

    Built directly because python-docx's ``add_run`` walks the text a character at a time, which was a
    large share of a long report's time.
    """
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.text.run import Run

    run = OxmlElement("w:r")
    if bold or italic or colour or size_pt or superscript or shade or underline or style_id:
        properties = OxmlElement("w:rPr")
        if style_id:
            element = OxmlElement("w:rStyle")
            element.set(qn("w:val"), style_id)
            properties.append(element)
        for flag, tag in ((bold, "w:b"), (italic, "w:i")):
            if flag:
                properties.append(OxmlElement(tag))
        if colour:
            element = OxmlElement("w:color")
            element.set(qn("w:val"), word_colour(colour))
            properties.append(element)
        if size_pt:
            element = OxmlElement("w:sz")
            element.set(qn("w:val"), str(round(size_pt * 2)))
            properties.append(element)
        if underline:
            element = OxmlElement("w:u")
            element.set(qn("w:val"), "single")
            properties.append(element)
        if shade:
            element = OxmlElement("w:shd")
            element.set(qn("w:val"), "clear")
            element.set(qn("w:color"), "auto")
            element.set(qn("w:fill"), shade)
            properties.append(element)
        if superscript:
            element = OxmlElement("w:vertAlign")
            element.set(qn("w:val"), "superscript")
            properties.append(element)
        run.append(properties)
    for i, line in enumerate(clean_text(text).split("\n")):
        if i:
            run.append(OxmlElement("w:br"))
        for j, piece in enumerate(line.split("\t")):
            if j:
                run.append(OxmlElement("w:tab"))
            if piece:
                element = OxmlElement("w:t")
                element.text = piece
                element.set(qn("xml:space"), "preserve")
                run.append(element)
    paragraph._p.append(run)
    return Run(run, paragraph)


def swatch_xml(colour: str) -> str:
    """The code's colour square as a run of WordprocessingML."""
    return (
        f'<w:r><w:rPr><w:color w:val="{word_colour(colour)}"/></w:rPr><w:t xml:space="preserve">{SWATCH} </w:t></w:r>'
    )


def swatch(paragraph: Paragraph, colour: str) -> None:
    """The code's colour as a small square before its name (printed; no colour code is written as text)."""
    add_run(paragraph, f"{SWATCH} ", colour=colour)


def set_style_id(p: Any, style_id: str) -> None:
    """Give a paragraph element a style by id (a fresh ``w:pPr`` is built directly when it has none)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    if p.pPr is not None:
        p.style = style_id
        return
    properties = OxmlElement("w:pPr")
    style = OxmlElement("w:pStyle")
    style.set(qn("w:val"), style_id)
    properties.append(style)
    p.insert(0, properties)


def title_page(report: Report, title: str, subtitle: str, facts: Sequence[tuple[str, str]]) -> None:
    """Title, subtitle and a list of facts ("Made on", "Coders", "Filters"...), then a page break."""
    report.paragraph(title, style="Title")
    report.paragraph(subtitle, style="Subtitle")
    for name, value in facts:
        report.paragraph(value, bold_prefix=f"{name}: ")
    report.page_break()


def made_on() -> str:
    """Today as a reader writes it: ``6 December 2026``."""
    today = datetime.now().date()
    return f"{today.day} {today:%B %Y}"
