"""Codebook, retrieve, compare, help and first run, driven with Pilot and checked in the database."""

from __future__ import annotations

import json

from sqlalchemy import select
from textual.widgets import DataTable, OptionList, Select

from app.tui.app import WaveqdaApp
from app.tui.screens.codebook import CodebookScreen
from app.tui.screens.coder import CoderScreen
from app.tui.screens.compare import CompareScreen
from app.tui.screens.help import HelpScreen
from app.tui.screens.home import HomeScreen
from app.tui.screens.retrieve import RetrieveScreen
from app.tui.widgets.transcript_view import TranscriptView
from models.schema import Code, Coding
from tests.tui.helpers import plain, type_text, view_text

SIZE = (120, 36)


async def goto_code_row(pilot, name: str) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, CodebookScreen)
    index = next(i for i, r in enumerate(screen.rows) if r.name == name)
    screen.query_one(DataTable).move_cursor(row=index)
    await pilot.pause()


async def test_rename_and_merge_in_codebook_update_the_transcript(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, CodebookScreen)
        await goto_code_row(pilot, "Supervision")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("ctrl+u")  # clear the field (Input: delete to start)
        await type_text(pilot, "Supervision sessions")
        await pilot.press("enter")
        await pilot.pause()
        with study.read() as session:
            assert session.scalar(select(Code).where(Code.name == "Supervision sessions")) is not None
        # merge "Peer support" into "Supervision sessions", confirming
        await goto_code_row(pilot, "Peer support")
        await pilot.press("M")
        await pilot.pause()
        await type_text(pilot, "sessions")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        with study.read() as session:
            peer = session.scalar(select(Code).where(Code.name == "Peer support"))
            target = session.scalar(select(Code).where(Code.name == "Supervision sessions"))
            assert peer.archived and peer.merged_into_id == target.id
            assert not session.scalars(select(Coding).where(Coding.code_id == peer.id)).all()
        # the transcript shows the new name where "Peer support" was
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        view = app.screen.query_one(TranscriptView)
        drawn = view_text(view)
        assert "Supervision" in drawn and "Peer support" not in drawn, drawn
        # undo the merge from here: the codebook follows
        await pilot.press("ctrl+z")
        await pilot.app.workers.wait_for_complete()  # undo and redo run in a worker
        await pilot.pause()
        with study.read() as session:
            assert not session.scalar(select(Code).where(Code.name == "Peer support")).archived


async def test_reorder_and_history(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await goto_code_row(pilot, "Supervision")
        await pilot.press("shift+up")
        await pilot.pause()
        with study.read() as session:
            sup = session.scalar(select(Code).where(Code.name == "Supervision"))
            assert sup.position == 0
        await pilot.press("h")
        await pilot.pause()
        assert "Moved code" in plain(app.screen.body)
        await pilot.press("escape")


async def test_retrieve_a_codes_segments_at_T2_and_jump(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        assert isinstance(app.screen, RetrieveScreen)
        await pilot.press("p")
        await pilot.pause()
        await type_text(pilot, "support")
        await pilot.press("enter")  # "Support" (the theme, with its sub-codes)
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert {s.timepoint for s in screen.segments} == {"T1", "T2"}
        screen.query_one("#f-timepoint", Select).value = "T2"
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.segments and {s.timepoint for s in screen.segments} == {"T2"}
        segment = screen.current()
        assert segment is not None and segment.text == "There is no supervision at all."
        screen.query_one(OptionList).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CoderScreen)
        view = app.screen.query_one(TranscriptView)
        assert view.text[slice(*view.selection)] == "There is no supervision at all."
        await pilot.press("escape", "escape")  # clear selection, back to retrieve
        await pilot.pause()
        assert isinstance(app.screen, RetrieveScreen)
        await pilot.press("asterisk")
        await pilot.pause()
        with study.read() as session:
            assert session.get(Coding, segment.id).key_quote


async def test_recode_from_retrieve_is_one_undoable_step(make_app, study, db_state):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        await type_text(pilot, "supervision")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RetrieveScreen)
        segment = screen.current()
        assert segment is not None
        before = db_state(study)
        screen.query_one(OptionList).focus()
        await pilot.press("r")
        await pilot.pause()
        await type_text(pilot, "hope")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        with study.read() as session:
            hope = session.scalar(select(Code.id).where(Code.name == "Hope"))
            recoded = session.get(Coding, segment.id)
            assert recoded is not None and recoded.code_id == hope  # the same coding, moved
            assert (recoded.start, recoded.end) == (segment.start, segment.end)
        assert all(s.id != segment.id for s in screen.segments)  # gone from Supervision's segments
        await pilot.press("ctrl+z")  # one step: one undo takes it back
        await pilot.app.workers.wait_for_complete()  # undo and redo run in a worker
        await pilot.pause()
        assert db_state(study) == before


