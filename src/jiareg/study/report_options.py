"""The protocol's `report:` section: how the report draws a study (not what it computes).

`per_patient_max` is the largest cohort the report draws patient by patient (the core set's
per-patient lines, the swimmer plot); a larger cohort gets distributions instead (the median
with its interquartile band, the time-to-response curve), so report.html stays small at any
size (issue #14 item 5; docs/reference/protocol.md, "Report").
"""

from __future__ import annotations

from typing import Final

from pydantic import Field

from jiareg.study.endpoints.base import SpecModel

__all__ = ["PER_PATIENT_MAX", "ReportOptions"]

PER_PATIENT_MAX: Final = 40
"""The default `per_patient_max`: 40 patients' lines still read as lines on the 7.2-inch
figure, and a swimmer plot of 40 rows fits a page."""


class ReportOptions(SpecModel):
    """How the report draws the study."""

    per_patient_max: int = Field(PER_PATIENT_MAX, ge=0, le=1000)
    """Largest cohort drawn patient by patient (per-patient core-set lines, swimmer plot);
    above it the report shows distributions (median and interquartile band, time-to-response
    curve). 0 always shows distributions; at most 1,000 (a swimmer plot of 1,000 rows is
    already 350 inches tall)."""
