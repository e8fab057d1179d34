"""The themes report: the handout for an interpretive workshop.

Title page (project, date, coders, filters), a contents list with page numbers, then a summary a reader
looks for first: the code x timepoint heat map (passages and participants in each cell, shaded on one scale
for the whole table), who spoke to which theme at which timepoint ("not coded yet" apart from "absent"), and
how each theme changed (emerged, persisted, faded, returned), all from the domain queries the CLI's
``matrix`` and ``trajectories`` use. Then one section per code in codebook order: its colour, definition,
inclusion and exclusion, memos, passages and participants per timepoint (a table and a chart on the
report's shared scale, kept together), and its quotes by timepoint, each labelled with participant,
timepoint, speaker, turn and coders, with the memos written on it. Memos on interviews close the report.

Counts are passages: a stretch of text coded with a code (or its sub-codes), however many coders coded it.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from exporters.chart import LARGE_WIDTH_CM, ChartMaker, alt_text
from exporters.data import ExportData, Quote, load_export_data
from exporters.filters import ExportFilters
from exporters.word_common import (
    CAPTION_STYLE,
    CELL_STYLE,
    LABEL_STYLE,
    MEMO_STYLE,
    QUESTION_STYLE,
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
from models.queries import MatrixRow, ThemePresence, theme_presence
from models.store import Project

GAP = " […] "
HEAT_ROWS = 60  # more codes than this: the heat map shows the upper levels of the codebook
THEMES_PER_TABLE = 5
PRESENT, ABSENT_MARK, NOT_CODED_MARK, NOT_INTERVIEWED_MARK = "●", "○", "?", "–"
HEAT_FILLS = ("FFFFFF", "DEEBF7", "C6DBEF", "9ECAE1", "6BAED6", "4292C6", "2171B5", "08519C")
NOT_CODED_FILL = "EDEDED"
CHANGES = ("emerged", "persisted", "returned", "faded")


def export_themes(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    large_print: bool = False,
    with_questions: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write the themes report to ``out_path`` (.docx) and return it."""
    with project.read() as session:
        data = load_export_data(session, filters, with_words=False)  # no word counts shown
        # the codings already loaded are the ones presence needs, unless only some quotes were kept
        reuse = None if filters.key_only or filters.no_interviewer else data.segments
        presence = theme_presence(
            session, filters.codes, True, filters.coder_names, filters.participants, filters.timepoints,
            filters.attributes or None, spans=reuse,
        )  # fmt: skip
    report = new_report(f"{data.project_name}: themes report", large_print)
    title_page(report, data.project_name, "Themes report", front_facts(data))
    report.contents()
    report.page_break()
    summary(report, data, presence)
    charts = ChartMaker(large_print, shared_scale(data))
    by_code = group_by_code(data.quotes)
    totals = passage_totals(data)
    shown = data.shown_code_ids
    for done, code_id in enumerate(shown, 1):
        code_section(report, data, code_id, by_code.get(code_id, []), totals, charts, with_questions)
        if progress:
            progress(done, len(shown), data.code_path(code_id))
    interview_memos(report, data)
    report.finish(out_path)
    return out_path


def front_facts(data: ExportData) -> list[tuple[str, str]]:
    timepoints = ", ".join(f"{key} {label}" for key, label in data.timepoints)
    return [
        ("Made on", data.made_on),
        ("Coders", joined(data.coders) or "none in this selection"),
        ("Timepoints", timepoints),
        ("Filters", "; ".join(data.filters.describe())),
        ("Counts", "passages and distinct participants per timepoint, each code including its sub-codes; a "
                   "passage is a stretch of text coded with the code, counted once however many coders coded it"),
        ("Quotes", "the transcript text of each passage, labelled participant · timepoint · speaker · turn"),
    ]  # fmt: skip


def group_by_code(quotes: list[Quote]) -> dict[int, list[Quote]]:
    out: dict[int, list[Quote]] = defaultdict(list)
    for quote in quotes:
        out[quote.code_id].append(quote)
    return out


def passage_totals(data: ExportData) -> dict[tuple[int, str], int]:
    """Own passages per (code, timepoint) before the quote choice, for "3 of 12 shown"."""
    out: dict[tuple[int, str], int] = defaultdict(int)
    for passage in data.passages:
        out[(passage.code_id, passage.timepoint)] += 1
    return out


