"""Another REDCap project's data dictionary: its fields, forms, labels and choices.

A mapping file (`jiareg.formats.mapping`) names the source project's dictionary, the CSV that
REDCap downloads from *Project Setup > Data Dictionary* (columns `Variable / Field Name`, `Form
Name`, `Field Type`, `Field Label`, `Choices, Calculations, OR Slider Labels`, ...). Choices are
written `1, Male | 2, Female`; `yesno` fields are 1 = Yes, 0 = No and `truefalse` 1 = True,
0 = False (REDCap's fixed codes); a `checkbox` field exports one column per choice,
`<field>___<code>`, holding 1 (checked) or 0.

Source: REDCap data dictionary format, as exported by REDCap 13-14 (the REDCapR and PyCap test
projects under tests/data/redcap/public/ are such exports).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from jiareg.errors import InputError

__all__ = ["CHOICE_TYPES", "SourceDictionary", "SourceField", "parse_choices", "read_dictionary"]

CHOICE_TYPES: Final = frozenset({"radio", "dropdown", "yesno", "truefalse", "checkbox"})
"""Field types whose cells hold a choice code."""
_FIXED: Final = {"yesno": (("1", "Yes"), ("0", "No")), "truefalse": (("1", "True"), ("0", "False"))}
_CHECKBOX: Final = (("1", "Checked"), ("0", "Unchecked"))
_HEADERS: Final = {
    "name": "Variable / Field Name",
    "form": "Form Name",
    "type": "Field Type",
    "label": "Field Label",
    "choices": "Choices, Calculations, OR Slider Labels",
    "validation": "Text Validation Type OR Show Slider Number",
}


@dataclass(frozen=True, slots=True)
class SourceField:
    """One field of the source project: name, form, type, label and (code, label) choices."""

    name: str
    form: str
    type: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    validation: str = ""

    def describe_choices(self) -> str:
        """The choices as `0 (Female), 1 (Male)`.

        >>> SourceField("sex", "demo", "radio", "Gender", (("0", "Female"),)).describe_choices()
        '0 (Female)'
        """
        return ", ".join(f"{code} ({label})" for code, label in self.choices)


def parse_choices(text: str) -> tuple[tuple[str, str], ...]:
    """REDCap's `code, label | code, label` choices.

    >>> parse_choices("1, Male | 2, Female")
    (('1', 'Male'), ('2', 'Female'))
    """
    out = []
    for part in text.split("|"):
        code, _, label = part.partition(",")
        if code.strip():
            out.append((code.strip(), label.strip() or code.strip()))
    return tuple(out)


def _label(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text).strip()  # labels may carry HTML


@dataclass(frozen=True, slots=True)
class SourceDictionary:
    """The source project's fields by name; `column(name)` also resolves `x___code` columns."""

    file: str
    fields: dict[str, SourceField]

    @property
    def record_id(self) -> str:
        """The record-identifier field (REDCap's first field)."""
        return next(iter(self.fields))

    def forms(self) -> tuple[str, ...]:
        """The forms (instruments) in dictionary order."""
        return tuple(dict.fromkeys(f.form for f in self.fields.values()))

    def column(self, name: str) -> SourceField | None:
        """The field an export column holds: a field, or one choice of a checkbox
        (`race___2`: yes/no, labelled `Race: Asian`)."""
        if name in self.fields:
            return self.fields[name]
        base, sep, code = name.rpartition("___")
        box = self.fields.get(base) if sep else None
        if box is None or box.type != "checkbox":
            return None
        label = dict(box.choices).get(code, code)
        return SourceField(name, box.form, "checkbox_option", f"{box.label}: {label}", _CHECKBOX)

    def export_columns(self) -> list[str]:
        """The columns an export of every form holds, a checkbox as one per choice."""
        out: list[str] = []
        for f in self.fields.values():
            if f.type == "checkbox":
                out += [f"{f.name}___{_column_code(code)}" for code, _ in f.choices]
            elif f.type != "descriptive":
                out.append(f.name)
        return out


def _column_code(code: str) -> str:
    """A checkbox code as REDCap writes it in a column name (lower case, `-` as `_`)."""
    return code.lower().replace("-", "_").replace(".", "_")


def read_dictionary(path: Path) -> SourceDictionary:
    """Read a REDCap data dictionary CSV; `InputError` naming what is wrong with it."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the REDCap data dictionary ({exc})") from exc
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    header = set(rows[0]) if rows else set()
    missing = [h for h in _HEADERS.values() if h not in header]
    if missing:
        raise InputError(
            f"{path.name}: not a REDCap data dictionary (missing columns: {', '.join(missing)})"
        )
    fields: dict[str, SourceField] = {}
    for row in rows:
        name = (row[_HEADERS["name"]] or "").strip()
        if not name:
            continue
        kind = (row[_HEADERS["type"]] or "").strip()
        choices = _FIXED.get(kind) or (
            parse_choices(row[_HEADERS["choices"]] or "") if kind in CHOICE_TYPES else ()
        )
        fields[name] = SourceField(
            name,
            (row[_HEADERS["form"]] or "").strip(),
            kind,
            _label(row[_HEADERS["label"]] or ""),
            choices,
            (row[_HEADERS["validation"]] or "").strip(),
        )
    if not fields:
        raise InputError(f"{path.name}: the REDCap data dictionary lists no fields")
    return SourceDictionary(path.name, fields)
