"""NumPy and Arrow helpers shared by the synthetic-registry generators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "BoolArray",
    "FloatArray",
    "IntArray",
    "choice",
    "date_array",
    "exact_tenths",
    "masked",
    "ragged",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def choice(rng: np.random.Generator, shares: Mapping[Any, float], size: int) -> IntArray:
    """`size` draws of an index into `shares` (in its order), with those relative shares."""
    p = np.array(list(shares.values()))
    return rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int64)


def ragged(counts: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """For counts per owner: the owner of each item, its position, and each owner's offset."""
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    position = np.arange(int(counts.sum()), dtype=np.int64) - offsets[owner]
    return owner, position, offsets


def exact_tenths(values: IntArray) -> FloatArray:
    """Exact tenths as float64: int / 10 is the double nearest the decimal, as float('4.2')."""
    return values / 10


def date_array(days: IntArray, valid: BoolArray | None = None) -> pa.Array:
    """Days since 1970 as an Arrow date32 column, null where not `valid`."""
    mask = None if valid is None else ~valid
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


def masked(
    values: FloatArray | IntArray | BoolArray, valid: BoolArray, kind: pa.DataType
) -> pa.Array:
    """`values` as an Arrow column of type `kind`, null where not `valid` (missing data)."""
    return pa.array(values, type=kind, mask=~valid)
