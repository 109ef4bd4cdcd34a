"""The drug-survival and response-over-time figures (PNG, matplotlib Agg). The only number
computed here is the exact (Clopper–Pearson) CI of each plotted proportion, from the counts
results.json gives, with the endpoints' own `jiareg.stats.clopper_pearson`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from matplotlib.figure import Figure

from jiareg.report._format import timepoint_label
from jiareg.report.figures import DRUG_COLOURS, _png
from jiareg.stats import clopper_pearson

if TYPE_CHECKING:
    from jiareg.report.survival import ResponseSeries
    from jiareg.study.endpoints.drug_survival import DrugSurvivalDetails

__all__ = ["REASON_WORDS", "drug_survival_figure", "response_over_time"]

DAYS_PER_MONTH: Final = 365.25 / 12
REASON_WORDS: Final = {
    "primary_failure": "primary inefficacy",
    "secondary_failure": "loss of efficacy",
    "intolerance": "intolerance",
    "adverse_event": "adverse event",
    "remission": "remission",
    "other": "other reason",
    "not_recorded": "reason not recorded",
}


def response_over_time(series: list[ResponseSeries], timepoints: tuple[str, ...]) -> bytes:
    """One panel per measure: the proportion at each timepoint with its exact 95 % CI, a
    line per arm."""
    columns = min(len(series), 2)
    rows = -(-len(series) // columns)
    figure = Figure(figsize=(7.2, 2.6 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    position = {t: i for i, t in enumerate(timepoints)}
    for ax, one in zip(axes.flat, series, strict=False):
        arms = sorted({arm for by_arm in one.points.values() for arm in by_arm})
        for k, arm in enumerate(arms):
            shift = (k - (len(arms) - 1) / 2) * 0.08
            xs, ys, low, high = [], [], [], []
            for name, by_arm in one.points.items():
                if arm not in by_arm or by_arm[arm][1] == 0:
                    continue
                fit = clopper_pearson(*by_arm[arm])
                assert fit.estimate is not None and fit.ci is not None  # n > 0
                xs.append(position[name] + shift)
                ys.append(fit.estimate)
                low.append(fit.estimate - fit.ci[0])
                high.append(fit.ci[1] - fit.estimate)
            colour = DRUG_COLOURS[k % len(DRUG_COLOURS)]
            ax.errorbar(
                xs,
                ys,
                yerr=[low, high],
                color=colour,
                marker="o",
                markersize=4,
                linewidth=1.6,
                capsize=3,
                label=arm if len(arms) > 1 else None,
            )
        ax.set_title(one.label, fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(-0.4, len(timepoints) - 0.6)
        ax.set_xticks(range(len(timepoints)), [timepoint_label(t) for t in timepoints])
        ax.set_ylabel("proportion", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        if len(arms) > 1:
            ax.legend(fontsize=7, frameon=False)
    for ax in list(axes.flat)[len(series) :]:
        ax.set_visible(False)
    return _png(figure)


def drug_survival_figure(details: DrugSurvivalDetails) -> bytes:
    """Kaplan–Meier proportion still on the drug by arm (95 % CI band), then per arm the
    cumulative incidence of stopping for each reason (Aalen–Johansen)."""
    arms = sorted(details.arms)
    panels = 1 + len(arms)
    columns = min(panels, 2)
    rows = -(-panels // columns)
    figure = Figure(figsize=(7.2, 2.7 * rows), layout="constrained")
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    km = axes[0]
    for k, arm in enumerate(arms):
        curve = details.arms[arm].curve
        colour = DRUG_COLOURS[k % len(DRUG_COLOURS)]
        months = [p.day / DAYS_PER_MONTH for p in curve]
        km.step(
            months,
            [p.survival for p in curve],
            where="post",
            color=colour,
            linewidth=1.8,
            label=f"{'all patients' if arm == 'all' else arm} (n = {details.arms[arm].n})",
        )
        km.fill_between(
            months,
            [p.ci_low if p.ci_low is not None else p.survival for p in curve],
            [p.ci_high if p.ci_high is not None else p.survival for p in curve],
            step="post",
            color=colour,
            alpha=0.15,
            linewidth=0,
        )
    km.set_title("Still on the index drug (Kaplan–Meier, 95 % CI)", fontsize=8)
    km.set_ylim(0, 1.02)
    km.set_ylabel("proportion", fontsize=8)
    km.legend(fontsize=7, frameon=False, loc="lower left")
    reasons = sorted({r.reason for arm in arms for r in details.cumulative_incidence.get(arm, [])})
    colours = {r: DRUG_COLOURS[i % len(DRUG_COLOURS)] for i, r in enumerate(reasons)}
    for ax, arm in zip(axes[1:], arms, strict=False):
        end = details.arms[arm].curve[-1].day / DAYS_PER_MONTH
        for incidence in details.cumulative_incidence.get(arm, []):
            days = [0.0] + [p.day / DAYS_PER_MONTH for p in incidence.curve] + [end]
            values = [0.0] + [p.incidence for p in incidence.curve]
            values.append(values[-1])
            ax.step(
                days,
                values,
                where="post",
                color=colours[incidence.reason],
                linewidth=1.5,
                label=REASON_WORDS.get(incidence.reason, incidence.reason),
            )
        title = "Stopped, by reason (Aalen–Johansen)"
        ax.set_title(title if arm == "all" else f"{title}: {arm}", fontsize=8)
        ax.set_ylim(
            0,
            max(
                0.05,
                *(p.incidence for r in details.cumulative_incidence.get(arm, []) for p in r.curve),
            )
            * 1.1,
        )
        ax.set_ylabel("cumulative incidence", fontsize=8)
        ax.legend(fontsize=6.5, frameon=False, loc="upper left")
    for ax in axes[:panels]:
        ax.set_xlim(left=0)
        ax.set_xlabel("months from the index date", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[panels:]:
        ax.set_visible(False)
    return _png(figure)
