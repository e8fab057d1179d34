"""Pure layout for the transcript view: wrapping, the table of visual lines, cell <-> offset, motions.

Why no Textual here: this is the part that must be exactly right (a coding must cover exactly the characters
a researcher saw) and fast (it runs on every keystroke), so it is plain Python over sorted offset lists and is
tested on its own. Offsets are Python ``str`` indices into ``Transcript.text``; widths are terminal cells as
Rich measures them (wide characters take two cells, combining marks none).
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from rich.cells import get_character_cell_size

TOKEN = re.compile(r"\S+\s*|\s+")
WORD = re.compile(r"\S+")

BLANK = 2  # kind of a separator line between turns
FIRST = 0  # first visual line of a turn (carries the speaker name)
MORE = 1  # continuation line


def char_cells(ch: str) -> int:
    """Cells one code point takes; a tab is drawn as one space so offsets and cells stay 1:1."""
    if ch == "\t":
        return 1
    if ch < "\x20" or ch == "\x7f":
        return 0
    return get_character_cell_size(ch)


def _single_cell_set() -> frozenset[str]:
    """Characters Rich draws one cell wide, in the ranges interviews are mostly written in (checked, not
    assumed: each candidate is measured), so most paragraphs take the fast paths below."""
    ranges = [(0x20, 0x7E), (0xA0, 0x2FF), (0x370, 0x482), (0x2010, 0x205E), (0x20A0, 0x20BF)]
    return frozenset(ch for a, b in ranges for ch in map(chr, range(a, b + 1)) if get_character_cell_size(ch) == 1)


SINGLE_CELL = _single_cell_set()
is_single_cell = SINGLE_CELL.issuperset


def text_cells(text: str) -> int:
    if is_single_cell(text):
        return len(text)
    return sum(char_cells(c) for c in text)


def abbreviate(name: str, width: int) -> str:
    """A code name in at most ``width`` cells, still telling codes apart: the whole name when it fits; its
    start and "…" when that keeps the first word whole and two letters of the next ("Money wor…"); a
    name of several words as up to four leading letters of each word, capitalised ("Money worries" in 6
    cells is "MonWor", "Peer support" in 4 is "PeSu"); otherwise its start and "…"."""
    if text_cells(name) <= width:
        return name
    words = name.split()
    if len(words) > 1 and text_cells(words[0]) + 3 <= width - 1:
        return set_cell_size_(name, width - 1).rstrip() + "…"
    if len(words) > 1:
        for keep in range(min(4, max(len(w) for w in words)), 1, -1):
            short = "".join(w[:keep][:1].upper() + w[1:keep] for w in words)
            if text_cells(short) <= width:
                return short
    if width <= 1:
        return set_cell_size_(name, width)
    return set_cell_size_(name, width - 1).rstrip() + "…"


def set_cell_size_(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` cells (a wide character that does not fit is left out)."""
    out, cells = [], 0
    for ch in text:
        w = char_cells(ch)
        if cells + w > width:
            break
        out.append(ch)
        cells += w
    return "".join(out)


def display_char(ch: str) -> str:
    return " " if ch == "\t" else ("" if ch < "\x20" or ch == "\x7f" else ch)


class Block(NamedTuple):
    """A speaker turn as drawn: the speech ``[start, end)`` and who said it."""

    index: int
    speaker: str
    role: str
    start: int
    end: int


class VisualLine(NamedTuple):
    """One row of the view. A tuple of ints: tens of thousands of them cost the garbage collector nothing."""

    block: int  # index into blocks, -1 for a separator
    start: int
    end: int
    kind: int


def _hard_break(text: str, start: int, end: int, width: int, at: int) -> tuple[list[tuple[int, int]], int, int]:
    """Break an over-long token by cells; returns finished lines, the open line start and its cells."""
    lines: list[tuple[int, int]] = []
    line_start, cells = start, at
    for i in range(start, end):
        w = char_cells(text[i])
        if cells + w > width and i > line_start:
            lines.append((line_start, i))
            line_start, cells = i, 0
        cells += w
    return lines, line_start, cells


