"""The bundled lists detection leans on: given names, surnames, everyday words, words that identify nobody.

Loaded once per process (about 60 ms) the first time a scan or a leak check needs them. Where each list
comes from and under which licence is in the README ("Pseudonymisation: where the name lists come from");
``make_lists.py`` rebuilds the generated ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Lexicon:
    """Lower-case lookups. ``words``: everyday English words; ``written_as_names``: those of them usually
    written capitalised ("tom", "heather"); ``given``: births per given name; ``surnames``: per 100,000
    people; ``not_identifying``: days, nations, brands... (single words, and phrases in ``phrases``)."""

    words: frozenset[str]
    written_as_names: frozenset[str]
    given: dict[str, int]
    surnames: dict[str, int]
    not_identifying: frozenset[str]
    phrases: frozenset[str]

    def everyday(self, word: str) -> bool:
        """An ordinary word that is not usually written as a name ("actually", "will", "cedar")."""
        return word in self.words and word not in self.written_as_names

    def known(self, word: str) -> bool:
        return word in self.words

    def is_name(self, word: str) -> bool:
        return word in self.given or word in self.surnames


def _tsv(name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        out[key] = int(value)
    return out


def _lines(name: str) -> list[str]:
    text = (HERE / name).read_text(encoding="utf-8")
    return [s for line in text.splitlines() if (s := line.split("#", 1)[0].strip().casefold())]


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    words: set[str] = set()
    named: set[str] = set()
    for line in (HERE / "words.tsv").read_text(encoding="utf-8").splitlines():
        word, _, flag = line.partition("\t")
        words.add(word)
        if flag == "n":
            named.add(word)
    plain = _lines("not_identifying.txt") + _lines("frequent_proper.txt")
    return Lexicon(
        words=frozenset(words),
        written_as_names=frozenset(named),
        given=_tsv("given_names.tsv"),
        surnames=_tsv("surnames.tsv"),
        not_identifying=frozenset(p for p in plain if " " not in p),
        phrases=frozenset(p for p in plain if " " in p),
    )
