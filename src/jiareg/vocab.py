"""jiareg's clinical vocabulary, in one place: every other module imports it, none re-declares it.

ILAR categories, the JIA core set (in the SPEC's order, with labels and units), the drugs jiareg
knows (generic name, class, brand names, ATC and RxNorm codes), course stop reasons, steroid
routes, global-assessment scales and the response result codes.

This module is light (standard library only): the CLI imports it at start-up.

Sources: ILAR categories, Petty RE et al., J Rheumatol 2004;31(2):390-392 (SPEC R-SJIA-1);
core set, Giannini EH et al., Arthritis Rheum 1997;40(7):1202-1209 (SPEC R-CORESET-1);
ATC codes, WHO Collaborating Centre for Drug Statistics Methodology, ATC/DDD Index (JAK
inhibitors under L04AF since the 2024 revision); RxNorm ingredient codes (RxCUI), US National
Library of Medicine RxNorm. The ATC and RxNorm codes are listed in
docs/reference/unverified.md until each is checked against the published index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = [
    "ANTI_TNF",
    "BIOLOGICS",
    "CORE_SET",
    "CORE_SET_VARIABLES",
    "DRUGS",
    "DRUG_BY_NAME",
    "ILAR_CATEGORIES",
    "NONRESPONDER",
    "NOT_EVALUABLE",
    "RESPONDER",
    "RESULT_CODES",
    "SCALES",
    "SCALE_MAX",
    "SEXES",
    "STEROIDS",
    "STEROID_ROUTES",
    "STOP_REASONS",
    "TREATMENT_ROUTES",
    "CoreSetVariable",
    "Drug",
    "DrugClass",
    "IlarCategory",
    "InflammationMarker",
    "ResultCode",
    "Scale",
    "StopReason",
]

IlarCategory = Literal[
    "systemic",
    "oligo_persistent",
    "oligo_extended",
    "poly_rf_neg",
    "poly_rf_pos",
    "psoriatic",
    "era",
    "undifferentiated",
]
ILAR_CATEGORIES: Final[tuple[IlarCategory, ...]] = get_args(IlarCategory)
"""ILAR (Edmonton 2001) categories as the template writes them (SPEC R-SJIA-1). The SPEC's own
spelling is the upper-case form (`SYSTEMIC`, `POLY_RF_NEG`, ...)."""

SEXES: Final = ("F", "M")

Scale = Literal["0-10", "0-3", "0-100"]
SCALES: Final[tuple[Scale, ...]] = get_args(Scale)
"""Scales of a global assessment (SPEC R-CORESET-2); `0-10` is the default."""
SCALE_MAX: Final[dict[Scale, int]] = {"0-10": 10, "0-3": 3, "0-100": 100}
"""Upper end of each scale (the lower end is 0)."""


InflammationMarker = Literal["esr", "crp"]
"""Inflammation markers of the JADAS (SPEC R-JADAS-1) under their template column names: ESR in
mm/h (the core set's), CRP in mg/L."""


@dataclass(frozen=True, slots=True)
class CoreSetVariable:
    """One JIA core-set variable: its template column, label and unit (SPEC R-CORESET-1)."""

    name: str
    label: str
    unit: str


CORE_SET: Final = (
    CoreSetVariable("active_joints", "Joints with active arthritis", "count"),
    CoreSetVariable("lom_joints", "Joints with limited range of motion", "count"),
    CoreSetVariable("phys_global", "Physician global assessment", "0-10"),
    CoreSetVariable("parent_global", "Parent/patient global assessment", "0-10"),
    CoreSetVariable("chaq", "CHAQ disability index", "0-3"),
    CoreSetVariable("esr", "Erythrocyte sedimentation rate", "mm/h"),
)
"""The six core-set variables in the order the founding poster and every jiareg table list
them (joints, globals, function, inflammation)."""
CORE_SET_VARIABLES: Final[tuple[str, ...]] = tuple(v.name for v in CORE_SET)

DrugClass = Literal[
    "anti_tnf", "il6", "il1", "il17", "il12_23", "t_cell", "b_cell", "jak", "csdmard", "steroid"
]


@dataclass(frozen=True, slots=True)
class Drug:
    """A drug jiareg knows: lower-case generic name (the template's spelling) and its codes."""

    name: str
    drug_class: DrugClass
    atc: str
    rxnorm: str
    brands: tuple[str, ...] = ()

    @property
    def biologic(self) -> bool:
        """Biologic or targeted synthetic DMARD (not a conventional DMARD or a corticosteroid)."""
        return self.drug_class not in ("csdmard", "steroid")


DRUGS: Final[tuple[Drug, ...]] = (
    Drug("etanercept", "anti_tnf", "L04AB01", "214555", ("Enbrel", "Benepali", "Erelzi")),
    Drug("infliximab", "anti_tnf", "L04AB02", "191831", ("Remicade", "Inflectra", "Remsima")),
    Drug("adalimumab", "anti_tnf", "L04AB04", "327361", ("Humira", "Amgevita", "Hyrimoz")),
    Drug("certolizumab", "anti_tnf", "L04AB05", "709271", ("Cimzia",)),
    Drug("golimumab", "anti_tnf", "L04AB06", "819300", ("Simponi",)),
    Drug("tocilizumab", "il6", "L04AC07", "612865", ("RoActemra", "Actemra")),
    Drug("sarilumab", "il6", "L04AC14", "1923319", ("Kevzara",)),
    Drug("anakinra", "il1", "L04AC03", "72435", ("Kineret",)),
    Drug("canakinumab", "il1", "L04AC08", "853491", ("Ilaris",)),
    Drug("rilonacept", "il1", "L04AC04", "763450", ("Arcalyst",)),
    Drug("secukinumab", "il17", "L04AC10", "1599788", ("Cosentyx",)),
    Drug("ustekinumab", "il12_23", "L04AC05", "847083", ("Stelara",)),
    Drug("abatacept", "t_cell", "L04AA24", "614391", ("Orencia",)),
    Drug("rituximab", "b_cell", "L01FA01", "121191", ("MabThera", "Rituxan")),
    Drug("tofacitinib", "jak", "L04AF01", "1357536", ("Xeljanz",)),
    Drug("baricitinib", "jak", "L04AF02", "2047232", ("Olumiant",)),
    Drug("upadacitinib", "jak", "L04AF03", "2196092", ("Rinvoq",)),
    Drug("methotrexate", "csdmard", "L04AX03", "6851", ("Metoject", "Otrexup", "Trexall")),
    Drug("prednisone", "steroid", "H02AB07", "8640", ("Deltasone",)),
    Drug("prednisolone", "steroid", "H02AB06", "8638", ("Prelone", "Orapred")),
    Drug("methylprednisolone", "steroid", "H02AB04", "6902", ("Medrol", "Solu-Medrol")),
    Drug("hydrocortisone", "steroid", "H02AB09", "5492", ("Cortef",)),
    Drug("dexamethasone", "steroid", "H02AB02", "3264", ("Decadron",)),
    Drug("betamethasone", "steroid", "H02AB01", "1514", ("Celestone",)),
    Drug("triamcinolone", "steroid", "H02AB08", "10759", ("Kenalog",)),
    Drug("deflazacort", "steroid", "H02AB13", "19894", ("Emflaza", "Calcort")),
)
"""Every drug jiareg knows: biologics, then conventional DMARDs, then corticosteroids."""
DRUG_BY_NAME: Final[dict[str, Drug]] = {d.name: d for d in DRUGS}
ANTI_TNF: Final[tuple[str, ...]] = tuple(d.name for d in DRUGS if d.drug_class == "anti_tnf")
BIOLOGICS: Final[tuple[str, ...]] = tuple(d.name for d in DRUGS if d.biologic)
STEROIDS: Final[tuple[str, ...]] = tuple(d.name for d in DRUGS if d.drug_class == "steroid")

TREATMENT_ROUTES: Final = ("iv", "sc", "oral")
"""Routes of a treatment course."""
STEROID_ROUTES: Final = ("oral", "iv_pulse", "intra_articular", "other")
"""Routes of a steroid period (SPEC §12b); a file without a route column is read as oral."""

StopReason = Literal[
    "primary_failure", "secondary_failure", "intolerance", "adverse_event", "remission", "other"
]
STOP_REASONS: Final[tuple[StopReason, ...]] = get_args(StopReason)
"""Why a course stopped (INTERFACE.md); SPEC R-TNF-FAIL maps them to its reason codes."""

ResultCode = Literal["RESPONDER", "NONRESPONDER", "NOT_EVALUABLE"]
RESPONDER: Final[ResultCode] = "RESPONDER"
NONRESPONDER: Final[ResultCode] = "NONRESPONDER"
NOT_EVALUABLE: Final[ResultCode] = "NOT_EVALUABLE"
RESULT_CODES: Final[tuple[ResultCode, ...]] = get_args(ResultCode)
"""A patient's outcome for a response endpoint (SPEC R-ACR-PEDI)."""
