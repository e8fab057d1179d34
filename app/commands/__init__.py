"""Command groups of the CLI. Each module has ``register(app: typer.Typer)``; add new ones here."""

from app.commands import (
    agreement,
    analysis,
    codebook,
    exchange,
    export,
    merge,
    names,
    project,
    workspace,
)

COMMAND_MODULES = [project, codebook, analysis, agreement, exchange, export, merge, names, workspace]
