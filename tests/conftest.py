"""Fixtures shared by the whole suite: real PostgreSQL, real Spark and the demo, never mocks.

- `pg_url`: a fresh PostgreSQL database for this test session (per xdist worker), from
  JIAREG_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
- `fresh_pg_url`: a fresh empty database per test (not initialised).
- `pg_template`: a database migrated to the newest schema once per session, for fixtures
  that clone a registry per test with `CREATE DATABASE ... TEMPLATE` (tests/web/conftest.py).
- `module_pg_url`: a fresh database per test module (e.g. one bulk load shared by its tests).
- `spark`: one local-mode SparkSession for the run (start ≈ 5 s).
- `backend`: the columnar rules' engines (DuckDB, PostgreSQL, Spark) behind one interface,
  after the ibis project's conftest: an Ibis connection and `load(arrow) -> table`.
- `demo`: `jiareg demo` run once per session: (output folder, results.json).
- the hypothesis profile `fast` (`make test-fast`): a quarter of the examples
  (tests/support/examples.py).

Under pytest-xdist (`make test` runs `-n 2 --dist loadgroup`), the Spark tests share one worker
(one SparkSession), the demo tests another (one demo build), and the tests a module marks with
`xdist_group` one (its costly module fixture built once): see `pytest_collection_modifyitems`.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from tests.support.backends import Backend, connect_backend
from tests.support.examples import FAST_MAX_EXAMPLES, FAST_PROFILE
from tests.support.postgres import create_database, drop_database, sqlalchemy_url, wait_for_drops

# `make test-fast` loads it (`--hypothesis-profile=fast`); `make test` runs the full counts.
settings.register_profile(FAST_PROFILE, max_examples=FAST_MAX_EXAMPLES)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2id with the smallest parameters (`JIAREG_ARGON2_FAST=1`, read by
    `jiareg.store.users.hasher`, inherited by the CLI subprocesses tests start): same code
    path, milliseconds instead of ~50 ms. Hashes carry their parameters, so checks still verify
    what was stored."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JIAREG_ARGON2_FAST", "1")
        yield


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg://...) of a database private to this test session."""
    url = create_database()
    yield sqlalchemy_url(url)
    drop_database(url)


@pytest.fixture()
def fresh_pg_url() -> Iterator[str]:
    """SQLAlchemy URL of a brand-new empty database, dropped after the test."""
    url = create_database()
    yield sqlalchemy_url(url)
    drop_database(url)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Name of a database migrated to the newest schema once per session (per xdist worker)."""
    from jiareg.store.engine import get_engine, init_db

    url = create_database()
    init_db(sqlalchemy_url(url))
    get_engine(sqlalchemy_url(url)).dispose()  # a template must have no connections
    yield url.rsplit("/", 1)[1]
    drop_database(url)


@pytest.fixture(scope="module")
def module_pg_url() -> Iterator[str]:
    """SQLAlchemy URL of a database private to one test module, dropped after it."""
    url = create_database()
    yield sqlalchemy_url(url)
    drop_database(url)


_SMALL_DATA_SPARK = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
"""Spark settings for the tests' small registries: one shuffle partition, no adaptive
re-planning, no code generation (a Janino compile per query and per expression: whole-stage
off, and expressions interpreted). They took a study run on 1,500 patients from 51 s to 19 s
(interpreted expressions: a tenth less CPU again); no result depends on them."""

_SHORT_LIVED_JVM = "--driver-java-options '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' pyspark-shell"
"""spark-submit arguments for the tests' driver JVM: the quick C1 JIT compiler only (C2's
background compiles cost more CPU than they save on the tests' small data) and the serial
garbage collector (one thread, a small heap in use). Half the JVM's CPU time: the Spark
tests took 98 s of JVM CPU with the default flags, 40 s with these."""


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local-mode SparkSession for the run, set up as jiareg sets up its own (2 GB heap)."""
    from jiareg.study.backends import SPARK_DRIVER_MEMORY_ENV, spark_session

    os.environ.setdefault(SPARK_DRIVER_MEMORY_ENV, "2g")
    with pytest.MonkeyPatch.context() as patch:  # read only when the JVM starts
        patch.setenv("PYSPARK_SUBMIT_ARGS", _SHORT_LIVED_JVM)
        session = spark_session("local[2]")
    for key, value in _SMALL_DATA_SPARK.items():
        session.conf.set(key, value)
    yield session
    session.stop()


