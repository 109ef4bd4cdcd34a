"""A study's results.json and report are de-identified unless identified output is asked
(issue 12, finding 4): ages in whole years, responders by research pseudonym, not registry id.

The registry is the web tests' one (tests/web/site_data): its tocilizumab-after-anti-TNF
patient A-001 was born 2012-03-04, so the age at the index date is not a whole number of years.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jiareg.demo import FOUNDING_PROTOCOL
from jiareg.errors import InputError
from jiareg.services.export import export_registry
from jiareg.services.imports import import_path
from jiareg.services.study import run_and_report
from jiareg.store.engine import deidentification_key
from jiareg.study.deidentify import research_id

DATA = Path(__file__).parents[1] / "web" / "site_data"
REAL_IDS = {"A-001", "A-002", "B-001"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('deid') / 'registry.db'}"
    import_path(DATA, url)
    return url


def _responder_ids(results: dict[str, object]) -> list[str]:
    endpoints = results["endpoints"]
    assert isinstance(endpoints, dict)
    return [i for e in endpoints.values() for i in e.get("responder_ids", [])]


@pytest.mark.pdf  # run_and_report writes report.pdf
def test_results_json_has_whole_year_ages_and_pseudonymous_responders(
    registry: str, tmp_path: Path
) -> None:
    run_and_report(FOUNDING_PROTOCOL, registry, tmp_path / "deid")
    results = json.loads((tmp_path / "deid" / "results.json").read_text())
    for name in ("age_years", "disease_duration_years"):
        stats = results[name]
        assert set(stats) >= {"median", "min", "max"}
        assert all(isinstance(v, int) for v in stats.values()), (name, stats)
    ids = _responder_ids(results)
    assert ids, "the cohort's patient responds"
    key = deidentification_key(registry)
    assert not set(ids) & REAL_IDS
    assert set(ids) <= {research_id(key, p) for p in REAL_IDS}  # the export's pseudonyms
    exported = export_registry(registry, tmp_path / "export", deidentify=True)
    patients = next(p for p in exported if p.name == "patients.csv").read_text()
    assert all(i in patients for i in ids)
    report = (tmp_path / "deid" / "report.html").read_text()
    assert not any(p in report for p in REAL_IDS)


@pytest.mark.pdf
def test_identified_output_keeps_registry_ids_but_whole_year_ages(
    registry: str, tmp_path: Path
) -> None:
    run_and_report(FOUNDING_PROTOCOL, registry, tmp_path, identified=True)
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(_responder_ids(results)) <= REAL_IDS and _responder_ids(results)
    assert isinstance(results["age_years"]["min"], int)


def test_a_snapshot_run_needs_identified_output(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--identified"):
        run_and_report(FOUNDING_PROTOCOL, None, tmp_path, snapshot_dir=tmp_path)
