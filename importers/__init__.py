"""Transcript importers: one file in, one ``ParsedTranscript`` out (see ``models.parsed``)."""

from __future__ import annotations

from pathlib import Path

from models.errors import ImportRefused
from models.parsed import LabelRules, ParsedTranscript

SUPPORTED_SUFFIXES = {".docx": "docx", ".txt": "txt", ".md": "md", ".vtt": "vtt", ".srt": "srt"}
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def parse_file(path: Path, rules: LabelRules | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedTranscript:
    """Parse one transcript file, refusing bad input with an ``ImportRefused`` naming the file."""
    from importers import safety

    rules = rules or LabelRules()
    fmt = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise ImportRefused(f"{path.name}: unsupported file type {path.suffix or '(none)'}; supported: {supported}")
    if fmt == "docx":
        # The archive itself (zip bombs, unsafe names, DTDs) is checked once, by parse_docx's safe_docx_open
        # right before python-docx reads it: checking it here as well cost ~5 ms per file.
        safety.check_file_size(path, max_bytes)
    else:
        safety.check_file(path, fmt, max_bytes)
    if fmt == "docx":
        from importers.docx_reader import parse_docx

        parsed = parse_docx(path, rules)
    elif fmt in ("txt", "md"):
        from importers.text_reader import parse_text

        parsed = parse_text(path, rules, fmt)
    elif fmt == "vtt":
        from importers.subtitle_reader import parse_vtt

        parsed = parse_vtt(path, rules)
    else:
        from importers.subtitle_reader import parse_srt

        parsed = parse_srt(path, rules)
    if not parsed.text.strip() or not parsed.turns:
        raise ImportRefused(f"{path.name}: no transcript text found (empty document)")
    return parsed
