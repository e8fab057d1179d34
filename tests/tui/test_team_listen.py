"""Issue 16 in the workspace: on a team project (PostgreSQL) the workspace learns of another coder's change
through LISTEN/NOTIFY, not its poll: the poll is stopped here, and a real CLI process on another connection
applies a coding that the open transcript then shows."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.tui.app import WaveqdaApp
from models.codebook import add_code
from models.store import create_project
from models.transcripts import store_transcript
from tests.conftest import SMALL_STUDY, make_parsed, project_target
from tests.tui.test_coder import open_transcript


@pytest.fixture
def team_study(tmp_path, request):
    project = create_project(project_target("postgresql", tmp_path, request), name="Team study")
    for (participant, timepoint), turns in SMALL_STUDY.items():
        with project.change("tester", "import", "import", undoable=False) as session:
            store_transcript(session, make_parsed(turns, f"{participant}_{timepoint}.txt"), participant, timepoint, "t")
    add_code(project, "tester", "Feelings/Hope")
    yield project
    project.close()


async def test_another_coder_on_the_team_database_is_seen_through_notify(team_study, tmp_path):
    app = WaveqdaApp(team_study, coder="Ann", config_dir=tmp_path / "config", remember=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app._stop_listening is not None  # listening on this engine
        app.poll_timer.pause()  # only a notification can bring the change now
        view = await open_transcript(pilot, "P01/T2")
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "apply", team_study.url, "--transcript", "P01/T2",
             "--code", "Feelings/Hope", "--match", "Harder.", "--coder", "Cal"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        for _ in range(400):  # pauses of 0.05 s; no time is asserted
            if any(view.text[c.start : c.end] == "Harder." for c in view.codings):
                break
            await pilot.pause(0.05)
        else:
            raise AssertionError("the workspace never showed the other coder's coding")
