"""Garwood exact Poisson limits against the published table.

Reference: Garwood 1936 limits as tabulated e.g. in Ulm K, Am J Epidemiol 1990;131:373-375 and
Daly L, Comput Biol Med 1992: k=0 -> (0, 3.689); k=1 -> (0.0253, 5.572); k=5 -> (1.624, 11.668).
"""

import pytest

from jiareg.stats.rates import incidence_per_100py


@pytest.mark.parametrize(
    ("k", "low", "high"),
    [(0, 0.0, 3.689), (1, 0.0253, 5.572), (5, 1.624, 11.668)],
    ids=["0-events", "1-event", "5-events"],
)
def test_limits_on_counts(k: int, low: float, high: float) -> None:
    # 100 patient-years: the per-100-PY limits equal the limits on the count.
    r = incidence_per_100py(k, 100.0)
    assert r.rate_per_100py == pytest.approx(k)
    assert r.ci == pytest.approx((low, high), abs=1e-3)
    assert "Garwood" in r.method


def test_scaled_by_exposure() -> None:
    r = incidence_per_100py(0, 4.0)  # 9 children, about 5 months each
    assert r.rate_per_100py == 0.0
    assert r.ci[1] == pytest.approx(3.689 * 100 / 4.0, abs=0.01)


@pytest.mark.parametrize(("events", "py"), [(-1, 1.0), (1, 0.0), (1, -2.0)])
def test_bad_input(events: int, py: float) -> None:
    with pytest.raises(ValueError, match="expected"):
        incidence_per_100py(events, py)
