"""``waveqda serve`` in Chromium (issue 18): two coders log in and code at once, each under their own name; a
wrong password and a reader's change are refused; an export made in the browser arrives as a download."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.web.browser import TerminalReader, chromium, wait_until
from tests.web.serve_helpers import PASSWORDS, Served, add_accounts, cli, copy_project, start_server, stop_server


@pytest.fixture
def served(demo_template: Path, tmp_path: Path):
    project = copy_project(demo_template, tmp_path)
    add_accounts(project)
    server = start_server(project, tmp_path)
    yield server
    stop_server(server)


def codings(project: Path | str) -> list[dict]:
    done = cli("codings", str(project), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def log_in(driver, served: Served, name: str, password: str | None = None) -> TerminalReader:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(served.url + "/")
    assert driver.current_url.endswith("/login")  # no session: the login page first
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys((password or PASSWORDS[name]) + Keys.ENTER)
    return TerminalReader(driver)


def keys(driver, *pressed: str, control: bool = False) -> None:
    """Keys to the workspace's terminal, as typed (the terminal's hidden input has the focus); with
    ``control`` each is pressed with the Control key held."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    terminal_input = driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
    driver.execute_script("arguments[0].focus()", terminal_input)
    for key in pressed:
        chain = ActionChains(driver)
        if control:
            chain.key_down(Keys.CONTROL).send_keys(key).key_up(Keys.CONTROL)
        else:
            chain.send_keys(key)
        chain.perform()
        time.sleep(0.25)  # a person's pace; each key's effect is waited for by the caller


def code_a_sentence(driver, screen: TerminalReader, downs: int, words: str) -> None:
    """Open P01/T1 from Home, move to a sentence, and code it with the first code matching ``words``."""
    from selenium.webdriver.common.keys import Keys

    keys(driver, Keys.ENTER)
    screen.wait_for("Interview with P01")
    keys(driver, *[Keys.DOWN] * downs, "c")
    screen.wait_for("Type words of a code name")
    keys(driver, words)
    screen.wait_for(f"Create new code “{words}”")
    keys(driver, Keys.ENTER)


def test_two_coders_code_at_once_each_as_themselves(served: Served) -> None:
    from selenium.webdriver.common.keys import Keys

    before = codings(served.project)
    ann, bob = chromium(), chromium()
    try:
        ann_screen = log_in(ann, served, "ann")
        bob_screen = log_in(bob, served, "bob")
        ann_screen.wait_for("coder: ann")
        bob_screen.wait_for("coder: bob")
        code_a_sentence(ann, ann_screen, 2, "optimism")
        code_a_sentence(bob, bob_screen, 4, "supervision")
        found = wait_until(lambda: len(codings(served.project)) == len(before) + 2, 30, "both codings stored")
        assert found
        keys(ann, Keys.ESCAPE)
    finally:
        ann.quit()
        bob.quit()
    added = [c for c in codings(served.project) if c not in before]
    assert sorted((c["coder"], c["code"]) for c in added) == [("ann", "Early optimism"), ("bob", "Support/Supervision")]
    log = "\n".join(served.log_lines())
    assert "login user=ann" in log and "login user=bob" in log


def test_a_wrong_password_is_refused(served: Served) -> None:
    from selenium.webdriver.common.by import By

    driver = chromium()
    try:
        log_in(driver, served, "ann", "not-the-password")
        alert = driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
        assert alert == "Wrong name or password."
        assert driver.current_url.endswith("/login")
        assert driver.get_cookie("waveqda_session") is None
        driver.get(served.url + "/")  # still no way in
        assert driver.current_url.endswith("/login")
    finally:
        driver.quit()
    assert any("refused user=ann" in line and "wrong name or password" in line for line in served.log_lines())


def test_a_readers_change_is_refused_and_nothing_is_stored(served: Served) -> None:
    before = codings(served.project)
    driver = chromium()
    try:
        screen = log_in(driver, served, "rita")
        screen.wait_for("coder: rita")
        code_a_sentence(driver, screen, 2, "optimism")  # the keys that store a coding for a coder
        screen.wait_for("rita is a reader in this project: changes are refused")
    finally:
        driver.quit()
    assert codings(served.project) == before


def test_an_export_made_in_the_browser_is_downloaded(served: Served, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = chromium(downloads)
    try:
        screen = log_in(driver, served, "ann")
        screen.wait_for("coder: ann")
        keys(driver, "e", control=True)
        screen.wait_for("Choose what to export")
        keys(driver, Keys.DOWN, Keys.DOWN)  # themes, framework, codebook: one without quotes (no names review)
        screen.wait_for("codebook.docx")
        keys(driver, "s", control=True)
        screen.wait_for("Downloading:")
        arrived = wait_until(lambda: [p for p in downloads.iterdir() if p.suffix == ".docx"], 30, "the download")
    finally:
        driver.quit()
    (docx,) = arrived  # type: ignore[misc]
    from docx import Document

    assert "Codebook" in "\n".join(p.text for p in Document(str(docx)).paragraphs[:40])
    assert not (Path(served.project).parent / docx.name).exists()  # nothing written beside the project


def test_a_team_project_on_postgresql_is_served_the_same_way(demo_template: Path, tmp_path: Path, request) -> None:
    from models.project_copy import copy_project as copy_whole_project
    from tests.conftest import project_target

    url = project_target("postgresql", tmp_path, request, "served")
    copy_whole_project(demo_template, url)
    add_accounts_at(url)
    server = start_server(url, tmp_path)
    driver = chromium()
    try:
        before = codings(url)
        screen = log_in(driver, server, "ann")
        screen.wait_for("coder: ann")
        code_a_sentence(driver, screen, 2, "optimism")
        wait_until(lambda: len(codings(url)) == len(before) + 1, 30, "the coding stored")
    finally:
        driver.quit()
        stop_server(server)
    added = [c for c in codings(url) if c not in before]
    assert [(c["coder"], c["code"]) for c in added] == [("ann", "Early optimism")]


def add_accounts_at(url: str) -> None:
    from models import accounts
    from models.store import open_project

    proj = open_project(url)
    try:
        accounts.add_user(proj, "owner", "ann", "coder", PASSWORDS["ann"])
    finally:
        proj.close()


def test_logging_out_from_the_workspace_ends_the_session(served: Served) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = chromium()
    try:
        screen = log_in(driver, served, "ann")
        screen.wait_for("coder: ann")
        keys(driver, "p", control=True)  # the command palette
        screen.wait_for("Search for commands")
        keys(driver, "log out")
        screen.wait_for("Log out (ann)")
        keys(driver, Keys.ENTER)
        wait_until(lambda: driver.current_url.endswith("/logout"), 20, "the logout page")
        driver.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
        wait_until(lambda: driver.current_url.endswith("/login"), 20, "the login page")
        driver.get(served.url + "/")
        assert driver.current_url.endswith("/login")  # the session is over
    finally:
        driver.quit()
    assert any("logout user=ann" in line for line in served.log_lines())
