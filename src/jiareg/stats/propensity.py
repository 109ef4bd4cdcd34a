"""Propensity scores: logistic regression, inverse-probability weights and caliper matching.

The propensity score e(x) = P(treated | x) is estimated by maximum likelihood (statsmodels GLM,
binomial family, logit link, IRLS). Floats throughout. Nothing here looks at the outcome.
"""

from __future__ import annotations

import math
import warnings
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

PROPENSITY_REFERENCE: Final = (
    "Rosenbaum PR, Rubin DB. The central role of the propensity score in observational studies "
    "for causal effects. Biometrika 1983;70:41-55"
)
IPTW_REFERENCE: Final = (
    "Austin PC, Stuart EA. Moving towards best practice when using inverse probability of "
    "treatment weighting (IPTW). Stat Med 2015;34:3661-3679; stabilised: Xu S et al. Value "
    "Health 2010;13:273-277; trimming: Crump RK et al. Biometrika 2009;96:187-199; truncation: "
    "Cole SR, Hernán MA. Am J Epidemiol 2008;168:656-664"
)
MATCHING_REFERENCE: Final = (
    "Austin PC. Optimal caliper widths for propensity-score matching when estimating "
    "differences in means and differences in proportions in observational studies. Pharm Stat "
    "2011;10:150-161 (greedy 1:1 nearest neighbour on the logit, caliper 0.2 SD, no replacement)"
)

Estimand = Literal["ATE", "ATT"]
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Coefficient:
    """A term of the propensity model: log-odds coefficient, its SE and odds ratio."""

    name: str
    coef: float
    se: float
    odds_ratio: float


@dataclass(frozen=True, slots=True)
class PropensityModel:
    """The fitted model and each unit's score e and logit log(e / (1 − e)), in input order.

    `separated`: the covariates predict the arm perfectly (statsmodels' perfect-separation
    check), so some scores sit at 0 or 1 and the arms do not overlap: weighting or matching
    on these scores cannot compare like with like.
    """

    n: int
    n_treated: int
    coefficients: tuple[Coefficient, ...]
    scores: tuple[float, ...]
    logits: tuple[float, ...]
    converged: bool
    separated: bool
    method: str = "logistic regression (maximum likelihood, statsmodels GLM)"
    reference: str = PROPENSITY_REFERENCE


