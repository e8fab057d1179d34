"""Transcript importers: one file in, one ``ParsedTranscript`` out (see ``models.parsed``).

``importers.formats`` lists the formats and their readers; ``parse_file`` checks a file and hands it to its
reader; ``importers.batch`` routes many files (and REFI-QDA projects, to ``importers.refi_import``) and
hands what they parsed to the domain layer to store.
"""

from __future__ import annotations

from pathlib import Path

from importers.formats import TRANSCRIPT, TRANSCRIPT_SUFFIXES, format_of
from models.errors import ImportRefused
from models.parsed import LabelRules, ParsedTranscript

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def parse_file(path: Path, rules: LabelRules | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedTranscript:
    """Parse one transcript file, refusing bad input with an ``ImportRefused`` naming the file."""
    from importers import safety

    rules = rules or LabelRules()
    found = format_of(path)
    if found is None or found.kind != TRANSCRIPT:
        supported = ", ".join(sorted(TRANSCRIPT_SUFFIXES))
        raise ImportRefused(f"{path.name}: unsupported file type {path.suffix or '(none)'}; supported: {supported}")
    if found.text:
        safety.check_file(path, found.name, max_bytes)
    else:
        # The archive itself (zip bombs, unsafe names, DTDs) is checked once, by parse_docx's safe_docx_open
        # right before python-docx reads it: checking it here as well cost ~5 ms per file.
        safety.check_file_size(path, max_bytes)
    parsed = found.load_reader()(path, rules)
    if not parsed.text.strip() or not parsed.turns:
        raise ImportRefused(f"{path.name}: no transcript text found (empty document)")
    return parsed
