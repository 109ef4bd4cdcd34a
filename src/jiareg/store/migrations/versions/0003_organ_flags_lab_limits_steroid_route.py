"""Separate hepatomegaly and splenomegaly, laboratory upper limits, steroid routes.

SPEC §12b.3: inactive disease names splenomegaly, not hepatomegaly, so the combined
`visits.hepatosplenomegaly` flag becomes `hepatomegaly` and `splenomegaly`; an existing
combined value is carried over as both flags (the CID a registry gave stays the same).
Issue #15: optional per-visit `esr_uln` and `crp_uln` (empty = the configured default).
SPEC §12b.6: `steroids.route`; every existing steroid record was a daily dose, so it
becomes `oral` (what a record without a route counted as).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_CLUSTERED = {"sqlite_with_rowid": False}
"""Keep SQLite's clustered (WITHOUT ROWID) tables when batch mode rebuilds them."""


def upgrade() -> None:
    with op.batch_alter_table("visits", table_kwargs=_CLUSTERED) as batch_op:
        batch_op.add_column(sa.Column("hepatomegaly", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("splenomegaly", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("esr_uln", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("crp_uln", sa.Double(), nullable=True))
    op.execute(
        "UPDATE visits SET hepatomegaly = hepatosplenomegaly, splenomegaly = hepatosplenomegaly"
    )
    with op.batch_alter_table("visits", table_kwargs=_CLUSTERED) as batch_op:
        batch_op.drop_column("hepatosplenomegaly")
    with op.batch_alter_table("steroids", table_kwargs=_CLUSTERED) as batch_op:
        batch_op.add_column(sa.Column("route", sa.String(length=16), nullable=True))
    op.execute("UPDATE steroids SET route = 'oral'")


def downgrade() -> None:
    with op.batch_alter_table("steroids", table_kwargs=_CLUSTERED) as batch_op:
        batch_op.drop_column("route")
    with op.batch_alter_table("visits", table_kwargs=_CLUSTERED) as batch_op:
        batch_op.add_column(sa.Column("hepatosplenomegaly", sa.Boolean(), nullable=True))
    op.execute(
        "UPDATE visits SET hepatosplenomegaly = CASE WHEN hepatomegaly OR splenomegaly "
        "THEN TRUE WHEN hepatomegaly IS NULL OR splenomegaly IS NULL THEN NULL ELSE FALSE END"
    )
    with op.batch_alter_table("visits", table_kwargs=_CLUSTERED) as batch_op:
        batch_op.drop_column("crp_uln")
        batch_op.drop_column("esr_uln")
        batch_op.drop_column("splenomegaly")
        batch_op.drop_column("hepatomegaly")
