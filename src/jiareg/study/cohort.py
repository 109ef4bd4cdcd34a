"""The cohort: eligibility rules applied in protocol order, each one step of the attrition flow.

Every step is an Ibis table of `patient_id`s (the patients still in), built from the previous
step with a semi-join, so `run.py` can count each step (CONSORT-style) and the last step is the
cohort. Pure Ibis; nothing executes here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jiareg.study.protocol import Protocol

__all__ = ["EligibilityStep", "eligibility_steps"]


@dataclass(frozen=True, slots=True)
class EligibilityStep:
    """One attrition step: a human-readable label, a rule id and the patients remaining."""

    step: str
    rule: str
    patients: Any  # Ibis table with one column, patient_id


def _ids(table: Any) -> Any:
    return table.select("patient_id").distinct()


def eligibility_steps(
    tables: dict[str, Any], index: Any, baseline: Any, protocol: Protocol
) -> list[EligibilityStep]:
    """The attrition flow: registry → ILAR category → exposure → prior failure → baseline.

    `index` has one row per patient given the exposure drug (with `index_date`); `baseline`
    has the baseline visit of each such patient. A prior failure is a course of a qualifying
    drug that started before the index date and stopped for a qualifying reason.
    """
    rules = protocol.eligibility
    patients = tables["patients"]
    current = _ids(patients)
    steps = [EligibilityStep("patients in the registry", "registry", current)]

    if rules.ilar_categories is not None:
        chosen = patients.filter(patients.ilar_category.isin(list(rules.ilar_categories)))
        current = current.semi_join(chosen, "patient_id")
        label = "ILAR category " + " or ".join(rules.ilar_categories)
        steps.append(EligibilityStep(label, "ilar_category", current))

    exposure = rules.exposure
    exposed = index
    if exposure.route is not None:
        treatments = tables["treatments"]
        courses = treatments.filter(
            (treatments.drug == exposure.drug) & (treatments.route == exposure.route)
        )
        exposed = exposed.semi_join(courses, "patient_id")
    current = current.semi_join(exposed, "patient_id")
    route = f" ({exposure.route})" if exposure.route else ""
    steps.append(EligibilityStep(f"received {exposure.drug}{route}", "exposure", current))

    if rules.prior_failure is not None:
        prior = rules.prior_failure
        treatments = tables["treatments"]
        failed = treatments.filter(
            treatments.drug.isin(list(prior.drug_list))
            & treatments.stop_reason.isin(list(prior.template_stop_reasons))
        )
        before = failed.join(index, failed.patient_id == index.patient_id).filter(
            lambda t: t.start_date < t.index_date
        )
        current = current.semi_join(_ids(before), "patient_id")
        what = prior.drug_class.replace("_", "-") if prior.drug_class else "/".join(prior.drugs)
        reasons = " or ".join(r.replace("_", " ") for r in prior.stop_reasons)
        label = f"earlier {what} course stopped for {reasons}"
        steps.append(EligibilityStep(label, "prior_failure", current))

    if rules.require_baseline:
        current = current.semi_join(_ids(baseline), "patient_id")
        window = protocol.timepoint(protocol.baseline)
        steps.append(EligibilityStep(f"a {window.name} visit", "baseline_visit", current))
    return steps
