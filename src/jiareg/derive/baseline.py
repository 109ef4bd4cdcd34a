"""The ACR Pedi baseline visit of a biologic course, for one patient's visits (SPEC R-ACRPEDI-3).

The study pipeline applies the same window to whole cohorts (`jiareg.study.cohort`); this is
the rule for the visits of one record (the web's live scores).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from jiareg.derive.config import DEFAULT_CONFIG

__all__ = ["baseline_visit"]

V = TypeVar("V", bound=Mapping[str, Any])


def baseline_visit(
    visits: Sequence[V],
    first_dose: date,
    *,
    window_days: int = DEFAULT_CONFIG.baseline_window_days,
) -> V | None:
    """The last visit on or before the course's first dose, at most `window_days`
    (`config.baseline_window_days`) before it; None if there is none. Each visit is a mapping
    with a `visit_date`. Source: SPEC R-ACRPEDI-3.

    >>> v = [{"visit_date": date(2020, 1, 1)}, {"visit_date": date(2020, 1, 20)}]
    >>> baseline_visit(v, date(2020, 1, 25))["visit_date"], baseline_visit(v, date(2020, 3, 1))
    (datetime.date(2020, 1, 20), None)
    """
    earliest = first_dose - timedelta(days=window_days)
    eligible = [v for v in visits if earliest <= v["visit_date"] <= first_dose]
    return max(eligible, key=lambda v: v["visit_date"]) if eligible else None
