"""The resources of a FHIR import, as an EHR sends them: a Bundle of any type, an NDJSON file
(one resource a line, as bulk `$export` writes them) or a folder of `.ndjson`/`.json` files.

Resources are handed on as parsed JSON, one at a time; no model is built for them (the
reader skips the types it does not map by `resourceType` alone). Neither form is held whole:
NDJSON is read a line at a time, a Bundle a window of text at a time, each entry decoded by
the standard library's json (numbers with a fraction or exponent as `Decimal`, exactly as
written) once the window holds all of it. A Bundle whose text is not JSON is read whole
again to name the problem as json does (message and line), so a malformed file costs what it
did before streaming. JSON nested deeper than the parser's limit (Python's recursion limit,
about 1,000 levels; a FHIR resource needs a few dozen) is refused as a problem, never a
crash. (ijson was tried for the Bundle: its C backend took 19.8 GB for a 400 KB entry nested
200,000 levels deep, and its per-entry objects share no member names, so more memory.)
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from io import FileIO
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
_WINDOW: Final = 1 << 20
"""Bytes of a Bundle read at a time (an entry longer than the window widens it)."""
_INK: Final = re.compile(r"[^ \t\n\r]")
"""Anything but JSON's whitespace."""
_CUT: Final = re.compile(r'.*\}(?=[ \t\n\r]*,[ \t\n\r]*\{[ \t\n\r]*"(?:fullUrl|resource)")', re.S)
"""The last `}` of a window that looks like the end of a Bundle entry (a guess: kept only if
the text up to it decodes as a list of entries, which then it is, as the last one is an
object and no object is a proper prefix of another)."""
_DECODER: Final = json.JSONDecoder(parse_float=Decimal)


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


def _ink(text: str, pos: int) -> int:
    """Where the first character after whitespace from `pos` is (`len(text)` if none)."""
    found = _INK.search(text, pos)
    return len(text) if found is None else found.start()


class _Unstreamable(Exception):
    """The text is not a JSON object where the stream reads one (read whole to name why)."""


