"""How the queries read rows: through SQLAlchemy Core (``fetch_rows``) or, for bulk integer and text columns,
straight from the driver's cursor (``driver_rows``), with the garbage collector paused while tens of
thousands of result objects are built (``collector_paused``). Every query family reads through these."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Select
from sqlalchemy.orm import Session

from models.store import VIEWER_KEY


def fetch_rows(session: Session, stmt: Select) -> Sequence[Any]:
    """Plain rows through Core: several times cheaper than ORM result processing for bulk offsets."""
    return session.connection().execute(for_viewer(session, stmt)).all()


def for_viewer(session: Session, stmt: Select) -> Select:
    """Blind coding's filter for a read on someone's behalf (Core statements bypass the ORM's events). A
    subquery over the codings is not reached from the statement around it: give it here on its own."""
    if VIEWER_KEY not in session.info:
        return stmt
    from models.blind import restrict

    return restrict(session, stmt)


@contextmanager
def collector_paused() -> Iterator[None]:
    """While building tens of thousands of result objects: the cyclic garbage collector would otherwise stop
    every 700 allocations to walk the young objects, and now and then the whole heap (a third of the time
    of ``coded_spans`` in a process holding a project's segments). Results hold no reference cycles; the
    collector runs again as soon as it is re-enabled. Left off if the caller had turned it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def driver_rows(session: Session, stmt: Select) -> list[tuple[Any, ...]]:
    """Rows as the database driver returns them: plain tuples, without SQLAlchemy's row objects and result
    processing, which cost as much again as the query on 50,000 codings. Only for statements whose
    columns need no conversion (integers and text; a Boolean column comes back as 0/1 and the caller
    converts it) and whose parameters are plain integers and strings (anything else goes through
    ``fetch_rows``). Runs on the session's connection, inside its transaction."""
    stmt = for_viewer(session, stmt)
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if not all(type(value) in (int, str) for value in params.values()):
        return [tuple(row) for row in fetch_rows(session, stmt)]
    values = [params[name] for name in compiled.positiontup or ()] if compiled.positional else params
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(compiled), values)
        return cast(list[tuple[Any, ...]], cursor.fetchall())  # sqlite3 returns a list of tuples
    finally:
        cursor.close()


ID_CHUNK = 5000  # ids per IN (...) list, well under SQLite's limit on bound parameters
