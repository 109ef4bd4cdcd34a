"""The index biologic course of each cohort patient: which drug, when (if ever) it stopped and
why, and the patient's study arm.

Shared by the drug-survival endpoint (`drug_survival`) and the missing-data rules of the
response endpoints (`missing`: a patient who stopped the index drug before a timepoint is a
non-responder there). Definitions (docs/reference/protocol.md, "Drug survival"):

- the **index drug** is the drug of the patient's first exposure administration (day 0);
- the **index course** is the `treatments` course of that drug that started last on or before
  the index date; when every course of it starts later (a start date recorded after the first
  administration), the earliest one. A patient without any course of the drug has no recorded
  stop (the drug is taken as ongoing);
- the **stop day** is `stop_date − index_date` in days; the reason is `stop_reason`
  (`jiareg.vocab.STOP_REASONS`), `not_recorded` when a stop date has no reason;
- the **arm** is the cohort's `arm` column when the protocol defines arms, else `"all"`
  (the contract between the arms and drug-survival work of issue #14).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

__all__ = [
    "ALL",
    "NOT_RECORDED",
    "IndexCourse",
    "arms_of",
    "index_courses",
]

ALL: Final = "all"
"""The one arm of a protocol without arms."""
NOT_RECORDED: Final = "not_recorded"
"""The stop reason of a course with a stop date and no reason."""


@dataclass(frozen=True, slots=True)
class IndexCourse:
    """One patient's index course: drug, stop day (None while ongoing) and stop reason."""

    drug: str
    recorded: bool
    stop_day: int | None
    stop_reason: str | None


def arms_of(patients: pd.DataFrame) -> dict[str, str]:
    """Patient id → arm: the `arm` column when present, else `ALL` for everyone."""
    ids = [str(p) for p in patients["patient_id"]]
    if "arm" not in patients.columns:
        return dict.fromkeys(ids, ALL)
    return {pid: str(arm) for pid, arm in zip(ids, patients["arm"], strict=True)}


def _is_date(value: object) -> bool:
    return isinstance(value, date)


def index_courses(frames: Mapping[str, pd.DataFrame], default_drug: str) -> dict[str, IndexCourse]:
    """Each cohort patient's `IndexCourse` (see the module docstring for the rules).

    `frames` are the collected study frames (`patients` with index_date, `administrations` of
    the exposure drug numbered from 1, `courses` = the cohort's treatments); `default_drug` is
    the protocol's exposure drug, used when a patient's first administration is not listed.
    """
    patients, given, courses = frames["patients"], frames["administrations"], frames["courses"]
    first = given[given["administration_number"] == 1]
    drug_of = dict(zip(first["patient_id"], first["drug"], strict=True))
    by_patient: dict[str, list[tuple[date, object, object]]] = {}
    for pid, drug, start, stop, reason in zip(
        courses["patient_id"],
        courses["drug"],
        courses["start_date"],
        courses["stop_date"],
        courses["stop_reason"],
        strict=True,
    ):
        if _is_date(start) and drug == drug_of.get(pid, default_drug):
            by_patient.setdefault(pid, []).append((start, stop, reason))
    out = {}
    for pid, index_date in zip(patients["patient_id"], patients["index_date"], strict=True):
        drug = drug_of.get(pid, default_drug)
        candidates = sorted(by_patient.get(pid, []), key=lambda c: c[0])
        if not candidates:
            out[pid] = IndexCourse(drug, recorded=False, stop_day=None, stop_reason=None)
            continue
        started = [c for c in candidates if c[0] <= index_date]
        _, stop, reason = started[-1] if started else candidates[0]
        if not _is_date(stop):
            out[pid] = IndexCourse(drug, recorded=True, stop_day=None, stop_reason=None)
            continue
        text = reason if isinstance(reason, str) and reason else NOT_RECORDED
        stop_day = (stop - index_date).days
        out[pid] = IndexCourse(drug, recorded=True, stop_day=stop_day, stop_reason=text)
    return out
