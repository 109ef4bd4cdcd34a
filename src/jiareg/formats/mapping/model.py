"""The mapping file: how someone else's CSV, workbook or REDCap export fills the template.

```yaml
format: redcap                 # redcap | csv | xlsx
dictionary: dictionary.csv     # the source REDCap project's data dictionary; relative to this file
defaults: {site: north}        # constants for template columns the source lacks
date_format: "%d/%m/%Y"        # optional default for every date field
tables:
  patients:                    # a template table
    from: demographics         # REDCap form or repeating instrument, or xlsx sheet
    columns:
      patient_id: record_id
      sex: {field: gender, values: {Female: F, Male: M}}
      birth_date: {field: dob, date_format: "%Y-%m-%d"}
      ilar_category: {value: systemic}
```

(INTERFACE.md, "Mapping files".) `events` (jiareg's addition) keeps a table to the rows of some
REDCap events (`[visit_*_arm_1]`, shell patterns). `load_mapping` reads and checks a file:
table and column names against the template (`jiareg.formats.template.dictionary`), one of
`field` or `value` per column, every required template column mapped or given a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jiareg.errors import InputError
from jiareg.formats.template.dictionary import TABLES, table

__all__ = ["ColumnMap", "MappingFile", "TableMap", "load_mapping"]

_TABLES = {t.name for t in TABLES}


def _text(value: object) -> str:
    """A YAML scalar as text (`1` and `true` in a values list are codes, not numbers)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class ColumnMap(BaseModel):
    """One template column: a source `field` (its `values` translated, its dates read with
    `date_format`) or a constant `value`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str | None = None
    values: dict[str, str] | None = None
    date_format: str | None = None
    value: str | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _values_as_text(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            return {_text(k): _text(v) for k, v in raw.items()}
        return raw

    @field_validator("value", "field", mode="before")
    @classmethod
    def _scalar_as_text(cls, raw: Any) -> Any:
        return raw if raw is None else _text(raw)

    @model_validator(mode="after")
    def _field_or_value(self) -> ColumnMap:
        if (self.field is None) == (self.value is None):
            raise ValueError("give either `field` (a source column) or `value` (a constant)")
        if self.value is not None and (self.values or self.date_format):
            raise ValueError("a constant `value` takes no `values` or `date_format`")
        return self


class TableMap(BaseModel):
    """One template table: where its rows come from and how each column is filled."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str | None = Field(None, alias="from")
    events: tuple[str, ...] = ()
    columns: dict[str, ColumnMap]

    @field_validator("columns", mode="before")
    @classmethod
    def _plain_field_names(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            return {k: {"field": v} if isinstance(v, str) else v for k, v in raw.items()}
        return raw


class MappingFile(BaseModel):
    """A whole mapping file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["redcap", "csv", "xlsx"]
    dictionary: str | None = None
    defaults: dict[str, str] = {}
    date_format: str | None = None
    tables: dict[str, TableMap]

    @field_validator("defaults", mode="before")
    @classmethod
    def _defaults_as_text(cls, raw: Any) -> Any:
        return {k: _text(v) for k, v in raw.items()} if isinstance(raw, dict) else raw

    @model_validator(mode="after")
    def _template_names(self) -> MappingFile:
        problems: list[str] = []
        if not self.tables:
            problems.append("tables: map at least one template table")
        for name, spec in self.tables.items():
            if name not in _TABLES:
                problems.append(f"tables.{name}: not a template table ({', '.join(_TABLES)})")
                continue
            template = table(name)
            for column in spec.columns:
                if column not in template.names:
                    problems.append(
                        f"tables.{name}.columns.{column}: not a column of {name} "
                        f"({', '.join(template.names)})"
                    )
            for col in template.columns:
                given = col.name in spec.columns or col.name in self.defaults
                if col.required and not given and not self._record_id_fills(col.name):
                    problems.append(
                        f"tables.{name}.columns.{col.name}: required by the template; "
                        "map it to a source field, or give a `value` or a default"
                    )
        if self.format != "redcap" and any(t.events for t in self.tables.values()):
            problems.append("events: only a REDCap mapping has events")
        if self.format != "redcap" and self.dictionary:
            problems.append("dictionary: only a REDCap mapping reads a data dictionary")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _record_id_fills(self, column: str) -> bool:
        """A REDCap export's record id is every table's patient_id unless mapped otherwise."""
        return self.format == "redcap" and column == "patient_id"

    def date_format_of(self, column: ColumnMap) -> str | None:
        """The strptime format of a date column (its own, else the file's)."""
        return column.date_format or self.date_format


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def load_mapping(path: Path) -> MappingFile:
    """Read and check a mapping file; `InputError` naming the file and each problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the mapping file ({exc})") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a mapping file is a YAML mapping with `format` and `tables`")
    try:
        return MappingFile.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = _where(error["loc"])
            for message in str(error["msg"]).removeprefix("Value error, ").splitlines():
                lines.append(f"{path}: {where + ': ' if where else ''}{message}")
        raise InputError("\n".join(lines)) from exc
