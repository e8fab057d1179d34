"""Every memo as a file (issue 15): the project journal, transcript, participant, code and coding memos, each
with its author, date and what it annotates, as Word (to read and annotate in a meeting) or CSV/XLSX (to
sort, filter or code again elsewhere).

The list is ``models.memo_list.all_memos``, the one ``waveqda memos`` prints, with the same filters (words,
kinds, author). A coding's memo is printed under its code and interview with the words it is about, so a
reader of the document does not need the project open. With ``--anonymise`` every piece of text goes
through the project's name register, and a coding's words are cut from the anonymised transcript (a name at
the edge of a coding is replaced whole); with ``--anonymise-coders`` authors become Coder 1, Coder 2….
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from exporters.data import Texts
from exporters.filters import ExportFilters
from exporters.word_common import (
    SMALL_STYLE,
    Progress,
    Report,
    handout,
    made_on,
    new_report,
    title_page,
)
from models.errors import WaveqdaError
from models.memo_list import EXCERPT, KINDS, MemoItem, all_memos
from models.names import export_anonymiser
from models.store import Project, get_setting

HEADINGS = {
    "journal": "Project journal",
    "transcript": "Transcript memos",
    "participant": "Participant memos",
    "code": "Code memos",
    "coding": "Coding memos",
}
COLUMNS = ["kind", "about", "transcript", "code", "start", "end", "coded_text", "author", "date", "title", "text",
           "memo_id", "target_id"]  # fmt: skip


@dataclass(frozen=True)
class MemoChoice:
    """Which memos: all of ``waveqda memos``'s filters (words that must all occur, kinds, author)."""

    search: str | None = None
    kinds: list[str] | None = None
    author: str | None = None

    def describe(self) -> list[str]:
        parts = []
        if self.search:
            parts.append(f"memos holding all of: {self.search}")
        if self.kinds:
            parts.append("kinds " + ", ".join(self.kinds))
        if self.author:
            parts.append(f"written by {self.author}")
        return parts


@dataclass(frozen=True)
class WrittenMemo:
    """A memo as written: every text through the anonymiser when asked."""

    item: MemoItem
    about: str
    transcript: str
    code: str
    excerpt: str  # the coded words (whole, or cut at a word with "…")
    author: str
    title: str
    text: str


def load_memos(
    project: Project, filters: ExportFilters, choice: MemoChoice
) -> tuple[str, list[WrittenMemo], list[str]]:
    """The project's name, the memos chosen (as written) and the filters in words."""
    _refuse_scope(filters)
    with project.read() as session:
        items = all_memos(session, choice.search, choice.kinds, choice.author)
        texts = Texts({}, export_anonymiser(session, filters.anonymise, filters.anonymise_coders))
        if texts.anonymiser is not None:
            from models.queries import load_layouts

            wanted = {m.transcript_id for m in items if m.kind == "coding" and m.transcript_id is not None}
            texts.layouts = load_layouts(session, wanted, sentences=False)
        name = texts.free(get_setting(session, "name", "waveqda project"))
    written = [_written(item, texts) for item in items]
    described = choice.describe() + [p for p in filters.describe() if not p.startswith("none")]
    return name, written, described or ["none (every memo)"]


def _refuse_scope(filters: ExportFilters) -> None:
    """The memo list has its own filters; the report filters (codes, timepoints...) would be ignored."""
    if filters.narrows:
        raise WaveqdaError(
            "the memo list is filtered with waveqda memos PROJECT --search/--kind/--author --output FILE; "
            "of the export filters only --anonymise and --anonymise-coders apply"
        )


