"""Owner, coder and reader in a team project on PostgreSQL (issue 16): the database enforces the roles, the
CLI says so in one line, and a file project has none."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def as_login(url: str, login: str) -> str:
    return url.replace("postgresql+psycopg://postgres@", f"postgresql+psycopg://{login}@", 1)


@pytest.fixture
def team(small_project, pg_cluster):
    """The small study on PostgreSQL (owned by the cluster's superuser) and two fresh logins."""
    import psycopg

    names = {role: f"{role}_{os.getpid()}_{id(small_project) % 100000}" for role in ("ann", "rita")}
    with psycopg.connect(pg_cluster._dsn("postgres"), autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE ROLE "{name}" LOGIN')
    yield small_project.target, names
    from sqlalchemy.engine import make_url

    database = make_url(small_project.target).database or "postgres"
    with psycopg.connect(pg_cluster._dsn(database), autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'DROP OWNED BY "{name}"')  # its privileges on the project's tables
    with psycopg.connect(pg_cluster._dsn("postgres"), autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'DROP ROLE "{name}"')


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_coder_codes_reader_reads_only_owner_grants(team, db_state, small_project) -> None:
    url, names = team
    ann, rita = names["ann"], names["rita"]
    assert cli("role", url, ann, "coder").exit_code == 0
    granted = cli("role", url, rita, "reader")
    assert granted.exit_code == 0 and f"{rita} is now reader" in granted.stdout

    coded = cli("apply", as_login(url, ann), "--transcript", "P01/T1", "--code", "Worry", "--span", "0:5",
                "--coder", "ann")  # fmt: skip
    assert coded.exit_code == 1 and "no code" in coded.stderr  # a coder's mistakes are the usual ones...
    assert cli("code", "add", as_login(url, ann), "Worry", "--coder", "ann").exit_code == 0  # ...and coders code
    assert cli("apply", as_login(url, ann), "--transcript", "P01/T1", "--code", "Worry", "--span", "0:5",
               "--coder", "ann").exit_code == 0  # fmt: skip

    # by ids (the workspace's way; on the driver with no session): a coder's coding is stored, a reader's refused
    with small_project.read() as session:
        worry = session.execute(text("SELECT id FROM codes WHERE name = 'Worry'")).scalar_one()
        p01 = session.execute(text("SELECT min(id) FROM transcripts")).scalar_one()
    by_ids = ("--transcript", str(p01), "--code", str(worry), "--span", "10:15")
    assert cli("apply", as_login(url, ann), *by_ids, "--coder", "ann").exit_code == 0
    before = db_state(small_project)
    refused = cli("apply", as_login(url, rita), *by_ids, "--coder", "rita")
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1 and "is a reader" in refused.stderr
    assert db_state(small_project) == before

    refused = cli("code", "add", as_login(url, rita), "Hope", "--coder", "rita")
    assert refused.exit_code == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{rita} is a reader in this project" in lines[0]
    assert db_state(small_project) == before
    assert "Worry" in cli("codes", as_login(url, rita)).stdout  # readers read

    not_owner = cli("role", as_login(url, ann), rita, "coder")
    assert not_owner.exit_code == 1 and "only the project's owner" in not_owner.stderr
    listed = cli("role", url, "--json")
    roles = {m["login"]: m["role"] for m in json.loads(listed.stdout)}
    assert roles[ann] == "coder" and roles[rita] == "reader" and roles["postgres"] == "owner"
    unknown = cli("role", url, "nobody_here", "coder")
    assert unknown.exit_code == 1 and "createuser" in unknown.stderr


def test_a_file_project_has_no_roles(tmp_path: Path, small_project) -> None:
    result = cli("role", small_project.target, "ann", "coder")
    assert result.exit_code == 1 and "roles are for team projects on PostgreSQL" in result.stderr
