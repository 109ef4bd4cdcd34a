"""Import warnings (not blocking): tocilizumab doses more than 10 % off the label dose.

For each tocilizumab administration with a dose and a weight, the label dose for that weight
comes from `jiareg.derive.dosing.label_dose` (indication from the patient's ILAR category,
route from the patient's tocilizumab course: SC only when every course is SC, else IV) and
the comparison from `check_administered_dose` (SPEC R-DOSE, `config.dose_tolerance_pct`).
Patients whose category gives no tocilizumab indication are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from jiareg.derive.dosing import (
    DOSE_DEVIATION,
    DoseCheck,
    check_administered_dose,
    dose_indication,
    label_dose,
)
from jiareg.ingest.validate import MAX_REPORTED, ValidTable
from jiareg.store.snapshot import read_table

__all__ = ["dose_warnings"]

_DRUG: Final = "tocilizumab"


def _merged(
    conn: Connection, valid: Mapping[str, ValidTable], name: str, cols: list[str], key: list[str]
) -> pa.Table:
    """The registry's rows overridden by the import's rows with the same key."""
    registry = read_table(conn, name).select(cols)
    if name not in valid:
        return registry
    imported = valid[name].data.select(cols)
    return (
        pa.concat_tables([imported, registry])
        .group_by(key, use_threads=False)
        .aggregate([(c, "first") for c in cols if c not in key])
        .rename_columns(key + [c for c in cols if c not in key])
    )


@lru_cache(maxsize=4096)
def _check(weight: float, category: str, route: str) -> DoseCheck:
    return label_dose(_DRUG, weight_kg=weight, category=category, route=route)


def dose_warnings(valid: Mapping[str, ValidTable], conn: Connection) -> tuple[str, ...]:
    """One line per tocilizumab administration more than 10 % off its label dose."""
    if "administrations" not in valid:
        return ()
    adm = valid["administrations"]
    data = adm.data.append_column("__row", adm.rows)
    data = data.filter(
        pc.and_(
            pc.equal(data.column("drug"), _DRUG),
            pc.and_(pc.is_valid(data.column("weight_kg")), pc.is_valid(data.column("dose_mg"))),
        )
    )
    if data.num_rows == 0:
        return ()
    patients = _merged(conn, valid, "patients", ["patient_id", "ilar_category"], ["patient_id"])
    categories = dict(
        zip(
            patients.column("patient_id").to_pylist(),
            patients.column("ilar_category").to_pylist(),
            strict=True,
        )
    )
    courses = _merged(
        conn,
        valid,
        "treatments",
        ["patient_id", "drug", "start_date", "route"],
        ["patient_id", "drug", "start_date"],
    )
    courses = courses.filter(pc.equal(courses.column("drug"), _DRUG))
    routes: dict[str, set[str]] = {}
    for pid, route in zip(
        courses.column("patient_id").to_pylist(), courses.column("route").to_pylist(), strict=True
    ):
        routes.setdefault(pid, set()).add(route or "iv")
    warnings: list[str] = []
    count = 0
    for pid, weight, dose, row in zip(
        *(data.column(c).to_pylist() for c in ("patient_id", "weight_kg", "dose_mg", "__row")),
        strict=True,
    ):
        category = categories.get(pid)
        if category is None or dose_indication(category) is None:
            continue
        route = "sc" if routes.get(pid) == {"sc"} else "iv"
        check = _check(weight, category, route)
        if DOSE_DEVIATION not in check_administered_dose(dose, check):
            continue
        count += 1
        if len(warnings) < MAX_REPORTED:
            expected = float(check.expected_mg) if check.expected_mg is not None else 0.0
            warnings.append(
                f"{adm.file}:{row}: tocilizumab {dose:g} mg for {weight:g} kg is more than "
                f"10 % off the label dose {expected:g} mg ({route.upper()}, {category}, "
                f"weight band {check.band}); imported anyway"
            )
    if count > len(warnings):
        warnings.append(f"... and {count - len(warnings)} more dose warnings")
    return tuple(warnings)
