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
    "NO_FOLLOW_UP",
    "NO_VISIT",
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

NO_VISIT = "no_visit_at_timepoint"
"""Reason not evaluable (`Denominators.not_evaluable`): no visit inside the timepoint's window."""
NO_FOLLOW_UP = "no_follow_up_visit"
"""Reason not evaluable: no visit after the index date."""

Number = int | float
"""A JSON number as results.json writes it: an int stays an int, anything else a float."""


class ResultModel(BaseModel):
    """Base of the results.json models: unknown keys are errors, values frozen; a field's
    docstring is its description in the JSON Schema (docs/reference/results.schema.json)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


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
    """The median (exact: the middle value, or the mean of the two middle values)."""
    min: Number | None
    """The smallest value."""
    max: Number | None
    """The largest value."""


class RangeIqr(Range):
    """`Range` plus the quartiles (type 7, `jiareg.stats.describe`)."""

    q1: Number | None
    """First quartile (type 7: linear interpolation between order statistics)."""
    q3: Number | None
    """Third quartile (type 7)."""


class CoreSetStat(RangeIqr):
    """`RangeIqr` of one core-set variable at one timepoint, with the counts behind it."""

    n: int
    """Patients with a value (those with a visit at the timepoint and the variable recorded)."""
    n_missing: int
    """Patients with a visit at the timepoint but the variable not recorded."""


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
