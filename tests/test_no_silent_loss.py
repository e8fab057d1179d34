"""Hostile and damaged states (issue 22): each refused or repaired in one line, nothing half written.

Every test here failed before its fix: it reproduces what the reliability sweep found.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from app.cli import app
from models import codebook, coding, project_file
from models.errors import WaveqdaError
from models.schema import Code, Coding
from models.store import current_revision, make_engine, open_project, project_url, upgrade

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent


def run(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def one_line_error(code: int, output: str) -> str:
    assert code == 1, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("waveqda: error: "), output
    assert "Traceback" not in output
    return lines[0]


@pytest.fixture
def coded(small_project):
    codebook.add_code(small_project, "ann", "Supervision")
    coding.apply_codes(small_project, "ann", "P01/T1", ["Supervision"], "ann", 0, 10)
    return small_project


# --- 4. ids are never reused ------------------------------------------------------------------------------


def test_a_project_migrated_from_0004_keeps_its_rows_and_never_reuses_an_id(tmp_path: Path) -> None:
    path = tmp_path / "old.wqda"
    project_file.create_private(path)
    url = project_url(path)
    engine = make_engine(url)
    upgrade(engine, url, "0004_query_indexes")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO settings (key, value) VALUES ('project_uuid', '\"p1\"')"))
        conn.execute(text("INSERT INTO timepoints (key, label, position) VALUES ('T1', 'After training', 0)"))
        conn.execute(text("INSERT INTO participants (uuid, study_id, created_at) VALUES ('u1', 'P01', '2026-01-01')"))
        conn.execute(
            text(
                "INSERT INTO transcripts (uuid, participant_id, timepoint_id, title, source_name, source_format,"
                " sha256, text, word_count, imported_by, imported_at) VALUES"
                " ('t1', 1, 1, 't', 't.txt', 'txt', 'x', 'P: Hello again and again.', 4, 'me', '2026-01-01')"
            )
        )
        conn.execute(text("INSERT INTO coders (uuid, name, created_at) VALUES ('c1', 'ann', '2026-01-01')"))
        conn.execute(
            text(
                "INSERT INTO codes (uuid, name, definition, inclusion, exclusion, example, memo, colour, position,"
                " archived, created_at) VALUES ('k1', 'Hope', '', '', '', '', '', '#888888', 0, 0, '2026-01-01')"
            )
        )
        for i, (start, end) in enumerate([(3, 8), (9, 12), (13, 16)]):
            conn.execute(
                text(
                    'INSERT INTO codings (uuid, transcript_id, code_id, coder_id, start, "end", memo, key_quote,'
                    " status, created_at, updated_at) VALUES (:u, 1, 1, 1, :s, :e, '', 0, 'ok', '2026-01-01',"
                    " '2026-01-01')"
                ),
                {"u": f"g{i}", "s": start, "e": end},
            )
        conn.execute(
            text(
                "INSERT INTO events (at, actor, operation, summary, undoable, state) VALUES"
                " ('2026-01-01', 'ann', 'coding.apply', 'x', 0, 'done')"
            )
        )
    engine.dispose()
    project = open_project(path)
    with project.read() as session:
        assert session.scalars(select(Coding.uuid).order_by(Coding.id)).all() == ["g0", "g1", "g2"]
    coding.remove_coding(project, "ann", 3)
    [new_id] = coding.apply_codes(project, "ann", 1, ["Hope"], "ann", 17, 20)
    assert new_id == 4
    with project.engine.connect() as conn:
        assert "AUTOINCREMENT" in conn.execute(text("SELECT sql FROM sqlite_master WHERE name='codings'")).scalar()
        assert conn.execute(text("SELECT uuid FROM events")).scalars().first()
    project.close()


# --- 5. terminal escape injection ---------------------------------------------------------------------------

HOSTILE = "Evil\x1b]0;pwned\x07 name"


def test_names_with_control_characters_are_refused_on_entry(coded) -> None:
    path = coded.path
    code, out = run("code", "add", path, HOSTILE)
    line = one_line_error(code, out)
    assert "\x1b" not in out and "\x07" not in out and "control character" in line
    with pytest.raises(WaveqdaError, match="control character"):
        coding.apply_codes(coded, "x", "P01/T1", ["Supervision"], "Ann\x1b[2J", 0, 5)


def test_a_stored_hostile_name_is_printed_harmlessly(coded) -> None:
    with coded.engine.begin() as conn:
        conn.execute(text("UPDATE codes SET name = :n"), {"n": HOSTILE + "\nsecond line"})
    code, out = run("codes", coded.path)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07" in out
    assert out.endswith("\n")


def test_a_merge_cleans_hostile_names_from_the_source(coded, tmp_path: Path) -> None:
    source = tmp_path / "source.wqda"
    project_file.online_copy(coded.path, source)
    with sqlite3.connect(source) as conn:
        conn.execute("UPDATE codes SET name = ?, uuid = 'other'", (HOSTILE,))
        conn.execute("UPDATE coders SET name = ?, uuid = 'other'", ("Ben\x1b[31m",))
    target = tmp_path / "team.wqda"
    from models.merge import merge_projects

    merge_projects(target, [source], "lead")
    project = open_project(target)
    with project.read() as session:
        names = session.scalars(select(Code.name)).all()
    project.close()
    assert names == ["Evil ]0;pwned name"]


# --- 6 and 13. owner-only exports, no partial files ----------------------------------------------------------


@pytest.mark.parametrize("name,kind", [("codings.csv", "codings"), ("codebook.docx", "codebook"), ("p.qdpx", None)])
def test_every_exported_file_is_owner_only_even_over_a_wider_file(coded, tmp_path: Path, name, kind) -> None:
    out = tmp_path / name
    out.write_text("old")
    out.chmod(0o644)
    args = ["export", coded.path, out] + (["--kind", kind] if kind else [])
    code, output = run(*args)
    assert code == 0, output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_killed_exports_partial_file_is_removed_by_the_next_export(coded, tmp_path: Path) -> None:
    out = tmp_path / "codings.csv"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".codings.csv.waveqda-{dead.pid}-abc123.partial"
    stale.write_text("half")
    live = tmp_path / f".codings.csv.waveqda-{os.getpid()}-zzz.partial"  # a run still going: left alone
    live.write_text("busy")
    code, output = run("export", coded.path, out, "--kind", "codings")
    assert code == 0, output
    assert not stale.exists() and live.exists()


def test_an_export_to_a_full_disk_is_one_line_and_leaves_nothing(coded, tmp_path: Path, monkeypatch) -> None:
    from exporters import tabular

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tabular, "write_csv", full, raising=False)
    out = tmp_path / "codings.csv"
    import csv

    monkeypatch.setattr(csv, "writer", full)
    line = one_line_error(*run("export", coded.path, out, "--kind", "codings"))
    assert "the disk is full" in line and str(out) in line
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".partial" in p.name]


# --- 7. NUL after the first 64 KiB ---------------------------------------------------------------------------


def test_text_with_a_nul_beyond_the_first_64_kib_is_refused(project, tmp_path: Path) -> None:
    body = "Interviewer: Hello.\nDana: " + "word " * 20_000 + "\x00 hidden\n"
    path = tmp_path / "P01_T1.txt"
    path.write_text(body, encoding="utf-8")
    code, output = run("import", project.path, path)
    assert code == 1
    assert "P01_T1.txt" in output and "NUL" in output
    with project.read() as session:
        assert session.scalars(select(Code)).all() == []
        assert session.execute(text("SELECT count(*) FROM transcripts")).scalar() == 0


# --- 8. a code-parent cycle ------------------------------------------------------------------------------


def test_a_code_parent_cycle_never_hangs_and_check_names_it(coded) -> None:
    codebook.add_code(coded, "ann", "Supervision/Peer")
    with coded.engine.begin() as conn:
        conn.execute(
            text("UPDATE codes SET parent_id = (SELECT id FROM codes WHERE name = 'Peer') WHERE parent_id IS NULL")
        )
    path = str(coded.path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "app.cli"]
    done = subprocess.run(
        [*cmd, "codings", path, "--code", "1", "--with-descendants"],
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert "Traceback" not in done.stderr
    checked = subprocess.run([*cmd, "check", path], env=env, timeout=120, capture_output=True, text=True)
    assert checked.returncode == 1 and "cycle" in checked.stderr
    deleted = subprocess.run(
        [*cmd, "code", "delete", path, "1", "--force"], env=env, timeout=120, capture_output=True, text=True
    )
    assert "Traceback" not in deleted.stderr


# --- 9. read-only files, full disks --------------------------------------------------------------------


def test_apply_on_a_full_disk_is_one_line_and_writes_nothing(coded, monkeypatch) -> None:
    """SQLite's ``max_page_count`` makes the database full exactly as a full disk does (SQLITE_FULL)."""
    from models import store

    pages = {}

    def pragmas(dbapi_connection, record):
        original(dbapi_connection, record)
        count = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        pages["n"] = count
        dbapi_connection.execute(f"PRAGMA max_page_count={count}")

    original = store._sqlite_pragmas
    monkeypatch.setattr(store, "_sqlite_pragmas", pragmas)
    path = coded.path
    coded.close()
    long_memo = "x" * 200_000
    line = one_line_error(
        *run(
            "apply",
            path,
            "--transcript",
            "P01/T2",
            "--code",
            "Supervision",
            "--span",
            "0:5",
            "--coder",
            "ann",
            "--memo",
            long_memo,
        )  # fmt: skip
    )
    assert "the disk is full" in line and "nothing was changed" in line


