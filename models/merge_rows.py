"""Three-way merging of codings and memos between a source file and the target, field by field.

A coding known on both sides (same UUID) is compared with what the last merge from this source saw of it
(``MergeBaseline``): a field the source changed since, and the target did not, takes the source's value;
a field both changed is a conflict, resolved so that nothing is lost (memos are joined, a key-quote flag is
kept, otherwise the newer edit wins) and listed for review. A coding missing on one side but remembered by
the baseline was deleted there since: a deletion in the source is carried over unless the target changed
the coding since (then it is kept and listed); a coding the target deleted stays deleted unless the source
changed it since (then it comes back, listed). Without a baseline (files copied from one master) the newer
edit wins and the difference is listed.

Every change is made through the ORM or journalled by hand, so the merge stays one undoable step.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from models import journal
from models.coding import combine, join_memos, keep_as_project_memos
from models.schema import Coding, MergeBaseline, table_of

CODING_FIELDS = ("span", "code", "memo", "key_quote", "status")
MEMO_FIELDS = ("title", "text")


@dataclass(frozen=True)
class Resolution:
    """What to write into the target row, and what a reviewer should read about it."""

    take: dict[str, Any]
    changed: list[str]  # fields taken from the source (changed there since the last merge)
    conflicts: list[str]  # fields both sides changed (or that differ with no baseline)


def stamp(value: Any) -> str:
    """A time as comparable text (naive UTC ISO, as SQLite returns times and as images store them)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    return str(value or "").replace(" ", "T")


def with_time(image: dict[str, Any], at: Any) -> dict[str, Any]:
    """An image with the row's last edit time (``at``): the evidence that a side changed a row since."""
    return {**image, "at": stamp(at)}


