"""Helpers and result models shared by the endpoint kinds (and the cohort summary)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from jiareg.stats import describe

__all__ = [
    "DAYS_PER_YEAR",
    "CoreSetStat",
    "Number",
    "Range",
    "RangeIqr",
    "ResultModel",
    "SparseResultModel",
    "at_timepoint",
    "flag",
    "number",
    "range_iqr_of",
    "range_of",
]

DAYS_PER_YEAR = 365.25

Number = int | float
"""A JSON number as results.json writes it: an int stays an int, anything else a float."""


class ResultModel(BaseModel):
    """Base of the results.json models: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SparseResultModel(ResultModel):
    """A results model whose optional fields are written only when given (a field left at
    its default is absent from results.json, as before the results were typed)."""

    @model_serializer(mode="wrap")
    def _given_only(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        required = {name for name, info in type(self).model_fields.items() if info.is_required()}
        return {k: v for k, v in data.items() if k in required or k in self.model_fields_set}


class Range(ResultModel):
    """Median and range of a set of values (exact; None when no value was collected)."""

    median: Number | None
    min: Number | None
    max: Number | None


class RangeIqr(Range):
    """`Range` plus the quartiles (type 7, `jiareg.stats.describe`)."""

    q1: Number | None
    q3: Number | None


class CoreSetStat(RangeIqr):
    """`RangeIqr` of one core-set variable at one timepoint, with the counts behind it."""

    n: int
    n_missing: int


def number(value: Fraction | float | None) -> Number | None:
    """JSON-native number: ints stay ints, Fractions become floats (exact when representable)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    result = float(value)
    return None if math.isnan(result) else result


def range_of(values: Iterable[object]) -> Range:
    """`Range` of `values` (missing values skipped)."""
    summary = describe(values)
    return Range(median=number(summary.median), min=number(summary.min), max=number(summary.max))


def range_iqr_of(values: Iterable[object]) -> RangeIqr:
    """`RangeIqr` of `values` (missing values skipped)."""
    s = describe(values)
    return RangeIqr(
        median=number(s.median),
        min=number(s.min),
        max=number(s.max),
        q1=number(s.q1),
        q3=number(s.q3),
    )


def flag(value: object) -> bool | None:
    """A yes/no cell as a bool; None when missing (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return bool(value)


def at_timepoint(visits: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of a per-timepoint frame at timepoint `name`."""
    return visits[visits["timepoint"] == name]
