"""`StudyResult`: what a study run hands to the report, the CLI and the web app.

`jiareg.study.run.run_study` builds it; `jiareg.report.render.write_report` consumes it.
`results` is the typed content of results.json (`jiareg.study.results_json.Results`); the
`tables` are small per-patient pandas frames the report draws from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas

    from jiareg.study.protocol import Protocol
    from jiareg.study.results_json import Results

__all__ = ["TABLE_COLUMNS", "StudyResult"]

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (
        "patient_id",
        "site",
        "sex",
        "ilar_category",
        "index_date",
        "last_administration_date",
        "age_years",
        "disease_duration_years",
        "exposure_months",
        "n_administrations",
        "arm",
    ),
    "patient_timepoints": (
        "patient_id",
        "timepoint",
        "visit_date",
        "day",
        "variable",
        "value",
    ),
    "responses": (
        "patient_id",
        "visit_date",
        "day",
        "administration_number",
        "acr_pedi_level",
        "acr_pedi_30",
        "acr_pedi_30_sjia",
    ),
    "courses": ("patient_id", "drug", "route", "start_date", "stop_date", "stop_reason"),
    "administrations": (
        "patient_id",
        "drug",
        "date",
        "day",
        "administration_number",
        "dose_mg",
        "weight_kg",
    ),
    "steroids": (
        "patient_id",
        "timepoint",
        "visit_date",
        "peq_mg_day",
        "peq_mg_kg_day",
        "change_category",
        "lowest_peq_mg_day",
    ),
    "adverse_events": (
        "patient_id",
        "onset_date",
        "day",
        "term",
        "grade",
        "serious",
        "related_drug",
        "outcome",
    ),
    "attrition": ("step", "rule", "n_remaining", "n_excluded", "arm"),
    "time_to_response": ("patient_id", "level", "event", "day", "administration_number"),
}
"""Column order of every frame in `StudyResult.tables` (documented in `StudyResult`)."""


@dataclass(frozen=True)
class StudyResult:
    """One study run: the result numbers, the per-patient tables and the protocol that made them.

    `results` — the `results.json` content as the typed `Results` model (keys and meanings:
    docs/reference/results.md; INTERFACE.md "results.json").

    `tables` — pandas DataFrames, one row per fact, columns in the order of `TABLE_COLUMNS`.
    Dates are `datetime.date` objects; days count from the index date (first administration of
    the exposure drug = day 0); missing values are `None`/NaN.

    - `patients`: one row per cohort patient. patient_id, site, sex ('F'/'M'),
      ilar_category (template code), index_date, last_administration_date (of the exposure
      drug), age_years and disease_duration_years at the index date (float, exact days /
      365.25), exposure_months (index date → last administration, days / (365.25/12)),
      n_administrations (of the exposure drug), arm (the patient's arm: its name in a
      protocol with `arms:`, `all` otherwise; the exposure drug is the arm's drug).
    - `patient_timepoints`: the core set at each protocol timepoint, long format. patient_id,
      timepoint (protocol name, e.g. 'baseline', 'month_1', 'before_infusion_3'), visit_date
      and day of the visit chosen for that timepoint, variable (one of active_joints,
      lom_joints, phys_global, parent_global, chaq, esr, and also systemic — 1.0 when fever
      or rash is recorded, 0.0 when both are 'no'), value (float, as recorded on the scale
      the protocol reports; NaN when missing). A patient without a visit in the timepoint's
      window has no rows for it.
    - `responses`: one row per follow-up visit (day > 0) of each cohort patient, compared with
      the baseline visit. patient_id, visit_date, day, administration_number (exposure
      administrations given before the visit date; a visit on an infusion day precedes it),
      acr_pedi_level (highest level met: 0, 30, 50, 70, 90, 100; None when not evaluable),
      acr_pedi_30 ('RESPONDER', 'NONRESPONDER', 'NOT_EVALUABLE'), acr_pedi_30_sjia (TENDER
      variant: responder at 30 and no fever at the visit; same codes).
    - `courses`: every biologic course of the cohort patients (for the swimmer plot).
      patient_id, drug, route, start_date, stop_date (None while ongoing), stop_reason.
    - `administrations`: every administration of the exposure drug. patient_id, drug, date,
      day, administration_number (1 = the index administration), dose_mg, weight_kg.
    - `steroids`: systemic corticosteroid exposure at each timepoint for each patient with a
      visit there. patient_id, timepoint, visit_date, peq_mg_day and peq_mg_kg_day
      (prednisone-equivalent daily dose on that date, 0.0 when none), change_category (R-STEROID-3
      category relative to baseline: NOT_ON_STEROIDS, DISCONTINUED, REDUCED_GE50,
      REDUCED_LT50, NO_CHANGE, INCREASED; None at baseline itself). A steroid-change
      endpoint `at: on_treatment` adds one row per patient with timepoint `on_treatment`,
      visit_date = the last day on the index drug, its dose and category, and
      lowest_peq_mg_day (the lowest dose on the drug; None on the timepoint rows).
    - `adverse_events`: events of cohort patients with onset on or after the index date.
      patient_id, onset_date, day, term, grade, serious, related_drug, outcome.
    - `attrition`: the CONSORT-style flow, one row per eligibility step in protocol order.
      step (human-readable), rule (machine id), n_remaining, n_excluded, arm (None for a
      step every arm shares; with `arms:`, each arm's steps follow the shared ones and end
      with its `arm_assignment` step, n_excluded counted from the last shared step).
    - `time_to_response`: one row per patient with a follow-up visit and per time-to-response
      endpoint. patient_id, level (ACR Pedi level), event (True when the level was met),
      day and administration_number of the first visit meeting it (of the last follow-up
      visit when censored).

    `frames` — the collected per-patient frames the summaries read (`SummaryContext.frames`),
    for the analysis datasets (`jiareg.study.datasets`); empty when a result was built without.
    """

    results: Results
    tables: dict[str, pandas.DataFrame]
    protocol: Protocol
    frames: dict[str, pandas.DataFrame] = field(default_factory=dict)
