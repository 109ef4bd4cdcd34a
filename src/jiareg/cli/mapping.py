"""`jiareg map`: mapping files that read other people's CSVs, workbooks and REDCap exports.

Importing through one is `jiareg import SOURCE --map MAPPING.yaml` (`jiareg.cli.admin`).
"""

from __future__ import annotations

from pathlib import Path

import typer

map_app = typer.Typer(
    help="Mapping files for other people's files.\n\n"
    "Example: jiareg map suggest export.csv --dictionary dictionary.csv -o mapping.yaml",
    no_args_is_help=True,
)


@map_app.command("suggest")
def suggest(
    source: Path = typer.Argument(..., help="A CSV, an .xlsx or a REDCap export (.csv, .xml)."),
    dictionary: Path | None = typer.Option(
        None, "--dictionary", help="The REDCap project's data dictionary (CSV)."
    ),
    out: Path = typer.Option(..., "-o", "--out", help="Where to write the drafted mapping."),
) -> None:
    """Draft a mapping file from the source's header (and a REDCap dictionary's names,
    labels and choices), listing what could not be placed. Check it, then import with
    `jiareg import SOURCE --map MAPPING.yaml`.

    Example: jiareg map suggest export.csv --dictionary dictionary.csv -o mapping.yaml
    """
    from jiareg.services.mapping import write_suggestion

    draft = write_suggestion(source, dictionary, out)
    typer.echo(str(out))
    for title, items in (
        ("source fields not placed", draft.unplaced_fields),
        ("template columns with no source", draft.unplaced_columns),
        ("choices with no template code", draft.unmapped_choices),
    ):
        if items:
            more = f", ... {len(items) - 10} more" if len(items) > 10 else ""
            typer.echo(f"{title} ({len(items)}): {', '.join(items[:10])}{more}", err=True)


def register(app: typer.Typer) -> None:
    """Add `jiareg map` to the root app."""
    app.add_typer(map_app, name="map")
