"""Word frequencies (issue 15): counts of coded text and of participants' speech, stop words and transcribers'
notes left out, lemmas on request, grouped by timepoint and attribute."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from app.cli import app
from models.queries.word_frequency import stop_words, word_frequencies

runner = CliRunner()


def test_participant_speech_counted_without_stop_words_or_interviewer(small_project) -> None:
    with small_project.read() as session:
        (everything,) = word_frequencies(session, top=100, min_length=1)
        by_time = word_frequencies(session, by="timepoint", top=100, min_length=1)
    counts = {w.word: w.count for w in everything.top}
    assert "training" not in counts  # asked by the interviewer only
    assert not set(counts) & stop_words()
    assert counts["supervision"] == 2 and counts["worry"] == 1  # the interviewer's "And supervision?" is not counted
    assert [g.group for g in by_time] == ["T1", "T2"]
    assert sum(g.words_counted for g in by_time) == everything.words_counted


def test_coded_text_once_per_passage_and_lemmas(coded_study) -> None:
    with coded_study.project.read() as session:
        (plain,) = word_frequencies(session, code="Support", top=50, min_length=1)
        (lemmas,) = word_frequencies(session, code="Support", top=50, min_length=1, lemma=True)
        by_site = word_frequencies(session, code="Support", by="attribute", by_attribute="site", min_length=1)
    words = Counter({w.word: w.count for w in plain.top})
    assert words["supported"] == 1 and words["supervision"] >= 1
    lemma_counts = {w.word: w.count for w in lemmas.top}
    assert lemma_counts.get("support", 0) >= words["supported"] + words["supporting"] + words["supports"]
    assert {g.group for g in by_site} <= {"site=North", "site=South"}


def test_cli_words(coded_study) -> None:
    result = runner.invoke(app, ["words", coded_study.project.target, "--code", "Support", "--json", "--top", "3"])
    assert result.exit_code == 0, result.output
    (group,) = json.loads(result.stdout)
    assert group["group"] == "all" and len(group["top"]) == 3
    bad = runner.invoke(app, ["words", coded_study.project.target, "--by", "colour"])
    assert bad.exit_code == 1 and "--by" in bad.stderr


pytestmark = pytest.mark.both_engines
