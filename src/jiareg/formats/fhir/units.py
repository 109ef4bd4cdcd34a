"""FHIR Quantities -> template numbers: UCUM conversion and rounding to the template's precision.

A Quantity must carry a UCUM code (`system` http://unitsofmeasure.org and `code`): a
`{value: 70.5, unit: "lb"}` is refused, never read as kilograms. A code other than the
template column's unit is converted through ucumvert (a UCUM grammar on top of pint): a weight
in `[lb_av]` is stored in kg, a height in `[in_i]` in cm, a CRP in mg/dL in mg/L; a unit of
another dimension (a weight in `cm`) is refused. The UCUM registry takes seconds to build, so
it is built on the first unit that needs converting, and each factor is computed once.
A value with more decimals than the template keeps is rounded half-up and counted, so the
import summary can say so.

Source: UCUM, The Unified Code for Units of Measure (Regenstrief Institute), which FHIR R4
requires for Quantity.code when system is http://unitsofmeasure.org.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

__all__ = ["UCUM", "Conversions", "UnitError", "factor"]

UCUM = "http://unitsofmeasure.org"


class UnitError(ValueError):
    """A UCUM code that does not parse or does not convert to the wanted unit."""


@cache
def _registry() -> Any:
    from ucumvert import PintUcumRegistry  # type: ignore[import-untyped]

    return PintUcumRegistry()


@cache
def factor(source: str, target: str) -> Decimal:
    """The number a value in UCUM unit `source` is multiplied by to be in `target`.

    >>> factor("[lb_av]", "kg")
    Decimal('0.45359237')
    """
    registry = _registry()
    try:
        quantity = (1 * registry.from_ucum(source)).to(registry.from_ucum(target))
    except Exception as exc:  # ucumvert raises its parser's and pint's own errors
        raise UnitError(str(exc).splitlines()[0]) from exc
    return Decimal(format(float(quantity.magnitude), ".15g"))  # drops pint's float noise


@dataclass
class Conversions:
    """What reading numbers changed: conversions by (from, to) and roundings by column."""

    converted: Counter[tuple[str, str]] = field(default_factory=Counter)
    rounded: Counter[tuple[str, int]] = field(default_factory=Counter)

    def number(self, value: object, decimals: int, column: str) -> object:
        """`value` rounded to `decimals` places when it has more (anything else unchanged)."""
        if not isinstance(value, Decimal | int) or isinstance(value, bool):
            return value
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -decimals:
            self.rounded[(column, decimals)] += 1
            return number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        return value

    def convert(self, value: object, source: str, target: str) -> object:
        """`value` (a number) in `source` expressed in `target`; raises UnitError."""
        if source == target or not isinstance(value, Decimal | int) or isinstance(value, bool):
            return value
        try:
            out = Decimal(value) * factor(source, target)
        except InvalidOperation as exc:  # pragma: no cover - Decimal * Decimal is exact
            raise UnitError(str(exc)) from exc
        self.converted[(source, target)] += 1
        return out

    def notes(self) -> list[str]:
        """One line per conversion and per rounding, for the import summary."""
        out = [
            f"{n} value(s) converted from {a} to {b} (UCUM)"
            for (a, b), n in sorted(self.converted.items())
        ]
        out += [
            f"{n} {column} value(s) rounded to {d} decimals (the template's precision)"
            for (column, d), n in sorted(self.rounded.items())
        ]
        return out
