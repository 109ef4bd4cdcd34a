"""The comparison's drug survival: the IPTW-weighted Cox model of the arm alone.

For each `drug_survival` endpoint of a protocol with `comparison: {methods: [iptw, ...]}`:
the endpoint's own times (`survival_times`: index date to the stop, censored at the last
visit or administration or the horizon) of the patients in the propensity model, weighted by
their stabilised ATE weights, in a Cox model with the treated arm as its only term and the
robust (sandwich) variance. This estimates the marginal hazard ratio of the treated versus
the reference arm in the whole population (Austin PC. The performance of different propensity
score methods for estimating marginal hazard ratios. Stat Med 2013;32:2837-2849; Austin PC,
Stuart EA. Stat Med 2015;34:3661-3679), the estimand of truth.json's
`marginal_hazard_ratio` (docs/reference/synth.md); the endpoint's own Cox model with
covariates estimates a conditional one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from jiareg.stats.drug_survival import cox_model
from jiareg.study.comparison_json import Estimate, SurvivalComparison
from jiareg.study.endpoints import endpoints_of
from jiareg.study.endpoints.drug_survival import DrugSurvivalEndpoint, survival_times

if TYPE_CHECKING:
    from jiareg.study.result import StudyResult

__all__ = ["METHOD", "survival_comparisons"]

METHOD = (
    "Cox proportional hazards model of the treated arm alone, weighted by the stabilised "
    "IPTW (ATE) weights, robust sandwich 95 % CI (Austin 2013; Austin & Stuart 2015)"
)


def survival_comparisons(
    result: StudyResult,
    ids: list[str],
    treated: np.ndarray,
    weights: np.ndarray,
    names: tuple[str, str],
) -> dict[str, SurvivalComparison]:
    """Endpoint id → the weighted hazard ratio (`ids`, `treated`, `weights`: the patients of
    the propensity model in order); an endpoint without a stop in both arms is left out."""
    out = {}
    for endpoint in endpoints_of(result.protocol, DrugSurvivalEndpoint):
        times = {
            t.patient_id: t for t in survival_times(endpoint, result.protocol, result.frames)[0]
        }
        rows = [
            (times[pid], bool(t), float(w))
            for pid, t, w in zip(ids, treated, weights, strict=True)
            if pid in times
        ]
        arm = np.array([t for _, t, _ in rows])
        stopped = np.array([s.stopped for s, _, _ in rows])
        if not ((stopped & arm).any() and (stopped & ~arm).any()):
            continue
        fit = cox_model(
            [float(s.day) for s, _, _ in rows],
            [int(s.stopped) for s, _, _ in rows],
            {"treated": [float(t) for t in arm]},
            weights=[w for _, _, w in rows],
        )
        (term,) = fit.terms
        out[endpoint.id] = SurvivalComparison(
            label=endpoint.label or endpoint.id,
            n={names[0]: int(arm.sum()), names[1]: int((~arm).sum())},
            stopped={names[0]: int((stopped & arm).sum()), names[1]: int((stopped & ~arm).sum())},
            hazard_ratio=Estimate(
                estimate=round(term.hazard_ratio, 6),
                ci95=[round(term.ci[0], 6), round(term.ci[1], 6)],
            ),
            method=METHOD,
        )
    return out
