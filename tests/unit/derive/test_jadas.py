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
    jadas_expr,
    jadas_from_globals,
    jadas_globals_expr,
)
from jiareg.derive.jadas_states import activity_state, activity_state_expr
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


def test_columnar_jadas_with_a_marker_kind_needs_the_marker_column() -> None:
    """An ESR or CRP JADAS without its marker column is a clear error (it was an
    AttributeError on None); cJADAS needs none."""
    t = ibis.table({"pga": "float64", "par": "float64", "aj": "int64"}, name="visits")
    for kind in ("esr", "crp"):
        with pytest.raises(DerivationError, match=f"a {kind.upper()} JADAS needs a marker"):
            jadas_expr(t.pga, t.par, t.aj, marker_kind=kind)
    assert jadas_expr(t.pga, t.par, t.aj, marker_kind="none").type().is_floating()
