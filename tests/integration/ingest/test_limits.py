"""Imports are bounded: a workbook's uncompressed size and member count, rows per table.

Issue #12, finding 7: a 240 KB .xlsx expanding to 54 MB of XML cost 34 s of CPU and nothing
limited rows or uncompressed size. The zip's declared sizes are checked before openpyxl opens
it (zipfile never inflates a member past its declared size), and every CSV or sheet holds at
most `JIAREG_IMPORT_MAX_ROWS` rows; each refusal names the file, the limit and what to do.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from tests.integration.store.sample import GOOD

from jiareg.errors import ImportErrors, InputError
from jiareg.formats.template.limits import ImportLimits, import_limits
from jiareg.ingest import read_template
from jiareg.services.imports import import_path
from jiareg.store.tables import read_tables

PATIENT = "P{0},BA,F,2010-03-01,systemic,2014-05-01"
HEADER = GOOD["patients.csv"].splitlines()[0]


def _workbook(rows: int) -> bytes:
    """A template workbook whose patients sheet has `rows` patients."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "patients"
    sheet.append(HEADER.split(","))
    for i in range(rows):
        sheet.append(PATIENT.format(i).split(","))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bomb(path: Path, rows: int) -> Path:
    """A small .xlsx whose sheet XML expands to `rows` rows of padding (about 90 bytes each)."""
    cells = f'<row><c t="inlineStr"><is><t>{"x" * 40}</t></is></c></row>' * rows
    with zipfile.ZipFile(io.BytesIO(_workbook(0))) as source:
        members = {i.filename: source.read(i) for i in source.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = members[sheet].replace(b"</sheetData>", cells.encode() + b"</sheetData>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
    return path


def test_a_workbook_bomb_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "clinic.xlsx", 650_000)
    assert bomb.stat().st_size < 1_000_000
    start = time.perf_counter()
    with pytest.raises(InputError) as refused:
        read_template(bomb)
    assert time.perf_counter() - start < 1.0
    message = str(refused.value)
    assert "clinic.xlsx" in message and "50 MB" in message
    assert "JIAREG_IMPORT_MAX_XLSX_MB" in message and "split" in message


def test_the_uncompressed_limit_is_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clinic.xlsx"
    path.write_bytes(_workbook(3))
    assert read_template(path)["patients"].num_rows == 3
    monkeypatch.setenv("JIAREG_IMPORT_MAX_XLSX_MB", "0.001")
    with pytest.raises(InputError, match=r"clinic.xlsx: .*over the limit of 0.001 MB"):
        read_template(path)
    monkeypatch.setenv("JIAREG_IMPORT_MAX_XLSX_MB", "lots")
    with pytest.raises(InputError, match="JIAREG_IMPORT_MAX_XLSX_MB"):
        read_template(path)


def test_a_workbook_of_many_members_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as book:
        for i in range(5000):
            book.writestr(f"xl/m{i}.xml", b"")
    with pytest.raises(InputError, match=r"many.xlsx: 5000 files in the workbook"):
        read_template(path)


def test_a_member_larger_than_declared_is_cut_off_not_inflated(tmp_path: Path) -> None:
    """A zip may lie about its sizes: zipfile stops at the declared size (and the CRC fails)."""
    bomb = _bomb(tmp_path / "liar.xlsx", 600_000)
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as book:
        info = book.getinfo("xl/worksheets/sheet1.xml")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)  # local header's size
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(info.filename)] != info.filename.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, 1000)  # central directory's size
    bomb.write_bytes(bytes(data))
    start = time.perf_counter()
    with pytest.raises(InputError, match="cannot read the workbook"):
        read_template(bomb)
    assert time.perf_counter() - start < 2.0


def _patients_csv(rows: int) -> str:
    return HEADER + "\n" + "".join(PATIENT.format(i) + "\n" for i in range(rows))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_rows_per_table_are_limited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    if kind == "csv":
        (folder / "patients.csv").write_text(_patients_csv(4), encoding="utf-8")
        source, file = folder, "patients.csv"
    else:
        source = folder / "clinic.xlsx"
        source.write_bytes(_workbook(4))
        file = "clinic.xlsx[patients]"
    assert read_template(source)["patients"].num_rows == 4
    monkeypatch.setenv("JIAREG_IMPORT_MAX_ROWS", "3")
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with pytest.raises(ImportErrors) as refused:
        import_path(source, url)
    message = str(refused.value)
    assert f"{file}:" in message
    assert "at most 3 rows per table (JIAREG_IMPORT_MAX_ROWS)" in message
    assert "split the file" in message
    assert read_tables(url)["patients"].num_rows == 0
    monkeypatch.setenv("JIAREG_IMPORT_MAX_ROWS", "4")
    assert import_path(source, url).changed == 4


def test_the_default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIAREG_IMPORT_MAX_ROWS", raising=False)
    monkeypatch.delenv("JIAREG_IMPORT_MAX_XLSX_MB", raising=False)
    assert import_limits() == ImportLimits(rows=1_000_000, xlsx_mb=50.0, xlsx_members=1000)
