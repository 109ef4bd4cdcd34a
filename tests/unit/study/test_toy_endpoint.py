"""A new endpoint kind is one module: this test defines `visit_count` from the tests alone,
registers it, runs a protocol that uses it on the demo registry and finds its numbers in the
results and its section in the report."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import pytest
from ibis.expr.types import Table
from tests.unit.study.registry import demo_tables

from jiareg.report.render import render_html
from jiareg.study.endpoints import (
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    PlanInputs,
    ReportSection,
    SummaryContext,
    register,
    unregister,
)
from jiareg.study.results_json import results_json_schema
from jiareg.study.run import run_study

ROOT = Path(__file__).resolve().parents[3]
FOUNDING = ROOT / "src" / "jiareg" / "protocols" / "tocilizumab-after-anti-tnf.yaml"


class VisitCountEndpoint(EndpointSpec):
    """Registry visits of each cohort patient from `from_day` on (the toy kind's options)."""

    kind: Literal["visit_count"]
    from_day: int = 0


class VisitCountDetails(EndpointDetails):
    kind: Literal["visit_count"]
    from_day: int
    per_patient: dict[str, int]


def plan(endpoint: VisitCountEndpoint, inputs: PlanInputs) -> Mapping[str, Table]:
    visits, chosen = inputs.registry["visits"], inputs.visits
    cohort = chosen.select("patient_id", "index_date").distinct()
    joined = visits.join(cohort, visits.patient_id == cohort.patient_id)
    day = joined.visit_date.delta(joined.index_date, unit="day")
    later = joined.filter(day >= endpoint.from_day)
    return {"counts": later.group_by("patient_id").aggregate(visits=later.count())}


def summarise(endpoint: VisitCountEndpoint, ctx: SummaryContext) -> tuple[int, VisitCountDetails]:
    counts = ctx.planned("counts", endpoint)
    per_patient = {
        str(p): int(n) for p, n in zip(counts["patient_id"], counts["visits"], strict=True)
    }
    details = VisitCountDetails(
        kind="visit_count", from_day=endpoint.from_day, per_patient=per_patient
    )
    return sum(per_patient.values()), details


def section(endpoint: VisitCountEndpoint, details: VisitCountDetails) -> ReportSection:
    rows = tuple((pid, str(n)) for pid, n in sorted(details.per_patient.items()))
    return ReportSection(f"Visits from day {endpoint.from_day}", rows)


@pytest.fixture
def visit_count_kind() -> Iterator[None]:
    register(
        EndpointKind(
            name="visit_count",
            spec=VisitCountEndpoint,
            details=VisitCountDetails,
            headline=int,
            summarise=summarise,
            plan=plan,
            section=section,
        )
    )
    yield
    unregister("visit_count")


@pytest.mark.slow
def test_a_toy_kind_runs_reports_and_leaves_no_trace(
    visit_count_kind: None, tmp_path: Path
) -> None:
    protocol = tmp_path / "toy.yaml"
    protocol.write_text(
        FOUNDING.read_text(encoding="utf-8")
        + "  - {id: visits_after_day_0, kind: visit_count, from_day: 1}\n",
        encoding="utf-8",
    )
    tables = demo_tables()
    result = run_study(protocol, tables=tables)

    index = {}
    for row in tables["administrations"].to_pylist():
        if row["drug"] == "tocilizumab":
            index[row["patient_id"]] = min(row["date"], index.get(row["patient_id"], row["date"]))
    expected = {pid: 0 for pid in index}
    for row in tables["visits"].to_pylist():
        if (row["visit_date"] - index[row["patient_id"]]).days >= 1:
            expected[row["patient_id"]] += 1
    content = result.results.to_json()
    assert content["visits_after_day_0"] == sum(expected.values()) > 0
    assert content["endpoints"]["visits_after_day_0"] == {
        "kind": "visit_count",
        "headline": "/visits_after_day_0",  # a kind from elsewhere: no denominators known
        "from_day": 1,
        "per_patient": {pid: n for pid, n in expected.items() if n},
    }
    assert "visit_count" in str(results_json_schema())

    html = render_html(result)
    assert "<h2>Visits from day 1</h2>" in html
    first = min(pid for pid, n in expected.items() if n)
    assert f"<th>{first}</th><td>{expected[first]}</td>" in html


def test_without_the_toy_kind_a_protocol_naming_it_is_refused(tmp_path: Path) -> None:
    from jiareg.errors import ProtocolError
    from jiareg.study.protocol_file import load_protocol

    protocol = tmp_path / "toy.yaml"
    protocol.write_text(
        FOUNDING.read_text(encoding="utf-8") + "  - {id: v, kind: visit_count}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProtocolError, match="kind"):
        load_protocol(protocol)
