"""The transcript view's incremental paths give exactly what a full rebuild gives.

``patch_codings`` splices a few codings into sorted lists and an in-place span index instead of rebuilding
them, and the codes panel and the scrollbar repaint from remembered lines: each is checked here against the
straightforward computation it replaced.
"""

from __future__ import annotations

import random

from sqlalchemy import select
from textual.geometry import Region
from textual.scrollbar import ScrollBar

from app.tui.widgets.codes_panel import CodesPanel
from app.tui.widgets.layout import SortedSpanIndex, SpanIndex, assign_lanes, extend_lanes
from app.tui.widgets.scrollbar import RowCachedScrollBar
from app.tui.widgets.transcript_view import TranscriptView
from models.schema import Code
from models.workspace_queries import CodingRow
from tests.tui.test_coder import SIZE, open_transcript


def test_sorted_span_index_matches_span_index_through_inserts_and_deletes():
    rng = random.Random(4)
    spans: list[tuple[int, int]] = []
    for _ in range(400):
        a = rng.randrange(0, 20000)
        spans.append((a, a + rng.choice([rng.randrange(1, 300), rng.randrange(4000, 9000)])))
    spans.sort()
    index = SortedSpanIndex(spans)
    for step in range(300):
        if step % 2 and spans:
            k = rng.randrange(len(spans))
            del spans[k]
            index.delete(k)
        else:
            a = rng.randrange(0, 21000)
            span = (a, a + rng.choice([rng.randrange(1, 300), rng.randrange(4000, 9000)]))
            k = index.position(span[0])
            spans.insert(k, span)
            index.insert(k, *span)
        reference = SpanIndex(spans)
        for _ in range(5):
            a = rng.randrange(0, 21000)
            b = a + rng.randrange(0, 200)
            assert index.overlapping(a, b) == reference.overlapping(a, b)


def reference_patch(codings, lanes, hidden_rows, hidden, a, b, fresh):
    """``patch_codings`` as it was: filter everything, re-sort, rebuild the index, extend the lanes."""
    every = sorted([*codings, *hidden_rows], key=lambda c: (c.start, c.id))
    old_lanes = {c.id: lane for c, lane in zip(codings, lanes, strict=True)}
    before = {c.id: c for c in every if not (c.start > b or c.end < a)}
    merged = sorted([*(c for c in every if c.start > b or c.end < a), *fresh], key=lambda c: (c.start, c.id))
    visible = [c for c in merged if c.coder_id not in hidden]
    spans = [(c.start, c.end) for c in visible]
    moved = {c.id for c in fresh if c.id not in before or before[c.id][3:5] != (c.start, c.end)}
    new_lanes = extend_lanes(spans, [None if c.id in moved else old_lanes.get(c.id) for c in visible], SpanIndex(spans))
    return visible, new_lanes, [c for c in merged if c.coder_id in hidden]


def test_patch_codings_matches_a_full_rebuild():
    rng = random.Random(11)
    next_id = 1

    def row(start: int, end: int, coder: int, code: int) -> CodingRow:
        nonlocal next_id
        next_id += 1
        return CodingRow(next_id, code, coder, start, end, False, "")

    rows = []
    for _ in range(300):
        a = rng.randrange(0, 30000)
        rows.append(
            row(
                a,
                a + rng.choice([rng.randrange(1, 400), rng.randrange(5000, 8000)]),
                rng.choice([1, 2, 3]),
                rng.randrange(5),
            )
        )
    for hidden in (set(), {3}):
        view = TranscriptView()
        view.invalidate_spans = lambda spans: None  # type: ignore[method-assign]  # not mounted: no drawing
        view._cursor_changed = lambda: None  # type: ignore[method-assign]
        view.set_codings(rows, {}, hidden)
        codings, lanes, hidden_rows = list(view.codings), list(view._lanes), list(view._hidden_rows)
        assert lanes == assign_lanes([(c.start, c.end) for c in codings])
        for _ in range(120):
            a = rng.randrange(0, 30000)
            b = a + rng.randrange(1, 500)
            touching = [c for c in [*codings, *hidden_rows] if not (c.start > b or c.end < a)]
            fresh = [c for c in touching if rng.random() < 0.6]  # some removed
            fresh = [
                c._replace(start=min(c.start, a), end=max(c.end, b)) if rng.random() < 0.3 else c for c in fresh
            ]  # some extended over the window
            fresh += [row(a, b, rng.choice([1, 2, 3]), rng.randrange(5)) for _ in range(rng.randrange(3))]
            expected = reference_patch(codings, lanes, hidden_rows, hidden, a, b, fresh)
            view.patch_codings(a, b, fresh)
            codings, lanes, hidden_rows = list(view.codings), list(view._lanes), list(view._hidden_rows)
            assert (codings, lanes, hidden_rows) == expected
            assert view.all_codings == sorted([*codings, *hidden_rows], key=lambda c: (c.start, c.id))
            spans = [(c.start, c.end) for c in codings]
            for _ in range(3):
                q = rng.randrange(0, 30000)
                assert view._spans.overlapping(q, q + 50) == SpanIndex(spans).overlapping(q, q + 50)


