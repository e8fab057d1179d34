"""REFI-QDA import: a ``.qdpx`` project or ``.qdc`` codebook from NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette
or waveqda, into a new or an existing project.

The import runs in three stages so that a hostile or broken file never changes the project:

1. read (``read_package``): safety checks (``importers.refi_safety``), the XML into plain dataclasses,
   every source text and note loaded, every GUID reference checked. Anything broken refuses the whole file.
2. plan: each text source gets its participant and timepoint (a ``mapping`` from the user, a variable, a
   timepoint set, or a fixed ``timepoint`` with participants from source names) and its offset convention
   (``importers.refi_offsets``). A source that cannot be placed stops the import with the flag to add.
3. write: everything in one ``Project.change`` transaction (logged, not undoable, like every import).

Identity: coders, codes, transcripts, codings and memos keep the file's GUIDs as UUIDs where valid, so a
re-export names them the same. Because producers re-mint GUIDs on every export, things are also matched by
content: coders by name, codes by path, transcripts by text, codings by (transcript, span, code, coder).
Importing the same file twice therefore adds nothing the second time.
"""

from __future__ import annotations

import io
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from importers.refi_offsets import Detection, RawSelection, detect, has_name, name_matches
from importers.refi_safety import SafeArchive, check_nested_zip, parse_xml, read_xml_file, unsafe_name_reason
from models.codes import CodeTree
from models.errors import ImportRefused, WaveqdaError
from models.parsed import LabelRules, ParsedTranscript, ParsedTurn
from models.refi_conventions import (
    BOOLEAN_CHOICES,
    CHOICES_PREFIX,
    PARTICIPANT_VARIABLE,
    TIMEPOINT_VARIABLE,
    derived_guid,
    parse_description,
)
from models.schema import (
    AttributeDefinition,
    Code,
    Coder,
    Coding,
    Memo,
    Participant,
    Timepoint,
    Transcript,
    new_uuid,
)
from models.store import (
    DEFAULT_TIMEPOINTS,
    Project,
    create_project,
    open_project,
    remove_database_files,
    timepoints,
)

PROJECT_SUFFIXES = {".qdpx"}
XML_SUFFIXES = {".qdc", ".qde", ".xml"}
TEXT_SOURCE = "TextSource"
OTHER_SOURCES = ("PictureSource", "PDFSource", "AudioSource", "VideoSource")
UNKNOWN_CODER = "unknown coder"
UNKNOWN_SPEAKER = "Unknown"
MIN_LABEL_SHARE = 0.2  # labelled lines needed to read a source as speaker turns
EXAMPLES_SHOWN = 10
_STUDY_ID_JUNK = re.compile(r"[^\w.\-]+")
_TIMEPOINT_JUNK = re.compile(r"[\s/]+")


# --- the file as plain data ---------------------------------------------------------------------------------


@dataclass
class RefiCoding:
    guid: str
    code: str
    user: str | None
    created: datetime | None
    notes: list[str]


@dataclass
class RefiSelection:
    guid: str
    name: str
    start: int
    end: int
    user: str | None
    created: datetime | None
    modified: datetime | None
    description: str
    codings: list[RefiCoding]
    notes: list[str]


@dataclass
class RefiValue:
    variable: str
    kind: str  # TextValue, BooleanValue, ...
    value: str


@dataclass
class RefiSource:
    guid: str
    name: str
    kind: str
    plain_path: str | None
    rich_path: str | None
    inline: str | None
    description: str
    selections: list[RefiSelection]
    codings: list[RefiCoding]  # codings of the whole source
    notes: list[str]
    values: list[RefiValue]
    other_codings: int = 0  # codings on pictures, PDF pages, audio or video (not imported)
    raw_text: str = ""
    text_from: str = ""


@dataclass
class RefiCode:
    guid: str
    name: str
    description: str
    colour: str | None
    codable: bool
    notes: list[str]
    children: list[RefiCode]


@dataclass
class RefiVariable:
    guid: str
    name: str
    type: str
    description: str


@dataclass
class RefiCase:
    guid: str
    name: str
    description: str
    values: list[RefiValue]
    sources: list[str]


@dataclass
class RefiNote:
    guid: str
    name: str
    user: str | None
    created: datetime | None
    inline: str | None
    path: str | None
    text: str = ""


@dataclass
class RefiSet:
    guid: str
    name: str
    description: str
    sources: list[str]
    codes: list[str]
    notes: list[str]


@dataclass
class RefiDocument:
    """One REFI-QDA file, references as normalised keys (see ``guid_key``)."""

    kind: str  # "project" or "codebook"
    name: str = ""
    origin: str = ""
    users: dict[str, str] = field(default_factory=dict)
    codes: list[RefiCode] = field(default_factory=list)
    variables: dict[str, RefiVariable] = field(default_factory=dict)
    cases: list[RefiCase] = field(default_factory=list)
    sources: list[RefiSource] = field(default_factory=list)
    notes: dict[str, RefiNote] = field(default_factory=dict)
    sets: list[RefiSet] = field(default_factory=list)
    project_notes: list[str] = field(default_factory=list)
    description: str = ""
    skipped: Counter[str] = field(default_factory=Counter)

    def all_codes(self) -> list[RefiCode]:
        out: list[RefiCode] = []
        stack = list(reversed(self.codes))
        while stack:
            code = stack.pop()
            out.append(code)
            stack.extend(reversed(code.children))
        return out

    def text_sources(self) -> list[RefiSource]:
        return [s for s in self.sources if s.kind == TEXT_SOURCE]


