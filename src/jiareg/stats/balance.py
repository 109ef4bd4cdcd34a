"""Covariate balance between two groups: standardised mean differences, unweighted or weighted.

An SMD compares the groups' means in units of their pooled standard deviation, so it does not
grow with the sample size (unlike a p-value). Austin's rule of thumb: |SMD| < 0.1 is a
negligible imbalance. Floats throughout (weights are real numbers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

SMD_REFERENCE: Final = (
    "Austin PC. Balance diagnostics for comparing the distribution of baseline covariates "
    "between treatment groups in propensity-score matched samples. Stat Med 2009;28:3083-3107; "
    "weighted: Austin PC, Stuart EA. Stat Med 2015;34:3661-3679"
)
NEGLIGIBLE_SMD: Final = 0.1  # Austin 2009, section 4

Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class GroupMoments:
    """A covariate's (weighted) mean and variance in one group; for a binary one, mean = p."""

    mean: float
    variance: float


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """One covariate: its kind, the groups' moments and the SMD (treated − control).

    `smd` is None when both groups have zero variance but different means (undefined).
    """

    covariate: str
    binary: bool
    treated: GroupMoments
    control: GroupMoments
    smd: float | None


@dataclass(frozen=True, slots=True)
class BalanceTable:
    """SMDs of every covariate before weighting/matching and, when given, after."""

    before: tuple[BalanceRow, ...]
    after: tuple[BalanceRow, ...] | None
    threshold: float = NEGLIGIBLE_SMD
    reference: str = SMD_REFERENCE

    def imbalanced(self) -> tuple[str, ...]:
        """Covariates whose |SMD| (after, if given, else before) reaches the threshold."""
        rows = self.after if self.after is not None else self.before
        return tuple(r.covariate for r in rows if r.smd is None or abs(r.smd) >= self.threshold)


def standardized_mean_difference(
    values: Sequence[float],
    treated: Sequence[bool],
    weights: Sequence[float] | None = None,
    *,
    binary: bool | None = None,
    name: str = "",
) -> BalanceRow:
    """The SMD of one covariate between treated and control units.

    Continuous (Austin 2009, eq. 1): d = (x̄_T − x̄_C) / √((s²_T + s²_C) / 2).
    Binary (Austin 2009, eq. 2): d = (p_T − p_C) / √((p_T(1 − p_T) + p_C(1 − p_C)) / 2).
    With weights (Austin & Stuart 2015, section 4.1.1): x̄ = Σwx / Σw and
    s² = Σw / ((Σw)² − Σw²) · Σw(x − x̄)²; a binary covariate uses the weighted proportion.
    Weights of 0 drop a unit (an unmatched one). `binary` None: 0/1-only values are binary.

    >>> r = standardized_mean_difference([1, 2, 3, 2, 3, 4], [True] * 3 + [False] * 3)
    >>> r.smd
    -1.0
    """
    x, t, w = _arrays(values, treated, weights)
    is_binary = bool(np.isin(x, (0.0, 1.0)).all()) if binary is None else binary
    moments = [_moments(x[mask], w[mask], is_binary) for mask in (t, ~t)]
    difference = moments[0].mean - moments[1].mean
    pooled = math.sqrt((moments[0].variance + moments[1].variance) / 2)
    smd: float | None = difference / pooled if pooled > 0 else None
    if pooled == 0 and difference == 0:
        smd = 0.0
    return BalanceRow(name, is_binary, moments[0], moments[1], smd)


def balance_table(
    covariates: Mapping[str, Sequence[float]],
    treated: Sequence[bool],
    weights: Sequence[float] | None = None,
    *,
    binary: Sequence[str] | None = None,
) -> BalanceTable:
    """SMDs of each covariate before and (with `weights`, e.g. IPTW or 0/1 match flags) after.

    A categorical covariate enters as one 0/1 column per level. `binary` names the binary
    covariates; by default a covariate whose values are all 0 or 1 is binary.

    >>> t = balance_table({"female": [1, 1, 0, 1, 0, 0]}, [True] * 3 + [False] * 3)
    >>> round(t.before[0].smd, 4), t.after
    (0.7071, None)
    """
    before: list[BalanceRow] = []
    after: list[BalanceRow] = []
    for name, values in covariates.items():
        kind = None if binary is None else name in binary
        before.append(standardized_mean_difference(values, treated, binary=kind, name=name))
        if weights is not None:
            row = standardized_mean_difference(values, treated, weights, binary=kind, name=name)
            after.append(row)
    return BalanceTable(tuple(before), None if weights is None else tuple(after))


def _moments(x: Floats, w: Floats, binary: bool) -> GroupMoments:
    keep = w > 0
    x, w = x[keep], w[keep]
    if x.size == 0:
        raise ValueError("standardized_mean_difference: a group has no unit with weight > 0")
    total = float(w.sum())
    mean = float((w * x).sum() / total)
    if binary:
        return GroupMoments(mean, mean * (1 - mean))
    denominator = total**2 - float((w**2).sum())
    if denominator <= 0:  # a single unit: no spread to estimate
        return GroupMoments(mean, 0.0)
    return GroupMoments(mean, total / denominator * float((w * (x - mean) ** 2).sum()))


def _arrays(
    values: Sequence[float], treated: Sequence[bool], weights: Sequence[float] | None
) -> tuple[Floats, NDArray[np.bool_], Floats]:
    x = np.asarray(values, dtype=np.float64)
    t = np.asarray(treated, dtype=bool)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    if not x.shape == t.shape == w.shape or x.ndim != 1:
        raise ValueError(
            f"standardized_mean_difference: {x.size} values, {t.size} group flags, {w.size} weights"
        )
    if not np.isfinite(x).all():
        raise ValueError("standardized_mean_difference: missing or infinite covariate values")
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("standardized_mean_difference: weights must be finite and >= 0")
    return x, t, w
