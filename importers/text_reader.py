"""Plain-text and Markdown transcripts (``.txt``, ``.md``), and the decoding shared with subtitle files.

Decoding never guesses over valid UTF-8: a BOM decides first, then strict UTF-8, then UTF-16 without a BOM,
and only then is the encoding detected (``importers.encoding``: Windows-1252 for Western languages, what
Word's "Save as plain text" writes on Western Windows, Windows-1250, Shift-JIS...), or the file refused.
The canonical text keeps the file's own code points (no NFC): offsets stored against it must match the file.
"""

from __future__ import annotations

from pathlib import Path

from importers.encoding import decode
from importers.labels import Line, find_turns, markdown_heading, split_lines
from models.errors import ImportRefused
from models.parsed import LabelRules, ParsedTranscript


def decode_text(data: bytes, name: str) -> str:
    """Canonical text of a file's bytes: decoded as ``importers.encoding`` decides (or refused), BOM removed,
    line ends LF, code points untouched."""
    text = decode(data, name)[0].replace("\r\n", "\n").replace("\r", "\n")
    nul = text.find("\x00")
    if nul >= 0:
        # SQLite's text functions stop at a NUL, so text after one could be stored but never coded or
        # searched at the right place: refuse the file rather than keep it half usable.
        line = text.count("\n", 0, nul) + 1
        raise ImportRefused(f"{name}: binary content, not text (a NUL character on line {line})")
    return text


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


def parse_txt(path: Path, rules: LabelRules) -> ParsedTranscript:
    return parse_text(path, rules, "txt")


def parse_md(path: Path, rules: LabelRules) -> ParsedTranscript:
    return parse_text(path, rules, "md")
