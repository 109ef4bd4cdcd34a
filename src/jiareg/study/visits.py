"""Timepoint visits as the study reports them: globals on the protocol's scale, inactive disease.

Pure Ibis (nothing executes here): `reported_globals` applies R-CORESET-2
(`jiareg.derive.coreset.global_0_10_expr`) and `with_inactive_disease` R-CID
(`jiareg.derive.inactive`) to the visits chosen at the timepoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from jiareg.derive.coreset import global_0_10_expr
from jiareg.derive.inactive import inactive_disease_visits_expr

if TYPE_CHECKING:
    from ibis.expr.types import Table

    from jiareg.study.protocol import Protocol

__all__ = ["reported_globals", "with_inactive_disease"]


def with_inactive_disease(visits: Table, protocol: Protocol) -> Table:
    """`visits` with an `inactive_disease` boolean column (R-CID; NULL when undetermined)."""
    config = protocol.config
    inactive = inactive_disease_visits_expr(
        visits,
        criteria=config.cid_criteria,
        esr_normal_max_mm_h=config.cid_esr_normal_max_mm_h,
        crp_normal_max_mg_l=config.cid_crp_normal_max_mg_l,
    )
    return visits.mutate(inactive_disease=inactive)


def reported_globals(visits: Table, protocol: Protocol) -> Table:
    """`visits` with phys_global and parent_global on the protocol's `globals_scale`.

    "0-10" and "0-100" use the R-CORESET-2 conversion (`global_0_10_expr`; a 0-3 Likert value
    is not convertible unless `config.allow_likert_rescale`); "0-3" keeps only values recorded
    on that scale. Values that cannot be put on the scale become NULL (missing), so a summary
    never mixes scales.
    """
    rescale = protocol.config.allow_likert_rescale
    columns = {}
    for name in ("phys_global", "parent_global"):
        value, scale = visits[name], visits[f"{name}_scale"]
        if protocol.globals_scale == "0-3":
            columns[name] = (scale.fill_null("0-10") == "0-3").ifelse(
                value.cast("float64"), ibis.null("float64")
            )
        else:
            on_10 = global_0_10_expr(value, scale, allow_likert_rescale=rescale)
            columns[name] = on_10 * 10 if protocol.globals_scale == "0-100" else on_10
    return visits.mutate(**columns)
