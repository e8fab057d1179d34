"""ids never reused, event identity across copied files, merge baselines

Revision ID: 0005_store_safety
Revises: 0004_query_indexes
Create Date: 2026-12-06

- SQLite hands a deleted row's id to the next new row unless the table is declared ``AUTOINCREMENT``; a
  workspace still holding an old coding id could then remove a colleague's new coding. The entity tables are
  rebuilt with ``AUTOINCREMENT`` (SQLite's documented twelve-step rebuild, keeping every constraint and
  index exactly as it was). PostgreSQL sequences never reuse a value, so nothing changes there.
- ``events.uuid``: coders' files copied from one master share their early events and their project id; a
  merge needs each event's own identity to copy each coder's history exactly once. Existing events get a
  uuid derived from their content, so the shared early events of two copies get the same one.
- ``merge_baselines``: what the last merge saw of each coding and memo (see ``models.schema.MergeBaseline``),
  and ``tombstones``: which codings and memos were deleted (``models.schema.Tombstone``).
"""

import re
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005_store_safety"
down_revision = "0004_query_indexes"
branch_labels = None
depends_on = None

AUTOINCREMENT_TABLES = [
    "participants",
    "attribute_definitions",
    "transcripts",
    "coders",
    "codes",
    "codings",
    "memos",
    "events",
    "name_entries",
    "name_candidates",
]
EVENT_NAMESPACE = uuid.UUID("6b1f8f0e-6a44-4d1c-9c53-2d8f3f0f7a10")


def _backfill_event_uuids(conn) -> None:
    project = conn.execute(sa.text("SELECT value FROM settings WHERE key = 'project_uuid'")).scalar()
    rows = conn.execute(sa.text("SELECT id, at, actor, operation, summary FROM events")).all()
    values = [
        {"id": row[0], "uuid": str(uuid.uuid5(EVENT_NAMESPACE, "|".join(str(v) for v in (project, *row))))}
        for row in rows
    ]
    if values:
        conn.execute(sa.text("UPDATE events SET uuid = :uuid WHERE id = :id"), values)


def _autoincrement_sql(sql: str, table: str) -> str:
    """The table's CREATE statement with ``id INTEGER ... PRIMARY KEY AUTOINCREMENT`` instead of a table-level
    primary key (the only form SQLite accepts AUTOINCREMENT in)."""
    new, n = re.subn(r"\bid INTEGER NOT NULL,", "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", sql, count=1)
    new, m = re.subn(r"\s*CONSTRAINT pk_\w+ PRIMARY KEY \(id\),?", "", new, count=1)
    new = re.sub(r",(\s*)\)\s*$", r"\1)", new)  # the primary key was the last clause
    if n != 1 or m != 1:
        raise RuntimeError(f"cannot rebuild table {table}: unexpected definition")
    return new


def _rebuild_sqlite(conn, table: str, transform=None) -> None:
    """Rebuild ``table`` with an AUTOINCREMENT id (and ``transform`` applied to its definition), keeping its
    rows, constraints and indexes."""
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": table})
    sql = sql.scalar()
    if "AUTOINCREMENT" in sql:
        return
    new_sql = _autoincrement_sql(sql, table)
    if transform is not None:
        new_sql = transform(new_sql)
    indexes = conn.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :n AND sql IS NOT NULL"),
        {"n": table},
    )
    indexes = list(indexes.scalars())
    columns = ", ".join(f'"{row[1]}"' for row in conn.execute(sa.text(f'PRAGMA table_info("{table}")')))
    temp = f"_rebuild_{table}"
    conn.execute(sa.text(new_sql.replace(f"CREATE TABLE {table} ", f"CREATE TABLE {temp} ", 1)))
    conn.execute(sa.text(f'INSERT INTO "{temp}" ({columns}) SELECT {columns} FROM "{table}"'))
    conn.execute(sa.text(f'DROP TABLE "{table}"'))
    conn.execute(sa.text(f'ALTER TABLE "{temp}" RENAME TO "{table}"'))
    for index_sql in indexes:
        conn.execute(sa.text(index_sql))


def _events_uuid_required(sql: str) -> str:
    """``events`` as the models declare it: ``uuid`` (added at the end by ALTER TABLE) NOT NULL and unique."""
    sql = re.sub(r",\s*uuid VARCHAR\(36\)(?! NOT NULL)", "", sql, count=1)
    sql = sql.replace("AUTOINCREMENT,", "AUTOINCREMENT, \n\tuuid VARCHAR(36) NOT NULL,", 1)
    return re.sub(r"(\s*)\)\s*$", r", \n\tCONSTRAINT uq_events_uuid UNIQUE (uuid)\1)", sql)


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("events", sa.Column("uuid", sa.String(length=36), nullable=True))
    _backfill_event_uuids(conn)
    if conn.dialect.name == "sqlite":
        # The store turns foreign keys off around migrations (a referenced table may be dropped while it is
        # rebuilt) and checks them all again afterwards.
        for table in AUTOINCREMENT_TABLES:
            _rebuild_sqlite(conn, table, _events_uuid_required if table == "events" else None)
    else:
        op.alter_column("events", "uuid", nullable=False)
        op.create_unique_constraint("uq_events_uuid", "events", ["uuid"])
    op.create_index("ix_events_actor_state", "events", ["actor", "state", "id"], unique=False)
    op.create_table(
        "tombstones",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('coding','memo')", name=op.f("ck_tombstones_kind")),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_tombstones")),
    )
    op.create_table(
        "merge_baselines",
        sa.Column("replica", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('coding','memo')", name=op.f("ck_merge_baselines_kind")),
        sa.PrimaryKeyConstraint("replica", "kind", "uuid", name=op.f("pk_merge_baselines")),
    )


def downgrade() -> None:
    op.drop_table("merge_baselines")
    op.drop_table("tombstones")
    op.drop_index("ix_events_actor_state", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("uq_events_uuid", type_="unique")
        batch.drop_column("uuid")
