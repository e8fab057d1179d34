"""Undo, redo and the readable history of a project.

Undo and redo replay the row images an event recorded (``models.journal``), so they survive restarts and
always move exactly one user-level operation, however many rows it touched. Each undo or redo is its own
transaction and also writes a non-undoable audit event ("Undid #12: ..."), so the history a reviewer reads
shows what was taken back and when, not only what was done.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import journal
from models.errors import WaveqdaError
from models.schema import Event
from models.store import Project


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
# The steps whose summaries say what was coded where (the words, the span, whose coding was kept); codebook
# steps that move codings (a merge, a split) only count them and stay readable.
QUOTING_OPERATIONS = ("coding.", "agreement.")


def _blind_steps(session: Session, rows: list[Any]) -> set[int]:
    """Coding steps of other people that changed codings the viewer may not see (blind coding,
    ``models.blind``): their summaries quote the coded words and name the code, so a coder reading the history
    would see what blind coding hides. A coding an update touched that this session cannot see counts as hidden."""
    from models.blind import view_of
    from models.schema import Coding
    from models.store import VIEWER_KEY

    view = view_of(session)
    if view is None:
        return set()
    viewer = session.info[VIEWER_KEY][0]
    others = [row.id for row in rows if row.actor != viewer and row.operation.startswith(QUOTING_OPERATIONS)]
    touched: dict[int, set[int]] = {}  # event id -> codings whose transcript the images do not say
    hidden: set[int] = set()
    for chunk in journal.chunks(others):
        for event_id, changes in session.execute(select(Event.id, Event.changes).where(Event.id.in_(chunk))):
            for change in changes or []:
                if change.get("table") != "codings":
                    continue
                images = [image for image in (change.get("before"), change.get("after")) if image]
                places = {image["transcript_id"] for image in images if "transcript_id" in image}
                if places & view.transcripts:
                    hidden.add(event_id)
                elif not places:
                    touched.setdefault(event_id, set()).add(change["pk"]["id"])
    wanted = {cid for ids in touched.values() for cid in ids}
    visible: dict[int, int] = {}
    for chunk in journal.chunks(list(wanted)):
        visible.update(
            session.execute(select(Coding.id, Coding.transcript_id).where(Coding.id.in_(chunk))).tuples().all()
        )
    for event_id, ids in touched.items():
        if any(cid not in visible or visible[cid] in view.transcripts for cid in ids):
            hidden.add(event_id)
    return hidden
