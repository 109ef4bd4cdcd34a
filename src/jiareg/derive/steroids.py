"""Corticosteroids: prednisone equivalents, which records count, and dose change (R-STEROID).

Scalar forms are exact Fractions. `steroid_change_expr` is the dose-change category on Ibis
columns, decided on exact int64 units (R-NUM-1); on the mg/kg/day basis it cross-multiplies by
the two weights instead of dividing, so no ratio is ever rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal

from jiareg import vocab
from jiareg.derive.config import DEFAULT_CONFIG, ClinicalConfig
from jiareg.derive.exact import to_fraction, units_expr
from jiareg.errors import DerivationError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "DOSE_REDUCTION_CATEGORIES",
    "IV_PULSE_MIN_MG",
    "IV_PULSE_MIN_MG_PER_KG",
    "PEQ_ROUTES",
    "SteroidChange",
    "SteroidDose",
    "classify_steroid_record",
    "counts_toward_peq",
    "peq_mg_day",
    "peq_mg_kg_day",
    "peq_route_expr",
    "prednisone_factor",
    "steroid_change",
    "steroid_change_expr",
]

ChangeCategory = Literal[
    "NOT_ON_STEROIDS", "DISCONTINUED", "REDUCED_GE50", "REDUCED_LT50", "NO_CHANGE", "INCREASED"
]
DOSE_REDUCTION_CATEGORIES: Final[frozenset[ChangeCategory]] = frozenset(
    {"DISCONTINUED", "REDUCED_GE50", "REDUCED_LT50"}
)
"""The "corticosteroid dose reduction" endpoint of SPEC R-STEROID-3."""
REDUCTION_HALF_PCT: Final = 50

RecordKind = Literal["MAINTENANCE", "IV_PULSE", "INTRA_ARTICULAR"]
IV_PULSE_MIN_MG: Final = Fraction(250)
IV_PULSE_MIN_MG_PER_KG: Final = Fraction(10)
"""IV methylprednisolone ≥ 10 mg/kg or ≥ 250 mg per dose is a pulse (jiareg choice); other
corticosteroids are compared in methylprednisolone equivalents."""
PEQ_ROUTES: Final[tuple[str, ...]] = tuple(
    r for r in vocab.STEROID_ROUTES if r in ("oral", "other")
)
"""Routes whose records count toward the daily prednisone equivalent (SPEC §12b.6)."""
_ROUTES: Final = {
    **{r: r for r in vocab.STEROID_ROUTES},
    "po": "oral",
    "iv": "iv",
    "intra-articular": "intra_articular",
    "ia": "intra_articular",
}
"""The template's routes (`jiareg.vocab.STEROID_ROUTES`) and the spellings accepted besides."""


def prednisone_factor(drug: str, *, config: ClinicalConfig = DEFAULT_CONFIG) -> Fraction:
    """mg of prednisone equivalent to 1 mg of `drug` (SPEC R-STEROID-1, `config.steroid_factors`).

    Defaults: prednisone, prednisolone 1; methylprednisolone, triamcinolone 5/4;
    hydrocortisone 1/4; dexamethasone 20/3; betamethasone 20/3 (sources disagree, alternative
    25/3); deflazacort 5/6 (unverified — from memory, alternative 2/3).
    Source: standard equivalence tables (hydrocortisone 20 = prednisone 5 = methylprednisolone
    4 = dexamethasone 0.75 mg), SPEC R-STEROID-1.

    >>> prednisone_factor("Methylprednisolone")
    Fraction(5, 4)
    """
    name = drug.strip().lower()
    try:
        return config.steroid_factors[name]
    except KeyError:
        known = ", ".join(sorted(config.steroid_factors))
        raise DerivationError(f"unknown corticosteroid {drug!r}; expected one of {known}") from None


def _positive(value: object, what: str) -> Fraction:
    number = to_fraction(value)
    if number is None or number <= 0:
        raise DerivationError(f"{what} must be a positive number, got {value!r}")
    return number


def _non_negative(value: object, what: str) -> Fraction:
    number = to_fraction(value)
    if number is None or number < 0:
        raise DerivationError(f"{what} must be a number ≥ 0, got {value!r}")
    return number


def peq_mg_day(
    drug: str,
    dose_mg: object,
    *,
    doses_per_day: object = 1,
    interval_days: object = 1,
    config: ClinicalConfig = DEFAULT_CONFIG,
) -> Fraction:
    """Daily prednisone-equivalent dose: dose × factor × doses per day / interval days.

    Alternate-day regimens: `interval_days=2` (20 mg every other day = 10 mg/day), or the
    same as `doses_per_day=0.5`. Only maintenance oral/IV doses count (see
    `classify_steroid_record`). Units: mg/day.
    Source: SPEC R-STEROID-2.1.

    >>> peq_mg_day("dexamethasone", "1.5"), peq_mg_day("prednisone", 20, interval_days=2)
    (Fraction(10, 1), Fraction(10, 1))
    """
    dose = _non_negative(dose_mg, "dose_mg")
    per_day = _positive(doses_per_day, "doses_per_day")
    interval = _positive(interval_days, "interval_days")
    return dose * prednisone_factor(drug, config=config) * per_day / interval


