"""Plain-text and Markdown transcripts (``.txt``, ``.md``), and the decoding shared with subtitle files.

Decoding never guesses over valid UTF-8: a BOM decides first, then strict UTF-8, and only bytes that are
not UTF-8 are read as Windows-1252 (what Word's "Save as plain text" writes on Western Windows). The
canonical text keeps the file's own code points (no NFC): offsets stored against it must match the file.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from importers.base import LabelRules, ParsedTranscript
from importers.labels import Line, find_turns, markdown_heading, split_lines
from models.errors import ImportRefused

# UTF-32 first: its little-endian BOM begins with the UTF-16 one.
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def bom_codec(data: bytes) -> str | None:
    """The codec named by the byte-order mark ``data`` starts with (the codec strips the BOM), if any."""
    return next((codec for bom, codec in _BOMS if data.startswith(bom)), None)


def decode_text(data: bytes, name: str) -> str:
    """Canonical text of a file's bytes: BOM removed, line ends LF, code points untouched."""
    codec = bom_codec(data)
    for candidate in [codec] if codec else ["utf-8", "cp1252"]:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        nul = text.find("\x00")
        if nul >= 0:
            # SQLite's text functions stop at a NUL, so text after one could be stored but never coded or
            # searched at the right place: refuse the file rather than keep it half usable.
            line = text.count("\n", 0, nul) + 1
            raise ImportRefused(f"{name}: binary content, not text (a NUL character on line {line})")
        return text
    expected = codec.removesuffix("-sig").upper() if codec else "UTF-8 or Windows-1252"
    raise ImportRefused(f"{name}: not valid {expected} text (the file cannot be decoded)")


def read_text(path: Path) -> str:
    """Read and decode a text file, refusing unreadable or undecodable files."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportRefused(f"{path.name}: cannot read the file ({exc.strerror or exc})") from exc
    return decode_text(data, path.name)


def parse_text(path: Path, rules: LabelRules, fmt: str) -> ParsedTranscript:
    """A ``.txt`` or ``.md`` transcript: each line may start a turn; headings are text but never turns.
    Trailing blank lines are dropped, as in the other formats (they end no turn and hold no text)."""
    text = read_text(path).rstrip()
    lines = [Line(start, line, heading=markdown_heading(line) is not None) for start, line in split_lines(text)]
    title = next((h for line in lines if line.heading and (h := markdown_heading(line.text))), path.stem)
    return ParsedTranscript(text, find_turns(lines, rules), path.name, fmt, title=title)
