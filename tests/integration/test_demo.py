"""`jiareg demo` reproduces every figure of the founding poster (Russo & Katsicas 2011).

The demo cohort is synthetic; its figures come out of the real import, the real rules and the
real statistics, and each one below is the poster's (issue #4 §5).
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from jiareg.demo import COHORT_DIR, FOUNDING_PROTOCOL
from jiareg.derive.dosing import label_dose
from jiareg.ingest import read_template
from jiareg.study.run import run_study

pytestmark = [pytest.mark.slow, pytest.mark.pdf]  # `demo` (tests/conftest.py) writes report.pdf


def test_writes_the_three_files(demo: tuple[Path, dict[str, Any]]) -> None:
    out, _ = demo
    for name in ("results.json", "report.html", "report.pdf"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


def test_marks_the_patients_as_synthetic(demo: tuple[Path, dict[str, Any]]) -> None:
    _, r = demo
    assert r["synthetic"] is True  # the report's banner test is in test_report.py


def test_cohort(demo: tuple[Path, dict[str, Any]]) -> None:
    _, r = demo
    assert r["n"] == 9
    assert r["categories"] == {"systemic": 7, "poly_rf_neg": 2}
    assert r["sex"] == {"F": 7, "M": 2}
    assert r["age_years"]["median"] == 10
    assert r["disease_duration_years"]["median"] == 6
    assert 3 <= r["exposure_months"]["min"] <= r["exposure_months"]["max"] <= 9
    assert r["prior_anti_tnf"] == {"etanercept": 9, "adalimumab": 7, "infliximab": 2}
    assert [step["n_remaining"] for step in r["attrition"]] == [9] * len(r["attrition"])


@pytest.mark.parametrize(
    ("variable", "baseline", "month_1"),
    [
        ("active_joints", 11, 4),
        ("lom_joints", 4, 3),
        ("parent_global", 0.1, 0.05),
        ("phys_global", 0.45, 0.24),
        ("esr", 35, 3),
    ],
)
def test_core_set_medians(
    demo: tuple[Path, dict[str, Any]], variable: str, baseline: float, month_1: float
) -> None:
    _, r = demo
    assert r["globals_scale"] == "0-3"
    assert r["core_set"]["baseline"][variable]["median"] == baseline
    assert r["core_set"]["month_1"][variable]["median"] == month_1
    assert r["core_set"]["baseline"][variable]["n"] == r["core_set"]["month_1"][variable]["n"] == 9


def test_chaq_systemic_features_and_responses(demo: tuple[Path, dict[str, Any]]) -> None:
    _, r = demo
    assert r["chaq_over_0_5"] == {"baseline": 3, "month_1": 1}
    assert r["systemic_features"] == {"baseline": 1, "month_1": 0}
    assert r["acr_pedi_30"]["responders"] == 9
    assert r["acr_pedi_30"]["n"] == 9
    low, high = r["acr_pedi_30"]["ci95"]
    assert high == 1.0 and low == pytest.approx(0.6637, abs=1e-4)  # Clopper-Pearson, 9/9
    assert r["endpoints"]["acr_pedi_30"]["denominators"]["follow_up"]["not_evaluable"] == {}
    assert r["responders_before_infusion_3"] == 7


def test_steroids_and_safety(demo: tuple[Path, dict[str, Any]]) -> None:
    _, r = demo
    assert r["steroids"] == {
        "baseline_users": 6,
        "reduced": 4,
        "reduced_by_half_or_more": 0,
        "stopped": 0,
    }
    steroids = r["endpoints"]["steroids"]
    # "During the treatment, 4 patients reduced dose (< 50 %)": over the time on tocilizumab
    assert steroids["at"] == "on_treatment"
    assert steroids["not_reduced"] == {"NO_CHANGE": 2, "INCREASED": 0}  # the other 4: < 50 %
    assert steroids["denominators"]["on_treatment"]["evaluable"] == 6
    assert steroids["lowest_below_baseline"] == 4
    assert r["config"]["tnf_failure_source"] == "recorded"
    assert r["adverse_events"] == 0


def test_steroid_change_at_month_1_would_miss_the_later_reduction() -> None:
    """DEMO-04 reduces after month 1 (SPEC §12b.10: the figure is over the time on treatment);
    each period stops the day before the next starts, so no visit sees two doses."""
    tables = read_template(COHORT_DIR)
    result = run_study(FOUNDING_PROTOCOL, tables=tables)
    rows = result.tables["steroids"]
    month_1 = rows[(rows["timepoint"] == "month_1") & (rows["peq_mg_day"] > 0)]
    base = rows[(rows["timepoint"] == "baseline") & (rows["peq_mg_day"] > 0)]
    lower = (
        month_1.set_index("patient_id")["peq_mg_day"] < base.set_index("patient_id")["peq_mg_day"]
    )
    assert int(lower.sum()) == 3
    steroids = read_template(COHORT_DIR)["steroids"].to_pylist()
    for a, b in pairwise(steroids):
        if a["patient_id"] == b["patient_id"] and a["stop_date"] is not None:
            assert (b["start_date"] - a["stop_date"]).days == 1


def test_provenance(demo: tuple[Path, dict[str, Any]]) -> None:
    _, r = demo
    assert len(r["protocol_sha256"]) == len(r["data_sha256"]) == 64
    assert r["software_version"]
    assert r["engine"] == "duckdb"


def test_every_infusion_is_the_label_dose_for_the_weight() -> None:
    tables = read_template(COHORT_DIR)
    category = dict(
        zip(
            tables["patients"]["patient_id"].to_pylist(),
            tables["patients"]["ilar_category"].to_pylist(),
            strict=True,
        )
    )
    given = tables["administrations"].to_pylist()
    assert len(given) > 9
    for row in given:
        # the poster's regimen is the sJIA one (every 2 weeks) for every child
        expected = label_dose(
            "tocilizumab", weight_kg=row["weight_kg"], category="sJIA", route="iv"
        ).expected_mg
        assert Fraction(str(row["dose_mg"])) == expected, row
        assert category[row["patient_id"]] in ("systemic", "poly_rf_neg")