def normalise_guid(value: str | None) -> str | None:
    """``{ABC...}`` or ``abc...`` -> canonical lower-case hyphenated form; None if not a GUID."""
    if not value:
        return None
    try:
        return str(uuid.UUID(value.strip().strip("{}")))
    except ValueError:
        return None


def guid_key(value: str | None) -> str:
    """How references are compared: the normalised GUID, or the raw text for a malformed one."""
    return normalise_guid(value) or (value or "").strip().lower()


def _local(element: Any) -> str:
    return element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    """Child elements by local name, so the variant namespaces seen in the wild all read the same."""
    return [child for child in element if _local(child) == name]


def _child_text(element: Any, name: str) -> str:
    found = _children(element, name)
    return (found[0].text or "") if found else ""


def _refs(element: Any, name: str) -> list[str]:
    return [guid_key(ref.get("targetGUID")) for ref in _children(element, name)]


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _position(element: Any, name: str) -> int:
    value = element.get(name, "")
    try:
        return int(value)
    except ValueError as exc:
        raise ImportRefused(f"selection {element.get('guid')}: {name} {value!r} is not a number") from exc


def _parse_coding(element: Any) -> RefiCoding:
    code_refs = _refs(element, "CodeRef")
    return RefiCoding(
        guid_key(element.get("guid")),
        code_refs[0] if code_refs else "",
        _user(element.get("creatingUser")),
        _when(element.get("creationDateTime")),
        _refs(element, "NoteRef"),
    )


def _user(value: str | None) -> str | None:
    return guid_key(value) if value else None


def _parse_selection(element: Any) -> RefiSelection:
    return RefiSelection(
        guid_key(element.get("guid")),
        element.get("name") or "",
        _position(element, "startPosition"),
        _position(element, "endPosition"),
        _user(element.get("creatingUser")),
        _when(element.get("creationDateTime")),
        _when(element.get("modifiedDateTime")),
        _child_text(element, "Description"),
        [_parse_coding(c) for c in _children(element, "Coding")],
        _refs(element, "NoteRef"),
    )


def _parse_values(element: Any) -> list[RefiValue]:
    values = []
    for item in _children(element, "VariableValue"):
        refs = _refs(item, "VariableRef")
        typed = [child for child in item if _local(child).endswith("Value")]
        if refs and typed:
            values.append(RefiValue(refs[0], _local(typed[0]), (typed[0].text or "").strip()))
    return values


def _parse_source(element: Any) -> RefiSource:
    kind = _local(element)
    inline = _children(element, "PlainTextContent")
    source = RefiSource(
        guid_key(element.get("guid")),
        element.get("name") or "",
        kind,
        element.get("plainTextPath"),
        element.get("richTextPath"),
        (inline[0].text or "") if inline else None,
        _child_text(element, "Description"),
        [_parse_selection(s) for s in _children(element, "PlainTextSelection")],
        [_parse_coding(c) for c in _children(element, "Coding")],
        _refs(element, "NoteRef"),
        _parse_values(element),
    )
    if kind != TEXT_SOURCE:
        source.other_codings = sum(1 for child in element.iter() if _local(child) == "Coding")
    return source


def _parse_code(element: Any) -> RefiCode:
    return RefiCode(
        guid_key(element.get("guid")),
        element.get("name") or "",
        _child_text(element, "Description"),
        element.get("color"),
        element.get("isCodable", "true").strip().lower() not in ("false", "0"),
        _refs(element, "NoteRef"),
        [_parse_code(c) for c in _children(element, "Code")],
    )


def _parse_note(element: Any) -> RefiNote:
    inline = _children(element, "PlainTextContent")
    return RefiNote(
        guid_key(element.get("guid")),
        element.get("name") or "",
        _user(element.get("creatingUser")),
        _when(element.get("creationDateTime")),
        (inline[0].text or "") if inline else None,
        element.get("plainTextPath"),
    )


def parse_document(root: Any) -> RefiDocument:
    """A parsed ``Project`` or ``CodeBook`` root element as a ``RefiDocument``."""
    kind = _local(root)
    if kind == "CodeBook":
        doc = RefiDocument("codebook", origin=root.get("origin") or "")
        for codes in _children(root, "Codes"):
            doc.codes.extend(_parse_code(c) for c in _children(codes, "Code"))
        doc.skipped["sets of codes"] += sum(len(_children(s, "Set")) for s in _children(root, "Sets"))
        return doc
    if kind != "Project":
        raise ImportRefused(f"the XML root is {kind or '?'}, not a REFI-QDA Project or CodeBook")
    doc = RefiDocument("project", name=root.get("name") or "", origin=root.get("origin") or "")
    _parse_project_parts(root, doc)
    return doc


def _parse_project_parts(root: Any, doc: RefiDocument) -> None:
    for users in _children(root, "Users"):
        for user in _children(users, "User"):
            doc.users[guid_key(user.get("guid"))] = (user.get("name") or user.get("id") or "").strip()
    for book in _children(root, "CodeBook"):
        for codes in _children(book, "Codes"):
            doc.codes.extend(_parse_code(c) for c in _children(codes, "Code"))
    for variables in _children(root, "Variables"):
        doc.variables.update((v.guid, v) for v in map(_parse_variable, _children(variables, "Variable")))
    for cases in _children(root, "Cases"):
        for case in _children(cases, "Case"):
            doc.cases.append(_parse_case(case))
            doc.skipped["case links to codes or selections"] += len(_children(case, "CodeRef")) + len(
                _children(case, "SelectionRef")
            )
    for sources in _children(root, "Sources"):
        doc.sources.extend(_parse_source(s) for s in sources if _local(s) in (TEXT_SOURCE, *OTHER_SOURCES))
    for notes in _children(root, "Notes"):
        doc.notes.update((n.guid, n) for n in map(_parse_note, _children(notes, "Note")))
    for sets in _children(root, "Sets"):
        doc.sets.extend(map(_parse_set, _children(sets, "Set")))
    doc.skipped["links"] += sum(len(_children(x, "Link")) for x in _children(root, "Links"))
    doc.skipped["graphs"] += sum(len(_children(x, "Graph")) for x in _children(root, "Graphs"))
    doc.description = _child_text(root, "Description")
    doc.project_notes = _refs(root, "NoteRef")


