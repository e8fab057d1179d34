"""The import formats: one registry that ``waveqda import``, the workspace's import dialog and the formats
table in the README are built from.

A transcript format names its reader as ``"module:function"``, a function ``(path, rules) ->
ParsedTranscript`` imported only when a file of that format is read (python-docx takes a noticeable
time to load). A REFI-QDA format is read whole by ``importers.refi_import``. Adding a format is one entry
here plus its reader (see "How to add ..." in ``docs/architecture.md``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from models.parsed import LabelRules, ParsedTranscript

Reader = Callable[[Path, LabelRules], ParsedTranscript]
TRANSCRIPT: Literal["transcript"] = "transcript"
REFI: Literal["refi"] = "refi"


@dataclass(frozen=True)
class ImportFormat:
    suffix: str  # lower case, with the dot
    name: str  # stored as the transcript's ``source_format``
    label: str  # for people: the dialog's help and the README table
    kind: Literal["transcript", "refi"]
    reader: str = ""  # "module:function" for a transcript format
    text: bool = True  # a text file (checked for binary content and decoded), else a zip archive
    notes: str = ""  # what the README table says about the format

    def load_reader(self) -> Reader:
        module, _, function = self.reader.partition(":")
        reader: Reader = getattr(importlib.import_module(module), function)
        return reader


IMPORT_FORMATS: tuple[ImportFormat, ...] = (
    ImportFormat(
        ".docx", "docx", "Word document", TRANSCRIPT, "importers.docx_reader:parse_docx", text=False,
        notes="speaker label as a bold run, a `Name:` prefix, or a label on its own line, optionally with a "
        "timestamp; transcription-service tables with Speaker / Time / Text columns",
    ),
    ImportFormat(
        ".txt", "txt", "plain text", TRANSCRIPT, "importers.text_reader:parse_txt",
        notes="`Name:`, `**Name:**`, `I:`/`R:` styles; any encoding (see below)",
    ),
    ImportFormat(
        ".md", "md", "Markdown", TRANSCRIPT, "importers.text_reader:parse_md",
        notes="as .txt; headings are text but never turns",
    ),
    ImportFormat(
        ".vtt", "vtt", "WebVTT subtitles", TRANSCRIPT, "importers.subtitle_reader:parse_vtt",
        notes="voice tags (`<v Name>`) or a `Name:` prefix; cue times kept on the turns",
    ),
    ImportFormat(
        ".srt", "srt", "SubRip subtitles", TRANSCRIPT, "importers.subtitle_reader:parse_srt",
        notes="`Speaker N:` prefixes; cue times kept on the turns",
    ),
    ImportFormat(
        ".qdpx", "qdpx", "REFI-QDA project", REFI, text=False,
        notes="codes, text sources, codings, cases, variables and notes from NVivo, ATLAS.ti, MAXQDA, "
        "QualCoder...; one file at a time",
    ),
    ImportFormat(".qdc", "qdc", "REFI-QDA codebook", REFI, notes="codes with their descriptions; one file at a time"),
)  # fmt: skip

BY_SUFFIX = {f.suffix: f for f in IMPORT_FORMATS}
TRANSCRIPT_SUFFIXES = tuple(f.suffix for f in IMPORT_FORMATS if f.kind == TRANSCRIPT)
REFI_SUFFIXES = tuple(f.suffix for f in IMPORT_FORMATS if f.kind == REFI)


def format_of(path: Path) -> ImportFormat | None:
    """The format a file's suffix names (any case), if waveqda imports it."""
    return BY_SUFFIX.get(path.suffix.lower())


def is_refi(path: Path) -> bool:
    found = format_of(path)
    return found is not None and found.kind == REFI


def formats_table() -> str:
    """The Markdown table of import formats in the README (``tests/test_registries.py`` keeps it in step)."""
    rows = ["| file | what | read as |", "| --- | --- | --- |"]
    rows += [f"| `{f.suffix}` | {f.label} | {f.notes} |" for f in IMPORT_FORMATS]
    return "\n".join(rows)
