"""The benchmark corpus vocabulary: a few thousand real English word forms with real (Zipf-like) frequencies.

``bench/vocab.txt`` (committed) holds one ``word<TAB>weight`` per line, most frequent first. It was made by
``.venv/bin/python -m bench.vocab`` from spaCy's English lexeme probabilities (``spacy-lookups-data``, a
project dependency): the most frequent alphabetic forms that the English lemma tables know, less a blocklist
(profanity, web-forum jargon, foreign function words, stray letters), plus every inflected form of a list of
words that longitudinal peer-work interviews are about (support, supported, supporting, supports ...),
weighted up so that searches on them hit. Weights are ``exp(log-probability) * 1e8``, so the ranks follow the
real frequency curve of English. Reading the committed file keeps generation fast and independent of the
lookup tables' version.
"""

from __future__ import annotations

import gzip
import json
import math
from functools import lru_cache
from pathlib import Path

VOCAB_FILE = Path(__file__).with_name("vocab.txt")
GENERAL_WORDS = 3000

# Function words of two letters or fewer that English speech really uses (the rest of the short forms in the
# frequency table are contraction fragments such as "nt"/"ca", single letters, or foreign words).
SHORT_OK = {
    "a",
    "i",
    "to",
    "of",
    "in",
    "it",
    "is",
    "be",
    "as",
    "at",
    "so",
    "we",
    "he",
    "by",
    "or",
    "on",
    "do",
    "if",
    "me",
    "my",
    "up",
    "an",
    "go",
    "no",
    "us",
    "am",
    "oh",
    "ok",
}


def _words(text: str) -> list[str]:
    return text.split()


BLOCKLIST = set(
    _words("""
shit fuck fucking fucked fucks sex ass hell damn damned bitch bitches rape raped porn dick penis pussy cunt boobs
tits cock vagina whore bullshit asshole shitty crap sucks suck sucked sexy piss pissed retarded douche goddamn
bastard cum sexual sexually sexist sexuality naked butt gay racist racism nazi kill kills killed killing killer
murder suicide weapon weapons gun guns bomb terrorist abortion atheist atheists atheism jerk idiot idiots moron
dumbass stupid dumb porn slave slavery drunk weed marijuana drugs drug fat ugly creepy loser troll trolls
trolling deleted removed post posts posted posting thread threads comment comments commenting karma mods mod
moderators sub subs sidebar flair upvote reddit edit edited op lol lmao wtf btw imo idk tho ya nt ca wo de la le
que en es se el los por det och som una del las et al si du te da ha em ur gf lbs pls ive wat ish meh har doge
meme lvl ult mana ammo gif dat cuz yea huh og gaming gamer multiplayer players player game games gameplay
league champion champions enemy enemies armor raid loot spawn jungle lane lanes tier ranked damage deck decks
mana quest quests dps nerf buff sword dragon zombie zombies console consoles xbox pc app apps bot server
servers download submission submissions resubmit subreddit album albums episode episodes anime dude dudes bro
chick chicks girlfriend boyfriend hot attractive kiss dating douche dick dicks tank tanks combat fighter
feminist feminists feminism democrats republicans liberal conservative politicians religion religious god
gods bible church christian jesus hitler
""")
)

# What the study's interviews talk about: every inflected form of these is kept and weighted up.
DOMAIN_LEMMAS = _words("""
support supervise supervision value empower connect train training contract fund funding ward team clinical
clinician nurse manager peer worker recovery service user carer colleague role job shift caseload referral
meeting handover insecure insecurity anxious anxiety confidence confident experience listen trust boundary
wellbeing burnout stress optimism optimistic hope hopeful isolate isolated communicate communication respect
recognise recognition include inclusion voice hospital community mental health crisis discharge medication
psychiatrist psychologist therapy group session reflect reflective practice learn course induction mentor
standalone integrate belong struggle cope manage adjust demand pressure workload rota sick leave pay band
permanent temporary renew redundancy worry feel valued listen share story lived patient client staff
""")
DOMAIN_BOOST = 6.0

LOOKUPS = "spacy_lookups_data"


def _lookup_json(name: str) -> dict:
    import importlib.util

    spec = importlib.util.find_spec(LOOKUPS)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("spacy-lookups-data is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def build_vocab(general: int = GENERAL_WORDS) -> list[tuple[str, float]]:
    """The vocabulary from spaCy's lookup tables (see the module doc), most frequent first."""
    prob: dict[str, float] = _lookup_json("en_lexeme_prob.json.gz")
    lookup: dict[str, str] = _lookup_json("en_lemma_lookup.json.gz")
    index: dict[str, list[str]] = _lookup_json("en_lemma_index.json.gz")
    known = set(lookup) | set(lookup.values())
    for words in index.values():
        known.update(words)
    forms_of: dict[str, set[str]] = {}
    for form, lemma in lookup.items():
        forms_of.setdefault(lemma, set()).add(form)

    def acceptable(word: str) -> bool:
        if not (word.isalpha() and word.islower() and word.isascii()) or word in BLOCKLIST:
            return False
        return word in SHORT_OK if len(word) <= 2 else word in known

    ranked = sorted((w for w in prob if acceptable(w)), key=lambda w: (-prob[w], w))
    chosen: dict[str, float] = {w: math.exp(prob[w]) * 1e8 for w in ranked[:general]}
    for lemma in DOMAIN_LEMMAS:
        for form in {lemma} | forms_of.get(lemma, set()):
            if form in prob and form.isalpha() and form not in BLOCKLIST:
                chosen[form] = max(chosen.get(form, 0.0), math.exp(prob[form]) * 1e8 * DOMAIN_BOOST)
    # A few non-ASCII words that British interview transcripts do contain.
    for word in ("café", "naïve", "résumé", "fiancé", "déjà"):
        chosen[word] = math.exp(prob.get(word, -15.0)) * 1e8 * DOMAIN_BOOST
    chosen["i"] = chosen.get("i", 0.0) + math.exp(prob["I"]) * 1e8  # the table splits "I" and "i"
    chosen["NHS"] = math.exp(prob.get("NHS", -13.0)) * 1e8 * DOMAIN_BOOST
    return sorted(((w, round(c, 3)) for w, c in chosen.items() if c >= 0.001), key=lambda wc: (-wc[1], wc[0]))


def write_vocab(path: Path = VOCAB_FILE) -> int:
    rows = build_vocab()
    path.write_text("".join(f"{w}\t{c}\n" for w, c in rows), encoding="utf-8")
    return len(rows)


@lru_cache(maxsize=1)
def load_vocab() -> tuple[tuple[str, ...], tuple[float, ...]]:
    """``(words, weights)`` from ``bench/vocab.txt``, most frequent first."""
    words: list[str] = []
    weights: list[float] = []
    for line in VOCAB_FILE.read_text(encoding="utf-8").splitlines():
        word, _, weight = line.partition("\t")
        if word:
            words.append(word)
            weights.append(float(weight))
    return tuple(words), tuple(weights)


if __name__ == "__main__":
    print(f"{write_vocab()} words written to {VOCAB_FILE}")
