"""The agreement commands through the real CLI: agreement, disagreements, consensus, consensus-agreed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import app, main
from app.commands.agreement import expand_greedy
from models.store import Project
from tests.test_agreement_report import add_codings

runner = CliRunner()


@pytest.fixture
def path(small_project: Project) -> str:
    add_codings(small_project)
    return str(small_project.path)


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_greedy_lists():
    """--coders A B C means --coders A --coders B --coders C; values end at the next flag."""
    args = ["p", "--coders", "a", "b", "--unit", "turn", "--codes", "X/Y", "Z"]
    assert expand_greedy(args, ("--coders", "--codes")) == [
        "p",
        "--coders",
        "a",
        "--coders",
        "b",
        "--unit",
        "turn",
        "--codes",
        "X/Y",
        "--codes",
        "Z",
    ]


def test_agreement_json(path):
    """JSON with the documented keys; Support in P01/T1 as checked by hand in test_agreement_report
    (Cohen's κ 0.453877 on characters)."""
    data = json.loads(invoke("agreement", path, "--coders", "alice", "bob", "--json"))
    assert list(data)[:2] == ["unit", "coders"]
    assert {"per_code_transcript", "per_code", "per_transcript", "overall"} <= set(data)
    first = data["per_code_transcript"][0]
    assert (first["code"], first["transcript"]) == ("Support", "P01/T1")
    assert first["kappa"] == pytest.approx(0.453877, abs=0.001)
    assert data["per_code"][0]["pooled"]["method"].startswith("pooled")
    assert set(data["per_code"][0]) >= {"code", "pooled", "mean", "length_weighted_mean"}
    repeated = json.loads(invoke("agreement", path, "--coders", "alice", "--coders", "bob", "--json"))
    assert repeated == data


def test_agreement_filters_and_units(path):
    data = json.loads(
        invoke(
            "agreement",
            path,
            "--coders",
            "alice",
            "bob",
            "--codes",
            "Support",
            "Hope",
            "--transcripts",
            "P01/T1",
            "--unit",
            "sentence",
            "--json",
        )
    )
    assert data["unit"] == "sentence" and data["transcripts"] == ["P01/T1"]
    assert [c["code"] for c in data["per_code_transcript"]] == ["Support", "Hope"]


def test_agreement_human_output(path):
    """Tables per code × transcript, per code, per transcript and overall, roll-ups explained, conventional
    thresholds shown, undefined values explained."""
    out = invoke("agreement", path, "--coders", "alice", "bob", "--codes", "Support", "Unused")
    for heading in ("Per code × transcript", "Per code", "Per transcript", "Overall"):
        assert heading in out
    assert "0.454 moderate" in out
    assert "0.61–0.80 substantial" in out and "≥ 0.667 tentative" in out
    assert "length-weighted mean" in out
    assert "n/a: no coder applied the code here" in out


def test_disagreements_and_consensus(path):
    """List, settle one with --keep, see it marked; adopt the agreed stretches."""
    rows = json.loads(invoke("disagreements", path, "--coders", "alice", "bob", "--json"))
    assert len(rows) == 5 and rows[2]["text"] == "The supervision was good." and rows[2]["coded_by"] == ["alice"]
    out = invoke("disagreements", path, "--coders", "alice", "bob")
    assert f"key: {rows[2]['key']}" in out and "“The supervision was good.”" in out
    settled = invoke("consensus", path, rows[2]["key"], "--keep", "alice", "--by", "dana")
    assert "keep alice" in settled and "92:117" in settled
    pending = json.loads(invoke("disagreements", path, "--coders", "alice", "bob", "--pending", "--json"))
    assert len(pending) == 4
    assert "[settled: keep alice]" in invoke("disagreements", path, "--coders", "alice", "bob")
    assert "Added 2 agreed stretches" in invoke("consensus-agreed", path, "--coders", "alice", "bob", "--by", "dana")


def test_errors_are_one_line(path, capsys):
    """A domain error prints `waveqda: error: ...` and exits 1."""
    with pytest.raises(SystemExit) as exit_info:
        main(["agreement", path, "--coders", "alice"])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith("waveqda: error: agreement needs at least two coders")
    with pytest.raises(SystemExit):
        main(["consensus", path, "not-a-key", "--keep", "alice"])
    assert "invalid disagreement key" in capsys.readouterr().err
