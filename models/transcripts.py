"""Storing imported transcripts and looking them up.

``store_transcript`` is the one place a parsed file becomes rows: transcript, turns (with roles), sentence
spans from spaCy, and the search index. It runs inside the caller's transaction so a failing file leaves
nothing behind.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import nlp, search_index
from models.errors import NotFoundError, WaveqdaError
from models.parsed import LabelRules, ParsedTranscript
from models.participants import get_or_create_participant
from models.schema import (
    Coding,
    Memo,
    NameCandidate,
    Participant,
    Sentence,
    Timepoint,
    Transcript,
    Turn,
    get_row,
    table_of,
)
from models.store import get_setting, timepoints

# how a transcript's turns become sentences: ``nlp.sentence_spans`` or a worker process that runs it
SentenceSplit = Callable[[list[str], list[int], str | None], list[list[tuple[int, int]]]]


def turn_number(index: int) -> int:
    """The number a person reads and types for a turn: counted from 1 (``Turn.index`` counts from 0).

    Why one function: the workspace, the reports, the tables and the command line must call the same turn
    by the same number; each shows ``turn_number(index)`` and each reads a typed number back with
    ``turn_index``, never adding or subtracting 1 on its own."""
    return index + 1


def turn_index(number: int) -> int:
    """The stored ``Turn.index`` of the turn a person numbered ``number`` (counted from 1)."""
    return number - 1


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def label_rules(session: Session) -> LabelRules:
    return LabelRules.from_settings(get_setting(session, "label_rules"))


def find_timepoint(session: Session, key: str) -> Timepoint:
    found = session.scalar(select(Timepoint).where(Timepoint.key == key))
    if found is None:
        valid = ", ".join(t.key for t in timepoints(session))
        raise WaveqdaError(f"unknown timepoint {key!r}; this project's timepoints are: {valid}")
    return found


@dataclass
class StoreResult:
    transcript: Transcript | None
    status: str  # "imported", "replaced" or "skipped"
    message: str


def store_transcript(
    session: Session,
    parsed: ParsedTranscript,
    participant_id: str,
    timepoint_key: str,
    imported_by: str,
    replace: bool = False,
    split: SentenceSplit | None = None,
) -> StoreResult:
    """Add one parsed transcript for a participant at a timepoint (in the caller's transaction). ``split``
    gives its sentences like ``nlp.sentence_spans`` (the default), e.g. from a worker process."""
    if "\x00" in parsed.text:  # SQLite's text functions stop at a NUL: such text could not be coded exactly
        raise WaveqdaError(f"{parsed.source_name}: binary content, not text (it holds a NUL character)")
    timepoint = find_timepoint(session, timepoint_key)
    sha = text_sha256(parsed.text)
    label = f"{participant_id}/{timepoint_key}"
    duplicate = session.scalar(select(Transcript).where(Transcript.sha256 == sha))
    if duplicate is not None:
        where = f"{duplicate.participant.study_id}/{duplicate.timepoint.key}"
        return StoreResult(None, "skipped", f"{parsed.source_name}: already imported as {where}, skipped")
    participant = get_or_create_participant(session, participant_id)
    existing = session.scalar(
        select(Transcript).where(Transcript.participant_id == participant.id, Transcript.timepoint_id == timepoint.id)
    )
    status = "imported"
    if existing is not None:
        if not replace:
            raise WaveqdaError(
                f"{parsed.source_name}: {label} already has a different transcript "
                f"({existing.source_name}); use --replace to replace it"
            )
        n = session.scalar(select(func.count()).select_from(Coding).where(Coding.transcript_id == existing.id))
        if n:
            raise WaveqdaError(f"{parsed.source_name}: cannot replace {label}: the old transcript has {n} codings")
        replaced_id = existing.id
        _detach_name_candidates(session, replaced_id)
        delete_transcript_rows(session, existing)
        status = "replaced"
    transcript = Transcript(
        participant_id=participant.id,
        timepoint_id=timepoint.id,
        title=parsed.title or f"{label} ({parsed.source_name})",
        source_name=parsed.source_name,
        source_format=parsed.source_format,
        sha256=sha,
        text=parsed.text,
        word_count=nlp.word_count(parsed.text),
        imported_by=imported_by,
    )
    session.add(transcript)
    session.flush()
    if status == "replaced":
        _move_memos(session, replaced_id, transcript.id)
    _store_turns_and_sentences(session, transcript, parsed, split or nlp.sentence_spans)
    return StoreResult(transcript, status, f"{parsed.source_name}: {status} as {label}")


def _detach_name_candidates(session: Session, transcript_id: int) -> None:
    """Name candidates found in a transcript about to be replaced keep their text and context, not its id
    (a foreign key) or offsets into the old text."""
    for candidate in session.scalars(select(NameCandidate).where(NameCandidate.transcript_id == transcript_id)):
        candidate.transcript_id, candidate.start, candidate.end = None, None, None
    session.flush()


def _move_memos(session: Session, old_id: int, new_id: int) -> None:
    """The researcher's memos on an interview stay with it when its text is replaced (``target_id`` has no
    foreign key, so they would otherwise point at nothing, or at whatever transcript next takes the id)."""
    for memo in session.scalars(select(Memo).where(Memo.target_type == "transcript", Memo.target_id == old_id)):
        memo.target_id = new_id


def turn_texts(parsed: ParsedTranscript) -> tuple[list[str], list[int]]:
    """The texts of a parsed transcript's turns and where each starts: what sentences are split from."""
    return [parsed.text[t.start : t.end] for t in parsed.turns], [t.start for t in parsed.turns]


