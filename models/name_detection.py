"""Finding identifying terms in text the way a careful human reader does. Pure functions over strings.

The scan (``models.names.scan``), the gate every ``--anonymise`` export passes before it writes, and
``waveqda names PROJECT check FILE`` all call ``Detector.detect`` on :class:`Piece` s of text, so a name the
scan would propose is exactly a name the gate and the check refuse to let out.

What counts, and why (the rules of issue 11):

* **Names from the bundled lists** (``models.name_lists``: US SSA given names, 1990 Census surnames) wherever
  they are written as names: capitalised mid-sentence; at a sentence start when the word is usually written
  as a name ("Tom", "Sandra"), or when an everyday word that is also a name is followed by a possessive or
  a verb of speech ("Grace's", "Will said"); in lower case when the word is not an English word ("sandra").
* **Capitalised words that are not English words** (not in the everyday-word list): "Okonkwo", "Brookfield",
  a misspelt "Sandrah", at a sentence start too. Everyday words written with a capital at a sentence start
  ("Actually", "Nicely") or in a service's name ("Mental Health") are not names; nor are days, months,
  nations, faiths, platforms and brands (``not_identifying.txt``).
* **Titles** (Dr, Nurse, Mr...) mark the words after them as a person, and are not part of the term, so
  "Dr Okonkwo" and "Okonkwo" are one person with one pseudonym ("Dr [Person A]").
* **Places with generic heads** (ward, unit, team, house, road, street, park, hospital, centre, GP surgery...)
  after a capitalised modifier that is not just a description ("Cedar Ward", "Brookfield GP surgery"; not
  "Mental Health Team"), and the modifier alone elsewhere ("Willow" after "Willow Ward"), proposed as a
  spelling of the place.
* **Full names** ("Sandra Hill") as one term, and their parts alone ("Sandra", "Mrs Hill") as its spellings.
* **Misspellings** of any term found in the same scan or in the register, in the first scan ("Sandrah" as a
  spelling of "Sandra").
* **Patterns**: e-mail addresses, phone numbers, UK postcodes, dates of birth (a date near "born", "DOB",
  "birthday", "date of birth").
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.name_lists import Lexicon, lexicon

TITLES = {
    "dr", "doctor", "mr", "mrs", "ms", "miss", "mx", "nurse", "sister", "matron", "prof", "professor", "sir",
    "dame", "rev", "reverend", "father", "cllr", "councillor", "auntie", "aunty", "uncle", "nan", "nanna",
}  # fmt: skip
# Generic heads of place names and the register category each implies.
HEADS = {
    **dict.fromkeys(("ward", "unit", "wing", "bay"), "ward"),
    **dict.fromkeys(
        (
            "team", "service", "services", "trust", "hospital", "centre", "center", "clinic", "surgery",
            "practice", "house", "hostel", "lodge", "college", "school", "academy", "university", "charity",
            "foundation", "council", "project", "hub", "cafe", "café", "church", "mosque", "temple", "library",
        ),
        "organisation",
    ),
    **dict.fromkeys(
        (
            "road", "street", "lane", "avenue", "close", "drive", "way", "crescent", "park", "square", "estate",
            "village", "gardens", "court", "terrace", "grove", "walk", "rise", "green", "common", "heath",
        ),
        "place",
    ),
}  # fmt: skip
# Words that only describe a service ("Community Mental Health Team", "Acute Ward" identify nobody).
DESCRIPTORS = {
    "mental", "health", "community", "crisis", "acute", "day", "home", "treatment", "recovery", "peer", "support",
    "inpatient", "outpatient", "in-patient", "out-patient", "early", "intervention", "assessment", "psychiatric",
    "psychiatry", "psychology", "psychological", "general", "district", "local", "national", "regional", "county",
    "city", "children's", "childrens", "child", "children", "adult", "adults", "older", "people", "people's",
    "young", "youth", "family", "families", "medical", "primary", "care", "secondary", "rehab", "rehabilitation",
    "forensic", "secure", "low", "medium", "high", "intensive", "admissions", "admission", "triage", "liaison",
    "resource", "wellbeing", "wellness", "drop-in", "drop", "respite", "housing", "social", "nhs", "gp", "gps",
    "out-of-hours", "emergency", "urgent", "eating", "disorder", "disorders", "perinatal", "mother", "baby",
    "addiction", "addictions", "substance", "misuse", "drug", "drugs", "alcohol", "dementia", "memory",
    "learning", "disability", "disabilities", "personality", "psychosis", "mood", "anxiety", "therapy",
    "therapies", "talking", "counselling", "the", "a", "an", "our", "my", "your", "their", "his", "her", "this",
    "that", "new", "old", "main", "north", "south", "east", "west", "central", "upper", "lower", "first",
    "second", "ground", "top", "big", "little", "short", "long", "stay", "term", "female", "male", "women's",
    "men's", "mixed", "ladies", "staff", "nursing", "nurses", "doctors", "student", "students", "training",
    "education", "employment", "work", "job", "jobs", "research", "quality", "improvement", "safeguarding",
    "integrated", "specialist", "clinical", "access", "home-treatment", "bed", "beds", "unit", "ward", "team",
    "outreach", "recovery-focused", "women", "men", "in", "of", "and", "for", "at", "on",
}  # fmt: skip
PLACE_PREPOSITIONS = {"in", "at", "from", "to", "near", "around", "outside", "into", "towards", "via", "round"}
SPEECH_VERBS = {
    "said", "says", "told", "tells", "asked", "asks", "rang", "rings", "phoned", "phones", "texted", "texts",
    "emailed", "messaged", "replied", "answered", "explained", "reckons", "reckoned", "thinks", "thought",
    "came", "comes", "helped", "helps", "supervises", "supervised", "manages", "managed", "left", "joined",
}  # fmt: skip
MIN_BIRTHS_EVERYDAY = 5_000  # an everyday word counts as a given name mid-sentence when this common a name
MIN_BIRTHS_LOWER = 1_000  # a lower-case word that is no English word counts as a name when this common
MIN_SURNAME_LOWER = 5  # per 100,000 people
TYPO_MIN_LENGTH = 6  # an unlisted unknown word this long one letter from an everyday word is a typo
FUZZY_SAME_INITIAL = 80.0
FUZZY_ANY_INITIAL = 88.0

_WORD = re.compile(r"(?<![\w])[^\W\d_]+(?:['’\-][^\W\d_]+)*['’]?(?![\w])")
_POSSESSIVE = re.compile(r"(?:['’]s|(?<=s)['’])$", re.IGNORECASE)
_CONTRACTION = re.compile(r"['’](?:t|re|ve|ll|d|m)$", re.IGNORECASE)
_SENTENCE_END = set('.!?…:;"“”‘()[]\n/›·|•')  # and the separators of code paths and quote labels
_MID_SENTENCE = set(",-–—'’&%$£€")
# Statistics named after people, as reports print them ("Cohen's κ"): the name is not a person in the data.
EPONYMS = {
    "cohen": {"kappa", "κ"},
    "fleiss": {"kappa", "κ"},
    "krippendorff": {"alpha", "α"},
    "cronbach": {"alpha", "α"},
    "pearson": {"correlation", "r", "chi-squared", "χ"},
    "spearman": {"correlation", "rho", "ρ"},
    "kendall": {"tau", "τ"},
}
FUNCTION_WORDS = {
    "the", "a", "an", "our", "my", "your", "his", "her", "their", "its", "on", "in", "at", "to", "from", "of", "and",
    "but", "or", "so", "then", "with", "by", "for", "not", "no", "yes", "up", "down", "over", "into", "onto",
    "when", "while", "after", "before", "since", "like", "about", "this", "that", "these", "those", "every",
}  # fmt: skip
PLACE_HEADS_NEED_CAPITAL = True  # "Station Road", but not "down Brookfield way" or "Too close"
_BRITISH = (
    ("isation", "ization"), ("isations", "izations"), ("ise", "ize"), ("ised", "ized"), ("ises", "izes"),
    ("ising", "izing"), ("yse", "yze"), ("ysed", "yzed"), ("our", "or"), ("ours", "ors"), ("oured", "ored"),
    ("tre", "ter"), ("tres", "ters"), ("lled", "led"), ("lling", "ling"), ("ogue", "og"), ("ence", "ense"),
)  # fmt: skip
_SUFFIXES = (
    "ing", "ings", "ism", "isms", "ist", "ists", "ed", "er", "ers", "ness", "ment", "ments", "ly", "ful", "less",
    "able", "ably", "ity", "ation", "ations", "es", "s", "y",
)  # fmt: skip
_EMAIL = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
# not inside a hyphenated code: a UUID's middle groups can be all digits ("…-0655-4097-9113-…")
_PHONE = re.compile(
    r"(?<![\w+])(?<!\w-)(?:\+\d{1,3}[ \-]?(?:\(0\)[ \-]?)?\d|\(0\d{2,5}\)|0\d)(?:[ \-]?\d){7,11}(?![\w])(?!-\w)"
)
_POSTCODE = re.compile(
    r"(?<![\w])(?:[A-PR-UWYZ](?:[A-HK-Y]\d[A-Z\d]?|\d[A-HJKPSTUW\d]?)) ?\d[ABD-HJLNP-UW-Z]{2}(?![\w])"
)
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = re.compile(
    rf"(?<![\w/])(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-](?:19|20)?\d{{2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?(?: of)? {_MONTHS}\.?,? (?:19|20)\d{{2}}"
    rf"|{_MONTHS}\.? \d{{1,2}}(?:st|nd|rd|th)?,? (?:19|20)\d{{2}}"
    rf"|{_MONTHS} (?:19|20)\d{{2}})(?![\w/])",
    re.IGNORECASE,
)
_DIGIT_OR_AT = re.compile(r"[\d@]+")
_BIRTH_CUE = re.compile(r"\b(?:born|birth|dob\b|d\.o\.b)", re.IGNORECASE)


@dataclass(frozen=True)
class Piece:
    """Text to scan: ``spans`` are the regions read (a transcript's turns); each begins a sentence.

    ``where`` names the place for people ("P01/T2", "memo 3", "word/document.xml"); ``transcript_id`` lets
    the scan show the candidate in its transcript.
    """

    text: str
    where: str
    spans: tuple[tuple[int, int], ...] = ()
    transcript_id: int | None = None
    names: tuple[str, ...] = ()  # a name per span, when the spans come from different places (file cells)

    def regions(self) -> Sequence[tuple[int, int]]:
        return self.spans or ((0, len(self.text)),)

    def region_at(self, offset: int) -> tuple[str, int, int]:
        """``(where, start, end)`` of the span holding ``offset`` (the whole piece when it has no names)."""
        if not self.names:
            return self.where, 0, len(self.text)
        i = max(0, bisect.bisect_right([s for s, _e in self.spans], offset) - 1)
        return self.names[i], *self.spans[i]


def joined(pieces: Sequence[Piece], limit: int = 4_000_000) -> list[Piece]:
    """Many small pieces (paragraphs, cells) as few large ones, one span each, each distinct text once: the
    same finds, far fewer passes (a 50,000-row CSV is 750,000 cells, most repeating a code or a label)."""
    out: list[Piece] = []
    seen: set[str] = set()
    texts: list[str] = []
    spans: list[tuple[int, int]] = []
    names: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal texts, spans, names, size
        if texts:
            out.append(Piece("\n".join(texts), names[0], tuple(spans), None, tuple(names)))
        texts, spans, names, size = [], [], [], 0

    for piece in pieces:
        if piece.spans or piece.transcript_id is not None or len(piece.text) > limit:
            flush()
            out.append(piece)
            continue
        if piece.text in seen:
            continue
        seen.add(piece.text)
        if size + len(piece.text) > limit:
            flush()
        spans.append((size, size + len(piece.text)))
        texts.append(piece.text)
        names.append(piece.where)
        size += len(piece.text) + 1
    flush()
    return out


@dataclass
class Hit:
    """One occurrence of a possible identifier: ``text`` as written (possessive left out)."""

    text: str
    category: str
    source: str
    piece: int
    start: int
    end: int
    variant_of: str | None = None  # key of the term this is probably a spelling of
    replacement: str | None = None

    @property
    def key(self) -> str:
        return term_key(self.text)


def term_key(text: str) -> str:
    """How terms are compared: case-folded, one space between words, straight apostrophes."""
    return " ".join(text.replace("’", "'").split()).casefold()


def strip_possessive(word: str) -> str:
    return _POSSESSIVE.sub("", word)


def person_key(text: str) -> str:
    """The key of a person's name without a title or possessive: "Dr Okonkwo's" -> "okonkwo"."""
    words = term_key(text).split()
    while len(words) > 1 and words[0].rstrip(".") in TITLES:
        words = words[1:]
    if words:
        words[-1] = strip_possessive(words[-1])
    return " ".join(words)


class _Tokens:
    """The words of a span, read as ``(start, end, text)`` only where a rule looks at them."""

    __slots__ = ("matches",)

    def __init__(self, matches: list[re.Match[str]]) -> None:
        self.matches = matches

    def __len__(self) -> int:
        return len(self.matches)

    def __getitem__(self, j: int) -> tuple[int, int, str]:
        m = self.matches[j]
        return m.start(), m.end(), m.group()


@dataclass
class _Seen:
    """A capitalised word met in the text but not proposed: where first, how often."""

    text: str
    piece: int
    start: int
    count: int = 1
    pieces: set[int] = field(default_factory=set)


@dataclass
class Detector:
    """Detection over pieces of text. ``known`` are register spellings (for misspellings, place modifiers and
    name parts); ``allowed`` are words never reported (pseudonyms, coder names, study IDs)."""

    known: Iterable[str] = ()
    allowed: Iterable[str] = ()
    lex: Lexicon = field(default_factory=lexicon)

    def __post_init__(self) -> None:
        self._known = [k for k in {term_key(s) for s in self.known} if k]
        self._allowed = {term_key(s) for s in self.allowed if s.strip()}
        self._allowed |= {w for s in self._allowed for w in s.split()}
        self._word_like_cache: dict[str, bool] = {}

    # --- the whole pass ----------------------------------------------------------------------------------

    def detect(self, pieces: Sequence[Piece]) -> list[Hit]:
        hits: list[Hit] = []
        seen: dict[str, _Seen] = {}
        lower: dict[str, tuple[int, int, str]] = {}
        for index, piece in enumerate(pieces):
            for start, end in piece.regions():
                self._span(piece.text, start, end, index, hits, seen, lower)
            hits.extend(_patterns(piece.text, index, piece.regions()))
        hits.extend(self._lower_case_names(lower))
        self._link_spellings(hits, seen, lower)
        return [h for h in hits if h.key not in self._allowed]

    def _span(
        self,
        text: str,
        span_start: int,
        span_end: int,
        piece: int,
        hits: list[Hit],
        seen: dict[str, _Seen],
        lower: dict[str, tuple[int, int, str]],
    ) -> None:
        matches = list(_WORD.finditer(text, span_start, span_end))
        tokens = _Tokens(matches)
        lex = self.lex
        words = lex.words
        i, n = 0, len(matches)
        while i < n:
            word = matches[i].group()
            if word in words:  # most words: everyday, lower case
                i += 1
                continue
            if not word[0].isupper():
                key = _ascii(word.casefold())
                if key not in words and key not in lower and not _CONTRACTION.search(word):
                    lower[key] = (piece, matches[i].start(), word)
                i += 1
                continue
            start = matches[i].start()
            if len(word) < 2 or word.isupper() or _acronym_plural(word) or _CONTRACTION.search(word):
                i += 1
                continue
            run = self._run(text, tokens, i)
            consumed = self._titled(text, tokens, i, run, piece, hits) or self._place(text, tokens, i, run, piece, hits)
            if consumed:
                i = consumed
                continue
            at_start = _sentence_start(text, start, span_start)
            if len(run) > 1:
                consumed = self._full_name(text, tokens, run, at_start, piece, hits)
                if consumed:
                    i = consumed
                    continue
            base = strip_possessive(word)
            key = _ascii(base.casefold())
            previous = tokens[i - 1][2].casefold() if i and not at_start else ""
            following = tokens[i + 1][2].casefold() if i + 1 < n else ""
            title_run = self._in_title_run(text, tokens, i, at_start)
            category = self._single(base, key, at_start, previous, following, word != base, title_run)
            if category:
                hits.append(Hit(base, category, "name", piece, start, start + len(base)))
            elif key in seen:
                seen[key].count += 1
                seen[key].pieces.add(piece)
            else:
                seen[key] = _Seen(base, piece, start, pieces={piece})
            i += 1

    @staticmethod
    def _run(text: str, tokens: _Tokens, i: int) -> list[int]:
        """Indexes of the capitalised words that follow token ``i`` separated by single spaces."""
        run = [i]
        j = i + 1
        while j < len(tokens) and len(run) < 6:
            start, _end, word = tokens[j]
            gap = text[tokens[j - 1][1] : start]
            if gap not in (" ", ". ") or gap == ". " and tokens[j - 1][2].casefold() not in ("st", "dr", "mr", "mrs"):
                break
            saint = any(tokens[k][2].casefold().rstrip(".") in ("st", "saint") for k in run)
            if not word[0].isupper() or _POSSESSIVE.search(tokens[j - 1][2]) and not saint:
                break
            if len(word) < 2 or _CONTRACTION.search(word) or word.casefold().startswith(("i'", "i’")):
                break  # "Feel I", "Want I'm": the pronoun, not part of a name
            run.append(j)
            j += 1
        return run

    def _titled(self, text: str, tokens: _Tokens, i: int, run: list[int], piece: int, hits: list[Hit]) -> int:
        """ "Dr Okonkwo", "Nurse Jackie Brown": the name after a title, as a person. Returns the next index."""
        if len(run) < 2 or tokens[i][2].casefold() not in TITLES:
            return 0
        names = [run[1]]
        if len(run) > 2 and self._name_part(tokens[run[2]][2]):
            names.append(run[2])
        start = tokens[names[0]][0]
        last = tokens[names[-1]]
        name = strip_possessive(text[start : last[1]])
        if term_key(name) in self.lex.not_identifying:
            return 0
        hits.append(Hit(name, "person", "title", piece, start, start + len(name)))
        return names[-1] + 1

    def _place(self, text: str, tokens: _Tokens, i: int, run: list[int], piece: int, hits: list[Hit]) -> int:
        """Capitalised modifiers and a generic head ("Cedar Ward", "Brookfield GP surgery", "St Anne's Road")."""
        words = [tokens[j][2] for j in run]
        head_at = None
        for k in range(len(words) - 1, 0, -1):
            if strip_possessive(words[k]).casefold() in HEADS:
                head_at = k
                break
        last = run[-1]
        if head_at is None:  # a lower-case head after the run: "Cedar ward", "Brookfield surgery"
            j = last + 1
            if j < len(tokens) and text[tokens[last][1] : tokens[j][0]] == " ":
                word = tokens[j][2]
                # "Always team" at a sentence start is a sentence, not a place
                sentence = len(run) == 1 and _sentence_start(text, tokens[i][0], 0)
                if (
                    HEADS.get(word.casefold(), "place") != "place"
                    and not word[0].isupper()
                    and not (sentence and self.lex.everyday(_ascii(words[0].casefold())))
                ):
                    run, words, head_at = [*run, j], [*words, word], len(words)
        if head_at is None:
            return 0
        lead = 0
        while lead < head_at and words[lead].casefold() in FUNCTION_WORDS:
            lead += 1
        modifiers = words[lead:head_at]
        if not modifiers or all(
            w.casefold() in DESCRIPTORS or w.casefold() in self.lex.not_identifying or w.isupper() and len(w) < 4
            for w in modifiers
        ):
            return 0
        saint = any(w.casefold().rstrip(".") in ("st", "saint") for w in modifiers)
        if any(w != strip_possessive(w) for w in modifiers) and not saint:
            return 0  # "Sandra's ward": a person's, not a place's name
        if term_key(" ".join(words[: head_at + 1])) in self.lex.phrases:
            return 0
        start, end = tokens[run[lead]][0], tokens[run[head_at]][1]
        phrase = strip_possessive(text[start:end])
        category = HEADS[strip_possessive(words[head_at]).casefold()]
        hits.append(Hit(phrase, category, "place", piece, start, start + len(phrase)))
        return run[head_at] + 1

    def _full_name(
        self,
        text: str,
        tokens: _Tokens,
        run: list[int],
        at_start: bool,
        piece: int,
        hits: list[Hit],
    ) -> int:
        """ "Sandra Hill", "Chidi Okonkwo": a given name followed by one or two name-like words."""
        key = tokens[run[0]][2].casefold()
        if key in self.lex.not_identifying or key in DESCRIPTORS:
            return 0
        if key in self.lex.given:
            if self.lex.everyday(key) and (at_start or self.lex.given[key] < MIN_BIRTHS_EVERYDAY):
                return 0
        elif self.lex.known(key):
            return 0
        parts = [run[0]]
        for j in run[1:3]:
            word = tokens[j][2]
            base = strip_possessive(word).casefold()
            if base in self.lex.not_identifying or base in DESCRIPTORS:
                break
            if not (base in self.lex.surnames or base in self.lex.given or not self.lex.known(base)):
                break
            parts.append(j)
            if word != strip_possessive(word):
                break
        if len(parts) < 2:
            return 0
        start = tokens[parts[0]][0]
        name = strip_possessive(text[start : tokens[parts[-1]][1]])
        hits.append(Hit(name, "person", "name", piece, start, start + len(name)))
        return parts[-1] + 1

    def _name_part(self, word: str) -> bool:
        key = strip_possessive(word).casefold()
        return key not in self.lex.not_identifying and (self.lex.is_name(key) or not self.lex.everyday(key))

    def _in_title_run(self, text: str, tokens: _Tokens, i: int, at_start: bool) -> str:
        """Beside a capitalised everyday word that is no name ("Building Hope": ``everyday``) or a word that
        names nobody ("Christmas Eve": ``proper``); else ``""``."""
        lex = self.lex
        for j in (i - 1, i + 1):
            if j < 0 or j >= len(tokens) or j == i - 1 and at_start:
                continue
            a, b = (tokens[j], tokens[i]) if j < i else (tokens[i], tokens[j])
            word = tokens[j][2]
            if text[a[1] : b[0]] != " " or not word[0].isupper():
                continue
            key = strip_possessive(word).casefold()
            if key in lex.not_identifying:
                return "proper"  # "Christmas Eve"
            if lex.everyday(key) and not lex.is_name(key) and key not in FUNCTION_WORDS:
                return "everyday"  # "Building Hope"
        return ""

    def _single(
        self,
        word: str,
        key: str,
        at_start: bool,
        previous: str,
        following: str,
        possessive: bool,
        title_run: str,
    ) -> str | None:
        """The category of a lone capitalised word if it is probably an identifier, else None."""
        lex = self.lex
        if len(word) < 2 or key in lex.not_identifying or key in self._allowed or key in TITLES:
            return None
        if key[-1] == "s" and key[:-1] in lex.not_identifying:
            return None  # "WhatsApps", "Fridays"
        if following in EPONYMS.get(key, ()):
            return None  # "Cohen's κ"
        if "-" in key and all(part in lex.words for part in key.split("-") if part):
            return None  # "Forty-nine", "Well-being"
        inner_capital = any(c.isupper() for c in word[1:])
        given = lex.given.get(key, 0)
        listed = given >= MIN_BIRTHS_LOWER or lex.surnames.get(key, 0) >= MIN_SURNAME_LOWER
        if not lex.known(key):
            if not listed and not inner_capital and self._word_like(key):
                return None  # "Anonymised", "Portering": an English word the lists do not spell
        elif key in lex.written_as_names:
            if title_run == "proper" or at_start and given < MIN_BIRTHS_LOWER:
                return None  # "Porter for twenty years", "Luckily": at a sentence start only first names
        elif (
            given >= MIN_BIRTHS_EVERYDAY and not title_run and (not at_start or possessive or following in SPEECH_VERBS)
        ):
            return "person"  # "I asked Grace", "Will said"
        else:
            return None
        if inner_capital and not listed:
            return "organisation"
        if listed:
            return "person"
        return "place" if previous in PLACE_PREPOSITIONS else "person"

    def _word_like(self, key: str) -> bool:
        cached = self._word_like_cache.get(key)
        if cached is None:
            cached = self._word_like_cache[key] = self._word_like_uncached(key)
        return cached

    def _word_like_uncached(self, key: str) -> bool:
        """An English word the list lacks: a British spelling, a known word with a suffix, or a long word
        misspelt by one letter ("Supervison")."""
        words = self.lex.words
        if len(key) >= TYPO_MIN_LENGTH:
            edits = set(_one_edit(key))
            if any(
                self.lex.given.get(w, 0) >= MIN_BIRTHS_LOWER or self.lex.surnames.get(w, 0) >= MIN_SURNAME_LOWER
                for w in edits
            ):
                return False  # "Garreth": a misspelt name before a misspelt word ("garret")
            if any(self.lex.everyday(w) for w in edits):
                return True
        for british, american in _BRITISH:
            if key.endswith(british) and key[: -len(british)] + american in words:
                return True
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) - len(suffix) >= 3:
                stem = key[: -len(suffix)]
                if (
                    stem in words
                    or stem + "e" in words
                    or len(stem) > 3
                    and stem[-1] == stem[-2]
                    and stem[:-1] in words
                ):
                    return True
        return False

    def _lower_case_names(self, lower: dict[str, tuple[int, int, str]]) -> list[Hit]:
        """Lower-case words that are no English word but a common name ("sandra", "okafor")."""
        lex = self.lex
        out = []
        for key, (piece, start, word) in lower.items():
            base = strip_possessive(key)
            if base in lex.words or base in lex.not_identifying or len(base) < 3:
                continue
            if len(base) >= 5 and any(lex.everyday(w) for w in _one_edit(base)):
                continue  # "clint", "sumer": "client" and "summer" mistyped, more likely than a name in lower case
            if lex.given.get(base, 0) >= MIN_BIRTHS_LOWER or lex.surnames.get(base, 0) >= MIN_SURNAME_LOWER:
                out.append(Hit(strip_possessive(word), "person", "name", piece, start, start + len(base)))
        return out

    # --- spellings of one term ---------------------------------------------------------------------------

    def _link_spellings(self, hits: list[Hit], seen: dict[str, _Seen], lower: dict[str, tuple[int, int, str]]) -> None:
        """Mark hits that are spellings of another term (place modifiers, name parts, misspellings), and add
        place modifiers met alone ("Willow" after "Willow Ward")."""
        terms = {h.key: h for h in hits}
        multi = [k for k in {*terms, *self._known} if " " in k]
        modifier_of: dict[str, str] = {}
        part_of: dict[str, set[str]] = {}
        pieces_of: dict[str, set[int]] = defaultdict(set)
        for hit in hits:
            pieces_of[hit.key].add(hit.piece)
        for key, found in seen.items():
            pieces_of[key] |= found.pieces
        for key in multi:
            words = key.split()
            category = terms[key].category if key in terms else None
            if words[-1] in HEADS and category in (None, "ward", "place", "organisation"):
                modifiers = [w for w in words[:-1] if w not in DESCRIPTORS]
                # A ward named after a tree or a person ("Willow", "Cedar") is the ward when met alone, and so
                # is a word met alone only where the place is named ("Beech House" ... "Beech is old"); a
                # place named after its town ("Brookfield Hospital") is not the town.
                if len(modifiers) == 1 and (
                    self.lex.known(modifiers[0])
                    or self.lex.given.get(modifiers[0], 0) >= MIN_BIRTHS_LOWER
                    or key in terms
                    and pieces_of[modifiers[0]] <= pieces_of[key]
                ):
                    modifier_of.setdefault(modifiers[0], key)
            elif category in (None, "person"):
                names = person_key(key).split()
                for word in {names[0], names[-1]} if len(names) > 1 else ():
                    part_of.setdefault(word, set()).add(key)
        for modifier, place_key in modifier_of.items():
            alone = seen.get(modifier)
            if alone is not None:
                category = terms[place_key].category if place_key in terms else "place"
                hits.append(
                    Hit(
                        alone.text,
                        category,
                        "place",
                        alone.piece,
                        alone.start,
                        alone.start + len(alone.text),
                        place_key,
                    )
                )
                terms.setdefault(modifier, hits[-1])
        for hit in hits:
            if hit.variant_of:
                continue
            key = hit.key
            if key in modifier_of and modifier_of[key] != key:
                hit.variant_of = modifier_of[key]
                place = terms.get(modifier_of[key])
                hit.category = place.category if place is not None and place.key != key else "place"
            elif key in part_of and len(part_of[key]) == 1 and key not in part_of[key]:
                hit.variant_of = next(iter(part_of[key]))
        self._misspellings(hits, terms, lower)

    def _misspellings(self, hits: list[Hit], terms: dict[str, Hit], lower: dict[str, tuple[int, int, str]]) -> None:
        """A rare spelling close to a term found or registered is proposed as a spelling of it."""
        from rapidfuzz import fuzz, process

        lex = self.lex
        single = {k for k in {*terms, *self._known} if " " not in k and len(k) >= 4 and k.isalpha()}
        if not single:
            return
        choices = sorted(single)
        weight = {k: lex.given.get(k, 0) + lex.surnames.get(k, 0) * 100 for k in choices}
        registered = set(self._known)
        by_key: dict[str, list[Hit]] = {}
        for hit in hits:
            by_key.setdefault(hit.key, []).append(hit)
        for key in choices:
            if key in registered or any(h.variant_of for h in by_key.get(key, [])):
                continue
            best = self._closest(key, choices, process, fuzz)
            if best is None:
                continue
            if best not in registered and not _more_established(best, key, weight, by_key):
                continue
            for hit in by_key.get(key, []):
                hit.variant_of = best
        # lower-case misspellings that no other rule proposed ("sandrah")
        for key, (piece, start, word) in lower.items():
            base = strip_possessive(key)
            if len(base) < 5 or base in by_key or base in lex.words or not base.isalpha():
                continue
            best = self._closest(base, choices, process, fuzz, FUZZY_ANY_INITIAL - 3)
            if best is not None:
                category = terms[best].category if best in terms else "person"
                hits.append(
                    Hit(strip_possessive(word), category, "fuzzy", piece, start, start + len(base), variant_of=best)
                )

    @staticmethod
    def _closest(
        key: str, choices: list[str], process: Any, fuzz: Any, cutoff: float = FUZZY_SAME_INITIAL
    ) -> str | None:
        for choice, score, _ in process.extract(key, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=4):
            if choice == key:
                continue
            if choice[0] == key[0] or score >= FUZZY_ANY_INITIAL:
                return choice
        return None


