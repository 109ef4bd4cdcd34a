"""The analysis datasets of a study run: `patients` (one row per cohort patient) and
`timepoints` (one row per patient and timepoint), with a label, type, unit and values for
every variable (docs/reference/analysis-datasets.md).

Built in Python from a `StudyResult` (its tables and collected frames); the per-patient endpoint
values come from the same rules as results.json (e.g. `acr_pedi.patient_outcomes`), so the
datasets' counts equal the results'. De-identified unless asked otherwise: a pseudonym (given
by the caller, `public_id`) instead of the patient id, no dates, ages in completed years.
`jiareg.study.dataset_files` writes them (Parquet, CSV, SAS, Stata, SPSS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal, TypeAlias

import pandas as pd

from jiareg.derive.tnf_failure import is_anti_tnf
from jiareg.study.dataset_baseline import baseline_covariates
from jiareg.study.endpoints.acr_pedi import AcrPediEndpoint, patient_outcomes
from jiareg.study.endpoints.adverse_events import AdverseEventsEndpoint
from jiareg.study.endpoints.common import at_timepoint, flag
from jiareg.study.endpoints.drug_survival import DrugSurvivalEndpoint, dataset_columns
from jiareg.study.endpoints.inactive_disease import InactiveDiseaseEndpoint, inactive_by_timepoint
from jiareg.study.endpoints.steroid_change import SteroidChangeEndpoint
from jiareg.study.endpoints.time_to_response import TimeToResponseEndpoint
from jiareg.vocab import BIOLOGICS, NONRESPONDER, NOT_EVALUABLE, RESPONDER

if TYPE_CHECKING:
    from jiareg.study.endpoints import SummaryContext
    from jiareg.study.result import StudyResult

    DatasetSource: TypeAlias = StudyResult | SummaryContext  # what datasets are built from

__all__ = ["AnalysisDatasets", "Variable", "analysis_datasets", "patients_dataset"]

Kind = Literal["string", "integer", "number", "boolean", "date"]

OUTCOME_CODES: dict[str, str] = {
    RESPONDER: "responder",
    NONRESPONDER: "nonresponder",
    NOT_EVALUABLE: "not_evaluable",
}
"""The per-patient ACR Pedi outcome as written in the datasets."""

CORE_SET: dict[str, tuple[str, str | None]] = {
    "active_joints": ("active joint count", "joints"),
    "lom_joints": ("joints with limited motion", "joints"),
    "phys_global": ("physician global assessment", "protocol scale"),
    "parent_global": ("parent/patient global assessment", "protocol scale"),
    "chaq": ("CHAQ disability index", "0-3"),
    "esr": ("erythrocyte sedimentation rate", "mm/h"),
}
"""Label and unit of each core-set variable (the globals on the protocol's `globals_scale`)."""


@dataclass(frozen=True, slots=True)
class Variable:
    """One column of an analysis dataset, as the data dictionary describes it."""

    name: str
    label: str
    kind: Kind
    unit: str = ""
    values: str = ""


@dataclass(frozen=True, slots=True)
class AnalysisDatasets:
    """The two datasets and the dictionary of each one's variables (in column order)."""

    patients: pd.DataFrame
    timepoints: pd.DataFrame
    variables: dict[str, tuple[Variable, ...]]


def patients_dataset(source: DatasetSource) -> pd.DataFrame:
    """The identified `patients` baseline covariates by patient_id (for a model, e.g. Cox)."""
    return _patients(source, str, True, False).frame().set_index("patient_id")


def completed_years(start: object, end: date) -> int | None:
    """Whole years from `start` to `end` (an age as people say it); None when unknown.

    >>> completed_years(date(2010, 6, 2), date(2020, 6, 1))
    9
    """
    if not isinstance(start, date):
        return None
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


class _Columns:
    """Builds one dataset column by column, recording each column's `Variable`."""

    def __init__(self, n_rows: int) -> None:
        self.data: dict[str, list[object]] = {}
        self.variables: list[Variable] = []
        self.n_rows = n_rows

    def add(self, variable: Variable, values: list[object]) -> None:
        if len(values) != self.n_rows:
            raise ValueError(f"{variable.name}: {len(values)} values for {self.n_rows} rows")
        self.data[variable.name] = values
        self.variables.append(variable)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.data, columns=[v.name for v in self.variables])


