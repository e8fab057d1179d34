"""Comments on a theme or a quote (issue 18): memos on codes and codings, journalled, listed with every memo."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import app
from models import coding, history
from models.comments import MAX_LENGTH, add_comment, comments_on
from models.errors import WaveqdaError
from models.memo_list import all_memos

runner = CliRunner()


def test_a_comment_is_a_memo_by_its_author_one_undoable_step(coded_study, db_state) -> None:
    project = coded_study.project
    theme = coded_study.codes["Support"]
    quote = coded_study.codings[1]
    before = db_state(project)
    on_theme = add_comment(project, "advisor1", "code", theme, "  Feels true to my own first year.  ")
    on_quote = add_comment(project, "clinician", "coding", quote, "Is this about the team or the manager?")
    with project.read() as session:
        theme_comments = comments_on(session, "code", [theme])
        quote_comments = comments_on(session, "coding", [quote, 999_999])
        memos = all_memos(session, kinds=["code", "coding"])
        by_advisor = all_memos(session, author="advisor1")
    assert [(c.id, c.author, c.text) for c in theme_comments[theme]] == [
        (on_theme, "advisor1", "Feels true to my own first year.")
    ]
    assert [(c.id, c.author) for c in quote_comments[quote]] == [(on_quote, "clinician")]
    assert 999_999 not in quote_comments
    assert [(m.kind, m.target, m.author) for m in memos] == [
        ("code", "Support", "advisor1"),
        ("coding", memos[1].target, "clinician"),
    ]
    assert memos[1].target.startswith(f"coding {quote}: Support/Peer support at P01/T1")
    assert [m.text for m in by_advisor] == ["Feels true to my own first year."]
    history.undo(project, "clinician")
    history.undo(project, "advisor1")
    assert db_state(project) == before


@pytest.mark.parametrize(
    ("target", "target_id", "text", "message"),
    [
        ("code", None, "   ", "needs some text"),
        ("transcript", None, "hello", "on a code or a coding"),
        ("code", 987_654, "hello", "no code with id 987654"),
        ("coding", 987_654, "hello", "no coding with id 987654"),
        ("code", None, "x" * (MAX_LENGTH + 1), "at most 10,000 characters"),
    ],
)
def test_a_bad_comment_is_refused_in_one_line_and_changes_nothing(
    coded_study, db_state, target, target_id, text, message
) -> None:
    project = coded_study.project
    before = db_state(project)
    with pytest.raises(WaveqdaError, match=message):
        add_comment(project, "advisor1", target, target_id or coded_study.codes["Worry"], text)
    assert db_state(project) == before


def test_comments_on_a_removed_coding_are_kept_and_listed_by_the_cli(coded_study) -> None:
    project = coded_study.project
    quote = coded_study.codings[4]
    add_comment(project, "advisor1", "coding", quote, "<script>alert(1)</script> contracts again")
    listed = runner.invoke(app, ["memos", project.target, "--kind", "coding", "--json"])
    found = json.loads(listed.stdout)
    assert [(m["author"], m["text"], m["target_id"]) for m in found] == [
        ("advisor1", "<script>alert(1)</script> contracts again", quote)
    ]
    coding.remove_coding(project, "ana", quote)
    with project.read() as session:
        kept = all_memos(session, search="contracts again")
    assert [m.kind for m in kept] == ["journal"]  # the text stays, as a project memo


pytestmark = pytest.mark.both_engines
