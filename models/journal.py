"""The event log: every change recorded as row-level before/after images, and undo/redo replaying them.

Why row images rather than per-operation inverse functions: one generic mechanism that cannot forget a
field, covers every operation (including ones written later), and lets a property-based test prove that
undoing any sequence of operations restores the database exactly.

Capture is automatic: a session opened through ``Project.change()`` carries a ``ChangeBuffer`` in
``session.info``; SQLAlchemy flush hooks add every ORM insert, update and delete to it. Domain code must
therefore change undoable tables through the ORM (not bulk ``update()``/``delete()`` statements), or use
``set_column`` (a journalled set-based update for repointing many rows), or add its changes with
``ChangeBuffer.add`` itself.

Undo/redo (``replay``) check that every touched row still looks as the event left it, then write all rows
back with a few batched statements, so one step costs about the same whether it touched one row or 5,000.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import CursorResult, Table, TextClause, bindparam, delete, event, insert, inspect, select, text, update
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

from models import hot_sql, tombstones
from models.errors import WaveqdaError
from models.schema import Base, Event, new_uuid, table_of, utcnow

# Tables whose rows are never journalled: the log itself, and derived data rebuilt by import.
UNJOURNALLED = {"events", "tombstones", "turns", "sentences", "transcripts", "alembic_version"}

BUFFER_KEY = "waveqda_changes"
WRITTEN_EVENT_KEY = "waveqda_written_event"  # the id of the event a write session wrote (Project.last_written_event)


def _to_json(value: Any) -> Any:
    """A JSON-ready value. Datetimes become naive UTC ISO text, which is what SQLite hands back, so an image
    taken from a fresh ORM object (aware) and one read from the database (naive) compare equal."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _from_json(table: Table, column: str, value: Any) -> Any:
    if value is None:
        return None
    python_type = _python_type(table, column)
    if python_type is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if python_type is date and isinstance(value, str):
        return date.fromisoformat(value)
    return value


@lru_cache(maxsize=512)
def _python_type(table: Table, column: str) -> type | None:
    try:
        return table.c[column].type.python_type
    except NotImplementedError:
        return None


def row_image(obj: Any) -> dict[str, Any]:
    """All column values of a mapped object, JSON-ready."""
    mapper = inspect(obj).mapper
    return {col.key: _to_json(getattr(obj, col.key)) for col in mapper.column_attrs}


def image(values: dict[str, Any]) -> dict[str, Any]:
    """A row image from plain column values (for rows written with Core statements), JSON-ready."""
    return {key: _to_json(value) for key, value in values.items()}


def primary_key(obj: Any) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    return {col.key: getattr(obj, mapper.get_property_by_column(col).key) for col in mapper.primary_key}


@dataclass
class ChangeBuffer:
    """The row changes of one user-level operation, merged per row (earliest before, latest after)."""

    changes: dict[tuple[str, tuple], dict[str, Any]] = field(default_factory=dict)
    order: list[tuple[str, tuple]] = field(default_factory=list)

    def add(self, table: str, pk: dict[str, Any], before: dict | None, after: dict | None) -> None:
        key = (table, tuple(sorted(pk.items())))
        if key in self.changes:
            entry = self.changes[key]
            if entry["before"] is not None and before is not None:
                # Earlier flushes saw the older values; a later image only fills columns they did not touch.
                entry["before"] = {**before, **entry["before"]}
            entry["after"] = None if after is None else {**(entry["after"] or {}), **after}
            return
        self.changes[key] = {"table": table, "pk": pk, "before": before, "after": after}
        self.order.append(key)

    def as_list(self) -> list[dict[str, Any]]:
        out = []
        for key in self.order:
            entry = self.changes[key]
            before, after = entry["before"], entry["after"]
            if before is None and after is None:
                continue  # inserted then deleted within the operation: no net change
            if before is not None and after is not None:
                changed = {k for k in after if before.get(k) != after.get(k)}
                if not changed:
                    continue
                before = {k: before[k] for k in changed}
                after = {k: after[k] for k in changed}
            out.append({"table": entry["table"], "pk": entry["pk"], "before": before, "after": after})
        return out


