"""Imports never move a patient between sites, nor tell one site about another's patients.

Issue #12, finding 1 (HIGH): a data manager of site A imported `B-001,A,...` (a site B
patient) and the row was written, moving the patient into A with the uploaded values. Every
import format shares the check, so each is tried through the browser (template CSVs, an .xlsx
workbook, a REDCap export, a FHIR bundle) and through the services. A site move is its own
audited admin action (`jiareg patient move`). Finding 2 (low): another site's patient id must
get the same answer as an unknown one. Also: a file name over 255 bytes is a 422, not a 500.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import DATA, Login
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import AccessDenied, ImportErrors, InputError
from jiareg.formats.cells import table_text
from jiareg.formats.fhir.write import write_fhir
from jiareg.formats.redcap.write import write_redcap
from jiareg.formats.sources import Format
from jiareg.formats.template.write import write_csv
from jiareg.services.imports import import_path
from jiareg.services.patients import move_patient
from jiareg.services.records import save_record
from jiareg.store.audit import patient_history
from jiareg.store.tables import read_tables
from jiareg.store.users import UserInfo

DM_A = UserInfo("dm_a", "data_manager", "A")
ADMIN = UserInfo("admin", "admin", None)
VISIT_HEADER = (DATA / "visits.csv").read_text(encoding="utf-8").splitlines()[0]


def _token(client: TestClient) -> str:
    text: str = client.get("/import").text
    return text.split('name="csrf_token" value="')[1].split('"')[0]


def _upload(client: TestClient, files: dict[str, bytes], fmt: str = "template") -> Any:
    return client.post(
        "/import",
        data={"csrf_token": _token(client), "format": fmt},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files.items()],
    )


def _moved_b001(db_url: str) -> dict[str, pa.Table]:
    """The registry's tables cut to patient B-001, with B-001 moved to site A as a man."""
    tables = read_tables(db_url)
    out = {}
    for name, table in tables.items():
        if "patient_id" in table.column_names:
            out[name] = table.filter(pc.equal(table.column("patient_id"), "B-001"))
    patients = out["patients"]
    for column, value in (("site", "A"), ("sex", "M")):
        index = patients.column_names.index(column)
        patients = patients.set_column(index, column, pa.array([value], pa.string()))
    out["patients"] = patients
    return out


def _files(db_url: str, folder: Path, fmt: str) -> tuple[dict[str, bytes], str]:
    """The upload (file name -> bytes) and form format of `_moved_b001` in `fmt`."""
    folder.mkdir(exist_ok=True)
    tables = _moved_b001(db_url)
    patients = tables["patients"]
    if fmt == "csv":
        path = folder / "patients.csv"
        write_csv(path, patients.column_names, table_text(patients))
        return {path.name: path.read_bytes()}, "template"
    if fmt == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "patients"
        sheet.append(patients.column_names)
        for row in table_text(patients):
            sheet.append(row)
        data = io.BytesIO()
        book.save(data)
        return {"clinic.xlsx": data.getvalue()}, "template"
    if fmt == "redcap":
        return {"export.csv": write_redcap(tables, folder / "export.csv").read_bytes()}, fmt
    return {"bundle.json": write_fhir(tables, folder / "bundle.json").read_bytes()}, fmt


def _b001(db_url: str) -> dict[str, object]:
    patients = read_tables(db_url)["patients"].to_pylist()
    return next(p for p in patients if p["patient_id"] == "B-001")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "redcap", "fhir"])
def test_a_data_manager_cannot_import_another_sites_patient_into_their_site(
    login: Login, db_url: str, tmp_path: Path, fmt: str
) -> None:
    files, form_format = _files(db_url, tmp_path, fmt)
    before = _b001(db_url)
    trail = len(patient_history(db_url, "B-001"))
    client = login("dm_a")
    response = _upload(client, files, form_format)
    assert response.status_code == 422, response.text
    assert "no patient you may change has this id" in response.text
    assert 'id="import-summary"' not in response.text
    assert _b001(db_url) == before
    assert len(patient_history(db_url, "B-001")) == trail
    assert client.get("/api/patients/B-001").status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "redcap", "fhir"])
