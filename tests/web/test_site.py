"""The workshop site over HTTP (issue 18): logins, sessions, CSRF, escaping, bad requests, anonymisation and
comments, against the real server (uvicorn on a free port) over a copy of the demo study."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from itsdangerous import TimestampSigner
from markupsafe import escape

from models import codebook
from models.names import add_entry
from models.queries import retrieve
from tests.conftest import REPO, database_state
from tests.web.site_support import PASSWORDS, copy_project, logged_in, running_site, token_of

PAGES = ["/", "/themes/1", "/matrix", "/trajectories", "/joint", "/memos"]


@pytest.fixture
def demo_copy(demo_template: Path, tmp_path: Path) -> Path:
    return copy_project(demo_template, tmp_path / "demo.wqda")


@pytest.fixture
def site(demo_copy: Path):
    with running_site(demo_copy) as running:
        yield running


def first_quote(project, code_id: int = 1):  # noqa: ANN001, ANN201
    with project.read() as session:
        return retrieve(session, code_id, True)[0]


def test_every_page_needs_a_login(site) -> None:
    quote = first_quote(site.project)
    with httpx.Client(base_url=site.url, follow_redirects=False) as client:
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next="), path
            assert quote.text not in answer.text
        htmx = client.get("/themes/1", headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")
    reader = logged_in(site, "advisor1")
    cookie = reader.get("/").headers["set-cookie"].lower()
    assert cookie.startswith("waveqda_site=") and "httponly" in cookie and "samesite=lax" in cookie
    for path in PAGES:
        page = reader.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert page.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in page.headers["content-security-policy"]
    assert str(escape(quote.text)) in reader.get("/themes/1").text


def test_readers_of_one_cached_page_each_get_their_own_name_and_token(site) -> None:
    import re

    pages = {name: logged_in(site, name).get("/themes/1").text for name in ("advisor1", "coder1", "advisor1")}
    reader, coder = logged_in(site, "advisor1"), logged_in(site, "coder1")
    first, second = reader.get("/themes/1").text, coder.get("/themes/1").text
    assert "Logged in as <strong>advisor1</strong> (reader)" in first and "coder1" not in first
    assert "Logged in as <strong>coder1</strong> (coder)" in second and "advisor1" not in second
    tokens = {token_of(first), token_of(second)}
    assert len(tokens) == 2 and tokens == set(re.findall(r'value="([^"]{43})"', first + second)) - {""}
    assert not re.search(r"csrf-[0-9a-f]{32}|reader-[0-9a-f]{16}|role-[0-9a-f]{16}", first + second + str(pages))


def test_wrong_password_is_refused_and_logged_without_the_password(site) -> None:
    client = httpx.Client(base_url=site.url, follow_redirects=False)
    token = token_of(client.get("/login").text)
    refused = client.post("/login", data={"csrf_token": token, "name": "advisor1", "password": "guess-123"})
    assert refused.status_code == 401 and "Wrong name or password." in refused.text
    assert client.get("/").status_code == 303  # still nobody
    unknown = client.post("/login", data={"csrf_token": token, "name": "nobody", "password": "guess-123"})
    assert unknown.status_code == 401
    reader = logged_in(site, "advisor1")
    reader.post("/logout", data={"csrf_token": token_of(reader.get("/").text)})
    assert reader.get("/").status_code == 303
    lines = site.log.read_text(encoding="utf-8").splitlines()
    events = [(line.split()[1], "advisor1" in line or "nobody" in line) for line in lines]
    assert events == [("refused", True), ("refused", True), ("login", True), ("logout", True)], lines
    text = site.log.read_text(encoding="utf-8")
    assert "guess-123" not in text and PASSWORDS["advisor1"] not in text


def test_five_wrong_passwords_lock_a_name_out(site) -> None:
    client = httpx.Client(base_url=site.url, follow_redirects=False)
    token = token_of(client.get("/login").text)
    for _ in range(5):
        wrong = client.post("/login", data={"csrf_token": token, "name": "olive", "password": "not-it-123"})
        assert wrong.status_code == 401
    right = {"csrf_token": token, "name": "olive", "password": PASSWORDS["olive"]}
    locked = client.post("/login", data=right)
    assert locked.status_code == 429 and "Too many failed attempts" in locked.text
    assert logged_in(site, "advisor1").get("/").status_code == 200  # other names are not affected
    assert "too many failed logins" in site.log.read_text(encoding="utf-8")


def forged_cookie(secret: str, data: dict) -> str:
    payload = base64.b64encode(json.dumps(data).encode())
    return TimestampSigner(secret).sign(payload).decode()


def test_a_forged_or_tampered_session_cookie_logs_nobody_in(site) -> None:
    now = int(time.time())
    reader = logged_in(site, "advisor1")
    real = reader.cookies["waveqda_site"]
    payload, _, signature = real.partition(".")
    as_owner = base64.b64encode(json.dumps({"user": "olive", "seen": now}).encode()).decode()
    forgeries = [
        forged_cookie("not-the-secret", {"user": "olive", "seen": now, "csrf": "x" * 43}),
        f"{as_owner}.{signature}",  # another user's name under a real signature
        base64.b64encode(json.dumps({"user": "olive", "seen": now}).encode()).decode(),  # not signed at all
        real[:-2] + ("AA" if not real.endswith("AA") else "BB"),
    ]
    for cookie in forgeries:
        with httpx.Client(base_url=site.url, follow_redirects=False, cookies={"waveqda_site": cookie}) as client:
            answer = client.get("/themes/1")
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), cookie
    assert payload  # the real cookie still works
    assert reader.get("/themes/1").status_code == 200


def test_a_cross_site_post_is_refused_and_changes_nothing(site) -> None:
    reader = logged_in(site, "advisor1")
    token = token_of(reader.get("/themes/1").text)
    quote = first_quote(site.project)
    before = database_state(site.project)
    attempts = [
        ({"target": "coding", "target_id": str(quote.id), "text": "no token"}, {}),
        ({"target": "coding", "target_id": str(quote.id), "text": "wrong", "csrf_token": "x" * 43}, {}),
        (  # the right token, but the browser says the form was on another site
            {"target": "coding", "target_id": str(quote.id), "text": "other site", "csrf_token": token},
            {"Origin": "https://evil.example"},
        ),
        (
            {"target": "coding", "target_id": str(quote.id), "text": "other site", "csrf_token": token},
            {"Sec-Fetch-Site": "cross-site"},
        ),
    ]
    for form, headers in attempts:
        answer = reader.post("/comments", data=form, headers=headers)
        assert answer.status_code == 403 and "came from another site" in answer.text, form
    # a form on another site posting with the reader's cookie and no token: what a CSRF attack is
    with httpx.Client(base_url=site.url, cookies=reader.cookies, follow_redirects=False) as attacker:
        answer = attacker.post("/comments", data={"target": "code", "target_id": "1", "text": "pwned"})
        assert answer.status_code == 403
    logout = reader.post("/logout", data={})
    assert logout.status_code == 403 and reader.get("/").status_code == 200  # still logged in
    assert database_state(site.project) == before
    saved = reader.post(
        "/comments",
        data={"target": "coding", "target_id": str(quote.id), "text": "Rings true", "csrf_token": token},
        headers={"Origin": site.url},
    )
    assert saved.status_code == 303 and database_state(site.project) != before


def test_html_and_script_in_a_comment_or_a_code_name_are_escaped(site) -> None:
    evil_name = '<img src=x onerror="alert(1)">Support & "care"'
    codebook.rename_code(site.project, "olive", 1, evil_name)
    reader = logged_in(site, "advisor1")
    token = token_of(reader.get("/themes/1").text)
    evil_comment = '<script>alert("x")</script><b onmouseover=alert(2)>hover</b>'
    saved = reader.post(
        "/comments", data={"target": "code", "target_id": "1", "text": evil_comment, "csrf_token": token}
    )
    assert saved.status_code == 303
    for path in ["/", "/themes/1", "/matrix", "/trajectories", "/memos"]:
        body = reader.get(path).text
        assert "<img src=x" not in body and "<script>alert" not in body and "<b onmouseover" not in body, path
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Support &amp; &#34;care&#34;" in body, path
    body = reader.get("/themes/1").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b onmouseover=alert(2)&gt;hover&lt;/b&gt;" in body


@pytest.mark.parametrize(
    "path",
    [
        "/static/../pyproject.toml",
        "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2f..%2f..%2f..%2fpyproject.toml",
        "/static/%2e%2e%2f%2e%2e%2fapp.py",
        "/static//etc/passwd",
        "/static/..%5c..%5capp.py",
        "/themes/..%2f..%2fetc%2fpasswd",
    ],
)
def test_path_traversal_in_a_file_key_is_refused(site, path: str) -> None:
    reader = logged_in(site, "advisor1")
    answer = reader.get(path)
    assert answer.status_code in (303, 400, 404), (path, answer.status_code)
    assert "[project]" not in answer.text and "root:" not in answer.text and "create_app" not in answer.text
    assert reader.get("/static/site.css").status_code == 200


def test_bad_requests_get_a_clear_message_and_change_nothing(site) -> None:
    reader = logged_in(site, "advisor1")
    token = token_of(reader.get("/").text)
    before = database_state(site.project)
    cases = [
        ({"target": "coding", "target_id": "abc", "text": "hi"}, "must name the theme or quote"),
        ({"target": "coding", "target_id": "987654", "text": "hi"}, "no coding with id 987654"),
        ({"target": "transcript", "target_id": "1", "text": "hi"}, "on a code or a coding"),
        ({"target": "code", "target_id": "1", "text": "   "}, "needs some text"),
        ({"target": "code", "target_id": "1", "text": "x" * 10_001}, "at most 10,000 characters"),
    ]
    for form, message in cases:
        answer = reader.post("/comments", data={**form, "csrf_token": token})
        assert answer.status_code == 400 and message in answer.text and "Nothing was changed" in answer.text, form
    too_big = reader.post("/comments", data={"text": "y" * 70_000, "csrf_token": token, "target": "code"})
    assert too_big.status_code == 413
    for path, message in [
        ("/themes/1?timepoint=T9", "no timepoint &#39;T9&#39;"),
        ("/themes/1?attribute=site", "NAME=VALUE"),
        ("/themes/1?attribute=site%3DMars", "no participant has"),
        ("/themes/1?code=abc", "whole numbers"),
        ("/themes/1?page=0", "numbered from 1"),
        ("/matrix?attribute=nope%3D1", "no participant has"),
        ("/trajectories?code=999999", "no code with id 999999"),
    ]:
        answer = reader.get(path)
        assert answer.status_code == 400 and message in answer.text, (path, answer.text[-600:])
    assert reader.get("/themes/999999").status_code == 404
    assert database_state(site.project) == before


def test_filters_narrow_the_quotes_and_htmx_gets_the_region_alone(site) -> None:
    reader = logged_in(site, "advisor1")
    everything = reader.get("/themes/1").text
    at_t2 = reader.get("/themes/1?timepoint=T2").text
    labels = [line for line in at_t2.splitlines() if 'class="quote-label"' in line]
    assert labels and all(" · T2 " in line for line in labels)
    assert everything.count('class="quote-label"') > len(labels)
    region = reader.get("/themes/1?timepoint=T2", headers={"HX-Request": "true", "HX-Target": "quotes-region"})
    assert region.text.lstrip().startswith('<div id="quotes-region"') and "<html" not in region.text
    assert region.text.count('class="quote-label"') == len(labels)
    # the form shows the filter chosen (and only it), so a reader sees what the quotes are narrowed to
    assert '<option value="T2" selected>' in at_t2 and at_t2.count(" selected>") == 1
    assert " selected>" not in everything
    first_code = r'<select id="f-code" name="code">\s*<option value="">[^<]*</option>\s*<option value="(\d+)"'
    sub_code = re.search(first_code, everything)
    assert sub_code is not None
    narrowed = reader.get(f"/themes/1?code={sub_code[1]}").text
    assert f'<option value="{sub_code[1]}" selected>' in narrowed and narrowed.count(" selected>") == 1


def test_the_matrix_page_shows_the_numbers_waveqda_matrix_prints(site) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "matrix", str(site.path), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=True,
    )  # fmt: skip
    expected = json.loads(done.stdout)
    page = logged_in(site, "advisor1").get("/matrix").text
    for row in expected["rows"]:
        cells = " ".join(
            f"<td>{row['cells'][tp['key']]['passages']} / {row['cells'][tp['key']]['participants']} / "
            f"{row['cells'][tp['key']]['segments']}</td>"
            for tp in expected["timepoints"]
        )
        assert cells.replace("</td> <td>", "</td><td>") in page, row["code"]


def test_names_are_anonymised_unless_an_owner_chose_otherwise(demo_copy: Path) -> None:
    with running_site(demo_copy) as site:
        quote = first_quote(site.project)
        word = next(w.strip(".,!?") for w in quote.text.split() if w[:1].isupper() and len(w.strip(".,!?")) > 5)
        before = logged_in(site, "advisor1").get("/themes/1").text
        assert "No names are registered for pseudonymisation yet" in before and word in before
        add_entry(site.project, "olive", word, replacement="[Person Z]")
        for who in ("advisor1", "olive"):
            page = logged_in(site, who).get("/themes/1").text
            assert "[Person Z]" in page and word not in page, who
            assert "No names are registered" not in page
            assert f"· {quote.speaker} ·" not in page or quote.speaker == quote.participant
    with running_site(demo_copy, anonymise=False) as site:
        reader_page = logged_in(site, "advisor1").get("/themes/1").text
        owner_page = logged_in(site, "olive").get("/themes/1").text
        assert "[Person Z]" in reader_page and "[Person Z]" not in owner_page
        assert word in owner_page
        assert "Names are shown as stored" in owner_page and "pseudonyms" in reader_page


def test_an_idle_session_ends(demo_copy: Path) -> None:
    with running_site(demo_copy, idle_seconds=1) as site:
        reader = logged_in(site, "advisor1")
        assert reader.get("/").status_code == 200
        time.sleep(2.2)
        answer = reader.get("/matrix")
        assert answer.status_code == 303 and "why=idle" in answer.headers["location"]
        assert reader.get("/").status_code == 303
        assert "logout" in site.log.read_text(encoding="utf-8") and "idle timeout" in site.log.read_text()


def test_a_trusted_header_logs_in_only_when_asked_for(demo_copy: Path) -> None:
    with running_site(demo_copy) as site, httpx.Client(base_url=site.url, follow_redirects=False) as client:
        assert client.get("/", headers={"X-Remote-User": "advisor1"}).status_code == 303  # not trusted
    with running_site(demo_copy, trust_header="X-Remote-User") as site:
        with httpx.Client(base_url=site.url, follow_redirects=False) as client:
            page = client.get("/", headers={"X-Remote-User": "advisor1"})
            assert page.status_code == 200 and "Logged in as <strong>advisor1</strong>" in page.text
        with httpx.Client(base_url=site.url, follow_redirects=False) as client:
            assert client.get("/", headers={"X-Remote-User": "mallory"}).status_code == 303
        lines = site.log.read_text(encoding="utf-8")
        assert "login" in lines and "trusted header" in lines and "mallory" in lines and "refused" in lines


def test_a_comment_from_the_site_is_a_memo_the_cli_lists(site) -> None:
    reader = logged_in(site, "advisor1")
    quote = first_quote(site.project)
    token = token_of(reader.get("/themes/1").text)
    swapped = reader.post(
        "/comments",
        data={
            "target": "coding",
            "target_id": str(quote.id),
            "text": "This is how it felt for me",
            "csrf_token": token,
        },
        headers={"HX-Request": "true", "HX-Target": f"comments-coding-{quote.id}", "X-CSRF-Token": token},
    )
    assert swapped.status_code == 200 and "This is how it felt for me" in swapped.text
    assert swapped.text.lstrip().startswith(f'<div class="comments" id="comments-coding-{quote.id}"')
    assert "Your comment was saved." in swapped.text
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "memos", str(site.path), "--kind", "coding", "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=True,
    )  # fmt: skip
    found = [m for m in json.loads(done.stdout) if m["text"] == "This is how it felt for me"]
    assert [(m["author"], m["target_id"]) for m in found] == [("advisor1", quote.id)]
    history = subprocess.run(
        [sys.executable, "-m", "app.cli", "history", str(site.path), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=True,
    )  # fmt: skip
    last = json.loads(history.stdout)[-1]
    assert last["actor"] == "advisor1" and last["summary"].startswith("Comment by advisor1 on coding")


def test_waveqda_site_runs_as_a_process_with_its_access_log_beside_the_project(demo_copy: Path) -> None:
    import socket

    from models.accounts import add_user
    from models.store import open_project

    project = open_project(demo_copy)
    add_user(project, "owner", "advisor1", "reader", PASSWORDS["advisor1"])
    project.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "site", str(demo_copy), "--port", str(port)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/login", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None, "waveqda site did not start"
                time.sleep(0.2)
        with httpx.Client(base_url=url, follow_redirects=False, timeout=60) as client:
            token = token_of(client.get("/login").text)
            form = {"csrf_token": token, "name": "advisor1", "password": PASSWORDS["advisor1"]}
            assert client.post("/login", data=form).status_code == 303
            assert "Logged in as <strong>advisor1</strong>" in client.get("/").text
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = demo_copy.with_name("demo-access.log")
    assert " login user=advisor1 " in log.read_text(encoding="utf-8")


def test_blind_coded_transcripts_show_no_codings_but_to_the_owner(site) -> None:
    from models import blind

    blind.switch_on(site.project, "olive", [], timepoint="T1")
    reader, owner = logged_in(site, "advisor1"), logged_in(site, "olive")
    for account in (reader, logged_in(site, "coder1")):
        page = account.get("/themes/1").text
        labels = [line for line in page.splitlines() if 'class="quote-label"' in line]
        assert labels and not any(" · T1 " in line for line in labels)
    owners = [line for line in owner.get("/themes/1").text.splitlines() if 'class="quote-label"' in line]
    assert any(" · T1 " in line for line in owners)
    blind.reveal(site.project, "olive")
    revealed = reader.get("/themes/1").text
    assert any(" · T1 " in line for line in revealed.splitlines() if 'class="quote-label"' in line)
