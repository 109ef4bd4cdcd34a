"""Exact arithmetic for clinical thresholds (SPEC R-NUM-1), on scalars and on Ibis columns.

Scalar values are `fractions.Fraction` built from the decimal *string* of the input, so 4.2 is
exactly 21/5 and 6 -> 4.2 is exactly a 30 % improvement.

Columns (float64 or decimal, on DuckDB, PostgreSQL or Spark) are first turned into an exact
integer number of *units*, `round(x * UNITS)`. UNITS = 21000 = lcm(1000, 168), so every value
with at most three decimals and every CHAQ mean (a multiple of 1/6, 1/7 or 1/8) becomes an
exact integer, and the cross-multiplied comparisons below are decided on integers everywhere.

The comparison helpers use only `-`, `*` and comparison operators, so the same definition
serves a Fraction and an Ibis integer expression.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final, overload

from jiareg.errors import DerivationError

if TYPE_CHECKING:
    from typing import TypeAlias

    import ibis.expr.types as ir

    _Amount: TypeAlias = Fraction | int | ir.IntegerValue  # exact, or an Ibis int64 column
    _Verdict: TypeAlias = bool | ir.BooleanValue

__all__ = [
    "UNITS",
    "as_value",
    "improved_by_at_least",
    "to_fraction",
    "units",
    "units_expr",
    "worsened_by_more_than",
]

UNITS: Final = 21000
"""Fixed-point scale: lcm(1000, 168). Values are exact multiples of 1/UNITS."""


def to_fraction(value: object) -> Fraction | None:
    """The exact rational value of a decimal input; None for missing (None, '', NA, NaN).

    Floats are read through their shortest decimal repr, never through their binary value,
    so `to_fraction(4.2) == Fraction("4.2")`.

    >>> to_fraction("4.2"), to_fraction(4.2), to_fraction(6), to_fraction("NA")
    (Fraction(21, 5), Fraction(21, 5), Fraction(6, 1), None)
    """
    if value is None:
        return None
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise DerivationError(f"expected a number, got the boolean {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return Fraction(repr(value))
    if isinstance(value, Decimal):
        return None if value.is_nan() else Fraction(value)
    if isinstance(value, str):
        text = value.strip()
        if text in ("", "NA", "na", "NaN", "nan"):
            return None
        try:
            return Fraction(text)
        except ValueError:
            raise DerivationError(f"expected a number, got {value!r}") from None
    raise DerivationError(f"expected a number, got {type(value).__name__} {value!r}")


def units(value: Fraction) -> int:
    """`value` as an exact integer number of 1/UNITS; error if it is not a multiple.

    >>> units(Fraction(6, 7)), units(Fraction("4.2"))
    (18000, 88200)
    """
    scaled = value * UNITS
    if scaled.denominator != 1:
        raise DerivationError(
            f"{value} is not a multiple of 1/{UNITS} (at most 3 decimals, or a CHAQ mean)"
        )
    return scaled.numerator


def as_value(value: ir.Value | Fraction | float | str | None, type: str | None = None) -> ir.Value:
    """An Ibis value as it is; a Python value (None included) as an Ibis literal of `type`
    (inferred when None): the columnar rules take either for an input.

    >>> as_value(None, "boolean").type()
    Boolean(nullable=True)
    """
    import ibis

    return value if hasattr(value, "op") else ibis.literal(value, type)


def units_expr(column: ir.NumericValue) -> ir.IntegerValue:
    """Ibis: a numeric column as exact int64 units, `round(column * UNITS)`; NULL stays NULL."""
    return (column * UNITS).round().cast("int64")


@overload
def improved_by_at_least(baseline: Fraction | int, followup: Fraction | int, pct: int) -> bool: ...
@overload
def improved_by_at_least(
    baseline: ir.IntegerValue, followup: ir.IntegerValue, pct: int
) -> ir.BooleanValue: ...
def improved_by_at_least(baseline: _Amount, followup: _Amount, pct: int) -> _Verdict:
    """True when `followup` is at least `pct` % lower than a positive `baseline`.

    Cross-multiplied, never a float ratio: `(b - f) * 100 >= pct * b` (SPEC R-NUM-1.2),
    evaluated in the equivalent form `f * 100 <= (100 - pct) * b`, which reads each operand
    once (smaller SQL). The caller handles b == 0 (no relative change exists). Works on
    Fractions and Ibis integers.

    >>> improved_by_at_least(Fraction(6), Fraction("4.2"), 30)
    True
    """
    return followup * 100 <= baseline * (100 - pct)


@overload
def worsened_by_more_than(baseline: Fraction | int, followup: Fraction | int, pct: int) -> bool: ...
@overload
def worsened_by_more_than(
    baseline: ir.IntegerValue, followup: ir.IntegerValue, pct: int
) -> ir.BooleanValue: ...
def worsened_by_more_than(baseline: _Amount, followup: _Amount, pct: int) -> _Verdict:
    """True when `followup` is more than `pct` % higher than a positive `baseline` (strict).

    `(f - b) * 100 > pct * b` (SPEC R-NUM-1.2), evaluated as the equivalent
    `f * 100 > (100 + pct) * b`: exactly +30 % (10 -> 13) is not worsening.

    >>> worsened_by_more_than(Fraction(10), Fraction(13), 30)
    False
    """
    return followup * 100 > baseline * (100 + pct)
