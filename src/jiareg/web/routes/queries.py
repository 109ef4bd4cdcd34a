"""Data-quality queries in the browser and the JSON API, the missing-visit report, and CSV
downloads of the tables on screen (patients, queries, missing report).

A query outside the viewer's site is answered 404, as a patient is (`jiareg.web.access`);
researchers (de-identified) see no queries and no report (403). Every write goes through
`jiareg.services.dq`, which authorises at the patient's stored site and audits it.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from jiareg.errors import StoreError
from jiareg.formats.template.dictionary import table
from jiareg.services import dq
from jiareg.services.table_csv import csv_text
from jiareg.web import routing
from jiareg.web.access import Viewer
from jiareg.web.deps import page_viewer, state, viewer
from jiareg.web.patients import PatientFilters, patient_detail, patient_summaries
from jiareg.web.routes.pages import render
from jiareg.web.routes.tools import local_time
from jiareg.web.routes.visits import shown
from jiareg.web.routes.work import shipped_protocols

__all__ = ["api_router", "router"]

router = routing.router(include_in_schema=False)
api_router = routing.router(prefix="/api", tags=["queries"])
PageViewer = Annotated[Viewer, Depends(page_viewer)]
ApiViewer = Annotated[Viewer, Depends(viewer)]
QueryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
QUERY_COLUMNS: Final = ("id", "patient_id", "site", "table", "record", "column", "value", "query")
_MORE_COLUMNS: Final = ("status", "opened_by", "opened_at", "answer", "answered_by", "closed_by")
PATIENT_COLUMNS: Final = (
    "patient_id", "site", "sex", "birth_date", "ilar_category", "current_biologic",
    "last_visit_date", "cjadas10", "cjadas10_state",
)  # fmt: skip
_VISIT_VALUES: Final = tuple(
    n for n in table("visits").names if n not in ("patient_id", "visit_date")
)
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "not logged in"},
    403: {"description": "not allowed for this role or site"},
    404: {"description": "no such query (or outside your site)"},
    409: {"description": "the query's status does not allow this, or it exists"},
}


def _csv(name: str, columns: tuple[str, ...], rows: list[list[Any]]) -> Response:
    return Response(
        csv_text(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _row(q: dq.Query) -> list[Any]:
    record = ", ".join(f"{v}" for k, v in q.key.items() if k != "patient_id")
    return [
        q.id, q.patient_id, q.site, q.table_name, record, q.column_name, q.value_shown, q.text,
        q.status, q.opened_by, q.opened_at, q.answer, q.answered_by, q.closed_by,
    ]  # fmt: skip


def _query_or_404(db_url: str, query_id: QueryId, who: Viewer) -> dq.Query:
    query = dq.get_query(db_url, query_id, user=who.user)
    if query is None:
        raise HTTPException(status_code=404, detail="query not found")
    return query


def _conflict(exc: StoreError) -> HTTPException:
    if isinstance(exc, dq.QueryNotFound):
        return HTTPException(status_code=404, detail="not found")
    return HTTPException(status_code=409, detail=str(exc))


@router.get("/queries", response_class=HTMLResponse)
def queries_page(
    request: Request,
    who: PageViewer,
    status: Annotated[str | None, Query(max_length=10)] = None,
    format: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    chosen = status if status in dq.STATUSES else None
    every = dq.list_queries(state(request).db_url, user=who.user)
    shown = [q for q in every if chosen is None or q.status == chosen]
    if format == "csv":
        return _csv("queries", QUERY_COLUMNS + _MORE_COLUMNS, [_row(q) for q in shown])
    return render(
        request, "queries.html", who, nav="queries", queries=shown,
        counts=dq.counts(every), chosen=chosen, when=local_time,
    )  # fmt: skip


@router.get("/queries/{query_id}", response_class=HTMLResponse)
def query_page(request: Request, who: PageViewer, query_id: QueryId) -> Response:
    query = _query_or_404(state(request).db_url, query_id, who)
    return render(
        request, "query.html", who, nav="queries", q=query, when=local_time,
        may_answer=query.status == "open" and who.may("enter", query.site),
        may_close=query.status != "closed" and who.role in ("admin", "data_manager")
        and who.may("fix", query.site),
    )  # fmt: skip


@router.post("/queries/{query_id}/answer")
def answer_form(
    request: Request,
    who: PageViewer,
    query_id: QueryId,
    answer: Annotated[str, Form(max_length=2000)],
) -> Response:
    try:
        dq.answer_query(state(request).db_url, query_id, user=who.user, answer=answer)
    except StoreError as exc:
        raise _conflict(exc) from exc
    return RedirectResponse(f"/queries/{query_id}", status_code=303)


@router.post("/queries/{query_id}/close")
def close_form(request: Request, who: PageViewer, query_id: QueryId) -> Response:
    try:
        dq.close_query(state(request).db_url, query_id, user=who.user)
    except StoreError as exc:
        raise _conflict(exc) from exc
    return RedirectResponse(f"/queries/{query_id}", status_code=303)


@router.get("/patients/{patient_id}/visits/{visit_date}/queries", response_class=HTMLResponse)
def visit_queries_page(
    request: Request, who: PageViewer, patient_id: str, visit_date: str
) -> Response:
    web = state(request)
    detail = patient_detail(web.registry, who, patient_id)
    visit = None if detail is None or who.deidentified else next(
        (v for v in detail["visits"] if str(v["visit_date"]) == visit_date), None
    )  # fmt: skip
    if visit is None:
        raise HTTPException(status_code=404, detail="visit not found")
    queries = [
        q
        for q in dq.list_queries(web.db_url, user=who.user, patient_id=patient_id)
        if q.table_name == "visits" and q.key.get("visit_date") == visit_date
    ]
    return render(
        request, "queries_visit.html", who, nav="queries", pid=patient_id, on=visit_date,
        values=[(c, shown(visit.get(c))) for c in _VISIT_VALUES], queries=queries,
        may_open=who.role in ("admin", "data_manager") and who.may("fix", detail["patient"]["site"])
        if detail else False,
    )  # fmt: skip


@router.post("/queries/new")
def open_form(
    request: Request,
    who: PageViewer,
    patient_id: Annotated[str, Form(max_length=64)],
    visit_date: Annotated[str, Form(max_length=10)],
    column: Annotated[str, Form(max_length=64)],
    text: Annotated[str, Form(max_length=2000)],
) -> Response:
    key = {"patient_id": patient_id, "visit_date": visit_date}
    try:
        query = dq.open_query(
            state(request).db_url, user=who.user, table_name="visits", key=key,
            column=column, text=text,
        )  # fmt: skip
    except StoreError as exc:
        raise _conflict(exc) from exc
    return RedirectResponse(f"/queries/{query.id}", status_code=303)


@router.get("/reports/missing", response_class=HTMLResponse)
def missing_page(
    request: Request,
    who: PageViewer,
    protocol: Annotated[str | None, Query(max_length=200)] = None,
    format: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    if who.role not in ("admin", "data_manager"):
        raise HTTPException(status_code=403, detail="the report is for admins and data managers")
    # the study's cohort and timepoint code (pandas, SciPy, lifelines) only when used, so a
    # server starts without it
    from jiareg.services.dq_rules import MISSING_COLUMNS, missing_report
    from jiareg.study.protocol_file import load_protocol

    shipped = shipped_protocols()
    if protocol is not None and protocol not in shipped:
        raise HTTPException(status_code=404, detail="no such protocol")
    rows = []
    if protocol is not None:
        found = missing_report(
            state(request).db_url, load_protocol(shipped[protocol]), user=who.user
        )
        rows = [r.cells() for r in found]
        if format == "csv":
            return _csv("missing", MISSING_COLUMNS, rows)
    return render(
        request, "reports_missing.html", who, nav="queries", protocols=sorted(shipped),
        protocol=protocol, columns=MISSING_COLUMNS, rows=rows,
    )  # fmt: skip


@router.get("/patients.csv")
def patients_csv(
    request: Request,
    who: PageViewer,
    q: Annotated[str | None, Query(max_length=100)] = None,
    site: Annotated[str | None, Query(max_length=64)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    biologic: Annotated[str | None, Query(max_length=64)] = None,
    state_: Annotated[str | None, Query(alias="state", max_length=8)] = None,
) -> Response:
    """The patient list as shown (same filters; de-identified for researchers)."""
    filters = PatientFilters(
        q or None, site or None, category or None, biologic or None, state_ or None
    )
    rows = patient_summaries(state(request).registry, who, filters)
    columns = tuple(
        ("age_years" if who.deidentified else c) if c == "birth_date" else c
        for c in PATIENT_COLUMNS
    )
    return _csv("patients", columns, [[r.get(c) for c in columns] for r in rows])


class NewQuery(BaseModel):
    """A query on one stored value: the record's table and natural key, the column, the text."""

    table: str = Field(max_length=32)
    key: dict[str, str | int | float]
    column: str = Field(max_length=64)
    text: str = Field(max_length=2000)


