"""Template rows built from FHIR resources, with where each cell came from (entry, resource,
JSON path), and the small readers of FHIR datatypes the resource handlers share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from jiareg.formats.cells import Place, RawTable, text_cells
from jiareg.formats.template.dictionary import table

__all__ = ["Json", "TableRows", "code", "date_part", "extension"]

Json = dict[str, Any]


@dataclass
class TableRows:
    """Rows being built for one template table, with where each cell came from."""

    name: str
    rows: list[dict[str, str | None]] = field(default_factory=list)
    places: list[dict[str, tuple[int, str, str]]] = field(default_factory=list)
    origin: list[tuple[int, str]] = field(default_factory=list)
    reported: set[tuple[int, str]] = field(default_factory=set)

    def new(self, entry: int, ref: str) -> int:
        self.rows.append(dict.fromkeys(table(self.name).names))
        self.places.append({})
        self.origin.append((entry, ref))
        return len(self.rows) - 1

    def put(self, row: int, column: str, value: object, entry: int, ref: str, path: str) -> None:
        self.rows[row][column] = None if value is None else _text(value)
        self.places[row][column] = (entry, ref, f"entry[{entry}].resource.{path}")

    def raw(self, file: str) -> RawTable:
        spec = table(self.name)
        data = pa.Table.from_arrays(
            [text_cells(pa.array([r[n] for r in self.rows], pa.string())) for n in spec.names],
            names=list(spec.names),
        )
        places, origin = self.places, self.origin

        def locate(index: int, column: str) -> Place:
            parts = [places[index].get(c) for c in column.split("+")]
            entry, ref = parts[0][:2] if parts[0] else origin[index]
            paths = [p[2] if p else c for p, c in zip(parts, column.split("+"), strict=True)]
            return Place(entry, ref, "+".join(paths))

        rows = pa.array([o[0] for o in origin], pa.int64())
        return RawTable(spec, file, data, rows, locate=locate, reported=frozenset(self.reported))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def code(concept: Json | None, system: str) -> str | None:
    for coding in (concept or {}).get("coding", []):
        if coding.get("system") == system:
            return str(coding.get("code"))
    return None


def extension(r: Json, url: str) -> tuple[int, Json]:
    """The extension with `url` and its index (0 and {} when absent)."""
    for n, ext in enumerate(r.get("extension") or []):
        if ext.get("url") == url:
            return n, ext
    return 0, {}


def date_part(value: str | None) -> str | None:
    """The date part of a FHIR date or dateTime (partial dates pass on, validation refuses them)."""
    return value[:10] if value and len(value) > 10 else value
