"""Event counts and exposure-adjusted incidence per 100 patient-years with an exact CI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from scipy.stats import chi2

GARWOOD: Final = "exact Poisson (Garwood, chi-square based)"
GARWOOD_REFERENCE: Final = (
    "Garwood F. Fiducial limits for the Poisson distribution. Biometrika 1936;28(3/4):437-442"
)


@dataclass(frozen=True, slots=True)
class RateResult:
    """Events over patient-years, as a rate per 100 patient-years with its exact CI."""

    events: int
    patient_years: float
    rate_per_100py: float
    ci: tuple[float, float]
    confidence: float
    method: str = GARWOOD
    reference: str = GARWOOD_REFERENCE


def incidence_per_100py(events: int, patient_years: float, confidence: float = 0.95) -> RateResult:
    """Incidence per 100 patient-years with Garwood's exact Poisson CI.

    Limits on the event count: lower = χ²(α/2; 2k)/2 (0 when k = 0), upper = χ²(1-α/2; 2k+2)/2,
    each scaled by 100 / patient_years. Zero events give rate 0 and a finite upper limit
    (3.689 events for 95 %). Source: Garwood, Biometrika 1936; SPEC R-SAFETY-5.

    >>> r = incidence_per_100py(0, 3.5)
    >>> r.rate_per_100py, round(r.ci[1] * 3.5 / 100, 3)
    (0.0, 3.689)
    """
    if events < 0:
        raise ValueError(f"incidence_per_100py: expected events >= 0, got {events}")
    if not patient_years > 0:
        raise ValueError(f"incidence_per_100py: expected patient_years > 0, got {patient_years}")
    alpha = 1 - confidence
    lower = 0.0 if events == 0 else float(chi2.ppf(alpha / 2, 2 * events)) / 2
    upper = float(chi2.ppf(1 - alpha / 2, 2 * events + 2)) / 2
    scale = 100 / patient_years
    return RateResult(
        events=events,
        patient_years=patient_years,
        rate_per_100py=events * scale,
        ci=(lower * scale, upper * scale),
        confidence=confidence,
    )
