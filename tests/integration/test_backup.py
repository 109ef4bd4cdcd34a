"""`jiareg backup` and `jiareg restore` (INTERFACE.md), on SQLite and PostgreSQL.

A backup taken while an import is writing holds the registry as it was before the import (one
snapshot, never a mix); restored into an empty registry it exports byte for byte like the source
did, and the restore ends with the audit verification. Restore refuses a registry holding data
without --force, a file that is not a jiareg backup, a file changed since its manifest, a schema
newer than this jiareg, a backup chained with another audit key than the one at hand, and the
other engine's backup; a backup of an older schema is migrated. Without pg_dump on PATH the
PostgreSQL backup falls back to COPY; restoring a pg_dump file without pg_restore names the
missing program. Everything runs through the `jiareg` command (`tests.support.cli_processes`:
in this process, except the import that is held and one refusal's exit status).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from tests.support.cli_processes import (
    PASSWORD,
    cli_env,
    exported,
    jiareg,
    jiareg_process,
    sqlite_url,
    start_import,
    synthetic_registries,
)
from tests.support.postgres import create_database, drop_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # a 1,000-patient import, twice

Registry = Callable[[], str]
SCHEMA: dict[str, str] = {}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 50-patient registry and a 1,000-patient one holding it (`write_synthetic`, once per
    test process)."""
    return synthetic_registries(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def small(synthetic: tuple[Path, Path]) -> Path:
    """The 50-patient registry in the template format."""
    return synthetic[0]


@pytest.fixture()
def new_pg_registry() -> Iterator[Registry]:
    """Makes URLs of new, empty PostgreSQL databases (dropped after the test)."""
    made: list[str] = []

    def make() -> str:
        made.append(create_database())
        return made[-1]

    yield make
    for url in made:
        drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Registry:
    """Makes URLs of new, empty databases on one engine."""
    if request.param == "postgresql":
        pg: Registry = request.getfixturevalue("new_pg_registry")
        return pg
    made = iter(range(100))

    def make() -> str:
        folder = tmp_path / f"db{next(made)}"
        folder.mkdir()
        return sqlite_url(folder)

    return make


def _sql(path: Path, statement: str) -> None:
    """Run one statement on a SQLite file and commit."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(statement)


def _registry(env: dict[str, str], url: str, data: Path) -> str:
    """`url` made a registry holding `data` (its schema is in `SCHEMA[url]`)."""
    SCHEMA[url] = jiareg(env, "init", "--db", url).stdout.rsplit("(schema ", 1)[1].split(")")[0]
    jiareg(env, "import", str(data), "--db", url)
    if url.startswith("sqlite"):  # as `jiareg serve` runs it: readers beside one writer
        _sql(Path(url.removeprefix("sqlite:///")), "PRAGMA journal_mode = WAL")
    return url


def test_a_backup_taken_during_an_import_restores_the_registry_before_it(
    new_registry: Registry, synthetic: tuple[Path, Path], tmp_path: Path
) -> None:
    env = cli_env(tmp_path)
    small, large = synthetic
    source = _registry(env, new_registry(), small)
    before = exported(env, source, tmp_path / "before")

    importing = start_import(env, large, source)  # writing inside its transaction
    importing.send_signal(signal.SIGSTOP)  # held there, whatever the machine's speed
    try:
        jiareg(env, "backup", str(tmp_path / "during"), "--db", source)
        assert importing.poll() is None, "the import ended before the backup did"
    finally:
        importing.send_signal(signal.SIGCONT)
    assert importing.wait(timeout=600) == 0
    jiareg(env, "backup", str(tmp_path / "after"), "--db", source)
    after = exported(env, source, tmp_path / "source-after")
    assert after != before

    for name, expected in (("during", before), ("after", after)):
        target = new_registry()
        restored = jiareg(env, "restore", str(tmp_path / name), "--db", target).stdout
        assert f"schema {SCHEMA[source]}" in restored and "audit log intact" in restored
        assert exported(env, target, tmp_path / f"restored-{name}") == expected
        jiareg(env, "audit", "verify", "--db", target)


def test_the_manifest_names_the_file_the_schema_and_the_source_without_its_password(
    new_registry: Registry, small: Path, tmp_path: Path
) -> None:
    env = cli_env(tmp_path)
    source = _registry(env, new_registry(), small)
    with_password = source.replace("postgres@", "postgres:s3cret-word@")  # trust auth: unused
    jiareg(env, "backup", str(tmp_path), "--db", with_password)  # a folder: a dated file in it

    [file] = [p for p in tmp_path.glob("jiareg-*") if not p.name.endswith(".manifest.json")]
    manifest = json.loads((tmp_path / f"{file.name}.manifest.json").read_text(encoding="utf-8"))
    assert manifest["file"] == file.name
    assert manifest["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert manifest["bytes"] == file.stat().st_size
    assert manifest["schema_version"] == SCHEMA[source]
    assert manifest["format"] == ("sqlite" if source.startswith("sqlite") else "pg_dump")
    assert "s3cret" not in json.dumps(manifest) and manifest["source"].endswith(source[-20:])
    assert manifest["created"].startswith("20")


def test_restore_replaces_a_registry_holding_data_only_with_force(
    small: Path, tmp_path: Path
) -> None:
    env = cli_env(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    source = _registry(env, sqlite_url(tmp_path / "a"), small)
    jiareg(env, "backup", str(tmp_path / "backup.sqlite"), "--db", source)
    target = sqlite_url(tmp_path / "b")
    jiareg(env, "init", "--db", target)
    jiareg(env, "user", "add", "ana", "--role", "admin", "--db", target, stdin=PASSWORD + "\n")
    held = exported(env, target, tmp_path / "held")

    refused = jiareg(env, "restore", str(tmp_path / "backup.sqlite"), "--db", target, ok=False)
    assert refused.returncode == 1
    assert "holds data" in refused.stderr and "--force" in refused.stderr
    assert exported(env, target, tmp_path / "held-after") == held
    jiareg(env, "restore", str(tmp_path / "backup.sqlite"), "--db", target, "--force")
    assert exported(env, target, tmp_path / "forced") == exported(env, source, tmp_path / "src")


def test_restore_refuses_what_is_not_a_whole_jiareg_backup_of_a_known_schema(
    small: Path, tmp_path: Path
) -> None:
    env = cli_env(tmp_path)
    source = _registry(env, sqlite_url(tmp_path), small)
    backup = tmp_path / "backup.sqlite"
    jiareg(env, "backup", str(backup), "--db", source)
    target = sqlite_url(tmp_path / "target")

    other = tmp_path / "other.sqlite"
    _sql(other, "CREATE TABLE notes (x)")
    changed = tmp_path / "changed.sqlite"
    shutil.copy(backup, changed)
    shutil.copy(tmp_path / "backup.sqlite.manifest.json", tmp_path / "changed.sqlite.manifest.json")
    _sql(changed, "UPDATE visits SET esr = 99")
    newer = tmp_path / "newer.sqlite"
    shutil.copy(backup, newer)
    _sql(newer, "UPDATE alembic_version SET version_num = '9999'")

    expected = {
        other: "not a jiareg registry (no alembic_version table",
        changed: "its sha256 differs from changed.sqlite.manifest.json",
        newer: "holds registry schema '9999', which this jiareg",
        small / "visits.csv": "not a jiareg backup",
    }
    for file, message in expected.items():
        refused = jiareg(env, "restore", str(file), "--db", target, ok=False)
        assert refused.returncode == 1 and message in refused.stderr, (file, refused.stderr)
    wrong_key = {**env, "JIAREG_AUDIT_KEY": "not-the-registry-key-" + "x" * 32}
    refused = jiareg(wrong_key, "restore", str(backup), "--db", target, ok=False)
    assert refused.returncode == 1
    assert "nothing was restored: the audit key found is not this registry's" in refused.stderr
    assert not (tmp_path / "target" / "registry.db").exists()
    assert "audit log intact" in jiareg(env, "restore", str(backup), "--db", target).stdout


@pytest.mark.postgres
def test_postgresql_without_pg_dump_backs_up_through_copy(
    new_pg_registry: Registry, small: Path, tmp_path: Path
) -> None:
    new_registry = new_pg_registry
    env = cli_env(tmp_path)
    source = _registry(env, new_registry(), small)
    no_client = {**env, "PATH": str(tmp_path / "empty-path")}
    jiareg(env, "backup", str(tmp_path / "dump.pgdump"), "--db", source)
    jiareg(no_client, "backup", str(tmp_path / "copy.tar"), "--db", source)
    manifest = json.loads((tmp_path / "copy.tar.manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "pg_copy"

    target = new_registry()
    refused = jiareg(no_client, "restore", str(tmp_path / "dump.pgdump"), "--db", target, ok=False)
    assert refused.returncode == 1 and "pg_restore is not on PATH" in refused.stderr
    sqlite_target = sqlite_url(tmp_path)
    refused = jiareg_process(  # a real process: its exit status as a shell sees it
        env, "restore", str(tmp_path / "copy.tar"), "--db", sqlite_target, ok=False
    )
    assert refused.returncode == 1 and "restore it into a PostgreSQL registry" in refused.stderr
    restored = jiareg(no_client, "restore", str(tmp_path / "copy.tar"), "--db", target).stdout
    assert f"pg_copy, schema {SCHEMA[source]}" in restored and "audit log intact" in restored
    assert exported(env, target, tmp_path / "t") == exported(env, source, tmp_path / "s")


def test_a_backup_of_an_older_schema_is_migrated_on_restore(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from jiareg.services.backup_pg import MIGRATIONS

    env = cli_env(tmp_path)
    (tmp_path / "old").mkdir()
    old = sqlite_url(tmp_path / "old")  # as a jiareg of the first schema left it
    engine = create_engine(old)
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    engine.dispose()
    jiareg(env, "backup", str(tmp_path / "old.sqlite"), "--db", old)

    restored = jiareg(env, "restore", str(tmp_path / "old.sqlite"), "--db", sqlite_url(tmp_path))
    now = jiareg(env, "init", "--db", sqlite_url(tmp_path)).stdout  # already migrated: a no-op
    head = now.rsplit("(schema ", 1)[1].split(")")[0]
    assert head != "0001"
    assert f"(sqlite, schema 0001, migrated to {head})" in restored.stdout
    assert "audit log intact: 0 entries" in restored.stdout
