"""Coding queries (issue 15): every operator checked against a brute-force computation over characters, on
constructed codings (touching, nested, overlapping, by two coders), plus filters, context, saved queries and
save-as-code through the CLI."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from models import codebook, coding, history
from models.errors import WaveqdaError
from models.queries.coding_query import parse, run_query
from models.schema import Sentence, Transcript, Turn
from models.store import Project
from models.transcripts import store_transcript
from tests.conftest import make_parsed

TURNS = [
    ("Interviewer", "How has the job been since the training ended? Tell me about a normal week."),
    (
        "Dana",
        "Supervision is patchy. Some weeks I see my supervisor twice, some weeks never. The team is kind though. "
        "I worry about the contract. Funding might end in March and nobody tells us anything.",
    ),
    ("Interviewer", "What helps when it is hard?"),
    (
        "Dana",
        "My peer colleagues, mostly. We meet on Fridays. That is where I feel valued. The ward manager "
        "listens sometimes. Supervision helps when it happens. I am still worried about money.",
    ),
]
CODES = ("A", "B", "C")
runner = CliRunner()


def chars(spans) -> set[int]:
    return {i for start, end in spans for i in range(start, end)}


def runs(characters: set[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive characters."""
    out: list[tuple[int, int]] = []
    for i in sorted(characters):
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


@pytest.fixture
def constructed(project: Project, request: pytest.FixtureRequest):
    """One transcript; codes A, B, C applied by two coders at random spans inside the speech (touching,
    nested and overlapping spans arise), seeded for repeatability."""
    with project.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed(TURNS, "P01_T1.txt"), "P01", "T1", "tester")
    for code in CODES:
        codebook.add_code(project, "tester", code)
    with project.read() as session:
        text = session.scalar(select(Transcript.text))
        turns = [(t.start, t.end) for t in session.scalars(select(Turn).order_by(Turn.index))]
        sentences = [(s.start, s.end) for s in session.scalars(select(Sentence).order_by(Sentence.start))]
    rng = random.Random(15)
    coded: dict[str, dict[str, list[tuple[int, int]]]] = {c: {"ana": [], "ben": []} for c in CODES}
    for code in CODES:
        for coder in ("ana", "ben"):
            for _ in range(5):
                start, end = rng.choice(turns)
                a = rng.randrange(start, end - 1)
                b = min(end, a + rng.randrange(1, 40))
                coding.apply_codes(project, coder, "P01/T1", [code], coder, a, b)
                coded[code][coder].append((a, b))
    # one nested and one touching pair, always
    outer = (turns[1][0] + 5, turns[1][0] + 60)
    coding.apply_codes(project, "ana", "P01/T1", ["A"], "ana", *outer)
    coding.apply_codes(project, "ana", "P01/T1", ["B"], "ana", outer[0] + 10, outer[0] + 20)
    coding.apply_codes(project, "ben", "P01/T1", ["C"], "ben", outer[1], outer[1] + 15)
    coded["A"]["ana"].append(outer)
    coded["B"]["ana"].append((outer[0] + 10, outer[0] + 20))
    coded["C"]["ben"].append((outer[1], outer[1] + 15))
    return project, text, turns, sentences, coded


def query_chars(project: Project, expression: str, **filters) -> set[int]:
    with project.read() as session:
        hits = run_query(session, expression, **filters)
    for hit in hits:
        assert hit.text == hit.context[hit.start - hit.context_start : hit.end - hit.context_start]
    return chars((h.start, h.end) for h in hits)


def within(characters: set[int], pieces: list[tuple[int, int]], run: tuple[int, int]) -> list[set[int]]:
    return [chars([p]) for p in pieces if chars([p]) & chars([run])]


