"""Batch import: routing (flags, manifest, pattern), dedup, --replace, --strict, and atomicity per file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app
from importers.batch import import_paths, pattern_regex
from models import search_index
from models.schema import Code, Coder, Coding, Participant, Sentence, Transcript, Turn
from models.store import Project
from tests.conftest import require_shared

runner = CliRunner()


def write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def interview(name: str, words: str) -> str:
    return f"Interviewer: How was it?\n\n{name}: {words}\n\nInterviewer: Thank you.\n"


def counts(project: Project) -> dict[str, int]:
    with project.read() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Participant, Transcript, Turn, Sentence)
        }


def test_pattern_routes_files_and_turns_are_stored(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "P07_T2.txt", interview("Sam", "It was good. I felt supported."))
    write(folder / "P08-T1.txt", interview("Lee", "Hard at first. Better now."))
    write(folder / "notes.csv", "not a transcript")
    result = import_paths(project, [folder], actor="tester")
    assert [o.status for o in result.outcomes] == ["imported", "imported"]
    with project.read() as session:
        rows = session.execute(
            select(Participant.study_id, Transcript.source_name).join(Transcript).order_by(Participant.study_id)
        ).all()
        assert rows == [("P07", "P07_T2.txt"), ("P08", "P08-T1.txt")]
        transcript = session.scalar(select(Transcript).where(Transcript.source_name == "P07_T2.txt"))
        turns = session.scalars(select(Turn).where(Turn.transcript_id == transcript.id).order_by(Turn.index)).all()
        assert [(t.speaker, t.role) for t in turns] == [
            ("Interviewer", "interviewer"),
            ("Sam", "participant"),
            ("Interviewer", "interviewer"),
        ]
        assert transcript.text[turns[1].start : turns[1].end] == "It was good. I felt supported."
        sentences = session.scalars(
            select(Sentence).where(Sentence.transcript_id == transcript.id, Sentence.turn_index == 1)
        ).all()
        assert [transcript.text[s.start : s.end] for s in sentences] == ["It was good.", "I felt supported."]


def test_custom_pattern(tmp_path: Path) -> None:
    regex = pattern_regex("study-{participant}-wave{timepoint}")
    match = regex.match("study-A12-wave2")
    assert match and (match["participant"], match["timepoint"]) == ("A12", "2")
    assert pattern_regex("{participant}_{timepoint}").match("random") is None


def test_manifest_routes_and_sets_attributes(project: Project, tmp_path: Path) -> None:
    write(tmp_path / "first interview.txt", interview("Sam", "Fine."))
    write(tmp_path / "second.txt", interview("Sam", "Harder now."))
    manifest = write(
        tmp_path / "manifest.csv",
        "file,participant,timepoint,site,age\nfirst interview.txt,P01,T1,North,34\nsecond.txt,P01,T3,North,34\n",
    )
    result = import_paths(project, [tmp_path / "first interview.txt", tmp_path / "second.txt"], manifest_path=manifest)
    assert not result.failed, result.outcomes
    out = runner.invoke(app, ["participants", str(project.path), "--json"])
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.output)
    assert row["participant"] == "P01" and row["timepoints"] == ["T1", "T3"]
    assert row["attributes"] == {"age": "34", "site": "North"}


def test_flags_route_and_unknown_timepoint_names_valid_ones(project: Project, tmp_path: Path) -> None:
    f = write(tmp_path / "whatever.txt", interview("Sam", "Fine."))
    result = import_paths(project, [f], participant="P09", timepoint="T9")
    [outcome] = result.outcomes
    assert outcome.status == "failed"
    assert "T9" in outcome.message and "T1, T2, T3" in outcome.message and "whatever.txt" in outcome.message
    assert import_paths(project, [f], participant="P09", timepoint="T2").outcomes[0].status == "imported"


def test_unroutable_file_says_what_to_do(project: Project, tmp_path: Path) -> None:
    f = write(tmp_path / "interview.txt", interview("Sam", "Fine."))
    [outcome] = import_paths(project, [f]).outcomes
    assert outcome.status == "failed" and "--participant" in outcome.message and "interview.txt" in outcome.message


def test_reimport_same_text_is_skipped(project: Project, tmp_path: Path) -> None:
    f = write(tmp_path / "P01_T1.txt", interview("Sam", "Fine."))
    import_paths(project, [f])
    copy = write(tmp_path / "P02_T1.txt", interview("Sam", "Fine."))
    [outcome] = import_paths(project, [copy]).outcomes
    assert outcome.status == "skipped" and "P01/T1" in outcome.message
    assert counts(project)["transcripts"] == 1


def test_different_text_for_same_slot_needs_replace(project: Project, tmp_path: Path) -> None:
    import_paths(project, [write(tmp_path / "P01_T1.txt", interview("Sam", "Fine."))])
    newer = tmp_path / "new"
    newer.mkdir()
    f = write(newer / "P01_T1.txt", interview("Sam", "Fine, actually great."))
    [refused] = import_paths(project, [f]).outcomes
    assert refused.status == "failed" and "--replace" in refused.message
    [replaced] = import_paths(project, [f], replace=True).outcomes
    assert replaced.status == "replaced"
    with project.read() as session:
        [transcript] = session.scalars(select(Transcript)).all()
        assert "actually great" in transcript.text
        hits = session.execute(search_index_query("great")).all()
        assert len(hits) == 1 and hits[0][1] == transcript.id
        assert session.execute(search_index_query("fine")).all() == hits


def search_index_query(word: str):
    from sqlalchemy import text

    return text(f"SELECT rowid, transcript_id FROM search_index WHERE search_index MATCH '{word}'")


def test_replace_refused_when_old_transcript_has_codings(project: Project, tmp_path: Path) -> None:
    import_paths(project, [write(tmp_path / "P01_T1.txt", interview("Sam", "Fine."))])
    with project.change("t", "code") as session:
        code, coder = Code(name="X"), Coder(name="ana")
        session.add_all([code, coder])
        session.flush()
        session.add(Coding(transcript_id=1, code_id=code.id, coder_id=coder.id, start=0, end=5))
    other = tmp_path / "o"
    other.mkdir()
    [outcome] = import_paths(project, [write(other / "P01_T1.txt", interview("Sam", "Other."))], replace=True).outcomes
    assert outcome.status == "failed" and "1 codings" in outcome.message


def test_bad_file_fails_alone_and_batch_exits_nonzero(project: Project, tmp_path: Path) -> None:
    write(tmp_path / "P01_T1.txt", interview("Sam", "Fine."))
    (tmp_path / "P02_T1.docx").write_bytes(b"this is not a zip file")
    result = runner.invoke(app, ["import", str(project.path), str(tmp_path)])
    assert result.exit_code == 1
    assert "P02_T1.docx" in result.output
    assert counts(project)["transcripts"] == 1


def test_strict_is_all_or_nothing(project: Project, tmp_path: Path) -> None:
    write(tmp_path / "P01_T1.txt", interview("Sam", "Fine."))
    (tmp_path / "P02_T1.txt").write_bytes(b"")
    result = import_paths(project, [tmp_path], strict=True)
    assert result.failed
    assert counts(project) == {"participants": 0, "transcripts": 0, "turns": 0, "sentences": 0}


def test_failure_injected_mid_file_leaves_nothing(project: Project, tmp_path: Path, monkeypatch) -> None:
    """The search index is written last: failing there must roll back participant, transcript, turns...
    and the file is reported as failed while the rest of the batch still imports."""
    import_paths(project, [write(tmp_path / "P01_T1.txt", interview("Sam", "Fine."))])
    before = counts(project)
    real_index_transcript = search_index.index_transcript

    def explode_on_lee(session, transcript_id, full_text, turns):
        if "Hello there." in full_text:
            raise RuntimeError("disk full")
        real_index_transcript(session, transcript_id, full_text, turns)

    monkeypatch.setattr(search_index, "index_transcript", explode_on_lee)
    batch = tmp_path / "batch"
    batch.mkdir()
    write(batch / "P02_T1.txt", interview("Lee", "Hello there."))
    write(batch / "P03_T1.txt", interview("Kit", "Good morning."))
    result = import_paths(project, [batch])
    assert [(o.path.name, o.status) for o in result.outcomes] == [("P02_T1.txt", "failed"), ("P03_T1.txt", "imported")]
    assert result.failed[0].message == "P02_T1.txt: not imported (RuntimeError: disk full)"
    assert counts(project) == {**before, "participants": 2, "transcripts": 2, "turns": 6, "sentences": 6}
    with project.read() as session:
        assert session.scalars(select(Participant.study_id).order_by(Participant.study_id)).all() == ["P01", "P03"]


def test_strict_batch_failing_while_storing_leaves_nothing(project: Project, tmp_path: Path) -> None:
    """Every file parses, the second one clashes with a stored transcript: the first is not kept either."""
    import_paths(project, [write(tmp_path / "P01_T1.txt", interview("Sam", "Fine."))])
    before = counts(project)
    batch = tmp_path / "batch"
    batch.mkdir()
    write(batch / "P02_T1.txt", interview("Lee", "Hello there."))
    write(batch / "P01_T1.txt", interview("Sam", "A different text for the same slot."))
    result = import_paths(project, [batch], strict=True)
    [failure] = result.outcomes
    assert failure.status == "failed" and "--replace" in failure.message and "nothing imported" in failure.message
    assert counts(project) == before


def test_manifest_attribute_types_come_from_the_whole_column(project: Project, tmp_path: Path) -> None:
    """Files import one at a time, but "age" is one column: 34 alone must not make it a number."""
    write(tmp_path / "a.txt", interview("Sam", "Fine."))
    write(tmp_path / "b.txt", interview("Lee", "Harder."))
    manifest = write(tmp_path / "m.csv", "file,participant,timepoint,age,\na.txt,P01,T1,34\nb.txt,P02,T1,35-44\n")
    result = import_paths(project, [tmp_path / "a.txt", tmp_path / "b.txt"], manifest_path=manifest)
    assert not result.failed, result.outcomes
    out = json.loads(runner.invoke(app, ["participants", str(project.path), "--json"]).output)
    assert [r["attributes"] for r in out] == [{"age": "34"}, {"age": "35-44"}]  # no column named ""


@pytest.mark.parametrize("strict", [False, True])
def test_manifest_attributes_survive_a_failed_first_file(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    """Attributes are set with a participant's first stored file only; when that file's transaction fails
    after setting them (here: writing its event), the participant's next file sets them."""
    from models import journal

    attributes = {"P01": "North,31", "P02": "South,32"}
    slots = [(p, t) for p in attributes for t in ("T1", "T2")]
    files = [write(tmp_path / f"{p}_{t}.txt", interview("Sam", f"{p} at {t}.")) for p, t in slots]
    rows = "".join(f"{p}_{t}.txt,{p},{t},{attributes[p]}\n" for p, t in slots)
    manifest = write(tmp_path / "m.csv", "file,participant,timepoint,site,age\n" + rows)
    real_event = journal.record_event

    def fail_first_file(session, **kwargs):
        if kwargs.get("summary") == "Imported P01_T1.txt as P01/T1":
            raise RuntimeError("disk full")
        return real_event(session, **kwargs)

    if not strict:
        monkeypatch.setattr(journal, "record_event", fail_first_file)
    result = import_paths(project, files, manifest_path=manifest, strict=strict)
    statuses = [(o.path.name, o.status) for o in result.outcomes]
    if strict:
        assert statuses == [(f.name, "imported") for f in files]
    else:
        assert statuses == [("P01_T1.txt", "failed"), *((f.name, "imported") for f in files[1:])]
    out = json.loads(runner.invoke(app, ["participants", str(project.path), "--json"]).output)
    assert [(r["participant"], r["attributes"]) for r in out] == [
        ("P01", {"age": "31", "site": "North"}),
        ("P02", {"age": "32", "site": "South"}),
    ]


