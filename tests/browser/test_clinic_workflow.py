"""A research nurse's day in a real browser (issue #13): add a patient, a course, infusions
(the dose warning is seen), a visit with joints; a refused save keeps the joints; correct it;
edit a stored visit with a reason. axe-core checks every page: no serious or critical WCAG 2.1
A/AA violation. Screenshots go to test-artifacts/ (the ones in docs/img/ are copies)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import NewPage, accessibility_problems, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one chromium


def _check(page: Any, problems: list[str], name: str) -> None:
    problems.extend(accessibility_problems(page))
    shot(page, name)


def test_a_nurse_enters_and_corrects_every_record_without_losing_data(
    server: str, new_page: NewPage
) -> None:
    from playwright.sync_api import expect

    page: Any = new_page(axe=True)
    errors: list[str] = []
    refused = ("status of 409", "status of 422")  # the refused saves this walk makes on purpose
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not any(r in m.text for r in refused)
            else None
        ),
    )
    problems: list[str] = []
    page.goto(f"{server}/login")
    _check(page, problems, "login")
    log_in(page, server, "clin_a")
    _check(page, problems, "patients")

    page.get_by_role("link", name="Add patient").click()
    page.get_by_label("Patient id").fill("A-010")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Birth date").fill("2014-05-06")
    page.get_by_label("Ilar category").select_option("systemic")
    _check(page, problems, "new-patient")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#flash")).to_have_text("Patient saved.")
    expect(page.locator("#patient-id")).to_have_text("A-010")

    page.locator("#add-treatments").click()
    page.get_by_label("Drug").fill("tocilizumab")
    page.get_by_label("Route").select_option("iv")
    page.get_by_label("Start date").fill("2024-01-10")
    _check(page, problems, "new-course")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#flash")).to_have_text("Biologic course saved.")

    page.locator("#add-administrations").click()
    page.get_by_label("Drug").fill("tocilizumab")
    page.locator("#date").fill("2024-01-10")
    page.get_by_label("Weight (kg)").fill("20")
    page.get_by_label("Dose (mg)").fill("400")  # the sJIA label dose is 12 mg/kg = 240 mg
    expect(page.locator("#dose-check")).to_contain_text("label dose 240 mg")
    expect(page.locator("#dose-check")).to_contain_text("warning")
    _check(page, problems, "new-infusion")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#flash")).to_contain_text("saved, with warnings")
    expect(page.locator("#warnings")).to_contain_text("off the label dose")
    _check(page, problems, "infusion-warning")

    page.get_by_role("link", name="New visit").click()
    page.get_by_label("Date", exact=True).fill("2024-01-10")
    page.get_by_label("Physician global", exact=True).fill("4")
    page.get_by_label("Parent/patient global", exact=True).fill("3")
    page.get_by_label("ESR (mm/h)").fill("250")  # above the 0-200 range: refused
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
    page.locator("#chaq-dressing_1").select_option("2")
    expect(page.get_by_label("Active joints")).to_have_value("1")
    _check(page, problems, "visit")
    page.get_by_role("button", name="Save visit").click()

    expect(page.locator("#problems")).to_contain_text("Nothing was saved")
    expect(page.locator("#esr-note .field-error")).to_be_visible()
    expect(page.get_by_label("ESR (mm/h)")).to_have_value("250")
    knee = page.locator('circle[data-joint="knee"][data-side="left"]')
    expect(knee).to_have_class("joint active")  # the joints survive the refused save
    wrist = page.locator('circle[data-joint="wrist"][data-side="right"]')
    expect(wrist).to_have_class("joint limited")
    expect(page.locator("#joint-counts")).to_contain_text("1 active, 1 limited")
    expect(page.locator("#chaq-dressing_1")).to_have_value("2")
    _check(page, problems, "visit-refused")

    page.get_by_label("ESR (mm/h)").fill("30")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    page.get_by_role("link", name="Cancel").click()  # unsaved typing: the browser asks first
    expect(page.get_by_label("ESR (mm/h)")).to_have_value("30")
    assert asked == ["beforeunload"]
    page.get_by_role("button", name="Save visit").click()
    expect(page.locator("#flash")).to_have_text("Visit of 2024-01-10 saved.")
    record = page.request.get(f"{server}/api/patients/A-010").json()
    assert {(j["joint"], j["side"]) for j in record["joint_exams"]} == {
        ("knee", "left"),
        ("wrist", "right"),
    }
    _check(page, problems, "patient")

    # a new visit on the same date opens the stored one instead of overwriting it
    page.get_by_role("link", name="New visit").click()
    date_field = page.get_by_label("Date", exact=True)
    date_field.fill("2024-01-10")
    date_field.dispatch_event("change")
    expect(page.locator("#date-exists")).to_be_visible()
    page.get_by_label("ESR (mm/h)").fill("99")
    page.get_by_role("button", name="Save visit").click()
    expect(page.locator("#existing-visit")).to_contain_text("already stored")
    expect(page.get_by_label("ESR (mm/h)")).to_have_value("30")
    _check(page, problems, "visit-exists")

    page.goto(f"{server}/patients/A-010")
    page.locator("#visits tbody tr").first.click()  # the row opens the visit
    expect(page.locator("h1")).to_contain_text("Visit of 2024-01-10")
    expect(knee).to_have_class("joint active")
    page.get_by_label("ESR (mm/h)").fill("35")
    page.get_by_label("Reason for the change").fill("lab report corrected")
    _check(page, problems, "visit-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#flash")).to_have_text("Visit of 2024-01-10 saved.")
    expect(page.locator("#visits tbody tr").first).to_contain_text("35")

    admin: Any = new_page(axe=True)
    log_in(admin, server, "admin")
    for path, name in [
        ("/dashboard", "dashboard"),
        ("/dose?drug=tocilizumab&weight=29.9&category=systemic&route=iv", "dose"),
        ("/audit?patient_id=A-010", "audit"),
        ("/study", "study"),
        ("/import", "import"),
        ("/patients/A-001/records/steroids/delete/prednisolone/2019-08-01", "confirm-delete"),
        ("/patients/A-001/edit", "edit-patient"),
        ("/patients/NOPE", "not-found"),
    ]:
        admin.goto(f"{server}{path}")
        _check(admin, problems, name)
    admin.goto(f"{server}/audit?patient_id=A-010")
    audit = admin.locator("#audit").inner_text()
    assert "lab report corrected" in audit
    assert problems == [], "\n".join(problems)
    assert errors == [], errors
