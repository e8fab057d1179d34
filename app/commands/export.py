"""``waveqda export PROJECT OUT --kind KIND [filters]``: Word reports, CSV/XLSX tables and REFI-QDA files.

The handler parses flags into ``ExportFilters`` and ``ExportOptions`` and calls ``exporters.dispatch``,
the same entry point the TUI uses; a rich progress bar is shown on a terminal. List flags take several
values after one flag (``--codes Support Worry``, ``--coders A B``), repeated flags, or commas for keys.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import typer
from typer.core import TyperCommand

from app.commands.common import ProjectArg, open_for_reading
from exporters.kinds import KINDS_BY_SUFFIX, kind_help
from exporters.word_common import Progress
from models.errors import WaveqdaError

MULTI_VALUE = ("--codes", "--timepoints", "--participants", "--coders", "--coder", "--attribute")


class MultiValueCommand(TyperCommand):
    """Lets ``--codes A B C`` mean ``--codes A --codes B --codes C`` (Click options take one value each).

    Values run until the next token that starts with ``-``; positional arguments go before such flags.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_multi_values(args))


def expand_multi_values(args: list[str]) -> list[str]:
    out: list[str] = []
    current: str | None = None
    for arg in args:
        if arg.startswith("-"):
            name, eq, _value = arg.partition("=")
            current = name if name in MULTI_VALUE and not eq else None
            out.append(arg)
            continue
        if current is not None and out[-1] != current:
            out.append(current)
        out.append(arg)
    return out


def register(app: typer.Typer) -> None:
    app.command("export", cls=MultiValueCommand)(export)


def export(
    project: str = ProjectArg,
    out: Path = typer.Argument(..., help=f"The file to write: {', '.join(KINDS_BY_SUFFIX)}.", metavar="OUT"),
    kind: str | None = typer.Option(
        None,
        "--kind",
        help=kind_help(),
    ),
    codes: list[str] = typer.Option([], "--codes", help="Code paths (with their sub-codes).", metavar="PATH..."),
    timepoints: list[str] = typer.Option([], "--timepoints", help="Timepoint keys, e.g. T1 T3."),
    participants: list[str] = typer.Option([], "--participants", help="Participant study IDs."),
    attribute: list[str] = typer.Option([], "--attribute", help="NAME=VALUE (repeatable; all must hold)."),
    coders: list[str] = typer.Option([], "--coder", "--coders", help="Coders whose codings count."),
    consensus_only: bool = typer.Option(False, "--consensus-only", help="Use the settled consensus codings only."),
    key_only: bool = typer.Option(False, "--key-only", help="Key quotes only."),
    max_quotes: int | None = typer.Option(
        None, "--max-quotes", help="At most N quotes per code per timepoint.", metavar="N"
    ),
    no_interviewer: bool = typer.Option(False, "--no-interviewer", help="Leave interviewer speech out of quotes."),
    anonymise: bool = typer.Option(
        False,
        "--anonymise",
        help="Replace registered names and participants' own names in all text; refused while names in the "
        "text are not reviewed (waveqda names PROJECT scan).",
    ),
    accept_risk: bool = typer.Option(
        False, "--accept-risk", help="With --anonymise: write even with unreviewed names (stated on page one)."
    ),
    anonymise_coders: bool = typer.Option(
        False, "--anonymise-coders", help="Name coders Coder 1, Coder 2… (the same numbers in every export)."
    ),
    large_print: bool = typer.Option(False, "--large-print", help="Larger type, more spacing, no dense tables."),
    with_questions: bool = typer.Option(
        False,
        "--with-questions",
        help="Themes: show the interviewer's preceding question; framework: keep the interviewer's words (italic).",
    ),
    transcript: str | None = typer.Option(None, "--transcript", help="--kind transcript: e.g. P07/T2."),
    measures: list[str] = typer.Option(
        [],
        "--measure",
        help="--kind joint: a questionnaire measure (repeatable; default every measure); --kind matrix-coding: "
        "what each cell holds: segments (default), participants, words or coverage.",
    ),
    rows_by: str = typer.Option(
        "codes", "--rows", help="--kind matrix-coding: codes, timepoints, participants, coders or attribute:NAME."
    ),
    columns_by: str = typer.Option("timepoints", "--columns", help="--kind matrix-coding: the other dimension."),
    for_client: str | None = typer.Option(
        None,
        "--for",
        help=".qdpx: the client to write for: standard|nvivo|atlas|maxqda|qualcoder (offset units, line ends, "
        "where memos go; default standard).",
        metavar="CLIENT",
    ),
) -> None:
    """Export Word reports, CSV/XLSX tables or REFI-QDA files, with shared filters."""
    from exporters.dispatch import ExportOptions, run_export
    from exporters.filters import ExportFilters, parse_attribute, split_list

    filters = ExportFilters(
        codes=list(codes) or None,
        timepoints=split_list(timepoints),
        participants=split_list(participants),
        attributes=[parse_attribute(a) for a in attribute],
        coders=split_list(coders),
        consensus_only=consensus_only,
        key_only=key_only,
        max_quotes=max_quotes,
        no_interviewer=no_interviewer,
        anonymise=anonymise,
        anonymise_coders=anonymise_coders,
        accept_risk=accept_risk,
    )
    options = ExportOptions(
        large_print=large_print,
        with_questions=with_questions,
        transcript=transcript,
        for_client=for_client,
        measures=list(measures) or None,
        rows=rows_by,
        columns=columns_by,
    )
    if kind == "matrix-coding" and measures:
        if len(measures) > 1:
            raise WaveqdaError("--kind matrix-coding shows one --measure per cell")
        options.cell_measure = measures[0]
    proj = open_for_reading(project)
    try:
        with progress_bar(sys.stderr.isatty()) as update:
            lines = run_export(proj, out, kind, filters, options, update)
    finally:
        proj.close()
    for line in lines:
        typer.echo(line)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress | None]:
    """A transient rich progress bar on a terminal; nothing when output is piped (scripts read the summary)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"), transient=True
    )
    task = bar.add_task("", total=None)

    def update(done: int, total: int, label: str) -> None:
        bar.update(task, completed=done, total=total, description=label[:60])

    with bar:
        yield update