def _one_edit(word: str) -> Iterable[str]:
    """Every string one deletion, transposition, substitution or insertion away (Norvig's ``edits1``)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for left, right in splits:
        if right:
            yield left + right[1:]
            for c in letters:
                yield left + c + right[1:]
        if len(right) > 1:
            yield left + right[1] + right[0] + right[2:]
        for c in letters:
            yield left + c + right


def _sentence_start(text: str, start: int, span_start: int) -> bool:
    """Nothing but whitespace since the span began, or a sentence end, colon, quote, line break, bullet or
    other symbol before (a report's "■ Hope" swatch, "→"): only a word, a number, a comma or a dash continue a
    sentence."""
    i = start - 1
    while i >= span_start:
        ch = text[i]
        if ch == "\n":
            return True
        if not ch.isspace():
            return ch in _SENTENCE_END or not (ch.isalnum() or ch in _MID_SENTENCE)
        i -= 1
    return True


def _patterns(text: str, piece: int, regions: Sequence[tuple[int, int]]) -> list[Hit]:
    """E-mail addresses, phone numbers, postcodes and dates of birth inside the regions (one pass over the
    text for each pattern; a text with no digit and no @ has none of them)."""
    windows: list[list[int]] = []
    for m in _DIGIT_OR_AT.finditer(text):  # only the text around digits and @ can hold one
        a, b = max(0, m.start() - 64), min(len(text), m.end() + 64)
        if windows and a <= windows[-1][1]:
            windows[-1][1] = b
        else:
            windows.append([a, b])
    if not windows:
        return []
    starts = [r[0] for r in regions]

    def inside(a: int, b: int) -> bool:
        i = bisect.bisect_right(starts, a) - 1
        return i >= 0 and b <= regions[i][1]

    out: list[Hit] = []
    taken: list[tuple[int, int]] = []
    for pattern, category in ((_EMAIL, "email"), (_PHONE, "phone"), (_POSTCODE, "postcode")):
        for m in (m for a, b in windows for m in pattern.finditer(text, a, b)):
            if not inside(m.start(), m.end()) or any(a < m.end() and m.start() < b for a, b in taken):
                continue
            if category == "phone" and not 10 <= sum(c.isdigit() for c in m.group()) <= 13:
                continue
            taken.append((m.start(), m.end()))
            out.append(Hit(m.group(), category, "pattern", piece, m.start(), m.end()))
    for m in (m for a, b in windows for m in _DATE.finditer(text, a, b)):
        if not inside(m.start(), m.end()) or any(a < m.end() and m.start() < b for a, b in taken):
            continue
        region_start = regions[bisect.bisect_right(starts, m.start()) - 1][0]
        if _BIRTH_CUE.search(text, max(region_start, m.start() - 50), m.start()):
            out.append(Hit(m.group(), "birthdate", "pattern", piece, m.start(), m.end()))
    return out


def _more_established(best: str, key: str, weight: dict[str, int], by_key: dict[str, list[Hit]]) -> bool:
    """Is ``best`` the usual spelling and ``key`` a slip? A far more common name ("Jennifer" / "Jenifer"); a
    name written more often in the same interview ("Yusef, sorry, Yusuf"); for equally rare names the one
    written more often ("Okonkwo" 5 times, "Okonkow" once)."""
    best_hits, key_hits = by_key.get(best, []), by_key.get(key, [])
    if weight[key] >= 2_000:  # a common name in its own right: only a far more common one absorbs it,
        together = {h.piece for h in best_hits} & {h.piece for h in key_hits}  # or its twin in one interview
        return (
            weight[best] >= 10 * weight[key]
            and len(best_hits) >= len(key_hits)
            or bool(together)
            and len(best_hits) > len(key_hits)
        )
    if weight[best] > weight[key]:
        return True
    return weight[best] == weight[key] and len(by_key.get(best, [])) > len(by_key.get(key, []))


def _ascii(word: str) -> str:
    """ "café" -> "cafe", "zoë" -> "zoe": the lists are spelt without accents."""
    if word.isascii():
        return word
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode("ascii") or word


def _acronym_plural(word: str) -> bool:
    """ "HCAs", "GPs": an acronym with a plural s."""
    return len(word) > 2 and word[-1] in "s’'" and word[:-1].rstrip("'’").isupper()
