"""Every exception jiareg raises on purpose, in one place.

    JiaregError                      base: the CLI prints it and exits 1; the web app answers 422
    ├── InputError                   something a person gave us is wrong
    │   ├── ImportRowError           one cell: file, row, column, value, expected
    │   ├── ImportErrors             every ImportRowError of one import (nothing was written)
    │   └── ProtocolError            a study protocol file: path, location, message
    ├── StoreError                   the registry database refused or is not initialised
    ├── DerivationError              a clinical rule got values outside its domain
    ├── StudyError                   a study could not run (e.g. empty cohort)
    └── AccessDenied                 a role or site does not allow the action

Clinical doubts that do not stop the work (a dose >10 % off the label) are warnings, see
`ClinicalWarning`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AccessDenied",
    "ClinicalWarning",
    "DerivationError",
    "ImportErrors",
    "ImportRowError",
    "InputError",
    "JiaregError",
    "ProtocolError",
    "StoreError",
    "StudyError",
]


class JiaregError(Exception):
    """Base class of every error jiareg raises on purpose."""


class InputError(JiaregError):
    """Input given by a person (file, form, option) is not acceptable."""


class ImportRowError(InputError):
    """One bad cell: where it is, what it holds and what was expected.

    `where` locates the row inside a file that is not one table per file (a REDCap export's
    record and event, a FHIR bundle's resource); it is empty for template files.

    >>> str(ImportRowError(file=Path("visits.csv"), row=3, column="esr", value="high",
    ...                    expected="a number of mm/h from 0 to 200"))
    "visits.csv:3: column 'esr' = 'high'; expected a number of mm/h from 0 to 200"
    """

    def __init__(
        self,
        *,
        file: Path | str,
        row: int,
        column: str,
        value: object,
        expected: str,
        where: str = "",
    ) -> None:
        place = f"{where}: " if where else ""
        super().__init__(f"{file}:{row}: {place}column {column!r} = {value!r}; expected {expected}")
        self.file = Path(file)
        self.row = row
        self.column = column
        self.value = value
        self.expected = expected
        self.where = where


class ImportErrors(InputError):
    """Every problem found in one import; raised before anything is written.

    `truncated` counts the problems beyond the reporting cap that were found but not listed.
    """

    def __init__(self, problems: Sequence[ImportRowError], *, truncated: int = 0) -> None:
        self.problems = list(problems)
        self.truncated = truncated
        lines = [str(p) for p in self.problems]
        if truncated:
            lines.append(f"... and {truncated} more problems")
        total = len(self.problems) + truncated
        head = f"{total} problem{'s' if total != 1 else ''} found; nothing was imported"
        super().__init__("\n".join([head, *lines]))


class ProtocolError(InputError):
    """A study protocol file is invalid; `loc` is the dotted key path (e.g. endpoints[0].level)."""

    def __init__(self, *, path: Path | str, loc: str, message: str) -> None:
        super().__init__(f"{path}: {loc}: {message}" if loc else f"{path}: {message}")
        self.path = Path(path)
        self.loc = loc
        self.message = message


class StoreError(JiaregError):
    """The registry database cannot do what was asked (not initialised, conflict, ...)."""


class DerivationError(JiaregError):
    """A clinical rule received values outside its domain (e.g. a global of 11 on 0-10)."""


class StudyError(JiaregError):
    """A study cannot run or produce a result (e.g. the cohort is empty)."""


class AccessDenied(JiaregError):
    """The user's role or sites do not allow this action."""


class ClinicalWarning(UserWarning):
    """A clinical doubt that does not block the work (dose off-label, value implausible)."""
