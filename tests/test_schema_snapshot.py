"""A new project made from the schema snapshot is the project the migrations make (models/schema_snapshot.py).

Compared on real files: every entry of ``sqlite_master`` in order (what ``sqlite3 FILE .schema`` prints), every
row of every table (FTS5's shadow tables included) and the file's pragmas. If this fails after a new migration,
write the snapshot again: ``.venv/bin/python -m models.schema_snapshot``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from models import schema_snapshot
from models.store import HEAD_REVISION, create_project, make_engine, open_project, project_url, upgrade

PRAGMAS = ("user_version", "application_id", "page_size", "auto_vacuum", "encoding", "journal_mode")


def file_state(path: Path) -> dict[str, object]:
    raw = sqlite3.connect(path)
    try:
        master = raw.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()
        rows = {
            name: sorted(raw.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for kind, name, _table, sql in master
            if kind == "table" and not (sql or "").upper().startswith("CREATE VIRTUAL")
        }
        pragmas = {p: raw.execute(f"PRAGMA {p}").fetchone()[0] for p in PRAGMAS}
        return {"master": master, "rows": rows, "pragmas": pragmas}
    finally:
        raw.close()


def migrated(path: Path) -> Path:
    """A new file made the old way: every migration run by Alembic."""
    url = project_url(path)
    engine = make_engine(url)
    try:
        upgrade(engine, url)
    finally:
        engine.dispose()
    return path


def test_the_snapshot_is_current() -> None:
    script = schema_snapshot.SNAPSHOT.read_text(encoding="utf-8")
    assert schema_snapshot.snapshot_revision(script) == HEAD_REVISION, (
        "models/schema_head.sql is behind the migrations: run .venv/bin/python -m models.schema_snapshot"
    )


def test_a_new_project_has_the_migrated_schema_and_rows(tmp_path: Path) -> None:
    create_project(tmp_path / "new.wqda").close()
    made = file_state(tmp_path / "new.wqda")
    old = file_state(migrated(tmp_path / "old.wqda"))
    assert made["master"] == old["master"]
    assert made["pragmas"] == old["pragmas"]
    rows, old_rows = dict(made["rows"]), dict(old["rows"])  # type: ignore[call-overload]
    init = {name: rows.pop(name) for name in ("settings", "timepoints", "events")}  # what create_project adds
    for kept in (rows, old_rows):
        kept["sqlite_sequence"] = [r for r in kept["sqlite_sequence"] if r[0] not in init]
    assert rows == {k: v for k, v in old_rows.items() if k not in init}
    assert len(rows["sqlite_sequence"]) > 5  # the migrations' rows are there too
    assert [r[1] for r in init["timepoints"]] == ["T1", "T2", "T3"]
    with open_project(tmp_path / "new.wqda") as project:  # opens at the head revision: nothing to migrate
        assert project.damaged is None


def test_the_snapshot_rebuilds_what_it_was_taken_from(tmp_path: Path) -> None:
    script = schema_snapshot.SNAPSHOT.read_text(encoding="utf-8")
    raw = sqlite3.connect(tmp_path / "replayed.wqda")
    try:
        schema_snapshot.apply_snapshot(raw, script)
        assert schema_snapshot.snapshot_script(raw, HEAD_REVISION) == script
    finally:
        raw.close()
    assert file_state(tmp_path / "replayed.wqda")["master"] == file_state(migrated(tmp_path / "old.wqda"))["master"]


def test_a_stale_snapshot_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot of another revision (a migration added, the snapshot not written again): the migrations run."""
    stale = tmp_path / "stale.sql"
    stale.write_text("-- waveqda schema at revision 0001_initial (old)\nCREATE TABLE wrong (x);\n", encoding="utf-8")
    monkeypatch.setattr(schema_snapshot, "SNAPSHOT", stale)
    assert schema_snapshot.current_snapshot(HEAD_REVISION) is None
    create_project(tmp_path / "new.wqda").close()
    assert file_state(tmp_path / "new.wqda")["master"] == file_state(migrated(tmp_path / "old.wqda"))["master"]
