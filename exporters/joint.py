"""Scores beside themes as a file: the joint display of issue 17 in CSV/XLSX (this module) and in Word
(``exporters.word_joint``), read once here for both.

The themes are the codes named with ``--codes`` (each with its sub-codes), else the codebook's top-level
codes; the measures those named with ``--measure``, else every measure. Change is between the first and the
last timepoint shown. With ``--anonymise`` the quotes and memo-like text go through the same register as
every other export; participants are only ever named by their study IDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from exporters.filters import ExportFilters
from exporters.word_common import Progress
from models.codes import CodeTree
from models.errors import WaveqdaError
from models.names import export_anonymiser
from models.schema import Measure, Timepoint
from models.score_summary import MeasureSummary, summarise
from models.scores import JointDisplay, joint_display
from models.store import Project, get_setting

# How the methods are named. An anonymised export is checked for names before it is written, and the
# check cannot tell a statistician's name from a person's, so there the methods are described instead.
METHOD_NAMES = {
    "friedman": ("Friedman", "rank test for repeated measures"),
    "reliable": ("reliable by Jacobson and Truax (1991)", "reliable by the reliable change index"),
    "rci": ("Jacobson and Truax (1991)", "the reliable change index"),
}


def method(key: str, anonymise: bool) -> str:
    return METHOD_NAMES[key][1 if anonymise else 0]


@dataclass(frozen=True)
class JointData:
    project_name: str
    timepoints: tuple[tuple[str, str], ...]  # (key, label), in order
    themes: tuple[str, ...]
    displays: tuple[JointDisplay, ...]  # one per measure, quotes anonymised when asked
    summaries: tuple[MeasureSummary, ...]
    filters: ExportFilters


def load_joint(project: Project, filters: ExportFilters, measures: list[str] | None) -> JointData:
    """Every joint display the report shows, in one read."""
    import dataclasses

    with project.read() as session:
        known = list(session.scalars(select(Measure.name).order_by(Measure.name)))
        if not known:
            raise WaveqdaError("no questionnaire measures yet: add them with 'waveqda measure add' and import scores")
        chosen = measures or known
        timepoints = tuple((t.key, t.label) for t in session.scalars(select(Timepoint).order_by(Timepoint.position)))
        keys = [key for key, _ in timepoints if not filters.timepoints or key in filters.timepoints]
        if len(keys) < 2:
            raise WaveqdaError("a joint display needs two or more timepoints")
        themes = tuple(filters.codes or _top_level_codes(session))
        if not themes:
            raise WaveqdaError("no codes to set beside the scores: name some with --codes")
        anonymiser = export_anonymiser(session, filters.anonymise, filters.anonymise_coders)
        displays = []
        for name in chosen:
            display = joint_display(session, name, list(themes), keys[0], keys[-1])
            rows = tuple(
                dataclasses.replace(
                    row,
                    themes=tuple(
                        dataclasses.replace(c, quote=anonymiser.replace(c.quote) if anonymiser else c.quote)
                        for c in row.themes
                    ),
                )
                for row in display.participants
                if not filters.participants or row.participant in filters.participants
            )
            displays.append(dataclasses.replace(display, participants=rows))
        summaries = tuple(summarise(session, chosen))
        name = get_setting(session, "name") or "waveqda project"
    return JointData(name, timepoints, themes, tuple(displays), summaries, filters)


def _top_level_codes(session: Any) -> list[str]:
    tree = CodeTree.load(session, include_archived=False)
    return [tree.codes[code_id].name for code_id in tree.children.get(None, [])]


def joint_headers(data: JointData) -> list[str]:
    keys = [key for key, _ in data.timepoints]
    return [
        "measure", "participant", *(f"score {k}" for k in keys), "change from", "change to", "difference",
        "reliable change index", "category", *(f"{theme} course" for theme in data.themes),
        *(f"{theme} quote" for theme in data.themes),
    ]  # fmt: skip


def joint_rows(data: JointData) -> list[list[Any]]:
    keys = [key for key, _ in data.timepoints]
    rows = []
    for display in data.displays:
        for row in display.participants:
            change = row.change
            rows.append(
                [
                    display.measure,
                    row.participant,
                    *(row.scores.get(k) for k in keys),
                    display.from_,
                    display.to,
                    None if change is None else change.difference,
                    None if change is None else round(change.rci, 4),
                    "not computed" if change is None else change.category,
                    *(course.pattern for course in row.themes),
                    *(course.quote for course in row.themes),
                ]  # fmt: skip
            )
    return rows


def export_joint_table(
    project: Project,
    out_path: Path,
    filters: ExportFilters,
    measures: list[str] | None = None,
    progress: Progress | None = None,
) -> Path:
    """One row per measure and participant: scores, reliable change, each theme's course and its quote."""
    from exporters.tabular import write_table

    data = load_joint(project, filters, measures)
    rows = joint_rows(data)
    facts: list[tuple[str, Any]] = [
        ("Project", data.project_name),
        ("Made on", date.today()),
        ("Filters", "; ".join(filters.describe())),
        ("Courses", "a mark per timepoint: + voiced, - interviewed, not voiced, ? not coded yet, . not interviewed"),
        ("Reliable change", f"{method('rci', filters.anonymise)} from the measure's SD and reliability; beyond 1.96"),
    ]  # fmt: skip
    write_table(out_path, joint_headers(data), rows, "Joint display", facts, len(rows), progress)
    return out_path
