"""``waveqda copy``: a whole project from an SQLite file to a PostgreSQL database and back, verified by row
counts and checksums, with the undo history working on the copy (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from models import history
from models.errors import WaveqdaError
from models.project_copy import copy_project
from models.schema import Coding
from models.store import open_project
from tests.conftest import database_state, project_target

runner = CliRunner()


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def without_index(state: dict) -> dict:
    """The rows of every model table (the search index is rebuilt on the copy, not copied)."""
    return {table: rows for table, rows in state.items() if not table.startswith("search_")}


def test_sqlite_to_postgresql_and_back_keeps_every_row_and_the_undo_history(
    coded_study, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    source = coded_study.project
    with source.change("ana", "coding.delete", "Removed a coding") as session:
        session.delete(session.get(Coding, coded_study.codings[12]))  # a deleted id the copy must not reuse
    deleted_id = coded_study.codings[12]
    url = project_target("postgresql", tmp_path, request, name="team")

    result = cli("copy", source.target, url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verified"] and all(t["same"] for t in report["tables"])
    assert {t["table"]: t["copied_rows"] for t in report["tables"]}["codings"] == len(coded_study.codings) - 1

    back = tmp_path / "back.wqda"
    result = cli("copy", url, back)
    assert result.exit_code == 0, result.output
    assert "checksum equal" in result.stdout
    with open_project(back) as returned:
        assert without_index(database_state(returned)) == without_index(database_state(source))

    with open_project(url) as team:
        undone = history.undo(team, "ana")  # the deletion, made before the copy, is undone on the copy
        assert undone is not None
        with team.read() as session:
            assert session.get(Coding, deleted_id) is not None
        with team.change("ana", "coding.add", "New") as session:
            like = session.get(Coding, deleted_id)
            fresh = Coding(
                transcript_id=like.transcript_id, code_id=like.code_id, coder_id=like.coder_id, start=0, end=3
            )
            session.add(fresh)
            session.flush()
            assert fresh.id > max(coded_study.codings.values())  # ids are never handed out twice


def test_search_works_on_the_copy(small_project, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from models import search

    url = project_target("postgresql", tmp_path, request, name="searched")
    copy_project(small_project.target, url)
    with open_project(url) as team, team.read() as session:
        hits = search.search(session, "supervision")
    with small_project.read() as session:
        expected = search.search(session, "supervision")
    assert [(h.transcript_id, h.start, h.end) for h in hits] == [(h.transcript_id, h.start, h.end) for h in expected]
    assert hits


def test_copy_refuses_a_destination_that_holds_a_project_and_changes_nothing(small_project, tmp_path: Path) -> None:
    other = tmp_path / "other.wqda"
    assert cli("copy", small_project.target, other).exit_code == 0
    before = database_state(small_project)
    result = cli("copy", small_project.target, other)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"waveqda: error: {other}: already holds a project")
    assert database_state(small_project) == before


def test_a_copy_that_fails_midway_leaves_no_destination(small_project, tmp_path: Path, monkeypatch) -> None:
    import models.project_copy as project_copy

    def disk_full(reading, writing, table):
        if table.name == "codings":
            raise OSError("No space left on device")
        real(reading, writing, table)

    real = project_copy._copy_rows
    monkeypatch.setattr(project_copy, "_copy_rows", disk_full)
    target = tmp_path / "half.wqda"
    with pytest.raises(OSError):
        copy_project(small_project.target, target)
    assert list(tmp_path.glob("half.wqda*")) == []


def test_checksums_see_a_changed_value(small_project) -> None:
    from models.project_copy import table_checksum
    from models.schema import Turn, table_of

    with small_project.engine.connect() as conn:
        before = table_checksum(conn, table_of(Turn))
    with small_project.change("tester", "edit", "edit") as session:
        turn = session.scalars(select(Turn)).first()
        turn.speaker = turn.speaker + "x"
    with small_project.engine.connect() as conn:
        after = table_checksum(conn, table_of(Turn))
    assert before[0] == after[0] and before[1] != after[1]


def test_copy_of_a_missing_source_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(WaveqdaError, match="no such project"):
        copy_project(tmp_path / "nope.wqda", tmp_path / "copy.wqda")


def test_passwords_never_appear_in_what_copy_prints() -> None:
    from models.store import display_name

    assert "s3cret" not in display_name("postgresql+psycopg://coder:s3cret@db.example.org/study")
