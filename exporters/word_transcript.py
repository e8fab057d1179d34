"""One coded transcript for printing: the text exactly as stored, with its codings readable on paper.

Each line of the transcript becomes a paragraph (speaker labels bold, each turn's first line headed by its
turn number in the margin, as every other report cites "turn N"). Coded text is tinted with its code's
colour (where codings overlap, the one that started last), and each coding is numbered where it starts; a
note after the paragraph where a coding ends repeats its number with the code's colour swatch and name,
the coder, the first and last words of the span, and its memos. Printouts leave Word comments out, so
everything is on the page; the comments are kept as well, for reading on screen. The transcript's own
memos come first. With ``--anonymise`` the anonymised text is written and each coding is moved onto it
through the anonymiser's offset map.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exporters.data import Texts, check_consensus, coding_memos, transcript_memos
from exporters.filters import ExportFilters, scoped_segments
from exporters.word_common import (
    CELL_STYLE,
    CODE_NOTE_STYLE,
    CODING_MARK_STYLE,
    MEMO_STYLE,
    SMALL_STYLE,
    SWATCH,
    TURN_NUMBER_STYLE,
    Progress,
    Report,
    add_run,
    clean_text,
    joined,
    light,
    new_report,
    plural,
    unmark,
)
from models.anonymise import OffsetMap
from models.codes import CodeTree
from models.names import export_anonymiser
from models.queries import Segment, TranscriptLayout, load_layouts
from models.store import Project
from models.transcripts import find_transcript, turn_number

SNIPPET_WORDS = 6


@dataclass
class Placed:
    """A coding moved onto the written text: its number, span there, code, colour, coder and memos."""

    number: int
    start: int
    end: int
    code: str
    colour: str
    coder: str
    key_quote: bool
    memos: list[tuple[str, str]]

    @property
    def comment(self) -> str:
        lines = [self.code, f"coder: {self.coder}"]
        if self.key_quote:
            lines.append("key quote")
        lines += [f"memo ({author}): {text}" for author, text in self.memos]
        return "\n".join(lines)


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
        tree = CodeTree.load(session)
        texts = Texts({transcript.id: layout}, anonymiser)
        memos = coding_memos(session, segments, texts)
        own_memos = transcript_memos(session, [transcript.id], texts).get(transcript.id, [])
    text, offsets = anonymiser.replace_mapped(layout.text) if anonymiser else (layout.text, OffsetMap())
    report = new_report(f"{label}: coded transcript", large_print)
    report.heading(f"{label} · {texts.free(timepoint_label)}", 1, in_contents=False)
    title, source, words = meta
    coders = sorted({texts.free(s.coder) for s in segments})
    report.paragraph(f"{texts.free(title)} · source {texts.free(source)} · {words} words", style=SMALL_STYLE)
    report.paragraph(
        f"{plural(len(segments), 'coding')} by {joined(coders) or 'nobody'}; filters: "
        + "; ".join(filters.describe())
        + ". Coded text is tinted in its code's colour; a small number marks where each coding starts, and "
        "the note after the paragraph where it ends names its code, coder and first and last words.",
        style=SMALL_STYLE,
    )
    for author, memo in own_memos:
        report.paragraph(memo, style=MEMO_STYLE, bold_prefix=f"Memo on this interview ({author}): ")
    report.contents()
    ordered = sorted(segments, key=lambda s: (s.start, -s.end, s.id))
    placed = [place(n, s, offsets, texts, tree, memos.get(s.id, [])) for n, s in enumerate(ordered, 1)]
    report.heading("Transcript", 1)
    write_body(report, text, layout, offsets, placed, progress)
    codings_index(report, placed)
    report.finish(out_path)
    return out_path


def codings_index(report: Report, placed: list[Placed]) -> None:
    """Per code: its colour, the numbers of its codings in the text, and who coded them."""
    report.heading("Codings by code", 1)
    if not placed:
        report.paragraph("Nobody has coded this transcript in this selection.", style=SMALL_STYLE)
        return
    by_code: dict[str, list[Placed]] = {}
    for item in placed:
        by_code.setdefault(item.code, []).append(item)
    rows = [[code, ", ".join(str(p.number) for p in items), joined(sorted({p.coder for p in items}))]
            for code, items in sorted(by_code.items())]  # fmt: skip
    if report.look.large:
        for code, numbers, coders in rows:
            report.paragraph(f"codings {numbers}, by {coders}", bold_prefix=f"{code}: ")
        return
    width = report.usable_width_cm()
    report.table(["Code", "Codings (numbers in the text)", "Coded by"], rows, [width * 0.45, width * 0.3, width * 0.25],
                 style=CELL_STYLE, swatches=[items[0].colour for _code, items in sorted(by_code.items())])  # fmt: skip


def place(
    number: int, segment: Segment, offsets: OffsetMap, texts: Texts, tree: CodeTree, memos: list[tuple[str, str]]
) -> Placed:
    start, end = offsets.span(segment.start, segment.end)
    colour = tree.codes[segment.code_id].colour if segment.code_id in tree.codes else "#808080"
    return Placed(number, start, end, texts.free(segment.code), colour, texts.free(segment.coder), segment.key_quote,
                  memos)  # fmt: skip


def snippet(text: str, start: int, end: int) -> str:
    """``“So I've had supervision … for what I do.”``: the first and last words of a span."""
    words = " ".join(text[start:end].split()).split(" ")
    if len(words) <= 2 * SNIPPET_WORDS:
        return f"“{' '.join(words)}”"
    return f"“{' '.join(words[:SNIPPET_WORDS])} … {' '.join(words[-SNIPPET_WORDS:])}”"


