"""Issue 17 in the workspace: questionnaire scores beside the themes, opened from Compare (q): switch the
measure, filter by reliable-change category, open a participant's interview at a score's timepoint."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import DataTable

from app.tui.app import WaveqdaApp
from app.tui.screens.coder import CoderScreen
from app.tui.screens.scores import ScoresScreen
from models.scores import reliable_change
from models.store import open_project
from models.transcripts import find_transcript


async def wait_for(pilot, condition, what: str) -> None:
    for _ in range(300):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never: {what}")


def rows_of(screen: ScoresScreen) -> list[str]:
    return list(screen.shown)


async def test_scores_beside_themes_filter_and_open_an_interview(demo_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "demo.wqda"
    shutil.copyfile(demo_template, path)
    project = open_project(path)
    try:
        with project.read() as session:
            better = sorted(
                c.participant for c in reliable_change(session, "wemwbs", "T1", "T3") if c.category == "reliably better"
            )
            p2 = find_transcript(session, f"{better[0]}/T2").id
        assert better, "the demo should have someone whose wellbeing reliably improved"
        app = WaveqdaApp(project, coder="Ann", config_dir=tmp_path / "config", remember=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5", "q")
            screen = app.screen
            assert isinstance(screen, ScoresScreen)
            await wait_for(pilot, lambda: screen.view is not None, "the scores loaded")
            assert screen.view.measure == "burnout" and len(rows_of(screen)) == 6
            while screen.view.measure != "wemwbs":
                measure = screen.view.measure
                await pilot.press("s")
                await wait_for(pilot, lambda m=measure: screen.view.measure != m, "the next measure")
            await pilot.press("f")  # all -> reliably better
            await pilot.pause()
            assert screen.category == "reliably better" and rows_of(screen) == better
            table = screen.query_one(DataTable)
            assert table.row_count == len(better)
            await pilot.press("right", "right", "enter")  # the first row's T2 score
            await wait_for(pilot, lambda: isinstance(app.screen, CoderScreen), "the interview opened")
            assert app.screen.transcript_id == p2
    finally:
        project.close()


async def test_a_project_without_measures_says_how_to_add_them(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5", "q")
        screen = app.screen
        assert isinstance(screen, ScoresScreen)
        title = screen.query_one("#scores-title")
        await wait_for(pilot, lambda: "measure add" in str(title.render()), "the hint")
