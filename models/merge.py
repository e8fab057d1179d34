"""Merging coders' project files into one, exactly, idempotently, and explained before it happens.

Identity first: everything that travels has a UUID, so the same code, transcript or coding seen again is
recognised and nothing is added twice. Where identity is missing (two coders created "Hope" separately),
codes match by normalised path, then fuzzy name among siblings, but a fuzzy match is only a proposal until
``accept_fuzzy`` or a mapping file says so. A transcript whose text differs between coders (a typo fixed)
is aligned character by character and each coding re-anchored; a coding that cannot be placed exactly is
kept in the ``needs_review`` state with its original text in the report, never dropped.

The whole merge is one transaction and one undoable event. ``dry_run`` runs the very same code and rolls
back, so its report is exactly what the real run does.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models import journal, merge_rows, project_file, replica, search_index, tombstones
from models.codes import CodeTree, split_path
from models.errors import WaveqdaError
from models.naming import cleaned_name
from models.schema import (
    AttributeDefinition,
    Code,
    Coder,
    Coding,
    Event,
    Measure,
    Memo,
    Participant,
    ParticipantAttribute,
    Score,
    Sentence,
    Timepoint,
    Transcript,
    Turn,
    table_of,
)
from models.store import Project, get_setting, open_project, remove_database_files

FUZZY_THRESHOLD = 85.0
CODE_FIELDS = ("definition", "inclusion", "exclusion", "example")


class DryRunRollback(Exception):
    """Raised inside the transaction to discard a dry run's changes."""


@dataclass
class SourceReport:
    """What merging one source did (or would do)."""

    source: str
    counts: Counter = field(default_factory=Counter)
    conflicts: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    needs_review: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "counts": dict(sorted(self.counts.items())),
            "conflicts": self.conflicts,
            "changes": self.changes,
            "fuzzy_proposals": self.proposals,
            "needs_review": self.needs_review,
        }


@dataclass
class MergeReport:
    target: str
    dry_run: bool
    sources: list[SourceReport] = field(default_factory=list)
    fresh: bool = False  # the target file was created by this merge

    @property
    def changed(self) -> bool:
        added = (
            "added",
            "created",
            "applied",
            "copied",
            "reanchored",
            "needs_review",
            "memo_notes",
            "updated",
            "removed",
            "restored",
            "combined",
            "proposals_accepted",
        )
        return any(v for s in self.sources for k, v in s.counts.items() if k.split(".")[-1] in added)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "sources": [s.as_dict() for s in self.sources],
        }

    def lines(self) -> list[str]:
        out = [f"{'Dry run: would merge' if self.dry_run else 'Merged'} into {self.target}"]
        for src in self.sources:
            out.append(f"from {src.source}:")
            for key, value in sorted(src.counts.items()):
                out.append(f"  {key}: {value}")
            for proposal in src.proposals:
                state = "applied" if proposal["applied"] else "proposal only (use --accept-fuzzy or --map)"
                out.append(
                    f"  fuzzy: {proposal['source']!r} ~ {proposal['target']!r} ({proposal['score']:.0f}%): {state}"
                )
            out.extend(f"  change: {c}" for c in src.changes)
            out.extend(f"  conflict: {c}" for c in src.conflicts)
            for item in src.needs_review:
                out.append(
                    f"  needs review: coding {item['uuid']} ({item['code']}, {item['coder']}) "
                    f"in {item['transcript']}: {item['text']!r}"
                )
        if not self.changed:
            out.append("Nothing new to merge.")
        elif self.fresh and not self.dry_run:
            out.append(f"{self.target} is a new file: to undo this merge, delete it.")
        return out


# --- helpers ---------------------------------------------------------------------------------------


