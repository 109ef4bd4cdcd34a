"""The codes jiareg reads and writes in FHIR R4: LOINC where a well-known code exists, else
jiareg's own code systems (`https://jiareg.org/fhir/CodeSystem/<name>`).

LOINC codes (checked against published FHIR examples and implementation guides, Nov 2026):
body weight 29463-7 (kg), body height 8302-2 (cm), erythrocyte sedimentation rate 30341-2
(mm/h; 4537-7, another ESR code in common use, is read too), C reactive protein
[Mass/volume] in serum or plasma 1988-5 (mg/L). Every other visit column is an Observation
coded in the `observation` system with the template column's own name (`phys_global`,
`active_joints`, `fever`, ...).
A joint examination is an `observation|joint_exam` Observation; a CHAQ item one coded in
`chaq-item` with the item's key (`dressing_1`), its score as valueInteger.

Standard codes read beside jiareg's own (and written beside them by `write.py`):
- drugs: ATC (`http://www.whocc.no/atc`) and RxNorm ingredient codes
  (`http://www.nlm.nih.gov/research/umls/rxnorm`), taken from `jiareg.vocab.DRUGS`;
- ILAR categories: ICD-10 (WHO) and ICD-10-CM M08 (`http://hl7.org/fhir/sid/icd-10`,
  `http://hl7.org/fhir/sid/icd-10-cm`): M08.1 juvenile ankylosing spondylitis -> era, M08.2
  juvenile (rheumatoid) arthritis with systemic onset -> systemic, M08.3 juvenile (rheumatoid)
  polyarthritis, seronegative -> poly_rf_neg; ICD-10 M09.0 juvenile arthritis in psoriasis and
  ICD-10-CM L40.54 psoriatic juvenile arthropathy -> psoriatic. M08.0 (unspecified, "with or
  without rheumatoid factor"), M08.4 (pauciarticular: persistent or extended not said), M08.8
  and M08.9 name JIA without an ILAR category: they give the onset date only. Sources: WHO
  ICD-10 2019 chapter XIII block M05-M14; CMS/NCHS ICD-10-CM 2026 tabular list M08, L40.5.
- SNOMED CT (`http://snomed.info/sct`): 410502007 |Juvenile idiopathic arthritis (disorder)|
  (SNOMED International editorial guide, "Rheumatoid arthritis": it replaces the inactive
  410795001 |Juvenile rheumatoid arthritis|; both give the onset date only) and 201796004
  |Systemic onset juvenile chronic arthritis| -> systemic (listed in
  docs/reference/unverified.md);
- routes: SNOMED CT 26643006 oral, 47625008 intravenous, 34206005 subcutaneous (the FHIR R4
  route-codes example value set; in docs/reference/unverified.md);
- ESR by Westergren: LOINC 4537-7 (written; 30341-2 is read too).
"""

from __future__ import annotations

from typing import Final

from jiareg.formats.template.dictionary import table
from jiareg.vocab import DRUGS, IlarCategory

__all__ = [
    "ATC",
    "BASE",
    "CHAQ_AID",
    "CHAQ_ITEM",
    "CONDITION_VER_STATUS",
    "DOSING_WEIGHT_URL",
    "DRUG",
    "DRUG_CODES",
    "DRUG_NAMES",
    "GRADE_URL",
    "ICD10",
    "ICD10_CM",
    "ILAR",
    "ILAR_ICD10_CM",
    "JOINT",
    "JOINT_EXAM",
    "LATERALITY_URL",
    "LOINC",
    "MEDICATION_CATEGORY",
    "NOT_DONE",
    "OBSERVATION",
    "OBSERVATIONS",
    "PATIENT_ID",
    "READ_CODES",
    "ROUTE",
    "RXNORM",
    "SCALE",
    "SERIOUSNESS",
    "SITE",
    "SNOMED",
    "SNOMED_JIA",
    "SNOMED_ROUTES",
    "STOP_REASON",
    "UCUM",
    "VISIT_COLUMNS",
    "ilar_from",
]

BASE: Final = "https://jiareg.org/fhir"
LOINC: Final = "http://loinc.org"
ATC: Final = "http://www.whocc.no/atc"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED: Final = "http://snomed.info/sct"
ICD10: Final = "http://hl7.org/fhir/sid/icd-10"
ICD10_CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
CONDITION_VER_STATUS: Final = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
UCUM: Final = "http://unitsofmeasure.org"
OBSERVATION: Final = f"{BASE}/CodeSystem/observation"
ILAR: Final = f"{BASE}/CodeSystem/ilar-category"
SCALE: Final = f"{BASE}/CodeSystem/scale"
DRUG: Final = f"{BASE}/CodeSystem/drug"
ROUTE: Final = f"{BASE}/CodeSystem/route"
STOP_REASON: Final = f"{BASE}/CodeSystem/stop-reason"
MEDICATION_CATEGORY: Final = f"{BASE}/CodeSystem/medication-category"
SERIOUSNESS: Final = f"{BASE}/CodeSystem/seriousness"
PATIENT_ID: Final = f"{BASE}/NamingSystem/patient-id"
SITE: Final = f"{BASE}/NamingSystem/site"
CHAQ_ITEM: Final = f"{BASE}/CodeSystem/chaq-item"
JOINT: Final = f"{BASE}/CodeSystem/joint"
JOINT_EXAM: Final = "joint_exam"
"""The `observation` code of one joint's examination (bodySite = the joint, components =
swollen, tender, painful_motion, limited_motion as valueBoolean, extension `laterality`)."""
CHAQ_AID: Final = "aid"
"""The `observation` code of a CHAQ item Observation's component: aids or help used."""
LATERALITY_URL: Final = f"{BASE}/StructureDefinition/laterality"
GRADE_URL: Final = f"{BASE}/StructureDefinition/ctcae-grade"
DOSING_WEIGHT_URL: Final = f"{BASE}/StructureDefinition/dosing-weight"

