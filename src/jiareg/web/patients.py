"""Patient list rows and the full patient record, as the viewer may see them.

"Current biologic" is the latest biologic course with no stop date. The list's activity state
is the cJADAS10 state of the patient's latest visit (derive/ rules, via `jiareg.web.scores`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from jiareg.web.access import Viewer
from jiareg.web.registry import Registry
from jiareg.web.scores import visit_scores

__all__ = ["PatientFilters", "list_scope", "patient_detail", "patient_summaries"]


@dataclass(frozen=True, slots=True)
class PatientFilters:
    """Patient-list filters; None = no filter. `q` matches a substring of the shown id."""

    q: str | None = None
    site: str | None = None
    category: str | None = None
    biologic: str | None = None
    state: str | None = None


def list_scope(viewer: Viewer, filters: PatientFilters) -> tuple[object, ...]:
    """What a patient list depends on besides the registry's data: who sees which sites,
    de-identified or not, the filters, and today (ages)."""
    return (
        viewer.site if not viewer.all_sites else "*",
        viewer.deidentified,
        filters,
        date.today(),
    )


def patient_summaries(
    registry: Registry, viewer: Viewer, filters: PatientFilters
) -> list[dict[str, Any]]:
    """One row per visible patient matching `filters`, de-identified for researchers.

    Computed once per registry change and `list_scope` (`Registry.cached`); read-only.
    """
    return registry.cached(
        ("patients", *list_scope(viewer, filters)),
        lambda: _summaries(registry, viewer, filters),
    )


def _summaries(registry: Registry, viewer: Viewer, filters: PatientFilters) -> list[dict[str, Any]]:
    courses = registry.open_courses()
    latest = registry.latest_visits(viewer)
    rows: list[dict[str, Any]] = []
    for patient in registry.patients(viewer):
        pid = patient["patient_id"]
        if filters.site and patient["site"] != filters.site:
            continue
        if filters.category and patient["ilar_category"] != filters.category:
            continue
        biologic = courses.get(pid)
        if filters.biologic and biologic != filters.biologic:
            continue
        row = registry.deidentify(viewer, patient)
        if filters.q and filters.q.casefold() not in row["patient_id"].casefold():
            continue
        visit = latest.get(pid)
        scores = visit_scores(visit, patient["ilar_category"]) if visit else {}
        state = scores.get("cjadas10_state")
        if filters.state and state != filters.state:
            continue
        row.update(
            current_biologic=biologic,
            last_visit_date=visit["visit_date"] if visit else None,
            cjadas10=scores.get("cjadas10"),
            cjadas10_state=state,
        )
        rows.append(row)
    return rows


def patient_detail(registry: Registry, viewer: Viewer, public_id: str) -> dict[str, Any] | None:
    """The patient's record with every visit scored; None when missing or not visible."""
    patient = registry.resolve(viewer, public_id)
    if patient is None:
        return None
    record = registry.record(patient["patient_id"])
    shown = registry.public_id(viewer, patient["patient_id"])
    for rows in record.values():
        for row in rows:
            row["patient_id"] = shown
    for visit in record["visits"]:
        visit["scores"] = visit_scores(visit, patient["ilar_category"])
    return {"patient": registry.deidentify(viewer, patient), **record}