def _buffer(session: Session) -> ChangeBuffer | None:
    return session.info.get(BUFFER_KEY)


def _journalled(obj: Any) -> bool:
    return isinstance(obj, Base) and table_of(obj).name not in UNJOURNALLED


def _stored_value(session: Session, obj: Any, column: str) -> Any:
    """A column's value as the database holds it (before this flush), for attributes set while unloaded."""
    table = obj.__table__
    return session.execute(select(table.c[column]).where(*_pk_clause(table, primary_key(obj)))).scalar()


def _update_images(session: Session, obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Before/after values of the columns changed on ``obj``. Only attributes in ``committed_state`` can
    have changed, so the cost follows what changed, not the width of the row."""
    state = inspect(obj)
    columns = state.mapper.column_attrs
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in list(state.committed_state):
        if key not in columns:
            continue
        history = state.manager[key].impl.get_history(state, state.dict, PASSIVE_NO_INITIALIZE)
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else _stored_value(session, obj, key)
        new = history.added[0] if history.added else None
        before[key], after[key] = _to_json(old), _to_json(new)
    return before, after


@event.listens_for(Session, "before_flush")
def _capture_updates_and_deletes(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    buffer = _buffer(session)
    if buffer is None:
        return
    for obj in session.deleted:
        if _journalled(obj):
            buffer.add(obj.__table__.name, primary_key(obj), row_image(obj), None)
    for obj in session.dirty:
        if not _journalled(obj):
            continue
        before, after = _update_images(session, obj)
        if after:
            buffer.add(obj.__table__.name, primary_key(obj), before, after)


@event.listens_for(Session, "after_flush")
def _capture_inserts(session: Session, flush_context: UOWTransaction) -> None:
    buffer = _buffer(session)
    if buffer is None:
        return
    for obj in session.new:
        if _journalled(obj):
            buffer.add(obj.__table__.name, primary_key(obj), None, row_image(obj))


def start_capture(session: Session) -> ChangeBuffer:
    buffer = ChangeBuffer()
    session.info[BUFFER_KEY] = buffer
    return buffer


def stop_capture(session: Session) -> None:
    session.info.pop(BUFFER_KEY, None)


_EVENT_COLUMNS = ("uuid", "at", "actor", "operation", "summary", "detail", "changes", "undoable", "state")


def _event_columns(prefix: str = "") -> tuple[str, str, list[Any]]:
    """An event's column list, its bind names (``prefix`` + column) and the binds whose types convert (times,
    JSON, booleans: stored exactly as the ORM stores them)."""
    table = table_of(Event)
    names = ", ".join(f'"{name}"' for name in _EVENT_COLUMNS)
    values = ", ".join(f":{prefix}{name}" for name in _EVENT_COLUMNS)
    typed = [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in ("at", "detail", "changes", "undoable")]
    return names, values, typed


@lru_cache(maxsize=8)
def _event_statements(dialect_name: str) -> tuple[Any, Any]:
    """The statements that write one event and return its id (text with typed binds, so JSON and times are
    stored exactly as the ORM stores them): ``(insert, discard-then-insert)``. On PostgreSQL the second
    discards the redo branch in the same statement (a data-modifying CTE): a change's round trips are most
    of its cost for a team's coders (issue 16)."""
    names, values, typed = _event_columns()
    insert_sql = f"INSERT INTO events ({names}) VALUES ({values}) RETURNING id"
    discard = "UPDATE events SET state = 'discarded' WHERE actor = :actor AND state = 'undone'"
    insert = text(insert_sql).bindparams(*typed)
    if dialect_name == "postgresql":
        return insert, text(f"WITH discarded AS ({discard}) {insert_sql}").bindparams(*typed)
    return insert, (text(discard), insert)


