"""Transcript parsers on real files: every label layout, encoding and table shape we promise to read.

The invariant checked everywhere: each turn's ``[start, end)`` slice of the canonical text is exactly the
speech, and the text has no CR and no BOM.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import docx
import pytest
from docx.document import Document

from importers import parse_file
from importers.docx_reader import parse_docx
from importers.subtitle_reader import parse_srt, parse_vtt
from importers.text_reader import parse_text
from models.errors import WaveqdaError
from models.parsed import UNKNOWN_SPEAKER, LabelRules, ParsedTranscript

RULES = LabelRules()


def speech(parsed: ParsedTranscript) -> list[tuple[str, str]]:
    """(speaker, spoken text) per turn, after checking the canonical-text invariants."""
    assert "\r" not in parsed.text
    assert "\ufeff" not in parsed.text
    for turn in parsed.turns:
        assert 0 <= turn.start < turn.end <= len(parsed.text)
    return [(turn.speaker, parsed.text[turn.start : turn.end]) for turn in parsed.turns]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


# --- plain text and markdown -------------------------------------------------------------------------


def test_name_prefix_layout_keeps_labels_in_text(tmp_path: Path) -> None:
    source = "Interviewer: How did the training go?\nDana: It was brilliant.\nInterviewer: And the ward?\n"
    parsed = parse_file(write(tmp_path, "p01.txt", source))
    assert parsed.text == source.rstrip("\n")
    assert parsed.source_format == "txt"
    assert parsed.title == "p01"
    assert speech(parsed) == [
        ("Interviewer", "How did the training go?"),
        ("Dana", "It was brilliant."),
        ("Interviewer", "And the ward?"),
    ]


@pytest.mark.parametrize(("asker", "answerer"), [("I", "R"), ("Q", "A"), ("Int", "P01")])
def test_short_interview_labels(tmp_path: Path, asker: str, answerer: str) -> None:
    source = f"{asker}: Where do you work?\n\n{answerer}: On Willow Ward.\n\n{asker}: Since when?\n"
    parsed = parse_text(write(tmp_path, "short.txt", source), RULES, "txt")
    assert speech(parsed) == [(asker, "Where do you work?"), (answerer, "On Willow Ward."), (asker, "Since when?")]


def test_markdown_bold_labels_headings_and_title(tmp_path: Path) -> None:
    source = (
        "# Interview with Tom, T1\n\n"
        "**Interviewer:** How are you?\n\n"
        "## Part two\n\n"
        "**Tom**: Fine, thanks.\n\n"
        "**Interviewer:** Good.\n"
    )
    parsed = parse_file(write(tmp_path, "tom.md", source))
    assert parsed.title == "Interview with Tom, T1"
    assert parsed.source_format == "md"
    assert parsed.text == source.rstrip("\n")
    assert speech(parsed) == [("Interviewer", "How are you?"), ("Tom", "Fine, thanks."), ("Interviewer", "Good.")]


def test_label_alone_on_its_line_with_timestamp(tmp_path: Path) -> None:
    source = (
        "Interviewer [00:03:15]\nWhat happened next?\n\n"
        "Tom [00:03:20]\nI went home.\nThen I slept.\n\n"
        "Interviewer:\nRight.\n"
    )
    parsed = parse_text(write(tmp_path, "lines.txt", source), RULES, "txt")
    assert speech(parsed) == [
        ("Interviewer", "What happened next?"),
        ("Tom", "I went home.\nThen I slept."),
        ("Interviewer", "Right."),
    ]
    assert [turn.timestamp for turn in parsed.turns] == ["00:03:15", "00:03:20", None]


def test_otter_style_bare_label_lines(tmp_path: Path) -> None:
    source = "Speaker 1  0:00\nHello there.\n\nSpeaker 2  0:05\nYes\n\nSpeaker 1  0:09\nGood.\n"
    parsed = parse_text(write(tmp_path, "otter.txt", source), RULES, "txt")
    assert speech(parsed) == [("Speaker 1", "Hello there."), ("Speaker 2", "Yes"), ("Speaker 1", "Good.")]
    assert [turn.timestamp for turn in parsed.turns] == ["0:00", "0:05", "0:09"]


def test_word_alone_after_a_label_line_is_speech(tmp_path: Path) -> None:
    source = "Tom\nYes\n\nInterviewer\nReally?\n\nTom\nYes\n"
    parsed = parse_text(write(tmp_path, "yes.txt", source), RULES, "txt")
    assert speech(parsed) == [("Tom", "Yes"), ("Interviewer", "Really?"), ("Tom", "Yes")]


def test_timestamps_before_and_after_labels(tmp_path: Path) -> None:
    source = "[00:00:05] Interviewer: Hello.\nTom (00:00:09): Hi.\n"
    parsed = parse_text(write(tmp_path, "ts.txt", source), RULES, "txt")
    assert speech(parsed) == [("Interviewer", "Hello."), ("Tom", "Hi.")]
    assert [turn.timestamp for turn in parsed.turns] == ["00:00:05", "00:00:09"]


def test_continuation_paragraphs_and_same_speaker_merge(tmp_path: Path) -> None:
    source = (
        "Interviewer: Tell me more.\n\n"
        "Tom: First paragraph.\n\n"
        "Second paragraph, no label.\n\n"
        "Tom: Third, labelled again.\n\n"
        "Interviewer: Thanks.\n"
    )
    parsed = parse_text(write(tmp_path, "merge.txt", source), RULES, "txt")
    assert speech(parsed) == [
        ("Interviewer", "Tell me more."),
        ("Tom", "First paragraph.\n\nSecond paragraph, no label.\n\nTom: Third, labelled again."),
        ("Interviewer", "Thanks."),
    ]


def test_colon_in_speech_is_not_a_label(tmp_path: Path) -> None:
    source = (
        "Interviewer: What went wrong?\n"
        "Tom: Lots.\n"
        "The thing is: nobody told me.\n"
        "And my manager said: wait.\n"
        "Interviewer: I see.\n"
    )
    parsed = parse_text(write(tmp_path, "colon.txt", source), RULES, "txt")
    assert speech(parsed) == [
        ("Interviewer", "What went wrong?"),
        ("Tom", "Lots.\nThe thing is: nobody told me.\nAnd my manager said: wait."),
        ("Interviewer", "I see."),
    ]


def test_long_label_is_speech(tmp_path: Path) -> None:
    source = "Tom: Hello.\nWhat They Never Once Told Me: anything.\n"
    parsed = parse_text(write(tmp_path, "long.txt", source), RULES, "txt")
    assert speech(parsed) == [("Tom", "Hello.\nWhat They Never Once Told Me: anything.")]


def test_preamble_before_first_label_is_not_a_turn(tmp_path: Path) -> None:
    source = "recorded on 3 May, transcribed by JB\n\nInterviewer: Ready?\nTom: Ready.\n"
    parsed = parse_text(write(tmp_path, "pre.txt", source), RULES, "txt")
    assert speech(parsed) == [("Interviewer", "Ready?"), ("Tom", "Ready.")]


def test_custom_interviewer_label_lowercase(tmp_path: Path) -> None:
    source = "int: hello?\nTom: hi.\nint: bye.\n"
    parsed = parse_text(write(tmp_path, "lower.txt", source), RULES, "txt")
    assert speech(parsed) == [("int", "hello?"), ("Tom", "hi."), ("int", "bye.")]


def test_heading_inside_a_turn_splits_it_but_keeps_the_speaker(tmp_path: Path) -> None:
    source = "Interviewer: Go on.\nTom: Before the break.\n## After the break\nStill Tom.\n"
    parsed = parse_text(write(tmp_path, "split.md", source), RULES, "md")
    assert speech(parsed) == [("Interviewer", "Go on."), ("Tom", "Before the break."), ("Tom", "Still Tom.")]


def test_lone_words_are_speech_in_a_name_prefix_file(tmp_path: Path) -> None:
    source = "Interviewer: Ready?\n\nThanks\n\nTom: Yes.\n\n**Okay**\n\nInterviewer: Go.\n\nThanks\n"
    parsed = parse_text(write(tmp_path, "lone.md", source), RULES, "md")
    assert speech(parsed) == [
        ("Interviewer", "Ready?\n\nThanks"),
        ("Tom", "Yes.\n\n**Okay**"),
        ("Interviewer", "Go.\n\nThanks"),
    ]


def test_unlabelled_file_is_one_unknown_turn(tmp_path: Path) -> None:
    source = "# Field notes\n\nThe ward was quiet.\nNobody came.\n"
    parsed = parse_file(write(tmp_path, "notes.md", source))
    assert speech(parsed) == [(UNKNOWN_SPEAKER, "The ward was quiet.\nNobody came.")]


def test_broken_label_pattern_setting_is_a_readable_error(tmp_path: Path) -> None:
    path = write(tmp_path, "x.txt", "Tom: hi\n")
    with pytest.raises(WaveqdaError, match="label_pattern is not a valid regular expression"):
        parse_text(path, LabelRules(label_pattern="(unclosed"), "txt")
    with pytest.raises(WaveqdaError, match="needs a named group"):
        parse_text(path, LabelRules(label_line_pattern=r"^\w+$"), "txt")


TURNS_TEXT = "Interviewer: Café – naïve?\nRenée: Oui… “très” bien.\n"
TURNS_EXPECTED = [("Interviewer", "Café – naïve?"), ("Renée", "Oui… “très” bien.")]


@pytest.mark.parametrize(
    "data",
    [
        TURNS_TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TURNS_TEXT.encode("utf-8"),
        codecs.BOM_UTF16_LE + TURNS_TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TURNS_TEXT.encode("utf-16-be"),
        TURNS_TEXT.encode("cp1252"),
        TURNS_TEXT.replace("\n", "\r\n").encode("utf-8"),
        TURNS_TEXT.replace("\n", "\r").encode("cp1252"),
        codecs.BOM_UTF16_LE + TURNS_TEXT.replace("\n", "\r\n").encode("utf-16-le"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "cp1252", "crlf", "cr-cp1252", "utf16-crlf"],
)
def test_encodings_and_line_ends(tmp_path: Path, data: bytes) -> None:
    parsed = parse_file(write(tmp_path, "enc.txt", data))
    assert parsed.text == TURNS_TEXT.rstrip("\n")
    assert speech(parsed) == TURNS_EXPECTED


def test_valid_utf8_is_never_read_as_cp1252(tmp_path: Path) -> None:
    # "Ã©" would be the cp1252 reading of these bytes: both decodings succeed, UTF-8 must win.
    parsed = parse_file(write(tmp_path, "u.txt", "Tom: café\n".encode()))
    assert speech(parsed) == [("Tom", "café")]


def test_code_points_are_kept_not_normalised(tmp_path: Path) -> None:
    decomposed = "Rene\u0301e said cafe\u0301 🙂 👩🏽‍⚕️"
    parsed = parse_file(write(tmp_path, "nfd.txt", f"Interviewer: Well?\nTom: {decomposed}\n"))
    assert speech(parsed)[1] == ("Tom", decomposed)
    assert "e\u0301" in parsed.text
    assert "é" not in parsed.text


# --- Word --------------------------------------------------------------------------------------------


def add_paragraph(document: Document, *runs: tuple[str, bool], style: str | None = None) -> None:
    """A paragraph made of (text, bold) runs."""
    paragraph = document.add_paragraph(style=style)
    for text, bold in runs:
        paragraph.add_run(text).bold = bold


def save(document: Document, tmp_path: Path, name: str = "t.docx") -> Path:
    path = tmp_path / name
    document.save(str(path))
    return path


def test_docx_bold_labels_with_colon_and_headings(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Interview with Tom", level=0)
    add_paragraph(document, ("Interviewer:", True), (" How was it?", False))
    document.add_heading("Section 2", level=1)
    add_paragraph(document, ("Tom: ", True), ("Fine.", False))
    add_paragraph(document, ("I'm ", False), ("really", True), (" fine.", False))
    add_paragraph(document)
    add_paragraph(document, ("Interviewer:", True), (" Good.", False))
    parsed = parse_file(save(document, tmp_path))
    assert parsed.title == "Interview with Tom"
    assert parsed.text == (
        "Interview with Tom\nInterviewer: How was it?\nSection 2\nTom: Fine.\nI'm really fine.\n\nInterviewer: Good."
    )
    assert speech(parsed) == [
        ("Interviewer", "How was it?"),
        ("Tom", "Fine.\nI'm really fine."),
        ("Interviewer", "Good."),
    ]


def test_docx_bold_labels_without_colon(tmp_path: Path) -> None:
    document = docx.Document()
    add_paragraph(document, ("Interviewer", True), (" How was it?", False))
    add_paragraph(document, ("Tom", True), ("  Fine.", False))
    add_paragraph(document, ("Never", True), (" again, though.", False))
    add_paragraph(document, ("Interviewer", True), (" Why?", False))
    add_paragraph(document, ("Tom", True), (" Long story.", False))
    parsed = parse_docx(save(document, tmp_path), RULES)
    assert speech(parsed) == [
        ("Interviewer", "How was it?"),
        ("Tom", "Fine.\nNever again, though."),
        ("Interviewer", "Why?"),
        ("Tom", "Long story."),
    ]


def test_docx_bold_label_lines_without_colon(tmp_path: Path) -> None:
    document = docx.Document()
    for speaker, said in [("Interviewer", "Hello?"), ("Tom", "Hi."), ("Interviewer", "Ready?"), ("Tom", "Yes.")]:
        add_paragraph(document, (speaker, True))
        add_paragraph(document, (said, False))
    add_paragraph(document, ("Honestly", True))
    add_paragraph(document, ("That was it.", False))
    parsed = parse_docx(save(document, tmp_path), RULES)
    assert speech(parsed) == [
        ("Interviewer", "Hello?"),
        ("Tom", "Hi."),
        ("Interviewer", "Ready?"),
        ("Tom", "Yes.\nHonestly\nThat was it."),
    ]


def test_docx_bold_through_the_strong_character_style(tmp_path: Path) -> None:
    document = docx.Document()
    for speaker, said in [("Interviewer:", " Hello?"), ("Tom:", " Hi.")]:
        paragraph = document.add_paragraph()
        paragraph.add_run(speaker, style="Strong")
        paragraph.add_run(said)
    parsed = parse_docx(save(document, tmp_path), RULES)
    assert speech(parsed) == [("Interviewer", "Hello?"), ("Tom", "Hi.")]


def test_docx_plain_name_prefix_and_decomposed_text(tmp_path: Path) -> None:
    document = docx.Document()
    add_paragraph(document, ("Interviewer: Where?", False))
    add_paragraph(document, ("Rene\u0301e: At the cafe\u0301 🙂", False))
    parsed = parse_docx(save(document, tmp_path), RULES)
    assert speech(parsed) == [("Interviewer", "Where?"), ("Rene\u0301e", "At the cafe\u0301 🙂")]


def test_docx_label_lines_as_paragraphs_and_line_breaks(tmp_path: Path) -> None:
    document = docx.Document()
    add_paragraph(document, ("Interviewer [00:03:15]", False))
    add_paragraph(document, ("What happened?", False))
    paragraph = document.add_paragraph()
    paragraph.add_run("Tom [00:03:20]").add_break()
    paragraph.add_run("I left.")
    add_paragraph(document, ("Interviewer", True))
    add_paragraph(document, ("Why?", False))
    parsed = parse_docx(save(document, tmp_path), RULES)
    assert parsed.text == "Interviewer [00:03:15]\nWhat happened?\nTom [00:03:20]\nI left.\nInterviewer\nWhy?"
    assert speech(parsed) == [("Interviewer", "What happened?"), ("Tom", "I left."), ("Interviewer", "Why?")]
    assert [turn.timestamp for turn in parsed.turns] == ["00:03:15", "00:03:20", None]


def test_docx_text_is_python_docx_paragraph_text(tmp_path: Path) -> None:
    """The reader reads runs' XML children itself (for speed); its text must stay python-docx's
    ``paragraph.text``: tabs, line and page breaks, w:cr, non-breaking hyphens, hyperlinks, blank bold runs."""
    from docx.enum.text import WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    add_paragraph(document, (" ", True), ("Tom", True), ("\t", False), ("Said ", False), ("this", True))
    paragraph = document.add_paragraph()
    paragraph.add_run("Interviewer:").bold = True
    run = paragraph.add_run(" one")
    run.add_tab()
    run.add_text("two")
    run.add_break()
    run.add_text("three")
    run.add_break(WD_BREAK.PAGE)
    for tag in ("w:cr", "w:noBreakHyphen", "w:ptab"):
        element = OxmlElement(tag)
        if tag == "w:ptab":
            for name, value in (("relativeTo", "margin"), ("alignment", "right"), ("leader", "none")):
                element.set(qn(f"w:{name}"), value)
        run._r.append(element)
    run.add_text("four\r")
    link, linked = OxmlElement("w:hyperlink"), OxmlElement("w:r")
    linked.text = " linked"  # python-docx's CT_R text setter: a w:t
    link.append(linked)
    paragraph._p.append(link)
    paragraph.add_run(" end.")
    add_paragraph(document, ("Tom", True), (" ", False), ("Bye.", False))
    add_paragraph(document, ("  ", True), ("", False))
    path = save(document, tmp_path)
    expected = "\n".join(p.text.replace("\r", "\n") for p in docx.Document(str(path)).paragraphs).rstrip()
    parsed = parse_docx(path, RULES)
    assert parsed.text == expected
    assert speech(parsed) == [
        ("Tom", "Said this"),
        ("Interviewer", "one\ttwo\nthree\n-\tfour\n linked end."),
        ("Tom", "Bye."),
    ]


TABLE_ROWS = [
    ("Interviewer", "00:00:01", "How are you?"),
    ("Tom", "00:00:04", "Fine: mostly."),
    ("Tom", "00:00:09", "Tired."),
]
COLUMN_OF = {"speaker": 0, "time": 1, "timestamp": 1, "text": 2, "transcript": 2}


@pytest.mark.parametrize(
    "header",
    [["Speaker", "Time", "Text"], ["Text", "Speaker", "Timestamp"], ["Time", "Transcript", "Speaker"]],
    ids=str,
)
def test_docx_transcription_table_any_column_order(tmp_path: Path, header: list[str]) -> None:
    document = docx.Document()
    add_paragraph(document, ("Exported by the transcription service", False))
    table = document.add_table(rows=1, cols=len(header))
    for cell, name in zip(table.rows[0].cells, header, strict=True):
        cell.text = name
    for row in TABLE_ROWS:
        for cell, name in zip(table.add_row().cells, header, strict=True):
            cell.text = row[COLUMN_OF[name.lower()]]
    add_paragraph(document, ("End of transcript", False))
    parsed = parse_docx(save(document, tmp_path), RULES)
    assert parsed.text == (
        "Exported by the transcription service\n"
        "Interviewer: How are you?\nTom: Fine: mostly.\nTom: Tired.\n"
        "End of transcript"
    )
    assert speech(parsed) == [("Interviewer", "How are you?"), ("Tom", "Fine: mostly."), ("Tom", "Tired.")]
    assert [turn.timestamp for turn in parsed.turns] == ["00:00:01", "00:00:04", "00:00:09"]


def test_docx_other_tables_are_text_in_document_order(tmp_path: Path) -> None:
    document = docx.Document()
    add_paragraph(document, ("Interviewer: Before the table.", False))
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Tom: In a cell."
    table.cell(0, 1).text = "More from Tom."
    table.cell(1, 0).merge(table.cell(1, 1)).text = "Merged cell once."
    add_paragraph(document, ("Interviewer: After the table.", False))
    parsed = parse_docx(save(document, tmp_path), RULES)
    assert parsed.text == (
        "Interviewer: Before the table.\nTom: In a cell.\nMore from Tom.\nMerged cell once.\n"
        "Interviewer: After the table."
    )
    assert speech(parsed) == [
        ("Interviewer", "Before the table."),
        ("Tom", "In a cell.\nMore from Tom.\nMerged cell once."),
        ("Interviewer", "After the table."),
    ]


# --- subtitles ---------------------------------------------------------------------------------------

VTT = """WEBVTT - Team meeting

