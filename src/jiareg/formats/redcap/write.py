"""Write the jiareg REDCap project (its data dictionary and repeating-instrument settings)
and REDCap raw exports of template tables.

`write_project` writes what `jiareg template DIR` puts in `redcap/`; `write_redcap` writes a
classic (non-longitudinal) project's raw export of the template tables; importing it gives
back the same registry.

Both files are spreadsheet-safe, as the template's CSVs and `jiareg export` are: a text cell
starting with =, +, -, @, tab or CR (one a spreadsheet would run as a formula) gets a leading
`'` (`jiareg.formats.cells`). In the export that is every free-text field (record_id, site,
the adverse event's term and outcome, a joint, an "other" drug); in the dictionary the field
label, choices, field note and annotation. Numbers, dates, codes, validation bounds and
branching logic are never quoted (a `-5` stays a number). REDCap does not take the quote off
on import: the value in REDCap keeps it (shown, never run), and `jiareg import --format
redcap` of an export takes it off again, so jiareg -> REDCap -> jiareg gives the same
registry.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from jiareg.formats.cells import formula_safe, table_text
from jiareg.formats.redcap.project import (
    DICTIONARY_HEADER,
    INSTRUMENTS,
    OTHER_CODE,
    RECORD_ID,
    REPEAT_INSTANCE,
    REPEAT_INSTRUMENT,
    YESNO,
    Field,
    Instrument,
)

__all__ = ["write_project", "write_redcap"]


def _dictionary_row(instrument: Instrument, f: Field) -> list[str]:
    col = f.column
    kind = "text"
    validation = minimum = maximum = branching = ""
    if f.choices:
        kind = "yesno" if f.choices == YESNO else "dropdown" if f.is_drug else "radio"
    elif col.kind == "date":
        validation = "date_ymd"
    elif col.kind in ("number", "count"):
        validation = "integer" if col.kind == "count" else "number"
        if not col.scaled_by:
            minimum = "" if col.minimum is None else f"{col.minimum:g}"
            maximum = "" if col.maximum is None else f"{col.maximum:g}"
    if f.other_of:
        branching = f"[{f.other_of}] = '{OTHER_CODE}'"
    label = f.column.description
    if f.other_of:
        label = "Other drug: lower-case generic name."
    choices = "" if kind == "yesno" else " | ".join(f"{c}, {v}" for c, v in f.choices)
    return [
        f.name,
        instrument.name,
        "",
        kind,
        formula_safe(label),
        formula_safe(choices),
        formula_safe(col.unit),
        validation,
        minimum,
        maximum,
        "y" if col.name == "birth_date" else "",
        branching,
        "y" if col.required and not f.other_of else "",
        "",
        "",
        "",
        "",
        formula_safe(f"jiareg {instrument.spec.name}.{col.name}"),
    ]


def write_project(folder: Path) -> list[Path]:
    """Write the data dictionary and the repeating-instrument settings into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    dictionary = folder / "jiareg_redcap_dictionary.csv"
    repeating = folder / "repeating_instruments.csv"
    with dictionary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(DICTIONARY_HEADER)
        for instrument in INSTRUMENTS:
            writer.writerows(_dictionary_row(instrument, f) for f in instrument.fields)
    with repeating.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["form_name", "custom_form_label"])
        writer.writerows([i.name, ""] for i in INSTRUMENTS if i.repeating)
    return [dictionary, repeating]


def write_redcap(tables: Mapping[str, pa.Table], path: Path) -> Path:
    """Write template tables as a REDCap raw export of a classic project (one file)."""
    header = [RECORD_ID, REPEAT_INSTRUMENT, REPEAT_INSTANCE]
    for instrument in INSTRUMENTS:
        header += [f.name for f in instrument.fields if f.name != RECORD_ID]
        header.append(f"{instrument.name}_complete")
    by_patient: dict[str, list[dict[str, str]]] = {}
    for instrument in INSTRUMENTS:
        if instrument.spec.name not in tables:
            continue
        table = tables[instrument.spec.name]
        instances: dict[str, int] = {}
        selected = table.select(list(instrument.spec.names))
        for cells in table_text(selected, spreadsheet_safe=True):
            row = dict(zip(instrument.spec.names, cells, strict=True))
            pid = row["patient_id"]
            out = {RECORD_ID: pid, f"{instrument.name}_complete": "2"}
            if instrument.repeating:
                instances[pid] = instances.get(pid, 0) + 1
                out[REPEAT_INSTRUMENT] = instrument.name
                out[REPEAT_INSTANCE] = str(instances[pid])
            for f in instrument.fields:
                if f.name == RECORD_ID or f.other_of:
                    continue
                value = row[f.column.name]
                if f.choices and value:
                    codes = {v: c for c, v in f.choices if c != OTHER_CODE}
                    if value in codes:
                        value = codes[value]
                    else:
                        out[f"{f.name}_other"] = value
                        value = OTHER_CODE
                out[f.name] = value
            by_patient.setdefault(pid, []).append(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header, restval="", lineterminator="\n")
        writer.writeheader()
        for pid in sorted(by_patient):
            writer.writerows(by_patient[pid])
    return path
