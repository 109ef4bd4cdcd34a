"""Run a study: the only module of `study/` that executes Ibis expressions.

The plan (cohort, timepoints, endpoints) is pure Ibis up to one row per patient, timepoint or
follow-up visit; those small tables are collected through Arrow and summarised in Python with
exact statistics (`jiareg.stats`), never engine medians (Spark's are approximate).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from jiareg import __version__
from jiareg.errors import StudyError
from jiareg.study.arm_cohort import arm_cohort
from jiareg.study.backends import Engine, open_registry
from jiareg.study.cohort import EligibilityStep, within
from jiareg.study.comparative import arm_summaries, compare
from jiareg.study.data_hash import data_sha256
from jiareg.study.endpoints import PlanInputs, kind_of
from jiareg.study.endpoints.acr_pedi import responses
from jiareg.study.endpoints.steroid_change import steroid_doses
from jiareg.study.protocol import Protocol
from jiareg.study.protocol_file import load_protocol, protocol_sha256
from jiareg.study.result import TABLE_COLUMNS, StudyResult
from jiareg.study.results_json import Results
from jiareg.study.summarise import summarise
from jiareg.study.timepoints import follow_up_visits, timepoint_visits, visits_with_day
from jiareg.study.visits import reported_globals, with_inactive_disease

if TYPE_CHECKING:
    from ibis import BaseBackend
    from ibis.expr.types import Table

__all__ = ["Progress", "run_study", "write_results"]

Progress = Callable[[str], None]
"""Called with a short description as each step of a run starts."""

RESULTS_NAME = "results.json"


def _materialise(con: BaseBackend, expr: Table, cached: ExitStack) -> Table:
    """`expr` computed once and kept on the engine until `cached` closes (the end of the run).

    Every later query reads the result instead of recomputing it: a temporary table on DuckDB
    and PostgreSQL, a temporary view of kept rows on Spark (whose collects would otherwise each
    re-run the whole lineage: `_spark_kept`). On PostgreSQL the table is also ANALYZEd: without
    statistics the planner took the many-CTE queries for one-row inputs and chose nested loops
    (12 minutes for 2,000 patients instead of seconds).
    """
    if con.name == "pyspark":
        return _spark_kept(con, expr, cached)
    table = cached.enter_context(expr.cache())
    if con.name == "postgres":
        con.raw_sql(f'ANALYZE "{table.get_name()}"').close()
    return table


def _spark_kept(con: BaseBackend, expr: Table, cached: ExitStack) -> Table:
    """`expr`'s rows kept by Spark, as a temporary view dropped when `cached` closes.

    On a local master: a local checkpoint, computed now. Its lineage is cut, so each later plan
    reads it as a scan instead of carrying (and matching against Spark's cache) every plan
    before it: the founding study on 3,000 patients took a quarter less JVM CPU than with
    Spark's cache. A local checkpoint has no unpersist: its blocks are freed by Spark's context
    cleaner once the run's DataFrames are garbage (`jiareg study run` ends with its process).
    On a cluster: Spark's cache, as ibis's `Table.cache` makes it (a lost executor's blocks are
    recomputed from the lineage; a local checkpoint's would be lost with the executor).
    """
    frame = con.raw_sql(con.compile(expr))
    if frame.sparkSession.sparkContext.master.startswith("local"):
        kept = frame.localCheckpoint(eager=True)
    else:
        kept = frame.cache()
        cached.callback(kept.unpersist)
    name = f"jiareg_kept_{uuid.uuid4().hex}"
    kept.createTempView(name)
    cached.callback(kept.sparkSession.catalog.dropTempView, name)
    return con.table(name)


def _collect(expr: Table, sort: list[str]) -> pd.DataFrame:
    frame = expr.to_pyarrow().to_pandas()
    return frame.sort_values(sort, kind="stable").reset_index(drop=True) if len(frame) else frame


def run_study(
    protocol_path: Path | str,
    db_url: str | None = None,
    engine: Engine = "duckdb",
    out_dir: Path | str | None = None,
    *,
    tables: Mapping[str, pa.Table] | None = None,
    snapshot_dir: Path | None = None,
    spark_master: str | None = None,
    progress: Progress | None = None,
) -> StudyResult:
    """Run the protocol at `protocol_path` on a registry and return its `StudyResult`.

    The registry is `db_url` (SQLite or PostgreSQL URL), or Arrow `tables`, or a Parquet
    `snapshot_dir`, and `spark_master` names the Spark cluster for engine "spark" (see
    `jiareg.study.backends.open_registry`). With `out_dir`, results.json is
    written there (the report is written by `jiareg.report.render.write_report`). Raises
    `StudyError` when no patient is eligible, naming the step that excluded the last ones.
    """
    step = progress or (lambda _message: None)
    protocol = load_protocol(protocol_path)
    step("opening the registry")
    con = open_registry(
        db_url,
        engine=engine,
        tables=tables,
        snapshot_dir=snapshot_dir,
        spark_master=spark_master,
    )
    names = ("patients", "visits", "treatments", "administrations", "steroids", "adverse_events")
    registry = {name: con.table(name) for name in names}

    with ExitStack() as cached:
        if engine == "postgres":  # the run's own connection (Spark's session is shared)
            cached.callback(con.disconnect)

        def keep(expr: Table) -> Table:
            return _materialise(con, expr, cached)

        step("finding the exposure, its baseline visits and the cohort")
        armed = arm_cohort(registry, protocol, keep=keep)
        exposure, index, baseline, cohort = (
            armed.exposure,
            armed.index,
            armed.baseline,
            armed.cohort,
        )
        attrition = _attrition(armed.steps)
        _check_not_empty(protocol, attrition)
        in_cohort = keep(within(visits_with_day(registry["visits"], index), cohort))

        step("deriving timepoints and endpoints")
        collected = _collect_frames(
            keep, registry, cohort, exposure, index, in_cohort, baseline, protocol
        )

    step("computing statistics")
    summary = summarise(protocol, collected, attrition)
    fields = {
        **summary.fields,
        **summary.headlines,
        "software_version": __version__,
        "protocol_sha256": protocol_sha256(protocol_path),
        "data_sha256": data_sha256(summary.tables),
        "engine": engine,
    }
    result = StudyResult(
        results=Results.model_validate(fields),
        tables=summary.tables,
        protocol=protocol,
        frames=collected,
    )
    if protocol.arms is not None:  # the arms and their comparison read the built result
        step("comparing the arms")
        arms = {"arms": arm_summaries(result), "comparison": compare(result)}
        fields |= {key: value for key, value in arms.items() if value is not None}
        result = replace(result, results=Results.model_validate(fields))
    if out_dir is not None:
        write_results(result, Path(out_dir))
    return result


def write_results(result: StudyResult, out_dir: Path) -> Path:
    """Write `out_dir/results.json` (sorted keys, 2-space indent); returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_NAME
    text = json.dumps(result.results.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)  # never a half-written results.json
    return path


def _attrition(steps: list[EligibilityStep]) -> pd.DataFrame:
    """One row per step; an arm's first step counts its exclusions from the last shared step."""
    rows = []
    shared: int | None = None
    previous: dict[str | None, int | None] = {}
    for item in steps:
        remaining = int(item.patients.count().execute())
        before = previous.get(item.arm, shared)
        excluded = 0 if before is None else before - remaining
        rows.append(
            {
                "step": item.step,
                "rule": item.rule,
                "n_remaining": remaining,
                "n_excluded": excluded,
                "arm": item.arm,
            }
        )
        previous[item.arm] = remaining
        if item.arm is None:
            shared = remaining
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS["attrition"]))


