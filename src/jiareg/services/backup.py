"""The `jiareg backup` and `jiareg restore` use cases: a consistent copy of a live registry.

Backup (the web server may be writing meanwhile):
- SQLite: SQLite's online backup API (`sqlite3.Connection.backup`) from a connection that
  holds one read transaction, so every page comes from the same snapshot and the copy never
  restarts while writers commit (in WAL mode they do not wait for it either).
- PostgreSQL: `pg_dump --format=custom`, which reads every table in one snapshot. Where
  `pg_dump` is not installed: a tar of `COPY ... TO STDOUT` per table, read in one
  `REPEATABLE READ READ ONLY` transaction (the same guarantee, restored without pg_restore).

The copy is written to a temporary file and renamed, so a backup file is always whole; beside
it `NAME.manifest.json` records its sha256, size, format, schema version, time and the source
URL (password hidden).

Restore checks the sha256 against the manifest, checks that the backup holds a jiareg
registry (its `alembic_version` table) at a schema this jiareg knows and that the audit key
at hand is the one its trail was chained with, refuses to replace a registry that holds data
unless forced, puts the copy back (SQLite through the backup API
again; PostgreSQL with `pg_restore --single-transaction`, or the COPY tar in one
transaction), migrates it to the newest schema, and finally verifies the audit trail with the
function `jiareg audit verify` uses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from jiareg import __version__
from jiareg.errors import InputError, StoreError
from jiareg.services import backup_pg
from jiareg.services.admin import verify_registry
from jiareg.services.backup_pg import MIGRATIONS, VERSION_TABLE, Progress
from jiareg.store.audit_key import KEY_ID, checked_key
from jiareg.store.engine import get_engine, init_db, normalise_url

__all__ = ["Manifest", "Progress", "Restored", "backup", "manifest_path", "restore"]

BackupFormat = Literal["sqlite", "pg_dump", "pg_copy"]

_EXTENSIONS: Final[dict[BackupFormat, str]] = {
    "sqlite": ".sqlite",
    "pg_dump": ".pgdump",
    "pg_copy": ".tar",
}
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_PG_DUMP_MAGIC: Final = b"PGDMP"
_PAGES_PER_STEP: Final = 1024
_SETUP_TABLES: Final = frozenset({VERSION_TABLE, "settings"})  # `jiareg init` fills these


def _silent(_what: str, _done: int, _total: int) -> None:
    """The default Progress: tells no one."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What `NAME.manifest.json` says about the backup file NAME."""

    file: str
    format: BackupFormat
    sha256: str
    bytes: int
    schema_version: str
    created: str
    source: str
    software_version: str


@dataclass(frozen=True, slots=True)
class Restored:
    """The outcome of a restore: the backup's schema, the schema now, what verify checked."""

    format: BackupFormat
    schema_version: str
    migrated_to: str
    audit_entries: int
    rows: int
    checked_sha256: bool


def manifest_path(backup_file: Path) -> Path:
    """Where the manifest of `backup_file` lives: beside it, `NAME.manifest.json`.

    >>> manifest_path(Path("backups/jiareg-20260601T020000Z.sqlite")).as_posix()
    'backups/jiareg-20260601T020000Z.sqlite.manifest.json'
    """
    return backup_file.with_name(backup_file.name + ".manifest.json")


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _scripts() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def _known_revision(revision: str, source: Path) -> None:
    if revision not in {rev.revision for rev in _scripts().walk_revisions()}:
        raise InputError(
            f"{source}: holds registry schema {revision!r}, which this jiareg "
            f"({__version__}, schema {_scripts().get_current_head()}) does not know; "
            "restore it with a newer jiareg"
        )


# --- backup -------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise InputError(f"{url}: an in-memory registry cannot be backed up or restored")
    return Path(database)


def _backup_sqlite(url: str, out: Path, progress: Progress) -> str:
    path = _sqlite_path(url)
    if not path.is_file():
        raise StoreError(f"{url}: no such registry file")
    src = sqlite3.connect(path, timeout=60, isolation_level=None)
    dst = sqlite3.connect(out, isolation_level=None)
    try:
        src.execute("BEGIN")  # one read snapshot for the version and every page
        try:
            rows = src.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
        except sqlite3.DatabaseError:
            rows = []
        schema = backup_pg.revision([list(r) for r in rows], path)
        src.backup(
            dst,
            pages=_PAGES_PER_STEP,
            progress=lambda _status, left, total: progress("pages", total - left, total),
        )
        src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode = DELETE")  # a self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()
    return schema


def backup(url: str | None, dest: Path, *, progress: Progress = _silent) -> Manifest:
    """Copy the registry at `url` into `dest` (a new file, or a folder to hold a dated one).

    Returns the manifest, also written to `manifest_path(file)`. A failed backup leaves no file.
    """
    sa_url = normalise_url(url)
    sqlite = sa_url.startswith("sqlite")
    if dest.is_dir():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        ext = _EXTENSIONS["sqlite" if sqlite else backup_pg.dump_format()]
        dest = dest / f"jiareg-{stamp}{ext}"
    if dest.exists():
        raise InputError(f"{dest} exists; give a new file name (a backup is never overwritten)")
    if not dest.parent.is_dir():
        raise InputError(f"{dest.parent}: no such folder")
    fmt: BackupFormat
    with _temporary_beside(dest) as tmp:
        if sqlite:
            revision, fmt = _backup_sqlite(sa_url, tmp, progress), "sqlite"
        else:
            revision, fmt = backup_pg.dump(sa_url, tmp, progress)
        os.replace(tmp, dest)
    manifest = Manifest(
        file=dest.name,
        format=fmt,
        sha256=_sha256(dest),
        bytes=dest.stat().st_size,
        schema_version=revision,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        source=_shown(sa_url),
        software_version=__version__,
    )
    text_ = json.dumps(asdict(manifest), indent=2) + "\n"
    with _temporary_beside(manifest_path(dest)) as tmp:
        tmp.write_text(text_, encoding="utf-8")
        os.replace(tmp, manifest_path(dest))
    return manifest


