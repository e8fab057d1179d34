"""Lazy spaCy: sentence segmentation and lemmas.

spaCy takes about a second to import, so nothing here loads it until a sentence or a lemma is needed (the
TUI opens without it). By default a blank English pipeline with the rule-based sentencizer is used (no
download); a trained pipeline is used only when it is installed and named in the project's
``spacy_model`` setting.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# What counts as a word everywhere (word counts, words coded): letters/digits with inner apostrophes.
WORD_RE = re.compile(r"\w+(?:['’]\w+)*")


@lru_cache(maxsize=4)
def sentence_pipeline(model: str | None = None) -> Any:
    import spacy

    if model:
        try:
            nlp = spacy.load(model, exclude=["ner", "lemmatizer", "textcat"])
            if "parser" in nlp.pipe_names or "senter" in nlp.pipe_names:
                return nlp
        except OSError:
            pass  # not installed: the rule-based pipeline below is the documented fallback
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


@lru_cache(maxsize=1)
def lemma_pipeline() -> Any:
    """spaCy's lookup lemmatizer (tables from spacy-lookups-data; no download, no model)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


def lemma(word: str) -> str:
    return lemmas([word])[0]


@lru_cache(maxsize=1)
def lemma_table() -> Any:
    """spaCy's English lookup table (word -> lemma; keys are hashed, so look up with ``.get(word)``)."""
    nlp = lemma_pipeline()
    return nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")


def lemmas(words: Iterable[str]) -> list[str]:
    """Lower-cased lookup lemmas of single words (fast: a table lookup, no pipeline run)."""
    table = lemma_table()
    out = []
    for word in words:
        low = word.lower()
        out.append(table.get(low, table.get(word, low)).lower())
    return out


def sentence_spans(texts: list[str], offsets: list[int], model: str | None = None) -> list[list[tuple[int, int]]]:
    """For each text (a turn), its sentences as absolute ``[start, end)`` spans, whitespace trimmed.

    Bracketed notes stay whole and with their sentence (see ``keep_notes_whole``)."""
    nlp = sentence_pipeline(model)
    found: Iterable[list[tuple[int, int]]]
    if nlp.pipe_names == ["sentencizer"]:
        found = rule_based_sentences(nlp, texts)
    else:
        # Slice the input, not ``doc.text``: spaCy rebuilds that from every token on each access (quadratic in
        # the turn's length). The tokenizer is non-destructive, so they are the same string.
        found = ([(sent.start_char, sent.end_char) for sent in doc.sents] for doc in nlp.pipe(texts, batch_size=256))
    result: list[list[tuple[int, int]]] = []
    for pieces, text, base in zip(found, texts, offsets, strict=True):
        spans: list[tuple[int, int]] = []
        for start, end in pieces:
            chunk = text[start:end]
            stripped = chunk.strip()
            if not stripped:
                continue
            start += len(chunk) - len(chunk.lstrip())
            spans.append((start, start + len(stripped)))
        if spans and ("[" in text or "(" in text):
            spans = keep_notes_whole(text, spans)
        result.append([(base + start, base + end) for start, end in spans])
    return result


