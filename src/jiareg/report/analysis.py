"""The report's numbers: stats/ applied to the tables of a `StudyResult`.

Everything the report shows beyond `results` is computed here, once, and handed to the
tables, figures and narrative as frozen objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from jiareg.stats import (
    KaplanMeierResult,
    ProportionResult,
    RateResult,
    Summary,
    WilcoxonResult,
    clopper_pearson,
    describe,
    incidence_per_100py,
    kaplan_meier,
    wilcoxon_signed_rank,
)

if TYPE_CHECKING:
    import pandas

    from jiareg.study.result import StudyResult

CORE_SET: Final = ("active_joints", "lom_joints", "phys_global", "parent_global", "chaq", "esr")
"""The six JIA core-set variables in the order the poster lists them (R-CORESET-1)."""

DAYS_PER_YEAR: Final = 365.25
RESPONDER: Final = "RESPONDER"


@dataclass(frozen=True, slots=True)
class CoreSetRow:
    """One core-set variable: its summary at each timepoint and the paired test to baseline."""

    variable: str
    summaries: dict[str, Summary]
    tests: dict[str, WilcoxonResult]


@dataclass(frozen=True, slots=True)
class TimeToResponse:
    """Per-patient time to the first ACR Pedi 30 response and its Kaplan–Meier estimate."""

    patient_id: tuple[str, ...]
    days: tuple[float, ...]
    responded: tuple[bool, ...]
    km: KaplanMeierResult | None


@dataclass(frozen=True, slots=True)
class ReportNumbers:
    """All computed numbers of one report."""

    baseline: str
    timepoints: tuple[str, ...]
    core_set: tuple[CoreSetRow, ...]
    acr_pedi_30: ProportionResult | None
    before_infusion_3: ProportionResult | None
    time_to_response: TimeToResponse
    adverse_events: RateResult | None
    patient_years: float


def compute(result: StudyResult) -> ReportNumbers:
    """Apply the statistics to `result` (pure: reads the tables, writes nothing)."""
    protocol = result.protocol
    tables = result.tables
    compared = _core_set_timepoints(result)
    followups = tuple(t for t in compared if t != protocol.baseline)
    long = tables["patient_timepoints"]
    rows = []
    for variable in CORE_SET:
        data = long[long["variable"] == variable]
        by_tp = {t: _by_patient(data[data["timepoint"] == t]) for t in compared}
        summaries = {t: describe(by_tp[t].values()) for t in compared}
        base = by_tp[protocol.baseline]
        tests = {}
        for t in followups:
            ids = sorted(set(base) | set(by_tp[t]))
            tests[t] = wilcoxon_signed_rank(
                [base.get(i) for i in ids], [by_tp[t].get(i) for i in ids]
            )
        rows.append(CoreSetRow(variable, summaries, tests))
    acr = result.results.get("acr_pedi_30")
    acr_prop = clopper_pearson(int(acr["responders"]), int(acr["n"])) if acr else None
    before = result.results.get("responders_before_infusion_3")
    before_prop = (
        clopper_pearson(int(before), int(acr["n"])) if acr and before is not None else None
    )
    years = patient_years(tables["patients"], protocol.config.risk_window_days)
    n_events = len(tables["adverse_events"])
    rate = incidence_per_100py(n_events, years) if years > 0 else None
    return ReportNumbers(
        baseline=protocol.baseline,
        timepoints=compared,
        core_set=tuple(rows),
        acr_pedi_30=acr_prop,
        before_infusion_3=before_prop,
        time_to_response=time_to_first_response(tables["responses"]),
        adverse_events=rate,
        patient_years=years,
    )


def _core_set_timepoints(result: StudyResult) -> tuple[str, ...]:
    protocol = result.protocol
    for endpoint in protocol.endpoints:
        if endpoint.kind == "core_set":
            at: tuple[str, ...] = endpoint.at
            return at if protocol.baseline in at else (protocol.baseline, *at)
    return tuple(t.name for t in protocol.timepoints)


def _by_patient(frame: pandas.DataFrame) -> dict[str, Any]:
    return dict(zip(frame["patient_id"], frame["value"], strict=True))


def patient_years(patients: pandas.DataFrame, risk_window_days: int) -> float:
    """Exposure in patient-years: index date to last administration + the risk window.

    SPEC R-SAFETY-5 (`config.risk_window_days`, default 28). Days / 365.25.

    >>> import pandas, datetime
    >>> frame = pandas.DataFrame({"index_date": [datetime.date(2010, 1, 1)],
    ...                           "last_administration_date": [datetime.date(2010, 12, 4)]})
    >>> round(patient_years(frame, 28) * 365.25)  # 337 days + 28
    365
    """
    days = 0
    for start, last in zip(
        patients["index_date"], patients["last_administration_date"], strict=True
    ):
        if last is None or (isinstance(last, float) and math.isnan(last)):
            last = start
        days += (last - start).days + risk_window_days
    return days / DAYS_PER_YEAR


def time_to_first_response(responses: pandas.DataFrame) -> TimeToResponse:
    """Days from the index date to the first ACR Pedi 30 responder visit, per patient.

    A patient who never responds is censored at their last follow-up visit; a patient with no
    follow-up visit is left out. Ties and order follow the visit day.
    """
    ids: list[str] = []
    days: list[float] = []
    responded: list[bool] = []
    for patient_id, visits in responses.sort_values("day").groupby("patient_id", sort=True):
        hits = visits[visits["acr_pedi_30"] == RESPONDER]
        ids.append(str(patient_id))
        if len(hits):
            days.append(float(hits["day"].iloc[0]))
            responded.append(True)
        else:
            days.append(float(visits["day"].iloc[-1]))
            responded.append(False)
    km = kaplan_meier(days, responded) if days else None
    return TimeToResponse(tuple(ids), tuple(days), tuple(responded), km)
