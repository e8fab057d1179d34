"""Questionnaire measures, scores and paired change between timepoints (issue 17, first part).

Known answers: Student's sleep data (Cushny and Peebles, as R's ``sleep``), for which R's
``t.test(extra ~ group, data = sleep, paired = TRUE)`` prints t = -4.0621, df = 9, p-value = 0.002833,
95 percent CI -2.4598858 -0.7001142, mean difference -1.58 (group 1 minus group 2; waveqda reports later
minus earlier, so the signs flip)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app
from models import history, scores
from models.errors import WaveqdaError
from models.schema import Score
from models.store import Project
from models.transcripts import store_transcript
from tests.conftest import make_parsed

SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
runner = CliRunner()


@pytest.fixture
def ten(project: Project) -> Project:
    """Ten participants P01-P10, each interviewed at T1 (so the project knows them)."""
    for n in range(1, 11):
        with project.change("tester", "import", "import", undoable=False) as session:
            store_transcript(session, make_parsed([("Sam", f"Hello {n}.")], f"P{n:02}.txt"), f"P{n:02}", "T1", "t")
    return project


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def sleep_csv(path: Path, t3: dict[int, float] | None = None) -> Path:
    lines = ["participant,timepoint,extra"]
    for n, (a, b) in enumerate(zip(SLEEP_1, SLEEP_2, strict=True), start=1):
        lines += [f"P{n:02},T1,{a}", f"P{n:02},T2,{b}"]
    for n, value in (t3 or {}).items():
        lines.append(f"P{n:02},T3,{value}")
    return write(path, "\n".join(lines) + "\n")


def test_paired_t_test_matches_r_on_the_sleep_data(ten: Project, tmp_path: Path) -> None:
    scores.add_measure(ten, "t", "extra", -10, 10, "better")
    scores.import_scores(ten, "t", sleep_csv(tmp_path / "sleep.csv"))
    with ten.read() as session:
        (t1_t2, t1_t3, t2_t3) = scores.compare(session)
    assert (t1_t2.from_, t1_t2.to, t1_t2.n_pairs, t1_t2.n_dropped) == ("T1", "T2", 10, 0)
    assert t1_t2.t == pytest.approx(4.0621, abs=5e-5) and t1_t2.df == 9
    assert t1_t2.p == pytest.approx(0.002833, abs=5e-7)
    assert t1_t2.mean_diff == pytest.approx(1.58, abs=1e-9)
    assert (t1_t2.ci_low, t1_t2.ci_high) == (pytest.approx(0.7001142, abs=1e-6), pytest.approx(2.4598858, abs=1e-6))
    diffs = [b - a for a, b in zip(SLEEP_1, SLEEP_2, strict=True)]
    sd = math.sqrt(sum((d - 1.58) ** 2 for d in diffs) / 9)
    assert t1_t2.d_z == pytest.approx(1.58 / sd, abs=1e-9)
    expected = stats.wilcoxon(SLEEP_2, SLEEP_1)  # ties and a zero difference among the pairs
    assert (t1_t2.wilcoxon_w, t1_t2.wilcoxon_p) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    assert t1_t3.n_pairs == 0 and t1_t3.p is None and t2_t3.t is None


def test_missing_waves_effect_size_kinds_and_holm(ten: Project, tmp_path: Path) -> None:
    scores.add_measure(ten, "t", "extra", -10, 10)
    scores.import_scores(ten, "t", sleep_csv(tmp_path / "s.csv", t3={1: 2.0, 2: 1.5, 3: 3.1, 4: 0.2, 5: 4.0}))
    with ten.read() as session:
        found = {(c.from_, c.to): c for c in scores.compare(session)}
    t2_t3 = found[("T2", "T3")]
    assert (t2_t3.n_pairs, t2_t3.n_dropped) == (5, 5)
    x, y = SLEEP_2[:5], [2.0, 1.5, 3.1, 0.2, 4.0]
    sd_x, sd_y = (math.sqrt(sum((v - sum(s) / 5) ** 2 for v in s) / 4) for s in (x, y))
    diff = (sum(y) - sum(x)) / 5
    assert t2_t3.g_av == pytest.approx(diff / ((sd_x + sd_y) / 2) * (1 - 3 / (4 * 10 - 9)), abs=1e-9)
    assert t2_t3.g_av != pytest.approx(t2_t3.d_z)  # two kinds, labelled apart
    ps = sorted((c.p, key) for key, c in found.items() if c.p is not None)
    m = len(ps)
    running = 0.0
    for rank, (p, key) in enumerate(ps):
        running = max(running, min(1.0, (m - rank) * p))
        assert found[key].p_holm == pytest.approx(running)


def test_bad_values_are_refused_in_one_line_and_nothing_is_stored(ten: Project, tmp_path: Path, db_state) -> None:
    scores.add_measure(ten, "t", "wemwbs", 14, 70, "better")
    before = db_state(ten)
    cases = [
        ("participant,timepoint,wemwbs\nP01,T1,50\nP02,T1,71\n", "row 3, column 'wemwbs': 71 is outside"),
        ("participant,timepoint,wemwbs\nP01,T1,fifty\n", "row 2, column 'wemwbs': 'fifty' is not a number"),
        ("participant,timepoint,wemwbs\nP01,T9,50\n", "row 2, column 'timepoint': unknown timepoint 'T9'"),
        ("participant,timepoint,burnout\nP01,T1,3\n", "column 'burnout' is not a known measure"),
        ("who,when,wemwbs\n", "no 'participant' column"),
    ]
    for text, message in cases:
        path = write(tmp_path / "bad.csv", text)
        with pytest.raises(WaveqdaError, match=message) as caught:
            scores.import_scores(ten, "t", path)
        assert str(caught.value).startswith("bad.csv: ") and "\n" not in str(caught.value)
        assert db_state(ten) == before


def test_long_and_wide_files_unknown_participants_reported_and_undo(ten: Project, tmp_path: Path, db_state) -> None:
    scores.add_measure(ten, "t", "wemwbs", 14, 70)
    scores.add_measure(ten, "t", "burnout", 0, 6, "worse")
    before = db_state(ten)
    wide = write(tmp_path / "wide.csv", "Participant,Timepoint,WEMWBS,burnout\nP01,T1,50,2.5\nP99,T1,40,1\nP02,T2,,3\n")
    result = scores.import_scores(ten, "t", wide)
    assert (result.stored, result.unknown_participants) == (3, ("P99",))
    long = write(tmp_path / "long.csv", "participant,timepoint,measure,score\nP01,T1,wemwbs,52\nP03,T3,burnout,1\n")
    again = scores.import_scores(ten, "t", long)
    assert (again.stored, again.replaced) == (1, 1)
    with ten.read() as session:
        assert session.scalar(select(func.count(Score.id))) == 4
    history.undo(ten, "t")
    history.undo(ten, "t")
    assert db_state(ten) == before


def test_cli_measure_import_and_compare_json(ten: Project, tmp_path: Path) -> None:
    target = ten.target
    added = runner.invoke(app, ["measure", "add", target, "extra", "--min", "-10", "--max", "10"])
    assert added.exit_code == 0, added.output
    imported = runner.invoke(app, ["scores", "import", target, str(sleep_csv(tmp_path / "sleep.csv"))])
    assert imported.exit_code == 0 and "20 score(s) stored" in imported.stdout
    compared = runner.invoke(app, ["scores", "compare", target, "--json"])
    rows = json.loads(compared.stdout)
    keys = {"measure", "from", "to", "n_pairs", "n_dropped", "mean_from", "mean_to", "mean_diff", "ci_low",
            "ci_high", "t", "df", "p", "p_holm", "wilcoxon_w", "wilcoxon_p", "d_z", "g_av"}  # fmt: skip
    assert rows and all(keys <= set(row) for row in rows)
    assert rows[0]["from"] == "T1" and rows[0]["to"] == "T2" and rows[0]["df"] == 9
    bad = runner.invoke(app, ["measure", "add", target, "x", "--min", "5", "--max", "1"])
    assert bad.exit_code == 1 and "must be below" in bad.stderr


pytestmark = pytest.mark.both_engines


def test_merge_carries_measures_and_scores_and_lists_differences(tmp_path: Path) -> None:
    """Two project files (merging is between files; this test takes no engine)."""
    from models.merge import merge_projects
    from models.project_file import online_copy
    from models.store import create_project

    ten = create_project(tmp_path / "team.wqda")
    for n in range(1, 11):
        with ten.change("tester", "import", "import", undoable=False) as session:
            store_transcript(session, make_parsed([("Sam", f"Hello {n}.")], f"P{n:02}.txt"), f"P{n:02}", "T1", "t")
    scores.add_measure(ten, "t", "extra", -10, 10)
    scores.import_scores(ten, "t", sleep_csv(tmp_path / "sleep.csv"))
    other = tmp_path / "other.wqda"
    online_copy(Path(ten.target), other)
    with open_other(other) as copy:
        scores.add_measure(copy, "t", "burnout", 0, 6, "worse")
        write(tmp_path / "b.csv", "participant,timepoint,burnout,extra\nP01,T1,4,0.9\nP02,T1,2,\n")
        scores.import_scores(copy, "t", tmp_path / "b.csv")
    report = merge_projects(ten.target, [other], "lead")
    text = json.dumps(report.as_dict())
    assert "P01 T1 extra: 0.9 there vs 0.7 kept" in text
    with ten.read() as session:
        assert session.scalar(select(func.count(Score.id))) == 22  # 20 + two burnout scores
    ten.close()


def open_other(path: Path) -> Project:
    from models.store import open_project

    return open_project(path)


def test_reliable_change_categories_by_hand(ten: Project, tmp_path: Path) -> None:
    """Jacobson-Truax with the norm SD: S_diff = sqrt(2) * 10 * sqrt(1 - 0.9) = 4.4721; changes of +10, -10 and
    +5 are reliably better, reliably worse and no reliable change for a measure where higher is better (and the
    other way round where higher is worse)."""
    scores.add_measure(ten, "t", "wellbeing", 0, 100, "better", norm_mean=50, norm_sd=10, norm_source="x",
                       reliability=0.9)  # fmt: skip
    scores.add_measure(ten, "t", "burnout", 0, 100, "worse", norm_mean=50, norm_sd=10, norm_source="x",
                       reliability=0.9)  # fmt: skip
    rows = ["participant,timepoint,wellbeing,burnout"]
    for study, first, second in (("P01", 50, 60), ("P02", 50, 40), ("P03", 50, 55)):
        rows += [f"{study},T1,{first},{first}", f"{study},T2,{second},{second}"]
    scores.import_scores(ten, "t", write(tmp_path / "rc.csv", "\n".join(rows) + "\n"))
    with ten.read() as session:
        wellbeing = scores.reliable_change(session, "wellbeing", "T1", "T2")
        burnout = scores.reliable_change(session, "burnout", "T1", "T2")
    s_diff = math.sqrt(2) * 10 * math.sqrt(0.1)
    assert [c.rci for c in wellbeing] == [pytest.approx(10 / s_diff), pytest.approx(-10 / s_diff),
                                          pytest.approx(5 / s_diff)]  # fmt: skip
    assert [c.category for c in wellbeing] == ["reliably better", "reliably worse", "no reliable change"]
    assert [c.category for c in burnout] == ["reliably worse", "reliably better", "no reliable change"]
    scores.add_measure(ten, "t", "plain", 0, 10)
    with ten.read() as session, pytest.raises(WaveqdaError, match="has no reliability"):
        scores.reliable_change(session, "plain", "T1", "T2")


def test_redescribing_a_measure_keeps_what_is_not_given(ten: Project, tmp_path: Path) -> None:
    scores.add_measure(ten, "t", "wemwbs", 14, 70, "better")
    scores.add_measure(ten, "t", "wemwbs", reliability=0.89)
    with pytest.raises(WaveqdaError, match="outside wemwbs's range 14-70"):
        scores.import_scores(ten, "t", write(tmp_path / "w.csv", "participant,timepoint,wemwbs\nP01,T1,80\n"))


def test_joint_display_sets_change_beside_theme_courses(coded_study, tmp_path: Path) -> None:
    """P01 reliably better and P02 reliably worse on a measure; the theme rows count who voiced each theme at
    each wave by change group, from the same trajectories the Compare screen shows."""
    from models.queries.presence import trajectories

    project = coded_study.project
    scores.add_measure(project, "t", "wellbeing", 0, 100, "better", norm_mean=50, norm_sd=10, norm_source="x",
                       reliability=0.9)  # fmt: skip
    scores.import_scores(project, "t", write(tmp_path / "j.csv", "participant,timepoint,wellbeing\n"
                                             "P01,T1,40\nP01,T2,60\nP02,T1,60\nP02,T2,40\n"))  # fmt: skip
    with project.read() as session:
        joint = scores.joint_display(session, "wellbeing", ["Support", "Worry"], "T1", "T2")
        courses = {
            code: {t.participant: t.pattern for t in trajectories(session, code)} for code in ("Support", "Worry")
        }
    rows = {row.participant: row for row in joint.participants}
    assert rows["P01"].change.category == "reliably better" and rows["P02"].change.category == "reliably worse"
    assert rows["P01"].scores == {"T1": 40, "T2": 60, "T3": None}
    for participant, row in rows.items():
        assert [t.pattern for t in row.themes] == [courses["Support"][participant], courses["Worry"][participant]]
    for theme in joint.themes:
        index = ["Support", "Worry"].index(theme.code)
        position = ["T1", "T2", "T3"].index(theme.timepoint)
        for category in scores.CATEGORIES:
            expected = sum(
                1 for row in rows.values()
                if row.change.category == category and row.themes[index].pattern[position] == "+"
            )  # fmt: skip
            assert theme.voiced_by[category] == expected
    t1 = joint.timepoints[0]
    assert (t1.n, t1.mean) == (2, 50)
    assert rows["P01"].themes[0].quote  # a passage of Support at T2 is quoted
    assert json.loads(json.dumps(joint.as_dict()))["from"] == "T1"
