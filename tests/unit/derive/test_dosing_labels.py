"""R-DOSE labelling, scalar: the regimens SPEC §12.6-7 gives from memory follow the
configuration, adalimumab's weight bands and age limit (tests/vectors/dosing_age.csv), and
tocilizumab outside sJIA and pJIA (SPEC §12b.7). The columnar form of the same rules is
tested in test_dosing.py."""

from __future__ import annotations

from fractions import Fraction

import pytest
from tests.support.dosing_vectors import (
    TCZ_CATEGORIES,
    TCZ_LABELLED,
    dosing_vectors,
    expected_flags,
    interval_days,
)

from jiareg.derive.config import ClinicalConfig
from jiareg.derive.dosing import DOSE_DEVIATION, NOT_LABELLED, check_administered_dose, label_dose
from jiareg.derive.exact import to_fraction
from jiareg.errors import DerivationError


def test_unverified_regimens_are_options() -> None:
    """SPEC §12.6-7: the from-memory regimens follow the config, not hard-coded numbers."""
    config = ClinicalConfig(
        etanercept_mg_per_kg="0.4",
        etanercept_max_mg=25,
        adalimumab_bands=[(10, 10), (15, 20), ("30.5", 40)],
        tcz_sc_pjia_interval_days=(14, 14),
    )
    etanercept = label_dose("etanercept", weight_kg=70, category="JIA", config=config)
    assert (etanercept.expected_mg, etanercept.mg_per_kg) == (Fraction(25), Fraction(2, 5))
    adalimumab = label_dose("adalimumab", weight_kg=30, category="pJIA", config=config)
    assert (adalimumab.expected_mg, adalimumab.band) == (Fraction(20), "15 to <30.5")
    adalimumab = label_dose("adalimumab", weight_kg="30.5", category="pJIA", config=config)
    assert (adalimumab.expected_mg, adalimumab.band) == (Fraction(40), "≥30.5")
    sc = label_dose("tocilizumab", weight_kg=25, category="pJIA", route="sc", config=config)
    assert sc.interval_days == 14


def test_adalimumab_band_labels() -> None:
    bands = {
        w: label_dose("adalimumab", weight_kg=w, category="pJIA").band
        for w in ("9.999", "10", "14.999", "15", "29.999", "30")
    }
    assert bands == {
        "9.999": "<10",
        "10": "10 to <15",
        "14.999": "10 to <15",
        "15": "15 to <30",
        "29.999": "15 to <30",
        "30": "≥30",
    }


AGE_ROWS = dosing_vectors("dosing_age.csv")


@pytest.mark.parametrize("row", AGE_ROWS, ids=[r["id"] for r in AGE_ROWS])
def test_label_dose_age_vectors(row: dict[str, str]) -> None:
    """R-DOSE-TNF: adalimumab (pJIA, ≥ 2 y); below 2 years → NOT_LABELLED, 2.0 is labelled."""
    check = label_dose(
        row["drug"],
        weight_kg=row["weight_kg"],
        category=row["category"],
        route=row["route"],
        age_years=row["age_years"],
    )
    assert check.expected_mg == to_fraction(row["expected_mg"])
    assert check.interval_days == interval_days(row)
    assert check.flags == expected_flags(row)
    assert (check.band or "") == row["band"]


def test_adalimumab_min_age_is_an_option() -> None:
    """SPEC §12.7: the from-memory adalimumab age limit follows the config."""
    config = ClinicalConfig(adalimumab_min_age_years=4)
    assert label_dose(
        "adalimumab", weight_kg=20, category="pJIA", age_years="3.99", config=config
    ).flags == (NOT_LABELLED,)
    assert label_dose(
        "adalimumab", weight_kg=20, category="pJIA", age_years=4, config=config
    ).expected_mg == Fraction(20)
    with pytest.raises(DerivationError, match="age_years must be ≥ 0"):
        label_dose("adalimumab", weight_kg=20, category="pJIA", age_years="-1")


# --- labelling of tocilizumab by category (SPEC §12b.7) -------------------------------------


@pytest.mark.parametrize("category", TCZ_CATEGORIES)
@pytest.mark.parametrize("route", ["iv", "sc"])
def test_tocilizumab_not_labelled_outside_sjia_and_pjia(category: str | None, route: str) -> None:
    """SPEC §12b.7: other ILAR categories and an unknown one → NOT_LABELLED, pJIA regimen."""
    check = label_dose("tocilizumab", weight_kg=25, category=category, route=route)
    pjia = label_dose("tocilizumab", weight_kg=25, category="pJIA", route=route)
    labelled = category in TCZ_LABELLED
    assert (NOT_LABELLED in check.flags) is (not labelled)
    if category not in ("sJIA", "systemic"):
        assert (check.expected_mg, check.interval_days) == (pjia.expected_mg, pjia.interval_days)
    # the dose is still checked against the pJIA regimen shown
    assert DOSE_DEVIATION in check_administered_dose("400", check)


def test_adalimumab_unknown_age_is_flagged() -> None:
    """SPEC §12b.4: unknown age → AGE_UNKNOWN (not labelled-or-not, not an error)."""
    check = label_dose("adalimumab", weight_kg=20, category="pJIA", age_years=None)
    assert (check.expected_mg, check.flags) == (Fraction(20), ("AGE_UNKNOWN",))
    small = label_dose("adalimumab", weight_kg="9.9", category="pJIA", age_years=None)
    assert small.flags == ("AGE_UNKNOWN", NOT_LABELLED)
    assert label_dose("adalimumab", weight_kg=20, category="pJIA", age_years=5).flags == ()
