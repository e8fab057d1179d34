"""Who may do what in a team project on PostgreSQL: owner, coder or reader (issue 16).

The database enforces it, not waveqda: a role is a set of PostgreSQL privileges on the project's tables, granted
by the owner, so a reader's program cannot write whatever it is told, and a coder cannot grant roles. waveqda
reads a login's privileges back to name its role, refuses a reader's change before it starts (one line, not a
"permission denied" from deep inside), and grants or revokes the privileges when the owner sets a role.

A project file on SQLite has no roles: who may read or write it is the file's own permissions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from models import hot_sql
from models.errors import WaveqdaError
from models.store import Project

Role = Literal["owner", "coder", "reader"]
ROLES: tuple[Role, ...] = ("owner", "coder", "reader")
_LOGIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class Member:
    login: str
    role: Role


def role_of(session: Session, login: str | None = None) -> Role:
    """The role of ``login`` (default: the connected login) in this database's project."""
    who = login or session.execute(text("SELECT current_user")).scalar_one()
    owner = session.execute(
        text("SELECT pg_has_role(:who, tableowner, 'MEMBER') FROM pg_tables WHERE tablename = 'events'"),
        {"who": who},
    ).scalar()
    if owner:
        return "owner"
    writes = session.execute(text("SELECT has_table_privilege(:who, 'events', 'INSERT')"), {"who": who}).scalar()
    return "coder" if writes else "reader"


# One round trip at the start of every change: the lock timeout first, then the reader's refusal, then the
# write lock (CASE evaluates its branches in order and only the one it takes, so a reader never queues for
# the lock and the lock wait is already bounded).
_BEGIN_WRITE_SQL = {
    shared: text(
        "SELECT CASE WHEN set_config('lock_timeout', :ms, true) IS NULL THEN NULL"
        f" WHEN has_table_privilege('events', 'INSERT') THEN {lock}(:key)::text IS NOT NULL"
        " ELSE false END"
    )
    for shared, lock in ((False, "pg_advisory_xact_lock"), (True, "pg_advisory_xact_lock_shared"))
}


_CURRENT_USER_SQL = text("SELECT current_user")


def begin_write(session: Session | hot_sql.Driver, lock_timeout_ms: int, lock_key: int, shared: bool = False) -> None:
    """Start a change on PostgreSQL (one statement: each change's round trips are most of its cost): bound
    this transaction's lock waits by ``lock_timeout_ms``, refuse a reader's change in one line before anything
    is attempted, and take the transaction-scoped advisory lock ``lock_key`` that makes changes take turns."""
    found = hot_sql.first(session, _BEGIN_WRITE_SQL[shared], {"ms": str(int(lock_timeout_ms)), "key": lock_key})
    allowed = found is not None and found[0]
    if not allowed:
        user = hot_sql.first(session, _CURRENT_USER_SQL, {})
        who = user[0] if user is not None else "this login"
        raise WaveqdaError(f"{who} is a reader in this project: changes are refused (its owner can make you a coder)")


def members(project: Project) -> list[Member]:
    """Every login that can read the project, with its role."""
    _team_only(project)
    with project.read() as session:
        logins = session.execute(
            text(
                "SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname NOT LIKE 'pg\\_%' "
                "AND has_table_privilege(rolname, 'events', 'SELECT') ORDER BY rolname"
            )
        ).scalars()
        return [Member(login, role_of(session, login)) for login in logins]


def set_role(project: Project, actor: str, login: str, role: str) -> Member:
    """Make ``login`` (an existing PostgreSQL login) an owner, a coder or a reader of the project."""
    _team_only(project)
    if role not in ROLES:
        raise WaveqdaError(f"unknown role {role!r}: use owner, coder or reader")
    if not _LOGIN.match(login):
        raise WaveqdaError(f"{login!r} is not a PostgreSQL login name")
    with project.change(actor, "project.role", f"{login} is now {role}") as session:
        if role_of(session) != "owner":
            raise WaveqdaError("only the project's owner can set roles")
        exists = session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :l"), {"l": login}).first()
        if exists is None:
            raise WaveqdaError(f"no PostgreSQL login {login!r}: create it on the server first (createuser {login})")
        who = f'"{login}"'
        session.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {who}"))
        session.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {who}"))
        session.execute(text(f"GRANT USAGE ON SCHEMA public TO {who}"))
        session.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {who}"))
        if role in ("coder", "owner"):
            session.execute(text(f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}"))
            session.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}"))
        owner = session.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'events'")).scalar_one()
        # tables a later migration adds get the same privileges
        defaults = f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public'
        session.execute(text(f"{defaults} REVOKE ALL ON TABLES FROM {who}"))
        session.execute(text(f"{defaults} GRANT SELECT ON TABLES TO {who}"))
        if role in ("coder", "owner"):
            session.execute(text(f"{defaults} GRANT INSERT, UPDATE, DELETE ON TABLES TO {who}"))
            session.execute(text(f"{defaults} GRANT USAGE, SELECT ON SEQUENCES TO {who}"))
        if role == "owner":
            session.execute(text(f'GRANT "{owner}" TO {who}'))
    return Member(login, role)


def _team_only(project: Project) -> None:
    if project.is_sqlite:
        raise WaveqdaError(
            f"{project.label}: roles are for team projects on PostgreSQL; who may open a project file is "
            "set by the file's own permissions"
        )
