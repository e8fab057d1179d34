"""Browser accounts (issue 18): ``waveqda users`` and models.accounts, on both engines."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text

from models import accounts
from models.errors import WaveqdaError

pytestmark = pytest.mark.both_engines
CLI = [sys.executable, "-c", "from app.cli import main; main()"]


def waveqda(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=120)


def test_users_are_added_listed_changed_and_removed_from_the_command_line(project) -> None:
    where = project.url if not project.is_sqlite else str(project.path)
    added = waveqda("users", "add", where, "ann", "--role", "owner", "--password-stdin", stdin="long enough 1\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "account ann added as owner"
    assert waveqda("users", "add", where, "bob", "--password-stdin", stdin="long enough 2\n").returncode == 0
    again = waveqda("users", "add", where, "ann", "--password-stdin", stdin="long enough 3\n")
    assert again.returncode != 0 and again.stderr.strip() == "waveqda: error: there is already an account named 'ann'"
    short = waveqda("users", "add", where, "cleo", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "too short" in short.stderr and len(short.stderr.strip().splitlines()) == 1
    role = waveqda("users", "add", where, "dee", "--role", "boss", "--password-stdin", stdin="long enough 4\n")
    assert role.returncode != 0 and "unknown role 'boss'" in role.stderr
    assert waveqda("users", "role", where, "bob", "--role", "reader").returncode == 0
    listed = json.loads(waveqda("users", "list", where, "--json").stdout)
    assert listed == [{"name": "ann", "role": "owner"}, {"name": "bob", "role": "reader"}]
    assert waveqda("users", "remove", where, "bob").returncode == 0
    assert [a.name for a in accounts.users(project)] == ["ann"]
    assert accounts.authenticate(project, "ann", "long enough 1") == accounts.Account("ann", "owner")


def test_only_the_right_password_authenticates_and_none_is_stored_readably(project) -> None:
    accounts.add_user(project, "lead", "ann", "coder", "correct horse 1")
    accounts.add_user(project, "lead", "sso person", "reader", None)
    assert accounts.authenticate(project, "ann", "correct horse 1") == accounts.Account("ann", "coder")
    assert accounts.authenticate(project, " ann ", "correct horse 1") == accounts.Account("ann", "coder")
    assert accounts.authenticate(project, "ann", "correct horse 2") is None
    assert accounts.authenticate(project, "nobody", "correct horse 1") is None
    assert accounts.authenticate(project, "sso person", "") is None  # no password: only a trusted header
    assert accounts.account(project, "sso person") == accounts.Account("sso person", "reader")
    with project.read() as session:
        stored = session.execute(text("SELECT password_hash FROM accounts WHERE name = 'ann'")).scalar_one()
        events = session.execute(text("SELECT summary, changes, detail FROM events")).all()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert all("argon2" not in str(row) and "correct horse" not in str(row) for row in events)
    accounts.set_password(project, "lead", "ann", "a new password")
    assert accounts.authenticate(project, "ann", "correct horse 1") is None
    assert accounts.authenticate(project, "ann", "a new password") is not None


def test_names_are_checked_like_coder_names(project) -> None:
    with pytest.raises(WaveqdaError, match="control character"):
        accounts.add_user(project, "lead", "ann\x1b[2J", "coder", "long enough 1")
    with pytest.raises(WaveqdaError, match="no account named 'ghost'"):
        accounts.set_role(project, "lead", "ghost", "owner")
