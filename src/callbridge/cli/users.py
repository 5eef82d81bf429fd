"""`callbridge users`: make the first admins, list users, clear lockouts and lost phones, set
agents' SIP passwords, from the machine itself (no API token needed: access to the settings and
database is the proof)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from callbridge.app import App, build
from callbridge.domain.errors import CallbridgeError
from callbridge.services.security import mfa
from callbridge.services.security.accounts import Actor
from callbridge.settings import SettingsError, load_settings

app = typer.Typer(
    help="User accounts: create, list, unlock, reset MFA, SIP passwords.", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, highlight=False)
CLI = Actor("cli", "localhost")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file.", exists=True, dir_okay=False)
]
DatabaseOpt = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL; default: from settings.")
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@contextmanager
def _app(config: Path | None, database_url: str | None) -> Iterator[App]:
    try:
        settings = load_settings(config, database_url=database_url)
        built = build(settings, run_timer_loop=False)
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    except CallbridgeError as exc:
        raise _fail(exc.message) from None
    try:
        yield built
    except CallbridgeError as exc:
        raise _fail(exc.message) from None
    finally:
        built.close()


@app.command()
def create(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="Role name; repeat for several.")],
    agent: Annotated[str | None, typer.Option(help="The agent id this user works as.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Create a user (asks for the password unless --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _app(config, database_url) as built:
        user = built.accounts.create_user(CLI, username, password, role, agent_id=agent)
        out.print(f"created user {user.username} ({', '.join(user.roles)}), id {user.id}")


@app.command("list")
def list_users(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    """Every user, with roles, limits and MFA state."""
    with _app(config, database_url) as built:
        table = Table("username", "roles", "agent", "mfa", "sip", "disabled")
        for user in built.accounts.store.list_users():
            table.add_row(
                user.username,
                ", ".join(user.roles),
                user.agent_id or "",
                "on" if user.mfa_enabled else "off",
                "on" if user.sip_digest is not None else "off",
                "yes" if user.disabled else "",
            )
        out.print(table)


@app.command()
def unlock(
    kind: Annotated[str, typer.Argument(help="account or address")],
    subject: Annotated[str, typer.Argument(help="The username or the source address")],
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Clear a lockout after too many failed logins."""
    with _app(config, database_url) as built:
        built.accounts.unlock(CLI, kind, subject)
        out.print(f"unlocked {kind} {subject}")


@app.command("reset-mfa")
def reset_mfa(username: str, config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    """Clear a user's TOTP and recovery codes (a lost phone); they enrol again at next login."""
    with _app(config, database_url) as built:
        user = built.accounts.store.get_user_by_username(username)
        if user is None:
            raise _fail(f"no user {username}")
        mfa.reset_mfa(built.accounts, CLI, user.id)
        out.print(f"MFA reset for {username}")


@app.command("sip-password")
def sip_password(
    username: str,
    password: Annotated[
        str | None,
        typer.Option(help="The password to set; default: a random one (shown once)."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    clear: Annotated[
        bool, typer.Option("--clear", help="Remove the SIP password: the phone cannot register.")
    ] = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Set the SIP password the user's agent registers a phone with, and print it once."""
    if clear and (password is not None or password_stdin):
        raise _fail("--clear takes no password")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    with _app(config, database_url) as built:
        user = built.accounts.store.get_user_by_username(username)
        if user is None:
            raise _fail(f"no user {username}")
        if clear:
            built.accounts.clear_sip_password(CLI, user.id)
            out.print(f"SIP password of {username} removed")
            return
        realm = built.accounts.policy.sip_realm
        secret = built.accounts.set_sip_password(CLI, user.id, realm, password)
        out.print(f"SIP user {username}, realm {realm}", markup=False)
        if password is None:
            out.print(f"password: {secret}", markup=False)
            out.print("(shown once: only its digest is kept)")
        else:
            out.print("password: the one given")
