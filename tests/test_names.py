"""Pseudonymisation: the register, candidate detection on the sample study, the anonymiser, redaction."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from app.cli import app
from models import names
from models.anonymise import Anonymiser, Replacement
from models.errors import WaveqdaError
from models.schema import Code, Coder, Coding, NameEntry, Transcript, Turn
from models.store import Project

runner = CliRunner()

# Planted in the fictional sample interviews (see sample_transcripts/source/): people, wards, towns, a charity.
PLANTED = ["Sandra", "Okafor", "Jamie", "Willow Ward", "Cedar Ward", "Hartwell", "Brookfield", "MindBridge"]


def candidate_texts(rows: list[dict]) -> set[str]:
    return {r.text for r in rows}


def test_scan_finds_planted_names_and_participants_own_names(sample_project: Project) -> None:
    rows = names.scan(sample_project, "ana")
    found = candidate_texts(rows)
    assert set(PLANTED) <= found, set(PLANTED) - found
    labels = {r.text: r for r in rows if r.source == "speaker-label"}
    assert set(labels) == {"Dana", "Marcus", "Priya", "Tom", "Aisha", "Kerry"}
    assert labels["Dana"].speaker_replacement == "P01"  # the participant's pseudonym is their study ID
    assert not found & {"I'm", "I've", "The", "And", "Yeah", "Interviewer", "WhatsApp", "Oh", "Dr Okafor"}
    okafor = next(r for r in rows if r.text == "Okafor")
    assert okafor.source == "title" and okafor.category == "person"  # found after "Dr", title left out
    willow = next(r for r in rows if r.text == "Willow")
    assert willow.variant_of == "Willow Ward" and willow.category == "ward"


def test_misspelling_is_proposed_as_a_variant_of_a_known_term(sample_project: Project) -> None:
    names.add_entry(sample_project, "ana", "Sandra", category="person", replacement="[Colleague A]")
    rows = names.scan(sample_project, "ana")
    sandrah = next(r for r in rows if r.text == "Sandrah")
    assert sandrah.variant_of == "Sandra"
    names.accept(sample_project, "ana", [sandrah.id])
    with sample_project.read() as session:
        [entry] = session.scalars(select(NameEntry)).all()
        assert entry.variants == ["Sandrah"] and entry.replacement == "[Colleague A]"
    assert "Sandrah" not in candidate_texts(names.scan(sample_project, "ana"))


def test_decisions_are_remembered_across_scans(sample_project: Project) -> None:
    rows = names.scan(sample_project, "ana")
    porter = next(r for r in rows if r.text == "Porter")  # "Porter for twenty-two years": a job
    jamie = next(r for r in rows if r.text == "Jamie")
    names.reject(sample_project, "ana", [porter.id])
    names.accept(sample_project, "ana", [jamie.id])
    again = candidate_texts(names.scan(sample_project, "ana"))
    assert "Porter" not in again and "Jamie" not in again
    with sample_project.read() as session:
        assert [r.text for r in names.candidate_rows(session, "rejected")] == ["Porter"]
        assert [e.replacement for e in names.entry_rows(session)] == ["[Person A]"]


def test_accept_all_gives_each_category_its_own_numbering(sample_project: Project) -> None:
    names.scan(sample_project, "ana")
    names.accept(sample_project, "ana", all_pending=True)
    with sample_project.read() as session:
        by_term = {e.term: e.replacement for e in names.entry_rows(session)}
    assert by_term["Dana"] == "P01" and by_term["Kerry"] == "P06"
    assert by_term["Willow Ward"].startswith("[Ward ") and by_term["Hartwell"].startswith("[")
    assert len(set(by_term.values())) == len(by_term)


def test_add_refuses_duplicates_and_bad_categories(project: Project) -> None:
    names.add_entry(project, "ana", "Sandra", ["Sandy"])
    with pytest.raises(WaveqdaError, match="already in the register"):
        names.add_entry(project, "ana", "sandy")
    with pytest.raises(WaveqdaError, match="unknown category"):
        names.add_entry(project, "ana", "Leeds", category="city")


def test_anonymiser_keeps_possessives_case_and_longest_match() -> None:
    replacer = Anonymiser(
        [
            Replacement(("Sandra", "Sandrah"), "[Colleague A]"),
            Replacement(("Dr Okafor", "Okafor"), "[Psychologist]"),
            Replacement(("Hartwell",), "Riverton"),
        ]
    )
    assert replacer.replace("Sandra's ward, SANDRAH and Dr  Okafor in hartwell. Sandrahs") == (
        "[Colleague A]'s ward, [Colleague A] and [Psychologist] in riverton. Sandrahs"
    )
    original = "I told Sandra’s team."
    new, offsets = replacer.replace_mapped(original)
    assert new == "I told [Colleague A]’s team."
    start, end = offsets.span(original.index("Sandra"), original.index(" team"))
    assert new[start:end] == "[Colleague A]’s"
    assert new[slice(*offsets.span(original.index("team"), len(original)))] == "team."


def test_cli_names_flow(sample_project: Project) -> None:
    db = str(sample_project.path)
    scanned = json.loads(runner.invoke(app, ["names", db, "scan", "--json"]).output)
    okafor = next(r for r in scanned if r["text"] == "Okafor")
    out = runner.invoke(app, ["names", db, "accept", str(okafor["id"]), "--replacement", "[Psychologist]"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(
        app,
        [
            "names",
            db,
            "add",
            "Sandra",
            "--variants",
            "Sandrah,Sandy",
            "--category",
            "person",
            "--replacement",
            "[Colleague A]",
        ],
    )
    assert out.exit_code == 0, out.output
    listed = json.loads(runner.invoke(app, ["names", db, "list", "--json"]).output)
    assert [(e["term"], e["replacement"]) for e in listed] == [
        ("Okafor", "[Psychologist]"),
        ("Sandra", "[Colleague A]"),
    ]
    bad = runner.invoke(app, ["names", db, "reject", "999999"])
    assert bad.exit_code == 1 and "999999" in bad.output


def code_everything_mentioning(project: Project, word: str) -> list[tuple[int, str]]:
    """Code each participant turn containing ``word``; returns (coding id, coded text) pairs."""
    with project.change("ana", "test.codings") as session:
        code, coder = Code(name="Names"), Coder(name="ana")
        session.add_all([code, coder])
        session.flush()
        rows = session.execute(select(Turn, Transcript.text).join(Transcript)).all()
        for turn, body in rows:
            if word in body[turn.start : turn.end]:
                session.add(
                    Coding(
                        transcript_id=turn.transcript_id,
                        code_id=code.id,
                        coder_id=coder.id,
                        start=turn.start,
                        end=turn.end,
                    )
                )
    with project.read() as session:
        out = []
        for coding in session.scalars(select(Coding)):
            body = session.get(Transcript, coding.transcript_id).text
            out.append((coding.id, body[coding.start : coding.end]))
        return out


def test_redaction_keeps_every_coding_on_the_same_words(sample_project: Project) -> None:
    before = code_everything_mentioning(sample_project, "Sandra")
    assert len(before) >= 5
    names.add_entry(sample_project, "ana", "Sandra", ["Sandrah"], replacement="[Colleague A]")
    names.add_entry(sample_project, "ana", "Dr Okafor", replacement="[Psychologist]")  # covers "Okafor" too
    with sample_project.read() as session:
        replacer = names.anonymiser(session)  # participants' names (speaker labels) become study IDs too
    preview = names.redact(sample_project, "ana", apply=False)
    assert preview.total > 0 and preview.backup is None
    plan = names.redact(sample_project, "ana", apply=True)
    assert plan.total == preview.total and plan.backup and plan.codings_moved > 0
    with sample_project.read() as session:
        for coding_id, old_text in before:
            coding = session.get(Coding, coding_id)
            body = session.get(Transcript, coding.transcript_id).text
            assert body[coding.start : coding.end] == replacer.replace(old_text)
        everything = " ".join(session.scalars(select(Transcript.text)))
        assert "Sandra" not in everything and "Okafor" not in everything
        hits = session.execute(text("SELECT count(*) FROM search_index WHERE search_index MATCH 'sandra'")).scalar()
        assert hits == 0
        for turn, body in session.execute(select(Turn, Transcript.text).join(Transcript)).all():
            assert body[turn.start : turn.end] == body[turn.start : turn.end].strip()


def test_redaction_replaces_speaker_labels_and_undoes_exactly(sample_project: Project, db_state) -> None:
    from models import history
    from models.search import search

    code_everything_mentioning(sample_project, "Sandra")
    names.scan(sample_project, "ana")
    names.accept(sample_project, "ana", all_pending=True)
    before = db_state(sample_project)
    plan = names.redact(sample_project, "ana", apply=True)
    assert plan.total > 0
    after = db_state(sample_project)
    with sample_project.read() as session:
        speakers = set(session.scalars(select(Turn.speaker)))
        assert not speakers & {"Dana", "Marcus", "Priya", "Tom", "Aisha", "Kerry"}
        assert {"P01", "P06"} <= speakers  # a participant's name becomes their study ID
        assert search(session, "Sandra") == []
    undone = history.undo(sample_project, "ana")
    assert undone is not None and undone.operation == "names.redact"
    assert db_state(sample_project) == before
    with sample_project.read() as session:
        assert search(session, "Sandra")
    history.redo(sample_project, "ana")
    assert db_state(sample_project) == after


def test_anonymiser_matches_spacing_and_apostrophe_variants_of_a_registered_spelling() -> None:
    replacer = Anonymiser([Replacement(("O’Brien", "Dr  Okafor", "Straße"), "[X]")])
    assert replacer.replace("O'Brien, o’brien, DR OKAFOR, dr\nokafor and straße") == "[X], [X], [X], [X] and [X]"


def test_a_uuid_whose_middle_groups_are_digits_is_not_a_phone_number() -> None:
    """A coding's UUID in an export (the disagreements CSV) can have all-digit middle groups
    ("…-0655-4097-9113-…", about one UUID in a hundred): the check after an anonymised export took it for an
    unreviewed phone number and refused the file now and then. A phone number written so is still found."""
    from models.name_detection import _patterns

    text = "coding 3f2a9c1e-0655-4097-9113-5a7b2c9d0e1f, or call 0655-4097-9113 or 07700 900123."
    found = [hit.text for hit in _patterns(text, 0, [(0, len(text))])]
    assert found == ["0655-4097-9113", "07700 900123"]
