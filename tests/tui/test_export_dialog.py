"""The export dialog: a codings CSV written through the dialog, with its filters, checked in the file."""

from __future__ import annotations

import csv
from pathlib import Path

from textual.widgets import Input, OptionList, ProgressBar, SelectionList

from app.tui.screens.dialogs import ConfirmDialog
from app.tui.screens.export_dialog import KINDS, ExportDialog
from models.store import Project
from models.transcripts import find_transcript

SIZE = (120, 36)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


async def open_dialog(app, pilot) -> tuple[ExportDialog, list]:
    answers: list = []
    app.push_screen(ExportDialog(), answers.append)
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, ExportDialog)
    return dialog, answers


async def test_codings_csv_through_the_dialog(study: Project, make_app, tmp_path: Path) -> None:
    out = tmp_path / "exports" / "codings.csv"
    out.parent.mkdir()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        dialog, answers = await open_dialog(app, pilot)
        # the kind list has focus: move down to "Codings table (CSV)"; the file name follows the kind
        assert dialog.query_one("#exp-kind", OptionList).has_focus
        await pilot.press(*["down"] * [k.key for k in KINDS].index("codings-csv"))
        await pilot.pause()
        assert dialog.kind.key == "codings-csv"
        assert dialog.query_one("#exp-path", Input).value.endswith("-codings.csv")
        # only T1, only the Support theme (its sub-codes come with it)
        dialog.query_one("#exp-timepoints", SelectionList).deselect("T2")
        dialog.query_one("#exp-codes", SelectionList).select("Support")
        dialog.query_one("#exp-path", Input).value = str(out)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert dialog.written == out and out.exists()
        assert str(out) in str(dialog.query_one("#exp-status").render())
        bar = dialog.query_one("#exp-progress", ProgressBar)
        assert bar.display and bar.percentage == 1

        rows = read_csv(out)
        assert {(r["transcript"], r["code"], r["coder"]) for r in rows} == {
            ("P01/T1", "Support/Supervision", "Ben"),
            ("P01/T1", "Support/Peer support", "Ann"),
        }
        with study.read() as session:
            text = find_transcript(session, "P01/T1").text
        for row in rows:
            assert row["text"] == text[int(row["start"]) : int(row["end"])]
            assert row["timepoint"] == "T1"

        # exporting again over the same file asks first
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(read_csv(out)) == 2
        # Esc closes the dialog and answers the file written
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ExportDialog)
        assert answers == [out]


async def test_a_wrong_suffix_or_no_timepoint_is_explained_and_nothing_is_written(
    study: Project, make_app, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        dialog, _answers = await open_dialog(app, pilot)  # themes report (Word) by default
        dialog.query_one("#exp-path", Input).value = str(tmp_path / "report.csv")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "written as .docx" in str(dialog.query_one("#exp-status").render())
        dialog.query_one("#exp-path", Input).value = str(tmp_path / "report.docx")
        dialog.query_one("#exp-timepoints", SelectionList).deselect_all()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "at least one timepoint" in str(dialog.query_one("#exp-status").render())
        assert not list(tmp_path.glob("report.*"))
        assert any(n.severity == "error" for n in app._notifications)
        assert isinstance(app.screen, ExportDialog) and not dialog.running


async def test_anonymise_is_on_and_visible_at_80x24_and_refuses_unreviewed_names(
    study: Project, make_app, tmp_path: Path
) -> None:
    """At 80x24 the Anonymise box is on and on screen before anything is scrolled; an export whose text holds
    a name nobody reviewed ("Sandra" in P01/T1) is refused with no file, and written once the researcher ticks
    "Even with unreviewed names" (the report's first page then says so)."""
    from textual.widgets import Checkbox

    from models.coding import apply_codes

    with study.read() as session:
        text = find_transcript(session, "P01/T1").text
    start = text.index("Sandra was kind.")
    apply_codes(study, "tester", "P01/T1", ["Support/Peer support"], "Ann", start, start + len("Sandra was kind."))
    out = tmp_path / "themes.docx"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog, _answers = await open_dialog(app, pilot)
        box = dialog.query_one("#exp-anonymise", Checkbox)
        assert box.value is True
        region = box.region
        assert region.y + region.height <= 24 and region.x + region.width <= 80 and region.height > 0
        assert box not in dialog.query_one("#exp-form").query(Checkbox)  # above the scrolling part of the form
        dialog.query_one("#exp-path", Input).value = str(out)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(dialog.query_one("#exp-status").render())
        assert "not reviewed (Sandra)" in status and "F7" in status
        assert not out.exists() and not dialog.running
        dialog.query_one("#exp-accept-risk", Checkbox).value = True
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert dialog.written == out and out.exists()
    import docx

    first_page = []
    for block in docx.Document(str(out)).element.body.iterchildren():
        first_page.append("".join(block.itertext()))
        if block.xpath(".//w:br[@w:type='page']"):
            break
    assert "--accept-risk: 1 unreviewed name candidate(s)" in " ".join(first_page)
