"""The report's tables as HTML: the core-set table with great-tables, the others as rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from great_tables import GT

from jiareg.report._format import (
    median_iqr,
    number,
    p_value,
    percent,
    timepoint_label,
    variable_label,
)
from jiareg.report.analysis import timepoint_counts
from jiareg.study.endpoints import endpoints_of
from jiareg.study.endpoints.inactive_disease import InactiveDiseaseDetails, InactiveDiseaseEndpoint
from jiareg.study.endpoints.remission import RemissionDetails, RemissionEndpoint

if TYPE_CHECKING:
    from jiareg.report.analysis import ReportNumbers
    from jiareg.study.result import StudyResult


def core_set_table(numbers: ReportNumbers, globals_scale: str) -> str:
    """Core set at each timepoint: median [IQR] (n), median paired change and Wilcoxon p."""
    followups = [t for t in numbers.timepoints if t != numbers.baseline]
    methods = sorted({test.method for row in numbers.core_set for test in row.tests.values()})
    marks = (
        {m: "" for m in methods}
        if len(methods) == 1
        else {m: f" ({chr(ord('a') + i)})" for i, m in enumerate(methods)}
    )
    rows = []
    for row in numbers.core_set:
        cells = {"Variable": variable_label(row.variable, globals_scale)}
        for t in numbers.timepoints:
            summary = row.summaries[t]
            cells[t] = median_iqr(summary)
            cells[f"{t}__n"] = str(summary.n)
        for t in followups:
            test = row.tests.get(t)
            cells[f"{t}__change"] = number(test.median_difference) if test else "–"
            cells[f"{t}__p"] = p_value(test.p_value) + marks[test.method] if test else "–"
        rows.append(cells)
    table = GT(pd.DataFrame(rows), id="core-set-table")
    labels: dict[str, Any] = {}  # great-tables wants str | BaseText values
    for t in numbers.timepoints:
        labels[t] = "median [IQR]"
        labels[f"{t}__n"] = "n"
        table = table.tab_spanner(label=timepoint_label(t).capitalize(), columns=[t, f"{t}__n"])
    for t in followups:
        labels[f"{t}__change"] = "median change"
        labels[f"{t}__p"] = "p"
        table = table.tab_spanner(
            label=f"{timepoint_label(t).capitalize()} vs {timepoint_label(numbers.baseline)}",
            columns=[f"{t}__change", f"{t}__p"],
        )
    table = (
        table.cols_label(cases=labels)
        .tab_source_note(
            "IQR: first–third quartile (type 7). Change: median of the paired differences "
            "(follow-up − baseline). p: two-sided Wilcoxon signed-rank test, "
            + "; ".join(f"{marks[m].strip()} {m}".strip() for m in methods)
            + "."
        )
        .tab_options(table_font_size="9pt", table_width="100%")
    )
    return str(table.as_raw_html())


IMPUTED_WORDS = {"nri": ", non-responder imputation", "locf": ", LOCF"}
"""How a row says its missing-data rule (none for observed values)."""


def inactive_disease_rows(result: StudyResult) -> list[tuple[str, str]]:
    """Clinical inactive disease at each timepoint of every `inactive_disease` endpoint:
    inactive of evaluable (the headline and the denominators), with the not-evaluable count
    (docs/reference/inactive-disease.md)."""
    rows = []
    for endpoint in endpoints_of(result.protocol, InactiveDiseaseEndpoint):
        details = result.results.details(endpoint.id, InactiveDiseaseDetails)
        inactive = timepoint_counts(result, endpoint.id)
        for timepoint, count in inactive.items():
            counted = details.denominators[timepoint]
            share = percent(count / counted.evaluable if counted.evaluable else None)
            rows.append(
                (
                    f"Clinical inactive disease at {timepoint_label(timepoint)}"
                    + IMPUTED_WORDS.get(endpoint.missing, ""),
                    f"{count}/{counted.evaluable} ({share}); "
                    f"not evaluable {counted.cohort - counted.evaluable}",
                )
            )
    return rows


def remission_rows(result: StudyResult) -> list[tuple[str, str]]:
    """Clinical remission at each timepoint of every `remission` endpoint: in remission (on or
    off medication) of evaluable, of which off medication, with the not-evaluable count."""
    rows = []
    for endpoint in endpoints_of(result.protocol, RemissionEndpoint):
        details = result.results.details(endpoint.id, RemissionDetails)
        for timepoint, count in timepoint_counts(result, endpoint.id).items():
            counted = details.denominators[timepoint]
            share = percent(count / counted.evaluable if counted.evaluable else None)
            rows.append(
                (
                    f"Clinical remission at {timepoint_label(timepoint)} (on or off medication)",
                    f"{count}/{counted.evaluable} ({share}); "
                    f"off medication {details.off_medication.get(timepoint, 0)}; "
                    f"not evaluable {counted.cohort - counted.evaluable}",
                )
            )
    return rows
