"""The report's numbers, read from a `StudyResult` into typed objects.

The study (`jiareg.study.summarise`) computes every statistic once, with `jiareg.stats`, and
stores it in `results`; the report only reads them back here, so report.html, report.pdf and
results.json can never disagree. Endpoints are found by their kind in the protocol, so any
protocol's report works, not just the founding study's.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, TypeVar

from jiareg.derive.exact import to_fraction
from jiareg.report._format import ordinal, timepoint_label
from jiareg.stats import KaplanMeierResult, KaplanMeierRow, ProportionResult, RateResult, Summary
from jiareg.study.protocol import (
    AcrPediEndpoint,
    AdverseEventsEndpoint,
    ChaqOverEndpoint,
    CoreSetEndpoint,
    SteroidChangeEndpoint,
    SystemicFeaturesEndpoint,
    TimeToResponseEndpoint,
)

if TYPE_CHECKING:
    from jiareg.study.protocol import Endpoint
    from jiareg.study.result import StudyResult

CORE_SET: Final = ("active_joints", "lom_joints", "phys_global", "parent_global", "chaq", "esr")
"""The six JIA core-set variables in the order the poster lists them (R-CORESET-1)."""

_E = TypeVar("_E")


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
    summary: dict[str, int]


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


def _endpoints(result: StudyResult, kind: type[_E]) -> list[_E]:
    return [e for e in result.protocol.endpoints if isinstance(e, kind)]


def _details(result: StudyResult, endpoint: Endpoint) -> dict[str, Any]:
    details: dict[str, Any] = result.results.get("endpoints", {}).get(endpoint.id, {})
    return details


def compute(result: StudyResult) -> ReportNumbers:
    """Read the report's numbers out of `result` (pure: nothing is written)."""
    protocol = result.protocol
    core = _endpoints(result, CoreSetEndpoint)
    timepoints = (
        tuple(dict.fromkeys((protocol.baseline, *core[0].at))) if core else (protocol.baseline,)
    )
    rows = _core_set(result, core[0]) if core else ()
    acr = [e for e in _endpoints(result, AcrPediEndpoint) if e.at == "follow_up"]
    overall = next((e for e in acr if e.before_administration is None), None)
    before = next((e for e in acr if e.before_administration is not None), None)
    overall_details = _details(result, overall) if overall else {}
    return ReportNumbers(
        baseline=protocol.baseline,
        timepoints=timepoints,
        core_set=rows,
        acr_endpoints=tuple(
            AcrRow(acr_label(e), p, int(_details(result, e).get("not_evaluable", 0)))
            for e in _endpoints(result, AcrPediEndpoint)
            if (p := _proportion(_details(result, e))) is not None
        ),
        acr_pedi=_proportion(overall_details) if overall else None,
        acr_pedi_label=f"ACR Pedi {overall.level}" if overall else "ACR Pedi 30",
        before_infusion=_proportion(_details(result, before)) if before else None,
        before_infusion_number=before.before_administration if before else None,
        time_to_response=_time_to_response(result),
        adverse_events=_adverse_events(result),
        not_evaluable=overall_details.get("not_evaluable"),
        counts=_counts(result),
        steroids=next(
            (
                SteroidChange(e.at, dict(result.results.get(e.id, {})))
                for e in _endpoints(result, SteroidChangeEndpoint)
            ),
            None,
        ),
    )


def _counts(result: StudyResult) -> tuple[CountsByTimepoint, ...]:
    rows = []
    for endpoint in result.protocol.endpoints:
        counts = result.results.get(endpoint.id)
        if not isinstance(counts, dict):
            continue
        if isinstance(endpoint, ChaqOverEndpoint):
            label = f"CHAQ > {endpoint.threshold}"
        elif isinstance(endpoint, SystemicFeaturesEndpoint):
            features = _details(result, endpoint).get("features", ["fever", "rash"])
            label = " or ".join(str(f) for f in features).capitalize()
        else:
            continue
        order = [t.name for t in result.protocol.timepoints if t.name in counts]
        rows.append(CountsByTimepoint(label, {t: int(counts[t]) for t in order}))
    return tuple(rows)


