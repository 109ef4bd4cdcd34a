"""The statements of the patient list's reads (`jiareg.store.queries.Registry`), built once
per shape: every patient or some (`ids`, an expanding parameter), every site or one
(`site`). A worker brings its kept list up to date after every save with these three reads,
and building a statement (and its cache key) cost several times running it.

>>> print(open_courses(some=True))  # doctest: +NORMALIZE_WHITESPACE
SELECT treatments.patient_id, treatments.drug FROM treatments
WHERE treatments.stop_date IS NULL AND treatments.patient_id IN (__[POSTCOMPILE_ids])
ORDER BY treatments.start_date
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any, Final

from sqlalchemy import BindParameter, Select, bindparam, func, select

from jiareg.store.models import Base

__all__ = ["latest_visits", "list_params", "open_courses", "patients"]

_PATIENTS: Final = Base.metadata.tables["patients"]
_VISITS: Final = Base.metadata.tables["visits"]
_TREATMENTS: Final = Base.metadata.tables["treatments"]
_IDS: Final[BindParameter[Any]] = bindparam("ids", expanding=True)
_SITE: Final[BindParameter[Any]] = bindparam("site")


def list_params(site: str | None, ids: Collection[str] | None) -> dict[str, Any]:
    """The parameters of these statements: `site` (None: every site), `ids` (None: all).

    >>> list_params("A", {"x"}), list_params(None, None)
    ({'site': 'A', 'ids': ['x']}, {})
    """
    out: dict[str, Any] = {} if site is None else {"site": site}
    if ids is not None:
        out["ids"] = sorted(ids)
    return out


@cache
def patients(*, all_sites: bool, some: bool) -> Select[Any]:
    """Patient rows ordered by id (of `ids` when `some`; of `site` unless `all_sites`)."""
    stmt = select(_PATIENTS).order_by(_PATIENTS.c.patient_id)
    if some:
        stmt = stmt.where(_PATIENTS.c.patient_id.in_(_IDS))
    return stmt if all_sites else stmt.where(_PATIENTS.c.site == _SITE)


@cache
def latest_visits(*, all_sites: bool, some: bool) -> Select[Any]:
    """Each patient's most recent visit row, with the patient's site."""
    last_q = select(_VISITS.c.patient_id, func.max(_VISITS.c.visit_date).label("last_date"))
    if some:
        last_q = last_q.where(_VISITS.c.patient_id.in_(_IDS))
    last = last_q.group_by(_VISITS.c.patient_id).subquery()
    stmt = (
        select(_VISITS, _PATIENTS.c.site)
        .join(
            last,
            (_VISITS.c.patient_id == last.c.patient_id)
            & (_VISITS.c.visit_date == last.c.last_date),
        )
        .join(_PATIENTS, _PATIENTS.c.patient_id == _VISITS.c.patient_id)
    )
    return stmt if all_sites else stmt.where(_PATIENTS.c.site == _SITE)


@cache
def open_courses(*, some: bool) -> Select[Any]:
    """The courses with no stop date (patient_id, drug), oldest start first."""
    stmt = (
        select(_TREATMENTS.c.patient_id, _TREATMENTS.c.drug)
        .where(_TREATMENTS.c.stop_date.is_(None))
        .order_by(_TREATMENTS.c.start_date)
    )
    return stmt.where(_TREATMENTS.c.patient_id.in_(_IDS)) if some else stmt
