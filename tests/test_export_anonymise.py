"""``--anonymise``: no register term or variant anywhere in the written files, stable pseudonyms, exact
boundaries (each quote is the anonymised transcript sliced at the mapped offsets)."""

from __future__ import annotations

import docx
import pytest

from exporters.dispatch import ExportOptions, run_export
from exporters.filters import ExportFilters
from models.names import anonymiser
from models.queries import retrieve
from models.transcripts import find_transcript
from tests import test_export_support as support
from tests.test_export_support import (
    REGISTER_TERMS,
    contains_term,
    docx_xml_text,
    printed_text,
    transcript_body,
    visible,
)

study, study_file = support.study, support.study_file  # the shared fixtures


def anonymised_slices(project) -> dict[tuple[str, str, str], str]:
    """(participant, timepoint, code path) + anonymised slice, computed independently of the exporter."""
    with project.read() as session:
        replacer = anonymiser(session)
        out = {}
        for segment in retrieve(session):
            text = find_transcript(session, segment.transcript_id).text
            new_text, offsets = replacer.replace_mapped(text)
            start, end = offsets.span(segment.start, segment.end)
            out[(segment.participant, segment.timepoint, segment.id)] = new_text[start:end]
    return out


@pytest.mark.parametrize(
    ("kind", "name", "options"),
    [
        ("themes", "t.docx", {"with_questions": True}),
        ("framework", "f.docx", {}),
        ("codebook", "c.docx", {}),
        ("transcript", "p.docx", {"transcript": "P01/T1"}),
        ("transcript", "q.docx", {"transcript": "P03/T2"}),
    ],
)
def test_word_exports_contain_no_register_term(study, tmp_path, kind, name, options):
    path = tmp_path / name
    run_export(
        study, path, kind, ExportFilters(anonymise=True, no_interviewer=kind == "framework"), ExportOptions(**options)
    )
    text = docx_xml_text(path)
    assert [t for t in REGISTER_TERMS if contains_term(text, t)] == []
    assert len(text) > 200


@pytest.mark.parametrize("name", ["c.csv", "c.xlsx", "m.csv"])
def test_tables_contain_no_register_term(study, tmp_path, name):
    path = tmp_path / name
    run_export(study, path, "matrix" if name.startswith("m") else "codings", ExportFilters(anonymise=True))
    if name.endswith(".xlsx"):
        import zipfile

        with zipfile.ZipFile(path) as archive:
            text = "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist())
    else:
        text = path.read_text(encoding="utf-8-sig")
    assert [t for t in REGISTER_TERMS if contains_term(text, t)] == []


def test_without_anonymise_the_terms_are_there(study, tmp_path):
    run_export(study, tmp_path / "t.docx", "themes", ExportFilters())
    text = docx_xml_text(tmp_path / "t.docx")
    assert all(contains_term(text, t) for t in REGISTER_TERMS)


def test_anonymised_quotes_are_the_mapped_slices_with_stable_pseudonyms(study, tmp_path):
    path = tmp_path / "codings.csv"
    run_export(study, path, "codings", ExportFilters(anonymise=True))
    import csv

    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    expected = anonymised_slices(study)
    for row in rows:
        key = (row["participant"], row["timepoint"], int(row["coding_id"]))
        assert row["text"] == expected[key]  # CSV keeps every character
    p03 = {r["timepoint"]: r["text"] for r in rows if r["participant"] == "P03" and r["code"] == "Support/Peer"}
    assert "[Person A] helped" in p03["T1"]  # the misspelling "Sandrah" at T1
    assert p03["T2"] == "[Person A] left in spring. I miss [Person A]'s jokes on [Ward 1]."
    speakers = {r["speaker"] for r in rows if r["participant"] == "P01"}
    assert speakers == {"P01", "Interviewer"}  # a participant's own name as a label is always their study ID


def test_anonymised_themes_report_quotes_equal_the_mapped_slices(study, tmp_path):
    path = tmp_path / "t.docx"
    run_export(study, path, "themes", ExportFilters(anonymise=True))
    document = docx.Document(str(path))
    quotes = [p.text for p in document.paragraphs if p.style.name == "Quote"]
    assert sorted(quotes) == sorted(visible(t) for t in anonymised_slices(study).values())


def test_anonymised_transcript_is_the_anonymised_text(study, tmp_path):
    path = tmp_path / "t.docx"
    run_export(study, path, "transcript", ExportFilters(anonymise=True), ExportOptions(transcript="P03/T2"))
    with study.read() as session:
        expected = anonymiser(session).replace(find_transcript(session, "P03/T2").text)
    body = [printed_text(p) for p in transcript_body(docx.Document(str(path))) if p.style.name != "Code Note"]
    assert "\n".join(body) == expected
    comments = list(docx.Document(str(path)).comments)
    assert [c.text.split("\n")[0] for c in comments] == ["1. Support/Peer"]
