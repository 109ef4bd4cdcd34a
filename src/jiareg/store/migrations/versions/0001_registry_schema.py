"""First revision: the registry schema (template tables, sites, users, audit log, settings).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_patient_id", ["patient_id"], unique=False)

    op.create_table(
        "settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "sites",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("site"),
    )
    op.create_table(
        "patients",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("ilar_category", sa.String(length=32), nullable=True),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site"],
            ["sites.site"],
        ),
        sa.PrimaryKeyConstraint("patient_id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_site"), ["site"], unique=False)

    op.create_table(
        "users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["site"],
            ["sites.site"],
        ),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "administrations",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("drug", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("dose_mg", sa.Double(), nullable=False),
        sa.Column("weight_kg", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
        ),
        sa.PrimaryKeyConstraint("patient_id", "drug", "date"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "adverse_events",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("serious", sa.Boolean(), nullable=True),
        sa.Column("related_drug", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
        ),
        sa.PrimaryKeyConstraint("patient_id", "onset_date", "term"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "chaq_items",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("aid", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
        ),
        sa.PrimaryKeyConstraint("patient_id", "visit_date", "item"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "joint_exams",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("joint", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("swollen", sa.Boolean(), nullable=True),
        sa.Column("tender", sa.Boolean(), nullable=True),
        sa.Column("painful_motion", sa.Boolean(), nullable=True),
        sa.Column("limited_motion", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
        ),
        sa.PrimaryKeyConstraint("patient_id", "visit_date", "joint", "side"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "steroids",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("drug", sa.String(length=64), nullable=False),
        sa.Column("daily_dose_mg", sa.Double(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("stop_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
        ),
        sa.PrimaryKeyConstraint("patient_id", "drug", "start_date"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "treatments",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("drug", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=8), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("stop_date", sa.Date(), nullable=True),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
        ),
        sa.PrimaryKeyConstraint("patient_id", "drug", "start_date"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "visits",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("weight_kg", sa.Double(), nullable=True),
        sa.Column("height_cm", sa.Double(), nullable=True),
        sa.Column("phys_global", sa.Double(), nullable=True),
        sa.Column("phys_global_scale", sa.String(length=8), nullable=True),
        sa.Column("parent_global", sa.Double(), nullable=True),
        sa.Column("parent_global_scale", sa.String(length=8), nullable=True),
        sa.Column("chaq", sa.Double(), nullable=True),
        sa.Column("active_joints", sa.Integer(), nullable=True),
        sa.Column("lom_joints", sa.Integer(), nullable=True),
        sa.Column("esr", sa.Double(), nullable=True),
        sa.Column("crp", sa.Double(), nullable=True),
        sa.Column("fever", sa.Boolean(), nullable=True),
        sa.Column("rash", sa.Boolean(), nullable=True),
        sa.Column("serositis", sa.Boolean(), nullable=True),
        sa.Column("hepatosplenomegaly", sa.Boolean(), nullable=True),
        sa.Column("lymphadenopathy", sa.Boolean(), nullable=True),
        sa.Column("uveitis_active", sa.Boolean(), nullable=True),
        sa.Column("morning_stiffness_min", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
        ),
        sa.PrimaryKeyConstraint("patient_id", "visit_date"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("visits")
    op.drop_table("treatments")
    op.drop_table("steroids")
    op.drop_table("joint_exams")
    op.drop_table("chaq_items")
    op.drop_table("adverse_events")
    op.drop_table("administrations")
    op.drop_table("users")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_site"))

    op.drop_table("patients")
    op.drop_table("sites")
    op.drop_table("settings")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_patient_id")

    op.drop_table("audit_log")
