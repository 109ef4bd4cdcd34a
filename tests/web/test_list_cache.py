"""What a worker keeps between requests (the patient list, each record's JSON and timeline:
`Registry.per_patient`, `Registry.for_patient`) is never stale and never crosses users:
a write by ANOTHER PROCESS (another worker, `jiareg import`, a CLI edit) shows at the next
request, since the kept values are keyed by the audit trail's last entry, which every
write appends to; and what is kept for one viewer's scope is never served to another."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.web.conftest import DATA, Login

from jiareg.services.imports import import_path
from jiareg.store.audit_batch import BATCH_MIN
from jiareg.store.engine import get_engine

_SAVE = """
import sys
from jiareg.services.records import add_record
from jiareg.store.users import UserInfo
add_record(sys.argv[1], "visits",
           {"patient_id": "A-002", "visit_date": "2021-03-04", "phys_global": "0",
            "parent_global": "0", "active_joints": "0"},
           user=UserInfo("dm_a", "data_manager", "A"), reason="entered elsewhere")
"""


def _kept(client: TestClient) -> tuple[list[dict[str, Any]], dict[str, Any], bytes]:
    return (
        client.get("/api/patients").json(),
        client.get("/api/patients/A-002").json(),
        client.get("/patients/A-002/timeline.svg").content,
    )


@pytest.mark.slow  # a process (~2-4 s); in the fast suite, test_patient_list covers the refresh
def test_a_save_by_another_process_shows_in_the_kept_list_record_and_timeline(
    login: Login, db_url: str
) -> None:
    client = login("admin")
    listed, record, svg = _kept(client)
    assert _kept(client) == (listed, record, svg)  # now served from what the worker keeps
    subprocess.run(
        [sys.executable, "-c", _SAVE, db_url],
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    after, new_record, new_svg = _kept(client)
    row = next(r for r in after if r["patient_id"] == "A-002")
    assert row["last_visit_date"] == "2021-03-04"
    assert row["cjadas10_state"] == "ID"
    assert [r for r in after if r["patient_id"] != "A-002"] == [
        r for r in listed if r["patient_id"] != "A-002"
    ]
    dates = [v["visit_date"] for v in new_record["visits"]]
    assert dates[-1] == "2021-03-04"
    assert dates[:-1] == [v["visit_date"] for v in record["visits"]]
    assert new_svg != svg


def test_what_is_kept_for_one_scope_is_never_served_to_another(login: Login) -> None:
    admin = login("admin")
    everyone = {r["patient_id"] for r in admin.get("/api/patients").json()}
    assert admin.get("/api/patients/A-001").status_code == 200  # kept for the admin
    for user, site in (("clin_b", "B"), ("clin_a", "A")):
        clinician = login(user)
        rows = clinician.get("/api/patients").json()
        assert rows and {r["site"] for r in rows} == {site}
        assert {r["patient_id"] for r in rows} < everyone
        assert clinician.get("/api/patients/A-001").status_code == (404 if site == "B" else 200)
        assert clinician.get("/patients/A-001/timeline.svg").status_code == (
            404 if site == "B" else 200
        )
    researcher = login("res")
    rows = researcher.get("/api/patients").json()
    assert len(rows) == len(everyone)
    assert all("birth_date" not in r for r in rows)
    record = researcher.get(f"/api/patients/{rows[0]['patient_id']}").json()
    assert "birth_date" not in record["patient"]


def test_an_imports_batch_entry_brings_its_patients_rows_up_to_date(
    login: Login, db_url: str, tmp_path: Path
) -> None:
    """An import of 100 rows or more is audited as one batch entry without a patient_id: the
    kept list learns its patients from the entry's keys (`Registry.changed_patients`)."""
    client = login("admin")
    listed = client.get("/api/patients").json()
    days = [dt.date(2030, 1, 1) + dt.timedelta(days=i) for i in range(BATCH_MIN)]
    header = (DATA / "visits.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    cells = {"phys_global": "0", "parent_global": "0", "active_joints": "0"}
    (tmp_path / "visits.csv").write_text(
        ",".join(header)
        + "\n"
        + "".join(
            ",".join(
                {"patient_id": "A-002", "visit_date": str(d), **cells}.get(h, "") for h in header
            )
            + "\n"
            for d in days
        ),
        encoding="utf-8",
    )
    import_path(tmp_path, db_url)
    with get_engine(db_url).connect() as conn:  # one entry for the 100 rows
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE patient_id IS NULL "
                                 "AND table_name = 'visits'")).scalar_one() == 1  # fmt: skip
    after = client.get("/api/patients").json()
    assert next(r for r in after if r["patient_id"] == "A-002")["last_visit_date"] == str(days[-1])
    assert [r for r in after if r["patient_id"] != "A-002"] == [
        r for r in listed if r["patient_id"] != "A-002"
    ]
