"""The project file on disk: what it is before we trust it, consistent copies, and who else holds it.

Why a module of its own: everything here works on the file (and SQLite's ``-wal``/``-shm`` files beside it)
rather than through the models, and must be safe on a file that is not ours yet: a foreign or empty SQLite
file is only ever read here, never switched to WAL mode or grown, until it is known to be a waveqda project.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from models.errors import WaveqdaError

# How many automatic backups of one kind (before a migration, before a redaction) are kept beside a project.
KEEP_BACKUPS = 5


def os_error(path: Path | str, exc: OSError, doing: str) -> WaveqdaError:
    """One line for a failed file operation: which file, what we tried, and the system's reason."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = "the disk is full"
    elif exc.errno == errno.EROFS:
        reason = "the disk is read-only"
    return WaveqdaError(f"{path}: cannot {doing} ({reason})")


def check_header(path: Path) -> None:
    """Refuse what is not an SQLite file at all, before anything else reads it.

    Read through SQLite, never with Python's own ``open()``: closing any other descriptor on a database file
    drops every POSIX lock this process holds on it (SQLite's "how to corrupt" 2.2), so a process that already
    has the project open (the workspace opening it again, a command run in-process) would let other writers
    reset the write-ahead log under its feet: short reads, then "damaged" pages. SQLite itself keeps such
    descriptors open until its locks are released."""
    if not path.is_file():
        raise WaveqdaError(f"{path}: not a project file (it is a folder or a device)")
    try:
        if path.stat().st_size == 0:
            raise WaveqdaError(f"{path}: not a waveqda project (the file is empty)")
    except OSError as exc:
        raise os_error(path, exc, "read the project") from exc
    with read_only(path) as conn:
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):
                raise WaveqdaError(f"{path}: not a waveqda project (not an SQLite database)") from None
            raise WaveqdaError(f"{path}: cannot read the project ({exc}); run: waveqda check {path}") from exc


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection that changes nothing on disk (no journal mode switch, no growth)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise WaveqdaError(f"{path}: cannot read the project ({exc})") from exc
    try:
        yield conn
    finally:
        conn.close()


def stored_revision(path: Path) -> str | None:
    """The schema revision written in the file, or None when it has no waveqda schema (read-only look)."""
    with read_only(path) as conn:
        try:
            has = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            if has is None:
                return None
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise WaveqdaError(f"{path}: cannot read the project ({exc}); run: waveqda check {path}") from exc
    return None if row is None else row[0]


def quick_check(conn: sqlite3.Connection | None, path: Path) -> str | None:
    """SQLite's quick structural check: None when the file is sound, else the first problem it names."""
    try:
        if conn is None:
            with read_only(path) as own:
                rows = own.execute("PRAGMA quick_check(3)").fetchall()
        else:
            rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    problems = [row[0] for row in rows if row[0] != "ok"]
    return "; ".join(problems) or None


def integrity_problems(path: Path) -> list[str]:
    """The full check ``waveqda check`` runs: SQLite's integrity check and every foreign key."""
    with read_only(path) as conn:
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(20)") if row[0] != "ok"]
            for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check").fetchmany(20):
                problems.append(f"{table} row {rowid} refers to a missing {parent} row")
        except sqlite3.DatabaseError as exc:
            problems = [str(exc)]
    return problems


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether two paths are one file (also through hard and symbolic links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


# --- consistent copies -------------------------------------------------------------------------------


def create_private(path: Path) -> None:
    """Create ``path`` readable by its owner only (refusing to replace anything)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        raise os_error(path, exc, "create the file") from exc
    os.close(fd)


def online_copy(source: Path, dest: Path) -> None:
    """A consistent copy of a live project through SQLite's online backup API (safe beside writers and with
    WAL: the copy holds every committed change, in one self-contained file). Written to a temporary name in
    the destination folder and renamed at the end, so a failure (a full disk, a read-only folder) leaves
    neither a partial nor an empty file."""
    folder = dest.parent
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise os_error(dest, exc, "write the copy") from exc
    os.close(fd)
    os.chmod(temp, 0o600)
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(temp)
            try:
                src.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")  # one file: no -wal beside the copy
            finally:
                target.close()
        finally:
            src.close()
        os.replace(temp, dest)
    except sqlite3.Error as exc:
        Path(temp).unlink(missing_ok=True)
        if "full" in str(exc).lower():
            raise WaveqdaError(f"{dest}: cannot write the copy: the disk is full") from exc
        raise WaveqdaError(f"{dest}: cannot write the copy ({exc})") from exc
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise os_error(dest, exc, "write the copy") from exc
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def backup_beside(path: Path, label: str, keep: int = KEEP_BACKUPS) -> Path:
    """``study.wqda.<label>-<time>.bak`` beside the project, owner-only; only the newest ``keep`` of that
    label are kept (each is a whole copy of the project)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = path.with_name(f"{path.name}.{label}-{stamp}.bak")
    n = 1
    while dest.exists():
        dest = path.with_name(f"{path.name}.{label}-{stamp}-{n}.bak")
        n += 1
    online_copy(path, dest)
    rotate_backups(path, label, keep)
    return dest


