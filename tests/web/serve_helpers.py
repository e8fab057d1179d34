"""A real ``waveqda serve`` process on a copy of the demo study, with three accounts (two coders, a reader)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.web.browser import free_port, wait_for_port

PASSWORDS = {"ann": "ann-secret-1", "bob": "bob-secret-2", "rita": "rita-secret-3"}
ROLES = {"ann": "coder", "bob": "coder", "rita": "reader"}
CLI = [sys.executable, "-c", "from app.cli import main; main()"]


@dataclass(frozen=True)
class Served:
    url: str
    project: Path | str  # a file, or a PostgreSQL URL
    log: Path
    process: subprocess.Popen

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []


def copy_project(template: Path, folder: Path) -> Path:
    target = folder / "study.wqda"
    source, dest = sqlite3.connect(template), sqlite3.connect(target)
    source.backup(dest)
    dest.close()
    source.close()
    return target


def add_accounts(project: Path, names: dict[str, str] | None = None) -> None:
    from models import accounts
    from models.store import open_project

    proj = open_project(project)
    try:
        for name, role in (names or ROLES).items():
            accounts.add_user(proj, "owner", name, role, PASSWORDS.get(name, f"{name}-password"))
    finally:
        proj.close()


def start_server(project: Path | str, folder: Path, *extra: str) -> Served:
    port = free_port()
    log = folder / "access.log"
    process = subprocess.Popen(
        [*CLI, "serve", str(project), "--port", str(port), "--log", str(log), *extra],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "serve.err", "wb"),  # noqa: SIM115 - the process owns it until it ends
        start_new_session=True,  # its workspaces are stopped with it
    )
    try:
        wait_for_port(port)
    except AssertionError:
        process.kill()
        raise AssertionError((folder / "serve.err").read_text(errors="replace")[-2000:]) from None
    return Served(f"http://127.0.0.1:{port}", project, log, process)


def stop_server(served: Served) -> None:
    try:
        os.killpg(served.process.pid, signal.SIGTERM)
        served.process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(served.process.pid, signal.SIGKILL)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)