def shared_scale(data: ExportData) -> int:
    """The largest count any chart of the report shows: one y axis for all of them."""
    rows = [data.row(cid) for cid in data.shown_code_ids if cid in data.in_scope]
    return max((max(c.passages, c.participants) for row in rows if row for c in row.cells.values()), default=1)


# --- the summary -------------------------------------------------------------------------------------------


def summary(report: Report, data: ExportData, presence: list[ThemePresence]) -> None:
    report.heading("Summary", 1)
    heat_map(report, data)
    presence_section(report, data, presence)
    changes_section(report, data, presence)
    report.page_break()


def heat_rows(data: ExportData) -> tuple[list[int], int | None]:
    """The codes the heat map shows, and the deepest level shown when the codebook is too big for a page."""
    shown = [cid for cid in data.shown_code_ids if data.row(cid) is not None]
    depth = None
    while len(shown) > HEAT_ROWS:
        depth = max(data.depth(cid) for cid in shown) - 1
        shown = [cid for cid in shown if data.depth(cid) <= depth]
    return shown, depth


def heat_fill(value: int, top: int) -> str:
    if value <= 0 or top <= 0:
        return HEAT_FILLS[0]
    return HEAT_FILLS[min(len(HEAT_FILLS) - 1, 1 + round((len(HEAT_FILLS) - 2) * value / top))]


def heat_map(report: Report, data: ExportData) -> None:
    report.heading("Passages per code and timepoint", 2)
    shown, depth = heat_rows(data)
    keys = [key for key, _label in data.timepoints]
    top = max((data.row(cid).cells[k].passages for cid in shown for k in keys), default=0)  # type: ignore[union-attr]
    note = (
        "Each cell: passages, and the participants they came from; codes include their sub-codes. "
        f"Shading is one scale for the whole table, darkest = {plural(top, 'passage')}."
    )
    if depth is not None:
        note += f" Codes below level {depth + 1} are counted in the codes above them."
    report.paragraph(note, style=SMALL_STYLE, keep_next=True)
    interviews = data.matrix.interviews
    if report.look.large:
        for cid in shown:
            row = data.row(cid)
            assert row is not None
            counts = "; ".join(f"{key}: {cell_words(row, key)}" for key in keys)
            report.paragraph(counts, bold_prefix=f"{data.code_name(cid)}: ")
        report.paragraph(coverage_words(data), style=SMALL_STYLE)
        return
    rows, fills = [], []
    for cid in shown:
        row = data.row(cid)
        assert row is not None
        rows.append([data.code_name(cid), *(cell_short(row, key) for key in keys), cell_short(row, None)])
        fills.append([None, *(heat_fill(row.cells[k].passages, top) for k in keys), None])
    rows.append(["Interviews coded", *(f"{interviews[k].coded} of {interviews[k].transcripts}" if k in interviews
                                       else "" for k in keys), ""])  # fmt: skip
    fills.append([None] * (len(keys) + 2))
    number_cm = 2.6
    name_cm = max(4.0, report.usable_width_cm() - number_cm * (len(keys) + 1))
    report.table(
        ["Code", *(f"{key} {label}" for key, label in data.timepoints), "All"],
        rows,
        [name_cm, *[number_cm] * (len(keys) + 1)],
        style=CELL_STYLE,
        fills=fills,
        bold_first=[data.depth(cid) == 0 for cid in shown] + [False],
        swatches=[data.colour(cid) for cid in shown] + [None],
    )


def cell_short(row: MatrixRow, key: str | None) -> str:
    cell = row.total if key is None else row.cells[key]
    if not cell.passages:
        return "–"
    return f"{plural(cell.passages, 'passage')}\n{plural(cell.participants, 'participant')}"


def cell_words(row: MatrixRow, key: str | None) -> str:
    cell = row.total if key is None else row.cells[key]
    if not cell.passages:
        return "none"
    return f"{plural(cell.passages, 'passage')} from {plural(cell.participants, 'participant')}"


def coverage_words(data: ExportData) -> str:
    found = data.matrix.interviews
    return "Interviews coded: " + "; ".join(
        f"{key} {found[key].coded} of {found[key].transcripts}" for key, _label in data.timepoints if key in found
    )


