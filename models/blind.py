"""Blind coding (issue 16): the owner switches it on for some transcripts; until they are revealed, each
coder sees only their own codings there, everywhere waveqda shows codings (workspace, queries, reports,
exports), and nothing attached to the others' codings (their memos, comments, history steps). Nothing is
hidden from the owner, and nothing is ever hidden from what changes the project as a whole (merges, copies).

How: a project read on behalf of someone (``Project.viewer``, set by the CLI and the workspace) puts the
viewer in its session's ``info``. Every ORM select in that session then gets a loader criterion on
``Coding`` (SQLAlchemy's documented way to filter rows for one user) that drops other coders' codings in
blind transcripts, and one on ``Memo`` that drops the memos attached to them; the workspace's few textual
statements ask ``view_of`` themselves. Sessions without a viewer (merges, copies, undo, checks, every write)
see every row, so blindness can never lose a coding; a change that names one coding, or undoes one step,
asks ``view_for_actor`` itself, so that a coder can neither edit nor quote what they may not see.

Who is the owner: the role given by the browser login when there is one; on PostgreSQL the database role
(``waveqda role``); on a project file, which has no roles, whoever switched blind coding on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, Table, delete, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.selectable import FromClause, Join

from models.errors import WaveqdaError
from models.schema import BlindTranscript, Coder, Coding, Memo, Participant, Timepoint, Transcript
from models.store import VIEWER_KEY, Project

_VIEW_KEY = "waveqda_blind_view"


@dataclass(frozen=True)
class BlindView:
    """What one viewer may not see: other coders' codings in these transcripts."""

    transcripts: frozenset[int]
    own_coder_id: int | None

    def visible(self, transcript_id: int, coder_id: int) -> bool:
        return transcript_id not in self.transcripts or coder_id == self.own_coder_id


@dataclass(frozen=True)
class BlindEntry:
    transcript: str  # "P01/T1"
    since: datetime
    by: str


def switch_on(project: Project, actor: str, refs: Sequence[str], timepoint: str | None = None) -> list[str]:
    """Make these transcripts (and every transcript at ``timepoint``) blind; returns the labels newly made so."""
    with project.change(actor, "blind.on") as session:
        _check_owner(project, session, actor, "switch blind coding on")
        chosen = _transcripts(session, refs, timepoint)
        already = set(session.scalars(select(BlindTranscript.transcript_id)))
        added = [(tid, label) for tid, label in chosen if tid not in already]
        session.add_all(BlindTranscript(transcript_id=tid, by=actor) for tid, _ in added)
        labels = [label for _, label in added]
        session.info["summary"] = f"blind coding on for {_listed(labels)}" if labels else "blind coding: no change"
    return labels


def reveal(project: Project, actor: str, refs: Sequence[str] = (), timepoint: str | None = None) -> list[str]:
    """End blind coding for these transcripts (all of them when none are named); returns the labels revealed."""
    with project.change(actor, "blind.reveal") as session:
        _check_owner(project, session, actor, "reveal blind-coded transcripts")
        blind = dict(session.execute(select(BlindTranscript.transcript_id, BlindTranscript.by)).tuples().all())
        if refs or timepoint:
            chosen = [(tid, label) for tid, label in _transcripts(session, refs, timepoint) if tid in blind]
        else:
            chosen = [(tid, label) for tid, label in _all_labels(session) if tid in blind]
        if chosen:
            ids = [tid for tid, _ in chosen]
            session.execute(delete(BlindTranscript).where(BlindTranscript.transcript_id.in_(ids)))
        labels = [label for _, label in chosen]
        session.info["summary"] = f"revealed {_listed(labels)}" if labels else "blind coding: nothing to reveal"
    return labels


def entries(project: Project) -> list[BlindEntry]:
    with project.read() as session:
        labels = dict(_all_labels(session))
        rows = session.execute(select(BlindTranscript.transcript_id, BlindTranscript.since, BlindTranscript.by)).all()
    return sorted((BlindEntry(labels[tid], since, by) for tid, since, by in rows), key=lambda e: e.transcript)


