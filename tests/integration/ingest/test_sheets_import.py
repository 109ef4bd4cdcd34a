"""A research nurse's files through `jiareg import`: the summary lists every cell read leniently,
the template's workbook wins over its empty CSVs, and both filled is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.integration.store.sample import GOOD
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.services.imports import CellOptions, import_path
from jiareg.store.engine import init_db
from jiareg.store.tables import read_tables

RUNNER = CliRunner()

_NURSE = {
    "patients.csv": "patient_id;site;sex;birth_date;ilar_category;onset_date\n"
    "P1;BA;female;01/03/2010;Systemic;n/a\n"
    "P2;BA;m;15/07/2012;RF-negative polyarthritis;\n",
    "treatments.csv": "patient_id;drug;route;start_date;stop_date;stop_reason\n"
    "P1;RoActemra;IV;10/01/2020;;\n"
    "P2;Enbrel;subcutaneous;01/02/2019;30/11/2019;Primary failure\n",
    "visits.csv": GOOD["visits.csv"].splitlines()[0].replace(",", ";")
    + "\nP1;10/01/2020;25,5;130;6;;5,5;;1,25;8;4;45;12,5;Yes;no;no;NA;no;no;no;30;;\n",
}


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "nurse"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_nurse_spreadsheet_imports_with_the_normalisations_listed(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    folder = _folder(tmp_path, _NURSE)
    refused = RUNNER.invoke(app, ["import", str(folder), "--db", db])
    assert refused.exit_code == 1
    assert "--date-format '%d/%m/%Y'" in refused.output
    assert "import with --decimal-comma" in refused.output
    result = RUNNER.invoke(
        app, ["import", str(folder), "--db", db, "--date-format", "%d/%m/%Y", "--decimal-comma"]
    )
    assert result.exit_code == 0, result.output
    assert "patients: 2 added" in result.output
    assert "read as: patients.csv: sex: 'female' → 'F' (1 cell)" in result.output
    assert "read as: treatments.csv: drug: 'RoActemra' → 'tocilizumab' (1 cell)" in result.output
    assert "read as: visits.csv: weight_kg: '0,5 (decimal comma)' → '0.5' (1 cell)" in result.output
    tables = read_tables(db)
    patients = tables["patients"].sort_by("patient_id").to_pylist()
    assert [(p["sex"], p["ilar_category"], p["onset_date"]) for p in patients] == [
        ("F", "systemic", None),
        ("M", "poly_rf_neg", None),
    ]
    assert patients[0]["birth_date"] == dt.date(2010, 3, 1)
    courses = tables["treatments"].sort_by("patient_id").to_pylist()
    assert [(c["drug"], c["route"], c["stop_reason"]) for c in courses] == [
        ("tocilizumab", "iv", None),
        ("etanercept", "sc", "primary_failure"),
    ]
    assert tables["visits"].column("weight_kg").to_pylist() == [25.5]


def test_summary_lists_normalisations(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    init_db(db)
    folder = _folder(tmp_path, {"patients.csv": _NURSE["patients.csv"]})
    summary = import_path(folder, db, options=CellOptions(date_format="%d/%m/%Y"))
    assert {(n.column, n.source, n.target, n.count) for n in summary.normalised} == {
        ("sex", "female", "F", 1),
        ("sex", "m", "M", 1),
        ("birth_date", "%d/%m/%Y", "%Y-%m-%d", 2),
        ("ilar_category", "Systemic", "systemic", 1),
        ("ilar_category", "RF-negative polyarthritis", "poly_rf_neg", 1),
        ("onset_date", "n/a", "", 1),
    }


def _fill_workbook(book_path: Path) -> None:
    import openpyxl

    book = openpyxl.load_workbook(book_path)
    book["patients"].append(["P1", "BA", "F", dt.datetime(2010, 3, 1), "systemic", None])
    book.save(book_path)


def test_filled_workbook_beside_empty_csvs_is_imported(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    folder = tmp_path / "my-registry"
    assert RUNNER.invoke(app, ["template", str(folder)]).exit_code == 0
    _fill_workbook(folder / "template.xlsx")
    result = RUNNER.invoke(app, ["import", str(folder), "--db", db])
    assert result.exit_code == 0, result.output
    assert "patients: 1 added" in result.output
    assert read_tables(db)["patients"].column("patient_id").to_pylist() == ["P1"]


def test_workbook_and_csvs_both_filled_is_an_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    folder = tmp_path / "my-registry"
    assert RUNNER.invoke(app, ["template", str(folder)]).exit_code == 0
    _fill_workbook(folder / "template.xlsx")
    (folder / "patients.csv").write_text(GOOD["patients.csv"], encoding="utf-8")
    result = RUNNER.invoke(app, ["import", str(folder), "--db", db])
    assert result.exit_code == 1
    assert "both template.xlsx and patients.csv hold data" in result.output
    assert f"jiareg import {folder / 'template.xlsx'}" in result.output