def presence_mark(point) -> str:  # noqa: ANN001 - a TrajectoryPoint
    if not point.interviewed:
        return NOT_INTERVIEWED_MARK
    if not point.coded:
        return NOT_CODED_MARK
    return f"{PRESENT} {point.passages}" if point.present else ABSENT_MARK


def presence_section(report: Report, data: ExportData, presence: list[ThemePresence]) -> None:
    """Participants down, themes and timepoints across: who spoke to which theme when."""
    if report.look.large:  # LibreOffice can leave a large heading alone at the foot of a page
        report.page_break()
    report.heading("Who spoke to each theme", 2)
    legend = (
        f"{PRESENT} spoke to the theme (with the number of passages) · {ABSENT_MARK} interviewed and coded, "
        f"theme absent · {NOT_CODED_MARK} not coded yet (nobody has coded this interview) · "
        f"{NOT_INTERVIEWED_MARK} not interviewed"
    )
    report.paragraph(legend, style=SMALL_STYLE, keep_next=True)
    if not presence or not presence[0].trajectories:
        report.paragraph("No participants in this selection.", style=SMALL_STYLE)
        return
    keys = [key for key, _label in data.timepoints]
    if report.look.large:
        for theme in presence:
            report.paragraph(bold_prefix=data.texts.free(theme.name), keep_next=True)
            for key in keys:
                people: dict[str, list[str]] = {
                    mark: [] for mark in ("present", "absent", "not coded yet", "not interviewed")
                }
                for trajectory in theme.trajectories:
                    point = next(p for p in trajectory.points if p.timepoint == key)
                    kind = ("not interviewed" if not point.interviewed else "not coded yet" if not point.coded
                            else "present" if point.present else "absent")  # fmt: skip
                    people[kind].append(trajectory.participant)
                words = "; ".join(f"{kind}: {', '.join(who)}" for kind, who in people.items() if who)
                report.paragraph(words, bold_prefix=f"{key}: ")
        return
    for first in range(0, len(presence), THEMES_PER_TABLE):
        chunk = presence[first : first + THEMES_PER_TABLE]
        headers = ["Participant", *(key for _t in chunk for key in keys)]
        groups = [("", 1), *((data.texts.free(t.name), len(keys)) for t in chunk)]
        rows, fills = [], []
        participants = [t.participant for t in chunk[0].trajectories]
        for n, participant in enumerate(participants):
            marks: list[str] = [participant]
            row_fills: list[str | None] = [None]
            for theme in chunk:
                for point in theme.trajectories[n].points:
                    marks.append(presence_mark(point))
                    row_fills.append(NOT_CODED_FILL if point.interviewed and not point.coded else None)
            rows.append(marks)
            fills.append(row_fills)
        width = min(1.6, (report.usable_width_cm() - 2.2) / (len(headers) - 1))
        report.table(headers, rows, [2.2, *[width] * (len(headers) - 1)], style=CELL_STYLE, fills=fills,
                     groups=groups, keep_together=len(rows) <= 25)  # fmt: skip
        report.paragraph("", style=SMALL_STYLE)


def changes_section(report: Report, data: ExportData, presence: list[ThemePresence]) -> None:
    """Per theme and timepoint: how many participants' accounts of it emerged, persisted, returned or faded."""
    if report.look.large:
        report.page_break()
    report.heading("How each theme changed", 2)
    report.paragraph(
        "Participants per theme and timepoint whose account of the theme emerged (first time), persisted "
        "(present again), returned (present after an absence) or faded (absent after being present). "
        "Interviews not coded yet are counted apart and change nothing.",
        style=SMALL_STYLE,
        keep_next=True,
    )
    keys = [key for key, _label in data.timepoints]
    rows = []
    for theme in presence:
        counts = theme.status_counts()
        cells = []
        for key in keys:
            found = counts.get(key, {})
            lines = [f"{found[s]} {s}" for s in CHANGES if found.get(s)]
            if found.get("not coded yet"):
                lines.append(f"{found['not coded yet']} not coded yet")
            cells.append("\n".join(lines) or "–")
        rows.append([data.texts.free(theme.name), *cells])
    if report.look.large:
        for row in rows:
            report.paragraph(bold_prefix=row[0], keep_next=True)
            for key, cell in zip(keys, row[1:], strict=True):
                report.paragraph(cell.replace("\n", ", "), bold_prefix=f"{key}: ")
        return
    number_cm = 3.2
    name_cm = max(4.0, report.usable_width_cm() - number_cm * len(keys))
    colours = {t.code_id: data.colour(t.code_id) for t in presence}
    report.table(["Theme", *(f"{key} {label}" for key, label in data.timepoints)], rows,
                 [name_cm, *[number_cm] * len(keys)], style=CELL_STYLE, keep_together=len(rows) <= 15,
                 swatches=[colours[t.code_id] for t in presence])  # fmt: skip


