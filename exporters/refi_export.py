"""REFI-QDA export: a ``.qdpx`` project (QDA-XML 1.0 plus source texts) and a ``.qdc`` codebook.

What goes where (and why):

- coders are ``User``s, codes the ``CodeBook`` (hierarchy, colour, and a ``Description`` holding the
  definition followed by ``Inclusion:`` / ``Exclusion:`` / ``Example:`` paragraphs, which our importer reads
  back into their fields and other tools simply show);
- each transcript is a ``TextSource`` whose exact stored text is ``sources/<guid>.txt`` (UTF-8, no BOM), so
  code-point offsets need no convention guessing; each coding is one ``PlainTextSelection`` (coder as
  ``creatingUser``, the selected text shortened in ``name`` so importers can check themselves) with one
  ``Coding``;
- participants are ``Case``s with typed ``VariableValue``s for their attributes and a ``SourceRef`` per
  transcript; participant and timepoint also travel as source variables, and each timepoint is a ``Set``
  (key as name, label as description), so other tools can filter by wave;
- memos are ``Note``s attached by ``NoteRef`` (code and coding memo fields too).

GUIDs are the stored UUIDs; things without one get a UUID5 derived from a stable key
(``models.refi_conventions.derived_guid``), so two exports of the same project name everything the same
way. Elements follow the XSD sequences and no empty container is written. Characters XML 1.0 forbids
(from Word conversions) are stripped from XML text; the source ``.txt`` files are never altered, as
offsets count their characters.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.errors import WaveqdaError
from models.participants import attribute_definitions
from models.refi_conventions import (
    BOOLEAN_CHOICES,
    CHOICES_PREFIX,
    PARTICIPANT_VARIABLE,
    TIMEPOINT_VARIABLE,
    compose_description,
    derived_guid,
)
from models.schema import (
    AttributeDefinition,
    Coder,
    Coding,
    Memo,
    Participant,
    ParticipantAttribute,
    Timepoint,
    Transcript,
)
from models.store import Project, get_setting, timepoints
from models.transcripts import list_transcripts

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ORIGIN = "waveqda 0.1"
NAME_LIMIT = 80
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so an unchanged project exports to identical bytes

_ILLEGAL_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_RGB = re.compile(r"^#[0-9a-fA-F]{6}$")


# --- XML text ----------------------------------------------------------------------------------------------


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (NUL, most C0 controls, lone surrogates)."""
    return _ILLEGAL_XML.sub("", value)


