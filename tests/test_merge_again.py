"""Merging a coder's file again after they kept working: every change since the last merge arrives.

Issue 22 ("no silent loss"): a re-merge compared nothing for codings it already knew, so extensions,
resizes, recodes, memos, key-quote flags and deletions made after the first merge were lost.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from models import codebook, coding, history
from models.codes import CodeTree
from models.merge import merge_projects
from models.schema import Coder, Coding, Event, Transcript
from models.store import Project, create_project, open_project
from models.transcripts import store_transcript
from tests.conftest import SMALL_STUDY, make_parsed

runner = CliRunner()


def copy_file(source: Path, target: Path) -> Path:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    dst.close()
    src.close()
    return target


def cli(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def make_master(path: Path) -> Path:
    project = create_project(path, name="master")
    for (participant, timepoint), turns in SMALL_STUDY.items():
        with project.change("lead", "import", "import", undoable=False) as session:
            store_transcript(session, make_parsed(turns), participant, timepoint, "lead")
    for name in ("Supervision", "Insecurity", "Hope"):
        codebook.add_code(project, "lead", name)
    project.close()
    return path


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_master(tmp_path_factory.mktemp("master") / "master.wqda")


def codings_of(path: Path, coder: str | None = None) -> set[tuple]:
    """Every coding as (transcript, code path, coder, start, end, memo, key quote)."""
    project = open_project(path)
    try:
        with project.read() as session:
            tree = CodeTree.load(session)
            out = set()
            for c in session.scalars(select(Coding)):
                who = session.get(Coder, c.coder_id).name
                if coder is not None and who != coder:
                    continue
                t = session.get(Transcript, c.transcript_id)
                label = f"{t.participant.study_id}/{t.timepoint.key}"
                out.add((label, tree.path(c.code_id), who, c.start, c.end, c.memo, c.key_quote))
            return out
    finally:
        project.close()


def only_coding(path: Path) -> int:
    project = open_project(path)
    with project.read() as session:
        [coding_id] = session.scalars(select(Coding.id)).all()
    project.close()
    return coding_id


def test_the_issue_reproduction_extension_and_memo_arrive(master: Path, tmp_path: Path) -> None:
    ann = copy_file(master, tmp_path / "ann.wqda")
    team = copy_file(master, tmp_path / "team.wqda")
    cli("apply", ann, "--transcript", "P01/T1", "--code", "Supervision", "--span", "20:40", "--coder", "ann")
    cli("merge", team, ann)
    # the same coder, the same code, touching: this extends the coding already merged
    cli(
        "apply",
        ann,
        "--transcript",
        "P01/T1",
        "--code",
        "Supervision",
        "--span",
        "40:70",
        "--coder",
        "ann",
        "--memo",
        "contradicts T2",
    )
    dry = json.loads(cli("merge", team, ann, "--dry-run", "--json"))
    assert dry["changed"] and any("span 20:40 -> 20:70" in c for c in dry["sources"][0]["changes"])
    out = cli("merge", team, ann)
    assert "already present: 1" not in out
    assert codings_of(team) == {("P01/T1", "Supervision", "ann", 20, 70, "contradicts T2", False)}
    assert codings_of(team) == codings_of(ann)


def test_every_kind_of_later_change_arrives(master: Path, tmp_path: Path) -> None:
    """Resize, recode, memo, key quote and uncode after the first merge: 7 of 7 used to be lost."""
    ann_path = copy_file(master, tmp_path / "ann.wqda")
    team = copy_file(master, tmp_path / "team.wqda")
    ann = open_project(ann_path)
    ids = [coding.apply_codes(ann, "ann", "P01/T1", ["Supervision"], "ann", s, e)[0] for s, e in ((0, 10), (30, 50))]
    ids += coding.apply_codes(ann, "ann", "P02/T1", ["Hope"], "ann", 5, 25)
    ids += coding.apply_codes(ann, "ann", "P01/T2", ["Hope"], "ann", 0, 12)
    ann.close()
    merge_projects(team, [ann_path], "lead")
    ann = open_project(ann_path)
    coding.resize_coding(ann, "ann", ids[0], 0, 15)
    coding.recode_coding(ann, "ann", ids[1], "Insecurity")
    coding.set_coding_memo(ann, "ann", ids[2], "Hope returns at T2")
    coding.set_key_quote(ann, "ann", ids[2], True)
    coding.remove_coding(ann, "ann", ids[3])
    ann.close()
    report = merge_projects(team, [ann_path], "lead")
    assert codings_of(team) == codings_of(ann_path)
    counts = report.sources[0].counts
    assert counts["codings.updated"] == 3 and counts["codings.removed"] == 1
    assert len(report.sources[0].changes) == 4
    # and merging again changes nothing
    assert not merge_projects(team, [ann_path], "lead").changed


def test_the_targets_own_later_edits_are_not_undone_by_a_re_merge(master: Path, tmp_path: Path) -> None:
    ann_path = copy_file(master, tmp_path / "ann.wqda")
    team_path = copy_file(master, tmp_path / "team.wqda")
    ann = open_project(ann_path)
    [coding_id] = coding.apply_codes(ann, "ann", "P01/T1", ["Supervision"], "ann", 0, 10)
    ann.close()
    merge_projects(team_path, [ann_path], "lead")
    team = open_project(team_path)
    team_id = only_coding(team_path)
    coding.set_coding_memo(team, "lead", team_id, "Lead's reading")
    team.close()
    ann = open_project(ann_path)
    coding.set_key_quote(ann, "ann", coding_id, True)  # a different field, changed there
    ann.close()
    merge_projects(team_path, [ann_path], "lead")
    assert codings_of(team_path) == {("P01/T1", "Supervision", "ann", 0, 10, "Lead's reading", True)}


def test_both_sides_editing_the_memo_keep_both_texts_and_list_a_conflict(master: Path, tmp_path: Path) -> None:
    ann_path = copy_file(master, tmp_path / "ann.wqda")
    team_path = copy_file(master, tmp_path / "team.wqda")
    ann = open_project(ann_path)
    [coding_id] = coding.apply_codes(ann, "ann", "P01/T1", ["Supervision"], "ann", 0, 10)
    ann.close()
    merge_projects(team_path, [ann_path], "lead")
    team = open_project(team_path)
    coding.set_coding_memo(team, "lead", only_coding(team_path), "Lead says")
    team.close()
    ann = open_project(ann_path)
    coding.set_coding_memo(ann, "ann", coding_id, "Ann says")
    ann.close()
    report = merge_projects(team_path, [ann_path], "lead")
    [(_, _, _, _, _, memo, _)] = codings_of(team_path)
    assert "Lead says" in memo and "Ann says" in memo
    assert any("changed on both sides" in c for c in report.sources[0].conflicts)


def test_deleted_in_the_target_stays_deleted_unless_changed_there(master: Path, tmp_path: Path) -> None:
    ann_path = copy_file(master, tmp_path / "ann.wqda")
    team_path = copy_file(master, tmp_path / "team.wqda")
    ann = open_project(ann_path)
    [coding_id] = coding.apply_codes(ann, "ann", "P01/T1", ["Supervision"], "ann", 0, 10)
    ann.close()
    merge_projects(team_path, [ann_path], "lead")
    team = open_project(team_path)
    coding.remove_coding(team, "lead", only_coding(team_path))
    team.close()
    assert not merge_projects(team_path, [ann_path], "lead").changed  # not resurrected
    assert codings_of(team_path) == set()
    ann = open_project(ann_path)
    coding.set_key_quote(ann, "ann", coding_id, True)
    ann.close()
    report = merge_projects(team_path, [ann_path], "lead")
    assert any("restored" in c for c in report.sources[0].conflicts)
    assert codings_of(team_path) == codings_of(ann_path)


def test_a_re_merge_is_one_undoable_step(master: Path, tmp_path: Path, db_state) -> None:
    ann_path = copy_file(master, tmp_path / "ann.wqda")
    team_path = copy_file(master, tmp_path / "team.wqda")
    ann = open_project(ann_path)
    [coding_id] = coding.apply_codes(ann, "ann", "P01/T1", ["Supervision"], "ann", 0, 10)
    ann.close()
    merge_projects(team_path, [ann_path], "lead")
    ann = open_project(ann_path)
    coding.resize_coding(ann, "ann", coding_id, 0, 30)
    ann.close()
    team = open_project(team_path)
    before = db_state(team)
    merge_projects(team_path, [ann_path], "lead")
    assert db_state(team) != before
    history.undo(team, "lead")
    assert db_state(team) == before
    team.close()


def test_same_place_keeps_memo_and_flag_and_same_coder_overlaps_become_one(master: Path, tmp_path: Path) -> None:
    """Issue 22 item 2: the source's memo and key-quote flag on a coding at the same place as the target's
    survive, and one coder's overlapping codings of one code are combined (not counted twice)."""
    ann_path = copy_file(master, tmp_path / "ann.wqda")
    team_path = copy_file(master, tmp_path / "team.wqda")
    team = open_project(team_path)
    coding.apply_codes(team, "ann", "P01/T1", ["Supervision"], "ann", 0, 10)
    coding.apply_codes(team, "ann", "P01/T1", ["Hope"], "ann", 20, 40)
    team.close()
    ann = open_project(ann_path)
    [same] = coding.apply_codes(ann, "ann", "P01/T1", ["Supervision"], "ann", 0, 10, memo="Ann's note")
    coding.set_key_quote(ann, "ann", same, True)
    coding.apply_codes(ann, "ann", "P01/T1", ["Hope"], "ann", 30, 60)  # overlaps the target's 20:40
    ann.close()
    merge_projects(team_path, [ann_path], "lead")
    assert codings_of(team_path) == {
        ("P01/T1", "Supervision", "ann", 0, 10, "Ann's note", True),
        ("P01/T1", "Hope", "ann", 20, 60, "", False),
    }


