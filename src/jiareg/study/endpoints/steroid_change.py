"""Endpoint kind `steroid_change`: systemic corticosteroid dose change from baseline to a
timepoint (SPEC R-STEROID-3 categories; §12b.10 for "reduced").

The doses are prednisone equivalents (`jiareg.derive.steroids.prednisone_factor`) on each
timepoint visit's date (`steroid_doses`, every study); the category per patient is
`jiareg.derive.steroids.steroid_change_expr` (`steroid_changes`, this kind's plan).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import ibis

from jiareg.derive.steroids import (
    DOSE_REDUCTION_CATEGORIES,
    prednisone_factor,
    steroid_change_expr,
)
from jiareg.study.endpoints.base import (
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    Name,
    PlanInputs,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import ResultModel, at_timepoint

if TYPE_CHECKING:
    from ibis.expr.types import StringColumn, Table

    from jiareg.study.protocol import Protocol

__all__ = [
    "SteroidChangeDetails",
    "SteroidChangeEndpoint",
    "SteroidCounts",
    "steroid_changes",
    "steroid_doses",
]


class SteroidChangeEndpoint(EndpointSpec):
    """R-STEROID-3 dose-change category from the baseline timepoint to `at`."""

    kind: Literal["steroid_change"]
    at: Name


class SteroidCounts(ResultModel):
    """Baseline users and those with a lower dose at the timepoint (stopped included; SPEC
    §12b.10); `reduced_by_half_or_more` and `stopped` are subsets of `reduced`."""

    baseline_users: int
    reduced: int
    reduced_by_half_or_more: int
    stopped: int


class SteroidChangeDetails(EndpointDetails):
    """`endpoints.<id>`: the timepoint, the dose basis and the baseline users per category."""

    kind: Literal["steroid_change"]
    at: str
    basis: str
    categories: dict[str, int]
    no_visit_at_timepoint: int
    undetermined: int


def _prednisone_factor_expr(drug: StringColumn, protocol: Protocol) -> ibis.Value:
    """`prednisone_factor` of each configured drug as an Ibis lookup; NULL for others."""
    factors = protocol.config.steroid_factors
    return ibis.cases(
        *[
            (drug == name, float(prednisone_factor(name, config=protocol.config)))
            for name in factors
        ],
        else_=ibis.null("float64"),
    )


def steroid_doses(visits: Table, steroids: Table, protocol: Protocol) -> Table:
    """Daily prednisone-equivalent dose (mg/day) on each given visit's date.

    A steroid record counts on date d when start_date <= d and (stop_date is NULL or
    d < stop_date): a dose changed on day d is the new dose from that day on. No record on
    that date → 0 mg/day. Columns: patient_id, timepoint, visit_date, weight_kg, peq_mg_day.
    """
    keys = visits.select("patient_id", "timepoint", "visit_date", "weight_kg")
    active = keys.join(
        steroids,
        (keys.patient_id == steroids.patient_id)
        & (steroids.start_date <= keys.visit_date)
        & (steroids.stop_date.isnull() | (keys.visit_date < steroids.stop_date)),
    )
    summed = active.group_by(["patient_id", "timepoint", "visit_date"]).aggregate(
        peq=(active.daily_dose_mg * _prednisone_factor_expr(active.drug, protocol)).sum()
    )
    out = keys.left_join(
        summed,
        (keys.patient_id == summed.patient_id)
        & (keys.timepoint == summed.timepoint)
        & (keys.visit_date == summed.visit_date),
    )
    return out.select(*keys.columns, peq_mg_day=out.peq.fill_null(0.0))


def steroid_changes(doses: Table, baseline_name: str, at: str, protocol: Protocol) -> Table:
    """R-STEROID-3 category from the baseline timepoint to `at`, on `config.steroid_basis`.

    Columns: patient_id, change_category (NULL when the patient has no visit at `at`, or on
    the mg/kg/day basis when a weight is missing).
    """
    base = doses.filter(doses.timepoint == baseline_name).select(
        "patient_id", b_peq="peq_mg_day", b_weight="weight_kg"
    )
    later = doses.filter(doses.timepoint == at).select(
        "patient_id", f_peq="peq_mg_day", f_weight="weight_kg"
    )
    joined = base.join(later, base.patient_id == later.patient_id)
    if protocol.config.steroid_basis == "mg_kg_day":
        category = steroid_change_expr(
            joined.b_peq,
            joined.f_peq,
            baseline_weight=joined.b_weight,
            followup_weight=joined.f_weight,
        )
    else:
        category = steroid_change_expr(joined.b_peq, joined.f_peq)
    return joined.select("patient_id", change_category=category)


def plan(endpoint: SteroidChangeEndpoint, inputs: PlanInputs) -> Mapping[str, Table]:
    """`change`: each patient's category from baseline to the endpoint's timepoint."""
    protocol = inputs.protocol
    change = steroid_changes(inputs.steroid_doses, protocol.baseline, endpoint.at, protocol)
    return {"change": change}


def summarise(
    endpoint: SteroidChangeEndpoint, ctx: SummaryContext
) -> tuple[SteroidCounts, SteroidChangeDetails]:
    """Counts of the baseline users; also fills `change_category` of the `steroids` table."""
    protocol = ctx.protocol
    base = at_timepoint(ctx.frames["steroid_doses"], protocol.baseline)
    users = set(base.loc[base["peq_mg_day"] > 0, "patient_id"])
    change = ctx.planned("change", endpoint)
    every = dict(zip(change["patient_id"], change["change_category"], strict=True))
    doses = ctx.tables["steroids"]
    rows = doses["timepoint"] == endpoint.at
    doses.loc[rows, "change_category"] = doses.loc[rows, "patient_id"].map(every)
    category = {pid: cat for pid, cat in every.items() if pid in users}
    counts = Counter(c for c in category.values() if isinstance(c, str))
    headline = SteroidCounts(
        baseline_users=len(users),
        reduced=sum(counts[c] for c in DOSE_REDUCTION_CATEGORIES),
        reduced_by_half_or_more=counts["REDUCED_GE50"] + counts["DISCONTINUED"],
        stopped=counts["DISCONTINUED"],
    )
    details = SteroidChangeDetails(
        kind="steroid_change",
        at=endpoint.at,
        basis=protocol.config.steroid_basis,
        categories=dict(sorted(counts.items())),
        no_visit_at_timepoint=len(users - set(category)),
        undetermined=sum(1 for c in category.values() if not isinstance(c, str)),
    )
    return headline, details


KIND = register(
    EndpointKind(
        name="steroid_change",
        spec=SteroidChangeEndpoint,
        details=SteroidChangeDetails,
        headline=SteroidCounts,
        summarise=summarise,
        plan=plan,
    )
)