def peq_mg_kg_day(peq_mg_per_day: object, weight_kg: object) -> Fraction:
    """Prednisone equivalent per kg: mg/day divided by the weight (kg) at that visit.

    Source: SPEC R-STEROID-2.3.

    >>> peq_mg_kg_day(10, "16")
    Fraction(5, 8)
    """
    return _non_negative(peq_mg_per_day, "peq_mg_day") / _positive(weight_kg, "weight_kg")


def counts_toward_peq(route: str | None) -> bool:
    """Whether a steroid record on `route` counts toward the daily prednisone equivalent.

    Oral and `other` (daily systemic) records count; IV pulses and intra-articular injections
    are reported apart. No route (a file written before routes) is oral.
    Source: SPEC R-STEROID-2.2, §12b.6.

    >>> counts_toward_peq(None), counts_toward_peq("other"), counts_toward_peq("iv_pulse")
    (True, True, False)
    """
    return route is None or _route(route) in PEQ_ROUTES


def peq_route_expr(route: ir.StringValue) -> ir.BooleanValue:
    """Ibis twin of `counts_toward_peq`: True where the route column is NULL, oral or other.

    Source: SPEC R-STEROID-2.2, §12b.6.
    """
    return route.isnull() | route.lower().strip().isin(list(PEQ_ROUTES))


def _route(route: str) -> str:
    kind = _ROUTES.get(route.strip().lower())
    if kind is None:
        known = ", ".join(vocab.STEROID_ROUTES)
        raise DerivationError(f"unknown steroid route {route!r}; expected one of {known}")
    return kind


def classify_steroid_record(
    drug: str,
    *,
    route: str | None = None,
    dose_mg: object,
    weight_kg: object = None,
    config: ClinicalConfig = DEFAULT_CONFIG,
) -> RecordKind:
    """Whether a steroid record counts toward PEQ: MAINTENANCE, IV_PULSE or INTRA_ARTICULAR.

    Route `iv_pulse` is a pulse and `intra_articular` (or `ia`) a joint injection: separate
    events excluded from PEQ. An `iv` dose of any corticosteroid is a pulse when it reaches
    250 mg, or 10 mg/kg when the weight is known, of methylprednisolone equivalent (dose ×
    factor(drug) / factor(methylprednisolone); thresholds jiareg choice). Every other dose
    (`oral`, `other`, no route = oral) is MAINTENANCE.
    Source: SPEC R-STEROID-2.2, §12b.6; factors R-STEROID-1.

    >>> classify_steroid_record("methylprednisolone", route="iv", dose_mg=300)
    'IV_PULSE'
    >>> classify_steroid_record("methylprednisolone", route="iv", dose_mg=200, weight_kg=20)
    'IV_PULSE'
    >>> classify_steroid_record("dexamethasone", route="iv", dose_mg="46.875")  # 250 mg MP eq.
    'IV_PULSE'
    >>> classify_steroid_record("prednisolone", route="oral", dose_mg=10)
    'MAINTENANCE'
    """
    kind = "oral" if route is None else _route(route)
    factor = prednisone_factor(drug, config=config)  # refuses an unknown corticosteroid
    if kind == "intra_articular":
        return "INTRA_ARTICULAR"
    if kind == "iv_pulse":
        return "IV_PULSE"
    dose = _non_negative(dose_mg, "dose_mg")
    if kind == "iv":
        mp_eq = dose * factor / prednisone_factor("methylprednisolone", config=config)
        weight = to_fraction(weight_kg)
        per_kg = weight is not None and weight > 0 and mp_eq >= IV_PULSE_MIN_MG_PER_KG * weight
        if mp_eq >= IV_PULSE_MIN_MG or per_kg:
            return "IV_PULSE"
    return "MAINTENANCE"


@dataclass(frozen=True, slots=True)
class SteroidDose:
    """A patient's maintenance PEQ (mg/day) at one time point and the weight (kg) then."""

    peq_mg_day: Fraction
    weight_kg: Fraction | None = None

    def on_basis(self, basis: Literal["mg_kg_day", "mg_day"]) -> Fraction:
        """The dose on `basis`; mg/kg/day needs the weight (a zero dose needs none)."""
        if basis == "mg_day" or self.peq_mg_day == 0:
            return self.peq_mg_day
        if self.weight_kg is None:
            raise DerivationError("the mg_kg_day basis needs the weight at that visit")
        return peq_mg_kg_day(self.peq_mg_day, self.weight_kg)


@dataclass(frozen=True, slots=True)
class SteroidChange:
    """Dose-change category and exact percent reduction (None when the baseline is 0)."""

    category: ChangeCategory
    pct_reduction: Fraction | None


def _dose_value(dose: SteroidDose | object) -> Fraction | None:
    """The dose as given (mg/day for a SteroidDose, else the number); None when missing."""
    return dose.peq_mg_day if isinstance(dose, SteroidDose) else to_fraction(dose)