def record_event(
    session: Session,
    actor: str,
    operation: str,
    summary: str,
    changes: list[dict[str, Any]] | None,
    detail: dict[str, Any] | None = None,
    undoable: bool = True,
) -> int:
    """Write one event; returns its id. A new undoable change makes this actor's pending redo impossible
    (their undone branch is discarded); other coders' undone steps stay theirs to redo. An actor's undone
    steps are always newer than their done ones (see ``first_undone``), so these are exactly the redo branch
    (one index lookup: ix_events_actor_state).

    Written with Core statements, not an ORM object: the flush machinery for one row cost more than the
    database's work, on every change."""
    undoable = bool(undoable and changes)
    values = {
        "uuid": new_uuid(),
        "at": utcnow(),
        "actor": actor,
        "operation": operation,
        "summary": summary,
        "detail": detail,
        "changes": changes,
        "undoable": undoable,
        "state": "done",
    }
    insert_only, with_discard = _event_statements(session.get_bind().dialect.name)
    if not undoable:
        written = hot_sql.rows(session, insert_only, values)[0][0]
    elif isinstance(with_discard, tuple):
        discard, insert_event = with_discard
        session.execute(discard, {"actor": actor})
        written = hot_sql.rows(session, insert_event, values)[0][0]
    else:
        written = hot_sql.rows(session, with_discard, values)[0][0]
    session.info[WRITTEN_EVENT_KEY] = written
    return written


@lru_cache(maxsize=8)
def _event_after_row_statement(row: TextClause) -> TextClause:
    """``row`` (an INSERT ... RETURNING id that may insert nothing), then this actor's redo branch discarded
    and the event inserted, only if ``row`` was: one PostgreSQL statement (data-modifying CTEs)."""
    names, values, typed = _event_columns(prefix="event_")
    return text(
        f"WITH written AS ({row.text}), discarded AS (UPDATE events SET state = 'discarded'"
        " WHERE actor = :event_actor AND state = 'undone' AND EXISTS (SELECT 1 FROM written))"
        f" INSERT INTO events ({names}) SELECT {values} FROM written RETURNING id"
    ).bindparams(*typed, *row._bindparams.values())


def record_event_with_row(
    session: Session | hot_sql.Driver,
    row: TextClause,
    row_params: dict[str, Any],
    table: str,
    row_id: int,
    actor: str,
    operation: str,
    summary: str,
    detail: dict[str, Any] | None = None,
) -> int | None:
    """PostgreSQL: a change that is one new row (``row``: ``INSERT ... RETURNING id`` of the row whose id,
    ``row_id``, was drawn beforehand, which may decline to insert) written in the same statement as its
    undoable event; returns the event's id, or None when ``row`` inserted nothing (and then nothing was
    written). The change's journal is that one insert, so the change must have written nothing else.

    Why: each statement of a change is a round trip and ~60 us of the driver's CPU, and for a team's coders
    applying codes on two cores those were most of a change's cost (issue 16)."""
    changes = ChangeBuffer()
    changes.add(table, {"id": row_id}, None, image({"id": row_id, **row_params}))
    params = {
        **row_params,
        "event_uuid": new_uuid(),
        "event_at": utcnow(),
        "event_actor": actor,
        "event_operation": operation,
        "event_summary": summary,
        "event_detail": detail,
        "event_changes": changes.as_list(),
        "event_undoable": True,
        "event_state": "done",
    }
    found = hot_sql.first(session, _event_after_row_statement(row), params)
    if found is None:
        return None
    session.info[WRITTEN_EVENT_KEY] = found[0]
    return found[0]


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows (dicts with the same keys) in one executemany handed straight to the driver, each
    value passed through its column type's own conversion, as SQLAlchemy would pass it.

    Why: for tens of thousands of rows (a merge, an import) SQLAlchemy's per-row parameter handling cost
    more than the database's own work. Nothing is journalled here: callers add their row images themselves.
    """
    if not rows:
        return
    columns = list(rows[0])
    dialect = session.connection().dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
    values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    converted = [(i, process) for i, process in enumerate(processors) if process is not None]
    params: list[tuple[Any, ...]] = []
    for row in rows:
        row_values = values(row)
        if converted:  # only the columns whose type converts (dates, booleans): most are handed over as they are
            as_list = list(row_values)
            for i, process in converted:
                as_list[i] = process(as_list[i])
            row_values = tuple(as_list)
        params.append(row_values)
    insert_values(session, table.name, columns, params)


def insert_values(session: Session, table: str, columns: list[str], params: list[tuple[Any, ...]]) -> None:
    """INSERT many rows of driver-ready values (tuples in ``columns`` order) in one executemany: the statement
    under ``insert_rows``, and for tables outside the ORM's metadata (the full-text index)."""
    if not params:
        return
    conn = session.connection()
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})", params)


