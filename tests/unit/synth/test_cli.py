"""`jiareg synth`: CSV template files or a Parquet snapshot; refuses to overwrite."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.study.backends import REQUIRED_TABLES, read_manifest, sha256_file

runner = CliRunner()


def test_csv_registry_in_the_template_format(tmp_path: Path) -> None:
    out = tmp_path / "reg"
    result = runner.invoke(app, ["synth", "--patients", "40", "--visits", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in REQUIRED_TABLES)
    with (out / "visits.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["patient_id"] == "P000001"
    assert {r["fever"] for r in rows} <= {"yes", "no", ""}
    assert {r["phys_global_scale"] for r in rows} <= {"0-10", "0-100", "0-3"}
    assert "visits" in result.output


def test_parquet_registry_is_a_snapshot(tmp_path: Path) -> None:
    out = tmp_path / "reg"
    args = ["synth", "--patients", "30", "--seed", "4", "--out", str(out), "--parquet"]
    assert runner.invoke(app, args).exit_code == 0
    entries = read_manifest(out)
    assert [e.name for e in entries] == list(REQUIRED_TABLES)
    for entry in entries:
        assert entry.sha256 == sha256_file(out / entry.file)
        assert entry.rows == pq.ParquetFile(out / entry.file).metadata.num_rows
    assert json.loads((out / "manifest.json").read_text())["format"] == "jiareg-snapshot-1"


def test_refuses_a_non_empty_folder_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "reg"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["synth", "--patients", "5", "--out", str(out)])
    assert result.exit_code == 1
    assert "not an empty folder" in result.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["reg"]  # no staging folder left


def test_help_ends_with_an_example() -> None:
    result = runner.invoke(app, ["synth", "--help"])
    assert result.exit_code == 0 and "Example: jiareg synth" in result.output
