"""Listings of the project's transcripts and participants (the data behind ``transcripts``/``show``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.participants import attributes_of, list_participants
from models.schema import Turn
from models.transcripts import coding_counts, find_transcript, list_transcripts, turn_number, turns_of


def _speakers_by_transcript(session: Session) -> dict[int, list[str]]:
    rows = session.execute(
        select(Turn.transcript_id, Turn.speaker, func.min(Turn.index))
        .group_by(Turn.transcript_id, Turn.speaker)
        .order_by(Turn.transcript_id, func.min(Turn.index))
    )
    out: dict[int, list[str]] = {}
    for tid, speaker, _first in rows:
        out.setdefault(tid, []).append(speaker)
    return out


def _turn_counts(session: Session) -> dict[int, int]:
    return dict(session.execute(select(Turn.transcript_id, func.count()).group_by(Turn.transcript_id)).tuples().all())


def transcript_rows(session: Session) -> list[dict[str, Any]]:
    """One dict per transcript with the keys of ``waveqda transcripts --json``."""
    codings = coding_counts(session)
    speakers = _speakers_by_transcript(session)
    turns = _turn_counts(session)
    rows = []
    for t in list_transcripts(session):
        rows.append(
            {
                "id": t.id,
                "participant": t.participant.study_id,
                "timepoint": t.timepoint.key,
                "title": t.title,
                "source": t.source_name,
                "format": t.source_format,
                "turns": turns.get(t.id, 0),
                "speakers": speakers.get(t.id, []),
                "words": t.word_count,
                "characters": len(t.text),
                "codings": codings.get(t.id, 0),
            }
        )
    return rows


def transcript_detail(session: Session, ref: str) -> dict[str, Any]:
    """The transcript's fields, its full stored text, and its turns (``waveqda show --json``)."""
    t = find_transcript(session, ref)
    text = t.text
    turns = [
        {
            "index": turn.index,
            "number": turn_number(turn.index),
            "speaker": turn.speaker,
            "role": turn.role,
            "start": turn.start,
            "end": turn.end,
            "timestamp": turn.timestamp,
            "text": text[turn.start : turn.end],
        }
        for turn in turns_of(session, t.id)
    ]
    return {
        "id": t.id,
        "uuid": t.uuid,
        "participant": t.participant.study_id,
        "timepoint": t.timepoint.key,
        "timepoint_label": t.timepoint.label,
        "title": t.title,
        "source": t.source_name,
        "format": t.source_format,
        "sha256": t.sha256,
        "imported_by": t.imported_by,
        "imported_at": t.imported_at.isoformat(),
        "words": t.word_count,
        "characters": len(text),
        "codings": coding_counts(session).get(t.id, 0),
        "text": text,
        "turns": turns,
    }


def participant_rows(session: Session) -> list[dict[str, Any]]:
    rows = []
    for p in list_participants(session):
        rows.append(
            {
                "participant": p.study_id,
                "uuid": p.uuid,
                "timepoints": [t.timepoint.key for t in sorted(p.transcripts, key=lambda t: t.timepoint.position)],
                "attributes": attributes_of(session, p),
            }
        )
    return rows