def shorten(text: str, limit: int = NAME_LIMIT) -> str:
    """The selected text on one line, cut with an ellipsis when long (what a selection's ``name`` shows)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def xsd_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the report ---------------------------------------------------------------------------------------------


@dataclass
class ExportReport:
    """What an export wrote and what it could not carry over (the standard asks tools to say so)."""

    path: str = ""
    kind: str = "project"
    anonymised: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    not_carried: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        what = "REFI-QDA codebook" if self.kind == "codebook" else "REFI-QDA project"
        counted = ", ".join(f"{name}: {n}" for name, n in self.counts.items())
        head = f"Wrote {self.path} ({what}{', anonymised' if self.anonymised else ''}): {counted or 'empty'}"
        return [head, *(f"Not carried over: {item}" for item in self.not_carried)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "anonymised": self.anonymised,
            "counts": dict(self.counts),
            "not_carried": list(self.not_carried),
        }


# --- reading the project ------------------------------------------------------------------------------------


@dataclass
class _Data:
    """Everything an export needs, loaded in one read transaction."""

    name: str
    coders: list[Coder]
    tree: CodeTree
    definitions: list[AttributeDefinition]
    participants: list[Participant]
    values: dict[int, dict[int, str]]
    timepoints: list[Timepoint]
    transcripts: list[Transcript]
    codings: dict[int, list[Coding]]
    memos: dict[tuple[str, int | None], list[Memo]]


def _load(session: Session) -> _Data:
    values: dict[int, dict[int, str]] = defaultdict(dict)
    for row in session.scalars(select(ParticipantAttribute)):
        if row.value not in (None, ""):
            values[row.participant_id][row.attribute_id] = row.value
    codings: dict[int, list[Coding]] = defaultdict(list)
    for coding in session.scalars(select(Coding).order_by(Coding.transcript_id, Coding.start, Coding.end, Coding.id)):
        codings[coding.transcript_id].append(coding)
    memos: dict[tuple[str, int | None], list[Memo]] = defaultdict(list)
    for memo in session.scalars(select(Memo).order_by(Memo.id)):
        memos[(memo.target_type, memo.target_id)].append(memo)
    return _Data(
        name=str(get_setting(session, "name", "waveqda project")),
        coders=list(session.scalars(select(Coder).order_by(Coder.id))),
        tree=CodeTree.load(session),
        definitions=attribute_definitions(session),
        participants=list(session.scalars(select(Participant).order_by(Participant.study_id))),
        values=values,
        timepoints=timepoints(session),
        transcripts=list_transcripts(session),
        codings=codings,
        memos=memos,
    )


def _anonymiser(session: Session, anonymise: bool, anonymise_coders: bool = False) -> Any:
    from models.names import export_anonymiser

    return export_anonymiser(session, anonymise, anonymise_coders)


# --- building XML -------------------------------------------------------------------------------------------


class _Xml:
    """Element construction in one namespace, with every attribute and text made XML-safe."""

    def __init__(self, namespace: str) -> None:
        from lxml import etree

        self.etree = etree
        self.ns = namespace

    def root(self, tag: str, **attrs: str | None) -> Any:
        element = self.etree.Element(f"{{{self.ns}}}{tag}", nsmap={None: self.ns})
        self._set(element, attrs)
        return element

    def sub(self, parent: Any, tag: str, text: str | None = None, **attrs: str | None) -> Any:
        element = self.etree.SubElement(parent, f"{{{self.ns}}}{tag}")
        self._set(element, attrs)
        if text is not None:
            element.text = xml_text(text)
        return element

    def element(self, tag: str, **attrs: str | None) -> Any:
        """A detached element (a ``Note`` is built where its memo is met, then placed under ``Notes``)."""
        element = self.etree.Element(f"{{{self.ns}}}{tag}")
        self._set(element, attrs)
        return element

    @staticmethod
    def drop_if_empty(element: Any) -> None:
        """The XSD forbids empty containers (``<Users/>``): containers are made, filled, then dropped if empty."""
        if len(element) == 0:
            element.getparent().remove(element)

    @staticmethod
    def _set(element: Any, attrs: dict[str, str | None]) -> None:
        for key, value in attrs.items():
            if value is not None:
                element.set(key, xml_text(value))

    def serialise(self, element: Any) -> bytes:
        return self.etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class _ProjectWriter:
    """Builds ``project.qde`` and the source texts from the loaded project."""

    def __init__(self, data: _Data, replacer: Any, report: ExportReport, coder_names: dict[str, str]) -> None:
        self.data = data
        self.replacer = replacer
        self.anonymised = report.anonymised
        self.coder_names = coder_names  # name -> "Coder N" with --anonymise-coders (as in every export)
        self.report = report
        self.xml = _Xml(PROJECT_NS)
        self.notes: list[Any] = []
        self.project_notes: list[str] = []
        self.coder_guid = {c.id: c.uuid for c in data.coders}
        self.coder_by_name = {c.name: c.uuid for c in data.coders}
        self.sources: list[tuple[str, str]] = []

    def _clean(self, text: str) -> str:
        """Free text (names, descriptions, memos) through the name register when anonymising."""
        return self.replacer.replace(text) if self.replacer else text

    def build(self) -> Any:
        data = self.data
        root = self.xml.root("Project", name=data.name, origin=ORIGIN)
        self._users(root)
        self._codebook(root)
        self._variables(root)
        self._cases(root)
        self._sources(root)
        self._participant_and_project_notes()
        notes = self.xml.sub(root, "Notes")
        notes.extend(self.notes)
        self.xml.drop_if_empty(notes)
        self._sets(root)
        for guid in self.project_notes:
            self.xml.sub(root, "NoteRef", targetGUID=guid)
        self.report.counts.update(
            coders=len(data.coders),
            codes=len(data.tree.codes),
            sources=len(data.transcripts),
            codings=sum(len(v) for v in data.codings.values()),
            cases=len(data.participants),
            notes=len(self.notes),
            sets=len(data.timepoints),
        )
        self._note_losses()
        return root

    def _users(self, root: Any) -> None:
        users = self.xml.sub(root, "Users")
        for coder in self.data.coders:
            self.xml.sub(users, "User", guid=coder.uuid, name=self.coder_names.get(coder.name, coder.name))
        self.xml.drop_if_empty(users)

    def _codebook(self, root: Any) -> None:
        if not self.data.tree.codes:
            return
        codes = self.xml.sub(self.xml.sub(root, "CodeBook"), "Codes")
        for code_id in self.data.tree.children.get(None, []):
            self._code(codes, code_id)

    def _code(self, parent: Any, code_id: int) -> None:
        code = self.data.tree.codes[code_id]
        colour = code.colour if _RGB.match(code.colour or "") else None
        element = self.xml.sub(
            parent, "Code", guid=code.uuid, name=self._clean(code.name), isCodable="true", color=colour
        )
        description = compose_description(code)
        if description:
            self.xml.sub(element, "Description", self._clean(description))
        if code.memo.strip():
            self._note(element, derived_guid("code-memo", code.uuid), f"Code memo: {code.name}", code.memo)
        for memo in self.data.memos.get(("code", code.id), []):
            self._memo_note(element, memo)
        for child in self.data.tree.children.get(code_id, []):
            self._code(element, child)

    def _variables(self, root: Any) -> None:
        variables = self.xml.sub(root, "Variables")
        for definition in self.data.definitions:
            typ = _variable_type(definition)
            element = self.xml.sub(
                variables, "Variable", guid=definition.uuid, name=definition.name, typeOfVariable=typ
            )
            if definition.type == "choice" and typ == "Text":
                self.xml.sub(
                    element,
                    "Description",
                    CHOICES_PREFIX + json.dumps([self._clean(c) for c in definition.choices or []], ensure_ascii=False),
                )
        if self.data.transcripts:
            for label in (PARTICIPANT_VARIABLE, TIMEPOINT_VARIABLE):
                self.xml.sub(
                    variables,
                    "Variable",
                    guid=self._source_variable(label),
                    name=self._variable_name(label),
                    typeOfVariable="Text",
                )
        self.xml.drop_if_empty(variables)

    def _variable_name(self, label: str) -> str:
        """The source variable's name, moved aside if a participant attribute already has it."""
        taken = {d.name.casefold() for d in self.data.definitions}
        return label if label.casefold() not in taken else f"{label} (waveqda)"

    @staticmethod
    def _source_variable(label: str) -> str:
        return derived_guid("source-variable", label.lower())

    def _cases(self, root: Any) -> None:
        cases = self.xml.sub(root, "Cases")
        by_participant: dict[int, list[Transcript]] = defaultdict(list)
        for transcript in self.data.transcripts:
            by_participant[transcript.participant_id].append(transcript)
        for participant in self.data.participants:
            case = self.xml.sub(cases, "Case", guid=participant.uuid, name=participant.study_id)
            for definition in self.data.definitions:
                value = self.data.values.get(participant.id, {}).get(definition.id)
                if value is not None:
                    self._attribute_value(case, definition, participant, value)
            for transcript in by_participant[participant.id]:
                self.xml.sub(case, "SourceRef", targetGUID=transcript.uuid)
        self.xml.drop_if_empty(cases)

    def _attribute_value(
        self, case: Any, definition: AttributeDefinition, participant: Participant, value: str
    ) -> None:
        typ = _variable_type(definition)
        converted = _typed_value(typ, value)
        if converted is None:
            self.report.not_carried.append(
                f"{participant.study_id}: {definition.name} = {value!r} is not a valid {typ} value"
            )
            return
        element = self.xml.sub(case, "VariableValue")
        self.xml.sub(element, "VariableRef", targetGUID=definition.uuid)
        self.xml.sub(element, f"{typ}Value", self._clean(converted) if typ == "Text" else converted)

    def _sources(self, root: Any) -> None:
        sources = self.xml.sub(root, "Sources")
        for transcript in self.data.transcripts:
            self._source(sources, transcript)
        self.xml.drop_if_empty(sources)

    def _source(self, parent: Any, transcript: Transcript) -> None:
        label = f"{transcript.participant.study_id}_{transcript.timepoint.key}"
        text, offsets = transcript.text, None
        if self.replacer:
            text, offsets = self.replacer.replace_mapped(text)
        self.sources.append((f"sources/{transcript.uuid}.txt", text))
        element = self.xml.sub(
            parent,
            "TextSource",
            guid=transcript.uuid,
            name=label if self.anonymised else transcript.title,
            plainTextPath=f"internal://{transcript.uuid}.txt",
            creationDateTime=xsd_datetime(transcript.imported_at),
        )
        for coding in self.data.codings.get(transcript.id, []):
            start, end = offsets.span(coding.start, coding.end) if offsets else (coding.start, coding.end)
            self._selection(element, coding, text, start, end)
        for memo in self.data.memos.get(("transcript", transcript.id), []):
            self._memo_note(element, memo)
        self._source_value(element, PARTICIPANT_VARIABLE, transcript.participant.study_id)
        self._source_value(element, TIMEPOINT_VARIABLE, transcript.timepoint.key)

    def _source_value(self, parent: Any, label: str, value: str) -> None:
        element = self.xml.sub(parent, "VariableValue")
        self.xml.sub(element, "VariableRef", targetGUID=self._source_variable(label))
        self.xml.sub(element, "TextValue", value)

    def _selection(self, parent: Any, coding: Coding, text: str, start: int, end: int) -> None:
        coder = self.coder_guid[coding.coder_id]
        selection = self.xml.sub(
            parent,
            "PlainTextSelection",
            guid=derived_guid("selection", coding.uuid),
            name=None if self.anonymised else shorten(text[start:end]),
            startPosition=str(start),
            endPosition=str(end),
            creatingUser=coder,
            creationDateTime=xsd_datetime(coding.created_at),
            modifyingUser=coder,
            modifiedDateTime=xsd_datetime(coding.updated_at),
        )
        element = self.xml.sub(
            selection, "Coding", guid=coding.uuid, creatingUser=coder, creationDateTime=xsd_datetime(coding.created_at)
        )
        self.xml.sub(element, "CodeRef", targetGUID=self.data.tree.codes[coding.code_id].uuid)
        if coding.memo.strip():
            self._note(element, derived_guid("coding-memo", coding.uuid), "Coding memo", coding.memo)
        for memo in self.data.memos.get(("coding", coding.id), []):
            self._memo_note(element, memo)

    def _sets(self, root: Any) -> None:
        if not self.data.timepoints:
            return
        sets = self.xml.sub(root, "Sets")
        members: dict[int, list[str]] = defaultdict(list)
        for transcript in self.data.transcripts:
            members[transcript.timepoint_id].append(transcript.uuid)
        for timepoint in self.data.timepoints:
            element = self.xml.sub(sets, "Set", guid=derived_guid("timepoint", timepoint.key), name=timepoint.key)
            self.xml.sub(element, "Description", timepoint.label)
            for guid in members[timepoint.id]:
                self.xml.sub(element, "MemberSource", targetGUID=guid)

    def _participant_and_project_notes(self) -> None:
        """Project memos, and participant memos (a REFI-QDA case cannot hold a note) on the project."""
        known = {p.id: p.study_id for p in self.data.participants}
        attached = {("code", c) for c in self.data.tree.codes}
        attached |= {("transcript", t.id) for t in self.data.transcripts}
        attached |= {("coding", c.id) for rows in self.data.codings.values() for c in rows}
        moved = 0
        for (target_type, target_id), memos in self.data.memos.items():
            if (target_type, target_id) in attached:
                continue
            for memo in memos:
                prefix = ""
                if target_type == "participant":
                    prefix = f"{known.get(target_id or 0, 'participant')}: "
                    moved += 1
                self.project_notes.append(self._note(None, memo.uuid, prefix + (memo.title or "Memo"), memo.text, memo))
        if moved:
            self.report.not_carried.append(
                f"{moved} participant memos are written as project notes named after the participant "
                "(REFI-QDA cases cannot hold notes)"
            )

    def _memo_note(self, parent: Any, memo: Memo) -> None:
        self._note(parent, memo.uuid, memo.title or "Memo", memo.text, memo)

    def _note(self, parent: Any, guid: str, name: str, text: str, memo: Memo | None = None) -> str:
        """Add a ``Note`` (and a ``NoteRef`` to it under ``parent`` when given); return its GUID."""
        note = self.xml.element("Note", guid=guid, name=self._clean(name))
        if memo is not None:
            note.attrib.update(
                {
                    key: value
                    for key, value in (
                        ("creatingUser", self.coder_by_name.get(memo.author)),
                        ("creationDateTime", xsd_datetime(memo.created_at)),
                        ("modifiedDateTime", xsd_datetime(memo.updated_at)),
                    )
                    if value
                }
            )
        self.xml.sub(note, "PlainTextContent", self._clean(text))
        self.notes.append(note)
        if parent is not None:
            self.xml.sub(parent, "NoteRef", targetGUID=guid)
        return guid

    def _note_losses(self) -> None:
        data, lost = self.data, self.report.not_carried
        if data.transcripts:
            lost.append("speaker turns and sentences: REFI-QDA has no turn structure (the labels stay in the text)")
        all_codings = [c for rows in data.codings.values() for c in rows]
        key_quotes = sum(1 for c in all_codings if c.key_quote)
        if key_quotes:
            lost.append(f"{key_quotes} key-quote marks (REFI-QDA has no such flag)")
        review = sum(1 for c in all_codings if c.status != "ok")
        if review:
            lost.append(f"{review} 'needs review' marks on codings")
        archived = sum(1 for c in data.tree.codes.values() if c.archived)
        if archived:
            lost.append(f"{archived} codes are archived here; they are exported as ordinary codes")
        if self.anonymised:
            lost.append("source titles and selection names (anonymised export)")
        if self.coder_names:
            lost.append("coder names: written as Coder 1, Coder 2… (--anonymise-coders)")


