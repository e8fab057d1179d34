"""The workspace imports what ``waveqda import`` does: a REFI-QDA project chosen in the import dialog."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.tui.screens.home import HomeScreen
from exporters.refi_export import export_qdpx
from models.codebook import add_code
from models.coding import apply_codes
from models.schema import Coding, Timepoint, Transcript
from models.store import Project, create_project
from models.transcripts import find_transcript, store_transcript
from tests.conftest import make_parsed, require_shared
from tests.tui.helpers import type_text

SIZE = (120, 36)


def other_project_export(tmp_path: Path) -> Path:
    """A colleague's project with one coded interview (P07 at T2), exported as .qdpx."""
    other = create_project(tmp_path / "colleague.wqda", name="Colleague")
    turns = [("Interviewer", "How is the new team?"), ("Kim", "The new team listens to me. I feel valued.")]
    with other.change("kim", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed(turns, "P07_T2.txt"), "P07", "T2", "kim")
    add_code(other, "kim", "Feeling valued")
    with other.read() as session:
        text = find_transcript(session, "P07/T2").text
    start = text.index("I feel valued.")
    apply_codes(other, "kim", "P07/T2", ["Feeling valued"], "Kim", start, start + len("I feel valued."))
    out = tmp_path / "colleague.qdpx"
    export_qdpx(other, out)
    other.close()
    return out


async def test_a_qdpx_chosen_in_the_import_dialog_is_imported(make_app, study: Project, tmp_path: Path) -> None:
    package = other_project_export(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        await pilot.click("#import-path")
        await type_text(pilot, str(package))
        await pilot.press("enter", "ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert "P07" in app.screen.grid.participants
    with study.read() as session:
        transcript = find_transcript(session, "P07/T2")
        assert "The new team listens to me." in transcript.text
        codings = session.scalar(select(func.count()).select_from(Coding).where(Coding.transcript_id == transcript.id))
        assert codings == 1


async def test_an_nvivo_project_is_placed_with_the_dialog_s_options(make_app, study: Project) -> None:
    """As ``waveqda import P nvivo.qdpx --timepoint T1 --participant-from-name``: the same codings arrive."""
    sample = require_shared("refi-qda", "samples", "nvivo-win-12.6_oltas.qdpx")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        await pilot.click("#import-path")
        await type_text(pilot, str(sample))
        await pilot.press("enter")
        await pilot.click("#import-timepoint")
        await type_text(pilot, "T1")
        await pilot.click("#import-names")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
    with study.read() as session:
        rows = session.execute(
            select(Transcript.source_name, Timepoint.key, func.count(Coding.id))
            .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
            .join(Coding, Coding.transcript_id == Transcript.id)
            .where(Transcript.source_format == "qdpx")
            .group_by(Transcript.id)
        ).all()
    assert [(key, n) for _name, key, n in rows] == [("T1", 97)]
