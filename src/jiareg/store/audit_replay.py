"""`verify_registry`: the MAC chain is intact AND the data tables hold what the trail says.

Replaying the trail: for each (table, row key) the newest entry's `after` (a batch entry's row,
`audit_batch`) is what the row must be now (no row at all when it is null, i.e. deleted). Every
row of the template tables, `sites`, `users` (its `REPLAYED_USER_COLUMNS`, never the password
hash) and `dq_queries` (the data-quality queries of `jiareg.services.dq`) is rendered with the
same canonical JSON the writers audit (`audit.row_json`) and compared with that; a row a
format-2 batch recorded is compared as its value array (`audit_json.array_texts`, the same
value texts without the names), so the batch's rows need no conversion. A change made
directly in the database (an UPDATE of `patients.birth_date`, a deleted visit, a user made
admin) therefore fails verification, naming the first row that differs. Entries of other tables
(`events`: log-ins and log-outs) change no data and are skipped. Entries
recorded before a schema change are read as the migration carried the row over.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeGuard

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from jiareg.errors import StoreError
from jiareg.store.audit import check_chain, row_json
from jiareg.store.audit_batch import as_object, batch_afters, is_batch
from jiareg.store.audit_json import array_texts
from jiareg.store.engine import get_engine, require_initialised
from jiareg.store.models import CLINICAL_TABLES, DqQuery
from jiareg.store.tables import read_table

__all__ = ["REPLAYED_USER_COLUMNS", "Verified", "user_rows", "verify_registry"]

REPLAYED_USER_COLUMNS: Final = ("username", "role", "site", "disabled")
"""The users columns the trail records (and replay checks): never the password hash."""
_KEYS: Final[dict[str, tuple[str, ...]]] = {
    **{
        m.__tablename__: tuple(c.name for c in m.__table__.primary_key.columns)  # type: ignore[attr-defined]
        for m in CLINICAL_TABLES
    },
    "sites": ("site",),
    "users": ("username",),
    "dq_queries": ("id",),
}


@dataclass(frozen=True, slots=True)
class Verified:
    """What `verify_registry` checked."""

    entries: int
    rows: int


def user_rows(
    conn: Connection, where: str = "", params: dict[str, object] | None = None
) -> pa.Table:
    """The users' audited columns (`REPLAYED_USER_COLUMNS`) as Arrow, by user name."""
    cols = ", ".join(REPLAYED_USER_COLUMNS)
    rows = conn.execute(
        text(f"SELECT {cols} FROM users {where} ORDER BY username"), params or {}
    ).fetchall()
    values = list(zip(*rows, strict=True)) if rows else [() for _ in REPLAYED_USER_COLUMNS]
    username, role, site, disabled = values
    return pa.table(
        {
            "username": pa.array(username, pa.string()),
            "role": pa.array(role, pa.string()),
            "site": pa.array(site, pa.string()),
            "disabled": pa.array([bool(v) for v in disabled], pa.bool_()),
        }
    )


def _current(conn: Connection, table: str) -> pa.Table:
    if table == "sites":
        sites = conn.execute(text("SELECT site FROM sites ORDER BY site")).scalars().all()
        return pa.table({"site": pa.array(sites, pa.string())})
    if table == "users":
        return user_rows(conn)
    if table == "dq_queries":
        cols = [c.name for c in DqQuery.__table__.columns]
        rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM dq_queries ORDER BY id")).all()
        values = list(zip(*rows, strict=True)) if rows else [() for _ in cols]
        types = {"id": pa.int64()}
        return pa.table(
            {c: pa.array(v, types.get(c, pa.string())) for c, v in zip(cols, values, strict=True)}
        )
    return read_table(conn, table)


def _expected(log: pa.Table) -> dict[str, dict[str, tuple[str | None, int]]]:
    """table -> row key -> (the newest `after`, its entry's seq)."""
    out: dict[str, dict[str, tuple[str | None, int]]] = {t: {} for t in _KEYS}
    columns = ("table_name", "row_key", "after", "seq")
    for table, key, after, seq in zip(*(log.column(c).to_pylist() for c in columns), strict=True):
        rows = out.get(table)
        if rows is None:
            continue
        if is_batch(key):
            rows.update((k, (a, seq)) for k, a in batch_afters(key, after))
        else:
            rows[key] = (after, seq)
    for key, (after, seq) in out["users"].items():
        if _is_object(after) and '"disabled":' not in after:  # recorded before schema 0002
            out["users"][key] = (after[:-1] + ',"disabled":false}', seq)
    for table, upgrade in _BEFORE_0003.items():
        for key, (after, seq) in out[table].items():
            if _is_object(after):
                out[table][key] = (upgrade(after), seq)
    return out


