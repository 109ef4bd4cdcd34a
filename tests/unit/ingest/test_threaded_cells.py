"""`check_cells` checks a large table's columns on two threads: the typed columns, the
problems (their order, the count past `MAX_REPORTED`) and the normalisations must be those
of the same checks run one column after another."""

from __future__ import annotations

import pyarrow as pa
import pytest

from jiareg.errors import ImportErrors
from jiareg.formats.cells import RawTable
from jiareg.formats.template.dictionary import TABLES, TemplateTable
from jiareg.ingest import validate
from jiareg.ingest.validate import Problems, check_cells

ROWS = validate._THREADED_MIN + 7
CELLS = ["x", "", "1", "0,5", "yes", "Female", "2020-01-01", "01/02/2020", "-3", "tocilizumb"]
"""A spread of cells, valid for some columns and refused, or normalised, by others."""


def _raw(spec: TemplateTable) -> RawTable:
    columns = {
        name: pa.array([CELLS[(row * 7 + col * 3) % len(CELLS)] for row in range(ROWS)])
        for col, name in enumerate(spec.names)
    }
    return RawTable(spec, f"{spec.name}.csv", pa.table(columns), pa.array(range(2, ROWS + 2)))


def _checked(raw: RawTable) -> tuple[dict[str, list[object]], list[str], int, tuple[object, ...]]:
    problems = Problems()
    typed = check_cells(raw, problems)
    with pytest.raises(ImportErrors) as refused:
        problems.raise_if_any()
    shown = [str(p) for p in refused.value.problems]
    columns = {name: array.to_pylist() for name, array in typed.items()}
    return columns, shown, problems.total, problems.normalisations()


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.name)
def test_two_threads_find_what_one_finds(
    spec: TemplateTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _raw(spec)
    threaded = _checked(raw)
    monkeypatch.setattr(validate, "_THREADED_MIN", ROWS + 1)  # the same table on one thread
    one_thread = _checked(raw)
    assert threaded[2] > validate.MAX_REPORTED  # the cut-off is part of what is compared
    assert threaded == one_thread