def test_each_coders_history_survives_a_merge_of_copies_of_one_master(master: Path, tmp_path: Path) -> None:
    """Issue 22 item 3: files copied from one master share the project id; each coder's steps arrive once."""
    paths = {name: copy_file(master, tmp_path / f"{name}.wqda") for name in ("ann", "ben", "team")}
    for name, start in (("ann", 0), ("ben", 40)):
        project = open_project(paths[name])
        for i in range(3):
            coding.apply_codes(project, name, "P01/T1", ["Hope"], name, start + 10 * i, start + 10 * i + 5)
        project.close()
    merge_projects(paths["team"], [paths["ann"], paths["ben"]], "lead")
    merge_projects(paths["team"], [paths["ann"], paths["ben"]], "lead")  # nothing twice
    project = open_project(paths["team"])
    with project.read() as session:
        merged = session.scalars(select(Event).where(Event.operation == "merged:coding.apply")).all()
        shared = session.scalars(select(Event).where(Event.operation.like("merged:code.add"))).all()
    project.close()
    assert sorted(e.actor for e in merged) == ["ann"] * 3 + ["ben"] * 3
    assert shared == []  # the master's own steps are already in the team file


def test_merging_a_file_with_itself_through_a_hard_link_is_refused(master: Path, tmp_path: Path) -> None:
    team = copy_file(master, tmp_path / "team.wqda")
    link = tmp_path / "alias.wqda"
    link.hardlink_to(team)
    result = runner.invoke(app, ["merge", str(team), str(link)])
    assert result.exit_code == 1
    assert "into itself" in result.output and len(result.output.strip().splitlines()) == 1


