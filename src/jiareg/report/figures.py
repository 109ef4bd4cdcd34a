"""The report's figures as PNG bytes, drawn with matplotlib's Agg canvas (no global state)."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Final

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from jiareg.report._format import timepoint_label, variable_label
from jiareg.report.analysis import TimeToResponse
from jiareg.study.report_options import PER_PATIENT_MAX as DEFAULT_PER_PATIENT_MAX
from jiareg.vocab import CORE_SET_VARIABLES

if TYPE_CHECKING:
    import pandas

DPI: Final = 150
"""Sharp on screen and in print at the report's figure widths (7.2 in → about 1,080 pixels)."""
PER_PATIENT_MAX: Final = DEFAULT_PER_PATIENT_MAX
"""The default largest cohort drawn patient by patient (core-set lines, swimmer plot); larger
cohorts get the median with its interquartile band, and the time-to-response curve instead of
swimmers. A protocol sets its own: `report: {per_patient_max: N}` (`ReportOptions`)."""
DAYS_PER_MONTH: Final = 365.25 / 12
DRUG_COLOURS: Final = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377")


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def core_set_lines(
    patient_timepoints: pandas.DataFrame,
    timepoints: tuple[str, ...],
    globals_scale: str,
    per_patient_max: int = PER_PATIENT_MAX,
) -> bytes:
    """Small multiples, one panel per core-set variable: the median in black over one grey line
    per patient (up to `per_patient_max` patients) or over the interquartile band."""
    figure = Figure(figsize=(7.2, 4.4), layout="constrained")
    axes = figure.subplots(2, 3)
    positions = {t: i for i, t in enumerate(timepoints)}
    per_patient = patient_timepoints["patient_id"].nunique() <= per_patient_max
    for ax, variable in zip(axes.flat, CORE_SET_VARIABLES, strict=True):
        data = patient_timepoints[
            (patient_timepoints["variable"] == variable)
            & patient_timepoints["timepoint"].isin(timepoints)
        ]
        by_timepoint = data.groupby("timepoint")["value"]
        shown = [t for t in timepoints if t in by_timepoint.groups]
        xs = [positions[t] for t in shown]
        if per_patient:
            xs_lines, ys_lines = _patient_lines(data, positions)
            ax.plot(xs_lines, ys_lines, color="#999999", linewidth=0.9, marker="o", markersize=2.5)
        else:
            quartiles = by_timepoint.quantile([0.25, 0.75]).unstack()
            ax.fill_between(
                xs,
                [quartiles.loc[t, 0.25] for t in shown],
                [quartiles.loc[t, 0.75] for t in shown],
                color="#4477aa",
                alpha=0.25,
                linewidth=0,
                label="interquartile range",
            )
        medians = by_timepoint.median()
        ys = [medians[t] for t in shown]
        ax.plot(xs, ys, color="black", linewidth=2.2, marker="s", markersize=4, label="median")
        ax.set_title(variable_label(variable, globals_scale), fontsize=8)
        ax.set_xticks(range(len(timepoints)), [timepoint_label(t) for t in timepoints])
        ax.tick_params(labelsize=7)
        ax.set_xlim(-0.3, len(timepoints) - 0.7)
        ax.spines[["top", "right"]].set_visible(False)
    axes.flat[0].legend(fontsize=7, frameon=False)
    return _png(figure)


def _patient_lines(
    data: pandas.DataFrame, positions: dict[str, int]
) -> tuple[list[float], list[float]]:
    """Every patient's line as one path, a NaN between patients (matplotlib breaks a line at
    NaN): one artist per panel to lay out and draw instead of one per patient, which took most
    of a 40-patient report's drawing time."""
    ordered = data.assign(x=data["timepoint"].map(positions)).sort_values(
        ["patient_id", "x"], kind="stable"
    )
    xs: list[float] = []
    ys: list[float] = []
    for _, one in ordered.groupby("patient_id", sort=True):
        xs += [*one["x"].astype(float), math.nan]
        ys += [*one["value"].astype(float), math.nan]
    return xs, ys