async def test_compare_matrix_drills_into_retrieve(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        names = [row.name for row in screen.matrix.rows]
        table = screen.query_one(DataTable)
        table.cursor_coordinate = table.cursor_coordinate._replace(row=names.index("Support"), column=2)  # T2
        await pilot.press("t")
        await pilot.pause()
        assert "persisted" in plain(app.screen.body) or "emerged" in plain(app.screen.body)
        await pilot.press("escape")
        await pilot.press("o")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, RetrieveScreen)
        assert {s.timepoint for s in app.screen.segments} == {"T2"}


async def test_help_lists_every_binding(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        from app.tui.screens.help import _sections, help_table

        shown = plain(help_table())

        for _title, bindings in _sections():
            for binding in bindings:
                assert (binding.description or binding.action) in shown
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_first_run_asks_who_is_coding_and_remembers(study, tmp_path):
    config = tmp_path / "cfg"
    app = WaveqdaApp(study, config_dir=config, project_path=tmp_path / "study.wqda")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_text(pilot, "Chris")
        await pilot.press("enter")
        await pilot.pause()
        assert app.coder == "Chris"
    saved = json.loads((config / "workspace.json").read_text())
    assert "Chris" in saved["coders"].values()
    again = WaveqdaApp(study, config_dir=config, project_path=tmp_path / "study.wqda")
    assert again.coder == "Chris"


async def test_errors_are_notifications_not_tracebacks(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await goto_code_row(pilot, "Supervision")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("ctrl+u")
        await type_text(pilot, "Peer support")  # a sibling already has this name
        await pilot.press("enter")
        await pilot.pause()
        assert any(n.severity == "error" for n in app._notifications)
        assert isinstance(app.screen, CodebookScreen)


async def test_search_with_a_typo_and_code_a_hit_and_its_sentence(make_app, study):
    from app.tui.screens.search import SearchScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        app.screen.query_one("#fuzzy").value = True
        await type_text(pilot, "handovrs")  # a typo
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert [h.text for h in screen.hits] == ["handovers"]
        await pilot.press("s")  # code its sentence
        await pilot.pause()
        await type_text(pilot, "ignored")
        await pilot.press("enter")
        await pilot.pause()
        with study.read() as session:
            from models.transcripts import find_transcript

            t = find_transcript(session, "P01/T2")
            coded = [
                t.text[c.start : c.end] for c in session.scalars(select(Coding).where(Coding.transcript_id == t.id))
            ]
        assert "Nobody tells me about handovers." in coded


async def test_search_code_all_hits_is_one_step(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        await type_text(pilot, "supervision")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        hits = len(app.screen.hits)
        assert hits >= 2
        with study.read() as session:
            before = len(session.scalars(select(Coding)).all())
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("enter")  # the matched words
        await pilot.pause()
        await type_text(pilot, "hope")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()  # coding every hit runs in a worker
        await pilot.pause()
        with study.read() as session:
            after = len(session.scalars(select(Coding)).all())
        assert after > before
        await pilot.press("ctrl+z")
        await pilot.app.workers.wait_for_complete()  # undo and redo run in a worker
        await pilot.pause()
        with study.read() as session:
            assert len(session.scalars(select(Coding)).all()) == before


async def test_command_palette_finds_codes_by_words_and_retrieves(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "retrieve mon wor")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, RetrieveScreen)
        assert {s.code for s in app.screen.segments} == {"Barriers/Money worries"}


async def test_import_files_from_home_with_errors_listed(make_app, study, tmp_path):
    from app.tui.screens.dialogs import MessageDialog

    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "P09_T1.txt").write_text("Interviewer: How was it?\nSam: It was fine. I liked the team.\n")
    (folder / "P09_T9.txt").write_text("Interviewer: Hello?\nSam: Hi.\n")  # no such timepoint
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        await pilot.click("#import-path")
        await type_text(pilot, str(folder))
        await pilot.press("enter", "ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, MessageDialog)  # the refused file is listed
        assert "P09_T9" in plain(app.screen.body)
        await pilot.press("escape")
        await pilot.pause()
        assert "P09" in app.screen.grid.participants
    with study.read() as session:
        from models.transcripts import find_transcript

        assert "liked the team" in find_transcript(session, "P09/T1").text
