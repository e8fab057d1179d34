"""``waveqda serve``: the terminal workspace in a browser, one logged-in account per session (issue 18).

textual-serve runs one workspace process per browser tab and relays its screen over a websocket. On its
own it has no accounts and runs the same command for everyone, so this server puts four things around it:

- every page, websocket and download needs a logged-in session (a random token in an HttpOnly, SameSite
  cookie; the server keeps the sessions, so a forged or old cookie means nothing), or a user named by a
  trusted single-sign-on header when ``--trust-header`` is given;
- each workspace runs as its session's account: that account's name is the coder, fixed for the session,
  and a reader's workspace refuses every change (``WAVEQDA_SERVED_*`` below, read by ``waveqda tui``);
- downloads are handed only to the session whose workspace made them;
- idle sessions end (their workspaces stop), sessions are capped, and every login, logout and refusal is a
  line in the access log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from app.tui.served import SERVED_ACCOUNT, SERVED_ROLE  # what `waveqda tui` reads: the account and its role
from app.web.access_log import AccessLog
from app.web.sessions import BrowserSession, SessionFull, SessionTable
from models import accounts
from models.store import Project

log = logging.getLogger("waveqda.serve")

COOKIE = "waveqda_session"
LOGIN_COOKIE = "waveqda_login"  # the login form's anti-forgery token (double submit)
WORKSPACES_PER_SESSION = 3  # tabs open at once for one login
FAILED_LOGINS_ALLOWED = 5  # per name within FAILED_LOGIN_WINDOW_S, then refused until the window passes
FAILED_LOGIN_WINDOW_S = 15 * 60
_DOWNLOAD_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class ServeSettings:
    project: str
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    trust_header: str | None = None
    idle_seconds: float = 30 * 60
    max_sessions: int = 10
    log_path: Path | None = None


def workspace_command(project: str) -> tuple[str, dict[str, str]]:
    """The shell command that starts one workspace (this Python, this package, so a venv is honoured), and
    what its environment adds: a database password travels there, never on the command line, where every
    user of the server machine could read it."""
    environment: dict[str, str] = {}
    if "://" in project:
        from sqlalchemy.engine import make_url

        url = make_url(project)
        if url.password is not None:
            environment["PGPASSWORD"] = str(url.password)
            project = url._replace(password=None).render_as_string(hide_password=False)  # set() keeps None
    command = shlex.join([sys.executable, "-c", "from app.cli import main; main()", "tui", project])
    return command, environment


class AccountAppService(AppService):
    """One workspace process, started with its session's account in the environment."""

    def __init__(self, command: str, extra: dict[str, str], account: accounts.Account, **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self.extra = extra
        self.account = account

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment.update(self.extra)
        environment[SERVED_ACCOUNT] = self.account.name
        environment[SERVED_ROLE] = self.account.role
        environment.pop("WAVEQDA_CODER", None)  # the account is the coder, whatever the server's shell says
        return environment


class WaveqdaServer(Server):
    """textual-serve's server with logins, per-account workspaces, owned downloads and an access log."""

    def __init__(self, settings: ServeSettings, project: Project) -> None:
        command, self._command_environment = workspace_command(settings.project)
        super().__init__(
            command,
            host=settings.host,
            port=settings.port,
            title="waveqda",
            public_url=settings.public_url,
        )
        self.settings = settings
        self.project = project
        self.sessions = SessionTable(settings.idle_seconds, settings.max_sessions)
        self.access = AccessLog(settings.log_path)
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._reaper: asyncio.Task[None] | None = None
        self._secure = (self.public_url or "").startswith("https:")
        import jinja2

        self._pages = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True)

    # --- the application --------------------------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        app.router.add_get("/login", self.login_page, name="login")
        app.router.add_post("/login", self.login, name="login_post")
        app.router.add_get("/logout", self.logout_page, name="logout")
        app.router.add_post("/logout", self.logout, name="logout_post")
        return app

    def initialize_logging(self) -> None:
        """Plain lines on stderr: textual-serve's own handler prints tracebacks with local variables, which
        would put session tokens in the server's output."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # the access log says who, once

    async def on_startup(self, app: web.Application) -> None:
        self._reaper = asyncio.create_task(self._end_idle_sessions())
        where = self.settings.log_path or "nowhere"
        self.console.print(f"waveqda serve: {self.public_url}  (access log: {where}; Ctrl+C stops)", highlight=False)

    async def on_shutdown(self, app: web.Application) -> None:
        if self._reaper is not None:
            self._reaper.cancel()

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every path but the login page and the static files needs a session; every answer gets headers
        that keep it out of other sites' frames and from being sniffed as another type."""
        open_paths = ("/login", "/static/")
        if not request.path.startswith(open_paths):
            session = self._session_of(request)
            if session is None and self.settings.trust_header:
                session = self._session_from_header(request)
            if session is None:
                self.access.write("refused", "-", self._remote(request), f"no session for {request.path}")
                if request.method == "GET" and request.path == "/":
                    raise web.HTTPSeeOther("/login")
                raise web.HTTPUnauthorized(text="Log in first: /login\n")
            request["session"] = session
        response = await handler(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if "session_cookie" in request:
            self._set_session_cookie(response, request["session_cookie"])
        return response

    # --- sessions ---------------------------------------------------------------------------------------

    def _session_of(self, request: web.Request) -> BrowserSession | None:
        return self.sessions.find(request.cookies.get(COOKIE))

    def _session_from_header(self, request: web.Request) -> BrowserSession | None:
        assert self.settings.trust_header is not None
        name = request.headers.get(self.settings.trust_header, "").strip()
        if not name:
            return None
        account = accounts.account(self.project, name)
        remote = self._remote(request)
        if account is None:
            self.access.write("refused", name, remote, "single sign-on header names no account")
            raise web.HTTPForbidden(text=f"{name} has no account in this project; its owner can add one\n")
        try:
            session = self.sessions.open(account, remote)
        except SessionFull as full:
            self.access.write("refused", name, remote, str(full))
            raise web.HTTPServiceUnavailable(text=f"The server is full ({full}); try again later\n") from None
        self.access.write("login", account.name, remote, "single sign-on header")
        request["session_cookie"] = session.token
        return session

    def _set_session_cookie(self, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=self._secure, path="/")

    async def _end_idle_sessions(self) -> None:
        every = max(0.5, min(30.0, self.settings.idle_seconds / 4))
        while True:
            await asyncio.sleep(every)
            for session in self.sessions.expired():
                self.access.write("logout", session.account.name, session.remote, "idle timeout")
                self._stop_workspaces(session)

    @staticmethod
    def _stop_workspaces(session: BrowserSession) -> None:
        for stop in list(session.workspaces.values()):
            stop()
        session.workspaces.clear()

    @staticmethod
    def _remote(request: web.Request) -> str:
        return request.remote or "-"

    def _same_origin(self, request: web.Request) -> bool:
        """A browser says where a form post or websocket comes from; anything but this server is refused."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser's cross-site request (browsers send Origin on both)
        return origin in (f"{request.scheme}://{request.host}", self.public_url.rstrip("/"))

    # --- login and logout -------------------------------------------------------------------------------

    def _page(self, template: str, status: int = 200, **context: Any) -> web.Response:
        html = self._pages.get_template(template).render(**context)
        response = web.Response(text=html, content_type="text/html", status=status)
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def login_page(
        self, request: web.Request, message: str = "", status: int = 200, name: str = ""
    ) -> web.Response:
        token = request.cookies.get(LOGIN_COOKIE) or _new_token()
        response = self._page("login.html", status, csrf=token, message=message, name=name)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=self._secure, path="/")
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        remote = self._remote(request)
        form = await request.post()
        name = " ".join(str(form.get("name", "")).split())
        password = str(form.get("password", ""))
        if (
            not self._same_origin(request)
            or not form.get("csrf")
            or form.get("csrf") != request.cookies.get(LOGIN_COOKIE)
        ):
            self.access.write("refused", name or "-", remote, "login form from another site or an old page")
            return await self.login_page(request, "The form was out of date; please log in again.", 403)
        if self._too_many_failures(name):
            self.access.write("refused", name, remote, "too many failed logins")
            return await self.login_page(request, "Too many failed attempts for this name; try again later.", 429)
        loop = asyncio.get_running_loop()
        account = await loop.run_in_executor(None, accounts.authenticate, self.project, name, password)
        if account is None:
            self._failures[name].append(time.monotonic())
            self.access.write("refused", name or "-", remote, "wrong name or password")
            return await self.login_page(request, "Wrong name or password.", 401, name)
        try:
            session = self.sessions.open(account, remote)
        except SessionFull as full:
            self.access.write("refused", account.name, remote, str(full))
            return await self.login_page(request, "The server is full; try again in a few minutes.", 503)
        self._failures.pop(name, None)
        self.access.write("login", account.name, remote, account.role)
        response = _see_other("/")
        self._set_session_cookie(response, session.token)
        response.del_cookie(LOGIN_COOKIE, path="/")
        return response

    def _too_many_failures(self, name: str) -> bool:
        recent = self._failures[name]
        while recent and time.monotonic() - recent[0] > FAILED_LOGIN_WINDOW_S:
            recent.popleft()
        return len(recent) >= FAILED_LOGINS_ALLOWED

    async def logout_page(self, request: web.Request) -> web.Response:
        session: BrowserSession = request["session"]
        return self._page("logout.html", csrf=session.csrf, name=session.account.name)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session: BrowserSession = request["session"]
        form = await request.post()
        if not self._same_origin(request) or form.get("csrf") != session.csrf:
            self.access.write("refused", session.account.name, self._remote(request), "logout from another site")
            raise web.HTTPForbidden(text="This logout did not come from this server's page\n")
        self.sessions.close(session.token)
        self._stop_workspaces(session)
        self.access.write("logout", session.account.name, self._remote(request))
        response = _see_other("/login")
        response.del_cookie(COOKIE, path="/")
        return response

    # --- the workspace and its downloads ----------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.Response:  # type: ignore[override]
        """The page that holds the terminal: this package's own (textual-serve's loads a web font from the
        network; nothing here does), titled with who is logged in."""
        session: BrowserSession = request["session"]
        # the address the browser used, unless --public-url says (a proxy in front); a server listening on
        # 0.0.0.0 has no address of its own to give
        base = (self.settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
        scheme = "wss" if base.startswith("https") else "ws"
        response = self._page(
            "workspace.html",
            name=session.account.name,
            static=f"{base}/static/",
            websocket_url=f"{scheme}:{base.split(':', 1)[1]}/ws",
            font_size=_int(request.query.get("fontsize"), 16),
        )
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; connect-src 'self' {scheme}:{base.split(':', 1)[1]}; "
            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
        )
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One workspace for this session's account, for as long as the tab stays open."""
        session: BrowserSession = request["session"]
        if not self._same_origin(request):
            self.access.write("refused", session.account.name, self._remote(request), "websocket from another site")
            raise web.HTTPForbidden(text="The workspace opens only from this server's page\n")
        if len(session.workspaces) >= WORKSPACES_PER_SESSION:
            raise web.HTTPTooManyRequests(text=f"At most {WORKSPACES_PER_SESSION} workspaces per login; close a tab\n")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = _int(request.query.get("width"), 80)
        height = _int(request.query.get("height"), 24)
        await websocket.prepare(request)
        service = AccountAppService(
            self.command,
            self._command_environment,
            session.account,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        session.workspaces[service.app_service_id] = lambda: asyncio.ensure_future(websocket.close())
        try:
            await service.start(width, height)
            await self._relay(websocket, service, session)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # a broken connection: logged, the process stopped below
            log.exception(error)
        finally:
            session.workspaces.pop(service.app_service_id, None)
            await service.stop()
        return websocket

    async def _relay(self, websocket: web.WebSocketResponse, service: AppService, session: BrowserSession) -> None:
        """The browser's keys, resizes and focus to the workspace; a key or a resize counts as activity
        (the page's own pings do not, so an idle open tab still times out)."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            if self.sessions.find(session.token) is not session:
                break  # logged out or timed out meanwhile
            envelope = message.json()
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                self.sessions.touch(session)
                await service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                self.sessions.touch(session)
                await service.set_terminal_size(_int(data.get("width"), 80), _int(data.get("height"), 24))
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        """A file a workspace delivered, only to the session that workspace belongs to."""
        session: BrowserSession = request["session"]
        key = request.match_info.get("key", "")
        refused = web.HTTPNotFound(text="No such download (it may have been fetched already)\n")
        if not _DOWNLOAD_KEY.match(key):
            self.access.write("refused", session.account.name, self._remote(request), "malformed download key")
            raise refused
        try:
            meta = await self.download_manager.get_download_metadata(key)
        except KeyError:
            raise refused from None
        if meta.app_service.app_service_id not in session.workspaces:
            self.access.write("refused", session.account.name, self._remote(request), "another session's download")
            raise refused
        return await super().handle_download(request)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _new_token() -> str:
    import secrets

    return secrets.token_urlsafe(24)


def _int(value: object, default: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        return default
    return number if 1 <= number <= 1000 else default


def run_server(settings: ServeSettings) -> None:
    """Serve until Ctrl+C or SIGTERM; the project stays open for logins (accounts are read per login)."""
    from app.commands.common import open_existing

    with open_existing(settings.project) as project:
        WaveqdaServer(settings, project).serve()
