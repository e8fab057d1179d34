"""Replacing register terms in text, with an offset map so coded spans follow the replaced text.

Used by every export with ``--anonymise`` (quotes, memos, titles, source names, REFI-QDA sources whose
offsets must be recomputed) and by in-place redaction. Matching is on whole words, longest term first, so
"Dr Okafor" wins over "Okafor" and "Sandra's" keeps its "'s" ("[Colleague A]'s"). It ignores case, except
for one-word spellings that are also everyday words ("Will", "Grace", "Cedar"): those match only when
written with a capital (``capitalised_only``), so "I will" stays and "Will said" does not.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Replacement:
    """One register entry in matching form: every spelling of a term and what replaces it."""

    spellings: tuple[str, ...]
    replacement: str


def adapt_case(replacement: str, found: str) -> str:
    """Keep the replacement's own case style, but follow an all-capitals or all-lower original.

    A bracketed label such as ``[Colleague A]`` is inserted exactly as written; a chosen pseudonym such as
    ``Mary`` becomes ``MARY`` where the transcript shouted ``SANDRA`` and ``mary`` where it had ``sandra``.
    """
    if replacement.startswith("[") or any(c.isdigit() for c in replacement) or not any(c.isalpha() for c in found):
        return replacement  # a label, a study ID ("P01") or "Coder 1" is written as it is
    if found.isupper() and len(found) > 1:
        return replacement.upper()
    if found.islower():
        return replacement.lower()
    return replacement


@dataclass
class OffsetMap:
    """Old-text offsets to new-text offsets after replacements (sorted, non-overlapping)."""

    # (old_start, old_end, new_start, new_end) per replaced region
    regions: list[tuple[int, int, int, int]] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._starts = [r[0] for r in self.regions]

    def _shift_before(self, i: int) -> int:
        if i == 0:
            return 0
        old_start, old_end, new_start, new_end = self.regions[i - 1]
        return new_end - old_end

    def position(self, old: int, side: str = "start") -> int:
        """New offset of ``old``. A position inside a replaced name snaps outward (whole replacement)."""
        if len(self._starts) != len(self.regions):  # regions appended after construction
            self._starts = [r[0] for r in self.regions]
        i = bisect.bisect_right(self._starts, old)
        if i and old < self.regions[i - 1][1]:
            old_start, _old_end, new_start, new_end = self.regions[i - 1]
            if old == old_start:
                return new_start
            return new_start if side == "start" else new_end
        return old + self._shift_before(i)

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.position(start, "start"), self.position(end, "end")


class Anonymiser:
    """Replaces every spelling of every register term; ``replace`` for text, ``replace_mapped`` for offsets."""

    def __init__(
        self, replacements: Iterable[Replacement], capitalised_only: Callable[[str], bool] | None = None
    ) -> None:
        self.by_spelling: dict[str, str] = {}  # lookup key -> replacement
        written: dict[str, str] = {}  # lookup key -> the spelling as registered (the regex is built from it)
        for entry in replacements:
            for spelling in entry.spellings:
                key = _key(spelling)
                if key and key not in self.by_spelling:
                    self.by_spelling[key], written[key] = entry.replacement, spelling.strip()
        self.patterns = {key: re.compile(_spelling_regex(s), re.IGNORECASE) for key, s in written.items()}
        spellings = sorted(written.values(), key=len, reverse=True)
        strict = capitalised_only or (lambda _spelling: False)
        alternation = "|".join(
            _capitalised_regex(s) if " " not in s and s[:1].isalpha() and strict(s) else f"(?i:{_spelling_regex(s)})"
            for s in spellings
        )
        self.pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)") if spellings else None

    def __bool__(self) -> bool:
        return self.pattern is not None

    def _replacement_for(self, found: str) -> str:
        replacement = self.by_spelling.get(_key(found))
        if replacement is None:  # matched case-insensitively, but case folding spells it otherwise ("ß")
            key = next(k for k, pattern in self.patterns.items() if pattern.fullmatch(found))
            replacement = self.by_spelling[key]
        return adapt_case(replacement, found)

    def replace(self, text: str) -> str:
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(lambda m: self._replacement_for(m.group(0)), text)

    def replace_mapped(self, text: str) -> tuple[str, OffsetMap]:
        """The replaced text and the map that moves ``[start, end)`` spans onto it."""
        if self.pattern is None or not text:
            return text, OffsetMap()
        pieces: list[str] = []
        regions: list[tuple[int, int, int, int]] = []
        last = 0
        new_pos = 0
        for match in self.pattern.finditer(text):
            pieces.append(text[last : match.start()])
            new_pos += match.start() - last
            replacement = self._replacement_for(match.group(0))
            pieces.append(replacement)
            regions.append((match.start(), match.end(), new_pos, new_pos + len(replacement)))
            new_pos += len(replacement)
            last = match.end()
        pieces.append(text[last:])
        return "".join(pieces), OffsetMap(regions)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Where register terms occur: ``(start, end, replacement)``."""
        if self.pattern is None:
            return []
        return [(m.start(), m.end(), self._replacement_for(m.group(0))) for m in self.pattern.finditer(text)]


def _key(spelling: str) -> str:
    """The form a spelling is looked up by: the regex lets any whitespace run and either apostrophe match."""
    return " ".join(spelling.replace("’", "'").split()).casefold()


def _capitalised_regex(spelling: str) -> str:
    """``Will`` -> ``W(?i:ill)``: "Will", "WILL", not "will"."""
    first = spelling[0]
    return f"{re.escape(first.upper())}(?i:{_spelling_regex(spelling[1:])})" if len(spelling) > 1 else re.escape(first)


def _spelling_regex(spelling: str) -> str:
    """A term as a regex: any run of whitespace between words, straight or curly apostrophes."""
    words = ["".join("['’]" if ch in "'’" else re.escape(ch) for ch in word) for word in spelling.split()]
    return r"\s+".join(words)