# --- property: two coders, random work, merges in between ---------------------------------------------

CODES = ["Supervision", "Insecurity", "Hope"]
SLOTS = ["P01/T1", "P01/T2", "P02/T1"]
operation = st.one_of(
    st.tuples(
        st.just("apply"),
        st.integers(0, 1),
        st.integers(0, 2),
        st.integers(0, 2),
        st.integers(0, 60),
        st.integers(1, 25),
    ),
    st.tuples(st.just("extend"), st.integers(0, 1), st.integers(0, 50), st.integers(1, 20)),
    st.tuples(st.just("recode"), st.integers(0, 1), st.integers(0, 50), st.integers(0, 2)),
    st.tuples(st.just("memo"), st.integers(0, 1), st.integers(0, 50), st.sampled_from(["", "note", "other note"])),
    st.tuples(st.just("key"), st.integers(0, 1), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("uncode"), st.integers(0, 1), st.integers(0, 50)),
    st.tuples(st.just("merge"), st.integers(0, 1)),
)


def _pick(project: Project, n: int) -> int | None:
    with project.read() as session:
        ids = session.scalars(select(Coding.id).order_by(Coding.id)).all()
    return ids[n % len(ids)] if ids else None


def _run(project: Project, coder: str, op: tuple) -> None:
    kind = op[0]
    if kind == "apply":
        _, _, slot, code, start, width = op
        coding.apply_codes(project, coder, SLOTS[slot], [CODES[code]], coder, start, start + width)
        return
    target = _pick(project, op[2])
    if target is None:
        return
    if kind == "extend":
        with project.read() as session:
            row = session.get(Coding, target)
            start, end = row.start, row.end
        coding.resize_coding(project, coder, target, start, end + op[3])
    elif kind == "recode":
        try:
            coding.recode_coding(project, coder, target, CODES[op[3]])
        except Exception as exc:  # already coded as that code
            assert "already coded" in str(exc)
    elif kind == "memo":
        coding.set_coding_memo(project, coder, target, op[3])
    elif kind == "key":
        coding.set_key_quote(project, coder, target, op[3])
    elif kind == "uncode":
        coding.remove_coding(project, coder, target)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=14))
