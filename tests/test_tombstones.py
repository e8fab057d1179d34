"""Tombstones (the evidence a merge reads that a coding was deleted here) stay right when the write path skips
work: a new coding costs no tombstone statement, a deleted coding leaves one, and a row that comes back with its
old uuid (redo, an import) has its tombstone removed."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from models import codebook, coding, history
from models.schema import Coding, Tombstone


def _tombstones(project) -> set[str]:
    with project.read() as session:
        return set(session.scalars(select(Tombstone.uuid)))


def _uuid(project, coding_id: int) -> str:
    with project.read() as session:
        return session.scalars(select(Coding.uuid).where(Coding.id == coding_id)).one()


@pytest.mark.both_engines
def test_new_coding_skips_tombstones_and_a_coding_back_from_the_dead_is_unburied(small_project):
    project = small_project
    codebook.add_code(project, "t", "Theme/A")
    statements: list[str] = []

    def capture(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(project.engine, "before_cursor_execute", capture)
    try:
        [first] = coding.apply_codes(project, "dana", "P01/T1", ["Theme/A"], "dana", 0, 10)
    finally:
        event.remove(project.engine, "before_cursor_execute", capture)
    # the coding's own INSERT goes to the driver directly on PostgreSQL (models/hot_sql.py); tombstone
    # statements would come through SQLAlchemy on both engines
    assert any("INSERT INTO codings" in s for s in statements) or project.engine.dialect.name == "postgresql"
    assert statements and not any("tombstones" in s for s in statements), "a brand-new uuid cannot have a tombstone"

    uuid = _uuid(project, first)
    with project.read() as session:
        where = session.execute(
            select(Coding.transcript_id, Coding.code_id, Coding.coder_id).where(Coding.id == first)
        ).one()
    coding.remove_coding(project, "dana", first)
    assert uuid in _tombstones(project)

    history.undo(project, "dana")  # the coding comes back with its old uuid
    assert _uuid(project, first) == uuid
    assert uuid not in _tombstones(project)

    history.redo(project, "dana")
    assert uuid in _tombstones(project)
    with project.change("dana", "test.restore") as session:  # an ORM row given an old uuid (as imports do)
        session.add(Coding(uuid=uuid, transcript_id=where[0], code_id=where[1], coder_id=where[2], start=0, end=10))
    assert uuid not in _tombstones(project)
