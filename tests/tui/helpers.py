"""Helpers for driving the transcript view like a person would."""

from __future__ import annotations

from textual.pilot import Pilot

from app.tui.widgets.layout import cell_of_offset
from app.tui.widgets.transcript_view import INTERVIEWER_INDENT, TranscriptView


def cell_at(view: TranscriptView, offset: int) -> tuple[int, int]:
    """The (x, y) cell where ``offset`` is drawn, relative to the view (for mouse tests)."""
    row = view._index.row_of(offset)
    line = view._lines[row]
    indent = INTERVIEWER_INDENT if view.blocks[line.block].role == "interviewer" else 0
    x = view._gutter + indent + cell_of_offset(view.text, line.start, offset)
    return x, row - view.scroll_offset.y


async def drag(pilot: Pilot, view: TranscriptView, start: int, end: int, ctrl: bool = False) -> None:
    """Press on the character at ``start``, move to the one at ``end`` and release."""
    x0, y0 = cell_at(view, start)
    x1, y1 = cell_at(view, end)
    await pilot.mouse_down(view, offset=(x0, y0), control=ctrl)
    await pilot.hover(view, offset=(x1, y1))
    await pilot.mouse_up(view, offset=(x1, y1), control=ctrl)
    await pilot.pause()


def view_text(view: TranscriptView) -> str:
    """Everything drawn on screen by the view (text, stripes, labels) as plain text."""
    height = view.scrollable_content_region.height
    return "\n".join(view.render_line(y).text for y in range(height))


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])
    await pilot.pause()


def plain(renderable: object, width: int = 200) -> str:
    """A Rich renderable (table, text) as plain text."""
    from rich.console import Console

    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def screen_text(app) -> str:
    """The whole terminal as a person sees it (every layer composed: dialogs over screens, toasts), as plain
    text, one line per row (what ``tmux capture-pane -p`` would show)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


async def open_transcript(pilot: Pilot, ref: str) -> TranscriptView:
    """Open the transcript ``ref`` (e.g. "P01/T1") in the coder screen; its view."""
    from app.tui.screens.coder import CoderScreen
    from models.transcripts import find_transcript

    app = pilot.app
    with app.project.read() as session:  # type: ignore[attr-defined]
        tid = find_transcript(session, ref).id
    app.open_transcript(tid)  # type: ignore[attr-defined]
    await pilot.pause()
    assert isinstance(app.screen, CoderScreen)
    return app.screen.query_one(TranscriptView)
