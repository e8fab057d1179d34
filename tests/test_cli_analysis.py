"""The analysis commands: codings, matrix, trajectories, cooccurrence, progress, search, autocode.

JSON keys written in the issue are a contract; plain output is a readable table.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import app, main
from models.store import Project
from tests.conftest import CodedStudy

runner = CliRunner()

CODING_KEYS = {
    *("id", "transcript_id", "participant", "timepoint", "code", "coder"),
    *("start", "end", "text", "memo", "key_quote"),
}


def run(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def db(project: Project) -> str:
    return str(project.target)


def test_codings_json_keys_and_values(coded_study: CodedStudy) -> None:
    rows = run_json("codings", db(coded_study.project))
    assert len(rows) == 11  # the archived code's coding is left out
    assert all(set(row) >= CODING_KEYS for row in rows)
    (row,) = [r for r in rows if r["id"] == coded_study.codings[7]]
    assert {key: row[key] for key in CODING_KEYS - {"id", "transcript_id", "start", "end"}} == {
        "participant": "P02",
        "timepoint": "T1",
        "code": "Support/Peer support",
        "coder": "ana",
        "text": "The team supports me.",
        "memo": "",
        "key_quote": True,
    }
    assert row["transcript_id"] == coded_study.transcripts["P02/T1"]
    assert row["end"] - row["start"] == len(row["text"])


def test_codings_filters(coded_study: CodedStudy) -> None:
    path = db(coded_study.project)
    assert [r["code"] for r in run_json("codings", path, "--code", "Support")] == ["Support"]
    assert len(run_json("codings", path, "--code", "Support", "--with-descendants")) == 8
    assert {r["participant"] for r in run_json("codings", path, "--participant", "P02")} == {"P02"}
    assert {r["timepoint"] for r in run_json("codings", path, "--timepoint", "T2")} == {"T2"}
    assert len(run_json("codings", path, "--timepoint", "T1", "--timepoint", "T2")) == 11
    assert {r["coder"] for r in run_json("codings", path, "--coder", "ben")} == {"ben"}
    assert [r["role"] for r in run_json("codings", path, "--role", "interviewer")] == ["interviewer"]
    assert {r["participant"] for r in run_json("codings", path, "--attribute", "site=North")} == {"P01"}


def test_codings_table(coded_study: CodedStudy) -> None:
    out = run("codings", db(coded_study.project), "--code", "Worry/Job insecurity")
    lines = out.splitlines()
    assert lines[0].split() == ["id", "participant", "timepoint", "code", "coder", "span", "speaker", "text"]
    assert "I worry about the contract though. Funding might end." in lines[2]
    assert "might leave" in lines[3]


def test_matrix(coded_study: CodedStudy) -> None:
    data = run_json("matrix", db(coded_study.project))
    assert [row["code"] for row in data["rows"]][:2] == ["Support", "Support/Peer support"]
    assert data["rows"][0]["cells"]["T1"] == {"segments": 5, "participants": 2, "words": 18, "passages": 3}
    assert data["totals"]["T2"] == {"segments": 5, "participants": 2, "words": 26, "passages": 4}
    out = run("matrix", db(coded_study.project))
    assert out.splitlines()[0].split() == ["code", "T1", "T2", "T3", "total"]
    assert any(line.split()[:5] == ["Peer", "support", "2", "/", "2"] for line in out.splitlines())
    ben = run_json("matrix", db(coded_study.project), "--coder", "ben")
    assert ben["total"] == {"segments": 3, "participants": 2, "words": 14, "passages": 3}


def test_trajectories(coded_study: CodedStudy) -> None:
    data = run_json("trajectories", db(coded_study.project), "--code", "Worry/Job insecurity")
    assert [(t["participant"], t["pattern"]) for t in data] == [("P01", "+-."), ("P02", "-+.")]
    assert [p["status"] for p in data[0]["points"]] == ["emerged", "faded", "missing"]
    assert data[1]["points"][1]["segments"][0]["text"] == "might leave"
    out = run("trajectories", db(coded_study.project), "--code", "Worry/Job insecurity")
    assert out.splitlines()[2].split() == ["P01", "emerged", "(1)", "faded", "missing", "+-."]


def test_cooccurrence(coded_study: CodedStudy) -> None:
    data = run_json("cooccurrence", db(coded_study.project))
    assert {"code_a", "code_b", "overlaps", "turns"} <= set(data[0])
    assert [(p["code_a"], p["code_b"], p["overlaps"], p["turns"]) for p in data][3] == (
        "Support/Peer support",
        "Worry",
        1,
        1,
    )
    assert "Support/Peer support" in run("cooccurrence", db(coded_study.project))


def test_progress(coded_study: CodedStudy) -> None:
    data = run_json("progress", db(coded_study.project))
    assert data[1] == {
        "transcript_id": coded_study.transcripts["P01/T1"],
        "participant": "P01",
        "timepoint": "T1",
        "coder": "ben",
        "participant_turns": 2,
        "coded_turns": 0,
        "share": 0.0,
    }
    assert "50%" in run("progress", db(coded_study.project))


def test_search(small_project: Project) -> None:
    path = db(small_project)
    hits = run_json("search", path, "support", "--lemma")
    assert [h["text"] for h in hits] == ["supported", "supports", "supporting"]
    assert {"transcript_id", "participant", "timepoint", "turn_index", "speaker", "role", "start", "end"} <= set(
        hits[0]
    )
    assert [h["text"] for h in run_json("search", path, "supervison", "--fuzzy", "--timepoint", "T2")] == [
        "supervision",
        "supervision",
        "Supervison",
    ]
    said = run_json("search", path, "supervision", "--role", "participant")
    assert [h["speaker"] for h in said] == ["Dana", "Dana"]
    out = run("search", path, '"no supervision"')
    assert "no supervision" in out and "There is no supervision at all." in out


def test_autocode_dry_run_then_apply_with_default_coder(small_project: Project) -> None:
    path = db(small_project)
    run("code", "add", path, "Support/Peer support")
    assert "Would code 3 hits" in run(
        "autocode", path, "support", "--lemma", "--code", "Peer support", "--coder", "ana", "--dry-run"
    )
    assert run_json("codings", path) == []
    run("coder", path, "ana")
    result = run_json("autocode", path, "support", "--lemma", "--code", "Peer support", "--unit", "sentence")
    assert (result["created"], result["coder"], result["unit"], result["dry_run"]) == (3, "ana", "sentence", False)
    texts = [r["text"] for r in run_json("codings", path)]
    assert texts == ["I felt supported by everyone.", "The team supports me.", "I am supporting people every day."]
    run("undo", path)
    assert run_json("codings", path) == []
    assert run("autocode", path, "zebra", "--code", "Peer support").strip() == "No hits for 'zebra'; nothing coded"


def test_autocode_needs_a_coder(small_project: Project) -> None:
    path = db(small_project)
    run("code", "add", path, "Supervision")
    result = runner.invoke(app, ["autocode", path, "supervision", "--code", "Supervision"])
    assert result.exit_code == 1 and "no coder" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["codings", "{db}", "--code", "Nope"],
        ["search", "{db}", "supervision", "--timepoint", "T9"],
        ["search", "{db}", "🙂"],
        ["codings", "{db}", "--attribute", "site"],
        ["autocode", "{db}", "supervision", "--code", "Support", "--coder", "ana", "--unit", "page"],
    ],
)
def test_bad_input_is_one_line_error(coded_study: CodedStudy, capsys: pytest.CaptureFixture[str], args) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([a.replace("{db}", db(coded_study.project)) for a in args])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("waveqda: error: ") and "\n" not in err


# every test here runs on an SQLite file and on a PostgreSQL database
pytestmark = pytest.mark.both_engines


def test_case_sheet_round_trips_through_xlsx_and_csv_on_the_command_line(small_project: Project, tmp_path) -> None:
    """Issue 15: `waveqda export --kind attributes` writes the case sheet, `waveqda attributes` reads it back
    from .xlsx as from .csv (typed cells as the text a CSV holds); a bad value is one line, nothing stored."""
    from openpyxl import Workbook

    from models.case_sheet import case_sheet

    path = db(small_project)
    book = Workbook()
    sheet = book.active
    sheet.append(["participant", "site", "age", "joined"])
    sheet.append(["P01", "North", 34, __import__("datetime").date(2025, 3, 1)])
    sheet.append(["P02", "South", 51.0, None])
    source = tmp_path / "attributes.xlsx"
    book.save(source)
    out = run("attributes", path, source)
    assert "age: number" in out and "joined: date" in out and "site: choice" in out
    with small_project.read() as session:
        found = case_sheet(session)
    assert found.value("P01", "joined") == "2025-03-01" and found.value("P02", "age") == "51"

    for suffix in (".csv", ".xlsx"):
        written = tmp_path / f"cases{suffix}"
        run("export", path, written, "--kind", "attributes")
        run("attributes", path, written)  # reads back unchanged
        with small_project.read() as session:
            assert case_sheet(session) == found
    csv_text = (tmp_path / "cases.csv").read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[:2] == ["participant,age,joined,site", "P01,34,2025-03-01,North"]

    bad = tmp_path / "bad.csv"
    bad.write_text("participant,age\nP01,old\n", encoding="utf-8")
    result = runner.invoke(app, ["attributes", path, str(bad)])
    assert (
        result.exit_code == 1
        and "bad.csv: attribute 'age' is a number; 'old' is not" in result.output
        and len(result.output.splitlines()) == 1
    )
    with small_project.read() as session:
        assert case_sheet(session) == found
