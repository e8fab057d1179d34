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
import statistics
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
    higher_is: str | None = None,
    norm_mean: float | None = None,
    norm_sd: float | None = None,
    norm_source: str | None = None,
    reliability: float | None = None,
) -> int:
    """Describe a measure; for one already described, what is given replaces what was there and the rest is
    kept (so ``--reliability 0.89`` alone adds the reliability). Returns its id."""
    name = check_name_text(name, "measure name")
    if higher_is not in (None, "better", "worse"):
        raise WaveqdaError(f"--higher-is {higher_is!r}: use better or worse")
    if reliability is not None and not 0 < reliability < 1:
        raise WaveqdaError(f"measure {name!r}: --reliability must be between 0 and 1 (e.g. 0.89)")
    with project.change(actor, "measure.add", f"Described measure {name!r}") as session:
        measure = session.scalar(select(Measure).where(Measure.name == name))
        if measure is None:
            measure = Measure(name=name, higher_is="better", norm_source="")
            session.add(measure)
        given = {
            "min_value": min_value, "max_value": max_value, "higher_is": higher_is, "norm_mean": norm_mean,
            "norm_sd": norm_sd, "norm_source": norm_source.strip() if norm_source is not None else None,
            "reliability": reliability,
        }  # fmt: skip
        for field_name, value in given.items():
            if value is not None:
                setattr(measure, field_name, value)
        low, high = measure.min_value, measure.max_value
        if low is not None and high is not None and low >= high:
            raise WaveqdaError(f"measure {name!r}: --min {low:g} must be below --max {high:g}")
        if (measure.norm_mean is None) != (measure.norm_sd is None):
            raise WaveqdaError(f"measure {name!r}: give both --norm-mean and --norm-sd, with --norm-source")
        session.flush()
        return measure.id


@dataclass(frozen=True)
class ScoreImport:
    file: str
    stored: int
    replaced: int
    unknown_participants: tuple[str, ...]
    not_scored: int = 0  # with a scoring spec: row x measure left empty (too few items answered)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_names(session: Session) -> list[str]:
    """Every measure described in the project, by name (the site's joint display lists them all)."""
    return list(session.scalars(select(Measure.name).order_by(Measure.name)))


def import_scores(project: Project, actor: str, path: Path, scoring: Path | None = None) -> ScoreImport:
    """Scores from a long (``participant, timepoint, measure, score``) or wide (``participant, timepoint, <one
    column per measure>``) CSV or XLSX. Every value is checked first; one bad value refuses the whole file in
    one line naming file, row and column. Participants the project does not know are reported, not invented.
    With ``scoring`` (a TOML spec, ``models.item_scoring``) the file holds item answers and the measures are
    scored from them first."""
    header, rows = _read_table(path)
    not_scored = 0
    if scoring is not None:
        from models import item_scoring

        scored = item_scoring.score_rows(path, header, rows, item_scoring.load_spec(scoring))
        header, rows, not_scored = scored.header, scored.rows, scored.not_scored
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
    return ScoreImport(path.name, stored, replaced, tuple(unknown), not_scored)


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
    """The sample SD, 0 for fewer than two values (nothing to spread)."""
    return statistics.stdev(values) if len(values) >= 2 else 0.0


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


# --------------------------------------------------------------------------------------------- reliable change


@dataclass(frozen=True)
class ReliableChange:
    """One participant's change on a measure between two timepoints, by Jacobson and Truax (1991): the
    reliable change index is the difference over the standard error of a difference,
    ``S_diff = sqrt(2) * SD * sqrt(1 - reliability)``; beyond +/-1.96 the change is reliable, and the measure's
    direction says whether it is better or worse."""

    participant: str
    measure: str
    from_: str
    to: str
    score_from: float
    score_to: float
    difference: float
    rci: float
    category: str  # "reliably better", "no reliable change", "reliably worse"

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["from"] = found.pop("from_")
        return found


def reliable_change(session: Session, measure_name: str, first: str, second: str) -> list[ReliableChange]:
    """Every participant scored at both timepoints. The SD is the measure's norm SD when one was entered,
    else the SD of all participants' scores at ``first``; the measure needs its reliability."""
    measure = session.scalar(select(Measure).where(Measure.name == measure_name))
    if measure is None:
        raise WaveqdaError(f"no measure named {measure_name!r}")
    if measure.reliability is None:
        raise WaveqdaError(
            f"measure {measure.name!r} has no reliability: set it with waveqda measure add PROJECT "
            f"{measure.name} --reliability R"
        )
    keys = {t.key: t.id for t in session.scalars(select(Timepoint))}
    for key in (first, second):
        if key not in keys:
            raise WaveqdaError(f"unknown timepoint {key!r}")
    study = {p.id: p.study_id for p in session.scalars(select(Participant))}
    at: dict[int, dict[int, float]] = defaultdict(dict)
    for score in session.scalars(select(Score).where(Score.measure_id == measure.id)):
        at[score.timepoint_id][score.participant_id] = score.value
    a, b = at[keys[first]], at[keys[second]]
    sd = measure.norm_sd if measure.norm_sd is not None else _sd(list(a.values()))
    if not sd:
        raise WaveqdaError(f"measure {measure.name!r}: no spread of scores at {first} to judge change by")
    s_diff = math.sqrt(2) * sd * math.sqrt(1 - measure.reliability)
    out = []
    for pid in sorted(set(a) & set(b), key=lambda p: study[p]):
        difference = b[pid] - a[pid]
        rci = difference / s_diff
        if abs(rci) <= 1.96:
            category = "no reliable change"
        else:
            up_is_better = measure.higher_is == "better"
            category = "reliably better" if (rci > 0) == up_is_better else "reliably worse"
        out.append(ReliableChange(study[pid], measure.name, first, second, a[pid], b[pid], difference, rci, category))
    return out


