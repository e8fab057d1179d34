"""Matching typed words against code names (rapidfuzz), each word on its own.

Why not Textual's fuzzy matcher: it treats the query as one string, so "mon wor" scores nothing against
"Barriers/Money/Worries". Researchers type fragments of several words in any order; every word must match
somewhere in the path (or, more weakly, in the definition), tolerating a typo.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from models.workspace_queries import CodeInfo

T = TypeVar("T")
WORD_THRESHOLD = 70.0


def word_score(word: str, path: str, definition: str = "") -> float:
    """Best match of one lower-cased word in a path (full weight) or a definition (reduced weight)."""
    if word in path:
        return 100.0
    from rapidfuzz import fuzz  # imported on first use: the home screen does not need it (launch budget)

    best = fuzz.partial_ratio(word, path) if len(word) > 2 else 0.0
    if definition:
        if word in definition:
            best = max(best, 85.0)
        elif len(word) > 3:
            best = max(best, 0.8 * fuzz.partial_ratio(word, definition))
    return best


def score(query: str, path: str, definition: str = "") -> float:
    """0 when any typed word fails to match; otherwise the mean word score (prefix matches first)."""
    words = query.casefold().split()
    if not words:
        return 100.0
    path_f, def_f = path.casefold(), definition.casefold()
    total = 0.0
    for word in words:
        s = word_score(word, path_f, def_f)
        if s < WORD_THRESHOLD:
            return 0.0
        total += s
    name = path_f.rsplit("/", 1)[-1]
    bonus = 5.0 if name.startswith(words[0]) else 0.0
    return total / len(words) + bonus


def rank_codes(query: str, codes: Iterable[CodeInfo], limit: int = 200) -> list[CodeInfo]:
    """Codes matching every typed word, best first (codebook order for an empty query)."""
    codes = list(codes)
    if not query.strip():
        return codes[:limit]
    scored = [(score(query, c.path, c.definition), n, c) for n, c in enumerate(codes)]
    scored = [item for item in scored if item[0] > 0]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [c for _, _, c in scored[:limit]]
