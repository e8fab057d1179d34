"""Word scaffolding shared by every .docx export: styles, page set-up, fields, tables and text cleaning.

Workshop handouts are read on paper and on screen, so documents use real Word styles (Heading 1-3 for the
navigation pane, a table style, a quote style), A4 pages with page numbers in the footer, landscape
sections where tables are wide, and a table of contents field that Word refreshes with F9. Everything is
plain WordprocessingML that Word and LibreOffice open without repair prompts: no ``updateFields`` (which
makes Word ask a question on opening), and every string is cleaned of characters XML cannot hold.

``--large-print`` swaps in larger type and more spacing; exporters also avoid dense tables then.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:  # python-docx is imported lazily: the CLI starts without it
    from docx.document import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

Progress = Callable[[int, int, str], None]

# Characters XML 1.0 cannot hold (C0 controls except tab/newline/CR, lone surrogates, U+FFFE/U+FFFF).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

FONT = "Arial"  # ships with Word; LibreOffice substitutes the metric-compatible Liberation Sans
A4_WIDTH_TWIPS, A4_HEIGHT_TWIPS = 11906, 16838
MARGIN_TWIPS = 1134  # 2 cm
TABLE_STYLE = "Table Grid"
TWIPS_PER_CM = 566.93
W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
HEADER_FILL = "D9E2F3"
QUOTE_STYLE, LABEL_STYLE, QUESTION_STYLE, MEMO_STYLE, SMALL_STYLE, CELL_STYLE, CODE_NOTE_STYLE = (
    "Quote",
    "Quote Label",
    "Interviewer Question",
    "Memo",
    "Small Note",
    "Table Text",
    "Code Note",
)


def clean_text(text: str | None) -> str:
    """The text without characters that would make the .docx/.xlsx unreadable (never a crash).

    ``isprintable`` is a fast C check that is true for most one-line text, which then needs no regex.
    """
    if not text:
        return ""
    return text if text.isprintable() else _ILLEGAL_XML.sub("", text)


@dataclass(frozen=True)
class Look:
    """Type sizes and spacing; ``large`` for workshop participants who find dense print hard."""

    large: bool = False

    @property
    def body_pt(self) -> float:
        return 14 if self.large else 10.5

    @property
    def small_pt(self) -> float:
        return 12 if self.large else 8.5

    @property
    def line_spacing(self) -> float:
        return 1.5 if self.large else 1.15

    @property
    def space_after_pt(self) -> float:
        return 10 if self.large else 4

    def heading_pt(self, level: int) -> float:
        sizes = (24, 20, 17) if self.large else (17, 14, 12)
        return sizes[min(level, 3) - 1]


@dataclass
class Report:
    """A document being written: the python-docx document, its look, and the headings seen (for the TOC)."""

    document: Document
    look: Look
    headings: list[tuple[int, str]] = field(default_factory=list)
    _toc_anchor: Paragraph | None = None
    _style_ids: dict[str, str] = field(default_factory=dict)
    _shape_ids: int = 0
    _sect_pr: Any = None
    _images: dict[bytes, tuple[str, Any]] = field(default_factory=dict)
    _image_numbers: set[int] | None = None
    _next_image: int = 1
    _next_rel: int = 1

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
        if self._sect_pr is None:
            self._sect_pr = self.document.element.body.sectPr
        return self._sect_pr

    def heading(self, text: str, level: int) -> Paragraph:
        """Heading 1-3 (deeper levels are shown as Heading 3 so the navigation pane keeps them)."""
        level = max(1, min(level, 3))
        text = clean_text(text)
        self.headings.append((level, text))
        para = self.new_paragraph(f"Heading {level}")
        add_run(para, text)
        return para

    def paragraph(self, text: str = "", style: str | None = None, bold_prefix: str = "") -> Paragraph:
        """A paragraph; ``bold_prefix`` (e.g. ``"Definition: "``) is written bold before the text."""
        para = self.new_paragraph(style)
        if bold_prefix:
            add_run(para, bold_prefix, bold=True)
        if text:
            add_run(para, text)
        return para

    def page_break(self) -> None:
        from docx.enum.text import WD_BREAK

        self.new_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def picture(self, png: bytes, width_cm: float) -> None:
        """An inline picture in its own paragraph.

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
        self.new_paragraph().add_run()._r.add_drawing(inline)

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
    ) -> Table:
        """A styled, fixed-width table whose header row repeats on every page; cell text is cleaned.

        ``keep_together`` keeps a small table on one page (every row but the last keeps with the next).
        Written as one XML string and parsed once: python-docx's cell-by-cell API made hundreds of small
        tables a large share of a report's time.
        """
        from docx.oxml import parse_xml
        from docx.table import Table as make_table

        widths = list(widths_cm) or [self.usable_width_cm() / len(headers)] * len(headers)
        twips = [int(w * TWIPS_PER_CM) for w in widths]
        style_xml = f'<w:pStyle w:val="{self.style_id(style)}"/>' if style else ""
        plain = f"<w:pPr>{style_xml}</w:pPr>" if style else ""
        kept = f"<w:pPr>{style_xml}<w:keepNext/></w:pPr>" if keep_together else plain
        body = [_row_xml(headers, twips, kept if rows else plain, header=True)]
        body.extend(_row_xml(values, twips, kept if i < len(rows) - 1 else plain) for i, values in enumerate(rows))
        grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in twips)
        element = parse_xml(
            f'<w:tbl {W_NS}><w:tblPr><w:tblStyle w:val="{self.style_id(TABLE_STYLE)}"/>'
            f'<w:tblW w:w="{sum(twips)}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" '
            f'w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>{"".join(body)}</w:tbl>'
        )
        self._end().addprevious(element)
        return make_table(element, self.document._body)

    # --- sections and fields --------------------------------------------------------------------------

    def landscape(self, on: bool) -> None:
        """Start a new section in landscape (``on``) or portrait; footers carry on from the previous one."""
        from docx.enum.section import WD_ORIENT, WD_SECTION

        current = self.document.sections[-1]
        if (current.orientation == WD_ORIENT.LANDSCAPE) == on:
            return
        section = self.document.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE if on else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = section.page_height, section.page_width

    def usable_width_cm(self) -> float:
        """Text width of the current (last) section, from the body's closing ``sectPr``."""
        from docx.section import Section

        section = Section(self._end(), self.document.part)
        return (section.page_width - section.left_margin - section.right_margin) / 360000

    def toc_placeholder(self, title: str = "Contents") -> None:
        """Mark where the table of contents goes; ``finish`` fills it once all headings are known."""
        self.paragraph(title, style="TOC Heading")
        self._toc_anchor = self.new_paragraph()

    def finish(self, path: Path) -> None:
        """Write the TOC field (pre-filled with the headings, so it reads well before Word updates it)."""
        if self._toc_anchor is not None:
            write_toc(self._toc_anchor, self.headings, self.style_id)
        self.document.save(str(path))


