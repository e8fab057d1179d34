"""The transcript coder, driven end to end with Pilot, checked in the database."""

from __future__ import annotations

from sqlalchemy import select

from app.tui.screens.coder import CoderScreen
from app.tui.screens.home import HomeScreen
from app.tui.widgets.codes_panel import CodesPanel
from app.tui.widgets.transcript_view import TranscriptView
from models.codes import CodeTree
from models.schema import Code, Coding, Transcript
from models.transcripts import find_transcript
from tests.tui.helpers import drag, open_transcript, type_text, view_text

SIZE = (120, 36)


def codings_of(project, ref: str, coder: str | None = "Ann") -> list[tuple[str, str]]:
    """(code path, coded text) of a transcript's codings, optionally by one coder."""
    with project.read() as session:
        transcript = find_transcript(session, ref)
        tree = CodeTree.load(session)
        rows = session.scalars(select(Coding).where(Coding.transcript_id == transcript.id).order_by(Coding.start))
        from models.schema import Coder

        names = {c.id: c.name for c in session.scalars(select(Coder))}
        return [
            (tree.path(c.code_id), transcript.text[c.start : c.end])
            for c in rows
            if coder is None or names[c.coder_id] == coder
        ]


async def test_open_from_home_select_two_sentences_and_code(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("enter")  # the cursor starts on P01 / T1
        await pilot.pause()
        assert isinstance(app.screen, CoderScreen)
        view = app.screen.query_one(TranscriptView)
        await pilot.press("down", "down")  # interviewer question -> Dana's first sentence... then next
        await pilot.press("up")
        assert view.text[view.cursor :].startswith("It was brilliant.")
        await pilot.press("shift+down", "shift+down")
        assert view.text[slice(*view.selection)] == "It was brilliant. I felt supported by everyone."
        await pilot.press("c")
        await type_text(pilot, "feel hope")  # words in any order, matched on their own
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CoderScreen)
        assert ("Feelings/Hope", "It was brilliant. I felt supported by everyone.") in codings_of(study, "P01/T1")
        # drawn: a stripe label in the margin and the code in the codes-at-caret panel
        assert "Hope" in view_text(view)
        assert "Feelings/Hope" in app.screen.query_one(CodesPanel).text.plain
        # number keys: the recent code is on 1; "." repeats it
        await pilot.press("down", "down", "1")
        await pilot.pause()
        assert ("Feelings/Hope", "The supervision was good.") in codings_of(study, "P01/T1")


