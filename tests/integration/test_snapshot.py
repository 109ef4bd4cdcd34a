"""`jiareg snapshot`: a hash-identified Parquet data cut of a SQLite or PostgreSQL registry."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.ingest import read_template
from jiareg.services.imports import import_path
from jiareg.store.tables import read_tables
from jiareg.study.backends import read_manifest, sha256_file
from jiareg.synth import write_registry

runner = CliRunner()


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "csv"
    write_registry(out, patients=60, visits=8, seed=21)
    return out


@pytest.fixture(scope="module")
def sqlite_url(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry.db'}"
    import_path(template_dir, url)
    return url


def _snapshot(url: str, out: Path) -> None:
    result = runner.invoke(app, ["snapshot", "--db", url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output


def test_snapshot_holds_the_registry_with_hashes(
    sqlite_url: str, template_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cut"
    _snapshot(sqlite_url, out)
    registry = read_tables(sqlite_url)
    entries = read_manifest(out)
    assert [e.name for e in entries] == list(registry)
    imported = read_template(template_dir)
    for entry in entries:
        table = pq.read_table(out / entry.file)
        assert entry.sha256 == sha256_file(out / entry.file)
        assert entry.rows == table.num_rows == registry[entry.name].num_rows
        assert table.equals(registry[entry.name]), entry.name
        if entry.name in imported:  # the synthetic CSVs came through import unchanged
            assert table.num_rows == imported[entry.name].num_rows


@pytest.mark.postgres
def test_same_data_same_hashes_whatever_the_store(
    sqlite_url: str, template_dir: Path, fresh_pg_url: str, tmp_path: Path
) -> None:
    import_path(template_dir, fresh_pg_url)
    _snapshot(sqlite_url, tmp_path / "from-sqlite")
    _snapshot(fresh_pg_url, tmp_path / "from-postgres")
    assert read_manifest(tmp_path / "from-sqlite") == read_manifest(tmp_path / "from-postgres")


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_engines_read_the_snapshot(
    engine: str, sqlite_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from jiareg.study.backends import open_registry

    if engine == "spark":
        request.getfixturevalue("spark")
    out = tmp_path / "cut"
    _snapshot(sqlite_url, out)
    con = open_registry(snapshot_dir=out, engine=engine)  # type: ignore[arg-type]
    for entry in read_manifest(out):
        assert con.table(entry.name).count().execute() == entry.rows
    visits = con.table("visits")
    assert visits.esr.isnull().sum().execute() > 0  # real NULLs, not NaN


def test_refuses_a_non_empty_folder(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "x").write_text("keep")
    result = runner.invoke(app, ["snapshot", "--db", sqlite_url, "--out", str(tmp_path / "cut")])
    assert result.exit_code == 1
    assert "not an empty folder" in result.output
    assert [p.name for p in (tmp_path / "cut").iterdir()] == ["x"]


def test_an_uninitialised_registry_is_an_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = runner.invoke(app, ["snapshot", "--db", url, "--out", str(tmp_path / "cut")])
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert not (tmp_path / "cut").exists()


def test_help_ends_with_an_example() -> None:
    result = runner.invoke(app, ["snapshot", "--help"])
    assert result.exit_code == 0 and "Example: jiareg snapshot" in result.output
