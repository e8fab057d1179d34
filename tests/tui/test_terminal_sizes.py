"""Issue 21 item 5: every screen usable at 80x24 (and at 200x60), read off the composed terminal as a person
would see it (``screen_text``: what ``tmux capture-pane -p`` shows)."""

from __future__ import annotations

import pytest

from app.tui.screens.base import AREAS, SHORT_LABELS
from app.tui.screens.dialogs import MemoDialog
from app.tui.screens.export_dialog import ExportDialog
from tests.tui.helpers import screen_text
from tests.tui.test_coder import open_transcript

SIZES = [(80, 24), (200, 60)]


def rows(app) -> list[str]:
    return screen_text(app).splitlines()


def assert_footer_clean(app) -> None:
    """The footer's last cells are the palette key itself: nothing scrolled under it shows through."""
    last = rows(app)[-1].rstrip()
    assert last.endswith("^p palette"), last


@pytest.mark.parametrize("size", SIZES)
async def test_every_area_names_all_areas_and_keeps_its_footer_clean(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        for key, fkey, _label in AREAS:
            await pilot.press(fkey.lower())
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            top = rows(app)[0]
            for other, other_fkey, other_label in AREAS:
                names = {other_label, SHORT_LABELS.get(other, other_label)}
                assert other_fkey in top and any(name in top for name in names), (key, top)
            assert "coder: Ann" in top or " Ann" in top
            assert_footer_clean(app)


@pytest.mark.parametrize("size", SIZES)
async def test_compare_shows_its_title_and_timepoint_headers(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        text = " ".join(screen_text(app).split())  # the title may wrap onto a second line
        assert "s switches the measure" in text
        assert "T1 After training" in text and "T2 4 months" in text


@pytest.mark.parametrize("size", SIZES)
async def test_export_dialog_save_as_and_options_are_on_screen(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert isinstance(app.screen, ExportDialog)
        text = screen_text(app)
        for needed in ("Anonymise names", "Save as", "study-themes.docx", "Key quotes only", "Large print",
                       "Max quotes", "Export (ctrl+s)", "Cancel (esc)"):  # fmt: skip
            assert needed in text, (needed, text)


@pytest.mark.parametrize("size", SIZES)
async def test_memo_dialog_says_how_to_save(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        view = await open_transcript(pilot, "P01/T1")
        view.set_caret(view.text.index("The supervision was good."))
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MemoDialog)
        text = screen_text(app)
        assert "ctrl+s saves the memo" in text and "Save (ctrl+s)" in text


@pytest.mark.parametrize("size", SIZES)
async def test_a_notification_never_covers_the_transcript(make_app, size):
    app = make_app()
    async with app.run_test(size=size, notifications=True) as pilot:
        await open_transcript(pilot, "P01/T1")
        await pilot.pause()
        before = rows(app)
        for message in ("Coding resized (ctrl+z to undo)", "A longer message " * 3):
            app.notify(message)
            await pilot.pause()
            after = rows(app)
            assert after[:-1] == before[:-1]  # only the footer row is used
            assert message.split()[0] in after[-1]


@pytest.mark.parametrize("size", SIZES)
async def test_case_sheet_matrix_and_query_box_are_on_screen(make_app, size):
    """Issue 15's screens at both sizes: the case sheet's header row, the matrix's two choices, title, rows and
    the cell's figures, and Retrieve's query box."""
    app = make_app()
    async with app.run_test(size=size) as pilot:
        app.poll_timer.pause()
        await pilot.press("f10")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "Case sheet: 3 participants × 0 attributes" in text and "Participant" in text
        assert "No attributes yet: i imports a CSV/XLSX sheet" in " ".join(text.split())
        assert_footer_clean(app)

        await pilot.press("f5", "m")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        choices = next(line for line in rows(app) if "Rows: Codes" in line)  # bordered at 200x60, not at 80x24
        assert "Columns: Timepoints" in choices
        text = " ".join(screen_text(app).split())
        assert "Codes × Timepoints: segments per cell" in text
        assert "Supervision" in text and "T1" in text and "T2" in text
        assert "segments · " in text and "coverage" in text  # the figures of the cell under the cursor
        assert_footer_clean(app)

        await pilot.press("f4")
        await pilot.pause()
        assert 'q: query, e.g. "Supervision" AND NOT' in screen_text(app)
        assert_footer_clean(app)