def view_of(session: Session) -> BlindView | None:
    """What the session's viewer may not see, or None (no viewer, the owner, or nothing blind)."""
    info = session.info
    if _VIEW_KEY in info:
        return info[_VIEW_KEY]
    info[_VIEW_KEY] = None  # while it is worked out below, this session's own selects are not filtered
    viewer = info.get(VIEWER_KEY)
    if viewer is None:
        return None
    view = _view_for(session, *viewer)
    info[_VIEW_KEY] = view
    return view


def _view_for(session: Session, name: str, is_owner: bool | None) -> BlindView | None:
    blind = session.execute(select(BlindTranscript.transcript_id, BlindTranscript.by)).tuples().all()
    if not blind or _is_owner(session, name, is_owner, {by for _, by in blind}):
        return None
    own = session.scalar(select(Coder.id).where(Coder.name == name))
    return BlindView(frozenset(tid for tid, _ in blind), own)


def refuse_revealing_change(
    project: Project, session: Session, actor: str, transcript_ids: Sequence[int] | None, what: str
) -> None:
    """Refuse, for anyone but the owner, a change whose result depends on other coders' codings in blind
    transcripts (settling a disagreement, adopting the stretches all coders agree on): the consensus coding
    and its summary would show what blind coding hides. Writes see every row (see above), so this is checked
    by hand; ``transcript_ids`` None means every transcript the change may touch."""
    _refuse(session, _view_for(session, project.viewer or actor, project.viewer_is_owner), transcript_ids, what)


def view_for_actor(project: Project, session: Session, actor: str) -> BlindView | None:
    """What ``actor`` (or the project's viewer, when one is set) may not see, in a session of any kind: a
    change sees every row, so a change that must not act on what its author cannot see asks this."""
    return _view_for(session, project.viewer or actor, project.viewer_is_owner)


def check_sees_coding(
    project: Project, session: Session, actor: str, coding: Coding, is_owner: bool | None = None
) -> None:
    """Refuse a change to one coding that ``actor`` may not see (another coder's, in a transcript being coded
    blind) exactly as a coding that does not exist is refused: its summary would quote the coded words, and
    the change would alter another coder's independent work. ``is_owner``: said by the caller (a site's
    account), not read from the project's viewer or the database login."""
    if is_owner is None:
        view = view_for_actor(project, session, actor)
    else:
        view = _view_for(session, project.viewer or actor, is_owner)
    if view is not None and not view.visible(coding.transcript_id, coding.coder_id):
        from models.errors import NotFoundError

        raise NotFoundError(f"no coding with id {coding.id} (see: waveqda codings PROJECT)")


def check_step_owner(project: Project, session: Session, actor: str, step_actor: str, what: str) -> None:
    """Refuse anyone but the owner an undo or redo of a step that switched blind coding on or revealed
    (``what`` says which). On a project file the owner is whoever switched it on, or made that step: with
    every transcript revealed no other trace of them is left."""
    who = project.viewer or actor
    if project.viewer_is_owner is None and project.is_sqlite:
        owners = set(session.scalars(select(BlindTranscript.by).distinct())) | {step_actor}
        if who not in owners:
            raise WaveqdaError(f"only {' or '.join(sorted(owners))}, who switched blind coding on, can {what}")
        return
    _check_owner(project, session, who, what)


def refuse_blind_reading(session: Session, transcript_ids: Sequence[int] | None, what: str) -> None:
    """Refuse a reading that compares coders (agreement, disagreements) where this session's viewer sees
    blind: with the others' codings hidden it would compare a coder with nothing."""
    _refuse(session, view_of(session), transcript_ids, what)


def _refuse(session: Session, view: BlindView | None, transcript_ids: Sequence[int] | None, what: str) -> None:
    """One line naming the transcripts (of those given; all when None) that ``view`` sees blind, if any."""
    if view is None:
        return
    wanted = view.transcripts if transcript_ids is None else view.transcripts & set(transcript_ids)
    hidden = sorted(label for tid, label in _all_labels(session) if tid in wanted)
    if hidden:
        more = " …" if len(hidden) > 4 else ""
        raise WaveqdaError(
            f"{', '.join(hidden[:4])}{more} are being coded blind: {what} there waits until the owner reveals "
            "them (waveqda blind reveal)" + ("; name others with --transcripts" if transcript_ids is None else "")
        )


