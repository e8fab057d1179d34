"""Theme presence and trajectories: for each code, each participant's course wave by wave (emerged,
persisted, faded, returned, absent, not interviewed, or "not coded yet" when nobody has coded the
interview)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.queries.retrieval import CodedSpan, Segment, coded_spans, retrieve
from models.queries.rows import fetch_rows
from models.queries.scope import Attribute, hidden_codes, resolve_scope, selected_codes, transcripts_coded
from models.queries.spans import group_passages
from models.schema import Participant, Transcript
from models.store import timepoints as project_timepoints

EMERGED, PERSISTED, FADED, RETURNED, ABSENT, MISSING, NOT_CODED = (
    "emerged",
    "persisted",
    "faded",
    "returned",
    "absent",
    "missing",
    "not coded yet",
)
UNCODED = "uncoded"  # presence of a wave whose transcript nobody (among the coders asked about) has coded


@dataclass
class TrajectoryPoint:
    """One wave of one participant's course for a code. ``coded``: someone (among the coders asked about)
    has coded this interview at all; when nobody has, the status is "not coded yet", never "absent".
    ``passages``: stretches of text coded with the code or its sub-codes (see ``group_passages``)."""

    timepoint: str
    label: str
    interviewed: bool
    present: bool
    status: str
    segments: list[Segment]
    coded: bool = True
    passages: int = 0


@dataclass
class Trajectory:
    """One participant's course for a code; ``pattern`` has one mark per timepoint: + present, - absent,
    ? not coded yet, . not interviewed (e.g. ``+-+`` for a code that faded and returned)."""

    participant: str
    pattern: str
    points: list[TrajectoryPoint]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def trajectory_labels(presence: list[bool | str | None]) -> list[str]:
    """Label each wave from presence: True, False, ``None`` (not interviewed) or ``UNCODED`` (interviewed but
    nobody has coded it yet). Waves not interviewed or not coded yet change nothing for the waves after.

    emerged: present for the first time; persisted: present and present at the last known wave; returned:
    present again after an absence; faded: absent after being present at the last known wave; absent:
    otherwise absent; missing: not interviewed; not coded yet: interviewed, not coded.
    """
    labels: list[str] = []
    ever = False
    previous = False
    for present in presence:
        if present is None:
            labels.append(MISSING)
            continue
        if present == UNCODED:
            labels.append(NOT_CODED)
            continue
        if present:
            labels.append(PERSISTED if previous else RETURNED if ever else EMERGED)
        else:
            labels.append(FADED if previous else ABSENT)
        ever = ever or bool(present)
        previous = bool(present)
    return labels


@dataclass
class ThemePresence:
    """Who spoke to one code (with its sub-codes) at which timepoint: a trajectory per participant."""

    code_id: int
    code: str
    name: str
    trajectories: list[Trajectory]

    def status_counts(self) -> dict[str, dict[str, int]]:
        """Per timepoint key: how many participants have each status (``emerged``, ``faded``...)."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for trajectory in self.trajectories:
            for point in trajectory.points:
                out[point.timepoint][point.status] += 1
        return {key: dict(counts) for key, counts in out.items()}

    def as_dict(self) -> dict[str, Any]:
        return {"code_id": self.code_id, "code": self.code, "name": self.name,
                "trajectories": [t.as_dict() for t in self.trajectories], "statuses": self.status_counts()}  # fmt: skip