# --------------------------------------------------------------------------------------------- joint display


@dataclass(frozen=True)
class ThemeCourse:
    code: str
    pattern: str  # one mark per timepoint: + present, - absent, ? not coded yet, . not interviewed
    statuses: tuple[str, ...]
    quote: str  # a key quote (else the first passage) at the later timepoint, "" when none


@dataclass(frozen=True)
class ParticipantRow:
    participant: str
    scores: dict[str, float | None]  # timepoint -> score
    change: ReliableChange | None
    themes: tuple[ThemeCourse, ...]


@dataclass(frozen=True)
class ThemeRow:
    code: str
    timepoint: str
    voiced_by: dict[str, int]  # change category -> participants voicing the theme at this timepoint
    of: dict[str, int]  # change category -> participants in it


@dataclass(frozen=True)
class TimepointRow:
    timepoint: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    voicing: dict[str, float]  # code -> share of the participants interviewed then who voiced it


@dataclass(frozen=True)
class JointDisplay:
    measure: str
    from_: str
    to: str
    participants: tuple[ParticipantRow, ...]
    themes: tuple[ThemeRow, ...]
    timepoints: tuple[TimepointRow, ...]

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["from"] = found.pop("from_")
        for row in found["participants"]:
            if row["change"] is not None:
                row["change"]["from"] = row["change"].pop("from_")
        return found


CATEGORIES = ("reliably better", "no reliable change", "reliably worse")


def joint_display(
    session: Session, measure_name: str, codes: list[str], first: str | None = None, second: str | None = None
) -> JointDisplay:
    """Scores beside themes (issue 17's joint displays): (1) per participant, the scores, the reliable change
    between ``first`` and ``second`` (default: the first and last timepoints) and each theme's course with a
    quote at ``second``; (2) per theme and timepoint, how many participants voiced it in each change category;
    (3) per timepoint, the mean score with its 95% CI beside the share of participants voicing each theme."""
    from models.queries.presence import trajectories

    order = [t.key for t in session.scalars(select(Timepoint).order_by(Timepoint.position))]
    first, second = first or order[0], second or order[-1]
    measure = session.scalar(select(Measure).where(Measure.name == measure_name))
    if measure is None:
        raise WaveqdaError(f"no measure named {measure_name!r}")
    changes = {c.participant: c for c in reliable_change(session, measure_name, first, second)}
    by_code = {code: {t.participant: t for t in trajectories(session, code)} for code in codes}
    study = {p.id: p.study_id for p in session.scalars(select(Participant))}
    keys = {t.id: t.key for t in session.scalars(select(Timepoint))}
    values: dict[str, dict[str, float]] = defaultdict(dict)
    for score in session.scalars(select(Score).where(Score.measure_id == measure.id)):
        values[study[score.participant_id]][keys[score.timepoint_id]] = score.value
    everyone = sorted(set(values) | {p for found in by_code.values() for p in found})
    rows = tuple(
        ParticipantRow(
            participant,
            {key: values[participant].get(key) for key in order},
            changes.get(participant),
            tuple(_course(code, by_code[code].get(participant), order, second) for code in codes),
        )
        for participant in everyone
    )
    return JointDisplay(
        measure_name, first, second, rows, _theme_rows(codes, order, rows), _timepoint_rows(order, values, rows)
    )


def _course(code: str, trajectory: Any, order: list[str], second: str) -> ThemeCourse:
    if trajectory is None:
        return ThemeCourse(code, "." * len(order), tuple("not interviewed" for _ in order), "")
    statuses = tuple(point.status for point in trajectory.points)
    quote = ""
    for point in trajectory.points:
        if point.timepoint == second and point.segments:
            chosen = next((s for s in point.segments if s.key_quote), point.segments[0])
            quote = chosen.text
    return ThemeCourse(code, trajectory.pattern, statuses, quote)


def _theme_rows(codes: list[str], order: list[str], rows: tuple[ParticipantRow, ...]) -> tuple[ThemeRow, ...]:
    out = []
    for index, code in enumerate(codes):
        for position, key in enumerate(order):
            voiced = dict.fromkeys(CATEGORIES, 0)
            of = dict.fromkeys(CATEGORIES, 0)
            for row in rows:
                if row.change is None:
                    continue
                of[row.change.category] += 1
                if row.themes[index].pattern[position] == "+":
                    voiced[row.change.category] += 1
            out.append(ThemeRow(code, key, voiced, of))
    return tuple(out)


def _timepoint_rows(
    order: list[str], values: dict[str, dict[str, float]], rows: tuple[ParticipantRow, ...]
) -> tuple[TimepointRow, ...]:
    from scipy import stats

    out = []
    for position, key in enumerate(order):
        found = [v[key] for v in values.values() if key in v]
        n = len(found)
        mean = sum(found) / n if n else None
        low = high = None
        if n >= 2 and mean is not None:
            half = float(stats.t.ppf(0.975, n - 1)) * _sd(found) / math.sqrt(n)
            low, high = mean - half, mean + half
        voicing: dict[str, float] = {}
        codes = [course.code for course in rows[0].themes] if rows else []
        for index, code in enumerate(codes):
            interviewed = [row for row in rows if row.themes[index].pattern[position] in "+-"]
            voiced = [row for row in interviewed if row.themes[index].pattern[position] == "+"]
            voicing[code] = len(voiced) / len(interviewed) if interviewed else 0.0
        out.append(TimepointRow(key, n, mean, low, high, voicing))
    return tuple(out)
