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
    """For each text (a turn), its sentences as absolute ``[start, end)`` spans, whitespace trimmed."""
    nlp = sentence_pipeline(model)
    result: list[list[tuple[int, int]]] = []
    for doc, text, base in zip(nlp.pipe(texts, batch_size=256), texts, offsets, strict=True):
        # Slice the input, not ``doc.text``: spaCy rebuilds that from every token on each access (quadratic
        # in the turn's length; half the sentence-segmentation time of an import). The tokenizer is
        # non-destructive, so they are the same string.
        spans: list[tuple[int, int]] = []
        for sent in doc.sents:
            start, end = sent.start_char, sent.end_char
            chunk = text[start:end]
            stripped = chunk.strip()
            if not stripped:
                continue
            start += len(chunk) - len(chunk.lstrip())
            end = start + len(stripped)
            spans.append((base + start, base + end))
        result.append(spans)
    return result


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def word_count(text: str) -> int:
    return sum(1 for _ in WORD_RE.finditer(text))


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
    ruler = nlp.add_pipe("entity_ruler")
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
