"""Word reports read back with python-docx: structure, counts, quotes, filters, layout options."""

from __future__ import annotations

import builtins
import re
from pathlib import Path

import docx
import pytest

from exporters.dispatch import ExportOptions, run_export
from exporters.filters import ExportFilters
from models.codes import CodeTree
from models.queries import code_timepoint_matrix, hidden_codes, retrieve
from models.transcripts import find_transcript
from tests import test_export_support as support
from tests.test_export_support import slices

study, study_file = support.study, support.study_file  # the shared fixtures

LABEL = re.compile(r"^(?P<participant>P\d+) · (?P<timepoint>T\d) (?P<label>[^·]+?) · ")


def export(project, tmp_path: Path, kind: str = "themes", name: str = "out.docx", **kwargs) -> docx.Document:
    options = {k: kwargs.pop(k) for k in ("large_print", "with_questions", "transcript") if k in kwargs}
    path = tmp_path / name
    run_export(project, path, kind, ExportFilters(**kwargs), ExportOptions(**options))
    return docx.Document(str(path))


def headings(document) -> list[tuple[int, str]]:
    return [(int(p.style.name[-1]), p.text) for p in document.paragraphs if p.style.name.startswith("Heading")]


def quotes(document) -> list[tuple[str, str, str]]:
    """(heading the quote is under, quote text, its label) in document order."""
    out, heading = [], ""
    paragraphs = document.paragraphs
    for i, para in enumerate(paragraphs):
        if para.style.name.startswith("Heading"):
            heading = para.text
        elif para.style.name == "Quote":
            out.append((heading, para.text, paragraphs[i + 1].text))
    return out


def code_walk(project) -> list[tuple[int, str]]:
    with project.read() as session:
        tree = CodeTree.load(session)
        return [(min(depth + 1, 3), tree.codes[cid].name) for cid, depth in tree.walk()]


# --- themes -------------------------------------------------------------------------------------------------


def test_themes_headings_follow_the_codebook_order(study, tmp_path):
    document = export(study, tmp_path)
    assert headings(document) == [(1, "Codebook summary"), *code_walk(study)]


def test_themes_counts_equal_the_matrix_query(study, tmp_path):
    document = export(study, tmp_path)
    with study.read() as session:
        matrix = code_timepoint_matrix(session)
    count_tables = [t for t in document.tables if t.rows[0].cells[0].text == "Timepoint"]
    assert len(count_tables) == len(matrix.rows)
    for table, row in zip(count_tables, matrix.rows, strict=True):
        body = [[c.text for c in r.cells] for r in table.rows[1:]]
        expected = [
            [f"{key} {label}", str(row.cells[key].segments), str(row.cells[key].participants)]
            for key, label in matrix.timepoints
        ]
        expected.append(["All timepoints", str(row.total.segments), str(row.total.participants)])
        assert body == expected
    summary = document.tables[0]
    for table_row, row in zip(summary.rows[1:], matrix.rows, strict=True):
        cells = [c.text for c in table_row.cells]
        assert cells[0] == row.name
        assert cells[2:] == [f"{c.segments} ({c.participants})" for c in [*row.cells.values(), row.total]]


def test_each_quote_is_the_transcript_slice_under_its_code_with_the_right_label(study, tmp_path):
    document = export(study, tmp_path)
    with study.read() as session:
        segments = retrieve(session)
        tree = CodeTree.load(session)
    found = quotes(document)
    assert len(found) == len(segments)
    unmatched = list(segments)
    for heading, text, label in found:
        match = LABEL.match(label)
        assert match, label
        segment = next(
            s
            for s in unmatched
            if s.text.replace("\x07", "") == text
            and tree.codes[s.code_id].name == heading
            and s.participant == match["participant"]
        )
        assert segment.timepoint == match["timepoint"]
        assert segment.timepoint_label == match["label"]
        unmatched.remove(segment)
    assert not unmatched


def test_quote_labels_carry_speaker_turn_and_key_quote_and_memo(study, tmp_path):
    document = export(study, tmp_path)
    found = {text: label for _h, text, label in quotes(document)}
    assert found["The supervision was good."] == "P01 · T1 After training · Dana · turn 1 · coded by ann · key quote"
    texts = [p.text for p in document.paragraphs]
    at = texts.index("The supervision was good.")
    assert texts[at + 2] == "Memo: Sandra ran it"
    assert "Memo: warm start" not in texts  # memos of key quotes only


def test_illegal_xml_characters_are_cleaned_not_fatal(study, tmp_path):
    document = export(study, tmp_path)
    texts = [t for _h, t, _l in quotes(document)]
    assert 'Well, "honestly", it was hard, really hard. Sandrah helped, though.' in texts


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        ({"participants": ["P02"]}, lambda h, t, label: label.startswith("P02 ")),
        ({"timepoints": ["T2"]}, lambda h, t, label: " · T2 " in label),
        ({"attributes": [("site", "South")]}, lambda h, t, label: label.startswith("P02 ")),
        ({"coders": ["ben"]}, lambda h, t, label: "coded by" not in label),
        ({"key_only": True}, lambda h, t, label: label.endswith("key quote")),
    ],
)
def test_filters_are_honoured(study, tmp_path, filters, check):
    document = export(study, tmp_path, **filters)
    found = quotes(document)
    expected_ids = slices(
        study, **{{"attributes": "attribute"}.get(k, k): (v[0] if k == "attributes" else v) for k, v in filters.items()}
    )
    assert len(found) == len(expected_ids) > 0
    assert all(check(*q) for q in found)


