"""Alembic environment: jiareg runs migrations programmatically (see store.engine.init_db)."""

from __future__ import annotations

from alembic import context

from jiareg.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
