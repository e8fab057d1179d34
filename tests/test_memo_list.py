"""One list of every memo and the project journal (issue 15), through the domain and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import app
from models import codebook, coding, history
from models.errors import WaveqdaError
from models.memo_list import add_journal_entry, all_memos

runner = CliRunner()


def test_every_memo_with_what_it_annotates_searchable_and_filtered(coded_study, db_state) -> None:
    project = coded_study.project
    coding_id = coded_study.codings[1]
    coding.set_coding_memo(project, "ana", coding_id, "Peers carry her through the first weeks")
    coding.set_transcript_memo(project, "ben", "P01/T2", "Tone much flatter than at T1")
    codebook.set_code_memo(project, "ana", "Worry", "Mostly about contracts")
    before = db_state(project)
    entry = add_journal_entry(project, "ana", "Decided to split Worry by source", title="Codebook meeting")
    with project.read() as session:
        everything = all_memos(session)
        peers = all_memos(session, search="PEERS first")
        journal = all_memos(session, kinds=["journal"])
        by_ben = all_memos(session, author="ben")
    kinds = [m.kind for m in everything]
    assert kinds == ["journal", "transcript", "code", "coding"]
    assert everything[0].memo_id == entry and everything[0].author == "ana" and everything[0].updated
    assert everything[1].target == "P01/T2" and everything[2].target == "Worry"
    assert everything[3].target_id == coding_id and "P01/T1" in everything[3].target
    assert [m.kind for m in peers] == ["coding"]
    assert [m.title for m in journal] == ["Codebook meeting"]
    assert [m.text for m in by_ben] == ["Tone much flatter than at T1"]
    history.undo(project, "ana")  # the journal entry is one undoable step
    assert db_state(project) == before
    with pytest.raises(WaveqdaError, match="unknown memo kind"), project.read() as session:
        all_memos(session, kinds=["diary"])


def test_cli_journal_and_memos(coded_study) -> None:
    target = coded_study.project.target
    added = runner.invoke(app, ["journal", target, "First pass done", "--coder", "ben"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["memos", target, "--kind", "journal", "--json"])
    assert [(m["author"], m["text"]) for m in json.loads(listed.stdout)] == [("ben", "First pass done")]
    table = runner.invoke(app, ["memos", target])
    assert "First pass done" in table.stdout
    empty = runner.invoke(app, ["journal", target, "   "])
    assert empty.exit_code == 1 and "needs some text" in empty.stderr


pytestmark = pytest.mark.both_engines


def test_notes_attached_to_codes_and_codings_are_listed(coded_study) -> None:
    """Notes another tool exported on a code or a coding are rows of ``memos`` (REFI-QDA import, merges):
    the list shows them beside the memo fields, under the code or coding they annotate."""
    from models.schema import Memo

    project = coded_study.project
    coding_id = coded_study.codings[1]
    worry = coded_study.codes["Worry"]
    with project.change("tester", "seed", "notes") as session:
        session.add(
            Memo(target_type="coding", target_id=coding_id, title="NVivo note", text="Ask about T2", author="ben")
        )
        session.add(Memo(target_type="code", target_id=worry, title="", text="Split later?", author="ana"))
    with project.read() as session:
        found = all_memos(session)
    coding_note = next(m for m in found if m.text == "Ask about T2")
    code_note = next(m for m in found if m.text == "Split later?")
    assert coding_note.kind == "coding" and coding_note.target_id == coding_id and coding_note.author == "ben"
    assert coding_note.transcript == "P01/T1" and coding_note.excerpt and coding_note.start is not None
    with project.read() as session:
        from models.transcripts import find_transcript

        stored = find_transcript(session, "P01/T1").text
    assert coding_note.excerpt == stored[coding_note.start : coding_note.end][:300]
    assert code_note.kind == "code" and code_note.target == "Worry" and code_note.author == "ana"
