"""Clinical remission on and off medication over a series of visits (SPEC R-CID, Wallace
2004: inactive disease for 6 months on medication, 12 months off it), scalar."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jiareg.derive.inactive import CidVisit, remission_status
from jiareg.errors import DerivationError

D0 = date(2024, 1, 1)


def _series(*days_and_flags: tuple[int, bool | None, bool | None]) -> list[CidVisit]:
    return [CidVisit(D0 + timedelta(days=d), cid, med) for d, cid, med in days_and_flags]


def _at(visits: list[CidVisit], day: int) -> str | None:
    return remission_status(visits, D0 + timedelta(days=day))


def test_remission_on_medication_exactly_182_days() -> None:
    visits = _series((0, True, True), (91, True, True), (182, True, True))
    assert _at(visits, 182) == "remission_on_medication"
    assert _at(visits, 91) == "no_remission"
    short = _series((0, True, True), (91, True, True), (181, True, True))
    assert _at(short, 181) == "no_remission"


def test_121_day_gap_breaks_continuity() -> None:
    broken = _series((0, True, True), (121, True, True), (200, True, True))
    assert _at(broken, 200) == "no_remission"
    kept = _series((0, True, True), (120, True, True), (200, True, True))
    assert _at(kept, 200) == "remission_on_medication"
    assert remission_status(broken, D0 + timedelta(days=200), max_visit_gap_days=121) == (
        "remission_on_medication"
    )


def test_remission_off_medication_365_days() -> None:
    visits = _series(
        (0, True, True),
        (100, True, False),
        (200, True, False),
        (300, True, False),
        (365, True, False),
        (465, True, False),
    )
    assert _at(visits, 365) == "no_remission"  # off medication only since day 100
    assert _at(visits, 465) == "remission_off_medication"
    assert _at(visits, 300) == "no_remission"


def test_active_visit_and_unknowns() -> None:
    visits = _series((0, True, True), (90, False, True), (180, True, True), (270, True, True))
    assert _at(visits, 90) == "no_remission"
    assert _at(visits, 270) == "no_remission"
    unknown_old = _series((0, None, True), (90, True, True), (180, True, True), (272, True, True))
    assert _at(unknown_old, 272) == "remission_on_medication"  # proved from day 90: 182 days
    assert _at(unknown_old, 180) is None  # could be 180 days or more
    assert _at(_series((0, None, True)), 0) is None
    assert _at(_series((0, True, None)), 0) is None


def test_remission_bad_series() -> None:
    with pytest.raises(DerivationError, match="no visit on the evaluated date"):
        _at(_series((0, True, True)), 5)
    with pytest.raises(DerivationError, match="share a date"):
        _at(_series((0, True, True), (0, True, True)), 0)
