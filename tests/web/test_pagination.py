"""Paging through the patient list: `limit`/`offset` on the JSON API, `page`/`size` on the page.

Without paging parameters `GET /api/patients` is still the whole list (INTERFACE.md).
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.web.conftest import Login


def _ids(rows: list[dict[str, object]]) -> list[object]:
    return [r["patient_id"] for r in rows]


def test_api_pages_through_the_list_with_total_and_links(login: Login) -> None:
    client = login("admin")
    whole = client.get("/api/patients")
    assert _ids(whole.json()) == ["A-001", "A-002", "B-001"]
    assert whole.headers["X-Total-Count"] == "3" and "Link" not in whole.headers

    first = client.get("/api/patients?limit=2")
    assert _ids(first.json()) == ["A-001", "A-002"]
    assert first.headers["X-Total-Count"] == "3"
    assert re.fullmatch(r'<[^>]*[?&]limit=2&offset=2>; rel="next"', first.headers["Link"])

    nxt = re.search(r"<([^>]*)>", first.headers["Link"])
    assert nxt is not None
    second = client.get(nxt[1])
    assert _ids(second.json()) == ["B-001"]
    assert second.headers["Link"].endswith('offset=0>; rel="prev"')
    assert 'rel="next"' not in second.headers["Link"]

    assert client.get("/api/patients?limit=2&offset=5").json() == []
    for bad in ("limit=0", "limit=1001", "offset=-1", "limit=x"):
        assert client.get(f"/api/patients?{bad}").status_code == 422, bad


def test_api_pages_only_what_the_role_may_see_and_combine_with_filters(login: Login) -> None:
    client = login("clin_a")
    page = client.get("/api/patients?limit=1&offset=1")
    assert _ids(page.json()) == ["A-002"] and page.headers["X-Total-Count"] == "2"
    filtered = client.get("/api/patients?site=B&limit=1")
    assert filtered.json() == [] and filtered.headers["X-Total-Count"] == "0"
    assert client.get("/api/patients?limit=1").headers["X-Total-Count"] == "2"


def test_anonymous_paging_is_401(client: TestClient) -> None:
    assert client.get("/api/patients?limit=1").status_code == 401


def test_patient_list_page_has_pages_that_keep_the_filters(login: Login) -> None:
    client = login("admin")
    first = client.get("/patients?size=2").text
    assert "A-001" in first and "A-002" in first and "B-001" not in first
    assert "3 patients · showing 1–2" in first and "page 1 of 2" in first
    nxt = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert nxt is not None and "page=2" in nxt[1] and "size=2" in nxt[1]
    second = client.get(nxt[1].replace("&amp;", "&")).text
    assert "B-001" in second and "A-001" not in second and 'rel="prev"' in second
    assert 'rel="next"' not in second
    beyond = client.get("/patients?size=2&page=9").text  # past the end: the last page
    assert "B-001" in beyond and "page 2 of 2" in beyond
    filtered = client.get("/patients?site=A&size=1&page=2").text
    assert "A-002" in filtered and "A-001" not in filtered and "2 patients" in filtered
    assert "site=A" in (re.search(r'<a href="([^"]+)" rel="prev">', filtered) or [""])[0]
    whole = client.get("/patients").text  # one page: no pager
    assert "B-001" in whole and "page 1 of" not in whole
    assert client.get("/patients?size=0").status_code == 422