def test_apply_on_a_read_only_project_is_one_line(coded, monkeypatch) -> None:
    """SQLite opened read-only answers a write exactly as for a read-only file ("attempt to write a readonly
    database"); tests run as root in CI, where chmod would not stop a write."""
    from models import store

    path = coded.path
    coded.close()
    monkeypatch.setattr(
        store, "project_url", lambda target: f"sqlite:///file:{Path(target).resolve()}?mode=ro&uri=true"
    )
    line = one_line_error(
        *run("apply", path, "--transcript", "P01/T2", "--code", "Supervision", "--span", "0:5", "--coder", "ann")
    )
    assert "read-only" in line and "nothing was changed" in line


def test_backups_are_owner_only_rotated_and_never_empty(coded, monkeypatch) -> None:
    path = coded.path
    made = [project_file.backup_beside(path, "before-redact") for _ in range(7)]
    left = sorted(path.parent.glob(f"{path.name}.before-redact-*.bak"))
    assert len(left) == project_file.KEEP_BACKUPS and set(left) <= set(made)
    for backup in left:
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600 and backup.stat().st_size > 0

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(project_file.os, "replace", full)
    with pytest.raises(WaveqdaError, match="the disk is full"):
        project_file.backup_beside(path, "before-redact")
    after = sorted(path.parent.glob(f"{path.name}.before-redact-*.bak"))
    assert after == left
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]


