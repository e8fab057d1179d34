"""The workshop site (issue 18): a read-mostly web app over the domain layer, for people who read themes.

``create_app(config)`` builds the Starlette app; ``waveqda site`` serves it with uvicorn. Pages are rendered on
the server from the dataclasses of ``app.web.site.views``; htmx (shipped in ``static/``, no network at run
time) swaps the filtered quotes and a quote's comments in place, and every filter is also a plain form and
every comment a plain POST, so the site works without JavaScript.

Rules every route follows:
- no page without a logged-in account (``Site.visitor``): a password checked by ``models.accounts``, or the
  single-sign-on header named with ``--trust-header``; one line per login, logout and refusal goes to the
  access log (never a password);
- every POST carries the session's CSRF token and is refused, changing nothing, when it does not
  (``security.csrf_ok``);
- the only write is a comment, stored by ``models.comments.add_comment`` (one journalled, undoable change by
  the account's name); a bad request gets a clear message and changes nothing;
- text is anonymised through the register unless the site was started with ``--no-anonymise``, and even then
  only an owner's pages show it as stored: the choice to show names is the owner's alone.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from app.web.access_log import AccessLog
from app.web.site import security, views
from models.accounts import Account, account, authenticate
from models.comments import add_comment
from models.errors import WaveqdaError
from models.store import ChangeMark, Project

HERE = Path(__file__).resolve().parent
MAX_BODY = 64 * 1024  # a login or a comment; anything bigger is not one of ours
# Whether the page being read is for an owner (blind-coded transcripts' codings shown; see ``Site.read``).
_SEES_BLIND: ContextVar[bool] = ContextVar("sees_blind", default=False)
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class SiteConfig:
    """How one site runs: the project, whether text is anonymised, sessions, the SSO header and the log."""

    project: str
    anonymise: bool = True
    secret: str = ""  # signs session cookies; "" makes one per process (a restart logs everyone out)
    idle_seconds: int = 30 * 60
    trust_header: str | None = None
    log: Path | None = None
    https_only: bool = False  # set the cookie's Secure flag (behind an HTTPS proxy)
    cache: bool = True  # keep pages' data until the project changes (off only to measure a cold page)


class ViewCache:
    """Pages' data, kept until the project changes: readers of one workshop ask for the same pages, and every
    committed change (a comment, a coder's work) changes ``Project.change_mark`` and so empties it.

    Readers who ask for a page while it is being read wait for that one read instead of each starting their
    own (twenty readers opening the same theme at once cost one read, not twenty)."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self.version: ChangeMark | None = None
        self.items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.reading: dict[tuple[Any, ...], threading.Lock] = {}
        self.lock = threading.Lock()

    def get(self, version: ChangeMark, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        if self.size <= 0:
            return make()
        with self.lock:
            if version != self.version:
                self.items.clear()
                self.reading.clear()
                self.version = version
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            reading = self.reading.setdefault(key, threading.Lock())
        with reading:
            with self.lock:
                if version == self.version and key in self.items:
                    return self.items[key]
            value = make()
            with self.lock:
                if version == self.version:
                    self.items[key] = value
                    self.reading.pop(key, None)
                    while len(self.items) > self.size:
                        self.items.popitem(last=False)
        return value


class Site:
    """The routes, with the project, the templates, the access log and the cache they share."""

    def __init__(self, config: SiteConfig, project: Project) -> None:
        self.config = config
        self.project = project
        self.log = AccessLog(config.log)
        self.cache = ViewCache(128 if config.cache else 0)
        self.failed_logins = security.FailedLogins()
        # stand-ins for what differs between readers of one cached page: unguessable, so no text can hold them
        self.stand_in_token = f"csrf-{secrets.token_hex(16)}"
        self.stand_in = Account(f"reader-{secrets.token_hex(8)}", f"role-{secrets.token_hex(8)}")  # type: ignore[arg-type]
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
        )
        env.globals["urlencode"] = urlencode
        self.templates = Jinja2Templates(env=env)

    # --- who is asking ---------------------------------------------------------------------------------

    def visitor(self, request: Request) -> security.Visitor:
        """The logged-in account, after the idle timeout and the trusted header have had their say."""
        header = self.config.trust_header
        if header and request.headers.get(header):
            name = request.headers[header].strip()
            found = account(self.project, name)
            if found is None:
                self.log.write("refused", name, security.remote(request), f"trusted header {header}: no such account")
                return security.Visitor(None, "unknown account")
            if request.session.get(security.USER) != found.name:
                security.start_session(request, found)
                self.log.write("login", found.name, security.remote(request), f"trusted header {header}")
            request.session[security.SEEN] = int(time.time())
            return security.Visitor(found)
        name = request.session.get(security.USER)
        if not isinstance(name, str):
            return security.Visitor(None)
        seen = request.session.get(security.SEEN)
        now = int(time.time())
        if not isinstance(seen, int) or now - seen > self.config.idle_seconds:
            security.end_session(request)
            self.log.write("logout", name, security.remote(request), "idle timeout")
            return security.Visitor(None, "idle")
        found = account(self.project, name)
        if found is None:
            security.end_session(request)
            self.log.write("refused", name, security.remote(request), "account removed")
            return security.Visitor(None, "unknown account")
        request.session[security.SEEN] = now
        return security.Visitor(found)

    def anonymise_for(self, who: Account) -> bool:
        return self.config.anonymise or who.role != "owner"

    # --- responses ---------------------------------------------------------------------------------------

    def render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        who = context.get("who")
        base = {
            "who": None,
            "anonymised": self.anonymise_for(who) if isinstance(who, Account) else True,
            "names_note": "",
            "csrf_token": security.csrf_token(request),
            "csrf_field": security.CSRF_FIELD,
            "path": request.url.path,
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "htmx": request.headers.get("hx-request") == "true",
        }
        response = self.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
        response.headers.update(SECURITY_HEADERS)
        return response

    def error(self, request: Request, status: int, message: str, who: Account | None = None) -> Response:
        return self.render(request, "error.html", {"who": who, "status": status, "message": message}, status)

    def to_login(self, request: Request, reason: str = "") -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = "/login?" + urlencode({"next": target, **({"why": reason} if reason else {})})
        if request.headers.get("hx-request") == "true":
            response = Response(status_code=401, headers={"HX-Redirect": url, **SECURITY_HEADERS})
            return response
        return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)

    def cached(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        return self.cache.get(self.project.change_mark(), key, make)

    # --- login and logout ----------------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        who = (await run_in_threadpool(self.visitor, request)).account
        if who is not None:
            return RedirectResponse(security.safe_next(request.query_params.get("next")), status_code=303)
        why = request.query_params.get("why", "")
        note = "Your session ended after a time without use; please log in again." if why == "idle" else ""
        context = {"who": None, "next": security.safe_next(request.query_params.get("next")), "error": "", "note": note}
        return self.render(request, "login.html", context)

    async def login(self, request: Request) -> Response:
        form = await request.form()
        if not security.csrf_ok(request, _field(form, security.CSRF_FIELD)):
            self.log.write("refused", _field(form, "name") or "-", security.remote(request), "login without CSRF token")
            return self.error(request, 403, "This form has expired or came from another site. Reload the page.")
        name, password = " ".join((_field(form, "name") or "").split()), _field(form, "password") or ""
        target = security.safe_next(_field(form, "next"))
        if self.failed_logins.too_many(name):
            self.log.write("refused", name, security.remote(request), "too many failed logins")
            error = "Too many failed attempts for this name; try again later."
            return self.render(request, "login.html", {"who": None, "next": target, "error": error, "note": ""}, 429)
        found = await run_in_threadpool(authenticate, self.project, name, password) if name and password else None
        if found is None:
            self.failed_logins.failed(name)
            self.log.write("refused", name or "-", security.remote(request), "wrong name or password")
            context = {"who": None, "next": target, "error": "Wrong name or password.", "note": ""}
            return self.render(request, "login.html", context, 401)
        self.failed_logins.succeeded(name)
        security.start_session(request, found)
        self.log.write("login", found.name, security.remote(request), f"role {found.role}")
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        who = (await run_in_threadpool(self.visitor, request)).account
        if who is None:
            return self.to_login(request)
        if not security.csrf_ok(request, _field(form, security.CSRF_FIELD)):
            self.log.write("refused", who.name, security.remote(request), "logout without CSRF token")
            return self.error(request, 403, "This form has expired or came from another site. Reload the page.", who)
        security.end_session(request)
        self.log.write("logout", who.name, security.remote(request))
        return RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)

    # --- pages ---------------------------------------------------------------------------------------------

    async def page(
        self, request: Request, template: str, build: Callable[[bool], tuple[tuple[Any, ...], Callable[[], Any]]]
    ) -> Response:
        """A page for a logged-in reader. ``build(anonymise)`` names the page's data (a cache key) and how to
        read it; the page is rendered once per project version with stand-ins for what differs per request
        (the CSRF token, the reader's name and role), which are put in as it is sent: twenty readers of one
        theme cost one read and one render, then a few string replacements each."""
        visit = await run_in_threadpool(self.visitor, request)
        if visit.account is None:
            return self.to_login(request, visit.reason)
        who = visit.account
        anonymised = self.anonymise_for(who)
        key, read = build(anonymised)
        owner = who.role == "owner"  # sees blind-coded transcripts' codings; a page is cached per answer

        def rendered() -> str:
            sees_blind = _SEES_BLIND.set(owner)
            try:
                data = read()
            finally:
                _SEES_BLIND.reset(sees_blind)
            note = self.cached(("note",), lambda: self.read(views.anonymisation_note)) if anonymised else ""
            context = {**self._shared_context(request), "who": self.stand_in, "data": data,
                       "anonymised": anonymised, "names_note": note}  # fmt: skip
            return self.templates.get_template(template).render(context)

        try:
            html = await run_in_threadpool(self.cached, ("html", template, owner, *key), rendered)
        except LookupError as exc:
            return self.error(request, 404, str(exc.args[0]) if exc.args else "Not found.", who)
        except WaveqdaError as exc:
            return self.error(request, 400, str(exc), who)
        html = (
            html.replace(self.stand_in_token, security.csrf_token(request))
            .replace(self.stand_in.name, str(escape(who.name)))
            .replace(self.stand_in.role, who.role)
        )
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    def _shared_context(self, request: Request) -> dict[str, Any]:
        """What every reader of a page shares (the per-request values are stand-ins, see ``page``)."""
        return {
            "csrf_token": self.stand_in_token,
            "csrf_field": security.CSRF_FIELD,
            "path": request.url.path,
            "here": _here(request),
            "htmx": False,
        }

    async def themes(self, request: Request) -> Response:
        def build(anonymise: bool) -> tuple[tuple[Any, ...], Callable[[], Any]]:
            return ("themes", anonymise), lambda: self.read(views.themes_index, anonymise)

        return await self.page(request, "themes.html", build)

    async def theme(self, request: Request) -> Response:
        try:
            code_id = int(request.path_params["code_id"])
            filters = _filters(request)
        except ValueError as exc:
            return await self._bad(request, str(exc))

        def build(anonymise: bool) -> tuple[tuple[Any, ...], Callable[[], Any]]:
            return ("theme", code_id, filters, anonymise), lambda: self.read(
                views.theme_page, code_id, filters, anonymise
            )

        template = "_quotes.html" if _partial(request, "quotes") else "theme.html"
        return await self.page(request, template, build)

    async def matrix(self, request: Request) -> Response:
        try:
            filters = _filters(request)
        except ValueError as exc:
            return await self._bad(request, str(exc))

        def build(anonymise: bool) -> tuple[tuple[Any, ...], Callable[[], Any]]:
            return ("matrix", filters, anonymise), lambda: self.read(views.matrix_page, filters, anonymise)

        return await self.page(request, "matrix.html", build)

    async def trajectories(self, request: Request) -> Response:
        try:
            filters = _filters(request)
        except ValueError as exc:
            return await self._bad(request, str(exc))

        def build(anonymise: bool) -> tuple[tuple[Any, ...], Callable[[], Any]]:
            return ("trajectories", filters, anonymise), lambda: self.read(views.trajectories_page, filters, anonymise)

        return await self.page(request, "trajectories.html", build)

    async def joint(self, request: Request) -> Response:
        def build(anonymise: bool) -> tuple[tuple[Any, ...], Callable[[], Any]]:
            return ("joint", anonymise), lambda: self.read(views.joint_page, anonymise)

        return await self.page(request, "joint.html", build)

    async def memos(self, request: Request) -> Response:
        search = request.query_params.get("search", "")[:200]
        kind = request.query_params.get("kind", "")

        def build(anonymise: bool) -> tuple[tuple[Any, ...], Callable[[], Any]]:
            return ("memos", search, kind, anonymise), lambda: self.read(views.memos_page, search, kind, anonymise)

        return await self.page(request, "memos.html", build)

    async def _bad(self, request: Request, message: str) -> Response:
        visit = await run_in_threadpool(self.visitor, request)
        if visit.account is None:
            return self.to_login(request, visit.reason)
        return self.error(request, 400, message, visit.account)

    def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Blind coding (models/blind.py): an owner reads everything; anyone else reads as nobody's coder, so
        no coding in a transcript being coded blind shows until the owner reveals it."""
        with self.project.read(viewer=("", _SEES_BLIND.get())) as session:
            return fn(session, *args)

    # --- comments --------------------------------------------------------------------------------------------

    async def comment(self, request: Request) -> Response:
        """Store a comment on a theme (code) or a quote (coding) as a memo by the logged-in account."""
        visit = await run_in_threadpool(self.visitor, request)
        if visit.account is None:
            return self.to_login(request, visit.reason)
        who = visit.account
        form = await request.form()
        if not security.csrf_ok(request, _field(form, security.CSRF_FIELD)):
            self.log.write("refused", who.name, security.remote(request), "comment without CSRF token")
            return self.error(request, 403, "This form has expired or came from another site. Reload the page.", who)
        target = _field(form, "target") or ""
        try:
            target_id = int(_field(form, "target_id") or "")
        except ValueError:
            return self.error(request, 400, "A comment must name the theme or quote it is about.", who)
        text = _field(form, "text") or ""
        try:
            owner = who.role == "owner"  # the site's one login is the owner's on PostgreSQL: the account decides
            await run_in_threadpool(add_comment, self.project, who.name, target, target_id, text, owner)
        except WaveqdaError as exc:
            return self.error(request, 400, f"Your comment was not saved: {exc}.", who)
        if _partial(request, "comments"):
            anonymise = self.anonymise_for(who)
            comments = await run_in_threadpool(
                lambda: self.read(views.comment_target_page, target, target_id, anonymise)
            )
            context = {"who": who, "comments": comments, "target": target, "target_id": target_id, "saved": True}
            context["here"] = security.safe_next(_field(form, "next")).split("#")[0]
            return self.render(request, "_comments.html", context)
        back = security.safe_next(_field(form, "next"))
        return RedirectResponse(back, status_code=303, headers=SECURITY_HEADERS)


KNOWN_PARAMETERS = ("timepoint", "attribute", "code", "page", "search", "kind")


def _here(request: Request) -> str:
    """The page's address as comment forms return to it: its path and the filters the site knows, nothing
    else a first visitor's address held (the page is rendered once for every reader)."""
    kept = [(key, value) for key, value in request.query_params.multi_items() if key in KNOWN_PARAMETERS]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _partial(request: Request, target: str) -> bool:
    """An htmx request for one region of the page (``hx-target``), answered with that region alone."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-target", "").startswith(target)


def _filters(request: Request) -> views.Filters:
    """The reader's filters from the query string; a malformed number is a ``ValueError`` (a bad request)."""
    params = request.query_params
    code = params.get("code", "").strip()
    page = params.get("page", "").strip()
    try:
        return views.Filters(
            timepoint=params.get("timepoint", "").strip()[:100],
            attribute=params.get("attribute", "").strip()[:300],
            code=int(code) if code else None,
            page=int(page) if page else 1,
        )
    except ValueError:
        raise ValueError("code and page must be whole numbers") from None


def create_app(config: SiteConfig, project: Project) -> Starlette:
    """The site's ASGI app for an open project (the caller closes the project when the server stops)."""
    site = Site(config, project)
    routes = [
        Route("/", site.themes, methods=["GET"]),
        Route("/themes/{code_id}", site.theme, methods=["GET"]),
        Route("/matrix", site.matrix, methods=["GET"]),
        Route("/trajectories", site.trajectories, methods=["GET"]),
        Route("/joint", site.joint, methods=["GET"]),
        Route("/memos", site.memos, methods=["GET"]),
        Route("/comments", site.comment, methods=["POST"]),
        Route("/login", site.login_form, methods=["GET"]),
        Route("/login", site.login, methods=["POST"]),
        Route("/logout", site.logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=config.secret or secrets.token_urlsafe(32),
            session_cookie="waveqda_site",
            max_age=None,  # a browser session; the idle timeout is checked on every request
            same_site="lax",
            https_only=config.https_only,
        )
    ]
    app = Starlette(routes=routes, middleware=middleware, max_body_size=MAX_BODY)
    app.state.site = site
    return app
