"""The ``waveqda`` command line.

Each group of commands lives in ``app/commands/<area>.py`` and registers itself on a Typer app; the table
in ``app/commands/__init__.py`` names every command, so that listing them (``waveqda --help``) imports no
command module and no database code, and running one imports only its own module. Handlers only parse
arguments, call the domain layer (``models/``, ``importers/``, ``exporters/``) and print; a
``WaveqdaError`` becomes one line on stderr and exit status 1.

``waveqda PROJECT`` (no command) opens the terminal workspace, like ``waveqda tui PROJECT``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from app.commands import BY_NAME, COMMANDS


class WaveqdaGroup(TyperGroup):
    """Loads a command's module when the command is asked for, and shows a ``WaveqdaError`` from any command
    as one line with exit status 1 (no traceback for user mistakes)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [entry.name for entry in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in BY_NAME:
            self._load(BY_NAME[cmd_name].module, cmd_name)
        return self.commands.get(cmd_name)

    def _load(self, module_name: str, cmd_name: str) -> None:
        """Build the one click command asked for. Building a command reads its function's signature and type
        hints (tens of milliseconds for a module's worth), so its module's other commands are left unbuilt."""
        import typer.main

        module = importlib.import_module(f"app.commands.{module_name}")
        holder = typer.Typer(rich_markup_mode=None)
        module.register(holder)
        for info in holder.registered_commands:
            assert info.callback is not None
            if (info.name or typer.main.get_command_name(info.callback.__name__)) == cmd_name:
                built = typer.main.get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=None)
                self.add_command(built, cmd_name)
        for group in holder.registered_groups:
            if group.name == cmd_name:
                sub = typer.main.get_group_from_info(
                    group, pretty_exceptions_short=True, suggest_commands=True, rich_markup_mode=None
                )
                self.add_command(sub, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the registry's one-line helps (no module is imported to show it)."""
        rows = [(entry.name, entry.help) for entry in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: Any) -> Any:
        from models.errors import WaveqdaError

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


@app.callback()
def _root() -> None:
    """Terminal-first qualitative data analysis for longitudinal interview studies."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: routes ``waveqda PROJECT`` to ``tui``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-") and args[0] not in BY_NAME:
        args.insert(0, "tui")
    app(args=args, prog_name="waveqda", standalone_mode=True)


if __name__ == "__main__":
    main()
