"""Access events (reads, log-ins, log-outs, failed log-ins) and a TOTP second factor.

Issue #12: who viewed a record, exported or ran a study, and every log-in, log-out and
failed log-in, with when and from which address, go to `access_events`: reads change no data,
so the hash-chained `audit_log` (whose replay rebuilds the data) is no place for them.
`users.totp_secret` holds an optional TOTP secret (RFC 6238); whether admins must have one is
the `settings` row `totp_required_for_admins` (absent = off).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("address", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_access_events_username", "access_events", ["username"])
    op.create_index("ix_access_events_patient_id", "access_events", ["patient_id"])
    op.create_index("ix_access_events_ts", "access_events", ["ts"])
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("totp_secret")
    op.drop_table("access_events")
    op.execute("DELETE FROM settings WHERE name = 'totp_required_for_admins'")
