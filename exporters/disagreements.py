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
from exporters.word_common import LABEL_STYLE, QUOTE_STYLE, Progress, new_report, title_page
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
    """The list grouped by transcript in meeting order: text, code, who coded it, decision, key."""
    from datetime import date

    found, texts, name, labels = load_disagreements(project, filters)
    report = new_report(f"{name}: disagreements", large_print)
    pending = sum(1 for d in found if not d.settled)
    facts = [("Made on", date.today().isoformat()), ("Coders", texts.free(", ".join(filters.coders or []))),
             ("Filters", "; ".join(filters.describe())),
             ("Stretches", f"{len(found)} ({pending} not settled yet)")]  # fmt: skip
    title_page(report, name, "Disagreements for the consensus meeting", facts)
    by_transcript: dict[str, list[Any]] = defaultdict(list)
    for item in found:
        by_transcript[item.transcript].append(item)
    if not found:
        report.paragraph("The coders agree everywhere in this selection: nothing to discuss.")
    for done, (transcript, items) in enumerate(by_transcript.items(), 1):
        report.heading(f"{transcript} · {labels.get(items[0].timepoint, '')}", 1)
        for item in items:
            text = texts.slice(item.transcript_id, item.start, item.end)
            if text.strip():
                report.paragraph(text, style=QUOTE_STYLE)
            else:
                report.paragraph(WHITESPACE_ONLY, style=QUOTE_STYLE).runs[0].italic = True
            who = f"coded by {', '.join(item.coded_by)}; not by {', '.join(item.not_coded_by)}"
            decision = f" · settled: {item.settled}" if item.settled else ""
            report.paragraph(texts.free(f"{item.code} · {who}{decision}\nkey {item.key}"), style=LABEL_STYLE)
        if progress:
            progress(done, len(by_transcript), transcript)
    report.finish(out_path)
    return out_path
