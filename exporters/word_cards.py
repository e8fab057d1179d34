"""Quote cards for sorting exercises in workshops: one passage per card, several cards to an A4 page.

Cards are the cells of a table with dashed borders (the cut lines), two across (one in large print), rows
never split across pages. Each card shows the code with its colour swatch, the quote (passages coded by
several coders are one card), and where it comes from: participant, timepoint and the speaker's role, never
the speaker's name (cards travel round a room). With ``--anonymise`` the quote is pseudonymised like every
other export. ``--max-quotes`` and ``--key-only`` choose the cards as they choose a report's quotes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exporters.data import ExportData, Quote, load_export_data
from exporters.filters import ExportFilters
from exporters.word_common import (
    TWIPS_PER_CM,
    W_NS,
    Entry,
    Progress,
    Report,
    add_run,
    joined,
    new_report,
    plural,
    swatch,
    title_page,
    unmark,
)
from exporters.word_themes import GAP
from models.store import Project

CARD_HEIGHT_CM = 5.9  # four rows of cards on an A4 page
ROLE_WORDS = {"participant": "participant", "interviewer": "interviewer", "other": "other speaker"}


def export_cards(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    large_print: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write the quote cards to ``out_path`` (.docx) and return it."""
    with project.read() as session:
        data = load_export_data(session, filters, with_matrix=False, with_words=False)
    report = new_report(f"{data.project_name}: quote cards", large_print)
    quotes = [q for cid in data.shown_code_ids for q in data.quotes if q.code_id == cid]
    facts = [
        ("Made on", data.made_on),
        ("Cards", f"{plural(len(quotes), 'quote')}, one per card; cut along the dashed lines"),
        ("Coders", joined(data.coders) or "none in this selection"),
        ("Filters", "; ".join(data.filters.describe())),
    ]
    title_page(report, data.project_name, "Quote cards", facts)
    report.contents()
    report.page_break()
    across = 1 if report.look.large else 2
    if quotes:
        card_table(report, data, quotes, across)
    else:
        report.paragraph("No passages in this selection.")
    if progress:
        progress(len(quotes), len(quotes), "cards")
    report.finish(out_path)
    return out_path


def card_table(report: Report, data: ExportData, quotes: list[Quote], across: int) -> None:
    """The cards: one table whose dashed borders are the cut lines; rows never split across pages. The
    first card of each code is bookmarked, so the contents list leads to it."""
    from docx.oxml import parse_xml
    from docx.table import Table

    width = report.usable_width_cm() / across
    twips = int(width * TWIPS_PER_CM)
    height = int((CARD_HEIGHT_CM * (2 if across == 1 else 1)) * TWIPS_PER_CM)
    border = '<w:{side} w:val="dashed" w:sz="6" w:space="0" w:color="808080"/>'
    borders = "".join(border.format(side=s) for s in ("top", "left", "bottom", "right", "insideH", "insideV"))
    grid = f'<w:gridCol w:w="{twips}"/>' * across
    rows = []
    for _first in range(0, len(quotes), across):
        row_cells = "".join(
            f'<w:tc><w:tcPr><w:tcW w:w="{twips}" w:type="dxa"/></w:tcPr><w:p/></w:tc>' for _ in range(across)
        )
        rows.append(
            f'<w:tr><w:trPr><w:cantSplit/><w:trHeight w:val="{height}" w:hRule="atLeast"/></w:trPr>{row_cells}</w:tr>'
        )
    element = parse_xml(
        f'<w:tbl {W_NS}><w:tblPr><w:tblW w:w="{twips * across}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
        f"<w:tblBorders>{borders}</w:tblBorders>"
        '<w:tblCellMar><w:top w:w="170" w:type="dxa"/><w:left w:w="200" w:type="dxa"/>'
        '<w:bottom w:w="170" w:type="dxa"/><w:right w:w="200" w:type="dxa"/></w:tblCellMar></w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid>"
        f"{''.join(rows)}</w:tbl>"
    )
    report._end().addprevious(element)
    table = Table(element, report.document._body)
    cells = [cell for row in table.rows for cell in row.cells]
    row_height = CARD_HEIGHT_CM * 28.35 * (2 if across == 1 else 1)
    seen: set[int] = set()
    for n, (cell, quote) in enumerate(zip(cells, quotes, strict=False)):
        if n % across == 0:
            report.pager.place(row_height)
        entry = None
        if quote.code_id not in seen:
            seen.add(quote.code_id)
            entry = Entry(min(3, data.depth(quote.code_id) + 1), data.code_name(quote.code_id),
                          f"_Toc{len(report.headings) + 1:05d}", report.pager.page)  # fmt: skip
            report.headings.append(entry)
        write_card(report, data, cell, quote, entry, len(report.headings))


def write_card(report: Report, data: ExportData, cell: Any, quote: Quote, entry: Entry | None, number: int) -> None:
    from docx.oxml import parse_xml

    look = report.look
    head = cell.paragraphs[0]
    swatch(head, data.colour(quote.code_id))
    if entry is not None:
        head._p.append(parse_xml(f'<w:bookmarkStart {W_NS} w:id="{number}" w:name="{entry.bookmark}"/>'))
    add_run(head, data.code_path(quote.code_id).replace("/", " › "), bold=True, size_pt=look.small_pt)
    if entry is not None:
        head._p.append(parse_xml(f'<w:bookmarkEnd {W_NS} w:id="{number}"/>'))
    head.paragraph_format.space_after = _pt(6)
    body = cell.add_paragraph()
    text = unmark(GAP.join(data.texts.pieces(quote, data.filters.no_interviewer)))
    add_run(body, f"“{text}”", size_pt=look.body_pt)
    body.paragraph_format.space_after = _pt(6)
    where = cell.add_paragraph()
    role = ROLE_WORDS.get(quote.role, quote.role or "speaker")
    add_run(where, f"{quote.participant} · {quote.timepoint} {data.texts.free(quote.timepoint_label)} · {role}",
            size_pt=look.small_pt, colour="#404040")  # fmt: skip


def _pt(value: float) -> Any:
    from docx.shared import Pt

    return Pt(value)
