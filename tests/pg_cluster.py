"""A throwaway PostgreSQL cluster for the test suite (team mode runs on the same models as SQLite).

The cluster lives in a temporary folder, listens on a Unix socket there only (no port to collide with),
trusts local connections, and is stopped and removed at the end of the session. As root (CI), ``initdb``
refuses to run, so it runs as the ``postgres`` user through ``runuser``. ``WAVEQDA_TEST_PG_URL`` points the
tests at an existing server instead (a URL to a database the tests may create databases from).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    return None


def available() -> bool:
    return bool(os.environ.get("WAVEQDA_TEST_PG_URL")) or (
        pg_bin("pg_ctl") is not None and pg_bin("initdb") is not None
    )


@dataclass
class Cluster:
    """A running server: ``admin_url`` reaches its ``postgres`` database, ``url(name)`` any other."""

    socket_dir: Path | None
    base_url: str
    data_dir: Path | None = None

    def url(self, database: str) -> str:
        if self.socket_dir is not None:
            return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"
        head, _, _old = self.base_url.rpartition("/")
        return f"{head}/{database}"

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _dsn(self, database: str) -> str:
        if self.socket_dir is not None:
            return f"host={self.socket_dir} user=postgres dbname={database}"
        from sqlalchemy.engine import make_url

        url = make_url(self.base_url).set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    def stop(self) -> None:
        if self.data_dir is None:
            return
        _as_postgres([pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "stop"], check=False)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _as_postgres(command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)


def start(durable: bool = False) -> Cluster:
    """Start a cluster (or use ``WAVEQDA_TEST_PG_URL``); the caller stops it. Tests run it without fsync (their
    data is thrown away); benchmarks ask for ``durable``: PostgreSQL's defaults, every commit on disk, as a
    team's server would run (and as waveqda's SQLite files do, ``synchronous=FULL``)."""
    existing = os.environ.get("WAVEQDA_TEST_PG_URL")
    if existing:
        return Cluster(None, existing)
    root = Path(tempfile.mkdtemp(prefix="waveqda-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    root.chmod(0o700)
    _as_postgres(
        [
            pg_bin("initdb") or "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]  # fmt: skip
    )
    options = f"-k {root} -c listen_addresses=''"
    if not durable:
        options += " -F -c synchronous_commit=off -c full_page_writes=off"
    _as_postgres([pg_bin("pg_ctl") or "pg_ctl", "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"])
    return Cluster(root, "", data)
