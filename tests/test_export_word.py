"""Word reports read back with python-docx: structure, counts, quotes, filters, layout options.

What the pages look like is checked through LibreOffice in ``test_export_rendered.py``.
"""

from __future__ import annotations

import builtins
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest

from exporters.dispatch import ExportOptions, run_export
from exporters.filters import ExportFilters
from models.codes import CodeTree
from models.queries import code_timepoint_matrix, hidden_codes, retrieve, theme_presence
from models.transcripts import find_transcript
from tests import test_export_support as support
from tests.test_export_support import code, heading_text, printed_text, slices, transcript_body, visible

study, study_file = support.study, support.study_file  # the shared fixtures

LABEL = re.compile(r"^(?P<participant>P\d+) · (?P<timepoint>T\d) (?P<label>[^·]+?) · ")
SUMMARY = ["Summary", "Passages per code and timepoint", "Who spoke to each theme", "How each theme changed"]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def export(project, tmp_path: Path, kind: str = "themes", name: str = "out.docx", **kwargs) -> docx.Document:
    options = {k: kwargs.pop(k) for k in ("large_print", "with_questions", "transcript") if k in kwargs}
    path = tmp_path / name
    run_export(project, path, kind, ExportFilters(**kwargs), ExportOptions(**options))
    return docx.Document(str(path))


def headings(document) -> list[tuple[int, str]]:
    return [(int(p.style.name[-1]), heading_text(p)) for p in document.paragraphs if p.style.name.startswith("Heading")]


def code_headings(document) -> list[tuple[int, str]]:
    return [h for h in headings(document) if h[1] not in SUMMARY and h[1] != "Memos on interviews"]


def quotes(document) -> list[tuple[str, str, str]]:
    """(heading the quote is under, quote text, its label) in document order."""
    out, heading = [], ""
    paragraphs = document.paragraphs
    for i, para in enumerate(paragraphs):
        if para.style.name.startswith("Heading"):
            heading = heading_text(para)
        elif para.style.name == "Quote":
            out.append((heading, para.text, paragraphs[i + 1].text))
    return out


def texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def code_walk(project) -> list[tuple[int, str]]:
    with project.read() as session:
        tree = CodeTree.load(session)
        return [(min(depth + 1, 3), tree.codes[cid].name) for cid, depth in tree.walk()]


def nested_tables(document) -> list:
    """Tables inside the layout rows (the counts beside each chart)."""
    return [inner for table in document.tables for cell in table.rows[0].cells for inner in cell.tables]


# --- themes -------------------------------------------------------------------------------------------------


def test_themes_headings_are_the_summary_then_the_codebook_order(study, tmp_path):
    document = export(study, tmp_path)
    assert [h for _l, h in headings(document)][:4] == SUMMARY
    assert code_headings(document) == code_walk(study)


def test_code_headings_carry_the_codes_colour_as_a_swatch(study, tmp_path):
    document = export(study, tmp_path)
    with study.read() as session:
        colours = {c.name: c.colour.lstrip("#").upper() for c in CodeTree.load(session).codes.values()}
    for para in document.paragraphs:
        if para.style.name.startswith("Heading") and heading_text(para) in colours:
            swatch = para.runs[0]
            assert swatch.text == "\u25a0 " and str(swatch.font.color.rgb) == colours[heading_text(para)]


def test_counts_beside_each_chart_equal_the_matrix_passages(study, tmp_path):
    document = export(study, tmp_path)
    with study.read() as session:
        matrix = code_timepoint_matrix(session)
    count_tables = [t for t in nested_tables(document) if t.rows[0].cells[0].text == "Timepoint"]
    coded = [row for row in matrix.rows]
    assert len(count_tables) == len(coded)
    for table, row in zip(count_tables, coded, strict=True):
        body = [[c.text for c in r.cells] for r in table.rows[1:]]
        expected = [
            [f"{key} {label}", str(row.cells[key].passages), str(row.cells[key].participants)]
            for key, label in matrix.timepoints
        ]
        expected.append(["All timepoints", str(row.total.passages), str(row.total.participants)])
        assert body == expected


