"""Intercoder agreement commands: agreement, disagreements, consensus, consensus-agreed.

Handlers parse arguments, call ``models.agreement_report`` and print. ``--coders``, ``--codes`` and
``--transcripts`` take several values after one flag (``--coders alice bob``), as the issue writes them;
repeating the flag works too.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer
import typer.core

from app.commands.common import (
    JsonOpt,
    ProjectArg,
    actor_of,
    emit_json,
    emit_table,
    open_existing,
    open_for_reading,
)
from models import agreement as stats
from models import agreement_report as report

GREEDY_OPTIONS = ("--coders", "--codes", "--transcripts")

CodersOpt = typer.Option(
    ..., "--coders", help="Two or more coder names, after PROJECT: --coders alice bob.", metavar="NAME..."
)
CodesOpt = typer.Option(
    None, "--codes", help="Codes to compare, with their descendants (default: every code used).", metavar="PATH..."
)
TranscriptsOpt = typer.Option(
    None,
    "--transcripts",
    help="Transcripts as P07/T2 or id (default: those every compared coder coded).",
    metavar="REF...",
)
ByOpt = typer.Option(None, "--by", help="Who settles (default: the project's default coder, else you).")


class GreedyListCommand(typer.core.TyperCommand):
    """Lets ``--coders A B C`` mean ``--coders A --coders B --coders C`` (values run to the next flag)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_greedy(args, GREEDY_OPTIONS))


