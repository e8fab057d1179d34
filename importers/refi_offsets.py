"""Which characters a producer's selection offsets count, decided per source, and conversion to ours.

The standard says offsets count Unicode code points, but producers differ (see ``shared/refi-qda/NOTES.md``):
NVivo counts UTF-16 code units (an emoji counts 2) and a CRLF line end as 2, QualCoder counts code points over
LF text, ATLAS.ti reportedly counts a CRLF as 1. Trusting the standard puts NVivo codings a few characters
off after every emoji, silently. A candidate convention is a unit (code points or UTF-16 code units) and a
way of counting line ends: as written in the file, always 1, or always 2 (the last for text rebuilt from a
``.docx`` with LF when the producer counted its own CRLF text). Each source is scored under every candidate:

1. against the selection ``name`` where the producer filled it with the selected text (decisive when it does);
2. else by how many selections start and end on a word or line boundary (people select whole words);
3. ties go to the convention of the producer named in ``Project@origin``, else the standard's.

Our stored text is the source text with the BOM stripped and line ends normalised to LF, and our offsets are
code points into it, so every convention maps producer offsets onto that one text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Convention:
    unit: str  # "codepoint" or "utf16"
    line_ends: str  # "as written" (CRLF 2, LF 1), "1" or "2" positions for every line end

    def describe(self) -> str:
        unit = "UTF-16 code units" if self.unit == "utf16" else "code points"
        ends = "line ends as written" if self.line_ends == "as written" else f"line ends count {self.line_ends}"
        return f"{unit}, {ends}"


STANDARD = Convention("codepoint", "as written")  # code points of the file as it is
CANDIDATES = tuple(Convention(unit, ends) for unit in ("codepoint", "utf16") for ends in ("as written", "1", "2"))
PRODUCER_CONVENTIONS = {
    "nvivo": Convention("utf16", "as written"),
    "atlas": Convention("codepoint", "1"),
}
ELLIPSES = ("…", "...")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 code units each (emoji...)


def normalise_text(raw: str) -> tuple[str, list[int]]:
    """Strip a BOM and turn CRLF / CR into LF; also return where (in the result) each former CRLF is."""
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    out: list[str] = []
    crlf_at: list[int] = []
    position = 0
    for line in raw.splitlines(keepends=True):
        # splitlines also ends lines at form feeds, U+2028...; rstrip keeps those in the text, as they were.
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        out.append(body)
        position += len(body)
        if ending:
            if ending == "\r\n":
                crlf_at.append(position)
            out.append("\n")
            position += 1
    return "".join(out), crlf_at


@dataclass
class OffsetMap:
    """Producer offsets -> indices into the normalised text, for one convention.

    Each normalised character is one position for the producer, except "wide" ones (non-BMP characters when
    counting UTF-16, line ends counted as 2), which take two. A position inside a surrogate pair is
    meaningless (None); one between CR and LF means the line end.
    """

    text: str
    wide: list[int]
    splittable: list[bool]
    starts: list[int] = field(init=False)
    ends: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.starts = [index + j for j, index in enumerate(self.wide)]
        self.ends = [start + 2 for start in self.starts]

    @classmethod
    def build(cls, text: str, crlf_at: list[int], convention: Convention) -> OffsetMap:
        wide: dict[int, bool] = {}
        if convention.line_ends == "as written":
            wide.update((index, True) for index in crlf_at)
        elif convention.line_ends == "2":
            wide.update((match.start(), True) for match in re.finditer("\n", text))
        if convention.unit == "utf16":
            wide.update((match.start(), False) for match in _ASTRAL.finditer(text))
        ordered = sorted(wide)
        return cls(text, ordered, [wide[i] for i in ordered])

    @property
    def producer_length(self) -> int:
        return len(self.text) + len(self.wide)

    def to_index(self, position: int) -> int | None:
        if not self.starts:  # no wide characters (most sources): positions are indices
            return position if 0 <= position <= len(self.text) else None
        if position < 0 or position > self.producer_length:
            return None
        before = bisect_right(self.ends, position)
        if before < len(self.starts) and self.starts[before] < position:
            return self.wide[before] if self.splittable[before] else None
        return position - before


def is_boundary(text: str, index: int) -> bool:
    """A word or line boundary: not between two word characters."""
    if index <= 0 or index >= len(text):
        return True
    return not (_is_word(text[index - 1]) and _is_word(text[index]))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def squeeze(text: str) -> str:
    return " ".join(text.split())


def name_stem(name: str) -> tuple[str, bool] | None:
    """What a selection's ``name`` says its text is: (the name with white space squeezed and a trailing
    ellipsis cut, whether it was cut), or None when that leaves nothing."""
    stem = squeeze(name)
    shortened = stem.endswith(ELLIPSES)
    for ellipsis in ELLIPSES:
        stem = stem.removesuffix(ellipsis)
    stem = stem.rstrip()
    return (stem, shortened) if stem else None


def name_matches(selected: str, name: str) -> bool | None:
    """Does a selection's ``name`` show its text? None when the name is empty (no evidence either way)."""
    return stem_matches(selected, name_stem(name))


