"""The web app in a real browser: Debian's chromium driven by Playwright, against a real
`jiareg serve` (uvicorn) on a free loopback port. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.conftest import PASSWORD, build_registry

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jiareg serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `jiareg serve` over a fresh copy of the test registry; yields its base URL."""
    db = tmp_path_factory.mktemp("browser") / "registry.db"
    url = build_registry(f"sqlite:///{db}")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "jiareg", "serve", "--db", url, "--port", str(port)],
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/login", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # the shared CI machine can be slow
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser: object) -> object:
    context = browser.new_context(viewport={"width": 1360, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(60_000)
    return context.new_page()


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _wait_image(page: object, selector: str, timeout: float = 30) -> None:
    """Wait until an <img> has loaded (no wait_for_function: the CSP forbids eval)."""
    image = page.locator(selector)  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while not image.evaluate("img => img.complete && img.naturalWidth > 0"):
        assert time.monotonic() < deadline, f"{selector} did not load"
        time.sleep(0.1)


def _log_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/patients")  # type: ignore[attr-defined]


def test_enter_a_visit_with_live_scores_and_see_it_on_the_timeline(
    server: str, browser: object
) -> None:
    from playwright.sync_api import expect

    page = _page(browser)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server}/login")
    _shot(page, "login")
    _log_in(page, server, "clin_a")
    expect(page.locator("#patients tbody tr")).to_have_count(2)  # site A only
    _shot(page, "patients")

    page.get_by_role("link", name="A-001").click()
    expect(page.locator("#patient-id")).to_have_text("A-001")
    expect(page.locator("#visits tbody tr")).to_have_count(3)
    _wait_image(page, "#timeline")
    _shot(page, "timeline")

    page.get_by_role("link", name="New visit").click()
    page.get_by_label("Date", exact=True).fill("2019-10-20")
    page.get_by_label("Weight (kg)").fill("21.5")
    page.get_by_label("Physician global", exact=True).fill("2")
    page.get_by_label("Parent/patient global", exact=True).fill("1")
    page.get_by_label("ESR (mm/h)").fill("30")
    # A-001 has sJIA: a state needs the systemic features assessed (SPEC R-JADAS-2)
    for feature in (
        "fever",
        "rash",
        "serositis",
        "hepatomegaly",
        "splenomegaly",
        "lymphadenopathy",
    ):
        page.locator(f"#{feature}").select_option("no")
    page.locator('circle[data-joint="knee"][data-side="left"]').click()  # active
    page.locator('circle[data-joint="wrist"][data-side="right"]').click()
    page.locator('circle[data-joint="wrist"][data-side="right"]').click()  # limited
    expect(page.get_by_label("Active joints")).to_have_value("1")
    expect(page.get_by_label("Joints with limited motion")).to_have_value("1")
    # JADAS10 = 2 + 1 + 1 + (30 - 20) / 10 = 5
    expect(page.locator("#score-jadas10")).to_have_text("5")
    expect(page.locator("#score-cjadas10")).to_have_text("4")
    page.get_by_label("Physician global", exact=True).fill("4.5")  # typing changes the live score
    expect(page.locator("#score-jadas10")).to_have_text("7.5")
    expect(page.locator("#score-state")).to_have_text("MDA")  # cJADAS10 6.5, poly course
    expect(page.locator("#score-acr")).to_contain_text("tocilizumab, baseline 2019-06-25")
    page.get_by_label("dressing 1").select_option("1")
    expect(page.locator("#score-chaq")).to_have_text("—")  # one domain < 6 required
    _shot(page, "visit")

    page.get_by_role("button", name="Save visit").click()
    page.wait_for_url(f"{server}/patients/A-001")
    expect(page.locator("#visits tbody tr").first).to_contain_text("2019-10-20")
    expect(page.locator("#visits tbody tr").first).to_contain_text("7.5")
    svg = page.request.get(f"{server}/patients/A-001/timeline.svg").text()
    assert 'id="jadas10-2019-10-20"' in svg  # the new visit is a point on the plot
    _wait_image(page, "#timeline")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server}/login")
    page.goto(f"{server}/patients/A-001")
    page.wait_for_url(f"{server}/login?next=/patients/A-001")
    assert errors == [], errors  # no CSP violations or script errors


def test_admin_pages_render(server: str, browser: object) -> None:
    from playwright.sync_api import expect

    page = _page(browser)
    _log_in(page, server, "admin")
    expect(page.locator("#patients tbody tr")).to_have_count(3)
    page.goto(f"{server}/dashboard")
    expect(page.locator("#kpi-patients")).to_have_text("3")
    _shot(page, "dashboard")
    page.goto(f"{server}/dose?drug=tocilizumab&weight=29.9&category=systemic&route=iv")
    expect(page.locator("#dose-result")).to_contain_text("358.8")
    expect(page.locator("#dose-result")).to_contain_text("WEIGHT_BAND_BOUNDARY")
    _shot(page, "dose")
    page.goto(f"{server}/audit")
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    _shot(page, "audit")
