"""Endpoint derivations as Ibis tables: ACR Pedi per follow-up visit, steroid doses and change.

The clinical rules come from `jiareg.derive` (ACR Pedi: `acr_pedi_columns`; steroids:
`prednisone_factor`, `steroid_change_expr`); this module only joins the registry rows each rule
needs. Nothing executes here; `run.py` collects the small per-patient results.
"""

from __future__ import annotations

from typing import Any

import ibis

from jiareg.derive.acr_pedi import acr_pedi_columns
from jiareg.derive.coreset import CORE_SET_COLUMNS, global_0_10_expr
from jiareg.derive.inactive import inactive_disease_visits_expr
from jiareg.derive.steroids import prednisone_factor, steroid_change_expr
from jiareg.study.protocol import AcrPediEndpoint, Protocol

__all__ = [
    "ACR_INPUTS",
    "acr_column",
    "reported_globals",
    "responses",
    "steroid_changes",
    "steroid_doses",
    "with_inactive_disease",
]

ACR_INPUTS = CORE_SET_COLUMNS
"""Visit columns the ACR Pedi rule reads (template names)."""


def acr_column(endpoint: AcrPediEndpoint) -> str:
    """Name of the per-visit result column an ACR Pedi endpoint reads, e.g. `acr_pedi_30_sjia`."""
    suffix = "_sjia" if endpoint.variant == "sjia" else ""
    return f"acr_pedi_{endpoint.level}{suffix}"


def with_inactive_disease(visits: Any, protocol: Protocol) -> Any:
    """`visits` with an `inactive_disease` boolean column (R-CID; NULL when undetermined)."""
    config = protocol.config
    inactive = inactive_disease_visits_expr(
        visits,
        criteria=config.cid_criteria,
        esr_normal_max_mm_h=config.cid_esr_normal_max_mm_h,
        crp_normal_max_mg_l=config.cid_crp_normal_max_mg_l,
    )
    return visits.mutate(inactive_disease=inactive)


def reported_globals(visits: Any, protocol: Protocol) -> Any:
    """`visits` with phys_global and parent_global on the protocol's `globals_scale`.

    "0-10" and "0-100" use the R-CORESET-2 conversion (`global_0_10_expr`; a 0-3 Likert value
    is not convertible unless `config.allow_likert_rescale`); "0-3" keeps only values recorded
    on that scale. Values that cannot be put on the scale become NULL (missing), so a summary
    never mixes scales.
    """
    rescale = protocol.config.allow_likert_rescale
    columns = {}
    for name in ("phys_global", "parent_global"):
        value, scale = visits[name], visits[f"{name}_scale"]
        if protocol.globals_scale == "0-3":
            columns[name] = (scale.fill_null("0-10") == "0-3").ifelse(
                value.cast("float64"), ibis.null("float64")
            )
        else:
            on_10 = global_0_10_expr(value, scale, allow_likert_rescale=rescale)
            columns[name] = on_10 * 10 if protocol.globals_scale == "0-100" else on_10
    return visits.mutate(**columns)


def responses(follow_up: Any, baseline: Any, exposure: Any, protocol: Protocol) -> Any:
    """ACR Pedi of every follow-up visit against the patient's baseline visit.

    Columns: patient_id, visit_date, day, administration_number (exposure administrations given
    before the visit date: a visit on an infusion day is that infusion's pre-infusion
    assessment, SPEC R-ACRPEDI-3), fever, acr_pedi_level, and one result column per ACR Pedi
    level/variant the protocol's endpoints use (always `acr_pedi_30` and `acr_pedi_30_sjia`).
    """
    config = protocol.config
    base = baseline.select("patient_id", *[baseline[c].name(f"b_{c}") for c in ACR_INPUTS])
    joined = follow_up.join(base, follow_up.patient_id == base.patient_id)
    b = {c: joined[f"b_{c}"] for c in ACR_INPUTS}
    f = {c: joined[c] for c in ACR_INPUTS}
    scored = acr_pedi_columns(
        joined,
        b,
        f,
        fever_absent=~joined.fever,
        zero_baseline_worsening=config.zero_baseline_worsening,
        acr_missing_mode=config.acr_missing_mode,
    )
    wanted = {(30, "standard"), (30, "sjia")} | {
        (e.level, e.variant) for e in protocol.endpoints if isinstance(e, AcrPediEndpoint)
    }
    results = {}
    for level, variant in sorted(wanted):
        if variant == "sjia":
            results[f"acr_pedi_{level}_sjia"] = scored[f"acr_pedi_sjia_{level}"]
        else:
            results[f"acr_pedi_{level}"] = scored[f"acr_pedi_{level}"]
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


def _prednisone_factor_expr(drug: Any, protocol: Protocol) -> Any:
    """`prednisone_factor` of each configured drug as an Ibis lookup; NULL for others."""
    factors = protocol.config.steroid_factors
    return ibis.cases(
        *[
            (drug == name, float(prednisone_factor(name, config=protocol.config)))
            for name in factors
        ],
        else_=ibis.null("float64"),
    )


def steroid_doses(visits: Any, steroids: Any, protocol: Protocol) -> Any:
    """Daily prednisone-equivalent dose (mg/day) on each given visit's date.

    A steroid record counts on date d when start_date <= d and (stop_date is NULL or
    d < stop_date): a dose changed on day d is the new dose from that day on. No record on
    that date → 0 mg/day. Columns: patient_id, timepoint, visit_date, weight_kg, peq_mg_day.
    """
    keys = visits.select("patient_id", "timepoint", "visit_date", "weight_kg")
    active = keys.join(
        steroids,
        (keys.patient_id == steroids.patient_id)
        & (steroids.start_date <= keys.visit_date)
        & (steroids.stop_date.isnull() | (keys.visit_date < steroids.stop_date)),
    )
    summed = active.group_by(["patient_id", "timepoint", "visit_date"]).aggregate(
        peq=(active.daily_dose_mg * _prednisone_factor_expr(active.drug, protocol)).sum()
    )
    out = keys.left_join(
        summed,
        (keys.patient_id == summed.patient_id)
        & (keys.timepoint == summed.timepoint)
        & (keys.visit_date == summed.visit_date),
    )
    return out.select(*keys.columns, peq_mg_day=out.peq.fill_null(0.0))


def steroid_changes(doses: Any, baseline_name: str, at: str, protocol: Protocol) -> Any:
    """R-STEROID-3 category from the baseline timepoint to `at`, on `config.steroid_basis`.

    Columns: patient_id, change_category (NULL when the patient has no visit at `at`, or on
    the mg/kg/day basis when a weight is missing).
    """
    base = doses.filter(doses.timepoint == baseline_name).select(
        "patient_id", b_peq="peq_mg_day", b_weight="weight_kg"
    )
    later = doses.filter(doses.timepoint == at).select(
        "patient_id", f_peq="peq_mg_day", f_weight="weight_kg"
    )
    joined = base.join(later, base.patient_id == later.patient_id)
    if protocol.config.steroid_basis == "mg_kg_day":
        category = steroid_change_expr(
            joined.b_peq,
            joined.f_peq,
            baseline_weight=joined.b_weight,
            followup_weight=joined.f_weight,
        )
    else:
        category = steroid_change_expr(joined.b_peq, joined.f_peq)
    return joined.select("patient_id", change_category=category)
