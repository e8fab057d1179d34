"""The project store: file creation, SQLite settings, migrations, errors, the change journal."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text

from models.errors import WaveqdaError
from models.schema import Code, Event
from models.store import (
    HEAD_REVISION,
    KNOWN_REVISIONS,
    alembic_config,
    create_project,
    current_revision,
    make_engine,
    open_project,
    parse_timepoints,
    project_url,
    timepoints,
    upgrade,
)


def test_head_revision_constant_matches_alembic_head() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_current_head() == HEAD_REVISION
    history = [rev.revision for rev in script.walk_revisions()]
    assert tuple(reversed(history)) == KNOWN_REVISIONS


def test_new_project_is_private_wal_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "study.wqda"
    project = create_project(path, parse_timepoints("A=Baseline,B=Follow-up"), name="Mine")
    with project.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    with project.read() as session:
        assert [(t.key, t.label) for t in timepoints(session)] == [("A", "Baseline"), ("B", "Follow-up")]
    project.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_default_timepoints(project) -> None:
    with project.read() as session:
        assert [(t.key, t.label) for t in timepoints(session)] == [
            ("T1", "After training"),
            ("T2", "4 months"),
            ("T3", "12 months"),
        ]


def test_foreign_keys_are_enforced(project) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="FOREIGN KEY"), project.change("t", "bad") as session:
        session.add(Code(name="orphan", parent_id=999))


@pytest.mark.parametrize(
    ("spec", "message"),
    [("", "no timepoints"), ("T1=a,T1=b", "listed twice"), ("T 1=a", "invalid timepoint")],
)
def test_bad_timepoint_specs(spec: str, message: str) -> None:
    with pytest.raises(WaveqdaError, match=message):
        parse_timepoints(spec)


def test_init_refuses_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.wqda"
    path.write_text("hello")
    with pytest.raises(WaveqdaError, match="already exists"):
        create_project(path)
    assert path.read_text() == "hello"


def test_open_refuses_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(WaveqdaError, match="no such project"):
        open_project(tmp_path / "missing.wqda")
    junk = tmp_path / "junk.wqda"
    junk.write_bytes(b"PK\x03\x04 not a database")
    with pytest.raises(WaveqdaError, match="not an SQLite database"):
        open_project(junk)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("create table x(a)")
    conn.commit()
    conn.close()
    with pytest.raises(WaveqdaError, match="not a waveqda project"):
        open_project(other)
    with pytest.raises(WaveqdaError, match="not a project file"):
        open_project(tmp_path)


def test_create_in_an_unwritable_place_is_one_line(tmp_path: Path, monkeypatch) -> None:
    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)  # chmod would not stop a test run as root
    with pytest.raises(WaveqdaError, match="cannot create the file \\(Permission denied\\)"):
        create_project(tmp_path / "x.wqda")
    assert list(tmp_path.iterdir()) == []


def test_change_writes_one_event_with_row_changes(project) -> None:
    with project.change("ana", "code.add", "Added code Hope") as session:
        session.add(Code(name="Hope", colour="#112233"))
    with project.read() as session:
        event = session.scalars(select(Event).order_by(Event.id.desc())).first()
        assert (event.actor, event.operation, event.summary, event.undoable) == (
            "ana",
            "code.add",
            "Added code Hope",
            True,
        )
        [change] = event.changes
        assert change["table"] == "codes" and change["before"] is None and change["after"]["name"] == "Hope"


def test_failed_change_leaves_nothing(project) -> None:
    with pytest.raises(RuntimeError), project.change("ana", "code.add") as session:
        session.add(Code(name="Hope"))
        session.flush()
        raise RuntimeError("crash mid-operation")
    with project.read() as session:
        assert session.scalars(select(Code)).all() == []
        assert session.scalars(select(Event).where(Event.operation == "code.add")).all() == []


def test_old_revision_is_migrated_with_backup_and_keeps_rows(tmp_path: Path) -> None:
    """A database at revision 0001 (before the search index) is upgraded on open and keeps its rows."""
    path = tmp_path / "old.wqda"
    url = project_url(path)
    engine = make_engine(url)
    upgrade(engine, url, "0001_initial")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO timepoints (key, label, position) VALUES ('T1', 'After training', 0)"))
        conn.execute(text("INSERT INTO participants (uuid, study_id, created_at) VALUES ('u1', 'P01', '2026-01-01')"))
        conn.execute(
            text(
                "INSERT INTO transcripts (uuid, participant_id, timepoint_id, title, source_name, source_format,"
                " sha256, text, word_count, imported_by, imported_at) VALUES"
                " ('t1', 1, 1, 'old', 'old.txt', 'txt', 'x', 'I: Hi there.\nP: Hello again.', 5, 'me', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                'INSERT INTO turns (transcript_id, "index", speaker, role, start, "end") VALUES (1, 0, \'P\', '
                "'participant', 16, 28)"
            )
        )
    assert current_revision(engine) == "0001_initial"
    engine.dispose()

    project = open_project(path)
    assert current_revision(project.engine) == HEAD_REVISION
    with project.engine.connect() as conn:
        assert conn.execute(text("SELECT study_id FROM participants")).scalars().all() == ["P01"]
        hits = conn.execute(text("SELECT rowid FROM search_index WHERE search_index MATCH 'hello'")).all()
        assert hits == [(1,)]
    project.close()
    backups = list(tmp_path.glob("old.wqda.before-*.bak"))
    assert len(backups) == 1
    conn = sqlite3.connect(backups[0])
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001_initial",)
    assert conn.execute("SELECT count(*) FROM transcripts").fetchone() == (1,)
    conn.close()


def test_migrations_build_exactly_the_models_schema(project) -> None:
    """Alembic's autogenerate finds no difference between the migrated database and the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models.schema import Base

    with project.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "search_" not in str(d)] == []
