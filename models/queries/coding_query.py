"""Coding queries: codes combined with AND, OR, NOT, NEAR, OVERLAPS and PRECEDES (``waveqda query``).

What researchers arriving from NVivo or MAXQDA expect of a "coding query". A query is an expression over code
paths in double quotes::

    "Supervision" AND NOT "Peer supervision"
    ("Worry" OR "Job insecurity") AND "T2 themes"
    "A" NEAR/50 "B"        "A" NEAR/sentence "B"        "A" NEAR/turn "B"
    "A" OVERLAPS "B"       "A" PRECEDES "B"             "A" PRECEDES/turn "B"

Meaning, per transcript, on ``[start, end)`` character spans (a code stands for the text coded at it or at
any of its sub-codes, by the coders in scope, as one union):

- ``AND``, ``OR``, ``NOT``: intersection, union and complement of the coded characters (``NOT A`` alone is
  every character of the transcript not coded at A; ``A AND NOT B`` is A's text outside B);
- ``A NEAR/N B``: every segment of A within N characters of a segment of B, and those segments of B (a
  segment is a maximal stretch of the operand's text); ``NEAR/sentence`` and ``NEAR/turn``: segments that
  share a sentence, or a speaker turn;
- ``A OVERLAPS B``: the segments of A that share at least one character with B (whole segments);
- ``A PRECEDES B``: the segments of A followed later in the transcript by a segment of B (``/turn``: in the
  same turn).

Precedence, loosest first: ``OR``, ``AND``, ``NOT``, then the relations (NEAR, OVERLAPS, PRECEDES), which bind
their two neighbours; parentheses group. Operators are case-insensitive; code paths are matched as everywhere
else (``Theme/Sub`` or a unique name).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.codes import CodeTree
from models.errors import WaveqdaError
from models.queries.layouts import TranscriptLayout, load_layouts
from models.queries.rows import ID_CHUNK, collector_paused, driver_rows
from models.queries.scope import Attribute, Scope, resolve_scope, selected_codes
from models.queries.spans import merge_spans
from models.schema import Coding, Participant, Timepoint, Transcript

Span = tuple[int, int]
Spans = list[Span]  # sorted, disjoint, non-empty

# --------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class CodeRef:
    path: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Combine:
    op: Literal["AND", "OR"]
    left: Node
    right: Node


@dataclass(frozen=True)
class Relation:
    op: Literal["NEAR", "OVERLAPS", "PRECEDES"]
    unit: str  # NEAR: a number of characters, "sentence" or "turn"; PRECEDES: "" or "turn"
    left: Node
    right: Node


Node = CodeRef | Not | Combine | Relation

_TOKEN = re.compile(
    r'\s*(?:(?P<code>"(?:[^"\\]|\\.)*")|(?P<paren>[()])|(?P<rel>(?:NEAR|PRECEDES)(?:/[A-Za-z0-9]+)?|OVERLAPS)'
    r"|(?P<word>AND|OR|NOT))(?=\s|$|[()\"])",
    re.IGNORECASE,
)


def parse(expression: str) -> Node:
    """The expression as a tree; a mistake is one line saying where."""
    tokens = _tokens(expression)
    parser = _Parser(expression, tokens)
    node = parser.expression()
    if parser.position < len(tokens):
        raise WaveqdaError(f"query: unexpected {tokens[parser.position][1]!r} in {expression!r}")
    return node


def _tokens(expression: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    stripped_end = len(expression.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(expression, position)
        if match is None:
            rest = expression[position:].strip()
            raise WaveqdaError(
                f"query: cannot read {rest[:30]!r}: put code paths in double quotes and join them with "
                "AND, OR, NOT, NEAR/N, NEAR/sentence, NEAR/turn, OVERLAPS or PRECEDES"
            )
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "code":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind in ("rel", "word"):
            value = value.upper()
        found.append((kind, value))
        position = match.end()
    if not found:
        raise WaveqdaError('query: empty; e.g. \'"Supervision" AND NOT "Peer supervision"\'')
    return found


class _Parser:
    def __init__(self, expression: str, tokens: list[tuple[str, str]]) -> None:
        self.expression_text, self.tokens, self.position = expression, tokens, 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise WaveqdaError(f"query: {self.expression_text!r} ends too early")
        self.position += 1
        return token

    def expression(self) -> Node:
        node = self._and()
        while self._peek() == ("word", "OR"):
            self._take()
            node = Combine("OR", node, self._and())
        return node

    def _and(self) -> Node:
        node = self._not()
        while self._peek() == ("word", "AND"):
            self._take()
            node = Combine("AND", node, self._not())
        return node

    def _not(self) -> Node:
        if self._peek() == ("word", "NOT"):
            self._take()
            return Not(self._not())
        return self._relation()

    def _relation(self) -> Node:
        node = self._atom()
        token = self._peek()
        if token is not None and token[0] == "rel":
            self._take()
            op, _, unit = token[1].partition("/")
            node = Relation(_relation_op(op), _relation_unit(op, unit.lower()), node, self._atom())
        return node

    def _atom(self) -> Node:
        kind, value = self._take()
        if kind == "code":
            return CodeRef(value)
        if (kind, value) == ("paren", "("):
            node = self.expression()
            if self._take() != ("paren", ")"):
                raise WaveqdaError(f"query: a '(' is not closed in {self.expression_text!r}")
            return node
        raise WaveqdaError(f"query: expected a code in double quotes or '(', found {value!r}")


def _relation_op(op: str) -> Literal["NEAR", "OVERLAPS", "PRECEDES"]:
    if op == "NEAR":
        return "NEAR"
    if op == "PRECEDES":
        return "PRECEDES"
    return "OVERLAPS"


def _relation_unit(op: str, unit: str) -> str:
    if op == "NEAR":
        if unit in ("sentence", "turn") or unit.isdigit():
            return unit
        raise WaveqdaError("query: NEAR takes /N (characters), /sentence or /turn, e.g. NEAR/50")
    if op == "PRECEDES" and unit not in ("", "turn"):
        raise WaveqdaError("query: PRECEDES takes nothing or /turn")
    if op == "OVERLAPS" and unit:
        raise WaveqdaError("query: OVERLAPS takes no /unit")
    return unit


def code_paths(node: Node) -> list[str]:
    if isinstance(node, CodeRef):
        return [node.path]
    if isinstance(node, Not):
        return code_paths(node.operand)
    return code_paths(node.left) + code_paths(node.right)


# --------------------------------------------------------------------------------------------- evaluation


def evaluate(node: Node, coded: Callable[[str], Spans], layout: TranscriptLayout) -> Spans:
    """The spans one transcript contributes (``coded(path)``: the union of that code's coded text there)."""
    if isinstance(node, CodeRef):
        return coded(node.path)
    if isinstance(node, Not):
        return complement(evaluate(node.operand, coded, layout), len(layout.text))
    left = evaluate(node.left, coded, layout)
    right = evaluate(node.right, coded, layout)
    if isinstance(node, Combine):
        return intersect(left, right) if node.op == "AND" else merge_spans(left + right)
    return relate(node, left, right, layout)


def complement(spans: Spans, length: int) -> Spans:
    out: Spans = []
    position = 0
    for start, end in spans:
        if start > position:
            out.append((position, start))
        position = max(position, end)
    if position < length:
        out.append((position, length))
    return out


def intersect(a: Spans, b: Spans) -> Spans:
    out: Spans = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def relate(node: Relation, left: Spans, right: Spans, layout: TranscriptLayout) -> Spans:
    if node.op == "OVERLAPS":
        return [a for a in left if _any_overlap(a, right)]
    if node.op == "PRECEDES":
        return [a for a in left if _precedes_any(a, right, node.unit, layout)]
    near = _near_any(node.unit, layout)
    kept = [a for a in left if near(a, right)]
    kept += [b for b in right if near(b, left)]
    return merge_spans(kept)


def _near_any(unit: str, layout: TranscriptLayout) -> Callable[[Span, Spans], bool]:
    """``near(span, spans)``: whether any of ``spans`` (sorted and disjoint) is near ``span`` by ``unit``. Their
    units' ranges rise with them, so one bisection finds the only candidate: the first whose end reaches back
    to ``span`` (the earlier ones end too soon, and if this one starts too late so do all after it)."""
    if unit in ("turn", "sentence"):

        def units(span: Span) -> tuple[int, int] | None:
            return layout.turn_range(*span) if unit == "turn" else _sentence_range(layout, span)

        cache: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}

        def near_unit(span: Span, spans: Spans) -> bool:
            mine = units(span)
            if mine is None:
                return False
            found = cache.get(id(spans))
            if found is None:  # spans outside every unit (text before the first turn) are near nothing
                ranges = [r for r in map(units, spans) if r is not None]
                found = cache[id(spans)] = (ranges, [r[1] for r in ranges])
            ranges, lasts = found
            i = bisect_left(lasts, mine[0])
            return i < len(ranges) and ranges[i][0] <= mine[1]

        return near_unit
    distance = int(unit)

    def near_chars(span: Span, spans: Spans) -> bool:
        i = bisect_left(spans, (span[0] - distance, -1))
        if i > 0 and spans[i - 1][1] >= span[0] - distance:  # one starting earlier that ends close enough
            return True
        return i < len(spans) and spans[i][0] <= span[1] + distance

    return near_chars


