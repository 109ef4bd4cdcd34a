"""PostgreSQL half of `jiareg.services.backup`: pg_dump/pg_restore, or COPY without them.

- `dump`: `pg_dump --format=custom` (one snapshot for every table). Where pg_dump is not
  installed, `dump` writes a tar instead: `tables.json` (each table's name and columns, in
  foreign-key order) and one `NAME.copy` per table in COPY text format, all read in one
  `REPEATABLE READ READ ONLY` transaction, so the copy is as consistent as pg_dump's.
- `restore_dump`: `pg_restore --single-transaction --clean --if-exists`: all or nothing.
- `restore_copy`: one transaction that drops the registry's tables, creates the backup's
  schema with Alembic and COPYs every table back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, inspect, text
from sqlalchemy.engine import make_url

from jiareg.errors import InputError, StoreError
from jiareg.store.engine import get_engine

__all__ = [
    "MIGRATIONS",
    "VERSION_TABLE",
    "PgFormat",
    "Progress",
    "copy_rows",
    "dump",
    "dump_format",
    "dump_rows",
    "restore_copy",
    "restore_dump",
    "revision",
]

PgFormat = Literal["pg_dump", "pg_copy"]
Progress = Callable[[str, int, int], None]
"""Told (what is being copied, units done, units in all; 0 in all when unknown)."""

VERSION_TABLE: Final = "alembic_version"
MIGRATIONS: Final = Path(__file__).parent.parent / "store" / "migrations"
_LISTING: Final = "tables.json"


def dump_format() -> PgFormat:
    """`pg_dump` when the pg_dump program is on PATH, else `pg_copy`."""
    return "pg_dump" if shutil.which("pg_dump") else "pg_copy"


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump/pg_restore, and an environment carrying its password."""
    sa_url = make_url(url)
    env = dict(os.environ)
    if sa_url.password is not None:
        env["PGPASSWORD"] = str(sa_url.password)
    plain = sa_url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StoreError(
            f"{name} is not on PATH; it comes with the PostgreSQL client "
            "(Debian: apt-get install postgresql-client, the server's major version)"
        )
    return found