def test_heat_map_is_the_matrix_on_one_scale(study, tmp_path):
    document = export(study, tmp_path)
    with study.read() as session:
        matrix = code_timepoint_matrix(session)
    heat = document.tables[0]
    assert [c.text for c in heat.rows[0].cells] == ["Code", "T1 After training", "T2 4 months", "T3 12 months", "All"]
    top = max(c.passages for row in matrix.rows for c in row.cells.values())
    fills = {}
    for table_row, row in zip(heat.rows[1:], matrix.rows, strict=False):
        cells = table_row.cells
        assert cells[0].text.removeprefix("\u25a0 ") == row.name
        for cell, key in zip(cells[1:4], ["T1", "T2", "T3"], strict=True):
            found = row.cells[key]
            expected = "–" if not found.passages else (
                f"{found.passages} passage{'s' if found.passages != 1 else ''}\n"
                f"{found.participants} participant{'s' if found.participants != 1 else ''}")  # fmt: skip
            assert cell.text == expected
            fill = cell._tc.find(f"{W}tcPr/{W}shd").get(f"{W}fill")
            fills.setdefault(found.passages, set()).add(fill)
    assert all(len(f) == 1 for f in fills.values())  # one shared scale: equal counts, equal shades
    assert f"darkest = {top} passages" in " ".join(texts(document))
    assert heat.rows[-1].cells[0].text == "Interviews coded"


def test_presence_table_comes_from_theme_presence_and_says_not_coded_yet(study, tmp_path):
    from models.transcripts import store_transcript
    from tests.conftest import make_parsed

    with study.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed([("Interviewer", "Hi?"), ("Sam", "Hello.")], "P04_T1.txt"), "P04", "T1",
                         "tester")  # fmt: skip
    document = export(study, tmp_path)
    with study.read() as session:
        presence = theme_presence(session)
    table = document.tables[1]
    assert [c.text for c in table.rows[0].cells][1:] == ["Support"] * 3 + ["Worry"] * 3  # spanning headers
    rows = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in table.rows[2:]}
    for theme_number, theme in enumerate(presence):
        for trajectory in theme.trajectories:
            for n, point in enumerate(trajectory.points):
                mark = rows[trajectory.participant][theme_number * 3 + n]
                if not point.interviewed:
                    assert mark == "–"
                elif not point.coded:
                    assert mark == "?"
                else:
                    assert mark == (f"● {point.passages}" if point.present else "○")
    assert rows["P04"][:3] == ["?", "–", "–"]  # imported, not coded yet: never "absent"


def test_changes_table_counts_each_status(study, tmp_path):
    document = export(study, tmp_path)
    with study.read() as session:
        presence = {t.name: t.status_counts() for t in theme_presence(session)}
    table = document.tables[2]
    rows = {r.cells[0].text.removeprefix("\u25a0 "): [c.text for c in r.cells[1:]] for r in table.rows[1:]}
    for name, counts in presence.items():
        for cell, key in zip(rows[name], ["T1", "T2", "T3"], strict=True):
            for status in ("emerged", "persisted", "returned", "faded"):
                found = counts.get(key, {}).get(status)
                assert (f"{found} {status}" in cell) == bool(found)


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
            if visible(s.text) == text
            and tree.codes[s.code_id].name == heading
            and s.participant == match["participant"]
        )
        assert segment.timepoint == match["timepoint"]
        assert segment.timepoint_label == match["label"]
        assert re.search(rf"turns? {segment.turn_index + 1}\b", label)  # counted from 1, as the workspace shows
        unmatched.remove(segment)
    assert not unmatched


def test_a_passage_coded_by_two_coders_is_one_quote_labelled_with_both(study, tmp_path):
    code(study, "P01/T1", "The supervision was good.", "Support/Supervision", coder="ben")
    document = export(study, tmp_path)
    found = [(t, label) for h, t, label in quotes(document) if t == "The supervision was good."]
    assert len(found) == 1
    assert "coded by ann and ben" in found[0][1]
    with study.read() as session:
        row = next(r for r in code_timepoint_matrix(session).rows if r.code == "Support/Supervision")
    assert row.cells["T1"].segments == 2 and row.cells["T1"].passages == 1
    assert "T1 · After training: 1 passage" in texts(document)  # counts say passages, and count it once


