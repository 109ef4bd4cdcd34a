"""Shared hypothesis strategies: valid clinical values on the grids jiareg accepts.

Values are exact (Fraction or int) so that a test can hand them to the scalar rules as they are
and to the columnar rules as floats; every value here is a multiple of 1/UNITS, so the columnar
rules see it exactly (Contract 1). Missing values (None) are drawn often on purpose.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from jiareg.derive.coreset import CoreSet, Global
from jiareg.derive.exact import UNITS

__all__ = [
    "chaq_values",
    "core_set_pairs",
    "core_sets",
    "esr_values",
    "globals_",
    "joint_counts",
    "maybe",
]

# Boundary multipliers for a follow-up value: exactly -30/-50/-70/-90/-100 %, +30 %, unchanged.
BOUNDARY_FACTORS = tuple(Fraction(n, 10) for n in (7, 5, 3, 1, 0, 13, 10))


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`values` or None (missing), None about one time in five."""
    return st.one_of(st.none(), values, values, values, values)


chaq_values = st.one_of(
    st.integers(0, 24).map(lambda n: Fraction(n, 8)),
    st.integers(0, 21).map(lambda n: Fraction(n, 7)),
    st.integers(0, 18).map(lambda n: Fraction(n, 6)),
    st.integers(0, 3000).map(lambda n: Fraction(n, 1000)),
)
"""CHAQ disability index: means over 6, 7 or 8 domains, and 3-decimal entered values."""

joint_counts = st.integers(0, 71)
"""Joint counts (active or limited), whole numbers."""

esr_values = st.integers(0, 1500).map(lambda n: Fraction(n, 10))
"""ESR in mm/h with one decimal."""

_SCALE_VALUES = {
    "0-10": st.integers(0, 100).map(lambda n: Fraction(n, 10)),
    "0-100": st.integers(0, 100).map(Fraction),
    "0-3": st.one_of(
        st.integers(0, 3).map(Fraction), st.integers(0, 300).map(lambda n: Fraction(n, 100))
    ),
}


def globals_(scale: str | None = None) -> st.SearchStrategy[Global]:
    """Globals: 0-10 in 0.1 steps, 0-100 in whole mm, 0-3 Likert (integers or 2 decimals)."""
    if scale is not None:
        return _SCALE_VALUES[scale].map(lambda v: Global(v, scale))  # type: ignore[arg-type]
    return st.sampled_from(sorted(_SCALE_VALUES)).flatmap(globals_)


@st.composite
def core_sets(draw: st.DrawFn, scale: str | None = None) -> CoreSet:
    """One visit's core set with random missing values."""
    return CoreSet(
        phys_global=draw(maybe(globals_(scale))),
        parent_global=draw(maybe(globals_(scale))),
        chaq=draw(maybe(chaq_values)),
        active_joints=draw(maybe(joint_counts)),
        lom_joints=draw(maybe(joint_counts)),
        esr=draw(maybe(esr_values)),
    )


def _near(
    draw: st.DrawFn, baseline: Any, fresh: st.SearchStrategy[Any], top: Fraction | None
) -> Any:
    """A follow-up value: fresh, or the baseline times a boundary factor when that stays valid."""
    if baseline is None or draw(st.booleans()):
        return draw(maybe(fresh))
    value = baseline * draw(st.sampled_from(BOUNDARY_FACTORS))
    in_range = top is None or value <= top
    if isinstance(baseline, int):
        return int(value) if value.denominator == 1 else draw(maybe(fresh))
    exact = (value * UNITS).denominator == 1
    return value if in_range and exact else draw(maybe(fresh))


@st.composite
def core_set_pairs(draw: st.DrawFn) -> tuple[CoreSet, CoreSet]:
    """(baseline, follow-up): mostly one scale per pair, follow-ups often exactly at a boundary."""
    scale = draw(st.sampled_from(["0-10", "0-10", "0-100", "0-3", None]))
    baseline = draw(core_sets(scale))

    def global_near(b: Global | None) -> Global | None:
        fscale = scale if scale is not None else draw(st.sampled_from(sorted(_SCALE_VALUES)))
        if b is not None and b.scale == fscale and draw(st.booleans()):
            value = b.value * draw(st.sampled_from(BOUNDARY_FACTORS))
            top = {"0-10": 10, "0-100": 100, "0-3": 3}[fscale]
            if value <= top and (value * 100).denominator == 1:
                return Global(value, fscale)  # type: ignore[arg-type]
        return draw(maybe(globals_(fscale)))

    followup = CoreSet(
        phys_global=global_near(baseline.phys_global),
        parent_global=global_near(baseline.parent_global),
        chaq=_near(draw, baseline.chaq, chaq_values, Fraction(3)),
        active_joints=_near(draw, baseline.active_joints, joint_counts, None),
        lom_joints=_near(draw, baseline.lom_joints, joint_counts, None),
        esr=_near(draw, baseline.esr, esr_values, None),
    )
    return baseline, followup
