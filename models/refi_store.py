"""Storing a placed REFI-QDA document: the write stage of the import, in one ``Project.change`` transaction
(logged, not undoable, like every import).

Identity: coders, codes, transcripts, codings and memos keep the file's GUIDs as UUIDs where valid and
free, so a re-export names them the same. Because producers re-mint GUIDs on every export, things are also
matched by content: coders by name, codes by path, transcripts by text, codings by (transcript, span,
code, coder). Importing the same file twice therefore adds nothing the second time. What cannot be carried
over is written to the report, never dropped silently.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from models import journal, tombstones
from models.codes import CodeTree
from models.errors import WaveqdaError
from models.refi_conventions import BOOLEAN_CHOICES, CHOICES_PREFIX, derived_guid, parse_description, study_id_from
from models.refi_document import (
    TEXT_SOURCE,
    PlacedSource,
    RefiCase,
    RefiCode,
    RefiCoding,
    RefiDocument,
    RefiPlan,
    RefiSelection,
    RefiValue,
    RefiVariable,
    normalise_guid,
    source_codings,
)
from models.refi_report import ImportReport, SourceReport
from models.schema import (
    AttributeDefinition,
    Code,
    Coder,
    Coding,
    Memo,
    Participant,
    Tombstone,
    Transcript,
    new_uuid,
    table_of,
    utcnow,
)
from models.sentence_worker import SentenceWorker
from models.store import Project, get_setting
from models.transcripts import store_transcript, text_sha256, turn_texts

UNKNOWN_CODER = "unknown coder"
# a new coding's row as ``RefiWriter._coding`` builds it
_CODING_COLUMNS = ("uuid", "transcript_id", "code_id", "coder_id", "start", "end", "memo", "key_quote", "status",
                   "created_at", "updated_at")  # fmt: skip
# the Participant / Timepoint variables our own exports put on sources: placement, not attributes
_OUR_SOURCE_VARIABLES = {derived_guid("source-variable", label.lower()) for label in ("Participant", "Timepoint")}


def store_refi(
    project: Project,
    doc: RefiDocument,
    plan: RefiPlan,
    report: ImportReport,
    actor: str,
    file_name: str,
    sentences: SentenceWorker | None = None,
) -> None:
    """Write ``doc`` as ``plan`` places it, all in one transaction; fills ``report``. With ``sentences`` (a
    worker process), the transcripts' sentences are split there while this process stores."""
    with project.change(actor, "refi.import", f"Imported {file_name}", undoable=False) as session:
        if sentences is not None:
            model = get_setting(session, "spacy_model")
            jobs = [(*turn_texts(p.parsed), model) for p in plan.sources if p.parsed.text.strip()]
            sentences.split_ahead(jobs)
        writer = RefiWriter(session, doc, plan, report, actor, sentences)
        writer.write_coders()
        writer.write_codes()
        writer.write_sources()
        writer.write_cases()
        writer.write_memos()
        writer.save_coding_memos()
        writer.note_skipped()
        c = report.counts
        session.info["summary"] = (
            f"Imported {file_name}: {c['transcripts_added']} transcripts, "
            f"{c['codes_added']} codes, {c['codings_added']} codings"
        )
        session.info["detail"] = {"file": file_name, "origin": doc.origin, "counts": dict(c)}


@dataclass(slots=True)
class NewCoding:
    """A coding this import adds: its row goes in with one executemany per transcript, not as an ORM object
    (50,000 ORM inserts cost half the import). ``memo`` is what the file's notes give it; written at the end
    by ``save_coding_memos``."""

    uuid: str
    id: int = 0
    memo: str = ""


CodingRow = Coding | NewCoding


