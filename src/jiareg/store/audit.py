"""The append-only, hash-chained audit log.

Every insert, update and delete made through jiareg (import, web, CLI) appends one entry:
who (`username`), when (`ts`, UTC), what (`action`, `table_name`, `row_key`, `patient_id`),
`before` and `after` (the row as canonical JSON, or null) and why (`reason`: the import file
or a person's reason). A write of many rows (an import) appends batch entries instead, each
holding up to `audit_batch.BATCH_ROWS` rows' keys and contents (`jiareg.store.audit_batch`).

Chain: `hash = HMAC-SHA256(key, prev_hash + payload)`, where `payload` is the canonical JSON
array `[seq, ts, username, action, table_name, row_key, patient_id, before, after, reason]`
built from the stored columns, `prev_hash` is the previous entry's hash (64 zeros for the
first) and `key` is the audit key, kept outside the database (`jiareg.store.audit_key`): an
edited entry cannot be given a valid MAC, even by recomputing the whole chain. The newest
`seq:hash` is also kept in `settings.audit_head`, so removing the last entries is detected
too. `verify_chain` recomputes the chain: an entry edited or deleted directly in the database
breaks it at that entry; `jiareg.store.audit_replay` then checks the data against it.

Appends happen inside the writer's transaction, after `engine.write_lock`, so two writers
never fork the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from jiareg.errors import StoreError
from jiareg.store.audit_batch import expand, patient_needles
from jiareg.store.audit_json import json_text, row_json
from jiareg.store.audit_key import KEY_ID, audit_key, checked_key
from jiareg.store.bulk import bulk_insert
from jiareg.store.engine import get_engine, require_initialised, write_lock

__all__ = [
    "GENESIS",
    "AuditRecord",
    "append_entries",
    "check_chain",
    "json_text",
    "log_event",
    "patient_history",
    "recent_entries",
    "rekey_legacy_chain",
    "row_json",
    "verify_chain",
]

GENESIS: Final = "0" * 64
_HEAD: Final = "audit_head"
_HASHED: Final = (
    "seq",
    "ts",
    "username",
    "action",
    "table_name",
    "row_key",
    "patient_id",
    "before",
    "after",
    "reason",
)
_RAW_JSON: Final = frozenset({"row_key", "before", "after"})
_LARGE: Final = 1 << 20  # PostgreSQL >= 14 with lz4: this transaction's big texts use it
_LZ4: Final = text(
    "SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings "
    "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
)
_COLUMNS: Final = (
    "seq",
    "ts",
    "username",
    "action",
    "table_name",
    "row_key",
    "patient_id",
    "before",
    "after",
    "reason",
    "prev_hash",
    "hash",
)


def _encoded(value: pa.Array | str) -> pa.Array | str:
    """A column or a constant as JSON string literals (the constant encoded once)."""
    return _constant(value) if isinstance(value, str) else json_text(value)


@lru_cache(maxsize=1024)
def _constant(value: str) -> str:
    """`json_text` of one string, kept: a web save's user name, action, table and reason
    repeat, and each costs ~50 us of Arrow calls inside the writer lock."""
    encoded: str = json_text(pa.array([value], pa.string()))[0].as_py()
    return encoded


def _payloads(log: Mapping[str, pa.Array | str]) -> pa.Array:
    """The canonical JSON array of each entry (the text that is hashed).

    `log` maps each audit column to its values, or to one str shared by every entry (the
    same text results either way, so writers pass constants and `verify_chain` columns).
    """
    parts: list[pa.Array | str] = ["["]
    for i, name in enumerate(_HASHED):
        value = log[name]
        if name == "seq":
            parts.append(value.cast(pa.string()))  # type: ignore[union-attr]
        elif name in _RAW_JSON:
            parts.append(pc.fill_null(value, "null"))
        else:
            parts.append(_encoded(value))
        parts.append("," if i < len(_HASHED) - 1 else "]")
    return pc.binary_join_element_wise(*parts, "").cast(pa.large_binary())


def _chain(key: bytes | None, prev: str, payloads: pa.Array) -> tuple[list[str], list[str]]:
    """Each entry's prev_hash and hash: HMAC-SHA256(key, prev_hash + payload), in order
    (key None: the unkeyed sha256 chain of registries made before the audit key)."""
    prevs: list[str] = []
    hashes: list[str] = []
    if len(payloads) == 0:
        return prevs, hashes
    offsets = np.frombuffer(payloads.buffers()[1], dtype=np.int64)
    offsets = offsets[payloads.offset : payloads.offset + len(payloads) + 1]
    data = memoryview(payloads.buffers()[2])
    # the key schedule is done once, then copied per entry
    keyed = hashlib.sha256() if key is None else hmac.new(key, digestmod=hashlib.sha256)
    for start, stop in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        prevs.append(prev)
        digest = keyed.copy()
        digest.update(prev.encode())
        digest.update(data[start:stop])
        prev = digest.hexdigest()
        hashes.append(prev)
    return prevs, hashes


def _head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


_KEY_AND_HEAD: Final = text(
    "SELECT k.value, h.seq, h.hash FROM (SELECT :n AS name) AS q "
    "LEFT JOIN settings AS k ON k.name = q.name "
    "LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS h ON 1 = 1"
)


def _key_and_head(conn: Connection) -> tuple[bytes, int, str]:
    """`audit_key` and `_head` read by one statement (an append's first, in the lock)."""
    stored, seq, last = conn.execute(_KEY_AND_HEAD, {"n": KEY_ID}).one()
    key = checked_key(None if stored is None else str(stored))
    return (key, 0, GENESIS) if seq is None else (key, int(seq), str(last))


def append_entries(
    conn: Connection,
    *,
    username: str,
    reason: str,
    table_name: str,
    action: str,
    row_key: pa.Array,
    patient_id: pa.Array,
    before: pa.Array,
    after: pa.Array,
) -> int:
    """Append one `action` entry per element of the arrays (all of equal length).

    The caller holds the write lock (`engine.write_lock`) in the same transaction.
    Returns the number of entries written.
    """
    n = len(row_key)
    if n == 0:
        return 0
    key, last_seq, last_hash = _key_and_head(conn)
    ts = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    fields: dict[str, pa.Array | str] = {
        "seq": pa.array(range(last_seq + 1, last_seq + 1 + n), pa.int64()),
        "ts": ts,
        "username": username,
        "action": action,
        "table_name": table_name,
        "row_key": row_key.cast(pa.string()),
        "patient_id": patient_id.cast(pa.string()),
        "before": before.cast(pa.string()),
        "after": after.cast(pa.string()),
        "reason": reason,
    }
    payloads = _payloads(fields)
    prevs, hashes = _chain(key, last_hash, payloads)
    columns = {k: v for k, v in fields.items() if not isinstance(v, str)}
    columns["prev_hash"] = pa.array(prevs, pa.string())
    columns["hash"] = pa.array(hashes, pa.string())
    constants = {k: v for k, v in fields.items() if isinstance(v, str)}
    if conn.dialect.name == "postgresql" and len(payloads.buffers()[2]) > _LARGE:
        conn.execute(_LZ4)  # batch entries: pglz costs more than writing their rows
    bulk_insert(conn, "audit_log", pa.table(columns), constants)
    head = f"{last_seq + n}:{hashes[-1]}"
    updated = conn.execute(
        text("UPDATE settings SET value = :v WHERE name = :n"), {"v": head, "n": _HEAD}
    )
    if updated.rowcount == 0:
        conn.execute(
            text("INSERT INTO settings (name, value) VALUES (:n, :v)"), {"n": _HEAD, "v": head}
        )
    return n


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry as stored."""

    seq: int
    ts: str
    username: str
    action: str
    table_name: str
    row_key: str
    patient_id: str | None
    before: str | None
    after: str | None
    reason: str


def _read_log(
    conn: Connection, where: str = "", params: dict[str, object] | None = None
) -> pa.Table:
    cols = ", ".join(_COLUMNS)
    rows = conn.execute(
        text(f"SELECT {cols} FROM audit_log {where} ORDER BY seq"), params or {}
    ).fetchall()
    arrays = list(zip(*rows, strict=True)) if rows else [() for _ in _COLUMNS]
    types = [pa.int64()] + [pa.string()] * (len(_COLUMNS) - 1)
    return pa.table(
        {c: pa.array(list(v), t) for c, v, t in zip(_COLUMNS, arrays, types, strict=True)}
    )


def check_chain(conn: Connection) -> pa.Table:
    """Check the whole chain read in `conn`; returns the log, or raises StoreError naming the
    first entry that was edited, deleted or inserted outside jiareg."""
    log = _read_log(conn)
    head = conn.execute(text("SELECT value FROM settings WHERE name = :n"), {"n": _HEAD}).scalar()
    seqs = log.column("seq").to_pylist()
    stored_prev = log.column("prev_hash").to_pylist()
    stored_hash = log.column("hash").to_pylist()
    fields = {name: log.column(name).combine_chunks() for name in _HASHED}
    prevs, hashes = _chain(audit_key(conn), GENESIS, _payloads(fields))
    for i, seq in enumerate(seqs):
        if seq != i + 1:
            raise StoreError(
                f"audit log broken at entry {i + 1}: it is missing "
                f"(the next entry present is {seq})"
            )
        if stored_hash[i] != hashes[i]:
            raise StoreError(
                f"audit log broken at entry {seq}: its content does not match its hash "
                "(HMAC: the entry was edited, or written without the registry's audit key)"
            )
        if stored_prev[i] != prevs[i]:
            raise StoreError(
                f"audit log broken at entry {seq}: prev_hash does not match entry {seq - 1} "
                "(an entry was deleted or edited)"
            )
    prev = hashes[-1] if hashes else GENESIS
    expected_head = f"{len(seqs)}:{prev}" if seqs else None
    if head != expected_head:
        raise StoreError(
            f"audit log broken after entry {len(seqs)}: the log ends at "
            f"{head or 'nothing'} but the entries end at {expected_head} "
            "(entries were removed or added outside jiareg)"
        )
    return log


def rekey_legacy_chain(conn: Connection, key: bytes) -> int:
    """Re-chain a log written before the audit key with `key`; returns the entries re-chained.

    Run once, by `jiareg init`, when a registry first gets its key: the unkeyed sha256 chain
    is checked first (StoreError naming the first broken entry, and nothing changes), then
    every entry's prev_hash and hash are recomputed as HMACs in the caller's transaction.
    """
    log = _read_log(conn)
    if log.num_rows == 0:
        return 0
    fields = {name: log.column(name).combine_chunks() for name in _HASHED}
    payloads = _payloads(fields)
    _, legacy = _chain(None, GENESIS, payloads)
    seqs = log.column("seq").to_pylist()
    for seq, stored, expected in zip(seqs, log.column("hash").to_pylist(), legacy, strict=True):
        if stored != expected:
            raise StoreError(
                f"the audit log (written before the audit key) is broken at entry {seq}; "
                "it was not re-chained"
            )
    prevs, hashes = _chain(key, GENESIS, payloads)
    conn.execute(
        text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
        [{"p": p, "h": h, "s": s} for p, h, s in zip(prevs, hashes, seqs, strict=True)],
    )
    conn.execute(
        text("UPDATE settings SET value = :v WHERE name = :n"),
        {"v": f"{seqs[-1]}:{hashes[-1]}", "n": _HEAD},
    )
    return len(seqs)


def verify_chain(url: str | None = None) -> int:
    """`check_chain` on the registry at `url`; returns the number of entries."""
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        return int(check_chain(conn).num_rows)


def log_event(conn: Connection, *, username: str, action: str, subject: str, reason: str) -> None:
    """Append one entry that changes no data (a log-in, a log-out, a failed log-in).

    `subject` names what it is about (e.g. the user name tried); `reason` says from where.
    Stored under table_name `events`, which the replay of `audit_replay` skips.
    """
    write_lock(conn)
    append_entries(
        conn,
        username=username,
        reason=reason,
        table_name="events",
        action=action,
        row_key=json_text(pa.array([subject], pa.string())),
        patient_id=pa.nulls(1, pa.string()),
        before=pa.nulls(1, pa.string()),
        after=pa.nulls(1, pa.string()),
    )


def _records(entries: list[dict[str, Any]]) -> list[AuditRecord]:
    return [AuditRecord(**{k: e[k] for k in _HASHED}) for e in entries]


def patient_history(url: str | None, patient_id: str) -> list[AuditRecord]:
    """Every audit entry about one patient, oldest first; a batch entry (`audit_batch`) gives
    one record per row of the patient's, each with the batch's seq."""
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        return _patient_records(conn, patient_id)


def _patient_records(conn: Connection, patient_id: str) -> list[AuditRecord]:
    needles: dict[str, object] = {
        f"n{i}": needle for i, needle in enumerate(patient_needles(patient_id))
    }
    find = "instr" if conn.dialect.name == "sqlite" else "strpos"
    own = _read_log(conn, "WHERE patient_id = :p", {"p": patient_id}).to_pylist()
    holds = " OR ".join(f"{find}(row_key, :{n}) > 0" for n in needles)
    where = f"WHERE patient_id IS NULL AND row_key LIKE '[%' AND ({holds})"
    batches = expand(_read_log(conn, where, needles).to_pylist(), patient_id)
    return sorted(_records(own + batches), key=lambda r: r.seq)


def recent_entries(conn: Connection, patient_id: str | None, limit: int) -> list[AuditRecord]:
    """The newest `limit` audit records (of one patient), newest first; batch entries as
    one record per row. Reads the log backwards in pages, so big batches are not all read."""
    if patient_id is not None:
        return _patient_records(conn, patient_id)[::-1][:limit]
    out: list[AuditRecord] = []
    upper = _head(conn)[0]
    while len(out) < limit and upper > 0:
        page = _read_log(conn, "WHERE seq > :l AND seq <= :u", {"l": upper - 20, "u": upper})
        out += _records(expand(page.to_pylist()))[::-1]
        upper -= 20
    return out[:limit]
