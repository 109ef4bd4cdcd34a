"""A tiny registry builder for study tests: Arrow tables with the Contract 2 types.

`Registry` holds rows per template table; `tables()` turns them into Arrow with the store's
schema (`jiareg.store.tables.arrow_schema`), so studies read exactly what a real registry
gives them. Days are offsets from a fixed index date, which keeps the cases readable.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from jiareg.store.tables import arrow_schema

INDEX = date(2020, 3, 2)
TABLES = ("patients", "visits", "treatments", "administrations", "steroids", "adverse_events")
ROOT = Path(__file__).resolve().parents[3]


def day(n: int) -> date:
    """The date `n` days after the index date."""
    return INDEX + timedelta(days=n)


class Registry:
    """Rows by template table; missing columns are NULL."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}

    def patient(
        self,
        pid: str,
        *,
        category: str = "systemic",
        infusions: int = 8,
        prior: str | None = "primary_failure",
    ) -> Registry:
        """A patient on IV tocilizumab every 14 days from day 0, after an etanercept course."""
        self.rows["patients"].append(
            {
                "patient_id": pid,
                "site": "T",
                "sex": "F",
                "birth_date": date(2010, 1, 1),
                "ilar_category": category,
                "onset_date": date(2015, 1, 1),
            }
        )
        self.rows["treatments"].append(
            {"patient_id": pid, "drug": "tocilizumab", "route": "iv", "start_date": day(0)}
        )
        if prior:
            self.rows["treatments"].append(
                {
                    "patient_id": pid,
                    "drug": "etanercept",
                    "route": "sc",
                    "start_date": day(-400),
                    "stop_date": day(-100),
                    "stop_reason": prior,
                }
            )
        for k in range(infusions):
            self.rows["administrations"].append(
                {
                    "patient_id": pid,
                    "drug": "tocilizumab",
                    "date": day(14 * k),
                    "dose_mg": 240.0,
                    "weight_kg": 20.0,
                }
            )
        return self

    def visit(self, pid: str, on_day: int, **values: Any) -> Registry:
        """A visit; core-set defaults are a moderately active child on the 0-10 scale."""
        row = {
            "patient_id": pid,
            "visit_date": day(on_day),
            "weight_kg": 20.0,
            "phys_global": 6.0,
            "phys_global_scale": "0-10",
            "parent_global": 6.0,
            "parent_global_scale": "0-10",
            "chaq": 1.0,
            "active_joints": 10,
            "lom_joints": 6,
            "esr": 40.0,
            "fever": False,
            "rash": False,
        }
        row.update(values)
        self.rows["visits"].append(row)
        return self

    def steroid(
        self,
        pid: str,
        drug: str,
        mg: float,
        start: int,
        stop: int | None = None,
        route: str | None = "oral",
    ) -> Registry:
        """A steroid period from day `start` through day `stop` (inclusive; None = ongoing)."""
        self.rows["steroids"].append(
            {
                "patient_id": pid,
                "drug": drug,
                "daily_dose_mg": mg,
                "start_date": day(start),
                "stop_date": None if stop is None else day(stop),
                "route": route,
            }
        )
        return self

    def tables(self) -> dict[str, pa.Table]:
        out = {}
        for name in TABLES:
            schema = arrow_schema(name)
            rows = self.rows[name]
            out[name] = pa.Table.from_pylist(
                [{c: r.get(c) for c in schema.names} for r in rows], schema=schema
            )
        return out


def demo_tables() -> dict[str, pa.Table]:
    """The shipped demo cohort CSVs read with the store's column types (yes/no → bool)."""
    folder = ROOT / "src" / "jiareg" / "demo" / "cohort"
    out = {}
    for name in TABLES:
        schema = arrow_schema(name)
        options = pacsv.ConvertOptions(
            column_types=schema,
            true_values=["yes"],
            false_values=["no"],
            strings_can_be_null=True,
        )
        table = pacsv.read_csv(folder / f"{name}.csv", convert_options=options)
        out[name] = table.select(schema.names).cast(schema)
    return out