class RefiWriter:
    """Writes a checked, placed document into one open transaction."""

    def __init__(
        self,
        session: Session,
        doc: RefiDocument,
        plan: RefiPlan,
        report: ImportReport,
        actor: str,
        sentences: SentenceWorker | None = None,
    ) -> None:
        self.session = session
        self.sentences = sentences
        self.doc = doc
        self.plan = plan
        self.report = report
        self.actor = actor
        self.coders: dict[str, Coder] = {}
        self.codes: dict[str, Code] = {}
        self.transcripts: dict[str, Transcript] = {}
        self.codings: dict[str, CodingRow] = {}
        self.first_coding_of: dict[str, CodingRow] = {}
        self.new_codings: dict[int, NewCoding] = {}  # by id
        self.uncoded: set[int] = set()  # transcripts this import just added, before their codings
        self._now = utcnow()
        # codings deleted in this project before (a re-imported one loses its tombstone, as on an ORM insert)
        self._tombstones = session.scalar(select(Tombstone.uuid).limit(1)) is not None
        self.code_by_uuid: dict[str, Code] = {}
        self.known_participants = set(session.scalars(select(Participant.id)))
        self.nvivo = "nvivo" in doc.origin.casefold()
        self._palette: list[str] | None = None
        self._taken_uuids: dict[Any, set[str]] = {}
        self._used_colours: set[str] = set()
        self._cycled = 0
        # what ``_coding`` looks up for every coding, once per code and per (selection, coding) user pair
        self._code_ids: dict[str, int] = {}
        self._coder_ids: dict[tuple[str | None, str | None], int] = {}
        self._bind: dict[str, Any] | None = None
        self._dates: dict[str, dict[int, tuple[Any, Any]]] = {}

    def _uuid_for(self, model: Any, guid: str) -> str:
        """The file's GUID as our UUID when it is a valid one that is still free, else a new one. The
        table's UUIDs are read once per import (a query per row made large files slow)."""
        taken = self._taken_uuids.get(model)
        if taken is None:
            taken = self._taken_uuids[model] = set(self.session.scalars(select(model.uuid)))
        valid = normalise_guid(guid)
        chosen = valid if valid and valid not in taken else new_uuid()
        taken.add(chosen)
        return chosen

    # coders -------------------------------------------------------------------------------------------------
    def write_coders(self) -> None:
        for key, name in self.doc.users.items():
            self.coders[key] = self._coder(key, name or f"user {key[:8]}")

    def _coder(self, key: str, name: str) -> Coder:
        valid = normalise_guid(key)
        found = self.session.scalar(select(Coder).where(Coder.uuid == valid)) if valid else None
        found = found or self.session.scalar(select(Coder).where(Coder.name == name[:200]))
        if found is not None:
            self.report.counts["coders_matched"] += 1
            return found
        coder = Coder(uuid=self._uuid_for(Coder, key), name=name[:200])
        self.session.add(coder)
        self.session.flush()
        self.report.counts["coders_added"] += 1
        return coder

    def coder_for(self, selection: RefiSelection | None, coding: RefiCoding) -> Coder:
        """NVivo puts the coder on the selection (its Coding@creatingUser is the code's creator); other
        producers put it on the coding."""
        order = (selection.user if selection else None, coding.user)
        if not self.nvivo:
            order = order[::-1]
        key = next((k for k in order if k), None)
        if key is None:
            if UNKNOWN_CODER not in self.coders:
                self.coders[UNKNOWN_CODER] = self._coder("", UNKNOWN_CODER)
            return self.coders[UNKNOWN_CODER]
        return self.coders[key]

    # codes --------------------------------------------------------------------------------------------------
    def write_codes(self) -> None:
        """The file's codebook, matched to the project's by GUID, else by name under an existing parent;
        written a level at a time (one flush per level gives the next level its parents' ids), so a
        100,000-code file costs a handful of batched inserts rather than one round trip per code."""
        tree = CodeTree.load(self.session)
        self.code_by_uuid = {code.uuid: code for code in tree.codes.values()}
        level: list[tuple[RefiCode, Code | None, bool]] = [(node, None, True) for node in self.doc.codes]
        while level:
            names: dict[int, set[str]] = defaultdict(set)
            positions: dict[int, int] = {}
            following: list[tuple[RefiCode, Code | None, bool]] = []
            for node, parent, existing_parent in level:
                group = id(parent)
                if group not in positions:
                    parent_id = parent.id if parent is not None else None
                    positions[group] = len(tree.children.get(parent_id, [])) if existing_parent else 0
                code, existed = self._code(node, parent, tree, existing_parent, names[group], positions[group])
                if not existed:
                    positions[group] += 1
                self.codes[node.guid] = code
                following.extend((child, code, existed) for child in node.children)
            self.session.flush()
            level = following
        not_codable = sum(1 for c in self.doc.all_codes() if not c.codable)
        if not_codable:
            self.report.not_carried.append(f"{not_codable} codes marked not codable (all codes are codable here)")

    def _code(
        self,
        node: RefiCode,
        parent: Code | None,
        tree: CodeTree,
        existing_parent: bool,
        names: set[str],
        position: int,
    ) -> tuple[Code, bool]:
        parent_id = parent.id if parent is not None else None
        found = self.code_by_uuid.get(normalise_guid(node.guid) or "")
        name = _code_name(node.name, names)
        if found is None and existing_parent:
            found = tree.child_named(parent_id, name)
        if found is not None:
            self.report.counts["codes_matched"] += 1
            names.add(found.name.casefold())
            return found, True
        fields = parse_description(node.description)
        code = Code(
            uuid=self._uuid_for(Code, node.guid),
            parent_id=parent_id,
            name=name,
            position=position,
            colour=_colour(node.colour) or self._next_colour(),
            **fields,
        )
        self.session.add(code)
        names.add(name.casefold())
        self.report.counts["codes_added"] += 1
        return code, False

    def _next_colour(self) -> str:
        """The first palette colour no code uses yet, then the palette in turn: the codebook's colours are
        read once per import (reading them per code made a 100,000-code import quadratic)."""
        if self._palette is None:
            from models.codebook import project_palette

            self._palette = project_palette(self.session)
            self._used_colours = {
                c.lower() for c in self.session.scalars(select(Code.colour).where(Code.archived.is_(False)))
            }
        free = next((c for c in self._palette if c not in self._used_colours), None)
        if free is None:
            free = self._palette[self._cycled % len(self._palette)]
            self._cycled += 1
        self._used_colours.add(free)
        return free

    # sources and codings ------------------------------------------------------------------------------------
    def write_sources(self) -> None:
        for placed in self.plan.sources:
            source, placement, text = placed.source, placed.placement, placed.parsed.text
            entry = SourceReport(
                source.name,
                f"{placement.participant}/{placement.timepoint}",
                placement.how,
                source.text_from,
                placed.convention,
                placed.selection_count,
                placed.on_boundaries,
            )
            self.report.sources.append(entry)
            if not text.strip():
                n = len(source_codings(source))
                self.report.not_carried.append(f"source {source.name!r} is empty ({n} codings)")
                continue
            existing = self.session.scalar(select(Transcript).where(Transcript.sha256 == text_sha256(text)))
            if existing is not None:
                self.report.counts["transcripts_reused"] += 1
                entry.placed_as = f"{existing.participant.study_id}/{existing.timepoint.key}"
                entry.placed_by = "same text already in the project"
                transcript = existing
            else:
                stored = store_transcript(
                    self.session, placed.parsed, placement.participant, placement.timepoint, self.actor,
                    split=self.sentences,
                )  # fmt: skip
                assert stored.transcript is not None  # a new text is never skipped
                transcript = stored.transcript
                transcript.uuid = self._uuid_for(Transcript, source.guid)
                self.uncoded.add(transcript.id)
                self.report.counts["transcripts_added"] += 1
            self.transcripts[source.guid] = transcript
            entry.codings = self._write_codings(placed, transcript)

    def _write_codings(self, placed: PlacedSource, transcript: Transcript) -> int:
        """Codings keyed by (span, code, coder): a key met again (in the file or already in the project)
        is not added twice, but its notes still attach to the coding that has it."""
        # a coding this import added already (another source with the same text) stays its NewCoding
        seen: dict[tuple, CodingRow] = {}
        if transcript.id in self.uncoded:
            self.uncoded.discard(transcript.id)  # just added: nothing to read
        else:
            seen = {
                (c.start, c.end, c.code_id, c.coder_id): self.new_codings.get(c.id, c)
                for c in self.session.scalars(select(Coding).where(Coding.transcript_id == transcript.id))
            }
        present = set(seen)
        rows: list[tuple[Any, ...]] = []
        added: list[NewCoding] = []
        for found in placed.selections:
            if found.span is None:
                self.report.unfit.append(found.problem or "")
                continue
            if found.status == "needs_review":
                self.report.review.append(found.problem or "")
            for coding in found.selection.codings:
                new = self._coding(transcript, found.selection, coding, found.span, found.status, seen, present)
                if new is not None:
                    added.append(new[0])
                    rows.append(new[1])
        self._insert_codings(transcript, rows, added)
        return len(rows)

    def _insert_codings(self, transcript: Transcript, rows: list[tuple[Any, ...]], added: list[NewCoding]) -> None:
        """One executemany for a transcript's new codings, done as an ORM flush would do it: their ids read
        back, tombstones of re-imported UUIDs lifted, row images journalled when the change is undoable."""
        if not rows:
            return
        table = table_of(Coding)
        journal.insert_values(self.session, table.name, list(_CODING_COLUMNS), [self._driver_row(r) for r in rows])
        self._dates.clear()  # a transcript's dates are its own: the cache stays small (a large file's is 10 MB)
        if self._tombstones:
            tombstones.unbury(self.session, [row[0] for row in rows])
        ids = dict(
            self.session.execute(select(Coding.uuid, Coding.id).where(Coding.transcript_id == transcript.id))
            .tuples()
            .all()
        )
        buffer = self.session.info.get(journal.BUFFER_KEY)
        for row, new in zip(rows, added, strict=True):
            new.id = ids[new.uuid]
            self.new_codings[new.id] = new
            if buffer is not None:
                image = journal.image({"id": new.id, **dict(zip(_CODING_COLUMNS, row, strict=True))})
                buffer.add(table.name, {"id": new.id}, None, image)

    def _driver_row(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """A coding row (``_CODING_COLUMNS``) as the driver takes it: the values whose column type converts
        (the flag, the dates) through that conversion, as ``journal.insert_rows`` would pass them.

        Why not ``insert_rows``: formatting a date is most of that conversion, and a large file's 50,000
        codings share a few thousand date objects (the parse gives a selection and its codings one object
        per date written): each object is formatted once."""
        if self._bind is None:
            dialect = self.session.connection().dialect
            columns = table_of(Coding).c
            self._bind = {name: columns[name].type._cached_bind_processor(dialect) for name in _CODING_COLUMNS}
        flag = self._bind["key_quote"]
        return (
            *row[:7],
            flag(row[7]) if flag is not None else row[7],
            row[8],
            self._driver_date("created_at", row[9]),
            self._driver_date("updated_at", row[10]),
        )

    def _driver_date(self, column: str, value: Any) -> Any:
        cache = self._dates.setdefault(column, {})
        hit = cache.get(id(value))
        if hit is None:  # the object is kept in the entry, so its id cannot be reused while it is cached
            process = cast(dict[str, Any], self._bind)[column]
            hit = cache[id(value)] = (value, process(value) if process is not None else value)
        return hit[1]

    def _coding(
        self,
        transcript: Transcript,
        selection: RefiSelection,
        coding: RefiCoding,
        span: tuple[int, int],
        status: str,
        seen: dict[tuple, CodingRow],
        present: set[tuple],
    ) -> tuple[NewCoding, tuple[Any, ...]] | None:
        """A new coding and its row (``_CODING_COLUMNS``), or None when its key is already there (its notes
        go to that coding)."""
        code_id = self._code_ids.get(coding.code)
        if code_id is None:
            code_id = self._code_ids[coding.code] = self.codes[coding.code].id
        users = (selection.user, coding.user)
        coder_id = self._coder_ids.get(users)
        if coder_id is None:
            coder_id = self._coder_ids[users] = self.coder_for(selection, coding).id
        key = (span[0], span[1], code_id, coder_id)
        if key in seen:
            self.report.counts["codings_present" if key in present else "codings_duplicate"] += 1
            self._remember(selection, coding, seen[key])
            return None
        created = coding.created or selection.created
        new = NewCoding(self._uuid_for(Coding, coding.guid))
        seen[key] = new
        self._remember(selection, coding, new)
        self.report.counts["codings_added"] += 1
        updated = (selection.modified or created) if created is not None else self._now
        row = (
            new.uuid,
            transcript.id,
            code_id,
            coder_id,
            span[0],
            span[1],
            "",
            False,
            status,
            created or self._now,
            updated,
        )
        return new, row

    def save_coding_memos(self) -> None:
        """Write the memos the file's notes gave to new codings (one executemany), journalled as an ORM
        update would be."""
        changed = [new for new in self.new_codings.values() if new.memo]
        if not changed:
            return
        table = table_of(Coding)
        stmt = update(table).where(table.c.id == bindparam("b_id")).values(memo=bindparam("memo"))
        self.session.execute(stmt, [{"b_id": new.id, "memo": new.memo} for new in changed])
        buffer = self.session.info.get(journal.BUFFER_KEY)
        if buffer is not None:
            for new in changed:
                buffer.add(table.name, {"id": new.id}, {"memo": ""}, {"memo": new.memo})

    def _remember(self, selection: RefiSelection, coding: RefiCoding, row: CodingRow) -> None:
        """Where the notes of this coding and of its selection go."""
        self.codings.setdefault(coding.guid, row)
        if selection.guid:
            self.first_coding_of.setdefault(selection.guid, row)

    # participants and attributes ----------------------------------------------------------------------------
    def write_cases(self) -> None:
        """Case variables become attribute definitions (in the file's order, values or not), cases become
        participants with those attributes; then source variables and sets become participant attributes.
        Each mapping is listed in the report."""
        source_variables = {v.variable for s in self.doc.sources for v in s.values}
        definitions: dict[str, AttributeDefinition | None] = {}
        for key, variable in self.doc.variables.items():
            if key not in source_variables:
                definitions[key] = definition = self._definition(variable)
                if definition is not None:
                    self.report.mapped.append(
                        f"case variable {variable.name!r} ({variable.type}) -> participant attribute "
                        f"{definition.name!r} ({definition.type})"
                    )
        for case in self.doc.cases:
            participant = self._case_participant(case)
            if participant is None:
                continue
            self.report.counts["participants"] += 1
            for value in case.values:
                found = definitions.get(value.variable)
                if found is not None:
                    self._attribute(participant, found, value)
            if case.description.strip():
                self._memo(
                    derived_guid("description", case.guid),
                    "participant",
                    participant.id,
                    "Description",
                    case.description,
                    None,
                    None,
                )
        self._source_variables(source_variables - self.plan.used_variables - _OUR_SOURCE_VARIABLES)
        self._sets()

    def _source_variables(self, keys: set[str]) -> None:
        """A source's variables describe its participant at its timepoint: a value every source of a
        participant shares becomes the participant's attribute ``NAME``; values that differ between a
        participant's timepoints become ``NAME (T1)``, ``NAME (T2)``... (scores per wave)."""
        for key in sorted(keys, key=lambda k: self.doc.variables[k].name.casefold()):
            variable = self.doc.variables[key]
            values: dict[int, dict[str, RefiValue]] = defaultdict(dict)
            for source in self.doc.text_sources():
                transcript = self.transcripts.get(source.guid)
                for value in source.values:
                    if transcript is not None and value.variable == key and value.value:
                        values[transcript.participant_id][transcript.timepoint.key] = value
            if not values:
                continue
            agree = all(len({v.value for v in by_time.values()}) == 1 for by_time in values.values())
            if agree:
                definition = self._definition(variable)
                if definition is None:
                    continue
                for participant_id, by_time in values.items():
                    participant = self.session.get_one(Participant, participant_id)
                    self._attribute(participant, definition, next(iter(by_time.values())))
                self.report.mapped.append(
                    f"source variable {variable.name!r} ({variable.type}) -> participant attribute "
                    f"{definition.name!r} ({definition.type})"
                )
                continue
            timepoint_keys = sorted({t for by_time in values.values() for t in by_time})
            for timepoint_key in timepoint_keys:
                per_wave = replace(
                    variable,
                    guid=derived_guid("source-variable", f"{variable.guid}/{timepoint_key}"),
                    name=f"{variable.name} ({timepoint_key})",
                )
                definition = self._definition(per_wave)
                if definition is None:
                    continue
                for participant_id, by_time in values.items():
                    if timepoint_key in by_time:
                        participant = self.session.get_one(Participant, participant_id)
                        self._attribute(participant, definition, by_time[timepoint_key])
            shown = ", ".join(repr(f"{variable.name} ({t})") for t in timepoint_keys)
            self.report.mapped.append(
                f"source variable {variable.name!r} ({variable.type}), different per timepoint -> participant "
                f"attributes {shown}"
            )

    def _sets(self) -> None:
        """Sets that name no timepoint: a set of sources becomes a participant group, the yes/no attribute
        ``Set: NAME`` (true for the participants of its sources, false for the file's other participants);
        a set of codes or notes only is reported."""
        placed = {t.participant_id for t in self.transcripts.values()}
        for item in self.doc.sets:
            if item.name not in self.plan.unused_sets:
                continue
            members = {self.transcripts[g].participant_id for g in item.sources if g in self.transcripts}
            if not members:
                self.report.not_carried.append(
                    f"set {item.name!r}: holds {len(item.codes)} codes and {len(item.notes)} notes, no text "
                    "sources (sets of codes are not kept)"
                )
                continue
            group = RefiVariable(derived_guid("set", item.guid), f"Set: {item.name}"[:200], "Boolean", "")
            definition = self._definition(group)
            if definition is None:
                continue
            for participant_id in sorted(placed):
                participant = self.session.get_one(Participant, participant_id)
                flag = "true" if participant_id in members else "false"
                self._attribute(participant, definition, RefiValue(group.guid, "BooleanValue", flag))
            who = sorted(self.session.get_one(Participant, p).study_id for p in members)
            self.report.mapped.append(
                f"set {item.name!r} -> participant group {definition.name!r} (true for {', '.join(who)})"
            )

    def _case_participant(self, case: RefiCase) -> Participant | None:
        """The participant a case stands for: the one its sources were placed at, else its name."""
        owners = {self.transcripts[s].participant_id for s in case.sources if s in self.transcripts}
        if len(owners) > 1:
            self.report.not_carried.append(f"case {case.name!r} spans several participants: its values were skipped")
            return None
        if owners:
            participant = self.session.get_one(Participant, owners.pop())
        else:
            study_id = study_id_from(case.name)
            if not study_id:
                self.report.not_carried.append(f"a case without a usable name ({case.guid})")
                return None
            from models.participants import get_or_create_participant

            participant = get_or_create_participant(self.session, study_id)
        if participant.id not in self.known_participants:  # new here: keep the case's identity
            participant.uuid = self._uuid_for(Participant, case.guid)
            self.known_participants.add(participant.id)
        return participant

    def _definition(self, variable: RefiVariable) -> AttributeDefinition | None:
        from models.participants import define_attribute

        typ, choices = _attribute_type(variable)
        name = variable.name[:200] or "Variable"
        existed = self.session.scalar(select(AttributeDefinition.id).where(AttributeDefinition.name == name))
        try:
            definition = define_attribute(self.session, name, typ, choices)
        except WaveqdaError as exc:
            self.report.not_carried.append(f"variable {name!r}: {exc}")
            return None
        if existed is None:
            definition.uuid = self._uuid_for(AttributeDefinition, variable.guid)
        return definition

    def _attribute(self, participant: Participant, definition: AttributeDefinition, value: RefiValue) -> None:
        from models.participants import set_attribute

        text = value.value
        if definition.type == "choice" and sorted(definition.choices or []) == BOOLEAN_CHOICES:
            text = text.lower()
        if value.kind == "DateTimeValue" and definition.type == "date":
            text = text[:10]
        try:
            set_attribute(self.session, participant, definition, text)
        except WaveqdaError as exc:
            self.report.not_carried.append(f"{participant.study_id}: {exc}")
            return
        self.report.counts["attribute_values"] += 1

    # memos --------------------------------------------------------------------------------------------------
    def write_memos(self) -> None:
        targets = self._note_targets()
        for key, note in self.doc.notes.items():
            found = targets.get(key, [("project", None, None)])
            if len(found) > 1:
                self.report.not_carried.append(
                    f"note {note.name!r} is attached to {len(found)} things; kept on the first"
                )
            target_type, target_id, field_owner = found[0]
            if field_owner is not None:
                self._memo_field(field_owner, note.text)
                continue
            author = self.doc.users.get(note.user or "", "")
            self._memo(note.guid, target_type, target_id, note.name, note.text, author, note.created)
        self._descriptions()

    def _memo_field(self, owner: Code | CodingRow, text: str) -> None:
        """Our own export's code and coding memo fields come back into the fields (never over another memo)."""
        if not owner.memo.strip():
            owner.memo = text
            self.report.counts["memos_added"] += 1
        elif owner.memo.strip() != text.strip():
            what = f"code {owner.name!r}" if isinstance(owner, Code) else f"coding {owner.uuid}"
            self.report.not_carried.append(f"the memo of {what}: the project already has a different one")

    def _note_targets(self) -> dict[str, list[tuple[str, int | None, Code | CodingRow | None]]]:
        targets: dict[str, list[tuple[str, int | None, Code | CodingRow | None]]] = defaultdict(list)
        for node in self.doc.all_codes():
            code = self.codes[node.guid]
            for note in node.notes:
                own = note == derived_guid("code-memo", node.guid)
                targets[note].append(("code", code.id, code if own else None))
        for source in self.doc.text_sources():
            transcript = self.transcripts.get(source.guid)
            fallback = ("transcript", transcript.id, None) if transcript else ("project", None, None)
            for note in source.notes:
                targets[note].append(fallback)
            for selection in source.selections:
                first = self.first_coding_of.get(selection.guid)
                for note in selection.notes:
                    targets[note].append(("coding", first.id, None) if first else fallback)
            for coding in source_codings(source):
                row = self.codings.get(coding.guid)
                for note in coding.notes:
                    own = row is not None and note == derived_guid("coding-memo", coding.guid)
                    targets[note].append(("coding", row.id, row if own else None) if row else fallback)
        for note in self.doc.project_notes:
            targets[note].append(("project", None, None))
        return targets

    def _descriptions(self) -> None:
        """Descriptions on sources, selections and the project are memos too (some producers use them so)."""
        for source in self.doc.text_sources():
            transcript = self.transcripts.get(source.guid)
            if transcript is not None and source.description.strip():
                self._memo(
                    derived_guid("description", source.guid),
                    "transcript",
                    transcript.id,
                    "Description",
                    source.description,
                    None,
                    None,
                )
            for selection in source.selections:
                first = self.first_coding_of.get(selection.guid)
                if first is None or not selection.description.strip():
                    continue
                if not first.memo.strip():  # a selection's description is its coding's memo (QualCoder, ATLAS.ti)
                    first.memo = selection.description.strip()
                    self.report.counts["memos_added"] += 1
                elif first.memo.strip() != selection.description.strip():
                    self._memo(
                        derived_guid("description", selection.guid),
                        "coding",
                        first.id,
                        "Description",
                        selection.description,
                        None,
                        None,
                    )
        if self.doc.description.strip():
            self._memo(
                derived_guid("description", "project"),
                "project",
                None,
                "Project description",
                self.doc.description,
                None,
                None,
            )

    def _memo(
        self,
        guid: str,
        target_type: str,
        target_id: int | None,
        title: str,
        text: str,
        author: str | None,
        created: datetime | None,
    ) -> None:
        valid = normalise_guid(guid)
        if valid and self.session.scalar(select(Memo.id).where(Memo.uuid == valid)) is not None:
            return  # imported before
        memo = Memo(
            uuid=valid or new_uuid(),
            target_type=target_type,
            target_id=target_id,
            title=title[:300],
            text=text,
            author=(author or "")[:200],
        )
        if created is not None:
            memo.created_at = memo.updated_at = created
        self.session.add(memo)
        self.report.counts["memos_added"] += 1

    def note_skipped(self) -> None:
        doc = self.doc
        others = Counter(s.kind for s in doc.sources if s.kind != TEXT_SOURCE)
        for kind, n in sorted(others.items()):
            codings = sum(s.other_codings for s in doc.sources if s.kind == kind)
            self.report.not_carried.append(
                f"{n} {kind} sources with {codings} codings (only text sources are imported)"
            )
        for what, n in sorted(doc.skipped.items()):
            if n:
                self.report.not_carried.append(f"{n} {what}")


def _code_name(name: str, taken: set[str]) -> str:
    """A name the codebook accepts: one line, no ``/`` (the path separator), not only digits, unique among
    its siblings in this import."""
    clean = " ".join(name.split()).replace("/", "-")[:280] or "Unnamed code"
    if clean.isdigit():
        clean = f"Code {clean}"
    candidate, n = clean, 2
    while candidate.casefold() in taken:
        candidate, n = f"{clean} ({n})", n + 1
    return candidate


def _colour(value: str | None) -> str | None:
    value = (value or "").strip()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        value = "#" + "".join(ch * 2 for ch in value[1:])
    return value.lower() if re.fullmatch(r"#[0-9a-fA-F]{6}", value) else None


def _attribute_type(variable: RefiVariable) -> tuple[str, list[str] | None]:
    """Our attribute type for a REFI-QDA variable type; a Boolean becomes a false/true choice."""
    import json

    typ = variable.type.strip()
    if typ in ("Integer", "Float"):
        return "number", None
    if typ in ("Date", "DateTime"):
        return "date", None
    if typ == "Boolean":
        return "choice", list(BOOLEAN_CHOICES)
    description = variable.description.strip()
    if description.startswith(CHOICES_PREFIX):
        try:
            choices = json.loads(description[len(CHOICES_PREFIX) :])
        except ValueError:
            choices = None
        if isinstance(choices, list) and all(isinstance(c, str) for c in choices):
            return "choice", choices
    return "text", None
