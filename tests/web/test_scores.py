"""Live scores over HTTP give the derive/ results: SPEC §11 worked examples, the homunculus
counts and ACR Pedi against the baseline of the current biologic course."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import Login

from jiareg.derive.chaq import CHAQ_DOMAINS
from jiareg.derive.joints import joint_set
from jiareg.web.homunculus import HEIGHT, WIDTH, joint_spots

VECTORS = Path(__file__).parents[1] / "vectors"
CATEGORY = {"oligo": "oligo_persistent", "poly": "poly_rf_neg"}
SYSTEMIC_FLAGS = ("fever", "rash", "serositis", "hepatomegaly", "splenomegaly", "lymphadenopathy")


def _rows(name: str) -> list[dict[str, str]]:
    with (VECTORS / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


JADAS_ROWS = [
    r
    for r in _rows("jadas.csv")
    if r["variant"] in ("JADAS10", "cJADAS10") and r["pga_scale"] == r["parent_scale"] == "0-10"
]
CHAQ_ROWS = [r for r in _rows("chaq.csv") if r["items"]]


@pytest.mark.parametrize("row", JADAS_ROWS, ids=[r["id"] for r in JADAS_ROWS])
def test_live_jadas_matches_the_spec_examples(login: Login, row: dict[str, str]) -> None:
    body: dict[str, Any] = {
        "category": CATEGORY[row["course"]],
        "phys_global": row["pga"],
        "parent_global": row["parent_global"],
        "active_joints": row["ajc_count"],
    }
    if row["marker_kind"] == "esr":
        body["esr"] = row["marker"]
    scores = login("clin_a").post("/api/scores", json=body).json()
    key = "jadas10" if row["variant"] == "JADAS10" else "cjadas10"
    if row["expected_score"] == "NA":  # a missing component: no score, no state
        assert scores[key] is None and scores[f"{key}_state"] is None
        return
    assert scores[key] == pytest.approx(float(row["expected_score"]), abs=1e-9)
    assert scores[f"{key}_state"] == row["state_consolaro"]


@pytest.mark.parametrize("row", CHAQ_ROWS, ids=[r["id"] for r in CHAQ_ROWS])
def test_live_chaq_from_items_matches_the_spec_examples(login: Login, row: dict[str, str]) -> None:
    items: dict[str, int | None] = {}
    for domain_items, scores in zip(CHAQ_DOMAINS.values(), row["items"].split("|"), strict=True):
        for item, score in zip(domain_items, scores.split(), strict=True):
            items[item] = None if score == "NA" else int(score)
    domains = list(CHAQ_DOMAINS)
    aids = (
        {}
        if row["aid"] == "none"
        else {domains[int(d.removeprefix("d")) - 1]: True for d in row["aid"].split(";")}
    )
    body = {"category": "poly_rf_neg", "chaq_items": items, "chaq_aids": aids}
    chaq = login("clin_a").post("/api/scores", json=body).json()["chaq"]
    expected = row["di_original"]
    if expected == "NA":
        assert chaq["di"] is None
    else:
        num, _, den = expected.partition("/")
        value = int(num) / int(den) if den else float(num)
        assert chaq["di"] == pytest.approx(round(value, 3), abs=1e-9)
        assert chaq["n_domains"] == int(row["n_domains"])


def test_acr_pedi_level_against_the_current_course_baseline(login: Login) -> None:
    # tocilizumab from 2019-07-01; baseline visit 2019-06-25 = (6, 5, 1.5, 8, 6, 60).
    # Follow-up (3, 3, 1, 3, 4, 20): improved 50 %, 40 %, 33 %, 62.5 %, 33 %, 67 % -> level 50.
    body = {
        "patient_id": "A-001",
        "visit_date": "2019-07-27",
        "phys_global": "3",
        "parent_global": "3",
        "chaq": "1",
        "active_joints": 3,
        "lom_joints": 4,
        "esr": "20",
    }
    acr = login("clin_a").post("/api/scores", json=body).json()["acr_pedi"]
    assert acr == {
        "drug": "tocilizumab",
        "first_dose": "2019-07-01",
        "baseline_date": "2019-06-25",
        "level": 50,
        "reason": None,
    }


def test_acr_pedi_needs_a_course_and_a_baseline(login: Login) -> None:
    client = login("clin_a")
    no_course = client.post("/api/scores", json={"patient_id": "A-002", "visit_date": "2019-06-01"})
    assert no_course.json()["acr_pedi"]["level"] is None
    assert "no biologic course" in no_course.json()["acr_pedi"]["reason"]


def test_values_out_of_range_are_problems_not_errors(login: Login) -> None:
    body = {
        "category": "poly_rf_neg",
        "phys_global": "11",
        "parent_global": "x",
        "active_joints": "2.5",
        "esr": "30",
    }
    response = login("clin_a").post("/api/scores", json=body)
    assert response.status_code == 200
    scores = response.json()
    assert {p["field"] for p in scores["problems"]} == {
        "phys_global",
        "parent_global",
        "active_joints",
    }
    assert scores["jadas10"] is None
    assert set(scores["jadas10_missing"]) == {"pga", "parent_global", "active_joints"}


def test_likert_global_makes_jadas_not_computable(login: Login) -> None:
    body = {
        "category": "poly_rf_neg",
        "phys_global": "2",
        "phys_global_scale": "0-3",
        "parent_global": "1",
        "active_joints": 0,
        "esr": "20",
    }
    scores = login("clin_a").post("/api/scores", json=body).json()
    assert scores["jadas10"] is None and scores["jadas10_reason"] == "global_on_likert_scale"


def test_likert_globals_are_the_reason_even_for_sjia_with_features_unassessed(
    login: Login,
) -> None:
    body = {
        "category": "systemic",
        "phys_global": "2",
        "phys_global_scale": "0-3",
        "parent_global": "1",
        "parent_global_scale": "0-3",
        "active_joints": 0,
        "esr": "20",
    }
    scores = login("clin_a").post("/api/scores", json=body).json()
    assert scores["cjadas10_state_reason"] == "global_on_likert_scale"
    assert scores["cjadas10_why"] == "globals on the 0–3 scale can't enter JADAS"


def test_homunculus_joints_fill_the_counts(login: Login) -> None:
    joints = [
        {"joint": "knee", "side": "left", "swollen": True},
        {
            "joint": "wrist",
            "side": "right",
            "swollen": False,
            "tender": False,
            "painful_motion": False,
            "limited_motion": True,
        },
        {"joint": "ankle", "side": "right", "swollen": True, "limited_motion": True},
    ]
    body = {
        "category": "poly_rf_neg",
        "phys_global": "1",
        "parent_global": "1",
        "active_joints": "9",
        "esr": "10",
        "joint_exams": joints,
    }
    scores = login("clin_a").post("/api/scores", json=body).json()
    assert scores["joint_counts_from_exam"] == {"active_joints": 2, "lom_joints": 2}
    assert scores["jadas10"] == 4  # 1 + 1 + 2 joints (the typed 9 is replaced) + 0


def test_systemic_features_suspend_the_activity_state(login: Login) -> None:
    body = {
        "category": "systemic",
        "phys_global": "1",
        "parent_global": "1",
        "active_joints": 0,
        "esr": "10",
        "fever": True,
    }
    scores = login("clin_a").post("/api/scores", json=body).json()
    assert scores["cjadas10"] == 2 and scores["cjadas10_state"] is None
    assert scores["cjadas10_state_reason"] == "systemic_features_present"
    assert scores["systemic_features_present"] is True


@pytest.mark.parametrize(
    ("category", "features", "state", "reason"),
    [
        # SPEC R-JADAS-2 via derive.jadas: sJIA with no feature recorded may have one active
        ("systemic", {}, None, "systemic_features_unknown"),
        ("systemic", dict.fromkeys(SYSTEMIC_FLAGS, False), "LDA", None),
        # features are "attributable to sJIA": another category keeps its state
        ("poly_rf_neg", {"fever": True}, "LDA", None),
    ],
)
def test_activity_state_follows_the_sjia_rule(
    login: Login, category: str, features: dict[str, bool], state: str | None, reason: str | None
) -> None:
    body = {"category": category, "phys_global": "1", "parent_global": "1", "active_joints": 0}
    scores = login("clin_a").post("/api/scores", json=body | features).json()
    assert (scores["cjadas10_state"], scores["cjadas10_state_reason"]) == (state, reason)


def test_homunculus_draws_each_joint_of_the_71_set_once_without_overlap() -> None:
    spots = joint_spots()
    assert {(s.joint, s.side) for s in spots} == set(joint_set(71))
    assert len(spots) == 71
    for s in spots:
        assert s.x - s.r > 0 and s.x + s.r < WIDTH and s.y - s.r > 0 and s.y + s.r < HEIGHT
    for i, a in enumerate(spots):
        for b in spots[i + 1 :]:
            assert math.dist((a.x, a.y), (b.x, b.y)) >= a.r + b.r, (a.label, b.label)
    right = next(s for s in spots if (s.joint, s.side) == ("knee", "right"))
    assert right.x < WIDTH / 2  # the patient's right is drawn on the viewer's left
