"""Questionnaire measures and scores, and how scores change between timepoints (issue 17, first part).

The same participants are interviewed and fill in questionnaires at each timepoint, so change is within
person: paired tests between two waves (a t-test with the confidence interval of the mean difference, and
Wilcoxon's signed-rank test), with effect sizes labelled by kind (``d_z``: mean difference over the SD of the
differences; ``g_av``: mean difference over the mean of the two waves' SDs, with Hedges' small-sample
correction, Lakens 2013, Frontiers in Psychology 4:863), Holm's correction across every measure and pair shown,
and the numbers of pairs and of participants dropped for a missing wave stated. scipy is imported only here,
when a comparison is asked for.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import WaveqdaError
from models.naming import check_name_text
from models.schema import Measure, Participant, Score, Timepoint, utcnow
from models.store import Project

LONG_COLUMNS = ("participant", "timepoint", "measure", "score")


def add_measure(
    project: Project,
    actor: str,
    name: str,
    min_value: float | None = None,
    max_value: float | None = None,
    higher_is: str = "better",
    norm_mean: float | None = None,
    norm_sd: float | None = None,
    norm_source: str = "",
    reliability: float | None = None,
) -> int:
    """Describe a measure (or redescribe one of that name); returns its id."""
    name = check_name_text(name, "measure name")
    if higher_is not in ("better", "worse"):
        raise WaveqdaError(f"--higher-is {higher_is!r}: use better or worse")
    if min_value is not None and max_value is not None and min_value >= max_value:
        raise WaveqdaError(f"measure {name!r}: --min {min_value:g} must be below --max {max_value:g}")
    if reliability is not None and not 0 < reliability < 1:
        raise WaveqdaError(f"measure {name!r}: --reliability must be between 0 and 1 (e.g. 0.89)")
    if (norm_mean is None) != (norm_sd is None):
        raise WaveqdaError(f"measure {name!r}: give both --norm-mean and --norm-sd, with --norm-source")
    with project.change(actor, "measure.add", f"Described measure {name!r}") as session:
        measure = session.scalar(select(Measure).where(Measure.name == name)) or Measure(name=name)
        measure.min_value, measure.max_value, measure.higher_is = min_value, max_value, higher_is
        measure.norm_mean, measure.norm_sd, measure.norm_source = norm_mean, norm_sd, norm_source.strip()
        measure.reliability = reliability
        session.add(measure)
        session.flush()
        return measure.id


@dataclass(frozen=True)
class ScoreImport:
    file: str
    stored: int
    replaced: int
    unknown_participants: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_scores(project: Project, actor: str, path: Path) -> ScoreImport:
    """Scores from a long (``participant, timepoint, measure, score``) or wide (``participant, timepoint, <one
    column per measure>``) CSV or XLSX. Every value is checked first; one bad value refuses the whole file in
    one line naming file, row and column. Participants the project does not know are reported, not invented."""
    header, rows = _read_table(path)
    with project.change(actor, "scores.import") as session:
        measures = {m.name: m for m in session.scalars(select(Measure))}
        participants = {p.study_id: p.id for p in session.scalars(select(Participant))}
        timepoints = {t.key: t.id for t in session.scalars(select(Timepoint))}
        values = list(_values(path, header, rows, measures, timepoints))
        unknown = sorted({study for study, *_ in values if study not in participants})
        existing = {
            (s.participant_id, s.timepoint_id, s.measure_id): s
            for s in session.scalars(select(Score).where(Score.participant_id.in_(list(participants.values()))))
        }
        stored = replaced = 0
        for study, timepoint_id, measure, value in values:
            if study not in participants:
                continue
            key = (participants[study], timepoint_id, measure.id)
            row = existing.get(key)
            if row is None:
                row = Score(participant_id=key[0], timepoint_id=timepoint_id, measure_id=measure.id, value=value)
                session.add(row)
                existing[key] = row
                stored += 1
            elif row.value != value:
                row.value, row.updated_at = value, utcnow()
                replaced += 1
        session.info["summary"] = f"Imported {stored} score(s) ({replaced} replaced) from {path.name}"
    return ScoreImport(path.name, stored, replaced, tuple(unknown))


def _read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise WaveqdaError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".xlsx":
            from openpyxl import load_workbook

            sheet = load_workbook(path, read_only=True, data_only=True).active
            if sheet is None:
                raise WaveqdaError(f"{path.name}: the workbook has no sheet")
            table = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        else:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                table = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError) as exc:
        raise WaveqdaError(f"{path.name}: cannot read it as a table ({exc})") from exc
    if not table:
        raise WaveqdaError(f"{path.name}: the file is empty")
    return [h.strip().lower() for h in table[0]], [row for row in table[1:] if any(c.strip() for c in row)]


def _values(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    measures: dict[str, Measure],
    timepoints: dict[str, int],
) -> Any:
    """(study id, timepoint id, measure, value) for every non-empty score, checked."""
    for required in ("participant", "timepoint"):
        if required not in header:
            raise WaveqdaError(f"{path.name}: no {required!r} column (columns: {', '.join(header)})")
    long = all(c in header for c in LONG_COLUMNS)
    measure_columns = (
        [("score", None)] if long else [(c, c) for c in header if c not in ("participant", "timepoint") and c]
    )
    by_lower = {name.lower(): m for name, m in measures.items()}
    for column, name in measure_columns:
        if name is not None and name not in by_lower:
            raise WaveqdaError(
                f"{path.name}: column {column!r} is not a known measure: describe it first with "
                f"waveqda measure add PROJECT {column} --min ... --max ..."
            )
    where = {c: header.index(c) for c in header}
    for number, row in enumerate(rows, start=2):

        def cell(column: str, row: list[str] = row) -> str:
            return row[where[column]].strip() if where[column] < len(row) else ""

        study, key = cell("participant"), cell("timepoint")
        if key not in timepoints:
            raise WaveqdaError(f"{path.name}: row {number}, column 'timepoint': unknown timepoint {key!r}")
        for column, name in measure_columns:
            raw = cell(column)
            if not raw:
                continue  # a missing wave
            measure_name = cell("measure") if long else name
            measure = by_lower.get((measure_name or "").lower())
            if measure is None:
                raise WaveqdaError(f"{path.name}: row {number}, column 'measure': unknown measure {measure_name!r}")
            value = _number(path, number, column, raw)
            low, high = measure.min_value, measure.max_value
            if (low is not None and value < low) or (high is not None and value > high):
                raise WaveqdaError(
                    f"{path.name}: row {number}, column {column!r}: {raw} is outside {measure.name}'s range "
                    f"{low:g}-{high:g}"
                    if low is not None and high is not None
                    else f"{path.name}: row {number}, column {column!r}: {raw} is outside {measure.name}'s range"
                )
            yield study, timepoints[key], measure, value


def _number(path: Path, row: int, column: str, raw: str) -> float:
    try:
        value = float(raw.replace(",", ".")) if raw.count(",") == 1 and "." not in raw else float(raw)
    except ValueError:
        raise WaveqdaError(f"{path.name}: row {row}, column {column!r}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise WaveqdaError(f"{path.name}: row {row}, column {column!r}: {raw!r} is not a number")
    return value


# --------------------------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class PairedComparison:
    """One measure between two timepoints (the ``--json`` keys are a contract)."""

    measure: str
    from_: str
    to: str
    n_pairs: int
    n_dropped: int
    mean_from: float | None
    mean_to: float | None
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    df: int | None
    p: float | None
    p_holm: float | None
    wilcoxon_w: float | None
    wilcoxon_p: float | None
    d_z: float | None
    g_av: float | None

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["from"] = found.pop("from_")
        return found


def compare(session: Session, measures: list[str] | None = None) -> list[PairedComparison]:
    """Every measure (or those named) between every pair of the project's timepoints, in timepoint order."""
    known = {m.name: m for m in session.scalars(select(Measure).order_by(Measure.name))}
    chosen = measures or list(known)
    for name in chosen:
        if name not in known:
            raise WaveqdaError(f"no measure named {name!r} (known: {', '.join(known) or 'none yet'})")
    order = [(t.id, t.key) for t in session.scalars(select(Timepoint).order_by(Timepoint.position))]
    values: dict[tuple[int, int], dict[int, float]] = defaultdict(dict)  # (measure, timepoint) -> participant
    for score in session.scalars(select(Score)):
        values[(score.measure_id, score.timepoint_id)][score.participant_id] = score.value
    raw: list[PairedComparison] = []
    for name in chosen:
        measure = known[name]
        for (first_id, first), (second_id, second) in combinations(order, 2):
            a, b = values.get((measure.id, first_id), {}), values.get((measure.id, second_id), {})
            raw.append(paired(name, first, second, a, b))
    return _with_holm(raw)