def test_replace_keeps_the_transcript_memo_and_survives_a_name_scan(project: Project, tmp_path: Path) -> None:
    from models import names
    from models.coding import set_transcript_memo, transcript_memo

    body = "Interviewer: Who helped?\n\nSam: Sandra Okafor at Willow Ward, every week.\n"
    import_paths(project, [write(tmp_path / "P01_T1.txt", body)])
    import_paths(project, [write(tmp_path / "P02_T1.txt", interview("Lee", "Fine."))])  # takes the next id
    set_transcript_memo(project, "t", "P01/T1", "Check the ward name with Sam.")
    assert names.scan(project, "t")  # candidates now point at the transcript
    newer = tmp_path / "new"
    newer.mkdir()
    [outcome] = import_paths(
        project, [write(newer / "P01_T1.txt", body.replace("every", "each"))], replace=True
    ).outcomes
    assert outcome.status == "replaced", outcome.message
    with project.read() as session:
        assert transcript_memo(session, outcome.transcript_id) == "Check the ward name with Sam."


def test_cli_init_import_transcripts_show(tmp_path: Path) -> None:
    db = tmp_path / "s.wqda"
    assert runner.invoke(app, ["init", str(db), "--timepoints", "T1=Start,T2=End", "--name", "S"]).exit_code == 0
    write(tmp_path / "P01_T2.txt", interview("Sam", "Fine. Really fine."))
    out = runner.invoke(app, ["import", str(db), str(tmp_path / "P01_T2.txt")])
    assert out.exit_code == 0, out.output
    listing = json.loads(runner.invoke(app, ["transcripts", str(db), "--json"]).output)
    assert listing == [
        {
            "id": 1,
            "participant": "P01",
            "timepoint": "T2",
            "title": listing[0]["title"],
            "source": "P01_T2.txt",
            "format": "txt",
            "turns": 3,
            "speakers": ["Interviewer", "Sam"],
            "words": 11,
            "characters": len("Interviewer: How was it?\n\nSam: Fine. Really fine.\n\nInterviewer: Thank you."),
            "codings": 0,
        }
    ]
    shown = json.loads(runner.invoke(app, ["show", str(db), "P01/T2", "--json"]).output)
    for turn in shown["turns"]:
        assert shown["text"][turn["start"] : turn["end"]] == turn["text"]
    assert [t["text"] for t in shown["turns"]] == ["How was it?", "Fine. Really fine.", "Thank you."]
    missing = runner.invoke(app, ["show", str(db), "P01/T9"])
    assert missing.exit_code == 1 and "P01/T9" in missing.output


