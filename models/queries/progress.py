"""Coding progress: per transcript and coder, how many participant turns carry at least one coding."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.queries.rows import fetch_rows
from models.schema import Coder, Coding, Participant, Timepoint, Transcript, Turn


def coding_progress(session: Session) -> list[dict[str, Any]]:
    """Per transcript and coder: how many participant turns carry at least one of the coder's codes.

    Each row: ``transcript_id``, ``participant``, ``timepoint``, ``coder``, ``participant_turns``,
    ``coded_turns``, ``share`` (0..1). Every coder appears for every transcript, so untouched work shows.
    """
    transcripts = session.execute(
        select(Transcript.id, Participant.study_id, Timepoint.key)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .order_by(Participant.study_id, Timepoint.position)
    ).all()
    coders = session.execute(select(Coder.id, Coder.name).order_by(Coder.name)).all()
    starts: dict[int, list[int]] = defaultdict(list)
    ends: dict[int, list[int]] = defaultdict(list)
    turn_stmt = select(Turn.transcript_id, Turn.start, Turn.end).where(Turn.role == "participant")
    for tid, start, end in sorted(fetch_rows(session, turn_stmt)):
        starts[tid].append(start)
        ends[tid].append(end)
    coded: dict[tuple[int, int], set[int]] = defaultdict(set)
    coding_stmt = select(Coding.transcript_id, Coding.coder_id, Coding.start, Coding.end)
    for tid, coder_id, start, end in fetch_rows(session, coding_stmt):
        # participant turns sharing text with [start, end): sorted and disjoint, so two bisects
        touched = range(bisect_right(ends[tid], start), bisect_left(starts[tid], end))
        coded[(tid, coder_id)].update(touched)
    return [
        _progress_row(tid, study_id, key, name, len(starts[tid]), len(coded[(tid, coder_id)]))
        for tid, study_id, key in transcripts
        for coder_id, name in coders
    ]


def _progress_row(tid: int, study_id: str, key: str, coder: str, total: int, done: int) -> dict[str, Any]:
    return {
        "transcript_id": tid,
        "participant": study_id,
        "timepoint": key,
        "coder": coder,
        "participant_turns": total,
        "coded_turns": done,
        "share": round(done / total, 4) if total else 0.0,
    }
