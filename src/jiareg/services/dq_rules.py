"""The rules that open data-quality queries, and a protocol's missing-visit report.

Range rules (issue #13: "a value outside the usual range for the child"), on the visits:
- weight changing by more than 20 % between two consecutive visits of a child;
- ESR above 120 mm/h (above what JIA activity usually produces: a typing slip is likelier);
- active joints above 71, the joints the JADAS-71 counts (Consolaro A et al., Arthritis
  Rheum 2009;61(5):658-666), so a larger count cannot be entered in any joint score.
Protocol rule: a core-set variable (SPEC R-CORESET-1) missing at the visit a protocol
timepoint chooses. Visits are chosen by the study's own timepoint code
(`jiareg.study.timepoints`, windows from the index date) and the cohort by its eligibility
steps (`jiareg.study.cohort`), except the baseline-visit step: a missing baseline is what the
report is for. The report lists, per cohort patient and timepoint, the visit chosen (or none)
and the core-set variables missing there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pyarrow as pa

from jiareg.errors import AccessDenied
from jiareg.services.dq import Query, open_locked
from jiareg.store.engine import get_engine, require_initialised, write_lock
from jiareg.store.tables import read_tables
from jiareg.store.users import UserInfo
from jiareg.study.arm_cohort import arm_cohort
from jiareg.study.backends import open_registry
from jiareg.study.cohort import within
from jiareg.study.protocol import Protocol, Timepoint
from jiareg.study.timepoints import timepoint_visits, visits_with_day
from jiareg.vocab import CORE_SET_VARIABLES

__all__ = [
    "ACTIVE_JOINTS_MAX",
    "ESR_MAX",
    "WEIGHT_CHANGE_MAX",
    "Finding",
    "MissingRow",
    "check",
    "missing_report",
    "protocol_findings",
    "range_findings",
]

ESR_MAX: Final = 120.0
ACTIVE_JOINTS_MAX: Final = 71
WEIGHT_CHANGE_MAX: Final = 0.20
MISSING_COLUMNS: Final = ("patient_id", "site", "timepoint", "window", "visit_date", "missing")


@dataclass(frozen=True, slots=True)
class Finding:
    """A value a rule queries: the visit (patient, date), the column and the query's text."""

    rule: str
    patient_id: str
    visit_date: str
    column: str
    text: str


@dataclass(frozen=True, slots=True)
class MissingRow:
    """One cohort patient at one timepoint: the visit chosen (None = no visit in the window)
    and the core-set variables missing at it."""

    patient_id: str
    site: str
    timepoint: str
    window: str
    visit_date: str | None
    missing: tuple[str, ...]

    def cells(self) -> list[str]:
        """The row as the report table shows it."""
        visit = self.visit_date or "no visit"
        return [
            self.patient_id,
            self.site,
            self.timepoint,
            self.window,
            visit,
            ", ".join(self.missing),
        ]


def range_findings(visits: pa.Table) -> list[Finding]:
    """Values outside the usual range (see the module docstring), in patient and date order."""
    rows = visits.select(["patient_id", "visit_date", "weight_kg", "esr", "active_joints"])
    ordered = rows.sort_by([("patient_id", "ascending"), ("visit_date", "ascending")]).to_pylist()
    found: list[Finding] = []
    previous: dict[str, float] = {}
    for v in ordered:
        pid, on = v["patient_id"], v["visit_date"].isoformat()
        if v["esr"] is not None and v["esr"] > ESR_MAX:
            found.append(
                Finding("esr_range", pid, on, "esr", f"ESR above {ESR_MAX:g} mm/h: please check")
            )
        joints = v["active_joints"]
        if joints is not None and joints > ACTIVE_JOINTS_MAX:
            text = f"more than {ACTIVE_JOINTS_MAX} active joints: please check"
            found.append(Finding("joints_range", pid, on, "active_joints", text))
        weight = v["weight_kg"]
        if weight is None:
            continue
        before = previous.get(pid)
        if before and abs(weight - before) / before > WEIGHT_CHANGE_MAX:
            change = f"{(weight - before) / before:+.0%}"
            text = f"weight changed by {change} since the previous visit: please check"
            found.append(Finding("weight_change", pid, on, "weight_kg", text))
        previous[pid] = weight
    return found


