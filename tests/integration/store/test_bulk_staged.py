"""SQLite bulk writes staged by ADBC (`jiareg.store.sqlite_stage`) store exactly what
`executemany` stores, inside the caller's one transaction, and leave nothing behind.

Each test runs on a real registry file and the real ADBC driver.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import adbc_driver_sqlite
import pyarrow as pa
import pytest
from sqlalchemy import Connection

from jiareg.errors import StoreError
from jiareg.store.bulk import bulk_insert, bulk_upsert
from jiareg.store.engine import get_engine
from jiareg.store.tables import arrow_schema

D = dt.date
QUOTED = 'O\'Brien "Jr" ü 東京 🙂'


@pytest.fixture()
def tmpdir_(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private TMPDIR, to see what staging leaves in it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _registry(tmp_path: Path, template: Path, name: str, *, staged: bool = False) -> str:
    """A registry with two sites and three patients (written with `staged`)."""
    path = tmp_path / name
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    with get_engine(url).begin() as conn:
        bulk_insert(conn, "sites", pa.table({"site": ["north", "it's"]}), staged=False)
        patients = pa.table(
            {
                "patient_id": ["P1", QUOTED, "P3"],
                "sex": ["F", "M", "F"],
                "birth_date": pa.array([D(2012, 2, 29), D(2010, 1, 1), D(2011, 5, 5)]),
                "ilar_category": ["soJIA", None, "RF-neg"],
                "onset_date": pa.array([D(2015, 3, 1), None, D(2016, 1, 1)], pa.date32()),
            }
        )
        bulk_insert(conn, "patients", patients, {"site": "it's"}, staged=staged)
    return url


def _visits(n: int = 3, start: int = 0) -> pa.Table:
    """`n` visits of P1, P2 (quotes, unicode) and P3 in turn, with nulls, decimals and flags."""
    schema = arrow_schema("visits")
    rows: list[dict[str, Any]] = []
    for i in range(start, start + n):
        rows.append(
            {
                "patient_id": ["P1", QUOTED, "P3"][i % 3],
                "visit_date": D(2020, 1, 1) + dt.timedelta(days=i),
                "weight_kg": [30.5, 30.0, None][i % 3],
                "height_cm": 0.1 * (i % 7),
                "phys_global": [2.0, None, 7.25][i % 3],
                "phys_global_scale": "0-10",
                "chaq": [0.125, 3.0, None][i % 3],
                "active_joints": [3, 0, None][i % 3],
                "esr": [1e-3, 120.0, None][i % 3],
                "fever": [True, False, None][i % 3],
                "uveitis_active": [None, True, False][i % 3],
                "morning_stiffness_min": [-0.0, 15.0, None][i % 3],
                "crp_uln": 10.0,
            }
        )
    return pa.Table.from_pylist(rows).select([f.name for f in schema if f.name in rows[0]])


def _dump(url: str, table: str) -> list[tuple[object, ...]]:
    """Every stored value with its SQLite type, row by row in key order."""
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
        sel = ", ".join(f'typeof("{c}"), hex("{c}")' for c in cols)
        return db.execute(f'SELECT {sel} FROM "{table}" ORDER BY 1, 2, 3, 4').fetchall()


def _staged_schemas(conn: Connection) -> list[str]:
    rows = conn.exec_driver_sql("PRAGMA database_list").all()
    return [r[1] for r in rows if r[1].startswith("jiareg_stage_")]


def test_staged_writes_store_the_same_values_and_types_as_executemany(
    tmp_path: Path, sqlite_template: Path, tmpdir_: Path
) -> None:
    urls = {s: _registry(tmp_path, sqlite_template, f"{s}.db", staged=s) for s in (False, True)}
    for staged, url in urls.items():
        with get_engine(url).begin() as conn:
            bulk_insert(conn, "visits", _visits(), staged=staged)
            assert bool(_staged_schemas(conn)) is staged
    assert _dump(urls[True], "visits") == _dump(urls[False], "visits")
    assert _dump(urls[True], "patients") == _dump(urls[False], "patients")
    with sqlite3.connect(urls[True].removeprefix("sqlite:///")) as db:
        row = db.execute(
            "SELECT typeof(visit_date), visit_date, typeof(weight_kg), weight_kg, "
            "typeof(height_cm), typeof(active_joints), active_joints, typeof(fever), fever, "
            "typeof(esr), esr, typeof(chaq), typeof(uveitis_active) "
            "FROM visits WHERE patient_id = ?",
            (QUOTED,),
        ).fetchone()
    assert row == (
        *("text", "2020-01-02", "real", 30.0, "real", "integer", 0, "integer", 0),
        *("real", 120.0, "real", "integer"),
    )
    assert list(tmpdir_.iterdir()) == []  # the staging file and its folder are gone


def test_a_staged_upsert_inserts_and_updates_like_the_bound_one(
    tmp_path: Path, sqlite_template: Path, tmpdir_: Path
) -> None:
    key = ("patient_id", "visit_date")
    urls = {s: _registry(tmp_path, sqlite_template, f"{s}.db") for s in (False, True)}
    for staged, url in urls.items():
        with get_engine(url).begin() as conn:
            bulk_insert(conn, "visits", _visits(6), staged=False)
        changed = _visits(6).slice(1, 3)
        changed = changed.set_column(2, "weight_kg", pa.array([None, 41.5, 0.25]))
        changed = changed.set_column(5, "phys_global_scale", pa.array(["0-3", None, "0-10"]))
        with get_engine(url).begin() as conn:
            bulk_upsert(conn, "visits", _visits(3, start=6), changed, key, staged=staged)
            assert bool(_staged_schemas(conn)) is staged
    assert _dump(urls[True], "visits") == _dump(urls[False], "visits")
    with sqlite3.connect(urls[True].removeprefix("sqlite:///")) as db:
        rows = db.execute(
            "SELECT visit_date, typeof(weight_kg), weight_kg, phys_global_scale, esr FROM visits "
            "ORDER BY visit_date"
        ).fetchall()
    assert len(rows) == 9
    assert rows[1:4] == [
        ("2020-01-02", "null", None, "0-3", 120.0),
        ("2020-01-03", "real", 41.5, None, None),
        ("2020-01-04", "real", 0.25, "0-10", 1e-3),
    ]


def test_the_choice_is_by_size_and_the_stage_is_detached_when_the_connection_returns(
    tmp_path: Path, sqlite_template: Path, tmpdir_: Path
) -> None:
    url = _registry(tmp_path, sqlite_template, "r.db")
    engine = get_engine(url)
    with engine.begin() as conn:
        bulk_insert(conn, "visits", _visits(300))  # 300 × 13 values: bound
        assert _staged_schemas(conn) == []
        bulk_insert(conn, "visits", _visits(400, start=300))  # 400 × 13: staged
        assert _staged_schemas(conn) == ["jiareg_stage_0"]
        raw = conn.connection.dbapi_connection
    with engine.connect() as conn:
        assert conn.connection.dbapi_connection is raw  # the same pooled connection
        assert _staged_schemas(conn) == []
        assert conn.exec_driver_sql("SELECT count(*) FROM visits").scalar_one() == 700


def test_a_failed_transaction_leaves_nothing_of_a_staged_write(
    tmp_path: Path, sqlite_template: Path, tmpdir_: Path
) -> None:
    url = _registry(tmp_path, sqlite_template, "r.db")
    before = _dump(url, "visits"), _dump(url, "patients")
    with pytest.raises(RuntimeError, match="after the write"), get_engine(url).begin() as conn:
        bulk_insert(conn, "visits", _visits(500), staged=True)
        assert conn.exec_driver_sql("SELECT count(*) FROM visits").scalar_one() == 500
        raise RuntimeError("after the write")
    assert (_dump(url, "visits"), _dump(url, "patients")) == before
    with get_engine(url).connect() as conn:
        assert _staged_schemas(conn) == []
    assert list(tmpdir_.iterdir()) == []


def test_more_staged_writes_than_sqlite_attaches_are_bound_instead(
    tmp_path: Path, sqlite_template: Path, tmpdir_: Path
) -> None:
    url = _registry(tmp_path, sqlite_template, "r.db")
    with get_engine(url).begin() as conn:
        for i in range(12):
            bulk_insert(conn, "visits", _visits(30, start=30 * i), staged=True)
        assert len(_staged_schemas(conn)) == 10  # SQLite's limit of attached schemas
    reference = _registry(tmp_path, sqlite_template, "ref.db")
    with get_engine(reference).begin() as conn:
        bulk_insert(conn, "visits", _visits(360), staged=False)
    assert _dump(url, "visits") == _dump(reference, "visits")


def test_adbc_opens_only_its_private_staging_file(
    tmp_path: Path, sqlite_template: Path, tmpdir_: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety rule of `sqlite_stage`: ADBC's own SQLite library never opens the registry,
    only a new file in a fresh folder, and that file is gone once the write returns."""
    opened: list[Path] = []
    connect = adbc_driver_sqlite.connect

    def recording(uri: str) -> Any:
        opened.append(Path(uri))
        assert not Path(uri).exists()
        return connect(uri)

    monkeypatch.setattr(adbc_driver_sqlite, "connect", recording)
    url = _registry(tmp_path, sqlite_template, "r.db")
    with get_engine(url).begin() as conn:
        bulk_insert(conn, "visits", _visits(400))
        key = ("patient_id", "visit_date")
        bulk_upsert(conn, "visits", _visits(10, start=400), _visits(5), key, staged=True)
    assert len(opened) == 2
    assert len({p.parent for p in opened}) == 2
    for path in opened:
        assert path.parent.parent == tmpdir_ and path.parent.name.startswith("jiareg-stage-")
        assert not path.parent.exists()


def test_staging_in_a_missing_temp_folder_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _registry(tmp_path, sqlite_template, "r.db")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with pytest.raises(StoreError, match="TMPDIR") as raised, get_engine(url).begin() as conn:
        bulk_insert(conn, "visits", _visits(400))
    assert str(tmp_path / "missing") in str(raised.value)
    assert _dump(url, "visits") == []
