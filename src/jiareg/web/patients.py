"""Patient list rows and the full patient record, as the viewer may see them.

"Current biologic" is the latest biologic course with no stop date. The list's activity state
is the cJADAS10 state of the patient's latest visit (derive/ rules, via `jiareg.web.scores`).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from jiareg.services.versions import VISIT_CHILDREN, record_version
from jiareg.store.queries import Registry
from jiareg.web.access import Viewer
from jiareg.web.plots import timeline_svg
from jiareg.web.scores import visit_acr_pedi, visit_scores

__all__ = [
    "ListRow",
    "PatientFilters",
    "json_array",
    "list_scope",
    "patient_detail",
    "patient_detail_json",
    "patient_list",
    "patient_summaries",
    "patient_timeline_svg",
]


@dataclass(frozen=True, slots=True)
class PatientFilters:
    """Patient-list filters; None = no filter. `q` matches a substring of the shown id."""

    q: str | None = None
    site: str | None = None
    category: str | None = None
    biologic: str | None = None
    state: str | None = None


_EVERYONE: Final = PatientFilters()
"""No filter: the whole list (recomputed after every write, so not filtered row by row)."""


def list_scope(viewer: Viewer, filters: PatientFilters) -> tuple[object, ...]:
    """What a patient list depends on besides the registry's data: who sees which sites,
    de-identified or not, the filters, and today (ages)."""
    return (*_viewer_scope(viewer), filters)


def _viewer_scope(viewer: Viewer) -> tuple[object, ...]:
    return (viewer.site if not viewer.all_sites else "*", viewer.deidentified, date.today())


@dataclass(frozen=True, slots=True)
class ListRow:
    """One patient-list row and its JSON text (made once, when the row is computed)."""

    row: dict[str, Any]
    json: bytes


def patient_summaries(
    registry: Registry, viewer: Viewer, filters: PatientFilters, version: int | None = None
) -> list[dict[str, Any]]:
    """One row per visible patient matching `filters`, ordered by the id the viewer sees
    (`Registry.in_shown_order`: pseudonym order for researchers), de-identified for them.
    Read-only: the rows are shared with other requests."""
    return [r.row for r in patient_list(registry, viewer, filters, version)[1]]


def patient_list(
    registry: Registry, viewer: Viewer, filters: PatientFilters, version: int | None = None
) -> tuple[int, list[ListRow]]:
    """`patient_summaries` with each row's JSON, and the registry version they are for
    (`version`: the registry's version when the caller read it already, else read here).

    The unfiltered rows are kept per viewer scope and brought up to date by recomputing only
    the patients changed since (`Registry.per_patient`), so a save costs one patient's row.
    """
    version, rows = registry.per_patient(
        ("patient-list", *_viewer_scope(viewer)),
        lambda ids: _summaries(registry, viewer, ids),
        version,
    )
    matching = registry.cached(
        ("patients", *list_scope(viewer, filters)),
        lambda: registry.in_shown_order(
            viewer,
            rows if filters == _EVERYONE else [r for r in rows if _matches(r.row, filters)],
            lambda r: r.row["patient_id"],
        ),
        version,
    )
    return version, matching


def json_array(rows: list[ListRow]) -> bytes:
    """The rows as one JSON array (the same text as json.dumps of the list).

    >>> json_array([ListRow({}, b'{"a":1}'), ListRow({}, b'{"b":null}')])
    b'[{"a":1},{"b":null}]'
    """
    return b"[" + b",".join(r.json for r in rows) + b"]"


def _matches(row: dict[str, Any], filters: PatientFilters) -> bool:
    return (
        (not filters.site or row["site"] == filters.site)
        and (not filters.category or row["ilar_category"] == filters.category)
        and (not filters.biologic or row["current_biologic"] == filters.biologic)
        and (not filters.state or row["cjadas10_state"] == filters.state)
        and (not filters.q or filters.q.casefold() in row["patient_id"].casefold())
    )


def _summaries(
    registry: Registry, viewer: Viewer, ids: Collection[str] | None
) -> dict[str, ListRow]:
    """patient_id -> list row of the visible patients (of `ids`; None = all)."""
    courses = registry.open_courses(ids)
    latest = registry.latest_visits(viewer, ids)
    rows: dict[str, ListRow] = {}
    for patient in registry.patients(viewer, ids):
        pid = patient["patient_id"]
        row = registry.deidentify(viewer, patient)
        visit = latest.get(pid)
        scores = visit_scores(visit, patient["ilar_category"]) if visit else {}
        row.update(
            current_biologic=courses.get(pid),
            last_visit_date=visit["visit_date"] if visit else None,
            cjadas10=scores.get("cjadas10"),
            cjadas10_state=scores.get("cjadas10_state"),
        )
        # str, numbers, None and dates (ISO via str): no jsonable_encoder needed
        text = json.dumps(row, separators=(",", ":"), default=str).encode()
        rows[pid] = ListRow(row, text)
    return rows


def patient_detail(registry: Registry, viewer: Viewer, public_id: str) -> dict[str, Any] | None:
    """The patient's record with every visit scored; None when missing or not visible.

    Kept until the patient's own record changes (`Registry.for_patient`); read-only.
    """
    found = registry.located(viewer, public_id)
    return None if found is None else _cached_detail(registry, viewer, *found)


def patient_detail_json(registry: Registry, viewer: Viewer, public_id: str) -> bytes | None:
    """`patient_detail` as JSON (dates as ISO text), kept like it."""
    found = registry.located(viewer, public_id)
    if found is None:
        return None
    return registry.for_patient(
        found[0]["patient_id"],
        ("detail.json", viewer.deidentified, date.today()),
        lambda: json.dumps(
            _cached_detail(registry, viewer, *found), separators=(",", ":"), default=str
        ).encode(),
        found[1],
    )


def patient_timeline_svg(registry: Registry, viewer: Viewer, public_id: str) -> bytes | None:
    """The timeline plot of `patient_detail` (`jiareg.web.plots.timeline_svg`), kept like it."""
    found = registry.located(viewer, public_id)
    if found is None:
        return None
    return registry.for_patient(
        found[0]["patient_id"],
        ("timeline.svg", viewer.deidentified, date.today()),
        lambda: timeline_svg(_cached_detail(registry, viewer, *found)),
        found[1],
    )


def _cached_detail(
    registry: Registry, viewer: Viewer, patient: dict[str, Any], version: int
) -> dict[str, Any]:
    return registry.for_patient(
        patient["patient_id"],
        ("detail", viewer.deidentified, date.today()),
        lambda: _detail(registry, viewer, patient),
        version,
    )


def _detail(registry: Registry, viewer: Viewer, patient: dict[str, Any]) -> dict[str, Any]:
    record = registry.record(patient["patient_id"])
    _add_versions(record)
    shown = registry.public_id(viewer, patient["patient_id"])
    for rows in record.values():
        for row in rows:
            row["patient_id"] = shown
    for visit in record["visits"]:
        visit["scores"] = visit_scores(visit, patient["ilar_category"])
        visit["acr_pedi"] = visit_acr_pedi(record, visit)
    person = registry.deidentify(viewer, patient)
    person["version"] = record_version(patient)
    return {"patient": person, **record}


def _add_versions(record: dict[str, list[dict[str, Any]]]) -> None:
    """Give each record its `version` (a visit's covers its joint exams and CHAQ items)."""
    children: dict[object, list[dict[str, Any]]] = {}
    for name in VISIT_CHILDREN:
        for row in record[name]:
            children.setdefault(row["visit_date"], []).append(row)
    for name, rows in record.items():
        for row in rows:
            kids = children.get(row["visit_date"], []) if name == "visits" else []
            row["version"] = record_version(row, kids)
