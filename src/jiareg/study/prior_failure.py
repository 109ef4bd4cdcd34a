"""The prior-failure eligibility rule: which earlier courses failed, by the protocol's source.

`config.tnf_failure_source` (SPEC R-TNF-FAIL) decides: `recorded` reads the course's recorded
stop reason (an Ibis filter, as before); `derived` decides primary or secondary failure from
the core-set visits (`jiareg.derive.tnf_failure_derived.derive_failure`, baseline by
R-ACRPEDI-3 `jiareg.derive.baseline.baseline_visit`); `either` takes the recorded failure when
there is one, else the derived one (`failure_reason`). The derived sources execute the prior
courses and their patients' visits (a few rows per patient) and return the failed courses'
patients as an in-memory table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import ibis

from jiareg.derive.baseline import baseline_visit
from jiareg.derive.coreset import CoreSet, Global
from jiareg.derive.exact import to_fraction
from jiareg.derive.tnf_failure import AntiTnfCourse, is_anti_tnf
from jiareg.derive.tnf_failure_derived import (
    CoreSetVisit,
    DerivedFailure,
    derive_failure,
    failure_reason,
)

if TYPE_CHECKING:
    from ibis.expr.types import Table

    from jiareg.study.protocol import Protocol

__all__ = ["SOURCE_LABELS", "failed_before_index"]

SOURCE_LABELS: Final = {
    "recorded": "recorded stop reason",
    "derived": "derived from the visits",
    "either": "recorded stop reason, else derived from the visits",
}
"""How the attrition step and the report name each `tnf_failure_source`."""
_CORE: Final = ("phys_global", "parent_global", "chaq", "active_joints", "lom_joints", "esr")


def _global(row: Mapping[str, Any], name: str) -> Global | None:
    value = to_fraction(row[name])
    return None if value is None else Global(value, row[f"{name}_scale"] or "0-10")


def _core(row: Mapping[str, Any]) -> CoreSet:
    joints = {n: None if row[n] is None else int(row[n]) for n in ("active_joints", "lom_joints")}
    return CoreSet(
        _global(row, "phys_global"),
        _global(row, "parent_global"),
        to_fraction(row["chaq"]),
        joints["active_joints"],
        joints["lom_joints"],
        to_fraction(row["esr"]),
    )


def _records(table: Table) -> list[dict[str, Any]]:
    """The rows as dicts: missing values None, dates `datetime.date` (whatever the engine)."""
    frame = table.to_pandas()
    frame = frame.astype(object).where(frame.notna(), None)
    rows: list[dict[str, Any]] = frame.to_dict("records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, datetime):
                row[key] = value.date()
    return rows


def _derived(
    course: AntiTnfCourse,
    by_patient: Mapping[str, list[dict[str, Any]]],
    row: Mapping[str, Any],
    protocol: Protocol,
) -> DerivedFailure | None:
    """`derive_failure` of one course from its patient's visits (None: no baseline visit)."""
    mine = sorted(by_patient.get(row["patient_id"], []), key=lambda v: v["visit_date"])
    base = baseline_visit(mine, course.start, window_days=protocol.config.baseline_window_days)
    if base is None:
        return None
    later = [CoreSetVisit(v["visit_date"], _core(v)) for v in mine if v is not base]
    return derive_failure(course, _core(base), later, config=protocol.config)


def failed_before_index(tables: Mapping[str, Table], index: Table, protocol: Protocol) -> Table:
    """patient_id of every patient with a qualifying failed course started before the index
    date (one column; duplicates possible)."""
    prior = protocol.eligibility.prior_failure
    assert prior is not None  # the caller checks the rule is in the protocol
    treatments = tables["treatments"]
    courses = treatments.filter(treatments.drug.isin(list(prior.drug_list)))
    courses = courses.join(index, courses.patient_id == index.patient_id).filter(
        lambda t: t.start_date < t.index_date
    )
    source = protocol.config.tnf_failure_source
    if source == "recorded":
        failed = courses.filter(courses.stop_reason.isin(list(prior.template_stop_reasons)))
        return failed.select("patient_id")
    wanted = {reason.upper() for reason in prior.stop_reasons}
    rows = courses.select("patient_id", "drug", "start_date", "stop_date", "stop_reason")
    visits = tables["visits"]
    seen = visits.filter(visits.patient_id.isin(rows.patient_id))
    by_patient: dict[str, list[dict[str, Any]]] = {}
    columns = ("patient_id", "visit_date", *_CORE, "phys_global_scale", "parent_global_scale")
    for visit in _records(seen.select(*columns)):
        by_patient.setdefault(visit["patient_id"], []).append(visit)
    ids = []
    for row in _records(rows):
        if source == "either" and row["stop_reason"] in prior.template_stop_reasons:
            ids.append(row["patient_id"])
        elif is_anti_tnf(row["drug"]):  # R-TNF-FAIL derives anti-TNF failures only
            course = AntiTnfCourse.from_treatment(
                drug=row["drug"],
                start_date=row["start_date"],
                stop_date=row["stop_date"],
                stop_reason=row["stop_reason"],
            )
            if (
                failure_reason(course, _derived(course, by_patient, row, protocol), source=source)
                in wanted
            ):
                ids.append(row["patient_id"])
    return ibis.memtable({"patient_id": ids}, schema={"patient_id": "string"})
