"""`jiareg user`: add, list, disable, enable, remove, passwd (INTERFACE.md); totp and
totp-admins for the optional second factor.

Changes are audited as the OS user running the command; disabling or removing a user, or
setting a new password, ends that user's web sessions at once.
"""

from __future__ import annotations

import sys

import typer

from jiareg.errors import InputError
from jiareg.store.roles import Role

_DB_HELP = "Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."

user_app = typer.Typer(
    help="Manage registry users.\n\nExample: jiareg user add ana --role clinician --site BA",
    no_args_is_help=True,
)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = typer.prompt("Password", hide_input=True)
        second = typer.prompt("Repeat password", hide_input=True)
        if first != second:
            raise InputError("the two passwords differ; nothing was saved")
        return str(first)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="Login name."),
    role: Role = typer.Option(..., "--role", help="The user's role."),
    site: str | None = typer.Option(None, "--site", help="The user's site (clinic code)."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Create a user; the password is read from stdin (asked twice on a terminal).

    Passwords need 10+ characters and must not be easy to guess.

    Example: echo 'plum tree harbour' | jiareg user add ana --role clinician --site BA
    """
    from jiareg.services.admin import add_user

    info = add_user(db, name, _read_password(), role=role, site=site)
    where = f" at site {info.site}" if info.site else ""
    typer.echo(f"user {info.username} added ({info.role}{where})")


@user_app.command("list")
def user_list(db: str | None = typer.Option(None, "--db", help=_DB_HELP)) -> None:
    """Print every user: name, role, site, and whether disabled.

    Example: jiareg user list --db sqlite:///clinic.db
    """
    from jiareg.services.admin import list_users

    for u in list_users(db):
        state = "disabled" if u.disabled else "active"
        typer.echo(f"{u.username}\t{u.role}\t{u.site or '-'}\t{state}")


@user_app.command("disable")
def user_disable(
    name: str = typer.Argument(..., help="Login name."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Refuse the user's log-ins and end their sessions now.

    Example: jiareg user disable ana
    """
    from jiareg.services.admin import set_disabled

    set_disabled(db, name, True)
    typer.echo(f"user {name} disabled (logged out everywhere)")


@user_app.command("enable")
def user_enable(
    name: str = typer.Argument(..., help="Login name."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Let a disabled user log in again.

    Example: jiareg user enable ana
    """
    from jiareg.services.admin import set_disabled

    set_disabled(db, name, False)
    typer.echo(f"user {name} enabled")


@user_app.command("remove")
def user_remove(
    name: str = typer.Argument(..., help="Login name."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Delete the user and end their sessions (the audit trail keeps their history).

    Example: jiareg user remove ana
    """
    from jiareg.services.admin import remove_user

    remove_user(db, name)
    typer.echo(f"user {name} removed")


@user_app.command("passwd")
def user_passwd(
    name: str = typer.Argument(..., help="Login name."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Set a new password, read from stdin (asked twice on a terminal); ends their sessions.

    Example: echo 'plum tree harbour' | jiareg user passwd ana
    """
    from jiareg.services.admin import set_password

    set_password(db, name, _read_password())
    typer.echo(f"password of {name} changed (logged out everywhere)")


@user_app.command("totp")
def user_totp(
    name: str = typer.Argument(..., help="Login name."),
    off: bool = typer.Option(False, "--off", help="Remove the user's second factor."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Enrol a TOTP second factor: prints the otpauth:// URI once (scan it into an
    authenticator app); from then on log-in asks for the 6-digit code. --off removes it.

    Example: jiareg user totp ana
    """
    from jiareg.services.admin import disable_totp, enrol_totp

    if off:
        disable_totp(db, name)
        typer.echo(f"second factor of {name} removed")
        return
    uri = enrol_totp(db, name)
    typer.echo(f"second factor of {name} enrolled; scan this now (it is not shown again):")
    typer.echo(uri)


@user_app.command("totp-admins")
def user_totp_admins(
    required: bool = typer.Argument(..., help="on: admins must use TOTP; off: optional."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Require (on) or not (off) a second factor for every admin's log-in
    (setting `totp_required_for_admins`; enrol the admins first).

    Example: jiareg user totp-admins on
    """
    from jiareg.services.admin import require_for_admins

    require_for_admins(db, required)
    typer.echo(f"TOTP for admins: {'required' if required else 'optional'}")


def register(app: typer.Typer) -> None:
    """Add `jiareg user` to the root app."""
    app.add_typer(user_app, name="user")
