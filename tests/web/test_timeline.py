"""The timeline SVG: a well-formed document with every visit as a point on each series."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.web.conftest import Login

SVG = "{http://www.w3.org/2000/svg}"


def test_timeline_is_well_formed_svg_with_a_point_per_visit_and_series(login: Login) -> None:
    client = login("clin_a")
    record = client.get("/api/patients/A-001").json()
    response = client.get("/patients/A-001/timeline.svg")
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    ids = {c.get("id") for c in root.iter(f"{SVG}circle") if c.get("id")}
    for visit in record["visits"]:
        day = visit["visit_date"]
        for key in ("esr", "active_joints", "phys_global"):
            if visit[key] is not None:
                assert f"{key}-{day}" in ids, (key, day)
        if visit["scores"]["jadas10"] is not None:
            assert f"jadas10-{day}" in ids
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for title in (
        "Biologic courses and infusions (dose / weight)",
        "Steroids, prednisone equivalent",
        "Disease activity",
        "Core set: joints and globals",
        "Core set: ESR and CHAQ",
    ):
        assert title in texts
    assert {"etanercept", "tocilizumab", "secondary failure"} <= set(texts)


def test_a_single_visit_timeline_has_a_date_axis(login: Login) -> None:
    client = login("clin_a")
    visit = {"visit": {"visit_date": "2024-01-10", "active_joints": "1"}}
    person = {"patient_id": "A-010", "site": "A", "sex": "F", "birth_date": "2014-05-06"}
    assert client.post("/api/patients", json=person).status_code == 201
    assert client.post("/api/patients/A-010/visits", json=visit).status_code == 201
    root = ET.fromstring(client.get("/patients/A-010/timeline.svg").content)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Jan 2024" in texts or "2024" in texts or "Dec 2023" in texts, texts
