"""Every memo of a project in one list, and the project journal (issue 15).

Memos live in three places for good reasons (a coding's and a code's memo travel with the row through merges
and REFI-QDA; transcript memos and journal entries are rows of ``memos``), but a researcher reads them as one
body of analytic writing: this module lists them together, each with what it annotates, so the CLI and the
workspace can show, search and filter them and link back to their target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.errors import WaveqdaError
from models.journal import chunks
from models.schema import Coder, Coding, Memo, Participant, Timepoint, Transcript
from models.store import Project

MemoKind = Literal["journal", "transcript", "participant", "code", "coding"]
KINDS: tuple[MemoKind, ...] = ("journal", "transcript", "participant", "code", "coding")


@dataclass(frozen=True)
class MemoItem:
    """One memo: what kind, what it annotates (``target``: a label a person reads, ``target_id``: the row to
    open), who wrote it and when (codes' and codings' memos carry their row's last change), and its text."""

    kind: MemoKind
    target: str
    target_id: int | None
    author: str
    updated: str
    title: str
    text: str
    memo_id: int | None = None  # the row in ``memos`` (journal, transcript and participant memos)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def add_journal_entry(project: Project, actor: str, text: str, title: str = "") -> int:
    """A dated entry in the project journal by ``actor``; returns its id."""
    text = text.strip()
    if not text:
        raise WaveqdaError("a journal entry needs some text")
    with project.change(actor, "journal.add") as session:
        entry = Memo(target_type="project", target_id=None, title=title.strip(), text=text, author=actor)
        session.add(entry)
        session.flush()
        session.info["summary"] = f"Journal entry by {actor}" + (f": {title.strip()!r}" if title.strip() else "")
        return entry.id


def all_memos(
    session: Session,
    search: str | None = None,
    kinds: list[str] | None = None,
    author: str | None = None,
) -> list[MemoItem]:
    """Every memo, journal first (oldest first), then transcripts, participants, codes and codings; filtered by
    words (all must occur, case-insensitively, in the text or title), kinds and author."""
    wanted = set(kinds or KINDS)
    unknown = wanted - set(KINDS)
    if unknown:
        raise WaveqdaError(f"unknown memo kind {sorted(unknown)[0]!r}: use {', '.join(KINDS)}")
    tree = CodeTree.load(session)
    attached = _attached_memos(session, tree)
    items = [
        *_memo_rows(session),
        *_code_memos(tree),
        *(item for item in attached if item.kind == "code"),
        *_coding_memos(session, tree),
        *(item for item in attached if item.kind == "coding"),
    ]
    words = [w.casefold() for w in (search or "").split()]
    return [
        item
        for item in items
        if item.kind in wanted
        and (author is None or item.author == author)
        and all(w in f"{item.title} {item.text}".casefold() for w in words)
    ]


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _memo_rows(session: Session) -> list[MemoItem]:
    transcripts = {
        tid: f"{study_id}/{key}"
        for tid, study_id, key in session.execute(
            select(Transcript.id, Participant.study_id, Timepoint.key)
            .join(Participant, Participant.id == Transcript.participant_id)
            .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        )
    }
    participants = {pid: study_id for pid, study_id in session.execute(select(Participant.id, Participant.study_id))}
    kind_of: dict[str, MemoKind] = {"project": "journal", "transcript": "transcript", "participant": "participant"}
    order = {"project": 0, "transcript": 1, "participant": 2}
    rows = session.scalars(
        select(Memo).where(Memo.target_type.in_(list(kind_of))).order_by(Memo.created_at, Memo.id)
    ).all()
    items = []
    for memo in sorted(rows, key=lambda m: order[m.target_type]):
        if memo.target_type == "transcript":
            target = transcripts.get(memo.target_id or 0, "(a removed transcript)")
        elif memo.target_type == "participant":
            target = participants.get(memo.target_id or 0, "(a removed participant)")
        else:
            target = "project"
        items.append(
            MemoItem(
                kind_of[memo.target_type],
                target,
                memo.target_id,
                memo.author,
                _stamp(memo.updated_at),
                memo.title,
                memo.text,
                memo.id,
            )
        )
    return items


def _attached_memos(session: Session, tree: CodeTree) -> list[MemoItem]:
    """Memos attached to a code or a coding as rows of ``memos`` (comments from the workshop site, notes from
    a merge or a REFI-QDA import), oldest first, each with what it annotates."""
    rows = session.scalars(
        select(Memo).where(Memo.target_type.in_(["code", "coding"])).order_by(Memo.created_at, Memo.id)
    ).all()
    coding_ids = [m.target_id for m in rows if m.target_type == "coding" and m.target_id is not None]
    codings: dict[int, tuple[int, int, int, str, str]] = {}
    for chunk in chunks(coding_ids):
        for cid, code_id, start, end, study_id, key in session.execute(
            select(Coding.id, Coding.code_id, Coding.start, Coding.end, Participant.study_id, Timepoint.key)
            .join(Transcript, Transcript.id == Coding.transcript_id)
            .join(Participant, Participant.id == Transcript.participant_id)
            .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
            .where(Coding.id.in_(chunk))
        ):
            codings[cid] = (code_id, start, end, study_id, key)
    items = []
    for memo in rows:
        kind: MemoKind
        if memo.target_type == "code":
            kind = "code"
            known = memo.target_id in tree.codes
            target = tree.path(memo.target_id) if known and memo.target_id is not None else "(a removed code)"
        else:
            kind = "coding"
            found = codings.get(memo.target_id or 0)
            if found is None:
                target = "(a removed coding)"
            else:
                code_id, start, end, study_id, key = found
                target = f"coding {memo.target_id}: {tree.path(code_id)} at {study_id}/{key} {start}:{end}"
        items.append(
            MemoItem(kind, target, memo.target_id, memo.author, _stamp(memo.updated_at), memo.title, memo.text, memo.id)
        )
    return items


def _code_memos(tree: CodeTree) -> list[MemoItem]:
    return [
        MemoItem("code", tree.path(code_id), code_id, "", "", "", tree.codes[code_id].memo)
        for code_id, _depth in tree.walk()
        if tree.codes[code_id].memo.strip()
    ]


def _coding_memos(session: Session, tree: CodeTree) -> list[MemoItem]:
    rows = session.execute(
        select(
            Coding.id,
            Coding.code_id,
            Coding.start,
            Coding.end,
            Coding.memo,
            Coding.updated_at,
            Coder.name,
            Participant.study_id,
            Timepoint.key,
        )  # fmt: skip
        .join(Coder, Coder.id == Coding.coder_id)
        .join(Transcript, Transcript.id == Coding.transcript_id)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .where(Coding.memo != "")
        .order_by(Timepoint.position, Participant.study_id, Coding.start)
    )
    return [
        MemoItem(
            "coding",
            f"coding {cid}: {tree.path(code_id)} at {study_id}/{key} {start}:{end}",
            cid,
            coder,
            _stamp(updated),
            "",
            memo,
        )  # fmt: skip
        for cid, code_id, start, end, memo, updated, coder, study_id, key in rows
    ]
