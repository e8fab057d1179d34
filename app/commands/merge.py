"""``waveqda merge TARGET SOURCE... [--dry-run] [--json] [--map FILE] [--accept-fuzzy]``."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import typer

from app.commands.common import ActorOpt, JsonOpt, emit_json


def register(app: typer.Typer) -> None:
    app.command("merge")(merge)


def merge(
    target: str = typer.Argument(..., help="The project to merge into (created if missing).", metavar="TARGET"),
    sources: list[str] = typer.Argument(..., help="Coders' projects (files or URLs) to bring in.", metavar="SOURCE..."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report exactly what would happen; change nothing."),
    map_file: Path | None = typer.Option(None, "--map", help="Code mapping: JSON {source: target} or CSV."),
    accept_fuzzy: bool = typer.Option(False, "--accept-fuzzy", help="Apply fuzzy code-name matches."),
    threshold: float = typer.Option(85.0, "--threshold", help="Fuzzy name similarity needed (0-100)."),
    json_out: bool = JsonOpt,
    coder_name: str | None = ActorOpt,
) -> None:
    """Merge coders' project files: exact, idempotent, one undoable step; nothing is ever dropped."""
    from models.merge import merge_projects

    report = merge_projects(
        target,
        list(sources),
        coder_name or os.environ.get("WAVEQDA_CODER") or getpass.getuser(),
        dry_run=dry_run,
        mapping_file=map_file,
        accept_fuzzy=accept_fuzzy,
        threshold=threshold,
    )
    if json_out:
        emit_json(report.as_dict())
    else:
        for line in report.lines():
            typer.echo(line)