NOTE exported from the meeting tool

STYLE
::cue { color: white }

1
00:00:01.000 --> 00:00:04.000
<v Interviewer>How was <i>the</i> week?</v>

2
00:00:04.500 --> 00:00:06.000 align:start
<v.loud Tom>It was <c.yellow>long</c>.</v>

00:00:06.000 --> 00:00:09.000
<v Tom>Very long &amp; tiring.
Two lines.</v>

01:02:03.250 --> 01:02:05.000
<v Interviewer>Sorry.</v><v Tom>Thanks.</v>
"""


def test_vtt_voice_tags(tmp_path: Path) -> None:
    parsed = parse_file(write(tmp_path, "meet.vtt", VTT))
    assert parsed.title == "Team meeting"
    assert parsed.text == (
        "Interviewer: How was the week?\nTom: It was long. Very long & tiring. Two lines.\n"
        "Interviewer: Sorry.\nTom: Thanks."
    )
    assert speech(parsed) == [
        ("Interviewer", "How was the week?"),
        ("Tom", "It was long. Very long & tiring. Two lines."),
        ("Interviewer", "Sorry."),
        ("Tom", "Thanks."),
    ]
    assert [turn.timestamp for turn in parsed.turns] == ["00:00:01", "00:00:04.500", "01:02:03.250", "01:02:03.250"]


def test_vtt_teams_style_names_and_short_times(tmp_path: Path) -> None:
    source = (
        "WEBVTT\n\n"
        "a1b2-0\n00:01.000 --> 00:03.000\nDana Smith: Can you hear me?\n\n"
        "a1b2-1\n00:03.000 --> 00:05.000\nInterviewer: Yes: loud and clear.\n\n"
        "a1b2-2\n00:05.000 --> 00:07.000\nInterviewer: Shall we start?\n"
    )
    parsed = parse_vtt(write(tmp_path, "teams.vtt", source), RULES)
    assert speech(parsed) == [
        ("Dana Smith", "Can you hear me?"),
        ("Interviewer", "Yes: loud and clear. Shall we start?"),
    ]
    assert [turn.timestamp for turn in parsed.turns] == ["00:00:01", "00:00:03"]


SRT = """1
00:00:01,000 --> 00:00:04,000
Speaker 1: Hello, can you
hear me?