def _parse_variable(element: Any) -> RefiVariable:
    return RefiVariable(
        guid_key(element.get("guid")),
        (element.get("name") or "").strip(),
        element.get("typeOfVariable") or "Text",
        _child_text(element, "Description"),
    )


def _parse_case(element: Any) -> RefiCase:
    return RefiCase(
        guid_key(element.get("guid")),
        (element.get("name") or "").strip(),
        _child_text(element, "Description"),
        _parse_values(element),
        _refs(element, "SourceRef"),
    )


def _parse_set(element: Any) -> RefiSet:
    return RefiSet(
        guid_key(element.get("guid")),
        (element.get("name") or "").strip(),
        _child_text(element, "Description"),
        _refs(element, "MemberSource"),
        _refs(element, "MemberCode"),
        _refs(element, "MemberNote"),
    )


# --- references ---------------------------------------------------------------------------------------------


def reference_problems(doc: RefiDocument) -> list[str]:
    """Every reference the import follows that points nowhere (a broken file is refused, not half-read)."""
    codes = {c.guid for c in doc.all_codes()}
    sources = {s.guid for s in doc.sources}
    problems: list[str] = []

    def check(kind: str, ref: str | None, known: set[str] | dict[str, Any], where: str) -> None:
        if ref is not None and ref not in known:
            problems.append(f"{where} refers to a missing {kind} {ref or '(empty)'}")

    for code in doc.all_codes():
        for note in code.notes:
            check("note", note, doc.notes, f"code {code.name!r}")
    for source in doc.sources:
        where = f"source {source.name!r}"
        for note in source.notes:
            check("note", note, doc.notes, where)
        for value in source.values:
            check("variable", value.variable, doc.variables, where)
        for coding in _source_codings(source):
            check("code", coding.code, codes, where)
            check("user", coding.user, doc.users, where)
            for note in coding.notes:
                check("note", note, doc.notes, where)
        for sel in source.selections:
            check("user", sel.user, doc.users, where)
            for note in sel.notes:
                check("note", note, doc.notes, where)
    for case in doc.cases:
        for value in case.values:
            check("variable", value.variable, doc.variables, f"case {case.name!r}")
        for ref in case.sources:
            check("source", ref, sources, f"case {case.name!r}")
    for item in doc.sets:
        for ref in item.sources:
            check("source", ref, sources, f"set {item.name!r}")
        for ref in item.codes:
            check("code", ref, codes, f"set {item.name!r}")
        for ref in item.notes:
            check("note", ref, doc.notes, f"set {item.name!r}")
    for note in doc.project_notes:
        check("note", note, doc.notes, "the project")
    for note in doc.notes.values():
        check("user", note.user, doc.users, f"note {note.name!r}")
    return problems


def _source_codings(source: RefiSource) -> list[RefiCoding]:
    return [*source.codings, *(c for sel in source.selections for c in sel.codings)]


# --- reading the package ------------------------------------------------------------------------------------


def read_package(file: Path) -> RefiDocument:
    """The file as a checked ``RefiDocument`` with every source text and note loaded; refuses broken files."""
    file = Path(file)
    if not file.is_file():
        raise ImportRefused(f"{file}: no such file")
    suffix = file.suffix.lower()
    if suffix in PROJECT_SUFFIXES:
        with SafeArchive(file) as archive:
            doc = _document_from(parse_xml(archive.read(_project_entry(archive)), file.name), file)
            _load_texts(doc, archive, file)
    elif suffix in XML_SUFFIXES:
        doc = _document_from(read_xml_file(file), file)
        _load_texts(doc, None, file)
    else:
        raise ImportRefused(f"{file.name}: not a REFI-QDA file (expected .qdpx or .qdc)")
    problems = reference_problems(doc)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ImportRefused(f"{file.name}: broken file: {problems[0]}{more}")
    return doc


def _document_from(root: Any, file: Path) -> RefiDocument:
    try:
        return parse_document(root)
    except ImportRefused as exc:
        raise ImportRefused(f"{file.name}: {exc}") from exc


def _project_entry(archive: SafeArchive) -> str:
    """``project.qde`` at the top, else the only ``*.qde`` at the top (some producers name it after the project)."""
    top = [n for n in archive.names() if "/" not in n and n.lower().endswith(".qde")]
    exact = [n for n in top if n.lower() == "project.qde"]
    if exact or len(top) == 1:
        return (exact or top)[0]
    found = "several .qde files" if top else "no project.qde"
    raise ImportRefused(f"{archive.path.name}: {found} in the archive: not a REFI-QDA project")


def _load_texts(doc: RefiDocument, archive: SafeArchive | None, file: Path) -> None:
    for source in doc.text_sources():
        source.raw_text, source.text_from = _source_text(source, archive, file)
    for note in doc.notes.values():
        if note.inline is not None:
            note.text = note.inline
        elif note.path:
            note.text = _decode(_read_ref(note.path, archive, file, f"note {note.name!r}"), note.path)[0]


