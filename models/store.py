"""Opening, creating and migrating project databases, and the one way to change them.

A project is one SQLite file (``study.wqda``). ``Project.change()`` is the only write path for domain
operations: one transaction per user-level operation, with its row changes captured into one event so that
it can be undone as one step. A crash at any point leaves the last committed state.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from models import journal
from models.errors import WaveqdaError
from models.schema import Event, Setting, Timepoint, new_uuid

# The newest migration; a test checks it equals Alembic's head so startup need not load Alembic.
HEAD_REVISION = "0007_name_register"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PROJECT_SUFFIX = ".wqda"

DEFAULT_TIMEPOINTS: list[tuple[str, str]] = [("T1", "After training"), ("T2", "4 months"), ("T3", "12 months")]


def parse_timepoints(spec: str) -> list[tuple[str, str]]:
    """``"T1=After training,T2=4 months"`` -> ``[("T1", "After training"), ("T2", "4 months")]``."""
    out: list[tuple[str, str]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        key, _, label = part.partition("=")
        key, label = key.strip(), label.strip() or key.strip()
        if not key or any(c.isspace() or c == "/" for c in key):
            raise WaveqdaError(f"invalid timepoint key {key!r}: use a short key without spaces or '/', e.g. T1")
        if key in {k for k, _ in out}:
            raise WaveqdaError(f"timepoint {key!r} is listed twice")
        out.append((key, label))
    if not out:
        raise WaveqdaError('no timepoints given: use e.g. --timepoints "T1=After training,T2=4 months"')
    return out


def _is_url(target: str) -> bool:
    return "://" in target


def project_url(target: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL for a project path, or the URL itself (PostgreSQL later, via the same models)."""
    target = os.fspath(target)
    if _is_url(target):
        return target
    return f"sqlite:///{Path(target).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # FULL: a committed coding survives power loss, not only a process crash. Months of work live here.
    cursor.execute("PRAGMA synchronous=FULL")
    # 64 MB page cache (the default is 2 MB): a 1M-word project's queries then stay in memory after first use.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so every change is atomic.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    return create_engine(url)


def _create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only, before SQLite opens it."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        raise WaveqdaError(f"{path}: cannot create the file ({exc.strerror or exc})") from exc
    os.close(fd)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, url: str, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def backup_copy(engine: Engine, path: Path, label: str) -> Path:
    """A consistent copy beside the project (SQLite's online backup, safe with WAL)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = path.with_name(f"{path.name}.{label}-{stamp}.bak")
    n = 1
    while dest.exists():
        dest = path.with_name(f"{path.name}.{label}-{stamp}-{n}.bak")
        n += 1
    _create_private_file(dest)
    source = sqlite3.connect(path)
    try:
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    return dest


@dataclass
class Project:
    """An open project: an engine and a session factory, plus the change context."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def path(self) -> Path | None:
        parsed = make_url(self.url)
        return Path(parsed.database) if parsed.drivername.startswith("sqlite") and parsed.database else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (nothing is committed)."""
        with self.sessions() as session:
            yield session

    @contextmanager
    def change(
        self,
        actor: str,
        operation: str,
        summary: str = "",
        detail: dict[str, Any] | None = None,
        undoable: bool = True,
    ) -> Iterator[Session]:
        """One user-level operation: one transaction, one event.

        The body may set ``session.info["summary"]`` / ``["detail"]`` once it knows what it did. If the
        body raises, nothing is written.
        """
        with self.sessions() as session, session.begin():
            buffer = journal.start_capture(session) if undoable else None
            try:
                yield session
                session.flush()
            finally:
                journal.stop_capture(session)
            changes = buffer.as_list() if buffer is not None else None
            journal.record_event(
                session,
                actor=actor,
                operation=operation,
                summary=session.info.pop("summary", summary) or operation,
                changes=changes,
                detail=session.info.pop("detail", detail),
                undoable=undoable,
            )

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def create_project(
    target: str | os.PathLike[str],
    timepoints: list[tuple[str, str]] | None = None,
    name: str | None = None,
) -> Project:
    """Create a new project file with its schema, timepoints and name."""
    url = project_url(target)
    path: Path | None = None
    if not _is_url(os.fspath(target)):
        path = Path(os.fspath(target)).expanduser()
        if path.exists():
            raise WaveqdaError(f"{path}: already exists; open it instead, or choose another name")
        if not path.parent.exists():
            raise WaveqdaError(f"{path}: folder {path.parent} does not exist")
        _create_private_file(path)
        name = name or path.stem
    engine = make_engine(url)
    try:
        upgrade(engine, url)
        project = Project(url, engine, _session_factory(engine))
        with project.change("system", "project.init", f"Created project {name!r}", undoable=False) as s:
            s.add(Setting(key="name", value=name or "waveqda project"))
            s.add(Setting(key="project_uuid", value=new_uuid()))
            for i, (key, label) in enumerate(timepoints or DEFAULT_TIMEPOINTS):
                s.add(Timepoint(key=key, label=label, position=i))
    except Exception:
        engine.dispose()
        if path is not None:
            remove_database_files(path)
        raise
    return project


def remove_database_files(path: Path) -> None:
    """Delete a project file this run created and failed to fill, with SQLite's WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def open_project(target: str | os.PathLike[str], migrate: bool = True) -> Project:
    """Open an existing project, migrating an older schema after writing a backup beside it."""
    url = project_url(target)
    path: Path | None = None
    if not _is_url(os.fspath(target)):
        path = Path(os.fspath(target)).expanduser()
        if not path.exists():
            raise WaveqdaError(f"{path}: no such project (create it with: waveqda init {path})")
        _check_sqlite_header(path)
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except Exception as exc:  # a damaged or foreign database
        engine.dispose()
        raise WaveqdaError(f"{target}: cannot read project ({exc.__class__.__name__}: {exc})") from exc
    if revision is None:
        engine.dispose()
        raise WaveqdaError(f"{target}: not a waveqda project (no schema version)")
    if revision != HEAD_REVISION:
        if not migrate:
            engine.dispose()
            raise WaveqdaError(f"{target}: schema {revision} is older than {HEAD_REVISION}")
        if path is not None:
            backup_copy(engine, path, f"before-{HEAD_REVISION}")
        try:
            upgrade(engine, url)
        except Exception as exc:
            engine.dispose()
            raise WaveqdaError(f"{target}: migration from {revision} failed: {exc}") from exc
    return Project(url, engine, _session_factory(engine))


def _check_sqlite_header(path: Path) -> None:
    if not path.is_file():
        raise WaveqdaError(f"{path}: not a project file (it is a folder or a device)")
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise WaveqdaError(f"{path}: cannot read the project ({exc.strerror or exc})") from exc
    if head and head != b"SQLite format 3\x00":
        raise WaveqdaError(f"{path}: not a waveqda project (not an SQLite database)")


def get_setting(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(Setting, key)
    return default if row is None else row.value


def set_setting(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


def project_uuid(session: Session) -> str:
    """The project's identity (merges remember which sources they have taken in)."""
    value = get_setting(session, "project_uuid")
    if value is None:
        value = new_uuid()
        set_setting(session, "project_uuid", value)
        session.flush()
    return value


def timepoints(session: Session) -> list[Timepoint]:
    return list(session.scalars(select(Timepoint).order_by(Timepoint.position)))


def events(session: Session, limit: int | None = None) -> list[Event]:
    stmt = select(Event).order_by(Event.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
