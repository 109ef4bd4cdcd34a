"""A mapped REDCap import through the browser takes the source project's data dictionary as
an upload beside the data, as `jiareg import --map` reads it beside the mapping file (issue
#11): its choice labels translate the codes, its problems show like any import's, the site
checks of every import apply, and an uploaded mapping never opens a file on the server."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response
from tests.web.conftest import Login

from jiareg.store.tables import read_tables

DICTIONARY = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note",'
    '"Text Validation Type OR Show Slider Number"\n'
    "record_id,demographics,,text,Study ID,,,\n"
    "clinic,demographics,,text,Clinic,,,\n"
    'gender,demographics,,radio,Gender,"0, Female | 1, Male",,\n'
    "dob,demographics,,text,Date of birth,,,date_ymd\n"
)
MAPPING = """\
format: redcap
dictionary: their_dictionary.csv
tables:
  patients:
    columns: {site: clinic, sex: gender, birth_date: dob}
"""


def _export(*rows: str) -> bytes:
    return ("record_id,clinic,gender,dob,demographics_complete\n" + "".join(rows)).encode()


def _post(client: TestClient, data: bytes, dictionary: bytes | None, name: str = "") -> Response:
    files = [
        ("files", ("export.csv", data)),
        ("mapping", ("map.yaml", MAPPING.encode())),
    ]
    if dictionary is not None:
        files.append(("dictionary", (name or "their_dictionary.csv", dictionary)))
    return client.post("/import", data={"csrf_token": client.headers["X-CSRF-Token"]}, files=files)


def _patients(db_url: str) -> dict[str, tuple[str, str, str]]:
    rows = read_tables(db_url)["patients"].to_pylist()
    return {p["patient_id"]: (p["site"], p["sex"], str(p["birth_date"])) for p in rows}


def test_the_dictionary_uploaded_beside_the_data_translates_its_codes(
    login: Login, db_url: str
) -> None:
    """Code 0 is Female in their project (jiareg's own REDCap project has 1 = F)."""
    client = login("dm_a")
    data = _export("R-1,A,0,2015-02-03,2\n", "R-2,A,1,2016-04-05,2\n")
    response = _post(client, data, DICTIONARY.encode())
    assert response.status_code == 200, response.text
    assert 'id="import-summary"' in response.text
    stored = _patients(db_url)
    assert (stored["R-1"], stored["R-2"]) == (("A", "F", "2015-02-03"), ("A", "M", "2016-04-05"))


def test_an_uploaded_mapping_opens_no_dictionary_on_the_server(login: Login, db_url: str) -> None:
    before = _patients(db_url)
    response = _post(login("admin"), _export("R-1,A,0,2015-02-03,2\n"), None)
    assert response.status_code == 422
    assert "map.yaml names the data dictionary &#39;their_dictionary.csv&#39;: upload" in (
        response.text
    )
    assert _patients(db_url) == before


def test_a_bad_dictionary_is_shown_like_any_import_problem(login: Login, db_url: str) -> None:
    client = login("admin")
    before = _patients(db_url)
    response = _post(client, _export("R-1,A,0,2015-02-03,2\n"), b"name,label\nx,y\n")
    assert response.status_code == 422
    assert "their_dictionary.csv: not a REDCap data dictionary (missing columns:" in (response.text)
    response = _post(client, _export("R-1,A,0,2015-02-03,2\n"), b"x", name="dict.txt")
    assert response.status_code == 422
    assert "dict.txt: a REDCap data dictionary is a .csv file" in response.text
    unknown = _post(client, _export("R-1,A,7,2015-02-03,2\n"), DICTIONARY.encode())
    assert unknown.status_code == 422
    rows = unknown.text.split('id="import-errors"')[1].split("</table>")[0]
    assert "<td>gender</td><td>7</td>" in rows
    assert _patients(db_url) == before


def test_a_dictionary_needs_a_mapping(login: Login, db_url: str) -> None:
    client = login("admin")
    response = client.post(
        "/import",
        data={"csrf_token": client.headers["X-CSRF-Token"], "format": "redcap"},
        files=[
            ("files", ("export.csv", _export("R-1,A,0,2015-02-03,2\n"))),
            ("dictionary", ("their_dictionary.csv", DICTIONARY.encode())),
        ],
    )
    assert response.status_code == 422
    assert "their_dictionary.csv: a data dictionary goes with a mapping file" in response.text


def test_a_data_manager_cannot_import_into_another_site_through_a_dictionary(
    login: Login, db_url: str
) -> None:
    client = login("dm_a")
    before = _patients(db_url)
    new_at_b = _post(client, _export("R-9,B,0,2015-02-03,2\n"), DICTIONARY.encode())
    assert new_at_b.status_code == 403, new_at_b.text
    assert "user &#39;dm_a&#39; (data_manager) may not import at site &#39;B&#39;" in (
        new_at_b.text
    )
    assert 'id="import-summary"' not in new_at_b.text
    b001_to_a = _post(client, _export("B-001,A,1,2011-11-30,2\n"), DICTIONARY.encode())
    assert b001_to_a.status_code == 422, b001_to_a.text
    assert "no patient you may change has this id" in b001_to_a.text
    assert _patients(db_url) == before
