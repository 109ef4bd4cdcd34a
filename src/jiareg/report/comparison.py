"""The report's arms and comparison section: the flow by arm, Table 1 by arm with SMDs, the
propensity model, the Love plot (SMD before/after adjustment per covariate), the effect
estimates and the methods in plain words with their sources.

Reads the typed results.json `arms` and `comparison` (`jiareg.study.comparison_json`) and the
attrition table; `context` is None for a protocol without `arms:`.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any, Final

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from jiareg.report._format import number, percent

if TYPE_CHECKING:
    from jiareg.study.comparison_json import (
        AnalysisEffect,
        ComparisonResult,
        Estimate,
        Table1Row,
    )
    from jiareg.study.result import StudyResult

__all__ = ["context", "love_plot"]

PS_REFERENCE: Final = (
    "Austin PC. An introduction to propensity score methods for reducing the effects of "
    "confounding in observational studies. Multivariate Behav Res 2011;46:399-424"
)
NEW_USER_REFERENCE: Final = (
    "Lund JL, Richardson DB, Stürmer T. The active comparator, new user study design in "
    "pharmacoepidemiology. Curr Epidemiol Rep 2015;2:221-228"
)
ANALYSES: Final = (("unadjusted", "Unadjusted"), ("iptw", "IPTW"), ("matched", "Matched"))
LOVE_DPI: Final = 110
"""Enough for a dot plot; keeps the PNG small whatever the registry's size."""


def love_plot(comparison: ComparisonResult) -> bytes:
    """|SMD| of each term before adjustment and after each method, the 0.1 line dashed."""
    rows = comparison.balance
    height = 0.9 + 0.2 * len(rows)
    figure = Figure(figsize=(5.6, height), layout="constrained")
    ax = figure.subplots()
    ys = list(range(len(rows)))[::-1]
    styles = {"unadjusted": ("o", "#bbbbbb"), "iptw": ("s", "#4477aa"), "matched": ("^", "#ee6677")}
    for key, title in ANALYSES:
        values = [getattr(row, key) for row in rows]
        if all(v is None for v in values):
            continue
        marker, colour = styles[key]
        points = [(abs(v), y) for v, y in zip(values, ys, strict=True) if v is not None]
        ax.scatter(
            [p[0] for p in points],
            [p[1] for p in points],
            marker=marker,
            color=colour,
            s=18,
            label=title,
            zorder=3,
        )
    ax.axvline(comparison.threshold, color="black", linestyle="--", linewidth=0.8)
    ax.set_yticks(ys, [row.label for row in rows])
    ax.tick_params(labelsize=7)
    ax.set_xlabel("absolute standardised mean difference", fontsize=8)
    ax.set_xlim(left=0)
    ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=LOVE_DPI, bbox_inches="tight")
    return buffer.getvalue()


def _cell(row: Table1Row, arm: str) -> str:
    cell = row.arms[arm]
    if cell.n == 0 or cell.mean is None:
        return "—"
    if row.binary:
        return f"{cell.count} ({percent(cell.mean)})"
    text = (
        f"{number(cell.mean, 1)} ({number(cell.sd, 1)})"
        if cell.sd is not None
        else number(cell.mean, 1)
    )
    return text


def _ci(estimate: Estimate, places: int = 2) -> str:
    if estimate.estimate is None:
        return "not estimable"
    if estimate.ci95 is None:
        return number(estimate.estimate, places)
    low, high = estimate.ci95
    return f"{number(estimate.estimate, places)} ({number(low, places)} to {number(high, places)})"


def _effect_row(
    label: str, title: str, effect: AnalysisEffect, names: tuple[str, str]
) -> list[str]:
    return [
        label,
        title,
        f"{effect.n[names[0]]} / {effect.n[names[1]]}",
        f"{percent(effect.risk[names[0]])} / {percent(effect.risk[names[1]])}",
        _ci(effect.risk_difference),
        _ci(effect.odds_ratio),
    ]