def rule_based_sentences(nlp: Any, texts: list[str]) -> list[list[tuple[int, int]]]:
    """Each text's sentences as ``[start, end)`` pieces (untrimmed: each runs to the next one's start), exactly
    where spaCy's rule-based ``sentencizer`` puts them, computed from the tokens' arrays.

    Why not run the pipe: the sentencizer and ``doc.sents`` build a Python object per token (a million for
    a hundred interviews), which cost as much as tokenizing. The rule is ``Sentencizer.predict``'s: a
    sentence starts at a doc's first token and at every plain token (neither punctuation nor one of the
    sentencizer's ``punct_chars``) that has one of those characters between it and the previous plain token
    (or the doc's start). ``tests/test_sentence_brackets.py`` checks this against the pipe itself.
    """
    import numpy

    enders = numpy.array([nlp.vocab.strings.add(c) for c in nlp.get_pipe("sentencizer").punct_chars], numpy.uint64)
    docs = [nlp.make_doc(text) for text in texts]  # what the pipe would tokenize (with its length limit)
    lengths = numpy.array([len(doc) for doc in docs], dtype=numpy.int64)
    out: list[list[tuple[int, int]]] = [[] for _ in texts]
    if not lengths.sum():
        return out
    tokens = numpy.concatenate([doc.to_array(["IDX", "ORTH", "IS_PUNCT"]) for doc in docs if len(doc)])
    firsts = numpy.cumsum(lengths) - lengths  # each doc's first token in ``tokens``
    first = numpy.zeros(len(tokens), dtype=bool)
    first[firsts[lengths > 0]] = True
    ender = numpy.isin(tokens[:, 1], enders)
    plain = ~ender & (tokens[:, 2] == 0)
    enders_before = numpy.cumsum(ender, dtype=numpy.int64) - ender
    anchors = numpy.flatnonzero(plain | first)
    seen = numpy.diff(enders_before[anchors], prepend=0) > 0
    starts = anchors[first[anchors] | seen]
    owners = (numpy.searchsorted(firsts, starts, side="right") - 1).tolist()  # an empty doc's first is its next's
    bounds: dict[int, list[int]] = defaultdict(list)
    for owner, start in zip(owners, tokens[starts, 0].tolist(), strict=True):
        bounds[owner].append(start)
    for owner, cuts in bounds.items():
        cuts.append(len(texts[owner]))
        out[owner] = list(zip(cuts, cuts[1:], strict=False))
    return out


# Transcribers' notes: ``[laughs]``, ``(pause)``, ``[inaudible 00:12:03]``. Bounded in length and to one line,
# so a stray bracket cannot swallow half a turn.
NOTE_RE = re.compile(r"\[[^\[\]\n]{1,200}\]|\([^()\n]{1,200}\)")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_WORD_CHAR = re.compile(r"\w")
_TRAILING = re.compile(r"[.!?\u2026,;:\"'\u201d\u2019]*")


def notes_in(text: str) -> list[tuple[int, int]]:
    """The bracketed notes of ``text`` as sorted, disjoint ``[start, end)`` spans (outermost kept)."""
    found = sorted(((m.start(), m.end()) for m in NOTE_RE.finditer(text)), key=lambda s: (s[0], -s[1]))
    out: list[tuple[int, int]] = []
    for start, end in found:
        if out and start < out[-1][1]:
            if end > out[-1][1]:  # partly overlapping notes: one note
                out[-1] = (out[-1][0], end)
            continue
        out.append((start, end))
    return out


