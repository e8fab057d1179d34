"""Undo, redo and history, the journal underneath them, and a property test over random operation runs."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as label
from hypothesis import strategies as st
from sqlalchemy import event, select

from models import codebook, coding, history, journal
from models.codes import CodeTree
from models.errors import WaveqdaError
from models.schema import Code, Coding, Event, Memo
from models.store import create_project, open_project
from models.transcripts import list_transcripts, store_transcript
from tests.conftest import SMALL_STUDY, database_state, make_parsed


@pytest.fixture
def coded(small_project):
    codebook.add_code(small_project, "t", "Theme/A")
    coding.apply_codes(small_project, "dana", "P01/T1", ["Theme/A"], "dana", 0, 10)
    return small_project


def events(project) -> list[Event]:
    with project.read() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


# --- undo / redo -------------------------------------------------------------------------------------


def test_nothing_to_undo_or_redo_returns_none_and_logs_nothing(small_project):
    count = len(events(small_project))
    assert history.undo(small_project, "t") is None
    assert history.redo(small_project, "t") is None
    assert len(events(small_project)) == count


def test_undo_and_redo_mark_the_event_and_log_an_audit_entry(coded):
    undone = history.undo(coded, "sam", anyone=True)  # sam takes back another coder's step on purpose
    assert undone.operation == "coding.apply"
    redone = history.redo(coded, "sam", anyone=True)
    assert redone.id == undone.id
    with coded.read() as session:
        rows = history.history(session)
    assert [r.operation for r in rows[-2:]] == ["history.undo", "history.redo"]
    assert rows[-2].summary == f"Undid #{undone.id}: {undone.summary}"
    assert rows[-1].summary.startswith(f"Redid #{undone.id}: Coded P01/T1 0:10")
    assert rows[-1].actor == "sam" and rows[-1].state == "logged"
    assert next(r for r in rows if r.id == undone.id).state == "done"


def test_undo_is_per_coder_and_never_takes_a_colleagues_later_step(small_project, db_state):
    """Issue 19: ctrl+z undoes my last step, not a colleague's that landed after it."""
    codebook.add_code(small_project, "ann", "Hope")
    after_ann = db_state(small_project)
    codebook.add_code(small_project, "ben", "Worry")
    undone = history.undo(small_project, "ann")
    assert undone is not None and undone.actor == "ann" and undone.summary.startswith("Added code")
    with small_project.read() as session:
        names = sorted(c.name for c in session.scalars(select(Code)))
    assert names == ["Worry"]
    assert history.undo(small_project, "ann") is None  # nothing else of Ann's
    assert history.redo(small_project, "ann").id == undone.id
    assert db_state(small_project) != after_ann  # Ben's code is still there
    # Ben's new step did not discard Ann's redo branch, and Ann's does not discard Ben's
    history.undo(small_project, "ben")
    codebook.add_code(small_project, "ann", "Peer team")
    assert history.redo(small_project, "ben") is not None
    with small_project.read() as session:
        rows = history.history(session)
    assert {r.actor for r in rows if r.operation.startswith("history.")} == {"ann", "ben"}


def test_undo_walks_back_step_by_step_and_redo_forward(coded, db_state):
    states = [db_state(coded)]
    for path in ("B", "C", "D"):
        codebook.add_code(coded, "t", path)
        states.append(db_state(coded))
    for expected in reversed(states[:-1]):
        history.undo(coded, "t")
        assert db_state(coded) == expected
    for expected in states[1:]:
        history.redo(coded, "t")
        assert db_state(coded) == expected


def test_a_new_change_discards_the_redo_branch(coded):
    codebook.add_code(coded, "t", "B")
    undone = history.undo(coded, "t")
    codebook.add_code(coded, "t", "C")
    assert history.redo(coded, "t") is None
    with coded.read() as session:
        assert session.get(Event, undone.id).state == "discarded"
        assert [r.state for r in history.history(session) if r.id == undone.id] == ["discarded"]


def test_undo_survives_a_restart(coded, db_state):
    path = coded.target
    before = db_state(coded)
    codebook.rename_code(coded, "t", "Theme/A", "Alpha")
    coded.close()
    reopened = open_project(path)
    try:
        history.undo(reopened, "t")
        assert db_state(reopened) == before
    finally:
        reopened.close()


def test_undo_refuses_when_rows_changed_outside_the_undo_stack(coded, db_state):
    codebook.rename_code(coded, "t", "Theme/A", "Alpha")
    with coded.change("t", "sync", undoable=False) as session:
        session.scalar(select(Code).where(Code.name == "Alpha")).name = "Changed elsewhere"
    before = db_state(coded)
    with pytest.raises(WaveqdaError, match="has changed since") as caught:
        history.undo(coded, "t")
    assert "\n" not in str(caught.value)
    assert db_state(coded) == before


