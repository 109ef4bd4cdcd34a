"""Fixtures and helpers of the browser tests: the web app under uvicorn (as `jiareg serve`
runs it) on a free loopback port over a fresh copy of the test registry, Debian's chromium
driven by Playwright, screenshots in test-artifacts/, and axe-core (tests/browser/vendor/) for
accessibility.

Costs are shared the Playwright way: one chromium for the session and a fresh browser context
per page (`new_page`, closed after the test); one server per module, in a thread of the test
process (a `jiareg serve` process cost about 3 s of CPU to start; the process itself, killed
and restarted, is tested in tests/integration/test_faults.py); the registry is built once and
copied for each module."""

from __future__ import annotations

import shutil
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import PASSWORD, build_registry

from jiareg.web.app import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test registry (tests/web/conftest.py), built once; each server gets a copy."""
    path = tmp_path_factory.mktemp("browser-registry") / "template.db"
    build_registry(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="module")
def server(browser_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web app under uvicorn over a fresh copy of the test registry; yields its base URL.

    The socket listens before uvicorn starts, so the first request waits in its backlog:
    no polling for readiness."""
    import uvicorn

    db = tmp_path_factory.mktemp("browser") / "registry.db"
    shutil.copy(browser_registry, db)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    config = uvicorn.Config(
        create_app(f"sqlite:///{db}"),
        log_level="warning",
        proxy_headers=False,  # as `jiareg serve`: the app reads X-Forwarded-For itself
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [listener]})
    thread.start()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with urllib.request.urlopen(f"{base}/login", timeout=60) as response:
            assert response.status == 200
        yield base
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=30)
        listener.close()
        assert not thread.is_alive(), "the server did not stop"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One chromium for the session; tests open pages in fresh contexts (`new_page`)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # the shared CI machine can be slow
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


NewPage = Callable[..., Any]


@pytest.fixture()
def new_page(browser: Any) -> Iterator[NewPage]:
    """`new_page(axe=False)`: a page in a fresh browser context (no cookies or storage of
    another test), closed after the test."""
    contexts: list[Any] = []

    def make(*, axe: bool = False) -> Any:
        context = browser.new_context(viewport={"width": 1360, "height": 900}, bypass_csp=axe)
        context.set_default_timeout(60_000)
        if axe:  # in every document from the start: sent to chromium once, not per check
            context.add_init_script(path=AXE)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)


def wait_image(page: Any, selector: str) -> None:
    """Wait until an <img> has loaded and decoded (its `decode()` promise; no polling, and
    no wait_for_function: the CSP forbids eval); a broken image fails."""
    width = page.locator(selector).evaluate("img => img.decode().then(() => img.naturalWidth)")
    assert width > 0, f"{selector} did not load"


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/patients")


AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page, one line each.

    The page must come from `new_page(axe=True)`: its context loads axe into every document
    and bypasses the CSP, which would refuse axe's script. The caller waits for the page it
    means (a click that navigates returns before the new document exists); the load state
    is awaited here so that axe sees a whole document."""
    page.wait_for_load_state("load")
    found = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']}))"  # details for violations only: all are reported
        ".violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '))",
        WCAG_AA,
    )
    return [f"{page.url}: {line}" for line in found]
