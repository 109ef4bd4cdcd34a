"""The report's numbers, read from a `StudyResult` into typed objects.

The study (each endpoint kind of `jiareg.study.endpoints`) computes every statistic once, with
`jiareg.stats`, into the typed `Results`; the report only reads them back here, so report.html,
report.pdf and results.json can never disagree. A missing or mistyped entry raises (`Results.
details`, `Results.headline`) rather than rendering empty. Endpoints are found by their kind in
the protocol, so any protocol's report works, not just the founding study's; a kind with its own
`section` renders it (`ReportNumbers.sections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from jiareg.derive.exact import to_fraction
from jiareg.report._format import ordinal, timepoint_label
from jiareg.stats import KaplanMeierResult, KaplanMeierRow, ProportionResult, RateResult, Summary
from jiareg.study.endpoints import ReportSection, endpoints_of, kind_of
from jiareg.study.endpoints.acr_pedi import AcrPediDetails, AcrPediEndpoint, AcrProportion
from jiareg.study.endpoints.adverse_events import AdverseEventsDetails, AdverseEventsEndpoint
from jiareg.study.endpoints.chaq_over import ChaqOverDetails, ChaqOverEndpoint
from jiareg.study.endpoints.common import CoreSetStat
from jiareg.study.endpoints.core_set import CoreSetDetails, CoreSetEndpoint, CoreSetTable
from jiareg.study.endpoints.steroid_change import SteroidChangeEndpoint, SteroidCounts
from jiareg.study.endpoints.systemic_features import (
    SystemicFeaturesDetails,
    SystemicFeaturesEndpoint,
)
from jiareg.study.endpoints.time_to_response import (
    TimeToResponseDetails,
    TimeToResponseEndpoint,
    TimeToResponseHeadline,
)
from jiareg.vocab import CORE_SET_VARIABLES

if TYPE_CHECKING:
    from jiareg.study.result import StudyResult


@dataclass(frozen=True, slots=True)
class PairedTest:
    """The Wilcoxon signed-rank test of one variable against baseline, as the study ran it."""

    n_pairs: int
    p_value: float | None
    median_difference: Fraction | None
    method: str


@dataclass(frozen=True, slots=True)
class CoreSetRow:
    """One core-set variable: its summary at each timepoint and the paired test to baseline."""

    variable: str
    summaries: dict[str, Summary]
    tests: dict[str, PairedTest]


@dataclass(frozen=True, slots=True)
class TimeToResponse:
    """Per-patient time to the first response and the Kaplan–Meier estimate of it."""

    level: int
    patient_id: tuple[str, ...]
    days: tuple[float, ...]
    responded: tuple[bool, ...]
    km: KaplanMeierResult | None


@dataclass(frozen=True, slots=True)
class AdverseEvents:
    """Counts and the exposure-adjusted rate of the adverse-event endpoint."""

    events: int
    serious: int
    patient_years: float
    rate: RateResult | None
    by_term: dict[str, int]


@dataclass(frozen=True, slots=True)
class AcrRow:
    """One ACR Pedi endpoint: its label, the responders with their CI, the not evaluable."""

    label: str
    proportion: ProportionResult
    not_evaluable: int


@dataclass(frozen=True, slots=True)
class CountsByTimepoint:
    """Patients with a feature at each timepoint (CHAQ over a threshold, systemic features)."""

    label: str
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class SteroidChange:
    """The steroid endpoint: baseline users and the change counts at its timepoint."""

    at: str
    summary: SteroidCounts


@dataclass(frozen=True, slots=True)
class ReportNumbers:
    """All numbers one report shows beyond the plain counts of `results`."""

    baseline: str
    timepoints: tuple[str, ...]
    core_set: tuple[CoreSetRow, ...]
    acr_endpoints: tuple[AcrRow, ...]
    acr_pedi: ProportionResult | None
    acr_pedi_label: str
    before_infusion: ProportionResult | None
    before_infusion_number: int | None
    time_to_response: TimeToResponse | None
    adverse_events: AdverseEvents | None
    not_evaluable: int | None
    counts: tuple[CountsByTimepoint, ...]
    steroids: SteroidChange | None
    sections: tuple[ReportSection, ...]


def compute(result: StudyResult) -> ReportNumbers:
    """Read the report's numbers out of `result` (pure: nothing is written)."""
    protocol = result.protocol
    core = endpoints_of(protocol, CoreSetEndpoint)
    timepoints = (
        tuple(dict.fromkeys((protocol.baseline, *core[0].at))) if core else (protocol.baseline,)
    )
    rows = _core_set(result, core[0]) if core else ()
    every_acr = endpoints_of(protocol, AcrPediEndpoint)
    acr = [e for e in every_acr if e.at == "follow_up"]
    overall = next((e for e in acr if e.before_administration is None), None)
    before = next((e for e in acr if e.before_administration is not None), None)
    overall_row = _acr_row(result, overall) if overall else None
    steroids = endpoints_of(protocol, SteroidChangeEndpoint)
    return ReportNumbers(
        baseline=protocol.baseline,
        timepoints=timepoints,
        core_set=rows,
        acr_endpoints=tuple(_acr_row(result, e) for e in every_acr),
        acr_pedi=overall_row.proportion if overall_row else None,
        acr_pedi_label=f"ACR Pedi {overall.level}" if overall else "ACR Pedi 30",
        before_infusion=_acr_row(result, before).proportion if before else None,
        before_infusion_number=before.before_administration if before else None,
        time_to_response=_time_to_response(result),
        adverse_events=_adverse_events(result),
        not_evaluable=overall_row.not_evaluable if overall_row else None,
        counts=_counts(result),
        steroids=(
            SteroidChange(steroids[0].at, _steroid_counts(result, steroids[0].id))
            if steroids
            else None
        ),
        sections=_sections(result),
    )


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


