"""Opening a long transcript lays out its first screens, paints, and lays out the rest afterwards (issue 20).

What a person sees must not depend on it: the first frame's rows and stripes are those of the whole layout,
and keys pressed before the rest is laid out (going to the end, paging, selecting and coding near the end)
act on the whole transcript, with the coding stored at exactly the characters selected. Run at 80x24 and at
a wide terminal, on a 30,000-word interview coded by two coders (short spans, spans over several turns, and
one coding of the whole interview, whose stripes run past the first screens).
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select
from textual.message_pump import MessagePump

from app.tui.screens.coder import CoderScreen
from app.tui.widgets.layout import assign_lanes, layout
from app.tui.widgets.transcript_paint import INTERVIEWER_INDENT
from app.tui.widgets.transcript_view import TranscriptView
from models.coding import apply_codes
from models.schema import Code, Coder, Coding, Transcript
from models.store import Project
from models.transcripts import find_transcript, store_transcript
from tests.conftest import make_parsed
from tests.tui.helpers import screen_text

SIZES = [(80, 24), (200, 60)]
WORDS = [
    "peer",
    "work",
    "ward",
    "shift",
    "team",
    "support",
    "contract",
    "money",
    "hope",
    "listen",
    "trust",
    "change",
    "weeks",
    "months",
]


def long_interview(words: int = 30_000) -> list[tuple[str, str]]:
    """Turns of varied length (an interviewer question, then a long answer), sentences of 5-20 words."""
    rng = random.Random(20)
    turns: list[tuple[str, str]] = []
    total = 0
    while total < words:
        for speaker, size in (("Interviewer", rng.randrange(8, 25)), ("Dana", rng.randrange(20, 160))):
            sentences, left = [], size
            while left > 0:
                n = min(left, rng.randrange(5, 21))
                sentence = " ".join(rng.choice(WORDS) for _ in range(n))
                sentences.append(sentence[0].upper() + sentence[1:] + ".")
                left -= n
            turns.append((speaker, " ".join(sentences)))
            total += size
    return turns


@pytest.fixture
def long_study(study: Project) -> Project:
    """The study plus P09/T1: 30,000 words, codings by Ben and Ann all through it."""
    with study.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed(long_interview(), "P09_T1.txt"), "P09", "T1", "tester")
    with study.read() as session:
        transcript = find_transcript(session, "P09/T1")
        text, turns = transcript.text, [(t.start, t.end) for t in transcript.turns]
    rng = random.Random(9)
    codes = ["Support/Peer support", "Support/Supervision", "Barriers/Money worries", "Feelings/Hope"]
    apply_codes(study, "tester", "P09/T1", ["Barriers/Being ignored"], "Ben", turns[0][0], turns[-1][1])
    for n in range(0, len(turns) - 12, 9):
        a, b = turns[n + 1]
        cut = text.index(". ", a, b) + 1 if ". " in text[a:b] else b
        apply_codes(study, "tester", "P09/T1", [rng.choice(codes)], rng.choice(["Ben", "Ann"]), a, cut)
        if cut < b - 2:  # the next sentence, on the same row as the first one's end: its own stripe column
            nxt = text.find(". ", cut + 1, b)
            apply_codes(study, "tester", "P09/T1", [codes[n % 4]], "Ben", cut + 1, nxt + 1 if nxt > 0 else b)
        if n % 4 == 0:  # a span over several turns
            apply_codes(study, "tester", "P09/T1", [rng.choice(codes)], "Ann", turns[n][0], turns[n + 5][1])
    return study


def withhold_rest_of_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the rest of the layout from being done after the first paint, as when keys come first."""

    def call_after_refresh(self, callback, *args, **kwargs):  # type: ignore[no-untyped-def]
        if getattr(callback, "__name__", "") == "_finish_layout":
            return True
        return MessagePump.call_after_refresh(self, callback, *args, **kwargs)

    monkeypatch.setattr(TranscriptView, "call_after_refresh", call_after_refresh)


async def open_long(pilot, select: tuple[int, int] | None = None) -> TranscriptView:  # type: ignore[no-untyped-def]
    app = pilot.app
    with app.project.read() as session:
        tid = find_transcript(session, "P09/T1").id
    app.open_transcript(tid, select=select)
    await pilot.pause()
    assert isinstance(app.screen, CoderScreen)
    return app.screen.query_one(TranscriptView)


def whole_layout_lanes(view: TranscriptView) -> tuple[list, list[int]]:
    """The line table and stripe columns as a layout of the whole transcript at once gives them."""
    lines = layout(view.text, view.blocks, view._text_width, view._text_width - INTERVIEWER_INDENT)
    from app.tui.widgets.layout import LineIndex

    index = LineIndex(lines)

    def row_span(a: int, b: int) -> tuple[int, int]:
        return min(a, lines[index.row_of(a)].start), max(b, lines[index.row_of(max(a, b - 1))].end)

    return lines, assign_lanes([row_span(c.start, c.end) for c in view.codings])


