"""The bundled fictional study imports completely, and every turn slices exactly out of the stored text."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.conftest import SAMPLES

runner = CliRunner()


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("samples") / "study.wqda"
    result = runner.invoke(app, ["demo", str(db), "--no-tui", "--samples", str(SAMPLES)])
    assert result.exit_code == 0, result.output
    return db


def manifest_rows() -> list[dict[str, str]]:
    with (SAMPLES / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_sample_study_is_complete(sample_db: Path) -> None:
    listing = json.loads(runner.invoke(app, ["transcripts", str(sample_db), "--json"]).output)
    assert len(listing) == len(manifest_rows()) >= 18
    assert {row["participant"] for row in listing} >= {f"P0{i}" for i in range(1, 7)}
    assert {row["timepoint"] for row in listing} == {"T1", "T2", "T3"}
    assert {Path(row["source"]).suffix for row in listing} >= {".docx", ".txt", ".md", ".vtt", ".srt"}
    for row in listing:
        assert 1500 <= row["words"] <= 4500, row
        assert "Interviewer" in row["speakers"] or "I" in row["speakers"], row
        assert len(row["speakers"]) == 2, row


def test_every_turn_slices_exactly_from_stored_text(sample_db: Path) -> None:
    for row in manifest_rows():
        ref = f"{row['participant']}/{row['timepoint']}"
        result = runner.invoke(app, ["show", str(sample_db), ref, "--json"])
        assert result.exit_code == 0, result.output
        shown = json.loads(result.output)
        assert "\r" not in shown["text"] and "\ufeff" not in shown["text"]
        roles = {turn["role"] for turn in shown["turns"]}
        assert roles == {"interviewer", "participant"}, ref
        for turn in shown["turns"]:
            assert shown["text"][turn["start"] : turn["end"]] == turn["text"], (ref, turn["index"])
            assert turn["text"] == turn["text"].strip() and turn["text"], (ref, turn["index"])
            assert not turn["text"].startswith(("Interviewer:", "I:", "R:")), (ref, turn["index"])


def test_timestamps_kept_out_of_text_for_subtitles_and_tables(sample_db: Path) -> None:
    for ref in ("P06/T1", "P06/T2", "P04/T1", "P03/T1"):
        shown = json.loads(runner.invoke(app, ["show", str(sample_db), ref, "--json"]).output)
        assert all(turn["timestamp"] for turn in shown["turns"]), ref
        if ref != "P03/T1":  # label lines with timestamps stay in the text as written
            assert "-->" not in shown["text"] and "00:00:" not in shown["text"], ref


def test_participant_attributes_are_typed(sample_db: Path) -> None:
    rows = json.loads(runner.invoke(app, ["participants", str(sample_db), "--json"]).output)
    assert len(rows) == 6
    p01 = next(r for r in rows if r["participant"] == "P01")
    assert p01["attributes"]["site"] == "North" and p01["timepoints"] == ["T1", "T2", "T3"]


def test_demo_is_idempotent(sample_db: Path) -> None:
    again = runner.invoke(app, ["demo", str(sample_db), "--no-tui", "--samples", str(SAMPLES)])
    assert again.exit_code == 0, again.output
    assert "18 skipped" in again.output
