"""The report scales (issue #14 §5): beyond `PER_PATIENT_MAX` patients it draws distributions
instead of per-patient lines, drops the swimmer plot, and report.html stays under 2 MB."""

from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image

from jiareg.demo import FOUNDING_PROTOCOL
from jiareg.report.figures import DPI, PER_PATIENT_MAX
from jiareg.report.render import render_html
from jiareg.study.run import run_study
from jiareg.synth.generate import generate_chunk

pytestmark = pytest.mark.slow

TABLES = ("patients", "visits", "treatments", "administrations", "steroids", "adverse_events")
HTML_MAX_BYTES = 2_000_000


def test_a_2000_patient_registry_gives_a_small_report_of_distributions() -> None:
    tables = generate_chunk(0, 2000, 10, seed=11, id_width=6)
    result = run_study(FOUNDING_PROTOCOL, tables={name: tables[name] for name in TABLES})
    assert result.results.n > PER_PATIENT_MAX
    html = render_html(result)
    assert len(html.encode("utf-8")) < HTML_MAX_BYTES
    assert 'id="courses"' not in html  # no swimmer plot beyond the threshold
    assert "interquartile range (band)" in html
    assert 'id="time-to-response"' in html and 'id="inactive-disease"' in html
    # drug-survival curves instead of the swimmer plot, though not an endpoint of the protocol
    assert "Not an endpoint of this protocol" in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 3  # core set over time, time to response, drug survival
    for encoded in images:
        image = Image.open(io.BytesIO(base64.b64decode(encoded)))
        assert round(image.info["dpi"][0]) == DPI
        assert max(image.size) < 1600
