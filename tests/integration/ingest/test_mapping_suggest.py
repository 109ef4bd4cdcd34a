"""`jiareg map suggest`: drafts that load as mapping files, place what resembles the template
and list the rest; a REDCap project's choices become `values` from its labels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import ImportErrors
from jiareg.formats.mapping import load_mapping
from jiareg.services.imports import import_path
from jiareg.store.tables import read_tables

PUBLIC = Path(__file__).parents[2] / "data" / "redcap" / "public"
RUNNER = CliRunner()


def _suggest(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["map", "suggest", *args])
    return result.exit_code, result.output


def test_redcap_project_draft_imports_after_setting_the_site(tmp_path: Path) -> None:
    project = PUBLIC / "redcapr" / "repeating-instruments"
    out = tmp_path / "maps" / "m.yaml"
    code, output = _suggest(
        str(project / "data.csv"), "--dictionary", str(project / "dictionary.csv"), "-o", str(out)
    )
    assert code == 0, output
    assert "source fields not placed (8): date_enrolled, first_name, age" in output
    mapping = load_mapping(out)
    assert mapping.format == "redcap"
    patients = mapping.tables["patients"]
    assert patients.from_ == "demographics"
    assert patients.columns["sex"].values == {"Female": "F", "Male": "M"}
    assert patients.columns["birth_date"].field == "dob"
    assert mapping.defaults == {"site": "EDIT-ME"}
    out.write_text(out.read_text(encoding="utf-8").replace("EDIT-ME", "north"), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    import_path(project / "data.csv", db, mapping=out)
    rows = read_tables(db)["patients"].sort_by("patient_id").to_pylist()
    assert [(r["patient_id"], r["site"], r["sex"]) for r in rows] == [
        ("1", "north", "F"),
        ("2", "north", "M"),
    ]


def test_flat_csv_draft_places_every_column(tmp_path: Path) -> None:
    source = tmp_path / "clinic.csv"
    source.write_text(
        "Study No,Gender,DOB,Clinic date,Weight,Biologic,Started,Hospital\n"
        "K-01,F,2012-03-01,2020-01-10,25.5,tocilizumab,2020-01-10,north\n",
        encoding="utf-8",
    )
    out = tmp_path / "m.yaml"
    code, output = _suggest(str(source), "-o", str(out))
    assert code == 0, output
    mapping = load_mapping(out)
    assert mapping.format == "csv"
    placed = {
        (t, c): cm.field for t, spec in mapping.tables.items() for c, cm in spec.columns.items()
    }
    assert placed == {
        ("patients", "patient_id"): "Study No",
        ("patients", "site"): "Hospital",
        ("patients", "sex"): "Gender",
        ("patients", "birth_date"): "DOB",
        ("visits", "patient_id"): "Study No",
        ("visits", "visit_date"): "Clinic date",
        ("visits", "weight_kg"): "Weight",
        ("treatments", "patient_id"): "Study No",
        ("treatments", "drug"): "Biologic",
        ("treatments", "start_date"): "Started",
    }
    assert "not placed" not in output
    db = f"sqlite:///{tmp_path / 'r.db'}"
    summary = import_path(source, db, mapping=out)
    assert {t.table: t.inserted for t in summary.tables} == {
        "patients": 1,
        "visits": 1,
        "treatments": 1,
    }


def test_odm_export_uses_its_own_dictionary_and_data_access_groups(tmp_path: Path) -> None:
    source = PUBLIC / "pycap" / "test_simple_project.xml"
    out = tmp_path / "m.yaml"
    code, output = _suggest(str(source), "-o", str(out))
    assert code == 0, output
    patients = load_mapping(out).tables["patients"]
    sex = patients.columns["sex"]
    assert (sex.field, sex.values) == ("sex", {"Female": "F", "Male": "M"})
    assert patients.columns["site"].field == "redcap_data_access_group"  # record 3 has one
    db = f"sqlite:///{tmp_path / 'r.db'}"
    with pytest.raises(ImportErrors) as info:
        import_path(source, db, mapping=out)
    assert [str(p) for p in info.value.problems] == [
        f"test_simple_project.xml:{n}: record '{n}': column 'redcap_data_access_group' = None; "
        "expected a value (required); text of at most 64 characters"
        for n in (1, 2)
    ]
    text = out.read_text(encoding="utf-8").replace("      site: redcap_data_access_group\n", "")
    out.write_text(text.replace("tables:", "defaults: {site: s}\ntables:"), encoding="utf-8")
    import_path(source, db, mapping=out)
    births = read_tables(db)["patients"].sort_by("patient_id").column("birth_date").to_pylist()
    assert births == [dt.date(2021, 10, 13), dt.date(2021, 10, 12)]


def test_nothing_to_place_is_an_error(tmp_path: Path) -> None:
    code, output = _suggest(
        str(PUBLIC / "redcapr" / "nonnumeric-record-id" / "data.csv"), "-o", str(tmp_path / "m")
    )
    assert code == 1
    assert "no template table could be drafted" in output


def test_workbook_draft_takes_one_sheet_per_table(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    kids = book.active
    kids.title = "Kids"
    kids.append(["Patient ID", "Sex", "Date of birth", "Centre"])
    kids.append(["A1", "F", dt.datetime(2011, 5, 6), "south"])
    clinic = book.create_sheet("Clinic")
    clinic.append(["Patient ID", "Visit date", "ESR", "CRP", "Uveitis"])
    clinic.append(["A1", dt.datetime(2021, 1, 2), 40, 3.5, "no"])
    source = tmp_path / "registry.xlsx"
    book.save(source)
    out = tmp_path / "m.yaml"
    code, output = _suggest(str(source), "-o", str(out))
    assert code == 0, output
    mapping = load_mapping(out)
    assert mapping.format == "xlsx"
    assert mapping.tables["patients"].from_ == "Kids"
    assert mapping.tables["visits"].from_ == "Clinic"
    visits = {c: cm.field for c, cm in mapping.tables["visits"].columns.items()}
    assert visits == {
        "patient_id": "Patient ID",
        "visit_date": "Visit date",
        "esr": "ESR",
        "crp": "CRP",
        "uveitis_active": "Uveitis",
    }
    db = f"sqlite:///{tmp_path / 'r.db'}"
    summary = import_path(source, db, mapping=out)
    assert {t.table: t.inserted for t in summary.tables} == {"patients": 1, "visits": 1}


def test_day_first_dates_give_the_date_format(tmp_path: Path) -> None:
    source = tmp_path / "clinic.csv"
    source.write_text(
        "Study No;Gender;DOB;Clinic date;Hospital\n"
        "K-01;female;01/03/2012;25/01/2020;north\n"
        "K-02;male;15/07/2013;03/02/2020;north\n",
        encoding="utf-8",
    )
    out = tmp_path / "m.yaml"
    code, output = _suggest(str(source), "-o", str(out))
    assert code == 0, output
    assert load_mapping(out).date_format == "%d/%m/%Y"
    db = f"sqlite:///{tmp_path / 'r.db'}"
    import_path(source, db, mapping=out)
    births = read_tables(db)["patients"].sort_by("patient_id").column("birth_date").to_pylist()
    assert births == [dt.date(2012, 3, 1), dt.date(2013, 7, 15)]
