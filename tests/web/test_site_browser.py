"""The workshop site in a real browser (issue 18): Debian's Chromium driven by Selenium through chromedriver.

A workshop reader logs in, opens a theme, filters it to one timepoint (htmx swaps the quotes in place),
leaves a comment on a quote, and the comment is a memo ``waveqda memos`` lists; a wrong password is refused;
axe-core, run in the page, finds no serious or critical accessibility violation on any page of the site.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.web.site_support import PASSWORDS, axe_source, axe_violations, chromium, copy_project, running_site

WAIT = 30


@pytest.fixture
def site(demo_template: Path, tmp_path: Path):
    with running_site(copy_project(demo_template, tmp_path / "demo.wqda")) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path):
    driver = chromium(tmp_path)
    try:
        yield driver
    finally:
        driver.quit()


def log_in(driver, site, name: str, password: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    driver.get(site.url + "/")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, ".login-form button[type=submit]").click()


def test_a_reader_opens_a_theme_filters_it_comments_and_the_cli_finds_the_memo(site, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT)
    log_in(browser, site, "advisor1", "wrong-password")
    alert = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert alert.text == "Wrong name or password." and "/login" in browser.current_url
    log_in(browser, site, "advisor1", PASSWORDS["advisor1"])
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".tree a")))
    assert "Logged in as advisor1" in browser.find_element(By.CSS_SELECTOR, ".who").text
    theme = browser.find_element(By.CSS_SELECTOR, ".tree a")
    theme_name = theme.text
    theme.click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), theme_name))
    every = browser.find_elements(By.CSS_SELECTOR, ".quote-label")
    assert any(" · T1 " in label.text for label in every)
    assert browser.execute_script("return typeof htmx") == "object"  # the shipped htmx, no network
    old_region = browser.find_element(By.ID, "quotes-region")
    Select(browser.find_element(By.ID, "f-timepoint")).select_by_value("T2")  # htmx: on change
    wait.until(ec.staleness_of(old_region))
    wait.until(ec.url_contains("timepoint=T2"))
    labels = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".quote-label")]
    assert labels and all(" · T2 " in label for label in labels) and len(labels) < len(every)
    quote = browser.find_element(By.CSS_SELECTOR, ".quote")
    quote.find_element(By.CSS_SELECTOR, "details.comment-form summary").click()
    box = quote.find_element(By.CSS_SELECTOR, "textarea")
    box.send_keys("We said exactly this in the advisory group")
    quote.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    saved = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".quote .comment-text")))
    assert saved.text == "We said exactly this in the advisory group"
    assert "timepoint=T2" in browser.current_url  # the page stayed where it was
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "memos", str(site.path), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=True,
    )  # fmt: skip
    found = [m for m in json.loads(done.stdout) if m["text"] == "We said exactly this in the advisory group"]
    assert [(m["kind"], m["author"]) for m in found] == [("coding", "advisor1")]
    browser.refresh()  # a plain reload shows it too (stored, not only swapped in)
    texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".comment-text")]
    assert "We said exactly this in the advisory group" in texts


def test_comments_and_filters_work_without_javascript(site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = chromium(tmp_path)
    try:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        wait = WebDriverWait(driver, WAIT)
        log_in(driver, site, "advisor1", PASSWORDS["advisor1"])
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".tree a")))
        driver.get(site.url + "/themes/1")
        Select(driver.find_element(By.ID, "f-timepoint")).select_by_value("T2")
        driver.find_element(By.CSS_SELECTOR, ".filters button[type=submit]").click()
        wait.until(ec.url_contains("timepoint=T2"))
        labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".quote-label")]
        assert labels and all(" · T2 " in label for label in labels)
        theme = driver.find_element(By.CSS_SELECTOR, ".about details.comment-form")
        theme.find_element(By.TAG_NAME, "summary").click()
        theme.find_element(By.TAG_NAME, "textarea").send_keys("Plain form, no script")
        theme.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".about .comment-list"), "Plain form, no script"))
        assert "timepoint=T2" in driver.current_url
    finally:
        driver.quit()


def test_no_serious_or_critical_accessibility_violations_on_any_page(site, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    source = axe_source()
    browser.get(site.url + "/login")
    found: dict[str, list[str]] = {}
    found["/login"] = serious(axe_violations(browser, source))
    log_in(browser, site, "advisor1", PASSWORDS["advisor1"])
    WebDriverWait(browser, WAIT).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".tree a")))
    pages = ["/", "/themes/1", "/themes/1?timepoint=T2", "/themes/2", "/matrix", "/trajectories", "/joint", "/memos",
             "/themes/999999", "/themes/1?timepoint=T9"]  # fmt: skip
    for path in pages:
        browser.get(site.url + path)
        found[path] = serious(axe_violations(browser, source))
    browser.set_window_size(800, 1100)  # a tablet held upright
    for path in ["/", "/themes/1", "/matrix"]:
        browser.get(site.url + path)
        found[f"{path} (tablet)"] = serious(axe_violations(browser, source))
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 800, f"{path} scrolls sideways on a tablet ({width}px)"
    assert {path: v for path, v in found.items() if v} == {}
    assert len(found) == len(pages) + 4
    # the check can fail: a field without a label and an image without alt text are found at once
    browser.execute_script(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text><img src=/static/x.png>')"
    )
    planted = {line.split(" ")[0] for line in serious(axe_violations(browser, source))}
    assert {"label", "image-alt"} <= planted, planted


def serious(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in violations if v.get("impact") in ("serious", "critical")]
