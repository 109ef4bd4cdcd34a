"""Draft a mapping file from a source's header and, for REDCap, its data dictionary.

Each source field is compared with every template column by name and, from a REDCap
dictionary, by label (difflib's similarity of the reduced spellings, `jiareg.ingest.lenient.
key`, against the column's name and its common aliases: `dob` for birth_date, `gender` for
sex, ...). The best pairs above `THRESHOLD` are placed, each source field once (the patient
id serves every table). A REDCap choice field gets `values` from its labels (`Female: F`);
a table takes the fields of one REDCap form or sheet (the one holding most of its placed
fields) and is drafted when every column it requires is placed (a missing site becomes the
default `EDIT-ME`). Dates written dd/mm/yyyy (a day above 12 tells) give `date_format`.
Whatever could not be placed is listed in the draft's header comments and in the returned
`Draft`, and the draft always loads as a valid mapping file (`load_mapping`).
"""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from jiareg.errors import ImportRowError, InputError
from jiareg.formats.mapping.apply import DAG, EVENT, INSTANCE, REPEAT
from jiareg.formats.mapping.model import MappingFile
from jiareg.formats.mapping.source import SourceRows, read_csv_rows, read_sheets
from jiareg.formats.redcap.dictionary import SourceDictionary, read_dictionary
from jiareg.formats.template.dictionary import DRUG_PATTERN, TABLES, Column
from jiareg.ingest.lenient import code_lookup, drug_lookup, key

__all__ = ["THRESHOLD", "Draft", "suggest_mapping"]

THRESHOLD: Final = 0.8
"""Least similarity (0-1) at which a source field is placed on a template column."""
SITE_PLACEHOLDER: Final = "EDIT-ME"
_SLASHED: Final = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2\d{4}$")

_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "patient_id": ("record_id", "study_id", "participant_id", "subject_id", "study_no", "id"),
    "site": (DAG, "centre", "center", "hospital", "clinic", "site_code"),
    "sex": ("gender",),
    "birth_date": ("dob", "date_of_birth", "birthdate", "born"),
    "ilar_category": ("ilar", "jia_category", "jia_subtype", "category", "subtype"),
    "onset_date": ("onset", "date_of_onset", "disease_onset"),
    "visit_date": ("date_visit", "visit", "clinic_date", "date_of_visit", "vdate", "visit_dt"),
    "weight_kg": ("weight", "wt", "body_weight"),
    "height_cm": ("height", "ht"),
    "phys_global": ("physician_global", "pga", "md_global", "physician_global_assessment"),
    "parent_global": ("parent_global_assessment", "patient_global", "pgwb"),
    "active_joints": ("ajc", "active_joint_count", "joints_active"),
    "lom_joints": ("lom", "limited_joints", "lom_joint_count"),
    "esr": ("sed_rate", "esr_mm_h", "erythrocyte_sedimentation_rate"),
    "crp": ("c_reactive_protein", "crp_mg_l"),
    "drug": ("biologic", "medication", "drug_name", "treatment"),
    "start_date": ("start", "date_started", "drug_start"),
    "stop_date": ("stop", "end_date", "date_stopped", "drug_stop"),
    "dose_mg": ("dose",),
    "daily_dose_mg": ("daily_dose", "steroid_dose"),
    "term": ("adverse_event", "event", "ae_term"),
    "uveitis_active": ("uveitis",),
    "morning_stiffness_min": ("morning_stiffness", "stiffness_minutes"),
}


@dataclass
class Draft:
    """A drafted mapping: its YAML `text`, and what could not be placed."""

    text: str
    unplaced_fields: list[str] = field(default_factory=list)
    unplaced_columns: list[str] = field(default_factory=list)
    unmapped_choices: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    label: str
    group: str  # REDCap form or workbook sheet ("" for a flat CSV)


def _score(f: _Field, column: Column) -> float:
    names = [key(column.name), *(key(a) for a in _ALIASES.get(column.name, ()))]
    spelled = [key(f.name)] + ([key(f.label)] if f.label else [])
    return max(difflib.SequenceMatcher(None, s, n).ratio() for s in spelled for n in names)


