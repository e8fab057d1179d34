"""Issue 21 item 1: one turn has one number, counted from 1, wherever a person reads or types it."""

from __future__ import annotations

import csv
import json

from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from models.schema import Coding, Turn
from models.transcripts import find_transcript
from tests.tui.helpers import screen_text

runner = CliRunner()


def ok(*args: object) -> str:
    result = runner.invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.stdout


def test_show_search_apply_and_csv_agree_on_turn_numbers_from_one(study, tmp_path):
    path = study.target
    shown = ok("show", path, "P01/T1")
    # the interviewer's opening question is the first turn, #1; Dana's answer is #2
    assert "#1 Interviewer" in shown and "#2 Dana" in shown and "#0" not in shown
    turns = json.loads(ok("show", path, "P01/T1", "--json"))["turns"]
    assert [(t["index"], t["number"]) for t in turns[:2]] == [(0, 1), (1, 2)]
    # the search table names the turn of "brilliant" as show does
    table = ok("search", path, "brilliant")
    row = next(line for line in table.splitlines() if "brilliant" in line)
    assert " 2 " in f" {row} " and " 1 " not in row.split("Dana")[0].split("T1")[1]
    [hit] = json.loads(ok("search", path, "brilliant", "--json"))
    assert hit["turn"] == 2
    # apply --turn 2 codes the turn shown as #2
    [coding_id] = ok("apply", path, "--transcript", "P01/T1", "--code", "Feelings/Hope", "--turn", "2",
                     "--coder", "Ann").split()  # fmt: skip
    with study.read() as session:
        coding = session.get(Coding, int(coding_id))
        text = find_transcript(session, "P01/T1").text
        turn = session.scalars(select(Turn).where(Turn.transcript_id == coding.transcript_id, Turn.index == 1)).one()
    assert text[coding.start : coding.end] == text[turn.start : turn.end]
    assert text[coding.start : coding.end].startswith("It was brilliant.")
    # the codings table says turn 2 too
    out = tmp_path / "codings.csv"
    ok("export", path, out, "--kind", "codings")
    with out.open(newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.DictReader(handle) if r["code"].endswith("Hope") and r["participant"] == "P01"]
    assert rows and {r["turn"] for r in rows} == {"2"}


async def test_retrieve_in_the_workspace_shows_the_same_turn_number(make_app, study):
    ok("apply", study.target, "--transcript", "P01/T1", "--code", "Feelings/Hope", "--turn", "2", "--coder", "Ann")
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        with study.read() as session:
            from models.codes import CodeTree

            hope = CodeTree.load(session).find("Feelings/Hope").id
        app.retrieve_code(hope)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "Dana turn 2" in text, text
        assert "turn 1" not in text.split("Dana turn 2")[0].split("P01")[-1]