def test_an_admin_import_does_not_move_a_patient_either(
    login: Login, db_url: str, tmp_path: Path, fmt: str
) -> None:
    files, form_format = _files(db_url, tmp_path, fmt)
    before = _b001(db_url)
    response = _upload(login("admin"), files, form_format)
    assert response.status_code == 422, response.text
    assert "jiareg patient move" in response.text
    assert _b001(db_url) == before


def test_own_patient_cannot_be_moved_to_another_site_by_import(login: Login, db_url: str) -> None:
    moved = (DATA / "patients.csv").read_text(encoding="utf-8").replace("A-002,A,", "A-002,B,")
    response = _upload(login("dm_a"), {"patients.csv": moved.encode()})
    assert response.status_code == 422, response.text
    assert "jiareg patient move" in response.text
    assert next(p for p in read_tables(db_url)["patients"].to_pylist() if p["site"] == "A")


def _problem_rows(html: str) -> str:
    return html.split('id="import-errors"')[1].split("</table>")[0]


def test_another_sites_patient_gets_the_answer_of_an_unknown_one(login: Login) -> None:
    client = login("dm_a")
    visit = "{},2020-02-02,30,130,1,0-10,1,0-10,0.5,1,1,12,,,,,,,no,"
    answers = []
    for pid in ("B-001", "Z-999"):
        text = f"{VISIT_HEADER}\n{visit.format(pid)}\n".encode()
        response = _upload(client, {"visits.csv": text})
        answers.append((response.status_code, _problem_rows(response.text).replace(pid, "ID")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422


_FORMATS: dict[str, Format] = {
    "csv": "template",
    "xlsx": "template",
    "redcap": "redcap",
    "fhir": "fhir",
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "redcap", "fhir"])
def test_services_refuse_the_site_move_for_every_user(
    db_url: str, tmp_path: Path, fmt: str
) -> None:
    files, _ = _files(db_url, tmp_path / "made", fmt)
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    source = folder if fmt == "csv" else folder / next(iter(files))
    before = _b001(db_url)
    with pytest.raises(ImportErrors, match="no patient you may change has this id"):
        import_path(source, db_url, user=DM_A, format=_FORMATS[fmt])
    for user in (ADMIN, None):
        with pytest.raises(ImportErrors, match="jiareg patient move"):
            import_path(source, db_url, user=user, format=_FORMATS[fmt])
    assert _b001(db_url) == before


def test_record_saves_refuse_the_site_move_too(db_url: str) -> None:
    before = _b001(db_url)
    moved = {"patient_id": "B-001", "site": "A"}
    with pytest.raises(ImportErrors, match="no patient you may change has this id"):
        save_record(db_url, "patients", moved, user=DM_A, reason="x")
    with pytest.raises(ImportErrors, match="jiareg patient move"):
        save_record(db_url, "patients", moved, user=ADMIN, reason="x")
    assert _b001(db_url) == before


def test_a_site_move_is_an_audited_admin_action(login: Login, db_url: str) -> None:
    with pytest.raises(AccessDenied, match="admin"):
        move_patient(db_url, "B-001", "A", DM_A, "transfer")
    with pytest.raises(InputError, match="reason"):
        move_patient(db_url, "B-001", "A", ADMIN, " ")
    with pytest.raises(InputError, match="no patient 'Z-999'"):
        move_patient(db_url, "Z-999", "A", ADMIN, "transfer")
    result = CliRunner().invoke(
        app,
        ["patient", "move", "B-001", "--site", "A", "--reason", "family moved", "--db", db_url],
    )
    assert result.exit_code == 0, result.output
    assert "B-001: site B -> A" in result.output
    assert _b001(db_url)["site"] == "A" and _b001(db_url)["sex"] == "F"
    last = patient_history(db_url, "B-001")[-1]
    assert (last.action, last.reason) == ("update", "family moved")
    assert '"site":"B"' in str(last.before) and '"site":"A"' in str(last.after)
    assert login("dm_a").get("/api/patients/B-001").status_code == 200


def test_a_long_file_name_is_refused_with_a_message(login: Login) -> None:
    name = "v" * 300 + ".xlsx"
    response = _upload(login("dm_a"), {name: b"PK"})
    assert response.status_code == 422
    assert "file name longer than 255" in response.text
