"""One line per login, logout and refusal, for whoever runs a browser front end (issue 18).

Why a file of plain lines: it is what an institution's information-governance lead asks to see, and what
``grep`` reads. A line never holds a password or a session token; names and addresses are escaped so a
hostile user name cannot forge a second line.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from models.naming import printable


class AccessLog:
    """Appends ``time event user=… from=… detail`` lines; ``AccessLog(None)`` logs nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, event: str, user: str, remote: str, detail: str = "") -> None:
        if self.path is None:
            return
        when = datetime.now(UTC).isoformat(timespec="seconds")
        fields = [when, event, f"user={_field(user)}", f"from={_field(remote)}"]
        if detail:
            fields.append(_field(detail))
        line = " ".join(fields) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # owner-only, like projects
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)

    def lines(self) -> list[str]:
        if self.path is None or not self.path.exists():
            return []
        return self.path.read_text(encoding="utf-8").splitlines()


def default_log_path(project_file: Path | None) -> Path:
    """``STUDY-access.log`` beside a project file (one log for ``serve`` and ``site``), else in the current
    folder for a database project."""
    if project_file is None:
        return Path("waveqda-access.log")
    return project_file.with_name(project_file.stem + "-access.log")


def _field(value: str) -> str:
    """One field: no newlines or controls (``printable``), spaces kept visible as such."""
    text = printable(value).replace("\n", "\\n").replace("\r", "\\r")
    return text if text and " " not in text else repr(text)