def rotate_backups(path: Path, label: str, keep: int = KEEP_BACKUPS) -> None:
    older = sorted(path.parent.glob(f"{path.name}.{label}-*.bak"), key=lambda p: (p.stat().st_mtime, p.name))
    for stale in older[: max(0, len(older) - keep)]:
        stale.unlink(missing_ok=True)


# --- files waveqda writes -----------------------------------------------------------------------------

PARTIAL_SUFFIX = ".partial"


def write_private(out_path: Path, write: Callable[[Path], object]) -> None:
    """Write a file owner-only (interview data: never readable by others on a shared machine), all or
    nothing: ``write`` fills a temporary file in the same folder, which is renamed into place only when
    complete. A failure (a full disk, a read-only folder) is one line and leaves no partial file; one left
    by a killed run is removed the next time a file is written there."""
    out_path = Path(out_path)
    folder = out_path.parent if str(out_path.parent) else Path(".")
    if not folder.is_dir():
        raise WaveqdaError(f"{out_path}: folder {folder} does not exist")
    remove_stale_partials(out_path)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{out_path.name}.waveqda-{os.getpid()}-", suffix=PARTIAL_SUFFIX + out_path.suffix, dir=folder
        )
    except OSError as exc:
        raise os_error(out_path, exc, "write the file") from exc
    os.close(fd)
    temp = Path(name)
    try:
        os.chmod(temp, 0o600)
        write(temp)
        os.chmod(temp, 0o600)  # a writer that recreated the file must not widen it
        os.replace(temp, out_path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise os_error(out_path, exc, "write the file") from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def remove_stale_partials(out_path: Path) -> None:
    """Delete temporary files a killed export left beside ``out_path`` (their process is gone)."""
    for stale in out_path.parent.glob(f".{glob_escape(out_path.name)}.waveqda-*-*{PARTIAL_SUFFIX}*"):
        pid_text = stale.name[len(f".{out_path.name}.waveqda-") :].split("-", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            stale.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


# --- who else has the file open ----------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.command})" if self.command else f"pid {self.pid}"


def holders(path: Path) -> list[Holder]:
    """Other processes that have the project (or its WAL) open, where the system tells (Linux's /proc);
    an empty list elsewhere. Used only to say who holds a busy project."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    wanted = {str(path.resolve()), f"{path.resolve()}-wal"}
    found: list[Holder] = []
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    found.append(Holder(int(entry.name), " ".join(command.split()[:4])[:80]))
                    break
            except OSError:
                continue
    return found


# --- shared and synced folders -----------------------------------------------------------------------

NETWORK_FILESYSTEMS = {"cifs", "smb3", "smbfs", "nfs", "nfs4", "afpfs", "fuse.sshfs", "9p", "davfs", "fuse.davfs"}
SYNCED_FOLDER_NAMES = ("dropbox", "onedrive", "google drive", "googledrive", "my drive", "icloud", "box sync")


def shared_location(path: Path) -> str | None:
    """What kind of shared place the project lives in (a network mount, a cloud-synced folder), or None.

    Several people opening one SQLite file there at once can corrupt it or lose work (file locks do not
    travel over such mounts, and sync clients copy half-written files); team mode is the safe way."""
    resolved = path.resolve()
    lowered = [part.lower() for part in resolved.parts]
    for name in SYNCED_FOLDER_NAMES:
        if any(part == name or part.startswith(f"{name} ") or part.startswith(f"{name}-") for part in lowered):
            return f"a {name.title()} folder"
    fstype = _filesystem_type(resolved)
    if fstype in NETWORK_FILESYSTEMS:
        return f"a network folder ({fstype})"
    return None


def _filesystem_type(path: Path) -> str | None:
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, best_type = "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        if (str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
            best, best_type = mount, fields[2]
    return best_type
