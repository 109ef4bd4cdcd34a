"""A protocol need not ask for the core set: its report leaves the core-set table out instead of
failing in great-tables on an empty table (found running a protocol of ACR Pedi, inactive
disease and steroid endpoints only)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jiareg.report.figures import PER_PATIENT_MAX
from jiareg.report.render import render_html
from jiareg.study.run import run_study
from jiareg.synth.generate import generate_chunk

PROTOCOL = Path(__file__).parents[3] / "protocols" / "tocilizumab-polyarticular-months-3-6.yaml"
TABLES = ("patients", "visits", "treatments", "administrations", "steroids", "adverse_events")


@pytest.mark.slow
@pytest.mark.parametrize(("patients", "per_patient"), [(400, True), (3000, False)])
def test_a_protocol_without_the_core_set_has_a_report(
    tmp_path: Path, patients: int, per_patient: bool
) -> None:
    protocol = yaml.safe_load(PROTOCOL.read_text())
    protocol["endpoints"] = [e for e in protocol["endpoints"] if e["kind"] != "core_set"]
    path = tmp_path / "no-core-set.yaml"
    path.write_text(yaml.safe_dump(protocol))
    tables = generate_chunk(0, patients, 10, seed=2, id_width=6)
    result = run_study(path, tables={name: tables[name] for name in TABLES})
    assert (result.results.n <= PER_PATIENT_MAX) is per_patient
    html = render_html(result)
    assert 'id="core-set"' not in html
    assert 'id="responders"' in html and "month 6" in html
