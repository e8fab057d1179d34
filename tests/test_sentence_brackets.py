"""Sentence segmentation keeps transcribers' bracketed notes whole, and migration 0006 re-segments old projects.

Issue 12: 198 of 3,661 sentences of the sample study split inside ``[laughs]``, ``(pause)`` and the like, so
quotes started or ended inside a note ("…no login! [" / "laughs] My clinical…").
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from models.nlp import NOTE_RE, sentence_pipeline, sentence_spans
from models.store import HEAD_REVISION, current_revision, open_project
from tests.conftest import SAMPLES


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans([text], [0])[0]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Which I couldn't do because I had no login! [laughs] It's not really about me.",
            ["Which I couldn't do because I had no login! [laughs]", "It's not really about me."],
        ),
        ("By the organisation? [pause] Not so much.", ["By the organisation? [pause]", "Not so much."]),
        (
            "I said (and I meant it. Really.) that it was fine. [inaudible 00:12:03] Then we left.",
            ["I said (and I meant it. Really.) that it was fine. [inaudible 00:12:03]", "Then we left."],
        ),
        ("It was hard (pause) really hard. (laughs)", ["It was hard (pause) really hard. (laughs)"]),
        ("[laughs] Yeah. [sighs]", ["[laughs] Yeah. [sighs]"]),
        ("Hm. [laughs]. Ok then.", ["Hm. [laughs].", "Ok then."]),
        ("We went to the ward [Cedar Ward]. Then home.", ["We went to the ward [Cedar Ward].", "Then home."]),
        ("[laughs]", []),  # an annotation alone is not a sentence
        ("One. Two. Three.", ["One.", "Two.", "Three."]),
    ],
)
def test_notes_stay_whole_and_with_their_sentence(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_offsets_are_absolute_and_trimmed() -> None:
    text = "  Okay. [laughs]  Right then.  "
    [spans] = sentence_spans([text], [100])
    assert spans == [(102, 116), (118, 129)]
    assert [text[s - 100 : e - 100] for s, e in spans] == ["Okay. [laughs]", "Right then."]


def cut_inside_note(body: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    notes = [m.span() for m in NOTE_RE.finditer(body)]
    return [(s, e) for s, e in spans for a, b in notes if a < s < b or a < e < b]


def old_segmentation(body: str, base: int) -> list[tuple[int, int]]:
    """What imports stored before this fix: spaCy's sentencizer alone, trimmed."""
    out = []
    for sent in sentence_pipeline(None)(body).sents:
        chunk = body[sent.start_char : sent.end_char]
        if chunk.strip():
            start = sent.start_char + len(chunk) - len(chunk.lstrip())
            out.append((base + start, base + start + len(chunk.strip())))
    return out


def test_migration_resegments_an_old_project_without_moving_codings(demo_template: Path, tmp_path: Path) -> None:
    """A coded demo project with the old segmentation (and revision 0005) is re-segmented on open: no
    sentence starts or ends inside a note, no note is a sentence alone, unchanged sentences keep their
    ids, and codings, memos and every other table are untouched."""
    path = tmp_path / "old.wqda"
    source = sqlite3.connect(demo_template)
    dest = sqlite3.connect(path)
    source.backup(dest)
    source.close()
    db = dest
    texts = dict(db.execute("SELECT id, text FROM transcripts"))
    db.execute("DELETE FROM sentences")
    old_cuts = 0
    for tid, index, start, end in db.execute('SELECT transcript_id, "index", start, "end" FROM turns').fetchall():
        old = old_segmentation(texts[tid][start:end], start)
        old_cuts += len(cut_inside_note(texts[tid], old))
        db.executemany(
            'INSERT INTO sentences (transcript_id, turn_index, start, "end") VALUES (?, ?, ?, ?)',
            [(tid, index, s, e) for s, e in old],
        )
    db.execute("UPDATE alembic_version SET version_num = '0005_store_safety'")
    db.commit()
    before = {
        table: sorted(db.execute(f"SELECT * FROM {table}"))
        for table in ("codings", "memos", "codes", "turns", "transcripts", "events")
    }
    old_rows = {(t, s, e): i for i, t, s, e in db.execute('SELECT id, transcript_id, start, "end" FROM sentences')}
    db.close()
    assert old_cuts > 50  # the sample study really had the fault

    project = open_project(path)
    try:
        assert current_revision(project.engine) == HEAD_REVISION
        with project.engine.connect() as conn:
            after = {table: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}")))) for table in before}
            rows = conn.execute(text('SELECT id, transcript_id, start, "end" FROM sentences')).all()
    finally:
        project.close()
    assert after == before
    new_rows = {(t, s, e): i for i, t, s, e in rows}
    for key, row_id in new_rows.items():
        if key in old_rows:
            assert row_id == old_rows[key]  # unchanged sentences keep their ids
    by_transcript: dict[int, list[tuple[int, int]]] = {}
    for _i, tid, s, e in rows:
        by_transcript.setdefault(tid, []).append((s, e))
    for tid, spans in by_transcript.items():
        assert cut_inside_note(texts[tid], spans) == []
        lone = [texts[tid][s:e] for s, e in spans if not re.search(r"\w", NOTE_RE.sub("", texts[tid][s:e]))]
        assert lone == []
    assert len(new_rows) < len(old_rows)


