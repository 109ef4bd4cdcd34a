"""`data_sha256`: one hash for the same rows whatever form the engine returned them in."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pandas as pd

from jiareg.study.data_hash import data_sha256

ROWS = {
    "patient_id": ["P2", "P1", "P3"],
    "visit_date": [date(2020, 1, 2), date(2020, 1, 1), None],
    "chaq": [0.125, 1.0, None],
    "active_joints": [0, 3, 5],
    "fever": [True, None, False],
}


def _hash(**columns: object) -> str:
    return data_sha256({"visits": pd.DataFrame(ROWS | columns)})


def test_the_engines_forms_of_the_same_values_hash_alike() -> None:
    reference = _hash()
    # row order, ints as floats or decimals, timestamps at midnight, NaN for missing, -0.0
    assert data_sha256({"visits": pd.DataFrame(ROWS).iloc[::-1]}) == reference
    assert _hash(active_joints=[0.0, 3.0, 5.0]) == reference
    assert _hash(active_joints=[Decimal("-0"), Decimal("3.000"), Decimal(5)]) == reference
    assert _hash(chaq=[0.125 + 1e-12, 1.0, float("nan")]) == reference
    stamps = [datetime(2020, 1, 2), datetime(2020, 1, 1), None]
    assert _hash(visit_date=pd.to_datetime(pd.Series(stamps))) == reference


def test_any_change_of_value_table_or_column_changes_the_hash() -> None:
    reference = _hash()
    assert _hash(chaq=[0.125, 1.0, 0.0]) != reference  # missing is not zero
    assert _hash(patient_id=["P2", "P1", ""]) != reference
    assert _hash(chaq=[0.125 + 1e-8, 1.0, None]) != reference  # beyond 9 decimals is kept
    assert _hash(fever=[True, False, False]) != reference
    frame = pd.DataFrame(ROWS)
    assert data_sha256({"other": frame}) != reference
    assert data_sha256({"visits": frame.rename(columns={"chaq": "chaq_di"})}) != reference
    assert data_sha256({"visits": frame.iloc[:0]}) != reference
