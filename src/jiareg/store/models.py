"""The registry schema (SQLAlchemy 2): tables and columns carry the template's names.

Contract 2 (docs/explanation/architecture.md): `patients`, `visits`, `treatments`,
`administrations`, `steroids`, `adverse_events`, `joint_exams` and `chaq_items` hold exactly the
template columns; each table's primary key is its natural key, so a study reads the same names
on SQLite, PostgreSQL, DuckDB and Spark. Bookkeeping tables: `sites`, `users`, `audit_log`,
`settings`, `web_sessions`, `login_attempts`, `dq_queries` (data-quality queries),
`access_events`.

Numbers are DOUBLE PRECISION (float64); exactness comes from Contract 1. Dates are DATE (ISO
text on SQLite). Flags are BOOLEAN. Counts are INTEGER.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Double, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "CLINICAL_TABLES",
    "AccessEvent",
    "Administration",
    "AdverseEvent",
    "AuditEntry",
    "Base",
    "ChaqItem",
    "DqQuery",
    "JointExam",
    "LoginAttempt",
    "Patient",
    "Setting",
    "Site",
    "Steroid",
    "Treatment",
    "User",
    "Visit",
    "WebSession",
]

_PATIENT_FK = "patients.patient_id"
_CLUSTERED: dict[str, object] = {"sqlite_with_rowid": False}
"""SQLite stores each template table in its natural-key order (one B-tree, faster bulk loads)."""


class Base(DeclarativeBase):
    """Declarative base of every registry table."""


class Site(Base):
    """A clinic taking part in the registry; patients and users belong to one."""

    __tablename__ = "sites"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)


class Patient(Base):
    """One child: natural key `patient_id`."""

    __tablename__ = "patients"
    __table_args__ = _CLUSTERED
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), ForeignKey("sites.site"), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    ilar_category: Mapped[str | None] = mapped_column(String(32))
    onset_date: Mapped[dt.date | None] = mapped_column(Date)


class Visit(Base):
    """One clinic visit: natural key (`patient_id`, `visit_date`)."""

    __tablename__ = "visits"
    __table_args__ = _CLUSTERED
    patient_id: Mapped[str] = mapped_column(String(64), ForeignKey(_PATIENT_FK), primary_key=True)
    visit_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    weight_kg: Mapped[float | None] = mapped_column(Double)
    height_cm: Mapped[float | None] = mapped_column(Double)
    phys_global: Mapped[float | None] = mapped_column(Double)
    phys_global_scale: Mapped[str | None] = mapped_column(String(8))
    parent_global: Mapped[float | None] = mapped_column(Double)
    parent_global_scale: Mapped[str | None] = mapped_column(String(8))
    chaq: Mapped[float | None] = mapped_column(Double)
    active_joints: Mapped[int | None] = mapped_column(Integer)
    lom_joints: Mapped[int | None] = mapped_column(Integer)
    esr: Mapped[float | None] = mapped_column(Double)
    crp: Mapped[float | None] = mapped_column(Double)
    fever: Mapped[bool | None] = mapped_column(Boolean)
    rash: Mapped[bool | None] = mapped_column(Boolean)
    serositis: Mapped[bool | None] = mapped_column(Boolean)
    hepatomegaly: Mapped[bool | None] = mapped_column(Boolean)
    splenomegaly: Mapped[bool | None] = mapped_column(Boolean)
    lymphadenopathy: Mapped[bool | None] = mapped_column(Boolean)
    uveitis_active: Mapped[bool | None] = mapped_column(Boolean)
    morning_stiffness_min: Mapped[float | None] = mapped_column(Double)
    esr_uln: Mapped[float | None] = mapped_column(Double)
    crp_uln: Mapped[float | None] = mapped_column(Double)


class Treatment(Base):
    """One biologic course: natural key (`patient_id`, `drug`, `start_date`)."""

    __tablename__ = "treatments"
    __table_args__ = _CLUSTERED
    patient_id: Mapped[str] = mapped_column(String(64), ForeignKey(_PATIENT_FK), primary_key=True)
    drug: Mapped[str] = mapped_column(String(64), primary_key=True)
    route: Mapped[str | None] = mapped_column(String(8))
    start_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(String(32))


class Administration(Base):
    """One infusion or injection: natural key (`patient_id`, `drug`, `date`)."""

    __tablename__ = "administrations"
    __table_args__ = _CLUSTERED
    patient_id: Mapped[str] = mapped_column(String(64), ForeignKey(_PATIENT_FK), primary_key=True)
    drug: Mapped[str] = mapped_column(String(64), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    dose_mg: Mapped[float] = mapped_column(Double)
    weight_kg: Mapped[float | None] = mapped_column(Double)


class Steroid(Base):
    """One steroid period at a constant daily dose: key (`patient_id`, `drug`, `start_date`)."""

    __tablename__ = "steroids"
    __table_args__ = _CLUSTERED
    patient_id: Mapped[str] = mapped_column(String(64), ForeignKey(_PATIENT_FK), primary_key=True)
    drug: Mapped[str] = mapped_column(String(64), primary_key=True)
    daily_dose_mg: Mapped[float] = mapped_column(Double)
    start_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)
    route: Mapped[str | None] = mapped_column(String(16))


class AdverseEvent(Base):
    """One adverse event: natural key (`patient_id`, `onset_date`, `term`)."""

    __tablename__ = "adverse_events"
    __table_args__ = _CLUSTERED
    patient_id: Mapped[str] = mapped_column(String(64), ForeignKey(_PATIENT_FK), primary_key=True)
    onset_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    term: Mapped[str] = mapped_column(String(200), primary_key=True)
    grade: Mapped[int | None] = mapped_column(Integer)
    serious: Mapped[bool | None] = mapped_column(Boolean)
    related_drug: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(200))


class JointExam(Base):
    """One joint at one visit: natural key (`patient_id`, `visit_date`, `joint`, `side`)."""

    __tablename__ = "joint_exams"
    __table_args__ = _CLUSTERED
    patient_id: Mapped[str] = mapped_column(String(64), ForeignKey(_PATIENT_FK), primary_key=True)
    visit_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    joint: Mapped[str] = mapped_column(String(64), primary_key=True)
    side: Mapped[str] = mapped_column(String(8), primary_key=True)
    swollen: Mapped[bool | None] = mapped_column(Boolean)
    tender: Mapped[bool | None] = mapped_column(Boolean)
    painful_motion: Mapped[bool | None] = mapped_column(Boolean)
    limited_motion: Mapped[bool | None] = mapped_column(Boolean)


class ChaqItem(Base):
    """One CHAQ item response: natural key (`patient_id`, `visit_date`, `item`)."""

    __tablename__ = "chaq_items"
    __table_args__ = _CLUSTERED
    patient_id: Mapped[str] = mapped_column(String(64), ForeignKey(_PATIENT_FK), primary_key=True)
    visit_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    item: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[int | None] = mapped_column(Integer)
    aid: Mapped[bool | None] = mapped_column(Boolean)


class User(Base):
    """A person who may log in: role admin|data_manager|clinician|researcher, optional site."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    site: Mapped[str | None] = mapped_column(String(64), ForeignKey("sites.site"))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    """The TOTP second factor's base32 secret (never shown after enrolment), or None."""


