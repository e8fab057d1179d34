"""The benchmark corpus generator makes valid, importable, deterministic files (tiny sizes only)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select

from bench.corpus import (
    build_coded_project,
    generate_interview,
    participant_ids,
    render_txt,
    write_corpus,
)
from importers import parse_file
from importers.batch import import_paths
from models.codes import CodeTree
from models.participants import attributes_of, find_participant
from models.schema import Code, Coder, Coding, Event, Sentence, Transcript, Turn
from models.store import create_project, open_project


def test_interviews_are_deterministic_and_realistic() -> None:
    first = generate_interview("P01", "T1", 3000, seed=1)
    again = generate_interview("P01", "T1", 3000, seed=1)
    other = generate_interview("P01", "T1", 3000, seed=2)
    assert render_txt(first) == render_txt(again)
    assert render_txt(first) != render_txt(other)
    assert abs(first.words - 3000) < 400
    speakers = [turn.speaker for turn in first.turns]
    assert speakers[0] == "Interviewer" and first.speaker in speakers
    assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False)), "consecutive turns would merge"
    text = render_txt(generate_interview("P02", "T3", 20_000, seed=1))
    assert any(ch in text for ch in "’“”–éïë🙂"), "some non-ASCII characters appear in a long interview"
    assert any(word in text.split() for word in ("supported", "supporting", "supports")), "inflected forms"
    assert participant_ids(12)[-1] == "P12" and participant_ids(128)[0] == "P001"


def test_written_files_parse_to_the_generated_turns(tmp_path: Path) -> None:
    written = write_corpus(tmp_path, participants=2, timepoints=2, words=300, formats=("txt", "docx"), seed=3)
    assert [p.name for p in written["txt"]] == ["P01_T1.txt", "P01_T2.txt", "P02_T1.txt", "P02_T2.txt"]
    assert [p.name for p in written["docx"]] == ["P01_T1.docx", "P01_T2.docx", "P02_T1.docx", "P02_T2.docx"]
    with (tmp_path / "manifest.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8 and {"file", "participant", "timepoint", "site"} <= set(rows[0])
    for fmt, joiner in (("txt", "\n\n"), ("docx", "\n")):
        for path in written[fmt]:
            participant, timepoint = path.stem.split("_")
            interview = generate_interview(participant, timepoint, 300, seed=3)
            parsed = parse_file(path)
            assert [t.speaker for t in parsed.turns] == [t.speaker for t in interview.turns]
            for turn, expected in zip(parsed.turns, interview.turns, strict=True):
                assert parsed.text[turn.start : turn.end] == joiner.join(expected.paragraphs)


def test_corpus_imports_with_its_manifest(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, participants=2, timepoints=2, words=200, formats=("txt", "docx"))
    for fmt in ("txt", "docx"):
        project = create_project(tmp_path / f"{fmt}.wqda")
        try:
            result = import_paths(project, [corpus / fmt], manifest_path=corpus / "manifest.csv", actor="t")
            assert [o.status for o in result.outcomes] == ["imported"] * 4, result.summary()
            with project.read() as session:
                assert session.scalar(select(func.count()).select_from(Transcript)) == 4
                assert session.scalar(select(func.count()).select_from(Sentence)) > 0
                assert attributes_of(session, find_participant(session, "P01"))["site"]
        finally:
            project.close()


def test_coded_project_fixture(tmp_path: Path) -> None:
    target = tmp_path / "coded.wqda"
    cache = tmp_path / "cache"
    build_coded_project(target, 2, 2, 400, codes=30, codings=120, coders=3, seed=1, out_dir=cache)
    copy = build_coded_project(
        tmp_path / "again.wqda", 2, 2, 400, codes=30, codings=120, coders=3, seed=1, out_dir=cache
    )
    assert len(list((cache / "projects").glob("*.wqda"))) == 1, "the second call reuses the cached build"
    project = open_project(target)
    try:
        with project.read() as session:
            tree = CodeTree.load(session)
            leaves = [c for c in tree.codes.values() if not tree.children.get(c.id)]
            assert len(leaves) == 30
            assert all(len(tree.path(c.id).split("/")) == 3 for c in leaves)
            assert session.scalar(select(func.count()).select_from(Coder)) == 3
            codings = list(session.scalars(select(Coding)))
            assert len(codings) == 120
            assert {c.code_id for c in codings} <= {c.id for c in leaves}
            texts = {t.id: t.text for t in session.scalars(select(Transcript))}
            sentence_starts = {(s.transcript_id, s.start) for s in session.scalars(select(Sentence))}
            turn_starts = {(t.transcript_id, t.start) for t in session.scalars(select(Turn))}
            by_key: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
            for c in codings:
                assert 0 <= c.start < c.end <= len(texts[c.transcript_id])
                assert (c.transcript_id, c.start) in sentence_starts | turn_starts
                by_key.setdefault((c.transcript_id, c.code_id, c.coder_id), []).append((c.start, c.end))
            for spans in by_key.values():
                spans.sort()
                assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False)), "no overlap or touch"
            last = session.scalar(select(Event).order_by(Event.id.desc()).limit(1))
            assert last.operation == "bench.fixture" and not last.undoable
            assert session.scalar(select(func.count()).select_from(Code)) == 30 + len(tree.children[None]) + sum(
                len(tree.children[t]) for t in tree.children[None]
            )
    finally:
        project.close()
    assert copy.read_bytes() == target.read_bytes()


def test_sentence_spans_match_a_plain_spacy_loop_on_generated_text() -> None:
    """``nlp.sentence_spans`` slices the input text rather than ``doc.text`` (for speed); the spans must be
    exactly those of the straightforward ``doc.sents`` loop over ``doc.text``."""
    from models import nlp

    pipeline = nlp.sentence_pipeline(None)

    def reference(texts: list[str], offsets: list[int]) -> list[list[tuple[int, int]]]:
        out = []
        for doc, base in zip(pipeline.pipe(texts), offsets, strict=True):
            spans = []
            for sent in doc.sents:
                chunk = doc.text[sent.start_char : sent.end_char]
                if chunk.strip():
                    start = sent.start_char + len(chunk) - len(chunk.lstrip())
                    spans.append((base + start, base + start + len(chunk.strip())))
            out.append(spans)
        return out

    interview = generate_interview("P03", "T2", 4000, seed=5)
    texts = ["\n\n".join(turn.paragraphs) for turn in interview.turns]
    texts += [
        "",
        " ",
        "Hi.",
        " Hi. ",
        "Wait... what?! Yes. e.g. Dr. Smith said “Stop.” Then 🙂 ok.",
        ". . .",
        "One.\tTwo.\n\nThree",
        "no punctuation at all ",
        "x\u3002y. Z",
    ]
    offsets = list(range(0, 10 * len(texts), 10))
    assert nlp.sentence_spans(texts, offsets) == reference(texts, offsets)
