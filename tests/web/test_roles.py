"""Every role against every route: what each may see and do, and the refusals (INTERFACE.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, Login

VISIBLE = {
    "admin": ["A-001", "A-002", "B-001"],
    "dm_a": ["A-001", "A-002"],
    "clin_a": ["A-001", "A-002"],
    "clin_b": ["B-001"],
    "res": ["A-001", "A-002", "B-001"],
}
NEW_VISIT = {
    "visit": {
        "visit_date": "2019-10-15",
        "weight_kg": "21.5",
        "phys_global": "2",
        "phys_global_scale": "0-10",
        "parent_global": "1.5",
        "parent_global_scale": "0-10",
        "active_joints": "1",
        "lom_joints": "1",
        "esr": "14",
    },
    "joint_exams": [{"joint": "knee", "side": "left", "swollen": True}],
    "chaq_items": [{"item": "dressing_1", "score": "1", "aid": False}],
}


@pytest.mark.parametrize("user", sorted(VISIBLE))
def test_patient_list_holds_exactly_what_the_role_may_see(login: Login, user: str) -> None:
    rows = login(user).get("/api/patients").json()
    assert [r["patient_id"] for r in rows] == VISIBLE[user]


@pytest.mark.parametrize("user", sorted(VISIBLE))
def test_patient_record_is_404_outside_the_users_sites(login: Login, user: str) -> None:
    client = login(user)
    missing = client.get("/api/patients/NO-SUCH-ID")
    assert missing.status_code == 404
    for pid in ("A-001", "A-002", "B-001"):
        response = client.get(f"/api/patients/{pid}")
        if pid in VISIBLE[user]:
            assert response.status_code == 200
            assert response.json()["patient"]["patient_id"] == pid
        else:  # the same status and the same body as a patient that does not exist
            assert response.status_code == 404
            assert response.content == missing.content


def test_clinician_of_site_a_cannot_reach_a_site_b_patient_by_any_route(login: Login) -> None:
    client = login("clin_a")
    assert client.get("/api/patients/B-001").status_code == 404
    assert client.post("/api/patients/B-001/visits", json=NEW_VISIT).status_code == 404
    assert client.post("/api/scores", json={"patient_id": "B-001"}).status_code == 404
    assert client.get("/patients/B-001").status_code == 404
    assert client.get("/patients/B-001/timeline.svg").status_code == 404
    assert client.get("/patients/B-001/visits/new").status_code == 404
    assert [r["patient_id"] for r in client.get("/api/patients?site=B").json()] == []


@pytest.mark.parametrize("user", ["dm_a", "clin_a", "admin"])
def test_identified_roles_see_birth_dates(login: Login, user: str) -> None:
    client = login(user)
    rows = client.get("/api/patients").json()
    assert all("birth_date" in r for r in rows)
    assert client.get("/api/patients/A-001").json()["patient"]["birth_date"] == "2012-03-04"


def test_researcher_sees_all_sites_without_exact_birth_dates(login: Login) -> None:
    client = login("res")
    rows = client.get("/api/patients").json()
    assert {r["site"] for r in rows} == {"A", "B"}
    for row in rows:
        assert "birth_date" not in row
        assert isinstance(row["birth_year"], int) and isinstance(row["age_years"], int)
    record = client.get("/api/patients/A-001").json()
    assert "birth_date" not in record["patient"]
    assert record["patient"]["birth_year"] == 2012
    assert "2012-03-04" not in client.get("/api/patients/A-001").text
    page = client.get("/patients/A-001").text
    assert "2012-03-04" not in page and "2012" in page


def test_researcher_gets_pseudonyms_when_configured(
    app_factory: Callable[..., TestClient],
) -> None:
    with app_factory(pseudonym_key="site secret") as c:
        c.post("/api/login", json={"username": "res", "password": PASSWORD})
        rows = c.get("/api/patients").json()
        ids = [r["patient_id"] for r in rows]
        assert all(i.startswith("P-") for i in ids) and len(set(ids)) == 3
        assert "A-001" not in c.get("/api/patients").text
        record = c.get(f"/api/patients/{ids[0]}").json()
        assert record["patient"]["patient_id"] == ids[0]
        assert all(v["patient_id"] == ids[0] for v in record["visits"])
        assert c.get("/api/patients/A-001").status_code == 404  # real ids are not accepted


def test_researcher_is_read_only(login: Login) -> None:
    client = login("res")
    response = client.post("/api/patients/A-001/visits", json=NEW_VISIT)
    assert response.status_code == 403
    assert client.get("/patients/A-001/visits/new").status_code == 403
    assert "New visit" not in client.get("/patients/A-001").text
    dates = [v["visit_date"] for v in client.get("/api/patients/A-001").json()["visits"]]
    assert "2019-10-15" not in dates


@pytest.mark.parametrize("user", ["admin", "dm_a", "clin_a"])
def test_writers_save_a_visit_that_lands_in_the_audit_trail(login: Login, user: str) -> None:
    client = login(user)
    response = client.post("/api/patients/A-001/visits", json=NEW_VISIT)
    assert response.status_code == 201, response.text
    saved = [v for v in response.json()["visits"] if v["visit_date"] == "2019-10-15"]
    assert saved[0]["esr"] == 14 and saved[0]["scores"]["jadas10"] == 4.5  # 2 + 1.5 + 1 + 0
    assert response.json()["joint_exams"][0]["joint"] == "knee"
    client.post("/api/logout")
    admin = login("admin")
    trail = admin.get("/api/audit", params={"patient_id": "A-001"}).json()
    mine = [e for e in trail if e["username"] == user]
    assert {e["table"] for e in mine} == {"visits", "joint_exams", "chaq_items"}
    visit_entry = next(e for e in mine if e["table"] == "visits")
    assert visit_entry["action"] == "insert" and visit_entry["before"] is None
    assert visit_entry["after"]["esr"] == 14
    assert visit_entry["reason"] == "entered in the web form"


def test_invalid_visit_is_422_with_the_problem_and_nothing_is_written(login: Login) -> None:
    client = login("clin_a")
    bad = {"visit": {**NEW_VISIT["visit"], "esr": "high", "phys_global": "11"}}
    response = client.post("/api/patients/A-001/visits", json=bad)
    assert response.status_code == 422
    columns = {p["column"] for p in response.json()["problems"]}
    assert {"esr", "phys_global"} <= columns
    dates = [v["visit_date"] for v in client.get("/api/patients/A-001").json()["visits"]]
    assert "2019-10-15" not in dates


def test_audit_trail_is_for_admins_only(login: Login, client: TestClient) -> None:
    for user in ("dm_a", "clin_a", "clin_b", "res"):
        login(user)
        assert client.get("/api/audit").status_code == 403
        assert client.get("/audit").status_code == 403
        client.post("/api/logout")
    login("admin")
    entries = client.get("/api/audit").json()
    assert entries and entries[0]["seq"] > entries[-1]["seq"]  # newest first
    assert client.get("/audit").status_code == 200


@pytest.mark.parametrize("user", sorted(VISIBLE))
def test_every_page_answers_each_role(login: Login, user: str) -> None:
    client = login(user)
    own = VISIBLE[user][0]
    for path in (
        "/patients",
        f"/patients/{own}",
        f"/patients/{own}/timeline.svg",
        "/dashboard",
        "/dose",
    ):
        assert client.get(path).status_code == 200, path
    new_visit = client.get(f"/patients/{own}/visits/new").status_code
    assert new_visit == (403 if user == "res" else 200)


@pytest.mark.parametrize(
    "path", ["/patients", "/patients/A-001", "/patients/A-001/visits/new", "/dashboard", "/audit"]
)
def test_anonymous_pages_redirect_to_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_patient_list_filters(login: Login) -> None:
    client = login("admin")

    def ids(**params: str) -> list[str]:
        return [r["patient_id"] for r in client.get("/api/patients", params=params).json()]

    assert ids(site="B") == ["B-001"]
    assert ids(category="oligo_persistent") == ["A-002"]
    assert ids(biologic="tocilizumab") == ["A-001"]
    assert ids(q="a-00") == ["A-001", "A-002"]
    rows = client.get("/api/patients").json()
    state = next(r for r in rows if r["patient_id"] == "A-001")["cjadas10_state"]
    assert "A-001" in ids(state=state)
    assert ids(site="A", biologic="adalimumab") == []
