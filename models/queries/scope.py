"""The filters every query shares: timepoints, participants, attribute conditions, coders and transcripts
resolved to ids once (``Scope``), speaker roles, which codes a query covers (archived ones hidden unless
named), and which transcripts in scope anyone has coded yet."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.errors import NotFoundError, WaveqdaError
from models.participants import find_coder, find_participant
from models.queries.rows import fetch_rows, for_viewer
from models.schema import AttributeDefinition, Coding, ParticipantAttribute, Timepoint, Transcript
from models.transcripts import find_timepoint

ROLES = ("interviewer", "participant", "other")
Attribute = tuple[str, str]
Context = Literal["sentence", "turn"]


@dataclass
class Scope:
    """Filters resolved to ids once, so a misspelt timepoint, participant or coder is an error, not silence."""

    timepoint_ids: list[int] | None = None
    participant_ids: list[int] | None = None
    coder_ids: list[int] | None = None
    transcript_ids: list[int] | None = None

    def apply(self, stmt: Select, with_coder: bool = True) -> Select:
        """Add the filters to a statement that joins ``Transcript`` (and ``Coding`` when ``with_coder``)."""
        if self.timepoint_ids is not None:
            stmt = stmt.where(Transcript.timepoint_id.in_(self.timepoint_ids))
        if self.participant_ids is not None:
            stmt = stmt.where(Transcript.participant_id.in_(self.participant_ids))
        if self.transcript_ids is not None:
            stmt = stmt.where(Transcript.id.in_(self.transcript_ids))
        if with_coder and self.coder_ids is not None:
            stmt = stmt.where(Coding.coder_id.in_(self.coder_ids))
        return stmt


def resolve_scope(
    session: Session,
    timepoints: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    coders: Sequence[str] | None = None,
    transcript_ids: Sequence[int] | None = None,
) -> Scope:
    """Turn user-facing names into ids; several attribute conditions must all hold."""
    scope = Scope(transcript_ids=list(transcript_ids) if transcript_ids is not None else None)
    if timepoints:
        scope.timepoint_ids = [find_timepoint(session, key).id for key in timepoints]
    if participants:
        scope.participant_ids = [find_participant(session, study_id).id for study_id in participants]
    if coders:
        scope.coder_ids = [find_coder(session, name).id for name in coders]
    for name, value in _attribute_conditions(attribute):
        matching = _participants_with(session, name, value)
        previous = scope.participant_ids if scope.participant_ids is not None else sorted(matching)
        scope.participant_ids = [p for p in previous if p in matching]
    return scope


def _attribute_conditions(attribute: Attribute | list[Attribute] | None) -> list[Attribute]:
    if attribute is None:
        return []
    if isinstance(attribute, tuple):
        return [attribute]
    return list(attribute)


def _participants_with(session: Session, name: str, value: str) -> set[int]:
    """Participants whose attribute ``name`` equals ``value`` (case and surrounding spaces ignored)."""
    definition = session.scalar(select(AttributeDefinition).where(AttributeDefinition.name == name))
    if definition is None:
        raise NotFoundError(f"no participant attribute {name!r}")
    wanted = value.strip().casefold()
    rows = session.execute(
        select(ParticipantAttribute.participant_id, ParticipantAttribute.value).where(
            ParticipantAttribute.attribute_id == definition.id
        )
    )
    return {pid for pid, stored in rows if (stored or "").strip().casefold() == wanted}


def check_roles(roles: Sequence[str] | None) -> set[str] | None:
    if not roles:
        return None
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise WaveqdaError(f"unknown speaker role {unknown[0]!r}; roles are: {', '.join(ROLES)}")
    return set(roles)


def hidden_codes(tree: CodeTree, under: int | None = None) -> set[int]:
    """Archived codes and everything under them: out of analyses unless asked for. With ``under``, only
    within that code's subtree (a code named explicitly is shown with its live sub-codes even if archived)."""
    ids = tree.descendants(under) if under is not None else [cid for cid, _depth in tree.walk()]
    hidden: set[int] = set()
    for code_id in ids:  # parents come before their children
        code = tree.codes[code_id]
        if code.archived or code.parent_id in hidden:
            hidden.add(code_id)
    return hidden


def selected_codes(
    tree: CodeTree, code_ref: str | int | None, with_descendants: bool, include_archived: bool
) -> list[int]:
    """The codes a query covers: one code (and its visible descendants) or every visible code."""
    if code_ref is None:
        hidden = set() if include_archived else hidden_codes(tree)
        return [cid for cid, _ in tree.walk() if cid not in hidden]
    code = tree.find(code_ref)
    if not with_descendants:
        return [code.id]
    hidden = set() if include_archived else hidden_codes(tree, under=code.id)
    return [code.id, *(cid for cid in tree.descendants(code.id) if cid not in hidden)]


def where_codes(stmt: Select, tree: CodeTree, code_ids: Iterable[int]) -> Select:
    """Limit a codings statement to some codes: ``IN`` for a few (index lookups), ``NOT IN`` the others when
    most are wanted, because a scan of the codings is then several times faster than thousands of lookups."""
    wanted = set(code_ids)
    if len(wanted) * 2 < len(tree.codes):
        return stmt.where(Coding.code_id.in_(sorted(wanted)))
    others = sorted(cid for cid in tree.codes if cid not in wanted)
    return stmt.where(Coding.code_id.not_in(others)) if others else stmt


def codebook_order(tree: CodeTree) -> dict[int, int]:
    return {cid: i for i, (cid, _depth) in enumerate(tree.walk())}


def transcripts_coded(session: Session, scope: Scope) -> list[tuple[int, str, bool]]:
    """``(transcript id, timepoint key, coded by anyone in scope)`` for every transcript in scope."""
    any_coding = select(Coding.id).where(Coding.transcript_id == Transcript.id)
    if scope.coder_ids is not None:
        any_coding = any_coding.where(Coding.coder_id.in_(scope.coder_ids))
    any_coding = for_viewer(session, any_coding)  # blind coding: coded by someone whose codings the viewer sees
    stmt = select(Transcript.id, Timepoint.key, any_coding.exists()).join(
        Timepoint, Timepoint.id == Transcript.timepoint_id
    )
    return [(tid, key, bool(coded)) for tid, key, coded in fetch_rows(session, scope.apply(stmt, with_coder=False))]