def _written(item: MemoItem, texts: Texts) -> WrittenMemo:
    excerpt = item.excerpt
    if texts.anonymiser is not None and item.transcript_id is not None and item.start is not None and item.end:
        excerpt = texts.slice(item.transcript_id, item.start, item.end)
    whole = item.end is not None and item.start is not None and item.end - item.start <= EXCERPT
    if len(excerpt) > EXCERPT or (excerpt and not whole):
        excerpt = excerpt[:EXCERPT].rsplit(" ", 1)[0].rstrip() + " …"
    about = item.target
    if item.kind == "coding":
        about = f"{item.code} at {item.transcript}"
    elif item.kind == "journal":
        about = "project journal"
    return WrittenMemo(
        item=item,
        about=texts.free(about),
        transcript=texts.free(item.transcript),
        code=texts.free(item.code),
        excerpt=excerpt,
        author=texts.free(item.author),
        title=texts.free(item.title),
        text=texts.free(item.text),
    )


# --- CSV and XLSX ------------------------------------------------------------------------------------------


def export_memos_table(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    choice: MemoChoice,
    progress: Progress | None = None,
) -> Path:
    """One row per memo: its kind, what it annotates, the coded words of a coding, who, when, title, text."""
    from exporters.tabular import write_table

    name, memos, described = load_memos(project, filters, choice)
    rows = (
        [
            m.item.kind,
            m.about,
            m.transcript,
            m.code,
            m.item.start,
            m.item.end,
            m.excerpt,
            m.author,
            m.item.updated,
            m.title,
            m.text,
            m.item.memo_id,
            m.item.target_id,
        ]  # fmt: skip
        for m in memos
    )
    facts: list[tuple[str, Any]] = [
        ("Project", name),
        ("Made on", date.today()),
        ("Filters", "; ".join(described)),
        ("Offsets", "start and end are a coding's character offsets into the project's stored transcript text"),
    ]
    write_table(out_path, COLUMNS, rows, "Memos", facts, len(memos), progress)
    return out_path


# --- Word --------------------------------------------------------------------------------------------------


def export_memos_docx(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    choice: MemoChoice,
    large_print: bool = False,
    progress: Progress | None = None,
) -> Path:
    """A title page, a contents list, then one section per kind of memo in the list's order."""
    name, memos, described = load_memos(project, filters, choice)
    report = new_report(f"{name}: memos", large_print)
    counts = Counter(m.item.kind for m in memos)
    facts = [
        ("Made on", made_on()),
        ("Filters", "; ".join(described)),
        ("Memos", ", ".join(f"{HEADINGS[k].lower()}: {counts[k]}" for k in KINDS if counts[k]) or "none"),
    ]
    title_page(report, name, "Memos and project journal", facts)
    if not memos:
        report.paragraph("No memos match these filters.")
        report.finish(out_path)
        return out_path
    report.contents()
    report.page_break()
    done = 0
    for kind in KINDS:
        chosen = [m for m in memos if m.item.kind == kind]
        if not chosen:
            continue
        report.heading(f"{HEADINGS[kind]} ({len(chosen)})", 1)
        for memo in chosen:
            memo_entry(report, memo)
            done += 1
            if progress:
                progress(done, len(memos), HEADINGS[kind])
    report.finish(out_path)
    return out_path


def memo_entry(report: Report, memo: WrittenMemo) -> None:
    """What the memo annotates (bold), who wrote it and when, the coded words of a coding, then its text."""
    item = memo.item
    label = memo.title if item.kind == "journal" and memo.title else memo.about
    if item.kind == "code":
        label = memo.code.replace("/", " › ")
    elif item.kind == "coding":
        label = f"{memo.code.replace('/', ' › ')}, {memo.transcript}"
    report.paragraph(handout(label) or "Entry", style="Heading 3", keep_next=True)
    by = " · ".join(part for part in (memo.author and f"by {memo.author}", item.updated) if part)
    generic = item.kind == "transcript" and item.title == f"Memo on {item.target}"  # says only what the label says
    title = memo.title if memo.title and item.kind != "journal" and not generic else ""
    if by or title:
        report.paragraph(" · ".join(p for p in (handout(title), by) if p), style=SMALL_STYLE, keep_next=True)
    if memo.excerpt:
        report.paragraph(f"“{memo.excerpt}”", style="Quote", keep_next=True)
    body = handout(memo.text)
    for paragraph in [p for p in body.split("\n\n") if p.strip()] or [""]:
        report.paragraph(paragraph.strip())
