"""Write report.html (self-contained) and report.pdf (WeasyPrint, same HTML) for a study."""

from __future__ import annotations

import base64
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

import jinja2
import weasyprint

from jiareg.report import comparison, figures
from jiareg.report._format import number, percent, plural, timepoint_label
from jiareg.report.analysis import ReportNumbers, compute
from jiareg.report.methods import ILAR_LABELS, methods
from jiareg.report.narrative import results_paragraph
from jiareg.report.survival import drug_survival_parts, response_series, survival_methods
from jiareg.report.survival_figures import response_over_time
from jiareg.report.tables import core_set_table, inactive_disease_rows, remission_rows

if TYPE_CHECKING:
    from jiareg.study.endpoints.common import Range
    from jiareg.study.result import StudyResult
    from jiareg.study.results_json import Results

STEROID_CATEGORIES: Final = (
    ("DISCONTINUED", "stopped"),
    ("REDUCED_GE50", "reduced by 50 % or more"),
    ("REDUCED_LT50", "reduced by less than 50 %"),
    ("NO_CHANGE", "unchanged"),
    ("INCREASED", "increased"),
)

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("jiareg.report", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def write_report(result: StudyResult, out_dir: Path) -> tuple[Path, Path]:
    """Write `report.html` and `report.pdf` into `out_dir`; return their paths.

    Both are written to temporary files first and renamed into place, so a failure leaves
    no half-written report.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_html(result)
    pdf = weasyprint.HTML(string=html, base_url=str(out_dir)).write_pdf()
    html_path, pdf_path = out_dir / "report.html", out_dir / "report.pdf"
    _write_atomically(html_path, html.encode("utf-8"))
    _write_atomically(pdf_path, pdf)
    return html_path, pdf_path


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def render_html(result: StudyResult) -> str:
    """The whole report as one self-contained HTML string (figures inline as base64 PNG)."""
    numbers = compute(result)
    protocol = result.protocol
    results = result.results
    tables = result.tables
    index_drug = results.index_drug
    per_patient_max = protocol.report.per_patient_max
    per_patient = len(tables["patients"]) <= per_patient_max
    series = response_series(result)
    order = tuple(t.name for t in protocol.timepoints if any(t.name in s.points for s in series))
    context = {
        "title": results.title,
        "synthetic": results.synthetic,
        "description": protocol.description,
        "methods": methods(result, numbers) + survival_methods(result),
        "attrition": [  # the steps every arm shares (each arm's own: `arms_context`)
            row
            for row in tables["attrition"].to_dict("records")
            if not isinstance(row.get("arm"), str)
        ],
        "arms_context": comparison.context(result),
        "cohort": cohort_rows(results),
        "core_set_table": (
            core_set_table(numbers, protocol.globals_scale) if numbers.core_set else None
        ),
        "responders": responder_rows(numbers),
        "steroids": steroid_rows(result, numbers),
        "adverse_events": adverse_event_rows(numbers),
        "inactive_disease": inactive_disease_rows(result) + remission_rows(result),
        "per_patient": per_patient,
        "per_patient_max": per_patient_max,
        "paragraph": results_paragraph(numbers),
        "sections": numbers.sections,
        "drug_survival": [
            {
                "title": part.title,
                "figure": _data_uri(part.figure) if part.figure else None,
                "rows": part.rows,
            }
            for part in drug_survival_parts(result)
        ],
        "figures": {
            "lines": _data_uri(
                figures.core_set_lines(
                    tables["patient_timepoints"],
                    numbers.timepoints,
                    protocol.globals_scale,
                    per_patient_max,
                )
            ),
            "km": (
                _data_uri(figures.time_to_response_curve(numbers.time_to_response))
                if numbers.time_to_response is not None and numbers.time_to_response.km
                else None
            ),
            "response": _data_uri(response_over_time(series, order)) if series else None,
            "swimmer": (
                _data_uri(
                    figures.swimmer_plot(
                        tables["patients"],
                        tables["courses"],
                        tables["administrations"],
                        numbers.time_to_response,
                        index_drug,
                    )
                )
                if per_patient
                else None
            ),
        },
        "provenance": provenance(results),
        "css": _ENV.loader.get_source(_ENV, "report.css")[0],  # type: ignore[union-attr]
    }
    return _ENV.get_template("report.html.j2").render(**context)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _range(stat: Range) -> str:
    return f"{number(stat.median, 1)} ({number(stat.min, 1)}–{number(stat.max, 1)})"


def cohort_rows(results: Results) -> list[tuple[str, str]]:
    """Label/value rows describing the cohort."""
    categories = ", ".join(
        f"{ILAR_LABELS.get(k, k)} {v}" for k, v in sorted(results.categories.items())
    )
    prior = sorted(results.prior_anti_tnf.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        ("Patients", str(results.n)),
        ("ILAR category", categories),
        ("Sex", ", ".join(f"{k} {v}" for k, v in sorted(results.sex.items()))),
        ("Age at first infusion, years: median (range)", _range(results.age_years)),
        ("Disease duration, years: median (range)", _range(results.disease_duration_years)),
        ("Exposure, months: median (range)", _range(results.exposure_months)),
        ("Prior anti-TNF (patients)", ", ".join(f"{k} {v}" for k, v in prior)),
    ]


def responder_rows(numbers: ReportNumbers) -> list[tuple[str, str]]:
    """Responders with their exact CIs, time to response, and the counts by timepoint."""
    rows = []
    for row in numbers.acr_endpoints:
        prop = row.proportion
        if prop.ci is not None:
            rows.append(
                (
                    row.label,
                    f"{prop.k}/{prop.n} ({percent(prop.estimate)}; "
                    f"95 % CI {percent(prop.ci[0])}–{percent(prop.ci[1])})",
                )
            )
        # Reports show the number of not-evaluable patients (docs/reference/acr-pedi.md).
        rows.append((f"{row.label}: not evaluable", plural(row.not_evaluable, "patient")))
    ttr = numbers.time_to_response
    if ttr is not None and ttr.km is not None:
        km = ttr.km
        median = "not reached" if km.median is None else f"{number(km.median)} days"
        low, high = (number(x) if x is not None else "NE" for x in km.median_ci)
        rows.append(
            (
                f"Median time to first ACR Pedi {ttr.level} (Kaplan–Meier)",
                f"{median} (95 % CI {low}–{high}); {km.n_events} of {km.n} responded"
                + ("; NE: not estimable" if None in km.median_ci else ""),
            )
        )
    for counts in numbers.counts:
        for tp, count in counts.counts.items():
            rows.append((f"{counts.label} at {timepoint_label(tp)}", plural(count, "patient")))
    return rows


def steroid_rows(result: StudyResult, numbers: ReportNumbers) -> list[tuple[str, str]]:
    """Baseline steroid users and the change category of each at the endpoint's timepoint
    (docs/reference/steroids.md)."""
    steroids = numbers.steroids
    if steroids is None:
        return [("Corticosteroids", "not an endpoint of this protocol")]
    users = steroids.summary.baseline_users
    rows = [("On systemic corticosteroids at baseline", plural(users, "patient"))]
    frame = result.tables["steroids"]
    at_tp = frame[frame["timepoint"] == steroids.at]["change_category"].value_counts()
    for code, label in STEROID_CATEGORIES:
        rows.append((f"At {timepoint_label(steroids.at)}: {label}", str(int(at_tp.get(code, 0)))))
    return rows


def adverse_event_rows(numbers: ReportNumbers) -> list[tuple[str, str]]:
    """Adverse-event count, exposure, rate with CI, and counts by term."""
    ae = numbers.adverse_events
    if ae is None:
        return [("Adverse events", "not an endpoint of this protocol")]
    rows = [
        ("Adverse events", str(ae.events)),
        ("Serious adverse events", str(ae.serious)),
        ("Exposure", f"{number(ae.patient_years, 2)} patient-years"),
    ]
    if ae.rate is not None:
        rows.append(
            (
                "Rate per 100 patient-years (95 % CI)",
                f"{number(ae.rate.rate_per_100py, 1)} ({number(ae.rate.ci[0], 1)}–"
                f"{number(ae.rate.ci[1], 1)})",
            )
        )
    rows.extend((f"Events: {term}", str(count)) for term, count in sorted(ae.by_term.items()))
    return rows


def provenance(results: Results) -> list[tuple[str, str]]:
    """Software version, hashes, engine and run date for the footer."""
    run_date = results.run_date or dt.datetime.now(dt.UTC).date().isoformat()
    return [
        ("jiareg", results.software_version),
        ("protocol sha256", results.protocol_sha256),
        ("data sha256", results.data_sha256),
        ("engine", results.engine),
        ("run date", run_date),
    ]
