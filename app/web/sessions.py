"""Logged-in browser sessions of ``waveqda serve``: who, since when, idle how long, which workspaces.

Why in memory and not signed cookies: a session must be endable (logout, idle timeout, the cap) and its
workspaces stopped with it, so the server keeps the list; the cookie holds only a random token that means
nothing once the server has forgotten it (a forged or old cookie is simply unknown).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from models.accounts import Account


@dataclass
class BrowserSession:
    token: str
    account: Account
    remote: str
    csrf: str
    last_seen: float
    # app_service_id -> a function that stops that workspace (its process) and closes its websocket
    workspaces: dict[str, Callable[[], object]] = field(default_factory=dict)


class SessionFull(Exception):
    """No room for another session (the cap set with ``--max-sessions``)."""


@dataclass
class SessionTable:
    idle_seconds: float
    max_sessions: int
    clock: Callable[[], float] = time.monotonic
    _by_token: dict[str, BrowserSession] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._by_token)

    def open(self, account: Account, remote: str) -> BrowserSession:
        if len(self._by_token) >= self.max_sessions:
            raise SessionFull(f"{len(self._by_token)} sessions are open, the most this server allows")
        session = BrowserSession(
            token=secrets.token_urlsafe(32),
            account=account,
            remote=remote,
            csrf=secrets.token_urlsafe(24),
            last_seen=self.clock(),
        )
        self._by_token[session.token] = session
        return session

    def find(self, token: str | None) -> BrowserSession | None:
        """The live session for a cookie's token; None for no, unknown, forged or expired tokens."""
        if not token:
            return None
        session = self._by_token.get(token)
        if session is None or self.clock() - session.last_seen > self.idle_seconds:
            return None
        return session

    def touch(self, session: BrowserSession) -> None:
        session.last_seen = self.clock()

    def close(self, token: str) -> BrowserSession | None:
        return self._by_token.pop(token, None)

    def expired(self) -> list[BrowserSession]:
        """Sessions idle longer than allowed, taken out of the table (their workspaces still to stop)."""
        now = self.clock()
        gone = [s for s in self._by_token.values() if now - s.last_seen > self.idle_seconds]
        for session in gone:
            del self._by_token[session.token]
        return gone

    def owner_of(self, app_service_id: str) -> BrowserSession | None:
        for session in self._by_token.values():
            if app_service_id in session.workspaces:
                return session
        return None
