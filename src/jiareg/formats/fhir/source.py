"""The resources of a FHIR import, as an EHR sends them: a Bundle of any type, an NDJSON file
(one resource a line, as bulk `$export` writes them) or a folder of `.ndjson`/`.json` files.

Resources are handed on as parsed JSON, one at a time; no model is built for them (the
reader skips the types it does not map by `resourceType` alone). JSON nested deeper than
the parser's limit (Python's recursion limit, about 1,000 levels; a FHIR resource needs a
few dozen) is refused as a problem, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from jiareg.errors import ImportRowError

__all__ = ["BUNDLE_TYPES", "Entry", "entries"]

BUNDLE_TYPES: Final = (
    "collection",
    "transaction",
    "batch",
    "searchset",
    "document",
    "transaction-response",
    "batch-response",
)
"""Bundle types read: each entry's resource is read, whatever the bundle is for (entries
without a resource, e.g. a transaction-response's or a DELETE, are counted as skipped). A
`history` bundle is refused: it holds several versions of a resource, and deletions."""
_NDJSON: Final = (".ndjson", ".jsonl")


@dataclass(frozen=True, slots=True)
class Entry:
    """One resource: its file, its place there (bundle entry index or NDJSON line) and the
    JSON path prefix of its fields in messages (`entry[12].resource.`, or `` for NDJSON)."""

    file: str
    index: int
    resource: dict[str, Any]
    full_url: str | None
    prefix: str


def _problem(file: str, row: int, column: str, value: object, expected: str) -> ImportRowError:
    return ImportRowError(file=file, row=row, column=column, value=value, expected=expected)


def _parse(text: str, file: str, row: int, problems: list[ImportRowError]) -> object:
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        problems.append(_problem(file, row + exc.lineno - 1, "(file)", exc.msg, "JSON text"))
    except RecursionError:
        problems.append(
            _problem(file, row, "(file)", "nested too deep", "JSON nested fewer than 1,000 levels")
        )
    return None


def _text(path: Path, problems: list[ImportRowError]) -> str | None:
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        problems.append(
            _problem(path.name, row, "(file)", data[exc.start : exc.start + 4], "UTF-8")
        )
        return None


def _bundle(path: Path, doc: object, problems: list[ImportRowError]) -> Iterator[Entry]:
    file = path.name
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        value = doc.get("resourceType") if isinstance(doc, dict) else type(doc).__name__
        problems.append(_problem(file, 0, "resourceType", value, "a FHIR Bundle"))
        return
    if doc.get("type") not in BUNDLE_TYPES:
        problems.append(_problem(file, 0, "type", doc.get("type"), ", ".join(BUNDLE_TYPES)))
        return
    items = doc.get("entry") or []
    if not isinstance(items, list):
        problems.append(_problem(file, 0, "entry", type(items).__name__, "a list of entries"))
        return
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(_problem(file, i, f"entry[{i}]", item, "an object"))
            continue
        resource = item.get("resource")
        if resource is not None and not isinstance(resource, dict):
            problems.append(_problem(file, i, f"entry[{i}].resource", resource, "an object"))
            continue
        url = item.get("fullUrl")
        yield Entry(
            file, i, resource or {}, url if isinstance(url, str) else None, f"entry[{i}].resource."
        )


def _ndjson(path: Path, problems: list[ImportRowError]) -> Iterator[Entry]:
    """One resource a line, read line by line (a bulk export file is never held whole)."""
    with path.open("rb") as lines:
        for n, raw in enumerate(lines, start=1):
            try:
                line = raw.removeprefix(b"\xef\xbb\xbf" if n == 1 else b"").decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.start + 4]
                problems.append(_problem(path.name, n, "(file)", bad, "UTF-8"))
                continue
            if not line.strip():
                continue
            resource = _parse(line.rstrip("\r\n"), path.name, n, problems)
            if resource is None:
                continue
            if not isinstance(resource, dict):
                problems.append(_problem(path.name, n, "(line)", line[:40], "one FHIR resource"))
                continue
            yield Entry(path.name, n, resource, None, "")


def _file(path: Path, problems: list[ImportRowError]) -> Iterator[Entry]:
    if path.suffix.lower() in _NDJSON:
        yield from _ndjson(path, problems)
        return
    text = _text(path, problems)
    if text is not None:
        doc = _parse(text, path.name, 1, problems)
        if doc is not None:
            yield from _bundle(path, doc, problems)


def entries(path: Path, problems: list[ImportRowError]) -> Iterator[Entry]:
    """Every resource of `path` (a bundle, an NDJSON file or a folder of them), in order;
    file-level problems (not JSON, not UTF-8, not a Bundle, too deep) go to `problems`."""
    if not path.is_dir():
        yield from _file(path, problems)
        return
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (*_NDJSON, ".json"))
    if not files:
        problems.append(_problem(path.name, 0, "(folder)", None, ".ndjson or .json files"))
    for file in files:
        yield from _file(file, problems)