# --- 10, 11, 12. newer, foreign, empty and damaged files ---------------------------------------------------


def test_a_project_from_a_newer_waveqda_is_refused_without_a_backup(coded) -> None:
    path = coded.path
    coded.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    before = path.read_bytes()
    for _ in range(2):
        line = one_line_error(*run("codes", path))
        assert "made by a newer waveqda (revision 0099_from_the_future); upgrade" in line
    assert list(path.parent.glob("*.bak")) == []
    assert path.read_bytes() == before


def test_a_foreign_sqlite_file_is_refused_and_left_exactly_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.close()
    before = path.read_bytes()
    line = one_line_error(*run("codes", path))
    assert "not a waveqda project" in line
    assert path.read_bytes() == before  # not switched to WAL mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_an_empty_file_is_refused_and_stays_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.wqda"
    path.touch()
    line = one_line_error(*run("codes", path))
    assert "empty" in line
    assert path.stat().st_size == 0


def _corrupt_a_page(path: Path) -> None:
    """Overwrite the b-tree page header of the codings table's root page (a page SQLite checks)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'codings'").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with path.open("r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * 12)


def test_a_corrupt_page_is_found_on_open_and_writes_are_refused(coded) -> None:
    path = coded.path
    coded.close()
    _corrupt_a_page(path)
    project = open_project(path)  # the check runs before the first change (a read-only command never pays it)
    with pytest.raises(WaveqdaError, match="damaged"):
        codebook.add_code(project, "ann", "More")
    assert project.damaged
    project.close()
    checked = run("check", path)
    assert checked[0] == 1


def test_check_passes_a_sound_project(coded) -> None:
    code, output = run("check", coded.path)
    assert code == 0 and "no problems found" in output


def test_backup_writes_a_complete_copy_while_the_project_is_open(coded, tmp_path: Path) -> None:
    dest = tmp_path / "copy.wqda"
    code, output = run("backup", coded.path, dest)
    assert code == 0, output
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert not Path(f"{dest}-wal").exists()
    copy = open_project(dest)
    with copy.read() as session:
        assert len(session.scalars(select(Coding)).all()) == 1
    assert current_revision(copy.engine)
    copy.close()


def test_the_project_file_alone_holds_a_change_made_a_moment_ago(coded, tmp_path: Path) -> None:
    """A copy of just the .wqda (no -wal) taken right after a change, while the project stays open (as the
    workspace does: it checkpoints after every change)."""
    coded.checkpoint_every_s = 0
    pending = coded._checkpoint_timer  # the fixture's own changes' timer: running beside this change's
    if pending is not None:  # checkpoint, it made that one wait for its retry (a flaky copy under load)
        pending.join(timeout=10)
    [new_id] = coding.apply_codes(coded, "ann", "P01/T2", ["Supervision"], "ann", 0, 12)
    reader = coded.engine.connect()  # another open connection, as the workspace keeps
    reader.execute(text("SELECT count(*) FROM codings")).scalar()
    dest = tmp_path / "copied.wqda"
    shutil.copyfile(coded.path, dest)
    reader.close()
    with sqlite3.connect(dest) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM codings")]
    assert new_id in ids and len(ids) == 2


def test_a_change_a_reader_held_back_reaches_the_project_file_once_the_reader_is_done(coded, tmp_path) -> None:
    """The checkpoint after a change cannot copy it past an older reader's snapshot (another process
    reading, or another checkpoint running): it is tried again shortly, not left for the next change."""
    coded.checkpoint_every_s = 0
    reader = sqlite3.connect(coded.path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM codings").fetchone()  # a snapshot from before the change
    [new_id] = coding.apply_codes(coded, "ann", "P01/T2", ["Supervision"], "ann", 0, 12)
    assert new_id not in copied_coding_ids(coded.path, tmp_path / "held.wqda")  # held back by the reader
    reader.rollback()
    reader.close()
    deadline = time.monotonic() + 10  # a bound on the wait, not a time asserted: retries run every 50 ms
    while new_id not in copied_coding_ids(coded.path, tmp_path / "later.wqda") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert new_id in copied_coding_ids(coded.path, tmp_path / "later.wqda")


def copied_coding_ids(path: Path, dest: Path) -> list[int]:
    shutil.copyfile(path, dest)
    with sqlite3.connect(dest) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM codings")]


def test_a_burst_of_changes_reaches_the_project_file_within_the_interval_and_on_close(coded, tmp_path) -> None:
    """A script making changes in a row checkpoints at most every ``checkpoint_every_s`` (each checkpoint
    waits for the disk): the changes of a burst are in the file alone once the interval's timer has run,
    without another change or closing; and on close at the latest."""
    coded.checkpoint()  # the interval starts now: every change of the burst waits for it
    coded.checkpoint_every_s = 60  # longer than the test: only close() can copy the burst
    ids = [
        i
        for n in range(5)
        for i in coding.apply_codes(coded, "ann", "P01/T2", ["Supervision"], "ann", 10 * n, 10 * n + 3)
    ]
    reader = coded.engine.connect()  # another connection stays open, so closing ours cannot fold the WAL in
    reader.execute(text("SELECT count(*) FROM codings")).scalar()
    assert coded._checkpoint_due and not set(ids) <= set(copied_coding_ids(coded.path, tmp_path / "a.wqda"))
    coded.close()
    assert set(ids) <= set(copied_coding_ids(coded.path, tmp_path / "b.wqda"))
    reader.close()

    project = open_project(coded.path)
    try:
        project.checkpoint_every_s = 0.05
        first = coding.apply_codes(project, "ann", "P01/T2", ["Supervision"], "ann", 60, 63)
        later = coding.apply_codes(project, "ann", "P01/T2", ["Supervision"], "ann", 70, 73)  # within the interval
        for _ in range(500):  # the timer runs once the interval is over (and is forgotten once it has)
            if project._checkpoint_timer is None and not project._checkpoint_due:
                break
            threading.Event().wait(0.01)
        assert set(first + later) <= set(copied_coding_ids(project.path, tmp_path / "c.wqda"))
    finally:
        project.close()


def test_the_workspace_needs_a_terminal(coded) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "tui", str(coded.path)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "needs a terminal" in done.stderr


def test_a_project_in_a_synced_folder_warns_once(coded, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "Dropbox" / "study"
    folder.mkdir(parents=True)
    path = folder / "study.wqda"
    project_file.online_copy(coded.path, path)
    monkeypatch.setenv("WAVEQDA_CONFIG_DIR", str(tmp_path / "config"))
    first = runner.invoke(app, ["codes", str(path)])
    second = runner.invoke(app, ["codes", str(path)])
    assert "Dropbox" in first.output and "must not open this file at the same time" in first.output
    assert "warning" not in second.output
