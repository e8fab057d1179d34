"""Copy a whole project between engines: an SQLite file to a PostgreSQL database and back (``waveqda copy``).

Why not a dump: a team moving its study to a server (or a lead taking a server project home) needs every row
as it was, ids included, so the journal's row images still name the right rows and undo keeps working after
the move. The copy is verified before it is reported done: each table's row count and a checksum over its
rows (in primary-key order, values normalised so both engines' types compare) must match the source's.

Derived data is rebuilt rather than copied: the full-text index. Id high-water marks are carried over, so
an id deleted in the source is never handed out again in the copy.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select, text

from models import search_index
from models.errors import WaveqdaError
from models.schema import Base, Transcript
from models.store import Project, create_schema, discard_new, display_name, open_project, project_exists

BATCH_ROWS = 5_000


@dataclass(frozen=True)
class TableCheck:
    """One table on both sides: rows and checksum in the source and in the copy."""

    table: str
    source_rows: int
    copied_rows: int
    source_checksum: str
    copied_checksum: str

    @property
    def same(self) -> bool:
        return self.source_rows == self.copied_rows and self.source_checksum == self.copied_checksum

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "same": self.same}


@dataclass(frozen=True)
class CopyReport:
    source: str
    destination: str
    tables: tuple[TableCheck, ...]

    @property
    def verified(self) -> bool:
        return all(t.same for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.copied_rows for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "verified": self.verified,
            "rows": self.rows,
            "tables": [t.as_dict() for t in self.tables],
        }


def copy_project(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> CopyReport:
    """Copy every row of ``source`` into a new project at ``destination`` (a file or a database URL holding no
    project yet) in one transaction, rebuild its search index, and verify it table by table.

    A copy that fails, or does not verify, is removed again: the destination is left as it was."""
    if project_exists(destination):
        raise WaveqdaError(
            f"{display_name(destination)}: already holds a project; copy into a new file or empty database"
        )
    with open_project(source) as src:
        dest = create_schema(destination)
        try:
            with src.engine.connect() as reading, dest.engine.begin() as writing:
                _defer_foreign_keys(writing)
                for table in _tables():
                    _copy_rows(reading, writing, table)
                    _carry_high_water_mark(reading, writing, table)
            _rebuild_search_index(dest)
            report = CopyReport(src.label, dest.label, tuple(_compare(src, dest)))
        except BaseException:
            discard_new(dest)
            raise
        if not report.verified:
            discard_new(dest)
            differing = ", ".join(t.table for t in report.tables if not t.same)
            raise WaveqdaError(f"{report.destination}: the copy differs from {report.source} in {differing}; removed")
        dest.close()
    return report


def _tables() -> list[Table]:
    """Every table of the models, parents before children."""
    return list(Base.metadata.sorted_tables)


def _defer_foreign_keys(conn: Connection) -> None:
    """Rows of a table that refers to itself (codes' parents) may arrive in any order within the transaction."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    else:
        conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))


def _ordered(table: Table) -> Any:
    return select(table).order_by(*table.primary_key.columns)


def _copy_rows(reading: Connection, writing: Connection, table: Table) -> None:
    convert = _value_converter(writing.dialect.name)
    for batch in _batches(reading.execute(_ordered(table)).mappings()):
        writing.execute(table.insert(), [{k: convert(v) for k, v in row.items()} for row in batch])


def _batches(rows: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _value_converter(dialect: str) -> Any:
    """Times are stored in UTC: SQLite keeps them naive, PostgreSQL aware; each gets its own form."""

    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            return utc if dialect == "postgresql" else utc.replace(tzinfo=None)
        return value

    return convert


def _id_column(table: Table) -> str | None:
    columns = list(table.primary_key.columns)
    if len(columns) == 1 and columns[0].autoincrement in (True, "auto") and columns[0].type.python_type is int:
        return columns[0].name
    return None


def _high_water_mark(conn: Connection, table: Table, column: str) -> int:
    """The highest id ever handed out in ``table`` (deleted rows included), or 0."""
    highest = conn.execute(select(func.coalesce(func.max(table.c[column]), 0))).scalar_one()
    if conn.dialect.name == "sqlite":
        if conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first() is None:
            return int(highest)
        seq = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table.name}).scalar()
    else:
        name = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column}).scalar()
        seq = None
        if name is not None:
            last, called = conn.execute(text(f"SELECT last_value, is_called FROM {name}")).one()
            seq = last if called else None
    return max(int(highest), int(seq or 0))


def _carry_high_water_mark(reading: Connection, writing: Connection, table: Table) -> None:
    column = _id_column(table)
    if column is None:
        return
    mark = _high_water_mark(reading, table, column)
    if mark == 0:
        return
    if writing.dialect.name == "sqlite":
        autoincrement = writing.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :t AND sql LIKE '%AUTOINCREMENT%'"),
            {"t": table.name},
        ).first()
        if autoincrement is None:
            return
        updated = writing.execute(
            text("UPDATE sqlite_sequence SET seq = max(seq, :v) WHERE name = :t"), {"v": mark, "t": table.name}
        )
        if updated.rowcount == 0:
            writing.execute(
                text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :v)"), {"t": table.name, "v": mark}
            )
    else:
        name = writing.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column}).scalar()
        if name is not None:
            writing.execute(text("SELECT setval(CAST(:s AS regclass), :v, true)"), {"s": name, "v": mark})


def _rebuild_search_index(project: Project) -> None:
    """The index is derived data (not among the models' tables, so not copied): built on the new copy the way
    a merge builds it for the transcripts it copies."""
    with project.write_session() as session:
        for transcript_id in session.scalars(select(Transcript.id)).all():
            search_index.reindex_transcript(session, transcript_id, new=True)


def _compare(source: Project, copy: Project) -> Iterator[TableCheck]:
    with source.engine.connect() as a, copy.engine.connect() as b:
        for table in _tables():
            count_a, sum_a = table_checksum(a, table)
            count_b, sum_b = table_checksum(b, table)
            yield TableCheck(table.name, count_a, count_b, sum_a, sum_b)


def table_checksum(conn: Connection, table: Table) -> tuple[int, str]:
    """Rows and a SHA-256 over them in primary-key order, each value in a form both engines agree on."""
    digest = hashlib.sha256()
    count = 0
    for row in conn.execute(_ordered(table)):
        digest.update(json.dumps([_canonical(v) for v in row], ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return utc.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, bytes):
        return value.hex()
    return value
