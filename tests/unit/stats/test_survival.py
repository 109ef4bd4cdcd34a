"""Kaplan–Meier against Kleinbaum's leukemia remission data (6-MP group).

Data: Freireich et al. 1963, as printed in Kleinbaum DG, Klein M. Survival Analysis: A
Self-Learning Text, 3rd ed., Springer 2012, ch. 2 (group 1, n = 21, weeks in remission).
The book's KM table gives S(6)=0.8571, S(7)=0.8067, S(10)=0.7529, S(13)=0.6902, S(16)=0.6275,
S(22)=0.5378, S(23)=0.4482 and median 23 weeks.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.examples import examples

from jiareg.stats.survival import kaplan_meier

TIMES = [6, 6, 6, 7, 10, 13, 16, 22, 23, 6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35]
EVENTS = [True] * 9 + [False] * 12
KLEINBAUM = {6: 0.8571, 7: 0.8067, 10: 0.7529, 13: 0.6902, 16: 0.6275, 22: 0.5378, 23: 0.4482}


def test_kleinbaum_leukemia_group_1() -> None:
    r = kaplan_meier(TIMES, EVENTS)
    by_time = {row.time: row for row in r.table}
    for time, expected in KLEINBAUM.items():
        assert by_time[time].survival == pytest.approx(expected, abs=1e-4)
    assert r.median == 23.0
    assert (r.n, r.n_events) == (21, 9)
    assert by_time[6].at_risk == 21 and by_time[6].events == 3 and by_time[6].censored == 1
    assert r.median_ci[0] == 13.0
    assert r.median_ci[1] is None  # the upper CI curve never reaches 0.5


def test_everyone_responded() -> None:
    r = kaplan_meier([14, 14, 28, 56, 84], [True] * 5)
    assert r.table[-1].survival == 0.0
    assert r.median == 28.0
    assert r.n_events == 5


def test_nobody_responded() -> None:
    r = kaplan_meier([30, 60, 90], [False] * 3)
    assert r.median is None
    assert r.median_ci == (None, None)
    assert all(row.survival == 1.0 for row in r.table)


@pytest.mark.parametrize(
    ("durations", "events", "message"),
    [([], [], "no subjects"), ([1, 2], [True], "2 durations"), ([-1], [True], ">= 0")],
)
def test_bad_input(durations: list[float], events: list[bool], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaplan_meier(durations, events)


@pytest.mark.parametrize("n", [6, 8, 14])
def test_median_exactly_half_is_recognised(n: int) -> None:
    """R-NUM-1 / SPEC §12b.8: S(n/2) is exactly 1/2, so the median is n/2, not the next time.

    The float product gives 0.5000000000000001 at t = n/2 (the issue #15 finding).
    """
    r = kaplan_meier(list(range(1, n + 1)), [True] * n)
    assert r.median == n / 2
    assert r.median_midpoint == n / 2 + 0.5  # R's survfit convention, reported beside it


def test_median_below_half_has_no_midpoint_shift() -> None:
    r = kaplan_meier([1, 2, 3], [True] * 3)  # S(2) = 1/3 < 1/2: no flat segment at 1/2
    assert r.median == 2.0
    assert r.median_midpoint == 2.0


def test_median_at_half_on_the_last_time_has_open_midpoint() -> None:
    r = kaplan_meier([1, 2, 2], [True, False, False])  # S = 2/3 then flat: never 1/2
    assert r.median is None
    r = kaplan_meier([1, 2], [True, False])  # S(1) = 1/2 exactly, nothing after: R gives 1
    assert r.median == 1.0
    assert r.median_midpoint == 1.0


@pytest.mark.parametrize(
    ("durations", "events"),
    [
        (TIMES, EVENTS),
        (list(range(1, 15)), [True] * 14),
        ([0.1, 0.2, 0.2, 0.7, 1.3, 1.3, 2.9], [True, False, True, True, False, True, True]),
        ([5, 5, 5, 10, 10, 20], [True, True, False, True, False, False]),
    ],
)
def test_table_matches_lifelines(durations: list[float], events: list[bool]) -> None:
    from lifelines import KaplanMeierFitter

    fitter = KaplanMeierFitter().fit(durations, events)
    expected = fitter.survival_function_.iloc[:, 0]
    rows = kaplan_meier(durations, events).table
    assert [row.time for row in rows] == [float(t) for t in expected.index]
    for row, value in zip(rows, expected, strict=True):
        assert row.survival == pytest.approx(float(value), abs=1e-12)


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=12), st.booleans()), min_size=1, max_size=25
    )
)
def test_exact_median_and_lifelines_table(subjects: list[tuple[int, bool]]) -> None:
    """The table equals lifelines' to 1e-12; the median is the first time with exact S ≤ 1/2."""
    from fractions import Fraction

    from lifelines import KaplanMeierFitter

    durations = [float(d) for d, _ in subjects]
    events = [e for _, e in subjects]
    r = kaplan_meier(durations, events)
    expected = KaplanMeierFitter().fit(durations, events).survival_function_.iloc[:, 0]
    for row, value in zip(r.table, expected, strict=True):
        assert row.survival == pytest.approx(float(value), abs=1e-12)
    survival, median = Fraction(1), None
    for t in sorted({d for d, _ in subjects}):
        at_risk = sum(d >= t for d, _ in subjects)
        died = sum(d == t and e for d, e in subjects)
        survival *= Fraction(at_risk - died, at_risk)
        if survival <= Fraction(1, 2):
            median = float(t)
            break
    assert r.median == median
