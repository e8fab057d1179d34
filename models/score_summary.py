"""Each measure across all its timepoints: descriptive statistics per wave, the comparison with the norm the
user entered, an omnibus test over every wave, and (with the ``waveqda[stats]`` extra) a linear mixed model.

``models.scores`` compares two waves at a time; this module answers the questions asked before that:
where do the participants stand at each wave (n, mean, SD, the 95% CI of the mean, median), how far from
the population norm (a one-sample t-test against the norm mean, and Cohen's d in units of the norm's SD),
and does anything change over the waves at all (repeated-measures ANOVA and Friedman's test, over the
participants scored at every wave). Those two drop anyone who missed a wave; the mixed model (a random
intercept per participant, timepoint as a fixed factor, REML) keeps them, which is why longitudinal studies
with attrition report it. statsmodels is optional and imported only here; without it the summary says what
it would add.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import WaveqdaError
from models.schema import Measure, Participant, Score, Timepoint

if TYPE_CHECKING:
    from models.scores import JointDisplay

MIXED_MODEL_MISSING = (
    "a linear mixed model (random intercept per participant, keeping those who missed a wave) needs the "
    "statistics extra: pip install 'waveqda[stats]'"
)


@dataclass(frozen=True)
class WaveSummary:
    """One measure at one timepoint; the ``norm_*`` fields are None when the measure has no norm entered."""

    timepoint: str
    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    median: float | None
    norm_t: float | None = None
    norm_df: int | None = None
    norm_p: float | None = None
    d_norm: float | None = None  # (mean - norm mean) / norm SD


@dataclass(frozen=True)
class Omnibus:
    """Does the measure change across all the waves? Over the participants scored at every one of them."""

    timepoints: tuple[str, ...]
    n_complete: int
    n_dropped: int
    anova_f: float | None
    anova_df1: int | None
    anova_df2: int | None
    anova_p: float | None
    partial_eta_sq: float | None
    friedman_chi2: float | None
    friedman_df: int | None
    friedman_p: float | None


@dataclass(frozen=True)
class FixedEffect:
    term: str  # "T2 vs T1"
    estimate: float
    se: float
    z: float
    p: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class MixedModel:
    """``score ~ timepoint + (1 | participant)`` fitted by REML on every score, missed waves included."""

    n_participants: int
    n_observations: int
    intercept: float
    effects: tuple[FixedEffect, ...]
    participant_variance: float
    residual_variance: float


@dataclass(frozen=True)
class MeasureSummary:
    measure: str
    norm_mean: float | None
    norm_sd: float | None
    norm_source: str
    waves: tuple[WaveSummary, ...]
    omnibus: Omnibus | None
    mixed_model: MixedModel | None
    note: str  # why the mixed model (or the omnibus test) is not there, if it is not

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(session: Session, measures: list[str] | None = None, mixed: bool = True) -> list[MeasureSummary]:
    """Every measure (or those named), with its waves in the project's timepoint order. ``mixed``: fit the
    mixed model too (statsmodels takes about 0.4 s a measure for 300 participants)."""
    known = {m.name: m for m in session.scalars(select(Measure).order_by(Measure.name))}
    chosen = measures or list(known)
    for name in chosen:
        if name not in known:
            raise WaveqdaError(f"no measure named {name!r} (known: {', '.join(known) or 'none yet'})")
    order = [(t.id, t.key) for t in session.scalars(select(Timepoint).order_by(Timepoint.position))]
    study_ids = dict(session.execute(select(Participant.id, Participant.study_id)).tuples().all())
    values: dict[tuple[int, int], dict[str, float]] = defaultdict(dict)  # (measure, timepoint) -> participant
    for score in session.scalars(select(Score)):
        values[(score.measure_id, score.timepoint_id)][study_ids[score.participant_id]] = score.value
    found = []
    for name in chosen:
        measure = known[name]
        columns = {key: values.get((measure.id, tid), {}) for tid, key in order}
        columns = {key: column for key, column in columns.items() if column}
        found.append(summarise_measure(measure, columns, mixed))
    return found


def summarise_measure(measure: Measure, columns: dict[str, dict[str, float]], mixed: bool = True) -> MeasureSummary:
    """``columns``: timepoint -> participant -> score, in timepoint order (waves with no scores left out)."""
    waves = tuple(
        wave_summary(key, list(column.values()), measure.norm_mean, measure.norm_sd) for key, column in columns.items()
    )
    notes = []
    omnibus = omnibus_test(columns) if len(columns) >= 3 else None
    if len(columns) < 3:
        notes.append("an omnibus test needs three or more timepoints with scores (for two, see the paired test)")
    model = None
    if mixed and len(columns) >= 2:
        try:
            model = mixed_model(columns)
        except ImportError:
            notes.append(MIXED_MODEL_MISSING)
        except ValueError as exc:
            notes.append(f"the mixed model could not be fitted: {exc}")
    return MeasureSummary(
        measure.name, measure.norm_mean, measure.norm_sd, measure.norm_source, waves, omnibus, model, "; ".join(notes)
    )


def wave_summary(timepoint: str, scores: list[float], norm_mean: float | None, norm_sd: float | None) -> WaveSummary:
    """Descriptives with the t-based 95% CI of the mean, and the one-sample t-test against the norm mean."""
    from scipy import stats

    n = len(scores)
    if n == 0:
        return WaveSummary(timepoint, 0, None, None, None, None, None)
    mean = sum(scores) / n
    median = statistics.median(scores)
    if n < 2:
        return WaveSummary(timepoint, n, mean, None, None, None, median)
    sd = statistics.stdev(scores)
    se = sd / math.sqrt(n)
    half = float(stats.t.ppf(0.975, n - 1)) * se
    norm_t = norm_p = d_norm = None
    if norm_mean is not None and se > 0:
        norm_t = (mean - norm_mean) / se
        norm_p = float(2 * stats.t.sf(abs(norm_t), n - 1))
    if norm_mean is not None and norm_sd:
        d_norm = (mean - norm_mean) / norm_sd
    return WaveSummary(
        timepoint,
        n,
        mean,
        sd,
        mean - half,
        mean + half,
        median,
        norm_t,
        n - 1 if norm_t is not None else None,
        norm_p,
        d_norm,
    )


def omnibus_test(columns: dict[str, dict[str, float]]) -> Omnibus:
    """Repeated-measures ANOVA (sphericity assumed; the partial eta squared of time) and Friedman's test,
    both over the participants scored at every wave."""
    from scipy import stats

    keys = tuple(columns)
    everyone = set().union(*(set(c) for c in columns.values()))
    complete = sorted(set.intersection(*(set(c) for c in columns.values())))
    k, n = len(keys), len(complete)
    rows = [[columns[key][p] for key in keys] for p in complete]
    empty = Omnibus(keys, n, len(everyone) - n, *([None] * 8))
    if n < 2:
        return empty
    grand = sum(map(sum, rows)) / (n * k)
    wave_means = [sum(row[j] for row in rows) / n for j in range(k)]
    person_means = [sum(row) / k for row in rows]
    ss_time = n * sum((m - grand) ** 2 for m in wave_means)
    ss_people = k * sum((m - grand) ** 2 for m in person_means)
    ss_total = sum((v - grand) ** 2 for row in rows for v in row)
    ss_error = ss_total - ss_time - ss_people
    df1, df2 = k - 1, (k - 1) * (n - 1)
    f = p = eta = None
    if ss_error > 1e-12 * max(ss_total, 1.0):
        f = (ss_time / df1) / (ss_error / df2)
        p = float(stats.f.sf(f, df1, df2))
        eta = ss_time / (ss_time + ss_error)
    chi2 = friedman_p = None
    if any(len(set(row)) > 1 for row in rows):
        friedman = stats.friedmanchisquare(*([row[j] for row in rows] for j in range(k)))
        chi2, friedman_p = float(friedman.statistic), float(friedman.pvalue)
    return Omnibus(keys, n, len(everyone) - n, f, df1, df2, p, eta, chi2, k - 1, friedman_p)


def mixed_model(columns: dict[str, dict[str, float]]) -> MixedModel:
    """``score ~ C(timepoint) + (1 | participant)`` by REML (statsmodels' MixedLM); every score is used, so a
    participant who missed a wave still counts at the waves they attended. Raises ImportError without
    statsmodels, ValueError when the model cannot be fitted (too few participants)."""
    import warnings

    import pandas as pd
    import statsmodels.formula.api as smf

    keys = list(columns)
    rows = [(participant, key, value) for key in keys for participant, value in columns[key].items()]
    participants = {r[0] for r in rows}
    if len(participants) < 3:
        raise ValueError("fewer than three participants")
    frame = pd.DataFrame(rows, columns=["participant", "timepoint", "score"])
    frame["timepoint"] = pd.Categorical(frame["timepoint"], categories=keys)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter: the estimates are reported either way
        fit = smf.mixedlm("score ~ C(timepoint)", frame, groups=frame["participant"]).fit(reml=True)
    params, errors, pvalues, tvalues = fit.fe_params, fit.bse_fe, fit.pvalues, fit.tvalues
    intervals = fit.conf_int()
    effects = []
    for key in keys[1:]:
        term = f"C(timepoint)[T.{key}]"
        effects.append(
            FixedEffect(
                f"{key} vs {keys[0]}",
                float(params[term]),
                float(errors[term]),
                float(tvalues[term]),
                float(pvalues[term]),
                float(intervals.loc[term, 0]),
                float(intervals.loc[term, 1]),
            )
        )
    return MixedModel(
        len(participants),
        len(rows),
        float(params["Intercept"]),
        tuple(effects),
        float(fit.cov_re.iloc[0, 0]),
        float(fit.scale),
    )


@dataclass(frozen=True)
class ScoresView:
    """What the workspace's Scores screen shows for one measure: every measure's name (to switch between
    them), the joint display over the codebook's top-level themes, and each timepoint's summary."""

    measures: tuple[str, ...]
    measure: str
    themes: tuple[str, ...]
    joint: JointDisplay
    summary: MeasureSummary | None


def scores_view(session: Session, measure: str | None = None) -> ScoresView | None:
    """None when the project has no measures yet; ``measure`` defaults to the first by name."""
    from models.codes import CodeTree
    from models.scores import joint_display

    names = tuple(session.scalars(select(Measure.name).order_by(Measure.name)))
    if not names:
        return None
    chosen = measure if measure in names else names[0]
    tree = CodeTree.load(session, include_archived=False)
    themes = tuple(tree.codes[code_id].name for code_id in tree.children.get(None, []))
    joint = joint_display(session, chosen, list(themes))
    [summary] = summarise(session, [chosen], mixed=False)
    return ScoresView(names, chosen, themes, joint, summary)
