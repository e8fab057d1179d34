"""A new SQLite project's schema from one script instead of running every migration (issue 14).

Creating a project ran all the Alembic migrations (importing Alembic, rebuilding tables in batch mode): about
0.3 s CPU of every ``waveqda import`` into a new file. ``schema_head.sql`` holds what those migrations leave in
a new file: every ``CREATE`` statement of ``sqlite_master`` in its order (SQLite keeps each statement's text,
so replaying them gives the same ``.schema``) and the rows they leave (the Alembic version). It is written by

    .venv/bin/python -m models.schema_snapshot

and ``tests/test_schema_snapshot.py`` checks that a project created from it and one created by the migrations
hold the same schema and rows, so the two cannot drift apart unnoticed. When they do (a new migration, the
snapshot not yet written again), the snapshot names another revision than ``HEAD_REVISION`` and new projects
are created by the migrations as before: slower, never different. PostgreSQL always runs the migrations.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("schema_head.sql")
_HEADER = "-- waveqda schema at revision "


def snapshot_revision(script: str) -> str | None:
    """The revision a snapshot was taken at, from its first line."""
    first = script.partition("\n")[0]
    return first.removeprefix(_HEADER).split(" ")[0] if first.startswith(_HEADER) else None


def snapshot_script(raw: sqlite3.Connection, revision: str) -> str:
    """The statements that rebuild ``raw``'s schema and rows (a freshly migrated, empty project)."""
    shadow = {name for (name,) in raw.execute("SELECT name FROM pragma_table_list WHERE type = 'shadow'")}
    lines = [f"{_HEADER}{revision} (written by `python -m models.schema_snapshot`; do not edit)"]
    tables = []
    for kind, name, sql in raw.execute("SELECT type, name, sql FROM sqlite_master ORDER BY rowid"):
        if name == "sqlite_sequence":
            tables.append(name)  # made by the first AUTOINCREMENT table; the migrations leave rows in it
        if sql is None or name.startswith("sqlite_") or name in shadow:
            continue  # automatic indexes, SQLite's own tables, FTS5's shadow tables: made by the statements
        lines.append(f"{sql};")
        if kind == "table" and not sql.upper().startswith("CREATE VIRTUAL"):
            tables.append(name)
    for name in tables:
        columns = [row[1] for row in raw.execute(f'PRAGMA table_info("{name}")')]
        quoted = " || ',' || ".join(f'quote("{c}")' for c in columns)
        for (values,) in raw.execute(f'SELECT {quoted} FROM "{name}" ORDER BY rowid'):
            lines.append(f'INSERT INTO "{name}" VALUES({values});')
    return "\n".join(lines) + "\n"


def current_snapshot(revision: str) -> str | None:
    """The snapshot's statements when it was taken at ``revision``, else None (run the migrations)."""
    try:
        script = SNAPSHOT.read_text(encoding="utf-8")
    except OSError:
        return None
    return script if snapshot_revision(script) == revision else None


def apply_snapshot(raw: sqlite3.Connection, script: str) -> None:
    """Run the snapshot on a new, empty database in one transaction."""
    raw.executescript(f"BEGIN;\n{script}COMMIT;\n")


def write_snapshot(path: Path = SNAPSHOT) -> Path:
    """Create a project by the migrations in a scratch folder and write its snapshot to ``path``."""
    import tempfile

    from models.store import HEAD_REVISION, make_engine, project_url, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "head.wqda"
        url = project_url(target)
        engine = make_engine(url)
        try:
            upgrade(engine, url)
        finally:
            engine.dispose()
        raw = sqlite3.connect(target)
        try:
            path.write_text(snapshot_script(raw, HEAD_REVISION), encoding="utf-8")
        finally:
            raw.close()
    return path


if __name__ == "__main__":
    print(f"wrote {write_snapshot()}", file=sys.stderr)
