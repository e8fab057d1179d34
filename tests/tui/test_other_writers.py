"""Issue 19 in the workspace: other writers' commits show up, stale edits are refused, undo is per coder,
backups from the palette. Another process is a real subprocess running the CLI on the same project file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from app.tui.app import WaveqdaApp
from app.tui.screens.coder import CoderScreen
from app.tui.screens.dialogs import MemoDialog
from app.tui.screens.home import HomeScreen
from models.schema import Coding
from models.store import open_project
from tests.tui.helpers import screen_text, type_text
from tests.tui.test_coder import codings_of, open_transcript

SIZE = (120, 36)
MAX_POLLS = 400  # pauses of 0.05 s: generous (the workspace polls once a second); no time is asserted


def cli(*args: object) -> str:
    """Run the real command line in another process (what a researcher does in a second terminal)."""
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *[str(a) for a in args]], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def wait_for(pilot, condition) -> None:
    for _ in range(MAX_POLLS):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the workspace never showed the other process's change")


async def test_another_process_codes_and_imports_and_the_workspace_follows(make_app, study, tmp_path):
    path = study.path
    interview = tmp_path / "P09_T1.txt"
    interview.write_text("Interviewer: How was it?\nPat: Lonely at first. Then the peer team found me.\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, HomeScreen)
        cli("import", path, interview, "--participant", "P09", "--timepoint", "T1")
        await wait_for(pilot, lambda: "P09" in screen_text(app))

        view = await open_transcript(pilot, "P01/T2")
        start = view.text.index("Nobody tells")
        view.set_caret(start + 12, start)  # a selection the refresh must keep
        cli("apply", path, "--transcript", "P01/T2", "--code", "Feelings/Hope", "--match", "Harder.",
            "--coder", "Cal")  # fmt: skip
        await wait_for(pilot, lambda: any(view.text[c.start : c.end] == "Harder." for c in view.codings))
        assert isinstance(app.screen, CoderScreen)
        assert (view.anchor, view.cursor) == (start, start + 12)

        # a memo dialog open on a coding that the other process then removes
        view.set_caret(view.text.index("There is no supervision"))
        await pilot.press("m")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, MemoDialog)
        with study.read() as session:
            target = session.scalar(select(Coding.id).where(Coding.start == view.text.index("There is no supervision")))
        cli("uncode", path, target)
        await wait_for(pilot, lambda: all(c.id != target for c in view.codings))
        assert app.screen is dialog  # the open dialog survived the refresh
        await type_text(pilot, "mine")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CoderScreen)
        [note] = list(app._notifications)
        assert note.severity == "error" and "removed meanwhile" in note.message
        with study.read() as session:
            assert session.get(Coding, target) is None  # nothing recreated, nothing overwritten


async def test_a_coding_changed_elsewhere_is_not_overwritten(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T1")
        view.set_caret(view.text.index("The supervision was good."))
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MemoDialog)
        with study.read() as session:
            coding_id = session.scalar(select(Coding.id).where(Coding.start == view.text.index("The supervision")))
        cli("memo", study.path, "Ben's note", "--coding", coding_id)  # lands while the dialog is open
        await type_text(pilot, "Ann's note")
        await pilot.press("ctrl+s")
        await pilot.pause()
        [note] = list(app._notifications)
        assert "changed meanwhile" in note.message
        with study.read() as session:
            assert session.get(Coding, coding_id).memo == "Ben's note"


async def test_ctrl_z_undoes_my_step_not_a_colleagues_later_one(make_app, study):
    app = make_app()  # coder Ann
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T2")
        view.set_caret(view.text.index("Harder."))
        await pilot.press("shift+down", "c")
        await type_text(pilot, "hope")
        await pilot.press("enter")
        await pilot.pause()
        assert ("Feelings/Hope", "Harder.") in codings_of(study, "P01/T2")
        cli("apply", study.path, "--transcript", "P01/T2", "--code", "Barriers/Money worries", "--match",
            "I feel valued", "--coder", "Ben")  # fmt: skip
        await pilot.press("ctrl+z")
        await pilot.app.workers.wait_for_complete()  # undo and redo run in a worker
        await pilot.pause()
        assert ("Feelings/Hope", "Harder.") not in codings_of(study, "P01/T2")
        assert any(text.startswith("I feel valued") for _code, text in codings_of(study, "P01/T2", coder="Ben"))


async def test_back_up_from_the_palette_while_the_workspace_is_open(make_app, study, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T2")
        view.set_caret(view.text.index("Harder."))
        await pilot.press("shift+down", "c")
        await type_text(pilot, "hope")
        await pilot.press("enter")
        await pilot.pause()
        dest = tmp_path / "copy.wqda"
        await pilot.press("ctrl+p")
        await type_text(pilot, "Back up the project")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+u")
        await type_text(pilot, str(dest))
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert dest.exists()
    copy = open_project(Path(dest))
    try:
        assert ("Feelings/Hope", "Harder.") in codings_of(copy, "P01/T2")
    finally:
        copy.close()


async def test_the_file_alone_holds_the_newest_coding_after_an_idle_poll(make_app, study, tmp_path):
    """Copying the project file (without its -wal) while the workspace is open loses nothing once it
    has been idle for a poll or two."""
    import shutil

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T2")
        view.set_caret(view.text.index("Harder."))
        await pilot.press("shift+down", "c")
        await type_text(pilot, "hope")
        await pilot.press("enter")
        await pilot.pause()
        copy_path = tmp_path / "alone.wqda"

        def copied_has_it() -> bool:
            shutil.copyfile(study.path, copy_path)
            for suffix in ("-wal", "-shm"):
                Path(f"{copy_path}{suffix}").unlink(missing_ok=True)
            copy = open_project(copy_path)
            try:
                return ("Feelings/Hope", "Harder.") in codings_of(copy, "P01/T2")
            finally:
                copy.close()

        await wait_for(pilot, copied_has_it)


async def test_a_second_workspace_sees_the_first_ones_codes(study, tmp_path):
    first = WaveqdaApp(study, coder="Ann", config_dir=tmp_path / "a", remember=False)
    other = open_project(study.path)
    second = WaveqdaApp(other, coder="Ben", config_dir=tmp_path / "b", remember=False)
    try:
        async with second.run_test(size=SIZE) as pilot2:
            view2 = await open_transcript(pilot2, "P01/T2")
            async with first.run_test(size=SIZE) as pilot:
                view = await open_transcript(pilot, "P01/T2")
                view.set_caret(view.text.index("Harder."))
                await pilot.press("shift+down", "c")
                await type_text(pilot, "hope")
                await pilot.press("enter")
                await pilot.pause()
            await wait_for(pilot2, lambda: any(view2.text[c.start : c.end] == "Harder." for c in view2.codings))
    finally:
        other.close()


async def test_retrieve_refuses_to_act_on_a_segment_changed_since_it_was_listed(make_app, study):
    from app.tui.screens.retrieve import RetrieveScreen
    from models.codes import CodeTree
    from models.coding import set_coding_memo

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.poll_timer.pause()  # the change below lands between two polls, as it can in use
        with study.read() as session:
            supervision = CodeTree.load(session).find("Support/Supervision").id
        app.retrieve_code(supervision)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RetrieveScreen)
        segment = screen.current()
        assert segment is not None and not segment.key_quote
        set_coding_memo(study, "Ben", segment.id, "Ben's reading")  # another writer, after the list was shown
        await pilot.press("asterisk")
        await pilot.pause()
        [note] = list(app._notifications)
        assert "changed meanwhile" in note.message
        with study.read() as session:
            row = session.get(Coding, segment.id)
            assert not row.key_quote and row.memo == "Ben's reading"


async def test_home_shows_who_is_coding_now(make_app, study):
    """Issue 16: Home names the coders who changed something in the last minutes, another process's too."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, HomeScreen)
        cli("code", "add", study.path, "Solidarity", "--coder", "Priya")
        await wait_for(pilot, lambda: "coding now:" in screen_text(app) and "Priya" in screen_text(app))
