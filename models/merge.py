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

from models import journal, search_index
from models.codes import CodeTree, split_path
from models.errors import WaveqdaError
from models.schema import (
    AttributeDefinition,
    Code,
    Coder,
    Coding,
    Event,
    Memo,
    Participant,
    ParticipantAttribute,
    Sentence,
    Timepoint,
    Transcript,
    Turn,
)
from models.store import Project, get_setting, open_project, project_uuid, remove_database_files

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
    proposals: list[dict[str, Any]] = field(default_factory=list)
    needs_review: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "counts": dict(sorted(self.counts.items())),
            "conflicts": self.conflicts,
            "fuzzy_proposals": self.proposals,
            "needs_review": self.needs_review,
        }


@dataclass
class MergeReport:
    target: str
    dry_run: bool
    sources: list[SourceReport] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        added = ("added", "created", "applied", "copied", "reanchored", "needs_review", "memo_notes")
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
            out.extend(f"  conflict: {c}" for c in src.conflicts)
            for item in src.needs_review:
                out.append(
                    f"  needs review: coding {item['uuid']} ({item['code']}, {item['coder']}) "
                    f"in {item['transcript']}: {item['text']!r}"
                )
        if not self.changed:
            out.append("Nothing new to merge.")
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
        return new_start, new_end, exact


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
    """Merge ``sources`` into ``target`` (created if missing, with the first source's timepoints)."""
    from models.store import create_project

    target_path = Path(target)
    mapping = read_mapping(mapping_file)
    if not sources:
        raise WaveqdaError("name at least one SOURCE project to merge")
    for src in sources:
        if Path(src).resolve() == target_path.resolve():
            raise WaveqdaError(f"{src}: cannot merge a project into itself")
    opened: list[Project] = []
    created = False
    try:
        for src in sources:
            opened.append(open_project(src))
        if target_path.exists():
            project = open_project(target_path)
        else:
            if dry_run:
                raise WaveqdaError(f"{target_path}: does not exist yet; a dry run needs an existing target")
            with opened[0].read() as s:
                tps = [(t.key, t.label) for t in s.scalars(select(Timepoint).order_by(Timepoint.position))]
                name = get_setting(s, "name")
            project = create_project(target_path, tps, name)
            created = True
        try:
            return _merge_into(
                project, opened, [str(s) for s in sources], actor, dry_run, mapping, accept_fuzzy, threshold
            )
        finally:
            project.close()
    except Exception:
        if created:
            remove_database_files(target_path)
        raise
    finally:
        for src in opened:
            src.close()


