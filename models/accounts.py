"""Browser accounts: who may log in to ``waveqda serve`` and ``waveqda site``, and with which role (issue 18).

An account's name is the coder name its changes are recorded under, so two people logged in through a
browser never code as each other. Roles are the team roles of issue 16, enforced by waveqda for browser
sessions: an owner manages accounts, a coder codes, a reader reads (and, on the workshop site, comments).
On PostgreSQL these accounts are separate from the database's own logins (``waveqda role``): the server
connects with one login and each browser session acts as its account within it.

Passwords are stored only as argon2id hashes (argon2-cffi, a memory-hard function); an account without a
hash can be named only by a trusted single-sign-on header (``--trust-header``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import select

from models.errors import WaveqdaError
from models.naming import check_name_text
from models.schema import UserAccount, utcnow
from models.store import Project

Role = Literal["owner", "coder", "reader"]
ROLES: tuple[Role, ...] = ("owner", "coder", "reader")
MIN_PASSWORD = 8

# Verifying against this when the name is unknown takes as long as a real check, so the time a refusal
# takes does not tell which names exist.
_DUMMY_HASH: str | None = None


@dataclass(frozen=True)
class Account:
    name: str
    role: Role

    @property
    def may_code(self) -> bool:
        return self.role in ("owner", "coder")


def _hasher():  # argon2's import costs ~20 ms: only commands that hash pay it
    from argon2 import PasswordHasher

    return PasswordHasher()


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise WaveqdaError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise WaveqdaError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    return password


def add_user(project: Project, actor: str, name: str, role: str, password: str | None) -> Account:
    """A new account; ``password`` None makes one that only a trusted single-sign-on header can name."""
    name = check_name_text(name, "user name")
    if not name:
        raise WaveqdaError("the user name is empty")
    checked = check_role(role)
    digest = _hasher().hash(check_password(password)) if password is not None else ""
    # not undoable: an account's hash never goes into the journal's row images
    with project.change(actor, "users.add", f"account {name} ({checked})", undoable=False) as session:
        if session.scalar(select(UserAccount.id).where(UserAccount.name == name)) is not None:
            raise WaveqdaError(f"there is already an account named {name!r}")
        session.add(UserAccount(name=name, role=checked, password_hash=digest))
    return Account(name, checked)


def set_role(project: Project, actor: str, name: str, role: str) -> Account:
    checked = check_role(role)
    with project.change(actor, "users.role", f"account {name} is now {checked}", undoable=False) as session:
        row = _row(session, name)
        row.role = checked
        row.updated_at = utcnow()
    return Account(row.name, checked)


def set_password(project: Project, actor: str, name: str, password: str) -> None:
    digest = _hasher().hash(check_password(password))
    with project.change(actor, "users.password", f"new password for {name}", undoable=False) as session:
        row = _row(session, name)
        row.password_hash = digest
        row.updated_at = utcnow()


def remove_user(project: Project, actor: str, name: str) -> None:
    with project.change(actor, "users.remove", f"account {name} removed", undoable=False) as session:
        session.delete(_row(session, name))


def users(project: Project) -> list[Account]:
    with project.read() as session:
        rows = session.execute(select(UserAccount.name, UserAccount.role).order_by(UserAccount.name))
        return [Account(name, cast(Role, role)) for name, role in rows]


def account(project: Project, name: str) -> Account | None:
    """The account called ``name`` (as a trusted single-sign-on header names it), or None."""
    with project.read() as session:
        row = session.execute(select(UserAccount.name, UserAccount.role).where(UserAccount.name == name)).first()
    return Account(row.name, cast(Role, row.role)) if row is not None else None


def authenticate(project: Project, name: str, password: str) -> Account | None:
    """The account when ``password`` is its password; None for a wrong password, an unknown name or an
    account without a password (all take about as long, and say nothing about which it was)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    global _DUMMY_HASH
    hasher = _hasher()
    with project.read() as session:
        row = session.execute(
            select(UserAccount.name, UserAccount.role, UserAccount.password_hash).where(
                UserAccount.name == " ".join(name.split())
            )
        ).first()
    if row is None or not row.password_hash:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hasher.hash("not a password of anyone")
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return Account(row.name, cast(Role, row.role))


def _row(session, name: str) -> UserAccount:
    row = session.scalar(select(UserAccount).where(UserAccount.name == name))
    if row is None:
        raise WaveqdaError(f"no account named {name!r}")
    return row
