"""Coding operations: applying codes to spans, snapping spans, and editing codings and transcript memos.

A coding is ``[start, end)`` of one transcript, one code, one coder. The rule that keeps counts honest: one
coder never holds two codings of the same code that overlap or touch. Applying a code next to or over an
existing coding of that code by that coder therefore extends the existing one (absorbing any others the
new span bridges) instead of adding a second row that would be counted twice.

Public functions that take a ``project`` are one undoable step each (``Project.change``); the
``*_in_session`` and span helpers run inside the caller's transaction so that merge, split and auto-code can
compose them into one step.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import TextClause, bindparam, func, select, text
from sqlalchemy.orm import Session

from models import hot_sql, journal
from models.codes import PATH_SEPARATOR, CodeTree
from models.errors import NotFoundError, StaleError, WaveqdaError
from models.journal import chunks
from models.participants import default_coder_name, get_or_create_coder
from models.schema import (
    MAX_ROW_ID,
    Code,
    Coder,
    Coding,
    Memo,
    Sentence,
    Transcript,
    Turn,
    get_row,
    is_row_id,
    new_uuid,
    table_of,
    utcnow,
)
from models.store import TRANSCRIPT_LOCK_CLASS, Project, set_setting
from models.transcripts import find_transcript

SNIPPET_LENGTH = 40
MEMO_SEPARATOR = "\n\n"


# --- lookups and labels ----------------------------------------------------------------------------


def transcript_label(transcript: Transcript) -> str:
    """``P07/T2``: how researchers name an interview."""
    return f"{transcript.participant.study_id}/{transcript.timepoint.key}"


def snippet(text: str, start: int, end: int, length: int = SNIPPET_LENGTH) -> str:
    """The coded text on one line, shortened, for event summaries a reviewer can read."""
    body = " ".join(text[start:end].split())
    return body if len(body) <= length else body[: length - 1] + "…"


def get_transcript(session: Session, transcript_id: int) -> Transcript:
    found = get_row(session, Transcript, transcript_id)
    if found is None:
        raise NotFoundError(f"no transcript with id {transcript_id}")
    return found


class CodingVersion(NamedTuple):
    """A coding as someone last saw it: its ``uuid`` and ``updated_at`` exactly as the database returned
    them (an opaque token, compared only with another read of the same columns) and where it was. A
    change given one (``expected=``) is refused when the coding no longer matches: another process or a
    colleague changed or removed it since, and a silent overwrite would lose their work."""

    uuid: str
    updated_at: object
    code_id: int
    start: int
    end: int


_VERSION_SQL = text('SELECT uuid, updated_at, code_id, start, "end" FROM codings WHERE id = :id')


def coding_version(session: Session, coding_id: int) -> CodingVersion | None:
    """The coding's current version (None when it does not exist)."""
    row = session.execute(_VERSION_SQL, {"id": coding_id}).first()
    return None if row is None else CodingVersion(*row)


def coding_versions(session: Session, coding_ids: Sequence[int]) -> dict[int, CodingVersion]:
    """The current versions of many codings (those a screen lists), read in chunks."""
    found: dict[int, CodingVersion] = {}
    for chunk in chunks(list(coding_ids)):
        rows = session.execute(_VERSIONS_SQL, {"ids": chunk}).fetchall()
        found.update((row[0], CodingVersion(*row[1:])) for row in rows)
    return found


_VERSIONS_SQL = text('SELECT id, uuid, updated_at, code_id, start, "end" FROM codings WHERE id IN :ids').bindparams(
    bindparam("ids", expanding=True)
)


def check_version(session: Session, coding_id: int, expected: CodingVersion | None) -> None:
    """Refuse, in one line, a change to a coding that is not as the caller last saw it (see CodingVersion).
    Called inside the change's transaction, which holds the write lock: nobody can change it in between."""
    if expected is None:
        return
    found = coding_version(session, coding_id)
    if found is None:
        raise StaleError("that coding was removed meanwhile (by another program or a colleague); nothing was changed")
    if found != expected:
        raise StaleError("that coding was changed meanwhile (by another program or a colleague); nothing was changed")


def get_coding(session: Session, coding_id: int) -> Coding:
    found = get_row(session, Coding, coding_id)
    if found is None:
        raise NotFoundError(f"no coding with id {coding_id} (see: waveqda codings PROJECT)")
    return found


def editable_coding(project: Project, session: Session, actor: str, coding_id: int) -> Coding:
    """The coding a change by ``actor`` edits; one the actor may not see (another coder's, in a transcript
    being coded blind) is refused as if it did not exist (``models.blind.check_sees_coding``)."""
    from models.blind import check_sees_coding

    coding = get_coding(session, coding_id)
    check_sees_coding(project, session, actor, coding)
    return coding


def check_span(transcript: Transcript, start: int, end: int) -> None:
    """Refuse a span that is empty, reversed or outside the transcript text."""
    length = len(transcript.text)
    if start < 0 or end > length:
        raise WaveqdaError(
            f"span {start}:{end} is outside transcript {transcript_label(transcript)} (text is 0:{length})"
        )
    if start >= end:
        raise WaveqdaError(f"span {start}:{end} is empty: start must be less than end")


def usable_code(session: Session, code_id: int) -> Code:
    """A code that may receive new codings: it exists and is not archived."""
    code = get_row(session, Code, code_id)
    if code is None:
        raise NotFoundError(f"no code with id {code_id}")
    if code.archived:
        path = CodeTree.load(session).path(code.id)
        raise WaveqdaError(f"code {path!r} is archived; unarchive it before coding with it")
    return code


