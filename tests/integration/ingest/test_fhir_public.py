"""Public FHIR artefacts nobody here wrote (tests/data/fhir/public/README.md: sources,
licences): each imports what maps with skip_unmapped and a site, and the summary says what
was skipped, by resource type and reason, with counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from jiareg.errors import ImportErrors
from jiareg.services.imports import ImportSummary, import_path
from jiareg.store.tables import read_tables

PUBLIC = Path(__file__).parents[2] / "data" / "fhir" / "public"
HL7 = PUBLIC / "hl7-r4-examples"
NO_RESOURCE = ("(entry)", "no resource (a response or a DELETE)")


def _run(path: Path, tmp: Path) -> tuple[ImportSummary, dict[str, int]]:
    db = f"sqlite:///{tmp / 'r.db'}"
    summary = import_path(path, db, format="fhir", site="north", skip_unmapped=True)
    return summary, {name: t.num_rows for name, t in read_tables(db).items() if t.num_rows}


def _skipped(summary: ImportSummary) -> dict[tuple[str, str], int]:
    return {(s.resource_type, s.reason): s.count for s in summary.skipped}


@pytest.mark.parametrize(
    ("name", "stored", "skipped"),
    [
        (
            "Bundle-bundle-transaction.json",
            {"patients": 5},
            {NO_RESOURCE: 4, ("Parameters", "type not mapped"): 1},
        ),
        (
            "Bundle-bundle-response.json",
            {"patients": 1},
            {
                NO_RESOURCE: 7,
                ("Bundle", "type not mapped"): 1,
                ("Parameters", "type not mapped"): 1,
            },
        ),
        ("Bundle-bundle-example.json", {}, {("MedicationRequest", "drug not known"): 1}),
        (
            "Bundle-father.json",
            {"patients": 1},
            {
                ("AllergyIntolerance", "type not mapped"): 1,
                ("Composition", "type not mapped"): 1,
                ("Encounter", "no Observation jiareg maps"): 1,
                ("MedicationRequest", "drug not known"): 1,
                ("MedicationStatement", "drug not known"): 1,
                ("Observation", "code not mapped"): 1,
                ("Practitioner", "type not mapped"): 1,
            },
        ),
    ],
)
def test_hl7_r4_example_bundles(
    name: str, stored: dict[str, int], skipped: dict[tuple[str, str], int], tmp_path: Path
) -> None:
    summary, counts = _run(HL7 / name, tmp_path)
    assert counts == stored
    assert _skipped(summary) == skipped


def test_hl7_body_weight_in_pounds_is_stored_in_kg(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    for name in ("Patient-example.json", "Observation-example.json"):  # one resource a line
        text = (HL7 / name).read_text(encoding="utf-8").replace("\n", " ")
        (export / name.replace(".json", ".ndjson")).write_text(text + "\n", encoding="utf-8")
    summary, _ = _run(export, tmp_path)
    visits = read_tables(f"sqlite:///{tmp_path / 'r.db'}")["visits"].to_pylist()
    assert [(v["patient_id"], str(v["visit_date"]), v["weight_kg"]) for v in visits] == [
        ("example", "2016-03-28", 83.915)  # 185 lb x 0.45359237 kg/lb
    ]
    assert "1 value(s) converted from [lb_av] to kg (UCUM)" in summary.notes
    assert summary.skipped == ()


def test_synthea_bulk_export_folder(tmp_path: Path) -> None:
    summary, counts = _run(PUBLIC / "synthea-bulk-10", tmp_path)
    assert counts == {"patients": 13}
    assert _skipped(summary) == {
        ("AllergyIntolerance", "type not mapped"): 11,
        ("Device", "type not mapped"): 16,
        ("Organization", "not referred to"): 43,
        ("Practitioner", "type not mapped"): 43,
    }


def test_without_skip_unmapped_the_synthea_export_names_each_unmapped_resource(
    tmp_path: Path,
) -> None:
    with pytest.raises(ImportErrors) as info:
        import_path(PUBLIC / "synthea-bulk-10", f"sqlite:///{tmp_path / 'r.db'}", format="fhir")
    first = str(info.value.problems[0])
    assert first.startswith("synthea-bulk-10:1: AllergyIntolerance.000.ndjson AllergyIntolerance/")
    assert first.endswith(
        "expected something jiareg maps (type not mapped; --skip-unmapped skips it)"
    )
    assert info.value.truncated > 0  # 113 unmapped resources and 13 patients without a site
    assert all(len(str(p)) < 260 for p in info.value.problems)
