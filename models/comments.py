"""Comments on a theme or a quote, left by workshop readers on the site (issue 18).

A comment is a memo like any other (a row of ``memos`` attached to a code or to a coding, with its author), so
it travels where memos travel: ``waveqda memos`` lists it, exports print it under its theme or quote, a merge
and a REFI-QDA export carry it, and removing a coding keeps it (``models.coding.attached_memos``). Adding one
is one journalled, undoable change by the account that wrote it, like every other change.

A quote on the site is a *passage* (codings of one code that share text); its comments attach to the
passage's first coding (the lowest id, which ``exporters.data`` also uses to name a passage), so a comment
stays put however many coders coded the passage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.blind import check_sees_coding
from models.codes import CodeTree
from models.errors import WaveqdaError
from models.schema import Code, Coding, Memo
from models.store import Project

CommentTarget = Literal["code", "coding"]
TARGETS: tuple[CommentTarget, ...] = ("code", "coding")
MAX_LENGTH = 10_000  # a comment is a few sentences; a pasted transcript is a mistake
TITLE = "Comment"


@dataclass(frozen=True)
class Comment:
    """One memo attached to a code or a coding: who wrote it, when, and what."""

    id: int
    target: CommentTarget
    target_id: int
    author: str
    written: str  # "2026-12-06 14:05" (UTC)
    text: str


def add_comment(
    project: Project, actor: str, target: str, target_id: int, text: str, is_owner: bool | None = None
) -> int:
    """Store ``text`` as a memo by ``actor`` on a code or a coding; returns the memo's id.

    Refused in one line (nothing stored) for an empty or over-long text, an unknown kind of target, or a code
    or coding that does not exist (any more) or that ``actor`` may not see (blind coding). ``is_owner``: whether
    ``actor`` is the project's owner, when someone other than the database's login says so (the workshop site
    serves its accounts through one login, which on PostgreSQL is the owner's)."""
    body = text.strip()
    if target not in TARGETS:
        raise WaveqdaError(f"a comment goes on a code or a coding, not {target!r}")
    if not body:
        raise WaveqdaError("a comment needs some text")
    if len(body) > MAX_LENGTH:
        raise WaveqdaError(f"a comment holds at most {MAX_LENGTH:,} characters ({len(body):,} given)")
    if not actor.strip():
        raise WaveqdaError("a comment needs an author")
    with project.change(actor, "memo.comment") as session:
        label = _target_label(project, session, actor, target, target_id, is_owner)
        memo = Memo(target_type=target, target_id=target_id, title=TITLE, text=body, author=actor)
        session.add(memo)
        session.flush()
        session.info["summary"] = f"Comment by {actor} on {label}"
        return memo.id


def _target_label(
    project: Project, session: Session, actor: str, target: str, target_id: int, is_owner: bool | None
) -> str:
    """What the comment is about, in words (for the history); refuses a target that is not there."""
    if target == "code":
        code = session.get(Code, target_id)
        if code is None:
            raise WaveqdaError(f"no code with id {target_id}")
        return f"code {CodeTree.load(session).path(code.id)!r}"
    coding = session.get(Coding, target_id)
    if coding is None:
        raise WaveqdaError(f"no coding with id {target_id}")
    check_sees_coding(project, session, actor, coding, is_owner)
    return f"coding {coding.id} ({CodeTree.load(session).path(coding.code_id)})"


def comments_on(session: Session, target: CommentTarget, target_ids: Iterable[int]) -> dict[int, list[Comment]]:
    """Per code (or coding) among ``target_ids``: every memo attached to it, oldest first (one query per
    500 ids). Comments from the site and memos from a merge or a REFI-QDA import alike."""
    ids = sorted(set(target_ids))
    out: dict[int, list[Comment]] = defaultdict(list)
    for i in range(0, len(ids), 500):
        rows = session.scalars(
            select(Memo)
            .where(Memo.target_type == target, Memo.target_id.in_(ids[i : i + 500]))
            .order_by(Memo.created_at, Memo.id)
        )
        for memo in rows:
            if memo.target_id is not None:
                out[memo.target_id].append(
                    Comment(memo.id, target, memo.target_id, memo.author, _stamp(memo), memo.text)
                )
    return dict(out)


def comments_in_transcript(session: Session, transcript_id: int) -> dict[int, list[Comment]]:
    """Per coding of one transcript: the memos attached to it (what the coder's side panel shows beside a
    coding's own memo), in one query."""
    rows = session.scalars(
        select(Memo)
        .join(Coding, Coding.id == Memo.target_id)
        .where(Memo.target_type == "coding", Coding.transcript_id == transcript_id)
        .order_by(Memo.created_at, Memo.id)
    )
    out: dict[int, list[Comment]] = defaultdict(list)
    for memo in rows:
        if memo.target_id is not None:
            out[memo.target_id].append(Comment(memo.id, "coding", memo.target_id, memo.author, _stamp(memo), memo.text))
    return dict(out)


def comments_on_codes(session: Session) -> dict[int, list[Comment]]:
    """Per code: the memos attached to it (what the codebook screen shows under a code's own memo)."""
    rows = session.scalars(select(Memo).where(Memo.target_type == "code").order_by(Memo.created_at, Memo.id))
    out: dict[int, list[Comment]] = defaultdict(list)
    for memo in rows:
        if memo.target_id is not None:
            out[memo.target_id].append(Comment(memo.id, "code", memo.target_id, memo.author, _stamp(memo), memo.text))
    return dict(out)


def _stamp(memo: Memo) -> str:
    return memo.created_at.strftime("%Y-%m-%d %H:%M") if memo.created_at is not None else ""
