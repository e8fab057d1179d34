"""Full-text search over every character of the transcripts, lemma-aware and fuzzy, and auto-coding of the hits.

The index (``models/search_index.py``) holds each speaker turn and each stretch of text outside the turns
(preambles, label lines). A query is words, ``"quoted phrases"`` and prefixes (``supp*``); every part must occur
in one turn (or one such stretch). Lemma and
fuzzy matching expand each word to words of the index vocabulary (``search_vocab``): those with the same
spaCy lookup lemma ("support" -> "supported", "supporting") and those within a rapidfuzz similarity
("supervison" -> "supervision"). The expanded query is still one FTS5 MATCH, so a search costs an index
lookup, never a scan of the transcripts.

Where a hit is: the index finds the rows; ``matched_spans`` places the matched words in each row's text with
the same folding (case, diacritics) on both engines, so offsets are code-point offsets into the unchanged
original text whatever the engine.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import product
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table, text
from sqlalchemy.orm import Session

from models import search_index
from models.codes import CodeTree
from models.errors import WaveqdaError
from models.participants import get_or_create_coder
from models.queries import Attribute, Scope, check_roles, fetch_rows, merge_spans, resolve_scope
from models.queries.spans import joined_spans
from models.schema import Coder, Coding, Participant, Sentence, Timepoint, Transcript, Turn
from models.store import Project

FUZZY_THRESHOLD = 85.0  # rapidfuzz ratio (0-100) a vocabulary word needs to count as a variant of a query word
FUZZY_MIN_LENGTH = 4  # shorter words have too many near neighbours ("and" ~ "end", "an", "land")
FUZZY_MAX_VARIANTS = 50
MAX_PHRASE_VARIANTS = 256
SENTENCE_CHUNK = 500

Unit = Literal["hit", "sentence", "turn"]

_fts = table("search_index", column("rowid"), column("text"), column("transcript_id"))
_TOKEN_RE = re.compile(r"[^\W_]+")
_QUERY_PART_RE = re.compile(r'"([^"]*)"?|(\S+)')


# --------------------------------------------------------------------------------------------- query


@dataclass(frozen=True)
class Term:
    """One query word, folded like the index folds it; ``prefix`` for ``supp*``."""

    word: str
    prefix: bool = False


def fold(word: str) -> str:
    """Lower case without diacritics, as the ``unicode61 remove_diacritics 2`` tokenizer stores words."""
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def parse_query(query: str) -> list[list[Term]]:
    """Split a query into clauses, each a run of consecutive words (a phrase, or a single word).

    A bare word that the tokenizer splits ("don't", "e-mail") is a phrase, as FTS5 would read it.
    """
    clauses: list[list[Term]] = []
    for match in _QUERY_PART_RE.finditer(query):
        phrase, word = match.group(1), match.group(2)
        source = phrase if phrase is not None else word
        prefix = word is not None and word.endswith("*")
        tokens = _TOKEN_RE.findall(fold(source))
        if tokens:
            clauses.append([Term(t, prefix and i == len(tokens) - 1) for i, t in enumerate(tokens)])
    if not clauses:
        raise WaveqdaError(f'nothing to search for in {query!r}: give a word, a "phrase" or a prefix*')
    return clauses


@dataclass
class Vocabulary:
    """The index's distinct words, and which of them share a lemma."""

    words: list[str]
    by_lemma: dict[str, list[str]] | None = None

    def lemma_groups(self) -> dict[str, list[str]]:
        """Lemmatised on first use only: loading the lookup tables costs about a second."""
        if self.by_lemma is None:
            from models import nlp

            groups: dict[str, list[str]] = defaultdict(list)
            for word, lemma in zip(self.words, nlp.lemmas(self.words), strict=True):
                groups[lemma].append(word)
            self.by_lemma = dict(groups)
        return self.by_lemma


_vocabularies: dict[str, tuple[tuple[Any, ...], Vocabulary]] = {}
_vocabulary_lock = threading.Lock()


