"""The filters every export shares, and the quote selection they imply.

One ``ExportFilters`` is built from the command line (or the TUI) and handed to each exporter, so that a
themes report, a framework matrix and a CSV made with the same flags cover exactly the same data. Counts
(segments and participants per timepoint) follow the scope filters (codes, timepoints, participants,
attributes, coders); ``--key-only``, ``--max-quotes`` and ``--no-interviewer`` choose which quotes are
printed, never what is counted, so a report's tables always equal ``waveqda matrix`` under the same scope.

``--max-quotes N`` keeps, per code and timepoint, key quotes first and then a spread across participants
drawn with a seeded generator: the same project and flags give the same quotes every time.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.errors import WaveqdaError
from models.queries import CodedSpan, Segment, coded_spans, retrieve, selected_codes

CONSENSUS_CODER = "consensus"
DEFAULT_SEED = 20240917


@dataclass
class ExportFilters:
    """What to export. ``None`` means "no restriction" for the list filters."""

    codes: list[str] | None = None
    timepoints: list[str] | None = None
    participants: list[str] | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)
    coders: list[str] | None = None
    consensus_only: bool = False
    key_only: bool = False
    max_quotes: int | None = None
    no_interviewer: bool = False
    anonymise: bool = False
    seed: int = DEFAULT_SEED
    anonymise_coders: bool = False  # coders as "Coder 1", "Coder 2" (numbered as in every export)
    accept_risk: bool = False  # write an anonymised export even with unreviewed names in it
    unreviewed: int | None = None  # how many the check before writing found (stated on the first page)

    def __post_init__(self) -> None:
        if self.max_quotes is not None and self.max_quotes < 1:
            raise WaveqdaError(f"--max-quotes must be 1 or more, not {self.max_quotes}")
        if self.consensus_only and self.coders:
            raise WaveqdaError("use either --coder or --consensus-only, not both")

    @property
    def coder_names(self) -> list[str] | None:
        """The coders whose codings count: ``consensus`` alone with ``--consensus-only``."""
        return [CONSENSUS_CODER] if self.consensus_only else self.coders

    @property
    def narrows(self) -> bool:
        """Whether any filter besides the privacy options (anonymising, its seed and risk) is set: exports
        that always write everything (REFI-QDA files, the memo list) refuse those rather than ignore them."""
        return self != ExportFilters(
            anonymise=self.anonymise,
            seed=self.seed,
            anonymise_coders=self.anonymise_coders,
            accept_risk=self.accept_risk,
            unreviewed=self.unreviewed,
        )

    def describe(self) -> list[str]:
        """The filters in words, for a report's title page ("what am I looking at?")."""
        parts: list[str] = []
        if self.codes:
            parts.append("codes " + ", ".join(self.codes) + " (with sub-codes)")
        if self.timepoints:
            parts.append("timepoints " + ", ".join(self.timepoints))
        if self.participants:
            parts.append("participants " + ", ".join(self.participants))
        parts.extend(f"{name} = {value}" for name, value in self.attributes)
        if self.consensus_only:
            parts.append("consensus codings only")
        elif self.coders and self.anonymise_coders:
            parts.append(f"{len(self.coders)} chosen coders")
        elif self.coders:
            parts.append("coders " + ", ".join(self.coders))
        if self.key_only:
            parts.append("key quotes only")
        if self.max_quotes:
            parts.append(f"at most {self.max_quotes} quotes per code per timepoint (key quotes first)")
        if self.no_interviewer:
            parts.append("interviewer speech left out of quotes")
        if self.anonymise:
            parts.append("anonymised with the project's name register")
        if self.anonymise and self.accept_risk:
            parts.append(
                f"WRITTEN WITH --accept-risk: {self.unreviewed} unreviewed name candidate(s) were found in this "
                "file and may identify people"
                if self.unreviewed
                else "written with --accept-risk (the check before writing found no unreviewed names)"
            )
        if self.anonymise_coders:
            parts.append("coders named Coder 1, Coder 2… (--anonymise-coders)")
        return parts or ["none (all coded data)"]