def _acr_row(result: StudyResult, endpoint: AcrPediEndpoint) -> AcrRow:
    """The endpoint's responders and CI (headline, details) and its not-evaluable patients
    (denominators)."""
    details = result.results.details(endpoint.id, AcrPediDetails)
    counted = details.denominators[endpoint.at]
    return AcrRow(
        acr_label(endpoint),
        proportion(result.results.headline(endpoint.id), details),
        counted.cohort - counted.evaluable,
    )


def _steroid_counts(result: StudyResult, endpoint_id: str) -> SteroidCounts:
    counts = result.results.headline(endpoint_id)
    if not isinstance(counts, SteroidCounts):
        raise TypeError(f"{endpoint_id}: expected steroid counts, got {counts!r}")
    return counts


def _sections(result: StudyResult) -> tuple[ReportSection, ...]:
    """The sections endpoint kinds render themselves (`EndpointKind.section`), in order."""
    sections = []
    for endpoint in result.protocol.endpoints:
        render = kind_of(endpoint).section
        if render is not None:
            details = result.results.details(endpoint.id, kind_of(endpoint).details)
            section = render(endpoint, details)
            if section is not None:
                sections.append(section)
    return tuple(sections)


def _counts(result: StudyResult) -> tuple[CountsByTimepoint, ...]:
    results, order = result.results, [t.name for t in result.protocol.timepoints]
    rows = []
    for chaq in endpoints_of(result.protocol, ChaqOverEndpoint):
        results.details(chaq.id, ChaqOverDetails)  # raises when the id is not a chaq_over
        rows.append((chaq.id, f"CHAQ > {chaq.threshold}", timepoint_counts(result, chaq.id)))
    for systemic in endpoints_of(result.protocol, SystemicFeaturesEndpoint):
        details = results.details(systemic.id, SystemicFeaturesDetails)
        label = " or ".join(details.features).capitalize()
        rows.append((systemic.id, label, timepoint_counts(result, systemic.id)))
    position = {e.id: i for i, e in enumerate(result.protocol.endpoints)}
    return tuple(
        CountsByTimepoint(label, {t: counts[t] for t in order if t in counts})
        for _, label, counts in sorted(rows, key=lambda row: position[row[0]])
    )


def timepoint_counts(result: StudyResult, endpoint_id: str) -> dict[str, int]:
    """The headline of a counting endpoint: timepoint → patients (TypeError otherwise)."""
    counts = result.results.headline(endpoint_id)
    if not isinstance(counts, dict) or not all(isinstance(v, int) for v in counts.values()):
        raise TypeError(f"{endpoint_id}: expected timepoint → patients, got {counts!r}")
    return counts