def write_body(
    report: Report,
    text: str,
    layout: TranscriptLayout,
    offsets: OffsetMap,
    placed: list[Placed],
    progress: Progress | None,
) -> None:
    """One paragraph per line, runs cut at coding boundaries and tinted, comments anchored on the runs."""
    turn_at = {offsets.position(turn.start): turn.index for turn in layout.turns}
    speech = sorted((offsets.position(t.start), offsets.position(t.end)) for t in layout.turns)
    speech_ends = [e for _s, e in speech]
    speech_starts = sorted(turn_at)
    bounds = sorted({p.start for p in placed} | {p.end for p in placed} | set(speech_starts))
    starts_at: dict[int, list[Placed]] = {}
    for item in placed:
        starts_at.setdefault(item.start, []).append(item)
    by_start = sorted(placed, key=lambda p: (p.start, p.number))
    start_keys = [p.start for p in by_start]
    runs: list[tuple[int, int, Any]] = []  # (start, end, run) in text order
    ending = sorted(placed, key=lambda p: (p.end, p.number))
    ends = [p.end for p in ending]
    position = 0
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        paragraph = report.new_paragraph()
        end = position + len(line)
        label_end = _label_end(speech_starts, position, end)
        if label_end > position or (position in turn_at and line):
            turn = turn_at.get(label_end, turn_at.get(position))
            if turn is not None:
                add_run(paragraph, f"{turn_number(turn)}\u2002", style_id=report.style_id(TURN_NUMBER_STYLE))
        cuts = [position, *bounds[bisect_right(bounds, position) : bisect_left(bounds, end)], end]
        for a, b in zip(cuts, cuts[1:], strict=False):
            if a >= b:
                continue
            for item in starts_at.get(a, []):
                add_run(paragraph, str(item.number), bold=True, colour=item.colour, superscript=True,
                        style_id=report.style_id(CODING_MARK_STYLE))  # fmt: skip
            covering = _covering(by_start, start_keys, a)
            tint = light(covering.colour) if covering else None
            piece = text[a:b]
            i = bisect_right(speech_ends, a)
            if i >= len(speech) or a < speech[i][0]:  # a label or a preamble: no Markdown markers printed
                piece = unmark(piece)
            run = add_run(paragraph, piece, bold=b <= label_end, shade=tint)
            runs.append((a, b, run))
        report.account(line)
        closing = ending[bisect_left(ends, position + 1) : bisect_right(ends, end + 1)]
        for item in closing:
            note = report.new_paragraph(CODE_NOTE_STYLE)
            add_run(note, f"{item.number} ", bold=True)
            add_run(note, f"{SWATCH} ", colour=item.colour)
            detail = f"{item.code} · {item.coder}{' · key quote' if item.key_quote else ''} · "
            add_run(note, detail + snippet(text, item.start, item.end))
            for author, memo in item.memos:
                add_run(note, f"\nMemo ({author}): ", bold=True, italic=True)
                add_run(note, memo, italic=True)
            report.account(detail + " ".join(m for _a, m in item.memos), CODE_NOTE_STYLE)
        position = end + 1
        if progress and number % 200 == 0:
            progress(number, len(lines), "transcript")
    _comments(report, runs, placed)


def _covering(by_start: list[Placed], start_keys: list[int], offset: int) -> Placed | None:
    """The coding that started last among those covering ``offset`` (its tint is the one shown)."""
    for i in range(bisect_right(start_keys, offset) - 1, -1, -1):
        if by_start[i].end > offset:
            return by_start[i]
    return None


def _label_end(speech_starts: list[int], line_start: int, line_end: int) -> int:
    """End of the speaker label on this line: the first speech start after the line start, if on the line."""
    i = bisect_right(speech_starts, line_start)
    if i < len(speech_starts) and speech_starts[i] <= line_end:
        return speech_starts[i]
    return line_start


def _comments(report: Report, runs: list[tuple[int, int, Any]], placed: list[Placed]) -> None:
    starts = [a for a, _b, _r in runs]
    for item in placed:
        first = bisect_left(starts, item.start)
        last = bisect_left(starts, item.end) - 1
        if first > last:
            continue
        initials = "".join(w[0] for w in item.coder.split()[:3]).upper()
        report.document.add_comment(
            [runs[first][2], runs[last][2]], clean_text(f"{item.number}. {item.comment}"), clean_text(item.coder),
            initials,
        )  # fmt: skip
