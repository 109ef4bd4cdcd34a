"""Fixtures shared by the whole suite: real PostgreSQL and real Spark, never mocks.

- `pg_url`: a fresh PostgreSQL database for this test session (created, then dropped), from
  JIAREG_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
- `fresh_pg_url`: a fresh database per test, for tests that need an empty registry.
- `module_pg_url`: a fresh database per test module (e.g. one bulk load shared by its tests).
- `spark`: one local-mode SparkSession for the whole run (start ≈ 5 s).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

PG_ADMIN_URL = os.environ.get("JIAREG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _create_database() -> str:
    import psycopg

    name = f"jiareg_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _drop_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg://...) of a database private to this test session."""
    url = _create_database()
    yield _sqlalchemy_url(url)
    _drop_database(url)


@pytest.fixture()
def fresh_pg_url() -> Iterator[str]:
    """SQLAlchemy URL of a brand-new empty database, dropped after the test."""
    url = _create_database()
    yield _sqlalchemy_url(url)
    _drop_database(url)


@pytest.fixture(scope="module")
def module_pg_url() -> Iterator[str]:
    """SQLAlchemy URL of a database private to one test module, dropped after it."""
    url = _create_database()
    yield _sqlalchemy_url(url)
    _drop_database(url)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local-mode SparkSession for the run, set up as jiareg sets up its own (2 GB heap)."""
    from jiareg.study.backends import SPARK_DRIVER_MEMORY_ENV, spark_session

    os.environ.setdefault(SPARK_DRIVER_MEMORY_ENV, "2g")
    session = spark_session("local[2]")
    yield session
    session.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Spark tests may leave py4j's gateway sockets to the garbage collector (pyspark's, not
    ours): only there is that one ResourceWarning not an error."""
    for item in items:
        if item.get_closest_marker("spark"):
            item.add_marker(
                pytest.mark.filterwarnings(
                    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
                )
            )