def theme_presence(
    session: Session,
    code_refs: Sequence[str | int] | None = None,
    with_descendants: bool = True,
    coders: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    timepoints: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    spans: Sequence[CodedSpan | Segment] | None = None,
) -> list[ThemePresence]:
    """For each code (the top-level visible codes when none are named), each participant's course wave by
    wave: present (with how many passages), absent, not coded yet or not interviewed.

    One query for the codings of all the codes (``coded_spans``), one for the transcripts in scope and
    whether anyone among ``coders`` coded them; ``trajectories`` asks the same for one code. A caller that
    already holds the codings under the same filters (an export) passes them as ``spans``."""
    tree = CodeTree.load(session)
    if code_refs is None:
        hidden = hidden_codes(tree)
        roots = [cid for cid in tree.children.get(None, []) if cid not in hidden]
    else:
        roots = [tree.find(ref).id for ref in code_refs]
    members = {root: selected_codes(tree, root, with_descendants, False) for root in roots}
    theme_of: dict[int, list[int]] = defaultdict(list)
    for root, ids in members.items():
        for cid in ids:
            theme_of[cid].append(root)
    if spans is None:
        spans = coded_spans(session, None, coders=coders, participants=participants, timepoints=timepoints,
                            attribute=attribute, include_archived=True) if roots else []  # fmt: skip
    found: dict[int, dict[tuple[str, str], list[Any]]] = {root: defaultdict(list) for root in roots}
    for span in spans:
        for root in theme_of.get(span.code_id, ()):
            found[root][(span.participant, span.timepoint)].append(span)
    keys, waves = _waves(session, coders, participants, timepoints, attribute)
    return [
        ThemePresence(
            root,
            tree.path(root),
            tree.codes[root].name,
            [_trajectory(study_id, waves[study_id], found[root], keys) for study_id in sorted(waves)],
        )
        for root in roots
    ]


def _waves(
    session: Session,
    coders: Sequence[str] | None,
    participants: Sequence[str] | None,
    timepoints: Sequence[str] | None,
    attribute: Attribute | list[Attribute] | None,
) -> tuple[list[tuple[str, str]], dict[str, dict[str, bool]]]:
    """The timepoints asked about, and per participant in scope ``{timepoint key: coded by anyone}``."""
    scope = resolve_scope(session, timepoints, participants, attribute, coders)
    study_ids = dict(fetch_rows(session, select(Transcript.id, Participant.study_id).join(
        Participant, Participant.id == Transcript.participant_id)))  # fmt: skip
    waves: dict[str, dict[str, bool]] = defaultdict(dict)
    for tid, key, coded in transcripts_coded(session, scope):
        waves[study_ids[tid]][key] = waves[study_ids[tid]].get(key, False) or coded
    keys = [(tp.key, tp.label) for tp in project_timepoints(session) if not timepoints or tp.key in timepoints]
    return keys, waves


def trajectories(
    session: Session,
    code_ref: str | int,
    with_descendants: bool = True,
    coders: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
) -> list[Trajectory]:
    """For every participant with a transcript: where the code is present, wave by wave, with segments.

    The same answer as ``theme_presence`` for one code, with each wave's segments (text and context)."""
    [presence] = theme_presence(session, [code_ref], with_descendants, coders, participants)
    segments = retrieve(session, code_ref, with_descendants, participants=participants, coders=coders)
    by_wave: dict[tuple[str, str], list[Segment]] = defaultdict(list)
    for segment in segments:
        by_wave[(segment.participant, segment.timepoint)].append(segment)
    for trajectory in presence.trajectories:
        for point in trajectory.points:
            point.segments = by_wave.get((trajectory.participant, point.timepoint), [])
    return presence.trajectories


def _trajectory(
    study_id: str,
    waves: dict[str, bool],
    found: dict[tuple[str, str], list[CodedSpan]],
    keys: list[tuple[str, str]],
) -> Trajectory:
    presence: list[bool | str | None] = []
    for key, _label in keys:
        if key not in waves:
            presence.append(None)
        elif not waves[key]:
            presence.append(UNCODED)
        else:
            presence.append(bool(found.get((study_id, key))))
    labels = trajectory_labels(presence)
    points = [
        TrajectoryPoint(
            key,
            label,
            present is not None,
            present is True,
            status,
            [],
            present != UNCODED,
            len(group_passages(found.get((study_id, key), []))),
        )  # fmt: skip
        for (key, label), present, status in zip(keys, presence, labels, strict=True)
    ]
    marks = {None: ".", UNCODED: "?", True: "+", False: "-"}
    pattern = "".join(marks[p] for p in presence)
    return Trajectory(study_id, pattern, points)