def _id_variable(identified: bool) -> Variable:
    if identified:
        return Variable("patient_id", "patient identifier (registry)", "string")
    return Variable("pseudonym", "pseudonymous patient identifier (HMAC-SHA256)", "string")


def analysis_datasets(
    result: StudyResult, public_id: Callable[[str], str], *, identified: bool = False
) -> AnalysisDatasets:
    """The `patients` and `timepoints` datasets of one run.

    `public_id` maps a patient id to the id written (a pseudonym; the identity when
    `identified`). `identified` also keeps the patient id, date of birth and index date.
    """
    patients = _patients(result, public_id, identified)
    timepoints = _timepoints(result, public_id, identified)
    return AnalysisDatasets(
        patients=patients.frame(),
        timepoints=timepoints.frame(),
        variables={
            "patients": tuple(patients.variables),
            "timepoints": tuple(timepoints.variables),
        },
    )


def _patients(
    result: DatasetSource, public_id: Callable[[str], str], identified: bool, endpoints: bool = True
) -> _Columns:
    table = result.tables["patients"]
    frames = result.frames
    protocol = result.protocol
    ids = list(table["patient_id"])
    out = _Columns(len(ids))
    out.add(_id_variable(identified), [public_id(pid) for pid in ids])
    raw = frames["patients"].set_index("patient_id")
    if identified:
        out.add(Variable("birth_date", "date of birth", "date"), list(raw.loc[ids, "birth_date"]))
        out.add(
            Variable("index_date", "index date (first exposure administration)", "date"),
            list(table["index_date"]),
        )
    if protocol.arms is None:  # one arm: named by its drug, as before arms existed
        drug = protocol.index_drug
        out.add(Variable("arm", "study arm (index drug)", "string", values=drug), [drug] * len(ids))
    else:
        names = ", ".join(arm.name for arm in protocol.arms)
        out.add(
            Variable("arm", "study arm (first-started eligible drug)", "string", values=names),
            list(table["arm"]),
        )
    out.add(
        Variable("in_cohort", "in the study cohort (all eligibility steps met)", "boolean"),
        [True] * len(ids),
    )
    out.add(Variable("site", "registry site", "string"), list(table["site"]))
    out.add(Variable("sex", "sex", "string", values="F, M"), list(table["sex"]))
    out.add(
        Variable(
            "ilar_category",
            "ILAR category",
            "string",
            values="systemic, oligo_persistent, oligo_extended, poly_rf_neg, "
            "poly_rf_pos, psoriatic, era, undifferentiated",
        ),
        list(table["ilar_category"]),
    )
    out.add(
        Variable("age_years", "age at the index date, completed years", "integer", "years"),
        [
            completed_years(b, i)
            for b, i in zip(raw.loc[ids, "birth_date"], table["index_date"], strict=True)
        ],
    )
    out.add(
        Variable("disease_duration_years", "disease duration at the index date", "number", "years"),
        list(table["disease_duration_years"]),
    )
    out.add(
        Variable(
            "exposure_months", "index date to last exposure administration", "number", "months"
        ),
        list(table["exposure_months"]),
    )
    out.add(
        Variable("n_administrations", "administrations of the index drug", "integer"),
        [int(n) for n in table["n_administrations"]],
    )
    prior = _prior_anti_tnf(frames["courses"], dict(zip(ids, table["index_date"], strict=True)))
    out.add(
        Variable(
            "n_prior_anti_tnf", "number of anti-TNF agents started before the index date", "integer"
        ),
        [len(prior.get(pid, ())) for pid in ids],
    )
    out.add(
        Variable(
            "prior_anti_tnf",
            "anti-TNF agents started before the index date",
            "string",
            values="generic names, comma-separated",
        ),
        [", ".join(prior.get(pid, ())) for pid in ids],
    )
    biologics = _prior_biologics(
        frames["courses"], dict(zip(ids, table["index_date"], strict=True))
    )
    out.add(
        Variable(
            "n_prior_biologics", "number of biologics started before the index date", "integer"
        ),
        [len(biologics.get(pid, ())) for pid in ids],
    )
    baseline = at_timepoint(frames["visits"], protocol.baseline).set_index("patient_id")
    for name, (label, unit) in CORE_SET.items():
        unit = protocol.globals_scale if unit == "protocol scale" else unit
        out.add(
            Variable(f"baseline_{name}", f"baseline {label}", "number", unit or ""),
            [_number(v) for v in baseline[name].reindex(ids)],
        )
    for name, label, kind, unit, values in baseline_covariates(result, ids, baseline):
        out.add(Variable(name, label, kind, unit), values)
    if endpoints:  # patients_dataset reads the baseline covariates only
        _endpoint_columns(result, ids, out)
    return out


