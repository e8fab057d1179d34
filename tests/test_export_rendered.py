"""Issue 12's acceptance: every Word report kind, from the coded demo study, rendered by LibreOffice.

All seven documents (themes, themes in large print, framework, codebook, transcript, disagreements, cards)
are converted to tagged PDF in one ``soffice --headless`` run (about ten seconds), and each first page to PNG
with ``pdftoppm``. The PDFs are then read as a reader would:

- the contents list has a page number for every entry, each entry is a link, and the number is the page
  where that heading (or, for cards, that code's first card) really is;
- no quote is printed twice, and none starts or ends inside a bracketed transcriber's note;
- no ``#`` markers, UUIDs, hex colours or database ids appear anywhere;
- every chart is a figure with alt text in the PDF's structure tree, one per chart in the document.

LibreOffice and poppler are needed: the tests skip without them, and fail in CI (``WAVEQDA_CI=1``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest

from exporters.dispatch import ExportOptions, run_export
from exporters.filters import ExportFilters
from models.store import open_project
from tests.conftest import require_tool

KINDS = {
    "themes": ("themes", {}),
    "themes-large-print": ("themes", {"large_print": True}),
    "framework": ("framework", {}),
    "codebook": ("codebook", {}),
    "transcript": ("transcript", {"transcript": "P05/T2"}),
    "disagreements": ("disagreements", {}),
    "cards": ("cards", {}),
    "joint": ("joint", {}),
    # large print, so the matrix runs over pages: its header row must be on each of them
    "matrix-coding": ("matrix-coding", {"large_print": True, "rows": "codes", "columns": "participants"}),
    "memos": ("memos", {}),
}
WITH_CONTENTS = [name for name in KINDS if name != "matrix-coding"]  # one table needs no contents list
TAGGED_PDF = 'pdf:writer_pdf_Export:{"UseTaggedPDF":{"type":"boolean","value":"true"}}'
INTERNAL = {
    "UUID": re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    "hex colour": re.compile(r"#[0-9a-fA-F]{6}\b"),
    "Markdown marker": re.compile(r"(^|\s)#{1,6}\s|\*\*"),
    "database id": re.compile(r"#\d+|\bid \d+|\(code \d+\)"),
    "placeholder": re.compile(r"not written yet", re.IGNORECASE),
}


@dataclass
class Rendered:
    docx_path: Path
    pdf_path: Path
    pages: list[str]  # text of each page, laid out as on the page
    raw: str  # the text in reading order (table cells one after another)

    @property
    def text(self) -> str:
        return "\n".join(self.pages)


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def rendered(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    soffice = require_tool("soffice")
    require_tool("pdftoppm")
    require_tool("pdftotext")
    work = tmp_path_factory.mktemp("rendered")
    project_path = work / "demo.wqda"
    shutil.copyfile(demo_template, project_path)
    project = open_project(project_path)
    try:
        for name, (kind, options) in KINDS.items():
            filters = ExportFilters(coders=["Ann", "Ben"] if kind == "disagreements" else None)
            layout = {k: v for k, v in options.items() if k in ("large_print", "transcript", "rows", "columns")}
            run_export(project, work / f"{name}.docx", kind, filters, ExportOptions(**layout))
    finally:
        project.close()
    docs = [str(work / f"{name}.docx") for name in KINDS]
    profile = f"-env:UserInstallation=file://{work / 'lo-profile'}"
    subprocess.run(
        [soffice, profile, "--headless", "--convert-to", TAGGED_PDF, "--outdir", str(work), *docs],
        check=True,
        capture_output=True,
        timeout=300,
    )
    out = {}
    for name in KINDS:
        pdf = work / f"{name}.pdf"
        assert pdf.is_file(), f"LibreOffice did not convert {name}.docx"
        subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", str(pdf), str(work / name)], check=True)
        assert list(work.glob(f"{name}*.png")), f"pdftoppm rendered no page of {name}.pdf"
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True)
        raw = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True)
        out[name] = Rendered(work / f"{name}.docx", pdf, text.stdout.split("\f")[:-1] or [text.stdout], raw.stdout)
    return out


def contents_entries(document: docx.Document) -> list[str]:
    return [p.text.split("\t")[0] for p in document.paragraphs if p.style.name.startswith("toc")]


@pytest.mark.parametrize("name", WITH_CONTENTS)
def test_contents_list_has_the_real_page_numbers_and_links(rendered: dict[str, Rendered], name: str) -> None:
    import pypdf

    found = rendered[name]
    entries = contents_entries(docx.Document(str(found.docx_path)))
    assert entries, f"{name}: no contents list"
    contents_page = next(i for i, page in enumerate(found.pages) if "Contents" in page)
    listed = {}
    for line in "\n".join(found.pages[contents_page : contents_page + 3]).splitlines():
        match = re.match(r"^\s*(.+?)\s*\.{3,}\s*(\d+)\s*$", line)
        if match:
            listed.setdefault(squash(match.group(1)), int(match.group(2)))
    for entry in entries:
        assert squash(entry) in listed, f"{name}: contents entry {entry!r} has no page number"
        page = listed[squash(entry)]
        body = squash(found.pages[page - 1])
        assert squash(entry) in body, f"{name}: {entry!r} is not on page {page}"
    reader = pypdf.PdfReader(str(found.pdf_path))
    links = [
        a.get_object()
        for page in reader.pages[contents_page : contents_page + 3]
        for a in page.get("/Annots") or []
        if a.get_object().get("/Subtype") == "/Link"
    ]
    assert len(links) >= len(entries), f"{name}: contents entries are not links in the PDF"


QUOTE_STYLES = ("Quote",)


def printed_quotes(name: str, document: docx.Document) -> list[tuple[str, str]]:
    """(where, quote) for every quote the document prints: quote paragraphs under their heading, framework
    cells, card texts."""
    out: list[tuple[str, str]] = []
    heading = ""
    for paragraph in document.paragraphs:
        if paragraph.style.name.startswith("Heading"):
            heading = paragraph.text
        elif paragraph.style.name in QUOTE_STYLES:
            text = re.sub(r"^\d+\. ", "", paragraph.text) if name == "disagreements" else paragraph.text
            out.append((heading, text))
    if name == "cards":
        out += [("cards", cell.paragraphs[1].text.strip("“”")) for row in document.tables[0].rows for cell in row.cells
                if len(cell.paragraphs) > 1]  # fmt: skip
    if name == "framework":
        for number, table in enumerate(document.tables):
            for row in table.rows[1:]:
                for cell in row.cells[1:]:
                    for paragraph in cell.paragraphs:
                        quote = re.sub(r" \([^()]*\)$", "", paragraph.text)
                        if quote and not quote.startswith(("Memo", "1 of")) and quote not in ("–", "not coded yet"):
                            out.append((f"{number}/{row.cells[0].text}", quote))
    return out


@pytest.mark.parametrize("name", ["themes", "themes-large-print", "framework", "disagreements", "cards"])
def test_no_quote_twice_and_none_cut_inside_a_note(rendered: dict[str, Rendered], name: str) -> None:
    found = rendered[name]
    quotes = printed_quotes(name, docx.Document(str(found.docx_path)))
    assert quotes, f"{name}: no quotes found"
    assert len(quotes) == len(set(quotes)), f"{name}: a quote is printed twice under the same heading"
    text = squash(found.raw)
    for _where, quote in quotes:
        assert squash(quote)[:60] in text, f"{name}: {quote[:60]!r} is not in the PDF"
        for opening, closing in ("[]", "()"):
            depth = 0
            for char in quote:
                depth += (char == opening) - (char == closing)
                assert depth >= 0, f"{name}: quote starts inside a note: {quote[:80]!r}"
            assert depth == 0, f"{name}: quote ends inside a note: {quote[-80:]!r}"


@pytest.mark.parametrize("name", list(KINDS))
def test_no_internal_text_in_the_pdf(rendered: dict[str, Rendered], name: str) -> None:
    text = rendered[name].text
    for what, pattern in INTERNAL.items():
        match = pattern.search(text)
        assert match is None, f"{name}: {what} {match.group()!r} in the PDF" if match else ""


@pytest.mark.parametrize("name", ["themes", "themes-large-print"])
def test_every_chart_has_alt_text_in_the_pdf(rendered: dict[str, Rendered], name: str) -> None:
    import pypdf

    found = rendered[name]
    charts = len(docx.Document(str(found.docx_path)).inline_shapes)
    assert charts > 0
    reader = pypdf.PdfReader(str(found.pdf_path))
    figures: list[str | None] = []

    def walk(node) -> None:  # noqa: ANN001 - pypdf objects
        node = node.get_object()
        if isinstance(node, pypdf.generic.ArrayObject):
            for child in node:
                walk(child)
        elif isinstance(node, pypdf.generic.DictionaryObject):
            if node.get("/S") == "/Figure":
                figures.append(node.get("/Alt"))
            if node.get("/K") is not None:
                walk(node["/K"])

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    assert len(figures) == charts
    assert all(alt and alt.startswith("Bar chart, ") and "passages" in alt for alt in figures)


def test_large_print_has_no_text_below_16_pt(rendered: dict[str, Rendered]) -> None:
    """Every word's box in the large-print PDF is at least as tall as 16 pt type (Liberation Sans boxes are
    about 1.15 em); the normal report has smaller labels, which shows the measure can tell."""

    def smallest(pdf: Path) -> float:
        html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True)
        heights = [float(b) - float(a) for a, b in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"',
                                                                 html.stdout)]  # fmt: skip
        return min(heights)

    assert smallest(rendered["themes-large-print"].pdf_path) >= 16 * 1.1
    assert smallest(rendered["themes"].pdf_path) < 16


def test_matrix_coding_pages_are_landscape_with_the_header_on_each(rendered: dict[str, Rendered]) -> None:
    import pypdf

    from models.queries.crosstab import crosstab

    found = rendered["matrix-coding"]
    reader = pypdf.PdfReader(str(found.pdf_path))
    assert len(reader.pages) > 1, "the large-print matrix should run over pages"
    for page in reader.pages:
        assert page.mediabox.width > page.mediabox.height, "a matrix page in portrait"
    for number, text in enumerate(found.pages, 1):
        header = next((line for line in text.splitlines() if line.split()[:2] == ["Codes", "P01"]), "")
        assert header.split() == ["Codes", "P01", "P02", "P03", "P04", "P05", "P06"], f"page {number}: {header!r}"
    assert "Rows: Codes. Columns: Participants. Cells: segments" in squash(found.pages[0])
    project = open_project(found.docx_path.parent / "demo.wqda")
    try:
        with project.read() as session:
            expected = crosstab(session, "codes", "participants")
    finally:
        project.close()
    first = next(line for line in found.pages[0].splitlines() if line.strip().startswith("Early optimism"))
    values = [c.segments for c in expected.cells[expected.rows.index("Early optimism")]]
    assert first.split()[2:] == [str(v) if v else "–" for v in values]


def test_memo_list_prints_every_memo(rendered: dict[str, Rendered]) -> None:
    from models.memo_list import all_memos

    found = rendered["memos"]
    project = open_project(found.docx_path.parent / "demo.wqda")
    try:
        with project.read() as session:
            memos = all_memos(session)
    finally:
        project.close()
    assert memos
    text = squash(found.raw)
    for memo in memos:
        assert squash(memo.text)[:60] in text, f"{memo.kind} memo on {memo.target} is not in the PDF"
