"""Several processes writing one project at once: every change waits its turn, nothing is lost.

Issue 19: four processes coding one ``.wqda`` failed 77 of 100 codings with "database is locked", and CLI
loops showed tracebacks. Each change now starts with ``BEGIN IMMEDIATE`` and waits for the write lock.
Issue 16: the same on a PostgreSQL project (an advisory lock per change), with 8 processes x 200 changes, a
quarter of them through the command line's own code.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models import codebook, coding, history, journal, project_file
from models.errors import WaveqdaError
from models.schema import Code, Coder, Coding, Event
from models.store import create_project, open_project
from models.transcripts import store_transcript
from tests.conftest import make_parsed, project_target

WORKERS = 8
STEPS = 200
SPAN = 40


def long_transcript() -> list[tuple[str, str]]:
    sentence = "We talked about supervision and the team and what it meant to be valued at work. "
    return [("Interviewer", "Tell me more."), ("Dana", sentence * 800)]


def make_shared(target: str | Path) -> str:
    project = create_project(target, name="shared")
    with project.change("lead", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed(long_transcript()), "P01", "T1", "lead")
        second = [("Interviewer", "And at the second site?"), *long_transcript()[1:]]  # not a duplicate
        store_transcript(session, make_parsed(second), "P02", "T1", "lead")
    codebook.add_code(project, "lead", "Supervision")
    project.close()
    return str(target)


def worker(target: str, number: int, barrier) -> list[str]:
    """One coder's loop: apply, add a (shared) code, write a memo, undo their own last step. Every fourth coder
    makes each change through the ``waveqda`` command line's code (in process), the others through the domain
    functions the workspace calls."""
    name = f"coder{number}"
    project = open_project(target)
    step = _cli_step if number % 4 == 1 else _domain_step
    unexpected: list[str] = []
    barrier.wait()
    try:
        for i in range(STEPS):
            try:
                step(project, target, name, number, i)
            except Exception as exc:  # every failure is counted, none expected
                unexpected.append(f"{name} step {i}: {exc.__class__.__name__}: {exc}")
    finally:
        project.close()
    return unexpected


def _span(number: int, i: int) -> tuple[int, int]:
    start = 100 + (number * STEPS + i) * SPAN
    return start, start + 20


def _transcript(number: int) -> str:
    """Even coders code P01/T1, odd ones P02/T1: on PostgreSQL changes within different transcripts commit
    side by side, changes within one take turns."""
    return "P01/T1" if number % 2 == 0 else "P02/T1"


def _last_coding(project, name: str) -> int:
    with project.read() as session:
        return session.scalar(select(func.max(Coding.id)).join(Coder).where(Coder.name == name))


def _ids(project, number: int) -> tuple[int, list[str | int]]:
    """This coder's transcript and the code "Supervision", by id."""
    with project.read() as session:
        code_id = session.scalar(select(Code.id).where(Code.name == "Supervision"))
        return coding.checked_span(session, _transcript(number), 0, 1).transcript_id, [code_id]


def _domain_step(project, target: str, name: str, number: int, i: int) -> None:
    if i % 4 == 0:  # by name as the command line does, or by ids as the workspace does
        refs = (_transcript(number), ["Supervision"]) if i % 8 else _ids(project, number)
        coding.apply_codes(project, name, refs[0], refs[1], name, *_span(number, i))
    elif i % 4 == 1:
        try:
            codebook.add_code(project, name, f"Shared/Theme {(i // 4) % 5}")
        except WaveqdaError as exc:
            if "already" not in str(exc):
                raise
    elif i % 4 == 2:
        coding.set_coding_memo(project, name, _last_coding(project, name), f"memo {i} by {name}")
    else:
        undone = history.undo(project, name)
        assert undone is not None and undone.operation == "coding.memo" and undone.actor == name


