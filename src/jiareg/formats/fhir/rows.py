"""Template rows built from FHIR resources, with where each cell came from (entry, resource,
JSON path), and the small readers of FHIR datatypes the resource handlers share."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pyarrow as pa

from jiareg.formats.cells import Place, RawTable, text_cells
from jiareg.formats.template.dictionary import table

__all__ = ["Json", "Src", "TableRows", "code", "codings", "date_part", "extension", "obj"]

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Src:
    """The resource a cell comes from: its row in messages (bundle entry or NDJSON line),
    its name (`Observation/esr-1`) and its fields' JSON path prefix (`entry[12].resource.`)."""

    index: int
    ref: str
    prefix: str


@dataclass
class TableRows:
    """Rows being built for one template table, with where each cell came from."""

    name: str
    rows: list[dict[str, str | None]] = field(default_factory=list)
    places: list[dict[str, tuple[Src, str]]] = field(default_factory=list)
    origin: list[Src] = field(default_factory=list)
    reported: set[tuple[int, str]] = field(default_factory=set)

    def new(self, src: Src) -> int:
        self.rows.append(dict.fromkeys(_names(self.name)))
        self.places.append({})
        self.origin.append(src)
        return len(self.rows) - 1

    def put(self, row: int, column: str, value: object, src: Src, path: str) -> None:
        self.rows[row][column] = None if value is None else _text(value)
        self.places[row][column] = (src, path)

    def drop(self, rows: set[int]) -> None:
        """Remove `rows` (nothing of them has been reported); reported cells keep their rows."""
        keep = [n for n in range(len(self.rows)) if n not in rows]
        moved = {old: new for new, old in enumerate(keep)}
        self.reported = {(moved[n], c) for n, c in self.reported if n in moved}
        self.rows = [self.rows[n] for n in keep]
        self.places = [self.places[n] for n in keep]
        self.origin = [self.origin[n] for n in keep]

    def raw(self, file: str) -> RawTable:
        spec = table(self.name)
        data = pa.Table.from_arrays(
            [text_cells(pa.array([r[n] for r in self.rows], pa.string())) for n in spec.names],
            names=list(spec.names),
        )
        places, origin = self.places, self.origin

        def locate(index: int, column: str) -> Place:
            parts = [places[index].get(c) for c in column.split("+")]
            src = parts[0][0] if parts[0] else origin[index]
            paths = [
                p[0].prefix + p[1] if p else c
                for p, c in zip(parts, column.split("+"), strict=True)
            ]
            return Place(src.index, src.ref, "+".join(paths))

        rows = pa.array([o.index for o in origin], pa.int64())
        return RawTable(spec, file, data, rows, locate=locate, reported=frozenset(self.reported))


@cache
def _names(name: str) -> tuple[str, ...]:
    return table(name).names


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def obj(value: object) -> Json:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def codings(concept: object) -> list[Json]:
    """The codings of a CodeableConcept (none when it is not one)."""
    found = concept.get("coding") if isinstance(concept, dict) else None
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def code(concept: object, system: str) -> str | None:
    """The code of `concept`'s first coding in `system`."""
    for coding in codings(concept):
        if coding.get("system") == system:
            return str(coding.get("code"))
    return None


def extension(r: Json, url: str) -> tuple[int, Json]:
    """The extension with `url` and its index (0 and {} when absent)."""
    for n, ext in enumerate(r.get("extension") or []):
        if ext.get("url") == url:
            return n, ext
    return 0, {}


def date_part(value: object) -> str | None:
    """The date part of a FHIR date or dateTime (partial dates pass on, validation refuses them)."""
    if value is None:
        return None
    text = str(value)
    return text[:10] if len(text) > 10 else text
