"""write_report: a self-contained HTML and a PDF with every section, from one StudyResult."""

import re
import subprocess
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from tests.unit.report.conftest import (
    adverse_event_details,
    founding_result,
    proportion_details,
    proportion_headline,
)

from jiareg.report import write_report
from jiareg.report.methods import LIKERT_CAVEAT
from jiareg.report.render import render_html
from jiareg.stats import kaplan_meier

SECTIONS = (
    "results-paragraph",
    "methods",
    "attrition",
    "cohort",
    "core-set",
    "core-set-figure",
    "responders",
    "time-to-response",
    "courses",
    "steroids",
    "adverse-events",
    "inactive-disease",
    "provenance",
)


pytestmark = pytest.mark.xdist_group("render")
"""On one xdist worker: `html` and `report` built once."""


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def html() -> str:
    """`render_html` of the study result, once for the tests that only read it (its figures
    are drawn with matplotlib: about 0.5 s of CPU a render)."""
    return render_html(founding_result())


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`write_report` of the study result into a new folder, once for the two tests that read
    its files (WeasyPrint and the HTML: about 1.4 s of CPU)."""
    return write_report(founding_result(), tmp_path_factory.mktemp("report") / "out")


@pytest.mark.pdf  # WeasyPrint renders report.pdf
def test_writes_html_and_pdf(report: tuple[Path, Path]) -> None:
    html_path, pdf_path = report
    assert (html_path.name, pdf_path.name) == ("report.html", "report.pdf")
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in html_path.parent.iterdir()) == ["report.html", "report.pdf"]


@pytest.mark.slow
def test_html_is_self_contained_with_every_section(html: str) -> None:
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == 3
    assert not re.search(r'(src|href)="(https?:|/|\.)', html)
    assert "<link" not in html
    assert "://" not in html  # no URL at all: no web font, no CDN
    assert 'id="synthetic-banner"' in html
    assert LIKERT_CAVEAT in html
    assert "a" * 64 in html and "b" * 64 in html  # protocol and data sha256
    assert "11 [6–15]" in html  # active joints at baseline, median [IQR]
    assert "Clopper" in html and "Garwood" in html and "type 7" in html
    assert "cut-offs of Consolaro et al. (2014)" in html
    for code_word in ("numpy", "determinate", "consolaro", "poly_rf_neg", "SPEC", "R-TNF"):
        assert code_word not in html, code_word  # plain words and citations (issue #14)
    assert "RF-negative polyarthritis 2" in html
    assert "Clinical inactive disease at month 1</th><td>0/9 (0 %); not evaluable 0" in html
    assert "counts as a responder only when the response holds even if" in html


@pytest.mark.pdf  # WeasyPrint renders report.pdf
def test_pdf_has_the_sections_and_page_numbers(report: tuple[Path, Path]) -> None:
    _, pdf_path = report
    text = pdf_text(pdf_path)
    pages = text.count("\f")
    assert 3 <= pages <= 7
    assert f"page 1 of {pages}" in text
    for heading in (
        "Results in brief",
        "Methods",
        "Patient flow",
        "Cohort",
        "JIA core set",
        "Response",
        "Time to response",
        "Biologic courses",
        "Corticosteroids",
        "Adverse events",
        "Provenance",
    ):
        assert heading in text, heading
    assert "Demo data: synthetic patients" in text
    assert "All 9 patients met ACR Pedi 30" in " ".join(text.split())


@pytest.mark.slow
def test_no_banner_or_likert_caveat_for_a_real_0_10_study(study_result) -> None:
    protocol = study_result.protocol.model_copy(update={"globals_scale": "0-10"})
    result = replace(
        study_result,
        protocol=protocol,
        results=study_result.results.model_copy(update={"synthetic": False}),
    )
    html = render_html(result)
    assert "synthetic-banner" not in html
    assert LIKERT_CAVEAT not in html
    assert "Physician global assessment (0–10)" in html


@pytest.mark.slow
def test_adverse_events_are_listed_by_term(make_result) -> None:
    terms = [("neutropenia", False), ("neutropenia", True), ("infusion reaction", False)]
    html = render_html(
        make_result(
            results={"adverse_events": len(terms)},
            endpoints={"adverse_events": adverse_event_details(terms, 5.0)},
        )
    )
    section = html[html.index('id="adverse-events"') : html.index('id="provenance"')]
    assert re.search(r"<th>Adverse events</th><td>3</td>", section)
    assert re.search(r"<th>Serious adverse events</th><td>1</td>", section)
    assert re.search(r"<th>Events: neutropenia</th><td>2</td>", section)
    assert "3 adverse events were reported" in html


def test_failed_render_leaves_nothing(study_result, tmp_path: Path) -> None:
    broken = replace(study_result, tables={**study_result.tables, "attrition": None})
    with pytest.raises(AttributeError):
        write_report(broken, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_nobody_responded_renders_a_censored_curve(study_result, make_result) -> None:
    km = kaplan_meier([30.0, 60.0, 90.0] * 3, [False] * 9)
    ttr = study_result.tables["time_to_response"].assign(event=False, day=[30, 60, 90] * 3)
    result = make_result(
        results={
            "time_to_acr_pedi_30": {
                "n": 9,
                "n_events": 0,
                "median_days": None,
                "median_days_ci95": [None, None],
            },
            "acr_pedi_30": proportion_headline(0, 9),
            "responders_before_infusion_3": 0,
        },
        endpoints={
            "acr_pedi_30": proportion_details("acr_pedi_30", 0, 9),
            "responders_before_infusion_3": proportion_details(
                "responders_before_infusion_3", 0, 9, before=3
            ),
            "time_to_acr_pedi_30": {
                "kind": "time_to_response",
                "headline": "/time_to_acr_pedi_30",
                "denominators": {"follow_up": {"cohort": 9, "evaluable": 9, "not_evaluable": {}}},
                "level": 30,
                "curve": [asdict(row) for row in km.table],
            },
        },
        tables={"time_to_response": ttr},
    )
    html = render_html(result)
    assert "not reached (95 % CI NE–NE); 0 of 9 responded; NE: not estimable" in html
    assert "0/9 (0 %; 95 % CI 0 %–34 %)" in html
    assert 'id="time-to-response"' in html


@pytest.mark.slow
def test_protocol_with_only_the_core_set(study_result) -> None:
    kept = tuple(e for e in study_result.protocol.endpoints if e.kind == "core_set")
    protocol = study_result.protocol.model_copy(update={"endpoints": kept})
    html = render_html(replace(study_result, protocol=protocol))
    assert 'id="time-to-response"' not in html
    assert html.count("not an endpoint of this protocol") == 2  # steroids, adverse events
    assert "From baseline to month 1, median active joints fell from 11 to 4" in html
    assert "CHAQ above" not in html and "ACR Pedi 30 at" not in html


@pytest.mark.slow
def test_methods_name_the_failure_source_and_the_steroid_window(study_result, html: str) -> None:
    assert "Earlier anti-TNF failure taken from the stop reason recorded for the anti-TNF" in html
    assert "change from the first to the last infusion day" in html
    assert "At the end of the time on treatment: " in html.replace("<td>", "")
    derived = study_result.protocol.model_copy(
        update={
            "config": study_result.protocol.config.model_copy(
                update={"tnf_failure_source": "derived"}
            )
        }
    )
    derived_html = render_html(replace(study_result, protocol=derived))
    assert "Earlier anti-TNF failure taken from the visits on the anti-TNF drug." in derived_html


@pytest.mark.slow
def test_the_protocol_sets_how_many_patients_are_drawn_one_by_one(study_result, html: str) -> None:
    """`report.per_patient_max` (default 40): the 9 demo patients are drawn one by one, and as
    distributions without a swimmer plot once the protocol sets it below 9."""
    assert study_result.protocol.report.per_patient_max == 40
    assert 'id="courses"' in html and "Core set per patient" in html
    report = study_result.protocol.report.model_copy(update={"per_patient_max": 8})
    protocol = study_result.protocol.model_copy(update={"report": report})
    fewer = render_html(replace(study_result, protocol=protocol))
    assert 'id="courses"' not in fewer and "Core set per patient" not in fewer
    assert "cohorts of up to 8 patients" in fewer
