"""Other people's REDCap projects (REDCapR's and PyCap's public test data, see
tests/data/redcap/public/README.md) imported through mapping files written here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from jiareg.errors import ImportErrors
from jiareg.services.imports import ImportSummary, import_path
from jiareg.store.tables import read_tables

DATA = Path(__file__).parents[2] / "data" / "redcap"
PUBLIC = DATA / "public"
MAPS = DATA / "maps"


def _import(tmp_path: Path, source: str, mapping: str) -> tuple[ImportSummary, dict[str, Any]]:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    summary = import_path(PUBLIC / source, db, mapping=MAPS / f"{mapping}.yaml")
    return summary, read_tables(db)


def _counts(summary: ImportSummary) -> dict[str, int]:
    return {t.table: t.inserted for t in summary.tables}


def _rows(tables: dict[str, Any], name: str, *columns: str) -> list[tuple[Any, ...]]:
    rows = tables[name].sort_by("patient_id").select(list(columns)).to_pylist()
    return [tuple(r[c] for c in columns) for r in rows]


def test_repeating_instruments_sex_1_is_male_and_a_bad_date_refuses_all(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    with pytest.raises(ImportErrors) as info:
        import_path(
            PUBLIC / "redcapr/repeating-instruments/data.csv",
            db,
            mapping=MAPS / "redcapr-repeating.yaml",
        )
    assert [str(p) for p in info.value.problems] == [
        "data.csv:7: record '2', bp #1: column 'date_bp' = '2004-04-04'; expected a date on or "
        "after the patient's birth_date"
    ]
    assert read_tables(db)["patients"].num_rows == 0  # all or nothing


def test_repeating_instruments_patients(tmp_path: Path) -> None:
    mapping = (MAPS / "redcapr-repeating.yaml").read_text(encoding="utf-8")
    local = tmp_path / "maps"
    local.mkdir()
    (local / "m.yaml").write_text(
        mapping.split("  visits:")[0].replace("../public", str(PUBLIC)), encoding="utf-8"
    )
    db = f"sqlite:///{tmp_path / 'r.db'}"
    summary = import_path(
        PUBLIC / "redcapr/repeating-instruments/data.csv", db, mapping=local / "m.yaml"
    )
    assert _counts(summary) == {"patients": 2}
    assert _rows(read_tables(db), "patients", "patient_id", "sex", "birth_date") == [
        ("1", "F", dt.date(2010, 10, 14)),
        ("2", "M", dt.date(2010, 2, 2)),  # REDCap code 1 = Male here (jiareg's own 1 is F)
    ]
    assert {(n.source, n.target, n.count) for n in summary.normalised} == {
        ("Female", "F", 1),
        ("Male", "M", 1),
    }
    ignored = dict(summary.ignored)
    assert ignored["demographics_complete"] == 2 and ignored["bp_systolic"] == 4


def test_longitudinal_arms_and_events(tmp_path: Path) -> None:
    summary, tables = _import(tmp_path, "redcapr/longitudinal/data.csv", "redcapr-longitudinal")
    assert _counts(summary) == {"patients": 3, "visits": 2}
    assert _rows(tables, "patients", "patient_id", "sex", "birth_date") == [
        ("100", "M", dt.date(1983, 9, 23)),
        ("220", "F", dt.date(2011, 2, 12)),
        ("304", "F", dt.date(2005, 4, 2)),  # arm 2
    ]
    assert _rows(tables, "visits", "patient_id", "visit_date", "weight_kg", "height_cm") == [
        ("100", dt.date(2015, 4, 2), 80.0, 160.0),
        ("220", dt.date(2015, 4, 2), 66.0, 156.0),
    ]  # arm 1's enrolment only
    ignored = dict(summary.ignored)
    assert ignored["gym___0"] == 3 and ignored["visit_lab_data_complete"] == 4
    assert len(summary.ignored) == 118


def test_data_access_group_is_the_site(tmp_path: Path) -> None:
    summary, tables = _import(tmp_path, "redcapr/dag/data.csv", "redcapr-dag")
    assert _counts(summary) == {"patients": 3}
    assert _rows(tables, "patients", "patient_id", "site") == [
        ("331-1", "daga"),
        ("331-2", "daga"),
        ("332-3", "dagb"),
    ]


def test_checkbox_choices_as_flags(tmp_path: Path) -> None:
    summary, tables = _import(tmp_path, "redcapr/checkboxes-1/data.csv", "redcapr-checkboxes")
    assert _counts(summary) == {"patients": 4, "visits": 4}
    assert _rows(tables, "visits", "patient_id", "fever", "rash") == [
        ("1", True, True),
        ("2", False, False),
        ("3", True, False),
        ("4", False, False),
    ]
    assert dict(summary.ignored)["check_two___a"] == 4


def test_survey_columns_understood(tmp_path: Path) -> None:
    summary, tables = _import(tmp_path, "redcapr/survey/data.csv", "redcapr-survey")
    assert _rows(tables, "patients", "patient_id", "sex", "birth_date") == [
        ("1", "F", dt.date(2018, 3, 6)),
        ("2", "F", dt.date(2018, 3, 5)),
    ]
    ignored = dict(summary.ignored)
    assert ignored["prescreening_survey_timestamp"] == 2
    assert ignored["participant_morale_questionnaire_complete"] == 2


def test_pycap_odm_export_with_its_own_dictionary(tmp_path: Path) -> None:
    summary, tables = _import(tmp_path, "pycap/test_simple_project.xml", "pycap-simple")
    assert _counts(summary) == {"patients": 2}
    assert _rows(tables, "patients", "patient_id", "site", "sex", "birth_date") == [
        ("1", "pycap", "F", dt.date(2021, 10, 13)),
        ("2", "pycap", "M", dt.date(2021, 10, 12)),  # ODM code 1 = Male
    ]


def test_pycap_odm_yesno_and_checkbox(tmp_path: Path) -> None:
    summary, tables = _import(tmp_path, "pycap/doctest_project.xml", "pycap-doctest")
    assert _counts(summary) == {"patients": 3, "visits": 3}
    assert _rows(tables, "visits", "patient_id", "fever", "rash") == [
        ("1", True, True),
        ("2", False, False),
        ("3", True, False),
    ]
    assert dict(summary.ignored)["redcap_data_access_group"] == 1


def test_unmapped_choice_names_file_row_record_field_value_and_choices(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        f"format: redcap\ndictionary: {PUBLIC / 'redcapr/longitudinal/dictionary.csv'}\n"
        "defaults: {site: s}\n"
        "tables:\n  patients:\n    from: demographics\n    columns:\n"
        "      patient_id: study_id\n      birth_date: dob\n"
        "      sex: {field: sex, values: {Male: M}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportErrors) as info:
        import_path(
            PUBLIC / "redcapr/longitudinal/data.csv",
            f"sqlite:///{tmp_path / 'r.db'}",
            mapping=mapping,
        )
    assert [str(p) for p in info.value.problems] == [
        f"data.csv:{line}: record '{record}', event '{event}': column 'sex' = '0'; expected a "
        "value that maps to sex: the mapping's values: Male; the field's choices: 0 (Female), "
        "1 (Male)"
        for line, record, event in ((8, "220", "enrollment_arm_1"), (14, "304", "enrollment_arm_2"))
    ]


def test_unknown_form_is_an_error_not_zero_rows(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    text = (MAPS / "redcapr-repeating.yaml").read_text(encoding="utf-8")
    mapping.write_text(
        text.replace("../public", str(PUBLIC)).replace("from: bp", "from: blood_pressure"),
        encoding="utf-8",
    )
    with pytest.raises(ImportErrors) as info:
        import_path(
            PUBLIC / "redcapr/repeating-instruments/data.csv",
            f"sqlite:///{tmp_path / 'r.db'}",
            mapping=mapping,
        )
    assert [str(p) for p in info.value.problems] == [
        "m.yaml:1: column 'tables.visits.from' = 'blood_pressure'; expected a form "
        "(instrument) of the project: demographics, bp"
    ]
