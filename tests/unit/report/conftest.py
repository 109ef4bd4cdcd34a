"""A hand-made StudyResult shaped like the founding study (9 patients, poster medians).

Numbers are chosen so that the poster's medians hold (active joints 11 -> 4, limited-motion joints
4 -> 3, parent global 0.1 -> 0.05, physician global 0.45 -> 0.24, ESR 35 -> 3; CHAQ > 0.5 in 3 -> 1;
fever or rash 1 -> 0; 6 on steroids, 4 reduced by < 50 % over the time on treatment; all 9 ACR Pedi
30 responders, 7 before the 3rd infusion; no adverse events). Contract: jiareg.study.result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from jiareg.stats import (
    clopper_pearson,
    describe,
    incidence_per_100py,
    kaplan_meier,
    wilcoxon_signed_rank,
)
from jiareg.study.protocol_file import load_protocol
from jiareg.study.result import TABLE_COLUMNS, StudyResult
from jiareg.study.results_json import Results
from jiareg.vocab import CORE_SET_VARIABLES as CORE_SET

ROOT = Path(__file__).resolve().parents[3]
IDS = [f"P{i:02d}" for i in range(1, 10)]
CORE = {
    "active_joints": ([11, 20, 4, 30, 6, 15, 2, 8, 12], [4, 10, 1, 12, 2, 6, 0, 3, 5]),
    "lom_joints": ([4, 8, 2, 10, 3, 6, 1, 4, 5], [3, 6, 2, 8, 3, 4, 1, 3, 4]),
    "parent_global": (
        [0.1, 0.2, 0, 0.3, 0.1, 0.5, 0, 0.1, 0.2],
        [0.05, 0.1, 0, 0.1, 0, 0.2, 0, 0.05, 0.1],
    ),
    "phys_global": (
        [0.45, 0.6, 0.3, 0.9, 0.4, 0.5, 0.2, 0.45, 0.7],
        [0.24, 0.3, 0.1, 0.5, 0.2, 0.3, 0.1, 0.24, 0.4],
    ),
    "esr": ([35, 60, 20, 80, 30, 50, 15, 35, 40], [3, 5, 2, 10, 3, 4, 2, 3, 6]),
    "chaq": (
        [0.75, 1.5, 0.25, 2.0, 0.5, 0.375, 0.125, 0.375, 0.5],
        [0.5, 0.875, 0.125, 0.5, 0.25, 0.25, 0, 0.25, 0.375],
    ),
    "systemic": ([1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0]),
}
EXPOSURE_DAYS = [98, 266, 182, 126, 210, 154, 98, 238, 168]
FIRST_RESPONSE_DAY = [14, 14, 14, 14, 14, 14, 14, 30, 60]


def _frame(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS[name]))


def build_tables() -> dict[str, pd.DataFrame]:
    patients, timepoints, responses, courses, admins, steroids = [], [], [], [], [], []
    for i, pid in enumerate(IDS):
        index = dt.date(2009, 3, 2) + dt.timedelta(days=37 * i)
        last = index + dt.timedelta(days=EXPOSURE_DAYS[i])
        n_adm = EXPOSURE_DAYS[i] // 14 + 1
        patients.append(
            {
                "patient_id": pid,
                "site": "demo",
                "sex": "M" if i in (2, 6) else "F",
                "ilar_category": "poly_rf_neg" if i in (3, 7) else "systemic",
                "index_date": index,
                "last_administration_date": last,
                "age_years": 6.0 + i,
                "disease_duration_years": 2.0 + i,
                "exposure_months": EXPOSURE_DAYS[i] / (365.25 / 12),
                "n_administrations": n_adm,
            }
        )
        for tp, day, col in (("baseline", -3, 0), ("month_1", 30, 1)):
            for variable, values in CORE.items():
                timepoints.append(
                    {
                        "patient_id": pid,
                        "timepoint": tp,
                        "visit_date": index + dt.timedelta(days=day),
                        "day": day,
                        "variable": variable,
                        "value": float(values[col][i]),
                    }
                )
        for day in (14, 30, 60, 90):
            if day > EXPOSURE_DAYS[i]:
                break
            hit = day >= FIRST_RESPONSE_DAY[i]
            responses.append(
                {
                    "patient_id": pid,
                    "visit_date": index + dt.timedelta(days=day),
                    "day": day,
                    "administration_number": day // 14 + 1,
                    "acr_pedi_level": 50 if hit else 0,
                    "acr_pedi_30": "RESPONDER" if hit else "NONRESPONDER",
                    "acr_pedi_30_sjia": "RESPONDER" if hit else "NONRESPONDER",
                }
            )
        start = index - dt.timedelta(days=900)
        prior = (
            ["etanercept"] + (["adalimumab"] if i < 7 else []) + (["infliximab"] if i < 2 else [])
        )
        for drug in prior:
            stop = start + dt.timedelta(days=240)
            courses.append(
                {
                    "patient_id": pid,
                    "drug": drug,
                    "route": "iv" if drug == "infliximab" else "sc",
                    "start_date": start,
                    "stop_date": stop,
                    "stop_reason": "secondary_failure" if i % 2 else "primary_failure",
                }
            )
            start = stop + dt.timedelta(days=30)
        courses.append(
            {
                "patient_id": pid,
                "drug": "tocilizumab",
                "route": "iv",
                "start_date": index,
                "stop_date": None,
                "stop_reason": None,
            }
        )
        for n in range(n_adm):
            weight = 20.0 + 3 * i
            admins.append(
                {
                    "patient_id": pid,
                    "drug": "tocilizumab",
                    "date": index + dt.timedelta(days=14 * n),
                    "day": 14 * n,
                    "administration_number": n + 1,
                    "dose_mg": weight * (12 if weight < 30 else 8),
                    "weight_kg": weight,
                }
            )
        if i < 6:
            base = 10.0 + i
            follow = base if i >= 4 else base * 0.75
            category = "NO_CHANGE" if i >= 4 else "REDUCED_LT50"
            for tp, dose, cat, lowest in (
                ("baseline", base, None, None),
                ("month_1", follow, category, None),
                ("on_treatment", follow, category, follow),  # the last infusion day
            ):
                steroids.append(
                    {
                        "patient_id": pid,
                        "timepoint": tp,
                        "visit_date": index,
                        "peq_mg_day": dose,
                        "peq_mg_kg_day": dose / 25,
                        "change_category": cat,
                        "lowest_peq_mg_day": lowest,
                    }
                )
    attrition = [
        {"step": "Patients in the registry", "rule": "all", "n_remaining": 12, "n_excluded": 0},
        {"step": "ILAR category", "rule": "ilar_categories", "n_remaining": 11, "n_excluded": 1},
        {"step": "Failed an anti-TNF", "rule": "prior_failure", "n_remaining": 10, "n_excluded": 1},
        {"step": "Received IV tocilizumab", "rule": "exposure", "n_remaining": 9, "n_excluded": 1},
        {"step": "Baseline visit", "rule": "require_baseline", "n_remaining": 9, "n_excluded": 0},
    ]
    return {
        "patients": _frame("patients", patients),
        "patient_timepoints": _frame("patient_timepoints", timepoints),
        "responses": _frame("responses", responses),
        "courses": _frame("courses", courses),
        "administrations": _frame("administrations", admins),
        "steroids": _frame("steroids", steroids),
        "adverse_events": _frame("adverse_events", []),
        "attrition": _frame("attrition", attrition),
        "time_to_response": _frame(
            "time_to_response",
            [
                {
                    "patient_id": pid,
                    "level": 30,
                    "event": True,
                    "day": day,
                    "administration_number": day // 14 + 1,
                }
                for pid, day in zip(IDS, FIRST_RESPONSE_DAY, strict=True)
            ],
        ),
    }


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _core_set_results(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, Any], dict[str, Any]]:
    long = tables["patient_timepoints"]
    values = {
        (tp, var): dict(zip(g["patient_id"], g["value"], strict=True))
        for (tp, var), g in long.groupby(["timepoint", "variable"])
    }
    table: dict[str, Any] = {}
    for tp in ("baseline", "month_1"):
        table[tp] = {}
        for var in CORE_SET:
            s = describe(values[tp, var].values())
            table[tp][var] = {
                "median": _float(s.median),
                "q1": _float(s.q1),
                "q3": _float(s.q3),
                "min": _float(s.min),
                "max": _float(s.max),
                "n": s.n,
                "n_missing": s.n_missing,
            }
    tests = {}
    for var in CORE_SET:
        base, later = values["baseline", var], values["month_1", var]
        w = wilcoxon_signed_rank([base[i] for i in IDS], [later[i] for i in IDS])
        tests[var] = {
            "n_pairs": w.n_pairs,
            "n_zero": w.n_zero,
            "statistic": w.statistic,
            "p_value": w.p_value,
            "median_difference": _float(w.median_difference),
            "method": w.method,
        }
    return table, {**_entry("core_set", "core_set"), "wilcoxon_vs_baseline": {"month_1": tests}}


def denominators(*places: str, evaluable: int = 9, reason: str = "") -> dict[str, Any]:
    """Every place's denominators in the 9-patient cohort: `evaluable`, the rest for `reason`."""
    rest = {reason: 9 - evaluable} if evaluable < 9 else {}
    return {p: {"cohort": 9, "evaluable": evaluable, "not_evaluable": rest} for p in places}


