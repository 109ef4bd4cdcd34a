"""The `drug_survival` endpoint on hand-built registries: who stops when and why, who is
censored where, the horizon, and the statistics by arm (`jiareg.stats.drug_survival`, itself
checked against R `survival` and lifelines in tests/unit/stats/test_drug_survival.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tests.unit.study.registry import Registry, day

from jiareg.errors import ProtocolError
from jiareg.stats import cumulative_incidence, kaplan_meier_by_group
from jiareg.study.deidentify import SUPPRESSED, suppress_small_counts
from jiareg.study.endpoints import SummaryContext
from jiareg.study.endpoints.drug_survival import (
    DrugSurvivalDetails,
    DrugSurvivalEndpoint,
    summarise,
    survival_times,
)
from jiareg.study.endpoints.index_course import ALL, arms_of
from jiareg.study.protocol_file import parse_protocol
from jiareg.study.run import run_study

PROTOCOL = """\
title: drug survival cases
eligibility:
  exposure: {drug: tocilizumab}
timepoints:
  - {name: baseline, window: {from_day: -30, to_day: 0}, pick: last}
endpoints:
  - {id: on_drug, kind: drug_survival}
"""


def stop(registry: Registry, pid: str, on_day: int, reason: str | None) -> None:
    """Stop `pid`'s tocilizumab course on `on_day` for `reason`."""
    for row in registry.rows["treatments"]:
        if row["patient_id"] == pid and row["drug"] == "tocilizumab":
            row["stop_date"], row["stop_reason"] = day(on_day), reason


def cases(registry: Registry) -> Registry:
    """Five patients, one of each case (infusions every 14 days from day 0)."""
    registry.patient("STOP30", infusions=3).visit("STOP30", 0).visit("STOP30", 28)
    stop(registry, "STOP30", 30, "primary_failure")
    registry.patient("DAY0", infusions=1).visit("DAY0", 0)
    stop(registry, "DAY0", 0, "adverse_event")  # stopped on the index day: an event at day 0
    registry.patient("ONGOING", infusions=8).visit("ONGOING", 0).visit("ONGOING", 200)
    registry.patient("NOFU", infusions=1).visit("NOFU", -3)  # nothing after day 0
    registry.patient("NOREASON", infusions=4).visit("NOREASON", 0).visit("NOREASON", 42)
    stop(registry, "NOREASON", 50, None)
    registry.patient("LATE", infusions=20).visit("LATE", 0).visit("LATE", 90)
    stop(registry, "LATE", 300, "remission")
    return registry


def _run(registry: Registry, tmp_path: Path, options: str = "") -> tuple[Any, dict[str, Any]]:
    path = tmp_path / "p.yaml"
    text = (
        PROTOCOL
        if not options
        else PROTOCOL.replace("drug_survival}", f"drug_survival, {options}}}")
    )
    path.write_text(text)
    result = run_study(path, tables=registry.tables())
    return result, result.results.to_json()


def test_times_events_censoring_and_reasons(registry: Registry, tmp_path: Path) -> None:
    _, r = _run(cases(registry), tmp_path)
    details = r["endpoints"]["on_drug"]
    assert details["denominators"] == {
        "follow_up": {"cohort": 6, "evaluable": 5, "not_evaluable": {"no_follow_up_after_index": 1}}
    }
    assert details["stop_reasons"] == {
        ALL: {"primary_failure": 1, "adverse_event": 1, "remission": 1, "not_recorded": 1}
    }
    arm = details["arms"][ALL]
    assert (arm["n"], arm["n_stopped"]) == (5, 4)
    # days: 0 (stop), 30 (stop), 50 (stop), 200 (censored: last visit > last infusion, day 98),
    # 300 (stop). S = 4/5, then x 3/4 = 3/5, x 2/3 = 2/5, then 0 after the last stop.
    curve = [(p["day"], p["at_risk"], p["stopped"], p["survival"]) for p in arm["curve"]]
    assert curve == [
        (0, 5, 1, pytest.approx(0.8)),
        (30, 4, 1, pytest.approx(0.6)),
        (50, 3, 1, pytest.approx(0.4)),
        (300, 1, 1, pytest.approx(0.0)),  # the last day observed is a stop
    ]
    assert "median_days" not in arm  # the headline's
    assert r["on_drug"] == {ALL: 50}  # the first day S <= 0.5
    assert r["on_drug"] == {ALL: 50}
    assert details["log_rank"] is None  # one arm
    incidence = {c["reason"]: c["curve"] for c in details["cumulative_incidence"][ALL]}
    assert incidence["adverse_event"][0]["incidence"] == pytest.approx(1 / 5)
    assert incidence["primary_failure"][0]["incidence"] == pytest.approx(4 / 5 * 1 / 4)
    assert incidence["not_recorded"][0]["incidence"] == pytest.approx(3 / 5 * 1 / 3)
    assert incidence["remission"][0]["incidence"] == pytest.approx(2 / 5)
    assert details["cox"] is None