def test_quote_labels_and_every_memo(study, tmp_path):
    document = export(study, tmp_path)
    found = {text: label for _h, text, label in quotes(document)}
    assert found["The supervision was good."] == "P01 · T1 After training · Dana · turn 2 · coded by ann · key quote"
    all_text = texts(document)
    at = all_text.index("The supervision was good.")
    assert all_text[at + 2] == "Memo (ann): Sandra ran it"
    assert "Memo (ann): warm start" in all_text  # memos of quotes that are not key quotes too


def test_code_and_interview_memos_are_printed_as_memos(study, tmp_path):
    from models.codebook import merge_codes, set_code_memo
    from models.coding import set_transcript_memo

    set_code_memo(study, "ann", "Worry", "## Check\n**funding** again (code #14)")
    set_transcript_memo(study, "ann", "P02/T2", "Recorded in a noisy café.")
    merge_codes(study, "ann", "Support/Peer", "Support")
    document = export(study, tmp_path)
    all_text = texts(document)
    assert "Memo: Check\nfunding again" in all_text
    assert any(t.startswith("Memo: Merged from “Support/Peer”:") for t in all_text)
    at = all_text.index("Memos on interviews")
    assert all_text[at + 1 : at + 3] == ["P02 · T2 4 months", "Memo (ann): Recorded in a noisy café."]


def test_visible_marks_replace_characters_xml_cannot_hold(study, tmp_path):
    found = [t for _h, t, _l in quotes(export(study, tmp_path))]
    assert 'Well, "honestly", it was hard, really hard.\u2407 Sandrah helped, though.' in found


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
    assert code_headings(document) == [(1, "Support"), (2, "Supervision")]
    assert {h for h, _t, _l in quotes(document)} == {"Supervision"}
    assert "Shown for context: only its sub-codes are part of this selection." in texts(document)


def test_max_quotes_takes_key_quotes_first_and_counts_keep_their_meaning(study, tmp_path):
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
    assert "T2 · 4 months: 1 of 3 passages shown" in texts(document)


def test_no_interviewer_leaves_interviewer_speech_out_of_quotes(study, tmp_path):
    found = [t for _h, t, _l in quotes(export(study, tmp_path, no_interviewer=True))]
    assert "Sandra was kind." in found
    assert not any("What about the ward?" in t for t in found)


def test_with_questions_shows_the_preceding_interviewer_turn(study, tmp_path):
    document = export(study, tmp_path, with_questions=True)
    paragraphs = document.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.text == "I might leave.")
    assert paragraphs[at - 1].style.name == "Interviewer Question"
    assert paragraphs[at - 1].text == "Interviewer: Four months on?"


def test_large_print_has_no_dense_tables_and_nothing_below_16_pt(study, tmp_path):
    path = tmp_path / "lp.docx"
    run_export(study, path, "themes", ExportFilters(), ExportOptions(large_print=True))
    document = docx.Document(str(path))
    assert document.tables == []
    used = {p.style.name for p in document.paragraphs} | {r.style.name for p in document.paragraphs for r in p.runs}
    sizes = [s.font.size.pt for s in document.styles if s.name in used and s.font.size]
    assert sizes and min(sizes) >= 16
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("word/document.xml").decode() + archive.read("word/footer1.xml").decode()
    assert [int(v) for v in re.findall(r'<w:sz w:val="(\d+)"', xml) if int(v) < 32] == []  # half-points
    assert code_headings(document) == code_walk(study)


