"""The blind-coding audit (issue 16; docs/blind-coding.md lists every path checked): two coders code the same
blind transcript, and whatever the second coder can reach shows none of the first coder's codings there (their
words, spans, memos, comments or counts), while the owner still sees everything.

The oracle for reads: what a coder sees of the blind project equals what the same command shows of a copy from
which the other coders' codings in blind transcripts (and the comments on them) were deleted outright; and the
owner's output differs from it, so each command really shows codings and the comparison can fail."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from models import blind, codebook, coding
from models.comments import add_comment, comments_on
from models.errors import WaveqdaError
from models.history import BLIND_SUMMARY, history, redo, undo
from models.schema import Transcript
from models.store import Project
from tests.conftest import CodedStudy

BEN_WORDS = "It was brilliant. I felt supported"  # ben alone coded it so, in the blind transcript P01/T1
BEN_MEMO = "BENMEMO the word brilliant matters"
BEN_COMMENT = "BENCOMMENT a reader liked this quote"
CLI = [sys.executable, "-c", "from app.cli import main; main()"]


@dataclass
class BlindStudy:
    study: CodedStudy
    project: Project
    ben_coding: int  # ben's coding of BEN_WORDS (code "Brilliance", with a memo and a comment)


@pytest.fixture
def blind_study(coded_study: CodedStudy) -> BlindStudy:
    """The coded study (ana and ben both coded P01/T1) plus a code only ben used there, with a memo and a
    comment; then the owner, lead, switches blind coding on for P01/T1."""
    project = coded_study.project
    codebook.add_code(project, "ben", "Brilliance")
    with project.read() as session:
        text = session.get_one(Transcript, coded_study.transcripts["P01/T1"]).text
    start = text.index(BEN_WORDS)
    [ben_coding] = coding.apply_codes(
        project, "ben", "P01/T1", ["Brilliance"], "ben", start, start + len(BEN_WORDS), memo=BEN_MEMO
    )
    add_comment(project, "ben", "coding", ben_coding, BEN_COMMENT)
    blind.switch_on(project, "lead", ["P01/T1"])
    return BlindStudy(coded_study, project, ben_coding)


def as_coder(project: Project, name: str) -> None:
    """Act as ``name``, a coder (on PostgreSQL the test's login owns the database, so the coder's role is given
    as a browser login gives it; on a file a coder is anyone but who switched blind coding on)."""
    project.viewer = name
    project.viewer_is_owner = None if project.is_sqlite else False


def as_owner(project: Project) -> None:
    project.viewer = "lead"
    project.viewer_is_owner = None if project.is_sqlite else True


# --- undo and redo: a coder cannot take back the owner's switch, nor others' hidden steps ----------------------


@pytest.mark.both_engines
def test_a_coder_can_neither_undo_blind_coding_nor_step_others_hidden_codings(blind_study, db_state) -> None:
    """On main, `undo --anyone` by a coder undid the owner's "blind coding on" and then ben's codings in the
    blind transcript, printing "Undid #n: Coded P01/T1 44:61 “It was brilliant.” as Brilliance (ben)"."""
    project = blind_study.project
    before = db_state(project)
    as_coder(project, "ana")
    with pytest.raises(WaveqdaError, match=r"can undo #\d+ \(blind coding on for P01/T1\)"):
        undo(project, "ana", anyone=True)
    assert db_state(project) == before
    as_owner(project)
    assert undo(project, "lead", anyone=True).operation == "blind.on"  # the owner may
    as_coder(project, "ana")
    with pytest.raises(WaveqdaError, match="can redo"):  # nor do it again: only the owner
        redo(project, "ana", anyone=True)
    as_owner(project)
    redo(project, "lead", anyone=True)
    coding.apply_codes(project, "ben", "P01/T1", ["Worry"], "ben", 0, 5)  # ben's newest step, hidden from ana
    before = db_state(project)
    as_coder(project, "ana")
    with pytest.raises(WaveqdaError, match=r"it is ben's step in a transcript being coded blind") as refused:
        undo(project, "ana", anyone=True)
    assert "Worry" not in str(refused.value) and "0:5" not in str(refused.value)
    assert db_state(project) == before
    as_coder(project, "ben")
    assert undo(project, "ben").operation == "coding.apply"  # their own, as ever
    as_coder(project, "ana")
    with pytest.raises(WaveqdaError, match="it is ben's step"):
        redo(project, "ana", anyone=True)


@pytest.mark.both_engines
def test_the_history_hides_undo_and_redo_of_others_hidden_steps(blind_study) -> None:
    """On main, "Undid #n: Coded P01/T1 … “It was brilliant.” as Brilliance (ben)" stood in the coder's history
    when ben undid his own step in the blind transcript."""
    project = blind_study.project
    as_coder(project, "ben")
    coding.apply_codes(project, "ben", "P01/T1", ["Worry"], "ben", 0, 12)
    undone = undo(project, "ben")
    redo(project, "ben")
    assert undone is not None and "P01/T1 0:12" in undone.summary

    def steps() -> list[str]:
        with project.read() as session:
            return [row.summary for row in history(session) if row.operation.startswith("history.")]

    as_coder(project, "ana")
    assert steps() == [BLIND_SUMMARY, BLIND_SUMMARY]
    as_coder(project, "ben")
    assert all("P01/T1 0:12" in s for s in steps())  # his own
    as_owner(project)
    assert all("P01/T1 0:12" in s for s in steps())


# --- changes by id on a coding the coder may not see ----------------------------------------------------------


@pytest.mark.both_engines
@pytest.mark.parametrize(
    "change",
    [
        lambda p, cid: coding.remove_coding(p, "ana", cid),
        lambda p, cid: coding.set_key_quote(p, "ana", cid, True),
        lambda p, cid: coding.set_coding_memo(p, "ana", cid, "mine now"),
        lambda p, cid: coding.resize_coding(p, "ana", cid, 0, 5),
        lambda p, cid: coding.recode_coding(p, "ana", cid, "Worry"),
        lambda p, cid: add_comment(p, "ana", "coding", cid, "what is this?"),
    ],
    ids=["uncode", "key", "memo", "resize", "recode", "comment"],
)
def test_a_coder_cannot_change_a_coding_hidden_from_them(blind_study, db_state, change) -> None:
    """On main, `waveqda uncode/key/memo ID` by a coder acted on ben's hidden coding, and the coder's own history
    step then read "Removed coding #13 Brilliance in P01/T1 44:61 “It was brilliant.”"."""
    project = blind_study.project
    before = db_state(project)
    as_coder(project, "ana")
    with pytest.raises(WaveqdaError, match=f"no coding with id {blind_study.ben_coding}"):
        change(project, blind_study.ben_coding)
    assert db_state(project) == before
    as_owner(project)
    change(project, blind_study.ben_coding)  # the owner may (and ben may, below)


@pytest.mark.both_engines
def test_comments_on_a_hidden_coding_are_hidden_with_it(blind_study) -> None:
    """On main, comments_on (the site's comment list after a reader posts one) returned the comments on any
    coding id, and the history read "Comment by ben on coding 13 (Brilliance)"."""
    project = blind_study.project
    as_coder(project, "ana")
    with project.read() as session:
        assert comments_on(session, "coding", [blind_study.ben_coding]) == {}
        summaries = [row.summary for row in history(session) if row.operation == "memo.comment"]
    assert summaries == [BLIND_SUMMARY]
    as_owner(project)
    with project.read() as session:
        [comment] = comments_on(session, "coding", [blind_study.ben_coding])[blind_study.ben_coding]
        assert comment.text == BEN_COMMENT
        assert [row.summary for row in history(session) if row.operation == "memo.comment"] == [
            f"Comment by ben on coding {blind_study.ben_coding} (Brilliance)"
        ]
    as_coder(project, "ben")
    coding.set_key_quote(project, "ben", blind_study.ben_coding, True)  # his own, as ever


# --- every read command, as a coder and as the owner ----------------------------------------------------------

READS = [
    ["transcripts", "--json"],
    ["show", "P01/T1", "--json"],
    ["participants", "--json"],
    ["codes", "--json"],
    ["codings", "--json"],
    ["codings", "--code", "Brilliance", "--json"],
    ["memos", "--json"],
    ["history", "--json"],
    ["matrix", "--json"],
    ["matrix", "--measure", "participants", "--json"],
    ["matrix", "--measure", "words", "--json"],
    ["matrix", "--measure", "coverage", "--json"],
    ["trajectories", "--code", "Brilliance", "--json"],
    ["cooccurrence", "--json"],
    ["progress", "--json"],
    ["query", '"Brilliance" OR "Support"', "--json"],
    ["query", '"Brilliance" AND "Support"', "--json"],
    ["query", '"Brilliance" NEAR/5 "Support/Peer support"', "--json"],
    ["query", '"Brilliance" NEAR/turn "Support"', "--json"],
    ["query", '"Brilliance" OVERLAPS "Support"', "--json"],
    ["query", 'NOT "Brilliance"', "--json"],
    ["words", "--code", "Brilliance", "--json"],
    ["search", "brilliant", "--json"],
]
EXPORTS = [
    ("csv", "codings"),
    ("csv", "matrix"),
    ("csv", "matrix-coding"),
    ("csv", "memos"),
    ("xlsx", "codings"),
    ("docx", "themes"),
    ("docx", "framework"),
    ("docx", "codebook"),
    ("docx", "cards"),
    ("docx", "matrix-coding"),
    ("docx", "memos"),
    ("docx", "transcript"),
    ("qdc", "codebook"),
    ("qdpx", "project"),
]
SAME_FOR_ALL = {"participants", "search", "codebook"}  # they show no codings: the owner sees the same


def run(project: Path, coder: str, *args: str, out: Path | None = None) -> str:
    done = subprocess.run(
        [*CLI, args[0], str(project), *args[1:], *([str(out)] if out else [])],
        capture_output=True,
        text=True,
        env={**os.environ, "WAVEQDA_CODER": coder},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def stripped_copy(project: Path, tmp_path: Path, keep: str = "ana") -> Path:
    """The project as coder ``keep`` should see it: the other coders' codings in the blind transcripts
    deleted outright, with the memos (comments) attached to them."""
    copy = tmp_path / f"stripped-{keep}.wqda"
    shutil.copy(project, copy)
    with sqlite3.connect(copy) as db:
        doomed = (
            "SELECT codings.id FROM codings JOIN coders ON coders.id = codings.coder_id WHERE codings.transcript_id "
            "IN (SELECT transcript_id FROM blind_transcripts) AND coders.name != ?"
        )
        db.execute(f"DELETE FROM memos WHERE target_type = 'coding' AND target_id IN ({doomed})", (keep,))
        assert db.execute(f"DELETE FROM codings WHERE id IN ({doomed})", (keep,)).rowcount > 0
    return copy


def exported(project: Path, coder: str, suffix: str, kind: str, tmp_path: Path) -> str:
    """The export's text, with what differs from one run to the next (times, ids of a new file) blotted out."""
    out = tmp_path / f"{coder}-{kind}-{project.stem}.{suffix}"
    extra = ["--transcript", "P01/T1"] if kind == "transcript" else []
    run(project, coder, "export", "--kind", kind, *extra, out=out)
    if suffix in ("docx", "xlsx", "qdpx"):
        with zipfile.ZipFile(out) as archive:
            names = [n for n in archive.namelist() if n.endswith((".xml", ".qde")) and "docProps" not in n]
            text = "\n".join(archive.read(n).decode("utf-8", "replace") for n in sorted(names))
    else:
        text = out.read_text(encoding="utf-8-sig")
    text = re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:\d\d)?", "<time>", text)
    text = re.sub(r"\d{1,2} [A-Z][a-z]+ \d{4}", "<date>", text)
    return re.sub(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "<uuid>", text)


