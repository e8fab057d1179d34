"""Blind coding on the workshop site (issue 16; docs/blind-coding.md): every page a login other than the owner
reads (themes, a theme's quotes, matrix, trajectories, joint display, memos) is exactly the page of a copy of the
project from which the codings in the blind transcripts were deleted (with the memos attached to them), and the
owner's pages differ from it, so the comparison can fail. Over the real server, as test_site.py."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from models import blind
from models.store import open_project
from tests.web.site_support import copy_project, logged_in, running_site

PAGES = ["/", "/themes/1", "/themes/2", "/matrix", "/trajectories", "/joint", "/memos"]
TOKEN = re.compile(r'(name="csrf_token" value=|"X-CSRF-Token": ?)"[^"]+"')


def pages(path: Path, who: str) -> dict[str, str]:
    with running_site(path) as site:
        client = logged_in(site, who)
        found = {}
        for page in PAGES:
            answer = client.get(page)
            assert answer.status_code == 200, (page, answer.text[:300])
            found[page] = TOKEN.sub(r"\1<token>", answer.text)
        client.close()
    return found


def test_a_non_owner_reads_every_page_as_if_the_blind_codings_were_not_there(demo_template, tmp_path) -> None:
    blinded = copy_project(demo_template, tmp_path / "blind.wqda")
    project = open_project(blinded)
    assert blind.switch_on(project, "olive", [], timepoint="T1")
    project.close()
    stripped = copy_project(blinded, tmp_path / "stripped.wqda")
    with sqlite3.connect(stripped) as db:
        doomed = "SELECT id FROM codings WHERE transcript_id IN (SELECT transcript_id FROM blind_transcripts)"
        db.execute(f"DELETE FROM memos WHERE target_type = 'coding' AND target_id IN ({doomed})")
        assert db.execute(f"DELETE FROM codings WHERE id IN ({doomed})").rowcount > 0
    for who in ("advisor1", "coder1"):  # a reader and a coder: the site shows neither blind codings
        assert pages(blinded, who) == pages(stripped, who)
    owner, without = pages(blinded, "olive"), pages(stripped, "olive")
    assert [page for page in PAGES if owner[page] == without[page]] == []  # the owner sees the blind codings
