"""Issue 17: descriptives per timepoint, the norm comparison, the omnibus tests and the mixed model, each
checked against an independent computation (scipy, statsmodels' own ANOVA, the textbook formula)."""

from __future__ import annotations

import builtins
import json
import math
import statistics
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats
from sqlalchemy import select
from statsmodels.stats.anova import AnovaRM
from typer.testing import CliRunner

from app.cli import app
from models import score_summary
from models.errors import WaveqdaError
from models.schema import Measure
from tests.test_scores import SLEEP_1, sleep_csv, ten  # noqa: F401  (ten is a fixture)

# Six participants at three waves; P05 missed T3, P06 missed T2 (ties inside rows on purpose for P03).
SCORES = {
    "T1": {"P01": 40, "P02": 45, "P03": 50, "P04": 38, "P05": 52, "P06": 47},
    "T2": {"P01": 44, "P02": 47, "P03": 50, "P04": 43, "P05": 55},
    "T3": {"P01": 49, "P02": 46, "P03": 53, "P04": 45, "P06": 51},
}
TOL = 1e-6


def measure(norm_mean: float | None = 48.0, norm_sd: float | None = 8.0) -> Measure:
    return Measure(name="wemwbs", norm_mean=norm_mean, norm_sd=norm_sd, norm_source="Fictional norm, 2026")