def wrap_span(text: str, start: int, end: int, width: int) -> list[tuple[int, int]]:
    """Greedy word wrap of ``text[start:end]`` into ``[a, b)`` spans of at most ``width`` visible cells.

    Newlines end a line (the newline itself is on no line). Trailing spaces stay on the line that they end
    (they are clipped when drawn), so spans are contiguous and every character belongs to one line.
    """
    width = max(width, 4)
    out: list[tuple[int, int]] = []
    para_start = start
    while True:
        nl = text.find("\n", para_start, end)
        para_end = end if nl == -1 else nl
        if para_end == para_start:
            out.append((para_start, para_start))
        elif _plain(text, para_start, para_end):
            _wrap_ascii(text, para_start, para_end, width, out)
        else:
            line_start, cells = para_start, 0
            for m in TOKEN.finditer(text, para_start, para_end):
                tok = m.group()
                word = tok.rstrip()
                w_word = text_cells(word)
                w_full = w_word + text_cells(tok[len(word) :]) if word != tok else w_word
                if cells and cells + w_word > width:
                    out.append((line_start, m.start()))
                    line_start, cells = m.start(), 0
                if w_word > width:
                    done, line_start, cells = _hard_break(text, m.start(), m.start() + len(word), width, cells)
                    out.extend(done)
                    cells += w_full - w_word
                else:
                    cells += w_full
            out.append((line_start, para_end))
        if nl == -1:
            break
        para_start = nl + 1
    return out


def _plain(text: str, start: int, end: int) -> bool:
    return is_single_cell(text[start:end])


def _wrap_ascii(text: str, start: int, end: int, width: int, out: list[tuple[int, int]]) -> None:
    """The same greedy wrap when every character is one cell and only ' ' breaks (a no-break space does
    not), a line at a time rather than a word at a time."""
    pos = start
    while end - pos > width:
        limit = pos + width
        space = text.rfind(" ", pos, limit + 1)
        if space <= pos:  # no break: a word wider than the line is cut
            nxt = limit
            if text.startswith(" ", pos):  # leading spaces only: keep them with the next word
                nxt = pos + len(text[pos:end]) - len(text[pos:end].lstrip(" "))
                nxt = max(nxt, pos + 1) if nxt < end else end
            out.append((pos, nxt))
            pos = nxt
            continue
        nxt = space + 1
        while nxt < end and text[nxt] == " ":
            nxt += 1
        if nxt >= end:  # only spaces left: they stay on this line
            out.append((pos, end))
            return
        out.append((pos, nxt))
        pos = nxt
    out.append((pos, end))


def layout(text: str, blocks: Sequence[Block], width: int, interviewer_width: int | None = None) -> list[VisualLine]:
    """The table of visual lines for the whole transcript (a blank line between turns).

    Interviewer turns may wrap narrower (they are drawn indented, so the participant's words stand out).
    """
    return layout_blocks(text, blocks, width, interviewer_width)[0]


def block_width(block: Block, width: int, interviewer_width: int | None) -> int:
    return interviewer_width if (interviewer_width and block.role == "interviewer") else width


def layout_blocks(
    text: str,
    blocks: Sequence[Block],
    width: int,
    interviewer_width: int | None = None,
    first: int = 0,
    min_rows: int | None = None,
) -> tuple[list[VisualLine], int]:
    """The visual lines of ``blocks[first:]``, stopping after the block that brings them to ``min_rows``
    lines; and the index of the first block not laid out (``len(blocks)`` when all were).

    Each block wraps on its own, so the lines of a run of blocks are the same rows the whole table has
    there: ``layout_blocks(..., 0, n)`` followed by ``layout_blocks(..., next)`` is ``layout``.
    """
    lines: list[VisualLine] = []
    append = lines.append
    for bi in range(first, len(blocks)):
        if min_rows is not None and len(lines) >= min_rows:
            return lines, bi
        block = blocks[bi]
        if bi:
            append(VisualLine(-1, block.start, block.start, BLANK))
        w = block_width(block, width, interviewer_width)
        for n, (a, b) in enumerate(wrap_span(text, block.start, block.end, w)):
            append(VisualLine(bi, a, b, FIRST if n == 0 else MORE))
    return lines, len(blocks)


