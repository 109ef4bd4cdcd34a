"""The one cell validator: raw template tables (from any format's reader) -> typed tables.

`read_template(path)` reads a template folder or workbook (or a REDCap export or FHIR bundle)
and validates it without a registry; `jiareg.ingest.validate` holds the rules. Imports into a
registry go through `jiareg.services.imports`.
"""

from __future__ import annotations

from jiareg.ingest.validate import read_template

__all__ = ["read_template"]
