"""``waveqda users`` (browser accounts) and ``waveqda serve`` (the workspace in a browser), issue 18.

The server itself (aiohttp through textual-serve) is imported only when ``serve`` runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from app.commands.common import ActorOpt, JsonOpt, ProjectArg, actor_of, emit_json, emit_table, open_existing


def register(app: typer.Typer) -> None:
    users_app = typer.Typer(help="Browser accounts: who may log in to `waveqda serve` and `waveqda site`.")
    users_app.command("add")(users_add)
    users_app.command("list")(users_list)
    users_app.command("role")(users_role)
    users_app.command("password")(users_password)
    users_app.command("remove")(users_remove)
    app.add_typer(users_app, name="users")
    app.command("serve")(serve)


RoleOpt = typer.Option("coder", "--role", help="owner, coder or reader.", metavar="ROLE")
NameArg = typer.Argument(..., help="The account's name: the coder name its changes are recorded under.")
PasswordStdinOpt = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of standard input (for scripts)."
)


def _password(from_stdin: bool) -> str:
    """The new password: from standard input's first line, or asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def users_add(
    project: str = ProjectArg,
    name: str = NameArg,
    role: str = RoleOpt,
    password_stdin: bool = PasswordStdinOpt,
    sso_only: bool = typer.Option(
        False, "--sso-only", help="No password: only a trusted single-sign-on header (serve --trust-header) names it."
    ),
    coder: str | None = ActorOpt,
) -> None:
    """Add a browser account with a role (the password is asked twice, or read with --password-stdin)."""
    from models import accounts

    with open_existing(project) as proj:
        accounts.check_role(role)  # before asking for a password
        password = None if sso_only else accounts.check_password(_password(password_stdin))
        added = accounts.add_user(proj, actor_of(proj, coder), name, role, password)
    typer.echo(f"account {added.name} added as {added.role}")


def users_list(project: str = ProjectArg, json_out: bool = JsonOpt) -> None:
    """List the browser accounts and their roles."""
    from models import accounts

    with open_existing(project) as proj:
        found = accounts.users(proj)
    if json_out:
        emit_json([{"name": a.name, "role": a.role} for a in found])
        return
    emit_table(["name", "role"], [(a.name, a.role) for a in found])


def users_role(
    project: str = ProjectArg, name: str = NameArg, role: str = RoleOpt, coder: str | None = ActorOpt
) -> None:
    """Change an account's role."""
    from models import accounts

    with open_existing(project) as proj:
        changed = accounts.set_role(proj, actor_of(proj, coder), name, role)
    typer.echo(f"account {changed.name} is now {changed.role}")


def users_password(
    project: str = ProjectArg,
    name: str = NameArg,
    password_stdin: bool = PasswordStdinOpt,
    coder: str | None = ActorOpt,
) -> None:
    """Set a new password for an account."""
    from models import accounts

    with open_existing(project) as proj:
        accounts.set_password(proj, actor_of(proj, coder), name, _password(password_stdin))
    typer.echo(f"new password set for {name}")


def users_remove(project: str = ProjectArg, name: str = NameArg, coder: str | None = ActorOpt) -> None:
    """Remove an account (its codings stay, under its name)."""
    from models import accounts

    with open_existing(project) as proj:
        accounts.remove_user(proj, actor_of(proj, coder), name)
    typer.echo(f"account {name} removed")


def serve(
    project: str = ProjectArg,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (only this machine by default)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    public_url: str | None = typer.Option(
        None, "--public-url", help="The address browsers use, when behind a proxy (https://… makes cookies Secure)."
    ),
    trust_header: str | None = typer.Option(
        None,
        "--trust-header",
        help="Take the user's name from this request header (set by your single-sign-on proxy); "
        "only when the proxy is the sole way in.",
        metavar="NAME",
    ),
    idle_minutes: float = typer.Option(30, "--idle-minutes", help="End a browser session after this long idle."),
    max_sessions: int = typer.Option(10, "--max-sessions", help="At most this many logged-in sessions at once."),
    log: Path | None = typer.Option(
        None, "--log", help="Append one line per login, logout and refusal here (default: beside the project)."
    ),
) -> None:
    """Serve the workspace in a browser: every visitor logs in and codes as their own account."""
    from app.web.access_log import default_log_path
    from app.web.serve import ServeSettings, run_server
    from models import accounts

    with open_existing(project) as proj:  # a missing or foreign project is refused before listening
        has_accounts = bool(accounts.users(proj))
        default_log = default_log_path(proj.path)
    if not has_accounts:
        typer.echo(
            f"waveqda: error: {project} has no browser accounts yet; add one first: "
            f"waveqda users add {project} NAME --role owner",
            err=True,
        )
        raise typer.Exit(2)
    run_server(
        ServeSettings(
            project=project,
            host=host,
            port=port,
            public_url=public_url,
            trust_header=trust_header,
            idle_seconds=idle_minutes * 60,
            max_sessions=max_sessions,
            log_path=log or default_log,
        )
    )
