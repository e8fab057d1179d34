"""The Framework method's charting matrix: per theme, participants x timepoints, on landscape pages.

Each theme (a top-level code, or each code named with ``--codes``) gets a landscape table: one row per
participant in scope, one column per timepoint, each cell that participant's passages for the theme and its
sub-codes at that timepoint (codings that share text, by any coders or sub-codes, are one passage). Cells
hold participant speech only; ``--with-questions`` adds the interviewer's words, labelled and in italic.
A cell with more than a few passages shows how many there are and the most telling one (a key quote, else
the passage most coders agreed on, else the longest). Counts always mean all the passages in the cell:
"2 of 5 passages shown" when ``--max-quotes`` or a long cell shows fewer. "Not interviewed", "not coded
yet" and "nothing coded" (the theme absent) are different findings and read differently. In large print
the tables become headed lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from exporters.data import ExportData, interviewed, load_export_data
from exporters.filters import ExportFilters
from exporters.word_common import (
    CELL_STYLE,
    LABEL_STYLE,
    MEMO_STYLE,
    QUOTE_STYLE,
    SMALL_STYLE,
    Progress,
    Report,
    add_run,
    joined,
    new_report,
    plural,
    title_page,
    turn_label,
    unmark,
)
from exporters.word_themes import front_facts, interview_memos
from models.queries import ThemePresence, group_passages, theme_presence
from models.store import Project

CELL_LIMIT_CHARS = 700  # more text than this in a cell: show a count and the most telling passage
CELL_LIMIT_SEGMENTS = 3
NOT_INTERVIEWED = "not interviewed"
NOT_CODED = "not coded yet"
NOTHING_CODED = "–"


class Passage:
    """One passage of a theme in one interview: the codings behind it (any sub-codes, any coders)."""

    def __init__(self, codings: list[Any]) -> None:
        self.codings = codings
        self.transcript_id = codings[0].transcript_id
        self.start = min(c.start for c in codings)
        self.end = max(c.end for c in codings)
        self.key_quote = any(c.key_quote for c in codings)
        self.coders = sorted({c.coder for c in codings})

    def rank(self) -> tuple[bool, int, int, int]:
        """Most telling first: a key quote, then what most coders coded, then the longest, then the earliest."""
        return (not self.key_quote, -len(self.coders), -(self.end - self.start), self.start)


def export_framework(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    large_print: bool = False,
    with_questions: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write the framework matrix to ``out_path`` (.docx) and return it."""
    if not with_questions:
        filters = replace(filters, no_interviewer=True)  # participant speech only
    with project.read() as session:
        data = load_export_data(session, filters, with_words=False)  # no word counts shown
        people = interviewed(session, filters)
        themes = theme_ids(data)
        presence = {
            p.code_id: p
            for p in theme_presence(
                session,
                themes,
                True,
                filters.coder_names,
                filters.participants,
                filters.timepoints,
                filters.attributes or None,
            )  # fmt: skip
        }
    report = new_report(f"{data.project_name}: framework matrix", large_print)
    speech = "the interviewer's words in italic" if with_questions else "participant speech only"
    facts = [
        *front_facts(data)[:4],
        ("Cells", f"each participant's passages for the theme (with its sub-codes), {speech}; a long cell shows "
                  "how many passages there are and the most telling one"),
    ]  # fmt: skip
    title_page(report, data.project_name, "Framework matrix", facts)
    report.contents()
    shown = passages_by_theme(data, themes, data.codings)
    totals = passages_by_theme(data, themes, data.segments)
    for done, theme in enumerate(themes, 1):
        if report.look.large:
            report.page_break()
            theme_list(report, data, theme, shown[theme], totals[theme], people, presence[theme], with_questions)
        else:
            report.landscape(True)
            if done > 1:
                report.page_break()
            theme_table(report, data, theme, shown[theme], totals[theme], people, presence[theme], with_questions)
        if progress:
            progress(done, len(themes), data.code_path(theme))
    report.landscape(False)
    interview_memos(report, data)
    report.finish(out_path)
    return out_path


def theme_ids(data: ExportData) -> list[int]:
    """The top of the selection: codes in scope whose parent is not (top-level codes without --codes)."""
    return [cid for cid in data.code_ids if data.tree.codes[cid].parent_id not in data.in_scope]


