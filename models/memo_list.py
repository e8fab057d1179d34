"""Every memo of a project in one list, and the project journal (issue 15).

Memos live in three places for good reasons (a coding's and a code's memo travel with the row through merges
and REFI-QDA; transcript memos and journal entries are rows of ``memos``), but a researcher reads them as one
body of analytic writing: this module lists them together, each with what it annotates, so the CLI and the
workspace can show, search and filter them and link back to their target.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.errors import WaveqdaError
from models.schema import Coder, Coding, Memo, Participant, Timepoint, Transcript
from models.store import Project

MemoKind = Literal["journal", "transcript", "participant", "code", "coding"]
KINDS: tuple[MemoKind, ...] = ("journal", "transcript", "participant", "code", "coding")


@dataclass(frozen=True)
class MemoItem:
    """One memo: what kind, what it annotates (``target``: a label a person reads, ``target_id``: the row to
    open), who wrote it and when (codes' and codings' memo fields carry their row's last change), and its text.
    A coding's memo also says which code, which interview and which words it is about (``excerpt``: the
    coded text, at most ``EXCERPT`` characters, from ``start``)."""

    kind: MemoKind
    target: str
    target_id: int | None
    author: str
    updated: str
    title: str
    text: str
    memo_id: int | None = None  # the row in ``memos`` (journal, transcript and participant memos, notes)
    code: str = ""  # code and coding memos: the code's path
    transcript: str = ""  # transcript and coding memos: "P01/T2"
    transcript_id: int | None = None
    start: int | None = None  # coding memos: the coded span's offsets
    end: int | None = None
    excerpt: str = ""  # coding memos: the coded text (its first EXCERPT characters)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


EXCERPT = 300


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
    attached = _attached_notes(session)
    items = [*_memo_rows(session), *_code_memos(tree, attached), *_coding_memos(session, tree, attached)]
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
        where: dict[str, Any] = {}
        if memo.target_type == "transcript":
            target = transcripts.get(memo.target_id or 0, "(a removed transcript)")
            where = {"transcript": target, "transcript_id": memo.target_id}
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
                **where,
            )
        )
    return items


def _attached_notes(session: Session) -> dict[tuple[str, int], list[Memo]]:
    """Memos in ``memos`` attached to a code or a coding (notes another tool exported, a merge's notes),
    by ``(target_type, target_id)``, oldest first."""
    out: dict[tuple[str, int], list[Memo]] = defaultdict(list)
    rows = session.scalars(
        select(Memo).where(Memo.target_type.in_(["code", "coding"])).order_by(Memo.created_at, Memo.id)
    )
    for memo in rows:
        if memo.target_id is not None:
            out[(memo.target_type, memo.target_id)].append(memo)
    return out


def _code_memos(tree: CodeTree, attached: dict[tuple[str, int], list[Memo]]) -> list[MemoItem]:
    """Each code's own memo, then the notes attached to it, in codebook order."""
    items = []
    for code_id, _depth in tree.walk():
        path = tree.path(code_id)
        if tree.codes[code_id].memo.strip():
            items.append(MemoItem("code", path, code_id, "", "", "", tree.codes[code_id].memo, code=path))
        for memo in attached.get(("code", code_id), []):
            items.append(
                MemoItem(
                    "code",
                    path,
                    code_id,
                    memo.author,
                    _stamp(memo.updated_at),
                    memo.title,
                    memo.text,
                    memo.id,
                    code=path,
                )  # fmt: skip
            )
    return items


def _coding_memos(session: Session, tree: CodeTree, attached: dict[tuple[str, int], list[Memo]]) -> list[MemoItem]:
    """Each coding's memo (written by its coder), then notes attached to it, in timepoint, participant and
    text order; with the coded words, so a reader sees what the memo is about."""
    noted = sorted(target_id for kind, target_id in attached if kind == "coding")
    has_memo = Coding.memo != ""
    rows = session.execute(
        select(
            Coding.id,
            Coding.code_id,
            Coding.transcript_id,
            Coding.start,
            Coding.end,
            Coding.memo,
            Coding.updated_at,
            Coder.name,
            Participant.study_id,
            Timepoint.key,
            func.substr(
                Transcript.text,
                Coding.start + 1,
                case((Coding.end - Coding.start < EXCERPT, Coding.end - Coding.start), else_=EXCERPT),
            ),
        )  # fmt: skip
        .join(Coder, Coder.id == Coding.coder_id)
        .join(Transcript, Transcript.id == Coding.transcript_id)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .where(or_(has_memo, Coding.id.in_(noted)) if noted else has_memo)
        .order_by(Timepoint.position, Participant.study_id, Coding.start, Coding.id)
    )
    items = []
    for cid, code_id, tid, start, end, memo, updated, coder, study_id, key, excerpt in rows:
        path = tree.path(code_id) if code_id in tree.codes else "(a removed code)"
        where = {"code": path, "transcript": f"{study_id}/{key}", "transcript_id": tid, "start": start, "end": end,
                 "excerpt": excerpt or ""}  # fmt: skip
        target = f"coding {cid}: {path} at {study_id}/{key} {start}:{end}"
        if memo:
            items.append(MemoItem("coding", target, cid, coder, _stamp(updated), "", memo, **where))
        for note in attached.get(("coding", cid), []):
            items.append(
                MemoItem(
                    "coding",
                    target,
                    cid,
                    note.author or coder,
                    _stamp(note.updated_at),
                    note.title,
                    note.text,
                    note.id,
                    **where,
                )  # fmt: skip
            )
    return items
