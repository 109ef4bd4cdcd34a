"""Data-quality queries (issue #13): a reviewer or a rule queries a stored value, the site
answers, the reviewer closes it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dq_queries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=False),
        sa.Column("value_shown", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.String(length=32), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.String(length=32), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dq_queries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dq_queries_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dq_queries_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dq_queries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dq_queries_status"))
        batch_op.drop_index(batch_op.f("ix_dq_queries_patient_id"))
    op.drop_table("dq_queries")