@pytest.fixture
def blind_pair(blind_study, tmp_path) -> tuple[Path, Path]:
    blind_study.project.close()
    return blind_study.project.path, stripped_copy(blind_study.project.path, tmp_path)


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a))
def test_every_read_command_shows_a_coder_only_what_blind_coding_leaves_them(blind_pair, args) -> None:
    project, stripped = blind_pair
    coder_sees = run(project, "ana", *args)
    assert coder_sees == run(stripped, "ana", *args)
    assert BEN_MEMO not in coder_sees and BEN_COMMENT not in coder_sees
    owner_sees = run(project, "lead", *args)
    if args[0] in SAME_FOR_ALL:
        assert owner_sees == coder_sees
    else:
        assert owner_sees != coder_sees  # the command shows codings: the comparison above could fail


@pytest.mark.parametrize(("suffix", "kind"), EXPORTS, ids=lambda v: v)
def test_every_export_holds_for_a_coder_only_what_blind_coding_leaves_them(blind_pair, tmp_path, suffix, kind) -> None:
    project, stripped = blind_pair
    coder_sees = exported(project, "ana", suffix, kind, tmp_path)
    assert coder_sees.replace("stripped-ana", "study") == exported(stripped, "ana", suffix, kind, tmp_path).replace(
        "stripped-ana", "study"
    )
    assert "BENMEMO" not in coder_sees and "BENCOMMENT" not in coder_sees
    owner_sees = exported(project, "lead", suffix, kind, tmp_path)
    assert (owner_sees == coder_sees) == (suffix == "qdc")  # a codebook holds no codings