def test_undo_blocked_by_rows_a_logged_step_added_is_refused_in_one_line(coded, db_state):
    """An import is logged, not undoable: undoing the code it coded with must refuse, not crash or orphan."""
    codebook.add_code(coded, "t", "Theme/B")
    with coded.change("t", "refi.import", undoable=False) as session:
        code = session.scalar(select(Code).where(Code.name == "B"))
        coder = session.scalar(select(Coding.coder_id))
        session.add(Coding(transcript_id=1, code_id=code.id, coder_id=coder, start=30, end=40))
    before = db_state(coded)
    with pytest.raises(WaveqdaError, match=r"cannot undo #\d+ \(Added code 'Theme/B'\)") as caught:
        history.undo(coded, "t")
    assert "\n" not in str(caught.value)
    assert db_state(coded) == before
    with coded.read() as session:
        assert journal.last_done(session).summary == "Added code 'Theme/B'"


def test_history_limit_gives_the_newest_events_oldest_first(coded):
    codebook.add_code(coded, "t", "B")
    with coded.read() as session:
        rows = history.history(session, limit=2)
        every = history.history(session)
    assert [r.id for r in rows] == [r.id for r in every[-2:]]
    assert set(rows[0].as_dict()) == {"id", "at", "actor", "operation", "summary", "state"}
    assert rows[-1].at.endswith("+00:00")


# --- the journal -------------------------------------------------------------------------------------


def test_a_row_changed_in_two_flushes_undoes_to_its_original(coded, db_state):
    before = db_state(coded)
    with coded.change("t", "edit") as session:
        code = session.scalar(select(Code).where(Code.name == "A"))
        code.name = "First"
        session.flush()
        code.memo = "second flush"
        session.flush()
        code.name = "Third"
    history.undo(coded, "t")
    assert db_state(coded) == before


def test_a_row_updated_then_deleted_in_one_step_comes_back_whole(coded, db_state):
    before = db_state(coded)
    with coded.change("t", "edit") as session:
        row = session.scalar(select(Coding))
        row.memo = "edited"
        session.flush()
        session.delete(row)
    history.undo(coded, "t")
    assert db_state(coded) == before


def test_an_attribute_set_while_unloaded_keeps_its_old_value(coded, db_state):
    before = db_state(coded)
    with coded.change("t", "edit") as session:
        row = session.scalar(select(Coding))
        session.expire(row, ["memo", "end"])
        row.memo, row.end = "blind write", 12
    history.undo(coded, "t")
    assert db_state(coded) == before


def test_insert_then_delete_in_one_step_records_nothing(coded):
    with coded.change("t", "noop") as session:
        memo = Memo(text="gone")
        session.add(memo)
        session.flush()
        session.delete(memo)
    assert events(coded)[-1].undoable is False


def test_first_undone_is_found_after_the_last_done(coded):
    for name in ("B", "C"):
        codebook.add_code(coded, "t", name)
    history.undo(coded, "t")
    history.undo(coded, "t")
    with coded.read() as session:
        first = journal.first_undone(session)
        assert first.summary == "Added code 'B'"
        assert journal.last_done(session).operation == "coding.apply"


def test_replay_keeps_the_search_index_in_step_with_journalled_transcript_rows(small_project, db_state):
    """Operations that journal transcript rows themselves (redaction, project merge) rely on this."""
    from models.schema import Sentence, Transcript, Turn
    from models.search import search
    from models.transcripts import delete_transcript_rows

    before = db_state(small_project)
    with small_project.change("t", "drop transcript") as session:
        buffer = session.info[journal.BUFFER_KEY]
        transcript = session.get(Transcript, 4)
        for model in (Sentence, Turn):
            for row in session.scalars(select(model).where(model.transcript_id == 4)):
                buffer.add(model.__tablename__, {"id": row.id}, journal.row_image(row), None)
        buffer.add("transcripts", {"id": 4}, journal.row_image(transcript), None)
        delete_transcript_rows(session, transcript)
    after = db_state(small_project)
    with small_project.read() as session:
        assert search(session, "clinical") == []
    history.undo(small_project, "t")
    assert db_state(small_project) == before
    with small_project.read() as session:
        assert [hit.participant for hit in search(session, "clinical")] == ["P02"]
    history.redo(small_project, "t")
    assert db_state(small_project) == after


# --- property: any run of operations undoes to the start and redoes to the end ------------------------

NAMES = ["Alpha", "beta", "Gamma", "alpha"]
CODERS = ["dana", "sam"]
KINDS = [
    "add", "add", "rename", "describe", "recolour", "reorder", "move", "merge", "split", "archive",
    "unarchive", "delete", "apply", "apply", "apply", "remove", "resize", "memo", "key_quote", "transcript_memo",
]  # fmt: skip

