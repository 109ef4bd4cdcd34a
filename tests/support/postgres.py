"""Test databases on the PostgreSQL server of JIAREG_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/postgres): each created with a unique name, so xdist
workers and parallel runs never share one."""

from __future__ import annotations

import os
import uuid

PG_ADMIN_URL = os.environ.get("JIAREG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy form (postgresql+psycopg://) of a postgresql:// URL."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def create_database(template: str | None = None) -> str:
    """A new database (a copy of database `template` if given); its postgresql:// URL."""
    import psycopg

    name = f"jiareg_test_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    """Drop the database of `url` (either URL form), closing its connections."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
