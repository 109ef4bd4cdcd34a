"""Systemic JIA: ILAR category codes, systemic features, their resolution, and MAS 2016 (R-SJIA).

Values are exact (`Fraction` via `jiareg.derive.exact.to_fraction`); every boolean feature is
three-valued: True, False, or None for "not assessed". Rules that cannot be decided from what
is known return None rather than guess.

Hepatomegaly and splenomegaly are separate features (SPEC §12b.3): only splenomegaly counts
against inactive disease (`jiareg.derive.inactive`). A registry written before the split has one
combined flag, `hepatosplenomegaly`; `organ_flags` reads it as both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from fractions import Fraction
from typing import Final, Literal

from jiareg import vocab
from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.exact import to_fraction
from jiareg.derive.logic3 import any3
from jiareg.errors import DerivationError

__all__ = [
    "ILAR_CATEGORIES",
    "MAS_AST_GT_U_L",
    "MAS_FERRITIN_GT_NG_ML",
    "MAS_FIBRINOGEN_LE_MG_DL",
    "MAS_PLATELETS_LE_10E9_L",
    "MAS_TRIGLYCERIDES_GT_MG_DL",
    "SystemicFeatures",
    "fever_from_temperatures",
    "ilar_category",
    "mas_criteria_met",
    "organ_flags",
    "systemic_active",
    "systemic_resolved",
]

ILAR_CATEGORIES: Final[tuple[str, ...]] = tuple(c.upper() for c in vocab.ILAR_CATEGORIES)
"""ILAR (Edmonton 2001) category codes in the SPEC's upper-case spelling (R-SJIA-1), derived
from `jiareg.vocab.ILAR_CATEGORIES` (the template's lower-case codes)."""

MAS_FERRITIN_GT_NG_ML: Final = Fraction(684)
MAS_PLATELETS_LE_10E9_L: Final = Fraction(181)
MAS_AST_GT_U_L: Final = Fraction(48)
MAS_TRIGLYCERIDES_GT_MG_DL: Final = Fraction(156)
MAS_FIBRINOGEN_LE_MG_DL: Final = Fraction(360)


def ilar_category(value: str) -> str:
    """The SPEC code of an ILAR category given as SPEC code or template code (any case).

    Source: Petty RE et al., J Rheumatol 2004;31(2):390-392 (unverified — from memory).
    SPEC R-SJIA-1.

    >>> ilar_category("systemic"), ilar_category("POLY_RF_NEG")
    ('SYSTEMIC', 'POLY_RF_NEG')
    """
    code = value.strip().upper()
    for known in ILAR_CATEGORIES:
        if code == known:
            return known
    raise DerivationError(
        f"unknown ILAR category {value!r}; expected one of "
        + ", ".join(c.lower() for c in ILAR_CATEGORIES)
    )


@dataclass(frozen=True, slots=True)
class SystemicFeatures:
    """The six systemic features of SPEC R-SJIA-2 at one visit (None = not assessed).

    Each is "attributable to sJIA"; `fever` is usually `fever_from_temperatures(...)`.
    Hepatomegaly and splenomegaly are separate (SPEC §12b.3).
    """

    fever: bool | None
    rash: bool | None
    serositis: bool | None
    hepatomegaly: bool | None
    splenomegaly: bool | None
    lymphadenopathy: bool | None

    @classmethod
    def from_template(
        cls,
        *,
        fever: bool | None,
        rash: bool | None,
        serositis: bool | None,
        lymphadenopathy: bool | None,
        hepatomegaly: bool | None = None,
        splenomegaly: bool | None = None,
        hepatosplenomegaly: bool | None = None,
    ) -> SystemicFeatures:
        """Features from a `visits` row; an old combined `hepatosplenomegaly` fills both organs.

        >>> SystemicFeatures.from_template(fever=False, rash=False, serositis=False,
        ...     hepatosplenomegaly=True, lymphadenopathy=False).splenomegaly
        True
        """
        hepato, spleno = organ_flags(hepatomegaly, splenomegaly, hepatosplenomegaly)
        return cls(
            fever=fever,
            rash=rash,
            serositis=serositis,
            hepatomegaly=hepato,
            splenomegaly=spleno,
            lymphadenopathy=lymphadenopathy,
        )

    def values(self) -> tuple[bool | None, ...]:
        """The six features in SPEC order."""
        return tuple(getattr(self, f.name) for f in fields(self))


def organ_flags(
    hepatomegaly: bool | None, splenomegaly: bool | None, hepatosplenomegaly: bool | None = None
) -> tuple[bool | None, bool | None]:
    """(hepatomegaly, splenomegaly), each falling back to an old combined flag when not given.

    A registry written before SPEC §12b.3 has only `hepatosplenomegaly`; it is read as both
    flags (SPEC §12b.3: "An old combined hepatosplenomegaly value is read as both flags").

    >>> organ_flags(None, None, True), organ_flags(True, False), organ_flags(None, False, True)
    ((True, True), (True, False), (True, False))
    """
    return (
        hepatosplenomegaly if hepatomegaly is None else hepatomegaly,
        hepatosplenomegaly if splenomegaly is None else splenomegaly,
    )


def fever_from_temperatures(
    temps_c: Iterable[tuple[date, object]],
    *,
    visit_date: date,
    threshold_c: Fraction = DEFAULT_CONFIG.fever_threshold_c,
    window_days: int = DEFAULT_CONFIG.fever_window_days,
) -> bool | None:
    """Fever at a visit: any temperature ≥ `threshold_c` °C from D − `window_days` through D.

    D is the visit day; the window is D−7 through D inclusive with the default 7 (SPEC §12b.1),
    i.e. 8 calendar days; readings after the visit are ignored. Every fever-window rule uses
    this function. A reading exactly at the threshold is fever. No reading in the window →
    None (not assessed); missing readings are skipped.
    Defaults `config.fever_threshold_c = 37.5`, `config.fever_window_days = 7` (TENDER fever
    definition, unverified — from memory, SPEC §12.1).
    Source: De Benedetti F et al., NEJM 2012;367:2385-95 (TENDER). SPEC R-SJIA-2, §12b.1.

    >>> d = date(2024, 3, 8)
    >>> fever_from_temperatures([(date(2024, 3, 1), "38.2"), (date(2024, 3, 7), "36.8")],
    ...     visit_date=d)
    True
    >>> fever_from_temperatures([(date(2024, 2, 29), "39.0"), (d, "37.4")], visit_date=d)
    False
    """
    if window_days < 1:
        raise DerivationError(f"fever window must be at least 1 day, got {window_days}")
    first_day = visit_date - timedelta(days=window_days)
    in_window = [
        t
        for day, value in temps_c
        if first_day <= day <= visit_date and (t := to_fraction(value)) is not None
    ]
    if not in_window:
        return None
    return any(t >= threshold_c for t in in_window)


def systemic_active(features: SystemicFeatures) -> bool | None:
    """Active systemic disease: any of the six features True (SPEC R-SJIA-2).

    None when no feature is True and at least one is not assessed.
    Source: SPEC R-SJIA-2 (jiareg definition from the ILAR systemic features).

    >>> systemic_active(SystemicFeatures(False, True, None, None, None, None))
    True
    """
    return any3(features.values())


def systemic_resolved(
    baseline: SystemicFeatures,
    visit: SystemicFeatures,
    *,
    endpoint: Literal["all", "fever_rash"] = "all",
) -> bool | None:
    """Disappearance of systemic symptoms at a visit, relative to baseline (SPEC R-SJIA-2).

    `endpoint="all"`: the patient had `systemic_active` at baseline and all six features are
    False at the visit. `endpoint="fever_rash"` (the founding poster's endpoint): fever or rash
    True at baseline, and fever and rash both False at the visit.
    True = resolved; False = a feature of the endpoint is still True at the visit;
    None = not evaluable: the baseline had none of the endpoint's features (or they were not
    assessed), or no feature is True at the visit but one is not assessed.
    Source: Russo & Katsicas, Pediatr Rheumatol 2011;9(Suppl 1):P186. SPEC R-SJIA-2.

    >>> base = SystemicFeatures(True, True, False, False, False, False)
    >>> now = SystemicFeatures(False, False, None, False, False, False)
    >>> systemic_resolved(base, now), systemic_resolved(base, now, endpoint="fever_rash")
    (None, True)
    """
    if endpoint == "all":
        before, after = baseline.values(), visit.values()
    elif endpoint == "fever_rash":
        before = (baseline.fever, baseline.rash)
        after = (visit.fever, visit.rash)
    else:
        raise DerivationError(f"unknown endpoint {endpoint!r}; expected 'all' or 'fever_rash'")
    if any3(before) is not True:
        return None
    still = any3(after)
    return None if still is None else not still


def mas_criteria_met(
    *,
    febrile: bool | None,
    ferritin_ng_ml: object,
    platelets_10e9_l: object,
    ast_u_l: object,
    triglycerides_mg_dl: object,
    fibrinogen_mg_dl: object,
) -> bool | None:
    """2016 MAS classification: febrile, ferritin > 684 ng/mL and ≥ 2 of the four lab criteria.

    Lab criteria: platelets ≤ 181 ×10⁹/L; AST > 48 U/L; triglycerides > 156 mg/dL;
    fibrinogen ≤ 360 mg/dL. Boundaries as published: ferritin exactly 684 does not qualify,
    platelets exactly 181 do. Missing values (None) are unknown: the result is None only when
    the known values leave the answer open (e.g. ferritin 900, one criterion met, two missing).
    Advisory: IL-6 blockade can blunt fever and ferritin; the clinician's diagnosis is recorded
    separately.
    Source: Ravelli A et al., Ann Rheum Dis 2016;75(3):481-489. SPEC R-SJIA-3.

    >>> mas_criteria_met(febrile=True, ferritin_ng_ml="2000", platelets_10e9_l="150",
    ...     ast_u_l="80", triglycerides_mg_dl=None, fibrinogen_mg_dl=None)
    True
    """
    ferritin = to_fraction(ferritin_ng_ml)
    ferritin_high = None if ferritin is None else ferritin > MAS_FERRITIN_GT_NG_ML
    platelets, ast = to_fraction(platelets_10e9_l), to_fraction(ast_u_l)
    tg, fibrinogen = to_fraction(triglycerides_mg_dl), to_fraction(fibrinogen_mg_dl)
    labs: list[bool | None] = [
        None if platelets is None else platelets <= MAS_PLATELETS_LE_10E9_L,
        None if ast is None else ast > MAS_AST_GT_U_L,
        None if tg is None else tg > MAS_TRIGLYCERIDES_GT_MG_DL,
        None if fibrinogen is None else fibrinogen <= MAS_FIBRINOGEN_LE_MG_DL,
    ]
    met = labs.count(True)
    unknown = labs.count(None)
    two_of_four = True if met >= 2 else (False if met + unknown < 2 else None)
    parts = (febrile, ferritin_high, two_of_four)
    if any(p is False for p in parts):
        return False
    if all(p is True for p in parts):
        return True
    return None