def stem_matches(selected: str, found: tuple[str, bool] | None) -> bool | None:
    """``name_matches`` for a name already turned into its ``name_stem``."""
    if found is None:
        return None
    stem, shortened = found
    if shortened:
        # Squeezing a prefix of the text gives a prefix of the squeezed text, so a shortened name (most names:
        # producers cut them at a few dozen characters) is compared without squeezing a long selection.
        head = squeeze(selected[: len(stem) + 64])
        if len(head) >= len(stem):
            return head.startswith(stem)
        return squeeze(selected).startswith(stem)
    return len(selected) >= len(stem) and squeeze(selected) == stem


class Positioned(Protocol):
    """What detection reads of a selection: a parsed ``RefiSelection`` or a ``RawSelection``."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...

    @property
    def name(self) -> str: ...


@dataclass
class RawSelection:
    start: int
    end: int
    name: str = ""


@dataclass
class Score:
    convention: Convention
    valid: int = 0
    named_matches: int = 0
    boundary_hits: int = 0

    def key(self) -> tuple[int, int, int]:
        return (self.named_matches, self.boundary_hits, self.valid)


@dataclass
class Detection:
    """The convention chosen for one source, why, and how well it fits."""

    convention: Convention
    reason: str
    offsets: OffsetMap
    scores: list[Score]
    named: int
    total: int

    @property
    def chosen(self) -> Score:
        return next(s for s in self.scores if s.convention == self.convention)

    @property
    def all_names_match(self) -> bool:
        """Every selection's name is its text where this convention places it (each one was checked)."""
        return self.total > 0 and self.chosen.named_matches == self.total

    @property
    def names_informative(self) -> bool:
        """True when the producer's names are the selected text (so a mismatch flags a misplaced coding)."""
        return self.named > 0 and self.chosen.named_matches * 2 >= self.named

    def convert(self, start: int, end: int) -> tuple[int, int] | None:
        """Our ``[start, end)`` for a producer's, or None when it does not fit the text."""
        s, e = self.offsets.to_index(start), self.offsets.to_index(end)
        if s is None or e is None or s >= e:
            return None
        return s, e

    def describe(self) -> str:
        if not self.total:
            return f"{self.convention.describe()} (no selections)"
        rate = f"{self.chosen.boundary_hits}/{self.total}"
        return f"{self.convention.describe()} ({self.reason}; on word/line boundaries: {rate})"


def preferred(origin: str) -> Convention:
    folded = origin.casefold()
    return next((conv for key, conv in PRODUCER_CONVENTIONS.items() if key in folded), STANDARD)


