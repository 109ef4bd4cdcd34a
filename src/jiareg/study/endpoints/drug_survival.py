"""Endpoint kind `drug_survival`: time from the index date to stopping the index biologic.

Each cohort patient's index course (`index_course`) gives the time: the stop day when the
course stopped (for any reason, an event), else the last follow-up — the later of the last
visit (any visit in the registry) and the last administration of the index drug — where the
patient is censored; `horizon_days` censors everyone still on the drug then. Statistics are
`jiareg.stats.drug_survival`, already checked against published references:

- Kaplan–Meier curve of each arm (Kaplan EL, Meier P. JASA 1958;53:457-481) and, with two or
  more arms, the log-rank test (Mantel N. Cancer Chemother Rep 1966;50:163-170);
- the cumulative incidence of stopping for each reason, the other reasons competing
  (Aalen OO, Johansen S. Scand J Stat 1978;5:141-150), by arm;
- with `cox: true`, a Cox proportional-hazards model (Cox DR. J R Stat Soc B 1972;34:187-220)
  of the arm (against `reference_arm`) and the `covariates` named, read from the study's
  `patients` analysis dataset (`jiareg.study.datasets.patients_dataset`); `strata: site` gives
  each site its own baseline hazard; the proportional-hazards check is the Grambsch–Therneau
  test of scaled Schoenfeld residuals (Biometrika 1994;81:515-526).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import astuple, dataclass, fields
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import pandas as pd
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from pydantic import Field, model_validator

from jiareg.stats import cox_model, cumulative_incidence, kaplan_meier_by_group
from jiareg.study.endpoints.base import (
    Denominators,
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    PlanInputs,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import Number
from jiareg.study.endpoints.covariates import Covariate
from jiareg.study.endpoints.index_course import NOT_RECORDED, arms_of, index_courses
from jiareg.study.endpoints.survival_models import (
    ArmSurvival,
    CoxModel,
    LogRankTest,
    ReasonIncidence,
    arm_survival,
    cox_summary,
    reason_incidence,
)
from jiareg.vocab import STOP_REASONS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ibis.expr.types import Table

    from jiareg.study.protocol import Protocol
    from jiareg.study.result import StudyResult

__all__ = [
    "DatasetColumn",
    "DrugSurvivalDetails",
    "DrugSurvivalEndpoint",
    "SurvivalTimes",
    "dataset_columns",
    "survival_times",
]

NO_FOLLOW_UP: Final = "no_follow_up_after_index"
STOPPED_BEFORE_INDEX: Final = "stop_date_before_index_date"


class DrugSurvivalEndpoint(EndpointSpec):
    """Drug survival of the index biologic (see the module docstring)."""

    kind: Literal["drug_survival"]
    horizon_days: int | None = Field(None, ge=1)
    cox: bool = False
    covariates: tuple[Covariate, ...] = ()
    strata: Literal["site"] | None = None
    reference_arm: str | None = None

    @model_validator(mode="after")
    def _cox_options(self) -> DrugSurvivalEndpoint:
        if not self.cox and (self.covariates or self.strata or self.reference_arm):
            raise ValueError(
                "covariates, strata and reference_arm belong to the Cox model: set cox: true"
            )
        if len(set(self.covariates)) != len(self.covariates):
            raise ValueError(f"covariates repeated: {list(self.covariates)}")
        return self


class DrugSurvivalDetails(EndpointDetails):
    """`endpoints.<id>`: per arm the Kaplan–Meier curve and the stops by reason; the log-rank
    test between arms, and the Cox model when asked."""

    kind: Literal["drug_survival"]
    horizon_days: int | None
    time_unit: Literal["days"] = "days"
    stop_reasons: dict[str, dict[str, int]]
    without_course_record: int
    arms: dict[str, ArmSurvival]
    log_rank: LogRankTest | None
    cumulative_incidence: dict[str, list[ReasonIncidence]]
    cox: CoxModel | None
    method: str


@dataclass(frozen=True, slots=True)
class SurvivalTimes:
    """One patient's time on the index drug: day (of the stop, or of censoring), whether it
    stopped, why, and the arm."""

    patient_id: str
    arm: str
    day: int
    stopped: bool
    reason: str | None


def plan(endpoint: DrugSurvivalEndpoint, inputs: PlanInputs) -> Mapping[str, Table]:
    """Each cohort patient's last visit date (any visit of the registry)."""
    visits = inputs.registry["visits"]
    mine = visits.filter(visits.patient_id.isin(inputs.index.patient_id))
    return {
        "last_visit": mine.group_by("patient_id").aggregate(last_visit_date=mine.visit_date.max())
    }