def find_codes(session: Session, refs: list[str | int]) -> list[Code]:
    """The codes named by ``refs`` (ids or paths), each once, in the order given.

    Why not always ``CodeTree.load``: the workspace names codes by id, and loading the whole codebook (hundreds
    of ORM rows) was most of the cost of applying a code; an id is one primary-key lookup. A ref that is not
    the id of an existing code is resolved exactly as ``CodeTree.find`` would (a path, or a name of digits).
    """
    found: dict[int, Code] = {}
    tree: CodeTree | None = None
    for ref in refs:
        key = str(ref).strip()
        code = get_row(session, Code, int(key)) if key.isdigit() else None
        if code is None:
            tree = tree or CodeTree.load(session)
            code = tree.find(ref)
        found[code.id] = code
    return list(found.values())


# Plain SQL for the lookups made on every apply (a textual statement skips SQLAlchemy's statement building
# and compilation-cache work, which cost more than the queries themselves).
_CODE_SQL = text(  # a code, then its ancestors: id, name and (for the code itself) archived
    "WITH RECURSIVE up(id, parent_id, name, archived, depth) AS ("
    " SELECT id, parent_id, name, archived, 0 FROM codes WHERE id = :id"
    " UNION ALL SELECT c.id, c.parent_id, c.name, c.archived, up.depth + 1 FROM codes c"
    " JOIN up ON c.id = up.parent_id WHERE up.depth < 200)"
    " SELECT id, name, archived FROM up ORDER BY depth"
)


def _path_from(rows: Sequence[Any]) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    for row in rows:
        if row[0] in seen:  # a cycle (a damaged file): stop where CodeTree.path stops
            break
        seen.add(row[0])
        parts.append(row[1])
    return PATH_SEPARATOR.join(reversed(parts))


def codes_to_apply(session: Session, refs: list[str | int]) -> list[tuple[int, str, bool]]:
    """``(id, path, archived)`` of the codes named by ``refs``, each once, in the order given: what
    ``find_codes`` finds, with ``path_of`` and the archived flag, in one query per code named by id."""
    found: dict[int, tuple[int, str, bool]] = {}
    tree: CodeTree | None = None
    for ref in refs:
        key = str(ref).strip()
        rows: Sequence[Any] = []
        if key.isdigit() and is_row_id(int(key)):
            rows = hot_sql.rows(session, _CODE_SQL, {"id": int(key)})
        if rows:
            code = (rows[0][0], _path_from(rows), bool(rows[0][2]))
        else:
            tree = tree or CodeTree.load(session)
            found_code = tree.find(ref)
            code = (found_code.id, tree.path(found_code.id), found_code.archived)
        found[code[0]] = code
    return list(found.values())


def path_of(session: Session, code: Code) -> str:
    """``Theme/Sub/Code`` as ``CodeTree.path`` gives it (as stored), in one query instead of loading the
    whole tree."""
    return _path_from(session.execute(_CODE_SQL, {"id": code.id}).all())


def join_memos(memos: list[str]) -> str:
    """Distinct non-empty memo texts in order, so combining codings never drops what someone wrote."""
    out: list[str] = []
    for memo in memos:
        memo = memo.strip()
        if memo and memo not in out:
            out.append(memo)
    return MEMO_SEPARATOR.join(out)


# --- applying --------------------------------------------------------------------------------------


def same_code_neighbours(
    session: Session, transcript_id: int, code_id: int, coder_id: int, start: int, end: int
) -> list[Coding]:
    """Codings of this code by this coder that overlap or touch ``[start, end)`` (index: transcript, start)."""
    params = {"transcript_id": transcript_id, "code_id": code_id, "coder_id": coder_id, "start": start, "end": end}
    return list(session.scalars(_NEIGHBOURS, params))


_NEIGHBOURS = (  # built once: its cache key is worked out once, not on every apply
    select(Coding)
    .where(
        Coding.transcript_id == bindparam("transcript_id"),
        Coding.start <= bindparam("end"),
        Coding.end >= bindparam("start"),
        Coding.code_id == bindparam("code_id"),
        Coding.coder_id == bindparam("coder_id"),
    )
    .order_by(Coding.id)
)


def combine(
    session: Session,
    keep: Coding,
    others: list[Coding],
    start: int,
    end: int,
    memo: str = "",
    move_memos: bool = True,
) -> None:
    """Make ``keep`` the union of itself, ``others`` and ``[start, end)``; delete the others.

    Memos are joined and a key-quote flag or a needs-review status on any part survives on the whole; memo
    notes attached to the others move to ``keep`` (a caller combining many runs passes ``move_memos=False``
    and moves them all at once with ``move_coding_memos``).
    """
    parts = [keep, *others]
    union = {
        "start": min(start, *(c.start for c in parts)),
        "end": max(end, *(c.end for c in parts)),
        "memo": join_memos([*(c.memo for c in parts), memo]),
        "key_quote": any(c.key_quote for c in parts),
        "status": "needs_review" if any(c.status == "needs_review" for c in parts) else keep.status,
    }
    changed = {name: value for name, value in union.items() if getattr(keep, name) != value}
    for name, value in changed.items():
        setattr(keep, name, value)
    if changed or others:  # re-applying an already coded span is not a change
        keep.updated_at = utcnow()
    if move_memos and others:
        move_coding_memos(session, {other.id: keep.id for other in others})
    for other in others:
        session.delete(other)


