"""CSV and XLSX exports read back: every field, round-tripping awkward text, and the matrix."""

from __future__ import annotations

import csv
from datetime import date, datetime

import openpyxl
import pytest

from exporters.dispatch import run_export
from exporters.filters import ExportFilters
from models.errors import WaveqdaError
from models.queries import code_timepoint_matrix, retrieve
from tests import test_export_support as support
from tests.test_export_support import visible

study, study_file = support.study, support.study_file  # the shared fixtures


def read_csv(path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def read_xlsx(path, sheet: str) -> list[dict]:
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_codings_csv_has_every_field_and_round_trips_awkward_text(study, tmp_path):
    path = tmp_path / "codings.csv"
    run_export(study, path, "codings", ExportFilters())
    rows = read_csv(path)
    with study.read() as session:
        segments = retrieve(session)
    assert [int(r["coding_id"]) for r in rows] == [s.id for s in segments]
    assert list(rows[0]) == [
        "coding_id",
        "transcript",
        "title",
        "source",
        "participant",
        "site",
        "timepoint",
        "timepoint_label",
        "speaker",
        "role",
        "turn",
        "code",
        "coder",
        "start",
        "end",
        "text",
        "memo",
        "key_quote",
        "status",
    ]
    for row, segment in zip(rows, segments, strict=True):
        assert row["text"] == segment.text  # every character kept
        assert len(row["text"]) == int(row["end"]) - int(row["start"])
        assert (row["participant"], row["timepoint"], row["code"], row["coder"]) == (
            segment.participant,
            segment.timepoint,
            segment.code,
            segment.coder,
        )
        assert (int(row["start"]), int(row["end"]), row["speaker"]) == (segment.start, segment.end, segment.speaker)
        assert row["transcript"] == f"{segment.participant}/{segment.timepoint}"
        assert row["key_quote"] == ("yes" if segment.key_quote else "no")
    by_text = {r["text"]: r for r in rows}
    awkward = 'Well, "honestly", it was hard, really hard.\x07 Sandrah helped, though.'
    assert by_text[awkward]["site"] == "North"
    assert "What about the ward?\nDana: Sandra was kind." in by_text
    assert by_text["The supervision was good."]["memo"] == "Sandra ran it"
    assert by_text["I felt supported by everyone."]["turn"] == "2"  # counted from 1, as the workspace shows


def test_codings_xlsx_matches_the_csv_and_keeps_formula_like_text_as_text(study, tmp_path):
    run_export(study, tmp_path / "c.csv", "codings", ExportFilters())
    run_export(study, tmp_path / "c.xlsx", "codings", ExportFilters())
    from_csv = read_csv(tmp_path / "c.csv")
    from_xlsx = read_xlsx(tmp_path / "c.xlsx", "Codings")
    assert len(from_xlsx) == len(from_csv)
    for a, b in zip(from_csv, from_xlsx, strict=True):
        assert {k: "" if v is None else str(v) for k, v in b.items()} == {k: visible(v) for k, v in a.items()}
        assert isinstance(b["coding_id"], int) and isinstance(b["start"], int) and isinstance(b["turn"], int)
    money = next(r for r in from_xlsx if r["code"] == "Worry/Money" and r["participant"] == "P03")
    assert money["text"] == "Maple Ward, oh, =SUM(A1) is what my pay felt like."
    about = openpyxl.load_workbook(tmp_path / "c.xlsx")["About"]
    assert about["A2"].value == "Project" and about["B2"].value == "Test study"
    assert about["A3"].value == "Made on" and isinstance(about["B3"].value, datetime)  # a date cell, not text
    assert about["B3"].value.date() == date.today()


def test_codings_follow_the_filters(study, tmp_path):
    path = tmp_path / "c.csv"
    run_export(study, path, "codings", ExportFilters(codes=["Worry"], participants=["P01", "P03"], max_quotes=1))
    rows = read_csv(path)
    assert {r["code"] for r in rows} <= {"Worry", "Worry/Money"}
    assert {r["participant"] for r in rows} <= {"P01", "P03"}
    per_group = [(r["code"], r["timepoint"]) for r in rows]
    assert len(per_group) == len(set(per_group))


def test_matrix_csv_and_xlsx_equal_the_matrix_query(study, tmp_path):
    run_export(study, tmp_path / "m.csv", "matrix", ExportFilters(coders=["ann"]))
    run_export(study, tmp_path / "m.xlsx", "matrix", ExportFilters(coders=["ann"]))
    with study.read() as session:
        matrix = code_timepoint_matrix(session, coders=["ann"])
    rows = read_csv(tmp_path / "m.csv")
    assert [r["code"] for r in rows] == [row.code for row in matrix.rows]
    for row, expected in zip(rows, matrix.rows, strict=True):
        for key, cell in expected.cells.items():
            assert (int(row[f"{key} segments"]), int(row[f"{key} participants"]), int(row[f"{key} words"])) == (
                cell.segments,
                cell.participants,
                cell.words,
            )
        assert int(row["total segments"]) == expected.total.segments
        assert int(row["total passages"]) == expected.total.passages
    assert read_xlsx(tmp_path / "m.xlsx", "Matrix")[0]["T1 segments"] == int(rows[0]["T1 segments"])


def test_disagreements_csv(study, tmp_path):
    from models.agreement_report import disagreements

    path = tmp_path / "d.csv"
    run_export(study, path, "disagreements", ExportFilters(coders=["ann", "ben"]))
    rows = read_csv(path)
    found = disagreements(study, ["ann", "ben"])
    assert [r["key"] for r in rows] == [d.key for d in found]
    assert [r["text"] for r in rows] == [d.text for d in found]
    assert {r["coded_by"] for r in rows} <= {"ann", "ben"}


def test_disagreements_need_two_coders(study, tmp_path):
    with pytest.raises(WaveqdaError, match="two or more coders"):
        run_export(study, tmp_path / "d.csv", "disagreements", ExportFilters(coders=["ann"]))


def test_consensus_only_without_consensus_codings_is_a_clear_error(study, tmp_path):
    with pytest.raises(WaveqdaError, match="no consensus codings"):
        run_export(study, tmp_path / "c.csv", "codings", ExportFilters(consensus_only=True))


# --- issue 21, item 17: every character in CSV, visible marks where a format cannot hold one -------------------


def control_characters_study(project):
    """A transcript whose speech holds a form feed, a vertical tab and a bell, coded across them."""
    from models.coding import apply_codes
    from models.transcripts import find_transcript, store_transcript
    from tests.conftest import make_parsed

    speech = "Page one\x0cpage two.\x0bA tab stop and a bell\x07 here."
    with project.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed([("Interviewer", "Go on?"), ("Dana", speech)], "P09_T1.txt"), "P09",
                         "T1", "tester")  # fmt: skip
    with project.read() as session:
        body = find_transcript(session, "P09/T1").text
    start = body.index(speech)
    apply_codes(project, "ann", "P09/T1", ["Worry"], "ann", start, start + len(speech))
    return speech


