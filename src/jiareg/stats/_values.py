"""Turning collected values (floats, strings, Fractions, NaN, pandas NA) into exact Fractions."""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

from jiareg.derive.exact import to_fraction


def exact_values(values: Iterable[object]) -> tuple[list[Fraction], int]:
    """The exact non-missing values and the number of missing ones.

    Missing = None, NaN, pandas NA/NaT or an empty string.

    >>> exact_values([4.2, None, "1.5", float("nan")])
    ([Fraction(21, 5), Fraction(3, 2)], 2)
    """
    exact = exact_or_none(values)
    present = [value for value in exact if value is not None]
    return present, len(exact) - len(present)


def exact_or_none(values: Iterable[object]) -> list[Fraction | None]:
    """Each value as an exact Fraction (its decimal text), None where it is missing.

    >>> exact_or_none([4.2, None, ""])
    [Fraction(21, 5), None, None]
    """
    seen: dict[object, Fraction | None] = {}  # registries repeat few distinct values
    out: list[Fraction | None] = []
    for value in values:
        if _is_na(value):
            out.append(None)
            continue
        key = (type(value), value)  # 1, 1.0 and True hash alike; their texts may not
        if key not in seen:
            seen[key] = to_fraction(value)
        out.append(seen[key])
    return out


def _is_na(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    # pandas.NA and NaT compare unequal to themselves or refuse bool(); both mean missing.
    try:
        return bool(value != value)
    except TypeError:
        return True
