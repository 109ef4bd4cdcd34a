"""Reading a protocol file: YAML with errors that name the file, the key path and the line.

    protocols/x.yaml: line 12: timepoints[1].window: to_day (10) is before from_day (14)

`protocol_json_schema()` is the JSON Schema published in docs/reference/protocol.schema.json.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from jiareg.errors import ProtocolError
from jiareg.study.endpoints import kinds
from jiareg.study.protocol import LocatedError, Protocol

__all__ = ["load_protocol", "parse_protocol", "protocol_json_schema", "protocol_sha256"]


def _lines(
    node: yaml.Node,
    path: tuple[str | int, ...],
    out: dict[tuple[str | int, ...], int],
    loader: yaml.SafeLoader,
) -> Any:
    """Python value of a composed YAML node, recording each key path's 1-based line. Scalars
    are made by `loader` (YAML's safe constructor; their tags were resolved when composed)."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        value: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            value[key] = _lines(value_node, (*path, key), out, loader)
            out[(*path, key)] = key_node.start_mark.line + 1  # the key's line, not its value's
        return value
    if isinstance(node, yaml.SequenceNode):
        return [_lines(item, (*path, i), out, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _format_loc(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def parse_protocol(text: str, path: Path | str = "<protocol>") -> Protocol:
    """Validate protocol YAML text; `path` names the file in errors.

    >>> parse_protocol("title: x\\neligibility: {exposure: {drug: tocilizumab}}\\n"
    ...                "timepoints: [{name: baseline, window: {from_day: -30, to_day: 0}}]\\n"
    ...                "endpoints: [{id: ae, kind: adverse_events}]\\n").eligibility.exposure.drug
    'tocilizumab'
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ProtocolError(path=path, loc="", message=f"{where}not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if node is None or not isinstance(node, yaml.MappingNode):
        raise ProtocolError(path=path, loc="", message="expected a mapping of protocol keys")
    lines: dict[tuple[str | int, ...], int] = {}
    data = _lines(node, (), lines, loader)
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "kind")
        message = error["msg"].removeprefix("Value error, ")
        located = error.get("ctx", {}).get("error")
        if isinstance(located, LocatedError):
            loc = located.loc
        line = _line_of(loc, lines)
        where = f"line {line}: " if line is not None else ""
        raise ProtocolError(path=path, loc=f"{where}{_format_loc(loc)}", message=message) from None


def _is_union_tag(part: str | int) -> bool:
    """pydantic puts the discriminator value (e.g. 'acr_pedi') into loc; it is not a key."""
    return isinstance(part, str) and part in kinds()


def load_protocol(path: Path | str) -> Protocol:
    """Read and validate a protocol file; `ProtocolError` names the key and its line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolError(path=file, loc="", message=f"cannot read: {exc.strerror}") from None
    return parse_protocol(text, file)


def protocol_sha256(path: Path | str) -> str:
    """sha256 of the protocol file's bytes (provenance in results.json)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def protocol_json_schema() -> dict[str, Any]:
    """The JSON Schema of a protocol file, for editors (docs/reference/protocol.schema.json)."""
    schema = Protocol.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "jiareg study protocol"
    return schema
