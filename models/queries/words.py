"""Words as ``models.nlp`` counts them, located fast: where each word of a transcript starts
(``word_starts``), and ``WordRanks``, a bit-level tokenizer that answers "how many words start before this
offset" in constant time. Both are cached per process by the text's SHA-256 (a transcript's text never
changes after import). ``word_mask`` turns a span into bits of the word sequence."""

from __future__ import annotations

import codecs
import re
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import nlp
from models.queries.rows import fetch_rows
from models.schema import Transcript

_WORD_STARTS: OrderedDict[str, array[int]] = OrderedDict()
_WORD_STARTS_KEPT = 512
_WORD_STARTS_LOCK = threading.Lock()  # the TUI runs queries in worker threads


def word_starts(session: Session, transcript_ids: Iterable[int]) -> dict[int, array[int]]:
    """Where each word of each transcript starts (words as ``models.nlp`` counts them).

    Scanning a 1M-word corpus takes a few hundred milliseconds, and a transcript's text never changes after
    import, so the offsets are kept per process, keyed by the text's SHA-256 (the same text always gives the
    same offsets, whichever project it is in). Only texts not seen before are loaded.
    """
    ids = sorted(set(transcript_ids))
    shas = dict(fetch_rows(session, select(Transcript.id, Transcript.sha256).where(Transcript.id.in_(ids))))
    with _WORD_STARTS_LOCK:
        found = {sha: _WORD_STARTS[sha] for sha in shas.values() if sha in _WORD_STARTS}
    missing = [tid for tid, sha in shas.items() if sha not in found]
    if missing:
        stmt = select(Transcript.sha256, Transcript.text).where(Transcript.id.in_(missing))
        for sha, text in fetch_rows(session, stmt):
            # nlp's own word pattern, so counts agree with Transcript.word_count
            found[sha] = array("l", (m.start() for m in nlp.WORD_RE.finditer(text)))
    with _WORD_STARTS_LOCK:
        for sha, starts in found.items():
            _WORD_STARTS[sha] = starts
            _WORD_STARTS.move_to_end(sha)
        while len(_WORD_STARTS) > _WORD_STARTS_KEPT:
            _WORD_STARTS.popitem(last=False)
    return {tid: found[sha] for tid, sha in shas.items()}


class WordRanks:
    """How many words of one transcript start before each offset: ``rank(p) == bisect_left(starts, p)`` for
    the transcript's ``word_starts``, so the words starting in ``[a, b)`` are ``rank(a)`` to ``rank(b)``.

    Kept as a bit set (2 bits per character, the low one set where a word starts, 32 characters per 64-bit
    block) with a running count per block. Built with C-level string and integer operations (no Python
    object per word), it costs about a sixth of ``word_starts`` and a fifth of its memory.
    """

    __slots__ = ("blocks", "before")

    def __init__(self, starts_bits: int, length: int) -> None:
        size = (length >> 5) + 1  # a block for offset ``length`` itself
        self.blocks = array("Q", starts_bits.to_bytes(size * 8, "little"))
        self.before = list(accumulate(map(int.bit_count, self.blocks), initial=0))

    def rank(self, offset: int) -> int:
        block = offset >> 5
        return self.before[block] + (self.blocks[block] & LOW_BITS[offset & 31]).bit_count()

    @classmethod
    def of(cls, text: str) -> WordRanks:
        if nlp.WORD_RE.pattern != _WORD_PATTERN:  # the word rule changed: find the words one by one
            digits = bytearray(b"0" * len(text))
            for match in nlp.WORD_RE.finditer(text):
                digits[len(text) - 1 - match.start()] = 0x31
            return cls(int(digits, 4) if text else 0, len(text))
        return cls(_word_start_bits(text), len(text))


LOW_BITS = [(1 << (2 * i)) - 1 for i in range(32)]
_WORD_PATTERN = r"\w+(?:['’]\w+)*"  # nlp.WORD_RE, which _word_start_bits implements with bit operations
_WORD_CHAR = re.compile(r"\w")
_WORD, _APOSTROPHE, _OTHER = b"\x80", b"\x81", b"\x82"  # classes of non-ASCII characters, while encoding