def _any_overlap(span: Span, spans: Spans) -> bool:
    """Whether ``span`` shares a character with any of ``spans`` (sorted and disjoint, so their ends rise too:
    only the last one starting before ``span`` ends can reach back into it)."""
    i = bisect_left(spans, (span[1], -1))
    return i > 0 and spans[i - 1][1] > span[0]


def _precedes_any(a: Span, spans: Spans, unit: str, layout: TranscriptLayout) -> bool:
    """Whether one of ``spans`` (sorted, disjoint) starts where ``a`` ends or later (``unit`` "turn": in a turn
    ``a`` is in). The first such span is the only candidate in a turn: later ones start in the same turn or a
    later one (spans outside every turn are passed over)."""
    i = bisect_left(spans, (a[1], -1))
    if i == len(spans):
        return False
    if unit != "turn":
        return True
    mine = layout.turn_range(*a)
    for b in spans[i:]:
        theirs = layout.turn_range(*b)
        if theirs is not None:
            return _shared(mine, theirs)
    return False


def _sentence_range(layout: TranscriptLayout, span: Span) -> tuple[int, int] | None:
    first = bisect_right(layout.sentence_ends, span[0])
    last = bisect_left(layout.sentence_starts, span[1]) - 1
    return (first, last) if first <= last else None


