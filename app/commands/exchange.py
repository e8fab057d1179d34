"""REFI-QDA exchange: ``waveqda refi export PROJECT OUT`` and ``waveqda refi import PROJECT FILE``.

``waveqda import`` reaches the same importer through ``importers.batch`` (which routes by file type for the
CLI and the workspace alike), and ``waveqda export`` the same exporter by suffix; this group keeps the
REFI-QDA-only commands in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import typer

from app.commands.common import JsonOpt, ProjectArg, emit_json, fail, open_for_reading

refi = typer.Typer(
    help="Exchange with NVivo, ATLAS.ti, MAXQDA, QualCoder... (REFI-QDA .qdpx projects and .qdc codebooks).",
    no_args_is_help=True,
)


def parse_mappings(items: list[str]) -> dict[str, str]:
    """``["Interview 3=P03/T1"]`` -> ``{"Interview 3": "P03/T1"}`` (the last ``=`` splits, so names may hold one)."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, target = item.rpartition("=")
        if not sep or not name.strip() or not target.strip():
            fail(
                f"--map-source {item!r}: use SOURCE=PARTICIPANT/TIMEPOINT, SOURCE a source's name or GUID "
                "(the import's message names the GUID of a source without a name), e.g. 'Interview 3=P03/T1'"
            )
        mapping[name.strip()] = target.strip()
    return mapping


@refi.command("export")
def export_command(
    project: str = ProjectArg,
    out: Path = typer.Argument(..., help="The file to write: OUT.qdpx (project) or OUT.qdc (codebook).", metavar="OUT"),
    kind: str = typer.Option("", "--kind", help="project or codebook (default: from OUT's suffix)."),
    anonymise: bool = typer.Option(
        False, "--anonymise", help="Apply the name register; drop coder names, source titles and selection names."
    ),
    for_client: str = typer.Option(
        "", "--for", help=".qdpx: standard|nvivo|atlas|maxqda|qualcoder (default standard).", metavar="CLIENT"
    ),
    json_output: bool = JsonOpt,
) -> None:
    """Write the project (.qdpx) or its codebook (.qdc) for other QDA tools."""
    from exporters.refi_export import export_qdc, export_qdpx

    kind = kind or ("codebook" if out.suffix.lower() == ".qdc" else "project")
    expected = {"project": ".qdpx", "codebook": ".qdc"}
    if kind not in expected:
        fail(f"--kind {kind!r}: use project or codebook")
    if out.suffix.lower() != expected[kind]:
        fail(f"{out}: a REFI-QDA {kind} file must end in {expected[kind]}")
    if kind == "codebook" and anonymise:
        fail("--anonymise applies to .qdpx projects (a codebook holds no participant data)")
    if kind == "codebook" and for_client:
        fail("--for applies to .qdpx projects (a codebook has no offsets or memos to place)")
    with open_for_reading(project) as proj:  # a coder's export shows what blind coding lets them see
        if kind == "codebook":
            report = export_qdc(proj, out)
        else:
            report = export_qdpx(proj, out, anonymise=anonymise, for_client=for_client or None)
    print_report(report, json_output)


@refi.command("import")
def import_command(
    project: str = typer.Argument(..., help="The project (created if it does not exist).", metavar="PROJECT"),
    file: Path = typer.Argument(..., help="A REFI-QDA .qdpx project or .qdc codebook.", metavar="FILE"),
    participant_variable: str = typer.Option(
        "", "--participant-variable", help="Variable (on sources or their cases) naming the participant."
    ),
    timepoint_variable: str = typer.Option(
        "", "--timepoint-variable", help="Variable (on sources or their cases) naming the timepoint."
    ),
    map_source: list[str] = typer.Option(
        [], "--map-source", help="SOURCE=P01/T1, SOURCE a source's name or GUID (repeatable)."
    ),
    timepoint: str = typer.Option("", "--timepoint", help="Timepoint for sources not otherwise placed."),
    participant_from_name: bool = typer.Option(
        False, "--participant-from-name", help="Use each source's name as its participant ID."
    ),
    json_output: bool = JsonOpt,
) -> None:
    """Import codes, sources, codings, cases and notes from NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette..."""
    from importers.refi_import import import_refi

    report = import_refi(
        project,
        file,
        participant_variable=participant_variable or None,
        timepoint_variable=timepoint_variable or None,
        mapping=parse_mappings(map_source),
        timepoint=timepoint or None,
        participant_from_name=participant_from_name,
    )
    print_report(report, json_output)


class Report(Protocol):
    """What both REFI-QDA reports offer: lines for people, a dict for ``--json``."""

    def lines(self) -> list[str]: ...

    def as_dict(self) -> dict[str, Any]: ...


def print_report(report: Report, json_output: bool) -> None:
    if json_output:
        emit_json(report.as_dict())
        return
    for line in report.lines():
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.add_typer(refi, name="refi")
