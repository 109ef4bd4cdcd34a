"""The demo end to end (the session's `demo` fixture): every section and number of its report.

Runs the real pipeline once (template import into SQLite, the founding protocol on DuckDB,
write_report) and checks report.html and report.pdf against results.json.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from jiareg.report.methods import LIKERT_CAVEAT
from jiareg.report.render import write_report
from jiareg.study.run import run_study
from jiareg.synth.generate import generate_chunk

pytestmark = [pytest.mark.slow, pytest.mark.pdf]
ROOT = Path(__file__).resolve().parents[2]

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
    "provenance",
)


def _pdf_text(path: Path) -> str:
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text


def test_html_has_every_section_and_is_self_contained(demo) -> None:
    out, _ = demo
    html = (out / "report.html").read_text()
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == 3
    assert not re.search(r'(src|href)="(https?:|/|\.)', html)
    assert LIKERT_CAVEAT in html  # the founding protocol reports globals on 0-3


def test_report_shows_the_numbers_of_results_json(demo) -> None:
    out, results = demo
    html = (out / "report.html").read_text()
    text = " ".join(_pdf_text(out / "report.pdf").split())
    acr = results["acr_pedi_30"]
    assert f"{acr['responders']}/{acr['n']}" in html
    assert "All 9 patients met ACR Pedi 30 during follow-up" in text
    assert "7 before the 3rd infusion" in text
    base, month = results["core_set"]["baseline"], results["core_set"]["month_1"]
    for variable, name in (("active_joints", "active joints"), ("esr", "ESR")):
        b, m = f"{base[variable]['median']:g}", f"{month[variable]['median']:g}"
        assert f"median {name} fell from {b} to {m}" in text
    assert "median active joints fell from 11 to 4" in text
    assert "median ESR fell from 35 to 3" in text
    assert results["protocol_sha256"] in html and results["data_sha256"] in html
    assert "No adverse events were reported" in text


def test_pdf_pages_and_headings(demo) -> None:
    out, _ = demo
    raw = _pdf_text(out / "report.pdf")
    pages = raw.count("\f")
    assert 3 <= pages <= 6
    assert f"page {pages} of {pages}" in raw
    for heading in (
        "Results in brief",
        "Methods",
        "Patient flow",
        "Cohort",
        "JIA core set",
        "Core set per patient",
        "Response",
        "Time to response",
        "Biologic courses",
        "Corticosteroids",
        "Adverse events",
        "Provenance",
    ):
        assert heading in raw, heading


def test_demo_report_says_the_patients_are_synthetic(demo) -> None:
    out, _ = demo
    assert "Demo data: synthetic patients" in (out / "report.html").read_text()


def test_second_protocol_renders_without_code_changes(tmp_path: Path) -> None:
    """Polyarticular JIA, response at months 3 and 6, on a seeded synthetic registry."""
    tables = generate_chunk(0, 200, 12, seed=3, id_width=6)
    protocol = ROOT / "protocols" / "tocilizumab-polyarticular-months-3-6.yaml"
    result = run_study(protocol, tables=tables)
    html_path, pdf_path = write_report(result, tmp_path)
    html = html_path.read_text()
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    assert "Month 3 vs baseline" in html and "Month 6 vs baseline" in html
    for level, tp in ((30, 3), (50, 3), (30, 6), (50, 6), (70, 6)):
        assert f"ACR Pedi {level} at month {tp}" in html
    assert "Physician global assessment (0–10)" in html
    assert LIKERT_CAVEAT not in html
    text = " ".join(_pdf_text(pdf_path).split())
    assert "From baseline to month 3, median active joints" in text