def new_report(title: str, large_print: bool = False) -> Report:
    """A blank A4 document with the project's styles, a footer page number and document properties."""
    from docx import Document as make_document

    document = make_document()
    look = Look(large_print)
    _page_setup(document)
    _styles(document, look)
    _footer_page_number(document, look)
    props = document.core_properties
    props.title = clean_text(title)[:250]
    props.author = "waveqda"
    props.comments = ""
    return Report(document, look)


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
    for level in (1, 2, 3):
        style = styles[f"Heading {level}"]
        _font(style, look.heading_pt(level), bold=True, colour=RGBColor(0x1F, 0x3A, 0x68))
        style.paragraph_format.space_before = Pt(18 if level == 1 else 12)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = True
    for name in ("Title", "Subtitle", "TOC Heading"):
        _font(styles[name], look.heading_pt(1) + (8 if name == "Title" else 0), colour=RGBColor(0x1F, 0x3A, 0x68))
    quote = styles[QUOTE_STYLE]
    _font(quote, look.body_pt, italic=False, colour=RGBColor(0, 0, 0))
    quote.paragraph_format.left_indent = Cm(1)
    quote.paragraph_format.right_indent = Cm(0.5)
    quote.paragraph_format.space_after = Pt(1)
    quote.paragraph_format.keep_with_next = True
    added = {
        LABEL_STYLE: (look.small_pt, False, RGBColor(0x40, 0x40, 0x40), Cm(1), Pt(look.space_after_pt + 4)),
        QUESTION_STYLE: (look.small_pt, True, RGBColor(0x55, 0x55, 0x55), Cm(1), Pt(1)),
        MEMO_STYLE: (look.small_pt, True, RGBColor(0x5A, 0x3E, 0x00), Cm(1), Pt(look.space_after_pt + 2)),
        SMALL_STYLE: (look.small_pt, False, RGBColor(0x40, 0x40, 0x40), Cm(0), Pt(look.space_after_pt)),
        CELL_STYLE: (look.small_pt, False, RGBColor(0, 0, 0), Cm(0), Pt(2)),
        CODE_NOTE_STYLE: (look.small_pt, False, RGBColor(0x7F, 0x60, 0x00), Cm(1), Pt(look.space_after_pt)),
    }
    for name, (size, italic, colour, indent, after) in added.items():
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.quick_style = True
        _font(style, size, italic=italic, colour=colour)
        style.paragraph_format.left_indent = indent
        style.paragraph_format.space_after = after
    styles[QUESTION_STYLE].paragraph_format.keep_with_next = True
    for level in (1, 2, 3):
        toc = styles.add_style(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH)
        toc.base_style = normal
        toc.paragraph_format.left_indent = Cm(0.6 * (level - 1))
        toc.paragraph_format.space_after = Pt(2)


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