def estimate_rows(blocks: Sequence[Block], width: int, first: int) -> int:
    """About how many rows ``blocks[first:]`` take (a blank line each, and their characters over the
    width, rounded up): the scrollbar's size until they are laid out."""
    width = max(width, 4)
    return sum(1 + -(-(b.end - b.start) // width) for b in blocks[first:])


class LineIndex:
    """Offset -> visual line lookups over a line table (bisect on the line starts)."""

    def __init__(self, lines: Sequence[VisualLine]) -> None:
        self.lines = lines
        self.rows = [y for y, line in enumerate(lines) if line.kind != BLANK]
        self.starts = [lines[y].start for y in self.rows]

    def row_of(self, offset: int) -> int:
        """The visual row showing ``offset`` (the end of a turn shows on its last line)."""
        if not self.rows:
            return 0
        i = bisect_right(self.starts, offset) - 1
        if i < 0:
            return self.rows[0]
        # an offset on a separator boundary between two spans belongs to the later line unless it is the end
        return self.rows[i]


def offset_at_cell(text: str, start: int, end: int, x: int) -> int:
    """The offset of the character drawn at cell ``x`` of a line showing ``text[start:end]``.

    Cells past the text give ``end``. A wide character's second cell gives the character itself; zero-width
    characters (combining marks) never receive the caret on their own: they belong to the character before.
    """
    if x <= 0:
        return start
    cells = 0
    i = start
    while i < end:
        w = char_cells(text[i])
        if cells + w > x:
            return i
        cells += w
        i += 1
        while i < end and char_cells(text[i]) == 0 and text[i] != "\n":
            i += 1
    return end


def cell_of_offset(text: str, start: int, offset: int) -> int:
    return text_cells(text[start:offset])


def cluster_end(text: str, i: int, limit: int) -> int:
    """The end of the character at ``i`` including the zero-width marks that follow it (é = e + U+0301)."""
    if i >= limit:
        return limit
    i += 1
    while i < limit and char_cells(text[i]) == 0 and text[i] not in "\n\t":
        i += 1
    return i


def cluster_start(text: str, i: int, floor: int) -> int:
    while i > floor and char_cells(text[i]) == 0 and text[i] not in "\n\t":
        i -= 1
    return i


class Units:
    """A sorted list of ``[start, end)`` units (words, sentences or turns) and caret motions over them.

    Moving forward goes to the next unit's start; extending a selection forward goes to the end of the
    current or next unit, so that shift+down twice from a sentence start selects exactly two sentences.
    """

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        self.spans = sorted((a, b) for a, b in spans if b > a)
        self.starts = [a for a, _ in self.spans]
        self.ends = [b for _, b in self.spans]

    def __len__(self) -> int:
        return len(self.spans)

    def next_start(self, pos: int) -> int:
        i = bisect_right(self.starts, pos)
        return self.starts[i] if i < len(self.starts) else pos

    def prev_start(self, pos: int) -> int:
        i = bisect_left(self.starts, pos) - 1
        return self.starts[i] if i >= 0 else pos

    def next_end(self, pos: int) -> int:
        i = bisect_right(self.ends, pos)
        return self.ends[i] if i < len(self.ends) else pos

    def containing(self, pos: int) -> tuple[int, int] | None:
        """The unit with ``start <= pos < end`` (or the one ending exactly at ``pos``)."""
        i = bisect_right(self.starts, pos) - 1
        if i >= 0 and self.spans[i][0] <= pos <= self.spans[i][1]:
            return self.spans[i]
        return None

    def snap(self, a: int, b: int) -> tuple[int, int]:
        """Widen ``[a, b)`` to whole units (used for mouse drags)."""
        first = self.containing(a)
        last = self.containing(max(a, b - 1))
        return (first[0] if first else a, last[1] if last else b)


def word_units(text: str, blocks: Sequence[Block]) -> Units:
    return Units((m.start(), m.end()) for bl in blocks for m in WORD.finditer(text, bl.start, bl.end))


def trim_span(text: str, a: int, b: int) -> tuple[int, int]:
    """``[a, b)`` without surrounding whitespace: what is coded is what is highlighted."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


class SpanIndex:
    """Which spans overlap a range. Spans up to ``LONG`` characters are kept sorted by start (a query
    bisects a window of ``[a - longest, b)``); the few longer ones (a whole-turn or whole-interview code)
    are checked one by one. Building is a sort of an already sorted list, so it is redone on every change.
    """

    LONG = 4096

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        self.spans = spans
        limit = self.LONG
        short = [i for i, (a, b) in enumerate(spans) if b - a <= limit]
        short.sort(key=lambda i: spans[i][0])
        self.short = short
        self.starts = [spans[i][0] for i in short]
        self.longest = max((spans[i][1] - spans[i][0] for i in short), default=0)
        self.long = [i for i, (a, b) in enumerate(spans) if b - a > limit]

    def overlapping(self, a: int, b: int) -> list[int]:
        """Indexes of spans with ``start < b and end > a`` (a point query when ``b <= a``), in index order."""
        spans = self.spans
        point = b <= a
        hi = a + 1 if point else b
        first = bisect_left(self.starts, a - self.longest)
        last = bisect_left(self.starts, hi)
        short = self.short
        found = [i for i in (short[k] for k in range(first, last)) if spans[i][1] > a]
        for i in self.long:
            s, e = spans[i]
            if s < hi and e > a:
                found.append(i)
        found.sort()
        return found


class SortedSpanIndex:
    """``SpanIndex`` for spans already sorted by start (the codings of a transcript are), updated in place.

    Why: after a code is applied only a few codings change, and rebuilding the index (and everything keyed
    on positions) for 10,000 codings cost more than the rest of the keystroke. Positions are list positions:
    ``insert`` and ``delete`` keep the caller's parallel lists and this index in step. Results are the same
    as ``SpanIndex`` over the same list. ``longest`` only grows between rebuilds (an upper bound is enough).
    """

    LONG = SpanIndex.LONG

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        self.starts = [a for a, _ in spans]
        self.ends = [b for _, b in spans]
        limit = self.LONG
        self.long = [k for k, (a, b) in enumerate(spans) if b - a > limit]
        self.longest = max((b - a for a, b in spans if b - a <= limit), default=0)

    def __len__(self) -> int:
        return len(self.starts)

    def position(self, start: int) -> int:
        """Where a span starting at ``start`` goes (before those that start there already)."""
        return bisect_left(self.starts, start)

    def insert(self, k: int, start: int, end: int) -> None:
        self.starts.insert(k, start)
        self.ends.insert(k, end)
        long = [j + 1 if j >= k else j for j in self.long]
        if end - start > self.LONG:
            long.append(k)
            long.sort()
        else:
            self.longest = max(self.longest, end - start)
        self.long = long

    def delete(self, k: int) -> None:
        del self.starts[k]
        del self.ends[k]
        self.long = [j - 1 if j > k else j for j in self.long if j != k]

    def overlapping(self, a: int, b: int) -> list[int]:
        """Positions of spans with ``start < b and end > a`` (a point query when ``b <= a``), in order."""
        hi = a + 1 if b <= a else b
        first = bisect_left(self.starts, a - self.longest)
        last = bisect_left(self.starts, hi)
        ends = self.ends
        found = [k for k in self.long if k < first and ends[k] > a]
        found.extend(k for k in range(first, last) if ends[k] > a)
        return found


def extend_lanes(spans: Sequence[tuple[int, int]], lanes: list[int | None], index: SpanIndex) -> list[int]:
    """Give a stripe column to the spans without one (``None``), keeping everyone else's: after a coding
    is added or changed, the other stripes stay where the researcher saw them."""
    for i, lane in enumerate(lanes):
        if lane is None:
            a, b = spans[i]
            taken = {lanes[j] for j in index.overlapping(a, b) if j != i and lanes[j] is not None}
            new = 0
            while new in taken:
                new += 1
            lanes[i] = new
    return lanes  # type: ignore[return-value]


def assign_lanes(spans: Sequence[tuple[int, int]]) -> list[int]:
    """A stripe column for each span so that overlapping spans never share one (interval colouring:
    the lowest free column, so long-lived codings keep the leftmost stripes). O(n log n) with two heaps."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1]))
    busy: list[tuple[int, int]] = []  # (end, lane)
    free: list[int] = []
    lanes = [0] * len(spans)
    count = 0
    for i in order:
        a, b = spans[i]
        while busy and busy[0][0] <= a:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            lane, count = count, count + 1
        lanes[i] = lane
        heapq.heappush(busy, (b, lane))
    return lanes