2
00:00:04,200 --> 00:00:06,000
<i>Speaker 2:</i> Yes.

3
00:00:06,000 --> 00:00:08,000
{\\an8}I can.

4
00:00:08,000 --> 00:00:09,500
Speaker 1: Good.
"""


@pytest.mark.parametrize(
    "data",
    [SRT.encode("utf-8"), SRT.replace("\n", "\r\n").encode("cp1252"), codecs.BOM_UTF16_LE + SRT.encode("utf-16-le")],
    ids=["utf8", "cp1252-crlf", "utf16"],
)
def test_srt_speaker_prefixes(tmp_path: Path, data: bytes) -> None:
    parsed = parse_file(write(tmp_path, "call.srt", data))
    assert parsed.text == "Speaker 1: Hello, can you hear me?\nSpeaker 2: Yes. I can.\nSpeaker 1: Good."
    assert speech(parsed) == [
        ("Speaker 1", "Hello, can you hear me?"),
        ("Speaker 2", "Yes. I can."),
        ("Speaker 1", "Good."),
    ]
    assert [turn.timestamp for turn in parsed.turns] == ["00:00:01", "00:00:04.200", "00:00:08"]


def test_srt_without_speakers_and_with_a_broken_block(tmp_path: Path) -> None:
    source = "1\n00:00:01,000 --> 00:00:02,000\nHello.\n\nstray text\n\n2\n00:00:02,000 --> 00:00:03,000\nBye.\n"
    parsed = parse_srt(write(tmp_path, "plain.srt", source), RULES)
    assert parsed.text == "Hello. Bye."
    assert speech(parsed) == [(UNKNOWN_SPEAKER, "Hello. Bye.")]
    assert len(parsed.warnings) == 1
