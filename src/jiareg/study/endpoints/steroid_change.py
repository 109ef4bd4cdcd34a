"""Endpoint kind `steroid_change`: systemic corticosteroid dose change from baseline to a
timepoint, or over the time on treatment (SPEC R-STEROID-3 categories; §12b.10 for "reduced").

The doses are daily prednisone equivalents (`jiareg.derive.steroids.prednisone_factor`) of the
oral and `other` records only (R-STEROID-2.2, `peq_route_expr`), counting a record from its
start date through its stop date inclusive (SPEC §12b.6, `steroid_active_on_expr`), on each
timepoint visit's date (`steroid_doses`, every study). `at: <timepoint>` compares the baseline
visit's dose with that timepoint visit's (`steroid_changes`). `at: on_treatment` compares the
dose on the first day on the index drug with the dose on its last day — the last
administration, the same time on treatment as `exposure_months` — and reports the lowest dose
reached in between (`jiareg.derive.steroid_exposure.steroid_on_treatment_table`); this is the
founding poster's "During the treatment, 4 patients reduced dose (< 50 %)" (SPEC §12b.10).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Literal

import ibis
import pandas as pd

from jiareg.derive.steroid_exposure import steroid_active_on_expr, steroid_on_treatment_table
from jiareg.derive.steroids import (
    DOSE_REDUCTION_CATEGORIES,
    peq_route_expr,
    prednisone_factor,
    steroid_change_expr,
)
from jiareg.study.endpoints.base import (
    Denominators,
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    Name,
    PlanInputs,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import ResultModel, SparseResultModel, at_timepoint

if TYPE_CHECKING:
    from ibis.expr.types import StringColumn, Table

    from jiareg.study.protocol import Protocol

__all__ = [
    "NOT_REDUCED",
    "ON_TREATMENT",
    "SteroidChangeDetails",
    "SteroidChangeEndpoint",
    "SteroidCounts",
    "on_treatment_changes",
    "steroid_changes",
    "steroid_doses",
]

ON_TREATMENT: Final = "on_treatment"
"""`at` value: the change over the time on the index drug (SPEC §12b.10), not a timepoint."""


class SteroidChangeEndpoint(EndpointSpec):
    """R-STEROID-3 dose-change category from the baseline to `at`: a timepoint, or
    `on_treatment` (baseline vs the last day on the index drug)."""

    kind: Literal["steroid_change"]
    at: Name

    @property
    def timepoint_refs(self) -> tuple[str, ...]:
        """`on_treatment` is not a timepoint but the whole time on the index drug."""
        return () if self.at == ON_TREATMENT else (self.at,)


class SteroidCounts(ResultModel):
    """Baseline users and those with a lower dose at `at` (stopped included; SPEC
    §12b.10); `reduced_by_half_or_more` and `stopped` are subsets of `reduced`."""

    baseline_users: int
    """Patients on a systemic corticosteroid at baseline (prednisone equivalent > 0)."""
    reduced: int
    """Baseline users with a lower dose at `at` (R-STEROID-3 categories `REDUCED_LT50`,
    `REDUCED_GE50` and `DISCONTINUED`)."""
    reduced_by_half_or_more: int
    """Of `reduced`: by 50 % or more, stopped included (`REDUCED_GE50`, `DISCONTINUED`)."""
    stopped: int
    """Of `reduced`: no corticosteroid at `at` (`DISCONTINUED`)."""


NOT_REDUCED: Final = ("NO_CHANGE", "INCREASED")
"""The R-STEROID-3 categories of a baseline user the headline does not count."""


class SteroidChangeDetails(EndpointDetails, SparseResultModel):
    """`endpoints.<id>`: the timepoint, the dose basis, the evaluable baseline users the
    headline does not count (`not_reduced`), and for `on_treatment` the lowest dose reached.

    The headline counts the reductions; `denominators.<at>` the evaluable baseline users
    (`evaluable`), the patients not on steroids at baseline and the users whose dose at `at`
    is unknown, so the R-STEROID-3 categories are: `DISCONTINUED` = stopped, `REDUCED_GE50` =
    reduced_by_half_or_more - stopped, `REDUCED_LT50` = reduced - reduced_by_half_or_more,
    and `not_reduced`.
    """

    kind: Literal["steroid_change"]
    at: str
    """A timepoint name, or `on_treatment` (the last day on the index drug)."""
    basis: str
    """The dose compared: `mg_day` or `mg_kg_day` (prednisone equivalent; `config`)."""
    not_reduced: dict[str, int]
    """Evaluable baseline users whose dose at `at` was not lower: `NO_CHANGE`, `INCREASED`
    → patients."""
    lowest_below_baseline: int | None = None
    """`on_treatment` only: baseline users whose lowest dose on the index drug was below
    their baseline dose."""


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


def _counted(steroids: Table) -> Table:
    """The records counting toward the daily prednisone equivalent (oral, other, no route)."""
    if "route" not in steroids.columns:  # a snapshot written before routes: every record oral
        return steroids
    return steroids.filter(peq_route_expr(steroids.route))


def steroid_doses(visits: Table, steroids: Table, protocol: Protocol) -> Table:
    """Daily prednisone-equivalent dose (mg/day) on each given visit's date.

    A steroid record counts on date d when start_date <= d <= stop_date (stop NULL = ongoing:
    the stop date is the last day at the dose, SPEC §12b.6) and its route is oral or other
    (R-STEROID-2.2). No record on that date → 0 mg/day. Columns: patient_id, timepoint,
    visit_date, weight_kg, peq_mg_day.
    """
    keys = visits.select("patient_id", "timepoint", "visit_date", "weight_kg")
    counted = _counted(steroids)
    active = keys.join(
        counted,
        (keys.patient_id == counted.patient_id)
        & steroid_active_on_expr(counted.start_date, counted.stop_date, keys.visit_date),
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


def on_treatment_changes(inputs: PlanInputs) -> Table:
    """Each cohort patient's steroid change over the time on the index drug (SPEC §12b.10).

    The window runs from the index date (first administration) to the last administration,
    both inclusive. On the mg/kg/day basis the baseline weight is the baseline visit's and the
    last weight the latest recorded on or before the window's last day. Columns: patient_id,
    start_date, end_date, baseline_weight_kg, last_weight_kg, baseline_peq_mg_day,
    last_peq_mg_day, lowest_peq_mg_day, change_category.
    """
    protocol = inputs.protocol
    index, visits = inputs.index, inputs.registry["visits"]
    base = inputs.visits.filter(inputs.visits.timepoint == protocol.baseline)
    base = base.select(bid="patient_id", baseline_weight_kg=base.weight_kg.cast("float64"))
    weighed = visits.join(index, visits.patient_id == index.patient_id).filter(
        lambda t: t.weight_kg.notnull() & (t.visit_date <= t.last_date)
    )
    latest = weighed.group_by(lid=weighed.patient_id).aggregate(on=weighed.visit_date.max())
    last = weighed.join(
        latest, (weighed.patient_id == latest.lid) & (weighed.visit_date == latest.on)
    ).select("lid", last_weight_kg=weighed.weight_kg.cast("float64"))
    windows = index.select("patient_id", start_date="index_date", end_date="last_date")
    windows = windows.left_join(base, windows.patient_id == base.bid).drop("bid")
    windows = windows.left_join(last, windows.patient_id == last.lid).drop("lid")
    return steroid_on_treatment_table(
        inputs.registry["steroids"],
        windows,
        basis=protocol.config.steroid_basis,
        config=protocol.config,
    )


def plan(endpoint: SteroidChangeEndpoint, inputs: PlanInputs) -> Mapping[str, Table]:
    """`change`: each patient's category from baseline to the timepoint or on treatment."""
    protocol = inputs.protocol
    if endpoint.at == ON_TREATMENT:
        return {"change": on_treatment_changes(inputs)}
    change = steroid_changes(inputs.steroid_doses, protocol.baseline, endpoint.at, protocol)
    return {"change": change}