def _entry(kind: str, endpoint_id: str, *places: str) -> dict[str, Any]:
    """The keys every `endpoints.<id>` has: kind, headline pointer, denominators."""
    where = places or ("baseline", "month_1")
    return {"kind": kind, "headline": f"/{endpoint_id}", "denominators": denominators(*where)}


def proportion_headline(k: int, n: int) -> dict[str, Any]:
    """An acr_pedi headline: k responders of n evaluable with the exact CI."""
    p = clopper_pearson(k, n)
    return {"responders": k, "n": n, "ci95": list(p.ci) if p.ci else None}


def proportion_details(
    endpoint_id: str, k: int, n: int, before: int | None = None, at: str = "follow_up"
) -> dict[str, Any]:
    """`endpoints.<endpoint_id>` of an acr_pedi endpoint (its headline: `proportion_headline`,
    or k alone with `before`, whose CI is then here)."""
    p = clopper_pearson(k, n)
    return {
        **_entry("acr_pedi", endpoint_id),
        "denominators": denominators(at, evaluable=n, reason="core_set_incomplete"),
        **{"level": 30, "variant": "standard", "at": at, "before_administration": before},
        **({"ci95": list(p.ci) if p.ci else None} if before else {}),
        **{"ci_method": p.method, "responder_ids": IDS[:k]},
    }