def vocabulary(session: Session) -> Vocabulary:
    """The index vocabulary, cached per project until turns are added or removed.

    Reading ``search_vocab`` walks the whole index (tens of milliseconds on 1M words); the number of turns
    and the highest turn id change whenever the indexed turns do, and cost one B-tree lookup.
    """
    url = str(session.get_bind().engine.url)
    stamp = tuple(session.execute(select(func.count(Turn.id), func.coalesce(func.max(Turn.id), 0))).one())
    with _vocabulary_lock:
        cached = _vocabularies.get(url)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    if search_index.is_postgresql(session):
        words = list(session.scalars(text("SELECT word FROM ts_stat('SELECT tsv FROM search_index')")))
    else:
        words = list(session.scalars(text("SELECT term FROM search_vocab")))
    found = Vocabulary(words)
    with _vocabulary_lock:
        _vocabularies[url] = (stamp, found)
    return found


def expand(session: Session, term: Term, fuzzy: bool, lemma: bool, threshold: float = FUZZY_THRESHOLD) -> list[str]:
    """The indexed words a query word stands for: itself, its fuzzy variants, and words sharing a lemma."""
    if term.prefix or not (fuzzy or lemma):
        return [term.word]
    vocab = vocabulary(session)
    variants = {term.word}
    if fuzzy and len(term.word) >= FUZZY_MIN_LENGTH:
        from rapidfuzz import fuzz, process

        found = process.extract(
            term.word, vocab.words, scorer=fuzz.ratio, score_cutoff=threshold, limit=FUZZY_MAX_VARIANTS
        )
        variants.update(word for word, _score, _index in found)
    if lemma:
        from models import nlp

        groups = vocab.lemma_groups()
        for lem in set(nlp.lemmas(sorted(variants))):
            variants.update(groups.get(lem, []))
    return sorted(variants)


def _quoted(words: Sequence[str], prefix: bool) -> str:
    return '"' + " ".join(words) + '"' + ("*" if prefix else "")


def fts_expression(clauses: list[list[Term]], variants: list[list[list[str]]]) -> str:
    """One FTS5 MATCH expression: clauses joined by AND, each an OR of its phrase variants."""
    parts = []
    for clause, options in zip(clauses, variants, strict=True):
        count = 1
        for option in options:
            count *= len(option)
        if count > MAX_PHRASE_VARIANTS:
            words = " ".join(t.word for t in clause)
            raise WaveqdaError(f"the phrase {words!r} has {count} variants; search it without --fuzzy/--lemma")
        phrases = [_quoted(combo, clause[-1].prefix) for combo in product(*options)]
        parts.append(phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")")
    return " AND ".join(parts)


def tsquery_expression(clauses: list[list[Term]], variants: list[list[list[str]]]) -> str:
    """The same search as ``fts_expression`` for PostgreSQL's ``to_tsquery``: phrases as ``a <-> b``, a
    prefix as ``supp:*``, variants joined by ``|`` and clauses by ``&``."""
    parts = []
    for clause, options in zip(clauses, variants, strict=True):
        phrases = [
            " <-> ".join(f"'{word}'" for word in combo) + (":*" if clause[-1].prefix else "")
            for combo in product(*options)
        ]
        parts.append("(" + " | ".join(phrases) + ")")
    return " & ".join(parts)


@dataclass(frozen=True)
class CompiledQuery:
    """A user query with every word expanded (lemmas, fuzzy variants): the index expression for either
    engine, and what waveqda matches in a turn's text itself to place each hit."""

    clauses: list[list[Term]]
    variants: list[list[list[str]]]

    @property
    def fts(self) -> str:
        return fts_expression(self.clauses, self.variants)

    @property
    def tsquery(self) -> str:
        return tsquery_expression(self.clauses, self.variants)


def compile_query(
    session: Session, query: str, fuzzy: bool = False, lemma: bool = False, threshold: float = FUZZY_THRESHOLD
) -> CompiledQuery:
    clauses = parse_query(query)
    variants = [[expand(session, term, fuzzy, lemma, threshold) for term in clause] for clause in clauses]
    fts_expression(clauses, variants)  # refuses a phrase with too many variants, on either engine
    return CompiledQuery(clauses, variants)


def build_expression(
    session: Session, query: str, fuzzy: bool = False, lemma: bool = False, threshold: float = FUZZY_THRESHOLD
) -> str:
    """The FTS5 expression a user query becomes (exposed so the TUI can show what was searched)."""
    return compile_query(session, query, fuzzy, lemma, threshold).fts


# Words as the index tokenises them (FTS5's unicode61; PostgreSQL's parser agrees on letters and digits):
# runs of letters and digits, combining marks kept inside a word (a decomposed accent).
_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+")


