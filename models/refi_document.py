"""A REFI-QDA project or codebook as plain data, and the plan for storing it.

``importers.refi_parse`` reads a ``.qdpx`` / ``.qdc`` into a ``RefiDocument`` (references as normalised
GUID keys, every source text and note loaded); ``importers.refi_place`` decides where each text source goes
(``Placement``) and where each selection lands in our text (``PlacedSource``, ``PlacedSelection``);
``models.refi_store`` writes the document and that plan into a project. These types live in ``models`` so
that the importer can produce them and the domain layer can store them without importing the importer.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from models.parsed import ParsedTranscript

TEXT_SOURCE = "TextSource"
OTHER_SOURCES = ("PictureSource", "PDFSource", "AudioSource", "VideoSource")


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
    given_name: str = ""  # the name in the file; ``name`` is made unique and non-empty on reading


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


_CANONICAL_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalise_guid(value: str | None) -> str | None:
    """``{ABC...}`` or ``abc...`` -> canonical lower-case hyphenated form; None if not a GUID. A GUID
    already in that form (most of a large file) is returned as it is, without building a UUID."""
    if not value:
        return None
    if _CANONICAL_GUID.fullmatch(value):
        return value
    try:
        return str(uuid.UUID(value.strip().strip("{}")))
    except ValueError:
        return None


def guid_key(value: str | None) -> str:
    """How references are compared: the normalised GUID, or the raw text for a malformed one."""
    return normalise_guid(value) or (value or "").strip().lower()


def source_codings(source: RefiSource) -> list[RefiCoding]:
    """A source's codings: of the whole source, then of each selection."""
    return [*source.codings, *(c for sel in source.selections for c in sel.codings)]


# --- the plan: where each text source and selection goes ----------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """The participant and timepoint a text source is stored at, and the evidence that said so."""

    participant: str
    timepoint: str
    how: str


@dataclass(frozen=True)
class PlacedSelection:
    """A selection with codings, converted to our offsets: ``span`` is None when it does not fit the text
    (``problem`` says why); ``status`` is ``needs_review`` when the producer's name for it disagrees with
    the text it landed on (``problem`` says how)."""

    selection: RefiSelection
    span: tuple[int, int] | None
    status: str = "ok"
    problem: str | None = None


@dataclass(frozen=True)
class PlacedSource:
    """One text source ready to store: where it goes, its text as a parsed transcript (turns split by the
    project's label rules), how its offsets were read, and its selections converted (the whole-source
    codings last, as a selection over all the text)."""

    source: RefiSource
    placement: Placement
    parsed: ParsedTranscript
    convention: str  # the offset convention chosen, described for people
    selection_count: int
    on_boundaries: int
    selections: list[PlacedSelection]


@dataclass(frozen=True)
class RefiPlan:
    """Everything placement decided: the sources in file order, the source variables and sets it used
    (those not used are reported as not carried over)."""

    sources: list[PlacedSource]
    used_variables: frozenset[str]
    unused_sets: list[str]
