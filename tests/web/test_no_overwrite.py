"""No silent overwrite (issue #13): a new visit on a stored date is refused, an edit carries a
reason and the version last read, and a stale version is refused with both versions."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from tests.web.conftest import Login

STORED = "2019-07-27"


def _visit(client: TestClient, on: str = STORED) -> dict[str, Any]:
    record = client.get("/api/patients/A-001").json()
    return next(v for v in record["visits"] if v["visit_date"] == on)


def _audit(client: TestClient) -> list[dict[str, Any]]:
    return list(client.get("/api/audit", params={"patient_id": "A-001"}).json())


def test_new_visit_on_a_stored_date_is_409_and_changes_nothing(login: Login) -> None:
    client = login("admin")
    before = _visit(client)
    response = client.post(
        "/api/patients/A-001/visits", json={"visit": {"visit_date": STORED, "esr": "99"}}
    )
    assert response.status_code == 409, response.text
    assert STORED in response.json()["detail"]["message"]
    assert _visit(client) == before
    assert before["active_joints"] == 3 and before["phys_global"] == 3.0


def test_put_with_reason_and_version_changes_the_visit_and_audits_the_reason(
    login: Login,
) -> None:
    client = login("clin_a")
    before = _visit(client)
    body = {"visit": {"esr": "25"}, "reason": "lab corrected", "version": before["version"]}
    response = client.put(f"/api/patients/A-001/visits/{STORED}", json=body)
    assert response.status_code == 200, response.text
    after = _visit(client)
    assert after["esr"] == 25.0 and after["active_joints"] == before["active_joints"]
    assert after["version"] != before["version"]
    entry = next(e for e in _audit(login("admin")) if e["table"] == "visits")
    assert entry["reason"] == "lab corrected" and entry["username"] == "clin_a"
    assert entry["before"]["esr"] == 20 and entry["after"]["esr"] == 25


def test_put_with_a_stale_version_is_409_with_both_versions(login: Login) -> None:
    client = login("clin_a")
    old = _visit(client)["version"]
    first = {"visit": {"esr": "25"}, "reason": "lab corrected", "version": old}
    assert client.put(f"/api/patients/A-001/visits/{STORED}", json=first).status_code == 200
    current = _visit(client)
    second = {"visit": {"esr": "30"}, "reason": "another lab", "version": old}
    response = client.put(f"/api/patients/A-001/visits/{STORED}", json=second)
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert detail["your_version"] == old and detail["current_version"] == current["version"]
    assert detail["current"]["esr"] == 25.0
    assert _visit(client) == current


def test_put_replaces_joints_when_given_and_a_joint_change_makes_the_version_stale(
    login: Login,
) -> None:
    client = login("clin_a")
    version = _visit(client)["version"]
    body = {
        "visit": {"active_joints": "1"},
        "joint_exams": [{"joint": "knee", "side": "left", "swollen": True}],
        "reason": "joints examined",
        "version": version,
    }
    assert client.put(f"/api/patients/A-001/visits/{STORED}", json=body).status_code == 200
    joints = client.get("/api/patients/A-001").json()["joint_exams"]
    assert [(j["joint"], j["side"]) for j in joints if j["visit_date"] == STORED] == [
        ("knee", "left")
    ]
    newer = _visit(client)["version"]
    body = {**body, "joint_exams": [], "version": newer}
    assert client.put(f"/api/patients/A-001/visits/{STORED}", json=body).status_code == 200
    joints = client.get("/api/patients/A-001").json()["joint_exams"]
    assert not [j for j in joints if j["visit_date"] == STORED]
    stale = {**body, "version": newer}
    assert client.put(f"/api/patients/A-001/visits/{STORED}", json=stale).status_code == 409


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_form_on_a_stored_date_opens_that_visit_for_editing_and_saves_nothing(
    login: Login,
) -> None:
    client = login("clin_a")
    before = _visit(client)
    token = _csrf(client.get("/patients/A-001/visits/new").text)
    response = client.post(
        "/patients/A-001/visits/new",
        data={"csrf_token": token, "visit_date": STORED, "esr": "99", "joint_exams": "[]"},
    )
    assert response.status_code == 409
    page = response.text
    assert "is already stored" in page and 'name="reason"' in page
    assert f'action="/patients/A-001/visits/{STORED}"' in page
    assert 'id="esr" name="esr" inputmode="decimal" value="20"' in page  # the stored value
    assert "esr 99" in page  # what was typed is listed, not lost
    assert _visit(client) == before


def test_form_edit_needs_a_reason_and_saves_with_it(login: Login) -> None:
    client = login("clin_a")
    page = client.get(f"/patients/A-001/visits/{STORED}").text
    version = re.search(r'name="version" value="([^"]*)"', page)
    assert version and version.group(1) == _visit(client)["version"]
    form = {
        "csrf_token": _csrf(page),
        "version": version.group(1),
        "esr": "22",
        "joint_exams": "[]",
    }
    refused = client.post(f"/patients/A-001/visits/{STORED}", data=form)
    assert refused.status_code == 422 and "why the visit changes" in refused.text
    assert _visit(client)["esr"] == 20.0
    saved = client.post(
        f"/patients/A-001/visits/{STORED}",
        data={**form, "reason": "typo"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert _visit(client)["esr"] == 22.0
    assert "Visit of 2019-07-27 saved." in client.get(saved.headers["location"]).text


def test_refused_save_keeps_joints_and_chaq_items_and_shows_the_problem_beside_the_field(
    login: Login,
) -> None:
    client = login("clin_a")
    token = _csrf(client.get("/patients/A-001/visits/new").text)
    joints = [{"joint": "knee", "side": "left", "swollen": True, "limited_motion": True}]
    response = client.post(
        "/patients/A-001/visits/new",
        data={
            "csrf_token": token,
            "visit_date": "2019-10-15",
            "esr": "250",
            "active_joints": "1",
            "joint_exams": json.dumps(joints),
            "chaq:dressing_1": "2",
            "aid:dressing": "on",
        },
    )
    assert response.status_code == 422
    page = response.text
    hidden = re.search(r'id="joint_exams" value="([^"]*)"', page)
    assert hidden and json.loads(hidden.group(1).replace("&#34;", '"')) == joints
    assert re.search(r'data-chaq-item="dressing_1">.*<option selected>2</option>', page)
    assert 'data-chaq-aid="dressing" checked' in page
    esr = page[page.index('id="esr"') :]
    assert 'aria-invalid="true"' in esr[:200] and "field-error" in esr[:600]
    assert 'value="250"' in esr[:200]
    assert "previous: 12" in esr[:600]  # the previous visit's ESR beside the field


def test_form_edit_of_a_visit_changed_since_is_refused_with_both_values(login: Login) -> None:
    client = login("clin_a")
    page = client.get(f"/patients/A-001/visits/{STORED}").text
    version = re.search(r'name="version" value="([^"]*)"', page)
    assert version
    meanwhile = {"visit": {"esr": "25"}, "reason": "lab", "version": version.group(1)}
    assert client.put(f"/api/patients/A-001/visits/{STORED}", json=meanwhile).status_code == 200
    form = {"csrf_token": _csrf(page), "version": version.group(1), "esr": "22",
            "reason": "typo", "joint_exams": "[]"}  # fmt: skip
    stale = client.post(f"/patients/A-001/visits/{STORED}", data=form)
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    row = re.search(r"<tr><td>esr</td><td>([^<]*)</td><td>([^<]*)</td></tr>", stale.text)
    assert row and row.groups() == ("22", "25")  # yours, stored now
    assert _visit(client)["esr"] == 25.0
