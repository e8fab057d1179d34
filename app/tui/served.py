"""The workspace running for a browser session of ``waveqda serve`` (issue 18).

The server starts each workspace with the logged-in account in its environment. That account is the
coder for the whole session (no renaming yourself into a colleague), a reader's workspace refuses every
change, and the server's own disk is not the user's: files the workspace writes (exports, the case sheet)
go to a private folder and are delivered to the browser as downloads, and what would read or write a path
on the server (importing, merging, backing up) is refused with one line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from models.errors import WaveqdaError

SERVED_ACCOUNT = "WAVEQDA_SERVED_ACCOUNT"  # set by app.web.serve for each workspace it starts
SERVED_ROLE = "WAVEQDA_SERVED_ROLE"


@dataclass(frozen=True)
class BrowserSession:
    account: str
    role: str
    downloads: Path  # owner-only folder for files on their way to the browser; removed when the app ends

    @classmethod
    def from_environment(cls) -> BrowserSession | None:
        account = os.environ.get(SERVED_ACCOUNT, "").strip()
        if not account:
            return None
        role = os.environ.get(SERVED_ROLE, "reader")  # anything unclear reads only
        return cls(account, role, Path(tempfile.mkdtemp(prefix="waveqda-downloads-")))

    @property
    def reader(self) -> bool:
        return self.role not in ("owner", "coder")

    def refusal(self) -> str | None:
        """Why this session may not change the project (None: it may)."""
        if self.reader:
            return f"{self.account} is a reader in this project: changes are refused (its owner can make you a coder)"
        return None

    def download_path(self, raw: str) -> Path:
        """Where a file named ``raw`` is written before it is downloaded: a bare file name only."""
        name = Path(raw.strip()).name
        if not name or name != raw.strip() or name in (".", ".."):
            raise WaveqdaError("in the browser, give a file name only (it is downloaded to your computer)")
        return self.downloads / name

    def server_files_refused(self, what: str) -> str:
        return (
            f"In the browser, {what} is not available: it would use files on the server. "
            "Ask the project's owner to do it there."
        )

    def clean_up(self) -> None:
        shutil.rmtree(self.downloads, ignore_errors=True)