def _on_treatment_rows(change: pd.DataFrame) -> pd.DataFrame:
    """Rows of the `steroids` table for the end of the time on treatment."""
    weight = change["last_weight_kg"]
    last = change["last_peq_mg_day"]
    return pd.DataFrame(
        {
            "patient_id": change["patient_id"],
            "timepoint": ON_TREATMENT,
            "visit_date": change["end_date"],
            "peq_mg_day": last,
            "peq_mg_kg_day": [
                p / w if pd.notna(w) and w else (0.0 if p == 0 else None)
                for p, w in zip(last, weight, strict=True)
            ],
            "change_category": change["change_category"],
            "lowest_peq_mg_day": change["lowest_peq_mg_day"],
        }
    )


def summarise(
    endpoint: SteroidChangeEndpoint, ctx: SummaryContext
) -> tuple[SteroidCounts, SteroidChangeDetails]:
    """Counts of the baseline users; also fills `change_category` of the `steroids` table
    (`on_treatment`: adds a row per patient at the window's last day)."""
    protocol = ctx.protocol
    change = ctx.planned("change", endpoint)
    every = dict(zip(change["patient_id"], change["change_category"], strict=True))
    lowest_below = None
    if endpoint.at == ON_TREATMENT:
        on = change[change["baseline_peq_mg_day"] > 0]
        users = set(on["patient_id"])
        lowest_below = int((on["lowest_peq_mg_day"] < on["baseline_peq_mg_day"]).sum())
        rows = _on_treatment_rows(change)
        ctx.tables["steroids"] = pd.concat([ctx.tables["steroids"], rows], ignore_index=True)
    else:
        base = at_timepoint(ctx.frames["steroid_doses"], protocol.baseline)
        users = set(base.loc[base["peq_mg_day"] > 0, "patient_id"])
        doses = ctx.tables["steroids"]
        at = doses["timepoint"] == endpoint.at
        doses.loc[at, "change_category"] = doses.loc[at, "patient_id"].map(every)
    category = {pid: cat for pid, cat in every.items() if pid in users}
    counts = Counter(c for c in category.values() if isinstance(c, str))
    unexpected = set(counts) - DOSE_REDUCTION_CATEGORIES - set(NOT_REDUCED)
    if unexpected:  # a baseline user is on steroids at baseline by definition
        raise AssertionError(f"baseline users in categories {sorted(unexpected)}")
    cohort = len(ctx.frames["patients"])
    reasons = {
        "not_on_steroids_at_baseline": cohort - len(users),
        "no_visit_at_timepoint": len(users - set(category)),
        "dose_undetermined": sum(1 for c in category.values() if not isinstance(c, str)),
    }
    counted = Denominators(
        cohort=cohort,
        evaluable=sum(counts.values()),
        not_evaluable={reason: n for reason, n in sorted(reasons.items()) if n},
    )
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
        denominators={endpoint.at: counted},
        not_reduced={c: counts[c] for c in NOT_REDUCED},
        **({} if lowest_below is None else {"lowest_below_baseline": lowest_below}),
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
