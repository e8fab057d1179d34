"""Reading untrusted REFI-QDA packages without trusting them.

A ``.qdpx`` comes from another tool, another person, or an attacker: a zip holding XML and source files. The
checks here run before anything is parsed or written, so that a hostile or broken package is refused with one
readable line instead of exhausting memory, reading files outside the archive or expanding entities:

- zip entries: at most ``MAX_ENTRIES``; names must be relative, without ``..``, drive letters or duplicates;
- inflated size: every read is counted as it streams (declared sizes can lie), per entry and in total;
- XML: lxml with entity resolution, DTD loading and network access off; any DTD at all is refused, because
  REFI-QDA files never need one and entity declarations are how expansion attacks start.

The caps are module constants so that tests can lower them.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Any

from models.errors import ImportRefused

MAX_ENTRIES = 10_000
MAX_ENTRY_BYTES = 200 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_XML_FILE_BYTES = 200 * 1024 * 1024
CHUNK = 1024 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_name_reason(name: str) -> str | None:
    """Why an entry or reference name could escape the archive (absolute, drive, ``..``), or None if safe."""
    if not name or "\x00" in name:
        return "empty or NUL name"
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        return "absolute path"
    if ".." in PurePosixPath(unified).parts:
        return "'..' in path"
    return None


class SafeArchive:
    """A zip opened for reading with its entry names checked and every read counted against the caps."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.read_total = 0
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ImportRefused(f"{self.path.name}: not a readable zip archive ({exc})") from exc
        try:
            self._entries = self._checked_entries()
        except ImportRefused:
            self._zip.close()
            raise

    def _checked_entries(self) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ImportRefused(f"{self.path.name}: {len(infos)} entries (limit {MAX_ENTRIES}): refused")
        entries: dict[str, zipfile.ZipInfo] = {}
        declared = 0
        for info in infos:
            reason = unsafe_name_reason(info.filename)
            if reason:
                raise ImportRefused(f"{self.path.name}: unsafe entry name {info.filename!r} ({reason}): refused")
            key = info.filename.replace("\\", "/")
            if key in entries:
                raise ImportRefused(f"{self.path.name}: entry {key!r} appears twice: refused")
            if info.file_size > MAX_ENTRY_BYTES:
                raise ImportRefused(f"{self.path.name}: entry {key!r} inflates to {info.file_size} bytes: refused")
            declared += info.file_size
            entries[key] = info
        if declared > MAX_TOTAL_BYTES:
            raise ImportRefused(f"{self.path.name}: contents inflate to {declared} bytes: refused")
        return entries

    def names(self) -> list[str]:
        return [name for name, info in self._entries.items() if not info.is_dir()]

    def find(self, name: str) -> str | None:
        """The entry called ``name``, matched exactly, else case-insensitively (``Sources/`` vs ``sources/``)."""
        if name in self._entries:
            return name
        folded = name.casefold()
        return next((entry for entry in self._entries if entry.casefold() == folded), None)

    def read(self, name: str) -> bytes:
        """An entry's bytes, refusing as soon as it inflates beyond the per-entry or total cap."""
        info = self._entries[name]
        chunks: list[bytes] = []
        size = 0
        try:
            with self._zip.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    self.read_total += len(chunk)
                    if size > MAX_ENTRY_BYTES or self.read_total > MAX_TOTAL_BYTES:
                        raise ImportRefused(
                            f"{self.path.name}: entry {name!r} inflates beyond the size limit (zip bomb?): refused"
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
            raise ImportRefused(f"{self.path.name}: cannot read entry {name!r} ({exc})") from exc
        return b"".join(chunks)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_nested_zip(data: bytes, label: str) -> None:
    """Refuse a zip inside the package (a ``.docx``) that would inflate past the caps before a library opens it.

    python-docx reads every part into memory, so a bomb inside a ``.docx`` must be caught here.
    """
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            infos = inner.infolist()
            if len(infos) > MAX_ENTRIES:
                raise ImportRefused(f"{label}: {len(infos)} entries (limit {MAX_ENTRIES}): refused")
            total = 0
            for info in infos:
                with inner.open(info) as stream:
                    total += _count_stream(stream, MAX_ENTRY_BYTES - total, label)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
        raise ImportRefused(f"{label}: not a readable .docx ({exc})") from exc


def _count_stream(stream: IO[bytes], budget: int, label: str) -> int:
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > budget:
            raise ImportRefused(f"{label}: inflates beyond the size limit (zip bomb?): refused")
    return size


def parse_xml(data: bytes, label: str) -> Any:
    """Parse untrusted XML into an lxml root element, refusing DTDs, entities and oversized input."""
    from lxml import etree

    if len(data) > MAX_XML_FILE_BYTES:
        raise ImportRefused(f"{label}: XML of {len(data)} bytes is beyond the size limit: refused")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
            raise ImportRefused(f"{label}: declares a DTD or entities (entity expansion?): refused") from exc
        raise ImportRefused(f"{label}: not well-formed XML ({exc})") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise ImportRefused(f"{label}: declares a DTD or entities, which REFI-QDA files never need: refused")
    return root


def read_xml_file(path: Path) -> Any:
    """A bare XML file (``.qdc``) read with the size cap checked before reading."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportRefused(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if size > MAX_XML_FILE_BYTES:
        raise ImportRefused(f"{path.name}: {size} bytes is beyond the size limit: refused")
    return parse_xml(path.read_bytes(), path.name)