_LOINC_CODES: Final = {
    "weight_kg": ("29463-7", "kg"),
    "height_cm": ("8302-2", "cm"),
    "esr": ("4537-7", "mm/h"),
    "crp": ("1988-5", "mg/L"),
}
_UNITS: Final = {
    "chaq": "{score}",
    "morning_stiffness_min": "min",
    "esr_uln": "mm/h",
    "crp_uln": "mg/L",
}

VISIT_COLUMNS: Final = tuple(
    name
    for name in table("visits").names
    if name not in ("patient_id", "visit_date") and not name.endswith("_scale")
)
"""The visit columns carried by one Observation each (a global's scale rides on its value)."""


def _observations() -> dict[str, tuple[str, str, str]]:
    out: dict[str, tuple[str, str, str]] = {}
    for column in VISIT_COLUMNS:
        if column in _LOINC_CODES:
            code, unit = _LOINC_CODES[column]
            out[column] = (LOINC, code, unit)
        else:
            out[column] = (OBSERVATION, column, _UNITS.get(column, ""))
    return out


OBSERVATIONS: Final[dict[str, tuple[str, str, str]]] = _observations()
"""visit column -> (code system, code, UCUM unit or '' when the value is not a Quantity of a
unit: a count, a flag, or a global whose Quantity code is its scale)."""

READ_CODES: Final[dict[tuple[str, str], str]] = {
    **{(s, c): col for col, (s, c, _) in OBSERVATIONS.items()},
    (LOINC, "30341-2"): "esr",
}
"""(system, code) -> visit column, for reading."""

DRUG_CODES: Final[dict[tuple[str, str], str]] = {
    **{(DRUG, d.name): d.name for d in DRUGS},
    **{(ATC, d.atc): d.name for d in DRUGS},
    **{(RXNORM, d.rxnorm): d.name for d in DRUGS},
}
"""(system, code) -> generic drug name: jiareg's own code, ATC and RxNorm (from vocab)."""
DRUG_NAMES: Final[dict[str, str]] = {
    **{b.lower(): d.name for d in DRUGS for b in d.brands},
    **{d.name: d.name for d in DRUGS},
}
"""A medication's text (generic or brand name, any case) -> generic drug name."""

SNOMED_ROUTES: Final[dict[str, str]] = {"26643006": "oral", "47625008": "iv", "34206005": "sc"}
"""SNOMED CT route -> the template's route (FHIR R4 route-codes example value set)."""

ILAR_ICD10_CM: Final[dict[str, str]] = {
    "era": "M08.1",
    "systemic": "M08.20",
    "poly_rf_neg": "M08.3",
    "psoriatic": "L40.54",
}
"""ILAR category -> the ICD-10-CM code written beside jiareg's (categories with one)."""
SNOMED_JIA: Final = "410502007"
"""SNOMED CT |Juvenile idiopathic arthritis (disorder)|, written on every category."""

_ICD_PREFIXES: Final[dict[str, tuple[tuple[str, IlarCategory | None], ...]]] = {
    ICD10: (
        ("M081", "era"),
        ("M082", "systemic"),
        ("M083", "poly_rf_neg"),
        ("M090", "psoriatic"),
        ("M080", None),
        ("M084", None),
        ("M088", None),
        ("M089", None),
    ),
    ICD10_CM: (
        ("M081", "era"),
        ("M082", "systemic"),
        ("M083", "poly_rf_neg"),
        ("L4054", "psoriatic"),
        ("M080", None),
        ("M084", None),
        ("M088", None),
        ("M089", None),
    ),
}
_SNOMED_ILAR: Final[dict[str, IlarCategory | None]] = {
    SNOMED_JIA: None,
    "410795001": None,
    "201796004": "systemic",
}


def ilar_from(system: str, value: str) -> tuple[bool, IlarCategory | None]:
    """(is it a JIA code, its ILAR category or None) for one standard coding.

    >>> ilar_from(ICD10_CM, "M08.269"), ilar_from(ICD10, "M08.4"), ilar_from(SNOMED, "1")
    ((True, 'systemic'), (True, None), (False, None))
    """
    if system == SNOMED:
        return value in _SNOMED_ILAR, _SNOMED_ILAR.get(value)
    flat = value.replace(".", "").upper()
    for prefix, category in _ICD_PREFIXES.get(system, ()):
        if flat.startswith(prefix):
            return True, category
    return False, None


NOT_DONE: Final[dict[str, frozenset[str]]] = {
    "Observation": frozenset({"cancelled", "entered-in-error"}),
    "Encounter": frozenset({"planned", "cancelled", "entered-in-error"}),
    "MedicationAdministration": frozenset({"not-done", "entered-in-error"}),
    "MedicationRequest": frozenset({"cancelled", "entered-in-error", "draft"}),
    "MedicationStatement": frozenset({"entered-in-error", "not-taken", "intended"}),
    "Condition": frozenset({"refuted", "entered-in-error"}),
}
"""Statuses that say the thing did not happen (or was recorded in error), by resource type:
FHIR R4 value sets observation-status, encounter-status, medication-admin-status,
medicationrequest-status, medication-statement-status and, for Condition,
condition-ver-status (verificationStatus). Such resources are never stored as data."""
