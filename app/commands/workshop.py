"""``waveqda site PROJECT``: the workshop site (issue 18), served by uvicorn.

Starlette, Jinja2 and uvicorn are imported only when the site starts.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from app.commands.common import ProjectArg, open_existing

SECRET_VARIABLE = "WAVEQDA_SITE_SECRET"


def register(app: typer.Typer) -> None:
    @app.command("site")
    def site(
        project: str = ProjectArg,
        anonymise: bool = typer.Option(
            True,
            "--anonymise/--no-anonymise",
            help="Pseudonymise names through the register (default). --no-anonymise shows stored text to owners only.",
        ),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (this machine only by default)."),
        port: int = typer.Option(8001, "--port", help="Port to listen on."),
        log: Path | None = typer.Option(
            None,
            "--log",
            help="Append one line per login, logout and refusal here (default: PROJECT-access.log beside a file).",
        ),
        trust_header: str | None = typer.Option(
            None,
            "--trust-header",
            help="Accept the account named in this request header (set by a single-sign-on proxy).",
            metavar="NAME",
        ),
        idle_minutes: int = typer.Option(30, "--idle-minutes", help="End a session after this long without use."),
    ) -> None:
        """The workshop site: themes, quotes, matrix, trajectories and memos in a browser; readers comment."""
        run_site(project, anonymise, host, port, log, trust_header, idle_minutes)


def run_site(
    project: str, anonymise: bool, host: str, port: int, log: Path | None, trust_header: str | None, idle_minutes: int
) -> None:
    import uvicorn

    from app.web.site.app import SiteConfig, create_app
    from models.accounts import users

    if idle_minutes < 1:
        raise typer.BadParameter("must be 1 or more", param_hint="--idle-minutes")
    if not 0 < port < 65536:
        raise typer.BadParameter("must be between 1 and 65535", param_hint="--port")
    proj = open_existing(project)
    try:
        if not users(proj):
            typer.echo(
                f"waveqda: nobody can log in yet: add accounts with waveqda users add {project} NAME --role reader",
                err=True,
            )
        if log is None:  # the same file as ``waveqda serve`` writes, so one log tells who came in either way
            from app.web.access_log import default_log_path

            log = default_log_path(proj.path)
        config = SiteConfig(
            project=project,
            anonymise=anonymise,
            secret=os.environ.get(SECRET_VARIABLE, ""),
            idle_seconds=idle_minutes * 60,
            trust_header=trust_header,
            log=log,
        )
        app = create_app(config, proj)
        names = "names pseudonymised" if anonymise else "names as stored for owners, pseudonymised for others"
        typer.echo(f"Workshop site on http://{host}:{port}/ ({names}; access log: {log}); Ctrl+C stops it", err=True)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)
    finally:
        proj.close()