def _source_text(source: RefiSource, archive: SafeArchive | None, file: Path) -> tuple[str, str]:
    where = f"source {source.name!r}"
    if source.inline is not None:
        return source.inline, "inline text"
    if source.plain_path:
        text, codec = _decode(_read_ref(source.plain_path, archive, file, where), source.plain_path)
        return text, f"plain text, {codec}"
    if source.rich_path and source.rich_path.lower().endswith(".docx"):
        data = _read_ref(source.rich_path, archive, file, where)
        return docx_text(data, f"{file.name}: {where}"), "Word document"
    raise ImportRefused(f"{file.name}: {where} has no plain text and no .docx to read it from")


def _read_ref(ref: str, archive: SafeArchive | None, file: Path, where: str) -> bytes:
    """The bytes behind ``internal://`` (in the archive) or ``relative://`` (beside the file) references."""
    scheme, _, name = ref.partition("://")
    if not name:
        scheme, name = "internal", ref
    reason = unsafe_name_reason(name)
    if scheme.lower() == "absolute" or reason:
        why = "absolute paths are not followed" if scheme.lower() == "absolute" else reason
        raise ImportRefused(f"{file.name}: {where}: unsafe path {ref!r} ({why})")
    if scheme.lower() == "relative":
        return _read_beside(file, name, where)
    entry = None
    if archive is not None:
        entry = archive.find(f"sources/{name}") or archive.find(name)
    if entry is None:
        raise ImportRefused(f"{file.name}: {where}: file {ref!r} is missing from the archive")
    return archive.read(entry)


def _read_beside(file: Path, name: str, where: str) -> bytes:
    """A ``relative://`` file, looked for beside the package (the producer's ``basePath`` is on its disk)."""
    from importers import refi_safety

    path = file.parent / name
    if not path.is_file():
        raise ImportRefused(f"{file.name}: {where}: file {name!r} is missing beside the package")
    if path.stat().st_size > refi_safety.MAX_ENTRY_BYTES:
        raise ImportRefused(f"{file.name}: {where}: file {name!r} is beyond the size limit")
    return path.read_bytes()


def _decode(data: bytes, label: str) -> tuple[str, str]:
    """Text with the BOM removed and line ends kept (the offset convention may count them), and the encoding
    read: the BOM's, else UTF-8, else Windows-1252 (what older Windows tools write)."""
    from importers.text_reader import bom_codec

    codec = bom_codec(data)
    for candidate in [codec] if codec else ["utf-8", "cp1252"]:
        try:
            return data.decode(candidate).removeprefix("\ufeff"), candidate.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    raise ImportRefused(f"{label}: cannot be decoded as {codec or 'UTF-8 or Windows-1252'} text")


def docx_text(data: bytes, label: str) -> str:
    """A ``.docx`` as its paragraphs (table cells included, text boxes not) in document order joined by
    ``\\n``, which is how producers lay out the plain text their offsets count."""
    import docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    from importers.safety import DOCX_ERRORS

    check_nested_zip(data, label)
    try:
        body = docx.Document(io.BytesIO(data)).element.body
        paragraphs = [p for p in body.iter(qn("w:p")) if next(p.iterancestors(qn("w:p")), None) is None]
        return "\n".join(Paragraph(p, None).text for p in paragraphs)
    except DOCX_ERRORS as exc:
        raise ImportRefused(f"{label}: not a readable Word document ({exc})") from exc


# --- the report ---------------------------------------------------------------------------------------------


@dataclass
class SourceReport:
    name: str
    placed_as: str
    placed_by: str
    text_from: str
    convention: str
    selections: int
    on_boundaries: int
    codings: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ImportReport:
    """What an import brought in, what it matched, and what it could not carry over."""

    file: str
    project: str = ""
    origin: str = ""
    created: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    sources: list[SourceReport] = field(default_factory=list)
    unfit: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        c = self.counts
        where = f"new project {self.project}" if self.created else self.project
        out = [
            f"Imported {self.file} ({self.origin or 'unknown producer'}) into {where}",
            f"  coders: {c['coders_added']} added, {c['coders_matched']} matched",
            f"  codes: {c['codes_added']} added, {c['codes_matched']} matched",
            f"  transcripts: {c['transcripts_added']} added, {c['transcripts_reused']} already present",
            f"  codings: {c['codings_added']} added, {c['codings_duplicate']} duplicates in the file, "
            f"{c['codings_present']} already present, {len(self.unfit)} do not fit, "
            f"{len(self.review)} marked needs-review",
            f"  participants: {c['participants']}, attribute values: {c['attribute_values']}, "
            f"memos: {c['memos_added']}",
        ]
        for s in self.sources:
            out.append(
                f"  source {s.name!r} -> {s.placed_as} ({s.placed_by}; {s.text_from}); offsets: "
                f"{s.convention}; {s.codings} codings"
            )
        out += _examples("does not fit", self.unfit) + _examples("needs review", self.review)
        out += [f"  not carried over: {item}" for item in self.not_carried]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "project": self.project,
            "origin": self.origin,
            "created": self.created,
            "counts": dict(self.counts),
            "sources": [s.as_dict() for s in self.sources],
            "unfit": list(self.unfit),
            "needs_review": list(self.review),
            "not_carried": list(self.not_carried),
        }


def _examples(label: str, items: list[str]) -> list[str]:
    shown = [f"  {label}: {item}" for item in items[:EXAMPLES_SHOWN]]
    if len(items) > EXAMPLES_SHOWN:
        shown.append(f"  ... and {len(items) - EXAMPLES_SHOWN} more ({label}; see --json)")
    return shown


# --- placing sources at a participant and timepoint ---------------------------------------------------------


