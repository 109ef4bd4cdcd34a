"""The patient list and records stay exact while kept between requests and updated
patient by patient after each write."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, Login

NEW_PATIENT = (
    "patient_id,site,sex,birth_date,ilar_category,onset_date\n"
    "A-000,A,M,2013-01-02,psoriatic,2019-01-01\n"
)
LATE_VISIT = {
    "visit": {
        "visit_date": "2020-12-01",
        "phys_global": "0",
        "parent_global": "0",
        "active_joints": "0",
        "fever": "no",
        "rash": "no",
        "serositis": "no",
        "hepatomegaly": "no",
        "splenomegaly": "no",
        "lymphadenopathy": "no",
    }
}


def _fresh_list(app_factory: Callable[..., TestClient], username: str) -> object:
    """The list as a new server (nothing cached) computes it."""
    with app_factory() as other:
        other.post("/api/login", json={"username": username, "password": PASSWORD})
        return other.get("/api/patients").json()


def test_list_after_writes_equals_a_fresh_computation(
    login: Login, app_factory: Callable[..., TestClient]
) -> None:
    client = login("admin")
    before = {r["patient_id"]: r for r in client.get("/api/patients").json()}
    records = {pid: client.get(f"/api/patients/{pid}").json() for pid in ("A-001", "A-002")}
    assert client.post("/api/patients/A-001/visits", json=LATE_VISIT).status_code == 201
    dates = [v["visit_date"] for v in client.get("/api/patients/A-001").json()["visits"]]
    assert dates == [v["visit_date"] for v in records["A-001"]["visits"]] + ["2020-12-01"]
    assert client.get("/api/patients/A-002").json() == records["A-002"]
    after = client.get("/api/patients").json()
    assert after == _fresh_list(app_factory, "admin")
    changed = {r["patient_id"]: r for r in after}
    assert changed["A-001"]["last_visit_date"] == "2020-12-01"
    assert changed["A-001"]["cjadas10_state"] == "ID"
    assert changed["A-002"] == before["A-002"] and changed["B-001"] == before["B-001"]

    token = client.get("/import").text.split('name="csrf_token" value="')[1].split('"')[0]
    upload = client.post(
        "/import",
        data={"csrf_token": token},
        files=[("files", ("patients.csv", NEW_PATIENT.encode(), "text/csv"))],
    )
    assert upload.status_code == 200, upload.text
    listed = client.get("/api/patients").json()
    assert [r["patient_id"] for r in listed] == ["A-000", "A-001", "A-002", "B-001"]
    assert listed == _fresh_list(app_factory, "admin")
    assert client.get("/api/patients?category=psoriatic").json() == [listed[0]]


def test_the_list_pages_filter_options_come_from_the_rows_the_user_may_see(
    login: Login,
) -> None:
    """The site and biologic drop-downs are made from the kept list rows (no read of every
    patient and course per page view), so they name only what this user may see."""
    own_site = login("clin_a").get("/patients").text
    assert "<option >tocilizumab</option>" in own_site
    assert "adalimumab" not in own_site  # B-001's course, at site B
    every_site = login("admin").get("/patients").text
    assert "<option >tocilizumab</option>" in every_site
    assert "<option >adalimumab</option>" in every_site