def survival_times(
    endpoint: DrugSurvivalEndpoint, protocol: Protocol, frames: Mapping[str, pd.DataFrame]
) -> tuple[list[SurvivalTimes], dict[str, int], int]:
    """The times of the evaluable patients, the others counted by reason, and the number of
    patients without a course record of their index drug (taken as still on it); `frames`
    are the run's collected frames (`SummaryContext.frames`, `StudyResult.frames`)."""
    patients = frames["patients"]
    exposure = protocol.eligibility.exposure  # None in a protocol whose arms name the drugs
    courses = index_courses(frames, exposure.drug if exposure is not None else "")
    arms = arms_of(patients)
    last_visit = _last_visits(endpoint, frames)
    times, excluded = [], Counter[str]()
    for pid, index_date, last_given in zip(
        patients["patient_id"], patients["index_date"], patients["last_date"], strict=True
    ):
        course = courses[pid]
        horizon = endpoint.horizon_days
        if course.stop_day is not None:
            if course.stop_day < 0:
                excluded[STOPPED_BEFORE_INDEX] += 1
                continue
            if horizon is None or course.stop_day <= horizon:
                times.append(
                    SurvivalTimes(
                        patient_id=pid,
                        arm=arms[pid],
                        day=course.stop_day,
                        stopped=True,
                        reason=course.stop_reason,
                    )
                )
                continue
        last = max(d for d in (last_given, last_visit.get(pid)) if d is not None)
        day = (last - index_date).days
        if horizon is not None:
            day = min(day, horizon)
        if day <= 0:
            excluded[NO_FOLLOW_UP] += 1
            continue
        times.append(
            SurvivalTimes(patient_id=pid, arm=arms[pid], day=day, stopped=False, reason=None)
        )
    without = sum(not courses[pid].recorded for pid in patients["patient_id"])
    return times, dict(excluded), without


def _last_visits(
    endpoint: DrugSurvivalEndpoint, frames: Mapping[str, pd.DataFrame]
) -> dict[str, Any]:
    """Patient id → last visit date: the endpoint's plan (any registry visit) when collected;
    else (the report's drug survival of a protocol without the endpoint) the latest of the
    timepoint and follow-up visits collected."""
    planned = frames.get(f"last_visit:{endpoint.id}")
    if planned is not None:
        return dict(zip(planned["patient_id"], planned["last_visit_date"], strict=True))
    seen = pd.concat(
        [
            frames["visits"][["patient_id", "visit_date"]],
            frames["responses"][["patient_id", "visit_date"]],
        ]
    )
    latest: dict[str, Any] = seen.groupby("patient_id")["visit_date"].max().to_dict()
    return latest


DatasetColumn = tuple[str, str, Literal["integer", "boolean", "string"], str, str, list[object]]
"""name, label, type, unit, values and the column of a `patients` analysis-dataset variable."""


def dataset_columns(
    endpoint: DrugSurvivalEndpoint, result: StudyResult | SummaryContext, ids: list[str]
) -> list[DatasetColumn]:
    """The endpoint's `patients` dataset columns (`jiareg.study.datasets`): days on the index
    drug, whether it stopped, why; empty for the patients not evaluable."""
    times = {t.patient_id: t for t in survival_times(endpoint, result.protocol, result.frames)[0]}

    def column(name: str) -> list[object]:
        return [getattr(times[pid], name) if pid in times else None for pid in ids]

    reasons = ", ".join((*STOP_REASONS, NOT_RECORDED))
    return [
        (
            f"{endpoint.id}_day",
            "days on the index drug (to the stop, or censoring)",
            "integer",
            "days",
            "",
            column("day"),
        ),
        (
            f"{endpoint.id}_stopped",
            "index drug stopped (else censored)",
            "boolean",
            "",
            "",
            column("stopped"),
        ),
        (f"{endpoint.id}_reason", "stop reason", "string", "", reasons, column("reason")),
    ]


