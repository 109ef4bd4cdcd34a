"""REDCap exports and FHIR bundles load the same registry as the template (SQLite, PostgreSQL).

Round trips: the demo cohort and the store sample, written as a REDCap raw export and as a FHIR
bundle by jiareg's own writers, imported into a fresh registry, must equal the registry
imported from the template CSVs, row for row. Bad inputs name the file, the row (CSV line or
bundle entry), the record/event or resource, the field, the value and what was expected, and
leave the registry untouched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.integration.store.registry_state import fingerprint
from tests.integration.store.sample import write_folder
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import ImportErrors
from jiareg.formats.fhir.write import write_fhir
from jiareg.formats.redcap.write import write_project, write_redcap
from jiareg.ingest import read_template
from jiareg.services.imports import import_path
from jiareg.store.engine import init_db
from jiareg.store.tables import read_tables

DEMO = Path(__file__).parents[3] / "src" / "jiareg" / "demo" / "cohort"
DATA = Path(__file__).parents[3] / "src" / "jiareg" / "formats" / "redcap" / "data"


def _write(fmt: str, tables: dict[str, pa.Table], folder: Path) -> Path:
    if fmt == "redcap":
        return write_redcap(tables, folder / "export.csv")
    return write_fhir(tables, folder / "b.json")


def _assert_same_registry(expected_url: str, url: str) -> None:
    expected, got = read_tables(expected_url), read_tables(url)
    for name, table in expected.items():
        assert got[name].equals(table), name


@pytest.mark.parametrize("fmt", ["redcap", "fhir"])
@pytest.mark.parametrize("source", ["demo", "sample"])
def test_round_trip_loads_the_same_registry_as_the_template(
    fmt: str, source: str, tmp_path: Path
) -> None:
    folder = DEMO if source == "demo" else write_folder(tmp_path / "sample")
    template_db = f"sqlite:///{tmp_path / 'template.db'}"
    import_path(folder, template_db)
    path = _write(fmt, read_template(folder), tmp_path)
    db = f"sqlite:///{tmp_path / 'other.db'}"
    result = CliRunner().invoke(app, ["import", str(path), "--format", fmt, "--db", db])
    assert result.exit_code == 0, result.output
    assert "patients: " in result.stdout
    _assert_same_registry(template_db, db)
    assert import_path(path, db, format=fmt).changed == 0  # re-importing changes nothing


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["redcap", "fhir"])
def test_round_trip_on_postgresql(fmt: str, fresh_pg_url: str, tmp_path: Path) -> None:
    template_db = f"sqlite:///{tmp_path / 'template.db'}"
    import_path(DEMO, template_db)
    path = _write(fmt, read_template(DEMO), tmp_path)
    import_path(path, fresh_pg_url, format=fmt)
    _assert_same_registry(template_db, fresh_pg_url)


@pytest.mark.parametrize("fmt", ["redcap", "fhir"])
def test_export_format_re_imports(fmt: str, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    import_path(DEMO, db)
    runner = CliRunner()
    out = runner.invoke(app, ["export", str(tmp_path / "out"), "--format", fmt, "--db", db])
    assert out.exit_code == 0, out.output
    written = Path(out.stdout.strip())
    assert written.name == ("redcap.csv" if fmt == "redcap" else "bundle.json")
    second = f"sqlite:///{tmp_path / 'b.db'}"
    assert (
        runner.invoke(app, ["import", str(written), "--format", fmt, "--db", second]).exit_code == 0
    )
    _assert_same_registry(db, second)


def test_json_is_read_as_fhir_without_format(tmp_path: Path) -> None:
    path = write_fhir(read_template(DEMO), tmp_path / "bundle.json")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    assert CliRunner().invoke(app, ["import", str(path), "--db", db]).exit_code == 0
    assert read_tables(db)["visits"].num_rows == 56


def test_shipped_redcap_project_is_the_generated_one(tmp_path: Path) -> None:
    written = write_project(tmp_path)
    for path in written:
        assert path.read_bytes() == (DATA / path.name).read_bytes(), path.name
    result = CliRunner().invoke(app, ["template", str(tmp_path / "tpl")])
    assert "redcap/jiareg_redcap_dictionary.csv" in result.stdout
    assert (tmp_path / "tpl" / "redcap" / "repeating_instruments.csv").exists()


def _rejected(db: str, path: Path, fmt: str) -> str:
    """Import `path`; assert exit 1 with nothing written; return stderr."""
    init_db(db)
    before = fingerprint(db)
    result = CliRunner().invoke(app, ["import", str(path), "--format", fmt, "--db", db])
    assert result.exit_code == 1, result.output
    first = result.stderr.splitlines()[0]  # every rejection is one ImportErrors listing all
    assert first.startswith("error: ") and first.endswith(" found; nothing was imported"), first
    assert fingerprint(db) == before
    return result.stderr


def _redcap_lines(tmp_path: Path) -> list[str]:
    path = write_redcap(read_template(write_folder(tmp_path / "s")), tmp_path / "good.csv")
    return path.read_text().splitlines()


def _spoil(lines: list[str], line: int, column: str, value: str) -> list[str]:
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    return [*lines[: line - 1], ",".join(cells), *lines[line:]]


REDCAP_BAD: dict[str, tuple[int, str, str, str]] = {
    # name: (CSV line, column, bad value, expected text in the message)
    "sex-code": (
        2,
        "sex",
        "3",
        "export.csv:2: record 'P1': column 'sex' = '3'; expected one of 1 (F), 2 (M)",
    ),
    "esr-text": (
        3,
        "esr",
        "high",
        "export.csv:3: record 'P1', visit #1: column 'esr' = 'high'; expected a number from 0 to 200 mm/h",  # noqa: E501
    ),
    "scale-code": (
        3,
        "phys_global_scale",
        "7",
        "record 'P1', visit #1: column 'phys_global_scale' = '7'; expected one of 1 (0-10), 2 (0-3), 3 (0-100)",  # noqa: E501
    ),
    "dose-range": (
        8,
        "adm_dose_mg",
        "-5",
        "record 'P1', administration #2: column 'adm_dose_mg' = '-5'; expected a number from 0 to 5000 mg",  # noqa: E501
    ),
    "other-drug-missing": (
        6,
        "tx_drug",
        "99",
        "record 'P1', treatment #2: column 'tx_drug_other' = None; expected a value (required)",
    ),
    "field-of-other-instrument": (
        3,
        "site",
        "BA",
        "record 'P1', visit #1: column 'site' = 'BA'; expected empty on a visit row (the field belongs to patient",  # noqa: E501
    ),
}


@pytest.mark.parametrize("case", list(REDCAP_BAD), ids=list(REDCAP_BAD))
def test_redcap_bad_cell(case: str, tmp_path: Path) -> None:
    line, column, value, message = REDCAP_BAD[case]
    lines = _redcap_lines(tmp_path)
    path = tmp_path / "export.csv"
    path.write_text("\n".join(_spoil(lines, line, column, value)) + "\n")
    stderr = _rejected(f"sqlite:///{tmp_path / 'r.db'}", path, "redcap")
    assert message in stderr
    assert (
        stderr.count(f"column '{column}'") <= 1
    )  # a bad code is reported once, not also as missing


def test_redcap_event_and_header_problems(tmp_path: Path) -> None:
    lines = _redcap_lines(tmp_path)
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    header.insert(1, "redcap_event_name")
    for row in rows:
        row.insert(1, "baseline_arm_1")
    header[header.index("esr")] = "esr_mmh"
    at = header.index("ci_aid")
    header, rows = header[:at] + header[at + 1 :], [r[:at] + r[at + 1 :] for r in rows]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    stderr = _rejected(f"sqlite:///{tmp_path / 'r.db'}", path, "redcap")
    assert (
        "export.csv:1: column 'esr_mmh' = 'esr_mmh'; expected a field of the jiareg REDCap"
        in stderr
    )
    assert "column 'esr' = None; expected every field of instrument 'visit'" in stderr
    assert "column 'ci_aid' = None; expected every field of instrument 'chaq_item'" in stderr


def test_redcap_event_is_named_in_errors(tmp_path: Path) -> None:
    header, *rows = _spoil(_redcap_lines(tmp_path), 2, "sex", "9")
    first, rest = header.split(",", 1)
    out = [f"{first},redcap_event_name,{rest}"]
    out += [f"{r.split(',', 1)[0]},baseline_arm_1,{r.split(',', 1)[1]}" for r in rows]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(out) + "\n")
    stderr = _rejected(f"sqlite:///{tmp_path / 'r.db'}", path, "redcap")
    assert "export.csv:2: record 'P1', event 'baseline_arm_1': column 'sex' = '9'" in stderr


def _bundle(tmp_path: Path) -> dict[str, Any]:
    tables = read_template(write_folder(tmp_path / "s"))
    path = write_fhir(tables, tmp_path / "g.json")
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def _entry(doc: dict[str, Any], resource_id: str) -> tuple[int, dict[str, Any]]:
    for i, e in enumerate(doc["entry"]):
        if e["resource"]["id"] == resource_id:
            return i, e["resource"]
    raise KeyError(resource_id)


def _spoil_fhir(doc: dict[str, Any], case: str) -> tuple[int, str]:
    if case == "esr-250":
        i, r = _entry(doc, "P1-2020-01-10-esr")
        r["valueQuantity"]["value"] = 250
        return i, (
            f"bundle.json:{i}: Observation/P1-2020-01-10-esr: column "
            f"'entry[{i}].resource.valueQuantity.value' = '250'; expected a number from 0 to 200 mm/h"  # noqa: E501
        )
    if case == "esr-text":
        i, r = _entry(doc, "P1-2020-01-10-esr")
        r["valueQuantity"]["value"] = "high"
        return (
            i,
            f"bundle.json:{i}: Observation/P1-2020-01-10-esr: column 'entry[{i}].resource.valueQuantity.value' = 'high'; expected",  # noqa: E501
        )
    if case == "weight-in-pounds":
        i, r = _entry(doc, "P1-2020-01-10-weight-kg")
        r["valueQuantity"] = {"value": 70.5, "unit": "lb"}  # no UCUM code: never read as kg
        return i, f"column 'entry[{i}].resource.valueQuantity.code' = 'lb'; expected a UCUM code"
    if case == "unknown-code":
        i, r = _entry(doc, "P1-2020-01-10-crp")
        r["code"]["coding"][0]["code"] = "8310-5"
        return (
            i,
            f"bundle.json:{i}: Observation/P1-2020-01-10-crp: column 'entry[{i}].resource.code.coding'",  # noqa: E501
        )
    if case == "gender-other":
        i, r = _entry(doc, "P2")
        r["gender"] = "other"
        return (
            i,
            f"bundle.json:{i}: Patient/P2: column 'entry[{i}].resource.gender' = 'other'; expected female or male",  # noqa: E501
        )
    i, r = _entry(doc, "P1-tocilizumab-2020-01-10")
    r["subject"]["reference"] = "Patient/P9"
    return (
        i,
        f"bundle.json:{i}: MedicationStatement/P1-tocilizumab-2020-01-10: column 'entry[{i}].resource.subject.reference' = 'P9'; expected a patient_id among the imported patients",  # noqa: E501
    )


FHIR_BAD = [
    "esr-250",
    "esr-text",
    "weight-in-pounds",
    "unknown-code",
    "gender-other",
    "unknown-patient",
]


@pytest.mark.parametrize("case", FHIR_BAD, ids=FHIR_BAD)
def test_fhir_bad_resource(case: str, tmp_path: Path) -> None:
    doc = _bundle(tmp_path)
    _, message = _spoil_fhir(doc, case)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(doc))
    stderr = _rejected(f"sqlite:///{tmp_path / 'f.db'}", path, "fhir")
    assert message in stderr
    assert stderr.count("\n") == 2  # one problem, reported once


def test_fhir_not_a_bundle_or_not_json(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"resourceType": "Patient", "id": "x"}')
    assert "column 'resourceType' = 'Patient'; expected a FHIR Bundle" in _rejected(
        f"sqlite:///{tmp_path / 'f.db'}", path, "fhir"
    )
    path.write_text("{not json")
    with pytest.raises(ImportErrors, match=r"p.json:1: column '\(file\)'"):
        import_path(path, f"sqlite:///{tmp_path / 'g.db'}", format="fhir")


def test_fhir_transaction_bundle(tmp_path: Path) -> None:
    doc = _bundle(tmp_path)
    doc["type"] = "transaction"
    for e in doc["entry"]:
        r = e["resource"]
        e["request"] = {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    assert read_template(path) == read_template(write_folder(tmp_path / "again"))


def test_fhir_unknown_resource_type_is_named(tmp_path: Path) -> None:
    doc = _bundle(tmp_path)
    doc["entry"].append({"resource": {"resourceType": "Visit", "id": "v1"}})
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(doc))
    n = len(doc["entry"]) - 1
    stderr = _rejected(f"sqlite:///{tmp_path / 'f.db'}", path, "fhir")
    assert (
        f"bundle.json:{n}: Visit/v1: column 'entry[{n}].resource.resourceType' = 'Visit'" in stderr
    )


def test_redcap_without_record_id(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("patient_id,site\nP1,BA\n")
    stderr = _rejected(f"sqlite:///{tmp_path / 'r.db'}", path, "redcap")
    assert (
        "export.csv:1: column 'patient_id' = 'patient_id'; expected record_id as the first"
        in stderr
    )


def test_redcap_lines_count_multi_line_cells(tmp_path: Path) -> None:
    lines = _redcap_lines(tmp_path)
    assert lines[10].startswith("P1,adverse_event,1,")
    lines = _spoil(_spoil(lines, 11, "ae_outcome", '"resolved\nlate"'), 16, "sex", "3")
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n")
    stderr = _rejected(f"sqlite:///{tmp_path / 'r.db'}", path, "redcap")
    assert "export.csv:11: record 'P1', adverse_event #1: column 'ae_outcome'" in stderr
    assert "export.csv:17: record 'P2': column 'sex' = '3'" in stderr


def test_a_redcap_export_without_format_hints_at_it(tmp_path: Path) -> None:
    path = write_redcap(read_template(DEMO), tmp_path / "JIAREG_DATA.csv")
    stderr = _rejected(f"sqlite:///{tmp_path / 'r.db'}", path, "template")
    assert "(a REDCap export? add --format redcap)" in stderr
