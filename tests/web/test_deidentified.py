"""A researcher never sees a birth date, nor a registry id when pseudonyms are configured, on
any page or API route (issue 6: "no names, no exact dates of birth, pseudonymous ids where
configured").

Chosen scope: visit, course, infusion and onset dates stay real in the web app (the issue
asks only for birth dates and ids; date shifting belongs to `jiareg export --deidentify`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from tests.web.conftest import DATA, PASSWORD

from jiareg.store.queries import pseudonym

KEY = "site secret"
with (DATA / "patients.csv").open(encoding="utf-8", newline="") as _f:
    PATIENTS = list(csv.DictReader(_f))
REAL_IDS = [p["patient_id"] for p in PATIENTS]
BIRTH_DATES = [p["birth_date"] for p in PATIENTS]
RUN = "20250101T000000-abcdef"


def _finished_run(runs: Path) -> None:
    """A finished study run whose results name responders by registry id (as run_study does)."""
    folder = runs / RUN
    folder.mkdir(parents=True)
    state = {"protocol": "p.yaml", "started": "2025-01-01T00:00:00+00:00", "steps": ["x"]}
    (folder / "run.json").write_text(json.dumps({**state, "done": True}), encoding="utf-8")
    results = {"n": 2, "endpoints": {"acr_pedi_30": {"responder_ids": ["A-001", "B-001"]}}}
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (folder / "report.html").write_text("<html>3 patients</html>", encoding="utf-8")


def _logged_in(client: TestClient, username: str) -> TestClient:
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def test_no_route_shows_a_researcher_a_birth_date_or_a_registry_id(
    app_factory: Callable[..., TestClient], tmp_path: Path
) -> None:
    _finished_run(tmp_path / "runs")
    with app_factory(pseudonym_key=KEY, runs_dir=tmp_path / "runs") as client:
        c = _logged_in(client, "res")
        shown = [pseudonym(pid, KEY.encode()) for pid in REAL_IDS]
        bodies = {
            "/api/patients": c.get("/api/patients"),
            "/api/patients?limit=1": c.get("/api/patients?limit=1"),
            "/patients": c.get("/patients"),
            "/dashboard": c.get("/dashboard"),
            "/study": c.get("/study"),
            f"/study/{RUN}": c.get(f"/study/{RUN}"),
            f"/study/{RUN}/results.json": c.get(f"/study/{RUN}/results.json"),
            f"/study/{RUN}/report.html": c.get(f"/study/{RUN}/report.html"),
        }
        for public in shown:
            for path in (
                f"/api/patients/{public}",
                f"/patients/{public}",
                f"/patients/{public}/timeline.svg",
            ):
                bodies[path] = c.get(path)
            bodies[f"scores {public}"] = c.post("/api/scores", json={"patient_id": public})
        for where, response in bodies.items():
            assert response.status_code == 200, where
            for secret in (*REAL_IDS, *BIRTH_DATES):
                assert secret not in response.text, (where, secret)
        assert all(p in bodies["/api/patients"].text for p in shown)
        results = bodies[f"/study/{RUN}/results.json"].json()
        # in pseudonym order: the registry's order would map them back to ids (issue 12)
        assert results["endpoints"]["acr_pedi_30"]["responder_ids"] == sorted([shown[0], shown[2]])
        patient = bodies[f"/api/patients/{shown[0]}"].json()["patient"]
        assert "birth_date" not in patient and patient["birth_year"] == 2012

    with app_factory(pseudonym_key=KEY, runs_dir=tmp_path / "runs") as client:
        admin = _logged_in(client, "admin")  # identified roles get the registry's ids
        ids = admin.get(f"/study/{RUN}/results.json").json()
        assert ids["endpoints"]["acr_pedi_30"]["responder_ids"] == ["A-001", "B-001"]


def test_a_researchers_patient_list_is_in_pseudonym_order_not_registry_id_order(
    app_factory: Callable[..., TestClient],
) -> None:
    """Issue 12, finding 4: a list sorted by real id maps pseudonyms back to sequential ids."""
    shown = [pseudonym(pid, KEY.encode()) for pid in REAL_IDS]
    assert shown != sorted(shown)  # the key gives an order unlike the registry ids'
    with app_factory(pseudonym_key=KEY) as client:
        c = _logged_in(client, "res")
        listed = [row["patient_id"] for row in c.get("/api/patients").json()]
        assert listed == sorted(shown)
        paged = [
            c.get(f"/api/patients?limit=1&offset={i}").json()[0]["patient_id"] for i in (0, 1, 2)
        ]
        assert paged == sorted(shown)
        page = c.get("/patients").text
        assert [page.index(p) for p in sorted(shown)] == sorted(page.index(p) for p in shown)
    with app_factory(pseudonym_key=KEY) as client:  # identified roles: registry-id order
        listed = [
            row["patient_id"] for row in _logged_in(client, "admin").get("/api/patients").json()
        ]
        assert listed == sorted(REAL_IDS)


def test_a_researchers_results_json_suppresses_counts_below_five(
    app_factory: Callable[..., TestClient], tmp_path: Path
) -> None:
    """Issue 12, build item 5: small cells (< 5) suppressed in what researchers download."""
    _finished_run(tmp_path / "runs")
    results = {
        "n": 9,
        "categories": {"systemic": 7, "poly_rf_neg": 2},
        "sex": {"F": 9},
        "age_years": {"median": 10.5, "min": 4.73, "max": 16},  # (a run before whole years)
        "acr_pedi_30": {"responders": 3, "n": 9, "ci95": [0.07, 0.7]},
        "before_3": 2,  # output: count — its interval is in the details
        "adverse_events": 0,
        "endpoints": {
            "acr_pedi_30": {
                "kind": "acr_pedi",
                "headline": "/acr_pedi_30",
                "level": 30,
                "responder_ids": ["A-001"],
                "denominators": {
                    "follow_up": {
                        "cohort": 9,
                        "evaluable": 9,
                        "not_evaluable": {},
                    }
                },
            },
            "before_3": {
                "kind": "acr_pedi",
                "headline": "/before_3",
                "ci95": [0.03, 0.6],
                "denominators": {
                    "follow_up": {
                        "cohort": 9,
                        "evaluable": 6,
                        "not_evaluable": {"no_visit_before_administration_3": 3},
                    }
                },
            },
            "adverse_events": {"kind": "adverse_events", "by_term": {"rash": 2}},
            "chaq_over_0_5": {"kind": "chaq_over", "threshold": "0.5"},
        },
        "chaq_over_0_5": {"baseline": 6, "month_1": 1},
    }
    (tmp_path / "runs" / RUN / "results.json").write_text(json.dumps(results), encoding="utf-8")
    with app_factory(pseudonym_key=KEY, runs_dir=tmp_path / "runs") as client:
        got = _logged_in(client, "res").get(f"/study/{RUN}/results.json").json()
    assert got["n"] == 9 and got["sex"] == {"F": 9}
    assert got["categories"] == {"systemic": 7, "poly_rf_neg": "<5"}
    assert got["acr_pedi_30"] == {"responders": "<5", "n": 9, "ci95": None}
    details = got["endpoints"]["acr_pedi_30"]
    assert (details["level"], details["denominators"]["follow_up"]["evaluable"]) == (30, 9)
    # a count headline suppressed withholds the interval stored beside it in the details
    assert (got["before_3"], got["endpoints"]["before_3"]["ci95"]) == ("<5", None)
    counted = got["endpoints"]["before_3"]["denominators"]["follow_up"]
    assert counted == {
        "cohort": 9,
        "evaluable": 6,
        "not_evaluable": {"no_visit_before_administration_3": "<5"},
    }
    assert got["adverse_events"] == 0  # zero is no small cell
    assert got["age_years"] == {"median": 10, "min": 4, "max": 16}  # whole years, no "<5"
    assert got["chaq_over_0_5"] == {"baseline": 6, "month_1": "<5"}
    assert got["endpoints"]["adverse_events"]["by_term"] == {"rash": "<5"}
    with app_factory(pseudonym_key=KEY, runs_dir=tmp_path / "runs") as client:
        assert _logged_in(client, "admin").get(f"/study/{RUN}/results.json").json() == results
