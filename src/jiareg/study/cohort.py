"""The cohort: eligibility rules applied in protocol order, each one step of the attrition flow.

Every step is an Ibis table of `patient_id`s (the patients still in), built from the previous
step with a semi-join, so `run.py` can count each step (CONSORT-style) and the last step is the
cohort. Pure Ibis; nothing executes here, except a prior failure derived from the visits
(`jiareg.study.prior_failure`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jiareg.study.prior_failure import SOURCE_LABELS, failed_before_index

if TYPE_CHECKING:
    from ibis.expr.types import Table

    from jiareg.study.arms import Arm
    from jiareg.study.protocol import Protocol

__all__ = ["EligibilityStep", "eligibility_steps", "within"]


@dataclass(frozen=True, slots=True)
class EligibilityStep:
    """One attrition step: a human-readable label, a rule id and the patients remaining.

    `arm` names the arm a step belongs to (None: a step every arm shares, or a single-arm
    protocol's step)."""

    step: str
    rule: str
    patients: Table  # one column, patient_id
    arm: str | None = None


def within(table: Table, patients: Table) -> Table:
    """Rows of `table` whose patient_id is among `patients`' (an IN subquery: ibis compiles
    `semi_join` to LEFT SEMI JOIN, which PostgreSQL rejects)."""
    return table.filter(table.patient_id.isin(patients.patient_id))


def _ids(table: Table) -> Table:
    return table.select("patient_id").distinct()


def eligibility_steps(
    tables: Mapping[str, Table],
    index: Table,
    baseline: Table,
    protocol: Protocol,
    keep: Callable[[Table], Table] = lambda patients: patients,
    arm: Arm | None = None,
) -> list[EligibilityStep]:
    """The attrition flow: registry → ILAR category → exposure → prior failure → baseline.

    With `arm` (one arm of a protocol with `arms:`), its ILAR categories and sites follow the
    protocol's ILAR step, its exposure replaces the protocol's, and every step from there on
    carries the arm's name; `index` and `baseline` are then the arm's.

    `index` has one row per patient given the exposure drug (with `index_date`); `baseline`
    has the baseline visit of each such patient. A prior failure is a course of a qualifying
    drug that started before the index date and failed for a qualifying reason, recorded or
    derived from the visits as `config.tnf_failure_source` says (`.prior_failure`). `keep` is
    applied to each step's patients before the next step filters them (`run.py` computes each
    step once on the engine, so no engine plans a chain of five nested IN subqueries).
    """
    rules = protocol.eligibility
    patients = tables["patients"]
    current = keep(_ids(patients))
    steps = [EligibilityStep("patients in the registry", "registry", current)]

    if rules.ilar_categories is not None:
        chosen = patients.filter(patients.ilar_category.isin(list(rules.ilar_categories)))
        current = keep(within(current, chosen))
        label = "ILAR category " + " or ".join(rules.ilar_categories)
        steps.append(EligibilityStep(label, "ilar_category", current))

    tag = arm.name if arm is not None else None
    if arm is not None and arm.ilar_categories is not None:
        chosen = patients.filter(patients.ilar_category.isin(list(arm.ilar_categories)))
        current = keep(within(current, chosen))
        label = "ILAR category " + " or ".join(arm.ilar_categories)
        steps.append(EligibilityStep(label, "arm_ilar_category", current, tag))
    if arm is not None and arm.sites is not None:
        chosen = patients.filter(patients.site.isin(list(arm.sites)))
        current = keep(within(current, chosen))
        steps.append(EligibilityStep("site " + " or ".join(arm.sites), "arm_site", current, tag))

    exposure = arm.exposure if arm is not None else rules.exposure
    assert exposure is not None  # a protocol without arms has eligibility.exposure
    exposed = index
    if exposure.route is not None:
        treatments = tables["treatments"]
        courses = treatments.filter(
            (treatments.drug == exposure.drug) & (treatments.route == exposure.route)
        )
        exposed = within(exposed, courses)
    current = keep(within(current, exposed))
    route = f" ({exposure.route})" if exposure.route else ""
    steps.append(EligibilityStep(f"received {exposure.drug}{route}", "exposure", current, tag))

    if rules.prior_failure is not None:
        prior = rules.prior_failure
        before = failed_before_index(tables, index, protocol)
        current = keep(within(current, _ids(before)))
        what = prior.drug_class.replace("_", "-") if prior.drug_class else "/".join(prior.drugs)
        reasons = " or ".join(r.replace("_", " ") for r in prior.stop_reasons)
        source = SOURCE_LABELS[protocol.config.tnf_failure_source]
        label = f"earlier {what} course stopped for {reasons} ({source})"
        steps.append(EligibilityStep(label, "prior_failure", current, tag))

    if rules.require_baseline:
        current = keep(within(current, _ids(baseline)))
        window = protocol.timepoint(protocol.baseline)
        steps.append(EligibilityStep(f"a {window.name} visit", "baseline_visit", current, tag))
    return steps