def passages_by_theme(
    data: ExportData, themes: list[int], items: Sequence[Any]
) -> dict[int, dict[tuple[str, str], list]]:
    """Per theme, (participant, timepoint) -> the theme's passages there, most telling first."""
    theme_of: dict[int, int] = {}
    for theme in themes:
        for cid in (theme, *data.tree.descendants(theme)):
            theme_of.setdefault(cid, theme)
    grouped: dict[int, list[Any]] = defaultdict(list)
    for item in items:
        item_theme = theme_of.get(item.code_id)
        if item_theme is not None:
            grouped[item_theme].append(item)
    out: dict[int, dict[tuple[str, str], list]] = {t: defaultdict(list) for t in themes}
    for theme, found in grouped.items():
        for group in group_passages(found):
            out[theme][(group[0].participant, group[0].timepoint)].append(Passage(group))
    for cells in out.values():
        for passages in cells.values():
            passages.sort(key=Passage.rank)
    return out


def theme_heading(report: Report, data: ExportData, theme: int) -> None:
    report.heading(data.code_name(theme), 1, colour=data.colour(theme))
    definition = data.tree.codes[theme].definition
    if definition:
        report.paragraph(data.texts.free(definition), style=SMALL_STYLE, keep_next=True)


def empty_cell(theme: ThemePresence, participant: str, key: str) -> str:
    """What an empty cell means: not interviewed, not coded yet, or the theme absent."""
    trajectory = next((t for t in theme.trajectories if t.participant == participant), None)
    point = next((p for p in trajectory.points if p.timepoint == key), None) if trajectory else None
    if point is None or not point.interviewed:
        return NOT_INTERVIEWED
    return NOT_CODED if not point.coded else NOTHING_CODED


def theme_table(
    report: Report,
    data: ExportData,
    theme: int,
    shown: dict[tuple[str, str], list[Passage]],
    totals: dict[tuple[str, str], list[Passage]],
    people: dict[str, set[str]],
    presence: ThemePresence,
    with_questions: bool,
) -> None:
    theme_heading(report, data, theme)
    keys = [key for key, _label in data.timepoints]
    first_cm = 2.2
    other_cm = (report.usable_width_cm() - first_cm) / max(1, len(keys))
    headers = ["Participant", *(f"{key} {label}" for key, label in data.timepoints)]
    participants = sorted(people)
    table = report.table(headers, [[p, *[""] * len(keys)] for p in participants], [first_cm, *[other_cm] * len(keys)],
                         style=CELL_STYLE)  # fmt: skip
    for row, participant in zip(table.rows[1:], participants, strict=True):
        for cell, key in zip(row.cells[1:], keys, strict=True):
            total = len(totals.get((participant, key), []))
            fill_cell(report, cell, data, theme, shown.get((participant, key), []), total,
                      empty_cell(presence, participant, key), with_questions)  # fmt: skip
    note = "– the theme was not coded in this interview · not coded yet: nobody has coded this interview"
    report.paragraph(note, style=SMALL_STYLE)


def fill_cell(
    report: Report,
    cell: Any,
    data: ExportData,
    theme: int,
    passages: list[Passage],
    total: int,
    empty: str,
    with_questions: bool,
) -> None:
    """Passages as short paragraphs; a count first when not every passage is shown."""
    first = cell.paragraphs[0]
    if not total:
        add_run(first, empty, italic=empty != NOTHING_CODED)
        return
    if not passages:
        add_run(first, f"{plural(total, 'passage')}, none among the chosen quotes", italic=True)
        return
    texts = [" ".join(t for _w, t, _i in pieces_of(data, p, with_questions)) for p in passages]
    long = len(passages) > CELL_LIMIT_SEGMENTS or sum(map(len, texts)) > CELL_LIMIT_CHARS
    chosen = passages[:1] if long else passages
    paragraph = first
    if len(chosen) < total:
        which = "key quote" if chosen[0].key_quote else "most telling"
        add_run(first, f"{len(chosen)} of {plural(total, 'passage')} shown ({which} first):", bold=True)
        paragraph = report.styled(cell.add_paragraph(), CELL_STYLE)
    for n, passage in enumerate(chosen):
        if n:
            paragraph = report.styled(cell.add_paragraph(), CELL_STYLE)
        write_passage(paragraph, data, theme, passage, with_questions)
        for author, memo in memos_of(data, passage):
            note = report.styled(cell.add_paragraph(), CELL_STYLE)
            add_run(note, f"Memo ({author}): ", bold=True, italic=True, colour="#5A3E00")
            add_run(note, memo, italic=True, colour="#5A3E00")