def restrict(session: Session, stmt: Select) -> Select:
    """A Core select over ``codings`` with other coders' codings in blind transcripts left out (for reads
    that bypass the ORM's events, ``models.queries.rows.fetch_rows``)."""
    view = view_of(session)
    if view is None or Coding.__table__ not in _from_tables(stmt):
        return stmt
    return stmt.where(_criterion(view))


def _from_tables(stmt: Select) -> set[FromClause]:
    """The tables a select reads from directly (its joins walked; not those of its subqueries)."""
    found: set[FromClause] = set()
    pending = list(stmt.get_final_froms())
    while pending:
        item = pending.pop()
        if isinstance(item, Join):
            pending += [item.left, item.right]
        elif isinstance(item, Table):
            found.add(item)
    return found


def _criterion(view: BlindView) -> ColumnElement[bool]:
    mine = Coding.coder_id == view.own_coder_id if view.own_coder_id is not None else Coding.id.is_(None)
    return or_(Coding.transcript_id.not_in(sorted(view.transcripts)), mine)


def _hide_others(state: ORMExecuteState) -> None:
    if not state.is_select or VIEWER_KEY not in state.session.info or state.is_column_load:
        return
    view = view_of(state.session)
    if view is None:
        return
    state.statement = state.statement.options(
        with_loader_criteria(Coding, _criterion(view)), with_loader_criteria(Memo, _memo_criterion(view))
    )


def _memo_criterion(view: BlindView) -> ColumnElement[bool]:
    """Memos (comments, another tool's notes) attached to a coding the viewer may not see are hidden with it.
    The subquery reads the table, not the mapped class, so the coding criterion above does not apply inside it."""
    codings = Coding.__table__.c
    hidden = select(codings.id).where(codings.transcript_id.in_(sorted(view.transcripts)))
    if view.own_coder_id is not None:
        hidden = hidden.where(codings.coder_id != view.own_coder_id)
    return or_(Memo.target_type != "coding", Memo.target_id.is_(None), Memo.target_id.not_in(hidden))


event.listen(Session, "do_orm_execute", _hide_others)


def _is_owner(session: Session, name: str, is_owner: bool | None, switched_by: set[str]) -> bool:
    if is_owner is not None:
        return is_owner
    if session.get_bind().dialect.name == "postgresql":
        from models.roles import role_of

        return role_of(session) == "owner"
    return name in switched_by


def _check_owner(project: Project, session: Session, actor: str, what: str) -> None:
    """The owner only: a browser login's role, the database role, or on a file whoever switched blind
    coding on (anyone may switch it on for transcripts not yet blind)."""
    if project.viewer_is_owner is not None:
        if not project.viewer_is_owner:
            raise WaveqdaError(f"only the project's owner can {what}")
        return
    if project.is_sqlite:
        switched_by = set(session.scalars(select(BlindTranscript.by).distinct()))
        if switched_by and actor not in switched_by:
            raise WaveqdaError(f"only {' or '.join(sorted(switched_by))}, who switched blind coding on, can {what}")
        return
    from models.roles import role_of

    role = role_of(session)
    if role != "owner":
        raise WaveqdaError(f"only the project's owner can {what} (you are a {role})")


def _transcripts(session: Session, refs: Sequence[str], timepoint: str | None) -> list[tuple[int, str]]:
    from models.transcripts import find_timepoint, find_transcript

    if not refs and not timepoint:
        raise WaveqdaError("name the transcripts (e.g. P01/T1) or a timepoint (--timepoint T1)")
    labels = dict(_all_labels(session))
    chosen = {tid: labels[tid] for tid in (find_transcript(session, ref).id for ref in refs)}
    if timepoint:
        key = find_timepoint(session, timepoint).key
        chosen.update((tid, label) for tid, label in labels.items() if label.endswith(f"/{key}"))
    return sorted(chosen.items(), key=lambda item: item[1])


def _all_labels(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Transcript.id, Participant.study_id, Timepoint.key)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
    ).all()
    return [(tid, f"{study_id}/{key}") for tid, study_id, key in rows]


def _listed(labels: list[str]) -> str:
    return ", ".join(labels[:6]) + (f" and {len(labels) - 6} more" if len(labels) > 6 else "")