def _merge_into(
    project: Project,
    sources: list[Project],
    names: list[str],
    actor: str,
    dry_run: bool,
    mapping: dict[tuple[str, ...], str],
    accept_fuzzy: bool,
    threshold: float,
) -> MergeReport:
    report = MergeReport(str(project.path or project.url), dry_run)
    summary = "Merged " + ", ".join(Path(n).name for n in names)
    try:
        with project.change(actor, "project.merge", summary) as session:
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
        self.buffer: journal.ChangeBuffer = target.info[journal.BUFFER_KEY]
        self.timepoint_map: dict[int, int] = {}
        self.coder_map: dict[int, int] = {}
        self.participant_map: dict[int, int] = {}
        self.code_map: dict[int, int] = {}
        self.transcript_map: dict[int, int] = {}
        self.coding_map: dict[int, int] = {}
        self.aligners: dict[int, Aligner] = {}

    def run(self) -> None:
        self.merge_timepoints()
        self.merge_coders()
        self.merge_participants()
        self.merge_codes()
        self.merge_transcripts()
        self.merge_codings()
        self.merge_memos()
        self.merge_history()
        self.t.flush()

    # -- small entities -------------------------------------------------------------------------

    def _uuid_free(self, model: type, uuid: str) -> bool:
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
                found = Coder(uuid=coder.uuid, name=coder.name, created_at=coder.created_at)
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

    def _merge_value(self, definition: AttributeDefinition, row: ParticipantAttribute) -> None:
        participant_id = self.participant_map[row.participant_id]
        current = self.t.get(ParticipantAttribute, (participant_id, definition.id))
        if current is None:
            self.t.add(ParticipantAttribute(participant_id=participant_id, attribute_id=definition.id, value=row.value))
            self.count["attribute_values.added"] += 1
        elif (current.value or "") != (row.value or ""):
            study_id = self.t.get(Participant, participant_id).study_id
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
                target = self.t.get(Code, self.code_map[code_id])
                if target.merged_into_id is None and target.id != self.code_map[code.merged_into_id]:
                    target.merged_into_id = self.code_map[code.merged_into_id]

    def _match_or_create_code(self, source_tree: CodeTree, code: Code) -> int:
        tree = self.tree
        path = source_tree.path(code.id)
        by_uuid = self.by_uuid.get(code.uuid)
        if by_uuid is not None:
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
            name=code.name,
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
        self.buffer.add("transcripts", {"id": copy.id}, None, journal.row_image(copy))
        for model in (Turn, Sentence):  # one executemany per table, journalled by hand
            table = model.__table__
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
            # The transcript is new, so all its rows are these, and ids ascend in insertion order.
            ids = self.t.scalars(select(table.c.id).where(table.c.transcript_id == copy.id).order_by(table.c.id))
            for row_id, row in zip(ids.all(), rows, strict=True):
                self.buffer.add(table.name, {"id": row_id}, None, journal.image({"id": row_id, **row}))
        search_index.reindex_transcript(self.t, copy.id)
        return copy

    # -- codings --------------------------------------------------------------------------------

    def merge_codings(self) -> None:
        """Each source coding once: known by UUID, or by its exact place, else added (re-anchored if needed).

        Rows, not ORM objects: a coder's file holds tens of thousands of codings. New codings go in with one
        executemany and are journalled by hand (as ``journal.set_column`` does), so undo still removes them.
        """
        uuid_to_id = {u: i for u, i in self.t.execute(select(Coding.uuid, Coding.id))}
        # Where each (transcript, code, coder, start, end) already stands: a coding's id, or a uuid added below.
        existing: dict[tuple, int | str] = {
            tuple(row[:5]): row[5]
            for row in self.t.execute(
                select(Coding.transcript_id, Coding.code_id, Coding.coder_id, Coding.start, Coding.end, Coding.id)
            )
        }
        table = Coding.__table__
        columns = [c.name for c in table.columns if c.name != "id"]
        same_place: list[tuple[int, tuple]] = []
        added: list[tuple[int, dict[str, Any]]] = []
        source_rows = self.s.execute(select(table.c.id, *(table.c[n] for n in columns)).order_by(table.c.id))
        for row in source_rows.mappings():
            if row["uuid"] in uuid_to_id:
                self.coding_map[row["id"]] = uuid_to_id[row["uuid"]]
                self.count["codings.already_present"] += 1
                continue
            new, key = self._new_coding(row, existing)
            if new is None:
                same_place.append((row["id"], key))
            else:
                added.append((row["id"], new))
        if added:
            self.t.execute(insert(table), [new for _source_id, new in added])
        new_ids = self._ids_by_uuid([new["uuid"] for _source_id, new in added])
        for source_id, new in added:
            row_id = new_ids[new["uuid"]]
            self.coding_map[source_id] = row_id
            self.buffer.add("codings", {"id": row_id}, None, journal.image({"id": row_id, **new}))
        for source_id, key in same_place:  # its memos attach to the coding already in that place
            found = existing[key]
            self.coding_map[source_id] = found if isinstance(found, int) else new_ids[found]

    def _ids_by_uuid(self, uuids: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in journal.chunks(uuids):
            out.update(self.t.execute(select(Coding.uuid, Coding.id).where(Coding.uuid.in_(chunk))).tuples().all())
        return out

    def _new_coding(self, coding: Any, existing: dict[tuple, int | str]) -> tuple[dict[str, Any] | None, tuple]:
        transcript_id = self.transcript_map[coding["transcript_id"]]
        aligner = self.aligners[coding["transcript_id"]]
        start, end, exact = aligner.span(coding["start"], coding["end"])
        key = (transcript_id, self.code_map[coding["code_id"]], self.coder_map[coding["coder_id"]], start, end)
        if exact and key in existing:
            self.count["codings.already_present"] += 1
            return None, key
        new = {
            **coding,
            "transcript_id": transcript_id,
            "code_id": key[1],
            "coder_id": key[2],
            "start": start,
            "end": end,
            "status": coding["status"] if exact else "needs_review",
        }
        new.pop("id")
        existing.setdefault(key, new["uuid"])
        if not exact:
            self.count["codings.needs_review"] += 1
            self._report_review(coding, aligner, start, end)
        elif aligner.ops:
            self.count["codings.reanchored"] += 1
        else:
            self.count["codings.added"] += 1
        return new, key

    def _report_review(self, coding: Any, aligner: Aligner, start: int, end: int) -> None:
        transcript = self.s.get(Transcript, coding["transcript_id"])
        self.report.needs_review.append(
            {
                "uuid": coding["uuid"],
                "transcript": f"{transcript.participant.study_id}/{transcript.timepoint.key}",
                "code": CodeTree.load(self.s).path(coding["code_id"]),
                "coder": self.s.get(Coder, coding["coder_id"]).name,
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
        existing = set(self.t.scalars(select(Memo.uuid)))
        for memo in self.s.scalars(select(Memo).order_by(Memo.id)):
            if memo.uuid in existing:
                continue
            target_id = self._target_id(memo.target_type, memo.target_id)
            if memo.target_type != "project" and target_id is None:
                self.report.conflicts.append(
                    f"memo {memo.title or memo.uuid!r}: its {memo.target_type} is gone; kept as a project memo"
                )
            self.t.add(
                Memo(
                    uuid=memo.uuid,
                    target_type=memo.target_type if target_id else "project",
                    target_id=target_id,
                    title=memo.title,
                    text=memo.text,
                    author=memo.author,
                    created_at=memo.created_at,
                    updated_at=memo.updated_at,
                )
            )
            self.count["memos.added"] += 1

    def merge_history(self) -> None:
        """The source's audit trail, as read-only entries tagged with their origin (never replayed)."""
        origin = project_uuid(self.s) if get_setting(self.s, "project_uuid") else None
        if origin is None:
            return
        seen = {
            (e.detail or {}).get("origin_event")
            for e in self.t.scalars(select(Event).where(Event.operation.like("merged:%")))
        }
        for event in self.s.scalars(select(Event).order_by(Event.id)):
            marker = f"{origin}#{event.id}"
            if marker in seen or event.operation.startswith("merged:"):
                continue
            self.t.add(
                Event(
                    at=event.at,
                    actor=event.actor,
                    operation=f"merged:{event.operation}"[:60],
                    summary=event.summary,
                    detail={"origin_event": marker},
                    changes=None,
                    undoable=False,
                    state="done",
                )
            )
            self.count["history.copied"] += 1
