"""The comparative analysis of a protocol's `comparison:` (results.json `arms`, `comparison`).

From the `patients` analysis dataset (`jiareg.study.datasets`: one row per patient, the
baseline covariates and each endpoint's outcome), with the statistics of `jiareg.stats`:

1. Table 1 by arm: each covariate's mean (SD) or count (%) per arm and the standardised mean
   difference treated vs reference (Austin PC. Stat Med 2009;28:3083-3107; |SMD| < 0.1 is
   negligible), on the patients with a value.
2. The propensity score: logistic regression of the arm (treated = 1) on the covariates
   (Rosenbaum & Rubin 1983), on complete cases or with missing-indicator terms
   (`missing_covariates`); a category enters as one 0/1 term per level but its most frequent
   one; terms constant in the sample are left out.
3. IPTW (average treatment effect, stabilised weights, optional trimming) and/or 1:1 caliper
   matching on the logit (Austin 2011), and the balance of every term before and after each
   (Austin PC, Stuart EA. Stat Med 2015;34:3661-3679).
4. Each endpoint: risk difference, risk ratio and odds ratio treated vs reference with robust
   (sandwich) 95 % CIs — unadjusted, IPTW-weighted and in the matched sample — on the patients
   of the propensity sample with an outcome; the E-value of the main analysis's risk ratio
   (IPTW, else matching, else unadjusted; VanderWeele TJ, Ding P. Ann Intern Med
   2017;167:268-274).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from jiareg.errors import StudyError
from jiareg.stats import (
    balance_table,
    binary_effects,
    e_value,
    iptw_weights,
    match_on_logit,
    propensity_scores,
    standardized_mean_difference,
)
from jiareg.stats.balance import NEGLIGIBLE_SMD, SMD_REFERENCE
from jiareg.stats.effects import BinaryEffects
from jiareg.study.comparative_survival import survival_comparisons
from jiareg.study.comparison_json import (
    AnalysisEffect,
    ArmSummary,
    BalanceEntry,
    ComparisonResult,
    EndpointComparison,
    Estimate,
    EValueResult,
    IptwSummary,
    MatchingSummary,
    PropensitySummary,
    Table1Cell,
    Table1Row,
    Term,
)
from jiareg.study.datasets import patients_dataset
from jiareg.study.endpoints.acr_pedi import AcrPediEndpoint, patient_outcomes
from jiareg.study.endpoints.covariates import COVARIATES
from jiareg.vocab import NONRESPONDER, RESPONDER

if TYPE_CHECKING:
    from jiareg.stats.effects import Effect
    from jiareg.study.arms import Comparison
    from jiareg.study.result import StudyResult

__all__ = ["arm_summaries", "compare"]

Design = dict[str, list[float]]


def _r(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


def arm_summaries(result: StudyResult) -> dict[str, ArmSummary] | None:
    """results.json `arms`: each arm's label, drug, route and patients (None without arms)."""
    protocol = result.protocol
    if protocol.arms is None:
        return None
    counts = Counter(result.tables["patients"]["arm"])
    return {
        arm.name: ArmSummary(
            label=arm.title, drug=arm.exposure.drug, route=arm.exposure.route, n=counts[arm.name]
        )
        for arm in protocol.arms
    }


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _terms(column: pd.Series, covariate: str) -> dict[str, tuple[str, list[float | None]]]:
    """A covariate as model terms: name → (label, values; None where missing), reference
    level (the most frequent, ties by name) first for a category."""
    label, kind = COVARIATES[covariate]
    values = list(column)
    if kind != "category":
        return {covariate: (label, [None if _missing(v) else float(v) for v in values])}
    seen = Counter(str(v) for v in values if not _missing(v))
    levels = sorted(seen, key=lambda level: (-seen[level], level))
    return {
        f"{covariate}={level}": (
            f"{label}: {level}",
            [None if _missing(v) else float(str(v) == level) for v in values],
        )
        for level in levels
    }


def _table1(
    terms: dict[str, tuple[str, list[float | None]]], arms: list[str], names: tuple[str, str]
) -> list[Table1Row]:
    rows = []
    for term, (label, values) in terms.items():
        binary = "=" in term or COVARIATES[term][1] == "binary"
        cells = {}
        for name in names:
            x = np.array(
                [v for v, a in zip(values, arms, strict=True) if a == name and v is not None]
            )
            sd = float(x.std(ddof=1)) if x.size > 1 else None
            cells[name] = Table1Cell(
                n=int(x.size),
                mean=_r(float(x.mean())) if x.size else None,
                sd=None if binary else _r(sd),
                count=int(x.sum()) if binary else None,
            )
        known = [(v, a == names[0]) for v, a in zip(values, arms, strict=True) if v is not None]
        smd = None
        if {t for _, t in known} == {True, False}:
            row = standardized_mean_difference(
                [v for v, _ in known], [t for _, t in known], binary=binary
            )
            smd = _r(row.smd)
        rows.append(Table1Row(term=term, label=label, binary=binary, arms=cells, smd=smd))
    return rows