def test_the_command_line_refuses_a_coders_undo_and_changes_of_hidden_codings(blind_pair) -> None:
    """The same refusals as above through the real CLI, one line each, and the history a coder reads after."""
    project, _ = blind_pair
    before = run(project, "lead", "history", "--json")

    def refused(*args: str) -> str:
        done = subprocess.run(
            [*CLI, args[0], str(project), *args[1:]],
            capture_output=True,
            text=True,
            env={**os.environ, "WAVEQDA_CODER": "ana"},
        )
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert "brilliant" not in done.stderr and "Brilliance" not in done.stderr
        return done.stderr

    assert "can undo" in refused("undo", "--anyone")
    with sqlite3.connect(project) as db:
        [[ben_coding]] = db.execute("SELECT id FROM codings WHERE memo = ?", (BEN_MEMO,)).fetchall()
    for args in (["uncode", str(ben_coding)], ["key", str(ben_coding)], ["memo", "x", "--coding", str(ben_coding)]):
        assert f"no coding with id {ben_coding}" in refused(*args)
    assert run(project, "lead", "history", "--json") == before  # nothing stored
    run(project, "ben", "undo")  # his comment on his coding in P01/T1
    shown = json.loads(run(project, "ana", "history", "--json"))
    assert shown[-1]["summary"] == BLIND_SUMMARY and shown[-1]["actor"] == "ben"
    assert json.loads(run(project, "lead", "history", "--json"))[-1]["summary"].startswith("Undid #")
    assert "Comment by ben on coding" in json.loads(run(project, "ben", "history", "--json"))[-1]["summary"]


