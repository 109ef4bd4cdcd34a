"""Log-in, sessions, lock-out, CSRF and security headers, over HTTP (issue #6 §2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, Clock, Login

API_ROUTES = [
    ("GET", "/api/me"),
    ("GET", "/api/patients"),
    ("GET", "/api/patients/A-001"),
    ("GET", "/api/audit"),
    ("POST", "/api/scores"),
    ("POST", "/api/patients/A-001/visits"),
    ("POST", "/api/logout"),
]


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_anonymous_api_calls_get_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json() == {"detail": "log in first"}


def test_login_sets_a_hardened_session_cookie(client: TestClient) -> None:
    response = client.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "clin_a" and body["role"] == "clinician" and body["site"] == "A"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert client.get("/api/me").json()["username"] == "clin_a"


def test_cookie_is_secure_behind_tls(app_factory: Callable[..., TestClient]) -> None:
    with app_factory(https=True) as c:
        response = c.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        assert "Secure" in response.headers["set-cookie"]
        assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize(
    ("username", "password"), [("clin_a", "wrong password"), ("nobody", PASSWORD)]
)
def test_wrong_password_or_unknown_user_gets_401(
    client: TestClient, username: str, password: str
) -> None:
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}
    assert "set-cookie" not in response.headers
    assert client.get("/api/patients").status_code == 401


def test_repeated_failures_lock_the_username_even_with_the_right_password(
    app_factory: Callable[..., TestClient],
) -> None:
    with app_factory(max_login_failures=3, lockout_seconds=60) as c:
        for _ in range(3):
            r = c.post("/api/login", json={"username": "clin_a", "password": "nope nope"})
            assert r.status_code == 401
        r = c.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        assert r.status_code == 429
        assert 0 < int(r.headers["retry-after"]) <= 60
        # the HTML form is locked the same way
        page = c.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"username": "clin_a", "password": PASSWORD, "csrf_token": token}
        r = c.post("/login", data=form, follow_redirects=False)
        assert r.status_code == 429 and "too many failed log-ins" in r.text


def test_repeated_failures_from_one_address_lock_that_address(
    app_factory: Callable[..., TestClient],
) -> None:
    with app_factory(max_login_failures=3, lockout_seconds=60) as c:
        for name in ("u1", "u2", "u3"):  # three different usernames, one client address
            assert c.post("/api/login", json={"username": name, "password": "x"}).status_code == 401
        r = c.post("/api/login", json={"username": "clin_b", "password": PASSWORD})
        assert r.status_code == 429


def test_lockout_ends(app_factory: Callable[..., TestClient], clock: Clock) -> None:
    with app_factory(max_login_failures=2, lockout_seconds=60) as c:
        for _ in range(2):
            c.post("/api/login", json={"username": "clin_a", "password": "nope"})
        assert (
            c.post("/api/login", json={"username": "clin_a", "password": PASSWORD}).status_code
            == 429
        )
        clock.advance(59)
        assert (
            c.post("/api/login", json={"username": "clin_a", "password": PASSWORD}).status_code
            == 429
        )
        clock.advance(2)
        assert (
            c.post("/api/login", json={"username": "clin_a", "password": PASSWORD}).status_code
            == 200
        )


def test_logout_ends_the_session(client: TestClient, login: Login) -> None:
    login("clin_a")
    cookie = client.cookies.get("jiareg_session")
    assert client.post("/api/logout").status_code == 204
    assert client.get("/api/me").status_code == 401
    client.cookies.set("jiareg_session", cookie)  # replaying the old cookie does not help
    assert client.get("/api/patients").status_code == 401


def test_sessions_expire_when_idle(app_factory: Callable[..., TestClient], clock: Clock) -> None:
    with app_factory(session_idle_seconds=300) as c:
        c.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        assert c.get("/api/me").status_code == 200
        clock.advance(301)
        assert c.get("/api/me").status_code == 401


def test_sessions_have_an_absolute_lifetime(
    app_factory: Callable[..., TestClient], clock: Clock
) -> None:
    with app_factory(session_idle_seconds=300, session_absolute_seconds=720) as c:
        c.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        for _ in range(3):  # activity keeps the idle clock from running out ...
            assert c.get("/api/me").status_code == 200
            clock.advance(240)
        clock.advance(1)  # ... but not past the absolute limit (721 s in)
        assert c.get("/api/me").status_code == 401


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_unsafe_json_calls_need_the_csrf_token(
    client: TestClient, login: Login, token: str | None
) -> None:
    login("clin_a")
    headers = {"X-CSRF-Token": token} if token else {}
    del client.headers["X-CSRF-Token"]
    visit = {"visit": {"visit_date": "2020-01-01", "esr": "10"}}
    r = client.post("/api/patients/A-001/visits", json=visit, headers=headers)
    assert r.status_code == 403 and r.json() == {"detail": "missing or wrong CSRF token"}
    r = client.post("/api/scores", json={}, headers=headers)
    assert r.status_code == 403
    assert client.post("/api/logout", headers=headers).status_code == 403
    # nothing was written
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    dates = [v["visit_date"] for v in client.get("/api/patients/A-001").json()["visits"]]
    assert "2020-01-01" not in dates


def test_html_forms_need_the_csrf_token(client: TestClient, login: Login) -> None:
    login("clin_a")
    del client.headers["X-CSRF-Token"]
    r = client.post("/logout", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post(
        "/patients/A-001/visits/new", data={"visit_date": "2020-01-01"}, follow_redirects=False
    )
    assert r.status_code == 403
    page = client.get("/patients")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/api/me").status_code == 401


def test_login_form_needs_its_signed_token(client: TestClient) -> None:
    form = {"username": "clin_a", "password": PASSWORD, "csrf_token": "forged"}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 403
    page = client.get("/login")
    form["csrf_token"] = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/patients"


def test_login_never_redirects_off_site(client: TestClient) -> None:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {
        "username": "clin_a",
        "password": PASSWORD,
        "csrf_token": token,
        "next": "//evil.example/",
    }
    r = client.post("/login", data=form, follow_redirects=False)
    assert r.headers["location"] == "/patients"


@pytest.mark.parametrize("path", ["/login", "/api/openapi.json", "/static/app.js"])
def test_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(client: TestClient, login: Login) -> None:
    login("admin")
    for path in ("/patients", "/patients/A-001", "/patients/A-001/visits/new"):
        html = client.get(path).text
        assert "<script>" not in html and " style=" not in html and "onclick" not in html
        assert '<script src="/static/app.js" defer></script>' in html


def test_openapi_describes_the_api(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    for path in ("/api/login", "/api/patients", "/api/patients/{patient_id}", "/api/scores"):
        assert path in schema["paths"]
    assert not any(p.startswith("/patients") for p in schema["paths"])  # pages stay out
