"""The dose-check vectors (tests/vectors/dosing.csv: SPEC §11.4 and jiareg's boundary rows;
dosing_age.csv: adalimumab's age limit) and how to read a row's expected interval and flags.
Used by the rule's scalar and columnar tests and by its labelling tests."""

from __future__ import annotations

import csv
from pathlib import Path

VECTORS = Path(__file__).parents[1] / "vectors"


def dosing_vectors(name: str = "dosing.csv") -> list[dict[str, str]]:
    """Rows of tests/vectors/`name`."""
    with (VECTORS / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def expected_flags(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(f for f in row["flags"].split(";") if f)


def interval_days(row: dict[str, str]) -> int | None:
    return None if row["interval_weeks"] == "NA" else int(row["interval_weeks"]) * 7


TCZ_LABELLED = {"sJIA", "pJIA", "systemic", "poly_rf_pos", "poly_rf_neg", "oligo_extended"}
"""The categories tocilizumab is labelled for (SPEC §12b.7), as codes and as names."""
TCZ_CATEGORIES = [*sorted(TCZ_LABELLED), "oligo_persistent", "psoriatic", "era", "ERA", None]
"""Those, other ILAR categories, a code in another case and an unknown category."""
