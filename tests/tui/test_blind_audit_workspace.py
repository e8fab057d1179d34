"""The blind-coding audit in the workspace (issue 16; docs/blind-coding.md): every screen that shows codings
(Home's counts, the coder screen with its margins and side panel, Codebook's counts, Retrieve, Compare's matrix
and trajectories) shows a coder what it shows of a copy from which the other coders' codings in blind transcripts
were deleted; the owner's screens differ from that, so the comparison can fail."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from app.tui.app import WaveqdaApp
from models import blind
from models.coding import set_coding_memo
from models.comments import add_comment
from models.store import open_project
from tests.tui.helpers import open_transcript, screen_text

SIZE = (160, 50)
BENS_WORDS = "Funding might end."  # in Ben's coding (Money worries) of P01/T1, with his memo


async def screens(path: Path, coder: str, tmp_path: Path) -> dict[str, str]:
    """What ``coder`` sees on each screen of the project at ``path``."""
    project = open_project(path)
    app = WaveqdaApp(project, config_dir=tmp_path / f"config-{coder}-{path.stem}", remember=False, coder=coder)
    seen: dict[str, str] = {}
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            seen["home"] = screen_text(app)
            view = await open_transcript(pilot, "P01/T1")
            seen["coder"] = f"{screen_text(app)}\n{sorted((c.start, c.end, c.code_id) for c in view.codings)}"
            for key, mode in (("f3", "codebook"), ("f5", "compare")):
                await pilot.press(key)
                await pilot.pause()
                seen[mode] = screen_text(app)
            with project.read() as session:
                from models.codes import CodeTree

                money = CodeTree.load(session).find("Barriers/Money worries").id
            app.retrieve_code(money)
            await pilot.pause()
            await pilot.pause()
            seen["retrieve"] = screen_text(app)
    finally:
        project.close()
    return seen


async def test_every_workspace_screen_shows_a_coder_only_what_blind_coding_leaves_them(study, tmp_path) -> None:
    money_coding = next(iter(_ids(study, "Barriers/Money worries")))
    set_coding_memo(study, "Ben", money_coding, "BENMEMO contracts again")
    add_comment(study, "Ben", "coding", money_coding, "BENCOMMENT worth quoting")
    blind.switch_on(study, "Lead", ["P01/T1"])  # P01/T1: Ben's Supervision and Money worries, Ann's Peer support
    path = study.path
    study.close()
    stripped = tmp_path / "stripped.wqda"
    shutil.copy(path, stripped)
    with sqlite3.connect(stripped) as db:
        doomed = (
            "SELECT codings.id FROM codings JOIN coders ON coders.id = codings.coder_id WHERE codings.transcript_id "
            "IN (SELECT transcript_id FROM blind_transcripts) AND coders.name != 'Ann'"
        )
        db.execute(f"DELETE FROM memos WHERE target_type = 'coding' AND target_id IN ({doomed})")
        assert db.execute(f"DELETE FROM codings WHERE id IN ({doomed})").rowcount == 2
    ann = await screens(path, "Ann", tmp_path)
    assert ann == await screens(stripped, "Ann", tmp_path)
    assert not any("BENMEMO" in text or "BENCOMMENT" in text for text in ann.values())
    assert BENS_WORDS not in ann["retrieve"]  # (the coder screen shows the transcript's words, as to everyone)
    owner, owner_without = await screens(path, "Lead", tmp_path), await screens(stripped, "Lead", tmp_path)
    assert [name for name in owner if owner[name] == owner_without[name]] == []
    assert BENS_WORDS in owner["retrieve"]


def _ids(project, code_path: str) -> set[int]:
    from sqlalchemy import select

    from models.codes import CodeTree
    from models.schema import Coding

    with project.read() as session:
        code = CodeTree.load(session).find(code_path).id
        return set(session.scalars(select(Coding.id).where(Coding.code_id == code)))
