"""The store tests' databases, each on SQLite and on the real PostgreSQL:

- `db_url`: a fresh, empty database (not initialised), for the tests of creating and
  migrating a registry and of an import that initialises one;
- `registry_url`: an empty registry at the newest schema, a copy of one migrated once per
  session (a SQLite file copied; PostgreSQL: `CREATE DATABASE ... TEMPLATE` of `pg_template`).
  Migrating per test cost ~0.05 s CPU on SQLite and ~0.2 s on PostgreSQL (client and server).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.postgres import create_database, drop_database, sqlalchemy_url

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, empty database (not yet initialised): a SQLite file or a PG database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("fresh_pg_url")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite registry file migrated to the newest schema once per session (per worker)."""
    from jiareg.store.engine import get_engine, init_db

    path = tmp_path_factory.mktemp("template") / "registry.db"
    init_db(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()  # closed: the file holds everything
    return path


@pytest.fixture(params=ENGINES)
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty registry at the newest schema (`jiareg init` done), private to the test."""
    if request.param == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = create_database(template=request.getfixturevalue("pg_template"))
    yield sqlalchemy_url(url)
    drop_database(url)