operation = st.tuples(st.sampled_from(KINDS), *(st.integers(0, 10_000) for _ in range(4)))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The small study with a few codes and codings, built once and copied for each example."""
    path = tmp_path_factory.mktemp("template") / "template.wqda"
    project = create_project(path)
    for (participant, timepoint), turns in SMALL_STUDY.items():
        with project.change("t", "import", undoable=False) as session:
            store_transcript(session, make_parsed(turns), participant, timepoint, "t")
    for path_ in ("Theme/Alpha", "Theme/beta", "Gamma"):
        codebook.add_code(project, "t", path_)
    coding.apply_codes(project, "t", "P01/T1", ["Theme/Alpha", "Gamma"], "dana", 20, 60)
    coding.apply_codes(project, "t", "P01/T1", ["Theme/beta"], "sam", 30, 90)
    coding.apply_codes(project, "t", "P02/T2", ["Theme/Alpha"], "sam", 5, 40)
    project.close()
    return path


def fast_copy(template: Path, folder: Path):
    """A copy of the template, opened with fsync off (only to keep the test quick; never in the app)."""
    target = folder / "run.wqda"
    shutil.copy(template, target)
    project = open_project(target)
    event.listen(project.engine, "connect", lambda conn, _: conn.execute("PRAGMA synchronous=OFF"))
    project.engine.dispose()
    return project


def perform(project, kind: str, a: int, b: int, c: int, d: int) -> None:
    """Interpret one random operation against the project's current codes and codings."""
    with project.read() as session:
        tree = CodeTree.load(session)
        paths = [tree.path(cid) for cid, _ in tree.walk()]
        codings = list(session.scalars(select(Coding.id).order_by(Coding.id)))
        texts = [t.text for t in list_transcripts(session)]

    def pick(items, n, empty=None):
        return items[n % len(items)] if items else empty

    code, other = pick(paths, a, "Nope"), pick(paths, b, "Nope")
    coding_id = pick(codings, c, 999)
    name = NAMES[b % len(NAMES)]
    if kind == "add":
        codebook.add_code(project, "t", f"{code}/{name}" if c % 2 else name, definition=f"def {d}")
    elif kind == "rename":
        codebook.rename_code(project, "t", code, name)
    elif kind == "describe":
        codebook.describe_code(project, "t", code, inclusion=f"inc {c}", example=None if d % 2 else "")
    elif kind == "recolour":
        codebook.recolour_code(project, "t", code, f"#{c % 256:02x}{d % 256:02x}{a % 256:02x}")
    elif kind == "reorder":
        codebook.reorder_code(project, "t", code, c % 3)
    elif kind == "move":
        codebook.move_code(project, "t", code, other if c % 3 else None)
    elif kind == "merge":
        codebook.merge_codes(project, "t", code, other)
    elif kind == "split":
        criteria = [{"timepoint": "T1"}, {"match": "the"}, {"coding_ids": [coding_id]}, {"transcript_refs": [1]}]
        codebook.split_code(project, "t", code, f"{code}/{name} part", **criteria[c % len(criteria)])
    elif kind == "archive":
        codebook.archive_code(project, "t", code)
    elif kind == "unarchive":
        codebook.unarchive_code(project, "t", code)
    elif kind == "delete":
        codebook.delete_code(project, "t", code, force=bool(c % 2))
    elif kind in ("apply", "resize"):
        transcript = b % len(texts)
        start = c % len(texts[transcript])
        end = start + 1 + d % 30
        if kind == "apply":
            coding.apply_codes(project, "t", transcript + 1, [code], CODERS[d % 2], start, end, memo=name)
        else:
            coding.resize_coding(project, "t", coding_id, start, end)
    elif kind == "remove":
        coding.remove_coding(project, "t", coding_id)
    elif kind == "memo":
        coding.set_coding_memo(project, "t", coding_id, f"memo {d}" if d % 3 else "")
    elif kind == "key_quote":
        coding.set_key_quote(project, "t", coding_id, bool(d % 2))
    elif kind == "transcript_memo":
        coding.set_transcript_memo(project, "t", b % len(texts) + 1, f"note {d}" if d % 3 else "")


def check_invariants(project) -> None:
    """No coding outside its text; no two codings of one code by one coder overlapping or touching."""
    with project.read() as session:
        lengths = {t.id: len(t.text) for t in list_transcripts(session)}
        groups = defaultdict(list)
        for c in session.scalars(select(Coding)):
            assert 0 <= c.start < c.end <= lengths[c.transcript_id]
            groups[(c.transcript_id, c.code_id, c.coder_id)].append((c.start, c.end))
    for spans in groups.values():
        spans.sort()
        assert all(left[1] < right[0] for left, right in zip(spans, spans[1:], strict=False))