def _variable_type(definition: AttributeDefinition) -> str:
    if definition.type == "number":
        return "Float"
    if definition.type == "date":
        return "Date"
    if definition.type == "choice" and sorted(definition.choices or []) == BOOLEAN_CHOICES:
        return "Boolean"
    return "Text"


def _typed_value(typ: str, value: str) -> str | None:
    """The value in its XSD lexical form, or None if it does not fit the type."""
    value = value.strip()
    if typ == "Float":
        try:
            number = Decimal(value.replace(",", ""))
        except InvalidOperation:
            return None
        return format(number, "f") if number.is_finite() else None
    if typ == "Date":
        from datetime import date

        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    if typ == "Boolean":
        return value.lower() if value.lower() in BOOLEAN_CHOICES else None
    return value


# --- writing files ------------------------------------------------------------------------------------------


def _atomic_write(out_path: Path, write: Any) -> None:
    """Write owner-only through a temporary file beside the target, so a failed export never leaves half a
    file."""
    from models.project_file import write_private

    write_private(Path(out_path), write)


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def export_qdpx(
    project: Project,
    out_path: Path | str,
    anonymise: bool = False,
    report: ExportReport | None = None,
    anonymise_coders: bool = False,
) -> ExportReport:
    """Write the whole project as a REFI-QDA ``.qdpx``; ``anonymise`` applies the name register (and
    participants' own names) and drops source titles and selection names; ``anonymise_coders`` names the
    coders "Coder N" as every other export does."""
    from models.names import coder_pseudonyms

    report = report if report is not None else ExportReport()
    report.kind, report.anonymised, report.path = "project", anonymise, str(out_path)
    with project.read() as session:
        data = _load(session)
        coder_names = coder_pseudonyms(session) if anonymise_coders else {}
        writer = _ProjectWriter(data, _anonymiser(session, anonymise, anonymise_coders), report, coder_names)
        root = writer.build()
    qde = writer.xml.serialise(root)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as archive:
            _zip_entry(archive, "project.qde", qde)
            for name, text in writer.sources:
                _zip_entry(archive, name, text.encode("utf-8"))

    _atomic_write(Path(out_path), write)
    return report


