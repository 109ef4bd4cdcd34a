"""The report's drug-survival and response-over-time parts: the series and rows read from the
typed results (`endpoints.<id>` of the `drug_survival`, `acr_pedi` and `inactive_disease`
kinds) and the methods sentences; the figures are `survival_figures`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from jiareg.report._format import number
from jiareg.report.analysis import proportion, timepoint_counts
from jiareg.report.methods import ILAR_LABELS
from jiareg.report.survival_figures import REASON_WORDS, drug_survival_figure
from jiareg.study.endpoints import SummaryContext, endpoints_of
from jiareg.study.endpoints.acr_pedi import AcrPediDetails, AcrPediEndpoint
from jiareg.study.endpoints.drug_survival import (
    DrugSurvivalDetails,
    DrugSurvivalEndpoint,
    summarise,
)
from jiareg.study.endpoints.inactive_disease import InactiveDiseaseDetails, InactiveDiseaseEndpoint

if TYPE_CHECKING:
    from jiareg.study.result import StudyResult

__all__ = [
    "MISSING_WORDS",
    "ResponseSeries",
    "SurvivalPart",
    "drug_survival_parts",
    "response_series",
    "survival_methods",
]

MISSING_WORDS: Final = {
    "observed": "observed values only",
    "nri": "non-responder imputation",
    "locf": "last observation carried forward",
}


@dataclass(frozen=True, slots=True)
class ResponseSeries:
    """One measure over time: timepoint → arm → (responders, counted)."""

    label: str
    points: dict[str, dict[str, tuple[int, int]]]


def response_series(result: StudyResult) -> list[ResponseSeries]:
    """ACR Pedi endpoints at timepoints (one series per level, variant and missing rule) and
    each inactive-disease endpoint, with the counts per arm (the total with one arm)."""
    protocol, results = result.protocol, result.results
    series: dict[str, dict[str, dict[str, tuple[int, int]]]] = {}
    for acr in endpoints_of(protocol, AcrPediEndpoint):
        if acr.at == "follow_up":
            continue
        d = results.details(acr.id, AcrPediDetails)
        label = f"ACR Pedi {acr.level}" + (" (sJIA)" if acr.variant == "sjia" else "")
        label += f", {MISSING_WORDS[acr.missing]}" if acr.missing != "observed" else ""
        total = proportion(results.headline(acr.id), d)
        by_arm = {a: (c.responders, c.n) for a, c in d.by_arm.items()} or {
            "all": (total.k, total.n)
        }
        series.setdefault(label, {})[acr.at] = by_arm
    for cid in endpoints_of(protocol, InactiveDiseaseEndpoint):
        i = results.details(cid.id, InactiveDiseaseDetails)
        label = "Clinical inactive disease"
        label += f", {MISSING_WORDS[cid.missing]}" if cid.missing != "observed" else ""
        inactive = timepoint_counts(result, cid.id)
        points = series.setdefault(label, {})
        for name in cid.at:
            points[name] = {
                arm: (s[name].inactive, s[name].inactive + s[name].not_inactive)
                for arm, s in i.by_arm.items()
            } or {"all": (inactive[name], i.denominators[name].evaluable)}
    order = [t.name for t in protocol.timepoints]
    return [
        ResponseSeries(label, {t: points[t] for t in order if t in points})
        for label, points in series.items()
        # repeated timepoints: two or more after baseline (the tables show a single one)
        if len(set(points) - {protocol.baseline}) >= 2
    ]


COVARIATE_WORDS: Final = {
    "age_years": "age, per year",
    "disease_duration_years": "disease duration, per year",
    "n_prior_anti_tnf": "earlier anti-TNF agents, per agent",
    "baseline_active_joints": "baseline active joints, per joint",
    "baseline_lom_joints": "baseline joints with limited motion, per joint",
    "baseline_phys_global": "baseline physician global, per point",
    "baseline_parent_global": "baseline parent global, per point",
    "baseline_chaq": "baseline CHAQ, per point",
    "baseline_esr": "baseline ESR, per mm/h",
}


def term_words(term: str, reference_arm: str | None) -> str:
    """A Cox term in words.

    >>> term_words("arm=abatacept", "tocilizumab"), term_words("sex=M", None)
    ('abatacept vs tocilizumab', 'sex M vs F')
    >>> term_words("ilar_category=systemic", None), term_words("baseline_chaq", None)
    ('systemic vs the reference category', 'baseline CHAQ, per point')
    """
    name, _, level = term.partition("=")
    if name == "arm":
        return f"{level} vs {reference_arm}"
    if name == "sex":
        return f"sex {level} vs {'F' if level == 'M' else 'M'}"
    if name == "ilar_category":
        return f"{ILAR_LABELS.get(level, level)} vs the reference category"
    return COVARIATE_WORDS.get(term, term.replace("_", " "))


@dataclass(frozen=True, slots=True)
class SurvivalPart:
    """One drug-survival endpoint in the report: its title, figure and rows."""

    title: str
    figure: bytes | None
    rows: list[tuple[str, str]]


def _days(value: float | None) -> str:
    return "not reached" if value is None else f"{number(value, 0)} days"


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else number(value, 3)


def survival_rows(
    details: DrugSurvivalDetails, medians: Mapping[str, float | None]
) -> list[tuple[str, str]]:
    """Per arm the patients, stops and median (`medians`: the endpoint's headline); the
    log-rank test; the stops by reason; the Cox model's hazard ratios with their
    proportional-hazards checks."""
    rows = []
    for arm, survival in sorted(details.arms.items()):
        name = "" if arm == "all" else f"{arm}: "
        low, high = (number(x, 0) if x is not None else "NE" for x in survival.median_days_ci95)
        rows.append((f"{name}patients, stopped", f"{survival.n}, {survival.n_stopped}"))
        rows.append(
            (
                f"{name}median time on drug (95 % CI)",
                f"{_days(medians.get(arm))} ({low}–{high})",
            )
        )
        stops = details.stop_reasons.get(arm, {})
        if stops:
            rows.append(
                (
                    f"{name}stopped for",
                    ", ".join(f"{REASON_WORDS.get(r, r)} {n}" for r, n in stops.items()),
                )
            )
    if details.log_rank is not None:
        test = details.log_rank
        rows.append(
            (
                "Log-rank test",
                f"χ² {number(test.statistic, 2)} on {test.df} df, p {_p(test.p_value)}",
            )
        )
    cox = details.cox
    if cox is not None and cox.not_fitted:
        rows.append(("Cox model", f"not fitted: {cox.not_fitted}"))
    elif cox is not None and cox.terms is not None:
        strata = f", stratified by {cox.stratified_by}" if cox.stratified_by else ""
        rows.append(
            (
                "Cox model",
                f"{cox.n} patients, {cox.n_stopped} stops{strata}; "
                f"{cox.excluded_missing_covariates} left out for a missing "
                "covariate",
            )
        )
        for term in cox.terms:
            rows.append(
                (
                    f"Hazard ratio, {term_words(term.term, cox.reference_arm)}",
                    f"{number(term.hazard_ratio, 2)} ({number(term.ci95[0], 2)}–"
                    f"{number(term.ci95[1], 2)}), p {_p(term.p_value)}; proportional "
                    f"hazards check p {_p(term.ph_p_value)}",
                )
            )
    return rows


def drug_survival_parts(result: StudyResult) -> list[SurvivalPart]:
    """Each drug-survival endpoint's title, figure (None when nobody was evaluable) and rows.

    A cohort too large for the swimmer plot whose protocol has no `drug_survival` endpoint
    gets the index drug's survival all the same, computed here by the endpoint's own summary
    (without a horizon; the last visit is the latest timepoint or follow-up visit collected)
    and said so: results.json does not hold it."""
    parts = []
    endpoints = endpoints_of(result.protocol, DrugSurvivalEndpoint)
    for endpoint in endpoints:
        details = result.results.details(endpoint.id, DrugSurvivalDetails)
        title = endpoint.label or "Drug survival of the index biologic"
        figure = drug_survival_figure(details) if details.arms else None
        medians = result.results.headline(endpoint.id)
        if not isinstance(medians, dict):
            raise TypeError(f"{endpoint.id}: expected arm → median days, got {medians!r}")
        parts.append(SurvivalPart(title, figure, survival_rows(details, medians)))
    frames = result.frames
    large = len(result.tables["patients"]) > result.protocol.report.per_patient_max
    if not endpoints and large and "patients" in frames:
        default = DrugSurvivalEndpoint(id="index_drug_survival", kind="drug_survival")
        context = SummaryContext(result.protocol, frames, dict(result.tables))
        medians, details = summarise(default, context)
        if details.arms:
            note = (
                "Not an endpoint of this protocol: drawn for the report in place of each "
                "patient's courses; not in results.json"
            )
            rows = [("Computed for this report", note), *survival_rows(details, medians)]
            parts.append(
                SurvivalPart(
                    "Drug survival of the index biologic", drug_survival_figure(details), rows
                )
            )
    return parts


def survival_methods(result: StudyResult) -> list[str]:
    """Methods sentences for drug survival and for missing data at timepoints."""
    protocol = result.protocol
    items = []
    for endpoint in endpoints_of(protocol, DrugSurvivalEndpoint):
        horizon = f", and at {endpoint.horizon_days} days" if endpoint.horizon_days else ""
        text = (
            "Drug survival: time from the first administration of the index biologic to "
            "stopping it for any reason, patients still on it censored at their last visit or "
            f"administration{horizon}; Kaplan–Meier estimate (Kaplan EL, Meier P, J Am Stat "
            "Assoc 1958;53:457-481) with a 95 % confidence interval, arms compared by the "
            "log-rank test (Mantel N, Cancer Chemother Rep 1966;50:163-170); stopping for each "
            "reason as a cumulative incidence with the other reasons as competing risks "
            "(Aalen OO, Johansen S, Scand J Stat 1978;5:141-150)."
        )
        if endpoint.cox:
            text += (
                " Cox proportional-hazards model (Cox DR, J R Stat Soc B 1972;34:187-220) of "
                "the arm and the baseline covariates named in the protocol, on the patients "
                "with every covariate recorded"
                + (", each site with its own baseline hazard" if endpoint.strata else "")
                + "; proportional hazards checked by the scaled Schoenfeld residuals "
                "(Grambsch PM, Therneau TM, Biometrika 1994;81:515-526)."
            )
        items.append(text + ' (docs/reference/protocol.md, "Drug survival").')
    if (
        not items
        and len(result.tables["patients"]) > result.protocol.report.per_patient_max
        and result.frames
    ):
        items.append(
            "Drug survival of the index biologic (drawn for the report, not a protocol "
            "endpoint): time to stopping it for any reason, censored at the last visit or "
            "administration; Kaplan–Meier (Kaplan EL, Meier P, J Am Stat Assoc "
            "1958;53:457-481) and the cumulative incidence of each stop reason (Aalen OO, "
            "Johansen S, Scand J Stat 1978;5:141-150)."
        )
    modes = {e.missing for e in endpoints_of(protocol, AcrPediEndpoint)} | {
        e.missing for e in endpoints_of(protocol, InactiveDiseaseEndpoint)
    }
    if "nri" in modes:
        items.append(
            "Non-responder imputation: every patient is counted at each timepoint; a patient "
            "who had stopped the drug, missed the visit or could not be assessed counts as not "
            "responding (not in inactive disease)."
        )
    if "locf" in modes:
        items.append(
            "Last observation carried forward: a missed or incomplete visit takes the value of "
            "the latest earlier timepoint (the baseline state when there is none, i.e. no "
            "response); a patient who had stopped the drug counts as not responding, never "
            "carried forward."
        )
    if modes - {"observed"}:
        items[-1] += (
            " Imputed patients are counted by reason in results.json "
            '(docs/reference/protocol.md, "Missing data at timepoints").'
        )
    return items
