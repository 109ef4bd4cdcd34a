"""Property-based API testing with schemathesis: every operation of /api/openapi.json, with
generated (often nonsensical) inputs, sent as a logged-in admin; no input may cause a 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from tests.support.examples import examples
from tests.web.conftest import PASSWORD

from jiareg.web.app import create_app

MAX_EXAMPLES = examples(15)  # per operation (`make test-fast`: 5, tests/support/examples.py)

# The schema document only: no database is touched to produce it.
schema = schemathesis.openapi.from_dict(create_app("sqlite://").openapi())


def _log_in(client: TestClient) -> None:
    login = client.post("/api/login", json={"username": "admin", "password": PASSWORD})
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]


@pytest.fixture()
def admin(app_factory: Callable[..., TestClient]) -> Iterator[TestClient]:
    """An admin client; generated log-in attempts must not lock the admin out."""
    with app_factory(max_login_failures=10**9) as client:
        _log_in(client)
        yield client


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.slow
def test_no_input_causes_a_server_error(case: Any, admin: TestClient) -> None:
    if "X-CSRF-Token" not in admin.headers:
        _log_in(admin)
    kwargs = case.as_transport_kwargs(base_url=str(admin.base_url))
    kwargs["headers"] = {**kwargs.get("headers", {}), **admin.headers}
    response = admin.request(**kwargs)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if case.path in ("/api/logout", "/api/login") and response.status_code < 300:
        admin.headers.pop("X-CSRF-Token", None)  # the session changed: log in again