def acr_label(endpoint: AcrPediEndpoint) -> str:
    """The endpoint's own label, else one built from its level, variant, timepoint and anchor.

    >>> acr_label(AcrPediEndpoint(id="x", kind="acr_pedi", level=50, at="month_3"))
    'ACR Pedi 50 at month 3'
    >>> acr_label(AcrPediEndpoint(id="z", kind="acr_pedi", at="month_6", missing="nri"))
    'ACR Pedi 30 at month 6, non-responder imputation'
    >>> acr_label(AcrPediEndpoint(id="y", kind="acr_pedi", before_administration=3))
    'ACR Pedi 30 at a visit after the 2nd infusion, before the 3rd'
    """
    if endpoint.label:
        return endpoint.label
    text = f"ACR Pedi {endpoint.level}" + (" (sJIA variant)" if endpoint.variant == "sjia" else "")
    n = endpoint.before_administration
    if n is not None:
        return text + f" at a visit after the {ordinal(n - 1)} infusion, before the {ordinal(n)}"
    if endpoint.at == "follow_up":
        return text + " at any follow-up visit"
    imputed = {"nri": ", non-responder imputation", "locf": ", LOCF"}.get(endpoint.missing, "")
    return text + f" at {timepoint_label(endpoint.at)}{imputed}"


def _summary(stat: CoreSetStat) -> Summary:
    return Summary(
        n=stat.n,
        n_missing=stat.n_missing,
        median=to_fraction(stat.median),
        q1=to_fraction(stat.q1),
        q3=to_fraction(stat.q3),
        min=to_fraction(stat.min),
        max=to_fraction(stat.max),
    )


def _core_set_table(result: StudyResult, endpoint_id: str) -> CoreSetTable:
    table = result.results.headline(endpoint_id)
    if not isinstance(table, dict):
        raise TypeError(f"{endpoint_id}: expected the core-set table, got {table!r}")
    return table


def _core_set(result: StudyResult, endpoint: CoreSetEndpoint) -> tuple[CoreSetRow, ...]:
    table = _core_set_table(result, endpoint.id)
    tests = result.results.details(endpoint.id, CoreSetDetails).wilcoxon_vs_baseline
    rows = []
    for variable in CORE_SET_VARIABLES:
        summaries = {t: _summary(by_var[variable]) for t, by_var in table.items()}
        paired = {
            t: PairedTest(
                n_pairs=by_var[variable].n_pairs,
                p_value=by_var[variable].p_value,
                median_difference=to_fraction(by_var[variable].median_difference),
                method=by_var[variable].method,
            )
            for t, by_var in tests.items()
            if variable in by_var
        }
        rows.append(CoreSetRow(variable, summaries, paired))
    return tuple(rows)


def _time_to_response(result: StudyResult) -> TimeToResponse | None:
    endpoints = endpoints_of(result.protocol, TimeToResponseEndpoint)
    if not endpoints:
        return None
    endpoint = endpoints[0]
    headline = result.results.headline(endpoint.id)
    if not isinstance(headline, TimeToResponseHeadline):
        raise TypeError(f"{endpoint.id}: expected a time-to-response headline, got {headline!r}")
    curve = result.results.details(endpoint.id, TimeToResponseDetails).curve or []
    frame = result.tables["time_to_response"]
    frame = frame[frame["level"] == endpoint.level].sort_values("patient_id")
    km = None
    if curve:
        low, high = headline.median_days_ci95 or (None, None)
        km = KaplanMeierResult(
            n=headline.n,
            n_events=headline.n_events,
            median=headline.median_days,
            median_ci=(low, high),
            table=tuple(KaplanMeierRow(**point.model_dump()) for point in curve),
        )
    return TimeToResponse(
        level=endpoint.level,
        patient_id=tuple(str(p) for p in frame["patient_id"]),
        days=tuple(float(d) for d in frame["day"]),
        responded=tuple(bool(e) for e in frame["event"]),
        km=km,
    )


def _adverse_events(result: StudyResult) -> AdverseEvents | None:
    endpoints = endpoints_of(result.protocol, AdverseEventsEndpoint)
    if not endpoints:
        return None
    details = result.results.details(endpoints[0].id, AdverseEventsDetails)
    events = result.results.headline(endpoints[0].id)
    if not isinstance(events, int):
        raise TypeError(f"{endpoints[0].id}: expected the number of events, got {events!r}")
    years, ci = float(details.patient_years), details.rate_ci95
    rate = (
        RateResult(
            events=events,
            patient_years=years,
            rate_per_100py=float(details.rate_per_100py),
            ci=(float(ci[0]), float(ci[1])),
            confidence=0.95,
            method=str(details.rate_method),
        )
        if ci is not None and details.rate_per_100py is not None
        else None
    )
    return AdverseEvents(
        events=events,
        serious=details.serious,
        patient_years=years,
        rate=rate,
        by_term=dict(details.by_term),
    )