def test_contents_are_links_with_page_numbers_and_the_properties_are_the_reports(study, tmp_path):
    path = tmp_path / "out.docx"
    run_export(study, path, "themes", ExportFilters())
    document = docx.Document(str(path))
    body = document.element.body
    links = body.findall(f".//{W}hyperlink")
    bookmarks = {b.get(f"{W}name") for b in body.iter(f"{W}bookmarkStart")}
    entries = [p for p in document.paragraphs if p.style.name.startswith("toc")]
    assert len(links) == len(entries) == len(headings(document))
    for link in links:
        anchor = link.get(f"{W}anchor")
        assert anchor in bookmarks
        instruction = "".join(t.text for t in link.iter(f"{W}instrText"))
        assert instruction.strip() == f"PAGEREF {anchor} \\h"
        page = re.search(r"(\d+)$", "".join(t.text for t in link.iter(f"{W}t")))
        assert page and int(page.group(1)) >= 3
    assert "TOC \\o" not in body.xml  # no field LibreOffice would show stale
    footer_xml = document.sections[0].footer._element.xml
    assert "PAGE" in footer_xml and "fldChar" in footer_xml
    assert document.sections[0].page_width == docx.shared.Twips(11906)
    props = document.core_properties
    assert props.language == "en-GB" and props.author == "waveqda"
    assert props.created.date() == datetime.now(UTC).date() and props.last_printed is None


def test_a_chart_with_alt_text_per_coded_code_and_none_without_pillow(study, tmp_path, monkeypatch):
    with_charts = export(study, tmp_path, name="a.docx")
    with study.read() as session:
        rows = [row for row in code_timepoint_matrix(session).rows if row.total.passages]
    shapes = list(with_charts.inline_shapes)
    assert len(shapes) == len(rows)
    for shape, row in zip(shapes, rows, strict=True):
        alt = shape._inline.docPr.get("descr")
        assert alt.startswith(f"Bar chart, {row.name}: passages and participants per timepoint")
        assert f"T1 After training {row.cells['T1'].passages} passage" in alt
    import exporters.chart as chart

    monkeypatch.setattr(chart, "_PILLOW", {})
    real_import = builtins.__import__

    def no_pillow(name, *args, **kwargs):
        if name.startswith("PIL"):
            raise ImportError("no imaging here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pillow)
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


def framework_rows(table) -> dict[str, list[str]]:
    return {r.cells[0].text: [c.text for c in r.cells[1:]] for r in table.rows[1:]}


def test_framework_has_a_landscape_table_per_theme_of_participant_speech(study, tmp_path):
    document = export(study, tmp_path, kind="framework")
    assert code_headings(document) == [(1, "Support"), (1, "Worry")]
    assert len(document.tables) == 2
    landscape = [s for s in document.sections if s.orientation == docx.enum.section.WD_ORIENT.LANDSCAPE]
    assert landscape
    support = document.tables[0]
    assert [c.text for c in support.rows[0].cells] == ["Participant", "T1 After training", "T2 4 months",
                                                       "T3 12 months"]  # fmt: skip
    rows = framework_rows(support)
    assert set(rows) == {"P01", "P02", "P03"}
    assert rows["P03"][2] == "not interviewed"
    assert "The team supports me." in rows["P02"][0] and "Hopeful, really hopeful." in rows["P02"][0]
    assert "(turn 2; Peer; coded by ben)" in rows["P02"][0]  # the coder is named: two coded
    assert "What about the ward?" not in rows["P01"][0]  # participant speech only
    assert "Sandra was kind." in rows["P01"][0]
    worry = framework_rows(document.tables[1])
    assert worry["P02"][0] == "–"  # interviewed and coded, the theme absent


def test_framework_with_questions_labels_interviewer_words_in_italic(study, tmp_path):
    document = export(study, tmp_path, kind="framework", with_questions=True)
    cell = document.tables[0].rows[1].cells[1]  # P01 at T1
    italic = [r.text for p in cell.paragraphs for r in p.runs if r.italic]
    assert "Interviewer: What about the ward?" in italic


def test_framework_tells_not_coded_yet_from_absent_and_not_interviewed(study, tmp_path):
    from models.transcripts import store_transcript
    from tests.conftest import make_parsed

    with study.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed([("Interviewer", "Hi?"), ("Sam", "Hello.")], "P04_T1.txt"), "P04", "T1",
                         "tester")  # fmt: skip
    rows = framework_rows(export(study, tmp_path, kind="framework").tables[1])
    assert rows["P04"] == ["not coded yet", "not interviewed", "not interviewed"]
    assert rows["P02"][0] == "–"


