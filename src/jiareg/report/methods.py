"""The report's methods box in plain words, citing the published sources and the project's
reference pages (docs/reference/) instead of code words or rule ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from jiareg.report._format import timepoint_label
from jiareg.stats.describe import QUANTILE_REFERENCE

if TYPE_CHECKING:
    from jiareg.report.analysis import ReportNumbers
    from jiareg.study.protocol import Protocol
    from jiareg.study.result import StudyResult

__all__ = ["ILAR_LABELS", "methods"]

ILAR_LABELS: Final = {
    "systemic": "systemic",
    "oligo_persistent": "persistent oligoarthritis",
    "oligo_extended": "extended oligoarthritis",
    "poly_rf_neg": "RF-negative polyarthritis",
    "poly_rf_pos": "RF-positive polyarthritis",
    "psoriatic": "psoriatic arthritis",
    "era": "enthesitis-related arthritis",
    "undifferentiated": "undifferentiated arthritis",
}
"""ILAR categories as a reader names them (Petty RE et al., J Rheumatol 2004;31:390-392)."""

ACR_MISSING: Final = {
    "determinate": (
        "a patient with a missing core-set variable counts as a responder only when the response "
        "holds even if that variable had worsened, and as a non-responder only when it fails "
        "even if the variable had improved; otherwise the patient is not evaluable"
    ),
    "complete_case": "a patient with any missing core-set variable is not evaluable",
}
"""`config.acr_missing_mode` in words (docs/reference/acr-pedi.md, "Missing data")."""

JADAS_CUTOFFS: Final = {
    "consolaro": "Consolaro et al. (2014)",
    "trincianti2021": "Trincianti et al. (2021)",
    "backstrom2019": "Bäckström et al. (2019)",
}
"""Published sources of each `config.jadas_cutoff_set` (docs/reference/jadas.md)."""

FAILURE_SOURCES: Final = {
    "recorded": "the stop reason recorded for the anti-TNF course",
    "derived": "the visits on the anti-TNF drug",
    "either": "the recorded stop reason, else the visits on the anti-TNF drug",
}

LIKERT_CAVEAT: Final = (
    "Both global assessments are reported on a 4-point 0–3 scale. Percent changes on such a "
    "scale are coarse (3→2 = 33 %, 2→1 = 50 %, 1→0 = 100 %; any one-step rise from 1 is a "
    "100 % worsening), so ACR Pedi responses that rest on them should be read with care "
    "(docs/reference/acr-pedi.md)."
)


def _window(protocol: Protocol, name: str) -> str:
    tp = protocol.timepoint(name)
    if tp.before_administration is not None:
        where = f"after infusion {tp.before_administration - 1} up to infusion "
        where += str(tp.before_administration)
    elif tp.window is not None:
        where = f"days {tp.window.from_day} to {tp.window.to_day}"
    else:
        where = "any day"
    pick = {"last": "the last visit", "first": "the first visit", "nearest": "the visit nearest"}
    chosen = pick[tp.pick] + (f" day {tp.target_day}" if tp.target_day is not None else "")
    joiner = " " if tp.before_administration is not None else " in "
    return f"{timepoint_label(name)}: {chosen}{joiner}{where}"


def methods(result: StudyResult, numbers: ReportNumbers) -> list[str]:
    """The methods box: every choice that changes a number, stated in words with its source."""
    protocol = result.protocol
    config = protocol.config
    exact = any(t.method == "exact" for row in numbers.core_set for t in row.tests.values())
    items = [
        "Timepoints relative to the first "
        + (
            f"{protocol.index_drug} infusion (day 0): "
            if protocol.arms is None
            else "administration of each patient's arm drug (day 0): "
        )
        + "; ".join(_window(protocol, t.name) for t in protocol.timepoints)
        + ".",
        "ACR Pedi response (Giannini et al., Arthritis Rheum 1997;40:1202-1209; "
        f"docs/reference/acr-pedi.md): {ACR_MISSING[config.acr_missing_mode]}.",
        f"JADAS disease-activity cut-offs of {JADAS_CUTOFFS[config.jadas_cutoff_set]} "
        "(docs/reference/jadas.md).",
        "Medians and quartiles computed exactly on the collected values, quartiles by linear "
        f"interpolation between the ordered values (type 7 of {QUANTILE_REFERENCE}; the default "
        "of R and of most statistics packages).",
        "Paired comparisons with baseline: two-sided Wilcoxon signed-rank test ("
        + ("exact p-values for small samples, " if exact else "")
        + "a normal approximation with tie and continuity corrections otherwise); pairs with "
        "no change are left out before ranking, as Wilcoxon proposed and as R does (Wilcoxon F, "
        "Biometrics Bull 1945;1:80-83; docs/reference/statistics.md).",
        "Proportions: exact (Clopper–Pearson) 95 % confidence interval. Time to response: "
        "Kaplan–Meier estimate, patients without a response censored at their last follow-up "
        "visit (docs/reference/statistics.md).",
        "Adverse events: exposure from the first infusion to the last infusion + "
        f"{config.risk_window_days} days; rate per 100 patient-years with the exact (Garwood) "
        "Poisson 95 % confidence interval (docs/reference/safety-and-systemic.md).",
        "Each endpoint's denominators (patients evaluable and not evaluable, by reason) are in "
        "results.json (docs/reference/results.md). Small numbers are shown as they are (no "
        "cell suppression).",
    ]
    if protocol.eligibility.prior_failure is not None:
        source = FAILURE_SOURCES[config.tnf_failure_source]
        items.insert(1, f"Earlier anti-TNF failure taken from {source}.")
    if numbers.steroids is not None:
        items.append(_steroid_method(numbers.steroids.at, protocol.baseline))
    if protocol.globals_scale == "0-3":
        items.append(LIKERT_CAVEAT)
    return items


def _steroid_method(at: str, baseline: str) -> str:
    """How the steroid change was measured (docs/reference/steroids.md)."""
    doses = (
        "Corticosteroids: daily prednisone equivalent of oral and other daily records (IV "
        "pulses and joint injections apart), a record counting through its stop date "
        "(docs/reference/steroids.md); "
    )
    if at == "on_treatment":
        return doses + (
            "change from the first to the last infusion day, the lowest dose reached between "
            "them reported beside it."
        )
    return (
        doses
        + f"change from the {timepoint_label(baseline)} visit to the {timepoint_label(at)} visit."
    )