def _endpoint_columns(result: DatasetSource, ids: list[str], out: _Columns) -> None:
    """One or more columns per endpoint that has a per-patient value."""
    frames, tables = result.frames, result.tables
    for endpoint in result.protocol.endpoints:
        label = endpoint.label or endpoint.id.replace("_", " ")
        if isinstance(endpoint, AcrPediEndpoint):
            outcome = patient_outcomes(endpoint, frames, result.protocol)
            out.add(
                Variable(endpoint.id, label, "string", values=", ".join(OUTCOME_CODES.values())),
                [OUTCOME_CODES[outcome[pid]] for pid in ids],
            )
        elif isinstance(endpoint, TimeToResponseEndpoint):
            rows = tables["time_to_response"]
            rows = rows[rows["level"] == endpoint.level].set_index("patient_id")
            out.add(
                Variable(
                    f"{endpoint.id}_event", f"ACR Pedi {endpoint.level} met in follow-up", "boolean"
                ),
                [_bool(v) for v in rows["event"].reindex(ids)],
            )
            out.add(
                Variable(
                    f"{endpoint.id}_day",
                    "days to response (to last visit if censored)",
                    "integer",
                    "days",
                ),
                [_integer(v) for v in rows["day"].reindex(ids)],
            )
        elif isinstance(endpoint, SteroidChangeEndpoint):
            rows = at_timepoint(tables["steroids"], endpoint.at).set_index("patient_id")
            out.add(
                Variable(
                    endpoint.id,
                    f"corticosteroid change, baseline to {endpoint.at}",
                    "string",
                    values="NOT_ON_STEROIDS, DISCONTINUED, REDUCED_GE50, "
                    "REDUCED_LT50, NO_CHANGE, INCREASED",
                ),
                [_text(v) for v in rows["change_category"].reindex(ids)],
            )
        elif isinstance(endpoint, InactiveDiseaseEndpoint):
            states = inactive_by_timepoint(endpoint, frames, result.protocol)
            for name in endpoint.at:
                text = f"clinical inactive disease at {name}"
                out.add(
                    Variable(f"{endpoint.id}_{name}", text, "boolean"),
                    [states[name][0].get(pid) for pid in ids],
                )
        elif isinstance(endpoint, DrugSurvivalEndpoint):
            for name, label, kind, unit, codes, column in dataset_columns(endpoint, result, ids):
                out.add(Variable(name, label, kind, unit, codes), column)
        elif isinstance(endpoint, AdverseEventsEndpoint):
            counts = tables["adverse_events"]["patient_id"].value_counts()
            out.add(
                Variable(f"{endpoint.id}_n", "adverse events from the index date", "integer"),
                [int(n) for n in counts.reindex(ids, fill_value=0)],
            )


