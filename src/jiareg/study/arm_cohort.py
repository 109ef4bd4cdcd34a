"""The cohort of a study with its arms: each arm's eligibility flow, then arm assignment.

Pure Ibis (nothing executes here but the `keep` the caller passes). Each arm has its own
exposure, hence its own index date (first administration of the arm's drug), baseline visit
and attrition flow (`jiareg.study.cohort.eligibility_steps`). A patient eligible for several
arms joins the arm whose drug they started first (earliest index date; on the same day, the
arm listed first) — the new-user rule of `jiareg.study.arms`; each arm's flow ends with that
step. A protocol without `arms:` has the one arm `all` and exactly the flow it always had.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis

from jiareg.study.cohort import EligibilityStep, eligibility_steps, within
from jiareg.study.timepoints import (
    exposure_administrations,
    index_dates,
    timepoint_visits,
    visits_with_day,
)

if TYPE_CHECKING:
    from ibis.expr.types import Table

    from jiareg.study.arms import Arm
    from jiareg.study.protocol import Protocol

__all__ = ["ArmCohort", "arm_cohort"]


@dataclass(frozen=True)
class ArmCohort:
    """The tables every later step of a run builds on.

    `exposure`: administrations of each patient's arm drug, numbered from 1 (single arm: of
    every patient given the drug); `index`: per patient index_date, last_date,
    n_administrations and `arm` (the arm's name; `all` without `arms:`); `baseline`: each
    patient's baseline visit; `steps`: the attrition flow (shared steps, then each arm's);
    `cohort`: the patient_ids of the cohort (every arm).
    """

    exposure: Table
    index: Table
    baseline: Table
    steps: list[EligibilityStep]
    cohort: Table


def _arm_tables(
    registry: Mapping[str, Table], protocol: Protocol, arm: Arm, keep: Callable[[Table], Table]
) -> tuple[Table, Table, Table]:
    exposure = keep(
        exposure_administrations(registry["administrations"], protocol, arm.exposure.drug)
    )
    index = keep(index_dates(exposure).mutate(arm=ibis.literal(arm.name, "string")))
    dated = visits_with_day(registry["visits"], index)
    baseline = keep(timepoint_visits(dated, exposure, index, protocol.timepoint(protocol.baseline)))
    return exposure, index, baseline


def arm_cohort(
    registry: Mapping[str, Table],
    protocol: Protocol,
    keep: Callable[[Table], Table] = lambda table: table,
) -> ArmCohort:
    """Each arm's flow and the assigned cohort (see the module docstring)."""
    arms = protocol.study_arms()
    if protocol.arms is None:
        exposure, index, baseline = _arm_tables(registry, protocol, arms[0], keep)
        steps = eligibility_steps(registry, index, baseline, protocol, keep=keep)
        return ArmCohort(exposure, index, baseline, steps, steps[-1].patients)

    per_arm = [_arm_tables(registry, protocol, arm, keep) for arm in arms]
    flows = [
        eligibility_steps(registry, index, baseline, protocol, keep=keep, arm=arm)
        for arm, (_, index, baseline) in zip(arms, per_arm, strict=True)
    ]
    candidates = [
        within(index, flow[-1].patients).select(
            "patient_id", "index_date", "arm", order=ibis.literal(order, "int64")
        )
        for order, ((_, index, _), flow) in enumerate(zip(per_arm, flows, strict=True))
    ]
    eligible = candidates[0].union(*candidates[1:])
    rank = ibis.row_number().over(
        group_by=eligible.patient_id, order_by=[eligible.index_date, eligible.order]
    )
    assigned = keep(eligible.mutate(_rank=rank).filter(lambda t: t._rank == 0))
    steps = [step for step in flows[0] if step.arm is None]
    parts: list[tuple[Table, Table, Table]] = []
    for arm, flow, (exposure, index, baseline) in zip(arms, flows, per_arm, strict=True):
        steps.extend(step for step in flow if step.arm is not None)
        mine = keep(assigned.filter(assigned.arm == arm.name).select("patient_id"))
        label = f"assigned to {arm.title}: its drug started first"
        steps.append(EligibilityStep(label, "arm_assignment", mine, arm.name))
        parts.append((within(exposure, mine), within(index, mine), within(baseline, mine)))
    exposure, index, baseline = (
        keep(tables[0].union(*tables[1:])) for tables in zip(*parts, strict=True)
    )
    return ArmCohort(exposure, index, baseline, steps, keep(assigned.select("patient_id")))
