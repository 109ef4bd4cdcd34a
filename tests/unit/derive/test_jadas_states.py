"""JADAS activity states (SPEC R-JADAS-2): the cut-off sets around each cut-off, the state and
its reason for sJIA with or without systemic features, and the disease course from the ILAR
category; scalar and columnar (every engine of `backend`)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import ibis
import pyarrow as pa
import pytest
from tests.support.backends import Backend

from jiareg.derive.jadas_states import (
    CUTOFFS,
    ActivityStateResult,
    activity_state,
    activity_state_expr,
    activity_state_reason_expr,
    activity_state_result,
    jadas_course,
    jadas_course_expr,
    sjia_features_active,
    sjia_features_active_expr,
)
from jiareg.errors import DerivationError


@pytest.mark.parametrize(
    ("score", "course", "state"),
    [
        ("0.5", "oligo", "ID"),
        ("0.51", "oligo", "LDA"),
        ("3.8", "oligo", "LDA"),
        ("3.81", "oligo", "MDA"),
        ("40", "oligo", "MDA"),
        ("0.7", "poly", "ID"),
        ("5.1", "poly", "LDA"),
        ("5.2", "poly", "MDA"),
    ],
)
def test_backstrom_has_three_states(score: str, course: str, state: str) -> None:
    got = activity_state(
        Fraction(score), course=course, version="jadas10", cutoff_set="backstrom2019"
    )  # type: ignore[arg-type]
    assert got == state


def test_cut_offs_for_every_set_and_boundary_scalar_equals_columnar() -> None:
    """Around each cut-off c (c - 0.1, c - 0.001, c, c + 0.001, c + 0.1) both forms agree."""
    steps = (Fraction(-1, 10), Fraction(-1, 1000), Fraction(0), Fraction(1, 1000), Fraction(1, 10))
    scores = sorted({cut + d for cuts in CUTOFFS.values() for cut in cuts if cut for d in steps})
    rows = [(score, course) for score in scores for course in ("oligo", "poly")]
    t = ibis.memtable(
        pa.table({"score": [float(r[0]) for r in rows], "course": [r[1] for r in rows]})
    )
    pairs = sorted({(cutoff_set, version) for cutoff_set, version, _ in CUTOFFS})
    out = t.select(
        **{
            f"{s}|{v}": activity_state_expr(t.score, t.course, version=v, cutoff_set=s)
            for s, v in pairs
        }
    ).execute()
    for cutoff_set, version in pairs:
        for i, (score, course) in enumerate(rows):
            expected = activity_state(score, course=course, version=version, cutoff_set=cutoff_set)  # type: ignore[arg-type]
            got = out[f"{cutoff_set}|{version}"].iloc[i]
            assert got == expected, (cutoff_set, version, course, score)
            c1, c2, c3 = CUTOFFS[(cutoff_set, version, course)]  # type: ignore[index]
            if score in (c1, c2, c3):
                assert expected == {c1: "ID", c2: "LDA", c3: "MDA"}[score]


# (score, course, version, cutoff_set, systemic_features_present) -> (state, reason)
STATE_REASON_CASES: list[tuple[Any, ...]] = [
    ("5", "poly", "jadas10", "consolaro", False, "MDA", None),
    # R-JADAS-2: sJIA with active systemic features -> None, "systemic_features_present",
    # whatever the score, even one that would be ID or one that is missing.
    ("5", "poly", "jadas10", "consolaro", True, None, "systemic_features_present"),
    ("0", "poly", "jadas10", "consolaro", True, None, "systemic_features_present"),
    (None, "poly", "cjadas10", "consolaro", True, None, "systemic_features_present"),
    # sJIA, features not assessed: no state (jiareg choice).
    ("5", "poly", "jadas10", "consolaro", None, None, "systemic_features_unknown"),
    (None, "poly", "jadas10", "consolaro", False, None, "score_missing"),
    ("5", None, "jadas10", "consolaro", False, None, "unknown_course"),
    ("5", "poly", "jadas27", "trincianti2021", False, None, "no_cutoffs"),
    ("5", "poly", "jadas71", "backstrom2019", False, None, "no_cutoffs"),
    ("1", "oligo", "cjadas10", "trincianti2021", False, "ID", None),
]


@pytest.mark.parametrize(
    ("score", "course", "version", "cutoff_set", "systemic", "state", "reason"),
    STATE_REASON_CASES,
)
def test_state_and_reason_scalar(
    score: str | None,
    course: Any,
    version: Any,
    cutoff_set: Any,
    systemic: bool | None,
    state: str | None,
    reason: str | None,
) -> None:
    """R-JADAS-2: the state, or the reason there is none (`activity_state` is its state)."""
    value = None if score is None else Fraction(score)
    options = {
        "course": course,
        "version": version,
        "cutoff_set": cutoff_set,
        "systemic_features_present": systemic,
    }
    assert activity_state_result(value, **options) == ActivityStateResult(state, reason)
    assert activity_state(value, **options) == state


def check_state_reason_columnar(
    execute: Callable[[Any], Any], table: Callable[[pa.Table], Any] = ibis.memtable
) -> None:
    """STATE_REASON_CASES through the Ibis state and reason on the engine of `execute`/`table`,
    with the systemic flag built by `sjia_features_active_expr` from a category column."""
    rows = STATE_REASON_CASES
    t = table(
        pa.table(
            {
                "i": pa.array(range(len(rows)), pa.int64()),
                "score": pa.array([None if r[0] is None else float(r[0]) for r in rows]),
                "course": pa.array([r[1] for r in rows], pa.string()),
                "category": pa.array(["systemic"] * len(rows), pa.string()),
                "active": pa.array([r[4] for r in rows], pa.bool_()),
            }
        )
    )
    features = sjia_features_active_expr(t.category, t.active)
    columns: dict[str, Any] = {"i": t.i}
    for i, (_, _, version, cutoff_set, _, _, _) in enumerate(rows):
        options: dict[str, Any] = {
            "version": version,
            "cutoff_set": cutoff_set,
            "systemic_features_present": features,
        }
        columns[f"s{i}"] = activity_state_expr(t.score, t.course, **options)
        columns[f"r{i}"] = activity_state_reason_expr(t.score, t.course, **options)
    out = execute(t.select(**columns)).sort_values("i").reset_index(drop=True)
    for i, (*_, state, reason) in enumerate(rows):
        got_state, got_reason = out[f"s{i}"].iloc[i], out[f"r{i}"].iloc[i]
        assert (got_state if isinstance(got_state, str) else None) == state, rows[i]
        assert (got_reason if isinstance(got_reason, str) else None) == reason, rows[i]


def test_state_and_reason_columnar_equal_scalar(backend: Backend) -> None:
    """R-JADAS-2 states and the reasons for none (systemic features first) on each engine."""
    check_state_reason_columnar(backend.execute, backend.load)


@pytest.mark.parametrize(
    ("category", "active", "expected"),
    [
        ("systemic", True, True),
        ("SYSTEMIC", None, None),
        ("systemic", False, False),
        ("poly_rf_neg", True, False),  # only sJIA: the features are "attributable to sJIA"
        ("oligo_persistent", None, False),
        (None, True, True),  # category unknown: the features decide
        (None, None, None),
    ],
)
def test_sjia_features_active_scalar_equals_columnar(
    category: str | None, active: bool | None, expected: bool | None
) -> None:
    assert sjia_features_active(category, active) is expected
    t = ibis.memtable(
        pa.table({"c": pa.array([category], pa.string()), "a": pa.array([active], pa.bool_())})
    )
    got = t.select(v=sjia_features_active_expr(t.c, t.a)).execute().v.iloc[0]
    assert (None if got is None or got != got else bool(got)) is expected


@pytest.mark.parametrize(
    ("category", "joints_ever", "course"),
    [
        ("systemic", None, "poly"),
        ("oligo_persistent", None, "oligo"),
        ("oligo_extended", None, "poly"),
        ("poly_rf_neg", None, "poly"),
        ("poly_rf_pos", None, "poly"),
        ("psoriatic", 4, "oligo"),
        ("psoriatic", 5, "poly"),
        ("era", None, None),
        ("undifferentiated", 1, "oligo"),
        (None, None, None),
    ],
)
def test_course(category: str | None, joints_ever: int | None, course: str | None) -> None:
    assert jadas_course(category, joints_ever_affected=joints_ever) == course
    t = ibis.memtable(
        pa.table({"c": pa.array([category], pa.string()), "j": pa.array([joints_ever], pa.int64())})
    )
    got = t.select(k=jadas_course_expr(t.c, t.j)).execute().k.iloc[0]
    assert (got if isinstance(got, str) else None) == course


def test_unknown_category() -> None:
    with pytest.raises(DerivationError, match="unknown ILAR category 'sjia'"):
        jadas_course("sjia")


@pytest.mark.parametrize(
    ("category", "course"),
    [("SYSTEMIC", "poly"), ("OLIGO_PERSISTENT", "oligo"), ("Poly_RF_Neg", "poly")],
)
def test_r_jadas_2_course_accepts_spec_ilar_codes(category: str, course: str) -> None:
    """R-JADAS-2 / R-SJIA-1: the SPEC's upper-case codes give the same course on both forms."""
    assert jadas_course(category) == course
    t = ibis.memtable(pa.table({"c": [category]}))
    got = t.select(k=jadas_course_expr(t.c)).execute().k.iloc[0]
    assert got == course