class _Stream:
    """A JSON text read a window at a time: UTF-8, a leading BOM dropped; `pos` is the
    cursor in `text`, the part of the window not yet consumed starts there."""

    def __init__(self, raw: FileIO) -> None:
        self._raw = raw
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.pos = 0
        self.guessed = False

    def more(self) -> bool:
        """Read on, at least as much as is left unread (a long value doubles the window, so it
        is decoded O(1) times on average); False at the end of the file."""
        data = self._raw.read(max(_WINDOW, len(self.text) - self.pos))
        added = self._utf8.decode(data, final=not data)
        if not data:
            return False
        self.text = self.text[self.pos :] + added
        self.pos = 0
        self.guessed = False
        return True

    def peek(self) -> str:
        """The next character after whitespace ('' at the end of the text)."""
        while True:
            self.pos = _ink(self.text, self.pos)
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos : self.pos + 1]

    def take(self, allowed: str) -> str:
        """Consume the next character, one of `allowed`."""
        found = self.peek()
        if not found or found not in allowed:
            raise _Unstreamable
        self.pos += 1
        return found

    def value(self, then: str) -> object:
        """The JSON value at the cursor, decoded once the window holds all of it: up to a
        following character in `then` (a number could go on), or the end of the file."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError:
                if self.more():
                    continue
                raise
            after = _ink(self.text, end)
            if (after < len(self.text) and self.text[after] in then) or not self.more():
                self.pos = end
                return value


def _entries(stream: _Stream) -> Iterator[object]:
    """The items of a Bundle's entry array, decoded a window at a time where the window's
    end can be told (`_CUT`; entries decoded in one call share their member names, as in a
    whole-file `json.loads`, where one call each holds its own copies), else one at a time."""
    stream.take("[")
    if stream.peek() == "]":
        stream.pos += 1
        return
    while True:
        cut = None if stream.guessed else _CUT.match(stream.text, stream.pos)
        stream.guessed = True  # one guess a window: a failed one would cost a window each item
        try:
            items = (
                [] if cut is None else _DECODER.decode(f"[{stream.text[stream.pos : cut.end()]}]")
            )
        except json.JSONDecodeError:
            items = []
        if cut is not None and items:
            stream.pos = cut.end()
            yield from items
        else:
            yield stream.value(",]")
        if stream.take(",]") == "]":
            return


def _entry(file: str, i: int, item: object, problems: list[ImportRowError]) -> Entry | None:
    if not isinstance(item, dict):
        problems.append(_problem(file, i, f"entry[{i}]", item, "an object"))
        return None
    resource = item.get("resource")
    if resource is not None and not isinstance(resource, dict):
        problems.append(_problem(file, i, f"entry[{i}].resource", resource, "an object"))
        return None
    url = item.get("fullUrl")
    return Entry(
        file, i, resource or {}, url if isinstance(url, str) else None, f"entry[{i}].resource."
    )


def _not_a_bundle(file: str, doc: dict[str, Any]) -> ImportRowError | None:
    """What makes the top-level object `doc` no Bundle jiareg reads, if anything."""
    if doc.get("resourceType") != "Bundle":
        return _problem(file, 0, "resourceType", doc.get("resourceType"), "a FHIR Bundle")
    if doc.get("type") not in BUNDLE_TYPES:
        return _problem(file, 0, "type", doc.get("type"), ", ".join(BUNDLE_TYPES))
    items = doc.get("entry") or []
    if not isinstance(items, list):
        return _problem(file, 0, "entry", type(items).__name__, "a list of entries")
    return None


def _members(stream: _Stream) -> Iterator[str]:
    """The names of the JSON object at the cursor, the cursor at each one's value."""
    stream.take("{")
    if stream.peek() == "}":
        stream.pos += 1
        return
    while True:
        name = stream.value(":")
        if not isinstance(name, str):
            raise _Unstreamable
        stream.take(":")
        yield name
        if stream.take(",}") == "}":
            return


def _bundle(stream: _Stream, file: str, problems: list[ImportRowError]) -> Iterator[Entry]:
    """A Bundle's entries as the text goes by. Its other members are small and read whole;
    whether it is a Bundle is known at its end (JSON members come in any order), so the
    entries' own problems are held until then and dropped if it is not."""
    doc: dict[str, Any] = {}
    held: list[ImportRowError] = []
    for name in _members(stream):
        if name == "entry" and name in doc:  # json.loads would keep the last: both were read
            problems.append(_problem(file, 0, "entry", "a second entry", "one entry member"))
            return
        if name != "entry" or stream.peek() != "[":
            doc[name] = stream.value(",}")
            continue
        doc[name] = []
        for i, item in enumerate(_entries(stream)):
            found = _entry(file, i, item, held)
            if found is not None:
                yield found
    if stream.peek():
        raise _Unstreamable
    wrong = _not_a_bundle(file, doc)
    problems.extend(held if wrong is None else [wrong])


def _json(path: Path, problems: list[ImportRowError]) -> Iterator[Entry]:
    """A Bundle file, streamed; if its text is not a JSON object, the file is read whole
    again for the problem as json names it (message and line)."""
    try:
        with FileIO(path) as raw:  # unbuffered: a read returns what a pipe holds, not a window
            yield from _bundle(_Stream(raw), path.name, problems)
    except (_Unstreamable, json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        known = len(problems)
        text = _text(path, problems)
        doc = None if text is None else _parse(text, path.name, 1, problems)
        if doc is not None and not isinstance(doc, dict):
            problems.append(
                _problem(path.name, 0, "resourceType", type(doc).__name__, "a FHIR Bundle")
            )
        if len(problems) == known:  # json reads what the stream did not: never import half
            problems.append(_problem(path.name, 0, "(file)", repr(exc), "JSON text"))


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
    yield from _json(path, problems)


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