def _design(
    terms: dict[str, tuple[str, list[float | None]]], spec: Comparison
) -> tuple[Design, dict[str, str], np.ndarray]:
    """The model's columns, their labels and the rows kept.

    A category's first (reference) level gets no column. A missing value drops the row
    (`complete_case`) or becomes the mean (0 for a level) with a 0/1 `<covariate>_missing`
    column (`indicator`). Columns constant over the rows kept are left out.
    """
    n = len(next(iter(terms.values()))[1])
    keep = np.ones(n, dtype=bool)
    design: Design = {}
    labels: dict[str, str] = {}
    by_covariate: dict[str, list[str]] = {}
    for term in terms:
        by_covariate.setdefault(term.split("=")[0], []).append(term)
    for covariate, names in by_covariate.items():
        missing = np.array([v is None for v in terms[names[0]][1]])
        category = "=" in names[0]
        for term in names[1:] if category else names:
            label, values = terms[term]
            present = [v for v in values if v is not None]
            fill = 0.0 if category else (float(np.mean(present)) if present else 0.0)
            design[term] = [fill if v is None else v for v in values]
            labels[term] = label
        if missing.any() and spec.missing_covariates == "indicator":
            design[f"{covariate}_missing"] = [float(m) for m in missing]
            labels[f"{covariate}_missing"] = f"{COVARIATES[covariate][0]}: missing"
        elif missing.any():
            keep &= ~missing
    kept = {k: [v for v, ok in zip(col, keep, strict=True) if ok] for k, col in design.items()}
    return {k: v for k, v in kept.items() if len(set(v)) > 1}, labels, keep


def _estimate(effect: Effect) -> Estimate:
    ci = None if effect.ci is None else [_r(effect.ci[0]), _r(effect.ci[1])]
    return Estimate(estimate=_r(effect.estimate), ci95=ci)


def _analysis(effects: BinaryEffects, names: tuple[str, str]) -> AnalysisEffect:
    return AnalysisEffect(
        n={names[0]: effects.n_treated, names[1]: effects.n_control},
        risk={names[0]: _r(effects.risk_treated), names[1]: _r(effects.risk_control)},
        risk_difference=_estimate(effects.risk_difference),
        risk_ratio=_estimate(effects.risk_ratio),
        odds_ratio=_estimate(effects.odds_ratio),
    )


def _effects_or_none(y: np.ndarray, t: np.ndarray, w: np.ndarray | None) -> BinaryEffects | None:
    """`binary_effects`, or None when an arm has no patient left (weights all 0)."""
    if w is not None and not ((w[t] > 0).any() and (w[~t] > 0).any()):
        return None
    return binary_effects(y.tolist(), t.tolist(), None if w is None else w.tolist())


def _e_value(effects: BinaryEffects, analysis: str) -> EValueResult | None:
    rr = effects.risk_ratio
    if rr.estimate is None or rr.ci is None:
        return None
    value = e_value(rr.estimate, rr.ci, measure="RR")
    return EValueResult(
        analysis=analysis,
        point=_r(value.point),
        ci_limit=_r(value.ci_limit),
        reference=value.reference,
    )


