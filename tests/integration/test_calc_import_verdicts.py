"""`jiareg calc` and `jiareg import` give the same verdict on the same cells (one validator).

Each case puts one cell into an otherwise valid visit: once in a template `visits.csv` checked
by the import's validation, once in a `jiareg calc jadas` file. Both must accept it, or both
must refuse the same column with the same expectation.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import ImportErrors
from jiareg.formats.template.dictionary import table
from jiareg.formats.template.read import read_path
from jiareg.ingest.validate import Problems, validate_tables

GOOD = {"phys_global": "4.5", "parent_global": "3", "active_joints": "3", "esr": "12"}
CASES = [
    {"active_joints": "3.0", "esr": "NA"},  # the row: 3.0 refused by both, NA = missing
    {"esr": "12.3456"},  # 4 decimals
    {"active_joints": "three"},  # text in a count
    {"active_joints": "-1"},
    {"active_joints": "72"},
    {"phys_global": "11"},  # outside its 0-10 scale
    {"phys_global": "4.255"},  # 3 decimals: fine on 0-10
    {"esr": ""},  # empty = missing, accepted
    {"esr": " 12.5 "},  # surrounding spaces are trimmed
    {"parent_global": "+2"},
]
_PROBLEM = re.compile(r"^\S+:\d+: column '([^']+)' = '([^']*)'; expected (.+)$", re.MULTILINE)


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _import_verdict(folder: Path, cells: dict[str, str]) -> set[tuple[str, str, str]]:
    folder.mkdir()
    patient = {"patient_id": "P1", "site": "s1", "sex": "F", "birth_date": "2010-01-01"}
    _write(
        folder / "patients.csv",
        [{n: patient.get(n, "") for n in table("patients").names} | {"ilar_category": "era"}],
    )
    visit = {"patient_id": "P1", "visit_date": "2020-01-01"} | GOOD | cells
    _write(folder / "visits.csv", [{n: visit.get(n, "") for n in table("visits").names}])
    raws, file_problems, _ = read_path(folder)
    assert not file_problems
    registry = pa.table(
        {"patient_id": pa.array([], pa.string()), "birth_date": pa.array([], pa.date32())}
    )
    problems = Problems()
    validate_tables(raws, registry, problems)
    try:
        problems.raise_if_any()
    except ImportErrors as exc:
        return {(m[0], m[1], m[2]) for m in _PROBLEM.findall(str(exc))}
    return set()


def _calc_verdict(tmp_path: Path, cells: dict[str, str]) -> set[tuple[str, str, str]]:
    row = {"id": "a"} | GOOD | cells | {"category": "era"}
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["calc", "jadas", str(_write(tmp_path / "in.csv", [row])), "-o", str(out)]
    )
    assert result.exit_code == (0 if out.exists() else 1), result.output
    return {(m[0], m[1], m[2]) for m in _PROBLEM.findall(result.stderr)}


@pytest.mark.parametrize("cells", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_calc_and_import_give_the_same_verdict(tmp_path: Path, cells: dict[str, str]) -> None:
    from_import = _import_verdict(tmp_path / "template", cells)
    from_calc = _calc_verdict(tmp_path, cells)
    assert from_calc == from_import
    if cells == CASES[0]:  # the row the two validators used to disagree on
        assert {c for c, _, _ in from_calc} == {"active_joints"}
