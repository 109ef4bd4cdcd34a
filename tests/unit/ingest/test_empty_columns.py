"""A column with no cell given skips the cell checks (a web save's form leaves most columns
empty): its typed column must be what the checks give an empty cell, in every table."""

from __future__ import annotations

import pyarrow as pa
import pytest

from jiareg.formats.cells import RawTable
from jiareg.formats.template.dictionary import TABLES, TemplateTable
from jiareg.ingest.validate import Problems, check_cells


def _typed(spec: TemplateTable, cells: list[str | None]) -> tuple[dict[str, pa.Array], Problems]:
    data = pa.table({n: pa.array(cells, pa.string()) for n in spec.names})
    rows = pa.array(range(2, len(cells) + 2), pa.int64())
    problems = Problems()
    return check_cells(RawTable(spec, "f.csv", data, rows), problems), problems


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.name)
def test_an_empty_column_is_typed_as_the_checks_type_an_empty_cell(spec: TemplateTable) -> None:
    # row 0 filled ("x": valid or not, it takes every column through the checks), row 1 empty
    checked, _ = _typed(spec, ["x", None])
    empty, problems = _typed(spec, [None])
    for name in spec.names:
        assert empty[name].type == checked[name].type, name
        assert empty[name].to_pylist() == checked[name].to_pylist()[1:], name
    required = [c.name for c in spec.columns if c.required]
    assert sorted({p.column for _, _, p in problems.items}) == sorted(required)