@pytest.mark.parametrize("size", SIZES)
async def test_first_frame_is_the_whole_layouts_and_the_rest_follows(long_study, make_app, size) -> None:
    app = make_app()
    frames: list[tuple[int, int, list, list[int], str]] = []
    display = app._display

    def noting(screen, renderable):  # type: ignore[no-untyped-def]
        display(screen, renderable)
        if renderable is not None and not frames and isinstance(app.screen, CoderScreen):
            view = app.screen.query_one(TranscriptView)
            if view._table:
                height = view.scrollable_content_region.height
                strips = [list(view.render_line(y)) for y in range(height)]
                frames.append((len(view._table), view._rest or 0, strips, list(view._lane_list), screen_text(app)))

    app._display = noting
    async with app.run_test(size=size) as pilot:
        view = await open_long(pilot)
        assert frames, "no frame showed the transcript"
        laid, rest, strips, lanes, first_screen = frames[0]
        assert rest > 0 and laid < len(view._table), "the first frame came from the whole layout"
        assert laid >= 2 * view.scrollable_content_region.height
        lines, whole_lanes = whole_layout_lanes(view)
        assert view._rest is None and view._table == lines and view._lanes == whole_lanes
        assert view.virtual_size.height == len(lines)
        started = sum(1 for c in view.codings if c.start < view.blocks[rest].start)
        assert 0 < started < len(view.codings)
        assert lanes[:started] == whole_lanes[:started]  # the stripes on the first screens
        view._cache.clear()  # draw the first screen again from the whole layout
        height = view.scrollable_content_region.height
        assert [list(view.render_line(y)) for y in range(height)] == strips
        region = view.scrollable_content_region  # the text and its margin, not the scrollbar beside them

        def rows(screen: str) -> list[str]:
            return [line[region.x : region.right] for line in screen.splitlines()[region.y : region.bottom]]

        assert rows(screen_text(app)) == rows(first_screen) and any(r.strip() for r in rows(first_screen))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("withheld", [True, False], ids=["keys-before-the-rest", "after-the-rest"])
async def test_last_turn_right_after_opening_then_code_a_span_near_the_end(
    long_study, make_app, monkeypatch, size, withheld
) -> None:
    if withheld:
        withhold_rest_of_layout(monkeypatch)
    with long_study.read() as session:
        hope = session.scalar(select(Code.id).where(Code.name == "Hope"))
    app = make_app()
    app.recent_codes = [hope]
    async with app.run_test(size=size) as pilot:
        view = await open_long(pilot)
        assert (view._rest is not None) == withheld
        await pilot.press("end", "left_square_bracket")  # the end, then the start of the last turn
        await pilot.pause()
        last = view.blocks[-1]
        assert view._rest is None and view.cursor == last.start
        row = view._index.row_of(view.cursor)
        top = view.scroll_offset.y
        assert top <= row < top + view.scrollable_content_region.height  # the caret is on screen
        assert view.scroll_offset.y == view.max_scroll_y or row > top
        await pilot.press("down", "shift+down", "shift+down")  # the turn's 2nd and 3rd sentences
        await pilot.pause()
        second, third = _two(view)
        assert view.selection == (second[0], third[1])
        await pilot.press("1")
        await pilot.pause()
        with long_study.read() as session:
            coding = session.scalars(select(Coding).order_by(Coding.id.desc()).limit(1)).one()
            text = session.scalar(select(Transcript.text).where(Transcript.id == coding.transcript_id))
            coder = session.scalar(select(Coder.name).where(Coder.id == coding.coder_id))
            assert (coding.code_id, coder) == (hope, "Ann")
            assert (coding.start, coding.end) == (second[0], third[1])
            assert text[coding.start : coding.end] == view.text[second[0] : third[1]]
            assert text[coding.start : coding.end].endswith(".") and not text[coding.start].isspace()
        assert any(c.id == coding.id for c in view.codings_on_caret_line())
        shown = screen_text(app)
        assert "Hope" in shown or "Ho" in shown  # its label in the margin


def _two(view: TranscriptView) -> tuple[tuple[int, int], tuple[int, int]]:
    last = view.blocks[-1]
    spans = [s for s in view.sentences.spans if last.start <= s[0] < last.end]
    return spans[1], spans[2]


