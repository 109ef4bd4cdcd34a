"""The assumptions behind synthetic registries: category mix, growth, drugs, rates.

These are plausible round numbers for a paediatric rheumatology network (category shares as
reported by large JIA cohorts: oligoarthritis ~45 %, RF-negative polyarthritis ~20 %,
systemic ~10 %), chosen so a registry exercises every path of a study, not to be an
epidemiological model. Every number a generator draws from lives here.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import numpy.typing as npt

from jiareg.vocab import ANTI_TNF as ANTI_TNF_CLASS
from jiareg.vocab import IlarCategory, Scale

EPOCH: Final = dt.date(1970, 1, 1)
DATA_CUT: Final = dt.date(2026, 6, 30)
"""No synthetic date falls after the data cut."""
EARLIEST_ONSET: Final = dt.date(2004, 1, 1)

CATEGORY_MIX: Final[dict[IlarCategory, float]] = {
    "oligo_persistent": 0.31,
    "oligo_extended": 0.13,
    "poly_rf_neg": 0.20,
    "poly_rf_pos": 0.04,
    "systemic": 0.10,
    "psoriatic": 0.07,
    "era": 0.10,
    "undifferentiated": 0.05,
}
CATEGORIES: Final = tuple(CATEGORY_MIX)
SYSTEMIC: Final = CATEGORIES.index("systemic")
OLIGO: Final = (CATEGORIES.index("oligo_persistent"), CATEGORIES.index("oligo_extended"))

# Per category, in CATEGORIES order.
FEMALE_SHARE: Final = np.array([0.75, 0.75, 0.70, 0.85, 0.50, 0.65, 0.30, 0.60])
ONSET_AGE_MEAN_Y: Final = np.array([3.5, 4.0, 6.0, 12.0, 5.5, 7.0, 11.5, 7.0])
ONSET_AGE_SD_Y: Final = np.array([2.0, 2.5, 3.5, 2.5, 3.5, 4.0, 2.5, 4.0])
MAX_ACTIVE_JOINTS: Final = np.array([4, 8, 20, 24, 12, 8, 6, 8])
ACTIVITY_SCALE: Final = np.array([0.55, 0.8, 1.0, 1.0, 1.0, 0.8, 0.75, 0.7])
BIOLOGIC_SHARE: Final = np.array([0.05, 0.40, 0.55, 0.65, 0.70, 0.35, 0.45, 0.25])
STEROID_SHARE_ON_BIOLOGIC: Final = np.array([0.05, 0.15, 0.25, 0.30, 0.75, 0.10, 0.10, 0.10])

SITES: Final = tuple(f"site_{i:02d}" for i in range(1, 13))
SITE_WEIGHTS: Final = np.array([18, 14, 12, 10, 9, 8, 7, 6, 5, 5, 3, 3], dtype=float)
SITE_SCALES: Final[tuple[Scale, ...]] = (
    *("0-10", "0-10", "0-3", "0-10", "0-10", "0-100"),
    *("0-10", "0-3", "0-10", "0-10", "0-100", "0-10"),
)
"""Each site rates the globals on one scale: most 0-10, two on 0-100 mm, two (18 % of the
patients) on the 0-3 scale the founding poster used."""

# Biologic courses. First biologic for non-systemic and systemic patients.
FIRST_DRUG: Final[dict[str, float]] = {
    "etanercept": 0.50,
    "adalimumab": 0.36,
    "infliximab": 0.08,
    "abatacept": 0.06,
}
FIRST_DRUG_SYSTEMIC: Final[dict[str, float]] = {
    "anakinra": 0.30,
    "tocilizumab": 0.30,
    "etanercept": 0.25,
    "adalimumab": 0.10,
    "infliximab": 0.05,
}
ANTI_TNF: Final = tuple(d for d in FIRST_DRUG if d in ANTI_TNF_CLASS)
"""The anti-TNF agents synthetic patients get (etanercept, adalimumab, infliximab)."""
ROUTE: Final[dict[str, str]] = {  # every biologic the generator prescribes, and its route
    "etanercept": "sc",
    "adalimumab": "sc",
    "infliximab": "iv",
    "abatacept": "iv",
    "anakinra": "sc",
    "canakinumab": "sc",
    "tocilizumab": "iv",
}
# After a failed anti-TNF course: switch to tocilizumab, another anti-TNF or another class.
SWITCH_TO_TOCILIZUMAB: Final = np.array([0.40, 0.40, 0.45, 0.45, 0.75, 0.30, 0.25, 0.35])
OTHER_CLASS_SYSTEMIC: Final = ("anakinra", "canakinumab")
OTHER_CLASS: Final = ("abatacept",)
MAX_COURSES: Final = 3

# Probability of each outcome of a course, in `jiareg.vocab.STOP_REASONS` order; the last
# column is "still on the drug".
COURSE_OUTCOME: Final = np.array([0.17, 0.21, 0.06, 0.04, 0.07, 0.05, 0.40])
TOCILIZUMAB_OUTCOME: Final = np.array([0.07, 0.09, 0.05, 0.04, 0.08, 0.04, 0.63])
# Visits from course start to stop, by outcome (low, high inclusive).
COURSE_VISITS: Final = ((2, 5), (3, 8), (1, 3), (1, 3), (4, 10), (2, 8))
# Residual disease activity reached on a drug, by outcome (low, high).
RESPONSE: Final = ((0.85, 1.15), (0.25, 0.55), (0.6, 1.0), (0.6, 1.0), (0.0, 0.2), (0.3, 0.7))
RESPONSE_ONGOING: Final = (0.05, 0.5)

TOCILIZUMAB_VISIT_GAP_DAYS: Final = 28
"""After the first tocilizumab infusion the next three visits come every 4 weeks."""

STEROID_DRUGS: Final[dict[str, float]] = {
    "prednisone": 0.65,
    "prednisolone": 0.30,
    "methylprednisolone": 0.05,
}
STEROID_TAPER_STEP_DAYS: Final = 28
STEROID_TAPER_SHARE: Final = 0.7

AE_RATE_PER_YEAR: Final = 0.35
AE_TERMS: Final[dict[str, float]] = {
    "infection": 0.45,
    "neutropenia": 0.12,
    "transaminase_elevation": 0.10,
    "infusion_reaction": 0.08,
    "injection_site_reaction": 0.10,
    "lipid_elevation": 0.06,
    "macrophage_activation_syndrome": 0.02,
    "other": 0.07,
}
AE_GRADES: Final = np.array([0.50, 0.35, 0.12, 0.025, 0.005])
AE_OUTCOMES: Final = ("recovered", "recovering", "not_recovered")
AE_OUTCOME_SHARE: Final = np.array([0.82, 0.10, 0.08])

# Share of missing values per visit column.
MISSING: Final[dict[str, float]] = {
    "weight_kg": 0.05,
    "height_cm": 0.15,
    "phys_global": 0.04,
    "parent_global": 0.08,
    "chaq": 0.12,
    "active_joints": 0.02,
    "lom_joints": 0.05,
    "esr": 0.10,
    "crp": 0.15,
    "systemic_flags": 0.10,
    "uveitis_active": 0.20,
    "morning_stiffness_min": 0.25,
}

# Growth: WHO-like median height (cm) and weight (kg) by age (years), both sexes.
_AGE_KNOTS: Final = np.array([0, 1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 30], dtype=float)
_HEIGHT_KNOTS: Final = np.array([50, 75, 87, 102, 115, 127, 138, 150, 161, 168, 171, 172.0])
_WEIGHT_KNOTS: Final = np.array([3.5, 10, 12.5, 16.5, 21, 26, 32, 40, 50, 58, 63, 66.0])


def height_tenths_cm(
    age_days: npt.NDArray[np.int64], z: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Height in tenths of a cm at an age, for children `z` standard deviations (4 %) off."""
    median = np.interp(age_days / 365.25, _AGE_KNOTS, _HEIGHT_KNOTS)
    tenths: npt.NDArray[np.int64] = np.rint(median * (1 + 0.04 * z) * 10).astype(np.int64)
    return tenths


