"""Issue 15's outputs: matrix coding (any two dimensions, any cell measure) and the memo list, written as
CSV, XLSX and Word through the CLI and ``exporters.dispatch``, read back and compared with the domain's
answers (``crosstab``, ``all_memos``). Their pages through LibreOffice are checked in
``tests/test_export_rendered.py``."""

from __future__ import annotations

import csv
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.enum.section import WD_ORIENT
from typer.testing import CliRunner

from app.cli import app
from exporters.dispatch import ExportOptions, run_export
from exporters.filters import ExportFilters
from models import codebook
from models.errors import WaveqdaError
from models.memo_list import add_journal_entry, all_memos
from models.queries.crosstab import crosstab
from tests import test_export_support as support

study, study_file = support.study, support.study_file  # the shared fixtures
runner = CliRunner()
W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def cli(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


# --- matrix coding ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "columns", "measure"),
    [("codes", "participants", "segments"), ("attribute:site", "timepoints", "coverage"),
     ("coders", "codes", "participants"), ("timepoints", "participants", "words")],
)  # fmt: skip
def test_matrix_coding_csv_equals_the_crosstab(study, study_file, tmp_path, rows, columns, measure) -> None:
    out = tmp_path / "m.csv"
    cli("matrix", str(study_file), "--rows", rows, "--columns", columns, "--measure", measure, "--output", str(out))
    table = read_csv(out)
    with study.read() as session:
        expected = crosstab(session, rows, columns, words=measure == "words")
    assert table[0][1:] == list(expected.columns)
    assert [r[0] for r in table[1:]] == list(expected.rows)
    for line, cells in zip(table[1:], expected.cells, strict=True):
        if measure == "coverage":
            assert [float(v) for v in line[1:]] == [round(c.coverage * 100, 2) for c in cells]
        else:
            assert [int(v) for v in line[1:]] == [getattr(c, measure) for c in cells]
    assert any(float(v) for line in table[1:] for v in line[1:]), "an empty matrix proves nothing"


def test_matrix_coding_xlsx_has_typed_numbers_and_says_what_it_is(study, study_file, tmp_path) -> None:
    out = tmp_path / "m.xlsx"
    cli("export", str(study_file), str(out), "--kind", "matrix-coding", "--rows", "participants",
        "--columns", "codes", "--codes", "Support", "--timepoints", "T1")  # fmt: skip
    book = openpyxl.load_workbook(out, read_only=True)
    cells = list(book["Matrix coding"].iter_rows(values_only=True))
    with study.read() as session:
        expected = crosstab(session, "participants", "codes", timepoints=["T1"], codes=["Support"])
    assert list(cells[0]) == ["Participants", *expected.columns]
    assert set(expected.columns) == {"Support", "Support/Peer", "Support/Supervision"}  # --codes: the subtree
    assert [list(row[1:]) for row in cells[1:]] == [[c.segments for c in row] for row in expected.cells]
    assert all(isinstance(v, int) for row in cells[1:] for v in row[1:])
    about = dict(book["About"].iter_rows(min_row=2, values_only=True))
    assert about["Rows"] == "Participants" and about["Columns"] == "Codes"
    assert "segments" in about["Cells"] and "timepoints T1" in about["Filters"]


def test_matrix_coding_word_table_is_readable(study, tmp_path) -> None:
    narrow, wide = tmp_path / "narrow.docx", tmp_path / "wide.docx"
    for number in range(1, 5):  # more codes than a portrait page has room for as columns
        codebook.add_code(study, "ann", f"Extra theme {number}")
    cli("matrix", study.target, "--rows", "codes", "--columns", "timepoints", "--output", str(narrow))
    cli("matrix", study.target, "--rows", "timepoints", "--columns", "codes", "--measure", "coverage",
        "--output", str(wide))  # fmt: skip
    with study.read() as session:
        expected = crosstab(session, "timepoints", "codes")
    document = docx.Document(str(wide))
    assert document.sections[0].orientation == WD_ORIENT.LANDSCAPE  # the first page, no blank portrait one
    assert docx.Document(str(narrow)).sections[0].orientation == WD_ORIENT.PORTRAIT
    caption = next(p.text for p in document.paragraphs if p.text.startswith("Rows:"))
    assert "Rows: Timepoints. Columns: Codes. Cells: % coverage" in caption and "Filters: none" in caption
    table = document.tables[0]
    header = table.rows[0]
    assert header._tr.find(f"{W_NS}trPr/{W_NS}tblHeader") is not None  # repeated on every page
    assert [c.text for c in header.cells[1:]] == [c.replace("/", " › ") for c in expected.columns]
    for row, cells in zip(table.rows[1:], expected.cells, strict=True):
        for cell, value in zip(row.cells[1:], cells, strict=True):
            paragraph = cell.paragraphs[0]
            assert paragraph.alignment is not None and paragraph.alignment.name == "RIGHT"
            percent = value.coverage * 100
            assert cell.text == ("–" if not value.segments else f"{percent:.2f}%" if percent < 1 else f"{percent:.1f}%")
    assert table.rows[1].cells[0].paragraphs[0].alignment is None  # labels stay on the left


