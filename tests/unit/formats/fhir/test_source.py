"""Reading a FHIR Bundle file as a stream (`jiareg.formats.fhir.source`): entries come out as
the text goes by, exactly as a whole-file `json.loads(parse_float=Decimal)` reads them, and a
file that is no Bundle or no JSON gets the same problem as before streaming."""

from __future__ import annotations

import json
import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jiareg.errors import ImportRowError
from jiareg.formats.fhir import source
from jiareg.formats.fhir.read import read_bundle
from jiareg.formats.fhir.source import entries


def _read(path: Path) -> tuple[list[tuple[int, dict[str, Any], str | None]], list[str]]:
    problems: list[ImportRowError] = []
    found = [(e.index, e.resource, e.full_url) for e in entries(path, problems)]
    return found, [str(p) for p in problems]


def _observation(n: int, value: str) -> str:
    return (
        f'{{"fullUrl": "urn:uuid:{n}", "resource": {{"resourceType": "Observation", '
        f'"id": "o{n}", "note": [{{"text": "Gewicht — {n} ü}}, {{\\"x\\""}}], '
        f'"valueQuantity": {{"value": {value}, "unit": "kg"}}}}}}'
    )


def test_entries_equal_a_whole_parse_at_every_window_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every cut of the text (inside a name, a number, an escape, a two-byte character, the
    BOM) gives the entries and exact decimals json.loads gives, in order."""
    values = ["29.90", "1E+2", "-0.5", "12345678901234567890", "3.000", "0", "7e-3"]
    items = [_observation(n, v) for n, v in enumerate(values)]
    items.insert(3, '{"resource": {"resourceType": "Patient", "id": "p", "x": [[[1.10]]]}}')
    text = (
        '\ufeff{"entry" :[ ' + " ,\n".join(items) + ' ] ,"type":"collection", '
        '"resourceType": "Bundle", "total": 8.0}'
    )
    path = tmp_path / "b.json"
    path.write_text(text, encoding="utf-8")
    whole = json.loads(text.removeprefix("\ufeff"), parse_float=Decimal)["entry"]
    expected = [(i, e["resource"], e.get("fullUrl")) for i, e in enumerate(whole)]
    for window in [*range(1, 40), 97, 1 << 20]:
        monkeypatch.setattr(source, "_WINDOW", window)
        found, problems = _read(path)
        assert (found, problems) == (expected, []), window
        shown = [str(r["valueQuantity"]["value"]) for _, r, _ in found if "valueQuantity" in r]
        assert shown == ["29.90", "1E+2", "-0.5", "12345678901234567890", "3.000", "0", "0.007"]


def test_a_bundle_is_read_entry_by_entry_not_whole(tmp_path: Path) -> None:
    """The first entry comes out while the rest of the file has not been written yet (a pipe:
    reading the whole file first would wait for its writer)."""
    pipe = tmp_path / "bundle.json"
    os.mkfifo(pipe)
    first_read = threading.Event()
    writer_waited: list[bool] = []

    def write() -> None:
        with pipe.open("w", encoding="utf-8") as out:
            out.write('{"resourceType": "Bundle", "type": "collection", "entry": [')
            out.write(_observation(1, "1.5") + ",")
            out.flush()
            writer_waited.append(first_read.wait(timeout=10))
            out.write(_observation(2, "2.5") + "]}")

    thread = threading.Thread(target=write)
    thread.start()
    problems: list[ImportRowError] = []
    found = []
    for entry in entries(pipe, problems):
        found.append(entry.resource["id"])
        first_read.set()
    thread.join()
    assert (found, problems, writer_waited) == (["o1", "o2"], [], [True])


def test_a_second_entry_member_is_refused_not_half_read(tmp_path: Path) -> None:
    """json.loads keeps the last of two `entry` members; a stream has read both by then."""
    path = tmp_path / "twice.json"
    one = '{"resource": {"resourceType": "Patient", "id": "p1"}}'
    path.write_text(
        f'{{"resourceType": "Bundle", "type": "collection", "entry": [{one}], "entry": []}}',
        encoding="utf-8",
    )
    assert _read(path)[1] == [
        "twice.json:0: column 'entry' = 'a second entry'; expected one entry member"
    ]


def test_members_come_in_any_order_and_a_history_bundle_is_refused_after_its_entries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "late.json"
    body = '"entry": [{"resource": {"resourceType": "Patient", "id": "p1"}}, 5]'
    path.write_text(f'{{{body}, "type": "searchset", "resourceType": "Bundle"}}', "utf-8")
    found, problems = _read(path)
    assert [i for i, _, _ in found] == [0]
    assert problems == ["late.json:1: column 'entry[1]' = 5; expected an object"]
    path.write_text(f'{{{body}, "type": "history", "resourceType": "Bundle"}}', "utf-8")
    assert _read(path)[1] == [
        "late.json:0: column 'type' = 'history'; expected " + ", ".join(source.BUNDLE_TYPES)
    ]


def test_a_malformed_bundle_names_its_line_as_json_does(tmp_path: Path) -> None:
    """A syntax error past the first window: file, line and json's own message, and none
    of the entries streamed before it is imported."""
    items = [_observation(n, "1.5") for n in range(20_000)]
    items[15_000] = items[15_000].replace('"unit": "kg"', '"unit" "kg"')
    text = '{"resourceType": "Bundle", "type": "collection", "entry": [\n' + ",\n".join(items)
    path = tmp_path / "bad.json"
    path.write_text(text + "]}", encoding="utf-8")
    assert path.stat().st_size > 2 << 20
    read = read_bundle(path)
    assert [str(p) for p in read.problems] == [
        "bad.json:15002: column '(file)' = \"Expecting ':' delimiter\"; expected JSON text"
    ]
    assert read.raws == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2]", "column 'resourceType' = 'list'; expected a FHIR Bundle"),
        ('{"resourceType": "Patient", "id": "p"}', "= 'Patient'; expected a FHIR Bundle"),
        ("", "column '(file)' = 'Expecting value'; expected JSON text"),
        ('{"resourceType": "Bundle"} x', "column '(file)' = 'Extra data'; expected JSON text"),
        (
            '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
            + "[" * 5000
            + "]" * 5000
            + "}]}",
            "expected JSON nested fewer than 1,000 levels",
        ),
    ],
)
def test_what_is_no_bundle_gets_the_problem_it_got_read_whole(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    found, problems = _read(path)
    assert found == []
    assert len(problems) == 1 and problem in problems[0]