def _timepoints(result: StudyResult, public_id: Callable[[str], str], identified: bool) -> _Columns:
    visits = result.frames["visits"]
    scores = result.frames["responses"].set_index(["patient_id", "visit_date"])["acr_pedi_level"]
    doses = result.tables["steroids"].set_index(["patient_id", "timepoint"])["peq_mg_day"]
    rows = visits.to_dict(orient="records")
    by_timepoint = pd.MultiIndex.from_arrays([visits["patient_id"], visits["timepoint"]])
    by_visit = pd.MultiIndex.from_arrays([visits["patient_id"], visits["visit_date"]])
    out = _Columns(len(rows))
    out.add(_id_variable(identified), [public_id(r["patient_id"]) for r in rows])
    out.add(
        Variable(
            "timepoint",
            "protocol timepoint",
            "string",
            values=", ".join(t.name for t in result.protocol.timepoints),
        ),
        [r["timepoint"] for r in rows],
    )
    if identified:
        out.add(
            Variable("visit_date", "date of the visit chosen", "date"),
            [r["visit_date"] for r in rows],
        )
    out.add(
        Variable("day", "day of the visit from the index date (index = day 0)", "integer", "days"),
        [int(r["day"]) for r in rows],
    )
    for name, (label, unit) in CORE_SET.items():
        unit = result.protocol.globals_scale if unit == "protocol scale" else unit
        out.add(Variable(name, label, "number", unit or ""), [_number(r[name]) for r in rows])
    out.add(
        Variable("crp", "C-reactive protein", "number", "mg/L"), [_number(r["crp"]) for r in rows]
    )
    long = result.tables["patient_timepoints"]
    systemic = long[long["variable"] == "systemic"].set_index(["patient_id", "timepoint"])["value"]
    out.add(
        Variable("systemic_features", "fever or rash recorded", "boolean"),
        [_bool(v) for v in systemic.reindex(by_timepoint)],
    )
    out.add(
        Variable("inactive_disease", "clinical inactive disease (protocol criteria)", "boolean"),
        [_bool(r["inactive_disease"]) for r in rows],
    )
    out.add(
        Variable(
            "acr_pedi_level",
            "highest ACR Pedi level met versus baseline",
            "integer",
            values="0, 30, 50, 70, 90, 100; empty at baseline or not evaluable",
        ),
        [_integer(v) for v in scores.reindex(by_visit)],
    )
    out.add(
        Variable(
            "steroid_peq_mg_day", "prednisone-equivalent corticosteroid dose", "number", "mg/day"
        ),
        [_number(v) for v in doses.reindex(by_timepoint)],
    )
    return out


def _prior_biologics(courses: pd.DataFrame, index: dict[str, date]) -> dict[str, set[str]]:
    """Distinct biologics with a course started before each patient's index date."""
    agents: dict[str, set[str]] = {}
    for pid, drug, start in zip(
        courses["patient_id"], courses["drug"], courses["start_date"], strict=True
    ):
        if pid in index and drug in BIOLOGICS and start < index[pid]:
            agents.setdefault(pid, set()).add(drug)
    return agents


def _prior_anti_tnf(courses: pd.DataFrame, index: dict[str, date]) -> dict[str, tuple[str, ...]]:
    agents: dict[str, set[str]] = {}
    for pid, drug, start in zip(
        courses["patient_id"], courses["drug"], courses["start_date"], strict=True
    ):
        if pid in index and is_anti_tnf(drug) and start < index[pid]:
            agents.setdefault(pid, set()).add(drug)
    return {pid: tuple(sorted(names)) for pid, names in agents.items()}


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _number(value: object) -> float | None:
    return None if _missing(value) else float(value)  # type: ignore[arg-type]  # a number


def _integer(value: object) -> int | None:
    return None if _missing(value) else int(value)  # type: ignore[call-overload]  # a number


def _bool(value: object) -> bool | None:
    return None if _missing(value) else flag(value)


def _text(value: object) -> str | None:
    return None if _missing(value) else str(value)