def _run_tool(args: list[str], env: dict[str, str], tables: int, progress: Progress) -> None:
    """Run pg_dump/pg_restore --verbose, telling `progress` each table it reaches."""
    done = 0
    last: list[str] = []
    with subprocess.Popen(
        args, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as proc:
        assert proc.stderr is not None  # stderr=PIPE
        for line in proc.stderr:
            last = [*last[-9:], line.rstrip()]
            if "contents of table" in line or "processing data for table" in line:
                done += 1
                progress(line.rsplit(" ", 1)[-1].strip().strip('"'), done, tables)
    if proc.returncode != 0:
        errors = [m for m in last if "error" in m.lower()] or last
        raise StoreError(f"{Path(args[0]).name} failed: " + " | ".join(errors))


def dump(url: str, out: Path, progress: Progress) -> tuple[str, PgFormat]:
    """Write the registry at `url` to `out`; returns the schema version and the format used."""
    with get_engine(url).connect() as conn:
        tables = inspect(conn).get_table_names()
    if VERSION_TABLE not in tables:
        shown = make_url(url).render_as_string(hide_password=True)
        raise InputError(f"{shown}: not a jiareg registry (no {VERSION_TABLE} table)")
    if dump_format() == "pg_copy":
        _dump_copy(url, out, progress)
        return revision(copy_rows(out, VERSION_TABLE), out), "pg_copy"
    target, env = _libpq(url)
    args = [_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--verbose"]
    _run_tool([*args, f"--file={out}", f"--dbname={target}"], env, len(tables), progress)
    return revision(dump_rows(out, VERSION_TABLE), out), "pg_dump"


def _dump_copy(url: str, out: Path, progress: Progress) -> None:
    engine = get_engine(url)
    with (
        tempfile.TemporaryDirectory(dir=out.parent) as tmp,
        engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn,
    ):
        conn.execute(text("SET TRANSACTION READ ONLY"))
        metadata = MetaData()
        metadata.reflect(conn)
        order = [t.name for t in metadata.sorted_tables]
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        listing = []
        for i, name in enumerate(order, 1):
            columns = [c.name for c in metadata.tables[name].columns]
            cols = ", ".join(f'"{c}"' for c in columns)
            with (
                (Path(tmp) / f"{name}.copy").open("wb") as f,
                cursor.copy(f'COPY "{name}" ({cols}) TO STDOUT') as copy,
            ):
                for block in copy:
                    f.write(block)
            listing.append({"name": name, "columns": columns})
            progress(name, i, len(order))
        (Path(tmp) / _LISTING).write_text(json.dumps(listing), encoding="utf-8")
        with tarfile.open(out, "w") as tar:
            tar.add(Path(tmp) / _LISTING, arcname=_LISTING)
            for name in order:
                tar.add(Path(tmp) / f"{name}.copy", arcname=f"{name}.copy")


def _copy_text_rows(lines: list[str]) -> list[list[str]]:
    """COPY text format lines (up to the `\\.` end mark) as rows of fields.

    >>> _copy_text_rows(["0002", "\\\\.", "ignored"])
    [['0002']]
    """
    rows = []
    for line in lines:
        if line == "\\.":
            break
        if line:
            rows.append(line.split("\t"))
    return rows


def copy_rows(src: Path, table: str) -> list[list[str]] | None:
    """The rows of `table` in a COPY tar (None when the tar has no such table)."""
    with tarfile.open(src) as tar:
        name = f"{table}.copy"
        member = tar.extractfile(name) if name in tar.getnames() else None
        return None if member is None else _copy_text_rows(member.read().decode().split("\n"))


def dump_rows(src: Path, table: str) -> list[list[str]] | None:
    """The rows of `table` in a pg_dump file (None when the dump has no such table)."""
    run = subprocess.run(
        [_program("pg_restore"), "--data-only", f"--table={table}", "--file=-", src],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise InputError(f"{src}: pg_restore cannot read it: {run.stderr.strip()}")
    out = run.stdout.split("\n")
    starts = [i for i, line in enumerate(out) if line.startswith("COPY ")]
    return _copy_text_rows(out[starts[0] + 1 :]) if starts else None


def revision(rows: list[list[str]] | None, src: Path) -> str:
    """The schema version in the rows of a backup's `alembic_version` table."""
    if not rows:
        raise InputError(f"{src}: not a jiareg registry (no {VERSION_TABLE} table or row)")
    return rows[0][0]


def restore_dump(src: Path, url: str, progress: Progress) -> None:
    """pg_restore `src` into `url` in one transaction, replacing the objects it holds."""
    target, env = _libpq(url)
    args = [_program("pg_restore"), "--single-transaction", "--clean", "--if-exists"]
    args += ["--no-owner", "--no-privileges", "--exit-on-error", "--verbose"]
    _run_tool([*args, f"--dbname={target}", str(src)], env, 0, progress)


def _upgrade_to(conn: Connection, schema: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, schema)


def restore_copy(src: Path, url: str, schema: str, progress: Progress) -> None:
    """In one transaction: drop the registry's tables, create schema `schema`, COPY in."""
    with tarfile.open(src) as tar, get_engine(url).begin() as conn:
        listing_file = tar.extractfile(_LISTING)
        if listing_file is None:
            raise InputError(f"{src}: a COPY backup without {_LISTING}")
        listing = json.loads(listing_file.read())
        existing = MetaData()
        existing.reflect(conn)
        existing.drop_all(conn)
        _upgrade_to(conn, schema)
        conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for i, table in enumerate(listing, 1):
            cols = ", ".join(f'"{c}"' for c in table["columns"])
            data = tar.extractfile(f"{table['name']}.copy")
            if data is None:
                raise InputError(f"{src}: {table['name']}.copy is missing")
            with cursor.copy(f'COPY "{table["name"]}" ({cols}) FROM STDIN') as copy:
                while block := data.read(1 << 20):
                    copy.write(block)
            progress(table["name"], i, len(listing))
