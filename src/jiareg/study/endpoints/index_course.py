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

import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Mapping

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


def index_courses(frames: Mapping[str, pd.DataFrame], default_drug: str) -> dict[str, IndexCourse]:
    """Each cohort patient's `IndexCourse` (see the module docstring for the rules).

    `frames` are the collected study frames (`patients` with index_date, `administrations` of
    the exposure drug numbered from 1, `courses` = the cohort's treatments); `default_drug` is
    the protocol's exposure drug, used when a patient's first administration is not listed.
    """
    patients, given, courses = frames["patients"], frames["administrations"], frames["courses"]
    first = given.loc[given["administration_number"] == 1, ["patient_id", "drug"]]
    cohort = patients[["patient_id", "index_date"]].merge(first, on="patient_id", how="left")
    cohort["drug"] = cohort["drug"].fillna(default_drug)
    mine = courses[courses["start_date"].notna()].merge(cohort, on=["patient_id", "drug"])
    started = mine["start_date"] <= mine["index_date"]
    # the last course started on or before the index date, else the earliest one
    last_started = mine[started].sort_values("start_date").groupby("patient_id").tail(1)
    later = mine[~started & ~mine["patient_id"].isin(last_started["patient_id"])]
    earliest = later.sort_values("start_date").groupby("patient_id").head(1)
    chosen = pd.concat([last_started, earliest])
    found = {
        pid: (stop, reason, index_date)
        for pid, stop, reason, index_date in zip(
            chosen["patient_id"],
            chosen["stop_date"],
            chosen["stop_reason"],
            chosen["index_date"],
            strict=True,
        )
    }
    out = {}
    for pid, drug in zip(cohort["patient_id"], cohort["drug"], strict=True):
        if pid not in found:
            out[pid] = IndexCourse(drug, recorded=False, stop_day=None, stop_reason=None)
            continue
        stop, reason, index_date = found[pid]
        if not isinstance(stop, date):
            out[pid] = IndexCourse(drug, recorded=True, stop_day=None, stop_reason=None)
            continue
        text = reason if isinstance(reason, str) and reason else NOT_RECORDED
        out[pid] = IndexCourse(drug, True, (stop - index_date).days, text)
    return out
