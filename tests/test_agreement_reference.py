"""The agreement report is exactly what it was before the interval-sweep rewrite (issue 20).

Random studies stored through the real import path in real project files (sentences and turns from the
importer), coded by four coders with overlapping codings, codings across sentence and turn boundaries,
codings outside any turn, repeated codings, needs-review codings, sub-codes and units nobody coded. Every
report (character, sentence and turn units; two, three and four coders; all codes, a parent code with its
descendants, named transcripts) must equal the slow reference kept in ``tests/agreement_reference.py``: the
same JSON and the same counts and floats, compared with ``==``, not approximately.
"""

from __future__ import annotations

import json
import random

import pytest

from models.agreement_report import agreement_report, disagreements
from models.participants import get_or_create_coder
from models.schema import Code, Coding, Sentence, Turn
from models.store import Project
from models.transcripts import find_transcript, store_transcript
from tests.agreement_reference import reference_report
from tests.conftest import make_parsed

WORDS = [
    "we",
    "felt",
    "it",
    "was",
    "hard",
    "but",
    "good",
    "and",
    "the",
    "team",
    "never",
    "really",
    "helped",
    "me.",
    "Yes!",
    "why?",
    "ok",
]
CODERS = ["ann", "ben", "cat", "dan"]


def _speech(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(1, 4)):
        words = rng.choices(WORDS, k=rng.randint(1, 9))
        sentences.append(" ".join(words).capitalize() + rng.choice([".", "?", "!", ""]))
    return " ".join(sentences)


def random_study(project: Project, seed: int) -> Project:
    """Five transcripts (P01-P03 at T1/T2, one missing), codes with sub-codes, codings by four coders."""
    rng = random.Random(seed)
    for participant, timepoint in [("P01", "T1"), ("P01", "T2"), ("P02", "T1"), ("P03", "T1"), ("P03", "T2")]:
        turns = [(rng.choice(["Interviewer", "Sam"]), _speech(rng)) for _ in range(rng.randint(1, 7))]
        with project.change("tester", "import", "import", undoable=False) as session:
            store_transcript(session, make_parsed(turns, f"{participant}_{timepoint}.txt"), participant, timepoint, "t")
    with project.change("tester", "test.setup") as session:
        parents = [Code(name=f"Theme {i}", position=i) for i in range(3)]
        session.add_all(parents)
        session.flush()
        children = [Code(name=f"Sub {i}", parent_id=rng.choice(parents).id, position=10 + i) for i in range(5)]
        session.add_all(children)
        session.flush()
        grandchild = Code(name="Deep", parent_id=children[0].id, position=20)
        session.add(grandchild)
        session.flush()
        codes = [*parents, *children, grandchild]
        coders = [get_or_create_coder(session, name) for name in CODERS]
        session.flush()
        for ref in ["P01/T1", "P01/T2", "P02/T1", "P03/T1", "P03/T2"]:
            transcript = find_transcript(session, ref)
            n = len(transcript.text)
            units = [(t.start, t.end) for t in session.query(Turn).filter_by(transcript_id=transcript.id)]
            units += [(s.start, s.end) for s in session.query(Sentence).filter_by(transcript_id=transcript.id)]
            for _ in range(rng.randint(0, 40)):
                coder = rng.choice(coders[:2] if ref == "P02/T1" else coders)  # cat never coded P02/T1
                code = rng.choice(codes)
                kind = rng.random()
                if kind < 0.3 and units:  # exactly a unit, or a unit's end to another's start
                    a, b = rng.choice(units), rng.choice(units)
                    start, end = min(a[0], b[1]), max(a[0], b[1])
                elif kind < 0.4:  # very short, maybe at the text's edges
                    start = rng.choice([0, max(0, n - 2), rng.randrange(n)])
                    end = start + rng.randint(1, 2)
                else:
                    start = rng.randrange(n)
                    end = start + rng.randint(1, max(1, n // 3))
                end = min(end, n)
                if start >= end:
                    continue
                status = "needs_review" if rng.random() < 0.05 else "ok"
                for _ in range(2 if rng.random() < 0.1 else 1):  # the same coding twice now and then
                    session.add(
                        Coding(
                            transcript_id=transcript.id,
                            code_id=code.id,
                            coder_id=coder.id,
                            start=start,
                            end=end,
                            status=status,
                        )
                    )
    return project


def assert_same(project: Project, coders: list[str], **scope: object) -> None:
    for unit in ("character", "sentence", "turn"):
        new = agreement_report(project, coders, unit=unit, **scope)  # type: ignore[arg-type]
        old = reference_report(project, coders, unit=unit, **scope)  # type: ignore[arg-type]
        assert json.dumps(new.as_json(), sort_keys=True) == json.dumps(old.as_json(), sort_keys=True)
        assert [(c.code.id, c.transcript.id, c.table.counts, c.cu_terms) for c in new.cells] == [
            (c.code.id, c.transcript.id, c.table.counts, c.cu_terms) for c in old.cells
        ]
        if len(coders) > 2:  # in the same order too: α-binary's sums of thirds (4 coders) depend on it
            assert [list(c.table.counts.items()) for c in new.cells] == [
                list(c.table.counts.items()) for c in old.cells
            ]
        for mine, theirs in [
            *zip(new.overall, old.overall, strict=True),
            *(
                (f, g)
                for a, b in zip(new.per_code, old.per_code, strict=True)
                for f, g in zip(a.figures, b.figures, strict=True)
            ),
            *(
                (f, g)
                for a, b in zip(new.per_transcript, old.per_transcript, strict=True)
                for f, g in zip(a.figures, b.figures, strict=True)
            ),
        ]:
            assert mine == theirs


@pytest.mark.parametrize("seed", range(6))
def test_report_equals_the_reference_on_random_studies(project: Project, seed: int) -> None:
    study = random_study(project, seed)
    assert_same(study, ["ann", "ben"])
    assert_same(study, ["ann", "ben", "cat"])
    assert_same(study, ["ben", "ann", "cat"], codes=["Theme 0", "Sub 0"])
    assert_same(study, ["ann", "ben", "cat"], transcripts=["P02/T1", "P01/T1"])
    assert_same(study, ["dan", "cat", "ben", "ann"])


def test_the_random_studies_hold_what_the_comparison_is_about(project: Project) -> None:
    """The generator does make overlapping codings, units nobody coded, cells of every kind and sub-codes
    applied (so that the equality above is not vacuous)."""
    study = random_study(project, 0)
    report = agreement_report(study, ["ann", "ben", "cat"], unit="sentence")
    masks = {mask for c in report.cells for mask in c.table.counts}
    assert {0, 0b111} <= masks and len(masks) >= 6
    assert any("/" in c.code.path for c in report.cells)
    assert disagreements(study, ["ann", "ben"])
    assert report.excluded >= 0 and len(report.transcripts) >= 3