def matched_spans(body: str, compiled: CompiledQuery) -> list[tuple[int, int]]:
    """Where the query's clauses occur in ``body`` (offsets into it, in order, overlapping ones joined), or
    an empty list when some clause does not occur: the same rule the index applies, computed in Python so
    that both engines place hits identically."""
    tokens = [(m.start(), m.end(), fold(m.group())) for m in _WORD_RE.finditer(body)]
    spans: list[tuple[int, int]] = []
    for clause, options in zip(compiled.clauses, compiled.variants, strict=True):
        sets = [set(option) for option in options]
        prefix = clause[-1].prefix
        n = len(clause)
        found = False
        for i in range(len(tokens) - n + 1):
            if all(tokens[i + k][2] in sets[k] for k in range(n - 1)):
                last = tokens[i + n - 1][2]
                if last in sets[-1] or (prefix and any(last.startswith(p) for p in sets[-1])):
                    spans.append((tokens[i][0], tokens[i + n - 1][1]))
                    found = True
        if not found:
            return []
    return joined_spans(spans)


# --------------------------------------------------------------------------------------------- search


@dataclass
class Hit:
    """One match: the matched words as ``[start, end)`` transcript offsets, with their turn and sentence."""

    transcript_id: int
    participant: str
    timepoint: str
    timepoint_label: str
    turn_id: int | None  # None: the text is outside every speaker turn (a preamble, a label line)
    turn_index: int | None
    turn_start: int
    turn_end: int
    speaker: str
    role: str
    start: int
    end: int
    text: str
    context_start: int
    context_end: int
    context: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def search(
    session: Session,
    query: str,
    fuzzy: bool = False,
    lemma: bool = False,
    timepoints: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
    limit: int | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    transcript_ids: Sequence[int] | None = None,
    threshold: float = FUZZY_THRESHOLD,
) -> list[Hit]:
    """Every occurrence of the query in the selected turns, in timepoint, participant and turn order.

    ``roles`` limits the speakers (``["participant"]``: only what participants said); ``limit`` caps the
    number of hits. The index (FTS5 on SQLite, ``tsvector`` on PostgreSQL) finds the turns; the hits in
    each turn are placed by ``matched_spans``, the same on both engines.
    """
    wanted_roles = check_roles(roles)
    scope = resolve_scope(session, timepoints, participants, attribute, transcript_ids=transcript_ids)
    compiled = compile_query(session, query, fuzzy, lemma, threshold)
    stmt = _search_statement(session, compiled, scope, wanted_roles)
    hits: list[Hit] = []
    for row in fetch_rows(session, stmt):
        hits.extend(_hits_of_row(compiled, row))
        if limit is not None and len(hits) >= limit:
            break
    hits = hits[:limit] if limit is not None else hits
    _add_sentence_context(session, hits)
    return hits


def _search_statement(session: Session, compiled: CompiledQuery, scope: Scope, roles: set[str] | None) -> Select:
    matches: ColumnElement[Any]
    if search_index.is_postgresql(session):
        matches = literal_column("search_index.tsv").op("@@")(
            func.to_tsquery(literal_column("'waveqda'"), compiled.tsquery)
        )
    else:
        matches = literal_column("search_index").op("MATCH")(compiled.fts)
    # Gap rows (text outside every turn) have no turn: an outer join keeps them, with the turn columns NULL.
    # They sort where their text begins (decoded from the rowid), among the turns of their transcript.
    gap_start: ColumnElement[Any] = literal_column("(-search_index.rowid)") % search_index.GAP_SHIFT
    stmt = (
        select(
            _fts.c.rowid,
            _fts.c.transcript_id,
            Participant.study_id,
            Timepoint.key,
            Timepoint.label,
            Turn.index,
            Turn.start,
            Turn.end,
            Turn.speaker,
            Turn.role,
            _fts.c.text,
        )
        .select_from(_fts)
        .join(Transcript, Transcript.id == _fts.c.transcript_id)
        .outerjoin(Turn, Turn.id == _fts.c.rowid)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .where(matches)
        .order_by(Timepoint.position, Participant.study_id, func.coalesce(Turn.start, gap_start))
    )
    if roles is not None:
        stmt = stmt.where(Turn.role.in_(sorted(roles)))
    return scope.apply(stmt, with_coder=False)