def steroid_change(
    baseline: SteroidDose | object,
    followup: SteroidDose | object,
    *,
    basis: Literal["mg_kg_day", "mg_day"] = DEFAULT_CONFIG.steroid_basis,
) -> SteroidChange | None:
    """Dose-change category from baseline b to follow-up f (SPEC R-STEROID-3).

    b == 0 → NOT_ON_STEROIDS; f == 0 → DISCONTINUED; (b - f) × 100 ≥ 50 × b → REDUCED_GE50
    (exactly 50 % counts); 0 < f < b below that → REDUCED_LT50; f == b → NO_CHANGE;
    f > b → INCREASED. `pct_reduction` = (b - f) / b × 100, exact (negative when increased).
    `SteroidDose` values are put on `basis` (`config.steroid_basis = "mg_kg_day"`); plain
    numbers are taken as already on it. None when either dose is missing.
    Source: Russo & Katsicas, Pediatr Rheumatol 2011;9(Suppl 1):P186 ("< 50 % reduction").
    SPEC R-STEROID-3.

    >>> steroid_change("1.0", "0.5")
    SteroidChange(category='REDUCED_GE50', pct_reduction=Fraction(50, 1))
    >>> steroid_change(SteroidDose(Fraction(10), Fraction(20)),
    ...                SteroidDose(Fraction(10), Fraction(25))).category
    'REDUCED_LT50'
    """
    b_raw, f_raw = _dose_value(baseline), _dose_value(followup)
    if b_raw is None or f_raw is None:
        return None
    if b_raw < 0 or f_raw < 0:
        raise DerivationError(f"steroid doses must be ≥ 0, got baseline {b_raw}, follow-up {f_raw}")
    # Zero is zero on either basis: these two need no weight.
    if b_raw == 0:
        return SteroidChange("NOT_ON_STEROIDS", None)
    if f_raw == 0:
        return SteroidChange("DISCONTINUED", Fraction(100))
    b = baseline.on_basis(basis) if isinstance(baseline, SteroidDose) else b_raw
    f = followup.on_basis(basis) if isinstance(followup, SteroidDose) else f_raw
    pct = (b - f) / b * 100
    category: ChangeCategory
    if (b - f) * 100 >= REDUCTION_HALF_PCT * b:
        category = "REDUCED_GE50"
    elif f < b:
        category = "REDUCED_LT50"
    elif f == b:
        category = "NO_CHANGE"
    else:
        category = "INCREASED"
    return SteroidChange(category, pct)


def steroid_change_expr(
    baseline: ir.NumericValue,
    followup: ir.NumericValue,
    *,
    baseline_weight: ir.NumericValue | None = None,
    followup_weight: ir.NumericValue | None = None,
) -> ir.StringValue:
    """Ibis twin of `steroid_change(...).category`: a string column (NULL where a dose is NULL).

    `baseline` and `followup` are numeric columns on the chosen basis; or, for an exact
    mg/kg/day basis, PEQ mg/day columns plus `baseline_weight` and `followup_weight`: then
    b/Wb and f/Wf are compared as b × Wf and f × Wb (both scaled by Wb × Wf > 0, which keeps
    every category). A zero dose needs no weight (NOT_ON_STEROIDS, DISCONTINUED); a positive
    dose with a NULL weight gives NULL (the scalar rule raises). All comparisons are on exact
    int64 units (R-NUM-1).
    Source: SPEC R-STEROID-3.

    >>> import ibis
    >>> t = ibis.memtable({"b": [10.0, 10.0], "f": [10.0, 5.0],
    ...                    "bw": [20.0, 30.0], "fw": [25.0, 30.0]})
    >>> e = steroid_change_expr(t.b, t.f, baseline_weight=t.bw, followup_weight=t.fw)
    >>> ibis.duckdb.connect().to_pyarrow(t.select(c=e)).column("c").to_pylist()
    ['REDUCED_LT50', 'REDUCED_GE50']
    """
    import ibis

    b0, f0 = units_expr(baseline), units_expr(followup)
    if (baseline_weight is None) != (followup_weight is None):
        raise DerivationError("give both weights (mg/kg/day basis) or neither")
    b, f = b0, f0
    if baseline_weight is not None:
        b, f = b0 * units_expr(followup_weight), f0 * units_expr(baseline_weight)
    missing = ibis.null("string")
    return ibis.cases(
        (b0.isnull() | f0.isnull(), missing),
        (b0 == 0, "NOT_ON_STEROIDS"),
        (f0 == 0, "DISCONTINUED"),
        # a dose > 0 on the mg/kg/day basis needs both weights
        (b.isnull() | f.isnull(), missing),
        ((b - f) * 100 >= b * REDUCTION_HALF_PCT, "REDUCED_GE50"),
        (f < b, "REDUCED_LT50"),
        (f == b, "NO_CHANGE"),
        else_="INCREASED",
    )