def undoable_steps_since(project, event_id: int) -> int:
    with project.read() as session:
        return len(
            session.scalars(
                select(Event.id).where(Event.id > event_id, Event.undoable.is_(True), Event.state == "done")
            ).all()
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=4, max_size=16))
def test_random_operations_undo_to_the_start_and_redo_to_the_end(template, tmp_path_factory, operations):
    project = fast_copy(template, tmp_path_factory.mktemp("run"))
    try:
        start = database_state(project)
        first_event = events(project)[-1].id
        for op in operations:
            before = database_state(project)
            try:
                perform(project, *op)
                label(f"{op[0]} done")
            except WaveqdaError as exc:
                label(f"{op[0]} refused")
                assert "\n" not in str(exc)
                assert database_state(project) == before, f"{op} failed but changed the database"
            check_invariants(project)
        end = database_state(project)
        steps = undoable_steps_since(project, first_event)
        for _ in range(steps):
            assert history.undo(project, "t") is not None
        assert database_state(project) == start
        for _ in range(steps):
            assert history.redo(project, "t") is not None
        assert history.redo(project, "t") is None
        assert database_state(project) == end
    finally:
        project.close()


# every test here runs on an SQLite file and on a PostgreSQL database
pytestmark = pytest.mark.both_engines


def test_coding_windows_cover_every_span_a_step_touched_and_only_codings_steps(coded):
    """What the workspace re-reads after an undo or redo (``history.coding_windows``): per transcript the
    span holding each changed coding as it was and as it is; None for a step that changed the codebook."""
    with coded.read() as session:
        tid = session.scalar(select(Coding.transcript_id))
    coding.apply_codes(coded, "dana", "P01/T1", ["Theme/A"], "dana", 10, 20)  # joins [0, 10) as one coding
    step = history.undo(coded, "dana")
    assert step is not None
    with coded.read() as session:
        windows = history.coding_windows(session, step)
        assert windows == {tid: (0, 20)}  # the joined coding [0, 20) was put back to [0, 10)
        assert [(c.start, c.end) for c in session.scalars(select(Coding))] == [(0, 10)]
    step = history.redo(coded, "dana")
    assert step is not None
    with coded.read() as session:
        assert history.coding_windows(session, step) == {tid: (0, 20)}
    codebook.add_code(coded, "dana", "Theme/B")
    step = history.undo(coded, "dana")
    assert step is not None
    with coded.read() as session:
        assert history.coding_windows(session, step) is None


def test_a_code_applied_by_id_is_one_undoable_step_journalled_as_by_name(coded):
    """Applying one code given by id is the workspace's path (on PostgreSQL the new coding and its event are
    one statement, ``journal.record_event_with_row``): its event's summary, detail and row image are what
    applying it by name writes, and undo and redo take exactly that coding away and back."""
    with coded.read() as session:
        code_id = session.scalar(select(Code.id).where(Code.name == "A"))
    by_name = coding.apply_codes(coded, "dana", "P01/T1", ["Theme/A"], "dana", 40, 50)
    by_id = coding.apply_codes(coded, "dana", "P01/T1", [code_id], "dana", 60, 70)
    *_, named, numbered = events(coded)
    for event_, span in ((named, "40:50"), (numbered, "60:70")):
        assert event_.summary.startswith(f"Coded P01/T1 {span} “") and event_.summary.endswith("” as Theme/A (dana)")
    assert (named.detail, numbered.detail) == ({"codings": by_name}, {"codings": by_id})
    [image_by_name], [image_by_id] = named.changes, numbered.changes
    assert image_by_id["pk"] == {"id": by_id[0]} and image_by_id["before"] is None
    assert set(image_by_id["after"]) == set(image_by_name["after"])
    assert {k: image_by_id["after"][k] for k in ("transcript_id", "code_id", "coder_id", "start", "end")} == {
        "transcript_id": image_by_name["after"]["transcript_id"],
        "code_id": code_id,
        "coder_id": image_by_name["after"]["coder_id"],
        "start": 60,
        "end": 70,
    }
    with coded.read() as session:
        stored = session.get(Coding, by_id[0])
        assert stored is not None and journal.row_image(stored) == image_by_id["after"]
    step = history.undo(coded, "dana")
    assert step is not None
    with coded.read() as session:
        assert session.get(Coding, by_id[0]) is None
    assert history.redo(coded, "dana") is not None
    with coded.read() as session:
        again = session.get(Coding, by_id[0])
        assert again is not None and journal.row_image(again) == image_by_id["after"]