@pytest.mark.parametrize("size", SIZES)
async def test_paging_right_after_opening_matches_paging_after_the_rest(long_study, make_app, monkeypatch, size):
    """PgDn x3, PgUp, End, PgUp with the rest of the layout withheld draw what they draw with it done."""
    seen: dict[bool, list[tuple[int, int, str]]] = {}
    for withheld in (False, True):
        if withheld:
            withhold_rest_of_layout(monkeypatch)
        app = make_app()
        async with app.run_test(size=size) as pilot:
            view = await open_long(pilot)
            assert (view._rest is not None) == withheld
            seen[withheld] = []
            for key in ["pagedown", "pagedown", "pagedown", "pageup", "end", "pageup"]:
                await pilot.press(key)
                await pilot.pause()
                seen[withheld].append((view.cursor, view.scroll_offset.y, screen_text(app)))
    assert seen[True] == seen[False]
    assert [cursor for cursor, _, _ in seen[True][:3]] == sorted({cursor for cursor, _, _ in seen[True][:3]})
    assert seen[True][-2][1] > seen[True][2][1] > 0  # End went further down than three pages


@pytest.mark.parametrize("size", SIZES)
async def test_a_search_jump_near_the_end_selects_exactly_that_span(long_study, make_app, size) -> None:
    with long_study.read() as session:
        text = find_transcript(session, "P09/T1").text
    start = text.rindex("Interviewer: ") + len("Interviewer: ")
    span = (start, text.index(".", start) + 1)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        view = await open_long(pilot, select=span)
        assert view.selection == span and view._rest is None
        row = view._index.row_of(span[0])
        assert view.scroll_offset.y <= row < view.scroll_offset.y + view.scrollable_content_region.height
        lines, _ = whole_layout_lanes(view)
        assert view._lines == lines


async def test_undo_and_redo_patch_the_codings_they_touched(long_study, make_app, monkeypatch) -> None:
    """ctrl+z / ctrl+y after applying codes (one joining a same-code neighbour), uncoding and a memo near
    the end: each re-reads only the window the step touched, and the view then holds exactly the
    database's codings, with stripe columns that never share a row between two codings."""
    from models.workspace_queries import load_codings

    with long_study.read() as session:
        hope = session.scalar(select(Code.id).where(Code.name == "Hope"))
    app = make_app()
    app.recent_codes = [hope]
    full_reloads: list[int] = []
    set_codings = TranscriptView.set_codings

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        full_reloads.append(1)
        return set_codings(self, *args, **kwargs)

    monkeypatch.setattr(TranscriptView, "set_codings", counting)

    async def settle() -> None:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    def check(view: TranscriptView) -> None:
        with long_study.read() as session:
            assert view.all_codings == load_codings(session, view.doc_id)
        lanes, lines, index = view._lanes, view._lines, view._index
        rows = [(index.row_of(c.start), index.row_of(max(c.start, c.end - 1))) for c in view.codings]
        for i, (a, b) in enumerate(rows):
            for j in range(i + 1, len(rows)):
                c, d = rows[j]
                if c > b:
                    break
                assert lanes[i] != lanes[j] or d < a, (view.codings[i], view.codings[j])
        assert len(lines) > 0

    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_long(pilot)
        view.doc_id = app.screen.transcript_id  # type: ignore[attr-defined]
        await pilot.press("end", "left_square_bracket", "up", "up", "up")
        await settle()
        opened = [(c.id, c.code_id, c.coder_id, c.start, c.end, c.memo) for c in view.all_codings]
        steps = [["1"], ["r"], ["down", "1"], ["x"], ["m"]]
        for keys in steps:
            await pilot.press(*keys)
            await settle()
            if not isinstance(app.screen, CoderScreen):  # which coding (several at the caret): the first
                await pilot.press("enter")
                await settle()
            if keys == ["r"]:  # resize the new coding: one more sentence
                await pilot.press("shift+down", "enter")
                await settle()
            if keys == ["m"]:  # the memo dialog: type and save
                await pilot.press(*"noted", "ctrl+s")
                await settle()
            assert isinstance(app.screen, CoderScreen)
            check(view)
        before = len(full_reloads)

        def state() -> list[tuple]:
            return [(c.id, c.code_id, c.coder_id, c.start, c.end, c.memo) for c in view.all_codings]

        states = [state()]
        for key in ["ctrl+z"] * 5 + ["ctrl+y"] * 5 + ["ctrl+z"] * 2:
            await pilot.press(key)
            await settle()
            check(view)
            states.append(state())
        assert len(full_reloads) == before  # every step was patched in
        # five steps back and forth: each undo changed the codings, the fifth brought back the opening
        # state, and redo brought each state back
        assert all(states[i] != states[i + 1] for i in range(5)) and states[5] == opened
        assert states[10] == states[0] and states[9] == states[1] and states[12] == states[2]
        resized = {c[0]: c[3:5] for c in states[4]}, {c[0]: c[3:5] for c in states[3]}
        assert any(resized[0].get(k) not in (None, v) for k, v in resized[1].items())  # an update undone
