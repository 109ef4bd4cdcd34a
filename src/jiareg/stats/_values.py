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
    present: list[Fraction] = []
    missing = 0
    for value in values:
        exact = None if _is_na(value) else to_fraction(value)
        if exact is None:
            missing += 1
        else:
            present.append(exact)
    return present, missing


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
