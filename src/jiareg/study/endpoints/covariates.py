"""The baseline covariates a study may adjust for: one list for the propensity model of a
comparison (`jiareg.study.arms.Comparison`) and the Cox model of drug survival
(`jiareg.study.endpoints.drug_survival`). Each is a column of the `patients` analysis dataset
known at the index date; nothing measured after it, which would bias either model.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["COVARIATES", "Covariate", "CovariateKind"]

CovariateKind = Literal["number", "binary", "category"]
COVARIATES: Final[dict[str, tuple[str, CovariateKind]]] = {
    "age_years": ("age at the index date, years", "number"),
    "sex": ("sex", "category"),
    "ilar_category": ("ILAR category", "category"),
    "disease_duration_years": ("disease duration, years", "number"),
    "baseline_active_joints": ("baseline active joints", "number"),
    "baseline_lom_joints": ("baseline joints with limited motion", "number"),
    "baseline_phys_global": ("baseline physician global", "number"),
    "baseline_parent_global": ("baseline parent/patient global", "number"),
    "baseline_chaq": ("baseline CHAQ", "number"),
    "baseline_esr": ("baseline ESR, mm/h", "number"),
    "baseline_jadas10": ("baseline JADAS-10", "number"),
    "n_prior_anti_tnf": ("anti-TNF agents before the index date", "number"),
    "n_prior_biologics": ("biologics before the index date", "number"),
    "baseline_steroids": ("systemic corticosteroids at baseline", "binary"),
    "site": ("site", "category"),
}
"""Covariate → its label and kind (a category enters a model as one 0/1 column per level but
one); the keys are `Covariate`'s values."""
Covariate = Literal[
    "age_years",
    "sex",
    "ilar_category",
    "disease_duration_years",
    "baseline_active_joints",
    "baseline_lom_joints",
    "baseline_phys_global",
    "baseline_parent_global",
    "baseline_chaq",
    "baseline_esr",
    "baseline_jadas10",
    "n_prior_anti_tnf",
    "n_prior_biologics",
    "baseline_steroids",
    "site",
]