def time_to_response_curve(ttr: TimeToResponse) -> bytes:
    """Kaplan–Meier cumulative proportion with a first response, with its 95 % CI."""
    figure = Figure(figsize=(5.2, 2.6), layout="constrained")
    ax = figure.subplots()
    km = ttr.km
    if km is not None:
        times = [row.time for row in km.table]
        ax.step(
            times,
            [1 - row.survival for row in km.table],
            where="post",
            color="#4477aa",
            linewidth=2,
            label="responded",
        )
        ax.fill_between(
            times,
            [1 - (row.ci_high if row.ci_high is not None else row.survival) for row in km.table],
            [1 - (row.ci_low if row.ci_low is not None else row.survival) for row in km.table],
            step="post",
            color="#4477aa",
            alpha=0.18,
            linewidth=0,
            label="95 % CI",
        )
        censored = [(d, r) for d, r in zip(ttr.days, ttr.responded, strict=True) if not r]
        if censored:
            rows = {row.time: 1 - row.survival for row in km.table}
            ax.plot(
                [d for d, _ in censored],
                [rows[d] for d, _ in censored],
                "|",
                color="black",
                markersize=9,
                label="censored",
            )
        if km.median is not None:
            ax.axvline(km.median, color="#777777", linestyle=":", linewidth=1)
            ax.annotate(
                f"median {km.median:g} days",
                (km.median, 0.5),
                xytext=(5, -12),
                textcoords="offset points",
                fontsize=7,
            )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel("days since the first infusion", fontsize=8)
    ax.set_ylabel("cumulative proportion", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False, loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def swimmer_plot(
    patients: pandas.DataFrame,
    courses: pandas.DataFrame,
    administrations: pandas.DataFrame,
    ttr: TimeToResponse | None,
    index_drug: str,
) -> bytes:
    """One row per patient: biologic courses as bars (months from the index date), the
    index-drug infusions as ticks and the first ACR Pedi 30 response as a star."""
    order = patients.sort_values("exposure_months")["patient_id"].tolist()
    rows = {pid: i for i, pid in enumerate(order)}
    index = dict(zip(patients["patient_id"], patients["index_date"], strict=True))
    last = dict(zip(patients["patient_id"], patients["last_administration_date"], strict=True))
    drugs = [index_drug, *sorted(set(courses["drug"]) - {index_drug})]
    colours = {d: DRUG_COLOURS[i % len(DRUG_COLOURS)] for i, d in enumerate(drugs)}
    figure = Figure(figsize=(7.2, 0.35 * len(order) + 1.3), layout="constrained")
    ax = figure.subplots()
    bars: list[tuple[int, float, float, str]] = []  # (row, left, width, colour): one barh
    for course in courses.itertuples():
        if course.patient_id not in rows:
            continue
        start = (course.start_date - index[course.patient_id]).days / DAYS_PER_MONTH
        stop_date = (
            course.stop_date
            if isinstance(course.stop_date, type(course.start_date))
            else last[course.patient_id]
        )
        stop = (stop_date - index[course.patient_id]).days / DAYS_PER_MONTH
        bars.append((rows[course.patient_id], start, stop - start, colours[course.drug]))
    if bars:
        row, left, width, colour = zip(*bars, strict=True)
        ax.barh(row, width, left=left, height=0.55, color=colour, edgecolor="none")
    doses = administrations[administrations["patient_id"].isin(rows)]
    ax.plot(
        doses["day"] / DAYS_PER_MONTH,
        doses["patient_id"].map(rows),
        "|",
        color="black",
        markersize=7,
        markeredgewidth=0.8,
        label=f"{index_drug} infusion",
    )
    if ttr is not None:
        hits = [
            (pid, d)
            for pid, d, r in zip(ttr.patient_id, ttr.days, ttr.responded, strict=True)
            if r and pid in rows
        ]
        ax.plot(
            [d / DAYS_PER_MONTH for _, d in hits],
            [rows[p] for p, _ in hits],
            "*",
            color="#ee7733",
            markersize=10,
            markeredgecolor="black",
            markeredgewidth=0.5,
            label=f"first ACR Pedi {ttr.level}",
        )
    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(color=colours[drug], label=drug) for drug in drugs]
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_yticks(range(len(order)), order)
    ax.set_xlabel(f"months from the first {index_drug} infusion", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(
        handles=handles, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0)
    )
    ax.spines[["top", "right"]].set_visible(False)
    return _png(figure)