# --- one code ----------------------------------------------------------------------------------------------


def code_section(
    report: Report,
    data: ExportData,
    code_id: int,
    quotes: list[Quote],
    totals: dict[tuple[int, str], int],
    charts: ChartMaker,
    with_questions: bool,
) -> None:
    report.heading(data.code_name(code_id), data.depth(code_id) + 1, colour=data.colour(code_id))
    if code_id not in data.in_scope:  # an ancestor of the selection, shown for the hierarchy
        report.paragraph("Shown for context: only its sub-codes are part of this selection.", style=SMALL_STYLE)
        return
    describe_code(report, data, code_id)
    counts_block(report, data, code_id, charts)
    quotes_block(report, data, code_id, quotes, totals, with_questions)


def describe_code(report: Report, data: ExportData, code_id: int, with_example: bool = False) -> None:
    """Definition, inclusion, exclusion (and example) where written, then the code's memos."""
    code = data.tree.codes[code_id]
    fields = [("Definition", code.definition), ("Include", code.inclusion), ("Exclude", code.exclusion)]
    if with_example:
        fields.append(("Example", code.example))
    for name, value in fields:
        if value and value.strip():
            report.paragraph(data.texts.free(value.strip()), bold_prefix=f"{name}: ", keep_next=True)
    for author, memo in data.code_memos.get(code_id, []):
        write_memo(report, author, memo, keep_next=True)


def write_memo(report: Report, author: str, text: str, keep_next: bool = False) -> None:
    report.paragraph(text, style=MEMO_STYLE, bold_prefix=f"Memo ({author}): " if author else "Memo: ",
                     keep_next=keep_next)  # fmt: skip


def counts_block(report: Report, data: ExportData, code_id: int, charts: ChartMaker | None) -> None:
    """Passages and participants per timepoint: a table and a chart on the report's scale, with a caption,
    kept together on one page (a borderless row that never splits; lists and the chart in large print)."""
    row = data.row(code_id)
    if row is None:
        return
    scope = " (with sub-codes)" if data.tree.children.get(code_id) else ""
    labels = [key for key, _label in data.timepoints]
    passages = [row.cells[k].passages for k in labels]
    people = [row.cells[k].participants for k in labels]
    png = None
    if charts is not None and row.total.passages:
        png = charts.passages_and_participants(labels, passages, people)
    alt = alt_text(data.code_name(code_id), [f"{k} {label}" for k, label in data.timepoints], passages, people)
    caption = f"Passages{scope} and participants per timepoint; every chart in this report uses the same scale."
    if report.look.large:
        for (key, label), cell_p, cell_n in zip(data.timepoints, passages, people, strict=True):
            report.paragraph(f"{plural(cell_p, 'passage')} from {plural(cell_n, 'participant')}",
                             bold_prefix=f"{key} {label}: ", keep_next=True)  # fmt: skip
        if png:
            para = report.picture(png, LARGE_WIDTH_CM, alt)
            para.paragraph_format.keep_with_next = True
            report.paragraph(caption, style=CAPTION_STYLE)
        return
    table_rows = [[f"{key} {label}", str(p), str(n)] for (key, label), p, n in zip(data.timepoints, passages, people,
                                                                                 strict=True)]  # fmt: skip
    table_rows.append(["All timepoints", str(row.total.passages), str(row.total.participants)])
    widths = [3.6, 2.2, 2.4]

    def counts_cell(cell) -> float:  # noqa: ANN001 - a docx cell
        headers = ["Timepoint", f"Passages{scope}", "Participants"]
        cell._tc.append(report.table_element(headers, table_rows, widths, style=CELL_STYLE, account=False))
        header, heights = report.table_height(headers, table_rows, widths, CELL_STYLE)
        return header + sum(heights)

    def chart_cell(cell) -> float:  # noqa: ANN001
        paragraph = cell.add_paragraph()
        if png:
            report.picture(png, 8.6, alt, paragraph)
        caption_para = report.styled(cell.add_paragraph(), CAPTION_STYLE)
        add_run(caption_para, caption if png else "No passages in this selection.")
        return 3.6 * 28.35 + 30 if png else 20

    report.layout_row([(sum(widths) + 0.4, counts_cell), (report.usable_width_cm() - sum(widths) - 0.4, chart_cell)])


