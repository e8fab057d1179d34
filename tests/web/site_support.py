"""Helpers for the workshop site's tests: the real server (uvicorn in a thread on a free port, over a real
project file) and a real headless Chromium driven by Selenium."""

from __future__ import annotations

import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.web.site.app import SiteConfig, create_app
from models.accounts import account, add_user
from models.store import Project, open_project

PASSWORDS = {"olive": "owner-pass-123", "coder1": "coder-pass-123", "advisor1": "reader-pass-123"}
ROLES = {"olive": "owner", "coder1": "coder", "advisor1": "reader"}


@dataclass
class RunningSite:
    url: str
    project: Project
    path: Path
    log: Path


def copy_project(template: Path, target: Path) -> Path:
    """A private copy of a (read-only, session-wide) project file."""
    source = sqlite3.connect(template)
    dest = sqlite3.connect(target)
    source.backup(dest)
    dest.close()
    source.close()
    return target


@contextmanager
def running_site(path: Path, **options: object) -> Iterator[RunningSite]:
    """``waveqda site`` on ``path`` with three accounts (owner, coder, reader), served by uvicorn in a thread
    on a port of its own; stopped and the project closed afterwards."""
    import uvicorn

    project = open_project(path)
    for name, role in ROLES.items():
        if account(project, name) is None:  # a second site on the same file keeps the accounts
            add_user(project, "owner", name, role, PASSWORDS[name])
    log = path.with_suffix(".access.log")
    config = SiteConfig(project=str(path), log=log, **options)  # type: ignore[arg-type]
    app = create_app(config, project)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the site did not start")
        time.sleep(0.02)
    try:
        yield RunningSite(f"http://127.0.0.1:{port}", project, path, log)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        project.close()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def logged_in(site: RunningSite, name: str) -> httpx.Client:
    """An HTTP client with a session for ``name`` (logged in through the login form)."""
    client = httpx.Client(base_url=site.url, follow_redirects=False, timeout=60)
    token = token_of(client.get("/login").text)
    done = client.post("/login", data={"csrf_token": token, "name": name, "password": PASSWORDS[name], "next": "/"})
    assert done.status_code == 303 and done.headers["location"] == "/", done.text
    return client


def chromium(tmp: Path, width: int = 1280, height: int = 900):  # noqa: ANN201 - selenium's WebDriver
    """A headless Chromium through Debian's chromedriver, its profile in ``tmp`` (tests.web.browser's)."""
    from tests.web import browser

    return browser.chromium(width=width, height=height, profile=tmp / "chromium-profile")


def axe_source() -> str:
    """axe-core (MPL-2.0) as bundled by the axe-playwright-python package (only its axe.min.js is used)."""
    from importlib.resources import files

    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(driver, source: str) -> list[dict]:  # noqa: ANN001
    """Run axe-core in the page (WCAG 2.0/2.1/2.2 A and AA rules and best practices); its violations."""
    driver.execute_script(source)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',"
        " 'wcag22aa', 'best-practice']}, resultTypes: ['violations']})"
        ".then(r => done(r.violations)).catch(e => done({error: String(e)}));"
    )
    assert not isinstance(result, dict), result
    return result