class Answer(BaseModel):
    """The site's answer to a query."""

    answer: str = Field(max_length=2000)


@api_router.get("/queries", responses=_ERRORS)
def api_queries(
    request: Request,
    who: ApiViewer,
    status: Annotated[str | None, Query(max_length=10)] = None,
    patient_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The queries of the viewer's sites (admin: all), newest first, with counts by status."""
    every = dq.list_queries(state(request).db_url, user=who.user, patient_id=patient_id)
    shown = [q.as_dict() for q in every if status is None or q.status == status]
    return {"counts": dq.counts(every), "queries": shown}


@api_router.post("/queries", status_code=201, responses=_ERRORS)
def api_open(request: Request, who: ApiViewer, body: NewQuery) -> dict[str, Any]:
    """Open a query (admin, or the data manager of the patient's site)."""
    try:
        query = dq.open_query(
            state(request).db_url, user=who.user, table_name=body.table, key=body.key,
            column=body.column, text=body.text,
        )  # fmt: skip
    except StoreError as exc:
        raise _conflict(exc) from exc
    return query.as_dict()


@api_router.post("/queries/{query_id}/answer", responses=_ERRORS)
def api_answer(request: Request, who: ApiViewer, query_id: QueryId, body: Answer) -> dict[str, Any]:
    """Answer an open query (a clinician or data manager at the patient's site)."""
    try:
        return dq.answer_query(
            state(request).db_url, query_id, user=who.user, answer=body.answer
        ).as_dict()
    except StoreError as exc:
        raise _conflict(exc) from exc


@api_router.post("/queries/{query_id}/close", responses=_ERRORS)
def api_close(request: Request, who: ApiViewer, query_id: QueryId) -> dict[str, Any]:
    """Close a query (admin, or the data manager of the patient's site)."""
    try:
        return dq.close_query(state(request).db_url, query_id, user=who.user).as_dict()
    except StoreError as exc:
        raise _conflict(exc) from exc