def test_descriptives_and_the_norm_comparison_equal_scipys() -> None:
    summary = score_summary.summarise_measure(measure(), SCORES)
    for wave in summary.waves:
        values = list(SCORES[wave.timepoint].values())
        n = len(values)
        assert wave.n == n
        assert wave.mean == pytest.approx(statistics.fmean(values), abs=TOL)
        assert wave.sd == pytest.approx(statistics.stdev(values), abs=TOL)
        low, high = stats.t.interval(0.95, n - 1, loc=statistics.fmean(values), scale=stats.sem(values))
        assert (wave.ci_low, wave.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
        assert wave.median == statistics.median(values)
        one_sample = stats.ttest_1samp(values, 48.0)
        assert wave.norm_t == pytest.approx(one_sample.statistic, abs=TOL)
        assert wave.norm_p == pytest.approx(one_sample.pvalue, abs=TOL)
        assert wave.norm_df == n - 1
        assert wave.d_norm == pytest.approx((statistics.fmean(values) - 48.0) / 8.0, abs=TOL)


def test_no_norm_means_no_norm_statistics() -> None:
    summary = score_summary.summarise_measure(measure(None, None), SCORES)
    assert all(w.norm_t is None and w.norm_p is None and w.d_norm is None for w in summary.waves)


def test_repeated_measures_anova_equals_statsmodels_on_the_complete_participants() -> None:
    omnibus = score_summary.summarise_measure(measure(), SCORES).omnibus
    assert omnibus is not None
    complete = ["P01", "P02", "P03", "P04"]
    assert omnibus.n_complete == 4 and omnibus.n_dropped == 2
    frame = pd.DataFrame(
        [(p, t, float(SCORES[t][p])) for p in complete for t in SCORES], columns=["participant", "time", "score"]
    )
    table = AnovaRM(frame, "score", "participant", within=["time"]).fit().anova_table
    assert omnibus.anova_f == pytest.approx(table["F Value"].iloc[0], abs=TOL)
    assert omnibus.anova_df1 == table["Num DF"].iloc[0] and omnibus.anova_df2 == table["Den DF"].iloc[0]
    assert omnibus.anova_p == pytest.approx(table["Pr > F"].iloc[0], abs=TOL)


def test_friedman_equals_the_textbook_formula_without_ties_and_scipy_with_them() -> None:
    untied = {"T1": {"A": 1.0, "B": 2.0, "C": 3.0, "D": 1.5}, "T2": {"A": 2.0, "B": 3.0, "C": 1.0, "D": 2.5},
              "T3": {"A": 3.0, "B": 1.0, "C": 2.0, "D": 3.5}}  # fmt: skip
    omnibus = score_summary.omnibus_test(untied)
    n, k = 4, 3
    ranks = [[sorted(row).index(v) + 1 for v in row] for row in ([untied[t][p] for t in untied] for p in "ABCD")]
    rank_sums = [sum(row[j] for row in ranks) for j in range(k)]
    chi2 = 12 / (n * k * (k + 1)) * sum(r * r for r in rank_sums) - 3 * n * (k + 1)
    assert omnibus.friedman_chi2 == pytest.approx(chi2, abs=TOL)
    assert omnibus.friedman_p == pytest.approx(stats.chi2.sf(chi2, k - 1), abs=TOL)
    tied = score_summary.summarise_measure(measure(), SCORES).omnibus
    columns = [[SCORES[t][p] for p in ("P01", "P02", "P03", "P04")] for t in SCORES]
    expected = stats.friedmanchisquare(*columns)
    assert tied.friedman_chi2 == pytest.approx(expected.statistic, abs=TOL)
    assert tied.friedman_p == pytest.approx(expected.pvalue, abs=TOL)


def test_partial_eta_squared_is_the_share_of_time_in_time_plus_error() -> None:
    omnibus = score_summary.summarise_measure(measure(), SCORES).omnibus
    f, df1, df2 = omnibus.anova_f, omnibus.anova_df1, omnibus.anova_df2
    assert omnibus.partial_eta_sq == pytest.approx(f * df1 / (f * df1 + df2), abs=TOL)


def test_the_mixed_model_on_complete_balanced_data_estimates_the_differences_of_wave_means() -> None:
    complete = {t: {p: SCORES[t][p] for p in ("P01", "P02", "P03", "P04")} for t in SCORES}
    model = score_summary.mixed_model(complete)
    first = statistics.fmean(complete["T1"].values())
    assert model.intercept == pytest.approx(first, abs=TOL)
    for effect, key in zip(model.effects, ("T2", "T3"), strict=True):
        assert effect.term == f"{key} vs T1"
        assert effect.estimate == pytest.approx(statistics.fmean(complete[key].values()) - first, abs=1e-5)
        assert effect.ci_low < effect.estimate < effect.ci_high and 0 <= effect.p <= 1


def test_the_mixed_model_keeps_participants_who_missed_a_wave() -> None:
    model = score_summary.summarise_measure(measure(), SCORES).mixed_model
    assert model is not None
    assert model.n_participants == 6 and model.n_observations == 16
    omnibus = score_summary.summarise_measure(measure(), SCORES).omnibus
    assert omnibus.n_complete == 4  # the omnibus tests dropped two of them


def test_without_statsmodels_the_summary_says_what_the_extra_would_add(monkeypatch) -> None:
    real_import = builtins.__import__

    def no_statsmodels(name, *args, **kwargs):
        if name.startswith("statsmodels"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_statsmodels)
    summary = score_summary.summarise_measure(measure(), SCORES)
    assert summary.mixed_model is None and "waveqda[stats]" in summary.note
    assert summary.omnibus is not None and math.isfinite(summary.omnibus.anova_f)


def test_two_timepoints_have_no_omnibus_and_say_why() -> None:
    summary = score_summary.summarise_measure(measure(), {"T1": SCORES["T1"], "T2": SCORES["T2"]})
    assert summary.omnibus is None and "three or more timepoints" in summary.note


runner = CliRunner()


def test_cli_describe_json_and_compare_text(ten, tmp_path: Path) -> None:  # noqa: F811  (the fixture)
    target = ten.target
    norm = ["--norm-mean", "0.5", "--norm-sd", "2", "--norm-source", "Fictional, for the test"]
    assert runner.invoke(app, ["measure", "add", target, "extra", "--min", "-10", "--max", "10", *norm]).exit_code == 0
    t3 = {1: 1.0, 2: 0.5, 3: 2.0, 4: 0.4, 5: 0.0, 6: 4.0, 7: 5.0, 8: 2.2}  # P09 and P10 missed T3
    assert runner.invoke(app, ["scores", "import", target, str(sleep_csv(tmp_path / "s.csv", t3))]).exit_code == 0
    out = runner.invoke(app, ["scores", "describe", target, "--json"])
    assert out.exit_code == 0, out.output
    [data] = json.loads(out.output)
    assert data["measure"] == "extra" and [w["timepoint"] for w in data["waves"]] == ["T1", "T2", "T3"]
    first = data["waves"][0]
    assert first["n"] == 10 and first["mean"] == pytest.approx(statistics.fmean(SLEEP_1), abs=TOL)
    assert first["norm_t"] == pytest.approx(stats.ttest_1samp(SLEEP_1, 0.5).statistic, abs=TOL)
    assert data["omnibus"]["n_complete"] == 8 and data["omnibus"]["n_dropped"] == 2
    assert data["mixed_model"]["n_observations"] == 28
    text = runner.invoke(app, ["scores", "compare", target, "--mixed-model"])
    assert text.exit_code == 0, text.output
    assert "norm 0.50 (SD 2.00, Fictional, for the test)" in text.output
    assert "repeated-measures ANOVA F(2, 14)" in text.output and "Linear mixed model" in text.output
    assert "Paired change between timepoints" in text.output
    pairs = json.loads(runner.invoke(app, ["scores", "compare", target, "--json"]).output)
    assert isinstance(pairs, list) and len(pairs) == 3 and {"measure", "from", "to", "p_holm"} <= set(pairs[0])


SPEC = """
[exhaustion]
items = ["ee1", "ee2", "ee3", "ee4"]
method = "sum"
reverse = ["ee4"]
item_min = 0
item_max = 6
min_answered = 3

[satisfaction]
items = ["js1", "js2"]
method = "mean"
item_min = 1
item_max = 7
"""


def test_item_scoring_sums_means_reverses_prorates_and_refuses_bad_answers(ten, tmp_path: Path, db_state) -> None:  # noqa: F811
    from models import scores
    from models.schema import Participant, Score

    scores.add_measure(ten, "t", "exhaustion", 0, 24, "worse")
    scores.add_measure(ten, "t", "satisfaction", 1, 7, "better")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    items = tmp_path / "items.csv"
    items.write_text(
        "participant,timepoint,ee1,ee2,ee3,ee4,js1,js2\n"
        "P01,T1,1,2,3,6,4,5\n"  # sum 1+2+3+(6-6)=6; mean 4.5
        "P02,T1,6,6,,0,7,\n"  # three answered: (6+6+6)/3*4 = 24; one of two answered < min 2: empty
        "P03,T1,,,1,2,2,2\n",  # two answered < 3: empty; mean 2
        encoding="utf-8",
    )
    result = scores.import_scores(ten, "t", items, spec)
    assert (result.stored, result.not_scored) == (4, 2)
    with ten.read() as session:
        query = select(Participant.study_id, Measure.name, Score.value).join(Participant).join(Measure)
        got = {(study, measure): value for study, measure, value in session.execute(query)}
    assert got == {("P01", "exhaustion"): 6.0, ("P01", "satisfaction"): 4.5, ("P02", "exhaustion"): 24.0,
                   ("P03", "satisfaction"): 2.0}  # fmt: skip
    before = db_state(ten)
    items.write_text("participant,timepoint,ee1,ee2,ee3,ee4,js1,js2\nP04,T1,1,2,3,7,4,5\n", encoding="utf-8")
    with pytest.raises(WaveqdaError, match=r"items.csv: row 2, column 'ee4': 7 is outside the answers 0-6"):
        scores.import_scores(ten, "t", items, spec)
    assert db_state(ten) == before
    spec.write_text('[exhaustion]\nitems = ["ee1"]\nmethod = "median"\nitem_min = 0\nitem_max = 6\n')
    with pytest.raises(WaveqdaError, match=r"spec.toml: \[exhaustion\]: 'method' must be"):
        scores.import_scores(ten, "t", items, spec)
