"""The few statements every change runs, handed to PostgreSQL's driver directly.

Why: with eight coders on two cores, a team's changes per second are bound by the clients' CPU, and
SQLAlchemy's per-statement work (compilation cache, parameter processing, result metadata) cost about 110 us
of the ~180 us a small statement took (issue 16). These statements are fixed ``text()`` constructs with
their types declared on the binds, so the translation is mechanical: ``:name`` becomes ``%(name)s`` and a
JSON-typed value is wrapped for psycopg, which is what SQLAlchemy's psycopg dialect would send. On SQLite
(one writer at a time, no round trips) they go through the session as before.

They run on a session's own connection, inside its transaction, or on a ``Driver``: a pooled connection in a
transaction with no session at all (``Project.driver_change``, for the one change made at every keystroke).
Driver errors are re-raised as SQLAlchemy's, so callers handle one kind (a lock timeout is an
``OperationalError`` either way).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy import JSON, TextClause
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

_NAMED = re.compile(r"(?<![:\w]):(\w+)")  # ":name", not the "::" of a cast
_CURSOR_KEY = "waveqda_hot_cursor"
_TUPLES_OK = 2  # psycopg.pq.ExecStatus.TUPLES_OK (libpq's PGRES_TUPLES_OK), without importing psycopg here

Translated = tuple[str, tuple[tuple[str, Callable[[Any], Any]], ...]]
# by the statement's identity (they are module constants; SQL constructs overload ``==``, so no lru_cache)
_translated: dict[int, tuple[TextClause, Translated]] = {}


class Driver:
    """A pooled PostgreSQL connection (SQLAlchemy's pool entry) in a transaction, without a session.

    ``info`` carries what a session's ``info`` would (the event a change wrote)."""

    def __init__(self, pooled: Any, driver_error: type[Exception]) -> None:
        self.pooled = pooled
        self.driver_error = driver_error
        self.info: dict[str, Any] = {}
        self.cursor = driver_cursor_of(pooled)

    def rows(self, statement: TextClause, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        return _run(self.cursor, self.driver_error, statement, params)

    def commit(self) -> None:
        try:
            self.pooled.dbapi_connection.commit()
        except self.driver_error as exc:
            raise DBAPIError.instance("COMMIT", {}, exc, self.driver_error) from exc

    def rollback(self) -> None:
        """Roll back; a connection too broken for that is left to the pool, which discards it."""
        with suppress(self.driver_error):
            self.pooled.dbapi_connection.rollback()


def _for_psycopg(statement: TextClause) -> Translated:
    """The statement in psycopg's parameter style, and the conversion of each JSON-typed bind."""
    known = _translated.get(id(statement))
    if known is not None and known[0] is statement:
        return known[1]
    from psycopg.types.json import Json

    sql = _NAMED.sub(r"%(\1)s", statement.text.replace("%", "%%"))
    wrapped = tuple((name, Json) for name, bind in statement._bindparams.items() if isinstance(bind.type, JSON))
    _translated[id(statement)] = (statement, (sql, wrapped))
    return sql, wrapped


def rows(target: Session | Driver, statement: TextClause, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
    """Every row ``statement`` returns, as tuples (run on the driver's cursor on PostgreSQL)."""
    if isinstance(target, Driver):
        return target.rows(statement, params)
    connection = target.connection()
    if connection.dialect.name != "postgresql":
        return target.execute(statement, params).all()
    return _run(driver_cursor_of(connection.connection), connection.dialect.loaded_dbapi.Error, statement, params)


def first(target: Session | Driver, statement: TextClause, params: dict[str, Any]) -> Sequence[Any] | None:
    """The first row ``statement`` returns, or None."""
    found = rows(target, statement, params)
    return found[0] if found else None


def _run(
    cursor: Any, driver_error: type[Exception], statement: TextClause, params: dict[str, Any]
) -> Sequence[Sequence[Any]]:
    sql, wrapped = _for_psycopg(statement)
    if wrapped:
        params = {**params, **{name: wrap(params[name]) for name, wrap in wrapped}}
    try:
        cursor.execute(sql, params)
        result = cursor.pgresult
        # (not ``cursor.description``: it builds a column object per column, for nothing here)
        return cursor.fetchall() if result is not None and result.status == _TUPLES_OK else []
    except driver_error as exc:  # as SQLAlchemy raises it (a lock timeout is an OperationalError, and so on)
        raise DBAPIError.instance(sql, params, exc, driver_error) from exc


def driver_cursor_of(pooled: Any) -> Any:
    """The driver's cursor kept with a pool entry, made once: a psycopg cursor is reusable, and making one
    copies the connection's adapters each time."""
    dbapi = pooled.dbapi_connection
    cursor = pooled.info.get(_CURSOR_KEY)
    if cursor is None or cursor.closed or cursor.connection is not dbapi:  # (a reconnected pool entry)
        assert dbapi is not None
        cursor = pooled.info[_CURSOR_KEY] = dbapi.cursor()
    return cursor