def move_coding_memos(session: Session, moves: dict[int, int]) -> None:
    """Re-attach the memo notes of codings about to be deleted (``{old id: new id}``), in one query per 500."""
    for memo in attached_memos(session, list(moves)):
        memo.target_id = moves[cast(int, memo.target_id)]  # attached memos have a target


def attached_memos(session: Session, coding_ids: list[int]) -> list[Memo]:
    """Free-standing memos attached to these codings (from REFI-QDA notes or a merged project).

    Why callers must move them before deleting a coding: ``memos.target_id`` has no foreign key, and SQLite
    hands a deleted row's id to the next new row, so a memo left behind would quietly attach itself to some
    later, unrelated coding.
    """
    found: list[Memo] = []
    with session.no_autoflush:  # memos are not among the pending changes; flushing here costs a merge dearly
        for chunk in chunks(coding_ids):
            query = select(Memo).where(Memo.target_type == "coding", Memo.target_id.in_(chunk))
            found.extend(session.scalars(query))
    return found


def keep_as_project_memos(session: Session, coding_ids: list[int]) -> int:
    """Detach the memos of codings about to be deleted into project memos, so their text stays (undo
    re-attaches them). Returns how many were kept."""
    memos = attached_memos(session, coding_ids)
    for memo in memos:
        memo.target_type, memo.target_id = "project", None
    return len(memos)


def apply_code_in_session(
    session: Session, transcript_id: int, code_id: int, coder_id: int, start: int, end: int, memo: str = ""
) -> Coding:
    """Apply a code to ``[start, end)`` as a coder, inside the caller's transaction.

    Extends (and merges) this coder's existing codings of this code that overlap or touch the span instead
    of adding a second one, so nothing is counted twice. Returns the coding that now covers the span.
    """
    check_span(get_transcript(session, transcript_id), start, end)
    usable_code(session, code_id)
    if get_row(session, Coder, coder_id) is None:
        raise NotFoundError(f"no coder with id {coder_id}")
    return _apply_checked(session, transcript_id, code_id, coder_id, start, end, memo)


def apply_code_to_spans(
    session: Session, code_id: int, coder_id: int, targets: Mapping[int, Sequence[tuple[int, int]]]
) -> None:
    """Apply one code as one coder to many spans (transcript id -> spans) inside the caller's transaction.

    The result is what ``apply_code_in_session`` span by span leaves (each group of this coder's codings of
    this code that the spans make overlap or touch becomes one coding, kept in the oldest; codings no span
    reaches are left as they are), but the code, the coder and each transcript's length are checked once,
    the existing codings are loaded in one query and the session is flushed once: an auto-code of thousands
    of hits no longer re-reads a transcript's text and flushes for every hit (issue 20).
    """
    usable_code(session, code_id)
    if get_row(session, Coder, coder_id) is None:
        raise NotFoundError(f"no coder with id {coder_id}")
    wanted = {tid: sorted(spans) for tid, spans in targets.items() if spans}
    if not wanted:
        return
    _check_spans(session, wanted)
    existing: dict[int, list[Coding]] = {tid: [] for tid in wanted}
    for tid_chunk in chunks(list(wanted)):
        for coding in session.scalars(
            select(Coding).where(
                Coding.code_id == code_id, Coding.coder_id == coder_id, Coding.transcript_id.in_(tid_chunk)
            )
        ):
            existing[coding.transcript_id].append(coding)
    fresh: list[tuple[int, int, int]] = []
    for tid, spans in wanted.items():
        for group, lo, hi in _touching_groups(existing[tid], spans):
            if group:
                keep, *others = sorted(group, key=lambda c: c.id)
                combine(session, keep, others, lo, hi)
            else:
                fresh.append((tid, lo, hi))
    session.flush()
    _insert_new_codings(session, code_id, coder_id, fresh)


def _insert_new_codings(session: Session, code_id: int, coder_id: int, spans: list[tuple[int, int, int]]) -> None:
    """New codings written in one executemany and journalled by hand, as a merge writes them: thousands of
    ORM objects would cost more than the database's own work. (Their uuids are new, so no tombstone can
    name them.)"""
    if not spans:
        return
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "uuid": new_uuid(),
            "transcript_id": tid,
            "code_id": code_id,
            "coder_id": coder_id,
            "start": start,
            "end": end,
            "memo": "",
            "key_quote": False,
            "status": "ok",
            "created_at": now,
            "updated_at": now,
        }
        for tid, start, end in spans
    ]
    journal.insert_rows(session, table_of(Coding), rows)
    buffer = session.info.get(journal.BUFFER_KEY)
    if buffer is None:
        return
    ids: dict[str, int] = {}
    for chunk in chunks([row["uuid"] for row in rows]):
        ids.update(session.execute(select(Coding.uuid, Coding.id).where(Coding.uuid.in_(chunk))).tuples().all())
    for row in rows:
        row_id = ids[row["uuid"]]
        buffer.add("codings", {"id": row_id}, None, journal.image({"id": row_id, **row}))


def _check_spans(session: Session, wanted: Mapping[int, Sequence[tuple[int, int]]]) -> None:
    """``check_span``'s refusals for many spans, reading each transcript's length (not its text) once."""
    lengths: dict[int, int] = {}
    for tid_chunk in chunks(list(wanted)):
        lengths.update(
            session.execute(select(Transcript.id, func.length(Transcript.text)).where(Transcript.id.in_(tid_chunk)))
            .tuples()
            .all()
        )
    for tid, spans in wanted.items():
        if tid not in lengths:
            raise NotFoundError(f"no transcript with id {tid}")
        for start, end in spans:
            if start < 0 or end > lengths[tid] or start >= end:
                check_span(get_transcript(session, tid), start, end)  # its message, on the rare bad span


