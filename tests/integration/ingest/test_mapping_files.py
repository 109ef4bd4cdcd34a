"""A flat CSV and a workbook of someone else's design imported through a mapping file, and the
mapping file's own errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import ImportErrors, InputError
from jiareg.formats.mapping import load_mapping
from jiareg.services.imports import import_path
from jiareg.store.tables import read_tables

_FLAT = """\
Study No;Gender;DOB;Clinic date;Weight;Biologic;Started
K-01;Female;01/03/2012;10/01/2020;25,5;RoActemra;10/01/2020
K-01;Female;01/03/2012;10/02/2020;26;;
K-02;Male;15/07/2013;15/01/2020;30;Enbrel;01/12/2019
"""

_FLAT_MAP = """\
format: csv
defaults: {site: north}
date_format: "%d/%m/%Y"
tables:
  patients:
    columns:
      patient_id: Study No
      sex: {field: Gender, values: {Female: F, Male: M}}
      birth_date: DOB
  visits:
    columns: {patient_id: Study No, visit_date: Clinic date, weight_kg: Weight}
  treatments:
    columns: {patient_id: Study No, drug: Biologic, start_date: Started}
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_flat_csv_one_row_per_visit(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    source = _write(tmp_path, "clinic.csv", _FLAT.replace("25,5", "25.5"))
    mapping = _write(tmp_path, "map.yaml", _FLAT_MAP)
    result = CliRunner().invoke(app, ["import", str(source), "--map", str(mapping), "--db", db])
    assert result.exit_code == 0, result.output
    assert "patients: 2 added" in result.output and "visits: 3 added" in result.output
    assert "read as: clinic.csv: drug: 'RoActemra' → 'tocilizumab' (1 cell)" in result.output
    tables = read_tables(db)
    assert tables["patients"].sort_by("patient_id").to_pylist() == [
        {
            "patient_id": "K-01",
            "site": "north",
            "sex": "F",
            "birth_date": dt.date(2012, 3, 1),
            "ilar_category": None,
            "onset_date": None,
        },
        {
            "patient_id": "K-02",
            "site": "north",
            "sex": "M",
            "birth_date": dt.date(2013, 7, 15),
            "ilar_category": None,
            "onset_date": None,
        },
    ]  # the patient columns repeated on each visit row are read once
    courses = tables["treatments"].sort_by("patient_id").select(["drug", "start_date"])
    assert courses.to_pylist() == [
        {"drug": "tocilizumab", "start_date": dt.date(2020, 1, 10)},
        {"drug": "etanercept", "start_date": dt.date(2019, 12, 1)},
    ]


def test_flat_csv_decimal_comma_option_applies(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    source = _write(tmp_path, "clinic.csv", _FLAT)
    mapping = _write(tmp_path, "map.yaml", _FLAT_MAP)
    with pytest.raises(ImportErrors) as info:
        import_path(source, db, mapping=mapping)
    assert [str(p) for p in info.value.problems] == [
        "clinic.csv:2: column 'Weight' = '25,5'; expected a number from 2 to 150 kg with at most "
        "3 decimals (a decimal comma? import with --decimal-comma)"
    ]
    runner = CliRunner()
    args = ["import", str(source), "--map", str(mapping), "--db", db, "--decimal-comma"]
    assert runner.invoke(app, args).exit_code == 0
    assert sorted(read_tables(db)["visits"].column("weight_kg").to_pylist()) == [25.5, 26, 30]


def test_unmapped_value_and_bad_date_name_row_field_and_choices(tmp_path: Path) -> None:
    text = _FLAT.replace("25,5", "25.5").replace("K-02;Male;15/07/2013", "K-02;Boy;15-07-2013")
    source = _write(tmp_path, "clinic.csv", text)
    mapping = _write(tmp_path, "map.yaml", _FLAT_MAP)
    with pytest.raises(ImportErrors) as info:
        import_path(source, f"sqlite:///{tmp_path / 'r.db'}", mapping=mapping)
    problems = [str(p) for p in info.value.problems]
    assert (
        "clinic.csv:4: column 'Gender' = 'Boy'; expected a value that maps to sex: the "
        in (problems[0])
    )
    assert problems[0].endswith("the mapping's values: Female, Male")
    assert problems[1] == (
        "clinic.csv:4: column 'DOB' = '15-07-2013'; expected a date written %d/%m/%Y "
        "(the mapping's date_format)"
    )


def test_workbook_sheets(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    kids = book.active
    kids.title = "Kids"
    kids.append(["ID", "Sex", "Born", "Category"])
    kids.append(["A1", "f", dt.datetime(2011, 5, 6), "Systemic JIA"])
    visits = book.create_sheet("Clinic")
    visits.append(["ID", "When", "ESR", "Fever"])
    visits.append(["A1", dt.datetime(2021, 1, 2), 40, "Y"])
    source = tmp_path / "registry.xlsx"
    book.save(source)
    mapping = _write(
        tmp_path,
        "map.yaml",
        "format: xlsx\ndefaults: {site: south}\ntables:\n"
        "  patients:\n    from: Kids\n"
        "    columns: {patient_id: ID, sex: Sex, birth_date: Born, ilar_category: Category}\n"
        "  visits:\n    from: Clinic\n"
        "    columns: {patient_id: ID, visit_date: When, esr: ESR, fever: Fever}\n",
    )
    db = f"sqlite:///{tmp_path / 'r.db'}"
    summary = import_path(source, db, mapping=mapping)
    assert {t.table: t.inserted for t in summary.tables} == {"patients": 1, "visits": 1}
    tables = read_tables(db)
    patient = tables["patients"].to_pylist()[0]
    assert (patient["sex"], patient["ilar_category"]) == ("F", "systemic")
    visit = tables["visits"].to_pylist()[0]
    assert (visit["visit_date"], visit["esr"], visit["fever"]) == (dt.date(2021, 1, 2), 40, True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format: sas\ntables: {}\n", "format: Input should be 'redcap', 'csv' or 'xlsx'"),
        (
            "format: csv\ntables:\n  patient:\n    columns: {patient_id: id}\n",
            "tables.patient: not a template table",
        ),
        (
            "format: csv\ndefaults: {site: s}\ntables:\n  patients:\n    columns:\n"
            "      patient_id: id\n      sex: sex\n      birth_date: dob\n      gender: g\n",
            "tables.patients.columns.gender: not a column of patients",
        ),
        (
            "format: csv\ntables:\n  patients:\n    columns: {patient_id: id, sex: s}\n",
            "tables.patients.columns.site: required by the template",
        ),
        (
            "format: csv\ndefaults: {site: s}\ntables:\n  patients:\n    columns:\n"
            "      patient_id: id\n      sex: {field: s, value: F}\n      birth_date: dob\n",
            "tables.patients.columns.sex: give either `field` (a source column) or `value`",
        ),
        (
            "format: csv\ntables:\n  patients:\n    colums: {}\n",
            "tables.patients.colums: Extra inputs are not permitted",
        ),
    ],
)
def test_mapping_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, "map.yaml", text)
    with pytest.raises(InputError) as info:
        load_mapping(path)
    assert f"{path}: " in str(info.value) and message in str(info.value)


def test_source_column_missing(tmp_path: Path) -> None:
    source = _write(tmp_path, "clinic.csv", _FLAT.replace("Clinic date", "Date"))
    mapping = _write(tmp_path, "map.yaml", _FLAT_MAP)
    with pytest.raises(ImportErrors) as info:
        import_path(source, f"sqlite:///{tmp_path / 'r.db'}", mapping=mapping)
    assert [str(p) for p in info.value.problems] == [
        "clinic.csv:1: column 'Clinic date' = None; expected this column in the source "
        "(tables.visits maps it)"
    ]
