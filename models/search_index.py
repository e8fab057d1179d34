"""The full-text index of speaker turns (SQLite FTS5, created by migration 0002).

One row per turn, ``rowid`` = ``turns.id``. Kept here, not in the ORM models, so the schema stays portable;
``available()`` tells callers whether the index exists (it does on every SQLite project).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def available(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def index_turns(session: Session, transcript_id: int, rows: list[tuple[int, str]]) -> None:
    """Add ``(turn_id, turn_text)`` rows of one transcript."""
    if not available(session) or not rows:
        return
    session.execute(
        text("INSERT INTO search_index(rowid, text, transcript_id) VALUES (:id, :text, :tid)"),
        [{"id": turn_id, "text": body, "tid": transcript_id} for turn_id, body in rows],
    )


def remove_transcript(session: Session, transcript_id: int) -> None:
    if not available(session):
        return
    session.execute(text("DELETE FROM search_index WHERE transcript_id = :tid"), {"tid": transcript_id})


def reindex_transcript(session: Session, transcript_id: int) -> None:
    """Rebuild one transcript's rows from its current text and turns (after redaction or its undo)."""
    if not available(session):
        return
    remove_transcript(session, transcript_id)
    session.execute(
        text(
            "INSERT INTO search_index(rowid, text, transcript_id) "
            'SELECT turns.id, substr(transcripts.text, turns.start + 1, turns."end" - turns.start), '
            "turns.transcript_id "
            "FROM turns JOIN transcripts ON transcripts.id = turns.transcript_id WHERE transcripts.id = :tid"
        ),
        {"tid": transcript_id},
    )
