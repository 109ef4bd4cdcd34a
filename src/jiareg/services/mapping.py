"""Mapping files: draft one from someone else's file (`jiareg map suggest`).

Importing through a mapping file is `jiareg.services.imports.import_path(..., mapping=...)`.
"""

from __future__ import annotations

from pathlib import Path

from jiareg.formats.mapping.suggest import Draft, suggest_mapping

__all__ = ["Draft", "write_suggestion"]


def write_suggestion(source: Path, dictionary: Path | None, out: Path) -> Draft:
    """Draft the mapping of `source` (a CSV, workbook or REDCap export, with the REDCap
    project's data dictionary when given) and write it to `out`."""
    draft = suggest_mapping(source, dictionary, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(draft.text, encoding="utf-8")
    return draft
