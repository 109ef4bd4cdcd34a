"""Read the registry for the web pages, filtered by what the reader may see.

Reads use SQLAlchemy Core on the store's tables (template names, architecture.md Contract 2),
so every query is parameterised. Writes never happen here: they go through the validated,
audited services (`jiareg.services.records`, `jiareg.services.imports`).

Researchers get de-identified rows (`deidentify`): no birth_date, the birth year and the age
in whole years instead, and a pseudonym instead of patient_id when the app has a pseudonym key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Collection, Hashable
from datetime import date
from typing import Any, Final, Protocol, TypeVar, cast

from sqlalchemy import Engine, RowMapping, Table, bindparam, case, func, select

from jiareg.formats.template.dictionary import TABLES
from jiareg.store import list_queries
from jiareg.store.audit import recent_entries
from jiareg.store.audit_batch import batch_entries, batch_patients
from jiareg.store.models import Base

__all__ = ["Registry", "Viewer", "audit_entries", "pseudonym"]

_CHILD_TABLES: Final = tuple(t.name for t in TABLES if t.name != "patients")
_ORDER = {
    "visits": "visit_date",
    "treatments": "start_date",
    "administrations": "date",
    "steroids": "start_date",
    "adverse_events": "onset_date",
    "joint_exams": "visit_date",
    "chaq_items": "visit_date",
}
_CACHE_SIZE: Final = 256
_PATIENT_CACHE_SIZE: Final = 4096
"""Entries of `for_patient` (a record's detail, its JSON, its timeline: tens of kB each)."""
_INCREMENTAL_MAX: Final = 200
"""More changed patients than this since the last read: recompute every patient's row."""
T = TypeVar("T")

# The statements of every request, built once (building one costs several times running it)
_LOG: Final = Base.metadata.tables["audit_log"]
_PATIENTS: Final = Base.metadata.tables["patients"]
_VERSION: Final = select(func.coalesce(func.max(_LOG.c.seq), 0))
_PATIENT_VERSION: Final = _VERSION.where(  # an import's batch entries: anyone's
    (_LOG.c.patient_id == bindparam("patient_id")) | batch_entries(_LOG)
)
_CHANGED: Final = (  # each entry's patient, or an import's batch entry's keys
    select(_LOG.c.patient_id, case((_LOG.c.patient_id.is_(None), _LOG.c.row_key)))
    .where(_LOG.c.seq > bindparam("since"), _LOG.c.patient_id.is_not(None) | batch_entries(_LOG))
    .distinct()
)
REGISTRY_VERSION_SQL: Final = str(_VERSION.compile(compile_kwargs={"literal_binds": True}))
"""`Registry.version`'s statement, to read it inside another (the web's session read: a
request then needs no round trip of its own for it)."""
_PATIENT: Final = select(  # a patient's row with its version: one round trip, not two
    _PATIENTS, _PATIENT_VERSION.scalar_subquery().label("_version")
).where(_PATIENTS.c.patient_id == bindparam("patient_id"))
_SITE_PATIENT: Final = _PATIENT.where(_PATIENTS.c.site == bindparam("site"))
_IDS: Final = select(_PATIENTS.c.patient_id)
_RECORD: Final = {
    name: select(t).where(t.c.patient_id == bindparam("patient_id")).order_by(t.c[_ORDER[name]])
    for name, t in ((n, Base.metadata.tables[n]) for n in _CHILD_TABLES)
}
"""A patient's rows of each child table, in date order (`Registry.record`)."""
_BOOKKEEPING = {"id", "created_at", "updated_at", "row_version", "_version"}


def pseudonym(patient_id: str, key: bytes) -> str:
    """A stable pseudonymous id: `P-` + 12 hex digits of HMAC-SHA256(key, patient_id).

    >>> pseudonym("AR-001", b"k")
    'P-904505e71fc2'
    """
    digest = hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()
    return f"P-{digest[:12]}"


class Viewer(Protocol):
    """Who reads: the sites they see and whether they see identifiers (`jiareg.web.access`)."""

    @property
    def site(self) -> str | None:
        """The reader's own site (None for roles without one)."""

    @property
    def all_sites(self) -> bool:
        """True when every site's records are visible."""

    @property
    def deidentified(self) -> bool:
        """True when the reader gets de-identified records."""


def _age_years(birth: date, on: date) -> int:
    """Whole years between `birth` and `on`.

    >>> birth = date(2010, 6, 15)
    >>> _age_years(birth, date(2020, 6, 14)), _age_years(birth, date(2020, 6, 15))
    (9, 10)
    """
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _site(viewer: Viewer) -> str | None:
    """The one site the viewer's reads are limited to (None: every site)."""
    return None if viewer.all_sites else viewer.site


def _plain(row: RowMapping) -> dict[str, Any]:
    return {str(k): v for k, v in row.items() if k not in _BOOKKEEPING}


class Registry:
    """Site- and role-filtered reads of one registry database."""

    def __init__(self, engine: Engine, *, pseudonym_key: bytes | None = None) -> None:
        self.engine = engine
        self.pseudonym_key = pseudonym_key
        self._cache: dict[Hashable, object] = {}
        self._cache_version = -1
        self._lock = threading.Lock()
        self._per_patient: dict[Hashable, tuple[int, dict[str, Any], list[Any]]] = {}
        self._per_patient_lock = threading.Lock()
        self._patient_cache: dict[tuple[str, Hashable], tuple[int, object]] = {}
        self._pseudonyms: tuple[int, dict[str, str]] = (-1, {})  # version, pseudonym -> id

    def version(self) -> int:
        """The registry's change marker: the last audit-trail entry (every write appends one)."""
        with self.engine.connect() as conn:
            return int(conn.execute(_VERSION).scalar_one())

    def cached(self, key: Hashable, compute: Callable[[], T], version: int | None = None) -> T:
        """`compute()` once per `key` while the registry is unchanged (see `version`).

        `version` is the registry's version when the caller read it already. Callers treat
        the value as read-only (it is shared by every request with `key`).
        """
        if version is None:
            version = self.version()
        with self._lock:
            if version > self._cache_version:
                self._cache, self._cache_version = {}, version
            found = self._cache.get(key) if version == self._cache_version else None
        if found is None:
            found = compute()
            with self._lock:
                if len(self._cache) < _CACHE_SIZE and self._cache_version == version:
                    self._cache[key] = found
        return cast(T, found)

    def patient_version(self, patient_id: str) -> int:
        """One patient's change marker: their last audit-trail entry (0 if none)."""
        with self.engine.connect() as conn:
            return int(conn.execute(_PATIENT_VERSION, {"patient_id": patient_id}).scalar_one())

    def for_patient(
        self, patient_id: str, key: Hashable, compute: Callable[[], T], version: int | None = None
    ) -> T:
        """`compute()` once per `key` while the patient's own record is unchanged (see
        `patient_version`): other patients' writes do not discard it. Read-only.

        `version` is the patient's version when the caller read it already (`located`)."""
        if version is None:
            version = self.patient_version(patient_id)
        with self._lock:
            found = self._patient_cache.get((patient_id, key))
        if found is not None and found[0] == version:
            return cast(T, found[1])
        value = compute()
        with self._lock:
            if len(self._patient_cache) >= _PATIENT_CACHE_SIZE:
                self._patient_cache.clear()
            self._patient_cache[(patient_id, key)] = (version, value)
        return value

    def changed_patients(self, since: int) -> set[str]:
        """The patients with an audit-trail entry after entry `since` (every write of a
        patient's record appends one naming the patient)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_CHANGED, {"since": since}).all()
        named = {str(r[0]) for r in rows if r[0] is not None}
        return named | batch_patients(str(r[1]) for r in rows if r[0] is None)

    def per_patient(
        self,
        key: Hashable,
        compute: Callable[[Collection[str] | None], dict[str, T]],
        version: int | None = None,
    ) -> tuple[int, list[T]]:
        """Rows by patient, ordered by patient_id, kept current incrementally; with the
        registry version they are current for.

        `compute(ids)` gives patient_id -> row for the visible patients among `ids` (None:
        every patient). The first call computes all; later calls recompute only the patients
        changed since (`changed_patients`), dropping those no longer visible. Reads of
        current rows take no lock; one thread at a time updates them (the others wait for
        its result instead of recomputing). `version`: as for `cached`.
        """
        if version is None:
            version = self.version()
        held = self._per_patient.get(key)
        if held is None or held[0] < version:
            with self._per_patient_lock:
                held = self._per_patient.get(key)  # another thread may have updated it
                if held is None or held[0] < version:
                    held = self._updated(key, version, held, compute)
        return held[0], cast(list[T], held[2])

    def _updated(
        self,
        key: Hashable,
        version: int,
        held: tuple[int, dict[str, Any], list[Any]] | None,
        compute: Callable[[Collection[str] | None], dict[str, T]],
    ) -> tuple[int, dict[str, Any], list[Any]]:
        changed = self.changed_patients(held[0]) if held is not None else set()
        if held is None or len(changed) > _INCREMENTAL_MAX:
            rows: dict[str, Any] = compute(None)
        else:
            kept = {k: v for k, v in held[1].items() if k not in changed}
            rows = dict(sorted({**kept, **compute(changed)}.items()))
        if len(self._per_patient) >= _CACHE_SIZE:
            self._per_patient.clear()
        fresh = (version, rows, list(rows.values()))
        self._per_patient[key] = fresh
        return fresh

    @staticmethod
    def table(name: str) -> Table:
        """The store's table `name` (jiareg.store.models)."""
        return Base.metadata.tables[name]

    # -- identity -------------------------------------------------------------------------
    def public_id(self, viewer: Viewer, patient_id: str) -> str:
        """The id this viewer sees for a patient (a pseudonym for researchers when configured)."""
        if viewer.deidentified and self.pseudonym_key is not None:
            return pseudonym(patient_id, self.pseudonym_key)
        return patient_id

    def in_shown_order(self, viewer: Viewer, rows: list[T], shown: Callable[[T], str]) -> list[T]:
        """`rows` (in registry-id order) in the order of the ids this viewer sees them by:
        pseudonym order for researchers, so a list's order never maps pseudonyms back to the
        (often sequential) registry ids (issue 12, finding 4)."""
        if not viewer.deidentified or self.pseudonym_key is None:
            return rows
        return sorted(rows, key=shown)

    def deidentify(self, viewer: Viewer, patient: dict[str, Any]) -> dict[str, Any]:
        """The patient row as this viewer may see it."""
        out = dict(patient)
        out["patient_id"] = self.public_id(viewer, patient["patient_id"])
        if viewer.deidentified:
            birth = out.pop("birth_date", None)
            out["birth_year"] = birth.year if isinstance(birth, date) else None
            out["age_years"] = _age_years(birth, date.today()) if isinstance(birth, date) else None
        return out

    def public_ids_in(self, viewer: Viewer, value: Any) -> Any:
        """Parsed JSON (e.g. a study's results.json) with every registry patient_id in it, as
        a value or as a key, replaced by the id this viewer sees (a pseudonym when set)."""
        if not viewer.deidentified or self.pseudonym_key is None:
            return value
        ids = {p["patient_id"] for p in self.patients(viewer)}

        def swap(x: Any) -> Any:
            if isinstance(x, str):
                return self.public_id(viewer, x) if x in ids else x
            if isinstance(x, list):
                return [swap(v) for v in x]
            if isinstance(x, dict):
                return {swap(k): swap(v) for k, v in x.items()}
            return x

        return swap(value)

    def resolve(self, viewer: Viewer, public_id: str) -> dict[str, Any] | None:
        """The patient row behind an id the viewer was shown; None if missing OR not visible."""
        found = self.located(viewer, public_id)
        return None if found is None else found[0]

    def located(self, viewer: Viewer, public_id: str) -> tuple[dict[str, Any], int] | None:
        """`resolve`, with the patient's version (`patient_version`) read by the same
        statement; None if missing OR not visible."""
        patient_id: str | None = public_id
        if viewer.deidentified and self.pseudonym_key is not None:
            patient_id = self._pseudonymised(public_id)
            if patient_id is None:
                return None
        one, params = (_PATIENT, {}) if viewer.all_sites else (_SITE_PATIENT, {"site": viewer.site})
        with self.engine.connect() as conn:
            found = conn.execute(one, {"patient_id": patient_id, **params}).mappings().first()
        return None if found is None else (_plain(found), int(found["_version"]))

    def _pseudonymised(self, public_id: str) -> str | None:
        """The patient_id behind a pseudonym: a map of every patient's pseudonym, made again
        only when a pseudonym is not in it and the registry has changed since (so an unknown
        pseudonym costs one version read, not an HMAC of every patient)."""
        assert self.pseudonym_key is not None
        made, known = self._pseudonyms
        if public_id not in known and (version := self.version()) != made:
            with self.engine.connect() as conn:
                ids = list(conn.execute(_IDS).scalars())
            known = {pseudonym(pid, self.pseudonym_key): pid for pid in ids}
            self._pseudonyms = (version, known)
        return known.get(public_id)

    # -- reads --------------------------------------------------------------------------------
    def patients(self, viewer: Viewer, ids: Collection[str] | None = None) -> list[dict[str, Any]]:
        """Every patient row the viewer may see (of `ids`, None = all; not yet de-identified),
        ordered by id."""
        stmt = list_queries.patients(all_sites=viewer.all_sites, some=ids is not None)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt, list_queries.list_params(_site(viewer), ids)).mappings()
            return [_plain(r) for r in rows]

    def latest_visits(
        self, viewer: Viewer, ids: Collection[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The most recent visit row of each patient the viewer may see (of `ids`)."""
        stmt = list_queries.latest_visits(all_sites=viewer.all_sites, some=ids is not None)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt, list_queries.list_params(_site(viewer), ids)).mappings()
            return {r["patient_id"]: _plain(r) for r in rows}

    def open_courses(self, ids: Collection[str] | None = None) -> dict[str, str]:
        """patient_id -> drug of the latest biologic course with no stop date (the current one),
        for the patients `ids` (None = all)."""
        stmt = list_queries.open_courses(some=ids is not None)
        with self.engine.connect() as conn:
            return {
                r.patient_id: r.drug
                for r in conn.execute(stmt, list_queries.list_params(None, ids))
            }

    def record(self, patient_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every child table's rows for one patient, each in date order."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for name, stmt in _RECORD.items():
                rows = conn.execute(stmt, {"patient_id": patient_id}).mappings()
                out[name] = [_plain(r) for r in rows]
        return out

    def rows(self, viewer: Viewer, name: str) -> list[dict[str, Any]]:
        """Every row of child table `name` for the patients the viewer may see."""
        table, patients = self.table(name), self.table("patients")
        stmt = select(table).order_by(table.c.patient_id, table.c[_ORDER[name]])
        if not viewer.all_sites:
            stmt = stmt.join(patients, patients.c.patient_id == table.c.patient_id).where(
                patients.c.site == viewer.site
            )
        with self.engine.connect() as conn:
            return [_plain(r) for r in conn.execute(stmt).mappings()]


def audit_entries(engine: Engine, *, patient_id: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest audit-trail entries (optionally of one patient), newest first; an import's
    batch entry as one entry per row (`jiareg.store.audit_batch`)."""
    with engine.connect() as conn:
        records = recent_entries(conn, patient_id, limit)
    return [
        {
            "seq": r.seq,
            "ts": r.ts,
            "username": r.username,
            "action": r.action,
            "table": r.table_name,
            "row_key": r.row_key,
            "patient_id": r.patient_id,
            "before": json.loads(r.before) if r.before else None,
            "after": json.loads(r.after) if r.after else None,
            "reason": r.reason,
        }
        for r in records
    ]
