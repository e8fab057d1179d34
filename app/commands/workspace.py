"""``waveqda tui PROJECT``: the terminal workspace (``waveqda PROJECT`` is routed here by ``app/cli.py``).

Textual is imported only when the workspace starts, so the rest of the command line stays quick.
"""

from __future__ import annotations

import typer

from app.commands.common import ProjectArg, open_existing


def register(app: typer.Typer) -> None:
    @app.command("tui")
    def tui(
        project: str = ProjectArg,
        coder: str | None = typer.Option(
            None, "--coder", help="Who is coding (otherwise asked once and remembered for this project)."
        ),
    ) -> None:
        """Open the terminal coding workspace."""
        run_workspace(project, coder)


def run_workspace(project: str, coder: str | None = None) -> None:
    """Open the workspace on a project file (also used by ``waveqda demo``).

    It needs a terminal on both ends: without one (a pipe, a cron job) it would wait for keys forever."""
    import os
    import sys

    from app.tui.served import BrowserSession

    proj = open_existing(project)  # a missing or foreign project is the first thing to say
    # started by `waveqda serve` for a logged-in account: a browser on the other end, not a terminal
    in_browser = "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")
    browser = BrowserSession.from_environment() if in_browser else None
    if browser is None and not (sys.stdin.isatty() and sys.stdout.isatty()):
        proj.close()
        typer.echo(
            "waveqda: error: the workspace needs a terminal (standard input and output are not one); "
            "use the commands instead, e.g. waveqda transcripts PROJECT",
            err=True,
        )
        raise typer.Exit(2)
    try:
        from app.tui.app import WaveqdaApp

        WaveqdaApp(proj, coder=coder, project_path=project, browser=browser).run()
    finally:
        proj.close()
