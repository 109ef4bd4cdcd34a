"""The web app in a real browser: Debian's chromium driven by Playwright, against the app
under uvicorn on a free loopback port (tests/browser/conftest.py). Screenshots go to
test-artifacts/."""

from __future__ import annotations

import pytest
from tests.browser.conftest import NewPage, log_in, shot, wait_image

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one chromium


def test_enter_a_visit_with_live_scores_and_see_it_on_the_timeline(
    server: str, new_page: NewPage
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server}/login")
    shot(page, "login")
    log_in(page, server, "clin_a")
    expect(page.locator("#patients tbody tr")).to_have_count(2)  # site A only
    shot(page, "patients")

    page.get_by_role("link", name="A-001").click()
    expect(page.locator("#patient-id")).to_have_text("A-001")
    expect(page.locator("#visits tbody tr")).to_have_count(3)
    wait_image(page, "#timeline")
    shot(page, "timeline")

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
    page.locator("#chaq-dressing_1").select_option("1")
    expect(page.locator("#score-chaq")).to_have_text("—")  # one domain < 6 required
    shot(page, "visit")

    page.get_by_role("button", name="Save visit").click()
    page.wait_for_url(f"{server}/patients/A-001?saved=visit&date=2019-10-20")
    expect(page.locator("#visits tbody tr").first).to_contain_text("2019-10-20")
    expect(page.locator("#visits tbody tr").first).to_contain_text("7.5")
    svg = page.request.get(f"{server}/patients/A-001/timeline.svg").text()
    assert 'id="jadas10-2019-10-20"' in svg  # the new visit is a point on the plot
    wait_image(page, "#timeline")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server}/login")
    page.goto(f"{server}/patients/A-001")
    page.wait_for_url(f"{server}/login?next=/patients/A-001")
    assert errors == [], errors  # no CSP violations or script errors


def test_admin_pages_render(server: str, new_page: NewPage) -> None:
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, server, "admin")
    expect(page.locator("#patients tbody tr")).to_have_count(3)
    page.goto(f"{server}/dashboard")
    expect(page.locator("#kpi-patients")).to_have_text("3")
    shot(page, "dashboard")
    page.goto(f"{server}/dose?drug=tocilizumab&weight=29.9&category=systemic&route=iv")
    expect(page.locator("#dose-result")).to_contain_text("358.8")
    expect(page.locator("#dose-result")).to_contain_text("WEIGHT_BAND_BOUNDARY")
    shot(page, "dose")
    page.goto(f"{server}/audit")
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    shot(page, "audit")
