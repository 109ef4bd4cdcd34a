"""Schema creation with Alembic and the Arrow snapshot, on SQLite and PostgreSQL."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqlalchemy import inspect

from jiareg.errors import StoreError
from jiareg.store.engine import get_engine, init_db
from jiareg.store.tables import TABLE_NAMES, read_tables


def test_init_creates_every_table_and_is_idempotent(db_url: str) -> None:
    assert init_db(db_url) == "0005"
    assert init_db(db_url) == "0005"
    names = set(inspect(get_engine(db_url)).get_table_names())
    assert set(TABLE_NAMES) | {"sites", "users", "audit_log", "settings", "access_events"} <= names


def test_read_tables_has_contract_types_on_an_empty_registry(db_url: str) -> None:
    init_db(db_url)
    tables = read_tables(db_url)
    assert list(tables) == list(TABLE_NAMES)
    visits = tables["visits"].schema
    assert visits.field("visit_date").type == pa.date32()
    assert visits.field("esr").type == pa.float64()
    assert visits.field("active_joints").type == pa.int64()
    assert visits.field("fever").type == pa.bool_()
    assert tables["patients"].num_rows == 0


def test_read_tables_on_an_uninitialised_database_says_how_to_fix(db_url: str) -> None:
    with pytest.raises(StoreError, match="jiareg init"):
        read_tables(db_url)


def test_migrations_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from jiareg.store.models import Base

    init_db(db_url)
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_tables_carry_the_template_names_and_types() -> None:
    from jiareg.formats.template.dictionary import TABLES
    from jiareg.store.tables import arrow_schema

    kinds = {
        "text": pa.string(),
        "code": pa.string(),
        "date": pa.date32(),
        "number": pa.float64(),
        "count": pa.int64(),
        "flag": pa.bool_(),
    }
    assert [t.name for t in TABLES] == list(TABLE_NAMES)
    for spec in TABLES:
        schema = arrow_schema(spec.name)
        assert schema.names == list(spec.names)
        assert [f.type for f in schema] == [kinds[c.kind] for c in spec.columns]
