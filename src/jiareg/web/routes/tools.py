"""Pages beyond the patient record: dose checker, cohort dashboard and audit trail."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from jiareg.derive.dose_flags import FLAG_MEANINGS
from jiareg.derive.dosing import DRUGS, check_administered_dose, label_dose
from jiareg.errors import DerivationError
from jiareg.jsonable import json_number
from jiareg.vocab import ILAR_CATEGORIES
from jiareg.web import routing, storeops
from jiareg.web.access import Viewer
from jiareg.web.barchart import stacked_bars_svg
from jiareg.web.deps import page_viewer, state
from jiareg.web.routes.pages import STATES, render
from jiareg.web.trends import biologic_quarters, shown, state_quarters

__all__ = ["router"]

router = routing.router(include_in_schema=False)
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


_STATE_COLOURS: Final = {"ID": "#059669", "LDA": "#2563eb", "MDA": "#d97706", "HDA": "#dc2626"}
_CLASS_COLOURS: Final = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2")


def _site_of(who: Viewer, sites: list[str], site: str | None) -> str | None:
    """The site the dashboard shows (None = every site): admins and researchers choose one or
    all, data managers and clinicians see their own only."""
    if not who.all_sites:
        if site not in (None, "", who.site):
            raise HTTPException(status_code=403, detail="you see your own site only")
        return who.site
    if site and site not in sites:
        raise HTTPException(status_code=404, detail=f"no site {site}")
    return site or None


def _last_date(*tables: list[dict[str, Any]]) -> date:
    days = [
        row[key]
        for rows in tables
        for row in rows
        for key in ("visit_date", "date", "start_date", "stop_date")
        if isinstance(row.get(key), date)
    ]
    return max(days, default=date.today())


def _trend(
    svg_id: str,
    title: str,
    counts: dict[tuple[int, int], Counter[Any]],
    keys: list[tuple[Any, str, str]],
    suppress: bool,
) -> dict[str, Any]:
    """A chart and its table: one column per quarter, one series per key (key, label, colour)."""
    columns = [f"{y} Q{q}" for y, q in counts]
    series = [
        (label, colour, [shown(c.get(key, 0), suppress) for c in counts.values()])
        for key, label, colour in keys
    ]
    desc = (
        f"Stacked bars, one per calendar quarter from {columns[0]} to {columns[-1]}."
        if columns
        else "No data."
    )
    if suppress:
        desc += " Counts of 1 to 4 are shown as <5 and not drawn."
    return {
        "svg": Markup(stacked_bars_svg(svg_id, title, desc, columns, series)),
        "columns": columns,
        "series": series,
    }


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    who: PageViewer,
    site: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    registry = state(request).registry
    everyone = registry.patients(who)
    sites = sorted({p["site"] for p in everyone})
    chosen = _site_of(who, sites, site)
    patients = [p for p in everyone if chosen is None or p["site"] == chosen]
    visible = {p["patient_id"] for p in patients}

    def rows(name: str) -> list[dict[str, Any]]:
        return [r for r in registry.rows(who, name) if r["patient_id"] in visible]

    courses = {k: v for k, v in registry.open_courses().items() if k in visible}
    steroids, visits, treatments = rows("steroids"), rows("visits"), rows("treatments")
    until = _last_date(visits, treatments, rows("administrations"))
    categories = {p["patient_id"]: p["ilar_category"] for p in patients}
    suppress = who.deidentified
    states = state_quarters(visits, categories)
    state_keys = [(s, s, _STATE_COLOURS[s]) for s in STATES] + [(None, "not scored", "#9ca3af")]
    biologics = biologic_quarters(treatments, until)
    classes = sorted({k for c in biologics.values() for k in c})
    class_keys = [
        (k, k.replace("_", " "), _CLASS_COLOURS[i % len(_CLASS_COLOURS)])
        for i, k in enumerate(classes)
    ]

    def count(n: int) -> int | str:
        return shown(n, suppress)

    return render(
        request,
        "dashboard.html",
        who,
        nav="dashboard",
        sites=sites if who.all_sites else [],
        site=chosen,
        suppress=suppress,
        n=count(len(patients)),
        n_visits=count(len(visits)),
        on_biologic=count(len(courses)),
        on_steroids=count(len({s["patient_id"] for s in steroids if s["stop_date"] is None})),
        by_category=[
            (k, count(n)) for k, n in Counter(p["ilar_category"] for p in patients).most_common()
        ],
        by_biologic=[
            (k, count(n))
            for k, n in Counter(courses.get(p["patient_id"]) for p in patients).most_common()
        ],
        states_trend=_trend(
            "states-chart", "Visits per cJADAS10 state by quarter", states, state_keys, suppress
        ),
        biologic_trend=_trend(
            "biologic-chart",
            "Patients on each biologic class by quarter",
            biologics,
            class_keys,
            suppress,
        ),
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
