"""The ACR Pedi 30/50/70/90 vectors (tests/vectors/acr_pedi.csv: SPEC §11.1 and jiareg's
boundary rows) and how to read a row: its core sets, configuration and expected result.
Used by the rule's unit tests and by the `jiareg calc` command's tests."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jiareg.derive.coreset import CoreSet, Global
from jiareg.derive.exact import to_fraction

VECTORS = Path(__file__).parents[1] / "vectors" / "acr_pedi.csv"
SHORT = {"NE": "NOT_EVALUABLE"}
# vector column stem -> template column name
VARIABLES = {
    "pga": "phys_global",
    "par": "parent_global",
    "chaq": "chaq",
    "ajc": "active_joints",
    "lom": "lom_joints",
    "esr": "esr",
}


def acr_vectors() -> list[dict[str, str]]:
    """Rows of tests/vectors/acr_pedi.csv (SPEC §11.1 and jiareg boundary rows)."""
    with VECTORS.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def expected_result(row: Mapping[str, str]) -> str:
    return SHORT.get(row["result"], row["result"])


def config_of(row: Mapping[str, str]) -> dict[str, Any]:
    return {
        "zero_baseline_worsening": row["zero_baseline_worsening"] or "any_increase",
        "acr_missing_mode": row["acr_missing_mode"] or "determinate",
    }


def core_set(row: Mapping[str, str], visit: str) -> CoreSet:
    """The baseline ("b") or follow-up ("f") core set of one vector row."""

    def joints(stem: str) -> Any:
        value = to_fraction(row[f"{visit}_{stem}"])
        return value.numerator if value is not None and value.denominator == 1 else value

    return CoreSet(
        phys_global=Global.parse(row[f"{visit}_pga"], row[f"{visit}_pga_scale"]),
        parent_global=Global.parse(row[f"{visit}_par"], row[f"{visit}_par_scale"]),
        chaq=to_fraction(row[f"{visit}_chaq"]),
        active_joints=joints("ajc"),
        lom_joints=joints("lom"),
        esr=to_fraction(row[f"{visit}_esr"]),
    )