def test_horizon_censors_later_stops_and_follow_up(registry: Registry, tmp_path: Path) -> None:
    result, r = _run(cases(registry), tmp_path, "horizon_days: 100")
    endpoint = result.protocol.endpoints[0]
    assert isinstance(endpoint, DrugSurvivalEndpoint)
    times = {
        t.patient_id: (t.day, t.stopped, t.reason)
        for t in survival_times(endpoint, result.protocol, result.frames)[0]
    }
    assert times == {
        "STOP30": (30, True, "primary_failure"),
        "DAY0": (0, True, "adverse_event"),
        "ONGOING": (100, False, None),
        "NOREASON": (50, True, "not_recorded"),
        "LATE": (100, False, None),  # stopped on day 300, after the horizon
    }
    assert r["endpoints"]["on_drug"]["horizon_days"] == 100
    assert r["endpoints"]["on_drug"]["arms"][ALL]["n_stopped"] == 3


def test_a_course_recorded_after_the_first_infusion_and_none_at_all(
    registry: Registry, tmp_path: Path
) -> None:
    registry.patient("LATESTART", infusions=3).visit("LATESTART", 0).visit("LATESTART", 40)
    for row in registry.rows["treatments"]:
        if row["patient_id"] == "LATESTART" and row["drug"] == "tocilizumab":
            row.update(start_date=day(2), stop_date=day(35), stop_reason="intolerance")
    registry.patient("NOCOURSE", infusions=3).visit("NOCOURSE", 0).visit("NOCOURSE", 60)
    registry.rows["treatments"] = [
        r
        for r in registry.rows["treatments"]
        if r["patient_id"] != "NOCOURSE" or r["drug"] != "tocilizumab"
    ]
    _, r = _run(registry, tmp_path)
    details = r["endpoints"]["on_drug"]
    assert details["stop_reasons"] == {ALL: {"intolerance": 1}}
    assert details["without_course_record"] == 1  # NOCOURSE: taken as on the drug, censored
    assert [(p["day"], p["stopped"]) for p in details["arms"][ALL]["curve"]] == [
        (0, 0),
        (35, 1),
        (60, 0),
    ]


@pytest.mark.slow
def test_arms_get_a_curve_each_and_the_log_rank_test(registry: Registry, tmp_path: Path) -> None:
    result, _ = _run(cases(registry), tmp_path)
    frames = dict(result.frames)
    arm = {"STOP30": "a", "DAY0": "a", "NOFU": "a", "ONGOING": "b", "NOREASON": "b", "LATE": "b"}
    frames["patients"] = frames["patients"].assign(arm=frames["patients"]["patient_id"].map(arm))
    assert arms_of(frames["patients"]) == arm
    endpoint = result.protocol.endpoints[0]
    assert isinstance(endpoint, DrugSurvivalEndpoint)
    headline, details = summarise(
        endpoint, SummaryContext(result.protocol, frames, dict(result.tables))
    )
    assert isinstance(details, DrugSurvivalDetails)
    expected = kaplan_meier_by_group([30, 0, 200, 50, 300], [1, 1, 0, 1, 1], list("aabbb"))
    assert details.log_rank is not None and expected.log_rank is not None
    assert details.log_rank.statistic == pytest.approx(expected.log_rank.statistic)
    assert details.log_rank.df == 1
    assert headline == {c.group: c.median for c in expected.curves}
    assert {a: v.n for a, v in details.arms.items()} == {"a": 2, "b": 3}
    b_risks = cumulative_incidence([200, 50, 300], [None, "not_recorded", "remission"])
    got = {c.reason: c.curve[-1].incidence for c in details.cumulative_incidence["b"]}
    assert got == {c.cause: pytest.approx(c.table[-1].incidence) for c in b_risks.causes}
    assert details.stop_reasons == {
        "a": {"primary_failure": 1, "adverse_event": 1},
        "b": {"remission": 1, "not_recorded": 1},
    }


def test_cox_options_are_checked() -> None:
    base = "title: t\neligibility: {exposure: {drug: tocilizumab}}\n"
    base += "timepoints: [{name: baseline, window: {from_day: -30, to_day: 0}}]\n"
    with pytest.raises(ProtocolError, match="set cox: true"):
        parse_protocol(base + "endpoints: [{id: d, kind: drug_survival, covariates: [sex]}]\n")
    with pytest.raises(ProtocolError, match=r"covariates\[0\]: .*age_years"):
        parse_protocol(
            base + "endpoints: [{id: d, kind: drug_survival, cox: true, covariates: [weight]}]\n"
        )
    with pytest.raises(ValidationError):
        DrugSurvivalEndpoint(id="d", kind="drug_survival", horizon_days=0)


def test_a_cox_model_of_one_arm_without_covariates_is_not_fitted(
    registry: Registry, tmp_path: Path
) -> None:
    _, r = _run(cases(registry), tmp_path, "cox: true")
    assert r["endpoints"]["on_drug"]["cox"] == {
        "not_fitted": "no term to fit: one arm and no covariates"
    }


@pytest.mark.slow
def test_small_counts_of_stops_are_suppressed_for_researchers(
    registry: Registry, tmp_path: Path
) -> None:
    _, r = _run(cases(registry), tmp_path)
    shown = suppress_small_counts(r)["endpoints"]["on_drug"]
    assert shown["stop_reasons"][ALL] == dict.fromkeys(
        ("primary_failure", "adverse_event", "remission", "not_recorded"), SUPPRESSED
    )
    assert shown["arms"][ALL]["n_stopped"] == SUPPRESSED
