"""Read-only queries shaped for the terminal workspace (the TUI), with no Textual imports.

Why a module of its own: the workspace needs a few reads in exactly the shape its widgets draw (a whole
transcript with its turns, sentences and codings as plain tuples; the home grid in one pass) and they must be
fast enough for a keystroke budget of ~10 ms. They use Core selects returning tuples rather than ORM objects
where the row count is large (a long transcript has thousands of sentences and codings).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.schema import BlindTranscript, Code, Coder, Coding, Memo, Participant, Timepoint, Transcript
from models.store import timepoints

if TYPE_CHECKING:
    from models.coding import CodingVersion


@dataclass(frozen=True)
class TurnRow:
    index: int
    speaker: str
    role: str
    start: int
    end: int


class CodingRow(NamedTuple):
    """One coding as the transcript view draws it (a tuple: thousands are rebuilt after each change)."""

    id: int
    code_id: int
    coder_id: int
    start: int
    end: int
    key_quote: bool
    memo: str
    uuid: str = ""
    updated_at: object = None  # as the database returned it: with uuid, the version a change expects

    @property
    def version(self) -> CodingVersion:
        """What a change to this coding expects to find (see ``models.coding.CodingVersion``)."""
        from models.coding import CodingVersion

        return CodingVersion(self.uuid, self.updated_at, self.code_id, self.start, self.end)


@dataclass(frozen=True)
class CodeInfo:
    id: int
    path: str
    name: str
    colour: str
    definition: str
    archived: bool
    depth: int


@dataclass
class TranscriptDoc:
    """Everything needed to draw one transcript (immutable after import)."""

    id: int
    label: str  # "P01/T2"
    title: str
    text: str
    turns: list[TurnRow]
    sentences: list[tuple[int, int]]


@dataclass
class HomeCell:
    transcript_id: int
    words: int
    codings: int
    progress: dict[str, float] = field(default_factory=dict)  # coder name -> share of participant turns coded
    blind: bool = False  # being coded blind (models/blind.py): each coder sees only their own codings


@dataclass
class HomeGrid:
    timepoints: list[tuple[str, str]]  # (key, label)
    participants: list[str]
    cells: dict[tuple[str, str], HomeCell]
    project_name: str = ""
    coding_now: list[str] = field(default_factory=list)  # who changed something in the last ACTIVE_MINUTES
    counted: bool = True  # False: codings and progress are still being counted (see ``home_counts``)


@dataclass(frozen=True)
class HomeCounts:
    """What Home shows that costs a pass over every coding: per transcript id, its codings and per coder the
    share of participant turns coded. Counted apart (in a worker) so that Home paints at once."""

    codings: dict[int, int]
    progress: dict[int, dict[str, float]]


# Plain, portable SQL (no dialect features): these run on every transcript open and after every coding
# change, and a textual statement skips both SQLAlchemy's first-use compilation (~100 ms in a fresh process)
# and per-row result processing (3x faster than a Core select at 10,000 codings).
_DOCUMENT_SQL = text(
    "SELECT t.id, t.title, t.text, p.study_id, tp.key FROM transcripts t"
    " JOIN participants p ON p.id = t.participant_id JOIN timepoints tp ON tp.id = t.timepoint_id"
    " WHERE t.id = :tid"
)
_TURNS_SQL = text('SELECT "index", speaker, role, start, "end" FROM turns WHERE transcript_id = :tid ORDER BY "index"')
_SENTENCES_SQL = text('SELECT start, "end" FROM sentences WHERE transcript_id = :tid ORDER BY start')
_CODINGS_SQL = text(
    'SELECT id, code_id, coder_id, start, "end", key_quote, memo, uuid, updated_at FROM codings'
    " WHERE transcript_id = :tid ORDER BY start, id"
)


def load_document(session: Session, transcript_id: int) -> TranscriptDoc:
    """The transcript text with its turns and sentences, as tuples (fast for 100k+ word interviews)."""
    row = session.execute(_DOCUMENT_SQL, {"tid": transcript_id}).one()
    turns = [TurnRow(*r) for r in session.execute(_TURNS_SQL, {"tid": transcript_id}).fetchall()]
    sentences = [(s, e) for s, e in session.execute(_SENTENCES_SQL, {"tid": transcript_id}).fetchall()]
    return TranscriptDoc(row[0], f"{row[3]}/{row[4]}", row[1], row[2], turns, sentences)


_CODINGS_WINDOW_SQL = text(
    'SELECT id, code_id, coder_id, start, "end", key_quote, memo, uuid, updated_at FROM codings'
    ' WHERE transcript_id = :tid AND start <= :b AND "end" >= :a ORDER BY start, id'
)


def load_codings_touching(session: Session, transcript_id: int, a: int, b: int) -> list[CodingRow]:
    """The codings of one transcript that overlap or touch ``[a, b]`` (all a coding operation can change)."""
    make = CodingRow._make
    rows = session.execute(_CODINGS_WINDOW_SQL, {"tid": transcript_id, "a": a, "b": b}).fetchall()
    return _visible(session, transcript_id, [make(r) for r in rows])


def load_codings(session: Session, transcript_id: int) -> list[CodingRow]:
    """All codings of one transcript, by start offset (reloaded after every coding change)."""
    make = CodingRow._make
    rows = session.execute(_CODINGS_SQL, {"tid": transcript_id}).fetchall()  # one fetch, not one per row
    return _visible(session, transcript_id, [make(r) for r in rows])


def _visible(session: Session, transcript_id: int, rows: list[CodingRow]) -> list[CodingRow]:
    """Blind coding: in a blind transcript a coder sees only their own codings (textual statements are not
    filtered by models/blind.py's ORM criterion, so these are filtered here)."""
    from models.store import VIEWER_KEY

    if VIEWER_KEY not in session.info:
        return rows
    from models.blind import view_of

    view = view_of(session)
    if view is None or transcript_id not in view.transcripts:
        return rows
    return [row for row in rows if row.coder_id == view.own_coder_id]


def code_infos(session: Session) -> dict[int, CodeInfo]:
    """Every code (archived too: old codings still name them) with its path, colour and definition."""
    tree = CodeTree.load(session)
    depth = dict(tree.walk())
    return {
        cid: CodeInfo(
            cid, tree.path(cid), c.name, c.colour or "#888888", c.definition or "", bool(c.archived), depth.get(cid, 0)
        )
        for cid, c in tree.codes.items()
    }


def codebook_order(session: Session) -> list[int]:
    """Code ids in codebook order (depth first, siblings by position)."""
    return [cid for cid, _ in CodeTree.load(session).walk()]


def coder_names(session: Session) -> dict[int, str]:
    return {cid: name for cid, name in session.execute(select(Coder.id, Coder.name).order_by(Coder.name))}


def transcript_memo(session: Session, transcript_id: int) -> str:
    memo = session.scalar(
        select(Memo.text)
        .where(Memo.target_type == "transcript", Memo.target_id == transcript_id)
        .order_by(Memo.id.desc())
        .limit(1)
    )
    return memo or ""


def transcript_id_for(session: Session, participant: str, timepoint: str) -> int | None:
    return session.scalar(
        select(Transcript.id)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .where(Participant.study_id == participant, Timepoint.key == timepoint)
    )


def home_grid(session: Session, counted: bool = True) -> HomeGrid:
    """Participants x timepoints: words, codings, and per coder the share of participant turns coded (with
    ``counted`` False the last two are left for ``home_counts``: the grid is ready in a few milliseconds)."""
    from models.store import get_setting

    tps = [(t.key, t.label) for t in timepoints(session)]
    rows = session.execute(
        select(Transcript.id, Participant.study_id, Timepoint.key, Transcript.word_count)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
    ).all()
    participants = [p for (p,) in session.execute(select(Participant.study_id).order_by(Participant.study_id))]
    blind = set(session.scalars(select(BlindTranscript.transcript_id)))
    cells = {(study_id, tp): HomeCell(tid, words or 0, 0, {}, tid in blind) for tid, study_id, tp, words in rows}
    name = str(get_setting(session, "name", "") or "")
    grid = HomeGrid(tps, participants, cells, name, coding_now(session), counted=False)
    return with_counts(grid, home_counts(session)) if counted else grid


def home_counts(session: Session) -> HomeCounts:
    """Codings per transcript and the domain's definition of progress (share of participant turns a coder
    has coded), computed with bisects rather than an overlap join that grows with turns x codings."""
    from models.queries import coding_progress

    counts = dict(
        session.execute(select(Coding.transcript_id, func.count()).group_by(Coding.transcript_id)).tuples().all()
    )
    progress: dict[int, dict[str, float]] = {}
    for row in coding_progress(session):
        if row["coded_turns"]:
            progress.setdefault(row["transcript_id"], {})[row["coder"]] = row["share"]
    return HomeCounts(counts, progress)


def with_counts(grid: HomeGrid, counts: HomeCounts) -> HomeGrid:
    """The grid with its codings and progress filled in from ``counts``."""
    cells = {
        key: replace(
            cell,
            codings=counts.codings.get(cell.transcript_id, 0),
            progress=counts.progress.get(cell.transcript_id, {}),
        )
        for key, cell in grid.cells.items()
    }
    return replace(grid, cells=cells, counted=True)


ACTIVE_MINUTES = 10
SYSTEM_ACTORS = ("system",)


def coding_now(session: Session, minutes: int = ACTIVE_MINUTES) -> list[str]:
    """Who is coding now: the coders with a change in the last ``minutes``, most recent first (in a team
    project, the colleagues working in it at the same time; the workspace refreshes this as changes arrive)."""
    from datetime import timedelta

    from models.schema import Event, utcnow

    since = utcnow() - timedelta(minutes=minutes)
    rows = session.execute(
        select(Event.actor, func.max(Event.at))
        .where(Event.at >= since, Event.actor.not_in(SYSTEM_ACTORS))
        .group_by(Event.actor)
        .order_by(func.max(Event.at).desc())
    ).all()
    return [actor for actor, _at in rows]


def codes_in_use(session: Session) -> set[int]:
    return {cid for (cid,) in session.execute(select(Coding.code_id).distinct())}


def code_ids_by_position(session: Session) -> list[tuple[int, int | None, int]]:
    """(id, parent_id, position) of every code, for keyboard reordering."""
    return list(session.execute(select(Code.id, Code.parent_id, Code.position)).tuples())
