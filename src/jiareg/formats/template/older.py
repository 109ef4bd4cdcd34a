"""Template files written before a column existed: how their columns are read (INTERFACE.md).

- `visits`: a single `hepatosplenomegaly` column (before SPEC §12b.3 split it) is read as both
  `hepatomegaly` and `splenomegaly`; `esr_uln` and `crp_uln` may be left out (empty = the
  configured default limits).
- `steroids`: a file without `route` (before SPEC §12b.6) is read as oral, the only kind of
  record it could hold.
Each such reading is reported as a note (`RawTable.notes`), shown with the import's warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import pyarrow as pa

from jiareg.formats.template.dictionary import TemplateTable

__all__ = ["COMBINED_ORGANS", "OLDER_COLUMNS", "read_older", "upgraded_header"]

COMBINED_ORGANS: Final = "hepatosplenomegaly"
"""The visits column older files have instead of `hepatomegaly` and `splenomegaly`."""
_ORGANS: Final = ("hepatomegaly", "splenomegaly")
_MAY_BE_ABSENT: Final[dict[str, tuple[str, ...]]] = {
    "visits": ("esr_uln", "crp_uln"),
    "steroids": ("route",),
}
OLDER_COLUMNS: Final = (COMBINED_ORGANS,)
"""Column names an older file may carry that the template no longer has."""


def _combined(spec: TemplateTable, header: Sequence[str]) -> bool:
    return (
        spec.name == "visits"
        and COMBINED_ORGANS in header
        and not any(name in header for name in _ORGANS)
    )


def upgraded_header(spec: TemplateTable, header: Sequence[str]) -> list[str]:
    """The header an older file is read as: the combined organ column split in two, the
    columns it may leave out added.

    >>> from jiareg.formats.template.dictionary import table
    >>> upgraded_header(table("steroids"), ["patient_id", "drug"])
    ['patient_id', 'drug', 'route']
    """
    out = list(header)
    if _combined(spec, header):
        i = out.index(COMBINED_ORGANS)
        out[i : i + 1] = list(_ORGANS)
    return out + [n for n in _MAY_BE_ABSENT.get(spec.name, ()) if n not in out]


def read_older(
    spec: TemplateTable, file: str, given: Mapping[str, pa.Array], rows: int
) -> tuple[list[pa.Array], tuple[str, ...]]:
    """The template's columns (in `spec` order) from a file's text cells by header name
    (`given`, `rows` long), and the notes saying how an older file was read."""
    notes: list[str] = []
    header = list(given)
    if _combined(spec, header):
        notes.append(
            f"{file}: the older column {COMBINED_ORGANS} was read as both hepatomegaly and "
            "splenomegaly (SPEC §12b.3)"
        )
    if spec.name == "steroids" and "route" not in given:
        notes.append(f"{file}: no route column (an older file); every record was read as oral")
    out: list[pa.Array] = []
    for name in spec.names:
        if name in given:
            out.append(given[name])
        elif name in _ORGANS and _combined(spec, header):
            out.append(given[COMBINED_ORGANS])
        elif name == "route" and spec.name == "steroids":
            out.append(pa.array(["oral"] * rows, pa.string()))
        else:
            out.append(pa.nulls(rows, pa.string()))
    return out, tuple(notes)
