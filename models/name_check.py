"""Is a file safe to leave? Registered names and unreviewed candidates in an exported file.

``waveqda names PROJECT check FILE`` and the gate every ``--anonymise`` export passes before its file is
put in place both call :func:`check_file`: the text is read back out of the written file (every paragraph,
table cell, comment, header and document property of a ``.docx``; every string of an ``.xlsx``; every cell
of a ``.csv``; the project XML and every source text of a ``.qdpx``), then

* every spelling the register holds (and every participant's own name used as a speaker label) is looked
  for with the same matcher the exports replace with, and
* the scan's detectors (``models.name_detection``) look for new candidates; words the researcher rejected,
  the register's pseudonyms, study IDs, timepoints and coders' names are not reported.

A finding names the part of the file and the words around it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import WaveqdaError
from models.name_detection import Detector, Piece, joined, person_key
from models.schema import Participant, Timepoint
from models.store import Project

MAX_PART_BYTES = 512 * 1024 * 1024  # a larger member is not an export of ours
# A Word report's page footer ("Page 3 of 12", the numbers are fields): the reports' own words.
BOILERPLATE = re.compile(r"\s*Page\s*\d*\s*of\s*\d*\s*")
SUFFIXES = (".docx", ".xlsx", ".csv", ".qdpx", ".txt", ".md")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ID_ATTRIBUTES = {"guid", "targetGUID", "creatingUser", "modifyingUser", "plainTextPath", "creationDateTime",
                  "modifiedDateTime", "startPosition", "endPosition", "color", "isCodable", "typeOfVariable",
                  "origin"}  # fmt: skip


class UnreviewedNamesError(WaveqdaError):
    """An anonymised export refused by the check before writing: ``names`` are in its text, unreviewed."""

    def __init__(self, file_name: str, project_name: str, names: list[str]) -> None:
        self.file_name, self.names = file_name, names
        examples = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        super().__init__(
            f"{file_name}: not written: {len(names)} name(s) in its text are not reviewed ({examples}); review "
            f"them with `waveqda names {project_name} scan` or the workspace's Names screen (F7), or export "
            "with --accept-risk"
        )

    @property
    def examples(self) -> str:
        return ", ".join(self.names[:5]) + (", …" if len(self.names) > 5 else "")


@dataclass(frozen=True)
class Finding:
    """One identifying term in a file: ``kind`` is ``registered`` (the register holds it) or ``candidate``."""

    kind: str
    text: str
    category: str
    where: str
    context: str
    replacement: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        what = (
            f"registered name {self.text!r} (→ {self.replacement})"
            if self.kind == "registered"
            else (f"unreviewed {self.category} {self.text!r}")
        )
        return f"{self.where}: {what}: {self.context}"


# --- reading files back -------------------------------------------------------------------------------------


def file_pieces(path: Path) -> list[Piece]:
    """The text of an exported file as pieces (paragraphs, cells and source texts, joined into few)."""
    return joined(_file_pieces(Path(path)))


def _file_pieces(path: Path) -> list[Piece]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise WaveqdaError(f"{path}: cannot check a {suffix or 'suffix-less'} file; use one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise WaveqdaError(f"{path}: no such file")
    try:
        if suffix in (".csv", ".txt", ".md"):
            return _text_pieces(path, suffix)
        with zipfile.ZipFile(path) as archive:
            if suffix == ".docx":
                return _docx_pieces(archive)
            if suffix == ".xlsx":
                return _xlsx_pieces(archive)
            return _qdpx_pieces(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WaveqdaError(f"{path}: cannot read it as {suffix} ({exc})") from exc


def _text_pieces(path: Path, suffix: str) -> list[Piece]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if suffix != ".csv":
        return [Piece(text, path.name)]
    pieces = []
    for row_number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        pieces += [Piece(cell, f"row {row_number}") for cell in row if cell.strip()]
    return pieces


def _xml(archive: zipfile.ZipFile, name: str) -> Any:
    from lxml import etree

    info = archive.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise ValueError(f"{name} is {info.file_size:,} bytes uncompressed")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    return etree.fromstring(archive.read(name), parser)


def _docx_pieces(archive: zipfile.ZipFile) -> list[Piece]:
    pieces: list[Piece] = []
    for name in sorted(archive.namelist()):
        if not name.endswith(".xml"):
            continue
        root = _xml(archive, name)
        if name.startswith("word/"):
            for number, para in enumerate(root.iter(f"{_W}p"), 1):
                text = "".join(
                    node.text or "" if node.tag == f"{_W}t" else "\t" if node.tag == f"{_W}tab" else "\n"
                    for node in para.iter(f"{_W}t", f"{_W}tab", f"{_W}br")
                )
                if text.strip():
                    pieces.append(Piece(text, f"{name} paragraph {number}"))
        elif name == "docProps/core.xml":  # title, subject, author...: app.xml names only the program
            pieces += _all_text(root, name)
    return pieces


def _xlsx_pieces(archive: zipfile.ZipFile) -> list[Piece]:
    pieces: list[Piece] = []
    for name in sorted(archive.namelist()):
        if not name.endswith(".xml"):
            continue
        root = _xml(archive, name)
        if name == "xl/sharedStrings.xml":
            for number, item in enumerate(root.iter(f"{_S}si"), 1):
                text = "".join(t.text or "" for t in item.iter(f"{_S}t"))
                if text.strip():
                    pieces.append(Piece(text, f"shared string {number}"))
        elif name.startswith("xl/worksheets/"):
            for cell in root.iter(f"{_S}c"):
                inline = cell.find(f"{_S}is")
                if inline is not None:
                    text = "".join(t.text or "" for t in inline.iter(f"{_S}t"))
                    if text.strip():
                        pieces.append(Piece(text, f"{name} cell {cell.get('r')}"))
        elif name == "docProps/core.xml":
            pieces += _all_text(root, name)
    return pieces


def _qdpx_pieces(archive: zipfile.ZipFile) -> list[Piece]:
    pieces: list[Piece] = []
    for name in sorted(archive.namelist()):
        info = archive.getinfo(name)
        if info.file_size > MAX_PART_BYTES:
            raise ValueError(f"{name} is {info.file_size:,} bytes uncompressed")
        if name.endswith(".qde"):
            pieces += _all_text(_xml(archive, name), name)
        elif name.endswith(".txt"):
            pieces.append(Piece(archive.read(name).decode("utf-8", errors="replace"), name))
    return pieces


def _all_text(root: Any, name: str) -> list[Piece]:
    pieces = []
    for element in root.iter():
        if not isinstance(element.tag, str):  # comments, processing instructions
            continue
        tag = element.tag.rsplit("}", 1)[-1]
        if element.text and element.text.strip():
            pieces.append(Piece(element.text, f"{name} {tag}"))
        for attribute, value in element.attrib.items():
            if attribute not in _ID_ATTRIBUTES and value.strip():
                pieces.append(Piece(value, f"{name} {tag}@{attribute}"))
    return pieces


# --- checking -----------------------------------------------------------------------------------------------


def check_pieces(session: Session, pieces: list[Piece], coders: bool = False) -> list[Finding]:
    """Registered names and new candidates in ``pieces`` (see the module docstring)."""
    from models import names

    replacer = names.anonymiser(session, coders=coders)
    findings: list[Finding] = []
    registered: set[str] = set()
    for piece in pieces:
        for start, end, replacement in replacer.find(piece.text):
            where, lo, hi = piece.region_at(start)
            if BOILERPLATE.fullmatch(piece.text[lo:hi]):
                continue
            context = _context(piece.text, start, end, lo, hi)
            findings.append(Finding("registered", piece.text[start:end], "", where, context, replacement))
            registered.add(person_key(piece.text[start:end]))
    known = [s for e in names.entries(session) for s in names._spellings(e)]
    detector = Detector(known=known, allowed=allowed_words(session))
    rejected = names.rejected_keys(session)
    in_register = names.registered_keys(session) | registered
    seen: set[tuple[str, str]] = set()
    for hit in detector.detect(pieces):
        key = hit.key
        if key in rejected or person_key(hit.text) in in_register or key in in_register:
            continue
        piece = pieces[hit.piece]
        where, lo, hi = piece.region_at(hit.start)
        if (key, where) in seen or BOILERPLATE.fullmatch(piece.text[lo:hi]):
            continue
        seen.add((key, where))
        findings.append(
            Finding("candidate", hit.text, hit.category, where, _context(piece.text, hit.start, hit.end, lo, hi))
        )
    return findings


def allowed_words(session: Session) -> list[str]:
    """Words an anonymised export is meant to hold: pseudonyms, study IDs, timepoints, coders."""
    from models import names

    words = [e.replacement for e in names.entries(session)]
    words += list(session.scalars(select(Participant.study_id)))
    for key, label in session.execute(select(Timepoint.key, Timepoint.label)):
        words += [key, label]
    pseudonyms = names.coder_pseudonyms(session)
    words += [*pseudonyms, *pseudonyms.values(), names.CONSENSUS_CODER, "[Participant]"]
    return words


def check_file(project: Project, path: Path | str, coders: bool = False) -> list[Finding]:
    """``waveqda names PROJECT check FILE``: every finding in the file (empty: nothing identifying found)."""
    pieces = file_pieces(Path(path))
    with project.read() as session:
        return check_pieces(session, pieces, coders)


def _context(text: str, start: int, end: int, lo: int = 0, hi: int | None = None, width: int = 40) -> str:
    hi = len(text) if hi is None else hi
    left = text[max(lo, start - width) : start].replace("\n", " ")
    right = text[end : min(hi, end + width)].replace("\n", " ")
    return f"…{left}[{text[start:end]}]{right}…"