def quotes_block(
    report: Report,
    data: ExportData,
    code_id: int,
    quotes: list[Quote],
    totals: dict[tuple[int, str], int],
    with_questions: bool,
) -> None:
    """The code's own passages, grouped by timepoint, key quotes first."""
    if not quotes:
        has_children = bool(data.tree.children.get(code_id))
        text = "No passages coded with this code itself; see its sub-codes." if has_children else (
            "No passages coded with this code in this selection.")  # fmt: skip
        report.paragraph(text, style=SMALL_STYLE)
        return
    by_timepoint: dict[str, list[Quote]] = defaultdict(list)
    for quote in quotes:
        by_timepoint[quote.timepoint].append(quote)
    for key, label in data.timepoints:
        group = by_timepoint.get(key)
        if not group:
            continue
        total = totals[(code_id, key)]
        shown = f"{len(group)} of {plural(total, 'passage')} shown" if total > len(group) else plural(total, "passage")
        report.paragraph(f": {shown}", bold_prefix=f"{key} · {label}", keep_next=True)
        for quote in sorted(group, key=lambda q: not q.key_quote):
            write_quote(report, data, quote, with_questions)


def quote_label(data: ExportData, quote: Quote) -> str:
    """``P01 · T1 After training · Dana · turn 3 · coded by Ann and Ben · key quote``."""
    parts = [quote.participant, f"{quote.timepoint} {data.texts.free(quote.timepoint_label)}"]
    if quote.speaker:
        parts.append(data.texts.free(quote.speaker))
    if quote.turn_index is not None:
        parts.append(turn_label(quote.turn_index, quote.last_turn_index))
    if len(data.coders) > 1:
        parts.append("coded by " + joined([data.texts.free(c) for c in quote.coders]))
    if quote.key_quote:
        parts.append("key quote")
    if quote.needs_review:
        parts.append("placement needs review after a merge")
    return " · ".join(parts)


def write_quote(report: Report, data: ExportData, quote: Quote, with_questions: bool) -> None:
    """Optional question, the quote (exact slices), its label, and every memo written on its codings."""
    if with_questions:
        question = data.texts.question_before(quote)  # type: ignore[arg-type]
        if question:
            report.paragraph(question[1], style=QUESTION_STYLE, bold_prefix=f"{question[0]}: ", keep_next=True)
    pieces = [unmark(piece) for piece in data.texts.pieces(quote, data.filters.no_interviewer)]
    runs = [(GAP, False, True) if i % 2 else (pieces[i // 2], False, False) for i in range(2 * len(pieces) - 1)]
    report.runs(runs, QUOTE_STYLE)
    report.account(GAP.join(pieces), QUOTE_STYLE, keep_next=True)
    memos = data.memos_of(quote)
    report.paragraph(quote_label(data, quote), style=LABEL_STYLE, keep_next=bool(memos))
    for n, (author, memo) in enumerate(memos, 1):
        write_memo(report, author, memo, keep_next=n < len(memos))


def interview_memos(report: Report, data: ExportData) -> None:
    """Memos written on the interviews in this selection, after the codes."""
    memos = data.transcript_memos
    if not memos:
        return
    report.heading("Memos on interviews", 1)
    names = {s.transcript_id: (s.participant, s.timepoint, s.timepoint_position) for s in data.segments}
    labels = dict(data.timepoints)
    for tid in sorted(memos, key=lambda t: (names[t][0], names[t][2])):
        participant, key, _position = names[tid]
        report.paragraph(bold_prefix=f"{participant} · {key} {labels.get(key, '')}", keep_next=True)
        for author, text in memos[tid]:
            write_memo(report, author, text)