@pytest.mark.parametrize(
    "args", [["matrix", "--json"], ["trajectories", "--code", "Support", "--json"], ["progress", "--json"]], ids=str
)
def test_a_coder_with_no_codings_in_a_blind_transcript_is_not_told_others_coded_it(blind_pair, tmp_path, args) -> None:
    """On main, cara (no codings of her own in P01/T1) read "(interviews coded) 2 of 2" and "absent" there in the
    matrix and trajectories, not "1 of 2" and "not coded yet": so someone had coded it, and not with that theme."""
    project, _ = blind_pair
    coder_sees = run(project, "cara", *args)
    assert coder_sees == run(stripped_copy(project, tmp_path, keep="cara"), "cara", *args)
    assert run(project, "lead", *args) != coder_sees


# --- a team project on PostgreSQL, with a real coder login -------------------------------------------------------


@pytest.fixture
def coder_login(coded_study, pg_cluster):
    """A fresh PostgreSQL login made a coder of the coded study's database by its owner (``waveqda role``)."""
    import psycopg
    from sqlalchemy.engine import make_url
    from typer.testing import CliRunner

    from app.cli import app

    url = coded_study.project.target
    login = f"ana_{os.getpid()}_{id(coded_study) % 100000}"
    with psycopg.connect(pg_cluster._dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{login}" LOGIN')
    assert CliRunner().invoke(app, ["role", url, login, "coder"]).exit_code == 0
    yield url.replace("postgresql+psycopg://postgres@", f"postgresql+psycopg://{login}@", 1)
    database = make_url(url).database or "postgres"
    with psycopg.connect(pg_cluster._dsn(database), autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{login}"')
    with psycopg.connect(pg_cluster._dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP ROLE "{login}"')


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_coder_login_on_postgresql_meets_the_same_refusals_and_views(blind_study, coder_login, db_state) -> None:
    """The database role decides who the owner is: the coder login's commands are refused and filtered as on a
    file, and the owner's login (the database's owner) sees and may do everything."""
    from typer.testing import CliRunner

    from app.cli import app

    def cli(url: str, *args: str):  # noqa: ANN202
        return CliRunner().invoke(app, [args[0], url, *args[1:]], env={"WAVEQDA_CODER": "ana"})

    owner_url, ben_coding = blind_study.project.target, blind_study.ben_coding
    before = db_state(blind_study.project)
    refused = cli(coder_login, "undo", "--anyone")
    assert refused.exit_code == 1 and "only the project's owner can undo" in refused.stderr
    for args in (["uncode", str(ben_coding)], ["key", str(ben_coding)], ["memo", "x", "--coding", str(ben_coding)]):
        done = cli(coder_login, *args)
        assert done.exit_code == 1 and f"no coding with id {ben_coding}" in done.stderr
    assert db_state(blind_study.project) == before
    seen = {c["id"] for c in json.loads(cli(coder_login, "codings", "--json").stdout)}
    assert ben_coding not in seen and ben_coding in {
        c["id"] for c in json.loads(cli(owner_url, "codings", "--json").stdout)
    }
    assert BEN_COMMENT not in cli(coder_login, "memos", "--json").stdout
    assert BEN_COMMENT in cli(owner_url, "memos", "--json").stdout
    assert cli(owner_url, "undo", "--anyone").exit_code == 0  # the owner takes back the switch


def test_the_name_scan_finds_names_in_hidden_comments_without_quoting_them_to_a_coder(blind_study) -> None:
    """Every name is still found (an export must not leak one), but on main a coder's `names scan` quoted the
    words around it: "memo 1: …BENCOMMENT [Priya Kaur] said it was brilliant…"."""
    project = blind_study.project
    add_comment(project, "ben", "coding", blind_study.ben_coding, "BENCOMMENT Priya Kaur said it was brilliant")
    project.close()

    def scanned(coder: str) -> dict[str, str]:
        return {row["text"]: row["context"] for row in json.loads(run(project.path, coder, "names", "scan", "--json"))}

    coder_sees, owner_sees = scanned("ana"), scanned("lead")
    assert "BENCOMMENT" not in json.dumps(coder_sees), coder_sees
    assert coder_sees["Priya Kaur"] == "in a memo on a coding being coded blind (shown when the owner reveals it)"
    assert "BENCOMMENT [Priya Kaur] said" in owner_sees["Priya Kaur"]
    assert {k: v for k, v in coder_sees.items() if k != "Priya Kaur"} == {
        k: v for k, v in owner_sees.items() if k != "Priya Kaur"
    }


@pytest.mark.both_engines
def test_a_site_account_cannot_comment_on_a_hidden_coding(blind_study, db_state) -> None:
    """The workshop site serves its accounts through one login (on PostgreSQL, the owner's), so the account's
    own role must decide: on main a non-owner account could store a comment on a hidden coding (its id guessed
    or kept from before), which the history's summary then named. Refused as a coding that does not exist."""
    project = blind_study.project
    before = db_state(project)
    with pytest.raises(WaveqdaError, match=f"no coding with id {blind_study.ben_coding}"):
        add_comment(project, "advisor1", "coding", blind_study.ben_coding, "seen it", is_owner=False)
    assert db_state(project) == before
    assert add_comment(project, "lead", "coding", blind_study.ben_coding, "the owner may", is_owner=True) > 0
