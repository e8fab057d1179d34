"""Codebook operations against a real project file: each refuses bad input cleanly and undoes exactly."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from models import codebook, history
from models.codebook import (
    PALETTE,
    CodeRow,
    add_code,
    archive_code,
    codebook_rows,
    delete_code,
    describe_code,
    merge_codes,
    move_code,
    palette_colours,
    recolour_code,
    rename_code,
    reorder_code,
    split_code,
    unarchive_code,
)
from models.codes import CodeTree
from models.coding import apply_codes, set_key_quote
from models.errors import NotFoundError, WaveqdaError
from models.schema import Code, Coding, Event, Memo


def rows_by_path(project) -> dict[str, CodeRow]:
    with project.read() as session:
        return {row.path: row for row in codebook_rows(session)}


def code_id(project, path: str) -> int:
    return rows_by_path(project)[path].id


def codings_of(project, path: str) -> list[Coding]:
    with project.read() as session:
        return list(session.scalars(select(Coding).where(Coding.code_id == code_id(project, path))))


def coverage(codings: list[Coding]) -> dict[tuple[int, int], set[int]]:
    """Characters covered per (transcript, coder)."""
    covered: dict[tuple[int, int], set[int]] = defaultdict(set)
    for c in codings:
        covered[(c.transcript_id, c.coder_id)].update(range(c.start, c.end))
    return dict(covered)


def assert_no_same_coder_overlaps(codings: list[Coding]) -> None:
    groups: dict[tuple[int, int], list[Coding]] = defaultdict(list)
    for c in codings:
        groups[(c.transcript_id, c.coder_id)].append(c)
    for group in groups.values():
        group.sort(key=lambda c: c.start)
        for left, right in zip(group, group[1:], strict=False):
            assert left.end < right.start, "same-coder codings of one code overlap or touch"


@pytest.fixture
def study(small_project):
    """Codes A, B (with children), C, and codings by two coders, some overlapping across A and B."""
    for path in ("Theme/A/A child", "Theme/B/B child", "C"):
        add_code(small_project, "t", path, definition=f"{path} means something")
    describe_code(small_project, "t", "Theme/A", "Theme/A means something", inclusion="only A", example="an A")
    spans = {
        ("Theme/A", "dana", "P01/T1"): [(0, 10), (40, 60)],
        ("Theme/B", "dana", "P01/T1"): [(5, 20), (60, 70), (90, 100)],
        ("Theme/A", "sam", "P01/T1"): [(0, 10)],
        ("Theme/B", "sam", "P01/T1"): [(10, 15)],
        ("Theme/A", "sam", "P02/T2"): [(3, 30)],
        ("Theme/B", "dana", "P02/T2"): [(3, 30)],
        ("C", "dana", "P01/T1"): [(0, 100)],
    }
    for (path, coder, transcript), pairs in spans.items():
        for start, end in pairs:
            apply_codes(small_project, coder, transcript, [path], coder, start, end, memo=f"{path} {coder}")
    return small_project


# --- add ---------------------------------------------------------------------------------------------


def test_add_creates_missing_parents_and_returns_the_leaf(project):
    new_id = add_code(project, "t", "Support / Peer/ Colleagues", definition="help", colour="#AABBCC")
    rows = rows_by_path(project)
    assert list(rows) == ["Support", "Support/Peer", "Support/Peer/Colleagues"]
    leaf = rows["Support/Peer/Colleagues"]
    assert (leaf.id, leaf.definition, leaf.colour, leaf.depth) == (new_id, "help", "#aabbcc", 2)
    assert rows["Support/Peer"].parent_id == rows["Support"].id


def test_new_codes_get_distinct_palette_colours(project):
    for i in range(30):
        add_code(project, "t", f"Code {i}")
    colours = [row.colour for row in rows_by_path(project).values()]
    assert len(set(colours)) == 30
    assert colours[:20] == PALETTE


def test_palette_passes_shift_lightness_and_stay_valid():
    colours = palette_colours()
    assert len(colours) == len(set(colours)) >= 60
    assert all(codebook.COLOUR_RE.match(c) for c in colours)


def test_project_palette_setting_is_used(project):
    from models.store import set_setting

    with project.change("t", "settings", undoable=False) as session:
        set_setting(session, "code_palette", ["#112233", "#445566"])
    add_code(project, "t", "One")
    add_code(project, "t", "Two")
    assert [r.colour for r in rows_by_path(project).values()] == ["#112233", "#445566"]


@pytest.mark.parametrize(
    "path",
    ["Support", "support", "SUPPORT/Peer", "", "  / ", "Theme/12", "x" * 301, "Support/Peer"],
)
def test_bad_or_duplicate_names_are_refused_and_change_nothing(project, db_state, path):
    add_code(project, "t", "Support/Peer")
    before = db_state(project)
    with pytest.raises(WaveqdaError) as caught:
        add_code(project, "t", path)
    assert "\n" not in str(caught.value)
    assert db_state(project) == before


def test_bad_colour_is_refused(project, db_state):
    add_code(project, "t", "A")
    before = db_state(project)
    for colour in ("red", "#12345", "#1234567", "#GGGGGG"):
        with pytest.raises(WaveqdaError, match="colour"):
            recolour_code(project, "t", "A", colour)
        with pytest.raises(WaveqdaError, match="colour"):
            add_code(project, "t", "B", colour=colour)
    assert db_state(project) == before


# --- rename, describe, recolour, reorder, move -------------------------------------------------------


def test_rename_keeps_codings_and_refuses_sibling_clash(study, db_state):
    before_codings = len(codings_of(study, "Theme/A"))
    rename_code(study, "t", "Theme/A", "Alpha")
    assert len(codings_of(study, "Theme/Alpha")) == before_codings
    rename_code(study, "t", "Theme/Alpha", "ALPHA")  # a case change of its own name is fine
    before = db_state(study)
    for ref, name in (("Theme/ALPHA", "b"), ("Theme/ALPHA", "a/b"), ("Nope", "x"), ("C", "")):
        with pytest.raises(WaveqdaError):
            rename_code(study, "t", ref, name)
    assert db_state(study) == before


def test_describe_changes_only_the_fields_given(study):
    describe_code(study, "t", "C", exclusion="not D", example="")
    row = rows_by_path(study)["C"]
    assert (row.definition, row.exclusion, row.example) == ("C means something", "not D", "")
    with pytest.raises(WaveqdaError, match="nothing to change"):
        describe_code(study, "t", "C")


def test_reorder_renumbers_siblings(project):
    for name in ("A", "B", "C", "D"):
        add_code(project, "t", name)
    reorder_code(project, "t", "D", 0)
    reorder_code(project, "t", "A", 3)
    rows = list(rows_by_path(project).values())
    assert [r.name for r in rows] == ["D", "B", "C", "A"]
    assert [r.position for r in rows] == [0, 1, 2, 3]
    with pytest.raises(WaveqdaError, match="out of range"):
        reorder_code(project, "t", "A", 4)


def test_move_carries_the_subtree_and_renumbers(study):
    move_code(study, "t", "Theme/A", "C")
    rows = rows_by_path(study)
    assert "C/A/A child" in rows
    assert rows["Theme/B"].position == 0
    move_code(study, "t", "C/A", None)
    assert rows_by_path(study)["A"].depth == 0


@pytest.mark.parametrize(
    ("ref", "parent", "message"),
    [
        ("Theme", "Theme/A", "inside"),
        ("Theme", "Theme/A/A child", "inside"),
        ("Theme/A", "Theme/A", "inside"),
        ("Theme/A", "Theme", "already"),
        ("Theme/A/A child", "Theme", None),
        ("Nope", "Theme", "no code"),
        ("Theme/A", "Nope", "no code"),
    ],
)
def test_bad_moves_are_refused_and_change_nothing(study, db_state, ref, parent, message):
    add_code(study, "t", "Theme/A child")  # so moving Theme/A/A child up to Theme clashes
    before = db_state(study)
    with pytest.raises(WaveqdaError, match=message or "already exists"):
        move_code(study, "t", ref, parent)
    assert db_state(study) == before


def test_move_to_top_level_with_slash(study):
    move_code(study, "t", "Theme/B/B child", "/")
    assert rows_by_path(study)["B child"].parent_id is None


# --- merge -------------------------------------------------------------------------------------------


def test_merge_never_loses_or_duplicates_a_coding(study):
    a_before, b_before = codings_of(study, "Theme/A"), codings_of(study, "Theme/B")
    others_before = len(codings_of(study, "C"))
    union_before = coverage(a_before + b_before)
    merge_codes(study, "t", "Theme/A", "Theme/B")
    b_after = codings_of(study, "Theme/B")
    assert codings_of(study, "Theme/A") == []
    assert coverage(b_after) == union_before  # same characters covered, per transcript and coder
    assert_no_same_coder_overlaps(b_after)
    # dana P01/T1: A 0-10, 40-60 + B 5-20, 60-70, 90-100 -> 0-20, 40-70, 90-100; sam: 0-15; P02/T2 both kept
    spans = sorted((c.transcript_id, c.coder_id, c.start, c.end) for c in b_after)
    assert [(s, e) for _, _, s, e in spans] == [(0, 20), (40, 70), (90, 100), (0, 15), (3, 30), (3, 30)]
    assert len({(t, c) for t, c, _, _ in spans}) == 4  # different coders never combined
    assert len(codings_of(study, "C")) == others_before


def test_merge_combines_memos_and_key_quotes(study):
    a_first = min(codings_of(study, "Theme/A"), key=lambda c: (c.coder_id, c.start))
    set_key_quote(study, "t", a_first.id, True)
    merge_codes(study, "t", "Theme/A", "Theme/B")
    combined = next(c for c in codings_of(study, "Theme/B") if (c.coder_id, c.start, c.end) == (1, 0, 20))
    assert combined.memo == "Theme/B dana\n\nTheme/A dana"
    assert combined.key_quote is True


def test_merge_archives_the_source_and_keeps_its_definition(study):
    merge_codes(study, "t", "Theme/A", "Theme/B")
    rows = rows_by_path(study)
    source, target = rows["Theme/A"], rows["Theme/B"]
    assert source.archived and source.merged_into == "Theme/B"
    assert "Merged from “Theme/A”:" in target.memo and "#" not in target.memo
    assert "Definition: Theme/A means something" in target.memo
    assert "Inclusion: only A" in target.memo and "Example: an A" in target.memo
    assert "Theme/B/A child" in rows and "Theme/A/A child" not in rows


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("Theme/A", "Theme/A", "itself"),
        ("Theme", "Theme/A", "inside it"),
        ("Theme/A", "Nope", "no code"),
        ("Theme/A", "Archived", "archived"),
        ("Theme/A", "Clash", "sub-code named"),
    ],
)
def test_bad_merges_are_refused_and_change_nothing(study, db_state, source, target, message):
    add_code(study, "t", "Archived")
    archive_code(study, "t", "Archived")
    add_code(study, "t", "Clash/A child")
    before = db_state(study)
    with pytest.raises(WaveqdaError, match=message):
        merge_codes(study, "t", source, target)
    assert db_state(study) == before


def test_a_merged_code_cannot_be_merged_again_or_unarchived(study):
    merge_codes(study, "t", "Theme/A", "Theme/B")
    with pytest.raises(WaveqdaError, match="already merged"):
        merge_codes(study, "t", "Theme/A", "C")
    with pytest.raises(WaveqdaError, match="undo the merge"):
        unarchive_code(study, "t", "Theme/A")


def test_merge_is_one_event_and_undoes_exactly(study, db_state):
    before = db_state(study)
    merge_codes(study, "t", "Theme/A", "Theme/B")
    after = db_state(study)
    with study.read() as session:
        event = session.scalar(select(Event).order_by(Event.id.desc()))
    assert event.operation == "code.merge" and "Merged code 'Theme/A' into 'Theme/B'" in event.summary
    history.undo(study, "t")
    assert db_state(study) == before
    history.redo(study, "t")
    assert db_state(study) == after


# --- split -------------------------------------------------------------------------------------------


def span_multiset(codings: list[Coding]) -> Counter:
    return Counter((c.transcript_id, c.coder_id, c.start, c.end, c.memo) for c in codings)


@pytest.mark.parametrize(
    ("kwargs", "moved"),
    [
        ({"timepoint": "T2"}, 1),
        ({"transcript_refs": ["P01/T1"]}, 3),
        ({"match": "INTERVIE"}, 2),
        ({"timepoint": "T1", "match": "BRILLIANT"}, 1),
    ],
)
def test_split_never_loses_or_duplicates_a_coding(study, kwargs, moved):
    before = span_multiset(codings_of(study, "Theme/A"))
    new_id, count = split_code(study, "t", "Theme/A", "Theme/A2", **kwargs)
    kept, split_off = codings_of(study, "Theme/A"), codings_of(study, "Theme/A2")
    assert count == moved == len(split_off)
    assert {c.code_id for c in split_off} == {new_id}
    assert span_multiset(kept) + span_multiset(split_off) == before


def test_split_by_coding_ids_and_new_parent(study, db_state):
    chosen = [c.id for c in codings_of(study, "Theme/A")][:2]
    before = db_state(study)
    new_id, count = split_code(study, "t", "Theme/A", "New theme/Split", coding_ids=chosen)
    assert count == 2 and sorted(c.id for c in codings_of(study, "New theme/Split")) == sorted(chosen)
    assert rows_by_path(study)["New theme/Split"].definition == "Split from 'Theme/A'."
    history.undo(study, "t")
    assert db_state(study) == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "choose the codings"),
        ({"match": "no such words"}, "nothing was split"),
        ({"coding_ids": [999]}, "no coding"),
        ({"timepoint": "T9"}, "unknown timepoint"),
        ({"transcript_refs": ["P09/T1"]}, "no transcript"),
        ({"timepoint": "T2", "new_path": "Theme/B"}, "already exists"),
    ],
)
def test_bad_splits_are_refused_and_change_nothing(study, db_state, kwargs, message):
    c_coding = codings_of(study, "C")[0].id
    before = db_state(study)
    kwargs = dict(kwargs)  # the parameter's dict is shared by both engines' runs
    new_path = kwargs.pop("new_path", "Theme/A2")
    with pytest.raises(WaveqdaError, match=message):
        split_code(study, "t", "Theme/A", new_path, **kwargs)
    with pytest.raises(WaveqdaError, match="not a coding of this code"):
        split_code(study, "t", "Theme/A", new_path, coding_ids=[c_coding])
    assert db_state(study) == before


# --- archive, delete ---------------------------------------------------------------------------------


def test_archive_and_unarchive(study):
    archive_code(study, "t", "C")
    assert rows_by_path(study)["C"].archived
    with pytest.raises(WaveqdaError, match="already archived"):
        archive_code(study, "t", "C")
    unarchive_code(study, "t", "C")
    assert not rows_by_path(study)["C"].archived
    with pytest.raises(WaveqdaError, match="not archived"):
        unarchive_code(study, "t", "C")


def test_delete_with_codings_needs_force(study, db_state):
    before = db_state(study)
    with pytest.raises(WaveqdaError, match="--force"):
        delete_code(study, "t", "Theme")
    assert db_state(study) == before


def test_delete_without_codings_removes_the_subtree(study):
    delete_code(study, "t", "Theme/A/A child")
    rows = rows_by_path(study)
    assert "Theme/A/A child" not in rows and "Theme/A" in rows


def test_forced_delete_records_what_was_removed_and_undoes(study, db_state):
    merge_codes(study, "t", "C", "Theme/B/B child")  # C points at a doomed code: the pointer is cleared
    with study.change("t", "memo") as session:
        session.add(Memo(target_type="code", target_id=code_id(study, "Theme/A"), text="about A"))
    before = db_state(study)
    delete_code(study, "t", "Theme", force=True)
    with study.read() as session:
        assert session.scalar(select(Coding).where(Coding.code_id.in_(select(Code.id)))) is None
        assert session.scalar(select(Code.merged_into_id).where(Code.name == "C")) is None
        event = session.scalar(select(Event).order_by(Event.id.desc()))
    assert set(rows_by_path(study)) == {"C"}
    assert "4 sub-codes" in event.summary and "removing" in event.summary
    assert len(event.detail["codings"]) == 10 and event.detail["memos"] == ["about A"]
    assert {"text", "transcript", "code", "start", "end"} <= set(event.detail["codings"][0])
    history.undo(study, "t")
    assert db_state(study) == before


@pytest.mark.parametrize(("merged", "into"), [("Theme/A", "Theme/B"), ("Theme/B", "Theme/A")])
def test_forced_delete_of_a_subtree_holding_a_merged_code_undoes(study, db_state, merged, into):
    """One doomed code merged into a sibling: whichever of the two is deleted first, nothing dangles."""
    merge_codes(study, "t", merged, into)
    before = db_state(study)
    delete_code(study, "t", "Theme", force=True)
    assert set(rows_by_path(study)) == {"C"}
    history.undo(study, "t")
    assert db_state(study) == before
    assert rows_by_path(study)[merged].merged_into == into


def test_merge_carries_memos_attached_to_absorbed_codings(study, db_state):
    [absorbed] = [c.id for c in codings_of(study, "Theme/A") if (c.start, c.end) == (40, 60)]
    with study.change("t", "memo") as session:
        session.add(Memo(target_type="coding", target_id=absorbed, title="Note", text="on A's 40:60"))
    before = db_state(study)
    merge_codes(study, "t", "Theme/A", "Theme/B")
    with study.read() as session:
        memo = session.scalar(select(Memo).where(Memo.text == "on A's 40:60"))
        holder = session.get(Coding, memo.target_id)
        assert (holder.start, holder.end, holder.code_id) == (40, 70, code_id(study, "Theme/B"))
    history.undo(study, "t")
    assert db_state(study) == before


def test_unknown_code_is_refused_everywhere(study, db_state):
    before = db_state(study)
    calls = [
        lambda: rename_code(study, "t", "Nope", "x"),
        lambda: describe_code(study, "t", "Nope", definition="x"),
        lambda: recolour_code(study, "t", "Nope", "#000000"),
        lambda: reorder_code(study, "t", "Nope", 0),
        lambda: archive_code(study, "t", "Nope"),
        lambda: delete_code(study, "t", "Nope"),
        lambda: split_code(study, "t", "Nope", "X", match="a"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError):
            call()
    assert db_state(study) == before


# --- listing -----------------------------------------------------------------------------------------


def test_codebook_rows_count_segments_per_timepoint(study):
    rows = rows_by_path(study)
    assert rows["Theme/A"].counts == {"T1": 3, "T2": 1, "T3": 0}
    assert rows["Theme"].counts == {"T1": 0, "T2": 0, "T3": 0}
    assert list(rows) == ["Theme", "Theme/A", "Theme/A/A child", "Theme/B", "Theme/B/B child", "C"]
    expected_keys = {
        "id",
        "uuid",
        "path",
        "name",
        "depth",
        "parent_id",
        "definition",
        "inclusion",
        "exclusion",
        "example",
        "colour",
        "archived",
        "merged_into",
        "counts",
    }
    assert expected_keys <= set(rows["C"].as_dict())  # the keys of `waveqda codes --json`


def test_every_operation_undoes_to_the_exact_prior_state(study, db_state):
    steps = [
        lambda: add_code(study, "t", "New/Leaf"),
        lambda: rename_code(study, "t", "C", "See"),
        lambda: describe_code(study, "t", "See", definition="changed"),
        lambda: recolour_code(study, "t", "See", "#010203"),
        lambda: reorder_code(study, "t", "See", 0),
        lambda: move_code(study, "t", "See", "Theme"),
        lambda: merge_codes(study, "t", "Theme/A", "Theme/B"),
        lambda: split_code(study, "t", "Theme/B", "Theme/B2", timepoint="T2"),
        lambda: archive_code(study, "t", "Theme/B2"),
        lambda: unarchive_code(study, "t", "Theme/B2"),
        lambda: delete_code(study, "t", "Theme/B2", force=True),
        lambda: delete_code(study, "t", "New"),
    ]
    for step in steps:
        before = db_state(study)
        step()
        after = db_state(study)
        assert after != before
        assert history.undo(study, "t") is not None
        assert db_state(study) == before
        assert history.redo(study, "t") is not None
        assert db_state(study) == after
    with study.read() as session:
        tree = CodeTree.load(session)
    assert tree.path(tree.find("See").id) == "Theme/See"


# every test here runs on an SQLite file and on a PostgreSQL database
pytestmark = pytest.mark.both_engines