@dataclass
class PlacementOptions:
    participant_variable: str | None = None
    timepoint_variable: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    timepoint: str | None = None
    participant_from_name: bool = False


@dataclass
class Placement:
    participant: str
    timepoint: str
    how: str


def study_id_from(value: str) -> str:
    """A file's name for a person as a participant ID (letters, digits, ``.``, ``-``, ``_``)."""
    return _STUDY_ID_JUNK.sub("_", value.strip()).strip("_")[:100]


def timepoint_key_from(value: str) -> str:
    """A file's name for a wave as a timepoint key (no spaces or ``/``)."""
    return _TIMEPOINT_JUNK.sub("_", value.strip()).strip("_")[:40]


class _Placer:
    """Finds each text source's participant and timepoint, from the most explicit evidence down."""

    def __init__(self, doc: RefiDocument, options: PlacementOptions, known: list[Timepoint] | None) -> None:
        self.doc = doc
        self.options = options
        self.known = known
        self.cases_of: dict[str, list[RefiCase]] = defaultdict(list)
        for case in doc.cases:
            for ref in case.sources:
                self.cases_of[ref].append(case)
        self.mapping = self._check_mapping()
        self.used_variables: set[str] = set()
        self.used_sets: set[str] = set()
        for option in (options.participant_variable, options.timepoint_variable):
            if option and not self._variables_named(option):
                names = ", ".join(sorted({v.name for v in doc.variables.values()})) or "none"
                raise WaveqdaError(f"no variable {option!r} in {doc.name or 'the file'} (variables: {names})")

    def _check_mapping(self) -> dict[str, str]:
        """Mapping keys resolved to source GUIDs; a key naming no source is a typo worth stopping for."""
        resolved: dict[str, str] = {}
        sources = self.doc.text_sources()
        for key, value in self.options.mapping.items():
            match = [s for s in sources if key in (s.name, s.guid)] or [
                s for s in sources if s.name.casefold() == key.casefold()
            ]
            if not match:
                names = ", ".join(repr(s.name) for s in sources[:10])
                raise WaveqdaError(f"--map-source {key!r}: no text source of that name (sources: {names})")
            for source in match:
                resolved[source.guid] = value
        return resolved

    def place_all(self) -> dict[str, Placement]:
        placements: dict[str, Placement] = {}
        taken: dict[tuple[str, str], str] = {}
        for source in self.doc.text_sources():
            placement = self.place(source)
            slot = (placement.participant, placement.timepoint)
            if slot in taken:
                raise WaveqdaError(
                    f"sources {taken[slot]!r} and {source.name!r} would both be "
                    f"{slot[0]}/{slot[1]}: map them apart with --map-source NAME=P01/T1"
                )
            taken[slot] = source.name
            placements[source.guid] = placement
        return placements

    def place(self, source: RefiSource) -> Placement:
        mapped = self.mapping.get(source.guid)
        if mapped is not None:
            participant, _, timepoint = mapped.partition("/")
            if not participant.strip() or not timepoint.strip() or "/" in timepoint:
                raise WaveqdaError(f"--map-source {source.name}={mapped}: give PARTICIPANT/TIMEPOINT, e.g. P01/T1")
            return Placement(participant.strip(), self._timepoint(timepoint, "--map-source"), "--map-source")
        participant, p_how = self._participant(source)
        timepoint, t_how = self._timepoint_of(source)
        if participant is None or timepoint is None:
            missing = " and ".join(w for w, v in (("participant", participant), ("timepoint", timepoint)) if v is None)
            raise WaveqdaError(
                f"cannot tell the {missing} of source {source.name!r}: add --map-source '{source.name}=P01/T1' "
                f"(one per source), or --participant-variable / --timepoint-variable NAME, "
                f"or --timepoint T1 --participant-from-name"
            )
        return Placement(participant, timepoint, f"{p_how}, {t_how}")

    def _participant(self, source: RefiSource) -> tuple[str | None, str]:
        name = self.options.participant_variable or PARTICIPANT_VARIABLE
        value = self._value(source, name, explicit=bool(self.options.participant_variable))
        if value:
            return study_id_from(value), f"participant from variable {name!r}"
        cases = self.cases_of.get(source.guid, [])
        if len(cases) == 1 and study_id_from(cases[0].name):
            return study_id_from(cases[0].name), "participant from its case"
        if self.options.participant_from_name and study_id_from(source.name):
            return study_id_from(source.name), "participant from the source name"
        return None, ""

    def _timepoint_of(self, source: RefiSource) -> tuple[str | None, str]:
        name = self.options.timepoint_variable or TIMEPOINT_VARIABLE
        value = self._value(source, name, explicit=bool(self.options.timepoint_variable))
        if value:
            return self._timepoint(value, f"variable {name!r}"), f"timepoint from variable {name!r}"
        for item in self.doc.sets:
            key = self._set_timepoint(item) if source.guid in item.sources else None
            if key:
                self.used_sets.add(item.guid)
                return key, f"timepoint from set {item.name!r}"
        if self.options.timepoint:
            return self._timepoint(self.options.timepoint, "--timepoint"), "--timepoint"
        return None, ""

    def _set_timepoint(self, item: RefiSet) -> str | None:
        """A set stands for a timepoint when we wrote it so, or when it is named like one of the project's."""
        if item.guid == derived_guid("timepoint", item.name):
            return self._timepoint(item.name, f"set {item.name!r}")
        if self.known is None:
            return None
        return self.timepoint_named(item.name)

    def _variables_named(self, name: str) -> list[str]:
        return [v.guid for v in self.doc.variables.values() if v.name.casefold() == name.casefold()]

    def _value(self, source: RefiSource, name: str, explicit: bool) -> str | None:
        """A variable's value on the source, else on the one case holding the source."""
        wanted = set(self._variables_named(name))
        if not wanted:
            return None
        self.used_variables |= wanted
        for value in source.values:
            if value.variable in wanted and value.value:
                return value.value
        found = {
            v.value
            for case in self.cases_of.get(source.guid, [])
            for v in case.values
            if v.variable in wanted and v.value
        }
        if len(found) > 1 and explicit:
            raise WaveqdaError(f"source {source.name!r} has several values of {name!r}: {sorted(found)}")
        return found.pop() if len(found) == 1 else None

    def timepoint_named(self, value: str) -> str | None:
        """The project timepoint ``value`` names: its key, its label, or the key a new project made of it."""
        names = {value.strip().casefold(), timepoint_key_from(value).casefold()}
        for tp in self.known or []:
            if names & {tp.key.casefold(), tp.label.casefold()}:
                return tp.key
        return None

    def _timepoint(self, value: str, origin: str) -> str:
        """The project's timepoint key for ``value`` (a key or label); for a new project, a clean key."""
        if self.known is None:
            key = timepoint_key_from(value)
            if not key:
                raise WaveqdaError(f"{origin}: empty timepoint")
            return key
        key = self.timepoint_named(value)
        if key is None:
            valid = ", ".join(tp.key for tp in self.known)
            raise WaveqdaError(f"{origin}: unknown timepoint {value!r}; this project's timepoints are: {valid}")
        return key


