"""Which reader reads an import: the template (CSV folder, one CSV, .xlsx), REDCap or FHIR.

Every reader returns the same raw template tables, so validation and the all-or-nothing
load never depend on the format. Without `--format`, a `.json` file is read as a FHIR bundle
(the template has no JSON form) and everything else as the template: a REDCap export is a
`.csv` like a template file, so it needs `--format redcap`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from jiareg.errors import ImportRowError, InputError

if TYPE_CHECKING:  # readers are imported when used: `Format` is the command line's option type
    from jiareg.formats.cells import RawTable

__all__ = ["Format", "detect_format", "read_source"]

Format = Literal["template", "redcap", "fhir"]


def detect_format(path: Path) -> Format:
    """The format of `path` when none is given: `fhir` for .json/.ndjson, else `template`.

    >>> detect_format(Path("bundle.json")), detect_format(Path("visits.csv"))
    ('fhir', 'template')
    """
    return "fhir" if path.suffix.lower() in (".json", ".ndjson") else "template"


def read_source(
    path: Path, fmt: Format | None = None
) -> tuple[list[RawTable], list[ImportRowError], set[str]]:
    """Raw template tables, file-level problems and unreadable tables of `path` in `fmt`."""
    fmt = fmt or detect_format(path)
    if fmt == "template":
        from jiareg.formats.template.read import read_path

        return read_path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: expected one {fmt} file ({'.csv' if fmt == 'redcap' else '.json'})"
        )
    if fmt == "redcap":
        from jiareg.formats.redcap.read import read_redcap

        return read_redcap(path)
    from jiareg.formats.fhir.read import read_fhir

    return read_fhir(path)
