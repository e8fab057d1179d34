"""The event log: every change recorded as row-level before/after images, and undo/redo replaying them.

Why row images rather than per-operation inverse functions: one generic mechanism that cannot forget a
field, covers every operation (including ones written later), and lets a property-based test prove that
undoing any sequence of operations restores the database exactly.

Capture is automatic: a session opened through ``Project.change()`` carries a ``ChangeBuffer`` in
``session.info``; SQLAlchemy flush hooks add every ORM insert, update and delete to it. Domain code must
therefore change undoable tables through the ORM (not bulk ``update()``/``delete()`` statements), or add
its changes with ``ChangeBuffer.add`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, delete, event, insert, inspect, select, update
from sqlalchemy.orm import Session, UOWTransaction

from models.errors import WaveqdaError
from models.schema import Base, Event

# Tables whose rows are never journalled: the log itself, and derived data rebuilt by import.
UNJOURNALLED = {"events", "turns", "sentences", "transcripts", "alembic_version"}

BUFFER_KEY = "waveqda_changes"


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _from_json(table: Table, column: str, value: Any) -> Any:
    if value is None:
        return None
    python_type = None
    try:
        python_type = table.c[column].type.python_type
    except NotImplementedError:
        return value
    if python_type is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if python_type is date and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def row_image(obj: Any) -> dict[str, Any]:
    """All column values of a mapped object, JSON-ready."""
    mapper = inspect(obj).mapper
    return {col.key: _to_json(getattr(obj, col.key)) for col in mapper.column_attrs}


def primary_key(obj: Any) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    return {col.key: getattr(obj, mapper.get_property_by_column(col).key) for col in mapper.primary_key}


@dataclass
class ChangeBuffer:
    """The row changes of one user-level operation, merged per row (first before, last after)."""

    changes: dict[tuple[str, tuple], dict[str, Any]] = field(default_factory=dict)
    order: list[tuple[str, tuple]] = field(default_factory=list)

    def add(self, table: str, pk: dict[str, Any], before: dict | None, after: dict | None) -> None:
        key = (table, tuple(sorted(pk.items())))
        if key in self.changes:
            entry = self.changes[key]
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
    return isinstance(obj, Base) and obj.__table__.name not in UNJOURNALLED


@event.listens_for(Session, "before_flush")
def _capture_updates_and_deletes(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    buffer = _buffer(session)
    if buffer is None:
        return
    for obj in session.deleted:
        if _journalled(obj):
            buffer.add(obj.__table__.name, primary_key(obj), row_image(obj), None)
    for obj in session.dirty:
        if not _journalled(obj) or not session.is_modified(obj, include_collections=False):
            continue
        state = inspect(obj)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for attr in state.mapper.column_attrs:
            history = state.attrs[attr.key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            before[attr.key] = _to_json(old)
            after[attr.key] = _to_json(new)
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


def record_event(
    session: Session,
    actor: str,
    operation: str,
    summary: str,
    changes: list[dict[str, Any]] | None,
    detail: dict[str, Any] | None = None,
    undoable: bool = True,
) -> Event:
    """Write one event. A new undoable change makes any pending redo impossible (branch discarded)."""
    if undoable and changes:
        session.execute(update(Event).where(Event.state == "undone").values(state="discarded"))
    ev = Event(
        actor=actor,
        operation=operation,
        summary=summary,
        detail=detail,
        changes=changes,
        undoable=bool(undoable and changes),
    )
    session.add(ev)
    return ev


# --- replay -----------------------------------------------------------------------------------------


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _pk_clause(table: Table, pk: dict[str, Any]):
    return [table.c[k] == v for k, v in pk.items()]


def _current(session: Session, table: Table, pk: dict[str, Any]) -> dict[str, Any] | None:
    row = session.execute(select(table).where(*_pk_clause(table, pk))).mappings().first()
    return None if row is None else {k: _to_json(v) for k, v in row.items()}


def _matches(current: dict[str, Any] | None, expected: dict[str, Any] | None) -> bool:
    if expected is None:
        return current is None
    if current is None:
        return False
    return all(current.get(k) == v for k, v in expected.items())


def _write(session: Session, table: Table, pk: dict[str, Any], target: dict[str, Any] | None,
           present: bool) -> None:
    """Bring one row to ``target`` (None = absent)."""
    if target is None:
        session.execute(delete(table).where(*_pk_clause(table, pk)))
        return
    values = {k: _from_json(table, k, v) for k, v in target.items()}
    if present:
        session.execute(update(table).where(*_pk_clause(table, pk)).values(**values))
    else:
        session.execute(insert(table).values(**{**pk, **values}))


def replay(session: Session, ev: Event, backwards: bool) -> None:
    """Apply an event's changes backwards (undo) or forwards (redo), refusing if rows moved on since."""
    changes = ev.changes or []
    sequence = list(reversed(changes)) if backwards else list(changes)
    src, dst = ("after", "before") if backwards else ("before", "after")
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        session.execute(_PRAGMA_DEFER)
    for change in sequence:
        table = _table(change["table"])
        current = _current(session, table, change["pk"])
        if not _matches(current, change[src]):
            raise WaveqdaError(
                f"cannot {'undo' if backwards else 'redo'} #{ev.id} ({ev.summary}): "
                f"{change['table']} row {change['pk']} has changed since"
            )
        _write(session, table, change["pk"], change[dst], present=current is not None)
    session.flush()


def _pragma_defer():
    from sqlalchemy import text

    return text("PRAGMA defer_foreign_keys = ON")


_PRAGMA_DEFER = _pragma_defer()


def last_done(session: Session) -> Event | None:
    return session.scalars(
        select(Event).where(Event.undoable.is_(True), Event.state == "done").order_by(Event.id.desc()).limit(1)
    ).first()


def first_undone(session: Session) -> Event | None:
    return session.scalars(
        select(Event).where(Event.undoable.is_(True), Event.state == "undone").order_by(Event.id).limit(1)
    ).first()
