"""A REDCap project's CDISC ODM XML export (its dictionary and data) as a raw export's rows.

REDCap's "CDISC ODM (XML)" export (*Other Export Options*; what PyCap's test projects hold)
carries the metadata and the data: `ItemDef` elements give each field's name, type
(`redcap:FieldType`), label (`Question`) and choices (`CodeList`); `ClinicalData` holds one
`SubjectData` per record, a `StudyEventData` per event and a `FormData` per form instance.
Each form instance becomes one row as a raw CSV export would hold it: the record id,
`redcap_event_name`, `redcap_repeat_instrument`/`redcap_repeat_instance` for a repeating
form, `redcap_data_access_group` and the form's fields.

Source: CDISC ODM 1.3.1 (https://www.cdisc.org/standards/data-exchange/odm) with REDCap's
`redcap:` extension attributes, as in REDCap 15 exports. The file is parsed with the
standard library's expat parser, which refuses entity-expansion attacks (expat ≥ 2.4).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Final

from jiareg.errors import InputError
from jiareg.formats.mapping.source import SourceRows
from jiareg.formats.redcap.dictionary import SourceDictionary, SourceField, parse_choices

__all__ = ["read_odm"]

_ODM: Final = "{http://www.cdisc.org/ns/odm/v1.3}"
_RC: Final = "{https://projectredcap.org}"
_TYPES: Final = {"select": "dropdown", "textarea": "notes"}
_SYSTEM: Final = ("redcap_data_access_group", "redcap_survey_identifier")


def _dictionary(root: ET.Element, file: str) -> SourceDictionary:
    """The fields (a checkbox's items folded back into one field with its choices)."""
    lists = {
        c.get("OID") or "": tuple(
            (i.get("CodedValue") or "", "".join(i.itertext()).strip())
            for i in c.iter(f"{_ODM}CodeListItem")
        )
        for c in root.iter(f"{_ODM}CodeList")
    }
    boxes = {  # a checkbox item's list is Checked/Unchecked; the field's choices are here
        c.get("OID") or "": parse_choices(c.get(f"{_RC}CheckboxChoices") or "")
        for c in root.iter(f"{_ODM}CodeList")
    }
    form_of: dict[str, str] = {}
    for form in root.iter(f"{_ODM}FormDef"):
        for group_ref in form.iter(f"{_ODM}ItemGroupRef"):
            oid = group_ref.get("ItemGroupOID", "")
            form_of.setdefault(oid, form.get(f"{_RC}FormName", ""))
    item_form: dict[str, str] = {}
    for group in root.iter(f"{_ODM}ItemGroupDef"):
        for item_ref in group.iter(f"{_ODM}ItemRef"):
            oid = item_ref.get("ItemOID", "")
            item_form.setdefault(oid, form_of.get(group.get("OID", ""), ""))
    fields: dict[str, SourceField] = {}
    for item in root.iter(f"{_ODM}ItemDef"):
        name = item.get(f"{_RC}Variable") or item.get("Name") or ""
        kind = item.get(f"{_RC}FieldType") or ""
        if not kind or name in _SYSTEM or name.endswith(("_complete", "_timestamp")):
            continue
        question = item.find(f"{_ODM}Question")
        label = "".join(question.itertext()).strip() if question is not None else name
        codes = item.find(f"{_ODM}CodeListRef")
        oid = codes.get("CodeListOID") or "" if codes is not None else ""
        choices = boxes.get(oid) if kind == "checkbox" else lists.get(oid)
        fields[name] = SourceField(
            name,
            item_form.get(item.get("OID") or "", ""),
            _TYPES.get(kind, kind),
            label,
            choices or (),
        )
    if not fields:
        raise InputError(f"{file}: no REDCap fields in this ODM file (not a REDCap ODM export?)")
    return SourceDictionary(file, fields)


def read_odm(path: Path) -> tuple[SourceDictionary, SourceRows]:
    """The dictionary and the rows (one per record, event and form instance) of an ODM export."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise InputError(f"{path}: cannot read the ODM XML file ({exc})") from exc
    dictionary = _dictionary(root, path.name)
    record_id = dictionary.record_id
    repeating = {
        r.get(f"{_RC}RepeatInstrument", "") for r in root.iter(f"{_RC}RepeatingInstrument")
    }
    rows: list[dict[str, str]] = []
    for subject in root.iter(f"{_ODM}SubjectData"):
        key = subject.get("SubjectKey", "")
        events = subject.findall(f"{_ODM}StudyEventData") or [subject]  # classic: no events
        for event in events:
            event_name = event.get(f"{_RC}UniqueEventName", "")
            for form in event.iter(f"{_ODM}FormData"):
                name = form.get("FormOID", "").removeprefix("Form.")
                row = {record_id: key}
                if event_name:
                    row["redcap_event_name"] = event_name
                if name in repeating:
                    row["redcap_repeat_instrument"] = name
                    row["redcap_repeat_instance"] = form.get("FormRepeatKey", "1")
                for data in form.iter(f"{_ODM}ItemData"):
                    row[data.get("ItemOID", "")] = (data.get("Value") or "").strip()
                rows.append(row)
    header = list(dict.fromkeys(k for r in rows for k in r))
    out = SourceRows(path.name, header)
    for number, row in enumerate(rows, start=1):
        out.rows.append({h: row.get(h, "") for h in header})
        out.lines.append(number)
    return dictionary, out
