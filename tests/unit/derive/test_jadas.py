"""JADAS (SPEC R-JADAS 1-2) on the §11.2 vectors and our boundary rows: scalar and DuckDB."""

from __future__ import annotations

import csv
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from tests.support.backends import Backend

from jiareg.derive.coreset import Global
from jiareg.derive.exact import to_fraction
from jiareg.derive.jadas import (
    crp_points,
    esr_points,
    jadas,
    jadas_from_globals,
    jadas_globals_expr,
)
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

VECTORS = list(
    csv.DictReader((Path(__file__).parents[2] / "vectors" / "jadas.csv").read_text().splitlines())
)
IDS = [r["id"] for r in VECTORS]
VERSION = {
    "JADAS10": "jadas10",
    "JADAS27": "jadas27",
    "JADAS71": "jadas71",
    "cJADAS10": "cjadas10",
    "JADAS10-CRP": "jadas10",
}
SETS = ("consolaro", "trincianti2021")


def _na(text: str) -> str | None:
    return None if text == "NA" else text


def _scalar(row: dict[str, str]) -> Any:
    return jadas_from_globals(
        Global.parse(row["pga"], row["pga_scale"]),
        Global.parse(row["parent_global"], row["parent_scale"]),
        None if row["ajc_count"] == "NA" else int(row["ajc_count"]),
        joints=int(row["cap"]),  # type: ignore[arg-type]
        marker=to_fraction(row["marker"]),
        marker_kind=row["marker_kind"],  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("row", VECTORS, ids=IDS)
def test_jadas_vectors_scalar(row: dict[str, str]) -> None:
    result = _scalar(row)
    expected = _na(row["expected_score"])
    assert result.score == (None if expected is None else Fraction(expected))
    assert result.reason == (row["reason"] or None)
    assert result.likert_rescaled is False
    for cutoff_set in SETS:
        state = activity_state(
            result.score,
            course=row["course"],  # type: ignore[arg-type]
            version=VERSION[row["variant"]],  # type: ignore[arg-type]
            cutoff_set=cutoff_set,  # type: ignore[arg-type]
        )
        assert state == _na(row[f"state_{cutoff_set}"]), cutoff_set


def _columnar(
    rows: list[dict[str, str]], execute: Callable[[Any], Any], table: Callable[[pa.Table], Any]
) -> dict[str, Any]:
    """Every vector row through jadas_globals_expr and activity_state_expr, one query per form."""
    data = pa.Table.from_pylist(
        [
            {
                "id": r["id"],
                "pga": None if r["pga"] == "NA" else float(r["pga"]),
                "pga_scale": r["pga_scale"],
                "parent": None if r["parent_global"] == "NA" else float(r["parent_global"]),
                "parent_scale": r["parent_scale"],
                "ajc": None if r["ajc_count"] == "NA" else int(r["ajc_count"]),
                "marker": None if r["marker"] == "NA" else float(r["marker"]),
                "course": r["course"],
                "form": f"{r['cap']}|{r['marker_kind']}|{VERSION[r['variant']]}",
            }
            for r in rows
        ],
        schema=pa.schema(
            [
                ("id", pa.string()),
                ("pga", pa.float64()),
                ("pga_scale", pa.string()),
                ("parent", pa.float64()),
                ("parent_scale", pa.string()),
                ("ajc", pa.int64()),
                ("marker", pa.float64()),
                ("course", pa.string()),
                ("form", pa.string()),
            ]
        ),
    )
    t = table(data)
    out: dict[str, Any] = {}
    for form in sorted(set(data.column("form").to_pylist())):
        cap, marker_kind, version = form.split("|")
        part = t.filter(t.form == form)
        score = jadas_globals_expr(
            part.pga,
            part.pga_scale,
            part.parent,
            part.parent_scale,
            part.ajc,
            joints=int(cap),  # type: ignore[arg-type]
            marker=part.marker,
            marker_kind=marker_kind,  # type: ignore[arg-type]
        )
        states = {
            f"state_{s}": activity_state_expr(score, part.course, version=version, cutoff_set=s)  # type: ignore[arg-type]
            for s in SETS
        }
        result = execute(part.select(part.id, score=score, **states))
        out.update({r["id"]: r for _, r in result.iterrows()})
    return out


def check_jadas_columnar(
    execute: Callable[[Any], Any], table: Callable[[pa.Table], Any] = ibis.memtable
) -> None:
    """The SPEC §11.2 vectors through the columnar form on the engine of `execute`/`table`."""
    got = _columnar(VECTORS, execute, table)
    for row in VECTORS:
        result = got[row["id"]]
        expected = _na(row["expected_score"])
        if expected is None:
            assert result.score is None or result.score != result.score, row["id"]
        else:
            assert result.score == pytest.approx(float(expected), abs=1e-9), row["id"]
        for s in SETS:
            value = result[f"state_{s}"]
            assert (value if isinstance(value, str) else None) == _na(row[f"state_{s}"]), (
                row["id"],
                s,
            )


def test_jadas_vectors_columnar(backend: Backend) -> None:
    check_jadas_columnar(backend.execute, backend.load)


def test_likert_rescale_flag() -> None:
    result = jadas_from_globals(
        Global(Fraction(3), "0-3"),
        Global(Fraction(5)),
        2,
        marker=Fraction(20),
        allow_likert_rescale=True,
    )
    assert result.score == 17 and result.likert_rescaled is True and result.reason is None


def test_missing_named_and_likert_reason_with_missing() -> None:
    result = jadas(None, None, None, marker=None)
    assert result.missing == ("pga", "parent_global", "active_joints", "esr")
    assert result.reason == "missing_component"
    crp = jadas(Fraction(1), Fraction(1), 0, marker=None, marker_kind="crp")
    assert crp.missing == ("crp",)
    likert = jadas_from_globals(Global(Fraction(1), "0-3"), None, 0, marker=Fraction(20))
    assert (likert.score, likert.reason, likert.missing) == (
        None,
        "global_on_likert_scale",
        ("parent_global",),
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pga_0_10": Fraction(11)}, "pga 11 is outside 0-10"),
        ({"active_joints": -1}, "active_joints -1 is not a whole number"),
        ({"active_joints": True}, "active_joints True is not a whole number"),
        ({"joints": 28}, "joint set 28"),
        ({"marker": Fraction(-1)}, "esr -1 mm/h is negative"),
        ({"marker_kind": "pct"}, "marker_kind 'pct'"),
    ],
)
def test_bad_inputs(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "pga_0_10": Fraction(1),
        "parent_0_10": Fraction(1),
        "active_joints": 0,
        "marker": Fraction(20),
    }
    args.update(kwargs)
    with pytest.raises(DerivationError, match=message):
        jadas(**args)


@pytest.mark.parametrize(
    ("esr", "points"),
    [
        ("0", "0"),
        ("19.9", "0"),
        ("20", "0"),
        ("20.1", "0.01"),
        ("25", "0.5"),
        ("119.9", "9.99"),
        ("120", "10"),
        ("140", "10"),
    ],
)
def test_esr_points_boundaries(esr: str, points: str) -> None:
    assert esr_points(Fraction(esr)) == Fraction(points)


@pytest.mark.parametrize(
    ("crp", "points"),
    [("0", "0"), ("10", "0"), ("10.5", "0.05"), ("35", "2.5"), ("110", "10"), ("200", "10")],
)
def test_crp_points_boundaries(crp: str, points: str) -> None:
    assert crp_points(Fraction(crp)) == Fraction(points)


def test_crp_points_configurable() -> None:
    assert crp_points(Fraction(8), floor_mg_l=Fraction(5), ceiling_mg_l=Fraction(55)) == Fraction(
        3, 5
    )


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