@contextmanager
def _temporary_beside(path: Path) -> Iterator[Path]:
    """A temporary path in `path`'s folder, removed unless the caller renamed it away."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


# --- restore ------------------------------------------------------------------------------


def _format_of(src: Path) -> BackupFormat:
    with src.open("rb") as f:
        head = f.read(len(_SQLITE_MAGIC))
    if head == _SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(_PG_DUMP_MAGIC):
        return "pg_dump"
    if tarfile.is_tarfile(src):
        return "pg_copy"
    raise InputError(f"{src}: not a jiareg backup (neither SQLite, pg_dump nor a COPY tar)")


def _backup_rows(src: Path, fmt: BackupFormat, table: str) -> list[list[str]] | None:
    """The rows of `table` in a backup file, as text (None when it has no such table)."""
    if fmt == "pg_copy":
        return backup_pg.copy_rows(src, table)
    if fmt == "pg_dump":
        return backup_pg.dump_rows(src, table)
    conn = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
    return [[str(v) for v in row] for row in rows]


def _check_audit_key(src: Path, fmt: BackupFormat) -> None:
    """StoreError, before anything is changed, when the audit key at hand is not the one the
    backup's registry was chained with (`checked_key` of the backup's stored fingerprint).

    A backup made before the registry had an audit key has no fingerprint: `init_db` gives
    it the key at hand after the restore."""
    settings = dict(_backup_rows(src, fmt, "settings") or [])
    if KEY_ID not in settings:
        return
    try:
        checked_key(settings[KEY_ID])
    except StoreError as exc:
        raise StoreError(f"{src}: nothing was restored: {exc}") from exc


def _checked_manifest(src: Path) -> bool:
    """Compare the file with its manifest's sha256 (False when there is no manifest)."""
    path = manifest_path(src)
    if not path.is_file():
        return False
    try:
        expected = json.loads(path.read_text(encoding="utf-8"))["sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a backup manifest (no sha256 in it)") from exc
    if _sha256(src) != expected:
        raise InputError(
            f"{src}: its sha256 differs from {path.name}; the backup is damaged or was changed"
        )
    return True


def _holds_data(url: str) -> bool:
    """True when the database has a table other than jiareg's set-up ones with a row in it."""
    if url.startswith("sqlite") and not _sqlite_path(url).exists():
        return False
    try:
        with get_engine(url).connect() as conn:
            names = [n for n in inspect(conn).get_table_names() if n not in _SETUP_TABLES]
            return any(
                conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None
                for name in names
            )
    except OperationalError as exc:
        raise StoreError(f"{_shown(url)}: cannot open the target: {exc.orig}") from exc


def _restore_sqlite(src: Path, url: str, progress: Progress) -> None:
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    get_engine(url).dispose()
    source = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(path, timeout=60)
    try:
        source.backup(
            target,
            pages=_PAGES_PER_STEP,
            progress=lambda _status, left, total: progress("pages", total - left, total),
        )
    finally:
        target.close()
        source.close()


def restore(
    src: Path, url: str | None, *, force: bool = False, progress: Progress = _silent
) -> Restored:
    """Put the backup `src` back into the registry at `url`, then verify its audit trail.

    Refuses, with nothing changed, when the file is not a whole jiareg backup, when its
    schema is newer than this jiareg, when the audit key at hand is not its registry's, when
    it is for the other database engine, and when the target registry holds data and
    `force` is not set.
    """
    if not src.is_file():
        raise InputError(f"{src}: no such backup file")
    sa_url = normalise_url(url)
    checked = _checked_manifest(src)
    fmt = _format_of(src)
    revision = backup_pg.revision(_backup_rows(src, fmt, VERSION_TABLE), src)
    _known_revision(revision, src)
    _check_audit_key(src, fmt)
    engine = "sqlite" if sa_url.startswith("sqlite") else "postgresql"
    if (fmt == "sqlite") != (engine == "sqlite"):
        made = "SQLite" if fmt == "sqlite" else "PostgreSQL"
        raise InputError(f"{src} is a {made} backup; restore it into a {made} registry")
    if not force and _holds_data(sa_url):
        raise InputError(
            f"{_shown(sa_url)} holds data; restoring would replace it. Back it up first, "
            "then restore with --force"
        )
    if fmt == "sqlite":
        _restore_sqlite(src, sa_url, progress)
    elif fmt == "pg_dump":
        backup_pg.restore_dump(src, sa_url, progress)
    else:
        backup_pg.restore_copy(src, sa_url, revision, progress)
    migrated = revision
    if revision != _scripts().get_current_head():
        progress(f"migrating schema {revision}", 0, 0)
        migrated = init_db(sa_url)
    progress("verifying the audit trail", 0, 0)
    try:
        verified = verify_registry(sa_url)
    except StoreError as exc:
        raise StoreError(f"restored {src}, but `jiareg audit verify` fails: {exc}") from exc
    return Restored(fmt, revision, migrated, verified.entries, verified.rows, checked)
