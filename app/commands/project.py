"""Project commands: init, import, transcripts, show, participants, attributes, demo."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from app.commands.common import (
    ActorOpt,
    JsonOpt,
    ProjectArg,
    actor_of,
    emit_json,
    emit_table,
    fail,
    open_existing,
    open_for_reading,
)
from models import project_info
from models.store import create_project, display_name, parse_timepoints, project_exists

if TYPE_CHECKING:
    from models.imports import BatchResult
    from models.store import Project


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("import", help=_import_help())(import_command)
    app.command("transcripts")(transcripts)
    app.command("show")(show)
    app.command("participants")(participants)
    app.command("attributes")(attributes)
    app.command("demo")(demo)
    app.command("backup")(backup)
    app.command("check")(check)
    app.command("copy")(copy)
    app.command("role")(role)


def _import_help() -> str:
    """``waveqda import``'s help, with the formats from the registry ``importers.formats`` (as the workspace)."""
    from importers.formats import IMPORT_FORMATS

    formats = "; ".join(f"{f.suffix} ({f.label})" for f in IMPORT_FORMATS)
    return f"Import transcripts, or a REFI-QDA project or codebook, into the project.\n\nFormats: {formats}."


def init(
    project: str = ProjectArg,
    timepoints: str = typer.Option(
        "T1=After training,T2=4 months,T3=12 months", "--timepoints", help="Ordered KEY=Label list."
    ),
    name: str | None = typer.Option(None, "--name", help="The study's name (default: the file name)."),
) -> None:
    """Create a new project file."""
    created = create_project(project, parse_timepoints(timepoints), name)
    created.close()
    typer.echo(f"Created {created.label} with timepoints {timepoints}")


def _progress_printer(enabled: bool):
    """A rich progress bar on a terminal; silent otherwise (scripts read the summary lines)."""
    if not enabled:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"), transient=True
    )
    task = bar.add_task("", total=None)

    def update(done: int, total: int, name: str) -> None:
        bar.update(task, completed=done, total=total, description=name)

    return bar, update


def import_command(
    project: str = ProjectArg,
    paths: list[Path] = typer.Argument(..., help="Files or folders to import.", metavar="PATH..."),
    participant: str | None = typer.Option(None, "--participant", help="Participant study ID for all files."),
    timepoint: str | None = typer.Option(None, "--timepoint", help="Timepoint key for all files."),
    manifest: Path | None = typer.Option(None, "--manifest", help="CSV: file, participant, timepoint, attrs."),
    pattern: str | None = typer.Option(None, "--pattern", help='File-name pattern, e.g. "{participant}_{timepoint}".'),
    replace: bool = typer.Option(False, "--replace", help="Replace an uncoded transcript of the same slot."),
    strict: bool = typer.Option(False, "--strict", help="All or nothing: any failure imports nothing."),
    participant_variable: str = typer.Option(
        "", "--participant-variable", help="REFI-QDA: variable naming each source's participant."
    ),
    timepoint_variable: str = typer.Option(
        "", "--timepoint-variable", help="REFI-QDA: variable naming each source's timepoint."
    ),
    map_source: list[str] = typer.Option(
        [], "--map-source", help="REFI-QDA: SOURCE=P01/T1, SOURCE a source's name or GUID (repeatable)."
    ),
    participant_from_name: bool = typer.Option(
        False, "--participant-from-name", help="REFI-QDA: use each source's name as its participant ID."
    ),
    json_out: bool = JsonOpt,
) -> None:
    """Import transcripts or a REFI-QDA project or codebook (help text: ``_import_help``)."""
    from app.commands.exchange import parse_mappings, print_report
    from importers.batch import RefiOptions, import_paths
    from importers.formats import is_refi

    refi_file = any(is_refi(p) for p in paths)
    mapping = parse_mappings(map_source) if refi_file else {}
    refi = RefiOptions(participant_variable or None, timepoint_variable or None, mapping, participant_from_name)
    bar, update = _progress_printer(sys.stderr.isatty() and not json_out)

    def run(target: Project | str) -> BatchResult:
        with bar if bar is not None else nullcontext():
            return import_paths(
                target, paths, participant, timepoint, manifest, pattern, replace, strict, progress=update, refi=refi
            )

    if refi_file and not project_exists(project):
        result = run(project)  # a REFI-QDA project can start a new project
    else:
        with open_existing(project) as proj:
            result = run(proj)
    report = result.outcomes[0].report if len(result.outcomes) == 1 else None
    if report is not None:
        print_report(report, json_out)
        return
    if json_out:
        emit_json(
            [
                {
                    "file": str(o.path),
                    "status": o.status,
                    "message": o.message,
                    "transcript_id": o.transcript_id,
                    "warnings": o.warnings,
                }
                for o in result.outcomes
            ]
        )
    else:
        for outcome in result.outcomes:
            stream_err = outcome.status == "failed"
            typer.echo(("error: " if stream_err else "") + outcome.message, err=stream_err)
            for warning in outcome.warnings:
                typer.echo(f"warning: {warning}", err=True)
        typer.echo(result.summary())
    if result.failed:
        raise typer.Exit(1)


def transcripts(project: str = ProjectArg, json_out: bool = JsonOpt) -> None:
    """List transcripts with their participant, timepoint, size and codings."""
    with open_for_reading(project) as proj, proj.read() as session:  # coding counts: blind coding applies
        rows = project_info.transcript_rows(session)
    if json_out:
        emit_json(rows)
        return
    emit_table(
        ["id", "participant", "timepoint", "turns", "words", "codings", "source"],
        [[r["id"], r["participant"], r["timepoint"], r["turns"], r["words"], r["codings"], r["source"]] for r in rows],
    )


