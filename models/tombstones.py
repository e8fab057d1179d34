"""Tombstones: the uuids of codings and memos that were deleted, kept as evidence for merges.

A merge carries a deletion from a coder's file only when that file says the row was deleted there (a
tombstone), never merely because a row is missing: it may never have been in that file. Tombstones are
written for every deletion, whichever way it happens: an ORM delete in a change (hooked here on every
flush) or undo and redo replaying rows (``journal._write_all`` calls ``bury``/``unbury``). A row that comes
back (undo of a deletion, a merge restoring it) loses its tombstone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, event, insert
from sqlalchemy.orm import Session, UOWTransaction

from models.schema import Coding, Memo, Tombstone, table_of, utcnow

KINDS = {"codings": "coding", "memos": "memo"}
_CHUNK = 500


def bury(session: Session, kind: str, uuids: Iterable[str | None]) -> None:
    """Record these rows of ``kind`` as deleted (now)."""
    uuids = list(dict.fromkeys(u for u in uuids if u))
    if not uuids:
        return
    conn = session.connection()
    table = table_of(Tombstone)
    now = utcnow()
    for i in range(0, len(uuids), _CHUNK):
        chunk = uuids[i : i + _CHUNK]
        conn.execute(delete(table).where(table.c.uuid.in_(chunk)))
        conn.execute(insert(table), [{"uuid": u, "kind": kind, "deleted_at": now} for u in chunk])


def none_buried(session: Session) -> bool:
    """Whether the project has no tombstones at all (a new file, a study nobody has deleted from): bulk
    look-ups and deletes by uuid can then be skipped (each chunk of them costs a statement)."""
    from sqlalchemy import select

    return session.execute(select(table_of(Tombstone).c.uuid).limit(1)).first() is None


def unbury(session: Session, uuids: Iterable[str | None]) -> None:
    """These rows exist again: forget that they were deleted."""
    uuids = list(dict.fromkeys(u for u in uuids if u))
    if len(uuids) > _CHUNK and none_buried(session):
        return
    table = table_of(Tombstone)
    conn = session.connection()
    for i in range(0, len(uuids), _CHUNK):
        conn.execute(delete(table).where(table.c.uuid.in_(uuids[i : i + _CHUNK])))


def buried(session: Session, uuids: Iterable[str]) -> set[str]:
    """Which of these uuids have a tombstone."""
    from sqlalchemy import select

    uuids = list(uuids)
    found: set[str] = set()
    for i in range(0, len(uuids), _CHUNK):
        found.update(session.scalars(select(Tombstone.uuid).where(Tombstone.uuid.in_(uuids[i : i + _CHUNK]))))
    return found


def replayed(session: Session, table: str, deleted: list[dict[str, Any]], inserted: list[dict[str, Any]]) -> None:
    """Undo or redo wrote rows of ``table`` past the ORM: keep its tombstones in step (images hold uuids)."""
    kind = KINDS.get(table)
    if kind is None:
        return
    bury(session, kind, (image.get("uuid") for image in deleted if image))
    unbury(session, (image.get("uuid") for image in inserted if image))


_FRESH = "tombstones.fresh"


@event.listens_for(Session, "before_flush")
def _note_fresh(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    """New codings and memos whose uuid the flush is about to generate: a new uuid has no tombstone to
    remove, so the common change (one new coding) is spared a DELETE."""
    # set on every flush, so a flush that failed never leaves its objects' ids for the next one
    session.info[_FRESH] = {id(obj) for obj in session.new if isinstance(obj, Coding | Memo) and obj.uuid is None}


@event.listens_for(Session, "after_flush")
def _on_flush(session: Session, flush_context: UOWTransaction) -> None:
    fresh: set[int] = session.info.pop(_FRESH, set())
    gone: dict[str, list[str]] = {"coding": [], "memo": []}
    back: list[str] = []
    for obj in session.deleted:
        if isinstance(obj, Coding | Memo):
            gone["coding" if isinstance(obj, Coding) else "memo"].append(obj.uuid)
    for obj in session.new:
        if isinstance(obj, Coding | Memo) and id(obj) not in fresh:
            back.append(obj.uuid)
    for kind, uuids in gone.items():
        bury(session, kind, uuids)
    if back:
        unbury(session, back)