def compare(result: StudyResult) -> ComparisonResult | None:
    """results.json `comparison` of a protocol with `comparison:` (None without)."""
    spec = result.protocol.comparison
    if spec is None:
        return None
    names = (spec.treated, spec.reference)
    data = patients_dataset(result).reset_index()  # the covariates; no endpoint columns
    data = data[data["arm"].isin(names)].reset_index(drop=True)
    arms = list(data["arm"])
    terms: dict[str, tuple[str, list[float | None]]] = {}
    for covariate in spec.covariates:
        terms.update(_terms(data[covariate], covariate))
    table1 = _table1(terms, arms, names)
    design, labels, keep = _design(terms, spec)
    treated = np.array([a == spec.treated for a in arms])[keep]
    left_out = {
        name: int(sum(1 for a, k in zip(arms, keep, strict=True) if a == name and not k))
        for name in names
    }
    if treated.sum() < 2 or (~treated).sum() < 2 or not design:
        raise StudyError(
            f"comparison {spec.treated} vs {spec.reference}: each arm needs at least 2 patients "
            f"with every covariate and one covariate that varies; {int(treated.sum())} and "
            f"{int((~treated).sum())} remain ({left_out} left out for a missing covariate)"
        )
    model = propensity_scores(design, treated.tolist())
    scores = np.array(model.scores)
    weights: dict[str, np.ndarray] = {}
    iptw = matching = None
    if "iptw" in spec.methods:
        fitted = iptw_weights(model.scores, treated.tolist(), stabilized=True, trim=spec.trim)
        weights["iptw"] = np.array(fitted.weights)
        iptw = IptwSummary(
            estimand=fitted.estimand,
            stabilized=fitted.stabilized,
            trim=spec.trim,
            n_trimmed=fitted.n_trimmed,
            ess={names[0]: _r(fitted.ess_treated), names[1]: _r(fitted.ess_control)},
            max_weight=_r(float(weights["iptw"].max())),
            reference=fitted.reference,
        )
    if "matching" in spec.methods:
        matched = match_on_logit(model.logits, treated.tolist(), caliper_sd=spec.caliper_sd)
        if matched.pairs:
            weights["matched"] = np.array(matched.weights)
        matching = MatchingSummary(
            caliper=_r(matched.caliper),
            caliper_sd=spec.caliper_sd,
            pairs=len(matched.pairs),
            unmatched_treated=matched.n_unmatched_treated,
            reference=matched.reference,
        )
    balance = _balance(design, labels, treated, weights)
    maxima: dict[str, float | None] = {}
    for key in ("unadjusted", *weights):
        smds = [getattr(row, key) for row in balance]
        maxima[key] = _r(max((abs(s) for s in smds if s is not None), default=None))
    ids = [pid for pid, k in zip(data["patient_id"], keep, strict=True) if k]
    effects = {
        endpoint_id: _endpoint(result, endpoint_id, ids, treated, weights, names)
        for endpoint_id in spec.endpoints
    }
    survival = (
        survival_comparisons(result, ids, treated, weights["iptw"], names)
        if "iptw" in weights
        else None
    )
    return ComparisonResult(
        treated=spec.treated,
        reference=spec.reference,
        methods=list(spec.methods),
        covariates=list(spec.covariates),
        missing_covariates=spec.missing_covariates,
        threshold=NEGLIGIBLE_SMD,
        table1=table1,
        propensity=PropensitySummary(
            method=model.method,
            reference=model.reference,
            n=model.n,
            n_treated=model.n_treated,
            n_left_out=left_out,
            converged=model.converged,
            separated=model.separated,
            terms=[
                Term(term=c.name, coef=_r(c.coef), se=_r(c.se), odds_ratio=_r(c.odds_ratio))
                for c in model.coefficients
            ],
            score_range={
                name: [_r(float(scores[mask].min())), _r(float(scores[mask].max()))]
                for name, mask in ((names[0], treated), (names[1], ~treated))
            },
        ),
        balance=balance,
        max_abs_smd=maxima,
        iptw=iptw,
        matching=matching,
        effects=effects,
        balance_reference=SMD_REFERENCE,
        survival=survival or None,
    )


def _balance(
    design: Design, labels: dict[str, str], treated: np.ndarray, weights: dict[str, np.ndarray]
) -> list[BalanceEntry]:
    flags = treated.tolist()
    before = balance_table(design, flags).before
    after = {key: balance_table(design, flags, w.tolist()).after for key, w in weights.items()}
    rows = []
    for index, row in enumerate(before):
        adjusted = {key: _r(rows_[index].smd) for key, rows_ in after.items() if rows_ is not None}
        rows.append(
            BalanceEntry(
                term=row.covariate,
                label=labels[row.covariate],
                binary=row.binary,
                unadjusted=_r(row.smd),
                **adjusted,
            )
        )
    return rows


def _endpoint(
    result: StudyResult,
    endpoint_id: str,
    ids: list[str],
    treated: np.ndarray,
    weights: dict[str, np.ndarray],
    names: tuple[str, str],
) -> EndpointComparison:
    endpoint = next(e for e in result.protocol.endpoints if e.id == endpoint_id)
    assert isinstance(endpoint, AcrPediEndpoint)  # `check_design`: a comparable kind
    outcome = patient_outcomes(endpoint, result.frames, result.protocol)  # nri/locf need it
    codes = [outcome.get(pid) for pid in ids]
    evaluable = np.array([c in (RESPONDER, NONRESPONDER) for c in codes])
    y = np.array([1 if c == RESPONDER else 0 for c in codes])[evaluable]
    t = treated[evaluable]
    counts = {name: int((evaluable & (treated == (name == names[0]))).sum()) for name in names}
    missing = {name: int((~evaluable & (treated == (name == names[0]))).sum()) for name in names}
    if not (t.any() and (~t).any()):
        raise StudyError(f"comparison of {endpoint_id}: no evaluable patient in an arm ({counts})")
    crude = binary_effects(y.tolist(), t.tolist())
    adjusted = {key: _effects_or_none(y, t, w[evaluable]) for key, w in weights.items()}
    main_key = next((k for k in ("iptw", "matched") if adjusted.get(k) is not None), None)
    main = adjusted[main_key] if main_key else crude
    assert main is not None
    return EndpointComparison(
        label=endpoint.label or endpoint_id.replace("_", " "),
        evaluable=counts,
        not_evaluable=missing,
        unadjusted=_analysis(crude, names),
        **{k: _analysis(v, names) for k, v in adjusted.items() if v is not None},
        e_value=_e_value(main, main_key or "unadjusted"),
        method=crude.method,
        reference=crude.reference,
    )
