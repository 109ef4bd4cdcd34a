"""Spreadsheets as people type them: synonyms, missing markers, drugs, dates and decimal commas."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from tests.integration.store.sample import GOOD, spoiled, write_folder

from jiareg.errors import ImportErrors
from jiareg.formats.cells import RawTable
from jiareg.formats.template.dictionary import table
from jiareg.ingest import read_template
from jiareg.ingest.lenient import Normalisation, drug_lookup
from jiareg.ingest.validate import CellOptions, Problems, check_cells
from jiareg.vocab import DRUGS, Drug


def _problems(
    tmp_path: Path, files: dict[str, str], options: CellOptions | None = None
) -> list[str]:
    with pytest.raises(ImportErrors) as info:
        read_template(write_folder(tmp_path / "in", files), options=options)
    return [str(p) for p in info.value.problems]


def _check(
    table_name: str, column: str, cells: list[str | None], options: CellOptions | None = None
) -> tuple[list[object], list[str], tuple[Normalisation, ...]]:
    """One column of `table_name` checked alone: (typed values, problems, normalisations)."""
    spec = table(table_name)
    n = len(cells)
    data = pa.table(
        {c: pa.array(cells if c == column else [None] * n, pa.string()) for c in spec.names}
    )
    problems = Problems(options=options or CellOptions())
    raw = RawTable(spec, f"{table_name}.csv", data, pa.array(range(2, n + 2), pa.int64()))
    typed = check_cells(raw, problems)
    shown = [str(p) for _, _, p in problems.items if p.column == column]
    return typed[column].to_pylist(), shown, problems.normalisations()


def test_sex_in_any_case_and_words() -> None:
    values, problems, notes = _check(
        "patients", "sex", ["female", "Female", "f", "M", "male", "Boy"]
    )
    assert values == ["F", "F", "F", "M", "M", "M"]
    assert problems == []
    assert [str(n) for n in notes] == [
        "patients.csv: sex: 'Boy' → 'M' (1 cell)",
        "patients.csv: sex: 'Female' → 'F' (1 cell)",
        "patients.csv: sex: 'f' → 'F' (1 cell)",
        "patients.csv: sex: 'female' → 'F' (1 cell)",
        "patients.csv: sex: 'male' → 'M' (1 cell)",
    ]


def test_ilar_categories_as_written_in_letters() -> None:
    values, problems, _ = _check(
        "patients",
        "ilar_category",
        ["Systemic", "RF-negative polyarthritis", "Oligo persistent", "ERA", "sJIA"],
    )
    assert values == ["systemic", "poly_rf_neg", "oligo_persistent", "era", "systemic"]
    assert problems == []


def test_refused_code_says_did_you_mean() -> None:
    _, problems, _ = _check("patients", "ilar_category", ["sytemic", "poly_rf_nge"])
    assert problems == [
        "patients.csv:2: column 'ilar_category' = 'sytemic'; expected one of systemic, "
        "oligo_persistent, oligo_extended, poly_rf_neg, poly_rf_pos, psoriatic, era, "
        "undifferentiated; did you mean 'systemic'?",
        "patients.csv:3: column 'ilar_category' = 'poly_rf_nge'; expected one of systemic, "
        "oligo_persistent, oligo_extended, poly_rf_neg, poly_rf_pos, psoriatic, era, "
        "undifferentiated; did you mean 'poly_rf_neg'?",
    ]


def test_flags_words_and_missing_markers() -> None:
    values, problems, notes = _check(
        "visits", "fever", ["Yes", "y", "N", "n/a", "NA", "true", None]
    )
    assert values == [True, True, False, None, None, True, None]
    assert problems == []
    assert {(n.source, n.target, n.count) for n in notes} == {
        ("y", "yes", 1),
        ("N", "no", 1),
        ("true", "yes", 1),
        ("n/a", "", 1),
        ("NA", "", 1),
    }  # 'Yes' -> yes is not listed: case never mattered for yes/no


def test_missing_marker_is_not_a_value_where_one_is_required() -> None:
    _, problems, notes = _check("patients", "sex", ["n/a"])
    assert problems == ["patients.csv:2: column 'sex' = 'n/a'; expected one of F, M"]
    assert notes == ()


@pytest.mark.parametrize("drug", DRUGS, ids=lambda d: d.name)
def test_every_vocabulary_drug_by_generic_and_brand_name(drug: Drug) -> None:
    assert drug_lookup(drug.name.upper()) == drug.name
    for brand in drug.brands:
        assert drug_lookup(brand) == drug.name
        assert drug_lookup(brand.lower() + "®") == drug.name


def test_drug_names_brands_and_unknown_drugs() -> None:
    values, problems, notes = _check(
        "treatments", "drug", ["Tocilizumab", "RoActemra", "Actemra", "enbrel", "tocilizumb"]
    )
    assert values == ["tocilizumab", "tocilizumab", "tocilizumab", "etanercept", None]
    assert problems == [
        "treatments.csv:6: column 'drug' = 'tocilizumb'; expected a drug jiareg knows, by "
        "generic or brand name (e.g. tocilizumab, RoActemra); did you mean 'tocilizumab'?"
    ]
    assert Normalisation("treatments.csv", "drug", "enbrel", "etanercept", 1) in notes


def test_related_drug_may_be_na() -> None:
    values, problems, _ = _check("adverse_events", "related_drug", ["N/A", "Humira", None])
    assert values == [None, "adalimumab", None]
    assert problems == []


def test_decimal_comma_hint_and_option() -> None:
    _, problems, _ = _check("visits", "esr", ["0,5", "12"])
    assert problems == [
        "visits.csv:2: column 'esr' = '0,5'; expected a number from 0 to 200 mm/h with at most "
        "3 decimals (a decimal comma? import with --decimal-comma)"
    ]
    values, problems, notes = _check(
        "visits", "esr", ["0,5", "12", "1,25"], CellOptions(decimal_comma=True)
    )
    assert values == [0.5, 12.0, 1.25]
    assert problems == []
    assert [str(n) for n in notes] == ["visits.csv: esr: '0,5 (decimal comma)' → '0.5' (2 cells)"]


def test_day_first_dates_hint_and_option() -> None:
    _, problems, _ = _check("visits", "visit_date", ["25/03/2020", "03/04/2020", "2020-01-02"])
    assert problems == [
        "visits.csv:2: column 'visit_date' = '25/03/2020'; expected a real calendar date written "
        "YYYY-MM-DD (or import with --date-format '%d/%m/%Y')",
        "visits.csv:3: column 'visit_date' = '03/04/2020'; expected a real calendar date written "
        "YYYY-MM-DD (or import with --date-format '%d/%m/%Y' or '%m/%d/%Y')",
    ]
    values, problems, notes = _check(
        "visits",
        "visit_date",
        ["25/03/2020", "3/4/2020", "2020-01-02", "31/02/2020"],
        CellOptions(date_format="%d/%m/%Y"),
    )
    assert [str(v) if v else None for v in values] == [
        "2020-03-25",
        "2020-04-03",
        "2020-01-02",
        None,
    ]
    assert len(problems) == 1 and "'31/02/2020'" in problems[0]
    assert [str(n) for n in notes] == ["visits.csv: visit_date: '%d/%m/%Y' → '%Y-%m-%d' (2 cells)"]


def test_semicolon_separated_csv_is_read(tmp_path: Path) -> None:
    files = {"patients.csv": GOOD["patients.csv"].replace(",", ";")}
    tables = read_template(write_folder(tmp_path / "in", files))
    assert tables["patients"].column("site").to_pylist() == ["BA", "BA", "CBA"]


def test_european_excel_file_with_everything(tmp_path: Path) -> None:
    files = {
        "patients.csv": "patient_id;site;sex;birth_date;ilar_category;onset_date\n"
        "P1;BA;female;01/03/2010;Systemic;n/a\n",
        "visits.csv": GOOD["visits.csv"].splitlines()[0].replace(",", ";")
        + "\nP1;10/01/2020;25,5;130;6;;5,5;;1,25;8;4;45;12,5;Yes;no;no;no;no;no;no;30;;\n",
    }
    options = CellOptions(date_format="%d/%m/%Y", decimal_comma=True)
    tables = read_template(write_folder(tmp_path / "in", files), options=options)
    assert tables["patients"].to_pylist()[0]["sex"] == "F"
    assert str(tables["visits"].column("visit_date")[0]) == "2020-01-10"
    assert tables["visits"].column("weight_kg").to_pylist() == [25.5]


def test_unknown_drug_in_a_file_is_an_error(tmp_path: Path) -> None:
    problems = _problems(tmp_path, spoiled("treatments.csv", "P1,tocilizumab", "P1,tocilizumb"))
    assert problems == [
        "treatments.csv:3: column 'drug' = 'tocilizumb'; expected a drug jiareg knows, by "
        "generic or brand name (e.g. tocilizumab, RoActemra); did you mean 'tocilizumab'?"
    ]