def test_import_routes_refi_files_to_the_refi_importer(tmp_path: Path) -> None:
    sample = require_shared("refi-qda", "samples", "nvivo-win-12.6_oltas.qdpx")
    db = tmp_path / "nvivo.wqda"
    out = runner.invoke(app, ["import", str(db), str(sample), "--timepoint", "T1", "--participant-from-name", "--json"])
    assert out.exit_code == 0, out.output
    listing = json.loads(runner.invoke(app, ["transcripts", str(db), "--json"]).output)
    assert [(r["timepoint"], r["codings"]) for r in listing] == [("T1", 97)]
    mixed = runner.invoke(app, ["import", str(db), str(sample), str(tmp_path)])
    assert mixed.exit_code == 1 and "one REFI-QDA file" in mixed.output
    ignored = runner.invoke(app, ["import", str(db), str(sample), "--participant", "P01", "--timepoint", "T1"])
    assert ignored.exit_code == 1
    assert ignored.output.startswith(f"waveqda: error: {sample.name}: --participant applies to transcript files")
    assert "--map-source 'videos_selection=P01/T1'" in ignored.output


def test_subtitle_blocks_the_reader_skips_are_reported_not_dropped_silently(project: Project, tmp_path: Path) -> None:
    srt = write(
        tmp_path / "P01_T1.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nSpeaker 1: hello\n\noops\nno timing here\nSpeaker 2: the lost words\n",
    )
    [outcome] = import_paths(project, [srt]).outcomes
    assert outcome.status == "imported"
    assert len(outcome.warnings) == 1 and "Speaker 2: the lost" in outcome.warnings[0]
    tmp_copy = write(tmp_path / "P02_T1.srt", srt.read_text().replace("hello", "hi"))
    out = runner.invoke(app, ["import", str(project.path), str(tmp_copy)])
    assert out.exit_code == 0 and "warning: P02_T1.srt: skipped a block without a cue timing" in out.stderr
    listing = json.loads(runner.invoke(app, ["import", str(project.path), str(srt), "--json"]).output)
    assert listing[0]["status"] == "skipped" and listing[0]["warnings"] == []
