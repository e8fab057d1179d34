"""``journal.insert_rows`` converts each distinct value once (issue 14): the stored values are the ones the
column types write for every row, including equal values that are written differently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from models import journal
from models.schema import Code, table_of
from models.store import Project


def test_each_row_stored_as_its_own_values(project: Project) -> None:
    utc = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    same_instant = datetime(2024, 1, 1, 11, 0, tzinfo=timezone(timedelta(hours=1)))  # == utc, other wall clock
    naive = datetime(2024, 1, 1, 10, 0)  # != utc (naive), written like it
    rows = [
        {"uuid": f"00000000-0000-4000-8000-00000000000{i}", "name": f"c{i}", "position": i, "archived": flag,
         "created_at": when, **dict.fromkeys(["definition", "inclusion", "exclusion", "example", "memo"], ""),
         "colour": "#888888"}
        for i, (flag, when) in enumerate([(True, utc), (False, same_instant), (True, utc), (1, naive)])
    ]  # fmt: skip
    with project.change("tester", "test.insert") as session:
        journal.insert_rows(session, table_of(Code), rows)
    with project.read() as session:
        raw = session.connection().exec_driver_sql("SELECT name, archived, created_at FROM codes ORDER BY name")
        assert raw.all() == [
            ("c0", 1, "2024-01-01 10:00:00.000000"),
            ("c1", 0, "2024-01-01 11:00:00.000000"),
            ("c2", 1, "2024-01-01 10:00:00.000000"),
            ("c3", 1, "2024-01-01 10:00:00.000000"),
        ]
        assert session.scalars(select(Code.archived).order_by(Code.name)).all() == [True, False, True, True]
