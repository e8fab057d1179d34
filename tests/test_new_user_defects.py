"""Defects found testing as a new user would (issue 21): each test failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from app.cli import app
from models import codebook, coding
from models.merge import merge_projects
from models.schema import Code, Coding, Memo, Sentence, Transcript, Turn
from models.store import open_project
from models.transcripts import find_transcript
from tests.conftest import make_parsed

runner = CliRunner()


def ok(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def refused(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    return result.output


# --- 10. names are looked up as they are stored; near misses get suggestions --------------------------


def test_a_code_typed_with_extra_spaces_is_found_as_created(small_project) -> None:
    path = small_project.path
    ok("code", "add", path, "job  insecurity")
    ok("apply", path, "--transcript", "P01/T1", "--code", "job  insecurity", "--span", "0:5", "--coder", "ann")
    with small_project.read() as session:
        assert session.scalars(select(Code.name)).all() == ["job insecurity"]


def test_unknown_codes_and_transcripts_suggest_the_closest_names(small_project) -> None:
    path = small_project.path
    ok("code", "add", path, "Supervision")
    out = refused("apply", path, "--transcript", "P01/T1", "--code", "Supervison", "--span", "0:5", "--coder", "a")
    assert "did you mean 'Supervision'?" in out
    out = refused("show", path, "P1/T1")
    assert "did you mean 'P01/T1'" in out


# --- 11. every table ends its last line -------------------------------------------------------------


@pytest.mark.parametrize("command", ["codes", "transcripts", "participants", "history", "matrix", "codings"])
def test_tables_end_with_a_newline(small_project, command) -> None:
    codebook.add_code(small_project, "ann", "Hope")
    coding.apply_codes(small_project, "ann", "P01/T1", ["Hope"], "ann", 0, 5)
    assert ok(command, small_project.path).endswith("\n")


# --- 13. key quotes and memos from the command line -------------------------------------------------


def test_key_and_memo_commands(small_project) -> None:
    path = small_project.path
    codebook.add_code(small_project, "ann", "Hope")
    [coding_id] = coding.apply_codes(small_project, "ann", "P01/T1", ["Hope"], "ann", 0, 5)
    ok("key", path, coding_id)
    ok("memo", path, "Returns at T2", "--coding", coding_id)
    ok("memo", path, "Short interview", "--transcript", "P01/T1")
    ok("memo", path, "Hope as a verb", "--code", "Hope")
    with small_project.read() as session:
        row = session.get(Coding, coding_id)
        assert row.key_quote and row.memo == "Returns at T2"
        assert coding.transcript_memo(session, find_transcript(session, "P01/T1").id) == "Short interview"
        assert session.scalars(select(Code.memo)).one() == "Hope as a verb"
    ok("key", path, coding_id, "--off")
    with small_project.read() as session:
        assert not session.get(Coding, coding_id).key_quote
    assert "exactly one of" in refused("memo", path, "x")
    assert "exactly one of" in refused("memo", path, "x", "--coding", coding_id, "--code", "Hope")


# --- 15. a merge places a coding on its exact text, and says when it cannot -------------------------


def _delete_from_transcript(path: Path, ref: str, removed: str) -> None:
    project = open_project(path)
    with project.read() as session:
        transcript = find_transcript(session, ref)
        tid, text = transcript.id, transcript.text
    at = text.index(removed)
    width = len(removed)
    with project.engine.begin() as conn:
        conn.execute(update(Transcript).where(Transcript.id == tid).values(text=text.replace(removed, "", 1)))
        for model in (Turn, Sentence):
            conn.execute(update(model).where(model.transcript_id == tid, model.end > at).values(end=model.end - width))
            conn.execute(
                update(model).where(model.transcript_id == tid, model.start > at).values(start=model.start - width)
            )
    project.close()


def test_a_coding_after_a_deleted_sentence_lands_on_its_exact_words(project, tmp_path: Path) -> None:
    from models import project_file
    from models.transcripts import store_transcript

    speech = "It was a hard month at work. The ward was loud. Then my manager stepped in and everything changed."
    with project.change("lead", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed([("Interviewer", "How was it?"), ("Dana", speech)]), "P01", "T1", "l")
    codebook.add_code(project, "lead", "Support")
    master = project.path
    project.close()
    ann, team = tmp_path / "ann.wqda", tmp_path / "team.wqda"
    project_file.online_copy(master, ann)
    project_file.online_copy(master, team)
    coded = "Then my manager stepped in"
    ann_project = open_project(ann)
    with ann_project.read() as session:
        start = find_transcript(session, "P01/T1").text.index(coded)
    coding.apply_codes(ann_project, "ann", "P01/T1", ["Support"], "ann", start, start + len(coded))
    ann_project.close()
    _delete_from_transcript(team, "P01/T1", "The ward was loud. ")  # shares "The" with the coded words
    report = merge_projects(team, [ann], "lead")
    assert report.sources[0].needs_review == []
    team_project = open_project(team)
    with team_project.read() as session:
        row = session.scalars(select(Coding)).one()
        text = find_transcript(session, "P01/T1").text
    team_project.close()
    assert text[row.start : row.end] == coded and row.status == "ok"


def test_codings_that_need_review_are_marked_in_codings_and_matrix(small_project) -> None:
    codebook.add_code(small_project, "ann", "Hope")
    [coding_id] = coding.apply_codes(small_project, "ann", "P01/T1", ["Hope"], "ann", 0, 5)
    with small_project.engine.begin() as conn:
        conn.execute(update(Coding).where(Coding.id == coding_id).values(status="needs_review"))
    assert "[needs review]" in ok("codings", small_project.path)
    assert "1 codings need review" in ok("matrix", small_project.path)
    assert json.loads(ok("matrix", small_project.path, "--json"))["needs_review"] == 1


def test_memo_rows_are_untouched_by_the_key_command(small_project) -> None:
    codebook.add_code(small_project, "ann", "Hope")
    [coding_id] = coding.apply_codes(small_project, "ann", "P01/T1", ["Hope"], "ann", 0, 5)
    ok("key", small_project.path, coding_id)
    with small_project.read() as session:
        assert session.scalars(select(Memo)).all() == []


# --- 16. a fuzzy proposal can be accepted on a later merge -----------------------------------------------


def test_a_fuzzy_proposal_accepted_on_a_later_merge_moves_the_codings(small_project, tmp_path: Path, db_state):
    from models import history, project_file

    master = small_project.path
    small_project.close()
    ann, team = tmp_path / "ann.wqda", tmp_path / "team.wqda"
    project_file.online_copy(master, ann)
    project_file.online_copy(master, team)
    team_project = open_project(team)
    codebook.add_code(team_project, "lead", "Peer team")
    team_project.close()
    ann_project = open_project(ann)
    codebook.add_code(ann_project, "ann", "Peer teem")
    coding.apply_codes(ann_project, "ann", "P02/T1", ["Peer teem"], "ann", 0, 8)
    ann_project.close()
    first = merge_projects(team, [ann], "lead")
    assert first.sources[0].proposals[0]["applied"] is False
    team_project = open_project(team)
    before = db_state(team_project)
    out = ok("merge", team, ann, "--accept-fuzzy")
    assert "Nothing new to merge" not in out and "folded into 'Peer team'" in out
    with team_project.read() as session:
        codes = {c.name: c for c in session.scalars(select(Code))}
        [row] = session.scalars(select(Coding)).all()
    assert row.code_id == codes["Peer team"].id and codes["Peer teem"].archived
    assert "Nothing new to merge" in ok("merge", team, ann, "--accept-fuzzy")
    history.undo(team_project, "lead", anyone=True)  # the CLI merge ran as this machine's user
    assert db_state(team_project) == before
    team_project.close()
