"""Comments left on the workshop site (issue 18) are shown to coders where the workspace shows memos: in the
coder's side panel under the coding they are on, and in the codebook screen under the code."""

from __future__ import annotations

from app.tui.screens.codebook import CodebookScreen
from app.tui.widgets.codes_panel import CodesPanel
from models.codes import CodeTree
from models.comments import add_comment
from tests.tui.conftest import code_span
from tests.tui.helpers import open_transcript
from tests.tui.test_coder import SIZE
from tests.tui.test_screens import goto_code_row


async def test_site_comments_show_in_the_coder_panel_and_the_codebook(make_app, study):
    [coding_id] = code_span(study, "P02/T1", "Support/Peer support", "The team supports me.", coder="Ann")
    add_comment(study, "advisor1", "coding", coding_id, "Which team: the peer team or the ward?")
    with study.read() as session:
        supervision = CodeTree.load(session).find("Support/Supervision").id
    add_comment(study, "clinician", "code", supervision, "Supervision means something else on the wards")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_transcript(pilot, "P02/T1")
        view.cursor = view.text.index("The team supports me.") + 2
        await pilot.press("right")
        await pilot.pause()
        panel = app.screen.query_one(CodesPanel).text.plain
        assert "Support/Peer support" in panel
        assert "advisor1 commented: Which team: the peer team or the ward?" in panel
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, CodebookScreen)
        await goto_code_row(pilot, "Supervision")
        detail = str(app.screen.query_one("#codebook-detail-text").render())
        assert "Comments (1)" in detail and "Supervision means something else on the wards" in detail
        assert "clinician" in detail