async def test_panel_and_scrollbar_drawn_incrementally_equal_a_full_redraw(make_app):
    app = make_app()
    async with app.run_test(size=(SIZE[0], 7)) as pilot:  # short: the transcript scrolls
        view = await open_transcript(pilot, "P01/T1")
        panel = app.screen.query_one(CodesPanel)
        bar = view.vertical_scrollbar
        assert isinstance(bar, RowCachedScrollBar) and panel.display
        assert view.virtual_size.height > view.size.height + 3
        thumbs = set()
        for key in ["down", "down", "pagedown", "down", "up", "end", "home", "shift+down", "down"] * 2:
            await pilot.press(key)
            await pilot.pause()
            shown = panel.render_lines(Region(0, 0, *panel.outer_size))
            panel._lines_key = None  # forget the remembered lines: draw everything again
            panel.refresh()
            assert panel.render_lines(Region(0, 0, *panel.outer_size)) == shown
            drawn = bar.render_lines(Region(0, 0, *bar.size))
            bar.refresh()
            assert ScrollBar.render_lines(bar, Region(0, 0, *bar.size)) == drawn
            thumbs.add(view.scroll_offset.y)
        assert len(thumbs) > 2


async def test_transcript_rows_finished_by_the_view_equal_textuals_styles_pass(make_app):
    from textual.scroll_view import ScrollView

    app = make_app()
    async with app.run_test(size=(SIZE[0], 12)) as pilot:
        view = await open_transcript(pilot, "P01/T1")
        for theme in ("textual-dark", "waveqda-high-contrast", "textual-light", "ansi-dark"):
            app.theme = theme
            await pilot.pause()
            for key in ["down", "shift+down", "pagedown", "escape", "home", "right", "end"]:
                await pilot.press(key)
                await pilot.pause()
                region = Region(0, 0, *view.size)
                ours = view.render_lines(region)
                view.refresh()
                assert ScrollView.render_lines(view, region) == ours, (theme, key)
                part = Region(3, 1, view.size.width - 10, view.size.height - 2)
                assert view.render_lines(part) == ScrollView.render_lines(view, part), (theme, key)


async def test_caret_steps_repaint_the_rows_on_screen_when_scrolled(make_app, study):
    """Rows are repainted where they are on screen: the caret must not stay drawn on its old row."""
    from models.transcripts import store_transcript
    from tests.conftest import make_parsed

    turns = [("Interviewer", "How was it?"), ("Sam", " ".join(["It was fine. We talked a lot."] * 40))]
    with study.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed(turns, "P09_T1.txt"), "P09", "T1", "tester")
    app = make_app()
    async with app.run_test(size=(SIZE[0], 14)) as pilot:
        view = await open_transcript(pilot, "P09/T1")
        view.scroll_to(y=6, animate=False, immediate=True)
        await pilot.pause()
        top = view.scroll_offset.y
        view.set_caret(view._lines[top + 2].start, scroll=False)
        await pilot.pause()
        assert top > 0
        repainted: list[Region] = []
        refresh = view.refresh

        def spy(*regions, **kwargs):
            repainted.extend(regions)
            return refresh(*regions, **kwargs)

        view.refresh = spy  # type: ignore[method-assign]
        old_row = view._index.row_of(view.cursor)
        await pilot.press("down")
        await pilot.pause()
        assert view.scroll_offset.y == top
        new_row = view._index.row_of(view.cursor)
        for row in {old_row, new_row}:
            assert any(r.y <= row - top < r.bottom for r in repainted), (row, top, repainted)


