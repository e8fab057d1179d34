"""Issue 21, item 9, in the workspace: Compare says "not coded yet" for interviews nobody has coded."""

from __future__ import annotations

from pathlib import Path

from app.tui.app import WaveqdaApp
from app.tui.screens.compare import CompareScreen
from models.store import Project
from tests.test_not_coded_yet import partly_coded
from tests.tui.helpers import plain


async def test_compare_trajectories_dialog_shows_not_coded_yet(small_project: Project, tmp_path: Path) -> None:
    partly_coded(small_project)
    app_ = WaveqdaApp(small_project, config_dir=tmp_path / "config", remember=False, coder="ana")
    async with app_.run_test(size=(120, 36)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app_.screen
        assert isinstance(screen, CompareScreen)
        assert "Not coded yet (not absent): T1: 1 of 2 interviews coded" in plain(
            screen.query_one("#compare-hint").render()
        )
        await pilot.press("t")  # the cursor starts on the first code, Support
        await pilot.pause()
        body = plain(app_.screen.body)
        assert "not coded yet" in body and "faded" not in body
