"""The names review screen on the imported sample study: scan, accept, reject, map, edit, all by key."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from textual.widgets import DataTable, Input

from app.tui.app import WaveqdaApp
from app.tui.screens.names_review import EntryDialog, NamesReviewScreen
from models import names
from models.schema import NameCandidate, NameEntry
from models.store import Project
from tests.tui.helpers import type_text

SIZE = (120, 36)


def make(project: Project, tmp_path: Path) -> WaveqdaApp:
    return WaveqdaApp(project, coder="Ann", config_dir=tmp_path / "config", remember=False)


async def goto(pilot, text: str) -> None:
    """Put the cursor on the pending candidate with this text."""
    screen = pilot.app.screen
    index = next(i for i, row in enumerate(screen.data.pending) if row.text == text)
    screen.candidates_table.move_cursor(row=index)
    await pilot.pause()
    assert screen.current().text == text


def candidate(project: Project, text: str) -> NameCandidate:
    with project.read() as session:
        return session.scalar(select(NameCandidate).where(NameCandidate.text == text))


def entry(project: Project, term: str) -> NameEntry | None:
    with project.read() as session:
        return session.scalar(select(NameEntry).where(NameEntry.term == term))


async def test_scan_then_accept_reject_map_and_edit_by_key(sample_project: Project, tmp_path: Path) -> None:
    app = make(sample_project, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(NamesReviewScreen())
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, NamesReviewScreen) and not screen.data.pending
        loading: list[bool] = []
        screen.watch(screen.candidates_table, "loading", lambda value: loading.append(value), init=False)
        await pilot.press("s")  # scan in a worker, with a loading indicator meanwhile
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert loading == [True, False] and not screen.scanning
        with sample_project.read() as session:
            pending = [r.text for r in names.candidate_rows(session, "pending")]
        assert {"Jamie", "Porter", "Okafor", "Hartwell", "Hartwell ward", "Brookfield"} <= set(pending)
        assert [r.text for r in screen.data.pending] == pending
        assert screen.candidates_table.row_count == len(pending)

        # the context panel shows the candidate's own turn, with the candidate marked
        await goto(pilot, "Jamie")
        context = str(screen.query_one("#names-context-text").render())
        assert "Jamie" in context and "turn" in context

        # a: accept Jamie as a new register entry
        await pilot.press("a")
        await pilot.pause()
        jamie = entry(sample_project, "Jamie")
        assert jamie is not None and jamie.replacement == "[Person A]"
        assert candidate(sample_project, "Jamie").status == "accepted"
        assert "Jamie" not in [r.text for r in screen.data.pending]

        # r: reject "Porter" ("Porter for twenty-two years": a job; remembered as rejected)
        await goto(pilot, "Porter")
        await pilot.press("r")
        await pilot.pause()
        assert candidate(sample_project, "Porter").status == "rejected"

        # m: map "Hartwell ward" to the entry accepted for "Hartwell"
        await goto(pilot, "Hartwell")
        await pilot.press("a")
        await pilot.pause()
        await goto(pilot, "Hartwell ward")
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("down", "enter")  # entries in register order: Jamie, Hartwell
        await pilot.pause()
        hartwell = entry(sample_project, "Hartwell")
        assert hartwell.variants == ["Hartwell ward"]
        mapped = candidate(sample_project, "Hartwell ward")
        assert mapped.status == "accepted" and mapped.entry_id == hartwell.id

        # e: change category and replacement before accepting
        await goto(pilot, "Brookfield")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EntryDialog)
        dialog = app.screen
        next(b for b in dialog.query("RadioButton") if b.name == "place").value = True
        await pilot.pause()
        dialog.query_one("#entry-replacement", Input).focus()
        await type_text(pilot, "Town1")
        await pilot.press("ctrl+s")
        await pilot.pause()
        brookfield = entry(sample_project, "Brookfield")
        assert brookfield.category == "place" and brookfield.replacement == "Town1"

        # every decision is its own undoable step: ctrl+z brings Brookfield back to the list
        await pilot.press("ctrl+z")
        await pilot.app.workers.wait_for_complete()  # undo and redo run in a worker
        await pilot.pause()
        assert entry(sample_project, "Brookfield") is None
        assert "Brookfield" in [r.text for r in screen.data.pending]

        # the register tab lists the entries
        await pilot.press("t")
        await pilot.pause()
        register = screen.query_one("#names-register", DataTable)
        assert register.has_focus and register.row_count == 2
        assert screen.current() is None  # candidate keys do nothing on the register tab
        await pilot.press("a")
        await pilot.pause()
        assert candidate(sample_project, "Brookfield").status == "pending"


async def test_new_kinds_of_candidate_are_reviewed_like_names(project: Project, tmp_path: Path) -> None:
    """An e-mail address, a phone number, a postcode, a date of birth and a misspelt name in a small study."""
    from models.transcripts import store_transcript
    from tests.conftest import make_parsed

    speech = (
        "Write to sam.lee@example.org or ring 07700 900123. I live at TH4 7QX. I was born on 2 June 1961. "
        "My supervisor is Okonkwo, and Okonkwo is kind. Okonkow, sorry, Okonkwo again."
    )
    with project.change("tester", "import", "import", undoable=False) as session:
        turns = [("Interviewer", "Tell me about yourself."), ("Sam", speech)]
        store_transcript(session, make_parsed(turns, "P01_T1.txt"), "P01", "T1", "tester")
    names.scan(project, "Ann")
    app = make(project, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(NamesReviewScreen())
        await pilot.pause()
        screen = app.screen
        kinds = {row.text: row.category for row in screen.data.pending}
        assert kinds == {
            "sam.lee@example.org": "email",
            "07700 900123": "phone",
            "TH4 7QX": "postcode",
            "2 June 1961": "birthdate",
            "Okonkwo": "person",
            "Okonkow": "person",
            "Sam": "person",
        }
        await goto(pilot, "07700 900123")
        context = str(screen.query_one("#names-context-text").render())
        assert "phone number" in context and "[Phone …]" in context
        await pilot.press("a")
        await pilot.pause()
        assert entry(project, "07700 900123").replacement == "[Phone 1]"
        await goto(pilot, "Okonkow")
        assert "spelling of 'Okonkwo'" in str(screen.query_one("#names-context-text").render())
        await pilot.press("a")  # accepting the spelling accepts its term too: one entry, one pseudonym
        await pilot.pause()
        okonkwo = entry(project, "Okonkwo")
        assert okonkwo is not None and okonkwo.variants == ["Okonkow"]
        assert "Okonkwo" not in [r.text for r in screen.data.pending]


async def test_map_with_an_empty_register_explains_itself(study: Project, tmp_path: Path) -> None:
    names.scan(study, "Ann")  # the small study: only the participants' own names
    app = make(study, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(NamesReviewScreen())
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, NamesReviewScreen)
        assert any("register is empty" in n.message for n in app._notifications)


def test_names_review_snapshot(sample_project: Project, tmp_path: Path, snap_compare) -> None:
    names.add_entry(sample_project, "Ann", "Sandra", ["Sandy"], "person", "[Colleague A]")
    names.scan(sample_project, "Ann")  # "Sandrah" is proposed as a spelling of Sandra

    async def open_screen(pilot) -> None:
        pilot.app.push_screen(NamesReviewScreen())
        await pilot.pause()
        await goto(pilot, "Sandrah")

    assert snap_compare(make(sample_project, tmp_path), terminal_size=SIZE, run_before=open_screen)