def export_qdc(project: Project, out_path: Path | str, report: ExportReport | None = None) -> ExportReport:
    """Write the codebook alone as a REFI-QDA ``.qdc`` (codes, hierarchy, descriptions, colours)."""
    report = report if report is not None else ExportReport()
    report.kind, report.path = "codebook", str(out_path)
    xml = _Xml(CODEBOOK_NS)
    with project.read() as session:
        tree = CodeTree.load(session)
        memo_count = sum(1 for c in tree.codes.values() if c.memo.strip())
        memo_count += len(list(session.scalars(select(Memo.id).where(Memo.target_type == "code"))))
    if not tree.codes:
        raise WaveqdaError("the codebook is empty: nothing to export (add codes first)")
    root = xml.root("CodeBook", origin=ORIGIN)
    codes = xml.sub(root, "Codes")
    for code_id in tree.children.get(None, []):
        _codebook_code(xml, codes, tree, code_id)
    report.counts["codes"] = len(tree.codes)
    if memo_count:
        report.not_carried.append(f"{memo_count} code memos (a .qdc codebook has no notes; use a .qdpx)")
    archived = sum(1 for c in tree.codes.values() if c.archived)
    if archived:
        report.not_carried.append(f"{archived} codes are archived here; they are exported as ordinary codes")
    data = xml.serialise(root)
    _atomic_write(Path(out_path), lambda tmp: tmp.write_bytes(data))
    return report


def _codebook_code(xml: _Xml, parent: Any, tree: CodeTree, code_id: int) -> None:
    code = tree.codes[code_id]
    colour = code.colour if _RGB.match(code.colour or "") else None
    element = xml.sub(parent, "Code", guid=code.uuid, name=code.name, isCodable="true", color=colour)
    description = compose_description(code)
    if description:
        xml.sub(element, "Description", description)
    for child in tree.children.get(code_id, []):
        _codebook_code(xml, element, tree, child)
