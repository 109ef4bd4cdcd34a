"""The `jiareg` command: thin Typer commands that call the stages and print the outcome.

Each module below registers its own commands; a `JiaregError` raised anywhere becomes one
clear line on stderr and exit code 1 (usage errors exit 2, as Click does).
"""

from __future__ import annotations

from typing import Any

import typer
from typer._click import Context  # typer 0.29 vendors click; its Group API takes this type
from typer.core import TyperGroup

from jiareg import __version__
from jiareg.cli import (
    admin,
    audit_cmd,
    backup,
    calc,
    dose,
    dq,
    mapping,
    parquet,
    patients,
    serve,
    study,
    synth,
    users,
)
from jiareg.errors import JiaregError


class _JiaregGroup(TyperGroup):
    """Turns every JiaregError into `error: ...` on stderr and exit 1, without a traceback."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except JiaregError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc


app = typer.Typer(
    name="jiareg",
    cls=_JiaregGroup,
    help=(
        "Registry and outcome studies for juvenile idiopathic arthritis on biologics.\n\n"
        "Example: jiareg demo --out demo-output"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jiareg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Registry and outcome studies for juvenile idiopathic arthritis on biologics."""


_MODULES = (
    calc,
    dose,
    dq,
    admin,
    mapping,
    patients,
    audit_cmd,
    users,
    backup,
    study,
    synth,
    parquet,
    serve,
)
for _module in _MODULES:
    _module.register(app)


def main() -> None:
    """Entry point of the `jiareg` console script."""
    app()
