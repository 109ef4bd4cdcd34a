"""Browser import (all-or-nothing, problems in a table) and the study runner, over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import DATA, PASSWORD, Login

from jiareg.formats.fhir.write import write_fhir
from jiareg.formats.redcap.write import write_redcap
from jiareg.ingest import read_template
from jiareg.study.deidentify import researcher_view
from jiareg.web.app import create_app

NEW_PATIENT = (
    "patient_id,site,sex,birth_date,ilar_category,onset_date\n"
    "A-003,A,M,2013-01-02,psoriatic,2019-01-01\n"
)
VISIT_HEADER = (DATA / "visits.csv").read_text(encoding="utf-8").splitlines()[0]


def _token(client: TestClient, path: str) -> str:
    return client.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]


def _upload(client: TestClient, files: dict[str, str], fmt: str = "template") -> Any:
    token = _token(client, "/import")
    return client.post(
        "/import",
        data={"csrf_token": token, "format": fmt},
        files=[("files", (name, text.encode(), "text/plain")) for name, text in files.items()],
    )


def test_data_manager_imports_through_the_browser(login: Login) -> None:
    client = login("dm_a")
    visit = f"{VISIT_HEADER}\nA-003,2020-02-02,30,130,1,0-10,1,0-10,0.5,1,1,12,,,,,,,no,\n"
    response = _upload(client, {"patients.csv": NEW_PATIENT, "visits.csv": visit})
    assert response.status_code == 200, response.text
    assert 'id="import-summary"' in response.text
    assert [r["patient_id"] for r in client.get("/api/patients").json()][-1] == "A-003"
    client.post("/api/logout")
    trail = login("admin").get("/api/audit", params={"patient_id": "A-003"}).json()
    assert {e["username"] for e in trail} == {"dm_a"}
    assert trail[0]["reason"].startswith("web import by dm_a")


def test_bad_import_shows_every_problem_and_writes_nothing(login: Login) -> None:
    client = login("dm_a")
    bad_visits = (
        f"{VISIT_HEADER}\n"
        "A-003,2020-02-02,30,130,11,0-10,1,0-10,0.5,1,1,high,,,,,,,no,\n"
        "A-003,2020-13-45,30,130,1,0-10,1,0-10,0.5,80,1,12,,,,,,,no,\n"
    )
    response = _upload(client, {"patients.csv": NEW_PATIENT, "visits.csv": bad_visits})
    assert response.status_code == 422
    table = response.text.split('id="import-errors"')[1]
    for column in ("phys_global", "esr", "visit_date", "active_joints"):
        assert f"<td>{column}</td>" in table
    assert "nothing was imported" in table
    assert "A-003" not in client.get("/api/patients").text


@pytest.mark.parametrize(("fmt", "name"), [("redcap", "export.csv"), ("fhir", "bundle.json")])
def test_redcap_and_fhir_files_import_through_the_browser(
    login: Login, tmp_path: Path, fmt: str, name: str
) -> None:
    folder = tmp_path / "template"
    folder.mkdir()
    (folder / "patients.csv").write_text(NEW_PATIENT, encoding="utf-8")
    (folder / "visits.csv").write_text(
        f"{VISIT_HEADER}\nA-003,2020-02-02,30,130,1,0-10,1,0-10,0.5,1,1,12,,,,,,,no,\n",
        encoding="utf-8",
    )
    writer = write_redcap if fmt == "redcap" else write_fhir
    text = writer(read_template(folder), tmp_path / name).read_text(encoding="utf-8")
    client = login("dm_a")
    response = _upload(client, {name: text}, fmt)
    assert response.status_code == 200, response.text
    assert "A-003" in client.get("/api/patients").text
    wrong = _upload(client, {"visits.csv": VISIT_HEADER}, "fhir")
    assert wrong.status_code == 422
    assert "visits.csv: a fhir import is one .json or .ndjson file" in wrong.text


def test_import_refuses_other_files_and_other_sites(login: Login) -> None:
    client = login("dm_a")
    assert _upload(client, {"evil.sh": "rm -rf /"}).status_code == 422
    other_site = NEW_PATIENT.replace("A-003,A,", "B-009,B,")
    response = _upload(client, {"patients.csv": other_site})
    assert response.status_code == 403
    assert "B-009" not in login("admin").get("/api/patients").text


@pytest.mark.parametrize("user", ["clin_a", "clin_b", "res"])
def test_only_data_managers_and_admins_import(login: Login, user: str) -> None:
    client = login(user)
    assert client.get("/import").status_code == 403
    assert 'href="/import"' not in client.get("/patients").text


@pytest.mark.parametrize("user", ["dm_a", "clin_a"])
def test_site_roles_may_not_run_studies(login: Login, user: str) -> None:
    assert login(user).get("/study").status_code == 403


def _login_to(client: TestClient, username: str) -> TestClient:
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


@pytest.mark.pdf  # the run writes report.pdf with WeasyPrint
def test_a_study_runs_in_the_background_serves_its_report_and_survives_a_restart(
    db_url: str, tmp_path: Path, study_finished: Callable[[], None]
) -> None:
    runs = tmp_path / "runs"
    with _login_to(TestClient(create_app(db_url, runs_dir=runs)), "res") as first:
        assert "tocilizumab-after-anti-tnf.yaml" in first.get("/study").text
        started = first.post(
            "/study",
            data={
                "csrf_token": _token(first, "/study"),
                "protocol": "tocilizumab-after-anti-tnf.yaml",
            },
            follow_redirects=False,
        )
        assert started.status_code == 303
        job = started.headers["location"]
        study_finished()
        text = first.get(job).text
        # the test registry's one tocilizumab-after-anti-TNF patient makes the cohort
        assert 'id="study-done"' in text and 'id="study-error"' not in text
        report = first.get(f"{job}/report.html")
        assert report.status_code == 200 and "<html" in report.text.lower()
        assert report.headers["x-frame-options"] == "SAMEORIGIN"
        assert first.get(f"{job}/results.json").json()["n"] == "<5"  # a small cell, to "res"
        assert first.get(f"{job}/../../etc/passwd").status_code == 404
        assert first.get(f"{job}/secret.txt").status_code == 404
    run_id = job.rsplit("/", 1)[1]
    saved = json.loads((runs / run_id / "run.json").read_text(encoding="utf-8"))
    assert saved["done"] and saved["protocol"] == "tocilizumab-after-anti-tnf.yaml"
    # an unfinished run left by a server that stopped
    stale = runs / "20200101T000000-abcdef"
    stale.mkdir()
    (stale / "run.json").write_text(
        json.dumps({"protocol": "x.yaml", "started": "2020-01-01T00:00:00+00:00", "steps": []}),
        encoding="utf-8",
    )

    with _login_to(TestClient(create_app(db_url, runs_dir=runs)), "res") as second:
        listing = second.get("/study").text
        assert listing.index(run_id) < listing.index(stale.name)  # newest first
        after = second.get(job).text
        assert 'id="study-done"' in after and 'id="study-error"' not in after
        assert saved["steps"] and all(step in after for step in saved["steps"])
        results = second.get(f"{job}/results.json")
        stored = json.loads((runs / run_id / "results.json").read_bytes())
        assert results.json() == researcher_view(stored)  # small cells suppressed for "res"
        assert second.get(f"{job}/report.pdf").content[:4] == b"%PDF"
        interrupted = second.get(f"/study/{stale.name}").text
        assert 'id="study-error"' in interrupted and "interrupted" in interrupted
    assert json.loads((stale / "run.json").read_text(encoding="utf-8"))["done"] is True
