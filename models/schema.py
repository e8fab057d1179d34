"""The project schema: SQLAlchemy 2 typed models.

One project is one database. Everything that can travel between projects (participants, transcripts,
coders, codes, codings, memos) carries a UUID so that merges and REFI-QDA exchange keep identity; integer
primary keys are what people type on the command line.

Offsets (`start`, `end`) are always `[start, end)` Python ``str`` indices into ``Transcript.text``, which
never changes after import. Nothing here uses SQLite-only SQL: the full-text index lives in
``models/search_index.py`` and is created by a migration only on SQLite.
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


RowT = TypeVar("RowT")


def utcnow() -> datetime:
    """Timezone-aware 'now'; stored as UTC so exports and merges compare times across machines."""
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid_module.uuid4())


# SQLite integers are signed 64-bit: a larger number typed on the command line names no row, and the
# driver would raise OverflowError instead of the "not found" the user should see.
MAX_ROW_ID = 2**63 - 1


def is_row_id(value: int) -> bool:
    """Whether ``value`` can be a primary key here (lookups of anything else are "not found")."""
    return 0 < value <= MAX_ROW_ID


def get_row(session: Session, model: type[RowT], row_id: int) -> RowT | None:
    """``session.get`` for an id a user typed: None for a number no row can have, as for a missing row."""
    return session.get(model, row_id) if is_row_id(row_id) else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON, list[Any]: JSON}


def table_of(model: type[Base] | Base) -> Table:
    """A mapped class's (or row's) ``Table``: SQLAlchemy types ``__table__`` as the wider ``FromClause``."""
    return cast(Table, model.__table__)


class Setting(Base):
    """Project-wide settings as JSON values (label patterns, default coder, spaCy model, caps...)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class Timepoint(Base):
    """A wave of the study (``T1`` "After training"...), ordered by ``position``."""

    __tablename__ = "timepoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    study_id: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    transcripts: Mapped[list[Transcript]] = relationship(back_populates="participant")
    attributes: Mapped[list[ParticipantAttribute]] = relationship(back_populates="participant")


class AttributeDefinition(Base):
    """A participant attribute (site, age band...) with its type: text, number, date or choice."""

    __tablename__ = "attribute_definitions"
    __table_args__ = (
        CheckConstraint("type IN ('text','number','date','choice')", name="type"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(10), default="text")
    choices: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ParticipantAttribute(Base):
    """One participant's value for one attribute, kept as canonical text (ISO date, plain number)."""

    __tablename__ = "participant_attributes"
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True)
    attribute_id: Mapped[int] = mapped_column(ForeignKey("attribute_definitions.id"), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)

    participant: Mapped[Participant] = relationship(back_populates="attributes")
    attribute: Mapped[AttributeDefinition] = relationship()