def _cli_step(project, target: str, name: str, number: int, i: int) -> None:
    from typer.testing import CliRunner

    from app.cli import app

    if i % 4 == 0:
        start, end = _span(number, i)
        args = [
            "apply",
            target,
            "--transcript",
            _transcript(number),
            "--code",
            "Supervision",
            "--span",
            f"{start}:{end}",
        ]
        args += ["--coder", name]
    elif i % 4 == 1:
        args = ["code", "add", target, f"Shared/Theme {(i // 4) % 5}", "--coder", name]
    elif i % 4 == 2:
        args = ["memo", target, f"memo {i} by {name}", "--coding", str(_last_coding(project, name)), "--coder", name]
    else:
        args = ["undo", target, "--coder", name]
    result = CliRunner().invoke(app, args)
    if result.exit_code != 0 and not (i % 4 == 1 and "already" in result.output):
        raise AssertionError(f"waveqda {' '.join(args[:2])}: exit {result.exit_code}: {result.output.strip()}")


def replay_journal(start: str, final: str) -> None:
    """Apply every logged step of ``final`` in order to a copy of its starting state (undo and redo markers
    take their step back and forward again): the journal alone must rebuild the final state."""
    source = open_project(final)
    with source.read() as session:
        steps = list(session.scalars(select(Event).order_by(Event.id)))
    source.close()
    by_id = {ev.id: ev for ev in steps}
    project = open_project(start)
    known = 0
    with project.read() as session:
        known = session.scalar(select(func.max(Event.id)))
    for ev in steps:
        if ev.id <= known:
            continue
        with project.write_session() as session:
            if ev.operation in ("history.undo", "history.redo"):
                journal.replay(session, by_id[ev.detail["event"]], backwards=ev.operation == "history.undo")
            elif ev.changes:
                journal.replay(session, ev, backwards=False)
    project.close()


def comparable(path: str, db_state) -> dict:
    project = open_project(path)
    try:
        state = db_state(project)
    finally:
        project.close()
    state.pop("settings", None)  # the replica id differs between the two files by design
    return state


@pytest.mark.both_engines
def test_eight_processes_two_hundred_changes_each_nothing_refused_or_lost(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest, db_state
) -> None:
    from models.project_copy import copy_project

    path = make_shared(project_target(engine, tmp_path, request, name="shared"))
    start = project_target(engine, tmp_path, request, name="start")
    copy_project(path, start)
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(WORKERS)
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(worker, [(path, n, barrier) for n in range(WORKERS)])
    assert [problem for result in results for problem in result] == []
    project = open_project(path)
    with project.read() as session:
        for n in range(WORKERS):
            coder_id = session.scalar(select(Coder.id).where(Coder.name == f"coder{n}"))
            mine = session.scalars(select(Coding).where(Coding.coder_id == coder_id)).all()
            assert len(mine) == STEPS // 4
            assert {c.memo for c in mine} == {""}  # each memo was taken back by its own coder's undo
        names = session.execute(select(Code.parent_id, Code.name)).all()
        assert len(names) == len(set(names))  # no code created twice
        themes = session.scalars(select(Code.name).where(Code.name.like("Theme %"))).all()
        assert sorted(themes) == [f"Theme {i}" for i in range(5)]
        memos = session.scalar(select(func.count(Event.id)).where(Event.operation == "coding.memo"))
        assert memos == WORKERS * STEPS // 4  # every memo step was recorded once (and undone once)
    project.close()
    if engine == "sqlite":
        assert project_file.integrity_problems(Path(path)) == []
    replay_journal(start, path)
    assert comparable(start, db_state) == comparable(path, db_state)


def test_only_own_change_tells_a_change_of_ours_alone_from_one_with_others() -> None:
    from models.store import MARK_DEPTH, only_own_change

    before = tuple(range(100, 100 - MARK_DEPTH, -1))
    assert only_own_change(before, (101, *before[:-1]), 101)
    assert not only_own_change(before, (102, 101, *before[:-2]), 102)  # someone else's 101 came in too
    assert not only_own_change(before, (101, *before[:-1]), None)  # no change of ours
    assert only_own_change((), (1,), 1)
    assert not only_own_change((5, 3), (6, 5, 4, 3), 6)  # 4 became visible late