def acr_label(endpoint: AcrPediEndpoint) -> str:
    """The endpoint's own label, else one built from its level, variant, timepoint and anchor.

    >>> acr_label(AcrPediEndpoint(id="x", kind="acr_pedi", level=50, at="month_3"))
    'ACR Pedi 50 at month 3'
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
    return text + f" at {timepoint_label(endpoint.at)}"


def _summary(stat: dict[str, Any]) -> Summary:
    def exact(key: str) -> Fraction | None:
        return to_fraction(stat.get(key))

    return Summary(
        n=int(stat.get("n", 0)),
        n_missing=int(stat.get("n_missing", 0)),
        median=exact("median"),
        q1=exact("q1"),
        q3=exact("q3"),
        min=exact("min"),
        max=exact("max"),
    )


def _core_set(result: StudyResult, endpoint: CoreSetEndpoint) -> tuple[CoreSetRow, ...]:
    table = result.results.get(endpoint.id, {})
    tests = _details(result, endpoint).get("wilcoxon_vs_baseline", {})
    rows = []
    for variable in CORE_SET:
        summaries = {t: _summary(table.get(t, {}).get(variable, {})) for t in table}
        paired = {
            t: PairedTest(
                n_pairs=int(by_var[variable]["n_pairs"]),
                p_value=by_var[variable]["p_value"],
                median_difference=to_fraction(by_var[variable]["median_difference"]),
                method=str(by_var[variable]["method"]),
            )
            for t, by_var in tests.items()
            if variable in by_var
        }
        rows.append(CoreSetRow(variable, summaries, paired))
    return tuple(rows)


def _proportion(details: dict[str, Any]) -> ProportionResult | None:
    if "responders" not in details or "n" not in details:
        return None
    k, n = int(details["responders"]), int(details["n"])
    ci = details.get("ci95")
    return ProportionResult(
        k=k,
        n=n,
        estimate=k / n if n else None,
        ci=(float(ci[0]), float(ci[1])) if ci else None,
        confidence=0.95,
        method=str(details.get("ci_method", "Clopper-Pearson exact")),
    )


def _time_to_response(result: StudyResult) -> TimeToResponse | None:
    endpoints = _endpoints(result, TimeToResponseEndpoint)
    if not endpoints:
        return None
    endpoint = endpoints[0]
    headline = result.results.get(endpoint.id, {})
    curve = _details(result, endpoint).get("curve", [])
    frame = result.tables.get("time_to_response")
    if frame is not None:
        frame = frame[frame["level"] == endpoint.level].sort_values("patient_id")
    km = None
    if curve:
        low, high = headline.get("median_days_ci95") or (None, None)
        km = KaplanMeierResult(
            n=int(headline["n"]),
            n_events=int(headline["n_events"]),
            median=headline.get("median_days"),
            median_ci=(low, high),
            table=tuple(KaplanMeierRow(**row) for row in curve),
        )
    return TimeToResponse(
        level=endpoint.level,
        patient_id=tuple(str(p) for p in frame["patient_id"]) if frame is not None else (),
        days=tuple(float(d) for d in frame["day"]) if frame is not None else (),
        responded=tuple(bool(e) for e in frame["event"]) if frame is not None else (),
        km=km,
    )


def _adverse_events(result: StudyResult) -> AdverseEvents | None:
    endpoints = _endpoints(result, AdverseEventsEndpoint)
    if not endpoints:
        return None
    details = _details(result, endpoints[0])
    years = float(details.get("patient_years", 0.0))
    ci = details.get("rate_ci95")
    rate = (
        RateResult(
            events=int(details["events"]),
            patient_years=years,
            rate_per_100py=float(details["rate_per_100py"]),
            ci=(float(ci[0]), float(ci[1])),
            confidence=0.95,
            method=str(details.get("rate_method")),
        )
        if ci is not None and details.get("rate_per_100py") is not None
        else None
    )
    return AdverseEvents(
        events=int(details.get("events", 0)),
        serious=int(details.get("serious", 0)),
        patient_years=years,
        rate=rate,
        by_term={str(k): int(v) for k, v in details.get("by_term", {}).items()},
    )
