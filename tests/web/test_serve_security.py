"""``waveqda serve`` refuses what it must (issue 18): no session, a forged or expired session, cross-site
posts and websockets, other sessions' downloads and path tricks in download keys, too many sessions or
failed logins; names are escaped on its pages; the access log has one line per login, logout and refusal and
never a password."""

from __future__ import annotations

import asyncio
import http.cookiejar
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.web.serve_helpers import PASSWORDS, Served, add_accounts, copy_project, start_server, stop_server


@pytest.fixture(scope="module")
def served(demo_template: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("serve-security")
    project = copy_project(demo_template, folder)
    add_accounts(project, {"ann": "coder", "rita": "reader", "<img src=x onerror=alert(1)>": "coder"})
    server = start_server(project, folder)
    yield server
    stop_server(server)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Client:
    """A browser-like client: a cookie jar, no automatic redirects, statuses returned (not raised)."""

    def __init__(self, served: Served) -> None:
        self.base = served.url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(
        self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode("utf-8", "replace")

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def log_in(self, name: str, password: str, headers: dict[str, str] | None = None) -> int:
        self.request("/login")
        status, _, _ = self.request(
            "/login", {"csrf": self.cookie("waveqda_login") or "", "name": name, "password": password}, headers
        )
        return status


def test_without_a_session_nothing_but_the_login_page_opens(served: Served) -> None:
    client = Client(served)
    status, headers, _ = client.request("/")
    assert (status, headers["Location"]) == (303, "/login")
    for path in ("/ws", "/download/abc", "/logout"):
        assert client.request(path)[0] == 401, path
    status, headers, page = client.request("/login")
    assert status == 200 and "<form" in page
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_a_forged_session_cookie_is_unknown(served: Served) -> None:
    client = Client(served)
    forged = {"Cookie": "waveqda_session=" + "A" * 43}
    assert client.request("/", headers=forged)[0] == 303
    assert client.request("/ws", headers=forged)[0] == 401


def test_a_login_posted_from_another_site_or_without_the_forms_token_is_refused(served: Served) -> None:
    client = Client(served)
    client.request("/login")
    token = client.cookie("waveqda_login") or ""
    form = {"csrf": token, "name": "ann", "password": PASSWORDS["ann"]}
    assert client.request("/login", form, {"Origin": "http://evil.example"})[0] == 403
    assert client.request("/login", {**form, "csrf": "guessed"})[0] == 403
    fresh = Client(served)  # a cross-site form carries no token cookie of ours
    assert fresh.request("/login", form)[0] == 403
    assert client.cookie("waveqda_session") is None and fresh.cookie("waveqda_session") is None
    assert client.log_in("ann", PASSWORDS["ann"]) == 303  # the real form works
    assert client.cookie("waveqda_session")


def test_logout_needs_the_sessions_token_and_ends_the_session(served: Served) -> None:
    client = Client(served)
    assert client.log_in("ann", PASSWORDS["ann"]) == 303
    assert client.request("/logout", {"csrf": "wrong"}, {"Origin": served.url})[0] == 403
    assert client.request("/")[0] == 200  # still logged in
    session = client.cookie("waveqda_session")
    page = client.request("/logout")[2]
    token = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.request("/logout", {"csrf": token})[0] == 303
    assert client.cookie("waveqda_session") is None
    assert Client(served).request("/", headers={"Cookie": f"waveqda_session={session}"})[0] == 303  # forgotten


def test_a_websocket_from_another_site_is_refused(served: Served) -> None:
    import aiohttp

    client = Client(served)
    assert client.log_in("ann", PASSWORDS["ann"]) == 303
    cookie = f"waveqda_session={client.cookie('waveqda_session')}"

    async def connect(origin: str) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                socket = await session.ws_connect(served.url + "/ws", headers={"Cookie": cookie, "Origin": origin})
            except aiohttp.WSServerHandshakeError as refused:
                return refused.status
            await socket.close()
            return 101

    assert asyncio.run(connect("http://evil.example")) == 403
    assert asyncio.run(connect(served.url)) == 101


@pytest.mark.parametrize(
    "key", ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "..", "abc%00def", "a" * 300, "0123456789abcdef0123456789abcdef"]
)
def test_download_keys_are_keys_never_paths(served: Served, key: str) -> None:
    client = Client(served)
    assert client.log_in("ann", PASSWORDS["ann"]) == 303
    status, _, body = client.request("/download/" + key)
    assert status == 404
    assert "root:" not in body


def test_names_are_escaped_on_the_servers_pages(served: Served) -> None:
    hostile = '"><script>alert(1)</script>'
    client = Client(served)
    client.request("/login")
    status, _, page = client.request(
        "/login", {"csrf": client.cookie("waveqda_login") or "", "name": hostile, "password": "x" * 9}
    )
    assert status == 401 and 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page and "<script>" not in page
    assert client.log_in("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>-password") == 303
    status, _, page = client.request("/")
    assert status == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page


def test_the_access_log_has_logins_and_refusals_and_no_password(served: Served) -> None:
    client = Client(served)
    assert client.log_in("ann", "a-wrong-password") == 401
    assert client.log_in("ann", PASSWORDS["ann"]) == 303
    text = served.log.read_text(encoding="utf-8")
    assert "refused user=ann" in text and "login user=ann" in text
    assert "a-wrong-password" not in text and PASSWORDS["ann"] not in text
    assert all(line.split(" ")[1] in ("login", "logout", "refused") for line in text.splitlines())
    assert oct(served.log.stat().st_mode & 0o777) == "0o600"


def test_failed_logins_are_limited_per_name(served: Served) -> None:
    client = Client(served)
    statuses = [client.log_in("rita", f"guess-{n}") for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert client.log_in("rita", PASSWORDS["rita"]) == 429  # even the right one, until the window passes


def test_idle_sessions_end_and_sessions_are_capped(demo_template: Path, tmp_path: Path) -> None:
    project = copy_project(demo_template, tmp_path)
    add_accounts(project, {"ann": "coder", "bob": "coder"})
    server = start_server(project, tmp_path, "--idle-minutes", "0.02", "--max-sessions", "1")
    try:
        first, second = Client(server), Client(server)
        assert first.log_in("ann", PASSWORDS["ann"]) == 303
        assert second.log_in("bob", PASSWORDS["bob"]) == 503  # one session allowed
        assert first.request("/")[0] == 200
        time.sleep(2.5)  # idle for longer than 1.2 s
        assert first.request("/")[0] == 303
        assert second.log_in("bob", PASSWORDS["bob"]) == 303  # the ended session made room
    finally:
        stop_server(server)
    text = server.log.read_text(encoding="utf-8")
    assert "logout user=ann" in text and "idle timeout" in text


def test_a_download_is_handed_only_to_the_session_whose_workspace_made_it(demo_template: Path, tmp_path: Path) -> None:
    """In-process: a download waiting for workspace ``svc-a`` (ann's) is not given to bob's session."""
    from types import SimpleNamespace

    from aiohttp.test_utils import TestClient, TestServer

    from app.web.serve import ServeSettings, WaveqdaServer
    from models.accounts import Account
    from models.store import open_project

    project = open_project(copy_project(demo_template, tmp_path))

    async def scenario() -> tuple[int, list[str]]:
        server = WaveqdaServer(ServeSettings(project=str(project.path), log_path=tmp_path / "access.log"), project)
        ann = server.sessions.open(Account("ann", "coder"), "127.0.0.1")
        bob = server.sessions.open(Account("bob", "coder"), "127.0.0.1")
        ann.workspaces["svc-a"] = lambda: None
        await server.download_manager.create_download(
            app_service=SimpleNamespace(app_service_id="svc-a"),  # type: ignore[arg-type]
            delivery_key="k3y-of-ann",
            file_name="themes.docx",
            open_method="download",
            mime_type="application/octet-stream",
        )
        async with TestClient(TestServer(await server._make_app())) as client:
            response = await client.get("/download/k3y-of-ann", cookies={"waveqda_session": bob.token})
            return response.status, server.access.lines()

    try:
        status, lines = asyncio.run(scenario())
    finally:
        project.close()
    assert status == 404
    assert any("refused user=bob" in line and "another session's download" in line for line in lines)


def test_a_trusted_single_sign_on_header_names_the_user(demo_template: Path, tmp_path: Path) -> None:
    project = copy_project(demo_template, tmp_path)
    add_accounts(project, {"ann": "coder"})
    server = start_server(project, tmp_path, "--trust-header", "X-Remote-User")
    try:
        client = Client(server)
        assert client.request("/", headers={"X-Remote-User": "ann"})[0] == 200
        assert client.cookie("waveqda_session")  # one login per session, not per request
        assert client.request("/")[0] == 200
        assert Client(server).request("/", headers={"X-Remote-User": "mallory"})[0] == 403
        assert Client(server).request("/")[0] == 303  # no header, no session: the login page
    finally:
        stop_server(server)
    text = server.log.read_text(encoding="utf-8")
    assert "login user=ann" in text and "single sign-on" in text and "refused user=mallory" in text


def test_listening_on_every_address_the_page_uses_the_address_the_browser_used(demo_template, tmp_path) -> None:
    project = copy_project(demo_template, tmp_path)
    add_accounts(project, {"ann": "coder"})
    server = start_server(project, tmp_path, "--host", "0.0.0.0")
    try:
        client = Client(server)
        assert client.log_in("ann", PASSWORDS["ann"]) == 303
        status, _, page = client.request("/")
    finally:
        stop_server(server)
    port = server.url.rsplit(":", 1)[1]
    assert status == 200 and f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page
    assert "0.0.0.0" not in page