def test_framework_counts_keep_their_meaning_under_max_quotes(study, tmp_path):
    def cells(document) -> list[str]:
        return [c.text for t in document.tables for r in t.rows[1:] for c in r.cells[1:]]

    full = cells(export(study, tmp_path, kind="framework", name="full.docx"))
    limited = cells(export(study, tmp_path, kind="framework", name="limited.docx", max_quotes=1))
    for whole, part in zip(full, limited, strict=True):
        assert (part == "–") == (whole == "–")
    assert any(re.match(r"1 of \d passages shown", c) for c in limited)


def test_framework_long_cell_shows_the_count_and_the_key_quote(study, tmp_path, monkeypatch):
    import exporters.word_framework as framework

    monkeypatch.setattr(framework, "CELL_LIMIT_SEGMENTS", 1)
    document = export(study, tmp_path, kind="framework")
    rows = framework_rows(document.tables[0])
    assert rows["P01"][1].startswith("1 of 3 passages shown (key quote first):")
    assert "Harder." in rows["P01"][1]


def test_framework_large_print_is_lists(study, tmp_path):
    document = export(study, tmp_path, kind="framework", large_print=True)
    assert document.tables == []
    assert (2, "P01") in headings(document)


# --- codebook, transcript, disagreements, cards ------------------------------------------------------------


def test_codebook_document(study, tmp_path):
    document = export(study, tmp_path, kind="codebook")
    assert headings(document) == [(1, "Codebook summary"), *code_walk(study)]
    all_text = texts(document)
    assert "Include: Any peer" in all_text and "Exclude: Line managers" in all_text
    with study.read() as session:
        row = next(r for r in code_timepoint_matrix(session).rows if r.code == "Support/Supervision")
    t1, t2 = row.cells["T1"], row.cells["T2"]
    expected = (
        f"Passages (participants): T1 {t1.passages} passage{'s' if t1.passages != 1 else ''} ({t1.participants}); "
        f"T2 {t2.passages} passages ({t2.participants}); T3 0 passages (0); "
        f"all: {row.total.passages} passages ({row.total.participants})"
    )
    assert expected in all_text
    assert not any(re.search(r"#[0-9a-fA-F]{6}|\bid \d", t) for t in all_text)  # colours as swatches, no ids


def test_transcript_document_is_the_text_with_numbered_codings_turns_and_memos(study, tmp_path):
    document = export(study, tmp_path, kind="transcript", transcript="P01/T1")
    with study.read() as session:
        transcript = find_transcript(session, "P01/T1")
        text = transcript.text
        segments = retrieve(session, transcript_ids=[transcript.id])
    paragraphs = transcript_body(document)
    assert "\n".join(printed_text(p) for p in paragraphs if p.style.name != "Code Note") == text
    comments = list(document.comments)
    assert len(comments) == len(segments)
    turns = [
        r.text.strip() for p in paragraphs for r in p.runs if r.style is not None and r.style.name == "Turn Number"
    ]
    assert turns == ["1", "2", "3", "4"]  # every turn numbered from 1, as the reports cite them
    notes = [p.text for p in paragraphs if p.style.name == "Code Note"]
    assert len(notes) == len(segments)
    numbers = sorted(int(n.split(" ", 1)[0]) for n in notes)
    assert numbers == list(range(1, len(segments) + 1))
    marks = [r.text for p in paragraphs for r in p.runs if r.style is not None and r.style.name == "Coding Mark"]
    assert sorted(map(int, marks)) == numbers
    supervision = next(n for n in notes if "Support/Supervision · ann · key quote" in n)
    assert "“The supervision was good.”" in supervision and "Memo (ann): Sandra ran it" in supervision
    fills = {
        shd.get(f"{W}fill") for p in paragraphs for r in p.runs for shd in r._r.iter(f"{W}shd")
    }  # one tint per code colour
    assert len(fills) >= 2


def test_transcript_kind_needs_a_transcript(study, tmp_path):
    from models.errors import WaveqdaError

    with pytest.raises(WaveqdaError, match="--transcript"):
        run_export(study, tmp_path / "t.docx", "transcript", ExportFilters())


