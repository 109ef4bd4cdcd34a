"""A REDCap data dictionary given beside the source (`import_path(..., dictionary=)`, what
the web page uploads) is read in place of the one the mapping file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from jiareg.errors import InputError
from jiareg.services.imports import import_path
from jiareg.store.tables import read_tables

HEADER = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note",'
    '"Text Validation Type OR Show Slider Number"\n'
)


def _dictionary(path: Path, choices: str) -> Path:
    path.write_text(
        HEADER
        + "record_id,demographics,,text,Study ID,,,\n"
        + f'gender,demographics,,radio,Gender,"{choices}",,\n',
        encoding="utf-8",
    )
    return path


def test_the_given_dictionary_wins_and_a_csv_mapping_takes_none(tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    data.write_text("record_id,gender\nR-1,0\n", encoding="utf-8")
    _dictionary(tmp_path / "named.csv", "0, Male | 1, Female")
    given = _dictionary(tmp_path / "given.csv", "0, Female | 1, Male")
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "format: redcap\ndictionary: named.csv\ndefaults: {site: A, birth_date: 2015-01-01}\n"
        "tables:\n  patients:\n    columns: {sex: gender}\n",
        encoding="utf-8",
    )
    named_db, given_db = f"sqlite:///{tmp_path / 'n.db'}", f"sqlite:///{tmp_path / 'g.db'}"
    import_path(data, named_db, mapping=mapping)
    import_path(data, given_db, mapping=mapping, dictionary=given)
    sex = [read_tables(url)["patients"].column("sex").to_pylist() for url in (named_db, given_db)]
    assert sex == [["M"], ["F"]]
    flat = tmp_path / "flat.yaml"
    flat.write_text(
        "format: csv\ndefaults: {site: A, birth_date: 2015-01-01}\n"
        "tables:\n  patients:\n    columns: {patient_id: record_id, sex: {value: F}}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        InputError, match=r"given\.csv: a data dictionary goes with a REDCap mapping"
    ):
        import_path(data, given_db, mapping=flat, dictionary=given)
