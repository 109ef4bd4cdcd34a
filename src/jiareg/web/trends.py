"""Dashboard trends by calendar quarter: activity states of visits and biologic use.

States are the cJADAS10 states of `jiareg.web.scores.visit_scores` (derive/ rules); biologic
classes are those of `jiareg.vocab.DRUGS`. For de-identified viewers every count of 1 to 4 is
shown as "<5" (docs/reference/deidentification.md, "Small cells").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from jiareg.vocab import DRUG_BY_NAME
from jiareg.web.scores import visit_scores

__all__ = ["biologic_quarters", "quarter", "shown", "state_quarters"]

Quarter = tuple[int, int]


def quarter(day: date) -> Quarter:
    """(year, quarter 1-4) of a date.

    >>> quarter(date(2019, 7, 1)), quarter(date(2019, 12, 31))
    ((2019, 3), (2019, 4))
    """
    return day.year, (day.month - 1) // 3 + 1


def _quarters(first: Quarter, last: Quarter) -> list[Quarter]:
    """Every quarter from `first` to `last`, both included."""
    out, (year, q) = [], first
    while (year, q) <= last:
        out.append((year, q))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return out


def shown(n: int, suppress: bool) -> int | str:
    """A count as shown: 1 to 4 becomes "<5" when `suppress` (0 stays 0).

    >>> shown(3, True), shown(3, False), shown(0, True), shown(5, True)
    ('<5', 3, 0, 5)
    """
    # jiareg.study (pandas, SciPy, lifelines: seconds) only when used, not at server start
    from jiareg.study.deidentify import SMALL_CELL, SUPPRESSED

    return SUPPRESSED if suppress and 0 < n < SMALL_CELL else n


def state_quarters(
    visits: Iterable[Mapping[str, Any]], categories: Mapping[str, str | None]
) -> dict[Quarter, Counter[str | None]]:
    """Visits per cJADAS10 state (None = not scored) in each quarter from the first visit's
    to the last one's."""
    out: dict[Quarter, Counter[str | None]] = {}
    for v in visits:
        state = visit_scores(v, categories.get(v["patient_id"]))["cjadas10_state"]
        out.setdefault(quarter(v["visit_date"]), Counter())[state] += 1
    if not out:
        return {}
    return {q: out.get(q, Counter()) for q in _quarters(min(out), max(out))}


def biologic_quarters(
    treatments: Iterable[Mapping[str, Any]], until: date
) -> dict[Quarter, Counter[str]]:
    """Patients on a course of each biologic class in each quarter, from the first course's
    start to `until` (the registry's last recorded date); an open course runs to `until`."""
    seen: dict[Quarter, dict[str, set[str]]] = {}
    courses = [t for t in treatments if t["drug"] in DRUG_BY_NAME and t["start_date"] <= until]
    for t in courses:
        drug = DRUG_BY_NAME[t["drug"]]
        if not drug.biologic:
            continue
        stop = min(t["stop_date"] or until, until)
        for q in _quarters(quarter(t["start_date"]), quarter(stop)):
            seen.setdefault(q, {}).setdefault(drug.drug_class, set()).add(t["patient_id"])
    if not seen:
        return {}
    return {
        q: Counter({k: len(ids) for k, ids in seen.get(q, {}).items()})
        for q in _quarters(min(seen), max(seen))
    }
