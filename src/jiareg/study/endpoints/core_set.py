"""Endpoint kind `core_set`: median, IQR and n of each core-set variable at each timepoint,
with the Wilcoxon signed-rank test of each follow-up timepoint against baseline.

Core set: SPEC R-CORESET-1 (`jiareg.vocab.CORE_SET`, in the poster's order). Statistics:
`jiareg.stats.describe` (exact medians, type-7 quartiles) and `wilcoxon_signed_rank`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from jiareg.stats import describe, wilcoxon_signed_rank
from jiareg.study.endpoints.base import (
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    Name,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import CoreSetStat, Number, ResultModel, at_timepoint, number
from jiareg.vocab import CORE_SET_VARIABLES

__all__ = ["CoreSetDetails", "CoreSetEndpoint", "CoreSetTable", "PairedTestResult"]


class CoreSetEndpoint(EndpointSpec):
    """Median, IQR and n of each core-set variable at each timepoint."""

    kind: Literal["core_set"]
    at: tuple[Name, ...]


class PairedTestResult(ResultModel):
    """The Wilcoxon signed-rank test of one variable, one timepoint against baseline."""

    n_pairs: int
    """Patients with the variable recorded at both timepoints."""
    n_zero: int
    """Pairs with no change (dropped by the signed-rank test)."""
    statistic: Number | None
    """The signed-rank statistic (null when no pair differs)."""
    p_value: Number | None
    """Two-sided p value (null when not computable)."""
    median_difference: Number | None
    """Median of the paired differences, follow-up − baseline."""
    method: str
    """Exact or normal approximation, with its corrections."""


class CoreSetDetails(EndpointDetails):
    """`endpoints.<id>` of a core-set endpoint: timepoint → variable → paired test."""

    kind: Literal["core_set"]
    wilcoxon_vs_baseline: dict[str, dict[str, PairedTestResult]]
    """Follow-up timepoint → core-set variable → Wilcoxon signed-rank test against the
    baseline timepoint (the summaries themselves are the headline)."""


CoreSetTable = dict[str, dict[str, CoreSetStat]]
"""The headline: timepoint → variable → `CoreSetStat`."""


def _stat(values: Iterable[object]) -> CoreSetStat:
    s = describe(values)
    return CoreSetStat(
        median=number(s.median),
        q1=number(s.q1),
        q3=number(s.q3),
        n=s.n,
        n_missing=s.n_missing,
        min=number(s.min),
        max=number(s.max),
    )


def summarise(
    endpoint: CoreSetEndpoint, ctx: SummaryContext
) -> tuple[CoreSetTable, CoreSetDetails]:
    """The table of summaries and the paired tests against the baseline timepoint."""
    visits, baseline = ctx.frames["visits"], ctx.protocol.baseline
    table = {
        name: {var: _stat(at_timepoint(visits, name)[var]) for var in CORE_SET_VARIABLES}
        for name in endpoint.at
    }
    base = at_timepoint(visits, baseline).set_index("patient_id")
    tests: dict[str, dict[str, PairedTestResult]] = {}
    for name in endpoint.at:
        if name == baseline:
            continue
        later = at_timepoint(visits, name).set_index("patient_id")
        both = base.index.intersection(later.index).sort_values()
        tests[name] = {}
        for var in CORE_SET_VARIABLES:
            test = wilcoxon_signed_rank(list(base.loc[both, var]), list(later.loc[both, var]))
            tests[name][var] = PairedTestResult(
                n_pairs=test.n_pairs,
                n_zero=test.n_zero,
                statistic=test.statistic,
                p_value=test.p_value,
                median_difference=number(test.median_difference),
                method=test.method,
            )
    return table, CoreSetDetails(kind="core_set", wilcoxon_vs_baseline=tests)


KIND = register(
    EndpointKind(
        name="core_set",
        spec=CoreSetEndpoint,
        details=CoreSetDetails,
        headline=CoreSetTable,
        summarise=summarise,
    )
)