def _class_digits() -> bytes:
    """A ``bytes.translate`` table to one base-4 digit per character: 1 word character, 2 apostrophe, 0
    anything else (non-ASCII characters arrive as the class bytes above)."""
    table = bytearray(b"0" * 256)
    for code in range(0x80):
        if _WORD_CHAR.match(chr(code)):
            table[code] = ord("1")
    table[ord("'")] = table[_APOSTROPHE[0]] = ord("2")
    table[_WORD[0]] = ord("1")
    return bytes(table)


_CLASS_DIGITS = _class_digits()
_NON_ASCII_CLASS: dict[str, bytes] = {}


def _classify_non_ascii(error: UnicodeEncodeError) -> tuple[bytes, int]:
    """Codec error handler: the class byte of each character ASCII cannot encode (é is a word character)."""
    out = []
    for char in error.object[error.start : error.end]:
        found = _NON_ASCII_CLASS.get(char)
        if found is None:
            found = _APOSTROPHE if char == "’" else _WORD if _WORD_CHAR.match(char) else _OTHER
            _NON_ASCII_CLASS[char] = found
        out.append(found)
    return b"".join(out), error.end


# typeshed types error handlers for any UnicodeError; this one is only ever given encode errors
_ErrorHandler = Callable[[UnicodeError], tuple[str | bytes, int]]
codecs.register_error("waveqda.word_class", cast(_ErrorHandler, _classify_non_ascii))


def _word_start_bits(text: str) -> int:
    """Bit ``2i`` set where a word (``\\w+(?:['’]\\w+)*``) starts at ``text[i]``: a word character whose
    previous character is neither a word character nor an apostrophe that follows a word character."""
    if not text:
        return 0
    # The curly apostrophe is most of the non-ASCII text in real transcripts: swapped for its ASCII
    # equivalent (same length, same class) it needs no call of the error handler.
    digits = text.replace("’", "'").encode("ascii", "waveqda.word_class").translate(_CLASS_DIGITS)
    classes = int(digits[::-1], 4)  # character i is base-4 digit i
    evens = ((1 << (2 * len(text))) - 1) // 3  # 0b0101...01
    word = classes & evens
    apostrophe = (classes >> 1) & evens
    return word & ~(word << 2) & ~((apostrophe << 2) & (word << 4))


_WORD_RANKS: OrderedDict[str, WordRanks] = OrderedDict()


def word_ranks(session: Session, transcript_ids: Iterable[int]) -> dict[int, WordRanks]:
    """``WordRanks`` per transcript, kept per process by text SHA-256 like ``word_starts``."""
    ids = sorted(set(transcript_ids))
    if not ids:
        return {}
    shas = dict(fetch_rows(session, select(Transcript.id, Transcript.sha256).where(Transcript.id.in_(ids))))
    with _WORD_STARTS_LOCK:
        found = {sha: _WORD_RANKS[sha] for sha in shas.values() if sha in _WORD_RANKS}
    missing = [tid for tid, sha in shas.items() if sha not in found]
    if missing:
        stmt = select(Transcript.sha256, Transcript.text).where(Transcript.id.in_(missing))
        for sha, text in fetch_rows(session, stmt):
            found[sha] = WordRanks.of(text)
    with _WORD_STARTS_LOCK:
        for sha, ranks in found.items():
            _WORD_RANKS[sha] = ranks
            _WORD_RANKS.move_to_end(sha)
        while len(_WORD_RANKS) > _WORD_STARTS_KEPT:
            _WORD_RANKS.popitem(last=False)
    return {tid: found[sha] for tid, sha in shas.items()}


def word_mask(starts: Sequence[int], start: int, end: int) -> int:
    """The words that start inside ``[start, end)``, as bits of the transcript's word sequence."""
    first, last = bisect_left(starts, start), bisect_left(starts, end)
    return ((1 << (last - first)) - 1) << first
