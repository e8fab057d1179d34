"""Headless Debian Chromium driven by Selenium, for the browser tests of issue 18.

Selenium is pointed at Debian's chromedriver so that Selenium Manager never goes to the network; the
background-networking flags keep Chromium from trying to reach Google on this closed machine. What the
workspace shows is drawn on a canvas, so ``terminal_text`` reads it from the websocket frames the page
received (Chromium's performance log), with the terminal's escape sequences taken out.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import require_tool

ANSI = re.compile(rb"\x1b(?:\[[0-9;?$]*[A-Za-z]|\][^\x07]*\x07|[()][A-Za-z0-9])")


def chromium(download_dir: Path | None = None, width: int = 1280, height: int = 800, profile: Path | None = None):
    """A new headless Chromium with a fresh profile (the caller quits it); downloads land in ``download_dir``."""
    import os

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = require_tool("chromium")
    driver_path = require_tool("chromedriver")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager never runs
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--metrics-recording-only",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile or tempfile.mkdtemp(prefix='waveqda-chromium-')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    if download_dir is not None:
        options.add_experimental_option(
            "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
        )
    return webdriver.Chrome(service=Service(driver_path), options=options)


class TerminalReader:
    """Everything the workspace sent to one page so far, as text (Chromium's log is read once, so the
    reader keeps what it has seen)."""

    def __init__(self, driver) -> None:
        self.driver = driver
        self.received = b""

    def text(self) -> str:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] != "Network.webSocketFrameReceived":
                continue
            frame = message["params"]["response"]
            data = frame["payloadData"]
            self.received += base64.b64decode(data) if frame["opcode"] == 2 else data.encode()
        return ANSI.sub(b"", self.received).decode("utf-8", "replace")

    def wait_for(self, needle: str, timeout: float = 20) -> None:
        try:
            wait_until(lambda: needle in self.text(), timeout, f"{needle!r} on the workspace's screen")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen's last text: {self.text()[-800:]!r}") from None


def wait_until(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, timeout, f"a server on port {port}")
