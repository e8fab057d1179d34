"""The codebook, coding and history commands, run through the real Typer app on a real project file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import app
from models.transcripts import find_transcript

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def ok(*args: object) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.stdout


def error(*args: object) -> str:
    """Run a command that must fail: exit 1 and exactly one line on stderr."""
    result = run(*args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("waveqda: error: "), result.stderr
    return lines[0]


@pytest.fixture
def proj(small_project):
    """The small study's file path, with a default coder and codes Support/Peer and Worry."""
    path = small_project.target
    ok("coder", path, "dana")
    ok("code", "add", path, "Support/Peer", "--definition", "help from peers", "--include", "colleagues")
    ok("code", "add", path, "Worry", "--colour", "#112233")
    return path


def codes_json(path) -> list[dict]:
    return json.loads(ok("codes", path, "--json"))


def codings_json(project) -> list[tuple]:
    from sqlalchemy import select

    from models.schema import Coding

    with project.read() as session:
        return [(c.id, c.code_id, c.coder_id, c.start, c.end) for c in session.scalars(select(Coding))]


def test_codes_lists_the_tree_with_counts(proj):
    ok("apply", proj, "--transcript", "P01/T1", "--code", "Worry", "--span", "0:5")
    rows = codes_json(proj)
    assert [r["path"] for r in rows] == ["Support", "Support/Peer", "Worry"]
    assert rows[1]["definition"] == "help from peers" and rows[1]["inclusion"] == "colleagues"
    assert rows[2]["colour"] == "#112233" and rows[2]["counts"] == {"T1": 1, "T2": 0, "T3": 0}
    table = ok("codes", proj)
    assert "  Peer" in table and "T1" in table.splitlines()[0]


def test_apply_prints_coding_ids_for_every_way_of_naming_a_span(proj, small_project):
    with small_project.read() as session:
        text = find_transcript(session, "P01/T1").text
    ids = ok(
        "apply",
        proj,
        "--transcript",
        "P01/T1",
        "--code",
        "Worry",
        "--code",
        "Support/Peer",
        "--span",
        "0:11",
        "--memo",
        "label",
    ).split()
    assert len(ids) == 2 and all(i.isdigit() for i in ids)
    ok("apply", proj, "--transcript", "P01/T1", "--code", "Worry", "--sentence", "2")
    ok("apply", proj, "--transcript", "P02/T1", "--code", "Worry", "--turn", "1", "--coder", "sam")
    [match_id] = ok("apply", proj, "--transcript", "1", "--code", "Peer", "--match", "supervision").split()
    spans = {row[0]: row for row in codings_json(small_project)}
    start, end = spans[int(match_id)][3:]
    assert text[start:end] == "supervision"
    assert len(spans) == 5


def test_apply_without_any_coder_is_refused(small_project):
    path = small_project.target
    ok("code", "add", path, "Worry")
    line = error("apply", path, "--transcript", "P01/T1", "--code", "Worry", "--span", "0:5")
    assert "--coder" in line


@pytest.mark.parametrize(
    "args",
    [
        ["--code", "Nope", "--span", "0:5"],
        ["--code", "Worry", "--span", "5:5"],
        ["--code", "Worry", "--span", "0:99999"],
        ["--code", "Worry", "--span", "zero:five"],
        ["--code", "Worry"],
        ["--code", "Worry", "--span", "0:5", "--turn", "1"],
        ["--code", "Worry", "--turn", "99"],
        ["--code", "Worry", "--match", "not said"],
    ],
)
def test_bad_apply_gives_one_line_and_changes_nothing(proj, small_project, db_state, args):
    before = db_state(small_project)
    error("apply", proj, "--transcript", "P01/T1", *args)
    assert db_state(small_project) == before


def test_code_refinement_commands(proj, small_project):
    ok("apply", proj, "--transcript", "P01/T1", "--code", "Worry", "--span", "0:20")
    ok("apply", proj, "--transcript", "P01/T2", "--code", "Worry", "--span", "0:20")
    ok("apply", proj, "--transcript", "P01/T1", "--code", "Support/Peer", "--span", "10:30")
    ok("code", "rename", proj, "Worry", "Concern")
    ok("code", "describe", proj, "Concern", "--definition", "worries", "--example", "the contract")
    ok("code", "recolour", proj, "Concern", "#AbCdEf")
    ok("code", "move", proj, "Concern", "Support")
    ok("code", "reorder", proj, "Support/Concern", "0")
    out = ok("code", "split", proj, "Support/Concern", "Support/Later", "--timepoint", "T2")
    assert "Moved 1 codings" in out
    ok("code", "merge", proj, "Support/Concern", "Support/Peer")
    rows = {r["path"]: r for r in codes_json(proj)}
    assert rows["Support/Concern"]["merged_into"] == "Support/Peer"
    assert rows["Support/Concern"]["colour"] == "#abcdef"
    assert rows["Support/Peer"]["counts"]["T1"] == 1  # 0:20 and 10:30 by dana became one 0:30
    assert [r["name"] for r in codes_json(proj) if r["depth"] == 1] == ["Concern", "Peer", "Later"]
    ok("code", "move", proj, "Support/Later", "/")
    ok("code", "archive", proj, "Later")
    ok("code", "unarchive", proj, "Later")
    assert error("code", "delete", proj, "Later").endswith("use --force to delete them too")
    ok("code", "delete", proj, "Later", "--force")
    assert "Later" not in {r["path"] for r in codes_json(proj)}