def expand_greedy(args: list[str], options: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    current: str | None = None
    for arg in args:
        if arg == "--":
            current = None
            out.append(arg)
        elif arg in options:
            current = arg
        elif current is not None and not arg.startswith("-"):
            out.extend([current, arg])
        else:
            current = None
            out.append(arg)
    return out


def register(app: typer.Typer) -> None:
    app.command("agreement", cls=GreedyListCommand)(agreement)
    app.command("disagreements", cls=GreedyListCommand)(disagreements)
    app.command("consensus")(consensus)
    app.command("consensus-agreed", cls=GreedyListCommand)(consensus_agreed)


# --- agreement -----------------------------------------------------------------------------------------


def agreement(
    project: str = ProjectArg,
    coders: list[str] = CodersOpt,
    codes: list[str] | None = CodesOpt,
    transcripts: list[str] | None = TranscriptsOpt,
    unit: str = typer.Option(
        "character",
        "--unit",
        help="Units for the table, agreement %, κ and α-binary.",
        metavar="character|sentence|turn",
    ),
    json_out: bool = JsonOpt,
) -> None:
    """Intercoder agreement per code × transcript, per code, per transcript and overall.

    Percentage agreement, Cohen's κ (two coders) and Krippendorff's α-binary on units (characters as NVivo,
    or sentences or turns: a unit counts as coded when a coding covers any of it), and Krippendorff's
    unitizing α (cu-α) on the characters. Roll-ups are labelled: pooled (tables summed), mean, and
    length-weighted mean. Undefined values (nothing to correct for chance) show as n/a with the reason.
    """
    with open_for_reading(project) as proj:
        result = report.agreement_report(proj, coders, codes, transcripts, unit)
    if json_out:
        emit_json(result.as_json())
        return
    _print_report(result, named_transcripts=bool(transcripts))


def _number(estimate: stats.Estimate, label: Any = None) -> str:
    if estimate.value is None:
        return "n/a"
    return f"{estimate.value:.3f}" + (f" {label(estimate.value)}" if label else "")


def _cells(figures: report.Figures) -> list[str]:
    agree, values = figures.values["percent_agreement"], figures.values
    return [
        "n/a" if agree.value is None else f"{agree.value:.1f}%",
        _number(values["kappa"], stats.kappa_label),
        _number(values["alpha_binary"], stats.alpha_label),
        _number(values["cu_alpha"], stats.alpha_label),
    ]


STAT_HEADERS = ["agree", "κ", "α-binary", "cu-α"]
ROLLUP_NAMES = {report.POOLED: "pooled", report.MEAN: "mean", report.WEIGHTED: "length-weighted mean"}


def _rollup_rows(rollups: list[report.RollUp]) -> list[list[Any]]:
    rows = []
    for r in rollups:
        for i, f in enumerate(r.figures):
            units = f.table.total if f.table is not None else ""
            rows.append([r.label if i == 0 else "", ROLLUP_NAMES[f.method], f.cells, units, *_cells(f)])
    return rows


def _print_report(result: report.AgreementReport, named_transcripts: bool) -> None:
    which = "named" if named_transcripts else "coded by every compared coder"
    typer.echo(f"Agreement of {', '.join(result.coders)}; units: {result.unit}s; cu-α on characters.")
    typer.echo(f"Transcripts ({which}): {', '.join(t.label for t in result.transcripts)}")
    if result.excluded:
        typer.echo(f"{result.excluded} codings marked 'needs review' (uncertain position) were left out.")
    typer.echo("\nPer code × transcript (cells where any coder applied the code)")
    emit_table(
        ["code", "transcript", "units", *STAT_HEADERS],
        [[c.code.path, c.transcript.label, c.figures.table.total, *_cells(c.figures)] for c in result.cells],
    )
    overall = report.RollUp("all", None, result.overall)
    for title, column, rollups in (
        ("Per code", "code", result.per_code),
        ("Per transcript", "transcript", result.per_transcript),
        ("Overall", "", [overall]),
    ):
        typer.echo(f"\n{title}")
        emit_table([column, "roll-up", "cells", "units", *STAT_HEADERS], _rollup_rows(rollups))
    typer.echo("\nRoll-ups:")
    for method in ROLLUP_NAMES:
        typer.echo(f"  {method}")
    typer.echo(f"Thresholds: {stats.KAPPA_THRESHOLDS}; {stats.ALPHA_THRESHOLDS}.")
    figures = [c.figures for c in result.cells] + [
        f for r in [*result.per_code, *result.per_transcript, overall] for f in r.figures
    ]
    for reason in sorted({e.reason for f in figures for e in f.values.values() if e.reason}):
        typer.echo(f"n/a: {reason}")


# --- disagreements -------------------------------------------------------------------------------------


def disagreements(
    project: str = ProjectArg,
    coders: list[str] = CodersOpt,
    codes: list[str] | None = CodesOpt,
    transcripts: list[str] | None = TranscriptsOpt,
    pending: bool = typer.Option(False, "--pending", help="Only stretches not settled yet."),
    json_out: bool = JsonOpt,
) -> None:
    """Every stretch of text coded by some of the coders and not others, in order for a consensus meeting.

    Ordered by transcript (participant, timepoint), then position. Each has a KEY; settle it with
    `waveqda consensus PROJECT KEY --keep CODER|both|none`.
    """
    with open_for_reading(project) as proj:
        found = report.disagreements(proj, coders, codes, transcripts, pending_only=pending)
    if json_out:
        emit_json([asdict(d) for d in found])
        return
    for d in found:
        settled = f"  [settled: {d.settled}]" if d.settled else ""
        typer.echo(
            f"{d.transcript}  {d.code}  {d.start}:{d.end}  coded by {', '.join(d.coded_by)}; "
            f"not by {', '.join(d.not_coded_by)}{settled}"
        )
        typer.echo(f"    “{' '.join(d.text.split())}”")
        typer.echo(f"    key: {d.key}")
    pending_count = sum(1 for d in found if not d.settled)
    typer.echo(f"{len(found)} disagreements, {pending_count} not settled.")


# --- consensus -----------------------------------------------------------------------------------------


def consensus(
    project: str = ProjectArg,
    key: str = typer.Argument(..., help="A disagreement key from `waveqda disagreements`.", metavar="KEY"),
    keep: str = typer.Option(
        ...,
        "--keep",
        help="CODER: keep what that coder coded there; both (or union): code the whole stretch; "
        "none (or intersection): leave it uncoded.",
        metavar="CODER|both|union|none|intersection",
    ),
    by: str | None = ByOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Settle one disagreement: record the agreed coding under the coder `consensus` (one undoable step).

    Settling a stretch again replaces the earlier decision; `waveqda undo` takes a settlement back.
    """
    with open_existing(project) as proj:
        result = report.settle(proj, actor_of(proj, by), key, keep)
    if json_out:
        emit_json({"key": result.key, "decision": result.decision, "coded": result.coded, "summary": result.summary})
        return
    coded = ", ".join(f"{s}:{e}" for s, e in result.coded) or "nothing"
    typer.echo(f"{result.summary} (consensus now codes {coded} there)")


def consensus_agreed(
    project: str = ProjectArg,
    coders: list[str] = CodersOpt,
    codes: list[str] | None = CodesOpt,
    transcripts: list[str] | None = TranscriptsOpt,
    by: str | None = ByOpt,
) -> None:
    """Copy every stretch that all the coders coded into the coder `consensus` (one undoable step).

    Together with settling each disagreement (`waveqda consensus`), this leaves the consensus coder holding
    the complete agreed coding, which exports can then use alone.
    """
    with open_existing(project) as proj:
        added = report.adopt_agreements(proj, actor_of(proj, by), coders, codes, transcripts)
    typer.echo(f"Added {added} agreed stretches to the consensus coding.")
