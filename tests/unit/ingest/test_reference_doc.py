"""docs/reference/template.md is generated from the data dictionary and kept in sync."""

from __future__ import annotations

from pathlib import Path

from jiareg.formats.template.dictionary import TABLES
from jiareg.formats.template.reference import template_reference

PAGE = Path(__file__).resolve().parents[3] / "docs" / "reference" / "template.md"


def test_template_reference_page_is_in_sync_with_the_dictionary() -> None:
    assert PAGE.read_text(encoding="utf-8") == template_reference(), (
        "regenerate: .venv/bin/python -m jiareg.formats.template.reference"
        " > docs/reference/template.md"
    )


def test_every_column_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for spec in TABLES:
        assert f"## `{spec.file}`" in text
        for name in spec.names:
            assert f"| `{name}` |" in text