def test_matrix_coding_refuses_bad_requests_in_one_line(study_file, tmp_path) -> None:
    out = tmp_path / "m.csv"
    for args, message in (
        (["--measure", "mean", "--output", str(out)], "cannot show 'mean' in the cells"),
        (["--rows", "codes", "--columns", "codes", "--output", str(out)], "two different things"),
        (["--rows", "attribute:nope", "--output", str(out)], "no attribute named 'nope'"),
        (["--output", str(tmp_path / "m.qdpx")], "cannot be written as .qdpx"),
        (["--output", str(out), "--json"], "either --json or --output"),
    ):
        result = runner.invoke(app, ["matrix", str(study_file), *args])
        assert result.exit_code == 1, args
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not out.exists()


# --- the memo list ----------------------------------------------------------------------------------------


def test_memo_list_csv_has_every_memo_with_author_date_and_target(study, tmp_path) -> None:
    add_journal_entry(study, "ann", "Support splits in two at T2", title="Team meeting")
    out = tmp_path / "memos.csv"
    cli("memos", study.target, "--output", str(out))
    rows = read_csv(out)
    header, body = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert header[:4] == ["kind", "about", "transcript", "code"] and "author" in header and "date" in header
    with study.read() as session:
        expected = all_memos(session)
    assert [(r["kind"], r["text"]) for r in body] == [(m.kind, m.text) for m in expected]
    assert body[0]["kind"] == "journal" and body[0]["author"] == "ann" and body[0]["date"]
    coding = next(r for r in body if r["text"] == "Sandra ran it")
    assert coding["code"] == "Support/Supervision" and coding["transcript"] == "P01/T1"
    assert coding["coded_text"] == "The supervision was good." and coding["author"] == "ann"
    only = tmp_path / "journal.csv"
    cli("memos", study.target, "--kind", "journal", "--output", str(only))
    assert [r[0] for r in read_csv(only)[1:]] == ["journal"]


def test_memo_list_word_is_grouped_by_kind_and_anonymised_when_asked(study, tmp_path) -> None:
    add_journal_entry(study, "ann", "Sandra's team was discussed", title="Supervision")
    plain, anonymised = tmp_path / "memos.docx", tmp_path / "memos-anon.docx"
    run_export(study, plain, "memos", ExportFilters())
    run_export(study, anonymised, "memos", ExportFilters(anonymise=True, accept_risk=True))
    text = "\n".join(p.text for p in docx.Document(str(plain)).paragraphs)
    for heading in ("Project journal (1)", "Coding memos"):
        assert heading in text
    assert "Sandra ran it" in text and "“The supervision was good.”" in text and "by ann" in text
    hidden = "\n".join(p.text for p in docx.Document(str(anonymised)).paragraphs)
    assert "Sandra" not in hidden and "The supervision was good." in hidden


def test_memo_export_refuses_the_report_filters(study, tmp_path) -> None:
    out = tmp_path / "memos.docx"
    with pytest.raises(WaveqdaError, match="--search/--kind/--author"):
        run_export(study, out, "memos", ExportFilters(timepoints=["T1"]), ExportOptions())
    assert not out.exists()


def test_matrix_coding_and_memo_exports_respect_blind_coding(study, tmp_path) -> None:
    """Read on a coder's behalf, a blind transcript's other coders' codings (and their memos) are not in the
    files: the exports read through the same filtered queries as the screen."""
    from models import blind

    blind.switch_on(study, "lead", ["P01/T1"])
    study.viewer = "ben"  # ann coded P01/T1 (memos "warm start", "Sandra ran it"); ben did not
    matrix, memos = tmp_path / "m.csv", tmp_path / "memos.csv"
    run_export(study, matrix, "matrix-coding", ExportFilters(), ExportOptions(rows="coders", columns="timepoints"))
    run_export(study, memos, "memos", ExportFilters())
    with study.read() as session:
        seen = crosstab(session, "coders", "timepoints")
    study.viewer = None
    with study.read() as session:
        everything = crosstab(session, "coders", "timepoints")
    table = read_csv(matrix)
    assert [[int(v) for v in row[1:]] for row in table[1:]] == [[c.segments for c in r] for r in seen.cells]
    assert seen.cells != everything.cells  # the blind transcript's codings by ann are left out
    texts = [row[10] for row in read_csv(memos)[1:]]
    assert "Sandra ran it" not in texts and "warm start" not in texts
