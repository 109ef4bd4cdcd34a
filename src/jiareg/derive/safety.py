"""Adverse events on biologics: CTCAE lab grades, seriousness, infusion reactions, exposure.

Lab grading follows CTCAE v5.0 as written in SPEC R-SAFETY-3 (all thresholds unverified —
from memory, SPEC §12.9). Boundary semantics, exactly as the SPEC states them: for falling
values ("< 1.5 – 1.0") the lower bound belongs to the grade (`1.0 <= ANC < 1.5` is grade 2);
for rising values ("> 3 – 5×ULN") the upper bound does (`3×ULN < ALT <= 5×ULN` is grade 2).
Grade 0 = within normal limits. Values are exact Fractions; None in → None out. Because the
thresholds are from memory, each grading function takes its cut-offs as a keyword argument
(defaults: the module constants below) so a study can apply the checked NCI values.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Final, Literal, get_args

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.exact import to_fraction
from jiareg.errors import DerivationError

__all__ = [
    "AE_CATEGORIES",
    "INFUSION_REACTION_WINDOW",
    "SERIOUS_CRITERIA",
    "alt_gt_3uln",
    "anc_grade",
    "cholesterol_grade",
    "exposure_days",
    "exposure_end",
    "is_infusion_reaction",
    "is_serious",
    "platelet_grade",
    "transaminase_grade",
    "triglyceride_grade",
]

AeCategory = Literal[
    "INFUSION_REACTION",
    "INFECTION",
    "OPPORTUNISTIC_INFECTION",
    "TB",
    "NEUTROPENIA",
    "THROMBOCYTOPENIA",
    "TRANSAMINASE_ELEVATION",
    "LIPID_ELEVATION",
    "MAS",
    "GI_PERFORATION",
    "OTHER",
]
AE_CATEGORIES: Final[tuple[AeCategory, ...]] = get_args(AeCategory)
"""Adverse-event categories of SPEC R-SAFETY-2."""

SERIOUS_CRITERIA: Final = frozenset(
    {
        "death",
        "life_threatening",
        "hospitalisation",
        "persistent_disability",
        "congenital_anomaly",
        "important_medical_event",
    }
)
"""ICH E2A seriousness criteria (unverified — from memory), SPEC R-SAFETY-1."""
_INFECTION_EXTRA: Final = "iv_antibiotics"

INFUSION_REACTION_WINDOW: Final = timedelta(hours=24)

# Lower cut-offs of grades 2, 3, 4 for falling values (grade g when value < cut[g-2]).
ANC_CUTS_10E9_L: Final = (Fraction("1.5"), Fraction("1.0"), Fraction("0.5"))
PLATELET_CUTS_10E9_L: Final = (Fraction(75), Fraction(50), Fraction(25))
# Upper limits of grades 1, 2, 3 for rising values (grade g+1 when value > cut[g-1]).
TRANSAMINASE_ULN_MULTIPLES: Final = (Fraction(3), Fraction(5), Fraction(20))
CHOLESTEROL_CUTS_MG_DL: Final = (Fraction(300), Fraction(400), Fraction(500))
TRIGLYCERIDE_CUTS_MG_DL: Final = (Fraction(300), Fraction(500), Fraction(1000))
TRIGLYCERIDE_G1_MIN_MG_DL: Final = Fraction(150)


def _falling_grade(value: object, lln: object, cuts: tuple[Fraction, ...]) -> int | None:
    v, low = to_fraction(value), to_fraction(lln)
    if v is None:
        return None
    if low is None:
        raise DerivationError("grading a low value needs the lab's lower limit of normal (LLN)")
    if v >= low:
        return 0
    return 1 + sum(1 for cut in cuts if v < cut)


def _rising_grade(
    value: Fraction | None,
    g1_from: Fraction,
    cuts: tuple[Fraction, ...],
    *,
    g1_inclusive: bool = False,
) -> int | None:
    """Grade for rising values: 0 up to `g1_from`, then one more past each cut (strict)."""
    if value is None:
        return None
    if value < g1_from or (value == g1_from and not g1_inclusive):
        return 0
    return 1 + sum(1 for cut in cuts if value > cut)


def _uln(uln: object) -> Fraction:
    limit = to_fraction(uln)
    if limit is None or limit <= 0:
        raise DerivationError(f"upper limit of normal must be a positive number, got {uln!r}")
    return limit


def anc_grade(
    anc_10e9_l: object, *, lln: object, cuts: tuple[Fraction, ...] = ANC_CUTS_10E9_L
) -> int | None:
    """CTCAE neutrophil count decreased: G1 < LLN–1.5, G2 < 1.5–1.0, G3 < 1.0–0.5, G4 < 0.5.

    Units ×10⁹/L. `1.0 <= ANC < 1.5` is grade 2; exactly 1.5 is grade 1 (if below LLN).
    Source: NCI CTCAE v5.0 (unverified — from memory). SPEC R-SAFETY-3.

    >>> anc_grade("1.5", lln="1.8"), anc_grade("1.0", lln="1.8"), anc_grade("0.49", lln="1.8")
    (1, 2, 4)
    """
    return _falling_grade(anc_10e9_l, lln, cuts)


def platelet_grade(
    platelets_10e9_l: object, *, lln: object, cuts: tuple[Fraction, ...] = PLATELET_CUTS_10E9_L
) -> int | None:
    """CTCAE platelet count decreased: G1 < LLN–75, G2 < 75–50, G3 < 50–25, G4 < 25 ×10⁹/L.

    Exactly 75 is grade 1, exactly 50 grade 2, exactly 25 grade 3.
    Source: NCI CTCAE v5.0 (unverified — from memory). SPEC R-SAFETY-3.

    >>> platelet_grade(75, lln=150), platelet_grade(74, lln=150), platelet_grade(150, lln=150)
    (1, 2, 0)
    """
    return _falling_grade(platelets_10e9_l, lln, cuts)


def transaminase_grade(
    value_u_l: object,
    *,
    uln: object,
    uln_multiples: tuple[Fraction, ...] = TRANSAMINASE_ULN_MULTIPLES,
) -> int | None:
    """CTCAE ALT/AST increased (normal baseline): G1 > ULN–3×ULN, G2 > 3–5×, G3 > 5–20×, G4 > 20×.

    Upper bounds belong to the grade: exactly 3×ULN is grade 1, exactly ULN grade 0.
    Source: NCI CTCAE v5.0 (unverified — from memory). SPEC R-SAFETY-3.

    >>> transaminase_grade(120, uln=40), transaminase_grade("120.1", uln=40)
    (1, 2)
    """
    limit = _uln(uln)
    return _rising_grade(to_fraction(value_u_l), limit, tuple(m * limit for m in uln_multiples))


def alt_gt_3uln(alt_u_l: object, *, uln: object) -> bool | None:
    """Flag ALT_GT_3ULN: ALT > 3 × ULN, strict (exactly 3×ULN is not flagged).

    Used in tocilizumab monitoring; equals `transaminase_grade(...) >= 2`.
    Source: SPEC R-SAFETY-3 (derived flag).

    >>> alt_gt_3uln(120, uln=40), alt_gt_3uln("120.001", uln=40)
    (False, True)
    """
    grade = transaminase_grade(alt_u_l, uln=uln)
    return None if grade is None else grade >= 2


def cholesterol_grade(
    cholesterol_mg_dl: object, *, uln: object, cuts: tuple[Fraction, ...] = CHOLESTEROL_CUTS_MG_DL
) -> int | None:
    """CTCAE cholesterol high: G1 > ULN–300, G2 > 300–400, G3 > 400–500, G4 > 500 mg/dL.

    Source: NCI CTCAE v5.0 (unverified — from memory). SPEC R-SAFETY-3.

    >>> cholesterol_grade(300, uln=200), cholesterol_grade(301, uln=200)
    (1, 2)
    """
    return _rising_grade(to_fraction(cholesterol_mg_dl), _uln(uln), cuts)


def triglyceride_grade(
    triglycerides_mg_dl: object,
    *,
    g1_min: Fraction = TRIGLYCERIDE_G1_MIN_MG_DL,
    cuts: tuple[Fraction, ...] = TRIGLYCERIDE_CUTS_MG_DL,
) -> int | None:
    """CTCAE hypertriglyceridemia: G1 150–300, G2 > 300–500, G3 > 500–1000, G4 > 1000 mg/dL.

    Exactly 150 is grade 1 (the range starts at 150), exactly 300 grade 1, exactly 1000 grade 3.
    Source: NCI CTCAE v5.0 (unverified — from memory). SPEC R-SAFETY-3.

    >>> triglyceride_grade(149), triglyceride_grade(150), triglyceride_grade(1000)
    (0, 1, 3)
    """
    return _rising_grade(
        to_fraction(triglycerides_mg_dl),
        g1_min,
        cuts,
        g1_inclusive=True,
    )


def is_infusion_reaction(onset: date, infusion: date) -> bool:
    """Whether an event is an infusion reaction by timing: during or ≤ 24 h after the infusion.

    With datetimes: `infusion <= onset <= infusion + 24 h` (`infusion` = end of the infusion
    when known). With dates only (the template's `onset_date` and administration `date`):
    onset on the infusion day or the next day (the event may lie within 24 h; jiareg choice).
    Source: SPEC R-SAFETY-2 (INFUSION_REACTION).

    >>> is_infusion_reaction(date(2024, 1, 2), date(2024, 1, 1))
    True
    >>> is_infusion_reaction(datetime(2024, 1, 2, 10), datetime(2024, 1, 1, 9))
    False
    """
    if isinstance(onset, datetime) and isinstance(infusion, datetime):
        return infusion <= onset <= infusion + INFUSION_REACTION_WINDOW
    onset_day = onset.date() if isinstance(onset, datetime) else onset
    infusion_day = infusion.date() if isinstance(infusion, datetime) else infusion
    return 0 <= (onset_day - infusion_day).days <= INFUSION_REACTION_WINDOW.days


def is_serious(criteria: Iterable[str], *, category: AeCategory | None = None) -> bool:
    """Serious adverse event: an ICH E2A criterion; infection with IV antibiotics; any MAS.

    `criteria` are names from `SERIOUS_CRITERIA` (death, life_threatening, hospitalisation,
    persistent_disability, congenital_anomaly, important_medical_event) plus `iv_antibiotics`,
    which makes an INFECTION serious. A MAS episode is always serious (SPEC R-SJIA-3).
    Source: ICH E2A (unverified — from memory). SPEC R-SAFETY-1, R-SAFETY-2.

    >>> is_serious(["iv_antibiotics"], category="INFECTION"), is_serious([], category="MAS")
    (True, True)
    >>> is_serious(["iv_antibiotics"], category="OTHER")
    False
    """
    given = {c.strip().lower() for c in criteria}
    unknown = given - SERIOUS_CRITERIA - {_INFECTION_EXTRA}
    if unknown:
        raise DerivationError(
            f"unknown seriousness criteria {sorted(unknown)}; expected "
            + ", ".join(sorted(SERIOUS_CRITERIA | {_INFECTION_EXTRA}))
        )
    if category is not None and category not in AE_CATEGORIES:
        raise DerivationError(f"unknown adverse-event category {category!r}")
    if category == "MAS" or given & SERIOUS_CRITERIA:
        return True
    return category == "INFECTION" and _INFECTION_EXTRA in given


def exposure_end(
    last_dose: date,
    *,
    data_cutoff: date,
    ongoing: bool = False,
    risk_window_days: int = DEFAULT_CONFIG.risk_window_days,
) -> date:
    """End of the at-risk time: last dose + `risk_window_days`, or the data cut-off if earlier.

    A course still going on at the cut-off (`ongoing=True`) is at risk until the cut-off.
    Default `config.risk_window_days = 28` (jiareg choice).
    Source: SPEC R-SAFETY-5.

    >>> exposure_end(date(2024, 1, 1), data_cutoff=date(2024, 6, 30))
    datetime.date(2024, 1, 29)
    """
    if last_dose > data_cutoff:
        raise DerivationError(f"last dose {last_dose} is after the data cut-off {data_cutoff}")
    if ongoing:
        return data_cutoff
    return min(last_dose + timedelta(days=risk_window_days), data_cutoff)


def exposure_days(
    first_dose: date,
    last_dose: date,
    *,
    data_cutoff: date,
    ongoing: bool = False,
    risk_window_days: int = DEFAULT_CONFIG.risk_window_days,
) -> int:
    """Person-time at risk in days, from the first dose to `exposure_end` (for rates per 100 PY).

    Source: SPEC R-SAFETY-5.

    >>> exposure_days(date(2024, 1, 1), date(2024, 3, 1), data_cutoff=date(2024, 12, 31))
    88
    """
    if last_dose < first_dose:
        raise DerivationError(f"last dose {last_dose} is before the first dose {first_dose}")
    end = exposure_end(
        last_dose, data_cutoff=data_cutoff, ongoing=ongoing, risk_window_days=risk_window_days
    )
    return (end - first_dose).days
