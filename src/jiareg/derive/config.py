"""Every `config.*` option of SPEC.md, with the SPEC's default, in one frozen model.

Rules take the options they need as keyword arguments defaulting to `DEFAULT_CONFIG`'s values;
a study protocol or a CLI flag builds its own `ClinicalConfig` (pydantic validates the choices,
and a misspelt option is an error, never ignored).

>>> ClinicalConfig().acr_missing_mode, ClinicalConfig(fever_threshold_c="38").fever_threshold_c
('determinate', Fraction(38, 1))
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_STEROID_FACTORS",
    "ChaqScoring",
    "ClinicalConfig",
    "CutoffSet",
    "MissingMode",
    "ZeroBaselineWorsening",
]

ZeroBaselineWorsening = Literal["any_increase", "never"]
"""config.zero_baseline_worsening (SPEC R-ACRPEDI)."""
MissingMode = Literal["determinate", "complete_case"]
"""config.acr_missing_mode (SPEC R-ACRPEDI)."""
CutoffSet = Literal["consolaro", "trincianti2021", "backstrom2019"]
"""config.jadas_cutoff_set (SPEC R-JADAS-2)."""
ChaqScoring = Literal["original", "without_aids_help"]
"""config.chaq_scoring (SPEC R-CHAQ)."""

DEFAULT_STEROID_FACTORS: dict[str, Fraction] = {
    # SPEC R-STEROID-1: factor to prednisone mg (first value of each row of the table).
    "prednisone": Fraction(1),
    "prednisolone": Fraction(1),
    "methylprednisolone": Fraction(5, 4),
    "triamcinolone": Fraction(5, 4),
    "hydrocortisone": Fraction(1, 4),
    "dexamethasone": Fraction(20, 3),
    "betamethasone": Fraction(20, 3),  # sources disagree; alternative 25/3 (0.6 mg ≈ 5 mg)
    "deflazacort": Fraction(5, 6),  # unverified — from memory; alternative 2/3
}


class ClinicalConfig(BaseModel):
    """The clinical options of SPEC.md; field names are the SPEC's `config.<name>`."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    # R-CORESET-2
    allow_likert_rescale: bool = False
    # R-ACRPEDI
    zero_baseline_worsening: ZeroBaselineWorsening = "any_increase"
    acr_missing_mode: MissingMode = "determinate"
    baseline_window_days: int = Field(30, ge=0)
    fever_threshold_c: Fraction = Fraction("37.5")  # unverified — from memory (SPEC §12.1)
    # days before the visit: the window is D-7 through D inclusive (SPEC 12b.1), see
    # systemic.fever_from_temperatures
    fever_window_days: int = Field(7, ge=1)  # unverified — from memory (SPEC §12.1)
    # R-JADAS-2
    jadas_cutoff_set: CutoffSet = "consolaro"
    # R-JADAS-1 CRP points (c - floor) / 10 clipped to floor..ceiling mg/L (unverified, §12.2)
    jadas_crp_floor_mg_l: Fraction = Fraction(10)
    jadas_crp_ceiling_mg_l: Fraction = Fraction(110)
    # R-CID
    cid_criteria: Literal["wallace2004", "acr2011"] = "acr2011"
    cid_esr_normal_max_mm_h: Fraction = Fraction(20)  # jiareg choice: SPEC silent on limits
    cid_crp_normal_max_mg_l: Fraction = Fraction(10)  # jiareg choice: SPEC silent on limits
    max_visit_gap_days: int = Field(120, ge=1)
    remission_on_days: int = Field(182, ge=1)
    remission_off_days: int = Field(365, ge=1)
    # R-CHAQ
    chaq_scoring: ChaqScoring = "original"
    chaq_min_domains: int = Field(6, ge=1, le=8)  # unverified for the CHAQ (SPEC §12.5)
    # R-DOSE
    dose_tolerance_pct: Fraction = Fraction(10)
    tcz_iv_max_mg: Fraction = Fraction(800)
    tcz_max_policy: Literal["flag", "cap"] = "flag"
    # R-DOSE regimens marked unverified — from memory (SPEC §12.6, §12.7)
    tcz_sc_pjia_interval_days: tuple[int, int] = (21, 14)  # (< 30 kg, ≥ 30 kg)
    etanercept_mg_per_kg: Fraction = Fraction("0.8")
    etanercept_max_mg: Fraction = Fraction(50)
    # adalimumab is labelled for pJIA from this age (SPEC R-DOSE-TNF "pJIA, ≥ 2 y")
    adalimumab_min_age_years: Fraction = Fraction(2)
    # adalimumab fixed doses every other week: (from weight kg, mg), lowest band first
    adalimumab_bands: tuple[tuple[Fraction, Fraction], ...] = (
        (Fraction(10), Fraction(10)),
        (Fraction(15), Fraction(20)),
        (Fraction(30), Fraction(40)),
    )
    # R-STEROID
    steroid_basis: Literal["mg_kg_day", "mg_day"] = "mg_kg_day"
    steroid_factors: dict[str, Fraction] = Field(
        default_factory=lambda: dict(DEFAULT_STEROID_FACTORS)
    )
    # R-TNF-FAIL
    primary_failure_min_weeks: int = Field(12, ge=1)
    refractory_includes_intolerance: bool = False
    # R-SAFETY
    risk_window_days: int = Field(28, ge=0)
    # --- issue #15 (SPEC §12b), derive/tnf_failure_derived.py -------------------------------
    # R-TNF-FAIL derived from visits: assessment at primary_failure_min_weeks ± this many days
    primary_failure_window_days: int = Field(28, ge=0)  # jiareg choice
    # which source decides an anti-TNF failure: the recorded stop reason, the visits, or either
    tnf_failure_source: Literal["recorded", "derived", "either"] = "recorded"

    @field_validator(
        "fever_threshold_c",
        "dose_tolerance_pct",
        "tcz_iv_max_mg",
        "jadas_crp_floor_mg_l",
        "jadas_crp_ceiling_mg_l",
        "cid_esr_normal_max_mm_h",
        "cid_crp_normal_max_mg_l",
        "etanercept_mg_per_kg",
        "etanercept_max_mg",
        "adalimumab_min_age_years",
        mode="before",
    )
    @classmethod
    def _exact(cls, value: object) -> Fraction:
        return Fraction(str(value)) if not isinstance(value, Fraction) else value

    @field_validator("adalimumab_bands", mode="before")
    @classmethod
    def _exact_bands(cls, value: object) -> tuple[tuple[Fraction, Fraction], ...]:
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("adalimumab_bands must list (from weight kg, mg) pairs")
        bands = tuple((Fraction(str(kg)), Fraction(str(mg))) for kg, mg in value)
        if [kg for kg, _ in bands] != sorted({kg for kg, _ in bands}):
            raise ValueError("adalimumab_bands must start at increasing weights")
        return bands

    @field_validator("steroid_factors", mode="before")
    @classmethod
    def _exact_factors(cls, value: object) -> dict[str, Fraction]:
        if not isinstance(value, dict):
            raise ValueError("steroid_factors must map a drug name to a factor")
        merged = dict(DEFAULT_STEROID_FACTORS)
        merged.update({str(k): Fraction(str(v)) for k, v in value.items()})
        return merged


DEFAULT_CONFIG = ClinicalConfig()