def new_project_timepoints(doc: RefiDocument, placements: dict[str, Placement]) -> list[tuple[str, str]]:
    """Timepoints for a project created by this import: ours travel as sets (key, label, order); otherwise
    the keys the sources were placed at, in natural order; the defaults when there are no sources."""
    ours = [(s.name, s.description.strip() or s.name) for s in doc.sets if s.guid == derived_guid("timepoint", s.name)]
    used = {p.timepoint for p in placements.values()}
    if ours and used <= {key for key, _ in ours}:
        return ours
    if not used:
        return list(DEFAULT_TIMEPOINTS)
    labels = dict(ours)
    natural = sorted(used, key=lambda k: [int(p) if p.isdigit() else p.casefold() for p in re.split(r"(\d+)", k)])
    return [(key, labels.get(key, key)) for key in natural]


# --- writing ------------------------------------------------------------------------------------------------


def split_turns(text: str, rules: LabelRules) -> list[ParsedTurn]:
    """Speaker turns by the shared label rules when labels start a fair share of the lines (an interview);
    otherwise (survey answers, social-media threads) one "Unknown" turn per paragraph, so a few stray
    ``Word:`` lines do not swallow thousands of lines into one turn."""
    from importers.labels import Line, accepted_labels, find_turns, split_lines

    lines = [Line(start, line) for start, line in split_lines(text)]
    filled = sum(1 for line in lines if line.text.strip())
    labelled = sum(1 for label in accepted_labels(lines, rules) if label is not None)
    if filled and labelled >= MIN_LABEL_SHARE * filled:
        return find_turns(lines, rules)
    out = []
    for line in lines:
        body = line.text.strip()
        if body:
            begin = line.start + len(line.text) - len(line.text.lstrip())
            out.append(ParsedTurn(UNKNOWN_SPEAKER, begin, begin + len(body)))
    return out


