"""CHAQ disability index (SPEC R-CHAQ) on the §11.3 vectors, scalar and columnar (DuckDB)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from tests.support.backends import Backend

from jiareg.derive.chaq import (
    CHAQ_DOMAINS,
    chaq_di,
    chaq_di_table,
    entered_chaq_di,
    format_chaq_di,
)
from jiareg.derive.exact import UNITS
from jiareg.errors import DerivationError

VECTORS = list(
    csv.DictReader((Path(__file__).parents[2] / "vectors" / "chaq.csv").read_text().splitlines())
)
DOMAIN_BY_COLUMN = dict(
    zip(["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"], CHAQ_DOMAINS, strict=True)
)


def _items(row: dict[str, str]) -> dict[str, int | None]:
    groups = row["items"].split("|")
    items: dict[str, int | None] = {}
    for keys, group in zip(CHAQ_DOMAINS.values(), groups, strict=True):
        for key, text in zip(keys, group.split(), strict=True):
            items[key] = None if text == "NA" else int(text)
    return items


def _aids(row: dict[str, str]) -> dict[str, bool]:
    if row["aid"] == "none":
        return {}
    return {DOMAIN_BY_COLUMN[code]: True for code in row["aid"].split(";")}


def _expected(text: str) -> Fraction | None:
    return None if text == "NA" else Fraction(text)


@pytest.mark.parametrize("row", VECTORS, ids=[r["id"] for r in VECTORS])
@pytest.mark.parametrize("scoring", ["original", "without_aids_help"])
def test_chaq_vectors_scalar(row: dict[str, str], scoring: str) -> None:
    result = chaq_di(_items(row), _aids(row), scoring=scoring)  # type: ignore[arg-type]
    column = "di_original" if scoring == "original" else "di_without_aids_help"
    assert result.di == _expected(row[column])
    assert result.n_domains == int(row["n_domains"])
    assert result.source == "items"
    maxima = [row[c] for c in row if c[:2] in DOMAIN_BY_COLUMN and c[2] == "_"]
    expected_domains = {
        d: None if v == "NA" else int(v) for d, v in zip(CHAQ_DOMAINS, maxima, strict=True)
    }
    if scoring == "without_aids_help":
        assert result.domain_scores == expected_domains
    else:
        unscored = [d for d, v in expected_domains.items() if v is None]
        assert [d for d, s in result.domain_scores.items() if s is None] == unscored


def check_chaq_columnar(
    execute: Callable[[Any], Any],
    scoring: str,
    make_table: Callable[[pa.Table], Any] = ibis.memtable,
) -> None:
    """The SPEC §11.3 vectors as chaq_items rows through `chaq_di_table` on `execute`'s engine."""
    rows = []
    for row in VECTORS:
        aids = _aids(row)
        for key, score in _items(row).items():
            domain = key.rsplit("_", 1)[0]
            rows.append(
                {
                    "patient_id": row["id"],
                    "visit_date": "2024-01-01",
                    "item": key,
                    "score": score,
                    "aid": aids.get(domain, False),
                }
            )
    table = make_table(pa.Table.from_pylist(rows))
    out = execute(chaq_di_table(table, scoring=scoring))  # type: ignore[arg-type]
    got = {r.patient_id: r for r in out.itertuples()}
    column = "di_original" if scoring == "original" else "di_without_aids_help"
    for row in VECTORS:
        expected = _expected(row[column])
        result = got[row["id"]]
        assert result.chaq_n_domains == int(row["n_domains"]), row["id"]
        if expected is None:
            assert result.chaq_di != result.chaq_di or result.chaq_di is None, row["id"]
        else:
            assert result.chaq_di_units == expected * UNITS, row["id"]
            assert result.chaq_di == pytest.approx(float(expected), abs=1e-12), row["id"]


@pytest.mark.parametrize("scoring", ["original", "without_aids_help"])
def test_chaq_vectors_columnar_equals_scalar(backend: Backend, scoring: str) -> None:
    check_chaq_columnar(backend.execute, scoring, backend.load)


def test_min_domains_option() -> None:
    items = {"dressing_1": 1, "arising_1": 2, "eating_1": 0, "walking_1": 0, "hygiene_1": 0}
    assert chaq_di(items, {}).di is None
    assert chaq_di(items, {}, min_domains=5).di == Fraction(3, 5)


@pytest.mark.parametrize(
    ("items", "aids", "message"),
    [
        ({"dressing_5": 1}, {}, "'dressing_5' is unknown"),
        ({"dressing_1": 4}, {}, "'dressing_1' = 4; expected an integer score 0-3"),
        ({"dressing_1": -1}, {}, "expected an integer score 0-3"),
        ({"dressing_1": 1.5}, {}, "expected an integer score 0-3"),
        ({"dressing_1": True}, {}, "expected an integer score 0-3"),
        ({}, {"d1": True}, "domain 'd1' is unknown"),
    ],
)
def test_bad_items_are_rejected(items: dict, aids: dict, message: str) -> None:
    with pytest.raises(DerivationError, match=message):
        chaq_di(items, aids)


def test_entered_di() -> None:
    result = entered_chaq_di("0.875")
    assert (result.di, result.source, result.n_domains) == (Fraction(7, 8), "entered", None)
    assert entered_chaq_di("3").di == 3
    assert entered_chaq_di(None).di is None
    with pytest.raises(DerivationError, match=r"CHAQ DI = '3.1'; expected a number from 0 to 3"):
        entered_chaq_di("3.1")


def test_format_rounds_for_display_only() -> None:
    assert format_chaq_di(Fraction(1, 6)) == "0.167"
    assert format_chaq_di(Fraction(2, 3)) == "0.667"
    assert format_chaq_di(Fraction(3)) == "3.000"
    assert format_chaq_di(Fraction(0)) == "0.000"
