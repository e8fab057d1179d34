"""Snapshots of each area on the fixed study (reviewed by eye before acceptance: see the SVGs)."""

from __future__ import annotations

from textual.widgets import Input, TextArea

from models.transcripts import find_transcript

SIZE = (120, 36)


async def no_blink(pilot) -> None:
    """Cursor blink off, so a screenshot does not depend on timing."""
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    for widget in pilot.app.screen.query(TextArea):
        widget.cursor_blink = False
    await pilot.pause()


def test_home(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=SIZE)


def test_coder(snap_compare, make_app, study):
    with study.read() as session:
        tid = find_transcript(session, "P01/T1").id

    async def run_before(pilot) -> None:
        pilot.app.open_transcript(tid)
        await pilot.pause()
        await pilot.press("down", "down", "shift+down")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_code_picker(snap_compare, make_app, study):
    with study.read() as session:
        tid = find_transcript(session, "P01/T2").id

    async def run_before(pilot) -> None:
        pilot.app.open_transcript(tid)
        await pilot.pause()
        await pilot.press("down", "shift+down", "c", "s", "u", "p")
        await no_blink(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_codebook(snap_compare, make_app):
    assert snap_compare(make_app(), press=["f3", "down", "down"], terminal_size=SIZE)


def test_retrieve(snap_compare, make_app):
    async def run_before(pilot) -> None:
        pilot.app.retrieve_code(1)  # Support, with its sub-codes
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await no_blink(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_compare(snap_compare, make_app):
    assert snap_compare(make_app(), press=["f5"], terminal_size=SIZE)


def test_help(snap_compare, make_app):
    assert snap_compare(make_app(), press=["f1"], terminal_size=SIZE)


def test_coder_high_contrast_narrow(snap_compare, make_app, study):
    """80 x 24 in the high-contrast theme: the stripes margin shrinks, the side panel folds away."""
    from tests.tui.conftest import code_span

    code_span(study, "P03/T1", "Feelings/Hope", "warm 🙂 and I felt at home.", coder="Ann")
    code_span(study, "P03/T1", "Support/Peer support", "I felt at home. 日本 friends came too.")
    with study.read() as session:
        tid = find_transcript(session, "P03/T1").id

    async def run_before(pilot) -> None:
        pilot.app.theme = "waveqda-high-contrast"
        pilot.app.open_transcript(tid)
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