def _methods(comparison: ComparisonResult, titles: dict[str, str]) -> list[str]:
    treated, reference = titles[comparison.treated], titles[comparison.reference]
    items = [
        "Design: new users of each arm's drug, with a common index date (each patient's first "
        "administration of their arm's drug); a patient eligible for two arms joins the arm "
        f"whose drug they started first ({NEW_USER_REFERENCE}).",
        f"Propensity score: the probability of receiving {treated} rather than {reference}, "
        "from a logistic regression on the baseline covariates "
        + (
            "(patients with a missing covariate left out)"
            if comparison.missing_covariates == "complete_case"
            else "(a missing value replaced by the mean, with a missing-value indicator)"
        )
        + f" ({PS_REFERENCE}).",
        "Balance: standardised mean differences (SMD) between the arms before and after "
        f"adjustment; an absolute SMD below {number(comparison.threshold, 1)} is taken as "
        f"negligible ({PS_REFERENCE}; {comparison.balance_reference}).",
    ]
    if comparison.iptw is not None:
        trim = comparison.iptw.trim
        items.append(
            "Inverse probability of treatment weighting for the average treatment effect, with "
            "stabilised weights"
            + (
                f"; patients with a score below {number(trim, 2)} or above "
                f"{number(1 - trim, 2)} left out"
                if trim is not None
                else ""
            )
            + f" ({comparison.iptw.reference})."
        )
    if comparison.matching is not None:
        items.append(
            f"Matching: each {treated} patient paired with the nearest {reference} patient "
            "on the logit of the score, without replacement, within "
            f"{number(comparison.matching.caliper_sd, 2)} standard deviations of the logit "
            f"({comparison.matching.reference})."
        )
    effect = next(iter(comparison.effects.values()), None)
    if effect is not None:
        items.append(
            f"Effects: risk difference and odds ratio of {treated} versus {reference}, with "
            f"robust (sandwich) 95 % confidence intervals ({effect.reference}); patients "
            "without an outcome at the timepoint are left out of that endpoint."
        )
    items.append(
        "E-value: how strongly an unmeasured confounder would have to be associated with both "
        "the treatment and the outcome (risk-ratio scale) to explain the estimate away "
        "(VanderWeele TJ, Ding P. Ann Intern Med 2017;167:268-274)."
    )
    return items


def context(result: StudyResult) -> dict[str, Any] | None:
    """What the arms/comparison part of the template shows (None without `arms:`)."""
    results = result.results
    if results.arms is None:
        return None
    titles = {name: arm.label for name, arm in results.arms.items()}
    flows = {
        name: [
            row for row in result.tables["attrition"].to_dict("records") if row.get("arm") == name
        ]
        for name in results.arms
    }
    out: dict[str, Any] = {"arms": results.arms, "flows": flows, "titles": titles}
    comparison = results.comparison
    if comparison is None:
        return out | {"comparison": None}
    names = (comparison.treated, comparison.reference)
    effects = []
    for endpoint in comparison.effects.values():
        for key, title in ANALYSES:
            analysis = getattr(endpoint, key)
            if analysis is not None:
                effects.append(_effect_row(endpoint.label, title, analysis, names))
        if endpoint.e_value is not None:
            limit = endpoint.e_value.ci_limit
            effects.append(
                [
                    endpoint.label,
                    f"E-value ({endpoint.e_value.analysis})",
                    "",
                    "",
                    f"{number(endpoint.e_value.point, 2)}; CI limit "
                    + ("—" if limit is None else number(limit, 2)),
                    "",
                ]
            )
    maxima = ", ".join(
        f"{title.lower()} {number(comparison.max_abs_smd[key], 2)}"
        for key, title in ANALYSES
        if comparison.max_abs_smd.get(key) is not None
    )
    model = comparison.propensity
    return out | {
        "comparison": comparison,
        "names": names,
        "table1": [
            (row.label, _cell(row, names[0]), _cell(row, names[1]), number(row.smd, 2))
            for row in comparison.table1
        ],
        "effects": effects,
        "love": "data:image/png;base64," + base64.b64encode(love_plot(comparison)).decode(),
        "maxima": maxima,
        "model": (
            f"{model.n} patients ({model.n_treated} {titles[names[0]]}); left out for a missing "
            "covariate: "
            + ", ".join(f"{titles[k]} {v}" for k, v in model.n_left_out.items())
            + ("" if model.converged else "; the model did not converge")
            + ("; the covariates separate the arms perfectly" if model.separated else "")
        ),
        "methods": _methods(comparison, titles),
        "survival": [
            (
                part.label,
                f"{part.n[names[0]]} / {part.n[names[1]]}",
                f"{part.stopped[names[0]]} / {part.stopped[names[1]]}",
                _hazard_ratio(part.hazard_ratio.estimate, part.hazard_ratio.ci95),
                part.method,
            )
            for part in (comparison.survival or {}).values()
        ],
    }


def _hazard_ratio(estimate: float | None, ci: list[float] | None) -> str:
    if estimate is None:
        return "not estimable"
    low, high = ci or (None, None)
    return f"{number(estimate, 2)} ({number(low, 2)}–{number(high, 2)})"
