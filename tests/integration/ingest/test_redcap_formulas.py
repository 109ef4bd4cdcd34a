"""jiareg's REDCap files are spreadsheet-safe (issue #11): a free-text cell a spreadsheet
would run as a formula is written behind a `'`, which `jiareg import --format redcap` takes
off again (REDCap itself keeps it); numbers, codes and validation bounds are never quoted."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pyarrow as pa
from tests.integration.store.sample import GOOD, write_folder
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.formats.redcap.project import INSTRUMENTS
from jiareg.formats.redcap.write import _dictionary_row, write_redcap
from jiareg.ingest import read_template
from jiareg.services.imports import import_path
from jiareg.store.tables import read_tables

HYPERLINK = '=HYPERLINK("x")'


def _formula_sample(folder: Path) -> Path:
    files = dict(GOOD)
    files["adverse_events.csv"] = (
        GOOD["adverse_events.csv"]
        .replace("infusion reaction", '"=HYPERLINK(""x"")"')
        .replace("resolved", "-resolved slowly")
    )
    files["patients.csv"] = GOOD["patients.csv"].replace("P3,CBA", "P3,@CBA")
    return write_folder(folder, files)


def test_formula_text_is_quoted_in_the_export_and_round_trips(tmp_path: Path) -> None:
    folder = _formula_sample(tmp_path / "sample")
    template_db = f"sqlite:///{tmp_path / 'template.db'}"
    import_path(folder, template_db)
    path = write_redcap(read_template(folder), tmp_path / "export.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    (ae,) = [r for r in rows if r["redcap_repeat_instrument"] == "adverse_event"]
    assert (ae["ae_term"], ae["ae_outcome"], ae["ae_grade"]) == (
        f"'{HYPERLINK}",
        "'-resolved slowly",
        "2",
    )
    assert [r["site"] for r in rows if r["record_id"] == "P3" and r["site"]] == ["'@CBA"]
    db = f"sqlite:///{tmp_path / 'redcap.db'}"
    result = CliRunner().invoke(app, ["import", str(path), "--format", "redcap", "--db", db])
    assert result.exit_code == 0, result.output
    expected, got = read_tables(template_db), read_tables(db)
    assert expected["adverse_events"].column("term").to_pylist() == [HYPERLINK]
    for name, table in expected.items():
        assert got[name].equals(table), name


def test_numbers_are_never_quoted(tmp_path: Path) -> None:
    """A negative number is a number, not text a spreadsheet runs: written as it is."""
    tables = read_template(write_folder(tmp_path / "sample"))
    visits = tables["visits"]
    weights = pa.array([-5.0] * visits.num_rows, visits.schema.field("weight_kg").type)
    index = visits.schema.get_field_index("weight_kg")
    tables["visits"] = visits.set_column(index, "weight_kg", weights)
    path = write_redcap(tables, tmp_path / "export.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["redcap_repeat_instrument"] == "visit"]
    assert {r["weight_kg"] for r in rows} == {"-5"}


def test_dictionary_free_text_is_quoted_but_bounds_and_logic_are_not() -> None:
    visit = next(i for i in INSTRUMENTS if i.name == "visit")
    weight = next(f for f in visit.fields if f.name == "weight_kg")
    column = dataclasses.replace(weight.column, description="=1+1", unit="-kg", minimum=-5)
    row = _dictionary_row(visit, dataclasses.replace(weight, column=column))
    assert row[4:10] == ["'=1+1", "", "'-kg", "number", "-5", "150"]