def test_every_operator_against_brute_force(constructed) -> None:
    project, text, turns, sentences, coded = constructed
    every = set(range(len(text)))
    of = {code: chars(coded[code]["ana"] + coded[code]["ben"]) for code in CODES}
    a, b = of["A"], of["B"]

    assert query_chars(project, '"A" AND "B"') == a & b
    assert query_chars(project, '"A" OR "B"') == a | b
    assert query_chars(project, '"A" AND NOT "B"') == a - b
    assert query_chars(project, 'NOT "A"') == every - a
    assert query_chars(project, '("A" OR "B") AND NOT "C"') == (a | b) - of["C"]

    def near_chars(distance: int) -> set[int]:
        found: set[int] = set()
        for first, second in ((a, b), (b, a)):
            for run in runs(first):
                if any(
                    min(abs(i - j) for i in range(*run) for j in range(*other)) - 1 <= distance
                    for other in runs(second)
                ):
                    found |= chars([run])
        return found

    for distance in (0, 1, 10, 50):
        assert query_chars(project, f'"A" NEAR/{distance} "B"') == near_chars(distance), distance

    def sharing(units: list[tuple[int, int]]) -> set[int]:
        found: set[int] = set()
        for first, second in ((a, b), (b, a)):
            for run in runs(first):
                if any(
                    chars([unit]) & chars([run]) and chars([unit]) & chars([other])
                    for unit in units
                    for other in runs(second)
                ):
                    found |= chars([run])
        return found

    assert query_chars(project, '"A" NEAR/sentence "B"') == sharing(sentences)
    assert query_chars(project, '"A" NEAR/turn "B"') == sharing(turns)

    overlapping = set().union(*([chars([r]) for r in runs(a) if chars([r]) & b] or [set()]))
    assert query_chars(project, '"A" OVERLAPS "B"') == overlapping

    b_starts = {i for i in b if i - 1 not in b}
    preceding = set().union(*([chars([r]) for r in runs(a) if any(s >= r[1] for s in b_starts)] or [set()]))
    assert query_chars(project, '"A" PRECEDES "B"') == preceding
    same_turn = set()
    for run in runs(a):
        turn_of_run = [t for t in turns if chars([t]) & chars([run])]
        if any(s >= run[1] and any(t[0] <= s < t[1] for t in turn_of_run) for s in b_starts):
            same_turn |= chars([run])
    assert query_chars(project, '"A" PRECEDES/turn "B"') == same_turn


def test_filters_coders_and_roles(constructed) -> None:
    project, text, turns, _sentences, coded = constructed
    ana_a = chars(coded["A"]["ana"])
    assert query_chars(project, '"A"', coders=["ana"]) == ana_a
    participant_turns = chars([turns[1], turns[3]])
    both = chars(coded["A"]["ana"] + coded["A"]["ben"])
    assert query_chars(project, '"A"', roles=["participant"]) == both & participant_turns
    assert query_chars(project, '"A"', timepoints=["T2"]) == set()


def test_context_widening_and_memos(constructed) -> None:
    project, text, turns, _sentences, _coded = constructed
    with project.read() as session:
        hits = run_query(session, '"A"', context="turn", turns_around=1)
        narrow = run_query(session, '"A"', context="segment")
    assert [(h.start, h.end) for h in hits] == [(h.start, h.end) for h in narrow]
    for hit in narrow:
        assert (hit.context_start, hit.context_end) == (hit.start, hit.end)
    for hit in hits:
        assert text[hit.context_start : hit.context_end] == hit.context
        assert any(t[0] == hit.context_start for t in turns)  # whole turns
        assert any(t[1] == hit.context_end for t in turns)
        assert hit.context_start < hit.start or hit.start == turns[0][0]  # a turn before it was added


def test_parse_errors_are_one_line() -> None:
    for bad, message in [
        ('"A" AND', "ends too early"),
        ("A AND B", "double quotes"),
        ('"A" NEAR/far "B"', "NEAR takes"),
        ('("A" OR "B"', "ends too early"),
        ('("A" OR "B" "C"', "not closed"),
        ("", "empty"),
    ]:
        with pytest.raises(WaveqdaError, match=message) as caught:
            parse(bad)
        assert "\n" not in str(caught.value)


def test_cli_json_saved_query_and_save_as_code(constructed, db_state) -> None:
    project, text, _turns, _sentences, coded = constructed
    target = project.target
    result = runner.invoke(app, ["query", target, '"A" AND "B"', "--json", "--save", "a and b"])
    assert result.exit_code == 0, result.output
    segments = json.loads(result.stdout)
    assert segments and all({"transcript", "start", "end", "text"} <= set(s) for s in segments)
    assert all(text[s["start"] : s["end"]] == s["text"] for s in segments)
    again = runner.invoke(app, ["query", target, "--saved", "a and b", "--json"])
    assert json.loads(again.stdout) == segments
    before = db_state(project)
    coded_out = runner.invoke(
        app, ["query", target, '"A" AND "B"', "--save-as-code", "Both/A and B", "--as-coder", "ana"]
    )
    assert coded_out.exit_code == 0, coded_out.output
    assert query_chars(project, '"Both/A and B"') == chars((s["start"], s["end"]) for s in segments)
    history.undo(project, "ana")
    assert db_state(project) == before
    missing = runner.invoke(app, ["query", target, '"Nope" OR "A"'])
    assert missing.exit_code == 1 and "Nope" in missing.stderr


pytestmark = pytest.mark.both_engines
