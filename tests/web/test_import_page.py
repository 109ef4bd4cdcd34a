"""The browser import page offers what the CLI's import offers: mapping files, FHIR's --site and
--skip-unmapped, and shows what was skipped, converted and read leniently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response
from tests.web.conftest import PASSWORD, Login

from jiareg.store.tables import read_tables

DATA = Path(__file__).parents[1] / "data"


def _post(client: TestClient, files: list[tuple[str, tuple[str, bytes]]], **form: str) -> Response:
    data = {"csrf_token": client.headers["X-CSRF-Token"], **form}
    return client.post("/import", data=data, files=files)


def test_a_mapping_file_imports_someone_elses_redcap_export(login: Login, db_url: str) -> None:
    client = login("admin")
    source = DATA / "redcap/public/pycap/test_simple_project.xml"
    mapping = DATA / "redcap/maps/pycap-simple.yaml"
    response = _post(
        client,
        [
            ("files", (source.name, source.read_bytes())),
            ("mapping", (mapping.name, mapping.read_bytes())),
        ],
    )
    assert response.status_code == 200, response.text
    patients = read_tables(db_url)["patients"].to_pylist()
    stored = {p["patient_id"]: (p["site"], p["sex"]) for p in patients if p["site"] == "pycap"}
    assert stored == {"1": ("pycap", "F"), "2": ("pycap", "M")}  # ODM code 1 = Male


def test_fhir_skip_unmapped_lists_what_was_skipped(login: Login, db_url: str) -> None:
    client = login("admin")
    folder = DATA / "fhir/public/synthea-bulk-10"
    files = [("files", (p.name, p.read_bytes())) for p in sorted(folder.glob("*.ndjson"))]
    response = _post(client, files, format="fhir", site="A", skip_unmapped="true")
    page = response.text
    assert response.status_code == 200, page
    assert 'id="import-skipped"' in page
    for kind in ("AllergyIntolerance", "Device", "Organization", "Practitioner"):
        assert f"<td>{kind}</td>" in page
    assert len(read_tables(db_url)["patients"]) > 3


def test_fhir_without_skip_unmapped_refuses_and_writes_nothing(login: Login, db_url: str) -> None:
    client = login("admin")
    before = read_tables(db_url)["patients"].num_rows
    folder = DATA / "fhir/public/synthea-bulk-10"
    files = [("files", (p.name, p.read_bytes())) for p in sorted(folder.glob("*.ndjson"))]
    response = _post(client, files, format="fhir", site="A")
    assert response.status_code == 422
    assert read_tables(db_url)["patients"].num_rows == before


def test_lenient_cells_are_listed_as_read(login: Login, db_url: str) -> None:
    client = login("dm_a")
    csv = (
        "patient_id,site,sex,birth_date,ilar_category,onset_date\n"
        "A-900,A,female,2015-01-02,Systemic,2019-03-04\n"
    )
    response = _post(client, [("files", ("patients.csv", csv.encode()))])
    page = response.text
    assert response.status_code == 200, page
    assert 'id="import-normalised"' in page and "<td>female</td><td>F</td>" in page
    stored = {p["patient_id"]: p for p in read_tables(db_url)["patients"].to_pylist()}
    assert (stored["A-900"]["sex"], stored["A-900"]["ilar_category"]) == ("F", "systemic")


def test_uploads_leave_nothing_behind(
    app_factory: Callable[..., TestClient], tmp_path: Path
) -> None:
    # Each import's upload gets its own private folder, removed after it, whether the import
    # was stored or refused; an app that never imports makes no folder at all (it used to
    # make one per app and never remove it: thousands were left in /tmp by the test suite).
    work = tmp_path / "work"
    work.mkdir()
    with app_factory(work_dir=work) as client:
        response = client.post("/api/login", json={"username": "admin", "password": PASSWORD})
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        folder = DATA / "fhir/public/synthea-bulk-10"
        files = [("files", (p.name, p.read_bytes())) for p in sorted(folder.glob("*.ndjson"))]
        assert _post(client, files, format="fhir", site="A").status_code == 422
        assert (
            _post(client, files, format="fhir", site="A", skip_unmapped="true").status_code == 200
        )
    assert list(work.iterdir()) == []
    assert app_factory().app.state.web.work_dir is None  # type: ignore[attr-defined]