class _Writer:
    """Writes a checked, placed document into one open transaction."""

    def __init__(
        self, session: Session, doc: RefiDocument, report: ImportReport, actor: str, file: Path, placer: _Placer
    ) -> None:
        self.session = session
        self.doc = doc
        self.report = report
        self.actor = actor
        self.file = file
        self.placer = placer
        self.coders: dict[str, Coder] = {}
        self.codes: dict[str, Code] = {}
        self.transcripts: dict[str, Transcript] = {}
        self.codings: dict[str, Coding] = {}
        self.first_coding_of: dict[str, Coding] = {}
        self.code_by_uuid: dict[str, Code] = {}
        self.known_participants = set(session.scalars(select(Participant.id)))
        self.nvivo = "nvivo" in doc.origin.casefold()

    def _uuid_for(self, model: Any, guid: str) -> str:
        """The file's GUID as our UUID when it is a valid one that is still free, else a new one."""
        valid = normalise_guid(guid)
        if valid and self.session.scalar(select(model.id).where(model.uuid == valid)) is None:
            return valid
        return new_uuid()

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
        tree = CodeTree.load(self.session)
        self.code_by_uuid = {code.uuid: code for code in tree.codes.values()}
        self._sibling_codes(self.doc.codes, None, tree, existing_parent=True)
        not_codable = sum(1 for c in self.doc.all_codes() if not c.codable)
        if not_codable:
            self.report.not_carried.append(f"{not_codable} codes marked not codable (all codes are codable here)")

    def _sibling_codes(self, nodes: list[RefiCode], parent: Code | None, tree: CodeTree, existing_parent: bool) -> None:
        """Codes under one parent, matched to the project's by GUID, else by name under an existing parent."""
        parent_id = parent.id if parent is not None else None
        names: set[str] = set()
        position = len(tree.children.get(parent_id, [])) if existing_parent else 0
        for node in nodes:
            code, existed = self._code(node, parent_id, tree, existing_parent, names, position)
            if not existed:
                position += 1
            self.codes[node.guid] = code
            self._sibling_codes(node.children, code, tree, existing_parent=existed)

    def _code(
        self,
        node: RefiCode,
        parent_id: int | None,
        tree: CodeTree,
        existing_parent: bool,
        names: set[str],
        position: int,
    ) -> tuple[Code, bool]:
        found = self.code_by_uuid.get(normalise_guid(node.guid) or "")
        name = _code_name(node.name, names)
        if found is None and existing_parent:
            found = tree.child_named(parent_id, name)
        if found is not None:
            self.report.counts["codes_matched"] += 1
            names.add(found.name.casefold())
            return found, True
        from models.codebook import next_colour

        fields = parse_description(node.description)
        code = Code(
            uuid=self._uuid_for(Code, node.guid),
            parent_id=parent_id,
            name=name,
            position=position,
            colour=_colour(node.colour) or next_colour(self.session),
            **fields,
        )
        self.session.add(code)
        self.session.flush()
        names.add(name.casefold())
        self.report.counts["codes_added"] += 1
        return code, False

    # sources and codings ------------------------------------------------------------------------------------
    def write_sources(self, placements: dict[str, Placement], detections: dict[str, Detection]) -> None:
        from models.transcripts import label_rules, store_transcript, text_sha256

        rules = label_rules(self.session)
        for source in self.doc.text_sources():
            detection, placement = detections[source.guid], placements[source.guid]
            text = detection.offsets.text
            entry = SourceReport(
                source.name,
                f"{placement.participant}/{placement.timepoint}",
                placement.how,
                source.text_from,
                detection.describe(),
                detection.total,
                detection.chosen.boundary_hits,
            )
            self.report.sources.append(entry)
            if not text.strip():
                n = len(_source_codings(source))
                self.report.not_carried.append(f"source {source.name!r} is empty ({n} codings)")
                continue
            existing = self.session.scalar(select(Transcript).where(Transcript.sha256 == text_sha256(text)))
            if existing is not None:
                self.report.counts["transcripts_reused"] += 1
                entry.placed_as = f"{existing.participant.study_id}/{existing.timepoint.key}"
                entry.placed_by = "same text already in the project"
                transcript = existing
            else:
                parsed = ParsedTranscript(
                    text,
                    split_turns(text, rules),
                    f"{self.file.name}: {source.name}"[:500],
                    "qdpx",
                    title=source.name or self.file.stem,
                )
                stored = store_transcript(self.session, parsed, placement.participant, placement.timepoint, self.actor)
                transcript = stored.transcript
                transcript.uuid = self._uuid_for(Transcript, source.guid)
                self.report.counts["transcripts_added"] += 1
            self.transcripts[source.guid] = transcript
            entry.codings = self._write_codings(source, transcript, detection)

    def _write_codings(self, source: RefiSource, transcript: Transcript, detection: Detection) -> int:
        """Codings keyed by (span, code, coder): a key met again (in the file or already in the project)
        is not added twice, but its notes still attach to the coding that has it."""
        seen = {
            (c.start, c.end, c.code_id, c.coder_id): c
            for c in self.session.scalars(select(Coding).where(Coding.transcript_id == transcript.id))
        }
        present = set(seen)
        added = 0
        whole = RefiSelection("", "", 0, detection.offsets.producer_length, None, None, None, "", source.codings, [])
        for selection in [*source.selections, whole]:
            if not selection.codings:
                continue
            span = detection.convert(selection.start, selection.end)
            if span is None:
                self.report.unfit.append(
                    f"{source.name!r} [{selection.start}, {selection.end}) does not fit the text "
                    f"({len(detection.offsets.text)} characters; {detection.convention.describe()}); "
                    f"{len(selection.codings)} codings not imported"
                )
                continue
            status = self._status(source, selection, span, detection)
            for coding in selection.codings:
                added += self._coding(transcript, selection, coding, span, status, seen, present)
        return added

    def _status(self, source: RefiSource, selection: RefiSelection, span: tuple[int, int], detection: Detection) -> str:
        """``needs_review`` when the producer's own name for the selection disagrees with where it landed."""
        if not (detection.names_informative and has_name(selection.name)):
            return "ok"
        text = detection.offsets.text[span[0] : span[1]]
        if name_matches(text, selection.name):
            return "ok"
        self.report.review.append(
            f"{source.name!r} [{span[0]}, {span[1]}): named {selection.name!r} but the text there is {text[:60]!r}"
        )
        return "needs_review"

    def _coding(
        self,
        transcript: Transcript,
        selection: RefiSelection,
        coding: RefiCoding,
        span: tuple[int, int],
        status: str,
        seen: dict[tuple, Coding],
        present: set[tuple],
    ) -> int:
        code, coder = self.codes[coding.code], self.coder_for(selection, coding)
        key = (span[0], span[1], code.id, coder.id)
        if key in seen:
            self.report.counts["codings_present" if key in present else "codings_duplicate"] += 1
            self._remember(selection, coding, seen[key])
            return 0
        created = coding.created or selection.created
        row = Coding(
            uuid=self._uuid_for(Coding, coding.guid),
            transcript_id=transcript.id,
            code_id=code.id,
            coder_id=coder.id,
            start=span[0],
            end=span[1],
            status=status,
        )
        if created is not None:
            row.created_at = created
            row.updated_at = selection.modified or created
        self.session.add(row)
        self.session.flush()
        seen[key] = row
        self._remember(selection, coding, row)
        self.report.counts["codings_added"] += 1
        return 1

    def _remember(self, selection: RefiSelection, coding: RefiCoding, row: Coding) -> None:
        """Where the notes of this coding and of its selection go."""
        self.codings.setdefault(coding.guid, row)
        if selection.guid:
            self.first_coding_of.setdefault(selection.guid, row)

    # participants and attributes ----------------------------------------------------------------------------
    def write_cases(self) -> None:
        """Case variables become attribute definitions (in the file's order, values or not), cases become
        participants with those attributes."""
        source_variables = {v.variable for s in self.doc.sources for v in s.values}
        definitions = {
            key: self._definition(variable)
            for key, variable in self.doc.variables.items()
            if key not in source_variables
        }
        for case in self.doc.cases:
            participant = self._case_participant(case)
            if participant is None:
                continue
            self.report.counts["participants"] += 1
            for value in case.values:
                definition = definitions.get(value.variable)
                if definition is not None:
                    self._attribute(participant, definition, value)
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
        skipped = sorted({self.doc.variables[v].name for v in source_variables - self.placer.used_variables})
        if skipped:
            self.report.not_carried.append(f"source variables {', '.join(skipped)} (transcripts have no variables)")

    def _case_participant(self, case: RefiCase) -> Participant | None:
        """The participant a case stands for: the one its sources were placed at, else its name."""
        owners = {self.transcripts[s].participant_id for s in case.sources if s in self.transcripts}
        if len(owners) > 1:
            self.report.not_carried.append(f"case {case.name!r} spans several participants: its values were skipped")
            return None
        if owners:
            participant = self.session.get(Participant, owners.pop())
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

    def _memo_field(self, owner: Code | Coding, text: str) -> None:
        """Our own export's code and coding memo fields come back into the fields (never over another memo)."""
        if not owner.memo.strip():
            owner.memo = text
            self.report.counts["memos_added"] += 1
        elif owner.memo.strip() != text.strip():
            what = f"code {owner.name!r}" if isinstance(owner, Code) else f"coding {owner.uuid}"
            self.report.not_carried.append(f"the memo of {what}: the project already has a different one")

    def _note_targets(self) -> dict[str, list[tuple[str, int | None, Code | Coding | None]]]:
        targets: dict[str, list[tuple[str, int | None, Code | Coding | None]]] = defaultdict(list)
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
            for coding in _source_codings(source):
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
                if first is not None and selection.description.strip():
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
        unused = [
            s.name
            for s in doc.sets
            if s.guid not in self.placer.used_sets and self.placer.timepoint_named(s.name) is None
        ]
        if unused:
            shown = ", ".join(repr(name) for name in unused[:5]) + (" ..." if len(unused) > 5 else "")
            self.report.not_carried.append(f"{len(unused)} sets ({shown}): only sets naming a timepoint are used")


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