def _check_not_empty(protocol: Protocol, attrition: pd.DataFrame) -> None:
    """`StudyError` naming the step that left the cohort (or an arm of it) empty."""
    flows: list[tuple[str | None, pd.DataFrame]] = [(None, attrition)]
    if protocol.arms is not None:
        shared = attrition[attrition["arm"].isna()]
        flows = [
            (arm.name, pd.concat([shared, attrition[attrition["arm"] == arm.name]]))
            for arm in protocol.arms
        ]
    for arm, flow in flows:
        if flow["n_remaining"].iloc[-1] > 0:
            continue
        last = flow[flow["n_remaining"] > 0].iloc[-1:]
        empty = flow[flow["n_remaining"] == 0].iloc[0]
        before = int(last["n_remaining"].iloc[0]) if len(last) else 0
        what = "the cohort" if arm is None else f"the arm {arm!r}"
        raise StudyError(
            f"{what} of {protocol.title!r} is empty: {before} patient(s) remained before the "
            f"step {empty['step']!r} ({empty['rule']}), which excluded them all"
        )


def _collect_frames(
    keep: Callable[[Table], Table],
    registry: dict[str, Table],
    cohort: Table,
    exposure: Table,
    index: Table,
    in_cohort: Table,
    baseline: Table,
    protocol: Protocol,
) -> dict[str, pd.DataFrame]:
    """Execute the per-patient tables of the cohort and return them as sorted DataFrames.

    `in_cohort` is the cohort's visits with their day from the index date; `keep` computes
    a table once on the engine for the rest of the run (`_materialise`).
    """
    patients = within(registry["patients"], cohort)
    patients = patients.join(index, patients.patient_id == index.patient_id).select(
        *registry["patients"].columns, "index_date", "last_date", "n_administrations", "arm"
    )
    chosen = [
        timepoint_visits(in_cohort, exposure, index, timepoint) for timepoint in protocol.timepoints
    ]
    at_timepoints = chosen[0].union(*chosen[1:]) if len(chosen) > 1 else chosen[0]
    at_timepoints = keep(reported_globals(with_inactive_disease(at_timepoints, protocol), protocol))
    follow_up = follow_up_visits(in_cohort, protocol)
    scored = responses(follow_up, within(baseline, cohort), exposure, protocol)
    doses = keep(steroid_doses(at_timepoints, registry["steroids"], protocol))
    given = within(exposure, cohort)
    given = given.join(index, given.patient_id == index.patient_id).select(
        *exposure.columns, day=given.date.delta(index.index_date, unit="day").cast("int64")
    )
    events = within(registry["adverse_events"], cohort)
    events = events.join(index, events.patient_id == index.patient_id)
    events = events.filter(events.onset_date >= events.index_date).select(
        *registry["adverse_events"].columns,
        day=events.onset_date.delta(events.index_date, unit="day").cast("int64"),
    )
    frames = {
        "patients": _collect(patients, ["patient_id"]),
        "visits": _collect(at_timepoints, ["patient_id", "day"]),
        "responses": _collect(scored, ["patient_id", "visit_date"]),
        "steroid_doses": _collect(doses, ["patient_id", "visit_date", "timepoint"]),
        "courses": _collect(
            within(registry["treatments"], cohort),
            ["patient_id", "start_date", "drug"],
        ),
        "administrations": _collect(given, ["patient_id", "date"]),
        "adverse_events": _collect(events, ["patient_id", "onset_date", "term"]),
    }
    inputs = PlanInputs(
        protocol=protocol,
        registry=registry,
        visits=at_timepoints,
        steroid_doses=doses,
        responses=scored,
        index=within(index, cohort),
    )
    for endpoint in protocol.endpoints:
        plan = kind_of(endpoint).plan
        for name, table in (plan(endpoint, inputs) if plan else {}).items():
            frames[f"{name}:{endpoint.id}"] = _collect(table, ["patient_id"])
    return frames