def _shared(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class QueryHit:
    """One result segment: where it is, its text, its context, and the memos of codings on it."""

    transcript: str  # P01/T2
    transcript_id: int
    participant: str
    timepoint: str
    start: int
    end: int
    text: str
    context_start: int
    context_end: int
    context: str
    memos: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["memos"] = list(self.memos)
        return found


ContextUnit = Literal["segment", "sentence", "turn"]


def run_query(
    session: Session,
    expression: str,
    timepoints: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    coders: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
    context: ContextUnit = "sentence",
    turns_around: int = 0,
) -> list[QueryHit]:
    """Every segment the query selects, in timepoint, participant and text order.

    ``roles`` keeps only text spoken by those speaker roles; ``context`` widens what is shown around each
    segment (its sentence(s) or turn(s)) and ``turns_around`` adds that many whole turns before and after."""
    node = parse(expression)
    tree = CodeTree.load(session)
    for path in code_paths(node):
        tree.find(path)  # an unknown code is one line ("no code ... did you mean")
    scope = resolve_scope(session, timepoints, participants, attribute, coders)
    by_code = _coded_characters(session, tree, list(dict.fromkeys(code_paths(node))), scope)
    transcripts = _transcripts_in_scope(session, scope.apply(select(Transcript.id), with_coder=False))
    if not _uses_not(node):  # only transcripts coded at one of the codes can have a result
        coded_ids = {tid for spans in by_code.values() for tid in spans}
        transcripts = [t for t in transcripts if t[0] in coded_ids]
    wanted_roles = set(roles) if roles else None
    # Turns and sentences are read only where the query needs them (NEAR/sentence, NEAR/turn, PRECEDES/turn,
    # a speaker role); otherwise only the transcripts with a result are read, for their text and context.
    layouts = load_layouts(session, [t[0] for t in transcripts]) if _needs_layout(node) or wanted_roles else {}
    lengths = _lengths(session, [t[0] for t in transcripts]) if _uses_not(node) and not layouts else {}
    found: dict[int, Spans] = {}
    for tid, _study_id, _key in transcripts:
        where = layouts.get(tid) or TranscriptLayout(" " * lengths.get(tid, 0), [])
        spans = evaluate(node, _coded_in(by_code, tid), where)
        if wanted_roles is not None:
            spans = intersect(spans, [(t.start, t.end) for t in where.turns if t.role in wanted_roles])
        if spans:
            found[tid] = spans
    layouts.update(_shown_layouts(session, [tid for tid in found if tid not in layouts], found, context, turns_around))
    memos = _memos(session, found)
    hits: list[QueryHit] = []
    for tid, study_id, key in transcripts:
        if tid not in found:
            continue
        shown = layouts[tid]
        for start, end in found[tid]:
            c_start, c_end = _context(shown, start, end, context, turns_around)
            noted = tuple(dict.fromkeys(m for s, e, m in memos.get(tid, []) if s < end and e > start))
            hits.append(
                QueryHit(
                    f"{study_id}/{key}",
                    tid,
                    study_id,
                    key,
                    start,
                    end,
                    shown.text[start:end],
                    c_start,
                    c_end,
                    shown.text[c_start:c_end],
                    noted,
                )  # fmt: skip
            )
    return hits


def _coded_characters(session: Session, tree: CodeTree, paths: list[str], scope: Scope) -> dict[str, dict[int, Spans]]:
    """Per code path: the characters coded with it or any visible sub-code, per transcript, as disjoint
    sorted spans. One query for all the codes (four columns, from the driver, in whatever order the index
    gives: sorting each transcript's few spans here is cheaper than asking the database to sort them all)."""
    families = {path: set(selected_codes(tree, path, True, False)) for path in paths}
    wanted = sorted(set().union(*families.values())) if families else []
    stmt = select(Coding.code_id, Coding.transcript_id, Coding.start, Coding.end).join(
        Transcript, Transcript.id == Coding.transcript_id
    )
    stmt = scope.apply(stmt.where(Coding.code_id.in_(wanted)))
    with collector_paused():
        rows = driver_rows(session, stmt) if wanted else []
    per_path: dict[str, dict[int, list[Span]]] = {path: {} for path in paths}
    owners: dict[int, list[dict[int, list[Span]]]] = {
        code_id: [per_path[path] for path, family in families.items() if code_id in family] for code_id in wanted
    }
    for code_id, tid, start, end in rows:
        for per_transcript in owners[code_id]:
            per_transcript.setdefault(tid, []).append((start, end))
    return {path: {tid: merge_spans(spans) for tid, spans in found.items()} for path, found in per_path.items()}


def _shown_layouts(
    session: Session, ids: list[int], found: dict[int, Spans], context: ContextUnit, turns_around: int
) -> dict[int, TranscriptLayout]:
    """The layouts the results are shown with: text, sentences for sentence context, turns only where they are
    needed (turn context, turns around, or a result outside every sentence, whose context is its turn)."""
    if not ids:
        return {}
    if context == "turn" or turns_around:
        return load_layouts(session, ids, sentences=context == "sentence")
    layouts = load_layouts(session, ids, sentences=context == "sentence", turns=False)
    if context == "sentence":
        outside = [tid for tid in ids if not all(layouts[tid].in_sentences(s, e) for s, e in found[tid])]
        layouts.update(load_layouts(session, outside) if outside else {})
    return layouts


def _needs_layout(node: Node) -> bool:
    if isinstance(node, CodeRef):
        return False
    if isinstance(node, Not):
        return _needs_layout(node.operand)
    own = isinstance(node, Relation) and node.unit in ("sentence", "turn")
    return own or _needs_layout(node.left) or _needs_layout(node.right)


def _lengths(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(select(Transcript.id, func.length(Transcript.text)).where(Transcript.id.in_(ids)))
    return {tid: length for tid, length in rows}


def _memos(session: Session, found: dict[int, Spans]) -> dict[int, list[tuple[int, int, str]]]:
    """The memos of the codings that share text with a result, as (start, end, memo) per transcript: each
    result shows what coders noted there. Where the memo'd codings are is read first (integers only), and
    the text of the memos that touch a result after, so a project full of memos costs little more."""
    out: dict[int, list[tuple[int, int, str]]] = {}
    if not found:
        return out
    rows = driver_rows(
        session,
        select(Coding.id, Coding.transcript_id, Coding.start, Coding.end)
        .where(Coding.transcript_id.in_(sorted(found)), Coding.memo != "")
        .order_by(Coding.transcript_id, Coding.start, Coding.id),
    )
    ends = {tid: [e for _s, e in spans] for tid, spans in found.items()}
    touching = []
    for coding_id, tid, start, end in rows:
        at = bisect_right(ends[tid], start)  # the first result ending after the coding starts
        if at < len(ends[tid]) and found[tid][at][0] < end:
            touching.append((coding_id, tid, start, end))
    texts: dict[int, str] = {}
    ids = [row[0] for row in touching]
    for i in range(0, len(ids), ID_CHUNK):
        texts.update(driver_rows(session, select(Coding.id, Coding.memo).where(Coding.id.in_(ids[i : i + ID_CHUNK]))))
    for coding_id, tid, start, end in touching:
        out.setdefault(tid, []).append((start, end, texts[coding_id]))
    return out


def _coded_in(by_code: dict[str, dict[int, Spans]], transcript_id: int) -> Callable[[str], Spans]:
    return lambda path: by_code[path].get(transcript_id, [])


def _uses_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, CodeRef):
        return False
    return _uses_not(node.left) or _uses_not(node.right)


def _transcripts_in_scope(session: Session, ids_stmt: Any) -> list[tuple[int, str, str]]:
    stmt = (
        select(Transcript.id, Participant.study_id, Timepoint.key)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .where(Transcript.id.in_(ids_stmt.subquery().select()))
        .order_by(Timepoint.position, Participant.study_id)
    )
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


def _context(layout: TranscriptLayout, start: int, end: int, unit: ContextUnit, turns_around: int) -> Span:
    c_start, c_end = (start, end) if unit == "segment" else layout.context(start, end, unit)
    if turns_around and layout.turns:
        found = layout.turn_range(start, end)
        if found is not None:
            first = max(0, found[0] - turns_around)
            last = min(len(layout.turns) - 1, found[1] + turns_around)
            c_start, c_end = min(c_start, layout.turns[first].start), max(c_end, layout.turns[last].end)
    return c_start, c_end
