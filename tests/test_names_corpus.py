"""Issue 11's acceptance on the planted corpus (``tests/data/names_corpus``): 12 interviews, 6 as .txt and 6
as .docx, with 95 planted identifiers (145 written forms: possessives, titles, sentence starts, lower case,
misspellings, places and the head word alone, e-mail addresses, phones, postcodes, dates of birth) and 90+
capitalised words that name nobody.

* the first scan proposes every planted form, at most 10% of its candidates are not planted, and no listed
  non-name is proposed; misspellings and place head words come as spellings of their term;
* an ``--anonymise`` export while candidates are unreviewed exits 1 with one line and writes no file;
* after accepting every candidate, no planted form is in any export kind (read back from the written files:
  every XML part of the .docx/.xlsx/.qdpx, the CSV text), quotes are the original words with only planted
  identifiers replaced, one identifier has one pseudonym everywhere, and the stored transcripts are unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from exporters.dispatch import ExportOptions, run_export
from exporters.filters import ExportFilters
from importers.batch import import_paths
from models import codebook, names
from models.coding import apply_codes, set_coding_memo, set_transcript_memo
from models.errors import WaveqdaError
from models.name_detection import person_key, term_key
from models.schema import Transcript, Turn
from models.store import Project, create_project, open_project

CORPUS = Path(__file__).resolve().parent / "data" / "names_corpus"
PLANTED = json.loads((CORPUS / "planted.json").read_text(encoding="utf-8"))
FORMS = [form for item in PLANTED["identifiers"] for form in item["forms"]]
FORM_KEYS = {term_key(f) for f in FORMS} | {person_key(f) for f in FORMS}
TERMS = ["P01/T1", "P01/T2", "P02/T1", "P02/T2", "P03/T1", "P03/T2",
         "P04/T1", "P04/T2", "P05/T1", "P05/T2", "P06/T1", "P06/T2"]  # fmt: skip
# Spellings the first scan must offer as spellings of their term (misspellings, head words, name parts).
SPELLINGS = {
    "Sandrah": "Sandra", "Okonkow": "Okonkwo", "Kwami": "Kwame", "Achterburg": "Achterberg", "Aoiffe": "Aoife",
    "Garreth": "Gareth", "Caroll": "Carol", "Okekee": "Okeke", "Margurite": "Marguerite", "Femmi": "Femi",
    "Jenifer": "Jennifer", "Willow": "Willow Ward", "Cedar": "Cedar Ward", "Rowan": "Rowan Ward",
    "Larch": "Larch Unit", "Hope": "Hope Ellery", "Ellery": "Hope Ellery",
}  # fmt: skip
EXPORTS = [
    ("themes.docx", "themes", {}),
    ("framework.docx", "framework", {}),
    ("codebook.docx", "codebook", {}),
    ("codings.csv", "codings", {}),
    ("codings.xlsx", "codings", {}),
    ("matrix.csv", "matrix", {}),
    ("matrix.xlsx", "matrix", {}),
    ("disagreements.docx", "disagreements", {"coders": ["ann", "ben"]}),
    ("disagreements.csv", "disagreements", {"coders": ["ann", "ben"]}),
    ("project.qdpx", "project", {}),
    *[(f"{ref.replace('/', '_')}.docx", "transcript", {"transcript": ref}) for ref in TERMS],
]

runner = CliRunner()


# --- the coded corpus --------------------------------------------------------------------------------------


def build(path: Path) -> None:
    """Import the corpus, code every participant turn (ann; ben every other one), add memos naming people."""
    project = create_project(path, name="Peer workers (names corpus)")
    try:
        files = sorted(p for p in CORPUS.iterdir() if p.suffix in (".txt", ".docx"))
        result = import_paths(project, files, actor="tester")
        assert not result.failed, result.failed
        codebook.add_code(
            project,
            "ann",
            "Experience/Talk",
            definition="Anything said about the work.",
            example="Sandra ran most of it.",
        )
        codebook.add_code(project, "ann", "Experience/Support")
        with project.read() as session:
            turns = session.execute(
                select(Turn.transcript_id, Turn.start, Turn.end).where(Turn.role == "participant").order_by(Turn.id)
            ).all()
        for n, (transcript_id, start, end) in enumerate(turns):
            apply_codes(project, "ann", transcript_id, ["Experience/Talk"], "ann", start, end)
            if n % 2:
                apply_codes(project, "ben", transcript_id, ["Experience/Support"], "ben", start, end)
            if n % 3 == 0:
                apply_codes(
                    project, "ben", transcript_id, ["Experience/Talk"], "ben", start, start + (end - start) // 2
                )
        first = apply_codes(project, "ann", turns[0][0], ["Experience/Support"], "ann", turns[0][1], turns[0][2])
        set_coding_memo(project, "ann", first[0], "Sandra again; Dr Okonkwo's view matters here.")
        set_transcript_memo(project, "ann", "P04/T1", "Tom mentions Carol and Beech House.")
    finally:
        project.close()


@pytest.fixture(scope="module")
def corpus_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("names-corpus") / "corpus.wqda"
    build(path)
    return path


@pytest.fixture
def corpus(corpus_template: Path, tmp_path: Path) -> Project:
    target = tmp_path / "corpus.wqda"
    with sqlite3.connect(corpus_template) as source, sqlite3.connect(target) as dest:
        source.backup(dest)
    project = open_project(target)
    yield project
    project.close()


# --- reading exports back, independently of models.name_check ---------------------------------------------------


def written_text(path: Path) -> str:
    """Everything a reader (or a program) can get out of the file: every member of an archive as raw XML
    (attributes included, entities decoded) and as text with tags removed, or the CSV as written."""
    if path.suffix == ".csv":
        return path.read_text(encoding="utf-8-sig")
    parts = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith((".png", ".jpeg", ".jpg", ".emf")):
                continue
            raw = html.unescape(data.decode("utf-8", errors="replace"))
            parts.append(raw)
            paragraphs = re.sub(r"</(?:w:p|w:tc|si|c|row)>", "\n", raw)
            parts.append(re.sub(r"<[^>]+>", "", paragraphs))
    return "\n".join(parts)


FORM_PATTERN = re.compile(
    r"(?<![\w@.])(?:" + "|".join(re.escape(f) for f in sorted(set(FORMS), key=len, reverse=True)) + r")(?![\w@])"
)


def forms_in(text: str) -> list[str]:
    """Planted forms in ``text``, case-sensitive whole words (a form inside a longer form counts too)."""
    found = set(FORM_PATTERN.findall(text))
    inner = {f for f in FORMS for outer in found if f != outer and re.search(rf"(?<!\w){re.escape(f)}(?!\w)", outer)}
    return sorted(found | inner)


def export(project: Project, folder: Path, name: str, kind: str, extra: dict, **flags: bool) -> Path:
    options = ExportOptions(transcript=extra.get("transcript"))
    filters = ExportFilters(anonymise=True, coders=extra.get("coders"), **flags)
    out = folder / name
    run_export(project, out, kind, filters, options)
    return out


def transcript_hashes(project: Project) -> dict[int, str]:
    with project.read() as session:
        return {t.id: hashlib.sha256(t.text.encode()).hexdigest() for t in session.scalars(select(Transcript))}


# --- the first scan ------------------------------------------------------------------------------------------


def test_the_corpus_is_what_it_says(corpus: Project) -> None:
    with corpus.read() as session:
        text = "\n".join(session.scalars(select(Transcript.text)))
        formats = sorted({t.source_format for t in session.scalars(select(Transcript))})
    assert formats == ["docx", "txt"]
    assert len(PLANTED["identifiers"]) >= 60 and len(PLANTED["non_names"]) >= len(PLANTED["identifiers"]) - 5
    assert forms_in(text) == sorted(set(FORMS))  # every planted form is really in the stored text
    absent = [n for n in PLANTED["non_names"] if not re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text)]
    assert absent == []
    kinds = {item["kind"] for item in PLANTED["identifiers"]}
    assert {"e-mail address", "phone number", "postcode", "date of birth", "surname with title",
            "ward, head word alone", "place with generic head", "town", "speaker label"} <= kinds  # fmt: skip


def test_first_scan_proposes_every_planted_identifier_with_few_false_candidates(corpus: Project) -> None:
    rows = names.scan(corpus, "ann")
    proposed = {term_key(r.text): r for r in rows}
    missing = [f for f in FORMS if term_key(f) not in proposed and person_key(f) not in proposed]
    assert missing == []
    false = [r.text for r in rows if term_key(r.text) not in FORM_KEYS and person_key(r.text) not in FORM_KEYS]
    assert len(false) <= 0.10 * len(rows), false
    assert [n for n in PLANTED["non_names"] if term_key(n) in proposed] == []
    offered = {r.text: r.variant_of for r in rows if r.variant_of}
    assert {k: offered.get(k) for k in SPELLINGS} == SPELLINGS  # in the first scan, not a second one
    labels = {r.text: r.speaker_replacement for r in rows if r.source == "speaker-label"}
    assert set(labels) == {"Dana", "Marcus", "Priya", "Tom", "Aisha", "Kerry"}
    assert labels["Priya"] == "P03"
    by_kind = {r.text: r.category for r in rows}
    assert by_kind["aisha.r@mindbridge.example.org"] == "email" and by_kind["HT2 9LW"] == "postcode"
    assert by_kind["07700 900461"] == "phone" and by_kind["2 June 1961"] == "birthdate"
    assert by_kind["Willow Ward"] == "ward" and by_kind["Okonkwo"] == "person"


# --- the gate --------------------------------------------------------------------------------------------------


# Every kind that writes text (a code x timepoint matrix holds counts and code names only: test_matrix_...).
REFUSED = [e for e in EXPORTS if e[1] not in ("transcript", "matrix")] + [EXPORTS[-1]]


@pytest.mark.parametrize(("name", "kind", "extra"), REFUSED)
def test_anonymised_export_with_unreviewed_names_fails_and_writes_nothing(corpus, tmp_path, name, kind, extra):
    folder = tmp_path / "out"
    folder.mkdir()
    args = ["export", str(corpus.path), str(folder / name), "--kind", kind, "--anonymise"]
    if "coders" in extra:
        args += ["--coders", *extra["coders"]]
    if "transcript" in extra:
        args += ["--transcript", extra["transcript"]]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    message = result.output.strip()
    assert "\n" not in message and "not reviewed" in message and "waveqda names corpus.wqda scan" in message
    assert list(folder.iterdir()) == []


def test_matrix_holds_no_names_and_is_written(corpus, tmp_path):
    run_export(corpus, tmp_path / "m.xlsx", "matrix", ExportFilters(anonymise=True))
    assert forms_in(written_text(tmp_path / "m.xlsx")) == []


def test_reviewed_register_but_new_name_in_a_memo_still_fails(corpus, tmp_path):
    names.scan(corpus, "ann")
    names.accept(corpus, "ann", all_pending=True)
    set_transcript_memo(corpus, "ann", "P01/T1", "Ask Bartholomew about this.")
    with pytest.raises(WaveqdaError, match=r"1 name\(s\) in its text are not reviewed \(Bartholomew\)"):
        run_export(corpus, tmp_path / "p.qdpx", "project", ExportFilters(anonymise=True))
    assert not (tmp_path / "p.qdpx").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial file left


def first_page(path: Path) -> str:
    import docx

    blocks = []
    for block in docx.Document(str(path)).element.body.iterchildren():
        blocks.append("".join(block.itertext()))
        if block.xpath(".//w:br[@w:type='page']") or block.xpath(".//w:pageBreakBefore"):
            break
    return "\n".join(blocks)


@pytest.mark.parametrize(("kind", "extra"), [(k, e) for n, k, e in EXPORTS if n.endswith(".docx")][:5])
def test_accept_risk_is_stated_on_the_first_page_of_every_word_report(corpus, tmp_path, kind, extra):
    out = tmp_path / f"{kind}.docx"
    run_export(corpus, out, kind, ExportFilters(anonymise=True, accept_risk=True, coders=extra.get("coders")),
               ExportOptions(transcript=extra.get("transcript")))  # fmt: skip
    assert re.search(r"--accept-risk: \d+ unreviewed name candidate\(s\)", first_page(out)), kind


def test_accept_risk_writes_and_says_so_on_the_first_page(corpus, tmp_path):
    import docx

    out = tmp_path / "themes.docx"
    lines = run_export(corpus, out, "themes", ExportFilters(anonymise=True, accept_risk=True))
    assert out.exists() and any("--accept-risk" in line for line in lines)
    document = docx.Document(str(out))
    first_page = []
    for block in document.element.body.iterchildren():
        first_page.append("".join(block.itertext()))
        if block.xpath(".//w:br[@w:type='page']"):
            break
    statement = next(t for t in first_page if "--accept-risk" in t)
    assert re.search(r"\d+ unreviewed name candidate\(s\)", statement)


# --- after review ----------------------------------------------------------------------------------------------


@pytest.fixture
def reviewed(corpus: Project) -> Project:
    names.scan(corpus, "ann")
    names.accept(corpus, "ann", all_pending=True)
    return corpus


def test_no_planted_string_in_any_export_and_the_transcripts_are_unchanged(reviewed, tmp_path):
    before = transcript_hashes(reviewed)
    leaks = {}
    for name, kind, extra in EXPORTS:
        path = export(reviewed, tmp_path, name, kind, extra)
        text = written_text(path)
        assert len(text) > 200, name
        if forms_in(text):
            leaks[name] = forms_in(text)
        checked = runner.invoke(app, ["names", str(reviewed.path), "check", str(path)])
        assert checked.exit_code == 0, checked.output
    assert leaks == {}
    assert transcript_hashes(reviewed) == before
    # the same files without --anonymise do hold the names: the reading-back above can see them
    run_export(reviewed, tmp_path / "plain.qdpx", "project", ExportFilters())
    assert len(forms_in(written_text(tmp_path / "plain.qdpx"))) >= len(set(FORMS)) - 2
    plain = runner.invoke(app, ["names", str(reviewed.path), "check", str(tmp_path / "plain.qdpx")])
    assert plain.exit_code == 1 and "registered name 'Sandrah'" in plain.output
    for name, kind in (("plain.docx", "themes"), ("plain.xlsx", "codings"), ("plain.csv", "codings")):
        run_export(reviewed, tmp_path / name, kind, ExportFilters())
        found = runner.invoke(app, ["names", str(reviewed.path), "check", str(tmp_path / name), "--json"])
        report = json.loads(found.output)
        assert found.exit_code == 1 and not report["clean"], name
        assert {"Sandra", "Okonkwo", "Willow Ward"} <= {f["text"] for f in report["findings"]}, name


def test_quotes_are_the_original_words_with_only_planted_identifiers_replaced(reviewed, tmp_path):
    path = export(reviewed, tmp_path, "codings.csv", "codings", {})
    with reviewed.read() as session:
        texts = {f"{t.participant.study_id}/{t.timepoint.key}": t.text for t in session.scalars(select(Transcript))}
        pseudonyms = {e.replacement for e in names.entry_rows(session)} | {r[:3] for r in texts}
    alternation = "|".join(re.escape(p) for p in sorted(pseudonyms, key=len, reverse=True))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) > 80
    replaced = 0
    for row in rows:
        original = texts[f"{row['participant']}/{row['timepoint']}"][int(row["start"]) : int(row["end"])]
        pieces = re.split(f"({alternation})", row["text"])
        pattern = "".join("(.+?)" if i % 2 else re.escape(piece) for i, piece in enumerate(pieces))
        match = re.fullmatch(pattern, original, re.DOTALL)
        assert match is not None, (row["text"], original)
        for n, group in enumerate(match.groups(), 1):
            whole = term_key(group) in FORM_KEYS or person_key(group) in FORM_KEYS
            # a name cut by the coding's edge is replaced whole ("…On the first day Sa" -> "…[Person A]")
            at_edge = match.start(n) == 0 or match.end(n) == len(original)
            assert whole or at_edge and any(group in f for f in FORMS), (group, row["text"])
            replaced += 1
    assert replaced > 150


def test_one_identifier_one_pseudonym_across_forms_exports_and_timepoints(reviewed, tmp_path):
    with reviewed.read() as session:
        replacer = names.anonymiser(session)
    for item in PLANTED["identifiers"]:
        if item["kind"] in ("place name alone",):
            continue
        labels = {re.sub(r"['’]s$", "", replacer.replace(form)) for form in item["forms"]}
        labels = {label.removeprefix("Dr ") for label in labels}
        assert len(labels) == 1 and item["term"] not in labels, (item["term"], labels)
    okonkwo = replacer.replace("Okonkwo")
    assert replacer.replace("Dr Okonkwo") == f"Dr {okonkwo}" and replacer.replace("Okonkow's") == f"{okonkwo}'s"
    # the same pseudonym in a Word transcript at T1, the .qdpx source at T2 and the CSV
    t1 = written_text(export(reviewed, tmp_path, "t1.docx", "transcript", {"transcript": "P01/T1"}))
    qdpx = written_text(export(reviewed, tmp_path, "p.qdpx", "project", {}))
    table = written_text(export(reviewed, tmp_path, "c.csv", "codings", {}))
    sandra = replacer.replace("Sandra")
    for text in (t1, qdpx, table):
        assert f"{sandra} is my supervisor" in text
    assert f"{sandra} left for a month" in qdpx  # "Sandrah" at T2
    assert "P01 is" not in t1 and "P01:" in t1  # the participant's label is her study ID


def test_coders_are_named_alike_in_every_export(reviewed, tmp_path):
    named = [written_text(export(reviewed, tmp_path, f"n{i}{s}", k, {})) for i, (s, k) in
             enumerate([(".docx", "themes"), (".qdpx", "project"), (".csv", "codings")])]  # fmt: skip
    assert all("ann" in text and "ben" in text for text in named)
    hidden = [written_text(export(reviewed, tmp_path, f"h{i}{s}", k, {}, anonymise_coders=True)) for i, (s, k) in
              enumerate([(".docx", "themes"), (".qdpx", "project"), (".csv", "codings")])]  # fmt: skip
    for text in hidden:
        assert "Coder 1" in text and "Coder 2" in text
        assert not re.search(r"(?<![\w.])(ann|ben)(?![\w.])", text)


def test_trained_pipeline_adds_to_the_rules_and_is_not_needed(reviewed, tmp_path):
    """A real trained spaCy NER (trained here on a few sentences; nothing is downloaded) finds a name the rules
    cannot ("Dawn" at a sentence start with no cue is an everyday word), and everything the rules find is
    still found: the gain is additive. Without it (above) every planted identifier is found anyway."""
    import random

    import spacy
    from spacy.training import Example

    from models.nlp import ner_pipeline
    from models.store import set_setting

    set_transcript_memo(reviewed, "ann", "P02/T2", "Summer runs the evening group now. Summer agreed to talk to us.")

    def found() -> set[str]:
        with reviewed.read() as session:
            return {h.key for h in names.detect(session)[1]}

    without = found()
    assert "summer" not in without  # an everyday word at sentence starts, with no cue: the rules leave it
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner")
    ner.add_label("PERSON")
    train = [
        ("Summer runs the evening group now.", [(0, 6, "PERSON")]),
        ("Summer agreed to talk to us.", [(0, 6, "PERSON")]),
        ("Marina runs the evening group now.", [(0, 6, "PERSON")]),
        ("The group runs in the evening.", []),
    ]
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in train]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(7)
    for _ in range(30):
        rng.shuffle(examples)
        nlp.update(examples, sgd=optimizer, drop=0.0)
    model = tmp_path / "toy-ner"
    nlp.to_disk(model)
    with reviewed.change("ann", "test.setting", undoable=False) as session:
        set_setting(session, "spacy_model", str(model))
    ner_pipeline.cache_clear()
    try:
        with_ner = found()
        pending = {r.text for r in names.scan(reviewed, "ann")}
    finally:
        ner_pipeline.cache_clear()
    assert "summer" in with_ner and "Summer" in pending
    assert without <= with_ner  # additive: nothing the rules found is lost
