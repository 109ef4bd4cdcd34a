"""R-CORESET: globals with their scale, conversion to 0-10, comparability (scalar and Ibis)."""

from __future__ import annotations

from fractions import Fraction

import ibis
import pyarrow as pa
import pytest

from jiareg.derive.coreset import (
    CoreSet,
    Global,
    comparable_globals,
    comparable_globals_expr,
    global_0_10,
    global_0_10_expr,
    likert_rescaled,
    likert_rescaled_expr,
)
from jiareg.errors import DerivationError, JiaregError
from jiareg.vocab import CORE_SET_VARIABLES

F = Fraction


@pytest.mark.parametrize(
    ("value", "scale"),
    [
        ("10", "0-10"),
        ("0", "0-10"),
        ("100", "0-100"),
        ("3", "0-3"),
        ("0.45", "0-3"),
        ("0.05", "0-3"),
    ],
)
def test_global_accepts_values_in_range(value: str, scale: str) -> None:
    g = Global.parse(value, scale)
    assert g is not None and g.value == F(value) and g.scale == scale


@pytest.mark.parametrize(
    ("value", "scale", "message"),
    [
        ("11", "0-10", "outside the 0-10 scale"),
        ("-0.1", "0-10", "outside the 0-10 scale"),
        ("3.5", "0-3", "outside the 0-3 scale"),
        ("101", "0-100", "outside the 0-100 scale"),
        ("0.455", "0-3", "more than 2 decimals"),
        ("55.555", "0-100", "more than 2 decimals"),
        ("4.2345", "0-10", "more than 3 decimals"),
    ],
)
def test_global_rejects_out_of_range_or_too_fine(value: str, scale: str, message: str) -> None:
    with pytest.raises(DerivationError, match=message) as info:
        Global.parse(value, scale)
    assert isinstance(info.value, JiaregError)


def test_unknown_scale_is_an_error_and_empty_scale_is_0_10() -> None:
    with pytest.raises(DerivationError, match="unknown global scale '0-5'"):
        Global.parse("1", "0-5")
    assert Global.parse("4", "") == Global(F(4), "0-10")
    assert Global.parse("", "0-3") is None


def test_global_0_10_conversions() -> None:
    assert global_0_10(Global(F("4.2"))) == F("4.2")
    assert global_0_10(Global(F(42), "0-100")) == F("4.2")
    assert global_0_10(Global(F(3), "0-3")) is None
    assert global_0_10(Global(F(3), "0-3"), allow_likert_rescale=True) == 10
    assert global_0_10(Global(F("0.45"), "0-3"), allow_likert_rescale=True) == F("1.5")


def test_likert_rescaled_flag() -> None:
    likert, vas = Global(F(1), "0-3"), Global(F(1))
    assert likert_rescaled(likert, vas, allow_likert_rescale=True)
    assert not likert_rescaled(likert, vas, allow_likert_rescale=False)
    assert not likert_rescaled(vas, None, allow_likert_rescale=True)


@pytest.mark.parametrize(
    ("b", "f", "expected"),
    [
        (("6", "0-10"), ("42", "0-100"), (F(6), F("4.2"))),
        (("60", "0-100"), ("42", "0-100"), (F(6), F("4.2"))),
        (("3", "0-3"), ("2", "0-3"), (F(3), F(2))),  # Likert compared on Likert
        (("3", "0-3"), ("2", "0-10"), None),  # mixed → missing
        (("3", "0-10"), ("2", "0-3"), None),
        (("3", "0-10"), ("NA", "0-10"), None),
    ],
)
def test_comparable_globals(b: tuple[str, str], f: tuple[str, str], expected: object) -> None:
    assert comparable_globals(Global.parse(*b), Global.parse(*f)) == expected


def test_columnar_twins_match_scalar_on_duckdb() -> None:
    rows = [
        ("6", "0-10", "42", "0-100"),
        ("60", "0-100", "42", "0-100"),
        ("3", "0-3", "2", "0-3"),
        ("0.45", "0-3", "0.05", "0-3"),
        ("3", "0-3", "2", "0-10"),
        ("3", "0-10", "2", "0-3"),
        ("3", None, None, "0-10"),
        ("7.5", None, "7.5", "0-10"),
    ]
    table = pa.table(
        {
            "bv": pa.array([None if r[0] is None else float(r[0]) for r in rows]),
            "bs": pa.array([r[1] for r in rows], pa.string()),
            "fv": pa.array([None if r[2] is None else float(r[2]) for r in rows]),
            "fs": pa.array([r[3] for r in rows], pa.string()),
        }
    )
    t = ibis.memtable(table)
    b, f = comparable_globals_expr(t.bv, t.bs, t.fv, t.fs)
    out = (
        ibis.duckdb.connect()
        .to_pyarrow(
            t.select(
                b=b,
                f=f,
                b10=global_0_10_expr(t.bv, t.bs),
                b10r=global_0_10_expr(t.bv, t.bs, allow_likert_rescale=True),
                flag=likert_rescaled_expr(t.bs, t.fs, allow_likert_rescale=True),
            )
        )
        .to_pylist()
    )
    for row, got in zip(rows, out, strict=True):
        bg, fg = Global.parse(row[0], row[1]), Global.parse(row[2], row[3])
        pair = comparable_globals(bg, fg)
        assert (got["b"], got["f"]) == (
            (None, None) if pair is None else (float(pair[0]), float(pair[1]))
        )
        assert bg is not None
        want = global_0_10(bg)
        assert got["b10"] == (None if want is None else pytest.approx(float(want)))
        want_r = global_0_10(bg, allow_likert_rescale=True)
        assert want_r is not None
        assert got["b10r"] == pytest.approx(float(want_r))
        assert got["flag"] == likert_rescaled(bg, fg, allow_likert_rescale=True)


def test_core_set_names_and_domain() -> None:
    assert CORE_SET_VARIABLES == (
        "active_joints",
        "lom_joints",
        "phys_global",
        "parent_global",
        "chaq",
        "esr",
    )
    assert set(CoreSet.__dataclass_fields__) == set(CORE_SET_VARIABLES)
    with pytest.raises(DerivationError, match="chaq 7/2 is outside 0 to 3"):
        CoreSet(chaq=F("3.5"))
    with pytest.raises(DerivationError, match="active_joints -1"):
        CoreSet(active_joints=-1)
    with pytest.raises(DerivationError, match="esr -1 mm/h is negative"):
        CoreSet(esr=F(-1))
