"""Template, export and the lossless round trip, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from tests.integration.store.sample import GOOD, ROWS, write_folder
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.formats.template.dictionary import TABLES
from jiareg.services.export import export_registry
from jiareg.services.imports import import_path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


@pytest.mark.slow
def test_round_trip_template_import_export_import_is_lossless(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["template", str(tmp_path / "tpl")]).exit_code == 0
    source = write_folder(tmp_path / "tpl")  # the sample filled into the template's files
    assert runner.invoke(app, ["import", str(source), "--db", db_url]).exit_code == 0
    assert runner.invoke(app, ["export", str(tmp_path / "e1"), "--db", db_url]).exit_code == 0
    first = _files(tmp_path / "e1")
    assert set(first) == {t.file for t in TABLES}
    again = import_path(tmp_path / "e1", db_url)
    assert again.changed == 0  # the export re-imports onto itself without a change
    second_db = f"sqlite:///{tmp_path / 'second.db'}"
    import_path(tmp_path / "e1", second_db)
    export_registry(second_db, tmp_path / "e2")
    assert _files(tmp_path / "e2") == first
    assert (
        first["visits.csv"]
        .decode()
        .splitlines()[2]
        .startswith("P1,2020-02-10,26,130.5,4.2,0-10,3,0-10,0.875,3,2,20,3,no,no,no,no,no,no,")
    )


def test_deidentified_export(registry_url: str, tmp_path: Path) -> None:
    import_path(write_folder(tmp_path / "in"), registry_url)
    # (small cells kept: this registry is too small for any; tests/integration/test_deidentify*)
    export_registry(registry_url, tmp_path / "d1", deidentify=True, suppress=False)
    export_registry(registry_url, tmp_path / "d2", deidentify=True, suppress=False)
    assert _files(tmp_path / "d1") == _files(tmp_path / "d2")  # stable pseudonyms and shifts
    text = b"".join(_files(tmp_path / "d1").values()).decode()
    assert "P1" not in text and "2010-03-01" not in text and "birth_date" not in text
    with (tmp_path / "d1" / "patients.csv").open() as handle:
        patients = list(csv.DictReader(handle))
    assert [p["age_at_onset_months"] for p in patients if p["sex"] == "M"] == [""]  # no onset
    p1 = next(p for p in patients if p["ilar_category"] == "systemic")
    assert p1["age_at_onset_months"] == "50"  # 2010-03-01 -> 2014-05-01
    with (tmp_path / "d1" / "visits.csv").open() as handle:
        visits = [v for v in csv.DictReader(handle) if v["patient_id"] == p1["patient_id"]]
    dates = [dt.date.fromisoformat(v["visit_date"]) for v in visits]
    assert (dates[1] - dates[0]).days == 31  # intervals kept within a patient
    assert [v["age_months"] for v in visits] == ["118", "119"]
    shift = dt.date.fromisoformat(p1["onset_date"]) - dt.date(2014, 5, 1)
    assert dates[0] - dt.date(2020, 1, 10) == shift and abs(shift.days) <= 182


def test_template_workbook_has_notes_dropdowns_and_reads_back(
    registry_url: str, tmp_path: Path
) -> None:
    assert CliRunner().invoke(app, ["template", str(tmp_path / "t")]).exit_code == 0
    for spec in TABLES:
        header = (tmp_path / "t" / spec.file).read_text().strip()
        assert header == ",".join(spec.names)
    book = openpyxl.load_workbook(tmp_path / "t" / "template.xlsx")
    assert [s.title for s in book.worksheets if s.sheet_state == "visible"] == [
        t.name for t in TABLES
    ]
    visits = book["visits"]
    assert "mm/h" in visits["L1"].comment.text and visits["L1"].value == "esr"
    lists = [dv.formula1 for dv in visits.data_validations.dataValidation]
    assert any(f.startswith("_lists!") for f in lists)
    patients = book["patients"]
    for line in GOOD["patients.csv"].splitlines()[1:]:
        patients.append([c or None for c in line.split(",")])
    sheet = book["visits"]
    for line in GOOD["visits.csv"].splitlines()[1:]:
        sheet.append([c or None for c in line.split(",")])
    book.save(tmp_path / "filled.xlsx")
    summary = import_path(tmp_path / "filled.xlsx", registry_url)
    assert {c.table: c.inserted for c in summary.tables}["visits"] == ROWS["visits"]
    csv_db = f"sqlite:///{tmp_path / 'csv.db'}"
    only = {k: v for k, v in GOOD.items() if k in ("patients.csv", "visits.csv")}
    import_path(write_folder(tmp_path / "pv", only), csv_db)
    export_registry(registry_url, tmp_path / "x1")
    export_registry(csv_db, tmp_path / "x2")
    assert _files(tmp_path / "x1") == _files(tmp_path / "x2")
