"""Exact numbers as JSON numbers, for display (the CLI's `--json`, the web's pages and API).

One rule everywhere: a whole number is an int, anything else the float nearest the exact
value (optionally rounded for display). Never feed the result back into a computation.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

__all__ = ["json_number"]


def json_number(
    value: Fraction | Decimal | float | int | None, *, places: int | None = None
) -> int | float | None:
    """`value` as a JSON number: int when whole, else float (rounded to `places` if given).

    >>> json_number(Fraction(240)), json_number(Fraction(1794, 5)), json_number(None)
    (240, 358.8, None)
    >>> json_number(Fraction(6, 7), places=3), json_number(4.0, places=3)
    (0.857, 4)
    """
    if value is None:
        return None
    number = round(float(value), places) if places is not None else float(value)
    return int(number) if number.is_integer() else number