def test_imported_samples_have_no_sentence_cut_inside_a_note(sample_project) -> None:
    with sample_project.engine.connect() as conn:
        texts = dict(conn.execute(text("SELECT id, text FROM transcripts")).all())
        rows = conn.execute(text('SELECT transcript_id, start, "end" FROM sentences')).all()
    assert len(rows) > 3000
    assert [r for r in rows if cut_inside_note(texts[r[0]], [(r[1], r[2])])] == []
    assert (SAMPLES / "manifest.csv").is_file()


EDGE_TEXTS = [
    "",
    "   ",
    "\n\n",
    "Hello. World",
    '... Hi there!! "Yes." OK',
    "Dr. Smith said so. (laughs) Fine.\n\nNext one?",
    "?",
    "!!!",
    ". . a",
    "a . b",
    "word\n\nword. \n  Then",
    "It cost 3.50, see www.example.org. Right?! Yes…  no",
    "She said: “I can’t.” Then left. 😀 Okay 👍🏽. Fin",
    "Why?) Because. [laughs] (pause) ok",
    "e.g. this, i.e. that. U.K. based; etc. Done",
]


def _through_the_pipe(texts: list[str]) -> list[list[tuple[int, int]]]:
    """Sentences as spaCy's own pipeline (tokenizer + sentencizer, ``doc.sents``) puts them, trimmed and with
    notes kept whole as ``sentence_spans`` does."""
    from models.nlp import keep_notes_whole

    out = []
    for doc, body in zip(sentence_pipeline(None).pipe(texts), texts, strict=True):
        spans = []
        for sent in doc.sents:
            chunk = body[sent.start_char : sent.end_char]
            if chunk.strip():
                start = sent.start_char + len(chunk) - len(chunk.lstrip())
                spans.append((start, start + len(chunk.strip())))
        out.append(keep_notes_whole(body, spans) if spans and ("[" in body or "(" in body) else spans)
    return out


def test_sentences_are_where_spacys_sentencizer_puts_them() -> None:
    """``sentence_spans`` computes the rule-based sentencizer's boundaries from token arrays instead of
    running it; on the sample study's every line and on edge cases it must agree with the pipe exactly."""
    import docx

    lines: list[str] = []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix == ".docx":
            lines.extend(p.text for p in docx.Document(str(path)).paragraphs)
        elif path.suffix in (".txt", ".md", ".vtt", ".srt"):
            lines.extend(path.read_text(encoding="utf-8").splitlines())
    assert len(lines) > 1000
    for texts in (lines, EDGE_TEXTS, [*EDGE_TEXTS, *lines[:50], ""], ["", ""], []):
        assert sentence_spans(texts, [0] * len(texts)) == _through_the_pipe(texts)
    assert sum(len(spans) > 1 for spans in sentence_spans(lines, [0] * len(lines))) > 100  # not trivially equal


def test_sentences_agree_with_the_pipe_on_generated_awkward_text() -> None:
    """``rule_based_sentences`` computes the sentencizer's boundaries without running it: on thousands of
    generated texts full of abbreviations, numbers, emoticons, URLs, brackets, quotes, non-Latin enders and
    every kind of white space (runs, tabs, newlines, no-break spaces, leading and trailing) it must put the
    sentences exactly where the pipe does."""
    import random

    rng = random.Random(15)
    atoms = ["Mr.", "Dr.", "e.g.", "U.S.", "3.5", "...", "?!", "!", "?", ".", "'", '"', "(", ")", "[laughs]", "—",
             "-", ":)", ":-)", "a.m.", "p.m.", "word", "Word", "it's", "don't", "x", "\u2026", "\u3002", "\uff01",
             "end.", "'end'.", "(end).", "so,", ",", ";", ":", "http://x.org/a.b", "#tag", "1.", "2)", "‼", "5?!",
             "“Yes.”", "no.)", "ok.]", "😀.", "👍🏽"]  # fmt: skip
    spaces = [" ", "  ", "\n", " \n", "\t", "\xa0", " \xa0 ", "", "\n\n", "   "]
    texts = []
    for _ in range(3000):
        text = "".join(rng.choice(atoms) + rng.choice(spaces) for _ in range(rng.randint(1, 12)))
        texts.append(rng.choice(spaces) + text if rng.random() < 0.3 else text)
    assert sentence_spans(texts, [0] * len(texts)) == _through_the_pipe(texts)
    assert sum(len(spans) > 2 for spans in _through_the_pipe(texts)) > 500  # not trivially equal
