"""Baseline covariates of the `patients` analysis dataset beyond the core set: JADAS-10 and
corticosteroid use at the baseline visit (the propensity covariates of `jiareg.study.arms`).

JADAS-10 is `jiareg.derive.jadas.jadas_from_globals` (Consolaro A et al. Arthritis Rheum
2009;61:658-666: both globals on 0-10, active joints capped at 10, ESR points), from the
baseline visit's values on the protocol's globals scale; None when a component is missing or
a global is on the 0-3 scale. Steroid use: a prednisone-equivalent dose above 0 on the
baseline visit's date (`jiareg.study.endpoints.steroid_change`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import pandas as pd

from jiareg.derive.coreset import Global
from jiareg.derive.exact import to_fraction
from jiareg.derive.jadas import jadas_from_globals
from jiareg.study.endpoints.common import at_timepoint

if TYPE_CHECKING:
    from jiareg.study.endpoints import SummaryContext
    from jiareg.study.result import StudyResult

__all__ = ["baseline_covariates"]

Kind = Literal["string", "integer", "number", "boolean", "date"]


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _global(value: object, scale: str) -> Global | None:
    """The value as recorded on `scale` (rounded to the scale's decimals: the 0-10 → 0-100
    conversion leaves float noise such as 42.00000000000001)."""
    if _missing(value):
        return None
    digits = 3 if scale == "0-10" else 2
    return Global(to_fraction(round(float(value), digits)), scale)  # type: ignore[arg-type]  # a number


def _jadas10(phys: object, parent: object, joints: object, esr: object, scale: str) -> float | None:
    score = jadas_from_globals(
        _global(phys, scale),
        _global(parent, scale),
        None if _missing(joints) else int(joints),  # type: ignore[call-overload]  # a number
        marker=None if _missing(esr) else to_fraction(esr),
    ).score
    return None if score is None else float(score)


def baseline_covariates(
    result: StudyResult | SummaryContext, ids: list[str], baseline: pd.DataFrame
) -> list[tuple[str, str, Kind, str, list[object]]]:
    """(name, label, kind, unit, values in `ids` order) of each extra baseline column.

    `baseline` is the baseline visit of each patient, indexed by patient_id.
    """
    protocol = result.protocol
    scale = protocol.globals_scale
    rows = baseline.reindex(ids)
    jadas: list[object] = [
        _jadas10(*values, scale)
        for values in zip(
            rows["phys_global"],
            rows["parent_global"],
            rows["active_joints"],
            rows["esr"],
            strict=True,
        )
    ]
    steroids = at_timepoint(result.tables["steroids"], protocol.baseline).set_index("patient_id")
    doses = steroids["peq_mg_day"].reindex(ids)
    on_steroids: list[object] = [None if _missing(d) else bool(d > 0) for d in doses]
    return [
        ("baseline_jadas10", "baseline JADAS-10 (ESR)", "number", "0-40", jadas),
        ("baseline_steroids", "systemic corticosteroids at baseline", "boolean", "", on_steroids),
    ]