def _store_turns_and_sentences(
    session: Session, transcript: Transcript, parsed: ParsedTranscript, split: SentenceSplit
) -> None:
    """Turns, sentences and the search index of a new transcript, each with one executemany handed to the
    driver (``journal.insert_rows``: tens of thousands of rows per study; these tables are derived, not
    journalled)."""
    from models.journal import insert_rows

    rules = label_rules(session)
    text = parsed.text
    roles: dict[str, str] = {}  # a transcript has a handful of speakers and thousands of turns
    turn_rows = []
    for index, turn in enumerate(parsed.turns):
        if not (0 <= turn.start <= turn.end <= len(text)):
            raise WaveqdaError(f"{parsed.source_name}: importer produced a turn outside the text (bug)")
        role = roles.get(turn.speaker)
        if role is None:
            role = roles[turn.speaker] = rules.role_of(turn.speaker)
        turn_rows.append(
            {
                "transcript_id": transcript.id,
                "index": index,
                "speaker": turn.speaker,
                "role": role,
                "start": turn.start,
                "end": turn.end,
                "timestamp": turn.timestamp,
            }
        )
    insert_rows(session, table_of(Turn), turn_rows)
    turn_ids = list(session.scalars(select(Turn.id).where(Turn.transcript_id == transcript.id).order_by(Turn.index)))
    spans = split(*turn_texts(parsed), get_setting(session, "spacy_model"))
    sentence_rows = [
        {"transcript_id": transcript.id, "turn_index": index, "start": s, "end": e}
        for index, turn_spans in enumerate(spans)
        for s, e in turn_spans
    ]
    insert_rows(session, table_of(Sentence), sentence_rows)
    turn_rows_indexed = [(turn_id, t.start, t.end) for turn_id, t in zip(turn_ids, parsed.turns, strict=True)]
    search_index.index_transcript(session, transcript.id, text, turn_rows_indexed)


def delete_transcript_rows(session: Session, transcript: Transcript) -> None:
    search_index.remove_transcript(session, transcript.id)
    session.execute(delete(Sentence).where(Sentence.transcript_id == transcript.id))
    session.execute(delete(Turn).where(Turn.transcript_id == transcript.id))
    session.execute(delete(Transcript).where(Transcript.id == transcript.id))
    session.expire_all()


TRANSCRIPT_REF = re.compile(r"^(?P<participant>[^/]+)/(?P<timepoint>[^/]+)$")


def find_transcript(session: Session, ref: str | int) -> Transcript:
    """A transcript by id (``12``) or by ``participant/timepoint`` (``P07/T2``)."""
    ref = str(ref).strip()
    if ref.isdigit():
        found = get_row(session, Transcript, int(ref))
        if found is None:
            raise NotFoundError(f"no transcript with id {ref}")
        return found
    match = TRANSCRIPT_REF.match(ref)
    if not match:
        raise NotFoundError(f"no transcript {ref!r}: give an id or PARTICIPANT/TIMEPOINT such as P07/T2")
    found = session.scalar(
        select(Transcript)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .where(Participant.study_id == match["participant"], Timepoint.key == match["timepoint"])
    )
    if found is None:
        labels = [
            f"{p}/{t}"
            for p, t in session.execute(
                select(Participant.study_id, Timepoint.key)
                .join(Transcript, Transcript.participant_id == Participant.id)
                .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
            )
        ]
        from models.codes import did_you_mean

        raise NotFoundError(f"no transcript {ref!r}{did_you_mean(ref, labels)}")
    return found


def list_transcripts(session: Session) -> list[Transcript]:
    return list(
        session.scalars(
            select(Transcript)
            .join(Participant, Participant.id == Transcript.participant_id)
            .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
            .order_by(Participant.study_id, Timepoint.position)
        )
    )


def turns_of(session: Session, transcript_id: int) -> list[Turn]:
    return list(session.scalars(select(Turn).where(Turn.transcript_id == transcript_id).order_by(Turn.index)))


def sentences_of(session: Session, transcript_id: int) -> list[Sentence]:
    return list(
        session.scalars(select(Sentence).where(Sentence.transcript_id == transcript_id).order_by(Sentence.start))
    )


def coding_counts(session: Session) -> dict[int, int]:
    rows = session.execute(select(Coding.transcript_id, func.count()).group_by(Coding.transcript_id))
    return {tid: n for tid, n in rows}
