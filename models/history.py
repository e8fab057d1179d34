"""Undo, redo and the readable history of a project.

Undo and redo replay the row images an event recorded (``models.journal``), so they survive restarts and
always move exactly one user-level operation, however many rows it touched. Each undo or redo is its own
transaction and also writes a non-undoable audit event ("Undid #12: ..."), so the history a reviewer reads
shows what was taken back and when, not only what was done.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import journal
from models.errors import WaveqdaError
from models.schema import Event
from models.store import Project

if TYPE_CHECKING:
    from models.blind import BlindView


def _utc(moment: datetime) -> datetime:
    """SQLite hands times back without a zone; they were stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _step(project: Project, actor: str, backwards: bool, anyone: bool = False) -> Event | None:
    verb = "Undid" if backwards else "Redid"
    what = "the step"
    whose = None if anyone else actor
    try:
        with project.write_session(notify_as=actor) as session:
            ev = journal.last_done(session, whose) if backwards else journal.first_undone(session, whose)
            if ev is None:
                return None
            _check_blind(project, session, actor, ev, "undo" if backwards else "redo")
            what = f"#{ev.id} ({ev.summary})"
            journal.replay(session, ev, backwards=backwards)
            ev.state = "undone" if backwards else "done"
            journal.record_event(
                session,
                actor=actor,
                operation="history.undo" if backwards else "history.redo",
                summary=f"{verb} #{ev.id}: {ev.summary}",
                changes=None,
                detail={"event": ev.id},
                undoable=False,
            )
    except IntegrityError as exc:
        # Rows written since by a step that is logged but not undoable (an import, a merge, a name scan)
        # can depend on what this step would remove; the foreign keys refuse and nothing is changed.
        raise WaveqdaError(
            f"cannot {'undo' if backwards else 'redo'} {what}: rows added since by an import, merge or scan "
            "depend on it"
        ) from exc
    return ev


def undo(project: Project, actor: str, anyone: bool = False) -> Event | None:
    """Take back the actor's newest step still done (with ``anyone``, the newest step of any coder); returns
    its event, or None when there is nothing to undo. A step whose rows a colleague changed since is
    refused (``journal.replay``), never overwritten."""
    return _step(project, actor, backwards=True, anyone=anyone)


def redo(project: Project, actor: str, anyone: bool = False) -> Event | None:
    """Do again the actor's oldest undone step; returns its event, or None when there is nothing to redo.

    A new change after an undo discards that actor's undone steps (as in an editor), so they cannot be
    redone.
    """
    return _step(project, actor, backwards=False, anyone=anyone)


CODING_TABLES = frozenset({"codings", "coders"})


def coding_windows(session: Session, event: Event) -> dict[int, tuple[int, int]] | None:
    """Per transcript, the ``[a, b]`` holding every coding span a step (just undone or redone) changed, as
    it was and as it is now; None when the step changed more than codings (and coders), so views reload all.

    Why: after an undo the coder view re-reads only the codings touching that window and patches them in,
    as after applying a code, instead of reloading every coding and the codebook. An update's images hold
    only the columns it changed, so the rest of the span is read from the row as it is now.
    """
    from models.schema import Coding

    changes = event.changes or []
    if any(change["table"] not in CODING_TABLES for change in changes):
        return None
    codings = [change for change in changes if change["table"] == "codings"]
    updated = [c["pk"]["id"] for c in codings if c["before"] is not None and c["after"] is not None]
    now: dict[int, tuple[int, int, int]] = {}
    if updated:
        rows = session.execute(
            select(Coding.id, Coding.transcript_id, Coding.start, Coding.end).where(Coding.id.in_(updated))
        )
        now = {cid: (tid, start, end) for cid, tid, start, end in rows}
    windows: dict[int, tuple[int, int]] = {}

    def cover(transcript_id: int, a: int, b: int) -> None:
        old = windows.get(transcript_id)
        windows[transcript_id] = (a, b) if old is None else (min(old[0], a), max(old[1], b))

    for change in codings:
        before, after = change["before"], change["after"]
        if before is None or after is None:  # an insert or a delete: the image is the whole row
            row = after if before is None else before
            cover(int(row["transcript_id"]), int(row["start"]), int(row["end"]))
            continue
        if "transcript_id" in before or "transcript_id" in after or change["pk"]["id"] not in now:
            return None
        tid, start, end = now[change["pk"]["id"]]
        cover(tid, start, end)
        for image in (before, after):
            cover(tid, int(image.get("start", start)), int(image.get("end", end)))
    return windows


