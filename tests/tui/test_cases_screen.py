"""Issue 15: the case sheet (participants × attributes) in the workspace, driven with Pilot on a real project:
edit in place (typed), undo, a conflicting writer refused, CSV/XLSX export and import from the screen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.tui.screens.cases import CasesScreen, CellEditor
from app.tui.widgets.sheet_grid import SheetGrid
from models.case_sheet import case_sheet, set_case_value
from models.imports import store_attribute_table
from tests.tui.helpers import screen_text, type_text

SIZE = (120, 36)
TABLE = {
    "P01": {"site": "North", "age": "34", "joined": "2025-03-01"},
    "P02": {"site": "South", "age": "51", "joined": "2024-11-15"},
    "P03": {"site": "North", "age": "29", "joined": ""},
}


async def wait_for(pilot, condition: Callable[[], bool], what: str) -> None:
    """Pause until ``condition`` holds (workers post their results as messages), with a generous cap."""
    for _ in range(400):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"gave up waiting for {what}")


def stored(project, participant: str, attribute: str) -> str:
    with project.read() as session:
        return case_sheet(session).value(participant, attribute)


async def open_sheet(pilot) -> CasesScreen:
    app = pilot.app
    app.poll_timer.pause()  # the test says when other writers act; the poll would reload at its own pace
    await pilot.press("f10")
    await wait_for(pilot, lambda: isinstance(app.screen, CasesScreen) and app.screen.sheet is not None, "sheet")
    screen = app.screen
    assert isinstance(screen, CasesScreen)
    return screen


def cell_text(screen: CasesScreen, participant: str, attribute: str) -> str:
    assert screen.sheet is not None
    row = [r.participant for r in screen.sheet.rows].index(participant)
    column = 1 + [a.name for a in screen.sheet.attributes].index(attribute)
    return screen.query_one(SheetGrid).cell(row, column)


async def goto(pilot, screen: CasesScreen, participant: str, attribute: str) -> None:
    assert screen.sheet is not None
    row = [r.participant for r in screen.sheet.rows].index(participant)
    column = 1 + [a.name for a in screen.sheet.attributes].index(attribute)
    screen.query_one(SheetGrid).cursor = (row, column)
    await pilot.pause()


async def test_case_sheet_edits_a_typed_value_in_place_and_ctrl_z_undoes_it(make_app, study):
    store_attribute_table(study, TABLE, "tester", "attributes.csv")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sheet(pilot)
        text = screen_text(app)
        assert "Case sheet: 3 participants × 3 attributes" in text and "F10 Cases" in text
        assert cell_text(screen, "P01", "age") == "34"

        # a number attribute refuses text as it is typed; Enter does nothing while it is wrong
        await goto(pilot, screen, "P01", "age")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, CellEditor)
        await pilot.press("ctrl+u")
        await type_text(pilot, "thirty")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CellEditor)
        assert "is a number; 'thirty' is not" in screen_text(app)
        await pilot.press("ctrl+u")
        await type_text(pilot, "35")
        await pilot.press("enter")
        await wait_for(pilot, lambda: cell_text(screen, "P01", "age") == "35", "the edited cell")
        assert stored(study, "P01", "age") == "35"

        # a choice attribute learns a new value typed into it
        await goto(pilot, screen, "P03", "site")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+u")
        await type_text(pilot, "East")
        await pilot.press("enter")
        await wait_for(pilot, lambda: cell_text(screen, "P03", "site") == "East", "the new choice")
        with study.read() as session:
            site = next(a for a in case_sheet(session).attributes if a.name == "site")
        assert site.choices == ("East", "North", "South")

        # ctrl+z takes back the last edit only (one step), then the one before
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: cell_text(screen, "P03", "site") == "North", "the undone choice")
        assert stored(study, "P03", "site") == "North" and stored(study, "P01", "age") == "35"
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: cell_text(screen, "P01", "age") == "34", "the undone number")
        assert stored(study, "P01", "age") == "34"


async def test_case_sheet_refuses_an_edit_of_a_cell_another_writer_changed(make_app, study):
    store_attribute_table(study, TABLE, "tester", "attributes.csv")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sheet(pilot)
        set_case_value(study, "Ben", "P02", "site", "West")  # another writer, after the sheet was read
        await goto(pilot, screen, "P02", "site")
        assert cell_text(screen, "P02", "site") == "South"  # what this workspace still shows
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+u")
        await type_text(pilot, "North")
        await pilot.press("enter")
        await wait_for(pilot, lambda: cell_text(screen, "P02", "site") == "West", "the other writer's value")
        assert stored(study, "P02", "site") == "West"  # never silently overwritten
        [note] = list(app._notifications)
        assert note.severity == "error"
        assert note.message == "P02's site was changed by someone else meanwhile (now 'West')."


async def test_case_sheet_exports_and_imports_xlsx_and_csv(make_app, study, tmp_path: Path):
    from openpyxl import load_workbook

    store_attribute_table(study, TABLE, "tester", "attributes.csv")
    app = make_app()
    out = tmp_path / "cases.xlsx"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sheet(pilot)
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("ctrl+u")
        await type_text(pilot, str(out))
        await pilot.press("enter")
        await wait_for(pilot, out.exists, "the exported workbook")
        rows = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
        assert rows[0] == ("participant", "age", "joined", "site")  # the sheet's column order
        p01 = next(r for r in rows if r[0] == "P01")
        assert p01[1] == 34 and p01[2].date().isoformat() == "2025-03-01" and p01[3] == "North"  # typed cells
        with study.read() as session:
            assert [r[0] for r in rows[1:]] == [r.participant for r in case_sheet(session).rows]

        # someone edits the sheet outside and it comes back in as one undoable step
        sheet = tmp_path / "changed.csv"
        sheet.write_text("participant,site,age\nP01,South,36\nP02,,52\n", encoding="utf-8")
        await pilot.press("i")
        await pilot.pause()
        await type_text(pilot, str(sheet))
        await pilot.press("enter")
        await wait_for(pilot, lambda: cell_text(screen, "P02", "age") == "52", "the imported values")
        assert (stored(study, "P01", "site"), stored(study, "P01", "age")) == ("South", "36")
        assert stored(study, "P02", "site") == "South"  # an empty cell leaves the value as it was
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: cell_text(screen, "P02", "age") == "51", "the undone import")
        assert (stored(study, "P01", "site"), stored(study, "P01", "age")) == ("North", "34")

        # a file that is not a sheet: one line naming it, nothing changed
        bad = tmp_path / "broken.xlsx"
        bad.write_bytes(b"not a workbook")
        await pilot.press("i")
        await pilot.pause()
        await type_text(pilot, str(bad))
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: any("broken.xlsx: cannot read it" in n.message for n in app._notifications), "error"
        )
        assert stored(study, "P01", "age") == "34"


async def test_a_click_moves_to_a_cell_and_a_second_click_edits_it(make_app, study):
    store_attribute_table(study, TABLE, "tester", "attributes.csv")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sheet(pilot)
        grid = screen.query_one(SheetGrid)
        assert screen.sheet is not None
        row = [r.participant for r in screen.sheet.rows].index("P03")
        column = 1 + [a.name for a in screen.sheet.attributes].index("site")
        x = grid.widths[0] + 2 + grid._starts[column - 1] + 1
        await pilot.click(SheetGrid, offset=(x, row + 1))  # the header is the grid's first line
        await pilot.pause()
        assert grid.cursor == (row, column) and not isinstance(app.screen, CellEditor)
        await pilot.click(SheetGrid, offset=(x, row + 1))
        await pilot.pause()
        assert isinstance(app.screen, CellEditor)
        assert app.screen.participant == "P03" and app.screen.attribute.name == "site"
