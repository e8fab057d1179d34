"""Issue 15: Retrieve with a combined coding query (the language of ``waveqda query``), context widening,
memo text under a result, save as code (one undoable step), saved queries by name, and one-line errors that
change nothing. Driven with Pilot through the real app on a real project file."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from textual.widgets import Input

from app.tui.screens.retrieve import RetrieveScreen
from models.coding import set_coding_memo
from models.query_actions import saved_queries
from models.schema import Code, Coding
from tests.tui.conftest import code_span
from tests.tui.helpers import screen_text, type_text

SIZE = (120, 40)
SUPERVISION_NOT_PEER = '"Support" AND NOT "Peer support"'


async def wait_for(pilot, condition: Callable[[], bool], what: str) -> None:
    for _ in range(400):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"gave up waiting for {what}")


async def run_query(pilot, screen: RetrieveScreen, expression: str) -> None:
    """Type a query into the box as a person does (q, the expression, Enter) and wait for its run."""
    before = screen._generation
    await pilot.press("q")
    await pilot.pause()
    box = screen.query_one("#query", Input)
    assert box.has_focus
    box.value = ""
    await type_text(pilot, expression)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen._generation > before and screen.mode == "query", "the query")
    await wait_for(pilot, lambda: "Running the query" not in screen_text(pilot.app), "the results")


async def open_retrieve(pilot) -> RetrieveScreen:
    pilot.app.poll_timer.pause()
    await pilot.press("f4")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, RetrieveScreen)
    return screen


async def test_combined_query_with_context_widening_and_memo_text(make_app, study):
    with study.read() as session:
        supervision = (
            session.execute(select(Coding.id).join(Code).where(Code.name == "Supervision").order_by(Coding.id))
            .scalars()
            .first()
        )
    set_coding_memo(study, "Ben", supervision, "Ben: formal supervision, praised\nsecond line of the memo")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_retrieve(pilot)
        await run_query(pilot, screen, SUPERVISION_NOT_PEER)
        # Support and its sub-codes, without Peer support's text: the two supervision segments
        assert [(h.transcript, h.text) for h in screen.hits] == [
            ("P01/T1", "The supervision was good."),
            ("P01/T2", "There is no supervision at all."),
        ]
        text = screen_text(app)
        assert "2 results from 1 participants" in text
        assert "✎ Ben: formal supervision, praised second line of the memo" in text  # memo text, not a mark
        first = screen.hits[0]
        assert first.context == "The supervision was good."  # its sentence

        await pilot.press("c")  # sentence -> turn
        await wait_for(pilot, lambda: screen.hits[0].context.startswith("It was brilliant."), "turn context")
        assert screen.hits[0].context == "It was brilliant. I felt supported by everyone. The supervision was good."
        assert "context: its turn" in screen_text(app)

        await pilot.press("plus")  # and one whole turn either side
        await wait_for(pilot, lambda: screen.turns_around == 1 and "training" in screen.hits[0].context, "±1 turn")
        assert screen.hits[0].context.startswith("How did the training go?")
        assert screen.hits[0].context.endswith("What about the ward?")
        assert "context: its turn ±1 turn" in screen_text(app)
        await pilot.press("minus")
        await wait_for(pilot, lambda: not screen.hits[0].context.startswith("How"), "back to the turn")

        await pilot.press("c")  # turn -> the result alone
        await wait_for(pilot, lambda: screen.hits[0].context == "The supervision was good.", "segment context")
        assert "context: the result alone" in screen_text(app)

        # a relation: Supervision NEAR/turn Peer support finds both segments of the first answer
        await run_query(pilot, screen, '"Supervision" NEAR/turn "Peer support"')
        assert [h.text for h in screen.hits] == ["I felt supported by everyone.", "The supervision was good."]

        # Enter opens the transcript with the result selected
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "CoderScreen"


async def test_query_mistakes_are_one_line_and_change_nothing(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_retrieve(pilot)
        await run_query(pilot, screen, SUPERVISION_NOT_PEER)
        hits, header = list(screen.hits), screen_text(app).splitlines()[1]

        for wrong, says in [
            ('"Support" AND', "ends too early"),
            ("Support AND Hope", "put code paths in double quotes"),
            ('"No such code" OR "Hope"', "no code"),
        ]:
            app.clear_notifications()
            await pilot.press("q")
            screen.query_one("#query", Input).value = ""
            await type_text(pilot, wrong)
            await pilot.press("enter")
            await wait_for(pilot, lambda: bool(list(app._notifications)), f"the error for {wrong}")
            [note] = list(app._notifications)
            assert note.severity == "error" and says in note.message and "\n" not in note.message
            await pilot.pause()
            assert screen.hits == hits and screen.expression == SUPERVISION_NOT_PEER
            assert screen_text(app).splitlines()[1] == header


async def test_save_as_code_is_one_undoable_step_and_saved_queries_run_by_name(make_app, study):
    code_span(study, "P02/T2", "Support/Supervision", "Supervison is missing.")
    app = make_app()

    def coded_at(path_name: str) -> int:
        with study.read() as session:
            return (
                session.scalar(select(func.count()).select_from(Coding).join(Code).where(Code.name == path_name)) or 0
            )

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_retrieve(pilot)
        await run_query(pilot, screen, SUPERVISION_NOT_PEER)
        assert len(screen.hits) == 3

        await pilot.press("a")
        await pilot.pause()
        await type_text(pilot, "Query results/Supervision only")
        await pilot.press("enter")
        await wait_for(pilot, lambda: coded_at("Supervision only") == 3, "the codings")
        with study.read() as session:
            coders = (
                session.execute(select(Coding.coder_id).join(Code).where(Code.name == "Supervision only"))
                .scalars()
                .all()
            )
        assert len(set(coders)) == 1
        await pilot.press("ctrl+z")  # the whole save in one step
        await wait_for(pilot, lambda: coded_at("Supervision only") == 0, "the undo")

        # name the query with the filters on screen, run another, then the saved one by name
        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "supervision not peer")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "supervision not peer" in saved_queries(study), "the saved query")
        assert saved_queries(study)["supervision not peer"].expression == SUPERVISION_NOT_PEER
        await run_query(pilot, screen, '"Feelings/Hope"')
        assert [h.text for h in screen.hits] == ["Hopeful, really hopeful."]
        before = screen._generation
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("enter")  # the only saved query
        await wait_for(pilot, lambda: screen._generation > before and len(screen.hits) == 3, "the saved query's run")
        assert screen.saved_name == "supervision not peer"
        assert "Query 'supervision not peer' " in screen_text(app)