def _touching_groups(codings: list[Coding], spans: Sequence[tuple[int, int]]) -> list[tuple[list[Coding], int, int]]:
    """The runs of codings and spans that overlap or touch, each with its bounds, for runs holding a span."""
    items: list[tuple[int, int, Coding | None]] = [(c.start, c.end, c) for c in codings]
    items += [(start, end, None) for start, end in spans]
    items.sort(key=lambda item: (item[0], item[1]))
    groups: list[tuple[list[Coding], int, int]] = []
    run: list[Coding] = []
    has_span, lo, hi = False, items[0][0], items[0][1]
    for start, end, coding in items:
        if start > hi:  # a gap: the run so far is complete
            if has_span:
                groups.append((run, lo, hi))
            run, has_span, lo, hi = [], False, start, end
        hi = max(hi, end)
        if coding is None:
            has_span = True
        else:
            run.append(coding)
    if has_span:
        groups.append((run, lo, hi))
    return groups


_ANY_NEIGHBOUR_SQL = text(
    "SELECT 1 FROM codings WHERE code_id = :code_id AND transcript_id = :transcript_id AND start <= :end"
    ' AND "end" >= :start AND coder_id = :coder_id LIMIT 1'
)


def _apply_checked(
    session: Session,
    transcript_id: int,
    code_id: int,
    coder_id: int,
    start: int,
    end: int,
    memo: str,
    flushed: bool = False,
) -> Coding:
    """``apply_code_in_session`` once the transcript, the span, the code and the coder are known to be good.

    ``flushed``: the session has no pending changes, so a plain query can tell first whether there is any
    neighbour to combine with (usually not) before loading them as objects.
    """
    params = {"transcript_id": transcript_id, "code_id": code_id, "coder_id": coder_id, "start": start, "end": end}
    if flushed and session.execute(_ANY_NEIGHBOUR_SQL, params).first() is None:
        neighbours = []
    else:
        neighbours = same_code_neighbours(session, transcript_id, code_id, coder_id, start, end)
    if neighbours:
        keep, *others = neighbours
        combine(session, keep, others, start, end, memo)
        session.flush()
        return keep
    coding = Coding(
        transcript_id=transcript_id, code_id=code_id, coder_id=coder_id, start=start, end=end, memo=memo.strip()
    )
    session.add(coding)
    session.flush()
    return coding


_CODING_COLUMNS = (
    "uuid", "transcript_id", "code_id", "coder_id", "start", "end", "memo", "key_quote", "status", "created_at",
    "updated_at",
)  # fmt: skip


def _insert_alone_statement(columns: tuple[str, ...]) -> TextClause:
    """INSERT a coding unless this coder has one of this code there or touching it; RETURNING its id."""
    return text(
        f"INSERT INTO codings ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)})"
        f" SELECT {', '.join(f':{c}' for c in columns)} WHERE NOT EXISTS ("
        "SELECT 1 FROM codings WHERE code_id = :code_id AND transcript_id = :transcript_id AND start <= :end"
        ' AND "end" >= :start AND coder_id = :coder_id) RETURNING id'
    ).bindparams(*(bindparam(c, type_=table_of(Coding).c[c].type) for c in ("key_quote", "created_at", "updated_at")))


_INSERT_ALONE_SQL = _insert_alone_statement(_CODING_COLUMNS)
_INSERT_ALONE_WITH_ID_SQL = _insert_alone_statement(("id", *_CODING_COLUMNS))  # an id drawn beforehand


def _new_coding_row(transcript_id: int, code_id: int, coder_id: int, start: int, end: int, memo: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "uuid": new_uuid(),
        "transcript_id": transcript_id,
        "code_id": code_id,
        "coder_id": coder_id,
        "start": start,
        "end": end,
        "memo": memo.strip(),
        "key_quote": False,
        "status": "ok",
        "created_at": now,
        "updated_at": now,
    }


def _insert_alone(
    session: Session, transcript_id: int, code_id: int, coder_id: int, start: int, end: int, memo: str
) -> int | None:
    """Insert a new coding of ``[start, end)`` unless this coder already has a coding of this code there or
    touching it (then None: the caller combines them), in one statement, journalled by hand as
    ``_insert_new_codings`` does; returns the new coding's id.

    Why: this is the common case of every coding made at the keyboard, and for a team's coders on PostgreSQL
    the round trips and the ORM's flush of one row were most of a change's cost (issue 16)."""
    row = _new_coding_row(transcript_id, code_id, coder_id, start, end, memo)
    inserted = hot_sql.first(session, _INSERT_ALONE_SQL, row)
    new_id = inserted[0] if inserted is not None else None
    if new_id is None:
        return None
    buffer = session.info.get(journal.BUFFER_KEY)
    if buffer is not None:  # a new uuid: no tombstone can name it
        buffer.add("codings", {"id": new_id}, None, journal.image({"id": new_id, **row}))
    return new_id