class Transcript(Base):
    """One interview: one participant at one timepoint. ``text`` is canonical and immutable."""

    __tablename__ = "transcripts"
    __table_args__ = (
        UniqueConstraint("participant_id", "timepoint_id", name="participant_timepoint"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    timepoint_id: Mapped[int] = mapped_column(ForeignKey("timepoints.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    source_name: Mapped[str] = mapped_column(String(500))
    source_format: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_by: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    participant: Mapped[Participant] = relationship(back_populates="transcripts")
    timepoint: Mapped[Timepoint] = relationship()
    turns: Mapped[list[Turn]] = relationship(
        back_populates="transcript", order_by="Turn.index", cascade="all, delete-orphan"
    )
    sentences: Mapped[list[Sentence]] = relationship(
        back_populates="transcript", order_by="Sentence.start", cascade="all, delete-orphan"
    )


class Turn(Base):
    """A speaker turn: ``[start, end)`` covers the speech only, never the speaker label."""

    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("transcript_id", "index", name="transcript_index"),
        CheckConstraint("role IN ('interviewer','participant','other')", name="role"),
        CheckConstraint('start <= "end"', name="span"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(12))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[str | None] = mapped_column(String(20))

    transcript: Mapped[Transcript] = relationship(back_populates="turns")


class Sentence(Base):
    __tablename__ = "sentences"
    __table_args__ = (Index("ix_sentences_transcript_start", "transcript_id", "start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    turn_index: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)

    transcript: Mapped[Transcript] = relationship(back_populates="sentences")


class Coder(Base):
    __tablename__ = "coders"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Code(Base):
    """A node of the codebook tree (theme, subtheme or code). Archived codes stay in data and history."""

    __tablename__ = "codes"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("codes.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    definition: Mapped[str] = mapped_column(Text, default="")
    inclusion: Mapped[str] = mapped_column(Text, default="")
    exclusion: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[str] = mapped_column(Text, default="")
    memo: Mapped[str] = mapped_column(Text, default="")
    colour: Mapped[str] = mapped_column(String(7), default="#888888")
    position: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("codes.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Coding(Base):
    """A code applied to ``[start, end)`` of a transcript by one coder."""

    __tablename__ = "codings"
    __table_args__ = (
        CheckConstraint('start >= 0 AND start < "end"', name="span"),
        CheckConstraint("status IN ('ok','needs_review')", name="status"),
        Index("ix_codings_transcript_start", "transcript_id", "start"),
        Index("ix_codings_code_transcript", "code_id", "transcript_id", "start", "end", "coder_id", "key_quote"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id"))
    code_id: Mapped[int] = mapped_column(ForeignKey("codes.id"))
    coder_id: Mapped[int] = mapped_column(ForeignKey("coders.id"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    memo: Mapped[str] = mapped_column(Text, default="")
    key_quote: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="ok")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Memo(Base):
    """A free-standing memo, optionally attached to a project object (``target_type`` + ``target_id``)."""

    __tablename__ = "memos"
    __table_args__ = (
        CheckConstraint("target_type IN ('project','transcript','participant','code','coding')", name="target_type"),
        Index("ix_memos_target", "target_type", "target_id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    target_type: Mapped[str] = mapped_column(String(12), default="project")
    target_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """One user-level change: who, when, what, and the row changes that undo/redo replay.

    ``changes`` is a list of ``{"table", "pk", "before", "after"}`` dicts (``before`` None for an insert,
    ``after`` None for a delete). ``state`` is ``done``, ``undone`` or ``discarded`` (an undone step that a
    later change made impossible to redo). Events with ``undoable`` false (imports, undo markers) are kept
    for the audit trail only.
    """

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("state IN ('done','undone','discarded')", name="state"),
        # undo/redo look up one coder's newest done and oldest undone step on every change
        Index("ix_events_actor_state", "actor", "state", "id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # Identity across copies of a project file: coders' files copied from one master share their early
    # events (same uuid) and diverge after (new uuids), so a merge copies each history event exactly once.
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(60), index=True)
    summary: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    changes: Mapped[list[Any] | None] = mapped_column(JSON)
    undoable: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(10), default="done")


class NameEntry(Base):
    """A register entry: an identifying term, its variants, and what replaces it in anonymised output."""

    __tablename__ = "name_entries"
    __table_args__ = (
        CheckConstraint(
            "category IN ('person','place','organisation','ward','email','phone','postcode','birthdate','other')",
            name="category",
        ),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    term: Mapped[str] = mapped_column(String(300))
    variants: Mapped[list[Any]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(12), default="person")
    replacement: Mapped[str] = mapped_column(String(300))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NameCandidate(Base):
    """A possible identifying term found by a scan, awaiting (or remembering) the researcher's decision.

    ``key`` is the case-folded surface form, so a rejected word stays rejected on later scans.
    """

    __tablename__ = "name_candidates"
    __table_args__ = (
        CheckConstraint("status IN ('pending','accepted','rejected')", name="status"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    text: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(12), default="other")
    source: Mapped[str] = mapped_column(String(20))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("name_entries.id"))
    variant_key: Mapped[str | None] = mapped_column(String(300))  # a spelling of this other candidate's term
    status: Mapped[str] = mapped_column(String(10), default="pending")
    occurrences: Mapped[int] = mapped_column(Integer, default=0)
    transcript_id: Mapped[int | None] = mapped_column(ForeignKey("transcripts.id"))
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)
    context: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()


class Tombstone(Base):
    """The identity of a coding or memo that was deleted (by a change, or by undoing its creation).

    Why: a merge must only carry a deletion it has evidence for; a row merely missing from a file may never
    have been there (another coder's file). Kept like the event log, outside the undo journal: undoing a
    deletion brings the row back and drops its tombstone (``models.journal``).
    """

    __tablename__ = "tombstones"
    __table_args__ = (CheckConstraint("kind IN ('coding','memo')", name="kind"),)
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)


class MergeBaseline(Base):
    """What the last merge saw of one coding or memo from one source file, and what the target then held.

    Why: a re-merge must carry every change a coder made since the last merge (an extension, a recode, a
    memo) and must not undo the target's own later edits. Comparing the source and the target with these two
    images tells, field by field, which side changed since (a three-way merge); a row missing on one side
    but remembered here was deleted there since. ``replica`` names the source file (``models.replica``),
    not its project, because coders' files copied from one master share the project's identity.
    """

    __tablename__ = "merge_baselines"
    __table_args__ = (CheckConstraint("kind IN ('coding','memo')", name="kind"),)
    replica: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    # compact JSON text written and read by ``models.merge_rows`` itself: a merge compares tens of thousands
    # of these, and text compares (and stays undecoded) far cheaper than JSON values
    source: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)


class Measure(Base):
    """A questionnaire measure (wellbeing, burnout...): its range, which direction is better, and the norms
    and reliability the user entered with their source (nothing is shipped: instruments have owners)."""

    __tablename__ = "measures"
    __table_args__ = (
        CheckConstraint("higher_is IN ('better','worse')", name="higher_is"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    min_value: Mapped[float | None] = mapped_column(Float, default=None)
    max_value: Mapped[float | None] = mapped_column(Float, default=None)
    higher_is: Mapped[str] = mapped_column(String(6), default="better")
    norm_mean: Mapped[float | None] = mapped_column(Float, default=None)
    norm_sd: Mapped[float | None] = mapped_column(Float, default=None)
    norm_source: Mapped[str] = mapped_column(Text, default="")
    reliability: Mapped[float | None] = mapped_column(Float, default=None)


class Score(Base):
    """One participant's score on one measure at one timepoint."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint(
            "participant_id", "timepoint_id", "measure_id", name="uq_scores_participant_timepoint_measure"
        ),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    timepoint_id: Mapped[int] = mapped_column(ForeignKey("timepoints.id"))
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserAccount(Base):
    """Who may log in to the project through a browser (``waveqda serve`` / ``waveqda site``) and with which
    role; the name is the coder name that user's changes are recorded under. ``password_hash`` is an
    argon2id hash, or empty for an account that only a trusted single-sign-on header can name."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role IN ('owner','coder','reader')", name="role"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(6), default="coder")
    password_hash: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlindTranscript(Base):
    """A transcript being coded blind (issue 16): until the owner reveals it, each coder sees only their own
    codings in it. ``by`` is who switched it on (on a project file, that person counts as its owner)."""

    __tablename__ = "blind_transcripts"
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id"), primary_key=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(200), default="")
