"""The full-text index of speaker turns: SQLite FTS5 (migration 0002) or a PostgreSQL table with a
``tsvector`` column and a GIN index (migration 0010).

One row per turn, ``rowid`` = ``turns.id``, columns ``text`` and ``transcript_id`` on both engines, so the
statements here serve both. Kept out of the ORM models: it is derived data, rebuilt from turns.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def available(session: Session) -> bool:
    """Every project has the index: FTS5 on SQLite (migration 0002), a tsvector table on PostgreSQL (0010)."""
    return session.get_bind().dialect.name in ("sqlite", "postgresql")


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


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