def normalise(name: str) -> str:
    """Case, spacing and punctuation folded: "Feeling  valued!" and "feeling valued" are the same."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def normalised_path(path: str) -> tuple[str, ...]:
    return tuple(normalise(part) for part in split_path(path))


def read_mapping(path: Path | None) -> dict[tuple[str, ...], str]:
    """A code mapping file: JSON ``{"source/path": "target/path"}`` or CSV with columns source,target."""
    if path is None:
        return {}
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("expected an object of source paths to target paths")
            pairs = list(raw.items())
        else:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                pairs = [(row["source"], row["target"]) for row in csv.DictReader(fh)]
    except (OSError, ValueError, KeyError, csv.Error) as exc:
        raise WaveqdaError(f"{path.name}: cannot read the mapping ({exc}); use JSON or CSV source,target") from exc
    bad = next((pair for pair in pairs if not all(isinstance(v, str) and v.strip() for v in pair)), None)
    if bad is not None:
        raise WaveqdaError(f"{path.name}: every mapping needs a source and a target code path, not {bad!r}")
    return {normalised_path(src): dst for src, dst in pairs}


class Aligner:
    """Maps offsets of a source text onto a target text that differs by edits (Levenshtein opcodes)."""

    def __init__(self, source: str, target: str) -> None:
        from rapidfuzz.distance import Levenshtein

        self.source, self.target = source, target
        self.ops = [] if source == target else list(Levenshtein.opcodes(source, target))

    def map(self, pos: int, side: str) -> tuple[int, bool]:
        """Target offset of ``pos`` and whether it fell inside unchanged text."""
        if not self.ops:
            return pos, True
        for op in self.ops:
            inside = op.src_start <= pos < op.src_end if side == "start" else op.src_start < pos <= op.src_end
            if inside or (op.src_start == op.src_end == pos and op.tag == "insert" and side == "start"):
                if op.tag == "equal":
                    return op.dest_start + (pos - op.src_start), True
                return (op.dest_start if side == "start" else op.dest_end), False
        return len(self.target), pos == len(self.source)

    def span(self, start: int, end: int) -> tuple[int, int, bool]:
        new_start, ok_start = self.map(start, "start")
        new_end, ok_end = self.map(end, "end")
        if new_end <= new_start:  # the coded text was deleted: keep the width, inside the target text
            width = max(1, end - start)
            new_end = min(len(self.target), new_start + width)
            new_start = max(0, min(new_start, new_end - width))
        exact = ok_start and ok_end and self.target[new_start:new_end] == self.source[start:end]
        if not exact:
            found = self.exact_nearby(self.source[start:end], new_start, new_end)
            if found is not None:
                return found, found + (end - start), True
        return new_start, new_end, exact

    def exact_nearby(self, wanted: str, near_start: int, near_end: int) -> int | None:
        """Where ``wanted`` occurs exactly once in the target around its aligned place, or None.

        Why: the edit-distance alignment can slide an edge a few characters when text just before the
        coding was edited ("n my manager stepped in" for "Then my manager stepped in"); the coder's exact
        words, found once nearby, are where the coding belongs."""
        if not wanted.strip():
            return None
        reach = max(200, 2 * len(wanted))
        low, high = max(0, near_start - reach), min(len(self.target), near_end + reach)
        window = self.target[low:high]
        first = window.find(wanted)
        if first < 0 or window.find(wanted, first + 1) >= 0:
            return None
        return low + first


# --- the merge -------------------------------------------------------------------------------------


def merge_projects(
    target: str | Path,
    sources: list[str | Path],
    actor: str,
    dry_run: bool = False,
    mapping_file: Path | None = None,
    accept_fuzzy: bool = False,
    threshold: float = FUZZY_THRESHOLD,
) -> MergeReport:
    """Merge ``sources`` into ``target`` (created if missing, with the first source's timepoints). Either may
    be a project file or a database URL."""
    from models.store import create_project, project_exists

    is_file = "://" not in str(target)
    target_path = Path(target) if is_file else None
    mapping = read_mapping(mapping_file)
    _check_sources(target, sources)
    opened: list[Project] = []
    created = False
    try:
        for src in sources:
            opened.append(open_project(src))
        if project_exists(target):
            project = open_project(target)
        elif dry_run:
            return _dry_run_into_new(target, opened, [str(s) for s in sources], actor, mapping, accept_fuzzy, threshold)
        else:
            project = create_project(target, *_first_source_setup(opened[0]))
            created = True
        try:
            return _merge_into(
                project, opened, [str(s) for s in sources], actor, dry_run, mapping, accept_fuzzy, threshold, created
            )
        finally:
            project.close()
    except Exception:
        if created and target_path is not None:
            remove_database_files(target_path)
        raise
    finally:
        for source_project in opened:
            source_project.close()


def merge_into_open(
    project: Project,
    sources: list[str | Path],
    actor: str,
    dry_run: bool = False,
    mapping_file: Path | None = None,
    accept_fuzzy: bool = False,
    threshold: float = FUZZY_THRESHOLD,
) -> MergeReport:
    """Merge ``sources`` into a project that is already open (the workspace's): the same merge as
    ``merge_projects`` into an existing target, one transaction and one undoable step, without opening the
    target a second time."""
    mapping = read_mapping(mapping_file)
    _check_sources(project.path or project.url, sources, shown=project.label)
    opened: list[Project] = []
    try:
        for src in sources:
            opened.append(open_project(src))
        return _merge_into(project, opened, [str(s) for s in sources], actor, dry_run, mapping, accept_fuzzy, threshold)
    finally:
        for source_project in opened:
            source_project.close()


def _check_sources(target: str | Path, sources: list[str | Path], shown: str | None = None) -> None:
    """At least one source, none of them the target itself (by name, path or file identity); ``shown`` names
    the target in the message (a URL's password never is)."""
    target_path = Path(target) if "://" not in str(target) else None
    if not sources:
        raise WaveqdaError("name at least one SOURCE project to merge")
    for src in sources:
        if str(src) == str(target) or (
            target_path is not None
            and "://" not in str(src)
            and (
                Path(src).resolve() == target_path.resolve()
                or (target_path.exists() and Path(src).exists() and project_file.same_file(src, target_path))
            )
        ):
            raise WaveqdaError(f"{src}: cannot merge a project into itself (it is the same file as {shown or target})")


def _first_source_setup(source: Project) -> tuple[list[tuple[str, str]], str | None]:
    """A new target takes the first source's timepoints and study name."""
    with source.read() as s:
        tps = [(t.key, t.label) for t in s.scalars(select(Timepoint).order_by(Timepoint.position))]
        return tps, get_setting(s, "name")


def _dry_run_into_new(
    target: str | Path,
    sources: list[Project],
    names: list[str],
    actor: str,
    mapping: dict[tuple[str, ...], str],
    accept_fuzzy: bool,
    threshold: float,
) -> MergeReport:
    """What a merge into a target that does not exist yet would do: the merge runs into a scratch project in a
    private temporary folder (rolled back, then deleted), so nothing appears at ``target``."""
    import tempfile

    from models.store import create_project

    with tempfile.TemporaryDirectory(prefix="waveqda-dry-run-") as scratch_dir:
        scratch = create_project(Path(scratch_dir) / "target.wqda", *_first_source_setup(sources[0]))
        try:
            report = _merge_into(scratch, sources, names, actor, True, mapping, accept_fuzzy, threshold, fresh=True)
        finally:
            scratch.close()
    report.target = str(target)
    return report


def _merge_into(
    project: Project,
    sources: list[Project],
    names: list[str],
    actor: str,
    dry_run: bool,
    mapping: dict[tuple[str, ...], str],
    accept_fuzzy: bool,
    threshold: float,
    fresh: bool = False,
) -> MergeReport:
    """``fresh``: the target was created for this merge; its rows are not journalled one by one (undoing
    the merge means deleting the new file), which halves the cost of the team lead's usual first merge."""
    report = MergeReport(str(project.path or project.url), dry_run, fresh=fresh)
    summary = "Merged " + ", ".join(Path(n).name for n in names)
    try:
        with project.change(actor, "project.merge", summary, undoable=not fresh) as session:
            for source, name in zip(sources, names, strict=True):
                source_report = SourceReport(name)
                report.sources.append(source_report)
                with source.read() as source_session:
                    SourceMerge(session, source_session, source_report, mapping, accept_fuzzy, threshold).run()
            session.info["detail"] = report.as_dict()
            if dry_run:
                raise DryRunRollback
            if not report.changed:
                raise DryRunRollback  # nothing new: leave no empty event behind
    except DryRunRollback:
        pass
    return report


class SourceMerge:
    """Brings one source session's data into the target session; ``*_map`` dicts translate source ids."""

    def __init__(
        self,
        target: Session,
        source: Session,
        report: SourceReport,
        mapping: dict[tuple[str, ...], str],
        accept_fuzzy: bool,
        threshold: float,
    ) -> None:
        self.t, self.s, self.report = target, source, report
        self.mapping, self.accept_fuzzy, self.threshold = mapping, accept_fuzzy, threshold
        self.count = report.counts
        # None when the merge fills a brand-new file: nothing to undo there but the file itself
        self.buffer: journal.ChangeBuffer | None = target.info.get(journal.BUFFER_KEY)
        self.timepoint_map: dict[int, int] = {}
        self.coder_map: dict[int, int] = {}
        self.participant_map: dict[int, int] = {}
        self.code_map: dict[int, int] = {}
        self.transcript_map: dict[int, int] = {}
        self.coding_map: dict[int, int] = {}
        self.aligners: dict[int, Aligner] = {}
        self.replica = replica.key_of(source)
        self.source_tree = CodeTree.load(source)
        # (transcript, code, coder) groups that got new or moved codings: where one coder's codings of a code
        # may now overlap and must be combined.
        self.groups: set[tuple[int, int, int]] = set()
        self.coding_seen: dict[str, dict[str, Any]] = {}
        self.dropped_baselines: set[str] = set()
        self.dropped_memo_baselines: set[str] = set()
        # what changed in the target during this merge (uuids of added rows, ids of updated, combined or
        # deleted ones), and the baselines and target rows as the merge found them, per kind
        self.dirty: dict[str, set[str]] = {"coding": set(), "memo": set()}
        self.dirty_ids: dict[str, set[int]] = {"coding": set(), "memo": set()}
        self.baselines: dict[str, dict[str, merge_rows.Baseline]] = {}
        self.targets: dict[str, dict[str, Any]] = {}
        self._earlier: dict[tuple[str, ...], str] | None = None
        self.memo_seen: dict[str, dict[str, Any]] = {}

    def run(self) -> None:
        self.merge_timepoints()
        self.merge_coders()
        self.merge_participants()
        self.merge_codes()
        self.merge_transcripts()
        self.merge_codings()
        self.merge_memos()
        # after the memos: combining moves the notes attached to absorbed codings
        combined = merge_rows.union_overlaps(self.t, self.groups)
        self.dirty_ids["coding"].update(combined)
        if combined:
            self.count["codings.combined"] += len(combined) - len(self._survivors(combined))
        self.record_baselines()
        self.merge_history()
        self.t.flush()

    # -- small entities -------------------------------------------------------------------------

    def _uuid_free(self, model: type[Any], uuid: str) -> bool:
        return self.t.scalar(select(model.id).where(model.uuid == uuid)) is None

    def merge_timepoints(self) -> None:
        target = {t.key: t for t in self.t.scalars(select(Timepoint))}
        position = max((t.position for t in target.values()), default=-1)
        for tp in self.s.scalars(select(Timepoint).order_by(Timepoint.position)):
            found = target.get(tp.key)
            if found is None:
                position += 1
                found = Timepoint(key=tp.key, label=tp.label, position=position)
                self.t.add(found)
                self.t.flush()
                self.count["timepoints.added"] += 1
            elif found.label != tp.label:
                self.report.conflicts.append(f"timepoint {tp.key}: label {tp.label!r} here vs {found.label!r} kept")
            self.timepoint_map[tp.id] = found.id

    def merge_coders(self) -> None:
        by_uuid = {c.uuid: c for c in self.t.scalars(select(Coder))}
        by_name = {c.name: c for c in by_uuid.values()}
        for coder in self.s.scalars(select(Coder)):
            found = by_uuid.get(coder.uuid) or by_name.get(coder.name)
            if found is None:
                found = Coder(uuid=coder.uuid, name=cleaned_name(coder.name) or "coder", created_at=coder.created_at)
                self.t.add(found)
                self.t.flush()
                by_name[found.name] = found
                self.count["coders.added"] += 1
            self.coder_map[coder.id] = found.id

    def merge_participants(self) -> None:
        by_study = {p.study_id: p for p in self.t.scalars(select(Participant))}
        for participant in self.s.scalars(select(Participant)):
            found = by_study.get(participant.study_id)
            if found is None:
                uuid = participant.uuid if self._uuid_free(Participant, participant.uuid) else None
                found = Participant(
                    study_id=participant.study_id, created_at=participant.created_at, **({"uuid": uuid} if uuid else {})
                )
                self.t.add(found)
                self.t.flush()
                self.count["participants.added"] += 1
            self.participant_map[participant.id] = found.id
        self.merge_attributes()
        self.merge_scores()

    def merge_attributes(self) -> None:
        definitions = {d.name: d for d in self.t.scalars(select(AttributeDefinition))}
        for definition in self.s.scalars(select(AttributeDefinition).order_by(AttributeDefinition.position)):
            found = definitions.get(definition.name)
            if found is None:
                found = AttributeDefinition(
                    name=definition.name, type=definition.type, choices=definition.choices, position=len(definitions)
                )
                self.t.add(found)
                self.t.flush()
                definitions[found.name] = found
                self.count["attributes.added"] += 1
            elif found.type != definition.type:
                self.report.conflicts.append(
                    f"attribute {definition.name!r}: type {definition.type} there vs {found.type} kept"
                )
            values = select(ParticipantAttribute).where(ParticipantAttribute.attribute_id == definition.id)
            for row in self.s.scalars(values):
                self._merge_value(found, row)

    def merge_scores(self) -> None:
        """Measures by name (the target's description kept, a different one listed), scores by participant,
        timepoint and measure: a score the target lacks is added, a different value is listed and the
        target's kept (as attribute values)."""
        measures = {m.name: m for m in self.t.scalars(select(Measure))}
        measure_map: dict[int, int] = {}
        for measure in self.s.scalars(select(Measure).order_by(Measure.id)):
            found = measures.get(measure.name)
            if found is None:
                found = Measure(
                    name=measure.name, min_value=measure.min_value, max_value=measure.max_value,
                    higher_is=measure.higher_is, norm_mean=measure.norm_mean, norm_sd=measure.norm_sd,
                    norm_source=measure.norm_source, reliability=measure.reliability,
                )  # fmt: skip
                self.t.add(found)
                self.t.flush()
                measures[found.name] = found
                self.count["measures.added"] += 1
            measure_map[measure.id] = found.id
        if not measure_map:
            return
        source_keys = {t.id: t.key for t in self.s.scalars(select(Timepoint))}
        target_timepoints = {t.key: t.id for t in self.t.scalars(select(Timepoint))}
        current = {(s.participant_id, s.timepoint_id, s.measure_id): s for s in self.t.scalars(select(Score))}
        names = {m.id: m.name for m in measures.values()}
        for score in self.s.scalars(select(Score).order_by(Score.id)):
            timepoint_id = target_timepoints.get(source_keys.get(score.timepoint_id, ""))
            participant_id = self.participant_map.get(score.participant_id)
            if timepoint_id is None or participant_id is None:
                continue
            key = (participant_id, timepoint_id, measure_map[score.measure_id])
            found_score = current.get(key)
            if found_score is None:
                self.t.add(Score(participant_id=key[0], timepoint_id=key[1], measure_id=key[2], value=score.value))
                self.count["scores.added"] += 1
            elif found_score.value != score.value:
                study_id = self.t.get_one(Participant, participant_id).study_id
                self.report.conflicts.append(
                    f"{study_id} {source_keys[score.timepoint_id]} {names[key[2]]}: {score.value:g} there vs "
                    f"{found_score.value:g} kept"
                )

    def _merge_value(self, definition: AttributeDefinition, row: ParticipantAttribute) -> None:
        participant_id = self.participant_map[row.participant_id]
        current = self.t.get(ParticipantAttribute, (participant_id, definition.id))
        if current is None:
            self.t.add(ParticipantAttribute(participant_id=participant_id, attribute_id=definition.id, value=row.value))
            self.count["attribute_values.added"] += 1
        elif (current.value or "") != (row.value or ""):
            study_id = self.t.get_one(Participant, participant_id).study_id
            self.report.conflicts.append(f"{study_id} {definition.name}: {row.value!r} there vs {current.value!r} kept")

    # -- codes ----------------------------------------------------------------------------------

    def merge_codes(self) -> None:
        source_tree = CodeTree.load(self.s)
        # The target tree is loaded once and kept up to date as codes are created (not reloaded per code).
        self.tree = CodeTree.load(self.t)
        self.paths = {normalised_path(self.tree.path(cid)): cid for cid in self.tree.codes}
        self.by_uuid = {c.uuid: c for c in self.tree.codes.values()}
        for code_id, _depth in source_tree.walk():  # parents before children
            code = source_tree.codes[code_id]
            self.code_map[code_id] = self._match_or_create_code(source_tree, code)
        for code_id, code in source_tree.codes.items():  # pointers after every code has a home
            if code.merged_into_id in self.code_map:
                target = self.t.get_one(Code, self.code_map[code_id])
                if target.merged_into_id is None and target.id != self.code_map[code.merged_into_id]:
                    target.merged_into_id = self.code_map[code.merged_into_id]

    def _match_or_create_code(self, source_tree: CodeTree, code: Code) -> int:
        tree = self.tree
        path = source_tree.path(code.id)
        by_uuid = self.by_uuid.get(code.uuid)
        if by_uuid is not None:
            folded = self._accept_later(tree, by_uuid, path)
            if folded is not None:
                return folded
            self.count["codes.matched_by_uuid"] += 1
            self._reconcile(tree, by_uuid, code, path)
            return by_uuid.id
        mapped = self.mapping.get(normalised_path(path))
        if mapped is not None:
            target = tree.find(mapped)
            self.count["codes.matched_by_mapping"] += 1
            self._reconcile(tree, target, code, path)
            return target.id
        same = self.paths.get(normalised_path(path))
        if same is not None:
            self.count["codes.matched_by_path"] += 1
            self._reconcile(tree, tree.codes[same], code, path)
            return same
        parent_id = self.code_map.get(code.parent_id) if code.parent_id else None
        fuzzy = self._fuzzy_sibling(tree, parent_id, code.name)
        if fuzzy is not None:
            target, score = fuzzy
            applied = self.accept_fuzzy
            self.report.proposals.append(
                {"source": path, "target": tree.path(target.id), "score": score, "applied": applied}
            )
            if applied:
                self.count["codes.fuzzy_applied"] += 1
                self._reconcile(tree, target, code, path)
                return target.id
            self.count["codes.fuzzy_proposed"] += 1
        return self._create_code(tree, code, parent_id)

    def _accept_later(self, tree: CodeTree, here: Code, path: str) -> int | None:
        """A code an earlier merge kept apart as a fuzzy proposal ("Peer teem" beside "Peer team"), now
        accepted with ``--accept-fuzzy`` or mapped with ``--map``: fold it into its match, codings and all
        (as ``code merge`` does). Returns the code its codings now belong to, or None."""
        wanted = self.mapping.get(normalised_path(path))
        if wanted is None and self.accept_fuzzy:
            wanted = self.earlier_proposals().get(normalised_path(path))
        if wanted is None:
            return None
        try:
            target = tree.find(wanted)
        except WaveqdaError:
            return None
        if target.id == here.id:
            return None
        if here.merged_into_id == target.id:
            return target.id
        from models.codebook import merge_code_in_session

        moved, _combined = merge_code_in_session(self.t, tree, here, target)
        self.count["codes.proposals_accepted"] += 1
        self.report.changes.append(
            f"code {tree.path(here.id)!r} folded into {tree.path(target.id)!r} ({moved} codings), as proposed earlier"
        )
        return target.id

    def earlier_proposals(self) -> dict[tuple[str, ...], str]:
        """Fuzzy matches earlier merges into this project proposed and did not apply: source path -> target."""
        if self._earlier is None:
            self._earlier = {}
            details = self.t.scalars(select(Event.detail).where(Event.operation == "project.merge"))
            for detail in details:
                for source in (detail or {}).get("sources", []):
                    for proposal in source.get("fuzzy_proposals", []):
                        if not proposal.get("applied"):
                            self._earlier[normalised_path(proposal["source"])] = proposal["target"]
        return self._earlier

    def _fuzzy_sibling(self, tree: CodeTree, parent_id: int | None, name: str) -> tuple[Code, float] | None:
        from rapidfuzz import fuzz, process

        siblings = [tree.codes[cid] for cid in tree.children.get(parent_id, [])]
        if not siblings:
            return None
        best = process.extractOne(
            normalise(name), [normalise(c.name) for c in siblings], scorer=fuzz.ratio, score_cutoff=self.threshold
        )
        return None if best is None else (siblings[best[2]], best[1])

    def _create_code(self, tree: CodeTree, code: Code, parent_id: int | None) -> int:
        uuid = code.uuid if self._uuid_free(Code, code.uuid) else None
        position = len(tree.children.get(parent_id, []))
        created = Code(
            parent_id=parent_id,
            name=cleaned_name(code.name) or "Unnamed code",
            definition=code.definition,
            inclusion=code.inclusion,
            exclusion=code.exclusion,
            example=code.example,
            memo=code.memo,
            colour=code.colour,
            position=position,
            archived=code.archived,
            created_at=code.created_at,
            **({"uuid": uuid} if uuid else {}),
        )
        self.t.add(created)
        self.t.flush()
        tree.codes[created.id] = created
        tree.children.setdefault(parent_id, []).append(created.id)
        self.paths[normalised_path(tree.path(created.id))] = created.id
        self.by_uuid[created.uuid] = created
        self.count["codes.created"] += 1
        return created.id

    def _reconcile(self, tree: CodeTree, target: Code, source: Code, path: str) -> None:
        """Report differing definitions and colours; keep the target's, keep the source's as a memo note."""
        differing = [
            f
            for f in CODE_FIELDS
            if (getattr(source, f) or "").strip()
            and (getattr(source, f) or "").strip() != (getattr(target, f) or "").strip()
        ]
        if source.colour.lower() != target.colour.lower():
            self.report.conflicts.append(
                f"code {tree.path(target.id)!r}: colour {source.colour} there vs {target.colour} kept"
            )
        if not differing:
            return
        self.report.conflicts.append(
            f"code {tree.path(target.id)!r}: {', '.join(differing)} differ; "
            "target's kept, source's added to the code memo"
        )
        note = f"From merged project ({path}):\n" + "\n".join(
            f"{f.capitalize()}: {getattr(source, f).strip()}" for f in differing
        )
        if note not in (target.memo or ""):
            target.memo = f"{target.memo}\n\n{note}".strip()
            self.count["codes.memo_notes"] += 1

    # -- transcripts ----------------------------------------------------------------------------

    def merge_transcripts(self) -> None:
        targets = list(self.t.scalars(select(Transcript)))
        by_uuid = {t.uuid: t for t in targets}
        by_hash = {t.sha256: t for t in targets}
        by_slot = {(t.participant_id, t.timepoint_id): t for t in targets}
        for transcript in self.s.scalars(select(Transcript).order_by(Transcript.id)):
            slot = (self.participant_map[transcript.participant_id], self.timepoint_map[transcript.timepoint_id])
            found = by_uuid.get(transcript.uuid) or by_hash.get(transcript.sha256) or by_slot.get(slot)
            if found is None:
                found = self._copy_transcript(transcript, slot)
                by_slot[slot] = found
                self.count["transcripts.added"] += 1
            elif found.text != transcript.text:
                self.count["transcripts.aligned"] += 1
            else:
                self.count["transcripts.matched"] += 1
            self.transcript_map[transcript.id] = found.id
            self.aligners[transcript.id] = Aligner(transcript.text, found.text)

    def _copy_transcript(self, transcript: Transcript, slot: tuple[int, int]) -> Transcript:
        """A new transcript with its turns, sentences and search rows, journalled so undo removes it."""
        uuid = transcript.uuid if self._uuid_free(Transcript, transcript.uuid) else None
        copy = Transcript(
            participant_id=slot[0],
            timepoint_id=slot[1],
            title=transcript.title,
            source_name=transcript.source_name,
            source_format=transcript.source_format,
            sha256=transcript.sha256,
            text=transcript.text,
            word_count=transcript.word_count,
            imported_by=transcript.imported_by,
            imported_at=transcript.imported_at,
            **({"uuid": uuid} if uuid else {}),
        )
        self.t.add(copy)
        self.t.flush()
        if self.buffer is not None:
            self.buffer.add("transcripts", {"id": copy.id}, None, journal.row_image(copy))
        for model in (Turn, Sentence):  # one executemany per table, journalled by hand
            table = table_of(model)
            names = [c.name for c in table.columns if c.name != "id"]
            rows = [
                {**dict(zip(names, row, strict=True)), "transcript_id": copy.id}
                for row in self.s.execute(
                    select(*(table.c[n] for n in names))
                    .where(table.c.transcript_id == transcript.id)
                    .order_by(table.c.id)
                )
            ]
            if not rows:
                continue
            self.t.execute(insert(table), rows)
            if self.buffer is not None:
                # The transcript is new, so all its rows are these, and ids ascend in insertion order.
                ids = self.t.scalars(select(table.c.id).where(table.c.transcript_id == copy.id).order_by(table.c.id))
                for row_id, row in zip(ids.all(), rows, strict=True):
                    self.buffer.add(table.name, {"id": row_id}, None, journal.image({"id": row_id, **row}))
        search_index.reindex_transcript(self.t, copy.id, new=True)
        return copy

    # -- codings --------------------------------------------------------------------------------

    def merge_codings(self) -> None:
        """Each source coding once: known by UUID (compared field by field with what the last merge from this
        file saw, ``models.merge_rows``), else added (re-anchored if needed); codings the source deleted since
        the last merge are removed unless changed here since.

        Rows, not ORM objects: a coder's file holds tens of thousands of codings. New codings go in with one
        executemany and are journalled by hand (as ``journal.set_column`` does), so undo still removes them.
        """
        table = table_of(Coding)
        columns = [c.name for c in table.columns if c.name != "id"]
        targets = {row["uuid"]: row for row in self.t.execute(select(table)).mappings()}
        baselines = merge_rows.load_baselines(self.t, self.replica, "coding")
        source_rows = self.s.execute(select(table.c.id, *(table.c[n] for n in columns)).order_by(table.c.id))
        rows = list(source_rows.mappings())
        # Deleted here (evidence: a tombstone in the target), with when: a coding deleted here stays deleted
        # unless the coder changed it since.
        deleted_here = merge_rows.tombstone_times(self.t, [r["uuid"] for r in rows if r["uuid"] not in targets])
        added: list[tuple[int, dict[str, Any]]] = []
        updates: dict[int, dict[str, Any]] = {}
        seen: dict[str, dict[str, Any]] = {}
        for row in rows:
            uuid = row["uuid"]
            seen[uuid] = merge_rows.with_time(merge_rows.coding_image(row), row["updated_at"])
            current = targets.get(uuid)
            if current is not None:
                self.coding_map[row["id"]] = current["id"]
                self._compare_coding(row, current, baselines.get(uuid), updates)
                continue
            if uuid in deleted_here:
                if not merge_rows.changed_since(seen[uuid], baselines.get(uuid), deleted_here[uuid]):
                    self.count["codings.kept_deleted"] += 1  # deleted here; not changed there since
                    continue
                self.report.conflicts.append(
                    f"coding {self._label(row)}: deleted here but changed there since; restored for review"
                )
                self.count["codings.restored"] += 1
            added.append((row["id"], self._new_coding(row)))
        if added:
            journal.insert_rows(self.t, table, [new for _source_id, new in added])
            tombstones.unbury(self.t, [new["uuid"] for _source_id, new in added])
        new_ids = self._ids_by_uuid([new["uuid"] for _source_id, new in added])
        for source_id, new in added:
            row_id = new_ids[new["uuid"]]
            self.coding_map[source_id] = row_id
            self.dirty["coding"].add(new["uuid"])
            if self.buffer is not None:
                self.buffer.add("codings", {"id": row_id}, None, journal.image({"id": row_id, **new}))
            self.groups.add((new["transcript_id"], new["code_id"], new["coder_id"]))
        merge_rows.apply_updates(self.t, Coding, updates, self._coding_columns)
        self.dirty_ids["coding"].update(updates)
        self._carry_source_deletions(baselines, seen, targets)
        self.coding_seen = seen
        self.baselines["coding"], self.targets["coding"] = baselines, targets

    def _mapped_coding(self, row: Any) -> tuple[dict[str, Any], int, int]:
        """The source coding in the target's terms (code mapped, span re-anchored), with its transcript and
        coder ids in the target."""
        transcript_id = self.transcript_map[row["transcript_id"]]
        start, end, exact = self.aligners[row["transcript_id"]].span(row["start"], row["end"])
        mapped = {
            "span": [start, end],
            "code": self.code_map[row["code_id"]],
            "memo": row["memo"] or "",
            "key_quote": bool(row["key_quote"]),
            "status": row["status"] if exact else "needs_review",
        }
        return mapped, transcript_id, self.coder_map[row["coder_id"]]

    def _compare_coding(self, row: Any, current: Any, baseline: Any, updates: dict[int, dict[str, Any]]) -> None:
        mapped, _transcript_id, _coder_id = self._mapped_coding(row)
        target = merge_rows.coding_image(current)
        source = merge_rows.coding_image(row)
        result = merge_rows.resolve(
            merge_rows.CODING_FIELDS, source, mapped, target, baseline, row["updated_at"], current["updated_at"]
        )
        if not result.take and not result.conflicts:
            self.count["codings.already_present"] += 1
            return
        if result.take:
            updates[current["id"]] = result.take
            self.count["codings.updated"] += 1
            if "span" in result.take or "code" in result.take:
                code_id = result.take.get("code", current["code_id"])
                self.groups.add((current["transcript_id"], code_id, current["coder_id"]))
        label = self._label(row)
        if result.changed:
            self.report.changes.append(f"coding {label}: {self._describe(result.changed, mapped, target)}")
        if result.conflicts:
            newer = merge_rows.stamp(row["updated_at"]) > merge_rows.stamp(current["updated_at"])
            self.report.conflicts.append(
                f"coding {label}: {', '.join(result.conflicts)} changed on both sides since the last merge; "
                f"memos joined, key-quote flags kept, otherwise the newer edit ({'there' if newer else 'here'}) kept"
            )
            self.count["codings.conflicts"] += 1

    @staticmethod
    def _describe(fields: list[str], mapped: dict[str, Any], target: dict[str, Any]) -> str:
        parts = []
        for name in fields:
            if name == "span":
                parts.append(f"span {target['span'][0]}:{target['span'][1]} -> {mapped['span'][0]}:{mapped['span'][1]}")
            elif name == "key_quote":
                parts.append("key quote " + ("marked" if mapped["key_quote"] else "unmarked"))
            elif name == "memo":
                parts.append("memo edited" if mapped["memo"] else "memo cleared")
            else:
                parts.append(f"{name} changed")
        return "; ".join(parts)

    @staticmethod
    def _coding_columns(fields: dict[str, Any]) -> dict[str, Any]:
        out = {key: value for key, value in fields.items() if key != "span" and key != "code"}
        if "span" in fields:
            out["start"], out["end"] = fields["span"]
        if "code" in fields:
            out["code_id"] = fields["code"]
        return out

    def _carry_source_deletions(
        self, baselines: dict[str, Any], seen: dict[str, dict[str, Any]], targets: dict[str, Any]
    ) -> None:
        """Codings the last merge took from this file that the source has deleted since (evidence: its
        tombstone). A coding merely missing from the source is never removed: it may never have been there."""
        missing = [uuid for uuid in baselines if uuid not in seen]
        deleted_there = merge_rows.tombstone_times(self.s, missing)
        delete_ids: list[int] = []
        for uuid in deleted_there:
            current = targets.get(uuid)
            self.dropped_baselines.add(uuid)
            if current is None:
                continue  # deleted on both sides
            if merge_rows.same_fields(merge_rows.coding_image(current), baselines[uuid].target):
                delete_ids.append(current["id"])
                self.report.changes.append(f"coding #{current['id']}: deleted there since the last merge; removed")
            else:
                self.report.conflicts.append(
                    f"coding #{current['id']}: deleted there but changed here since the last merge; kept"
                )
                self.count["codings.conflicts"] += 1
        merge_rows.delete_codings(self.t, delete_ids)
        self.dirty_ids["coding"].update(delete_ids)
        if delete_ids:
            self.count["codings.removed"] += len(delete_ids)

    def _label(self, row: Any) -> str:
        transcript = self.s.get_one(Transcript, row["transcript_id"])
        where = f"{transcript.participant.study_id}/{transcript.timepoint.key}"
        return f"{where} {row['start']}:{row['end']} ({self.source_tree.path(row['code_id'])})"

    def _ids_by_uuid(self, uuids: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in journal.chunks(uuids):
            out.update(self.t.execute(select(Coding.uuid, Coding.id).where(Coding.uuid.in_(chunk))).tuples().all())
        return out

    def _new_coding(self, coding: Any) -> dict[str, Any]:
        mapped, transcript_id, coder_id = self._mapped_coding(coding)
        start, end = mapped["span"]
        exact = self.aligners[coding["transcript_id"]].span(coding["start"], coding["end"])[2]
        new = {
            **coding,
            "transcript_id": transcript_id,
            "code_id": mapped["code"],
            "coder_id": coder_id,
            "start": start,
            "end": end,
            "status": mapped["status"],
        }
        new.pop("id")
        if not exact:
            self.count["codings.needs_review"] += 1
            self._report_review(coding, self.aligners[coding["transcript_id"]], start, end)
        elif self.aligners[coding["transcript_id"]].ops:
            self.count["codings.reanchored"] += 1
        else:
            self.count["codings.added"] += 1
        return new

    def _report_review(self, coding: Any, aligner: Aligner, start: int, end: int) -> None:
        transcript = self.s.get_one(Transcript, coding["transcript_id"])
        self.report.needs_review.append(
            {
                "uuid": coding["uuid"],
                "transcript": f"{transcript.participant.study_id}/{transcript.timepoint.key}",
                "code": self.source_tree.path(coding["code_id"]),
                "coder": self.s.get_one(Coder, coding["coder_id"]).name,
                "start": coding["start"],
                "end": coding["end"],
                "text": aligner.source[coding["start"] : coding["end"]],
                "placed_at": [start, end],
            }
        )

    # -- memos and history ----------------------------------------------------------------------

    def _target_id(self, target_type: str, source_id: int | None) -> int | None:
        maps = {
            "transcript": self.transcript_map,
            "participant": self.participant_map,
            "code": self.code_map,
            "coding": self.coding_map,
        }
        if target_type == "project" or source_id is None:
            return None
        return maps[target_type].get(source_id)

    def merge_memos(self) -> None:
        """Memos by UUID, three-way like codings: new ones added, edits since the last merge carried, a memo
        deleted there (its tombstone, and unchanged here) removed; both sides' texts are kept when both edited."""
        targets = {row["uuid"]: row for row in self.t.execute(select(Memo.__table__)).mappings()}
        baselines = merge_rows.load_baselines(self.t, self.replica, "memo")
        rows = list(self.s.execute(select(Memo.__table__).order_by(Memo.id)).mappings())
        deleted_here = merge_rows.tombstone_times(self.t, [m["uuid"] for m in rows if m["uuid"] not in targets])
        seen: dict[str, dict[str, Any]] = {}
        updates: dict[int, dict[str, Any]] = {}
        for memo in rows:
            image = merge_rows.memo_image(memo)
            seen[memo["uuid"]] = merge_rows.with_time(image, memo["updated_at"])
            current = targets.get(memo["uuid"])
            baseline = baselines.get(memo["uuid"])
            if current is not None:
                target = merge_rows.memo_image(current)
                result = merge_rows.resolve(
                    merge_rows.MEMO_FIELDS, image, image, target, baseline, memo["updated_at"], current["updated_at"]
                )
                if result.take:
                    updates[current["id"]] = result.take
                    self.count["memos.updated"] += 1
                    self.report.changes.append(f"memo {memo['title'] or current['id']!r}: edited there")
                if result.conflicts:
                    self.report.conflicts.append(
                        f"memo {memo['title'] or current['id']!r}: edited on both sides; both texts kept"
                    )
                continue
            uuid = memo["uuid"]
            if uuid in deleted_here and not merge_rows.changed_since(seen[uuid], baseline, deleted_here[uuid]):
                continue  # deleted here, not changed there since
            self._add_memo(memo)
        merge_rows.apply_updates(self.t, Memo, updates, dict)
        self.dirty_ids["memo"].update(updates)
        missing = [uuid for uuid in baselines if uuid not in seen]
        removed = []
        for uuid in merge_rows.tombstone_times(self.s, missing):
            current = targets.get(uuid)
            self.dropped_memo_baselines.add(uuid)
            if current is None:
                continue
            if merge_rows.same_fields(merge_rows.memo_image(current), baselines[uuid].target):
                removed.append(current["id"])
            else:
                self.report.conflicts.append(f"memo {current['title'] or current['id']!r}: deleted there; kept")
        for deleted in self.t.scalars(select(Memo).where(Memo.id.in_(removed))):
            self.t.delete(deleted)
        self.dirty_ids["memo"].update(removed)
        if removed:
            self.count["memos.removed"] += len(removed)
        self.t.flush()
        self.memo_seen = seen
        self.baselines["memo"], self.targets["memo"] = baselines, targets

    def _add_memo(self, memo: Any) -> None:
        target_id = self._target_id(memo["target_type"], memo["target_id"])
        if memo["target_type"] != "project" and target_id is None:
            self.report.conflicts.append(
                f"memo {memo['title'] or memo['uuid']!r}: its {memo['target_type']} is gone; kept as a project memo"
            )
        uuid = memo["uuid"] if self._uuid_free(Memo, memo["uuid"]) else None
        self.t.add(
            Memo(
                target_type=memo["target_type"] if target_id else "project",
                target_id=target_id,
                title=memo["title"],
                text=memo["text"],
                author=memo["author"],
                created_at=memo["created_at"],
                updated_at=memo["updated_at"],
                **({"uuid": uuid} if uuid else {}),
            )
        )
        self.dirty["memo"].add(memo["uuid"])
        self.count["memos.added"] += 1

    def record_baselines(self) -> None:
        """Remember what this merge saw of each coding and memo from this file, and what the target holds now.
        Baselines are only ever dropped for rows the source deleted (never for rows merely missing from it:
        another file with the same replica id may have sent them). Only rows this merge touched are read
        again; the others are as they were when the merge began."""
        self.t.flush()
        for kind, model, seen, image, dropped in (
            ("coding", Coding, self.coding_seen, merge_rows.coding_image, self.dropped_baselines),
            ("memo", Memo, self.memo_seen, merge_rows.memo_image, self.dropped_memo_baselines),
        ):
            table = model.__table__
            at_start = self.targets[kind]
            dirty = self.dirty[kind] | {uuid for uuid, row in at_start.items() if row["id"] in self.dirty_ids[kind]}
            now: dict[str, Any] = {uuid: row for uuid, row in at_start.items() if uuid in seen and uuid not in dirty}
            wanted = [uuid for uuid in seen if uuid in dirty or uuid not in at_start]
            for chunk in journal.chunks(wanted):
                for row in self.t.execute(select(table).where(table.c.uuid.in_(chunk))).mappings():
                    now[row["uuid"]] = row
            new = {
                uuid: (
                    merge_rows.encode(kind, source),
                    merge_rows.encode(kind, merge_rows.with_time(image(now[uuid]), now[uuid]["updated_at"]))
                    if uuid in now
                    else "[]",
                )
                for uuid, source in seen.items()
            }
            merge_rows.write_baselines(self.t, self.replica, kind, self.baselines[kind], new, drop=dropped)

    def _survivors(self, ids: set[int]) -> set[int]:
        """Of these coding ids, the ones still present (the kept side of each combination)."""
        found: set[int] = set()
        for chunk in journal.chunks(list(ids)):
            found.update(self.t.scalars(select(Coding.id).where(Coding.id.in_(chunk))))
        return found

    def merge_history(self) -> None:
        """The source's audit trail, as read-only entries (never replayed), each event once: events are known
        by their own uuid, so coders' files copied from one master bring their own steps and not the
        shared early ones twice."""
        known = set(self.t.scalars(select(Event.uuid)))
        origin = get_setting(self.s, "project_uuid")
        # Events merged by versions before event uuids are known by "<project>#<id>" only (their detail has no
        # "state"); copies of one master share that, so the marker is trusted for those old entries alone.
        seen_markers = {
            (e.detail or {}).get("origin_event")
            for e in self.t.scalars(select(Event).where(Event.operation.like("merged:%")))
            if "state" not in (e.detail or {})
        }
        for event in self.s.scalars(select(Event).order_by(Event.id)):
            if event.uuid in known or f"{origin}#{event.id}" in seen_markers:
                continue
            operation = event.operation if event.operation.startswith("merged:") else f"merged:{event.operation}"
            self.t.add(
                Event(
                    uuid=event.uuid,
                    at=event.at,
                    actor=event.actor,
                    operation=operation[:60],
                    summary=event.summary,
                    detail={"origin_event": f"{origin}#{event.id}", "state": event.state},
                    changes=None,
                    undoable=False,
                    state="done",
                )
            )
            known.add(event.uuid)
            self.count["history.copied"] += 1