def _fields(
    fmt: str, sheets: dict[str, SourceRows], dictionary: SourceDictionary | None
) -> list[_Field]:
    if dictionary is not None:
        out = [
            _Field(name, src.label if src else "", src.form if src else "")
            for name in dictionary.export_columns()
            if (src := dictionary.column(name)) is not None
        ]
        rows = next(iter(sheets.values())).rows if sheets else []
        has_dag = any(r.get(DAG) for r in rows)  # a project with groups that are in use
        return [*out, _Field(DAG, "Data Access Group", "")] if has_dag else out
    skip = {EVENT, REPEAT, INSTANCE, "redcap_survey_identifier"}
    return [
        _Field(name, "", sheet if fmt == "xlsx" else "")
        for sheet, rows in sheets.items()
        for name in rows.header
        if name not in skip and not name.endswith(("_complete", "_timestamp"))
    ]


def _place(fields: list[_Field]) -> tuple[_Field | None, dict[tuple[str, str], _Field]]:
    """The patient-id field and each (table, column) -> its field, best pairs first."""
    pid_scores = [(_score(f, TABLES[0].column("patient_id")), i) for i, f in enumerate(fields)]
    best = max(pid_scores, default=(0.0, -1))
    pid = fields[best[1]] if best[0] >= THRESHOLD else None
    pairs = sorted(
        (
            (_score(f, col), -i, t.name, col.name)
            for i, f in enumerate(fields)
            if f is not pid
            for t in TABLES
            for col in t.columns
            if col.name != "patient_id"
        ),
        reverse=True,
    )
    placed: dict[tuple[str, str], _Field] = {}
    used: set[int] = set()
    for score, neg, table_name, column in pairs:
        if score < THRESHOLD:
            break
        if -neg in used or (table_name, column) in placed:
            continue
        placed[(table_name, column)] = fields[-neg]
        used.add(-neg)
    return pid, placed


def _values(
    column: Column, name: str, dictionary: SourceDictionary | None, draft: Draft
) -> dict[str, str] | None:
    source = dictionary.column(name) if dictionary else None
    if source is None or not source.choices or source.type == "checkbox_option":
        return None
    if column.kind not in ("code", "flag") and column.pattern != DRUG_PATTERN:
        return None
    table = code_lookup(column) if column.pattern != DRUG_PATTERN else {}
    values: dict[str, str] = {}
    for code, label in source.choices:
        target = drug_lookup(label) if column.pattern == DRUG_PATTERN else table.get(key(label))
        if target is None:
            draft.unmapped_choices.append(f"{name} = {code} ({label})")
        else:
            values[label] = target
    return values


def _read(
    source: Path, dictionary_path: Path | None
) -> tuple[str, dict[str, SourceRows], SourceDictionary | None]:
    problems: list[ImportRowError] = []
    dictionary = read_dictionary(dictionary_path) if dictionary_path else None
    suffix = source.suffix.lower()
    if suffix == ".xlsx":
        return "xlsx", read_sheets(source, problems), dictionary
    if suffix == ".xml":
        from jiareg.formats.redcap.odm import read_odm

        own, rows = read_odm(source)
        return "redcap", {"": rows}, dictionary or own
    if suffix != ".csv":
        raise InputError(f"{source}: expected a .csv, .xlsx or REDCap .xml export")
    rows = read_csv_rows(source, problems)
    redcap = dictionary is not None or any(
        h.startswith("redcap_") or h.endswith("_complete") for h in rows.header
    )
    return ("redcap" if redcap else "csv"), {"": rows}, dictionary


