"""Opening, creating and migrating project databases, and the one way to change them.

A project is one SQLite file (``study.wqda``). ``Project.change()`` is the only write path for domain
operations: one transaction per user-level operation, with its row changes captured into one event so that
it can be undone as one step. A crash at any point leaves the last committed state.

Several writers on one file (two terminals, the workspace beside CLI commands) take turns: every change
starts with SQLite's ``BEGIN IMMEDIATE`` and waits for the write lock (the busy timeout), so a change never
fails half way because another process committed first; after each change the WAL is checkpointed while it
is small (at most every ``checkpoint_every_s`` in a process making many changes, and on close), so the project
file on its own holds every committed change.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models import hot_sql, journal, project_file
from models.errors import WaveqdaError
from models.schema import Base, Event, Setting, Timepoint, new_uuid

log = logging.getLogger(__name__)

# Every migration, oldest first; a test checks this equals Alembic's history so startup need not load
# Alembic. A file whose revision is not listed was made by a newer waveqda.
KNOWN_REVISIONS = (
    "0001_initial",
    "0002_search_index",
    "0003_name_register",
    "0004_query_indexes",
    "0005_store_safety",
    "0006_sentence_brackets",
    "0010_team",
    "0007_name_register",
    "0013_search_gaps",
    "0014_scores",
    "0015_accounts",
    "0016_blind",
    "0017_codings_index",
)
HEAD_REVISION = KNOWN_REVISIONS[-1]
VIEWER_KEY = "waveqda_viewer"  # session.info of a read on someone's behalf: (coder, is owner), see models/blind.py
BUSY_TIMEOUT_MS = 10_000
# PostgreSQL: the advisory lock every change takes (one project per database, so one key serves): exclusive,
# or shared by changes within one transcript, which then lock it: (TRANSCRIPT_LOCK_CLASS, transcript id)
# (the two-key form is a separate key space).
WRITE_LOCK_KEY = 0x57415645
TRANSCRIPT_LOCK_CLASS = 0x5751
# ``Project.change_mark``: the ids of the newest events, newest first.
ChangeMark = tuple[int, ...]
MARK_DEPTH = 64
_MARK_SQL = text(f"SELECT id FROM events ORDER BY id DESC LIMIT {MARK_DEPTH}")
# Checkpoint after a change while the WAL is below this size (a few pages to copy); a bigger WAL is left to
# SQLite's own checkpoint and to the idle checkpoint, so one large change is not followed by a long pause.
SMALL_WAL_BYTES = 4 * 1024 * 1024
# A checkpoint after a change that could not copy it is tried again this often, at most this many times.
CHECKPOINT_RETRY_S = 0.05
CHECKPOINT_RETRIES = 40
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


def display_name(target: str | os.PathLike[str]) -> str:
    """How messages name a project given by the user: its path, or its URL with any password hidden (a password
    typed into a URL must never reach a terminal log, an error report or an export)."""
    target = os.fspath(target)
    return make_url(target).render_as_string(hide_password=True) if _is_url(target) else target


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
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # FULL: a committed coding survives power loss, not only a process crash. Months of work live here.
    cursor.execute("PRAGMA synchronous=FULL")
    # 64 MB page cache (the default is 2 MB): a 1M-word project's queries then stay in memory after first use.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so every change is atomic.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A change asks for the write lock up front (BEGIN IMMEDIATE) so that it waits its turn; a
            # read that later wrote could not wait and would fail with "database is locked".
            statement = conn.info.pop(BEGIN_KEY, "BEGIN")
            if statement == "BEGIN IMMEDIATE":
                _begin_immediate(conn)
            else:
                conn.exec_driver_sql(statement)

        return engine
    return create_engine(url)


BEGIN_KEY = "waveqda_begin"
# How often a change waiting for the write lock asks again: after 1 ms, then backing off to every 5 ms.
# SQLite's own busy handler backs off to 100 ms sleeps, so with several writers the lock sat free for tens of
# milliseconds between changes; a few microseconds of CPU per try hands it over almost at once.
LOCK_RETRY_S = (0.001, 0.002, 0.004, 0.005)


def _begin_immediate(conn: Any) -> None:
    """``BEGIN IMMEDIATE``, retried every millisecond while another writer holds the lock, up to the busy
    timeout; then once more through SQLAlchemy, whose "database is locked" ``write_session`` turns into one
    line. Other errors (a read-only file, a full disk) are raised at once, the same way."""
    raw = conn.connection.driver_connection
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    raw.execute("PRAGMA busy_timeout=0")
    tries = 0
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    break
            time.sleep(LOCK_RETRY_S[min(tries, len(LOCK_RETRY_S) - 1)])
            tries += 1
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only, before SQLite opens it."""
    project_file.create_private(path)


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
    """Run the migrations up to ``revision`` in one transaction.

    On SQLite foreign keys are off while it runs (a migration may rebuild a table others refer to; SQLite
    only allows switching them outside a transaction) and every one is checked before the commit.
    """
    from alembic import command

    cfg = alembic_config(url)
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection  # outside any transaction: SQLite ignores it inside one
        assert raw is not None  # an open connection has its driver's connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise WaveqdaError("the migrated project has rows pointing at missing rows; nothing was changed")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def backup_copy(engine: Engine, path: Path, label: str) -> Path:
    """A consistent copy beside the project (SQLite's online backup, safe with WAL), owner-only; the newest
    few of each label are kept."""
    return project_file.backup_beside(path, label)