@dataclass(frozen=True, slots=True)
class IptwWeights:
    """One weight per unit (0 = trimmed away) and each group's effective sample size."""

    estimand: Estimand
    stabilized: bool
    weights: tuple[float, ...]
    n_trimmed: int
    truncated_at: tuple[float, float] | None
    ess_treated: float
    ess_control: float
    reference: str = IPTW_REFERENCE


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Matched (treated, control) index pairs; weights are 1 for matched units, else 0."""

    pairs: tuple[tuple[int, int], ...]
    caliper: float
    n_treated: int
    n_control: int
    weights: tuple[float, ...]
    reference: str = MATCHING_REFERENCE

    @property
    def n_unmatched_treated(self) -> int:
        """Treated units with no control within the caliper (they leave the analysis)."""
        return self.n_treated - len(self.pairs)


def propensity_scores(
    covariates: Mapping[str, Sequence[float]], treated: Sequence[bool]
) -> PropensityModel:
    """Fit logit P(treated) = β₀ + Σ βⱼ xⱼ and return every unit's score.

    Covariates enter as given (numeric; a categorical one as 0/1 columns minus a reference
    level); missing values are an error, as the model needs complete cases.
    Source: Rosenbaum & Rubin, Biometrika 1983.
    """
    t = np.asarray(treated, dtype=bool)
    names = list(covariates)
    if not names:
        raise ValueError("propensity_scores: no covariates to model the arm on")
    x = np.column_stack([np.asarray(covariates[n], dtype=np.float64) for n in names])
    if x.shape[0] != t.size:
        raise ValueError(f"propensity_scores: {x.shape[0]} rows of covariates, {t.size} flags")
    if not np.isfinite(x).all():
        raise ValueError("propensity_scores: missing or infinite covariate values")
    if t.all() or not t.any():
        raise ValueError("propensity_scores: both groups need at least one unit")
    design = np.column_stack([np.ones(t.size), x])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PerfectSeparationWarning)
        fit = GLM(t.astype(np.float64), design, family=Binomial()).fit()
    separated = False
    for warning in caught:
        if issubclass(warning.category, PerfectSeparationWarning):
            separated = True
        else:  # anything else goes on to the caller's filters
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    params = np.asarray(fit.params, dtype=np.float64)
    se = np.asarray(fit.bse, dtype=np.float64)
    logits = design @ params
    return PropensityModel(
        n=int(t.size),
        n_treated=int(t.sum()),
        coefficients=tuple(
            Coefficient(name, float(b), float(s), math.exp(b))
            for name, b, s in zip(["(intercept)", *names], params, se, strict=True)
        ),
        scores=tuple(float(v) for v in 1 / (1 + np.exp(-logits))),
        logits=tuple(float(v) for v in logits),
        converged=bool(fit.converged),
        separated=separated,
    )


def iptw_weights(
    scores: Sequence[float],
    treated: Sequence[bool],
    *,
    estimand: Estimand = "ATE",
    stabilized: bool = False,
    trim: float | None = None,
    truncate: float | None = None,
) -> IptwWeights:
    """Inverse-probability-of-treatment weights.

    ATE: 1/e for treated, 1/(1 − e) for controls; stabilised (Xu 2010): P(T)/e and
    (1 − P(T))/(1 − e), P(T) the share treated. ATT: 1 for treated, e/(1 − e) for controls
    (already on the treated's scale: `stabilized` is refused). `trim` α (Crump 2009: 0.1)
    gives weight 0 to units with e < α or e > 1 − α. `truncate` p caps the weights at their
    p-th and (100 − p)-th percentiles (Cole & Hernán 2008: 1 → 1st and 99th).

    >>> w = iptw_weights([0.5, 0.25, 0.5, 0.25], [True, True, False, False])
    >>> w.weights
    (2.0, 4.0, 2.0, 1.3333333333333333)
    """
    e = np.asarray(scores, dtype=np.float64)
    t = np.asarray(treated, dtype=bool)
    if e.shape != t.shape:
        raise ValueError(f"iptw_weights: {e.size} scores, {t.size} group flags")
    if not ((e > 0) & (e < 1)).all():
        raise ValueError("iptw_weights: propensity scores must lie strictly between 0 and 1")
    if estimand == "ATT" and stabilized:
        raise ValueError("iptw_weights: stabilisation applies to ATE weights only")
    keep = np.ones(e.size, dtype=bool)
    if trim is not None:
        if not 0 < trim < 0.5:
            raise ValueError(f"iptw_weights: trim must be in (0, 0.5), got {trim}")
        keep = (e >= trim) & (e <= 1 - trim)
    if estimand == "ATE":
        w = np.where(t, 1 / e, 1 / (1 - e))
        if stabilized:
            share = float(t[keep].mean())
            w = w * np.where(t, share, 1 - share)
    else:
        w = np.where(t, 1.0, e / (1 - e))
    w = np.where(keep, w, 0.0)
    bounds = None
    if truncate is not None:
        if not 0 < truncate < 50:
            raise ValueError(f"iptw_weights: truncate must be in (0, 50), got {truncate}")
        low, high = np.percentile(w[keep], [truncate, 100 - truncate])
        bounds = (float(low), float(high))
        w = np.where(keep, np.clip(w, low, high), 0.0)
    return IptwWeights(
        estimand=estimand,
        stabilized=stabilized,
        weights=tuple(float(v) for v in w),
        n_trimmed=int((~keep).sum()),
        truncated_at=bounds,
        ess_treated=_kish(w[t]),
        ess_control=_kish(w[~t]),
    )


def match_on_logit(
    logits: Sequence[float],
    treated: Sequence[bool],
    *,
    caliper_sd: float = 0.2,
    seed: int | None = None,
) -> MatchResult:
    """Greedy 1:1 nearest-neighbour matching on the logit of the score, without replacement.

    Caliper = `caliper_sd` × the pooled SD √((s²_T + s²_C)/2) of the logit (Austin 2011:
    0.2). Treated units are taken in input order, or in a random order drawn from `seed`;
    each takes the nearest unused control within the caliper (a tie goes to the lower logit,
    equal logits to the control first in input order) or stays unmatched.
    Source: Austin, Pharm Stat 2011.

    >>> m = match_on_logit([0.0, 1.0, 0.1, 0.9, 5.0], [True, True, False, False, False])
    >>> m.pairs, m.n_unmatched_treated
    (((0, 2), (1, 3)), 0)
    """
    x = np.asarray(logits, dtype=np.float64)
    t = np.asarray(treated, dtype=bool)
    if x.shape != t.shape or not np.isfinite(x).all():
        raise ValueError(f"match_on_logit: {x.size} finite logits expected for {t.size} flags")
    caliper = caliper_sd * math.sqrt((_variance(x[t]) + _variance(x[~t])) / 2)
    controls = np.flatnonzero(~t)
    controls = controls[np.argsort(x[controls], kind="stable")]
    values = [float(v) for v in x[controls]]
    pool = _SortedPool(len(values))
    order = np.flatnonzero(t)
    if seed is not None:
        order = np.random.default_rng(seed).permutation(order)
    pairs: list[tuple[int, int]] = []
    for unit in order:
        target = float(x[unit])
        at = bisect_left(values, target)
        candidates = [j for j in (pool.left_of(at - 1), pool.right_of(at)) if j is not None]
        if not candidates:
            break
        if candidates[0] < at:  # among equal logits below, the first control in input order
            candidates[0] = pool.first_alive_from(bisect_left(values, values[candidates[0]]))
        best = min(candidates, key=lambda j: (abs(values[j] - target), j))
        if abs(values[best] - target) <= caliper:
            pool.remove(best)
            pairs.append((int(unit), int(controls[best])))
    weights = np.zeros(t.size)
    for a, b in pairs:
        weights[[a, b]] = 1.0
    return MatchResult(
        pairs=tuple(sorted(pairs)),
        caliper=caliper,
        n_treated=int(t.sum()),
        n_control=int((~t).sum()),
        weights=tuple(float(v) for v in weights),
    )


class _SortedPool:
    """Positions 0..n-1 of a sorted list, with removal and nearest-alive lookup both ways."""

    def __init__(self, n: int) -> None:
        self._right = list(range(n + 1))  # _right[i]: first alive position >= i (n = none)
        self._left = list(range(n + 1))  # _left[i + 1]: last alive position <= i, plus 1
        self._n = n

    def right_of(self, i: int) -> int | None:
        j = _find(self._right, i)
        return None if j == self._n else j

    def first_alive_from(self, i: int) -> int:
        """The first alive position >= i, known to exist."""
        return _find(self._right, i)

    def left_of(self, i: int) -> int | None:
        j = _find(self._left, i + 1) - 1 if i >= 0 else -1
        return None if j < 0 else j

    def remove(self, i: int) -> None:
        self._right[i] = i + 1
        self._left[i + 1] = i


def _find(parent: list[int], i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression keeps later look-ups near O(1)
        parent[i], i = root, parent[i]
    return root


def _variance(x: Floats) -> float:
    return float(x.var(ddof=1)) if x.size > 1 else 0.0


def _kish(w: Floats) -> float:
    """Kish's effective sample size (Σw)² / Σw² (0 when every weight is 0)."""
    squares = float((w**2).sum())
    return float(w.sum()) ** 2 / squares if squares > 0 else 0.0
