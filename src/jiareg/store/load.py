"""Upsert validated Arrow tables into the registry on their natural keys, with audit entries.

Per table: rows whose key is new are inserted; rows whose key exists with any different value
are updated (audit `before`/`after`); identical rows are left alone (no write, no audit). The
comparison is vectorised (an Arrow join on the key) against the stored rows the caller read:
the whole table for an import, only the rows with the incoming keys (`read_rows`) for a
form's records. Writes are bulk (`store.bulk`), audit entries too (an import's as batch
entries, `store.audit_batch`), all inside the caller's transaction: an import, or a form's
records, is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from jiareg.store.audit import append_entries, row_json
from jiareg.store.audit_batch import BATCH_MIN, batch_json
from jiareg.store.bulk import bulk_delete, bulk_insert, upserting
from jiareg.store.tables import arrow_schema, read_rows

__all__ = [
    "TableChange",
    "UpsertPlan",
    "apply_upsert",
    "delete_rows",
    "ensure_sites",
    "plan_upsert",
    "upsert_table",
]


@dataclass(frozen=True, slots=True)
class TableChange:
    """What one upsert did to one table."""

    table: str
    inserted: int
    updated: int
    unchanged: int


def _differs(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.ChunkedArray:
    """Null-aware inequality: null vs value differs, null vs null does not."""
    ne = pc.fill_null(pc.not_equal(a, b), False)
    return pc.or_(ne, pc.xor(pc.is_null(a), pc.is_null(b)))


@dataclass(frozen=True, slots=True)
class _Entries:
    """The audit entries of one upsert action, as `append_entries` takes them."""

    action: str
    row_key: pa.Array
    patient_id: pa.Array
    before: pa.Array
    after: pa.Array


def _entries(key: Sequence[str], action: str, rows: pa.Table, before: pa.Table | None) -> _Entries:
    """One entry per row, or batch entries (`audit_batch`) for `BATCH_MIN` rows or more."""
    n = rows.num_rows
    if n >= BATCH_MIN:
        keys, after = batch_json(rows.select(list(key))), batch_json(rows)
        old = batch_json(before) if before is not None else None
        patient_id: pa.Array = pa.nulls(len(keys), pa.string())
    else:
        keys, after = row_json(rows.select(list(key))), row_json(rows)
        old = row_json(before) if before is not None else None
        patient_id = rows.column("patient_id").combine_chunks()
    nothing = pa.nulls(len(keys), pa.string())
    return _Entries(action, keys, patient_id, old if old is not None else nothing, after)


@dataclass(frozen=True, slots=True)
class UpsertPlan:
    """What `apply_upsert` writes: the new rows, the changed ones and their stored values
    (`plan_upsert`, computed from the stored rows before the write, e.g. without the lock)."""

    name: str
    key: tuple[str, ...]
    new: pa.Table
    changed: pa.Table
    old: pa.Table
    unchanged: int
    rendered: tuple[_Entries, _Entries] | None = None

    def entries(self) -> tuple[_Entries, _Entries]:
        """The audit entries of the insert and of the update: `rendered` when the plan was
        made with them, else rendered now (by `apply_upsert`, while the rows are written)."""
        if self.rendered is not None:
            return self.rendered
        return (
            _entries(self.key, "insert", self.new, None),
            _entries(self.key, "update", self.changed, self.old),
        )


def plan_upsert(
    name: str, key: Sequence[str], incoming: pa.Table, *, existing: pa.Table, render: bool = False
) -> UpsertPlan:
    """`upsert_table`'s comparison, writing nothing: valid for as long as the stored rows
    with `incoming`'s keys are `existing`. `render`: with the audit entries' JSON rendered
    now (a web save's plan, made before the writer lock, so the lock is not held while
    they are rendered; an import's are rendered beside its write instead)."""
    schema = arrow_schema(name)
    incoming = incoming.select(schema.names).cast(schema)
    if existing.num_rows == 0:
        new, changed, old = incoming, incoming.slice(0, 0), incoming.slice(0, 0)
    else:
        values = [c for c in schema.names if c not in key]
        right = existing.rename_columns([c if c in key else f"{c}__old" for c in schema.names])
        right = right.append_column("__old", pa.array([True] * right.num_rows, pa.bool_()))
        left = incoming.append_column("__pos", pa.array(range(incoming.num_rows), pa.int64()))
        joined = left.join(right, keys=list(key), join_type="left outer").sort_by("__pos")
        exists = pc.is_valid(joined.column("__old"))
        diff = pa.chunked_array([pa.array([False] * joined.num_rows, pa.bool_())])
        for c in values:
            diff = pc.or_(diff, _differs(joined.column(c), joined.column(f"{c}__old")))
        changed_mask = pc.and_(exists, diff)
        new = joined.filter(pc.invert(exists)).select(schema.names).cast(schema)
        changed_rows = joined.filter(changed_mask)
        changed = changed_rows.select(schema.names).cast(schema)
        old = changed_rows.select([c if c in key else f"{c}__old" for c in schema.names])
        old = old.rename_columns(schema.names).cast(schema)
    unchanged = incoming.num_rows - new.num_rows - changed.num_rows
    plan = UpsertPlan(name, tuple(key), new, changed, old, unchanged)
    return replace(plan, rendered=plan.entries()) if render else plan


def apply_upsert(conn: Connection, plan: UpsertPlan, *, username: str, reason: str) -> TableChange:
    """Write `plan` and its audit entries in the caller's locked transaction."""
    entries = upserting(conn, plan.name, plan.new, plan.changed, plan.key, plan.entries)
    for e in entries:
        append_entries(
            conn,
            username=username,
            reason=reason,
            table_name=plan.name,
            action=e.action,
            row_key=e.row_key,
            patient_id=e.patient_id,
            before=e.before,
            after=e.after,
        )
    return TableChange(plan.name, plan.new.num_rows, plan.changed.num_rows, plan.unchanged)


def upsert_table(
    conn: Connection,
    name: str,
    key: Sequence[str],
    incoming: pa.Table,
    *,
    existing: pa.Table,
    username: str,
    reason: str,
) -> TableChange:
    """Insert new rows, update changed rows, skip identical ones; audit each write.

    `incoming` has the table's columns (Contract 2 types) and no repeated key; `existing`
    holds at least the stored rows whose key is in `incoming` (read in this transaction).
    The caller holds the write lock.
    """
    plan = plan_upsert(name, key, incoming, existing=existing)
    return apply_upsert(conn, plan, username=username, reason=reason)


def delete_rows(
    conn: Connection,
    name: str,
    key: Sequence[str],
    keys: pa.Table,
    *,
    username: str,
    reason: str,
) -> int:
    """Delete the rows whose natural key is in `keys`; audit each with its `before`."""
    existing = read_rows(conn, name, keys.select(list(key)))
    if existing.num_rows == 0:
        return 0
    marked = keys.select(list(key)).append_column(
        "__del", pa.array([True] * keys.num_rows, pa.bool_())
    )
    doomed = existing.join(marked, keys=list(key), join_type="inner").select(existing.column_names)
    doomed = doomed.cast(existing.schema)
    bulk_delete(conn, name, doomed.select(list(key)))
    append_entries(
        conn,
        username=username,
        reason=reason,
        table_name=name,
        action="delete",
        row_key=row_json(doomed.select(list(key))),
        patient_id=doomed.column("patient_id").combine_chunks(),
        before=row_json(doomed),
        after=pa.nulls(doomed.num_rows, pa.string()),
    )
    return int(doomed.num_rows)


def ensure_sites(conn: Connection, sites: pa.Array, *, username: str, reason: str) -> int:
    """Add the sites not yet in the registry (audited); returns how many were added."""
    known = conn.exec_driver_sql("SELECT site FROM sites").scalars().all()
    wanted = pc.unique(sites.drop_null())
    new = wanted.filter(pc.invert(pc.is_in(wanted, value_set=pa.array(known, pa.string()))))
    if len(new) == 0:
        return 0
    rows = pa.table({"site": new})
    bulk_insert(conn, "sites", rows)
    append_entries(
        conn,
        username=username,
        reason=reason,
        table_name="sites",
        action="insert",
        row_key=row_json(rows),
        patient_id=pa.nulls(len(new), pa.string()),
        before=pa.nulls(len(new), pa.string()),
        after=row_json(rows),
    )
    return len(new)