def _is_object(after: str | None) -> TypeGuard[str]:
    """Whether an `after` is a row's canonical JSON object (not a format-2 value array, which
    is never from before a schema change: format 2 came later)."""
    return after is not None and after.startswith("{")


def _visit_before_0003(after: str) -> str:
    """A visit recorded before schema 0003 as migration 0003 carried it over: the combined
    organ flag as both flags, no laboratory upper limits."""
    if '"hepatosplenomegaly":' not in after:
        return after
    split = _COMBINED.sub(r'"hepatomegaly":\1,"splenomegaly":\1', after)
    return split[:-1] + ',"esr_uln":null,"crp_uln":null}'


def _steroid_before_0003(after: str) -> str:
    """A steroid period recorded before schema 0003 (no route) as migration 0003 made it: oral."""
    return after if '"route":' in after else after[:-1] + ',"route":"oral"}'


_COMBINED: Final = re.compile(r'"hepatosplenomegaly":(true|false|null)')
_BEFORE_0003: Final[dict[str, Callable[[str], str]]] = {
    "visits": _visit_before_0003,
    "steroids": _steroid_before_0003,
}


def _object(names: list[str], after: str) -> str:
    """An `after` as its row's canonical JSON object (a format-2 value array converted)."""
    return after if _is_object(after) else as_object(names, after)


def _rendered(current: pa.Table, wanted: list[str | None]) -> list[str | None]:
    """Each current row in the form of the `after` it must equal: a value array
    (`array_texts`) where that is a format-2 batch row, else its canonical JSON object."""
    out: list[str | None] = [None] * current.num_rows
    arrays = pa.array([a is not None and a.startswith("[") for a in wanted], pa.bool_())
    for mask, render in ((arrays, array_texts), (pc.invert(arrays), row_json)):
        rows = pc.indices_nonzero(mask)
        if len(rows):
            texts = render(current.take(rows)).to_pylist()
            for i, text in zip(rows.to_pylist(), texts, strict=True):
                out[i] = text
    return out


def _compare(table: str, current: pa.Table, expected: dict[str, tuple[str | None, int]]) -> None:
    keys = row_json(current.select(list(_KEYS[table]))).to_pylist()
    wanted = [expected.get(key, (None, 0)) for key in keys]
    rendered = _rendered(current, [after for after, _ in wanted])
    names = current.column_names
    for i, (key, (after, seq), row) in enumerate(zip(keys, wanted, rendered, strict=True)):
        if after is None:
            said = f"entry {seq} deleted it" if seq else "no entry records it"
            raise StoreError(f"{table} row {key} is in the database but {said}")
        if row != after:
            held = row_json(current.slice(i, 1))[0].as_py()
            said = _object(names, after)
            raise StoreError(
                f"{table} row {key} differs from the audit trail{_first_difference(held, said)}: "
                f"the database holds {held} but entry {seq} recorded {said}"
            )
    present = set(keys)
    for key, (after, seq) in expected.items():
        if after is not None and key not in present:
            said = _object(names, after)
            raise StoreError(
                f"{table} row {key} is missing from the database (entry {seq} recorded {said})"
            )


def _first_difference(row: str, after: str) -> str:
    """`" in column C"` for the first column whose value text differs (numbers compared as
    their text), or nothing when the two rows do not have the same columns.

    >>> _first_difference('{"a":1,"b":4.2}', '{"a":1,"b":4.20}')
    ' in column b'
    """
    now, then = (json.loads(text, parse_float=str, parse_int=str) for text in (row, after))
    if list(now) != list(then):
        return ""
    return next((f" in column {c}" for c in now if now[c] != then[c]), "")


def verify_registry(url: str | None = None) -> Verified:
    """Check the MAC chain, then replay it against the data (one read transaction).

    Raises StoreError naming the first broken entry or the first row that differs.
    """
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        log = check_chain(conn)
        expected = _expected(log)
        rows = 0
        for table in ("sites", "users", *(t for t in _KEYS if t not in ("sites", "users"))):
            current = _current(conn, table)
            _compare(table, current, expected[table])
            rows += current.num_rows
    return Verified(log.num_rows, rows)
