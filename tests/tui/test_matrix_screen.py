"""Issue 15: matrix coding in the workspace (Compare, m): rows and columns chosen among the domain's
dimensions, the cell measures, heat-map colours from the theme, and a cell opening its segments in Retrieve.
Driven with Pilot through the real app on a real project file."""

from __future__ import annotations

from collections.abc import Callable

from textual.color import Color
from textual.widgets import DataTable, Select

from app.tui.screens.compare import heat
from app.tui.screens.matrix import MatrixScreen
from app.tui.screens.retrieve import RetrieveScreen
from models.imports import store_attribute_table
from models.queries.crosstab import crosstab
from tests.tui.helpers import screen_text

SIZE = (120, 40)


async def wait_for(pilot, condition: Callable[[], bool], what: str) -> None:
    for _ in range(400):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"gave up waiting for {what}")


async def open_matrix(pilot) -> MatrixScreen:
    pilot.app.poll_timer.pause()
    await pilot.press("f5")
    await pilot.pause()
    await pilot.press("m")
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "table", None) is not None, "the matrix")
    screen = pilot.app.screen
    assert isinstance(screen, MatrixScreen)
    return screen


async def choose(pilot, screen: MatrixScreen, selector: str, spec: str) -> None:
    before = screen._generation
    screen.query_one(selector, Select).value = spec
    await wait_for(pilot, lambda: screen._generation > before and screen.table is not None, "recompute")
    await wait_for(pilot, lambda: screen.table.columns_dimension == screen.columns_by, "the new matrix")


async def goto_cell(pilot, screen: MatrixScreen, row: str, column: str) -> None:
    assert screen.table is not None
    r, c = screen.table.rows.index(row), screen.table.columns.index(column)
    table = screen.query_one(DataTable)
    table.cursor_coordinate = table.cursor_coordinate._replace(row=r, column=c + 1)
    await pilot.pause()


def background(screen: MatrixScreen, row: str, column: str) -> str:
    assert screen.table is not None
    r, c = screen.table.rows.index(row), screen.table.columns.index(column)
    cell = screen.query_one(DataTable).get_cell_at((r, c + 1))
    return cell.style.split(" on ")[1]


async def test_matrix_cell_opens_its_segments_in_retrieve(make_app, study):
    store_attribute_table(study, {"P01": {"site": "North"}, "P02": {"site": "South"}, "P03": {"site": "North"}},
                          "tester", "sites.csv")  # fmt: skip
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        assert (screen.rows_by, screen.columns_by) == ("codes", "timepoints")
        options = [spec for spec, _label in screen.dimensions]
        assert options == ["codes", "timepoints", "participants", "coders", "attribute:site"]
        await choose(pilot, screen, "#matrix-columns", "attribute:site")
        with study.read() as session:
            expected = crosstab(session, "codes", "attribute:site", words=True)
        assert screen.table == expected  # the domain's cells, as waveqda matrix computes them
        text = screen_text(app)
        assert "Codes × Attribute: site: segments per cell" in text and "North" in text and "South" in text

        # heat map: the theme's surface for an empty cell, blended toward its primary for the fullest
        colours = app.get_css_variables()
        base, hot = Color.parse(colours["surface"]), Color.parse(colours["primary"])
        top = max(c.segments for row in expected.cells for c in row)
        assert background(screen, "Support/Supervision", "North") == heat(2, top, base, hot)
        assert background(screen, "Feelings/Hope", "North") == base.hex
        await pilot.press("f9")  # the high-contrast theme: the same cells, its colours
        await pilot.pause()
        assert app.get_css_variables()["surface"] != colours["surface"]
        assert background(screen, "Feelings/Hope", "North") == Color.parse(app.get_css_variables()["surface"]).hex

        # the measures cycle: participants, words, % coverage (with the cell's figures in the line below)
        cell = expected.cells[expected.rows.index("Support/Supervision")][expected.columns.index("North")]
        await goto_cell(pilot, screen, "Support/Supervision", "North")
        for measure, shown in [
            ("participants", "1"),
            ("words", str(cell.words)),
            ("coverage", f"{cell.coverage * 100:.2f}%" if cell.coverage < 0.01 else f"{cell.coverage * 100:.1f}%"),
        ]:
            await pilot.press("s")
            await pilot.pause()
            assert screen.measure == measure
            assert (
                str(screen.query_one(DataTable).get_cell_at((expected.rows.index("Support/Supervision"), 1))).strip()
                == shown
            )
        assert cell.words == 10  # "The supervision was good." + "There is no supervision at all."
        assert f"2 segments · 1 participants · 10 words · {cell.coverage * 100:.1f}% coverage" in screen_text(app)

        # Enter on the cell: its codings in Retrieve
        await pilot.press("enter")
        retrieve = app.screen
        assert isinstance(retrieve, RetrieveScreen)
        await wait_for(pilot, lambda: len(retrieve.segments) == 2, "the cell's segments")
        assert retrieve.mode == "cell" and sorted(s.id for s in retrieve.segments) == cell.segment_ids
        assert [s.text for s in retrieve.segments] == ["The supervision was good.", "There is no supervision at all."]
        assert "Matrix cell Support/Supervision × North" in screen_text(app)

        # back in Compare the matrix is as it was left; an empty cell says so in one line
        await pilot.press("f5")
        await pilot.pause()
        assert app.screen is screen
        await goto_cell(pilot, screen, "Feelings/Hope", "North")
        await pilot.press("enter")
        await pilot.pause()
        [note] = list(app._notifications)
        assert note.message == "No codings at Feelings/Hope × North"
        assert app.screen is screen


async def test_matrix_rows_and_columns_swap_and_never_repeat(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        await choose(pilot, screen, "#matrix-columns", "coders")
        assert screen.table.columns == ("Ann", "Ben")
        before = screen._generation
        await pilot.press("x")
        await wait_for(pilot, lambda: screen._generation > before and screen.table.rows_dimension == "coders", "swap")
        assert (screen.rows_by, screen.columns_by) == ("coders", "codes")
        # choosing the columns' dimension as rows swaps them rather than crossing a dimension with itself
        await choose(pilot, screen, "#matrix-rows", "codes")
        assert (screen.rows_by, screen.columns_by) == ("codes", "coders")


async def test_matrix_exports_what_it_shows(make_app, study, tmp_path):
    """e in the matrix: the export dialog with this matrix's rows, columns and measure; written in the
    dialog's worker through the same exporter as ``waveqda matrix --output``, and read back."""
    import csv

    from textual.widgets import Input, OptionList

    from app.tui.screens.export_dialog import KINDS, ExportDialog

    out = tmp_path / "matrix.csv"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        await choose(pilot, screen, "#matrix-columns", "participants")
        await pilot.press("s")  # participants per cell
        await pilot.pause()
        assert screen.measure == "participants"
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        assert dialog.kind.key == "matrix-coding-docx"
        assert "rows codes, columns participants, participants per cell" in screen_text(app)
        dialog.query_one("#exp-kind", OptionList).highlighted = [k.key for k in KINDS].index("matrix-coding-csv")
        await pilot.pause()
        assert dialog.kind.key == "matrix-coding-csv"
        dialog.query_one("#exp-path", Input).value = str(out)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert dialog.written == out
    with out.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    with study.read() as session:
        expected = crosstab(session, "codes", "participants")
    assert rows[0] == ["Codes", *expected.columns]
    assert [[int(v) for v in row[1:]] for row in rows[1:]] == [[c.participants for c in r] for r in expected.cells]