@pytest.mark.both_engines
def test_an_event_committed_after_a_newer_one_changes_the_mark(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """On PostgreSQL a change within one transcript can commit after a newer one (its writer was waiting for
    the disk): the newest id stays the same, so the workspace's poll and the site's cache must look at more
    than the newest id to notice it."""
    from models.journal import record_event

    project = create_project(project_target(engine, tmp_path, request, name="marks"), name="marks")
    if engine == "sqlite":  # one writer at a time: no event can become visible late; the mark still moves
        before = project.change_mark()
        codebook.add_code(project, "ann", "One")
        assert project.change_mark()[0] > (before or (0,))[0]
        project.close()
        return
    slow_conn = project.engine.connect()
    try:
        slow = project.sessions(bind=slow_conn)
        late = record_event(slow, "ann", "test.slow", "slow", None, undoable=False)  # written, not committed
        codebook.add_code(project, "bob", "Quick")  # a newer event, committed at once
        seen = project.change_mark()
        assert seen[0] > late and late not in seen
        slow.commit()
        after = project.change_mark()
        assert after[0] == seen[0]  # the newest id alone would not show the late event
        assert after != seen and late in after
        slow.close()
    finally:
        slow_conn.close()
        project.close()


def test_cli_loops_on_one_file_print_no_traceback(tmp_path: Path) -> None:
    """Three loops of ``waveqda apply`` on one file: every command succeeds, none prints a traceback."""
    path = make_shared(tmp_path / "shared.wqda")
    script = (
        "import subprocess, sys\n"
        "path, n = sys.argv[1], int(sys.argv[2])\n"
        "for i in range(6):\n"
        "    start = 100 + (n * 6 + i) * 40\n"
        "    r = subprocess.run([sys.executable, '-m', 'app.cli', 'apply', path, '--transcript', 'P01/T1',"
        " '--code', 'Supervision', '--span', f'{start}:{start + 20}', '--coder', f'c{n}'],"
        " capture_output=True, text=True)\n"
        "    print(r.returncode, r.stderr.strip().replace(chr(10), ' | '))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    loops = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(n)], stdout=subprocess.PIPE, text=True, env=env)
        for n in range(3)
    ]
    lines = [line for loop in loops for line in loop.communicate(timeout=600)[0].splitlines()]
    assert len(lines) == 18
    assert all(line.startswith("0 ") for line in lines), lines
    assert not any("Traceback" in line for line in lines)
    project = open_project(path)
    with project.read() as session:
        assert session.scalar(select(func.count(Coding.id))) == 18
    project.close()


def test_a_held_lock_is_one_line_naming_the_holder(tmp_path: Path, monkeypatch) -> None:
    """When another process holds the write lock past the busy timeout, the change is refused in one line that
    says who holds it, and nothing is written."""
    import sqlite3

    from models import store

    path = make_shared(tmp_path / "shared.wqda")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 200)
    project = open_project(path)
    try:
        with project.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=200")
        with pytest.raises(WaveqdaError) as caught:
            codebook.add_code(project, "ann", "Blocked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(caught.value)
    assert "is busy" in message and "nothing was changed" in message and "\n" not in message
    with project.read() as session:
        assert session.scalar(select(Code.id).where(Code.name == "Blocked")) is None
    project.close()


def test_opening_a_project_again_in_the_same_process_keeps_its_locks(tmp_path: Path) -> None:
    """Opening a project the process already has open must not drop the process's locks on the file (closing
    any plain descriptor on it would): another program closing its last connection would then believe it was
    alone, checkpoint and delete the write-ahead log under the open project's feet."""
    path = Path(make_shared(tmp_path / "shared.wqda"))
    held = open_project(path)
    try:
        with held.read() as session:
            assert session.scalar(select(func.count(Coding.id))) == 0
        open_project(path).close()  # e.g. the workspace, or a command run in-process, opening it again
        writer = (
            "import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1])\n"
            "db.execute(\"UPDATE settings SET value = '\\\"x\\\"' WHERE key = 'name'\")\n"
            "db.commit()\n"
            "db.close()\n"
        )
        subprocess.run([sys.executable, "-c", writer, str(path)], check=True, timeout=60)
        assert Path(f"{path}-wal").exists()  # the other program knew it was not the last one
        with held.read() as session:
            assert session.scalar(select(func.count(Coding.id))) == 0
    finally:
        held.close()


@pytest.mark.both_engines
@pytest.mark.parametrize("by_id", [False, True], ids=["by-name", "by-id"])
def test_a_coding_that_waits_too_long_for_the_lock_is_one_line_and_stores_nothing(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch, by_id: bool
) -> None:
    """Applying a code waits for the project's write lock (on PostgreSQL its statements go to the driver
    directly, models/hot_sql.py; by ids, with no session at all, ``Project.driver_change``): past the busy
    timeout it is refused in the same one line as any change."""
    import sqlite3

    from sqlalchemy import text

    from models import store

    target = make_shared(project_target(engine, tmp_path, request, name="held"))
    project = open_project(target)
    if engine == "sqlite":
        holder: Any = sqlite3.connect(target, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = project.engine.connect()
        holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": store.WRITE_LOCK_KEY})
    try:
        monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 300)
        if engine == "sqlite":
            with project.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout=300")
        refs: tuple[Any, list[Any]] = ("P01/T1", ["Supervision"])
        if by_id:
            with project.read() as session:
                refs = (1, [session.scalar(select(Code.id).where(Code.name == "Supervision"))])
        with pytest.raises(WaveqdaError) as caught:
            coding.apply_codes(project, "lead", refs[0], refs[1], "lead", 10, 30)
    finally:
        if engine == "sqlite":
            holder.execute("ROLLBACK")
        else:
            holder.rollback()
        holder.close()
    message = str(caught.value)
    assert "is busy" in message and "nothing was changed" in message and "\n" not in message
    with project.read() as session:
        assert session.scalar(select(func.count(Coding.id))) == 0
    project.close()


def _wait_for_a_waiting_lock(conn) -> None:
    """Until some other session waits for an advisory lock (the apply below, blocked on its transcript)."""
    from sqlalchemy import text

    for _ in range(500):
        waiting = conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
        if waiting.scalar_one():
            return
        threading.Event().wait(0.02)
    raise AssertionError("the apply never waited for its transcript's lock")


def test_a_coding_overtaken_while_it_waits_for_its_transcript_is_combined(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """On PostgreSQL one code applied by id reads its span and looks for a coding to combine with in the
    statement that waits for the transcript's lock, so it cannot see one committed while it waited; its insert
    looks again and, finding one, the change starts over the usual way and combines them (nothing is
    doubled, one event)."""
    from sqlalchemy import text

    from models import store

    target = make_shared(project_target("postgresql", tmp_path, request, name="overtaken"))
    project = open_project(target)
    with project.read() as session:
        code_id = session.scalar(select(Code.id).where(Code.name == "Supervision"))
        transcript_id = coding.checked_span(session, "P01/T1", 0, 1).transcript_id
    coding.apply_codes(project, "dana", "P02/T1", [str(code_id)], "dana", 0, 5)  # dana exists
    holder = project.engine.connect()
    holder.execute(text("SELECT pg_advisory_xact_lock(:c, :t)"), {"c": store.TRANSCRIPT_LOCK_CLASS, "t": transcript_id})
    dana = holder.execute(text("SELECT id FROM coders WHERE name = 'dana'")).scalar_one()
    holder.execute(
        text(
            'INSERT INTO codings (uuid, transcript_id, code_id, coder_id, start, "end", memo, key_quote, status,'
            " created_at, updated_at) VALUES ('overtaker', :t, :c, :d, 10, 20, '', false, 'ok', now(), now())"
        ),
        {"t": transcript_id, "c": code_id, "d": dana},
    )
    found: list[Any] = []
    applying = threading.Thread(
        target=lambda: found.append(coding.apply_codes(project, "dana", transcript_id, [code_id], "dana", 15, 30))
    )
    applying.start()
    try:
        with project.engine.connect() as watcher:
            _wait_for_a_waiting_lock(watcher)
        holder.commit()
    finally:
        applying.join(timeout=30)
        holder.close()
    assert found, "the apply did not finish"
    with project.read() as session:
        spans = session.execute(
            select(Coding.start, Coding.end).where(Coding.transcript_id == transcript_id, Coding.coder_id == dana)
        ).all()
        events = session.scalars(select(Event.summary).where(Event.operation == "coding.apply")).all()
    assert [tuple(s) for s in spans] == [(10, 30)]  # combined with the coding committed meanwhile
    assert len(events) == 2  # P02's and this one: the attempt that was overtaken left nothing
    project.close()