_SPAN_FROM = (
    " FROM transcripts t JOIN participants p ON p.id = t.participant_id JOIN timepoints tp ON tp.id = t.timepoint_id"
    " WHERE t.id = :tid"
)
_SPAN_COLUMNS = "SELECT substr(t.text, :first, :count), p.study_id, tp.key, (SELECT id FROM coders WHERE name = :coder)"
_SPAN_SQL = text(_SPAN_COLUMNS + _SPAN_FROM)
# the same, waiting first for other changes within this transcript (PostgreSQL, see ``Project.change``)
_SPAN_LOCKING_SQL = text(_SPAN_COLUMNS + ", pg_advisory_xact_lock(:cls, t.id)::text" + _SPAN_FROM)
# the same, for one code given by id (PostgreSQL, each coding made at the keyboard): also the code's path,
# whether this coder has a coding of it there or touching the span already (read before the transcript's
# lock was granted, so a hint: the insert checks again), and an id drawn for the new coding
_SPAN_ONE_CODE_SQL = text(
    _SPAN_COLUMNS
    + ", pg_advisory_xact_lock(:cls, t.id)::text"
    + ", (WITH RECURSIVE up(id, parent_id, name, archived, depth) AS ("
    " SELECT id, parent_id, name, archived, 0 FROM codes WHERE id = :code_id"
    " UNION ALL SELECT c.id, c.parent_id, c.name, c.archived, up.depth + 1 FROM codes c"
    " JOIN up ON c.id = up.parent_id WHERE up.depth < 200)"
    " SELECT json_agg(json_build_array(id, name, archived) ORDER BY depth) FROM up)"
    ", EXISTS (SELECT 1 FROM codings n WHERE n.code_id = :code_id AND n.transcript_id = t.id AND n.start <= :end"
    ' AND n."end" >= :start AND n.coder_id = (SELECT id FROM coders WHERE name = :coder))'
    ", nextval(pg_get_serial_sequence('codings', 'id'))" + _SPAN_FROM
)
_LENGTH_SQL = text("SELECT length(text) FROM transcripts WHERE id = :tid")


class Span(NamedTuple):
    transcript_id: int
    label: str  # participant/timepoint
    body: str  # the span's text
    coder_id: int | None  # the coder asked about, None if there is none of that name
    # with ``code_id`` (PostgreSQL): the code as ``codes_to_apply`` gives it (None if there is no such code),
    # whether the coder may have a coding of it to combine with, and an id for a new coding
    code: tuple[int, str, bool] | None = None
    neighbour: bool = True
    new_id: int | None = None


def checked_span(
    session: Session | hot_sql.Driver,
    transcript_ref: str | int,
    start: int,
    end: int,
    coder: str = "",
    lock: bool = False,
    code_id: int | None = None,
) -> Span:
    """The transcript, its label and the text of the span after the checks of ``find_transcript`` and
    ``check_span`` (the same errors), without bringing the whole transcript text into Python; in the same
    statement the id of the coder named ``coder`` and, with ``lock``, this transcript's lock on PostgreSQL
    (each round trip of a change counts for a team's coders).

    Why: at 120,000 words the text is 640 KB, and loading it (or having SQLite count its characters) was a
    third of applying a code. SQLite cuts the span out instead, reading only up to it: the span is inside
    the text exactly when all its characters come back. The length is counted only for an error message.
    (SQLite counts characters, code points, as Python does.)
    """
    ref = str(transcript_ref).strip()
    if ref.isdigit():
        transcript_id = int(ref)
        if not is_row_id(transcript_id):
            raise NotFoundError(f"no transcript with id {ref}")
    else:
        assert isinstance(session, Session), "a transcript named by its label needs a session"
        transcript_id = find_transcript(session, ref).id
    count = end - start
    params = {"tid": transcript_id, "first": max(start, 0) + 1, "count": max(count, 0), "coder": coder.strip()}
    statement = _SPAN_SQL
    if lock:
        params["cls"] = TRANSCRIPT_LOCK_CLASS
        statement = _SPAN_LOCKING_SQL
        if code_id is not None:
            params.update(code_id=code_id, start=start, end=end)
            statement = _SPAN_ONE_CODE_SQL
    row = hot_sql.first(session, statement, params)
    if row is None:
        raise NotFoundError(f"no transcript with id {ref}")
    body, participant, timepoint, coder_id = row[:4]
    label = f"{participant}/{timepoint}"
    if start < 0 or count <= 0 or len(body) < count:
        found = hot_sql.first(session, _LENGTH_SQL, {"tid": transcript_id})
        length = found[0] if found is not None else 0
        if start < 0 or end > length:
            raise WaveqdaError(f"span {start}:{end} is outside transcript {label} (text is 0:{length})")
        raise WaveqdaError(f"span {start}:{end} is empty: start must be less than end")
    if statement is _SPAN_ONE_CODE_SQL:
        path, neighbour, new_id = row[5:8]
        code = (path[0][0], _path_from(path), bool(path[0][2])) if path else None
        return Span(transcript_id, label, body, coder_id, code, neighbour, new_id)
    return Span(transcript_id, label, body, coder_id)


class _NewCoder(Exception):
    """A change within one transcript met a coder's first use: creating a coder is a change to the whole
    project, so the change starts again holding the project's write lock exclusively."""


class _UsualWay(Exception):
    """Applying one code on the driver found what the usual way handles: the coder's first coding, a coding
    to combine with (perhaps committed while it waited for the transcript), a code missing or archived."""