def test_disagreements_document(study, tmp_path):
    from models.agreement_report import disagreements

    document = export(study, tmp_path, kind="disagreements", coders=["ann", "ben"])
    found = [d for d in disagreements(study, ["ann", "ben"]) if d.text.strip()]
    assert len(found) > 0
    agreement = document.tables[0]
    assert [c.text for c in agreement.rows[0].cells] == ["Code", "Agreement", "Kappa"]
    assert agreement.rows[-1].cells[0].text == "All codes"
    assert all(re.fullmatch(r"\d+\.\d%", r.cells[1].text) for r in agreement.rows[1:])
    items = [p for p in document.paragraphs if p.style.name == "Quote"]
    assert len(items) == len(found)
    for para, item in zip(items, found, strict=True):
        marked = "".join(r.text for r in para.runs if r.bold and r.underline)
        assert marked == visible(item.text)
        assert para.text.split(". ", 1)[1].count(visible(item.text)) >= 1  # with the sentence around it
    labels = [p.text for p in document.paragraphs if p.style.name == "Quote Label"]
    assert labels[0] == f"{found[0].code} · coded by {found[0].coded_by[0]}; not by {found[0].not_coded_by[0]}"
    xml = support.docx_xml_text(tmp_path / "out.docx")
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}", xml)  # no keys in the handout


def test_cards_one_passage_per_card_with_code_place_and_role(study, tmp_path):
    code(study, "P01/T1", "The supervision was good.", "Support/Supervision", coder="ben")
    document = export(study, tmp_path, kind="cards")
    with study.read() as session:
        segments = retrieve(session)
    [table] = document.tables
    cards = [cell for row in table.rows for cell in row.cells if cell.text.strip()]
    assert len(cards) == len(segments) - 1  # two coders, one passage, one card
    texts_on_cards = [cell.paragraphs[1].text for cell in cards]
    assert texts_on_cards.count("“The supervision was good.”") == 1
    for card in cards:  # where it comes from: the speaker's role, never a name
        where = card.paragraphs[2].text
        assert re.fullmatch(r"P\d+ · T\d [^·]+ · (participant|interviewer|other speaker)", where)
    borders = table._tbl.find(f"{W}tblPr/{W}tblBorders")
    assert {b.get(f"{W}val") for b in borders} == {"dashed"}  # cut lines
    assert all(r._tr.find(f"{W}trPr/{W}cantSplit") is not None for r in table.rows)
    anchors = {link.get(f"{W}anchor") for link in document.element.body.iter(f"{W}hyperlink")}
    bookmarks = {b.get(f"{W}name") for b in document.element.body.iter(f"{W}bookmarkStart")}
    assert anchors and anchors <= bookmarks


def test_cards_are_pseudonymised_with_anonymise(study, tmp_path):
    document = export(study, tmp_path, kind="cards", anonymise=True)
    text = " ".join(cell.text for row in document.tables[0].rows for cell in row.cells)
    assert "Sandra" not in text and "Maple Ward" not in text and "[Person A]" in text


@pytest.mark.parametrize("kind", ["themes", "framework", "codebook", "transcript", "disagreements", "cards"])
def test_no_internal_text_in_any_report(study, tmp_path, kind):
    from models.codebook import merge_codes

    merge_codes(study, "ann", "Worry/Money", "Worry")
    extra = {"transcript": {"transcript": "P01/T1"}, "disagreements": {"coders": ["ann", "ben"]}}.get(kind, {})
    export(study, tmp_path, kind=kind, **extra)
    document_xml = zipfile.ZipFile(tmp_path / "out.docx").read("word/document.xml").decode()
    shown = " ".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", document_xml))
    assert not re.search(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-", shown)  # UUIDs
    assert not re.search(r"#[0-9a-fA-F]{6}\b", shown)  # hex colours
    assert not re.search(r"(^|\s)#{1,6}\s|\*\*|#\d+", shown)  # Markdown markers, "#14"
    assert "not written yet" not in shown and "segments from" not in shown
