"""Issue 21, item 9: an interview nobody has coded yet is "not coded yet", never "absent" or "faded".

Checked in the domain query (trajectories and the matrix's interview coverage), the CLI (``trajectories``,
``matrix``) and the workspace's Compare screen (the trajectory dialog), on a study where P01/T2 and P02/T1
are imported but untouched.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from app.cli import app
from models import queries
from models.codebook import add_code
from models.coding import apply_codes
from models.store import Project
from models.transcripts import find_transcript


def code(project: Project, ref: str, path: str, needle: str, coder: str = "ana") -> None:
    with project.read() as session:
        body = find_transcript(session, ref).text
    start = body.index(needle)
    apply_codes(project, coder, ref, [path], coder, start, start + len(needle))


def partly_coded(project: Project) -> Project:
    """Support coded at P01/T1 and P02/T2; P01/T2 and P02/T1 not coded by anyone."""
    add_code(project, "ana", "Support")
    add_code(project, "ana", "Worry")
    code(project, "P01/T1", "Support", "I felt supported by everyone.")
    code(project, "P02/T2", "Worry", "I might leave.")
    return project


def test_trajectories_say_not_coded_yet_instead_of_faded_or_absent(small_project: Project) -> None:
    partly_coded(small_project)
    with small_project.read() as session:
        found = {t.participant: t for t in queries.trajectories(session, "Support")}
    assert [p.status for p in found["P01"].points] == ["emerged", "not coded yet", "missing"]
    assert [p.status for p in found["P02"].points] == ["not coded yet", "absent", "missing"]
    assert found["P01"].pattern == "+?." and found["P02"].pattern == "?-."
    assert [p.coded for p in found["P01"].points] == [True, False, True]


def test_a_coder_filter_asks_whether_that_coder_coded_the_interview(small_project: Project) -> None:
    partly_coded(small_project)
    code(small_project, "P01/T2", "Worry", "Harder.", coder="ben")
    with small_project.read() as session:
        anyone = {t.participant: t.pattern for t in queries.trajectories(session, "Support")}
        ana = {t.participant: t.pattern for t in queries.trajectories(session, "Support", coders=["ana"])}
    assert anyone["P01"] == "+-."  # ben coded P01/T2: Support is absent there
    assert ana["P01"] == "+?."  # but ana has not coded it yet


def test_later_waves_read_past_an_uncoded_one(small_project: Project) -> None:
    assert queries.trajectory_labels([True, queries.UNCODED, True]) == ["emerged", "not coded yet", "persisted"]
    assert queries.trajectory_labels([True, queries.UNCODED, False]) == ["emerged", "not coded yet", "faded"]


def test_matrix_counts_interviews_coded_per_timepoint(small_project: Project) -> None:
    partly_coded(small_project)
    with small_project.read() as session:
        matrix = queries.code_timepoint_matrix(session)
    assert {k: (i.transcripts, i.coded) for k, i in matrix.interviews.items()} == {
        "T1": (2, 1),
        "T2": (2, 1),
        "T3": (0, 0),
    }


def test_cli_trajectories_and_matrix_show_not_coded_yet(small_project: Project) -> None:
    partly_coded(small_project)
    runner = CliRunner()
    out = runner.invoke(app, ["trajectories", str(small_project.path), "--code", "Support"])
    assert out.exit_code == 0, out.output
    p02 = next(line for line in out.output.splitlines() if line.startswith("P02"))
    assert p02.split() == ["P02", "not", "coded", "yet", "absent", "missing", "?-."]
    data = json.loads(
        runner.invoke(app, ["trajectories", str(small_project.path), "--code", "Support", "--json"]).output
    )
    assert data[0]["points"][1]["status"] == "not coded yet" and data[0]["points"][1]["coded"] is False
    matrix = runner.invoke(app, ["matrix", str(small_project.path)]).output
    assert "(interviews coded)" in matrix and "1 of 2" in matrix