# --- the entry point ----------------------------------------------------------------------------------------


def import_refi(
    project_path_or_project: Project | Path | str,
    file: Path | str,
    participant_variable: str | None = None,
    timepoint_variable: str | None = None,
    mapping: dict[str, str] | None = None,
    create: bool = True,
    *,
    timepoint: str | None = None,
    participant_from_name: bool = False,
    actor: str | None = None,
) -> ImportReport:
    """Import a ``.qdpx`` or ``.qdc`` into a project (created when ``create`` and the path does not exist).

    Each text source needs a participant and a timepoint: ``mapping`` (source name or GUID -> ``"P01/T1"``),
    ``participant_variable`` / ``timepoint_variable`` (on the source or its case), our own ``Participant`` /
    ``Timepoint`` variables and timepoint sets, a single case holding the source, or ``timepoint`` for all
    sources with ``participant_from_name``. The project is unchanged unless everything succeeds.
    """
    file = Path(file)
    doc = read_package(file)
    options = PlacementOptions(
        participant_variable, timepoint_variable, dict(mapping or {}), timepoint, participant_from_name
    )
    detections = {s.guid: detect(s.raw_text, _raw_selections(s), doc.origin) for s in doc.text_sources()}
    report = ImportReport(file.name, origin=doc.origin)
    if isinstance(project_path_or_project, Project):
        _import_into(project_path_or_project, doc, options, detections, report, actor, file)
        return report
    target = Path(project_path_or_project)
    if target.exists():
        with open_project(target) as project:
            report.project = str(target)
            _import_into(project, doc, options, detections, report, actor, file)
        return report
    if not create:
        raise WaveqdaError(f"{target}: no such project")
    placements = _Placer(doc, options, None).place_all()
    project = create_project(target, new_project_timepoints(doc, placements), doc.name or target.stem)
    report.project, report.created = str(target), True
    try:
        _import_into(project, doc, options, detections, report, actor, file)
    except BaseException:
        project.close()
        remove_database_files(target)
        raise
    project.close()
    return report


def _raw_selections(source: RefiSource) -> list[RawSelection]:
    return [RawSelection(s.start, s.end, s.name) for s in source.selections]


def _import_into(
    project: Project,
    doc: RefiDocument,
    options: PlacementOptions,
    detections: dict[str, Detection],
    report: ImportReport,
    actor: str | None,
    file: Path,
) -> None:
    from models.coding import actor_name

    report.project = report.project or str(project.path or project.url)
    with project.read() as session:
        known = timepoints(session)
        who = actor_name(session, actor)
    placer = _Placer(doc, options, known)
    placements = placer.place_all()
    with project.change(who, "refi.import", f"Imported {file.name}", undoable=False) as session:
        writer = _Writer(session, doc, report, who, file, placer)
        writer.write_coders()
        writer.write_codes()
        writer.write_sources(placements, detections)
        writer.write_cases()
        writer.write_memos()
        writer.note_skipped()
        c = report.counts
        session.info["summary"] = (
            f"Imported {file.name}: {c['transcripts_added']} transcripts, "
            f"{c['codes_added']} codes, {c['codings_added']} codings"
        )
        session.info["detail"] = {"file": file.name, "origin": doc.origin, "counts": dict(c)}