def _hits_of_row(compiled: CompiledQuery, row: Any) -> list[Hit]:
    rowid, tid, study_id, key, label, index, turn_start, turn_end, speaker, role, body = row
    turn_id = rowid if rowid > 0 else None
    if turn_id is None:  # text outside every turn: the row's own stretch stands in for the turn
        turn_start = search_index.gap_start(rowid)
        turn_end, speaker, role = turn_start + len(body), "", ""
    return [
        Hit(
            transcript_id=tid,
            participant=study_id,
            timepoint=key,
            timepoint_label=label,
            turn_id=turn_id,
            turn_index=index,
            turn_start=turn_start,
            turn_end=turn_end,
            speaker=speaker,
            role=role,
            start=turn_start + start,
            end=turn_start + end,
            text=body[start:end],
            context_start=turn_start,  # the turn until _add_sentence_context narrows it
            context_end=turn_end,
            context=body,
        )
        for start, end in matched_spans(body, compiled)
    ]


def _add_sentence_context(session: Session, hits: list[Hit]) -> None:
    """Narrow each hit's context from its turn to the sentence(s) it is in (one query per 500 turns)."""
    turn_ids = sorted({h.turn_id for h in hits if h.turn_id is not None})
    sentences: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for i in range(0, len(turn_ids), SENTENCE_CHUNK):
        stmt = (
            select(Turn.id, Sentence.start, Sentence.end)
            .join(Sentence, (Sentence.transcript_id == Turn.transcript_id) & (Sentence.start >= Turn.start))
            .where(Turn.id.in_(turn_ids[i : i + SENTENCE_CHUNK]), Sentence.start < Turn.end)
        )
        for turn_id, start, end in fetch_rows(session, stmt):
            sentences[turn_id].append((start, end))
    bounds = {
        turn_id: ([s for s, _ in sorted(spans)], [e for _, e in sorted(spans)]) for turn_id, spans in sentences.items()
    }
    for hit in hits:
        starts, ends = bounds.get(hit.turn_id, ([], [])) if hit.turn_id is not None else ([], [])
        first = bisect_right(ends, hit.start)
        last = bisect_left(starts, hit.end) - 1
        if first <= last:
            offset = hit.turn_start
            hit.context_start, hit.context_end = starts[first], ends[last]
            hit.context = hit.context[hit.context_start - offset : hit.context_end - offset]


# --------------------------------------------------------------------------------------------- autocode


@dataclass
class AutocodeResult:
    """What an auto-code did, or would do (``dry_run``): hits found, spans to code after widening them to
    the unit and joining overlaps, and codings created, extended, or absorbed into a neighbour."""

    query: str
    code: str
    coder: str
    unit: str
    dry_run: bool
    hits: int
    spans: int
    created: int
    extended: int
    absorbed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def unit_span(hit: Hit, unit: Unit) -> tuple[int, int]:
    """The span a hit codes: the matched words, their sentence(s) (its context), or its whole turn."""
    if unit == "sentence":
        return hit.context_start, hit.context_end
    if unit == "turn":
        return hit.turn_start, hit.turn_end
    return hit.start, hit.end


def autocode(
    project: Project,
    actor: str,
    query: str,
    code_ref: str | int,
    coder: str,
    unit: Unit = "hit",
    dry_run: bool = False,
    fuzzy: bool = False,
    lemma: bool = False,
    timepoints: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
) -> AutocodeResult:
    """Apply a code to every hit of a search as one undoable step, or with ``dry_run`` only count.

    A dry run replays the rule of ``models.coding.apply_code_to_spans`` (a coder's overlapping or touching
    codings of one code become one, kept in the oldest) on the current codings, so its counts are what
    applying does. With no hits nothing is written (no empty step to undo).
    """
    if unit not in ("hit", "sentence", "turn"):
        raise WaveqdaError(f"unknown unit {unit!r}: use hit, sentence or turn")
    coder = coder.strip()
    filters: dict[str, Any] = {
        "timepoints": timepoints,
        "participants": participants,
        "roles": roles,
        "attribute": attribute,
    }
    with project.read() as session:
        hits = search(session, query, fuzzy, lemma, **filters)
        if dry_run or not hits:
            code = CodeTree.load(session).find(code_ref)
            coder_id = session.scalar(select(Coder.id).where(Coder.name == coder))
            targets = _targets(hits, unit)
            before = _existing(session, code.id, coder_id, targets)
            counts = _counts(before, _simulate(before, targets))
            return _result(session, query, code.id, coder, unit, dry_run, hits, targets, counts)
    with project.change(actor, "search.autocode") as session:
        hits = search(session, query, fuzzy, lemma, **filters)
        result = _apply(session, query, code_ref, coder, unit, hits)
        session.info["summary"] = (
            f"Auto-coded {result.hits} hits of {query!r} ({unit}) as {result.code} ({result.coder}): "
            f"{result.created} created, {result.extended} extended, {result.absorbed} absorbed"
        )
        session.info["detail"] = result.as_dict()
    return result


