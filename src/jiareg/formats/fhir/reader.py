"""The state of one FHIR import being read, and what the resource handlers (`read.py`,
`meds.py`) share: problems in the source's terms, unmapped resources (an error, or a count
with skip_unmapped), references, subjects, UCUM quantities and visit rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Final

from jiareg.errors import ImportRowError
from jiareg.formats.cells import RawTable
from jiareg.formats.fhir.rows import Json, Src, TableRows, obj
from jiareg.formats.fhir.units import UCUM, Conversions, UnitError
from jiareg.formats.template.dictionary import TABLES, Column, table

__all__ = ["TABLE_NAMES", "FhirRead", "Reader", "Skipped", "column_spec"]

TABLE_NAMES: Final = tuple(t.name for t in TABLES)


@dataclass(frozen=True, slots=True)
class Skipped:
    """Resources left out of an import: how many of one type, and why."""

    resource_type: str
    reason: str
    count: int

    def __str__(self) -> str:
        return f"{self.count} {self.resource_type}: {self.reason}"


@dataclass(frozen=True)
class FhirRead:
    """A FHIR import read: the template tables, the problems, what was skipped and notes
    (conversions, roundings) for the summary."""

    raws: list[RawTable]
    problems: list[ImportRowError]
    unreadable: set[str]
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class Reader:
    """The state of one FHIR import being read (its handlers are in `read.py` and `meds.py`)."""

    file: str
    site: str | None = None
    skip_unmapped: bool = False
    problems: list[ImportRowError] = field(default_factory=list)
    tables: dict[str, TableRows] = field(
        default_factory=lambda: {n: TableRows(n) for n in TABLE_NAMES}
    )
    patients: dict[str, str] = field(default_factory=dict)
    patient_ids: dict[int, str] = field(default_factory=dict)
    patient_rows: dict[str, int] = field(default_factory=dict)
    encounters: dict[str, str | None] = field(default_factory=dict)
    visits: dict[tuple[str, str | None], int] = field(default_factory=dict)
    indexed: dict[str, Json] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    numbers: Conversions = field(default_factory=Conversions)

    def problem(self, src: Src, path: str, value: object, expected: str) -> None:
        self.problems.append(
            ImportRowError(
                file=self.file,
                row=src.index,
                where=src.ref,
                column=src.prefix + path,
                value=value,
                expected=expected,
            )
        )

    def unmapped(self, kind: str, src: Src, path: str, value: object, reason: str) -> None:
        """A resource jiareg cannot map: counted when skipping, else one short error."""
        if self.skip_unmapped:
            self.skipped[(kind, reason)] += 1
        else:
            self.problem(
                src, path, value, f"something jiareg maps ({reason}; --skip-unmapped skips it)"
            )

    def refer(self, reference: object) -> Json | None:
        """The Organization or Medication a reference names (marked as used), if bundled."""
        text = str(reference or "")
        found = self.indexed.get(text) or self.indexed.get("/".join(text.split("/")[-2:]))
        if found is not None:
            self.used.add(id(found))
        return found

    def subject(self, r: Json, src: Src) -> str | None:
        subject = obj(r.get("subject"))
        reference = str(subject.get("reference", ""))
        tail = "/".join(reference.split("/")[-2:])
        found = self.patients.get(reference) or self.patients.get(tail)
        if found is not None:
            return found
        if reference.startswith("Patient/"):
            return reference.removeprefix("Patient/")
        self.problem(src, "subject.reference", reference or None, "a Patient in the import")
        return None

    def quantity(
        self, t: TableRows, row: int, column: str, q: object, unit: str, src: Src, path: str
    ) -> None:
        """Put a UCUM Quantity into `column` in `unit` (converted, rounded) or report it."""
        if q is None:
            return
        if not isinstance(q, dict):
            self.problem(src, path, q, "a Quantity")
            t.reported.add((row, column))
            return
        value = q.get("value")
        t.put(row, column, value, src, f"{path}.value")
        if value is None:
            return
        given = q.get("code")
        if q.get("system") != UCUM or not given:
            shown = given or q.get("unit")
            self.problem(src, f"{path}.code", shown, f"a UCUM code ({UCUM}) for {unit}")
            t.reported.add((row, column))
            return
        try:
            value = self.numbers.convert(value, str(given), unit)
        except UnitError:
            self.problem(src, f"{path}.code", given, f"a UCUM unit convertible to {unit}")
            t.reported.add((row, column))
            return
        decimals = column_spec(t.name, column).decimals
        t.put(row, column, self.numbers.number(value, decimals, column), src, f"{path}.value")

    def visit_row(self, pid: str, when: str | None, src: Src, path: str) -> int:
        t = self.tables["visits"]
        if (pid, when) not in self.visits:
            row = t.new(src)
            self.visits[(pid, when)] = row
            t.put(row, "patient_id", pid, src, "subject.reference")
            t.put(row, "visit_date", when, src, path)
        return self.visits[(pid, when)]


@cache
def column_spec(name: str, column: str) -> Column:
    """The data dictionary's column `column` of table `name` (cached: read per cell)."""
    return table(name).column(column)