class WebSession(Base):
    """A logged-in browser, shared by every worker of `jiareg serve` (jiareg.web.security).

    Only the SHA-256 of the cookie's token is stored; times are seconds since the epoch.
    """

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[float] = mapped_column(Double)
    last_seen: Mapped[float] = mapped_column(Double)


class LoginAttempt(Base):
    """Failed (and in-flight) log-ins of one (user name, client address): the throttle."""

    __tablename__ = "login_attempts"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[float] = mapped_column(Double)
    last_failure: Mapped[float] = mapped_column(Double)


class AuditEntry(Base):
    """One append-only, hash-chained change record (see jiareg.store.audit)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    table_name: Mapped[str] = mapped_column(String(32))
    row_key: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_patient_id", "patient_id"),)


class DqQuery(Base):
    """A data-quality query on one stored value (jiareg.services.dq): opened, answered, closed.

    `record_key` is the record's natural key as canonical JSON; `value_shown` the value as it
    was when the query was opened (the stored value may change after the answer).
    """

    __tablename__ = "dq_queries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(64), index=True)
    table_name: Mapped[str] = mapped_column(String(32))
    record_key: Mapped[str] = mapped_column(Text)
    column_name: Mapped[str] = mapped_column(String(64))
    value_shown: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), index=True)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[str] = mapped_column(String(32))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[str | None] = mapped_column(String(32))
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[str | None] = mapped_column(String(32))


class AccessEvent(Base):
    """One read or log-in event (jiareg.store.access): who, when, what, from where.

    Not in the chained `audit_log`: reads change no data, so there is nothing to replay.
    """

    __tablename__ = "access_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[str] = mapped_column(String(32), index=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    address: Mapped[str] = mapped_column(String(64))


class Setting(Base):
    """Registry-wide settings (e.g. the de-identification key)."""

    __tablename__ = "settings"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


CLINICAL_TABLES: tuple[type[Base], ...] = (
    Patient,
    Visit,
    Treatment,
    Administration,
    Steroid,
    AdverseEvent,
    JointExam,
    ChaqItem,
)
"""The template tables, in load order (patients first: the others refer to them)."""
