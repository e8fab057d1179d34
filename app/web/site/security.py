"""Who is asking, and may they: sessions, the idle timeout, the trusted single-sign-on header and CSRF tokens.

The session lives in a cookie signed by Starlette's ``SessionMiddleware`` (itsdangerous), HttpOnly and
SameSite=Lax, holding the account name, the time of the last request and the session's CSRF token; nothing
else. A cookie whose signature does not verify is an empty session (so a forged one logs nobody in). Every
request re-reads the account, so a removed account or a changed role takes effect at once.

Every POST carries the session's CSRF token (a form field, or the ``X-CSRF-Token`` header htmx sends), and a
request a browser marks as cross-site (``Origin`` of another host, ``Sec-Fetch-Site: cross-site``) is refused
whatever it carries.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

from models.accounts import Account

USER = "user"
SEEN = "seen"
CSRF = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
FAILED_LOGINS_ALLOWED = 5  # per name, as ``waveqda serve``: then that name waits
FAILED_LOGIN_WINDOW_S = 15 * 60


class FailedLogins:
    """Wrong passwords per name: after five within 15 minutes the name is refused until the oldest is older
    (guessing a reader's password from a workshop room's network takes years, not an afternoon)."""

    def __init__(self, clock: object = time.monotonic) -> None:
        self.clock = clock
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def too_many(self, name: str) -> bool:
        with self.lock:
            recent = self.failures[name]
            now = self.clock()  # type: ignore[operator]
            while recent and now - recent[0] > FAILED_LOGIN_WINDOW_S:
                recent.popleft()
            return len(recent) >= FAILED_LOGINS_ALLOWED

    def failed(self, name: str) -> None:
        with self.lock:
            self.failures[name].append(self.clock())  # type: ignore[operator]

    def succeeded(self, name: str) -> None:
        with self.lock:
            self.failures.pop(name, None)


@dataclass(frozen=True)
class Visitor:
    """The account behind a request, or why there is none (``reason``: "", "idle", "unknown account")."""

    account: Account | None
    reason: str = ""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (before login too: the login form carries it)."""
    token = request.session.get(CSRF)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session[CSRF] = token
    return token


def cross_site(request: Request) -> bool:
    """True when the browser says the request comes from another site."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        return urlsplit(origin).netloc.lower() != host.lower()
    return origin == "null"


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """The POST carries this session's token (field or header) and does not come from another site."""
    expected = request.session.get(CSRF)
    given = submitted or request.headers.get(CSRF_HEADER) or ""
    if not isinstance(expected, str) or not expected or cross_site(request):
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


def start_session(request: Request, account: Account) -> None:
    """A fresh session for a login: the old one (and its token) is dropped, so a token or cookie planted
    before login is worth nothing after it."""
    request.session.clear()
    request.session[USER] = account.name
    request.session[SEEN] = int(time.time())
    request.session[CSRF] = secrets.token_urlsafe(32)


def end_session(request: Request) -> None:
    request.session.clear()


def remote(request: Request) -> str:
    return request.client.host if request.client else "-"


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (never another host, never ``//host``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target