@dataclass
class Project:
    """An open project: an engine and a session factory, plus the change context."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    # Why writes are refused when the file fails SQLite's quick check (reads still work, so that the
    # researcher can export what is there); see ``damaged``. ``damage_unchecked``: the check is still to run
    # (it reads the whole file, ~0.1 s at 1M words, so a command that only reads never pays for it).
    damage_found: str | None = None
    damage_unchecked: bool = False
    checked_file: Path | None = None  # the file the quick check reads (as opened, whatever the URL says)
    # Why this program may not change the project although the file allows it (a reader's browser session,
    # issue 18): every change is refused with this line before anything is attempted.
    refuse_writes: str | None = None
    # Who reads, for blind coding (models/blind.py): the coder whose own codings stay visible in blind
    # transcripts, and whether they are the owner (None: decided from the database role or the file).
    # None for reads on nobody's behalf (merges, copies, checks), which see everything.
    viewer: str | None = None
    viewer_is_owner: bool | None = None
    # After a change the WAL is checkpointed so that the file alone is complete; a process making many
    # changes in a row (a script, four coders' loops) does so at most this often, and on close, because
    # each checkpoint waits for the disk and would halve the changes a second. The workspace sets 0: every
    # change of a person at the keyboard is in the file at once.
    checkpoint_every_s: float = 0.1
    # The id of the event this process's latest change wrote (see ``only_own_change``).
    last_written_event: int | None = field(default=None, repr=False)
    _replica_checked: bool = field(default=False, repr=False)
    _last_checkpoint: float = field(default=float("-inf"), repr=False)
    _checkpoint_due: bool = field(default=False, repr=False)
    _checkpoint_timer: threading.Timer | None = field(default=None, repr=False)
    _checkpoint_retries: int = field(default=0, repr=False)
    _timer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def damaged(self) -> str | None:
        """What SQLite's quick check found wrong with the file (None: sound), checked once, before the first
        change or when asked."""
        if self.damage_unchecked and self.checked_file is not None:
            self.damage_found = project_file.quick_check(None, self.checked_file)
            self.damage_unchecked = False
        return self.damage_found

    @cached_property
    def path(self) -> Path | None:
        """The project file (None for a database server); parsed once, as it is asked on every change."""
        parsed = make_url(self.url)
        return Path(parsed.database) if parsed.drivername.startswith("sqlite") and parsed.database else None

    @contextmanager
    def read(self, viewer: tuple[str, bool | None] | None = None) -> Iterator[Session]:
        """A read-only unit of work (nothing is committed). ``viewer`` (coder, is owner) reads on someone's
        behalf for this unit only (a server answering several people); else ``Project.viewer``, if set."""
        if viewer is None and self.viewer is not None:
            viewer = (self.viewer, self.viewer_is_owner)
        with self.sessions() as session:
            if viewer is not None:
                import models.blind  # noqa: F401 - importing it installs the blind-coding filter

                session.info[VIEWER_KEY] = viewer
            yield session

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @contextmanager
    def change(
        self,
        actor: str,
        operation: str,
        summary: str = "",
        detail: dict[str, Any] | None = None,
        undoable: bool = True,
        within_transcript: bool = False,
    ) -> Iterator[Session]:
        """One user-level operation: one transaction, one event.

        The body may set ``session.info["summary"]`` / ``["detail"]`` once it knows what it did. If the
        body raises, nothing is written.

        ``within_transcript``: the change writes only the codings (and their memos) of one transcript, which
        it locks (``TRANSCRIPT_LOCK_CLASS``) before it reads them. On PostgreSQL such changes run beside each
        other, each holding the project's write lock shared, so that coders working on different transcripts
        do not take turns for every commit (issue 16: a commit waits ~3 ms for the disk); every other change
        holds it exclusively. On SQLite every change takes turns.
        """
        self._refuse_if_damaged()
        with self.write_session(within_transcript, notify_as=actor) as session:
            if not self._replica_checked:
                from models import replica

                replica.ensure_own(session, self.path)
                self._replica_checked = True
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
        self._checkpoint_after_change()

    def _checkpoint_after_change(self) -> None:
        if self.path is None:  # a server's database: nothing to copy
            return
        wait = self._last_checkpoint + self.checkpoint_every_s - time.monotonic()
        if wait <= 0:
            if not self.checkpoint(small_only=True):
                self._retry_checkpoint()
            return
        self._checkpoint_due = True  # a timer copies this change (and any that follow) when the interval ends
        self._start_checkpoint_timer(wait)

    def _start_checkpoint_timer(self, wait: float) -> None:
        with self._timer_lock:  # started and published together, so close() never sees one not yet started
            if self._checkpoint_timer is None and not self._closed:
                timer = threading.Timer(wait, self._checkpoint_if_due)
                timer.daemon = True
                timer.start()
                self._checkpoint_timer = timer

    def _retry_checkpoint(self) -> None:
        """The checkpoint after a change could not copy it (another checkpoint, perhaps another process's or
        this one's timer, was running, or a reader held older frames): try again shortly, a bounded number
        of times; after that the next change or ``close()`` copies it (it is safe in the WAL meanwhile)."""
        self._checkpoint_due = True
        self._checkpoint_retries += 1
        if self._checkpoint_retries > CHECKPOINT_RETRIES:
            self._checkpoint_retries = 0
            return
        self._start_checkpoint_timer(CHECKPOINT_RETRY_S)

    def _checkpoint_if_due(self) -> None:
        complete = True
        try:
            if self._checkpoint_due and not self._closed:
                complete = self.checkpoint(small_only=True)
        finally:
            with self._timer_lock:
                self._checkpoint_timer = None
        if not complete and not self._closed:
            self._retry_checkpoint()
        elif self._checkpoint_due and not self._closed:  # a change committed while this ran: its own turn
            self._checkpoint_after_change()

    @contextmanager
    def write_session(self, within_transcript: bool = False, notify_as: str = "") -> Iterator[Session]:
        """A session in a write transaction that holds the write lock from its first statement (SQLite's
        ``BEGIN IMMEDIATE``: waits up to the busy timeout for other writers, then says who holds the file; on
        PostgreSQL a transaction-scoped advisory lock, shared for ``within_transcript``, see ``change``).
        Committed when the block ends, rolled back if it raises.

        On PostgreSQL a commit then sends ``NOTIFY waveqda`` (payload ``notify_as``) to wake every workspace
        listening. After the commit, not in it: PostgreSQL lets only one notifying transaction commit at a
        time, which would make every change wait for the one before it to reach the disk. (Should this process
        die between the two, listeners still notice at their next slow poll.)"""
        if self.refuse_writes:
            raise WaveqdaError(self.refuse_writes)
        with self._write_errors(), self.engine.connect() as conn:
            if self.is_sqlite:
                conn.info[BEGIN_KEY] = "BEGIN IMMEDIATE"
            with self.sessions(bind=conn) as session, session.begin():
                if not self.is_sqlite:
                    from models.roles import begin_write

                    # a reader is refused before anything is attempted; the lock wait is bounded
                    begin_write(session, int(BUSY_TIMEOUT_MS), WRITE_LOCK_KEY, shared=within_transcript)
                yield session
                written = session.info.get(journal.WRITTEN_EVENT_KEY)
            self.last_written_event = written
            if not self.is_sqlite:
                _notify(conn.connection, notify_as)

    @contextmanager
    def driver_change(self, actor: str) -> Iterator[hot_sql.Driver]:
        """PostgreSQL: a change within one transcript (as ``change(..., within_transcript=True)``) made on the
        driver's connection with no session: no ORM, no journal capture, so the body writes its rows and its
        event itself (``journal.record_event_with_row``) and locks its transcript first. Committed when the
        block ends, rolled back if it raises; refused and reported as any change is.

        Why: applying a code at the keyboard is the change a team makes hundreds of times a minute, and with
        eight coders on two cores the session's and the pool's bookkeeping around its three statements was
        about a third of a coder's CPU per change (issue 16)."""
        if self.is_sqlite:
            raise ValueError("driver_change is for a team project on PostgreSQL")
        self._refuse_if_damaged()
        if self.refuse_writes:
            raise WaveqdaError(self.refuse_writes)
        from models.roles import begin_write

        with self._write_errors():
            pooled = self.engine.raw_connection()
            try:
                driver = hot_sql.Driver(pooled, self.engine.dialect.loaded_dbapi.Error)
                try:
                    begin_write(driver, int(BUSY_TIMEOUT_MS), WRITE_LOCK_KEY, shared=True)
                    yield driver
                    driver.commit()
                except BaseException:
                    driver.rollback()
                    raise
                self.last_written_event = driver.info.get(journal.WRITTEN_EVENT_KEY)
                _notify(pooled, actor)
            finally:
                pooled.close()  # back to the pool

    def _refuse_if_damaged(self) -> None:
        if self.damaged:
            raise WaveqdaError(f"{self.label}: the project file is damaged ({self.damaged}); changes are refused")

    @contextmanager
    def _write_errors(self) -> Iterator[None]:
        """A failed write as the one line a user sees: busy past the timeout, a code name taken meanwhile, the
        disk refusing; anything else is raised as it is."""
        try:
            yield
        except IntegrityError as exc:
            if "uq_codes_parent_name" in str(exc.orig):
                raise WaveqdaError(
                    "a code of that name already exists there (added by someone else just now)"
                ) from None
            raise
        except OperationalError as exc:
            if not self.is_sqlite and "lock timeout" in str(exc.orig).lower():
                raise self.busy_error() from None
            if _is_busy(exc):
                raise self.busy_error() from None
            reason = _write_failure(exc)
            if reason is None:
                raise
            raise WaveqdaError(f"{self.label}: cannot save the change: {reason}; nothing was changed") from None

    def busy_error(self) -> WaveqdaError:
        """The one line a user sees when another process held the project longer than the busy timeout."""
        held_by = project_file.holders(self.path) if self.path is not None else []
        who = ", ".join(str(h) for h in held_by[:3]) or "another program"
        return WaveqdaError(
            f"{self.label}: the project is busy: {who} has been writing to it for over "
            f"{BUSY_TIMEOUT_MS // 1000} s; nothing was changed, try again when it has finished"
        )

    def checkpoint(self, small_only: bool = False) -> bool:
        """Copy committed changes from the WAL into the project file (never waiting for readers), so that a
        copy of the file alone is complete. ``small_only``: only while the WAL is small (after each change).

        Returns False when the file may still lack committed changes: another checkpoint was running (SQLite
        lets one run at a time: the other may have started before this change committed) or a reader's
        snapshot held frames back. A large WAL skipped on purpose counts as done (the idle checkpoint and
        ``close()`` copy it)."""
        path = self.path
        if path is None:
            return True
        self._checkpoint_due = False
        self._last_checkpoint = time.monotonic()
        if small_only:
            try:
                if os.path.getsize(f"{path}-wal") > SMALL_WAL_BYTES:
                    return True
            except OSError:
                return True
        try:
            with self.engine.connect() as conn:
                busy, frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        except OperationalError:
            return False  # busy: another checkpoint is running
        complete = not busy and copied >= frames
        if complete:
            self._checkpoint_retries = 0
        return complete

    def change_mark(self) -> ChangeMark:
        """What the workspace polls (and the site keys its cache by) to notice other writers: the ids of the
        newest ``MARK_DEPTH`` events. Any commit changes it, whoever made it.

        Not just the newest id: on PostgreSQL changes within different transcripts commit side by side, so an
        event can become visible after a newer one (its writer was still waiting for the disk); it then fills
        a gap in this list. (An event would have to stay uncommitted while ``MARK_DEPTH`` newer ones commit to
        be missed; each change commits right after it writes its event.)"""
        with self.engine.connect() as conn:
            return tuple(conn.execute(_MARK_SQL).scalars())

    def listen(self, on_change: Callable[[str], None]) -> Callable[[], None] | None:
        """On PostgreSQL, call ``on_change(actor)`` from a background thread whenever any coder commits a change
        (every change sends ``NOTIFY waveqda`` once committed); returns the function that stops listening. None
        on SQLite, which has no notifications: the workspace polls ``change_mark`` there."""
        if self.is_sqlite:
            return None
        import psycopg

        conninfo = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg.connect(conninfo, autocommit=True)
        conn.execute("LISTEN waveqda")
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    for note in conn.notifies(timeout=0.5):
                        on_change(note.payload)
                except psycopg.Error:  # the server went away: the workspace's slower poll still notices
                    return

        thread = threading.Thread(target=run, name="waveqda-listen", daemon=True)
        thread.start()

        def close() -> None:
            stop.set()
            thread.join(timeout=2)
            conn.close()

        return close

    @property
    def target(self) -> str:
        """What names this project on the command line: its file, or its database URL."""
        return str(self.path) if self.path is not None else self.url

    @property
    def label(self) -> str:
        """How messages name the project: its file, or its database URL without the password."""
        if self.path is not None:
            return str(self.path)
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        with self._timer_lock:
            self._closed = True
            timer = self._checkpoint_timer
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
            timer.join()
        if self._checkpoint_due:
            self.checkpoint()
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
    """Create a new project file (or database) with its schema, timepoints and name."""
    if not _is_url(os.fspath(target)):
        name = name or Path(os.fspath(target)).expanduser().stem
    project = create_schema(target)
    try:
        with project.change("system", "project.init", f"Created project {name!r}", undoable=False) as s:
            s.add(Setting(key="name", value=name or "waveqda project"))
            s.add(Setting(key="project_uuid", value=new_uuid()))
            for i, (key, label) in enumerate(timepoints or DEFAULT_TIMEPOINTS):
                s.add(Timepoint(key=key, label=label, position=i))
    except Exception:
        discard_new(project)
        raise
    return project


def create_schema(target: str | os.PathLike[str]) -> Project:
    """A new, empty project: the schema at the newest revision and no rows (``copy`` fills one whole)."""
    url = project_url(target)
    path: Path | None = None
    if not _is_url(os.fspath(target)):
        path = Path(os.fspath(target)).expanduser()
        if path.exists():
            raise WaveqdaError(f"{path}: already exists; open it instead, or choose another name")
        if not path.parent.exists():
            raise WaveqdaError(f"{path}: folder {path.parent} does not exist")
        _create_private_file(path)
    engine = make_engine(url)
    try:
        _new_schema(engine, url, path)
    except Exception:
        engine.dispose()
        if path is not None:
            remove_database_files(path)
        raise
    return Project(url, engine, _session_factory(engine))


def _new_schema(engine: Engine, url: str, path: Path | None) -> None:
    """The newest schema in a new database: a new SQLite file from the migrations' snapshot when it is
    current (``models/schema_snapshot.py``: the same schema without running every migration), else (and on
    PostgreSQL) by running the migrations."""
    from models.schema_snapshot import apply_snapshot, current_snapshot

    script = current_snapshot(HEAD_REVISION) if path is not None else None
    if script is None:
        upgrade(engine, url)
        return
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None  # an open connection has its driver's connection
        apply_snapshot(raw, script)


def discard_new(project: Project) -> None:
    """Undo ``create_schema`` after a failure: delete the new file, or drop every table from the new database."""
    path = project.path
    if path is not None:
        project.close()
        remove_database_files(path)
        return
    with project.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS search_index"))
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    project.close()


def project_exists(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` names a project already: an existing file, or a database holding the schema."""
    if not _is_url(os.fspath(target)):
        return Path(os.fspath(target)).expanduser().exists()
    engine = make_engine(os.fspath(target))
    try:
        return current_revision(engine) is not None
    except Exception as exc:
        raise WaveqdaError(f"{display_name(target)}: {exc}") from exc
    finally:
        engine.dispose()


def remove_database_files(path: Path) -> None:
    """Delete a project file this run created and failed to fill, with SQLite's WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def open_project(target: str | os.PathLike[str], migrate: bool = True) -> Project:
    """Open an existing project, migrating an older schema after writing a backup beside it.

    A file is only read (never switched to WAL mode, never grown) until it is known to be a waveqda project
    of a schema this version knows; a file whose structure fails SQLite's quick check opens for reading
    only, with writes refused in one line.
    """
    url = project_url(target)
    path: Path | None = None
    damaged: str | None = None
    if not _is_url(os.fspath(target)):
        path = Path(os.fspath(target)).expanduser()
        if not path.exists():
            raise WaveqdaError(f"{path}: no such project (create it with: waveqda init {path})")
        project_file.check_header(path)
        revision = project_file.stored_revision(path)
        _check_revision(target, revision)
        if revision != HEAD_REVISION:  # never migrate a damaged file; otherwise checked before the first change
            damaged = project_file.quick_check(None, path)
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except Exception as exc:  # a damaged or foreign database
        engine.dispose()
        raise WaveqdaError(f"{display_name(target)}: cannot read project ({exc.__class__.__name__}: {exc})") from exc
    try:
        _check_revision(target, revision)
    except WaveqdaError:
        engine.dispose()
        raise
    if revision != HEAD_REVISION:
        if not migrate or damaged:
            engine.dispose()
            why = f"the file is damaged ({damaged})" if damaged else f"schema {revision} is older"
            raise WaveqdaError(f"{display_name(target)}: cannot open: {why}; run: waveqda check {display_name(target)}")
        if path is not None:
            backup_copy(engine, path, f"before-{HEAD_REVISION}")
        try:
            upgrade(engine, url)
        except Exception as exc:
            engine.dispose()
            raise WaveqdaError(f"{display_name(target)}: migration from {revision} failed: {exc}") from exc
    unchecked = path is not None and revision == HEAD_REVISION and damaged is None
    return Project(
        url, engine, _session_factory(engine), damage_found=damaged, damage_unchecked=unchecked, checked_file=path
    )


def _check_revision(target: str | os.PathLike[str], revision: str | None) -> None:
    if revision is None:
        raise WaveqdaError(f"{display_name(target)}: not a waveqda project (no schema version)")
    if revision not in KNOWN_REVISIONS:
        raise WaveqdaError(
            f"{display_name(target)}: made by a newer waveqda (revision {revision}); upgrade waveqda to open it"
        )


def _write_failure(exc: OperationalError) -> str | None:
    """What a user can do something about, for SQLite's errors when a write cannot be stored."""
    message = str(exc.orig).lower()
    if "readonly" in message or "read-only" in message:
        return "the project file (or its folder) is read-only"
    if "disk is full" in message or "database or disk is full" in message:
        return "the disk is full"
    if "unable to open" in message:
        return "its folder cannot be written (SQLite keeps a journal file beside the project)"
    if "disk i/o error" in message:
        return "the disk reported an error"
    return None


def only_own_change(before: ChangeMark, after: ChangeMark, own_event: int | None) -> bool:
    """Whether ``after`` is ``before`` plus only the event ``own_event`` (nobody else committed meanwhile)."""
    return own_event is not None and after == ((own_event, *before))[:MARK_DEPTH]


def _notify(pooled: Any, payload: str) -> None:
    """``NOTIFY waveqda, payload`` outside any transaction (one round trip on the pool entry's driver
    connection)."""
    dbapi = pooled.dbapi_connection
    if dbapi is None:
        return
    try:
        dbapi.autocommit = True
        try:
            hot_sql.driver_cursor_of(pooled).execute("SELECT pg_notify('waveqda', %s)", (payload,))
        finally:
            dbapi.autocommit = False
    except Exception:  # the change is committed: a lost notification only delays others' refresh to their poll
        pooled.invalidate()  # the connection may be broken: the pool opens a new one next time
        log.warning("could not notify listeners of a change: %s", traceback.format_exc())


def _is_busy(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


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