def set_column(session: Session, model: type[Base], ids: list[int], column: str, old: Any, new: Any) -> None:
    """Change one column from ``old`` to ``new`` on many rows with set-based UPDATEs, journalled exactly as an
    ORM flush would journal it.

    Why: loading thousands of ORM objects only to repoint a foreign key (merge, split) costs far more than
    the change itself; this keeps an operation's cost proportional to the rows it changes. Every row must
    hold ``old``; if one does not, the operation is refused (and rolled back) rather than journalled wrongly.
    """
    ids = list(dict.fromkeys(ids))
    table = table_of(model)
    session.flush()
    # Rows that record when they were last edited get the time of this change too: a merge reads it as the
    # evidence that the row changed (``models.merge_rows``).
    stamped = "updated_at" in table.c and column != "updated_at"
    now = datetime.now(UTC)
    edited: dict[int, Any] = {}
    changed = 0
    for chunk in chunks(ids):
        if stamped:
            query = select(table.c.id, table.c.updated_at).where(table.c.id.in_(chunk))
            edited.update(session.execute(query).tuples().all())
        values = {column: new, "updated_at": now} if stamped else {column: new}
        stmt = update(table).where(table.c.id.in_(chunk), table.c[column] == old).values(values)
        changed += cast(CursorResult, session.execute(stmt)).rowcount
    if changed != len(ids):
        raise WaveqdaError(f"{table.name}: {len(ids) - changed} rows no longer hold {column} = {old!r}; retry")
    buffer = _buffer(session)
    if buffer is not None:
        for row_id in ids:
            before, after = {column: _to_json(old)}, {column: _to_json(new)}
            if stamped:
                before["updated_at"], after["updated_at"] = _to_json(edited.get(row_id)), _to_json(now)
            buffer.add(table.name, {"id": row_id}, before, after)
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and cast(Any, obj).id in wanted:
            session.expire(obj)


# --- replay -----------------------------------------------------------------------------------------

# Row writes are batched per table and kind, so undoing a merge of thousands of codings is a handful of
# statements; foreign keys are checked at commit, so the order rows come back in does not matter.
_PRAGMA_DEFER = text("PRAGMA defer_foreign_keys = ON")
_CHUNK = 500

RowKey = tuple[str, tuple]


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _pk_clause(table: Table, pk: dict[str, Any]) -> list[Any]:
    return [table.c[k] == v for k, v in pk.items()]


def _row_key(table: str, pk: dict[str, Any]) -> RowKey:
    return table, tuple(sorted(pk.items()))


