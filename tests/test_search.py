"""Full-text search (words, phrases, prefixes, lemma and fuzzy variants, filters, exact offsets) and
auto-coding (preview equals result, one undo removes it all)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from models import history, search
from models.errors import WaveqdaError
from models.schema import Code, Coder, Coding, Event, Transcript, Turn
from models.store import Project, open_project
from models.transcripts import store_transcript
from tests.conftest import SAMPLES, make_parsed

# --- the query language --------------------------------------------------------------------------------


def test_parse_query() -> None:
    T = search.Term
    assert search.parse_query('Supervision "no  supervision" supp* don\'t') == [
        [T("supervision")],
        [T("no"), T("supervision")],
        [T("supp", prefix=True)],
        [T("don"), T("t")],
    ]
    assert search.parse_query("Café NAÏVE") == [[T("cafe")], [T("naive")]]
    assert search.parse_query('"unclosed phrase') == [[T("unclosed"), T("phrase")]]
    for empty in ("", "  ", '""', "🙂 -- !"):
        with pytest.raises(WaveqdaError):
            search.parse_query(empty)


def test_fold_removes_diacritics_like_the_index() -> None:
    assert search.fold("Cafe\u0301") == search.fold("Café") == "cafe"
    assert search.fold("ÉLÈVE") == "eleve"


def test_fts_expression() -> None:
    T = search.Term
    clauses = [[T("a")], [T("b"), T("c", prefix=True)]]
    assert search.fts_expression(clauses, [[["a", "aa"]], [["b"], ["c"]]]) == '("a" OR "aa") AND "b c"*'
    assert search.fts_expression([[T("x"), T("y")]], [[["x", "x2"], ["y"]]]) == '("x y" OR "x2 y")'
    too_many = [[T(str(i)) for i in range(5)]]
    with pytest.raises(WaveqdaError, match="variants"):
        search.fts_expression(too_many, [[[f"w{i}{j}" for j in range(4)] for i in range(5)]])


# --- search on the small study ---------------------------------------------------------------------------


def found(project: Project, query: str, **kwargs) -> list[tuple[str, str, int, str]]:
    with project.read() as session:
        return [(h.participant, h.timepoint, h.turn_index, h.text) for h in search.search(session, query, **kwargs)]


def test_words_phrases_and_prefixes(small_project: Project) -> None:
    assert found(small_project, "support") == []
    assert found(small_project, "supervision") == [
        ("P01", "T1", 1, "supervision"),
        ("P01", "T2", 2, "supervision"),
        ("P01", "T2", 3, "supervision"),
    ]
    assert found(small_project, "Supervison") == [("P02", "T2", 1, "Supervison")]
    assert found(small_project, "supp*") == [
        ("P01", "T1", 1, "supported"),
        ("P02", "T1", 1, "supports"),
        ("P01", "T2", 1, "supporting"),
    ]
    assert found(small_project, '"no supervision"') == [("P01", "T2", 3, "no supervision")]
    assert found(small_project, '"supervision no"') == []
    # every word must be in the turn; each occurrence is a hit
    assert found(small_project, "supervision good") == [("P01", "T1", 1, "supervision"), ("P01", "T1", 1, "good")]


def test_lemma_finds_other_forms(small_project: Project) -> None:
    expected = [("P01", "T1", 1, "supported"), ("P02", "T1", 1, "supports"), ("P01", "T2", 1, "supporting")]
    assert found(small_project, "support", lemma=True) == expected
    assert found(small_project, "supported", lemma=True) == expected
    assert found(small_project, "valued", lemma=True) == [("P01", "T2", 3, "valued")]


def test_fuzzy_finds_spelling_variants(small_project: Project) -> None:
    everything = [
        ("P01", "T1", 1, "supervision"),
        ("P02", "T2", 1, "Supervison"),
        ("P01", "T2", 2, "supervision"),
        ("P01", "T2", 3, "supervision"),
    ]
    ordered = sorted(everything, key=lambda h: (h[1], h[0], h[2]))
    for query in ("supervison", "Supervison", "SUPERVISION", "supervision"):
        assert found(small_project, query, fuzzy=True) == ordered, query
    assert found(small_project, "supervison", fuzzy=True, lemma=True) == ordered


def test_filters(small_project: Project) -> None:
    assert found(small_project, "supervision", roles=["participant"]) == [
        ("P01", "T1", 1, "supervision"),
        ("P01", "T2", 3, "supervision"),
    ]
    assert found(small_project, "supervision", roles=["interviewer"]) == [("P01", "T2", 2, "supervision")]
    assert found(small_project, "supervision", timepoints=["T1"]) == [("P01", "T1", 1, "supervision")]
    assert found(small_project, "supervision", fuzzy=True, participants=["P02"]) == [("P02", "T2", 1, "Supervison")]
    assert len(found(small_project, "supervision", fuzzy=True, limit=2)) == 2
    with pytest.raises(WaveqdaError):
        found(small_project, "supervision", timepoints=["T7"])
    with pytest.raises(WaveqdaError):
        found(small_project, "supervision", roles=["narrator"])


def test_hit_fields_and_sentence_context(small_project: Project) -> None:
    with small_project.read() as session:
        (hit,) = search.search(session, "cafe")
        text = session.get(Transcript, hit.transcript_id).text
    assert hit.text == "Café" == text[hit.start : hit.end]
    assert hit.context == "Café chats help 🙂 a lot." == text[hit.context_start : hit.context_end]
    assert (hit.speaker, hit.role, hit.turn_index, hit.timepoint_label) == (
        "Marcus",
        "participant",
        1,
        "After training",
    )
    assert text[hit.turn_start : hit.turn_end].startswith("Hopeful")
    assert hit.as_dict()["start"] == hit.start


ACCENTED_TURNS = [
    ("Interviewer", "Tell me 👩\u200d👩\u200d👧 about it?"),
    (
        "Amélie",
        "🙂🙂 The cafe\u0301 staff (e\u0301le\u0300ves, naïve 👍🏽) support me. Nai\u0308ve? Supporting them, "
        "I'm supported 🎉 and Supervison happens.",
    ),
]


def test_offsets_slice_exactly_after_emoji_and_decomposed_accents(project: Project) -> None:
    with project.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed(ACCENTED_TURNS, "accents.txt"), "P09", "T1", "tester")
    with project.read() as session:
        text = session.scalar(select(Transcript.text))
        for query, kwargs, expected in [
            ("support", {"lemma": True}, ["support", "Supporting", "supported"]),
            ("cafe", {}, ["cafe\u0301"]),
            ("eleves", {}, ["e\u0301le\u0300ves"]),
            ("naive", {}, ["naïve", "Nai\u0308ve"]),
            ('"staff eleves"', {}, ["staff (e\u0301le\u0300ves"]),
            ("supervision", {"fuzzy": True}, ["Supervison"]),
            ("about", {}, ["about"]),
        ]:
            hits = search.search(session, query, **kwargs)
            assert [h.text for h in hits] == expected, query
            for hit in hits:
                assert text[hit.start : hit.end] == hit.text
                assert text[hit.context_start : hit.context_end] == hit.context


def test_matched_spans_count_code_points_and_keep_decomposed_accents() -> None:
    compiled = search.CompiledQuery([[search.Term("cafe")], [search.Term("d")]], [[["cafe"]], [["d"]]])
    body = "ab🙂 Cafe\u0301 d"  # the accent is a combining character after "e"
    assert search.matched_spans(body, compiled) == [(4, 9), (10, 11)]
    assert body[4:9] == "Cafe\u0301"
    missing = search.CompiledQuery([[search.Term("cafe")], [search.Term("x")]], [[["cafe"]], [["x"]]])
    assert search.matched_spans(body, missing) == []  # every clause must occur, as in the index


def test_turn_containing_the_mark_character(project: Project) -> None:
    turns = [("Interviewer", "Hello?"), ("Sam", "odd \x02 char then support \x03 here")]
    with project.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed(turns, "marks.txt"), "P08", "T1", "tester")
    with project.read() as session:
        (hit,) = search.search(session, "support")
        text = session.scalar(select(Transcript.text))
    assert hit.text == "support" == text[hit.start : hit.end]


def test_vocabulary_cache_follows_new_transcripts(small_project: Project) -> None:
    assert found(small_project, "support", lemma=True)[-1] == ("P01", "T2", 1, "supporting")
    with small_project.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed([("Ola", "She supports us.")], "p03.txt"), "P03", "T2", "tester")
    assert ("P03", "T2", 0, "supports") in found(small_project, "support", lemma=True)


# --- auto-code -------------------------------------------------------------------------------------------


def add_code(project: Project, path: str = "Peer support") -> int:
    with project.change("tester", "code.add", "add code") as session:
        code = Code(name=path)
        session.add(code)
        session.flush()
        return code.id


def codings(project: Project) -> list[tuple[int, int, int]]:
    with project.read() as session:
        return sorted(session.execute(select(Coding.transcript_id, Coding.start, Coding.end)).tuples())


def sentence_of(project: Project, participant: str, timepoint: str, sentence: str) -> tuple[int, int, int]:
    from models.transcripts import find_transcript

    with project.read() as session:
        transcript = find_transcript(session, f"{participant}/{timepoint}")
        start = transcript.text.index(sentence)
        return transcript.id, start, start + len(sentence)


def test_autocode_preview_then_apply_then_one_undo(small_project: Project, db_state) -> None:
    add_code(small_project)
    before = db_state(small_project)
    preview = search.autocode(
        small_project, "ana", "support", "Peer support", "ana", unit="sentence", dry_run=True, lemma=True
    )
    assert db_state(small_project) == before
    assert (preview.hits, preview.spans, preview.created, preview.extended, preview.dry_run) == (3, 3, 3, 0, True)
    applied = search.autocode(small_project, "ana", "support", "Peer support", "ana", unit="sentence", lemma=True)
    assert (applied.hits, applied.spans, applied.created, applied.extended, applied.absorbed) == (3, 3, 3, 0, 0)
    assert applied.dry_run is False and applied.code == "Peer support" and applied.coder == "ana"
    assert codings(small_project) == sorted(
        [
            sentence_of(small_project, "P01", "T1", "I felt supported by everyone."),
            sentence_of(small_project, "P02", "T1", "The team supports me."),
            sentence_of(small_project, "P01", "T2", "I am supporting people every day."),
        ]
    )
    with small_project.read() as session:
        event = session.scalars(select(Event).order_by(Event.id.desc())).first()
    assert event.operation == "search.autocode" and "3 created" in event.summary
    history.undo(small_project, "ana")
    assert db_state(small_project) == before


def test_autocode_extends_and_absorbs_existing_codings(small_project: Project, db_state) -> None:
    code_id = add_code(small_project)
    tid, start, end = sentence_of(small_project, "P01", "T1", "I felt supported by everyone.")
    with small_project.change("tester", "seed", "seed") as session:
        coder = Coder(name="ana")
        session.add(coder)
        session.flush()
        for s, e in ((start, start + 6), (end - 12, end)):  # "I felt" and "by everyone."
            session.add(Coding(transcript_id=tid, code_id=code_id, coder_id=coder.id, start=s, end=e))
    before = db_state(small_project)
    kwargs = {"unit": "sentence", "lemma": True}
    preview = search.autocode(small_project, "ana", "support", code_id, "ana", dry_run=True, **kwargs)
    applied = search.autocode(small_project, "ana", "support", code_id, "ana", **kwargs)
    counts = [(r.hits, r.spans, r.created, r.extended, r.absorbed) for r in (preview, applied)]
    assert counts == [(3, 3, 2, 1, 1)] * 2
    assert (tid, start, end) in codings(small_project) and len(codings(small_project)) == 3
    history.undo(small_project, "ana")
    assert db_state(small_project) == before


@pytest.mark.parametrize(
    ("unit", "created", "spans"),
    [("hit", 4, ["supervision", "supervision", "supervision", "Supervison"]), ("turn", 4, None)],
)
def test_autocode_units(small_project: Project, unit: str, created: int, spans: list[str] | None) -> None:
    add_code(small_project, "Supervision")
    preview = search.autocode(
        small_project, "bo", "supervison", "Supervision", "bo", unit=unit, fuzzy=True, dry_run=True
    )
    result = search.autocode(small_project, "bo", "supervison", "Supervision", "bo", unit=unit, fuzzy=True)
    assert preview.created == result.created == created
    with small_project.read() as session:
        rows = session.execute(select(Coding, Transcript.text).join(Transcript)).all()
        turns = {(t.transcript_id, t.start, t.end) for t in session.scalars(select(Turn))}
    coded = sorted(text[c.start : c.end] for c, text in rows)
    if spans is not None:
        assert coded == sorted(spans)
    else:
        assert all((c.transcript_id, c.start, c.end) in turns for c, _text in rows)


def test_autocode_with_role_filter_and_no_hits(small_project: Project) -> None:
    add_code(small_project, "Supervision")
    result = search.autocode(small_project, "bo", "supervision", "Supervision", "bo", roles=["interviewer"])
    assert (result.hits, result.created) == (1, 1)
    with small_project.read() as session:
        events = session.scalar(select(func.count(Event.id)))
    nothing = search.autocode(small_project, "bo", "zebra", "Supervision", "bo")
    assert (nothing.hits, nothing.created, nothing.dry_run) == (0, 0, False)
    with small_project.read() as session:
        assert session.scalar(select(func.count(Event.id))) == events  # nothing written
    with pytest.raises(WaveqdaError):
        search.autocode(small_project, "bo", "supervision", "Supervision", "bo", unit="paragraph")  # type: ignore[arg-type]
    with pytest.raises(WaveqdaError):
        search.autocode(small_project, "bo", "supervision", "Nope", "bo")


# --- the sample study, imported with ``waveqda import`` ---------------------------------------------------


@pytest.fixture(scope="module")
def imported_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    manifest = SAMPLES / "manifest.csv"
    if not manifest.exists():
        pytest.skip("sample_transcripts/manifest.csv is not written yet")
    from app.cli import app

    db = tmp_path_factory.mktemp("imported") / "study.wqda"
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(db)]).exit_code == 0
    result = runner.invoke(app, ["import", str(db), str(SAMPLES), "--manifest", str(manifest)])
    assert result.exit_code == 0, result.output
    return db


def test_lemma_and_fuzzy_on_the_sample_transcripts(imported_samples: Path) -> None:
    project = open_project(imported_samples)
    try:
        with project.read() as session:
            exact = {h.text.lower() for h in search.search(session, "support")}
            lemma = {h.text.lower() for h in search.search(session, "support", lemma=True)}
            fuzzy = {h.text.lower() for h in search.search(session, "supervison", fuzzy=True)}
            capital = {h.text.lower() for h in search.search(session, "Supervison", fuzzy=True)}
            said = search.search(session, "supervision", roles=["participant"])
            everything = search.search(session, "supervision")
            texts = dict(session.execute(select(Transcript.id, Transcript.text)).all())
    finally:
        project.close()
    assert exact == {"support"}
    assert {"support", "supported", "supporting"} <= lemma
    assert "supervision" in fuzzy and fuzzy == capital
    assert said and all(h.role == "participant" for h in said) and len(said) < len(everything)
    for hit in everything:
        assert texts[hit.transcript_id][hit.start : hit.end].lower() == "supervision"


def test_text_outside_turns_is_found_like_a_brute_force_count(imported_samples: Path) -> None:
    """Issue 21.14: preambles and label lines are searched too; every occurrence of the word in the stored
    text (counted by a regular expression over each transcript) is one hit, at its exact offsets."""
    import re

    project = open_project(imported_samples)
    try:
        with project.read() as session:
            hits = search.search(session, "fictional")
            texts = dict(session.execute(select(Transcript.id, Transcript.text)).all())
            turn_spans = session.execute(select(Turn.transcript_id, Turn.start, Turn.end)).all()
    finally:
        project.close()
    expected = sorted(
        (tid, m.start(), m.end()) for tid, body in texts.items() for m in re.finditer(r"\bfictional\b", body, re.I)
    )
    assert len(expected) >= 16
    assert sorted((h.transcript_id, h.start, h.end) for h in hits) == expected
    inside = {(tid, s, e) for tid, s, e in turn_spans}
    outside = [h for h in hits if h.turn_id is None]
    assert outside  # the sample study's preambles are outside every turn
    for hit in outside:
        assert hit.turn_index is None and hit.speaker == "" and hit.role == ""
        assert not any(tid == hit.transcript_id and s <= hit.start < e for tid, s, e in inside)
        assert texts[hit.transcript_id][hit.context_start : hit.context_end] == hit.context


def test_migration_indexes_the_text_outside_turns_of_an_older_project(imported_samples: Path, tmp_path: Path) -> None:
    import shutil
    import sqlite3

    old = tmp_path / "old.wqda"
    shutil.copy(imported_samples, old)
    db = sqlite3.connect(old)
    db.execute("DELETE FROM search_index WHERE rowid < 0")  # as a project indexed only turns before 0013
    db.execute("UPDATE alembic_version SET version_num = '0007_name_register'")
    db.commit()
    db.close()
    project = open_project(old)
    try:
        with project.read() as session:
            outside = [h for h in search.search(session, "fictional") if h.turn_id is None]
    finally:
        project.close()
    assert outside


def test_label_lines_and_closing_notes_are_indexed_and_undo_keeps_the_index(project: Project) -> None:
    turns = [("Interviewer", "How was the week?"), ("Sam", "Busy but fine.")]
    parsed = make_parsed(turns, "gaps.txt")
    with project.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, parsed, "P08", "T1", "tester")
    with project.read() as session:
        text = session.scalar(select(Transcript.text))
        hits = search.search(session, "Interviewer")
        only_said = search.search(session, "Interviewer", roles=["participant", "interviewer"])
    # the speaker label sits outside its turn: found, at its offsets, but never as anyone's words
    assert [text[h.start : h.end] for h in hits] == ["Interviewer"] and hits[0].turn_id is None
    assert only_said == []


def test_gap_rows_cover_everything_outside_the_turns() -> None:
    from models import search_index

    body = "Preamble\nA: one\n\nB: two\nEnd note"
    turns = [(1, 12, 15), (2, 20, 23)]  # "one", "two"
    rows = search_index.index_rows(7, body, turns)
    gap_rows = [r for r in rows if int(r["id"]) < 0]
    covered = [(search_index.gap_start(int(r["id"])), str(r["text"])) for r in gap_rows]
    assert covered == [(0, "Preamble\nA: "), (15, "\n\nB: "), (23, "\nEnd note")]
    assert all(search_index.gap_start(search_index.gap_rowid(7, s)) == s for s in (0, 5, 2**31))
    assert search_index.gaps("  x  ", []) == [(0, 5)] and search_index.gaps(" \n ", []) == []


# every test here runs on an SQLite file and on a PostgreSQL database
pytestmark = pytest.mark.both_engines