def memos_of(data: ExportData, passage: Passage) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for coding in passage.codings:
        for memo in data.coding_memos.get(coding.id, []):
            if memo not in found:
                found.append(memo)
    return found


def pieces_of(data: ExportData, passage: Passage, with_questions: bool) -> list[tuple[str, str, bool]]:
    """``(speaker label, text, interviewer)`` per turn of the passage; interviewer turns only when asked,
    with the question just before the passage first."""
    out: list[tuple[str, str, bool]] = []
    spoken = data.texts.spoken(passage)  # type: ignore[arg-type]
    if with_questions and spoken and spoken[0][0] is not None and spoken[0][0].role != "interviewer":
        question = data.texts.question_before(passage)  # type: ignore[arg-type]
        if question:
            out.append((question[0], unmark(question[1]), True))
    for turn, text in spoken:
        interviewer = turn is not None and turn.role == "interviewer"
        if interviewer and not with_questions:
            continue
        out.append((data.texts.free(turn.speaker) if turn else "", unmark(text), interviewer))
    return out


def passage_label(data: ExportData, theme: int, passage: Passage) -> str:
    first = passage.codings[0]
    where = [turn_label(first.turn_index, max((c.last_turn_index or 0) for c in passage.codings) or None)]
    codes = list(dict.fromkeys(c.code_id for c in passage.codings if c.code_id != theme))
    where += [data.code_name(c) for c in codes]
    if len(data.coders) > 1:
        where.append("coded by " + joined([data.texts.free(c) for c in passage.coders]))
    if passage.key_quote:
        where.append("key quote")
    return "; ".join(w for w in where if w)


def write_passage(paragraph: Any, data: ExportData, theme: int, passage: Passage, with_questions: bool) -> None:
    for n, (speaker, text, interviewer) in enumerate(pieces_of(data, passage, with_questions)):
        if n:
            add_run(paragraph, " ")
        if interviewer:
            add_run(paragraph, f"{speaker}: {text}", italic=True)
        else:
            add_run(paragraph, text)
    add_run(paragraph, f" ({passage_label(data, theme, passage)})", italic=True, colour="#555555")


def theme_list(
    report: Report,
    data: ExportData,
    theme: int,
    shown: dict[tuple[str, str], list[Passage]],
    totals: dict[tuple[str, str], list[Passage]],
    people: dict[str, set[str]],
    presence: ThemePresence,
    with_questions: bool,
) -> None:
    """Large print: the same content as headed lists (participant, then timepoint), no dense table."""
    theme_heading(report, data, theme)
    for participant in sorted(people):
        report.heading(participant, 2)
        for key, label in data.timepoints:
            passages = shown.get((participant, key), [])
            total = len(totals.get((participant, key), []))
            count = f": {len(passages)} of {plural(total, 'passage')} shown" if total > len(passages) else (
                f": {plural(total, 'passage')}" if total else "")  # fmt: skip
            report.paragraph(count, bold_prefix=f"{key} · {label}", keep_next=bool(passages))
            if not total:
                empty = empty_cell(presence, participant, key)
                report.paragraph("nothing coded" if empty == NOTHING_CODED else empty, style=SMALL_STYLE)
            for passage in passages:
                para = report.new_paragraph(QUOTE_STYLE)
                write_pieces = pieces_of(data, passage, with_questions)
                for n, (speaker, text, interviewer) in enumerate(write_pieces):
                    if n:
                        add_run(para, " ")
                    add_run(para, f"{speaker}: {text}" if interviewer else text, italic=interviewer)
                report.account(" ".join(t for _s, t, _i in write_pieces), QUOTE_STYLE, keep_next=True)
                report.paragraph(passage_label(data, theme, passage), style=LABEL_STYLE)
                for author, memo in memos_of(data, passage):
                    report.paragraph(memo, style=MEMO_STYLE, bold_prefix=f"Memo ({author}): ")
