"""The full-text index of a transcript's whole text: SQLite FTS5 (migration 0002) or a PostgreSQL table with a
``tsvector`` column and a GIN index (migration 0010).

Columns ``rowid``, ``text`` and ``transcript_id`` on both engines, so the statements here serve both. Two kinds
of row cover every character of the stored text:

- a speaker turn: ``rowid`` = ``turns.id`` (positive);
- a stretch outside every turn (a preamble, a speaker label line, a closing note): ``rowid`` =
  ``-(transcript_id * 2**32 + start)``, so the row says where its text begins without another table.

Kept out of the ORM models: it is derived data, rebuilt from the transcript's text and turns.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.orm import Session

# A gap row's rowid packs its transcript and start offset; transcripts are far shorter than 2**32 characters.
GAP_SHIFT = 2**32


def available(session: Session) -> bool:
    """Every project has the index: FTS5 on SQLite (migration 0002), a tsvector table on PostgreSQL (0010)."""
    return session.get_bind().dialect.name in ("sqlite", "postgresql")


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def gap_rowid(transcript_id: int, start: int) -> int:
    return -(transcript_id * GAP_SHIFT + start)


def gap_start(rowid: int) -> int:
    """Where a gap row's text begins in its transcript (the inverse of ``gap_rowid``)."""
    return (-rowid) % GAP_SHIFT


def gaps(full_text: str, turn_spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ``[start, end)`` stretches of ``full_text`` outside every turn that hold more than white space."""
    found: list[tuple[int, int]] = []
    position = 0
    for start, end in sorted(turn_spans):
        if start > position:
            found.append((position, start))
        position = max(position, end)
    if position < len(full_text):
        found.append((position, len(full_text)))
    return [(s, e) for s, e in found if full_text[s:e].strip()]


def index_rows(transcript_id: int, full_text: str, turns: Sequence[tuple[int, int, int]]) -> list[dict[str, int | str]]:
    """The index rows of one transcript: one per ``(turn_id, start, end)`` turn and one per gap between them."""
    rows: list[dict[str, int | str]] = [
        {"id": turn_id, "text": full_text[start:end], "tid": transcript_id} for turn_id, start, end in turns
    ]
    rows.extend(
        {"id": gap_rowid(transcript_id, start), "text": full_text[start:end], "tid": transcript_id}
        for start, end in gaps(full_text, [(s, e) for _, s, e in turns])
    )
    return rows


def index_transcript(
    session: Session, transcript_id: int, full_text: str, turns: Sequence[tuple[int, int, int]]
) -> None:
    """Add the rows of one transcript from its text and its ``(turn_id, start, end)`` turns."""
    from models.journal import insert_values

    rows = index_rows(transcript_id, full_text, turns)
    if not available(session) or not rows:
        return
    # handed straight to the driver: a study's tens of thousands of turns cost SQLAlchemy more than the index
    insert_values(
        session, "search_index", ["rowid", "text", "transcript_id"], [(r["id"], r["text"], r["tid"]) for r in rows]
    )


def remove_transcript(session: Session, transcript_id: int) -> None:
    if not available(session):
        return
    session.execute(text("DELETE FROM search_index WHERE transcript_id = :tid"), {"tid": transcript_id})


def reindex_transcript(session: Session, transcript_id: int, *, new: bool = False) -> None:
    """Rebuild one transcript's rows from its current text and turns (after redaction, a merge, or an undo).
    ``new``: the transcript was created in this transaction, so it has no rows to remove (removing scans the
    whole index, which a merge copying a study's transcripts would do once per transcript)."""
    from models.schema import Transcript, Turn

    if not available(session):
        return
    if not new:
        remove_transcript(session, transcript_id)
    full_text = session.scalar(select(Transcript.text).where(Transcript.id == transcript_id))
    if full_text is None:
        return
    turns = session.execute(
        select(Turn.id, Turn.start, Turn.end).where(Turn.transcript_id == transcript_id).order_by(Turn.index)
    ).all()
    index_transcript(session, transcript_id, full_text, [(t.id, t.start, t.end) for t in turns])
