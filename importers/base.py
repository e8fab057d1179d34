"""What every importer produces, and the speaker-label rules they share.

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

DEFAULT_INTERVIEWER_LABELS = [r"interviewer", r"int", r"i", r"q", r"researcher", r"facilitator", r"moderator"]

# A speaker label at the start of a paragraph: "Name:", "**Name:**", "Name (00:01:02):" ...
# Up to five words, letters/digits/spaces/.'- ; the label must be followed by a colon.
DEFAULT_LABEL_PATTERN = r"^\s*(?:\*\*)?(?P<label>[^\W\d_][\w .'’\-]{0,40}?)(?:\*\*)?\s*:(?:\*\*)?\s+"

# A paragraph that is only a label, optionally followed by a timestamp: "Interviewer [00:03:15]".
DEFAULT_LABEL_LINE_PATTERN = (
    r"^\s*(?P<label>[^\W\d_][\w .'’\-]{0,40}?)\s*(?:[\[(](?P<timestamp>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)[\])])?\s*:?\s*$"
)

TIMESTAMP_PATTERN = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"


@dataclass
class ParsedTurn:
    speaker: str
    start: int
    end: int
    timestamp: str | None = None


@dataclass
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

    def role_of(self, speaker: str) -> str:
        """``interviewer`` for labels matching the interviewer patterns or initials, else ``participant``."""
        label = speaker.strip().strip("*").strip().rstrip(":").strip().lower()
        label = re.sub(r"\s*\d+$", "", label) if label.startswith(("interviewer", "researcher")) else label
        names = [p.lower() for p in self.interviewer_labels] + [i.lower() for i in self.interviewer_initials]
        for pattern in names:
            if re.fullmatch(pattern, label):
                return "interviewer"
        return "participant"


def merge_consecutive(turns: list[ParsedTurn], text: str) -> list[ParsedTurn]:
    """Join consecutive turns by the same speaker into one (the span runs from first start to last end)."""
    merged: list[ParsedTurn] = []
    for turn in turns:
        if merged and merged[-1].speaker == turn.speaker:
            merged[-1].end = turn.end
            continue
        merged.append(ParsedTurn(turn.speaker, turn.start, turn.end, turn.timestamp))
    return merged