def apply_codes(
    project: Project,
    actor: str,
    transcript_ref: str | int,
    code_refs: list[str | int],
    coder: str,
    start: int,
    end: int,
    memo: str = "",
) -> list[int]:
    """Apply several codes to one span as one undoable step; creates the coder on first use.

    Returns the ids of the codings that cover the span, one per code (an existing coding when extended).
    """
    if not code_refs:
        raise WaveqdaError("no code given")
    args = (project, actor, transcript_ref, code_refs, coder, start, end, memo)
    if project.is_sqlite:
        return _apply_codes(*args, within_transcript=False)
    transcript_id, code_id = _row_id(transcript_ref), _one_code_id(code_refs)
    if transcript_id is not None and code_id is not None:
        try:
            return _apply_one_code(project, actor, transcript_id, code_id, coder, start, end, memo)
        except _UsualWay:
            pass
    try:
        return _apply_codes(*args, within_transcript=True)
    except _NewCoder:
        return _apply_codes(*args, within_transcript=False)


def _row_id(ref: str | int) -> int | None:
    key = str(ref).strip()
    return int(key) if key.isdigit() and is_row_id(int(key)) else None


def _one_code_id(code_refs: list[str | int]) -> int | None:
    """The id of the one code given by id (the workspace applies codes so), else None."""
    return _row_id(code_refs[0]) if len(code_refs) == 1 else None


def _apply_one_code(
    project: Project, actor: str, transcript_id: int, code_id: int, coder: str, start: int, end: int, memo: str
) -> list[int]:
    """PostgreSQL, one code by id on a transcript by id (each coding made at the keyboard) when it is a new
    coding: three statements on the driver (``Project.driver_change``): the write lock; the span with its
    transcript's lock, the code's path, a neighbour hint and an id drawn for the coding; then the coding and
    its event together (``journal.record_event_with_row``). Raises ``_UsualWay`` (having written nothing)
    for anything else."""
    operation = "coding.apply"
    with project.driver_change(actor) as driver:
        span = checked_span(driver, transcript_id, start, end, coder, lock=True, code_id=code_id)
        if span.coder_id is None or span.code is None or span.code[2] or span.neighbour or span.new_id is None:
            raise _UsualWay
        row = {"id": span.new_id, **_new_coding_row(transcript_id, code_id, span.coder_id, start, end, memo)}
        summary = _apply_summary(span, start, end, span.code[1], coder.strip())
        written = journal.record_event_with_row(
            driver, _INSERT_ALONE_WITH_ID_SQL, row, "codings", span.new_id, actor, operation, summary,
            {"codings": [span.new_id]},
        )  # fmt: skip
        if written is None:  # a coding to combine with was committed while this waited for the transcript
            raise _UsualWay
    return [span.new_id]


def _apply_summary(span: Span, start: int, end: int, paths: str, coder_name: str) -> str:
    return f"Coded {span.label} {start}:{end} “{snippet(span.body, 0, len(span.body))}” as {paths} ({coder_name})"


def _apply_codes(
    project: Project,
    actor: str,
    transcript_ref: str | int,
    code_refs: list[str | int],
    coder: str,
    start: int,
    end: int,
    memo: str,
    within_transcript: bool,
) -> list[int]:
    with project.change(actor, "coding.apply", within_transcript=within_transcript) as session:
        span = checked_span(session, transcript_ref, start, end, coder, lock=within_transcript)
        transcript_id = span.transcript_id
        codes = codes_to_apply(session, code_refs)
        if span.coder_id is not None:
            coder_id, coder_name = span.coder_id, coder.strip()
        elif within_transcript:
            raise _NewCoder
        else:  # first use: created (or refused, for an empty name)
            created = get_or_create_coder(session, coder)
            coder_id, coder_name = created.id, created.name
        ids = []
        for code_id, path, archived in codes:
            if archived:
                raise WaveqdaError(f"code {path!r} is archived; unarchive it before coding with it")
            # every step before flushed its changes (a new coder, the previous code's coding)
            new_id = _insert_alone(session, transcript_id, code_id, coder_id, start, end, memo)
            if new_id is None:  # there are neighbours to combine with
                new_id = _apply_checked(session, transcript_id, code_id, coder_id, start, end, memo).id
            ids.append(new_id)
        paths = ", ".join(path for _, path, _ in codes)
        session.info["summary"] = _apply_summary(span, start, end, paths, coder_name)
        session.info["detail"] = {"codings": ids}
    return ids


# --- spans: snapping and finding ---------------------------------------------------------------------


def _snap(rows: list[tuple[int, int]], start: int, end: int, unit: str) -> tuple[int, int]:
    if not rows:
        raise WaveqdaError(f"span {start}:{end} touches no {unit}; select some speech")
    return min(s for s, _ in rows), max(e for _, e in rows)


