"""The clinic's daily-use polish (issue #13): fixed log-in messages, HTML error pages, the
Study link only for who may run one, flash messages, readable audit times, print styles,
URL-encoded patient ids."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from tests.web.conftest import Login

STATIC = Path(__file__).parents[2] / "src" / "jiareg" / "web" / "static"


def test_login_shows_only_fixed_messages_for_error_codes(client: TestClient) -> None:
    forged = client.get("/login", params={"error": "Your password expired: call 555-0100"})
    assert "555-0100" not in forged.text and 'role="alert"' not in forged.text
    known = client.get("/login", params={"error": "expired"})
    assert "Your session has ended" in known.text


def test_data_manager_sees_no_study_link_and_gets_an_html_403(login: Login) -> None:
    client = login("dm_a")
    page = client.get("/patients").text
    assert 'href="/study"' not in page
    refused = client.get("/study")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "Not allowed" in refused.text
    api = client.get("/api/audit")
    assert api.status_code == 403 and api.headers["content-type"] == "application/json"
    assert 'href="/study"' in login("admin").get("/patients").text


def test_missing_patient_page_is_an_html_404(login: Login) -> None:
    page = login("clin_a").get("/patients/NOPE")
    assert page.status_code == 404 and "Not found" in page.text


def test_audit_times_are_shown_to_the_minute(login: Login) -> None:
    client = login("admin")
    page = client.get("/audit").text
    shown = re.findall(r"<time [^>]*>([^<]+)</time>", page)
    assert shown and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", t) for t in shown)


def test_units_and_codes_are_not_capitalised_and_pages_print() -> None:
    css = (STATIC / "style.css").read_text()
    assert "text-transform: capitalize" not in css
    assert "@media print" in css


def test_flash_texts_are_fixed(login: Login) -> None:
    client = login("clin_a")
    assert "Infusion saved." in client.get("/patients/A-001?saved=administrations").text
    page = client.get("/patients/A-001", params={"saved": "<script>x</script>"}).text
    assert 'id="flash"' not in page


def test_patient_ids_are_url_encoded_in_links(login: Login) -> None:
    client = login("admin")
    odd = {"patient_id": "A 9?x", "site": "A", "sex": "M", "birth_date": "2015-01-01"}
    assert client.post("/api/patients", json=odd).status_code == 201
    page = client.get("/patients").text
    assert 'href="/patients/A%209%3Fx"' in page
    record = client.get("/patients/A%209%3Fx").text
    assert 'href="/patients/A%209%3Fx/visits/new"' in record


def test_chaq_items_are_labelled_with_their_question(login: Login) -> None:
    page = login("clin_a").get("/patients/A-001/visits/new").text
    assert '<label for="chaq-dressing_2">Shampoo your hair?</label>' in page
    assert "dressing 1" not in page
