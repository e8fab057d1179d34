"""The ``waveqda`` command line.

Each group of commands lives in ``app/commands/<area>.py`` and registers itself on the one Typer app.
Handlers only parse arguments, call the domain layer (``models/``, ``importers/``, ``exporters/``) and
print; a ``WaveqdaError`` becomes one line on stderr and exit status 1.

``waveqda PROJECT`` (no command) opens the terminal workspace, like ``waveqda tui PROJECT``.
"""

from __future__ import annotations

import sys

import typer

from app.commands import COMMAND_MODULES
from models.errors import WaveqdaError

app = typer.Typer(
    name="waveqda",
    help="Terminal-first qualitative data analysis for longitudinal interview studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

for module in COMMAND_MODULES:
    module.register(app)


def _command_names() -> set[str]:
    import typer.main

    group = typer.main.get_command(app)
    return set(getattr(group, "commands", {}))


def main(argv: list[str] | None = None) -> None:
    """Entry point: routes ``waveqda PROJECT`` to ``tui`` and turns domain errors into one line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-") and args[0] not in _command_names():
        args.insert(0, "tui")
    try:
        app(args=args, prog_name="waveqda", standalone_mode=True)
    except WaveqdaError as exc:
        typer.echo(f"waveqda: error: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