def chunks(items: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    """Slices of ``items`` small enough for an ``IN (...)`` list on any SQLite build."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _current_rows(session: Session, changes: list[dict[str, Any]], src: str) -> dict[RowKey, dict[str, Any]]:
    """The present state of every row an event touched, read with one query per table and chunk.

    Only the columns the ``src`` images name are read: that is all the "has it changed since?" check needs.
    """
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    needed: dict[str, set[str]] = defaultdict(set)
    for change in changes:
        by_table[change["table"]].append(change["pk"])
        needed[change["table"]].update(change[src] or ())
    found: dict[RowKey, dict[str, Any]] = {}
    for name, pks in by_table.items():
        table = _table(name)
        pk_columns = [c.name for c in table.primary_key.columns]
        columns = [table.c[c] for c in dict.fromkeys([*pk_columns, *sorted(needed[name])])]
        if len(pk_columns) == 1:
            key = table.c[pk_columns[0]]
            queries = [select(*columns).where(key.in_([pk[key.name] for pk in chunk])) for chunk in chunks(pks)]
        else:
            queries = _composite_key_queries(table, columns, pk_columns, pks)
        for query in queries:
            for row in session.execute(query).mappings():
                image = {k: _to_json(v) for k, v in row.items()}
                found[_row_key(name, {c: row[c] for c in pk_columns})] = image
    return found


def _composite_key_queries(
    table: Table, columns: list[Any], pk_columns: list[str], pks: list[dict[str, Any]]
) -> list[Any]:
    """Queries for rows with a composite key: the keys are grouped by all columns but the one that varies
    most, which goes in an ``IN`` list (so a merge's 50,000 baselines, one replica and kind, are 100 indexed
    queries rather than 50,000 single-row ones; SQLite does not use the index for a row-value ``IN``)."""
    varying = max(pk_columns, key=lambda c: len({pk[c] for pk in pks}))
    fixed = [c for c in pk_columns if c != varying]
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for pk in pks:
        groups[tuple(pk[c] for c in fixed)].append(pk[varying])
    return [
        select(*columns).where(
            *(table.c[c] == v for c, v in zip(fixed, values, strict=True)), table.c[varying].in_(chunk)
        )
        for values, keys in groups.items()
        for chunk in chunks(keys)
    ]


def _matches(current: dict[str, Any] | None, expected: dict[str, Any] | None) -> bool:
    if expected is None:
        return current is None
    if current is None:
        return False
    return all(current.get(k) == v for k, v in expected.items())


def _params(table: Table, values: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {f"{prefix}{k}": _from_json(table, k, v) for k, v in values.items()}


def _execute_batches(
    session: Session, batches: dict[tuple, list[dict[str, Any]]], statement: Callable[[Table, tuple, tuple], Any]
) -> None:
    for (name, pk_names, columns), rows in batches.items():
        table = _table(name)
        session.execute(statement(table, pk_names, columns), rows)


def _where_pk(table: Table, pk_names: tuple) -> list[Any]:
    return [table.c[k] == bindparam(f"pk_{k}") for k in pk_names]


def _delete_stmt(table: Table, pk_names: tuple, _columns: tuple) -> Any:
    return delete(table).where(*_where_pk(table, pk_names))


def _update_stmt(table: Table, pk_names: tuple, columns: tuple) -> Any:
    return update(table).where(*_where_pk(table, pk_names)).values({c: bindparam(f"v_{c}") for c in columns})


def _insert_stmt(table: Table, _pk_names: tuple, _columns: tuple) -> Any:
    return insert(table)


def _write_all(
    session: Session, changes: list[dict[str, Any]], dst: str, present: dict[RowKey, dict[str, Any]]
) -> None:
    """Bring every touched row to its ``dst`` image: deletes, then updates, then inserts (so a unique
    value can pass from a removed row to a restored one)."""
    deletes: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    updates: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    inserts: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for change in changes:
        name, pk, target = change["table"], change["pk"], change[dst]
        table = _table(name)
        pk_names = tuple(sorted(pk))
        pk_params = _params(table, pk, "pk_")
        if target is None:
            deletes[(name, pk_names, ())].append(pk_params)
        elif _row_key(name, pk) in present:
            columns = tuple(sorted(target))
            updates[(name, pk_names, columns)].append({**pk_params, **_params(table, target, "v_")})
        else:
            row = {**pk, **target}
            inserts[(name, pk_names, tuple(sorted(row)))].append(_params(table, row, ""))
    _execute_batches(session, deletes, _delete_stmt)
    _execute_batches(session, updates, _update_stmt)
    _execute_batches(session, inserts, _insert_stmt)
    src = "after" if dst == "before" else "before"
    for name in tombstones.KINDS:  # deletions by undo/redo leave evidence for merges, as ORM deletions do
        deleted = [c[src] for c in changes if c["table"] == name and c[dst] is None]
        restored = [
            c[dst]
            for c in changes
            if c["table"] == name and c[dst] is not None and _row_key(name, c["pk"]) not in present
        ]
        tombstones.replayed(session, name, deleted, restored)


def _expire_touched(session: Session, tables: set[str]) -> None:
    """Rows were written past the ORM; loaded objects of those tables must reload before use."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Base) and table_of(obj).name in tables:
            session.expire(obj)


def replay(session: Session, ev: Event, backwards: bool) -> None:
    """Apply an event's changes backwards (undo) or forwards (redo), refusing if rows moved on since."""
    changes = ev.changes or []
    src, dst = ("after", "before") if backwards else ("before", "after")
    session.flush()
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(_PRAGMA_DEFER)
    elif dialect == "postgresql":  # the foreign keys are DEFERRABLE there (migration 0010)
        session.execute(text("SET CONSTRAINTS ALL DEFERRED"))
    present = _current_rows(session, changes, src)
    for change in changes:
        if not _matches(present.get(_row_key(change["table"], change["pk"])), change[src]):
            raise WaveqdaError(
                f"cannot {'undo' if backwards else 'redo'} #{ev.id} ({ev.summary}): "
                f"{change['table']} row {change['pk']} has changed since"
            )
    _write_all(session, changes, dst, present)
    _refresh_search_index(session, changes)
    _expire_touched(session, {change["table"] for change in changes})


def _refresh_search_index(session: Session, changes: list[dict[str, Any]]) -> None:
    """Rebuild the full-text rows of transcripts whose text or turns a replay changed (or drop them).

    The index is derived data outside the ORM, so no row image covers it; operations that journal
    transcript rows themselves (redaction, project merge) rely on undo and redo keeping it in step.
    """
    from models import search_index

    transcript_ids: set[int] = set()
    turn_ids: list[int] = []
    for change in changes:
        if change["table"] == "transcripts":
            transcript_ids.add(change["pk"]["id"])
        elif change["table"] in ("turns", "sentences"):
            for image in (change["before"], change["after"]):
                if image and image.get("transcript_id") is not None:
                    transcript_ids.add(image["transcript_id"])
            if change["table"] == "turns":
                turn_ids.append(change["pk"]["id"])
    turns = _table("turns")
    for chunk in chunks(turn_ids):
        transcript_ids.update(session.scalars(select(turns.c.transcript_id).where(turns.c.id.in_(chunk))))
    if not transcript_ids:
        return
    transcripts = _table("transcripts")
    for transcript_id in sorted(transcript_ids):
        exists = session.scalar(select(transcripts.c.id).where(transcripts.c.id == transcript_id))
        if exists is None:
            search_index.remove_transcript(session, transcript_id)
        else:
            search_index.reindex_transcript(session, transcript_id)


def _mine(actor: str | None) -> list[Any]:
    return [] if actor is None else [Event.actor == actor]


def _last_done_id(session: Session, actor: str | None = None) -> int:
    ev_id = session.scalar(
        select(Event.id)
        .where(Event.undoable.is_(True), Event.state == "done", *_mine(actor))
        .order_by(Event.id.desc())
        .limit(1)
    )
    return ev_id or 0


def last_done(session: Session, actor: str | None = None) -> Event | None:
    """The newest undoable step still in effect (what ``undo`` takes back): the actor's own, or anyone's
    when ``actor`` is None. Per coder, so that ctrl+z never takes back a colleague's step that landed after
    mine."""
    return session.scalars(
        select(Event)
        .where(Event.undoable.is_(True), Event.state == "done", *_mine(actor))
        .order_by(Event.id.desc())
        .limit(1)
    ).first()


def first_undone(session: Session, actor: str | None = None) -> Event | None:
    """The oldest undone step (what ``redo`` does again), the actor's own or anyone's.

    An actor's undone steps always come after their newest done one (undo takes the newest, redo the oldest
    undone, a new step discards them all), so the search starts there instead of scanning the whole log.
    """
    return session.scalars(
        select(Event)
        .where(
            Event.id > _last_done_id(session, actor),
            Event.undoable.is_(True),
            Event.state == "undone",
            *_mine(actor),
        )
        .order_by(Event.id)
        .limit(1)
    ).first()