def _apply(
    session: Session, query: str, code_ref: str | int, coder: str, unit: Unit, hits: list[Hit]
) -> AutocodeResult:
    from models.coding import apply_code_to_spans

    code = CodeTree.load(session).find(code_ref)
    coder_id = get_or_create_coder(session, coder).id
    targets = _targets(hits, unit)
    before = _existing(session, code.id, coder_id, targets)
    apply_code_to_spans(session, code.id, coder_id, targets)
    counts = _counts(before, _existing(session, code.id, coder_id, targets))
    return _result(session, query, code.id, coder, unit, False, hits, targets, counts)


# transcript id -> coding id -> (uuid, start, end). Codings are compared by uuid: SQLite may give a new
# coding the id of one just absorbed, but never its uuid.
Placed = dict[int, dict[int, tuple[str, int, int]]]


def _targets(hits: list[Hit], unit: Unit) -> dict[int, list[tuple[int, int]]]:
    """Spans to code per transcript, widened to the unit; touching spans joined as applying would."""
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for hit in hits:
        spans[hit.transcript_id].append(unit_span(hit, unit))
    return {tid: merge_spans(found) for tid, found in spans.items()}


def _existing(session: Session, code_id: int, coder_id: int | None, tids: Iterable[int]) -> Placed:
    """The coder's codings of the code in these transcripts."""
    placed: Placed = {tid: {} for tid in tids}
    if coder_id is None or not placed:
        return placed
    stmt = select(Coding.id, Coding.uuid, Coding.transcript_id, Coding.start, Coding.end).where(
        Coding.code_id == code_id, Coding.coder_id == coder_id, Coding.transcript_id.in_(list(placed))
    )
    for cid, uuid, tid, start, end in fetch_rows(session, stmt):
        placed[tid][cid] = (uuid, start, end)
    return placed


def _simulate(before: Placed, targets: dict[int, list[tuple[int, int]]]) -> Placed:
    """The codings after applying each target span in turn: a span joins every coding it overlaps or
    touches into the oldest of them (lowest id); otherwise it becomes a new coding."""
    state = {tid: dict(codings) for tid, codings in before.items()}
    next_id = max((cid for codings in before.values() for cid in codings), default=0) + 1
    for tid, spans in targets.items():
        codings = state[tid]
        for start, end in spans:
            touching = sorted(cid for cid, (_uuid, s, e) in codings.items() if s <= end and e >= start)
            if not touching:
                codings[next_id] = (f"new-{next_id}", start, end)
                next_id += 1
                continue
            parts = [codings.pop(cid) for cid in touching]
            low, high = min(start, *(p[1] for p in parts)), max(end, *(p[2] for p in parts))
            codings[touching[0]] = (parts[0][0], low, high)
    return state


def _counts(before: Placed, after: Placed) -> tuple[int, int, int]:
    """Codings (created, extended, absorbed into another) between two states."""
    old = {uuid: (s, e) for codings in before.values() for uuid, s, e in codings.values()}
    new = {uuid: (s, e) for codings in after.values() for uuid, s, e in codings.values()}
    created = sum(1 for uuid in new if uuid not in old)
    extended = sum(1 for uuid, span in new.items() if uuid in old and old[uuid] != span)
    absorbed = sum(1 for uuid in old if uuid not in new)
    return created, extended, absorbed


def _result(
    session: Session,
    query: str,
    code_id: int,
    coder: str,
    unit: Unit,
    dry_run: bool,
    hits: list[Hit],
    targets: dict[int, list[tuple[int, int]]],
    counts: tuple[int, int, int],
) -> AutocodeResult:
    spans = sum(len(found) for found in targets.values())
    path = CodeTree.load(session).path(code_id)
    return AutocodeResult(query, path, coder, unit, dry_run, len(hits), spans, *counts)