def snap_to_sentences(session: Session, transcript_id: int, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` to the whole sentences it overlaps (a partial sentence becomes whole)."""
    check_span(get_transcript(session, transcript_id), start, end)
    rows = session.execute(
        select(Sentence.start, Sentence.end).where(
            Sentence.transcript_id == transcript_id, Sentence.start < end, Sentence.end > start
        )
    ).all()
    return _snap([tuple(r) for r in rows], start, end, "sentence")


def snap_to_turns(session: Session, transcript_id: int, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` to the whole speaker turns it overlaps (speech only, never the label)."""
    check_span(get_transcript(session, transcript_id), start, end)
    rows = session.execute(
        select(Turn.start, Turn.end).where(
            Turn.transcript_id == transcript_id, Turn.start < end, Turn.end > start, Turn.start < Turn.end
        )
    ).all()
    return _snap([tuple(r) for r in rows], start, end, "turn")


def sentence_span(session: Session, transcript_id: int, n: int) -> tuple[int, int]:
    """The span of sentence ``n``, counting the transcript's sentences in text order from 0."""
    get_transcript(session, transcript_id)
    row = None
    if 0 <= n < MAX_ROW_ID:
        row = session.execute(
            select(Sentence.start, Sentence.end)
            .where(Sentence.transcript_id == transcript_id)
            .order_by(Sentence.start)
            .offset(n)
            .limit(1)
        ).first()
    if row is None:
        raise NotFoundError(f"no sentence {n} in transcript {transcript_id} (sentences are numbered from 0)")
    return row[0], row[1]


def turn_span(session: Session, transcript_id: int, number: int) -> tuple[int, int]:
    """The speech span of turn ``number`` (counted from 1, as every screen and report numbers turns),
    without its speaker label."""
    from models.transcripts import turn_index

    get_transcript(session, transcript_id)
    row = None
    index = turn_index(number)
    if 0 <= index < MAX_ROW_ID:
        row = session.execute(
            select(Turn.start, Turn.end).where(Turn.transcript_id == transcript_id, Turn.index == index)
        ).first()
    if row is None:
        raise NotFoundError(f"no turn {number} in transcript {transcript_id} (turns are numbered from 1)")
    if row[0] >= row[1]:
        raise WaveqdaError(f"turn {number} in transcript {transcript_id} is empty")
    return row[0], row[1]


def match_span(session: Session, transcript_id: int, text: str) -> tuple[int, int]:
    """The span of the first exact occurrence of ``text`` in the transcript."""
    if not text:
        raise WaveqdaError("the text to match is empty")
    transcript = get_transcript(session, transcript_id)
    start = transcript.text.find(text)
    if start < 0:
        raise NotFoundError(f"{text!r} does not occur in transcript {transcript_label(transcript)}")
    return start, start + len(text)


def needs_review_count(session: Session) -> int:
    """How many codings a merge could not place exactly on their text (to be checked by a person); every
    output that counts or quotes codings says so."""
    from sqlalchemy import func

    return session.scalar(select(func.count(Coding.id)).where(Coding.status == "needs_review")) or 0


# --- editing codings ---------------------------------------------------------------------------------


def _describe(session: Session, coding: Coding) -> str:
    transcript = get_transcript(session, coding.transcript_id)
    path = CodeTree.load(session).path(coding.code_id)
    return (
        f"#{coding.id} {path} in {transcript_label(transcript)} {coding.start}:{coding.end} "
        f"“{snippet(transcript.text, coding.start, coding.end)}”"
    )


def remove_coding(project: Project, actor: str, coding_id: int, expected: CodingVersion | None = None) -> None:
    """Delete one coding (its memo field and flags go with it; undo brings them back). Memos attached to
    it as separate notes are kept as project memos. ``expected``: refuse if it changed since (StaleError)."""
    with project.change(actor, "coding.remove") as session:
        check_version(session, coding_id, expected)
        coding = editable_coding(project, session, actor, coding_id)
        kept = keep_as_project_memos(session, [coding.id])
        note = f" (its {kept} memo(s) kept as project memos)" if kept else ""
        session.info["summary"] = f"Removed coding {_describe(session, coding)}{note}"
        session.delete(coding)


def resize_coding(
    project: Project, actor: str, coding_id: int, start: int, end: int, expected: CodingVersion | None = None
) -> int:
    """Give a coding new offsets; growing into this coder's other codings of the code absorbs them.

    Returns the id of the coding that now covers the span (the resized one). ``expected``: see
    ``CodingVersion``.
    """
    with project.change(actor, "coding.resize") as session:
        check_version(session, coding_id, expected)
        coding = editable_coding(project, session, actor, coding_id)
        transcript = get_transcript(session, coding.transcript_id)
        check_span(transcript, start, end)
        old = f"{coding.start}:{coding.end}"
        coding.start, coding.end = start, end
        coding.updated_at = utcnow()
        others = [
            c
            for c in same_code_neighbours(session, coding.transcript_id, coding.code_id, coding.coder_id, start, end)
            if c.id != coding.id
        ]
        if others:
            combine(session, coding, others, start, end)
        session.info["summary"] = f"Resized coding {old} to {_describe(session, coding)}"
        return coding.id


def recode_coding(
    project: Project, actor: str, coding_id: int, new_code_ref: str | int, expected: CodingVersion | None = None
) -> int:
    """Move a coding to another code as one undoable step; returns the id of the coding that now covers it.

    The coding keeps its id, span, memo and flags. If its coder already has codings of the new code that
    overlap or touch it, they are combined into it by the rule applying a code follows (``combine``: the
    union of the spans, memos joined, a key quote or a needs-review status kept, attached memo notes moved),
    so one coder never holds two touching codings of one code. One undo restores all of it. ``expected``:
    see ``CodingVersion``.
    """
    with project.change(actor, "coding.recode") as session:
        check_version(session, coding_id, expected)
        coding = editable_coding(project, session, actor, coding_id)
        [code] = find_codes(session, [new_code_ref])
        old_code_id = coding.code_id
        old_code = get_row(session, Code, old_code_id)
        old_path = path_of(session, old_code) if old_code is not None else f"#{old_code_id}"
        new_path = path_of(session, code)
        if code.id == coding.code_id:
            raise WaveqdaError(f"coding #{coding.id} is already coded as {new_path}")
        usable_code(session, code.id)
        others = [
            c
            for c in same_code_neighbours(
                session, coding.transcript_id, code.id, coding.coder_id, coding.start, coding.end
            )
            if c.id != coding.id
        ]
        coding.code_id = code.id
        coding.updated_at = utcnow()
        if others:
            combine(session, coding, others, coding.start, coding.end)
        transcript = get_transcript(session, coding.transcript_id)
        merged = f", combined with {len(others)} coding(s) of it" if others else ""
        session.info["summary"] = (
            f"Recoded coding #{coding.id} from {old_path} to {new_path}{merged}: {transcript_label(transcript)} "
            f"{coding.start}:{coding.end} “{snippet(transcript.text, coding.start, coding.end)}”"
        )
        session.info["detail"] = {
            "coding": coding.id,
            "from": old_code_id,
            "to": code.id,
            "absorbed": [c.id for c in others],
        }
        return coding.id


def set_coding_memo(
    project: Project, actor: str, coding_id: int, memo: str, expected: CodingVersion | None = None
) -> None:
    """Replace the memo on one coding (empty text clears it). ``expected``: see ``CodingVersion``."""
    with project.change(actor, "coding.memo") as session:
        check_version(session, coding_id, expected)
        coding = editable_coding(project, session, actor, coding_id)
        coding.memo = memo.strip()
        coding.updated_at = utcnow()
        action = "Edited memo on" if coding.memo else "Cleared memo on"
        session.info["summary"] = f"{action} coding {_describe(session, coding)}"


def set_key_quote(
    project: Project, actor: str, coding_id: int, flag: bool, expected: CodingVersion | None = None
) -> None:
    """Mark or unmark a coding as a key quote (the ones a write-up will cite). ``expected``: see
    ``CodingVersion``."""
    with project.change(actor, "coding.key_quote") as session:
        check_version(session, coding_id, expected)
        coding = editable_coding(project, session, actor, coding_id)
        coding.key_quote = bool(flag)
        coding.updated_at = utcnow()
        action = "Marked" if flag else "Unmarked"
        session.info["summary"] = f"{action} key quote {_describe(session, coding)}"


# --- transcript memos --------------------------------------------------------------------------------


def _transcript_memo_row(session: Session, transcript_id: int) -> Memo | None:
    """The newest memo on the transcript: the one the workspace shows, so an edit lands on the text the
    researcher was looking at, never on an older note (a REFI-QDA description, a merged coder's memo)."""
    return session.scalars(
        select(Memo)
        .where(Memo.target_type == "transcript", Memo.target_id == transcript_id)
        .order_by(Memo.id.desc())
        .limit(1)
    ).first()


def transcript_memo(session: Session, transcript_id: int) -> str:
    """The memo on a transcript, or ``""``."""
    row = _transcript_memo_row(session, transcript_id)
    return "" if row is None else row.text


def set_transcript_memo(project: Project, actor: str, transcript_ref: str | int, text: str) -> None:
    """Write the memo on a transcript (one per transcript, kept in ``memos``); empty text removes it."""
    with project.change(actor, "transcript.memo") as session:
        transcript = find_transcript(session, transcript_ref)
        label = transcript_label(transcript)
        row = _transcript_memo_row(session, transcript.id)
        text = text.strip()
        if not text:
            if row is not None:
                session.delete(row)
            session.info["summary"] = f"Cleared memo on {label}"
            return
        if row is None:
            row = Memo(target_type="transcript", target_id=transcript.id, title=f"Memo on {label}", author=actor)
            session.add(row)
        row.text = text
        row.updated_at = utcnow()
        session.info["summary"] = f"Edited memo on {label}"


# --- coders ------------------------------------------------------------------------------------------


def set_default_coder(project: Project, name: str) -> None:
    """Make ``name`` the coder used when none is given, so a lone researcher need not repeat it.

    Logged but not undoable: it is a preference, and ``undo`` should keep meaning "undo my last coding
    step". The coder row itself is created on first use.
    """
    name = name.strip()
    if not name:
        raise WaveqdaError("coder name is empty")
    with project.change(name, "coder.default", f"Default coder is now {name!r}", undoable=False) as session:
        set_setting(session, "default_coder", name)


def actor_name(session: Session, coder: str | None = None) -> str:
    """Who an event is recorded as: the coder named, else the project's default coder, else the OS user."""
    return (coder or "").strip() or default_coder_name(session) or getpass.getuser()


def resolve_span(
    session: Session,
    transcript_ref: str | int,
    span: str | None = None,
    sentence: int | None = None,
    turn: int | None = None,
    match: str | None = None,
) -> tuple[int, int, int]:
    """``(transcript_id, start, end)`` from exactly one way of naming a span: ``"START:END"``, a sentence
    number (from 0), a turn number (from 1, as turns are shown everywhere) or the first occurrence of some
    text."""
    given = [
        name
        for name, value in (("span", span), ("sentence", sentence), ("turn", turn), ("match", match))
        if value is not None
    ]
    if len(given) != 1:
        raise WaveqdaError("give exactly one of --span START:END, --sentence N, --turn N or --match TEXT")
    transcript = find_transcript(session, transcript_ref)
    if span is not None:
        start, end = parse_span(span)
        check_span(transcript, start, end)
    elif sentence is not None:
        start, end = sentence_span(session, transcript.id, sentence)
    elif turn is not None:
        start, end = turn_span(session, transcript.id, turn)
    else:
        start, end = match_span(session, transcript.id, match or "")
    return transcript.id, start, end


def parse_span(text: str) -> tuple[int, int]:
    """``"120:348"`` -> ``(120, 348)``."""
    start, sep, end = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start), int(end)
    except ValueError:
        raise WaveqdaError(f"invalid span {text!r}: use START:END, e.g. 120:348") from None