def keep_notes_whole(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence spans (relative to ``text``) with no boundary inside a bracketed note, and no note alone.

    spaCy's rule-based sentencizer ends a sentence after ``!``/``.``/``?`` plus any punctuation that follows,
    so "no login! [laughs] It's" becomes "no login! [" and "laughs] It's": a quote that starts or ends
    inside the note. Here a boundary inside a note moves to just after it when the text before the note
    ends a sentence (the note belongs to the sentence it follows), and is dropped when the sentence end is
    inside the note ("(and I meant it. Really.)"); a sentence that is only notes and punctuation
    ("[laughs]") joins the sentence before it (or after it, at the start of a turn), or is dropped when
    it is all there is.
    """
    notes = notes_in(text)
    if not notes:
        return spans
    cuts: list[int] = []
    for start, _end in spans[1:]:
        cut = _moved_cut(text, notes, start)
        if cut is not None and (not cuts or cut > cuts[-1]):
            cuts.append(cut)
    bounds = [spans[0][0], *cuts, spans[-1][1]]
    pieces = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            first = start + len(chunk) - len(chunk.lstrip())
            pieces.append((first, first + len(stripped)))
    return _join_lone_notes(text, notes, pieces)


def _note_at(notes: list[tuple[int, int]], position: int, inclusive_end: bool = False) -> tuple[int, int] | None:
    for start, end in notes:
        if start < position < end or (inclusive_end and position == end):
            return start, end
        if start >= position:
            break
    return None


def _ends_sentence(text: str) -> bool:
    return _SENTENCE_END.search(text.rstrip()) is not None


def _moved_cut(text: str, notes: list[tuple[int, int]], cut: int) -> int | None:
    """Where a sentence boundary found by spaCy at ``cut`` belongs, or None when it is no boundary."""
    inside = _note_at(notes, cut)
    if inside is not None:
        note_start, note_end = inside
        if not _ends_sentence(text[:note_start]):
            return None
        trailing = _TRAILING.match(text, note_end)
        note_end += len(trailing.group()) if trailing else 0  # "[laughs]." keeps its full stop
        return note_end if text[note_end:].strip() else None
    before = text[:cut].rstrip()
    closing = _note_at(notes, len(before), inclusive_end=True)
    if closing is not None and closing[1] == len(before) and not _ends_sentence(text[: closing[0]]):
        return None  # the full stop that made this boundary is inside the note: "(... Really.) that ..."
    return cut


def _join_lone_notes(text: str, notes: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    def lone(start: int, end: int) -> bool:
        chunk = text[start:end]
        inner = [(max(a, start), min(b, end)) for a, b in notes if a < end and b > start]
        if not inner:
            return False
        for a, b in reversed(inner):
            chunk = chunk[: a - start] + chunk[b - start :]
        return _WORD_CHAR.search(chunk) is None

    out: list[tuple[int, int]] = []
    pending: int | None = None  # start of notes that open a turn, waiting for the next sentence
    for start, end in spans:
        if lone(start, end):
            if out:
                out[-1] = (out[-1][0], end)
            elif pending is None:
                pending = start
            continue
        out.append((pending if pending is not None else start, end))
        pending = None
    return out


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def word_count(text: str) -> int:
    return len(WORD_RE.findall(text))  # a quarter faster than counting a generator over ``finditer``


TITLE_ABBREVIATIONS = ["dr", "mr", "mrs", "ms", "prof"]
TITLE_WORDS = ["miss", "nurse", "doctor", "professor", "sister"]
ORG_WORDS = [
    "hospital",
    "trust",
    "college",
    "centre",
    "center",
    "charity",
    "council",
    "clinic",
    "foundation",
    "university",
    "surgery",
]


@lru_cache(maxsize=1)
def entity_ruler_pipeline() -> Any:
    """A blank English pipeline with an entity ruler for names that follow patterns (titles, wards, orgs)."""
    import spacy

    nlp = spacy.blank("en")
    ruler: Any = nlp.add_pipe("entity_ruler")  # an EntityRuler (spaCy types the factory's result loosely)
    name = {"IS_TITLE": True, "IS_STOP": False}
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": [{"LOWER": {"IN": TITLE_ABBREVIATIONS}}, {"ORTH": ".", "OP": "?"}, name]},
            {"label": "PERSON", "pattern": [{"LOWER": {"IN": TITLE_WORDS}}, name]},
            {"label": "WARD", "pattern": [name, {"LOWER": "ward"}]},
            {
                "label": "ORG",
                "pattern": [name, {"IS_TITLE": True, "IS_STOP": False, "OP": "*"}, {"LOWER": {"IN": ORG_WORDS}}],
            },
        ]
    )
    return nlp


@lru_cache(maxsize=2)
def ner_pipeline(model: str | None = None) -> Any | None:
    """A trained pipeline's statistical NER if one is installed (named in settings or a standard English one)."""
    from pathlib import Path

    import spacy.util

    for name in [model] if model else ["en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm"]:
        # An installed package, or a pipeline saved in a folder (``nlp.to_disk``) named in the setting.
        if name and (spacy.util.is_package(name) or Path(name).expanduser().is_dir()):
            import spacy

            nlp = spacy.load(name, exclude=["lemmatizer", "textcat"])
            if "ner" in nlp.pipe_names:
                return nlp
    return None
