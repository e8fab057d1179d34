"""One coded transcript for printing: the text exactly as stored, codes as Word comments and labels.

Each line of the transcript becomes a paragraph (speaker labels bold), so the document's text is the
transcript's text. Runs are split at every coding boundary; each coding is a comment anchored on the runs
it covers (code path, coder, key quote, memo). Printouts often leave comments out (LibreOffice and Word
without markup), so coded text is also lightly shaded and a small "Code Note" line after the paragraph
where a coding ends names its code and coder. With ``--anonymise`` the anonymised text is written and each
coding is moved onto it through the anonymiser's offset map.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Any

from exporters.data import Texts, check_consensus
from exporters.filters import ExportFilters, scoped_segments
from exporters.word_common import CODE_NOTE_STYLE, SMALL_STYLE, Progress, Report, add_run, clean_text, new_report
from models.anonymise import OffsetMap
from models.names import export_anonymiser
from models.queries import Segment, TranscriptLayout, load_layouts
from models.store import Project
from models.transcripts import find_transcript

CODED_FILL = "FFF2CC"


class Placed:
    """A coding moved onto the written text: its span there, its comment, and its printed label."""

    def __init__(self, start: int, end: int, comment: str, author: str, label: str) -> None:
        self.start, self.end, self.comment, self.author, self.label = start, end, comment, author, label


def export_transcript(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    transcript_ref: str,
    large_print: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write one coded transcript (``P07/T2`` or an id) to ``out_path`` (.docx) and return it."""
    with project.read() as session:
        check_consensus(session, filters)
        transcript = find_transcript(session, transcript_ref)
        label = f"{transcript.participant.study_id}/{transcript.timepoint.key}"
        timepoint_label = transcript.timepoint.label
        segments = scoped_segments(session, filters, transcript_ids=[transcript.id])
        layout = load_layouts(session, [transcript.id], sentences=False)[transcript.id]
        anonymiser = export_anonymiser(session, filters.anonymise, filters.anonymise_coders)
        meta = (transcript.title, transcript.source_name, transcript.word_count)
    texts = Texts({transcript.id: layout}, anonymiser)
    text, offsets = anonymiser.replace_mapped(layout.text) if anonymiser else (layout.text, OffsetMap())
    report = new_report(f"{label}: coded transcript", large_print)
    report.heading(f"{label} · {texts.free(timepoint_label)}", 1)
    title, source, words = meta
    coders = sorted({texts.free(s.coder) for s in segments})
    report.paragraph(f"{texts.free(title)} · source {texts.free(source)} · {words} words", style=SMALL_STYLE)
    report.paragraph(
        f"{len(segments)} codings by {', '.join(coders) or 'nobody'}; filters: " + "; ".join(filters.describe()),
        style=SMALL_STYLE,
    )
    placed = [place(s, offsets, texts) for s in segments]
    write_body(report, text, turn_starts(layout, offsets), placed, progress)
    report.finish(out_path)
    return out_path


def place(segment: Segment, offsets: OffsetMap, texts: Texts) -> Placed:
    start, end = offsets.span(segment.start, segment.end)
    lines = [texts.free(segment.code), f"coder: {texts.free(segment.coder)}"]
    if segment.key_quote:
        lines.append("key quote")
    if segment.memo.strip():
        lines.append(f"memo: {texts.free(segment.memo.strip())}")
    label = f"{texts.free(segment.code)} ({texts.free(segment.coder)}{', key quote' if segment.key_quote else ''})"
    return Placed(start, end, "\n".join(lines), texts.free(segment.coder), label)


def turn_starts(layout: TranscriptLayout, offsets: OffsetMap) -> list[int]:
    """Where each turn's speech starts in the written text (what precedes it on its line is the label)."""
    return sorted(offsets.position(turn.start) for turn in layout.turns)


def write_body(
    report: Report, text: str, speech_starts: list[int], placed: list[Placed], progress: Progress | None
) -> None:
    """One paragraph per line, runs cut at coding boundaries, comments anchored on the runs covered."""
    bounds = sorted({p.start for p in placed} | {p.end for p in placed} | set(speech_starts))
    coded = merged_spans([(p.start, p.end) for p in placed])
    coded_starts = [s for s, _e in coded]
    runs: list[tuple[int, int, Any]] = []  # (start, end, run) in text order
    ending = sorted(placed, key=lambda p: p.end)
    ends = [p.end for p in ending]
    position = 0
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        paragraph = report.new_paragraph()
        end = position + len(line)
        label_end = _label_end(speech_starts, position, end)
        cuts = [position, *bounds[bisect_right(bounds, position) : bisect_left(bounds, end)], end]
        for a, b in zip(cuts, cuts[1:], strict=False):
            if a < b:
                run = add_run(paragraph, text[a:b], bold=b <= label_end)
                if _inside(coded, coded_starts, a):
                    _shade_run(run)
                runs.append((a, b, run))
        closing = ending[bisect_left(ends, position + 1) : bisect_right(ends, end + 1)]
        if closing:
            report.paragraph("▸ " + " · ".join(p.label for p in closing), style=CODE_NOTE_STYLE)
        position = end + 1
        if progress and number % 200 == 0:
            progress(number, len(lines), "transcript")
    _comments(report, runs, placed)


def _label_end(speech_starts: list[int], line_start: int, line_end: int) -> int:
    """End of the speaker label on this line: the first speech start after the line start, if on the line."""
    i = bisect_right(speech_starts, line_start)
    if i < len(speech_starts) and speech_starts[i] <= line_end:
        return speech_starts[i]
    return line_start


def merged_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _inside(spans: list[tuple[int, int]], starts: list[int], offset: int) -> bool:
    i = bisect_right(starts, offset) - 1
    return i >= 0 and offset < spans[i][1]


def _shade_run(run: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), CODED_FILL)
    run._r.get_or_add_rPr().append(shading)


def _comments(report: Report, runs: list[tuple[int, int, Any]], placed: list[Placed]) -> None:
    starts = [a for a, _b, _r in runs]
    for item in placed:
        first = bisect_left(starts, item.start)
        last = bisect_left(starts, item.end) - 1
        if first > last:
            continue
        initials = "".join(w[0] for w in item.author.split()[:3]).upper()
        report.document.add_comment(
            [runs[first][2], runs[last][2]], clean_text(item.comment), clean_text(item.author), initials
        )