class VirtualTerminal:
    """The cells a real terminal would show after the app's updates (partial ones included)."""

    def __init__(self, width: int, height: int) -> None:
        self.cells: list[list[tuple[str, object]]] = [[(" ", None)] * width for _ in range(height)]

    def apply(self, update) -> None:  # type: ignore[no-untyped-def]
        from rich.console import Console
        from rich.segment import ControlType

        console = Console(width=len(self.cells[0]), height=len(self.cells))
        x = y = 0
        for segment in update.__rich_console__(console, console.options):
            if segment.control:
                for control in segment.control:
                    if control[0] == ControlType.CURSOR_MOVE_TO:
                        x, y = control[1] - 1, control[2] - 1
                continue
            for ch in segment.text:
                if ch == "\n":
                    x, y = 0, y + 1
                    continue
                if 0 <= y < len(self.cells) and 0 <= x < len(self.cells[y]):
                    self.cells[y][x] = (ch, segment.style)
                x += 1


async def test_what_the_terminal_shows_after_partial_repaints_equals_a_full_repaint(make_app, study):
    """Every optimisation that repaints less (rows, panel lines, scrollbar rows) must leave the terminal
    showing exactly what a repaint of everything would: replay the app's updates on a virtual terminal."""
    from textual.app import App

    from models.transcripts import store_transcript
    from tests.conftest import make_parsed

    turns = [
        ("Interviewer", "How was it?"),
        ("Sam", " ".join(["It was fine. We talked a lot."] * 60)),
        ("Interviewer", "And then?"),
        ("Sam", " ".join(["Then it ended. I was sad."] * 60)),
    ]
    with study.change("tester", "import", "import", undoable=False) as session:
        store_transcript(session, make_parsed(turns, "P09_T1.txt"), "P09", "T1", "tester")
    app = make_app()
    width, height = SIZE[0], 20
    terminal = VirtualTerminal(width, height)
    display = App._display

    def record(self, screen, renderable):  # type: ignore[no-untyped-def]
        if renderable is not None and self.screen is screen:
            terminal.apply(renderable)
        return display(self, screen, renderable)

    App._display = record  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(width, height)) as pilot:
            await open_transcript(pilot, "P09/T1")
            with study.read() as session:
                code = session.scalar(select(Code.id).where(Code.name == "Hope"))
            app.recent_codes = [code]
            keys = [
                "down",
                "down",
                "pagedown",
                "down",
                "shift+down",
                "shift+down",
                "1",
                "down",
                "pagedown",
                "up",
                "up",
                "shift+up",
                "escape",
                "1",
                "right",
                "right",
                "end",
                "up",
                "home",
                "down",
            ]
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
                shown = [list(row) for row in terminal.cells]
                for widget in app.screen.walk_children(with_self=True):  # forget every remembered line
                    widget.refresh()
                app.screen.query_one(CodesPanel)._lines_key = None
                full = VirtualTerminal(width, height)
                full.apply(app.screen._compositor.render_update(full=True))
                assert shown == full.cells, key
                await pilot.pause()  # the terminal gets the full repaint: the next key starts from the truth
    finally:
        App._display = display  # type: ignore[method-assign]


async def test_a_panel_with_more_lines_than_rows_draws_what_the_whole_text_would(make_app):
    from rich.text import Text
    from textual.visual import Visual, visualize

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_transcript(pilot, "P01/T1")
        panel = app.screen.query_one(CodesPanel)
        width, height = panel.size
        for lines in (height - 1, height, height + 1, 3 * height):
            text = Text()
            for n in range(lines):
                text.append(f"line {n} " + "word " * (n % 9), style="bold" if n % 2 else "dim")
                text.append("\n")
            panel.text = text
            panel._visual = None
            whole = Visual.to_strips(panel, visualize(panel, text), width, height, panel.visual_style)
            assert panel._render_all() == whole, lines
