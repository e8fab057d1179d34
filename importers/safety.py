"""Refusing bad input before a parser reads it.

Researchers import whatever their transcription service, colleague or USB stick gave them, so a file may
be empty, binary, huge, truncated, or a hostile archive. Every check here is cheap and bounded: text files
are judged on their first 64 KiB; a ``.docx`` is judged on its zip central directory (declared sizes,
names, entry count) and on the prolog of each XML part, so a zip bomb or a billion-laughs document is
refused in milliseconds without being unpacked or expanded.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from pathlib import Path, PureWindowsPath
from typing import NoReturn

import docx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from docx.document import Document
from docx.exceptions import PythonDocxError
from docx.opc.exceptions import OpcError
from lxml import etree

from importers.encoding import bom_codec, utf16_codec
from models.errors import ImportRefused

MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_DOCX_ENTRIES = 2_000
MAX_COMPRESSION_RATIO = 100
# Members smaller than this are never bombs on their own (the total cap still counts them); small XML
# parts full of repeated markup can legitimately compress very well.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
TEXT_SAMPLE_BYTES = 64 * 1024
MAX_CONTROL_FRACTION = 0.1
# Control characters that do not occur in text: below U+0020 except \t \n \v \f \r, and DEL.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
_EOCD_SIGNATURE = b"PK\x05\x06"
_EOCD_SEARCH_BYTES = 22 + 65_535  # the end record plus the longest possible archive comment

# What the zip module raises on damaged or unsupported archives (truncated, bad deflate data, encrypted).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)
# What python-docx raises on a damaged package: missing parts, bad XML, bad attribute values.
DOCX_ERRORS = (*ZIP_ERRORS, PythonDocxError, OpcError, etree.LxmlError, KeyError, ValueError)


def check_file(path: Path, fmt: str, max_bytes: int) -> None:
    """Raise ``ImportRefused("<name>: <reason>")`` unless ``path`` is a plausible ``fmt`` file."""
    check_file_size(path, max_bytes)
    if fmt == "docx":
        check_docx_archive(path)
    else:
        _check_text_sample(path)


def check_file_size(path: Path, max_bytes: int) -> None:
    """The checks every format shares: a regular, readable, non-empty file of at most ``max_bytes``.

    ``parse_file`` runs only these on a ``.docx`` before ``parse_docx``: the archive checks run once, in
    ``safe_docx_open``, right before python-docx opens the file.
    """
    size = _file_size(path)
    if size == 0:
        _refuse(path, "the file is empty")
    if size > max_bytes:
        _refuse(path, f"the file is too large ({size:,} bytes; the import limit is {max_bytes:,} bytes)")


def check_docx_archive(path: Path) -> None:
    """Refuse a ``.docx`` that is not a zip, is a zip bomb, has unsafe entry names or DTDs in its XML."""
    try:
        _check_declared_entry_count(path)
        with zipfile.ZipFile(path) as archive:
            _check_entries(path, archive.infolist())
            if "word/document.xml" not in archive.namelist():
                _refuse(path, "not a Word document (the archive has no word/document.xml)")
            for info in archive.infolist():
                if info.filename.endswith((".xml", ".rels")):
                    _check_xml_prolog(path, archive, info)
    except ZIP_ERRORS as exc:
        _refuse(path, f"not a valid .docx file ({_zip_reason(exc)})", exc)


def safe_docx_open(path: Path) -> Document:
    """Open a ``.docx`` with python-docx only after ``check_docx_archive`` passes; damage is refused.

    This is the only place a transcript ``.docx`` reaches python-docx, and it always checks first, so a
    direct ``parse_docx`` call is as safe as ``parse_file`` (which therefore does not check the archive
    again: see ``check_file_size``).
    """
    check_docx_archive(path)
    try:
        return docx.Document(str(path))
    except DOCX_ERRORS as exc:
        _refuse(path, f"not a readable Word document ({exc})", exc)


def _refuse(path: Path, reason: str, cause: BaseException | None = None) -> NoReturn:
    raise ImportRefused(f"{path.name}: {reason}") from cause


def _file_size(path: Path) -> int:
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        _refuse(path, "file not found", exc)
    except OSError as exc:
        _refuse(path, f"cannot read the file ({exc.strerror or exc})", exc)
    if not stat.S_ISREG(info.st_mode):
        _refuse(path, "not a regular file")
    return info.st_size


def _read_head(path: Path, n: int) -> bytes:
    try:
        with path.open("rb") as stream:
            return stream.read(n)
    except OSError as exc:
        _refuse(path, f"cannot read the file ({exc.strerror or exc})", exc)


def _check_text_sample(path: Path) -> None:
    """Binary data in a text format: NUL bytes (unless a UTF-16/32 BOM or UTF-16's pattern of zero bytes
    explains them) or many controls."""
    sample = _read_head(path, TEXT_SAMPLE_BYTES)
    codec = bom_codec(sample) or (utf16_codec(sample) if b"\x00" in sample else None)
    if codec is None and b"\x00" in sample:
        _refuse(path, "binary content, not text (NUL bytes)")
    if codec is None:  # one byte is one character (as latin-1 would decode it): count bytes, no decoding
        length = len(sample)
        controls = length - len(sample.translate(None, _CONTROL_BYTES))
    else:
        chars = sample.decode(codec, errors="ignore")
        length = len(chars)
        controls = len(_CONTROL_CHARS.findall(chars))
    if controls > MAX_CONTROL_FRACTION * max(length, 1):
        _refuse(path, "binary content, not text (too many control characters)")


def _check_declared_entry_count(path: Path) -> None:
    """Read the entry count from the zip's end record before ``zipfile`` builds one object per entry.

    ``zipfile`` has no public way to do this, and a 50 MB archive can declare a million tiny entries.
    Zip64 archives with 65,535+ entries store 0xFFFF here, which is over the cap too.
    """
    with path.open("rb") as stream:
        size = stream.seek(0, os.SEEK_END)
        stream.seek(max(0, size - _EOCD_SEARCH_BYTES))
        tail = stream.read()
    at = tail.rfind(_EOCD_SIGNATURE)
    if at >= 0 and len(tail) >= at + 12:
        declared = int.from_bytes(tail[at + 10 : at + 12], "little")
        if declared > MAX_DOCX_ENTRIES:
            _refuse(path, f"refused as a possible zip bomb: {declared:,} archive entries")


def _check_entries(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_DOCX_ENTRIES:
        _refuse(path, f"refused as a possible zip bomb: {len(infos):,} archive entries")
    total = sum(info.file_size for info in infos)
    if total > MAX_DOCX_UNCOMPRESSED:
        _refuse(path, f"refused as a possible zip bomb: it would unpack to {total:,} bytes")
    for info in infos:
        name = PureWindowsPath(info.filename)  # splits on both / and \
        if name.anchor or ".." in name.parts:
            _refuse(path, f"unsafe path in the archive: {info.filename!r}")
        if info.file_size >= RATIO_CHECK_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            _refuse(path, f"refused as a possible zip bomb: {info.filename} is compressed {ratio:,}:1")


def _check_xml_prolog(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Parse up to the root element with defusedxml: a DTD can only come before it, and Word never
    writes one, so any DOCTYPE/ENTITY (billion laughs, external entities) is refused unexpanded."""
    with archive.open(info) as stream:
        try:
            for _event in iterparse(stream, events=("start",), forbid_dtd=True):
                return
        except DefusedXmlException as exc:
            _refuse(path, f"{info.filename} declares a DTD or entities (refused: possible XML bomb)", exc)
        except ParseError as exc:
            _refuse(path, f"{info.filename} is not well-formed XML ({exc})", exc)


def _zip_reason(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile) and "not a zip file" in str(exc).lower():
        return "not a zip archive: damaged, an old .doc file, or password-protected"
    return str(exc) or type(exc).__name__
