"""Pages beyond the patient record: dose checker, cohort dashboard and audit trail."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from jiareg.derive.dose_flags import FLAG_MEANINGS
from jiareg.derive.dosing import DRUGS, check_administered_dose, label_dose
from jiareg.errors import DerivationError
from jiareg.jsonable import json_number
from jiareg.vocab import ILAR_CATEGORIES
from jiareg.web import storeops
from jiareg.web.access import Viewer
from jiareg.web.deps import page_viewer, state
from jiareg.web.routes.pages import STATES, render
from jiareg.web.scores import visit_scores

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PageViewer = Annotated[Viewer, Depends(page_viewer)]


@router.get("/dose", response_class=HTMLResponse)
def dose_page(
    request: Request,
    who: PageViewer,
    drug: Annotated[str, Query(max_length=32)] = "tocilizumab",
    weight: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str, Query(max_length=32)] = "systemic",
    route: Annotated[str | None, Query(max_length=4)] = None,
    given: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    query = {"drug": drug, "weight": weight, "category": category, "route": route, "given": given}
    check: dict[str, Any] | None = None
    flags: tuple[str, ...] = ()
    error = None
    if weight:
        try:
            result = label_dose(drug, weight_kg=weight, category=category, route=route or None)
            flags = check_administered_dose(given or None, result)
            check = {
                "drug": result.drug,
                "route": result.route,
                "expected_mg": json_number(result.expected_mg),
                "mg_per_kg": json_number(result.mg_per_kg),
                "interval_days": result.interval_days,
                "band": result.band,
            }
        except DerivationError as exc:
            error = str(exc)
    return render(
        request,
        "dose.html",
        who,
        nav="dose",
        q=query,
        check=check,
        flags=flags,
        error=error,
        drugs=DRUGS,
        categories=ILAR_CATEGORIES,
        explain=FLAG_MEANINGS,
    )


def _year_states(
    visits: list[dict[str, Any]], categories: dict[str, str | None]
) -> list[tuple[int, Counter[str | None]]]:
    """cJADAS10 state at each patient's last visit of each year, counted per year."""
    last: dict[tuple[str, int], dict[str, Any]] = {}
    for v in visits:  # ordered by patient, then date
        last[(v["patient_id"], v["visit_date"].year)] = v
    years: dict[int, Counter[str | None]] = {}
    for (pid, year), v in last.items():
        state_ = visit_scores(v, categories.get(pid))["cjadas10_state"]
        years.setdefault(year, Counter())[state_] += 1
    return sorted(years.items())


def _steroid_years(steroids: list[dict[str, Any]]) -> dict[int, int]:
    """Patients with a steroid period overlapping each year."""
    seen: dict[int, set[str]] = {}
    this_year = date.today().year
    for s in steroids:
        stop = s["stop_date"].year if s["stop_date"] else this_year
        for year in range(s["start_date"].year, stop + 1):
            seen.setdefault(year, set()).add(s["patient_id"])
    return {year: len(ids) for year, ids in seen.items()}


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, who: PageViewer) -> Response:
    registry = state(request).registry
    patients = registry.patients(who)
    visible = {p["patient_id"] for p in patients}
    courses = {k: v for k, v in registry.open_courses().items() if k in visible}
    steroids = registry.rows(who, "steroids")
    visits = registry.rows(who, "visits")
    categories = {p["patient_id"]: p["ilar_category"] for p in patients}
    by_biologic = Counter(courses.get(p["patient_id"]) for p in patients)
    return render(
        request,
        "dashboard.html",
        who,
        nav="dashboard",
        n=len(patients),
        n_visits=len(visits),
        on_biologic=len(courses),
        on_steroids=len({s["patient_id"] for s in steroids if s["stop_date"] is None}),
        by_category=Counter(p["ilar_category"] for p in patients).most_common(),
        by_biologic=by_biologic.most_common(),
        by_year=_year_states(visits, categories),
        steroid_years=_steroid_years(steroids),
        states=STATES,
    )


def _changes(entry: dict[str, Any]) -> list[tuple[str, object]]:
    before, after = entry["before"] or {}, entry["after"] or {}
    keys = [k for k in after if before.get(k) != after.get(k)] or list(before)
    return [(k, after.get(k, before.get(k))) for k in keys if k != "patient_id"]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    who: PageViewer,
    patient_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    if not who.may_audit:
        raise HTTPException(status_code=403, detail="the audit trail is for admins")
    entries = storeops.audit_entries(
        state(request).engine, patient_id=patient_id or None, limit=300
    )
    return render(
        request,
        "audit.html",
        who,
        nav="audit",
        entries=entries,
        patient_id=patient_id,
        changes=_changes,
        when=local_time,
    )


def local_time(ts: str) -> str:
    """An audit time (ISO 8601, UTC) in the server's local time, to the minute.

    >>> import os, time
    >>> os.environ["TZ"] = "UTC"; time.tzset()
    >>> local_time("2026-12-05T23:14:25.470437+00:00")
    '2026-12-05 23:14'
    """
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
