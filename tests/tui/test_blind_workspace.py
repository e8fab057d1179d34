"""Blind coding in the workspace (issue 16): Home says which transcripts are blind (in words), and in a blind
transcript the coder sees only their own codings until the owner reveals it."""

from __future__ import annotations

from models import blind
from tests.tui.helpers import open_transcript, screen_text

SIZE = (120, 36)


async def test_a_coder_sees_only_their_own_codings_in_a_blind_transcript(make_app, study) -> None:
    blind.switch_on(study, "Lead", ["P01/T1"])  # P01/T1 has codings by Ben (2) and Ann (1)
    app = make_app(coder="Ann")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "blind" in screen_text(app)
        view_ids = await _coding_ids(pilot, "P01/T1")
        assert len(view_ids) == 1  # Ann's own
    blind.reveal(study, "Lead")
    app = make_app(coder="Ann")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "blind" not in screen_text(app)
        assert len(await _coding_ids(pilot, "P01/T1")) == 3


async def _coding_ids(pilot, ref: str) -> set[int]:
    return {row.id for row in (await open_transcript(pilot, ref)).codings}
