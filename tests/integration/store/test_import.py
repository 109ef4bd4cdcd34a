"""Template import on SQLite and PostgreSQL: all-or-nothing, upsert, audit (issue #3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from tests.integration.store.registry_state import fingerprint
from tests.integration.store.sample import GOOD, ROWS, spoiled, write_folder
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import ImportErrors
from jiareg.services.imports import import_path
from jiareg.store.audit import patient_history, verify_chain
from jiareg.store.engine import get_engine
from jiareg.store.tables import read_tables


def _without_column(text: str, name: str) -> str:
    rows = [line.split(",") for line in text.splitlines()]
    at = rows[0].index(name)
    return "".join(",".join(r[:at] + r[at + 1 :]) + "\n" for r in rows)


BAD_CELLS = {
    "text-in-esr": ("visits.csv", "esr", spoiled("visits.csv", ",45,12.5,", ",high,12.5,")),
    "80-active-joints": ("visits.csv", "active_joints", spoiled("visits.csv", ",8,4,", ",80,4,")),
    "unknown-patient": (
        "visits.csv",
        "patient_id",
        spoiled("visits.csv", "P3,2021-03-03", "P9,2021-03-03"),
    ),
    "impossible-date": (
        "visits.csv",
        "visit_date",
        spoiled("visits.csv", "2020-02-10", "2020-13-45"),
    ),
    "sex-x": ("patients.csv", "sex", spoiled("patients.csv", "P2,BA,M", "P2,BA,X")),
    "negative-weight": ("visits.csv", "weight_kg", spoiled("visits.csv", ",40,150,", ",-40,150,")),
    "unknown-stop-reason": (
        "treatments.csv",
        "stop_reason",
        spoiled("treatments.csv", "primary_failure", "got_bored"),
    ),
    "global-11-on-0-10": (
        "visits.csv",
        "phys_global",
        spoiled("visits.csv", ",6,0-10,", ",11,0-10,"),
    ),
    "missing-required-column": (
        "patients.csv",
        "birth_date",
        {**GOOD, "patients.csv": _without_column(GOOD["patients.csv"], "birth_date")},
    ),
    "ae-grade-9": (
        "adverse_events.csv",
        "grade",
        spoiled("adverse_events.csv", "reaction,2,", "reaction,9,"),
    ),
}


def _count(url: str, table: str) -> int:
    with get_engine(url).connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_CELLS), ids=list(BAD_CELLS))
def test_one_bad_cell_rejects_everything_and_leaves_registry_unchanged(
    case: str, registry_url: str, tmp_path: Path
) -> None:
    file, column, files = BAD_CELLS[case]
    before = fingerprint(registry_url)
    bad = write_folder(tmp_path / "bad", files)
    result = CliRunner().invoke(app, ["import", str(bad), "--db", registry_url])
    assert result.exit_code == 1
    assert file in result.stderr and f"'{column}'" in result.stderr
    assert "nothing was imported" in result.stderr
    assert result.stderr.startswith("error: 1 problem found")  # that cell alone
    assert fingerprint(registry_url) == before
    good = write_folder(tmp_path / "good")
    assert CliRunner().invoke(app, ["import", str(good), "--db", registry_url]).exit_code == 0
    assert _count(registry_url, "visits") == ROWS["visits"]


def test_import_then_reimport_changes_nothing(registry_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in")
    first = import_path(folder, registry_url)
    assert {c.table: c.inserted for c in first.tables} == ROWS
    entries = verify_chain(registry_url)
    assert entries == sum(ROWS.values()) + 2  # + the two sites
    again = import_path(folder, registry_url)
    assert again.changed == 0
    assert {c.table: c.unchanged for c in again.tables} == ROWS
    assert verify_chain(registry_url) == entries
    tables = read_tables(registry_url)
    assert tables["visits"].num_rows == ROWS["visits"]
    visits = tables["visits"].to_pylist()
    p3 = [v for v in visits if v["patient_id"] == "P3"]
    assert p3[0]["phys_global_scale"] == "0-10"  # an empty scale next to a value means 0-10
    sides = tables["joint_exams"].column("side").to_pylist()
    assert sorted(sides) == ["", "left"]  # a midline joint has the empty side


def test_changed_value_updates_the_row_and_audits_before_and_after(
    registry_url: str, tmp_path: Path
) -> None:
    import_path(write_folder(tmp_path / "a"), registry_url)
    files = spoiled("visits.csv", ",45,12.5,", ",38,12.5,")
    files["visits.csv"] += "P2,2020-03-01,41,151,1,0-3,40,0-100,0.25,2,2,18,,no,no,,,,,no,,,\n"
    summary = import_path(write_folder(tmp_path / "b", files), registry_url, reason="corrected ESR")
    visits = {c.table: c for c in summary.tables}["visits"]
    assert (visits.inserted, visits.updated, visits.unchanged) == (1, 1, 3)
    last = patient_history(registry_url, "P1")[-1]
    assert (last.action, last.table_name, last.reason) == ("update", "visits", "corrected ESR")
    assert '"esr":45' in str(last.before) and '"esr":38' in str(last.after)
    esr = read_tables(registry_url)["visits"].column("esr").to_pylist()
    assert 38.0 in esr and 45.0 not in esr
    verify_chain(registry_url)


def test_every_problem_is_reported_with_a_cap(registry_url: str, tmp_path: Path) -> None:
    lines = ["patient_id,site,sex,birth_date,ilar_category,onset_date"]
    lines += [f"Q{i},BA,X,2010-01-01,,2009-01-01" for i in range(40)]
    files = {"patients.csv": "\n".join(lines) + "\n"}
    with pytest.raises(ImportErrors) as info:
        import_path(write_folder(tmp_path / "many", files), registry_url)
    assert len(info.value.problems) == 50 and info.value.truncated == 30
    assert "... and 30 more problems" in str(info.value)
    assert str(info.value.problems[0]) == (
        "patients.csv:2: column 'sex' = 'X'; expected one of F, M"
    )


def test_tocilizumab_dose_off_label_warns_but_imports(registry_url: str, tmp_path: Path) -> None:
    files = spoiled("administrations.csv", "2020-01-24,306,", "2020-01-24,340,")  # +11 %
    result = CliRunner().invoke(
        app, ["import", str(write_folder(tmp_path / "in", files)), "--db", registry_url]
    )
    assert result.exit_code == 0
    assert result.stderr.count("warning:") == 1
    assert (
        "administrations.csv:3: tocilizumab 340 mg for 25.5 kg is more than 10 % off the "
        "label dose 306 mg (IV, systemic)"
    ) in result.stderr
    assert _count(registry_url, "administrations") == ROWS["administrations"]
    exact = spoiled("administrations.csv", "2020-01-24,306,", "2020-01-24,336.6,")  # +10 %
    summary = import_path(write_folder(tmp_path / "edge", exact), registry_url)
    assert summary.warnings == ()
