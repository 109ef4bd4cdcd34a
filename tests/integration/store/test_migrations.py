"""A registry written before schema 0003 migrates with `jiareg init` and gives the same study.

The previous release stored one `visits.hepatosplenomegaly` flag and steroid periods without a
route, whose stop date was the day the next dose started. The registry below is written that
way (schema 0002, rows and audit entries in the old shape) from the demo cohort; after
`jiareg init` it must hold both organ flags, oral routes and an intact, replayable audit trail,
and the founding study must give the demo's results. Older template files are read the same
way (INTERFACE.md), and say so.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from alembic import command
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.demo import COHORT_DIR, FOUNDING_PROTOCOL
from jiareg.formats.template.dictionary import table
from jiareg.services.imports import import_path
from jiareg.store.audit import append_entries, row_json
from jiareg.store.audit_key import ensure_key
from jiareg.store.audit_replay import verify_registry
from jiareg.store.bulk import bulk_insert
from jiareg.store.engine import _alembic_config, get_engine, write_lock
from jiareg.store.load import ensure_sites
from jiareg.store.tables import read_tables
from jiareg.study.run import run_study

PROVENANCE = ("software_version", "protocol_sha256", "data_sha256", "engine")
_OLD_ORGANS = "hepatosplenomegaly"


def _old_shape(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The demo tables as the previous release stored them."""
    visits = tables["visits"]
    organs = pc.or_kleene(visits["hepatomegaly"], visits["splenomegaly"])
    names = [n for n in visits.column_names if n not in ("esr_uln", "crp_uln", "splenomegaly")]
    columns = [organs if n == "hepatomegaly" else visits[n] for n in names]
    names = [_OLD_ORGANS if n == "hepatomegaly" else n for n in names]
    steroids = tables["steroids"].drop_columns(["route"])
    next_day = [
        None if d is None else d + dt.timedelta(days=1) for d in steroids["stop_date"].to_pylist()
    ]
    steroids = steroids.set_column(
        steroids.column_names.index("stop_date"), "stop_date", pa.array(next_day, pa.date32())
    )
    return {**tables, "visits": pa.table(columns, names=names), "steroids": steroids}


def _previous_release_registry(url: str, current: dict[str, pa.Table]) -> None:
    """Schema 0002 holding `current` in the old shape, each row audited as it was then."""
    old = _old_shape(current)
    with get_engine(url).begin() as conn:
        write_lock(conn)
        command.upgrade(_alembic_config(conn), "0002")
        ensure_key(conn)
        ensure_sites(conn, old["patients"]["site"].combine_chunks(), username="t", reason="old")
        for name, rows in old.items():
            bulk_insert(conn, name, rows)
            append_entries(
                conn,
                username="t",
                reason="old",
                table_name=name,
                action="insert",
                row_key=row_json(rows.select(list(table(name).key))),
                patient_id=rows["patient_id"].combine_chunks(),
                before=pa.nulls(rows.num_rows, pa.string()),
                after=row_json(rows),
            )


def _results(url: str) -> dict[str, Any]:
    results = run_study(FOUNDING_PROTOCOL, url, "duckdb").results.to_json()
    return {k: v for k, v in results.items() if k not in PROVENANCE}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """The demo cohort imported into a new registry: its tables and the founding study's
    results, once for both databases (read-only)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fresh') / 'fresh.db'}"
    import_path(COHORT_DIR, url)
    return read_tables(url), _results(url)


@pytest.mark.slow
@pytest.mark.xdist_group("migrations")  # both databases on one worker: `fresh` built once (1 s)
def test_a_registry_of_the_previous_release_migrates_and_gives_the_same_study(
    db_url: str, fresh: tuple[dict[str, pa.Table], dict[str, Any]]
) -> None:
    current, fresh_results = fresh
    _previous_release_registry(db_url, current)

    outcome = CliRunner().invoke(app, ["init", "--db", db_url])
    assert outcome.exit_code == 0, outcome.output
    migrated = read_tables(db_url)
    visits = migrated["visits"]
    old_flag = _old_shape(current)["visits"][_OLD_ORGANS]
    assert visits["hepatomegaly"].equals(old_flag) and visits["splenomegaly"].equals(old_flag)
    assert visits["esr_uln"].null_count == visits["crp_uln"].null_count == visits.num_rows
    assert set(migrated["steroids"]["route"].to_pylist()) == {"oral"}
    verify_registry(db_url)  # the old audit entries replay against the migrated rows

    # the stop dates kept the old convention (the next period's start), so on the change day
    # two periods overlap; no timepoint or time-on-treatment boundary falls on one in the demo
    assert _results(db_url) == fresh_results


def test_older_template_files_are_read_and_the_reading_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "older"
    folder.mkdir()
    for name in ("patients.csv", "treatments.csv", "administrations.csv"):
        (folder / name).write_bytes((COHORT_DIR / name).read_bytes())
    lines = (COHORT_DIR / "visits.csv").read_text().splitlines()
    header = lines[0].split(",")
    spleen, ulns = header.index("splenomegaly"), header.index("esr_uln")
    older = [",".join(c[:spleen] + c[spleen + 1 : ulns]) for c in (r.split(",") for r in lines)]
    (folder / "visits.csv").write_text(
        "\n".join(older).replace("hepatomegaly", _OLD_ORGANS, 1) + "\n"
    )
    steroids = (COHORT_DIR / "steroids.csv").read_text().replace(",route", "")
    (folder / "steroids.csv").write_text(steroids.replace(",oral", ""))
    url = f"sqlite:///{tmp_path / 'older.db'}"
    summary = import_path(folder, url)
    assert any("hepatosplenomegaly was read as both" in w for w in summary.warnings)
    assert any("steroids.csv: no route column" in w for w in summary.warnings)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    import_path(COHORT_DIR, fresh)
    got, expected = read_tables(url), read_tables(fresh)
    for name in ("visits", "steroids"):
        assert got[name].equals(expected[name]), name


@pytest.mark.slow
def test_downgrade_to_0002_combines_the_flags_and_drops_the_new_columns(db_url: str) -> None:
    import_path(COHORT_DIR, db_url)
    with get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE visits SET hepatomegaly = :t"), {"t": True})  # liver only
        conn.execute(
            text("UPDATE visits SET splenomegaly = NULL, hepatomegaly = :f WHERE visit_date < :d"),
            {"f": False, "d": dt.date(2010, 3, 1)},
        )
        command.downgrade(_alembic_config(conn), "0002")
        rows = conn.execute(text("SELECT visit_date, hepatosplenomegaly FROM visits")).all()
        columns = {c["name"] for c in inspect(conn).get_columns("steroids")}
    assert {bool(flag) for day, flag in rows if str(day) >= "2010-03-01"} == {True}
    assert {flag for day, flag in rows if str(day) < "2010-03-01"} == {None}
    assert "route" not in columns
