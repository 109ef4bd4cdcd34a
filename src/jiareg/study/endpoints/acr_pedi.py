"""Endpoint kind `acr_pedi`: ACR Pedi responders at a timepoint or during follow-up.

The per-visit rule is `jiareg.derive.acr_pedi_columnar.acr_pedi_columns` (SPEC R-ACRPEDI, the TENDER
sJIA variant R-ACRPEDI-4); `responses` scores every follow-up visit against the patient's
baseline visit as one Ibis table. Responders get a Clopper–Pearson exact 95 % CI
(`jiareg.stats.clopper_pearson`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from jiareg.derive.acr_pedi_columnar import acr_pedi_columns
from jiareg.derive.coreset import CORE_SET_COLUMNS
from jiareg.stats import ProportionResult, clopper_pearson
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
from jiareg.vocab import NONRESPONDER, NOT_EVALUABLE, RESPONDER

if TYPE_CHECKING:
    import pandas as pd
    from ibis.expr.types import Table

    from jiareg.study.protocol import Protocol

__all__ = [
    "AcrPediDetails",
    "AcrPediEndpoint",
    "AcrProportion",
    "acr_column",
    "before_administration_days",
    "patient_outcomes",
    "proportion",
    "responses",
]


class AcrPediEndpoint(EndpointSpec):
    """ACR Pedi response (R-ACRPEDI) at `level` versus the baseline timepoint.

    `at`: a timepoint name (the visit chosen there) or `follow_up` (responder at any visit
    after day 0 — "ever"). `before_administration: n` keeps only the follow-up visits after the
    day of administration n-1 up to and including the day of administration n (SPEC
    R-ACRPEDI-3: "before the 3rd infusion" = after infusion 2, before infusion 3).
    `variant: sjia` is the TENDER form (R-ACRPEDI-4). `output: count` writes the number of
    responders only.
    """

    kind: Literal["acr_pedi"]
    level: Literal[30, 50, 70, 90, 100] = 30
    variant: Literal["standard", "sjia"] = "standard"
    at: Name = "follow_up"
    before_administration: int | None = Field(None, ge=2)
    output: Literal["proportion", "count"] = "proportion"

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


class AcrPediDetails(EndpointDetails, SparseResultModel):
    """`endpoints.<id>`: the definition, the interval's method and the responders' ids.

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


def proportion(headline: object, details: AcrPediDetails) -> ProportionResult:
    """The responders of an `acr_pedi` endpoint with their CI, from its headline (either
    output) and its details: the evaluable n is the headline's or the denominators'."""
    if isinstance(headline, AcrProportion):
        k, n, ci = headline.responders, headline.n, headline.ci95
    elif isinstance(headline, int):
        k, n, ci = headline, details.denominators[details.at].evaluable, details.ci95
    else:
        raise TypeError(f"an acr_pedi headline is a proportion or a count, not {headline!r}")
    return ProportionResult(
        k=k,
        n=n,
        estimate=k / n if n else None,
        ci=(float(ci[0]), float(ci[1])) if ci else None,
        confidence=0.95,
        method=details.ci_method,
    )


def acr_column(level: int, variant: str) -> str:
    """Name of the per-visit result column of a level and variant, e.g. `acr_pedi_30_sjia`."""
    return f"acr_pedi_{level}" + ("_sjia" if variant == "sjia" else "")


def responses(follow_up: Table, baseline: Table, exposure: Table, protocol: Protocol) -> Table:
    """ACR Pedi of every follow-up visit against the patient's baseline visit.

    Columns: patient_id, visit_date, day, administration_number (exposure administrations given
    before the visit date: a visit on an infusion day is that infusion's pre-infusion
    assessment, SPEC R-ACRPEDI-3), fever, acr_pedi_level, and one result column per ACR Pedi
    level/variant the protocol's endpoints use (always `acr_pedi_30` and `acr_pedi_30_sjia`).
    """
    config = protocol.config
    inputs = CORE_SET_COLUMNS  # the six variables and the globals' scales
    base = baseline.select("patient_id", *[baseline[c].name(f"b_{c}") for c in inputs])
    joined = follow_up.join(base, follow_up.patient_id == base.patient_id)
    scored = acr_pedi_columns(
        joined,
        {c: joined[f"b_{c}"] for c in inputs},
        {c: joined[c] for c in inputs},
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
    given = exposure.join(
        scored.select("patient_id", "visit_date"),
        (exposure.patient_id == scored.patient_id) & (exposure.date < scored.visit_date),
    )
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


def patient_outcomes(
    endpoint: AcrPediEndpoint, frames: Mapping[str, pd.DataFrame]
) -> dict[str, str]:
    """Each cohort patient's outcome (RESPONDER, NONRESPONDER, NOT_EVALUABLE): responder at
    any follow-up visit (in the `before_administration` window) or at the timepoint's visit."""
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
    endpoint: AcrPediEndpoint, ctx: SummaryContext, evaluable: int, not_evaluable: int
) -> Denominators:
    """Evaluable: responders and non-responders; the others split into those without a visit
    where the endpoint looks (never evaluable) and those whose visits could not be scored."""
    scored = ctx.frames["responses"]
    cohort = len(ctx.frames["patients"])
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
    outcome = patient_outcomes(endpoint, ctx.frames)
    counts = Counter(outcome.values())
    responders, evaluable = counts[RESPONDER], counts[RESPONDER] + counts[NONRESPONDER]
    counted = _denominators(endpoint, ctx, evaluable, counts[NOT_EVALUABLE])
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
    )
    if endpoint.output == "count":
        return responders, details.model_copy(update={"ci95": ci})
    return AcrProportion(responders=responders, n=evaluable, ci95=ci), details


KIND = register(
    EndpointKind(
        name="acr_pedi",
        spec=AcrPediEndpoint,
        details=AcrPediDetails,
        headline=AcrProportion | int,
        summarise=summarise,
    )
)
