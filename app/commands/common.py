"""Small helpers shared by the command modules: opening projects, printing JSON and tables."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import typer

from models.errors import WaveqdaError
from models.naming import printable
from models.store import Project, open_project

ProjectArg = typer.Argument(..., help="The project file (e.g. study.wqda).", metavar="PROJECT")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")


def open_existing(path: Path | str) -> Project:
    """The project at ``path`` (migrated if older); use it as a context manager so it is closed.

    A project on a network or cloud-synced folder gets a one-time warning on stderr: several people opening
    one SQLite file there at the same time can lose work.
    """
    try:
        project = open_project(path)
    except WaveqdaError as exc:
        if not _needs_password(exc, path):
            raise
        project = open_project(_with_password(str(path)))
    warning = shared_folder_warning(project)
    if warning:
        typer.echo(f"waveqda: warning: {warning}", err=True)
    return project


def open_for_reading(path: Path | str, coder: str | None = None) -> Project:
    """``open_existing`` for a command that shows codings: it reads on behalf of the coder (``--coder``,
    ``$WAVEQDA_CODER``, else the project's default coder), so blind-coded transcripts show that coder's own
    codings only (models/blind.py)."""
    project = open_existing(path)
    project.viewer = actor_of(project, coder)
    return project


def _needs_password(exc: WaveqdaError, target: Path | str) -> bool:
    """A database URL the server refused for want of a password, asked at a terminal where one can be typed
    (``PGPASSWORD`` and ``~/.pgpass`` are read by the driver itself, before it comes to this)."""
    return "://" in str(target) and "password" in str(exc).lower() and sys.stdin.isatty()


def _with_password(url: str) -> str:
    """The URL with a password typed at a hidden prompt; kept in memory only, never printed or stored."""
    import getpass

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    typed = getpass.getpass(f"Password for {parsed.username or 'you'} on {parsed.host or 'the server'}: ")
    return parsed.set(password=typed).render_as_string(hide_password=False)


def shared_folder_warning(project: Project) -> str | None:
    """The warning for a project in a shared place, the first time only (per project, per machine)."""
    from app.tui import config
    from models.project_file import shared_location

    if project.path is None:
        return None
    where = shared_location(project.path)
    if where is None or not config.first_time_warned("shared-folder", project.path):
        return None
    return (
        f"{project.path} is in {where}: several people must not open this file at the same time there "
        "(work can be lost); merge copies with 'waveqda merge', or use a team project on PostgreSQL"
    )


def actor_of(project: Project, coder: str | None = None) -> str:
    """Who an event is recorded as: the coder named, else ``$WAVEQDA_CODER``, else the project's default coder,
    else the OS user. The variable matters in a team project, where the project's default is everyone's: each
    coder sets it once in their shell and their steps (and their undo) are their own."""
    from models.coding import actor_name

    with project.read() as session:
        return actor_name(session, coder or os.environ.get("WAVEQDA_CODER") or None)


ActorOpt = typer.Option(
    None,
    "--coder",
    help="Who makes the change (default: $WAVEQDA_CODER, else the project's default coder).",
    metavar="C",
)


def emit_json(data: Any) -> None:
    """Print JSON to stdout: UTF-8, not ASCII-escaped, so quotes stay readable."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    sys.stdout.write("\n")


def emit_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain aligned table for humans (no colour, so it pastes cleanly into notes)."""
    rows = [["" if v is None else printable(v).replace("\n", " ") for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = min(max(widths[i], len(value)), 60)
    headers = [printable(h) for h in headers]
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers))
    typer.echo(line.rstrip())
    typer.echo("  ".join("-" * w for w in widths))
    for row in rows:
        cells = [(v if len(v) <= 60 else v[:57] + "...").ljust(widths[i]) for i, v in enumerate(row)]
        typer.echo("  ".join(cells).rstrip())


def fail(message: str) -> None:
    """Exit 1 with one line on stderr (for CLI-level problems that are not domain errors)."""
    typer.echo(f"waveqda: error: {printable(message)}", err=True)
    raise typer.Exit(1)


OutputOpt = typer.Option(
    None, "--output", "-o", help="Write the result to a file instead: .csv, .xlsx or .docx.", metavar="FILE"
)
AnonymiseOpt = typer.Option(
    False, "--anonymise", help="With --output: replace registered names in all text (as waveqda export does)."
)
AnonymiseCodersOpt = typer.Option(False, "--anonymise-coders", help="With --output: name coders Coder 1, Coder 2….")
AcceptRiskOpt = typer.Option(
    False, "--accept-risk", help="With --anonymise: write even with unreviewed names (stated in the file)."
)


def write_export(project: Project, out: Path, kind: str, filters: Any, options: Any) -> None:
    """Write a command's result through ``exporters.dispatch`` (the one export path the workspace uses too)
    and print what was written."""
    from exporters.dispatch import run_export

    for line in run_export(project, out, kind, filters, options):
        typer.echo(line)
