"""What every importer hands the domain layer, and the speaker-label rules they share.

These plain types live in ``models`` (the lowest layer) so that ``importers`` can produce them and
``models.transcripts`` can store them without ``models`` importing ``importers``.

An importer turns one file into a ``ParsedTranscript``: the canonical plain text (LF line ends, no BOM,
code points as in the source, never NFC-normalised) and its speaker turns as ``[start, end)`` offsets into
that text. The turn span covers the speech only: a ``Name:`` label or a label line is in the text (it is
what the document says) but outside the turn. Timestamps from subtitle cues and transcription tables are
kept on the turn, not in the text.

Storing the result (participant, timepoint, sentences, search index) is ``models.transcripts``' job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from models.errors import WaveqdaError

DEFAULT_INTERVIEWER_LABELS = [r"interviewer", r"int", r"i", r"q", r"researcher", r"facilitator", r"moderator"]

# The speaker of speech in a file that never names one (unlabelled notes, captions without voices).
UNKNOWN_SPEAKER = "Unknown"

TIMESTAMP_PATTERN = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"

# Pieces of the two label patterns. A timestamp may come before the label ("[00:01:02] Tom: ...") or after
# it ("Tom (00:01:02): ...", Otter's "Speaker 1  0:03"); code reads any group whose name starts with
# ``timestamp``, so user-supplied patterns may name theirs ``timestamp`` alone.
_LEADING_TIMESTAMP = rf"(?:[\[(]?(?P<timestamp>{TIMESTAMP_PATTERN})[\])]?\s+)?"
_LABEL = r"(?P<label>[^\W\d_][\w\u0300-\u036f .'’\-]{0,40}?)"  # U+0300-036F: combining accents (NFD)
_TRAILING_TIMESTAMP = rf"(?:\s+[\[(]?(?P<timestamp_after>{TIMESTAMP_PATTERN})[\])]?)?"

# A speaker label at the start of a paragraph: "Name:", "**Name:**", "**Name**:", "Name (00:01:02):" ...
# Letters/digits/spaces/.'- and a colon followed by whitespace (so "at 10:30" is never a label).
DEFAULT_LABEL_PATTERN = rf"^\s*{_LEADING_TIMESTAMP}(?:\*\*)?{_LABEL}{_TRAILING_TIMESTAMP}(?:\*\*)?\s*:(?:\*\*)?\s+"

# A paragraph that is only a label, optionally with a timestamp: "Interviewer [00:03:15]", "**Tom:**".
DEFAULT_LABEL_LINE_PATTERN = (
    rf"^\s*{_LEADING_TIMESTAMP}(?:\*\*)?{_LABEL}{_TRAILING_TIMESTAMP}(?:\*\*)?\s*:?(?:\*\*)?\s*$"
)


@dataclass(frozen=True)
class ParsedTurn:
    speaker: str
    start: int
    end: int
    timestamp: str | None = None


@dataclass(frozen=True)
class ParsedTranscript:
    text: str
    turns: list[ParsedTurn]
    source_name: str
    source_format: str
    title: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class LabelRules:
    """Configurable speaker-label recognition (stored in project settings as ``label_rules``)."""

    label_pattern: str = DEFAULT_LABEL_PATTERN
    label_line_pattern: str = DEFAULT_LABEL_LINE_PATTERN
    interviewer_labels: list[str] = field(default_factory=lambda: list(DEFAULT_INTERVIEWER_LABELS))
    interviewer_initials: list[str] = field(default_factory=list)
    max_label_words: int = 4

    @classmethod
    def from_settings(cls, value: dict | None) -> LabelRules:
        rules = cls()
        for key, item in (value or {}).items():
            if hasattr(rules, key):
                setattr(rules, key, item)
        return rules

    def to_settings(self) -> dict:
        return {
            "label_pattern": self.label_pattern,
            "label_line_pattern": self.label_line_pattern,
            "interviewer_labels": self.interviewer_labels,
            "interviewer_initials": self.interviewer_initials,
            "max_label_words": self.max_label_words,
        }

    def compiled_patterns(self) -> tuple[re.Pattern[str], re.Pattern[str]]:
        """(label line, label prefix) patterns; a broken user setting is a readable error, not ``re.error``."""
        compiled = []
        for name in ("label_line_pattern", "label_pattern"):
            try:
                pattern = re.compile(getattr(self, name))
            except re.error as exc:
                raise WaveqdaError(f"label rules: {name} is not a valid regular expression ({exc})") from exc
            if "label" not in pattern.groupindex:
                raise WaveqdaError(f"label rules: {name} needs a named group (?P<label>...)")
            compiled.append(pattern)
        return compiled[0], compiled[1]

    def role_of(self, speaker: str) -> str:
        """``interviewer`` for labels matching the interviewer patterns or initials, else ``participant``."""
        label = speaker.strip().strip("*").strip().rstrip(":").strip().lower()
        label = re.sub(r"\s*\d+$", "", label) if label.startswith(("interviewer", "researcher")) else label
        names = [p.lower() for p in self.interviewer_labels] + [i.lower() for i in self.interviewer_initials]
        for pattern in names:
            if re.fullmatch(pattern, label):
                return "interviewer"
        return "participant"
