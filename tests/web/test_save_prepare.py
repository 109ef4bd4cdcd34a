"""A web save prepared before the writer lock answers as if it had taken the lock first: a
second user's save (another app over the same registry, a real request) made between the
first save's preparation and its lock gives the first a 409 (stale version, or a visit on
a stored date), and nothing of the first is written (`jiareg.services.records_prepare`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, Login

from jiareg.services import records_prepare

STORED = "2019-07-27"
VISITS = "/api/patients/A-001/visits"


@pytest.fixture
def second(app_factory: Callable[..., TestClient]) -> Iterator[TestClient]:
    """Another app (as another worker would be) over the same registry, logged in as dm_a."""
    with app_factory() as other:
        response = other.post("/api/login", json={"username": "dm_a", "password": PASSWORD})
        other.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        yield other
    records_prepare.HOOKS.clear()


def _between(action: Callable[[], Any]) -> list[Any]:
    """Run `action` once between the next save's preparation and its lock; its result."""
    done: list[Any] = []

    def hook(event: str) -> None:
        if event == "prepared" and not done:
            records_prepare.HOOKS.remove(hook)
            done.append(action())

    records_prepare.HOOKS.append(hook)
    return done


def _visit(client: TestClient, on: str) -> dict[str, Any] | None:
    visits = client.get("/api/patients/A-001").json()["visits"]
    return next((v for v in visits if v["visit_date"] == on), None)


def test_a_put_overtaken_between_preparation_and_lock_is_409(
    login: Login, second: TestClient
) -> None:
    client = login("clin_a")
    version = _visit(client, STORED)["version"]  # type: ignore[index]
    theirs = {"visit": {"esr": "30"}, "reason": "their lab", "version": version}
    done = _between(lambda: second.put(f"{VISITS}/{STORED}", json=theirs).status_code)
    mine = {"visit": {"esr": "25"}, "reason": "my lab", "version": version}
    response = client.put(f"{VISITS}/{STORED}", json=mine)
    assert done == [200]
    assert response.status_code == 409, response.text
    assert response.json()["detail"]["current"]["esr"] == 30.0
    assert _visit(client, STORED)["esr"] == 30.0  # type: ignore[index]


def test_a_post_overtaken_by_a_visit_on_the_same_date_is_409(
    login: Login, second: TestClient
) -> None:
    client = login("clin_a")
    day = "2024-02-02"
    done = _between(
        lambda: second.post(VISITS, json={"visit": {"visit_date": day, "esr": "11"}}).status_code
    )
    response = client.post(VISITS, json={"visit": {"visit_date": day, "esr": "12"}})
    assert done == [201]
    assert response.status_code == 409, response.text
    assert _visit(client, day)["esr"] == 11.0  # type: ignore[index]
