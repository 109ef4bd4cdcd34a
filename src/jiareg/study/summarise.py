"""Turn the collected per-patient frames into the results' numbers and the report's tables.

Runs in Python on small tables (one row per patient, timepoint or follow-up visit); every
statistic comes from `jiareg.stats` (exact medians and quartiles, Clopper–Pearson, Wilcoxon,
Kaplan–Meier, Garwood rates). Each endpoint is summarised by its kind
(`jiareg.study.endpoints`). Nothing here touches a database.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from jiareg.derive.tnf_failure import AntiTnfCourse, is_anti_tnf, patients_per_agent
from jiareg.study.denominators import denominators_of
from jiareg.study.endpoints import EndpointDetails, SummaryContext, kind_of
from jiareg.study.endpoints.common import DAYS_PER_YEAR, at_timepoint, flag, range_iqr_of
from jiareg.study.protocol import Protocol
from jiareg.study.result import TABLE_COLUMNS
from jiareg.study.results_json import AttritionStep
from jiareg.vocab import CORE_SET_VARIABLES

__all__ = ["Summary", "summarise"]

DAYS_PER_MONTH = DAYS_PER_YEAR / 12


@dataclass(frozen=True, slots=True)
class Summary:
    """What `summarise` computed: the `Results` fields, the endpoints' headlines by id and
    the `StudyResult.tables` (`run.py` adds the provenance and builds `Results`)."""

    fields: dict[str, object]
    headlines: dict[str, object]
    tables: dict[str, pd.DataFrame]


def _years(start: date | None, end: date) -> float | None:
    """Whole days from `start` to `end` in years of 365.25 days, to 2 decimals; None if unknown."""
    if not isinstance(start, date):
        return None
    return round((end - start).days / DAYS_PER_YEAR, 2)


def summarise(
    protocol: Protocol, frames: dict[str, pd.DataFrame], attrition: pd.DataFrame
) -> Summary:
    """The results' fields (without provenance), headlines and tables of one study."""
    patients = frames["patients"].copy()
    patients["age_years"] = [
        _years(b, i) for b, i in zip(patients["birth_date"], patients["index_date"], strict=True)
    ]
    patients["disease_duration_years"] = [
        _years(o, i) for o, i in zip(patients["onset_date"], patients["index_date"], strict=True)
    ]
    patients["exposure_months"] = [
        round((last - first).days / DAYS_PER_MONTH, 2)
        for first, last in zip(patients["index_date"], patients["last_date"], strict=True)
    ]
    patients = patients.rename(columns={"last_date": "last_administration_date"})
    fields: dict[str, object] = {
        "title": protocol.title,
        "n": len(patients),
        "categories": dict(sorted(Counter(patients["ilar_category"]).items())),
        "sex": dict(sorted(Counter(patients["sex"]).items())),
        "age_years": range_iqr_of(patients["age_years"]),
        "disease_duration_years": range_iqr_of(patients["disease_duration_years"]),
        "exposure_months": range_iqr_of(patients["exposure_months"]),
        "prior_anti_tnf": _prior_anti_tnf(frames["courses"], patients),
        "globals_scale": protocol.globals_scale,
        "index_drug": protocol.index_drug,
        "config": protocol.config,
        "attrition": [
            AttritionStep(**{k: v for k, v in row.items() if not (k == "arm" and v is None)})
            for row in attrition.to_dict(orient="records")
        ],
        "timepoints": {
            t.name: int(at_timepoint(frames["visits"], t.name)["patient_id"].nunique())
            for t in protocol.timepoints
        },
    }
    tables: dict[str, pd.DataFrame] = {
        "patients": patients,
        "patient_timepoints": _long_core_set(frames["visits"]),
        "responses": frames["responses"],
        "courses": frames["courses"],
        "administrations": frames["administrations"],
        "steroids": _steroid_table(frames["steroid_doses"]),
        "adverse_events": frames["adverse_events"],
        "attrition": attrition,
        "time_to_response": pd.DataFrame(columns=list(TABLE_COLUMNS["time_to_response"])),
    }
    context = SummaryContext(protocol=protocol, frames=frames, tables=tables)
    headlines: dict[str, object] = {}
    details: dict[str, EndpointDetails] = {}
    for endpoint in protocol.endpoints:
        headlines[endpoint.id], summary = kind_of(endpoint).summarise(endpoint, context)
        counted = summary.denominators or denominators_of(endpoint, context)
        details[endpoint.id] = summary.model_copy(
            update={"denominators": counted, "headline": f"/{endpoint.id}"}
        )
    fields["endpoints"] = details
    ordered = {name: _ordered(name, frame) for name, frame in tables.items()}
    return Summary(fields=fields, headlines=headlines, tables=ordered)


