"""Home paints before it counts (issue 20): names and words show at once, "counting…" stands in for codings
and progress until the worker's counts arrive, and the keys work meanwhile."""

from __future__ import annotations

import threading

from app.tui.screens import home
from app.tui.screens.help import HelpScreen
from tests.tui.helpers import screen_text

SIZE = (120, 36)


async def test_home_paints_first_and_fills_the_counts_from_a_worker(make_app, study, monkeypatch) -> None:
    release = threading.Event()
    real = home.home_counts

    def held_back(session):
        release.wait(20)
        return real(session)

    monkeypatch.setattr(home, "home_counts", held_back)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = screen_text(app)
        assert "counting codings…" in shown and "P01" in shown and "Ben" not in shown
        await pilot.press("question_mark")  # keys work while the counts are still coming
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        release.set()
        for _ in range(50):
            await pilot.pause(0.05)
            if "counting" not in screen_text(app):
                break
        shown = screen_text(app)
        assert "counting" not in shown and "6 codings" in shown and "Ben" in shown
