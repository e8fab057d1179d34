"""The disagreement list for a consensus meeting, as .docx (to read together) or .csv/.xlsx (to track).

The list itself (every stretch some compared coders coded and others did not, in meeting order) comes
from ``models.agreement_report.disagreements``; this module only writes it. Each stretch shows its text
(the transcript slice, anonymised through the register when asked), the code, who coded it and who did
not, any decision already taken, and the key that ``waveqda`` commands use to settle it.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from exporters.data import Texts, check_consensus, interviewed
from exporters.filters import ExportFilters
from exporters.tabular import write_table
from exporters.word_common import (
    CELL_STYLE,
    LABEL_STYLE,
    QUOTE_STYLE,
    SMALL_STYLE,
    Progress,
    Report,
    add_run,
    joined,
    made_on,
    new_report,
    plural,
    title_page,
    unmark,
)
from models.errors import WaveqdaError
from models.names import export_anonymiser
from models.queries import load_layouts
from models.store import Project, get_setting
from models.transcripts import list_transcripts

WHITESPACE_ONLY = "(only spaces or line breaks between the coders' spans)"
COLUMNS = ["key", "transcript", "participant", "timepoint", "code", "start", "end", "text", "coded_by",
           "not_coded_by", "settled"]  # fmt: skip


def load_disagreements(project: Project, filters: ExportFilters) -> tuple[list[Any], Texts, str, dict[str, str]]:
    """The disagreements under the filters, the texts to write them with, the project name, timepoint labels."""
    from models.agreement_report import disagreements

    coders = filters.coders or []
    if len(coders) < 2:
        raise WaveqdaError("--kind disagreements needs two or more coders: --coders A B")
    with project.read() as session:
        check_consensus(session, filters)
        transcripts = _transcripts_in_scope(session, filters)
        anonymiser = export_anonymiser(session, filters.anonymise, filters.anonymise_coders)
        name = get_setting(session, "name", "waveqda project")
        labels = {t.timepoint.key: t.timepoint.label for t in list_transcripts(session)}
    found = disagreements(project, coders, filters.codes, transcripts)
    with project.read() as session:
        layouts = load_layouts(session, {d.transcript_id for d in found}, sentences=False)
    texts = Texts(layouts, anonymiser)
    return found, texts, texts.free(name), {k: texts.free(v) for k, v in labels.items()}


def _transcripts_in_scope(session: Any, filters: ExportFilters) -> list[str] | None:
    """Transcript refs (``P01/T2``) allowed by the participant, timepoint and attribute filters."""
    if not (filters.participants or filters.timepoints or filters.attributes):
        return None
    scoped = ExportFilters(
        timepoints=filters.timepoints, participants=filters.participants, attributes=filters.attributes
    )
    refs = [f"{p}/{t}" for p, keys in sorted(interviewed(session, scoped).items()) for t in sorted(keys)]
    if not refs:
        raise WaveqdaError("no transcripts match these filters")
    return refs


def row_of(item: Any, texts: Texts) -> list[Any]:
    free = texts.free
    return [item.key, item.transcript, item.participant, item.timepoint, free(item.code), item.start, item.end,
            texts.slice(item.transcript_id, item.start, item.end), free(", ".join(item.coded_by)),
            free(", ".join(item.not_coded_by)), item.settled or ""]  # fmt: skip


def export_disagreements_table(
    project: Project, out_path: Path, filters: ExportFilters, progress: Progress | None = None
) -> Path:
    found, texts, name, _labels = load_disagreements(project, filters)
    facts = [("Project", name), ("Coders", texts.free(", ".join(filters.coders or []))),
             ("Filters", "; ".join(filters.describe()))]  # fmt: skip
    write_table(out_path, COLUMNS, (row_of(d, texts) for d in found), "Disagreements", facts, len(found), progress)
    return out_path


def export_disagreements_docx(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    large_print: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Agreement per code first, then the list grouped by transcript in meeting order: each item the
    sentence around the disputed text with the disputed part marked, its code, who coded it, any decision."""
    from models.agreement_report import agreement_report

    found, texts, name, labels = load_disagreements(project, filters)
    blank = [d for d in found if not d.text.strip()]
    items = [d for d in found if d.text.strip()]
    with project.read() as session:
        layouts = load_layouts(session, {d.transcript_id for d in items}, sentences=True)
    figures = agreement_report(project, filters.coders or [], filters.codes, _transcripts_scope(project, filters))
    report = new_report(f"{name}: disagreements", large_print)
    pending = sum(1 for d in items if not d.settled)
    facts = [("Made on", made_on()), ("Coders", joined([texts.free(c) for c in filters.coders or []])),
             ("Filters", "; ".join(filters.describe())),
             ("Stretches", f"{len(items)} ({pending} not settled yet)")]  # fmt: skip
    if blank:
        facts.append(("Not listed", f"{plural(len(blank), 'stretch', 'stretches')} of only spaces or line breaks "
                                    "between the coders' spans"))  # fmt: skip
    facts.append(("Settling", "waveqda disagreements lists every item with the key that waveqda consensus takes"))
    title_page(report, name, "Disagreements for the consensus meeting", facts)
    report.contents()
    report.page_break()
    agreement_table(report, figures, texts)
    by_transcript: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        by_transcript[item.transcript].append(item)
    if not items:
        report.paragraph("The coders agree everywhere in this selection: nothing to discuss.")
    number = 0
    for done, (transcript, group) in enumerate(by_transcript.items(), 1):
        report.heading(f"{transcript} · {labels.get(group[0].timepoint, '')}", 1)
        for item in group:
            number += 1
            write_item(report, texts, layouts[item.transcript_id], item, number)
        if progress:
            progress(done, len(by_transcript), transcript)
    report.finish(out_path)
    return out_path