def summarise(
    endpoint: DrugSurvivalEndpoint, ctx: SummaryContext
) -> tuple[dict[str, Number | None], DrugSurvivalDetails]:
    """Kaplan–Meier by arm, log-rank, Aalen–Johansen by reason and arm, optional Cox model."""
    times, excluded, without = survival_times(endpoint, ctx.protocol, ctx.frames)
    cohort = len(ctx.frames["patients"])
    denominators = {
        "follow_up": Denominators(
            cohort=cohort,
            evaluable=len(times),
            not_evaluable=dict(sorted((k, v) for k, v in excluded.items() if v)),
        )
    }
    columns = [f.name for f in fields(SurvivalTimes)]
    frame = pd.DataFrame([astuple(t) for t in times], columns=columns)
    reasons: dict[str, dict[str, int]] = {}
    for arm, part in frame.groupby("arm", sort=True):
        counted = Counter(part.loc[part["stopped"], "reason"])
        order = [*STOP_REASONS, NOT_RECORDED]
        reasons[str(arm)] = {r: counted[r] for r in order if counted[r]}
    arms: dict[str, ArmSurvival] = {}
    medians: dict[str, Number | None] = {}
    log_rank = None
    incidence: dict[str, list[ReasonIncidence]] = {}
    cox = None
    method = "no patient evaluable"
    if len(frame):
        fit = kaplan_meier_by_group(
            list(frame["day"].astype(float)), list(frame["stopped"]), list(frame["arm"])
        )
        arms = {curve.group: arm_survival(curve) for curve in fit.curves}
        medians = {curve.group: curve.median for curve in fit.curves}
        method = fit.method
        if fit.log_rank is not None:
            log_rank = LogRankTest(
                statistic=fit.log_rank.statistic,
                df=fit.log_rank.df,
                p_value=fit.log_rank.p_value,
                method=fit.log_rank.reference,
            )
        for arm, part in frame.groupby("arm", sort=True):
            risks = cumulative_incidence(
                list(part["day"].astype(float)),
                [r if s else None for r, s in zip(part["reason"], part["stopped"], strict=True)],
            )
            incidence[str(arm)] = reason_incidence(risks)
        if endpoint.cox:
            cox = _cox(endpoint, ctx, frame)
    details = DrugSurvivalDetails(
        kind="drug_survival",
        denominators=denominators,
        horizon_days=endpoint.horizon_days,
        stop_reasons=reasons,
        without_course_record=without,
        arms=arms,
        log_rank=log_rank,
        cumulative_incidence=incidence,
        cox=cox,
        method=method,
    )
    return medians, details


def _cox(endpoint: DrugSurvivalEndpoint, ctx: SummaryContext, frame: pd.DataFrame) -> CoxModel:
    """The Cox model on the complete cases (arm dummies + covariates, strings dummy-coded)."""
    # datasets imports the endpoint kinds: imported here, when a model is fitted
    from jiareg.study.datasets import patients_dataset

    dataset = patients_dataset(ctx)
    data = frame.set_index("patient_id")
    columns: dict[str, pd.Series] = {}
    labels = sorted(set(data["arm"]))
    reference = endpoint.reference_arm or (labels[0] if len(labels) > 1 else None)
    if endpoint.reference_arm is not None and endpoint.reference_arm not in labels:
        return CoxModel.not_fitted_because(
            f"reference_arm {endpoint.reference_arm!r} is not an arm "
            f"of the cohort ({', '.join(labels)})"
        )
    for arm in labels if len(labels) > 1 else ():
        if arm != reference:
            columns[f"arm={arm}"] = (data["arm"] == arm).astype(float)
    for name in endpoint.covariates:
        values = dataset[name].reindex(data.index)
        if values.dtype == object or name == "sex":
            levels = sorted({str(v) for v in values.dropna()})
            for level in levels[1:]:
                dummy = (values.astype("string") == level).astype(float)
                columns[f"{name}={level}"] = dummy.where(values.notna())
        else:
            columns[name] = pd.to_numeric(values, errors="coerce").astype(float)
    design = pd.DataFrame(columns, index=data.index)
    if endpoint.strata == "site":
        design["_site"] = dataset["site"].reindex(data.index)
    complete = design.notna().all(axis=1)
    used, fitted = data[complete], design[complete]
    excluded = int((~complete).sum())
    terms = [c for c in fitted.columns if c != "_site"]
    if not terms:
        return CoxModel.not_fitted_because("no term to fit: one arm and no covariates")
    if int(used["stopped"].sum()) < 2 or len(used) <= len(terms):
        return CoxModel.not_fitted_because(
            f"too few patients ({len(used)}) or stops "
            f"({int(used['stopped'].sum())}) for {len(terms)} terms"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            result = cox_model(
                list(used["day"].astype(float)),
                list(used["stopped"]),
                {term: list(fitted[term]) for term in terms},
                strata=list(fitted["_site"]) if endpoint.strata == "site" else None,
            )
        except (ConvergenceError, np.linalg.LinAlgError, ValueError, ZeroDivisionError) as error:
            return CoxModel.not_fitted_because(
                f"the model could not be fitted: {error}".splitlines()[0]
            )
    notes = sorted(
        {
            str(w.message).splitlines()[0]
            for w in caught
            if issubclass(w.category, ConvergenceWarning)
        }
    )
    return cox_summary(result, reference, excluded, endpoint.strata, notes)


KIND = register(
    EndpointKind(
        name="drug_survival",
        spec=DrugSurvivalEndpoint,
        details=DrugSurvivalDetails,
        headline=dict[str, Number | None],
        summarise=summarise,
        plan=plan,
    )
)