def same_fields(image: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Whether a row's fields equal a stored image's (its edit time aside)."""
    return all(stored.get(key) == value for key, value in image.items() if key != "at")


def changed_since(image: dict[str, Any], baseline: Baseline | None, deleted_at: Any) -> bool:
    """Whether a source row changed after the target deleted it: its fields differ from what the last merge
    saw (or no merge saw it) and its edit time is after the deletion."""
    if baseline is not None and same_fields(image, baseline.source):
        return False
    return image.get("at", "") > stamp(deleted_at)


def combine_value(field: str, target: Any, source: Any, source_newer: bool) -> Any:
    """A conflict resolved so that nothing is lost: memo texts joined, a key-quote flag kept, needs-review
    kept; anything else (span, code, title) the newer edit's."""
    if field in ("memo", "text"):
        return join_memos([target or "", source or ""])
    if field == "key_quote":
        return bool(target) or bool(source)
    if field == "status":
        return "needs_review" if "needs_review" in (target, source) else target
    return source if source_newer else target


def resolve(
    fields: Iterable[str],
    source: dict[str, Any],
    mapped: dict[str, Any],
    target: dict[str, Any],
    baseline: Baseline | None,
    source_at: Any,
    target_at: Any,
) -> Resolution:
    """Field by field: ``source`` and the baseline's source image are in the source's terms, ``mapped`` is
    the source's row in the target's terms (ids mapped, span re-anchored), ``target`` the target's row.

    A side changed a field since the last merge when the field differs from the baseline's image of that
    side and (for the source) the row was edited after that image: a file that merely carries an older
    version (a copy of the same master) is not a change. Without a baseline the newer edit wins and the
    difference is reported.
    """
    take: dict[str, Any] = {}
    changed: list[str] = []
    conflicts: list[str] = []
    source_newer = stamp(source_at) > stamp(target_at)
    for field in fields:
        if mapped[field] == target[field]:
            continue
        if baseline is None:
            source_changed, target_changed = source_newer, True
        else:
            later = stamp(source_at) > str(baseline.source.get("at", ""))
            source_changed = later and source[field] != baseline.source.get(field)
            target_changed = target[field] != baseline.target.get(field)
        if source_changed and not target_changed:
            take[field] = mapped[field]
            changed.append(field)
        elif source_changed:
            value = combine_value(field, target[field], mapped[field], source_newer)
            if value != target[field]:
                take[field] = value
            conflicts.append(field)
    return Resolution(take, changed, conflicts)


def tombstone_times(session: Session, uuids: Iterable[str]) -> dict[str, Any]:
    """uuid -> when it was deleted, for those of ``uuids`` that have a tombstone in this session's project."""
    from models.schema import Tombstone
    from models.tombstones import none_buried

    uuids = list(uuids)
    found: dict[str, Any] = {}
    if not uuids or none_buried(session):
        return found
    for chunk in journal.chunks(uuids):
        rows = session.execute(select(Tombstone.uuid, Tombstone.deleted_at).where(Tombstone.uuid.in_(chunk)))
        found.update(rows.tuples().all())
    return found


# --- baselines -----------------------------------------------------------------------------------------


class Baseline:
    """One row of ``merge_baselines``, decoded only when a merge needs to look inside it (most rows are only
    compared as text)."""

    __slots__ = ("kind", "source_text", "target_text", "_source", "_target")

    def __init__(self, kind: str, source_text: str, target_text: str) -> None:
        self.kind, self.source_text, self.target_text = kind, source_text, target_text
        self._source: dict[str, Any] | None = None
        self._target: dict[str, Any] | None = None

    @property
    def source(self) -> dict[str, Any]:
        if self._source is None:
            self._source = decode(self.kind, self.source_text)
        return self._source

    @property
    def target(self) -> dict[str, Any]:
        if self._target is None:
            self._target = decode(self.kind, self.target_text)
        return self._target


IMAGE_KEYS = {
    "coding": ("span", "code", "memo", "key_quote", "status", "at"),
    "memo": ("title", "text", "at"),
}


# One encoder for every image: ``json.dumps`` with options builds a new encoder per call, and a merge encodes
# two images per coding (hundreds of thousands in a team lead's merge).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode(kind: str, image: dict[str, Any]) -> str:
    """An image as the compact JSON list baselines store, in ``IMAGE_KEYS`` order ("[]" for no row)."""
    if not image:
        return "[]"
    return _COMPACT.encode([image.get(key) for key in IMAGE_KEYS[kind]])


def decode(kind: str, text: str) -> dict[str, Any]:
    values = json.loads(text)
    return dict(zip(IMAGE_KEYS[kind], values, strict=False)) if values else {}


def load_baselines(session: Session, replica: str, kind: str) -> dict[str, Baseline]:
    table = MergeBaseline.__table__
    rows = session.execute(
        select(table.c.uuid, table.c.source, table.c.target).where(table.c.replica == replica, table.c.kind == kind)
    )
    return {uuid: Baseline(kind, source, target) for uuid, source, target in rows}


def write_baselines(
    session: Session,
    replica: str,
    kind: str,
    old: dict[str, Baseline],
    new: dict[str, tuple[str, str]],
    drop: Iterable[str],
) -> None:
    """Store what this merge saw (``new``: uuid -> (source image text, target image text)) where it differs
    from ``old``, and forget ``drop``, with set-based statements journalled by hand when the change is
    undoable (a merge can remember tens of thousands of rows)."""
    from sqlalchemy import bindparam

    table = table_of(MergeBaseline)
    buffer: journal.ChangeBuffer | None = session.info.get(journal.BUFFER_KEY)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for uuid, (source, target) in new.items():
        pk = {"replica": replica, "kind": kind, "uuid": uuid}
        before = old.get(uuid)
        if before is None:
            inserts.append({**pk, "source": source, "target": target})
            if buffer is not None:
                buffer.add(table.name, pk, None, {**pk, "source": source, "target": target})
        elif before.source_text != source or before.target_text != target:
            updates.append({"b_uuid": uuid, "source": source, "target": target})
            if buffer is not None:
                was = {"source": before.source_text, "target": before.target_text}
                buffer.add(table.name, pk, was, {"source": source, "target": target})
    if inserts:
        journal.insert_rows(session, table, inserts)
    if updates:
        stmt = (
            update(table)
            .where(table.c.replica == replica, table.c.kind == kind, table.c.uuid == bindparam("b_uuid"))
            .values(source=bindparam("source"), target=bindparam("target"))
        )
        session.execute(stmt, updates)
    gone = [uuid for uuid in drop if uuid in old]
    for chunk in journal.chunks(gone):
        session.execute(delete(table).where(table.c.replica == replica, table.c.kind == kind, table.c.uuid.in_(chunk)))
    if buffer is not None:
        for uuid in gone:
            pk = {"replica": replica, "kind": kind, "uuid": uuid}
            was = {**pk, "source": old[uuid].source_text, "target": old[uuid].target_text}
            buffer.add(table.name, pk, was, None)


# --- images ----------------------------------------------------------------------------------------------


def coding_image(row: Any) -> dict[str, Any]:
    """A coding's mergeable fields in its own file's terms (JSON-ready)."""
    return {
        "span": [row["start"], row["end"]],
        "code": row["code_id"],
        "memo": row["memo"] or "",
        "key_quote": bool(row["key_quote"]),
        "status": row["status"],
    }


def memo_image(row: Any) -> dict[str, Any]:
    return {"title": row["title"] or "", "text": row["text"] or ""}


# --- one coder's overlapping codings become one ------------------------------------------------------


def union_overlaps(session: Session, groups: set[tuple[int, int, int]]) -> set[int]:
    """Combine each coder's codings of one code that overlap or touch, within the ``(transcript, code,
    coder)`` groups given, as applying a code does everywhere (the oldest coding is kept, memos joined,
    flags kept). Returns the ids of the codings combined (kept and absorbed). Clusters are found on plain
    rows; only codings that must combine are loaded as objects."""
    by_transcript: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for transcript_id, code_id, coder_id in groups:
        by_transcript[transcript_id].add((code_id, coder_id))
    clusters: list[list[int]] = []
    for transcript_id, wanted in by_transcript.items():
        rows = session.execute(
            select(Coding.code_id, Coding.coder_id, Coding.start, Coding.end, Coding.id)
            .where(Coding.transcript_id == transcript_id)
            .order_by(Coding.code_id, Coding.coder_id, Coding.start, Coding.id)
        ).all()
        current: list[int] = []
        key: tuple[int, int] | None = None
        reach = -1
        for code_id, coder_id, start, end, coding_id in rows:
            if (code_id, coder_id) not in wanted:
                continue
            if (code_id, coder_id) != key or start > reach:
                if len(current) > 1:
                    clusters.append(current)
                current, key, reach = [coding_id], (code_id, coder_id), end
            else:
                current.append(coding_id)
                reach = max(reach, end)
        if len(current) > 1:
            clusters.append(current)
    touched: set[int] = set()
    for ids in clusters:
        codings = sorted(session.scalars(select(Coding).where(Coding.id.in_(ids))), key=lambda c: c.id)
        keep, *others = codings
        combine(session, keep, others, keep.start, keep.end)
        touched.update(ids)
    session.flush()
    return touched


def delete_codings(session: Session, ids: list[int]) -> None:
    """Remove codings the source deleted since the last merge; notes attached to them become project memos."""
    if not ids:
        return
    keep_as_project_memos(session, ids)
    for coding in session.scalars(select(Coding).where(Coding.id.in_(ids))):
        session.delete(coding)
    session.flush()


def apply_updates(session: Session, model: type[Any], updates: dict[int, dict[str, Any]], to_columns: Callable) -> None:
    """Write resolved fields into existing target rows through the ORM (journalled)."""
    if not updates:
        return
    rows = {row.id: row for row in session.scalars(select(model).where(model.id.in_(list(updates))))}
    from models.schema import utcnow

    for row_id, fields in updates.items():
        row = rows[row_id]
        for column, value in to_columns(fields).items():
            setattr(row, column, value)
        row.updated_at = utcnow()
    session.flush()