def test_two_coders_random_work_with_merges_between_ends_in_the_exact_union(master, tmp_path_factory, operations):
    folder = tmp_path_factory.mktemp("coders")
    names = ["ann", "ben"]
    paths = {name: copy_file(master, folder / f"{name}.wqda") for name in (*names, "team")}
    opened = {name: open_project(paths[name]) for name in names}
    try:
        for op in operations:
            name = names[op[1]]
            if op[0] == "merge":
                opened[name].close()
                merge_projects(paths["team"], [paths[name]], "lead")
                opened[name] = open_project(paths[name])
            else:
                _run(opened[name], name, op)
    finally:
        for project in opened.values():
            project.close()
    reports = [merge_projects(paths["team"], [paths[name]], "lead") for name in names]
    for report in reports:
        assert report.sources[0].conflicts == []  # the team file itself never edited: nothing to resolve
    assert codings_of(paths["team"]) == codings_of(paths["ann"]) | codings_of(paths["ben"])


def test_two_files_with_the_same_replica_id_never_delete_each_others_codings(master: Path, tmp_path: Path) -> None:
    """Files that share a replica id (copies edited by tools that bypass waveqda, or files from before replica
    ids) must not make a merge infer deletions: a coding missing from one file may live in the other."""
    paths = {name: copy_file(master, tmp_path / f"{name}.wqda") for name in ("ann", "ben", "team")}
    for name, start in (("ann", 0), ("ben", 40)):
        project = open_project(paths[name])
        coding.apply_codes(project, name, "P01/T1", ["Hope"], name, start, start + 10)
        project.close()
    for name in ("ann", "ben"):
        with sqlite3.connect(paths[name]) as conn:
            conn.execute('UPDATE settings SET value = \'{"id": "same", "file": null}\' WHERE key = \'replica\'')
        conn.close()
    merge_projects(paths["team"], [paths["ann"], paths["ben"]], "lead")
    merge_projects(paths["team"], [paths["ben"]], "lead")
    merge_projects(paths["team"], [paths["ann"]], "lead")
    assert codings_of(paths["team"]) == codings_of(paths["ann"]) | codings_of(paths["ben"])
    assert len(codings_of(paths["team"])) == 2