def weight_tenths_kg(
    age_days: npt.NDArray[np.int64], z: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Weight in tenths of a kg at an age, for children `z` standard deviations (12 %) off."""
    median = np.interp(age_days / 365.25, _AGE_KNOTS, _WEIGHT_KNOTS)
    tenths: npt.NDArray[np.int64] = np.rint(median * (1 + 0.12 * z) * 10).astype(np.int64)
    return np.maximum(tenths, 25)


# Planted effect (`jiareg synth --planted-effect`, `jiareg.synth.planted`): after a first
# anti-TNF failure, tocilizumab or abatacept by a propensity on measured confounders, and a
# response and a drug survival that depend on the drug. Centre and scale of each covariate:
# (value - centre) / scale, so a coefficient is per "typical difference".
COMPARISON_CATEGORIES: Final[tuple[IlarCategory, ...]] = (
    "systemic",
    "poly_rf_neg",
    "poly_rf_pos",
    "oligo_extended",
)
"""The patients whose first anti-TNF failure is followed by tocilizumab or abatacept."""
PLANTED_MIN_VISITS: Final = 3
"""A failure is followed by a compared drug only with this many visits left (the monthly ones
after its start): the patient's number of visits is drawn at the start, so this selects on
nothing the drug changes."""
PLANTED_QUARTER_DAYS: Final = 91  # visits at months 6, 9 and 12 on a compared drug
PLANTED_ACTIVE_JOINTS: Final = (8.0, 5.0)  # baseline active joint count: centre, scale
PLANTED_AGE_Y: Final = (10.0, 4.0)  # age at the index date, completed years
PLANTED_ACTIVITY: Final = (0.5, 0.2)  # the latent baseline disease activity
# logit P(tocilizumab) = intercept + systemic + active joints + age (measured covariates only)
PROPENSITY_TOCILIZUMAB: Final = {
    "intercept": -0.5,
    "systemic": 2.5,
    "active_joints": 1.0,
    "age": -0.3,
}
# logit P(latent responder) = intercept + log(OR)·tocilizumab + systemic + activity + age
RESPONSE_LOGIT: Final = {"intercept": 0.6, "systemic": -1.5, "activity": -1.0, "age": 0.0}
RESPONDER_RESIDUAL: Final = (0.05, 0.45)  # residual activity reached by a latent responder
NONRESPONDER_RESIDUAL: Final = (0.85, 1.15)  # and by a latent non-responder
PLANTED_TAU_DAYS: Final = 45.0  # time constant of the fall in activity, on either drug
# Time to stopping the drug: Weibull(shape, scale in days) baseline hazard and log-hazard terms.
STOP_WEIBULL: Final = (0.9, 1100.0)
STOP_LOG_HAZARD: Final = {"nonresponder": 1.1, "systemic": 0.3, "activity": 0.3}
# Why a course stops, for latent non-responders and responders (STOP_REASONS order).
STOP_REASON_NONRESPONDER: Final = np.array([0.70, 0.0, 0.10, 0.10, 0.0, 0.10])
STOP_REASON_RESPONDER: Final = np.array([0.0, 0.40, 0.10, 0.20, 0.15, 0.15])
