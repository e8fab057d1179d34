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
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exporters.refi_clients import DEFAULT_CLIENT, Client, client
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
    with_memo,
)
from models.schema import (
    AttributeDefinition,
    Coder,
    Coding,
    Event,
    Measure,
    Memo,
    Participant,
    ParticipantAttribute,
    Score,
    Timepoint,
    Transcript,
)
from models.store import Project, get_setting, timepoints
from models.transcripts import list_transcripts

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ORIGIN = "waveqda 0.1"
NAME_LIMIT = 80
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_LEVEL = 1  # fixed, so an unchanged project exports to identical bytes

_ILLEGAL_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_RGB = re.compile(r"^#[0-9a-fA-F]{6}$")
_NEWLINE = re.compile("\n")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 code units each (emoji...)
# Project > CodeBook > Codes > Code...: libxml2 refuses documents nested deeper than 256 elements, and a
# code's Description / NoteRef sit one level below it.
MAX_CODE_DEPTH = 250


# --- XML text ----------------------------------------------------------------------------------------------


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (NUL, most C0 controls, lone surrogates)."""
    return _ILLEGAL_XML.sub("", value)


def shorten(text: str, limit: int = NAME_LIMIT) -> str:
    """The selected text on one line, cut with an ellipsis when long (what a selection's ``name`` shows)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def xsd_datetime(value: datetime | None) -> str | None:
    """An XSD dateTime in UTC (stored times are naive UTC), to the second."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(sep="T", timespec="seconds") + "Z"


# --- the report ---------------------------------------------------------------------------------------------


@dataclass
class ExportReport:
    """What an export wrote and what it could not carry over (the standard asks tools to say so)."""

    path: str = ""
    kind: str = "project"
    anonymised: bool = False
    client: str = "standard"
    counts: dict[str, int] = field(default_factory=dict)
    not_carried: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        what = "REFI-QDA codebook" if self.kind == "codebook" else "REFI-QDA project"
        counted = ", ".join(f"{name}: {n}" for name, n in self.counts.items())
        for_client = f" for {self.client}" if self.kind == "project" and self.client != "standard" else ""
        anonymised = ", anonymised" if self.anonymised else ""
        head = f"Wrote {self.path} ({what}{for_client}{anonymised}): {counted or 'empty'}"
        return [head, *(f"Not carried over: {item}" for item in self.not_carried)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "anonymised": self.anonymised,
            "for": self.client,
            "counts": dict(self.counts),
            "not_carried": list(self.not_carried),
        }


# --- reading the project ------------------------------------------------------------------------------------


@dataclass
class _Data:
    """Everything an export needs, loaded in one read transaction. Codings are plain rows (Core), not ORM
    objects: a 50,000-coding project exports without building 50,000 mapped instances."""

    name: str
    coders: list[Coder]
    tree: CodeTree
    definitions: list[AttributeDefinition]
    participants: list[Participant]
    values: dict[int, dict[int, str]]
    timepoints: list[Timepoint]
    transcripts: list[Transcript]
    codings: dict[int, list[Any]]
    memos: dict[tuple[str, int | None], list[Memo]]
    created: datetime | None = None
    modified: datetime | None = None
    creator: str | None = None  # who made the first change (a name; a User only when a coder has it)
    # questionnaire scores as (participant id, measure name, measure uuid, timepoint key, value)
    scores: list[tuple[int, str, str, str, float]] = field(default_factory=list)


_CODING_COLUMNS = (
    Coding.id,
    Coding.uuid,
    Coding.transcript_id,
    Coding.code_id,
    Coding.coder_id,
    Coding.start,
    Coding.end,
    Coding.memo,
    Coding.key_quote,
    Coding.status,
    Coding.created_at,
    Coding.updated_at,
)


def _load(session: Session) -> _Data:
    values: dict[int, dict[int, str]] = defaultdict(dict)
    for row in session.scalars(select(ParticipantAttribute)):
        if row.value not in (None, ""):
            values[row.participant_id][row.attribute_id] = row.value
    codings: dict[int, list[Any]] = defaultdict(list)
    ordered = select(*_CODING_COLUMNS).order_by(Coding.transcript_id, Coding.start, Coding.end, Coding.id)
    for coding in session.execute(ordered):
        codings[coding.transcript_id].append(coding)
    memos: dict[tuple[str, int | None], list[Memo]] = defaultdict(list)
    for memo in session.scalars(select(Memo).order_by(Memo.id)):
        memos[(memo.target_type, memo.target_id)].append(memo)
    first, last = session.execute(select(func.min(Event.at), func.max(Event.at))).one()
    score_rows = session.execute(
        select(Score.participant_id, Measure.name, Measure.uuid, Timepoint.key, Score.value)
        .join(Measure, Measure.id == Score.measure_id)
        .join(Timepoint, Timepoint.id == Score.timepoint_id)
        .order_by(Measure.name, Timepoint.position)
    )
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
        created=first,
        modified=last,
        creator=session.scalar(select(Event.actor).order_by(Event.id).limit(1)),
        scores=[(pid, name, uuid, key, value) for pid, name, uuid, key, value in score_rows],
    )


def _anonymiser(session: Session, anonymise: bool, anonymise_coders: bool = False) -> Any:
    from models.names import export_anonymiser

    return export_anonymiser(session, anonymise, anonymise_coders)


def code_depth(tree: CodeTree) -> int:
    """How many levels the codebook has (1 for a flat one), walked without recursion."""
    deepest, stack = 0, [(code_id, 1) for code_id in tree.children.get(None, [])]
    while stack:
        code_id, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in tree.children.get(code_id, []))
    return deepest


def check_depth(tree: CodeTree) -> None:
    """A codebook deeper than XML parsers read (libxml2, and so lxml and our own importer, stop at 256 nested
    elements) is refused before any work, rather than written to a file nobody can open."""
    depth = code_depth(tree)
    if depth > MAX_CODE_DEPTH:
        raise WaveqdaError(
            f"the codebook is {depth} levels deep; a REFI-QDA file can hold at most {MAX_CODE_DEPTH} "
            "(XML readers stop at 256 nested elements): move some codes up first"
        )


# --- offsets in a client's convention -----------------------------------------------------------------------


class ClientText:
    """A transcript's text as written for one client, and our code-point offsets in that client's units.

    Each character is one unit except where the client counts more: a line end written as CRLF is 2, and a
    character beyond the BMP is 2 UTF-16 code units. ``offset(i)`` adds up those extras before ``i``.
    """

    def __init__(self, text: str, profile: Client) -> None:
        self.text = text.replace("\n", profile.newline) if profile.newline != "\n" else text
        extra: list[int] = []
        if profile.newline == "\r\n":
            extra.extend(match.start() for match in _NEWLINE.finditer(text))
        if profile.unit == "utf16":
            extra.extend(match.start() for match in _ASTRAL.finditer(text))
        self.extra = sorted(extra)

    def offset(self, index: int) -> int:
        return index + bisect_left(self.extra, index) if self.extra else index

    def data(self, profile: Client) -> bytes:
        return (b"\xef\xbb\xbf" if profile.bom else b"") + self.text.encode("utf-8")


# --- building XML -------------------------------------------------------------------------------------------


class _Xml:
    """Element construction in one namespace, with every attribute and text made XML-safe."""

    def __init__(self, namespace: str) -> None:
        from lxml import etree

        self.etree = etree
        self.ns = namespace

    def tag(self, local: str) -> str:
        return f"{{{self.ns}}}{local}"

    def root(self, tag: str, **attrs: str | None) -> Any:
        element = self.etree.Element(self.tag(tag), nsmap={None: self.ns})
        self._set(element, attrs)
        return element

    def sub(self, parent: Any, tag: str, text: str | None = None, **attrs: str | None) -> Any:
        element = self.etree.SubElement(parent, self.tag(tag))
        self._set(element, attrs)
        if text is not None:
            element.text = xml_text(text)
        return element

    def element(self, tag: str, **attrs: str | None) -> Any:
        """A detached element (written whole into the stream, or placed later)."""
        element = self.etree.Element(self.tag(tag), nsmap={None: self.ns})
        self._set(element, attrs)
        return element

    @staticmethod
    def clean(attrs: dict[str, str | None]) -> dict[str, str]:
        return {key: xml_text(value) for key, value in attrs.items() if value is not None}

    @classmethod
    def _set(cls, element: Any, attrs: dict[str, str | None]) -> None:
        for key, value in cls.clean(attrs).items():
            element.set(key, value)

    def serialise(self, element: Any) -> bytes:
        return self.etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclass
class _Note:
    """A ``Note`` to write under ``Notes`` once the sources are written (small: kept until then)."""

    guid: str
    name: str
    text: str
    user: str | None
    created: datetime | None
    modified: datetime | None
    journal: bool  # not a coding annotation: a client reading journals from files gets a file


class _ProjectWriter:
    """Streams ``project.qde`` (one section, or one source, in memory at a time) and the
    source texts, in one client's convention, from the loaded project."""

    def __init__(
        self, data: _Data, replacer: Any, report: ExportReport, coder_names: dict[str, str], profile: Client
    ) -> None:
        self.data = data
        self.replacer = replacer
        self.anonymised = report.anonymised
        self.coder_names = coder_names  # name -> "Coder N" with --anonymise-coders (as in every export)
        self.report = report
        self.profile = profile
        self.xml = _Xml(PROJECT_NS)
        self.notes: list[_Note] = []
        self.project_notes: list[str] = []
        self.coder_guid = {c.id: c.uuid for c in data.coders}
        self.coder_by_name = {c.name: c.uuid for c in data.coders}
        self.now = datetime.now(UTC).replace(microsecond=0)

    def _clean(self, text: str) -> str:
        """Free text (names, descriptions, memos) through the name register when anonymising."""
        return self.replacer.replace(text) if self.replacer else text

    def write(self, archive: zipfile.ZipFile) -> None:
        """The source files, then ``project.qde`` streamed into the archive."""
        texts = self._source_files(archive)
        with archive.open(_zip_info("project.qde"), "w") as stream:
            self._project(stream, texts)
        for note in self.notes if self.profile.note_files else []:
            if note.journal:
                _zip_entry(archive, f"sources/{note.guid}.txt", self._clean(note.text).encode("utf-8"))
        self._count()
        self._note_losses()

    def _source_files(self, archive: zipfile.ZipFile) -> dict[int, tuple[ClientText, Any]]:
        """Each transcript's text as the client reads it (anonymised when asked), written as it goes."""
        texts: dict[int, tuple[ClientText, Any]] = {}
        for transcript in self.data.transcripts:
            text, offsets = transcript.text, None
            if self.replacer:
                text, offsets = self.replacer.replace_mapped(text)
            written = ClientText(text, self.profile)
            _zip_entry(archive, f"sources/{transcript.uuid}.txt", written.data(self.profile))
            written.text = ""  # the bytes are in the archive; offsets only need ``extra``
            texts[transcript.id] = (written, (offsets, text))
        return texts

    def _project(self, stream: Any, texts: dict[int, tuple[ClientText, Any]]) -> None:
        """``project.qde`` written piece by piece: each section serialised by lxml, each source (the bulk:
        50,000 selections in a large project) as escaped text, one source in memory at a time."""
        data = self.data
        origin = ORIGIN if self.profile.key == DEFAULT_CLIENT else f"{ORIGIN} (for {self.profile.label})"
        root = self.xml.element(
            "Project",
            name=data.name,
            origin=origin,
            creatingUserGUID=self.coder_by_name.get(data.creator or ""),
            creationDateTime=xsd_datetime(data.created),
            modifiedDateTime=xsd_datetime(data.modified),
        )
        opening = self.xml.etree.tostring(root, encoding="UTF-8", xml_declaration=True)
        stream.write(opening.rstrip().removesuffix(b"/>") + b">\n")
        for section in (self._users(), self._codebook(), self._variables(), self._cases()):
            self._emit(stream, section)
        if data.transcripts:
            stream.write(b"<Sources>\n")
            for transcript in data.transcripts:
                stream.write(self._source(transcript, *texts[transcript.id]).encode("utf-8"))
            stream.write(b"</Sources>\n")
        self._participant_and_project_notes()
        self._emit(stream, self._notes())
        self._emit(stream, self._sets())
        for guid in self.project_notes:
            stream.write(f"{_note_ref(guid)}\n".encode())
        stream.write(b"</Project>\n")

    def _emit(self, stream: Any, element: Any) -> None:
        if element is not None:
            stream.write(self.xml.etree.tostring(element, encoding="UTF-8", pretty_print=True))

    def _count(self) -> None:
        data = self.data
        self.report.counts.update(
            coders=len(data.coders),
            codes=len(data.tree.codes),
            sources=len(data.transcripts),
            codings=sum(len(v) for v in data.codings.values()),
            cases=len(data.participants),
            notes=len(self.notes),
            sets=len(data.timepoints),
        )

    def _users(self) -> Any:
        if not self.data.coders:
            return None
        users = self.xml.element("Users")
        for coder in self.data.coders:
            self.xml.sub(users, "User", guid=coder.uuid, name=self.coder_names.get(coder.name, coder.name))
        return users

    def _codebook(self) -> Any:
        if not self.data.tree.codes:
            return None
        book = self.xml.element("CodeBook")
        codes = self.xml.sub(book, "Codes")
        stack = [(codes, code_id) for code_id in reversed(self.data.tree.children.get(None, []))]
        while stack:  # depth-first in codebook order, without recursion
            parent, code_id = stack.pop()
            element = self._code(parent, code_id)
            stack.extend((element, child) for child in reversed(self.data.tree.children.get(code_id, [])))
        return book

    def _code(self, parent: Any, code_id: int) -> Any:
        code = self.data.tree.codes[code_id]
        colour = code.colour if _RGB.match(code.colour or "") else None
        element = self.xml.sub(
            parent, "Code", guid=code.uuid, name=self._clean(code.name), isCodable="true", color=colour
        )
        description = compose_description(code)
        if self.profile.memo_descriptions and code.memo.strip():
            description = with_memo(description, code.memo)
        if description:
            self.xml.sub(element, "Description", self._clean(description))
        if code.memo.strip() and not self.profile.memo_descriptions:
            guid = derived_guid("code-memo", code.uuid)
            self._note(element, guid, f"Code memo: {code.name}", code.memo, None, code.created_at)
        for memo in self.data.memos.get(("code", code.id), []):
            self._memo_note(element, memo)
        return element

    def _variables(self) -> Any:
        variables = self.xml.element("Variables")
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
        for measure, measure_uuid, key in dict.fromkeys((m, u, k) for _p, m, u, k, _v in self.data.scores):
            element = self.xml.sub(
                variables, "Variable", guid=_score_variable(measure_uuid, key), name=f"{measure} {key}",
                typeOfVariable="Float",
            )  # fmt: skip
            self.xml.sub(element, "Description", f"waveqda score: {measure} at {key}")
        if self.data.transcripts:
            for label in (PARTICIPANT_VARIABLE, TIMEPOINT_VARIABLE):
                self.xml.sub(
                    variables,
                    "Variable",
                    guid=self._source_variable(label),
                    name=self._variable_name(label),
                    typeOfVariable="Text",
                )
        return variables if len(variables) else None

    def _variable_name(self, label: str) -> str:
        """The source variable's name, moved aside if a participant attribute already has it."""
        taken = {d.name.casefold() for d in self.data.definitions}
        return label if label.casefold() not in taken else f"{label} (waveqda)"

    @staticmethod
    def _source_variable(label: str) -> str:
        return derived_guid("source-variable", label.lower())

    def _cases(self) -> Any:
        if not self.data.participants:
            return None
        cases = self.xml.element("Cases")
        by_participant: dict[int, list[Transcript]] = defaultdict(list)
        for transcript in self.data.transcripts:
            by_participant[transcript.participant_id].append(transcript)
        for participant in self.data.participants:
            case = self.xml.sub(cases, "Case", guid=participant.uuid, name=participant.study_id)
            for definition in self.data.definitions:
                value = self.data.values.get(participant.id, {}).get(definition.id)
                if value is not None:
                    self._attribute_value(case, definition, participant, value)
            for pid, _measure, measure_uuid, key, score in self.data.scores:
                if pid == participant.id:
                    element = self.xml.sub(case, "VariableValue")
                    self.xml.sub(element, "VariableRef", targetGUID=_score_variable(measure_uuid, key))
                    self.xml.sub(element, "FloatValue", _typed_value("Float", repr(score)) or "0")
            for transcript in by_participant[participant.id]:
                self.xml.sub(case, "SourceRef", targetGUID=transcript.uuid)
        return cases

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

    def _source(self, transcript: Transcript, written: ClientText, mapped: tuple[Any, str]) -> str:
        """One ``TextSource`` as XML text (the element order is the XSD's: selections, note refs, values)."""
        offsets, text = mapped
        label = f"{transcript.participant.study_id}_{transcript.timepoint.key}"
        attrs = _attributes(
            guid=transcript.uuid,
            name=label if self.anonymised else transcript.title,
            plainTextPath=f"internal://{transcript.uuid}.txt",
            creatingUser=self._first_coder(transcript),
            creationDateTime=xsd_datetime(transcript.imported_at),
        )
        parts = [f"<TextSource{attrs}>\n"]
        for coding in self.data.codings.get(transcript.id, []):
            start, end = offsets.span(coding.start, coding.end) if offsets else (coding.start, coding.end)
            parts.append(self._selection(coding, text, start, end, written))
        for memo in self.data.memos.get(("transcript", transcript.id), []):
            parts.append(_note_ref(self._memo_note(None, memo)))
        for variable, value in ((PARTICIPANT_VARIABLE, transcript.participant.study_id),
                                (TIMEPOINT_VARIABLE, transcript.timepoint.key)):  # fmt: skip
            parts.append(
                f'<VariableValue><VariableRef targetGUID="{self._source_variable(variable)}"/>'
                f"<TextValue>{_escape(value)}</TextValue></VariableValue>\n"
            )
        parts.append("</TextSource>\n")
        return "".join(parts)

    def _first_coder(self, transcript: Transcript) -> str | None:
        """Who imported a transcript, when that is a coder here (the XSD wants a User's GUID)."""
        return self.coder_by_name.get(transcript.imported_by)

    def _selection(self, coding: Any, text: str, start: int, end: int, written: ClientText) -> str:
        """One selection and its coding as XML text: the hot path of a large export (50,000 times), so it
        is formatted directly; only free text (the selected words, memos) is cleaned and escaped."""
        coder = self.coder_guid[coding.coder_id]
        created, modified = xsd_datetime(coding.created_at), xsd_datetime(coding.updated_at)
        name = "" if self.anonymised else f' name="{_escape(shorten(text[start:end]), attribute=True)}"'
        when = f' creationDateTime="{created}"' if created else ""
        changed = f' modifiedDateTime="{modified}"' if modified else ""
        parts = [
            f'<PlainTextSelection guid="{derived_guid("selection", coding.uuid)}"{name} '
            f'startPosition="{written.offset(start)}" endPosition="{written.offset(end)}" '
            f'creatingUser="{coder}"{when} modifyingUser="{coder}"{changed}>'
        ]
        if self.profile.memo_descriptions and coding.memo.strip():
            parts.append(f"<Description>{_escape(self._clean(coding.memo))}</Description>")
        parts.append(f'<Coding guid="{coding.uuid}" creatingUser="{coder}"{when}>')
        parts.append(f'<CodeRef targetGUID="{self.data.tree.codes[coding.code_id].uuid}"/>')
        if coding.memo.strip() and not self.profile.memo_descriptions:
            guid = derived_guid("coding-memo", coding.uuid)
            parts.append(
                _note_ref(self._note(None, guid, "Coding memo", coding.memo, coder, coding.updated_at, journal=False))
            )
        parts.append("</Coding>")
        for memo in self.data.memos.get(("coding", coding.id), []):
            # under the selection: where clients look for a selection's annotations (and ours reads it back)
            parts.append(_note_ref(self._memo_note(None, memo, journal=False)))
        parts.append("</PlainTextSelection>\n")
        return "".join(parts)

    def _sets(self) -> Any:
        if not self.data.timepoints:
            return None
        sets = self.xml.element("Sets")
        members: dict[int, list[str]] = defaultdict(list)
        for transcript in self.data.transcripts:
            members[transcript.timepoint_id].append(transcript.uuid)
        for timepoint in self.data.timepoints:
            element = self.xml.sub(sets, "Set", guid=derived_guid("timepoint", timepoint.key), name=timepoint.key)
            self.xml.sub(element, "Description", timepoint.label)
            for guid in members[timepoint.id]:
                self.xml.sub(element, "MemberSource", targetGUID=guid)
        return sets

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
                author = self.coder_by_name.get(memo.author)
                self.project_notes.append(
                    self._note(
                        None, memo.uuid, prefix + (memo.title or "Memo"), memo.text, author, memo.created_at,
                        memo.updated_at,
                    )
                )  # fmt: skip
        if moved:
            self.report.not_carried.append(
                f"{moved} participant memos are written as project notes named after the participant "
                "(REFI-QDA cases cannot hold notes)"
            )

    def _memo_note(self, parent: Any, memo: Memo, journal: bool = True) -> str:
        author = self.coder_by_name.get(memo.author)
        title = memo.title or "Memo"
        return self._note(parent, memo.uuid, title, memo.text, author, memo.created_at, memo.updated_at, journal)

    def _note(
        self,
        parent: Any,
        guid: str,
        name: str,
        text: str,
        user: str | None,
        created: datetime | None,
        modified: datetime | None = None,
        journal: bool = True,
    ) -> str:
        """Keep a ``Note`` for the ``Notes`` section (and add a ``NoteRef`` to it under ``parent`` when
        given); return its GUID. Every note is dated: clients (QualCoder) fail on notes without a date."""
        self.notes.append(_Note(guid, name, text, user, created or self.now, modified or created, journal))
        if parent is not None:
            self.xml.sub(parent, "NoteRef", targetGUID=guid)
        return guid

    def _notes(self) -> Any:
        if not self.notes:
            return None
        notes = self.xml.element("Notes")
        for note in self.notes:
            element = self.xml.sub(
                notes,
                "Note",
                guid=note.guid,
                name=self._clean(note.name),
                plainTextPath=f"internal://{note.guid}.txt" if self.profile.note_files and note.journal else None,
                creatingUser=note.user,
                creationDateTime=xsd_datetime(note.created),
                modifyingUser=note.user,
                modifiedDateTime=xsd_datetime(note.modified),
            )
            self.xml.sub(element, "PlainTextContent", self._clean(note.text))
        return notes

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


def _escape(value: str, attribute: bool = False) -> str:
    """Free text for XML written as text: illegal characters dropped, markup escaped (and, in an
    attribute, quotes and line ends as character references, so they survive attribute normalisation)."""
    value = xml_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        value = value.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    else:
        value = value.replace("\r", "&#13;")
    return value


def _attributes(**attrs: str | None) -> str:
    """`` key="value"``... for the attributes that have a value, escaped."""
    return "".join(f' {key}="{_escape(value, attribute=True)}"' for key, value in attrs.items() if value is not None)


def _note_ref(guid: str) -> str:
    return f'<NoteRef targetGUID="{guid}"/>'


def _score_variable(measure_uuid: str, timepoint: str) -> str:
    """A stable GUID for one measure at one timepoint (the same in every export of the project)."""
    return derived_guid("score-variable", f"{measure_uuid}:{timepoint}")


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


def _zip_info(name: str) -> zipfile.ZipInfo:
    """An entry with a fixed time (identical bytes for an unchanged project), deflated at level 1: about
    four times faster than the default level for a file a few percent larger."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    setattr(info, "_compresslevel", ZIP_LEVEL)  # noqa: B010  (public as ``compress_level`` from Python 3.13)
    return info


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    archive.writestr(_zip_info(name), data)


def export_qdpx(
    project: Project,
    out_path: Path | str,
    anonymise: bool = False,
    report: ExportReport | None = None,
    anonymise_coders: bool = False,
    for_client: str | None = None,
) -> ExportReport:
    """Write the whole project as a REFI-QDA ``.qdpx`` for one client (``exporters.refi_clients``: offset
    units, line ends, where memos go); ``anonymise`` applies the name register (and participants' own names)
    and drops source titles and selection names; ``anonymise_coders`` names the coders "Coder N" as every
    other export does."""
    from models.names import coder_pseudonyms

    try:
        profile = client(for_client)
    except ValueError as exc:
        raise WaveqdaError(str(exc)) from exc
    report = report if report is not None else ExportReport()
    report.kind, report.anonymised, report.path = "project", anonymise, str(out_path)
    report.client = profile.key
    with project.read() as session:
        data = _load(session)
        check_depth(data.tree)
        coder_names = coder_pseudonyms(session) if anonymise_coders else {}
        writer = _ProjectWriter(data, _anonymiser(session, anonymise, anonymise_coders), report, coder_names, profile)

        def write(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w") as archive:
                writer.write(archive)

        _atomic_write(Path(out_path), write)  # inside the read: one consistent snapshot, streamed
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
    check_depth(tree)
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
