"""Endpoint kind `acr_pedi`: ACR Pedi responders at a timepoint or during follow-up.

The per-visit rule is `jiareg.derive.acr_pedi_columnar.acr_pedi_unit_columns` (SPEC R-ACRPEDI,
the TENDER sJIA variant R-ACRPEDI-4); `responses` scores every follow-up visit against the
patient's baseline visit as one Ibis table. Responders get a Clopper–Pearson exact 95 % CI.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from jiareg.derive.acr_pedi_columnar import acr_pedi_unit_columns, core_set_units
from jiareg.derive.coreset import CORE_SET_COLUMNS
from jiareg.stats import clopper_pearson
from jiareg.study.endpoints.base import (
    Denominators,
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    Name,
    SummaryContext,
    endpoints_of,
    register,
)
from jiareg.study.endpoints.common import (
    NO_FOLLOW_UP,
    NO_VISIT,
    ResultModel,
    SparseResultModel,
    at_timepoint,
)
from jiareg.study.endpoints.index_course import arms_of
from jiareg.study.endpoints.missing import Missing, impute, stop_days, timepoint_start
from jiareg.vocab import NONRESPONDER, NOT_EVALUABLE, RESPONDER

if TYPE_CHECKING:
    import pandas as pd
    from ibis.expr.types import Table, Value

    from jiareg.study.protocol import Protocol

__all__ = [
    "AcrPediDetails",
    "AcrPediEndpoint",
    "AcrProportion",
    "ArmCount",
    "acr_column",
    "before_administration_days",
    "imputed_outcomes",
    "patient_outcomes",
    "responses",
]


class AcrPediEndpoint(EndpointSpec):
    """ACR Pedi response (R-ACRPEDI) at `level` versus the baseline timepoint.

    `at`: a timepoint name (the visit chosen there) or `follow_up` (responder at any visit
    after day 0 — "ever"). `before_administration: n` keeps only the follow-up visits after the
    day of administration n-1 up to and including the day of administration n (SPEC
    R-ACRPEDI-3: "before the 3rd infusion" = after infusion 2, before infusion 3).
    `variant: sjia` is the TENDER form (R-ACRPEDI-4). `output: count` writes the number of
    responders only. `missing` (at a timepoint only): `observed` (default), `nri` or `locf`
    (`jiareg.study.endpoints.missing`).
    """

    kind: Literal["acr_pedi"]
    level: Literal[30, 50, 70, 90, 100] = 30
    variant: Literal["standard", "sjia"] = "standard"
    at: Name = "follow_up"
    before_administration: int | None = Field(None, ge=2)
    output: Literal["proportion", "count"] = "proportion"
    missing: Missing = "observed"

    @model_validator(mode="after")
    def _missing_at_a_timepoint(self) -> AcrPediEndpoint:
        if self.missing != "observed" and self.at == "follow_up":
            raise ValueError(
                f"missing: {self.missing} needs a timepoint (at: <name>), not follow_up"
            )
        return self

    @property
    def timepoint_refs(self) -> tuple[str, ...]:
        """`follow_up` is not a timepoint but every follow-up visit."""
        return () if self.at == "follow_up" else (self.at,)


class AcrProportion(ResultModel):
    """The headline of a proportion endpoint: responders of n evaluable, exact 95 % CI."""

    responders: int
    """Patients who met the level (ever during follow-up, or at the timepoint's visit)."""
    n: int
    """Evaluable patients (responders and non-responders): `denominators.<at>.evaluable`."""
    ci95: list[float] | None
    """Exact 95 % confidence interval of responders / n (Clopper–Pearson); null when n = 0."""


class ArmCount(ResultModel):
    """Responders of n evaluable in one arm (written when the protocol has two or more arms)."""

    responders: int
    n: int


class AcrPediDetails(EndpointDetails, SparseResultModel):
    """`endpoints.<id>`: the definition, the interval's method and the responders' ids; with
    `missing` other than `observed`, the rule (the patients imputed by reason are in the
    denominators); with two or more arms, the counts by arm.

    The counts are the headline's (`responders`, `n`) and the denominators'; with `output:
    count` the headline is the responders alone and `ci95` is written here.
    """

    kind: Literal["acr_pedi"]
    level: int
    """ACR Pedi level: 30, 50, 70, 90 or 100 (% improvement)."""
    variant: str
    """`standard`, or `sjia` (the TENDER form, which also requires no fever)."""
    at: str
    """A timepoint name, or `follow_up` (responder at any visit after the index date)."""
    before_administration: int | None
    """With `at: follow_up`: only the visits after administration n - 1, up to n."""
    ci_method: str
    """How `ci95` was computed (Clopper–Pearson exact)."""
    responder_ids: list[str]
    """The responders (pseudonyms unless the run was identified), sorted."""
    ci95: list[float] | None = None
    """Only with `output: count` (the headline is then the count alone): exact 95 % CI."""
    missing: Missing = Field("observed", exclude_if=lambda value: value == "observed")
    """The missing-data rule (`nri`, `locf`); absent for `observed`. The patients imputed, by
    reason, are `denominators.<at>.imputed`."""
    by_arm: dict[str, ArmCount] = Field(default_factory=dict, exclude_if=lambda value: not value)
    """With two or more arms: arm → responders of n evaluable in that arm."""


def acr_column(level: int, variant: str) -> str:
    """Name of the per-visit result column of a level and variant, e.g. `acr_pedi_30_sjia`."""
    return f"acr_pedi_{level}" + ("_sjia" if variant == "sjia" else "")


def responses(follow_up: Table, baseline: Table, exposure: Table, protocol: Protocol) -> Table:
    """ACR Pedi of every follow-up visit against the patient's baseline visit.

    Columns: patient_id, visit_date, day, administration_number (exposure administrations given
    before the visit date: a visit on an infusion day is that infusion's pre-infusion
    assessment, SPEC R-ACRPEDI-3), fever, acr_pedi_level, and one result column per ACR Pedi
    level/variant the protocol's endpoints use (always `acr_pedi_30` and `acr_pedi_30_sjia`).
    Each visit's core set becomes units before the join to its baseline, and only the columns
    scored are carried: a third of the query (and of its compile and plan time) of scoring the
    whole joined rows, once the largest fixed cost of a small study's run.
    """
    config = protocol.config

    def units(table: Table, prefix: str) -> dict[str, Value]:
        values = core_set_units({c: table[c] for c in CORE_SET_COLUMNS})
        return {prefix + name: value for name, value in values.items()}

    visits = follow_up.select("patient_id", "visit_date", "day", "fever", **units(follow_up, "f_"))
    base = baseline.select("patient_id", **units(baseline, "b_"))
    joined = visits.join(base, "patient_id")
    keys = [name.removeprefix("b_") for name in base.columns if name != "patient_id"]
    scored = acr_pedi_unit_columns(
        joined,
        {k: joined[f"b_{k}"] for k in keys},
        {k: joined[f"f_{k}"] for k in keys},
        fever_absent=~joined.fever,
        zero_baseline_worsening=config.zero_baseline_worsening,
        acr_missing_mode=config.acr_missing_mode,
    )
    wanted = {(30, "standard"), (30, "sjia")} | {
        (e.level, e.variant) for e in endpoints_of(protocol, AcrPediEndpoint)
    }
    results = {}
    for level, variant in sorted(wanted):
        source = f"acr_pedi_sjia_{level}" if variant == "sjia" else f"acr_pedi_{level}"
        results[acr_column(level, variant)] = scored[source]
    scored = scored.select("patient_id", "visit_date", "day", "fever", "acr_pedi_level", **results)
    dated = visits.select("patient_id", "visit_date")  # a superset of the scored visits
    given = exposure.join(dated, ["patient_id", exposure.date < dated.visit_date])
    numbers = given.group_by(["patient_id", "visit_date"]).aggregate(
        administration_number=given.administration_number.max()
    )
    out = scored.left_join(
        numbers,
        (scored.patient_id == numbers.patient_id) & (scored.visit_date == numbers.visit_date),
    )
    return out.select(*scored.columns, administration_number=out.administration_number.fill_null(0))


def before_administration_days(given: pd.DataFrame, number: int) -> dict[str, range]:
    """Per patient given administration `number`: the days after administration number - 1 up
    to and including the day of administration `number` (SPEC R-ACRPEDI-3: "before the 3rd
    infusion" = a visit after infusion 2 and before infusion 3; a visit on an infusion day is
    its pre-infusion assessment). Patients never given it have no such visit."""
    day_of = {
        (pid, int(n)): int(d)
        for pid, n, d in zip(
            given["patient_id"], given["administration_number"], given["day"], strict=True
        )
    }
    return {
        pid: range(day_of.get((pid, number - 1), 0) + 1, d + 1)
        for (pid, n), d in day_of.items()
        if n == number
    }


def _per_patient(outcomes: Iterable[str]) -> str:
    seen = set(outcomes)
    if RESPONDER in seen:
        return RESPONDER
    if seen == {NONRESPONDER}:
        return NONRESPONDER
    return NOT_EVALUABLE


CODE: dict[bool | None, str] = {True: RESPONDER, False: NONRESPONDER, None: NOT_EVALUABLE}
VALUE: dict[str, bool | None] = {RESPONDER: True, NONRESPONDER: False, NOT_EVALUABLE: None}


def _at(
    column: str, frames: Mapping[str, pd.DataFrame], name: str
) -> tuple[dict[str, str], dict[str, int]]:
    """The outcome and day of each patient's visit at timepoint `name` (absent: no visit)."""
    chosen = at_timepoint(frames["visits"], name)[["patient_id", "visit_date", "day"]]
    at = frames["responses"][["patient_id", "visit_date", column]].merge(
        chosen, on=["patient_id", "visit_date"]
    )
    visit_day = dict(zip(chosen["patient_id"], chosen["day"].astype(int), strict=True))
    found = dict(zip(at["patient_id"], at[column], strict=True))
    return {pid: found.get(pid, NOT_EVALUABLE) for pid in visit_day}, visit_day


def imputed_outcomes(
    endpoint: AcrPediEndpoint, frames: Mapping[str, pd.DataFrame], protocol: Protocol
) -> tuple[dict[str, str], dict[str, str]]:
    """Each cohort patient's outcome at the endpoint's timepoint under its `missing` rule, and
    the reason of each imputed outcome (`jiareg.study.endpoints.missing`)."""
    column = acr_column(endpoint.level, endpoint.variant)
    patient_ids = [str(p) for p in frames["patients"]["patient_id"]]
    here, visit_day = _at(column, frames, endpoint.at)
    names = [t.name for t in protocol.timepoints]
    before = [n for n in names[: names.index(endpoint.at)] if n != protocol.baseline]
    earlier = [
        {pid: VALUE[o] for pid, o in _at(column, frames, name)[0].items()}
        for name in reversed(before)
    ]
    values, reasons = impute(
        endpoint.missing,
        patient_ids,
        {pid: VALUE[o] for pid, o in here.items()},
        visit_day,
        earlier,
        None,
        stop_days(frames) if endpoint.missing != "observed" else {},
        timepoint_start(protocol, endpoint.at, frames),
    )
    return {pid: CODE[values.get(pid)] for pid in patient_ids}, reasons


def patient_outcomes(
    endpoint: AcrPediEndpoint,
    frames: Mapping[str, pd.DataFrame],
    protocol: Protocol | None = None,
) -> dict[str, str]:
    """Each cohort patient's outcome (RESPONDER, NONRESPONDER, NOT_EVALUABLE): responder at
    any follow-up visit (in the `before_administration` window) or at the timepoint's visit
    (with `missing: nri | locf`, imputed: `protocol` is then needed)."""
    if endpoint.missing != "observed":
        if protocol is None:
            raise ValueError(f"{endpoint.id}: missing: {endpoint.missing} needs the protocol")
        return imputed_outcomes(endpoint, frames, protocol)[0]
    column = acr_column(endpoint.level, endpoint.variant)
    scored = frames["responses"]
    patient_ids = list(frames["patients"]["patient_id"])
    if endpoint.at == "follow_up":
        if endpoint.before_administration is not None:
            window = before_administration_days(
                frames["administrations"], endpoint.before_administration
            )
            keep = [
                pid in window and day in window[pid]
                for pid, day in zip(scored["patient_id"], scored["day"], strict=True)
            ]
            scored = scored[keep]
        grouped = scored.groupby("patient_id")[column].agg(list).to_dict()
        return {pid: _per_patient(grouped.get(pid, [])) for pid in patient_ids}
    chosen = at_timepoint(frames["visits"], endpoint.at)[["patient_id", "visit_date"]]
    at = scored.merge(chosen, on=["patient_id", "visit_date"])
    found = dict(zip(at["patient_id"], at[column], strict=True))
    return {pid: found.get(pid, NOT_EVALUABLE) for pid in patient_ids}


def _denominators(
    endpoint: AcrPediEndpoint,
    ctx: SummaryContext,
    evaluable: int,
    not_evaluable: int,
    imputed: dict[str, int],
) -> Denominators:
    """Evaluable: responders and non-responders; the others split into those without a visit
    where the endpoint looks (never evaluable) and those whose visits could not be scored.
    With `missing: nri | locf` every patient is evaluable, `imputed` by reason."""
    scored = ctx.frames["responses"]
    cohort = len(ctx.frames["patients"])
    if endpoint.missing != "observed":
        return Denominators(cohort=cohort, evaluable=evaluable, not_evaluable={}, imputed=imputed)
    if endpoint.at != "follow_up":
        seen = set(at_timepoint(ctx.frames["visits"], endpoint.at)["patient_id"])
        absent = NO_VISIT
    elif endpoint.before_administration is not None:
        window = before_administration_days(
            ctx.frames["administrations"], endpoint.before_administration
        )
        seen = {
            pid
            for pid, day in zip(scored["patient_id"], scored["day"], strict=True)
            if pid in window and day in window[pid]
        }
        absent = f"no_visit_before_administration_{endpoint.before_administration}"
    else:
        seen, absent = set(scored["patient_id"]), NO_FOLLOW_UP
    without = cohort - len(seen & set(ctx.frames["patients"]["patient_id"]))
    incomplete = (
        "core_set_or_fever_missing" if endpoint.variant == "sjia" else "core_set_incomplete"
    )
    reasons = {absent: without, incomplete: not_evaluable - without}
    return Denominators(
        cohort=cohort,
        evaluable=evaluable,
        not_evaluable={reason: n for reason, n in sorted(reasons.items()) if n},
    )


def summarise(
    endpoint: AcrPediEndpoint, ctx: SummaryContext
) -> tuple[AcrProportion | int, AcrPediDetails]:
    """Responders (ever during follow-up, or at the timepoint's visit) with their exact CI."""
    imputed: dict[str, str] = {}
    if endpoint.missing == "observed":
        outcome = patient_outcomes(endpoint, ctx.frames)
    else:
        outcome, imputed = imputed_outcomes(endpoint, ctx.frames, ctx.protocol)
    counts = Counter(outcome.values())
    responders, evaluable = counts[RESPONDER], counts[RESPONDER] + counts[NONRESPONDER]
    counted = _denominators(
        endpoint,
        ctx,
        evaluable,
        counts[NOT_EVALUABLE],
        dict(sorted(Counter(imputed.values()).items())),
    )
    estimate = clopper_pearson(responders, evaluable)
    ci = [estimate.ci[0], estimate.ci[1]] if estimate.ci else None
    details = AcrPediDetails(
        kind="acr_pedi",
        level=endpoint.level,
        variant=endpoint.variant,
        at=endpoint.at,
        before_administration=endpoint.before_administration,
        denominators={endpoint.at: counted},
        ci_method=estimate.method,
        responder_ids=sorted(pid for pid, o in outcome.items() if o == RESPONDER),
        missing=endpoint.missing,
        by_arm=_by_arm(outcome, arms_of(ctx.frames["patients"])),
    )
    if endpoint.output == "count":
        return responders, details.model_copy(update={"ci95": ci})
    return AcrProportion(responders=responders, n=evaluable, ci95=ci), details


def _by_arm(outcome: Mapping[str, str], arms: Mapping[str, str]) -> dict[str, ArmCount]:
    """Responders of evaluable patients in each arm; empty with fewer than two arms."""
    if len(set(arms.values())) < 2:
        return {}
    counts: dict[str, Counter[str]] = {}
    for pid, result in outcome.items():
        counts.setdefault(arms[pid], Counter())[result] += 1
    return {
        arm: ArmCount(responders=c[RESPONDER], n=c[RESPONDER] + c[NONRESPONDER])
        for arm, c in sorted(counts.items())
    }


KIND = register(
    EndpointKind(
        name="acr_pedi",
        spec=AcrPediEndpoint,
        details=AcrPediDetails,
        headline=AcrProportion | int,
        summarise=summarise,
    )
)
