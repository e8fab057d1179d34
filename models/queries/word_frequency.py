"""Word frequencies (``waveqda words``): the most frequent words of coded text or of what participants said,
per code, timepoint or attribute group, without stop words, optionally counted by lemma (issue 15).

What NVivo's and MAXQDA's word frequency queries give, without the word cloud: per group, each word's count
and its share of the group's words (stop words excluded from both). Stop words are spaCy's English list;
lemmas are spaCy's lookup lemmas (no model needed). The text counted is, per transcript, the union of the
selected codings (a passage coded twice is counted once) or, without ``--code``, every participant turn.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import nlp
from models.errors import WaveqdaError
from models.queries.crosstab import attribute_values
from models.queries.layouts import load_layouts
from models.queries.retrieval import coded_spans
from models.queries.scope import Attribute, resolve_scope
from models.queries.spans import merge_spans
from models.schema import Timepoint, Transcript

GroupBy = Literal["all", "timepoint", "attribute"]


@dataclass(frozen=True)
class WordCount:
    word: str
    count: int
    share: float  # of the group's counted words (stop words excluded)


@dataclass(frozen=True)
class WordGroup:
    group: str
    words_counted: int
    top: tuple[WordCount, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"group": self.group, "words_counted": self.words_counted, "top": [asdict(w) for w in self.top]}


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    fillers = {"yeah", "um", "erm", "uh", "mm", "like", "know", "just", "bit", "lot", "sort", "kind", "really"}
    return frozenset(w.lower() for w in STOP_WORDS) | fillers


def word_frequencies(
    session: Session,
    code: str | None = None,
    timepoints: Sequence[str] | None = None,
    participants: Sequence[str] | None = None,
    attribute: Attribute | list[Attribute] | None = None,
    coders: Sequence[str] | None = None,
    by: GroupBy = "all",
    by_attribute: str | None = None,
    lemma: bool = False,
    top: int = 20,
    min_length: int = 3,
) -> list[WordGroup]:
    """The ``top`` words of each group, most frequent first (ties alphabetically)."""
    if by == "attribute" and not by_attribute:
        raise WaveqdaError("group by attribute needs its name, e.g. --by attribute:site")
    texts = _texts(session, code, timepoints, participants, attribute, coders)
    groups = _group_of(session, by, by_attribute)
    counters: dict[str, Counter[str]] = defaultdict(Counter)
    stops = stop_words()
    for (_transcript, participant_id, key), pieces in texts.items():
        group = groups(participant_id, key)
        tokens = [w.lower().replace("’", "'") for piece in pieces for w in nlp.words(_without_notes(piece))]
        tokens = [w for w in tokens if len(w) >= min_length and not _is_stop(w, stops) and not w.isdigit()]
        if lemma:
            tokens = [w for w in nlp.lemmas(tokens) if w not in stops]
        counters[group].update(tokens)
    out = []
    for group in sorted(counters, key=_group_order(session, by)):
        counter = counters[group]
        total = sum(counter.values())
        ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top]
        out.append(WordGroup(group, total, tuple(WordCount(w, n, n / total) for w, n in ranked)))
    return out


CLITICS = frozenset({"t", "s", "m", "re", "ve", "ll", "d"})


def _is_stop(word: str, stops: frozenset[str]) -> bool:
    """A stop word, or one with a clitic ("i'm", "that's", "couldn't": their heads are stop words)."""
    if word in stops:
        return True
    head, apostrophe, tail = word.partition("'")
    return bool(apostrophe) and tail in CLITICS and (head in stops or head.removesuffix("n") in stops)


def _without_notes(text: str) -> str:
    """Transcribers' notes ("[laughs]", "(pause)") are not the speaker's words."""
    out, position = [], 0
    for start, end in nlp.notes_in(text):
        out.append(text[position:start])
        position = end
    out.append(text[position:])
    return " ".join(out)


def _texts(
    session: Session,
    code: str | None,
    timepoints: Sequence[str] | None,
    participants: Sequence[str] | None,
    attribute: Attribute | list[Attribute] | None,
    coders: Sequence[str] | None,
) -> dict[tuple[int, int, str], list[str]]:
    scope = resolve_scope(session, timepoints, participants, attribute, coders)
    rows = session.execute(
        scope.apply(
            select(Transcript.id, Transcript.participant_id, Timepoint.key).join(
                Timepoint, Timepoint.id == Transcript.timepoint_id
            ),
            with_coder=False,
        )
    ).all()
    info = {tid: (tid, pid, key) for tid, pid, key in rows}
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if code is not None:
        for span in coded_spans(session, code, True, timepoints, participants, attribute, coders):
            if span.transcript_id in info:
                spans[span.transcript_id].append((span.start, span.end))
    layouts = load_layouts(session, list(info), sentences=False)
    out: dict[tuple[int, int, str], list[str]] = {}
    for tid, layout in layouts.items():
        if code is None:
            chosen = [(t.start, t.end) for t in layout.turns if t.role == "participant"]
        else:
            chosen = merge_spans(spans.get(tid, []))
        if chosen:
            out[info[tid]] = [layout.text[s:e] for s, e in chosen]
    return out


def _group_of(session: Session, by: GroupBy, by_attribute: str | None) -> Any:
    if by == "timepoint":
        return lambda _participant, key: key
    if by == "attribute":
        values = attribute_values(session, by_attribute or "")
        return lambda participant, _key: f"{by_attribute}={values.get(participant, '(none)')}"
    return lambda _participant, _key: "all"


def _group_order(session: Session, by: GroupBy) -> Any:
    if by == "timepoint":
        positions = {key: position for key, position in session.execute(select(Timepoint.key, Timepoint.position))}
        return lambda group: (positions.get(group, 0), group)
    return lambda group: group