def parse_attribute(text: str) -> tuple[str, str]:
    """``"site=North"`` -> ``("site", "North")``; a missing ``=`` is a one-line error."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise WaveqdaError(f"--attribute {text!r}: use NAME=VALUE, e.g. --attribute site=North")
    return name.strip(), value.strip()


def split_list(values: Sequence[str] | None) -> list[str] | None:
    """Repeated or comma-separated flag values (``--timepoints T1,T2`` or ``--timepoints T1 T2``)."""
    if not values:
        return None
    out = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return out or None


# --- scope -------------------------------------------------------------------------------------------------


def scope_code_ids(tree: CodeTree, filters: ExportFilters) -> list[int]:
    """Visible codes in scope, in codebook order: the named codes with their descendants, or all.

    Checking every ``--codes`` entry here makes an unknown code a one-line error before any work.
    """
    if not filters.codes:
        return selected_codes(tree, None, False, False)
    wanted: set[int] = set()
    for ref in filters.codes:
        wanted.update(selected_codes(tree, ref, True, False))
    return [cid for cid, _depth in tree.walk() if cid in wanted]


def scoped_segments(
    session: Session, filters: ExportFilters, context: str = "turn", transcript_ids: list[int] | None = None
) -> list[Segment]:
    """Every segment in scope (all codes or the named subtrees), in codebook order, before quote choice."""
    return _scoped(session, filters, retrieve, transcript_ids, context=context)


def scoped_spans(session: Session, filters: ExportFilters, transcript_ids: list[int] | None = None) -> list[CodedSpan]:
    """``scoped_segments`` without text and context (the same codings in the same order): enough to count
    and to choose quotes, at a fraction of the cost for a whole project."""
    return _scoped(session, filters, coded_spans, transcript_ids)


Item = TypeVar("Item", Segment, CodedSpan)


class Choosable(Protocol):
    """What the choice of quotes reads: a ``Segment``, a ``CodedSpan`` or a passage (``exporters.data``)."""

    @property
    def id(self) -> int: ...
    @property
    def code_id(self) -> int: ...
    @property
    def timepoint(self) -> str: ...
    @property
    def participant(self) -> str: ...
    @property
    def key_quote(self) -> bool: ...


Choice = TypeVar("Choice", bound=Choosable)


def _scoped(
    session: Session,
    filters: ExportFilters,
    fetch: Callable[..., list[Item]],
    transcript_ids: list[int] | None,
    **extra: Any,
) -> list[Item]:
    common = {
        "transcript_ids": transcript_ids,
        "timepoints": filters.timepoints,
        "participants": filters.participants,
        "attribute": filters.attributes or None,
        "coders": filters.coder_names,
        "key_only": filters.key_only,
        **extra,
    }
    if not filters.codes:
        return fetch(session, None, **common)
    seen: set[int] = set()
    out: list[Item] = []
    for ref in filters.codes:
        for segment in fetch(session, ref, True, **common):
            if segment.id not in seen:
                seen.add(segment.id)
                out.append(segment)
    if len(filters.codes) > 1:
        order = {cid: i for i, (cid, _depth) in enumerate(CodeTree.load(session).walk())}
        out.sort(key=lambda s: (order[s.code_id], s.timepoint_position, s.participant, s.start, s.end, s.id))
    return out


# --- quote choice ------------------------------------------------------------------------------------------


def choose_quotes(segments: list[Choice], limit: int | None, seed: int = DEFAULT_SEED) -> list[Choice]:
    """At most ``limit`` segments per (code, timepoint): key quotes first, then a seeded spread.

    The spread goes round the participants (those with fewest chosen quotes first), taking one segment
    each per round, so a talkative participant cannot fill the quota. Output keeps the input's order.
    Segments or ``CodedSpan``s: the choice reads only ids, codes, timepoints, participants and key flags.
    """
    if limit is None:
        return segments
    groups: dict[tuple[int, str], list[Choice]] = defaultdict(list)
    for segment in segments:
        groups[(segment.code_id, segment.timepoint)].append(segment)
    chosen: set[int] = set()
    for (code_id, timepoint), group in groups.items():
        rng = random.Random(f"{seed}:{code_id}:{timepoint}")
        chosen.update(s.id for s in _choose_group(group, limit, rng))
    return [s for s in segments if s.id in chosen]


def _choose_group(group: list[Choice], limit: int, rng: random.Random) -> list[Choice]:
    keys = [s for s in group if s.key_quote]
    if len(keys) >= limit:
        return _spread(keys, limit, rng, {})
    taken: dict[str, int] = defaultdict(int)
    for segment in keys:
        taken[segment.participant] += 1
    rest = [s for s in group if not s.key_quote]
    return keys + _spread(rest, limit - len(keys), rng, taken)


def _spread(pool: list[Choice], limit: int, rng: random.Random, taken: dict[str, int]) -> list[Choice]:
    """Round-robin over participants in a seeded order, fewest already-chosen first."""
    by_person: dict[str, list[Choice]] = defaultdict(list)
    for segment in pool:
        by_person[segment.participant].append(segment)
    people = sorted(by_person)
    rng.shuffle(people)
    people.sort(key=lambda p: taken.get(p, 0))  # stable: ties keep the seeded order
    for person in people:
        rng.shuffle(by_person[person])
    out: list[Choice] = []
    while len(out) < limit and any(by_person.values()):
        for person in people:
            if by_person[person] and len(out) < limit:
                out.append(by_person[person].pop())
    return out
