"""Finding speaker turns in the lines of a transcript (shared by the text and Word readers).

Interview transcripts mark speakers in a handful of layouts (``Name: speech``, ``**Name:**``, a bold name,
a name alone on its own line with or without a timestamp), but the same shapes occur in speech ("The thing
is: nobody told me", a one-word answer on its own line). Labels are therefore found in two passes: first
every line that *could* start a turn is collected, then a candidate is accepted only with enough evidence:

* ``prefix`` (``Name: speech``, ``**Name:**``) and ``line`` (``Name:`` or ``Name [00:03:15]`` alone on its
  line): an interviewer label, a name-like label (every word capitalised) or a label used at least twice
  in the file.
* ``bold`` (a bold name, no colon, alone or before speech): an interviewer label or one used at least
  twice, because bold is also used for emphasis.
* ``bare`` (a plain name alone on a line, no colon or bracketed timestamp): an interviewer label, or a
  name-like label used at least twice or followed by a bare time (Otter's "Speaker 2  0:05"); only in
  files that have no ``Name: speech`` labels at all, and never straight after another label line (that
  line is the speech: "Tom" / "Yes").
* ``row``: the speaker column of a transcription table; structure, not a guess, so always accepted.

Every candidate must also be short (``rules.max_label_words``) and start with a capital letter or be a
known interviewer label.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from models.parsed import UNKNOWN_SPEAKER, LabelRules, ParsedTurn

LabelKind = Literal["prefix", "line", "bold", "bare", "row"]
# A label line is "marked" by a bracketed timestamp or a final colon; a lone word is not ("**Okay**").
_MARKED_LINE = re.compile(r"^\s*[\[(]|[\])]\s*$|:(?:\*\*)?\s*$")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)")


@dataclass
class Label:
    """Who speaks on a line and where (offset within the line) the speech after the label begins."""

    speaker: str
    speech: int
    timestamp: str | None = None
    kind: LabelKind = "prefix"


@dataclass
class Line:
    """One line of the canonical text (no ``\\n`` inside), at offset ``start``.

    ``bold`` is the length of the bold text the line starts with (Word only). ``fixed`` lines come from
    document structure (transcription-table rows): their ``label`` is final and no heuristic runs on them.
    """

    start: int
    text: str
    heading: bool = False
    bold: int = 0
    fixed: bool = False
    label: Label | None = None


def split_lines(text: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """Each ``\\n``-separated line of ``text`` with its offset (``str.splitlines`` also splits on other
    separators such as U+2028, which would put offsets out of step with the text)."""
    for part in text.split("\n"):
        yield start, part
        start += len(part) + 1


def markdown_heading(line: str) -> str | None:
    """The text of an ATX heading (``# Title``), or None for any other line."""
    match = _ATX_HEADING.match(line)
    if match is None:
        return None
    return line[match.end() :].strip().rstrip("#").strip()


def find_turns(lines: list[Line], rules: LabelRules, labels: list[Label | None] | None = None) -> list[ParsedTurn]:
    """The speaker turns in ``lines``; unlabelled lines continue the turn before them. A file with no
    labels at all is one ``UNKNOWN_SPEAKER`` turn (per heading section) rather than no transcript.
    ``labels``: ``accepted_labels(lines, rules)`` when the caller has them already."""
    if labels is None:
        labels = accepted_labels(lines, rules)
    builder = _TurnBuilder()
    if not any(labels):
        builder.turns.append(_OpenTurn(UNKNOWN_SPEAKER, None, "prefix"))
    for line, label in zip(lines, labels, strict=True):
        if line.heading:
            builder.break_turn()
        elif label is not None:
            builder.start(line, label)
        elif line.text.strip():
            builder.continue_turn(line)
    return builder.finish()


def accepted_labels(lines: list[Line], rules: LabelRules) -> list[Label | None]:
    """For each line, its speaker label if the evidence in the whole file supports one (see module doc)."""
    compiled = rules.compiled_patterns()
    candidates = [_candidate(line, rules, compiled) for line in lines]
    counts = Counter(c.speaker for c in candidates if c is not None)
    interviewers = {speaker for speaker in counts if is_interviewer(speaker, rules)}  # once per name
    accepted = [c if c is not None and _has_evidence(c, counts, interviewers) else None for c in candidates]
    prefix_layout = any(c is not None and c.kind == "prefix" for c in accepted)
    after_label_line = False
    for index, (line, label) in enumerate(zip(lines, accepted, strict=True)):
        if not line.text.strip():
            continue
        if label is not None and label.kind == "bare" and (prefix_layout or after_label_line):
            accepted[index] = label = None
        after_label_line = label is not None and label.speech >= len(line.text.rstrip())
    return accepted


def is_plausible(label: str, rules: LabelRules) -> bool:
    """Short enough, and capitalised like a name or a known interviewer label ("int", "i")."""
    words = label.split()
    if not words or len(words) > rules.max_label_words:
        return False
    return label[0].isupper() or is_interviewer(label, rules)


def is_name_like(label: str) -> bool:
    """Every word capitalised or a number: "Tom", "Speaker 2", "Dr. Okafor" (not "The thing is")."""
    return all(word[0].isupper() or word[0].isdigit() for word in label.split())


def is_interviewer(label: str, rules: LabelRules) -> bool:
    return rules.role_of(label) == "interviewer"


def _has_evidence(label: Label, counts: Counter[str], interviewers: set[str]) -> bool:
    if label.kind == "row" or label.speaker in interviewers:
        return True
    recurring = counts[label.speaker] >= 2
    if label.kind == "bold":
        return recurring
    if label.kind == "bare":
        evidence = recurring or label.timestamp is not None
        return evidence and is_name_like(label.speaker) and not label.speaker.endswith((".", "?", "!"))
    return recurring or is_name_like(label.speaker)


def _candidate(line: Line, rules: LabelRules, compiled: tuple[re.Pattern, re.Pattern]) -> Label | None:
    """The label this line could start with, before weighing the evidence."""
    if line.fixed or line.heading:
        return line.label
    if not line.text.strip():
        return None
    label = _bold_candidate(line, compiled[0]) or _pattern_candidate(line.text, compiled)
    if label is None or not is_plausible(label.speaker, rules):
        return None
    return label


def _bold_candidate(line: Line, line_pattern: re.Pattern) -> Label | None:
    """A label in the bold text a Word paragraph starts with: "**Tom:** speech", "**Tom** speech"."""
    if not line.bold:
        return None
    match = line_pattern.match(line.text[: line.bold])
    if match is None:
        return None
    rest = line.text[line.bold :]
    speech = line.bold + len(rest) - len(rest.lstrip().removeprefix(":").lstrip())
    kind: LabelKind = "bold"
    if match.group(0).rstrip().endswith(":") or rest.lstrip().startswith(":"):
        kind = "prefix" if rest.strip(" \t:") else "line"
    return Label(match.group("label").strip(), speech, _timestamp(match), kind)


def _pattern_candidate(text: str, compiled: tuple[re.Pattern, re.Pattern]) -> Label | None:
    """A label alone on its line (checked first: "Tom:" has no speech) or a ``Name: speech`` prefix."""
    line_pattern, prefix_pattern = compiled
    match = line_pattern.match(text)
    if match is not None:
        kind: LabelKind = "line" if _MARKED_LINE.search(text) else "bare"
        return Label(match.group("label").strip(), len(text), _timestamp(match), kind)
    match = prefix_pattern.match(text)
    if match is not None:
        return Label(match.group("label").strip(), match.end(), _timestamp(match), "prefix")
    return None


def _timestamp(match: re.Match) -> str | None:
    """The first timestamp group that matched (patterns may have one before and one after the label)."""
    return next((v for k, v in match.groupdict().items() if k.startswith("timestamp") and v), None)


@dataclass
class _OpenTurn:
    speaker: str
    timestamp: str | None
    kind: LabelKind
    start: int | None = None
    end: int = 0


@dataclass
class _TurnBuilder:
    """Accumulates turns line by line; a turn's span is its speech, trimmed, across its lines."""

    turns: list[_OpenTurn] = field(default_factory=list)
    broken: bool = False

    def start(self, line: Line, label: Label) -> None:
        """A labelled line: same speaker as the open turn continues it (rows always start a new one)."""
        current = self.turns[-1] if self.turns else None
        same = current is not None and current.speaker == label.speaker and not self.broken
        if current is None or not same or "row" in (label.kind, current.kind):
            self.turns.append(_OpenTurn(label.speaker, label.timestamp, label.kind))
        elif current.timestamp is None:
            current.timestamp = label.timestamp
        self.broken = False
        self._extend(line, label.speech)

    def continue_turn(self, line: Line) -> None:
        """An unlabelled line: more speech from the last speaker. Text before any label, or after a
        transcription table (whose rows are complete turns), is no turn."""
        if not self.turns or (self.turns[-1].kind == "row" and not line.fixed):
            return
        if self.broken:
            last = self.turns[-1]
            self.turns.append(_OpenTurn(last.speaker, None, last.kind))
            self.broken = False
        self._extend(line, 0)

    def break_turn(self) -> None:
        """A heading ends the open turn, so its text never falls inside a turn's span."""
        self.broken = True

    def finish(self) -> list[ParsedTurn]:
        return [ParsedTurn(t.speaker, t.start, t.end, t.timestamp) for t in self.turns if t.start is not None]

    def _extend(self, line: Line, offset: int) -> None:
        speech = line.text[offset:]
        if not speech.strip():
            return
        turn = self.turns[-1]
        if turn.start is None:
            turn.start = line.start + offset + len(speech) - len(speech.lstrip())
        turn.end = line.start + len(line.text.rstrip())
