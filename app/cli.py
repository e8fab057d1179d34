"""The ``waveqda`` command line.

Each group of commands lives in ``app/commands/<area>.py`` and registers itself on the one Typer app.
Handlers only parse arguments, call the domain layer (``models/``, ``importers/``, ``exporters/``) and
print; a ``WaveqdaError`` becomes one line on stderr and exit status 1.

``waveqda PROJECT`` (no command) opens the terminal workspace, like ``waveqda tui PROJECT``.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from app.commands import COMMAND_MODULES
from models.errors import WaveqdaError


class WaveqdaGroup(TyperGroup):
    """Shows a ``WaveqdaError`` from any command as one line and exits 1 (no traceback for user mistakes)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except WaveqdaError as exc:
            from models.naming import printable

            message = " ".join(printable(exc).splitlines())  # one line, whatever a name held
            typer.echo(f"waveqda: error: {message}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=WaveqdaGroup,
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
    """Entry point: routes ``waveqda PROJECT`` to ``tui``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-") and args[0] not in _command_names():
        args.insert(0, "tui")
    app(args=args, prog_name="waveqda", standalone_mode=True)


if __name__ == "__main__":
    main()