def test_codes_filter_keeps_the_subtree_and_shows_ancestors_as_context(study, tmp_path):
    document = export(study, tmp_path, codes=["Support/Supervision"])
    assert headings(document) == [(1, "Codebook summary"), (1, "Support"), (2, "Supervision")]
    assert {h for h, _t, _l in quotes(document)} == {"Supervision"}
    texts = [p.text for p in document.paragraphs]
    assert "Shown for context: only its sub-codes are part of this selection." in texts


def test_max_quotes_takes_key_quotes_first_and_is_reproducible(study, tmp_path):
    first = quotes(export(study, tmp_path, name="a.docx", max_quotes=1))
    second = quotes(export(study, tmp_path, name="b.docx", max_quotes=1))
    assert first == second
    per_group: dict[tuple[str, str], int] = {}
    for heading, _text, label in first:
        key = (heading, LABEL.match(label)["timepoint"])
        per_group[key] = per_group.get(key, 0) + 1
    assert set(per_group.values()) == {1}
    chosen = {(h, LABEL.match(label)["timepoint"]): t for h, t, label in first}
    assert chosen[("Supervision", "T1")] == "The supervision was good."
    assert chosen[("Supervision", "T2")] == "Harder."  # the key quote, not the other two
    document = export(study, tmp_path, name="c.docx", max_quotes=1)
    assert "T2 · 4 months  1 of 3 quotes" in [p.text for p in document.paragraphs]


def test_no_interviewer_leaves_interviewer_speech_out_of_quotes(study, tmp_path):
    texts = [t for _h, t, _l in quotes(export(study, tmp_path, no_interviewer=True))]
    assert "Sandra was kind." in texts
    assert not any("What about the ward?" in t for t in texts)


def test_with_questions_shows_the_preceding_interviewer_turn(study, tmp_path):
    document = export(study, tmp_path, with_questions=True)
    paragraphs = document.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.text == "I might leave.")
    assert paragraphs[at - 1].style.name == "Interviewer Question"
    assert paragraphs[at - 1].text == "Interviewer: Four months on?"


def test_large_print_has_no_dense_tables_and_larger_type(study, tmp_path):
    document = export(study, tmp_path, large_print=True)
    assert document.tables == []
    assert document.styles["Normal"].font.size.pt >= 14
    assert headings(document) == [(1, "Codebook summary"), *code_walk(study)]


def test_page_numbers_toc_and_styles(study, tmp_path):
    path = tmp_path / "out.docx"
    run_export(study, path, "themes", ExportFilters())
    document = docx.Document(str(path))
    footer_xml = document.sections[0].footer._element.xml
    assert "PAGE" in footer_xml and "fldChar" in footer_xml
    assert 'TOC \\o "1-3"' in document.element.body.xml
    toc = [p.text for p in document.paragraphs if p.style.name.startswith("toc")]
    assert toc[:2] == ["Codebook summary", "Support"]
    assert document.sections[0].page_width == docx.shared.Twips(11906)


def test_a_chart_per_coded_code_and_none_without_matplotlib(study, tmp_path, monkeypatch):
    with_charts = export(study, tmp_path, name="a.docx")
    with study.read() as session:
        coded = sum(1 for row in code_timepoint_matrix(session).rows if row.total.segments)
    assert len(with_charts.inline_shapes) == coded
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no plotting here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    without = export(study, tmp_path, name="b.docx")
    assert len(without.inline_shapes) == 0
    assert headings(without) == headings(with_charts)


def test_progress_callback_reports_every_code(study, tmp_path):
    calls = []
    run_export(study, tmp_path / "p.docx", "themes", ExportFilters(), progress=lambda d, t, label: calls.append(d))
    assert calls == list(range(1, len(code_walk(study)) + 1))


def test_archived_codes_are_left_out(study, tmp_path):
    from models.codebook import archive_code

    archive_code(study, "ann", "Worry/Money")
    names = [h for _level, h in headings(export(study, tmp_path))]
    assert "Money" not in names and "Worry" in names
    with study.read() as session:
        assert hidden_codes(CodeTree.load(session))


# --- framework ------------------------------------------------------------------------------------------


def test_framework_has_a_landscape_table_per_theme(study, tmp_path):
    document = export(study, tmp_path, kind="framework")
    assert headings(document) == [(1, "Support"), (1, "Worry")]
    assert len(document.tables) == 2
    assert document.sections[-1].orientation == docx.enum.section.WD_ORIENT.LANDSCAPE
    support = document.tables[0]
    assert [c.text for c in support.rows[0].cells] == [
        "Participant",
        "T1 After training",
        "T2 4 months",
        "T3 12 months",
    ]
    rows = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in support.rows[1:]}
    assert set(rows) == {"P01", "P02", "P03"}
    assert rows["P03"][2] == "not interviewed"
    assert "The team supports me." in rows["P02"][0]
    assert "Hopeful, really hopeful." in rows["P02"][0]
    assert "(turn 1, Peer)" in rows["P02"][0]
    worry = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in document.tables[1].rows[1:]}
    assert worry["P02"][0] == "–"  # interviewed, nothing coded


