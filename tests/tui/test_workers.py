"""Issue 13: slow domain work runs in a worker; the workspace keeps taking keys meanwhile."""

from __future__ import annotations

import threading

import models.history
from app.tui.screens.help import HelpScreen
from tests.tui.helpers import type_text
from tests.tui.test_coder import codings_of, open_transcript

SIZE = (120, 36)


async def test_keys_are_handled_while_a_long_undo_runs(make_app, study, monkeypatch):
    real_undo = models.history.undo
    started, release = threading.Event(), threading.Event()

    def slow_undo(*args, **kwargs):  # the real undo, held back until the test has pressed its keys
        started.set()
        assert release.wait(60), "the test never released the undo"
        return real_undo(*args, **kwargs)

    monkeypatch.setattr(models.history, "undo", slow_undo)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T2")
        view.set_caret(view.text.index("Harder."))
        await pilot.press("shift+down", "c")
        await type_text(pilot, "hope")
        await pilot.press("enter")
        await pilot.pause()
        assert ("Feelings/Hope", "Harder.") in codings_of(study, "P01/T2")
        await pilot.press("ctrl+z")
        for _ in range(200):
            if started.is_set():
                break
            await pilot.pause(0.01)
        assert started.is_set()
        caret = view.cursor
        await pilot.press("down", "down")  # handled now, with the undo still running
        await pilot.pause()
        assert view.cursor != caret
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert not release.is_set() and ("Feelings/Hope", "Harder.") in codings_of(study, "P01/T2")
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("Feelings/Hope", "Harder.") not in codings_of(study, "P01/T2")
        assert any("Undone" in n.message for n in app._notifications)
