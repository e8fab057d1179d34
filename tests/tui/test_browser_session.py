"""The workspace as ``waveqda serve`` starts it for a logged-in account (issue 18), through the real app: the
login is the coder and cannot be changed, a reader's change is refused in one line and nothing is stored,
and nothing reads or writes the server's own files (exports go to the browser as downloads)."""

from __future__ import annotations

from pathlib import Path

from app.tui.screens.coder import CoderScreen
from app.tui.served import BrowserSession
from models.schema import Coder, Coding

SIZE = (120, 36)


def session(tmp_path: Path, role: str) -> BrowserSession:
    downloads = tmp_path / f"downloads-{role}"
    downloads.mkdir()
    return BrowserSession("rita" if role == "reader" else "cleo", role, downloads)


def said(app, words: str) -> bool:
    """Whether a notification on screen says ``words``."""
    return any(words in note.message for note in app._notifications)


def codings_count(study) -> int:
    with study.read() as s:
        return s.query(Coding).count()


async def code_first_sentence(pilot) -> None:
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CoderScreen)
    await pilot.press("down", "down", "c")
    await pilot.pause()
    await pilot.press("enter")  # the first code offered
    await pilot.pause()


async def test_a_readers_change_is_refused_in_one_line(make_app, study, tmp_path) -> None:
    before = codings_count(study)
    app = make_app(coder=None, browser=session(tmp_path, "reader"))
    async with app.run_test(size=SIZE) as pilot:
        assert app.coder == "rita"
        await code_first_sentence(pilot)
        assert said(app, "rita is a reader in this project: changes are refused")
    assert codings_count(study) == before


async def test_a_coder_codes_under_the_login_and_cannot_rename_themselves(make_app, study, tmp_path) -> None:
    before = codings_count(study)
    app = make_app(coder=None, browser=session(tmp_path, "coder"))
    async with app.run_test(size=SIZE) as pilot:
        assert app.coder == "cleo"
        app.ask_coder()  # what "Who is coding…" would do
        await pilot.pause()
        assert said(app, "you code as cleo")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("Who is coding" in title for title in titles) and "Log out (cleo)" in titles
        await code_first_sentence(pilot)
    assert codings_count(study) == before + 1
    with study.read() as s:
        newest = s.query(Coding).order_by(Coding.id.desc()).first()
        assert newest is not None and s.get(Coder, newest.coder_id).name == "cleo"


async def test_server_files_are_not_the_browsers(make_app, study, tmp_path) -> None:
    browser = session(tmp_path, "coder")
    app = make_app(coder=None, browser=browser)
    async with app.run_test(size=SIZE) as pilot:
        app.action_merge_project()
        await pilot.pause()
        assert said(app, "merging another project file is not available")
        app.ask_backup()
        await pilot.pause()
        assert said(app, "a backup is not available")
        await pilot.press("i")  # import on Home
        await pilot.pause()
        assert said(app, "importing files is not available")
    assert browser.download_path("report.docx") == browser.downloads / "report.docx"
    for bad in ("../report.docx", "/etc/passwd", "sub/report.docx", ".."):
        try:
            browser.download_path(bad)
        except Exception as exc:  # noqa: BLE001 - the one-line refusal is what is checked
            assert "give a file name only" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted as a download name")
