"""Label doses of biologics in JIA and the check of an administered dose (R-DOSE).

jiareg records administered doses and checks them against the label; it never prescribes.
`label_dose` gives the expected dose for one child (exact Fractions), `check_administered_dose`
compares a recorded dose with it, and `tocilizumab_check_exprs` is the same tocilizumab rule on
Ibis columns for millions of administrations, decided on exact integers (R-NUM-1).

`category` accepts the indications "sJIA" and "pJIA", "JIA" (the anti-TNF agents, whose
regimen does not depend on the category) and the ILAR codes of the template: `systemic` maps
to sJIA, every other ILAR category to the pJIA regimen. Tocilizumab is labelled for sJIA and
pJIA (RF+ and RF− polyarthritis, extended oligoarthritis); any other ILAR category, or an
unknown one (None), still gets the pJIA regimen, shown with `NOT_LABELLED` (SPEC §12b.7).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal

from jiareg import vocab
from jiareg.derive.config import DEFAULT_CONFIG, ClinicalConfig
from jiareg.derive.exact import UNITS, as_value, to_fraction, units_expr
from jiareg.derive.systemic import ILAR_CATEGORIES, ilar_category
from jiareg.errors import DerivationError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "ABOVE_MAX",
    "AGE_UNKNOWN",
    "DOSE_DEVIATION",
    "DRUGS",
    "NOT_LABELLED",
    "TCZ_BOUNDARY_HIGH_KG",
    "TCZ_BOUNDARY_LOW_KG",
    "TCZ_LABELLED_CATEGORIES",
    "TCZ_WEIGHT_CUTOFF_KG",
    "WEIGHT_BAND_BOUNDARY",
    "DoseCheck",
    "check_administered_dose",
    "dose_indication",
    "label_dose",
    "tocilizumab_check_exprs",
    "tocilizumab_labelled",
]

Drug = Literal["tocilizumab", "etanercept", "adalimumab", "infliximab"]
Indication = Literal["sJIA", "pJIA"]
Route = Literal["iv", "sc"]

DRUGS: Final[tuple[Drug, ...]] = ("tocilizumab", "etanercept", "adalimumab", "infliximab")
_ROUTES: Final[dict[Drug, tuple[Route, ...]]] = {
    "tocilizumab": ("iv", "sc"),
    "etanercept": ("sc",),
    "adalimumab": ("sc",),
    "infliximab": ("iv",),
}

WEIGHT_BAND_BOUNDARY: Final = "WEIGHT_BAND_BOUNDARY"
ABOVE_MAX: Final = "ABOVE_MAX"
NOT_LABELLED: Final = "NOT_LABELLED"
DOSE_DEVIATION: Final = "DOSE_DEVIATION"
AGE_UNKNOWN: Final = "AGE_UNKNOWN"

_TCZ_ILAR: Final[tuple[vocab.IlarCategory, ...]] = (
    "systemic",
    "poly_rf_pos",
    "poly_rf_neg",
    "oligo_extended",
)
TCZ_LABELLED_CATEGORIES: Final[tuple[str, ...]] = ("sjia", "pjia", *_TCZ_ILAR)
"""Categories (lower-case) tocilizumab is labelled for: sJIA, pJIA and the ILAR categories
that make them up (SPEC §12b.7)."""

TCZ_WEIGHT_CUTOFF_KG: Final = Fraction(30)
"""Tocilizumab band cut-off: `weight < 30` is the lower band, 30.0 kg belongs to "≥30"."""
TCZ_BOUNDARY_LOW_KG: Final = Fraction("29.5")
TCZ_BOUNDARY_HIGH_KG: Final = Fraction("30.5")
"""Weights in [29.5, 30.5) get WEIGHT_BAND_BOUNDARY (jiareg choice, SPEC R-DOSE-TCZ.2)."""

# IV: indication -> ((mg/kg, interval days) below 30 kg, (mg/kg, interval days) at ≥ 30 kg)
_TCZ_IV_MG_PER_KG: Final[dict[Indication, tuple[tuple[int, int], tuple[int, int]]]] = {
    "sJIA": ((12, 14), (8, 14)),
    "pJIA": ((10, 28), (8, 28)),
}
TCZ_SC_MG: Final = Fraction(162)
_TCZ_SC_SJIA_INTERVAL_DAYS: Final = (14, 7)  # (< 30 kg, ≥ 30 kg)
INFLIXIMAB_TRIAL_BAND: Final = "trial doses 3 or 6 mg/kg IV at weeks 0, 2, 6, then every 8 weeks"


@dataclass(frozen=True, slots=True)
class DoseCheck:
    """The label dose for one child: what to expect and why (SPEC R-DOSE).

    `expected_mg` and `interval_days` are None where no label dose exists (`NOT_LABELLED`);
    `mg_per_kg` is None for fixed doses.
    """

    drug: Drug
    route: Route
    expected_mg: Fraction | None
    mg_per_kg: Fraction | None
    interval_days: int | None
    band: str | None
    flags: tuple[str, ...]


def _drug(value: str) -> Drug:
    name = value.strip().lower()
    for known in DRUGS:
        if name == known:
            return known
    raise DerivationError(f"unknown drug {value!r}; expected one of {', '.join(DRUGS)}")


def _route(drug: Drug, value: str | None) -> Route:
    allowed = _ROUTES[drug]
    if value is None:
        return allowed[0]
    route = value.strip().lower()
    for known in allowed:
        if route == known:
            return known
    raise DerivationError(
        f"route {value!r} is not labelled for {drug}; expected {' or '.join(allowed)}"
    )


def dose_indication(category: str) -> Indication | None:
    """The dosing indication of a category: "sJIA", "pJIA", or None for plain "JIA".

    ILAR codes (template or SPEC spelling, any case): SYSTEMIC → sJIA, every other → pJIA.
    Source: SPEC R-DOSE-TCZ (indications) and R-SJIA-1 (codes).

    >>> dose_indication("systemic"), dose_indication("oligo_extended"), dose_indication("JIA")
    ('sJIA', 'pJIA', None)
    """
    text = category.strip()
    lowered = text.lower()
    if lowered == "sjia":
        return "sJIA"
    if lowered == "pjia":
        return "pJIA"
    if lowered == "jia":
        return None
    if lowered.upper() in ILAR_CATEGORIES:
        return "sJIA" if ilar_category(text) == "SYSTEMIC" else "pJIA"
    raise DerivationError(
        f"unknown category {category!r}; expected sJIA, pJIA, JIA or an ILAR code ("
        + ", ".join(c.lower() for c in ILAR_CATEGORIES)
        + ")"
    )


def tocilizumab_labelled(category: str | None) -> bool:
    """Whether tocilizumab is labelled for `category` (SPEC §12b.7).

    Labelled: sJIA and pJIA, i.e. ILAR systemic, RF+ and RF− polyarthritis and extended
    oligoarthritis. Any other ILAR category and an unknown category (None or empty) are not.
    Source: ACTEMRA US prescribing information (sJIA, pJIA indications); SPEC §12b.7.

    >>> tocilizumab_labelled("oligo_extended"), tocilizumab_labelled("era")
    (True, False)
    """
    return category is not None and category.strip().lower() in TCZ_LABELLED_CATEGORIES


def _tcz_band_flags(weight: Fraction) -> tuple[bool, list[str]]:
    upper = weight >= TCZ_WEIGHT_CUTOFF_KG
    flags = [WEIGHT_BAND_BOUNDARY] if TCZ_BOUNDARY_LOW_KG <= weight < TCZ_BOUNDARY_HIGH_KG else []
    return upper, flags


def _tocilizumab(
    indication: Indication, route: Route, weight: Fraction, config: ClinicalConfig
) -> DoseCheck:
    upper, flags = _tcz_band_flags(weight)
    band = "≥30" if upper else "<30"
    if route == "sc":
        intervals = (
            _TCZ_SC_SJIA_INTERVAL_DAYS if indication == "sJIA" else config.tcz_sc_pjia_interval_days
        )
        interval = intervals[upper]
        return DoseCheck("tocilizumab", route, TCZ_SC_MG, None, interval, band, tuple(flags))
    mg_per_kg_int, interval = _TCZ_IV_MG_PER_KG[indication][upper]
    mg_per_kg = Fraction(mg_per_kg_int)
    expected = mg_per_kg * weight
    if expected > config.tcz_iv_max_mg:
        flags.append(ABOVE_MAX)
        if config.tcz_max_policy == "cap":
            expected = config.tcz_iv_max_mg
    return DoseCheck("tocilizumab", route, expected, mg_per_kg, interval, band, tuple(flags))


def label_dose(
    drug: str,
    *,
    weight_kg: object,
    category: str | None,
    route: str | None = None,
    age_years: object = None,
    config: ClinicalConfig = DEFAULT_CONFIG,
) -> DoseCheck:
    """The label dose of a biologic for a child of `weight_kg` with `category` (SPEC R-DOSE).

    Tocilizumab: IV sJIA 12 mg/kg (< 30 kg) or 8 mg/kg (≥ 30 kg) every 2 weeks; IV pJIA
    10 or 8 mg/kg every 4 weeks; SC 162 mg, sJIA every 2 weeks (< 30 kg) or weekly, pJIA every
    3 or 2 weeks (SC pJIA unverified — from memory). The band is decided exactly (30.0 kg →
    8 mg/kg); weights in [29.5, 30.5) add WEIGHT_BAND_BOUNDARY; an IV dose above
    `config.tcz_iv_max_mg` (800) adds ABOVE_MAX and, with `config.tcz_max_policy = "cap"`, is
    capped. Expected dose = mg/kg × weight, exact, not rounded to vials.
    Etanercept: min(0.8 × weight, 50) mg SC weekly. Adalimumab: 10 mg (10 to < 15 kg), 20 mg
    (15 to < 30 kg), 40 mg (≥ 30 kg) SC every other week, from 2 years of age
    (`config.adalimumab_min_age_years`); < 10 kg or `age_years` < 2 (exact; 2.0 is labelled)
    → NOT_LABELLED, no expected dose; `age_years` None (unknown) → flag AGE_UNKNOWN beside the
    weight-band dose (SPEC §12b.4).
    Infliximab:
    not licensed for JIA → NOT_LABELLED, no expected dose (trial doses in `band`). The
    anti-TNF regimens and the SC pJIA intervals are unverified — from memory (SPEC §12.6,
    §12.7) and are options: `config.etanercept_mg_per_kg`, `config.etanercept_max_mg`,
    `config.adalimumab_bands`, `config.tcz_sc_pjia_interval_days`.
    `route` defaults to the drug's first route (tocilizumab: iv). Tocilizumab outside its
    labelled categories (`tocilizumab_labelled`), `category` None included, gets the pJIA
    regimen and NOT_LABELLED (SPEC §12b.7); plain "JIA" is an error for it.
    Source: ACTEMRA US prescribing information; De Benedetti F et al., NEJM 2012;367:2385-95
    (TENDER); Brunner HI et al., Ann Rheum Dis 2015;74:1110-7 (pJIA). SPEC R-DOSE-TCZ, R-DOSE-TNF.

    >>> c = label_dose("tocilizumab", weight_kg="29.9", category="sJIA", route="iv")
    >>> c.expected_mg, c.interval_days, c.band, c.flags
    (Fraction(1794, 5), 14, '<30', ('WEIGHT_BAND_BOUNDARY',))
    """
    name = _drug(drug)
    chosen_route = _route(name, route)
    unknown = category is None or not category.strip()
    indication = "pJIA" if category is None or unknown else dose_indication(category)
    weight = to_fraction(weight_kg)
    if weight is None or weight <= 0:
        raise DerivationError(f"weight_kg must be a positive number of kg, got {weight_kg!r}")
    if name == "tocilizumab":
        if indication is None:
            raise DerivationError(
                f"tocilizumab's regimen depends on the indication; category {category!r} "
                "does not say which: give sJIA, pJIA or an ILAR code"
            )
        check = _tocilizumab(indication, chosen_route, weight, config)
        if tocilizumab_labelled(category):
            return check
        return replace(check, flags=(*check.flags, NOT_LABELLED))
    if name == "etanercept":
        per_kg = config.etanercept_mg_per_kg
        expected = min(per_kg * weight, config.etanercept_max_mg)
        return DoseCheck(name, chosen_route, expected, per_kg, 7, None, ())
    if name == "adalimumab":
        age = to_fraction(age_years)
        if age is not None and age < 0:
            raise DerivationError(f"age_years must be ≥ 0, got {age_years!r}")
        if age is not None and age < config.adalimumab_min_age_years:
            band = f"<{_text(config.adalimumab_min_age_years)} y"
            return DoseCheck(name, chosen_route, None, None, None, band, (NOT_LABELLED,))
        check = _adalimumab(chosen_route, weight, config)
        return check if age is not None else replace(check, flags=(AGE_UNKNOWN, *check.flags))
    return DoseCheck(name, chosen_route, None, None, None, INFLIXIMAB_TRIAL_BAND, (NOT_LABELLED,))


def _adalimumab(route: Route, weight: Fraction, config: ClinicalConfig) -> DoseCheck:
    """Fixed dose of the highest band whose lower weight the child reaches; below all: none."""
    bands = config.adalimumab_bands
    for k in range(len(bands) - 1, -1, -1):
        lower, mg = bands[k]
        if weight >= lower:
            upper = f" to <{_text(bands[k + 1][0])}" if k + 1 < len(bands) else ""
            band = f"{_text(lower)}{upper}" if upper else f"≥{_text(lower)}"
            return DoseCheck("adalimumab", route, mg, None, 14, band, ())
    below = f"<{_text(bands[0][0])}"
    return DoseCheck("adalimumab", route, None, None, None, below, (NOT_LABELLED,))


def _text(value: Fraction) -> str:
    return str(value) if value.denominator == 1 else str(float(value))


def check_administered_dose(
    recorded_mg: object,
    check: DoseCheck,
    *,
    tolerance_pct: Fraction = DEFAULT_CONFIG.dose_tolerance_pct,
) -> tuple[str, ...]:
    """The check's flags plus DOSE_DEVIATION when `recorded_mg` is more than `tolerance_pct` % off.

    Deviation is `|recorded - expected| * 100 > tolerance_pct * expected` (strict, exact):
    exactly 10 % off is not a deviation. No expected dose (NOT_LABELLED) or no recorded dose
    → nothing to compare, the flags are returned unchanged.
    Default `config.dose_tolerance_pct = 10`. Source: SPEC R-DOSE (check result).

    >>> c = label_dose("tocilizumab", weight_kg=20, category="sJIA", route="iv")
    >>> check_administered_dose("264", c), check_administered_dose("264.1", c)
    ((), ('DOSE_DEVIATION',))
    """
    recorded = to_fraction(recorded_mg)
    if recorded is None or check.expected_mg is None:
        return check.flags
    if recorded < 0:
        raise DerivationError(f"recorded dose must be ≥ 0 mg, got {recorded_mg!r}")
    if abs(recorded - check.expected_mg) * 100 > tolerance_pct * check.expected_mg:
        return (*check.flags, DOSE_DEVIATION)
    return check.flags


def tocilizumab_check_exprs(
    weight_kg: ir.NumericValue | Fraction | float | str | None,
    dose_mg: ir.NumericValue | Fraction | float | str | None,
    *,
    category: ir.StringValue | str | None,
    route: ir.StringValue | str | None,
    config: ClinicalConfig = DEFAULT_CONFIG,
) -> dict[str, ir.Value]:
    """Ibis twin of `label_dose("tocilizumab", ...)` + `check_administered_dose`, per row.

    Arguments are Ibis columns (or Python values, taken as literals): `category` holds sJIA /
    pJIA / ILAR codes (any case; `systemic` or `sjia` → sJIA, anything else, NULL included,
    → the pJIA regimen, with `not_labelled` true outside `TCZ_LABELLED_CATEGORIES`, SPEC
    §12b.7), `route` holds iv / sc (NULL → iv, the scalar default). Returns expressions to
    `.mutate(**...)`: `expected_mg` (float64, for display), `weight_band_boundary`,
    `above_max` and `dose_deviation` (booleans; NULL where an input is NULL) and
    `not_labelled` (boolean, never NULL). Every threshold is decided on
    exact int64 units (`units_expr`, R-NUM-1), so the result equals the scalar rule for values
    with at most 3 decimals on DuckDB, PostgreSQL and Spark.
    Source: SPEC R-DOSE-TCZ and R-DOSE (check result).

    >>> import ibis
    >>> t = ibis.memtable({"w": [29.9, 110.0], "d": [358.8, 800.0], "c": ["systemic", "sJIA"]})
    >>> e = tocilizumab_check_exprs(t.w, t.d, category=t.c, route="iv")
    >>> row = ibis.duckdb.connect().to_pyarrow(t.select(**e)).to_pylist()[1]
    >>> row["expected_mg"], row["weight_band_boundary"], row["above_max"], row["dose_deviation"]
    (880.0, False, True, False)
    """
    import ibis

    w = units_expr(as_value(weight_kg))
    d = units_expr(as_value(dose_mg))
    cat = as_value(category).lower().strip()
    route_text = as_value(route).lower().strip()
    sc = (route_text == "sc").fill_null(False)
    systemic = cat.isin(["sjia", "systemic"]).fill_null(False)
    upper = w >= int(TCZ_WEIGHT_CUTOFF_KG * UNITS)
    sjia = _TCZ_IV_MG_PER_KG["sJIA"]
    pjia = _TCZ_IV_MG_PER_KG["pJIA"]
    mg_per_kg = ibis.cases(
        (systemic & ~upper, sjia[0][0]),
        (systemic & upper, sjia[1][0]),
        (~upper, pjia[0][0]),
        else_=pjia[1][0],
    )
    max_units = config.tcz_iv_max_mg * UNITS
    iv_units = w * mg_per_kg
    # Multiply by the max's denominator so a fractional max stays an integer comparison.
    above = (iv_units * max_units.denominator > max_units.numerator) & ~sc
    if config.tcz_max_policy == "cap":
        iv_units = above.ifelse(ibis.literal(int(max_units)), iv_units)
    expected = sc.ifelse(ibis.literal(int(TCZ_SC_MG * UNITS)), iv_units)
    tol = config.dose_tolerance_pct
    deviation = (d - expected).abs() * 100 * tol.denominator > expected * tol.numerator
    low, high = int(TCZ_BOUNDARY_LOW_KG * UNITS), int(TCZ_BOUNDARY_HIGH_KG * UNITS)
    return {
        "expected_mg": expected.cast("float64") / UNITS,
        "weight_band_boundary": (w >= low) & (w < high),
        "above_max": above,
        "dose_deviation": deviation,
        "not_labelled": ~cat.isin(list(TCZ_LABELLED_CATEGORIES)).fill_null(False),
    }
