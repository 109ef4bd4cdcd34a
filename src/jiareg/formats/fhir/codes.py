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
"""

from __future__ import annotations

from typing import Final

from jiareg.formats.template.dictionary import table

__all__ = [
    "BASE",
    "CHAQ_AID",
    "CHAQ_ITEM",
    "DOSING_WEIGHT_URL",
    "DRUG",
    "GRADE_URL",
    "ILAR",
    "JOINT",
    "JOINT_EXAM",
    "LATERALITY_URL",
    "LOINC",
    "MEDICATION_CATEGORY",
    "OBSERVATION",
    "OBSERVATIONS",
    "PATIENT_ID",
    "READ_CODES",
    "ROUTE",
    "SCALE",
    "SERIOUSNESS",
    "SITE",
    "STOP_REASON",
    "UCUM",
    "VISIT_COLUMNS",
]

BASE: Final = "https://jiareg.org/fhir"
LOINC: Final = "http://loinc.org"
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
    "esr": ("30341-2", "mm/h"),
    "crp": ("1988-5", "mg/L"),
}
_UNITS: Final = {"chaq": "{score}", "morning_stiffness_min": "min"}

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
    (LOINC, "4537-7"): "esr",
}
"""(system, code) -> visit column, for reading."""
