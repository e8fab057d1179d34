"""Which copy of a project a file is: the key merges remember what they last took from it under.

Coders' files are usually copies of one master (same project id, same early history), so the project id
cannot tell Ann's file from Ben's. Each file therefore gets a replica id of its own the first time it is
changed where it lies: the id is stored with the file's identity on disk (device and inode), and a write
to a copy, which has another identity, mints a new one. Reading a file (a source of a merge, perhaps a copy
received by e-mail) never changes it; the id stored in it still names the copy it was last written as.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from models.schema import new_uuid
from models.store import get_setting

SETTING = "replica"


def _identity(path: Path) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_dev, info.st_ino]


def ensure_own(session: Session, path: Path | None) -> None:
    """Inside a write: give the file a replica id of its own if it has none or was copied from elsewhere.

    Written with a plain statement, outside the undo journal: undoing a change must not give the file back
    the identity of the copy it came from.
    """
    if path is None:  # a database server: one live project, never copied as a file; its project id serves
        return
    stored = get_setting(session, SETTING)
    identity = _identity(path)
    if isinstance(stored, dict) and stored.get("file") == identity:
        return
    _store(session, {"id": new_uuid(), "file": identity})


def _store(session: Session, value: dict) -> None:
    import json

    payload = json.dumps(value)
    updated = cast(
        CursorResult,
        session.execute(text("UPDATE settings SET value = :v WHERE key = :k"), {"v": payload, "k": SETTING}),
    )
    if updated.rowcount == 0:
        session.execute(text("INSERT INTO settings (key, value) VALUES (:k, :v)"), {"v": payload, "k": SETTING})


def key_of(session: Session) -> str:
    """The replica id a merge files what it took from this project under (read-only).

    A file never changed since this version knew about replicas falls back to its project id (and its
    history's identity), which is what older merges could tell apart too.
    """
    stored = get_setting(session, SETTING)
    if isinstance(stored, dict) and stored.get("id"):
        return str(stored["id"])
    return f"project:{get_setting(session, 'project_uuid') or 'unknown'}"
