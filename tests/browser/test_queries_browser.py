"""Data-quality queries in a real browser (issue #13): a data manager opens a query on a
stored value, the site's clinician answers it, the data manager closes it; the missing-visit
report. axe-core: no serious or critical WCAG 2.1 A/AA violation on the new pages.
Screenshots go to test-artifacts/ (docs/img/queries.png is a copy)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import NewPage, accessibility_problems, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one chromium


def test_open_answer_close_a_query(server: str, new_page: NewPage) -> None:
    from playwright.sync_api import expect

    problems: list[str] = []

    def check(page: Any, name: str) -> None:
        problems.extend(accessibility_problems(page))
        shot(page, name)

    reviewer: Any = new_page(axe=True)
    log_in(reviewer, server, "dm_a")
    reviewer.goto(f"{server}/patients/A-001/visits/2019-07-27")
    reviewer.locator("#visit-queries-link").click()
    reviewer.wait_for_url("**/visits/2019-07-27/queries")  # axe must not run mid-navigation
    check(reviewer, "queries-visit")
    reviewer.locator("#open-esr").locator("xpath=..").locator("summary").click()
    reviewer.get_by_label("Query on esr", exact=True).fill(
        "ESR fell from 60 to 20 in a month: please confirm"
    )
    reviewer.locator("#open-esr").get_by_role("button", name="Open").click()
    expect(reviewer.locator("#query-status")).to_have_text("open")
    expect(reviewer.locator("#query-value")).to_have_text("20")
    check(reviewer, "query-open")
    where = reviewer.url

    site: Any = new_page(axe=True)
    log_in(site, server, "clin_a")
    site.get_by_role("link", name="Queries").click()
    expect(site.locator("#count-open")).to_have_text("1")
    check(site, "queries")
    site.get_by_role("link", name="ESR fell from 60 to 20 in a month: please confirm").click()
    site.get_by_label("Answer").fill("Confirmed with the laboratory report.")
    site.get_by_role("button", name="Send answer").click()
    expect(site.locator("#query-status")).to_have_text("answered")
    expect(site.locator("#close-form")).to_have_count(0)  # a clinician does not close

    reviewer.goto(where)
    expect(reviewer.locator("#query-answer")).to_contain_text("Confirmed with the laboratory")
    reviewer.get_by_role("button", name="Close query").click()
    expect(reviewer.locator("#query-status")).to_have_text("closed")
    check(reviewer, "query-closed")
    reviewer.goto(f"{server}/queries")
    expect(reviewer.locator("#count-closed")).to_have_text("1")
    check(reviewer, "queries-closed")

    reviewer.goto(f"{server}/reports/missing")
    reviewer.get_by_label("Protocol").select_option("tocilizumab-after-anti-tnf.yaml")
    reviewer.get_by_role("button", name="Show").click()
    expect(reviewer.locator("#missing")).to_be_visible()
    check(reviewer, "missing-report")
    assert problems == []