def show(
    project: str = ProjectArg,
    transcript: str = typer.Argument(..., help="Transcript id or PARTICIPANT/TIMEPOINT, e.g. P07/T2."),
    json_out: bool = JsonOpt,
) -> None:
    """Show one transcript: its fields, full text and turns."""
    with open_for_reading(project) as proj, proj.read() as session:  # coding counts: blind coding applies
        data = project_info.transcript_detail(session, transcript)
    if json_out:
        emit_json(data)
        return
    typer.echo(f"{data['participant']}/{data['timepoint']}  {data['title']}  ({data['source']})")
    typer.echo(f"{data['words']} words, {len(data['turns'])} turns, {data['codings']} codings")
    typer.echo("")
    for turn in data["turns"]:
        stamp = f" [{turn['timestamp']}]" if turn["timestamp"] else ""
        typer.echo(f"#{turn['number']} {turn['speaker']} ({turn['role']}){stamp}")
        typer.echo(turn["text"])
        typer.echo("")


def participants(project: str = ProjectArg, json_out: bool = JsonOpt) -> None:
    """List participants with their attributes and transcripts."""
    with open_existing(project) as proj, proj.read() as session:
        rows = project_info.participant_rows(session)
    if json_out:
        emit_json(rows)
        return
    names = sorted({k for r in rows for k in r["attributes"]})
    emit_table(
        ["participant", "transcripts", *names],
        [[r["participant"], ",".join(r["timepoints"]), *[r["attributes"].get(n, "") for n in names]] for r in rows],
    )


def attributes(
    project: str = ProjectArg,
    csv_path: Path = typer.Argument(
        ..., help="CSV or XLSX with a participant column and attribute columns.", metavar="CSV"
    ),
    json_out: bool = JsonOpt,
    coder_name: str | None = ActorOpt,
) -> None:
    """Set participant attributes from a CSV or XLSX; each column's type is inferred and reported."""
    from importers.batch import import_attributes

    with open_existing(project) as proj:
        report = import_attributes(proj, csv_path, actor_of(proj, coder_name))
    if json_out:
        emit_json([{"attribute": n, "type": t, "choices": c} for n, t, c in report])
        return
    for name, type_, choices in report:
        extra = f" ({', '.join(choices)})" if choices else ""
        typer.echo(f"{name}: {type_}{extra}")


def demo(
    project: Path = typer.Argument(Path("demo.wqda"), help="Where to create the demo project."),
    samples: Path | None = typer.Option(None, "--samples", help="Sample transcript folder."),
    no_tui: bool = typer.Option(False, "--no-tui", help="Build the project and print a summary only."),
) -> None:
    """Build a project from the bundled fictional sample study and open it."""
    from app.demo import build_demo

    summary = build_demo(project, samples)
    for line in summary:
        typer.echo(line)
    if not no_tui and sys.stdin.isatty() and sys.stdout.isatty():
        from app.commands.workspace import run_workspace

        run_workspace(project)
    else:
        typer.echo(f"Open it with: waveqda {project}")


def backup(
    project: str = ProjectArg,
    dest: Path = typer.Argument(..., help="Where to write the copy (a new .wqda file).", metavar="DEST"),
) -> None:
    """Write a complete, consistent copy of the project, even while others are working in it."""
    from models.project_file import backup_project

    if dest.exists():  # before opening: a wrong name is said at once
        fail(f"{dest}: already exists; choose a new name")
    if not dest.parent.is_dir():
        fail(f"{dest}: folder {dest.parent} does not exist")
    with open_existing(project) as proj:
        backup_project(proj.path, proj.label, dest)
    typer.echo(f"Backed up {project} to {dest}")


def check(project: str = ProjectArg) -> None:
    """Check the project file thoroughly (SQLite's integrity check, every reference, the codebook tree)."""
    from models.consistency import problems_in

    problems = problems_in(project)
    if problems:
        for problem in problems:
            typer.echo(f"{display_name(project)}: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{display_name(project)}: no problems found")


def copy(
    source: str = ProjectArg,
    dest: str = typer.Argument(
        ..., help="A new .wqda file or an empty PostgreSQL database URL (postgresql+psycopg://...).", metavar="DEST"
    ),
    json_out: bool = JsonOpt,
) -> None:
    """Copy a whole project to a new file or database (SQLite <-> PostgreSQL), verified table by table."""
    from models.project_copy import copy_project

    report = copy_project(source, dest)
    if json_out:
        emit_json(report.as_dict())
        return
    emit_table(
        ["table", "rows", "checksum"],
        [[t.table, t.copied_rows, t.copied_checksum[:16] + ("" if t.same else " DIFFERS")] for t in report.tables],
    )
    typer.echo(
        f"Copied {report.source} to {report.destination}: {report.rows} rows in {len(report.tables)} tables, "
        "every table's row count and checksum equal to the source's; undo history kept."
    )


def role(
    project: str = ProjectArg,
    login: str | None = typer.Argument(None, help="A PostgreSQL login.", metavar="[LOGIN]"),
    new_role: str | None = typer.Argument(None, help="owner, coder or reader.", metavar="[ROLE]"),
    json_out: bool = JsonOpt,
) -> None:
    """Team projects: list who may read, code or own the project, or (as its owner) set a login's role."""
    from models import roles

    with open_existing(project) as proj:
        if login is None:
            found = roles.members(proj)
            if json_out:
                emit_json([{"login": m.login, "role": m.role} for m in found])
            else:
                emit_table(["login", "role"], [[m.login, m.role] for m in found])
            return
        if new_role is None:
            fail("give the ROLE too: owner, coder or reader")
        member = roles.set_role(proj, actor_of(proj), login, new_role or "")
    typer.echo(f"{member.login} is now {member.role} of {proj.label}")
