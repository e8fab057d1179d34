"""Lazy spaCy: sentence segmentation and lemmas.

spaCy takes about a second to import, so nothing here loads it until a sentence or a lemma is needed (the
TUI opens without it). By default a blank English pipeline with the rule-based sentencizer is used (no
download); a trained pipeline is used only when it is installed and named in the project's
``spacy_model`` setting.
"""

from __future__ import annotations

import re
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
    """Each text's sentences as ``[start, end)`` pieces (untrimmed: each runs to the next one's start), where
    spaCy's rule-based ``sentencizer`` puts them once white space is trimmed, tokenizing only what decides them.

    The rule is ``Sentencizer.predict``'s: a sentence starts at a doc's first token and at the first plain
    token (neither punctuation nor one of the sentencizer's ``punct_chars``; a white-space token is plain)
    after a token that is one of those characters. So only the white-space-delimited chunks holding such a
    character matter, and, after one, the chunks up to the next plain token: spaCy's tokenizer splits on
    white space first and tokenizes each chunk on its own, so tokenizing those chunks alone gives the tokens
    the whole text would (a run of white space is a token unless it is a single ' ' after a word). About a
    tenth of a transcript's chunks are tokenized, instead of every word (a million for a hundred interviews).
    ``tests/test_sentence_brackets.py`` checks the result against the pipe itself, on the sample study and
    on generated text full of abbreviations, numbers, emoticons, brackets and odd white space.
    """
    punct: set[str] = set(nlp.get_pipe("sentencizer").punct_chars)
    tokenizer = nlp.tokenizer
    kinds: dict[str, tuple[tuple[int, int], ...]] = {}
    finders: dict[frozenset[str], re.Pattern[str]] = {}

    def kinds_of(chunk: str) -> tuple[tuple[int, int], ...]:
        """``(offset, kind)`` per token of a chunk: ``_ENDER``, ``_PLAIN`` or other punctuation."""
        found = kinds.get(chunk)
        if found is None:
            found = kinds[chunk] = tuple(
                (t.idx, _ENDER if t.text in punct else _PUNCT if t.is_punct else _PLAIN) for t in tokenizer(chunk)
            )
        return found

    out: list[list[tuple[int, int]]] = []
    for text in texts:
        if not text:
            out.append([])
            continue
        present = frozenset(text).intersection(punct)
        finder = finders.get(present)
        if finder is None and present:
            finder = finders[present] = re.compile("[" + "".join(re.escape(c) for c in sorted(present)) + "]")
        cuts = [0]
        done = 0  # the text before this offset has been read
        for match in finder.finditer(text) if finder is not None else ():
            if match.start() < done:
                continue
            start = match.start()
            while start > done and not text[start - 1].isspace():
                start -= 1
            end = match.start() + len(_CHUNK.match(text, match.start()).group())  # type: ignore[union-attr]
            cuts, done = _read_from(text, start, end, kinds_of, cuts)
        cuts.append(len(text))
        out.append(list(zip(cuts, cuts[1:], strict=False)))
    return out


_ENDER, _PLAIN, _PUNCT = 1, 2, 0
_CHUNK = re.compile(r"\S*")  # the rest of a white-space-delimited chunk
_NEXT_CHUNK = re.compile(r"(\s*)(\S+)")


def _read_from(text: str, start: int, end: int, kinds_of: Any, cuts: list[int]) -> tuple[list[int], int]:
    """Read the chunk ``text[start:end]`` (which holds a sentence-ending character) and, while an ending is
    pending, the white space and chunks after it: the sentence starts found go into ``cuts``. Returns the
    cuts and where reading stopped."""
    pending = False
    while True:
        for offset, kind in kinds_of(text[start:end]):
            if kind == _ENDER:
                pending = True
            elif kind == _PLAIN and pending:
                cuts.append(start + offset)
                pending = False
        if not pending:
            return cuts, end
        following = _NEXT_CHUNK.match(text, end)
        if following is None:  # only white space follows: a blank sentence, dropped when trimmed
            return cuts, len(text)
        space = following.group(1)
        if space and space != " ":  # a white-space token: plain, so the sentence starts there
            cuts.append(end + (1 if space[0] == " " else 0))
            return cuts, following.start(2)  # the next chunk is read only if it holds an ending itself
        start, end = following.start(2), following.end(2)


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