def test_csv_keeps_every_character_and_xlsx_and_word_show_a_mark(study, tmp_path):
    import docx

    speech = control_characters_study(study)
    run_export(study, tmp_path / "c.csv", "codings", ExportFilters(participants=["P09"]))
    run_export(study, tmp_path / "c.xlsx", "codings", ExportFilters(participants=["P09"]))
    run_export(study, tmp_path / "t.docx", "themes", ExportFilters(participants=["P09"]))
    [row] = read_csv(tmp_path / "c.csv")
    assert row["text"] == speech and len(row["text"]) == int(row["end"]) - int(row["start"])
    [cell] = read_xlsx(tmp_path / "c.xlsx", "Codings")
    assert cell["text"] == "Page one\u240cpage two.\u240bA tab stop and a bell\u2407 here."
    quotes = [p.text for p in docx.Document(str(tmp_path / "t.docx")).paragraphs if p.style.name == "Quote"]
    assert quotes == ["Page one\u240cpage two.\u240bA tab stop and a bell\u2407 here."]


def test_xlsx_types_number_and_date_attributes(study, tmp_path):
    from models.participants import define_attribute, find_participant, set_attribute

    with study.change("tester", "attributes") as session:
        age = define_attribute(session, "age", "number", None)
        started = define_attribute(session, "started", "date", None)
        set_attribute(session, find_participant(session, "P01"), age, "34")
        set_attribute(session, find_participant(session, "P01"), started, "2026-03-01")
    run_export(study, tmp_path / "c.xlsx", "codings", ExportFilters(participants=["P01"]))
    run_export(study, tmp_path / "c.csv", "codings", ExportFilters(participants=["P01"]))
    row = read_xlsx(tmp_path / "c.xlsx", "Codings")[0]
    assert row["age"] == 34 and row["started"] == datetime(2026, 3, 1)
    assert read_csv(tmp_path / "c.csv")[0]["age"] == "34"
