"""A web save is validated before the writer lock and re-checked under it
(`jiareg.services.records_prepare`): a record or patient changed in between by another
writer (a real second save, through its own connection and lock) makes the save redo
everything under the lock, which gives the answer a save taking the lock first would give.

The interleaving is made with `records_prepare.HOOKS`: the hook runs after the save's
preparation (its read connection closed) and before it takes the lock. Both databases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import text
from tests.integration.store.sample import write_folder

from jiareg.errors import ImportErrors
from jiareg.services import records_prepare
from jiareg.services.imports import import_path
from jiareg.services.patients import move_patient
from jiareg.services.records import add_record, update_record
from jiareg.services.versions import RecordExists, StaleRecord, record_version, visit_children
from jiareg.store.audit import verify_chain
from jiareg.store.engine import get_engine
from jiareg.store.tables import read_rows
from jiareg.store.users import UserInfo

NURSE = UserInfo("cleo", "clinician", "BA")
OTHER = UserInfo("olga", "clinician", "BA")
ADMIN = UserInfo("ada", "admin", None)
STORED = {"patient_id": "P1", "visit_date": "2020-02-10"}  # in the sample, esr 20


@pytest.fixture
def registry(registry_url: str, tmp_path: Path) -> str:
    import_path(write_folder(tmp_path / "in"), registry_url)
    return registry_url


@pytest.fixture
def events() -> Iterator[list[str]]:
    """The prepare/lock events of every save in the test (hooks removed after)."""
    seen: list[str] = []
    records_prepare.HOOKS.append(seen.append)
    yield seen
    records_prepare.HOOKS.clear()


def _between(action: Callable[[], object]) -> None:
    """Run `action` once, between the next save's preparation and its lock."""

    def hook(event: str) -> None:
        if event == "prepared":
            records_prepare.HOOKS.remove(hook)
            action()

    records_prepare.HOOKS.append(hook)


def _version(url: str, patient_id: str, visit_date: str) -> str:
    day = dt.date.fromisoformat(visit_date)
    """The version the web shows (as `check_version` computes it from the stored row)."""
    key = pa.table({"patient_id": [patient_id], "visit_date": pa.array([day], pa.date32())})
    with get_engine(url).connect() as conn:
        (row,) = read_rows(conn, "visits", key).to_pylist()
        children = [r for rows in visit_children(conn, patient_id, day).values() for r in rows]
    return record_version(row, children)


def _esr(url: str, patient_id: str, visit_date: str) -> object:
    with get_engine(url).connect() as conn:
        return conn.execute(
            text("SELECT esr FROM visits WHERE patient_id = :p AND visit_date = :d"),
            {"p": patient_id, "d": dt.date.fromisoformat(visit_date)},
        ).scalar()


def test_an_unchanged_save_writes_what_was_prepared(registry: str, events: list[str]) -> None:
    version = _version(registry, **STORED)
    change = update_record(
        registry, "visits", STORED, {"esr": 25}, version=version, user=NURSE, reason="lab"
    )
    assert change.action == "update"
    assert events == ["prepared", "fast"]
    assert _esr(registry, **STORED) == 25
    new = {"patient_id": "P1", "visit_date": "2020-05-01", "esr": 7}
    assert add_record(registry, "visits", new, user=NURSE, reason="visit").action == "insert"
    assert events[2:] == ["prepared", "fast"]
    assert _esr(registry, "P1", "2020-05-01") == 7
    verify_chain(registry)


def test_a_record_changed_after_the_preparation_is_redone_and_refused_as_stale(
    registry: str, events: list[str]
) -> None:
    version = _version(registry, **STORED)
    _between(
        lambda: update_record(
            registry, "visits", STORED, {"esr": 30}, version=version, user=OTHER, reason="lab 2"
        )
    )
    with pytest.raises(StaleRecord):
        update_record(
            registry, "visits", STORED, {"esr": 25}, version=version, user=NURSE, reason="lab"
        )
    # the second writer was prepared and written inside the first's gap; the first redid
    assert events == ["prepared", "prepared", "fast"]
    assert _esr(registry, **STORED) == 30  # the other user's change stands
    verify_chain(registry)


def test_a_visit_added_after_the_preparation_makes_the_add_a_conflict(
    registry: str, events: list[str]
) -> None:
    day = {"patient_id": "P1", "visit_date": "2020-06-01"}
    _between(lambda: add_record(registry, "visits", {**day, "esr": 11}, user=OTHER, reason="a"))
    with pytest.raises(RecordExists):
        add_record(registry, "visits", {**day, "esr": 12}, user=NURSE, reason="b")
    assert _esr(registry, **day) == 11
    verify_chain(registry)


def test_a_patient_moved_after_the_preparation_is_refused_at_the_stored_site(
    registry: str, events: list[str]
) -> None:
    """The right is checked at the STORED site under the lock: P1 moved from BA (the nurse's
    site) to CBA between the preparation (which allowed it) and the lock."""
    day = {"patient_id": "P1", "visit_date": "2020-07-01"}
    _between(lambda: move_patient(registry, "P1", "CBA", ADMIN, "transfer"))
    with pytest.raises(ImportErrors, match="'patient_id' = 'P1'; expected a patient_id among"):
        add_record(registry, "visits", {**day, "esr": 5}, user=NURSE, reason="visit")
    assert events[-1] == "redo"
    assert _esr(registry, **day) is None  # nothing written
    version = _version(registry, **STORED)  # and an edit is refused the same way
    with pytest.raises(ImportErrors, match="'patient_id' = 'P1'; expected a patient_id among"):
        update_record(
            registry, "visits", STORED, {"esr": 1}, version=version, user=NURSE, reason="x"
        )
    assert _esr(registry, **STORED) == 20
    verify_chain(registry)


def test_a_birth_date_changed_after_the_preparation_is_validated_again(
    registry: str, events: list[str]
) -> None:
    """The validator reads the stored patient's birth date: a visit valid when prepared but
    before the birth date stored when the lock is taken is refused like an import's row."""
    day = {"patient_id": "P2", "visit_date": "2013-01-01"}  # P2 born 2012-07-15
    with get_engine(registry).connect() as conn:
        (row,) = read_rows(conn, "patients", pa.table({"patient_id": ["P2"]})).to_pylist()
    born_later = {"birth_date": "2013-06-01"}
    _between(
        lambda: update_record(
            registry,
            "patients",
            {"patient_id": "P2"},
            born_later,
            version=record_version(row),
            user=ADMIN,
            reason="birth date corrected",
        )
    )
    with pytest.raises(ImportErrors, match="on or after the patient's birth_date"):
        add_record(registry, "visits", {**day, "esr": 5}, user=NURSE, reason="visit")
    assert events[-1] == "redo"
    assert _esr(registry, **day) is None
    verify_chain(registry)