def _window(tp: Timepoint) -> str:
    if tp.window is not None:
        return f"days {tp.window.from_day} to {tp.window.to_day}"
    n = tp.before_administration
    return f"after administration {n - 1 if n else ''} up to administration {n}"


def _timepoint_rows(tables: Mapping[str, pa.Table], protocol: Protocol) -> list[MissingRow]:
    """Every cohort patient at every timepoint (the study's own cohort and visit choice)."""
    con = open_registry(tables=tables)
    registry = {name: con.table(name) for name in tables}
    armed = arm_cohort(registry, protocol)  # with `arms:`, each patient's arm drug
    exposure, index = armed.exposure, armed.index
    dated = visits_with_day(registry["visits"], index)
    cohort = armed.cohort
    if protocol.arms is None:  # every patient eligible but for a baseline visit
        cohort = [s for s in armed.steps if s.rule != "baseline_visit"][-1].patients
    ids = sorted(cohort.to_pyarrow().column("patient_id").to_pylist())
    sites = dict(
        zip(*tables["patients"].select(["patient_id", "site"]).to_pydict().values(), strict=True)
    )
    in_cohort = within(dated, cohort)
    out: list[MissingRow] = []
    chosen: dict[str, dict[str, dict[str, object]]] = {}
    for tp in protocol.timepoints:
        picked = timepoint_visits(in_cohort, exposure, index, tp).to_pyarrow()
        chosen[tp.name] = {r["patient_id"]: r for r in picked.to_pylist()}
    for pid in ids:
        for tp in protocol.timepoints:
            visit = chosen[tp.name].get(pid)
            on = None if visit is None else str(visit["visit_date"])
            missing = (
                () if visit is None else tuple(c for c in CORE_SET_VARIABLES if visit[c] is None)
            )
            out.append(MissingRow(pid, sites[pid], tp.name, _window(tp), on, missing))
    return out


def _reviewer(user: UserInfo) -> None:
    if user.role not in ("admin", "data_manager"):
        raise AccessDenied(f"user {user.username!r} ({user.role}) may not read the report")


def missing_report(db_url: str | None, protocol: Protocol, *, user: UserInfo) -> list[MissingRow]:
    """The rows of `_timepoint_rows` that lack the visit or a core-set variable, of the
    user's sites (admin: all; data manager: own site)."""
    _reviewer(user)
    rows = _timepoint_rows(read_tables(db_url), protocol)
    return [
        r
        for r in rows
        if (r.visit_date is None or r.missing) and (user.role == "admin" or r.site == user.site)
    ]


def protocol_findings(rows: list[MissingRow]) -> list[Finding]:
    """A core-set variable missing at a timepoint's visit, one finding per variable."""
    return [
        Finding(
            "coreset_missing",
            r.patient_id,
            r.visit_date,
            c,
            f"{c} missing at {r.timepoint}: please add it",
        )
        for r in rows
        if r.visit_date is not None
        for c in r.missing
    ]


def check(db_url: str | None, protocol: Protocol | None = None) -> list[Query]:
    """Run every rule and open a query for each finding not queried yet (same value); the
    queries are opened by `rule:<rule>` and audited. Returns the queries opened."""
    tables = read_tables(db_url)
    findings = range_findings(tables["visits"])
    if protocol is not None:
        findings += protocol_findings(_timepoint_rows(tables, protocol))
    opened: list[Query] = []
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        for f in findings:
            query = open_locked(
                conn,
                username=f"rule:{f.rule}",
                table_name="visits",
                key={"patient_id": f.patient_id, "visit_date": f.visit_date},
                column=f.column,
                text=f.text,
            )
            if query is not None:
                opened.append(query)
    return opened