def _ordered(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reindex(columns=list(TABLE_COLUMNS[name])).reset_index(drop=True)


def _prior_anti_tnf(courses: pd.DataFrame, patients: pd.DataFrame) -> dict[str, int]:
    """Patients with a course of each anti-TNF agent started before their index date."""
    index = dict(zip(patients["patient_id"], patients["index_date"], strict=True))
    by_patient: dict[str, list[AntiTnfCourse]] = {}
    for row in courses.to_dict(orient="records"):
        if is_anti_tnf(row["drug"]) and row["start_date"] < index[row["patient_id"]]:
            stop = row["stop_date"] if isinstance(row["stop_date"], date) else None
            by_patient.setdefault(row["patient_id"], []).append(
                AntiTnfCourse.from_treatment(
                    drug=row["drug"],
                    start_date=row["start_date"],
                    stop_date=stop,
                    stop_reason=row["stop_reason"] if stop else None,
                )
            )
    return dict(sorted(patients_per_agent(by_patient).items()))


def _long_core_set(visits: pd.DataFrame) -> pd.DataFrame:
    """One row per timepoint visit and variable: the core set in `CORE_SET_VARIABLES`' order,
    then `systemic` (1 with fever or rash, 0 with neither, missing when unknown); visits in
    `visits`' order. Built column by column (a dict per row took 0.45 s at 120,000 patients)."""
    columns = list(TABLE_COLUMNS["patient_timepoints"])
    if visits.empty:
        return pd.DataFrame([], columns=columns)
    variables = [*CORE_SET_VARIABLES, "systemic"]
    systemic = [
        1.0 if (fever or rash) else (0.0 if fever is False and rash is False else None)
        for fever, rash in zip(
            map(flag, visits["fever"].tolist()), map(flag, visits["rash"].tolist()), strict=True
        )
    ]
    values = [visits[name].to_numpy(dtype=object) for name in CORE_SET_VARIABLES]
    stacked = np.column_stack([*values, np.array(systemic, dtype=object)])

    def each_variable(items: list[object]) -> list[object]:
        return [item for item in items for _ in variables]

    return pd.DataFrame(
        {
            "patient_id": each_variable(visits["patient_id"].tolist()),
            "timepoint": each_variable(visits["timepoint"].tolist()),
            "visit_date": each_variable(visits["visit_date"].tolist()),
            "day": each_variable([int(day) for day in visits["day"].tolist()]),
            "variable": variables * len(visits),
            "value": stacked.astype(float).ravel(),  # None -> NaN, as float() of each value
        },
        columns=columns,
    )


def _steroid_table(steroid_doses: pd.DataFrame) -> pd.DataFrame:
    """Doses at each timepoint visit, per kg too; `change_category` is filled by the
    steroid-change endpoints (`jiareg.study.endpoints.steroid_change`)."""
    doses = steroid_doses.copy()
    doses["peq_mg_kg_day"] = [
        peq / weight if weight and not math.isnan(weight) else (0.0 if peq == 0 else None)
        for peq, weight in zip(doses["peq_mg_day"], doses["weight_kg"], strict=True)
    ]
    doses["change_category"] = None
    doses["lowest_peq_mg_day"] = float("nan")
    return doses
