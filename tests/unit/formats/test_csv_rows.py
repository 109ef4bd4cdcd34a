"""A template CSV row with the wrong number of cells is skipped and named by its line,
whether the file is one block or many (Arrow parses a large file on several threads, which
do not know line numbers: such a file is parsed again on one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jiareg.formats.template.dictionary import table
from jiareg.formats.template.read import read_path

VISITS = table("visits")


def _write(folder: Path, rows: int, bad_line: int) -> Path:
    header = ",".join(VISITS.names)
    cells = ["P1", "2020-01-01"] + [""] * (len(VISITS.names) - 2)
    lines = [header]
    for line in range(2, rows + 2):
        row = list(cells)
        row[1] = f"{2000 + line // 366:04d}-01-01"
        lines.append(",".join(row) + (",extra" if line == bad_line else ""))
    path = folder / VISITS.file
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("rows", "bad_line"), [(5, 4), (60_000, 2), (60_000, 59_990)])
def test_the_bad_row_is_named_by_its_line(tmp_path: Path, rows: int, bad_line: int) -> None:
    path = _write(tmp_path, rows, bad_line)
    assert rows < 10 or path.stat().st_size > 2 * 1024 * 1024  # several of Arrow's blocks
    raws, problems, _ = read_path(path)
    assert [(p.row, p.column, p.expected) for p in problems] == [
        (bad_line, "(row)", f"{len(VISITS.names)} cells, found {len(VISITS.names) + 1}")
    ]
    assert raws[0].data.num_rows == rows - 1