def paired(measure: str, first: str, second: str, a: dict[int, float], b: dict[int, float]) -> PairedComparison:
    """The paired statistics of the participants scored at both waves."""
    both = sorted(set(a) & set(b))
    dropped = len(set(a) ^ set(b))
    x = [a[p] for p in both]
    y = [b[p] for p in both]
    n = len(both)
    empty = PairedComparison(measure, first, second, n, dropped, *([None] * 13))
    if n < 2:
        return empty
    from scipy import stats

    diffs = [v - u for u, v in zip(x, y, strict=True)]
    mean_diff = sum(diffs) / n
    sd_diff = _sd(diffs)
    t_value = p_value = ci_low = ci_high = d_z = None
    if sd_diff > 0:
        result = stats.ttest_rel(y, x)
        t_value, p_value = float(result.statistic), float(result.pvalue)
        half = float(stats.t.ppf(0.975, n - 1)) * sd_diff / math.sqrt(n)
        ci_low, ci_high = mean_diff - half, mean_diff + half
        d_z = mean_diff / sd_diff
    w_value = w_p = None
    if any(d != 0 for d in diffs):
        wilcoxon = stats.wilcoxon(y, x)
        w_value, w_p = float(wilcoxon.statistic), float(wilcoxon.pvalue)
    sd_av = (_sd(x) + _sd(y)) / 2
    g_av = (mean_diff / sd_av) * (1 - 3 / (4 * (2 * n) - 9)) if sd_av > 0 else None
    return PairedComparison(
        measure, first, second, n, dropped, sum(x) / n, sum(y) / n, mean_diff, ci_low, ci_high, t_value,
        n - 1, p_value, None, w_value, w_p, d_z, g_av,
    )  # fmt: skip


def _sd(values: list[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def _with_holm(found: list[PairedComparison]) -> list[PairedComparison]:
    """Holm's step-down adjustment over every comparison that has a p value."""
    tested = sorted((c.p, i) for i, c in enumerate(found) if c.p is not None)
    adjusted: dict[int, float] = {}
    running = 0.0
    m = len(tested)
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    out = []
    for i, c in enumerate(found):
        values = asdict(c)
        values["p_holm"] = adjusted.get(i)
        out.append(PairedComparison(**values))
    return out
