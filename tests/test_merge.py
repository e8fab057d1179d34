"""Merging coders' project files: exact, idempotent, symmetric, atomic, undoable; nothing dropped."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from app.cli import app
from models import codebook, coding, history
from models.codes import CodeTree
from models.errors import WaveqdaError
from models.merge import Aligner, SourceMerge, merge_projects, normalise
from models.schema import Coder, Coding, Sentence, Transcript, Turn
from models.store import Project, open_project
from models.transcripts import find_transcript
from tests.conftest import database_state

runner = CliRunner()
EDIT_FROM, EDIT_TO = "Nobody tells me about handovers.", "Nobody ever tells me about the handovers."


def copy_project(source: Path, target: Path) -> Path:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    dst.close()
    src.close()
    return target


def span_of(project: Project, ref: str, words: str) -> tuple[int, int]:
    with project.read() as session:
        text = find_transcript(session, ref).text
    start = text.index(words)
    return start, start + len(words)


def apply(project: Project, coder: str, ref: str, code: str, words: str) -> None:
    start, end = span_of(project, ref, words)
    coding.apply_codes(project, coder, ref, [code], coder, start, end)


def edit_transcript(path: Path, ref: str, old: str, new: str) -> None:
    """Simulate a coder who fixed a transcript: new text, turns and sentences after the edit shifted."""
    project = open_project(path)
    with project.engine.begin() as conn:
        with project.read() as session:
            transcript = find_transcript(session, ref)
            tid, text = transcript.id, transcript.text
        at = text.index(old)
        delta = len(new) - len(old)
        conn.execute(update(Transcript).where(Transcript.id == tid).values(text=text.replace(old, new, 1)))
        for model in (Turn, Sentence):
            conn.execute(update(model).where(model.transcript_id == tid, model.end > at).values(end=model.end + delta))
            conn.execute(
                update(model).where(model.transcript_id == tid, model.start > at).values(start=model.start + delta)
            )
    project.close()


@pytest.fixture
def coders(small_project: Project, tmp_path: Path) -> tuple[Path, Path]:
    """Alice's and Bob's files made from one project, then coded and refined independently."""
    codebook.add_code(small_project, "lead", "Hope")
    codebook.add_code(small_project, "lead", "Support/Supervision")
    base = small_project.path
    small_project.close()
    alice_path = copy_project(base, tmp_path / "alice.wqda")
    bob_path = copy_project(base, tmp_path / "bob.wqda")
    edit_transcript(bob_path, "P01/T2", EDIT_FROM, EDIT_TO)

    alice = open_project(alice_path)
    codebook.rename_code(alice, "alice", "Hope", "Hope and optimism")
    codebook.add_code(alice, "alice", "Insecurity")
    apply(alice, "alice", "P01/T1", "Hope and optimism", "It was brilliant.")
    apply(alice, "alice", "P01/T1", "Insecurity", "I worry about the contract though.")
    apply(alice, "alice", "P01/T2", "Support/Supervision", "There is no supervision at all.")
    apply(alice, "alice", "P02/T2", "Support/Supervision", "Supervison is missing.")
    alice.close()

    bob = open_project(bob_path)
    codebook.add_code(bob, "bob", "Insecurty")  # a near-duplicate of Alice's new code
    codebook.add_code(bob, "bob", "Peer team")
    apply(bob, "bob", "P01/T1", "Hope", "It was brilliant. I felt supported by everyone.")
    apply(bob, "bob", "P01/T2", "Support/Supervision", "There is no supervision at all.")
    apply(bob, "bob", "P01/T2", "Insecurty", "Nobody ever tells me about the handovers.")  # spans the edit
    apply(bob, "bob", "P02/T1", "Peer team", "The team supports me.")
    bob.close()
    return alice_path, bob_path


def state_of(path: Path) -> dict[str, list[tuple]]:
    project = open_project(path)
    try:
        return database_state(project)
    finally:
        project.close()


def source_codings(path: Path) -> list[dict]:
    project = open_project(path)
    with project.read() as session:
        tree = CodeTree.load(session)
        rows = []
        for c in session.scalars(select(Coding)):
            transcript = session.get(Transcript, c.transcript_id)
            rows.append(
                {
                    "uuid": c.uuid,
                    "coder": session.get(Coder, c.coder_id).name,
                    "code_uuid": tree.codes[c.code_id].uuid,
                    "text": transcript.text[c.start : c.end],
                }
            )
    project.close()
    return rows


def target_codings(path: Path) -> dict[str, dict]:
    project = open_project(path)
    with project.read() as session:
        tree = CodeTree.load(session)
        out = {}
        for c in session.scalars(select(Coding)):
            transcript = session.get(Transcript, c.transcript_id)
            out[c.uuid] = {
                "coder": session.get(Coder, c.coder_id).name,
                "code_uuid": tree.codes[c.code_id].uuid,
                "code": tree.path(c.code_id),
                "text": transcript.text[c.start : c.end],
                "status": c.status,
            }
    project.close()
    return out


def test_every_source_coding_lands_exactly_once_with_its_coder(coders, tmp_path: Path) -> None:
    alice, bob = coders
    target = tmp_path / "team.wqda"
    report = merge_projects(target, [alice, bob], "lead")
    merged = target_codings(target)
    sources = source_codings(alice) + source_codings(bob)
    assert len(merged) == len(sources) == 8
    for row in sources:
        landed = merged[row["uuid"]]
        assert landed["coder"] == row["coder"]
        if landed["status"] == "ok":
            assert landed["text"] == row["text"]
    review = [m for m in merged.values() if m["status"] == "needs_review"]
    assert [r["text"] for r in report.sources[1].needs_review] == [EDIT_TO]
    assert len(review) == 1 and review[0]["coder"] == "bob"
    assert report.sources[1].counts["transcripts.aligned"] == 1
    assert report.sources[1].counts["codings.reanchored"] >= 1  # Bob's supervision coding after the edit
    # Hope matched by UUID (renamed by Alice: her name kept); Supervision by UUID; Peer team created.
    paths = {m["code"] for m in merged.values()}
    assert {"Hope and optimism", "Support/Supervision", "Insecurity", "Insecurty", "Peer team"} == paths
    [proposal] = report.sources[1].proposals
    assert (proposal["source"], proposal["target"], proposal["applied"]) == ("Insecurty", "Insecurity", False)


def test_accept_fuzzy_joins_the_near_duplicate(coders, tmp_path: Path) -> None:
    alice, bob = coders
    target = tmp_path / "team.wqda"
    merge_projects(target, [alice, bob], "lead", accept_fuzzy=True)
    merged = target_codings(target)
    assert {m["code"] for m in merged.values()} == {
        "Hope and optimism",
        "Support/Supervision",
        "Insecurity",
        "Peer team",
    }
    assert len(merged) == 8


def test_mapping_file_decides_code_matches(coders, tmp_path: Path) -> None:
    alice, bob = coders
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"Insecurty": "Insecurity", "Peer team": "Support/Supervision"}))
    target = tmp_path / "team.wqda"
    merge_projects(target, [alice, bob], "lead", mapping_file=mapping)
    assert {m["code"] for m in target_codings(target).values()} == {
        "Hope and optimism",
        "Support/Supervision",
        "Insecurity",
    }


def test_second_merge_changes_nothing(coders, tmp_path: Path) -> None:
    alice, bob = coders
    target = tmp_path / "team.wqda"
    merge_projects(target, [alice, bob], "lead")
    before = state_of(target)
    again = merge_projects(target, [alice, bob], "lead")
    assert not again.changed
    assert state_of(target) == before


def test_merge_is_symmetric(coders, tmp_path: Path) -> None:
    alice, bob = coders
    a_into_b = copy_project(bob, tmp_path / "a_into_b.wqda")
    b_into_a = copy_project(alice, tmp_path / "b_into_a.wqda")
    merge_projects(a_into_b, [alice], "lead")
    merge_projects(b_into_a, [bob], "lead")

    def identity(path: Path) -> set[tuple]:
        return {(u, m["coder"], m["code_uuid"]) for u, m in target_codings(path).items()}

    assert identity(a_into_b) == identity(b_into_a)
    assert len(identity(a_into_b)) == 8


def test_dry_run_reports_the_same_and_changes_nothing(coders, tmp_path: Path) -> None:
    alice, bob = coders
    target = copy_project(alice, tmp_path / "target.wqda")
    before = state_of(target)
    dry = merge_projects(target, [bob], "lead", dry_run=True)
    assert state_of(target) == before
    real = merge_projects(target, [bob], "lead")
    assert dry.as_dict()["sources"] == real.as_dict()["sources"]
    assert dry.dry_run and not real.dry_run


def test_dry_run_into_a_new_target_reports_what_a_merge_would_do_and_creates_nothing(coders, tmp_path: Path) -> None:
    alice, bob = coders
    target = tmp_path / "team.wqda"
    dry = merge_projects(target, [alice, bob], "lead", dry_run=True)
    assert not target.exists() and list(tmp_path.glob("team.wqda*")) == []
    real = merge_projects(target, [alice, bob], "lead")
    assert dry.as_dict()["sources"] == real.as_dict()["sources"]
    assert dry.target == str(target) and dry.dry_run


def test_merge_killed_halfway_leaves_target_unchanged(coders, tmp_path: Path, monkeypatch) -> None:
    alice, bob = coders
    target = copy_project(alice, tmp_path / "target.wqda")
    before = state_of(target)

    def crash(self) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(SourceMerge, "merge_memos", crash)
    with pytest.raises(RuntimeError):
        merge_projects(target, [bob], "lead")
    assert state_of(target) == before


def test_merge_is_one_undoable_step(coders, tmp_path: Path) -> None:
    alice, bob = coders
    target = copy_project(alice, tmp_path / "target.wqda")
    before = state_of(target)
    merge_projects(target, [bob], "lead")
    project = open_project(target)
    undone = history.undo(project, "lead")
    assert undone is not None and undone.operation == "project.merge"
    assert database_state(project) == before
    project.close()


def test_cli_merge_dry_run_json(coders, tmp_path: Path) -> None:
    alice, bob = coders
    target = copy_project(alice, tmp_path / "target.wqda")
    out = runner.invoke(app, ["merge", str(target), str(bob), "--dry-run", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["dry_run"] and data["sources"][0]["counts"]["codings.added"] >= 2
    same = runner.invoke(app, ["merge", str(target), str(target)])
    assert same.exit_code == 1 and "itself" in same.output


def test_cli_merge_records_the_coder_named_and_undoes_as_them(coders, tmp_path: Path) -> None:
    alice, bob = coders
    target = copy_project(alice, tmp_path / "target.wqda")
    before = state_of(target)
    out = runner.invoke(app, ["merge", str(target), str(bob), "--coder", "Lead Coder"])
    assert out.exit_code == 0, out.output
    project = open_project(target)
    try:
        assert history.undo(project, "someone else") is None  # not their step
        undone = history.undo(project, "Lead Coder")
        assert undone is not None and undone.operation == "project.merge" and undone.actor == "Lead Coder"
    finally:
        project.close()
    assert state_of(target) == before


def test_merging_into_an_open_project_is_the_same_merge(coders, tmp_path: Path) -> None:
    from models.merge import merge_into_open

    alice, bob = coders
    by_path = copy_project(alice, tmp_path / "by_path.wqda")
    opened = copy_project(alice, tmp_path / "opened.wqda")
    merge_projects(by_path, [bob], "lead")
    project = open_project(opened)
    try:
        report = merge_into_open(project, [bob], "lead")
        assert report.changed
        with pytest.raises(WaveqdaError, match="itself"):
            merge_into_open(project, [opened], "lead")
    finally:
        project.close()
    assert state_of(opened) == state_of(by_path)


def test_aligner_maps_unchanged_text_exactly() -> None:
    source = "One two three. Four five six."
    target = "One two THREE! Four five six."
    aligner = Aligner(source, target)
    start = source.index("Four")
    assert aligner.span(start, len(source)) == (start, len(target), True)
    new_start, new_end, exact = aligner.span(source.index("three"), source.index(" Four"))
    assert not exact and target[new_start:new_end] == "THREE!"


def test_normalise_folds_case_spacing_and_punctuation() -> None:
    assert normalise("  Feeling   VALUED! ") == normalise("feeling valued") == "feeling valued"


def test_undo_of_a_merge_that_brought_a_transcript_removes_it_and_its_search_rows(coders, tmp_path: Path) -> None:
    from importers.batch import import_paths

    alice, bob = coders
    (tmp_path / "P03_T1.txt").write_text("Interviewer: Hello?\n\nPriya: Quietly hopeful about the zebra.\n")
    bob_project = open_project(bob)
    assert not import_paths(bob_project, [tmp_path / "P03_T1.txt"]).failed
    apply(bob_project, "bob", "P03/T1", "Hope", "Quietly hopeful")
    bob_project.close()
    target = copy_project(alice, tmp_path / "target.wqda")
    before = state_of(target)
    report = merge_projects(target, [bob], "lead")
    assert report.sources[0].counts["transcripts.added"] == 1
    project = open_project(target)
    from models.search import search

    with project.read() as session:
        assert [h.participant for h in search(session, "zebra")] == ["P03"]
    history.undo(project, "lead")
    assert database_state(project) == before
    with project.read() as session:
        assert search(session, "zebra") == []
    project.close()


def test_aligner_places_a_coding_whose_text_was_cut_from_the_end_inside_the_text() -> None:
    source, target = "Hello there, world", "Hello there"
    start, end, exact = Aligner(source, target).span(source.index("world"), len(source))
    assert not exact and 0 <= start < end <= len(target)


def test_coding_deleted_from_the_end_of_an_edited_transcript_is_kept_for_review(coders, tmp_path: Path) -> None:
    alice, bob = coders
    bob_project = open_project(bob)
    with bob_project.read() as session:
        text = find_transcript(session, "P01/T1").text
    last = text.rstrip().rsplit(" ", 1)[1]
    apply(bob_project, "bob", "P01/T1", "Hope", last)
    bob_project.close()
    alice_copy = copy_project(alice, tmp_path / "alice-cut.wqda")
    edit_transcript(alice_copy, "P01/T1", " " + last, "")
    report = merge_projects(alice_copy, [bob], "lead")
    assert last in [item["text"] for item in report.sources[0].needs_review]
    assert {m["status"] for u, m in target_codings(alice_copy).items() if m["coder"] == "bob"} >= {"needs_review"}


def test_memo_of_a_coding_already_in_place_attaches_to_that_coding(coders, tmp_path: Path) -> None:
    """Two coders' files can hold the same coding under different UUIDs; its memo must not float loose."""
    from models.schema import Memo

    alice, bob = coders
    target = copy_project(alice, tmp_path / "target.wqda")
    with open_project(bob) as bob_project:
        start, end = span_of(bob_project, "P01/T1", "It was brilliant.")
    alice_project = open_project(alice)
    codebook.add_code(alice_project, "alice", "Hope")
    alice_project.close()
    for path in (target, bob):
        project = open_project(path)
        with project.change("x", "seed") as session:
            coder = session.scalar(select(Coder).where(Coder.name == "alice")) or Coder(name="alice")
            session.add(coder)
            session.flush()
            tree = CodeTree.load(session)
            coding_row = Coding(
                transcript_id=find_transcript(session, "P01/T1").id,
                code_id=tree.find("Hope and optimism" if path == target else "Hope").id,
                coder_id=coder.id,
                start=start,
                end=end,
            )
            session.add(coding_row)
            session.flush()
            if path == bob:
                session.add(Memo(target_type="coding", target_id=coding_row.id, title="Why", text="Tone of voice."))
        project.close()
    report = merge_projects(target, [bob], "lead")
    assert not any("memo" in c for c in report.sources[0].conflicts), report.sources[0].conflicts
    project = open_project(target)
    with project.read() as session:
        memo = session.scalar(select(Memo).where(Memo.text == "Tone of voice."))
        holder = session.get(Coding, memo.target_id)
        assert memo.target_type == "coding" and (holder.start, holder.end) == (start, end)
    project.close()


@pytest.mark.parametrize("content", ['["Insecurty", "Insecurity"]', '{"Insecurty": 3}', "{not json"])
def test_bad_mapping_file_is_one_line_and_changes_nothing(coders, tmp_path: Path, content: str) -> None:
    alice, bob = coders
    target = copy_project(alice, tmp_path / "target.wqda")
    mapping = tmp_path / "map.json"
    mapping.write_text(content)
    before = state_of(target)
    out = runner.invoke(app, ["merge", str(target), str(bob), "--map", str(mapping)])
    assert out.exit_code == 1 and out.output.startswith("waveqda: error: map.json: "), out.output
    assert len(out.output.strip().splitlines()) == 1
    assert state_of(target) == before
