"""Import warnings (not blocking): tocilizumab doses more than 10 % off the label dose.

For each tocilizumab administration with a dose and a weight, the label dose for that weight
and the deviation come from `jiareg.derive.dosing.tocilizumab_check_exprs` (the columnar twin
of `label_dose` + `check_administered_dose`; SPEC R-DOSE, `config.dose_tolerance_pct`), run
on DuckDB. Indication from the patient's ILAR category (systemic -> sJIA, else pJIA); route
SC only when every tocilizumab course of the patient is SC, else IV. Patients without a
category are not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from jiareg.derive.dosing import tocilizumab_check_exprs
from jiareg.ingest.validate import MAX_REPORTED, ValidTable
from jiareg.services.duckdb_rules import run_rule
from jiareg.store.tables import read_table

if TYPE_CHECKING:
    from ibis.expr.types import Table

__all__ = ["dose_check"]

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


def dose_check(
    valid: Mapping[str, ValidTable], conn: Connection
) -> Callable[[], tuple[str, ...]] | None:
    """The dose warnings, in two steps: what they need from `conn` is read now; the returned
    function gives one line per tocilizumab administration more than 10 % off its label
    dose, without `conn` (an import runs it on a worker thread while it writes). None when
    there is nothing to check (no tocilizumab administration with a dose and a weight)."""
    if "administrations" not in valid:
        return None
    adm = valid["administrations"]
    data = adm.data.append_column("__row", adm.rows)
    keep = pc.and_(
        pc.equal(data.column("drug"), _DRUG),
        pc.and_(pc.is_valid(data.column("weight_kg")), pc.is_valid(data.column("dose_mg"))),
    )
    data = data.filter(keep).select(["patient_id", "dose_mg", "weight_kg", "__row"])
    if data.num_rows == 0:
        return None
    patients = _merged(conn, valid, "patients", ["patient_id", "ilar_category"], ["patient_id"])
    courses = _merged(
        conn,
        valid,
        "treatments",
        ["patient_id", "drug", "start_date", "route"],
        ["patient_id", "drug", "start_date"],
    )
    return lambda: _flagged(adm.file, data, patients, courses)


def _deviating(administrations: Table) -> Table:
    """The administrations more than 10 % off their label dose, with the check's columns."""
    checks = tocilizumab_check_exprs(
        administrations.weight_kg,
        administrations.dose_mg,
        category=administrations.ilar_category,
        route=administrations.route,
    )
    return administrations.mutate(**checks).filter(lambda t: t.dose_deviation).order_by("__row")


def _flagged(file: str, data: pa.Table, patients: pa.Table, courses: pa.Table) -> tuple[str, ...]:
    courses = courses.filter(pc.equal(courses.column("drug"), _DRUG))
    not_sc = pc.not_equal(pc.fill_null(courses.column("route"), "iv"), "sc")
    iv_users = pc.unique(courses.filter(not_sc).column("patient_id"))
    sc_only = pc.unique(courses.column("patient_id")).filter(
        pc.invert(pc.is_in(pc.unique(courses.column("patient_id")), value_set=iv_users))
    )
    data = data.join(patients, "patient_id", join_type="inner").sort_by("__row")
    data = data.filter(pc.is_valid(data.column("ilar_category")))
    route = pc.if_else(pc.is_in(data.column("patient_id"), value_set=sc_only), "sc", "iv")
    data = data.append_column("route", route)
    flagged = run_rule(_deviating, administrations=data)  # SQL compiled once per process
    warnings = [
        f"{file}:{row['__row']}: tocilizumab {row['dose_mg']:g} mg for "
        f"{row['weight_kg']:g} kg is more than 10 % off the label dose "
        f"{row['expected_mg']:g} mg ({row['route'].upper()}, {row['ilar_category']}); "
        "imported anyway"
        for row in flagged.slice(0, MAX_REPORTED).to_pylist()
    ]
    if flagged.num_rows > len(warnings):
        warnings.append(f"... and {flagged.num_rows - len(warnings)} more dose warnings")
    return tuple(warnings)