def _score(
    offsets: OffsetMap, convention: Convention, selections: Sequence[Positioned], stems: list[tuple[str, bool] | None]
) -> Score:
    score = Score(convention)
    text = offsets.text
    length = len(text)
    mapped = bool(offsets.starts)  # else positions are indices (most sources): no call per position
    to_index = offsets.to_index
    valid = named = hits = 0
    for sel, stem in zip(selections, stems, strict=True):
        if mapped:
            s, e = to_index(sel.start), to_index(sel.end)
            if s is None or e is None or s >= e:
                continue
        else:
            s, e = sel.start, sel.end
            if s < 0 or e > length or s >= e:  # what ``to_index`` refuses, and an empty or reversed span
                continue
        valid += 1
        if stem is not None and stem_matches(text[s:e], stem):
            named += 1
        if is_boundary(text, s) and is_boundary(text, e):
            hits += 1
    score.valid, score.named_matches, score.boundary_hits = valid, named, hits
    return score


def detect(raw_text: str, selections: Sequence[Positioned], origin: str = "") -> Detection:
    """Choose the convention under which this source's selections fit its text best."""
    text, crlf_at = normalise_text(raw_text)
    favourite = preferred(origin)
    stems = [name_stem(sel.name) for sel in selections]
    named = sum(1 for stem in stems if stem is not None)
    first = OffsetMap.build(text, crlf_at, favourite)
    score = _score(first, favourite, selections, stems)
    if selections and score.named_matches == len(selections):
        # every selection's name is its text under the producer's convention: decisive, no rival can do
        # better (this is every waveqda export, and most files that fill names)
        return Detection(favourite, "selection names match the text", first, [score], named, len(selections))
    maps = {conv: OffsetMap.build(text, crlf_at, conv) for conv in CANDIDATES}
    # conventions that widen the same characters place every selection alike: score each layout once
    # (on LF text without emoji four of the six are the same)
    by_layout: dict[tuple[tuple[int, ...], tuple[bool, ...]], Score] = {}
    scores = []
    for conv in CANDIDATES:
        layout = (tuple(maps[conv].wide), tuple(maps[conv].splittable))
        if layout not in by_layout:
            by_layout[layout] = _score(maps[conv], conv, selections, stems)
        shared = by_layout[layout]
        scores.append(Score(conv, shared.valid, shared.named_matches, shared.boundary_hits))
    order = [favourite, *[c for c in CANDIDATES if c != favourite]]
    best = max(scores, key=lambda s: (*s.key(), -order.index(s.convention)))
    layout_of = {conv: (tuple(m.wide), tuple(m.splittable)) for conv, m in maps.items()}
    one_of_each = {layout: conv for conv, layout in layout_of.items()}
    placed_by_layout = {
        layout: [(maps[conv].to_index(sel.start), maps[conv].to_index(sel.end)) for sel in selections]
        for layout, conv in one_of_each.items()
    }
    placed = {conv: placed_by_layout[layout_of[conv]] for conv in maps}
    rivals = [s for s in scores if placed[s.convention] != placed[best.convention]]
    reason = _reason(best, rivals, favourite, bool(selections))
    return Detection(best.convention, reason, maps[best.convention], scores, named, len(selections))


def has_name(name: str) -> bool:
    """A name that could show the selected text (not empty, not only an ellipsis)."""
    return name_stem(name) is not None


def _reason(best: Score, rivals: list[Score], favourite: Convention, any_selections: bool) -> str:
    """Why ``best`` won; rivals are the conventions that would place some selection elsewhere."""
    if not any_selections:
        return "no selections"
    if not rivals:
        return "all conventions agree on these selections"
    if best.named_matches and all(s.named_matches < best.named_matches for s in rivals):
        return "selection names match the text"
    if all(s.key()[:2] < best.key()[:2] for s in rivals):
        return "best fit to word and line boundaries"
    return "producer default" if best.convention == favourite else "standard"