def _transcripts_scope(project: Project, filters: ExportFilters) -> list[str] | None:
    with project.read() as session:
        return _transcripts_in_scope(session, filters)


def agreement_table(report: Report, figures: Any, texts: Texts) -> None:
    """Percentage agreement and Cohen's kappa per code (characters, pooled over the transcripts)."""
    report.heading("Agreement per code", 1)
    report.paragraph(
        "Agreement on characters, pooled over the transcripts in this selection (as NVivo computes it): "
        "percentage of characters both coders treated alike, and Cohen's kappa (0.61–0.80 substantial, above "
        "0.80 almost perfect).",
        style=SMALL_STYLE,
        keep_next=True,
    )

    def shown(estimate: Any, percent: bool = False) -> str:
        if estimate.value is None:
            return "not defined"
        value = estimate.value + 0.0 if abs(estimate.value) >= 0.005 else 0.0  # no "-0.00"
        return f"{value:.1f}%" if percent else f"{value:.2f}"

    rows = []
    for rollup in figures.per_code:
        pooled = rollup.figures[0].values
        rows.append([texts.free(rollup.label), shown(pooled["percent_agreement"], True), shown(pooled["kappa"])])
    overall = figures.overall[0].values
    rows.append(["All codes", shown(overall["percent_agreement"], True), shown(overall["kappa"])])
    if report.look.large:
        for label, percent, kappa in rows:
            report.paragraph(f"{percent} agreement, kappa {kappa}", bold_prefix=f"{label}: ")
        return
    report.table(["Code", "Agreement", "Kappa"], rows, [report.usable_width_cm() - 6.0, 3.0, 3.0], style=CELL_STYLE,
                 bold_first=[False] * (len(rows) - 1) + [True])  # fmt: skip


def write_item(report: Report, texts: Texts, layout: Any, item: Any, number: int) -> None:
    """The sentence(s) around the disputed text, the disputed part bold and underlined, then who coded it."""
    start, end = layout.context(item.start, item.end, "sentence")
    para = report.new_paragraph(QUOTE_STYLE)
    before = unmark(texts.slice(item.transcript_id, start, item.start))
    disputed = unmark(texts.slice(item.transcript_id, item.start, item.end))
    after = unmark(texts.slice(item.transcript_id, item.end, end))
    add_run(para, f"{number}. ", bold=True)
    if before:
        add_run(para, before)
    add_run(para, disputed, bold=True, underline=True)
    if after:
        add_run(para, after)
    report.account(f"{number}. {before}{disputed}{after}", QUOTE_STYLE, keep_next=True)
    who = f"coded by {joined(item.coded_by)}; not by {joined(item.not_coded_by)}"
    decision = f" · settled: {item.settled}" if item.settled else ""
    report.paragraph(texts.free(f"{item.code} · {who}{decision}"), style=LABEL_STYLE)