def newest_step_by_others(session: Session, actor: str) -> Event | None:
    """The newest undoable step of another coder (to tell a user whose step ``undo`` would leave alone)."""
    return session.scalars(
        select(Event)
        .where(Event.undoable.is_(True), Event.state == "done", Event.actor != actor)
        .order_by(Event.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class HistoryRow:
    """One event as the history lists it; ``as_dict`` is ``waveqda history --json``'s form."""

    id: int
    at: str  # ISO 8601, UTC, to the second
    actor: str
    operation: str
    summary: str
    state: str  # done, undone, discarded (undoable steps) or logged (audit-only events)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def history(session: Session, limit: int | None = None) -> list[HistoryRow]:
    """The event log oldest first (with ``limit``, the newest ``limit`` events).

    ``state`` is ``done``, ``undone`` or ``discarded`` for undoable steps and ``logged`` for audit-only
    events (imports, undo/redo markers, settings).
    """
    stmt = select(Event.id, Event.at, Event.actor, Event.operation, Event.summary, Event.state, Event.undoable)
    stmt = stmt.order_by(Event.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    rows = list(session.execute(stmt))
    rows.reverse()
    hidden = _blind_steps(session, rows)
    return [
        HistoryRow(
            row.id,
            _utc(row.at).isoformat(timespec="seconds"),
            row.actor,
            row.operation,
            BLIND_SUMMARY if row.id in hidden else row.summary,
            row.state if row.undoable else "logged",
        )
        for row in rows
    ]


BLIND_SUMMARY = "changed codings in a transcript being coded blind (shown when the owner reveals it)"
# The steps whose summaries say what was coded where (the words, the span, whose coding was kept, a comment on
# a coding); codebook steps that move codings (a merge, a split) only count them and stay readable.
QUOTING_OPERATIONS = ("coding.", "agreement.", "memo.")
STEP_OPERATIONS = ("history.undo", "history.redo")  # "Undid #12: <the summary of #12>"


def _check_blind(project: Project, session: Session, actor: str, ev: Event, verb: str) -> None:
    """Blind coding (``models.blind``): switching it on or revealing is the owner's, and so is taking either
    back; and nobody but its author (or the owner) undoes or redoes a step on codings they may not see, whose
    summary would quote them and whose undo would change another coder's independent work."""
    from models import blind

    if ev.operation.startswith("blind."):
        blind.check_step_owner(project, session, actor, ev.actor, f"{verb} #{ev.id} ({ev.summary})")
        return
    view = blind.view_for_actor(project, session, actor)
    viewer = project.viewer or actor
    if view is not None and ev.actor != viewer and ev.id in _hidden_steps(session, view, [ev.id]):
        raise WaveqdaError(
            f"cannot {verb} #{ev.id}: it is {ev.actor}'s step in a transcript being coded blind; only "
            f"{ev.actor} or the project's owner can {verb} it"
        )


def _blind_steps(session: Session, rows: list[Any]) -> set[int]:
    """The history rows whose summaries the viewer may not read: other people's coding steps that changed
    codings the viewer may not see (blind coding, ``models.blind``), whose summaries quote the coded words and
    name the code, and every undo or redo of such a step ("Undid #12: ..." repeats the summary of #12)."""
    from models.blind import view_of
    from models.store import VIEWER_KEY

    view = view_of(session)
    if view is None:
        return set()
    viewer = session.info[VIEWER_KEY][0]
    others = [row.id for row in rows if row.actor != viewer and row.operation.startswith(QUOTING_OPERATIONS)]
    steps = [row.id for row in rows if row.operation in STEP_OPERATIONS]
    undone: dict[int, int] = {}  # undo/redo event id -> the step it took back or did again
    for chunk in journal.chunks(steps):
        for event_id, detail in session.execute(select(Event.id, Event.detail).where(Event.id.in_(chunk))):
            if isinstance(detail, dict) and isinstance(detail.get("event"), int):
                undone[event_id] = detail["event"]
    referenced: list[int] = []
    for chunk in journal.chunks(sorted(set(undone.values()))):
        referenced += session.scalars(
            select(Event.id).where(
                Event.id.in_(chunk),
                Event.actor != viewer,
                or_(*(Event.operation.startswith(op) for op in QUOTING_OPERATIONS)),
            )
        )
    hidden = _hidden_steps(session, view, sorted(set(others) | set(referenced)))
    return (hidden & set(others)) | {event_id for event_id, step in undone.items() if step in hidden}


def _hidden_steps(session: Session, view: BlindView, event_ids: list[int]) -> set[int]:
    """Of these events, those that changed a coding ``view`` may not see, or a memo (a comment) on one. A row
    image that does not say its transcript (an update's holds only the columns it changed) is looked up as the
    coding is now; a coding that is gone counts as hidden."""
    from models.schema import Coding

    touched: dict[int, set[int]] = {}  # event id -> codings whose transcript the images do not say
    hidden: set[int] = set()
    for chunk in journal.chunks(event_ids):
        for event_id, changes in session.execute(select(Event.id, Event.changes).where(Event.id.in_(chunk))):
            for change in changes or []:
                images = [image for image in (change.get("before"), change.get("after")) if image]
                if change.get("table") == "memos":
                    on = {image["target_id"] for image in images if image.get("target_type") == "coding"}
                    touched.setdefault(event_id, set()).update(cid for cid in on if cid is not None)
                    continue
                if change.get("table") != "codings":
                    continue
                places = {image["transcript_id"] for image in images if "transcript_id" in image}
                if places & view.transcripts:
                    hidden.add(event_id)
                elif not places:
                    touched.setdefault(event_id, set()).add(change["pk"]["id"])
    wanted = {cid for ids in touched.values() for cid in ids}
    where: dict[int, int] = {}
    for chunk in journal.chunks(sorted(wanted)):
        rows = session.execute(
            select(Coding.id, Coding.transcript_id, Coding.coder_id).where(Coding.id.in_(chunk))
        ).tuples()
        where.update((cid, tid) for cid, tid, coder in rows if view.visible(tid, coder))
    for event_id, ids in touched.items():
        if any(cid not in where for cid in ids):
            hidden.add(event_id)
    return hidden