def write_toc(anchor: Paragraph, headings: list[tuple[int, str]], style_id: Callable[[str], str] | None = None) -> None:
    """A TOC field spanning several paragraphs, its cached result listing the headings (no page numbers
    until Word updates the field: we cannot know page breaks, and a wrong number is worse than none).

    ``style_id`` (``Report.style_id``) looks each ``toc N`` style up once; python-docx's lookup by name
    costs about a millisecond per entry, a third of a second for a whole codebook."""
    entries = headings or [(1, "Right-click and choose Update Field to build the table of contents.")]
    paragraphs = []
    for level, text in entries:
        if style_id is None:
            para = anchor.insert_paragraph_before(style=f"toc {level}")
        else:
            para = anchor.insert_paragraph_before()
            set_style_id(para._p, style_id(f"toc {level}"))
        paragraphs.append(para)
        para.add_run(text)
    first, last = paragraphs[0], paragraphs[-1]
    begin, instruction, separate = (first.add_run() for _ in range(3))
    _field_char(begin, "begin")
    _instruction(instruction, 'TOC \\o "1-3" \\h \\z \\u')
    _field_char(separate, "separate")
    at = _first_run_index(first)
    for offset, run in enumerate((begin, instruction, separate)):  # the field opens before the first entry
        first._p.remove(run._r)
        first._p.insert(at + offset, run._r)
    _field_char(last.add_run(), "end")
    anchor._p.getparent().remove(anchor._p)


def _first_run_index(paragraph: Paragraph) -> int:
    """Where runs start in a paragraph (after its properties element)."""
    from docx.oxml.ns import qn

    p = paragraph._p
    return 1 if len(p) and p[0].tag == qn("w:pPr") else 0


# --- table helpers -----------------------------------------------------------------------------------------


def _row_xml(values: Sequence[str], twips: Sequence[int], paragraph_style: str, header: bool = False) -> str:
    """One table row; a header row is shaded, bold, repeated on each page and never split."""
    row_properties = "<w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>" if header else ""
    shading = f'<w:shd w:val="clear" w:color="auto" w:fill="{HEADER_FILL}"/>' if header else ""
    run_properties = "<w:rPr><w:b/></w:rPr>" if header else ""
    cells = []
    for value, width in zip(values, twips, strict=True):
        lines = clean_text(value).split("\n") if value else [""]
        paragraphs = "".join(
            f"<w:p>{paragraph_style}"
            + (f'<w:r>{run_properties}<w:t xml:space="preserve">{escape(line)}</w:t></w:r>' if line else "")
            + "</w:p>"
            for line in lines
        )
        cells.append(f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shading}</w:tcPr>{paragraphs}</w:tc>')
    return f"<w:tr>{row_properties}{''.join(cells)}</w:tr>"


def add_run(paragraph: Paragraph, text: str, bold: bool = False, italic: bool = False) -> Any:
    """Append a run of cleaned text: line breaks become ``w:br`` and tabs ``w:tab``, as in Word.

    Built directly because python-docx's ``add_run`` walks the text a character at a time, which was a
    large share of a long report's time.
    """
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.text.run import Run

    run = OxmlElement("w:r")
    if bold or italic:
        properties = OxmlElement("w:rPr")
        for flag, tag in ((bold, "w:b"), (italic, "w:i")):
            if flag:
                properties.append(OxmlElement(tag))
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
