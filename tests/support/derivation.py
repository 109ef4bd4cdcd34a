"""ACR Pedi level against the first visit and JADAS-10 for every follow-up visit, two ways:
`derivation_plan` (the Ibis expressions of `jiareg.derive`, what studies run) and `scalar_rows`
(pandas row-wise `apply` of the exact scalar rules, the reference). The engine parity suite
checks one against the other on every engine; `bench/bench_derive.py` times them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from jiareg.derive.acr_pedi import acr_pedi_level
from jiareg.derive.acr_pedi_columnar import (
    acr_pedi_unit_columns,
    core_set_units,
    first_visit_pairs,
)
from jiareg.derive.coreset import CoreSet, Global
from jiareg.derive.exact import to_fraction
from jiareg.derive.jadas import jadas_from_globals, jadas_globals_expr
from jiareg.vocab import CORE_SET_VARIABLES

COLUMNS = (*CORE_SET_VARIABLES, "phys_global_scale", "parent_global_scale")


def derivation_plan(visits: Any) -> Any:
    """Ibis: each follow-up visit with its ACR Pedi level against the patient's first visit
    and its JADAS-10 (ESR); columns `patient_id, visit_date, acr_pedi_level, jadas10`.
    """
    units = core_set_units({c: visits[c] for c in COLUMNS})
    jadas10 = jadas_globals_expr(
        visits.phys_global,
        visits.phys_global_scale,
        visits.parent_global,
        visits.parent_global_scale,
        visits.active_joints,
        marker=visits.esr,
    )
    per_visit = visits.select(
        "patient_id", "visit_date", jadas10=jadas10, **{f"u_{k}": v for k, v in units.items()}
    )
    pairs = first_visit_pairs(per_visit, [f"u_{k}" for k in units])
    scored = acr_pedi_unit_columns(
        pairs, {k: pairs[f"b_u_{k}"] for k in units}, {k: pairs[f"u_{k}"] for k in units}
    )
    return scored.select("patient_id", "visit_date", "acr_pedi_level", "jadas10")


def _core_set(row: pd.Series, prefix: str) -> CoreSet:
    def value(name: str) -> Any:
        v = row[prefix + name]
        return None if pd.isna(v) else v

    def global_(name: str) -> Global | None:
        v = value(name)
        return None if v is None else Global(to_fraction(v), value(f"{name}_scale") or "0-10")  # type: ignore[arg-type]

    counts = {
        n: None if value(n) is None else int(value(n)) for n in ("active_joints", "lom_joints")
    }
    return CoreSet(
        global_("phys_global"),
        global_("parent_global"),
        to_fraction(value("chaq")),
        counts["active_joints"],
        counts["lom_joints"],
        to_fraction(value("esr")),
    )


def _scalar_row(row: pd.Series) -> tuple[int | None, float | None]:
    follow = _core_set(row, "")
    level = acr_pedi_level(_core_set(row, "b_"), follow)
    jadas = jadas_from_globals(
        follow.phys_global, follow.parent_global, follow.active_joints, marker=follow.esr
    )
    return level, None if jadas.score is None else float(jadas.score)


def follow_up_pairs(visits: pd.DataFrame) -> pd.DataFrame:
    """pandas: each follow-up visit with its patient's first-visit values as `b_<column>`."""
    visits = visits.sort_values(["patient_id", "visit_date"], kind="stable")
    first = visits.groupby("patient_id", sort=False).head(1)
    base = first[["patient_id", *COLUMNS]].rename(columns={c: f"b_{c}" for c in COLUMNS})
    pairs = visits.merge(base, on="patient_id")
    return pairs[pairs.groupby("patient_id").cumcount() > 0].reset_index(drop=True)


def scalar_rows(pairs: pd.DataFrame) -> pd.DataFrame:
    """pandas row-wise `apply` of the scalar rules (exact Fractions): the reference."""
    out = pairs.apply(_scalar_row, axis=1, result_type="expand")
    out.columns = ["acr_pedi_level", "jadas10"]
    return pd.concat([pairs[["patient_id", "visit_date"]], out], axis=1)
