"""jiareg as a REDCap project: the instruments, fields and choice codes, and its data dictionary.

One instrument per template table, generated from the data dictionary
(`jiareg.formats.template.dictionary`) so the two cannot disagree:

- `patient` (not repeating): `record_id` is the template's `patient_id`, then site, sex, ...;
- repeating instruments `visit`, `treatment`, `administration`, `steroid`, `adverse_event`,
  `joint_exam`, `chaq_item`. REDCap variable names are unique in a project, so every field of
  an instrument other than `patient` and `visit` carries a prefix (`tx_`, `adm_`, `ster_`,
  `ae_`, `je_`, `ci_`): `adm_dose_mg` fills `administrations.dose_mg`.

Choice codes: yes/no fields are REDCap `yesno` (1 = yes, 0 = no); every other coded column is a
radio button whose codes are the 1-based position in the template's list (sex 1 = F, 2 = M;
scales 1 = 0-10, 2 = 0-3, 3 = 0-100; ...); the lists only ever grow at their end. Drugs are
a drop-down of `DRUG_CODES` plus 99 = other, with the name in the `<field>_other` text field.

`jiareg template DIR` writes `redcap/jiareg_redcap_dictionary.csv` (REDCap's data dictionary
format: upload it in *Project Setup > Data Dictionary*) and `redcap/repeating_instruments.csv`
(the repeating-instrument settings: form_name, custom_form_label). The same files ship in
`jiareg/formats/redcap/data/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from jiareg.formats.template.dictionary import DRUG_PATTERN, TABLES, Column, TemplateTable

__all__ = [
    "DICTIONARY_HEADER",
    "DRUG_CODES",
    "INSTRUMENTS",
    "OTHER_CODE",
    "RECORD_ID",
    "REPEAT_INSTANCE",
    "REPEAT_INSTRUMENT",
    "YESNO",
    "Field",
    "Instrument",
]

RECORD_ID: Final = "record_id"
REPEAT_INSTRUMENT: Final = "redcap_repeat_instrument"
REPEAT_INSTANCE: Final = "redcap_repeat_instance"
OTHER_CODE: Final = "99"
DRUG_CODES: Final[tuple[tuple[str, str], ...]] = (
    ("1", "abatacept"),
    ("2", "adalimumab"),
    ("3", "anakinra"),
    ("4", "canakinumab"),
    ("5", "etanercept"),
    ("6", "golimumab"),
    ("7", "infliximab"),
    ("8", "rituximab"),
    ("9", "tocilizumab"),
    ("10", "tofacitinib"),
    ("11", "baricitinib"),
    ("21", "prednisone"),
    ("22", "prednisolone"),
    ("23", "methylprednisolone"),
    ("24", "triamcinolone"),
    ("25", "hydrocortisone"),
    ("26", "dexamethasone"),
    ("27", "betamethasone"),
    ("28", "deflazacort"),
)
"""Drug drop-down codes (biologics and JAK inhibitors 1-20, corticosteroids 21-98); any other
drug is 99 with its lower-case generic name in the `_other` field. Codes never change."""

YESNO: Final = (("1", "yes"), ("0", "no"))
_INSTRUMENTS: Final = {
    "patients": ("patient", "", "Patient"),
    "visits": ("visit", "", "Visit"),
    "treatments": ("treatment", "tx_", "Biologic course"),
    "administrations": ("administration", "adm_", "Infusion or injection"),
    "steroids": ("steroid", "ster_", "Corticosteroid period"),
    "adverse_events": ("adverse_event", "ae_", "Adverse event"),
    "joint_exams": ("joint_exam", "je_", "Joint examination"),
    "chaq_items": ("chaq_item", "ci_", "CHAQ item"),
}

DICTIONARY_HEADER: Final = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
"""REDCap's data dictionary columns, in REDCap's order."""


@dataclass(frozen=True, slots=True)
class Field:
    """One REDCap field and the template column it fills.

    `choices` maps REDCap codes to template values (empty for free-text, number and date
    fields). `other_of` names the drop-down whose "other" (99) this text field completes.
    """

    name: str
    column: Column
    choices: tuple[tuple[str, str], ...] = ()
    other_of: str = ""

    @property
    def is_drug(self) -> bool:
        """A drug drop-down (its code 99 takes the name from `<name>_other`)."""
        return self.column.pattern == DRUG_PATTERN and not self.other_of

    def expected_code(self) -> str:
        """What a coded cell may hold, in REDCap's codes.

        >>> INSTRUMENTS[0].field("sex").expected_code()
        'one of 1 (F), 2 (M)'
        """
        return "one of " + ", ".join(f"{code} ({value})" for code, value in self.choices)


@dataclass(frozen=True, slots=True)
class Instrument:
    """One REDCap instrument: a template table (`spec`), its fields, whether it repeats."""

    name: str
    label: str
    spec: TemplateTable
    fields: tuple[Field, ...]

    @property
    def repeating(self) -> bool:
        """Every instrument but `patient` repeats (one instance per row of its table)."""
        return self.spec.name != "patients"

    def field(self, name: str) -> Field:
        """The field called `name` (KeyError if there is none)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def source(self, column: str) -> str:
        """The field that fills template `column` (the drop-down for a drug).

        >>> INSTRUMENTS[3].source("dose_mg"), INSTRUMENTS[3].source("patient_id")
        ('adm_dose_mg', 'record_id')
        """
        if column == "patient_id":
            return RECORD_ID
        return next(f.name for f in self.fields if f.column.name == column and not f.other_of)


def _fields(spec: TemplateTable, prefix: str) -> tuple[Field, ...]:
    out: list[Field] = []
    for col in spec.columns:
        if col.name == "patient_id":
            if spec.name == "patients":
                out.append(Field(RECORD_ID, col))
            continue
        name = prefix + col.name
        if col.kind == "flag":
            out.append(Field(name, col, YESNO))
        elif col.kind == "code":
            out.append(Field(name, col, tuple((str(i), c) for i, c in enumerate(col.codes, 1))))
        elif col.pattern == DRUG_PATTERN:
            out.append(Field(name, col, (*DRUG_CODES, (OTHER_CODE, "other"))))
            out.append(Field(f"{name}_other", col, other_of=name))
        else:
            out.append(Field(name, col))
    return tuple(out)


INSTRUMENTS: Final[tuple[Instrument, ...]] = tuple(
    Instrument(
        _INSTRUMENTS[t.name][0], _INSTRUMENTS[t.name][2], t, _fields(t, _INSTRUMENTS[t.name][1])
    )
    for t in TABLES
)
"""Every instrument, in template (load) order; `patient` first."""