async def test_drag_with_mouse_snaps_to_sentences_and_codes(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T2")
        start = view.text.index("Nobody tells")
        end = view.text.index("about handovers") + 3
        await drag(pilot, view, start, end)
        assert view.text[slice(*view.selection)] == "Nobody tells me about handovers."
        await pilot.press("c")
        await type_text(pilot, "ignord")  # a typo still finds "Being ignored"
        await pilot.press("enter")
        await pilot.pause()
        assert ("Barriers/Being ignored", "Nobody tells me about handovers.") in codings_of(study, "P01/T2")


async def test_create_a_code_from_the_picker(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P02/T2")
        await pilot.press("down", "down", "shift+down")
        assert view.text[slice(*view.selection)] == "Supervison is missing."
        await pilot.press("c")
        await type_text(pilot, "Support/Missing supervision")
        await pilot.press("ctrl+n")
        await pilot.pause()
        with study.read() as session:
            assert session.scalar(select(Code).where(Code.name == "Missing supervision")) is not None
        assert ("Support/Missing supervision", "Supervison is missing.") in codings_of(study, "P02/T2")


async def test_remove_a_coding_then_undo_and_redo(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T1")
        view.set_caret(view.text.index("supervision was good"))
        await pilot.pause()
        assert [c.code_id for c in view.codings_at()]
        await pilot.press("x")
        await pilot.pause()
        assert ("Support/Supervision", "The supervision was good.") not in codings_of(study, "P01/T1", None)
        assert not view.codings_at()
        await pilot.press("ctrl+z")
        await pilot.app.workers.wait_for_complete()  # undo and redo run in a worker
        await pilot.pause()
        assert ("Support/Supervision", "The supervision was good.") in codings_of(study, "P01/T1", None)
        assert view.codings_at()  # the view redrew from the database
        await pilot.press("ctrl+y")
        await pilot.app.workers.wait_for_complete()  # undo and redo run in a worker
        await pilot.pause()
        assert ("Support/Supervision", "The supervision was good.") not in codings_of(study, "P01/T1", None)


async def test_resize_memo_and_key_quote(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T1")
        view.set_caret(view.text.index("supervision was good"))
        await pilot.press("r")
        await pilot.pause()
        assert view.text[slice(*view.selection)] == "The supervision was good."
        await pilot.press("shift+left")  # one word less
        await pilot.press("enter")
        await pilot.pause()
        assert ("Support/Supervision", "The supervision was") in codings_of(study, "P01/T1", None)
        view.set_caret(view.text.index("supervision was"))
        await pilot.press("asterisk")
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        await type_text(pilot, "key moment")
        await pilot.press("ctrl+s")
        await pilot.pause()
        with study.read() as session:
            coding = session.scalar(select(Coding).where(Coding.key_quote.is_(True)))
            assert coding is not None and coding.memo == "key moment"


async def test_emoji_and_combining_accents_code_exactly_what_is_shown(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P03/T1")
        text = view.text
        start = text.index("cafe\u0301 was")
        end = text.index("🙂")  # release on the emoji's cell: it is included, whole
        await pilot.press("e")  # exact characters, not sentences
        await drag(pilot, view, start, end)
        assert text[slice(*view.selection)] == "cafe\u0301 was warm 🙂"
        await pilot.press("c")
        await type_text(pilot, "hope")
        await pilot.press("enter")
        await pilot.pause()
        # keyboard: word by word over wide CJK characters
        view.set_caret(text.index("日本"))
        await pilot.press("shift+right", "shift+right")
        assert text[slice(*view.selection)] == "日本 friends"
        await pilot.press("c")
        await type_text(pilot, "peer")
        await pilot.press("enter")
        await pilot.pause()
        coded = codings_of(study, "P03/T1")
        assert ("Feelings/Hope", "cafe\u0301 was warm 🙂") in coded
        assert ("Support/Peer support", "日本 friends") in coded
        # the drawn row shows the accent and the emoji, and the stripes still line up at the margin
        rows = [line for line in view_text(view).splitlines() if "warm" in line]
        assert rows and "cafe\u0301" in rows[0] and "🙂" in rows[0]


async def test_hide_a_coders_codings(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T1")
        before = len(view.codings)
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("space", "escape")  # untick the first coder (Ann)
        await pilot.pause()
        assert len(view.codings) < before
        assert all(app.screen.coders[c.coder_id] != "Ann" for c in view.codings)
        with study.read() as session:
            assert session.scalar(select(Transcript).limit(1)) is not None


async def test_patched_codings_always_equal_the_database(make_app, study):
    """After each coding change the view re-reads only a window; it must match a full re-read."""
    from models.workspace_queries import load_codings

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P01/T1")
        screen = app.screen
        with study.read() as session:
            hope = find_code_id(session, "Feelings/Hope")

        async def check() -> None:
            await pilot.pause()
            with study.read() as session:
                assert view.all_codings == load_codings(session, screen.transcript_id)
            for i, c in enumerate(view.codings):
                for j in view._spans.overlapping(c.start, c.end):
                    assert j == i or view._lanes[j] != view._lanes[i]

        text = view.text
        for needle in ("It was brilliant.", "I felt supported", "brilliant. I felt", "The supervision was good."):
            start = text.index(needle)
            screen.apply([hope], (start, start + len(needle)))  # overlapping: extends and absorbs
            await check()
        view.set_caret(text.index("supervision was good"))
        await pilot.press("r", "shift+left", "enter")
        await check()
        view.set_caret(text.index("brilliant"))
        await pilot.press("x")
        await pilot.pause()
        if isinstance(app.screen, CoderScreen):
            await check()
        else:  # several codings here: choose the first
            await pilot.press("enter")
            await check()


def find_code_id(session, path: str) -> int:
    return CodeTree.load(session).find(path).id


async def test_waveqda_coder_in_the_environment_names_the_coder(make_app, monkeypatch):
    """Issue 16: a team coder who set WAVEQDA_CODER is not asked who is coding; a blank one is ignored."""
    monkeypatch.setenv("WAVEQDA_CODER", "  Priya ")
    app = make_app(coder=None)
    assert app.coder == "Priya"
    monkeypatch.setenv("WAVEQDA_CODER", "   ")
    assert make_app(coder=None).coder == ""
