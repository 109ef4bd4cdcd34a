"""Validation of template files without a registry (`read_template`): every rule, one cell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from tests.integration.store.sample import GOOD, ROWS, spoiled, write_folder

from jiareg.errors import ImportErrors
from jiareg.ingest import read_template


def _problems(tmp_path: Path, files: dict[str, str]) -> list[str]:
    with pytest.raises(ImportErrors) as info:
        read_template(write_folder(tmp_path / "in", files))
    return [str(p) for p in info.value.problems]


def test_good_sample_has_contract_types(tmp_path: Path) -> None:
    tables = read_template(write_folder(tmp_path / "in"))
    assert {n: t.num_rows for n, t in tables.items()} == ROWS
    visits = tables["visits"]
    assert visits.schema.field("visit_date").type == pa.date32()
    assert visits.schema.field("active_joints").type == pa.int64()
    assert visits.column("fever").to_pylist()[:2] == [True, False]
    assert visits.column("phys_global").to_pylist()[1] == 4.2


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2020-02-29", True),
        ("2021-02-29", False),
        ("2020-02-30", False),
        ("2020-13-45", False),
        ("2020-1-5", False),
        ("20200105", False),
        ("2020-01-05T10:00", False),
        ("2024-12-31", True),
    ],
)
def test_dates_must_be_real_iso_calendar_dates(tmp_path: Path, value: str, ok: bool) -> None:
    files = spoiled("visits.csv", "2020-02-10", value)
    if ok:
        assert read_template(write_folder(tmp_path / "in", files))["visits"].num_rows == 4
    else:
        assert _problems(tmp_path, files) == [
            f"visits.csv:3: column 'visit_date' = {value!r}; "
            "expected a real calendar date written YYYY-MM-DD"
        ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            ",45,12.5,",
            ",45.0001,12.5,",
            "column 'esr' = '45.0001'; expected a number from 0 to "
            "200 mm/h with at most 3 decimals",
        ),
        (",45,12.5,", ",200.001,12.5,", "column 'esr' = '200.001'"),
        (
            ",6,0-10,",
            ",10.5,0-3,",
            "column 'phys_global' = '10.5'; expected a number from 0 to "
            "3 with at most 2 decimals (its scale is 0-3)",
        ),
        (
            ",6,0-10,",
            ",6,0-5,",
            "column 'phys_global_scale' = '0-5'; expected one of 0-10, 0-3, 0-100",
        ),
        (",1.25,8,", ",3.5,8,", "column 'chaq' = '3.5'; expected a number from 0 to 3"),
        (",1.25,8,4,", ",1.25,8,4.5,", "column 'lom_joints' = '4.5'; expected a whole number"),
        (",1.25,8,4,", ",1.25,+8,4,", "column 'active_joints' = '+8'; expected a whole number"),
        (",1.25,8,4,", ",1.25,99999999999,4,", "column 'active_joints' = '99999999999'"),
        (",yes,no,no,", ",maybe,no,no,", "column 'fever' = 'maybe'; expected yes or no"),
        (",25.5,130,", ",1.5,130,", "column 'weight_kg' = '1.5'; expected a number from 2 to 150"),
    ],
)
def test_visit_cell_rules(tmp_path: Path, old: str, new: str, message: str) -> None:
    (problem,) = _problems(tmp_path, spoiled("visits.csv", old, new))
    assert problem.startswith("visits.csv:2: ") and message in problem


def test_global_on_0_100_and_its_boundaries_pass(tmp_path: Path) -> None:
    files = spoiled("visits.csv", ",6,0-10,5.5,,", ",10,0-10,100,0-100,")
    visits = read_template(write_folder(tmp_path / "in", files))["visits"]
    assert visits.column("parent_global").to_pylist()[0] == 100.0


def test_duplicate_key_names_both_rows(tmp_path: Path) -> None:
    files = dict(GOOD)
    files["visits.csv"] += "P1,2020-01-10,25.5,,,,,,,,,,,,,,,,,,,,\n"
    assert _problems(tmp_path, files) == [
        "visits.csv:6: column 'patient_id+visit_date' = 'P1|2020-01-10'; expected a key not "
        "already used in this file (row 2 has it)"
    ]


def test_stop_before_start_and_visit_before_birth(tmp_path: Path) -> None:
    files = spoiled("treatments.csv", "2018-01-01,2019-12-01", "2018-01-01,2017-12-01")
    files = {
        **files,
        "visits.csv": spoiled("visits.csv", "P2,2020-01-15", "P2,2011-01-15")["visits.csv"],
    }
    problems = _problems(tmp_path, files)
    assert (
        "visits.csv:4: column 'visit_date' = '2011-01-15'; expected a date on or after the "
        "patient's birth_date" in problems
    )
    assert (
        "treatments.csv:2: column 'stop_date' = '2017-12-01'; expected a date on or after "
        "start_date" in problems
    )


def test_unknown_patient_in_a_child_table(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, spoiled("steroids.csv", "P1,prednisone,5", "P7,prednisone,5"))
    assert problem == (
        "steroids.csv:3: column 'patient_id' = 'P7'; expected a patient_id "
        "among the imported patients or already in the registry"
    )


def test_encoding_bom_is_fine_latin1_is_not(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in")
    (folder / "patients.csv").write_bytes(b"\xef\xbb\xbf" + GOOD["patients.csv"].encode())
    assert read_template(folder)["patients"].num_rows == 3
    latin = GOOD["adverse_events.csv"].replace("resolved", "résolu").encode("latin-1")
    (folder / "adverse_events.csv").write_bytes(latin)
    with pytest.raises(ImportErrors) as info:
        read_template(folder)
    (problem,) = info.value.problems
    assert (problem.file.name, problem.row, problem.column) == ("adverse_events.csv", 2, "(file)")
    assert "UTF-8" in problem.expected


def test_unknown_file_and_unknown_column(tmp_path: Path) -> None:
    files = {
        **GOOD,
        "vists.csv": "a\n1\n",
        "steroids.csv": GOOD["steroids.csv"].replace("stop_date", "stop_dat"),
    }
    problems = _problems(tmp_path, files)
    assert any(p.startswith("vists.csv:1: column '(file)'") for p in problems)
    assert any("steroids.csv:1: column 'stop_dat'" in p for p in problems)
    assert any(
        "steroids.csv:1: column 'stop_date' = None; expected this required column" in p
        for p in problems
    )


def test_workbook_cells_read_like_csv(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "patients"
    sheet.append(["patient_id", "site", "sex", "birth_date", "ilar_category", "onset_date"])
    sheet.append(["P1", "BA", "F", dt.datetime(2010, 3, 1), "systemic", None])
    sheet.append(["P2", "BA", "Z", "2012-07-15", None, None])
    path = tmp_path / "book.xlsx"
    book.save(path)
    with pytest.raises(ImportErrors) as info:
        read_template(path)
    assert [str(p) for p in info.value.problems] == [
        "book.xlsx[patients]:3: column 'sex' = 'Z'; expected one of F, M"
    ]


@pytest.mark.parametrize(
    ("value", "ok"),
    [("12.500", True), (".125", True), ("45.", True), ("12.5000", False), (".1255", False)],
)
def test_decimals_are_counted_after_the_dot(tmp_path: Path, value: str, ok: bool) -> None:
    """The decimals check counts the digits after a well-formed number's dot (issue #11:
    no regular expression per cell); at most 3 for esr, whatever digits come before."""
    files = spoiled("visits.csv", ",45,12.5,", f",{value},12.5,")
    if ok:
        assert read_template(write_folder(tmp_path / "in", files))["visits"].num_rows == 4
    else:
        assert _problems(tmp_path, files) == [
            f"visits.csv:2: column 'esr' = {value!r}; "
            "expected a number from 0 to 200 mm/h with at most 3 decimals"
        ]


def test_the_date_cast_writes_what_strftime_writes() -> None:
    """The date check compares a cell with its parsed day written back by the date cast
    (strftime cost 25x more); both write the same text for every day of years 0000-9999
    (checked for all 3,652,425 days once; here every day of four spans)."""
    spans = [
        ("0000-01-01", "0101-01-01"),
        ("1899-01-01", "1901-01-01"),
        ("1999-12-01", "2100-03-01"),
        ("9990-01-01", "9999-12-31"),
    ]
    for first, last in spans:
        days = pa.array(
            np.arange(np.datetime64(first), np.datetime64(last)).astype("datetime64[s]")
        )
        written = pc.strftime(days, format="%Y-%m-%d")
        assert written.equals(days.cast(pa.date32()).cast(pa.string()))