def adverse_event_details(terms: list[tuple[str, bool]], patient_years: float) -> dict[str, Any]:
    """`endpoints.adverse_events` (its headline is len(terms))."""
    rate = incidence_per_100py(len(terms), patient_years)
    by_term: dict[str, int] = {}
    for term, _ in terms:
        by_term[term] = by_term.get(term, 0) + 1
    return {
        **_entry("adverse_events", "adverse_events", "follow_up"),
        "serious": sum(serious for _, serious in terms),
        "patients_with_event": min(len(terms), 1),
        "patient_years": patient_years,
        "rate_per_100py": rate.rate_per_100py,
        "rate_ci95": list(rate.ci),
        "rate_method": rate.method,
        "by_term": by_term,
    }


PATIENT_YEARS = (sum(EXPOSURE_DAYS) + 9 * 28) / 365.25


def build_results(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    core, core_details = _core_set_results(tables)
    km = kaplan_meier([float(d) for d in FIRST_RESPONSE_DAY], [True] * 9)
    return {
        "title": "Tocilizumab in JIA after inadequate response to anti-TNF therapy",
        "synthetic": True,
        "engine": "duckdb",
        "index_drug": "tocilizumab",
        "globals_scale": "0-3",
        "config": {},
        "attrition": [
            {
                "step": "patients in the registry",
                "rule": "registry",
                "n_remaining": 9,
                "n_excluded": 0,
            }
        ],
        "timepoints": {"baseline": 9, "before_infusion_3": 9, "month_1": 9},
        "n": 9,
        "categories": {"systemic": 7, "poly_rf_neg": 2},
        "sex": {"F": 7, "M": 2},
        "age_years": {"median": 10.0, "min": 6.0, "max": 14.0, "q1": 8.0, "q3": 12.0},
        "disease_duration_years": {"median": 6.0, "min": 2.0, "max": 10.0, "q1": 4, "q3": 8},
        "exposure_months": {"median": 5.5, "min": 3.2, "max": 8.7, "q1": 4.1, "q3": 6.9},
        "prior_anti_tnf": {"etanercept": 9, "adalimumab": 7, "infliximab": 2},
        "core_set": core,
        "chaq_over_0_5": {"baseline": 3, "month_1": 1},
        "systemic_features": {"baseline": 1, "month_1": 0},
        "acr_pedi_30": {"responders": 9, "n": 9, "ci95": [0.6637, 1.0]},
        "responders_before_infusion_3": 7,
        "acr_pedi_30_sjia": {"responders": 7, "n": 9, "ci95": [0.3999, 0.9719]},
        "inactive_disease": {"baseline": 0, "month_1": 0},
        "time_to_acr_pedi_30": {
            "n": km.n,
            "n_events": km.n_events,
            "median_days": km.median,
            "median_days_ci95": list(km.median_ci),
        },
        "steroids": {"baseline_users": 6, "reduced": 4, "reduced_by_half_or_more": 0, "stopped": 0},
        "adverse_events": 0,
        "endpoints": {
            "core_set": core_details,
            "acr_pedi_30": proportion_details("acr_pedi_30", 9, 9),
            "responders_before_infusion_3": proportion_details(
                "responders_before_infusion_3", 7, 9, before=3
            ),
            "acr_pedi_30_sjia": {
                **proportion_details("acr_pedi_30_sjia", 7, 9, at="month_1"),
                "variant": "sjia",
            },
            "chaq_over_0_5": {**_entry("chaq_over", "chaq_over_0_5"), "threshold": "0.5"},
            "systemic_features": {
                **_entry("systemic_features", "systemic_features"),
                "features": ["fever", "rash"],
            },
            "steroids": {
                **_entry("steroid_change", "steroids", "on_treatment"),
                "denominators": denominators(
                    "on_treatment", evaluable=6, reason="not_on_steroids_at_baseline"
                ),
                "at": "on_treatment",
                "basis": "mg_kg_day",
                "not_reduced": {"INCREASED": 0, "NO_CHANGE": 2},
                "lowest_below_baseline": 4,
            },
            "inactive_disease": {
                **_entry("inactive_disease", "inactive_disease"),
                "criteria": "acr2011",
            },
            "time_to_acr_pedi_30": {
                **_entry("time_to_response", "time_to_acr_pedi_30", "follow_up"),
                "level": 30,
                "method": km.method,
                "curve": [asdict(row) for row in km.table],
            },
            "adverse_events": adverse_event_details([], PATIENT_YEARS),
        },
        "software_version": "0.1.0",
        "protocol_sha256": "a" * 64,
        "data_sha256": "b" * 64,
        "run_date": "2026-11-29",
    }


def founding_result() -> StudyResult:
    """The hand-made StudyResult of the founding protocol (module docstring), new each call."""
    protocol = load_protocol(ROOT / "protocols" / "tocilizumab-after-anti-tnf.yaml")
    tables = build_tables()
    results = Results.model_validate(build_results(tables))
    return StudyResult(results=results, tables=tables, protocol=protocol)


study_result = pytest.fixture(founding_result, name="study_result")


@pytest.fixture
def make_result(study_result: StudyResult) -> Any:
    """A variant: `make_result(results={...}, endpoints={id: details}, tables={...})`."""

    def make(**changes: dict[str, Any]) -> StudyResult:
        base = study_result.results.to_json()
        endpoints = {**base["endpoints"], **changes.get("endpoints", {})}
        results = {**base, "endpoints": endpoints, **changes.get("results", {})}
        tables = {**study_result.tables, **changes.get("tables", {})}
        typed = Results.model_validate(results)
        return replace(study_result, results=typed, tables=tables)

    return make
