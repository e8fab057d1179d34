"""Issue 13: the workspace stays responsive while it merges two coders' 50,000 codings each, and while it
undoes that merge: a real merge and a real undo in the workspace's worker, keys pressed meanwhile.

The two coder files come from the merge benchmark's builder (a small imported corpus, one shared codebook
of 360 codes, 50,000 codings per coder bulk-inserted), cached under bench/out like the benchmark's own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events
from textual.widgets import DataTable

from app.tui.app import WaveqdaApp
from app.tui.screens.dialogs import MessageDialog, TextPrompt
from app.tui.screens.help import HelpScreen
from models.project_file import online_copy
from models.store import open_project
from tests.tui.helpers import type_text

CODINGS = 50_000


@pytest.fixture(scope="module")
def coder_files() -> dict[str, Path]:
    from bench.bench_merge import ensure_fixture

    return ensure_fixture(participants=4, timepoints=3, words=3_000, codings=CODINGS, seed=1)


def count_codings(path: Path) -> int:
    """Read the file the way another program would (not through the workspace's connection)."""
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM codings").fetchone()[0]


def change_running(app: WaveqdaApp) -> bool:
    return any(w.group == "changes" and not w.is_finished for w in app.workers)


async def wait_until_running(pilot, app: WaveqdaApp) -> None:
    for _ in range(500):
        if change_running(app):
            return
        await pilot.pause(0.01)
    raise AssertionError("the change never started in a worker")


async def send_key(app: WaveqdaApp, key: str, until: Callable[[], bool]) -> None:
    """Deliver one key as the terminal driver does and wait (in short sleeps) until ``until()`` holds.

    Pilot's ``press`` and ``pause`` wait for the whole process to go idle (up to a second per key), which it
    never does while a worker computes; this waits only for the key's effect."""
    app.post_message(events.Key(key, None))
    for _ in range(3_000):
        if until():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the key {key!r} was not handled")


async def keys_are_handled_meanwhile(app: WaveqdaApp, path: Path, codings_before: int) -> None:
    """Move the Home grid's cursor and open help, then close it: all handled while the change is still
    running, before it has committed anything."""
    grid = app.screen.query_one("#home-grid", DataTable)
    row = grid.cursor_coordinate.row
    await send_key(app, "down", lambda: grid.cursor_coordinate.row == row + 1)
    await send_key(app, "question_mark", lambda: isinstance(app.screen, HelpScreen))
    await send_key(app, "escape", lambda: not isinstance(app.screen, HelpScreen))
    assert change_running(app), "the change ended before the keys were handled"
    assert count_codings(path) == codings_before, "the change committed before the keys were handled"


async def test_keys_are_handled_during_a_merge_of_two_50k_coder_files_and_its_undo(tmp_path, coder_files):
    mine = tmp_path / "coder_a.wqda"
    online_copy(coder_files["coder_a"], mine)
    assert count_codings(mine) == CODINGS
    project = open_project(mine)
    try:
        app = WaveqdaApp(project, coder="coder_a", config_dir=tmp_path / "config", remember=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("m")  # Home: merge another coder's project
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            await type_text(pilot, str(coder_files["coder_b"]))
            await pilot.press("enter")
            await wait_until_running(pilot, app)
            await keys_are_handled_meanwhile(app, mine, CODINGS)

            await app.workers.wait_for_complete()
            await pilot.pause()
            assert count_codings(mine) == 2 * CODINGS
            assert isinstance(app.screen, MessageDialog)  # what the merge did, then ctrl+z undoes it
            await pilot.press("escape")
            await pilot.pause()

            await pilot.press("ctrl+z")
            await wait_until_running(pilot, app)
            await keys_are_handled_meanwhile(app, mine, 2 * CODINGS)
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert count_codings(mine) == CODINGS
            assert any("Undone" in n.message and "Merged" in n.message for n in app._notifications)
    finally:
        project.close()


async def test_merging_the_open_project_into_itself_is_refused_with_one_line(tmp_path, coder_files):
    mine = tmp_path / "coder_a.wqda"
    online_copy(coder_files["coder_a"], mine)
    project = open_project(mine)
    try:
        app = WaveqdaApp(project, coder="coder_a", config_dir=tmp_path / "config", remember=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("m")
            await pilot.pause()
            await type_text(pilot, str(mine))
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            messages = [n.message for n in app._notifications]
            assert any("cannot merge a project into itself" in m for m in messages), messages
            assert not isinstance(app.screen, MessageDialog)
            assert count_codings(mine) == CODINGS
    finally:
        project.close()
