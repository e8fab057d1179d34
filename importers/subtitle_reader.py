"""Subtitle transcripts from meeting and transcription tools: WebVTT (``.vtt``) and SubRip (``.srt``).

A subtitle file is a list of short timed cues. Researchers code what was said, not the cue layout, so
consecutive cues by the same speaker become one turn and one ``Speaker: text`` line (cue texts joined by
a space); the first cue's start time is kept on the turn and no timing appears in the text. Speakers come
from WebVTT voice tags (``<v Name>``) or a ``Name:`` prefix in the cue text (Teams, "Speaker 1:"); a cue
with neither continues the previous speaker.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from importers.labels import is_interviewer, is_name_like, is_plausible
from importers.text_reader import read_text
from models.errors import ImportRefused
from models.parsed import UNKNOWN_SPEAKER, LabelRules, ParsedTranscript, ParsedTurn

_BLOCK_SEPARATOR = re.compile(r"\n[ \t]*\n")
_TIMING = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s+-->\s+\S+")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]*)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # HTML-like cue tags, and SRT's ASS overrides such as {\an8}
_VTT_SKIPPED_BLOCKS = re.compile(r"^(?:NOTE|STYLE|REGION)(?:\s|$)")


@dataclass
class _Segment:
    speaker: str | None
    text: str
    time: str


@dataclass
class _Turn:
    speaker: str | None  # None until the file names a speaker
    time: str
    texts: list[str] = field(default_factory=list)


def parse_vtt(path: Path, rules: LabelRules) -> ParsedTranscript:
    """A WebVTT file: ``WEBVTT`` header, then cues; NOTE, STYLE and REGION blocks are skipped."""
    blocks = _blocks(read_text(path))
    if not blocks or not re.match(r"WEBVTT(?:\s|$)", blocks[0]):
        raise ImportRefused(f"{path.name}: not a WebVTT file (the first line must be WEBVTT)")
    title = blocks[0].split("\n", 1)[0][len("WEBVTT") :].strip(" \t-") or path.stem
    cues = [block for block in blocks[1:] if not _VTT_SKIPPED_BLOCKS.match(block)]
    return _transcript(path, cues, rules, "vtt", title)


def parse_srt(path: Path, rules: LabelRules) -> ParsedTranscript:
    """A SubRip file: numbered cues with ``00:00:01,000 --> 00:00:04,000`` timings."""
    return _transcript(path, _blocks(read_text(path)), rules, "srt", path.stem)


def _blocks(text: str) -> list[str]:
    return [block.strip("\n") for block in _BLOCK_SEPARATOR.split(text.strip()) if block.strip()]


def _transcript(path: Path, blocks: list[str], rules: LabelRules, fmt: str, title: str) -> ParsedTranscript:
    segments: list[_Segment] = []
    warnings: list[str] = []
    for block in blocks:
        cue = _cue(block)
        if cue is None:
            warnings.append(f"{path.name}: skipped a block without a cue timing: {block[:40]!r}")
            continue
        time, payload = cue
        segments.extend(_segments(payload, time, rules))
    text, turns = _layout(_turns(segments))
    return ParsedTranscript(text, turns, path.name, fmt, title=title, warnings=warnings)


def _cue(block: str) -> tuple[str, str] | None:
    """(start time, cue text) of a cue block; the timing line may follow a cue id or number."""
    lines = block.split("\n")
    for index, line in enumerate(lines[:2]):
        match = _TIMING.match(line)
        if match is not None:
            return _start_time(match), "\n".join(lines[index + 1 :])
    return None


def _start_time(timing: re.Match) -> str:
    """``HH:MM:SS``, with ``.mmm`` only when the cue does not start on a whole second."""
    hours, minutes, seconds, fraction = timing.groups()
    whole = f"{int(hours or 0):02d}:{int(minutes):02d}:{int(seconds):02d}"
    millis = int(fraction.ljust(3, "0"))
    return f"{whole}.{millis:03d}" if millis else whole


def _segments(payload: str, time: str, rules: LabelRules) -> list[_Segment]:
    """Split a cue's text at voice tags; text before the first tag has no speaker of its own."""
    parts = _VOICE.split(payload)
    found = [_Segment(None, parts[0], time)] + [
        _Segment(name.strip() or None, said, time) for name, said in zip(parts[1::2], parts[2::2], strict=True)
    ]
    segments = []
    for segment in found:
        segment.text = _clean(segment.text)
        if segment.speaker is None:
            segment.speaker, segment.text = _prefix_speaker(segment.text, rules)
        if segment.text:
            segments.append(segment)
    return segments


def _clean(text: str) -> str:
    """Cue text without markup, entities decoded, lines joined by spaces."""
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def _prefix_speaker(text: str, rules: LabelRules) -> tuple[str | None, str]:
    """A Teams-style ``Name: text`` or ``Speaker 1: text`` prefix, if the name looks like one."""
    match = rules.compiled_patterns()[1].match(text)
    if match is None:
        return None, text
    label = match.group("label").strip()
    if not is_plausible(label, rules) or not (is_name_like(label) or is_interviewer(label, rules)):
        return None, text
    return label, text[match.end() :].strip()


def _turns(segments: list[_Segment]) -> list[_Turn]:
    """Consecutive segments by the same speaker form one turn; an unnamed segment continues the last."""
    turns: list[_Turn] = []
    for segment in segments:
        if not turns or (segment.speaker is not None and segment.speaker != turns[-1].speaker):
            turns.append(_Turn(segment.speaker, segment.time))
        turns[-1].texts.append(segment.text)
    return turns


def _layout(turns: list[_Turn]) -> tuple[str, list[ParsedTurn]]:
    """One line per turn: ``Speaker: text``, or the bare text while no speaker has been named."""
    lines: list[str] = []
    parsed: list[ParsedTurn] = []
    position = 0
    for turn in turns:
        prefix = "" if turn.speaker is None else f"{turn.speaker}: "
        speech = " ".join(turn.texts)
        start = position + len(prefix)
        parsed.append(ParsedTurn(turn.speaker or UNKNOWN_SPEAKER, start, start + len(speech), turn.time))
        lines.append(prefix + speech)
        position += len(prefix + speech) + 1
    return "\n".join(lines), parsed
