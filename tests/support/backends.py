"""The engines the columnar rules run on, behind one interface (after the ibis project's
conftest): an Ibis connection, `execute(expr)` and `load(arrow)` putting a table on the engine.

DuckDB and PostgreSQL take Arrow as an Ibis memtable. On Spark, tables go through
`createDataFrame(arrow)` and a temp view: ibis 12's pyspark memtable turns an int64 column
holding nulls into all-NULL (checked: [1, None] came back as [NaN, NaN]).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa
import pytest


@dataclass(frozen=True)
class Backend:
    """One engine: its name (`duckdb`, `postgres`, `spark`), connection and Arrow loader."""

    name: str
    con: Any
    load: Callable[[pa.Table], Any]

    def execute(self, expr: Any) -> Any:
        """Run an Ibis expression on this engine; a pandas DataFrame (or scalar)."""
        return self.con.execute(expr)


def connect_backend(name: str, request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Yield the `name` engine, using the session's `pg_url` / `spark` fixtures."""
    if name == "duckdb":
        con = ibis.duckdb.connect()
        yield Backend(name, con, ibis.memtable)
        con.disconnect()
    elif name == "postgres":
        from sqlalchemy.engine import make_url

        url = make_url(request.getfixturevalue("pg_url"))
        con = ibis.postgres.connect(
            host=url.host, port=url.port, user=url.username, database=url.database
        )
        yield Backend(name, con, ibis.memtable)
        con.disconnect()
    else:
        session = request.getfixturevalue("spark")
        con = ibis.pyspark.connect(session)

        def load(data: pa.Table) -> Any:
            view = f"t_{uuid.uuid4().hex[:10]}"
            session.createDataFrame(data).createOrReplaceTempView(view)
            return con.table(view)

        yield Backend(name, con, load)  # no disconnect: it would stop the shared session