def test_split_by_coding_ids_and_match(proj, small_project):
    first = ok("apply", proj, "--transcript", "P01/T1", "--code", "Worry", "--match", "contract").strip()
    ok("apply", proj, "--transcript", "P01/T1", "--code", "Worry", "--match", "brilliant")
    ok("code", "split", proj, "Worry", "Contract", "--codings", first)
    ok("code", "split", proj, "Worry", "Joy", "--match", "BRILL")
    counts = {r["path"]: sum(r["counts"].values()) for r in codes_json(proj)}
    assert (counts["Worry"], counts["Contract"], counts["Joy"]) == (0, 1, 1)
    error("code", "split", proj, "Contract", "X", "--codings", "one,two")
    error("code", "split", proj, "Contract", "X")


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("code add", ["Support/peer"]),
        ("code add", ["Bad", "--colour", "blue"]),
        ("code rename", ["Nope", "X"]),
        ("code rename", ["Worry", "support"]),
        ("code recolour", ["Worry", "#12345"]),
        ("code move", ["Support", "Support/Peer"]),
        ("code move", ["Nope", "/"]),
        ("code merge", ["Worry", "Worry"]),
        ("code describe", ["Worry"]),
        ("code archive", ["Nope"]),
        ("code reorder", ["Worry", "7"]),
        ("code delete", ["Nope"]),
        ("uncode", ["999"]),
    ],
)
def test_bad_code_commands_give_one_line_and_change_nothing(proj, small_project, db_state, command, args):
    before = db_state(small_project)
    error(*command.split(), proj, *args)
    assert db_state(small_project) == before


def test_uncode_undo_redo_and_history(proj, small_project, db_state):
    before = db_state(small_project)
    [coding_id] = ok("apply", proj, "--transcript", "P01/T1", "--code", "Worry", "--span", "3:9").split()
    after_apply = db_state(small_project)
    assert ok("uncode", proj, coding_id).strip() == f"Removed coding {coding_id}"
    assert ok("undo", proj).startswith("Undid #")
    assert db_state(small_project) == after_apply
    ok("undo", proj)
    assert db_state(small_project) == before
    assert ok("redo", proj).startswith("Redid #")
    assert db_state(small_project) == after_apply
    events = json.loads(ok("history", proj, "--json"))
    assert {"id", "at", "actor", "operation", "summary", "state"} <= set(events[-1])
    assert events[-1]["summary"].startswith("Redid #") and events[-1]["actor"] == "dana"
    assert [e["operation"] for e in events].count("history.undo") == 2
    assert "Coded P01/T1 3:9" in ok("history", proj, "--limit", "5")


def test_nothing_to_undo_or_redo(small_project):
    path = small_project.target
    assert ok("undo", path).strip() == "Nothing to undo"
    assert ok("redo", path).strip() == "Nothing to redo"


def test_events_are_recorded_as_the_default_coder(proj):
    ok("code", "add", proj, "Hope")
    ok("apply", proj, "--transcript", "P01/T1", "--code", "Hope", "--span", "0:4", "--coder", "sam")
    events = json.loads(ok("history", proj, "--json"))
    assert [e["actor"] for e in events[-2:]] == ["dana", "sam"]


@pytest.mark.parametrize(
    "args",
    [
        ["uncode", "{p}", str(2**70)],
        ["show", "{p}", str(2**64)],
        ["apply", "{p}", "--transcript", str(2**64), "--code", "Worry", "--span", "0:5"],
        ["apply", "{p}", "--transcript", "P01/T1", "--code", "Worry", "--sentence", str(2**64)],
        ["apply", "{p}", "--transcript", "P01/T1", "--code", "Worry", "--turn", str(2**64)],
        ["code", "split", "{p}", "Worry", "Worry/Part", "--codings", str(2**63)],
        ["names", "{p}", "accept", str(2**80)],
        ["transcripts", "{dir}"],
    ],
)
def test_out_of_range_ids_and_folders_give_one_line(proj, small_project, db_state, args, tmp_path):
    before = db_state(small_project)
    error(*[a.format(p=proj, dir=tmp_path) for a in args])
    assert db_state(small_project) == before


# every test here runs on an SQLite file and on a PostgreSQL database
pytestmark = pytest.mark.both_engines