def suggest_mapping(source: Path, dictionary_path: Path | None, out: Path) -> Draft:
    """Draft the mapping of `source` (with a REDCap data dictionary when given) for `out`."""
    fmt, sheets, dictionary = _read(source, dictionary_path)
    fields = _fields(fmt, sheets, dictionary)
    pid, placed = _place(fields)
    draft = Draft("")
    if fmt == "redcap" and pid is None and fields:
        pid = fields[0]  # REDCap's first field is the record id
    tables: dict[str, Any] = {}
    defaults: dict[str, str] = {}
    used: set[str] = {pid.name} if pid else set()
    for spec in TABLES:
        mine = {c: f for (t, c), f in placed.items() if t == spec.name}
        if not mine:
            continue
        groups = Counter(f.group for f in mine.values())
        group = groups.most_common(1)[0][0]
        # a table's rows come from one form or sheet (a DAG belongs to every form)
        mine = {c: f for c, f in mine.items() if f.group in (group, "")}
        missing = [
            c.name
            for c in spec.columns
            if c.required and c.name not in mine and c.name not in ("patient_id", "site")
        ]
        if pid is None or missing:
            draft.unplaced_columns += [f"{spec.name}.{c}" for c in missing or ["patient_id"]]
            continue
        if "site" in spec.names and "site" not in mine:
            defaults["site"] = SITE_PLACEHOLDER
        columns: dict[str, Any] = (
            {} if fmt == "redcap" and pid is fields[0] else {"patient_id": pid.name}
        )
        for column in spec.columns:
            f = mine.get(column.name)
            if f is None:
                continue
            used.add(f.name)
            values = _values(column, f.name, dictionary, draft)
            columns[column.name] = {"field": f.name, "values": values} if values else f.name
        entry: dict[str, Any] = {"columns": columns}
        if group:
            entry = {"from": group, **entry}
        tables[spec.name] = entry
    draft.unplaced_fields = [f.name for f in fields if f.name not in used]
    body: dict[str, Any] = {"format": fmt}
    if dictionary_path is not None:
        body["dictionary"] = os.path.relpath(dictionary_path.resolve(), out.resolve().parent)
    if defaults:
        body["defaults"] = defaults
    fmt_of_dates = _date_format(sheets, tables, draft)
    if fmt_of_dates:
        body["date_format"] = fmt_of_dates
    body["tables"] = tables
    if not tables:
        raise InputError(
            f"{source}: no template table could be drafted (no patient id, or no source field "
            "resembles a template column); write the mapping by hand (docs/reference/mapping.md)"
        )
    MappingFile.model_validate(body)  # the draft must load
    draft.text = _header(source, draft, defaults) + yaml.safe_dump(
        body, sort_keys=False, allow_unicode=True
    )
    return draft


def _date_format(sheets: dict[str, SourceRows], tables: dict[str, Any], draft: Draft) -> str:
    """`%d/%m/%Y` or `%m/%d/%Y` when the placed date fields are written so (a day above 12
    tells which); an undecidable order is listed for a person to settle."""
    date_fields = {
        spec["columns"][c] if isinstance(spec["columns"][c], str) else spec["columns"][c]["field"]
        for spec in tables.values()
        for c in spec["columns"]
        if c.endswith("_date") or c == "date"
    }
    seen: set[tuple[str, str]] = set()
    for rows in sheets.values():
        for row in rows.rows:
            for name in date_fields:
                match = _SLASHED.match(row.get(name, ""))
                if match:
                    first, second = int(match.group(1)), int(match.group(3))
                    seen.add(
                        (match.group(2), "day" if first > 12 else "month" if second > 12 else "")
                    )
    if not seen:
        return ""
    separators = {sep for sep, _ in seen}
    orders = {order for _, order in seen} - {""}
    if len(separators) == 1 and len(orders) == 1:
        sep = separators.pop()
        return f"%d{sep}%m{sep}%Y" if orders.pop() == "day" else f"%m{sep}%d{sep}%Y"
    draft.unplaced_columns.append("date_format (dates are not YYYY-MM-DD; set it by hand)")
    return ""


def _header(source: Path, draft: Draft, defaults: dict[str, str]) -> str:
    lines = [f"# Drafted by `jiareg map suggest` from {source.name}: check every line."]
    if defaults.get("site") == SITE_PLACEHOLDER:
        lines.append(f"# Set defaults.site ({SITE_PLACEHOLDER}) to your site code.")
    for title, items in (
        ("Source fields not placed", draft.unplaced_fields),
        ("Template columns with no source", draft.unplaced_columns),
        ("Choices with no template code", draft.unmapped_choices),
    ):
        if items:
            lines.append(f"# {title}: {', '.join(items)}")
    return "\n".join(lines) + "\n"
