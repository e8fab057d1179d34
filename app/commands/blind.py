"""``waveqda blind``: blind coding (issue 16). The owner switches it on for transcripts; each coder then sees
only their own codings there until the owner reveals them."""

from __future__ import annotations

import typer

from app.commands.common import ActorOpt, JsonOpt, ProjectArg, actor_of, emit_json, emit_table, open_existing

TranscriptsArg = typer.Argument(None, help="Transcripts, e.g. P01/T1 P02/T1.", metavar="[TRANSCRIPT]...")
TimepointOpt = typer.Option(None, "--timepoint", help="Every transcript at this timepoint.", metavar="T")


def register(app: typer.Typer) -> None:
    blind_app = typer.Typer(help="Blind coding: coders see only their own codings in chosen transcripts.")
    blind_app.command("on")(blind_on)
    blind_app.command("reveal")(blind_reveal)
    blind_app.command("list")(blind_list)
    app.add_typer(blind_app, name="blind")


def blind_on(
    project: str = ProjectArg,
    transcripts: list[str] | None = TranscriptsArg,
    timepoint: str | None = TimepointOpt,
    coder: str | None = ActorOpt,
) -> None:
    """Switch blind coding on for transcripts (owner only; one undoable step)."""
    from models import blind

    with open_existing(project) as proj:
        made = blind.switch_on(proj, actor_of(proj, coder), transcripts or [], timepoint)
    typer.echo(f"blind coding on for {len(made)} transcript(s): {', '.join(made)}" if made else "already blind")


def blind_reveal(
    project: str = ProjectArg,
    transcripts: list[str] | None = TranscriptsArg,
    timepoint: str | None = TimepointOpt,
    coder: str | None = ActorOpt,
) -> None:
    """Reveal blind-coded transcripts to every coder (all of them when none are named; owner only)."""
    from models import blind

    with open_existing(project) as proj:
        shown = blind.reveal(proj, actor_of(proj, coder), transcripts or [], timepoint)
    typer.echo(f"revealed {len(shown)} transcript(s): {', '.join(shown)}" if shown else "nothing was blind")


def blind_list(project: str = ProjectArg, json_out: bool = JsonOpt) -> None:
    """List the transcripts being coded blind, since when and who switched them on."""
    from models import blind

    with open_existing(project) as proj:
        found = blind.entries(proj)
    if json_out:
        emit_json([{"transcript": e.transcript, "since": e.since.isoformat(), "by": e.by} for e in found])
        return
    emit_table(
        ["transcript", "since", "by"], [(e.transcript, e.since.isoformat(timespec="minutes"), e.by) for e in found]
    )