@pytest.fixture(
    params=[
        pytest.param("duckdb"),
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow]),
    ]
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each engine the columnar rules run on: an Ibis connection and a way to load Arrow."""
    yield from connect_backend(request.param, request)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """`jiareg demo --out DIR`, built once per session: (DIR, its results.json)."""
    from typer.testing import CliRunner

    from jiareg.cli import app

    out = tmp_path_factory.mktemp("demo")
    outcome = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


SPARK_TIMEOUT_S = 600
_PY4J_SOCKETS = (
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)

_HEAVY = ("slow", "browser", "pdf")
"""Modules with a test of these marks run first (whole modules, so their module fixtures are
built once): xdist hands out tests in collection order, and a long test collected last kept
one worker busy while the other had finished."""


def pytest_collection_finish() -> None:
    """Move everything collection made (every module, test item and fixture definition) out of
    the cycle collector's generations: it walked them on each collection, about a sixth of a
    study test's CPU."""
    gc.collect()
    gc.freeze()


def pytest_sessionfinish() -> None:
    """Every test database dropped before the session ends (the drops run on a background
    thread: `tests.support.postgres`); an xdist worker may be ended before its exit handlers."""
    wait_for_drops()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make every item's node id unique (xdist schedules by id). Keep the one-per-session
    costs once under xdist: Spark tests share a worker (one SparkSession), demo tests another
    (one demo build); these two win over a module's own `xdist_group` mark, which keeps its
    tests on one worker (loadgroup otherwise hands a module's tests to both workers one by
    one, and each built the module fixture). Spark tests may leave py4j's gateway
    sockets to the garbage collector (pyspark's, not ours): only there is that ResourceWarning
    not an error. A Spark test gets `SPARK_TIMEOUT_S` instead of the 120 s of every other test:
    its first query plans and compiles in the JVM, which on 2 busy cores took 153 s, and a
    timeout that kills a Spark call leaves the worker's one SparkSession unusable. Heavy
    modules first: see `_HEAVY`."""
    # On an xdist worker under --dist loadgroup, a group is the id's `@name` suffix. xdist 3.8
    # writes it to `_nodeid`, which pytest 9 no longer reads (its marks alone kept nothing
    # together: both workers started a SparkSession and built the demo), so it is written here.
    grouped = getattr(config.option, "loadgroup", False)
    for item in items:
        if not item.nodeid.endswith(f"::{item.name}"):
            # schemathesis 4.32 names each API operation's item but keeps one node id (it sets
            # `_nodeid`, which pytest 9 no longer reads); xdist's loadgroup runs one item per
            # id, so the operation goes into the id as in a parametrised test.
            item._id = item.parent.id.child(item.name)
        if item.get_closest_marker("spark"):
            group: str | None = "spark"
            item.add_marker(pytest.mark.filterwarnings(_PY4J_SOCKETS))
            if not item.get_closest_marker("timeout"):
                item.add_marker(pytest.mark.timeout(SPARK_TIMEOUT_S))
        elif "demo" in getattr(item, "fixturenames", ()):
            group = "demo"
        else:  # a module's own group (`xdist_group` mark): its module fixture built once
            mark = item.get_closest_marker("xdist_group")
            group = None if mark is None else str(mark.args[0])
        if grouped and group is not None:
            item._id = type(item._id).parse(f"{item.nodeid}@{group}")
    heavy_modules = {item.path for item in items if any(item.get_closest_marker(m) for m in _HEAVY)}
    items.sort(key=lambda item: item.path not in heavy_modules)