def test_framework_tells_segments_left_out_by_max_quotes_from_none(study, tmp_path):
    def cells(document) -> list[str]:
        return [c.text for t in document.tables for r in t.rows[1:] for c in r.cells[1:]]

    full = cells(export(study, tmp_path, kind="framework", name="full.docx"))
    limited = cells(export(study, tmp_path, kind="framework", name="limited.docx", max_quotes=1))
    assert any("none among the chosen quotes" in c for c in limited)
    for whole, part in zip(full, limited, strict=True):
        assert (part == "–") == (whole == "–")


def test_framework_long_cell_shows_count_and_key_quote(study, tmp_path, monkeypatch):
    import exporters.word_framework as framework

    monkeypatch.setattr(framework, "CELL_LIMIT_SEGMENTS", 1)
    document = export(study, tmp_path, kind="framework")
    rows = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in document.tables[0].rows[1:]}
    assert rows["P01"][1].startswith("3 segments; key quote:")
    assert "Harder." in rows["P01"][1]


def test_framework_large_print_is_lists(study, tmp_path):
    document = export(study, tmp_path, kind="framework", large_print=True)
    assert document.tables == []
    assert (2, "P01") in headings(document)


# --- codebook, transcript, disagreements ------------------------------------------------------------------


def test_codebook_document(study, tmp_path):
    document = export(study, tmp_path, kind="codebook")
    assert headings(document) == [(1, "Codebook summary"), *code_walk(study)]
    texts = [p.text for p in document.paragraphs]
    assert "Include: Any peer" in texts and "Exclude: Line managers" in texts
    with study.read() as session:
        row = next(r for r in code_timepoint_matrix(session).rows if r.code == "Support/Supervision")
    expected = (
        f"Segments (participants): T1: {row.cells['T1'].segments} ({row.cells['T1'].participants}) · "
        f"T2: {row.cells['T2'].segments} ({row.cells['T2'].participants}) · T3: 0 (0) · "
        f"total: {row.total.segments} ({row.total.participants})"
    )
    assert expected in texts


def test_transcript_document_is_the_text_with_codes_as_comments(study, tmp_path):
    document = export(study, tmp_path, kind="transcript", transcript="P01/T1")
    with study.read() as session:
        text = find_transcript(session, "P01/T1").text
        segments = retrieve(session, transcript_ids=[find_transcript(session, "P01/T1").id])
    paragraphs = document.paragraphs[3:]  # heading and two notes first
    assert "\n".join(p.text for p in paragraphs if p.style.name != "Code Note") == text
    comments = list(document.comments)
    assert len(comments) == len(segments)
    assert sorted(c.text.split("\n")[0] for c in comments) == sorted(s.code for s in segments)
    labels = [r.text for p in paragraphs for r in p.runs if r.bold]
    assert labels == ["Interviewer: ", "Dana: ", "Interviewer: ", "Dana: "]
    notes = [p.text for p in paragraphs if p.style.name == "Code Note"]
    printed = [label for note in notes for label in note.removeprefix("▸ ").split(" · ")]
    assert sorted(printed) == sorted(f"{s.code} ({s.coder}{', key quote' if s.key_quote else ''})" for s in segments)
    after = next(i for i, p in enumerate(paragraphs) if p.text.startswith("Dana: It was brilliant"))
    assert paragraphs[after + 1].text == "▸ Support/Peer (ann) · Support/Supervision (ann, key quote)"


def test_transcript_kind_needs_a_transcript(study, tmp_path):
    from models.errors import WaveqdaError

    with pytest.raises(WaveqdaError, match="--transcript"):
        run_export(study, tmp_path / "t.docx", "transcript", ExportFilters())


def test_disagreements_document(study, tmp_path):
    document = export(study, tmp_path, kind="disagreements", coders=["ann", "ben"])
    from models.agreement_report import disagreements

    found = disagreements(study, ["ann", "ben"])
    assert len(found) > 0
    from exporters.disagreements import WHITESPACE_ONLY

    assert [p.text for p in document.paragraphs if p.style.name == "Quote"] == [
        d.text.replace("\x07", "") if d.text.strip() else WHITESPACE_ONLY for d in found
    ]
    labels = [p.text for p in document.paragraphs if p.style.name == "Quote Label"]
    assert (
        labels[0] == f"{found[0].code} · coded by {found[0].coded_by[0]}; not by {found[0].not_coded_by[0]}\n"
        f"key {found[0].key}"
    )
    assert [h for _l, h in headings(document)] == list(
        dict.fromkeys(f"{d.transcript} · {'After training' if d.timepoint == 'T1' else '4 months'}" for d in found)
    )
